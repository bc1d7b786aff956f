"""The checks as pure functions: a plan, facts, and the verdict with its fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from symrouting import checks
from symrouting.facts import Facts, ForeignPolicy, ForeignPool, LoadBalancerService, Node, Sourced
from symrouting.plan import Advertisement, EgressService, Kind, Peer, Plan, Policy, Pool, Vrf
from symrouting.records import replace

OCP = "network.config.openshift.io/cluster status"


def make_plan(**changes: object) -> Plan:
    vrf = Vrf("ens4vrf", 2, {"vrf": "true"}, (Policy("vrfpolicy", {"vrf": "true"}),), pools=(Pool("first-pool", ("192.169.10.0/32",)),),
              peers=(Peer("frrviavrf", "192.168.130.1", 100, "200"),), egress_services=(EgressService("test", "server1", "LoadBalancerIP"),))
    plan = Plan("tenant-a", "test", "openshift", "metallb-system", ("172.30.0.0/16",), ("10.132.0.0/14",),
                ("169.254.0.0/17",), (vrf,), (Kind("nmstate.io", "v1", "NodeNetworkConfigurationPolicy"),))
    return replace(plan, **changes)  # type: ignore[arg-type]


def make_facts(**changes: object) -> Facts:
    facts = Facts(
        service_network=Sourced(("172.30.0.0/16",), OCP), cluster_network=Sourced(("10.132.0.0/14",), OCP),
        masquerade_subnet=Sourced(("169.254.0.0/17",), "node annotation"), routing_via_host=False,
        routing_via_host_source="network.operator", nodes=(Node("w1", {"vrf": "true"}), Node("w2", {})),
        policies=(), pools=(), services=(), metallb_mode="frr", metallb_mode_source="MetalLB", missing_kinds=(),
        admission_policies=False,
    )
    for key, value in changes.items():
        setattr(facts, key, value)
    return facts


def statuses(plan: Plan, facts: Facts) -> dict[str, str]:
    return {r.check: r.status for r in checks.run_checks(plan, facts, checks.Options())}


def test_a_healthy_cluster_passes_every_check() -> None:
    assert statuses(make_plan(), make_facts()) == {
        "crds": "pass", "cluster-cidrs": "pass", "node-selectors": "pass", "egress-sessions": "skip", "vrf-conflicts": "pass",
        "pool-overlaps": "pass", "pool-services": "pass", "peer-secrets": "skip", "communities": "skip", "routing-via-host": "skip",
        "metallb-mode": "pass", "metallb-version": "skip", "hook-rights": "pass",
        "leftovers": "skip"}


POLICY = "test-tenant-a-symmetric-routing-hooks"


@pytest.mark.parametrize(("rendered", "served", "status", "says"), [
    (POLICY, True, "pass", f"the admission policy {POLICY} keeps the hooks' writes to the release's own policies and peers"),
    (POLICY, False, "fail", f"rendered with the admission policy {POLICY}, but the cluster serves no "
                            "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy"),
    ("", True, "warn", "the cluster serves ValidatingAdmissionPolicy, but the release was rendered without it"),
    ("", False, "pass", "the cluster serves no ValidatingAdmissionPolicy (Kubernetes before 1.30, OpenShift before 4.17)"),
    (POLICY, None, "warn", "could not tell whether the cluster serves ValidatingAdmissionPolicy"),
])
def test_hook_rights_say_which_protection_the_cluster_has(rendered: str, served: bool | None, status: str,
                                                          says: str) -> None:
    """The plan says whether the chart rendered the admission policy (symmetric-routing.hookAdmission,
    from Helm's .Capabilities); the cluster's discovery says whether it serves the API."""
    result = checks.check_hook_rights(replace(make_plan(), hook_admission_policy=rendered),
                                      make_facts(admission_policies=served))
    assert (result.status, result.summary.startswith(says)) == (status, True), result
    if status == "warn" and served:
        assert "--api-versions admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy " in result.details[-1]
    if status == "fail":
        assert result.fix.startswith("render without --api-versions admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy")


def test_missing_cidr_fails_with_the_values_lines_to_add() -> None:
    facts = make_facts(cluster_network=Sourced(("10.128.0.0/14", "10.132.0.0/14"), OCP))
    result = checks.check_cluster_cidrs(make_plan(), facts)
    assert result.status == "fail"
    assert "no route rule covers 10.128.0.0/14" in result.details[0] and OCP in result.details[0]
    assert result.fix.splitlines()[1:] == ["cluster:", "  clusterNetwork: [10.128.0.0/14, 10.132.0.0/14]"]


def test_a_rule_wider_than_the_cidr_covers_it() -> None:
    assert checks.check_cluster_cidrs(make_plan(cluster_network=("10.128.0.0/12",)), make_facts()).status == "pass"


def test_rules_left_empty_by_lookup_fail_with_every_list() -> None:
    plan = make_plan(service_network=(), cluster_network=(), masquerade_subnet=())
    result = checks.check_cluster_cidrs(plan, make_facts())
    assert result.status == "fail"
    assert result.fix.splitlines()[1:] == ["cluster:", "  serviceNetwork: [172.30.0.0/16]",
                                           "  clusterNetwork: [10.132.0.0/14]", "  masqueradeSubnet: [169.254.0.0/17]"]


def test_node_pod_cidrs_are_evidence_when_the_cluster_network_is_unknown() -> None:
    facts = make_facts(cluster_network=None, nodes=(Node("n1", {"vrf": "true"}, ("10.244.1.0/24",)),))
    result = checks.check_cluster_cidrs(make_plan(cluster_network=("10.132.0.0/14",)), facts)
    assert result.status == "fail" and "10.244.1.0/24" in result.details[0]


def test_stale_rule_warns() -> None:
    result = checks.check_cluster_cidrs(make_plan(masquerade_subnet=("169.254.0.0/17", "192.0.2.0/24")), make_facts())
    assert result.status == "warn" and "192.0.2.0/24" in result.details[0]


def test_unknown_masquerade_warns() -> None:
    assert checks.check_cluster_cidrs(make_plan(), make_facts(masquerade_subnet=None)).status == "warn"


def test_selector_matching_no_node_fails_with_the_label_command() -> None:
    result = checks.check_node_selectors(make_plan(), make_facts(nodes=(Node("w1", {"vrf": "false"}),)))
    assert result.status == "fail"
    assert "kubectl label node <node> vrf=true" in result.fix


STATIC = {"interfaces": [{"name": "ens4vrf", "type": "vrf", "vrf": {"port": ["ens4"], "route-table-id": 2}},
                         {"name": "ens4", "type": "ethernet", "ipv4": {"enabled": True, "dhcp": False,
                                                                      "address": [{"ip": "192.168.130.130", "prefix-length": 24}]}}]}


def test_a_static_address_on_several_nodes_fails_naming_them() -> None:
    vrf = replace(make_plan().vrfs[0], policies=(Policy("vrfpolicy", {"vrf": "true"}, STATIC),))
    facts = make_facts(nodes=(Node("w1", {"vrf": "true"}), Node("w2", {"vrf": "true"}), Node("w3", {})))
    result = checks.check_node_selectors(make_plan(vrfs=(vrf,)), facts)
    assert result.status == "fail"
    assert "ens4vrf: w1, w2 would all get ens4 192.168.130.130/24" in result.details
    assert "list each node's own addresses under vrfs.ens4vrf.nodes" in result.fix
    one = make_facts(nodes=(Node("w1", {"vrf": "true"}), Node("w2", {})))
    assert checks.check_node_selectors(make_plan(vrfs=(vrf,)), one).status == "pass"


def test_dhcp_ports_may_match_many_nodes() -> None:
    dhcp = {"interfaces": [{"name": "ens4", "type": "ethernet", "ipv4": {"enabled": True, "dhcp": True}}]}
    vrf = replace(make_plan().vrfs[0], policies=(Policy("vrfpolicy", {"vrf": "true"}, dhcp),))
    facts = make_facts(nodes=(Node("w1", {"vrf": "true"}), Node("w2", {"vrf": "true"})))
    assert checks.check_node_selectors(make_plan(vrfs=(vrf,)), facts).status == "pass"


def per_node_plan(*nodes: str) -> Plan:
    policies = tuple(Policy(f"vrfpolicy-{n}", {"kubernetes.io/hostname": n, "vrf": "true"}, STATIC, n) for n in nodes)
    return make_plan(vrfs=(replace(make_plan().vrfs[0], policies=policies),))


def test_a_listed_node_that_is_missing_or_unlabelled_fails() -> None:
    facts = make_facts(nodes=(Node("w1", {"kubernetes.io/hostname": "w1", "vrf": "true"}),
                              Node("w2", {"kubernetes.io/hostname": "w2"})))
    result = checks.check_node_selectors(per_node_plan("w1", "w2", "w9"), facts)
    assert result.status == "fail"
    assert result.details == ("ens4vrf: 1 of 3 listed node(s) carry vrf=true", "ens4vrf: no node named w9",
                              "ens4vrf: w2 lack vrf=true")
    assert "kubectl label node <node> vrf=true" in result.fix
    assert checks.check_node_selectors(per_node_plan("w1"), facts).status == "pass"


@pytest.mark.parametrize(("version", "served", "status"), [
    ("0.16.1", True, "pass"), ("0.15", False, "pass"), ("0.16", False, "fail"), ("0.15", True, "warn"),
    ("0.16", None, "warn")])
def test_metallb_version_against_the_served_crd(version: str, served: bool | None, status: str) -> None:
    vrf = replace(make_plan().vrfs[0], advertisements=(Advertisement("first-adv", ("first-pool",), ("frrviavrf",)),))
    result = checks.check_metallb_version(make_plan(vrfs=(vrf,), metallb_version=version),
                                          make_facts(service_selectors=served))
    assert result.status == status, result


def test_same_table_on_shared_nodes_fails_naming_the_other_release() -> None:
    other = ForeignPolicy("blue-vrf", "blue/blue", {"vrf": "true"}, (("bluevrf", 2),))
    result = checks.check_vrf_conflicts(make_plan(), make_facts(policies=(other,)))
    assert result.status == "fail"
    assert "blue-vrf of release blue/blue" in result.details[0] and "same table id" in result.details[0]


def test_same_vrf_name_on_other_nodes_passes() -> None:
    other = ForeignPolicy("far", "", {"rack": "b"}, (("ens4vrf", 7),))
    facts = make_facts(nodes=(Node("w1", {"vrf": "true"}), Node("w9", {"rack": "b"})), policies=(other,))
    assert checks.check_vrf_conflicts(make_plan(), facts).status == "pass"


def test_pool_overlapping_another_release_or_the_cluster_fails() -> None:
    plan = make_plan(vrfs=(replace(make_plan().vrfs[0], pools=(Pool("p", ("192.169.10.0/31", "172.30.0.8/29")),)),))
    facts = make_facts(pools=(ForeignPool("blue-pool", "blue/blue", ("192.169.10.1-192.169.10.3",)),))
    result = checks.check_pool_overlaps(plan, facts)
    assert result.status == "fail"
    assert any("overlaps the service network 172.30.0.0/16" in d for d in result.details)
    assert any("pool blue-pool of release blue/blue" in d for d in result.details)


def test_network_mode_needs_routing_via_host() -> None:
    vrf = replace(make_plan().vrfs[0], egress_services=(EgressService("media", "tx", "Network"),))
    plan = make_plan(vrfs=(vrf,))
    assert checks.check_routing_via_host(plan, make_facts(routing_via_host=True)).status == "pass"
    off = checks.check_routing_via_host(plan, make_facts(routing_via_host=False))
    assert off.status == "fail" and "routingViaHost" in off.fix and "media/tx" in off.summary
    assert checks.check_routing_via_host(plan, make_facts(routing_via_host=None)).status == "warn"


@pytest.mark.parametrize(("mode", "status"), [("frr", "pass"), ("frr-k8s", "pass"), ("native", "fail"), (None, "warn")])
def test_metallb_mode(mode: str | None, status: str) -> None:
    assert checks.check_metallb_mode(make_plan(), make_facts(metallb_mode=mode)).status == status


def test_missing_crds_fail() -> None:
    kind = Kind("k8s.ovn.org", "v1", "EgressService")
    result = checks.check_crds(make_plan(), make_facts(missing_kinds=(kind,)))
    assert result.status == "fail" and result.details == ("EgressService (k8s.ovn.org/v1)",)


def test_unreadable_facts_fail_their_checks_with_the_reason() -> None:
    facts = make_facts(nodes=None, policies=None)
    facts.unreadable["nodes"] = "403 Forbidden: the preflight may not list nodes."
    result = checks.check_node_selectors(make_plan(), facts)
    assert result.status == "fail" and "may not list nodes" in result.details[0]


def test_skips_and_warnings_as_failures() -> None:
    facts = make_facts(metallb_mode=None)
    results = checks.run_checks(make_plan(), facts, checks.Options(skip=frozenset({"crds"})))
    assert next(r for r in results if r.check == "crds").status == "skip"
    assert not checks.failed(results, warnings_fail=False)
    assert checks.failed(results, warnings_fail=True)


def test_peer_secrets_are_read_only_when_a_peer_names_one() -> None:
    """metallb internal/config/config.go passwordFromSecretForPeer wants kubernetes.io/basic-auth."""
    [vrf] = make_plan().vrfs
    peer = replace(vrf.peers[0], password_secret="md5")
    plan = make_plan(vrfs=(replace(vrf, peers=(peer,)),))
    assert checks.check_peer_secrets(plan, make_facts()).status == "fail"  # not read: no verdict of pass
    assert checks.check_peer_secrets(plan, make_facts(secrets={"md5": "kubernetes.io/basic-auth"})).status == "pass"
    result = checks.check_peer_secrets(plan, make_facts(secrets={"md5": "kubernetes.io/tls"}))
    assert result.status == "fail" and "create secret generic" in result.fix


def test_community_aliases_clash_only_with_the_same_name() -> None:
    """metallb internal/config/config.go communitiesFromCrs: "duplicate definition of community"."""
    from symrouting.facts import ForeignCommunity
    plan = make_plan(communities=("no-export", "gold"))
    other = ForeignCommunity("blue", "blue/blue", ("no-export-2", "silver"))
    assert checks.check_community_aliases(plan, make_facts(communities=(other,))).status == "pass"
    clash = ForeignCommunity("blue", "blue/blue", ("gold",))
    result = checks.check_community_aliases(plan, make_facts(communities=(clash,)))
    assert result.status == "fail"
    assert result.details == ("communities.aliases.gold: also defined by Community blue of release blue/blue",)


# The pool's default serviceAllocation admits only Services with its label; MetalLB checks it
# on every assignment (metallb internal/allocator/allocator.go v0.15.3, v0.16.1: Assign,
# isPoolCompatibleWithService).
POOL_LABEL = {"symmetric-routing/address-pool": "first-pool"}


def labelled_plan() -> Plan:
    plan = make_plan()
    vrf = replace(plan.vrfs[0], pools=(Pool("first-pool", ("192.169.10.0/32",), POOL_LABEL),))
    return replace(plan, vrfs=(vrf,))


def test_a_service_outside_the_release_holding_a_pool_address_fails() -> None:
    intruder = LoadBalancerService("other", "web", {}, ("192.169.10.0",))
    result = checks.check_pool_services(labelled_plan(), make_facts(services=(intruder,)))
    assert result.status == "fail"
    assert result.details == ("Service other/web holds 192.169.10.0 of pool first-pool (vrfs.ens4vrf): it is outside "
                              "the release and lacks the label symmetric-routing/address-pool=first-pool, "
                              "so MetalLB takes the address back",)
    assert "Attaching a Service the chart does not create" in result.fix


def test_the_releases_own_service_without_the_pool_label_fails_too() -> None:
    server1 = LoadBalancerService("test", "server1", {"app": "server1"}, ("192.169.10.0",))
    result = checks.check_pool_services(labelled_plan(), make_facts(services=(server1,)))
    assert result.status == "fail" and "an egress service of this release" in result.details[0]


def test_labelled_services_and_addresses_elsewhere_pass() -> None:
    services = (LoadBalancerService("test", "server1", POOL_LABEL, ("192.169.10.0",)),
                LoadBalancerService("other", "web", {}, ("198.51.100.7",)))
    assert checks.check_pool_services(labelled_plan(), make_facts(services=services)).status == "pass"


def test_a_pool_with_its_own_serviceallocation_warns_for_services_outside_the_release() -> None:
    intruder = LoadBalancerService("other", "web", {}, ("192.169.10.0",))
    result = checks.check_pool_services(make_plan(), make_facts(services=(intruder,)))
    assert result.status == "warn" and "Service other/web holds 192.169.10.0" in result.details[0]


def test_unreadable_services_fail() -> None:
    facts = make_facts(services=None, unreadable={"services": "403 Forbidden"})
    result = checks.check_pool_services(make_plan(), facts)
    assert result.status == "fail" and result.details == ("403 Forbidden",)


def test_frr_k8s_mode_warns_for_a_peer_with_local_asn() -> None:
    """metallb internal/bgp/frrk8s/frrk8s.go (v0.16.1): the FRRConfiguration Neighbor it
    writes carries no local ASN, so spec.localASN is ignored in bgpBackend: frr-k8s."""
    plan = make_plan()
    vrf = replace(plan.vrfs[0], peers=(Peer("frrviavrf", "192.168.130.1", 100, "200", local_asn=300),))
    result = checks.check_metallb_mode(replace(plan, vrfs=(vrf,)), make_facts(metallb_mode="frr-k8s"))
    assert result.status == "warn" and result.details == ("vrfs.ens4vrf peer frrviavrf: localASN 300",)
    assert checks.check_metallb_mode(plan, make_facts(metallb_mode="frr-k8s")).status == "pass"
    assert checks.check_metallb_mode(replace(plan, vrfs=(vrf,)), make_facts(metallb_mode="frr")).status == "pass"


def test_frr_k8s_mode_warns_for_a_peer_with_source_address() -> None:
    """metallb internal/bgp/frrk8s/frrk8s.go (v0.16.1) builds the Neighbor without
    SourceAddress (its golden TestSingleEBGPSessionGracefullRestart has none although the test
    sets one), so FRR-K8s writes no update-source: the kernel picks the session's source."""
    plan = make_plan()
    vrf = replace(plan.vrfs[0], peers=(Peer("frrviavrf", "192.168.130.1", 100, "200", local_asn=300,
                                            source_address="192.168.130.130"),))
    result = checks.check_metallb_mode(replace(plan, vrfs=(vrf,)), make_facts(metallb_mode="frr-k8s"))
    assert result.status == "warn"
    assert result.details == ("vrfs.ens4vrf peer frrviavrf: localASN 300, sourceAddress 192.168.130.130",)
    assert "routes[].source" in result.fix
    alone = replace(plan.vrfs[0], peers=(Peer("frrviavrf", "192.168.130.1", 100, "200",
                                              source_address="192.168.130.130"),))
    result = checks.check_metallb_mode(replace(plan, vrfs=(alone,)), make_facts(metallb_mode="frr-k8s"))
    assert result.details == ("vrfs.ens4vrf peer frrviavrf: sourceAddress 192.168.130.130",)
    assert checks.check_metallb_mode(replace(plan, vrfs=(alone,)), make_facts(metallb_mode="frr")).status == "pass"


def test_the_plan_carries_a_peers_source_address(tmp_path: Path) -> None:
    import json

    from symrouting.plan import parse_plan
    from tests.hooks.conftest import render_plan
    from tests.support import helm

    values = tmp_path / "v.yaml"
    values.write_text("vrfs: {ens4vrf: {bgpPeers: {frrviavrf: {sourceAddress: 192.168.130.130}}}}\n")
    plan = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "seed-values.yaml", values])))
    assert [peer.source_address for peer in plan.vrfs[0].peers] == ["192.168.130.130"]
    seed = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "seed-values.yaml"])))
    assert [peer.source_address for peer in seed.vrfs[0].peers] == [""]


