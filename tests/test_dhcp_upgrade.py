"""An upgrade from a static address to DHCP or autoconf leaves no old static address.

nmstate keeps what a desired state does not name: an ipv4/ipv6 entry without `address`
leaves the interface's addresses as they are (nmstate rust/src/lib/ip.rs InterfaceIpv4
merge and post_merge: "we expect backend to preserve configuration which not mentioned in
desire"; query_apply/ip.rs InterfaceIpv4::update), so a port switched to DHCP would keep the
static address beside the leased one. The chart names `address: []` with dhcp and autoconf.
Shown on the node model (tests/support/nodestate.py), which applies the same rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import helm
from tests.support.nodestate import node_after

SEED = helm.CHART / "ci" / "seed-values.yaml"


def state(tmp_path: Path, port: dict[str, object]) -> dict[str, object]:
    path = tmp_path / "port.yaml"
    path.write_text(yaml.safe_dump({"vrfs": {"ens4vrf": {"ports": {"ens4": port}}}}))
    result = helm.template("helm3", [SEED, path])
    assert result.returncode == 0, result.stderr
    [policy] = [d for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"]
    return dict(policy["spec"]["desiredState"])


@pytest.mark.parametrize(("family", "dynamic", "static"), [
    ("ipv4", "dhcp", ["192.168.130.130/24"]),
    ("ipv6", "dhcp", ["fd00:130::130/64"]),
    ("ipv6", "autoconf", ["fd00:130::130/64"]),
])
def test_a_port_switched_to_dhcp_keeps_no_static_address(family: str, dynamic: str, static: list[str],
                                                         tmp_path: Path) -> None:
    # the seed's IPv4 address stays when IPv6 changes: routes and peers use it
    before = state(tmp_path, {family: static})
    after = state(tmp_path, {family: dynamic})
    index = ("ipv4", "ipv6").index(family)
    assert node_after(before).managed()["addresses"]["ens4"][index], "the static address was there before"
    assert not node_after(before, after).managed()["addresses"].get("ens4", ([], []))[index]
