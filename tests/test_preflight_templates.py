"""The hook objects (preflight, prune, teardown): ordering, deletion, least privilege, and
the Jobs' wiring."""

from __future__ import annotations

from typing import Any

from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"


def hooks(*extra: str) -> dict[str, dict[str, Any]]:
    """Hook objects by "<kind>/<name suffix>", e.g. "Job/preflight", "ClusterRole/cleanup"."""
    result = helm.template("helm3", [SEED], extra=extra)
    assert result.returncode == 0, result.stderr
    return {f"{d['kind']}/{d['metadata']['name'].rsplit('-', 1)[-1]}": d for d in result.documents
            if "helm.sh/hook" in d["metadata"].get("annotations", {})}


def annotation(doc: dict[str, Any], key: str) -> str:
    return str(doc["metadata"]["annotations"][key])


def phases(doc: dict[str, Any]) -> set[str]:
    return set(annotation(doc, "helm.sh/hook").split(","))


def test_every_job_finds_its_service_account_rbac_and_code_created_before_it() -> None:
    objects = hooks()
    assert set(objects) == {"ServiceAccount/preflight", "ServiceAccount/cleanup", "ServiceAccount/verify", "ConfigMap/hooks", "ClusterRole/preflight", "ClusterRoleBinding/preflight",
                            "Role/preflight", "RoleBinding/preflight", "ClusterRole/cleanup", "ClusterRoleBinding/cleanup",
                            "Role/cleanup", "RoleBinding/cleanup", "ClusterRole/rollback", "ClusterRoleBinding/rollback",
                            "Role/rollback", "RoleBinding/rollback",
                            "Job/preflight", "Job/prune", "Job/teardown", "ClusterRole/verify", "ClusterRoleBinding/verify",
                            "Role/verify", "RoleBinding/verify", "Pod/verify",
                            "ServiceAccount/wait", "ClusterRole/wait", "ClusterRoleBinding/wait", "Job/wait"}
    for job_key in ("Job/preflight", "Job/prune", "Job/teardown", "Job/wait", "Pod/verify"):
        job = objects[job_key]
        for phase in phases(job):
            before = [doc for key, doc in objects.items() if key.split("/")[0] not in ("Job", "Pod") and phase in phases(doc)]
            kinds = {doc["kind"] for doc in before}
            assert {"ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding"} <= kinds, (job_key, phase)
            spec = job["spec"]["template"]["spec"] if job["kind"] == "Job" else job["spec"]
            accounts = [d for d in before if d["kind"] == "ServiceAccount"]
            assert spec["serviceAccountName"] in {d["metadata"]["name"] for d in accounts}, (job_key, phase)
            assert all(int(annotation(doc, "helm.sh/hook-weight")) < int(annotation(job, "helm.sh/hook-weight")) for doc in before)
            roles = [d for d in before if d["kind"].endswith("Role")]
            bindings = [d for d in before if d["kind"].endswith("Binding")]
            assert max(int(annotation(d, "helm.sh/hook-weight")) for d in roles) < min(int(annotation(d, "helm.sh/hook-weight")) for d in bindings)
    assert int(annotation(objects["Job/preflight"], "helm.sh/hook-weight")) < int(annotation(objects["Job/prune"], "helm.sh/hook-weight"))
    for key, doc in objects.items():
        # The test pod stays after a run, passed or failed, for `kubectl logs`; so does a
        # failed Job. Rights and code go on failure too: Helm (pkg/action/hooks.go,
        # execHookWithDelayedShutdown) deletes a failed hook by hook-failed and the ones before
        # it by hook-succeeded; Argo CD deletes the hooks of a failed sync by HookFailed
        # (gitops-engine pkg/sync/sync_context.go, hooksPendingDeletionFailed).
        expected = {"before-hook-creation", "hook-succeeded", "hook-failed"}
        if key.startswith("Job/"):
            expected = {"before-hook-creation", "hook-succeeded"}
        if key == "Pod/verify":
            expected = {"before-hook-creation"}
        assert set(annotation(doc, "helm.sh/hook-delete-policy").split(",")) == expected


def test_phases_of_each_job() -> None:
    objects = hooks()
    assert phases(objects["Job/preflight"]) == {"pre-install", "pre-upgrade"}
    # helm pkg/action/rollback.go runs the target revision's HookPreRollback: the prune.
    assert phases(objects["Job/prune"]) == {"pre-upgrade", "pre-rollback"}
    assert phases(objects["Job/teardown"]) == {"pre-delete"}
    for key in ("ServiceAccount/cleanup", "ConfigMap/hooks", "Role/cleanup", "ClusterRole/cleanup"):
        assert "pre-rollback" in phases(objects[key]), key
    for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
        assert phases(objects[f"{kind}/rollback"]) == {"pre-rollback"}, kind
    without = hooks("--set", "cleanup.onUpgrade=false")
    assert not [key for key, doc in without.items() if "pre-rollback" in phases(doc)]



