"""A site's topology from its plan: nodes and VRFs with their table and ports, BGP peers and
ASNs, pools and what advertises them, and each egress service's path out. As Mermaid (GitHub
and GitLab draw it inline) or Graphviz DOT (`dot -Tsvg` makes an SVG)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from symrouting.plan import Plan, Vrf
from symrouting.records import record


SHOWN_NODES = 3


@record(frozen=True)
class Port:
    name: str
    kind: str
    # Every address the port gets, on any node (for finding the port towards a peer).
    addresses: tuple[str, ...]
    # What the box shows under its name: the addresses, one row per node with a `nodes`
    # table (the first few, then how many more), or how the port is addressed.
    lines: tuple[str, ...]


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", part) for part in parts)


def _addressing(iface: dict[str, Any]) -> tuple[list[str], list[str]]:
    """A port interface's static addresses, and the dynamic methods it uses (dhcp, autoconf)."""
    static, dynamic = [], []
    for family in ("ipv4", "ipv6"):
        ip = iface.get(family) or {}
        static += [f"{a['ip']}/{a['prefix-length']}" for a in ip.get("address") or []]
        if ip.get("dhcp"):
            dynamic.append(f"{family} {'autoconf' if ip.get('autoconf') else 'dhcp'}")
    return static, dynamic


def ports(vrf: Vrf) -> list[Port]:
    states = [(policy.node, policy.desired_state.get("interfaces") or []) for policy in vrf.policies]
    # Every policy of a VRF enslaves the same ports; the first says which and of what type.
    first = states[0][1] if states else []
    enslaved = next((list((i.get("vrf") or {}).get("port") or []) for i in first if i.get("type") == "vrf"), [])
    kinds = {str(iface.get("name")): str(iface.get("type", "ethernet")) for iface in first}
    found = []
    for name in enslaved:
        addresses: list[str] = []
        rows: list[str] = []
        for node, interfaces in states:
            for iface in interfaces:
                if iface.get("name") != name:
                    continue
                static, dynamic = _addressing(iface)
                addresses += static
                shown = ", ".join(static + dynamic)
                if shown and (not rows or node):
                    rows.append(f"{node}: {shown}" if node else shown)
        more = len(rows) - SHOWN_NODES if vrf.nodes else 0
        lines = rows[:SHOWN_NODES] + [f"… and {more} more node(s)"] if more > 0 else rows
        found.append(Port(name, kinds.get(name, "ethernet"), tuple(addresses), tuple(lines)))
    return found


def _port_towards(vrf: Vrf, candidates: list[Port], address: str) -> str:
    """The port (of the VRF's, as ports() found them) a peer is reached through: named by an
    unnumbered peer, else the port whose subnet holds the address, else the first."""
    for port in candidates:
        if port.name == address:
            return port.name
        for interface in port.addresses:
            try:
                if ipaddress.ip_address(address) in ipaddress.ip_interface(interface).network:
                    return port.name
            except ValueError:
                continue
    return candidates[0].name if candidates else vrf.name


def _default_routes(vrf: Vrf) -> list[dict[str, str]]:
    state = vrf.policies[0].desired_state if vrf.policies else {}
    return [r for r in (state.get("routes") or {}).get("config") or []
            if r.get("destination") in ("0.0.0.0/0", "::/0") and r.get("next-hop-address")]


def _egress_port(vrf: Vrf, candidates: list[Port]) -> str:
    """Where the VRF's egress leaves: the port towards its first default route's next hop."""
    routes = _default_routes(vrf)
    return _port_towards(vrf, candidates, routes[0]["next-hop-address"] if routes else "")


def _egress_label(vrf: Vrf) -> str:
    routes = " · ".join(f"{r['destination']} via {r['next-hop-address']}" for r in _default_routes(vrf))
    return f"egress · table {vrf.table_id}" + (f" · {routes}" if routes else "")


def _asn(peer_asn: str) -> str:
    return f"AS {peer_asn}" if peer_asn.isdigit() else f"{peer_asn} AS"


def _selector(vrf: Vrf) -> str:
    labels = ", ".join(f"{k}={v}" if v else k for k, v in sorted(vrf.node_selector.items()))
    if vrf.nodes:
        return f"{len(vrf.nodes)} listed" + (f", {labels}" if labels else "")
    return labels or "every node"


@record(frozen=True)
class Node:
    id: str
    shape: str  # port, peer, pool or service
    lines: tuple[str, ...]


