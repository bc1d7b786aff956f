"""BGPPeers go before their BFDProfiles: Helm's own delete order refuses that, the cleanup
hooks fix it (hooks/symrouting/peers.py).

Helm's order is reproduced from helm pkg/release/v1/util/kind_sorter.go (InstallOrder,
UninstallOrder, lessByKind: known kinds by their index, unknown kinds after them,
alphabetically, ties in manifest order); an uninstall deletes kind after kind in that order
and ignores 404s (pkg/kube/client.go, Delete, batchPerform); an upgrade deletes what the new
manifest drops in the old manifest's order, InstallOrder (client.go, Update), and records a
failed delete as an error. The refusal is MetalLB's own: its controller v0.16.1 runs beside
the real API server with its webhooks registered (tests/support/realmetallb.py), whose
BFDProfile webhook refuses to delete a profile a BGPPeer names (metallb
internal/k8s/webhooks/webhookv1beta1/bfdprofile_webhook.go, validateBFDDelete). The hooks run
with a real token of the ServiceAccount the chart renders, bound by the rendered Roles, so
the real RBAC authorizer judges every request.

Slow (the first test of a worker 20-40 s): it starts a control plane with MetalLB's
controller, shared by the module.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.hooks.conftest import render_plan
from tests.support import clusters, helm, nmstatecheck, realapi, realmetallb
from tests.support.nmstatehandler import POLICIES, NmstateHandler
from tests.support.nodestate import Node, Refused
from tests.support.realapi import RealApi, request_attributes

# One control plane with MetalLB's controller for the module: scripts/test.sh runs a group on
# one pytest worker (--dist loadgroup), so it starts once.
pytestmark = pytest.mark.xdist_group("delete-order")

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


PEERS = f"/apis/metallb.io/v1beta2/namespaces/{realmetallb.NAMESPACE}/bgppeers"
PROFILES = f"/apis/metallb.io/v1beta1/namespaces/{realmetallb.NAMESPACE}/bfdprofiles"
# Where Helm creates each kind the site needs here, and each RBAC kind of the hooks.
RBAC = "/apis/rbac.authorization.k8s.io/v1"
COLLECTIONS = {"Secret": "/api/v1/namespaces/{ns}/secrets", "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
               "NodeNetworkConfigurationPolicy": POLICIES, "BFDProfile": PROFILES, "BGPPeer": PEERS,
               "Role": RBAC + "/namespaces/{ns}/roles", "RoleBinding": RBAC + "/namespaces/{ns}/rolebindings",
               "ClusterRole": RBAC + "/clusterroles", "ClusterRoleBinding": RBAC + "/clusterrolebindings"}
RBAC_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")


def helm_creates(api: RealApi, docs: list[dict[str, Any]]) -> None:
    """Creates the objects as Helm does (field manager helm), in the order given; `reset`
    deletes them in the reverse order."""
    for doc in docs:
        collection = COLLECTIONS[doc["kind"]].format(ns=doc["metadata"].get("namespace", ""))
        body = copy.deepcopy(doc)
        body["metadata"].pop("resourceVersion", None)
        api.client.call("POST", f"{collection}?fieldManager=helm", body)
        api.loaded.append(f"{collection}/{doc['metadata']['name']}")


def helm_deletes(api: RealApi, docs: list[dict[str, Any]]) -> list[str]:
    """Helm's deletes of these objects, in this order (background propagation, as
    pkg/kube/client.go deletes): the errors it would report (a 404 is not one)."""
    errors = []
    for doc in docs:
        if doc["kind"] not in PLURALS:
            continue
        code, body = api.client.request("DELETE", f"{path_of(doc)}/{doc['metadata']['name']}"
                                                  "?propagationPolicy=Background")
        if code not in (200, 404):
            errors.append(body.get("message", "") if isinstance(body, dict) else str(body))
    return errors


def names(api: RealApi, collection: str) -> list[str]:
    return sorted(item["metadata"]["name"] for item in api.client.items(collection))


def without_pay_b(tmp_path: Path) -> Path:
    """The multi-VRF site without VRF pay-b, whose peers alone use the `passive` profile, and
    without that profile: an upgrade that drops a profile and its peers."""
    values = yaml.safe_load(MULTI_VRF.read_text())
    del values["vrfs"]["pay-b"]
    del values["bfdProfiles"]["passive"]
    path = tmp_path / "without-pay-b.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.fixture(scope="module")
def metallb_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealApi]:
    """A control plane of this module's own, behind the proxy, with MetalLB's controller and its
    webhooks live (tests/realcluster/upstream/ starts it the same way)."""
    folder = tmp_path_factory.mktemp("delete-order")
    api = realapi.start(folder)
    try:
        metallb = realmetallb.start(api.cluster, folder / "metallb")
    except BaseException:
        api.stop()
        api.cluster.stop()
        raise
    yield api
    metallb.stop()
    api.stop()
    api.cluster.stop()


Site = tuple[RealApi, NmstateHandler]


@pytest.fixture
def site(metallb_api: RealApi) -> Iterator[Site]:
    """Three workers of the multi-VRF site, installed as Helm installs it (InstallOrder): the
    peers' password Secrets, its policies, applied by nmstate's handler, its profiles and
    peers in MetalLB's namespace, each admitted by MetalLB's webhooks."""
    api = metallb_api
    api.reset()
    nmstate = NmstateHandler(api.cluster.client(), check_desired_state=nmstatecheck.refusal)
    labels = {"node-role.kubernetes.io/worker": "", "tenant.example.com/payments": "true"}
    nodes = [clusters.node(f"worker-{i}", {**labels, **({"tenant.example.com/mgmt": "true"} if i == 0 else {})})
             for i in range(3)]
    api.load(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"], nodes=nodes))
    helm_creates(api, [d for d in helm_sorted(manifest([MULTI_VRF]), INSTALL_ORDER)
                       if d["kind"] in ("Secret", "NodeNetworkConfigurationPolicy", *PLURALS)])
    nmstate.settle()
    assert not nmstate.errors, nmstate.errors
    api.proxy.clear()
    yield api, nmstate
    nmstate.stop()
    nmstate.settle_work()
    api.reset()


def grant(api: RealApi, rendered: list[dict[str, Any]], phase: str) -> tuple[RealApi, str]:
    """The rendered ServiceAccounts and rights of the hooks of that phase (a rollback's apart
    from the rest), created in the server; a view of the server that the cleanup hook reaches
    with its account's real token, and its user name. Waits until the RBAC authorizer has them."""
    docs = [d for d in rendered if d["kind"] in RBAC_KINDS
            and phase in d["metadata"]["annotations"]["helm.sh/hook"].split(",")]
    helm_creates(api, docs)
    [account] = [d for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"].endswith("-cleanup")]
    namespace, name = account["metadata"]["namespace"], account["metadata"]["name"]
    user = f"system:serviceaccount:{namespace}:{name}"
    deadline = time.monotonic() + 30
    while not allowed(api, user, ("list", "metallb.io", realmetallb.NAMESPACE, "bgppeers", "")):
        assert time.monotonic() < deadline, "the RBAC authorizer did not catch up in 30 s"
        time.sleep(0.05)
    view = copy.copy(api)
    view.token = api.cluster.token(namespace, name)
    return view, user


def allowed(api: RealApi, user: str, attributes: tuple[str, str, str, str, str]) -> bool:
    """The real authorizer's answer (a SubjectAccessReview, as the admin)."""
    verb, group, namespace, resource, name = attributes
    review = api.client.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{user.split(':')[2]}"],
                 "resourceAttributes": {"verb": verb, "group": group, "resource": resource,
                                        "namespace": namespace, "name": name}}})
    return bool(review["status"].get("allowed"))


