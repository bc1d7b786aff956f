"""`symrouting adopt` against clusters built by hand (tests/support/handbuilt.py) on the real
API server (tests/support/realapi.py): each object created from what the person applied, as
`kubectl apply` creates it, so its defaults, uid, resourceVersion and managedFields are the
server's own. The values adopt writes render the live objects field for field under Helm 3
and Helm 4, what the values cannot say is reported with a non-zero exit, and a first install
of the adopted values leaves the nodes alone (the preflight passes, the prune has nothing
to remove)."""

from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from symrouting import adopt, blockyaml, cleanup
from symrouting.plan import parse_plan
from tests.hooks.conftest import render_plan
from tests.support import handbuilt, helm
from tests.support.realapi import RealApi

Run = Callable[..., subprocess.CompletedProcess[str]]
Serve = Callable[..., RealApi]

CI = helm.CHART / "ci"
# The documentation's example, and two multi-VRF sites: per-node policies on four workers
# with MetalLB 0.16 (per-service advertisements), three VRFs with BFD, passwords and communities.
CASES: dict[str, Callable[..., tuple[list[dict[str, Any]], dict[str, Any]]]] = {
    "documentation": handbuilt.documentation_cluster,
    "multi-node": lambda owner=None: handbuilt.site_cluster(CI / "multi-node-values.yaml", owner),
    "multi-vrf": lambda owner=None: handbuilt.site_cluster(CI / "multi-vrf-values.yaml", owner),
}
SERVER_SET = ("uid", "resourceVersion", "managedFields", "creationTimestamp", "generation")


