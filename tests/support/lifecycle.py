"""A cluster for the lifecycle tests: the real control plane with the hook pods' kubelet and
nmstate's handler (tests/support/rig.py), a kubeconfig for the real `helm` binaries (through
the recording proxy), and what each node should carry given the installed releases' values.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support import helm
from tests.support.kubeclient import Client, Obj
from tests.support.nodestate import Node
from tests.support.rig import CLUSTER_NETWORK, SERVICE_NETWORK, WORKER, Rig

# Helm waits this long for a hook (--timeout); the hooks' own cleanup waits are the schema's
# least, 30 s, so a hang fails a test in well under two minutes.
HELM_TIMEOUT = "90s"
WORKER = "node-role.kubernetes.io/worker"
# The flag that rolls a failed upgrade back (and implies --wait): Helm 3's --atomic, renamed
# --rollback-on-failure in Helm 4 (helm v4.1.4 pkg/cmd/upgrade.go).
# What the rig's kube-apiserver serves that `helm template` must be told (Helm reads it from
# discovery on install): the hooks' admission policy kinds.
ADMISSION_API_VERSIONS = ("--api-versions", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy",
                          "--api-versions", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding")
ROLLBACK_ON_FAILURE = {"helm3": "--atomic", "helm4": "--rollback-on-failure"}

# The documentation's example (ci/seed-values.yaml), with the cleanup's wait at its least.
SEED: dict[str, Any] = yaml.safe_load((helm.CHART / "ci" / "seed-values.yaml").read_text())
SEED["cleanup"] = {"timeoutSeconds": 30}

# A second tenant on the same node: its own VRF, port, table, peer, pool and service, the same
# cluster networks (so the same main-table route rules as the first).
TENANT_B: dict[str, Any] = {
    "cluster": copy.deepcopy(SEED["cluster"]),
    "cleanup": {"timeoutSeconds": 30},
    "vrfs": {"ens5vrf": {
        "tableId": 3,
        "policy": {"name": "ens5policy", "nodeSelector": {"vrf": "true"}},
        "ports": {"ens5": {"ipv4": ["192.168.140.130/24"]}},
        "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": "192.168.140.1", "metric": 150}],
        "bgpPeers": {"peer-b": {"name": "frrviavrf-b", "nodeSelectors": [], "myASN": 100, "peerASN": 300,
                                "peerAddress": "192.168.140.1"}},
        "addressPools": {"pool-b": {"name": "second-pool", "addresses": ["192.169.20.0/32"]}},
        "bgpAdvertisements": {"adv-b": {"name": "second-adv"}},
        "egressServices": {"server2": {}},
    }},
}


@dataclass
class Release:
    name: str
    namespace: str
    values: Path


@dataclass
class Step:
    """One helm command and what it printed."""

    args: tuple[str, ...]
    returncode: int
    output: str
    seconds: float = 0.0


@dataclass(frozen=True)
class Kind:
    """A served resource, from discovery."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    status_subresource: bool


