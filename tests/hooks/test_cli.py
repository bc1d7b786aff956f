"""The real entry point, `python3 -S -m symrouting`, against the real API server of the rig
(tests/support/realapi.py): the plan comes from the chart, the cluster from the objects of a
tests/support/clusters.py builder written into it."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hooks import conftest
from tests.support import clusters, helm, realcluster, sitegen
from tests.support.realapi import RealApi

SEED = helm.CHART / "ci" / "seed-values.yaml"
Run = Callable[..., subprocess.CompletedProcess[str]]
Serve = Callable[..., RealApi]
SEED_CLUSTER: dict[str, Any] = dict(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"],
                                    masquerade={"ipv4": "169.254.0.0/17"})
SERVICE_CIDRS = "/apis/networking.k8s.io/v1/servicecidrs"
ADVERTISEMENT_CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgpadvertisements.metallb.io"
# The real server's answer to a path it does not serve (k8s.io/apiserver NotFound handler).
NOT_FOUND = "the server could not find the requested resource"


def render_plan(values_files: list[Path], **kwargs: Any) -> str:
    """plan.json as `helm install` renders it on the rig's server, which serves
    ValidatingAdmissionPolicy (Helm finds the API there: helm template is told it)."""
    return conftest.render_plan(values_files, extra=helm.ADMISSION_POLICY_APIS, **kwargs)


def not_served(api: RealApi, *paths: str) -> None:
    """The paths answer 404, as a cluster without their API (or CRD) does."""
    for path in paths:
        api.fail(path, 404, times=100, message=NOT_FOUND)


def without_service_selectors(crd: dict[str, Any]) -> dict[str, Any]:
    """The served BGPAdvertisement CRD as MetalLB before 0.16 served it: no spec.serviceSelectors
    (metallb config/crd/bases/metallb.io_bgpadvertisements.yaml gained it in v0.16.0)."""
    older = json.loads(json.dumps(crd))
    for version in older["spec"]["versions"]:
        version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].pop("serviceSelectors", None)
    return dict(older)


@pytest.fixture
def serve(serve: Serve) -> Serve:
    """The builder's cluster on the real server. What the rig's server has of its own but the
    builder's cluster lacks, the proxy hides: a group's discovery the builder leaves out (its
    CRDs not installed), the server's own ServiceCIDRs on a kubeadm cluster built without any
    (Kubernetes before 1.33, no networking.k8s.io/v1 servicecidrs), and spec.serviceSelectors
    of the pinned MetalLB's BGPAdvertisement CRD on a cluster built with an older MetalLB."""
    def load(routes: dict[str, Any]) -> RealApi:
        api = serve(routes)
        not_served(api, *(path for path in clusters.DISCOVERY if path not in routes))
        kubeadm = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config" in routes
        if kubeadm and SERVICE_CIDRS not in routes:
            not_served(api, SERVICE_CIDRS)
        built = routes.get(ADVERTISEMENT_CRD)
        if built is not None and "serviceSelectors" not in json.dumps(built):
            served = api.client.call("GET", ADVERTISEMENT_CRD)
            api.fail(ADVERTISEMENT_CRD, 200, times=100, method="GET",
                     body=json.dumps(without_service_selectors(served)).encode())
        return api

    return load


def statuses(stdout: str) -> dict[str, str]:
    return {check["check"]: check["status"] for check in json.loads(stdout)["checks"]}


