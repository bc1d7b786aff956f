"""The kubelet, for the hook pods only: watches the Pods the real Job controller creates,
runs each one's container as a process and writes the Pod's status back, so that the real
Job controller marks the Job Complete or Failed and Helm's wait sees it.

What it does, after the kubelet (kubernetes v1.36.3):
- binds an unscheduled pod to the first node, as the scheduler does (POST pods/<name>/binding);
- volumes (pkg/volume/configmap/configmap.go, pkg/volume/projected/projected.go): a
  configMap volume holds its items (every key without items) read from the API; the
  projected service-account volume the ServiceAccount admission plugin adds holds a token
  from the TokenRequest API bound to the pod (pkg/kubelet/token/token_manager.go: audiences
  and expirationSeconds of the source, boundObjectRef the Pod), the kube-root-ca.crt
  ConfigMap's ca.crt and the namespace (downwardAPI metadata.namespace); emptyDir is an empty
  folder. Each is bind-mounted at its mountPath (read-only when the mount says so) in a mount
  namespace of its own: `unshare --mount --map-root-user`;
- environment (pkg/kubelet/kubelet_pods.go, makeEnvironmentVariables): the container's env,
  value or fieldRef, after KUBERNETES_SERVICE_HOST/PORT, which name the API server here
  (127.0.0.1 and its port; the kubelet gives the `kubernetes` Service's ClusterIP, which
  nothing here routes);
- status (pkg/kubelet/status/status_manager.go patches pods/status): Running with the
  container running, then Succeeded or Failed with the container terminated, its exitCode and
  reason Completed or Error (pkg/kubelet/kuberuntime/kuberuntime_container.go); the
  termination message falls back to the log's tail under FallbackToLogsOnError;
- a pod given a deletionTimestamp (the Job deleted, or its activeDeadlineSeconds passed) has
  its process killed and is then deleted with grace period 0, as the status manager does once
  the containers are gone;
- a container killed under a running pod (an OOM kill, a node that reboots: a test arms it
  with `kill_first`) is reported as the kubelet reports a SIGKILLed container: terminated,
  exit code 137 (128 + 9), reason Error; the Job controller then fails the pod.

`python3` in a command is the suite's own interpreter.
"""

from __future__ import annotations

import base64
import datetime
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.kubeclient import Client, Obj

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Attempt:
    """One pod of a Job: its exit code and what it printed."""

    pod: str
    returncode: int
    output: str


