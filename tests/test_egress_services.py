"""Where OVN-Kubernetes may pick a LoadBalancerIP egress service's node, and the Services
it can serve (ovn-kubernetes v1.3.0, the tag ../shared/crds/SOURCES.md pins):

- go-controller/pkg/clustermanager/egressservice/egressservice_cluster_node.go selectNodeFor
  takes any Ready node the EgressService's nodeSelector matches; it knows nothing of VRFs. So
  the rendered selector is the VRF's nodes and the service's own selector both, never wider.
- the same file's nodeLabelForService joins namespace and name with a dash: two Services
  whose join is alike share the node label (tests/bad_values/egress-node-label-shared.yaml).
- go-controller/pkg/node/gateway_iptables.go getExternalIPTRules DNATs an
  externalTrafficPolicy: Local Service's address to the masquerade VIP, which a request from
  a VRF port reaches only through the masquerade subnet's route rule
  (tests/bad_values/service-local-without-masquerade-rule.yaml refuses it without one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm
from tests.support.metallb import selector_matches

SEED = helm.CHART / "ci" / "seed-values.yaml"
NODES = {
    "vrf-worker": {"vrf": "true", "node-role.kubernetes.io/worker": "", "zone": "a"},
    "vrf-infra": {"vrf": "true", "node-role.kubernetes.io/infra": "", "zone": "b"},
    "vrf-spare": {"vrf": "true", "node-role.kubernetes.io/worker": "", "zone": "a"},
    "plain-worker": {"node-role.kubernetes.io/worker": "", "zone": "a"},
    "control-plane": {"node-role.kubernetes.io/control-plane": "", "zone": "a"},
}


def render(override: dict[str, Any], tmp_path: Path, helm_version: str) -> list[dict[str, Any]]:
    """The seed site with override on top, rendered: its objects."""
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(override))
    result = helm.template(helm_version, [SEED, path])
    assert result.returncode == 0, result.stderr
    return result.documents


def egress_candidates(override: dict[str, Any], tmp_path: Path, helm_version: str) -> set[str]:
    """The nodes the rendered EgressService lets OVN-Kubernetes pick from."""
    [egress] = [d for d in render(override, tmp_path, helm_version) if d["kind"] == "EgressService"]
    selector = egress["spec"].get("nodeSelector", {})
    return {name for name, labels in NODES.items() if selector_matches(selector, {**labels, "kubernetes.io/hostname": name})}


@pytest.mark.parametrize(("own", "expected"), [
    (None, {"vrf-worker", "vrf-infra", "vrf-spare"}),
    ({}, {"vrf-worker", "vrf-infra", "vrf-spare"}),
    ({"matchLabels": {"node-role.kubernetes.io/worker": ""}}, {"vrf-worker", "vrf-spare"}),
    ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}, {"vrf-infra"}),
    ({"matchLabels": {"vrf": "true"}}, {"vrf-worker", "vrf-infra", "vrf-spare"}),
])
def test_the_egress_node_is_picked_among_the_vrf_nodes_only(own: dict[str, Any] | None, expected: set[str],
                                                             tmp_path: Path, helm_version: str) -> None:
    service = {} if own is None else {"nodeSelector": own}
    override = {"vrfs": {"ens4vrf": {"egressServices": {"server1": service}}}}
    assert egress_candidates(override, tmp_path, helm_version) == expected


def test_a_nodes_table_keeps_its_hostnames_under_the_services_selector(tmp_path: Path, helm_version: str) -> None:
    """vrf-spare carries the VRF's label but is no node of its table: never the egress node."""
    override = {"vrfs": {"ens4vrf": {
        "ports": {"ens4": {"ipv4": None}},
        "nodes": {"vrf-worker": {"ens4": "192.168.130.11/24"}, "vrf-infra": {"ens4": "192.168.130.12/24"}},
        "egressServices": {"server1": {"nodeSelector": {"matchLabels": {"node-role.kubernetes.io/worker": ""}}}}}}}
    assert egress_candidates(override, tmp_path, helm_version) == {"vrf-worker"}
    override["vrfs"]["ens4vrf"]["egressServices"]["server1"]["nodeSelector"] = {
        "matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["vrf-worker"]}]}
    assert egress_candidates(override, tmp_path, helm_version) == {"vrf-infra"}


def test_local_traffic_policy_renders_beside_the_masquerade_rule(tmp_path: Path, helm_version: str) -> None:
    """The other side of service-local-without-masquerade-rule.yaml: with the masquerade
    subnet the VRF's policy sends it to the main table, and Local renders."""
    override = {"cluster": {"noMasqueradeSubnet": False, "masqueradeSubnet": ["169.254.0.0/17"]},
                "vrfs": {"ens4vrf": {"egressServices": {"server1": {"service": {
                    "create": True, "selector": {"app": "server1"}, "ports": [{"port": 80}],
                    "externalTrafficPolicy": "Local"}}}}}}
    documents = render(override, tmp_path, helm_version)
    [service] = [d for d in documents if d["kind"] == "Service"]
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    [policy] = [d for d in documents if d["kind"] == "NodeNetworkConfigurationPolicy"]
    rules = policy["spec"]["desiredState"]["route-rules"]["config"]
    assert {"ip-to": "169.254.0.0/17", "priority": 998, "route-table": 254} in rules


def test_a_requirement_the_vrf_names_too_is_rendered_once(tmp_path: Path, helm_version: str) -> None:
    """symrouting adopt writes a live selector out whole, the VRF's hostnames with it."""
    hostnames = {"key": "kubernetes.io/hostname", "operator": "In", "values": ["vrf-infra", "vrf-worker"]}
    override = {"vrfs": {"ens4vrf": {
        "ports": {"ens4": {"ipv4": None}},
        "nodes": {"vrf-worker": {"ens4": "192.168.130.11/24"}, "vrf-infra": {"ens4": "192.168.130.12/24"}},
        "egressServices": {"server1": {"nodeSelector": {"matchExpressions": [hostnames]}}}}}}
    [egress] = [d for d in render(override, tmp_path, helm_version) if d["kind"] == "EgressService"]
    assert egress["spec"]["nodeSelector"]["matchExpressions"] == [hostnames]
