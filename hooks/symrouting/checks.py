"""The preflight checks: pure functions of the plan and the facts.

Each check returns a Result: pass, warn, fail or skip, a one-line summary, detail lines, and
for failures the fix in values terms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from symrouting import cidr
from symrouting.facts import Facts, Node, Sourced
from symrouting.labels import HOSTNAME, label_selector_matches, selector_matches, selector_text
from symrouting.plan import Peer, Plan
from symrouting.records import field, record

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
VRF_BACKENDS = ("frr", "frr-k8s")
SHOWN_NODES = 5
BASIC_AUTH = "kubernetes.io/basic-auth"


@record(frozen=True)
class Result:
    check: str
    status: str
    summary: str
    details: tuple[str, ...] = ()
    fix: str = ""


def _values_lines(key_values: Mapping[str, Iterable[str]]) -> str:
    lines = ["cluster:"] + [f"  {key}: [{', '.join(values)}]" for key, values in key_values.items()]
    return "\n".join(lines)


def check_cluster_cidrs(plan: Plan, facts: Facts) -> Result:
    name = "cluster-cidrs"
    if "networks" in facts.unreadable:
        return Result(name, FAIL, "could not read the cluster's networks", (facts.unreadable["networks"],))
    expected: dict[str, Sourced | None] = {
        "serviceNetwork": facts.service_network,
        "clusterNetwork": facts.cluster_network,
        "masqueradeSubnet": facts.masquerade_subnet,
    }
    planned = {
        "serviceNetwork": plan.service_network,
        "clusterNetwork": plan.cluster_network,
        "masqueradeSubnet": plan.masquerade_subnet,
    }
    rules = [cidr.network(c) for c in plan.rule_cidrs]
    details: list[str] = []
    wrong: dict[str, tuple[str, ...]] = {}
    unknown = []
    for key, sourced in expected.items():
        if sourced is None:
            unknown.append(key)
            continue
        missing = cidr.uncovered([cidr.network(c) for c in sourced.cidrs], rules)
        if missing:
            details.append(f"{key}: no route rule covers {', '.join(map(str, missing))} (read from {sourced.source})")
            wrong[key] = sourced.cidrs
    if facts.nodes and facts.cluster_network is None:
        pod_cidrs = [cidr.network(c) for node in facts.nodes for c in node.pod_cidrs]
        missing = cidr.uncovered(pod_cidrs, rules)
        if missing:
            details.append(f"clusterNetwork: no route rule covers the nodes' podCIDRs {', '.join(sorted({str(m) for m in missing}))}")
            wrong.setdefault("clusterNetwork", plan.cluster_network)
    known = [cidr.network(c) for s in expected.values() if s for c in s.cidrs]
    known += [cidr.network(c) for node in facts.nodes or () for c in node.pod_cidrs]
    stale = [rule for rule in rules if known and not any(rule.version == k.version and (rule.overlaps(k)) for k in known)]
    if wrong:
        fix = "set in the site's values file (lists replace, so give each whole):\n" + _values_lines(wrong)
        return Result(name, FAIL, "the route rules miss some of the cluster's own CIDRs", tuple(details), fix)
    if stale:
        return Result(name, WARN, "route rules for CIDRs the cluster does not use",
                      tuple(f"{rule} matches no cluster, service or masquerade CIDR" for rule in stale),
                      "remove them from cluster.* in the site's values file")
    if unknown:
        planned_text = "; ".join(f"{k}: {', '.join(planned[k]) or '(none)'}" for k in unknown)
        return Result(name, WARN, f"could not read {', '.join(unknown)} from the cluster; check them by hand",
                      (f"the values say {planned_text}",))
    return Result(name, PASS, f"route rules cover all {len(known)} cluster, service and masquerade CIDRs")


def _nodes_of(selector: dict[str, str], nodes: Iterable[Node]) -> set[str]:
    return {node.name for node in nodes if selector_matches(selector, node.labels)}


def _shown(names: Iterable[str]) -> str:
    ordered = sorted(names)
    more = len(ordered) - SHOWN_NODES
    return ", ".join(ordered[:SHOWN_NODES]) + (f" and {more} more" if more > 0 else "")


def _labels_text(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "(every node)"


def check_node_selectors(plan: Plan, facts: Facts) -> Result:
    """Every policy lands on a node, a per-node policy on the node it names, and a policy
    with static addresses on one node only (each node would get the same address)."""
    name = "node-selectors"
    if facts.nodes is None:
        return Result(name, FAIL, "could not read the nodes", (facts.unreadable.get("nodes", ""),))
    details: list[str] = []
    fixes: list[str] = []
    failing = []
    # A per-node policy names its node by hostname: look it up instead of testing every node.
    by_host = {node.labels.get(HOSTNAME, node.name): node for node in facts.nodes}
    for vrf in plan.vrfs:
        selector = _labels_text(vrf.node_selector)
        if vrf.nodes:
            absent = sorted(p.node for p in vrf.policies
                            if not ((node := by_host.get(p.node)) and selector_matches(p.node_selector, node.labels)))
            details.append(f"{vrf.name}: {len(vrf.nodes) - len(absent)} of {len(vrf.nodes)} listed node(s) "
                           f"carry {selector}")
            if absent:
                known = {node.name for node in facts.nodes}
                missing = [n for n in absent if n not in known]
                unlabelled = [n for n in absent if n in known]
                if missing:
                    details.append(f"{vrf.name}: no node named {_shown(missing)}")
                if unlabelled:
                    details.append(f"{vrf.name}: {_shown(unlabelled)} lack {selector}")
                waved = sorted({p.wave for p in vrf.policies if p.wave and p.node in absent})
                if waved:
                    # nmstate marks it Ignored (NoMatchingNode), which Argo CD's health check
                    # (v3.4.0 resource_customizations/nmstate.io/NodeNetworkConfigurationPolicy/
                    # health.lua) maps to Suspended: never Healthy, so the sync never moves on
                    details.append(f"{vrf.name}: under Argo CD, wave {', '.join(map(str, waved))} would never be "
                                   "Healthy (a policy that matches no node is Ignored) and the sync would hang")
                failing.append(vrf.name)
                fixes.append(f"vrfs.{vrf.name}.nodes: name nodes by their kubernetes.io/hostname label"
                             + (f", and label them: kubectl label node <node> {selector.replace(',', ' ')}"
                                if unlabelled else ""))
            continue
        matched = _nodes_of(vrf.node_selector, facts.nodes)
        details.append(f"{vrf.name}: {len(matched)} node(s) match {selector}")
        static = [a for policy in vrf.policies for a in policy.static_addresses]
        if not matched:
            failing.append(vrf.name)
            fixes.append(f"label the nodes that carry {vrf.name}: kubectl label node <node> {selector.replace(',', ' ')}, "
                         f"or correct vrfs.{vrf.name}.policy.nodeSelector")
        elif static and len(matched) > 1:
            failing.append(vrf.name)
            details.append(f"{vrf.name}: {_shown(matched)} would all get {', '.join(static)}")
            fixes.append(f"list each node's own addresses under vrfs.{vrf.name}.nodes (one line per node, e.g. "
                         f"`{sorted(matched)[0]}: {{<port>: <address>/<prefix>}}`), or narrow "
                         f"vrfs.{vrf.name}.policy.nodeSelector to one node")
    if failing:
        return Result(name, FAIL, f"VRF {', '.join(failing)}: its policies do not land on exactly the nodes meant",
                      tuple(details), "\n".join(fixes))
    return Result(name, PASS, "every VRF's policies land on their nodes", tuple(details))


# MetalLB's speaker announces nothing from a node with this label, whatever its value
# (internal/k8s/nodes/nodes.go IsNodeExcludedFromBalancers, v0.16.1), unless it runs with
# --ignore-exclude-lb; OVN-Kubernetes still picks such a node for egress.
EXCLUDED_FROM_BALANCERS = "node.kubernetes.io/exclude-from-external-load-balancers"


def _peer_nodes(peer: Peer) -> str:
    if peer.node_selectors is None:
        return "the VRF's nodes"
    return " or ".join(selector_text(s) or "every node" for s in peer.node_selectors) or "every node"


def check_egress_sessions(plan: Plan, facts: Facts) -> Result:
    """Every node OVN-Kubernetes may pick for a LoadBalancerIP egress service runs a BGP
    session its address is announced to. OVN-Kubernetes picks any Ready node the
    EgressService's selector matches (clustermanager/egressservice selectNodeFor, v1.3.0);
    the chart announces the address from that node alone, to the advertisement's peers,
    and MetalLB opens a session only on the nodes its nodeSelectors match (speaker
    bgp_controller.go syncPeers, v0.16.1). A picked node without one announces nothing."""
    name = "egress-sessions"
    services = [(vrf, egress, vrf.announcing_peers(egress)) for vrf in plan.vrfs for egress in vrf.egress_services
                if egress.source_ip_by == "LoadBalancerIP"]
    services = [(vrf, egress, peers) for vrf, egress, peers in services if peers]
    if not services:
        return Result(name, SKIP, "no LoadBalancerIP egress service is announced to a BGP peer")
    if facts.nodes is None:
        return Result(name, FAIL, "could not read the nodes", (facts.unreadable.get("nodes", ""),))
    details: list[str] = []
    fixes: list[str] = []
    excluded: list[str] = []
    # Each VRF's nodes from the nodes that carry one of its labels, not from every node: 500
    # VRFs on 500 nodes would match a quarter of a million times.
    by_label: dict[tuple[str, str], list[Node]] = {}
    for node in facts.nodes:
        for pair in node.labels.items():
            by_label.setdefault(pair, []).append(node)
    carriers: dict[str, list[Node]] = {}
    for vrf, egress, peers in services:
        if vrf.name not in carriers:
            pairs = [(HOSTNAME, host) for host in vrf.nodes] if vrf.nodes else []
            among = ([node for pair in pairs for node in by_label.get(pair, [])] if pairs else
                     min((by_label.get(pair, []) for pair in vrf.node_selector.items()), key=len, default=facts.nodes))
            carriers[vrf.name] = [node for node in among if vrf.carries(node.labels)]
        candidates = [node for node in carriers[vrf.name] if label_selector_matches(egress.node_selector, node.labels)]
        silent = sorted(node.name for node in candidates if not any(peer.runs_on(vrf, node.labels) for peer in peers))
        service = f"{egress.namespace}/{egress.name}"
        if silent:
            details.append(f"{vrf.name}: {service}: OVN-Kubernetes may pick {_shown(silent)} ({len(silent)} of "
                           f"{len(candidates)} node(s) its EgressService selects), where no session to "
                           f"{', '.join(peer.name for peer in peers)} runs")
            where = "; ".join(f"{peer.name} on {_peer_nodes(peer)}" for peer in peers)
            fixes.append(f"vrfs.{vrf.name}.egressServices entry of {service}: set nodeSelector to nodes the peers "
                         f"run on ({where}), or widen the nodeSelectors of vrfs.{vrf.name}.bgpPeers to every node "
                         "of the VRF")
        unannounced = sorted(node.name for node in candidates if EXCLUDED_FROM_BALANCERS in node.labels)
        if unannounced:
            excluded.append(f"{vrf.name}: {service}: OVN-Kubernetes may pick {_shown(unannounced)}, labelled "
                            f"{EXCLUDED_FROM_BALANCERS}, where MetalLB announces nothing (unless its speaker runs "
                            "with --ignore-exclude-lb)")
    if fixes:
        return Result(name, FAIL, "a LoadBalancerIP egress service may leave from a node that announces its "
                                  "address to no peer", tuple(details + excluded), "\n".join(fixes))
    if excluded:
        return Result(name, WARN, "a LoadBalancerIP egress service may leave from a node MetalLB does not announce "
                                  "from", tuple(excluded), f"narrow the service's nodeSelector to nodes without "
                                                           f"{EXCLUDED_FROM_BALANCERS}")
    return Result(name, PASS, f"every node the {len(services)} LoadBalancerIP egress service(s) may leave from "
                              "runs a session their address is announced to")


def check_vrf_conflicts(plan: Plan, facts: Facts) -> Result:
    name = "vrf-conflicts"
    if facts.policies is None:
        return Result(name, FAIL, "could not read the NodeNetworkConfigurationPolicies", (facts.unreadable.get("policies", ""),))
    nodes = facts.nodes or ()
    conflicts = []
    for vrf in plan.vrfs:
        ours = _nodes_of(vrf.node_selector, nodes) if facts.nodes is not None else None
        for policy in facts.policies:
            for other_name, other_table in policy.vrfs:
                clash = [what for what, same in (("name", other_name == vrf.name), ("table id", other_table == vrf.table_id)) if same]
                if not clash:
                    continue
                owner = f" of release {policy.owner}" if policy.owner else ""
                if ours is None:
                    conflicts.append(f"{vrf.name}: policy {policy.name}{owner} uses the same VRF {' and '.join(clash)} (nodes unknown)")
                    continue
                shared = ours & _nodes_of(policy.node_selector, nodes)
                if shared:
                    conflicts.append(
                        f"{vrf.name} (table {vrf.table_id}): policy {policy.name}{owner} sets VRF {other_name} "
                        f"(table {other_table}), same {' and '.join(clash)}, on {_shown(shared)}"
                    )
    ours = {vrf.name for vrf in plan.vrfs}
    for peer in facts.peers or ():
        if peer.vrf in ours:
            owner = f" of release {peer.owner}" if peer.owner else ""
            conflicts.append(f"{peer.vrf}: BGPPeer {peer.name}{owner} already peers in this VRF")
    if "peers" in facts.unreadable:
        conflicts.append(f"could not read the BGPPeers: {facts.unreadable['peers']}")
    if conflicts:
        return Result(name, FAIL, "another release uses the same VRF name or table on the same nodes", tuple(conflicts),
                      "give the VRF another name (the vrfs key) and another vrfs.<vrf>.tableId, or nodes of its own")
    return Result(name, PASS, f"no other policy ({len(facts.policies)} read) or BGPPeer ({len(facts.peers or ())} read) "
                              "uses these VRF names or tables on shared nodes")


def check_pool_overlaps(plan: Plan, facts: Facts) -> Result:
    name = "pool-overlaps"
    if facts.pools is None:
        return Result(name, FAIL, "could not read the IPAddressPools", (facts.unreadable.get("pools", ""),))
    cluster_ranges = [
        (key, cidr.network(c))
        for key, sourced in (("service network", facts.service_network), ("cluster network", facts.cluster_network),
                             ("masquerade subnet", facts.masquerade_subnet))
        if sourced for c in sourced.cidrs
    ]
    problems = []
    for vrf in plan.vrfs:
        for pool in vrf.pools:
            ours = [net for entry in pool.addresses for net in cidr.pool_networks(entry)]
            for key, net in cluster_ranges:
                for mine, _ in cidr.overlaps(ours, [net]):
                    problems.append(f"vrfs.{vrf.name} pool {pool.name}: {mine} overlaps the {key} {net}")
            for other in facts.pools:
                theirs = [net for entry in other.addresses for net in cidr.pool_networks(entry)]
                for mine, their in cidr.overlaps(ours, theirs):
                    owner = f" of release {other.owner}" if other.owner else ""
                    problems.append(f"vrfs.{vrf.name} pool {pool.name}: {mine} overlaps {their} of pool {other.name}{owner}")
    if problems:
        return Result(name, FAIL, "address pools overlap the cluster's ranges or another release's pools",
                      tuple(problems), "give vrfs.<vrf>.addressPools.<pool>.addresses a range of its own")
    return Result(name, PASS, f"pools overlap neither the cluster's ranges nor {len(facts.pools)} other pool(s)")


def check_pool_services(plan: Plan, facts: Facts) -> Result:
    """The Services that hold an address of the release's pools. A pool of the chart admits
    only the Services with its label (its default serviceAllocation); MetalLB checks that on
    every assignment, an existing one included (metallb internal/allocator/allocator.go
    v0.15.3 and v0.16.1, Assign: isPoolCompatibleWithService), so an unlabelled holder loses
    its address. A pool whose values set serviceAllocation is only reported for Services
    that are none of the release's egress services."""
    name = "pool-services"
    pools = [(vrf.name, pool, [net for entry in pool.addresses for net in cidr.pool_networks(entry)])
             for vrf in plan.vrfs for pool in vrf.pools]
    if not pools:
        return Result(name, SKIP, "the release has no address pools")
    if facts.services is None:
        return Result(name, FAIL, "could not read the Services", (facts.unreadable.get("services", ""),))
    ours = {(s.namespace, s.name) for vrf in plan.vrfs for s in vrf.egress_services}
    failures, warnings = [], []
    for service in facts.services:
        mine = (service.namespace, service.name) in ours
        for address in service.addresses:
            for vrf_name, pool, networks in pools:
                if not cidr.contains(networks, address):
                    continue
                held = f"Service {service.namespace}/{service.name} holds {address} of pool {pool.name} (vrfs.{vrf_name})"
                if pool.admits and any(service.labels.get(k) != v for k, v in pool.admits.items()):
                    label = ", ".join(f"{k}={v}" for k, v in sorted(pool.admits.items()))
                    whose = "an egress service of this release" if mine else "outside the release"
                    failures.append(f"{held}: it is {whose} and lacks the label {label}, so MetalLB takes the address back")
                elif not pool.admits and not mine:
                    warnings.append(f"{held} and is none of the release's egress services")
    if failures:
        return Result(name, FAIL, "Services that hold the release's addresses without its pool's label",
                      tuple(failures + warnings),
                      "label each Service of the tenant that may keep its address with the pool's label "
                      "(README: Attaching a Service the chart does not create); move any other off the pool "
                      "(remove its metallb.io/address-pool or loadBalancerIPs)")
    if warnings:
        return Result(name, WARN, "Services outside the release hold addresses of pools with their own serviceAllocation",
                      tuple(warnings))
    return Result(name, PASS, f"no Service outside the release holds an address of its pools ({len(facts.services)} read)")