@pytest.fixture(scope="module")
def seed_plan(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The seed site plus the masquerade subnet that OVN-Kubernetes reports on the nodes;
    the seed document predates it, and the preflight rightly asks for it."""
    override = tmp_path_factory.mktemp("plan") / "masquerade.yaml"
    override.write_text("cluster:\n  masqueradeSubnet: [169.254.0.0/17]\n")
    return render_plan([SEED, override])


def no_secret(api: RealApi, *outputs: str) -> None:
    """The real bearer token the hook ran with is in no output."""
    assert len(api.token) > 100
    for output in outputs:
        assert api.token not in output


def test_seed_site_on_a_matching_openshift_cluster_passes(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    api = serve(clusters.openshift(**SEED_CLUSTER))
    result = run_cli("preflight", api=api, plan=seed_plan)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  cluster-cidrs" in result.stdout
    assert result.stdout.rstrip().endswith(f"preflight passed for release {helm.NAMESPACE}/{helm.RELEASE}")
    no_secret(api, result.stdout, result.stderr)


def test_the_seed_document_alone_misses_the_masquerade_subnet(run_cli: Run, serve: Serve) -> None:
    api = serve(clusters.openshift(**SEED_CLUSTER))
    result = run_cli("preflight", api=api, plan=render_plan([SEED]))
    assert result.returncode == 1
    assert ("masqueradeSubnet: no route rule covers 169.254.0.0/17 "
            "(read from node annotation k8s.ovn.org/node-masquerade-subnet)") in result.stdout


def test_unknown_masquerade_subnet_warns(run_cli: Run, serve: Serve) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    result = run_cli("preflight", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0
    assert "WARN  cluster-cidrs     could not read masqueradeSubnet from the cluster" in result.stdout


def test_operator_masquerade_subnet_is_read_when_nodes_have_no_annotation(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], operator_masquerade="169.254.0.0/17"))
    assert statuses(run_cli("preflight", "--json", api=api, plan=seed_plan).stdout)["cluster-cidrs"] == "pass"


def test_a_cluster_network_the_rules_miss_fails_with_the_lines_to_add(run_cli: Run, serve: Serve) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"],
                                   masquerade={"ipv4": "169.254.0.0/17"}))
    result = run_cli("preflight", api=api, plan=render_plan([SEED]))
    assert result.returncode == 1
    assert "FAIL  cluster-cidrs" in result.stdout
    assert "        cluster:\n          clusterNetwork: [10.128.0.0/14]\n          masqueradeSubnet: [169.254.0.0/17]" in result.stdout
    assert "nothing was changed on the nodes" in result.stdout


def test_spec_is_read_when_status_is_empty(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    api = serve(clusters.openshift(**SEED_CLUSTER, status=False))
    result = run_cli("preflight", "--json", api=api, plan=seed_plan)
    assert statuses(result.stdout)["cluster-cidrs"] == "pass", result.stdout


def test_kubeadm_cluster_is_read_from_kubeadm_config_and_node_annotations(run_cli: Run, serve: Serve) -> None:
    plan = render_plan([helm.CHART / "ci" / "dualstack-values.yaml"])
    routes = clusters.kubeadm(pod_subnet="10.244.0.0/16,fd00:10:244::/56", service_subnet="10.96.0.0/16,fd00:10:96::/112",
                              node_pod_cidrs=[["10.244.1.0/24", "fd00:10:244:1::/64"]] * 2, gateway_mode="local",
                              masquerade={"ipv4": "169.254.0.0/17", "ipv6": "fd69::/112"})
    routes["/api/v1/nodes"][0]["metadata"]["labels"].update(
        {"research.example.org/lab-uplink": "true", "research.example.org/v6-uplink": "true"})
    api = serve(routes)
    result = run_cli("preflight", api=api, plan=plan)
    assert result.returncode == 0, result.stdout
    assert "kube-system/kubeadm-config" not in result.stdout  # sources only show on failures
    data = json.loads(run_cli("preflight", "--json", api=api, plan=plan).stdout)
    assert all(check["status"] in ("pass", "skip") for check in data["checks"])


def test_service_cidr_objects_are_read_on_new_clusters(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """The server's own ServiceCIDR (its --service-cluster-ip-range) and one an admin added to
    extend the range: the preflight reads both and prefers them to kubeadm-config, which here
    names only what the site covers."""
    own = realcluster.SERVICE_CIDR
    override = tmp_path / "services.yaml"
    override.write_text(f"cluster:\n  serviceNetwork: [{own.replace(',', ', ')}]\n")
    plan = render_plan([helm.CHART / "ci" / "dualstack-values.yaml", override])
    routes = clusters.with_service_cidrs(
        clusters.kubeadm(pod_subnet="10.244.0.0/16,fd00:10:244::/56", service_subnet=own,
                         node_pod_cidrs=[["10.244.1.0/24"]], masquerade={"ipv4": "169.254.0.0/17", "ipv6": "fd69::/112"}),
        "extended", ["10.97.0.0/16"])
    api = serve(routes)
    result = run_cli("preflight", api=api, plan=plan)
    assert result.returncode == 1, result.stdout
    assert "serviceNetwork: no route rule covers 10.97.0.0/16 (read from ServiceCIDR objects)" in result.stdout
    assert f"serviceNetwork: [10.97.0.0/16, {own.replace(',', ', ')}]" in result.stdout, result.stdout


def test_other_tenants_table_and_pool_stop_the_install(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    routes = clusters.openshift(**SEED_CLUSTER)
    clusters.add_policy(routes, "blue-vrf", vrf="bluevrf", table=2, selector={"vrf": "true"}, owner="blue/blue")
    clusters.add_policy(routes, "vrfpolicy", vrf="ens4vrf", table=2, selector={"vrf": "true"},
                        owner=f"{helm.NAMESPACE}/{helm.RELEASE}")  # our own, on upgrade: not a conflict
    clusters.add_pool(routes, "blue-pool", ["192.169.10.0/30"], owner="blue/blue")
    clusters.add_peer(routes, "blue-tor", vrf="ens4vrf", owner="blue/blue")
    clusters.add_peer(routes, "frrviavrf", vrf="ens4vrf", owner=f"{helm.NAMESPACE}/{helm.RELEASE}")
    api = serve(routes)
    result = run_cli("preflight", "--json", api=api, plan=seed_plan)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    found = {c["check"]: c for c in data["checks"]}
    assert found["vrf-conflicts"]["status"] == "fail"
    assert found["vrf-conflicts"]["details"] == [
        "ens4vrf (table 2): policy blue-vrf of release blue/blue sets VRF bluevrf (table 2), same table id, "
        "on worker-0",
        "ens4vrf: BGPPeer blue-tor of release blue/blue already peers in this VRF"]
    assert found["pool-overlaps"]["status"] == "fail" and "blue-pool" in found["pool-overlaps"]["details"][0]
    assert data["ok"] is False


@pytest.mark.parametrize(("routing_via_host", "status", "code"), [(True, "pass", 0), (False, "fail", 1)])
def test_network_mode_needs_routing_via_host(run_cli: Run, serve: Serve, routing_via_host: bool, status: str, code: int) -> None:
    plan = render_plan([helm.CHART / "ci" / "network-mode-values.yaml"])
    nodes = [clusters.node("w1", {"vrf.example.com/media": "true"}, masquerade={"ipv4": "169.254.169.0/29"})]
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"], nodes=nodes,
                                   routing_via_host=routing_via_host))
    result = run_cli("preflight", "--json", api=api, plan=plan)
    assert result.returncode == code, result.stdout
    assert statuses(result.stdout)["routing-via-host"] == status


def test_native_metallb_and_missing_crds_fail(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    routes = clusters.openshift(**SEED_CLUSTER, metallb_backend="native")
    del routes["/apis/k8s.ovn.org/v1"]
    api = serve(routes)
    result = run_cli("preflight", "--json", api=api, plan=seed_plan)
    found = statuses(result.stdout)
    assert (found["metallb-mode"], found["crds"], result.returncode) == ("fail", "fail", 1)


def forbidden(verb: str, resource: str, group: str, namespace: str = "") -> str:
    """The RBAC authorizer's refusal, worded as the server words it (k8s.io/apiserver
    pkg/endpoints/handlers/responsewriters/errors.go, ForbiddenStatusError)."""
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return (f'{resource} is forbidden: User "system:serviceaccount:kube-system:hooks-admin" cannot {verb} '
            f'resource "{resource}" in API group "{group}" {where}')


def test_forbidden_list_names_the_permission_and_fails(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    api = serve(clusters.openshift(**SEED_CLUSTER))
    api.fail("/api/v1/nodes", status=403, times=10, message=forbidden("list", "nodes", ""))
    result = run_cli("preflight", api=api, plan=seed_plan)
    assert result.returncode == 1
    assert "FAIL  node-selectors" in result.stdout and "may not list nodes" in result.stdout
    no_secret(api, result.stdout, result.stderr)


def test_forbidden_metallb_resource_fails_rather_than_warns(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    """No MetalLB resource is a warning (MetalLB without its operator has none); a refusal to
    read them is the preflight's own rights missing, a failure like the other checks'."""
    api = serve(clusters.openshift(**SEED_CLUSTER))
    api.fail("/apis/metallb.io/v1beta1/namespaces/metallb-system/metallbs", status=403, times=10,
             message=forbidden("list", "metallbs", "metallb.io", "metallb-system"))
    result = run_cli("preflight", api=api, plan=seed_plan)
    assert result.returncode == 1
    assert "FAIL  metallb-mode" in result.stdout and "may not list metallbs.metallb.io" in result.stdout


def test_malformed_objects_are_skipped_and_named(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    routes = clusters.openshift(**SEED_CLUSTER)
    # desiredState is free-form to the API server (the NNCP CRD preserves unknown fields), so it
    # stores a VRF without a route-table-id; nmstate refuses it later, the preflight skips it.
    routes["/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"].append(
        {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy", "metadata": {"name": "broken"},
         "spec": {"desiredState": {"interfaces": [{"name": "x", "type": "vrf", "vrf": {}}]}}})
    clusters.add_policy(routes, "blue-vrf", vrf="bluevrf", table=2, selector={"vrf": "true"}, owner="blue/blue")
    api = serve(routes)
    data = json.loads(run_cli("preflight", "--json", api=api, plan=seed_plan).stdout)
    found = {c["check"]: c for c in data["checks"]}
    assert found["malformed-objects"]["details"] == ["nodenetworkconfigurationpolicies broken"]
    assert found["vrf-conflicts"]["status"] == "fail"


def test_unreachable_api_exits_3_within_the_deadline(run_cli: Run, seed_plan: str, real_api: RealApi,
                                                    tmp_path: Path) -> None:
    """An API that takes the connection and never answers is retried until the deadline (a
    refused connection is not: tests/hooks/test_install.py). The token and CA are the rig's."""
    token = tmp_path / "t"
    token.write_text(real_api.token)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        result = run_cli("preflight", f"--server=https://127.0.0.1:{port}", f"--token-file={token}",
                         f"--ca-file={real_api.ca_file}", "--deadline=1", "--request-timeout=0.5", plan=seed_plan, timeout=20)
    assert result.returncode == 3
    assert "did not answer" in result.stderr
    no_secret(real_api, result.stdout, result.stderr)


