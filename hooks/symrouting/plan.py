"""What the release is about to create, as the chart renders it into plan.json."""

from __future__ import annotations

from typing import Any

from symrouting.labels import HOSTNAME, label_selector_matches, selector_matches
from symrouting.records import field, record


@record(frozen=True)
class Pool:
    name: str
    addresses: tuple[str, ...]
    # The Service labels its default serviceAllocation admits; empty where the values set
    # serviceAllocation themselves.
    admits: dict[str, str] = field(default_factory=dict)


@record(frozen=True)
class Peer:
    name: str
    address: str  # peerAddress, or the interface of an unnumbered session
    my_asn: int
    peer_asn: str  # the number, or "internal"/"external" for dynamicASN
    # The existing Secret of the MD5 password (passwordSecret.name), which MetalLB reads.
    password_secret: str = ""
    # spec.localASN, 0 when unset.
    local_asn: int = 0
    # The nodeSelectors the values set (MetalLB opens the session on a node any of them
    # matches; () on every node); None where unset: the nodes of its VRF.
    node_selectors: tuple[dict[str, Any], ...] | None = None
    # spec.sourceAddress, "" when unset.
    source_address: str = ""
    # The timers FRR-K8s would drop (templates/_hooks.tpl says which and why).
    frr_k8s_drops: tuple[str, ...] = ()

    def runs_on(self, vrf: Vrf, labels: dict[str, str]) -> bool:
        """Whether MetalLB opens this session on a node with these labels (speaker
        bgp_controller.go syncPeers, v0.16.1: no selector means every node)."""
        if self.node_selectors is None:
            return vrf.carries(labels)
        return not self.node_selectors or any(label_selector_matches(s, labels) for s in self.node_selectors)


@record(frozen=True)
class Advertisement:
    name: str
    pools: tuple[str, ...]
    # The peers it names; a plan leaves them out where they are every peer of the VRF.
    peers: tuple[str, ...]


@record(frozen=True)
class EgressService:
    namespace: str
    name: str
    source_ip_by: str
    # Object name of the IPAddressPool its LoadBalancer Service takes an address from.
    address_pool: str = ""
    # Labels the Service must carry: what its own advertisement selects in serviceSelectors.
    service_labels: dict[str, str] = field(default_factory=dict)
    # The service's own nodeSelector (a label selector), which the EgressService ANDs with
    # its VRF's nodes; empty when the values set none.
    node_selector: dict[str, Any] = field(default_factory=dict)


@record(frozen=True)
class Policy:
    """A NodeNetworkConfigurationPolicy of the release: the VRF's only one, or one per node
    of its `nodes` table (node set, nodeSelector holding kubernetes.io/hostname)."""

    name: str
    node_selector: dict[str, str]
    # The nmstate desiredState it will carry.
    desired_state: dict[str, Any] = field(default_factory=dict)
    node: str = ""
    # The rollout wave it belongs to (`vrfs.<vrf>.waves`; 0 without waves).
    wave: int = 0

    @property
    def static_addresses(self) -> list[str]:
        """The static addresses it sets on ports, as "port ip/prefix"."""
        return [f"{iface.get('name')} {address.get('ip')}/{address.get('prefix-length')}"
                for iface in self.desired_state.get("interfaces") or []
                for family in ("ipv4", "ipv6")
                if not ((iface.get(family) or {}).get("dhcp"))
                for address in (iface.get(family) or {}).get("address") or []]


@record(frozen=True)
class Vrf:
    name: str
    table_id: int
    # policy.nodeSelector of the values: the labels every node of the VRF carries.
    node_selector: dict[str, str]
    policies: tuple[Policy, ...] = ()
    pools: tuple[Pool, ...] = ()
    peers: tuple[Peer, ...] = ()
    advertisements: tuple[Advertisement, ...] = ()
    egress_services: tuple[EgressService, ...] = ()

    @property
    def nodes(self) -> tuple[str, ...]:
        """The nodes of its `nodes` table; empty when one policy selects them by label."""
        return tuple(policy.node for policy in self.policies if policy.node)

    def carries(self, labels: dict[str, str]) -> bool:
        """Whether a node with these labels is one of the VRF's: symmetric-routing.vrfNodeSelector,
        its policy.nodeSelector and, with a `nodes` table, its hostname among them."""
        nodes = self.nodes
        return selector_matches(self.node_selector, labels) and (not nodes or labels.get(HOSTNAME) in nodes)

    def announcing_peers(self, egress: EgressService) -> tuple[Peer, ...]:
        """The peers an egress service's address is announced to: those of every
        advertisement of its pool (a part split off for one service keeps its entry's peers)."""
        names = {peer for adv in self.advertisements if egress.address_pool in adv.pools for peer in adv.peers}
        return tuple(peer for peer in self.peers if peer.name in names)


@record(frozen=True)
class Kind:
    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@record(frozen=True)
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
    # metallb.version of the values: which MetalLB the release was rendered for.
    metallb_version: str = ""
    # The release's community alias names (communities.aliases keys).
    communities: tuple[str, ...] = ()
    # Name of the Lease in metallb_namespace that serialises the cleanups (lease.py); empty
    # in a plan rendered by a chart version without it.
    cleanup_lease: str = ""
    # Namespace of FRR-K8s, whose BGPSessionStates `verify --status` reads there; empty in a
    # plan found in the cluster or rendered before it: then they are read cluster-wide.
    frr_k8s_namespace: str = ""
    # Name of the ValidatingAdmissionPolicy that confines the hooks' writes to the release's
    # own policies and peers; empty when the hooks' rights name them (resourceNames).
    hook_admission_policy: str = ""

    def owns(self, owner: str) -> bool:
        """Whether an object's owner ("<namespace>/<release>") is this release."""
        return owner == f"{self.namespace}/{self.release}"

    @property
    def policies(self) -> tuple[Policy, ...]:
        """Every policy the release will have, over all its VRFs."""
        return tuple(policy for vrf in self.vrfs for policy in vrf.policies)

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


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _selector(value: Any) -> dict[str, Any]:
    if not isinstance(value or {}, dict):
        raise PlanError("a node selector: expected a mapping")
    return dict(value or {})


