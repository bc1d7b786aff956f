"""Every values file the README shows whole (one with `cluster:` and `vrfs:`) renders as it
stands, under Helm 3 and 4: a reader copies it into a file and runs `helm template`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import helm

BLOCKS = [block for block in re.findall(r"```yaml\n(.*?)```", (helm.CHART / "README.md").read_text(), re.DOTALL)
          if {"cluster", "vrfs"} <= set(yaml.safe_load(block) or {})]


def test_the_readme_shows_whole_sites() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: next(iter(yaml.safe_load(b)["vrfs"])))
def test_a_values_file_of_the_readme_renders(block: str, helm_version: str, tmp_path: Path) -> None:
    values = tmp_path / "site.yaml"
    values.write_text(block)
    result = helm.template(helm_version, [values])
    assert result.returncode == 0, result.stderr
    assert any(doc["kind"] == "NodeNetworkConfigurationPolicy" for doc in result.documents)
