"""BGPPeers go before their BFDProfiles: Helm's own delete order refuses that, the cleanup
hooks fix it (hooks/symrouting/peers.py).

Helm's order is reproduced from helm pkg/release/v1/util/kind_sorter.go (InstallOrder,
UninstallOrder, lessByKind: known kinds by their index, unknown kinds after them,
alphabetically, ties in manifest order); an uninstall deletes kind after kind in that order
and ignores 404s (pkg/kube/client.go, Delete, batchPerform); an upgrade deletes what the new
manifest drops in the old manifest's order, InstallOrder (client.go, Update), and records a
failed delete as an error. MetalLB's webhook is tests/support/metallb.py, bfd_profile_webhook.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.hooks.conftest import render_plan
from tests.support import clusters, helm
from tests.support.apiserver import Rbac, RunningApi, Tls, write_kubeconfig
from tests.support.realapi import request_attributes
from tests.support.metallb import bfd_profile_webhook
from tests.support.nmstate import Nmstate

MULTI_VRF = helm.CHART / "ci" / "multi-vrf-values.yaml"
Run = Callable[..., subprocess.CompletedProcess[str]]

# helm pkg/release/v1/util/kind_sorter.go, as of helm 3.19 and 4.
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
    "IngressClass", "Ingress", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
UNINSTALL_ORDER = [
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService", "Ingress", "IngressClass",
    "Service", "CronJob", "Job", "StatefulSet", "HorizontalPodAutoscaler", "Deployment", "ReplicaSet",
    "ReplicationController", "Pod", "DaemonSet", "RoleBindingList", "RoleBinding", "RoleList", "Role",
    "ClusterRoleBindingList", "ClusterRoleBinding", "ClusterRoleList", "ClusterRole", "CustomResourceDefinition",
    "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "ConfigMap", "SecretList", "Secret",
    "ServiceAccount", "PodDisruptionBudget", "PodSecurityPolicy", "LimitRange", "ResourceQuota", "NetworkPolicy",
    "Namespace", "PriorityClass"]

PLURALS = {"BFDProfile": "bfdprofiles", "BGPPeer": "bgppeers"}


def helm_sorted(docs: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    """sortManifestsByKind: a stable sort by lessByKind."""
    return sorted(docs, key=lambda d: (0, order.index(d["kind"]), "") if d["kind"] in order else (1, 0, d["kind"]))


def manifest(values: list[Path]) -> list[dict[str, Any]]:
    """The release's objects as Helm stores them: hooks apart (pkg/action/action.go,
    renderResources, SortManifests)."""
    result = helm.template("helm3", values, release=helm.RELEASE, namespace=helm.NAMESPACE)
    assert result.returncode == 0, result.stderr
    return [d for d in result.documents if "helm.sh/hook" not in (d["metadata"].get("annotations") or {})]


def hooks(values: list[Path]) -> list[dict[str, Any]]:
    result = helm.template("helm3", values, release=helm.RELEASE, namespace=helm.NAMESPACE)
    assert result.returncode == 0, result.stderr
    return [d for d in result.documents if "helm.sh/hook" in (d["metadata"].get("annotations") or {})]


def path_of(doc: dict[str, Any]) -> str:
    return f"/apis/{doc['apiVersion']}/namespaces/{doc['metadata']['namespace']}/{PLURALS[doc['kind']]}"


def helm_deletes(api: RunningApi, docs: list[dict[str, Any]]) -> list[str]:
    """Helm's deletes of these objects, in this order: the errors it would report (a 404 is
    not one)."""
    errors = []
    for doc in docs:
        if doc["kind"] not in PLURALS:
            continue
        status, body = api.api.answer("DELETE", f"{path_of(doc)}/{doc['metadata']['name']}", f"Bearer {api.api.token}", b"")
        if status not in (200, 404):
            errors.append(body.decode())
    return errors


def without_pay_b(tmp_path: Path) -> Path:
    """The multi-VRF site without VRF pay-b, whose peers alone use the `passive` profile, and
    without that profile: an upgrade that drops a profile and its peers."""
    values = yaml.safe_load(MULTI_VRF.read_text())
    del values["vrfs"]["pay-b"]
    del values["bfdProfiles"]["passive"]
    path = tmp_path / "without-pay-b.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.fixture
def site(serve: Callable[..., RunningApi]) -> RunningApi:
    """Three workers of the multi-VRF site; its policies applied, its peers and profiles in
    MetalLB's namespace, MetalLB's BFDProfile webhook admitting deletes."""
    labels = {"node-role.kubernetes.io/worker": "", "tenant.example.com/payments": "true"}
    nodes = [clusters.node(f"worker-{i}", {**labels, **({"tenant.example.com/mgmt": "true"} if i == 0 else {})})
             for i in range(3)]
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"], nodes=nodes))
    docs = manifest([MULTI_VRF])
    Nmstate(api.api).install([d for d in docs if d["kind"] == "NodeNetworkConfigurationPolicy"])
    for doc in docs:
        if doc["kind"] in PLURALS:
            api.api.publish(path_of(doc), [doc])
    api.api.admission.append(bfd_profile_webhook(api.api.routes))
    return api


def kinds_in_order(docs: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(d["kind"] for d in docs))


def test_helm_deletes_bfd_profiles_before_peers() -> None:
    docs = manifest([MULTI_VRF])
    for order in (UNINSTALL_ORDER, INSTALL_ORDER):
        kinds = kinds_in_order(helm_sorted(docs, order))
        assert kinds.index("BFDProfile") < kinds.index("BGPPeer"), kinds


def test_without_the_hook_helms_uninstall_is_refused_and_leaves_the_profiles(site: RunningApi) -> None:
    """The issue, reproduced: the model refuses what MetalLB refuses."""
    errors = helm_deletes(site, helm_sorted(manifest([MULTI_VRF]), UNINSTALL_ORDER))
    assert len(errors) == 2 and all("denied the request: failed to delete BFDProfile" in e for e in errors), errors
    assert len(site.api.routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/bfdprofiles"]) == 2


def test_the_teardown_deletes_the_peers_so_helms_uninstall_ends_clean(site: RunningApi, run_cli: Run) -> None:
    result = run_cli("teardown", "--poll=0.1", api=site, plan=render_plan([MULTI_VRF]))
    assert result.returncode == 0, result.stdout + result.stderr
    authorize(list(site.api.requests), hooks([MULTI_VRF]), "pre-delete")
    peers = site.api.routes["/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"]
    # The peers that name a profile are gone; the others are Helm's to delete.
    assert sorted(p["metadata"]["name"] for p in peers) == [
        "tenant-a-symmetric-routing-mgmt-rr-1", "tenant-a-symmetric-routing-mgmt-rr-2"]
    assert ("DONE  BGPPeer tenant-a-symmetric-routing-pay-a-tor-1 deleted before BFDProfile "
            "tenant-a-symmetric-routing-fast, which MetalLB keeps while a peer names it") in result.stdout
    assert helm_deletes(site, helm_sorted(manifest([MULTI_VRF]), UNINSTALL_ORDER)) == []
    assert site.api.routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/bfdprofiles"] == []


def test_a_failed_teardown_keeps_the_peers(site: RunningApi, run_cli: Run) -> None:
    """Helm stops the uninstall when the hook fails: the release keeps its peers."""
    Nmstate(site.api).outcomes["worker-1"] = "fail"
    result = run_cli("teardown", "--poll=0.1", api=site, plan=render_plan([MULTI_VRF]))
    assert result.returncode == 1
    assert not [r for r in site.api.requests if r.method == "DELETE"]


def test_an_upgrade_that_drops_a_profile_and_its_peers_ends_clean(site: RunningApi, run_cli: Run, tls: Tls,
                                                                  tmp_path: Path) -> None:
    new = without_pay_b(tmp_path)
    dropped = [d for d in helm_sorted(manifest([MULTI_VRF]), INSTALL_ORDER)
               if (d["kind"], d["metadata"]["name"]) not in {(n["kind"], n["metadata"]["name"]) for n in manifest([new])}]
    assert kinds_in_order([d for d in dropped if d["kind"] in PLURALS]) == ["BFDProfile", "BGPPeer"]
    # Helm renders the upgrade's hooks first, its lookup reading the cluster.
    rendered = looked_up(site, [new], tls, tmp_path)
    start = len(site.api.requests)
    result = run_cli("prune", "--poll=0.1", api=site, plan=render_plan([new]))
    assert result.returncode == 0, result.stdout + result.stderr
    authorize(site.api.requests[start:], rendered, "pre-upgrade")
    deleted = sorted(r.path.rsplit("/", 1)[1] for r in site.api.requests if r.method == "DELETE")
    assert deleted == ["edge-payments-b-tor-1", "tenant-a-symmetric-routing-pay-b-tor-2"]
    assert helm_deletes(site, dropped) == []


def looked_up(api: RunningApi, values: list[Path], tls: Tls, tmp_path: Path) -> list[dict[str, Any]]:
    """The hooks as `helm upgrade` renders them, its lookup reading the stand-in
    (`helm template --dry-run=server`): the discovery Helm asks first, and the CRDs the
    templates look for before they look up their objects."""
    routes = api.api.routes
    routes["/apis/metallb.io/v1beta2"] = {"kind": "APIResourceList", "groupVersion": "metallb.io/v1beta2", "resources": [
        {"name": "bgppeers", "namespaced": True, "kind": "BGPPeer", "verbs": ["get", "list"]}]}
    routes["/apis/nmstate.io/v1"] = {"kind": "APIResourceList", "groupVersion": "nmstate.io/v1", "resources": [
        {"name": "nodenetworkconfigurationpolicies", "namespaced": False, "kind": "NodeNetworkConfigurationPolicy",
         "verbs": ["get", "list"]}]}
    for crd in ("bgppeers.metallb.io", "nodenetworkconfigurationpolicies.nmstate.io"):
        routes[f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}"] = {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": crd}}
    clusters.with_discovery(routes)
    api.api.cache.clear()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, tls, api.api.token)
    result = helm.template("helm3", values, release=helm.RELEASE, namespace=helm.NAMESPACE,
                           env={"KUBECONFIG": str(kubeconfig)}, extra=("--dry-run=server",))
    assert result.returncode == 0, result.stderr
    return [d for d in result.documents if "helm.sh/hook" in (d["metadata"].get("annotations") or {})]


def authorize(made_requests: list[Any], rendered: list[dict[str, Any]], phase: str) -> None:
    """Every request the hook made is one the rendered rights of that phase allow its
    ServiceAccount (tests/support/apiserver.py, Rbac), and the peers' deletes need the
    delete rule: without it each is refused."""
    docs = [d for d in rendered if d["kind"] in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
            and phase in d["metadata"]["annotations"]["helm.sh/hook"].split(",")]
    [binding] = [d for d in docs if d["kind"] == "RoleBinding" and d["metadata"]["name"].endswith("-cleanup")]
    user = f"system:serviceaccount:{helm.NAMESPACE}:{binding['subjects'][0]['name']}"
    requests = [request_attributes(r.method, r.path) for r in made_requests]
    made = [a for a in requests if a is not None]
    assert [a for a in made if not Rbac(docs, {}).allows(user, *a)] == []
    deletes = [a for a in made if a[0] == "delete"]
    assert deletes
    for doc in docs:
        doc["rules"] = [r for r in doc.get("rules") or [] if "delete" not in r.get("verbs", [])]
    assert not any(Rbac(docs, {}).allows(user, *a) for a in deletes)


def test_a_rollback_that_drops_a_profile_and_its_peers_ends_clean(site: RunningApi, run_cli: Run,
                                                                  tmp_path: Path) -> None:
    """`helm rollback` to a revision without VRF pay-b: its stored prune (helm
    pkg/action/rollback.go runs the target revision's hooks) deletes pay-b's peers, whose
    names its own rules, rendered before they existed, lack: the pre-rollback Role allows it."""
    target = without_pay_b(tmp_path)
    start = len(site.api.requests)
    result = run_cli("prune", "--poll=0.1", api=site, plan=render_plan([target]))
    assert result.returncode == 0, result.stdout + result.stderr
    stored = hooks([target])
    named = [d for d in stored if d["kind"] == "Role" and d["metadata"]["name"].endswith("-cleanup")]
    assert "edge-payments-b-tor-1" not in yaml.safe_dump(named)
    authorize(site.api.requests[start:], stored, "pre-rollback")
    dropped = [d for d in helm_sorted(manifest([MULTI_VRF]), INSTALL_ORDER)
               if d["kind"] in PLURALS and d["metadata"]["name"] not in {n["metadata"]["name"] for n in manifest([target])}]
    assert helm_deletes(site, dropped) == []


def test_a_peer_the_hook_may_not_delete_is_a_warning_with_the_way_out(site: RunningApi, run_cli: Run,
                                                                        tmp_path: Path) -> None:
    """As under Argo CD, whose render looks nothing up: the nodes are clean, so the prune
    passes, and says which peer and profile to delete by hand, peer first."""
    peer = "/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers/edge-payments-b-tor-1"
    site.api.fail(peer, status=403, method="DELETE")
    result = run_cli("prune", "--poll=0.1", api=site, plan=render_plan([without_pay_b(tmp_path)]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("WARN  BGPPeer edge-payments-b-tor-1 not deleted (403 Forbidden: the cleanup may not delete "
            'bgppeers.metallb.io "edge-payments-b-tor-1" in namespace metallb-system.') in result.stdout
    assert ("delete the peer, then the profile (kubectl -n metallb-system delete bgppeer edge-payments-b-tor-1; "
            "kubectl -n metallb-system delete bfdprofile edge-payments-passive-bfd)") in result.stdout


def test_only_the_releases_own_peers_are_doomed() -> None:
    """A peer another release made (labelled for prod/tenant-a: same release name, another
    namespace, the ownership issue 12 names) is never deleted, even where the list
    request returned it: ownership is namespace and name (gather.owner_of)."""
    from symrouting.peers import doomed
    from symrouting.plan import parse_plan

    plan = parse_plan(json.loads(render_plan([MULTI_VRF])))
    peers = [doc for doc in manifest([MULTI_VRF]) if doc["kind"] == "BGPPeer" and doc["spec"].get("bfdProfile")]
    foreign = yaml.safe_load(yaml.safe_dump(peers[0]))
    foreign["metadata"]["name"] = "prod-peer"
    foreign["metadata"]["labels"]["symmetric-routing/release-namespace"] = "prod"
    names = [name for name, _ in doomed(plan, [*peers, foreign], uninstall=True)]
    assert names == sorted(p["metadata"]["name"] for p in peers) and "prod-peer" not in names


def test_with_cleanup_off_the_teardown_deletes_only_the_peers(site: RunningApi, run_cli: Run, tmp_path: Path) -> None:
    """cleanup.onUninstall: false keeps the nodes as they are, but MetalLB's webhook would
    still refuse Helm's delete of each BFDProfile a peer names (metallb
    internal/k8s/webhooks/webhookv1beta1/bfdprofile_webhook.go v0.16.1, validateBFDDelete):
    the teardown Job renders with --peers-only and deletes those peers alone."""
    keep = tmp_path / "keep.yaml"
    keep.write_text("cleanup: {onUninstall: false}\n")
    [job] = [d for d in hooks([MULTI_VRF, keep]) if d["kind"] == "Job" and "pre-delete" in
             d["metadata"]["annotations"]["helm.sh/hook"]]
    args = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "teardown" in args and "--peers-only" in args
    nmstate = Nmstate(site.api)
    start = len(site.api.requests)
    result = run_cli(*[a for a in args if a in ("teardown", "--peers-only")], api=site,
                     plan=render_plan([MULTI_VRF, keep]))
    assert result.returncode == 0, result.stdout + result.stderr
    authorize(site.api.requests[start:], hooks([MULTI_VRF, keep]), "pre-delete")
    assert nmstate.updates == [], "the nodes were to be left alone"
    assert helm_deletes(site, helm_sorted(manifest([MULTI_VRF, keep]), UNINSTALL_ORDER)) == []
    assert site.api.routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/bfdprofiles"] == []


def test_with_cleanup_off_and_no_bfd_no_teardown_renders(tmp_path: Path) -> None:
    keep = tmp_path / "keep.yaml"
    keep.write_text("cleanup: {onUninstall: false}\n")
    seed = helm.CHART / "ci" / "seed-values.yaml"
    assert not [d for d in hooks([seed, keep]) if "pre-delete" in d["metadata"]["annotations"]["helm.sh/hook"]]