def as_helm_sees(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without what the API server sets, the chart's own labels, Helm's ownership
    annotations and the annotation `kubectl apply` writes: what must agree."""
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    meta = obj["metadata"]
    for key in SERVER_SET:
        meta.pop(key, None)
    labels = {k: v for k, v in (meta.pop("labels", None) or {}).items() if k not in handbuilt.CHART_LABELS}
    annotations = {k: v for k, v in (meta.pop("annotations", None) or {}).items()
                   if not k.startswith("meta.helm.sh/") and k != handbuilt.LAST_APPLIED}
    meta.update({"labels": labels} if labels else {})
    meta.update({"annotations": annotations} if annotations else {})
    return obj


# The field manager of a client-side `kubectl apply` (kubectl pkg/cmd/apply/apply.go,
# FieldManagerClientSideApply).
KUBECTL_APPLY = "kubectl-client-side-apply"


def collection_of(obj: dict[str, Any]) -> str:
    """Where the API server creates an object of this kind."""
    namespace = obj["metadata"].get("namespace", "")
    if obj["kind"] in ("Service", "Secret"):
        return f"/api/v1/namespaces/{namespace}/{obj['kind'].lower()}s"
    collection = handbuilt.COLLECTIONS[obj["kind"]].format(ns=namespace)
    if namespace and "/namespaces/" not in collection:
        head, resource = collection.rsplit("/", 1)
        collection = f"{head}/namespaces/{namespace}/{resource}"
    return collection


def applied_by_hand(api: RealApi, objects: list[dict[str, Any]]) -> None:
    """Creates each object as client-side `kubectl apply` creates a missing one: a POST of what
    was applied (its last-applied-configuration) with that annotation, under kubectl's field
    manager (kubectl pkg/util/apply.go CreateApplyAnnotation, pkg/cmd/apply/apply.go). A
    Service's status is then written as MetalLB's controller writes it: the status subresource."""
    for obj in objects:
        annotations = obj["metadata"].get("annotations") or {}
        body = json.loads(annotations[handbuilt.LAST_APPLIED]) if handbuilt.LAST_APPLIED in annotations else (
            {k: v for k, v in obj.items() if k != "status"})
        if handbuilt.LAST_APPLIED in annotations:
            body["metadata"].setdefault("annotations", {})[handbuilt.LAST_APPLIED] = annotations[handbuilt.LAST_APPLIED]
        namespace = obj["metadata"].get("namespace")
        if namespace and api.client.get(f"/api/v1/namespaces/{namespace}") is None:
            api.client.call("POST", "/api/v1/namespaces",
                            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        collection = collection_of(obj)
        created = api.client.call("POST", f"{collection}?fieldManager={KUBECTL_APPLY}", body)
        path = f"{collection}/{obj['metadata']['name']}"
        api.loaded.append(path)
        if obj.get("status"):
            api.client.call("PUT", f"{path}/status", {**created, "status": obj["status"]})


def live(api: RealApi, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects as the API server returns them now."""
    return [api.client.call("GET", f"{collection_of(o)}/{o['metadata']['name']}") for o in objects]


@pytest.fixture
def serve(real_api: RealApi) -> Callable[..., RealApi]:
    """The real server holding a case's cluster (its nodes, network configuration, MetalLB)
    from the routes, and the objects made by hand, applied as the person applied them."""
    def load(case: tuple[list[dict[str, Any]], dict[str, Any]]) -> RealApi:
        objects, routes = case
        real_api.reset()
        mine = {id(o) for o in objects}
        real_api.load({path: value for path, value in routes.items()
                       if id(value) not in mine and not (isinstance(value, list) and any(id(v) in mine for v in value))})
        applied_by_hand(real_api, objects)
        real_api.proxy.clear()
        return real_api

    return load


def stored_as(api: RealApi, rendered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rendered objects as the API server would store them: each one's server-side dry-run
    create (nothing is stored), under another name since the live one holds its own, so the
    defaults of the CRD the server serves are the server's. Hooks and kinds adopt does not
    take are left as rendered."""
    out = []
    for obj in copy.deepcopy(rendered):
        if obj["kind"] not in handbuilt.ADOPTED_KINDS or "helm.sh/hook" in (obj["metadata"].get("annotations") or {}):
            out.append(obj)
            continue
        name = obj["metadata"]["name"]
        obj["metadata"]["name"] = f"{name}-dry-run"
        stored = api.client.call("POST", f"{collection_of(obj)}?dryRun=All", obj)
        stored["metadata"]["name"] = name
        out.append(stored)
    return out


def by_key(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}": as_helm_sees(o)
            for o in objects if o["kind"] in handbuilt.ADOPTED_KINDS
            and "helm.sh/hook" not in (o["metadata"].get("annotations") or {})}


def run_adopt(run_cli: Run, api: RealApi, output: Path, version: str = "helm3") -> subprocess.CompletedProcess[str]:
    return run_cli("adopt", "--release", helm.RELEASE, "--namespace", helm.NAMESPACE, "--output", str(output),
                   "--helm", str(helm.helm_binary(version)), api=api, env=helm.GO_GC)


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_adopted_values_render_the_live_objects(run_cli: Run, serve: Serve, tmp_path: Path, case: str,
                                                version: str) -> None:
    objects, routes = CASES[case]()
    output = tmp_path / "site.yaml"
    api = serve((objects, routes))
    result = run_adopt(run_cli, api, output, version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clean: the chart renders the" in result.stdout
    # the same Helm, read by PyYAML here: every live object of the procedure's kinds, and nothing
    # else; of the Secrets, the ones the chart makes for a peer's `password` (<ns>-<peer>-bgp-password)
    rendered = helm.template(version, [output])
    assert rendered.returncode == 0, rendered.stderr
    procedure = [o for o in live(api, objects)
                 if o["kind"] != "Secret" or o["metadata"]["name"].endswith("-bgp-password")]
    # the one change the install makes on purpose: a hand-built pool open to every Service
    # gets the chart's serviceAllocation (templates/ipaddresspool.yaml), and adopt says so
    open_pools = {o["metadata"]["name"] for o in procedure
                  if o["kind"] == "IPAddressPool" and "serviceAllocation" not in o["spec"]}
    documents = stored_as(api, rendered.documents)
    for doc in documents:
        if doc["kind"] == "IPAddressPool" and doc["metadata"]["name"] in open_pools:
            name = doc["metadata"]["name"]
            assert doc["spec"].pop("serviceAllocation") == {
                "serviceSelectors": [{"matchLabels": {"symmetric-routing/address-pool": name}}]}
            assert f"IPAddressPool metallb-system/{name}: spec.serviceAllocation: not live" in result.stdout
    assert by_key(documents) == by_key(procedure)


def test_documentation_values_read_as_written(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """The values file of the documentation's example, as a person reads it: every name
    written out, the CRDs' defaults carried over, the advertisement's node label as the
    documentation sets it."""
    output = tmp_path / "site.yaml"
    assert run_adopt(run_cli, serve(handbuilt.documentation_cluster()), output).returncode == 0
    values = yaml.safe_load(output.read_text())
    assert values["cluster"] == {"serviceNetwork": ["172.30.0.0/16"], "clusterNetwork": ["10.132.0.0/14"],
                                 "noMasqueradeSubnet": True}
    vrf = values["vrfs"]["ens4vrf"]
    assert vrf["policy"] == {"name": "vrfpolicy", "nodeSelector": {"vrf": "true"}, "maxUnavailable": 3}
    assert vrf["ports"] == {"ens4": {"ipv4": ["192.168.130.130/24"]}}
    assert vrf["routes"] == [{"destination": "0.0.0.0/0", "nextHopAddress": "192.168.130.1", "metric": 150}]
    # the live peer holds its CRD's defaults (peerPort 179...); the API server puts them back
    assert vrf["bgpPeers"]["frrviavrf"] == {"name": "frrviavrf", "myASN": 100, "peerASN": 200,
                                            "peerAddress": "192.168.130.1", "nodeSelectors": []}
    assert vrf["addressPools"]["first-pool"] == {"name": "first-pool", "addresses": ["192.169.10.0/32"]}
    assert vrf["bgpAdvertisements"]["first-adv"]["nodeSelectors"] == [
        {"matchLabels": {"egress-service.k8s.ovn.org/test-server1": ""}}]
    assert vrf["egressServices"] == {"server1": {"namespace": "test", "sourceIPBy": "LoadBalancerIP",
                                                 "nodeSelector": {"matchLabels": {"vrf": "true"}}}}


def test_it_prints_helms_ownership_metadata(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """Helm updates an existing object only when it carries app.kubernetes.io/managed-by=Helm
    and the release's meta.helm.sh annotations (helm pkg/action/validate.go, checkOwnership).
    The rest of the chart's labels (templates/_names.tpl symmetric-routing.labels) go on too:
    Helm 3 never patches an adopted custom resource (pkg/kube/client.go createPatch; see
    tests/lifecycle/test_adopt_install.py), and the hooks select a release's objects by them."""
    result = run_adopt(run_cli, serve(handbuilt.documentation_cluster()), tmp_path / "site.yaml")
    chart = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())
    labels = (f"app.kubernetes.io/instance=tenant-a app.kubernetes.io/managed-by=Helm "
              f"app.kubernetes.io/name=symmetric-routing app.kubernetes.io/version={chart['appVersion']} "
              f"helm.sh/chart=symmetric-routing-{chart['version']} symmetric-routing/release-namespace=test "
              "symmetric-routing/tenant=tenant-a symmetric-routing/vrf=ens4vrf")
    annotations = "meta.helm.sh/release-name=tenant-a meta.helm.sh/release-namespace=test"
    commands = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("kubectl ")]
    assert commands == [
        f"kubectl {verb} --overwrite {target} {f'app.kubernetes.io/component={component} {labels}' if verb == 'label' else annotations}"
        for target, component in [("bgpadvertisements.metallb.io first-adv -n metallb-system", "bgp-advertisement"),
                                  ("bgppeers.metallb.io frrviavrf -n metallb-system", "bgp-peer"),
                                  ("egressservices.k8s.ovn.org server1 -n test", "egress-service"),
                                  ("ipaddresspools.metallb.io first-pool -n metallb-system", "address-pool"),
                                  ("nodenetworkconfigurationpolicies.nmstate.io vrfpolicy", "vrf")]
        for verb in ("label", "annotate")
    ]
    assert f"helm install {helm.RELEASE} " in result.stdout
    # both Helms have --take-ownership (`helm install --help`), which the preflight cannot follow
    assert "this Helm has --take-ownership" in result.stdout


