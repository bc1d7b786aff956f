"""What the nodes carry that no policy declares: leftovers of a release removed without its
cleanup (`helm uninstall --no-hooks`, cleanup.failOnError=false, an Argo CD that skips
pre-delete hooks). Deleting a policy leaves its VRF, routes and rules on the nodes
(kubernetes-nmstate: only `state: absent` removes them); NodeNetworkState shows them
(status.currentState, kubernetes-nmstate pkg/client/client.go UpdateCurrentState).

find() is the pure core: per node, the VRFs, the routes in tables other than main and the
route rules of its currentState that no policy selecting the node declares (nodeconfig.
declared: a policy's entries, its removals aside). A rule or route counts as declared when
a declared entry's properties are all its own (nmstate route_rule.rs / route.rs is_match:
the properties a policy leaves out are the node's defaults). removal() is the one-shot
desiredState that takes a node's leftovers off; `symrouting leftovers --remove` (commands.py,
which the hook Jobs do without) sends it as a policy selecting that node alone, waits for its
enactment, and deletes the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from symrouting.api import Transport
from symrouting.gather import NODE_STATES, POLICIES, Declaration, collect, declaration
from symrouting.labels import HOSTNAME
from symrouting.nodeconfig import FAMILIES, Declared, Neighbours, State, entries
from symrouting.records import record

# Tables that are the kernel's own, never a release's: unspec, default, main, local
# (iproute2 etc/iproute2/rt_tables).
SYSTEM_TABLES = (0, 253, 254, 255)
# OVN-Kubernetes' own, on every node, which the chart refuses (templates/validate/_ports.tpl):
# table 7, its route to the service network through the management port (v1.3.0
# pkg/node/managementport/port_linux.go ovnkubeSvcViaMgmPortRT), and 1000 up, its EgressIP
# tables and user-defined networks' VRFs (pkg/util/net.go routingTableIDStart).
OVN_KUBERNETES_TABLE = 7
OVN_KUBERNETES_TABLES_FROM = 1000


def _never_a_releases(table: int) -> bool:
    return table in SYSTEM_TABLES or table == OVN_KUBERNETES_TABLE or table >= OVN_KUBERNETES_TABLES_FROM


@record(frozen=True)
class Leftover:
    node: str
    kind: str  # vrf | address (on a leftover VRF's port) | route | rule
    entry: tuple[tuple[str, Any], ...]  # the currentState entry, as sorted items

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.entry)

    @property
    def table(self) -> int | None:
        found = self.fields
        value = (found.get("route-table-id") if self.kind == "vrf" else
                 found.get("table-id") if self.kind == "route" else found.get("route-table"))
        return int(value) if value is not None else None

    def describe(self) -> str:
        found = self.fields
        if self.kind == "vrf":
            return f"VRF {found.get('name')} (table {self.table})"
        if self.kind == "address":
            return f"{found.get('family')} addresses on {found.get('name')}"
        if self.kind == "route":
            return (f"route {found.get('destination')} via {found.get('next-hop-address', '-')} "
                    f"dev {found.get('next-hop-interface', '-')} in table {self.table}")
        match = ", ".join(f"{k} {v}" for k, v in sorted(found.items()) if k not in ("route-table", "state"))
        return f"rule {match} to table {self.table}"


def _items(entry: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A route's or rule's scalar properties, sorted: hashable, and what an absent entry needs."""
    return tuple(sorted((k, v) for k, v in entry.items() if not isinstance(v, (dict, list))))


def _declared_by(entry: dict[str, Any], wanted: list[dict[str, Any]], ignored: tuple[str, ...] = ()) -> bool:
    """Whether any wanted entry's properties (state and ignored aside) are all the entry's."""
    skipped = ("state", *ignored)
    for want in wanted:  # loops, not any(all(...)): this runs for every rule of every node
        for key, value in want.items():
            if entry.get(key) != value and key not in skipped:
                break
        else:
            return True
    return False


