"""What to send nmstate so that a VRF leaves the nodes, and how to tell it has.

Deleting a NodeNetworkConfigurationPolicy leaves its configuration on the nodes; only a
desiredState that says `state: absent` removes it. removal_state() compares the state a
policy carries today with the one it will carry (none, on uninstall) and returns the
removals; with_removal() adds them to the new state, which is what a kept policy is sent.

The rules are nmstate's (nmstate rust/src/lib; kubernetes-nmstate pkg/client/client.go
ApplyDesiredState hands a policy's whole desiredState to `nmstatectl set`):
- an interface entry names only what it changes: a missing ipv4/ipv6 key leaves that family
  as it is (query_apply/base.rs BaseInterface::update), `enabled: false` takes its addresses
  off (ip.rs); so only the families the chart set are switched off, and only on the VRF's
  own ports, never on an interface given verbatim (policy.extraInterfaces);
- one entry per interface name: a second one replaces the first (ifaces/inter_ifaces.rs,
  Interfaces::push), so a removal never repeats a name the new state holds;
- a VRF's new route-table-id needs no removal: NetworkManager takes the VRF down first and
  brings it up on the new table (nm/query_apply/apply.rs, is_vrf_table_id_changed);
- routes and route rules are added to what the node has; `state: absent` takes off every
  current one it matches, before the others are added (route.rs MergedRoutes::new,
  route_rule.rs MergedRouteRules::new), so an absent entry must not match what any policy
  still declares on the node.
Nothing is set absent or switched off that another policy declares (declared()): its
non-removal entries, i.e. its new state even while it holds a prune's removals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from symrouting.facts import condition_true
from symrouting.labels import HOSTNAME, selector_matches
from symrouting.records import field, record

State = dict[str, Any]
Entry = dict[str, Any]
VIRTUAL_TYPES = ("vrf", "vlan", "bond")
FAMILIES = ("ipv4", "ipv6")
# What a switch-off entry holds: the name, the type, the state and the families it turns off.
SWITCH_OFF_KEYS = {"name", "type", "state", *FAMILIES}
# The first look at the enactments after a write waits this long, each next one twice as
# long up to --poll: a change nmstate applies in a second is seen in a second, a slow one
# costs few reads (the cleanup's, the wait's and the leftovers' removal).
FIRST_POLL = 0.25


def entries(state: State | None, section: str) -> list[Entry]:
    """A section's entries; what is no mapping is no entry. A policy's desiredState is free-form
    to the API server (x-kubernetes-preserve-unknown-fields in kubernetes-nmstate v0.86.0
    deploy/crds/nmstate.io_nodenetworkconfigurationpolicies.yaml), and nmstate refuses such a
    state before it reaches a node (tests/hooks/test_leftovers.py, with the real nmstate crate)."""
    return [entry for entry in ((state or {}).get(section) or {}).get("config") or [] if isinstance(entry, dict)]


def _absent(entry: Entry) -> bool:
    return entry.get("state") == "absent"


def _enabled(iface: Entry, family: str) -> bool:
    """Whether an interface entry sets that family up (the key given, not `enabled: false`)."""
    return isinstance(iface.get(family), dict) and iface[family].get("enabled", True) is not False


def _switches_off(iface: Entry) -> bool:
    """Whether an interface entry only takes addresses off: a removal, not a declaration."""
    families = [f for f in FAMILIES if f in iface]
    return (bool(families) and set(iface) <= SWITCH_OFF_KEYS and not _absent(iface)
            and all(not _enabled(iface, f) for f in families))


def _matches(absent: Entry, entry: Entry, ignored: tuple[str, ...] = ()) -> bool:
    """Whether an absent route or rule takes off an entry: every property it sets is the
    entry's, the rest are wildcards (nmstate route.rs RouteEntry::is_match, which ignores the
    metric, and route_rule.rs RouteRuleEntry::is_match)."""
    return all(entry.get(key) == value for key, value in absent.items() if key != "state" and key not in ignored)


def _match_route(absent: Entry, route: Entry) -> bool:
    return _matches(absent, route, ("metric",))


@record
class Declared:
    """What policies declare, removals aside: the interfaces they use (by name, also as a
    VLAN base, bond port, VRF port or next hop), the address families they set up on each,
    and their routes and route rules."""

    interfaces: set[str] = field(default_factory=set)
    families: set[tuple[str, str]] = field(default_factory=set)
    routes: list[Entry] = field(default_factory=list)
    rules: list[Entry] = field(default_factory=list)

    def add(self, state: State | None) -> Declared:
        # Called for every policy on every run of the hooks: the keys an entry lacks are not
        # looked up (an interface entry names a few of them).
        interfaces, families = self.interfaces, self.families
        for iface in (state or {}).get("interfaces") or []:
            if not isinstance(iface, dict) or _absent(iface) or \
                    (("ipv4" in iface or "ipv6" in iface) and _switches_off(iface)):
                continue
            name: Any = iface.get("name")
            interfaces.add(name)
            for key, ports in (("link-aggregation", "port"), ("vrf", "port"), ("vlan", "base-iface")):
                if key in iface:
                    found = (iface[key] or {}).get(ports)
                    if isinstance(found, list):
                        interfaces.update(found)
                    elif found:
                        interfaces.add(found)
            for family in FAMILIES:
                if family in iface and _enabled(iface, family):
                    families.add((name, family))
        if state and state.get("routes"):
            routes = [r for r in entries(state, "routes") if not _absent(r)]
            self.routes += routes
            interfaces.update(r["next-hop-interface"] for r in routes if r.get("next-hop-interface"))
        if state and state.get("route-rules"):
            self.rules += [r for r in entries(state, "route-rules") if not _absent(r)]
        return self

    @staticmethod
    def union(parts: list[Declared]) -> Declared:
        """What these declare together; the one part itself when there is one (not copied:
        the caller only reads it)."""
        if len(parts) == 1:
            return parts[0]
        result = Declared()
        for part in parts:
            result.interfaces |= part.interfaces
            result.families |= part.families
            result.routes += part.routes
            result.rules += part.rules
        return result


class Neighbours:
    """What a set of policies declares on each node (the cleanup's: the release's new policies
    and every other policy; the leftovers check's: every policy), read once per node.
    Policies are grouped by nodeSelector (a per-node policy under its hostname), so a node is
    matched against each distinct selector once, not against every policy; what a group
    declares is read at the first node it selects, once."""

    def __init__(self, states: list[tuple[dict[str, str], State]]) -> None:
        self.by_host: dict[str, list[tuple[dict[str, str], list[State]]]] = {}
        grouped: dict[Any, tuple[dict[str, str], list[State]]] = {}
        for selector, state in states:
            grouped.setdefault(_selector_key(selector), (selector, []))[1].append(state)
        self.general: list[tuple[dict[str, str], list[State]]] = []
        for selector, found in grouped.values():
            if HOSTNAME in selector:
                self.by_host.setdefault(selector[HOSTNAME], []).append((selector, found))
            else:
                self.general.append((selector, found))
        self.seen: dict[str, Declared] = {}
        self._read: dict[int, Declared] = {}

    def on(self, node: str, labels: dict[str, str]) -> Declared:
        """What the policies declare on this node (shared with nodes in the same groups: read
        it, do not change it)."""
        if node not in self.seen:
            parts = []
            for selector, found in self.general + self.by_host.get(labels.get(HOSTNAME, node), []):
                if selector_matches(selector, labels):
                    if id(found) not in self._read:
                        self._read[id(found)] = declared(found)
                    parts.append(self._read[id(found)])
            self.seen[node] = Declared.union(parts)
        return self.seen[node]


def _selector_key(selector: dict[str, str]) -> Any:
    """A nodeSelector as a dict key: its sorted pairs (its JSON when a value is no string)."""
    key = tuple(sorted(selector.items()))
    try:
        hash(key)
        return key
    except TypeError:
        return json.dumps(selector, sort_keys=True)


def declared(states: Iterable[State | None]) -> Declared:
    """What these states declare together (their removal entries left out)."""
    result = Declared()
    for state in states:
        result.add(state)
    return result


def removal_state(current: State, target: State | None, others: Declared | None = None) -> State | None:
    """The removals that take off a node what current has and neither target (the release's
    new state there) nor others (every other policy there) declares; None when nothing is.

    A virtual interface (VRF, VLAN, bond) goes absent; a port of current's VRFs only loses
    the address families current set on it (an absent NIC goes down). Removals current
    already holds (an earlier run's, which a node may have failed) are kept, so that a rerun
    sends them again and reports the nodes that still fail them instead of nothing."""
    keep = Declared.union([declared([target]), others or Declared()])
    ports = {port for iface in current.get("interfaces") or [] if iface.get("type") == "vrf" and not _absent(iface)
             for port in (iface.get("vrf") or {}).get("port") or []}
    interfaces = []
    for iface in current.get("interfaces") or []:
        name, kind = iface.get("name"), iface.get("type")
        if _absent(iface) or (kind in VIRTUAL_TYPES and name not in keep.interfaces):
            if name not in keep.interfaces:
                interfaces.append({"name": name, "type": kind, "state": "absent"})
            continue
        if _switches_off(iface):
            families = [f for f in FAMILIES if f in iface]
        else:
            families = [f for f in FAMILIES if _enabled(iface, f)] if name in ports else []
        off = [f for f in families if (name, f) not in keep.families]
        if off:
            interfaces.append({"name": name, "type": kind, "state": "up", **{f: {"enabled": False} for f in off}})
    routes = [{**route, "state": "absent"} for route in entries(current, "routes")
              if not any(_match_route(route, other) for other in keep.routes)]
    rules = [{**rule, "state": "absent"} for rule in entries(current, "route-rules")
             if not any(_matches(rule, other) for other in keep.rules)]
    if not (interfaces or routes or rules):
        return None
    state: State = {"interfaces": interfaces}
    if routes:
        state["routes"] = {"config": routes}
    if rules:
        state["route-rules"] = {"config": rules}
    return state


def with_removal(new_state: State, removal: State | None) -> State:
    """The new state with the removals added: what a policy the release keeps is sent, so
    that it declares its new state while the removals apply. A switch-off of a port the new
    state keeps joins that port's entry (one entry per name)."""
    if not removal:
        return new_state
    removed = removal.get("interfaces") or []
    off = {i["name"]: i for i in removed if not _absent(i)}
    interfaces = [{**{f: v for f, v in off.get(i.get("name"), {}).items() if f in FAMILIES}, **i}
                  for i in new_state.get("interfaces") or []]
    names = {i.get("name") for i in interfaces}
    state = {**new_state, "interfaces": interfaces + [i for i in removed if i["name"] not in names]}
    for section in ("routes", "route-rules"):
        if entries(removal, section):
            config = entries(new_state, section) + entries(removal, section)
            state[section] = {**(new_state.get(section) or {}), "config": config}
    return state


@record
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
    for node in sorted(by_node.keys() | nodes):
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
