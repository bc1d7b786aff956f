"""Faults the hooks meet on real clusters, against the real API server behind the recording
proxy (tests/support/proxy.py) that injects them: expired continue tokens,
broken paging, answers that are no JSON object, conflicts on the cleanup's update, the
server's own words in every message, exit codes, retry and progress lines."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symrouting import cleanup, gather
from symrouting.api import ApiError, HttpsTransport, Unexpected, Unreachable
from symrouting.plan import parse_plan
from tests.hooks.conftest import render_plan
from tests.support import clusters, helm
from tests.support.nmstatehandler import ENACTMENTS, POLICIES, NmstateHandler, conditions
from tests.support.proxy import Fault
from tests.support.realapi import RealApi

SEED = helm.CHART / "ci" / "seed-values.yaml"
NODES = "/api/v1/nodes"
POLICY = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy"
Run = Callable[..., subprocess.CompletedProcess[str]]
SEED_CLUSTER: dict[str, Any] = dict(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"],
                                    masquerade={"ipv4": "169.254.0.0/17"})


def transport(api: RealApi, **kwargs: Any) -> HttpsTransport:
    return HttpsTransport(api.url, api.token, api.ca_file, **{"timeout": 2.0, "deadline_seconds": 5.0, **kwargs})


def many_nodes(api: RealApi, count: int = 600) -> RealApi:
    api.load(clusters.openshift(**SEED_CLUSTER, nodes=[clusters.node(f"w{i:03}", {}) for i in range(count)]))
    api.proxy.clear()
    return api


def node_names(api: RealApi, malformed: list[str] | None = None) -> list[str] | None:
    return gather.collect(transport(api), NODES, lambda item: item["metadata"]["name"],
                          [] if malformed is None else malformed)


# The real server's answer to a compacted continue token (k8s.io/apiserver pkg/storage/errors.go,
# NewResourceExpiredError via etcd3's "continue key is too old").
EXPIRED = ("The provided continue parameter is too old to display a consistent list result. You can start a new "
           "list without the continue parameter.")


def expire_continue(api: RealApi) -> None:
    """The next page asked with a continue token answers 410 Expired."""
    api.proxy.fault(Fault("GET", "^" + re.escape(NODES) + r"\?.*continue=", 1, 410, "Expired", EXPIRED))


def served(api: RealApi, routes: dict[str, Any]) -> RealApi:
    api.load(routes)
    api.proxy.clear()
    return api


def test_an_expired_continue_token_starts_one_full_list(real_api: RealApi) -> None:
    """client-go tools/pager/pager.go: an Expired error on page 2 or later drops the pages read
    and lists again with no limit and no continue token; the 410 is the one k8s.io/apiserver
    storage/etcd3 answers for a compacted continue token."""
    api = many_nodes(real_api)
    expire_continue(api)
    names = node_names(api)
    assert names == [f"w{i:03}" for i in range(600)]
    paths = [r.path for r in api.requests]
    assert paths[0] == f"{NODES}?limit=250" and paths[2] == NODES, paths
    assert re.fullmatch(re.escape(NODES) + r"\?limit=250&continue=[^&]+", paths[1]), paths


def test_an_expiry_of_the_full_list_is_not_retried_again(real_api: RealApi) -> None:
    api = many_nodes(real_api)
    expire_continue(api)
    api.proxy.fault(Fault("GET", "^" + re.escape(NODES) + "$", 1, 410, "Expired", EXPIRED))  # the full list, too
    with pytest.raises(ApiError, match=r"410 Gone: the continue token of list nodes expired \(Expired"):
        node_names(api)
    assert len(api.requests) == 3


def test_a_repeated_continue_token_is_an_error_not_a_loop(real_api: RealApi) -> None:
    api = real_api
    page = {"kind": "NodeList", "apiVersion": "v1", "metadata": {"continue": "same"}, "items": []}
    api.fail(NODES, 200, body=json.dumps(page).encode(), times=50)
    with pytest.raises(Unexpected, match="list nodes repeated its continue token"):
        node_names(api)
    assert len(api.requests) == 2


def test_paging_stops_at_the_page_bound(real_api: RealApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gather, "MAX_PAGES", 2)
    api = many_nodes(real_api)
    with pytest.raises(Unexpected, match="list nodes went past 2 pages"):
        node_names(api)
    assert len(api.requests) == 2


def test_items_that_are_not_objects_are_named_not_a_traceback(real_api: RealApi) -> None:
    api = real_api
    page = {"kind": "NodeList", "items": ["w0", 3, {"metadata": "w1"}, {"metadata": {"name": "w2"}}, {"kind": "Node"}]}
    api.fail(NODES, 200, body=json.dumps(page).encode())
    malformed: list[str] = []
    assert node_names(api, malformed) == ["w2"]
    assert malformed == ["nodes ?", "nodes ?", "nodes ?", "nodes ?"]


@pytest.mark.parametrize(("body", "words"), [
    (b'["w0", "w1"]', "the answer to list nodes is not a JSON object but list"),
    (b"<html>502 from a proxy</html>", "the answer to list nodes is not JSON: '<html>502 from a proxy</html>'"),
    (b'{"kind": "NodeList", "items": "w0"}', "has items that are not a list"),
])
def test_a_page_the_hook_cannot_read_exits_4_in_one_line(run_cli: Run, real_api: RealApi, body: bytes,
                                                         words: str) -> None:
    api = served(real_api, clusters.openshift(**SEED_CLUSTER))
    api.fail(NODES, 200, body=body, times=5)
    result = run_cli("preflight", api=api, plan=render_plan([SEED]))
    assert result.returncode == 4, result.stdout + result.stderr
    assert words in result.stderr and "unexpected answer (exit 4)" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_cluster_cidrs_with_host_bits_are_the_networks_they_name(run_cli: Run, real_api: RealApi,
                                                                tmp_path: Path) -> None:
    """values.schema.json's cidr accepts host bits; nmstate clears them from a rule's ip-to
    (rust/src/lib/route_rule.rs, sanitize), so the rule covers the network: no traceback,
    and the preflight passes on the cluster whose networks they name."""
    values = tmp_path / "host-bits.yaml"
    values.write_text("cluster:\n  serviceNetwork: [172.30.0.1/16]\n  clusterNetwork: [10.132.0.5/14]\n"
                      "  masqueradeSubnet: [169.254.0.9/17]\n")
    result = run_cli("preflight", api=served(real_api, clusters.openshift(**SEED_CLUSTER)),
                     plan=render_plan([SEED, values]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  cluster-cidrs" in result.stdout and "Traceback" not in result.stderr


def test_a_refusal_carries_the_servers_reason_and_message(real_api: RealApi) -> None:
    api = real_api
    api.fail(NODES, 403, body=json.dumps({
        "kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'nodes is forbidden: User "system:serviceaccount:test:hook" cannot list resource "nodes"'}).encode())
    with pytest.raises(ApiError) as caught:
        transport(api).get(NODES)
    assert str(caught.value) == (
        "403 Forbidden: the preflight may not list nodes. Grant it in the preflight's (Cluster)Role, or skip the "
        "check that needs it with preflight.skipChecks (Forbidden: nodes is forbidden: User "
        '"system:serviceaccount:test:hook" cannot list resource "nodes")')


def test_any_4xx_names_the_verb_and_the_servers_words(real_api: RealApi) -> None:
    api = real_api
    api.fail(POLICY, 422, method="PUT", body=json.dumps({
        "kind": "Status", "status": "Failure", "reason": "Invalid", "code": 422,
        "message": 'NodeNetworkConfigurationPolicy.nmstate.io "vrfpolicy" is invalid: spec.desiredState: Required value'}
    ).encode())
    with pytest.raises(ApiError) as caught:
        transport(api).put(POLICY, {"metadata": {"name": "vrfpolicy", "resourceVersion": "1"}})
    assert str(caught.value) == (
        '422 Unprocessable Entity: the API refused to update nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy" '
        '(Invalid: NodeNetworkConfigurationPolicy.nmstate.io "vrfpolicy" is invalid: spec.desiredState: Required value)')
    assert len(api.requests) == 1  # a 4xx is final: no retry


def test_a_5xx_that_lasts_names_the_servers_words_and_says_it_retries_once(real_api: RealApi) -> None:
    api = real_api
    api.fail(NODES, 503, times=100)
    said: list[str] = []
    with pytest.raises(Unreachable) as caught:
        transport(api, deadline_seconds=1.0, notice=said.append).get(NODES)
    assert "did not answer list nodes within 1s (last problem: 503 Service Unavailable " \
           "(ServiceUnavailable: ServiceUnavailable /api/v1/nodes))" in str(caught.value)
    assert said == ["list nodes: 503 Service Unavailable (ServiceUnavailable: ServiceUnavailable /api/v1/nodes); "
                    "retrying for up to 1s"]
    assert len(api.requests) > 2


def test_in_a_pod_a_refused_connection_is_retried_visibly(hooks_api: RealApi) -> None:
    """In a pod the API server may be restarting: retried until the deadline, with one line."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    said: list[str] = []
    dead = HttpsTransport(f"https://127.0.0.1:{port}", "token", hooks_api.ca_file, timeout=0.5, deadline_seconds=1.0,
                          notice=said.append)
    with pytest.raises(Unreachable, match="last problem: connection refused"):
        dead.get(NODES)
    assert said == ["list nodes: connection refused; retrying for up to 1s"]


