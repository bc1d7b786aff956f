"""The laptop path: the same checks through `kubectl get --raw` and a kubeconfig, here the
real kubectl (from scripts/bootstrap.sh) pointed at the real API server through the proxy."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hooks.conftest import render_plan
from tests.support import clusters, helm, realcluster
from tests.support.realapi import RealApi

KUBECTL_DIR = helm.CHART / ".tools" / "bin"


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Callable[[RealApi], dict[str, str]]:
    if not (KUBECTL_DIR / "kubectl").exists():
        pytest.fail("kubectl is missing from .tools/bin: run scripts/bootstrap.sh")

    def write(api: RealApi) -> dict[str, str]:
        path = api.kubeconfig(tmp_path / "kubeconfig")
        return {"KUBECONFIG": str(path), "PATH": f"{KUBECTL_DIR}:{os.environ['PATH']}", "HOME": str(tmp_path)}

    return write


def test_preflight_through_kubectl(run_cli: Callable[..., subprocess.CompletedProcess[str]], real_api: RealApi,
                                   kubeconfig: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    routes = clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"])
    clusters.add_pool(routes, "blue-pool", ["192.169.10.0/24"], owner="blue/blue")
    api = real_api
    api.load(routes)
    result = run_cli("preflight", "--kubectl", "--json", plan=render_plan([helm.CHART / "ci" / "seed-values.yaml"]),
                     env=kubeconfig(api))
    assert result.returncode == 1, result.stderr
    found = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert found["cluster-cidrs"]["status"] == "fail" and found["pool-overlaps"]["status"] == "fail"
    assert found["node-selectors"]["status"] == "pass"
    assert api.token not in result.stdout + result.stderr


def test_forbidden_through_kubectl_names_the_permission(run_cli: Any, real_api: RealApi, kubeconfig: Any) -> None:
    api = real_api
    api.load(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    api.fail("/apis/nmstate.io/v1/nodenetworkconfigurationpolicies", status=403, times=5)
    result = run_cli("preflight", "--kubectl", plan=render_plan([helm.CHART / "ci" / "seed-values.yaml"]),
                     env=kubeconfig(api))
    assert result.returncode == 1
    assert "may not list nodenetworkconfigurationpolicies.nmstate.io" in result.stdout


def test_discover_through_kubectl(run_cli: Any, real_api: RealApi, kubeconfig: Any) -> None:
    api = real_api
    api.load(clusters.kubeadm(pod_subnet="10.244.0.0/16", service_subnet="10.96.0.0/12",
                                 node_pod_cidrs=[["10.244.0.0/24"]]))
    result = run_cli("discover", "--kubectl", env=kubeconfig(api))
    assert result.returncode == 0, result.stderr
    # The real server serves its ServiceCIDR objects (networking.k8s.io/v1, GA in 1.33), which
    # the discovery prefers to kubeadm-config's serviceSubnet (symrouting/gather.py).
    served = realcluster.SERVICE_CIDR.replace(",", ", ")
    assert f"  serviceNetwork: [{served}]  # from ServiceCIDR objects" in result.stdout
    assert "  clusterNetwork: [10.244.0.0/16]  # from kube-system/kubeadm-config" in result.stdout
    assert "  # masqueradeSubnet: not found in the cluster; fill it in by hand" in result.stdout


def test_kubectl_creates_and_deletes_by_raw_path(real_api: RealApi, kubeconfig: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The laptop path's writes of the Lease and the peers: `kubectl create --raw`, `kubectl
    replace` and `kubectl delete --raw`, the same requests as in a pod, with the server's answers mapped
    as the HTTPS transport maps them (409 AlreadyExists a Conflict, 404 False, 403 named)."""
    from symrouting.api import ApiError, Conflict
    from symrouting.kubectl import KubectlTransport

    api = real_api
    api.load(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    peers = "/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"
    for name in ("p1", "p2"):
        api.create(peers, {"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": name},
                           "spec": {"myASN": 64999, "peerASN": 65000, "peerAddress": "192.0.2.1"}})
    for key, value in kubeconfig(api).items():
        monkeypatch.setenv(key, value)
    kubectl = KubectlTransport(deadline_seconds=5)
    leases = "/apis/coordination.k8s.io/v1/namespaces/metallb-system/leases"
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "symmetric-routing-cleanup", "namespace": "metallb-system"}, "spec": {"holderIdentity": "me"}}
    created = kubectl.post(leases, body)
    assert created["spec"]["holderIdentity"] == "me" and created["metadata"]["resourceVersion"]
    assert [r.method for r in api.requests if r.path.startswith(leases)] == ["POST"]
    with pytest.raises(Conflict):
        kubectl.post(leases, body)
    # the cleanup's updates of its Lease and the policies: `kubectl replace`, as its own field manager
    created["spec"]["holderIdentity"] = "you"
    replaced = kubectl.put(f"{leases}/symmetric-routing-cleanup", created)
    assert replaced["spec"]["holderIdentity"] == "you"
    [update] = [r for r in api.requests if r.path.startswith(leases) and r.method == "PUT"]
    assert "fieldManager=symrouting" in update.path
    with pytest.raises(Conflict):
        kubectl.put(f"{leases}/symmetric-routing-cleanup", created)  # the resourceVersion moved on
    assert kubectl.delete(f"{peers}/p1") is True
    assert kubectl.delete(f"{peers}/p1") is False
    api.fail(f"{peers}/p2", status=403, method="DELETE")
    with pytest.raises(ApiError, match='may not delete bgppeers.metallb.io "p2" in namespace metallb-system'):
        kubectl.delete(f"{peers}/p2")
