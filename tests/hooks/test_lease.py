"""The cleanup Lease (hooks/symrouting/lease.py) against the real API server: taken, renewed and
released as client-go's leader election does it (tools/leaderelection/leaderelection.go,
tryAcquireOrRenew and release; resourcelock/leaselock.go), and two cleanups of two releases
that start together taking turns."""

from __future__ import annotations

import concurrent.futures
import datetime
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symrouting import lease
from symrouting.api import HttpsTransport
from tests.hooks.conftest import HOOKS, render_plan
from tests.hooks.test_cleanup import SEED, blue_site, carried, policies
from tests.support import clusters, helm
from tests.support.kubeclient import Obj
from tests.support.nmstatehandler import ENACTMENTS, POLICIES, NmstateHandler
from tests.support.realapi import RealApi

NAMESPACE = "metallb-system"
NAME = "symmetric-routing-cleanup"
PATH = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/{NAME}"


CLUSTER: dict[str, Any] = dict(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"])
NODES = [f"worker-{i}" for i in range(3)]


@pytest.fixture
def api(real_api: RealApi) -> RealApi:
    real_api.load(clusters.openshift(**CLUSTER))
    return real_api


def with_nodes(api: RealApi, nodes: list[str]) -> RealApi:
    api.load(clusters.openshift(**CLUSTER, nodes=[clusters.node(n, {"vrf": "true"}) for n in nodes]))
    return api


def install(api: RealApi, nmstate: NmstateHandler, released: list[Obj]) -> None:
    """The releases' policies as Helm created them, applied on their nodes by nmstate."""
    for policy in released:
        api.client.call("POST", f"{POLICIES}?fieldManager=helm", policy)
    nmstate.settle()
    assert not nmstate.errors, nmstate.errors
    api.proxy.clear()


def client(api: RealApi, holder: str, **kwargs: Any) -> lease.Lease:
    transport = HttpsTransport(api.url, api.token, api.ca_file, timeout=5, deadline_seconds=5, refused_is_final=True)
    return lease.Lease(transport, NAMESPACE, NAME, holder, **kwargs)


def stored(api: RealApi) -> dict[str, Any]:
    found = api.client.get(PATH)
    assert found is not None, f"no Lease {PATH}"
    return dict(found["spec"])


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lease, "POLL_SECONDS", 0.05)


def test_the_first_cleanup_creates_the_lease_and_releases_it(api: RealApi) -> None:
    first = client(api, "test/tenant-a teardown pod-1")
    with lease.held(first, timeout=5, log=lambda _: None):
        spec = stored(api)
        assert spec["holderIdentity"] == "test/tenant-a teardown pod-1"
        assert spec["leaseDurationSeconds"] == lease.DURATION_SECONDS and spec["leaseTransitions"] == 0
        assert spec["acquireTime"] == spec["renewTime"]
        datetime.datetime.strptime(spec["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ")  # MicroTime, RFC 3339 micro
    # Released as client-go's release does: no holder, a duration of one second.
    released = stored(api)
    assert released["holderIdentity"] == "" and released["leaseDurationSeconds"] == 1
    assert [r.method for r in api.requests if r.path.split("?")[0].startswith(PATH.rsplit("/", 1)[0])] == [
        "GET", "POST", "GET", "PUT"]


def test_a_lease_is_released_when_the_cleanup_fails(api: RealApi) -> None:
    first = client(api, "a")
    with pytest.raises(RuntimeError), lease.held(first, timeout=5, log=lambda _: None):
        raise RuntimeError("the cleanup broke")
    assert stored(api)["holderIdentity"] == ""


def test_two_cleanups_at_once_take_turns(api: RealApi, fast: None) -> None:
    """Two threads hold the Lease around a one-second cleanup each: the second waits, says so,
    and starts only after the first released it; the Lease counts one transition."""
    spans: dict[str, tuple[float, float]] = {}
    lines: dict[str, list[str]] = {"a": [], "b": []}
    started = threading.Barrier(2)

    def cleanup(holder: str) -> None:
        mine = client(api, holder)
        started.wait()
        if holder == "b":
            time.sleep(0.2)  # a starts first
        with lease.held(mine, timeout=10, log=lines[holder].append):
            begin = time.monotonic()
            time.sleep(1.0)
            spans[holder] = (begin, time.monotonic())

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(cleanup, ["a", "b"]))
    (a_start, a_end), (b_start, b_end) = spans["a"], spans["b"]
    assert a_end <= b_start, "b ran while a held the Lease"
    assert lines["b"][0].startswith(f"waiting for Lease {NAMESPACE}/{NAME}, held by another release's cleanup (a); "
                                    "it frees at ") and lines["b"][0].endswith(" (renewTime + leaseDurationSeconds): 0s of 10s")
    assert lines["b"][-1] == f"holding Lease {NAMESPACE}/{NAME} as b"
    assert stored(api)["leaseTransitions"] == 1 and stored(api)["holderIdentity"] == ""


