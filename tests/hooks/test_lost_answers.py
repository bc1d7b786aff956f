"""Faults between the cleanup and the real API server, injected by the recording proxy
(tests/support/proxy.py): an update the server applied whose answer is lost, a 503 that asks
for a wait, a truncated answer. The nodes are those of kubernetes-nmstate's handler
(tests/support/nmstatehandler.py)."""

from __future__ import annotations

import http.client
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symrouting.api import HttpsTransport
from tests.hooks.conftest import render_plan
from tests.support import clusters, helm
from tests.support.nmstatehandler import POLICIES, NmstateHandler
from tests.support.nodestate import Node, node_after
from tests.support.realapi import RealApi

SEED = helm.CHART / "ci" / "seed-values.yaml"
POLICY = f"{POLICIES}/vrfpolicy"
NODES = "/api/v1/nodes"
Run = Callable[..., subprocess.CompletedProcess[str]]
SEED_CLUSTER: dict[str, Any] = dict(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"],
                                    masquerade={"ipv4": "169.254.0.0/17"})
Proxied = tuple[RealApi, NmstateHandler]


def install(api: RealApi, nmstate: NmstateHandler, values: Path) -> None:
    """Three VRF nodes; the release's policies as Helm created them, applied by nmstate."""
    api.load(clusters.openshift(**SEED_CLUSTER, nodes=[clusters.node(f"worker-{i}", {"vrf": "true"}) for i in range(3)]))
    for policy in helm.template("helm3", [values]).documents:
        if policy["kind"] == "NodeNetworkConfigurationPolicy":
            api.client.call("POST", f"{POLICIES}?fieldManager=helm", policy)
    nmstate.settle()
    assert not nmstate.errors, nmstate.errors
    api.proxy.clear()


@pytest.fixture
def proxied(real_api: RealApi, nmstate: NmstateHandler) -> Proxied:
    """The seed release installed on three nodes, reached through the proxy."""
    install(real_api, nmstate, SEED)
    return real_api, nmstate


def carried(nmstate: NmstateHandler, node: str) -> dict[str, Any]:
    return nmstate.nodes.get(node, Node()).managed()


def torn_down(nmstate: NmstateHandler) -> bool:
    """Every node carries nothing of the release: its removal applied, nothing else."""
    nmstate.settle()
    return all(carried(nmstate, f"worker-{i}") == node_after().managed() for i in range(3))


def updates(nmstate: NmstateHandler) -> list[str]:
    """The policies nmstate applied a new generation of after the install, in order."""
    return [name for name, generation, _ in nmstate.applied if generation > 1]


def applied(api: RealApi, method: str, path: str) -> list[Any]:
    """The requests of this method and path that the server answered 2xx, whatever the client saw."""
    return [r for r in api.requests if r.method == method and r.path.split("?", 1)[0] == path
            and 200 <= r.code < 300 and r.fault not in ("refuse", "drop")]


def faults(api: RealApi, method: str, path: str) -> list[str]:
    return [r.fault for r in api.requests if r.method == method and r.path.startswith(path)]


