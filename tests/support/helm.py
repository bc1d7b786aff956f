"""Runs Helm the way a user does and hands back what it printed.

Both Helm majors are tested. The binaries come from scripts/bootstrap.sh (.tools/bin/helm3,
.tools/bin/helm4); HELM3_BIN / HELM4_BIN point elsewhere.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

CHART = Path(__file__).resolve().parents[2]
TOOLS = CHART / ".tools" / "bin"
HELM_VERSIONS = ("helm3", "helm4")
# What `helm template` must be told to render the hooks' admission policy
# (symmetric-routing.hookAdmission); Helm reads it from a cluster's discovery by itself.
ADMISSION_POLICY_APIS = ("--api-versions", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy",
                         "--api-versions", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding")
RELEASE = "tenant-a"
NAMESPACE = "test"
# Go's garbage collector runs a fifth as often in the tests' Helm runs: an install of the
# seed spends about 12 % of Helm's CPU in it with the default (100), and a run lives a
# second or two, so the larger heap is gone before it matters. Helm behaves the same.
GO_GC = {"GOGC": "400"}


def helm_binary(version: str) -> Path:
    return Path(os.environ.get(f"{version.upper()}_BIN", TOOLS / version))


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def documents(self) -> list[dict[str, Any]]:
        # libyaml's loader where PyYAML has it: the hooks ConfigMap alone is 100 KB, which the
        # pure-Python one reads slowly.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return [doc for doc in yaml.load_all(self.stdout, Loader=loader) if doc]


def run(version: str, *args: str, chart: Path = CHART, env: dict[str, str] | None = None) -> Result:
    proc = subprocess.run(
        [str(helm_binary(version)), *args],
        cwd=chart if chart.is_dir() else chart.parent,
        capture_output=True,
        text=True,
        env={**os.environ, **GO_GC, "HELM_CACHE_HOME": "/tmp/helm-cache", "HELM_CONFIG_HOME": "/tmp/helm-config",
             **(env or {})},
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def template(
    version: str,
    values_files: Iterable[Path] = (),
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    extra: Iterable[str] = (),
    chart: Path = CHART,
    env: dict[str, str] | None = None,
) -> Result:
    args = ["template", release, str(chart), "--namespace", namespace]
    for path in values_files:
        args += ["--values", str(path)]
    return run(version, *args, *extra, chart=chart, env=env)


@functools.cache
def render_site(site: Path) -> Result:
    """`helm template` of a ci/ site under Helm 3 as the test release, once per test process:
    many tests read the same sites. Its documents are parsed afresh on each access, so a test
    may change them."""
    return template("helm3", [site])


def site_files() -> list[Path]:
    return sorted((CHART / "ci").glob("*-values.yaml"))


def site_name(path: Path) -> str:
    return path.name.removesuffix("-values.yaml")

