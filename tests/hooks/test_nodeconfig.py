"""What the cleanup sends nmstate, computed from policies the chart renders: the uninstall and
each kind of upgrade."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from symrouting.nodeconfig import Progress, declared, enactment_progress, removal_state
from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"


def desired_state(tmp_path: Path, override: str = "", site: Path = SEED) -> dict[str, Any]:
    files = [site]
    if override:
        files.append(tmp_path / f"override-{abs(hash(override))}.yaml")
        files[-1].write_text(override)
    result = helm.template("helm3", files)
    assert result.returncode == 0, result.stderr
    [policy] = [d for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"]
    return dict(policy["spec"]["desiredState"])


def test_uninstall_removes_the_vrf_its_routes_and_rules_and_strips_the_port(tmp_path: Path) -> None:
    """The seed's port has only IPv4 from the chart: IPv6 is left as nmstate found it (a missing
    family key changes nothing: nmstate query_apply/base.rs BaseInterface::update)."""
    current = desired_state(tmp_path)
    removal = removal_state(current, None)
    assert removal == {
        "interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"},
                       {"name": "ens4", "type": "ethernet", "state": "up", "ipv4": {"enabled": False}}],
        "routes": {"config": [{**route, "state": "absent"} for route in current["routes"]["config"]]},
        "route-rules": {"config": [{**rule, "state": "absent"} for rule in current["route-rules"]["config"]]},
    }


def test_rules_another_tenant_still_declares_stay(tmp_path: Path) -> None:
    current = desired_state(tmp_path)
    other = {"interfaces": [], "route-rules": {"config": [current["route-rules"]["config"][0]]}}
    removal = removal_state(current, None, declared([other]))
    assert removal is not None
    assert [r["ip-to"] for r in removal["route-rules"]["config"]] == [current["route-rules"]["config"][1]["ip-to"]]


def test_an_unchanged_upgrade_removes_nothing(tmp_path: Path) -> None:
    assert removal_state(desired_state(tmp_path), desired_state(tmp_path)) is None


def test_table_id_change_removes_the_old_tables_routes_and_keeps_the_vrf(tmp_path: Path) -> None:
    """nmstate moves a VRF to its new table itself (NetworkManager takes it down and up:
    nm/query_apply/apply.rs, is_vrf_table_id_changed); an absent entry beside the new one
    would replace it (one entry per name: ifaces/inter_ifaces.rs, Interfaces::push). The
    old table's routes go; the port keeps its addresses, the main-table rules stay."""
    current = desired_state(tmp_path)
    target = desired_state(tmp_path, "vrfs:\n  ens4vrf:\n    tableId: 8\n")
    removal = removal_state(current, target)
    assert removal == {"interfaces": [], "routes": {"config": [{**current["routes"]["config"][0], "state": "absent"}]}}
    assert removal["routes"]["config"][0]["table-id"] == 2


def test_a_dropped_route_and_rule_go_absent(tmp_path: Path) -> None:
    current = desired_state(tmp_path, "vrfs:\n  ens4vrf:\n    routes:\n      - {destination: 0.0.0.0/0, nextHopAddress: 192.168.130.1}\n"
                                      "      - {destination: 10.99.0.0/16, nextHopAddress: 192.168.130.254}\n"
                                      "cluster:\n  masqueradeSubnet: [169.254.169.0/29]\n")
    target = desired_state(tmp_path, "vrfs:\n  ens4vrf:\n    routes:\n      - {destination: 0.0.0.0/0, nextHopAddress: 192.168.130.1}\n")
    removal = removal_state(current, target)
    assert removal is not None
    assert [r["destination"] for r in removal["routes"]["config"]] == ["10.99.0.0/16"]
    assert [r["ip-to"] for r in removal["route-rules"]["config"]] == ["169.254.169.0/29"]
    assert removal["interfaces"] == []


def test_a_replaced_port_is_stripped_and_a_vlan_port_removed(tmp_path: Path) -> None:
    site = helm.CHART / "ci" / "vlan-bond-values.yaml"
    result = helm.render_site(site)
    [vlan_policy] = [d for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"
                     and re.search(r"-ran-vlan-ran-du-0-[0-9a-f]{8}$", d["metadata"]["name"])]
    current = vlan_policy["spec"]["desiredState"]
    # The VLAN is gone from the VRF's ports, its interfaces and its routes.
    target = {**current, "routes": {"config": []},
              "interfaces": [{**i, "vrf": {**i["vrf"], "port": []}} if i["type"] == "vrf" else i
                             for i in current["interfaces"] if i["name"] != "eno1.101"]}
    removal = removal_state(current, target)
    assert removal is not None and removal["interfaces"] == [{"name": "eno1.101", "type": "vlan", "state": "absent"}]


