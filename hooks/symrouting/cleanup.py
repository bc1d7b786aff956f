"""Takes a release's VRFs off the nodes before Helm deletes or rewrites their policies.

uninstall (pre-delete): every policy of the release gets a desiredState that removes all it
configured; prune (pre-upgrade): each policy of the release gets one that removes only what
the new values no longer contain, and policies the new values drop entirely (a renamed VRF)
are removed whole. Then it waits until nmstate reports the update applied on every node the
policy selects, and says which nodes failed or never answered.
"""

from __future__ import annotations

import copy
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from symrouting.api import Transport
from symrouting.facts import selector_matches
from symrouting.gather import collect, owner_of
from symrouting.nodeconfig import Progress, State, declared_rules, enactment_progress, removal_state
from symrouting.plan import Plan

POLICIES = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
ENACTMENTS = "/apis/nmstate.io/v1beta1/nodenetworkconfigurationenactments"


@dataclass
class Outcome:
    policy: str
    removal: State | None
    nodes: list[str] = field(default_factory=list)
    progress: Progress | None = None
    generation: int = 0

    @property
    def ok(self) -> bool:
        return self.removal is None or (self.progress is not None and self.progress.finished and not self.progress.failed)


def plan_removals(plan: Plan, policies: list[dict[str, Any]], uninstall: bool) -> list[tuple[dict[str, Any], State | None]]:
    """Each policy of the release with the removal it needs (None: nothing to remove)."""
    ours = sorted((p for p in policies if plan.owns(owner_of(p.get("metadata") or {}))), key=lambda p: p["metadata"]["name"])
    others = [p for p in policies if not plan.owns(owner_of(p.get("metadata") or {}))]
    planned = {} if uninstall else {vrf.policy_name: vrf.desired_state for vrf in plan.vrfs}
    kept = declared_rules([(p.get("spec") or {}).get("desiredState") or {} for p in others] + list(planned.values()))
    return [
        (policy, removal_state((policy.get("spec") or {}).get("desiredState") or {}, planned.get(policy["metadata"]["name"]), kept))
        for policy in ours
    ]


def run(transport: Transport, plan: Plan, *, uninstall: bool, timeout: float, poll: float = 2.0,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    malformed: list[str] = []
    policies = collect(transport, POLICIES, lambda item: item, malformed) or []
    nodes = collect(transport, "/api/v1/nodes", lambda item: (item["metadata"]["name"], item["metadata"].get("labels") or {}),
                    malformed, metadata_only=True) or []
    outcomes = []
    for policy, removal in plan_removals(plan, policies, uninstall):
        name = policy["metadata"]["name"]
        outcome = Outcome(name, removal)
        outcomes.append(outcome)
        if removal is None:
            continue
        body = copy.deepcopy(policy)
        body.pop("status", None)
        body["spec"]["desiredState"] = removal
        updated = transport.put(f"{POLICIES}/{name}", body)
        outcome.generation = int((updated.get("metadata") or {}).get("generation") or 0)
        selector = (policy.get("spec") or {}).get("nodeSelector") or {}
        outcome.nodes = sorted(node for node, labels in nodes if selector_matches(selector, labels))
    deadline = clock() + timeout
    waiting = [o for o in outcomes if o.removal is not None]
    while True:
        for outcome in waiting:
            selector = urllib.parse.quote(f"nmstate.io/policy={outcome.policy}")
            enactments = collect(transport, f"{ENACTMENTS}?labelSelector={selector}", lambda item: item, malformed) or []
            outcome.progress = enactment_progress(enactments, outcome.generation, outcome.nodes)
        waiting = [o for o in waiting if o.progress is None or not o.progress.finished]
        if not waiting or clock() >= deadline:
            return outcomes
        sleep(min(poll, max(deadline - clock(), 0)))


def describe(removal: State) -> str:
    interfaces = removal.get("interfaces") or []
    gone = [i["name"] for i in interfaces if i.get("state") == "absent"]
    stripped = [i["name"] for i in interfaces if i.get("state") != "absent"]
    parts = [f"{', '.join(gone)} absent" if gone else "", f"addresses off {', '.join(stripped)}" if stripped else "",
             f"{len((removal.get('routes') or {}).get('config') or [])} route(s) absent" if removal.get("routes") else "",
             f"{len((removal.get('route-rules') or {}).get('config') or [])} rule(s) absent" if removal.get("route-rules") else ""]
    return "; ".join(p for p in parts if p)


def report(outcomes: list[Outcome], verb: str) -> str:
    lines = []
    for outcome in outcomes:
        if outcome.removal is None:
            lines.append(f"KEEP  {outcome.policy}: nothing to remove")
            continue
        progress = outcome.progress or Progress(pending=list(outcome.nodes))
        mark = "DONE" if outcome.ok else "FAIL"
        total = len(progress.applied) + len(progress.failed) + len(progress.pending)
        lines.append(f"{mark}  {outcome.policy}: {describe(outcome.removal)}; applied on {len(progress.applied)}/{total} node(s)")
        lines += [f"      {node}: failed: {message}" for node, message in progress.failed]
        lines += [f"      {node}: never reported generation {outcome.generation}" for node in progress.pending]
    ok = all(o.ok for o in outcomes)
    lines.append(f"{verb} {'finished' if ok else 'FAILED'}: " + (
        "the nodes no longer carry what was removed" if ok else
        "some nodes still carry it; fix them (kubectl get nnce), then retry, or set cleanup.failOnError=false"))
    return "\n".join(lines) + "\n"
