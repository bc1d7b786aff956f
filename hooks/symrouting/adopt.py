"""`symrouting adopt`: a site values file from a setup built by hand with the documented
procedure, and the proof that the chart renders the same objects.

The core is pure: live objects in (as the API returns them), values out (adopt), and the
differences between the chart's rendered objects and the live ones (differences). read_live
is the thin reader. Names are always written out, so that every object keeps its name; the
derived fields (a peer's nodeSelectors, an advertisement's nodeSelectors, an egress
service's nodeSelector) are written out as the live object has them, so that no default of
the chart stands in for what is there. Whatever the values cannot say shows up as a
difference: the render is the judge, not this module. Equal values matter beyond the nodes:
Helm 4 applies server-side, and Server-Side Apply conflicts only where another manager
(here `kubectl apply`) owns a field with a different value (Kubernetes documentation,
"Server-Side Apply", Conflicts).
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import shlex
import subprocess
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from symrouting.api import ApiError, Transport
from symrouting.labels import HOSTNAME
from symrouting.plan import PlanError
from symrouting.records import field, record

NNCP = ("nmstate.io/v1", "NodeNetworkConfigurationPolicy")
PEER = ("metallb.io/v1beta2", "BGPPeer")
POOL = ("metallb.io/v1beta1", "IPAddressPool")
ADVERTISEMENT = ("metallb.io/v1beta1", "BGPAdvertisement")
BFD = ("metallb.io/v1beta1", "BFDProfile")
COMMUNITY = ("metallb.io/v1beta1", "Community")
EGRESS = ("k8s.ovn.org/v1", "EgressService")
SECRET = ("v1", "Secret")
# What the chart renders that adopt compares (the hooks and the test pod are Helm hooks).
KINDS = frozenset(kind for _, kind in (NNCP, PEER, POOL, ADVERTISEMENT, BFD, COMMUNITY, EGRESS, SECRET))

# The CRDs of the kinds adopt reads: their served schema has the API server's defaults.
CRDS = {"NodeNetworkConfigurationPolicy": "nodenetworkconfigurationpolicies.nmstate.io",
        "BGPPeer": "bgppeers.metallb.io", "IPAddressPool": "ipaddresspools.metallb.io",
        "BGPAdvertisement": "bgpadvertisements.metallb.io", "BFDProfile": "bfdprofiles.metallb.io",
        "Community": "communities.metallb.io", "EgressService": "egressservices.k8s.ovn.org"}
VERSIONS = {kind: api.rsplit("/", 1)[-1] for api, kind in (NNCP, PEER, POOL, ADVERTISEMENT, BFD, COMMUNITY, EGRESS)}

# The labels the chart sets on every object (templates/_names.tpl symmetric-routing.labels
# and .objectLabels): Helm's, not the site's, so they are not compared.
CHART_LABELS = frozenset({
    "helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by", "app.kubernetes.io/component", "symmetric-routing/tenant",
    "symmetric-routing/release-namespace", "symmetric-routing/vrf"})
# Helm's ownership annotations (helm pkg/action/validate.go, checkOwnership), and kubectl's
# record of what `kubectl apply` last sent (k8s.io/api core/v1 annotation_key_constants.go,
# LastAppliedConfigAnnotation): the client's bookkeeping, which the chart cannot render.
IGNORED_ANNOTATIONS = frozenset({"meta.helm.sh/release-name", "meta.helm.sh/release-namespace",
                                 "kubectl.kubernetes.io/last-applied-configuration"})
# Set by the API server, never by a client.
SERVER_METADATA = ("uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers", "ownerReferences")
# Where a LoadBalancer Service names its pool, first that is set: the pool asked for (the
# deprecated metallb.universe.tf spelling after the stable one, as valueForAnnotation reads
# them), then the pool MetalLB's controller took the address from (MetalLB controller/service.go).
POOL_ANNOTATIONS = ("metallb.io/address-pool", "metallb.universe.tf/address-pool",
                    "metallb.io/ip-allocated-from-pool", "metallb.universe.tf/ip-allocated-from-pool")

# The BGPPeer spec fields the chart passes through (templates/bgppeer.yaml `pick`).
PEER_FIELDS = ("peerASN", "dynamicASN", "localASN", "peerAddress", "interface", "peerPort", "sourceAddress",
               "routerID", "holdTime", "keepaliveTime", "connectTime", "ebgpMultiHop", "enableGracefulRestart",
               "disableMP", "dualStackAddressFamily")
# The BGPAdvertisement spec fields the chart passes through (symmetric-routing.advertisements).
ADVERTISEMENT_FIELDS = ("ipAddressPoolSelectors", "serviceSelectors", "localPref", "aggregationLength",
                        "aggregationLengthV6", "communities")
# The route fields a `routes` entry sets (symmetric-routing.desiredState); any other goes verbatim.
ROUTE_FIELDS = {"destination", "next-hop-address", "next-hop-interface", "table-id", "metric", "source"}
MAIN_TABLE = 254
DEFAULT_RULE_PRIORITY = 998  # values.yaml mainTableRulePriority


@record
class Adoption:
    """What adopt made of the live objects."""

    values: dict[str, Any]
    # The live objects the values take over, as read.
    adopted: list[dict[str, Any]] = field(default_factory=list)
    # Objects read but left out, each with the reason.
    left_out: list[str] = field(default_factory=list)
    # What stands in the way of a clean adoption beside the differences the render shows.
    problems: list[str] = field(default_factory=list)


def key_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("spec") or {}


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name"))


def _vrf_interfaces(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in ((_spec(policy).get("desiredState") or {}).get("interfaces") or [])
            if isinstance(i, dict) and i.get("type") == "vrf" and i.get("state", "up") != "absent"]


def _address(ip: dict[str, Any]) -> str:
    return f"{ip.get('ip')}/{ip.get('prefix-length')}"


def _port(iface: dict[str, Any], table: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A port interface as a `ports` entry, and its static addresses by family (which go to
    the port, or to a node's line of the `nodes` table)."""
    entry: dict[str, Any] = {}
    if iface.get("type", "ethernet") != "ethernet":
        entry["type"] = iface.get("type")
    static: dict[str, list[str]] = {}
    for family in ("ipv4", "ipv6"):
        ip = iface.get(family)
        if not isinstance(ip, dict) or not ip.get("enabled"):
            continue
        if ip.get("dhcp") or (family == "ipv6" and ip.get("autoconf")):
            entry[family] = "autoconf" if family == "ipv6" and ip.get("autoconf") else "dhcp"
        else:
            static[family] = [_address(a) for a in ip.get("address") or []]
    if "mtu" in iface:
        entry["mtu"] = iface["mtu"]
    vlan = iface.get("vlan") or {}
    if iface.get("type") == "vlan":
        entry["vlan"] = {"baseInterface": vlan.get("base-iface"), "id": vlan.get("id")}
    aggregation = iface.get("link-aggregation") or {}
    if iface.get("type") == "bond":
        entry["bond"] = {"mode": aggregation.get("mode"), "ports": list(aggregation.get("port") or [])}
        if aggregation.get("options"):
            entry["bond"]["options"] = aggregation["options"]
    return entry, static


