"""What the chart renders, upstream accepts: every site, `helm install`ed under Helm 3 and
Helm 4 into the real API server with MetalLB's real controller admitting the metallb.io
objects (its validating webhooks), is admitted; MetalLB's controller loads its pools (each
pool's status counted by it) and reports its ConfigurationState valid; it gives each
LoadBalancer Service an address of the chart's pool; and every desiredState the server
stored passes nmstate (rig/rust/nmstate-check). A seeded sample of the structural fuzzer's
sites that render (tests/test_fuzz.py) goes the same way.

Installed with --no-hooks: the hook Jobs (preflight, verify) need the pod runner, which
these tests do not start; the objects the chart renders are what is under test here.

Slow (10-40 s a site): every object of a site through the real API server and MetalLB's
webhooks, then MetalLB's controller must report the configuration valid.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import allsites, helm, nmstatecheck, realcluster, realmetallb
from tests.test_fuzz import CASES, address_networks, fuzzed_site

# MetalLB's controller fixes its webhook and metrics ports (internal/k8s/k8s.go), so one
# pytest worker runs every test that starts it (scripts/test.sh: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("metallb")

SITES = allsites.all_sites()
FUZZ_PER_SITE = 2
SETTLE = 60.0


def prepare_namespaces(cluster: realcluster.RealCluster, release: str, namespace: str,
                       values: list[Path]) -> None:
    """The namespaces the site's objects go to that the chart does not make (the Services'
    own, as scripts/kind_prepare.py makes them for ct install): a cluster has them. Made once
    and kept for later sites (an empty namespace changes nothing MetalLB or nmstate decide);
    one the site renders itself is deleted first if it is there, and one still being deleted
    is waited out."""
    documents = helm.template("helm3", values, release=release, namespace=namespace).documents
    rendered = {doc["metadata"]["name"] for doc in documents if doc["kind"] == "Namespace"}
    used = {doc["metadata"].get("namespace") for doc in documents} | rendered | {namespace}
    live = {space["metadata"]["name"]: space for space in
            json.loads(cluster.kubectl("get", "namespaces", "-o", "json").stdout)["items"]}
    for name in sorted(used - {None, realmetallb.NAMESPACE}):
        if name in rendered and name in live:
            # Kept from an earlier site or still going: Helm would refuse to adopt it.
            cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
            await_deleted(cluster, name)
            del live[name]
        elif name in live and live[name].get("status", {}).get("phase") == "Terminating":
            await_deleted(cluster, name)
            del live[name]
        if name not in live and name not in rendered and name != namespace:
            cluster.kubectl("create", "namespace", name)


def await_deleted(cluster: realcluster.RealCluster, name: str) -> None:
    """Until the namespace controller has emptied and removed a deleted namespace."""
    if not any(process.name == "kube-controller-manager" for process in cluster.processes):
        # No namespace controller runs here: do its last step once the namespace is empty
        # (pkg/controller/namespace/deletion/namespaced_resources_deleter.go, finalizeNamespace:
        # spec.finalizers without "kubernetes").
        cluster.request("PUT", f"/api/v1/namespaces/{name}/finalize", {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "spec": {"finalizers": []}})
    cluster.kubectl("wait", "--for=delete", f"namespace/{name}", "--timeout=120s", check=False)
    assert cluster.kubectl("get", "namespace", name, check=False).returncode != 0, f"namespace {name} stays"


@contextlib.contextmanager
def installed(version: str, cluster: realcluster.RealCluster, release: str, namespace: str,
              values: list[Path]) -> Iterator[helm.Result]:
    """`helm install` of the site; afterwards, whatever the test found, every object of the
    release is gone before the next site comes."""
    prepare_namespaces(cluster, release, namespace, values)
    args = ["install", release, str(helm.CHART), "--namespace", namespace, "--create-namespace",
            "--no-hooks", "--kubeconfig", str(cluster.kubeconfig), "--timeout", "2m"]
    for path in values:
        args += ["--values", str(path)]
    result = helm.run(version, *args)
    try:
        yield result
    finally:
        uninstall(version, cluster, release, namespace, result.returncode == 0)


def uninstall(version: str, cluster: realcluster.RealCluster, release: str, namespace: str,
              release_made: bool) -> None:
    """Without hooks, so without the chart's teardown: the BGPPeers go first, as the teardown
    does it, because MetalLB refuses to delete a BFDProfile a peer still names
    (metallb internal/k8s/webhooks/webhookv1beta1/bfdprofile_webhook.go, ValidateDelete).
    The namespaces the release rendered go with it (Helm deletes them; the next site that
    uses one waits them out in prepare_namespaces)."""
    selector = f"app.kubernetes.io/instance={release}"
    cluster.kubectl("delete", "bgppeers.metallb.io", "-A", "-l", selector, "--wait=true")
    if release_made:
        result = helm.run(version, "uninstall", release, "--namespace", namespace, "--no-hooks",
                          "--kubeconfig", str(cluster.kubeconfig), "--timeout", "2m")
        assert result.returncode == 0, result.stderr
    for space in stored(cluster, "namespaces", release):
        cluster.kubectl("delete", "namespace", space["metadata"]["name"], "--wait=false", check=False)


def stored(cluster: realcluster.RealCluster, resource: str, release: str) -> list[dict[str, Any]]:
    answer = cluster.kubectl("get", resource, "-A", "-l", f"app.kubernetes.io/instance={release}", "-o", "json")
    return list(json.loads(answer.stdout)["items"])


def wait_for(what: str, check: Any, metallb: realmetallb.MetalLB) -> Any:
    deadline = time.monotonic() + SETTLE
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {SETTLE:.0f} s; MetalLB's log:\n{metallb.log_tail()}")
        time.sleep(0.5)


def pool_networks(pool: dict[str, Any]) -> list[Any]:
    return address_networks(pool["spec"]["addresses"])


def check_accepted(cluster: realcluster.RealCluster, metallb: realmetallb.MetalLB, release: str,
                   fuzzed: bool = False) -> None:
    """What MetalLB's controller and nmstate make of the objects the release stored (a fuzzed
    site may have lost its every VRF, so its policies)."""
    pools = stored(cluster, "ipaddresspools.metallb.io", release)
    # metallb internal/k8s/controllers/pool_status_controller.go: the controller counts each
    # pool it loaded into its allocator; a pool it refused gets no status.
    wait_for("MetalLB's controller counts every pool of the release",
             lambda: all("availableIPv4" in (p.get("status") or {})
                         for p in stored(cluster, "ipaddresspools.metallb.io", release)), metallb)
    # internal/k8s/controllers/configuration_state_controller.go: Valid once a reconciler
    # reported, Invalid with each ConfigurationError's message.
    state = wait_for("ConfigurationState controller has a result",
                     lambda: (s := metallb.configuration_state()) and s.get("status", {}).get("result") != "Unknown"
                     and s, metallb)
    assert state["status"]["result"] == "Valid", state["status"]
    assert not state["status"].get("errorSummary"), state["status"]
    by_name = {p["metadata"]["name"]: pool_networks(p) for p in pools}
    for service in stored(cluster, "services", release):
        if service["spec"].get("type") != "LoadBalancer":
            continue
        pool = (service["metadata"].get("annotations") or {}).get("metallb.io/address-pool")
        name = f"{service['metadata']['namespace']}/{service['metadata']['name']}"
        ingress = wait_for(f"MetalLB gives {name} an address",
                           lambda: (cluster.kubectl("get", "service", "-n", service["metadata"]["namespace"],
                                                    service["metadata"]["name"], "-o",
                                                    "jsonpath={.status.loadBalancer.ingress[*].ip}").stdout.split()),
                           metallb)
        if pool in by_name:
            for ip in ingress:
                assert any(ipaddress.ip_address(ip) in net for net in by_name[pool]), (name, ip, pool)
    policies = stored(cluster, "nodenetworkconfigurationpolicies.nmstate.io", release)
    assert policies or fuzzed, f"release {release} stored no policy"
    for policy in policies:
        verdict = nmstatecheck.check_desired_state(policy["spec"]["desiredState"])
        assert verdict.ok, f"nmstate refuses {policy['metadata']['name']}: {verdict.error}"
        assert verdict.keyfiles, policy["metadata"]["name"]


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_site_is_admitted_by_metallb_and_passes_nmstate(
        site: allsites.Site, version: str, real_cluster: realcluster.RealCluster,
        real_metallb: realmetallb.MetalLB, tmp_path: Path) -> None:
    with installed(version, real_cluster, site.release, site.namespace, site.values(tmp_path)) as result:
        assert result.returncode == 0, f"{site.name} refused:\n{result.stderr}"
        check_accepted(real_cluster, real_metallb, site.release)


@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_fuzzed_sites_that_render_are_admitted(site: Path, real_cluster: realcluster.RealCluster,
                                               real_metallb: realmetallb.MetalLB, tmp_path: Path) -> None:
    """The first FUZZ_PER_SITE cases of the site's structural fuzzer (tests/test_fuzz.py,
    its seeds in order) that render, at least one, installed under Helm 3."""
    admitted = []
    for seed in range(CASES):
        values, mutations = fuzzed_site(site, seed)
        path = tmp_path / f"fuzzed-{seed}.yaml"
        path.write_text(yaml.safe_dump(values))
        if helm.template("helm3", [path]).returncode != 0:
            continue  # refused by the chart: tests/test_fuzz.py holds the refusal to its rules
        with installed("helm3", real_cluster, helm.RELEASE, helm.NAMESPACE, [path]) as result:
            assert result.returncode == 0, f"{helm.site_name(site)} seed {seed} {mutations}:\n{result.stderr}"
            check_accepted(real_cluster, real_metallb, helm.RELEASE, fuzzed=True)
        admitted.append(seed)
        if len(admitted) == FUZZ_PER_SITE:
            return
    # The chart refuses most mutations of a dual-stack site (families must agree everywhere):
    # one that renders is enough there; none would leave the site's fuzzing unproven.
    assert admitted, f"none of the {CASES} fuzzed cases of {helm.site_name(site)} renders"