def _documentation_with(change: Callable[[list[dict[str, Any]]], None]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The documentation's example, its manifests changed before the person applies them (a
    Service's status is MetalLB's to write, not the person's: kept apart from what is applied)."""
    manifests = [m for m in yaml.safe_load_all((handbuilt.FIXTURES / "seed-manifests.yaml").read_text()) if m]
    change(manifests)
    objects = []
    for serial, manifest in enumerate(manifests, 1):
        status = manifest.pop("status", None)
        objects.append({**handbuilt.stored(manifest, serial), **({"status": status} if status else {})})
    return objects, handbuilt.api_routes(objects, handbuilt.clusters.openshift(service=["172.30.0.0/16"],
                                                                               cluster=["10.132.0.0/14"]))


def _kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind)


def test_a_password_in_the_peer_is_reported(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """The chart never renders spec.password (templates/bgppeer.yaml: other tenants'
    preflights list BGPPeers), so a live one is a difference, and the adoption is not clean."""
    case = _documentation_with(lambda objects: _kind(objects, "BGPPeer")["spec"].update(password="s3cret"))
    result = run_adopt(run_cli, serve(case), tmp_path / "site.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT CLEAN: 1 difference(s)" in result.stdout
    assert 'BGPPeer metallb-system/frrviavrf: spec.password: live "s3cret", the chart renders nothing' in result.stdout
    assert "kubectl label" not in result.stdout


def test_an_order_the_chart_does_not_print_is_reported(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """The chart prints the VRF interface before its ports (symmetric-routing.desiredState); a
    policy written the other way round would get a new desiredState on install."""
    def port_first(objects: list[dict[str, Any]]) -> None:
        interfaces = _kind(objects, "NodeNetworkConfigurationPolicy")["spec"]["desiredState"]["interfaces"]
        interfaces.reverse()

    result = run_adopt(run_cli, serve(_documentation_with(port_first)), tmp_path / "site.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NodeNetworkConfigurationPolicy vrfpolicy: spec.desiredState.interfaces[0].name: live \"ens4\", " \
           "the chart renders \"ens4vrf\"" in result.stdout


def test_objects_outside_the_procedure_are_left_alone(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """A peer with no vrf and a pool no VRF peer announces are not the procedure's: they stay
    out of the release, and out of the comparison."""
    def add_others(objects: list[dict[str, Any]]) -> None:
        peer = copy.deepcopy(_kind(objects, "BGPPeer"))
        peer["metadata"]["name"] = "default-vrf-peer"
        del peer["spec"]["vrf"]
        pool = copy.deepcopy(_kind(objects, "IPAddressPool"))
        pool["metadata"]["name"] = "l2-pool"
        objects += [peer, pool]

    output = tmp_path / "site.yaml"
    result = run_adopt(run_cli, serve(_documentation_with(add_others)), output)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "default-vrf-peer" not in output.read_text() and "l2-pool" not in output.read_text()
    assert "  BGPPeer metallb-system/default-vrf-peer: no vrf: it peers from the default VRF\n" in result.stdout
    assert "  IPAddressPool metallb-system/l2-pool: no adopted object names it\n" in result.stdout


@pytest.mark.parametrize("case", ["documentation", "multi-node"])
def test_first_install_leaves_the_nodes_alone(run_cli: Run, serve: Serve, tmp_path: Path, case: str) -> None:
    """With the ownership metadata in place, the pre-install preflight passes; the cleanup
    hooks do not run on install (symmetric-routing.cleanupHooks: pre-upgrade, pre-delete), and
    the first upgrade's prune (cleanup.plan_removals) finds nothing to take off any node."""
    objects, routes = CASES[case]()
    output = tmp_path / "site.yaml"
    api = serve((objects, routes))
    adopted = run_adopt(run_cli, api, output)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    plan = render_plan([output])
    # before the labels, the preflight takes the objects for another release's: label first
    unlabelled = run_cli("preflight", api=api, plan=plan)
    assert unlabelled.returncode == 1 and re.search(r"^FAIL +vrf-conflicts ", unlabelled.stdout, re.MULTILINE)
    # the `kubectl label` and `kubectl annotate` commands adopt printed, run as printed
    commands = [shlex.split(line.strip()) for line in adopted.stdout.splitlines() if line.strip().startswith("kubectl ")]
    assert {c[1] for c in commands} == {"label", "annotate"}
    for command in commands:
        api.cluster.kubectl(*command[1:])
    result = run_cli("preflight", api=api, plan=plan)
    assert result.returncode == 0, result.stdout + result.stderr
    rendered = helm.template("helm3", [output]).documents
    on_install = [d["metadata"]["name"] for d in rendered if d["kind"] == "Job"
                  and "pre-install" in d["metadata"]["annotations"]["helm.sh/hook"]]
    assert on_install == [f"{helm.RELEASE}-symmetric-routing-preflight"]
    policies = [o for o in live(api, objects) if o["kind"] == "NodeNetworkConfigurationPolicy"]
    assert all(p["metadata"]["annotations"]["meta.helm.sh/release-name"] == helm.RELEASE for p in policies)
    nodes = [(n["metadata"]["name"], n["metadata"].get("labels") or {}) for n in api.client.items("/api/v1/nodes")]
    removals = cleanup.plan_removals(parse_plan(json.loads(plan)), policies, uninstall=False, nodes=nodes)
    assert len(removals) == len(policies)
    assert [(p["metadata"]["name"], steps) for p, steps in removals] == [(p["metadata"]["name"], []) for p, _ in removals]


def test_block_yaml_reads_what_helm_prints() -> None:
    """blockyaml reads the chart's objects of every ci/ site as PyYAML does."""
    for site in helm.site_files():
        stdout = helm.render_site(site).stdout
        expected = [d for d in yaml.safe_load_all(stdout) if d and d["kind"] in adopt.KINDS]
        assert blockyaml.load_documents(stdout, adopt.KINDS) == expected, site.name


def test_block_yaml_writes_what_yaml_reads_back() -> None:
    """Strings that a plain scalar would turn into another type are quoted."""
    value = {"a": ["2", "yes", "0.16", "true", "null", "", "65535:65281", "10.0.0.0/8", "key: value", "# no"],
             "b": {"nested": [{"x": 1, "y": [True, None, 1.5]}], "empty": {}, "none": []}, "ports": {"ens4": {}}}
    assert yaml.safe_load(blockyaml.dump(value)) == value
    assert blockyaml.load_documents(blockyaml.dump(value)) == [value]


def test_block_yaml_refuses_what_it_cannot_read() -> None:
    with pytest.raises(blockyaml.YamlError, match="line 2"):
        blockyaml.load_documents("a: 1\nb: &anchor x\n")


def test_an_egress_service_without_its_pool_is_a_problem(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """With two pools in the VRF and no Service to name one, the values cannot say which pool
    the service takes its address from (symmetric-routing.egressServicePool): not clean."""
    def second_pool(objects: list[dict[str, Any]]) -> None:
        pool = copy.deepcopy(_kind(objects, "IPAddressPool"))
        pool["metadata"]["name"] = "second-pool"
        pool["spec"]["addresses"] = ["192.169.11.0/32"]
        objects.append(pool)
        _kind(objects, "BGPAdvertisement")["spec"]["ipAddressPools"].append("second-pool")

    result = run_adopt(run_cli, serve(_documentation_with(second_pool)), tmp_path / "site.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "set vrfs.ens4vrf.egressServices.server1.addressPool" in result.stdout


def test_no_helm_is_a_clear_error(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    result = run_cli("adopt", "--release", helm.RELEASE, "--namespace", helm.NAMESPACE, "--output",
                     str(tmp_path / "site.yaml"), "--helm", str(tmp_path / "no-helm"),
                     api=serve(handbuilt.documentation_cluster()))
    assert result.returncode == 2
    assert result.stderr == f"symrouting: no Helm at {str(tmp_path / 'no-helm')!r}: install Helm 3.19+ or 4, or name it with --helm\n"


@pytest.mark.parametrize("service", [
    {"annotations": {"metallb.universe.tf/address-pool": "second-pool"}},
    {"annotations": {"metallb.io/ip-allocated-from-pool": "second-pool"}},
    {"status": {"loadBalancer": {"ingress": [{"ip": "192.169.11.0"}]}}},
], ids=["deprecated-annotation", "allocated-from", "address"])
def test_the_services_pool_is_found(run_cli: Run, serve: Serve, tmp_path: Path, service: dict[str, Any]) -> None:
    """The pool an egress service takes its address from, with two pools in the VRF: the one its
    Service asks for (MetalLB controller/service.go reads metallb.io/address-pool, then the
    deprecated metallb.universe.tf spelling), the one MetalLB's controller records having
    allocated from, or the one holding its address."""
    def second_pool_and_service(objects: list[dict[str, Any]]) -> None:
        pool = copy.deepcopy(_kind(objects, "IPAddressPool"))
        pool["metadata"]["name"] = "second-pool"
        pool["spec"]["addresses"] = ["192.169.11.0/32"]
        objects.append(pool)
        _kind(objects, "BGPAdvertisement")["spec"]["ipAddressPools"].append("second-pool")
        # a LoadBalancer Service needs a port (the real server refuses one without: spec.ports Required)
        objects.append({"apiVersion": "v1", "kind": "Service",
                        "spec": {"type": "LoadBalancer", "ports": [{"port": 443, "protocol": "TCP"}]},
                        "metadata": {"name": "server1", "namespace": "test", **{k: v for k, v in service.items()
                                                                               if k == "annotations"}},
                        **{k: v for k, v in service.items() if k == "status"}})

    output = tmp_path / "site.yaml"
    result = run_adopt(run_cli, serve(_documentation_with(second_pool_and_service)), output)
    assert result.returncode == 0, result.stdout + result.stderr
    assert yaml.safe_load(output.read_text())["vrfs"]["ens4vrf"]["egressServices"]["server1"]["addressPool"] == "second-pool"


SECRET = "test-frrviavrf-bgp-password"  # <release namespace>-<peer>-bgp-password, as the chart names it


def _with_password_secret(objects: list[dict[str, Any]]) -> None:
    _kind(objects, "BGPPeer")["spec"]["passwordSecret"] = {"name": SECRET, "namespace": "metallb-system"}
    objects.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
                    "metadata": {"name": SECRET, "namespace": "metallb-system"}, "data": {"password": "czNjcmV0"}})


def test_a_password_secret_the_chart_makes_becomes_password(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """A Secret named as the chart names a peer's password Secret (symmetric-routing.passwordSecretName)
    is the chart's to render: the peer gets `password`, and the Secret is adopted."""
    output = tmp_path / "site.yaml"
    result = run_adopt(run_cli, serve(_documentation_with(_with_password_secret)), output)
    assert result.returncode == 0, result.stdout + result.stderr
    peer = yaml.safe_load(output.read_text())["vrfs"]["ens4vrf"]["bgpPeers"]["frrviavrf"]
    assert peer["password"] == "s3cret" and "passwordSecret" not in peer
    assert f"  Secret metallb-system/{SECRET}\n" in result.stdout


def test_a_secret_it_may_not_read_stays_outside(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """Refused the Secret, the peer keeps naming it in passwordSecret, and the Secret stays as it is."""
    api = serve(_documentation_with(_with_password_secret))
    api.fail(f"/api/v1/namespaces/metallb-system/secrets/{SECRET}", 403, times=100)
    output = tmp_path / "site.yaml"
    result = run_adopt(run_cli, api, output)
    assert result.returncode == 0, result.stdout + result.stderr
    peer = yaml.safe_load(output.read_text())["vrfs"]["ens4vrf"]["bgpPeers"]["frrviavrf"]
    assert peer["passwordSecret"] == {"name": SECRET, "namespace": "metallb-system"} and "password" not in peer
    assert "Secret metallb-system" not in result.stdout


def test_an_advertisement_from_every_node_is_reported(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """With sourceIPBy LoadBalancerIP the advertisement must select the node OVN-Kubernetes
    picked (the documentation's rule), which the chart enforces (templates/validate/): one
    announced from every node is refused, and the refusal is the report."""
    case = _documentation_with(lambda objects: _kind(objects, "BGPAdvertisement")["spec"].pop("nodeSelectors"))
    result = run_adopt(run_cli, serve(case), tmp_path / "site.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT CLEAN: helm template" in result.stdout and "refused the values" in result.stdout
    assert "vrfs.ens4vrf.bgpAdvertisements.first-adv.nodeSelectors: select egress-service.k8s.ovn.org/test-server1" \
        in result.stdout


def test_without_the_crds_the_defaults_are_written_out(run_cli: Run, serve: Serve, tmp_path: Path) -> None:
    """A CRD it cannot read leaves its kind's defaults in the values, which then say them."""
    api = serve(handbuilt.documentation_cluster())
    api.fail("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io", 404, times=100)
    output = tmp_path / "site.yaml"
    result = run_adopt(run_cli, api, output)
    assert result.returncode == 0, result.stdout + result.stderr
    peer = yaml.safe_load(output.read_text())["vrfs"]["ens4vrf"]["bgpPeers"]["frrviavrf"]
    assert (peer["peerPort"], peer["disableMP"], peer["dualStackAddressFamily"]) == (179, False, False)


def test_a_boolean_and_a_number_of_equal_value_are_a_difference() -> None:
    """JSON keeps true and 1 apart (RFC 8259, section 3), and so does the API server's
    structural schema (a boolean field refuses 1): Python's True == 1 must not hide that the
    install would change the field."""
    live = {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy", "metadata": {"name": "p"},
            "spec": {"desiredState": {"interfaces": [{"name": "ens4", "ipv4": {"dhcp": False, "enabled": True}}]}}}
    rendered = copy.deepcopy(live)
    rendered["spec"]["desiredState"]["interfaces"][0]["ipv4"] = {"dhcp": 0, "enabled": 1}
    assert adopt.differences([live], [rendered]) == [
        "NodeNetworkConfigurationPolicy p: spec.desiredState.interfaces[0].ipv4.dhcp: live false, the chart renders 0",
        "NodeNetworkConfigurationPolicy p: spec.desiredState.interfaces[0].ipv4.enabled: live true, the chart renders 1"]


def test_a_ranges_last_address_belongs_to_its_pool() -> None:
    """A pool's "first-last" range holds both ends: MetalLB turns it into the prefixes
    ipaddr.Summarize(start, end) covers (metallb internal/config/config.go, ParseCIDR)."""
    pools = {"edge": {"spec": {"addresses": ["192.168.10.10-192.168.10.20"]}}}
    found = [adopt._pool_of_address(f"192.168.10.{last}", pools) for last in (9, 10, 20, 21)]
    assert found == ["", "edge", "edge", ""]


@pytest.mark.parametrize("problems", [[], ["a problem the values cannot say"]], ids=["none", "one"])
def test_a_problem_alone_makes_the_adoption_not_clean(run_cli: Run, serve: Serve, tmp_path: Path,
                                                      problems: list[str]) -> None:
    """The documentation's clean adoption, proven again with one problem added: no difference
    in the render, yet not clean (the proof's `found or result.problems`)."""
    from symrouting.api import HttpsTransport

    objects, routes = handbuilt.documentation_cluster()
    written = tmp_path / "site.yaml"
    api = serve((objects, routes))
    assert run_adopt(run_cli, api, written).returncode == 0
    procedure = [o for o in live(api, objects) if o["kind"] in handbuilt.ADOPTED_KINDS and o["kind"] != "Secret"]
    result = adopt.Adoption(values=yaml.safe_load(written.read_text()), adopted=procedure, problems=list(problems))
    schemas = adopt.read_schemas(HttpsTransport(api.url, api.token, api.ca_file))
    proof = adopt.prove(result, str(helm.helm_binary("helm3")), [str(helm.CHART)], helm.RELEASE, helm.NAMESPACE,
                        tmp_path / "again.yaml", schemas)
    assert proof.clean is (not problems), proof.text
    if problems:
        assert "NOT CLEAN: 0 difference(s) the values cannot express, 1 problem(s) above" in proof.text


def test_lists_of_different_lengths_differ() -> None:
    """A live list longer than the rendered one is a difference, never cut to the shorter by zip."""
    live = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "p", "namespace": "m"},
            "spec": {"addresses": ["192.169.10.0/32", "192.169.11.0/32"]}}
    rendered = copy.deepcopy(live)
    rendered["spec"]["addresses"] = ["192.169.10.0/32"]
    assert adopt.differences([live], [rendered]) == [
        'IPAddressPool m/p: spec.addresses: live ["192.169.10.0/32", "192.169.11.0/32"], '
        'the chart renders ["192.169.10.0/32"]']


HOSTNAMES = {"key": "kubernetes.io/hostname", "operator": "In", "values": ["worker-0", "worker-1"]}
NO_INFRA = {"key": "node-role.kubernetes.io/infra", "operator": "DoesNotExist"}


@pytest.mark.parametrize(("live", "lacking"), [
    ({"matchLabels": {"vrf": "true"}, "matchExpressions": [HOSTNAMES]}, ""),
    ({"matchLabels": {"vrf": "true", "zone": "a"}, "matchExpressions": [HOSTNAMES, NO_INFRA]}, ""),
    ({"matchLabels": {"zone": "a"}}, "vrf=true, kubernetes.io/hostname In ['worker-0', 'worker-1']"),
    ({"matchLabels": {"vrf": "false"}, "matchExpressions": [HOSTNAMES]}, "vrf=true"),
    ({}, "vrf=true, kubernetes.io/hostname In ['worker-0', 'worker-1']"),
])
def test_an_egress_node_selector_wider_than_its_vrf_is_named(live: dict[str, Any], lacking: str) -> None:
    """templates/egressservice.yaml renders the VRF's node selector and the service's own both:
    a live selector that lacks part of the VRF's would render narrowed, and adopt says so (an
    egress node without the VRF: ovn-kubernetes v1.3.0 selectNodeFor picks any node it matches)."""
    vrf = {"policy": {"nodeSelector": {"vrf": "true"}}, "nodes": {"worker-1": {}, "worker-0": {}}}
    assert adopt._beyond_the_vrf(live, vrf) == lacking
