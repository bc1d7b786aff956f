"""The prune and teardown commands against the API stand-in playing nmstate: the exact
policy updates they send for an uninstall and for each kind of upgrade, and what they do
when a node fails or never reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import copy
import hashlib
import json
import subprocess
from typing import Any

import pytest
import yaml

from symrouting.cleanup import _chunks, plan_removals
from symrouting.nodeconfig import declared, removal_state
from symrouting.plan import parse_plan
from tests.hooks.conftest import TOKEN, render_plan
from tests.support import clusters, helm, sitegen
from tests.support.nmstate import Nmstate
from tests.support.nodestate import Node, node_after

SEED = helm.CHART / "ci" / "seed-values.yaml"
Run = Callable[..., subprocess.CompletedProcess[str]]


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
    result = helm.template("helm3", files, release=release, namespace=namespace)
    assert result.returncode == 0, result.stderr
    return [d for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"]


def override(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def cluster(serve: Callable[..., Any], tmp_path: Path) -> tuple[Any, Nmstate]:
    """Three VRF nodes, the seed release installed, and tenant blue's policy, which declares
    the same main-table rules for the cluster's CIDRs."""
    nodes = [clusters.node(f"worker-{i}", {"vrf": "true"}) for i in range(3)]
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes))
    nmstate = Nmstate(api.api)
    nmstate.install(policies([SEED]) + policies([blue_site(tmp_path)], release="blue", namespace="blue"))
    return api, nmstate


def test_uninstall_sends_the_removal_and_waits_for_every_node(run_cli: Run, cluster: tuple[Any, Nmstate]) -> None:
    api, nmstate = cluster
    before = policies([SEED])[0]["spec"]["desiredState"]
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout + result.stderr
    [update] = nmstate.updates
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
    puts = [r.path for r in api.api.requests if r.method == "PUT" and "/leases/" not in r.path]
    assert puts == ["/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy?fieldManager=symrouting"]


def test_the_last_tenant_takes_the_rules_too(run_cli: Run, serve: Callable[..., Any]) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    nmstate = Nmstate(api.api)
    nmstate.install(policies([SEED]))
    assert run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED])).returncode == 0
    rules = nmstate.updates[0]["spec"]["desiredState"]["route-rules"]["config"]
    assert [(r["ip-to"], r["state"]) for r in rules] == [("172.30.0.0/16", "absent"), ("10.132.0.0/14", "absent")]


