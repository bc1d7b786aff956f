"""A Kubernetes API stand-in on 127.0.0.1 that the real Helm 3 and Helm 4 binaries install,
upgrade, roll back and uninstall the chart against.

It keeps objects of every kind the chart renders (the core kinds below, and the custom ones
from the pinned CRDs, read at run time: tests/support/upstream.py), and answers with the API
server's semantics where Helm relies on them. Each behaviour names the upstream file it was
read from:

- discovery, legacy form (k8s.io/client-go discovery/discovery_client.go: a server that
  answers /api and /apis with plain application/json is read the legacy way, each
  group-version fetched on its own); /version.
- create (POST; 409 AlreadyExists, 404 for a namespace that does not exist:
  k8s.io/apiserver pkg/admission/plugin/namespace/lifecycle/admission.go), get, list with
  labelSelector (apimachinery pkg/labels/selector.go) and fieldSelector on metadata.name and
  metadata.namespace (apimachinery pkg/fields/selector.go), delete.
- watch (k8s.io/apiserver pkg/endpoints/handlers/watch.go: one JSON event per line, chunked;
  storage/cacher: without a resourceVersion, or "0", the current objects come first as ADDED;
  with one, only what changed after it).
- update (PUT) with resourceVersion preconditions (409 Conflict,
  k8s.io/apiserver pkg/registry/generic/registry/store.go, Update); generation bumped on a
  change of anything but metadata and status (the CRD strategy,
  apiextensions-apiserver pkg/registry/customresource/strategy.go, PrepareForUpdate).
- PATCH: JSON merge patch (RFC 7386; apiserver pkg/endpoints/handlers/patch.go,
  jsonPatcher), strategic merge patch for the core kinds only (415 for custom resources, as
  patch.go answers) with the patchMergeKey / patchStrategy tags of k8s.io/api that the
  chart's core kinds carry, and server-side apply (application/apply-patch+yaml) with
  metadata.managedFields and conflicts (sigs.k8s.io/structured-merge-diff v4
  merge/update.go: Apply, Update; fieldpath/serialize.go for the FieldsV1 form).
- with `defaulting`, a custom resource's schema defaults filled in on every write, before
  managedFields are computed (apiextensions-apiserver pkg/apiserver/schema/defaulting/
  algorithm.go, run by the CRD handler's decoder; tests/support/handbuilt.py, apply_defaults).
  Off by default: the lifecycle tests compare live specs with rendered ones verbatim.
- MetalLB's webhook refuses to delete a BFDProfile a BGPPeer still names
  (metallb internal/k8s/webhooks/webhookv1beta1/bfdprofile_webhook.go, validateBFDDelete).
- RBAC for service-account tokens (tests/support/apiserver.py, Rbac), read from the Roles
  and bindings stored at the time of each request.

Every request is recorded (method, path, content type) so a test can say what Helm sent.
Reactions (the Job runner, nmstate) subscribe to changes with `watchers`.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import json
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import yaml

from tests.support import upstream
from tests.support.apiserver import Rbac, Tls, TlsServer, forbidden, label_selector, request_attributes
from tests.support.mergepatch import apply as merge_patch

Obj = dict[str, Any]
Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Kind:
    group: str
    versions: tuple[str, ...]
    resource: str
    kind: str
    namespaced: bool
    # Strategic merge: list field path (dotted, from the object's root) -> merge key; a key of
    # "" is a primitive list merged as a set (patchStrategy:"merge" without a key).
    merge_keys: dict[str, str] = field(default_factory=dict)
    # Server-side apply: list field path -> ("map", keys) or ("set", ()); others atomic.
    list_types: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    custom: bool = False
    schema: Obj | None = None
    # A status subresource: writes to the resource keep the status, writes to /status only
    # change it (PrepareForCreate / PrepareForUpdate of apiextensions-apiserver
    # pkg/registry/customresource/strategy.go and of kubernetes pkg/registry/*/strategy.go).
    status_subresource: bool = False


# The tags of k8s.io/api that the chart's core kinds and their metadata need:
# apimachinery pkg/apis/meta/v1/types.go ObjectMeta: ownerReferences patchMergeKey:"uid",
# finalizers patchStrategy:"merge" (a set); core/v1/types.go ServiceSpec.Ports
# patchMergeKey:"port" (listType map, keys port and protocol), PodSpec.Containers and
# Volumes patchMergeKey:"name", Container.Env "name", VolumeMounts "mountPath".
_META_KEYS = {"metadata.ownerReferences": "uid", "metadata.finalizers": ""}
_META_LISTS = {"metadata.ownerReferences": ("map", ("uid",)), "metadata.finalizers": ("set", ())}
_POD = {"spec.containers": "name", "spec.volumes": "name", "spec.containers.env": "name",
        "spec.containers.volumeMounts": "mountPath"}
_POD_LISTS: dict[str, tuple[str, tuple[str, ...]]] = {"spec.containers": ("map", ("name",)), "spec.volumes": ("map", ("name",)),
              "spec.containers.env": ("map", ("name",)), "spec.containers.volumeMounts": ("map", ("mountPath",))}


def _core(group: str, version: str, resource: str, kind: str, namespaced: bool,
          keys: dict[str, str] | None = None, lists: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> Kind:
    return Kind(group, (version,), resource, kind, namespaced, {**_META_KEYS, **(keys or {})},
                {**_META_LISTS, **(lists or {})},
                status_subresource=resource in ("namespaces", "nodes", "services", "pods", "jobs"))


CORE = [
    _core("", "v1", "namespaces", "Namespace", False),
    _core("", "v1", "nodes", "Node", False),
    _core("", "v1", "configmaps", "ConfigMap", True),
    _core("", "v1", "secrets", "Secret", True),
    _core("", "v1", "serviceaccounts", "ServiceAccount", True),
    _core("", "v1", "services", "Service", True, {"spec.ports": "port"}, {"spec.ports": ("map", ("port", "protocol"))}),
    _core("", "v1", "pods", "Pod", True, _POD, _POD_LISTS),
    _core("", "v1", "events", "Event", True),
    _core("batch", "v1", "jobs", "Job", True, {f"spec.template.{k}": v for k, v in _POD.items()},
          {f"spec.template.{k}": v for k, v in _POD_LISTS.items()}),
    _core("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _core("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _core("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _core("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _core("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False),
    _core("coordination.k8s.io", "v1", "leases", "Lease", True),
    _core("networking.k8s.io", "v1", "servicecidrs", "ServiceCIDR", False),
]


def _list_types(schema: Obj | None, prefix: str = "") -> dict[str, tuple[str, tuple[str, ...]]]:
    """The list types a CRD's schema declares (x-kubernetes-list-type; a list with none is
    atomic: structured-merge-diff schema/elements.go, and apiextensions' structural schemas)."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    if not isinstance(schema, dict):
        return found
    for name, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        if sub.get("type") == "array":
            kind = sub.get("x-kubernetes-list-type")
            if kind == "map":
                found[path] = ("map", tuple(sub.get("x-kubernetes-list-map-keys") or ()))
            elif kind == "set":
                found[path] = ("set", ())
            found.update(_list_types(sub.get("items"), path))
        else:
            found.update(_list_types(sub, path))
    return found