@record(frozen=True)
class Edge:
    source: str
    target: str
    style: str  # bgp, advertise, address or egress
    label: str


@record(frozen=True)
class Section:
    """One VRF: its box of ports, then what hangs on it, in drawing order."""

    id: str
    title: str
    ports: tuple[Node, ...]
    items: tuple[Node | Edge, ...]


def graph(plan: Plan) -> list[Section]:
    """The topology once, for both renderers."""
    sections = []
    for vrf in plan.vrfs:
        found = ports(vrf)  # once per VRF: it reads every node's policy
        port_nodes = tuple(Node(_id("port", vrf.name, port.name), "port",
                                (f"{port.name} ({port.kind})", *(port.lines or ("no address",))))
                           for port in found)
        items: list[Node | Edge] = []
        for peer in vrf.peers:
            items.append(Node(_id("peer", peer.name), "peer", (f"BGP peer {peer.name}", f"{peer.address} · {_asn(peer.peer_asn)}")))
            items.append(Edge(_id("port", vrf.name, _port_towards(vrf, found, peer.address)), _id("peer", peer.name), "bgp",
                              f"BGP · AS {peer.my_asn}"))
        items += [Node(_id("pool", pool.name), "pool", (f"IPAddressPool {pool.name}", *pool.addresses)) for pool in vrf.pools]
        items += [Edge(_id("pool", pool_name), _id("peer", peer_name), "advertise", adv.name)
                  for adv in vrf.advertisements for pool_name in adv.pools for peer_name in adv.peers]
        for egress in vrf.egress_services:
            service = _id("svc", egress.namespace, egress.name)
            items.append(Node(service, "service", (f"Service {egress.namespace}/{egress.name}", f"source IP: {egress.source_ip_by}")))
            if egress.address_pool:
                items.append(Edge(_id("pool", egress.address_pool), service, "address", "address"))
            items.append(Edge(service, _id("port", vrf.name, _egress_port(vrf, found)), "egress", _egress_label(vrf)))
        sections.append(Section(_id("vrf", vrf.name), f"VRF {vrf.name} · table {vrf.table_id} · nodes {_selector(vrf)}",
                                port_nodes, tuple(items)))
    return sections


_MERMAID_SHAPES = {"port": ('["', '"]'), "peer": ('(["', '"])'), "pool": ('[/"', '"/]'), "service": ('{{"', '"}}')}
_MERMAID_ARROWS = {"bgp": "<-->", "advertise": "-.->", "address": "-->", "egress": "==>"}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _mermaid_node(node: Node) -> str:
    opening, closing = _MERMAID_SHAPES[node.shape]
    return f"{node.id}{opening}{_mermaid_text('<br/>'.join(node.lines))}{closing}"


def mermaid(plan: Plan) -> str:
    lines = ["flowchart LR"]
    for section in graph(plan):
        lines.append(f'  subgraph {section.id}["{_mermaid_text(section.title)}"]')
        lines.append("    direction TB")
        lines += [f"    {_mermaid_node(port)}" for port in section.ports]
        lines.append("  end")
        for item in section.items:
            if isinstance(item, Node):
                lines.append(f"  {_mermaid_node(item)}")
            else:
                lines.append(f'  {item.source} {_MERMAID_ARROWS[item.style]}|"{_mermaid_text(item.label)}"| {item.target}')
    return "\n".join(lines) + "\n"


_DOT_SHAPES = {"port": "box", "peer": "ellipse", "pool": "parallelogram", "service": "hexagon"}
_DOT_EDGES = {"bgp": "dir=both, ", "advertise": "style=dashed, ", "address": "", "egress": "penwidth=2, "}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _dot_node(node: Node) -> str:
    return f'{node.id} [label="{_dot_text(chr(10).join(node.lines))}", shape={_DOT_SHAPES[node.shape]}];'


def dot(plan: Plan) -> str:
    lines = ["digraph symmetric_routing {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for section in graph(plan):
        lines.append(f"  subgraph cluster_{section.id} {{")
        lines.append(f'    label="{_dot_text(section.title)}";')
        lines += [f"    {_dot_node(port)}" for port in section.ports]
        lines.append("  }")
        for item in section.items:
            if isinstance(item, Node):
                lines.append(f"  {_dot_node(item)}")
            else:
                lines.append(f'  {item.source} -> {item.target} [{_DOT_EDGES[item.style]}label="{_dot_text(item.label)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
