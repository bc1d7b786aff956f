"""The server-side apply model (tests/support/ssa.py) against the rules it cites."""

from __future__ import annotations

import pytest

from tests.support import ssa


def test_an_apply_sets_its_fields_and_removes_what_it_no_longer_applies() -> None:
    owners: ssa.Owners = {}
    live = ssa.apply({}, owners, "helm", {"spec": {"a": 1, "b": [1, 2]}})
    assert live == {"spec": {"a": 1, "b": [1, 2]}}
    assert ssa.apply(live, owners, "helm", {"spec": {"b": [3]}}) == {"spec": {"b": [3]}}


def test_a_list_is_one_field() -> None:
    owners: ssa.Owners = {"helm": {("spec", "b")}}
    assert ssa.fields({"spec": {"b": [{"x": 1}], "c": {}}}) == {("spec", "b"): [{"x": 1}], ("spec", "c"): {}}
    assert ssa.apply({"spec": {"b": [1, 2]}}, owners, "helm", {"spec": {"b": [2]}}) == {"spec": {"b": [2]}}


def test_a_changed_value_another_manager_owns_conflicts_an_equal_one_does_not() -> None:
    owners: ssa.Owners = {"helm": {("spec", "a")}}
    live = ssa.update({"spec": {"a": 1}}, owners, "kubectl-edit", {"spec": {"a": 2}})
    assert owners == {"helm": set(), "kubectl-edit": {("spec", "a")}}
    with pytest.raises(ssa.Conflict, match="spec.a"):
        ssa.apply(live, owners, "helm", {"spec": {"a": 1}})
    assert ssa.apply(live, owners, "helm", {"spec": {"a": 2}}) == {"spec": {"a": 2}}


def test_a_field_another_manager_also_owns_stays_when_the_applier_drops_it() -> None:
    owners: ssa.Owners = {"helm": {("spec", "a")}, "other": {("spec", "a")}}
    assert ssa.apply({"spec": {"a": 1}}, owners, "helm", {"spec": {"b": 1}}) == {"spec": {"a": 1, "b": 1}}
