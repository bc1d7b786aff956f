"""What to send nmstate so that a VRF leaves the nodes, and how to tell it has.

Deleting a NodeNetworkConfigurationPolicy leaves its configuration on the nodes; only a
desiredState that says `state: absent` removes it. removal_state() compares the state a
policy carries today with the one it will carry (none, on uninstall) and returns the
removals: interfaces the chart created (VRF, VLAN, bond) set absent (a VRF also when its
table id changes), a physical port only
stripped of its addresses (an absent NIC goes down), routes and route rules set absent,
except rules that another policy still declares (the main-table rules for the cluster's
CIDRs are the same for every tenant).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from symrouting.facts import condition_true

State = dict[str, Any]
VIRTUAL_TYPES = ("vrf", "vlan", "bond")


def route_key(route: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(route.get(k) for k in ("destination", "next-hop-address", "next-hop-interface", "table-id", "route-type"))


def rule_key(rule: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v) for k, v in rule.items() if k != "state"))


def _config(state: State | None, section: str) -> list[dict[str, Any]]:
    return list(((state or {}).get(section) or {}).get("config") or [])


def declared_rules(states: Iterable[State]) -> set[tuple[tuple[str, Any], ...]]:
    return {rule_key(rule) for state in states for rule in _config(state, "route-rules") if rule.get("state") != "absent"}


def removal_state(current: State, target: State | None, kept_rules: set[tuple[tuple[str, Any], ...]] = frozenset()) -> State | None:  # type: ignore[assignment]
    """The desiredState that removes what current has and target lacks; None when nothing is."""
    target_interfaces = {iface.get("name"): iface for iface in (target or {}).get("interfaces") or []}
    interfaces = []
    for iface in current.get("interfaces") or []:
        name, kind = iface.get("name"), iface.get("type")
        if iface.get("state") == "absent":
            continue
        if name in target_interfaces:
            # A VRF keeps its routing table for life: a new table id means a new VRF, so the
            # old one goes and the new policy creates it again.
            old_table = (iface.get("vrf") or {}).get("route-table-id")
            new_table = (target_interfaces[name].get("vrf") or {}).get("route-table-id")
            if kind == "vrf" and old_table != new_table:
                interfaces.append({"name": name, "type": "vrf", "state": "absent"})
            continue
        if kind in VIRTUAL_TYPES:
            interfaces.append({"name": name, "type": kind, "state": "absent"})
        elif kind == "ethernet" and (iface.get("ipv4") or iface.get("ipv6")):
            interfaces.append({"name": name, "type": "ethernet", "state": "up",
                               "ipv4": {"enabled": False}, "ipv6": {"enabled": False}})
    target_routes = {route_key(r) for r in _config(target, "routes")}
    routes = [{**route, "state": "absent"} for route in _config(current, "routes")
              if route.get("state") != "absent" and route_key(route) not in target_routes]
    keep = declared_rules([target] if target else []) | set(kept_rules)
    rules = [{**rule, "state": "absent"} for rule in _config(current, "route-rules")
             if rule.get("state") != "absent" and rule_key(rule) not in keep]
    if not (interfaces or routes or rules):
        return None
    state: State = {"interfaces": interfaces}
    if routes:
        state["routes"] = {"config": routes}
    if rules:
        state["route-rules"] = {"config": rules}
    return state


@dataclass
class Progress:
    """Where a policy's generation stands on its nodes, from their enactments."""

    applied: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return not self.pending


def enactment_node(enactment: dict[str, Any]) -> str:
    """The node an enactment speaks for: its nmstate.io/node label, else the first part of
    its name, "<node>.<policy>"."""
    labels = (enactment.get("metadata") or {}).get("labels") or {}
    return str(labels.get("nmstate.io/node") or str((enactment.get("metadata") or {}).get("name", "")).split(".", 1)[0])


def enactment_progress(enactments: Iterable[dict[str, Any]], generation: int, nodes: Iterable[str]) -> Progress:
    """Applied, failed and pending nodes of a policy generation.

    A node counts only once its enactment reports that generation: until then its conditions
    speak of the policy as it was before the update.
    """
    by_node = {enactment_node(enactment): enactment for enactment in enactments}
    progress = Progress()
    for node in sorted(set(nodes) | set(by_node)):
        reported = by_node.get(node)
        if reported is None or (reported.get("status") or {}).get("policyGeneration") != generation:
            progress.pending.append(node)
        elif condition_true(reported, "Available"):
            progress.applied.append(node)
        elif (failure := condition_true(reported, "Failing") or condition_true(reported, "Aborted")):
            progress.failed.append((node, str(failure.get("message") or failure.get("reason") or "failed")))
        else:
            progress.pending.append(node)
    return progress
