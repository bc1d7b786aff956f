"""What the hooks' plan says against what the chart renders beside it."""

from __future__ import annotations

import itertools
import json
from typing import Any

from symrouting.labels import HOSTNAME, label_selector_matches
from symrouting.plan import Plan, parse_plan


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
            # as the hooks read them: the addresses, and the Service label a default
            # serviceAllocation admits (the plan says it once, under poolServiceLabel)
            {pool.name: (list(pool.addresses), pool.admits) for vrf in parse_plan(plan).vrfs for pool in vrf.pools},
            {name: (doc["spec"]["addresses"], _admitted(doc, plan)) for name, doc in by_kind.get("IPAddressPool", {}).items()}),
        "peers": (
            {peer["name"]: (peer["myASN"], peer["address"]) for vrf in vrfs for peer in vrf["peers"]},
            {name: (doc["spec"]["myASN"], doc["spec"].get("peerAddress", doc["spec"].get("interface")))
             for name, doc in by_kind.get("BGPPeer", {}).items()}),
        "advertisements": (
            {adv.name: (list(adv.pools), list(adv.peers)) for vrf in parse_plan(plan).vrfs for adv in vrf.advertisements},
            {name: (doc["spec"].get("ipAddressPools", []), doc["spec"]["peers"])
             for name, doc in by_kind.get("BGPAdvertisement", {}).items()}),
        "egress services": (
            {(svc["namespace"], svc["name"]): svc["sourceIPBy"] for vrf in vrfs for svc in vrf["egressServices"]},
            {(doc["metadata"]["namespace"], doc["metadata"]["name"]): doc["spec"]["sourceIPBy"]
             for doc in docs if doc["kind"] == "EgressService"}),
    }
    pairs.update(_node_choices(parse_plan(plan), by_kind, docs))
    return [f"{what}: plan {planned!r} != rendered {rendered!r}"
            for what, (planned, rendered) in pairs.items() if planned != rendered]


def _admitted(pool: dict[str, Any], plan: dict[str, Any]) -> dict[str, str]:
    """The label a rendered pool's serviceAllocation admits, where it is the chart's default
    (one selector on the plan's poolServiceLabel key); {} for the values' own."""
    selectors = (pool["spec"].get("serviceAllocation") or {}).get("serviceSelectors") or []
    labels = (selectors[0].get("matchLabels") or {}) if len(selectors) == 1 else {}
    return dict(labels) if list(labels) == [plan.get("poolServiceLabel")] else {}


def _mentioned(selectors: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every label key the selectors name, with the values they name for it."""
    values: dict[str, set[str]] = {}
    for selector in selectors:
        for key, value in (selector.get("matchLabels") or {}).items():
            values.setdefault(key, set()).add(str(value))
        for expression in selector.get("matchExpressions") or []:
            values.setdefault(expression["key"], set()).update(expression.get("values") or [])
    return values


def _selects(selectors: list[dict[str, Any]], labels: dict[str, str]) -> bool:
    return not selectors or any(label_selector_matches(s, labels) for s in selectors)


def _node_choices(plan: Plan, by_kind: dict[str, dict[str, dict[str, Any]]],
                  docs: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    """Which nodes each peer's session runs on and each LoadBalancerIP egress service may
    leave from, as the hooks read the plan and as the rendered objects select them, over
    every node made of the labels they name (each key absent, another value, or one named)."""
    egress_docs = {(doc["metadata"]["namespace"], doc["metadata"]["name"]): doc for doc in docs
                   if doc["kind"] == "EgressService"}
    peers: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    egress: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    for vrf in plan.vrfs:
        rendered_peers = {p.name: by_kind.get("BGPPeer", {})[p.name]["spec"].get("nodeSelectors") or [] for p in vrf.peers}
        rendered_egress = {(e.namespace, e.name): [egress_docs[(e.namespace, e.name)]["spec"].get("nodeSelector") or {}]
                           for e in vrf.egress_services}
        mentioned = _mentioned([{"matchLabels": vrf.node_selector}, *[e.node_selector for e in vrf.egress_services],
                                *[s for p in vrf.peers for s in p.node_selectors or ()],
                                *[s for group in (*rendered_peers.values(), *rendered_egress.values()) for s in group]])
        mentioned.setdefault(HOSTNAME, set()).update(vrf.nodes)
        keys = sorted(mentioned)
        choices = [[None, "another", *sorted(mentioned[key])] for key in keys]
        nodes = [{k: v for k, v in zip(keys, combination) if v is not None} for combination in itertools.product(*choices)]
        for peer in vrf.peers:
            peers[0][peer.name] = [i for i, labels in enumerate(nodes) if peer.runs_on(vrf, labels)]
            peers[1][peer.name] = [i for i, labels in enumerate(nodes) if _selects(rendered_peers[peer.name], labels)]
        for service in vrf.egress_services:
            key = (service.namespace, service.name)
            egress[0][key] = [i for i, labels in enumerate(nodes)
                              if vrf.carries(labels) and label_selector_matches(service.node_selector, labels)]
            egress[1][key] = [i for i, labels in enumerate(nodes) if _selects(rendered_egress[key], labels)]
    return {"peers' nodes": peers, "egress services' nodes": egress}
