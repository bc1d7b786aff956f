"""`symrouting` as a tool: the wheel built from pyproject.toml, installed with pipx as the
README and NOTES say, gives the commands `symrouting` and `kubectl-symrouting` (so that
`kubectl symrouting` runs it), whose --version is Chart.yaml's appVersion, whose help shows
examples that run as printed, and which outside a pod finds the kubeconfig by itself and
stops at once when the API server refuses the connection. `pip install .` in a clone leaves
nothing that git would show."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.hooks.conftest import render_plan
from tests.support import clusters, helm
from tests.support.realapi import RealApi

CHART_YAML = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())
APP_VERSION = str(CHART_YAML["appVersion"])
KUBECTL_DIR = helm.CHART / ".tools" / "bin"


BUILD_INPUTS = ("pyproject.toml", "setup.py", "Chart.yaml", "README.md")


def _source_copy(target: Path) -> Path:
    """The files the build reads, so that no build/ or egg-info lands in the chart."""
    target.mkdir()
    for name in BUILD_INPUTS:
        shutil.copy(helm.CHART / name, target / name)
    shutil.copytree(helm.CHART / "hooks" / "symrouting", target / "hooks" / "symrouting",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline and installed with `pipx install <wheel>` into a pipx home
    of its own (offline: pipx's shared pip is not upgraded); the path of `symrouting`."""
    work = tmp_path_factory.mktemp("install")
    source = _source_copy(work / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-w", str(work / "dist"), str(source)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (work / "dist").glob("symrouting-*.whl")
    assert wheel.name.startswith(f"symrouting-{APP_VERSION}-")
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "PIPX_HOME": str(work / "pipx"),
           "PIPX_BIN_DIR": str(work / "bin"), "PIPX_MAN_DIR": str(work / "man"), "PIP_NO_INDEX": "1",
           "PIPX_DISABLE_SHARED_LIBS_AUTO_UPGRADE": "1"}
    pipx = subprocess.run([sys.executable, "-m", "pipx", "install", str(wheel)], capture_output=True, text=True,
                          check=False, env=env, cwd=work, timeout=300)
    assert pipx.returncode == 0, pipx.stdout + pipx.stderr
    assert "installed package symrouting " + APP_VERSION in pipx.stdout
    return work / "bin" / "symrouting"


def _run(command: Path, *args: str, env: dict[str, str], stdin: str | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(command), *args], capture_output=True, text=True, input=stdin, timeout=60,
                          check=False, env=env, cwd=cwd)


