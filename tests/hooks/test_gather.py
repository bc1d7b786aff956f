"""The preflight's reads (hooks/symrouting/gather.py): side by side (in_parallel), the steps
run on several threads at once, a failure stops new steps from starting, and the error
raised is the first in the steps' order, not the first in time; one list of the policies
serves the checks and the leftovers, its malformed items named once."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from symrouting.api import Gone
from symrouting.gather import POLICIES, gather, in_parallel
from symrouting.plan import parse_plan
from tests.hooks.conftest import render_plan
from tests.hooks.test_cleanup import SEED


def test_the_steps_run_at_once() -> None:
    """Three steps that each wait for the other two: they end only if they run together."""
    meeting = threading.Barrier(3, timeout=10)
    met: list[int] = []
    in_parallel([lambda: met.append(meeting.wait()) for _ in range(3)], workers=3)
    assert sorted(met) == [0, 1, 2]


def test_no_step_starts_after_one_failed() -> None:
    """A cluster that cannot be reached is waited for once: the steps after the failure never run."""
    ran: list[int] = []

    def fails() -> None:
        raise ConnectionRefusedError("refused")

    with pytest.raises(ConnectionRefusedError):
        in_parallel([lambda: ran.append(0), fails, lambda: ran.append(2), lambda: ran.append(3)], workers=1)
    assert ran == [0]


def test_the_error_raised_is_the_first_step_s_when_every_running_step_ended() -> None:
    second_failed = threading.Event()
    ended: list[str] = []

    def first() -> None:
        assert second_failed.wait(10)
        ended.append("first")
        raise LookupError("the first step's")

    def second() -> None:
        second_failed.set()
        raise ValueError("the second step's, raised earlier")

    with pytest.raises(LookupError, match="the first step's"):
        in_parallel([first, second], workers=2)
    assert ended == ["first"]


class PoliciesWhoseTokenExpires:
    """A cluster serving nothing but a list of policies whose continue token has expired
    (410): the list starts again without a limit (gather.collect), as client-go's pager does."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def get(self, path: str, *, metadata_only: bool = False) -> Any | None:
        if not path.startswith(POLICIES):
            return None
        if "continue=" in path:
            raise Gone(path)
        if "limit=" in path:
            return {"items": self.items[:1], "metadata": {"continue": "next"}}
        return {"items": self.items, "metadata": {}}


def test_a_policy_the_checks_cannot_read_is_named_once_when_its_list_starts_again() -> None:
    broken = {"metadata": {"name": "broken"},
              "spec": {"desiredState": {"interfaces": [{"name": "x", "type": "vrf", "vrf": {}}]}}}
    other = {"metadata": {"name": "other"}, "spec": {"nodeSelector": {"rack": "r1"}, "desiredState": {}}}
    plan = parse_plan(json.loads(render_plan([SEED])))
    facts = gather(PoliciesWhoseTokenExpires([broken, other]), plan)  # type: ignore[arg-type]
    assert facts.malformed == ["nodenetworkconfigurationpolicies broken"]
    assert [p.name for p in facts.policies or ()] == ["other"]


class Lists:
    """A cluster serving only some lists, each in one page; on_read(path) runs before an
    answer (to hold it, or to meet another read)."""

    def __init__(self, lists: dict[str, list[dict[str, Any]]], on_read: Any = None) -> None:
        self.lists, self.on_read = lists, on_read

    def get(self, path: str, *, metadata_only: bool = False) -> Any | None:
        collection = path.split("?", 1)[0]
        if collection not in self.lists:
            return None
        if self.on_read:
            self.on_read(collection)
        return {"items": self.lists[collection], "metadata": {}}


POOLS = "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools"
NODES = "/api/v1/nodes"
BROKEN_POLICY = {"metadata": {"name": "broken"}, "spec": {"desiredState": {"interfaces": [{"type": "vrf"}]}}}
BROKEN_POOL = {"metadata": {"name": "odd"}, "spec": {}}


def seed_plan() -> Any:
    return parse_plan(json.loads(render_plan([SEED])))


def test_gather_reads_its_lists_at_once() -> None:
    """The nodes and the policies each wait for the other's read: they end only side by side."""
    meeting = threading.Barrier(2, timeout=10)
    lists = Lists({NODES: [], POLICIES: []}, lambda path: meeting.wait() if path in (NODES, POLICIES) else None)
    gather(lists, seed_plan())  # type: ignore[arg-type]


def test_the_malformed_objects_are_named_in_order_whichever_read_ends_first() -> None:
    """The pools' list ends last, yet "ipaddresspools" is named before "nodenetworkconfigurationpolicies"."""
    policies_read = threading.Event()

    def hold(path: str) -> None:
        if path == POOLS:
            assert policies_read.wait(10)
        elif path == POLICIES:
            policies_read.set()

    facts = gather(Lists({POOLS: [BROKEN_POOL], POLICIES: [BROKEN_POLICY]}, hold), seed_plan())  # type: ignore[arg-type]
    assert facts.malformed == ["ipaddresspools odd", "nodenetworkconfigurationpolicies broken"]


def test_a_policy_being_deleted_still_takes_its_vrf() -> None:
    """Until it is gone, a policy being deleted is still the cluster's: the VRF checks count it
    (what it declares no longer counts for the leftovers: test_leftovers.py)."""
    deleting = {"metadata": {"name": "going", "deletionTimestamp": "2026-12-06T12:00:00Z"},
                "spec": {"desiredState": {"interfaces": [{"name": "ens4vrf", "type": "vrf", "vrf": {"route-table-id": 2}}]}}}
    facts = gather(Lists({POLICIES: [deleting]}), seed_plan())  # type: ignore[arg-type]
    assert [(p.name, p.vrfs) for p in facts.policies or ()] == [("going", (("ens4vrf", 2),))]
