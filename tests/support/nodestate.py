"""One node as nmstate leaves it: what a series of desiredStates, applied in turn, puts on it.

Only what the chart touches is kept: interfaces (VRF, VLAN, bond, or a NIC) with their
addresses, the routes and the route rules. The rules are nmstate's: an interface set absent
goes (a NIC cannot be, so the chart never asks), an address family with `enabled: false`
loses its addresses, an interface state mentions only what it changes, a VRF keeps the table
it was made with, and routes and rules are added, or removed by `state: absent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Route = tuple[Any, ...]


def _key(entry: dict[str, Any]) -> Route:
    return tuple(sorted((k, v) for k, v in entry.items() if k != "state"))


@dataclass
class Node:
    interfaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: set[Route] = field(default_factory=set)
    rules: set[Route] = field(default_factory=set)

    def apply(self, state: dict[str, Any]) -> None:
        for interface in state.get("interfaces") or []:
            name = interface["name"]
            if interface.get("state") == "absent":
                self.interfaces.pop(name, None)
                continue
            current = self.interfaces.setdefault(name, {"type": interface["type"], "ipv4": set(), "ipv6": set()})
            for family in ("ipv4", "ipv6"):
                if family in interface:
                    settings = interface[family]
                    current[family] = ({(a["ip"], a["prefix-length"]) for a in settings.get("address") or []}
                                       if settings.get("enabled", True) else set())
            if interface["type"] == "vrf":
                table = interface["vrf"]["route-table-id"]
                if current.get("table", table) != table:
                    # The kernel keeps a VRF's table for the VRF's life; nmstate fails the change.
                    raise ValueError(f"{name}: a VRF cannot move from table {current['table']} to {table}")
                current["table"] = table
        for collection, section in ((self.routes, "routes"), (self.rules, "route-rules")):
            for entry in (state.get(section) or {}).get("config") or []:
                if entry.get("state") == "absent":
                    collection.discard(_key(entry))
                else:
                    collection.add(_key(entry))

    def managed(self) -> dict[str, Any]:
        """What the node carries that the chart put there: virtual interfaces, addresses (on
        any interface), routes and rules. A NIC with no address left is just the NIC."""
        return {
            "virtual": {name: (i["type"], i.get("table")) for name, i in self.interfaces.items() if i["type"] != "ethernet"},
            "addresses": {name: (sorted(i["ipv4"]), sorted(i["ipv6"])) for name, i in self.interfaces.items()
                          if i["ipv4"] or i["ipv6"]},
            "routes": self.routes,
            "rules": self.rules,
        }


def node_after(*states: dict[str, Any]) -> Node:
    node = Node()
    for state in states:
        node.apply(state)
    return node