@pytest.mark.parametrize(("timers", "dropped"), [
    # FRR-K8s v0.0.25 merge.go cleanNeighborDefaults unsets 180s hold, 60s keepalive and 60s
    # connect, and neighborsession.tmpl writes timers only with both: one default loses both
    ("{holdTime: 240s, keepaliveTime: 60s}", ["keepaliveTime 60s and holdTime 240s"]),
    ("{holdTime: 180s, keepaliveTime: 10s}", ["keepaliveTime 10s and holdTime 180s"]),
    # MetalLB parseTimers derives the keepalive as a third of the hold time: 60.33s, 60 whole seconds
    ("{holdTime: 181s}", ["keepaliveTime 60s and holdTime 181s"]),
    ("{connectTime: 60s}", ["connectTime 60s"]),
    ("{holdTime: 2m, keepaliveTime: 1m, connectTime: 1m}", ["keepaliveTime 60s and holdTime 120s", "connectTime 60s"]),
    # both defaults, or neither: FRR-K8s writes what was meant (FRR's defaults are 60s and 180s)
    ("{holdTime: 180s}", []),
    ("{keepaliveTime: 60s}", []),
    ("{holdTime: 90s, keepaliveTime: 30s, connectTime: 10s}", []),
])
def test_the_plan_says_which_timers_frr_k8s_drops(tmp_path: Path, timers: str, dropped: list[str]) -> None:
    import json

    from symrouting.plan import parse_plan
    from tests.hooks.conftest import render_plan
    from tests.support import helm

    values = tmp_path / "v.yaml"
    values.write_text("vrfs: {ens4vrf: {bgpPeers: {frrviavrf: %s}}}\n" % timers)
    plan = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "seed-values.yaml", values])))
    assert [list(peer.frr_k8s_drops) for peer in plan.vrfs[0].peers] == [dropped]
    result = checks.check_metallb_mode(plan, make_facts(metallb_mode="frr-k8s"))
    if dropped:
        assert result.status == "warn"
        assert result.details == ("vrfs.ens4vrf peer frrviavrf: " + ", ".join(dropped),)
    else:
        assert result.status == "pass"
    assert checks.check_metallb_mode(plan, make_facts(metallb_mode="frr")).status == "pass"