def check_peer_secrets(plan: Plan, facts: Facts) -> Result:
    """MetalLB takes a peer's password from a kubernetes.io/basic-auth Secret of its own
    namespace, waits while it is missing and refuses another type (metallb
    internal/config/config.go passwordFromSecretForPeer)."""
    name = "peer-secrets"
    wanted = {peer.password_secret: f"vrfs.{vrf.name} peer {peer.name}"
              for vrf in plan.vrfs for peer in vrf.peers if peer.password_secret}
    if not wanted:
        return Result(name, SKIP, "no peer names a passwordSecret")
    if facts.secrets is None:
        return Result(name, FAIL, "could not read the peers' Secrets", (facts.unreadable.get("secrets", ""),))
    problems = []
    for secret, user in sorted(wanted.items()):
        kind = facts.secrets.get(secret)
        if kind is None:
            problems.append(f"{user}: Secret {plan.metallb_namespace}/{secret} does not exist")
        elif kind != BASIC_AUTH:
            problems.append(f"{user}: Secret {plan.metallb_namespace}/{secret} is of type {kind}, not {BASIC_AUTH}")
    if problems:
        return Result(name, FAIL, "password Secrets that MetalLB cannot use", tuple(problems),
                      f"create each as `kubectl -n {plan.metallb_namespace} create secret generic <name> "
                      f"--type={BASIC_AUTH} --from-literal=password=<password>`, or set the peer's password value instead (the chart makes the Secret)")
    return Result(name, PASS, f"{len(wanted)} password Secret(s) exist with type {BASIC_AUTH}")


