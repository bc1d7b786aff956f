"""A later values file changes or removes one entry of an earlier one (site file, then tenant
file): items are maps keyed by name, and `<key>: null` takes an entry out, at every level,
under both Helm majors. What a removal leaves dangling is refused like any other value."""

from __future__ import annotations

from pathlib import Path
import hashlib
import json
from typing import Any

import pytest

from tests.support import helm

MULTI_VRF = helm.CHART / "ci" / "multi-vrf-values.yaml"
PREFIX = "tenant-a-symmetric-routing"


def node_policy(prefix: str, node: str) -> str:
    """A node's policy name as templates/_names.tpl symmetric-routing.nodePolicyName makes it."""
    return f"{prefix}-{node}-{hashlib.sha256(f'{prefix}/{node}'.encode()).hexdigest()[:8]}"


def render(version: str, tmp_path: Path, override: str) -> dict[tuple[str, str], dict[str, Any]]:
    later = tmp_path / "later.yaml"
    later.write_text(override)
    result = helm.template(version, [MULTI_VRF, later])
    assert result.returncode == 0, result.stderr
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in result.documents}


def plan_of(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    return dict(json.loads(objects["ConfigMap", f"{PREFIX}-hooks"]["data"]["plan.json"]))


@pytest.fixture(scope="module")
def before() -> dict[tuple[str, str], dict[str, Any]]:
    result = helm.template("helm3", [MULTI_VRF])
    assert result.returncode == 0, result.stderr
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in result.documents}


@pytest.mark.parametrize(("override", "gone", "added"), [
    pytest.param("vrfs: {mgmt: null}\n",
                 {("NodeNetworkConfigurationPolicy", f"{PREFIX}-mgmt"), ("BGPPeer", f"{PREFIX}-mgmt-rr-1"),
                  ("BGPPeer", f"{PREFIX}-mgmt-rr-2"), ("IPAddressPool", f"{PREFIX}-mgmt-mgmt"),
                  ("BGPAdvertisement", f"{PREFIX}-mgmt-by-label"), ("EgressService", "monitoring")},
                 set(), id="vrf"),
    pytest.param("vrfs: {pay-a: {egressServices: {ledger: null}}}\n",
                 {("EgressService", "ledger")}, set(), id="egress-service"),
    pytest.param("vrfs: {pay-b: {bgpAdvertisements: {aggregated: null, plain: {}}}}\n",
                 {("BGPAdvertisement", f"{PREFIX}-pay-b-aggregated")},
                 {("BGPAdvertisement", f"{PREFIX}-pay-b-plain")}, id="advertisement"),
    pytest.param("vrfs: {pay-b: {addressPools: {default: null, spare: {addresses: [192.0.2.96/27]}}}}\n",
                 {("IPAddressPool", f"{PREFIX}-pay-b-default")},
                 {("IPAddressPool", f"{PREFIX}-pay-b-spare")}, id="pool"),
    pytest.param("vrfs: {mgmt: {bgpPeers: {rr-2: null}}}\n",
                 {("BGPPeer", f"{PREFIX}-mgmt-rr-2")}, set(), id="peer"),
])
def test_null_removes_one_entry_and_only_what_hangs_on_it(
        before: dict[tuple[str, str], dict[str, Any]], tmp_path: Path, helm_version: str,
        override: str, gone: set[tuple[str, str]], added: set[tuple[str, str]]) -> None:
    after = render(helm_version, tmp_path, override)
    assert gone <= set(before)
    assert set(before) - set(after) == gone
    assert set(after) - set(before) == added


def test_a_removed_entry_is_gone_from_what_refers_to_it_by_default(tmp_path: Path) -> None:
    """Defaults follow the removal: the advertisement announces to the peers left, the egress
    service takes its address from the pool that replaced the old one, and the hooks' plan
    and the policy lose the port."""
    after = render("helm3", tmp_path, """
vrfs:
  mgmt: {bgpPeers: {rr-2: null}}
  pay-b: {addressPools: {default: null, spare: {addresses: [192.0.2.96/27]}}}
  pay-a:
    ports: {ens5: null, ens8: {}}
    nodes:
      worker-0: {ens5: null, ens8: 10.10.1.11/24}
      worker-1: {ens5: null, ens8: 10.10.1.12/24}
      worker-2: {ens5: null, ens8: 10.10.1.13/24}
""")
    assert after["BGPAdvertisement", f"{PREFIX}-mgmt-by-label"]["spec"]["peers"] == [f"{PREFIX}-mgmt-rr-1"]
    assert after["BGPAdvertisement", f"{PREFIX}-pay-b-aggregated"]["spec"]["ipAddressPools"] == [f"{PREFIX}-pay-b-spare"]
    [pay_b] = [vrf for vrf in plan_of(after)["vrfs"] if vrf["name"] == "pay-b"]
    assert [service["addressPool"] for service in pay_b["egressServices"]] == [f"{PREFIX}-pay-b-spare"]
    state = after["NodeNetworkConfigurationPolicy", node_policy(f"{PREFIX}-pay-a", "worker-1")]["spec"]["desiredState"]
    assert [interface["name"] for interface in state["interfaces"]] == ["pay-a", "ens8"]
    assert state["interfaces"][0]["vrf"]["port"] == ["ens8"]
    assert {route["next-hop-interface"] for route in state["routes"]["config"]} == {"ens8"}


@pytest.mark.parametrize(("override", "error"), [
    ("bfdProfiles: {fast: null}\n", 'vrfs.pay-a.bgpPeers.tor-1.bfdProfile: "fast" is not a key of bfdProfiles'),
    ("communities: {aliases: {no-export: null}}\n",
     'vrfs.pay-a.bgpAdvertisements.public.communities: "no-export" is neither a community value'),
    ("vrfs: {pay-a: {ports: {ens5: null}}}\n", "vrfs.pay-a.ports: a VRF needs at least one port"),
])
def test_what_a_removal_leaves_dangling_is_refused(tmp_path: Path, override: str, error: str) -> None:
    later = tmp_path / "later.yaml"
    later.write_text(override)
    result = helm.template("helm3", [MULTI_VRF, later])
    assert result.returncode != 0 and result.stdout == ""
    assert error in result.stderr, result.stderr