def test_the_real_server_refuses_a_stale_update_and_a_second_create(api: RealApi) -> None:
    """What lease.py relies on, from the API server's Store.Create and Store.Update (k8s.io/apiserver
    pkg/registry/generic/registry/store.go): 409 AlreadyExists, 409 Conflict, and 422 without a
    resourceVersion (kubernetes pkg/registry/coordination/lease/strategy.go:
    AllowUnconditionalUpdate false); the update that carries the stored one passes."""
    collection = PATH.rsplit("/", 1)[0]
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {"holderIdentity": "x"}}
    status, created = api.client.request("POST", collection, body)
    assert status == 201
    status, answer = api.client.request("POST", collection, body)
    assert (status, answer["reason"]) == (409, "AlreadyExists")
    stale = {**body, "metadata": {**body["metadata"], "resourceVersion": "1"}}
    status, answer = api.client.request("PUT", PATH, stale)
    assert status == 409 and "the object has been modified" in answer["message"]
    status, answer = api.client.request("PUT", PATH, body)
    assert status == 422, f"no resourceVersion: a Lease allows no unconditional update: {answer}"
    current = {**body, "metadata": {**body["metadata"], "resourceVersion": created["metadata"]["resourceVersion"]}}
    status, _ = api.client.request("PUT", PATH, current)
    assert status == 200


class ReadThen:
    """A transport that runs `then` after each GET: another client acts between this one's
    read and its write."""

    def __init__(self, inner: HttpsTransport, then: Callable[[], Any]) -> None:
        self.inner, self.then = inner, then

    def get(self, path: str, *, metadata_only: bool = False) -> Any:
        answer = self.inner.get(path)
        self.then()
        return answer

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self.inner.put(path, body)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.inner.post(path, body)


@pytest.mark.parametrize("exists", [False, True], ids=["create", "update"])
def test_of_two_clients_that_race_for_a_free_lease_one_wins(api: RealApi,
                                                            exists: bool) -> None:
    """Both read the Lease absent (or free); a writes first; b's create gets 409 AlreadyExists,
    or its update, carrying the resourceVersion it read, 409 Conflict: b does not hold it."""
    first = client(api, "a")
    if exists:
        assert first.try_acquire()
        first.release()
    raced = client(api, "b")
    raced.transport = ReadThen(raced.transport, lambda: first.try_acquire())  # type: ignore[assignment]
    assert not raced.try_acquire()
    assert stored(api)["holderIdentity"] == "a"
    assert [(r.method, r.body["spec"]["holderIdentity"]) for r in api.requests
            if r.method in ("POST", "PUT")][-2:] == [("PUT" if exists else "POST", "a"), ("PUT" if exists else "POST", "b")]


def test_an_expired_lease_is_taken_over(api: RealApi, fast: None) -> None:
    """A holder that crashed stops renewing: leaseDurationSeconds after its renewTime the next
    cleanup takes it and counts a transition."""
    crashed = client(api, "crashed", duration=1)
    start = time.monotonic()
    assert crashed.try_acquire()  # and never renews nor releases: the pod was killed
    before = stored(api)
    lines: list[str] = []
    successor = client(api, "next")
    with lease.held(successor, timeout=10, log=lines.append) as waited:
        spec = stored(api)
        # not before its renewTime + leaseDurationSeconds
        assert time.monotonic() - start >= 1.0
    assert waited < 3
    assert spec["holderIdentity"] == "next" and spec["leaseTransitions"] == before["leaseTransitions"] + 1
    assert spec["acquireTime"] != before["acquireTime"]
    assert lines[0].startswith(f"waiting for Lease {NAMESPACE}/{NAME}, held by another release's cleanup (crashed)")


