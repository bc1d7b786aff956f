"""The hooks against the real kube-apiserver (tests/support/rig.py), whose RBAC authorizer
holds exactly the chart's rendered Roles, ClusterRoles and bindings.

Each hook runs as its rendered pod would: the code and plan.json laid out from the rendered
ConfigMap at the paths the pod's volume gives them, read-only; the rendered command and
environment; a real token of the pod's ServiceAccount (TokenRequest) and the server's CA as
the only credentials; a non-root UID that no image or passwd file knows (when the suite runs
as root). Requests go through the rig's recording proxy, which passes the token through, so a
refusal is the real server's 403. Not reproduced here: the read-only root filesystem itself
(the code folder is read-only and bytecode writing is off, as in the pod), and the in-cluster
discovery through KUBERNETES_SERVICE_HOST (the lifecycle tests run the pods that way): the
token and CA reach the command as --token-file and --ca-file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm
from tests.support.podrunner import config_map_files
from tests.support.proxy import Recorded
from tests.support.realapi import request_attributes
from tests.support.rig import Rig

SEED = helm.CHART / "ci" / "seed-values.yaml"
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
    ("wait", "nmstate.io", "nodenetworkconfigurationpolicies", "get"): ("wait.py def run", "wait", "openshift"),
    ("wait", "nmstate.io", "nodenetworkconfigurationenactments", "list"): ("cleanup.py _wait", "wait", "openshift"),
    ("wait", "", "nodes", "list"): ("wait.py def run", "wait", "openshift"),
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
PHASES = {"preflight": "pre-upgrade", "prune": "pre-upgrade", "teardown": "pre-delete", "wait": "post-upgrade",
          "verify": "test"}


@dataclass
class Site:
    """A release rendered for one kind of cluster, that cluster, and the policies an earlier
    version of the release left there (one route more, so that the prune has work)."""
    platform: str
    docs: list[dict[str, Any]]
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

    def accounts(self) -> set[str]:
        """The ServiceAccounts the hook pods run as."""
        return {self.pod(name)["serviceAccountName"] for name in PHASES if name != "verify" or self.platform == "openshift"}


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
    cluster_values = "cluster:\n  masqueradeSubnet: [169.254.0.0/17]\n"
    earlier = [d for d in render(cluster_values + EXTRA_ROUTE, tmp) if d["kind"] == "NodeNetworkConfigurationPolicy"]
    openshift = Site("openshift", render(cluster_values + f"vrfs: {{ens4vrf: {{bgpPeers: {{frrviavrf: {{password: {PASSWORD}}}}}}}}}\n", tmp),
                     earlier)
    kubernetes = Site("kubernetes", render(cluster_values + "platform: kubernetes\n", tmp), earlier)
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


def run_pod(site: Site, name: str, api: Served, folder: Path) -> subprocess.CompletedProcess[str]:
    """The rendered hook pod `name`: its volume laid out from the rendered ConfigMap, then its
    command and environment, with its ServiceAccount's real token and the CA as the only
    credentials."""
    spec = site.pod(name)
    [container] = spec["containers"]
    [volume_mount] = container["volumeMounts"]
    [volume] = [v for v in spec["volumes"] if v["name"] == volume_mount["name"]]
    [configmap] = [d for d in site.docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == volume["configMap"]["name"]]
    code = folder / "code"
    files = config_map_files(configmap)
    for item in volume["configMap"]["items"]:
        target = code / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[item["key"]])
    secrets = folder / "serviceaccount"
    secrets.mkdir()
    (secrets / "token").write_text(api.tokens[spec["serviceAccountName"]])
    shutil.copy(api.rig.cluster.pki.ca_file, secrets / "ca.crt")
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
    api.rig.proxy.clear()
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=folder,
                          env={"PATH": "/usr/bin:/bin", **env}, **as_user)


MASQUERADE = '{"ipv4":"169.254.0.0/17"}'
KUBEADM_CONFIG = ("apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\nclusterName: kubernetes\n"
                  "kind: ClusterConfiguration\nnetworking:\n  dnsDomain: cluster.local\n"
                  "  podSubnet: 10.132.0.0/14\n  serviceSubnet: 172.30.0.0/16\n")


@dataclass
class Served:
    """The rig holding one site's cluster: its platform's facts, the policies an earlier
    revision left (applied by nmstate), the hook ServiceAccounts with real tokens, and
    exactly `rbac_docs` as the authorizer's rules."""

    rig: Rig
    site: Site
    rbac_docs: list[dict[str, Any]]
    namespace: str = helm.NAMESPACE

    def __post_init__(self) -> None:
        rig, client = self.rig, self.rig.client
        rig.reset()
        for node in client.items("/api/v1/nodes"):
            # OVN-Kubernetes' note of the masquerade subnet on every node.
            client.call("PATCH", f"/api/v1/nodes/{node['metadata']['name']}", {"metadata": {"annotations": {
                "k8s.ovn.org/node-masquerade-subnet": MASQUERADE}}}, content_type="application/merge-patch+json")
        if self.site.platform == "kubernetes":
            # A kubeadm cluster: no OpenShift Network objects (their CRDs stay served).
            for group in ("config", "operator"):
                client.call("DELETE", f"/apis/{group}.openshift.io/v1/networks/cluster")
            client.call("POST", "/api/v1/namespaces/kube-system/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config"},
                "data": {"ClusterConfiguration": KUBEADM_CONFIG}})
            client.call("POST", "/api/v1/namespaces/ovn-kubernetes/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ovnkube-config"},
                "data": {"ovnkube.conf": "[default]\nmtu=1400\n\n[gateway]\nmode=shared\nnodeport=true\n"}})
        else:
            self._verified("worker-0")
        for policy in self.site.installed:
            client.call("POST", "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies", policy)
        rig.nmstate.settle()
        self.tokens = {}
        for account in self.site.accounts():
            client.call("POST", f"/api/v1/namespaces/{self.namespace}/serviceaccounts",
                        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}})
            self.tokens[account] = rig.cluster.token(self.namespace, account)
        for doc in self.rbac_docs:
            plural = doc["kind"].lower() + "s"
            scope = f"/namespaces/{doc['metadata']['namespace']}" if doc["kind"] in ("Role", "RoleBinding") else ""
            client.call("POST", f"/apis/rbac.authorization.k8s.io/v1{scope}/{plural}", doc)
        rig.await_rbac()
        self.url = rig.proxy.url

    def _verified(self, host: str) -> None:
        """What `helm test` reads once the documentation's example works: Service test/server1
        with an address from first-pool, its EgressService placed on `host`, `host` carrying
        the label OVN-Kubernetes sets, and MetalLB announcing it from `host` only."""
        client = self.rig.client
        service = client.call("POST", "/api/v1/namespaces/test/services", {
            "apiVersion": "v1", "kind": "Service",
            # the label the pool's default serviceAllocation admits (symmetric-routing.poolServiceLabel)
            "metadata": {"name": "server1", "labels": {"symmetric-routing/address-pool": "first-pool"}},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "selector": {"app": "server1"}}})
        service["status"] = {"loadBalancer": {"ingress": [{"ip": "192.169.10.0", "ipMode": "VIP"}]}}
        client.call("PUT", "/api/v1/namespaces/test/services/server1/status", service)
        egress = client.call("POST", "/apis/k8s.ovn.org/v1/namespaces/test/egressservices", {
            "apiVersion": "k8s.ovn.org/v1", "kind": "EgressService", "metadata": {"name": "server1"},
            "spec": {"sourceIPBy": "LoadBalancerIP", "nodeSelector": {"matchLabels": {"vrf": "true"}}}})
        egress["status"] = {"host": host}
        client.call("PUT", "/apis/k8s.ovn.org/v1/namespaces/test/egressservices/server1/status", egress)
        client.call("PATCH", f"/api/v1/nodes/{host}", {"metadata": {"labels": {
            "egress-service.k8s.ovn.org/test-server1": ""}}}, content_type="application/merge-patch+json")
        # MetalLB's record that `host` announces it to the VRF's peer (metallb
        # internal/k8s/controllers/bgp_status_controller.go: labels first, then the status).
        announced = client.call("POST", "/apis/metallb.io/v1beta1/namespaces/metallb-system/servicebgpstatuses", {
            "apiVersion": "metallb.io/v1beta1", "kind": "ServiceBGPStatus", "metadata": {
                "name": f"{host}-server1", "labels": {"metallb.io/service-namespace": "test",
                                                      "metallb.io/service-name": "server1", "metallb.io/node": host}}})
        announced["status"] = {"node": host, "serviceName": "server1", "serviceNamespace": "test", "peers": ["frrviavrf"]}
        client.call("PUT", f"/apis/metallb.io/v1beta1/namespaces/metallb-system/servicebgpstatuses/{host}-server1/status",
                    announced)

    @property
    def requests(self) -> list[Recorded]:
        return self.rig.proxy.requests

    @property
    def refused(self) -> list[tuple[str, str, str, str, str, str]]:
        """(user, verb, group, namespace, resource, name) of each request the server refused (403)."""
        found = []
        for request in self.requests:
            attributes = request_attributes(request.method, request.path)
            if request.code == 403 and attributes is not None:
                found.append((request.user, *attributes))
        return found

    def policy(self, name: str) -> dict[str, Any]:
        return dict(self.rig.client.call("GET", f"/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/{name}"))


