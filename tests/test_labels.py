"""Labels: every object carries the chart's own, its component and its VRF; commonLabels and a
Service's own labels add to them but replace none, and no label key is printed twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support import helm

NETWORK_MODE = helm.CHART / "ci" / "network-mode-values.yaml"
OWN = ("helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
       "app.kubernetes.io/managed-by", "symmetric-routing/tenant", "symmetric-routing/release-namespace")


class UniqueKeyLoader(yaml.SafeLoader):
    """A loader that refuses a mapping with a key twice, which PyYAML would otherwise let the
    last one win and the API server would refuse."""


def _refuse_duplicates(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    twice = {key for key in keys if keys.count(key) > 1}
    if twice:
        raise AssertionError(f"keys printed twice at line {node.start_mark.line + 1}: {sorted(twice)}")
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _refuse_duplicates)


def render(tmp_path: Path, override: str) -> list[dict[str, Any]]:
    extra = tmp_path / "labels.yaml"
    extra.write_text(override)
    result = helm.template("helm3", [NETWORK_MODE, extra])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.load_all(result.stdout, Loader=UniqueKeyLoader) if doc]


def test_every_object_carries_the_charts_labels_and_its_component(tmp_path: Path) -> None:
    for doc in render(tmp_path, "{}\n"):
        labels = doc["metadata"]["labels"]
        assert set(OWN) <= set(labels), doc["metadata"]["name"]
        assert labels["app.kubernetes.io/component"], doc["metadata"]["name"]
        if doc["kind"] in ("NodeNetworkConfigurationPolicy", "BGPPeer", "IPAddressPool", "BGPAdvertisement",
                           "EgressService", "Service"):
            assert labels["symmetric-routing/vrf"] == "media", doc["metadata"]["name"]


def test_service_labels_win_over_common_labels_and_both_add_to_the_charts(tmp_path: Path) -> None:
    plain = {(doc["kind"], doc["metadata"]["name"]): doc["metadata"]["labels"] for doc in render(tmp_path, "{}\n")}
    override = """
commonLabels:
  cost-center: cc-7
  team: media
vrfs:
  media:
    egressServices:
      packager:
        service:
          labels:
            cost-center: from-the-service
"""
    for doc in render(tmp_path, override):
        key = (doc["kind"], doc["metadata"]["name"])
        extra = {"cost-center": "from-the-service"} if key == ("Service", "packager") else {"cost-center": "cc-7"}
        assert doc["metadata"]["labels"] == {**plain[key], "team": "media", **extra}, key
