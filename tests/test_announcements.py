"""Each LoadBalancerIP egress service's address is announced only from its own egress node.

OVN-Kubernetes sends a LoadBalancerIP egress service's replies out of the one node it picks
for it and labels that node egress-service.k8s.ovn.org/<namespace>-<name> (selectNodeFor in
ovn-kubernetes go-controller/pkg/clustermanager/egressservice/egressservice_cluster.go). The
request must come in on that node, so MetalLB must announce the address from it alone. The
announcements are computed with MetalLB's own selection (tests/support/metallb.py, from
metallb speaker/bgp_controller.go bgpAdsForService) over what the chart renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm
from tests.support.metallb import advertisement_nodes, announcing

NODES = [f"worker-{i}" for i in range(4)]


def site(services: int, *, version: str, shared_pool: bool, network: int = 0) -> dict[str, Any]:
    """One VRF on four nodes; `services` LoadBalancerIP services on one pool or a pool each,
    plus `network` services with sourceIPBy: Network on a pool of their own."""
    pools = {"shared": {"addresses": ["203.0.113.0/27"]}} if shared_pool else {
        f"p{i}": {"addresses": [f"203.0.113.{8 * i}/29"]} for i in range(services)}
    egress: dict[str, Any] = {}
    for i in range(services):
        egress[f"svc{i}"] = {"namespace": "shop", "addressPool": "shared" if shared_pool else f"p{i}",
                             "service": {"create": True, "ports": [{"port": 443}]}}
    if network:
        pools["net"] = {"addresses": ["198.51.100.0/28"]}
        for i in range(network):
            egress[f"net{i}"] = {"namespace": "shop", "sourceIPBy": "Network", "addressPool": "net",
                                 "service": {"create": True, "ports": [{"port": 80}]}}
    return {
        "metallb": {"version": version},
        "cluster": {"serviceNetwork": ["172.30.0.0/16"], "clusterNetwork": ["10.128.0.0/14"],
                    "masqueradeSubnet": ["169.254.0.0/17"]},
        "vrfs": {"shop": {
            "tableId": 30, "myASN": 64520,
            "policy": {"nodeSelector": {"node-role.kubernetes.io/worker": ""}},
            "ports": {"ens5": {}},
            "nodes": {node: {"ens5": f"10.30.0.{10 + i}/24"} for i, node in enumerate(NODES)},
            "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": "10.30.0.1"}],
            "bgpPeers": {"tor": {"peerAddress": "10.30.0.1", "peerASN": 65030}},
            "addressPools": pools,
            "bgpAdvertisements": {"all": {}},
            "egressServices": egress,
        }},
    }


def render(values: dict[str, Any], tmp_path: Path, helm_version: str = "helm3") -> helm.Result:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(values))
    return helm.template(helm_version, [path])


def egress_nodes(services: int, placement: str) -> dict[str, str]:
    """The node OVN-Kubernetes picks for each service: spread over the nodes, or all on one."""
    return {f"svc{i}": NODES[i % len(NODES)] if placement == "spread" else NODES[0] for i in range(services)}


def node_labels(picked: dict[str, str]) -> dict[str, dict[str, str]]:
    labels = {node: {"kubernetes.io/hostname": node, "node-role.kubernetes.io/worker": ""} for node in NODES}
    for service, node in picked.items():
        labels[node][f"egress-service.k8s.ovn.org/shop-{service}"] = ""
    return labels


MODES = [("0.15", False), ("0.16.1", True), ("0.16.1", False)]


@pytest.mark.parametrize("services", [2, 3])
@pytest.mark.parametrize(("version", "shared_pool"), MODES)
@pytest.mark.parametrize("placement", ["spread", "one node"])
def test_each_service_is_announced_from_its_egress_node_alone(services: int, version: str, shared_pool: bool,
                                                              placement: str, tmp_path: Path) -> None:
    result = render(site(services, version=version, shared_pool=shared_pool), tmp_path)
    assert result.returncode == 0, result.stderr
    advertisements = [d for d in result.documents if d["kind"] == "BGPAdvertisement"]
    rendered = {d["metadata"]["name"]: d for d in result.documents if d["kind"] == "Service"}
    picked = egress_nodes(services, placement)
    nodes = node_labels(picked)
    pool_of = {d["metadata"]["name"]: d["metadata"]["annotations"]["metallb.io/address-pool"] for d in rendered.values()}
    for service, node in picked.items():
        names, announced_from = announcing(advertisements, pool_of[service], rendered[service]["metadata"]["labels"], nodes)
        assert len(names) == 1, f"{service} is announced by {names}"
        assert announced_from == {node}, f"{service} replies leave {node}, but it is announced from {announced_from}"
    for advertisement in advertisements:
        selected = advertisement_nodes(advertisement, nodes)
        serving = {s for s, node in picked.items() if node in selected}
        if placement == "spread":
            assert len(serving) <= 1, f"{advertisement['metadata']['name']} selects the egress nodes of {serving}"


@pytest.mark.parametrize("services", [2, 3])
def test_metallb_before_0_16_refuses_a_pool_shared_by_services(services: int, tmp_path: Path) -> None:
    result = render(site(services, version="0.15", shared_pool=True), tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    expected = ", ".join(f"svc{i}" for i in range(services))
    assert (f"vrfs.shop.addressPools.shared: backs the LoadBalancerIP egress services {expected}. "
            "MetalLB before 0.16") in result.stderr
    assert "set metallb.version (now 0.15)" in result.stderr


def test_from_0_16_each_service_gets_an_advertisement_narrowed_to_it(tmp_path: Path) -> None:
    result = render(site(2, version="0.16", shared_pool=True), tmp_path)
    assert result.returncode == 0, result.stderr
    specs = {d["metadata"]["name"]: d["spec"] for d in result.documents if d["kind"] == "BGPAdvertisement"}
    prefix = "tenant-a-symmetric-routing-shop-all"
    assert sorted(specs) == [f"{prefix}-svc0", f"{prefix}-svc1"]
    assert specs[f"{prefix}-svc1"]["serviceSelectors"] == [
        {"matchLabels": {"symmetric-routing/egress-service": "shop-svc1"}}]
    assert specs[f"{prefix}-svc1"]["nodeSelectors"] == [{"matchLabels": {"egress-service.k8s.ovn.org/shop-svc1": ""}}]


def test_network_services_stay_announced_from_every_node_of_the_vrf(tmp_path: Path) -> None:
    result = render(site(2, version="0.16.1", shared_pool=True, network=2), tmp_path)
    assert result.returncode == 0, result.stderr
    advertisements = [d for d in result.documents if d["kind"] == "BGPAdvertisement"]
    nodes = node_labels(egress_nodes(2, "spread"))
    net = "tenant-a-symmetric-routing-shop-net"
    names, announced_from = announcing(advertisements, net, {}, nodes)
    assert names == ["tenant-a-symmetric-routing-shop-all"] and announced_from == set(NODES)


def test_one_service_keeps_one_advertisement_under_its_own_name(tmp_path: Path) -> None:
    """As in the documentation's example: an advertisement with a single service is not split."""
    result = render(site(1, version="0.16.1", shared_pool=True), tmp_path)
    assert result.returncode == 0, result.stderr
    [advertisement] = [d for d in result.documents if d["kind"] == "BGPAdvertisement"]
    assert advertisement["metadata"]["name"] == "tenant-a-symmetric-routing-shop-all"
    assert "serviceSelectors" not in advertisement["spec"]


