"""The prune and teardown commands against the real API server with kubernetes-nmstate's
handler on it (tests/support/nmstatehandler.py, every state through the real nmstate): the
exact policy updates they send for an uninstall and for each kind of upgrade, read from the
proxy's record of what went over the wire, what each node carries after, and what they do
when a node fails or never reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
import copy
import hashlib
import json
import subprocess
import urllib.parse
from typing import Any

import pytest
import yaml

from symrouting.api import HttpsTransport
from symrouting.cleanup import _chunks, plan_removals
from symrouting.nodeconfig import declared, removal_state
from symrouting.plan import parse_plan
from tests.hooks.conftest import render_plan
from tests.support import clusters, helm, sitegen
from tests.support.nmstatehandler import ENACTMENTS, POLICIES, NmstateHandler, conditions
from tests.support.nodestate import Node, node_after
from tests.support.realapi import RealApi

SEED = helm.CHART / "ci" / "seed-values.yaml"
Run = Callable[..., subprocess.CompletedProcess[str]]
CIDRS: dict[str, Any] = dict(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"])
POLICY = f"{POLICIES}/vrfpolicy"
# What a node whose probes fail after an apply reports (the handler prefixes its own words).
ROLLED_BACK = "rolled back: connectivity to the default gateway lost"


def node_policy(prefix: str, node: str) -> str:
    """A node's policy name as templates/_names.tpl symmetric-routing.nodePolicyName makes it
    (short names: "<prefix>-<node>-" and 8 hex digits of the sha256 of "<prefix>/<node>")."""
    return f"{prefix}-{node}-{hashlib.sha256(f'{prefix}/{node}'.encode()).hexdigest()[:8]}"


def seed_with(tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """The seed site's values, changed by a function, as a values file of its own."""
    values = yaml.safe_load(SEED.read_text())
    change(values)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def blue_values(values: dict[str, Any]) -> None:
    values["vrfs"] = {"bluevrf": {"tableId": 3, "policy": {"nodeSelector": {"vrf": "true"}},
                                  "ports": {"ens5": {"ipv4": ["192.168.140.2/24"]}}}}


def blue_site(tmp_path: Path) -> Path:
    """Tenant blue: its own VRF and port on the same nodes, the same cluster CIDRs."""
    return seed_with(tmp_path, "blue", blue_values)


def renamed_site(tmp_path: Path) -> Path:
    def change(values: dict[str, Any]) -> None:
        vrf = values["vrfs"].pop("ens4vrf")
        del vrf["policy"]["name"]
        values["vrfs"]["tenantvrf"] = vrf
    return seed_with(tmp_path, "renamed", change)


