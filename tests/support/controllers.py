"""The controllers a cluster runs beside the API, for the lifecycle tests: a Job runner that
executes a hook Job's container the way its pod would, and kubernetes-nmstate applying
policies to a model of each node (tests/support/nodestate.py).

Both subscribe to the stand-in's changes (tests/support/kubeapi.py, KubeApi.watchers) and
handle them one at a time on their own thread, as a controller's work queue does.
"""

from __future__ import annotations

import copy
import os
import queue
import secrets
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.kubeapi import Kind, KubeApi, Obj, ServedApi, now
from tests.support.nmstate import enactment
from tests.support.nmstatecheck import check_desired_state
from tests.support.nodestate import Node

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass
class Attempt:
    """One pod of a Job: its exit code and what it printed."""

    returncode: int
    output: str


@dataclass
class JobRunner:
    """Runs each Job created in the stand-in as its pod would, then writes the Job's status as
    the Job controller does.

    The pod (k8s.io/api core/v1 PodSpec, the first container): the command and args, the
    container's env, KUBERNETES_SERVICE_HOST/PORT naming the API (kubelet
    pkg/kubelet/kubelet_pods.go, getServiceEnvVarMap, for the default "kubernetes" Service),
    the items of each ConfigMap volume at its mountPath (kubelet volume/configmap:
    each key at its path; without items every key), and with automountServiceAccountToken the
    token, ca.crt and namespace at /var/run/secrets/kubernetes.io/serviceaccount
    (plugin/pkg/admission/serviceaccount/admission.go mounts the projected volume there). The
    mounts are real: the command runs under `unshare --mount --map-root-user` with each
    volume bind-mounted at its path, read-only when the mount says so. `python3` is the
    suite's own interpreter. A ServiceAccount that does not exist gets no pod (the admission
    plugin refuses it), so the Job never finishes.

    The status (pkg/controller/job/job_controller.go): a pod that exits 0 completes the Job:
    conditions SuccessCriteriaMet and Complete, succeeded 1. A failed pod is retried until
    more than spec.backoffLimit have failed, then FailureTarget and Failed with reason
    BackoffLimitExceeded; past spec.activeDeadlineSeconds the pod is killed and the Job
    fails with DeadlineExceeded.
    """

    api: KubeApi
    served: ServedApi
    workdir: Path
    # (namespace, job name) -> every attempt, in order; kept after Helm deletes the Job.
    attempts: dict[tuple[str, str], list[Attempt]] = field(default_factory=dict)
    _running: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bin = self.workdir / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        python = self.bin / "python3"
        if not python.exists():
            python.symlink_to(sys.executable)
        self.api.watchers.append(self._changed)

    def _changed(self, event: str, kind: Kind, obj: Obj) -> None:
        if kind.kind != "Job":
            return
        if event == "ADDED":
            thread = threading.Thread(target=self._run, args=(kind, obj), daemon=True)
            self._threads.append(thread)
            thread.start()
        elif event == "DELETED":
            # Helm deletes a hook Job (policy or timeout): its pod goes with it.
            process = self._running.pop(obj["metadata"]["uid"], None)
            if process is not None:
                process.kill()

    def wait_idle(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, end - time.monotonic()))

    def _run(self, kind: Kind, job: Obj) -> None:
        meta, spec = job["metadata"], job["spec"]
        namespace, name = meta["namespace"], meta["name"]
        pod = spec["template"]["spec"]
        account = pod.get("serviceAccountName") or "default"
        if account != "default" and self.api.get("", "serviceaccounts", namespace, account) is None:
            return
        started = time.monotonic()
        deadline = spec.get("activeDeadlineSeconds")
        self._status(kind, job, {"startTime": now(), "active": 1})
        failed, log = 0, self.attempts.setdefault((namespace, name), [])
        while True:
            remaining = None if deadline is None else deadline - (time.monotonic() - started)
            attempt = self._pod(job, pod, account, remaining)
            log.append(attempt)
            if self.api.get(kind.group, kind.resource, namespace, name) is None:
                return
            if attempt.returncode == 0:
                condition = {"status": "True", "lastProbeTime": now(), "lastTransitionTime": now()}
                self._status(kind, job, {"startTime": now(), "completionTime": now(), "succeeded": 1, "failed": failed,
                                         "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                                         "conditions": [{**condition, "type": "SuccessCriteriaMet",
                                                         "reason": "CompletionsReached",
                                                         "message": "Reached expected number of succeeded pods"},
                                                        {**condition, "type": "Complete", "reason": "CompletionsReached",
                                                         "message": "Reached expected number of succeeded pods"}]})
                return
            failed += 1
            timed_out = attempt.returncode == -9 and deadline is not None
            if timed_out or failed > int(spec.get("backoffLimit", 6)):
                reason = "DeadlineExceeded" if timed_out else "BackoffLimitExceeded"
                message = ("Job was active longer than specified deadline" if timed_out
                           else "Job has reached the specified backoff limit")
                condition = {"status": "True", "lastProbeTime": now(), "lastTransitionTime": now(), "reason": reason,
                             "message": message}
                self._status(kind, job, {"startTime": now(), "failed": failed, "ready": 0, "terminating": 0,
                                         "conditions": [{**condition, "type": "FailureTarget"},
                                                        {**condition, "type": "Failed"}]})
                return
            self._status(kind, job, {"startTime": now(), "active": 1, "failed": failed})

    def _status(self, kind: Kind, job: Obj, status: Obj) -> None:
        meta = job["metadata"]
        if self.api.get(kind.group, kind.resource, meta["namespace"], meta["name"]) is not None:
            self.api.put_object(kind, {"metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                                       "status": status}, status_only=True)

    def _pod(self, job: Obj, pod: Obj, account: str, remaining: float | None) -> Attempt:
        namespace, uid = job["metadata"]["namespace"], job["metadata"]["uid"]
        folder = self.workdir / f"{job['metadata']['name']}-{uid[:8]}-{time.monotonic_ns()}"
        mounts: list[tuple[Path, str, bool]] = []
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        container = pod["containers"][0]
        for mount in container.get("volumeMounts") or []:
            volume = volumes[mount["name"]]
            source = folder / "volumes" / mount["name"]
            if "configMap" in volume:
                config_map = self.api.get("", "configmaps", namespace, volume["configMap"]["name"]) or {}
                data = config_map.get("data") or {}
                items = volume["configMap"].get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    target = source / item["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(data[item["key"]])
            else:
                raise NotImplementedError(f"volume {mount['name']}: only ConfigMap volumes are run here")
            mounts.append((source, mount["mountPath"], bool(mount.get("readOnly"))))
        if pod.get("automountServiceAccountToken", True):
            token = secrets.token_hex(16)
            self.api.service_tokens[token] = f"system:serviceaccount:{namespace}:{account}"
            account_dir = folder / "serviceaccount"
            account_dir.mkdir(parents=True)
            (account_dir / "token").write_text(token)
            (account_dir / "ca.crt").write_bytes(self.served.tls.ca_file.read_bytes())
            (account_dir / "namespace").write_text(namespace)
            mounts.append((account_dir, SERVICE_ACCOUNT_DIR, True))
        env = {"PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin", "HOSTNAME": job["metadata"]["name"], "HOME": "/",
               "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.served.port)}
        env.update({e["name"]: e.get("value", "") for e in container.get("env") or []})
        script = ["set -e"]
        for top in sorted({_cover(path) for _, path, _ in mounts}):
            script.append(f"mount -t tmpfs tmpfs {shlex.quote(top)}")
        for source, path, read_only in mounts:
            script += [f"mkdir -p {shlex.quote(path)}", f"mount --bind {shlex.quote(str(source))} {shlex.quote(path)}"]
            if read_only:
                script.append(f"mount -o remount,bind,ro {shlex.quote(path)}")
        script += [f"cd {shlex.quote(container.get('workingDir') or '/')}", 'exec "$@"']
        command = [*(container.get("command") or []), *(container.get("args") or [])]
        process = subprocess.Popen(["unshare", "--mount", "--map-root-user", "sh", "-c", "\n".join(script), "pod", *command],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._running[uid] = process
        try:
            output, _ = process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        finally:
            self._running.pop(uid, None)
        return Attempt(process.returncode, output)


def _cover(path: str) -> str:
    """The folder a tmpfs goes on so that `path` can be made inside the mount namespace: the
    deepest folder that exists above it (the host's copy is hidden only in the pod's view).
    Never / and never a folder holding the interpreter."""
    real = Path(os.path.realpath(path))
    existing = real
    while not existing.exists():
        existing = existing.parent
    if existing == real:
        return str(real) if real.is_dir() else str(real.parent)
    top = existing if existing != Path("/") else Path("/", real.parts[1])
    interpreter = Path(os.path.realpath(sys.executable))
    if top == Path("/") or interpreter.is_relative_to(top):
        raise RuntimeError(f"cannot mount {path}: it would hide {top}")
    return str(top)


@dataclass
class Nmstate:
    """kubernetes-nmstate, for the lifecycle tests (controllers/handler/
    nodenetworkconfigurationpolicy_controller.go, Reconcile): each change of a policy's
    generation is applied on every node its nodeSelector matches (nodes listed from the API),
    each node reporting in its enactment `<node>.<policy>` (api/v1beta1/
    nodenetworkconfigurationenactment_types.go, NewEnactment: labels nmstate.io/policy and
    nmstate.io/node) the generation and whether it applied. A node the policy stops
    selecting loses its enactment and keeps its state; a deleted policy's enactments are
    deleted, and nothing on the nodes changes. A desiredState the node cannot take (a VRF
    moved to another table) fails on that node and leaves it as it was: nmstate rolls back
    (nmstatectl's checkpoint).
    """

    api: KubeApi
    nodes: dict[str, Node] = field(default_factory=dict)
    # Every policy generation applied, in order: (policy name, generation, nodes).
    applied: list[tuple[str, int, list[str]]] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)
    _queue: queue.Queue[tuple[str, Obj]] = field(default_factory=queue.Queue)
    _busy: int = 0
    # Reconciles that raised: a test asserts there are none.
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self.api.watchers.append(self._changed)
        threading.Thread(target=self._work, daemon=True).start()

    def _changed(self, event: str, kind: Kind, obj: Obj) -> None:
        if kind.kind != "NodeNetworkConfigurationPolicy":
            return
        name = obj["metadata"]["name"]
        generation = int(obj["metadata"].get("generation", 1))
        with self._lock:
            if event == "DELETED":
                self._seen.pop(name, None)
            elif generation <= self._seen.get(name, 0):
                return
            else:
                self._seen[name] = generation
            self._busy += 1
        self._queue.put((event, obj))

    def settle(self, timeout: float = 30) -> None:
        """Waits until every change seen so far is handled."""
        with self._lock:
            self._lock.wait_for(lambda: self._busy == 0, timeout)

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

    def _reconcile(self, event: str, policy: Obj) -> None:
        name = policy["metadata"]["name"]
        enactments = self.api.kind_of("nmstate.io", "nodenetworkconfigurationenactments")
        mine = {e["metadata"]["labels"]["nmstate.io/node"]: e for e in self.api.list("nmstate.io", enactments.resource)
                if (e["metadata"].get("labels") or {}).get("nmstate.io/policy") == name}
        if event == "DELETED":
            for node in mine:
                self.api.remove_object(enactments, "", f"{node}.{name}")
            return
        current = self.api.get("nmstate.io", "nodenetworkconfigurationpolicies", "", name)
        if current is None or int(current["metadata"]["generation"]) != int(policy["metadata"]["generation"]):
            return  # a newer generation is queued, or the policy is gone
        selector = (policy.get("spec") or {}).get("nodeSelector") or {}
        selected = [n["metadata"]["name"] for n in self.api.list("", "nodes")
                    if all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())]
        generation = int(policy["metadata"]["generation"])
        for node in set(mine) - set(selected):
            self.api.remove_object(enactments, "", f"{node}.{name}")
        desired = policy["spec"].get("desiredState") or {}
        # nmstate's own verdict first (rig/rust/nmstate-check): a state it refuses fails on
        # every node with nmstate's message and changes nothing, as the handler reports it.
        verdict = check_desired_state(desired)
        for node in selected:
            state = copy.deepcopy(self.nodes.get(node) or Node())
            outcome = "fail"
            if verdict.ok:
                try:
                    state.apply(desired)
                    outcome = "apply"
                    self.nodes[node] = state
                except ValueError:
                    pass
            record = (enactment(node, name, generation, outcome) if verdict.ok
                      else enactment(node, name, generation, outcome, verdict.error))
            record["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node,
                                                      "uid": f"uid-{node}"}]
            self.api.put_object(enactments, record)
        self.applied.append((name, generation, selected))
        kind = self.api.kind_of("nmstate.io", "nodenetworkconfigurationpolicies")
        self.api.put_object(kind, {"metadata": {"name": name}, "status": {"conditions": [
            {"type": "Available", "status": "True", "reason": "SuccessfullyConfigured", "lastTransitionTime": now()},
            {"type": "Degraded", "status": "False", "lastTransitionTime": now()}]}}, status_only=True)