def test_the_cli_says_each_retry_burst_on_stderr(run_cli: Run, real_api: RealApi) -> None:
    api = served(real_api, clusters.openshift(**SEED_CLUSTER))
    api.fail(NODES, 503, times=2)
    api.fail(POLICIES, 429, times=1)
    result = run_cli("preflight", api=api, plan=render_plan([SEED]))
    # The preflight reads its lists side by side (gather.in_parallel): one line per burst, in any order.
    retries = sorted(line for line in result.stderr.splitlines() if "retrying" in line)
    assert retries == [
        "symrouting: list nodenetworkconfigurationpolicies.nmstate.io: 429 Too Many Requests (TooManyRequests: "
        "TooManyRequests /apis/nmstate.io/v1/nodenetworkconfigurationpolicies); retrying for up to 60s",
        "symrouting: list nodes: 503 Service Unavailable (ServiceUnavailable: ServiceUnavailable /api/v1/nodes); "
        "retrying for up to 60s"]


def test_an_unreadable_plan_is_a_broken_hook(run_cli: Run, real_api: RealApi) -> None:
    result = run_cli("preflight", api=real_api, plan='{"vrfs": "nope"')
    assert result.returncode == 4
    assert result.stderr.startswith("symrouting: broken plan (exit 4): plan is not valid JSON")


