"""Runs the real chart-testing `ct` (built by scripts/bootstrap.sh from rig/go/chart-testing)
as .github/workflows/ci.yaml does. ct calls `helm`, `yamllint` and `yamale` from PATH
(chart-testing pkg/tool/*.go): a folder with `helm` pointing at the Helm under test and
the venv's yamllint and yamale come first."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import helm, upstream

CT = helm.TOOLS / "ct"


def binary() -> Path:
    if not CT.is_file():
        raise FileNotFoundError(f"{CT} is missing: run scripts/bootstrap.sh rig")
    return CT


def lint_command(chart_schema: Path) -> list[str]:
    """The workflow's ct lint, with chart-testing's Chart.yaml schema at its pinned commit."""
    return [str(binary()), "lint", "--config", "ci/ct.yaml", "--chart-yaml-schema", str(chart_schema)]


def run(helm_version: str, args: list[str], cwd: Path = helm.CHART) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as bindir:
        os.symlink(helm.helm_binary(helm_version), Path(bindir) / "helm")
        path = os.pathsep.join([bindir, str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False,
                              env={**os.environ, "PATH": path, "HELM_CACHE_HOME": "/tmp/helm-cache",
                                   "HELM_CONFIG_HOME": "/tmp/helm-config"})


def lint(helm_version: str, chart: Path = helm.CHART) -> subprocess.CompletedProcess[str]:
    return run(helm_version, lint_command(upstream.locate("ct/chart_schema.yaml")) + ["--charts", "."], cwd=chart)
