"""Reads the facts the checks need from the API, through any Transport.

OpenShift keeps the cluster's networks in config.openshift.io and operator.openshift.io
Network "cluster"; upstream Kubernetes has none of those, so the fallbacks are ServiceCIDRs,
the kubeadm-config ConfigMap and the nodes' podCIDRs. Lists are read page by page and only
the fields needed are kept, so that memory stays flat on large clusters. The preflight reads
its facts side by side (in_parallel), each list on its own connection.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from symrouting.api import ApiError, Gone, Transport, Unexpected, describe_request
from symrouting.facts import (Facts, ForeignCommunity, ForeignPeer, ForeignPolicy, ForeignPool, LoadBalancerService, Node,
                              Sourced)
from symrouting.plan import Kind, Plan

T = TypeVar("T")
PAGE = 250
# 250 items a page: 2.5 million objects. A list longer than that is a server that pages wrong.
MAX_PAGES = 10_000
# Reads in flight at once: the API server's time on one list overlaps the others (on 500
# nodes and 2,000 policies half of the preflight's wall time was the server's).
READERS = 4
MASQUERADE_ANNOTATION = "k8s.ovn.org/node-masquerade-subnet"
RELEASE_ANNOTATION = "meta.helm.sh/release-name"
RELEASE_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"


def collect(transport: Transport, path: str, extract: Callable[[dict[str, Any]], T | None],
            malformed: list[str], *, metadata_only: bool = False) -> list[T] | None:
    """Every item of a list, page by page, through extract; None when the list is 404.

    An item that extract cannot read (KeyError, TypeError, ValueError) is skipped and named
    in malformed, so that one broken object does not hide the others. A continue token that
    expired (410) starts one full list without limit, as client-go's pager does
    (tools/pager/pager.go, ListPager.list with FullListIfExpired); a list that repeats a
    continue token, or runs past MAX_PAGES, is an Unexpected answer, not an endless loop.
    """
    found: list[T] = []
    skipped: list[str] = []
    token, pages, limit = "", 0, f"limit={PAGE}"
    seen: set[str] = set()
    kind = path.split("?", 1)[0].rsplit("/", 1)[-1]
    while True:
        query = "&".join(q for q in (limit, f"continue={urllib.parse.quote(token)}" if token else "") if q)
        url = f"{path}{'&' if '?' in path else '?'}{query}" if query else path
        try:
            page = transport.get(url, metadata_only=metadata_only)
        except Gone:
            if not token or not limit:
                raise
            found, skipped, token, seen, limit = [], [], "", set(), ""
            continue
        if page is None:
            return None
        items = page.get("items") or []
        if not isinstance(items, list):
            raise Unexpected(f"the answer to {describe_request(url)} has items that are not a list")
        for item in items:
            try:
                value = extract(item)
            except (KeyError, TypeError, ValueError, AttributeError):
                skipped.append(f"{kind} {_name_of(item)}")
                continue
            if value is not None:
                found.append(value)
        meta = page.get("metadata")
        token = str((meta if isinstance(meta, dict) else {}).get("continue") or "")
        pages += 1
        if not token:
            malformed.extend(skipped)
            return found
        if token in seen or pages >= MAX_PAGES:
            why = "repeated its continue token" if token in seen else f"went past {MAX_PAGES} pages"
            raise Unexpected(f"{describe_request(path)} {why}: the API server's paging is broken")
        seen.add(token)


def _name_of(item: Any) -> str:
    """An item's metadata.name for a message, '?' when it has none."""
    meta = item.get("metadata") if isinstance(item, dict) else None
    return str(meta.get("name", "?")) if isinstance(meta, dict) else "?"


INSTANCE_LABEL = "app.kubernetes.io/instance"
RELEASE_NAMESPACE_LABEL = "symmetric-routing/release-namespace"


