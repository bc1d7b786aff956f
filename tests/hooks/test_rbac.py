"""The hooks against an API stand-in that enforces the chart's rendered RBAC.

Each hook runs as its rendered pod would: the code and plan.json laid out from the rendered
ConfigMap at the paths the pod's volume gives them, read-only; the rendered command and
environment; the ServiceAccount's token and CA as the only credentials; a non-root UID
that no image or passwd file knows (when the suite runs as root). The stand-in authorizes
that token against the rendered Roles, ClusterRoles and bindings the way Kubernetes' RBAC
authorizer does (tests/support/apiserver.py, Rbac). Not modelled: the read-only root
filesystem itself (the code folder is read-only and bytecode writing is off, as in the pod),
and the in-cluster discovery of the API through KUBERNETES_SERVICE_HOST and the mounted
token path: the token and CA reach the command as --token-file and --ca-file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import clusters, helm
from tests.support.apiserver import FakeApi, Rbac, RunningApi, Tls
from tests.support.nmstate import Nmstate

SEED = helm.CHART / "ci" / "seed-values.yaml"
HOOK_TOKEN = "hook-sa-token-5d6e7f-do-not-print"
# An OpenShift-style UID from a namespace's range: no image or passwd file has it.
ARBITRARY_UID = 1000770000
PASSWORD = "md5-secret-do-not-print"

# Every rule the chart's hook Roles and ClusterRoles grant, (role, API group, resource, verb),
# with the code that needs it and the command and cluster that reach that code. A rule that
# no entry names fails test_every_rendered_rule_has_a_code_path; an entry whose code is gone
# fails test_each_code_path_exists; test_each_rule_removed_fails proves each one is needed.
RULES: dict[tuple[str, str, str, str], tuple[str, str, str]] = {
    ("preflight", "config.openshift.io", "networks", "get"): ("gather.py read_openshift_networks", "preflight", "openshift"),
    ("preflight", "operator.openshift.io", "networks", "get"): ("gather.py read_openshift_networks", "preflight", "openshift"),
    ("preflight", "", "configmaps", "get"): ("gather.py read_upstream_networks", "preflight", "kubernetes"),
    ("preflight", "networking.k8s.io", "servicecidrs", "list"): ("gather.py read_upstream_networks", "preflight", "kubernetes"),
    ("preflight", "", "nodes", "list"): ("gather.py read_nodes", "preflight", "openshift"),
    ("preflight", "", "services", "list"): ("gather.py def services", "preflight", "openshift"),
    ("preflight", "nmstate.io", "nodenetworkconfigurationpolicies", "list"): ("gather.py def policies", "preflight", "openshift"),
    ("preflight", "nmstate.io", "nodenetworkstates", "list"): ("gather.py def leftovers", "preflight", "openshift"),
    ("preflight", "metallb.io", "ipaddresspools", "list"): ("gather.py def pools", "preflight", "openshift"),
    ("preflight", "metallb.io", "bgppeers", "list"): ("gather.py def peers", "preflight", "openshift"),
    ("preflight", "metallb.io", "metallbs", "list"): ("gather.py read_metallb_mode", "preflight", "openshift"),
    ("preflight", "metallb.io", "communities", "list"): ("gather.py def communities", "preflight", "openshift"),
    ("preflight", "", "secrets", "get"): ("gather.py def secrets", "preflight", "openshift"),
    ("preflight", "apiextensions.k8s.io", "customresourcedefinitions", "get"): (
        "gather.py read_service_selectors", "preflight", "openshift"),
    ("cleanup", "nmstate.io", "nodenetworkconfigurationpolicies", "list"): ("cleanup.py def run", "teardown", "openshift"),
    ("cleanup", "nmstate.io", "nodenetworkconfigurationpolicies", "get"): ("cleanup.py hand_back", "prune", "openshift"),
    ("cleanup", "nmstate.io", "nodenetworkconfigurationpolicies", "update"): ("cleanup.py def run", "teardown", "openshift"),
    ("cleanup", "nmstate.io", "nodenetworkconfigurationenactments", "list"): ("cleanup.py def run", "teardown", "openshift"),
    ("cleanup", "", "nodes", "list"): ("cleanup.py def run", "teardown", "openshift"),
    ("cleanup", "coordination.k8s.io", "leases", "create"): ("lease.py try_acquire", "teardown", "openshift"),
    ("cleanup", "coordination.k8s.io", "leases", "get"): ("lease.py try_acquire", "prune", "openshift"),
    ("cleanup", "coordination.k8s.io", "leases", "update"): ("lease.py release", "prune", "openshift"),
    ("cleanup", "metallb.io", "bgppeers", "list"): ("peers.py delete_before_profiles", "teardown", "openshift"),
    # Rendered only for peers that name a BFD profile, which the seed has none of:
    # tests/hooks/test_delete_order.py authorizes those deletes against it.
    ("cleanup", "metallb.io", "bgppeers", "delete"): ("peers.py delete_before_profiles", "teardown", "openshift"),
    ("verify", "nmstate.io", "nodenetworkconfigurationpolicies", "get"): ("verify.py check_policies", "verify", "openshift"),
    ("verify", "", "services", "get"): ("verify.py check_service", "verify", "openshift"),
    ("verify", "k8s.ovn.org", "egressservices", "get"): ("verify.py check_service", "verify", "openshift"),
    ("verify", "", "nodes", "get"): ("verify.py check_service", "verify", "openshift"),
    # `verify --status`, as the test pod runs it.
    ("verify", "", "nodes", "list"): ("status.py observe", "verify", "openshift"),
    ("verify", "nmstate.io", "nodenetworkconfigurationpolicies", "list"): ("status.py observe", "verify", "openshift"),
    ("verify", "nmstate.io", "nodenetworkconfigurationenactments", "list"): ("status.py observe", "verify", "openshift"),
    ("verify", "nmstate.io", "nodenetworkstates", "list"): ("status.py observe", "verify", "openshift"),
    ("verify", "frrk8s.metallb.io", "bgpsessionstates", "list"): ("status.py observe", "verify", "openshift"),
    ("verify", "metallb.io", "servicebgpstatuses", "list"): ("status.py observe", "verify", "openshift"),
    ("verify", "metallb.io", "configurationstates", "list"): ("status.py observe", "verify", "openshift"),
    ("verify", "metallb.io", "metallbs", "list"): ("status.py without_frr_k8s", "verify", "openshift"),
}


def role_of(doc: dict[str, Any]) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


def rule_keys(doc: dict[str, Any], rule: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(role_of(doc), group, resource, verb)
            for group in rule["apiGroups"] for resource in rule["resources"] for verb in rule["verbs"]]


# The Helm hook each command runs in: only the hook objects of that hook exist then. The
# preflight runs in pre-install too, with fewer objects around than in pre-upgrade.
PHASES = {"preflight": "pre-upgrade", "prune": "pre-upgrade", "teardown": "pre-delete", "verify": "test"}


@dataclass
class Site:
    """A release rendered for one kind of cluster, that cluster, and the policies an earlier
    version of the release left there (one route more, so that the prune has work)."""
    platform: str
    docs: list[dict[str, Any]]
    routes: Callable[[], dict[str, Any]]
    installed: list[dict[str, Any]]

    def rbac_docs(self, phase: str | None = None) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
                and (phase is None or phase in d["metadata"]["annotations"]["helm.sh/hook"].split(","))]

    def pod(self, name: str) -> dict[str, Any]:
        for doc in self.docs:
            spec = doc["spec"]["template"]["spec"] if doc["kind"] == "Job" else doc.get("spec", {})
            if doc["kind"] in ("Job", "Pod") and spec["containers"][0]["name"] == name:
                return dict(spec)
        raise AssertionError(f"no hook pod {name}")

    def tokens(self, namespace: str = helm.NAMESPACE) -> dict[str, str]:
        """A token for each ServiceAccount a hook pod runs as, and its user name."""
        accounts = {self.pod(name)["serviceAccountName"] for name in PHASES if name != "verify" or self.platform == "openshift"}
        return {token(account): f"system:serviceaccount:{namespace}:{account}" for account in accounts}


def token(account: str) -> str:
    return f"{HOOK_TOKEN}-{account}"


def render(extra_values: str, tmp: Path, *, release: str = helm.RELEASE,
           namespace: str = helm.NAMESPACE) -> list[dict[str, Any]]:
    override = tmp / f"override-{release}.yaml"
    override.write_text(extra_values)
    result = helm.template("helm3", [SEED, override], release=release, namespace=namespace)
    assert result.returncode == 0, result.stderr
    return result.documents


EXTRA_ROUTE = """vrfs:
  ens4vrf:
    routes:
      - {destination: 0.0.0.0/0, nextHopAddress: 192.168.130.1, metric: 150}
      - {destination: 10.99.0.0/16, nextHopAddress: 192.168.130.1}
