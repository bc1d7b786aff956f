"""The merge patch helper (tests/support/mergepatch.py) against RFC 7386's own examples
(Appendix A), and what Helm 3 makes of a policy: only the sections that differ."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import mergepatch

# RFC 7386 Appendix A: original, patch, result.
RFC_7386_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC_7386_EXAMPLES)
def test_apply_is_rfc_7386(original: Any, patch: Any, result: Any) -> None:
    assert mergepatch.apply(original, patch) == result


@pytest.mark.parametrize(("original", "modified"), [(o, r) for o, _, r in RFC_7386_EXAMPLES
                                                    if isinstance(o, dict) and isinstance(r, dict)])
def test_a_created_patch_turns_the_original_into_the_modified(original: Any, modified: Any) -> None:
    assert mergepatch.apply(original, mergepatch.create(original, modified)) == modified


def test_a_patch_sends_only_what_differs_and_a_list_whole() -> None:
    """evanphx/json-patch merge.go getDiff, which Helm 3's createPatch calls."""
    old = {"spec": {"desiredState": {"interfaces": [{"name": "a"}], "routes": {"config": [1, 2]}, "dns": 1}}}
    new = {"spec": {"desiredState": {"interfaces": [{"name": "a"}], "routes": {"config": [1]}}}}
    assert mergepatch.create(old, new) == {"spec": {"desiredState": {"routes": {"config": [1]}, "dns": None}}}
    assert mergepatch.create(new, new) == {}


def test_helm3_leaves_the_live_object_when_the_manifests_agree() -> None:
    live = {"spec": {"x": "edited by hand"}}
    assert mergepatch.helm3_upgrade(live, {"spec": {"x": 1}}, {"spec": {"x": 1}}) is live
    assert mergepatch.helm3_upgrade(live, {"spec": {"x": 1}}, {"spec": {"x": 2}}) == {"spec": {"x": 2}}