def test_a_node_that_never_reports_fails_the_uninstall_by_name(run_cli: Run, cluster: tuple[Any, Nmstate]) -> None:
    api, nmstate = cluster
    nmstate.outcomes["worker-1"] = "silent"
    result = run_cli("teardown", "--timeout=1.5", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 1
    assert "FAIL  vrfpolicy: ens4vrf absent; addresses off ens4; 1 route(s) absent; applied on 2/3 node(s)" in result.stdout
    assert "      worker-1: never reported generation 2" in result.stdout
    assert "teardown of release test/tenant-a FAILED" in result.stdout


def test_a_failing_node_is_reported_and_can_be_let_pass(run_cli: Run, cluster: tuple[Any, Nmstate]) -> None:
    api, nmstate = cluster
    nmstate.outcomes["worker-2"] = "fail"
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 1
    assert "worker-2: failed: error reconciling NodeNetworkConfigurationPolicy: rolled back" in result.stdout


def test_continue_on_failure_reports_but_lets_helm_go_on(run_cli: Run, cluster: tuple[Any, Nmstate]) -> None:
    api, nmstate = cluster
    nmstate.outcomes["worker-2"] = "fail"
    result = run_cli("teardown", "--poll=0.1", "--continue-on-failure", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0 and "worker-2: failed" in result.stdout


def test_upgrade_without_changes_sends_nothing(run_cli: Run, cluster: tuple[Any, Nmstate]) -> None:
    api, nmstate = cluster
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0
    assert nmstate.updates == [] and "KEEP  vrfpolicy: nothing to remove" in result.stdout


def test_upgrade_to_a_new_table_removes_the_old_tables_route(run_cli: Run, cluster: tuple[Any, Nmstate], tmp_path: Path) -> None:
    """The VRF moves to its new table in place (nmstate's NetworkManager backend takes it down
    and up again: nm/query_apply/apply.rs, is_vrf_table_id_changed); the old table's route goes."""
    api, nmstate = cluster
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 7\n")
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 0, result.stdout
    with_removal, new_state = nmstate.updates
    old_route = policies([SEED])[0]["spec"]["desiredState"]["routes"]["config"][0]
    new = policies([SEED, new_table])[0]["spec"]["desiredState"]
    assert with_removal["spec"]["desiredState"] == {**new, "routes": {"config": [*new["routes"]["config"],
                                                                                {**old_route, "state": "absent"}]}}
    assert new_state["spec"]["desiredState"] == new


POLICY = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy"


def test_after_a_prune_the_policy_belongs_again_to_whoever_applied_it(run_cli: Run, cluster: tuple[Any, Nmstate],
                                                                     tmp_path: Path) -> None:
    """The removal made the hook the owner of the spec; one more update, which changes nothing
    but managedFields, hands it back to Helm, whose server-side apply (Helm 4) would otherwise
    conflict with the hook on the upgrade that follows."""
    api, nmstate = cluster
    applied_by = api.api.routes[POLICY]["metadata"]["managedFields"]
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 7\n")
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 0, result.stdout
    removal_put, new_state_put, handback_put = [r.body for r in api.api.requests
                                                if r.method == "PUT" and "/leases/" not in r.path]
    assert removal_put["metadata"]["managedFields"] == applied_by  # sent as read: no reset
    assert handback_put["spec"] == new_state_put["spec"] == nmstate.updates[1]["spec"]
    assert handback_put["metadata"]["managedFields"] == applied_by
    stored = api.api.routes[POLICY]
    assert stored["metadata"]["managedFields"] == applied_by
    assert stored["metadata"]["generation"] == 3 and len(nmstate.updates) == 2
    assert "WARN" not in result.stdout


def test_without_the_hand_back_the_hook_would_keep_the_spec(cluster: tuple[Any, Nmstate]) -> None:
    """The stand-in's bookkeeping, which the test above relies on: an update that changes the
    spec makes its manager the spec's owner."""
    api, _ = cluster
    body = json.loads(json.dumps(api.api.routes[POLICY]))
    body["spec"]["desiredState"] = {"interfaces": []}
    status, _ = api.api.answer("PUT", f"{POLICY}?fieldManager=symrouting", f"Bearer {TOKEN}", json.dumps(body).encode())
    assert status == 200
    assert [entry["manager"] for entry in api.api.routes[POLICY]["metadata"]["managedFields"]] == ["symrouting"]


def test_the_hand_back_retries_a_conflict(run_cli: Run, cluster: tuple[Any, Nmstate], tmp_path: Path) -> None:
    api, _ = cluster
    api.api.fail(POLICY, status=409, method="PUT", after=2)
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 7\n")
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 0 and "WARN" not in result.stdout, result.stdout
    assert [r.method for r in api.api.requests if r.path.split("?")[0] == POLICY] == ["PUT", "PUT", "GET", "PUT", "GET", "PUT"]


def test_a_hand_back_that_is_refused_is_a_warning_that_names_the_way_out(run_cli: Run, cluster: tuple[Any, Nmstate],
                                                                         tmp_path: Path) -> None:
    api, _ = cluster
    api.api.fail(POLICY, status=403, method="GET")
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 7\n")
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 0, result.stdout
    assert ("WARN  vrfpolicy: field ownership not handed back (403 Forbidden: the cleanup may not get "
            "nodenetworkconfigurationpolicies.nmstate.io") in result.stdout
    assert "with Helm 4, run the upgrade with --force-conflicts" in result.stdout


def test_an_uninstall_hands_nothing_back(run_cli: Run, cluster: tuple[Any, Nmstate]) -> None:
    """Helm deletes the policies right after the teardown: their ownership no longer matters."""
    api, _ = cluster
    assert run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED])).returncode == 0
    assert [r.method for r in api.api.requests if r.path.split("?")[0] == POLICY] == ["PUT"]