@record
class _State:
    """One policy's desiredState, split into what the VRF's values say."""

    ports: dict[str, dict[str, Any]]
    static: dict[str, dict[str, list[str]]]
    routes: list[dict[str, Any]]
    rule_cidrs: list[str]
    priority: int | None
    extra_interfaces: list[Any]
    extra_routes: list[Any]
    extra_rules: list[Any]


def _split_state(state: dict[str, Any], vrf: dict[str, Any], cluster_cidrs: list[str]) -> _State:
    """The chart prints the VRF interface, then its ports in name order (a bond's members after
    it), then policy.extraInterfaces; the routes, then extraRoutes; the main-table rules of the
    cluster's CIDRs, then extraRouteRules (symmetric-routing.desiredState). Each live item that
    fits those goes there, the rest goes verbatim into the extras."""
    table = int((vrf.get("vrf") or {}).get("route-table-id") or 0)
    port_names = [str(p) for p in (vrf.get("vrf") or {}).get("port") or []]
    interfaces = [i for i in state.get("interfaces") or [] if i is not vrf]
    by_name = {i.get("name"): i for i in interfaces if isinstance(i, dict)}
    ports, static, used = {}, {}, set()
    for name in port_names:
        iface = by_name.get(name) or {}
        ports[name], static[name] = _port(iface, table)
        used.add(name)
        for member in (iface.get("link-aggregation") or {}).get("port") or []:
            if by_name.get(member) == {"name": member, "type": "ethernet", "state": "up"}:
                used.add(member)
    extra_interfaces = [i for i in interfaces if not (isinstance(i, dict) and i.get("name") in used)]
    routes: list[dict[str, Any]] = []
    extra_routes: list[Any] = []
    first_port = sorted(port_names)[0] if port_names else None
    for route in (state.get("routes") or {}).get("config") or []:
        fits = (not extra_routes and isinstance(route, dict) and set(route) <= ROUTE_FIELDS
                and route.get("table-id") == table and "destination" in route and "next-hop-address" in route)
        if not fits:
            extra_routes.append(route)
            continue
        entry = {"destination": route["destination"], "nextHopAddress": route["next-hop-address"]}
        # the chart's default: the VRF's first port by name
        if route.get("next-hop-interface") != first_port:
            entry["nextHopInterface"] = route.get("next-hop-interface")
        for key, value in (("metric", "metric"), ("source", "source")):
            if key in route:
                entry[value] = route[key]
        routes.append(entry)
    rules = list((state.get("route-rules") or {}).get("config") or [])
    leading: list[dict[str, Any]] = []
    for rule in rules:
        if not (isinstance(rule, dict) and set(rule) == {"ip-to", "priority", "route-table"}
                and rule.get("route-table") == MAIN_TABLE and rule.get("priority") == (leading or [rule])[0]["priority"]):
            break
        leading.append(rule)
    cidrs = [str(r["ip-to"]) for r in leading]
    # the leading main-table rules are the cluster's CIDRs when they are all of them, in order
    taken = len(cluster_cidrs) if cidrs[:len(cluster_cidrs)] == cluster_cidrs else 0
    return _State(ports, static, routes, cidrs[:taken], leading[0]["priority"] if taken and leading else None,
                  extra_interfaces, extra_routes, rules[taken:])


def _merge_state_into(values: dict[str, Any], state: _State) -> None:
    policy = values.setdefault("policy", {})
    for key, items in (("extraInterfaces", state.extra_interfaces), ("extraRoutes", state.extra_routes),
                       ("extraRouteRules", state.extra_rules)):
        if items:
            policy[key] = items
    if state.routes:
        values["routes"] = state.routes
    if state.priority is not None and state.priority != DEFAULT_RULE_PRIORITY:
        values["mainTableRulePriority"] = state.priority


def _networks_of(rule_cidrs: list[str], networks: dict[str, list[str]]) -> tuple[dict[str, Any], list[str]]:
    """cluster values for the live rules: the cluster's CIDRs as read, the masquerade subnet
    left out (noMasqueradeSubnet) when the live rules do not cover it, as in the
    documentation's example."""
    base = list(networks.get("serviceNetwork") or []) + list(networks.get("clusterNetwork") or [])
    full = base + list(networks.get("masqueradeSubnet") or [])
    cluster: dict[str, Any] = {"serviceNetwork": list(networks.get("serviceNetwork") or []),
                               "clusterNetwork": list(networks.get("clusterNetwork") or [])}
    if rule_cidrs[:len(full)] == full and networks.get("masqueradeSubnet"):
        cluster["masqueradeSubnet"] = list(networks["masqueradeSubnet"])
        return cluster, full
    cluster["noMasqueradeSubnet"] = True
    return cluster, base


