"""The prune, followed by what Helm really sends, on the real API server with nmstate's
handler (tests/support/nmstatehandler.py): a kept policy ends holding exactly the new values'
state, and every node carries exactly that.

Helm 3 patches a custom resource with a JSON merge patch made from the previous release
manifest and the new one (helm pkg/kube/client.go createPatch; tests/support/mergepatch.py
makes it as Helm does), so a section the two manifests agree on is never re-sent: whatever
the prune leaves there stays. Helm 4 applies the new manifest server-side, without
--force-conflicts: after the prune the live spec equals it and its field ownership is as
before the prune (cleanup.hand_back), so the real server's apply changes no value and
conflicts with no one, not even a hand edit's manager.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hooks.conftest import render_plan
from tests.hooks.test_cleanup import (SEED, Rig, Run, carried, declared_on, install, policies, seed_with,
                                      spec_owners)
from tests.support import clusters, mergepatch
from tests.support.nmstatehandler import POLICIES, NmstateHandler
from tests.support.nodestate import node_after
from tests.support.realapi import RealApi

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


def edit_by_hand(api: RealApi, policy: dict[str, Any], edit: Callable[..., None]) -> None:
    """`kubectl edit` of the live policy: a merge patch of what changed, field manager
    kubectl-edit (kubectl's name for it), which then owns what it changed."""
    edited = copy.deepcopy(policy)
    edit(edited)
    api.client.call("PATCH", f"{POLICIES}/{policy['metadata']['name']}?fieldManager=kubectl-edit",
                    mergepatch.create(policy, edited), content_type="application/merge-patch+json")


Upgraded = tuple[dict[str, Any], dict[str, Any], dict[str, Any], Rig, str]


def upgrade(real_api: RealApi, nmstate: NmstateHandler, run_cli: Run, tmp_path: Path, scenario: str) -> Upgraded:
    """Installs the old values (then the hand edit), runs the prune for the new ones; returns
    the previous and the new manifest's policy, the live policy after the prune, the rig
    (its record of the updates, nmstate), and the prune's report."""
    before, after, edit = SCENARIOS[scenario]
    old_file, new_file = values(tmp_path, "old", before), values(tmp_path, "new", after)
    [previous], [new] = policies([old_file]), policies([new_file])
    rig = install(real_api, nmstate, [previous], [clusters.node(name, {"vrf": "true"}) for name in NODES])
    if edit:
        edit_by_hand(real_api, rig.policy(), edit)
        rig.mark()
    owners_before = ownership(rig.policy())
    result = run_cli("prune", "--poll=0.1", api=real_api, plan=render_plan([new_file]))
    assert result.returncode == 0, result.stdout + result.stderr
    rig.settle()
    live = rig.policy(new["metadata"]["name"])
    assert ownership(live) == owners_before, "the prune did not hand the fields back as they were"
    return previous, new, live, rig, result.stdout


def ownership(policy: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Who owns which fields of the policy (the status writer aside), without the times."""
    return [(e["manager"], e["operation"], e.get("fieldsV1")) for e in spec_owners(policy)]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_after_helm_3s_merge_patch_the_policy_holds_the_new_state(real_api: RealApi, nmstate: NmstateHandler,
                                                                 run_cli: Run, tmp_path: Path, scenario: str) -> None:
    """Helm 3's patch (previous manifest to new manifest, the live object not read), sent to
    the real server, which merges it into the live policy."""
    previous, new, _, rig, _ = upgrade(real_api, nmstate, run_cli, tmp_path, scenario)
    patch = mergepatch.create(previous, new)
    if patch:  # Helm 3 sends no empty patch
        real_api.client.call("PATCH", f"{POLICIES}/{new['metadata']['name']}?fieldManager=helm", patch,
                             content_type="application/merge-patch+json")
    assert rig.policy(new["metadata"]["name"])["spec"] == new["spec"], scenario


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_before_helm_4s_apply_the_policy_is_the_new_state_and_helms_again(real_api: RealApi, nmstate: NmstateHandler,
                                                                         run_cli: Run, tmp_path: Path,
                                                                         scenario: str) -> None:
    _, new, live, _, report = upgrade(real_api, nmstate, run_cli, tmp_path, scenario)
    assert live["spec"] == new["spec"], scenario
    managers = ["helm", "kubectl-edit"] if SCENARIOS[scenario][2] else ["helm"]
    assert [entry["manager"] for entry in spec_owners(live)] == managers, scenario
    assert "WARN" not in report


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_node_carries_the_new_state_and_applying_it_again_changes_nothing(
        real_api: RealApi, nmstate: NmstateHandler, run_cli: Run, tmp_path: Path, scenario: str) -> None:
    previous, new, _, rig, _ = upgrade(real_api, nmstate, run_cli, tmp_path, scenario)
    new_file = values(tmp_path, "new", SCENARIOS[scenario][1])
    for name in NODES:
        assert carried(nmstate, name) == declared_on(name, [new_file]), (scenario, name)
    # What the first update sent (the new state with the removals) leaves, on its own and
    # with the new state applied after it, as Helm's upgrade would.
    old_state = previous["spec"]["desiredState"]
    if SCENARIOS[scenario][2]:
        old_state = copy.deepcopy(old_state)
        old_state["routes"]["config"].append(HAND_ROUTE)
    first = rig.updates()[0]["spec"]["desiredState"]
    exactly = node_after(new["spec"]["desiredState"]).managed()
    assert node_after(old_state, first).managed() == exactly, scenario
    assert node_after(old_state, first, new["spec"]["desiredState"]).managed() == exactly, scenario


def test_the_first_update_declares_the_new_state_with_the_removals(real_api: RealApi, nmstate: NmstateHandler,
                                                                    run_cli: Run, tmp_path: Path) -> None:
    """While a prune runs, its policy declares the new state: a neighbour's cleanup that reads
    it then keeps what it shares (cleanup.plan_removals)."""
    _, new, _, rig, report = upgrade(real_api, nmstate, run_cli, tmp_path, "a route added, then removed")
    first, last = (update["spec"]["desiredState"] for update in rig.updates())
    assert first == {**new["spec"]["desiredState"], "routes": {"config": [
        *new["spec"]["desiredState"]["routes"]["config"],
        {"destination": "10.99.0.0/16", "next-hop-address": "192.168.130.254", "next-hop-interface": "ens4",
         "table-id": 2, "state": "absent"}]}}
    assert last == new["spec"]["desiredState"]
    assert ("DONE  vrfpolicy: 1 route(s) absent, then its new state alone; applied on 2/2 node(s)") in report


def test_a_hand_edit_alone_is_undone(real_api: RealApi, nmstate: NmstateHandler, run_cli: Run, tmp_path: Path) -> None:
    _, new, _, rig, report = upgrade(real_api, nmstate, run_cli, tmp_path, "no change, after a hand-added route")
    updates = rig.updates()
    assert updates[-1]["spec"]["desiredState"] == new["spec"]["desiredState"]
    assert {**HAND_ROUTE, "state": "absent"} in updates[0]["spec"]["desiredState"]["routes"]["config"]
    assert "DONE  vrfpolicy: 1 route(s) absent, then its new state alone" in report
    for name in NODES:
        assert carried(nmstate, name)["routes"] == node_after(new["spec"]["desiredState"]).managed()["routes"], name


def test_a_policy_with_nothing_to_remove_gets_its_new_state_once(real_api: RealApi, nmstate: NmstateHandler,
                                                                  run_cli: Run, tmp_path: Path) -> None:
    _, new, _, rig, report = upgrade(real_api, nmstate, run_cli, tmp_path, "a route added")
    assert [u["spec"]["desiredState"] for u in rig.updates()] == [new["spec"]["desiredState"]]
    assert "DONE  vrfpolicy: its new state, nothing to remove; applied on 2/2 node(s)" in report


def next_values(change: Callable[..., None] | None) -> Callable[[dict[str, Any]], None]:
    """The values of the upgrade after this one: another table and another service CIDR, so
    that it changes every list of the desiredState the prune may have written."""
    def values(given: dict[str, Any]) -> None:
        if change:
            change(given)
        given["vrfs"]["ens4vrf"]["tableId"] = 8
        given["cluster"]["serviceNetwork"] = ["172.29.0.0/16"]
    return values


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_after_helm_4s_server_side_apply_the_policy_holds_the_new_state(real_api: RealApi, nmstate: NmstateHandler,
                                                                       run_cli: Run, tmp_path: Path,
                                                                       scenario: str) -> None:
    """Field ownership as the install and a hand edit left it (the prune hands it back as it
    read it: cleanup.hand_back), then Helm 4 applies the new manifest server-side without
    --force-conflicts: the real server finds no conflict, not even with the hand edit's
    manager, and the policy holds exactly the new state. The upgrade after it, which changes
    what the prune wrote, conflicts with no one either: the hook owns no field (a hand edit's
    manager still owns what it edited, which the API server rightly defends)."""
    _, new, _, rig, _ = upgrade(real_api, nmstate, run_cli, tmp_path, scenario)
    path = f"{POLICIES}/{new['metadata']['name']}?fieldManager=helm"
    real_api.client.call("PATCH", path, new, content_type="application/apply-patch+yaml")
    assert rig.policy(new["metadata"]["name"])["spec"] == new["spec"], scenario
    [later] = policies([seed_with(tmp_path, "next", next_values(SCENARIOS[scenario][1]))])
    code, answer = real_api.client.request("PATCH", path, later, content_type="application/apply-patch+yaml")
    if SCENARIOS[scenario][2]:
        assert code == 409 and 'conflict with "kubectl-edit"' in answer["message"], answer
        assert "symrouting" not in answer["message"], answer
    else:
        assert code == 200, answer
        assert rig.policy(new["metadata"]["name"])["spec"] == later["spec"], scenario