def serve(rig: Rig, site: Site, rbac_docs: list[dict[str, Any]], namespace: str = helm.NAMESPACE) -> Served:
    return Served(rig, site, rbac_docs, namespace)


def no_secret(api: Served, *texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert not any(token in text for token in api.tokens.values())


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
def test_hooks_pass_with_exactly_the_rendered_rights(sites: dict[str, Site], rig: Rig, mount: Path, platform: str) -> None:
    site = sites[platform]
    commands = ["preflight", "prune", "teardown", "wait"] + (["verify"] if platform == "openshift" else [])
    for name in commands:
        api = serve(rig, site, site.rbac_docs(PHASES[name]))
        folder = mount / name
        folder.mkdir(mode=0o755)
        result = run_pod(site, name, api, folder)
        assert result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"
        # a word, not a digit run: the rig's random names (prune vm_6403664e) may hold one
        assert not re.search(r"\b403\b", result.stdout + result.stderr)
        no_secret(api, result.stdout, result.stderr)
        assert api.refused == []
        # Every request reached the server with the token of the pod's own ServiceAccount.
        account = site.pod(name)["serviceAccountName"]
        assert {r.user for r in api.requests} == {f"system:serviceaccount:{helm.NAMESPACE}:{account}"}
        if name == "prune":
            # Written: nmstate's handler writes the policy's status after each generation, which
            # changes its resourceVersion, so a write may meet a 409 and be read and sent again.
            policy_puts = [r for r in api.requests if r.method == "PUT" and "/leases/" not in r.path and r.code == 200]
            assert len(policy_puts) == 3, (
                "the prune sends the new state with the route absent, the new state alone, and hands back")


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
            "openshift": Site("openshift", render("", tmp), []),
            "kubernetes": Site("kubernetes", render("platform: kubernetes\n", tmp), [])})
    finally:
        shutil.rmtree(tmp)
    return [pytest.param(*case, id=f"{case[0]}-{case[1].replace('test-tenant-a-symmetric-routing-', '')}-{case[2]}")
            for case in from_sites]


