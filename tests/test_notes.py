"""What NOTES.txt tells the installer: the NodeNetworkConfigurationPolicies the release
really has (one per node with a `nodes` table), and how to get the symrouting command it
names, pinned to the chart's appVersion.

Slow (10-30 s, one row): the NOTES of a 500-VRF site, Helm's largest render in the suite,
which shows that only ten VRFs are detailed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from benchmarks.render import generated_site
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


def _notes_of(tmp_path: Path, site: dict[str, object]) -> str:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(site))
    return render_notes("helm3", values, tmp_path)


def test_notes_say_what_each_null_took_out_and_the_near_key(tmp_path: Path) -> None:
    """Helm merges the values files before the chart sees them (helm pkg/cli/values
    options.go mergeMaps), so `torr: null` for a peer no file has cannot be refused: NOTES
    says what each null took out, and the kept key a misspelt one may have meant."""
    site = yaml.safe_load((helm.CHART / "ci" / "multi-vrf-values.yaml").read_text())
    peers = site["vrfs"]["pay-a"]["bgpPeers"]
    assert {"tor-1", "tor-2"} <= set(peers)
    peers.update({"torr": None, "tor-2": None})
    site["vrfs"]["mgmt"] = None
    notes = _notes_of(tmp_path, site)
    assert "\n  vrfs.mgmt\n" in notes
    assert "\n  vrfs.pay-a.bgpPeers.tor-2\n" in notes, "a numbered sibling (tor-1) is no typo"
    assert "\n  vrfs.pay-a.bgpPeers.torr: did you mean tor-1? It stays installed\n" in notes


def test_notes_without_a_null_say_nothing_of_it(tmp_path: Path) -> None:
    assert "Taken out by" not in render_notes("helm3", helm.CHART / "ci" / "multi-vrf-values.yaml", tmp_path)


def test_a_large_site_lists_ten_vrfs_in_detail_and_names_the_rest(tmp_path: Path) -> None:
    """NOTES print on every install and upgrade and Helm keeps them in each release Secret, so
    a 500-VRF site gets ten VRFs in detail and the next 20 by name, and the command that
    selects any VRF's objects (every per-VRF object carries symmetric-routing/vrf)."""
    site = generated_site(500)
    notes = _notes_of(tmp_path, site)
    vrfs = sorted(site["vrfs"])  # type: ignore[call-overload]
    detailed = re.findall(r"^VRF (\S+) \(table", notes, re.MULTILINE)
    assert detailed == vrfs[:10]
    [(count, names, ellipsis)] = re.findall(r"^And (\d+) more VRFs: (.*?)(, \.\.\.)?$", notes, re.MULTILINE)
    assert int(count) == 490 and names.split(", ") == vrfs[10:30] and ellipsis
    [selector] = re.findall(r"kubectl get nncp,bgppeers,ipaddresspools -A -l (\S+)=<vrf>$", notes, re.MULTILINE)
    assert selector == f"app.kubernetes.io/instance={helm.RELEASE},symmetric-routing/vrf"
    labelled = {d["kind"] for d in helm.template("helm3", [tmp_path / "values.yaml"]).documents
                if d["metadata"].get("labels", {}).get("symmetric-routing/vrf") == vrfs[10]}
    assert {"NodeNetworkConfigurationPolicy", "BGPPeer", "IPAddressPool"} <= labelled
    assert len(notes) < 8000


def test_ten_vrfs_are_all_in_detail(tmp_path: Path) -> None:
    site = generated_site(10)
    notes = _notes_of(tmp_path, site)
    assert re.findall(r"^VRF (\S+) \(table", notes, re.MULTILINE) == sorted(site["vrfs"])  # type: ignore[call-overload]
    assert "more VRFs" not in notes


def _with_services(selectors: dict[str, dict[str, str] | None]) -> dict[str, object]:
    site = yaml.safe_load((helm.CHART / "ci" / "seed-values.yaml").read_text())
    site["metallb"] = {"version": "0.16.1"}  # services share a pool (serviceSelectors)
    vrf = next(iter(site["vrfs"].values()))
    template = next(iter(vrf["egressServices"].values()))
    vrf["egressServices"] = {}
    for name, selector in selectors.items():
        service = {"create": True, "ports": [{"port": 80}], **({"selector": selector} if selector else {})}
        vrf["egressServices"][name] = {**template, "name": name, "service": service}
    return site


def test_notes_name_the_services_without_a_pod_selector(tmp_path: Path) -> None:
    """A Service without a selector has endpoints only from EndpointSlices someone writes;
    OVN-Kubernetes v1.3.0 selects no egress node for a service without endpoints
    (clustermanager/egressservice/egressservice_cluster.go), and MetalLB v0.16.1 announces
    nothing (speaker/bgp_controller.go ShouldAnnounce: noEndpoints)."""
    notes = _notes_of(tmp_path, _with_services({"web": {"app": "web"}, "bare": None, "plain": {}}))
    assert "Services rendered without service.selector: test/bare, test/plain.\n" \
           "Until EndpointSlices labelled kubernetes.io/service-name=<name> give them endpoints,\n" \
           "OVN-Kubernetes picks no egress node for them and MetalLB announces none of their addresses." in notes
    assert "test/web" not in notes.split("Services rendered without service.selector:")[1]


def test_notes_with_every_service_selected_say_nothing_of_it(tmp_path: Path) -> None:
    assert "without service.selector" not in _notes_of(tmp_path, _with_services({"web": {"app": "web"}}))
