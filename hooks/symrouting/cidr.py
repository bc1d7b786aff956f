"""CIDR and address-range math for route rules and address pools."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def network(text: str) -> Network:
    """The network a CIDR names, host bits cleared: nmstate applies a route rule's ip-to
    so (nmstate rust/src/lib/route_rule.rs, RouteRuleEntry::sanitize, with
    sanitize_ip_network in ip.rs: "192.0.3.1/23" becomes "192.0.2.0/23"), and the
    values schema accepts host bits."""
    return ipaddress.ip_network(text.strip(), strict=False)


def pool_networks(entry: str) -> list[Network]:
    """The networks an IPAddressPool entry spans: a CIDR, or a first-last range."""
    if "-" in entry:
        first_text, last_text = (part.strip() for part in entry.split("-", 1))
        first, last = ipaddress.ip_address(first_text), ipaddress.ip_address(last_text)
        if first.version != last.version or int(first) > int(last):
            raise ValueError(f"{entry!r} is not a range of one family, first before last")
        return list(ipaddress.summarize_address_range(first, last))
    return [ipaddress.ip_network(entry.strip(), strict=False)]


def overlaps(left: Iterable[Network], right: Iterable[Network]) -> list[tuple[Network, Network]]:
    """Every pair (l, r) that shares an address."""
    right_list = list(right)
    return [(a, b) for a in left for b in right_list if a.version == b.version and a.overlaps(b)]


def uncovered(required: Iterable[Network], covering: Iterable[Network]) -> list[Network]:
    """The required networks that no covering network contains whole."""
    covering_list = list(covering)
    return [
        need
        for need in required
        if not any(need.version == have.version and need.subnet_of(have) for have in covering_list)  # type: ignore[arg-type]
    ]


def contains(networks: Iterable[Network], address: str) -> bool:
    """Whether an address lies in one of the networks."""
    ip = ipaddress.ip_address(address)
    return any(ip.version == net.version and ip in net for net in networks)
