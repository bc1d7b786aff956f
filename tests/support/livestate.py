"""API answers of a running site, for `symrouting status`: the documentation's example
(release test/tenant-a, VRF ens4vrf in table 2, peer frrviavrf at 192.168.130.1, service
test/server1) with every status object its controllers write, each shaped as its upstream
controller writes it. healthy() is the working site; the other helpers break one piece.

- NodeNetworkConfigurationEnactment "<node>.<policy>", labelled nmstate.io/policy and
  nmstate.io/node, status.policyGeneration and conditions (kubernetes-nmstate api/shared/
  nodenetworkconfigurationenactment_types.go).
- NodeNetworkState named after its node, status.currentState as nmstate shows it
  (kubernetes-nmstate pkg/client/client.go, UpdateCurrentState; nmstate devel/yaml_api.md).
- BGPSessionState per node, VRF and peer, generateName "<node>-", labelled
  frrk8s.metallb.io/node, peer and vrf, in FRR-K8s' namespace (frr-k8s cmd/status/controller/
  bgpsessionstate_controller.go, desiredStateFor).
- ServiceBGPStatus per service and announcing node, generateName "bgp-", labelled
  metallb.io/node, service-name and service-namespace, in MetalLB's namespace (metallb
  internal/k8s/controllers/bgp_status_controller.go, Reconcile).
- ConfigurationState "controller" and "speaker-<node>", labelled metallb.io/component-type
  (and metallb.io/node-name), status.result and errorSummary (metallb internal/k8s/k8s.go,
  internal/k8s/controllers/configuration_state_controller.go).
- EgressService status.host: the node OVN-Kubernetes picked, "ALL" with sourceIPBy Network
  (ovn-kubernetes go-controller/pkg/crd/egressservice/v1/types.go).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.support import clusters

POLICY = "vrfpolicy"
POLICIES = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
ENACTMENTS = "/apis/nmstate.io/v1beta1/nodenetworkconfigurationenactments"
NODE_STATES = "/apis/nmstate.io/v1beta1/nodenetworkstates"
SESSIONS = "/apis/frrk8s.metallb.io/v1beta1/bgpsessionstates"
ANNOUNCEMENTS = "/apis/metallb.io/v1beta1/namespaces/metallb-system/servicebgpstatuses"
CONFIG_STATES = "/apis/metallb.io/v1beta1/namespaces/metallb-system/configurationstates"
EGRESS = "/apis/k8s.ovn.org/v1/namespaces/test/egressservices/server1"
# On OpenShift FRR-K8s runs in its own namespace, not MetalLB's.
FRR_NAMESPACE = "openshift-frr-k8s"
# Where a status from a plan reads them (the plan names FRR-K8s's namespace); SESSIONS is the
# cluster-wide list a status without a plan reads. healthy() serves one list at both.
SESSIONS_IN_FRR = f"/apis/frrk8s.metallb.io/v1beta1/namespaces/{FRR_NAMESPACE}/bgpsessionstates"

# The labels the chart puts on the release's objects (templates/_names.tpl, symmetric-routing.labels).
CHART_LABELS = {"app.kubernetes.io/instance": "tenant-a", "symmetric-routing/release-namespace": "test",
                "symmetric-routing/vrf": "ens4vrf", "app.kubernetes.io/name": "symmetric-routing"}

SEED_STATE = {
    "interfaces": [
        {"name": "ens4vrf", "type": "vrf", "state": "up", "vrf": {"port": ["ens4"], "route-table-id": 2}},
        {"name": "ens4", "type": "ethernet", "state": "up",
         "ipv4": {"enabled": True, "dhcp": False, "address": [{"ip": "192.168.130.130", "prefix-length": 24}]}}],
    "route-rules": {"config": [{"ip-to": "172.30.0.0/16", "priority": 998, "route-table": 254},
                               {"ip-to": "10.132.0.0/14", "priority": 998, "route-table": 254}]},
    "routes": {"config": [{"destination": "0.0.0.0/0", "metric": 150, "next-hop-address": "192.168.130.1",
                           "next-hop-interface": "ens4", "table-id": 2}]},
}


def policy(name: str = POLICY, generation: int = 1, selector: dict[str, str] | None = None,
           state: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
            "metadata": {"name": name, "generation": generation, "labels": dict(CHART_LABELS),
                         "annotations": {"meta.helm.sh/release-name": "tenant-a", "meta.helm.sh/release-namespace": "test"}},
            "spec": {"nodeSelector": selector if selector is not None else {"vrf": "true"},
                     "desiredState": copy.deepcopy(state or SEED_STATE)}}


def enactment(node: str, generation: int = 1, *, condition: str = "Available", reason: str = "SuccessfullyConfigured",
              message: str = "", policy_name: str = POLICY) -> dict[str, Any]:
    kinds = ("Available", "Failing", "Progressing", "Pending", "Aborted")
    conditions = [{"type": kind, "status": "True" if kind == condition else "False",
                   **({"reason": reason, "message": message} if kind == condition else {})} for kind in kinds]
    return {"apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkConfigurationEnactment",
            "metadata": {"name": f"{node}.{policy_name}",
                         "labels": {"nmstate.io/policy": policy_name, "nmstate.io/node": node}},
            "status": {"policyGeneration": generation, "conditions": conditions}}


def node_state(node: str, *, with_vrf: bool = True, extra_interfaces: int = 0,
               rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A node's NodeNetworkState: its primary NIC and OVN's bridge always, the VRF and its
    port where the policy applied. No route-rules, as kubernetes-nmstate writes it
    (nmstatehandler.reported_state); with rules, a reporter that lists them (an empty list:
    the node has none)."""
    interfaces: list[dict[str, Any]] = [
        {"name": "br-ex", "type": "ovs-interface", "state": "up",
         "ipv4": {"enabled": True, "address": [{"ip": "192.168.1.10", "prefix-length": 24}]}},
        {"name": "ens3", "type": "ethernet", "state": "up", "mtu": 1500, "mac-address": "52:54:00:12:34:56"},
        {"name": "lo", "type": "loopback", "state": "up", "mtu": 65536}]
    interfaces += [{"name": f"ens{10 + i}", "type": "ethernet", "state": "down", "mtu": 1500} for i in range(extra_interfaces)]
    if with_vrf:
        interfaces += copy.deepcopy(SEED_STATE["interfaces"])
    current: dict[str, Any] = {"interfaces": interfaces, "routes": {"config": [], "running": []}}
    if rules is not None:
        current["route-rules"] = {"config": rules}
    return {"apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkState", "metadata": {"name": node},
            "status": {"currentState": current,
                       "lastSuccessfulUpdateTime": "2026-11-28T01:00:00Z",
                       "conditions": [{"type": "Available", "status": "True", "reason": "SuccessfullyConfigured"}]}}


