"""The version of the symrouting distribution: the chart's appVersion, read from Chart.yaml
with the same function that `symrouting --version` uses (pyproject.toml has the rest)."""

import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "hooks"))
from symrouting.cli import chart_app_version  # noqa: E402

setup(version=chart_app_version((ROOT / "Chart.yaml").read_text()))
