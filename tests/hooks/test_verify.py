"""`helm test`'s checks, run as the real entry point against the real API server of the rig
(tests/support/realapi.py), holding the objects of a working release or one broken piece."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.hooks.conftest import render_plan
from tests.support import clusters, helm

SEED = helm.CHART / "ci" / "seed-values.yaml"
Run = Callable[..., subprocess.CompletedProcess[str]]


POLICIES = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
SERVICE = "/api/v1/namespaces/test/services/server1"
EGRESS_SERVICE = "/apis/k8s.ovn.org/v1/namespaces/test/egressservices/server1"
AVAILABLE = [{"type": "Available", "status": "True", "reason": "SuccessfullyConfigured"},
             {"type": "Degraded", "status": "False"}]


def healthy_cluster() -> dict[str, Any]:
    """The seed release's own policy, as the chart renders it, Available as nmstate reports it
    (status.conditions), and its egress service working (clusters.verified)."""
    routes = clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"])
    policy = next(d for d in helm.template("helm3", [SEED]).documents
                  if d["kind"] == "NodeNetworkConfigurationPolicy" and d["metadata"]["name"] == "vrfpolicy")
    policy["status"] = {"conditions": AVAILABLE}
    routes[POLICIES].append(policy)
    return clusters.verified(routes, "worker-1")


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(item for item in items if item["metadata"]["name"] == name)


def test_a_working_release_verifies(run_cli: Run, serve: Callable[..., Any]) -> None:
    result = run_cli("verify", api=serve(healthy_cluster()), plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  test/server1" in result.stdout
    assert "node worker-1 carries egress-service.k8s.ovn.org/test-server1" in result.stdout
    assert result.stdout.rstrip().endswith("release test/tenant-a verified")


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda r: r[SERVICE]["status"].update(loadBalancer={}),
     "the Service has no load balancer address yet"),
    (lambda r: r[SERVICE]["status"]["loadBalancer"].update(ingress=[{"ip": "10.0.0.5", "ipMode": "VIP"}]),
     "its address 10.0.0.5 is not from pool first-pool"),
    (lambda r: r.pop(SERVICE), "the LoadBalancer Service does not exist"),
    (lambda r: r[EGRESS_SERVICE].pop("status"), "the EgressService has no host"),
    (lambda r: named(r["/api/v1/nodes"], "worker-1")["metadata"]["labels"].pop("egress-service.k8s.ovn.org/test-server1"),
     "node worker-1 does not carry egress-service.k8s.ovn.org/test-server1"),
    (lambda r: named(r[POLICIES], "vrfpolicy").update(
        status={"conditions": [{"type": "Degraded", "status": "True", "reason": "FailedToConfigure", "message": "1/3 nodes failed"}]}),
     "vrfpolicy: not Available (FailedToConfigure: 1/3 nodes failed)"),
])
def test_each_broken_piece_fails_with_its_reason(run_cli: Run, serve: Callable[..., Any],
                                                 breakage: Callable[[dict[str, Any]], None], message: str) -> None:
    routes = healthy_cluster()
    breakage(routes)
    result = run_cli("verify", api=serve(routes), plan=render_plan([SEED]))
    assert result.returncode == 1
    assert message in result.stdout
    assert "does NOT route symmetrically yet" in result.stdout


def shared_pool_site(tmp_path: Any) -> Any:
    """The documentation's example on MetalLB 0.16 with a second service on its pool: each
    gets an advertisement narrowed by serviceSelectors to the label its Service must carry."""
    path = tmp_path / "shared.yaml"
    path.write_text("metallb: {version: '0.16'}\nvrfs:\n  ens4vrf:\n    egressServices:\n      server2: {}\n")
    return path


def test_a_service_without_the_label_its_advertisement_selects_fails(run_cli: Run, serve: Callable[..., Any],
                                                                     tmp_path: Any) -> None:
    routes = healthy_cluster()
    plan = render_plan([SEED, shared_pool_site(tmp_path)])
    result = run_cli("verify", api=serve(routes), plan=plan)
    assert result.returncode == 1
    assert ("FAIL  test/server1      the Service lacks symmetric-routing/egress-service=test-server1, which its own "
            "advertisement selects") in result.stdout
    assert "kubectl label service -n test server1 symmetric-routing/egress-service=test-server1" in result.stdout
    routes[SERVICE]["metadata"]["labels"] = {
        "symmetric-routing/egress-service": "test-server1"}
    labelled = run_cli("verify", api=serve(routes), plan=plan)
    assert "PASS  test/server1" in labelled.stdout