def owner_of(meta: dict[str, Any]) -> str:
    """"<namespace>/<release>" of the release that made an object, or "" when none did.

    The chart's labels say it under Helm and Argo CD alike; Helm's own annotations are the
    fallback for objects other charts made.
    """
    labels = meta.get("labels") or {}
    if labels.get(INSTANCE_LABEL) and labels.get(RELEASE_NAMESPACE_LABEL):
        return f"{labels[RELEASE_NAMESPACE_LABEL]}/{labels[INSTANCE_LABEL]}"
    annotations = meta.get("annotations") or {}
    name = annotations.get(RELEASE_ANNOTATION)
    return f"{annotations.get(RELEASE_NAMESPACE_ANNOTATION, '?')}/{name}" if name else ""


def _cidr_list(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values or [] if v)


def read_openshift_networks(transport: Transport, facts: Facts) -> bool:
    """Fills the networks from OpenShift's objects; False when this is not OpenShift."""
    config = transport.get("/apis/config.openshift.io/v1/networks/cluster")
    if config is None:
        return False
    for part in ("status", "spec"):
        section = config.get(part) or {}
        cluster = _cidr_list(entry.get("cidr") for entry in section.get("clusterNetwork") or [])
        service = _cidr_list(section.get("serviceNetwork"))
        if cluster and service:
            source = f"network.config.openshift.io/cluster {part}"
            facts.cluster_network, facts.service_network = Sourced(cluster, source), Sourced(service, source)
            break
    operator = transport.get("/apis/operator.openshift.io/v1/networks/cluster")
    if operator is not None:
        ovn = ((operator.get("spec") or {}).get("defaultNetwork") or {}).get("ovnKubernetesConfig") or {}
        gateway = ovn.get("gatewayConfig") or {}
        facts.routing_via_host = bool(gateway.get("routingViaHost", False))
        facts.routing_via_host_source = "network.operator.openshift.io/cluster gatewayConfig.routingViaHost"
        masquerade = _cidr_list(
            (gateway.get(family) or {}).get("internalMasqueradeSubnet") for family in ("ipv4", "ipv6")
        )
        if masquerade:
            facts.masquerade_subnet = Sourced(masquerade, "network.operator.openshift.io/cluster gatewayConfig")
    return True


_KUBEADM_FIELD = re.compile(r"^\s*(podSubnet|serviceSubnet):\s*['\"]?([^'\"\s#]+)", re.MULTILINE)


def read_upstream_networks(transport: Transport, facts: Facts) -> None:
    service_cidrs = collect(transport, "/apis/networking.k8s.io/v1/servicecidrs",
                            lambda item: _cidr_list(item["spec"]["cidrs"]), facts.malformed)
    if service_cidrs:
        facts.service_network = Sourced(tuple(c for cidrs in service_cidrs for c in cidrs), "ServiceCIDR objects")
    kubeadm = transport.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
    if kubeadm is not None:
        fields = dict(_KUBEADM_FIELD.findall((kubeadm.get("data") or {}).get("ClusterConfiguration", "")))
        if "podSubnet" in fields:
            facts.cluster_network = Sourced(tuple(fields["podSubnet"].split(",")), "kube-system/kubeadm-config")
        if "serviceSubnet" in fields and facts.service_network is None:
            facts.service_network = Sourced(tuple(fields["serviceSubnet"].split(",")), "kube-system/kubeadm-config")
    ovnkube = transport.get("/api/v1/namespaces/ovn-kubernetes/configmaps/ovnkube-config")
    if ovnkube is not None:
        import configparser

        parser = configparser.ConfigParser()
        parser.read_string((ovnkube.get("data") or {}).get("ovnkube.conf", ""))
        mode = parser.get("gateway", "mode", fallback="")
        if mode:
            facts.routing_via_host = mode == "local"
            facts.routing_via_host_source = f"ovn-kubernetes/ovnkube-config [gateway] mode={mode}"


def _node(item: dict[str, Any]) -> tuple[Node, dict[str, str]]:
    meta = item["metadata"]
    annotation = (meta.get("annotations") or {}).get(MASQUERADE_ANNOTATION)
    masquerade = {str(k): str(v) for k, v in json.loads(annotation).items()} if annotation else {}
    spec = item.get("spec") or {}
    node = Node(str(meta["name"]), {str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
                _cidr_list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])))
    return node, masquerade