def test_an_unforeseen_error_is_one_line_exit_4(run_cli: Run, real_api: RealApi) -> None:
    """The last guard: an answer shaped as no reader foresaw (clusterNetwork entries that are
    strings; the real server's schema refuses to store them, so the proxy answers them) ends
    in one line naming the error and where it happened, not a traceback."""
    routes = clusters.openshift(**SEED_CLUSTER)
    api = served(real_api, routes)
    network = "/apis/config.openshift.io/v1/networks/cluster"
    routes[network]["status"]["clusterNetwork"] = ["10.132.0.0/14"]
    api.fail(network, 200, body=json.dumps(routes[network]).encode(), times=10)
    result = run_cli("discover", api=api)
    assert result.returncode == 4
    assert result.stderr.startswith("symrouting: internal error (exit 4): AttributeError: ")
    assert "gather.py:" in result.stderr and len(result.stderr.splitlines()) == 1


Seeded = tuple[RealApi, NmstateHandler]


def install(api: RealApi, nmstate: NmstateHandler, count: int = 3) -> None:
    """`count` VRF nodes; the seed's policies server-side applied as Helm 4 does (field manager
    helm, an Apply entry in managedFields), applied by nmstate."""
    api.load(clusters.openshift(**SEED_CLUSTER, nodes=[clusters.node(f"worker-{i}", {"vrf": "true"})
                                                       for i in range(count)]))
    for policy in helm.template("helm3", [SEED]).documents:
        if policy["kind"] == "NodeNetworkConfigurationPolicy":
            helm_apply(api, policy)
    nmstate.settle()
    assert not nmstate.errors, nmstate.errors
    api.proxy.clear()


def helm_apply(api: RealApi, policy: dict[str, Any]) -> None:
    api.client.call("PATCH", f"{POLICIES}/{policy['metadata']['name']}?fieldManager=helm&force=true", policy,
                    content_type="application/apply-patch+yaml")