def test_the_plan_carries_a_peers_local_asn(tmp_path: Path) -> None:
    import json

    from symrouting.plan import parse_plan
    from tests.hooks.conftest import render_plan
    from tests.support import helm

    values = tmp_path / "v.yaml"
    values.write_text('metallb: {version: "0.16.1"}\nvrfs: {ens4vrf: {bgpPeers: {frrviavrf: {localASN: 300}}}}\n')
    plan = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "seed-values.yaml", values])))
    assert [peer.local_asn for peer in plan.vrfs[0].peers] == [300]


# ci/multi-vrf-values.yaml as the chart renders its plan: mgmt's peers run in zone-a (rr-1)
# and zone-b (rr-2) only; pay-a's and pay-b's peers on every node of their VRF.
MGMT = {"tenant.example.com/mgmt": "true"}
ZONE = "topology.kubernetes.io/zone"
EXCLUDED = "node.kubernetes.io/exclude-from-external-load-balancers"


@pytest.fixture(scope="module")
def multi_vrf() -> Plan:
    import json

    from symrouting.plan import parse_plan
    from tests.hooks.conftest import render_plan
    from tests.support import helm

    return parse_plan(json.loads(render_plan([helm.CHART / "ci" / "multi-vrf-values.yaml"])))


@pytest.mark.parametrize(("labels", "status", "silent"), [
    ({"m-a": {**MGMT, ZONE: "zone-a"}, "m-b": {**MGMT, ZONE: "zone-b"}}, "pass", []),
    ({"m-a": {**MGMT, ZONE: "zone-a"}, "m-c": {**MGMT, ZONE: "zone-c"}, "m-none": MGMT}, "fail", ["m-c", "m-none"]),
    # not a node of mgmt: OVN-Kubernetes never picks it for mgmt's service
    ({"m-a": {**MGMT, ZONE: "zone-a"}, "other": {ZONE: "zone-c"}}, "pass", []),
    # pay-a's and pay-b's peers run on every node of their VRF, whatever its zone
    ({"m-a": {**MGMT, ZONE: "zone-a"}, "pay": {"node-role.kubernetes.io/worker": "", "tenant.example.com/payments": "true",
                                                "kubernetes.io/hostname": "worker-1", ZONE: "zone-c"}}, "pass", []),
    ({"m-a": {**MGMT, ZONE: "zone-a", EXCLUDED: ""}, "m-b": {**MGMT, ZONE: "zone-b"}}, "warn", []),
])
def test_egress_sessions_name_each_node_ovn_may_pick_that_announces_nothing(
        multi_vrf: Plan, labels: dict[str, dict[str, str]], status: str, silent: list[str]) -> None:
    """OVN-Kubernetes v1.3.0 picks any Ready node the EgressService selects
    (clustermanager/egressservice/egressservice_cluster_node.go selectNodeFor); the address is
    announced from that node only, to the advertisement's peers, whose sessions MetalLB v0.16.1
    opens only where their nodeSelectors match (speaker/bgp_controller.go syncPeers)."""
    nodes = tuple(Node(name, {"kubernetes.io/hostname": name, **node_labels}) for name, node_labels in labels.items())
    result = checks.check_egress_sessions(multi_vrf, make_facts(nodes=nodes))
    assert result.status == status, result
    if silent:
        assert result.details[0] == (
            f"mgmt: observability/monitoring: OVN-Kubernetes may pick {', '.join(silent)} ({len(silent)} of "
            f"{len(silent) + 1} node(s) its EgressService selects), where no session to "
            "tenant-a-symmetric-routing-mgmt-rr-1, tenant-a-symmetric-routing-mgmt-rr-2 runs")
        assert result.fix.startswith(
            "vrfs.mgmt.egressServices entry of observability/monitoring: set nodeSelector to nodes the peers run on "
            f"(tenant-a-symmetric-routing-mgmt-rr-1 on {ZONE}=zone-a; tenant-a-symmetric-routing-mgmt-rr-2 on {ZONE}=zone-b)")
    if status == "warn":
        assert result.details == (f"mgmt: observability/monitoring: OVN-Kubernetes may pick m-a, labelled {EXCLUDED}, "
                                   "where MetalLB announces nothing (unless its speaker runs with --ignore-exclude-lb)",)


