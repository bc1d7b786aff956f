"""MetalLB's real controller on the real control plane (the `real_cluster` fixture), its
webhooks live (tests/support/realmetallb.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import realcluster, realmetallb


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[realcluster.RealCluster]:
    """A control plane of its own for MetalLB's tests (overrides tests/conftest.py's here):
    MetalLB's webhooks refuse a pool overlapping one that another test's release left in a
    shared one, so these installs start from an empty server."""
    cluster = realcluster.start(tmp_path_factory.mktemp("metallb-cluster") / "cluster")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def real_metallb(real_cluster: realcluster.RealCluster) -> Iterator[realmetallb.MetalLB]:
    """MetalLB's controller admitting every metallb.io object the server stores."""
    metallb = realmetallb.start(real_cluster, real_cluster.folder / "metallb")
    yield metallb
    metallb.stop()