def policies(files: list[Path], release: str = helm.RELEASE, namespace: str = helm.NAMESPACE) -> list[dict[str, Any]]:
    """The policies the chart renders for these values (each rendering once per process)."""
    key = (tuple(path.read_text() for path in files), release, namespace)
    if key not in _RENDERED:
        result = helm.template("helm3", files, release=release, namespace=namespace)
        assert result.returncode == 0, result.stderr
        _RENDERED[key] = [d for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"]
    return copy.deepcopy(_RENDERED[key])


_RENDERED: dict[tuple[Any, ...], list[dict[str, Any]]] = {}


def override(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def helm_apply(api: RealApi, policy: dict[str, Any]) -> None:
    """A policy as Helm 4 creates or upgrades it: server-side applied, field manager helm."""
    api.client.call("PATCH", f"{POLICIES}/{policy['metadata']['name']}?fieldManager=helm&force=true", policy,
                    content_type="application/apply-patch+yaml")


@dataclass
class Rig:
    """The real API server and nmstate's handler, with the release's policies installed."""

    api: RealApi
    nmstate: NmstateHandler
    # Each policy's spec when the hooks started (what the first update changes).
    before: dict[str, Any]

    def updates(self) -> list[dict[str, Any]]:
        """Every change of a policy's spec the hooks made, in order: the body of each update
        the server accepted that sent a spec other than the policy's last one (a hand-back,
        which sends the spec as it is, is none), as the proxy recorded it."""
        last = dict(self.before)
        found = []
        for request in self.api.requests:
            path = request.path.split("?", 1)[0]
            if request.method == "PUT" and path.startswith(POLICIES + "/") and 200 <= request.code < 300:
                name = path.rsplit("/", 1)[1]
                if request.body["spec"] != last.get(name):
                    last[name] = request.body["spec"]
                    found.append(request.body)
        return found

    def policy(self, name: str = "vrfpolicy") -> dict[str, Any]:
        return dict(self.api.client.call("GET", f"{POLICIES}/{name}"))

    def settle(self) -> None:
        self.nmstate.settle()
        assert not self.nmstate.errors, self.nmstate.errors

    def mark(self) -> None:
        """From here on the hooks run: each policy's spec as it stands, the proxy's record empty."""
        self.settle()
        self.before = {p["metadata"]["name"]: p["spec"] for p in self.api.client.items(POLICIES)}
        self.api.proxy.clear()


def install(api: RealApi, nmstate: NmstateHandler, installed: list[dict[str, Any]],
            nodes: list[dict[str, Any]] | None = None, cidrs: dict[str, Any] = CIDRS) -> Rig:
    """The nodes (the builder's three, worker-0 alone with vrf=true, when None), and the
    policies as Helm 4 created them, applied by nmstate on every node they select."""
    api.load(clusters.openshift(**cidrs, nodes=nodes))
    for policy in installed:
        helm_apply(api, policy)
    rig = Rig(api, nmstate, {})
    rig.settle()
    for enactment in api.client.items(ENACTMENTS):
        available = [c for c in enactment["status"]["conditions"] if c["type"] == "Available"]
        assert available[0]["status"] == "True", enactment["status"]
    rig.mark()
    return rig


def three_nodes(vrf_nodes: int = 3) -> list[dict[str, Any]]:
    return [clusters.node(f"worker-{i}", {"vrf": "true"} if i < vrf_nodes else {}) for i in range(3)]


def once_at(api: RealApi, method: str, generation: int, then: Callable[[], object], path: str = POLICY) -> None:
    """`then` runs once, just before the first `method` request to `path` that reaches the
    server once the live policy has `generation` (a later step of the hook, or its hand-back
    once the last step is in), whatever conflicts came before."""
    done: list[bool] = []

    def gate(seen_method: str, seen_path: str, _user: str) -> None:
        if done or seen_method != method or seen_path.split("?", 1)[0] != path:
            return
        if int(api.client.call("GET", path)["metadata"]["generation"]) >= generation:
            done.append(True)
            then()

    api.proxy.gates.append(gate)


def to_policy(api: RealApi, method: str = "") -> list[tuple[str, int]]:
    """(method, answer) of each request to the seed's policy, in order."""
    return [(r.method, r.code) for r in api.requests if r.path.split("?", 1)[0] == POLICY and method in ("", r.method)]


def status_write(api: RealApi) -> None:
    """nmstate's handler writes the policy's status again: the resourceVersion moves."""
    api.client.call("PATCH", f"{POLICY}/status", {"status": {"conditions": [
        {"type": "Available", "status": "True", "reason": "SuccessfullyConfigured", "message": "again",
         "lastHeartbeatTime": "2026-12-06T00:00:00Z", "lastTransitionTime": "2026-12-06T00:00:00Z"}]}},
        content_type="application/merge-patch+json")


def spec_owners(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy's managedFields entries, the status subresource's writer (nmstate) aside."""
    return [e for e in policy["metadata"].get("managedFields") or [] if e.get("subresource") != "status"]


@pytest.fixture
def cluster(real_api: RealApi, nmstate: NmstateHandler, tmp_path: Path) -> Rig:
    """Three VRF nodes, the seed release installed, and tenant blue's policy, which declares
    the same main-table rules for the cluster's CIDRs."""
    return install(real_api, nmstate, policies([SEED]) + policies([blue_site(tmp_path)], release="blue", namespace="blue"),
                   three_nodes())


def test_uninstall_sends_the_removal_and_waits_for_every_node(run_cli: Run, cluster: Rig, tmp_path: Path) -> None:
    before = policies([SEED])[0]["spec"]["desiredState"]
    result = run_cli("teardown", "--poll=0.1", api=cluster.api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    [update] = cluster.updates()
    assert update["metadata"]["name"] == "vrfpolicy"
    # Blue still declares the cluster's rules: they stay; the VRF, its route and the port's
    # IPv4 addresses go (the chart set no IPv6 on it: that side is left as it was).
    assert update["spec"]["desiredState"] == {
        "interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"},
                       {"name": "ens4", "type": "ethernet", "state": "up", "ipv4": {"enabled": False}}],
        "routes": {"config": [{**before["routes"]["config"][0], "state": "absent"}]},
    }
    assert update["spec"]["nodeSelector"] == {"vrf": "true"}
    assert "DONE  vrfpolicy: ens4vrf absent; addresses off ens4; 1 route(s) absent; applied on 3/3 node(s)" in result.stdout
    puts = [r.path for r in cluster.api.requests if r.method == "PUT" and "/leases/" not in r.path]
    assert puts == [f"{POLICY}?fieldManager=symrouting"]
    # nmstate applied it on every node: the blue tenant's state is all they carry.
    [blue] = policies([blue_site(tmp_path)], release="blue", namespace="blue")
    for node in ("worker-0", "worker-1", "worker-2"):
        assert carried(cluster.nmstate, node) == node_after(blue["spec"]["desiredState"]).managed(), node


def test_the_last_tenant_takes_the_rules_too(run_cli: Run, real_api: RealApi, nmstate: NmstateHandler) -> None:
    rig = install(real_api, nmstate, policies([SEED]))
    assert run_cli("teardown", "--poll=0.1", api=real_api, plan=render_plan([SEED])).returncode == 0
    rules = rig.updates()[0]["spec"]["desiredState"]["route-rules"]["config"]
    assert [(r["ip-to"], r["state"]) for r in rules] == [("172.30.0.0/16", "absent"), ("10.132.0.0/14", "absent")]
    assert carried(nmstate, "worker-0") == {"virtual": {}, "addresses": {}, "routes": set(), "rules": set()}


def test_a_node_that_never_reports_fails_the_uninstall_by_name(run_cli: Run, cluster: Rig) -> None:
    cluster.nmstate.silent.add("worker-1")
    result = run_cli("teardown", "--timeout=1.5", "--poll=0.1", api=cluster.api, plan=render_plan([SEED]))
    assert result.returncode == 1
    assert "FAIL  vrfpolicy: ens4vrf absent; addresses off ens4; 1 route(s) absent; applied on 2/3 node(s)" in result.stdout
    assert "      worker-1: never reported generation 2" in result.stdout
    assert "teardown of release test/tenant-a FAILED" in result.stdout


def test_a_failing_node_is_reported_and_can_be_let_pass(run_cli: Run, cluster: Rig) -> None:
    cluster.nmstate.failing["worker-2"] = ROLLED_BACK
    result = run_cli("teardown", "--poll=0.1", api=cluster.api, plan=render_plan([SEED]))
    assert result.returncode == 1
    assert ("worker-2: failed: error reconciling NodeNetworkConfigurationPolicy on node worker-2: "
            f"{ROLLED_BACK}") in result.stdout


def test_continue_on_failure_reports_but_lets_helm_go_on(run_cli: Run, cluster: Rig) -> None:
    cluster.nmstate.failing["worker-2"] = ROLLED_BACK
    result = run_cli("teardown", "--poll=0.1", "--continue-on-failure", api=cluster.api, plan=render_plan([SEED]))
    assert result.returncode == 0 and "worker-2: failed" in result.stdout


def test_upgrade_without_changes_sends_nothing(run_cli: Run, cluster: Rig) -> None:
    result = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED]))
    assert result.returncode == 0
    assert cluster.updates() == [] and "KEEP  vrfpolicy: nothing to remove" in result.stdout
    assert not [r for r in cluster.api.requests if r.method == "PUT" and r.path.startswith(POLICIES)]


def test_upgrade_to_a_new_table_removes_the_old_tables_route(run_cli: Run, cluster: Rig, tmp_path: Path) -> None:
    """The VRF moves to its new table in place (nmstate's NetworkManager backend takes it down
    and up again: nm/query_apply/apply.rs, is_vrf_table_id_changed); the old table's route goes."""
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 8\n")
    result = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 0, result.stdout
    with_removal, new_state = cluster.updates()
    old_route = policies([SEED])[0]["spec"]["desiredState"]["routes"]["config"][0]
    new = policies([SEED, new_table])[0]["spec"]["desiredState"]
    assert with_removal["spec"]["desiredState"] == {**new, "routes": {"config": [*new["routes"]["config"],
                                                                                {**old_route, "state": "absent"}]}}
    assert new_state["spec"]["desiredState"] == new
    for node in ("worker-0", "worker-1", "worker-2"):
        blue = policies([blue_site(tmp_path)], release="blue", namespace="blue")
        assert carried(cluster.nmstate, node) == declared_on(node, [SEED, new_table], also=blue), node


