"""`symrouting wait` (the post-install/upgrade/rollback Job) against the real API server, with
kubernetes-nmstate's handler (tests/support/nmstatehandler.py) and enactments written into it: it ends when every policy is applied on its nodes, names a failed node with nmstate's
message, a silent one at the timeout, a policy that is gone, says where it stands at least
every 10 s, and waits wave by wave, stopping at the first wave that fails."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symrouting import checks, wait
from symrouting.api import HttpsTransport
from symrouting.facts import Facts, Node
from symrouting.plan import parse_plan
from tests.hooks.conftest import render_plan
from tests.support import clusters, helm
from tests.support.nmstatehandler import ENACTMENTS, POLICIES, NmstateHandler, conditions
from tests.support.realapi import RealApi

SEED = helm.CHART / "ci" / "seed-values.yaml"
Run = Callable[..., subprocess.CompletedProcess[str]]
NODES = [f"worker-{i}" for i in range(6)]
# nmstate's words for a refused MTU (nmstate v2.2.37 rust/src/lib/ifaces/base.rs, validate_mtu)
REFUSED = "InvalidArgument: Desired MTU 9000 for interface ens4 is bigger than maximum allowed MTU 1500"

# Six nodes in waves: worker-0 the canary (wave 1), worker-5 named into wave 1 too, then
# batches of two in name order: worker-1 and worker-2 (wave 2), worker-3 and worker-4 (wave 3).
WAVES = """vrfs:
  ens4vrf:
    policy: {nodeSelector: {vrf: "true"}}
    ports: {ens4: {ipv4: null}}
    nodes:
""" + "".join(f"      {node}: {{ens4: 192.168.130.{130 + i}/24}}\n" for i, node in enumerate(NODES)) + """    waves:
      canary: 1
      batchSize: 2
      nodes: {worker-5: 1}
"""


def policy_of(plan: str, node: str) -> str:
    """The name the chart gave the node's policy in the plan (templates/_model.tpl:
    <policy>-<node> and a hash of both)."""
    [name] = [p["name"] for vrf in json.loads(plan)["vrfs"] for p in vrf["policies"] if p.get("node") == node]
    return str(name)


Waved = tuple[RealApi, NmstateHandler, str]


def install(api: RealApi, nmstate: NmstateHandler, values: list[Path], nodes: list[tuple[str, dict[str, str]]]) -> None:
    """The nodes, and the release's policies as Helm created them, applied by nmstate."""
    api.load(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"],
                                nodes=[clusters.node(name, labels) for name, labels in nodes]))
    for policy in helm.template("helm3", values).documents:
        if policy["kind"] == "NodeNetworkConfigurationPolicy":
            api.client.call("POST", f"{POLICIES}?fieldManager=helm", policy)
    nmstate.settle()
    assert not nmstate.errors, nmstate.errors
    api.proxy.clear()


@pytest.fixture
def waved(real_api: RealApi, nmstate: NmstateHandler, tmp_path: Path) -> Waved:
    """Six VRF nodes, the waved seed installed (generation 1 applied everywhere), its plan."""
    override = tmp_path / "waves.yaml"
    override.write_text(WAVES)
    install(real_api, nmstate, [SEED, override], [(node, {"vrf": "true"}) for node in NODES])
    return real_api, nmstate, render_plan([SEED, override])


def fail_on(api: RealApi, plan: str, node: str, message: str = REFUSED) -> None:
    """The node's enactment of its policy reports generation 1 failed, with nmstate's message,
    written through the status subresource as the handler writes it."""
    path = f"{ENACTMENTS}/{node}.{policy_of(plan, node)}/status"
    api.client.call("PATCH", path, {"status": {"policyGeneration": 1, "conditions": conditions("fail", message)}},
                    content_type="application/merge-patch+json")


def silence(api: RealApi, node: str) -> None:
    """The node never reported: no enactment of its own."""
    for found in api.client.items(ENACTMENTS):
        if found["metadata"]["labels"]["nmstate.io/node"] == node:
            api.client.call("DELETE", f"{ENACTMENTS}/{found['metadata']['name']}")


def looked_at(api: RealApi) -> str:
    """Every enactment list the wait asked for, as one string."""
    return " ".join(r.path for r in api.requests if r.path.startswith(ENACTMENTS))


def test_the_waves_are_the_canary_then_batches_by_name(waved: Waved) -> None:
    _, _, plan = waved
    waves = {policy.node: policy.wave for policy in parse_plan(json.loads(plan)).policies}
    assert waves == {"worker-0": 1, "worker-5": 1, "worker-1": 2, "worker-2": 2, "worker-3": 3, "worker-4": 3}


def test_every_wave_applied_finishes(run_cli: Run, waved: Waved) -> None:
    api, _, plan = waved
    result = run_cli("wait", "--timeout=5", "--poll=0.1", api=api, plan=plan)
    assert result.returncode == 0, result.stdout + result.stderr
    for wave, nodes in ((1, ("worker-0", "worker-5")), (2, ("worker-1", "worker-2")), (3, ("worker-3", "worker-4"))):
        for node in nodes:
            assert f"DONE  wave {wave}: {policy_of(plan, node)} (generation 1): applied on 1/1 node(s)" in result.stdout
    assert "wait for release test/tenant-a finished" in result.stdout


