"""What the chart now refuses at render, upstream refuses too: the real kube-apiserver v1.36.3
and MetalLB v0.16.1's live webhooks and CRD rules, given the object the values would have
rendered. One test per group of rules (they are slow); the render-side tests are the
tests/bad_values/ cases each test names.

Slow (20-40 s a group): each group installs a release before the refused write.
"""

from __future__ import annotations

from collections.abc import Iterator
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import helm, realcluster, realmetallb
from tests.realcluster.upstream.test_upstream_admits import installed

# MetalLB's controller fixes its webhook and metrics ports (internal/k8s/k8s.go), so one
# pytest worker runs every test that starts it (scripts/test.sh: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("metallb")

SEED = helm.CHART / "ci" / "seed-values.yaml"
PEERS = f"/apis/metallb.io/v1beta2/namespaces/{realmetallb.NAMESPACE}/bgppeers"
POOLS = f"/apis/metallb.io/v1beta1/namespaces/{realmetallb.NAMESPACE}/ipaddresspools"


def refused(cluster: realcluster.RealCluster, path: str, body: dict[str, Any]) -> str:
    with pytest.raises(realcluster.ApiError) as error:
        cluster.request("POST", path, body)
        cluster.request("DELETE", f"{path}/{body['metadata']['name']}")
    return str(error.value.status["message"])


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], **spec}}


@pytest.fixture(scope="module")
def single_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[realcluster.RealCluster]:
    """A control plane whose service network is IPv4 only, as in the seed's cluster.serviceNetwork
    (the shared rig's is dual-stack; the later flag wins)."""
    cluster = realcluster.start(tmp_path_factory.mktemp("single-stack") / "cluster",
                                apiserver_args=["--service-cluster-ip-range", "172.30.0.0/16"])
    yield cluster
    cluster.stop()


def test_kubernetes_refuses_what_the_chart_refuses(single_stack: realcluster.RealCluster) -> None:
    """bad_values/require-dual-stack-on-single-stack-cluster.yaml (kubernetes v1.36.3
    pkg/registry/core/service/storage/alloc.go initIPFamilyFields), and
    tests/test_label_keys.py (apimachinery v0.36.3 pkg/util/validation/validation.go
    IsQualifiedName): a name part of 64, a prefix of 254."""
    real_cluster = single_stack
    services = "/api/v1/namespaces/default/services"
    message = refused(real_cluster, services, service("dual", ipFamilyPolicy="RequireDualStack"))
    assert "this cluster is not configured for dual-stack services" in message, message
    for key in ("a" * 64, ".".join(["b" * 63] * 4) + "/x"):
        labelled = service("labelled")
        labelled["metadata"]["labels"] = {key: "v"}
        message = refused(real_cluster, services, labelled)
        assert "metadata.labels: Invalid value" in message, message


def test_metallb_webhooks_refuse_what_the_chart_refuses(real_cluster: realcluster.RealCluster,
                                                        real_metallb: realmetallb.MetalLB) -> None:
    """bad_values/selector-twice.yaml and pool-namespace-twice.yaml (metallb v0.16.1
    internal/config/config.go validateLabelSelectorDuplicate, addressPoolServiceAllocationsFromCR)."""
    peer = {"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer",
            "metadata": {"name": "twice", "namespace": realmetallb.NAMESPACE},
            "spec": {"myASN": 64512, "peerASN": 64513, "peerAddress": "203.0.113.1",
                     "nodeSelectors": [{"matchLabels": {"vrf": "true"}}] * 2}}
    message = refused(real_cluster, PEERS, peer)
    assert "duplicate definition of nodeSelectors" in message, message
    pool = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": "twice", "namespace": realmetallb.NAMESPACE},
            "spec": {"addresses": ["198.51.100.0/28"], "serviceAllocation": {"namespaces": ["a", "a"]}}}
    message = refused(real_cluster, POOLS, pool)
    assert "duplicate definition in namespaces field" in message, message


