#!/usr/bin/env python3
"""The README's table of the hooks' rights, read from the chart's render of the seed site
(ci/seed-values.yaml, release tenant-a in test): once as on a cluster that serves
ValidatingAdmissionPolicy (the release's admission policy confines the writes), once as on
one that does not (rights by name).

Usage: rights_table.py [--write | --check] [--helm PATH]   (default: print the table)
  --write  replace the table between the markers in README.md
  --check  exit 1 when README.md's table differs from what the chart renders
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- rights-table:start -->", "<!-- rights-table:end -->"
ADMISSION_APIS = ["--api-versions", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy",
                  "--api-versions", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding"]
ROLES = ("preflight", "cleanup", "rollback", "wait", "verify")


def render(helm: str, extra: list[str]) -> list[dict[str, Any]]:
    manifest = subprocess.run([helm, "template", "tenant-a", str(ROOT), "--namespace", "test", "--values",
                               str(ROOT / "ci" / "seed-values.yaml"), *extra],
                              capture_output=True, text=True, check=True).stdout
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def rights(docs: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """(role, where) -> "verbs resource (names)" of each rule; role is the name's last part
    (preflight, cleanup, rollback: the cleanup's pre-rollback extra, verify)."""
    found: dict[tuple[str, str], list[str]] = {}
    for doc in docs:
        if doc["kind"] not in ("Role", "ClusterRole"):
            continue
        role = doc["metadata"]["name"].rsplit("-", 1)[-1]
        where = doc["metadata"].get("namespace") or "cluster"
        for rule in doc.get("rules") or []:
            names = rule.get("resourceNames")
            text = f"{', '.join(rule['verbs'])} {', '.join(rule['resources'])}"
            found.setdefault((role, where), []).append(text + (f" (only {', '.join(names)})" if names else ""))
    return found


def render_table(helm: str) -> str:
    with_policy, by_name = rights(render(helm, ADMISSION_APIS)), rights(render(helm, []))
    keys = sorted(set(with_policy) | set(by_name), key=lambda k: (ROLES.index(k[0]), k[1] != "cluster", k[1]))
    lines = ["| Hook account | Where | With the admission policy | Without it (by name) |", "| --- | --- | --- | --- |"]
    for role, where in keys:
        account = "cleanup, pre-rollback only" if role == "rollback" else role
        cells = ["; ".join(found.get((role, where), [])) or "nothing" for found in (with_policy, by_name)]
        lines.append(f"| {account} | {where} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str, table: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv: list[str]) -> int:
    helm = argv[argv.index("--helm") + 1] if "--helm" in argv else (shutil.which("helm") or str(ROOT / ".tools" / "bin" / "helm3"))
    table = render_table(helm)
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    if "--write" in argv:
        readme_path.write_text(readme_with_table(readme, table))
    elif "--check" in argv:
        if readme_with_table(readme, table) != readme:
            print("README.md's rights table is stale: run scripts/rights_table.py --write", file=sys.stderr)
            return 1
    else:
        print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