def test_no_argo_cd_hook_annotation_hides_the_helm_hooks() -> None:
    """Argo CD ignores all Helm hooks of a chart that carries any argocd.argoproj.io/hook."""
    for site in helm.site_files():
        for doc in helm.render_site(site).documents:
            assert not any(key.startswith("argocd.argoproj.io/") for key in doc["metadata"].get("annotations", {}))


def test_preflight_rbac_is_read_only_and_named_where_the_api_allows() -> None:
    objects = hooks()
    rules = objects["ClusterRole/preflight"]["rules"] + objects["Role/preflight"]["rules"]
    assert {verb for rule in rules for verb in rule["verbs"]} <= {"get", "list"}
    for rule in rules:
        if rule["verbs"] == ["get"]:
            assert rule.get("resourceNames"), rule
    assert objects["Role/preflight"]["metadata"]["namespace"] == "metallb-system"
    # Each hook role's bindings name its own ServiceAccount, which only its own pods use:
    # in pre-upgrade the preflight runs beside the prune, and must not hold its update right.
    for role, jobs in (("preflight", ["Job/preflight"]), ("cleanup", ["Job/prune", "Job/teardown"]),
                       ("wait", ["Job/wait"]), ("verify", ["Pod/verify"])):
        account = objects[f"ServiceAccount/{role}"]["metadata"]["name"]
        subjects = [s for key, doc in objects.items() if key.endswith(f"Binding/{role}") for s in doc["subjects"]]
        assert {(s["name"], s["namespace"]) for s in subjects} == {(account, helm.NAMESPACE)}
        for job in jobs:
            spec = objects[job]["spec"]
            assert spec.get("template", {}).get("spec", spec)["serviceAccountName"] == account


def test_cleanup_may_only_update_policies_and_read() -> None:
    rules = hooks()["ClusterRole/cleanup"]["rules"]
    writes = [(rule["resources"], verb) for rule in rules for verb in rule["verbs"] if verb not in ("get", "list")]
    assert writes == [(["nodenetworkconfigurationpolicies"], "update")]


def test_cleanup_may_take_the_lease_by_name_in_metallbs_namespace_only() -> None:
    """hooks/symrouting/lease.py: create (a create request names no object, so it cannot be
    limited by name), then get and update of the one Lease; no delete (release is an update).
    And list the peers, to delete those that name a BFD profile (none here)."""
    objects = hooks()
    role = objects["Role/cleanup"]
    assert role["metadata"]["namespace"] == "metallb-system"
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["symmetric-routing-cleanup"],
         "verbs": ["get", "update"]},
        # hooks/symrouting/peers.py; the seed's peer names no BFD profile, so nothing to delete.
        {"apiGroups": ["metallb.io"], "resources": ["bgppeers"], "verbs": ["list"]}]
    assert objects["RoleBinding/cleanup"]["metadata"]["namespace"] == "metallb-system"
    assert objects["RoleBinding/cleanup"]["subjects"] == objects["ClusterRoleBinding/cleanup"]["subjects"]
    assert objects["ClusterRoleBinding/rollback"]["subjects"] == objects["ClusterRoleBinding/cleanup"]["subjects"]
    # The plan names the same Lease, in the same namespace, for the hook.
    import json
    plan = json.loads(objects["ConfigMap/hooks"]["data"]["plan.json"])
    assert (plan["metallbNamespace"], plan["cleanupLease"]) == ("metallb-system", "symmetric-routing-cleanup")


def test_cluster_scoped_names_carry_the_namespace() -> None:
    first = hooks()["ClusterRole/preflight"]["metadata"]["name"]
    result = helm.template("helm3", [SEED], namespace="other")
    second = next(d for d in result.documents if d["kind"] == "ClusterRole")["metadata"]["name"]
    assert first != second