def check_community_aliases(plan: Plan, facts: Facts) -> Result:
    """MetalLB reads every Community of its namespace into one table of aliases and stops
    on a name defined twice (metallb internal/config/config.go communitiesFromCrs:
    "duplicate definition of community")."""
    name = "communities"
    if not plan.communities:
        return Result(name, SKIP, "the release defines no community aliases")
    if facts.communities is None:
        return Result(name, FAIL, "could not read the Communities", (facts.unreadable.get("communities", ""),))
    ours = set(plan.communities)
    clashes = [f"communities.aliases.{alias}: also defined by Community {other.name}"
               + (f" of release {other.owner}" if other.owner else "")
               for other in facts.communities for alias in other.aliases if alias in ours]
    if clashes:
        return Result(name, FAIL, "community aliases that another Community already defines", tuple(sorted(clashes)),
                      "rename the alias under communities.aliases (and where bgpAdvertisements use it), "
                      "e.g. with the tenant's name as a prefix")
    return Result(name, PASS, f"no other Community ({len(facts.communities)} read) defines these aliases")


def check_routing_via_host(plan: Plan, facts: Facts) -> Result:
    name = "routing-via-host"
    network_mode = [f"{s.namespace}/{s.name}" for vrf in plan.vrfs for s in vrf.egress_services if s.source_ip_by == "Network"]
    if not network_mode:
        return Result(name, SKIP, "no egress service uses sourceIPBy: Network")
    if facts.routing_via_host is True:
        return Result(name, PASS, f"routingViaHost is on ({facts.routing_via_host_source})")
    services = ", ".join(network_mode)
    if facts.routing_via_host is False:
        return Result(name, FAIL, f"sourceIPBy: Network ({services}) needs routingViaHost, which is off",
                      (f"read from {facts.routing_via_host_source}",),
                      "turn on gatewayConfig.routingViaHost in the cluster's OVN-Kubernetes config "
                      "(oc patch network.operator cluster --type merge -p "
                      "'{\"spec\":{\"defaultNetwork\":{\"ovnKubernetesConfig\":{\"gatewayConfig\":{\"routingViaHost\":true}}}}}'), "
                      "or use sourceIPBy: LoadBalancerIP")
    return Result(name, WARN, f"could not tell whether routingViaHost is on, which sourceIPBy: Network ({services}) needs",
                  tuple(v for v in (facts.unreadable.get("networks"),) if v))