@pytest.mark.parametrize(("platform", "role", "index"), _rule_cases())
def test_each_rule_removed_fails_with_a_403_naming_it(sites: dict[str, Site], rig: Rig, mount: Path,
                                                      platform: str, role: str, index: int) -> None:
    site = sites[platform]
    docs = yaml.safe_load(yaml.safe_dump(site.rbac_docs()))
    [doc] = [d for d in docs if role_id(d) == role]
    rule = doc["rules"].pop(index)
    commands = {RULES[key][1] for key in rule_keys(doc, rule) if RULES[key][2] == platform}
    for name in sorted(commands):
        phase = PHASES[name]
        api = serve(rig, site, [d for d in docs if phase in d["metadata"]["annotations"]["helm.sh/hook"].split(",")])
        folder = mount / name
        folder.mkdir(mode=0o755)
        result = run_pod(site, name, api, folder)
        output = result.stdout + result.stderr
        sent = "\n".join(f"{r.user} {r.method} {r.path} {r.code}" for r in api.requests)
        assert result.returncode != 0, f"{name} passed without {rule}:\n{output}\n{sent}"
        refused = {(verb, resource) for _, verb, _, _, resource, _ in api.refused}
        assert refused, f"{name} failed, but not on RBAC:\n{output}"
        for verb, resource in refused:
            assert (verb, resource) in {(v, r) for _, _, r, v in rule_keys(doc, rule)}
            qualified = next(f"{r}.{g}" if g else r for _, g, r, v in rule_keys(doc, rule) if (v, r) == (verb, resource))
            assert f"may not {verb} {qualified}" in output, output
        no_secret(api, result.stdout, result.stderr)


