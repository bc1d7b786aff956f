"""The HTTPS transport against the local stand-in: answers, refusals, retries, deadlines."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from symrouting.api import ApiError, Backoff, HttpsTransport, Unreachable, describe_request
from tests.hooks.conftest import TOKEN
from tests.support import clusters
from tests.support.apiserver import RunningApi, Tls, label_selector

Serve = Callable[..., RunningApi]


def transport(api: RunningApi, tls: Tls, **kwargs: Any) -> HttpsTransport:
    return HttpsTransport(api.url, TOKEN, tls.ca_file, **{"timeout": 2.0, "deadline_seconds": 5.0, **kwargs})


def test_get_sends_the_token_and_decodes(serve: Serve, tls: Tls) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    network = transport(api, tls).get("/apis/config.openshift.io/v1/networks/cluster")
    assert network["status"]["serviceNetwork"] == ["172.30.0.0/16"]
    assert api.api.requests[-1].authorization == f"Bearer {TOKEN}"


def test_404_is_none(serve: Serve, tls: Tls) -> None:
    api = serve(clusters.kubeadm(pod_subnet="10.244.0.0/16", service_subnet="10.96.0.0/12", node_pod_cidrs=[]))
    assert transport(api, tls).get("/apis/config.openshift.io/v1/networks/cluster") is None


def test_401_says_the_credentials_were_rejected(serve: Serve, tls: Tls) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]), token="another-token")
    with pytest.raises(ApiError, match="401 Unauthorized") as caught:
        transport(api, tls).get("/api/v1/nodes")
    assert TOKEN not in str(caught.value)


def test_403_names_the_missing_permission(serve: Serve, tls: Tls) -> None:
    api = serve({})
    api.api.fail("/api/v1/nodes", status=403)
    with pytest.raises(ApiError, match="may not list nodes"):
        transport(api, tls).get("/api/v1/nodes?limit=250")


def test_a_403_of_an_admission_policy_says_so_and_asks_for_no_grant(serve: Serve, tls: Tls) -> None:
    """The Status a ValidatingAdmissionPolicy's denial answers (apiserver v0.36.3 pkg/admission/
    plugin/policy/validating/dispatcher.go: Forbidden with the policy, the binding and the
    validation's message): RBAC allowed the request, so asking for a grant would mislead."""
    said = ("ValidatingAdmissionPolicy 'test-tenant-a-symmetric-routing-hooks' with binding "
            "'test-tenant-a-symmetric-routing-hooks' denied request: not labelled app.kubernetes.io/instance=tenant-a")
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
                       "message": said, "code": 403}).encode()
    path = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/theirs"
    api = serve({path: {"metadata": {"name": "theirs"}}})
    api.api.fail(path, status=403, body=body, method="PUT")
    with pytest.raises(ApiError) as caught:
        transport(api, tls, role="cleanup").put(path, {"metadata": {"name": "theirs", "resourceVersion": "1"}})
    assert str(caught.value) == (
        "403 Forbidden: ValidatingAdmissionPolicy 'test-tenant-a-symmetric-routing-hooks' denied the request to "
        'update nodenetworkconfigurationpolicies.nmstate.io "theirs": not labelled app.kubernetes.io/instance=tenant-a. '
        "The request was authorized (this is no missing permission): see that webhook's or policy's rules, or ask its owner")
    assert "Grant it" not in str(caught.value)


def test_5xx_and_429_are_retried_until_an_answer(serve: Serve, tls: Tls) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    path = "/apis/operator.openshift.io/v1/networks/cluster"
    api.api.fail(path, status=503, times=2)
    api.api.fail(path, status=429, times=1)
    assert transport(api, tls).get(path)["kind"] == "Network"
    assert sum(1 for r in api.api.requests if r.path == path) == 4


def test_slow_answers_end_at_the_deadline(serve: Serve, tls: Tls) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    api.api.fail("/api/v1/nodes", status=200, times=20, delay=1.0)
    started = time.monotonic()
    with pytest.raises(Unreachable, match="did not answer list nodes within 2s"):
        transport(api, tls, timeout=0.3, deadline_seconds=2.0).get("/api/v1/nodes")
    assert time.monotonic() - started < 6


def test_unreachable_server_is_reported_not_hung(tls: Tls) -> None:
    dead = HttpsTransport("https://127.0.0.1:9", TOKEN, tls.ca_file, timeout=0.5, deadline_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        dead.get("/api/v1/nodes")
    assert time.monotonic() - started < 5
    assert TOKEN not in str(caught.value)


def test_malformed_answer_is_an_error(serve: Serve, tls: Tls) -> None:
    api = serve({})
    api.api.fail("/api/v1/nodes", status=200, body=b"<html>proxy error</html>")
    with pytest.raises(ApiError, match="not JSON"):
        transport(api, tls).get("/api/v1/nodes")


def test_a_server_the_ca_did_not_sign_is_refused(serve: Serve, tls: Tls, tmp_path: Any) -> None:
    from tests.support.apiserver import make_tls

    other_ca = make_tls(tmp_path).ca_file
    api = serve({})
    with pytest.raises(ApiError, match="TLS verification"):
        HttpsTransport(api.url, TOKEN, other_ca, timeout=1.0, deadline_seconds=1.0).get("/api/v1/nodes")


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
def test_the_stand_in_reads_label_selectors_as_the_api_server_does(selector: str, names: list[str]) -> None:
    """tests/support/apiserver.label_selector, after apimachinery pkg/labels/selector.go Parse:
    equality, inequality and set-based requirements, all of them must hold."""
    objects = {"a": {"nmstate.io/policy": "a", "nmstate.io/node": "w1"}, "b": {"nmstate.io/policy": "b"},
               "c": {"nmstate.io/policy": "c"}, "none": {}}
    matches = label_selector(selector)
    assert sorted(name for name, labels in objects.items() if matches(labels)) == names
