"""JSON merge patches (RFC 7386), as Helm 3 makes and the API server applies them to a custom
resource on `helm upgrade` and `helm rollback`.

Helm 3 (pkg/kube/client.go createPatch, v3.19) patches an unstructured object with
jsonpatch.CreateMergePatch(previous release manifest, new manifest): the live object is not
consulted, and an empty patch ("{}") is not sent at all (updateResource). create() is
evanphx/json-patch merge.go getDiff: a key whose value differs is sent whole (an array as a
whole, an object as its own diff), a key the new document lacks is sent as null. apply() is
the MergePatch function of RFC 7386 section 2.
"""

from __future__ import annotations

import copy
from typing import Any


def create(original: Any, modified: Any) -> dict[str, Any]:
    """The merge patch that turns original into modified (both JSON objects)."""
    patch: dict[str, Any] = {}
    for key, new in modified.items():
        if key not in original:
            patch[key] = copy.deepcopy(new)
        elif isinstance(new, dict) and isinstance(original[key], dict):
            diff = create(original[key], new)
            if diff:
                patch[key] = diff
        elif original[key] != new or type(original[key]) is not type(new):
            patch[key] = copy.deepcopy(new)
    for key in original:
        if key not in modified:
            patch[key] = None
    return patch


def apply(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch(Target, Patch)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = apply(result.get(name), value)
    return result


def helm3_upgrade(live: dict[str, Any], previous: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The object after Helm 3 upgrades it from the previous release manifest to the new one."""
    patch = create(previous, new)
    return apply(live, patch) if patch else live