def managers(api: RealApi) -> list[str]:
    """Who owns fields of the policy's object itself (the status subresource's writer aside)."""
    return [e["manager"] for e in api.client.call("GET", POLICY)["metadata"].get("managedFields") or []
            if e.get("subresource") != "status"]


@pytest.fixture
def seed_cluster(real_api: RealApi, nmstate: NmstateHandler) -> Seeded:
    install(real_api, nmstate)
    return real_api, nmstate


def updates(nmstate: NmstateHandler) -> list[str]:
    """The policies nmstate applied a new generation of after the install."""
    nmstate.settle()
    return [name for name, generation, _ in nmstate.applied if generation > 1]


def before_first(api: RealApi, method: str, path: str, write: Callable[[], None]) -> None:
    """Another client's write lands just before the first such request reaches the server."""
    done: list[bool] = []

    def gate(seen_method: str, seen_path: str, _user: str) -> None:
        if not done and seen_method == method and seen_path.split("?", 1)[0] == path:
            done.append(True)
            write()

    api.proxy.gates.append(gate)


def only_some_answer(api: RealApi, nmstate: NmstateHandler, answering: list[str]) -> None:
    """nmstate stops; at the hook's first look at the enactments, only these nodes report the
    policy's new generation applied (written through the status subresource)."""
    nmstate.stop()

    def answer() -> None:
        generation = api.client.call("GET", POLICY)["metadata"]["generation"]
        for node in answering:
            api.client.call("PATCH", f"{ENACTMENTS}/{node}.vrfpolicy/status",
                            {"status": {"policyGeneration": generation,
                                        "conditions": conditions("apply", "successfully reconciled")}},
                            content_type="application/merge-patch+json")

    before_first(api, "GET", ENACTMENTS, answer)


def test_a_status_write_between_read_and_update_is_retried_on_a_fresh_read(run_cli: Run, seed_cluster: Seeded) -> None:
    """nmstate writes the policy's status: the resourceVersion moves, the generation does not
    (apiextensions-apiserver customresource strategy.go), so the removal still holds."""
    api, nmstate = seed_cluster

    def status_write() -> None:
        api.client.call("PATCH", f"{POLICY}/status", {"status": {"conditions": [
            {"type": "Available", "status": "True", "reason": "SuccessfullyConfigured", "message": "again",
             "lastHeartbeatTime": "2026-12-06T00:00:00Z", "lastTransitionTime": "2026-12-06T00:00:00Z"}]}},
            content_type="application/merge-patch+json")

    before_first(api, "PUT", POLICY, status_write)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [(r.method, r.code) for r in api.requests if r.path.split("?")[0] == POLICY] == [
        ("PUT", 409), ("GET", 200), ("PUT", 200)]
    assert updates(nmstate) == ["vrfpolicy"]


def test_a_spec_changed_between_read_and_update_stops_the_hook(run_cli: Run, seed_cluster: Seeded) -> None:
    api, nmstate = seed_cluster
    other = {"nodeSelector": {"vrf": "true"}, "desiredState": {"interfaces": []}}
    before_first(api, "PUT", POLICY, lambda: api.client.call(
        "PATCH", POLICY, {"spec": other}, content_type="application/merge-patch+json"))
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 3
    assert ('409 Conflict: cannot update nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy": it changed since '
            "the hook read it; its spec changed (generation 1 -> 2), so the removal planned from it may be wrong: "
            "run the hook again") in result.stderr
    assert not [r for r in api.requests if r.method == "PUT" and r.path.startswith(POLICY) and r.code < 300], \
        "the hook wrote no policy"
    assert api.client.call("GET", POLICY)["spec"]["desiredState"]["interfaces"] == [], "the other client's spec stays"


def test_conflicts_are_retried_a_bounded_number_of_times(run_cli: Run, seed_cluster: Seeded) -> None:
    api, _ = seed_cluster
    api.fail(POLICY, 409, method="PUT", times=100)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 3
    assert "still after 3 fresh reads: run the hook again" in result.stderr
    assert [r.method for r in api.requests if r.path.split("?")[0] == POLICY] == ["PUT", "GET"] * 3


