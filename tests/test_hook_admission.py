"""What the chart renders for the hooks' admission policy (symmetric-routing.hookAdmission),
with and without the API: which objects, which rights, which accounts and labels it names.
tests/realcluster/test_hook_admission.py runs the same objects on the real API server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import helm, scripts

SEED = helm.CHART / "ci" / "seed-values.yaml"
ADMISSION_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def render(*extra: str, version: str = "helm3", site: Any = SEED) -> list[dict[str, Any]]:
    result = helm.template(version, [site], extra=extra)
    assert result.returncode == 0, result.stderr
    return result.documents


def hook_of(doc: dict[str, Any]) -> str:
    return str(doc["metadata"].get("annotations", {}).get("helm.sh/hook", ""))


def write_rules(docs: list[dict[str, Any]]) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """(role name, resource, verbs, resourceNames) of each rule of the cleanup that writes a
    policy or a peer."""
    return [(d["metadata"]["name"], rule["resources"][0], tuple(rule["verbs"]), tuple(rule.get("resourceNames", ())))
            for d in docs if d["kind"] in ("Role", "ClusterRole") for rule in d["rules"]
            if {"update", "delete"} & set(rule["verbs"]) and rule["resources"][0] != "leases"]


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_with_the_api_the_policy_confines_rights_without_names(version: str) -> None:
    docs = render(*helm.ADMISSION_POLICY_APIS, version=version)
    regular = [d for d in docs if d["kind"] in ADMISSION_KINDS and not hook_of(d)]
    assert [(d["kind"], d["metadata"]["name"]) for d in regular] == [
        ("ValidatingAdmissionPolicy", "test-tenant-a-symmetric-routing-hooks"),
        ("ValidatingAdmissionPolicyBinding", "test-tenant-a-symmetric-routing-hooks")]
    assert regular[1]["spec"] == {"policyName": "test-tenant-a-symmetric-routing-hooks", "validationActions": ["Deny"]}
    assert sorted(write_rules(docs)) == [
        ("test-tenant-a-symmetric-routing-cleanup", "bgppeers", ("delete",), ()),
        ("test-tenant-a-symmetric-routing-cleanup", "nodenetworkconfigurationpolicies", ("get", "update"), ())]
    # A rollback needs no rights of its own.
    assert not [d["metadata"]["name"] for d in docs if d["metadata"]["name"].endswith("-rollback")]


def test_without_the_api_rights_name_the_objects_as_before() -> None:
    """`helm template` without --api-versions, like a cluster before Kubernetes 1.30: no
    policy, update and delete by resourceNames, and the pre-rollback rights."""
    docs = render(site=helm.CHART / "ci" / "multi-vrf-values.yaml")
    assert not [d for d in docs if d["kind"] in ADMISSION_KINDS]
    [plan] = [json.loads(d["data"]["plan.json"]) for d in docs if d["kind"] == "ConfigMap"]
    # every policy of the release by name (per-node ones carry their hash: templates/_model.tpl)
    policies = tuple(sorted(p["name"] for vrf in plan["vrfs"] for p in vrf["policies"]))
    assert len(policies) == 5 and "tenant-a-symmetric-routing-mgmt" in policies
    assert sorted(write_rules(docs)) == [
        ("test-tenant-a-symmetric-routing-cleanup", "bgppeers", ("delete",),
         ("edge-payments-b-tor-1", "tenant-a-symmetric-routing-pay-a-tor-1", "tenant-a-symmetric-routing-pay-a-tor-2",
          "tenant-a-symmetric-routing-pay-b-tor-2")),
        ("test-tenant-a-symmetric-routing-cleanup", "nodenetworkconfigurationpolicies", ("get", "update"), policies),
        ("test-tenant-a-symmetric-routing-rollback", "bgppeers", ("delete",), ()),
        ("test-tenant-a-symmetric-routing-rollback", "nodenetworkconfigurationpolicies", ("get", "update"), ())]
    assert plan["hookAdmissionPolicy"] == ""


@pytest.mark.parametrize("accounts", ["one per role", "hooks.serviceAccount.name"])
def test_the_policy_matches_the_accounts_the_hook_pods_run_as(accounts: str) -> None:
    extra = ("--set", "hooks.serviceAccount.name=hooks-sa") if accounts != "one per role" else ()
    docs = render(*helm.ADMISSION_POLICY_APIS, *extra)
    pods = [d["spec"]["template"]["spec"] if d["kind"] == "Job" else d["spec"] for d in docs if d["kind"] in ("Job", "Pod")]
    users = sorted({f"system:serviceaccount:test:{pod['serviceAccountName']}" for pod in pods})
    for policy in (d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"):
        [condition] = policy["spec"]["matchConditions"]
        assert condition["expression"] == f"request.userInfo.username in {json.dumps(users, separators=(',', ':'))}"


def test_the_policy_checks_the_labels_the_release_puts_on_its_objects() -> None:
    """The owner labels in the policy's CEL are those the chart puts on its policies and
    peers (symmetric-routing.ownerLabels, one helper for both), with the release's values."""
    docs = helm.template("helm3", [SEED], release="payments", namespace="tenants", extra=helm.ADMISSION_POLICY_APIS).documents
    [policy] = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicy" and not hook_of(d)]
    [owner] = [v["expression"] for v in policy["spec"]["variables"] if v["name"] == "owner"]
    for kind in ("NodeNetworkConfigurationPolicy", "BGPPeer"):
        [obj] = [d for d in docs if d["kind"] == kind]
        labels = obj["metadata"]["labels"]
        assert json.loads(owner) == {key: labels[key] for key in json.loads(owner)}
    assert json.loads(owner) == {"app.kubernetes.io/instance": "payments", "symmetric-routing/release-namespace": "tenants"}
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    assert [(r["apiGroups"], r["resources"], r["operations"]) for r in rules] == [
        (["nmstate.io"], ["nodenetworkconfigurationpolicies", "nodenetworkconfigurationpolicies/*"], ["CREATE", "UPDATE", "DELETE"]),
        (["metallb.io"], ["bgppeers", "bgppeers/*"], ["CREATE", "UPDATE", "DELETE"])]
    assert policy["spec"]["failurePolicy"] == "Fail"
    assert [v["reason"] for v in policy["spec"]["validations"]] == ["Forbidden"] * 3


