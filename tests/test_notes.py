"""What NOTES.txt tells the installer: the NodeNetworkConfigurationPolicies the release
really has (one per node with a `nodes` table), and how to get the symrouting command it
names, pinned to the chart's appVersion."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import helm
from tests.support.notes import render_notes

APP_VERSION = str(yaml.safe_load((helm.CHART / "Chart.yaml").read_text())["appVersion"])
POLICY_LINE = re.compile(r"^  NodeNetworkConfigurationPolic(?:y|ies, one per node \((\d+)\)): (.*?)"
                         r"(?: and (\d+) more \(kubectl get nncp -l (\S+)\))?$", re.MULTILINE)


@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_notes_name_the_policies_the_release_has(site: Path, tmp_path: Path) -> None:
    rendered = {d["metadata"]["name"]: d["metadata"]["labels"] for d in helm.render_site(site).documents
                if d["kind"] == "NodeNetworkConfigurationPolicy"}
    notes = render_notes("helm3", site, tmp_path)
    named, counted = [], 0
    for count, names, more, selector in POLICY_LINE.findall(notes):
        listed = names.split(", ")
        named += listed
        counted += int(count) if count else 1
        if more:
            assert int(count) == len(listed) + int(more)
            labels = dict(pair.split("=") for pair in selector.split(","))
            # the kubectl line selects exactly this VRF's policies among the rendered ones
            vrf = rendered[listed[0]]["symmetric-routing/vrf"]
            assert sorted(n for n, l in rendered.items() if labels.items() <= l.items()) == sorted(
                n for n, l in rendered.items() if l["symmetric-routing/vrf"] == vrf)
    assert set(named) <= set(rendered) and counted == len(rendered), notes


def test_notes_say_how_to_get_the_command(tmp_path: Path) -> None:
    notes = render_notes("helm3", helm.CHART / "ci" / "seed-values.yaml", tmp_path)
    assert f"pipx install symrouting=={APP_VERSION}" in notes
