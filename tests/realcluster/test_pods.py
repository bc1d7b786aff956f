"""Hook pods on the rig: the real Job controller makes the Pods, tests/support/podrunner.py
runs them as the kubelet would, and the Job controller's verdict comes from the Pod status
the runner writes."""

from __future__ import annotations

import time
from typing import Any

from tests.support.rig import Rig

Obj = dict[str, Any]


def job(name: str, script: str, **spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "test"},
            "spec": {"backoffLimit": 0, **spec, "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "python", "command": ["python3", "-c", script],
                                "volumeMounts": [{"name": "code", "mountPath": "/opt/code", "readOnly": True}]}],
                "volumes": [{"name": "code", "configMap": {"name": "code", "items": [
                    {"key": "greeting", "path": "sub/greeting.txt"}]}}]}}}}


def finished(rig: Rig, name: str, timeout: float = 60) -> Obj:
    end = time.monotonic() + timeout
    while True:
        found = rig.client.get(f"/apis/batch/v1/namespaces/test/jobs/{name}") or {}
        kinds = {c["type"] for c in (found.get("status") or {}).get("conditions") or [] if c["status"] == "True"}
        if kinds & {"Complete", "Failed"}:
            return found
        assert time.monotonic() < end, f"job {name} did not finish: {found.get('status')}"
        time.sleep(0.2)


def conditions(found: Obj) -> dict[str, str]:
    return {c["type"]: c.get("reason", "") for c in found["status"]["conditions"] if c["status"] == "True"}


# Reads the mounted ConfigMap item, then asks the API who it is with the mounted token
# (SelfSubjectReview: any authenticated user may), through KUBERNETES_SERVICE_HOST/PORT.
WHO_AM_I = """
import json, os, ssl, urllib.request
base = "/var/run/secrets/kubernetes.io/serviceaccount"
print(open("/opt/code/sub/greeting.txt").read())
try:
    open("/opt/code/written", "w")
except OSError as error:
    print("read-only:", error.errno)
request = urllib.request.Request(
    f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}"
    "/apis/authentication.k8s.io/v1/selfsubjectreviews", method="POST",
    data=json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode(),
    headers={"Authorization": "Bearer " + open(base + "/token").read(), "Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(request, context=ssl.create_default_context(cafile=base + "/ca.crt")))
info = answer["status"]["userInfo"]
print(info["username"], open(base + "/namespace").read(), info["extra"]["authentication.kubernetes.io/pod-name"][0])
"""


def test_a_job_completes_with_a_real_token_and_its_configmap_mounted(rig: Rig) -> None:
    rig.reset()
    rig.client.call("POST", "/api/v1/namespaces/test/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "code"}, "data": {"greeting": "hello"}})
    rig.client.call("POST", "/apis/batch/v1/namespaces/test/jobs", job("who", WHO_AM_I))
    found = finished(rig, "who")
    assert conditions(found) == {"SuccessCriteriaMet": "CompletionsReached", "Complete": "CompletionsReached"}
    [attempt] = rig.pods.attempts[("test", "who")]
    assert attempt.returncode == 0, attempt.output
    lines = attempt.output.split("\n")
    assert lines[0] == "hello" and lines[1] == "read-only: 30"  # EROFS
    # The token is bound to the pod the Job controller made: the server says so.
    assert lines[2] == f"system:serviceaccount:test:default test {attempt.pod}"
    assert not rig.pods.errors


def test_a_failing_pod_fails_the_job_after_its_backoff_limit(rig: Rig) -> None:
    rig.reset()
    rig.client.call("POST", "/api/v1/namespaces/test/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "code"}, "data": {"greeting": "hello"}})
    rig.client.call("POST", "/apis/batch/v1/namespaces/test/jobs", job("fails", "raise SystemExit(3)"))
    found = finished(rig, "fails")
    assert conditions(found) == {"FailureTarget": "BackoffLimitExceeded", "Failed": "BackoffLimitExceeded"}
    assert [a.returncode for a in rig.pods.attempts[("test", "fails")]] == [3]
    [pod] = rig.client.items("/api/v1/namespaces/test/pods?labelSelector=batch.kubernetes.io/job-name=fails")
    [status] = pod["status"]["containerStatuses"]
    assert status["state"]["terminated"]["exitCode"] == 3 and status["state"]["terminated"]["reason"] == "Error"


def test_past_its_deadline_the_pod_is_killed_and_the_job_fails(rig: Rig) -> None:
    """activeDeadlineSeconds: the Job controller deletes the pod; the runner kills it."""
    rig.reset()
    rig.client.call("POST", "/api/v1/namespaces/test/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "code"}, "data": {"greeting": "hello"}})
    began = time.monotonic()
    rig.client.call("POST", "/apis/batch/v1/namespaces/test/jobs",
                    job("slow", "import time; time.sleep(120)", activeDeadlineSeconds=2))
    found = finished(rig, "slow")
    assert conditions(found)["Failed"] == "DeadlineExceeded"
    end = time.monotonic() + 20
    while rig.client.items("/api/v1/namespaces/test/pods?labelSelector=batch.kubernetes.io/job-name=slow"):
        assert time.monotonic() < end, "the pod was not deleted"
        time.sleep(0.2)
    assert time.monotonic() - began < 60
    assert [a.returncode for a in rig.pods.attempts[("test", "slow")]] == [-9]
