"""The real `ct install` (chart-testing v3.14.0, .tools/bin/ct) against the rig's real API
server (tests/support/rig.py): ct installs the chart with a ci/ values file, runs `helm
test`, whose pods podrunner.py runs, and uninstalls. Only ci/seed-values.yaml: each site
is a 20-30 s install here, and the seed is the documentation's own case (issue 22's time).

What helm and kubectl printed is read from a log that shims around them write, not from
ct's echo of it: ct's RunProcess (pkg/exec/exec.go, v3.14.0) calls cmd.Wait while its
goroutine still reads the pipes, so it can drop a child's last lines (a CI run lost
`release ... uninstalled` that way).

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
    log = tmp_path / "children.log"
    for name, real in (("helm", helm.helm_binary(version)), ("kubectl", helm.TOOLS / "kubectl")):
        _logging_shim(bindir / name, Path(real), log)
    result = subprocess.run(
        [str(charttesting.binary()), "install", "--charts", ".", "--target-branch", "main",
         "--helm-extra-args", "--timeout 300s"],
        cwd=chart, capture_output=True, text=True, check=False, timeout=500,
        env={"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(rig.kubeconfig),
             "HELM_CACHE_HOME": str(tmp_path / "hc"), "HELM_CONFIG_HOME": str(tmp_path / "hcfg"),
             "HELM_DATA_HOME": str(tmp_path / "hd"), **helm.GO_GC})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All charts installed successfully" in result.stdout
    runs = _runs(log.read_text())
    steps = (r"helm install ", r"helm test ", r"helm uninstall ", r"kubectl .*\bdelete namespace ")
    ran = [next(((i, out) for i, (command, rc, out) in enumerate(runs)
                 if re.match(step, command) and rc == 0), (-1, "")) for step in steps]
    assert -1 not in [i for i, _ in ran], runs
    assert [i for i, _ in ran] == sorted(i for i, _ in ran), runs
    (_, tested), (_, uninstalled), (_, deleted) = ran[1:]
    # helm test ran both test pods, each to Succeeded, then the uninstall and the namespace
    for suite in ("verify", "hooks"):
        assert re.search(rf"TEST SUITE: +symmetric-routing-\w+-{suite}\nLast Started: .*\n.*\nPhase: +Succeeded",
                         tested), tested
    assert re.search(r'release "symmetric-routing-\w+" uninstalled', uninstalled), uninstalled
    assert re.search(r'namespace "symmetric-routing-\w+" deleted', deleted), deleted


def _logging_shim(path: Path, real: Path, log: Path) -> None:
    """A `helm`/`kubectl` for ct that runs the real one and appends its command, exit code
    and output to `log` before passing them on."""
    path.write_text(f"""#!/bin/sh
out=$("{real}" "$@" 2>&1); rc=$?
printf '=== %s %s\\n=== rc %s\\n%s\\n' "$(basename "$0")" "$*" "$rc" "$out" >> "{log}"
printf '%s\\n' "$out"
exit $rc
""")
    path.chmod(0o755)


def _runs(text: str) -> list[tuple[str, int, str]]:
    """The log's entries: (command, exit code, output)."""
    entries = re.findall(r"^=== ([^\n]*)\n=== rc (\d+)\n(.*?)(?=^=== |\Z)", text, re.M | re.S)
    return [(command, int(rc), out) for command, rc, out in entries]
