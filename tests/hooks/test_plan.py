"""plan.json: the chart renders it, plan.py reads it; both sides are tested together."""

from __future__ import annotations

import json

import pytest

from symrouting.plan import PlanError, parse_plan
from tests.hooks.conftest import render_plan
from tests.support import helm


def test_seed_plan_says_what_the_release_creates() -> None:
    plan = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "seed-values.yaml"])))
    assert (plan.release, plan.namespace, plan.platform, plan.metallb_namespace) == (
        helm.RELEASE, helm.NAMESPACE, "openshift", "metallb-system")
    assert plan.rule_cidrs == ("172.30.0.0/16", "10.132.0.0/14")
    [vrf] = plan.vrfs
    assert (vrf.name, vrf.table_id, vrf.policy_name, vrf.node_selector) == ("ens4vrf", 2, "vrfpolicy", {"vrf": "true"})
    assert [(p.name, p.addresses) for p in vrf.pools] == [("first-pool", ("192.169.10.0/32",))]
    assert [(p.name, p.address, p.my_asn, p.peer_asn) for p in vrf.peers] == [("frrviavrf", "192.168.130.1", 100, "200")]
    assert [(a.name, a.pools, a.peers) for a in vrf.advertisements] == [("first-adv", ("first-pool",), ("frrviavrf",))]
    assert [(s.namespace, s.name, s.source_ip_by) for s in vrf.egress_services] == [("test", "server1", "LoadBalancerIP")]
    assert {k.kind for k in plan.kinds} == {"NodeNetworkConfigurationPolicy", "BGPPeer", "IPAddressPool",
                                            "BGPAdvertisement", "EgressService"}


def test_plan_kinds_follow_what_renders() -> None:
    plan = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "multi-vrf-values.yaml"])))
    assert {k.api_version for k in plan.kinds} == {"nmstate.io/v1", "metallb.io/v1beta2", "metallb.io/v1beta1", "k8s.ovn.org/v1"}
    assert {"BFDProfile", "Community"} <= {k.kind for k in plan.kinds}
    assert [v.name for v in plan.vrfs] == ["mgmt", "pay-a", "pay-b"]


def test_plan_matches_the_rendered_route_rules() -> None:
    """One source of truth: the CIDRs the hook checks are the ones the NNCP rules name."""
    for site in helm.site_files():
        plan = parse_plan(json.loads(render_plan([site])))
        result = helm.template("helm3", [site])
        for doc in result.documents:
            if doc["kind"] == "NodeNetworkConfigurationPolicy":
                rules = [r["ip-to"] for r in doc["spec"]["desiredState"].get("route-rules", {}).get("config", [])
                         if r.get("route-table") == 254]
                assert tuple(rules) == plan.rule_cidrs, site.name


@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_plan_is_what_renders(site: object) -> None:
    """The plan and the objects are rendered by different templates from the same helpers;
    for every site they must agree object for object, or the hooks would check and clean up
    something else than what is applied."""
    result = helm.template("helm3", [site])
    assert result.returncode == 0, result.stderr
    docs = result.documents
    plan = json.loads(next(doc for doc in docs if doc["kind"] == "ConfigMap")["data"]["plan.json"])
    by_kind: dict[str, dict[str, dict[str, object]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    policies = {name: doc["spec"] for name, doc in by_kind["NodeNetworkConfigurationPolicy"].items()}
    assert {vrf["policyName"]: vrf["desiredState"] for vrf in plan["vrfs"]} == {
        name: spec["desiredState"] for name, spec in policies.items()}
    assert {vrf["policyName"]: vrf["nodeSelector"] for vrf in plan["vrfs"]} == {
        name: spec.get("nodeSelector", {}) for name, spec in policies.items()}
    pools = {pool["name"]: pool["addresses"] for vrf in plan["vrfs"] for pool in vrf["pools"]}
    assert pools == {name: doc["spec"]["addresses"] for name, doc in by_kind["IPAddressPool"].items()}
    peers = {peer["name"]: (peer["myASN"], peer["address"]) for vrf in plan["vrfs"] for peer in vrf["peers"]}
    assert peers == {name: (doc["spec"]["myASN"], doc["spec"].get("peerAddress", doc["spec"].get("interface")))
                     for name, doc in by_kind["BGPPeer"].items()}
    advertisements = {adv["name"]: (adv["pools"], adv["peers"]) for vrf in plan["vrfs"] for adv in vrf["advertisements"]}
    assert advertisements == {name: (doc["spec"].get("ipAddressPools", []), doc["spec"]["peers"])
                              for name, doc in by_kind["BGPAdvertisement"].items()}
    egress = {(svc["namespace"], svc["name"]): svc["sourceIPBy"] for vrf in plan["vrfs"] for svc in vrf["egressServices"]}
    assert egress == {(doc["metadata"]["namespace"], name): doc["spec"]["sourceIPBy"]
                      for name, doc in by_kind.get("EgressService", {}).items()}


@pytest.mark.parametrize("broken", [
    {},
    {"release": {"name": "x"}},
    {"release": {"name": "x", "namespace": "y"}, "platform": "openshift", "metallbNamespace": "m",
     "cluster": {"serviceNetwork": "172.30.0.0/16"}, "vrfs": []},
])
def test_malformed_plans_are_refused(broken: dict[str, object]) -> None:
    with pytest.raises(PlanError):
        parse_plan(broken)