def test_console_script_version_is_the_charts_app_version(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, "--version", env={"PATH": os.environ["PATH"]}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"symrouting {APP_VERSION}\n"


def test_help_shows_examples_that_run_as_printed(installed: Path, tmp_path: Path) -> None:
    from symrouting import commands

    result = _run(installed, "--help", env={"PATH": os.environ["PATH"]}, cwd=tmp_path)
    assert result.returncode == 0
    examples = result.stdout.split("examples:\n")[1]
    assert "symrouting preflight --plan-from-manifest -" in examples
    # No placeholder a reader must replace: the chart is the one the release workflow pushes.
    assert not re.search(r"\b(OWNER|VERSION|CHART)\b|<[a-z-]+>", examples), examples
    owner = CHART_YAML["home"].removeprefix("https://github.com/").split("/")[0]
    assert commands.CHART_REF == f"oci://ghcr.io/{owner}/charts/{CHART_YAML['name']}"
    assert examples.count(commands.CHART_REF) == 2
    # Every subcommand an example names parses with the flags it is given.
    for line in examples.splitlines():
        for command in re.findall(r"symrouting (\w+[^|>]*)", line):
            words = [w for w in command.split() if w != "\\"]
            parsed = subprocess.run([str(installed), *words, "--help"], capture_output=True, text=True,
                                    check=False, env={"PATH": os.environ["PATH"]}, cwd=tmp_path)
            assert parsed.returncode == 0, (line, parsed.stderr)


def test_kubectl_runs_it_as_a_plugin(installed: Path, tmp_path: Path) -> None:
    """kubectl runs `kubectl-symrouting` from PATH for `kubectl symrouting` (kubectl's
    pkg/cmd/plugin: the first executable named kubectl-<words joined by dashes>)."""
    env = {"PATH": f"{installed.parent}:{KUBECTL_DIR}:/usr/bin:/bin", "HOME": str(tmp_path)}
    listed = subprocess.run(["kubectl", "plugin", "list"], capture_output=True, text=True, check=False, env=env)
    assert str(installed.parent / "kubectl-symrouting") in listed.stdout, listed.stdout + listed.stderr
    result = subprocess.run(["kubectl", "symrouting", "--version"], capture_output=True, text=True, check=False,
                            env=env, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"kubectl symrouting {APP_VERSION}\n"), result.stderr
    usage = subprocess.run(["kubectl", "symrouting", "status", "--help"], capture_output=True, text=True,
                           check=False, env=env, cwd=tmp_path)
    assert usage.returncode == 0 and usage.stdout.startswith("usage: kubectl symrouting status"), usage.stderr


def test_pip_install_in_a_clone_leaves_nothing_untracked(tmp_path: Path) -> None:
    """`pip install .` writes build/ and hooks/symrouting.egg-info beside the sources;
    .gitignore keeps them out of `git status`."""
    clone = _source_copy(tmp_path / "clone")
    shutil.copy(helm.CHART / ".gitignore", clone / ".gitignore")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "clone"]):
        subprocess.run([*git, *args], cwd=clone, check=True, capture_output=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                          "--target", str(tmp_path / "site"), "."], capture_output=True, text=True, check=False,
                         cwd=clone)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert (clone / "build").is_dir() or list(clone.glob("**/*.egg-info")), "the build wrote nothing to ignore"
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone, capture_output=True,
                            text=True, check=True)
    assert status.stdout == ""


def test_finds_home_kubeconfig_without_flags(installed: Path, tmp_path: Path, real_api: RealApi) -> None:
    """No --kubectl, no KUBECONFIG: ~/.kube/config, as kubectl reads it (client-go clientcmd)."""
    real_api.load(clusters.kubeadm(pod_subnet="10.244.0.0/16", service_subnet="10.96.0.0/12",
                                   node_pod_cidrs=[["10.244.0.0/24"]]))
    (tmp_path / ".kube").mkdir()
    real_api.kubeconfig(tmp_path / ".kube" / "config")
    env = {"PATH": f"{KUBECTL_DIR}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    result = _run(installed, "discover", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "clusterNetwork: [10.244.0.0/16]  # from kube-system/kubeadm-config" in result.stdout


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
def test_refused_connection_fails_fast(installed: Path, tmp_path: Path, hooks_api: RealApi, through: str) -> None:
    """A refused connection outside a pod ends the run in well under the 60 s deadline."""
    url = f"https://127.0.0.1:{_closed_port()}"
    env = {"PATH": f"{KUBECTL_DIR}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    args = ["preflight", "--plan", "-"]
    if through == "kubeconfig":
        env["KUBECONFIG"] = str(hooks_api.kubeconfig(tmp_path / "kubeconfig", server=url))
    else:
        (tmp_path / "token").write_text(hooks_api.token)
        args += [f"--server={url}", f"--token-file={tmp_path / 'token'}", f"--ca-file={hooks_api.ca_file}"]
    started = time.monotonic()
    result = _run(installed, *args, env=env, stdin=render_plan([helm.CHART / "ci" / "seed-values.yaml"]), cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "refused" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 15


def test_kubeconfig_without_kubectl_says_what_to_do(installed: Path, tmp_path: Path, hooks_api: RealApi) -> None:
    (tmp_path / ".kube").mkdir()
    hooks_api.kubeconfig(tmp_path / ".kube" / "config", server="https://127.0.0.1:1")
    result = _run(installed, "discover", env={"PATH": "/nonexistent", "HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 3
    assert "kubectl not found on PATH: outside a pod symrouting reads the kubeconfig through it" in result.stderr
