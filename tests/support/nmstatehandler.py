"""kubernetes-nmstate's handler against the real API server, with a model of each node
(tests/support/nodestate.py) in place of NetworkManager.

As the handler does (nmstate/kubernetes-nmstate, controllers/handler/
nodenetworkconfigurationpolicy_controller.go, Reconcile), for each new generation of a
NodeNetworkConfigurationPolicy, on every node its nodeSelector matches now:
- the enactment `<node>.<policy>` exists (api/v1beta1/nodenetworkconfigurationenactment_types.go,
  NewEnactment: labels nmstate.io/policy and nmstate.io/node, owned by the Node), its status
  (a subresource) Progressing, then the desiredState and policyGeneration with the outcome:
  SetSuccess or SetFailedToConfigure (pkg/enactmentstatus/conditions/conditions.go);
- a desiredState the node cannot take fails there and leaves the node as it was (nmstate's
  checkpoint rolls it back), with nmstate's message;
- a node the policy stops selecting loses its enactment and keeps its state; a deleted
  policy's enactments go, and nothing on the nodes changes;
- the policy's status says how many nodes took it (pkg/policyconditions/conditions.go:
  Available SuccessfullyConfigured, or Degraded FailedToConfigure, "n/m nodes ...");
- each node's NodeNetworkState reports what it carries (controllers/handler/
  nodenetworkstate_controller.go: status.currentState, lastSuccessfulUpdateTime).

Every desiredState first passes `check_desired_state` (nmstate's own program, wired by the
rig when built): an error it returns fails the enactment with that message.
"""

from __future__ import annotations

import copy
import datetime
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.kubeclient import ApiError, Client, Obj
from tests.support.nodestate import Node

POLICIES = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
ENACTMENTS = "/apis/nmstate.io/v1beta1/nodenetworkconfigurationenactments"
STATES = "/apis/nmstate.io/v1beta1/nodenetworkstates"

# nmstate's verdict on a desiredState: None when it accepts it, else its message.
Checker = Callable[[dict[str, Any]], "str | None"]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(outcome: str, message: str) -> list[Obj]:
    """The enactment's conditions after SetProgressing, SetSuccess or SetFailed."""
    reason = {"progressing": "ConfigurationProgressing", "apply": "SuccessfullyConfigured",
              "fail": "FailedToConfigure"}[outcome]
    status = {"progressing": {"Progressing": "True", "Failing": "Unknown", "Available": "Unknown"},
              "apply": {"Available": "True", "Failing": "False", "Progressing": "False"},
              "fail": {"Failing": "True", "Available": "False", "Progressing": "False"}}[outcome]
    found = []
    for kind in ("Failing", "Available", "Progressing", "Pending", "Aborted"):
        said = message if (status.get(kind) == "True") else ""
        found.append({"type": kind, "status": status.get(kind, "False"),
                      "reason": "SuccessfullyConfigured" if kind == "Aborted" and outcome != "progressing" else reason,
                      "message": said, "lastHeartbeatTime": now(), "lastTransitionTime": now()})
    return found


def current_state(node: Node) -> Obj:
    """A node's model as nmstate reports it (`nmstatectl show`): interfaces, routes, rules."""
    interfaces = []
    for name, interface in sorted(node.interfaces.items()):
        entry: Obj = {"name": name, "type": interface["type"], "state": "up"}
        for family in ("ipv4", "ipv6"):
            addresses = [{"ip": ip, "prefix-length": length} for ip, length in sorted(interface[family])]
            entry[family] = {"enabled": bool(addresses), "address": addresses}
        if interface["type"] == "vrf":
            entry["vrf"] = {"route-table-id": interface.get("table"), "port": list(interface.get("ports", ()))}
        interfaces.append(entry)
    routes = [dict(route) for route in sorted(node.routes, key=repr)]
    rules = [dict(rule) for rule in sorted(node.rules, key=repr)]
    return {"interfaces": interfaces, "routes": {"config": routes, "running": routes},
            "route-rules": {"config": rules}}


# What kubernetes-nmstate keeps of `nmstatectl show` in a NodeNetworkState: its rootState
# (v0.86.0 pkg/state/type.go; filter.go filterOut re-marshals the shown state into it), so
# route-rules never reach the NodeNetworkState.
REPORTED = ("interfaces", "routes", "dns-resolver", "ovn")


def reported_state(shown: Obj) -> Obj:
    """The currentState kubernetes-nmstate writes for what nmstate shows (filterOut)."""
    return {key: value for key, value in shown.items() if key in REPORTED}


def _selecting(labels: dict[str, str]) -> str:
    """The labelSelector query of equality on each label (apimachinery pkg/labels/selector.go)."""
    return urllib.parse.urlencode({"labelSelector": ",".join(f"{k}={v}" for k, v in sorted(labels.items()))})


