"""An advertisement's aggregation length against a pool written as a range: MetalLB splits the
range into CIDRs and refuses an aggregation length shorter than the shortest of their
prefixes (metallb internal/config/config.go validateBGPAdvPerPool, lowestMask). The expected
prefix comes from Python's own split of the range (ipaddress.summarize_address_range)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tests.support import helm

RANGES = ["198.51.100.16-198.51.100.31", "198.51.100.10-198.51.100.20", "198.51.100.7-198.51.100.7",
          "198.51.100.0-198.51.100.255", "198.51.100.1-198.51.100.255", "198.51.100.1-198.51.100.254",
          "198.51.100.128-198.51.101.3", "2001:db8:1::10-2001:db8:1::2f", "2001:db8:1::1-2001:db8:1::ffff"]


def lowest_prefix(text: str) -> int:
    first, last = (ipaddress.ip_address(part) for part in text.split("-"))
    return min(net.prefixlen for net in ipaddress.summarize_address_range(first, last))


def render(tmp_path: Path, pool: str, length: int) -> helm.Result:
    field = "aggregationLengthV6" if ":" in pool else "aggregationLength"
    port = "ipv6: ['2001:db8::5/64']" if ":" in pool else "ipv4: [192.168.130.130/24]"
    override = tmp_path / "range.yaml"
    override.write_text(f"vrfs:\n  ens4vrf:\n    ports: {{ens4: {{{port}}}}}\n"
                        f"    addressPools: {{first-pool: {{addresses: ['{pool}']}}}}\n"
                        f"    bgpAdvertisements: {{first-adv: {{{field}: {length}}}}}\n")
    extra = [] if ":" not in pool else [_ipv6_route(tmp_path)]
    return helm.template("helm3", [helm.CHART / "ci" / "seed-values.yaml", override, *extra])


def _ipv6_route(tmp_path: Path) -> Path:
    route = tmp_path / "route6.yaml"
    route.write_text("vrfs:\n  ens4vrf:\n    routes: [{destination: '::/0', nextHopAddress: '2001:db8::1'}]\n"
                     "    bgpPeers: {frrviavrf: {peerAddress: '2001:db8::1'}}\n")
    return route


@pytest.mark.parametrize("pool", RANGES)
def test_the_shortest_prefix_of_a_range_is_the_least_aggregation_length(pool: str, tmp_path: Path) -> None:
    prefix = lowest_prefix(pool)
    accepted = render(tmp_path, pool, prefix)
    assert accepted.returncode == 0, accepted.stderr
    refused = render(tmp_path, pool, prefix - 1)
    assert refused.returncode != 0
    assert f"is shorter than the /{prefix} of {pool} in pool first-pool" in refused.stderr
