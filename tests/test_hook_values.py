"""The hook pods' values (ServiceAccount, Job and pod metadata, scheduling, image), the names
the hooks' objects take, and the chart's password Secrets, as rendered."""

from __future__ import annotations

from typing import Any

from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"
MULTI = helm.CHART / "ci" / "multi-vrf-values.yaml"


def render(*extra: str, release: str = helm.RELEASE, namespace: str = helm.NAMESPACE,
           site: Any = SEED) -> list[dict[str, Any]]:
    result = helm.template("helm3", [site], release=release, namespace=namespace, extra=extra)
    assert result.returncode == 0, result.stderr
    return result.documents


def pods(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pod templates (metadata and spec) of the hook Jobs and the test Pod, by container name."""
    found = {}
    for doc in docs:
        if doc["kind"] == "Job":
            found[doc["spec"]["template"]["spec"]["containers"][0]["name"]] = doc["spec"]["template"]
        elif doc["kind"] == "Pod":
            found[doc["spec"]["containers"][0]["name"]] = doc
    return found


def test_long_release_names_keep_every_hook_job_its_own_name() -> None:
    release = "a-release-name-that-is-long-enough-to-need-cutting-x"
    docs = render(release=release)
    names = [d["metadata"]["name"] for d in docs if d["kind"] in ("Job", "Pod")]
    assert len(names) == 5 and len(set(names)) == 5, names
    assert all(len(name) <= 63 for name in names)
    assert names == [d["metadata"]["name"] for d in render(release=release) if d["kind"] in ("Job", "Pod")]
    # Short names stay as they were.
    assert {d["metadata"]["name"] for d in render() if d["kind"] == "Job"} == {
        "tenant-a-symmetric-routing-preflight", "tenant-a-symmetric-routing-prune", "tenant-a-symmetric-routing-teardown",
        "tenant-a-symmetric-routing-wait"}


def test_hook_pod_values_reach_every_hook_pod() -> None:
    docs = render("--set-string", "hooks.podAnnotations.sidecar\\.istio\\.io/inject=false",
                  "--set", "hooks.podLabels.team=net", "--set", "hooks.podLabels.app\\.kubernetes\\.io/component=mine",
                  "--set", "hooks.priorityClassName=system-cluster-critical",
                  "--set", "hooks.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
                           ".matchExpressions[0].key=node-role.kubernetes.io/infra",
                  "--set", "hooks.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
                           ".matchExpressions[0].operator=Exists",
                  "--set", "hooks.jobAnnotations.example\\.com/owner=netops")
    found = pods(docs)
    assert set(found) == {"preflight", "prune", "teardown", "wait", "verify"}
    for name, pod in found.items():
        meta, spec = pod["metadata"], pod["spec"]
        assert meta["annotations"]["sidecar.istio.io/inject"] == "false", name
        assert meta["labels"]["team"] == "net"
        # The chart's own labels win: the hooks and `kubectl -l` find pods by them.
        assert meta["labels"]["app.kubernetes.io/component"] in ("preflight", "cleanup", "wait", "verify")
        assert spec["priorityClassName"] == "system-cluster-critical"
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchExpressions": [{"key": "node-role.kubernetes.io/infra", "operator": "Exists"}]}]
    for job in (d for d in docs if d["kind"] == "Job"):
        annotations = job["metadata"]["annotations"]
        assert annotations["example.com/owner"] == "netops"
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    # The test Pod keeps its own hook annotations beside the pod annotations.
    assert found["verify"]["metadata"]["annotations"]["helm.sh/hook"] == "test"


def test_service_account_values() -> None:
    own = render("--set", "hooks.serviceAccount.name=netops-hooks",
                 "--set", "hooks.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn")
    [account] = [d for d in own if d["kind"] == "ServiceAccount"]
    assert account["metadata"]["name"] == "netops-hooks"
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == "arn"
    assert set(account["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {
        "pre-install", "pre-upgrade", "pre-rollback", "pre-delete", "post-install", "post-upgrade", "post-rollback", "test"}
    assert {pod["spec"]["serviceAccountName"] for pod in pods(own).values()} == {"netops-hooks"}
    provided = render("--set", "hooks.serviceAccount.create=false")
    assert not [d for d in provided if d["kind"] == "ServiceAccount"]
    subjects = {s["name"] for d in provided if d["kind"].endswith("Binding") for s in d["subjects"]}
    assert subjects == {pod["spec"]["serviceAccountName"] for pod in pods(provided).values()} == {
        "tenant-a-symmetric-routing-preflight", "tenant-a-symmetric-routing-cleanup", "tenant-a-symmetric-routing-wait",
        "tenant-a-symmetric-routing-verify"}


def test_image_pinned_by_digest_or_tag_and_registry() -> None:
    def image(*extra: str) -> set[str]:
        return {pod["spec"]["containers"][0]["image"] for pod in pods(render(*extra)).values()}

    default = image()
    assert len(default) == 1 and "@sha256:" in next(iter(default))
    assert image("--set", "hooks.image.digest=") == {"docker.io/library/python:3.13-slim"}
    assert image("--set", "hooks.image.tag=null") == {next(iter(default)).replace(":3.13-slim@", "@")}
    assert image("--set", "global.imageRegistry=mirror.example.com:5000", "--set", "hooks.image.digest=") == {
        "mirror.example.com:5000/library/python:3.13-slim"}


def test_common_annotations_reach_every_object_and_leave_the_hook_annotations() -> None:
    def key(doc: dict[str, Any]) -> tuple[str, str, str]:
        return doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]

    plain = {key(d): d for d in render(site=MULTI)}
    docs = render("--set", "commonAnnotations.example\\.com/team=netops", site=MULTI)
    assert len(docs) == len(plain)
    for doc in docs:
        annotations = doc["metadata"]["annotations"]
        assert annotations.pop("example.com/team") == "netops", doc["kind"]
        assert annotations == (plain[key(doc)]["metadata"].get("annotations") or {})


def test_common_annotations_may_not_set_helm_hook_annotations() -> None:
    result = helm.template("helm3", [SEED], extra=("--set", "commonAnnotations.helm\\.sh/hook=post-install"))
    assert result.returncode != 0 and "/commonAnnotations/helm.sh~1hook" in result.stderr


def test_same_named_releases_in_two_namespaces_share_no_name_in_metallbs_namespace() -> None:
    def names(namespace: str) -> set[tuple[str, str]]:
        return {(d["kind"], d["metadata"]["name"]) for d in render(namespace=namespace, site=MULTI)
                if d["kind"] in ("Role", "RoleBinding", "Secret")}

    first, second = names("tenant-one"), names("tenant-two")
    assert {kind for kind, _ in first} == {"Role", "RoleBinding", "Secret"}
    assert first.isdisjoint(second)


def test_passwords_become_basic_auth_secrets_named_by_the_peer() -> None:
    docs = render(site=MULTI)
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    for peer in (d for d in docs if d["kind"] == "BGPPeer"):
        assert "password" not in peer["spec"]
        reference = peer["spec"].get("passwordSecret")
        if reference and reference["name"] in secrets:
            secret = secrets.pop(reference["name"])
            assert secret["type"] == "kubernetes.io/basic-auth" and set(secret["data"]) == {"password"}
            assert reference["namespace"] == secret["metadata"]["namespace"] == "metallb-system"
    assert secrets == {}, "a password Secret that no peer names"


def test_cleanup_updates_only_the_policies_the_release_renders() -> None:
    for site in helm.site_files():
        docs = helm.render_site(site).documents
        policies = sorted(d["metadata"]["name"] for d in docs if d["kind"] == "NodeNetworkConfigurationPolicy")
        [role] = [d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"].endswith("-cleanup")]
        writes = [r for r in role["rules"] if set(r["verbs"]) - {"list"}]
        assert writes == [{"apiGroups": ["nmstate.io"], "resources": ["nodenetworkconfigurationpolicies"],
                           "resourceNames": policies, "verbs": ["get", "update"]}], site.name


def test_no_vrf_left_grants_no_update_at_all() -> None:
    """An empty resourceNames would allow every name (pkg/apis/rbac/v1/evaluation_helpers.go,
    ResourceNameMatches): with no policy to name, the rule is left out."""
    # an upgrade: an install with no VRF is refused (templates/validate/_vrfs.tpl)
    roles = [d for d in render("--is-upgrade", "--set", "vrfs.ens4vrf=null") if d["kind"] == "ClusterRole"]
    [role] = [d for d in roles if d["metadata"]["name"].endswith("-cleanup")]
    assert all(set(rule["verbs"]) == {"list"} for rule in role["rules"])
    # Unnamed updates exist only while a rollback's prune runs (templates/hooks/cleanup-clusterrole.yaml).
    [rollback] = [d for d in roles if d["metadata"]["name"].endswith("-rollback")]
    assert rollback["metadata"]["annotations"]["helm.sh/hook"] == "pre-rollback"