@dataclass
class NmstateHandler:
    client: Client
    check_desired_state: Checker | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    # node -> NIC -> the largest MTU it takes (Node.max_mtu): how a node refuses a value, with
    # nmstate's own words (rust/src/lib/ifaces/base.rs, validate_mtu).
    max_mtu: dict[str, dict[str, int]] = field(default_factory=dict)
    # node -> an event it waits for (60 s at most) before it applies a policy: a slow node.
    hold: dict[str, threading.Event] = field(default_factory=dict)
    # node -> the message of the rollback it reports for every state it is given: a node whose
    # probes fail after the apply (default gateway or API server unreachable), which
    # kubernetes-nmstate's checkpoint rolls back (docs user-guide-103-troubleshooting).
    failing: dict[str, str] = field(default_factory=dict)
    # Nodes whose handler does not run (its pod down): they never report a new generation.
    silent: set[str] = field(default_factory=set)
    # Every policy generation applied, in order: (policy name, generation, nodes).
    applied: list[tuple[str, int, list[str]]] = field(default_factory=list)
    # Reconciles that raised: a test asserts there are none.
    errors: list[str] = field(default_factory=list)
    _handled: dict[str, int] = field(default_factory=dict)
    _queue: queue.Queue[tuple[str, Obj]] = field(default_factory=queue.Queue)
    _busy: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        threading.Thread(target=self._watch, daemon=True, name="nmstate-watch").start()
        threading.Thread(target=self._work, daemon=True, name="nmstate-work").start()

    def stop(self) -> None:
        self._stop.set()

    def forget(self) -> None:
        """What one test left: the nodes' states, what was applied and raised, and every
        per-node knob (a slow, narrow, failing or silent node is not the next test's)."""
        for kept in (self.nodes, self.applied, self.errors, self.hold, self.max_mtu, self.failing, self.silent):
            kept.clear()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                listed = self.client.call("GET", POLICIES)
                for policy in listed.get("items") or []:
                    self._enqueue("ADDED", policy)
                for event in self.client.watch(POLICIES, listed["metadata"]["resourceVersion"], timeout=300):
                    if self._stop.is_set():
                        return
                    self._enqueue(event["type"], event["object"])
            except Exception as error:  # noqa: BLE001 (the watch restarts, as an informer's does)
                if not self._stop.is_set():
                    self.errors.append(f"watch: {error!r}")
                    time.sleep(0.5)

    def _enqueue(self, event: str, policy: Obj) -> None:
        if event not in ("ADDED", "MODIFIED", "DELETED"):
            return
        with self._lock:
            self._busy += 1
        self._queue.put((event, policy))

    def _work(self) -> None:
        while True:
            event, policy = self._queue.get()
            try:
                self._reconcile(event, policy)
            except Exception as error:  # noqa: BLE001 (kept for the test to report)
                self.errors.append(f"{policy['metadata']['name']}: {error!r}")
            finally:
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()

    def settle_work(self, timeout: float = 30) -> None:
        """Waits until no reconcile is under way (a stopped handler's last one, say)."""
        with self._lock:
            self._lock.wait_for(lambda: self._busy == 0, timeout)

    def settle(self, timeout: float = 30) -> None:
        """Waits until every live policy's generation is handled and no enactment is left of
        a deleted one."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                self._lock.wait_for(lambda: self._busy == 0, max(0.0, end - time.monotonic()))
            live = {p["metadata"]["name"]: int(p["metadata"]["generation"]) for p in self.client.items(POLICIES)}
            orphans = [e for e in self.client.items(ENACTMENTS)
                       if e["metadata"]["labels"].get("nmstate.io/policy") not in live]
            with self._lock:
                if self._busy == 0 and not orphans and all(self._handled.get(n, 0) >= g for n, g in live.items()):
                    return
            time.sleep(0.1)
        raise AssertionError(f"nmstate did not settle in {timeout}s; errors: {self.errors}")

    def _mine(self, name: str) -> dict[str, Obj]:
        return {e["metadata"]["labels"]["nmstate.io/node"]: e
                for e in self.client.items(f"{ENACTMENTS}?{_selecting({'nmstate.io/policy': name})}")}

    def _reconcile(self, event: str, seen: Obj) -> None:
        name = seen["metadata"]["name"]
        if event == "DELETED":
            for node in self._mine(name):
                self.client.call("DELETE", f"{ENACTMENTS}/{node}.{name}", missing_ok=True)
            with self._lock:
                self._handled.pop(name, None)
            return
        policy = self.client.get(f"{POLICIES}/{name}")
        if policy is None:
            return  # deleted since: its DELETED event follows
        generation = int(policy["metadata"]["generation"])
        if generation <= self._handled.get(name, 0):
            return
        selector = (policy.get("spec") or {}).get("nodeSelector") or {}
        # The server picks the nodes (a nodeSelector is equality on labels, as a label selector
        # says it): listing every Node per policy would cost a site of hundreds of nodes minutes.
        selected = self.client.items(f"/api/v1/nodes?{_selecting(selector)}" if selector else "/api/v1/nodes")
        mine = self._mine(name)
        for node in set(mine) - {n["metadata"]["name"] for n in selected}:
            self.client.call("DELETE", f"{ENACTMENTS}/{node}.{name}", missing_ok=True)
        desired = (policy.get("spec") or {}).get("desiredState") or {}
        failed = 0
        for node in selected:
            node_name = node["metadata"]["name"]
            if node_name in self.silent:
                continue
            enactment = mine.get(node_name) or self._create_enactment(node, name)
            enactment = self._enactment_status(enactment, {"conditions": conditions("progressing", "Applying desired state")})
            if node_name in self.hold:
                self.hold[node_name].wait(60)
            refusal = self.check_desired_state(desired) if self.check_desired_state else None
            if refusal is None and node_name in self.failing:
                refusal = self.failing[node_name]
            if refusal is not None:
                refusal = f"error reconciling NodeNetworkConfigurationPolicy on node {node_name}: {refusal}"
            state = copy.deepcopy(self.nodes.get(node_name) or Node())
            state.max_mtu = self.max_mtu.get(node_name, {})
            if refusal is None:
                try:
                    state.apply(desired)
                except ValueError as error:
                    refusal = f"error reconciling NodeNetworkConfigurationPolicy on node {node_name}: {error}"
            if refusal is None:
                self.nodes[node_name] = state
                outcome, message = "apply", "successfully reconciled"
            else:
                failed += 1
                outcome, message = "fail", refusal
            self._enactment_status(enactment, {"desiredState": desired, "policyGeneration": generation,
                                               "conditions": conditions(outcome, message)})
            self._node_state(node)
        self._policy_status(name, len(selected), failed)
        with self._lock:
            self._handled[name] = generation
        self.applied.append((name, generation, [n["metadata"]["name"] for n in selected]))

    def _create_enactment(self, node: Obj, policy: str) -> Obj:
        node_name = node["metadata"]["name"]
        return dict(self.client.call("POST", ENACTMENTS, {
            "apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkConfigurationEnactment",
            "metadata": {"name": f"{node_name}.{policy}",
                         "labels": {"nmstate.io/policy": policy, "nmstate.io/node": node_name},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                              "uid": node["metadata"]["uid"]}]}}))

    def _enactment_status(self, enactment: Obj, status: Obj) -> Obj:
        path = f"{ENACTMENTS}/{enactment['metadata']['name']}/status"
        return dict(self.client.call("PATCH", path, {"status": status}, content_type="application/merge-patch+json"))

    def _node_state(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        if self.client.get(f"{STATES}/{name}") is None:
            try:
                self.client.call("POST", STATES, {
                    "apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkState",
                    "metadata": {"name": name, "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name,
                                                                    "uid": node["metadata"]["uid"]}]}})
            except ApiError as error:
                if error.code != 409:
                    raise
        state = reported_state(current_state(self.nodes.get(name) or Node()))
        self.client.call("PATCH", f"{STATES}/{name}/status",
                         {"status": {"currentState": state, "lastSuccessfulUpdateTime": now()}},
                         content_type="application/merge-patch+json")

    def _policy_status(self, name: str, selected: int, failed: int) -> None:
        if not selected:
            found = [{"type": "Available", "status": "False", "reason": "NoMatchingNode",
                      "message": "Policy does not match any node"},
                     {"type": "Degraded", "status": "False", "reason": "NoMatchingNode",
                      "message": "Policy does not match any node"}]
        elif failed:
            message = f"{failed}/{selected} nodes failed to configure"
            found = [{"type": "Degraded", "status": "True", "reason": "FailedToConfigure", "message": message},
                     {"type": "Available", "status": "False", "reason": "FailedToConfigure", "message": ""}]
        else:
            message = f"{selected}/{selected} nodes successfully configured"
            found = [{"type": "Available", "status": "True", "reason": "SuccessfullyConfigured", "message": message},
                     {"type": "Degraded", "status": "False", "reason": "SuccessfullyConfigured", "message": ""}]
        for condition in found:
            condition.update(lastHeartbeatTime=now(), lastTransitionTime=now())
        self.client.request("PATCH", f"{POLICIES}/{name}/status", {"status": {"conditions": found}},
                            content_type="application/merge-patch+json")
