"""Takes a release's VRFs off the nodes before Helm deletes or rewrites their policies.

uninstall (pre-delete): every policy of the release gets a desiredState that removes all it
configured; prune (pre-upgrade): each policy of the release gets one that removes only what
the new values no longer contain, and policies the new values drop entirely (a renamed VRF)
are removed whole. Then it waits until nmstate reports the update applied on every node the
policy selects, and says which nodes failed or never answered.

After a prune, each policy's field ownership goes back to what it was (hand_back): the update
made the hook the owner of every field it changed, and under server-side apply (Helm 4, Argo
CD with ServerSideApply=true) the upgrade's apply of the new desiredState would then conflict
with the hook, and what the hook wrote would stay where the release no longer sets it.
"""

from __future__ import annotations

import copy
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from symrouting.api import ApiError, Conflict, Transport, Unreachable
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
    # Why the policy's field ownership could not be handed back after a prune, if it could not.
    handback_problem: str | None = None

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
    owners_before: list[tuple[Outcome, list[dict[str, Any]] | None]] = []
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
        owners_before.append((outcome, (policy.get("metadata") or {}).get("managedFields")))
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
            break
        sleep(min(poll, max(deadline - clock(), 0)))
    if not uninstall:
        for outcome, managed_fields in owners_before:
            outcome.handback_problem = hand_back(transport, outcome.policy, managed_fields)
    return outcomes


def hand_back(transport: Transport, name: str, managed_fields: list[dict[str, Any]] | None) -> str | None:
    """Resets the policy's metadata.managedFields to the entries read before the removal, in an
    update that changes nothing else: the API server then takes them as sent, so the fields
    the removal changed belong again to whoever applied them (Kubernetes documents this reset
    under "Clearing managedFields"). The spec keeps the removal until the upgrade applies the
    new desiredState. Returns what went wrong, or None."""
    if not managed_fields:
        return None
    path = f"{POLICIES}/{name}"
    for _ in range(3):
        try:
            current = transport.get(path)
            if current is None:
                return None
            current.pop("status", None)
            current["metadata"]["managedFields"] = managed_fields
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
        if outcome.handback_problem:
            lines.append(f"WARN  {outcome.policy}: field ownership not handed back ({outcome.handback_problem}); "
                         "with Helm 4, run the upgrade with --force-conflicts")
    ok = all(o.ok for o in outcomes)
    lines.append(f"{verb} {'finished' if ok else 'FAILED'}: " + (
        "the nodes no longer carry what was removed" if ok else
        "some nodes still carry it; fix them (kubectl get nnce), then retry, or set cleanup.failOnError=false"))
    return "\n".join(lines) + "\n"
