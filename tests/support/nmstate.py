"""Plays kubernetes-nmstate for the local API stand-in: when a policy is updated, each node it
selects reports the new generation in its enactment, as applied, failing, or not at all, and
a node that applies it carries its desiredState from then on (tests/support/nodestate.py).
As in kubernetes-nmstate, a policy acts only on the nodes its nodeSelector matches now, and a
node it stops matching loses its enactment and keeps what it had
(controllers/handler/nodenetworkconfigurationpolicy_controller.go, Reconcile: on unmatched
node labels it deletes the enactment and returns, applying and undoing nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.apiserver import FakeApi
from tests.support.nodestate import Node

POLICIES = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
ENACTMENTS = "/apis/nmstate.io/v1beta1/nodenetworkconfigurationenactments"
NODE_STATES = "/apis/nmstate.io/v1beta1/nodenetworkstates"


def node_state(name: str, node: Node) -> dict[str, Any]:
    """A NodeNetworkState whose currentState shows what the node model carries: its VRFs with
    their tables, addresses, routes and route rules, as nmstate reports them."""
    interfaces = []
    for iface_name, iface in sorted(node.interfaces.items()):
        entry: dict[str, Any] = {"name": iface_name, "type": iface["type"], "state": "up"}
        if iface["type"] == "vrf":
            entry["vrf"] = {"route-table-id": iface.get("table"), "port": list(iface.get("ports") or ())}
        for family in ("ipv4", "ipv6"):
            if iface[family]:
                entry[family] = {"enabled": True, "address": [{"ip": ip, "prefix-length": length}
                                                              for ip, length in sorted(iface[family])]}
        interfaces.append(entry)
    return {"apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkState", "metadata": {"name": name},
            "status": {"currentState": {"interfaces": interfaces,
                                        "routes": {"config": [dict(r) for r in sorted(node.routes, key=str)]},
                                        "route-rules": {"config": [dict(r) for r in sorted(node.rules, key=str)]}}}}


def enactment(node: str, policy: str, generation: int, outcome: str,
              message: str = "error reconciling NodeNetworkConfigurationPolicy: rolled back: connectivity lost",
              ) -> dict[str, Any]:
    conditions = {
        "apply": [{"type": "Available", "status": "True", "reason": "SuccessfullyConfigured"},
                  {"type": "Failing", "status": "False"}, {"type": "Progressing", "status": "False"}],
        "fail": [{"type": "Failing", "status": "True", "reason": "FailedToConfigure", "message": message},
                 {"type": "Available", "status": "False"}],
    }[outcome]
    return {"apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkConfigurationEnactment",
            "metadata": {"name": f"{node}.{policy}", "labels": {"nmstate.io/policy": policy, "nmstate.io/node": node}},
            "status": {"policyGeneration": generation, "conditions": conditions}}


@dataclass
class Nmstate:
    api: FakeApi
    outcomes: dict[str, str] = field(default_factory=dict)  # node -> apply | fail | silent (default: apply)
    updates: list[dict[str, Any]] = field(default_factory=list)  # every change of a policy's spec, in order

    # What each node carries: every desiredState it applied, in order.
    nodes: dict[str, Node] = field(default_factory=dict)

    _generations: dict[str, int] = field(default_factory=dict)
    # Publish each node's NodeNetworkState from what it carries (status.currentState), as
    # the nmstate handler does after each change (kubernetes-nmstate pkg/client/client.go).
    publish_states: bool = False

    def __post_init__(self) -> None:
        self.api.routes.setdefault(ENACTMENTS, [])
        self.api.on_put.append(self._updated)
        self.api.on_create.append(self._created)

    def install(self, policies: list[dict[str, Any]]) -> None:
        """Policies as the release created them (server-side applied by Helm 4, which then owns
        their fields), applied on their nodes at generation 1. Installing again plays Helm's
        upgrade: the list becomes exactly these policies, and each is applied."""
        stored = []
        for policy in policies:
            owner = {"manager": "helm", "operation": "Apply", "apiVersion": "nmstate.io/v1", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:metadata": {"f:labels": {}}, "f:spec": {}}}
            stored.append({**policy, "metadata": {**policy["metadata"], "generation": 1, "resourceVersion": "1",
                                                  "managedFields": [owner]},
                           "status": {"conditions": [{"type": "Available", "status": "True"}]}})
        self.api.publish(POLICIES, stored)
        for policy in stored:
            self._enact(policy, 1, initial=True)

    def _nodes_for(self, policy: dict[str, Any]) -> list[str]:
        selector = (policy.get("spec") or {}).get("nodeSelector") or {}
        return [n["metadata"]["name"] for n in self.api.routes.get("/api/v1/nodes", [])
                if all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())]

    def _enact(self, policy: dict[str, Any], generation: int, initial: bool = False) -> None:
        name = policy["metadata"]["name"]
        current = [e for e in self.api.routes[ENACTMENTS] if e["metadata"]["labels"]["nmstate.io/policy"] == name]
        others = [e for e in self.api.routes[ENACTMENTS] if e["metadata"]["labels"]["nmstate.io/policy"] != name]
        fresh = []
        for node in self._nodes_for(policy):
            outcome = "apply" if initial else self.outcomes.get(node, "apply")
            if outcome == "silent":
                fresh += [e for e in current if e["metadata"]["labels"]["nmstate.io/node"] == node]
            else:
                fresh.append(enactment(node, name, generation, outcome))
                if outcome == "apply":
                    self.nodes.setdefault(node, Node()).apply(policy["spec"]["desiredState"])
        self.api.replace_items(ENACTMENTS, others + fresh)
        if self.publish_states:
            self.api.replace_items(NODE_STATES, [node_state(name, node) for name, node in sorted(self.nodes.items())])

    def _created(self, path: str, stored: dict[str, Any]) -> None:
        """A policy created after the install (a one-shot one) is applied at generation 1."""
        if path.startswith(POLICIES + "/"):
            self._generations[path] = 1
            self.updates.append(stored)
            self._enact(stored, 1)

    def _updated(self, path: str, stored: dict[str, Any]) -> None:
        """nmstate acts on a new generation, which only a change of the spec makes."""
        if path.startswith(POLICIES + "/"):
            generation = int(stored["metadata"]["generation"])
            if generation > self._generations.get(path, 1):
                self._generations[path] = generation
                self.updates.append(stored)
                self._enact(stored, generation)