@pytest.mark.parametrize("key", ["nodeSelectors", "serviceSelectors"])
def test_selectors_of_an_advertisement_of_several_services_are_refused(key: str, tmp_path: Path) -> None:
    values = site(2, version="0.16.1", shared_pool=True)
    # Both egress labels: what the chart itself rendered before it split advertisements.
    selectors = [{"matchLabels": {f"egress-service.k8s.ovn.org/shop-svc{i}": ""}} for i in range(2)]
    values["vrfs"]["shop"]["bgpAdvertisements"]["all"][key] = selectors if key == "nodeSelectors" else [
        {"matchLabels": {"a": "b"}}]
    result = render(values, tmp_path)
    assert result.returncode != 0
    assert f"vrfs.shop.bgpAdvertisements.all.{key}: " in result.stderr and "svc0, svc1" in result.stderr


def test_helm_3_and_4_split_alike(tmp_path: Path) -> None:
    values = site(3, version="0.16.1", shared_pool=True)
    assert render(values, tmp_path, "helm3").stdout == render(values, tmp_path, "helm4").stdout


@pytest.mark.parametrize("version", ["0.15", "0.16.1"])
def test_a_network_pool_beside_one_loadbalancerip_service_keeps_every_node(version: str, tmp_path: Path) -> None:
    """One advertisement over a LoadBalancerIP service's pool and a Network service's pool:
    only the first follows the egress node; the Network service's pool is announced from
    every node of the VRF, as OVN-Kubernetes sends its replies from each."""
    result = render(site(1, version=version, shared_pool=False, network=1), tmp_path)
    assert result.returncode == 0, result.stderr
    advertisements = [d for d in result.documents if d["kind"] == "BGPAdvertisement"]
    nodes = node_labels(egress_nodes(1, "spread"))
    prefix = "tenant-a-symmetric-routing-shop"
    _, net_nodes = announcing(advertisements, f"{prefix}-net", {}, nodes)
    assert net_nodes == set(NODES)
    service_labels = {"symmetric-routing/egress-service": "shop-svc0"}
    _, svc_nodes = announcing(advertisements, f"{prefix}-p0", service_labels, nodes)
    assert svc_nodes == {"worker-0"}
