"""The subcommands only a person runs (status, leftovers and their removal, diagram, discover,
adopt), beside cli.py, which parses every command and runs the hook Jobs' own (preflight,
teardown, prune, wait, verify). Kept out of the hooks' zip (scripts/build_hooks.py COMMAND_ONLY), so out of
every release Secret: the `symrouting` tool has them, the Jobs never import them."""

from __future__ import annotations

import argparse
import os
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from symrouting.api import Transport
from symrouting.cli import EXIT_FAILED, EXIT_OK, load_plan, notice, poll_help, status_text, transport_for
from symrouting.facts import Facts
from symrouting.gather import (ENACTMENTS, INSTANCE_LABEL, POLICIES, RELEASE_NAMESPACE_LABEL, collect, owner_of, read_nodes,
                               read_openshift_networks, read_service_selectors, read_upstream_networks)
from symrouting.labels import HOSTNAME
from symrouting.leftovers import Leftover, by_node, removal
from symrouting.nodeconfig import FIRST_POLL, enactment_progress
from symrouting.plan import EgressService, Peer, Plan, PlanError, Policy, Vrf
from symrouting.records import asdict, record

if TYPE_CHECKING:
    from symrouting.status import Observed, ReleaseStatus

# The shape of `status --json`; raised when a field changes meaning or goes.
JSON_SCHEMA = 1

# The chart as the release workflow publishes it (.github/workflows/release.yaml; the owner
# is Chart.yaml's `home`): the help's examples run as printed.
CHART_REF = "oci://ghcr.io/symmetric-routing/charts/symmetric-routing"

# The help's examples (`symrouting --help`).
EXAMPLES = f"""examples:
  # the cluster's CIDRs as a values override, through your kubeconfig
  %(prog)s discover > cluster.yaml
  # check the cluster before installing release payments (nothing is changed)
  helm template payments {CHART_REF} \\
    -n payments -f cluster.yaml -f payments.yaml | %(prog)s preflight --plan-from-manifest -
  # take release payments' VRFs off the nodes by hand (what its pre-delete hook does)
  helm get hooks payments -n payments | %(prog)s teardown --plan-from-manifest -
  # values for a setup built by hand, proven by rendering them (nothing is changed)
  %(prog)s adopt --release payments --namespace payments --output payments.yaml --chart {CHART_REF}
  # draw the site of release payments
  helm get hooks payments -n payments | %(prog)s diagram --plan-from-manifest - --format svg > payments.svg
  # is release payments symmetric right now? (--watch to follow a change, --json for scripts)
  %(prog)s status --release payments/payments
"""


# The chart this command came with, when run from the chart's source tree.
CHART = Path(__file__).resolve().parents[2]


def add_options(name: str, command: argparse.ArgumentParser) -> None:
    """The options of a person's command (cli._parser adds the Jobs' own)."""
    if name == "adopt":
        command.add_argument("--release", required=True, help="name of the release that will own the objects")
        command.add_argument("--namespace", required=True, help="namespace of that release")
        command.add_argument("--output", type=Path, default=Path("adopted-values.yaml"),
                             help="values file to write (default adopted-values.yaml)")
        command.add_argument("--metallb-namespace", default="metallb-system",
                             help="namespace of MetalLB's objects (default metallb-system)")
        command.add_argument("--helm", default="helm", help="Helm binary that renders the proof (default helm)")
        command.add_argument("--chart", help="chart to render: a directory, a .tgz, or a repo/OCI reference "
                             "(default: the chart this command came with, run from its source tree)")
        command.add_argument("--chart-version", help="version of a repo/OCI chart (helm --version)")
    if name == "leftovers":
        command.add_argument("--remove", action="store_true",
                             help="take them off: per node a one-shot policy that sets exactly them absent, "
                                  "waited for, then deleted")
        command.add_argument("--timeout", type=float, default=300.0,
                             help="seconds to wait for nmstate on all nodes (default 300)")
        command.add_argument("--poll", type=float, default=2.0, help=poll_help())
    if name == "diagram":
        command.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid",
                             help="svg runs Graphviz's dot, which must be on PATH")
        command.add_argument("--output", type=Path, help="write here instead of standard output")
    if name == "status":
        command.add_argument("--release", default="", metavar="NAMESPACE/NAME",
                             help="without a plan, only this release (default: every release of the chart)")
        command.add_argument("--metallb-namespace", default="metallb-system",
                             help="without a plan, where MetalLB runs when a release has no BGPPeer to say so (default metallb-system)")
        command.add_argument("--json", action="store_true", help="print the status as JSON (README: Live status)")
        command.add_argument("--all", action="store_true",
                             help="list every row (a large release counts its OK rows per VRF and check)")
        command.add_argument("--watch", action="store_true", help="redraw when the status changes, until Ctrl-C")
        command.add_argument("--interval", type=float, default=5.0, help="seconds between looks with --watch")
        command.add_argument("--count", type=int, default=0, help="with --watch, stop after this many looks")