def test_upgrade_that_renames_the_vrf_removes_the_old_one(run_cli: Run, cluster: tuple[Any, Nmstate], tmp_path: Path) -> None:
    api, nmstate = cluster
    renamed = renamed_site(tmp_path)
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([renamed]))
    assert result.returncode == 0, result.stdout
    [update] = nmstate.updates
    old_state = policies([SEED])[0]["spec"]["desiredState"]
    blue_state = policies([blue_site(tmp_path)], release="blue", namespace="blue")[0]["spec"]["desiredState"]
    new_state = policies([renamed])[0]["spec"]["desiredState"]
    assert update["metadata"]["name"] == "vrfpolicy"
    # On its node the new VRF declares the same port, address and routes: only the old VRF goes.
    assert update["spec"]["desiredState"] == removal_state(old_state, new_state, declared([blue_state]))
    assert update["spec"]["desiredState"] == {"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"}]}


def test_an_upgrade_that_drops_the_last_vrf_takes_it_off_the_nodes(run_cli: Run, cluster: tuple[Any, Nmstate],
                                                                  tmp_path: Path) -> None:
    """With no VRF left in the values the prune still renders and runs: Helm is about to delete
    the release's last policy, which would leave its VRF on the nodes."""
    api, nmstate = cluster
    no_vrf = override(tmp_path, "none", "vrfs:\n  ens4vrf: null\n")
    # rendered as the upgrade it is: an install with no VRF is refused (validate/_vrfs.tpl)
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED, no_vrf], extra=("--is-upgrade",)))
    assert result.returncode == 0, result.stdout
    [update] = nmstate.updates
    assert update["metadata"]["name"] == "vrfpolicy"
    assert update["spec"]["desiredState"]["interfaces"][0] == {"name": "ens4vrf", "type": "vrf", "state": "absent"}


def test_other_releases_policies_are_never_touched(run_cli: Run, cluster: tuple[Any, Nmstate]) -> None:
    api, nmstate = cluster
    run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert {u["metadata"]["name"] for u in nmstate.updates} == {"vrfpolicy"}
    blue = api.api.routes["/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/blue-symmetric-routing-bluevrf"]
    assert blue["metadata"]["generation"] == 1


def test_forbidden_update_names_the_permission(run_cli: Run, cluster: tuple[Any, Nmstate]) -> None:
    api, _ = cluster
    api.api.fail("/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy", status=403, times=5)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 3
    assert ('403 Forbidden: the cleanup may not update nodenetworkconfigurationpolicies.nmstate.io "vrfpolicy". '
            "Grant it in the cleanup ClusterRole") in result.stderr


def prune(run_cli: Run, serve: Callable[..., Any], installed: list[Path], new: list[Path]) -> tuple[str, list[dict[str, Any]]]:
    """Installs the policies `installed` renders on a fresh stand-in, runs prune with the plan
    `new` renders, and returns its report and every policy update it sent."""
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))
    nmstate = Nmstate(api.api)
    nmstate.install(policies(installed))
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan(new))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, nmstate.updates


