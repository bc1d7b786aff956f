"""Takes a release's VRFs off the nodes before Helm deletes or rewrites their policies.

uninstall (pre-delete): every policy of the release gets a desiredState that removes all it
configured; prune (pre-upgrade): a policy the new values keep gets its new state with the
removals added, then its new state alone, and a policy they drop (a renamed VRF, a node taken
out of a VRF's `nodes` table, a VRF moving to per-node policies) the removals alone. On each
node, nothing is removed that the release's new policies or any other policy declare there.
Then it waits until nmstate reports each update applied on its nodes, and says which nodes
failed or never answered.

A kept policy ends holding exactly its new state because Helm does not re-send it: Helm 3
patches a custom resource with jsonpatch.CreateMergePatch(previous release manifest, new
manifest) (helm pkg/kube/client.go createPatch; the live object is not consulted), which
leaves alone every section the two manifests agree on, and skips the patch when they agree
on all. Helm 4's server-side apply of the same values then changes nothing either.

After a prune, each policy's field ownership goes back to what it was (hand_back): the update
made the hook the owner of every field it changed, and under server-side apply (Helm 4, Argo
CD with ServerSideApply=true) the next apply that changes one of them would conflict with the
hook (the upgrade's own apply, which sets the values they hold, only shares them), and what
the hook wrote would stay where the release no longer sets it. A
hand-back that fails leaves the hook's field manager in the policy's managedFields: the next
prune finds it there and hands it back.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from symrouting.api import FIELD_MANAGER, ApiError, Conflict, Transport, Unreachable, put_verified
from symrouting.gather import ENACTMENTS, POLICIES, collect, owner_of
from symrouting.labels import HOSTNAME, selector_matches
from symrouting.nodeconfig import (FIRST_POLL, Declared, Neighbours, Progress, State, declared, enactment_node, enactment_progress,
                                   removal_state, with_removal)
from symrouting.plan import Plan
from symrouting.records import field, record

# Updates in flight at once: a release of per-node policies updates hundreds of them.
PARALLEL_UPDATES = 8
# Tries of one update or hand-back that meets a 409, each on a fresh read.
CONFLICT_TRIES = 3
# Longest silence while waiting for nodes: a progress line at least this often.
PROGRESS_EVERY = 10.0
# Pending nodes and policies named in a progress line before "and N more".
SHOWN = 3
Nodes = list[tuple[str, dict[str, str]]]


@record(frozen=True)
class Step:
    """One update of a policy: the removals it carries (empty: none), the nodes that must
    apply it, the nodeSelector sent with it (None: the policy keeps its own), and the
    policy's new state, which the removals are added to (None: Helm deletes the policy
    next, and it is sent the removals alone)."""

    removal: State
    nodes: tuple[str, ...]
    node_selector: dict[str, str] | None = None
    new_state: State | None = None

    @property
    def desired_state(self) -> State:
        """The desiredState the update sends."""
        return self.removal if self.new_state is None else with_removal(self.new_state, self.removal)


class Interrupted(Exception):
    """The API refused or dropped a request in the middle of a cleanup: the error, and the
    outcomes so far (what was written), for the report a stopped run still prints."""

    def __init__(self, error: Exception, outcomes: list["Outcome"]) -> None:
        super().__init__(str(error))
        self.error, self.outcomes = error, outcomes


@record
class Outcome:
    policy: str
    steps: list[Step] = field(default_factory=list)
    progress: Progress | None = None
    generation: int = 0
    # Why the policy's field ownership could not be handed back after a prune, if it could not.
    handback_problem: str | None = None
    # Fields an earlier run's hook kept (its hand-back failed), found and handed back now.
    leftover: bool = False
    # The steps the API accepted, with the generation each made: what a stopped run wrote.
    written: list[tuple[Step, int]] = field(default_factory=list)

    @property
    def nodes(self) -> list[str]:
        return sorted({node for step in self.steps for node in step.nodes})

    @property
    def ok(self) -> bool:
        """Every step applied on its nodes; with nothing to send, the nodes' standing on the
        live generation, where it was read (standing_step), has no failed or silent node."""
        if self.progress is None:
            return not self.steps
        return self.progress.finished and not self.progress.failed


class NodeIndex:
    """The nodes, and the ones a policy selects: a per-node policy names its node by
    kubernetes.io/hostname, found by that label instead of by testing every node."""

    def __init__(self, nodes: Nodes) -> None:
        self.nodes = nodes
        self.by_host = {labels.get(HOSTNAME, name): (name, labels) for name, labels in nodes}

    def matching(self, selector: dict[str, str]) -> Nodes:
        if HOSTNAME in selector:
            found = self.by_host.get(selector[HOSTNAME])
            return [found] if found and selector_matches(selector, found[1]) else []
        return [(name, labels) for name, labels in self.nodes if selector_matches(selector, labels)]


def standing_step(selected: tuple[str, ...], node: str | None) -> Step:
    """An empty removal naming the nodes a policy selects (a per-node policy's by its
    hostname): waiting for it (_wait) reads how they stand on the policy's live generation.
    The wait hook's step for each policy, and the prune's for a policy it sends nothing."""
    return Step({}, selected, {HOSTNAME: node} if node else None)


def _per_node(current: State, selector: dict[str, str], new_state: State | None, nodes: NodeIndex,
              neighbours: Neighbours) -> list[Step]:
    """The steps that take a policy's state off exactly what each of its nodes loses: on each
    node, what the release's new policies and other policies declare there stays. One update
    when every node needs the same removal; else one per node, each narrowed to its node by
    kubernetes.io/hostname (a policy's nodeSelector is a plain label map, so a group of nodes
    cannot be picked): nmstate leaves a node's state alone when a policy stops selecting it
    (kubernetes-nmstate controllers/handler/nodenetworkconfigurationpolicy_controller.go,
    Reconcile). A kept policy (new_state) gets the removals added to its new state, and last
    its new state alone, under its own nodeSelector again."""
    matched = nodes.matching(selector)
    removals = [(node, labels, removal_state(current, None, neighbours.on(node, labels))) for node, labels in matched]
    everywhere = tuple(node for node, _ in matched)
    same = len(removals) == 1 or len({json.dumps(removal, sort_keys=True) for _, _, removal in removals}) == 1
    if removals and same and removals[0][2] is not None:
        steps = [Step(removals[0][2], everywhere, None, new_state)]
    else:
        steps = [Step(removal, (node,), {HOSTNAME: labels.get(HOSTNAME, node)}, new_state)
                 for node, labels, removal in removals if removal is not None]
    return _ending_on(steps, current, new_state, everywhere)


def _ending_on(steps: list[Step], current: State, new_state: State | None, nodes: tuple[str, ...]) -> list[Step]:
    """A kept policy's steps, closed by one that leaves it holding exactly its new state:
    also when nothing is removed but the live policy differs from it (edited by hand)."""
    if new_state is None or (not steps and current == new_state):
        return steps
    return steps + [Step({}, nodes, None, new_state)]


def _declares(policy: dict[str, Any]) -> bool:
    """Whether a policy still declares its state: not once it is being deleted."""
    return not (policy.get("metadata") or {}).get("deletionTimestamp")


def plan_removals(plan: Plan, policies: list[dict[str, Any]], uninstall: bool,
                  nodes: Nodes | None = None) -> list[tuple[dict[str, Any], list[Step]]]:
    """Each policy of the release (owned by its namespace and name, gather.owner_of) with the
    steps that take off the nodes what the new values drop (none: nothing to remove). On
    each node, what the release's new policies (any VRF) and other releases' policies
    declare there stays; what another policy declares is read without its removals
    (nodeconfig.declared), so a neighbour in the middle of its own prune counts with its
    new state. On uninstall the release declares nothing. Without the node list, one
    removal goes to every node of a policy, keeping what any policy declares anywhere."""
    ours = sorted((p for p in policies if plan.owns(owner_of(p.get("metadata") or {}))), key=lambda p: p["metadata"]["name"])
    targets = [] if uninstall else list(plan.policies)
    planned = {policy.name: policy.desired_state for policy in targets}
    states = [(policy.node_selector, policy.desired_state) for policy in targets] + [
        ((p.get("spec") or {}).get("nodeSelector") or {}, (p.get("spec") or {}).get("desiredState") or {})
        for p in policies if not plan.owns(owner_of(p.get("metadata") or {})) and _declares(p)]
    # Without the node list, what any policy declares anywhere; with it, what each node's
    # policies declare there (built once per node, Neighbours.on).
    everywhere = declared(state for _, state in states) if nodes is None else Declared()
    neighbours = Neighbours(states)
    index = NodeIndex(nodes) if nodes is not None else None
    result = []
    for policy in ours:
        name = policy["metadata"]["name"]
        current = (policy.get("spec") or {}).get("desiredState") or {}
        selector = (policy.get("spec") or {}).get("nodeSelector") or {}
        if index is None:
            removal = removal_state(current, None, everywhere)
            steps = [Step(removal, (), None, planned.get(name))] if removal else []
            result.append((policy, _ending_on(steps, current, planned.get(name), ())))
        else:
            result.append((policy, _per_node(current, selector, planned.get(name), index, neighbours)))
    return result


def _send(transport: Transport, policy: dict[str, Any], step: Step) -> int:
    """Updates the policy with a step's desiredState; returns the generation nmstate must report.

    A 409 means the policy moved since it was read: nmstate writes its status, which moves
    the resourceVersion, not the generation (a custom resource's generation counts spec
    changes only: apiextensions-apiserver pkg/registry/customresource/strategy.go,
    PrepareForUpdate). So the policy is read again and the update sent again, up to
    CONFLICT_TRIES times, as client-go's util/retry RetryOnConflict does; if the generation
    moved, someone changed the spec the removal was planned from, and the hook stops. An
    update whose answer was lost (api.Unanswered) is looked for in the live policy: a spec
    equal to the one sent is the hook's own write, and the run carries on from it."""
    path = f"{POLICIES}/{policy['metadata']['name']}"
    for attempt in range(1, CONFLICT_TRIES + 1):
        # The policy as read, less its status, with a new spec: only the spec is new, so only
        # it is copied (a deep copy of each policy, managedFields and all, cost the teardown
        # more than its requests).
        spec = {**policy["spec"], "desiredState": step.desired_state}
        if step.node_selector is not None:
            spec["nodeSelector"] = step.node_selector
        body = {key: spec if key == "spec" else value for key, value in policy.items() if key != "status"}

        def ours(fresh: dict[str, Any], sent: dict[str, Any] = body) -> bool:
            """The live spec is the one this update sent: the hook's own write, whose answer
            was lost (or came after a retry)."""
            return bool(fresh.get("spec") == sent["spec"])

        try:
            updated = put_verified(transport, path, body, ours)
            break
        except Conflict as error:
            fresh = transport.get(path)
            if fresh is None:
                raise ApiError(f"{error}: the policy was deleted meanwhile") from None
            if ours(fresh):
                updated = fresh
                break
            if attempt == CONFLICT_TRIES:
                raise Conflict(path, f"; still after {CONFLICT_TRIES} fresh reads: run the hook again") from None
            known, now = policy["metadata"].get("generation"), (fresh.get("metadata") or {}).get("generation")
            if now != known:
                raise Conflict(path, f"; its spec changed (generation {known} -> {now}), so the removal planned "
                               "from it may be wrong: run the hook again") from None
            policy["metadata"] = fresh["metadata"]
    meta = updated.get("metadata") or {}
    policy["metadata"]["resourceVersion"] = meta.get("resourceVersion")
    policy["metadata"]["generation"] = meta.get("generation")
    return int(meta.get("generation") or 0)


