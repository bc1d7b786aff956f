"""A seeded structural fuzzer over the ci/ sites: each case changes one to three values of a
site (a number to a boundary, a string to a malformed one, an item dropped or doubled, a key
renamed), renders it, and holds the chart to its rule: a refusal names the value path (never
a template's internal error), and whatever renders is valid for the API server (kubeconform
-strict and the CRDs' CEL rules, tests/support/kubeschema.py) and free of the semantic faults
checked below, each computed here with Python's ipaddress rather than by the chart's own helpers.

Bounded and deterministic: CASES cases per site, random.Random(seed) for each.
"""

from __future__ import annotations

import ipaddress
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm, kubeschema

CASES = 24
INTS = [0, 1, -1, 251, 252, 255, 256, 999, 1000, 2000, 4999, 5000, 65535, 65536,
        2147483647, 2147483648, 4294967295, 4294967296]
STRINGS = ["", "ä", "ens4:1", "x" * 64, "1500ms", "0s", "0.0.0.0/0", "10.0.0.1", "fd00::1",
           "192.168.130.1", "10.0.0.20-10.0.0.10", "Bad Key", "65536:1", "large:1:2:4294967296"]
# a values path in a refusal: the schema's JSON pointer, or a template rule's dotted path
TOP_KEYS = sorted(yaml.safe_load((helm.CHART / "values.yaml").read_text()))
PATH = re.compile(r"at '/[^']+'|^  (?:" + "|".join(map(re.escape, TOP_KEYS)) + r")[.\[: ]", re.M)
INTERNAL = ("nil pointer", "error calling", "wrong type for value", "can't evaluate field", "executing \"")


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at] if at else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, at + (key,))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, at + (index,))
    return found


def _mutate(values: dict[str, Any], rng: random.Random) -> list[str]:
    done = []
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(values))
        parent = values
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        current = parent[key]
        if isinstance(current, bool):
            parent[key] = not current
        elif isinstance(current, int):
            parent[key] = rng.choice(INTS)
        elif isinstance(current, str):
            parent[key] = rng.choice(STRINGS + [current[:-1], current + current[-1:]])
        elif isinstance(current, list) and current:
            parent[key] = rng.choice([[], current + current[:1], current[1:]])
        elif isinstance(current, dict) and current:
            victim = rng.choice(sorted(current))
            if rng.random() < 0.5:
                del current[victim]
            else:
                current[rng.choice(["Bad Key", victim + "x", "ä"])] = current.pop(victim)
        else:
            continue
        done.append(f"{'.'.join(map(str, path))} -> {parent[key] if key in parent or isinstance(parent, list) else '(removed)'}"[:120])
    return done


def address_networks(addresses: list[str]) -> list[Any]:
    """A pool's addresses as networks (a range as its first and last address)."""
    found = []
    for entry in addresses:
        if "-" in entry:
            first, last = (ipaddress.ip_address(part.strip()) for part in entry.split("-"))
            found += list(ipaddress.summarize_address_range(first, last))
        else:
            found.append(ipaddress.ip_network(entry, strict=False))
    return found