"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Site]:
    tmp = tmp_path_factory.mktemp("rbac")
    masquerade = {"ipv4": "169.254.0.0/17"}
    cluster_values = "cluster:\n  masqueradeSubnet: [169.254.0.0/17]\n"
    earlier = [d for d in render(cluster_values + EXTRA_ROUTE, tmp) if d["kind"] == "NodeNetworkConfigurationPolicy"]
    openshift = Site("openshift", render(cluster_values + f"vrfs: {{ens4vrf: {{bgpPeers: {{frrviavrf: {{password: {PASSWORD}}}}}}}}}\n", tmp),
                     lambda: clusters.verified(clusters.openshift(
                         service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], masquerade=masquerade,
                         # One VRF node: the seed's port address is one node's own.
                         nodes=[clusters.node(f"worker-{i}", {"vrf": "true"} if i == 0 else {}, masquerade=masquerade)
                                for i in range(3)]), "worker-0"),
                     earlier)
    kubernetes = Site("kubernetes", render(cluster_values + "platform: kubernetes\n", tmp),
                      lambda: clusters.with_service_cidrs(clusters.kubeadm(
                          pod_subnet="10.132.0.0/14", service_subnet="172.30.0.0/16", masquerade=masquerade,
                          node_pod_cidrs=[["10.132.0.0/23"]]), ["172.30.0.0/16"]),
                      earlier)
    return {"openshift": openshift, "kubernetes": kubernetes}