def test_warnings_fail_and_skip(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    routes = clusters.openshift(**SEED_CLUSTER, metallb_backend=None)
    api = serve(routes)
    assert run_cli("preflight", api=api, plan=seed_plan).returncode == 0
    assert run_cli("preflight", "--warnings-fail", api=api, plan=seed_plan).returncode == 1
    assert run_cli("preflight", "--warnings-fail", "--skip=metallb-mode", api=api, plan=seed_plan).returncode == 0
    bad = run_cli("preflight", "--skip=nope", api=api, plan=seed_plan)
    assert bad.returncode == 2 and "unknown check(s) to skip: nope" in bad.stderr


def test_plan_from_helm_template_output_on_stdin(run_cli: Run, serve: Serve) -> None:
    manifest = helm.template("helm3", [SEED]).stdout
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    result = run_cli("preflight", "--plan-from-manifest=-", api=api, stdin=manifest)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lookup_site_rendered_offline_fails_with_the_override(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """cluster.lookup under `helm template` (Argo CD): no CIDRs, no rules; the preflight stops it."""
    override = tmp_path / "lookup.yaml"
    override.write_text("cluster:\n  serviceNetwork: []\n  clusterNetwork: []\n  lookup: true\n")
    rendered = helm.template("helm3", [SEED, override])
    assert rendered.returncode == 0, rendered.stderr
    policy = next(d for d in rendered.documents if d["kind"] == "NodeNetworkConfigurationPolicy")
    assert "route-rules" not in policy["spec"]["desiredState"]
    api = serve(clusters.openshift(**SEED_CLUSTER))
    result = run_cli("preflight", api=api, plan=render_plan([SEED, override]))
    assert result.returncode == 1
    assert "serviceNetwork: [172.30.0.0/16]" in result.stdout and "clusterNetwork: [10.132.0.0/14]" in result.stdout


def test_discover_prints_a_values_override(run_cli: Run, serve: Serve) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14", "10.132.0.0/14"],
                                   masquerade={"ipv4": "169.254.0.0/17", "ipv6": "fd69::/112"}))
    result = run_cli("discover", api=api)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "cluster:",
        "  serviceNetwork: [172.30.0.0/16]  # from network.config.openshift.io/cluster status",
        "  clusterNetwork: [10.128.0.0/14, 10.132.0.0/14]  # from network.config.openshift.io/cluster status",
        "  masqueradeSubnet: [169.254.0.0/17, fd69::/112]  # from node annotation k8s.ovn.org/node-masquerade-subnet",
    ]