def show_status(args: argparse.Namespace, stdout: TextIO, stdin: TextIO, env: dict[str, str] | None = None,
                sleep: Any = None) -> int:
    import gc

    from symrouting import status

    # One pass over many small objects, none in a cycle: the cyclic collector's sweeps would
    # free nothing and cost a third of the run (benchmarks/status.py). --watch collects
    # after each look.
    gc.disable()
    env = dict(os.environ) if env is None else env
    plans = [load_plan(args, stdin)] if (args.plan or args.plan_from_manifest) else None
    if args.release and plans:
        raise PlanError("--release picks a release without a plan: give one or the other")
    if args.release and "/" not in args.release:
        raise PlanError(f"--release {args.release}: write it as NAMESPACE/NAME, e.g. payments/{args.release}")
    if args.interval <= 0:
        raise PlanError("--interval must be more than 0 seconds")
    transport = transport_for(args, env)
    # Colour only for a person: a terminal, and NO_COLOR unset (https://no-color.org).
    colour = stdout.isatty() and not env.get("NO_COLOR")

    def look() -> tuple[str, int]:
        found = discover_plans(transport, args.metallb_namespace, args.release) if plans is None else plans
        if not found:
            where = f"release {args.release}" if args.release else "any release of the chart"
            return (f"no NodeNetworkConfigurationPolicy of {where} found (labels {status.VRF_LABEL}, "
                    "app.kubernetes.io/instance): check the name, or give --plan\n"), EXIT_FAILED
        return status_text(status, transport, found, colour, args.all, as_json if args.json else None)

    if not args.watch:
        text, code = look()
        stdout.write(text)
        return code
    import time

    def again() -> tuple[str, int]:
        gc.collect()
        return look()

    return watch(again, stdout, sleep or time.sleep, args.interval, rounds=args.count, clear=colour)


def show_leftovers(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from symrouting import leftovers

    transport = transport_for(args)
    found = leftovers.read(transport, [])
    if found is None:
        stdout.write("the cluster serves no nmstate.io/v1beta1 NodeNetworkState: leftovers cannot be seen\n")
        return EXIT_FAILED
    items, labels = found
    if not items:
        stdout.write("no leftovers: every VRF, VRF-table route and route rule on the nodes is declared by a policy\n")
        return EXIT_OK
    stdout.write("".join(f"{line}\n" for line in leftovers.lines(items)))
    if not args.remove:
        stdout.write("no policy declares these: `symrouting leftovers --remove` takes them off\n")
        return EXIT_FAILED
    removed = remove_leftovers(transport, items, labels, timeout=args.timeout, poll=args.poll, say=notice)
    for done in removed:
        taken = ", ".join(item.describe() for item in done.taken)
        stdout.write(f"REMOVED {done.node}: {taken} (policy {done.policy} applied, then deleted)\n" if done.applied else
                     f"FAIL    {done.node}: {taken} not confirmed: {done.detail} (policy {done.policy} deleted; "
                     "kubectl get nnce, then run again)\n")
    return EXIT_OK if all(done.applied for done in removed) else EXIT_FAILED


def draw(args: argparse.Namespace, stdout: TextIO, stdin: TextIO) -> int:
    from symrouting import diagram

    plan = load_plan(args, stdin)
    text = diagram.mermaid(plan) if args.format == "mermaid" else diagram.dot(plan)
    if args.format == "svg":
        import shutil
        import subprocess

        dot = shutil.which("dot")
        if dot is None:
            raise PlanError("--format svg needs Graphviz's dot on PATH (Debian: apt-get install graphviz); "
                            "--format dot writes the graph for any Graphviz")
        text = subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True, check=True).stdout
    if args.output:
        args.output.write_text(text)
    else:
        stdout.write(text)
    return EXIT_OK