@pytest.fixture
def mount() -> Iterator[Path]:
    """A folder a non-root UID can read (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="symrouting-pod-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


# The image runs `python3`: here the system's, which any UID may run (a pyenv one may live
# in root's home). Without it, and when not root, the hooks run as the suite's own user.
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin")


def run_pod(site: Site, name: str, api: RunningApi, tls: Tls, folder: Path) -> subprocess.CompletedProcess[str]:
    """The rendered hook pod `name`: its volume laid out from the rendered ConfigMap, then its
    command and environment, with the token and CA as the only credentials."""
    spec = site.pod(name)
    [container] = spec["containers"]
    [volume_mount] = container["volumeMounts"]
    [volume] = [v for v in spec["volumes"] if v["name"] == volume_mount["name"]]
    [configmap] = [d for d in site.docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == volume["configMap"]["name"]]
    code = folder / "code"
    for item in volume["configMap"]["items"]:
        target = code / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(configmap["data"][item["key"]])
    secrets = folder / "serviceaccount"
    secrets.mkdir()
    (secrets / "token").write_text(token(spec["serviceAccountName"]))
    shutil.copy(tls.ca_file, secrets / "ca.crt")
    for path in [*code.rglob("*"), code, *secrets.rglob("*"), secrets]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    mount_path = volume_mount["mountPath"]
    interpreter = SYSTEM_PYTHON or sys.executable
    command = [interpreter if part == "python3" else part.replace(mount_path, str(code)) for part in container["command"]]
    command += [f"--server={api.url}", f"--token-file={secrets / 'token'}", f"--ca-file={secrets / 'ca.crt'}"]
    env = {e["name"]: e["value"].replace(mount_path, str(code)) for e in container["env"]}
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0 and SYSTEM_PYTHON:
        as_user = {"user": ARBITRARY_UID, "group": ARBITRARY_UID, "extra_groups": []}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=folder,
                          env={"PATH": "/usr/bin:/bin", **env}, **as_user)


def serve(site: Site, tls: Tls, rbac_docs: list[dict[str, Any]], users: dict[str, str] | None = None) -> RunningApi:
    api = RunningApi(FakeApi(site.routes(), "admin-token", rbac=Rbac(rbac_docs, users or site.tokens())), tls)
    Nmstate(api.api).install(site.installed)
    return api


def no_secret(*texts: str) -> None:
    for text in texts:
        assert HOOK_TOKEN not in text and PASSWORD not in text


def test_every_rendered_rule_has_a_code_path(sites: dict[str, Site]) -> None:
    rendered = set()
    documents = [doc for site in sites.values() for doc in site.rbac_docs()]
    documents += [doc for path in helm.site_files() for doc in helm.render_site(path).documents]
    for doc in documents:
        if doc["kind"] in ("Role", "ClusterRole"):
            for rule in doc.get("rules") or []:
                rendered.update(rule_keys(doc, rule))
    assert sorted(rendered - set(RULES)) == [], "a rule that no code path needs: take it out, or name its code in RULES"
    assert sorted(set(RULES) - rendered) == [], "RULES names a right the chart no longer grants"


def test_each_code_path_exists() -> None:
    for module_function, _, _ in RULES.values():
        module, function = module_function.split(" ", 1)
        source = (helm.CHART / "hooks" / "symrouting" / module).read_text()
        assert (f"def {function.removeprefix('def ')}(") in source, module_function


@pytest.mark.parametrize("platform", ["openshift", "kubernetes"])
def test_hooks_pass_with_exactly_the_rendered_rights(sites: dict[str, Site], tls: Tls, mount: Path, platform: str) -> None:
    site = sites[platform]
    commands = ["preflight", "prune", "teardown"] + (["verify"] if platform == "openshift" else [])
    for name in commands:
        api = serve(site, tls, site.rbac_docs(PHASES[name]))
        try:
            folder = mount / name
            folder.mkdir(mode=0o755)
            result = run_pod(site, name, api, tls, folder)
            assert result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"
            assert "403" not in result.stdout + result.stderr
            no_secret(result.stdout, result.stderr)
            assert api.api.refused == []
            # Every request went through RBAC, with the token of the pod's own ServiceAccount.
            assert {r.authorization for r in api.api.requests} == {f"Bearer {token(site.pod(name)['serviceAccountName'])}"}
            if name == "prune":
                policy_puts = [r for r in api.api.requests if r.method == "PUT" and "/leases/" not in r.path]
                assert len(policy_puts) == 3, (
                    "the prune sends the new state with the route absent, the new state alone, and hands back")
        finally:
            api.stop()


def role_id(doc: dict[str, Any]) -> str:
    """"<kind>/[<namespace>/]<name>": the verify Roles share a name, one per namespace."""
    return "/".join(filter(None, (doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"])))


def single_rules(sites: dict[str, Site]) -> list[tuple[str, str, int]]:
    """(platform, "<kind>/<name>" of the role, rule index) of every rule, each on the cluster
    that needs it."""
    cases = []
    for platform, site in sites.items():
        for doc in site.rbac_docs():
            # Rights that exist only in a rollback: test_a_rollback_takes_off_a_vrf_a_later_revision_added.
            if doc["metadata"]["annotations"]["helm.sh/hook"] == "pre-rollback":
                continue
            for index, rule in enumerate(doc.get("rules") or []):
                # A rule RULES lacks is test_every_rendered_rule_has_a_code_path's to report.
                if any(RULES.get(key, ("", "", ""))[2] == platform for key in rule_keys(doc, rule)):
                    cases.append((platform, role_id(doc), index))
    return cases


def _rule_cases() -> list[Any]:
    tmp = Path(tempfile.mkdtemp(prefix="symrouting-rules-"))
    try:
        from_sites = single_rules({
            "openshift": Site("openshift", render("", tmp), dict, []),
            "kubernetes": Site("kubernetes", render("platform: kubernetes\n", tmp), dict, [])})
    finally:
        shutil.rmtree(tmp)
    return [pytest.param(*case, id=f"{case[0]}-{case[1].replace('test-tenant-a-symmetric-routing-', '')}-{case[2]}")
            for case in from_sites]


@pytest.mark.parametrize(("platform", "role", "index"), _rule_cases())
def test_each_rule_removed_fails_with_a_403_naming_it(sites: dict[str, Site], tls: Tls, mount: Path,
                                                      platform: str, role: str, index: int) -> None:
    site = sites[platform]
    docs = yaml.safe_load(yaml.safe_dump(site.rbac_docs()))
    [doc] = [d for d in docs if role_id(d) == role]
    rule = doc["rules"].pop(index)
    commands = {RULES[key][1] for key in rule_keys(doc, rule) if RULES[key][2] == platform}
    for name in sorted(commands):
        phase = PHASES[name]
        api = serve(site, tls, [d for d in docs if phase in d["metadata"]["annotations"]["helm.sh/hook"].split(",")])
        try:
            folder = mount / name
            folder.mkdir(mode=0o755)
            result = run_pod(site, name, api, tls, folder)
            output = result.stdout + result.stderr
            assert result.returncode != 0, f"{name} passed without {rule}:\n{output}"
            refused = {(verb, resource) for _, verb, _, _, resource, _ in api.api.refused}
            assert refused, f"{name} failed, but not on RBAC:\n{output}"
            for verb, resource in refused:
                assert (verb, resource) in {(v, r) for _, _, r, v in rule_keys(doc, rule)}
                qualified = next(f"{r}.{g}" if g else r for _, g, r, v in rule_keys(doc, rule) if (v, r) == (verb, resource))
                assert f"may not {verb} {qualified}" in output, output
            no_secret(result.stdout, result.stderr)
        finally:
            api.stop()


def test_a_tenants_hook_cannot_update_another_tenants_policy(sites: dict[str, Site], tls: Tls, mount: Path,
                                                             tmp_path: Path) -> None:
    """Tenant blue's teardown, where tenant-a's policy carries blue's labels (the hook would
    take it for its own): the API server refuses the update, by name."""
    site = sites["openshift"]
    blue = Site("openshift", render("vrfs: {ens4vrf: null, bluevrf: {tableId: 3, policy: {nodeSelector: {vrf: 'true'}}, "
                                    "ports: {ens5: {ipv4: [192.168.140.2/24]}}}}\n",
                                    tmp_path, release="blue", namespace="blue"), site.routes, site.installed)
    api = serve(site, tls, site.rbac_docs("pre-delete") + blue.rbac_docs("pre-delete"), users=blue.tokens("blue"))
    try:
        path = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy"
        for stored in (api.api.routes[path], *api.api.routes[path.rsplit("/", 1)[0]]):
            if stored["metadata"]["name"] == "vrfpolicy":
                stored["metadata"]["labels"].update({"app.kubernetes.io/instance": "blue",
                                                     "symmetric-routing/release-namespace": "blue"})
        api.api.cache.clear()
        before = yaml.safe_dump(api.api.routes[path]["spec"])
        result = run_pod(blue, "teardown", api, tls, mount)
        assert result.returncode != 0, result.stdout + result.stderr
        assert 'may not update nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy"' in result.stderr
        assert [(r[1], r[5]) for r in api.api.refused] == [("update", "vrfpolicy")]
        assert yaml.safe_dump(api.api.routes[path]["spec"]) == before
        no_secret(result.stdout, result.stderr)
    finally:
        api.stop()


LATER_VRF = """vrfs:
  later:
    tableId: 5
    policy: {nodeSelector: {vrf: "true"}}
    ports: {ens6: {ipv4: [192.168.150.2/24]}}