def _frr_k8s_drops(peer: Peer) -> list[str]:
    """What of a peer's spec MetalLB in FRR-K8s mode does not carry into the session."""
    return [*([f"localASN {peer.local_asn}"] if peer.local_asn else []),
            *([f"sourceAddress {peer.source_address}"] if peer.source_address else []),
            *peer.frr_k8s_drops]


def check_metallb_mode(plan: Plan, facts: Facts) -> Result:
    name = "metallb-mode"
    if not any(vrf.peers for vrf in plan.vrfs):
        return Result(name, SKIP, "no BGP peers in this release")
    if facts.metallb_mode == "frr-k8s":
        # metallb internal/bgp/frrk8s/frrk8s.go (v0.15.3, v0.16.1): the FRRConfiguration's
        # Neighbor it builds has the peer's ASN and the router's myASN, never localASN nor
        # sourceAddress (FRR-K8s would write update-source from it; MetalLB leaves it empty)
        # FRR-K8s v0.0.25 merge.go cleanNeighborDefaults: a timer pair with one default value
        # loses both (the plan's frrK8sDrops, templates/_hooks.tpl)
        dropped = [f"vrfs.{vrf.name} peer {peer.name}: " + ", ".join(parts)
                   for vrf in plan.vrfs for peer in vrf.peers if (parts := _frr_k8s_drops(peer))]
        if dropped:
            return Result(name, WARN, "MetalLB runs frr-k8s, which ignores a peer's localASN and sourceAddress, and "
                                      "a timer pair with one default value (FRR's own timers apply): those sessions "
                                      "open with myASN, from the address the kernel picks in the VRF "
                                      f"({facts.metallb_mode_source})", tuple(dropped),
                          "drop localASN and peer with myASN, give the VRF a route whose source is the address "
                          "(routes[].source), set both timers off their defaults (180s hold, 60s keepalive, "
                          "60s connect) or leave them out, or run MetalLB with bgpBackend: frr (README: FRR-K8s mode)")
    if facts.metallb_mode in VRF_BACKENDS:
        return Result(name, PASS, f"MetalLB runs {facts.metallb_mode}, which peers in VRFs ({facts.metallb_mode_source})")
    if facts.metallb_mode:
        return Result(name, FAIL, f"MetalLB runs {facts.metallb_mode}, which cannot peer in a VRF",
                      (f"read from {facts.metallb_mode_source}",), "set the MetalLB resource's spec.bgpBackend to frr or frr-k8s")
    if "metallb" in facts.unreadable:
        # Refused, not absent: the check's own rights are missing, as for the other checks.
        return Result(name, FAIL, "could not read the MetalLB resources", (facts.unreadable["metallb"],))
    return Result(name, WARN, "no MetalLB resource found; make sure MetalLB runs in FRR or FRR-K8s mode")


