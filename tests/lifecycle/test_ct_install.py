"""The real `ct install` (chart-testing v3.14.0, .tools/bin/ct) against the rig's real API
server (tests/support/rig.py): ct installs the chart with a ci/ values file, runs `helm
test`, whose pods podrunner.py runs, and uninstalls. Only ci/seed-values.yaml: each site
is a 20-30 s install here, and the seed is the documentation's own case (issue 22's time).

Slow (45-60 s a Helm): ct's own install, `helm test` pods and uninstall.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import charttesting, helm
from tests.support.rig import Rig


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_ct_install_on_the_rig(tmp_path: Path, rig: Rig, version: str) -> None:
    """ct names a release and namespace of its own, installs (the hook Jobs: preflight, the
    wait), runs `helm test` (the verify pod and the hooks' test), uninstalls (the teardown)
    and deletes the namespace; any of them failing fails ct."""
    rig.reset()
    chart = tmp_path / "chart"
    shutil.copytree(helm.CHART, chart, ignore=shutil.ignore_patterns(".git", ".tools", ".cache", "tests", "rig"))
    for values in (chart / "ci").glob("*-values.yaml"):
        if values.name != "seed-values.yaml":
            values.unlink()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(helm.helm_binary(version), bindir / "helm")
    os.symlink(helm.TOOLS / "kubectl", bindir / "kubectl")
    result = subprocess.run(
        [str(charttesting.binary()), "install", "--charts", ".", "--target-branch", "main",
         "--helm-extra-args", "--timeout 300s"],
        cwd=chart, capture_output=True, text=True, check=False, timeout=500,
        env={"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(rig.kubeconfig),
             "HELM_CACHE_HOME": str(tmp_path / "hc"), "HELM_CONFIG_HOME": str(tmp_path / "hcfg"),
             "HELM_DATA_HOME": str(tmp_path / "hd")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All charts installed successfully" in result.stdout
    out = result.stdout
    # helm test ran both test pods, each to Succeeded, then the uninstall and the namespace
    for suite in ("verify", "hooks"):
        assert re.search(rf"TEST SUITE: +symmetric-routing-\w+-{suite}\nLast Started: .*\n.*\nPhase: +Succeeded", out), out
    assert re.search(r'release "symmetric-routing-\w+" uninstalled', out), out
    assert re.search(r'namespace "symmetric-routing-\w+" deleted', out), out