def changes_only_managed_fields(api: RealApi) -> Callable[[str, str, Any], bool]:
    """The hand-back's update (cleanup.hand_back): a PUT of the policy whose spec is the live
    one, so that only metadata.managedFields changes. The removal's updates always change the
    spec, and the number of GETs and PUTs before it varies with nmstate's status writes (409s
    and fresh reads), so no count aims at it."""
    def holds(method: str, _path: str, body: Any) -> bool:
        return method == "PUT" and isinstance(body, dict) and body.get("spec") == api.client.call("GET", POLICY)["spec"]

    return holds


def test_a_fault_aimed_by_the_body_refuses_the_first_request_it_holds_for(real_api: RealApi) -> None:
    """The proxy's `when` (tests/support/proxy.py): a request of the method and path that it
    does not hold for reaches the server; the first one it holds for is refused; then the
    fault is spent."""
    api = real_api
    configmaps = "/api/v1/namespaces/test/configmaps"
    api.fail(configmaps, 403, method="POST", when=lambda _method, _path, body: body["data"] == {"aim": "here"})
    client = transport(api)

    def create(name: str, aim: str) -> None:
        client.post(configmaps, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                                 "data": {"aim": aim}})

    create("passes", "elsewhere")
    with pytest.raises(ApiError, match="403 Forbidden"):
        create("refused", "here")
    create("spent", "here")
    assert [(r.path.split("?")[0].rsplit("/", 1)[1], r.code, r.fault) for r in api.requests] == [
        ("configmaps", 201, ""), ("configmaps", 403, "refuse"), ("configmaps", 201, "")]
    assert [api.client.get(f"{configmaps}/{name}") is not None for name in ("passes", "refused", "spent")] == [
        True, False, True]
    for name in ("passes", "spent"):
        api.client.call("DELETE", f"{configmaps}/{name}")


def new_table(tmp_path: Path) -> str:
    """The seed release's plan with another route table: a prune that updates the policy."""
    values = tmp_path / "table.yaml"
    values.write_text("vrfs:\n  ens4vrf:\n    tableId: 8\n")
    return render_plan([SEED, values])


def test_a_hand_back_that_failed_is_finished_by_the_next_prune(run_cli: Run, seed_cluster: Seeded,
                                                               tmp_path: Path) -> None:
    """The first prune's hand-back is refused and warns; the next run finds the hook's field
    manager still owning fields of a policy it does not update, and hands them back."""
    api, _ = seed_cluster
    plan = new_table(tmp_path)
    api.fail(POLICY, 403, method="PUT", when=changes_only_managed_fields(api))
    first = run_cli("prune", "--poll=0.1", api=api, plan=plan)
    assert first.returncode == 0, first.stdout + first.stderr
    assert [r.fault for r in api.requests if r.method == "PUT" and r.path.startswith(POLICY)][-1] == "refuse"
    assert "WARN  vrfpolicy: field ownership not handed back (403 Forbidden" in first.stdout
    assert "the next prune tries again" in first.stdout
    assert managers(api) == ["helm", "symrouting"]
    # Helm 4's upgrade then applies the new desiredState (server-side, as `install` did).
    [policy] = [d for d in helm.template("helm3", [SEED, tmp_path / "table.yaml"]).documents
                if d["kind"] == "NodeNetworkConfigurationPolicy"]
    assert policy["spec"]["desiredState"] == parse_plan(json.loads(plan)).policies[0].desired_state
    helm_apply(api, policy)
    assert "symrouting" in managers(api), "the hook's entry stays until it hands it back"
    second = run_cli("prune", "--poll=0.1", api=api, plan=plan)
    assert second.returncode == 0, second.stdout + second.stderr
    assert ("KEEP  vrfpolicy: nothing to remove\n"
            "NOTE  vrfpolicy: field ownership an earlier prune could not hand back is handed back now") in second.stdout
    assert managers(api) == ["helm"]
    puts = sum(1 for r in api.requests if r.method == "PUT" and r.path.startswith(POLICY))
    third = run_cli("prune", "--poll=0.1", api=api, plan=plan)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "NOTE" not in third.stdout
    assert sum(1 for r in api.requests if r.method == "PUT" and r.path.startswith(POLICY)) == puts