def added(sent: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What a kept policy's first update adds to its new state: its removals, by section."""
    return {"interfaces": [i for i in sent["interfaces"] if i not in new["interfaces"]],
            **{section: [e for e in sent[section]["config"] if e not in new[section]["config"]]
               for section in ("routes", "route-rules")}}


def new_state(files: list[Path]) -> dict[str, Any]:
    [policy] = policies(files)
    return dict(policy["spec"]["desiredState"])


def test_upgrade_that_drops_a_route_removes_just_that_route(run_cli: Run, serve: Callable[..., Any], tmp_path: Path) -> None:
    def two_routes(values: dict[str, Any]) -> None:
        values["vrfs"]["ens4vrf"]["routes"].append({"destination": "10.99.0.0/16", "nextHopAddress": "192.168.130.254"})
    _, [update, last] = prune(run_cli, serve, [seed_with(tmp_path, "two-routes", two_routes)], [SEED])
    assert added(update["spec"]["desiredState"], new_state([SEED])) == {"interfaces": [], "route-rules": [], "routes": [
        {"destination": "10.99.0.0/16", "next-hop-address": "192.168.130.254", "next-hop-interface": "ens4",
         "table-id": 2, "state": "absent"}]}
    assert last["spec"]["desiredState"] == new_state([SEED])


def test_upgrade_that_moves_the_vrf_to_another_port_strips_the_old_one(run_cli: Run, serve: Callable[..., Any],
                                                                      tmp_path: Path) -> None:
    def new_port(values: dict[str, Any]) -> None:
        values["vrfs"]["ens4vrf"]["ports"] = {"ens5": {"ipv4": ["192.168.130.130/24"]}}
    after = seed_with(tmp_path, "ens5", new_port)
    _, [update, _] = prune(run_cli, serve, [SEED], [after])
    # The old port keeps its link but loses the addresses the chart set; the route through it goes.
    assert added(update["spec"]["desiredState"], new_state([after])) == {
        "interfaces": [{"name": "ens4", "type": "ethernet", "state": "up", "ipv4": {"enabled": False}}],
        "routes": [{"destination": "0.0.0.0/0", "metric": 150, "next-hop-address": "192.168.130.1",
                    "next-hop-interface": "ens4", "table-id": 2, "state": "absent"}], "route-rules": []}


def test_upgrade_that_drops_a_cidr_removes_its_rule(run_cli: Run, serve: Callable[..., Any], tmp_path: Path) -> None:
    def with_masquerade(values: dict[str, Any]) -> None:
        values["cluster"]["masqueradeSubnet"] = ["169.254.169.0/29"]
    _, [update, _] = prune(run_cli, serve, [seed_with(tmp_path, "masquerade", with_masquerade)], [SEED])
    assert added(update["spec"]["desiredState"], new_state([SEED])) == {"interfaces": [], "routes": [], "route-rules": [
        {"ip-to": "169.254.169.0/29", "priority": 998, "route-table": 254, "state": "absent"}]}


def test_upgrade_that_drops_a_whole_vrf_removes_it_and_keeps_the_other(run_cli: Run, serve: Callable[..., Any],
                                                                       tmp_path: Path) -> None:
    def second_vrf(values: dict[str, Any]) -> None:
        values["vrfs"]["ens6vrf"] = {"tableId": 6, "ports": {"ens6": {"ipv4": ["192.168.160.2/24"]}},
                                     "policy": {"nodeSelector": {"vrf": "true"}}}
    report, [update] = prune(run_cli, serve, [seed_with(tmp_path, "two-vrfs", second_vrf)], [SEED])
    assert update["metadata"]["name"] == "tenant-a-symmetric-routing-ens6vrf"
    # The rules stay: the remaining VRF's policy declares the same ones.
    assert update["spec"]["desiredState"] == {"interfaces": [
        {"name": "ens6vrf", "type": "vrf", "state": "absent"},
        {"name": "ens6", "type": "ethernet", "state": "up", "ipv4": {"enabled": False}}]}
    assert "KEEP  vrfpolicy: nothing to remove" in report


@pytest.mark.parametrize("seed", sitegen.SEEDS[::2])
def test_teardown_of_a_generated_site_takes_off_everything_it_put_on(run_cli: Run, serve: Callable[..., Any],
                                                                     tmp_path: Path, seed: int) -> None:
    """On shapes the ci/ sites do not have (VLANs, bonds, dual stack, several ports; see
    tests/support/sitegen.py), the uninstall sends each policy a state that removes every
    interface the chart created, strips the addresses off every NIC, and sets every route and
    rule absent: no other tenant shares the rules here."""
    site = sitegen.generate_site(seed)
    values = sitegen.values_file(site, tmp_path / "site.yaml")
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.128.0.0/14"],
                                   nodes=[clusters.node(name, labels)
                                          for name, labels in sitegen.cluster_nodes(site).items()]))
    nmstate = Nmstate(api.api)
    rendered = policies([values])
    installed = {policy["metadata"]["name"]: policy["spec"]["desiredState"] for policy in rendered}
    nmstate.install(rendered)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([values]))
    assert result.returncode == 0, f"seed {seed}:\n{result.stdout}{result.stderr}"
    sent = {update["metadata"]["name"]: update["spec"]["desiredState"] for update in nmstate.updates}
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


