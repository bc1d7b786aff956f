"""The cluster the day-2 tests run on: the real control plane (tests/support/realcluster.py:
etcd, kube-apiserver, kube-controller-manager), three worker Nodes, the kubelet for hook pods
(tests/support/podrunner.py), nmstate's handler on node models
(tests/support/nmstatehandler.py), and the recording, fault-injecting proxy
(tests/support/proxy.py) that Helm, kubectl and the hook pods talk to.

One per pytest process (session scope, tests/conftest.py; under xdist, one per worker that
runs such a test): it takes about 25 s to start. `reset()` puts it back as it started between tests: no release, no policy, nodes bare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.support import realcluster
from tests.support.kubeclient import Client, Obj
from tests.support.nmstatehandler import ENACTMENTS, POLICIES, STATES, NmstateHandler
from tests.support.podrunner import PodRunner
from tests.support.proxy import Proxy

WORKER = "node-role.kubernetes.io/worker"
SERVICE_NETWORK = [realcluster.SERVICE_CIDR]
CLUSTER_NETWORK = ["10.132.0.0/14"]
# Namespaces the tests install into; metallb-system holds MetalLB's objects.
NAMESPACES = ("test", "prod", "metallb-system")
ADMIN = "rig-admin"

# What `reset()` deletes in each test namespace: everything a release or its hooks create.
NAMESPACED = (
    "/apis/batch/v1/namespaces/{ns}/jobs", "/api/v1/namespaces/{ns}/pods", "/api/v1/namespaces/{ns}/secrets",
    "/api/v1/namespaces/{ns}/configmaps", "/api/v1/namespaces/{ns}/services",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
    "/apis/k8s.ovn.org/v1/namespaces/{ns}/egressservices",
    "/apis/metallb.io/v1beta2/namespaces/{ns}/bgppeers", "/apis/metallb.io/v1beta1/namespaces/{ns}/ipaddresspools",
    "/apis/metallb.io/v1beta1/namespaces/{ns}/bgpadvertisements",
    "/apis/metallb.io/v1beta1/namespaces/{ns}/bfdprofiles", "/apis/metallb.io/v1beta1/namespaces/{ns}/communities",
)
HELM_LABEL = "app.kubernetes.io/managed-by=Helm"


def openshift_networks(cluster: list[str], service: list[str]) -> tuple[Obj, Obj]:
    """The OpenShift Network objects the preflight reads (config and operator), with the
    cluster's CIDRs and OVN-Kubernetes' gateway."""
    networks = {"clusterNetwork": [{"cidr": c, "hostPrefix": 23} for c in cluster], "serviceNetwork": service,
                "networkType": "OVNKubernetes"}
    config = {"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
              "spec": networks, "status": networks}
    operator = {"apiVersion": "operator.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
                "spec": {"defaultNetwork": {"type": "OVNKubernetes",
                                            "ovnKubernetesConfig": {"gatewayConfig": {"routingViaHost": False}}}}}
    return config, operator


@dataclass
class Rig:
    """Populates a running control plane and runs the controllers beside it until stop()."""

    folder: Path
    cluster: realcluster.RealCluster
    admin_token: str = field(init=False)

    def __post_init__(self) -> None:
        cluster = self.cluster
        self.client: Client = cluster.client()
        for index in range(3):
            cluster.add_node(f"worker-{index}", {WORKER: "", **({"vrf": "true"} if index == 0 else {})},
                             f"192.168.1.{10 + index}", f"10.132.{2 * index}.0/23")
        for namespace in NAMESPACES:
            self.client.call("POST", "/api/v1/namespaces",
                             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        # Helm and kubectl use a real bound token of a cluster-admin ServiceAccount, so that the
        # proxy can pass credentials through (a client certificate ends at the proxy's TLS).
        self.client.call("POST", "/api/v1/namespaces/kube-system/serviceaccounts",
                         {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ADMIN}})
        self.client.call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": ADMIN},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": ADMIN, "namespace": "kube-system"}]})
        self.admin_token = cluster.token("kube-system", ADMIN, seconds=24 * 3600)
        pki = cluster.pki
        self.proxy = Proxy(cluster.url, pki.ca_file, pki.server_cert, pki.server_key)
        self.kubeconfig = cluster.write_kubeconfig(self.folder / "proxy.kubeconfig", token=self.admin_token)
        text = self.kubeconfig.read_text().replace(cluster.url, self.proxy.url)
        self.kubeconfig.write_text(text)
        self.pods = PodRunner(cluster.client(), "127.0.0.1", self.proxy.port, self.folder / "pods")
        self.nmstate = NmstateHandler(cluster.client())
        self.reset()

    def stop(self) -> None:
        for part in ("pods", "nmstate", "proxy"):
            if hasattr(self, part):
                getattr(self, part).stop()

    def put(self, path: str, obj: Obj, status: bool = False) -> Obj:
        """Creates or replaces an object (and its status, a subresource of these kinds)."""
        name = obj["metadata"]["name"]
        live = self.client.get(f"{path}/{name}")
        if live is None:
            stored = dict(self.client.call("POST", path, obj))
        else:
            obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": live["metadata"]["resourceVersion"]}}
            stored = dict(self.client.call("PUT", f"{path}/{name}", obj))
        if status and "status" in obj:
            stored["status"] = obj["status"]
            stored = dict(self.client.call("PUT", f"{path}/{name}/status", stored))
        return stored

    def reset(self) -> None:
        """Back to the start: every release's objects gone, nodes bare, OpenShift's networks
        and the MetalLB object as at the start."""
        client = self.client
        for path in (POLICIES, ENACTMENTS, STATES):
            client.call("DELETE", path)
        for kind in ("clusterroles", "clusterrolebindings"):
            client.call("DELETE", f"/apis/rbac.authorization.k8s.io/v1/{kind}?labelSelector={HELM_LABEL}")
        for namespace in NAMESPACES:
            for path in NAMESPACED:
                client.request("DELETE", path.format(ns=namespace) + "?propagationPolicy=Background&gracePeriodSeconds=0")
            for account in client.items(f"/api/v1/namespaces/{namespace}/serviceaccounts"):
                if account["metadata"]["name"] != "default":
                    client.call("DELETE", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account['metadata']['name']}",
                                missing_ok=True)
        config, operator = openshift_networks(CLUSTER_NETWORK, SERVICE_NETWORK)
        # This CRD has no status subresource: the status is written with the object.
        self.put("/apis/config.openshift.io/v1/networks", config)
        self.put("/apis/operator.openshift.io/v1/networks", operator)
        self.put("/apis/metallb.io/v1beta1/namespaces/metallb-system/metallbs", {
            "apiVersion": "metallb.io/v1beta1", "kind": "MetalLB",
            "metadata": {"name": "metallb", "namespace": "metallb-system"}, "spec": {"bgpBackend": "frr"}})
        self.nmstate.settle()
        self.nmstate.nodes.clear()
        self.nmstate.applied.clear()
        self.nmstate.errors.clear()
        self.pods.attempts.clear()
        self.proxy.clear()