def test_a_copy_lives_with_the_cleanup_rights_before_them() -> None:
    """The prune of the upgrade that first brings the policy runs before Helm (or Argo CD)
    creates the release's own: a copy exists in every cleanup hook, created before the
    ServiceAccount and RBAC, and deleted with them."""
    docs = render(*helm.ADMISSION_POLICY_APIS)
    copies = {d["kind"]: d for d in docs if d["kind"] in ADMISSION_KINDS and hook_of(d)}
    assert set(copies) == set(ADMISSION_KINDS)
    [clusterrole] = [d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"].endswith("-cleanup")]
    [account] = [d for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"].endswith("-cleanup")]
    for doc in copies.values():
        assert hook_of(doc) == hook_of(clusterrole) == "pre-upgrade,pre-rollback,pre-delete"
        annotations = doc["metadata"]["annotations"]
        assert annotations["helm.sh/hook-delete-policy"] == account["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
        assert int(annotations["helm.sh/hook-weight"]) < int(account["metadata"]["annotations"]["helm.sh/hook-weight"])
    policy, binding = copies["ValidatingAdmissionPolicy"], copies["ValidatingAdmissionPolicyBinding"]
    assert int(policy["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(binding["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    [regular] = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicy" and not hook_of(d)]
    assert policy["spec"] == regular["spec"]


def test_no_hook_no_policy() -> None:
    """Nothing to confine: every hook off, the policy is not rendered even where served."""
    docs = render(*helm.ADMISSION_POLICY_APIS, "--set", "preflight.enabled=false", "--set", "cleanup.onUpgrade=false",
                  "--set", "cleanup.onUninstall=false", "--set", "tests.enabled=false",
                  "--set", "rollout.wait=false")
    assert not [d for d in docs if d["kind"] in ADMISSION_KINDS]
    docs = render(*helm.ADMISSION_POLICY_APIS, "--set", "cleanup.onUpgrade=false", "--set", "cleanup.onUninstall=false")
    assert [d["metadata"]["name"] for d in docs if d["kind"] in ADMISSION_KINDS] == [
        "test-tenant-a-symmetric-routing-hooks", "test-tenant-a-symmetric-routing-hooks"]


def test_the_policy_alone_of_the_two_kinds_is_not_enough() -> None:
    """Both kinds must be served: one --api-versions of the two renders the fallback."""
    docs = render("--api-versions", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy")
    assert not [d for d in docs if d["kind"] in ADMISSION_KINDS]
    assert any(d["metadata"]["name"].endswith("-rollback") for d in docs)


def test_readme_rights_table_is_current() -> None:
    """README's Hook rights table is what scripts/rights_table.py reads from the renders."""
    module = scripts.load("rights_table")
    readme = (helm.CHART / "README.md").read_text()
    table = module.render_table(str(helm.helm_binary("helm3")))
    assert module.readme_with_table(readme, table) == readme, "run scripts/rights_table.py --write"
    # The table shows the change this chart version makes: no names, no rollback rights.
    assert "| cleanup | cluster | list nodenetworkconfigurationpolicies; get, update nodenetworkconfigurationpolicies; " in table
    assert "| cleanup, pre-rollback only | cluster | nothing | get, update nodenetworkconfigurationpolicies |" in table