def check_crds(plan: Plan, facts: Facts) -> Result:
    name = "crds"
    if facts.missing_kinds is None:
        return Result(name, FAIL, "could not read the API's discovery", (facts.unreadable.get("kinds", ""),))
    if facts.missing_kinds:
        missing = tuple(f"{k.kind} ({k.api_version})" for k in facts.missing_kinds)
        return Result(name, FAIL, "kinds the release renders are not served", missing,
                      "install the operators that serve them: kubernetes-nmstate (nmstate.io), MetalLB (metallb.io), "
                      "OVN-Kubernetes with EgressService (k8s.ovn.org)")
    return Result(name, PASS, f"all {len(plan.kinds)} kinds the release renders are served")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.lstrip("v").split(".") if part.isdigit())


def check_metallb_version(plan: Plan, facts: Facts) -> Result:
    """metallb.version against the served BGPAdvertisement CRD: serviceSelectors, which the
    per-service advertisements rely on from 0.16, must exist where the values say 0.16."""
    name = "metallb-version"
    if not any(vrf.advertisements for vrf in plan.vrfs):
        return Result(name, SKIP, "no BGP advertisements in this release")
    said = plan.metallb_version or "(unset)"
    if "metallb-version" in facts.unreadable:
        return Result(name, FAIL, "could not read the BGPAdvertisement CRD", (facts.unreadable["metallb-version"],))
    if facts.service_selectors is None:
        return Result(name, WARN, f"could not read the BGPAdvertisement CRD to check metallb.version {said}",
                      tuple(v for v in (facts.unreadable.get("metallb-version"),) if v))
    claims_016 = _version(plan.metallb_version) >= (0, 16)
    if claims_016 and not facts.service_selectors:
        return Result(name, FAIL, f"metallb.version is {said}, but the cluster's BGPAdvertisement has no serviceSelectors",
                      ("the API server would drop them, and each shared pool would be announced from every egress node",),
                      "set metallb.version to the cluster's MetalLB (before 0.16), and give each LoadBalancerIP "
                      "egress service a pool of its own")
    if not claims_016 and facts.service_selectors:
        return Result(name, WARN, f"metallb.version is {said}, but the cluster's MetalLB has serviceSelectors (0.16 or later)",
                      ("set metallb.version to it to let several LoadBalancerIP egress services share a pool",))
    return Result(name, PASS, f"metallb.version {said} matches the served BGPAdvertisement CRD")


