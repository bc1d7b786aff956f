"""What the preflight learned about the cluster: plain data, filled by gather.py."""

from __future__ import annotations

from typing import Any

from symrouting.plan import Kind
from symrouting.records import field, record


@record(frozen=True)
class Sourced:
    """A list of CIDRs and the object it was read from."""

    cidrs: tuple[str, ...]
    source: str


@record(frozen=True)
class Node:
    name: str
    labels: dict[str, str]
    pod_cidrs: tuple[str, ...] = ()


@record(frozen=True)
class ForeignPolicy:
    """A NodeNetworkConfigurationPolicy of another release (or of no release)."""

    name: str
    owner: str
    node_selector: dict[str, str]
    vrfs: tuple[tuple[str, int], ...]


@record(frozen=True)
class ForeignPool:
    name: str
    owner: str
    addresses: tuple[str, ...]


@record(frozen=True)
class ForeignPeer:
    """A BGPPeer of another release (or of no release) and the VRF it peers in."""

    name: str
    owner: str
    vrf: str


@record(frozen=True)
class ForeignCommunity:
    """A MetalLB Community of another release (or of no release) and its alias names."""

    name: str
    owner: str
    aliases: tuple[str, ...]


@record(frozen=True)
class LoadBalancerService:
    """A LoadBalancer Service of the cluster, its labels and the addresses MetalLB gave it."""

    namespace: str
    name: str
    labels: dict[str, str]
    addresses: tuple[str, ...]


@record
class Facts:
    service_network: Sourced | None = None
    cluster_network: Sourced | None = None
    masquerade_subnet: Sourced | None = None
    routing_via_host: bool | None = None
    routing_via_host_source: str = ""
    nodes: tuple[Node, ...] | None = None
    policies: tuple[ForeignPolicy, ...] | None = None
    pools: tuple[ForeignPool, ...] | None = None
    peers: tuple[ForeignPeer, ...] | None = None
    # The Secrets the release's peers name, by name: their type, or None when missing.
    secrets: dict[str, str | None] | None = None
    communities: tuple[ForeignCommunity, ...] | None = None
    # Every LoadBalancer Service that holds an address (status.loadBalancer.ingress).
    services: tuple[LoadBalancerService, ...] | None = None
    metallb_mode: str | None = None
    metallb_mode_source: str = ""
    missing_kinds: tuple[Kind, ...] | None = None
    # Whether the served BGPAdvertisement CRD has spec.serviceSelectors (MetalLB 0.16 and later).
    service_selectors: bool | None = None
    # Whether the API serves admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and
    # its binding (Kubernetes 1.30, OpenShift 4.17 and later).
    admission_policies: bool | None = None
    # What the nodes carry that no policy declares (symrouting.leftovers.Leftover); None: unread.
    leftovers: tuple[Any, ...] | None = None
    # What could not be read, by fact name ("nodes", "policies", ...): the reason, in words.
    unreadable: dict[str, str] = field(default_factory=dict)
    # Objects skipped because they did not have the expected shape.
    malformed: list[str] = field(default_factory=list)


def condition_true(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The status condition of that type when it is "True", else None."""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == kind and condition.get("status") == "True":
            return condition
    return None