def test_large_lists_are_read_page_by_page(run_cli: Run, serve: Serve, seed_plan: str) -> None:
    """600 Nodes, read 250 a page (gather.PAGE) with the server's own continue tokens; the one
    node carrying the VRF's label is on the last page. (No status: the preflight reads none.)"""
    nodes = [clusters.node(f"w{i:03}", {"vrf": "true"} if i == 599 else {}) for i in range(600)]
    for node in nodes:
        del node["status"]
    api = serve(clusters.openshift(**SEED_CLUSTER, nodes=nodes))
    result = run_cli("preflight", "--json", api=api, plan=seed_plan)
    pages = [r.path for r in api.requests if r.path.startswith("/api/v1/nodes")]
    # One pass of three pages: no continue token, then the server's two. The leftovers check
    # (the server serves NodeNetworkStates) uses the labels the node checks read.
    assert len(pages) == 3, pages
    assert all("limit=250" in page for page in pages)
    assert "continue=" not in pages[0]
    assert all("continue=" in page for page in pages[1:]) and pages[1] != pages[2]
    assert statuses(result.stdout)["node-selectors"] == "pass", result.stdout


def matching_cluster(site: dict[str, Any]) -> dict[str, Any]:
    """A cluster that meets everything a generated site asks for: its CIDRs, nodes
    carrying every VRF's labels (sitegen.cluster_nodes: the nodes of a VRF's table, or one
    node for a VRF whose static addresses are one node's), the masquerade subnets, and
    replies routed via the host."""
    cidrs = site["cluster"]
    masquerade = {("ipv6" if ":" in cidr else "ipv4"): cidr for cidr in cidrs["masqueradeSubnet"]}
    dual = len(cidrs["clusterNetwork"]) > 1
    pod_cidrs = [[f"10.128.{i}.0/24"] + ([f"fd01:0:0:{i}::/64"] if dual else []) for i in range(4)]
    wanted = sorted(sitegen.cluster_nodes(site).items())
    if site["platform"] == "openshift":
        nodes = [clusters.node(name, labels, masquerade=masquerade) for name, labels in wanted]
        return clusters.openshift(service=cidrs["serviceNetwork"], cluster=cidrs["clusterNetwork"], nodes=nodes,
                                  routing_via_host=True, metallb_version=site["metallb"]["version"])
    routes = clusters.kubeadm(
        pod_subnet=",".join(cidrs["clusterNetwork"]), service_subnet=",".join(cidrs["serviceNetwork"]),
        node_pod_cidrs=pod_cidrs[:len(wanted)], gateway_mode="local", masquerade=masquerade,
        metallb_version=site["metallb"]["version"])
    routes["/api/v1/nodes"] = [clusters.node(name, labels, masquerade=masquerade, pod_cidrs=pod_cidrs[i])
                               for i, (name, labels) in enumerate(wanted)]
    return routes