@pytest.mark.parametrize("fault", ["reset", "late"])
def test_an_update_whose_answer_is_lost_is_recognised_as_the_hooks_own(
        run_cli: Run, proxied: Proxied, fault: str) -> None:
    """The server applies the update; the connection is reset before the answer, or the answer
    comes after the request timeout. The hook reads the policy, finds the spec it sent, and
    carries on: one update on the wire, exit 0, the nodes as declared (nothing left)."""
    api, nmstate = proxied
    api.lose("PUT", POLICY, late=3.0 if fault == "late" else 0.0)
    result = run_cli("teardown", "--poll=0.1", "--request-timeout=1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    # "409 Conflict" as api.Conflict says it: a bare "409" can be part of the Lease holder's id
    assert "DONE  vrfpolicy" in result.stdout and "409 Conflict" not in result.stderr
    assert len(applied(api, "PUT", POLICY)) == 1
    assert faults(api, "PUT", POLICY) == [fault]
    # one read of the policy: put_verified's (api.py), which finds the write there; without
    # that check the cleanup takes it for a conflict and reads it again (_send's fresh read)
    assert [r.method for r in api.requests if r.path.split("?", 1)[0] == POLICY].count("GET") == 1
    assert torn_down(nmstate) and updates(nmstate) == ["vrfpolicy"]


def test_an_update_lost_before_the_server_saw_it_is_sent_again(
        run_cli: Run, proxied: Proxied) -> None:
    """The connection drops before the upstream sees the update: the live policy still has the
    resourceVersion the hook sent, so the update is sent once more, and applied once."""
    api, nmstate = proxied
    api.lose("PUT", POLICY, drop=True)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert faults(api, "PUT", POLICY) == ["drop", ""]
    assert len(applied(api, "PUT", POLICY)) == 1 and torn_down(nmstate)


def test_a_lost_answer_over_another_clients_write_is_a_conflict(
        run_cli: Run, proxied: Proxied) -> None:
    """The update's answer is lost and the policy then holds someone else's spec: not the
    hook's write, so it stops as for any changed spec (exit 3), after one update."""
    api, _ = proxied
    other = {"nodeSelector": {"vrf": "true"}, "desiredState": {"interfaces": []}}

    def edit() -> None:  # another client writes after the hook's update, before its answer
        api.client.call("PATCH", POLICY, {"spec": other}, content_type="application/merge-patch+json")

    api.lose("PUT", POLICY, then=edit)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "its spec changed (generation 1 -> 3)" in result.stderr
    assert len(applied(api, "PUT", POLICY)) == 1


def test_a_503_with_retry_after_waits_what_the_server_asks(proxied: Proxied) -> None:
    """client-go rest/with_retry.go checkWait: a 429 or 5xx with Retry-After waits its seconds
    (rest/request.go retryAfterSeconds), not the client's own backoff."""
    api, _ = proxied
    api.fail(NODES, 503, method="GET", headers={"Retry-After": "2"}, message="the proxy refused GET /api/v1/nodes")
    said: list[str] = []
    transport = HttpsTransport(api.url, api.token, api.ca_file, timeout=2.0, deadline_seconds=10.0, notice=said.append)
    start = time.monotonic()
    assert transport.get(NODES) is not None
    assert 2.0 <= time.monotonic() - start < 4.0
    assert said == ["list nodes: 503 Service Unavailable (ServiceUnavailable: the proxy refused GET /api/v1/nodes); "
                    "the server asks to retry after 2s (Retry-After); retrying for up to 10s"]


def test_the_proxy_forwards_to_a_path_the_upstream_does_not_serve(proxied: Proxied) -> None:
    """A 404 comes back as the upstream said it, so the proxy is transparent without faults."""
    api, _ = proxied
    transport = HttpsTransport(api.url, api.token, api.ca_file, timeout=2.0, deadline_seconds=2.0)
    assert transport.get("/api/v1/namespaces/none/configmaps/none") is None
    assert (api.requests[-1].code, api.requests[-1].fault) == (404, "")



def two_vrfs(values: dict[str, Any]) -> None:
    """The seed release with a second VRF: two policies, updated in one round."""
    values["vrfs"]["bluevrf"] = {"tableId": 3, "policy": {"nodeSelector": {"vrf": "true"}},
                                 "ports": {"ens5": {"ipv4": ["192.168.140.2/24"]}}}


BLUE = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/tenant-a-symmetric-routing-bluevrf"


@pytest.mark.parametrize(("status", "words"), [
    (409, "still after 3 fresh reads"),
    (403, "403 Forbidden"),
    (401, "401 Unauthorized"),
])
def test_a_run_the_api_stops_says_what_it_wrote_and_what_the_next_run_does(
        run_cli: Run, real_api: RealApi, nmstate: NmstateHandler, tmp_path: Path, status: int, words: str) -> None:
    """One policy's update goes through, the other's is refused: the report names the written
    update, its nodes and generation, the one not sent, and what the rerun does; the exit
    code is the API's (3) and the error line follows on stderr."""
    from tests.hooks.test_cleanup import seed_with

    values = seed_with(tmp_path, "two", two_vrfs)
    api = real_api
    install(api, nmstate, values)
    api.fail(BLUE, status, method="PUT", times=100)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([values]))
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout == (
        "NOT SENT tenant-a-symmetric-routing-bluevrf: 1 of 1 update(s)\n"
        "WROTE vrfpolicy: ens4vrf absent; addresses off ens4; 1 route(s) absent; 2 rule(s) absent; "
        "for worker-0, worker-1, worker-2 (generation 2)\n"
        f"teardown of release test/tenant-a STOPPED after 1 update(s) written: {result.stderr.splitlines()[-1][12:]}\n"
        "next run: it reads the policies as they are then and sends what their nodes still lack (the updates "
        "written above stay; nmstate applies them); retry the Helm command, or run this hook by hand "
        "(README: Troubleshooting)\n")
    assert words in result.stderr.splitlines()[-1]
    nmstate.settle()
    assert updates(nmstate) == ["vrfpolicy"]