def _mgmt(plan: Plan, **changes: object) -> Plan:
    mgmt = next(vrf for vrf in plan.vrfs if vrf.name == "mgmt")
    return replace(plan, vrfs=(replace(mgmt, **changes),))


def test_egress_sessions_follow_the_services_own_selector(multi_vrf: Plan) -> None:
    """The EgressService selects the VRF's nodes AND the service's own nodeSelector: a
    zone-c node its own selector leaves out is never picked."""
    mgmt = next(vrf for vrf in multi_vrf.vrfs if vrf.name == "mgmt")
    own = {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["zone-a", "zone-b"]}]}
    plan = _mgmt(multi_vrf, egress_services=(replace(mgmt.egress_services[0], node_selector=own),))
    nodes = (Node("m-a", {**MGMT, ZONE: "zone-a"}), Node("m-c", {**MGMT, ZONE: "zone-c"}))
    assert checks.check_egress_sessions(plan, make_facts(nodes=nodes)).status == "pass"
    assert checks.check_egress_sessions(multi_vrf, make_facts(nodes=nodes)).status == "fail"


def test_egress_sessions_count_only_the_peers_the_address_is_announced_to(multi_vrf: Plan) -> None:
    """A zone-b node runs rr-2's session, but an advertisement that names rr-1 alone never
    announces the address to rr-2."""
    mgmt = next(vrf for vrf in multi_vrf.vrfs if vrf.name == "mgmt")
    only_rr1 = tuple(replace(adv, peers=(mgmt.peers[0].name,)) for adv in mgmt.advertisements)
    nodes = (Node("m-a", {**MGMT, ZONE: "zone-a"}), Node("m-b", {**MGMT, ZONE: "zone-b"}))
    assert checks.check_egress_sessions(multi_vrf, make_facts(nodes=nodes)).status == "pass"
    result = checks.check_egress_sessions(_mgmt(multi_vrf, advertisements=only_rr1), make_facts(nodes=nodes))
    assert (result.status, "may pick m-b (1 of 2" in result.details[0]) == ("fail", True), result