def test_a_renewed_lease_is_not_taken_and_the_wait_gives_up_naming_the_holder(api: RealApi,
                                                                               tmp_path: Path, fast: None) -> None:
    """The holder's renewer thread keeps a one-second Lease alive for three seconds: a waiter
    with a two-second bound gives up, naming it; without the renewals it would have taken it."""
    holder = client(api, "long-cleanup", duration=1, renew_every=0.3)
    waiter = client(api, "waiter")
    with lease.held(holder, timeout=5, log=lambda _: None):
        with pytest.raises(lease.LeaseTimeout, match=r"still held by another release's cleanup \(long-cleanup\) after 2s"):
            lease.acquire(waiter, timeout=2, log=lambda _: None)
        assert stored(api)["holderIdentity"] == "long-cleanup"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_wait_says_who_holds_it_every_ten_seconds_until_its_bound(api: RealApi) -> None:
    clock = Clock()
    other = client(api, "prod/tenant-b prune pod-7", monotonic=clock)
    assert other.try_acquire()
    waiter = client(api, "test/tenant-a teardown pod-1", monotonic=clock)
    lines: list[str] = []

    def renewing_sleep(seconds: float) -> None:
        clock.sleep(seconds)
        other.renew()  # the holder is alive all along

    with pytest.raises(lease.LeaseTimeout) as raised:
        lease.acquire(waiter, timeout=25, log=lines.append, sleep=renewing_sleep)
    assert [re.sub(r"frees at \S+", "frees at T", line) for line in lines] == [
        f"waiting for Lease {NAMESPACE}/{NAME}, held by another release's cleanup (prod/tenant-b prune pod-7); "
        f"it frees at T (renewTime + leaseDurationSeconds): {s}s of 25s" for s in (0, 10, 20)]
    assert "still held by another release's cleanup (prod/tenant-b prune pod-7) after 25s" in str(raised.value)
    assert f"kubectl get lease -n {NAMESPACE} {NAME}" in str(raised.value)


def run_teardown(api: RealApi, plan_file: Path, token_file: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-S", "-m", "symrouting", "teardown", "--poll=0.1", f"--plan={plan_file}", *extra,
               f"--server={api.url}", f"--token-file={token_file}", f"--ca-file={api.ca_file}"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(HOOKS)})


def test_two_releases_uninstalled_together_take_turns_and_take_the_shared_rules(
        real_api: RealApi, nmstate: NmstateHandler, tmp_path: Path) -> None:
    """The issue's race: the two last tenants torn down at once. Serialised, the second reads
    the first's removal state, sees no neighbour declaring the main-table rules any more, and
    takes them off: every node ends bare. Each release's policy update happens while its
    own teardown holds the Lease."""
    api = with_nodes(real_api, NODES)
    blue = blue_site(tmp_path)
    install(api, nmstate, policies([SEED]) + policies([blue], release="blue", namespace="blue"))
    # Each look at the enactments takes 0.3 s: a teardown lasts long enough for the other to wait.
    api.slow(ENACTMENTS, 0.3, times=1000)
    token = tmp_path / "token"
    token.write_text(api.token)
    plans = {"seed": tmp_path / "seed.json", "blue": tmp_path / "blue.json"}
    plans["seed"].write_text(render_plan([SEED]))
    plans["blue"].write_text(render_plan([blue], release="blue", namespace="blue"))
    runs = {name: run_teardown(api, path, token) for name, path in plans.items()}
    results = {name: run.communicate(timeout=60) for name, run in runs.items()}
    for name, run in runs.items():
        assert run.returncode == 0, results[name]
    assert any("waiting for Lease" in err for _, err in results.values()), results
    # The request log: who held the Lease when each policy was updated.
    holder, held_at_update = "", {}
    for request in api.requests:
        # a create or update that lost its race (409) changed no holder
        if "/leases" in request.path and request.method in ("POST", "PUT") and request.code < 300:
            holder = request.body["spec"]["holderIdentity"]
        elif request.method in ("PUT", "PATCH") and request.path.startswith(POLICIES):
            held_at_update[request.body["metadata"]["name"]] = holder
    assert sorted(held_at_update) == ["blue-symmetric-routing-bluevrf", "vrfpolicy"], held_at_update
    assert held_at_update["vrfpolicy"].startswith(f"{helm.NAMESPACE}/{helm.RELEASE} teardown ")
    assert held_at_update["blue-symmetric-routing-bluevrf"].startswith("blue/blue teardown ")
    nmstate.settle()
    assert not nmstate.errors, nmstate.errors
    for node in NODES:
        assert carried(nmstate, node) == {"virtual": {}, "addresses": {}, "routes": set(), "rules": set()}, node