def upgrade(serve: Callable[..., Any], run_cli: Run, before: Path, after: Path,
            vrf_nodes: int = 3) -> tuple[subprocess.CompletedProcess[str], Nmstate]:
    """Installs `before` on three nodes (the first vrf_nodes labelled vrf=true), runs the prune
    for `after` as the pre-upgrade hook does, then plays Helm's upgrade: the policies become
    `after`'s and nmstate applies them. nmstate.between holds what each node carried between
    the prune and the upgrade."""
    nodes = [clusters.node(f"worker-{i}", {"vrf": "true"} if i < vrf_nodes else {}) for i in range(3)]
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes))
    nmstate = Nmstate(api.api)
    nmstate.install(policies([before]))
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([after]))
    nmstate.between = {node: state.managed() for node, state in nmstate.nodes.items()}  # type: ignore[attr-defined]
    nmstate.install(policies([after]))
    return result, nmstate


def declared_on(node: str, files: list[Path]) -> dict[str, Any]:
    """What a node carries when only these values' policies were ever applied to it."""
    labels = {"kubernetes.io/hostname": node, "vrf": "true"}
    states = [p["spec"]["desiredState"] for p in policies(files)
              if all(labels.get(k) == v for k, v in (p["spec"].get("nodeSelector") or {}).items())]
    return node_after(*states).managed()


def carried(nmstate: Nmstate, node: str) -> dict[str, Any]:
    return nmstate.nodes.get(node, Node()).managed()


def test_a_vrf_that_grows_from_one_node_to_three_stays_on_the_first(serve: Callable[..., Any], run_cli: Run,
                                                                     tmp_path: Path) -> None:
    after = per_node_site(tmp_path, ["worker-0", "worker-1", "worker-2"])
    result, nmstate = upgrade(serve, run_cli, one_node_site(tmp_path), after)
    assert result.returncode == 0, result.stdout
    assert "KEEP  vrfpolicy: nothing to remove" in result.stdout
    assert nmstate.updates == []  # worker-0 keeps its VRF: nothing was taken off it
    for node in ("worker-0", "worker-1", "worker-2"):
        assert carried(nmstate, node) == declared_on(node, [after]), node


def test_a_shared_address_on_three_nodes_moves_to_a_table_of_two(serve: Callable[..., Any], run_cli: Run,
                                                                  tmp_path: Path) -> None:
    """The shape the preflight now refuses (one address on every vrf=true node), mended by an
    upgrade: worker-2, left out of the table, loses the VRF; the two others keep it."""
    after = per_node_site(tmp_path, ["worker-0", "worker-1"], {"vrf": "true"})
    result, nmstate = upgrade(serve, run_cli, SEED, after)
    assert result.returncode == 0, result.stdout
    [update] = nmstate.updates
    assert update["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "worker-2"}
    assert ("DONE  vrfpolicy: ens4vrf absent; addresses off ens4; 1 route(s) absent; 2 rule(s) absent, on worker-2 only; "
            "applied on 1/1 node(s)") in result.stdout
    assert carried(nmstate, "worker-2") == {"virtual": {}, "addresses": {}, "routes": set(), "rules": set()}
    for node in ("worker-0", "worker-1"):
        assert carried(nmstate, node) == declared_on(node, [after]), node
        assert nmstate.between[node] == declared_on(node, [SEED]), f"{node} lost its VRF during the upgrade"


def test_an_uninstall_keeps_the_rules_only_where_a_neighbour_declares_them(serve: Callable[..., Any], run_cli: Run,
                                                                            tmp_path: Path) -> None:
    """Tenant blue, on worker-0 only, declares the same main-table rules: they stay there and
    go from the two other nodes."""
    nodes = [clusters.node(f"worker-{i}", {"vrf": "true"}) for i in range(3)]
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes))
    nmstate = Nmstate(api.api)
    blue = policies([blue_site(tmp_path)], release="blue", namespace="blue")
    blue[0]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "worker-0"}
    nmstate.install(policies([SEED]) + blue)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout
    assert carried(nmstate, "worker-0")["rules"] == declared_on("worker-0", [blue_site(tmp_path)])["rules"] != set()
    for node in ("worker-1", "worker-2"):
        assert carried(nmstate, node) == {"virtual": {}, "addresses": {}, "routes": set(), "rules": set()}, node


