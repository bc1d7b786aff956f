"""Upgrades and uninstalls of generated sites, end to end on a model of a node
(tests/support/nodestate.py): install site A, apply what the prune sends for the changed
site B, then B's policies; the node carries exactly what B declares, nothing left of A. After
an uninstall it carries nothing the release put there."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symrouting.cleanup import plan_removals
from symrouting.plan import Plan, parse_plan
from tests.support import helm, sitegen
from tests.support.nodestate import node_after

Site = dict[str, Any]


def drop_a_vrf(site: Site, rng: random.Random) -> bool:
    if len(site["vrfs"]) < 2:
        return False
    del site["vrfs"][rng.choice(sorted(site["vrfs"]))]
    return True


def drop_every_vrf(site: Site, rng: random.Random) -> bool:
    site["vrfs"] = {}
    return True


def rename_a_vrf(site: Site, rng: random.Random) -> bool:
    name = rng.choice(sorted(site["vrfs"]))
    site["vrfs"][f"renamed-{name}"] = site["vrfs"].pop(name)
    return True


def new_table_id(site: Site, rng: random.Random) -> bool:
    name = rng.choice(sorted(site["vrfs"]))
    site["vrfs"][name]["tableId"] = 200 + sorted(site["vrfs"]).index(name)
    return True


def drop_a_route(site: Site, rng: random.Random) -> bool:
    vrf = site["vrfs"][rng.choice(sorted(site["vrfs"]))]
    vrf["routes"].pop()
    return True


def replace_a_port(site: Site, rng: random.Random) -> bool:
    vrf = site["vrfs"][rng.choice(sorted(site["vrfs"]))]
    old = rng.choice(sorted(vrf["ports"]))
    port = vrf["ports"].pop(old)
    vrf["ports"]["ens900"] = {family: port[family] for family in ("ipv4", "ipv6") if family in port}
    for item in vrf["routes"] + list(vrf["bgpPeers"].values()):
        for key in ("nextHopInterface", "interface"):
            if item.get(key) == old:
                item[key] = "ens900"
    return True


def change_an_address(site: Site, rng: random.Random) -> bool:
    vrf = site["vrfs"][rng.choice(sorted(site["vrfs"]))]
    port = vrf["ports"][rng.choice(sorted(vrf["ports"]))]
    port["ipv4"] = [port["ipv4"][0].replace(".10/", ".11/")]
    return True


CHANGES: dict[str, Callable[[Site, random.Random], bool]] = {
    change.__name__.replace("_", " "): change
    for change in (drop_a_vrf, drop_every_vrf, rename_a_vrf, new_table_id, drop_a_route, replace_a_port, change_an_address)
}


def render(site: Site, tmp_path: Path, name: str) -> tuple[Plan, list[dict[str, Any]]]:
    """The hooks' plan and the policies of a site, from one render."""
    result = helm.template("helm3", [sitegen.values_file(site, tmp_path / f"{name}.yaml")])
    assert result.returncode == 0, result.stderr
    [config_map] = [doc for doc in result.documents if doc["kind"] == "ConfigMap"]
    return (parse_plan(json.loads(config_map["data"]["plan.json"])),
            [doc for doc in result.documents if doc["kind"] == "NodeNetworkConfigurationPolicy"])


def the_node(site: Site) -> list[tuple[str, dict[str, str]]]:
    """The one node the model plays: under every VRF's policy of the site."""
    return [("node-0", {"kubernetes.io/hostname": "node-0", **sitegen.node_labels(site)})]


def states(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc["spec"]["desiredState"] for doc in docs]


def changed(seed: int, change: str) -> Site | None:
    """The generated site of a seed after one change, or None when it has nothing to change."""
    site = sitegen.generate_site(seed)
    return site if CHANGES[change](site, random.Random(seed)) else None


UPGRADES = [(seed, change) for seed in sitegen.SEEDS[::2] for change in sorted(CHANGES) if changed(seed, change)]


@pytest.mark.parametrize(("seed", "change"), UPGRADES)
def test_after_an_upgrade_the_node_carries_what_the_new_values_declare(seed: int, change: str, tmp_path: Path) -> None:
    before, after = sitegen.generate_site(seed), changed(seed, change)
    assert after is not None
    _, installed = render(before, tmp_path, "before")
    plan, upgraded = render(after, tmp_path, "after")
    removals = [step.removal for _, steps in plan_removals(plan, installed, False, the_node(before)) for step in steps]
    node = node_after(*states(installed), *removals, *states(upgraded))
    assert node.managed() == node_after(*states(upgraded)).managed(), f"seed {seed}, {change}"


def test_every_change_is_reached() -> None:
    assert {change for _, change in UPGRADES} == set(CHANGES)


@pytest.mark.parametrize("seed", sitegen.SEEDS)
def test_after_an_uninstall_the_node_carries_nothing_of_the_release(seed: int, tmp_path: Path) -> None:
    site = sitegen.generate_site(seed)
    plan, installed = render(site, tmp_path, "site")
    removals = [step.removal for _, steps in plan_removals(plan, installed, True, the_node(site)) for step in steps]
    assert node_after(*states(installed), *removals).managed() == {
        "virtual": {}, "addresses": {}, "routes": set(), "rules": set()}, f"seed {seed}"
