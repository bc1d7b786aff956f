"""The HTTPS transport against the real API server, through the proxy for the faults the
server does not make on its own: answers, refusals, retries, deadlines."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import pytest

from symrouting.api import ApiError, Backoff, HttpsTransport, Unreachable, describe_request
from tests.support import clusters, realcluster
from tests.support.realapi import RealApi

POLICIES = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"


def transport(api: RealApi, token: str | None = None, **kwargs: Any) -> HttpsTransport:
    return HttpsTransport(api.url, token or api.token, api.ca_file,
                          **{"timeout": 2.0, "deadline_seconds": 5.0, **kwargs})


def test_get_sends_the_token_and_decodes(real_api: RealApi) -> None:
    real_api.load(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    network = transport(real_api).get("/apis/config.openshift.io/v1/networks/cluster")
    assert network["status"]["serviceNetwork"] == ["172.30.0.0/16"]
    # The proxy read the bearer token's subject: the ServiceAccount the token was issued to.
    assert real_api.requests[-1].user == "system:serviceaccount:kube-system:hooks-admin"


def test_404_is_none(real_api: RealApi) -> None:
    real_api.load(clusters.kubeadm(pod_subnet="10.244.0.0/16", service_subnet="10.96.0.0/12", node_pod_cidrs=[]))
    assert transport(real_api).get("/apis/config.openshift.io/v1/networks/cluster") is None


def test_401_says_the_credentials_were_rejected(real_api: RealApi) -> None:
    """The real server's 401 for a token it did not issue."""
    rejected = "another-token-0b1c2d3e4f"
    with pytest.raises(ApiError, match="401 Unauthorized") as caught:
        transport(real_api, token=rejected).get("/api/v1/nodes")
    assert rejected not in str(caught.value)


def test_403_names_the_missing_permission(real_api: RealApi) -> None:
    """The real RBAC authorizer's 403 for a ServiceAccount that no binding grants."""
    with pytest.raises(ApiError, match="may not list nodes"):
        transport(real_api, token=real_api.account_token("nobody")).get("/api/v1/nodes?limit=250")


def test_a_403_of_an_admission_policy_says_so_and_asks_for_no_grant(real_api: RealApi) -> None:
    """A real ValidatingAdmissionPolicy's denial (apiserver v0.36.3 pkg/admission/plugin/
    policy/validating/dispatcher.go: Forbidden with the policy, the binding and the
    validation's message): RBAC allowed the request, so asking for a grant would mislead."""
    name = "test-tenant-a-symmetric-routing-hooks"
    admission = "/apis/admissionregistration.k8s.io/v1"
    real_api.create(f"{admission}/validatingadmissionpolicies", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name}, "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{"apiGroups": ["nmstate.io"], "apiVersions": ["*"],
                                                    "operations": ["UPDATE"],
                                                    "resources": ["nodenetworkconfigurationpolicies"]}]},
            "validations": [{"expression": "has(object.metadata.labels) && 'app.kubernetes.io/instance' in "
                                           "object.metadata.labels && object.metadata.labels"
                                           "['app.kubernetes.io/instance'] == 'tenant-a'",
                             "message": "not labelled app.kubernetes.io/instance=tenant-a",
                             # as the chart's own policy (templates/_hooks.tpl); the default is 422 Invalid
                             "reason": "Forbidden"}]}})
    real_api.create(f"{admission}/validatingadmissionpolicybindings", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name}, "spec": {"policyName": name, "validationActions": ["Deny"]}})
    stored = real_api.create(POLICIES, {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
                                        "metadata": {"name": "theirs"}, "spec": {"desiredState": {}}})
    path = f"{POLICIES}/theirs"
    update = {**stored, "metadata": {**stored["metadata"], "annotations": {"touched": "yes"}}}
    # The server's policy informers take a moment to see a new policy and its binding.
    end = time.monotonic() + 30
    while True:
        code, said = real_api.client.request("PUT", f"{path}?dryRun=All", update)
        if code == 403:
            break
        assert time.monotonic() < end, f"the admission policy never denied the update ({code}: {said})"
        time.sleep(0.1)
    with pytest.raises(ApiError) as caught:
        transport(real_api, role="cleanup").put(path, update)
    assert str(caught.value) == (
        f"403 Forbidden: ValidatingAdmissionPolicy '{name}' denied the request to "
        'update nodenetworkconfigurationpolicies.nmstate.io "theirs": not labelled app.kubernetes.io/instance=tenant-a. '
        "The request was authorized (this is no missing permission): see that webhook's or policy's rules, or ask its owner")
    assert "Grant it" not in str(caught.value)


