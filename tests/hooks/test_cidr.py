from __future__ import annotations

import pytest

from symrouting import cidr


def test_pool_entry_as_cidr_or_range() -> None:
    assert [str(n) for n in cidr.pool_networks("192.169.10.0/32")] == ["192.169.10.0/32"]
    assert [str(n) for n in cidr.pool_networks("198.51.100.16-198.51.100.31")] == ["198.51.100.16/28"]
    assert [str(n) for n in cidr.pool_networks("10.0.0.1 - 10.0.0.4")] == ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/32"]
    assert [str(n) for n in cidr.pool_networks("2001:db8::-2001:db8::ff")] == ["2001:db8::/120"]


@pytest.mark.parametrize("entry", ["10.0.0.9-10.0.0.1", "10.0.0.1-2001:db8::1", "10.0.0.300/32"])
def test_bad_pool_entries_raise(entry: str) -> None:
    with pytest.raises(ValueError):
        cidr.pool_networks(entry)


@pytest.mark.parametrize(("text", "named"), [
    ("10.128.0.1/14", "10.128.0.0/14"), ("192.0.3.1/23", "192.0.2.0/23"), ("2001:db8:1::f/64", "2001:db8:1::/64"),
    ("172.30.0.0/16", "172.30.0.0/16")])
def test_network_is_the_network_a_cidr_with_host_bits_names(text: str, named: str) -> None:
    """As nmstate takes a route rule's ip-to (rust/src/lib/route_rule.rs sanitize, ip.rs
    sanitize_ip_network; its unit test turns 192.0.3.1/23 into 192.0.2.0/23)."""
    assert str(cidr.network(text)) == named


def test_uncovered_needs_a_whole_container_of_the_same_family() -> None:
    rules = [cidr.network("10.128.0.0/14"), cidr.network("fd00::/48")]
    needed = [cidr.network("10.128.0.0/14"), cidr.network("10.130.0.0/16"), cidr.network("10.0.0.0/8"),
              cidr.network("fd00::/64"), cidr.network("fd01::/64")]
    assert [str(n) for n in cidr.uncovered(needed, rules)] == ["10.0.0.0/8", "fd01::/64"]


def test_overlaps_pairs_only_within_a_family() -> None:
    left = [cidr.network("192.0.2.0/28"), cidr.network("2001:db8::/64")]
    right = [cidr.network("192.0.2.8/29"), cidr.network("192.0.2.16/28"), cidr.network("2001:db8::/48")]
    assert [(str(a), str(b)) for a, b in cidr.overlaps(left, right)] == [
        ("192.0.2.0/28", "192.0.2.8/29"), ("2001:db8::/64", "2001:db8::/48")]