def test_after_a_prune_the_policy_belongs_again_to_whoever_applied_it(run_cli: Run, cluster: Rig,
                                                                     tmp_path: Path) -> None:
    """The removal made the hook the owner of the fields it changed; one more update, which
    changes nothing but managedFields, hands them back to Helm, whose server-side apply
    (Helm 4) would otherwise conflict with the hook on a later upgrade that changes them
    (test_prune_under_helm.py shows it on the real server)."""
    applied_by = cluster.policy()["metadata"]["managedFields"]
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 8\n")
    result = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 0, result.stdout
    sent = [r.body for r in cluster.api.requests if r.method == "PUT" and r.path.startswith(POLICY) and r.code == 200]
    removal_put, new_state_put, handback_put = sent
    # The first update sends the ownership as read (no reset); a 409 on the second (nmstate's
    # status write moved the resourceVersion) is sent again from a fresh read.
    assert removal_put["metadata"]["managedFields"] == applied_by
    assert handback_put["spec"] == new_state_put["spec"] == cluster.updates()[1]["spec"]
    assert spec_owners(handback_put) == spec_owners({"metadata": {"managedFields": applied_by}})
    stored = cluster.policy()
    assert spec_owners(stored) == spec_owners({"metadata": {"managedFields": applied_by}})
    assert stored["metadata"]["generation"] == 3 and len(cluster.updates()) == 2
    assert "WARN" not in result.stdout


def test_without_the_hand_back_the_hook_would_keep_the_fields_it_changed(cluster: Rig) -> None:
    """The real server's bookkeeping, which the test above relies on: an update that changes
    the desiredState makes its manager the owner of what it changed, taken from Helm."""
    body = cluster.policy()
    body["spec"]["desiredState"] = {"interfaces": []}
    cluster.api.client.call("PUT", f"{POLICY}?fieldManager=symrouting", body)
    owners = {e["manager"]: e["fieldsV1"] for e in spec_owners(cluster.policy())}
    assert "f:desiredState" in owners["symrouting"]["f:spec"]
    assert "f:desiredState" not in owners["helm"]["f:spec"]


def test_the_hand_back_retries_a_conflict(run_cli: Run, cluster: Rig, tmp_path: Path) -> None:
    """nmstate writes the policy's status between the hand-back's read and its update: a real
    409, read again, sent again."""
    once_at(cluster.api, "PUT", 3, lambda: status_write(cluster.api))
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 8\n")
    result = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 0 and "WARN" not in result.stdout, result.stdout
    requests = to_policy(cluster.api)
    # The hand-back: after the update that made generation 3 (the last accepted PUT but one).
    puts = [i for i, (method, code) in enumerate(requests) if method == "PUT" and code == 200]
    handback = requests[puts[-2] + 1:]
    assert handback[:3] == [("GET", 200), ("PUT", 409), ("GET", 200)] and handback[-1] == ("PUT", 200), requests
    assert spec_owners(cluster.policy())[0]["manager"] == "helm" and len(spec_owners(cluster.policy())) == 1


def test_a_hand_back_that_is_refused_is_a_warning_that_names_the_way_out(run_cli: Run, cluster: Rig,
                                                                         tmp_path: Path) -> None:
    once_at(cluster.api, "GET", 3, lambda: cluster.api.fail(POLICY, status=403, method="GET"))
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 8\n")
    result = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("WARN  vrfpolicy: field ownership not handed back (403 Forbidden: the cleanup may not get "
            "nodenetworkconfigurationpolicies.nmstate.io") in result.stdout
    assert "with Helm 4, run the upgrade with --force-conflicts" in result.stdout


def test_an_uninstall_hands_nothing_back(run_cli: Run, cluster: Rig) -> None:
    """Helm deletes the policies right after the teardown: their ownership no longer matters."""
    assert run_cli("teardown", "--poll=0.1", api=cluster.api, plan=render_plan([SEED])).returncode == 0
    assert [method for method, _ in to_policy(cluster.api)] == ["PUT"]


def test_upgrade_that_renames_the_vrf_removes_the_old_one(run_cli: Run, cluster: Rig, tmp_path: Path) -> None:
    renamed = renamed_site(tmp_path)
    result = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([renamed]))
    assert result.returncode == 0, result.stdout
    [update] = cluster.updates()
    old_state = policies([SEED])[0]["spec"]["desiredState"]
    blue_state = policies([blue_site(tmp_path)], release="blue", namespace="blue")[0]["spec"]["desiredState"]
    new_state = policies([renamed])[0]["spec"]["desiredState"]
    assert update["metadata"]["name"] == "vrfpolicy"
    # On its node the new VRF declares the same port, address and routes: only the old VRF goes.
    assert update["spec"]["desiredState"] == removal_state(old_state, new_state, declared([blue_state]))
    assert update["spec"]["desiredState"] == {"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"}]}


def test_an_upgrade_that_drops_the_last_vrf_takes_it_off_the_nodes(run_cli: Run, cluster: Rig,
                                                                  tmp_path: Path) -> None:
    """With no VRF left in the values the prune still renders and runs: Helm is about to delete
    the release's last policy, which would leave its VRF on the nodes."""
    no_vrf = override(tmp_path, "none", "vrfs:\n  ens4vrf: null\n")
    # rendered as the upgrade it is: an install with no VRF is refused (validate/_vrfs.tpl)
    result = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED, no_vrf], extra=("--is-upgrade",)))
    assert result.returncode == 0, result.stdout
    [update] = cluster.updates()
    assert update["metadata"]["name"] == "vrfpolicy"
    assert update["spec"]["desiredState"]["interfaces"][0] == {"name": "ens4vrf", "type": "vrf", "state": "absent"}
    assert "ens4vrf" not in carried(cluster.nmstate, "worker-0")["virtual"]


def test_other_releases_policies_are_never_touched(run_cli: Run, cluster: Rig) -> None:
    run_cli("teardown", "--poll=0.1", api=cluster.api, plan=render_plan([SEED]))
    assert {u["metadata"]["name"] for u in cluster.updates()} == {"vrfpolicy"}
    assert cluster.policy("blue-symmetric-routing-bluevrf")["metadata"]["generation"] == 1
    assert not [r for r in cluster.api.requests if "bluevrf" in r.path and r.method != "GET"]


def test_forbidden_update_names_the_permission(run_cli: Run, cluster: Rig) -> None:
    cluster.api.fail(POLICY, status=403, times=5)
    result = run_cli("teardown", "--poll=0.1", api=cluster.api, plan=render_plan([SEED]))
    assert result.returncode == 3
    assert ('403 Forbidden: the cleanup may not update nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy". '
            "Grant it in the cleanup ClusterRole") in result.stderr


def prune(run_cli: Run, real_api: RealApi, nmstate: NmstateHandler, installed: list[Path],
          new: list[Path]) -> tuple[str, list[dict[str, Any]]]:
    """Installs the policies `installed` renders (the builder's nodes), runs prune with the
    plan `new` renders, and returns its report and every policy update it sent."""
    rig = install(real_api, nmstate, policies(installed))
    result = run_cli("prune", "--poll=0.1", api=real_api, plan=render_plan(new))
    assert result.returncode == 0, result.stdout + result.stderr
    assert carried(nmstate, "worker-0") == declared_on("worker-0", new), "the node does not carry the new state"
    return result.stdout, rig.updates()