def semantic_faults(documents: list[dict[str, Any]]) -> list[str]:
    """The faults of the issue's list that rendered objects show, read off the objects."""
    faults = []
    pools = {d["metadata"]["name"]: address_networks(d["spec"]["addresses"]) for d in documents if d["kind"] == "IPAddressPool"}
    names = sorted(pools)
    for i, a in enumerate(names):  # metallb internal/config/config.go poolsFor
        for b in names[i + 1:]:
            if any(x.version == y.version and x.overlaps(y) for x in pools[a] for y in pools[b]):
                faults.append(f"pools {a} and {b} overlap")
    for d in documents:
        if d["kind"] == "NodeNetworkConfigurationPolicy":
            state = d["spec"]["desiredState"]
            subnets: dict[str, list[Any]] = {}
            dynamic: set[tuple[str, int]] = set()  # by DHCP or autoconf: the network gives the subnet
            for iface in state.get("interfaces", []):
                for family in ("ipv4", "ipv6"):
                    if (iface.get(family) or {}).get("dhcp"):
                        dynamic.add((iface["name"], 6 if family == "ipv6" else 4))
                    for address in (iface.get(family) or {}).get("address") or []:
                        subnets.setdefault(iface["name"], []).append(
                            ipaddress.ip_interface(f"{address['ip']}/{address['prefix-length']}").network)
                if iface.get("type") == "vrf":
                    table = iface["vrf"]["route-table-id"]
                    if 252 <= table <= 255 or table >= 1000:  # rtnetlink.h; ovn-kubernetes util/net.go
                        faults.append(f"VRF {iface['name']} on table {table}")
            for route in (state.get("routes") or {}).get("config") or []:
                hop = route.get("next-hop-address")
                if hop and route.get("state") != "absent" and (
                        route.get("next-hop-interface", ""), ipaddress.ip_address(hop).version) not in dynamic:
                    via = subnets.get(route.get("next-hop-interface", ""), [])
                    if not any(ipaddress.ip_address(hop) in net for net in via):  # fib_check_nh
                        faults.append(f"route {route['destination']} via {hop} off the subnets of {route.get('next-hop-interface')}")
        if d["kind"] == "Service":
            annotations = d["metadata"].get("annotations") or {}
            pool = pools.get(annotations.get("metallb.io/address-pool", ""))
            for ip in filter(None, annotations.get("metallb.io/loadBalancerIPs", "").split(",")):
                if pool is not None and not any(ipaddress.ip_address(ip) in net for net in pool):
                    faults.append(f"Service {d['metadata']['name']} asks for {ip} outside its pool")
    return faults


CASE_IDS = [(site, seed) for site in helm.site_files() for seed in range(CASES)]


def fuzzed_site(site: Path, seed: int) -> tuple[dict[str, Any], list[str]]:
    """Case `seed` of a ci/ site: its values after the mutations, and what they were."""
    values = yaml.safe_load(site.read_text())
    rng = random.Random(f"{helm.site_name(site)}-{seed}")
    return values, _mutate(values, rng)


@pytest.mark.parametrize(("site", "seed"), CASE_IDS, ids=[f"{helm.site_name(s)}-{n}" for s, n in CASE_IDS])
def test_fuzzed_site_is_refused_with_a_path_or_renders_valid(site: Path, seed: int, tmp_path: Path) -> None:
    values, mutations = fuzzed_site(site, seed)
    mutated = tmp_path / "fuzzed.yaml"
    mutated.write_text(yaml.safe_dump(values))
    result = helm.template("helm3", [mutated])
    what = f"{helm.site_name(site)} seed {seed}: {mutations}"
    if result.returncode != 0:
        assert result.stdout == "", what
        assert not any(word in result.stderr for word in INTERNAL), f"{what}\n{result.stderr}"
        assert PATH.search(result.stderr), f"refusal without a value path: {what}\n{result.stderr}"
        return
    documents = list(result.documents)
    found = kubeschema.validate_all(documents, kubeschema.NEWEST_KUBERNETES)
    problems = [f"{d['kind']}/{d['metadata']['name']}: {p}" for d, ps in zip(documents, found) for p in ps]
    assert problems == [], what
    assert semantic_faults(documents) == [], what


def test_the_fuzzer_sees_the_faults_it_looks_for() -> None:
    """semantic_faults bites: overlapping pools, a reserved table, a next hop off its subnet,
    a Service address outside its pool."""
    documents = [
        {"kind": "IPAddressPool", "metadata": {"name": "a"}, "spec": {"addresses": ["10.0.0.0/24"]}},
        {"kind": "IPAddressPool", "metadata": {"name": "b"}, "spec": {"addresses": ["10.0.0.10-10.0.0.20"]}},
        {"kind": "NodeNetworkConfigurationPolicy", "metadata": {"name": "p"}, "spec": {"desiredState": {
            "interfaces": [{"name": "v", "type": "vrf", "vrf": {"route-table-id": 254}},
                           {"name": "e", "ipv4": {"address": [{"ip": "10.1.0.5", "prefix-length": 24}]}}],
            "routes": {"config": [{"destination": "0.0.0.0/0", "next-hop-address": "10.2.0.1", "next-hop-interface": "e"}]}}}},
        {"kind": "Service", "metadata": {"name": "s", "annotations": {
            "metallb.io/address-pool": "a", "metallb.io/loadBalancerIPs": "10.9.9.9"}}},
    ]
    assert len(semantic_faults(documents)) == 4