def node_policy_name(prefix: str, node: str) -> str:
    """The chart's name of a node's policy (templates/_names.tpl symmetric-routing.nodePolicyName):
    "<prefix>-<node>" cut to 54 characters, "-" and 8 hex digits of the sha256 of "<prefix>/<node>"."""
    import hashlib

    joined = f"{prefix}-{node}"[:54].rstrip("-").rstrip(".")
    return f"{joined}-{hashlib.sha256(f'{prefix}/{node}'.encode()).hexdigest()[:8]}"


def node_policy_prefix(name: str, node: str) -> str:
    """The policy prefix a node's policy was named from: the chart's form with its hash, or
    "<prefix>-<node>" as a hand-built setup names it (the install then renames it); "" when
    the name is neither (or cut too short to tell)."""
    base = name[:-9] if len(name) > 9 and name[-9] == "-" else ""
    if base.endswith(f"-{node}") and node_policy_name(base[:-len(node) - 1], node) == name:
        return base[:-len(node) - 1]
    return name[:-len(node) - 1] if name.endswith(f"-{node}") else ""


def _beyond_the_vrf(live: dict[str, Any], vrf: dict[str, Any]) -> str:
    """What of the VRF's own node selector (its policy.nodeSelector, and a nodes table's
    hostnames) a live EgressService's nodeSelector lacks: the chart adds it
    (templates/egressservice.yaml), so such a live selector renders narrowed. Empty when none."""
    vrf_labels = (vrf.get("policy") or {}).get("nodeSelector") or {}
    vrf_expressions = ([{"key": HOSTNAME, "operator": "In", "values": sorted(vrf["nodes"])}]
                       if vrf.get("nodes") else [])
    labels, expressions = live.get("matchLabels") or {}, live.get("matchExpressions") or []
    lacking = [f"{k}={v}" for k, v in sorted(vrf_labels.items()) if labels.get(k) != v]
    lacking += [f"{e['key']} {e['operator']} {e['values']}" for e in vrf_expressions if e not in expressions]
    return ", ".join(lacking)


def _vrf_policies(vrf_name: str, policies: list[dict[str, Any]], cidrs: list[str],
                  problems: list[str]) -> dict[str, Any]:
    """The policy, ports, nodes and routes of one VRF from its live policies: one policy, or
    one per node picked by kubernetes.io/hostname, named as node_policy_name does."""
    policies = sorted(policies, key=_name)
    values: dict[str, Any] = {}
    first = policies[0]
    vrf_iface = _vrf_interfaces(first)[0]
    values["tableId"] = (vrf_iface.get("vrf") or {}).get("route-table-id")
    spec = _spec(first)
    selector = dict(spec.get("nodeSelector") or {})
    per_node = len(policies) > 1
    policy: dict[str, Any] = {}
    if per_node:
        hosts = [str((_spec(p).get("nodeSelector") or {}).get(HOSTNAME, "")) for p in policies]
        prefixes = {prefix for p, h in zip(policies, hosts) if h and (prefix := node_policy_prefix(_name(p), h))}
        if len(prefixes) != 1 or not all(hosts):
            problems.append(f"VRF {vrf_name}: policies {', '.join(_name(p) for p in policies)} are not one per node "
                            f"named <prefix>-<kubernetes.io/hostname>-<hash>; the chart names per-node policies so")
        policy["name"] = sorted(prefixes)[0] if prefixes else _name(first)
        selector.pop(HOSTNAME, None)
    else:
        policy["name"] = _name(first)
    policy["nodeSelector"] = selector
    for key in ("maxUnavailable", "capture"):
        if key in spec:
            policy[key] = spec[key]
    values["policy"] = policy
    states = [(p, _split_state((_spec(p).get("desiredState") or {}), _vrf_interfaces(p)[0], cidrs)) for p in policies]
    state = states[0][1]
    _merge_state_into(values, state)
    values["ports"] = {}
    for port, entry in state.ports.items():
        values["ports"][port] = dict(entry)
        if not per_node:
            for family, addresses in state.static[port].items():
                values["ports"][port][family] = addresses
    if per_node:
        nodes = {}
        for policy_obj, node_state in states:
            host = str((_spec(policy_obj).get("nodeSelector") or {}).get(HOSTNAME, _name(policy_obj)))
            line: dict[str, Any] = {}
            for port, families in node_state.static.items():
                addresses = [a for family in ("ipv4", "ipv6") for a in families.get(family, [])]
                if addresses:
                    line[port] = addresses[0] if len(addresses) == 1 else addresses
            nodes[host] = line
        values["nodes"] = nodes
    return values


def _pool_of_address(address: str, pools: dict[str, dict[str, Any]]) -> str:
    """The pool whose addresses hold a LoadBalancer address, or ""."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    for name, pool in pools.items():
        for block in _spec(pool).get("addresses") or []:
            block = str(block)
            try:
                if "-" in block:
                    first, last = (ipaddress.ip_address(part.strip()) for part in block.split("-", 1))
                    if first.version == ip.version and first <= ip <= last:  # type: ignore[operator]
                        return name
                elif ip in ipaddress.ip_network(block, strict=False):
                    return name
            except (ValueError, TypeError):
                continue
    return ""


def _per_service_groups(entries: dict[str, dict[str, Any]], vrf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Advertisements that are one advertisement entry as the chart splits it for MetalLB 0.16
    (symmetric-routing.advertisements): "<name>-<service key>", each with its service's pool,
    the node label OVN-Kubernetes sets for it, and the service label the chart selects by,
    become that one entry, without nodeSelectors: the chart refuses nodeSelectors or
    serviceSelectors set by hand on an entry that announces several such services
    (templates/validate/)."""
    services = {}
    pools = vrf.get("addressPools") or {}
    for key, svc in (vrf.get("egressServices") or {}).items():
        if svc.get("sourceIPBy", "LoadBalancerIP") != "LoadBalancerIP":
            continue
        suffix = f"{svc.get('namespace')}-{svc.get('name', key)}"
        pool = svc.get("addressPool") or (next(iter(pools)) if len(pools) == 1 else "")
        services[key] = {"pool": pool,
                         "nodeSelectors": [{"matchLabels": {f"egress-service.k8s.ovn.org/{suffix}": ""}}],
                         "serviceSelectors": [{"matchLabels": {"symmetric-routing/egress-service": suffix}}]}
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, entry in entries.items():
        for key, svc in services.items():
            if (name.endswith(f"-{key}") and entry.get("ipAddressPools") == [svc["pool"]]
                    and entry.get("nodeSelectors") == svc["nodeSelectors"]
                    and entry.get("serviceSelectors") == svc["serviceSelectors"]):
                groups.setdefault(name[:-len(key) - 1], []).append((name, key))
    out = dict(entries)
    for base, members in groups.items():
        rest = [{k: v for k, v in entries[name].items() if k not in ("name", "ipAddressPools", "nodeSelectors",
                                                                      "serviceSelectors")} for name, _ in members]
        served = {services[key]["pool"] for _, key in members}
        announced = {key for key, svc in services.items() if svc["pool"] in served}
        if len(members) < 2 or any(r != rest[0] for r in rest) or announced != {key for _, key in members} or base in out:
            continue
        for name, _ in members:
            del out[name]
        out[base] = {"name": base, **rest[0], "ipAddressPools": sorted(served)}
    return out