def test_a_node_taken_out_of_the_table_loses_the_vrf_alone(serve: Callable[..., Any], run_cli: Run,
                                                           tmp_path: Path) -> None:
    before = per_node_site(tmp_path, ["worker-0", "worker-1", "worker-2"])
    after = per_node_site(tmp_path, ["worker-0", "worker-1"])
    result, nmstate = upgrade(serve, run_cli, before, after)
    assert result.returncode == 0, result.stdout
    assert [u["metadata"]["name"] for u in nmstate.updates] == [node_policy("vrfpolicy", "worker-2")]
    assert carried(nmstate, "worker-2") == {"virtual": {}, "addresses": {}, "routes": set(), "rules": set()}
    for node in ("worker-0", "worker-1"):
        assert carried(nmstate, node) == declared_on(node, [after]), node


def test_a_table_of_three_back_to_one_policy_on_one_node(serve: Callable[..., Any], run_cli: Run,
                                                         tmp_path: Path) -> None:
    after = one_node_site(tmp_path)
    result, nmstate = upgrade(serve, run_cli, per_node_site(tmp_path, ["worker-0", "worker-1", "worker-2"]), after)
    assert result.returncode == 0, result.stdout
    assert sorted(u["metadata"]["name"] for u in nmstate.updates) == [node_policy("vrfpolicy", "worker-1"), node_policy("vrfpolicy", "worker-2")]
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


def test_a_teardown_of_many_per_node_policies_waits_for_every_group(serve: Callable[..., Any], run_cli: Run,
                                                                    tmp_path: Path) -> None:
    """More policies than one `in (...)` selector holds: every group's enactments are read."""
    nodes = [f"worker-{i:02d}.rack-a.example.com" for i in range(40)]

    def change(values: dict[str, Any]) -> None:
        vrf = values["vrfs"]["ens4vrf"]
        vrf["ports"]["ens4"] = {}
        vrf["policy"] = {"name": "symmetric-routing-payments-uplink", "nodeSelector": {}}
        vrf["nodes"] = {node: {"ens4": f"192.168.130.{100 + i}/24"} for i, node in enumerate(nodes)}
    site = seed_with(tmp_path, "many", change)
    cluster = [clusters.node(node, {}) for node in nodes]
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=cluster))
    nmstate = Nmstate(api.api)
    nmstate.install(policies([site]))
    result = run_cli("teardown", "--poll=0.1", "--timeout=20", api=api, plan=render_plan([site]))
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("DONE  symmetric-routing-payments-uplink-worker-") == 40
    lists = [r.path for r in api.api.requests if r.path.startswith("/apis/nmstate.io/v1beta1/nodenetworkconfigurationenactments")]
    assert 1 < len(lists) < 40  # a few groups, not one request per policy


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


def test_a_teardown_leaves_the_bond_another_tenant_still_runs_a_vlan_on(run_cli: Run, serve: Callable[..., Any],
                                                                         tmp_path: Path) -> None:
    mine, theirs = bond_site(tmp_path, "mine", "redvrf", 5, 101, 150), bond_site(tmp_path, "theirs", "bluevrf", 6, 102, 160)
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"],
                                   nodes=[clusters.node("worker-0", {"vrf": "true"})]))
    nmstate = Nmstate(api.api)
    blue = policies([theirs], release="blue", namespace="blue")
    nmstate.install(policies([mine]) + blue)
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([mine]))
    assert result.returncode == 0, result.stdout
    [update] = nmstate.updates
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


def test_a_neighbour_in_the_middle_of_its_prune_keeps_the_shared_rules(run_cli: Run, serve: Callable[..., Any],
                                                                        tmp_path: Path) -> None:
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"],
                                   nodes=[clusters.node("worker-0", {"vrf": "true"})]))
    nmstate = Nmstate(api.api)
    def blue_route(values: dict[str, Any]) -> None:
        values["vrfs"] = {"bluevrf": {"tableId": 3, "policy": {"nodeSelector": {"vrf": "true"}},
                                      "ports": {"ens5": {"ipv4": ["192.168.140.2/24"]}},
                                      "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": "192.168.140.1"}]}}
    [blue] = policies([seed_with(tmp_path, "blue-route", blue_route)], release="blue", namespace="blue")
    nmstate.install(policies([SEED]) + [mid_prune(blue)])
    result = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout
    [update] = nmstate.updates
    assert "route-rules" not in update["spec"]["desiredState"]
    assert carried(nmstate, "worker-0")["rules"] == node_after(blue["spec"]["desiredState"]).managed()["rules"] != set()


