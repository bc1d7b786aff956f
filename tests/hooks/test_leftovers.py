"""Leftovers on the nodes (hooks/symrouting/leftovers.py), on the real API server with
kubernetes-nmstate's handler over the node model (tests/support/nmstatehandler.py): a release
uninstalled with --no-hooks leaves its VRF, route and rules on the nodes (deleting a policy
undoes nothing, kubernetes-nmstate); the next install's preflight warns or fails, `symrouting
status` lists them per node, and `symrouting leftovers --remove` takes exactly them off with
one-shot policies, never touching what another policy declares."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symrouting import commands, gather, leftovers
from symrouting.api import HttpsTransport
from tests.hooks.conftest import render_plan
from tests.hooks.test_cleanup import SEED, blue_site, per_node_site, policies, seed_with
from tests.support import clusters, nmstatecheck
from tests.support.nmstatehandler import POLICIES, STATES, NmstateHandler
from tests.support.nodestate import node_after
from tests.support.realapi import RealApi

Run = Callable[..., subprocess.CompletedProcess[str]]
NODES = ("worker-0", "worker-1", "worker-2")
CLUSTER: dict[str, Any] = dict(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"])


Left = tuple[RealApi, NmstateHandler, Path]


@pytest.fixture
def left(real_api: RealApi, nmstate: NmstateHandler, tmp_path: Path) -> Left:
    """Tenant blue installed; the seed release installed, then uninstalled with --no-hooks:
    its policy deleted, which undoes nothing on the nodes (kubernetes-nmstate only drops the
    policy's enactments)."""
    real_api.load(clusters.openshift(**CLUSTER, nodes=[clusters.node(n, {"vrf": "true"}) for n in NODES]))
    blue = blue_site(tmp_path)
    for policy in policies([blue], release="blue", namespace="blue") + policies([SEED]):
        real_api.client.call("POST", f"{POLICIES}?fieldManager=helm", policy)
    nmstate.settle()
    real_api.client.call("DELETE", f"{POLICIES}/vrfpolicy")
    nmstate.settle()
    assert not nmstate.errors, nmstate.errors
    real_api.proxy.clear()
    return real_api, nmstate, blue


SEED_LEFT = "VRF ens4vrf (table 2), ipv4 addresses on ens4, route 0.0.0.0/0 via 192.168.130.1 dev ens4 in table 2"


def test_the_pure_core_finds_what_no_policy_on_the_node_declares() -> None:
    """A VRF, a route in a VRF table and rules that the node's policies do not declare; the
    main table's routes are the node's own."""
    seed = policies([SEED])[0]["spec"]["desiredState"]
    node = node_after(seed)
    current = {"interfaces": [{"name": "ens4vrf", "type": "vrf", "vrf": {"route-table-id": 2}},
                              {"name": "ens3", "type": "ethernet"}],
               "routes": {"config": [dict(r) for r in node.routes] + [
                   {"destination": "0.0.0.0/0", "next-hop-address": "192.168.1.1", "table-id": 254}]},
               "route-rules": {"config": [dict(r) for r in node.rules]}}
    found = leftovers.find({"worker-0": current}, [], {})
    assert sorted((item.kind, item.table) for item in found) == [("route", 2), ("rule", 254), ("rule", 254), ("vrf", 2)]
    declared = leftovers.find({"worker-0": current}, [({"vrf": "true"}, seed)], {"worker-0": {"vrf": "true"}})
    assert declared == []
    elsewhere = leftovers.find({"worker-0": current}, [({"vrf": "true"}, seed)], {"worker-0": {}})
    assert len(elsewhere) == 4, "a policy that does not select the node declares nothing there"
    # A per-node policy (selected by kubernetes.io/hostname, templates/_model.tpl) counts on
    # its own node only, also when its node's labels were not read (the name stands for them).
    own = [({"kubernetes.io/hostname": "worker-0", "vrf": "true"}, seed)]
    both = {"worker-0": current, "worker-1": current}
    labelled = {"worker-0": {"kubernetes.io/hostname": "worker-0", "vrf": "true"},
                "worker-1": {"kubernetes.io/hostname": "worker-1", "vrf": "true"}}
    assert {item.node for item in leftovers.find(both, own, labelled)} == {"worker-1"}
    unread = [({"kubernetes.io/hostname": "worker-0"}, seed)]
    assert {item.node for item in leftovers.find(both, unread, {})} == {"worker-1"}


def test_a_policy_the_checks_cannot_read_still_declares_its_state_for_the_leftovers() -> None:
    """The preflight's one list of the policies: a VRF without its table is named malformed
    (the checks leave it out) but what the policy declares still counts on its nodes; a policy
    being deleted declares nothing."""
    state = {"interfaces": [{"name": "x", "type": "vrf", "vrf": {}}],
             "route-rules": {"config": [{"ip-to": "10.0.0.0/8", "route-table": 254}]}}
    item = {"metadata": {"name": "broken"}, "spec": {"nodeSelector": {"vrf": "true"}, "desiredState": state}}
    assert gather._policy_read(item) == ("broken", ({"vrf": "true"}, state))
    current = {"route-rules": {"config": [{"ip-to": "10.0.0.0/8", "route-table": 254}]}}
    labels = {"worker-0": {"vrf": "true"}}
    assert leftovers.find({"worker-0": current}, [({"vrf": "true"}, state)], labels) == []
    deleting = {**item, "metadata": {"name": "broken", "deletionTimestamp": "2026-12-06T12:00:00Z"}}
    assert gather._policy_read(deleting) == ("broken", None)


def test_a_node_state_of_an_unexpected_shape_is_read_as_far_as_it_goes() -> None:
    """What is no mapping is no entry, and a route whose table is no number is no route in a
    VRF table: the rest of the node's leftovers are still found."""
    current = {"interfaces": ["oops", {"name": "t6vrf", "type": "vrf", "vrf": {"route-table-id": 6}}],
               "routes": {"config": [1, {"destination": "0.0.0.0/0", "table-id": "main"},
                                     {"destination": "0.0.0.0/0", "next-hop-address": "10.0.0.1", "table-id": "6"}]},
               "route-rules": {"config": ["oops"]}}
    found = leftovers.find({"worker-0": current}, [], {})
    assert sorted((item.kind, item.table) for item in found) == [("route", 6), ("vrf", 6)]


def test_a_new_install_with_the_same_vrf_fails_its_preflight_naming_each_node(
        run_cli: Run, left: Left) -> None:
    api, _, _ = left
    result = run_cli("preflight", api=api, plan=render_plan([SEED]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"FAIL  leftovers +the nodes carry leftovers with this release's VRF name or table", result.stdout)
    for node in NODES:
        assert f"{node}: {SEED_LEFT}" in result.stdout
    assert "symrouting leftovers --remove" in result.stdout


def test_the_preflight_reads_the_policies_once_for_its_checks_and_the_leftovers(
        run_cli: Run, left: Left) -> None:
    """One list of the policies serves the VRF checks and the leftovers (which need this
    release's own too), and each group-version's discovery is read once for all its kinds:
    on 2,000 policies a second list was 8 more pages to decode."""
    api, _, _ = left
    api.proxy.clear()
    result = run_cli("preflight", api=api, plan=render_plan([SEED]))
    assert "FAIL  leftovers" in result.stdout, result.stdout + result.stderr
    reads = [r.path.split("?", 1)[0] for r in api.requests if r.method == "GET"]
    assert reads.count(POLICIES) == 1, reads
    discovery = [path for path in reads if re.fullmatch(r"/apis/[^/]+/[^/]+", path)]
    assert sorted(discovery) == sorted(set(discovery)), discovery


def test_a_release_of_other_names_and_tables_is_warned(run_cli: Run, left: Left,
                                                        tmp_path: Path) -> None:
    """The leftover rules go to the main table, which no VRF of the new release uses: a warning."""
    def green(values: dict[str, Any]) -> None:
        values["vrfs"] = {"greenvrf": {"tableId": 5, "policy": {"nodeSelector": {"vrf": "true"}},
                                       "ports": {"ens6": {"ipv4": ["192.168.150.2/24"]}}}}

    api, _, _ = left
    result = run_cli("preflight", api=api, plan=render_plan([seed_with(tmp_path, "green", green)]))
    assert re.search(r"WARN  leftovers +the nodes carry VRFs, routes or rules that no policy declares", result.stdout), \
        result.stdout
    assert f"worker-1: {SEED_LEFT}" in result.stdout


def test_status_lists_the_leftovers_per_node(run_cli: Run, left: Left) -> None:
    api, _, blue = left
    result = run_cli("status", api=api, plan=render_plan([blue], release="blue", namespace="blue"))
    tail = result.stdout.split("leftovers on the nodes (no policy declares them; `symrouting leftovers --remove` "
                               "takes them off):\n", 1)
    assert len(tail) == 2, result.stdout + result.stderr
    assert [line.split(":", 1)[0].strip() for line in tail[1].splitlines()] == list(NODES)
    assert all(SEED_LEFT in line for line in tail[1].splitlines())


@pytest.mark.parametrize("selected", ["by-selector", "per-node"])
def test_status_reads_the_node_states_and_the_nodes_once_for_its_table_and_the_leftovers(
        run_cli: Run, left: Left, tmp_path: Path, selected: str) -> None:
    """The NodeNetworkStates, the biggest list on a large cluster, serve the status rows and
    the leftovers in one read (status.observe), as do the nodes' labels: read for the
    leftovers also when every policy of the release names its node."""
    api, _, blue = left
    plan = (render_plan([blue], release="blue", namespace="blue") if selected == "by-selector" else
            render_plan([per_node_site(tmp_path, list(NODES))]))
    api.proxy.clear()
    result = run_cli("status", api=api, plan=plan)
    assert "leftovers on the nodes" in result.stdout, result.stdout + result.stderr
    reads = [r.path.split("?", 1)[0] for r in api.requests if r.method == "GET"]
    assert (reads.count(STATES), reads.count("/api/v1/nodes")) == (1, 1), reads


def test_a_policy_of_an_unexpected_shape_costs_the_status_no_node_row(run_cli: Run, left: Left) -> None:
    """desiredState is free-form to the API server: another release's policy whose interfaces
    are no mappings (nmstate refuses it on every node) leaves the release's node rows and the
    leftovers as they were."""
    api, nmstate, blue = left
    odd = {"interfaces": ["oops"], "routes": {"config": [1]}}
    assert nmstatecheck.refusal(odd), "the real nmstate refuses it, so no node carries it"
    api.client.call("POST", POLICIES, {
        "apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy", "metadata": {"name": "odd"},
        "spec": {"nodeSelector": {"vrf": "true"}, "desiredState": odd}})
    result = run_cli("status", api=api, plan=render_plan([blue], release="blue", namespace="blue"))
    assert "no NodeNetworkState for this node" not in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    tail = result.stdout.split("takes them off):\n", 1)
    assert len(tail) == 2 and all(SEED_LEFT in line for line in tail[1].splitlines()), result.stdout
    # the preflight names the policy malformed and still finds the seed's leftovers (exit 1, not 4)
    preflight = run_cli("preflight", api=api, plan=render_plan([SEED]))
    assert preflight.returncode == 1, preflight.stdout + preflight.stderr
    assert "nodenetworkconfigurationpolicies odd" in preflight.stdout and "FAIL  leftovers" in preflight.stdout
    # the cleanup reads what the odd policy declares on the nodes as nothing
    teardown = run_cli("teardown", api=api, plan=render_plan([blue], release="blue", namespace="blue"))
    assert teardown.returncode == 0, teardown.stdout + teardown.stderr


def test_a_per_node_release_whose_reader_may_not_list_nodes_only_loses_the_leftovers(
        run_cli: Run, left: Left, tmp_path: Path) -> None:
    """A release of per-node policies needs the nodes only for the leftovers: a refused list
    of nodes is said on the leftovers' line, not as a failing row of the release."""
    api, _, _ = left
    plan = render_plan([per_node_site(tmp_path, list(NODES))])
    as_json = json.loads(run_cli("status", "--json", api=api, plan=plan).stdout)
    api.fail("/api/v1/nodes", 403, times=10)
    result = run_cli("status", api=api, plan=plan)
    assert re.search(r"^leftovers: not checked: .*403", result.stdout, re.MULTILINE), result.stdout + result.stderr
    assert result.stdout.count("403") == 1, result.stdout
    assert json.loads(run_cli("status", "--json", api=api, plan=plan).stdout) == as_json


@pytest.mark.parametrize("refused", ["policies", "node states", "nodes"])
def test_status_says_why_the_leftovers_were_not_checked(run_cli: Run, left: Left, refused: str) -> None:
    """Every policy, the nodes' labels and the NodeNetworkStates are what the leftovers are
    read from: when the API refuses one, the status says so under its table."""
    api, _, blue = left
    path = {"policies": POLICIES, "node states": STATES, "nodes": "/api/v1/nodes"}[refused]
    # the release's own policies (a label selector) stay readable: only the cluster-wide list is refused
    api.fail(path, 403, times=10, when=lambda method, target, body: "labelSelector" not in target)
    result = run_cli("status", api=api, plan=render_plan([blue], release="blue", namespace="blue"))
    assert re.search(r"^leftovers: not checked: .*403", result.stdout, re.MULTILINE), result.stdout + result.stderr
    assert "leftovers on the nodes" not in result.stdout


def test_remove_takes_off_exactly_the_leftovers_and_deletes_its_policies(
        run_cli: Run, left: Left) -> None:
    """One one-shot policy per node, applied, then deleted; each node ends carrying exactly
    what blue's policy declares, whose policy is never written; a second look finds none."""
    api, nmstate, blue = left
    blue_policy = policies([blue], release="blue", namespace="blue")[0]
    listed = run_cli("leftovers", api=api)
    assert listed.returncode == 1 and "`symrouting leftovers --remove` takes them off" in listed.stdout
    removed = run_cli("leftovers", "--remove", "--poll=0.1", api=api)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    nmstate.settle()
    assert not nmstate.errors, nmstate.errors
    for node in NODES:
        assert f"REMOVED {node}: {SEED_LEFT}" in removed.stdout
        assert nmstate.nodes[node].managed() == node_after(blue_policy["spec"]["desiredState"]).managed(), node
    created = [r for r in api.requests if r.method == "POST" and r.path.startswith(POLICIES)]
    deleted = [r for r in api.requests if r.method == "DELETE"]
    assert len(created) == len(deleted) == 3
    assert [p["metadata"]["name"] for p in api.client.items(POLICIES)] == [blue_policy["metadata"]["name"]]
    assert not [r for r in api.requests if r.method in ("PUT", "PATCH")], "no policy of anyone was updated"
    for request in created:
        state = request.body["spec"]["desiredState"]
        assert all(entry.get("state") == "absent" for section in ("routes", "route-rules")
                   for entry in (state.get(section) or {}).get("config") or [])
        assert [(i["name"], i["state"], i.get("ipv4")) for i in state["interfaces"]] == [
            ("ens4vrf", "absent", None), ("ens4", "up", {"enabled": False})]
    again = run_cli("leftovers", api=api)
    assert again.returncode == 0 and again.stdout.startswith("no leftovers"), again.stdout
    assert len(api.client.items(STATES)) == 3


def test_remove_looks_at_a_node_that_never_reports_quick_then_slower_up_to_the_poll(real_api: RealApi) -> None:
    """No handler answers the one-shot policy: the looks at its enactment wait 0.25 s, then
    twice as long each time up to --poll, as the cleanup's do (nodeconfig.FIRST_POLL); the
    last wait ends at the deadline, and the policy is deleted all the same."""
    item = leftovers.Leftover("worker-0", "vrf", (("name", "ens4vrf"), ("route-table-id", 2)))
    transport = HttpsTransport(real_api.url, real_api.token, real_api.ca_file, timeout=10.0, deadline_seconds=5.0)
    now, sleeps = [0.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    [removed] = commands.remove_leftovers(transport, [item], {}, timeout=5.0, poll=2.0, clock=lambda: now[0], sleep=sleep)
    assert (removed.applied, removed.detail) == (False, "never reported generation 1")
    assert sleeps == [0.25, 0.5, 1.0, 2.0, 1.25]
    assert real_api.client.items(POLICIES) == []


def test_ovn_kubernetes_own_tables_and_vrfs_are_never_leftovers() -> None:
    """OVN-Kubernetes v1.3.0 writes table 7 on every node (pkg/node/managementport/port_linux.go
    ovnkubeSvcViaMgmPortRT: the service network through ovn-k8s-mp0) and numbers its EgressIP
    tables and user-defined networks' VRFs from 1000 (pkg/util/net.go routingTableIDStart);
    the chart refuses those tables, so they are never a release's leftovers, and
    `leftovers --remove` must never set them absent."""
    current = {"interfaces": [{"name": "mp1-udn-vrf", "type": "vrf", "state": "up", "vrf": {"route-table-id": 1012}},
                              {"name": "oldvrf", "type": "vrf", "state": "up", "vrf": {"route-table-id": 5}}],
               "routes": {"config": [
                   {"destination": "172.30.0.0/16", "next-hop-address": "10.132.2.1",
                    "next-hop-interface": "ovn-k8s-mp0", "table-id": 7},
                   {"destination": "0.0.0.0/0", "next-hop-interface": "breth0", "table-id": 1012},
                   {"destination": "0.0.0.0/0", "next-hop-address": "10.0.5.1", "table-id": 5}]}}
    found = leftovers.find({"worker-0": current}, [], {})
    assert sorted((item.kind, item.table) for item in found) == [("route", 5), ("vrf", 5)]
    absent = leftovers.removal(found)
    assert [i["name"] for i in absent["interfaces"]] == ["oldvrf"]
    assert [r["table-id"] for r in absent["routes"]["config"]] == [5]