def custom_kinds(crds: list[Obj]) -> list[Kind]:
    kinds = []
    for crd in crds:
        spec = crd["spec"]
        served = tuple(v["name"] for v in spec["versions"] if v.get("served"))
        storage = next(v for v in spec["versions"] if v.get("storage"))
        schema = (storage.get("schema") or {}).get("openAPIV3Schema")
        kinds.append(Kind(spec["group"], served, spec["names"]["plural"], spec["names"]["kind"],
                          spec["scope"] == "Namespaced", dict(_META_KEYS),
                          {**_META_LISTS, **_list_types(schema)}, True, schema,
                          "status" in (storage.get("subresources") or {})))
    return kinds


@functools.cache
def _crds() -> str:
    """Every CRD, read once per test process (the Argo CD ones are large), as JSON text."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    pinned = [p["local"] for p in upstream.pins() if p["local"].startswith("crds/")]
    folder = upstream.locate(pinned[0]).parents[1]
    found: dict[str, Obj] = {}
    for path in [upstream.locate(p) for p in pinned] + sorted(folder.glob("*/*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=loader):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                found.setdefault(doc["metadata"]["name"], doc)
    return json.dumps(list(found.values()))


def served_crds() -> list[Obj]:
    """Every CRD of the pinned upstream folder (tests/support/upstream.py finds it), read at
    run time: the pinned ones and those beside them (nmstate's enactments, which the chart's
    hooks read but do not render)."""
    return list(json.loads(_crds()))


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> Obj:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "details": self.details, "code": self.code}


def _qualified(kind: Kind) -> str:
    return f"{kind.resource}.{kind.group}" if kind.group else kind.resource


def not_found(kind: Kind, name: str) -> ApiError:
    # apimachinery pkg/api/errors/errors.go, NewNotFound: `<resource>.<group> "<name>" not found`.
    return ApiError(404, "NotFound", f'{_qualified(kind)} "{name}" not found',
                    {"name": name, "group": kind.group, "kind": kind.resource})


# ---------------------------------------------------------------------------------------------
# JSON merge patch (RFC 7386: tests/support/mergepatch.py, apply) and strategic merge patch.


def strategic_merge(live: Any, patch: Any, kind: Kind, path: str = "") -> Any:
    """apimachinery pkg/util/strategicpatch/patch.go, mergeMap / mergeSlice, with the
    directives Helm 3's three-way patches carry: null deletes, `$patch: replace|delete`,
    `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`; a list with a
    patchMergeKey merges item by item, a list with patchStrategy merge and no key as a set,
    any other list is replaced."""
    if not isinstance(patch, dict) or not isinstance(live, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = copy.deepcopy(live)
    if "$retainKeys" in patch:
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    orders = {k.split("/", 1)[1]: v for k, v in patch.items() if k.startswith("$setElementOrder/")}
    for key, value in patch.items():
        if key.startswith("$"):
            if key.startswith("$deleteFromPrimitiveList/"):
                name = key.split("/", 1)[1]
                result[name] = [item for item in result.get(name) or [] if item not in value]
            continue
        child = f"{path}.{key}" if path else key
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and child in kind.merge_keys:
            result[key] = _merge_list(result.get(key) or [], value, kind.merge_keys[child], orders.get(key), kind, child)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            merged = strategic_merge(result[key], value, kind, child)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = _strip_directives(value)
    for key, order in orders.items():
        child = f"{path}.{key}" if path else key
        merge_key = kind.merge_keys.get(child)
        if merge_key and key in result:
            rank = {json.dumps(item.get(merge_key)): n for n, item in enumerate(order)}
            result[key].sort(key=lambda item: rank.get(json.dumps(item.get(merge_key)), len(rank)))
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _merge_list(live: list[Any], patch: list[Any], key: str, order: list[Any] | None, kind: Kind, path: str) -> list[Any]:
    if not key:
        return live + [item for item in patch if item not in live]
    result = [copy.deepcopy(item) for item in live]
    for item in patch:
        index = next((n for n, old in enumerate(result) if old.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item, kind, path)
    return result


# ---------------------------------------------------------------------------------------------
# Server-side apply: field sets, their FieldsV1 form, apply and update ownership.


def _list_type(kind: Kind, path: str) -> tuple[str, tuple[str, ...]]:
    return kind.list_types.get(path, ("atomic", ()))


def _schema_path(parts: Path_) -> str:
    return ".".join(p[2:] for p in parts if p.startswith("f:"))


# Fields the field manager never tracks (structured-merge-diff is handed the object without
# them: k8s.io/apiserver pkg/endpoints/handlers/fieldmanager/stripmeta.go).
_UNTRACKED = {("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace"),
              ("f:metadata", "f:uid"), ("f:metadata", "f:resourceVersion"), ("f:metadata", "f:generation"),
              ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:managedFields"), ("f:status",)}


def field_set(obj: Any, kind: Kind, prefix: Path_ = ()) -> set[Path_]:
    """The leaf fields of an object, as structured-merge-diff's typed value lists them
    (typed/helpers.go): each map key, each associative list item by its keys (and the item
    itself), each set item by value; an atomic list or a scalar is one leaf."""
    found: set[Path_] = set()
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            path = (*prefix, f"f:{key}")
            if path in _UNTRACKED or any(path[:n] in _UNTRACKED for n in range(1, len(path))):
                continue
            if isinstance(value, dict) and value:
                found |= field_set(value, kind, path)
            elif isinstance(value, list):
                list_kind, keys = _list_type(kind, _schema_path(path))
                if list_kind == "map":
                    for item in value:
                        member = (*path, "k:" + json.dumps({k: item.get(k) for k in keys if k in item},
                                                          separators=(",", ":"), sort_keys=True))
                        found.add(member)
                        found |= field_set(item, kind, member)
                elif list_kind == "set":
                    found |= {(*path, "v:" + json.dumps(item, separators=(",", ":"))) for item in value}
                else:
                    found.add(path)
            else:
                found.add(path)
    return found


def to_fields_v1(fields: set[Path_]) -> Obj:
    """fieldpath/serialize.go: nested "f:", "k:", "v:" members, "." for an item that is itself
    in the set and also has fields below it."""
    tree: Obj = {}
    for path in sorted(fields):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    for path in fields:
        node = tree
        for part in path:
            node = node[part]
        if node and path[-1].startswith("k:"):
            node["."] = {}
    return tree


def from_fields_v1(tree: Obj, prefix: Path_ = ()) -> set[Path_]:
    found: set[Path_] = set()
    for part, below in (tree or {}).items():
        if part == ".":
            found.add(prefix)
        elif below:
            found |= from_fields_v1(below, (*prefix, part))
        else:
            found.add((*prefix, part))
    return found


def _value_at(obj: Any, path: Path_) -> tuple[bool, Any]:
    node = obj
    for part in path:
        if part.startswith("f:") and isinstance(node, dict) and part[2:] in node:
            node = node[part[2:]]
        elif part.startswith("k:") and isinstance(node, list):
            keys = json.loads(part[2:])
            node = next((i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in keys.items())), None)
            if node is None:
                return False, None
        elif part.startswith("v:") and isinstance(node, list):
            value = json.loads(part[2:])
            if value not in node:
                return False, None
            node = value
        else:
            return False, None
    return True, node


def _remove_at(obj: Any, path: Path_) -> None:
    found, parent = _value_at(obj, path[:-1])
    if not found:
        return
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        keys = json.loads(last[2:])
        parent[:] = [i for i in parent if not all(i.get(k) == v for k, v in keys.items())]
    elif last.startswith("v:") and isinstance(parent, list):
        value = json.loads(last[2:])
        parent[:] = [i for i in parent if i != value]


def changed_fields(before: Any, after: Any, kind: Kind) -> set[Path_]:
    """Fields whose value an operation adds, changes or removes (merge/update.go compares the
    live and the new object the same way before it assigns or checks ownership)."""
    fields_before, fields_after = field_set(before, kind), field_set(after, kind)
    changed = fields_before ^ fields_after
    for path in fields_before & fields_after:
        if _value_at(before, path)[1] != _value_at(after, path)[1] and not path[-1].startswith("k:"):
            changed.add(path)
    return changed


def structured_merge(live: Any, applied: Any, kind: Kind, path: Path_ = ()) -> Any:
    """merge/update.go merges an applied configuration into the live object: maps key by key,
    associative lists item by item (by their keys), sets by value, atomic lists and scalars
    replaced."""
    if isinstance(live, dict) and isinstance(applied, dict):
        result = copy.deepcopy(live)
        for key, value in applied.items():
            result[key] = structured_merge(result.get(key), value, kind, (*path, f"f:{key}"))
        return result
    if isinstance(live, list) and isinstance(applied, list):
        list_kind, keys = _list_type(kind, _schema_path(path))
        if list_kind == "map":
            items = [copy.deepcopy(item) for item in live]
            for item in applied:
                index = next((n for n, old in enumerate(items) if all(old.get(k) == item.get(k) for k in keys)), None)
                if index is None:
                    items.append(copy.deepcopy(item))
                else:
                    items[index] = structured_merge(items[index], item, kind, path)
            return items
        if list_kind == "set":
            return live + [item for item in applied if item not in live]
    return copy.deepcopy(applied)


def _entries(obj: Obj) -> list[Obj]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _same_manager(entry: Obj, manager: str, operation: str, api_version: str) -> bool:
    # managedfields: an Apply entry is one per manager; an Update entry one per manager and
    # apiVersion (apiserver pkg/util/managedfields internal/managedfields.go, encodeManagerIdentifier).
    return (entry.get("manager") == manager and entry.get("operation") == operation
            and (operation == "Apply" or entry.get("apiVersion") == api_version))


def _with_entry(entries: list[Obj], manager: str, operation: str, api_version: str, fields: set[Path_]) -> list[Obj]:
    kept = [e for e in entries if not _same_manager(e, manager, operation, api_version)]
    if fields:
        kept.append({"manager": manager, "operation": operation, "apiVersion": api_version, "time": now(),
                     "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(fields)})
    return kept


def _without(entries: list[Obj], fields: set[Path_], keep: Callable[[Obj], bool]) -> list[Obj]:
    """Takes fields out of every entry but those `keep` names; entries left empty go."""
    result = []
    for entry in entries:
        if keep(entry):
            result.append(entry)
            continue
        owned = from_fields_v1(entry.get("fieldsV1") or {})
        left = {p for p in owned if not any(p[:len(f)] == f for f in fields)}
        if left == owned:
            result.append(entry)
        elif left:
            result.append({**entry, "fieldsV1": to_fields_v1(left)})
    return result


def ownership_after_update(live: Obj | None, sent: Obj, stored: Obj, kind: Kind, manager: str) -> list[Obj]:
    """merge/update.go, Update: fields the update changed go to the updater (operation Update)
    and leave every other manager. managedFields the request sends that differ from the live
    ones replace them first; `[{}]` clears them (apiserver pkg/util/managedfields
    internal/fieldmanager.go, and "Clearing managedFields" in the server-side apply docs)."""
    before = _entries(live or {})
    requested = (sent.get("metadata") or {}).get("managedFields")
    if requested == [{}]:
        entries: list[Obj] = []
    elif requested and requested != before:
        entries = copy.deepcopy(requested)
    else:
        entries = copy.deepcopy(before)
    changed = changed_fields(live or {}, stored, kind)
    if not changed:
        return entries
    api_version = stored.get("apiVersion", "")
    mine = next((from_fields_v1(e.get("fieldsV1") or {}) for e in entries
                 if _same_manager(e, manager, "Update", api_version)), set())
    now_set = field_set(stored, kind)
    entries = _without(entries, changed, lambda e: _same_manager(e, manager, "Update", api_version))
    owned = {p for p in (mine | changed) if p in now_set or any(q[:len(p)] == p for q in now_set)}
    return _with_entry(entries, manager, "Update", api_version, owned)


def apply(live: Obj | None, applied: Obj, kind: Kind, manager: str, force: bool) -> tuple[Obj, list[Obj]]:
    """merge/update.go, Apply: merge the applied configuration in, refuse (409) when a field it
    changes is another manager's, unless forced (then it is taken from them); drop what this
    manager applied last time and no longer applies, unless another manager owns it."""
    base = live or {"apiVersion": applied.get("apiVersion"), "kind": applied.get("kind"), "metadata": {}}
    api_version = applied.get("apiVersion", "")
    applying = field_set(applied, kind)
    merged = structured_merge(base, {k: v for k, v in applied.items() if k != "status"}, kind)
    entries = _entries(base)
    previous = next((from_fields_v1(e.get("fieldsV1") or {}) for e in entries
                     if _same_manager(e, manager, "Apply", api_version)), set())
    others = [e for e in entries if not _same_manager(e, manager, "Apply", api_version)]
    owned_by_others: set[Path_] = set()
    for entry in others:
        owned_by_others |= from_fields_v1(entry.get("fieldsV1") or {})
    # An item before its fields: once the item is gone, its fields are too.
    for path in sorted(previous - applying, key=len):
        if path not in owned_by_others:
            _remove_at(merged, path)
    changed = changed_fields(base, merged, kind)
    conflicts = []
    for entry in others:
        owned = from_fields_v1(entry.get("fieldsV1") or {})
        clash = sorted(p for p in owned & changed if p in applying or p in previous)
        if clash:
            conflicts.append((entry, clash))
    if conflicts and not force:
        # merge/conflict.go, Conflicts.Error; the apiserver's 409 says it as
        # `Apply failed with N conflict(s): conflict with "<manager>" ...: <.path>`.
        lines = [f'conflict with "{e["manager"]}"' + (f' using {e["apiVersion"]}' if e.get("operation") == "Update" else "")
                 + f": {_dotted(p)}" for e, clash in conflicts for p in clash]
        count = len(lines)
        raise ApiError(409, "Conflict", f"Apply failed with {count} conflict{'s' if count > 1 else ''}: "
                       + "\n".join(lines))
    if force:
        taken = {p for _, clash in conflicts for p in clash}
        entries = _without(entries, taken, lambda e: _same_manager(e, manager, "Apply", api_version))
    entries = _with_entry(entries, manager, "Apply", api_version, applying)
    return merged, entries


def _dotted(path: Path_) -> str:
    return "".join(f".{p[2:]}" if p.startswith("f:") else f"[{p[2:]}]" for p in path)


# ---------------------------------------------------------------------------------------------
# Protobuf: Helm's release storage writes Secrets through the typed clientset, which sends
# protobuf (client-go kubernetes/clientset.go sets application/vnd.kubernetes.protobuf for the
# built-in groups). Only what a Secret carries is read.


def _wire(data: bytes) -> list[tuple[int, Any]]:
    """Protocol buffers wire format: (field number, varint or bytes) pairs."""
    fields: list[tuple[int, Any]] = []
    at = 0

    def varint() -> int:
        nonlocal at
        value = shift = 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while at < len(data):
        tag = varint()
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            fields.append((number, varint()))
        elif wire_type == 2:
            length = varint()
            fields.append((number, data[at:at + length]))
            at += length
        elif wire_type == 5:
            at += 4
        elif wire_type == 1:
            at += 8
        else:
            raise ApiError(400, "BadRequest", f"protobuf wire type {wire_type} not understood")
    return fields


def _proto_map(entries: list[bytes], text: bool) -> dict[str, Any]:
    result = {}
    for entry in entries:
        parts = dict(_wire(entry))
        value = parts.get(2, b"")
        result[parts.get(1, b"").decode()] = value.decode() if text else base64.b64encode(value).decode()
    return result


def decode_protobuf(body: bytes) -> Obj:
    """A Secret in the API server's protobuf envelope (apimachinery pkg/runtime/serializer/
    protobuf/protobuf.go: the bytes "k8s\\0", then runtime.Unknown: typeMeta = 1 {apiVersion 1,
    kind 2}, raw = 2), the Secret as k8s.io/api core/v1/generated.proto numbers it (metadata 1,
    data 2 (map of bytes), type 3, stringData 4, immutable 5) with ObjectMeta's name 1,
    namespace 3, resourceVersion 6, labels 11, annotations 12."""
    if not body.startswith(b"k8s\x00"):
        raise ApiError(400, "BadRequest", "protobuf body without the k8s envelope")
    envelope = _wire(body[4:])
    type_meta = dict(_wire(next(v for n, v in envelope if n == 1)))
    kind = type_meta.get(2, b"").decode()
    if kind != "Secret":
        raise ApiError(415, "UnsupportedMediaType", f"protobuf {kind} is not read by this stand-in")
    secret = _wire(next(v for n, v in envelope if n == 2))
    meta_fields = _wire(next((v for n, v in secret if n == 1), b""))
    meta: Obj = {}
    for number, key in ((1, "name"), (3, "namespace"), (6, "resourceVersion")):
        value = next((v.decode() for n, v in meta_fields if n == number), "")
        if value:
            meta[key] = value
    for number, key in ((11, "labels"), (12, "annotations")):
        entries = [v for n, v in meta_fields if n == number]
        if entries:
            meta[key] = _proto_map(entries, True)
    obj: Obj = {"apiVersion": type_meta.get(1, b"v1").decode(), "kind": kind, "metadata": meta}
    data = [v for n, v in secret if n == 2]
    if data:
        obj["data"] = _proto_map(data, False)
    string_data = [v for n, v in secret if n == 4]
    if string_data:
        obj["stringData"] = _proto_map(string_data, True)
    kind_type = next((v.decode() for n, v in secret if n == 3), "")
    if kind_type:
        obj["type"] = kind_type
    return obj


def decode_body(body: bytes, content_type: str) -> Obj:
    if content_type == "application/vnd.kubernetes.protobuf":
        return decode_protobuf(body)
    return json.loads(body)


# ---------------------------------------------------------------------------------------------
# The store.


@dataclass
class Event:
    revision: int
    type: str
    kind: Kind
    obj: Obj


@dataclass
class Recorded:
    method: str
    path: str
    content_type: str
    user_agent: str
    code: int = 0


Key = tuple[str, str, str, str]  # group, resource, namespace, name


@dataclass
class KubeApi:
    """The objects, their history of changes, and the rules Helm's requests meet."""

    token: str
    kinds: list[Kind] = field(default_factory=lambda: CORE + custom_kinds(served_crds()))
    objects: dict[Key, Obj] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    revision: int = 1
    changed: threading.Condition = field(default_factory=threading.Condition)
    # Service-account tokens: token -> user name ("system:serviceaccount:<ns>:<name>").
    service_tokens: dict[str, str] = field(default_factory=dict)
    # Called (event type, kind, object) after each change, outside the lock.
    watchers: list[Callable[[str, Kind, Obj], None]] = field(default_factory=list)
    # RBAC refusals: (user, verb, group, namespace, resource, name).
    refused: list[tuple[str, ...]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    # Called (method, path, user) before each write is handled: lets a test order the writes
    # of concurrent clients (an interleaving), never change what the API answers.
    gates: list[Callable[[str, str, str], None]] = field(default_factory=list)
    defaulting: bool = False

    def __post_init__(self) -> None:
        for name in ("default", "kube-system", "metallb-system"):
            self.put_object(self.kind_of("", "namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                                              "metadata": {"name": name}})
        crd_kind = self.kind_of("apiextensions.k8s.io", "customresourcedefinitions")
        for crd in served_crds():
            self.put_object(crd_kind, copy.deepcopy(crd))

    # -- lookup -----------------------------------------------------------------------------

    def kind_of(self, group: str, resource: str) -> Kind:
        found = next((k for k in self.kinds if k.group == group and k.resource == resource), None)
        if found is None:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({resource}.{group})")
        return found

    def get(self, group: str, resource: str, namespace: str, name: str) -> Obj | None:
        with self.changed:
            found = self.objects.get((group, resource, namespace, name))
            return copy.deepcopy(found) if found else None

    def list(self, group: str, resource: str, namespace: str | None = None) -> list[Obj]:
        with self.changed:
            return [copy.deepcopy(o) for (g, r, ns, _), o in sorted(self.objects.items())
                    if g == group and r == resource and namespace in (None, ns)]

    def load(self, routes: dict[str, Any]) -> None:
        """Objects from a FakeApi route table (tests/support/clusters.py builders): each
        resource path's object, or each item of a collection path; discovery paths are skipped,
        this server answers them from its kinds."""
        for path, value in routes.items():
            routed = self.route(path)
            if routed is None:
                continue
            kind, version, namespace, _, _ = routed
            for obj in value if isinstance(value, list) else [value]:
                obj = copy.deepcopy(obj)
                obj.setdefault("apiVersion", f"{kind.group}/{version}" if kind.group else version)
                obj.setdefault("kind", kind.kind)
                if kind.namespaced:
                    obj["metadata"]["namespace"] = namespace or obj["metadata"].get("namespace", "")
                self.put_object(kind, obj)

    # -- writes by the stand-in's own controllers ------------------------------------------------

    def put_object(self, kind: Kind, obj: Obj, *, status_only: bool = False) -> Obj:
        """Stores an object as a controller writes it (create or replace, status included)."""
        with self.changed:
            meta = obj.setdefault("metadata", {})
            key = (kind.group, kind.resource, meta.get("namespace", "") if kind.namespaced else "", meta["name"])
            old = self.objects.get(key)
            if old is not None and status_only:
                obj = {**copy.deepcopy(old), "status": obj.get("status")}
                meta = obj["metadata"]
            meta.setdefault("uid", (old or {}).get("metadata", {}).get("uid") or str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now())
            meta.setdefault("generation", 1)
            stored = self._commit(kind, key, obj, "MODIFIED" if old else "ADDED")
        self._notify("MODIFIED" if old else "ADDED", kind, stored)
        return stored

    def remove_object(self, kind: Kind, namespace: str, name: str) -> None:
        with self.changed:
            old = self.objects.pop((kind.group, kind.resource, namespace, name), None)
            if old is None:
                return
            self.revision += 1
            old = copy.deepcopy(old)
            old["metadata"]["resourceVersion"] = str(self.revision)
            self.events.append(Event(self.revision, "DELETED", kind, old))
            self.changed.notify_all()
        self._notify("DELETED", kind, old)

    def _commit(self, kind: Kind, key: Key, obj: Obj, event: str) -> Obj:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self.objects[key] = obj
        self.events.append(Event(self.revision, event, kind, copy.deepcopy(obj)))
        self.changed.notify_all()
        return copy.deepcopy(obj)

    def _notify(self, event: str, kind: Kind, obj: Obj) -> None:
        for watcher in list(self.watchers):
            watcher(event, kind, obj)

    # -- the HTTP API -----------------------------------------------------------------------

    def authorize(self, method: str, raw_path: str, authorization: str, verb_override: str | None = None) -> None:
        bearer = authorization.removeprefix("Bearer ")
        if bearer == self.token:
            return
        user = self.service_tokens.get(bearer)
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        attributes = request_attributes(method, raw_path)
        if attributes is None:
            return
        if verb_override:
            attributes = (verb_override, *attributes[1:])
        with self.changed:
            documents = [copy.deepcopy(o) for (g, r, _, _), o in self.objects.items()
                         if g == "rbac.authorization.k8s.io"]
        if not Rbac(documents, {bearer: user}).allows(user, *attributes):
            self.refused.append((user, *attributes))
            raise ApiError(403, "Forbidden", json.loads(forbidden(user, *attributes))["message"])

    def route(self, path: str) -> tuple[Kind, str, str, str, str] | None:
        """(kind, version, namespace, name, subresource) of a resource path, None for discovery."""
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        kind = self.kind_of(group, rest[0])
        if version not in kind.versions:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
        name = rest[1] if len(rest) > 1 else ""
        return kind, version, namespace, name, (rest[2] if len(rest) > 2 else "")

    def discovery(self, path: str) -> Obj | None:
        """Legacy discovery documents (apiserver pkg/endpoints/discovery: /api APIVersions,
        /apis APIGroupList, /api/v1 and /apis/<group>/<version> APIResourceList)."""
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        if path == "/version":
            return {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if path == "/apis":
            groups: dict[str, list[str]] = {}
            for kind in self.kinds:
                if kind.group:
                    for version in kind.versions:
                        if version not in groups.setdefault(kind.group, []):
                            groups[kind.group].append(version)
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{self._preferred(g)}", "version": self._preferred(g)}}
                for g, vs in sorted(groups.items())]}
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            group, version = "", parts[1]
        elif parts[0] == "apis" and len(parts) == 3:
            group, version = parts[1], parts[2]
        elif parts[0] == "apis" and len(parts) == 2:
            return next(({"kind": "APIGroup", "apiVersion": "v1", "name": g["name"], "versions": g["versions"],
                          "preferredVersion": g["preferredVersion"]}
                         for g in self.discovery("/apis")["groups"] if g["name"] == parts[1]), None)  # type: ignore[index]
        else:
            return None
        resources = [k for k in self.kinds if k.group == group and version in k.versions]
        if not resources:
            return None
        listed = []
        for k in resources:
            listed.append({"name": k.resource, "singularName": k.kind.lower(), "namespaced": k.namespaced,
                           "kind": k.kind, "verbs": verbs})
            if k.status_subresource:
                listed.append({"name": f"{k.resource}/status", "singularName": "", "namespaced": k.namespaced,
                               "kind": k.kind, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
                "resources": listed}

    def openapi_v3(self, path: str) -> Obj | None:
        """Just enough OpenAPI v3 for Helm's validation to leave it to the server: the index of
        group-versions (client-go openapi/client.go, Paths), and for each kind a PATCH operation
        that takes the fieldValidation parameter (cli-runtime pkg/resource/
        query_param_verifier_v3.go, supportsQueryParamV3); with it, Helm validates nothing
        client-side and sends fieldValidation=Strict instead."""
        if path == "/openapi/v3":
            gvs = {(k.group, v) for k in self.kinds for v in k.versions}
            return {"paths": {(f"apis/{g}/{v}" if g else f"api/{v}"): {"serverRelativeURL": (
                f"/openapi/v3/apis/{g}/{v}" if g else f"/openapi/v3/api/{v}") + "?hash=0"} for g, v in sorted(gvs)}}
        gv = path.removeprefix("/openapi/v3/")
        group, version = (gv.split("/")[1:3] if gv.startswith("apis/") else ("", gv.split("/")[-1]))
        paths = {}
        for kind in self.kinds:
            if kind.group == group and version in kind.versions:
                scope = "/namespaces/{namespace}" if kind.namespaced else ""
                paths[f"/{gv}{scope}/{kind.resource}/{{name}}"] = {"patch": {
                    "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind.kind},
                    "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                                   {"name": "fieldManager", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "OK"}}}}
        if not paths:
            return None
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": paths,
                "components": {"schemas": {}}}

    def _preferred(self, group: str) -> str:
        # The storage version's group-version is the preferred one for the groups served here.
        return next(k.versions[-1] for k in self.kinds if k.group == group)

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """One request; answers (code, object) or (200, a generator of watch lines)."""
        parsed = urllib.parse.urlsplit(raw_path)
        path, query = parsed.path, {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        content_type = headers.get("Content-Type", "").split(";")[0].strip()
        record = Recorded(method, raw_path, content_type, headers.get("User-Agent", ""))
        self.requests.append(record)
        try:
            watching = method == "GET" and query.get("watch") in ("true", "1")
            self.authorize(method, raw_path, headers.get("Authorization", ""), "watch" if watching else None)
            if method != "GET":
                bearer = headers.get("Authorization", "").removeprefix("Bearer ")
                for gate in list(self.gates):
                    gate(method, path, self.service_tokens.get(bearer, "admin"))
            routed = self.route(path)
            if routed is None:
                found = None
                if method == "GET":
                    found = self.openapi_v3(path) if path.startswith("/openapi/v3") else self.discovery(path)
                if found is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                record.code = 200
                return 200, found
            kind, version, namespace, name, sub = routed
            if watching:
                record.code = 200
                return 200, self._watch(kind, version, namespace, query)
            code, answer = self._resource(method, kind, version, namespace, name, sub, query, content_type, body,
                                          headers.get("User-Agent", ""))
            record.code = code
            return code, answer
        except ApiError as error:
            record.code = error.code
            return error.code, error.status()

    def _resource(self, method: str, kind: Kind, version: str, namespace: str, name: str, sub: str,
                  query: dict[str, str], content_type: str, body: bytes, agent: str) -> tuple[int, Obj]:
        api_version = f"{kind.group}/{version}" if kind.group else version
        manager = query.get("fieldManager") or agent.split("/")[0] or "unknown"
        if method == "GET" and not name:
            return 200, self._list(kind, api_version, namespace, query)
        if method == "GET":
            found = self.get(kind.group, kind.resource, namespace, name)
            if found is None:
                raise not_found(kind, name)
            found["apiVersion"] = api_version
            return 200, found
        if method == "POST" and not name:
            sent = self._defaulted(kind, decode_body(body, content_type))
            return 201, self._create(kind, api_version, namespace, sent, manager)
        if method == "PUT" and name:
            return 200, self._update(kind, api_version, namespace, name,
                                     self._defaulted(kind, decode_body(body, content_type)), manager,
                                    sub)
        if method == "PATCH" and name:
            return 200, self._patch(kind, api_version, namespace, name, content_type, body, manager,
                                    query.get("force") == "true", sub)
        if method == "DELETE" and name:
            return 200, self._delete(kind, namespace, name)
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")

    def _list(self, kind: Kind, api_version: str, namespace: str, query: dict[str, str]) -> Obj:
        items = [o for o in self.list(kind.group, kind.resource, namespace or None) if self._selected(o, query)]
        for item in items:
            item["apiVersion"] = api_version
        return {"kind": f"{kind.kind}List", "apiVersion": api_version,
                "metadata": {"resourceVersion": str(self.revision)}, "items": items}

    @staticmethod
    def _selected(obj: Obj, query: dict[str, str]) -> bool:
        meta = obj.get("metadata") or {}
        if "labelSelector" in query and not label_selector(query["labelSelector"])(meta.get("labels") or {}):
            return False
        for requirement in filter(None, query.get("fieldSelector", "").split(",")):
            # apimachinery pkg/fields/selector.go: `f=v`, `f==v`, `f!=v`; every resource
            # serves metadata.name and metadata.namespace (generic registry, DefaultClusterScopedAttr).
            negate = "!=" in requirement
            field_name, value = requirement.replace("!=", "=").replace("==", "=").split("=", 1)
            actual = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace", "")}.get(field_name)
            if field_name not in ("metadata.name", "metadata.namespace"):
                raise ApiError(400, "BadRequest", f'"{field_name}" is not a known field selector: only "metadata.name", '
                               '"metadata.namespace"')
            if (actual == value) == negate:
                return False
        return True

    def _defaulted(self, kind: Kind, obj: Obj) -> Obj:
        """obj with its CRD's defaults, as the API server decodes a write (see the module docstring)."""
        if self.defaulting and kind.custom:
            from tests.support.handbuilt import apply_defaults

            apply_defaults(obj, kind.schema)
        return obj

    def _check_namespace(self, kind: Kind, namespace: str) -> None:
        if kind.namespaced and (namespace == "" or ("", "namespaces", "", namespace) not in self.objects):
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})

    def _create(self, kind: Kind, api_version: str, namespace: str, sent: Obj, manager: str) -> Obj:
        meta = sent.setdefault("metadata", {})
        name = meta.get("name", "")
        with self.changed:
            self._check_namespace(kind, namespace)
            key = (kind.group, kind.resource, namespace, name)
            if key in self.objects:
                # registry/store.go Create: NewAlreadyExists.
                raise ApiError(409, "AlreadyExists", f'{_qualified(kind)} "{name}" already exists',
                               {"name": name, "group": kind.group, "kind": kind.resource})
            if kind.namespaced:
                meta["namespace"] = namespace
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            sent["apiVersion"] = api_version
            meta["managedFields"] = ownership_after_update(None, sent, sent, kind, manager)
            if kind.status_subresource:
                sent.pop("status", None)
            stored = self._commit(kind, key, sent, "ADDED")
        self._notify("ADDED", kind, stored)
        return stored

    def _replace(self, kind: Kind, key: Key, old: Obj, new: Obj, sub: str) -> Obj:
        """Keeps what an update may not change: identity, the status of a write to the main
        resource (and the spec of a write to status), and bumps the generation on a change."""
        meta = new.setdefault("metadata", {})
        for kept in ("uid", "creationTimestamp", "name"):
            meta[kept] = old["metadata"].get(kept)
        if kind.namespaced:
            meta["namespace"] = old["metadata"].get("namespace")
        if sub == "status":
            new = {**copy.deepcopy(old), "status": new.get("status"),
                   "metadata": {**old["metadata"], "managedFields": meta.get("managedFields")}}
        elif kind.status_subresource:
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
        # strategy.go compares old and new decoded into one version, so the version a client
        # wrote through (kubectl takes discovery's preferred one) is no change of content
        content = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status", "apiVersion")}  # noqa: E731
        generation = int(old["metadata"].get("generation", 1))
        new["metadata"]["generation"] = generation + 1 if content(new) != content(old) else generation
        return new

    def _update(self, kind: Kind, api_version: str, namespace: str, name: str, sent: Obj, manager: str, sub: str) -> Obj:
        with self.changed:
            key = (kind.group, kind.resource, namespace, name)
            old = self.objects.get(key)
            if old is None:
                raise not_found(kind, name)
            wanted = (sent.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                # registry/store.go, Update: a stale resourceVersion is a conflict.
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(kind)} "{name}": the object '
                               "has been modified; please apply your changes to the latest version and try again",
                               {"name": name, "group": kind.group, "kind": kind.resource})
            sent["apiVersion"] = api_version
            new = self._replace(kind, key, old, copy.deepcopy(sent), sub)
            new["metadata"]["managedFields"] = ownership_after_update(old, sent, new, kind, manager)
            stored = self._commit(kind, key, new, "MODIFIED")
        self._notify("MODIFIED", kind, stored)
        return stored

    def _patch(self, kind: Kind, api_version: str, namespace: str, name: str, content_type: str, body: bytes,
               manager: str, force: bool, sub: str) -> Obj:
        with self.changed:
            key = (kind.group, kind.resource, namespace, name)
            old = self.objects.get(key)
            if content_type == "application/apply-patch+yaml":
                applied = yaml.safe_load(body)
                if old is None:
                    self._check_namespace(kind, namespace)
                merged, entries = apply(copy.deepcopy(old) if old else None, applied, kind, manager, force)
                self._defaulted(kind, merged)
                merged["apiVersion"] = api_version
                if old is None:
                    meta = merged.setdefault("metadata", {})
                    meta.update(name=name, uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
                    if kind.namespaced:
                        meta["namespace"] = namespace
                    if kind.status_subresource:
                        merged.pop("status", None)
                    new = merged
                else:
                    new = self._replace(kind, key, old, merged, sub)
                new["metadata"]["managedFields"] = entries
                stored = self._commit(kind, key, new, "MODIFIED" if old else "ADDED")
                event = "MODIFIED" if old else "ADDED"
            else:
                if old is None:
                    raise not_found(kind, name)
                patch = json.loads(body)
                if content_type == "application/merge-patch+json":
                    patched = merge_patch(old, patch)
                elif content_type == "application/strategic-merge-patch+json":
                    if kind.custom:
                        # handlers/patch.go: custom resources take no strategic merge patch.
                        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                       "accepted media types include: application/json-patch+json, "
                                       "application/merge-patch+json, application/apply-patch+yaml")
                    patched = strategic_merge(old, patch, kind)
                else:
                    raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {content_type}")
                self._defaulted(kind, patched)
                patched["apiVersion"] = api_version
                sent = patched if "managedFields" in json.dumps(patch.get("metadata") or {}) else {
                    **patched, "metadata": {k: v for k, v in patched["metadata"].items() if k != "managedFields"}}
                new = self._replace(kind, key, old, patched, sub)
                new["metadata"]["managedFields"] = ownership_after_update(old, sent, new, kind, manager)
                stored = self._commit(kind, key, new, "MODIFIED")
                event = "MODIFIED"
        self._notify(event, kind, stored)
        return stored

    def _delete(self, kind: Kind, namespace: str, name: str) -> Obj:
        found = self.get(kind.group, kind.resource, namespace, name)
        if found is None:
            raise not_found(kind, name)
        if kind.kind == "BFDProfile":
            self._bfd_profile_in_use(namespace, name)
        self.remove_object(kind, namespace, name)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": kind.group, "kind": kind.resource, "uid": found["metadata"]["uid"]}}

    def _bfd_profile_in_use(self, namespace: str, name: str) -> None:
        """metallb internal/k8s/webhooks/webhookv1beta1/bfdprofile_webhook.go, validateBFDDelete
        (denied, 403, as apiserver pkg/admission/plugin/webhook/errors/statuserror.go words it):
        a profile some BGPPeer's spec.bfdProfile names may not be deleted."""
        for peer in self.list("metallb.io", "bgppeers", namespace):
            if (peer.get("spec") or {}).get("bfdProfile") == name:
                raise ApiError(403, "Forbidden", f'admission webhook "bfdprofilevalidationwebhook.metallb.io" denied the '
                               f'request: failed to delete BFDProfile {name}, used by BGPPeer {peer["metadata"]["name"]}')

    def _watch(self, kind: Kind, version: str, namespace: str, query: dict[str, str]):  # type: ignore[no-untyped-def]
        """Lines of watch events (handlers/watch.go), until timeoutSeconds or the server stops."""
        api_version = f"{kind.group}/{version}" if kind.group else version
        timeout = float(query.get("timeoutSeconds") or 1800)
        start = query.get("resourceVersion") or "0"
        initial = start == "0" or query.get("sendInitialEvents") == "true"

        def matches(obj: Obj) -> bool:
            return (not namespace or obj["metadata"].get("namespace", "") == namespace) and self._selected(obj, query)

        def lines():  # type: ignore[no-untyped-def]
            deadline = threading.Event()
            timer = threading.Timer(timeout, deadline.set)
            timer.daemon = True
            timer.start()
            with self.changed:
                seen = self.revision if initial else int(start)
                current = [o for o in self.list(kind.group, kind.resource, namespace or None) if matches(o)]
            for obj in current if initial else []:
                yield {"type": "ADDED", "object": {**obj, "apiVersion": api_version}}
            if query.get("sendInitialEvents") == "true":
                # apiserver storage/cacher: the end of the initial events is a bookmark so annotated.
                yield {"type": "BOOKMARK", "object": {"kind": kind.kind, "apiVersion": api_version, "metadata": {
                    "resourceVersion": str(seen), "annotations": {"k8s.io/initial-events-end": "true"}}}}
            while not deadline.is_set() and not self.stopped.is_set():
                with self.changed:
                    fresh = [e for e in self.events if e.revision > seen and e.kind is kind and matches(e.obj)]
                    if not fresh:
                        self.changed.wait(0.5)
                        continue
                    seen = fresh[-1].revision
                for event in fresh:
                    yield {"type": event.type, "object": {**copy.deepcopy(event.obj), "apiVersion": api_version}}
            timer.cancel()

        return lines()



class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        code, answer = self.server.api.handle(method, self.path, dict(self.headers.items()), body)
        try:
            if isinstance(answer, dict):
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in answer:
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


class _Server(TlsServer):
    api: KubeApi

    def __init__(self, api: KubeApi, tls: Tls) -> None:
        super().__init__(api, tls, _Handler)


class ServedApi:
    """A KubeApi served over HTTPS on 127.0.0.1 until stop()."""

    def __init__(self, api: KubeApi, tls: Tls) -> None:
        self.api, self.tls = api, tls
        self._server = _Server(api, tls)
        self.port = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.api.stopped.set()
        with self.api.changed:
            self.api.changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
