"""Strict validation of rendered objects, as kubeconform -strict does it.

Custom kinds: the CRD's openAPIV3Schema of the served version the object names, turned into
JSON Schema the way kubeconform's openapi2jsonschema does: objects with declared properties
reject unknown fields unless x-kubernetes-preserve-unknown-fields says otherwise,
x-kubernetes-int-or-string accepts an integer or a string, nullable admits null.
Custom kinds also get their CRD's CEL rules (x-kubernetes-validations), in kubecel.
Core kinds: kubernetes-validate's strict schemas for a given Kubernetes version.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import kubernetes_validate
from jsonschema import Draft7Validator

from tests.support import kubecel, upstream

# The Kubernetes minors the chart supports, as in Chart.yaml's kubeVersion and the README.
OLDEST_KUBERNETES = "1.29.0"
NEWEST_KUBERNETES = "1.37.0"

_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def strict_schema(node: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAPI v3 schema node that rejects unknown fields."""
    if node.get("x-kubernetes-int-or-string"):
        return {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    out = {key: value for key, value in node.items() if not key.startswith("x-kubernetes-") and key != "nullable"}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in node:
        out["properties"] = {name: strict_schema(child) for name, child in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in node:
            out["additionalProperties"] = False
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(node["additionalProperties"])
    if isinstance(node.get("items"), dict):
        out["items"] = strict_schema(node["items"])
    for key in _SUBSCHEMA_LISTS:
        if key in node:
            out[key] = [strict_schema(child) for child in node[key]]
    return out


@cache
def _crd_index() -> dict[tuple[str, str], dict[str, Any]]:
    """(group, kind) -> CRD, for every pinned CRD."""
    return {(crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd for crd in upstream.crds()}


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The openAPIV3Schema of the CRD version an object names."""
    group, _, version = api_version.rpartition("/")
    crd = _crd_index().get((group, kind))
    if crd is None:
        raise LookupError(f"no CRD for {kind} in group {group!r}: nothing to validate it against")
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    if version not in served:
        raise LookupError(f"{kind}: version {version} is not served by its CRD (served: {sorted(served)})")
    return dict(served[version]["schema"]["openAPIV3Schema"])


@cache
def crd_validator(api_version: str, kind: str) -> Draft7Validator:
    return Draft7Validator(strict_schema(crd_schema(api_version, kind)))


def is_core(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group == "" or group.endswith(".k8s.io") or "." not in group


def validate(obj: dict[str, Any], kubernetes_version: str) -> list[str]:
    """Every problem with the object, as text; empty when it is valid."""
    if is_core(obj["apiVersion"]):
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            return [f"{error.message} at {'/'.join(map(str, error.path))}"]
        return []
    validator = crd_validator(obj["apiVersion"], obj["kind"])
    problems = [f"{error.message} at /{'/'.join(map(str, error.path))}" for error in validator.iter_errors(obj)]
    return problems + kubecel.validate(crd_schema(obj["apiVersion"], obj["kind"]), obj)
