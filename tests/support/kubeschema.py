"""Strict validation of rendered objects by the real kubeconform -strict (v0.8.0, built from
rig/go/kubeconform), through scripts/kubeconform.py, the same command .github/workflows/ci.yaml
runs: core kinds against Kubernetes' own OpenAPI for the oldest and newest supported
version, custom kinds against the pinned CRDs. kubeconform does not evaluate the CRDs' CEL
rules (x-kubernetes-validations): kubecel does, here.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from tests.support import kubecel, scripts, upstream

kubeconform = scripts.load("kubeconform")

# The Kubernetes versions the chart supports, oldest and newest, as in Chart.yaml's kubeVersion
# and the README.
OLDEST_KUBERNETES, NEWEST_KUBERNETES = kubeconform.KUBERNETES_VERSIONS


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


def is_core(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group == "" or group.endswith(".k8s.io") or "." not in group


def kubeconform_problems(objects: list[dict[str, Any]], kubernetes_version: str) -> list[list[str]]:
    """kubeconform's findings for each object, in order: one file per object, one run."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, obj in enumerate(objects):
            paths.append(Path(folder) / f"{index}.yaml")
            # JSON, which YAML reads as written: PyYAML leaves `y` bare, which Go's YAML 1.1 reads as true
            paths[-1].write_text(json.dumps(obj))
        result = subprocess.run(
            [*kubeconform.command(kubernetes_version), "-output", "json", "-verbose", *map(str, paths)],
            capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1) or not result.stdout:
        raise RuntimeError(f"kubeconform failed: {result.stderr}")
    found: dict[str, list[str]] = {}
    for resource in json.loads(result.stdout)["resources"]:
        found[resource["filename"]] = [resource["msg"]] if resource["status"] != "statusValid" else []
    assert len(found) == len(objects), result.stdout
    return [found[str(path)] for path in paths]


def validate_all(objects: list[dict[str, Any]], kubernetes_version: str) -> list[list[str]]:
    """Every problem with each object, as text: kubeconform's, then the CEL rules'."""
    found = kubeconform_problems(objects, kubernetes_version)
    for obj, problems in zip(objects, found):
        if not problems and not is_core(obj["apiVersion"]):
            problems += kubecel.validate(crd_schema(obj["apiVersion"], obj["kind"]), obj)
    return found


def validate(obj: dict[str, Any], kubernetes_version: str) -> list[str]:
    """Every problem with the object, as text; empty when it is valid."""
    return validate_all([obj], kubernetes_version)[0]