@pytest.mark.parametrize("neighbour", ["torn down", "being deleted"])
def test_the_last_two_tenants_one_after_the_other_leave_no_rule(run_cli: Run, serve: Callable[..., Any],
                                                                tmp_path: Path, neighbour: str) -> None:
    """Blue's teardown ran first (its policy holds only removals) or Helm is deleting its
    policy: it declares nothing any more, so this teardown takes the shared rules."""
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"],
                                   nodes=[clusters.node("worker-0", {"vrf": "true"})]))
    nmstate = Nmstate(api.api)
    [blue] = policies([blue_site(tmp_path)], release="blue", namespace="blue")
    if neighbour == "torn down":
        blue["spec"]["desiredState"] = removal_state(blue["spec"]["desiredState"], None)
    else:
        blue["metadata"]["deletionTimestamp"] = "2026-11-28T01:00:00Z"
    nmstate.install(policies([SEED]) + [blue])
    assert run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED])).returncode == 0
    [update] = nmstate.updates
    assert [r["state"] for r in update["spec"]["desiredState"]["route-rules"]["config"]] == ["absent", "absent"]


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


def test_a_rerun_after_a_failed_node_sends_the_removals_again_and_names_it(run_cli: Run,
                                                                         cluster: tuple[Any, Nmstate]) -> None:
    """The policy already holds the removals: they are what the rerun sends, and the node that
    failed them is reported again, not a teardown with nothing to remove."""
    api, nmstate = cluster
    nmstate.outcomes["worker-2"] = "fail"
    first = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert first.returncode == 1
    again = run_cli("teardown", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert again.returncode == 1, again.stdout
    assert "FAIL  vrfpolicy: ens4vrf absent; addresses off ens4; 1 route(s) absent; applied on 2/3 node(s)" in again.stdout
    assert "worker-2: failed" in again.stdout
    puts = [r.body for r in api.api.requests if r.method == "PUT" and r.path.startswith(POLICY)]
    assert puts[0]["spec"] == puts[1]["spec"]


def test_a_kept_policy_drops_a_rule_node_by_node_where_a_neighbour_declares_it_on_one(
        run_cli: Run, serve: Callable[..., Any], tmp_path: Path) -> None:
    """Blue, on worker-0 only, declares the masquerade rule this release drops: worker-0 keeps
    it, the others lose it, each by an update narrowed to its node; the last update gives
    the policy back its own nodeSelector and exactly its new state."""
    def with_masquerade(values: dict[str, Any]) -> None:
        values["cluster"]["masqueradeSubnet"] = ["169.254.169.0/29"]
    before = seed_with(tmp_path, "masquerade", with_masquerade)
    nodes = [clusters.node(f"worker-{i}", {"vrf": "true"}) for i in range(3)]
    api = serve(clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes))
    nmstate = Nmstate(api.api)
    blue = policies([seed_with(tmp_path, "blue-masquerade", lambda v: (blue_values(v), with_masquerade(v)))],
                    release="blue", namespace="blue")
    blue[0]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "worker-0"}
    nmstate.install(policies([before]) + blue)
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED]))
    assert result.returncode == 0, result.stdout
    assert [u["spec"]["nodeSelector"] for u in nmstate.updates] == [
        {"kubernetes.io/hostname": "worker-1"}, {"kubernetes.io/hostname": "worker-2"}, {"vrf": "true"}]
    assert nmstate.updates[-1]["spec"]["desiredState"] == policies([SEED])[0]["spec"]["desiredState"]
    assert "DONE  vrfpolicy: node by node, what each node loses (2 updates), then its new state alone; " \
           "applied on 3/3 node(s)" in result.stdout
    def masquerade_rule(node: str) -> bool:
        return any(dict(rule)["ip-to"] == "169.254.169.0/29" for rule in carried(nmstate, node)["rules"])
    assert [masquerade_rule(node) for node in ("worker-0", "worker-1", "worker-2")] == [True, False, False]
    for node in ("worker-1", "worker-2"):
        assert carried(nmstate, node) == declared_on(node, [SEED]), node


