"""Each node of a VRF's `nodes` table has an address of every family the VRF's routes, peers
and pools use (templates/validate/_nodes.tpl): nmstate installs `::/0 via <IPv6 next hop>`
on a worker with only IPv4 all the same, and the route, the IPv6 session and the IPv6 pool's
replies are then dead on that node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"
NODES = {"worker-0": {"ens4": ["192.168.130.130/24", "fd00:130::130/64"]}, "worker-1": {"ens4": "192.168.130.131/24"}}


def render(vrf: dict[str, Any], tmp_path: Path) -> helm.Result:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({"vrfs": {"ens4vrf": {"ports": {"ens4": {"ipv4": None}}, "nodes": NODES, **vrf}}}))
    return helm.template("helm3", [SEED, path])


V4_ROUTE = {"destination": "0.0.0.0/0", "nextHopAddress": "192.168.130.1"}


@pytest.mark.parametrize(("vrf", "user"), [
    ({"routes": [V4_ROUTE, {"destination": "::/0", "nextHopAddress": "fd00:130::1"}]},
     "vrfs.ens4vrf.routes[1] (next hop fd00:130::1)"),
    ({"bgpPeers": {"v6": {"peerAddress": "fd00:130::1", "peerASN": 200, "myASN": 100}}},
     "vrfs.ens4vrf.bgpPeers.v6 (peer fd00:130::1)"),
    ({"addressPools": {"v6": {"addresses": ["2001:db8:99::/128"]}},
      "bgpAdvertisements": {"first-adv": {"ipAddressPools": ["first-pool", "v6"]}}},
     "vrfs.ens4vrf.addressPools.v6 (2001:db8:99::/128)"),
])
def test_a_node_without_the_family_is_refused(vrf: dict[str, Any], user: str, tmp_path: Path) -> None:
    result = render(vrf, tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert f"vrfs.ens4vrf.nodes.worker-1: has no IPv6 address on the VRF's ports, but {user} uses IPv6" in result.stderr
    assert "worker-0: has no" not in result.stderr


def test_a_dhcp_family_on_the_port_counts_for_every_node(tmp_path: Path) -> None:
    result = render({"ports": {"ens4": {"ipv4": None, "ipv6": "dhcp"}},
                     "routes": [V4_ROUTE, {"destination": "::/0", "nextHopAddress": "fd00:130::1"}]}, tmp_path)
    assert "has no IPv6 address" not in result.stderr
