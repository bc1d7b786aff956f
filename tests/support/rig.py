"""The cluster the day-2 tests run on: the real control plane (tests/support/realcluster.py:
etcd, kube-apiserver, kube-controller-manager), three worker Nodes, the kubelet for hook pods
(tests/support/podrunner.py), nmstate's handler on node models
(tests/support/nmstatehandler.py), and the recording, fault-injecting proxy
(tests/support/proxy.py) that Helm, kubectl and the hook pods talk to.

One per pytest process (session scope, tests/conftest.py; under xdist, one per worker that
runs such a test, each on its own ports and folders): it takes about 25 s to start.
`reset()` puts it back as it started between tests: no release, no policy, nodes bare,
namespaces a test made deleted.

nmstate's own verdict on each desiredState goes through `rig.nmstate.check_desired_state`
(tests/support/nmstatehandler.py): None until the nmstate program of rig/rust is wired in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import nmstatecheck, realcluster
from tests.support.kubeclient import Client, Obj
from tests.support.nmstatehandler import ENACTMENTS, POLICIES, STATES, NmstateHandler
from tests.support.podrunner import PodRunner
from tests.support.proxy import Proxy

WORKER = "node-role.kubernetes.io/worker"
SERVICE_NETWORK = ["172.30.0.0/16"]
CLUSTER_NETWORK = ["10.132.0.0/14"]
# Namespaces the tests install into; metallb-system holds MetalLB's objects, openshift-frr-k8s
# FRR-K8s's on OpenShift (the verify Role there reads its BGPSessionStates).
NAMESPACES = ("test", "prod", "blue", "metallb-system", "openshift-frr-k8s", "ovn-kubernetes")
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
    "/apis/metallb.io/v1beta1/namespaces/{ns}/servicebgpstatuses",
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
        self.folder.mkdir(parents=True, exist_ok=True)
        self.client: Client = cluster.client()
        for index in range(3):
            cluster.add_node(f"worker-{index}", {WORKER: "", **({"vrf": "true"} if index == 0 else {})},
                             f"192.168.1.{10 + index}", f"10.132.{2 * index}.0/23")
        self.nodes = {n["metadata"]["name"]: n for n in self.client.items("/api/v1/nodes")}
        self.baseline = {n["metadata"]["name"] for n in self.client.items("/api/v1/namespaces")} | set(NAMESPACES)
        for namespace in NAMESPACES:
            self.client.call("POST", "/api/v1/namespaces",
                             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        # Helm and kubectl use a real bound token of a cluster-admin ServiceAccount, so that the
        # proxy can pass credentials through (a client certificate ends at the proxy's TLS).
        self.admin_token = cluster.admin_token(ADMIN)
        pki = cluster.pki
        self.proxy = Proxy(cluster.url, pki.ca_file, pki.server_cert, pki.server_key)
        self.kubeconfig = cluster.write_kubeconfig(self.folder / "proxy.kubeconfig", token=self.admin_token)
        text = self.kubeconfig.read_text().replace(cluster.url, self.proxy.url)
        self.kubeconfig.write_text(text)
        self.pods = PodRunner(cluster.client(), "127.0.0.1", self.proxy.port, self.folder / "pods")
        # every state passes the real nmstate first (rig/rust/nmstate-check): one it refuses
        # fails the enactment with nmstate's own error, as the handler reports it
        self.nmstate = NmstateHandler(cluster.client(), check_desired_state=nmstatecheck.refusal)
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
        # A namespace a test made goes whole (the namespace controller empties it first).
        extra = [n["metadata"]["name"] for n in client.items("/api/v1/namespaces")
                 if n["metadata"]["name"] not in self.baseline]
        for namespace in extra:
            client.call("DELETE", f"/api/v1/namespaces/{namespace}", missing_ok=True)
        end = time.monotonic() + 90
        while any(client.get(f"/api/v1/namespaces/{namespace}") for namespace in extra):
            assert time.monotonic() < end, f"namespaces {extra} not deleted in 90 s"
            time.sleep(0.2)
        for path in (POLICIES, ENACTMENTS, STATES):
            client.call("DELETE", path)
        for kind in ("clusterroles", "clusterrolebindings"):
            client.call("DELETE", f"/apis/rbac.authorization.k8s.io/v1/{kind}?labelSelector={HELM_LABEL}")
        # The release's admission policy is cluster-scoped too, and outlives a failed install.
        for kind in ("validatingadmissionpolicybindings", "validatingadmissionpolicies"):
            client.call("DELETE", f"/apis/admissionregistration.k8s.io/v1/{kind}?labelSelector={HELM_LABEL}")
        for namespace in NAMESPACES:
            for path in NAMESPACED:
                client.request("DELETE", path.format(ns=namespace) + "?propagationPolicy=Background&gracePeriodSeconds=0")
            for account in client.items(f"/api/v1/namespaces/{namespace}/serviceaccounts"):
                if account["metadata"]["name"] != "default":
                    client.call("DELETE", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account['metadata']['name']}",
                                missing_ok=True)
        self.load_nodes(list(self.nodes.values()))
        for name in ("kubeadm-config",):
            self.client.request("DELETE", f"/api/v1/namespaces/kube-system/configmaps/{name}")
        config, operator = openshift_networks(CLUSTER_NETWORK, SERVICE_NETWORK)
        # This CRD has no status subresource: the status is written with the object.
        self.put("/apis/config.openshift.io/v1/networks", config)
        self.put("/apis/operator.openshift.io/v1/networks", operator)
        self.put("/apis/metallb.io/v1beta1/namespaces/metallb-system/metallbs", {
            "apiVersion": "metallb.io/v1beta1", "kind": "MetalLB",
            "metadata": {"name": "metallb", "namespace": "metallb-system"}, "spec": {"bgpBackend": "frr"}})
        self.nmstate.settle()
        self.nmstate.forget()
        self.pods.attempts.clear()
        self.proxy.clear()

    def load_nodes(self, nodes: list[Obj]) -> None:
        """Exactly these Nodes (by name, labels, annotations, podCIDRs, addresses): missing
        ones registered, others deleted (their enactments and states go with them: the
        garbage collector follows their ownerReferences), the rest relabelled."""
        live = {n["metadata"]["name"]: n for n in self.client.items("/api/v1/nodes")}
        wanted = {n["metadata"]["name"]: n for n in nodes}
        for name in set(live) - set(wanted):
            self.client.call("DELETE", f"/api/v1/nodes/{name}")
            self.nmstate.nodes.pop(name, None)
        for name, node in sorted(wanted.items()):
            meta = node["metadata"]
            if name not in live:
                spec = node.get("spec") or {}
                address = next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                                if a["type"] == "InternalIP"), "192.168.1.10")
                self.cluster.add_node(name, meta.get("labels") or {}, address,
                                      (spec.get("podCIDRs") or ["10.132.0.0/23"])[0])
                live[name] = self.client.call("GET", f"/api/v1/nodes/{name}")
            have = live[name]["metadata"]
            patch = {part: {**{k: None for k in have.get(part) or {}}, **(meta.get(part) or {})}
                     for part in ("labels", "annotations")}
            self.client.call("PATCH", f"/api/v1/nodes/{name}", {"metadata": patch},
                             content_type="application/merge-patch+json")

    def await_rbac(self) -> None:
        """Returns once the API server's RBAC authorizer has seen every Role, ClusterRole and
        binding written so far. The authorizer reads them from informers, one per kind, each
        in order (plugin/pkg/auth/authorizer/rbac/rbac.go over client-go listers): a sentinel
        of each kind written now and seen allowing its one grant means all earlier writes of
        that kind are seen too (a removed rule no longer grants)."""
        self._sentinels = getattr(self, "_sentinels", 0) + 1
        name = f"rig-rbac-sync-{self._sentinels}"
        rbac = "/apis/rbac.authorization.k8s.io/v1"
        rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": [name]}
        subject = [{"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}]
        for scope, kind in (("", "ClusterRole"), ("/namespaces/test", "Role")):
            plural = kind.lower() + "s"
            self.client.call("POST", f"{rbac}{scope}/{plural}", {
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
                "rules": [rule]})
            self.client.call("POST", f"{rbac}{scope}/{kind.lower()}bindings", {
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": f"{kind}Binding", "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
                "subjects": subject})
        for namespace in ("kube-system", "test"):  # the ClusterRole's grant, then the Role's
            end = time.monotonic() + 30
            while not self.allowed(name, "get", "", "configmaps", namespace, name):
                assert time.monotonic() < end, "the RBAC authorizer did not catch up in 30 s"
                time.sleep(0.05)
        for scope, kind in (("", "clusterrole"), ("/namespaces/test", "role")):
            self.client.call("DELETE", f"{rbac}{scope}/{kind}bindings/{name}")
            self.client.call("DELETE", f"{rbac}{scope}/{kind}s/{name}")

    def allowed(self, user: str, verb: str, group: str, resource: str, namespace: str = "", name: str = "",
                groups: tuple[str, ...] = ()) -> bool:
        """The real authorizer's answer (SubjectAccessReview, as the admin)."""
        review = self.client.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": list(groups), "resourceAttributes": {
                "verb": verb, "group": group, "resource": resource, "namespace": namespace, "name": name}}})
        return bool(review["status"].get("allowed"))
