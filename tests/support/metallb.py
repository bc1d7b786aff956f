"""Which nodes MetalLB announces a service's address from, read from its speaker.

metallb speaker/bgp_controller.go, bgpAdsForService: an advertisement applies to a service on
a node when the node is among the advertisement's nodes (internal/config/config.go
selectedNodes: every node when nodeSelectors is empty, else the nodes any selector matches)
and the service matches one of its serviceSelectors (none: every service). The
advertisements considered are those of the service's pool (ipAddressPools, by name). A
service is announced from every node where at least one applies.
"""

from __future__ import annotations

from typing import Any

# The hooks' matcher, held to the real kube-apiserver's by tests/hooks/test_labels.py.
from symrouting.labels import label_selector_matches as selector_matches

Labels = dict[str, str]


def advertisement_nodes(advertisement: dict[str, Any], nodes: dict[str, Labels]) -> set[str]:
    selectors = advertisement["spec"].get("nodeSelectors") or []
    return {name for name, labels in nodes.items() if not selectors or any(selector_matches(s, labels) for s in selectors)}


def applies_to_service(advertisement: dict[str, Any], pool: str, service_labels: Labels) -> bool:
    spec = advertisement["spec"]
    if pool not in (spec.get("ipAddressPools") or []):
        return False
    selectors = spec.get("serviceSelectors") or []
    return not selectors or any(selector_matches(s, service_labels) for s in selectors)


def announcing(advertisements: list[dict[str, Any]], pool: str, service_labels: Labels,
               nodes: dict[str, Labels]) -> tuple[list[str], set[str]]:
    """The advertisements that announce the service, and the nodes it is announced from."""
    mine = [a for a in advertisements if applies_to_service(a, pool, service_labels)]
    return [a["metadata"]["name"] for a in mine], set().union(*(advertisement_nodes(a, nodes) for a in mine))


def pool_admits(pool: dict[str, Any], namespace: str, service_labels: Labels) -> bool:
    """Whether MetalLB may give a Service an address of the pool, whichever way it asks (by
    loadBalancerIPs, by the metallb.io/address-pool annotation or not at all): metallb
    internal/allocator/allocator.go (v0.15.3, v0.16.1) isPoolCompatibleWithService, which
    Assign runs on every assignment: the namespaces of serviceAllocation (namespaceSelectors
    are resolved into them; left out here) must hold the Service's, and one of its
    serviceSelectors, when any, must match its labels. internal/config/config.go
    addressPoolServiceAllocationsFromCR: an empty serviceAllocation matches every Service."""
    allocation = pool["spec"].get("serviceAllocation")
    if allocation is None:
        return True
    namespaces = allocation.get("namespaces") or []
    if namespaces and namespace not in namespaces:
        return False
    selectors = allocation.get("serviceSelectors") or []
    return not selectors or any(selector_matches(s, service_labels) for s in selectors)


def open_to_any_service(pool: dict[str, Any]) -> bool:
    """Whether MetalLB hands the pool's addresses to a Service that names no pool
    (allocator.go Allocate, after the pinned pools: every pool with autoAssign and no
    serviceAllocation)."""
    spec = pool["spec"]
    return spec.get("autoAssign", True) and spec.get("serviceAllocation") is None
