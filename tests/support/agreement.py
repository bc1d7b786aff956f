"""What the hooks' plan says against what the chart renders beside it."""

from __future__ import annotations

import json
from typing import Any

from symrouting.plan import parse_plan


def plan_disagreements(docs: list[dict[str, Any]]) -> list[str]:
    """The ways the plan in the hooks ConfigMap differs from the rendered objects: policies
    and their desiredState and nodes, pools, peers, advertisements, egress services. The plan
    and the objects come from different templates sharing helpers; they must agree object
    for object, or the hooks would check and clean up something other than what is applied."""
    plan = json.loads(next(doc for doc in docs if doc["kind"] == "ConfigMap")["data"]["plan.json"])
    # MetalLB's and nmstate's kinds live in one namespace (or none): their names are unique.
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    vrfs = plan["vrfs"]
    pairs = {
        "policies": (
            # as the hooks read them: each policy's ports with what its VRF's policies share
            {policy.name: (policy.desired_state, policy.node_selector) for policy in parse_plan(plan).policies},
            {name: (doc["spec"]["desiredState"], doc["spec"].get("nodeSelector", {}))
             for name, doc in by_kind.get("NodeNetworkConfigurationPolicy", {}).items()}),
        "pools": (
            {pool["name"]: pool["addresses"] for vrf in vrfs for pool in vrf["pools"]},
            {name: doc["spec"]["addresses"] for name, doc in by_kind.get("IPAddressPool", {}).items()}),
        "peers": (
            {peer["name"]: (peer["myASN"], peer["address"]) for vrf in vrfs for peer in vrf["peers"]},
            {name: (doc["spec"]["myASN"], doc["spec"].get("peerAddress", doc["spec"].get("interface")))
             for name, doc in by_kind.get("BGPPeer", {}).items()}),
        "advertisements": (
            {adv["name"]: (adv["pools"], adv["peers"]) for vrf in vrfs for adv in vrf["advertisements"]},
            {name: (doc["spec"].get("ipAddressPools", []), doc["spec"]["peers"])
             for name, doc in by_kind.get("BGPAdvertisement", {}).items()}),
        "egress services": (
            {(svc["namespace"], svc["name"]): svc["sourceIPBy"] for vrf in vrfs for svc in vrf["egressServices"]},
            {(doc["metadata"]["namespace"], doc["metadata"]["name"]): doc["spec"]["sourceIPBy"]
             for doc in docs if doc["kind"] == "EgressService"}),
    }
    return [f"{what}: plan {planned!r} != rendered {rendered!r}"
            for what, (planned, rendered) in pairs.items() if planned != rendered]
