"""Faults the real server does not make on demand, injected by the rig's proxy
(tests/support/proxy.py) in front of it, met by the hooks' own client (symrouting.api and
gather): every answer that is not the injected fault is the real server's."""

from __future__ import annotations

from typing import Any

import pytest

from symrouting import gather
from symrouting.api import ApiError, Conflict, HttpsTransport, Unexpected, Unreachable
from tests.support.proxy import Fault
from tests.support.rig import Rig

CONFIGMAPS = "/api/v1/namespaces/test/configmaps"


def transport(rig: Rig, token: str | None = None, **kwargs: Any) -> HttpsTransport:
    return HttpsTransport(rig.proxy.url, token or rig.admin_token, rig.cluster.pki.ca_file,
                          **{"timeout": 2.0, "deadline_seconds": 5.0, **kwargs})


@pytest.fixture
def fresh(rig: Rig) -> Rig:
    rig.reset()
    return rig


def many_configmaps(rig: Rig, count: int = 300) -> None:
    for index in range(count):
        rig.client.call("POST", CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": f"cm-{index:03}"}})


def names(rig: Rig) -> list[str] | None:
    return gather.collect(transport(rig), CONFIGMAPS, lambda item: item["metadata"]["name"], [])


def paths(rig: Rig) -> list[str]:
    return [r.path for r in rig.proxy.requests]


def test_an_expired_continue_token_starts_one_full_list(fresh: Rig) -> None:
    """The real server pages at 250 with a real continue token; a 410 Expired on it (what
    storage/etcd3 answers for a compacted token) makes the hook list once more, whole."""
    many_configmaps(fresh)
    fresh.proxy.fault(Fault("GET", r"configmaps\?.*continue=", status=410, reason="Expired",
                            message="The provided continue parameter is too old"))
    found = names(fresh)
    assert found is not None and sorted(n for n in found if n.startswith("cm-")) == [f"cm-{i:03}" for i in range(300)]
    listed = paths(fresh)
    assert len(listed) == 3 and listed[0] == f"{CONFIGMAPS}?limit=250" and "continue=" in listed[1]
    assert listed[2] == CONFIGMAPS


@pytest.mark.parametrize(("status", "headers"), [(503, {}), (429, {"Retry-After": "1"})])
def test_a_passing_5xx_or_429_is_retried_and_the_real_answer_read(fresh: Rig, status: int,
                                                                  headers: dict[str, str]) -> None:
    fresh.proxy.fault(Fault("GET", r"^/api/v1/nodes", status=status, reason="TooManyRequests" if status == 429
                            else "ServiceUnavailable", message="injected", headers=headers))
    said: list[str] = []
    nodes = transport(fresh, notice=said.append).get("/api/v1/nodes")
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["worker-0", "worker-1", "worker-2"]
    assert len(said) == 1 and f"{status}" in said[0], said
    # A 429's Retry-After wait is tests/hooks/test_lost_answers.py's to check.


def test_a_lasting_5xx_is_unreachable_naming_the_request(fresh: Rig) -> None:
    fresh.proxy.fault(Fault("GET", r"^/api/v1/nodes", times=1000, status=500, reason="InternalError", message="boom"))
    with pytest.raises(Unreachable, match=r"did not answer list nodes within 1s"):
        transport(fresh, deadline_seconds=1.0).get("/api/v1/nodes")


def test_a_connection_reset_mid_body_is_retried(fresh: Rig) -> None:
    fresh.proxy.fault(Fault("GET", r"^/api/v1/nodes", reset=True))
    nodes = transport(fresh).get("/api/v1/nodes")
    assert len(nodes["items"]) == 3
    assert len([p for p in paths(fresh) if p.startswith("/api/v1/nodes")]) == 2


def test_a_truncated_json_body_is_an_unexpected_answer(fresh: Rig) -> None:
    fresh.proxy.fault(Fault("GET", r"^/api/v1/nodes", truncate=True))
    with pytest.raises((Unexpected, Unreachable)) as caught:
        transport(fresh, deadline_seconds=1.0).get("/api/v1/nodes")
    assert "list nodes" in str(caught.value)


def test_a_slow_answer_past_the_timeout_is_retried_then_unreachable(fresh: Rig) -> None:
    fresh.proxy.fault(Fault("GET", r"^/api/v1/nodes", times=10, delay=3.0))
    with pytest.raises(Unreachable, match="list nodes"):
        transport(fresh, timeout=1.0, deadline_seconds=2.0).get("/api/v1/nodes")


def test_a_401_from_the_real_server_is_final(fresh: Rig) -> None:
    """No injection: a token the server does not know is refused by the real authenticator."""
    with pytest.raises(ApiError, match="401"):
        transport(fresh, token="not-a-token").get("/api/v1/nodes")
    assert [(r.code) for r in fresh.proxy.requests] == [401]


def test_a_conflict_on_update_is_a_conflict(fresh: Rig) -> None:
    """The real server's 409: an update carrying an old resourceVersion."""
    fresh.client.call("POST", CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    live = fresh.client.call("GET", f"{CONFIGMAPS}/c")
    fresh.client.call("PUT", f"{CONFIGMAPS}/c", {**live, "data": {"a": "1"}})
    with pytest.raises(Conflict):
        transport(fresh).put(f"{CONFIGMAPS}/c", {**live, "data": {"a": "2"}})


def test_a_webhooks_403_carries_its_words(fresh: Rig) -> None:
    """A validating webhook's refusal, as the API server relays it (apiserver
    admission/plugin/webhook/errors: code 403 from the webhook's Status)."""
    message = 'admission webhook "bfdprofilevalidationwebhook.metallb.io" denied the request: failed to delete'
    fresh.proxy.fault(Fault("DELETE", r"bfdprofiles/fast", status=403, reason="Forbidden", message=message))
    with pytest.raises(ApiError) as caught:
        transport(fresh).delete("/apis/metallb.io/v1beta1/namespaces/metallb-system/bfdprofiles/fast")
    # api.py answer_error: named as the webhook's denial, with its words, and no grant asked for
    assert str(caught.value).startswith(
        '403 Forbidden: admission webhook "bfdprofilevalidationwebhook.metallb.io" denied the request to delete '
        'bfdprofiles.metallb.io "fast" in namespace metallb-system: failed to delete'), str(caught.value)
    assert "Grant it" not in str(caught.value)
