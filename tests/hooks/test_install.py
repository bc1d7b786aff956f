"""`symrouting` as a tool: the wheel built from pyproject.toml installs a console script whose
--version is Chart.yaml's appVersion, and which outside a pod finds the kubeconfig by itself
and stops at once when the API server refuses the connection."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.hooks.conftest import TOKEN, render_plan
from tests.support import clusters, helm
from tests.support.apiserver import Tls, write_kubeconfig

APP_VERSION = str(yaml.safe_load((helm.CHART / "Chart.yaml").read_text())["appVersion"])
KUBECTL_DIR = helm.CHART / ".tools" / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed, offline; built from a copy of the files the
    build reads, so that no build/ or egg-info lands in the chart."""
    work = tmp_path_factory.mktemp("install")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "Chart.yaml", "README.md"):
        shutil.copy(helm.CHART / name, source / name)
    shutil.copytree(helm.CHART / "hooks" / "symrouting", source / "hooks" / "symrouting",
                    ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-w", str(work / "dist"), str(source)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (work / "dist").glob("symrouting-*.whl")
    assert wheel.name.startswith(f"symrouting-{APP_VERSION}-")
    venv.create(work / "venv", with_pip=True)
    pip = subprocess.run([str(work / "venv" / "bin" / "python"), "-m", "pip", "install", "--no-index", "--no-deps",
                          str(wheel)], capture_output=True, text=True, check=False)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return work / "venv" / "bin" / "symrouting"


def _run(command: Path, *args: str, env: dict[str, str], stdin: str | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(command), *args], capture_output=True, text=True, input=stdin, timeout=60,
                          check=False, env=env, cwd=cwd)


def test_console_script_version_is_the_charts_app_version(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, "--version", env={"PATH": os.environ["PATH"]}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"symrouting {APP_VERSION}\n"


def test_help_shows_examples(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, "--help", env={"PATH": os.environ["PATH"]}, cwd=tmp_path)
    assert result.returncode == 0
    assert "examples:" in result.stdout and "symrouting preflight --plan-from-manifest -" in result.stdout


def test_finds_home_kubeconfig_without_flags(installed: Path, tmp_path: Path, serve: Any, tls: Tls) -> None:
    """No --kubectl, no KUBECONFIG: ~/.kube/config, as kubectl reads it (client-go clientcmd)."""
    api = serve(clusters.kubeadm(pod_subnet="10.244.0.0/16", service_subnet="10.96.0.0/12",
                                 node_pod_cidrs=[["10.244.0.0/24"]]))
    (tmp_path / ".kube").mkdir()
    write_kubeconfig(tmp_path / ".kube" / "config", api.url, tls, TOKEN)
    env = {"PATH": f"{KUBECTL_DIR}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    result = _run(installed, "discover", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "serviceNetwork: [10.96.0.0/12]" in result.stdout


def test_without_any_credentials_says_where_it_looked(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, "discover", env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 3
    assert "no kubeconfig at $KUBECONFIG or ~/.kube/config" in result.stderr
    assert "Traceback" not in result.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("through", ["kubeconfig", "server"])
def test_refused_connection_fails_fast(installed: Path, tmp_path: Path, tls: Tls, through: str) -> None:
    """A refused connection outside a pod ends the run in well under the 60 s deadline."""
    url = f"https://127.0.0.1:{_closed_port()}"
    env = {"PATH": f"{KUBECTL_DIR}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    args = ["preflight", "--plan", "-"]
    if through == "kubeconfig":
        env["KUBECONFIG"] = str(write_kubeconfig(tmp_path / "kubeconfig", url, tls, TOKEN))
    else:
        (tmp_path / "token").write_text(TOKEN)
        args += [f"--server={url}", f"--token-file={tmp_path / 'token'}", f"--ca-file={tls.ca_file}"]
    started = time.monotonic()
    result = _run(installed, *args, env=env, stdin=render_plan([helm.CHART / "ci" / "seed-values.yaml"]), cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "refused" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 15


def test_kubeconfig_without_kubectl_says_what_to_do(installed: Path, tmp_path: Path, tls: Tls) -> None:
    (tmp_path / ".kube").mkdir()
    write_kubeconfig(tmp_path / ".kube" / "config", "https://127.0.0.1:1", tls, TOKEN)
    result = _run(installed, "discover", env={"PATH": "/nonexistent", "HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 3
    assert "kubectl not found on PATH: outside a pod symrouting reads the kubeconfig through it" in result.stderr
