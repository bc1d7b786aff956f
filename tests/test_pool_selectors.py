"""ipAddressPoolSelectors stay inside their VRF. MetalLB v0.16.1 matches an advertisement's
selectors against every IPAddressPool of the cluster (internal/config/config.go
setBGPAdvertisementsToPools) and announces what they pick to the advertisement's peers, so
templates/_advertisements.tpl narrows each selector by the labels of the VRF's own pools
(symmetric-routing/vrf, app.kubernetes.io/instance, symmetric-routing/release-namespace)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support import helm
from tests.support.metallb import selector_matches

SITE = helm.CHART / "ci" / "multi-vrf-values.yaml"


def _documents(values: dict[str, Any], tmp_path: Path, release: str = helm.RELEASE) -> list[dict[str, Any]]:
    path = tmp_path / f"{release}.yaml"
    path.write_text(yaml.safe_dump(values))
    result = helm.template("helm4", [path], release=release)
    assert result.returncode == 0, result.stderr
    return result.documents


def test_a_selector_picks_only_its_vrfs_own_pools(tmp_path: Path) -> None:
    """mgmt's advertisement selects by `symmetric-routing/vrf: mgmt` and another by `{}`; the
    cluster also holds the pools of pay-a and pay-b and of another release that has a VRF
    named mgmt too. Only this release's mgmt pools are picked."""
    values = yaml.safe_load(SITE.read_text())
    values["vrfs"]["mgmt"]["bgpAdvertisements"]["everything"] = {"ipAddressPools": ["mgmt"],
                                                                  "ipAddressPoolSelectors": [{}],
                                                                  "localPref": 200}
    ours = _documents(values, tmp_path)
    theirs = _documents(yaml.safe_load(SITE.read_text()), tmp_path, release="tenant-b")
    pools = {(doc["metadata"]["name"], doc["metadata"]["labels"]["app.kubernetes.io/instance"]): doc["metadata"]["labels"]
             for doc in ours + theirs if doc["kind"] == "IPAddressPool"}
    assert {instance for _, instance in pools} == {"tenant-a", "tenant-b"} and len(pools) > 4
    mgmt = {key for key, labels in pools.items()
            if labels["symmetric-routing/vrf"] == "mgmt" and labels["app.kubernetes.io/instance"] == "tenant-a"}
    advertisements = [doc for doc in ours if doc["kind"] == "BGPAdvertisement" and doc["spec"].get("ipAddressPoolSelectors")]
    assert len(advertisements) == 2
    for advertisement in advertisements:
        picked = {key for key, labels in pools.items()
                  if any(selector_matches(s, labels) for s in advertisement["spec"]["ipAddressPoolSelectors"])}
        assert picked == mgmt, advertisement["metadata"]["name"]
