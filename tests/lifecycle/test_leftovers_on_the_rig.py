"""Leftovers under real Helm (issue 25): `helm uninstall --no-hooks` skips the cleanup, so the
VRF stays on the nodes with no policy declaring it (nmstate keeps what a deleted policy set:
kubernetes-nmstate deletes no state with its policy). The next install of the same VRF is
stopped by its preflight's `leftovers` check, read from the NodeNetworkStates that
tests/support/nmstatehandler.py writes as kubernetes-nmstate does; `symrouting leftovers
--remove` (README: Leftovers on the nodes) takes exactly the leftovers off, and the install
then goes through. The nodes are checked after every step.

Slow (60-90 s a Helm): two installs, an uninstall and the removal, each with hook Jobs.
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


def leftovers(cluster: Cluster, *flags: str) -> subprocess.CompletedProcess[str]:
    """`symrouting leftovers` from a laptop, with a cluster-admin's token."""
    token = cluster.folder / "token"
    token.write_text(cluster.api.token)
    return subprocess.run(
        [sys.executable, "-S", "-m", "symrouting", "leftovers", *flags, f"--server={cluster.server_url}",
         f"--token-file={token}", f"--ca-file={cluster.ca_file}"],
        capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(helm.CHART / "hooks")})


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_a_no_hooks_uninstall_leaves_what_the_next_install_finds_and_remove_clears(
        cluster: Cluster, version: str) -> None:
    step = cluster.install(version, "tenant-a", "test", copy.deepcopy(SEED))
    assert step.returncode == 0, step.output
    cluster.check("install")
    carried = cluster.actual_nodes()
    assert any(state for state in carried.values()), "the install put the VRF on a node"

    step = cluster.helm(version, "uninstall", "tenant-a", "-n", "test", "--no-hooks", "--timeout", "90s")
    assert step.returncode == 0, step.output
    del cluster.installed["tenant-a"]
    assert not cluster.live_policies()
    # Without the cleanup nothing set the VRF absent: every node keeps exactly what it had.
    assert cluster.actual_nodes() == carried

    listed = leftovers(cluster)
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert "ens4vrf" in listed.stdout, listed.stdout

    step = cluster.install(version, "tenant-a", "test", copy.deepcopy(SEED))
    assert step.returncode != 0, step.output
    assert "FAIL  leftovers" in step.output and "symrouting leftovers --remove" in step.output, step.output
    assert "ens4vrf" in step.output, step.output
    assert not cluster.live_policies(), "a failed preflight leaves no policy"
    assert cluster.actual_nodes() == carried, "nor does it touch a node"

    removed = leftovers(cluster, "--remove", "--poll=0.2")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    cluster.nmstate.settle()
    assert not cluster.live_policies(), "the one-shot policies are deleted once applied"
    # Nothing installed: every node bare, but for the main-table rules. kubernetes-nmstate
    # leaves route rules out of NodeNetworkState (v0.86.0 pkg/state/filter.go), so --remove
    # cannot see them (README: Leftovers on the nodes).
    after, bare = cluster.actual_nodes(), cluster.expected_nodes()
    assert {node: {**state, "rules": set()} for node, state in after.items()} == bare
    assert {node: state["rules"] for node, state in after.items()} == {node: state["rules"] for node, state in carried.items()}
    assert any(state["rules"] for state in after.values())

    # The failed install stays as a failed release: uninstalled (its teardown finds nothing),
    # then installed again.
    step = cluster.helm(version, "uninstall", "tenant-a", "-n", "test", "--timeout", "90s")
    assert step.returncode == 0, step.output
    step = cluster.install(version, "tenant-a", "test", copy.deepcopy(SEED))
    assert step.returncode == 0, step.output
    cluster.check("install after the removal")
