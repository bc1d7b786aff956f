"""NNCP desiredState has no upstream schema (the CRD preserves unknown fields), so the
chart's own nmstate shapes are checked here: against a schema of nmstate's documented YAML
API (tests/schemas/nmstate-desired-state.json), which nmstate's own examples must pass too,
and for the relations nmstate needs between interfaces, routes and rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from tests.support import helm

SCHEMA = Draft7Validator(json.loads((Path(__file__).parent / "schemas" / "nmstate-desired-state.json").read_text()))


def _policies() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for site in helm.site_files():
        result = helm.render_site(site)
        assert result.returncode == 0, result.stderr
        found += [(f"{helm.site_name(site)}/{d['metadata']['name']}", d) for d in result.documents
                  if d["kind"] == "NodeNetworkConfigurationPolicy"]
    return found


POLICIES = _policies()


def test_nmstate_examples_pass_the_shape_schema(shared_dir: Path | None) -> None:
    if shared_dir is None:
        pytest.skip("nmstate's examples are in shared/nmstate-examples, not beside this checkout")
    examples = sorted((shared_dir / "nmstate-examples").glob("*.yml"))
    assert examples
    for example in examples:
        errors = [e.message for e in SCHEMA.iter_errors(yaml.safe_load(example.read_text()))]
        assert errors == [], example.name


@pytest.mark.parametrize(("name", "policy"), POLICIES, ids=[name for name, _ in POLICIES])
def test_desired_state_has_nmstate_shape(name: str, policy: dict[str, Any]) -> None:
    state = policy["spec"]["desiredState"]
    assert [e.message for e in SCHEMA.iter_errors(state)] == []


@pytest.mark.parametrize(("name", "policy"), POLICIES, ids=[name for name, _ in POLICIES])
def test_vrf_ports_routes_and_rules_fit_together(name: str, policy: dict[str, Any]) -> None:
    state = policy["spec"]["desiredState"]
    interfaces = {iface["name"]: iface for iface in state["interfaces"]}
    vrfs = [iface for iface in state["interfaces"] if iface.get("type") == "vrf"]
    assert len(vrfs) == 1, "one VRF per policy"
    vrf = vrfs[0]
    table = vrf["vrf"]["route-table-id"]
    for port in vrf["vrf"]["port"]:
        assert port in interfaces, f"VRF port {port} is not configured in the same policy"
        assert interfaces[port].get("state") == "up"
    for route in state.get("routes", {}).get("config", []):
        assert route["table-id"] == table, "every route of the policy lives in the VRF table"
        if "next-hop-interface" in route:
            assert route["next-hop-interface"] in vrf["vrf"]["port"]
    for rule in state.get("route-rules", {}).get("config", []):
        assert rule["route-table"] in (254, table)
    for iface in state["interfaces"]:
        for family in ("ipv4", "ipv6"):
            if iface.get(family, {}).get("address"):
                assert iface[family]["dhcp"] is False, "static addresses come with DHCP off"