class RealApi:
    """The real server, for a test's own reads and writes (as the admin, straight to the
    server), with the proxy's record of what Helm, kubectl and the hooks sent (`requests`)
    and its `gates`. `handle` sends a request through the proxy, as a client would."""

    def __init__(self, rig: Rig) -> None:
        self.rig, self.client = rig, rig.client
        self.token = rig.admin_token
        self.requests = rig.proxy.requests
        self.gates = rig.proxy.gates
        self.kinds = discover(rig.client)
        self._defaulted: dict[str, Obj] = {}

    def kind_of(self, group: str, resource: str) -> Kind:
        return next(k for k in self.kinds if k.group == group and k.resource == resource)

    def kind_named(self, group: str, kind: str) -> Kind:
        return next(k for k in self.kinds if k.group == group and k.kind == kind)

    def path(self, kind: Kind, namespace: str | None = None, name: str = "") -> str:
        base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        if kind.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        return f"{base}/{kind.resource}" + (f"/{name}" if name else "")

    def get(self, group: str, resource: str, namespace: str, name: str) -> Obj | None:
        return self.client.get(self.path(self.kind_of(group, resource), namespace, name))

    def list(self, group: str, resource: str, namespace: str | None = None) -> list[Obj]:
        return self.client.items(self.path(self.kind_of(group, resource), namespace))

    def put_object(self, kind: Kind, obj: Obj, *, status_only: bool = False) -> Obj:
        """Creates or replaces an object; its status too, where that is a subresource."""
        meta = obj["metadata"]
        path = self.path(kind, meta.get("namespace"))
        live = self.client.get(f"{path}/{meta['name']}")
        obj = {"apiVersion": f"{kind.group}/{kind.version}".lstrip("/"), "kind": kind.kind, **obj}
        if live is None and not status_only:
            stored = dict(self.client.call("POST", path, obj))
        else:
            assert live is not None, f"{kind.kind} {meta['name']} does not exist"
            stored = live if status_only else dict(self.client.call("PUT", f"{path}/{meta['name']}", {
                **obj, "metadata": {**meta, "resourceVersion": live["metadata"]["resourceVersion"]}}))
        if kind.status_subresource and "status" in obj:
            stored = dict(self.client.call("PUT", f"{path}/{meta['name']}/status", {**stored, "status": obj["status"]}))
        return stored

    def defaulted(self, doc: Obj, namespace: str) -> Obj:
        """`doc` as the server would store it, defaults filled in (the CRDs' schema defaults,
        a Service's): a dry-run create (?dryRun=All) under another name, answered once."""
        key = json.dumps([doc, namespace], sort_keys=True)
        if key not in self._defaulted:
            kind = self.kind_named(doc["apiVersion"].rpartition("/")[0], doc["kind"])
            meta = {**doc["metadata"], "name": doc["metadata"]["name"] + "-dry-run"}
            if kind.namespaced:
                meta["namespace"] = namespace
            self._defaulted[key] = dict(self.client.call("POST", self.path(kind, namespace) + "?dryRun=All",
                                                         {**doc, "metadata": meta}))
        return self._defaulted[key]

    def load(self, routes: dict[str, Any]) -> None:
        """A cluster's facts (tests/support/clusters.py routes) put on the real server:
        its Nodes, OpenShift's Network objects and the MetalLB object. Discovery documents and
        CRDs are the real server's own; anything else is refused loudly."""
        for path, value in routes.items():
            if path == "/api/v1/nodes":
                self.rig.load_nodes(value)
            elif path.endswith("/networks/cluster") or path.endswith("/metallbs"):
                for obj in value if isinstance(value, list) else [value]:
                    group, version = obj["apiVersion"].split("/")
                    resource = path.rsplit("/", 2)[-2] if path.endswith("/cluster") else "metallbs"
                    self.put_object(self.kind_of(group, resource), obj)
            elif value == [] or path.startswith("/apis/apiextensions.k8s.io/") or (
                    isinstance(value, dict) and value.get("kind") == "APIResourceList"):
                continue
            else:
                raise NotImplementedError(f"{path}: not a fact the rig can load")

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """One request through the proxy with these headers: (status code, decoded answer)."""
        proxied = Client(self.rig.proxy.url, self.rig.cluster.ssl_context(client_cert=False),
                         token=headers.get("Authorization", "").removeprefix("Bearer ") or None)
        return proxied.request(method, path, body, content_type=headers.get("Content-Type", "application/json"))


def discover(client: Client) -> list[Kind]:
    """Every resource the server serves, each at the first of its group's versions (the
    preferred first) that serves it: metallb.io prefers v1beta2, which has only BGPPeer."""
    versions = [("", "v1")]
    for group in client.call("GET", "/apis")["groups"]:
        preferred = group["preferredVersion"]["version"]
        versions += [(group["name"], v) for v in [preferred] + [v["version"] for v in group["versions"]
                                                                if v["version"] != preferred]]
    found: dict[tuple[str, str], Kind] = {}
    for group, version in versions:
        resources = client.call("GET", f"/apis/{group}/{version}" if group else "/api/v1")["resources"]
        subresources = {r["name"] for r in resources if "/" in r["name"]}
        for r in resources:
            if "/" not in r["name"] and "list" in r.get("verbs", []):
                found.setdefault((group, r["name"]), Kind(group, version, r["name"], r["kind"], r["namespaced"],
                                                          f"{r['name']}/status" in subresources))
    return list(found.values())


