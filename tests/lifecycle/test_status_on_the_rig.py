"""`symrouting status` from a laptop against the real API server after a real install: what it
reads of the policies, nmstate's enactments and NodeNetworkStates (tests/support/
nmstatehandler.py writes them as kubernetes-nmstate does) is what the server stores.

Slow (25-40 s each): a real install with its hook Jobs before the status is read.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import helm
from tests.support.lifecycle import SEED, Cluster
from tests.support.rig import Rig


@pytest.fixture
def cluster(tmp_path: Path, rig: Rig) -> Iterator[Cluster]:
    running = Cluster(tmp_path, rig)
    yield running
    running.stop()


def status(cluster: Cluster) -> subprocess.CompletedProcess[str]:
    token = cluster.folder / "token"
    token.write_text(cluster.api.token)
    return subprocess.run(
        [sys.executable, "-S", "-m", "symrouting", "status", "--release", "test/tenant-a",
         f"--server={cluster.server_url}", f"--token-file={token}", f"--ca-file={cluster.ca_file}"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(helm.CHART / "hooks")})


def rows(output: str) -> dict[str, str]:
    """CHECK -> state of each row of worker-0's VRF."""
    found = {}
    for line in output.splitlines():
        parts = line.split(None, 4)
        if len(parts) == 5 and parts[1] == "ens4vrf" and parts[2] == "worker-0":
            found[parts[3]] = parts[0]
    return found


def test_status_reads_what_nmstate_reported(cluster: Cluster) -> None:
    step = cluster.install("helm4", "tenant-a", "test", copy.deepcopy(SEED))
    assert step.returncode == 0, step.output
    result = status(cluster)
    table = rows(result.stdout)
    # kubernetes-nmstate v0.86.0 writes no route-rules into NodeNetworkState (pkg/state/filter.go)
    assert table.get("policy") == "OK" and table.get("vrf") == "OK" and table.get("rules") == "??", result.stdout
    # No OVN-Kubernetes runs on the rig: the EgressService has no host, which status reports.
    assert "the EgressService has no host" in result.stdout and result.returncode != 0, result.stdout + result.stderr


def test_status_sees_a_failed_enactment(cluster: Cluster) -> None:
    """nmstate refuses the state on worker-0 (its program's verdict, through the handler's
    check_desired_state): the enactment fails with that message and status shows it."""
    checker = cluster.nmstate.check_desired_state
    cluster.nmstate.check_desired_state = lambda state: "InvalidArgument: VRF ens4vrf: test refusal"
    # The wait hook would fail this install on the refusal (test_helm_lifecycle's wait rows);
    # here the release stays installed so that status reads the failed enactment.
    values = copy.deepcopy(SEED)
    values["rollout"] = {"wait": False}
    try:
        step = cluster.install("helm4", "tenant-a", "test", values)
    finally:
        cluster.nmstate.check_desired_state = checker
    assert step.returncode == 0, step.output
    result = status(cluster)
    assert rows(result.stdout).get("policy") == "FAIL", result.stdout
    assert "test refusal" in result.stdout, result.stdout