def test_progress_is_said_at_least_every_10_seconds(real_api: RealApi, nmstate: NmstateHandler) -> None:
    """With the clock and sleep injected: a line at the first look, then one at most every
    10 s of the wait, naming the update, the nodes applied, the ones pending, and the time."""
    api = real_api
    install(api, nmstate, count=6)
    only_some_answer(api, nmstate, ["worker-0", "worker-4"])
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        # A wait that stops saying where it stands sleeps 0 s from then on: fail, not hang.
        assert len(slept) < 100, f"the wait spins: {len(slept)} sleeps, the last ones {slept[-3:]}"

    said: list[tuple[float, str]] = []
    plan = parse_plan(json.loads(render_plan([SEED])))
    cleanup.run(transport(api), plan, uninstall=True, timeout=35, poll=4, clock=lambda: now[0], sleep=sleep,
                say=lambda line: said.append((now[0], line)))
    assert [at for at, _ in said] == [0, 10, 20, 30]
    assert sum(slept) == 35
    assert said[1][1] == (
        "waiting for nmstate, 10s of 35s: 0 of 1 update(s) applied on all their nodes\n"
        "  vrfpolicy (ens4vrf absent; addresses off ens4; 1 route(s) absent; 2 rule(s) absent): applied on 2/6 "
        "node(s); pending worker-1, worker-2, worker-3 and 1 more")


def test_the_hook_log_shows_the_wait(run_cli: Run, seed_cluster: Seeded) -> None:
    api, nmstate = seed_cluster
    only_some_answer(api, nmstate, ["worker-0", "worker-2"])
    result = run_cli("teardown", "--timeout=1", "--poll=0.2", api=api, plan=render_plan([SEED]))
    assert result.returncode == 1
    # The cleanup Lease comes first (lease.py), then the wait's lines.
    held, waiting = result.stderr.split("\n", 1)
    assert held.startswith("symrouting: holding Lease metallb-system/symmetric-routing-cleanup as test/tenant-a")
    assert waiting.startswith("symrouting: waiting for nmstate, 0s of 1s: 0 of 1 update(s) applied on all "
                              "their nodes\n  vrfpolicy (")
    assert "applied on 2/3 node(s); pending worker-1\n" in result.stderr


@pytest.fixture
def through_kubectl(tmp_path: Path) -> Callable[[RealApi], dict[str, str]]:
    """The environment that sends the CLI through the real kubectl to the server's proxy."""
    import os

    kubectl_dir = helm.CHART / ".tools" / "bin"

    def env(api: RealApi) -> dict[str, str]:
        path = api.kubeconfig(tmp_path / "kubeconfig")
        return {"KUBECONFIG": str(path), "PATH": f"{kubectl_dir}:{os.environ['PATH']}", "HOME": str(tmp_path)}

    return env


def test_kubectls_words_for_a_refusal_reach_the_message(run_cli: Run, real_api: RealApi,
                                                        through_kubectl: Callable[[RealApi], dict[str, str]]) -> None:
    api = served(real_api, clusters.openshift(**SEED_CLUSTER))
    api.fail("/apis/config.openshift.io/v1/networks/cluster", 403, times=5)
    result = run_cli("discover", "--kubectl", env=through_kubectl(api))
    assert result.returncode == 3
    assert result.stderr.startswith('symrouting: 403 Forbidden: you may not get networks.config.openshift.io "cluster". '
                                    "Ask for it, or use a kubeconfig context that has it (kubectl: Error from server "
                                    "(Forbidden): ")


def test_through_kubectl_a_4xx_is_final_and_a_5xx_retried_visibly(
        run_cli: Run, real_api: RealApi, through_kubectl: Callable[[RealApi], dict[str, str]]) -> None:
    api = served(real_api, clusters.openshift(**SEED_CLUSTER))
    network = "/apis/config.openshift.io/v1/networks/cluster"
    api.fail(network, 503, times=2)
    api.fail("/api/v1/nodes", 400, times=1, body=json.dumps({
        "kind": "Status", "status": "Failure", "reason": "BadRequest", "code": 400,
        "message": "invalid limit"}).encode())
    result = run_cli("discover", "--kubectl", env=through_kubectl(api))
    assert result.returncode == 3, result.stdout + result.stderr
    first, last = result.stderr.splitlines()
    assert first.startswith('symrouting: get networks.config.openshift.io "cluster": kubectl: Error from server '
                            "(ServiceUnavailable): ") and first.endswith("retrying for up to 60s")
    assert last == ("symrouting: 400 Bad Request: the API refused to list nodes (kubectl: Error from server "
                    "(BadRequest): invalid limit)")
    assert sum(1 for r in api.requests if r.path.startswith("/api/v1/nodes")) == 1