def added(sent: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What a kept policy's first update adds to its new state: its removals, by section."""
    return {"interfaces": [i for i in sent["interfaces"] if i not in new["interfaces"]],
            **{section: [e for e in sent[section]["config"] if e not in new[section]["config"]]
               for section in ("routes", "route-rules")}}


def new_state(files: list[Path]) -> dict[str, Any]:
    [policy] = policies(files)
    return dict(policy["spec"]["desiredState"])


Rigged = tuple[RealApi, NmstateHandler]


@pytest.fixture
def rigged(real_api: RealApi, nmstate: NmstateHandler) -> Rigged:
    return real_api, nmstate


def test_upgrade_that_drops_a_route_removes_just_that_route(run_cli: Run, rigged: Rigged, tmp_path: Path) -> None:
    def two_routes(values: dict[str, Any]) -> None:
        values["vrfs"]["ens4vrf"]["routes"].append({"destination": "10.99.0.0/16", "nextHopAddress": "192.168.130.254"})
    _, [update, last] = prune(run_cli, *rigged, [seed_with(tmp_path, "two-routes", two_routes)], [SEED])
    assert added(update["spec"]["desiredState"], new_state([SEED])) == {"interfaces": [], "route-rules": [], "routes": [
        {"destination": "10.99.0.0/16", "next-hop-address": "192.168.130.254", "next-hop-interface": "ens4",
         "table-id": 2, "state": "absent"}]}
    assert last["spec"]["desiredState"] == new_state([SEED])


def test_upgrade_that_moves_the_vrf_to_another_port_strips_the_old_one(run_cli: Run, rigged: Rigged,
                                                                      tmp_path: Path) -> None:
    def new_port(values: dict[str, Any]) -> None:
        values["vrfs"]["ens4vrf"]["ports"] = {"ens5": {"ipv4": ["192.168.130.130/24"]}}
    after = seed_with(tmp_path, "ens5", new_port)
    _, [update, _] = prune(run_cli, *rigged, [SEED], [after])
    # The old port keeps its link but loses the addresses the chart set; the route through it goes.
    assert added(update["spec"]["desiredState"], new_state([after])) == {
        "interfaces": [{"name": "ens4", "type": "ethernet", "state": "up", "ipv4": {"enabled": False}}],
        "routes": [{"destination": "0.0.0.0/0", "metric": 150, "next-hop-address": "192.168.130.1",
                    "next-hop-interface": "ens4", "table-id": 2, "state": "absent"}], "route-rules": []}


def test_upgrade_that_drops_a_cidr_removes_its_rule(run_cli: Run, rigged: Rigged, tmp_path: Path) -> None:
    def with_masquerade(values: dict[str, Any]) -> None:
        values["cluster"]["masqueradeSubnet"] = ["169.254.169.0/29"]
    _, [update, _] = prune(run_cli, *rigged, [seed_with(tmp_path, "masquerade", with_masquerade)], [SEED])
    assert added(update["spec"]["desiredState"], new_state([SEED])) == {"interfaces": [], "routes": [], "route-rules": [
        {"ip-to": "169.254.169.0/29", "priority": 998, "route-table": 254, "state": "absent"}]}


def test_upgrade_that_drops_a_whole_vrf_removes_it_and_keeps_the_other(run_cli: Run, rigged: Rigged,
                                                                       tmp_path: Path) -> None:
    def second_vrf(values: dict[str, Any]) -> None:
        values["vrfs"]["ens6vrf"] = {"tableId": 6, "ports": {"ens6": {"ipv4": ["192.168.160.2/24"]}},
                                     "policy": {"nodeSelector": {"vrf": "true"}}}
    report, [update] = prune(run_cli, *rigged, [seed_with(tmp_path, "two-vrfs", second_vrf)], [SEED])
    assert update["metadata"]["name"] == "tenant-a-symmetric-routing-ens6vrf"
    # The rules stay: the remaining VRF's policy declares the same ones.
    assert update["spec"]["desiredState"] == {"interfaces": [
        {"name": "ens6vrf", "type": "vrf", "state": "absent"},
        {"name": "ens6", "type": "ethernet", "state": "up", "ipv4": {"enabled": False}}]}
    assert "KEEP  vrfpolicy: nothing to remove" in report


@pytest.mark.parametrize("seed", sitegen.SEEDS[::2])
def test_teardown_of_a_generated_site_takes_off_everything_it_put_on(run_cli: Run, real_api: RealApi,
                                                                     nmstate: NmstateHandler, tmp_path: Path,
                                                                     seed: int) -> None:
    """On shapes the ci/ sites do not have (VLANs, bonds, dual stack, several ports; see
    tests/support/sitegen.py), the uninstall sends each policy a state that removes every
    interface the chart created, strips the addresses off every NIC, and sets every route and
    rule absent: no other tenant shares the rules here. Every node is left with nothing."""
    site = sitegen.generate_site(seed)
    values = sitegen.values_file(site, tmp_path / "site.yaml")
    rendered = policies([values])
    installed = {policy["metadata"]["name"]: policy["spec"]["desiredState"] for policy in rendered}
    rig = install(real_api, nmstate, rendered, [clusters.node(name, labels)
                                                for name, labels in sitegen.cluster_nodes(site).items()],
                  dict(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"]))
    result = run_cli("teardown", "--poll=0.1", api=real_api, plan=render_plan([values]))
    assert result.returncode == 0, f"seed {seed}:\n{result.stdout}{result.stderr}"
    sent = {update["metadata"]["name"]: update["spec"]["desiredState"] for update in rig.updates()}
    assert sorted(sent) == sorted(installed)
    for name, state in installed.items():
        removal = sent[name]
        removed = {(iface["name"], iface["type"]): iface for iface in removal["interfaces"]}
        for iface in state["interfaces"]:
            key = (iface["name"], iface["type"])
            if iface["type"] in ("vrf", "vlan", "bond"):
                assert removed[key]["state"] == "absent", (seed, name, key)
            elif "ipv4" in iface or "ipv6" in iface:
                # exactly the families the chart set on the port are switched off
                assert {f: removed[key].get(f) for f in ("ipv4", "ipv6")} == {
                    f: {"enabled": False} if f in iface else None for f in ("ipv4", "ipv6")}, (seed, name, key)
            else:
                assert key not in removed, f"bond member {key} is left as it was"
        for section in ("routes", "route-rules"):
            assert removal[section]["config"] == [{**entry, "state": "absent"} for entry in state[section]["config"]]
    for node in sitegen.cluster_nodes(site):
        assert {k: v for k, v in carried(nmstate, node).items() if k != "mtu"} == EMPTY, (seed, node)


# Between the two shapes of a VRF (one policy, or one per node of its `nodes` table), the
# prune takes a dropped policy's state off exactly the nodes that lose it: on every other
# node, what the new policies declare there stays (cleanup._per_node).

def one_node_site(tmp_path: Path) -> Path:
    """The seed's VRF on worker-0 alone, picked by hostname."""
    def change(values: dict[str, Any]) -> None:
        values["vrfs"]["ens4vrf"]["policy"]["nodeSelector"] = {"kubernetes.io/hostname": "worker-0"}
    return seed_with(tmp_path, "one-node", change)


def per_node_site(tmp_path: Path, nodes: list[str], selector: dict[str, str] | None = None) -> Path:
    """The seed's VRF with a nodes table: worker-<i> gets 192.168.130.13<i>."""
    def change(values: dict[str, Any]) -> None:
        vrf = values["vrfs"]["ens4vrf"]
        vrf["ports"]["ens4"] = {}
        vrf["policy"]["nodeSelector"] = selector if selector is not None else {}
        vrf["nodes"] = {node: {"ens4": f"192.168.130.13{node[-1]}/24"} for node in nodes}
    return seed_with(tmp_path, "per-node-" + "-".join(nodes), change)


@dataclass
class Upgraded:
    result: subprocess.CompletedProcess[str]
    rig: Rig
    # What each node carried between the prune and Helm's upgrade.
    between: dict[str, dict[str, Any]]


def upgrade(real_api: RealApi, nmstate: NmstateHandler, run_cli: Run, before: Path, after: Path,
            vrf_nodes: int = 3) -> Upgraded:
    """Installs `before` on three nodes (the first vrf_nodes labelled vrf=true), runs the prune
    for `after` as the pre-upgrade hook does, then plays Helm 4's upgrade: `after`'s policies
    applied, the ones it no longer renders deleted, and nmstate applies them."""
    rig = install(real_api, nmstate, policies([before]), three_nodes(vrf_nodes))
    result = run_cli("prune", "--poll=0.1", api=real_api, plan=render_plan([after]))
    rig.settle()
    between = {node: copy.deepcopy(state.managed()) for node, state in nmstate.nodes.items()}
    new = policies([after])
    for policy in new:
        helm_apply(real_api, policy)
    for name in set(rig.before) - {p["metadata"]["name"] for p in new}:
        real_api.client.call("DELETE", f"{POLICIES}/{name}")
    rig.settle()
    return Upgraded(result, rig, between)


EMPTY: dict[str, Any] = {"virtual": {}, "addresses": {}, "routes": set(), "rules": set()}


def declared_on(node: str, files: list[Path], also: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What a node carries when only these values' policies (and `also`) were ever applied to it."""
    labels = {"kubernetes.io/hostname": node, "vrf": "true"}
    states = [p["spec"]["desiredState"] for p in [*(also or []), *policies(files)]
              if all(labels.get(k) == v for k, v in (p["spec"].get("nodeSelector") or {}).items())]
    return node_after(*states).managed()


def carried(nmstate: NmstateHandler, node: str) -> dict[str, Any]:
    return nmstate.nodes.get(node, Node()).managed()


def test_a_vrf_that_grows_from_one_node_to_three_stays_on_the_first(real_api: RealApi, nmstate: NmstateHandler,
                                                                     run_cli: Run, tmp_path: Path) -> None:
    after = per_node_site(tmp_path, ["worker-0", "worker-1", "worker-2"])
    done = upgrade(real_api, nmstate, run_cli, one_node_site(tmp_path), after)
    assert done.result.returncode == 0, done.result.stdout
    assert "KEEP  vrfpolicy: nothing to remove" in done.result.stdout
    assert done.rig.updates() == []  # worker-0 keeps its VRF: nothing was taken off it
    for node in ("worker-0", "worker-1", "worker-2"):
        assert carried(nmstate, node) == declared_on(node, [after]), node


def test_a_shared_address_on_three_nodes_moves_to_a_table_of_two(real_api: RealApi, nmstate: NmstateHandler,
                                                                  run_cli: Run, tmp_path: Path) -> None:
    """The shape the preflight now refuses (one address on every vrf=true node), mended by an
    upgrade: worker-2, left out of the table, loses the VRF; the two others keep it."""
    after = per_node_site(tmp_path, ["worker-0", "worker-1"], {"vrf": "true"})
    done = upgrade(real_api, nmstate, run_cli, SEED, after)
    assert done.result.returncode == 0, done.result.stdout
    [update] = done.rig.updates()
    assert update["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "worker-2"}
    assert ("DONE  vrfpolicy: ens4vrf absent; addresses off ens4; 1 route(s) absent; 2 rule(s) absent, on worker-2 only; "
            "applied on 1/1 node(s)") in done.result.stdout
    assert carried(nmstate, "worker-2") == EMPTY
    for node in ("worker-0", "worker-1"):
        assert carried(nmstate, node) == declared_on(node, [after]), node
        assert done.between[node] == declared_on(node, [SEED]), f"{node} lost its VRF during the upgrade"


def test_an_uninstall_keeps_the_rules_only_where_a_neighbour_declares_them(real_api: RealApi, nmstate: NmstateHandler,
                                                                            run_cli: Run, tmp_path: Path) -> None:
    """Tenant blue, on worker-0 only, declares the same main-table rules: they stay there and
    go from the two other nodes."""
    blue = policies([blue_site(tmp_path)], release="blue", namespace="blue")
    blue[0]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "worker-0"}
    install(real_api, nmstate, policies([SEED]) + blue, three_nodes())
    result = run_cli("teardown", "--poll=0.1", api=real_api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout
    assert carried(nmstate, "worker-0")["rules"] == declared_on("worker-0", [blue_site(tmp_path)])["rules"] != set()
    for node in ("worker-1", "worker-2"):
        assert carried(nmstate, node) == EMPTY, node


def test_a_node_taken_out_of_the_table_loses_the_vrf_alone(real_api: RealApi, nmstate: NmstateHandler,
                                                           run_cli: Run, tmp_path: Path) -> None:
    before = per_node_site(tmp_path, ["worker-0", "worker-1", "worker-2"])
    after = per_node_site(tmp_path, ["worker-0", "worker-1"])
    done = upgrade(real_api, nmstate, run_cli, before, after)
    assert done.result.returncode == 0, done.result.stdout
    assert [u["metadata"]["name"] for u in done.rig.updates()] == [node_policy("vrfpolicy", "worker-2")]
    assert carried(nmstate, "worker-2") == EMPTY
    for node in ("worker-0", "worker-1"):
        assert carried(nmstate, node) == declared_on(node, [after]), node


def test_a_table_of_three_back_to_one_policy_on_one_node(real_api: RealApi, nmstate: NmstateHandler,
                                                         run_cli: Run, tmp_path: Path) -> None:
    after = one_node_site(tmp_path)
    done = upgrade(real_api, nmstate, run_cli, per_node_site(tmp_path, ["worker-0", "worker-1", "worker-2"]), after)
    assert done.result.returncode == 0, done.result.stdout
    assert sorted(u["metadata"]["name"] for u in done.rig.updates()) == [node_policy("vrfpolicy", "worker-1"),
                                                                      node_policy("vrfpolicy", "worker-2")]
    for node in ("worker-0", "worker-1", "worker-2"):
        assert carried(nmstate, node) == declared_on(node, [after]), node


def test_a_per_node_policy_whose_node_lacks_the_vrf_labels_is_left_alone() -> None:
    """nmstate applies a policy only where its whole nodeSelector matches: worker-1 has the
    hostname the policy names but not vrf=true, so nothing of it is there to take off."""
    plan = parse_plan(json.loads(render_plan([SEED])))
    dropped = {"metadata": {"name": node_policy("vrfpolicy", "worker-1"), "labels": {"app.kubernetes.io/instance": helm.RELEASE,
                                                                     "symmetric-routing/release-namespace": helm.NAMESPACE}},
               "spec": {"nodeSelector": {"kubernetes.io/hostname": "worker-1", "vrf": "true"},
                        "desiredState": policies([SEED])[0]["spec"]["desiredState"]}}
    nodes = [("worker-0", {"kubernetes.io/hostname": "worker-0", "vrf": "true"}),
             ("worker-1", {"kubernetes.io/hostname": "worker-1"})]
    [(_, steps)] = [item for item in plan_removals(plan, [dropped], False, nodes)
                    if item[0]["metadata"]["name"] == node_policy("vrfpolicy", "worker-1")]
    assert steps == []


def test_policy_names_are_grouped_into_selectors_short_enough_for_a_url() -> None:
    names = [f"tenant-with-a-long-name-symmetric-routing-pay-worker-{i:03d}.example.com" for i in range(100)]
    groups = _chunks(names)
    assert len(groups) > 1 and [name for group in groups for name in group] == names
    assert all(len(",".join(group)) <= 1500 for group in groups)


def test_a_teardown_of_many_per_node_policies_waits_for_every_group(real_api: RealApi, nmstate: NmstateHandler,
                                                                    run_cli: Run, tmp_path: Path) -> None:
    """More policies than one `in (...)` selector holds: every group's enactments are read."""
    nodes = [f"worker-{i:02d}.rack-a.example.com" for i in range(40)]

    def change(values: dict[str, Any]) -> None:
        vrf = values["vrfs"]["ens4vrf"]
        vrf["ports"]["ens4"] = {}
        vrf["policy"] = {"name": "symmetric-routing-payments-uplink", "nodeSelector": {}}
        vrf["nodes"] = {node: {"ens4": f"192.168.130.{100 + i}/24"} for i, node in enumerate(nodes)}
    site = seed_with(tmp_path, "many", change)
    install(real_api, nmstate, policies([site]), [clusters.node(node, {}) for node in nodes])
    result = run_cli("teardown", "--poll=0.1", "--timeout=60", api=real_api, plan=render_plan([site]))
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("DONE  symmetric-routing-payments-uplink-worker-") == 40
    # The first look reads a few groups, not one list per policy; each policy in one group.
    groups: list[list[str]] = []
    for request in real_api.requests:
        if request.path.startswith(ENACTMENTS + "?labelSelector=") and sum(map(len, groups)) < len(nodes):
            selector = urllib.parse.unquote(request.path.split("labelSelector=", 1)[1])
            groups.append(selector.split("(", 1)[1].split(")", 1)[0].split(","))
    assert 1 < len(groups) < len(nodes), groups
    assert sorted(name for group in groups for name in group) == sorted(p["metadata"]["name"] for p in policies([site]))
    for node in nodes:
        assert carried(nmstate, node) == EMPTY, node


# What other policies declare is never taken off a node: another tenant's bond under its own
# VLAN, a port another VRF of the release takes over; a neighbour in the middle of its own
# prune counts with its new state; a release is its namespace and its name.

def bond_site(tmp_path: Path, name: str, vrf: str, table: int, vlan: int, subnet: int) -> Path:
    """A VRF on a VLAN of bond0, which policy.extraInterfaces creates, as each tenant of a
    shared bond writes it."""
    def change(values: dict[str, Any]) -> None:
        values["vrfs"] = {vrf: {
            "tableId": table, "policy": {"nodeSelector": {"vrf": "true"}, "extraInterfaces": [
                {"name": "bond0", "type": "bond", "state": "up",
                 "link-aggregation": {"mode": "active-backup", "port": ["ens1f0", "ens1f1"]}}]},
            "ports": {f"bond0.{vlan}": {"type": "vlan", "vlan": {"baseInterface": "bond0", "id": vlan},
                                         "ipv4": [f"192.168.{subnet}.2/24"]}},
            "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": f"192.168.{subnet}.1"}]}}
    return seed_with(tmp_path, name, change)


def test_a_teardown_leaves_the_bond_another_tenant_still_runs_a_vlan_on(run_cli: Run, real_api: RealApi,
                                                                         nmstate: NmstateHandler, tmp_path: Path) -> None:
    mine, theirs = bond_site(tmp_path, "mine", "redvrf", 5, 101, 150), bond_site(tmp_path, "theirs", "bluevrf", 6, 102, 160)
    blue = policies([theirs], release="blue", namespace="blue")
    rig = install(real_api, nmstate, policies([mine]) + blue, [clusters.node("worker-0", {"vrf": "true"})])
    result = run_cli("teardown", "--poll=0.1", api=real_api, plan=render_plan([mine]))
    assert result.returncode == 0, result.stdout
    [update] = rig.updates()
    assert [i["name"] for i in update["spec"]["desiredState"]["interfaces"]] == ["redvrf", "bond0.101"]
    assert carried(nmstate, "worker-0") == node_after(blue[0]["spec"]["desiredState"]).managed()


def test_a_port_another_vrf_of_the_release_takes_over_keeps_its_addresses(tmp_path: Path) -> None:
    """ens5 moves from VRF a (kept, now on ens6) to VRF b: a's update must not switch it off."""
    def vrfs(a_ports: dict[str, Any], b_ports: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        def change(values: dict[str, Any]) -> None:
            values["vrfs"] = {name: {"tableId": table, "policy": {"nodeSelector": {"vrf": "true"}}, "ports": ports}
                              for name, table, ports in (("avrf", 11, a_ports), ("bvrf", 12, b_ports))}
        return change
    before = seed_with(tmp_path, "before", vrfs({"ens5": {"ipv4": ["192.168.150.2/24"]}}, {"ens7": {"ipv4": ["192.168.170.2/24"]}}))
    after = seed_with(tmp_path, "after", vrfs({"ens6": {"ipv4": ["192.168.160.2/24"]}},
                                              {"ens5": {"ipv4": ["192.168.150.2/24"]}, "ens7": {"ipv4": ["192.168.170.2/24"]}}))
    plan = parse_plan(json.loads(render_plan([after])))
    node = [("worker-0", {"kubernetes.io/hostname": "worker-0", "vrf": "true"})]
    steps = {p["metadata"]["name"]: s for p, s in plan_removals(plan, policies([before]), False, node)}
    # Nothing to remove: a's one update is its new state, which moves the VRF to ens6.
    [step] = steps["tenant-a-symmetric-routing-avrf"]
    assert step.removal == {} and step.desired_state == policies([after])[0]["spec"]["desiredState"]
    [b_step] = steps["tenant-a-symmetric-routing-bvrf"]
    assert b_step.removal == {}


def mid_prune(policy: dict[str, Any]) -> dict[str, Any]:
    """Blue's policy while its own prune runs: its new state (no route), the route absent."""
    state = copy.deepcopy(policy["spec"]["desiredState"])
    [route] = state["routes"]["config"]
    state["routes"]["config"] = [{**route, "state": "absent"}]
    return {**policy, "spec": {**policy["spec"], "desiredState": state}}


def test_a_neighbour_in_the_middle_of_its_prune_keeps_the_shared_rules(run_cli: Run, real_api: RealApi,
                                                                        nmstate: NmstateHandler, tmp_path: Path) -> None:
    def blue_route(values: dict[str, Any]) -> None:
        values["vrfs"] = {"bluevrf": {"tableId": 3, "policy": {"nodeSelector": {"vrf": "true"}},
                                      "ports": {"ens5": {"ipv4": ["192.168.140.2/24"]}},
                                      "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": "192.168.140.1"}]}}
    [blue] = policies([seed_with(tmp_path, "blue-route", blue_route)], release="blue", namespace="blue")
    rig = install(real_api, nmstate, policies([SEED]) + [mid_prune(blue)], [clusters.node("worker-0", {"vrf": "true"})])
    result = run_cli("teardown", "--poll=0.1", api=real_api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout
    [update] = rig.updates()
    assert "route-rules" not in update["spec"]["desiredState"]
    assert carried(nmstate, "worker-0")["rules"] == node_after(blue["spec"]["desiredState"]).managed()["rules"] != set()


@pytest.mark.parametrize("neighbour", ["torn down", "being deleted"])
def test_the_last_two_tenants_one_after_the_other_leave_no_rule(run_cli: Run, real_api: RealApi, nmstate: NmstateHandler,
                                                                tmp_path: Path, neighbour: str) -> None:
    """Blue's teardown ran first (its policy holds only removals) or Helm is deleting its
    policy (a finalizer holds it: it has a deletionTimestamp): it declares nothing any more,
    so this teardown takes the shared rules."""
    [blue] = policies([blue_site(tmp_path)], release="blue", namespace="blue")
    blue_path = f"{POLICIES}/{blue['metadata']['name']}"
    if neighbour == "torn down":
        blue["spec"]["desiredState"] = removal_state(blue["spec"]["desiredState"], None)
    else:
        blue["metadata"]["finalizers"] = ["example.com/held-by-test"]
    rig = install(real_api, nmstate, policies([SEED]) + [blue], [clusters.node("worker-0", {"vrf": "true"})])
    try:
        if neighbour == "being deleted":
            real_api.client.call("DELETE", blue_path)
            assert rig.policy(blue["metadata"]["name"])["metadata"]["deletionTimestamp"]
            rig.settle()
            real_api.proxy.clear()
        assert run_cli("teardown", "--poll=0.1", api=real_api, plan=render_plan([SEED])).returncode == 0
        [update] = rig.updates()
        assert [r["state"] for r in update["spec"]["desiredState"]["route-rules"]["config"]] == ["absent", "absent"]
        assert carried(nmstate, "worker-0")["rules"] == set()
    finally:
        if neighbour == "being deleted":
            real_api.client.call("PATCH", blue_path, {"metadata": {"finalizers": None}},
                                 content_type="application/merge-patch+json")


def owned_by(policy: dict[str, Any], namespace: str, release: str, *, labels: bool = True) -> dict[str, Any]:
    """A policy as the release namespace/release made it: with the chart's labels (Helm or
    Argo CD), or with Helm's annotations alone (an object the chart's labels do not mark)."""
    meta = copy.deepcopy(policy["metadata"])
    if labels:
        meta["labels"].update({"app.kubernetes.io/instance": release, "symmetric-routing/release-namespace": namespace})
    else:
        meta["labels"] = {}
        meta["annotations"] = {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace}
    return {**policy, "metadata": meta}


@pytest.mark.parametrize("labels", [True, False])
def test_a_release_of_the_same_name_in_another_namespace_is_not_ours(labels: bool) -> None:
    """test/tenant-a's teardown sends nothing to prod/tenant-a's policy, and counts what it
    declares as a neighbour's (gather.owner_of reads the release-namespace label, or Helm's
    meta.helm.sh/release-namespace annotation)."""
    plan = parse_plan(json.loads(render_plan([SEED], namespace="test")))
    [seed] = policies([SEED], namespace="test")
    ours = owned_by(seed, "test", helm.RELEASE, labels=labels)
    theirs = owned_by({**seed, "metadata": {**seed["metadata"], "name": "vrfpolicy-prod"}}, "prod", helm.RELEASE, labels=labels)
    node = [("worker-0", {"kubernetes.io/hostname": "worker-0", "vrf": "true"})]
    assert [(p["metadata"]["name"], s) for p, s in plan_removals(plan, [ours, theirs], True, node)] == [("vrfpolicy", [])]
    [(policy, [step])] = plan_removals(plan, [ours], True, node)
    assert policy["metadata"]["name"] == "vrfpolicy" and step.removal["interfaces"][0]["state"] == "absent"


def test_a_rerun_after_a_failed_node_sends_the_removals_again_and_names_it(run_cli: Run, cluster: Rig) -> None:
    """The policy already holds the removals: they are what the rerun sends, and the node that
    failed them is reported again, not a teardown with nothing to remove."""
    cluster.nmstate.failing["worker-2"] = ROLLED_BACK
    first = run_cli("teardown", "--poll=0.1", api=cluster.api, plan=render_plan([SEED]))
    assert first.returncode == 1
    again = run_cli("teardown", "--poll=0.1", api=cluster.api, plan=render_plan([SEED]))
    assert again.returncode == 1, again.stdout
    assert "FAIL  vrfpolicy: ens4vrf absent; addresses off ens4; 1 route(s) absent; applied on 2/3 node(s)" in again.stdout
    assert "worker-2: failed" in again.stdout
    puts = [r.body for r in cluster.api.requests if r.method == "PUT" and r.path.startswith(POLICY) and r.code == 200]
    assert puts[0]["spec"] == puts[1]["spec"]


def test_a_kept_policy_drops_a_rule_node_by_node_where_a_neighbour_declares_it_on_one(
        run_cli: Run, real_api: RealApi, nmstate: NmstateHandler, tmp_path: Path) -> None:
    """Blue, on worker-0 only, declares the masquerade rule this release drops: worker-0 keeps
    it, the others lose it, each by an update narrowed to its node; the last update gives
    the policy back its own nodeSelector and exactly its new state."""
    def with_masquerade(values: dict[str, Any]) -> None:
        values["cluster"]["masqueradeSubnet"] = ["169.254.169.0/29"]
    before = seed_with(tmp_path, "masquerade", with_masquerade)
    blue = policies([seed_with(tmp_path, "blue-masquerade", lambda v: (blue_values(v), with_masquerade(v)))],
                    release="blue", namespace="blue")
    blue[0]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "worker-0"}
    rig = install(real_api, nmstate, policies([before]) + blue, three_nodes())
    result = run_cli("prune", "--poll=0.1", api=real_api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout
    updates = rig.updates()
    assert [u["spec"]["nodeSelector"] for u in updates] == [
        {"kubernetes.io/hostname": "worker-1"}, {"kubernetes.io/hostname": "worker-2"}, {"vrf": "true"}]
    assert updates[-1]["spec"]["desiredState"] == policies([SEED])[0]["spec"]["desiredState"]
    assert "DONE  vrfpolicy: node by node, what each node loses (2 updates), then its new state alone; " \
           "applied on 3/3 node(s)" in result.stdout
    def masquerade_rule(node: str) -> bool:
        return any(dict(rule)["ip-to"] == "169.254.169.0/29" for rule in carried(nmstate, node)["rules"])
    assert [masquerade_rule(node) for node in ("worker-0", "worker-1", "worker-2")] == [True, False, False]
    for node in ("worker-1", "worker-2"):
        assert carried(nmstate, node) == declared_on(node, [SEED]), node


def test_a_prune_whose_removal_fails_on_a_node_keeps_it_in_the_policy(run_cli: Run, cluster: Rig,
                                                                      tmp_path: Path) -> None:
    """worker-2 fails the update that carries the old table's route removal: the prune stops
    there and the policy keeps the removal, so that a rerun sends it again. Sending the new
    state alone next would drop it from the policy, and nmstate would never retry it
    (kubernetes-nmstate applies a policy's desiredState as it stands: pkg/client/client.go,
    ApplyDesiredState)."""
    cluster.nmstate.failing["worker-2"] = ROLLED_BACK
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 8\n")
    result = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 1, result.stdout
    assert "worker-2: failed" in result.stdout
    # Every write to the policy (the update, then the hand-back of field ownership) holds the removal.
    sent = [r.body["spec"]["desiredState"] for r in cluster.api.requests if r.method == "PUT" and r.path.startswith(POLICY)]
    old_route = policies([SEED])[0]["spec"]["desiredState"]["routes"]["config"][0]
    assert sent and all(state == sent[0] for state in sent)
    assert {**old_route, "state": "absent"} in sent[0]["routes"]["config"]
    assert cluster.policy()["spec"]["desiredState"] == sent[0]
    # nmstate rolled worker-2 back: it still has the old table's route.
    assert dict(cluster.nmstate.nodes["worker-2"].interfaces["ens4vrf"])["table"] == 2


def enactment_at(api: RealApi, node: str, policy: str, generation: int) -> None:
    """The node's enactment of the policy, reporting the generation applied, as nmstate's
    handler writes it (its status through the subresource)."""
    name = f"{node}.{policy}"
    api.client.call("POST", ENACTMENTS, {
        "apiVersion": "nmstate.io/v1beta1", "kind": "NodeNetworkConfigurationEnactment",
        "metadata": {"name": name, "labels": {"nmstate.io/policy": policy, "nmstate.io/node": node}}})
    api.client.call("PATCH", f"{ENACTMENTS}/{name}/status",
                    {"status": {"policyGeneration": generation, "conditions": conditions("apply", "successfully reconciled")}},
                    content_type="application/merge-patch+json")


def test_a_per_node_step_waits_for_its_own_node_only(real_api: RealApi) -> None:
    """A step narrowed to worker-0 by kubernetes.io/hostname: worker-1's enactment of the same
    policy (an older generation, which nmstate has not deleted yet: kubernetes-nmstate's
    Reconcile drops an unselected node's enactment on its own time) must not hold it back."""
    from symrouting.cleanup import Outcome, Step, _wait

    step = Step({"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"}]}, ("worker-0",),
                {"kubernetes.io/hostname": "worker-0"})
    outcome = Outcome("vrfpolicy", [step], generation=2)
    enactment_at(real_api, "worker-0", "vrfpolicy", 2)
    enactment_at(real_api, "worker-1", "vrfpolicy", 1)
    transport = HttpsTransport(real_api.url, real_api.token, real_api.ca_file, timeout=2.0, deadline_seconds=5.0)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    [(_, progress)] = _wait(transport, [(outcome, step)], 30.0, 1.0, lambda: now[0], sleep, [])
    assert (progress.applied, progress.pending, now[0]) == (["worker-0"], [], 0.0)



def test_the_looks_at_a_pending_node_start_quick_and_slow_down_to_the_poll(real_api: RealApi) -> None:
    """worker-0 never reports the sent generation: the waits between looks are 0.25 s, then
    twice as long each time up to --poll, and the last one ends at the deadline."""
    from symrouting.cleanup import Outcome, Step, _wait

    step = Step({"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"}]}, ("worker-0",),
                {"kubernetes.io/hostname": "worker-0"})
    outcome = Outcome("slowpolicy", [step], generation=2)
    enactment_at(real_api, "worker-0", "slowpolicy", 1)
    transport = HttpsTransport(real_api.url, real_api.token, real_api.ca_file, timeout=2.0, deadline_seconds=5.0)
    now, sleeps = [0.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    [(_, progress)] = _wait(transport, [(outcome, step)], 5.0, 2.0, lambda: now[0], sleep, [])
    assert progress.pending == ["worker-0"]
    assert sleeps == [0.25, 0.5, 1.0, 2.0, 1.25]

def test_a_prune_rerun_after_a_failed_node_fails_naming_it(run_cli: Run, cluster: Rig, tmp_path: Path) -> None:
    """worker-2 applies the removal but fails the prune's last update (the new state alone).
    The rerun finds the policy holding exactly its new state, nothing to send; nmstate's
    enactment on worker-2 still reports that generation Failing, so the rerun fails too,
    naming worker-2 and nmstate's message, as the wait hook does (wait.py, whose per-policy
    step it shares: cleanup.applied_step)."""
    once_at(cluster.api, "PUT", 2, lambda: cluster.nmstate.failing.update({"worker-2": ROLLED_BACK}))
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 8\n")
    first = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED, new_table]))
    assert first.returncode == 1, first.stdout
    assert "worker-2: failed" in first.stdout
    updates = len(cluster.updates())
    again = run_cli("prune", "--poll=0.1", api=cluster.api, plan=render_plan([SEED, new_table]))
    assert again.returncode == 1, again.stdout
    assert len(cluster.updates()) == updates == 2, "the rerun sent an update"
    assert "FAIL  vrfpolicy: nothing to send, but generation 3 (already sent) is not applied; applied on 2/3 node(s)" \
        in again.stdout, again.stdout
    assert ("worker-2: failed: error reconciling NodeNetworkConfigurationPolicy on node worker-2: "
            f"{ROLLED_BACK}") in again.stdout, again.stdout
