"""Every pod the chart can render meets the restricted Pod Security Standard, OpenShift's
restricted-v2 (which assigns the UID itself, so no fixed UID there), and has requests and
limits. Pods are found in every rendered workload, so a new one cannot slip past."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import helm

# Volume types the restricted profile allows.
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
WORKLOADS = {"Pod": ("spec",), "Job": ("spec", "template", "spec"), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
             "Deployment": ("spec", "template", "spec"), "DaemonSet": ("spec", "template", "spec"),
             "StatefulSet": ("spec", "template", "spec")}


def _pods() -> list[tuple[str, str, dict[str, Any]]]:
    pods = []
    for site in helm.site_files():
        for platform in ("openshift", "kubernetes"):
            result = helm.template("helm3", [site], extra=("--set", f"platform={platform}"))
            if result.returncode != 0:
                # A site may hold table ids that only the kubernetes platform allows.
                assert platform == "openshift" and "which the chart keeps off OpenShift VRFs" in result.stderr, result.stderr
                continue
            for doc in result.documents:
                if doc["kind"] in WORKLOADS:
                    spec: Any = doc
                    for key in WORKLOADS[doc["kind"]]:
                        spec = spec[key]
                    pods.append((f"{helm.site_name(site)}/{platform}/{doc['kind']}/{doc['metadata']['name']}", platform, spec))
    return pods


PODS = _pods()


def test_the_chart_renders_pods_to_check() -> None:
    assert {platform for _, platform, _ in PODS} == {"openshift", "kubernetes"}


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"], *pod.get("ephemeralContainers", [])]


@pytest.mark.parametrize(("name", "platform", "pod"), PODS, ids=[name for name, _, _ in PODS])
def test_restricted_pod_security_standard(name: str, platform: str, pod: dict[str, Any]) -> None:
    pod_context = pod.get("securityContext", {})
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(field), field
    assert all(set(volume) - {"name"} <= ALLOWED_VOLUMES for volume in pod.get("volumes", []))
    assert pod_context.get("seccompProfile", {}).get("type") in ("RuntimeDefault", "Localhost")
    for container in _containers(pod):
        context = container.get("securityContext", {})
        assert context.get("privileged") is not True
        assert context.get("allowPrivilegeEscalation") is False
        assert context.get("capabilities", {}).get("drop") == ["ALL"]
        assert set(context.get("capabilities", {}).get("add", [])) <= {"NET_BIND_SERVICE"}
        assert context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True
        assert context.get("runAsUser", pod_context.get("runAsUser", 1)) != 0
        assert context.get("readOnlyRootFilesystem") is True
        assert not container.get("ports") or all("hostPort" not in p for p in container["ports"])
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        assert seccomp.get("type") in ("RuntimeDefault", "Localhost")


@pytest.mark.parametrize(("name", "platform", "pod"), PODS, ids=[name for name, _, _ in PODS])
def test_uid_follows_the_platform(name: str, platform: str, pod: dict[str, Any]) -> None:
    """restricted-v2 admits only UIDs from the namespace's range, and assigns one when none is
    set; elsewhere the stock Python image (USER root) needs a non-root UID to start."""
    contexts = [pod.get("securityContext", {})] + [c.get("securityContext", {}) for c in _containers(pod)]
    fixed = {key for context in contexts for key in ("runAsUser", "runAsGroup", "fsGroup") if key in context}
    if platform == "openshift":
        assert fixed == set()
    else:
        assert pod["securityContext"]["runAsUser"] > 0


@pytest.mark.parametrize(("name", "platform", "pod"), PODS, ids=[name for name, _, _ in PODS])
def test_resources_and_bounds(name: str, platform: str, pod: dict[str, Any]) -> None:
    for container in _containers(pod):
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), bound
    assert pod["restartPolicy"] in ("Never", "OnFailure")


def test_jobs_have_a_deadline_and_bounded_retries() -> None:
    for site in helm.site_files():
        for doc in helm.render_site(site).documents:
            if doc["kind"] == "Job":
                assert doc["spec"]["activeDeadlineSeconds"] > 0
                assert 0 <= doc["spec"]["backoffLimit"] <= 6


def test_hook_code_runs_from_a_read_only_mount(tmp_path: Path) -> None:
    """The package never writes: with PYTHONDONTWRITEBYTECODE and a read-only copy it runs."""
    import shutil
    import subprocess
    import sys

    code = tmp_path / "code"
    shutil.copytree(helm.CHART / "hooks" / "symrouting", code / "symrouting", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [code, *code.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    result = subprocess.run([sys.executable, "-S", "-m", "symrouting", "--help"], capture_output=True, text=True,
                            env={"PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}, check=False)
    assert result.returncode == 0, result.stderr
    assert not list(code.rglob("__pycache__"))
