"""Fixtures for the preflight package: the real API server behind the proxy (`real_api`,
tests/support/realapi.py, and `serve`, which loads a site's objects into it), plans
rendered by the chart, and the real entry point run as a subprocess on the standard library
alone."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm, nmstatecheck, realapi
from tests.support.nmstatehandler import NmstateHandler
from tests.support.realapi import RealApi

HOOKS = helm.CHART / "hooks"


@pytest.fixture(scope="session")
def hooks_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealApi]:
    """A control plane of its own per pytest process (the hook tests load and delete Nodes and
    cluster-scoped objects, which other tests' shared `real_cluster` must not see)."""
    api = realapi.start(tmp_path_factory.mktemp("hooks-rig"))
    yield api
    api.stop()
    api.cluster.stop()


@pytest.fixture
def real_api(hooks_api: RealApi) -> Iterator[RealApi]:
    """The session's real API server, emptied of what the last test and its hooks wrote."""
    hooks_api.reset()
    yield hooks_api
    hooks_api.reset()


@pytest.fixture
def serve(real_api: RealApi) -> Callable[[dict[str, Any]], RealApi]:
    """The real server holding exactly a site's objects, from a tests/support/clusters.py
    builder (what an earlier `serve` wrote goes)."""
    def load(routes: dict[str, Any]) -> RealApi:
        real_api.reset()
        real_api.load(routes)
        return real_api

    return load


@pytest.fixture
def nmstate(real_api: RealApi) -> Iterator[NmstateHandler]:
    """kubernetes-nmstate's handler on the test's real API server (tests/support/nmstatehandler.py):
    every state passes the real nmstate first (rig/rust/nmstate-check)."""
    handler = NmstateHandler(real_api.cluster.client(), check_desired_state=nmstatecheck.refusal)
    yield handler
    handler.stop()
    handler.settle_work()


def render_plan(values_files: list[Path], *, release: str = helm.RELEASE, namespace: str = helm.NAMESPACE,
                extra: tuple[str, ...] = ()) -> str:
    """plan.json exactly as the chart puts it in the hooks ConfigMap."""
    result = helm.template("helm3", values_files, release=release, namespace=namespace,
                           extra=("--show-only", "templates/hooks/configmap.yaml", *extra))
    assert result.returncode == 0, result.stderr
    return str(yaml.safe_load(result.stdout)["data"]["plan.json"])


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`python3 -S -m symrouting ...` against the real API server: no site-packages, so the
    package proves it needs the standard library only."""
    token_file = tmp_path / "token"

    def run(*args: str, api: RealApi | None = None, plan: str | None = None, stdin: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-S", "-m", "symrouting", *args]
        if plan is not None:
            plan_file = tmp_path / "plan.json"
            plan_file.write_text(plan)
            command.append(f"--plan={plan_file}")
        if api is not None:
            token_file.write_text(api.token + "\n")
            command += [f"--server={api.url}", f"--token-file={token_file}", f"--ca-file={api.ca_file}"]
        return subprocess.run(command, capture_output=True, text=True, input=stdin, timeout=timeout, check=False,
                              env={"PATH": os.environ["PATH"], "PYTHONPATH": str(HOOKS), **(env or {})})

    return run
