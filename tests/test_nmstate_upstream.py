"""nmstate's own verdict (rig/rust/nmstate-check: the `nmstate` crate, the library of
nmstatectl and kubernetes-nmstate's handler) on nmstate's documented examples, on states it
must refuse, and on every desiredState the chart renders for every site: each is accepted
and becomes the NetworkManager keyfiles of the interfaces it names, the VRF on its table.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import allsites, helm, nmstatecheck, upstream
from tests.test_fuzz import CASES, fuzzed_site

EXAMPLES = upstream.shared_root() / "nmstate-examples"
SITES = allsites.all_sites()


def keyfile(verdict: nmstatecheck.Verdict, interface: str) -> configparser.ConfigParser:
    """The keyfile nmstate writes for an interface (nm/nm_gen_conf.rs names it
    `<interface>.nmconnection`), parsed as NetworkManager reads it."""
    [name] = [n for n in verdict.keyfiles if n == f"{interface}.nmconnection"]
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(verdict.keyfiles[name])
    return parser


def test_the_examples_are_there() -> None:
    assert len(sorted(EXAMPLES.glob("*.yml"))) >= 10, f"{EXAMPLES}: set SYMMETRIC_ROUTING_SHARED to shared/"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yml")))
def test_nmstate_accepts_its_own_examples(name: str) -> None:
    verdict = nmstatecheck.check_desired_state((EXAMPLES / name).read_text())
    assert verdict.ok, verdict.error


def test_the_vrf_example_becomes_a_vrf_keyfile_on_its_table() -> None:
    verdict = nmstatecheck.check_desired_state((EXAMPLES / "vrf0_with_eth1.yml").read_text())
    vrf = keyfile(verdict, "vrf0")
    assert (vrf["connection"]["type"], vrf["vrf"]["table"]) == ("vrf", "100")
    port = keyfile(verdict, "eth1")
    assert (port["connection"]["master"], port["connection"]["slave-type"]) == ("vrf0", "vrf")


REFUSED = [
    # nmstate 2.2.62 ifaces/vrf.rs: a new VRF needs a route table
    pytest.param({"interfaces": [{"name": "v", "type": "vrf", "state": "up", "vrf": {"port": []}}]},
                 "InvalidArgument", "Route table ID undefined or 0 is not allowed for new VRF interface v",
                 id="vrf-without-table"),
    pytest.param({"interfaces": [{"name": "v", "type": "vrf", "state": "up", "vrf": {"port": [], "route-table-id": 0}}]},
                 "InvalidArgument", "Route table ID undefined or 0 is not allowed for new VRF interface v",
                 id="vrf-on-table-0"),
    # ip.rs: an IPv4 prefix length above 32
    pytest.param({"interfaces": [{"name": "e", "type": "ethernet", "state": "up",
                                  "ipv4": {"enabled": True, "address": [{"ip": "10.0.0.1", "prefix-length": 33}]}}]},
                 "InvalidArgument", "Invalid IPv4 network prefix length '33', should be in the range of 0 to 32",
                 id="ipv4-prefix-33"),
    # ip.rs InterfaceIpAddr deserializer: the address must be an IP address
    pytest.param({"interfaces": [{"name": "e", "type": "ethernet", "state": "up",
                                  "ipv4": {"enabled": True, "address": [{"ip": "300.1.1.1", "prefix-length": 24}]}}]},
                 "InvalidArgument", "invalid IP address syntax", id="bad-ipv4"),
    # net_state.rs NetworkState: #[serde(deny_unknown_fields)]
    pytest.param({"interfaces": [], "rooutes": {}}, "InvalidArgument", "unknown field `rooutes`",
                 id="unknown-top-level-key"),
    # route.rs MergedRoutes::new: a route's next-hop interface must be in the state
    pytest.param({"routes": {"config": [{"destination": "10.0.0.0/8", "next-hop-interface": "nope",
                                         "next-hop-address": "192.0.2.1"}]}},
                 "InvalidArgument", "next hop interface nope not found", id="route-via-unknown-interface"),
]


@pytest.mark.parametrize(("state", "kind", "fragment"), REFUSED)
def test_nmstate_refuses(state: dict[str, Any], kind: str, fragment: str) -> None:
    verdict = nmstatecheck.check_desired_state(state)
    assert not verdict.ok
    assert verdict.kind == kind and fragment in verdict.msg, verdict.error


@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_every_rendered_desired_state_passes_nmstate(site: allsites.Site, tmp_path: Path) -> None:
    result = site.template("helm3", tmp_path)
    assert result.returncode == 0, result.stderr
    states = allsites.desired_states(result.documents)
    assert states, site.name
    for policy, state in states.items():
        verdict = nmstatecheck.check_desired_state(state)
        assert verdict.ok, f"{site.name}: nmstate refuses {policy}: {verdict.error}"
        for vrf in (i for i in state["interfaces"] if i.get("type") == "vrf" and i.get("state") != "absent"):
            parsed = keyfile(verdict, vrf["name"])
            assert parsed["vrf"]["table"] == str(vrf["vrf"]["route-table-id"]), (site.name, policy)


@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_fuzzed_sites_that_render_pass_nmstate(site: Path, tmp_path: Path) -> None:
    """Each case of the site's structural fuzzer (tests/test_fuzz.py, the same seeds) that
    renders: nmstate takes each desiredState."""
    rendered = []
    for seed in range(CASES):
        values, mutations = fuzzed_site(site, seed)
        path = tmp_path / "fuzzed.yaml"
        path.write_text(yaml.safe_dump(values))
        result = helm.template("helm3", [path])
        if result.returncode != 0:
            continue
        rendered.append(seed)
        for policy, state in allsites.desired_states(result.documents).items():
            verdict = nmstatecheck.check_desired_state(state)
            assert verdict.ok, f"{helm.site_name(site)} seed {seed} {mutations}: {policy}: {verdict.error}"
    assert rendered, f"none of the {CASES} fuzz cases of {helm.site_name(site)} renders"
