"""A site's topology from its plan: nodes and VRFs with their table and ports, BGP peers and
ASNs, pools and what advertises them, and each egress service's path out. As Mermaid (GitHub
and GitLab draw it inline) or Graphviz DOT (`dot -Tsvg` makes an SVG)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

from symrouting.plan import Plan, Vrf


@dataclass(frozen=True)
class Port:
    name: str
    kind: str
    addresses: tuple[str, ...]


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", part) for part in parts)


def ports(vrf: Vrf) -> list[Port]:
    enslaved = set()
    for iface in vrf.desired_state.get("interfaces") or []:
        if iface.get("type") == "vrf":
            enslaved |= set((iface.get("vrf") or {}).get("port") or [])
    found = []
    for iface in vrf.desired_state.get("interfaces") or []:
        if iface.get("name") in enslaved:
            addresses = tuple(f"{a['ip']}/{a['prefix-length']}" for family in ("ipv4", "ipv6")
                              for a in (iface.get(family) or {}).get("address") or [])
            found.append(Port(str(iface["name"]), str(iface.get("type", "ethernet")), addresses))
    return found


def _port_towards(vrf: Vrf, address: str) -> str:
    """The port a peer is reached through: named by an unnumbered peer, else the port whose
    subnet holds the address, else the first."""
    candidates = ports(vrf)
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
    return [r for r in (vrf.desired_state.get("routes") or {}).get("config") or []
            if r.get("destination") in ("0.0.0.0/0", "::/0") and r.get("next-hop-address")]


def _egress_port(vrf: Vrf) -> str:
    """Where the VRF's egress leaves: the port towards its first default route's next hop."""
    routes = _default_routes(vrf)
    return _port_towards(vrf, routes[0]["next-hop-address"] if routes else "")


def _egress_label(vrf: Vrf) -> str:
    routes = " · ".join(f"{r['destination']} via {r['next-hop-address']}" for r in _default_routes(vrf))
    return f"egress · table {vrf.table_id}" + (f" · {routes}" if routes else "")


def _asn(peer_asn: str) -> str:
    return f"AS {peer_asn}" if peer_asn.isdigit() else f"{peer_asn} AS"


def _selector(vrf: Vrf) -> str:
    return ", ".join(f"{k}={v}" if v else k for k, v in sorted(vrf.node_selector.items())) or "every node"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(plan: Plan) -> str:
    lines = ["flowchart LR"]
    for vrf in plan.vrfs:
        lines.append(f'  subgraph {_id("vrf", vrf.name)}["VRF {vrf.name} · table {vrf.table_id} · nodes {_mermaid_text(_selector(vrf))}"]')
        lines.append("    direction TB")
        for port in ports(vrf):
            detail = "<br/>".join(port.addresses) or "no address"
            lines.append(f'    {_id("port", vrf.name, port.name)}["{port.name} ({port.kind})<br/>{detail}"]')
        lines.append("  end")
        for peer in vrf.peers:
            lines.append(f'  {_id("peer", peer.name)}(["BGP peer {peer.name}<br/>{peer.address} · {_asn(peer.peer_asn)}"])')
            lines.append(f'  {_id("port", vrf.name, _port_towards(vrf, peer.address))} <-->|"BGP · AS {peer.my_asn}"| {_id("peer", peer.name)}')
        for pool in vrf.pools:
            lines.append(f'  {_id("pool", pool.name)}[/"IPAddressPool {pool.name}<br/>{"<br/>".join(pool.addresses)}"/]')
        for adv in vrf.advertisements:
            for pool_name in adv.pools:
                for peer_name in adv.peers:
                    lines.append(f'  {_id("pool", pool_name)} -.->|"{adv.name}"| {_id("peer", peer_name)}')
        for egress in vrf.egress_services:
            service = _id("svc", egress.namespace, egress.name)
            lines.append(f'  {service}{{{{"Service {egress.namespace}/{egress.name}<br/>source IP: {egress.source_ip_by}"}}}}')
            if egress.address_pool:
                lines.append(f'  {_id("pool", egress.address_pool)} -->|"address"| {service}')
            lines.append(f'  {service} ==>|"{_egress_label(vrf)}"| {_id("port", vrf.name, _egress_port(vrf))}')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(plan: Plan) -> str:
    lines = ["digraph symmetric_routing {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']

    def node(name: str, label: str, shape: str) -> Iterator[str]:
        yield f'  {name} [label="{_dot_text(label)}", shape={shape}];'

    for vrf in plan.vrfs:
        lines.append(f"  subgraph cluster_{_id(vrf.name)} {{")
        lines.append(f'    label="{_dot_text(f"VRF {vrf.name} · table {vrf.table_id} · nodes {_selector(vrf)}")}";')
        for port in ports(vrf):
            lines += ["  " + line for line in node(_id("port", vrf.name, port.name),
                                                   "\n".join([f"{port.name} ({port.kind})", *port.addresses]), "box")]
        lines.append("  }")
        for peer in vrf.peers:
            lines += node(_id("peer", peer.name), f"BGP peer {peer.name}\n{peer.address} · {_asn(peer.peer_asn)}", "ellipse")
            lines.append(f'  {_id("port", vrf.name, _port_towards(vrf, peer.address))} -> {_id("peer", peer.name)} '
                         f'[dir=both, label="BGP · AS {peer.my_asn}"];')
        for pool in vrf.pools:
            lines += node(_id("pool", pool.name), "\n".join([f"IPAddressPool {pool.name}", *pool.addresses]), "parallelogram")
        for adv in vrf.advertisements:
            for pool_name in adv.pools:
                for peer_name in adv.peers:
                    lines.append(f'  {_id("pool", pool_name)} -> {_id("peer", peer_name)} [style=dashed, label="{_dot_text(adv.name)}"];')
        for egress in vrf.egress_services:
            service = _id("svc", egress.namespace, egress.name)
            lines += node(service, f"Service {egress.namespace}/{egress.name}\nsource IP: {egress.source_ip_by}", "hexagon")
            if egress.address_pool:
                lines.append(f'  {_id("pool", egress.address_pool)} -> {service} [label="address"];')
            lines.append(f'  {service} -> {_id("port", vrf.name, _egress_port(vrf))} '
                         f'[penwidth=2, label="{_dot_text(f"egress · table {vrf.table_id}")}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
