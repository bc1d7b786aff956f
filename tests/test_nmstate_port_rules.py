"""The rules on ports and extra route rules the chart takes from nmstate
the chart refuses the value at render (tests/bad_values/<case>.yaml), and nmstate itself
refuses the desiredState that value would make. The state is the chart's own rendering of
the case with the offending value made acceptable (which nmstate takes), then the bad value
put back where the chart writes it: so the rule is shown to be upstream's, not ours.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from tests.support import allsites, helm, nmstatecheck

CASES = Path(__file__).parent / "bad_values"
SEED = helm.CHART / "ci" / "seed-values.yaml"
State = dict[str, Any]


def interface(state: State, name: str) -> dict[str, Any]:
    [found] = [i for i in state["interfaces"] if i["name"] == name]
    return found


def bond_options(**options: str) -> Callable[[State], None]:
    def put(state: State) -> None:
        interface(state, "bond0")["link-aggregation"]["options"] = dict(options)

    return put


def rule(**fields: Any) -> Callable[[State], None]:
    def put(state: State) -> None:
        [extra] = [r for r in state["route-rules"]["config"] if r.get("priority") == 3000]
        extra.clear()
        extra.update(fields)

    return put


def mtu(value: int) -> Callable[[State], None]:
    def put(state: State) -> None:
        interface(state, "ens4")["mtu"] = value

    return put


# (case, the acceptable twin of the bad value (bond options, or a rule's fields), how the chart writes the bad value, nmstate's words)
RULES = [
    # nmstate 2.2.62 rust/src/lib/ifaces/bond.rs, BondOptions::validate_miimon_and_arp_interval
    pytest.param("bond-miimon-and-arp-interval", {"miimon": "100"},
                 bond_options(miimon="100", arp_interval="100"),
                 "Bond miimon and arp interval are not compatible options", id="bond-miimon-and-arp"),
    # nmstate 2.2.62 rust/src/lib/ifaces/bond.rs, BondOptions::validate_arp_interval
    pytest.param("bond-arp-interval-in-802-3ad", {"miimon": "100"},
                 bond_options(arp_interval="100", arp_ip_target="192.168.130.1"),
                 "The `arp_interval` option is invalid for bond in '802.3ad'", id="bond-arp-in-lacp"),
    # nmstate 2.2.62 rust/src/lib/ifaces/bond.rs, BondOptions::validate_lacp_opts
    pytest.param("bond-lacp-rate-outside-802-3ad", {},
                 bond_options(lacp_rate="fast"),
                 "The `lacp_rate` option is only valid for bond in '802.3ad' mode", id="bond-lacp-rate"),
    # nmstate 2.2.62 rust/src/lib/route_rule.rs, RouteRuleEntry::validate_ip_from_to
    pytest.param("route-rule-without-selector", {"family": "ipv4"},
                 rule(priority=3000, **{"route-table": 2}),
                 "Neither ip-from, ip-to nor family is defined", id="rule-without-selector"),
    pytest.param("route-rule-family-mismatch", {"family": "ipv4"},
                 rule(family="ipv6", priority=3000, **{"ip-from": "192.168.130.0/24", "route-table": 2}),
                 "The ip-from format mismatches with the family set", id="rule-family"),
    # nmstate 2.2.62 rust/src/lib/route_rule.rs, RouteRuleEntry::validate_fwmark_and_fwmask
    pytest.param("route-rule-fwmask-without-fwmark", {"fwmark": "0x10"},
                 rule(family="ipv4", fwmask="0xff", priority=3000, **{"route-table": 2}),
                 "fwmask is present but fwmark is not defined or is zero", id="rule-fwmask"),
    # nmstate 2.2.62 rust/src/lib/ifaces/base.rs, BaseInterface::sanitize (MINIMUM_IPV6_MTU)
    pytest.param("mtu-below-ipv6-minimum", {}, mtu(1000),
                 "MTU should be >= 1280 when IPv6 is enabled on interface ens4, but got mtu: 1000",
                 id="ipv6-mtu"),
]


def twin(case: str, options: dict[str, str], folder: Path) -> Path:
    """The case's values with the offending value made acceptable."""
    values = yaml.safe_load((CASES / f"{case}.yaml").read_text())
    for extra in values["vrfs"]["ens4vrf"].get("policy", {}).get("extraRouteRules", []):
        extra.update(options)
    for port in values["vrfs"]["ens4vrf"].get("ports", {}).values():
        if port and "bond" in port:
            port["bond"]["options"] = options
        elif port and "mtu" in port:
            port["mtu"] = 1280
    path = folder / f"{case}-twin.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.mark.parametrize(("case", "options", "break_it", "words"), RULES)
def test_nmstate_refuses_what_the_chart_refuses(
    case: str, options: dict[str, str], break_it: Callable[[State], None], words: str, tmp_path: Path
) -> None:
    refused = helm.template("helm3", [SEED, CASES / f"{case}.yaml"])
    assert refused.returncode != 0 and refused.stdout == "", refused.stdout[:400]
    rendered = helm.template("helm3", [SEED, twin(case, options, tmp_path)])
    assert rendered.returncode == 0, rendered.stderr
    states = allsites.desired_states(rendered.documents)
    assert states
    for policy, state in states.items():
        assert nmstatecheck.refusal(state) is None, policy
        bad = copy.deepcopy(state)
        break_it(bad)
        verdict = nmstatecheck.check_desired_state(bad)
        assert not verdict.ok, f"nmstate took {policy} with the bad value"
        assert verdict.kind == "InvalidArgument" and words in verdict.msg, verdict.error


def test_nmstate_takes_a_prefix_0_address_so_that_rule_is_the_charts() -> None:
    """tests/bad_values/port-address-prefix-zero.yaml and nodes-address-prefix-zero.yaml are
    refused by the chart alone: nmstate 2.2.62 (ip.rs) takes a /0 address, which the kernel
    makes a connected default route (linux net/ipv4/fib_frontend.c fib_add_ifaddr)."""
    for case in ("port-address-prefix-zero", "nodes-address-prefix-zero"):
        refused = helm.template("helm3", [SEED, CASES / f"{case}.yaml"])
        assert refused.returncode != 0 and refused.stdout == "", case
    rendered = helm.template("helm3", [SEED])
    assert rendered.returncode == 0, rendered.stderr
    for policy, state in allsites.desired_states(rendered.documents).items():
        bad = copy.deepcopy(state)
        interface(bad, "ens4")["ipv4"]["address"][0]["prefix-length"] = 0
        assert nmstatecheck.refusal(bad) is None, policy
