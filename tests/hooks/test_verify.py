"""`helm test`'s checks, run as the real entry point against the API stand-in."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.hooks.conftest import render_plan
from tests.support import clusters, helm

SEED = helm.CHART / "ci" / "seed-values.yaml"
Run = Callable[..., subprocess.CompletedProcess[str]]


def healthy_cluster() -> dict[str, Any]:
    routes = clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"])
    routes["/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy"] = {
        "metadata": {"name": "vrfpolicy"},
        "status": {"conditions": [{"type": "Available", "status": "True", "reason": "SuccessfullyConfigured"},
                                  {"type": "Degraded", "status": "False"}]}}
    return clusters.verified(routes, "worker-1")


def test_a_working_release_verifies(run_cli: Run, serve: Callable[..., Any]) -> None:
    result = run_cli("verify", api=serve(healthy_cluster()), plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  test/server1" in result.stdout
    assert "node worker-1 carries egress-service.k8s.ovn.org/test-server1" in result.stdout
    assert result.stdout.rstrip().endswith("release test/tenant-a verified")


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda r: r["/api/v1/namespaces/test/services/server1"]["status"].update(loadBalancer={}),
     "the Service has no load balancer address yet"),
    (lambda r: r["/api/v1/namespaces/test/services/server1"]["status"]["loadBalancer"].update(ingress=[{"ip": "10.0.0.5"}]),
     "its address 10.0.0.5 is not from pool first-pool"),
    (lambda r: r.pop("/api/v1/namespaces/test/services/server1"), "the LoadBalancer Service does not exist"),
    (lambda r: r["/apis/k8s.ovn.org/v1/namespaces/test/egressservices/server1"].update(status={}), "the EgressService has no host"),
    (lambda r: r["/api/v1/nodes/worker-1"]["metadata"]["labels"].pop("egress-service.k8s.ovn.org/test-server1"),
     "node worker-1 does not carry egress-service.k8s.ovn.org/test-server1"),
    (lambda r: r["/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy"].update(
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
    routes["/api/v1/namespaces/test/services/server1"]["metadata"]["labels"] = {
        "symmetric-routing/egress-service": "test-server1"}
    labelled = run_cli("verify", api=serve(routes), plan=plan)
    assert "PASS  test/server1" in labelled.stdout
