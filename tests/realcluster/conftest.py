"""The real control plane (tests/support/realcluster.py), one per pytest process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import realcluster


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[realcluster.RealCluster]:
    cluster = realcluster.start(realcluster.env_folder(tmp_path_factory.mktemp("rig") / "cluster"))
    yield cluster
    cluster.stop()