@pytest.mark.parametrize(("selectors", "status"), [
    ((), "pass"),  # nodeSelectors: [] in the values: every node opens it
    (None, "pass"),  # unset: the VRF's nodes, every node OVN-Kubernetes may pick
    (({"matchLabels": {ZONE: "zone-a"}}, {"matchLabels": {ZONE: "zone-b"}}), "fail"),
    (({"matchExpressions": [{"key": ZONE, "operator": "NotIn", "values": ["zone-a"]}]},), "pass"),
])
def test_egress_sessions_read_a_peers_selectors_as_metallb_does(
        multi_vrf: Plan, selectors: tuple[dict[str, object], ...] | None, status: str) -> None:
    mgmt = next(vrf for vrf in multi_vrf.vrfs if vrf.name == "mgmt")
    plan = _mgmt(multi_vrf, peers=tuple(replace(peer, node_selectors=selectors) for peer in mgmt.peers))
    nodes = (Node("m-c", {**MGMT, ZONE: "zone-c"}), Node("m-none", MGMT))
    assert checks.check_egress_sessions(plan, make_facts(nodes=nodes)).status == status


def test_egress_sessions_on_a_nodes_table_consider_only_its_nodes(multi_vrf: Plan) -> None:
    """pay-a lists its nodes: a node with pay-a's labels outside the table is not the VRF's,
    so a peer restricted to the table's nodes leaves it no gap."""
    pay_a = next(vrf for vrf in multi_vrf.vrfs if vrf.name == "pay-a")
    table = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": list(pay_a.nodes)}]}
    plan = replace(multi_vrf, vrfs=(replace(pay_a, peers=tuple(replace(p, node_selectors=(table,)) for p in pay_a.peers)),))
    labels = {"node-role.kubernetes.io/worker": "", "tenant.example.com/payments": "true"}
    inside = Node(pay_a.nodes[0], {**labels, "kubernetes.io/hostname": pay_a.nodes[0]})
    outside = Node("worker-9", {**labels, "kubernetes.io/hostname": "worker-9"})
    assert checks.check_egress_sessions(plan, make_facts(nodes=(inside, outside))).status == "pass"


