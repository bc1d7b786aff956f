"""One node as nmstate leaves it: what a series of desiredStates, applied in turn, puts on it.

Only what the chart touches is kept: interfaces (VRF, VLAN, bond, or a NIC) with their
addresses, the routes and the route rules. The rules are nmstate's (rust/src/lib):
- one entry per interface name: a repeated name's last entry replaces the others whole
  (ifaces/inter_ifaces.rs, Interfaces::push);
- an interface set absent goes (a NIC cannot be, so the chart never asks), and so do the
  routes through it; an address family with `enabled: false` loses its addresses and the
  routes of that family through it (route.rs MergedRoutes::new);
- an interface entry mentions only what it changes: a missing ipv4/ipv6 key, or a family
  without `address` (DHCP), leaves the addresses as they are (query_apply/base.rs
  BaseInterface::update, query_apply/ip.rs InterfaceIpv4::update);
- a VRF given a new table is taken down and brought up on it (nm/query_apply/apply.rs,
  is_vrf_table_id_changed);
- routes and rules are added to what the node has; an absent one first takes off every
  current one it matches: each property it sets equal, the others wildcards, a route's
  metric ignored (route.rs RouteEntry::is_match, route_rule.rs RouteRuleEntry::is_match);
- an MTU above what the NIC allows is refused before anything is applied, with nmstate's
  InvalidArgument message (nmstate v2.2.37 rust/src/lib/ifaces/base.rs, validate_mtu), and
  the node keeps its state; an MTU, once set, stays until a state sets another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Route = tuple[Any, ...]


def _key(entry: dict[str, Any]) -> Route:
    return tuple(sorted((k, v) for k, v in entry.items() if k != "state"))


def _matches(absent: dict[str, Any], entry: dict[str, Any], ignored: tuple[str, ...]) -> bool:
    return all(entry.get(k) == v for k, v in absent.items() if k != "state" and k not in ignored)


class Refused(ValueError):
    """A desiredState nmstate refuses on this node, with nmstate's own message."""


@dataclass
class Node:
    interfaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: set[Route] = field(default_factory=set)
    rules: set[Route] = field(default_factory=set)
    # The largest MTU each NIC takes (nispor's max_mtu); a NIC not named takes any.
    max_mtu: dict[str, int] = field(default_factory=dict)

    def apply(self, state: dict[str, Any]) -> None:
        # One entry per kernel interface name: a later one replaces an earlier one whole
        # (nmstate rust/src/lib/ifaces/inter_ifaces.rs, Interfaces::push inserts into the
        # kernel_ifaces HashMap by name), not merged with it.
        entries = {interface["name"]: interface for interface in state.get("interfaces") or []}
        for interface in entries.values():
            limit, mtu = self.max_mtu.get(interface["name"]), interface.get("mtu")
            if limit is not None and mtu is not None and mtu > limit:
                raise Refused(f"InvalidArgument: Desired MTU {mtu} for interface {interface['name']} "
                              f"is bigger than maximum allowed MTU {limit}")
        for interface in entries.values():
            name = interface["name"]
            if interface.get("state") == "absent":
                self.interfaces.pop(name, None)
                self._drop_routes(name, ("ipv4", "ipv6"))
                continue
            current = self.interfaces.setdefault(name, {"type": interface["type"], "ipv4": set(), "ipv6": set()})
            for family in ("ipv4", "ipv6"):
                settings = interface.get(family)
                if settings is None:
                    continue
                if settings.get("enabled", True) is False:
                    current[family] = set()
                    self._drop_routes(name, (family,))
                elif "address" in settings:
                    current[family] = {(a["ip"], a["prefix-length"]) for a in settings["address"] or []}
            if interface["type"] == "vrf":
                current["table"] = interface["vrf"]["route-table-id"]
                current["ports"] = list(interface["vrf"].get("port", current.get("ports", [])))
            if "mtu" in interface:
                current["mtu"] = interface["mtu"]
        for collection, section, ignored in ((self.routes, "routes", ("metric",)), (self.rules, "route-rules", ())):
            entries = (state.get(section) or {}).get("config") or []
            for absent in (e for e in entries if e.get("state") == "absent"):
                for key in [k for k in collection if _matches(absent, dict(k), ignored)]:
                    collection.discard(key)
            collection.update(_key(e) for e in entries if e.get("state") != "absent")

    def _drop_routes(self, interface: str, families: tuple[str, ...]) -> None:
        for key in list(self.routes):
            route = dict(key)
            family = "ipv6" if ":" in str(route.get("destination", "")) else "ipv4"
            if route.get("next-hop-interface") == interface and family in families:
                self.routes.discard(key)

    def managed(self) -> dict[str, Any]:
        """What the node carries that the chart put there: virtual interfaces, addresses (on
        any interface), routes and rules. A NIC with no address left is just the NIC."""
        return {
            "virtual": {name: (i["type"], i.get("table")) for name, i in self.interfaces.items() if i["type"] != "ethernet"},
            "addresses": {name: (sorted(i["ipv4"]), sorted(i["ipv6"])) for name, i in self.interfaces.items()
                          if i["ipv4"] or i["ipv6"]},
            "routes": self.routes,
            "rules": self.rules,
            # only where a state set one: what nodes carry without an MTU stays as it was
            **({"mtu": mtu} if (mtu := {name: i["mtu"] for name, i in self.interfaces.items() if "mtu" in i}) else {}),
        }


def node_after(*states: dict[str, Any]) -> Node:
    node = Node()
    for state in states:
        node.apply(state)
    return node