def _site_values(name: str, tmp_path: Path) -> list[Path]:
    from tests.support import sitegen

    if name.startswith("seed-"):
        return [sitegen.values_file(sitegen.generate_site(int(name[5:])), tmp_path / "site.yaml")]
    return [helm.CHART / "ci" / f"{name}-values.yaml"]


SITES = ["seed", "dualstack", "multi-node", "multi-vrf", "network-mode", "vlan-bond"] + [f"seed-{i}" for i in range(12)]


@pytest.mark.parametrize("site", SITES)
def test_no_site_the_chart_renders_breaks_the_preflight(run_cli: Run, real_api: RealApi, tmp_path: Path,
                                                       site: str) -> None:
    """Every ci/ site and generated site (tests/support/sitegen.py), on a cluster that has
    none of what the preflight reads (an empty server: no node, no network config, no MetalLB
    object) and on one whose only cluster network is its nodes' podCIDRs: a report, never the
    internal-error guard's exit 4."""
    plan = render_plan(_site_values(site, tmp_path))
    empty = run_cli("preflight", api=real_api, plan=plan)
    assert empty.returncode == 1 and "preflight FAILED" in empty.stdout, empty.stdout + empty.stderr
    # The real server refuses podCIDRs with host bits (Node validation: "must not have bits set
    # beyond the prefix length"), so the nodes carry networks.
    routes = clusters.kubeadm(pod_subnet="10.128.0.0/14", service_subnet="172.30.0.0/16",
                              node_pod_cidrs=[["10.128.0.0/23", "fd01::/64"]])
    del routes["/api/v1/namespaces/kube-system/configmaps/kubeadm-config"]  # the podCIDRs are read then
    odd = run_cli("preflight", api=served(real_api, routes), plan=plan)
    assert odd.returncode in (0, 1) and "Traceback" not in odd.stderr, odd.stdout + odd.stderr


@pytest.mark.parametrize(("method", "path", "words"), [
    ("PUT", f"{POLICY}?fieldManager=symrouting", 'update nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy"'),
    ("DELETE", POLICY, 'delete nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy"'),
    ("POST", "/apis/coordination.k8s.io/v1/namespaces/test/leases", "create leases.coordination.k8s.io in namespace test"),
    ("GET", POLICY, 'get nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy"'),
])
def test_a_request_is_named_by_its_verb(method: str, path: str, words: str) -> None:
    """The verbs of the API server's RequestInfoFactory (apiserver pkg/endpoints/request/requestinfo.go)."""
    from symrouting.api import describe_request

    assert describe_request(path, method) == words


def test_a_prune_that_fails_after_its_update_is_handed_back_by_the_rerun(
        run_cli: Run, seed_cluster: Seeded, tmp_path: Path) -> None:
    """The wait is refused after the update went out: the hook stops (exit 3) before its
    hand-back; the rerun of the upgrade's prune finds the hook owning the spec and hands it
    back with its own update."""
    api, _ = seed_cluster
    plan = new_table(tmp_path)
    api.fail(ENACTMENTS, 403, method="GET")
    first = run_cli("prune", "--poll=0.1", api=api, plan=plan)
    assert first.returncode == 3 and "may not list nodenetworkconfigurationenactments" in first.stderr
    updated = [r for r in api.requests if r.method == "PUT" and r.path.startswith(POLICY)]
    assert updated and updated[-1].code == 200, "the update went out before the refused wait"
    assert managers(api) == ["helm", "symrouting"]
    second = run_cli("prune", "--poll=0.1", api=api, plan=plan)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "field ownership an earlier prune could not hand back is handed back now" in second.stdout
    assert managers(api) == ["helm"]
