"""`symrouting status`: a release's live symmetry, from what the cluster's controllers report.

evaluate() is the pure core: a Plan (what the release made) and the Observed facts in, one
Row per release, VRF, node and check out. observe() is the thin reader that fills Observed
through any Transport; table() is the text a person and the chart's test pod read. The rest
of `symrouting status` (discovering releases, --json, --watch) is in commands.py, which no
hook Job runs.
A source the cluster does not serve (an older MetalLB, native FRR mode, no FRR-K8s) becomes
an "unknown" row that says what cannot be shown and why; it never fails the run.
"""

from __future__ import annotations

import functools
import ipaddress
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from symrouting.api import ApiError, Transport
from symrouting.facts import Node
from symrouting.gather import ENACTMENTS, INSTANCE_LABEL, NODE_STATES, POLICIES, RELEASE_NAMESPACE_LABEL, collect, declaration
from symrouting.labels import HOSTNAME, selector_matches
from symrouting.plan import EgressService, Plan, Policy, Vrf
from symrouting.records import field, record

OK, BAD, UNKNOWN = "ok", "bad", "unknown"
# kubernetes-nmstate writes a NodeNetworkState of `nmstatectl show` filtered to interfaces,
# routes, dns-resolver and ovn (v0.86.0 pkg/state/filter.go filterOut, type.go rootState):
# the route rules are never reported, and the enactment alone says nmstate applied them.
RULES_UNREPORTED = ("not reported: kubernetes-nmstate leaves route rules out of NodeNetworkState; "
                    "an Available enactment says nmstate applied them")
VRF_LABEL = "symmetric-routing/vrf"
SESSIONS = "/apis/frrk8s.metallb.io/v1beta1/bgpsessionstates"

# Why a source can be missing, shown in its place. The versions are the first tags that ship
# each CRD: metallb config/crd/bases/metallb.io_servicebgpstatuses.yaml (v0.15.0) and
# metallb.io_configurationstates.yaml (v0.15.3); frr-k8s config/crd/bases/
# frrk8s.metallb.io_bgpsessionstates.yaml (v0.0.18).
MISSING = {
    "enactments": "the cluster serves no nmstate.io/v1beta1 NodeNetworkConfigurationEnactment "
                  "(kubernetes-nmstate not installed?)",
    "nodestates": "the cluster serves no nmstate.io/v1beta1 NodeNetworkState (kubernetes-nmstate not installed?)",
    "sessions": "the cluster serves no frrk8s.metallb.io BGPSessionState: MetalLB runs in native FRR mode, "
                "or FRR-K8s is older than v0.0.18",
    "announcements": "the cluster serves no metallb.io ServiceBGPStatus (MetalLB older than v0.15.0): "
                     "which node announces a service cannot be shown",
    "configstates": "the cluster serves no metallb.io ConfigurationState (MetalLB older than v0.15.3)",
}


@record(frozen=True)
class Enactment:
    node: str
    policy: str
    generation: int
    # (type, reason, message) of each condition whose status is "True"
    true: tuple[tuple[str, str, str], ...]


@record(frozen=True)
class VrfState:
    table: int | None
    ports: tuple[str, ...]
    state: str


@record(frozen=True)
class NodeState:
    vrfs: dict[str, VrfState]
    # None where the currentState has no route-rules: kubernetes-nmstate writes none
    # (RULES_UNREPORTED).
    rules: tuple[dict[str, Any], ...] | None
    # The rules as sorted items, which most desired rules match as they are.
    exact: frozenset[tuple[tuple[str, Any], ...]] = frozenset()


@record(frozen=True)
class Session:
    node: str
    peer: str
    vrf: str
    bgp: str
    bfd: str


@record(frozen=True)
class Announcement:
    namespace: str
    service: str
    node: str
    peers: tuple[str, ...]


@record(frozen=True)
class ConfigState:
    name: str
    node: str
    result: str
    errors: str