LEASES = "/apis/coordination.k8s.io/v1/namespaces/metallb-system/leases"


def test_a_lease_create_whose_answer_is_lost_is_read_back_as_held(
        run_cli: Run, proxied: Proxied) -> None:
    """The cleanup Lease is created but the answer lost: the Lease read back names this run,
    so it holds it (no second create, no wait for itself) and the teardown goes on."""
    api, nmstate = proxied
    api.lose("POST", LEASES)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for Lease" not in result.stderr
    assert [r.method for r in api.requests if r.path.startswith(LEASES)] == ["GET", "POST", "GET", "GET", "PUT"]
    assert torn_down(nmstate)


def test_a_lease_take_over_whose_answer_is_lost_is_read_back_as_held(
        run_cli: Run, proxied: Proxied) -> None:
    """A free cleanup Lease (an earlier run released it) is taken with an update whose answer
    is lost: the Lease read back names this run (put_verified, api.py), so it holds it, with
    no second update and no wait for itself, and the teardown goes on."""
    api, nmstate = proxied
    stamp = "2026-01-01T00:00:00.000000Z"
    api.client.call("POST", LEASES, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                     "metadata": {"name": "symmetric-routing-cleanup"},
                                     "spec": {"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": stamp,
                                              "renewTime": stamp, "leaseTransitions": 3}})
    api.proxy.clear()
    api.lose("PUT", f"{LEASES}/symmetric-routing-cleanup", late=3.0)
    result = run_cli("teardown", "--poll=0.1", "--request-timeout=1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for Lease" not in result.stderr
    # take-over (its answer lost), the read-back, then the release's read and update
    assert [r.method for r in api.requests if r.path.startswith(LEASES)] == ["GET", "PUT", "GET", "GET", "PUT"]
    assert torn_down(nmstate)


WEBHOOK = "nodenetworkconfigurationpolicies-progress-validate.nmstate.io"


def status(code: int, reason: str, message: str) -> bytes:
    import json

    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                       "message": message, "code": code}).encode()