def read_nodes(transport: Transport, facts: Facts) -> None:
    """Nodes' labels and masquerade annotation; their podCIDRs (in spec, so the whole object)
    only where the cluster network is not known otherwise."""
    entries = collect(transport, "/api/v1/nodes", _node, facts.malformed,
                      metadata_only=facts.cluster_network is not None) or []
    facts.nodes = tuple(node for node, _ in entries)
    masquerade = sorted({cidr for _, subnets in entries for cidr in subnets.values()})
    if masquerade:
        # Newer OVN-Kubernetes writes the subnet it really uses on every node: it wins.
        facts.masquerade_subnet = Sourced(tuple(masquerade), f"node annotation {MASQUERADE_ANNOTATION}")


def _policy(item: dict[str, Any]) -> ForeignPolicy:
    meta, spec = item["metadata"], item.get("spec") or {}
    interfaces = (spec.get("desiredState") or {}).get("interfaces") or []
    vrfs = tuple(
        (str(iface["name"]), int((iface.get("vrf") or {})["route-table-id"]))
        for iface in interfaces
        if iface.get("type") == "vrf" and iface.get("state", "up") != "absent"
    )
    return ForeignPolicy(str(meta["name"]), owner_of(meta), {str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()}, vrfs)


# kubernetes-nmstate's kinds, as the hooks read them.
POLICIES = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
ENACTMENTS = "/apis/nmstate.io/v1beta1/nodenetworkconfigurationenactments"
NODE_STATES = "/apis/nmstate.io/v1beta1/nodenetworkstates"
# A policy's node selector and desired state: what it declares on the nodes it selects.
Declaration = tuple[dict[str, Any], dict[str, Any]]


def declaration(item: dict[str, Any]) -> Declaration | None:
    """What a policy declares on its nodes, read leniently (a policy the checks cannot read
    still declares its state); None for a policy being deleted."""
    if (item.get("metadata") or {}).get("deletionTimestamp"):
        return None
    spec = item.get("spec") or {}
    selector, state = spec.get("nodeSelector"), spec.get("desiredState")
    return (selector if isinstance(selector, dict) else {}), (state if isinstance(state, dict) else {})


def _policy_read(item: dict[str, Any]) -> tuple[ForeignPolicy | str, Declaration | None]:
    """One list of the policies serves the checks (the policy) and the leftovers (its
    declaration). A policy the checks cannot read still declares; in its place comes its
    name, for the caller to list as malformed once the list is whole (a list that starts
    again after a 410 reads it twice)."""
    declared = declaration(item)
    try:
        return _policy(item), declared
    except (KeyError, TypeError, ValueError, AttributeError):
        return _name_of(item), declared


def _pool(item: dict[str, Any]) -> ForeignPool:
    meta = item["metadata"]
    return ForeignPool(str(meta["name"]), owner_of(meta), _cidr_list(item["spec"]["addresses"]))


def _peer(item: dict[str, Any]) -> ForeignPeer:
    meta = item["metadata"]
    return ForeignPeer(str(meta["name"]), owner_of(meta), str((item.get("spec") or {}).get("vrf") or ""))


def _community(item: dict[str, Any]) -> ForeignCommunity:
    meta = item["metadata"]
    aliases = tuple(str(entry["name"]) for entry in (item.get("spec") or {}).get("communities") or [])
    return ForeignCommunity(str(meta["name"]), owner_of(meta), aliases)


def _service(item: dict[str, Any]) -> LoadBalancerService | None:
    """A LoadBalancer Service with the addresses of its status; None for other types."""
    if (item.get("spec") or {}).get("type") != "LoadBalancer":
        return None
    meta = item["metadata"]
    ingress = ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addresses = tuple(str(entry["ip"]) for entry in ingress if isinstance(entry, dict) and entry.get("ip"))
    return LoadBalancerService(str(meta.get("namespace") or ""), str(meta["name"]),
                               {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}, addresses)