@record
class Observed:
    """What the controllers report; None where the source could not be read (see unavailable)."""

    policies: dict[str, int] | None = None  # name -> metadata.generation
    enactments: list[Enactment] | None = None
    node_states: dict[str, NodeState] | None = None
    sessions: list[Session] | None = None
    announcements: list[Announcement] | None = None
    config_states: list[ConfigState] | None = None
    # (namespace, name) -> status.host ("" when none yet, None when refused); absent: no such object.
    egress_hosts: dict[tuple[str, str], str | None] = field(default_factory=dict)
    nodes: tuple[Node, ...] | None = None
    # What the nodes carry that no policy declares (leftovers.py), when asked for: None when
    # the cluster serves no NodeNetworkState; why not, when they could not be read.
    leftovers: list[Any] | None = None
    leftovers_unread: str = ""
    # Sources the cluster does not serve (404: an "unknown" row) and sources the API refused
    # (401/403: a failing row, since the reader's rights are wrong), by name: why, in words.
    unavailable: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def missing(self, source: str) -> tuple[str, str]:
        """The state and detail of a row whose source could not be read."""
        if source in self.refused:
            return BAD, self.refused[source]
        return UNKNOWN, self.unavailable.get(source) or MISSING.get(source, "not read")


@record(frozen=True)
class Row:
    vrf: str
    node: str
    check: str
    state: str
    detail: str


@record(frozen=True)
class ReleaseStatus:
    release: str
    rows: tuple[Row, ...]

    @property
    def ok(self) -> bool:
        """Unknown rows (a source the cluster lacks) do not make a release unhealthy."""
        return all(row.state != BAD for row in self.rows)


