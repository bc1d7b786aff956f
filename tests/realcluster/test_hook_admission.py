"""The hooks' admission policy (templates/validatingadmissionpolicy.yaml) on the real API
server of tests/support/realcluster.py (kube-apiserver v1.36.3, RBAC, real ServiceAccount
tokens from TokenRequest).

Releases are installed with the real `helm install --no-hooks` (Helm reads the server's
discovery into .Capabilities, so the chart itself decides to render the policy), and the
hook ServiceAccounts and RBAC the release stored (`helm get hooks`) are applied as Helm would
apply them in a hook. Each write goes to the server with a hook account's own token: what
RBAC and the admission policy (apiserver v0.36.3 pkg/admission/plugin/policy/validating)
answer is the server's. A `fallback` release is rendered by `helm template` without the API
(a cluster before Kubernetes 1.30 / OpenShift 4.17 renders the same): rights by name.

Slow (20-40 s each): real installs of several releases to write across.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm, realcluster

SEED = helm.CHART / "ci" / "seed-values.yaml"
POLICIES = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
PEERS = "/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"
HOOK_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
OWNER = ("app.kubernetes.io/instance", "symmetric-routing/release-namespace")
# Release -> namespace. Names of their own, so that other tests on the same server (the seed
# as tenant-a in test) meet none of these objects.
OURS, THEIRS, FALLBACK, UPGRADING = "adm-a", "adm-blue", "adm-green", "adm-copper"
NAMESPACES = {OURS: "adm-a-ns", THEIRS: "adm-blue-ns", FALLBACK: "adm-green-ns", UPGRADING: "adm-copper-ns"}


def site_values(release: str, tmp: Path) -> Path:
    """The seed with every explicitly named object named after the release."""
    path = tmp / f"{release}.yaml"
    path.write_text(yaml.safe_dump({"vrfs": {"ens4vrf": {
        "policy": {"name": f"{release}-policy"},
        "bgpPeers": {"frrviavrf": {"name": f"{release}-peer"}},
        "addressPools": {"first-pool": {"name": f"{release}-pool"}},
        "bgpAdvertisements": {"first-adv": {"name": f"{release}-adv"}}}}}))
    return path


def vap_name(release: str, role: str = "hooks") -> str:
    return f"{NAMESPACES[release]}-{release}-symmetric-routing-{role}"


def account(release: str, role: str) -> str:
    return f"{release}-symmetric-routing-{role}"


def denial(release: str, resource: str, name: str, why: str, role: str = "hooks") -> str:
    """The message of the release's admission policy refusing a write (templates/_hooks.tpl,
    symmetric-routing.hookAdmissionPolicySpec), as the API server wraps it (dispatcher.go)."""
    owner = f"{NAMESPACES[release]}/{release}"
    if why == "relabel":
        said = (f"the hooks of release {owner} may not relabel {resource} {name}: its labels "
                "app.kubernetes.io/instance and symmetric-routing/release-namespace must stay as they are")
    else:
        said = (f"the hooks of release {owner} may write only the release's own policies and peers: {resource} {name} "
                f"{why} app.kubernetes.io/instance={release}, symmetric-routing/release-namespace={NAMESPACES[release]}")
    return (f"ValidatingAdmissionPolicy '{vap_name(release, role)}' with binding '{vap_name(release, role)}' "
            f"denied request: {said}")


@dataclass
class Site:
    cluster: realcluster.RealCluster
    hooks: dict[str, list[dict[str, Any]]]
    env: dict[str, str]

    def token(self, release: str, role: str) -> str:
        return self.cluster.token(NAMESPACES[release], account(release, role))

    def write(self, token: str, method: str, path: str, change: Callable[[dict[str, Any]], None] | None = None,
              dry_run: bool = False) -> tuple[int, str]:
        """A PUT (the object as the admin reads it, changed) or a DELETE with a hook's token:
        the HTTP code and the server's message."""
        body = None
        if method == "PUT":
            body = self.cluster.request("GET", path)
            if change:
                change(body)
        query = "?dryRun=All" if dry_run else ""
        try:
            self.cluster.request(method, path + query, body, token=token)
        except realcluster.ApiError as error:
            return error.code, str(error.status.get("message", ""))
        return 200, ""


