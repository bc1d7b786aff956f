"""The laptop path: the same checks through `kubectl get --raw` and a kubeconfig, here the
real kubectl (from scripts/bootstrap.sh) pointed at the local HTTPS stand-in."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hooks.conftest import TOKEN, render_plan
from tests.support import clusters, helm
from tests.support.apiserver import Tls, write_kubeconfig

KUBECTL_DIR = helm.CHART / ".tools" / "bin"


@pytest.fixture
def kubeconfig(tmp_path: Path, tls: Tls) -> Callable[[str, str], dict[str, str]]:
    if not (KUBECTL_DIR / "kubectl").exists():
        pytest.fail("kubectl is missing from .tools/bin: run scripts/bootstrap.sh")

    def write(server: str, token: str = TOKEN) -> dict[str, str]:
        path = write_kubeconfig(tmp_path / "kubeconfig", server, tls, token)
        return {"KUBECONFIG": str(path), "PATH": f"{KUBECTL_DIR}:{os.environ['PATH']}", "HOME": str(tmp_path)}

    return write


def test_preflight_through_kubectl(run_cli: Callable[..., subprocess.CompletedProcess[str]], serve: Any,
                                   kubeconfig: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    routes = clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"])
    clusters.add_pool(routes, "blue-pool", ["192.169.10.0/24"], owner="blue/blue")
    api = serve(routes)
    result = run_cli("preflight", "--kubectl", "--json", plan=render_plan([helm.CHART / "ci" / "seed-values.yaml"]),
                     env=kubeconfig(api.url))
    assert result.returncode == 1, result.stderr
    found = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert found["cluster-cidrs"]["status"] == "fail" and found["pool-overlaps"]["status"] == "fail"
    assert found["node-selectors"]["status"] == "pass"
    assert TOKEN not in result.stdout + result.stderr


def test_forbidden_through_kubectl_names_the_permission(run_cli: Any, serve: Any, kubeconfig: Any) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    api.api.fail("/apis/nmstate.io/v1/nodenetworkconfigurationpolicies", status=403, times=5)
    result = run_cli("preflight", "--kubectl", plan=render_plan([helm.CHART / "ci" / "seed-values.yaml"]),
                     env=kubeconfig(api.url))
    assert result.returncode == 1
    assert "may not list nodenetworkconfigurationpolicies.nmstate.io" in result.stdout


def test_discover_through_kubectl(run_cli: Any, serve: Any, kubeconfig: Any) -> None:
    api = serve(clusters.kubeadm(pod_subnet="10.244.0.0/16", service_subnet="10.96.0.0/12",
                                 node_pod_cidrs=[["10.244.0.0/24"]]))
    result = run_cli("discover", "--kubectl", env=kubeconfig(api.url))
    assert result.returncode == 0, result.stderr
    assert "  serviceNetwork: [10.96.0.0/12]  # from kube-system/kubeadm-config" in result.stdout
    assert "  clusterNetwork: [10.244.0.0/16]  # from kube-system/kubeadm-config" in result.stdout
    assert "  # masqueradeSubnet: not found in the cluster; fill it in by hand" in result.stdout


def test_kubectl_creates_and_deletes_by_raw_path(serve: Any, kubeconfig: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The laptop path's writes of the Lease and the peers: `kubectl create --raw` and
    `kubectl delete --raw`, the same requests as in a pod, with the server's answers mapped
    as the HTTPS transport maps them (409 AlreadyExists a Conflict, 404 False, 403 named)."""
    from symrouting.api import ApiError, Conflict, KubectlTransport

    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    peers = "/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"
    api.api.publish(peers, [{"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "p1"}},
                            {"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "p2"}}])
    for key, value in kubeconfig(api.url).items():
        monkeypatch.setenv(key, value)
    kubectl = KubectlTransport(deadline_seconds=5)
    leases = "/apis/coordination.k8s.io/v1/namespaces/metallb-system/leases"
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "symmetric-routing-cleanup", "namespace": "metallb-system"}, "spec": {"holderIdentity": "me"}}
    created = kubectl.post(leases, body)
    assert created["spec"]["holderIdentity"] == "me" and created["metadata"]["resourceVersion"]
    assert [r.method for r in api.api.requests if r.path.startswith(leases)] == ["POST"]
    with pytest.raises(Conflict):
        kubectl.post(leases, body)
    assert kubectl.delete(f"{peers}/p1") is True
    assert kubectl.delete(f"{peers}/p1") is False
    api.api.fail(f"{peers}/p2", status=403, method="DELETE")
    with pytest.raises(ApiError, match='may not delete bgppeers.metallb.io "p2" in namespace metallb-system'):
        kubectl.delete(f"{peers}/p2")