def run(transport: Transport, plan: Plan, *, uninstall: bool, timeout: float, poll: float = 2.0,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] = lambda line: None) -> list[Outcome]:
    """Sends each policy's removal steps, waits for nmstate to apply them (telling say where
    the wait stands), and after a prune hands field ownership back."""
    malformed: list[str] = []
    policies = collect(transport, POLICIES, lambda item: item, malformed) or []
    nodes = collect(transport, "/api/v1/nodes", lambda item: (item["metadata"]["name"], item["metadata"].get("labels") or {}),
                    malformed, metadata_only=True)
    outcomes = []
    work: list[tuple[Outcome, dict[str, Any]]] = []
    owners_before: list[tuple[Outcome, list[dict[str, Any]] | None]] = []
    leftovers: list[tuple[Outcome, list[dict[str, Any]]]] = []
    for policy, steps in plan_removals(plan, policies, uninstall, nodes):
        outcome = Outcome(policy["metadata"]["name"], steps)
        outcomes.append(outcome)
        managed = (policy.get("metadata") or {}).get("managedFields") or []
        # An entry of the hook's own is a hand-back an earlier prune could not finish: the
        # ownership to restore is everyone else's.
        others = [entry for entry in managed if entry.get("manager") != FIELD_MANAGER]
        outcome.leftover = others != managed and not uninstall
        if steps:
            work.append((outcome, policy))
            owners_before.append((outcome, others if managed else None))
        elif outcome.leftover:
            leftovers.append((outcome, others))
    deadline = clock() + timeout
    try:
        _rounds(transport, work, deadline, poll, clock, sleep, malformed, say, timeout)
        if not uninstall:
            _standing(transport, outcomes, policies, NodeIndex(nodes or []), clock, sleep, malformed)
    except (ApiError, Unreachable) as error:
        raise Interrupted(error, outcomes) from error
    if not uninstall:
        for outcome, managed_fields in owners_before + leftovers:
            outcome.handback_problem = hand_back(transport, outcome.policy, managed_fields)
    return outcomes