# Helm reads these from the cluster's discovery; `helm template` needs them said.
ADMISSION_API_VERSIONS = ("--api-versions admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy "
                          "--api-versions admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding")


def check_hook_rights(plan: Plan, facts: Facts) -> Result:
    """Which protection keeps the cleanup to the release's own policies and peers: the
    release's ValidatingAdmissionPolicy (templates/validatingadmissionpolicy.yaml), or rights
    by name (resourceNames) where the cluster serves none (Kubernetes before 1.30, OpenShift
    before 4.17) or the render did not know it does."""
    name = "hook-rights"
    policy = plan.hook_admission_policy
    served = facts.admission_policies
    if served is None:
        return Result(name, WARN, "could not tell whether the cluster serves ValidatingAdmissionPolicy",
                      tuple(v for v in (facts.unreadable.get("admission"),) if v))
    if policy and served:
        return Result(name, PASS, f"the admission policy {policy} keeps the hooks' writes to the release's own "
                      "policies and peers", ("the cleanup updates policies and deletes peers without resourceNames",))
    if policy:
        return Result(name, FAIL, f"rendered with the admission policy {policy}, but the cluster serves no "
                      "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy",
                      ("the hooks' rights would be limited by nothing",),
                      f"render without {ADMISSION_API_VERSIONS}: the hooks then get their rights by name")
    if served:
        return Result(name, WARN, "the cluster serves ValidatingAdmissionPolicy, but the release was rendered "
                      "without it: the hooks' rights name the release's objects (resourceNames)",
                      ("a rollback's prune then needs a ClusterRole over every policy while it runs, and under "
                       "Argo CD a dropped VRF's policy has no name to grant, so its prune is refused",
                       f"helm install and Argo CD find the API themselves; helm template needs {ADMISSION_API_VERSIONS}"))
    return Result(name, PASS, "the cluster serves no ValidatingAdmissionPolicy (Kubernetes before 1.30, OpenShift "
                  "before 4.17): the hooks' rights name the release's policies and peers (resourceNames)")
