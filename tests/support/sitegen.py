"""Random but valid sites, each drawn from a numbered seed: the shapes nobody wrote down as a
ci/ site (VLAN and bond ports beside plain ones, dual stack, unnumbered peers, several pools
with explicit and default advertisements, both egress modes, VRFs with a per-node address
table), for tests that render them and run the hooks on them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

SEEDS = range(12)


def generate_site(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    dual_stack = rng.random() < 0.4
    site: dict[str, Any] = {
        "platform": rng.choice(["openshift", "kubernetes"]),
        "tenant": f"gen-{seed}",
        "metallb": {"version": rng.choice(["0.15", "0.16.1"])},
        "cluster": {"serviceNetwork": ["172.30.0.0/16"], "clusterNetwork": ["10.128.0.0/14"],
                    "masqueradeSubnet": ["169.254.0.0/17"]},
        "vrfs": {},
    }
    if dual_stack:
        site["cluster"] = {key: cidrs + [v6] for (key, cidrs), v6 in
                           zip(site["cluster"].items(), ("fd02::/112", "fd01::/48", "fd69::/112"))}
    bfd = rng.random() < 0.4
    if bfd:
        site["bfdProfiles"] = {"fast": {"receiveInterval": 300, "transmitInterval": 300, "detectMultiplier": 3}}
    aliases = rng.random() < 0.4
    if aliases:
        site["communities"] = {"aliases": {"no-export": "65535:65281"}}
    nics = (f"ens{n}" for n in range(1, 1000))
    for index in range(rng.randint(1, 4)):
        name = f"v{index}"
        vrf: dict[str, Any] = {"tableId": 10 + index * 7, "myASN": 64512 + index,
                               "policy": {"nodeSelector": {f"tenant.example.com/{name}": "true"}}}
        ports: dict[str, Any] = {}
        for port_index in range(rng.choice([1, 1, 2])):
            kind = rng.choice(["ethernet", "vlan", "bond"])
            if kind == "vlan":
                vlan_id = 100 + port_index
                base = next(nics)
                port_name = f"{base}.{vlan_id}"
                port: dict[str, Any] = {"type": "vlan", "vlan": {"baseInterface": base, "id": vlan_id}}
            elif kind == "bond":
                port_name = f"bond{index}{port_index}"
                port = {"type": "bond", "bond": {"mode": rng.choice(["active-backup", "802.3ad"]),
                                                 "ports": [next(nics), next(nics)]}}
            else:
                port_name, port = next(nics), {}
            port["ipv4"] = [f"10.{index}.{port_index}.10/24"]
            if dual_stack:
                port["ipv6"] = [f"fd00:{index}:{port_index}::10/64"]
            if rng.random() < 0.3:
                port["mtu"] = 9000
            ports[port_name] = port
        vrf["ports"] = ports
        if rng.random() < 0.4:
            per_node(vrf, rng.randint(2, 3))
        # the port made first holds 10.<index>.0.10/24, the gateway's subnet
        first_port = next(iter(ports))
        routes = [{"destination": "0.0.0.0/0", "nextHopAddress": f"10.{index}.0.1"}]
        if dual_stack:
            routes.append({"destination": "::/0", "nextHopAddress": f"fd00:{index}:0::1"})
        if len(ports) > 1:
            for route in routes:
                route["nextHopInterface"] = first_port
        vrf["routes"] = routes
        peers: dict[str, Any] = {}
        for peer_index in range(rng.randint(1, 3)):
            peer: dict[str, Any] = {}
            if rng.random() < 0.2 and not any("interface" in p for p in peers.values()):
                # one unnumbered session per port: MetalLB refuses a second to the same peer
                peer["interface"] = first_port
            else:
                peer["peerAddress"] = f"10.{index}.0.{1 + peer_index}"
            if rng.random() < 0.2:
                peer["dynamicASN"] = "external"
            else:
                # a third peer is iBGP, the only kind LOCAL_PREF reaches (FRR bgpd/bgp_attr.c)
                peer["peerASN"] = vrf["myASN"] if peer_index == 2 else 65000 + index
            if dual_stack and "peerAddress" in peer:
                # MetalLB announces a family only to a peer that carries it (internal/bgp/frr/frr.go)
                peer["dualStackAddressFamily"] = True
            if rng.random() < 0.3:
                peer.update(holdTime="9s", keepaliveTime="3s")
            if bfd and rng.random() < 0.5:
                peer["bfdProfile"] = "fast"
            if rng.random() < 0.3:
                peer["password"] = f"secret-{seed}-{index}-{peer_index}"
            peers[f"p{peer_index}"] = peer
        vrf["bgpPeers"] = peers
        pools: dict[str, Any] = {}
        for pool_index in range(rng.randint(1, 3)):
            if rng.random() < 0.3:
                addresses = [f"198.{18 + index}.{pool_index}.10-198.{18 + index}.{pool_index}.20"]
            else:
                addresses = [f"198.{18 + index}.{pool_index}.0/28"]
            if dual_stack and rng.random() < 0.5:
                addresses.append(f"fd10:{index}:{pool_index}::/120")
            pools[f"pool{pool_index}"] = {"addresses": addresses}
        vrf["addressPools"] = pools
        advertisements: dict[str, Any] = {"all": {}}
        if rng.random() < 0.6:
            chosen_pools = rng.sample(sorted(pools), rng.randint(1, len(pools)))
            chosen_peers = rng.sample(sorted(peers), rng.randint(1, len(peers)))
            explicit: dict[str, Any] = {"ipAddressPools": sorted(chosen_pools), "peers": sorted(chosen_peers)}
            if any(peers[key].get("peerASN") == vrf["myASN"] for key in chosen_peers):
                explicit["localPref"] = 150
            communities = ["64512:100"] + (["no-export"] if aliases else [])
            explicit["communities"] = communities
            if rng.random() < 0.5:
                explicit["aggregationLength"] = 32
            advertisements["explicit"] = explicit
            # MetalLB refuses two localPrefs for one pool, peer and aggregation length
            # (metallb internal/config/config.go BGPAdvertisementsHaveCompatibleLocalPref)
            if "localPref" in explicit:
                advertisements["all"]["localPref"] = explicit["localPref"]
        vrf["bgpAdvertisements"] = advertisements
        egress: dict[str, Any] = {}
        modes: dict[str, str] = {}
        taken: set[str] = set()
        for svc_index in range(rng.randint(0, 2)):
            svc: dict[str, Any] = {"namespace": f"ns{index}",
                                   "sourceIPBy": rng.choice(["LoadBalancerIP", "Network"])}
            if len(pools) > 1 or rng.random() < 0.3:
                svc["addressPool"] = rng.choice(sorted(pools))
            pool = svc.get("addressPool", sorted(pools)[0])
            # A pool serves one mode: a LoadBalancerIP service narrows its announcement to
            # its egress node (templates/validate/_egress.tpl); before MetalLB 0.16 it
            # serves one such service.
            svc["sourceIPBy"] = modes.setdefault(pool, svc["sourceIPBy"])
            if svc["sourceIPBy"] == "LoadBalancerIP" and pool in taken and site["metallb"]["version"] < "0.16":
                continue
            if svc["sourceIPBy"] == "LoadBalancerIP":
                taken.add(pool)
            if rng.random() < 0.4:
                svc["service"] = {"create": True, "createNamespace": rng.random() < 0.5,
                                  "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                                  "externalTrafficPolicy": rng.choice(["Cluster", "Local"])}
            egress[f"svc{svc_index}"] = svc
        vrf["egressServices"] = egress
        site["vrfs"][name] = vrf
    return site


def per_node(vrf: dict[str, Any], count: int) -> None:
    """Moves a VRF's port addresses into a nodes table of `count` nodes (worker-0, ...), each
    node's host part 10 + its number."""
    ports = vrf["ports"]
    nodes: dict[str, Any] = {}
    for number in range(count):
        entry = {}
        for name, port in sorted(ports.items()):
            addresses = port.get("ipv4", []) + port.get("ipv6", [])
            entry[name] = [address.replace("10/", f"{10 + number}/") for address in addresses]
        nodes[f"worker-{number}"] = entry
    for port in ports.values():
        port.pop("ipv4", None)
        port.pop("ipv6", None)
    vrf["nodes"] = nodes


def cluster_nodes(*sites: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Nodes and labels that meet the sites: each VRF's labels on the nodes of its table, or
    on worker-0 alone (a VRF's static addresses are one node's)."""
    nodes: dict[str, dict[str, str]] = {"worker-0": {"kubernetes.io/hostname": "worker-0"}}
    for site in sites:
        for vrf in site["vrfs"].values():
            for name in vrf.get("nodes") or ["worker-0"]:
                nodes.setdefault(name, {"kubernetes.io/hostname": name}).update(vrf["policy"]["nodeSelector"])
    return nodes


def values_file(site: dict[str, Any], path: Path) -> Path:
    """The site as a values file at path."""
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path
