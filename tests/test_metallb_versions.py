"""Fields only some supported MetalLB versions have are refused below the version that added
them: an API server prunes a field its CRD lacks without a word, so the value would be lost.

The chart's table (templates/validate/_versions.tpl) must be what the CRDs of each supported
version say (go.universe.tf/metallb config/crd/bases, fetched with `go mod download`, as
scripts/metallb_fields.py derives it). This needs Go and the module proxy; without them the
test fails, it does not skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import helm, scripts

fields = scripts.load("metallb_fields")
SEED = helm.CHART / "ci" / "seed-values.yaml"


def test_the_charts_table_is_what_the_crds_of_each_supported_version_say() -> None:
    table = fields.from_crds()
    assert fields.in_template() == table
    # what the issue found by hand, as a floor under the derivation itself
    assert table["BGPPeer"]["localASN"] == "0.16" and table["BGPAdvertisement"]["serviceSelectors"] == "0.16"


def test_a_field_new_in_a_patch_release_names_that_release() -> None:
    by_version = {"v0.15.3": {"BGPPeer": {"a"}}, "v0.16.1": {"BGPPeer": {"a", "b"}},
                  "v0.16.2": {"BGPPeer": {"a", "b", "c"}}}
    assert fields.derive(by_version) == {"BGPPeer": {"b": "0.16", "c": "0.16.2"}}


def render(tmp_path: Path, version: str, peer: dict[str, object], adv: dict[str, object]) -> helm.Result:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({"metallb": {"version": version}, "vrfs": {"ens4vrf": {
        "bgpPeers": {"frrviavrf": peer}, "bgpAdvertisements": {"first-adv": adv}}}}))
    return helm.template("helm3", [SEED, path])


@pytest.mark.parametrize("version", ["0.15", "0.15.3", "v0.15.2"])
def test_older_versions_refuse_each_field_naming_the_version_that_added_it(version: str, tmp_path: Path) -> None:
    result = render(tmp_path, version, {"localASN": 300}, {"serviceSelectors": [{"matchLabels": {"app": "server1"}}]})
    assert result.returncode != 0 and result.stdout == ""
    shown = version.lstrip("v")
    assert (f"vrfs.ens4vrf.bgpPeers.frrviavrf.localASN: MetalLB added BGPPeer.spec.localASN in 0.16; "
            f"metallb.version is {shown}") in result.stderr
    assert ("vrfs.ens4vrf.bgpAdvertisements.first-adv.serviceSelectors: MetalLB added "
            f"BGPAdvertisement.spec.serviceSelectors in 0.16; metallb.version is {shown}") in result.stderr


@pytest.mark.parametrize("version", ["0.16", "0.16.1", "0.17"])
def test_the_version_that_added_them_renders_them(version: str, tmp_path: Path) -> None:
    result = render(tmp_path, version, {"localASN": 300}, {"serviceSelectors": [{"matchLabels": {"app": "server1"}}]})
    assert result.returncode == 0, result.stderr
    [peer] = [d for d in result.documents if d["kind"] == "BGPPeer"]
    assert peer["spec"]["localASN"] == 300
