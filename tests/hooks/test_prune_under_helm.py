"""The prune, followed by what Helm really sends: a kept policy ends holding exactly the new
values' state, and every node carries exactly that.

Helm 3 patches a custom resource with a JSON merge patch made from the previous release
manifest and the new one (helm pkg/kube/client.go createPatch; tests/support/mergepatch.py),
so a section the two manifests agree on is never re-sent: whatever the prune leaves there
stays. Helm 4 applies the new manifest server-side (tests/support/ssa.py): after the prune
the live spec equals it and its field ownership is as before the prune (cleanup.hand_back),
so the apply changes no value and conflicts with no one, not even a hand edit's manager.
nmstate applies each update in turn (tests/support/nmstate.py, tests/support/nodestate.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hooks.conftest import render_plan
from tests.hooks.test_cleanup import SEED, Run, carried, declared_on, policies, seed_with
from tests.support import clusters, mergepatch, ssa
from tests.support.nmstate import POLICIES, Nmstate
from tests.support.nodestate import node_after

NODES = ("worker-0", "worker-1")


def two_routes(values: dict[str, Any]) -> None:
    values["vrfs"]["ens4vrf"]["routes"].append({"destination": "10.99.0.0/16", "nextHopAddress": "192.168.130.254"})


def new_port(values: dict[str, Any]) -> None:
    values["vrfs"]["ens4vrf"]["ports"] = {"ens5": {"ipv4": ["192.168.130.130/24"]}}


def new_cidr(values: dict[str, Any]) -> None:
    values["cluster"]["serviceNetwork"] = ["172.31.0.0/16"]


def dual_stack(values: dict[str, Any]) -> None:
    values["vrfs"]["ens4vrf"]["ports"]["ens4"]["ipv6"] = ["fd00:130::130/64"]


HAND_ROUTE = {"destination": "10.77.0.0/16", "next-hop-address": "192.168.130.77", "next-hop-interface": "ens4",
              "table-id": 2}


def by_hand(policy: dict[str, Any]) -> None:
    """A route someone added with `kubectl edit` after the install."""
    policy["spec"]["desiredState"]["routes"]["config"].append(HAND_ROUTE)


# name: (values before, values after, an edit of the live policy before the upgrade)
SCENARIOS: dict[str, tuple[Callable[..., None] | None, Callable[..., None] | None, Callable[..., None] | None]] = {
    "a route added, then removed": (two_routes, None, None),
    "a route added": (None, two_routes, None),
    "the port changed": (None, new_port, None),
    "a CIDR changed": (None, new_cidr, None),
    "the IPv6 address dropped": (dual_stack, None, None),
    "no change, after a hand-added route": (None, None, by_hand),
}


def values(tmp_path: Path, name: str, change: Callable[..., None] | None) -> Path:
    return seed_with(tmp_path, name, change) if change else SEED


def upgrade(serve: Callable[..., Any], run_cli: Run, tmp_path: Path, scenario: str
            ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Nmstate, str]:
    """Installs the old values (then the hand edit), runs the prune for the new ones; returns
    the previous and the new manifest's policy, the live policy after the prune, nmstate,
    and the prune's report."""
    before, after, edit = SCENARIOS[scenario]
    old_file, new_file = values(tmp_path, "old", before), values(tmp_path, "new", after)
    [previous], [new] = policies([old_file]), policies([new_file])
    nodes = [clusters.node(name, {"vrf": "true"}) for name in NODES]
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes))
    nmstate = Nmstate(api.api)
    live = copy.deepcopy(previous)
    if edit:
        edit(live)
    nmstate.install([live])
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([new_file]))
    assert result.returncode == 0, result.stdout + result.stderr
    return previous, new, api.api.routes[f"{POLICIES}/{new['metadata']['name']}"], nmstate, result.stdout


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_after_helm_3s_merge_patch_the_policy_holds_the_new_state(serve: Callable[..., Any], run_cli: Run,
                                                                 tmp_path: Path, scenario: str) -> None:
    previous, new, live, _, _ = upgrade(serve, run_cli, tmp_path, scenario)
    upgraded = mergepatch.helm3_upgrade(live, previous, new)
    assert upgraded["spec"] == new["spec"], scenario


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_before_helm_4s_apply_the_policy_is_the_new_state_and_helms_again(serve: Callable[..., Any], run_cli: Run,
                                                                         tmp_path: Path, scenario: str) -> None:
    _, new, live, _, report = upgrade(serve, run_cli, tmp_path, scenario)
    assert live["spec"] == new["spec"], scenario
    assert [entry["manager"] for entry in live["metadata"]["managedFields"]] == ["helm"], scenario
    assert "WARN" not in report


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_node_carries_the_new_state_and_applying_it_again_changes_nothing(
        serve: Callable[..., Any], run_cli: Run, tmp_path: Path, scenario: str) -> None:
    previous, new, _, nmstate, _ = upgrade(serve, run_cli, tmp_path, scenario)
    new_file = values(tmp_path, "new", SCENARIOS[scenario][1])
    for name in NODES:
        assert carried(nmstate, name) == declared_on(name, [new_file]), (scenario, name)
    # What the first update sent (the new state with the removals) leaves, on its own and
    # with the new state applied after it, as Helm's upgrade would.
    old_state = previous["spec"]["desiredState"]
    if SCENARIOS[scenario][2]:
        old_state = copy.deepcopy(old_state)
        old_state["routes"]["config"].append(HAND_ROUTE)
    first = nmstate.updates[0]["spec"]["desiredState"]
    exactly = node_after(new["spec"]["desiredState"]).managed()
    assert node_after(old_state, first).managed() == exactly, scenario
    assert node_after(old_state, first, new["spec"]["desiredState"]).managed() == exactly, scenario


