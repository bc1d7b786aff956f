"""MetalLB's real controller on the real control plane (the `real_cluster` fixture), its
webhooks live (tests/support/realmetallb.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import realcluster, realmetallb


@pytest.fixture(scope="session")
def real_metallb(real_cluster: realcluster.RealCluster) -> Iterator[realmetallb.MetalLB]:
    """MetalLB's controller admitting every metallb.io object the server stores."""
    metallb = realmetallb.start(real_cluster, real_cluster.folder / "metallb")
    yield metallb
    metallb.stop()
