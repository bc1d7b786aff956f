"""What the release is about to create, as the chart renders it into plan.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pool:
    name: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Peer:
    name: str
    address: str  # peerAddress, or the interface of an unnumbered session
    my_asn: int
    peer_asn: str  # the number, or "internal"/"external" for dynamicASN
    # The existing Secret of the MD5 password (passwordSecret.name), which MetalLB reads.
    password_secret: str = ""


@dataclass(frozen=True)
class Advertisement:
    name: str
    pools: tuple[str, ...]
    peers: tuple[str, ...]


@dataclass(frozen=True)
class EgressService:
    namespace: str
    name: str
    source_ip_by: str
    # Object name of the IPAddressPool its LoadBalancer Service takes an address from.
    address_pool: str = ""


@dataclass(frozen=True)
class Vrf:
    name: str
    table_id: int
    policy_name: str
    node_selector: dict[str, str]
    pools: tuple[Pool, ...] = ()
    peers: tuple[Peer, ...] = ()
    advertisements: tuple[Advertisement, ...] = ()
    egress_services: tuple[EgressService, ...] = ()
    # The nmstate desiredState the release's policy for this VRF will carry.
    desired_state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class Plan:
    release: str
    namespace: str
    platform: str
    metallb_namespace: str
    service_network: tuple[str, ...]
    cluster_network: tuple[str, ...]
    masquerade_subnet: tuple[str, ...]
    vrfs: tuple[Vrf, ...]
    kinds: tuple[Kind, ...] = field(default_factory=tuple)
    # The release's community alias names (communities.aliases keys).
    communities: tuple[str, ...] = ()

    def owns(self, owner: str) -> bool:
        """Whether an object's owner ("<namespace>/<release>") is this release."""
        return owner == f"{self.namespace}/{self.release}"

    @property
    def rule_cidrs(self) -> tuple[str, ...]:
        """The CIDRs every VRF's route rules send to the main table."""
        return self.service_network + self.cluster_network + self.masquerade_subnet


class PlanError(ValueError):
    """plan.json is not what the chart renders."""


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PlanError(f"{where}: expected a list of strings")
    return tuple(value)


def parse_plan(data: Any) -> Plan:
    try:
        cluster = data["cluster"]
        vrfs = tuple(
            Vrf(
                name=str(vrf["name"]),
                table_id=int(vrf["tableId"]),
                policy_name=str(vrf["policyName"]),
                node_selector={str(k): str(v) for k, v in (vrf.get("nodeSelector") or {}).items()},
                pools=tuple(Pool(str(p["name"]), _strings(p["addresses"], "pool addresses")) for p in vrf.get("pools", [])),
                peers=tuple(Peer(str(p["name"]), str(p.get("address", "")), int(p.get("myASN", 0)), str(p.get("peerASN", "")),
                                 str(p.get("passwordSecret", "")))
                            for p in vrf.get("peers", [])),
                advertisements=tuple(Advertisement(str(a["name"]), _strings(a.get("pools", []), "advertisement pools"),
                                                   _strings(a.get("peers", []), "advertisement peers"))
                                     for a in vrf.get("advertisements", [])),
                egress_services=tuple(
                    EgressService(str(s["namespace"]), str(s["name"]), str(s["sourceIPBy"]), str(s.get("addressPool", "")))
                    for s in vrf.get("egressServices", [])
                ),
                desired_state=dict(vrf.get("desiredState") or {}),
            )
            for vrf in data["vrfs"]
        )
        return Plan(
            release=str(data["release"]["name"]),
            namespace=str(data["release"]["namespace"]),
            platform=str(data["platform"]),
            metallb_namespace=str(data["metallbNamespace"]),
            service_network=_strings(cluster.get("serviceNetwork", []), "cluster.serviceNetwork"),
            cluster_network=_strings(cluster.get("clusterNetwork", []), "cluster.clusterNetwork"),
            masquerade_subnet=_strings(cluster.get("masqueradeSubnet", []), "cluster.masqueradeSubnet"),
            vrfs=vrfs,
            kinds=tuple(Kind(str(k["group"]), str(k["version"]), str(k["kind"])) for k in data.get("kinds", [])),
            communities=_strings(data.get("communities", []), "communities"),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, PlanError):
            raise
        raise PlanError(f"plan.json is malformed: {error!r}") from error
