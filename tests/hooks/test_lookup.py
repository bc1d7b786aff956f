"""cluster.lookup against the real API server (through the proxy): `helm template
--dry-run=server` lets Helm's lookup read the cluster, as `helm install` does, and the rules then name the cluster's CIDRs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symrouting.plan import parse_plan
from tests.support import clusters, helm
from tests.support.realapi import RealApi

SEED = helm.CHART / "ci" / "seed-values.yaml"


def rules_rendered_against(api: RealApi, tmp_path: Path, version: str,
                           cluster: str = "  serviceNetwork: []\n  clusterNetwork: []\n") -> list[str]:
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    override = tmp_path / "lookup.yaml"
    override.write_text(f"cluster:\n{cluster}  lookup: true\n")
    result = helm.template(version, [SEED, override], env={"KUBECONFIG": str(kubeconfig)},
                           extra=("--dry-run=server", "--show-only", "templates/nodenetworkconfigurationpolicy.yaml"))
    assert result.returncode == 0, result.stderr
    [policy] = result.documents
    return [rule["ip-to"] for rule in policy["spec"]["desiredState"]["route-rules"]["config"]]


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_lookup_reads_openshift_networks_and_the_masquerade_annotation(real_api: RealApi,
                                                                       tmp_path: Path, version: str) -> None:
    api = real_api
    api.load(clusters.with_discovery(clusters.openshift(
        service=["172.30.0.0/16"], cluster=["10.128.0.0/14", "10.132.0.0/14"], masquerade={"ipv4": "169.254.0.0/17"})))
    assert rules_rendered_against(api, tmp_path, version) == [
        "172.30.0.0/16", "10.128.0.0/14", "10.132.0.0/14", "169.254.0.0/17"]


def test_lookup_reads_kubeadm_config_off_openshift(real_api: RealApi, tmp_path: Path) -> None:
    api = real_api
    api.load(clusters.with_discovery(clusters.kubeadm(
        pod_subnet="10.244.0.0/16,fd00:10:244::/56", service_subnet="10.96.0.0/12", node_pod_cidrs=[["10.244.1.0/24"]],
        masquerade={"ipv4": "169.254.0.0/17", "ipv6": "fd69::/112"})))
    assert rules_rendered_against(api, tmp_path, "helm3") == [
        "10.96.0.0/12", "10.244.0.0/16", "fd00:10:244::/56", "169.254.0.0/17", "fd69::/112"]


def test_values_win_over_lookup(real_api: RealApi, tmp_path: Path) -> None:
    """Only the lists left empty are looked up; a list the site sets stays as set."""
    api = real_api
    api.load(clusters.with_discovery(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"],
                                                           masquerade={"ipv4": "169.254.0.0/17"})))
    rules = rules_rendered_against(api, tmp_path, "helm3",
                                   cluster="  serviceNetwork: [172.31.0.0/16]\n  clusterNetwork: []\n")
    assert rules == ["172.31.0.0/16", "10.128.0.0/14", "169.254.0.0/17"]


def test_lookup_asks_once_and_the_plan_holds_what_the_policies_hold(real_api: RealApi,
                                                                     tmp_path: Path) -> None:
    """The policies and the hooks' plan take the cluster's CIDRs from one lookup per render
    (symmetric-routing.model), so the preflight checks the rules that are applied."""
    api = real_api
    api.load(clusters.with_discovery(clusters.openshift(
        service=["172.30.0.0/16"], cluster=["10.128.0.0/14"], masquerade={"ipv4": "169.254.0.0/17"})))
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    override = tmp_path / "lookup.yaml"
    override.write_text("cluster:\n  serviceNetwork: []\n  clusterNetwork: []\n  lookup: true\n")
    result = helm.template("helm3", [SEED, override], env={"KUBECONFIG": str(kubeconfig)}, extra=("--dry-run=server",))
    assert result.returncode == 0, result.stderr
    [policy] = [doc for doc in result.documents if doc["kind"] == "NodeNetworkConfigurationPolicy"]
    [config_map] = [doc for doc in result.documents if doc["kind"] == "ConfigMap"]
    plan = json.loads(config_map["data"]["plan.json"])
    assert plan["cluster"] == {"serviceNetwork": ["172.30.0.0/16"], "clusterNetwork": ["10.128.0.0/14"],
                               "masqueradeSubnet": ["169.254.0.0/17"]}
    # as the hooks read it: the VRF's shared policyState and the policy's own ports
    [planned] = parse_plan(plan).policies
    assert planned.desired_state == policy["spec"]["desiredState"]
    network_reads = [r.path for r in api.requests if r.path.endswith("/networks/cluster")]
    assert network_reads == ["/apis/config.openshift.io/v1/networks/cluster"]


def test_cleanup_may_update_the_release_policies_lookup_finds(real_api: RealApi, tmp_path: Path) -> None:
    """At upgrade the policy of a renamed or dropped VRF is named by no value: Helm's lookup
    finds it by the release's labels, and only the release's (same release name in another
    namespace, or another release, stay out); a policy both rendered and found is named once."""
    routes = clusters.with_discovery(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    routes["/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nodenetworkconfigurationpolicies.nmstate.io"] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "nodenetworkconfigurationpolicies.nmstate.io"}, "spec": {"group": "nmstate.io"}}

    def policy(name: str, release: str, namespace: str) -> dict[str, Any]:
        return {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/instance": release,
                                                      "symmetric-routing/release-namespace": namespace}}}

    routes["/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"] = [
        policy("tenant-a-old-vrf", helm.RELEASE, helm.NAMESPACE), policy("same-name-elsewhere", helm.RELEASE, "other"),
        policy("blue-vrf", "blue", helm.NAMESPACE), policy("vrfpolicy", helm.RELEASE, helm.NAMESPACE)]
    api = real_api
    api.load(routes)
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    result = helm.template("helm3", [SEED], env={"KUBECONFIG": str(kubeconfig)},
                           extra=("--dry-run=server", "--show-only", "templates/hooks/cleanup-clusterrole.yaml"))
    assert result.returncode == 0, result.stderr
    # The second document is the rollback's ClusterRole, which names no policy.
    [role] = [doc for doc in result.documents if doc["metadata"]["name"].endswith("-cleanup")]
    named = [rule["resourceNames"] for rule in role["rules"] if "update" in rule["verbs"]]
    assert named == [["tenant-a-old-vrf", "vrfpolicy"]]