def test_egress_sessions_skip_without_an_announced_service_and_fail_without_nodes(multi_vrf: Plan) -> None:
    assert checks.check_egress_sessions(make_plan(), make_facts()).status == "skip"  # no advertisement
    unread = make_facts(nodes=None, unreadable={"nodes": "nodes is forbidden"})
    assert checks.check_egress_sessions(multi_vrf, unread) == checks.Result(
        "egress-sessions", "fail", "could not read the nodes", ("nodes is forbidden",))


def test_the_preflight_on_the_real_server_names_the_node_without_a_session(
        run_cli: Any, serve: Any) -> None:
    """ci/multi-vrf-values.yaml's plan on the real kube-apiserver: worker-0 carries mgmt but
    no zone, so neither of mgmt's peers opens a session there; labelled zone-a, it runs rr-1's."""
    from tests.hooks.conftest import render_plan
    from tests.support import clusters, helm

    plan = render_plan([helm.CHART / "ci" / "multi-vrf-values.yaml"])

    def cluster(zone: dict[str, str]) -> dict[str, Any]:
        return clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"], routing_via_host=True,
                                  nodes=[clusters.node("worker-0", {**MGMT, **zone}), clusters.node("worker-1", {})])

    result = run_cli("preflight", api=serve(cluster({})), plan=plan)
    assert re.search(r"^FAIL  egress-sessions +a LoadBalancerIP egress service may leave from a node that "
                     r"announces its address to no peer$", result.stdout, re.M), result.stdout + result.stderr
    assert "mgmt: observability/monitoring: OVN-Kubernetes may pick worker-0 (1 of 1 node(s)" in result.stdout
    result = run_cli("preflight", api=serve(cluster({ZONE: "zone-a"})), plan=plan)
    assert re.search(r"^PASS  egress-sessions +every node the 5 LoadBalancerIP egress service\(s\) may leave from",
                     result.stdout, re.M), result.stdout + result.stderr


def test_egress_sessions_of_a_vrf_on_every_node(multi_vrf: Plan) -> None:
    """policy.allowAllNodes: a VRF without a nodeSelector is on every node, so OVN-Kubernetes
    may pick any node for its service."""
    plan = _mgmt(multi_vrf, node_selector={})
    nodes = (Node("m-a", {ZONE: "zone-a"}), Node("bare", {}))
    result = checks.check_egress_sessions(plan, make_facts(nodes=nodes))
    assert (result.status, "may pick bare (1 of 2 node(s)" in result.details[0]) == ("fail", True), result