def _selectors(value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value or [], list):
        raise PlanError("nodeSelectors: expected a list")
    return tuple(_selector(item) for item in value or [])


def _admits(value: Any, name: str, key: str) -> dict[str, str]:
    """The Service label a pool admits: as it is (a plan of chart 0.1.0 before this), or its
    value under the plan's poolServiceLabel key, true for the pool's own name."""
    if isinstance(value, dict) or not value:
        return _labels(value)
    return {key: name if value is True else str(value)}


def _policy_selector(policy: dict[str, Any], vrf: dict[str, Any]) -> dict[str, str]:
    """A policy's nodeSelector: as it is (a plan of chart 0.1.0 before this), or its VRF's
    policy.nodeSelector, with a per-node policy's hostname (templates/_model.tpl)."""
    if "nodeSelector" in policy:
        return _labels(policy["nodeSelector"])
    selector = _labels(vrf.get("nodeSelector"))
    return {**selector, HOSTNAME: str(policy["node"])} if policy.get("node") else selector


def _vrf_interface(vrf: dict[str, Any], ports: list[dict[str, Any]]) -> dict[str, Any]:
    """The VRF interface of a policy, as templates/_model.tpl (desiredState) makes it: the
    VRF's name and table, and as its ports the policy's interfaces that are no bond's member
    (a bond's members follow it in the list, each a port of the bond), sorted."""
    members = {str(member) for port in ports
               for member in (port.get("link-aggregation") or {}).get("port") or []}
    names = sorted(str(port["name"]) for port in ports if str(port["name"]) not in members)
    return {"name": str(vrf["name"]), "type": "vrf", "state": "up",
            "vrf": {"port": names, "route-table-id": int(vrf["tableId"])}}


def _desired_state(policy: dict[str, Any], vrf: dict[str, Any]) -> dict[str, Any]:
    """A policy's desiredState: as it is (a plan of chart 0.1.0 before policyState), or the
    VRF interface (as the plan gives it, or made as the template makes it), the policy's own
    ports and the extra interfaces, with the routes and rules every policy of the VRF shares,
    in the order the policy itself lists them."""
    if "desiredState" in policy:
        return dict(policy["desiredState"] or {})
    shared = vrf.get("policyState") or {}
    ports = list(policy["ports"])
    head = shared.get("vrfInterface") or _vrf_interface(vrf, ports)
    interfaces = [head, *ports, *(shared.get("extraInterfaces") or [])]
    return {"interfaces": interfaces, **(shared.get("routing") or {})}


def parse_plan(data: Any) -> Plan:
    try:
        cluster = data["cluster"]
        vrfs = tuple(
            Vrf(
                name=str(vrf["name"]),
                table_id=int(vrf["tableId"]),
                node_selector=_labels(vrf.get("nodeSelector")),
                policies=tuple(Policy(str(p["name"]), _policy_selector(p, vrf), _desired_state(p, vrf),
                                      str(p.get("node") or ""), int(p.get("wave") or 0))
                                 for p in vrf["policies"]),
                pools=tuple(Pool(str(p["name"]), _strings(p["addresses"], "pool addresses"),
                                 _admits(p.get("admits"), str(p["name"]), str(data.get("poolServiceLabel") or "")))
                            for p in vrf.get("pools", [])),
                peers=tuple(Peer(str(p["name"]), str(p.get("address", "")), int(p.get("myASN", 0)), str(p.get("peerASN", "")),
                                 str(p.get("passwordSecret", "")), int(p.get("localASN", 0)),
                                 _selectors(p["nodeSelectors"]) if "nodeSelectors" in p else None,
                                 str(p.get("sourceAddress", "")),
                                 _strings(p.get("frrK8sDrops", []), "peer frrK8sDrops"))
                            for p in vrf.get("peers", [])),
                advertisements=tuple(Advertisement(str(a["name"]), _strings(a.get("pools", []), "advertisement pools"),
                                                   _strings(a["peers"], "advertisement peers") if "peers" in a
                                                   else tuple(str(p["name"]) for p in vrf.get("peers", [])))
                                     for a in vrf.get("advertisements", [])),
                egress_services=tuple(
                    EgressService(str(s["namespace"]), str(s["name"]), str(s["sourceIPBy"]), str(s.get("addressPool", "")),
                                  _labels(s.get("serviceLabels")), _selector(s.get("nodeSelector")))
                    for s in vrf.get("egressServices", [])
                ),
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
            metallb_version=str(data.get("metallbVersion") or ""),
            communities=_strings(data.get("communities", []), "communities"),
            cleanup_lease=str(data.get("cleanupLease") or ""),
            frr_k8s_namespace=str(data.get("frrK8sNamespace") or ""),
            hook_admission_policy=str(data.get("hookAdmissionPolicy") or ""),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, PlanError):
            raise
        raise PlanError(f"plan.json is malformed: {error!r}") from error
