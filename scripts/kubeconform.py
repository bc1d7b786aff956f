#!/usr/bin/env python3
"""Runs the real kubeconform (rig/go/kubeconform) offline, with schemas made here.

kubeconform downloads the core kinds' schemas from GitHub, which we cannot. They are made
from Kubernetes' own OpenAPI v3 documents (api/openapi-spec/v3 of the k8s.io/kubernetes
module at the versions below, the documents kube-apiserver serves at /openapi/v3), one file
per kind named as kubeconform looks them up (kubeconform pkg/registry/registry.go,
schemaPath), each object made strict as kubeconform's -strict schemas are: no property the
schema does not declare, unless it preserves unknown fields. The custom kinds' schemas are
made from the pinned CRDs by kubeconform's own scripts/openapi2jsonschema.py, from the
pinned module, as the upstream README shows. Everything goes to .cache/kubeconform/.

Usage: kubeconform.py KUBERNETES_VERSION [KUBECONFORM ARGS ...]
  e.g. helm template . -f ci/seed-values.yaml | scripts/kubeconform.py 1.29.15 -summary -
       kubeconform.py --versions   (the versions it has schemas for)
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import upstream  # noqa: E402  (the pinned CRDs, wherever they lie)

KUBECONFORM = ROOT / ".tools" / "bin" / "kubeconform"
RIG = ROOT / "rig" / "go" / "kubeconform"
CACHE = ROOT / ".cache" / "kubeconform"
# The oldest and newest Kubernetes the chart supports (Chart.yaml's kubeVersion, README).
KUBERNETES_VERSIONS = ("1.29.15", "1.37.2")


def go_module_dir(module: str, cwd: Path = RIG) -> Path:
    """The source of a module, downloaded through the Go module proxy (checksum-verified)."""
    out = subprocess.run(["go", "mod", "download", "-json", module], cwd=cwd, check=True,
                         capture_output=True, text=True).stdout
    return Path(json.loads(out)["Dir"])


def strict(node: Any) -> Any:
    """A copy of an OpenAPI schema in which every object with declared properties rejects
    the others, unless x-kubernetes-preserve-unknown-fields keeps them."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def kind_file(group: str, version: str, kind: str) -> str:
    """kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json (pkg/registry/registry.go)."""
    suffix = f"-{group.split('.')[0].lower()}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix}.json"


def write_core(kubernetes_version: str) -> None:
    target = CACHE / f"v{kubernetes_version}-standalone-strict"
    if (target / ".done").exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    spec = go_module_dir(f"k8s.io/kubernetes@v{kubernetes_version}") / "api" / "openapi-spec" / "v3"
    # one document per group version: api__v1_openapi.json, apis__batch__v1_openapi.json
    for document in sorted(spec.glob("api*__v*_openapi.json")):
        *_, group, version = ["", *document.name.removesuffix("_openapi.json").split("__")]
        group = "" if group == "api" else group
        schemas = json.loads(document.read_text())["components"]["schemas"]
        (target / document.name).write_text(json.dumps({"components": {"schemas": strict(schemas)}}))
        for name, schema in schemas.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                if (gvk["group"], gvk["version"]) != (group, version):
                    continue  # a shared type (DeleteOptions, WatchEvent) names every group
                out = {"$ref": f"{document.name}#/components/schemas/{name}"}
                (target / kind_file(gvk["group"], gvk["version"], gvk["kind"])).write_text(json.dumps(out))
    (target / ".done").write_text("")


def write_crds() -> None:
    target = CACHE / "crds"
    crds = [upstream.locate(pin["local"]) for pin in upstream.pins() if pin["local"].startswith("crds/")]
    stamp = "\n".join(f"{path} {upstream.git_blob_id(path)}" for path in crds)
    if (target / ".done").exists() and (target / ".done").read_text() == stamp:
        return
    target.mkdir(parents=True, exist_ok=True)
    script = go_module_dir("github.com/yannh/kubeconform") / "scripts" / "openapi2jsonschema.py"
    subprocess.run([sys.executable, str(script), *map(str, crds)], cwd=target, check=True, capture_output=True,
                   env={**os.environ, "FILENAME_FORMAT": "{kind}_{version}"})
    (target / ".done").write_text(stamp)


def command(kubernetes_version: str) -> list[str]:
    """kubeconform -strict against these schemas; fails on a kind it has no schema for."""
    if not KUBECONFORM.is_file():
        raise FileNotFoundError(f"{KUBECONFORM} is missing: run scripts/bootstrap.sh rig")
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:  # parallel test workers make them once
        fcntl.flock(lock, fcntl.LOCK_EX)
        write_core(kubernetes_version)
        write_crds()
    core = CACHE / "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}" / \
        "{{ .ResourceKind }}{{ .KindSuffix }}.json"
    crds = CACHE / "crds" / "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    return [str(KUBECONFORM), "-strict", "-kubernetes-version", kubernetes_version,
            "-schema-location", str(core), "-schema-location", str(crds)]


def main(argv: list[str]) -> int:
    if argv[1:] == ["--versions"]:
        print(" ".join(KUBERNETES_VERSIONS))
        return 0
    if len(argv) < 2 or argv[1] not in KUBERNETES_VERSIONS:
        print(f"usage: {argv[0]} {{{'|'.join(KUBERNETES_VERSIONS)}}} [kubeconform args ...]", file=sys.stderr)
        return 2
    try:
        kubeconform = command(argv[1])
    except FileNotFoundError as missing:
        print(f"kubeconform.py: {missing}", file=sys.stderr)
        return 1
    return subprocess.run(kubeconform + argv[2:], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
