"""The objects of a site's cluster, as the real API server stores them.

Each builder returns {path: object or list of objects}: an OpenShift cluster, a kubeadm
cluster, a cluster with an added ServiceCIDR; helpers add other tenants' policies and pools.
RealApi.load (tests/support/realapi.py) writes them into the rig's real server; the discovery
documents and CRDs here say what the cluster serves, which the tests make the proxy hide
where the rig's server serves more (tests/hooks/test_cli.py, `serve`).
"""

from __future__ import annotations

import json
from typing import Any

DISCOVERY = {
    "/apis/nmstate.io/v1": ["NodeNetworkConfigurationPolicy", "NodeNetworkConfigurationEnactment", "NodeNetworkState"],
    "/apis/metallb.io/v1beta2": ["BGPPeer"],
    "/apis/metallb.io/v1beta1": ["BGPPeer", "IPAddressPool", "BGPAdvertisement", "BFDProfile", "Community",
                                 "L2Advertisement", "MetalLB"],
    "/apis/k8s.ovn.org/v1": ["EgressService", "EgressIP", "EgressFirewall"],
}


def _discovery(group_version: str, kinds: list[str]) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version.removeprefix("/apis/"),
        # The plural the CRDs declare (NodeNetworkConfigurationPolicy -> ...policies).
        "resources": [{"name": kind.lower()[:-1] + "ies" if kind.endswith("y") else kind.lower() + "s", "namespaced": kind not in ("NodeNetworkConfigurationPolicy",),
                       "kind": kind, "verbs": ["get", "list", "watch"]} for kind in kinds],
    }


def node(name: str, labels: dict[str, str], *, pod_cidrs: list[str] | None = None,
         masquerade: dict[str, str] | None = None, images: int = 0) -> dict[str, Any]:
    annotations = {"volumes.kubernetes.io/controller-managed-attach-detach": "true",
                   "k8s.ovn.org/node-primary-ifaddr": json.dumps({"ipv4": "192.168.1.10/24"})}
    if masquerade:
        annotations["k8s.ovn.org/node-masquerade-subnet"] = json.dumps(masquerade)
    spec: dict[str, Any] = {}
    if pod_cidrs:
        spec = {"podCIDR": pod_cidrs[0], "podCIDRs": pod_cidrs}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "1",
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **labels},
                     "annotations": annotations},
        "spec": spec,
        "status": {
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "nodeInfo": {"kubeletVersion": "v1.31.4", "osImage": "Red Hat Enterprise Linux CoreOS"},
            "images": [{"names": [f"quay.io/example/image-{i}@sha256:{i:064x}"], "sizeBytes": 100000 + i}
                       for i in range(images)],
        },
    }


def advertisement_crd(service_selectors: bool) -> dict[str, Any]:
    """The served BGPAdvertisement CRD, trimmed to what the preflight reads: spec.serviceSelectors
    exists from MetalLB 0.16 (metallb config/crd/bases/metallb.io_bgpadvertisements.yaml)."""
    spec = {"ipAddressPools": {"type": "array"}, "nodeSelectors": {"type": "array"}, "peers": {"type": "array"}}
    if service_selectors:
        spec["serviceSelectors"] = {"type": "array"}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "bgpadvertisements.metallb.io"},
            "spec": {"group": "metallb.io", "versions": [{"name": "v1beta1", "served": True, "storage": True, "schema": {
                "openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": spec}}}}}]}}


def base(nodes: list[dict[str, Any]], metallb_backend: str | None = "frr", metallb_version: str = "0.15") -> dict[str, Any]:
    routes: dict[str, Any] = {path: _discovery(path, kinds) for path, kinds in DISCOVERY.items()}
    routes["/api/v1/nodes"] = nodes
    routes["/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"] = []
    routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools"] = []
    routes["/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgpadvertisements.metallb.io"] = advertisement_crd(
        tuple(int(p) for p in metallb_version.split(".")[:2]) >= (0, 16))
    routes["/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"] = []
    routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/metallbs"] = (
        [{"apiVersion": "metallb.io/v1beta1", "kind": "MetalLB",
          "metadata": {"name": "metallb", "namespace": "metallb-system"},
          "spec": {"bgpBackend": metallb_backend} if metallb_backend != "default" else {}}]
        if metallb_backend else []
    )
    return routes