def test_an_upgrade_that_flips_graceful_restart_is_refused_before_any_change(
        real_cluster: realcluster.RealCluster, real_metallb: realmetallb.MetalLB, tmp_path: Path) -> None:
    """The BGPPeer CRD's CEL rule self == oldSelf on enableGracefulRestart (metallb v0.16.1
    api/v1beta2/bgppeer_types.go). The chart reads the stored peer at upgrade
    (templates/validate/_bgp.tpl) and refuses with the value path; the API server's own
    refusal of the same change is shown first."""
    before = tmp_path / "before.yaml"
    before.write_text("vrfs:\n  ens4vrf:\n    bgpPeers:\n      frrviavrf:\n        enableGracefulRestart: false\n")
    after = tmp_path / "after.yaml"
    after.write_text("vrfs:\n  ens4vrf:\n    bgpPeers:\n      frrviavrf:\n        enableGracefulRestart: true\n")
    with installed("helm3", real_cluster, "graceful", "graceful", [SEED, before]) as install:
        assert install.returncode == 0, install.stderr
        name = next(doc["metadata"]["name"] for doc in helm.template(
            "helm3", [SEED, before], release="graceful", namespace="graceful").documents if doc["kind"] == "BGPPeer")
        path = f"{PEERS}/{name}"
        stored = real_cluster.request("GET", path)
        assert stored["spec"]["enableGracefulRestart"] is False
        with pytest.raises(realcluster.ApiError) as error:
            real_cluster.request("PATCH", path, {"spec": {"enableGracefulRestart": True}},
                                 content_type="application/merge-patch+json")
        assert "EnableGracefulRestart cannot be changed after creation" in error.value.status["message"]
        upgrade = helm.run("helm3", "upgrade", "graceful", str(helm.CHART), "--namespace", "graceful", "--no-hooks",
                           "--kubeconfig", str(real_cluster.kubeconfig), "--values", str(SEED), "--values", str(after))
        assert upgrade.returncode != 0
        assert "vrfs.ens4vrf.bgpPeers.frrviavrf.enableGracefulRestart: true, but the cluster's BGPPeer has false" in upgrade.stderr, upgrade.stderr
        assert real_cluster.request("GET", path)["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]


def test_metallb_gives_no_address_of_the_wrong_family(real_cluster: realcluster.RealCluster,
                                                      real_metallb: realmetallb.MetalLB) -> None:
    """bad_values/load-balancer-ips-family-not-the-services.yaml: a SingleStack Service gets
    the first service network's family (IPv4 here: kubernetes v1.36.3
    pkg/registry/core/service/storage/alloc.go), and MetalLB's controller refuses an IPv6
    requested address for it (metallb v0.16.1 controller/service.go allocateIPs: "does not
    match the ipFamily of the service"), as an AllocationFailed event, no address."""
    pool = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": "family-v6", "namespace": realmetallb.NAMESPACE},
            "spec": {"addresses": ["2001:db8:feed::/124"]}}
    real_cluster.request("POST", POOLS, pool)
    wrong = service("wrong-family", ipFamilyPolicy="SingleStack")
    wrong["metadata"]["annotations"] = {"metallb.io/loadBalancerIPs": "2001:db8:feed::5",
                                        "metallb.io/address-pool": "family-v6"}
    services = "/api/v1/namespaces/default/services"
    real_cluster.request("POST", services, wrong)
    try:
        events = "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dwrong-family"
        deadline = time.monotonic() + 60
        messages: list[str] = []
        while not any("does not match the ipFamily of the service" in m for m in messages):
            assert time.monotonic() < deadline, f"no refusal within 60 s: {messages}\n{real_metallb.log_tail()}"
            time.sleep(0.5)
            messages = [e.get("message", "") for e in real_cluster.request("GET", events)["items"]]
        status = real_cluster.request("GET", f"{services}/wrong-family")["status"]
        assert not (status.get("loadBalancer") or {}).get("ingress"), status
    finally:
        real_cluster.request("DELETE", f"{services}/wrong-family")
        real_cluster.request("DELETE", f"{POOLS}/family-v6")
