"""The MetalLB part of the rig itself: the real controller of rig/go/metallb answers as
MetalLB's webhooks for the API server, converts BGPPeers, and the CRDs the cluster serves
are the ones of that MetalLB version's source."""

from __future__ import annotations

import json

import pytest

from tests.support import realcluster, realmetallb
from tests.support.upstream import locate

# MetalLB's controller fixes its webhook and metrics ports (internal/k8s/k8s.go), so one
# pytest worker runs every test that starts it (scripts/test.sh: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("metallb")

POOLS = f"/apis/metallb.io/v1beta1/namespaces/{realmetallb.NAMESPACE}/ipaddresspools"


def pool(name: str, cidr: str) -> dict[str, object]:
    return {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": name, "namespace": realmetallb.NAMESPACE}, "spec": {"addresses": [cidr]}}


def test_the_served_metallb_crds_are_those_of_the_pinned_source() -> None:
    """shared/crds/metallb.io (applied by the rig) is byte for byte MetalLB's
    config/crd/bases of the version rig/go/metallb/go.mod pins."""
    bases = realmetallb.module_source() / "config" / "crd" / "bases"
    shared = sorted(locate("crds/metallb.io/metallb.io_bgppeers.yaml").parent.glob("metallb.io_*.yaml"))
    compared = [path.name for path in shared if (bases / path.name).exists()]
    assert len(compared) >= 8, compared
    for name in compared:
        assert (bases / name).read_bytes() == (shared[0].parent / name).read_bytes(), name


def test_webhook_refuses_an_overlapping_pool(real_cluster: realcluster.RealCluster,
                                             real_metallb: realmetallb.MetalLB) -> None:
    """metallb internal/config/config.go poolsFor: two pools may not overlap. Only MetalLB's
    webhook knows the other pool, so only a live webhook refuses it."""
    real_cluster.request("POST", POOLS, pool("rig-first", "198.51.100.0/24"))
    try:
        with pytest.raises(realcluster.ApiError) as refused:
            real_cluster.request("POST", POOLS, pool("rig-second", "198.51.100.128/25"))
        message = refused.value.status["message"]
        assert 'admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied the request' in message
        assert "overlaps with already defined CIDR" in message, message
    finally:
        real_cluster.request("DELETE", f"{POOLS}/rig-first")


def test_bgppeer_v1beta1_is_converted_by_the_webhook(real_cluster: realcluster.RealCluster,
                                                     real_metallb: realmetallb.MetalLB) -> None:
    """The BGPPeer CRD converts through MetalLB's /convert (api/v1beta1 bgppeer_conversion.go):
    a v1beta1 peer reads back as v1beta2 with the same session."""
    crd = real_cluster.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io")
    assert crd["spec"]["conversion"]["strategy"] == "Webhook"
    assert crd["spec"]["conversion"]["webhook"]["clientConfig"]["url"] == real_metallb.url + "/convert"
    path = f"/apis/metallb.io/{{}}/namespaces/{realmetallb.NAMESPACE}/bgppeers"
    real_cluster.request("POST", path.format("v1beta1"), {
        "apiVersion": "metallb.io/v1beta1", "kind": "BGPPeer",
        "metadata": {"name": "rig-converted", "namespace": realmetallb.NAMESPACE},
        "spec": {"myASN": 64512, "peerASN": 64513, "peerAddress": "203.0.113.1"}})
    try:
        peer = real_cluster.request("GET", path.format("v1beta2") + "/rig-converted")
        assert peer["apiVersion"] == "metallb.io/v1beta2"
        assert (peer["spec"]["myASN"], peer["spec"]["peerASN"], peer["spec"]["peerAddress"]) == (
            64512, 64513, "203.0.113.1")
    finally:
        real_cluster.request("DELETE", path.format("v1beta2") + "/rig-converted")


def test_the_controller_reports_a_valid_configuration(real_metallb: realmetallb.MetalLB) -> None:
    state = real_metallb.configuration_state()
    assert state is not None
    assert state["metadata"]["ownerReferences"][0]["name"] == realmetallb.POD
    assert state["status"]["result"] in ("Valid", "Unknown"), json.dumps(state["status"])