def discover(args: argparse.Namespace, stdout: TextIO) -> int:
    transport = transport_for(args)
    facts = Facts()
    if not read_openshift_networks(transport, facts):
        read_upstream_networks(transport, facts)
    read_nodes(transport, facts)
    lines = ["# The cluster's own CIDRs, for the site's values file (symrouting discover)."]
    lines.append("cluster:")
    for key, sourced in (("serviceNetwork", facts.service_network), ("clusterNetwork", facts.cluster_network),
                         ("masqueradeSubnet", facts.masquerade_subnet)):
        if sourced is None:
            lines.append(f"  # {key}: not found in the cluster; fill it in by hand")
        else:
            lines.append(f"  {key}: [{', '.join(sourced.cidrs)}]  # from {sourced.source}")
    if facts.cluster_network is None and facts.nodes:
        pod_cidrs = sorted({c for node in facts.nodes for c in node.pod_cidrs})
        if pod_cidrs:
            lines.append(f"  # the nodes' podCIDRs are {', '.join(pod_cidrs)}: clusterNetwork must contain them")
    stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def adopt(args: argparse.Namespace, stdout: TextIO) -> int:
    from symrouting import adopt as adoption

    chart = args.chart or (str(CHART) if (CHART / "Chart.yaml").is_file() else "")
    if not chart:
        raise PlanError("adopt renders the chart to prove the values: name it with --chart (a directory, a .tgz, "
                        "or oci://ghcr.io/symmetric-routing/charts/symmetric-routing with --chart-version)")
    chart_args = [chart, "--version", args.chart_version] if args.chart_version else [chart]
    transport = transport_for(args)
    facts = Facts()
    if not read_openshift_networks(transport, facts):
        read_upstream_networks(transport, facts)
    read_nodes(transport, facts)
    read_service_selectors(transport, facts)
    networks = {key: list(sourced.cidrs) if sourced else [] for key, sourced in (
        ("serviceNetwork", facts.service_network), ("clusterNetwork", facts.cluster_network),
        ("masqueradeSubnet", facts.masquerade_subnet))}
    live = adoption.read_live(transport, args.metallb_namespace)
    schemas = adoption.read_schemas(transport)
    # the served CRD says whether MetalLB is 0.16 or later (gather.read_service_selectors)
    result = adoption.adopt(live, release=args.release, namespace=args.namespace, networks=networks,
                            metallb_namespace=args.metallb_namespace,
                            metallb_version="0.16" if facts.service_selectors else None, schemas=schemas)
    stdout.write(adoption.report(result, args.release, args.namespace))
    if not result.adopted:
        return EXIT_FAILED
    proof = adoption.prove(result, args.helm, chart_args, args.release, args.namespace, args.output, schemas)
    stdout.write(proof.text)
    return EXIT_OK if proof.clean else EXIT_FAILED


def leftover_policy_name(node: str) -> str:
    """The one-shot policy's name for a node: a DNS-1123 name within 63 characters."""
    import hashlib  # only --remove names policies: the status and the preflight do without it

    digest = hashlib.sha256(node.encode()).hexdigest()[:8]
    return f"symrouting-leftovers-{node[:30].strip('.-').replace('.', '-')}-{digest}"


@record
class Removed:
    node: str
    policy: str
    taken: list[Leftover]
    applied: bool
    detail: str = ""


def remove_leftovers(transport: Transport, leftovers: list[Leftover], labels: dict[str, dict[str, str]], *,
           timeout: float, poll: float = 2.0, say: Callable[[str], None] = lambda line: None,
           clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> list[Removed]:
    """Per node: a policy selecting that node alone (kubernetes.io/hostname) with the removal,
    waited for until nmstate reports it applied, then deleted. A node whose enactment
    fails or never reports keeps its policy deleted too (it must not stay to fight a
    release installed later) and is reported, to be looked at by hand."""
    results = []
    deadline = clock() + timeout
    for node, items in sorted(by_node(leftovers).items()):
        name = leftover_policy_name(node)
        hostname = labels.get(node, {}).get(HOSTNAME, node)
        body = {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "symrouting"}},
                "spec": {"nodeSelector": {HOSTNAME: hostname}, "desiredState": removal(items)}}
        created = transport.post(POLICIES, body)
        generation = int(((created or {}).get("metadata") or {}).get("generation") or 1)
        say(f"{node}: policy {name} sent, taking off {', '.join(i.describe() for i in items)}")
        selector = urllib.parse.quote(f"nmstate.io/policy={name}")
        interval = min(FIRST_POLL, poll)
        while True:
            enactments = collect(transport, f"{ENACTMENTS}?labelSelector={selector}", lambda item: item, []) or []
            progress = enactment_progress(enactments, generation, [node])
            if progress.finished or clock() >= deadline:
                break
            sleep(min(interval, max(deadline - clock(), 0)))
            interval = min(interval * 2, poll)
        transport.delete(f"{POLICIES}/{name}")
        applied = progress.finished and not progress.failed
        detail = ("; ".join(message for _, message in progress.failed) if progress.failed else
                  "" if applied else f"never reported generation {generation}")
        results.append(Removed(node, name, items, applied, detail))
    return results


# ---- status: what only a person asks of it ------------------------------------------------

