"""Server-side apply on a policy's spec, as Helm 4 sends it, with field ownership per manager.

A NodeNetworkConfigurationPolicy's desiredState is `x-kubernetes-preserve-unknown-fields`,
which structured-merge-diff types as deduced (typed/parser.go DeducedParseableType): a map is
merged key by key ("separable"), a list is one atomic value. So a field here is the path to
a scalar or a whole list. The rules are those of Kubernetes' "Server-Side Apply" page:
- an apply sets every field of the configuration; a field whose live value differs and that
  another manager owns is a conflict (unless forced);
- a field the applier owned and no longer applies is removed, unless another manager owns it;
- an update (PUT) makes its manager the owner of every field it changes, taking it from the
  others, and a field it removes has no owner left.
"""

from __future__ import annotations

import copy
from typing import Any

Path = tuple[str, ...]
Owners = dict[str, set[Path]]


class Conflict(Exception):
    """The apply would change fields another manager owns."""


def fields(value: Any, path: Path = ()) -> dict[Path, Any]:
    """Each field (a scalar, a list, or an empty map) of a JSON object, by path."""
    if isinstance(value, dict) and value:
        return {leaf: v for key, item in value.items() for leaf, v in fields(item, (*path, key)).items()}
    return {path: value}


def _without(obj: dict[str, Any], path: Path) -> None:
    parent = obj
    for key in path[:-1]:
        parent = parent.get(key)
        if not isinstance(parent, dict):
            return
    parent.pop(path[-1], None)


def _with(obj: dict[str, Any], path: Path, value: Any) -> None:
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    obj[path[-1]] = copy.deepcopy(value)


def update(live: dict[str, Any], owners: Owners, manager: str, new: dict[str, Any]) -> dict[str, Any]:
    """A PUT of new by manager: ownership moves to it for every field it changes."""
    before, after = fields(live), fields(new)
    changed = {path for path, value in after.items() if before.get(path, object()) != value}
    removed = set(before) - set(after)
    for name in owners:
        owners[name] -= changed | removed
    owners.setdefault(manager, set()).update(changed)
    return copy.deepcopy(new)


def apply(live: dict[str, Any], owners: Owners, manager: str, config: dict[str, Any]) -> dict[str, Any]:
    """A server-side apply of config by manager (not forced)."""
    current, wanted = fields(live), fields(config)
    conflicts = sorted(path for path, value in wanted.items() if current.get(path, object()) != value
                       and any(path in owned for name, owned in owners.items() if name != manager))
    if conflicts:
        raise Conflict(", ".join(".".join(path) for path in conflicts))
    result = copy.deepcopy(live)
    for path in owners.get(manager, set()) - set(wanted):
        if not any(path in owned for name, owned in owners.items() if name != manager):
            _without(result, path)
    for path, value in wanted.items():
        _with(result, path, value)
    owners[manager] = set(wanted)
    return _pruned(result)


def _pruned(obj: Any) -> Any:
    """Maps left empty by a removal go with it."""
    if not isinstance(obj, dict):
        return obj
    kept = {key: _pruned(value) for key, value in obj.items()}
    return {key: value for key, value in kept.items() if value != {} or obj[key] == {}}