def test_a_tenants_hook_cannot_update_another_tenants_policy(sites: dict[str, Site], rig: Rig, mount: Path,
                                                             tmp_path: Path) -> None:
    """Tenant blue's teardown, where tenant-a's policy carries blue's labels (the hook would
    take it for its own): the API server refuses the update, by name."""
    site = sites["openshift"]
    blue = Site("openshift", render("vrfs: {ens4vrf: null, bluevrf: {tableId: 3, policy: {nodeSelector: {vrf: 'true'}}, "
                                    "ports: {ens5: {ipv4: [192.168.140.2/24]}}}}\n",
                                    tmp_path, release="blue", namespace="blue"), site.installed)
    api = serve(rig, blue, site.rbac_docs("pre-delete") + blue.rbac_docs("pre-delete"), namespace="blue")
    policy = api.policy("vrfpolicy")
    policy["metadata"]["labels"].update({"app.kubernetes.io/instance": "blue",
                                         "symmetric-routing/release-namespace": "blue"})
    rig.client.call("PUT", "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy", policy)
    before = api.policy("vrfpolicy")["spec"]
    result = run_pod(blue, "teardown", api, mount)
    assert result.returncode != 0, result.stdout + result.stderr
    assert 'may not update nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy"' in result.stderr
    assert [(r[1], r[5]) for r in api.refused] == [("update", "vrfpolicy")]
    assert api.policy("vrfpolicy")["spec"] == before
    no_secret(api, result.stdout, result.stderr)


LATER_VRF = """vrfs:
  later:
    tableId: 5
    policy: {nodeSelector: {vrf: "true"}}
    ports: {ens6: {ipv4: [192.168.150.2/24]}}
"""


def test_a_rollback_takes_off_a_vrf_a_later_revision_added(sites: dict[str, Site], rig: Rig, mount: Path,
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
    rollback = Site("openshift", site.docs, later)
    docs = rollback.rbac_docs("pre-rollback")
    named = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"].endswith("-cleanup"))
    assert added not in json.dumps(named["rules"]), "the target revision's names cannot know the later policy"
    api = serve(rig, rollback, docs)
    folder = mount / "with"
    folder.mkdir(mode=0o755)
    result = run_pod(rollback, "prune", api, folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert api.refused == []
    interfaces = api.policy(added)["spec"]["desiredState"]["interfaces"]
    assert {"name": "later", "type": "vrf", "state": "absent"} in interfaces
    api = serve(rig, rollback, [d for d in docs if not d["metadata"]["name"].endswith("-rollback")])
    folder = mount / "without"
    folder.mkdir(mode=0o755)
    result = run_pod(rollback, "prune", api, folder)
    assert result.returncode != 0
    assert f'may not update nodenetworkconfigurationpolicies.nmstate.io "{added}"' in result.stderr


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
