"""The preflight's hook objects: ordering, deletion, least privilege, and the Job's wiring."""

from __future__ import annotations

from typing import Any

from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"


def hooks(*extra: str) -> dict[str, dict[str, Any]]:
    result = helm.template("helm3", [SEED], extra=extra)
    assert result.returncode == 0, result.stderr
    return {d["kind"]: d for d in result.documents if "helm.sh/hook" in d["metadata"].get("annotations", {})}


def test_hook_objects_are_ordered_before_the_job_and_cleaned_up() -> None:
    objects = hooks()
    assert set(objects) == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "Job"}
    weight = {kind: int(doc["metadata"]["annotations"]["helm.sh/hook-weight"]) for kind, doc in objects.items()}
    assert weight["ServiceAccount"] < weight["ClusterRole"] == weight["Role"] < weight["ClusterRoleBinding"] == weight["RoleBinding"]
    assert weight["RoleBinding"] < weight["ConfigMap"] < weight["Job"]
    for doc in objects.values():
        annotations = doc["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert set(annotations["helm.sh/hook-delete-policy"].split(",")) == {"before-hook-creation", "hook-succeeded"}


def test_rbac_is_read_only_and_named_where_the_api_allows() -> None:
    objects = hooks()
    rules = objects["ClusterRole"]["rules"] + objects["Role"]["rules"]
    assert {verb for rule in rules for verb in rule["verbs"]} <= {"get", "list"}
    for rule in rules:
        if rule["verbs"] == ["get"]:
            assert rule.get("resourceNames"), rule
    assert objects["Role"]["metadata"]["namespace"] == "metallb-system"
    subjects = objects["ClusterRoleBinding"]["subjects"] + objects["RoleBinding"]["subjects"]
    assert {(s["name"], s["namespace"]) for s in subjects} == {(objects["ServiceAccount"]["metadata"]["name"], helm.NAMESPACE)}


def test_cluster_scoped_names_carry_the_namespace() -> None:
    first = hooks()["ClusterRole"]["metadata"]["name"]
    result = helm.template("helm3", [SEED], namespace="other")
    second = next(d for d in result.documents if d["kind"] == "ClusterRole")["metadata"]["name"]
    assert first != second


def test_job_mounts_every_module_of_the_package() -> None:
    job = hooks()["Job"]
    items = job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"]
    modules = sorted(p.name for p in (helm.CHART / "hooks" / "symrouting").glob("*.py"))
    assert sorted(i["key"] for i in items if i["key"] != "plan.json") == modules
    assert all(i["path"] == f"symrouting/{i['key']}" for i in items if i["key"] != "plan.json")
    assert set(hooks()["ConfigMap"]["data"]) == {"plan.json", *modules}


def test_values_reach_the_job() -> None:
    job = hooks("--set", "preflight.warningsFail=true", "--set", "preflight.skipChecks={metallb-mode,crds}",
                "--set", "preflight.image.digest=sha256:" + "ab" * 32)["Job"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert "--warnings-fail" in container["command"] and "--skip=metallb-mode,crds" in container["command"]
    assert container["image"] == "docker.io/library/python@sha256:" + "ab" * 32


def test_preflight_can_be_turned_off() -> None:
    assert hooks("--set", "preflight.enabled=false") == {}