@pytest.mark.parametrize("let_pass", [False, True], ids=["fails", "continue-on-failure"])
def test_a_teardown_that_cannot_get_the_lease_in_time_changes_nothing_and_says_who_holds_it(
        api: RealApi, nmstate: NmstateHandler, run_cli: Callable[..., Any], let_pass: bool) -> None:
    install(api, nmstate, policies([SEED]))
    other = client(api, "prod/tenant-b prune pod-7")
    assert other.try_acquire()  # held for 30 s from now: longer than the teardown may wait
    extra = ("--continue-on-failure",) if let_pass else ()
    result = run_cli("teardown", "--timeout=1", "--poll=0.1", *extra, api=api, plan=render_plan([SEED]))
    assert result.returncode == (0 if let_pass else 1), result.stdout + result.stderr
    assert (f"symrouting: teardown of release {helm.NAMESPACE}/{helm.RELEASE} did not start, nothing was written: Lease "
            f"{NAMESPACE}/{NAME} is still held by another release's cleanup (prod/tenant-b prune pod-7) after 1s") \
        in result.stderr
    assert "Traceback" not in result.stderr
    assert [r.method for r in api.requests if "nodenetworkconfigurationpolicies" in r.path] == []
    assert stored(api)["holderIdentity"] == "prod/tenant-b prune pod-7"


def test_a_holder_whose_lease_was_taken_over_neither_renews_nor_releases_it(api: RealApi,
                                                                             tmp_path: Path) -> None:
    """A stalled holder's Lease expired and another cleanup took it: the stalled one's renew
    meets 409, reads the Lease again and, seeing another holder, stops; its release leaves
    the Lease alone (client-go leaderelection.go: tryAcquireOrRenew returns false while
    another identity holds an unexpired lease; release returns early unless IsLeader)."""
    stalled = client(api, "stalled", duration=1)
    assert stalled.try_acquire()
    clock = Clock()
    successor = client(api, "successor", monotonic=clock)
    assert not successor.try_acquire()
    clock.now += 2  # the Lease stayed unchanged for longer than its duration, as successor saw it
    assert successor.try_acquire()
    assert not stalled.renew()
    stalled.release()
    spec = stored(api)
    assert spec["holderIdentity"] == "successor" and spec["leaseDurationSeconds"] == lease.DURATION_SECONDS


def test_the_wait_for_the_lease_counts_against_the_cleanups_timeout(
        real_api: RealApi, nmstate: NmstateHandler, run_cli: Callable[..., Any]) -> None:
    """--timeout bounds the whole hook (Helm kills a hook past its own --timeout): a crashed
    holder's two-second Lease is waited out, then the wait for nodes that never answer gets
    only what is left of the three seconds, and the progress line says so."""
    api = with_nodes(real_api, ["worker-0"])
    install(api, nmstate, policies([SEED]))
    nmstate.stop()  # from now on no node answers: the handler takes no further event
    plan = render_plan([SEED])  # first: the crashed holder's renewTime starts its two seconds
    crashed = client(api, "prod/tenant-b prune pod-7", duration=2)
    assert crashed.try_acquire()  # and never renews
    result = run_cli("teardown", "--timeout=3", "--poll=0.1", api=api, plan=plan)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if "waiting for nmstate" in line][:1]
    bound = float(line.split(" of ", 1)[1].split("s:", 1)[0])
    assert bound <= 1, line


def ago(seconds: float) -> Callable[[], datetime.datetime]:
    """A wall clock `seconds` behind: a holder that last renewed that long ago."""
    return lambda: datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)