def _user_metadata(obj: dict[str, Any], field_name: str) -> dict[str, str]:
    ignored = CHART_LABELS if field_name == "labels" else IGNORED_ANNOTATIONS
    return {k: v for k, v in ((obj.get("metadata") or {}).get(field_name) or {}).items() if k not in ignored}


Schemas = dict[str, dict[str, Any]]


def apply_defaults(value: Any, schema: dict[str, Any] | None) -> None:
    """Fills in a CRD structural schema's defaults, in place, as the API server does on every
    write (apiextensions-apiserver pkg/apiserver/schema/defaulting/algorithm.go, Default): a
    missing property that has a default gets it; objects and list items recurse."""
    if not schema:
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, prop in properties.items():
            if isinstance(prop, dict) and "default" in prop and key not in value:
                value[key] = copy.deepcopy(prop["default"])
        for key, item in value.items():
            if key in properties:
                apply_defaults(item, properties[key])
            elif isinstance(schema.get("additionalProperties"), dict):
                apply_defaults(item, schema["additionalProperties"])
    elif isinstance(value, list):
        for item in value:
            apply_defaults(item, schema.get("items"))


def _without_defaults(spec: dict[str, Any], kind: str, schemas: Schemas) -> dict[str, Any]:
    """spec without the top-level fields that hold their CRD's default: the API server puts
    them back, so the values need not say them."""
    properties = ((((schemas.get(kind) or {}).get("properties") or {}).get("spec") or {}).get("properties") or {})
    return {k: v for k, v in spec.items()
            if not (isinstance(properties.get(k), dict) and "default" in properties[k] and properties[k]["default"] == v)}


@record
class _Reading:
    """What adopt's steps share: the live objects by kind, the release's namespaces, the CRD
    schemas, the Adoption being built, and what the steps found for the later ones."""

    by_kind: dict[str, list[dict[str, Any]]]
    namespace: str
    metallb_namespace: str
    schemas: Schemas
    result: Adoption
    vrfs: dict[str, Any] = field(default_factory=dict)
    # a VRF's tableId (as text) -> the VRF: how an EgressService's network names it
    table_of: dict[str, str] = field(default_factory=dict)
    # an adopted peer's name -> its VRF
    peer_vrf: dict[str, str] = field(default_factory=dict)
    bfd_names: set[str] = field(default_factory=set)
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)
    advertisements: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    # per VRF, the pools its LoadBalancerIP egress services take their addresses from
    load_balancer_pools: dict[str, set[str]] = field(default_factory=dict)
    alias_names: set[str] = field(default_factory=set)


def adopt(objects: list[dict[str, Any]], *, release: str, namespace: str, networks: dict[str, list[str]] | None,
          metallb_namespace: str = "metallb-system", metallb_version: str | None = None,
          schemas: Schemas | None = None) -> Adoption:
    """Values that render the live objects of the procedure: NNCPs with a VRF interface, the
    BGPPeers whose spec.vrf names one of those VRFs, the advertisements to those peers and
    their pools, the EgressServices whose spec.network is a VRF's table, and the BFD profiles,
    Communities and password Secrets these name. Services are read for the pool an egress
    service takes its address from; they stay the application's. With schemas (kind ->
    served openAPIV3Schema), fields that hold their CRD's default are left out of the values."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(str(obj.get("kind")), []).append(obj)
    reading = _Reading(by_kind, namespace, metallb_namespace, schemas or {}, Adoption(values={}))
    vrf_policies = _policies_by_vrf(reading)
    if not vrf_policies:
        reading.result.left_out.append("no NodeNetworkConfigurationPolicy with a VRF interface: nothing to adopt")
        return reading.result
    values, cidrs = _cluster_and_metallb(reading, vrf_policies, networks, metallb_version)
    _adopt_vrfs(reading, vrf_policies, cidrs)
    _adopt_peers(reading)
    _adopt_advertised_pools(reading)
    _adopt_egress_services(reading)
    _adopt_advertisements(reading)
    _adopt_bfd_profiles_and_community(reading, values)
    _common_metadata(reading.result.adopted, values)
    _leave_out_unnamed(reading, objects)
    order = ("tableId", "policy", "ports", "nodes", "routes", "mainTableRulePriority", "bgpPeers", "addressPools",
             "bgpAdvertisements", "egressServices")
    values["vrfs"] = {name: {k: vrf[k] for k in order if k in vrf} for name, vrf in reading.vrfs.items()}
    reading.result.values = values
    return reading.result


def _policies_by_vrf(reading: _Reading) -> dict[str, list[dict[str, Any]]]:
    """The policies by the one VRF interface each declares; one with several is left out."""
    vrf_policies: dict[str, list[dict[str, Any]]] = {}
    for policy in reading.by_kind.get("NodeNetworkConfigurationPolicy", []):
        found = _vrf_interfaces(policy)
        if len(found) != 1:
            if found:
                reading.result.left_out.append(f"{key_of(policy)}: {len(found)} VRF interfaces in one policy; the "
                                               "chart renders one VRF per policy")
            continue
        vrf_policies.setdefault(str(found[0].get("name")), []).append(policy)
    return vrf_policies


def _cluster_and_metallb(reading: _Reading, vrf_policies: dict[str, list[dict[str, Any]]],
                         networks: dict[str, list[str]] | None,
                         metallb_version: str | None) -> tuple[dict[str, Any], list[str]]:
    """The values' cluster section, from the first policy's main-table rules and the cluster's
    networks, and its metallb section; with the CIDRs of those rules."""
    if networks is None or not (networks.get("serviceNetwork") and networks.get("clusterNetwork")):
        reading.result.problems.append("the cluster's service and cluster network CIDRs could not be read; the chart's "
                                       "route rules are made from them (set cluster.serviceNetwork and "
                                       "cluster.clusterNetwork)")
        networks = {"serviceNetwork": [], "clusterNetwork": [], "masqueradeSubnet": []}
    first_policy = sorted(vrf_policies[sorted(vrf_policies)[0]], key=_name)[0]
    first_rules = [str(r.get("ip-to")) for r in ((_spec(first_policy).get("desiredState") or {}).get("route-rules")
                                                  or {}).get("config") or [] if isinstance(r, dict)]
    cluster, cidrs = _networks_of(first_rules, networks)
    values: dict[str, Any] = {"cluster": cluster, "metallb": {"namespace": reading.metallb_namespace}}
    if metallb_version:
        values["metallb"]["version"] = metallb_version
    return values, cidrs


def _adopt_vrfs(reading: _Reading, vrf_policies: dict[str, list[dict[str, Any]]], cidrs: list[str]) -> None:
    """A VRF's values from its policies (one, or one per node), by VRF name."""
    for vrf_name in sorted(vrf_policies):
        reading.vrfs[vrf_name] = _vrf_policies(vrf_name, vrf_policies[vrf_name], cidrs, reading.result.problems)
        reading.table_of[str(reading.vrfs[vrf_name]["tableId"])] = vrf_name
        reading.result.adopted += vrf_policies[vrf_name]