def test_5xx_and_429_are_retried_until_an_answer(real_api: RealApi) -> None:
    real_api.load(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    path = "/apis/operator.openshift.io/v1/networks/cluster"
    real_api.fail(path, status=503, times=2)
    real_api.fail(path, status=429, times=1)
    assert transport(real_api).get(path)["kind"] == "Network"
    assert [r.code for r in real_api.requests if r.path == path] == [503, 503, 429, 200]


def test_slow_answers_end_at_the_deadline(real_api: RealApi) -> None:
    real_api.slow("/api/v1/nodes", delay=1.0, times=20)
    started = time.monotonic()
    with pytest.raises(Unreachable, match="did not answer list nodes within 2s"):
        transport(real_api, timeout=0.3, deadline_seconds=2.0).get("/api/v1/nodes")
    assert time.monotonic() - started < 6


def test_unreachable_server_is_reported_not_hung(hooks_api: RealApi) -> None:
    dead = HttpsTransport("https://127.0.0.1:9", hooks_api.token, hooks_api.ca_file, timeout=0.5,
                          deadline_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        dead.get("/api/v1/nodes")
    assert time.monotonic() - started < 5
    assert hooks_api.token not in str(caught.value)


def test_malformed_answer_is_an_error(real_api: RealApi) -> None:
    real_api.fail("/api/v1/nodes", status=200, body=b"<html>proxy error</html>")
    with pytest.raises(ApiError, match="not JSON"):
        transport(real_api).get("/api/v1/nodes")


def test_a_server_the_ca_did_not_sign_is_refused(real_api: RealApi, tmp_path: Any) -> None:
    other_ca = realcluster.Pki(tmp_path / "other").ca_file
    with pytest.raises(ApiError, match="TLS verification"):
        HttpsTransport(real_api.url, real_api.token, other_ca, timeout=1.0, deadline_seconds=1.0).get("/api/v1/nodes")


def test_backoff_doubles_and_stops_at_the_deadline() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    backoff = Backoff(deadline=3.0, clock=lambda: now[0], sleep=sleep)
    while backoff.wait():
        pass
    assert slept == pytest.approx([0.2, 0.4, 0.8, 1.6]) and sum(slept) == pytest.approx(3.0)


@pytest.mark.parametrize(("path", "words"), [
    ("/api/v1/nodes?limit=250", "list nodes"),
    ("/apis/config.openshift.io/v1/networks/cluster", 'get networks.config.openshift.io "cluster"'),
    ("/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools", "list ipaddresspools.metallb.io in namespace metallb-system"),
    ("/api/v1/namespaces/kube-system/configmaps/kubeadm-config", 'get configmaps "kubeadm-config" in namespace kube-system'),
    ("/apis/metallb.io/v1beta2", "discover metallb.io"),
])
def test_requests_are_described_as_rbac_verbs(path: str, words: str) -> None:
    assert describe_request(path) == words


@pytest.mark.parametrize(("selector", "names"), [
    ("nmstate.io/policy=a", ["a"]),
    ("nmstate.io/policy==a", ["a"]),
    ("nmstate.io/policy!=a", ["b", "c", "none"]),
    ("nmstate.io/policy in (a, c)", ["a", "c"]),
    ("nmstate.io/policy notin (a,c)", ["b", "none"]),
    ("nmstate.io/policy in (a,b),nmstate.io/node=w1", ["a"]),
    ("nmstate.io/policy", ["a", "b", "c"]),
    ("!nmstate.io/policy", ["none"]),
])
def test_the_api_server_reads_label_selectors_so(real_api: RealApi, selector: str, names: list[str]) -> None:
    """The labelSelector forms the hooks send, as the real server reads them (apimachinery
    pkg/labels/selector.go Parse): equality, inequality and set-based requirements, all of
    them must hold."""
    objects = {"a": {"nmstate.io/policy": "a", "nmstate.io/node": "w1"}, "b": {"nmstate.io/policy": "b"},
               "c": {"nmstate.io/policy": "c"}, "none": {}}
    leases = "/apis/coordination.k8s.io/v1/namespaces/test/leases"
    for name, labels in objects.items():
        real_api.create(leases, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                 "metadata": {"name": name, "labels": {**labels, "selector-test": "yes"}}})
    query = urllib.parse.urlencode({"labelSelector": f"{selector},selector-test=yes"})
    found = real_api.client.items(f"{leases}?{query}")
    assert sorted(item["metadata"]["name"] for item in found) == names