def test_a_lease_past_its_renew_time_is_taken_at_once(api: RealApi) -> None:
    """kubernetes v1.36.3 pkg/controlplane/controller/leaderelection/election.go isLeaseExpired:
    renewTime + leaseDurationSeconds before now. client-go v0.36.3's isLeaseValid alone
    (tools/leaderelection/leaderelection.go: observedTime + leaseDurationSeconds) would make
    this newcomer wait 30 s from its first look at a holder dead for 31 s."""
    dead = client(api, "prod/tenant-b prune pod-7_0a1b2c3d", now=ago(31))
    assert dead.try_acquire()
    newcomer = client(api, "test/tenant-a prune pod-9_4e5f6a7b")
    assert newcomer.try_acquire()
    assert stored(api)["holderIdentity"] == "test/tenant-a prune pod-9_4e5f6a7b"


def test_a_lease_renewed_within_its_duration_is_not_taken(api: RealApi) -> None:
    alive = client(api, "prod/tenant-b prune pod-7_0a1b2c3d", now=ago(29))
    assert alive.try_acquire()
    assert not client(api, "test/tenant-a prune pod-9_4e5f6a7b").try_acquire()


def test_the_releases_own_dead_holder_is_recognised_and_said(api: RealApi,
                                                             fast: None) -> None:
    """A prune pod killed while holding the Lease: the retried pod of the same release says the
    holder is this release's own earlier cleanup and when the Lease frees, and gets it then."""
    killed = client(api, "test/tenant-a prune pod-1_0a1b2c3d", now=ago(28))
    assert killed.try_acquire()
    frees = lease.parse_micro_time(stored(api)["renewTime"])
    retried = client(api, "test/tenant-a prune pod-2_4e5f6a7b")
    lines: list[str] = []
    waited = lease.acquire(retried, timeout=30, log=lines.append)
    assert 1.0 <= waited < 4.0
    assert frees is not None
    assert lines == [f"waiting for Lease {NAMESPACE}/{NAME}, held by this release's own earlier cleanup "
                     "(test/tenant-a prune pod-1_0a1b2c3d), which stopped without releasing it (its pod killed or "
                     f"crashed); it frees at {lease.micro_time(frees + datetime.timedelta(seconds=30))} "
                     "(renewTime + leaseDurationSeconds): 0s of 30s"]


def test_a_prune_retried_after_its_pod_was_killed_finishes_within_the_minimum_timeout(
        real_api: RealApi, nmstate: NmstateHandler, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    """cleanup.timeoutSeconds at the schema's minimum (30): the killed pod renewed 27 s ago,
    so its Lease frees 3 s into the retried prune, which then takes the nodes off in time."""
    from tests.hooks.test_cleanup import renamed_site

    api = with_nodes(real_api, NODES)
    install(api, nmstate, policies([SEED]))
    plan = render_plan([renamed_site(tmp_path)])
    killed = client(api, f"{helm.NAMESPACE}/{helm.RELEASE} prune pod-1_0a1b2c3d", now=ago(27))
    assert killed.try_acquire()
    result = run_cli("prune", "--timeout=30", "--poll=0.1", api=api, plan=plan)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (f"held by this release's own earlier cleanup ({helm.NAMESPACE}/{helm.RELEASE} prune pod-1_0a1b2c3d), "
            "which stopped without releasing it") in result.stderr
    assert "prune of release test/tenant-a finished" in result.stdout
    assert stored(api)["holderIdentity"] == ""


def test_a_renewal_after_a_409_uses_the_lease_read_again(api: RealApi) -> None:
    """Another client wrote the Lease (a label, say) without taking it: the renewal's update
    meets 409, reads the Lease again, still finds itself the holder, and renews on that copy,
    not on the stale one it kept (which would meet 409 every time)."""
    mine = client(api, "test/tenant-a prune pod-1")
    assert mine.try_acquire()
    touched = api.client.call("GET", PATH)
    touched["metadata"].setdefault("labels", {})["touched-by"] = "another-client"
    api.client.call("PUT", PATH, touched)  # a new resourceVersion, the same spec
    assert mine.renew()
    assert [r.code for r in api.requests if r.method == "PUT"] == [409, 200]