"""


def test_a_rollback_takes_off_a_vrf_a_later_revision_added(sites: dict[str, Site], tls: Tls, mount: Path,
                                                           tmp_path: Path) -> None:
    """`helm rollback` to the seed revision from one that added VRF `later`: Helm runs the
    hooks stored with the seed revision (helm pkg/action/rollback.go: the target release takes
    the old revision's Hooks; execHook(targetRelease, HookPreRollback)), so its prune reads the
    seed plan and its named rights were rendered before `later`'s policy existed. With the
    pre-rollback rights it sets `later` absent; without the pre-rollback ClusterRole the API
    server refuses the update by name."""
    site = sites["openshift"]
    values = "cluster:\n  masqueradeSubnet: [169.254.0.0/17]\n" + LATER_VRF
    later = [d for d in render(values, tmp_path) if d["kind"] == "NodeNetworkConfigurationPolicy"]
    [added] = [p["metadata"]["name"] for p in later if p["metadata"]["name"] != "vrfpolicy"]
    rollback = Site("openshift", site.docs, site.routes, later)
    docs = rollback.rbac_docs("pre-rollback")
    named = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"].endswith("-cleanup"))
    assert added not in json.dumps(named["rules"]), "the target revision's names cannot know the later policy"
    path = f"/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/{added}"
    api = serve(rollback, tls, docs)
    try:
        folder = mount / "with"
        folder.mkdir(mode=0o755)
        result = run_pod(rollback, "prune", api, tls, folder)
        assert result.returncode == 0, result.stdout + result.stderr
        assert api.api.refused == []
        interfaces = api.api.routes[path]["spec"]["desiredState"]["interfaces"]
        assert {"name": "later", "type": "vrf", "state": "absent"} in interfaces
    finally:
        api.stop()
    api = serve(rollback, tls, [d for d in docs if not d["metadata"]["name"].endswith("-rollback")])
    try:
        folder = mount / "without"
        folder.mkdir(mode=0o755)
        result = run_pod(rollback, "prune", api, tls, folder)
        assert result.returncode != 0
        assert f'may not update nodenetworkconfigurationpolicies.nmstate.io "{added}"' in result.stderr
    finally:
        api.stop()


def test_nothing_rendered_for_the_hooks_holds_the_password(sites: dict[str, Site]) -> None:
    import base64

    encoded = base64.b64encode(PASSWORD.encode()).decode()
    holders = []
    for doc in sites["openshift"].docs:
        text = yaml.safe_dump(doc)
        if PASSWORD in text or encoded in text:
            holders.append((doc["kind"], doc["metadata"]["name"]))
    # Only the Secret MetalLB reads; no BGPPeer, ConfigMap, Job or plan.
    assert [kind for kind, _ in holders] == ["Secret"], holders
    [peer] = [d for d in sites["openshift"].docs if d["kind"] == "BGPPeer"]
    assert "password" not in peer["spec"]
    assert peer["spec"]["passwordSecret"] == {"name": holders[0][1], "namespace": "metallb-system"}


def test_the_stand_in_authorizes_as_kubernetes_rbac_does() -> None:
    """The Rbac model against the rules it reads from Kubernetes: RuleAllows
    (plugin/pkg/auth/authorizer/rbac/rbac.go), ResourceNameMatches (pkg/apis/rbac/v1/
    evaluation_helpers.go: an empty list matches every name, a list never matches a list
    request, whose name is empty), and VisitRulesFor (pkg/registry/rbac/validation/rule.go: a
    RoleBinding grants only in its own namespace, also when it refers to a ClusterRole)."""
    from tests.support.apiserver import request_attributes

    user = "system:serviceaccount:t:hooks"
    subject = [{"kind": "ServiceAccount", "name": "hooks", "namespace": "t"}]
    rbac = Rbac([
        {"kind": "ClusterRole", "metadata": {"name": "named"}, "rules": [
            {"apiGroups": ["nmstate.io"], "resources": ["nodenetworkconfigurationpolicies"], "resourceNames": ["mine"],
             "verbs": ["get", "list", "update"]}]},
        {"kind": "ClusterRole", "metadata": {"name": "reader"}, "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]},
        {"kind": "ClusterRoleBinding", "metadata": {"name": "named"}, "subjects": subject,
         "roleRef": {"kind": "ClusterRole", "name": "named"}},
        {"kind": "RoleBinding", "metadata": {"name": "reader", "namespace": "metallb-system"}, "subjects": subject,
         "roleRef": {"kind": "ClusterRole", "name": "reader"}},
    ], {})

    def allowed(method: str, path: str, who: str = user) -> bool:
        attributes = request_attributes(method, path)
        assert attributes is not None
        return rbac.allows(who, *attributes)

    policies = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
    assert allowed("GET", f"{policies}/mine") and allowed("PUT", f"{policies}/mine?fieldManager=x")
    assert not allowed("PUT", f"{policies}/theirs") and not allowed("GET", f"{policies}?limit=250")
    assert not allowed("GET", f"{policies}/mine", who="system:serviceaccount:other:hooks")
    assert allowed("GET", "/api/v1/namespaces/metallb-system/configmaps?limit=250")
    assert not allowed("GET", "/api/v1/namespaces/kube-system/configmaps?limit=250")
    assert request_attributes("GET", "/apis/nmstate.io/v1") is None  # discovery: non-resource