@pytest.mark.parametrize("seed", sitegen.SEEDS)
def test_generated_site_on_a_matching_cluster_passes(run_cli: Run, serve: Serve, tmp_path: Path, seed: int) -> None:
    """No false alarm on shapes the ci/ sites do not have (tests/support/sitegen.py)."""
    site = sitegen.generate_site(seed)
    values = sitegen.values_file(site, tmp_path / "site.yaml")
    result = run_cli("preflight", "--warnings-fail", api=serve(matching_cluster(site)), plan=render_plan([values]))
    assert result.returncode == 0, f"seed {seed}:\n{result.stdout}{result.stderr}"


def multi_node_cluster(metallb_version: str) -> dict[str, Any]:
    """The cluster ci/multi-node-values.yaml is written for: four workers, dual stack."""
    masquerade = {"ipv4": "169.254.0.0/17", "ipv6": "fd69::/112"}
    nodes = [clusters.node(f"worker-{i}", {"node-role.kubernetes.io/worker": ""}, masquerade=masquerade) for i in range(4)]
    return clusters.openshift(service=["172.30.0.0/16", "fd02::/112"], cluster=["10.128.0.0/14", "fd01::/48"],
                              nodes=nodes, routing_via_host=True, metallb_version=metallb_version)


def test_multi_node_site_on_its_cluster_passes(run_cli: Run, serve: Serve) -> None:
    plan = render_plan([helm.CHART / "ci" / "multi-node-values.yaml"])
    result = run_cli("preflight", "--warnings-fail", api=serve(multi_node_cluster("0.16.1")), plan=plan)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shop: 4 of 4 listed node(s) carry node-role.kubernetes.io/worker=" in result.stdout