def test_bond_members_are_left_alone_when_the_bond_goes(tmp_path: Path) -> None:
    result = helm.template("helm3", [helm.CHART / "ci" / "vlan-bond-values.yaml"])
    [bond_policy] = [d for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"
                     and d["metadata"]["name"].endswith("ran-bond")]
    removal = removal_state(bond_policy["spec"]["desiredState"], None)
    assert removal is not None
    assert {i["name"]: i["state"] for i in removal["interfaces"]} == {"ran-bond": "absent", "bond1": "absent"}


def _enactment(node: str, generation: int, condition: str, message: str = "") -> dict[str, Any]:
    return {"metadata": {"name": f"{node}.p", "labels": {"nmstate.io/node": node}},
            "status": {"policyGeneration": generation, "conditions": [{"type": condition, "status": "True", "message": message}]}}


def test_progress_counts_only_the_new_generation() -> None:
    enactments = [_enactment("a", 2, "Available"), _enactment("b", 1, "Available"), _enactment("c", 2, "Failing", "rolled back"),
                  _enactment("d", 2, "Progressing")]
    progress = enactment_progress(enactments, 2, ["a", "b", "c", "d", "e"])
    assert progress == Progress(applied=["a"], failed=[("c", "rolled back")], pending=["b", "d", "e"])
    assert not progress.finished


@pytest.mark.parametrize("nodes", [[], ["a"]])
def test_progress_finishes_when_every_node_reports(nodes: list[str]) -> None:
    enactments = [_enactment(n, 3, "Available") for n in nodes]
    assert enactment_progress(enactments, 3, nodes).finished


# Nothing another policy declares is set absent or switched off, and only what the chart set
# on its own ports is switched off (nodeconfig.declared, removal_state).

BOND_VLAN = """vrfs:
  ens4vrf:
    ports:
      ens4: null
      bond0.101: {type: vlan, vlan: {baseInterface: bond0, id: 101}, ipv4: [192.168.130.130/24]}
    policy:
      extraInterfaces:
        - {name: bond0, type: bond, state: up, link-aggregation: {mode: active-backup, port: [ens1f0, ens1f1]}}
        - {name: eno1, type: ethernet, state: up, ipv4: {enabled: true, dhcp: true}}
"""

# Another tenant's VRF with its own VLAN on the same bond, which it names only as the base.
NEIGHBOUR_VLAN = """vrfs:
  ens4vrf: null
  bluevrf:
    tableId: 3
    policy: {nodeSelector: {vrf: "true"}}
    ports:
      bond0.102: {type: vlan, vlan: {baseInterface: bond0, id: 102}, ipv4: [192.168.140.2/24]}
"""


def test_a_bond_under_another_tenants_vlan_stays(tmp_path: Path) -> None:
    current = desired_state(tmp_path, BOND_VLAN)
    neighbour = desired_state(tmp_path, NEIGHBOUR_VLAN)
    removal = removal_state(current, None, declared([neighbour]))
    assert removal is not None
    assert removal["interfaces"] == [{"name": "ens4vrf", "type": "vrf", "state": "absent"},
                                     {"name": "bond0.101", "type": "vlan", "state": "absent"}]
    # Alone on the node, the bond the policy created goes too.
    alone = removal_state(current, None)
    assert alone is not None and {"name": "bond0", "type": "bond", "state": "absent"} in alone["interfaces"]


def test_a_raw_extra_interface_keeps_its_addresses(tmp_path: Path) -> None:
    """eno1 (policy.extraInterfaces, DHCP) is no port of the VRF: switching its IPv4 off would
    cut the node off its primary network."""
    removal = removal_state(desired_state(tmp_path, BOND_VLAN), None)
    assert removal is not None and "eno1" not in {i["name"] for i in removal["interfaces"]}


def test_a_vrf_and_routes_another_policy_declares_stay(tmp_path: Path) -> None:
    current = desired_state(tmp_path)
    removal = removal_state(current, None, declared([current]))
    assert removal is None
    # The neighbour's own removals (absent entries, switched-off ports) declare nothing.
    leaving = removal_state(current, None)
    assert removal_state(current, None, declared([leaving])) == leaving


def test_a_dropped_ipv6_address_is_switched_off_alone(tmp_path: Path) -> None:
    """A port that keeps IPv4 and loses IPv6: its new entry has no ipv6 key, which leaves
    the address where it is (nmstate query_apply/base.rs BaseInterface::update)."""
    current = desired_state(tmp_path, "vrfs:\n  ens4vrf:\n    ports:\n      ens4: {ipv6: ['fd00:130::130/64']}\n")
    removal = removal_state(current, desired_state(tmp_path))
    assert removal == {"interfaces": [{"name": "ens4", "type": "ethernet", "state": "up", "ipv6": {"enabled": False}}]}


def test_a_port_another_policy_sets_up_keeps_those_addresses(tmp_path: Path) -> None:
    current = desired_state(tmp_path)
    other = {"interfaces": [{"name": "ens4", "type": "ethernet", "state": "up",
                             "ipv4": {"enabled": True, "address": [{"ip": "192.168.130.9", "prefix-length": 24}]}}]}
    removal = removal_state(current, None, declared([other]))
    assert removal is not None and [i["name"] for i in removal["interfaces"]] == ["ens4vrf"]