def read_secrets(transport: Transport, plan: Plan) -> dict[str, str | None]:
    """The type of each Secret a peer names, None where it is missing."""
    names = sorted({peer.password_secret for vrf in plan.vrfs for peer in vrf.peers if peer.password_secret})
    found: dict[str, str | None] = {}
    for name in names:
        secret = transport.get(f"/api/v1/namespaces/{plan.metallb_namespace}/secrets/{urllib.parse.quote(name)}")
        found[name] = None if secret is None else str(secret.get("type") or "Opaque")
    return found


def read_kinds(transport: Transport, plan: Plan) -> tuple[Kind, ...]:
    """The plan's kinds the API does not serve, from one discovery read per group-version."""
    served: dict[str, set[Any] | None] = {}
    missing = []
    for kind in plan.kinds:
        if not kind.group:
            continue
        group_version = f"/apis/{kind.group}/{kind.version}"
        if group_version not in served:
            resources = transport.get(group_version)
            served[group_version] = None if resources is None else {r.get("kind") for r in resources.get("resources") or []}
        if kind.kind not in (served[group_version] or ()):
            missing.append(kind)
    return tuple(missing)


def read_metallb_mode(transport: Transport, plan: Plan, facts: Facts) -> None:
    instances = collect(transport, f"/apis/metallb.io/v1beta1/namespaces/{plan.metallb_namespace}/metallbs",
                        lambda item: (item["metadata"]["name"], (item.get("spec") or {}).get("bgpBackend") or "frr"),
                        facts.malformed)
    if instances:
        name, backend = instances[0]
        facts.metallb_mode, facts.metallb_mode_source = backend, f"MetalLB {plan.metallb_namespace}/{name} spec.bgpBackend"


ADMISSION_API = "/apis/admissionregistration.k8s.io/v1"
ADMISSION_KINDS = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


def read_admission_policies(transport: Transport, facts: Facts) -> None:
    """Whether the API serves ValidatingAdmissionPolicy and its binding in
    admissionregistration.k8s.io/v1, from its discovery document, which every authenticated
    user may read (the system:discovery ClusterRole)."""
    resources = transport.get(ADMISSION_API)
    served = {r.get("kind") for r in (resources or {}).get("resources") or [] if isinstance(r, dict)}
    facts.admission_policies = ADMISSION_KINDS <= served


ADVERTISEMENT_CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgpadvertisements.metallb.io"


def read_service_selectors(transport: Transport, facts: Facts) -> None:
    """Whether a served version of the BGPAdvertisement CRD has spec.serviceSelectors, which
    MetalLB added in 0.16 (metallb config/crd/bases/metallb.io_bgpadvertisements.yaml). An
    API server prunes a field its CRD lacks, so on an older MetalLB the field would vanish."""
    crd = transport.get(ADVERTISEMENT_CRD)
    if crd is None:
        return
    versions = (crd.get("spec") or {}).get("versions") or []
    facts.service_selectors = any(
        "serviceSelectors" in (((((v.get("schema") or {}).get("openAPIV3Schema") or {}).get("properties") or {})
                                .get("spec") or {}).get("properties") or {})
        for v in versions if isinstance(v, dict) and v.get("served"))