def test_multi_node_site_on_an_older_metallb_fails_before_any_node_is_touched(run_cli: Run, serve: Serve) -> None:
    plan = render_plan([helm.CHART / "ci" / "multi-node-values.yaml"])
    result = run_cli("preflight", "--json", api=serve(multi_node_cluster("0.15")), plan=plan)
    assert result.returncode == 1
    found = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert found["metallb-version"]["status"] == "fail"
    assert "no serviceSelectors" in found["metallb-version"]["summary"]


@pytest.mark.parametrize(("secret_type", "status", "detail"), [
    ("kubernetes.io/basic-auth", "pass", ""),
    ("Opaque", "fail", "Secret metallb-system/bgp-md5 is of type Opaque, not kubernetes.io/basic-auth"),
    (None, "fail", "Secret metallb-system/bgp-md5 does not exist"),
])
def test_a_password_secret_must_exist_as_basic_auth(run_cli: Run, serve: Serve, tmp_path: Path,
                                                    secret_type: str | None, status: str, detail: str) -> None:
    """metallb internal/config/config.go passwordFromSecretForPeer: a missing Secret holds the
    peer back, another type than kubernetes.io/basic-auth is refused."""
    override = tmp_path / "secret.yaml"
    override.write_text("cluster: {masqueradeSubnet: [169.254.0.0/17]}\n"
                        "vrfs: {ens4vrf: {bgpPeers: {frrviavrf: {passwordSecret: {name: bgp-md5}}}}}\n")
    routes = clusters.openshift(**SEED_CLUSTER)
    if secret_type:
        routes["/api/v1/namespaces/metallb-system/secrets/bgp-md5"] = {
            "apiVersion": "v1", "kind": "Secret", "type": secret_type,
            "metadata": {"name": "bgp-md5", "namespace": "metallb-system"}, "data": {"password": "c2VjcmV0"}}
    result = run_cli("preflight", "--json", api=serve(routes), plan=render_plan([SEED, override]))
    found = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert found["peer-secrets"]["status"] == status, result.stdout
    assert result.returncode == (0 if status == "pass" else 1)
    if detail:
        assert found["peer-secrets"]["details"] == [f"vrfs.ens4vrf peer frrviavrf: {detail}"]


def test_community_aliases_of_another_release_stop_the_install(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """metallb internal/config/config.go communitiesFromCrs: one alias name defined twice over
    the namespace's Communities stops MetalLB's whole configuration."""
    override = tmp_path / "aliases.yaml"
    override.write_text("cluster: {masqueradeSubnet: [169.254.0.0/17]}\n"
                        "communities: {aliases: {no-export: '65535:65281', mine: '64512:1'}}\n")
    routes = clusters.openshift(**SEED_CLUSTER)
    routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/communities"] = [
        {"apiVersion": "metallb.io/v1beta1", "kind": "Community",
         "metadata": {"name": "blue-communities", "namespace": "metallb-system",
                      "annotations": clusters.release_annotations("blue/blue")},
         "spec": {"communities": [{"name": "no-export", "value": "65535:65281"}, {"name": "theirs", "value": "1:1"}]}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "Community",
         "metadata": {"name": "ours", "namespace": "metallb-system",
                      "annotations": clusters.release_annotations(f"{helm.NAMESPACE}/{helm.RELEASE}")},
         "spec": {"communities": [{"name": "mine", "value": "64512:1"}]}},
    ]
    result = run_cli("preflight", "--json", api=serve(routes), plan=render_plan([SEED, override]))
    found = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert found["communities"]["status"] == "fail"
    assert found["communities"]["details"] == [
        "communities.aliases.no-export: also defined by Community blue-communities of release blue/blue"]
    assert result.returncode == 1
