from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import helm


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