@pytest.mark.parametrize(("body", "said"), [
    (status(403, "Forbidden", f'admission webhook "{WEBHOOK}" denied the request: failed to admit '
            "NodeNetworkConfigurationPolicy vrfpolicy: message: policy vrfpolicy is still in progress"),
     f'403 Forbidden: admission webhook "{WEBHOOK}" denied the request to update '
     'nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy": failed to admit NodeNetworkConfigurationPolicy '
     "vrfpolicy: message: policy vrfpolicy is still in progress. The request was authorized (this is no missing "
     "permission): see that webhook's or policy's rules, or ask its owner"),
    (status(403, "Forbidden", "ValidatingAdmissionPolicy 'freeze-network' with binding 'freeze-all' denied request: "
            "network changes are frozen"),
     "403 Forbidden: ValidatingAdmissionPolicy 'freeze-network' denied the request to update "
     'nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy": network changes are frozen. The request was '
     "authorized (this is no missing permission)"),
    (status(403, "Forbidden", 'nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy" is forbidden: User '
            '"system:serviceaccount:test:tenant-a-cleanup" cannot update resource "nodenetworkconfigurationpolicies" '
            'in API group "nmstate.io" at the cluster scope'),
     '403 Forbidden: the cleanup may not update nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy". Grant it in '
     "the cleanup ClusterRole"),
], ids=["webhook", "admission-policy", "rbac"])
def test_an_admission_denial_is_told_from_a_missing_permission(
        run_cli: Run, proxied: Proxied, body: bytes, said: str) -> None:
    """Both are 403 Forbidden; the Status message tells them apart (api.admission_denial)."""
    api, nmstate = proxied
    api.fail(POLICY, 403, method="PUT", body=body)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 3, result.stdout + result.stderr
    assert said in result.stderr.splitlines()[-1]
    assert ("Grant it" in result.stderr) == ("is forbidden: User" in body.decode())
    nmstate.settle()
    assert updates(nmstate) == []


def test_a_401_mid_run_says_the_lease_stays_held_and_until_when(
        run_cli: Run, proxied: Proxied) -> None:
    """The token is revoked after the Lease is taken: the update and the release are refused;
    the run says what it wrote (nothing), and that the Lease stays held until its renewTime
    + leaseDurationSeconds, the time it names being the stored Lease's."""
    import datetime

    from symrouting import lease

    api, _ = proxied
    lease_path = f"{LEASES}/symmetric-routing-cleanup"
    api.fail(POLICY, 401, method="PUT")
    api.fail(lease_path, 401, method="GET", after=1, times=10)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 3, result.stdout + result.stderr
    spec = api.client.call("GET", lease_path)["spec"]
    renewed = lease.parse_micro_time(spec["renewTime"])
    assert renewed is not None and spec["holderIdentity"].startswith("test/tenant-a teardown ")
    frees = lease.micro_time(renewed + datetime.timedelta(seconds=spec["leaseDurationSeconds"]))
    assert (f"could not release Lease metallb-system/symmetric-routing-cleanup (401 Unauthorized for get "
            f'leases.coordination.k8s.io "symmetric-routing-cleanup" in namespace metallb-system: the credentials '
            f"were rejected (expired or revoked token?) (Unauthorized: Unauthorized {lease_path})): it stays held by "
            f"{spec['holderIdentity']} until it expires; it frees at {frees} (renewTime + leaseDurationSeconds)"
            ) in result.stderr
    assert result.stdout.startswith("NOT SENT vrfpolicy: 1 of 1 update(s)\nteardown of release test/tenant-a "
                                    "STOPPED after 0 update(s) written: 401 Unauthorized")


def test_the_proxy_keeps_its_server_connection_after_an_answer_without_a_body(proxied: Proxied) -> None:
    """A 304 (Helm's conditional GET of /openapi/v3) has no body. Before the proxy read it,
    http.client refused the next answer on that connection after the request had gone out:
    the server saw each such request twice (once cancelled: a 504 in its audit log)."""
    api, _ = proxied
    client = http.client.HTTPSConnection("127.0.0.1", api.proxy.port,
                                         context=ssl.create_default_context(cafile=str(api.ca_file)))
    headers = {"Authorization": f"Bearer {api.token}"}
    client.request("GET", "/openapi/v3", headers=headers)
    first = client.getresponse()
    first.read()
    client.request("GET", "/openapi/v3", headers={**headers, "If-Modified-Since": first.getheader("Last-Modified") or ""})
    unchanged = client.getresponse()
    unchanged.read()
    before = api.proxy.upstream_connections
    client.request("GET", "/version", headers=headers)
    after = client.getresponse()
    after.read()
    client.close()
    assert (first.status, unchanged.status, after.status) == (200, 304, 200)
    assert api.proxy.upstream_connections == before
    assert [r.path for r in api.requests][-1] == "/version"