def openshift(*, service: list[str], cluster: list[str], masquerade: dict[str, str] | None = None,
              operator_masquerade: str | None = None, routing_via_host: bool = False,
              nodes: list[dict[str, Any]] | None = None, status: bool = True, **kwargs: Any) -> dict[str, Any]:
    # As in the documentation's example, one node carries the VRF (its address is that node's).
    routes = base(nodes if nodes is not None else [node(f"worker-{i}", {"vrf": "true"} if i == 0 else {}, masquerade=masquerade)
                                                     for i in range(3)], **kwargs)
    networks = {"clusterNetwork": [{"cidr": c, "hostPrefix": 23} for c in cluster], "serviceNetwork": service,
                "networkType": "OVNKubernetes"}
    routes["/apis/config.openshift.io/v1/networks/cluster"] = {
        "apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
        "spec": networks, "status": networks if status else {},
    }
    gateway: dict[str, Any] = {"routingViaHost": routing_via_host}
    if operator_masquerade:
        gateway["ipv4"] = {"internalMasqueradeSubnet": operator_masquerade}
    routes["/apis/operator.openshift.io/v1/networks/cluster"] = {
        "apiVersion": "operator.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
        "spec": {"defaultNetwork": {"type": "OVNKubernetes", "ovnKubernetesConfig": {"gatewayConfig": gateway}}},
    }
    return routes


def kubeadm(*, pod_subnet: str, service_subnet: str, node_pod_cidrs: list[list[str]],
            gateway_mode: str | None = "shared", masquerade: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
    nodes = [node(f"node-{i}", {"vrf": "true"}, pod_cidrs=cidrs, masquerade=masquerade)
             for i, cidrs in enumerate(node_pod_cidrs)]
    routes = base(nodes, **kwargs)
    routes["/api/v1/namespaces/kube-system/configmaps/kubeadm-config"] = {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
        "data": {"ClusterConfiguration": (
            "apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\nclusterName: kubernetes\nkind: ClusterConfiguration\n"
            f"networking:\n  dnsDomain: cluster.local\n  podSubnet: {pod_subnet}\n  serviceSubnet: {service_subnet}\n")},
    }
    if gateway_mode:
        routes["/api/v1/namespaces/ovn-kubernetes/configmaps/ovnkube-config"] = {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ovnkube-config", "namespace": "ovn-kubernetes"},
            "data": {"ovnkube.conf": f"[default]\nmtu=1400\n\n[gateway]\nmode={gateway_mode}\nnodeport=true\n"},
        }
    return routes


def with_service_cidrs(routes: dict[str, Any], name: str, cidrs: list[str]) -> dict[str, Any]:
    """A ServiceCIDR beside the server's own `kubernetes` one (at most one CIDR per family:
    kubernetes pkg/apis/networking/validation ValidateServiceCIDR)."""
    routes["/apis/networking.k8s.io/v1/servicecidrs"] = [
        {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": name},
         "spec": {"cidrs": cidrs}}
    ]
    return routes


def release_annotations(owner: str | None) -> dict[str, str]:
    if not owner:
        return {}
    namespace, name = owner.split("/")
    return {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": namespace}


def add_policy(routes: dict[str, Any], name: str, *, vrf: str, table: int, selector: dict[str, str],
               owner: str | None = None) -> None:
    routes["/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"].append({
        "apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
        "metadata": {"name": name, "annotations": release_annotations(owner)},
        "spec": {"nodeSelector": selector, "desiredState": {"interfaces": [
            {"name": vrf, "type": "vrf", "state": "up", "vrf": {"port": ["ens9"], "route-table-id": table}},
            {"name": "ens9", "type": "ethernet", "state": "up"}]}},
    })


def add_pool(routes: dict[str, Any], name: str, addresses: list[str], owner: str | None = None) -> None:
    routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools"].append({
        "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": "metallb-system", "annotations": release_annotations(owner)},
        "spec": {"addresses": addresses},
    })