def gather(transport: Transport, plan: Plan) -> Facts:
    """Every fact; a refusal (ApiError) for one fact is recorded and the others still read."""
    facts = Facts()

    def attempt(name: str, step: Callable[[], None]) -> None:
        try:
            step()
        except Unexpected:
            raise  # not a refusal of one fact: an answer the hook cannot read (exit 4)
        except ApiError as error:
            facts.unreadable[name] = str(error)

    def networks() -> None:
        if not read_openshift_networks(transport, facts):
            read_upstream_networks(transport, facts)

    declared: list[Declaration] | None = None  # every policy's, this release's too: for the leftovers

    def policies() -> None:
        nonlocal declared
        found = collect(transport, POLICIES, _policy_read, facts.malformed) or []
        facts.policies = tuple(p for p, _ in found if isinstance(p, ForeignPolicy) and not plan.owns(p.owner))
        facts.malformed.extend(f"nodenetworkconfigurationpolicies {p}" for p, _ in found if isinstance(p, str))
        declared = [d for _, d in found if d is not None]

    def pools() -> None:
        found = collect(transport, f"/apis/metallb.io/v1beta1/namespaces/{plan.metallb_namespace}/ipaddresspools",
                        _pool, facts.malformed)
        facts.pools = tuple(p for p in found or [] if not plan.owns(p.owner))

    def peers() -> None:
        found = collect(transport, f"/apis/metallb.io/v1beta2/namespaces/{plan.metallb_namespace}/bgppeers",
                        _peer, facts.malformed)
        facts.peers = tuple(p for p in found or [] if p.vrf and not plan.owns(p.owner))

    def secrets() -> None:
        facts.secrets = read_secrets(transport, plan)

    def communities() -> None:
        found = collect(transport, f"/apis/metallb.io/v1beta1/namespaces/{plan.metallb_namespace}/communities",
                        _community, facts.malformed)
        facts.communities = tuple(c for c in found or [] if not plan.owns(c.owner))

    def services() -> None:
        facts.services = tuple(collect(transport, "/api/v1/services", _service, facts.malformed) or ())

    def kinds() -> None:
        facts.missing_kinds = read_kinds(transport, plan)

    from symrouting import leftovers as nodes_leftovers

    node_states: dict[str, Any] | None = None

    def leftover_states() -> None:
        nonlocal node_states
        node_states = nodes_leftovers.read_states(transport, facts.malformed)

    def leftovers() -> None:
        labels = None if facts.nodes is None else {node.name: node.labels for node in facts.nodes}
        found = nodes_leftovers.read(transport, facts.malformed, labels, declared, node_states)
        facts.leftovers = None if found is None else tuple(found[0])

    def networks_then_nodes() -> None:
        attempt("networks", networks)  # first: known networks spare reading the nodes' specs
        attempt("nodes", lambda: read_nodes(transport, facts))

    # In the order the reads had one after another: of two steps that fail (an answer the hook
    # cannot read, a cluster out of reach), the same one decides the exit code.
    steps: list[Callable[[], None]] = [functools.partial(attempt, "kinds", kinds), networks_then_nodes,
                                       functools.partial(attempt, "policies", policies)]
    reads: list[tuple[str, Callable[[], None]]] = [("pools", pools)]
    if any(vrf.pools for vrf in plan.vrfs):
        reads.append(("services", services))
    reads += [("peers", peers), ("metallb", lambda: read_metallb_mode(transport, plan, facts)),
              ("metallb-version", lambda: read_service_selectors(transport, facts)),
              ("admission", lambda: read_admission_policies(transport, facts)), ("leftovers", leftover_states)]
    if any(peer.password_secret for vrf in plan.vrfs for peer in vrf.peers):
        reads.append(("secrets", secrets))
    if plan.communities:
        reads.append(("communities", communities))
    in_parallel([*steps, *(functools.partial(attempt, name, read) for name, read in reads)], READERS)
    if node_states is not None:  # served and read: the leftovers, against the labels and policies read
        attempt("leftovers", leftovers)

    facts.malformed.sort()  # the steps ran side by side: in a stable order
    return facts


def in_parallel(steps: list[Callable[[], None]], workers: int) -> None:
    """Runs the steps on up to workers threads (each on its own connection, api.HttpsTransport),
    so that the API server's time on one list overlaps the others. After a step raised, no new
    step starts (a cluster that cannot be reached is waited for once, not once per step); the
    first such error, in the steps' order, is raised when every running step has ended."""
    pending = iter(enumerate(steps))
    lock = threading.Lock()
    errors: dict[int, BaseException] = {}

    def work() -> None:
        while True:
            with lock:
                item = None if errors else next(pending, None)
            if item is None:
                return
            index, step = item
            try:
                step()
            except BaseException as error:  # re-raised below, in the caller's thread
                with lock:
                    errors[index] = error

    helpers = [threading.Thread(target=work, name="symrouting-read", daemon=True)
               for _ in range(min(workers, len(steps)) - 1)]
    for helper in helpers:
        helper.start()
    work()
    for helper in helpers:
        helper.join()
    if errors:
        raise errors[min(errors)]
