"""Renders templates/NOTES.txt, which `helm template` never prints.

The chart is copied and NOTES.txt is wrapped into a named template that a one-line manifest
includes as a string, so Helm renders it with the same values and context as an install.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.support import helm


def render_notes(version: str, values_file: Path, workdir: Path) -> str:
    chart = workdir / "chart"
    shutil.copytree(helm.CHART, chart, ignore=shutil.ignore_patterns(".tools", ".git", "tests", ".cache"))
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "NOTES.txt").unlink()
    (chart / "templates" / "notes-preview.yaml").write_text(
        '{{- define "notes-preview" }}' + notes + "{{- end }}\n"
        'notes: {{ include "notes-preview" . | toJson }}\n'
    )
    result = helm.template(
        version, [values_file], chart=chart, extra=["--show-only", "templates/notes-preview.yaml"]
    )
    assert result.returncode == 0, result.stderr
    return str(yaml.safe_load(result.stdout)["notes"])
