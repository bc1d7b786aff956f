"""Waits, after install, upgrade or rollback, until nmstate has applied every policy of the
release on every node it selects, so that Helm's release fails when the nodes do.

Helm's own --wait does not read a NodeNetworkConfigurationPolicy's conditions (Helm 3 pkg/kube
ready.go checks only built-in kinds; Helm 4's kstatus reads Ready/Reconciling/Stalled, which
nmstate does not set), so a change nmstate rolls back on every node would otherwise succeed.

A node counts as applied once its enactment reports the policy's current generation Available,
as failed once it reports Failing or Aborted (kubernetes-nmstate api/shared/
nodenetworkconfigurationenactment_types.go), with nmstate's own message. The wait, its
progress lines and its verdict per node are the cleanup's (cleanup._wait), run here on an
empty removal. Policies carry a rollout wave (`vrfs.<vrf>.waves`): the waves are waited for
in order and the wait stops at the first one that fails, naming the waves it did not reach.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from symrouting.api import Transport
from symrouting.cleanup import NodeIndex, Outcome, Step, _wait, standing_step
from symrouting.gather import POLICIES, collect
from symrouting.nodeconfig import Progress
from symrouting.plan import Plan, Policy
from symrouting.records import field, record


@record
class Wave:
    """The policies of one rollout wave and how each ended: not found (None), or its progress."""

    number: int
    outcomes: list[Outcome] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    reached: bool = False

    @property
    def ok(self) -> bool:
        return self.reached and not self.missing and all(o.ok for o in self.outcomes)


def waves_of(plan: Plan) -> list[tuple[int, list[Policy]]]:
    """The release's policies grouped by wave, lowest first."""
    grouped: dict[int, list[Policy]] = {}
    for policy in plan.policies:
        grouped.setdefault(policy.wave, []).append(policy)
    return sorted(grouped.items())


def run(transport: Transport, plan: Plan, *, timeout: float, poll: float = 2.0,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] = lambda line: None) -> list[Wave]:
    """Waits for each wave in turn until every policy of it is applied on its nodes, one of
    them fails, or the timeout (one for all waves) passes."""
    malformed: list[str] = []
    nodes = NodeIndex(collect(transport, "/api/v1/nodes",
                              lambda item: (item["metadata"]["name"], item["metadata"].get("labels") or {}),
                              malformed, metadata_only=True) or [])
    deadline = clock() + timeout
    result: list[Wave] = [Wave(number) for number, _ in waves_of(plan)]
    for wave, (_, policies) in zip(result, waves_of(plan)):
        wave.reached = True
        waiting: list[tuple[Outcome, Step]] = []
        for policy in policies:
            live = transport.get(f"{POLICIES}/{policy.name}")
            if live is None:
                wave.missing.append(policy.name)
                continue
            step = standing_step(tuple(name for name, _ in nodes.matching(policy.node_selector)), policy.node)
            outcome = Outcome(policy.name, [step], generation=int((live.get("metadata") or {}).get("generation") or 0))
            wave.outcomes.append(outcome)
            waiting.append((outcome, step))
        if len(result) > 1:
            say(f"wave {wave.number}: {len(waiting)} policies")
        for outcome, progress in _wait(transport, waiting, deadline, poll, clock, sleep, malformed, say, timeout):
            outcome.progress = progress
        if not wave.ok:
            break
    return result


def report(waves: list[Wave], release: str) -> str:
    """A line per policy (DONE/FAIL, applied on n/m nodes), each failed node with nmstate's
    message, each node that never reported, the waves not reached; then the verdict."""
    lines: list[str] = []
    for wave in waves:
        head = f"wave {wave.number}: " if len(waves) > 1 else ""
        if not wave.reached:
            lines.append(f"SKIP  {head}not waited for: an earlier wave failed")
            continue
        lines += [f"FAIL  {head}{name}: not found (deleted, or never created)" for name in wave.missing]
        for outcome in wave.outcomes:
            progress = outcome.progress or Progress(pending=list(outcome.nodes))
            total = len(progress.applied) + len(progress.failed) + len(progress.pending)
            mark = "DONE" if outcome.ok else "FAIL"
            nodes = f"applied on {len(progress.applied)}/{total} node(s)" if total else "selects no node"
            lines.append(f"{mark}  {head}{outcome.policy} (generation {outcome.generation}): {nodes}")
            lines += [f"      {node}: failed: {message}" for node, message in progress.failed]
            lines += [f"      {node}: never reported generation {outcome.generation}" for node in progress.pending]
    ok = all(wave.ok for wave in waves)
    lines.append(f"wait for release {release} " + (
        "finished: every policy is Available on every node it selects" if ok else
        "FAILED: the nodes above did not apply the release (kubectl get nnce); with --rollback-on-failure "
        "(Helm 4) or --atomic (Helm 3) Helm now rolls back"))
    return "\n".join(lines) + "\n"