@dataclass
class Cluster:
    """Three workers: worker-0 carries vrf=true (the documentation's node), all three the
    worker role (the per-node tables' selector). Runs on the session's rig, reset first."""

    folder: Path
    rig: Rig
    installed: dict[str, Release] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rig.reset()
        self.api = RealApi(self.rig)
        self.jobs = self.rig.pods
        self.nmstate = self.rig.nmstate
        self.kubeconfig = self.rig.kubeconfig
        # For a client run by a test (symrouting's CLI): the proxy's URL and the server's CA.
        self.server_url = self.rig.proxy.url
        self.ca_file = self.rig.cluster.pki.ca_file

    def stop(self) -> None:
        """Nothing of a test stays for the next (which resets the rig first)."""

    def values(self, name: str, values: dict[str, Any]) -> Path:
        path = self.folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        return path

    def start_helm(self, version: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(helm.helm_binary(version)), *args, "--kubeconfig", str(self.kubeconfig)],
                                cwd=helm.CHART, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={"PATH": "/usr/bin:/bin", "HOME": str(self.folder), **helm.GO_GC,
                                     "HELM_CACHE_HOME": str(self.folder / "helm-cache"),
                                     "HELM_CONFIG_HOME": str(self.folder / "helm-config"),
                                     "HELM_DATA_HOME": str(self.folder / "helm-data")})

    def finish(self, process: subprocess.Popen[str], args: tuple[str, ...]) -> Step:
        began = time.monotonic()
        output, _ = process.communicate(timeout=600)
        self.nmstate.settle()
        step = Step(args, process.returncode, output, time.monotonic() - began)
        if process.returncode:
            step.output += "\n" + self.log()
        self.steps.append(step)
        return step

    def helm(self, version: str, *args: str) -> Step:
        return self.finish(self.start_helm(version, *args), args)

    def install(self, version: str, release: str, namespace: str, values: dict[str, Any]) -> Step:
        path = self.values(f"{release}-{len(self.steps)}", values)
        step = self.helm(version, "install", release, ".", "-n", namespace, "-f", str(path), "--timeout", HELM_TIMEOUT)
        if step.returncode == 0:
            self.installed[release] = Release(release, namespace, path)
        return step

    def upgrade(self, version: str, release: str, values: dict[str, Any], *flags: str) -> Step:
        path = self.values(f"{release}-{len(self.steps)}", values)
        namespace = self.installed[release].namespace
        step = self.helm(version, "upgrade", release, ".", "-n", namespace, "-f", str(path), "--timeout", HELM_TIMEOUT,
                         *flags)
        if step.returncode == 0:
            self.installed[release] = Release(release, namespace, path)
        return step

    def uninstall_args(self, release: str) -> tuple[str, ...]:
        return ("uninstall", release, "-n", self.installed[release].namespace, "--timeout", HELM_TIMEOUT)

    def node_labels(self) -> dict[str, dict[str, str]]:
        return {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in self.api.list("", "nodes")}

    def declared(self) -> dict[tuple[str, str, str, str], Obj]:
        """The objects the installed releases' values render (`helm template`, the same chart),
        hooks left out, by (kind, namespace, name, release)."""
        found = {}
        for release in sorted(self.installed.values(), key=lambda r: r.name):
            # as `helm install` renders against this server: it serves ValidatingAdmissionPolicy,
            # so the release carries its admission policy (symmetric-routing.hookAdmission)
            result = helm.template("helm3", [release.values], release=release.name, namespace=release.namespace,
                                   extra=ADMISSION_API_VERSIONS)
            assert result.returncode == 0, result.stderr
            for doc in result.documents:
                if "helm.sh/hook" in (doc["metadata"].get("annotations") or {}):
                    continue
                kind = self.api.kind_named(doc["apiVersion"].rpartition("/")[0], doc["kind"])
                namespace = doc["metadata"].get("namespace", release.namespace) if kind.namespaced else ""
                found[(doc["kind"], namespace, doc["metadata"]["name"], release.name)] = doc
        return found

    def declared_policies(self) -> list[Obj]:
        return [d for (kind, *_), d in sorted(self.declared().items()) if kind == "NodeNetworkConfigurationPolicy"]

    def released(self) -> dict[tuple[str, str, str, str], Obj]:
        """The live objects Helm keeps for a release (meta.helm.sh/release-name, Helm's
        ownership annotation: helm pkg/action/validate.go), of every kind the chart renders."""
        found = {}
        for kind in self.api.kinds:
            if kind.resource in UNRELEASED:
                continue
            for obj in self.api.list(kind.group, kind.resource):
                release = (obj["metadata"].get("annotations") or {}).get("meta.helm.sh/release-name")
                if release and "helm.sh/hook" not in (obj["metadata"].get("annotations") or {}):
                    found[(kind.kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], release)] = obj
        return found

    def expected_nodes(self) -> dict[str, Any]:
        """What each node carries when it has applied exactly the declared policies that select it."""
        declared = self.declared_policies()
        expected = {}
        for name, labels in self.node_labels().items():
            node = Node()
            for policy in declared:
                if all(labels.get(k) == v for k, v in (policy["spec"].get("nodeSelector") or {}).items()):
                    node.apply(policy["spec"]["desiredState"])
            expected[name] = node.managed()
        return expected

    def actual_nodes(self) -> dict[str, Any]:
        return {name: self.nmstate.nodes.get(name, Node()).managed() for name in self.node_labels()}

    def live_policies(self) -> dict[str, Obj]:
        return {p["metadata"]["name"]: p["spec"] for p in self.api.list("nmstate.io", "nodenetworkconfigurationpolicies")}

    def check_objects(self, label: str) -> None:
        """Every object the installed releases declare is live with exactly the declared
        content and labels, and nothing of any release is left that its values do not declare."""
        declared, live = self.declared(), self.released()
        assert sorted(live) == sorted(declared), (
            f"{label}: live objects differ from the values: only live {sorted(set(live) - set(declared))}, "
            f"only declared {sorted(set(declared) - set(live))}\n{self.log()}")
        for key, doc in declared.items():
            want = content(self.api.defaulted(doc, key[1]), key[0])
            have = content(live[key], key[0])
            assert have == want, f"{label}: {key} is {json.dumps(have)}, declared {json.dumps(want)}\n{self.log()}"
            assert live[key]["metadata"].get("labels") == doc["metadata"].get("labels"), f"{label}: labels of {key}"

    def check(self, label: str) -> None:
        """After a step: every node carries exactly what the installed releases declare, and
        the live policies hold exactly the declared ones (no leftover removal state)."""
        assert not self.nmstate.errors, self.nmstate.errors
        declared = {p["metadata"]["name"]: p["spec"] for p in self.declared_policies()}
        live = self.live_policies()
        wrong = {name: {"live": live.get(name), "declared": declared.get(name)}
                 for name in sorted(set(live) | set(declared)) if live.get(name) != declared.get(name)}
        assert not wrong, f"{label}: the live policies differ from the values: {json.dumps(wrong)}\n{self.log()}"
        actual, expected = self.actual_nodes(), self.expected_nodes()
        nodes = {name: {"actual": actual[name], "expected": expected[name]} for name in actual
                 if actual[name] != expected[name]}
        assert not nodes, f"{label}: nodes differ from the values: {nodes}\n{self.log()}"
        self.check_objects(label)

    def log(self) -> str:
        """The helm commands and hook pods so far, for a failure message."""
        lines = [f"$ helm {' '.join(s.args)}  -> {s.returncode} ({s.seconds:.1f} s)\n{s.output[-1500:]}" for s in self.steps]
        lines += [f"refused: {r.user}: {r.method} {r.path} -> {r.code}" for r in self.api.requests
                  if r.method != "GET" and r.code >= 400 and not (r.method == "DELETE" and r.code == 404)]
        for (namespace, job), attempts in self.jobs.attempts.items():
            for attempt in attempts:
                lines.append(f"pod of job {namespace}/{job} -> {attempt.returncode}\n{attempt.output[-1500:]}")
        return "\n".join(lines)


def content(obj: Obj, kind: str) -> Obj:
    """An object but its metadata, status, type (a list's items of a built-in kind carry
    none) and the addresses the server allocates."""
    found = {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
    if kind == "Service":  # pkg/registry/core/service: allocated on create
        found["spec"] = {k: v for k, v in found["spec"].items() if k not in ("clusterIP", "clusterIPs")}
        found["spec"]["ports"] = [{k: v for k, v in p.items() if k != "nodePort"} for p in found["spec"]["ports"]]
    return found


# Kinds no release renders (and that are many, or not readable as a list): not searched for
# a release's leftovers.
UNRELEASED = {"events", "componentstatuses", "bindings", "tokenreviews", "selfsubjectreviews",
              "endpointslices", "endpoints", "apiservices", "flowschemas", "prioritylevelconfigurations"}