def kinds_in_order(docs: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(d["kind"] for d in docs))


def test_helm_deletes_bfd_profiles_before_peers() -> None:
    docs = manifest([MULTI_VRF])
    for order in (UNINSTALL_ORDER, INSTALL_ORDER):
        kinds = kinds_in_order(helm_sorted(docs, order))
        assert kinds.index("BFDProfile") < kinds.index("BGPPeer"), kinds


def test_without_the_hook_helms_uninstall_is_refused_and_leaves_the_profiles(site: Site) -> None:
    """The issue, reproduced: MetalLB's webhook refuses Helm's delete of each profile."""
    api, _ = site
    errors = helm_deletes(api, helm_sorted(manifest([MULTI_VRF]), UNINSTALL_ORDER))
    assert len(errors) == 2 and all('admission webhook "bfdprofilevalidationwebhook.metallb.io" denied the '
                                    "request: failed to delete BFDProfile" in e for e in errors), errors
    assert len(names(api, PROFILES)) == 2


def test_the_teardown_deletes_the_peers_so_helms_uninstall_ends_clean(site: Site, run_cli: Run) -> None:
    api, _ = site
    hook, user = grant(api, hooks([MULTI_VRF]), "pre-delete")
    result = run_cli("teardown", "--poll=0.1", api=hook, plan=render_plan([MULTI_VRF]))
    assert result.returncode == 0, result.stdout + result.stderr
    authorize(api, list(api.requests), user)
    # The peers that name a profile are gone; the others are Helm's to delete.
    assert names(api, PEERS) == ["tenant-a-symmetric-routing-mgmt-rr-1", "tenant-a-symmetric-routing-mgmt-rr-2"]
    assert ("DONE  BGPPeer tenant-a-symmetric-routing-pay-a-tor-1 deleted before BFDProfile "
            "tenant-a-symmetric-routing-fast, which MetalLB keeps while a peer names it") in result.stdout
    assert helm_deletes(api, helm_sorted(manifest([MULTI_VRF]), UNINSTALL_ORDER)) == []
    assert names(api, PROFILES) == []