def _adopt_peers(reading: _Reading) -> None:
    """The BGPPeers whose spec.vrf is an adopted VRF, with the password Secret the chart
    would make for them (or the one they name), and the BFD profiles they name."""
    peers_by_name = {}
    for peer in reading.by_kind.get("BGPPeer", []):
        vrf_name = str(_spec(peer).get("vrf") or "")
        if vrf_name not in reading.vrfs:
            reading.result.left_out.append(f"{key_of(peer)}: " + (
                f"its vrf {vrf_name} has no policy here" if vrf_name else "no vrf: it peers from the default VRF"))
            continue
        reading.peer_vrf[_name(peer)] = vrf_name
        peers_by_name[_name(peer)] = peer
    secrets = {_name(s): s for s in reading.by_kind.get("Secret", [])}
    for peer_name in sorted(peers_by_name):
        peer, vrf_name = peers_by_name[peer_name], reading.peer_vrf[peer_name]
        spec = _spec(peer)
        entry: dict[str, Any] = {"name": peer_name}
        if "myASN" in spec:
            entry["myASN"] = spec["myASN"]
        entry.update({k: spec[k] for k in PEER_FIELDS if k in _without_defaults(spec, "BGPPeer", reading.schemas)})
        entry["nodeSelectors"] = spec.get("nodeSelectors") or []
        if spec.get("bfdProfile"):
            entry["bfdProfile"] = spec["bfdProfile"]
            reading.bfd_names.add(str(spec["bfdProfile"]))
        secret_ref = spec.get("passwordSecret") or {}
        # the Secret the chart makes for a `password` (symmetric-routing.passwordSecretName)
        own = f"{reading.namespace}-{peer_name}-bgp-password"
        secret = secrets.get(str(secret_ref.get("name")))
        if (secret_ref.get("name") == own
                and secret_ref.get("namespace", reading.metallb_namespace) == reading.metallb_namespace
                and secret is not None and (secret.get("data") or {}).get("password")):
            entry["password"] = base64.b64decode(secret["data"]["password"]).decode()
            reading.result.adopted.append(secret)
        elif secret_ref:
            entry["passwordSecret"] = secret_ref
        reading.vrfs[vrf_name].setdefault("bgpPeers", {})[peer_name] = entry
        reading.result.adopted.append(peer)


def _adopt_advertised_pools(reading: _Reading) -> None:
    """The advertisements whose peers are all of one adopted VRF (kept for their own step),
    and the pools they advertise, each in that VRF."""
    reading.pools = {_name(p): p for p in reading.by_kind.get("IPAddressPool", [])}
    pool_vrf: dict[str, str] = {}
    for adv in sorted(reading.by_kind.get("BGPAdvertisement", []), key=_name):
        named = [str(p) for p in _spec(adv).get("peers") or []]
        owners = {reading.peer_vrf.get(p, "") for p in named}
        if not named or len(owners) != 1 or "" in owners:
            reading.result.left_out.append(f"{key_of(adv)}: its peers are not all peers of one VRF here"
                                           + (" (it names none: every peer)" if not named else ""))
            continue
        vrf_name = owners.pop()
        for pool in _spec(adv).get("ipAddressPools") or []:
            if pool_vrf.setdefault(str(pool), vrf_name) != vrf_name:
                reading.result.problems.append(f"IPAddressPool {pool} is advertised in VRFs {pool_vrf[str(pool)]} and "
                                               f"{vrf_name}; a pool belongs to one VRF in the values")
        reading.advertisements.append((adv, vrf_name))
    for pool_name in sorted(pool_vrf):
        pool = reading.pools.get(pool_name)
        if pool is None:
            reading.result.problems.append(f"IPAddressPool {pool_name}, which an advertisement names, does not exist")
            continue
        reading.vrfs[pool_vrf[pool_name]].setdefault("addressPools", {})[pool_name] = {
            "name": pool_name, **_without_defaults(_spec(pool), "IPAddressPool", reading.schemas)}
        reading.result.adopted.append(pool)


