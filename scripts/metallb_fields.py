#!/usr/bin/env python3
"""The MetalLB CRD fields that only some supported MetalLB versions have, and the version
that added each, derived from the CRDs of each version (config/crd/bases of the
go.universe.tf/metallb module, fetched with `go mod download`). The chart keeps the table in
templates/validate/_versions.tpl and refuses a field when metallb.version is older.

A field new in the first supported release of a minor (the proxy serves no v0.16.0) is taken
as added in that minor ("0.16"); a field new in a later patch release names that release.

Usage: metallb_fields.py [--write | --check]   (default: print the table as JSON)
  --write  replace the table in templates/validate/_versions.tpl
  --check  exit 1 when the template's table differs from what the CRDs say
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "validate" / "_versions.tpl"
MODULE = "go.universe.tf/metallb"
# The MetalLB releases the chart supports (metallb.version), oldest first.
SUPPORTED = ("v0.15.2", "v0.15.3", "v0.16.1", "v0.16.2")
# The kinds whose spec fields the values set, at the API version the chart renders.
KINDS = {"BGPPeer": "v1beta2", "BGPAdvertisement": "v1beta1", "IPAddressPool": "v1beta1", "BFDProfile": "v1beta1"}
START, END = "{{- /* metallb_fields.py: start */}}", "{{- /* metallb_fields.py: end */}}"


def module_dir(version: str) -> Path:
    """The module's source in Go's module cache, downloaded when missing."""
    out = subprocess.run(["go", "mod", "download", "-json", f"{MODULE}@{version}"],
                         capture_output=True, text=True, check=False)
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise SystemExit(f"go mod download {MODULE}@{version} failed: {info.get('Error') or out.stderr}")
    return Path(info["Dir"])


def spec_fields(crds: Path) -> dict[str, set[str]]:
    """The top-level spec fields of each kind of KINDS, from a version's CRDs."""
    fields: dict[str, set[str]] = {}
    for path in sorted((crds / "config" / "crd" / "bases").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        kind = crd["spec"]["names"]["kind"]
        for served in crd["spec"]["versions"]:
            if KINDS.get(kind) == served["name"]:
                spec = served["schema"]["openAPIV3Schema"]["properties"]["spec"]
                fields[kind] = set(spec.get("properties") or {})
    return fields


def derive(by_version: dict[str, dict[str, set[str]]]) -> dict[str, dict[str, str]]:
    """{kind: {field: version that added it}} for the fields some versions lack."""
    versions = list(by_version)
    table: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        every = set().union(*(by_version[v].get(kind, set()) for v in versions))
        for field in sorted(every):
            having = [field in by_version[v].get(kind, set()) for v in versions]
            if all(having):
                continue
            first = having.index(True)
            if not all(having[first:]):
                raise SystemExit(f"{kind}.spec.{field} comes and goes across {versions}: not a field added once")
            minor = versions[first].lstrip("v").rsplit(".", 1)[0]
            new_minor = first == 0 or not versions[first - 1].lstrip("v").startswith(minor + ".")
            table.setdefault(kind, {})[field] = minor if new_minor else versions[first].lstrip("v")
    return table


def from_crds() -> dict[str, dict[str, str]]:
    return derive({version: spec_fields(module_dir(version)) for version in SUPPORTED})


def in_template() -> dict[str, dict[str, str]]:
    text = TEMPLATE.read_text()
    return json.loads(text.split(START, 1)[1].split(END, 1)[0])


def main(argv: list[str]) -> int:
    table = from_crds()
    if "--check" in argv:
        if in_template() != table:
            print(f"{TEMPLATE.name} differs from the CRDs: {json.dumps(table, sort_keys=True)}", file=sys.stderr)
            return 1
        return 0
    if "--write" in argv:
        head, rest = TEMPLATE.read_text().split(START, 1)
        TEMPLATE.write_text(f"{head}{START}\n{json.dumps(table, sort_keys=True)}\n{END}{rest.split(END, 1)[1]}")
        return 0
    print(json.dumps(table, sort_keys=True, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