def test_an_absent_route_is_kept_when_it_would_match_a_declared_one_by_wildcard() -> None:
    """nmstate ignores the metric when it matches an absent route (route.rs
    RouteEntry::is_match): the same route with another metric elsewhere still matches."""
    route = {"destination": "10.0.0.0/8", "next-hop-address": "192.0.2.1", "next-hop-interface": "ens4",
             "table-id": 2, "metric": 150}
    current = {"interfaces": [], "routes": {"config": [route]}}
    assert removal_state(current, None, declared([{"routes": {"config": [{**route, "metric": 300}]}}])) is None
    assert removal_state(current, None, declared([{"routes": {"config": [{**route, "table-id": 3}]}}])) == {
        "interfaces": [], "routes": {"config": [{**route, "state": "absent"}]}}


def test_a_removal_held_from_an_earlier_run_is_not_resent_for_what_another_policy_now_declares() -> None:
    """The policy still holds an earlier prune's `ens4vrf: absent`; another tenant's policy
    now declares ens4vrf: sending the absent again would take that tenant's VRF off the
    node (nmstate applies the whole desiredState, kubernetes-nmstate pkg/client/client.go
    ApplyDesiredState; `state: absent` removes a virtual interface, nmstate.io/examples.html,
    "Removing an iface")."""
    current = {"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"}]}
    other = {"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "up",
                             "vrf": {"port": ["ens5"], "route-table-id": 3}}]}
    assert removal_state(current, None, declared([other])) is None
    assert removal_state(current, None) == current


def test_the_node_model_takes_a_repeated_interface_name_as_nmstate_does() -> None:
    """nmstate keeps one entry per kernel interface name, the last (rust/src/lib/ifaces/
    inter_ifaces.rs, Interfaces::push: kernel_ifaces.insert by name): a second ens4 entry
    that only switches IPv4 off replaces the first, whose IPv6 address is then never set."""
    from tests.support.nodestate import node_after

    first = {"name": "ens4", "type": "ethernet", "state": "up",
             "ipv6": {"enabled": True, "address": [{"ip": "fd00::2", "prefix-length": 64}]}}
    second = {"name": "ens4", "type": "ethernet", "state": "up", "ipv4": {"enabled": False}}
    before = {"name": "ens4", "type": "ethernet", "state": "up",
              "ipv4": {"enabled": True, "address": [{"ip": "192.168.130.130", "prefix-length": 24}]}}
    node = node_after({"interfaces": [before]}, {"interfaces": [first, second]})
    assert node.managed()["addresses"] == {}, "the second entry alone applied: IPv4 off, IPv6 never set"


def test_a_kept_port_gets_its_switch_off_in_its_own_entry() -> None:
    """A port that changes its IPv4 address and drops IPv6: with_removal joins the IPv6
    switch-off to the port's new entry (one entry per name), so the node ends with the new
    IPv4 address alone; a second ens4 entry would replace the first (nmstate Interfaces::push)
    and leave the old address on the node."""
    from symrouting.nodeconfig import with_removal
    from tests.support.nodestate import node_after

    def port(ipv4: str, ipv6: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": "ens4", "type": "ethernet", "state": "up",
                                 "ipv4": {"enabled": True, "address": [{"ip": ipv4, "prefix-length": 24}]}}
        if ipv6:
            entry["ipv6"] = {"enabled": True, "address": [{"ip": ipv6, "prefix-length": 64}]}
        return entry

    vrf = {"name": "ens4vrf", "type": "vrf", "state": "up", "vrf": {"port": ["ens4"], "route-table-id": 2}}
    current = {"interfaces": [vrf, port("192.168.130.130", "fd00::130")]}
    new = {"interfaces": [vrf, port("192.168.130.131", None)]}
    sent = with_removal(new, removal_state(current, new))
    assert [i["name"] for i in sent["interfaces"]].count("ens4") == 1
    assert node_after(current, sent).managed()["addresses"] == {"ens4": ([("192.168.130.131", 24)], [])}


def test_what_a_neighbours_bond_names_as_its_port_is_not_removed() -> None:
    """Declared counts a bond's link-aggregation ports as used: a VLAN the release made that
    another policy's bond takes as a port stays (nmstate would take the bond's port away)."""
    current = {"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "up",
                               "vrf": {"port": ["ens4.100"], "route-table-id": 2}},
                              {"name": "ens4.100", "type": "vlan", "state": "up",
                               "vlan": {"base-iface": "ens4", "id": 100}}]}
    neighbour = {"interfaces": [{"name": "bond9", "type": "bond", "state": "up",
                                 "link-aggregation": {"mode": "active-backup", "port": ["ens4.100"]}}]}
    removal = removal_state(current, None, declared([neighbour]))
    assert removal == {"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"}]}
