"""A VRF's `nodes` table (symmetric-routing.model, vrfNodeSelector, desiredState): its peers
and egress services reach exactly the listed nodes, and a port by DHCP learns its routes into
the VRF's table."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from tests.support import helm
from tests.support.metallb import selector_matches

LISTED = ["worker-0", "worker-1", "worker-2"]


def render(tmp_path: Path, port: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    site = {
        "cluster": {"serviceNetwork": ["172.30.0.0/16"], "clusterNetwork": ["10.128.0.0/14"],
                    "masqueradeSubnet": ["169.254.0.0/17"]},
        "vrfs": {"pay": {
            "tableId": 10, "myASN": 64512,
            "policy": {"nodeSelector": {"node-role.kubernetes.io/worker": ""}},
            "ports": {"ens5": port or {}},
            "nodes": {node: ({"ens5": f"10.10.1.{11 + i}/24"} if port is None else {}) for i, node in enumerate(LISTED)},
            "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": "10.10.1.1"}],
            "bgpPeers": {"tor": {"peerAddress": "10.10.1.1", "peerASN": 65001}},
            # a Network service's pool is its own: a LoadBalancerIP one's pool is announced from
            # its egress node only (templates/validate/_egress.tpl)
            "addressPools": {"public": {"addresses": ["203.0.113.0/28"]}, "bulk": {"addresses": ["203.0.113.16/28"]}},
            "bgpAdvertisements": {"public": {}},
            "egressServices": {"checkout": {"namespace": "payments", "addressPool": "public"},
                               "batch": {"namespace": "payments", "sourceIPBy": "Network", "addressPool": "bulk"}},
        }},
    }
    values = tmp_path / "site.yaml"
    values.write_text(yaml.safe_dump(site))
    result = helm.template("helm3", [values])
    assert result.returncode == 0, result.stderr
    return result.documents


# Workers of the cluster: the listed ones, one more worker, and a control-plane node.
CLUSTER = {**{node: {"kubernetes.io/hostname": node, "node-role.kubernetes.io/worker": ""} for node in LISTED},
           "worker-9": {"kubernetes.io/hostname": "worker-9", "node-role.kubernetes.io/worker": ""},
           "master-0": {"kubernetes.io/hostname": "master-0", "node-role.kubernetes.io/master": ""}}


def selected(selectors: list[dict[str, Any]]) -> list[str]:
    return sorted(node for node, labels in CLUSTER.items() if any(selector_matches(s, labels) for s in selectors))


def test_peers_open_their_sessions_from_the_listed_nodes_alone(tmp_path: Path) -> None:
    """MetalLB opens a BGPPeer's session on the nodes its nodeSelectors match (metallb
    internal/config/config.go peerFromCR, selectedNodes); worker-9 carries no VRF."""
    [peer] = [d for d in render(tmp_path) if d["kind"] == "BGPPeer"]
    assert selected(peer["spec"]["nodeSelectors"]) == LISTED


def test_egress_services_pick_their_node_among_the_listed_ones(tmp_path: Path) -> None:
    """OVN-Kubernetes picks an EgressService's node among those spec.nodeSelector matches
    (go-controller/pkg/clustermanager/egressservice), in both modes."""
    services = [d for d in render(tmp_path) if d["kind"] == "EgressService"]
    assert len(services) == 2
    for service in services:
        assert selected([service["spec"]["nodeSelector"]]) == LISTED, service["metadata"]["name"]


def test_one_policy_per_listed_node_and_none_elsewhere(tmp_path: Path) -> None:
    policies = [d for d in render(tmp_path) if d["kind"] == "NodeNetworkConfigurationPolicy"]
    landing = {p["metadata"]["name"]: selected([{"matchLabels": p["spec"]["nodeSelector"]}]) for p in policies}
    # "<policy>-<node>-" and 8 hex digits of sha256("<policy>/<node>"): templates/_names.tpl
    # symmetric-routing.nodePolicyName
    prefix = "tenant-a-symmetric-routing-pay"
    assert landing == {f"{prefix}-{node}-{hashlib.sha256(f'{prefix}/{node}'.encode()).hexdigest()[:8]}": [node]
                       for node in LISTED}


def test_a_dhcp_port_learns_its_routes_into_the_vrf_table(tmp_path: Path) -> None:
    """nmstate rust/src/lib/ip.rs: auto-route-table-id puts DHCP and autoconf routes into that
    table (the VRF's, else the main one: the egress would leave the VRF); auto-dns off keeps
    the host's resolver."""
    for policy in (d for d in render(tmp_path, {"ipv4": "dhcp", "ipv6": "autoconf"})
                   if d["kind"] == "NodeNetworkConfigurationPolicy"):
        [port] = [i for i in policy["spec"]["desiredState"]["interfaces"] if i["name"] == "ens5"]
        # address: [] takes off a static address of an earlier revision (tests/test_dhcp_upgrade.py)
        assert port["ipv4"] == {"enabled": True, "dhcp": True, "auto-dns": False, "auto-route-table-id": 10,
                                "address": []}
        assert port["ipv6"] == {"enabled": True, "dhcp": True, "autoconf": True, "auto-dns": False,
                                "auto-route-table-id": 10, "address": []}