def add_peer(routes: dict[str, Any], name: str, *, vrf: str, owner: str | None = None) -> None:
    routes["/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"].append({
        "apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer",
        "metadata": {"name": name, "namespace": "metallb-system", "annotations": release_annotations(owner)},
        "spec": {"myASN": 64999, "peerASN": 65000, "peerAddress": "192.0.2.1", "vrf": vrf},
    })


def with_discovery(routes: dict[str, Any]) -> dict[str, Any]:
    """What Helm asks before a lookup (`helm template --dry-run=server`): the server version
    and the discovery documents that map kinds to resources."""
    routes["/version"] = {"major": "1", "minor": "31", "gitVersion": "v1.31.4"}
    routes["/api"] = {"kind": "APIVersions", "versions": ["v1"]}
    routes["/api/v1"] = {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "nodes", "namespaced": False, "kind": "Node", "verbs": ["get", "list"]},
        {"name": "configmaps", "namespaced": True, "kind": "ConfigMap", "verbs": ["get", "list"]}]}
    groups: dict[str, list[str]] = {}
    for path in [p for p in routes if p.startswith("/apis/") and p.count("/") == 3]:
        group, version = path.removeprefix("/apis/").split("/")
        groups.setdefault(group, []).append(version)
    groups["apiextensions.k8s.io"] = ["v1"]
    routes["/apis/apiextensions.k8s.io/v1"] = {"kind": "APIResourceList", "groupVersion": "apiextensions.k8s.io/v1",
                                               "resources": [{"name": "customresourcedefinitions", "namespaced": False,
                                                              "kind": "CustomResourceDefinition", "verbs": ["get", "list"]}]}
    for group in ("config.openshift.io", "operator.openshift.io"):
        if f"/apis/{group}/v1/networks/cluster" in routes:
            routes[f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/networks.{group}"] = {
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": f"networks.{group}"}, "spec": {"group": group}}
            groups.setdefault(group, ["v1"])
            routes[f"/apis/{group}/v1"] = {"kind": "APIResourceList", "groupVersion": f"{group}/v1", "resources": [
                {"name": "networks", "namespaced": False, "kind": "Network", "verbs": ["get", "list"]}]}
    routes["/apis"] = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": group, "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
         "preferredVersion": {"groupVersion": f"{group}/{versions[-1]}", "version": versions[-1]}}
        for group, versions in sorted(groups.items())]}
    return routes


def verified(routes: dict[str, Any], host: str) -> dict[str, Any]:
    """What `helm test` reads of the documentation's example once it works: the Service
    test/server1 with an address from first-pool, its EgressService placed on host, and
    host (one of the cluster's nodes, or a new one) carrying the egress-service label
    OVN-Kubernetes sets."""
    routes["/api/v1/namespaces/test/services/server1"] = {
        "apiVersion": "v1", "kind": "Service",
        # the label the pool's default serviceAllocation admits (templates/_names.tpl,
        # symmetric-routing.poolServiceLabel): without it MetalLB gives it no address
        "metadata": {"name": "server1", "namespace": "test", "labels": {"symmetric-routing/address-pool": "first-pool"}},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.169.10.0", "ipMode": "VIP"}]}}}
    routes["/apis/k8s.ovn.org/v1/namespaces/test/egressservices/server1"] = {
        "apiVersion": "k8s.ovn.org/v1", "kind": "EgressService",
        "metadata": {"name": "server1", "namespace": "test"}, "spec": {"sourceIPBy": "LoadBalancerIP"},
        "status": {"host": host}}
    nodes = routes["/api/v1/nodes"]
    if not any(item["metadata"]["name"] == host for item in nodes):
        nodes.append(node(host, {"vrf": "true"}))
    for item in nodes:
        if item["metadata"]["name"] == host:
            item["metadata"]["labels"]["egress-service.k8s.ovn.org/test-server1"] = ""
    return routes