# ---- the pure core ----------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def peer_label(address: str) -> str:
    """A peer as FRR-K8s writes it in BGPSessionState.status.peer: IPv4 and interface names
    as they are, IPv6 expanded with "-" for ":" (frr-k8s cmd/status/controller/
    bgpsessionstate_controller.go, labelFormatForNeighbor)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    return address if parsed.version == 4 else parsed.exploded.replace(":", "-")


def policy_nodes(policy: Policy, observed: Observed, enacted: set[str]) -> list[str]:
    """The nodes a policy speaks for: its own node, or those its nodeSelector matches, and
    the nodes that already hold an enactment of it (enacted)."""
    nodes = {policy.node} if policy.node else set()
    if not policy.node and observed.nodes is not None:
        nodes |= {n.name for n in observed.nodes if selector_matches(policy.node_selector, n.labels)}
    return sorted(nodes | enacted)


def enactment_row(vrf: str, node: str, policy: str, generation: int | None,
                  enactment: Enactment | None) -> Row:
    """kubernetes-nmstate's verdict on one node (api/shared/nodenetworkconfigurationenactment_types.go:
    conditions Available, Failing, Progressing, Pending, Aborted; status.policyGeneration says
    which generation of the policy the conditions speak of)."""
    check = f"policy {policy}"
    if generation is None:
        return Row(vrf, node, check, BAD, "the policy does not exist")
    if enactment is None:
        return Row(vrf, node, check, BAD, "no enactment yet: nmstate has not started on this node")
    if enactment.generation != generation:
        return Row(vrf, node, check, BAD,
                   f"pending: the node reports generation {enactment.generation}, the policy is at {generation}")
    true = {kind: (reason, message) for kind, reason, message in enactment.true}
    if "Available" in true:
        return Row(vrf, node, check, OK, f"Available ({true['Available'][0] or 'configured'})")
    for kind in ("Failing", "Aborted", "Progressing", "Pending"):
        if kind in true:
            reason, message = true[kind]
            return Row(vrf, node, check, BAD, f"{kind}: {message or reason or 'no message'}")
    return Row(vrf, node, check, BAD, "no condition is True yet")


@functools.lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _same(key: str, wanted: Any, found: Any) -> bool:
    if key in ("ip-to", "ip-from") and wanted and found and wanted != found:
        # nmstate may print a network another way than it was written (2001:db8:0::/64).
        return _network(str(wanted)) is not None and _network(str(wanted)) == _network(str(found))
    if key == "route-table":
        # nmstate: "Unset or 0 will be changed to main table ID 254"
        # (nmstate.github.io devel/yaml_api.md, Route Rules).
        return int(wanted or 254) == int(found or 254)
    return bool(wanted == found)


def rule_present(rule: dict[str, Any], reported: Iterable[dict[str, Any]],
                 exact: frozenset[tuple[tuple[str, Any], ...]] = frozenset()) -> bool:
    """Whether a desired route rule is among the node's reported ones (every field it sets);
    exact holds the reported rules as sorted items, which most rules match as they are."""
    wanted = {k: v for k, v in rule.items() if k != "state"}
    if tuple(sorted(wanted.items())) in exact:
        return True
    return any(all(_same(k, v, found.get(k)) for k, v in wanted.items()) for found in reported)


def _rule_text(rule: dict[str, Any]) -> str:
    return " ".join(f"{k} {rule[k]}" for k in ("ip-from", "ip-to", "priority", "route-table") if k in rule)


def node_state_rows(vrf: Vrf, node: str, policy: Policy, state: NodeState | None) -> list[Row]:
    """The VRF, its ports and its route rules in the node's reported currentState
    (kubernetes-nmstate pkg/client/client.go, UpdateCurrentState: what nmstate shows on it)."""
    if state is None:
        return [Row(vrf.name, node, "node state", BAD, "no NodeNetworkState for this node (nmstate handler not running?)")]
    rows = []
    found = state.vrfs.get(vrf.name)
    ports = [p for i in policy.desired_state.get("interfaces") or [] if i.get("name") == vrf.name
             for p in (i.get("vrf") or {}).get("port") or []]
    if found is None or found.state not in ("up", ""):
        rows.append(Row(vrf.name, node, "vrf", BAD, f"{vrf.name} is not in the node's reported state"
                        if found is None else f"{vrf.name} is {found.state}"))
    elif found.table != vrf.table_id:
        rows.append(Row(vrf.name, node, "vrf", BAD, f"{vrf.name} uses table {found.table}, not {vrf.table_id}"))
    elif missing := sorted(set(ports) - set(found.ports)):
        rows.append(Row(vrf.name, node, "vrf", BAD, f"{vrf.name} lacks port {', '.join(missing)}"))
    else:
        rows.append(Row(vrf.name, node, "vrf", OK, f"up, table {vrf.table_id}, ports {', '.join(found.ports) or '-'}"))
    rules = [r for r in ((policy.desired_state.get("route-rules") or {}).get("config") or []) if r.get("state") != "absent"]
    if rules and state.rules is None:
        rows.append(Row(vrf.name, node, "rules", UNKNOWN, RULES_UNREPORTED))
        return rows
    absent = [r for r in rules if not rule_present(r, state.rules or (), state.exact)]
    if absent:
        rows.append(Row(vrf.name, node, "rules", BAD, "missing: " + "; ".join(_rule_text(r) for r in absent)))
    elif rules:
        rows.append(Row(vrf.name, node, "rules", OK, f"{len(rules)} route rules present"))
    return rows


def session_rows(vrf: Vrf, node: str, sessions: dict[tuple[str, str, str], Session]) -> list[Row]:
    """Each peer's session in the VRF on the node, as FRR-K8s reports it: bgpStatus is FRR's
    bgpState, "Established" when up (frr-k8s internal/frr/parse.go, bgpConnected); bfdStatus
    "N/A" when the peer has no BFD (bgpsessionstate_controller.go, noBFDConfigured)."""
    rows = []
    for peer in vrf.peers:
        check = f"bgp {peer.name}"
        session = sessions.get((node, vrf.name, peer_label(peer.address)))
        if session is None:
            rows.append(Row(vrf.name, node, check, BAD, f"no session to {peer.address} in {vrf.name} on this node"))
        elif session.bgp != "Established":
            rows.append(Row(vrf.name, node, check, BAD, f"{peer.address}: BGP {session.bgp or 'unknown'}"))
        elif session.bfd not in ("Up", "N/A"):
            rows.append(Row(vrf.name, node, check, BAD, f"{peer.address}: BGP Established, BFD {session.bfd or 'unknown'}"))
        else:
            bfd = "no BFD" if session.bfd == "N/A" else "BFD Up"
            rows.append(Row(vrf.name, node, check, OK, f"{peer.address}: Established, {bfd}"))
    return rows


def egress_row(vrf: Vrf, egress: EgressService, observed: Observed, vrf_nodes: set[str]) -> Row:
    """Symmetry of one service: its address announced only from where its traffic leaves.

    OVN-Kubernetes writes the node it picks in EgressService.status.host, "" while it has none
    and "ALL" with sourceIPBy Network (go-controller/pkg/crd/egressservice/v1/types.go,
    pkg/types/const.go). MetalLB keeps one ServiceBGPStatus per service and announcing node
    in its namespace, status.node and the peers it announces to (metallb
    internal/k8s/controllers/bgp_status_controller.go)."""
    name = f"{egress.namespace}/{egress.name}"
    check = f"service {name}"
    key = (egress.namespace, egress.name)
    if key not in observed.egress_hosts:
        return Row(vrf.name, "", check, BAD, "the EgressService does not exist")
    host = observed.egress_hosts[key]
    if host is None:
        return Row(vrf.name, "", check, *observed.missing("egressservices"))
    if not host:
        return Row(vrf.name, "", check, BAD, "the EgressService has no host: OVN-Kubernetes placed it on no node")
    if observed.announcements is None:
        state, why = observed.missing("announcements")
        return Row(vrf.name, host, check, state, f"egress host {host}; {why}")
    found = [a for a in observed.announcements if (a.namespace, a.service) == key]
    nodes = sorted({a.node for a in found})
    own = {peer.name for peer in vrf.peers}
    stray = sorted({p for a in found for p in a.peers} - own)
    where = f"announced from {', '.join(nodes)}" if nodes else "announced from no node"
    if not nodes:
        return Row(vrf.name, host, check, BAD, f"{where}: MetalLB advertises it to no peer")
    if stray:
        return Row(vrf.name, host, check, BAD, f"{where} to peers outside {vrf.name}: {', '.join(stray)}")
    if host == "ALL":
        outside = [n for n in nodes if n not in vrf_nodes]
        if outside:
            return Row(vrf.name, host, check, BAD, f"{where}; {', '.join(outside)} do not carry {vrf.name}")
        return Row(vrf.name, host, check, OK, f"symmetric: {where}, all carry {vrf.name} (sourceIPBy Network)")
    if nodes != [host]:
        others = [n for n in nodes if n != host]
        return Row(vrf.name, host, check, BAD, f"asymmetric: {where}, but replies leave through egress host {host}; "
                   f"requests reaching {', '.join(others)} return another way")
    return Row(vrf.name, host, check, OK, f"symmetric: announced only from egress host {host}")


def metallb_rows(states: list[ConfigState] | None, missing: tuple[str, str]) -> list[Row]:
    """MetalLB's verdict on its own configuration: a ConfigurationState per component,
    "controller" and "speaker-<node>", result Valid, Invalid (errorSummary says why) or
    Unknown (metallb internal/k8s/controllers/configuration_state_controller.go, Reconcile;
    names and labels in internal/k8s/k8s.go)."""
    if states is None:
        return [Row("", "", "metallb config", *missing)]
    rows = [Row("", s.node or s.name, "metallb config", BAD, f"Invalid: {' | '.join(s.errors.splitlines()) or 'no summary'}")
            for s in states if s.result == "Invalid"]
    rows += [Row("", s.node or s.name, "metallb config", UNKNOWN, "Unknown: the component has not reported yet")
             for s in states if s.result not in ("Valid", "Invalid")]
    if not states:
        # MetalLB's controller and speakers create theirs when they start (k8s.go).
        rows.append(Row("", "", "metallb config", UNKNOWN, "no ConfigurationState: is MetalLB running here?"))
    elif not rows:
        rows.append(Row("", "", "metallb config", OK, f"Valid on {len(states)} components"))
    return rows


def evaluate(plan: Plan, observed: Observed) -> ReleaseStatus:
    """Every row of a release: per VRF, per node of each policy, its enactment, node state
    and sessions; then each egress service; then MetalLB's configuration."""
    rows: list[Row] = []
    by_policy = {(e.policy, e.node): e for e in observed.enactments or []}
    enacted: dict[str, set[str]] = {}
    for policy_name, node_name in by_policy:
        enacted.setdefault(policy_name, set()).add(node_name)
    sessions = {(s.node, s.vrf, s.peer): s for s in observed.sessions or []}
    for vrf in plan.vrfs:
        vrf_nodes: set[str] = set()
        for policy in vrf.policies:
            generation = (observed.policies or {}).get(policy.name)
            nodes = policy_nodes(policy, observed, enacted.get(policy.name, set()))
            for node in nodes:
                vrf_nodes.add(node)
                if observed.enactments is None:
                    rows.append(Row(vrf.name, node, f"policy {policy.name}", *observed.missing("enactments")))
                else:
                    rows.append(enactment_row(vrf.name, node, policy.name, generation, by_policy.get((policy.name, node))))
                if observed.node_states is None:
                    rows.append(Row(vrf.name, node, "node state", *observed.missing("nodestates")))
                else:
                    rows += node_state_rows(vrf, node, policy, observed.node_states.get(node))
                if observed.sessions is None:
                    if vrf.peers:
                        rows.append(Row(vrf.name, node, "bgp", *observed.missing("sessions")))
                else:
                    rows += session_rows(vrf, node, sessions)
            if not nodes:
                rows.append(Row(vrf.name, "", f"policy {policy.name}", BAD, "no node matches its nodeSelector "
                                + " ".join(f"{k}={v}" for k, v in sorted(policy.node_selector.items()))))
        rows += [egress_row(vrf, egress, observed, vrf_nodes) for egress in vrf.egress_services]
    # Refused reads that no other row reports.
    rows += [Row("", "", source, BAD, observed.refused[source]) for source in ("nodes", "metallbs")
             if source in observed.refused]
    rows += metallb_rows(observed.config_states, observed.missing("configstates"))
    return ReleaseStatus(f"{plan.namespace}/{plan.release}", tuple(rows))