def on_node(node: str, current: State, declares: Declared) -> list[Leftover]:
    """The leftovers of one node: its currentState less what the policies on it declare."""
    found = []
    interfaces = {iface.get("name"): iface for iface in current.get("interfaces") or [] if isinstance(iface, dict)}
    for iface in interfaces.values():
        if iface.get("type") == "vrf" and iface.get("name") not in declares.interfaces:
            table = (iface.get("vrf") or {}).get("route-table-id")
            if isinstance(table, int) and _never_a_releases(table):
                continue  # OVN-Kubernetes' VRF of a user-defined network
            found.append(Leftover(node, "vrf", (("name", iface.get("name")), ("route-table-id", table))))
            # Its ports keep their addresses when it goes: those no policy sets up are leftovers too.
            for port in (iface.get("vrf") or {}).get("port") or []:
                for family in FAMILIES:
                    if ((interfaces.get(port) or {}).get(family) or {}).get("address") and \
                            (port, family) not in declares.families:
                        kind = (interfaces.get(port) or {}).get("type", "ethernet")
                        found.append(Leftover(node, "address", (("family", family), ("name", port), ("type", kind))))
    for route in entries(current, "routes"):
        try:
            if _never_a_releases(int(route.get("table-id") or 254)):
                continue
        except (TypeError, ValueError):
            # nmstate takes a u32 or its digits (v2.2.62 rust/src/lib/route.rs, RouteEntry.table_id,
            # option_u32_or_string): anything else is no route it put there
            continue
        if not _declared_by(route, declares.routes, ("metric",)):
            found.append(Leftover(node, "route", _items(route)))
    for rule in entries(current, "route-rules"):
        if not _declared_by(rule, declares.rules):
            found.append(Leftover(node, "rule", _items(rule)))
    return found


def finder(policies: Iterable[Declaration], labels: dict[str, dict[str, str]]) -> Callable[[str, State], list[Leftover]]:
    """A node's leftovers from its name and currentState, against these policies: a reader of
    NodeNetworkStates can find them node by node, as each page comes, and keep no state."""
    # Grouped by selector, each group read once (nodeconfig.Neighbours): 500 nodes x 2,000
    # policies were a million matches.
    neighbours = Neighbours(list(policies))
    return lambda node, current: on_node(node, current, neighbours.on(node, labels.get(node, {HOSTNAME: node})))


def find(node_states: dict[str, State], policies: Iterable[Declaration],
         labels: dict[str, dict[str, str]]) -> list[Leftover]:
    """Every node's leftovers: what its currentState holds that no policy on it declares."""
    on = finder(policies, labels)
    result = []
    for node in sorted(node_states):
        result += on(node, node_states[node])
    return result


def removal(leftovers: Iterable[Leftover]) -> State:
    """The desiredState that takes these leftovers off a node: each VRF absent (nmstate takes
    the routes of its table with it), each route and rule absent as the node shows it."""
    state: State = {}
    for item in leftovers:
        found = item.fields
        if item.kind == "vrf":
            state.setdefault("interfaces", []).append({"name": found["name"], "type": "vrf", "state": "absent"})
        elif item.kind == "address":
            # the port stays; its family switched off takes its addresses (nmstate ip.rs)
            state.setdefault("interfaces", []).append({"name": found["name"], "type": found["type"],
                                                       "state": "up", found["family"]: {"enabled": False}})
        else:
            section = "routes" if item.kind == "route" else "route-rules"
            state.setdefault(section, {"config": []})["config"].append({**found, "state": "absent"})
    return state


def clashes(leftovers: Iterable[Leftover], names: set[str], tables: set[int]) -> list[Leftover]:
    """The leftovers that take a VRF name or a table the release is about to use."""
    return [item for item in leftovers
            if (item.kind == "vrf" and item.fields.get("name") in names) or item.table in tables]


def read_states(transport: Transport, malformed: list[str]) -> dict[str, State] | None:
    """Each node's currentState from its NodeNetworkState; None when the cluster serves none."""
    states = collect(transport, NODE_STATES, lambda item: (item["metadata"]["name"],
                     ((item.get("status") or {}).get("currentState") or {})), malformed)
    return None if states is None else dict(states)


def read(transport: Transport, malformed: list[str], labels: dict[str, dict[str, str]] | None = None,
         policies: list[Declaration] | None = None, states: dict[str, State] | None = None,
         ) -> tuple[list[Leftover], dict[str, dict[str, str]]] | None:
    """The cluster's leftovers (None when it serves no NodeNetworkState) and the nodes' labels.
    The states, the labels and the policies' declarations are read here unless the caller has
    them: the preflight reads them side by side with its other facts."""
    if states is None:
        states = read_states(transport, malformed)
        if states is None:
            return None
    if policies is None:
        policies = collect(transport, POLICIES, declaration, malformed) or []
    if labels is None:
        labels = dict(collect(transport, "/api/v1/nodes", lambda item: (item["metadata"]["name"],
                      item["metadata"].get("labels") or {}), malformed, metadata_only=True) or [])
    return find(states, policies, labels), labels


def by_node(leftovers: Iterable[Leftover]) -> dict[str, list[Leftover]]:
    grouped: dict[str, list[Leftover]] = {}
    for item in leftovers:
        grouped.setdefault(item.node, []).append(item)
    return grouped


def lines(leftovers: list[Leftover]) -> list[str]:
    """One line per node: what it carries that no policy declares."""
    return [f"{node}: {', '.join(item.describe() for item in items)}" for node, items in sorted(by_node(leftovers).items())]
