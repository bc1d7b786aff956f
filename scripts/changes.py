#!/usr/bin/env python3
"""Chart.yaml's `artifacthub.io/changes` annotation, generated from CHANGELOG.md.

The changelog section of Chart.yaml's version (`## [<version>] ...`) becomes the annotation:
each `### <Kind>` heading of Keep a Changelog (Added, Changed, Deprecated, Removed, Fixed,
Security) is one of the six kinds Artifact Hub accepts (artifacthub/hub
internal/pkg/metadata.go, validChangeKinds; docs/helm_annotations.md), and each bullet,
its wrapped lines joined, is one change's description.

Usage: changes.py [--write | --check]   (default: print the annotation)
  --write  replace the annotation in Chart.yaml
  --check  exit 1 when Chart.yaml's annotation differs from CHANGELOG.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"Added": "added", "Changed": "changed", "Deprecated": "deprecated",
         "Removed": "removed", "Fixed": "fixed", "Security": "security"}
_VERSION = re.compile(r"^## \[(?P<version>[^\]]+)\]")
_KEY = "  artifacthub.io/changes: |"


class ChangelogError(Exception):
    """CHANGELOG.md cannot give the annotation; the message says what to fix."""


def changes(changelog: str, version: str) -> list[dict[str, str]]:
    """The entries of the section `## [version]`, in the changelog's order."""
    entries: list[dict[str, str]] = []
    in_section, kind = False, ""
    for number, line in enumerate(changelog.splitlines(), 1):
        heading = _VERSION.match(line)
        if heading:
            in_section = heading["version"] == version
            continue
        if not in_section:
            continue
        if line.startswith("### "):
            name = line[4:].strip()
            if name not in KINDS:
                raise ChangelogError(f"CHANGELOG.md:{number}: '### {name}' is no Keep a Changelog kind: "
                                     f"use one of {', '.join(KINDS)}")
            kind = KINDS[name]
        elif line.startswith("- "):
            if not kind:
                raise ChangelogError(f"CHANGELOG.md:{number}: a change before any '### <Kind>' heading")
            entries.append({"kind": kind, "description": line[2:].strip()})
        elif line.startswith("  ") and line.strip() and entries:
            entries[-1]["description"] += " " + line.strip()
    if not entries:
        raise ChangelogError(f"CHANGELOG.md has no changes under '## [{version}]': add that section "
                             "(rename '## [Unreleased]' when releasing) with its '### <Kind>' lists")
    return entries


def annotation(entries: list[dict[str, str]]) -> str:
    """The annotation's YAML text, as Artifact Hub parses it (a list of kind/description)."""
    return yaml.safe_dump(entries, sort_keys=False, width=10_000, allow_unicode=True)


def chart_with(chart: str, text: str) -> str:
    """Chart.yaml's text with the annotation's block replaced, everything else as it was."""
    lines = chart.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == _KEY), None)
    if start is None:
        raise ChangelogError(f"Chart.yaml has no '{_KEY.strip()}' block under annotations")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    block = "".join(f"    {line}\n" for line in text.splitlines())
    return "".join(lines[: start + 1]) + block + "".join(lines[end:])


def main(argv: list[str]) -> int:
    chart_path = ROOT / "Chart.yaml"
    chart = chart_path.read_text()
    version = yaml.safe_load(chart)["version"]
    try:
        fresh = chart_with(chart, annotation(changes((ROOT / "CHANGELOG.md").read_text(), version)))
    except ChangelogError as error:
        print(f"changes.py: {error}", file=sys.stderr)
        return 2
    if "--write" in argv:
        chart_path.write_text(fresh)
    elif "--check" in argv:
        if fresh != chart:
            print("Chart.yaml's artifacthub.io/changes differs from CHANGELOG.md: run scripts/changes.py --write",
                  file=sys.stderr)
            return 1
    else:
        print(yaml.safe_load(fresh)["annotations"]["artifacthub.io/changes"], end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