def check_leftovers(plan: Plan, facts: Facts) -> Result:
    """VRFs, routes in their tables and route rules on the nodes that no policy declares
    (symrouting.leftovers): a warning, and a failure where one takes a VRF name or table of
    this release, which nmstate would then share with the leftover."""
    from symrouting import leftovers

    name = "leftovers"
    if "leftovers" in facts.unreadable:
        # as vrf-conflicts without the policies: a leftover with this release's VRF would go unseen
        return Result(name, FAIL, "could not read the nodes' NodeNetworkState", (facts.unreadable["leftovers"],),
                      "grant list on nodenetworkstates.nmstate.io, or skip the check: preflight.skipChecks: [leftovers]")
    if facts.leftovers is None:
        # 404: no kubernetes-nmstate, which the crds check fails on; no node state to read.
        return Result(name, SKIP, "the cluster serves no nmstate.io/v1beta1 NodeNetworkState")
    found = list(facts.leftovers)
    if not found:
        return Result(name, PASS, "the nodes carry no VRF, route table or route rule that no policy declares")
    taken = leftovers.clashes(found, {vrf.name for vrf in plan.vrfs}, {vrf.table_id for vrf in plan.vrfs})
    remove = "take them off with `symrouting leftovers --remove` (README: Leftovers on the nodes)"
    if taken:
        nodes = {item.node for item in taken}
        return Result(name, FAIL, "the nodes carry leftovers with this release's VRF name or table",
                      tuple(leftovers.lines([item for item in found if item.node in nodes])), remove)
    return Result(name, WARN, "the nodes carry VRFs, routes or rules that no policy declares (leftovers of a "
                              f"removed release?); {remove}", tuple(leftovers.lines(found)))


