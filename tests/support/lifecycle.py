"""A cluster for the lifecycle tests: the API stand-in (tests/support/kubeapi.py) served on
127.0.0.1, its Job runner and nmstate (tests/support/controllers.py), a kubeconfig for the
real `helm` binaries, and what each node should carry given the installed releases' values.
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

from tests.support import clusters, helm
from tests.support.apiserver import Tls, write_kubeconfig
from tests.support.controllers import JobRunner, Nmstate
from tests.support.kubeapi import KubeApi, Obj, ServedApi
from tests.support.nodestate import Node

ADMIN_TOKEN = "lifecycle-admin-token"
SERVICE_NETWORK = ["172.30.0.0/16"]
CLUSTER_NETWORK = ["10.132.0.0/14"]
# Helm waits this long for a hook (--timeout); the hooks' own cleanup waits are the schema's
# least, 30 s, so a hang fails a test in well under two minutes.
HELM_TIMEOUT = "90s"
WORKER = "node-role.kubernetes.io/worker"
# The flag that rolls a failed upgrade back (and implies --wait): Helm 3's --atomic, renamed
# --rollback-on-failure in Helm 4 (helm v4.1.4 pkg/cmd/upgrade.go).
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


@dataclass
class Cluster:
    """Three workers: worker-0 carries vrf=true (the documentation's node), all three the
    worker role (the per-node tables' selector)."""

    folder: Path
    tls: Tls
    api: KubeApi = field(init=False)
    installed: dict[str, Release] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = KubeApi(token=ADMIN_TOKEN)
        nodes = [clusters.node(f"worker-{i}", {WORKER: "", **({"vrf": "true"} if i == 0 else {})}) for i in range(3)]
        self.api.load(clusters.openshift(service=SERVICE_NETWORK, cluster=CLUSTER_NETWORK, nodes=nodes))
        for namespace in ("test", "prod"):
            self.api.put_object(self.api.kind_of("", "namespaces"),
                                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        self.served = ServedApi(self.api, self.tls)
        self.jobs = JobRunner(self.api, self.served, self.folder / "pods")
        self.nmstate = Nmstate(self.api)
        self.kubeconfig = write_kubeconfig(self.folder / "kubeconfig", self.served.url, self.tls, ADMIN_TOKEN)

    def stop(self) -> None:
        self.served.stop()

    def values(self, name: str, values: dict[str, Any]) -> Path:
        path = self.folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        return path

    def start_helm(self, version: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(helm.helm_binary(version)), *args, "--kubeconfig", str(self.kubeconfig)],
                                cwd=helm.CHART, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={"PATH": "/usr/bin:/bin", "HOME": str(self.folder),
                                     "HELM_CACHE_HOME": str(self.folder / "helm-cache"),
                                     "HELM_CONFIG_HOME": str(self.folder / "helm-config"),
                                     "HELM_DATA_HOME": str(self.folder / "helm-data")})

    def finish(self, process: subprocess.Popen[str], args: tuple[str, ...]) -> Step:
        output, _ = process.communicate(timeout=600)
        self.nmstate.settle()
        step = Step(args, process.returncode, output)
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
            result = helm.template("helm3", [release.values], release=release.name, namespace=release.namespace)
            assert result.returncode == 0, result.stderr
            for doc in result.documents:
                if "helm.sh/hook" in (doc["metadata"].get("annotations") or {}):
                    continue
                kind = self.api.kind_of(doc["apiVersion"].rpartition("/")[0], _plural(self.api, doc))
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
        assert sorted(live) == sorted(declared), f"{label}: live objects differ from the values\n{self.log()}"
        for key, doc in declared.items():
            want = {k: v for k, v in doc.items() if k not in ("metadata", "status", "apiVersion")}
            have = {k: v for k, v in live[key].items() if k not in ("metadata", "status", "apiVersion")}
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
        lines = [f"$ helm {' '.join(s.args)}  -> {s.returncode}\n{s.output[-1500:]}" for s in self.steps]
        lines += [f"refused: {r.method} {r.path} -> {r.code}" for r in self.api.requests
                  if r.method != "GET" and r.code >= 400 and not (r.method == "DELETE" and r.code == 404)]
        for (namespace, job), attempts in self.jobs.attempts.items():
            for attempt in attempts:
                lines.append(f"pod of job {namespace}/{job} -> {attempt.returncode}\n{attempt.output[-1500:]}")
        return "\n".join(lines)


def _plural(api: KubeApi, doc: Obj) -> str:
    group = doc["apiVersion"].rpartition("/")[0]
    return next(k.resource for k in api.kinds if k.group == group and k.kind == doc["kind"])


def wait_for(condition: Any, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)