def test_the_wait_stops_at_the_first_wave_that_fails(run_cli: Run, waved: Waved) -> None:
    api, _, plan = waved
    fail_on(api, plan, "worker-2")
    fail_on(api, plan, "worker-4", "never to be read")
    result = run_cli("wait", "--timeout=5", "--poll=0.1", api=api, plan=plan)
    assert result.returncode == 1
    assert f"DONE  wave 1: {policy_of(plan, 'worker-0')}" in result.stdout
    assert f"DONE  wave 2: {policy_of(plan, 'worker-1')}" in result.stdout
    assert (f"FAIL  wave 2: {policy_of(plan, 'worker-2')} (generation 1): applied on 0/1 node(s)\n"
            f"      worker-2: failed: {REFUSED}") in result.stdout
    assert "SKIP  wave 3: not waited for: an earlier wave failed" in result.stdout
    # wave 3 is never looked at: its failure is not the one reported
    assert policy_of(plan, "worker-3") not in looked_at(api) and "never to be read" not in result.stdout
    assert "wait for release test/tenant-a FAILED" in result.stdout


def test_a_silent_node_fails_at_the_timeout_by_name(run_cli: Run, waved: Waved) -> None:
    api, _, plan = waved
    silence(api, "worker-1")
    result = run_cli("wait", "--timeout=1", "--poll=0.2", api=api, plan=plan)
    assert result.returncode == 1
    assert "worker-1: never reported generation 1" in result.stdout
    assert "pending worker-1" in result.stderr


def test_a_policy_that_is_gone_fails(run_cli: Run, waved: Waved) -> None:
    api, _, plan = waved
    api.client.call("DELETE", f"{POLICIES}/{policy_of(plan, 'worker-0')}")
    result = run_cli("wait", "--timeout=1", "--poll=0.2", api=api, plan=plan)
    assert result.returncode == 1
    assert f"FAIL  wave 1: {policy_of(plan, 'worker-0')}: not found" in result.stdout


def test_without_waves_one_wait_for_the_policy(run_cli: Run, real_api: RealApi, nmstate: NmstateHandler) -> None:
    api = real_api
    install(api, nmstate, [SEED], [(f"worker-{i}", {"vrf": "true"} if i == 0 else {}) for i in range(3)])
    result = run_cli("wait", "--timeout=5", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("DONE  vrfpolicy (generation 1): applied on 1/1 node(s)\n")


def test_progress_is_said_at_least_every_10_seconds(waved: Waved) -> None:
    """The clock and sleep injected: a line at the first look, then one every 10 s, naming the
    policy, the nodes pending and the time spent, as the cleanup's wait does (it is the same)."""
    api, _, plan = waved
    silence(api, "worker-5")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    said: list[tuple[float, str]] = []
    transport = HttpsTransport(api.url, api.token, api.ca_file, timeout=2.0, deadline_seconds=5.0)
    waves = wait.run(transport, parse_plan(json.loads(plan)), timeout=25, poll=4, clock=lambda: now[0], sleep=sleep,
                     say=lambda line: said.append((now[0], line)))
    assert [at for at, _ in said] == [0, 0, 10, 20]
    assert said[0][1] == "wave 1: 2 policies"
    assert said[2][1] == ("waiting for nmstate, 10s of 25s: 1 of 2 update(s) applied on all their nodes\n"
                          f"  {policy_of(plan, 'worker-5')}: applied on 0/1 node(s); pending worker-5")
    assert [w.reached for w in waves] == [True, False, False]


def report_of(waves: list[wait.Wave]) -> str:
    return wait.report(waves, "test/tenant-a")


def test_the_report_of_nothing_to_wait_for_finishes() -> None:
    assert report_of([]) == "wait for release test/tenant-a finished: every policy is Available on every node it selects\n"


def test_waves_are_waited_for_lowest_first() -> None:
    plan: dict[str, Any] = json.loads(render_plan([SEED]))
    plan["vrfs"][0]["policies"] = [{**plan["vrfs"][0]["policies"][0], "name": name, "wave": wave}
                                   for name, wave in (("c", 3), ("a", 1), ("b", 1))]
    grouped = wait.waves_of(parse_plan(plan))
    assert [(number, [p.name for p in policies]) for number, policies in grouped] == [(1, ["a", "b"]), (3, ["c"])]


def test_the_preflight_refuses_a_waved_policy_that_matches_no_node(waved: Waved) -> None:
    """worker-3 is gone: its policy would match no node, nmstate would mark it Ignored, and an
    Argo CD sync would wait on wave 3 for ever. The preflight stops the release first."""
    _, _, plan = waved
    nodes = tuple(Node(node, {"vrf": "true", "kubernetes.io/hostname": node}) for node in NODES if node != "worker-3")
    result = checks.check_node_selectors(parse_plan(json.loads(plan)), Facts(nodes=nodes))
    assert result.status == checks.FAIL
    assert "ens4vrf: no node named worker-3" in result.details
    assert ("ens4vrf: under Argo CD, wave 3 would never be Healthy (a policy that matches no node is Ignored) "
            "and the sync would hang") in result.details