def _adopt_egress_services(reading: _Reading) -> None:
    """The EgressServices whose spec.network is an adopted VRF's table, each with the pool
    its Service takes its address from where the VRF has several."""
    services = {(s["metadata"].get("namespace"), _name(s)): s for s in reading.by_kind.get("Service", [])}
    egress_by_vrf: dict[str, list[dict[str, Any]]] = {}
    for egress in reading.by_kind.get("EgressService", []):
        vrf_name = reading.table_of.get(str(_spec(egress).get("network") or ""), "")
        if not vrf_name:
            reading.result.left_out.append(
                f"{key_of(egress)}: its network {_spec(egress).get('network')!r} is no VRF's table here")
            continue
        egress_by_vrf.setdefault(vrf_name, []).append(egress)
    for vrf_name, items in egress_by_vrf.items():
        names = Counter(_name(e) for e in items)
        vrf_pools = {n: reading.pools[n] for n in (reading.vrfs[vrf_name].get("addressPools") or {})
                     if n in reading.pools}
        for egress in sorted(items, key=lambda e: (e["metadata"].get("namespace"), _name(e))):
            meta, spec = egress["metadata"], _spec(egress)
            key = _name(egress) if names[_name(egress)] == 1 else f"{meta.get('namespace')}-{_name(egress)}"
            service_entry: dict[str, Any] = {"namespace": meta.get("namespace")}
            if key != _name(egress):
                service_entry["name"] = _name(egress)
            if "sourceIPBy" in spec:
                service_entry["sourceIPBy"] = spec["sourceIPBy"]
            service_entry["nodeSelector"] = spec.get("nodeSelector") or {}
            wider = _beyond_the_vrf(service_entry["nodeSelector"], reading.vrfs[vrf_name])
            if wider:
                reading.result.problems.append(
                    f"EgressService {key_of(egress)}: its nodeSelector also matches nodes without VRF {vrf_name} "
                    f"(it lacks {wider}), where OVN-Kubernetes may pick the egress node; the chart narrows it to "
                    "the VRF's nodes")
            service = services.get((meta.get("namespace"), _name(egress))) or {}
            annotations = (service.get("metadata") or {}).get("annotations") or {}
            pool = next((str(annotations[a]) for a in POOL_ANNOTATIONS if annotations.get(a)), "")
            if pool not in vrf_pools:
                ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
                pool = next((p for p in (_pool_of_address(str(i.get("ip")), vrf_pools) for i in ingress) if p), "")
            if pool and len(vrf_pools) > 1:
                service_entry["addressPool"] = pool
            elif not pool and len(vrf_pools) > 1:
                reading.result.problems.append(
                    f"EgressService {meta.get('namespace')}/{_name(egress)}: its Service names no pool of VRF "
                    f"{vrf_name} (annotation {POOL_ANNOTATIONS[0]}) and has no address from one; set "
                    f"vrfs.{vrf_name}.egressServices.{key}.addressPool")
            if spec.get("sourceIPBy", "LoadBalancerIP") == "LoadBalancerIP":
                reading.load_balancer_pools.setdefault(vrf_name, set()).add(pool or next(iter(vrf_pools), ""))
            reading.vrfs[vrf_name].setdefault("egressServices", {})[key] = service_entry
            reading.result.adopted.append(egress)


def _adopt_advertisements(reading: _Reading) -> None:
    """The advertisements, now that the egress services whose node label the chart would add
    are known, grouped back as the chart splits them per service."""
    for adv, vrf_name in reading.advertisements:
        spec = _spec(adv)
        entry = {"name": _name(adv), "peers": [str(p) for p in spec.get("peers") or []]}
        if spec.get("ipAddressPools"):
            entry["ipAddressPools"] = [str(p) for p in spec["ipAddressPools"]]
        entry.update({k: spec[k] for k in ADVERTISEMENT_FIELDS
                      if k in _without_defaults(spec, "BGPAdvertisement", reading.schemas)})
        # the chart adds the egress-service node label unless nodeSelectors is set
        # (symmetric-routing.advertisements); `[]` says "none" where that would happen
        derives = bool(set(entry.get("ipAddressPools") or []) & reading.load_balancer_pools.get(vrf_name, set()))
        if "nodeSelectors" in spec or derives:
            entry["nodeSelectors"] = spec.get("nodeSelectors") or []
        reading.alias_names |= {str(c) for c in spec.get("communities") or []}
        reading.vrfs[vrf_name].setdefault("bgpAdvertisements", {})[_name(adv)] = entry
        reading.result.adopted.append(adv)
    for vrf in reading.vrfs.values():
        if vrf.get("bgpAdvertisements"):
            vrf["bgpAdvertisements"] = _per_service_groups(vrf["bgpAdvertisements"], vrf)


def _adopt_bfd_profiles_and_community(reading: _Reading, values: dict[str, Any]) -> None:
    """The BFD profiles the adopted peers name, and the one Community whose aliases the
    adopted advertisements use."""
    profiles = {_name(p): p for p in reading.by_kind.get("BFDProfile", [])}
    for name in sorted(reading.bfd_names):
        if name in profiles:
            values.setdefault("bfdProfiles", {})[name] = {
                "name": name, **_without_defaults(_spec(profiles[name]), "BFDProfile", reading.schemas)}
            reading.result.adopted.append(profiles[name])
        else:
            reading.result.problems.append(f"BFDProfile {name}, which a peer names, does not exist")
    used = [c for c in reading.by_kind.get("Community", [])
            if {str(e.get("name")) for e in _spec(c).get("communities") or []} & reading.alias_names]
    if len(used) > 1:
        reading.result.problems.append(f"the advertisements use the aliases of {len(used)} Community objects "
                                       f"({', '.join(_name(c) for c in used)}); the chart renders one")
    if used:
        values["communities"] = {"name": _name(used[0]), "aliases": {
            str(e.get("name")): e.get("value") for e in _spec(used[0]).get("communities") or []}}
        reading.result.adopted.append(used[0])