# ---- the reader -------------------------------------------------------------------------


def _true_conditions(item: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    return tuple((str(c.get("type")), str(c.get("reason") or ""), str(c.get("message") or ""))
                 for c in (item.get("status") or {}).get("conditions") or []
                 if isinstance(c, dict) and c.get("status") == "True")


def _enactment(item: dict[str, Any]) -> Enactment:
    # The labels kubernetes-nmstate puts on each enactment (api/shared/
    # nodenetworkconfigurationenactment_types.go: EnactmentPolicyLabel, EnactmentNodeLabel).
    labels = item["metadata"].get("labels") or {}
    node = labels.get("nmstate.io/node") or str(item["metadata"]["name"]).split(".", 1)[0]
    return Enactment(str(node), str(labels.get("nmstate.io/policy", "")),
                     int((item.get("status") or {}).get("policyGeneration") or 0), _true_conditions(item))


def _node_state(item: dict[str, Any]) -> tuple[str, NodeState]:
    current = (item.get("status") or {}).get("currentState") or {}
    vrfs = {str(i["name"]): VrfState(int(t) if (t := (i.get("vrf") or {}).get("route-table-id")) is not None else None,
                                     tuple(str(p) for p in (i.get("vrf") or {}).get("port") or []),
                                     str(i.get("state") or ""))
            for i in current.get("interfaces") or [] if i.get("type") == "vrf"}
    if "route-rules" not in current:
        return str(item["metadata"]["name"]), NodeState(vrfs, None)
    rules = tuple(r for r in (current.get("route-rules") or {}).get("config") or [] if isinstance(r, dict))
    return str(item["metadata"]["name"]), NodeState(vrfs, rules, frozenset(tuple(sorted(r.items())) for r in rules))


def _session(item: dict[str, Any]) -> Session:
    status = item.get("status") or {}
    return Session(str(status.get("node") or ""), str(status.get("peer") or ""), str(status.get("vrf") or ""),
                   str(status.get("bgpStatus") or ""), str(status.get("bfdStatus") or ""))


def _announcement(item: dict[str, Any]) -> Announcement:
    # MetalLB creates the object with its labels first and fills the status in a second
    # patch (bgp_status_controller.go, Reconcile; the labels in controllers/values.go).
    status, labels = item.get("status") or {}, item["metadata"].get("labels") or {}
    return Announcement(str(status.get("serviceNamespace") or labels["metallb.io/service-namespace"]),
                        str(status.get("serviceName") or labels["metallb.io/service-name"]),
                        str(status.get("node") or labels["metallb.io/node"]),
                        tuple(str(p) for p in status.get("peers") or []))


def _config_state(item: dict[str, Any]) -> ConfigState:
    meta, status = item["metadata"], item.get("status") or {}
    return ConfigState(str(meta["name"]), str((meta.get("labels") or {}).get("metallb.io/node-name") or ""),
                       str(status.get("result") or "Unknown"), str(status.get("errorSummary") or ""))


def _selector(values: Iterable[str], key: str) -> str:
    return urllib.parse.quote(f"{key} in ({','.join(sorted(set(values)))})")


def release_selector(plan: Plan) -> str:
    return urllib.parse.quote(f"{INSTANCE_LABEL}={plan.release},{RELEASE_NAMESPACE_LABEL}={plan.namespace}")


def without_frr_k8s(transport: Transport, namespaces: list[str]) -> str:
    """Why sessions cannot be shown when a MetalLB resource names a backend other than
    FRR-K8s; "" when none does. Only FRR-K8s writes BGPSessionState; the operator's
    spec.bgpBackend is "frr" (FRR in the speaker), "native", "frr-k8s" or
    "frr-k8s-external", and left empty it depends on the platform (metallb-operator
    api/v1beta1/metallb_types.go, pkg/params/params.go BGPType), so empty says nothing.
    No MetalLB resource (MetalLB installed without its operator) says nothing either."""
    for namespace in namespaces:
        found = collect(transport, f"/apis/metallb.io/v1beta1/namespaces/{namespace}/metallbs",
                        lambda item: (str(item["metadata"]["name"]), str((item.get("spec") or {}).get("bgpBackend") or "")),
                        []) or []
        for name, backend in found:
            if backend in ("frr", "native"):
                return (f"MetalLB {namespace}/{name} runs with spec.bgpBackend {backend}: only FRR-K8s writes "
                        "BGPSessionState, so sessions cannot be shown (vtysh in a speaker pod shows them)")
    return ""


def _leftover_finder(transport: Transport, observed: Observed) -> Callable[[str, Any], list[Any]] | None:
    """The leftovers' reader of one node (leftovers.finder), against every policy and the
    nodes' labels; None, with the reason in observed, when those could not be read."""
    from symrouting import leftovers

    if observed.nodes is None:
        observed.leftovers_unread = observed.leftovers_unread or observed.refused.get("nodes", "the nodes could not be read")
        return None
    try:
        declared = collect(transport, POLICIES, declaration, []) or []
    except ApiError as error:
        observed.leftovers_unread = str(error)
        return None
    return leftovers.finder(declared, {node.name: node.labels for node in observed.nodes})


def observe(transport: Transport, plans: list[Plan], *, leftovers: bool = False) -> Observed:
    """Reads every source once for all the plans. The policies are the one source a status
    cannot do without: their refusal ends the run (ApiError); any other source that is 404 or
    refused is recorded in unavailable and shown as such. With leftovers, the same read of the
    NodeNetworkStates finds what the nodes carry that no policy declares, node by node."""
    observed = Observed()
    malformed: list[str] = []

    def read(name: str, path: str, extract: Callable[[dict[str, Any]], Any]) -> list[Any] | None:
        try:
            found = collect(transport, path, extract, malformed)
        except ApiError as error:
            observed.refused[name] = str(error)
            return None
        if found is None:
            observed.unavailable[name] = MISSING[name]
        return found

    observed.policies = {}
    for plan in plans:
        # Only metadata.generation is read: metadata only, a fraction of a policy's bytes.
        generations = collect(transport, f"{POLICIES}?labelSelector={release_selector(plan)}",
                              lambda item: (str(item["metadata"]["name"]), int(item["metadata"].get("generation") or 1)),
                              malformed, metadata_only=True) or []
        observed.policies.update(dict(generations))
    policies = [p for plan in plans for p in plan.policies]
    by_selector = any(not p.node for p in policies)
    if leftovers or by_selector:
        try:
            observed.nodes = tuple(collect(transport, "/api/v1/nodes", lambda item: Node(
                str(item["metadata"]["name"]), {str(k): str(v) for k, v in (item["metadata"].get("labels") or {}).items()}),
                malformed, metadata_only=True) or [])
        except ApiError as error:
            # a release of per-node policies needs the nodes only for the leftovers
            if by_selector:
                observed.refused["nodes"] = str(error)
            else:
                observed.leftovers_unread = str(error)
    observed.enactments = read("enactments", ENACTMENTS, _enactment)
    if observed.enactments is not None:
        names = {p.name for p in policies}
        observed.enactments = [e for e in observed.enactments if e.policy in names]
    wanted = {n for p in policies for n in ([p.node] if p.node else [])}
    wanted |= {e.node for e in observed.enactments or []}
    # Each distinct selector once: a release of per-node policies has none, yet its nodes are
    # read for the leftovers (500 nodes x 1,000 policies were half a million tests).
    selectors = {tuple(sorted(p.node_selector.items())): p.node_selector for p in policies if not p.node}.values()
    wanted |= {n.name for n in observed.nodes or [] for s in selectors if selector_matches(s, n.labels)}
    on_node = _leftover_finder(transport, observed) if leftovers else None

    unread_leftovers: set[str] = set()

    def leftovers_on(name: str, item: dict[str, Any]) -> list[Any]:
        """The node's leftovers; a shape they cannot be read from costs the leftovers of that
        node (named under the table), never the node's own rows."""
        if on_node is None:
            return []
        try:
            return on_node(name, (item.get("status") or {}).get("currentState") or {})
        except (KeyError, TypeError, ValueError, AttributeError):
            unread_leftovers.add(name)
            return []

    def node_state(item: dict[str, Any]) -> tuple[tuple[str, NodeState] | None, list[Any]]:
        name = item["metadata"]["name"]
        return (_node_state(item) if name in wanted else None), leftovers_on(name, item)

    states = read("nodestates", NODE_STATES, node_state)
    observed.node_states = None if states is None else dict(state for state, _ in states if state is not None)
    if on_node is not None:
        observed.leftovers = None if states is None else [item for _, left in states for item in left]
        observed.leftovers_unread = observed.refused.get("nodestates", "")
        if unread_leftovers and not observed.leftovers_unread:
            malformed.append(f"leftovers on {', '.join(sorted(unread_leftovers))}")
    vrf_names = sorted({vrf.name for plan in plans for vrf in plan.vrfs})
    # FRR-K8s labels each session with its VRF (bgpsessionstate_controller.go, vrfLabel):
    # only the release's VRFs, in FRR-K8s's namespace where the plans name it (the test pod
    # may read only there), else cluster-wide.
    namespaces_of_frr = sorted({plan.frr_k8s_namespace for plan in plans})
    session_lists = ([SESSIONS.replace("/bgpsessionstates", f"/namespaces/{n}/bgpsessionstates") for n in namespaces_of_frr]
                     if all(namespaces_of_frr) else [SESSIONS])
    observed.sessions = []
    for path in session_lists if vrf_names else []:
        found_sessions = read("sessions", f"{path}?labelSelector={_selector(vrf_names, 'frrk8s.metallb.io/vrf')}", _session)
        observed.sessions = None if found_sessions is None or observed.sessions is None else observed.sessions + found_sessions
    namespaces = sorted({plan.metallb_namespace for plan in plans})
    try:
        backend = without_frr_k8s(transport, namespaces)
    except ApiError as error:
        backend, observed.refused["metallbs"] = "", str(error)
    if backend:
        observed.sessions = None
        observed.unavailable["sessions"] = backend
    announcements: list[Announcement] | None = []
    states_found: list[ConfigState] | None = []
    for namespace in namespaces:
        found = read("announcements", f"/apis/metallb.io/v1beta1/namespaces/{namespace}/servicebgpstatuses", _announcement)
        announcements = None if found is None or announcements is None else announcements + found
        configs = read("configstates", f"/apis/metallb.io/v1beta1/namespaces/{namespace}/configurationstates", _config_state)
        states_found = None if configs is None or states_found is None else states_found + configs
    observed.announcements, observed.config_states = announcements, states_found
    for plan in plans:
        for vrf in plan.vrfs:
            for egress in vrf.egress_services:
                try:
                    found_es = transport.get(f"/apis/k8s.ovn.org/v1/namespaces/{egress.namespace}"
                                             f"/egressservices/{egress.name}")
                except ApiError as error:
                    observed.refused["egressservices"] = str(error)
                    observed.egress_hosts[(egress.namespace, egress.name)] = None
                    continue
                if found_es is not None:
                    observed.egress_hosts[(egress.namespace, egress.name)] = str((found_es.get("status") or {}).get("host") or "")
    if malformed:
        observed.unavailable["malformed"] = "skipped objects of an unexpected shape: " + ", ".join(malformed[:10])
    return observed


# ---- output -----------------------------------------------------------------------------

_COLOURS = {OK: "\033[32m", BAD: "\033[31m", UNKNOWN: "\033[33m"}
_MARK = {OK: "OK", BAD: "FAIL", UNKNOWN: "??"}


def verdict(status: ReleaseStatus) -> str:
    bad = sum(row.state == BAD for row in status.rows)
    if bad:
        return f"release {status.release}: NOT symmetric and healthy ({bad} problem{'s' if bad != 1 else ''})"
    unknown = sum(row.state == UNKNOWN for row in status.rows)
    return f"release {status.release}: symmetric and healthy" + (f" ({unknown} not shown)" if unknown else "")


# A release of more rows than this shows its problems one by one and counts its OK rows per
# VRF and check, so that a site of hundreds of nodes still fits a screen (--all lists all).
SCREEN = 40


def summarize(rows: tuple[Row, ...]) -> list[Row]:
    """The OK rows counted per VRF and kind of check; the "unknown" rows that say the same
    (a source the cluster does not serve, e.g. sessions in native FRR mode: one per node and
    VRF) as one line; then every other row as it is."""
    counted: dict[tuple[str, str], list[Row]] = {}
    unknown: dict[tuple[str, str], list[Row]] = {}
    others: list[Row | tuple[str, str]] = []
    for row in rows:
        if row.state == OK:
            counted.setdefault((row.vrf, row.check.split(" ", 1)[0]), []).append(row)
        elif row.state == UNKNOWN:
            key = (row.check.split(" ", 1)[0], row.detail)
            if key not in unknown:
                others.append(key)
            unknown.setdefault(key, []).append(row)
        else:
            others.append(row)
    summary = []
    for (vrf, kind), found in counted.items():
        nodes = len({r.node for r in found})
        summary += found if len(found) == 1 else [
            Row(vrf, f"{nodes} node{'s' if nodes != 1 else ''}", kind, OK, f"{len(found)} ok (--all lists them)")]
    for item in others:
        if isinstance(item, Row):
            summary.append(item)
            continue
        found = unknown[item]
        if len(found) == 1:
            summary += found
            continue
        vrfs, nodes = sorted({r.vrf for r in found}), len({r.node for r in found})
        summary.append(Row(vrfs[0] if len(vrfs) == 1 else f"{len(vrfs)} VRFs", f"{nodes} node{'s' if nodes != 1 else ''}",
                           item[0], UNKNOWN, f"{item[1]} ({len(found)} rows, --all lists them)"))
    return summary


def table(statuses: list[ReleaseStatus], colour: bool = False, every_row: bool = False) -> str:
    """One screen for a person: per release, a row per VRF, node and check."""
    lines = []
    for status in statuses:
        shown = list(status.rows) if every_row or len(status.rows) <= SCREEN else summarize(status.rows)
        header = ("", "VRF", "NODE", "CHECK", "DETAIL")
        body = [(_MARK[r.state], r.vrf or "-", r.node or "-", r.check, r.detail) for r in shown]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
        lines.append(f"release {status.release}")
        for cells, row in zip([header, *body], [None, *shown]):
            text = "  ".join(cell.ljust(width) for cell, width in zip(cells[:4], widths)) + "  " + cells[4]
            if colour and row is not None:
                text = _COLOURS[row.state] + text + "\033[0m"
            lines.append(text.rstrip())
        lines.append(verdict(status))
        lines.append("")
    return "\n".join(lines)
