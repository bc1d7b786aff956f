"""plan.json: the chart renders it, plan.py reads it; both sides are tested together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symrouting.plan import PlanError, parse_plan
from tests.hooks.conftest import render_plan
from tests.support import helm
from tests.support.agreement import plan_disagreements


def test_seed_plan_says_what_the_release_creates() -> None:
    plan = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "seed-values.yaml"])))
    assert (plan.release, plan.namespace, plan.platform, plan.metallb_namespace) == (
        helm.RELEASE, helm.NAMESPACE, "openshift", "metallb-system")
    assert plan.rule_cidrs == ("172.30.0.0/16", "10.132.0.0/14")
    [vrf] = plan.vrfs
    assert (vrf.name, vrf.table_id, vrf.node_selector, vrf.nodes) == ("ens4vrf", 2, {"vrf": "true"}, ())
    assert [(p.name, p.node_selector, p.node) for p in vrf.policies] == [("vrfpolicy", {"vrf": "true"}, "")]
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
        result = helm.render_site(site)
        for doc in result.documents:
            if doc["kind"] == "NodeNetworkConfigurationPolicy":
                rules = [r["ip-to"] for r in doc["spec"]["desiredState"].get("route-rules", {}).get("config", [])
                         if r.get("route-table") == 254]
                assert tuple(rules) == plan.rule_cidrs, site.name


@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_plan_is_what_renders(site: Path) -> None:
    result = helm.render_site(site)
    assert result.returncode == 0, result.stderr
    assert plan_disagreements(result.documents) == []


@pytest.mark.parametrize("broken", [
    {},
    {"release": {"name": "x"}},
    {"release": {"name": "x", "namespace": "y"}, "platform": "openshift", "metallbNamespace": "m",
     "cluster": {"serviceNetwork": "172.30.0.0/16"}, "vrfs": []},
])
def test_malformed_plans_are_refused(broken: dict[str, object]) -> None:
    with pytest.raises(PlanError):
        parse_plan(broken)


def test_a_pool_whose_label_is_cut_agrees(tmp_path: Path) -> None:
    """A pool name over 63 characters: its Service label value is cut (symmetric-routing.shortName),
    so the plan gives that value instead of `true` for the pool's own name."""
    override = tmp_path / "long.yaml"
    long_key = "p" * 63
    override.write_text(f"vrfs:\n  ens4vrf:\n    addressPools:\n      first-pool: null\n"
                        f"      {long_key}: {{addresses: [192.169.10.0/32]}}\n"
                        f"    egressServices:\n      server1: {{addressPool: {long_key}}}\n")
    result = helm.template("helm4", [helm.CHART / "ci" / "seed-values.yaml", override])
    assert result.returncode == 0, result.stderr
    [pool] = [d for d in result.documents if d["kind"] == "IPAddressPool"]
    assert len(pool["metadata"]["name"]) > 63
    assert plan_disagreements(result.documents) == []


def test_the_vrf_interface_is_made_as_the_template_makes_it() -> None:
    """The plan leaves the VRF interface out (the release Secret's room); plan.py makes it from
    the VRF's name, table and ports, a bond's members left out, which must be the interface the
    policy itself sends (ci/vlan-bond: a bond with two members, and a VLAN, as VRF ports). A plan
    that carries it (written before) is read as it is."""
    site = helm.CHART / "ci" / "vlan-bond-values.yaml"
    rendered = {doc["metadata"]["name"]: doc["spec"]["desiredState"] for doc in helm.template("helm3", [site]).documents
                if doc["kind"] == "NodeNetworkConfigurationPolicy"}
    data = json.loads(render_plan([site]))
    plan = parse_plan(data)
    bonded = [p for v in plan.vrfs for p in v.policies
              if any(i.get("link-aggregation") for i in p.desired_state["interfaces"])]
    assert bonded, "ci/vlan-bond has a bond"
    for policy in (p for v in plan.vrfs for p in v.policies):
        [made] = [i for i in policy.desired_state["interfaces"] if i["type"] == "vrf"]
        [sent] = [i for i in rendered[policy.name]["interfaces"] if i["type"] == "vrf"]
        assert made == sent
    given = {"name": "x", "type": "vrf", "state": "up", "vrf": {"port": ["given"], "route-table-id": 9}}
    data["vrfs"][0]["policyState"]["vrfInterface"] = given
    assert parse_plan(data).vrfs[0].policies[0].desired_state["interfaces"][0] == given