@dataclass
class PodRunner:
    client: Client
    host: str
    port: int
    workdir: Path
    # (namespace, job name) -> every pod's attempt, in order; kept after Helm deletes the Job.
    attempts: dict[tuple[str, str], list[Attempt]] = field(default_factory=dict)
    # Pods it could not run (an unknown volume kind): a test asserts there are none.
    errors: list[str] = field(default_factory=list)
    _running: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    _started: set[str] = field(default_factory=set)
    _deleting: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    # (namespace, job name) -> when its first pod's container is to be killed.
    _kills: dict[tuple[str, str], Callable[[], bool]] = field(default_factory=dict)
    _killed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.bin = self.workdir / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        python = self.bin / "python3"
        if not python.exists():
            python.symlink_to(sys.executable)
        self._lock = threading.Lock()
        threading.Thread(target=self._watch, daemon=True, name="podrunner").start()

    def stop(self) -> None:
        self._stop.set()
        for process in list(self._running.values()):
            process.kill()

    def kill_first(self, namespace: str, job: str, when: Callable[[], bool]) -> None:
        """SIGKILL the container of the Job's first pod once `when()` holds while it runs."""
        self._kills[(namespace, job)] = when

    def _arm(self, key: tuple[str, str], uid: str, process: subprocess.Popen[str]) -> None:
        when = self._kills.pop(key, None)
        if when is None:
            return

        def watch() -> None:
            while process.poll() is None:
                if when():
                    self._killed.add(uid)
                    process.kill()
                    return
                time.sleep(0.1)

        threading.Thread(target=watch, daemon=True, name=f"kill-{key[1]}").start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                listed = self.client.call("GET", "/api/v1/pods")
                for pod in listed.get("items") or []:
                    self._seen(pod)
                for event in self.client.watch("/api/v1/pods", listed["metadata"]["resourceVersion"], timeout=300):
                    if self._stop.is_set():
                        return
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._seen(event["object"])
            except Exception as error:  # noqa: BLE001 (the watch restarts, as an informer's does)
                if not self._stop.is_set():
                    self.errors.append(f"watch: {error!r}")
                    time.sleep(0.5)

    def _seen(self, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        if meta.get("deletionTimestamp"):
            with self._lock:
                if uid in self._deleting:
                    return
                self._deleting.add(uid)
            threading.Thread(target=self._delete, args=(pod,), daemon=True).start()
            return
        with self._lock:
            if uid in self._started or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                return
            self._started.add(uid)
        threading.Thread(target=self._run, args=(pod,), daemon=True, name=f"pod-{meta['name']}").start()

    def _delete(self, pod: Obj) -> None:
        meta = pod["metadata"]
        process = self._running.get(meta["uid"])
        if process is not None:
            process.kill()
            process.wait()
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        self.client.request("DELETE", path, {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                                             "preconditions": {"uid": meta["uid"]}})

    def _path(self, pod: Obj) -> str:
        return f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}"

    def _status(self, pod: Obj, status: Obj) -> None:
        self.client.request("PATCH", self._path(pod) + "/status", {"status": status},
                            content_type="application/strategic-merge-patch+json")

    def _run(self, pod: Obj) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        job = (meta.get("labels") or {}).get("batch.kubernetes.io/job-name", meta["name"])
        try:
            node = spec.get("nodeName") or self._bind(pod)
            spec = {**spec, "nodeName": node}
            [container] = spec["containers"]
            started = now()
            folder = self.workdir / f"{meta['name']}-{meta['uid'][:8]}"
            mounts = self._volumes(pod, container, folder)
        except Exception as error:  # noqa: BLE001 (recorded; the pod fails)
            self.errors.append(f"{meta['namespace']}/{meta['name']}: {error!r}")
            self._finish(pod, container_name(pod), now(), 128, f"{error!r}")
            return
        conditions = [{"type": t, "status": "True", "lastTransitionTime": started}
                      for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
        self._status(pod, {"phase": "Running", "startTime": started, "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
                           "conditions": conditions,
                           "containerStatuses": [{"name": container["name"], "image": container.get("image", ""),
                                                  "imageID": "", "ready": True, "restartCount": 0, "started": True,
                                                  "state": {"running": {"startedAt": started}}}]})
        process = self._spawn(pod, container, mounts)
        self._arm((meta["namespace"], job), meta["uid"], process)
        output, _ = process.communicate()
        self._running.pop(meta["uid"], None)
        code = 137 if meta["uid"] in self._killed else process.returncode
        self.attempts.setdefault((meta["namespace"], job), []).append(Attempt(meta["name"], code, output))
        # Else a killed process is a pod being deleted: nothing more to report.
        if code >= 0:
            self._finish(pod, container["name"], started, code, output)

    def _finish(self, pod: Obj, name: str, started: str, code: int, output: str) -> None:
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                      "startedAt": started, "finishedAt": now()}
        container = pod["spec"]["containers"][0]
        if code and container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            terminated["message"] = output[-2048:]
        ready = {"status": "False", "reason": "PodCompleted", "lastTransitionTime": now()}
        self._status(pod, {"phase": "Succeeded" if code == 0 else "Failed",
                           "conditions": [{"type": "Ready", **ready}, {"type": "ContainersReady", **ready}],
                           "containerStatuses": [{"name": name, "image": container.get("image", ""), "imageID": "",
                                                  "ready": False, "restartCount": 0, "started": False,
                                                  "state": {"terminated": terminated}}]})

    def _bind(self, pod: Obj) -> str:
        nodes = sorted(n["metadata"]["name"] for n in self.client.items("/api/v1/nodes"))
        if not nodes:
            raise RuntimeError("no Node to run the pod on")
        self.client.call("POST", self._path(pod) + "/binding", {
            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod["metadata"]["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": nodes[0]}})
        return nodes[0]

    def _volumes(self, pod: Obj, container: Obj, folder: Path) -> list[tuple[Path, str, bool]]:
        namespace = pod["metadata"]["namespace"]
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        mounts = []
        for mount in container.get("volumeMounts") or []:
            volume, source = volumes[mount["name"]], folder / "volumes" / mount["name"]
            source.mkdir(parents=True, exist_ok=True)
            if "configMap" in volume:
                self._config_map(namespace, volume["configMap"], source)
            elif "projected" in volume:
                for item in volume["projected"]["sources"]:
                    if "serviceAccountToken" in item:
                        (source / item["serviceAccountToken"]["path"]).write_text(self._token(pod, item["serviceAccountToken"]))
                    elif "configMap" in item:
                        self._config_map(namespace, item["configMap"], source)
                    elif "downwardAPI" in item:
                        for field_item in item["downwardAPI"]["items"]:
                            (source / field_item["path"]).write_text(field_ref(pod, field_item["fieldRef"]["fieldPath"]))
                    else:
                        raise NotImplementedError(f"projected source {sorted(item)}")
            elif "emptyDir" not in volume:
                raise NotImplementedError(f"volume {mount['name']}: {sorted(volume)}")
            mounts.append((source, mount["mountPath"], bool(mount.get("readOnly"))))
        return mounts

    def _config_map(self, namespace: str, volume: Obj, target: Path) -> None:
        config_map = self.client.call("GET", f"/api/v1/namespaces/{namespace}/configmaps/{volume['name']}")
        files = config_map_files(config_map)
        for item in volume.get("items") or [{"key": k, "path": k} for k in files]:
            path = target / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[item["key"]])

    def _token(self, pod: Obj, source: Obj) -> str:
        meta = pod["metadata"]
        account = pod["spec"].get("serviceAccountName") or "default"
        spec: Obj = {"expirationSeconds": source.get("expirationSeconds", 3600),
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}}
        if source.get("audience"):
            spec["audiences"] = [source["audience"]]
        answer = self.client.call("POST", f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token",
                                  {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
        return str(answer["status"]["token"])

    def _spawn(self, pod: Obj, container: Obj, mounts: list[tuple[Path, str, bool]]) -> subprocess.Popen[str]:
        env = {"PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin", "HOSTNAME": pod["metadata"]["name"], "HOME": "/",
               "KUBERNETES_SERVICE_HOST": self.host, "KUBERNETES_SERVICE_PORT": str(self.port)}
        for variable in container.get("env") or []:
            if "valueFrom" in variable:
                env[variable["name"]] = field_ref(pod, variable["valueFrom"]["fieldRef"]["fieldPath"])
            else:
                env[variable["name"]] = variable.get("value", "")
        script = ["set -e"]
        for top in sorted({_cover(path) for _, path, _ in mounts}):
            script.append(f"mount -t tmpfs tmpfs {shlex.quote(top)}")
        for source, path, read_only in mounts:
            script += [f"mkdir -p {shlex.quote(path)}", f"mount --bind {shlex.quote(str(source))} {shlex.quote(path)}"]
            if read_only:
                script.append(f"mount -o remount,bind,ro {shlex.quote(path)}")
        script += [f"cd {shlex.quote(container.get('workingDir') or '/')}", 'exec "$@"']
        command = [*(container.get("command") or []), *(container.get("args") or [])]
        process = subprocess.Popen(["unshare", "--mount", "--map-root-user", "sh", "-c", "\n".join(script), "pod",
                                    *command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._running[pod["metadata"]["uid"]] = process
        return process

    def wait_idle(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while self._running and time.monotonic() < end:
            time.sleep(0.1)


def container_name(pod: Obj) -> str:
    return str(pod["spec"]["containers"][0]["name"])


def field_ref(pod: Obj, path: str) -> str:
    """The downward API's fields a hook can ask for (pkg/fieldpath/fieldpath.go)."""
    values = {"metadata.namespace": pod["metadata"]["namespace"], "metadata.name": pod["metadata"]["name"],
              "metadata.uid": pod["metadata"]["uid"], "spec.nodeName": pod["spec"].get("nodeName", ""),
              "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "")}
    if path not in values:
        raise NotImplementedError(f"fieldRef {path}")
    return str(values[path])


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


def config_map_files(config_map: Obj) -> dict[str, bytes]:
    """A ConfigMap's keys as the kubelet writes them: `data` as text, `binaryData` as the bytes
    its base64 holds (kubernetes v1.36.3 pkg/volume/configmap/configmap.go MakePayload)."""
    files = {key: value.encode() for key, value in (config_map.get("data") or {}).items()}
    files |= {key: base64.b64decode(value) for key, value in (config_map.get("binaryData") or {}).items()}
    return files