CHECKS: dict[str, Callable[[Plan, Facts], Result]] = {
    "crds": check_crds,
    "cluster-cidrs": check_cluster_cidrs,
    "node-selectors": check_node_selectors,
    "egress-sessions": check_egress_sessions,
    "vrf-conflicts": check_vrf_conflicts,
    "pool-overlaps": check_pool_overlaps,
    "pool-services": check_pool_services,
    "peer-secrets": check_peer_secrets,
    "communities": check_community_aliases,
    "routing-via-host": check_routing_via_host,
    "metallb-mode": check_metallb_mode,
    "metallb-version": check_metallb_version,
    "hook-rights": check_hook_rights,
    "leftovers": check_leftovers,
}


@record
class Options:
    skip: frozenset[str] = frozenset()
    warnings_fail: bool = False
    errors: list[str] = field(default_factory=list)


def run_checks(plan: Plan, facts: Facts, options: Options) -> list[Result]:
    results = []
    for name, check in CHECKS.items():
        if name in options.skip:
            results.append(Result(name, SKIP, "skipped by preflight.skipChecks"))
            continue
        results.append(check(plan, facts))
    if facts.malformed:
        results.append(Result("malformed-objects", WARN, "objects without the expected shape were left out",
                              tuple(facts.malformed)))
    return results


def failed(results: Iterable[Result], warnings_fail: bool) -> bool:
    bad = {FAIL, WARN} if warnings_fail else {FAIL}
    return any(result.status in bad for result in results)