def test_a_prune_whose_removal_fails_on_a_node_keeps_it_in_the_policy(run_cli: Run, cluster: tuple[Any, Nmstate],
                                                                      tmp_path: Path) -> None:
    """worker-2 fails the update that carries the old table's route removal: the prune stops
    there and the policy keeps the removal, so that a rerun sends it again. Sending the new
    state alone next would drop it from the policy, and nmstate would never retry it
    (kubernetes-nmstate applies a policy's desiredState as it stands: pkg/client/client.go,
    ApplyDesiredState)."""
    api, nmstate = cluster
    nmstate.outcomes["worker-2"] = "fail"
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 7\n")
    result = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED, new_table]))
    assert result.returncode == 1, result.stdout
    assert "worker-2: failed" in result.stdout
    # Every write to the policy (the update, then the hand-back of field ownership) holds the removal.
    sent = [r.body["spec"]["desiredState"] for r in api.api.requests if r.method == "PUT" and r.path.startswith(POLICY)]
    old_route = policies([SEED])[0]["spec"]["desiredState"]["routes"]["config"][0]
    assert sent and all(state == sent[0] for state in sent)
    assert {**old_route, "state": "absent"} in sent[0]["routes"]["config"]
    assert api.api.routes[POLICY]["spec"]["desiredState"] == sent[0]


class EnactmentsOnly:
    """A transport that answers every list with these enactments (the wait reads nothing else)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def get(self, path: str, *, metadata_only: bool = False) -> Any:
        return {"kind": "List", "items": self.items}


def test_a_per_node_step_waits_for_its_own_node_only() -> None:
    """A step narrowed to worker-0 by kubernetes.io/hostname: worker-1's enactment of the same
    policy (an older generation, which nmstate has not deleted yet: kubernetes-nmstate's
    Reconcile drops an unselected node's enactment on its own time) must not hold it back."""
    from symrouting.cleanup import Outcome, Step, _wait
    from tests.support.nmstate import enactment

    step = Step({"interfaces": [{"name": "ens4vrf", "type": "vrf", "state": "absent"}]}, ("worker-0",),
                {"kubernetes.io/hostname": "worker-0"})
    outcome = Outcome("vrfpolicy", [step], generation=2)
    transport = EnactmentsOnly([enactment("worker-0", "vrfpolicy", 2, "apply"),
                                enactment("worker-1", "vrfpolicy", 1, "apply")])
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    [(_, progress)] = _wait(transport, [(outcome, step)], 30.0, 1.0, lambda: now[0], sleep, [])  # type: ignore[arg-type]
    assert (progress.applied, progress.pending, now[0]) == (["worker-0"], [], 0.0)



def test_a_prune_rerun_after_a_failed_node_fails_naming_it(run_cli: Run, cluster: tuple[Any, Nmstate],
                                                          tmp_path: Path) -> None:
    """worker-2 applies the removal but fails the prune's last update (the new state alone).
    The rerun finds the policy holding exactly its new state, nothing to send; nmstate's
    enactment on worker-2 still reports that generation Failing, so the rerun fails too,
    naming worker-2 and nmstate's message, as the wait hook does (wait.py, whose per-policy
    step it shares: cleanup.applied_step)."""
    api, nmstate = cluster

    def last_update_fails(path: str, stored: dict[str, Any]) -> None:
        if path == POLICY and int(stored["metadata"]["generation"]) >= 3:
            nmstate.outcomes["worker-2"] = "fail"
    api.api.on_put.insert(0, last_update_fails)
    new_table = override(tmp_path, "table", "vrfs:\n  ens4vrf:\n    tableId: 7\n")
    first = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED, new_table]))
    assert first.returncode == 1, first.stdout
    assert "worker-2: failed" in first.stdout
    updates = len(nmstate.updates)
    again = run_cli("prune", "--poll=0.1", api=api, plan=render_plan([SEED, new_table]))
    assert again.returncode == 1, again.stdout
    assert len(nmstate.updates) == updates, "the rerun sent an update"
    assert "FAIL  vrfpolicy: nothing to send, but generation 3 (already sent) is not applied; applied on 2/3 node(s)" \
        in again.stdout, again.stdout
    assert "worker-2: failed: error reconciling NodeNetworkConfigurationPolicy: rolled back: connectivity lost" \
        in again.stdout, again.stdout