class Refusing(Node):
    """A node whose NetworkManager refuses every state (nmstate rolls it back)."""

    def apply(self, state: dict[str, Any]) -> None:
        raise Refused("InvalidArgument: the node refuses the state")


def test_a_failed_teardown_keeps_the_peers(site: Site, run_cli: Run) -> None:
    """Helm stops the uninstall when the hook fails: the release keeps its peers."""
    api, nmstate = site
    nmstate.nodes["worker-1"] = Refusing()
    before = names(api, PEERS)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([MULTI_VRF]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "worker-1" in result.stdout and "the node refuses the state" in result.stdout
    assert not [r for r in api.requests if r.method == "DELETE"]
    assert names(api, PEERS) == before and len(before) == 6


def test_an_upgrade_that_drops_a_profile_and_its_peers_ends_clean(site: Site, run_cli: Run, tmp_path: Path) -> None:
    api, _ = site
    new = without_pay_b(tmp_path)
    dropped = [d for d in helm_sorted(manifest([MULTI_VRF]), INSTALL_ORDER)
               if (d["kind"], d["metadata"]["name"]) not in {(n["kind"], n["metadata"]["name"]) for n in manifest([new])}]
    assert kinds_in_order([d for d in dropped if d["kind"] in PLURALS]) == ["BFDProfile", "BGPPeer"]
    # Helm renders the upgrade's hooks first, its lookup reading the cluster.
    rendered = looked_up(api, [new], tmp_path)
    hook, user = grant(api, rendered, "pre-upgrade")
    start = len(api.requests)
    result = run_cli("prune", "--poll=0.1", api=hook, plan=render_plan([new]))
    assert result.returncode == 0, result.stdout + result.stderr
    authorize(api, api.requests[start:], user)
    deleted = sorted(r.path.rsplit("/", 1)[1] for r in api.requests[start:] if r.method == "DELETE")
    assert deleted == ["edge-payments-b-tor-1", "tenant-a-symmetric-routing-pay-b-tor-2"]
    assert helm_deletes(api, dropped) == []


def looked_up(api: RealApi, values: list[Path], tmp_path: Path) -> list[dict[str, Any]]:
    """The hooks as `helm upgrade` renders them, its lookup reading the real server
    (`helm template --dry-run=server`: its discovery, its CRDs, the release's objects)."""
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    result = helm.template("helm3", values, release=helm.RELEASE, namespace=helm.NAMESPACE,
                           env={"KUBECONFIG": str(kubeconfig)}, extra=("--dry-run=server",))
    assert result.returncode == 0, result.stderr
    return [d for d in result.documents if "helm.sh/hook" in (d["metadata"].get("annotations") or {})]


def authorize(api: RealApi, made_requests: list[Any], user: str) -> None:
    """The hook made every request as its ServiceAccount, and the real authorizer refused none;
    the peers' deletes need the delete rule: without it the authorizer refuses each."""
    made = [r for r in made_requests if r.user == user]
    assert made and [(r.method, r.path) for r in made_requests if r.user != user] == []
    assert [(r.method, r.path, r.code) for r in made if r.code in (401, 403)] == []
    deletes = [a for a in (request_attributes(r.method, r.path) for r in made) if a is not None and a[0] == "delete"]
    assert deletes and all(allowed(api, user, a) for a in deletes)
    for kind in ("roles", "clusterroles"):
        for role in api.client.items(f"{RBAC}/{kind}"):
            if "symmetric-routing" in role["metadata"]["name"]:
                role["rules"] = [r for r in role.get("rules") or [] if "delete" not in r.get("verbs", [])]
                scope = f"/namespaces/{role['metadata']['namespace']}" if kind == "roles" else ""
                api.client.call("PUT", f"{RBAC}{scope}/{kind}/{role['metadata']['name']}", role)
    deadline = time.monotonic() + 30
    while any(allowed(api, user, a) for a in deletes):
        assert time.monotonic() < deadline, "the RBAC authorizer still allows a delete without the delete rule"
        time.sleep(0.05)


def test_a_rollback_that_drops_a_profile_and_its_peers_ends_clean(site: Site, run_cli: Run,
                                                                  tmp_path: Path) -> None:
    """`helm rollback` to a revision without VRF pay-b: its stored prune (helm
    pkg/action/rollback.go runs the target revision's hooks) deletes pay-b's peers, whose
    names its own rules, rendered before they existed, lack: the pre-rollback Role allows it."""
    api, _ = site
    target = without_pay_b(tmp_path)
    stored = hooks([target])
    named = [d for d in stored if d["kind"] == "Role" and d["metadata"]["name"].endswith("-cleanup")]
    assert "edge-payments-b-tor-1" not in yaml.safe_dump(named)
    hook, user = grant(api, stored, "pre-rollback")
    start = len(api.requests)
    result = run_cli("prune", "--poll=0.1", api=hook, plan=render_plan([target]))
    assert result.returncode == 0, result.stdout + result.stderr
    authorize(api, api.requests[start:], user)
    dropped = [d for d in helm_sorted(manifest([MULTI_VRF]), INSTALL_ORDER)
               if d["kind"] in PLURALS and d["metadata"]["name"] not in {n["metadata"]["name"] for n in manifest([target])}]
    assert helm_deletes(api, dropped) == []


def test_a_peer_the_hook_may_not_delete_is_a_warning_with_the_way_out(site: Site, run_cli: Run,
                                                                        tmp_path: Path) -> None:
    """As under Argo CD, whose render looks nothing up: the nodes are clean, so the prune
    passes, and says which peer and profile to delete by hand, peer first."""
    api, _ = site
    peer = f"{PEERS}/edge-payments-b-tor-1"
    api.fail(peer, 403, method="DELETE")
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([without_pay_b(tmp_path)]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("WARN  BGPPeer edge-payments-b-tor-1 not deleted (403 Forbidden: the cleanup may not delete "
            'bgppeers.metallb.io "edge-payments-b-tor-1" in namespace metallb-system.') in result.stdout
    assert ("delete the peer, then the profile (kubectl -n metallb-system delete bgppeer edge-payments-b-tor-1; "
            "kubectl -n metallb-system delete bfdprofile edge-payments-passive-bfd)") in result.stdout
    # and MetalLB then refuses Helm's delete of that profile, as the warning says
    assert api.client.get(peer) is not None
    errors = helm_deletes(api, [{"kind": "BFDProfile", "apiVersion": "metallb.io/v1beta1",
                                 "metadata": {"name": "edge-payments-passive-bfd", "namespace": realmetallb.NAMESPACE}}])
    assert len(errors) == 1 and "used by BGPPeer edge-payments-b-tor-1" in errors[0], errors


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


def test_with_cleanup_off_the_teardown_deletes_only_the_peers(site: Site, run_cli: Run, tmp_path: Path) -> None:
    """cleanup.onUninstall: false keeps the nodes as they are, but MetalLB's webhook would
    still refuse Helm's delete of each BFDProfile a peer names (metallb
    internal/k8s/webhooks/webhookv1beta1/bfdprofile_webhook.go v0.16.1, validateBFDDelete):
    the teardown Job renders with --peers-only and deletes those peers alone."""
    api, nmstate = site
    keep = tmp_path / "keep.yaml"
    keep.write_text("cleanup: {onUninstall: false}\n")
    [job] = [d for d in hooks([MULTI_VRF, keep]) if d["kind"] == "Job" and "pre-delete" in
             d["metadata"]["annotations"]["helm.sh/hook"]]
    args = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "teardown" in args and "--peers-only" in args
    policies = {p["metadata"]["name"]: p["metadata"]["generation"] for p in api.client.items(POLICIES)}
    hook, user = grant(api, hooks([MULTI_VRF, keep]), "pre-delete")
    start = len(api.requests)
    result = run_cli(*[a for a in args if a in ("teardown", "--peers-only")], api=hook,
                     plan=render_plan([MULTI_VRF, keep]))
    assert result.returncode == 0, result.stdout + result.stderr
    authorize(api, api.requests[start:], user)
    nmstate.settle()
    assert {p["metadata"]["name"]: p["metadata"]["generation"] for p in api.client.items(POLICIES)} == policies
    assert [name for name, generation, _ in nmstate.applied if generation > 1] == [], "the nodes were to be left alone"
    assert helm_deletes(api, helm_sorted(manifest([MULTI_VRF, keep]), UNINSTALL_ORDER)) == []
    assert names(api, PROFILES) == []


def test_with_cleanup_off_and_no_bfd_no_teardown_renders(tmp_path: Path) -> None:
    keep = tmp_path / "keep.yaml"
    keep.write_text("cleanup: {onUninstall: false}\n")
    seed = helm.CHART / "ci" / "seed-values.yaml"
    assert not [d for d in hooks([seed, keep]) if "pre-delete" in d["metadata"]["annotations"]["helm.sh/hook"]]