def _rounds(transport: Transport, work: list[tuple[Outcome, dict[str, Any]]], deadline: float, poll: float,
            clock: Callable[[], float], sleep: Callable[[float], None], malformed: list[str],
            say: Callable[[str], None], timeout: float) -> None:
    """Round k sends the k-th step of every policy at once, then waits for all of them. Each
    step the API accepts is recorded (Outcome.written) before a failed one stops the run."""
    for round_ in range(max((len(o.steps) for o, _ in work), default=0)):
        current = [(o, p, o.steps[round_]) for o, p in work if round_ < len(o.steps)
                   # an earlier step that did not finish leaves the rest to the rerun
                   if o.progress is None or not (o.progress.pending or o.progress.failed)]
        # The updates of one round are independent: send them over a few connections at once.
        with ThreadPoolExecutor(max_workers=PARALLEL_UPDATES) as pool:
            futures = [pool.submit(_send, transport, policy, step) for _, policy, step in current]
        failures = [future.exception() for future in futures if future.exception() is not None]
        waiting = []
        for (outcome, _, step), future in zip(current, futures):
            if future.exception() is None:
                outcome.generation = future.result()
                outcome.written.append((step, outcome.generation))
                waiting.append((outcome, step))
        if failures:
            raise failures[0]  # type: ignore[misc]
        done = _wait(transport, waiting, deadline, poll, clock, sleep, malformed, say, timeout)
        for outcome, progress in done:
            outcome.progress = _merged(outcome.progress, progress)