def session(node: str, peer: str = "192.168.130.1", vrf: str = "ens4vrf", bgp: str = "Established",
            bfd: str = "N/A", index: int = 0) -> dict[str, Any]:
    return {"apiVersion": "frrk8s.metallb.io/v1beta1", "kind": "BGPSessionState",
            "metadata": {"name": f"{node}-{index:05x}", "namespace": FRR_NAMESPACE,
                         "labels": {"frrk8s.metallb.io/node": node, "frrk8s.metallb.io/peer": peer,
                                    "frrk8s.metallb.io/vrf": vrf}},
            "status": {"node": node, "peer": peer, "vrf": vrf, "bgpStatus": bgp, "bfdStatus": bfd}}


def announcement(node: str, peers: tuple[str, ...] = ("frrviavrf",), service: str = "server1",
                 namespace: str = "test") -> dict[str, Any]:
    return {"apiVersion": "metallb.io/v1beta1", "kind": "ServiceBGPStatus",
            "metadata": {"name": f"bgp-{node}-{service}", "namespace": "metallb-system",
                         "labels": {"metallb.io/node": node, "metallb.io/service-name": service,
                                    "metallb.io/service-namespace": namespace}},
            "status": {"node": node, "serviceName": service, "serviceNamespace": namespace, "peers": list(peers)}}


def config_state(node: str | None, result: str = "Valid", errors: str = "") -> dict[str, Any]:
    labels = {"metallb.io/component-type": "speaker" if node else "controller"}
    if node:
        labels["metallb.io/node-name"] = node
    return {"apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState",
            "metadata": {"name": f"speaker-{node}" if node else "controller", "namespace": "metallb-system",
                         "labels": labels},
            "status": {"result": result, "errorSummary": errors}}


def healthy(vrf_nodes: tuple[str, ...] = ("worker-0", "worker-1"), host: str = "worker-1",
            others: tuple[str, ...] = ("worker-2",)) -> dict[str, Any]:
    """The documentation's example working on two VRF nodes, server1 egressing and announced
    from host alone."""
    nodes = [clusters.node(n, {"vrf": "true"}) for n in vrf_nodes] + [clusters.node(n, {}) for n in others]
    # OpenShift's MetalLB runs FRR-K8s, which writes the BGPSessionStates.
    routes = clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes,
                                metallb_backend="frr-k8s")
    routes[POLICIES] = [policy()]
    routes[ENACTMENTS] = [enactment(n) for n in vrf_nodes]
    routes[NODE_STATES] = [node_state(n, with_vrf=n in vrf_nodes) for n in (*vrf_nodes, *others)]
    routes[SESSIONS] = routes[SESSIONS_IN_FRR] = [session(n) for n in vrf_nodes]
    routes[ANNOUNCEMENTS] = [announcement(host)]
    routes[CONFIG_STATES] = [config_state(None)] + [config_state(n) for n in (*vrf_nodes, *others)]
    routes[EGRESS] = {"apiVersion": "k8s.ovn.org/v1", "kind": "EgressService",
                      "metadata": {"name": "server1", "namespace": "test", "labels": dict(CHART_LABELS)},
                      "spec": {"sourceIPBy": "LoadBalancerIP", "nodeSelector": {"matchLabels": {"vrf": "true"}}},
                      "status": {"host": host}}
    routes["/apis/k8s.ovn.org/v1/egressservices"] = [routes[EGRESS]]
    peers = [{"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer",
              "metadata": {"name": "frrviavrf", "namespace": "metallb-system", "labels": dict(CHART_LABELS)},
              "spec": {"myASN": 100, "peerASN": 200, "peerAddress": "192.168.130.1", "vrf": "ens4vrf"}}]
    routes["/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"] = peers
    routes["/apis/metallb.io/v1beta2/bgppeers"] = peers
    return routes


def replace(routes: dict[str, Any], path: str, match: dict[str, str], **status: Any) -> None:
    """Sets status fields of the listed objects whose labels include match."""
    for item in routes[path]:
        labels = item["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in match.items()):
            item["status"].update(status)