def _common_metadata(adopted: list[dict[str, Any]], values: dict[str, Any]) -> None:
    """Labels and annotations every adopted object carries become commonLabels and
    commonAnnotations, which the chart puts on every object it renders."""
    for field_name, key in (("labels", "commonLabels"), ("annotations", "commonAnnotations")):
        maps = [_user_metadata(o, field_name) for o in adopted]
        common = {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps)} if maps else {}
        if common:
            values[key] = common


def _leave_out_unnamed(reading: _Reading, objects: list[dict[str, Any]]) -> None:
    """Pools, BFD profiles and Communities that no adopted object names stay out, said so."""
    taken = {key_of(o) for o in reading.result.adopted}
    reading.result.left_out += [f"{key_of(o)}: no adopted object names it" for o in objects
                                if o.get("kind") in ("IPAddressPool", "BFDProfile", "Community")
                                and key_of(o) not in taken]


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without what the API server sets and without Helm's labels and annotations."""
    meta = dict(obj.get("metadata") or {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    meta.pop("labels", None)
    meta.pop("annotations", None)
    for field_name in ("labels", "annotations"):
        kept = _user_metadata(obj, field_name)
        if kept:
            meta[field_name] = kept
    out = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    out["metadata"] = meta
    return out


def _walk(path: str, live: Any, rendered: Any, out: list[str]) -> None:
    if isinstance(live, dict) and isinstance(rendered, dict):
        for key in list(live) + [k for k in rendered if k not in live]:
            where = f"{path}.{key}" if path else str(key)
            if key not in rendered:
                out.append(f"{where}: live {_short(live[key])}, the chart renders nothing")
            elif key not in live:
                out.append(f"{where}: not live, the chart renders {_short(rendered[key])}")
            else:
                _walk(where, live[key], rendered[key], out)
        return
    if isinstance(live, list) and isinstance(rendered, list) and len(live) == len(rendered):
        for index, (a, b) in enumerate(zip(live, rendered)):
            _walk(f"{path}[{index}]", a, b, out)
        return
    if live != rendered or type(live) is not type(rendered):
        out.append(f"{path}: live {_short(live)}, the chart renders {_short(rendered)}")


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def differences(live: list[dict[str, Any]], rendered: list[dict[str, Any]], schemas: Schemas | None = None) -> list[str]:
    """Every difference between the adopted live objects and the chart's rendered objects of
    the same kinds (Helm hooks left out), field for field, the rendered ones with their CRD's
    defaults filled in as the API server will; [] when the chart renders exactly the live objects."""
    rendered = copy.deepcopy(rendered)
    for obj in rendered:
        apply_defaults(obj, (schemas or {}).get(str(obj.get("kind"))))
    def index(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {key_of(o): comparable(o) for o in objects}

    mine = index([o for o in rendered if o.get("kind") in KINDS
                  and "helm.sh/hook" not in ((o.get("metadata") or {}).get("annotations") or {})])
    theirs = index(live)
    out = []
    for key in sorted(set(mine) | set(theirs)):
        if key not in mine:
            out.append(f"{key}: live, but the chart does not render it")
        elif key not in theirs:
            out.append(f"{key}: the chart would create it; it is not live")
        else:
            found: list[str] = []
            _walk("", theirs[key], mine[key], found)
            out += [f"{key}: {line}" for line in found]
    return out


def ownership_commands(adopted: list[dict[str, Any]], release: str, namespace: str,
                       labels: dict[str, dict[str, str]]) -> list[str]:
    """kubectl commands that give each adopted object the ownership metadata Helm requires
    before it updates an object it did not create (helm pkg/action/validate.go,
    existingResourceConflict and checkOwnership: label app.kubernetes.io/managed-by=Helm,
    annotations meta.helm.sh/release-name and meta.helm.sh/release-namespace), and every
    label the chart renders on it (labels, by key_of): Helm 3 leaves an adopted custom
    resource as it is (pkg/kube/client.go createPatch gets the rendered object as both the
    original and the target: an empty merge patch), and the hooks and `symrouting status`
    find a release's objects by those labels."""
    resources = {**CRDS, "Secret": "secrets"}
    groups: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[str]] = {}
    for obj in adopted:
        meta = obj.get("metadata") or {}
        own = {**labels.get(key_of(obj), {}), "app.kubernetes.io/managed-by": "Helm"}
        group = (resources[str(obj.get("kind"))], str(meta.get("namespace") or ""), tuple(sorted(own.items())))
        groups.setdefault(group, []).append(str(meta.get("name")))
    lines = []
    for (resource, where, pairs), names in sorted(groups.items()):
        target = f"{resource} {' '.join(sorted(names))}" + (f" -n {where}" if where else "")
        lines.append(f"kubectl label --overwrite {target} " + " ".join(shlex.quote(f"{k}={v}") for k, v in pairs))
        lines.append(f"kubectl annotate --overwrite {target} meta.helm.sh/release-name={release} "
                     f"meta.helm.sh/release-namespace={namespace}")
    return lines


def read_schemas(transport: Transport) -> Schemas:
    """The openAPIV3Schema of the version adopt reads of each kind, as the cluster serves it;
    a CRD that cannot be read is left out (its defaults are then written into the values)."""
    schemas: Schemas = {}
    for kind, name in CRDS.items():
        try:
            crd = transport.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        except ApiError:
            continue
        for version in ((crd or {}).get("spec") or {}).get("versions") or []:
            if isinstance(version, dict) and version.get("name") == VERSIONS[kind]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if isinstance(schema, dict):
                    schemas[kind] = schema
    return schemas


# The reader: lists of the procedure's kinds, as the API serves them.
def read_live(transport: Transport, metallb_namespace: str) -> list[dict[str, Any]]:
    """The live objects adopt reads: policies, MetalLB's objects in its namespace, every
    EgressService, and the Services and password Secrets these name."""
    from symrouting.gather import collect

    malformed: list[str] = []
    found: list[dict[str, Any]] = []
    lists = [(NNCP, "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"),
             (PEER, f"/apis/metallb.io/v1beta2/namespaces/{metallb_namespace}/bgppeers"),
             (POOL, f"/apis/metallb.io/v1beta1/namespaces/{metallb_namespace}/ipaddresspools"),
             (ADVERTISEMENT, f"/apis/metallb.io/v1beta1/namespaces/{metallb_namespace}/bgpadvertisements"),
             (BFD, f"/apis/metallb.io/v1beta1/namespaces/{metallb_namespace}/bfdprofiles"),
             (COMMUNITY, f"/apis/metallb.io/v1beta1/namespaces/{metallb_namespace}/communities"),
             (EGRESS, "/apis/k8s.ovn.org/v1/egressservices")]
    for (api_version, kind), path in lists:
        # a typed List's items carry no apiVersion and kind; set them where missing
        for item in collect(transport, path, lambda item: item, malformed) or []:
            found.append({"apiVersion": api_version, "kind": kind, **item})
    for egress in [o for o in found if o["kind"] == "EgressService"]:
        meta = egress["metadata"]
        service = transport.get(f"/api/v1/namespaces/{meta.get('namespace')}/services/{meta.get('name')}")
        if service is not None:
            found.append({"apiVersion": "v1", "kind": "Service", **service})
    for peer in [o for o in found if o["kind"] == "BGPPeer"]:
        ref = _spec(peer).get("passwordSecret") or {}
        if ref.get("name"):
            try:
                secret = transport.get(f"/api/v1/namespaces/{ref.get('namespace') or metallb_namespace}/secrets/"
                                       f"{urllib.parse.quote(str(ref['name']))}")
            except ApiError:
                # not allowed to read it: the peer keeps passwordSecret, and the Secret stays outside
                secret = None
            if secret is not None:
                found.append({"apiVersion": "v1", "kind": "Secret", **secret})
    return found


def values_text(result: Adoption, release: str, namespace: str) -> str:
    from symrouting import blockyaml

    head = (f"# Site values adopted from the live objects by `symrouting adopt` for release {namespace}/{release}.\n"
            "# Every name is written out, so that each object keeps its own.\n")
    return head + blockyaml.dump(result.values)


@record
class Proof:
    clean: bool
    text: str


def _helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([helm, *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise PlanError(f"no Helm at {helm!r}: install Helm 3.19+ or 4, or name it with --helm") from None


def prove(result: Adoption, helm: str, chart: list[str], release: str, namespace: str, output: Path,
          schemas: Schemas | None = None) -> Proof:
    """Writes the values file, renders the chart with it (`helm template`; chart is the
    reference and any `--version`) and compares the rendered objects with the adopted live
    ones. Clean only when nothing differs and nothing stood in the way."""
    from symrouting import blockyaml

    output.write_text(values_text(result, release, namespace))
    version = _helm(helm, "version", "--short").stdout.strip() or "unknown version"
    rendered = _helm(helm, "template", release, *chart, "--namespace", namespace, "--values", str(output))
    command = f"helm template {release} {' '.join(chart)} -n {namespace} -f {output}"
    if rendered.returncode != 0:
        return Proof(False, f"wrote {output}\nNOT CLEAN: {command} ({version}) refused the values:\n"
                            f"  {rendered.stderr.strip()}\n")
    try:
        objects = blockyaml.load_documents(rendered.stdout, KINDS)
    except blockyaml.YamlError as error:
        return Proof(False, f"wrote {output}\nNOT CLEAN: could not read what {command} printed: {error}\n")
    found = differences(result.adopted, objects, schemas)
    # the chart limits each pool to the Services with its label (templates/ipaddresspool.yaml):
    # a change the install makes on purpose, not one the values fail to express
    intended = [line for line in found if line.split(": ", 1)[0].startswith("IPAddressPool ")
                and ": spec.serviceAllocation: not live" in line]
    found = [line for line in found if line not in intended]
    lines = [f"wrote {output}", f"proof: {command} ({version})"]
    if intended:
        lines.append("the install limits these pools to the Services that carry the pool's label; label the")
        lines.append("Services that hold their addresses first (README: Attaching a Service the chart does not create):")
        lines += [f"  {line}" for line in intended]
    if found or result.problems:
        lines.append(f"NOT CLEAN: {len(found)} difference(s) the values cannot express, {len(result.problems)} "
                     "problem(s) above; fix them in the cluster or the values, or accept that the install changes them:")
        lines += [f"  {line}" for line in found]
        return Proof(False, "\n".join(lines) + "\n")
    lines.append(f"clean: the chart renders the {len(result.adopted)} adopted objects field for field")
    lines.append("hand them to Helm without deleting or recreating any: first give each Helm's ownership")
    lines.append("metadata (helm pkg/action/validate.go, checkOwnership) and the chart's labels, then install:")
    labels = {key_of(o): dict((o.get("metadata") or {}).get("labels") or {}) for o in objects}
    lines += [f"  {c}" for c in ownership_commands(result.adopted, release, namespace, labels)]
    lines.append(f"  helm install {release} {' '.join(chart)} -n {namespace} -f {output}")
    if "--take-ownership" in _helm(helm, "install", "--help").stdout:
        lines.append("this Helm has --take-ownership, which skips that check, but the pre-install preflight runs")
        lines.append("before Helm writes the metadata and would take the objects for another release's: label")
        lines.append("and annotate first as above")
    return Proof(True, "\n".join(lines) + "\n")


def report(result: Adoption, release: str, namespace: str) -> str:
    lines = [f"adopting for release {namespace}/{release}: {len(result.adopted)} object(s)"]
    lines += [f"  {key_of(o)}" for o in sorted(result.adopted, key=key_of)]
    if result.left_out:
        lines.append("left out (they stay as they are, outside the release):")
        lines += [f"  {line}" for line in result.left_out]
    if result.problems:
        lines.append("problems:")
        lines += [f"  {line}" for line in result.problems]
    return "\n".join(lines) + "\n"