def _standing(transport: Transport, outcomes: list[Outcome], policies: list[dict[str, Any]], nodes: NodeIndex,
              clock: Callable[[], float], sleep: Callable[[float], None], malformed: list[str]) -> None:
    """A prune with nothing to send to a policy still reads its nodes' enactments of the live
    generation, once: a rerun after a node failed the prune's own last update finds that
    update in the policy already, and must fail on that node again, with nmstate's message,
    not pass. A node not reporting that generation yet is left to the wait hook (Helm applies
    the policy after this pre-upgrade hook)."""
    live = {p["metadata"]["name"]: p for p in policies}
    waiting = []
    for outcome in outcomes:
        if outcome.steps:
            continue
        policy = live[outcome.policy]
        selector = (policy.get("spec") or {}).get("nodeSelector") or {}
        outcome.generation = int((policy.get("metadata") or {}).get("generation") or 0)
        step = standing_step(tuple(name for name, _ in nodes.matching(selector)), selector.get(HOSTNAME))
        waiting.append((outcome, step))
    for outcome, progress in _wait(transport, waiting, clock(), 0.0, clock, sleep, malformed):
        if progress.failed:
            outcome.progress = progress


def _wait(transport: Transport, waiting: list[tuple[Outcome, Step]], deadline: float, poll: float,
          clock: Callable[[], float], sleep: Callable[[float], None], malformed: list[str],
          say: Callable[[str], None] = lambda line: None, timeout: float = 0.0) -> list[tuple[Outcome, Progress]]:
    """Waits until every sent step is applied on its nodes, or the deadline passes, and says
    where it stands at its first look and then at least every PROGRESS_EVERY seconds."""
    progress: dict[str, Progress] = {}
    pending = list(waiting)
    said_at: float | None = None
    interval = min(FIRST_POLL, poll)
    while True:
        by_policy: dict[str, list[dict[str, Any]]] = {}
        for names in _chunks(sorted({outcome.policy for outcome, _ in pending})):
            selector = urllib.parse.quote(f"nmstate.io/policy in ({','.join(names)})")
            for enactment in collect(transport, f"{ENACTMENTS}?labelSelector={selector}", lambda item: item, malformed) or []:
                by_policy.setdefault(((enactment.get("metadata") or {}).get("labels") or {}).get("nmstate.io/policy", ""),
                                     []).append(enactment)
        for outcome, step in pending:
            enactments = by_policy.get(outcome.policy, [])
            mine = [e for e in enactments if enactment_node(e) in step.nodes] if step.node_selector else enactments
            progress[outcome.policy] = enactment_progress(mine, outcome.generation, step.nodes)
        now = clock()
        if said_at is None or now - said_at >= PROGRESS_EVERY:
            say(_progress_line(pending, progress, len(waiting), now - (deadline - timeout), timeout))
            said_at = now
        pending = [(o, s) for o, s in pending if not progress[o.policy].finished]
        if not pending or clock() >= deadline:
            break
        now = clock()
        sleep(max(min(interval, said_at + PROGRESS_EVERY - now, deadline - now), 0))
        interval = min(interval * 2, poll)
    return [(outcome, progress[outcome.policy]) for outcome, _ in waiting]