def test_jobs_mount_the_hooks_zip_and_import_from_it() -> None:
    """Each Job mounts the plan and the ConfigMap's zip, and Python imports the package from
    the zip (PYTHONPATH names it: zipimport)."""
    objects = hooks()
    for key in ("Job/preflight", "Job/prune", "Job/teardown", "Job/wait"):
        spec = objects[key]["spec"]["template"]["spec"]
        [container] = spec["containers"]
        items = spec["volumes"][0]["configMap"]["items"]
        assert items == [{"key": "plan.json", "path": "plan.json"},
                         {"key": "symrouting.zip", "path": "symrouting.zip"}], key
        [mount] = container["volumeMounts"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["PYTHONPATH"] == f"{mount['mountPath']}/symrouting.zip", key
    assert set(objects["ConfigMap/hooks"]["data"]) == {"plan.json"}
    assert set(objects["ConfigMap/hooks"]["binaryData"]) == {"symrouting.zip"}


def test_values_reach_the_jobs() -> None:
    objects = hooks("--set", "preflight.warningsFail=true", "--set", "preflight.skipChecks={metallb-mode,crds}",
                    "--set", "hooks.image.digest=sha256:" + "ab" * 32, "--set", "cleanup.failOnError=false",
                    "--set", "cleanup.timeoutSeconds=900")
    container = objects["Job/preflight"]["spec"]["template"]["spec"]["containers"][0]
    assert "--warnings-fail" in container["command"] and "--skip=metallb-mode,crds" in container["command"]
    assert container["image"] == "docker.io/library/python:3.13-slim@sha256:" + "ab" * 32
    teardown = objects["Job/teardown"]
    assert {"teardown", "--timeout=900", "--continue-on-failure"} <= set(teardown["spec"]["template"]["spec"]["containers"][0]["command"])
    assert teardown["spec"]["activeDeadlineSeconds"] > 900


def test_hooks_can_be_turned_off_one_by_one() -> None:
    assert "Job/preflight" not in hooks("--set", "preflight.enabled=false")
    without_uninstall = hooks("--set", "cleanup.onUninstall=false")
    assert "Job/teardown" not in without_uninstall
    assert "pre-delete" not in phases(without_uninstall["ServiceAccount/cleanup"])
    assert hooks("--set", "preflight.enabled=false", "--set", "cleanup.onUninstall=false", "--set", "cleanup.onUpgrade=false",
                 "--set", "tests.enabled=false", "--set", "rollout.wait=false") == {}


def test_verify_rbac_names_the_release_objects() -> None:
    """Its gets name the release's objects; its lists are what `verify --status` reads,
    status objects whose names are not known in advance (and no Secret): the cluster-scoped
    ones cluster-wide, MetalLB's in MetalLB's namespace and FRR-K8s's in FRR-K8s's, by Roles
    there (the kinds are namespaced: metallb config/crd/bases, frr-k8s config/crd/bases)."""
    rules = hooks()["ClusterRole/verify"]["rules"]
    assert {verb for rule in rules for verb in rule["verbs"]} == {"get", "list"}
    named = {rule["resources"][0]: rule.get("resourceNames") for rule in rules if "get" in rule["verbs"]}
    assert named == {"nodenetworkconfigurationpolicies": ["vrfpolicy"], "services": ["server1"],
                     "egressservices": ["server1"], "nodes": None}
    listed = sorted(resource for rule in rules if "list" in rule["verbs"] for resource in rule["resources"])
    assert listed == ["nodenetworkconfigurationenactments", "nodenetworkconfigurationpolicies", "nodenetworkstates", "nodes"]
    for platform, frr in (("openshift", "openshift-frr-k8s"), ("kubernetes", "metallb-system")):
        for values, where in (((), frr), (("--set", "metallb.frrK8sNamespace=frr-k8s-system"), "frr-k8s-system")):
            result = helm.template("helm3", [SEED], extra=("--set", f"platform={platform}", *values))
            roles = {(d["kind"], d["metadata"]["namespace"]): d for d in result.documents
                     if d["kind"] in ("Role", "RoleBinding") and d["metadata"]["name"].endswith("-verify")}
            lists: dict[str, list[str]] = {}
            for (kind, namespace), doc in roles.items():
                if kind == "Role":
                    assert {v for rule in doc["rules"] for v in rule["verbs"]} == {"list"}
                    lists[namespace] = sorted(r for rule in doc["rules"] for r in rule["resources"])
                else:
                    assert doc["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                              "name": roles[("Role", namespace)]["metadata"]["name"]}
            expected = {"metallb-system": ["configurationstates", "metallbs", "servicebgpstatuses"]}
            expected.setdefault(where, [])
            expected[where] = sorted(expected[where] + ["bgpsessionstates"])
            assert lists == expected, (platform, values)
            assert {namespace for _, namespace in roles} == set(expected)


def test_a_plan_too_large_for_a_configmap_is_refused(tmp_path: Any) -> None:
    """A ConfigMap holds 1 MiB; a release with hundreds of VRFs is told to split, by name."""
    import yaml

    vrfs = {}
    # tables 1-999 without the kernel's 252-255: OVN-Kubernetes owns 1000 and up
    tables = [table for table in range(1, 1000) if not 252 <= table <= 255 and table != 7]
    for i, table in enumerate(tables):
        third, fourth = divmod(i, 250)
        gateway = f"10.{100 + third}.{fourth}.1"
        vrfs[f"v{i}"] = {"tableId": table, "myASN": 64512, "policy": {"nodeSelector": {"vrf": f"v{i}"}}, "ports": {f"eth{i}": {"ipv4": [f"10.{100 + third}.{fourth}.10/24"]}},
                         "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": gateway}],
                         "bgpPeers": {"a": {"peerASN": 65000, "peerAddress": gateway}},
                         "addressPools": {"pool": {"addresses": [f"198.{18 + third}.{fourth}.0/28"]}},
                         "bgpAdvertisements": {"adv": {}}, "egressServices": {f"svc{i}": {}}}
    site = tmp_path / "huge.yaml"
    site.write_text(yaml.safe_dump({"platform": "kubernetes", "vrfs": vrfs,
                                    "cluster": {"serviceNetwork": ["10.96.0.0/16"], "clusterNetwork": ["10.244.0.0/16"],
                                                "masqueradeSubnet": ["169.254.169.0/29"]}}))
    result = helm.template("helm3", [site])
    assert result.returncode != 0 and result.stdout == ""
    assert "too much for one ConfigMap" in result.stderr and "split the VRFs over several releases" in result.stderr