def test_the_first_update_declares_the_new_state_with_the_removals(serve: Callable[..., Any], run_cli: Run,
                                                                    tmp_path: Path) -> None:
    """While a prune runs, its policy declares the new state: a neighbour's cleanup that reads
    it then keeps what it shares (cleanup.plan_removals)."""
    _, new, live, nmstate, report = upgrade(serve, run_cli, tmp_path, "a route added, then removed")
    first, last = (update["spec"]["desiredState"] for update in nmstate.updates)
    assert first == {**new["spec"]["desiredState"], "routes": {"config": [
        *new["spec"]["desiredState"]["routes"]["config"],
        {"destination": "10.99.0.0/16", "next-hop-address": "192.168.130.254", "next-hop-interface": "ens4",
         "table-id": 2, "state": "absent"}]}}
    assert last == new["spec"]["desiredState"]
    assert ("DONE  vrfpolicy: 1 route(s) absent, then its new state alone; applied on 2/2 node(s)") in report


def test_a_hand_edit_alone_is_undone(serve: Callable[..., Any], run_cli: Run, tmp_path: Path) -> None:
    _, new, _, nmstate, report = upgrade(serve, run_cli, tmp_path, "no change, after a hand-added route")
    assert nmstate.updates[-1]["spec"]["desiredState"] == new["spec"]["desiredState"]
    assert {**HAND_ROUTE, "state": "absent"} in nmstate.updates[0]["spec"]["desiredState"]["routes"]["config"]
    assert "DONE  vrfpolicy: 1 route(s) absent, then its new state alone" in report


def test_a_policy_with_nothing_to_remove_gets_its_new_state_once(serve: Callable[..., Any], run_cli: Run,
                                                                  tmp_path: Path) -> None:
    _, new, _, nmstate, report = upgrade(serve, run_cli, tmp_path, "a route added")
    assert [u["spec"]["desiredState"] for u in nmstate.updates] == [new["spec"]["desiredState"]]
    assert "DONE  vrfpolicy: its new state, nothing to remove; applied on 2/2 node(s)" in report


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_after_helm_4s_server_side_apply_the_policy_holds_the_new_state(serve: Callable[..., Any], run_cli: Run,
                                                                       tmp_path: Path, scenario: str) -> None:
    """Field ownership as the install and a hand edit left it (the prune hands it back as it
    read it: cleanup.hand_back), then Helm 4 applies the new manifest (tests/support/ssa.py):
    no conflict, not even with the hand edit's manager, and exactly the new state."""
    previous, new, live, _, _ = upgrade(serve, run_cli, tmp_path, scenario)
    owners: ssa.Owners = {"helm": set(ssa.fields(previous["spec"]))}
    if SCENARIOS[scenario][2]:
        edited = copy.deepcopy(previous)
        by_hand(edited)
        ssa.update(previous["spec"], owners, "kubectl-edit", edited["spec"])
    assert ssa.apply(live["spec"], owners, "helm", new["spec"]) == new["spec"], scenario