def relabel(release: str) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        obj["metadata"]["labels"].update({OWNER[0]: release, OWNER[1]: NAMESPACES[release]})
    return change


def add_route(obj: dict[str, Any]) -> None:
    """What a prune sends: the policy's state with one more route set absent."""
    state = obj["spec"].setdefault("desiredState", {})
    state.setdefault("routes", {}).setdefault("config", []).append(
        {"destination": "10.99.0.0/16", "next-hop-address": "192.168.130.1", "state": "absent"})


def ensure(cluster: realcluster.RealCluster, path: str, obj: dict[str, Any]) -> None:
    try:
        cluster.request("POST", path, obj)
    except realcluster.ApiError as error:
        if error.code != 409:
            raise


def apply(cluster: realcluster.RealCluster, docs: list[dict[str, Any]]) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def in_force(site: Site, token: str, path: str, deadline: float = 30.0) -> None:
    """Waits until the API server enforces a new policy (its admission plugin reads policies
    and bindings through informers): a dry-run write it must refuse is refused."""
    end = time.monotonic() + deadline
    while True:
        code, message = site.write(token, "PUT", path, dry_run=True)
        if code == 403 and "ValidatingAdmissionPolicy" in message:
            return
        assert time.monotonic() < end, f"the admission policy is not in force after {deadline:.0f} s: {code} {message}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def site(real_cluster: realcluster.RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Site:
    tmp = tmp_path_factory.mktemp("admission")
    cluster = real_cluster
    env = {"KUBECONFIG": str(cluster.kubeconfig)}
    for namespace in [*NAMESPACES.values(), "metallb-system", "openshift-frr-k8s"]:
        ensure(cluster, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    hooks: dict[str, list[dict[str, Any]]] = {}
    for release in (OURS, THEIRS):
        values = site_values(release, tmp)
        done = helm.run("helm3", "install", release, str(helm.CHART), "-n", NAMESPACES[release], "-f", str(SEED),
                        "-f", str(values), "--no-hooks", env=env)
        assert done.returncode == 0, done.stderr
        stored = helm.run("helm3", "get", "hooks", release, "-n", NAMESPACES[release], env=env)
        assert stored.returncode == 0, stored.stderr
        hooks[release] = stored.documents
        apply(cluster, [d for d in stored.documents if d["kind"] in HOOK_KINDS])
    # The fallback release: rendered without the API, its objects and hook rights applied
    # as the admin (Argo CD's sync, or `helm template | kubectl apply`, would apply the same).
    rendered = helm.template("helm3", [SEED, site_values(FALLBACK, tmp)], release=FALLBACK,
                             namespace=NAMESPACES[FALLBACK])
    assert rendered.returncode == 0, rendered.stderr
    hooks[FALLBACK] = [d for d in rendered.documents if "helm.sh/hook" in d["metadata"].get("annotations", {})]
    # Not the pre-rollback rights: they exist only while a rollback's prune runs.
    apply(cluster, [d for d in rendered.documents if d["kind"] in (*HOOK_KINDS, "NodeNetworkConfigurationPolicy")
                    and not d["metadata"]["name"].endswith("-rollback")])
    # Hand-made objects of no release: the documentation's procedure applied by hand.
    ensure(cluster, POLICIES, {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
                               "metadata": {"name": "adm-handmade"}, "spec": {"desiredState": {"interfaces": []}}})
    ensure(cluster, PEERS, {"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "adm-handmade"},
                            "spec": {"myASN": 100, "peerASN": 200, "peerAddress": "192.168.140.1"}})
    site = Site(cluster, hooks, env)
    in_force(site, site.token(OURS, "cleanup"), f"{POLICIES}/{THEIRS}-policy")
    return site


def test_helm_renders_the_policy_from_the_servers_discovery(site: Site) -> None:
    """helm install reads the server's API versions (helm v3.19 pkg/action/action.go,
    GetVersionSet: "<group/version>/<Kind>"), so the release holds the policy and its binding,
    its stored hook rights update and delete without resourceNames, and no rollback role."""
    for release in (OURS, THEIRS):
        policy = site.cluster.request(
            "GET", f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/{vap_name(release)}")
        assert policy["metadata"]["labels"]["app.kubernetes.io/instance"] == release
        binding = site.cluster.request(
            "GET", f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/{vap_name(release)}")
        assert binding["spec"] == {"policyName": vap_name(release), "validationActions": ["Deny"]}
    stored = {(d["kind"], d["metadata"]["name"]): d for d in site.hooks[OURS]}
    assert not [key for key in stored if key[1].endswith("-rollback")]
    writes = [rule for doc in site.hooks[OURS] if doc["kind"] in ("Role", "ClusterRole")
              for rule in doc["rules"] if {"update", "delete"} & set(rule["verbs"]) and rule["apiGroups"] != ["coordination.k8s.io"]]
    assert writes and all("resourceNames" not in rule for rule in writes)


def test_a_hook_may_not_write_another_releases_object_or_one_of_no_release(site: Site) -> None:
    token = site.token(OURS, "cleanup")
    before = site.cluster.request("GET", f"{POLICIES}/{THEIRS}-policy")
    cases = [
        ("PUT", f"{POLICIES}/{THEIRS}-policy", "nodenetworkconfigurationpolicies", f"{THEIRS}-policy"),
        ("PUT", f"{POLICIES}/adm-handmade", "nodenetworkconfigurationpolicies", "adm-handmade"),
        ("DELETE", f"{PEERS}/{THEIRS}-peer", "bgppeers", f"{THEIRS}-peer"),
        ("DELETE", f"{PEERS}/adm-handmade", "bgppeers", "adm-handmade"),
    ]
    for method, path, resource, name in cases:
        code, message = site.write(token, method, path, add_route if method == "PUT" else None)
        assert (code, message) == (403, f'{resource}.{"nmstate.io" if "nmstate" in path else "metallb.io"} "{name}" '
                                        f"is forbidden: {denial(OURS, resource, name, 'is not labelled')}"), method
    after = site.cluster.request("GET", f"{POLICIES}/{THEIRS}-policy")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    site.cluster.request("GET", f"{PEERS}/{THEIRS}-peer")
    # The hooks' own client says what refused it, and asks for no grant (api.py, answer_error).
    sys.path.insert(0, str(helm.CHART / "hooks"))
    from symrouting.api import ApiError, HttpsTransport

    client = HttpsTransport(site.cluster.url, token, site.cluster.pki.ca_file, role="cleanup")
    with pytest.raises(ApiError) as refused:
        client.put(f"{POLICIES}/adm-handmade", site.cluster.request("GET", f"{POLICIES}/adm-handmade"))
    refusal = 'nodenetworkconfigurationpolicies.nmstate.io "adm-handmade"'
    said = denial(OURS, "nodenetworkconfigurationpolicies", "adm-handmade", "is not labelled")
    policy, _, message = said.partition(" denied request: ")
    assert str(refused.value) == (
        f"403 Forbidden: {policy.split(' with binding ')[0]} denied the request to update {refusal}: {message}. "
        "The request was authorized (this is no missing permission): see that webhook's or policy's rules, "
        "or ask its owner")


def test_a_hook_may_not_relabel(site: Site) -> None:
    """Taking another release's policy over, giving its own away, or dropping the labels."""
    token = site.token(OURS, "cleanup")

    def unlabel(obj: dict[str, Any]) -> None:
        for key in OWNER:
            obj["metadata"]["labels"].pop(key)

    for path, name, change in ((f"{POLICIES}/{THEIRS}-policy", f"{THEIRS}-policy", relabel(OURS)),
                               (f"{POLICIES}/{OURS}-policy", f"{OURS}-policy", relabel(THEIRS)),
                               (f"{POLICIES}/{OURS}-policy", f"{OURS}-policy", unlabel)):
        code, message = site.write(token, "PUT", path, change)
        assert (code, message) == (403, f'nodenetworkconfigurationpolicies.nmstate.io "{name}" is forbidden: '
                                        f"{denial(OURS, 'nodenetworkconfigurationpolicies', name, 'relabel')}")
    labels = site.cluster.request("GET", f"{POLICIES}/{OURS}-policy")["metadata"]["labels"]
    assert (labels[OWNER[0]], labels[OWNER[1]]) == (OURS, NAMESPACES[OURS])


def test_the_releases_own_writes_pass(site: Site) -> None:
    """The prune's update of the release's policy, of a policy of the release that no render
    names (a per-node policy a change dropped: Argo CD has no lookup to name it), and the
    delete of the release's peer."""
    token = site.token(OURS, "cleanup")
    dropped = copy.deepcopy(site.cluster.request("GET", f"{POLICIES}/{OURS}-policy"))
    dropped["metadata"] = {"name": f"{OURS}-ens4vrf-worker-9", "labels": dropped["metadata"]["labels"]}
    ensure(site.cluster, POLICIES, dropped)
    for name in (f"{OURS}-policy", f"{OURS}-ens4vrf-worker-9"):
        before = site.cluster.request("GET", f"{POLICIES}/{name}")
        assert site.write(token, "PUT", f"{POLICIES}/{name}", add_route) == (200, "")
        after = site.cluster.request("GET", f"{POLICIES}/{name}")
        assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
        assert after["spec"]["desiredState"]["routes"]["config"][-1]["state"] == "absent"
    assert site.write(token, "DELETE", f"{PEERS}/{OURS}-peer") == (200, "")
    with pytest.raises(realcluster.ApiError) as gone:
        site.cluster.request("GET", f"{PEERS}/{OURS}-peer")
    assert gone.value.code == 404


def test_the_policy_binds_the_hooks_alone_and_adds_no_right(site: Site) -> None:
    """The admin (no hook account: matchConditions) relabels freely; the preflight and the
    verify, which the policy also matches, still have no write right at all: RBAC refuses
    them before admission."""
    admin = site.cluster.request("GET", f"{POLICIES}/adm-handmade")
    admin["metadata"].setdefault("labels", {})["relabelled-by"] = "admin"
    site.cluster.request("PUT", f"{POLICIES}/adm-handmade", admin)
    for role in ("preflight", "verify"):
        code, message = site.write(site.token(OURS, role), "PUT", f"{POLICIES}/{OURS}-policy")
        user = f"system:serviceaccount:{NAMESPACES[OURS]}:{account(OURS, role)}"
        assert (code, message) == (403, f'nodenetworkconfigurationpolicies.nmstate.io "{OURS}-policy" is forbidden: '
                                        f'User "{user}" cannot update resource "nodenetworkconfigurationpolicies" '
                                        'in API group "nmstate.io" at the cluster scope'), role


def test_the_hook_copy_covers_an_upgrade_that_brings_the_policy(site: Site) -> None:
    """An upgrade from a chart version (or a cluster) without the policy runs the prune with
    the new rights before Helm creates the release's own policy: without the copy that lives
    with the cleanup's rights, its writes would be limited by nothing."""
    release = UPGRADING
    rendered = helm.template("helm3", [SEED, site_values(release, site.cluster.folder)], release=release,
                             namespace=NAMESPACES[release], extra=helm.ADMISSION_POLICY_APIS)
    assert rendered.returncode == 0, rendered.stderr
    hooks = [d for d in rendered.documents if "pre-upgrade" in d["metadata"].get("annotations", {}).get("helm.sh/hook", "")]
    apply(site.cluster, [d for d in hooks if d["kind"] in HOOK_KINDS])
    token = site.token(release, "cleanup")
    target = f"{POLICIES}/{THEIRS}-policy"
    assert site.write(token, "PUT", target, add_route, dry_run=True) == (200, ""), "the window the copy closes"
    copies = [d for d in hooks if d["kind"].startswith("ValidatingAdmissionPolicy")]
    assert {d["metadata"]["name"] for d in copies} == {vap_name(release, "cleanup")}
    apply(site.cluster, copies)
    in_force(site, token, target)
    code, message = site.write(token, "PUT", target, add_route)
    assert (code, message) == (403, f'nodenetworkconfigurationpolicies.nmstate.io "{THEIRS}-policy" is forbidden: '
                                    f"{denial(release, 'nodenetworkconfigurationpolicies', f'{THEIRS}-policy', 'is not labelled', 'cleanup')}")


def test_without_the_api_the_rights_name_the_objects(site: Site) -> None:
    """The fallback (rights by name, as before): the release's rendered policy may be
    updated, another release's may not, nor the release's own policy that no render names
    (Argo CD's dropped per-node policy: the README's by-hand step); and the pre-rollback
    ClusterRole the fallback needs lets the hook update any policy while it runs."""
    token = site.token(FALLBACK, "cleanup")
    user = f"system:serviceaccount:{NAMESPACES[FALLBACK]}:{account(FALLBACK, 'cleanup')}"
    assert site.write(token, "PUT", f"{POLICIES}/{FALLBACK}-policy", add_route, dry_run=True) == (200, "")
    dropped = copy.deepcopy(site.cluster.request("GET", f"{POLICIES}/{FALLBACK}-policy"))
    dropped["metadata"] = {"name": f"{FALLBACK}-ens4vrf-worker-9", "labels": dropped["metadata"]["labels"]}
    ensure(site.cluster, POLICIES, dropped)
    for name in (f"{THEIRS}-policy", f"{FALLBACK}-ens4vrf-worker-9"):
        assert site.write(token, "PUT", f"{POLICIES}/{name}", add_route, dry_run=True) == (
            403, f'nodenetworkconfigurationpolicies.nmstate.io "{name}" is forbidden: User "{user}" cannot update '
                 'resource "nodenetworkconfigurationpolicies" in API group "nmstate.io" at the cluster scope')
    rollback = [d for d in site.hooks[FALLBACK] if d["metadata"]["name"].endswith("-rollback")]
    assert {d["kind"] for d in rollback} == {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    apply(site.cluster, rollback)
    deadline = time.monotonic() + 10
    while site.write(token, "PUT", f"{POLICIES}/{THEIRS}-policy", add_route, dry_run=True)[0] != 200:
        assert time.monotonic() < deadline, "the rollback ClusterRole did not take effect"
        time.sleep(0.2)


def preflight(site: Site, release: str) -> str:
    """The release's preflight command, as its Job runs it, with the preflight's token."""
    [configmap] = [d for d in site.hooks[release] if d["kind"] == "ConfigMap"]
    folder = site.cluster.folder / f"preflight-{release}"
    folder.mkdir(exist_ok=True)
    (folder / "plan.json").write_text(configmap["data"]["plan.json"])
    (folder / "token").write_text(site.token(release, "preflight"))
    done = subprocess.run(
        [sys.executable, "-m", "symrouting", "preflight", f"--plan={folder / 'plan.json'}", f"--server={site.cluster.url}",
         f"--token-file={folder / 'token'}", f"--ca-file={site.cluster.pki.ca_file}"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(helm.CHART / "hooks")})
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def test_the_preflight_says_which_protection_the_release_has(site: Site) -> None:
    rows = {line.split()[0]: line for line in preflight(site, OURS).splitlines() if " hook-rights " in line}
    assert rows == {"PASS": f"PASS  hook-rights       the admission policy {vap_name(OURS)} keeps the hooks' writes "
                            "to the release's own policies and peers"}
    rows = {line.split()[0]: line for line in preflight(site, FALLBACK).splitlines() if " hook-rights " in line}
    assert list(rows) == ["WARN"]
    assert "the cluster serves ValidatingAdmissionPolicy, but the release was rendered without it" in rows["WARN"]


# A v1.36.3 API server that serves no ValidatingAdmissionPolicy, as clusters before
# Kubernetes 1.30 / OpenShift 4.17: both resources switched off (--runtime-config), and the
# admission plugin with them (it waits for their informers, and the server would never be ready).
WITHOUT_THE_API = ["--runtime-config=admissionregistration.k8s.io/v1/validatingadmissionpolicies=false,"
                   "admissionregistration.k8s.io/v1/validatingadmissionpolicybindings=false",
                   "--disable-admission-plugins=ValidatingAdmissionPolicy"]


@pytest.fixture(scope="module")
def older(tmp_path_factory: pytest.TempPathFactory) -> Iterator[realcluster.RealCluster]:
    cluster = realcluster.start(tmp_path_factory.mktemp("older") / "cluster", apiserver_args=WITHOUT_THE_API)
    yield cluster
    cluster.stop()


def test_on_a_cluster_without_the_api_helm_renders_the_rights_by_name(older: realcluster.RealCluster,
                                                                      tmp_path: Path) -> None:
    """helm install on a server without the API: no policy, the cleanup's writes by name, the
    pre-rollback rights stored with the release; the preflight says the release has rights by
    name; the cleanup's token may update the release's policy and no other."""
    assert "ValidatingAdmissionPolicy" not in {
        r["kind"] for r in older.request("GET", "/apis/admissionregistration.k8s.io/v1")["resources"]}
    env = {"KUBECONFIG": str(older.kubeconfig)}
    for namespace in (NAMESPACES[OURS], NAMESPACES[THEIRS], "metallb-system", "openshift-frr-k8s"):
        ensure(older, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    stored: dict[str, list[dict[str, Any]]] = {}
    for release in (OURS, THEIRS):
        done = helm.run("helm3", "install", release, str(helm.CHART), "-n", NAMESPACES[release], "-f", str(SEED),
                        "-f", str(site_values(release, tmp_path)), "--no-hooks", env=env)
        assert done.returncode == 0, done.stderr
        stored[release] = helm.run("helm3", "get", "hooks", release, "-n", NAMESPACES[release], env=env).documents
    manifest = helm.run("helm3", "get", "manifest", OURS, "-n", NAMESPACES[OURS], env=env).documents
    assert not [d for d in manifest + stored[OURS] if d["kind"].startswith("ValidatingAdmissionPolicy")]
    [cleanup] = [d for d in stored[OURS] if d["kind"] == "ClusterRole" and d["metadata"]["name"].endswith("-cleanup")]
    assert [r.get("resourceNames") for r in cleanup["rules"] if "update" in r["verbs"]] == [[f"{OURS}-policy"]]
    assert {d["kind"] for d in stored[OURS] if d["metadata"]["name"].endswith("-rollback")} == {
        "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    apply(older, [d for d in stored[OURS] if d["kind"] in HOOK_KINDS and not d["metadata"]["name"].endswith("-rollback")])
    site = Site(older, stored, env)
    token = site.token(OURS, "cleanup")
    assert site.write(token, "PUT", f"{POLICIES}/{OURS}-policy", add_route) == (200, "")
    user = f"system:serviceaccount:{NAMESPACES[OURS]}:{account(OURS, 'cleanup')}"
    assert site.write(token, "PUT", f"{POLICIES}/{THEIRS}-policy", add_route) == (
        403, f'nodenetworkconfigurationpolicies.nmstate.io "{THEIRS}-policy" is forbidden: User "{user}" cannot '
             'update resource "nodenetworkconfigurationpolicies" in API group "nmstate.io" at the cluster scope')
    rows = [line for line in preflight(site, OURS).splitlines() if " hook-rights " in line]
    assert rows == ["PASS  hook-rights       the cluster serves no ValidatingAdmissionPolicy (Kubernetes before 1.30, "
                    "OpenShift before 4.17): the hooks' rights name the release's policies and peers (resourceNames)"]