def _plan_vrf(name: str, policies: list[dict[str, Any]], peers: list[dict[str, Any]],
              egress: list[dict[str, Any]]) -> Vrf:
    table = 0
    built = []
    for item in policies:
        spec = item.get("spec") or {}
        state = spec.get("desiredState") or {}
        for iface in state.get("interfaces") or []:
            if iface.get("type") == "vrf" and iface.get("name") == name:
                table = int((iface.get("vrf") or {}).get("route-table-id") or 0)
        selector = {str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()}
        # A per-node policy selects its node by hostname (templates/_model.tpl, symmetric-routing.model).
        built.append(Policy(str(item["metadata"]["name"]), selector, state, selector.get(HOSTNAME, "")))
    return Vrf(name, table, {}, policies=tuple(sorted(built, key=lambda p: p.name)),
               peers=tuple(Peer(str(p["metadata"]["name"]), str((p.get("spec") or {}).get("peerAddress")
                                                                or (p.get("spec") or {}).get("interface") or ""), 0, "")
                           for p in peers),
               egress_services=tuple(EgressService(str(e["metadata"]["namespace"]), str(e["metadata"]["name"]),
                                                   str((e.get("spec") or {}).get("sourceIPBy") or ""))
                                     for e in egress))


def discover_plans(transport: Transport, metallb_namespace: str, release: str = "") -> list[Plan]:
    """The releases of the chart in the cluster, each as a Plan of its live objects: its
    policies, BGPPeers and EgressServices, which carry the chart's labels (release, release
    namespace, VRF; templates/_names.tpl, symmetric-routing.labels). release
    ("<namespace>/<name>") keeps one. MetalLB's namespace is its peers', else metallb_namespace."""
    from symrouting.status import VRF_LABEL

    selector = urllib.parse.quote(f"{VRF_LABEL},{INSTANCE_LABEL},{RELEASE_NAMESPACE_LABEL}")
    if release:
        namespace, _, name = release.partition("/")
        selector = urllib.parse.quote(f"{VRF_LABEL},{INSTANCE_LABEL}={name},{RELEASE_NAMESPACE_LABEL}={namespace}")
    malformed: list[str] = []
    keep: Callable[[dict[str, Any]], dict[str, Any]] = lambda item: item
    policies = collect(transport, f"{POLICIES}?labelSelector={selector}", keep, malformed) or []
    # Cluster-wide: MetalLB reads BGPPeers in its own namespace only, so theirs says where
    # it runs (and so where its ServiceBGPStatuses and ConfigurationStates are).
    peers = collect(transport, f"/apis/metallb.io/v1beta2/bgppeers?labelSelector={selector}", keep, malformed) or []
    egress = collect(transport, f"/apis/k8s.ovn.org/v1/egressservices?labelSelector={selector}", keep, malformed) or []
    grouped: dict[str, dict[str, tuple[list[Any], list[Any], list[Any]]]] = {}
    for index, items in enumerate((policies, peers, egress)):
        for item in items:
            meta = item.get("metadata") or {}
            vrf = (meta.get("labels") or {}).get(VRF_LABEL, "")
            group = grouped.setdefault(owner_of(meta), {}).setdefault(vrf, ([], [], []))
            group[index].append(item)
    plans = []
    for owner, vrfs in sorted(grouped.items()):
        namespace, _, name = owner.partition("/")
        where = next((str(p["metadata"].get("namespace")) for _, found, _ in vrfs.values() for p in found
                      if p["metadata"].get("namespace")), metallb_namespace)
        plans.append(Plan(name, namespace, "", where, (), (), (),
                          tuple(_plan_vrf(vrf, *lists) for vrf, lists in sorted(vrfs.items()) if lists[0])))
    return plans


def as_json(statuses: list[ReleaseStatus], observed: Observed) -> str:
    """The --json shape (schema 1): {schema, ok, releases: [{release, ok, verdict, rows:
    [{vrf, node, check, state, detail}]}], unavailable: {source: reason}, refused: {source:
    reason}}; state is "ok", "bad" or "unknown"."""
    import json

    from symrouting.status import verdict

    return json.dumps({
        "schema": JSON_SCHEMA,
        "ok": all(s.ok for s in statuses),
        "releases": [{"release": s.release, "ok": s.ok, "verdict": verdict(s), "rows": [asdict(r) for r in s.rows]}
                     for s in statuses],
        "unavailable": dict(sorted(observed.unavailable.items())),
        "refused": dict(sorted(observed.refused.items())),
    }, indent=2, sort_keys=False) + "\n"



def watch(snapshot: Callable[[], tuple[str, int]], out: TextIO, sleep: Callable[[float], None],
          interval: float, rounds: int = 0, clear: bool = False) -> int:
    """Redraws when the text changes, every interval seconds, until rounds (0: for ever) or
    Ctrl-C; returns the exit code of the last look."""
    last, code, done = None, 0, 0
    try:
        while True:
            text, code = snapshot()
            if text != last:
                out.write(("\033[H\033[2J" if clear else "") + text)
                out.flush()
                last = text
            done += 1
            if rounds and done >= rounds:
                return code
            sleep(interval)
    except KeyboardInterrupt:
        return code