def _shown(names: list[str]) -> str:
    """A few names, then how many more."""
    more = len(names) - SHOWN
    return ", ".join(names[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def _progress_line(pending: list[tuple[Outcome, Step]], progress: dict[str, Progress], total: int,
                   elapsed: float, timeout: float) -> str:
    """Where the wait stands: each update still pending (a few), on how many of its nodes it
    is applied, which nodes it waits for, and the time spent of the timeout."""
    open_ = [(o, s) for o, s in pending if not progress[o.policy].finished]
    head = (f"waiting for nmstate, {elapsed:.0f}s of {timeout:.0f}s: "
            f"{total - len(open_)} of {total} update(s) applied on all their nodes")
    lines = [head]
    for outcome, step in open_[:SHOWN]:
        state = progress[outcome.policy]
        count = len(state.applied) + len(state.failed) + len(state.pending)
        failed = f"; failed on {_shown(sorted(n for n, _ in state.failed))}" if state.failed else ""
        what = f" ({describe(step.removal)})" if step.removal else ""
        lines.append(f"  {outcome.policy}{what}: applied on {len(state.applied)}/{count} "
                     f"node(s); pending {_shown(sorted(state.pending))}{failed}")
    if len(open_) > SHOWN:
        lines.append(f"  and {len(open_) - SHOWN} more update(s) pending")
    return "\n".join(lines)


def _chunks(names: list[str], length: int = 1500) -> list[list[str]]:
    """Policy names in groups whose `in (...)` label selector stays short enough for a URL: one
    list request per group instead of one per policy (apimachinery pkg/labels/selector.go
    parses set-based requirements)."""
    groups: list[list[str]] = [[]]
    used = 0  # the current group's length, each name with its comma
    for name in names:
        if groups[-1] and used + len(name) > length:
            groups.append([])
            used = 0
        groups[-1].append(name)
        used += len(name) + 1
    return [group for group in groups if group]


def _merged(before: Progress | None, step: Progress) -> Progress:
    """A policy's progress over its steps: each node as its latest step left it (a kept
    policy's last step goes to the same nodes as its first)."""
    if before is None:
        return step
    latest: dict[str, tuple[str, str]] = {}
    for progress in (before, step):
        latest |= {node: ("applied", "") for node in progress.applied}
        latest |= {node: ("pending", "") for node in progress.pending}
        latest |= {node: ("failed", message) for node, message in progress.failed}
    return Progress(sorted(n for n, (state, _) in latest.items() if state == "applied"),
                    sorted((n, message) for n, (state, message) in latest.items() if state == "failed"),
                    sorted(n for n, (state, _) in latest.items() if state == "pending"))


def hand_back(transport: Transport, name: str, managed_fields: list[dict[str, Any]] | None) -> str | None:
    """Resets the policy's metadata.managedFields to the entries read before the removal, in an
    update that changes nothing else: the API server then takes them as sent, so the fields
    the removal changed belong again to whoever applied them (Kubernetes documents this reset
    under "Clearing managedFields"; [{}], when no entry is left, strips them all, as an
    empty list would change nothing). The spec keeps the removal until the upgrade applies
    the new desiredState. A 409 is retried on a fresh read. Returns what went wrong, or None."""
    if managed_fields is None:
        return None
    path = f"{POLICIES}/{name}"
    for _ in range(CONFLICT_TRIES):
        try:
            current = transport.get(path)
            if current is None:
                return None
            current.pop("status", None)
            current["metadata"]["managedFields"] = managed_fields or [{}]
            transport.put(path, current)
            return None
        except Conflict:
            continue
        except (ApiError, Unreachable) as error:
            return str(error)
    return "the policy kept changing while the hook read it"


def describe(removal: State) -> str:
    interfaces = removal.get("interfaces") or []
    gone = [i["name"] for i in interfaces if i.get("state") == "absent"]
    stripped = [i["name"] for i in interfaces if i.get("state") != "absent"]
    parts = [f"{', '.join(gone)} absent" if gone else "", f"addresses off {', '.join(stripped)}" if stripped else "",
             f"{len((removal.get('routes') or {}).get('config') or [])} route(s) absent" if removal.get("routes") else "",
             f"{len((removal.get('route-rules') or {}).get('config') or [])} rule(s) absent" if removal.get("route-rules") else ""]
    return "; ".join(p for p in parts if p)


def _handback_lines(outcome: Outcome) -> list[str]:
    """The warning of a hand-back that failed, or the note that an earlier one is finished."""
    if outcome.handback_problem:
        return [_handback_warning(outcome)]
    if outcome.leftover:
        return [f"NOTE  {outcome.policy}: field ownership an earlier prune could not hand back is handed back now"]
    return []


def report(outcomes: list[Outcome], verb: str) -> str:
    lines = []
    for outcome in outcomes:
        if not outcome.steps and outcome.ok:
            lines.append(f"KEEP  {outcome.policy}: nothing to remove")
            lines += _handback_lines(outcome)
            continue
        progress = outcome.progress or Progress(pending=list(outcome.nodes))
        mark = "DONE" if outcome.ok else "FAIL"
        total = len(progress.applied) + len(progress.failed) + len(progress.pending)
        removing = [step for step in outcome.steps if step.removal]
        if len(removing) > 1:
            how = f"node by node, what each node loses ({len(removing)} updates)"
        elif removing:
            [step] = removing
            how = describe(step.removal) + (f", on {', '.join(step.nodes)} only" if step.node_selector else "")
        elif outcome.steps:
            how = "its new state, nothing to remove"
        else:
            how = f"nothing to send, but generation {outcome.generation} (already sent) is not applied"
        if removing and outcome.steps[-1].new_state is not None:
            how += ", then its new state alone"
        lines.append(f"{mark}  {outcome.policy}: {how}; applied on {len(progress.applied)}/{total} node(s)")
        lines += [f"      {node}: failed: {message}" for node, message in progress.failed]
        lines += [f"      {node}: never reported generation {outcome.generation}" for node in progress.pending]
        lines += _handback_lines(outcome)
    ok = all(o.ok for o in outcomes)
    lines.append(f"{verb} {'finished' if ok else 'FAILED'}: " + (
        "the nodes no longer carry what was removed" if ok else
        "some nodes still carry it; fix them (kubectl get nnce), then retry, or set cleanup.failOnError=false"))
    return "\n".join(lines) + "\n"


def stopped_report(outcomes: list[Outcome], verb: str, error: Exception) -> str:
    """What a run that the API stopped had written, on which policies and nodes, and what the
    next run does: the updates stay (nmstate applies them), and the rerun plans again from
    the policies as they are then."""
    lines = []
    for outcome in outcomes:
        for step, generation in outcome.written:
            what = describe(step.removal) or "its new state alone"
            if step.removal and step.new_state is not None:
                what += ", with its new state"
            lines.append(f"WROTE {outcome.policy}: {what}; for {', '.join(step.nodes) or 'its nodes'} "
                         f"(generation {generation})")
        unsent = len(outcome.steps) - len(outcome.written)
        if outcome.steps and unsent:
            lines.append(f"NOT SENT {outcome.policy}: {unsent} of {len(outcome.steps)} update(s)")
    written = sum(len(o.written) for o in outcomes)
    lines.append(f"{verb} STOPPED after {written} update(s) written: {str(error).splitlines()[0]}")
    lines.append("next run: it reads the policies as they are then and sends what their nodes still lack "
                 "(the updates written above stay; nmstate applies them); retry the Helm command, or run "
                 "this hook by hand (README: Troubleshooting)")
    return "\n".join(lines) + "\n"


def _handback_warning(outcome: Outcome) -> str:
    """The report's line for a hand-back that failed, and the way out."""
    return (f"WARN  {outcome.policy}: field ownership not handed back ({outcome.handback_problem}); "
            "with Helm 4, run the upgrade with --force-conflicts; the next prune tries again")
