from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import helm, realcluster
from tests.support.rig import SERVICE_NETWORK, Rig

# The slowest tests and why each takes long (@pytest.mark.slow), printed after every run.
pytest_plugins = ["tests.support.durations"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden files under tests/golden from the current chart",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def shared_dir() -> Path | None:
    """The workplace's shared/ folder (seed document, CRDs, ct files), when there is one."""
    path = Path(os.environ.get("SYMMETRIC_ROUTING_SHARED", helm.CHART.parent / "shared"))
    return path if path.is_dir() else None


@pytest.fixture(scope="session", params=helm.HELM_VERSIONS)
def helm_version(request: pytest.FixtureRequest) -> str:
    binary = helm.helm_binary(request.param)
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run scripts/bootstrap.sh")
    return str(request.param)


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[realcluster.RealCluster]:
    """The real control plane (tests/support/realcluster.py), one per pytest process: under
    xdist each worker that runs a test needing it starts its own on its own ports. A missing
    rig binary fails the test (RuntimeError naming scripts/bootstrap.sh rig), never skips it."""
    cluster = realcluster.start(realcluster.env_folder(tmp_path_factory.mktemp("rig") / "cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """A control plane of its own with nodes, the hook pods' kubelet, nmstate and the proxy
    (tests/support/rig.py); each test that uses it starts from `reset()`. Not `real_cluster`:
    the rig's controllers (nmstate's status writes, the resets) would act on other tests'
    objects there."""
    folder = tmp_path_factory.mktemp("rig-cluster")
    # Single stack, as the documentation's cluster: the preflight reads the served Service
    # CIDRs, which the sites' values must then name (the later flag wins).
    cluster = realcluster.start(folder / "cluster",
                                apiserver_args=["--service-cluster-ip-range", ",".join(SERVICE_NETWORK)])
    try:
        running = Rig(folder / "controllers", cluster)
    except BaseException:
        cluster.stop()
        raise
    yield running
    running.stop()
    cluster.stop()
