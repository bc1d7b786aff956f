"""`symrouting status` against the real API server: the real entry point on a healthy site and
on sites broken one piece at a time (tests/support/livestate.py says which upstream controller
writes each object; each is written into the server, status through its subresource), and the
pure core on its own."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hooks.conftest import render_plan
from tests.hooks.test_kubectl import KUBECTL_DIR
from tests.support import helm, livestate
from tests.support.realapi import RealApi

SEED = helm.CHART / "ci" / "seed-values.yaml"
Run = Callable[..., subprocess.CompletedProcess[str]]
RELEASE = ("--release", "test/tenant-a")


def not_served(api: RealApi, *paths: str) -> None:
    """The collections answer 404, as a cluster without their CRDs does."""
    for path in paths:
        api.fail(path, 404, times=100, message="the server could not find the requested resource")


def rows(result: subprocess.CompletedProcess[str]) -> list[dict[str, str]]:
    [release] = json.loads(result.stdout)["releases"]
    return list(release["rows"])


def bad(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str, str]]:
    return [(r["node"], r["check"], r["detail"]) for r in rows(result) if r["state"] == "bad"]


@pytest.mark.parametrize("source", ["discovered", "plan"])
def test_a_healthy_site_is_symmetric(run_cli: Run, serve: Callable[..., Any], source: str) -> None:
    api = serve(livestate.healthy())
    if source == "plan":
        result = run_cli("status", api=api, plan=render_plan([SEED]))
    else:
        result = run_cli("status", *RELEASE, api=api)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "release test/tenant-a"
    assert "OK  ens4vrf  worker-1  service test/server1  symmetric: announced only from egress host worker-1" in lines
    assert "OK  ens4vrf  worker-0  bgp frrviavrf         192.168.130.1: Established, no BFD" in lines
    # kubernetes-nmstate writes no route-rules into NodeNetworkState (v0.86.0 pkg/state/filter.go)
    assert ("??  ens4vrf  worker-0  rules                 not reported: kubernetes-nmstate leaves route rules out "
            "of NodeNetworkState; an Available enactment says nmstate applied them") in lines
    assert lines[-1] == "release test/tenant-a: symmetric and healthy (2 not shown)"
    # Not a VRF node: no row speaks of it.
    assert "worker-2" not in result.stdout
    assert "\033[" not in result.stdout, "no colour when stdout is not a terminal"


def test_json_shape(run_cli: Run, serve: Callable[..., Any]) -> None:
    result = run_cli("status", *RELEASE, "--json", api=serve(livestate.healthy()))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"schema", "ok", "releases", "unavailable", "refused"}
    assert document["schema"] == 1 and document["ok"] is True
    [release] = document["releases"]
    assert set(release) == {"release", "ok", "verdict", "rows"}
    assert {tuple(sorted(r)) for r in release["rows"]} == {("check", "detail", "node", "state", "vrf")}
    assert {(r["check"], r["state"]) for r in release["rows"] if r["state"] != "ok"} == {("rules", "unknown")}
    assert len(release["rows"]) == 10  # 2 nodes x (policy, vrf, rules, bgp), the service, MetalLB


def test_rules_a_node_state_reports_are_compared(run_cli: Run, serve: Callable[..., Any]) -> None:
    """A NodeNetworkState that lists route-rules (`nmstatectl show` has them; kubernetes-nmstate
    v0.86.0 leaves them out): each desired rule must be among them."""
    routes = livestate.healthy()
    rules = copy.deepcopy(livestate.SEED_STATE["route-rules"]["config"])
    routes[livestate.NODE_STATES][:2] = [livestate.node_state(node, rules=rules) for node in ("worker-0", "worker-1")]
    result = run_cli("status", *RELEASE, api=serve(routes))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK  ens4vrf  worker-0  rules                 2 route rules present" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "release test/tenant-a: symmetric and healthy"


def test_half_applied(run_cli: Run, serve: Callable[..., Any]) -> None:
    """Enactment conditions and policyGeneration as kubernetes-nmstate writes them
    (api/shared/nodenetworkconfigurationenactment_types.go). worker-0 failed the policy's generation 2 and lost its rules, worker-1 still reports
    generation 1, worker-2 was labelled for the VRF and nmstate has not started there."""
    routes = livestate.healthy()
    routes[livestate.ENACTMENTS] = [
        livestate.enactment("worker-0", 2, condition="Failing", reason="FailedToConfigure",
                            message="error reconciling NodeNetworkConfigurationPolicy: rolled back"),
        livestate.enactment("worker-1", 1)]
    routes[livestate.NODE_STATES][0] = livestate.node_state("worker-0", rules=[])
    routes["/api/v1/nodes"][2]["metadata"]["labels"]["vrf"] = "true"
    api = serve(routes)
    # a change of the spec: the server counts generation 2
    changed = api.client.call("PATCH", f"{livestate.POLICIES}/{livestate.POLICY}", {"spec": {"maxUnavailable": "50%"}},
                              content_type="application/merge-patch+json")
    assert changed["metadata"]["generation"] == 2
    result = run_cli("status", *RELEASE, "--json", api=api)
    assert result.returncode == 1
    problems = bad(result)
    assert ("worker-0", "policy vrfpolicy",
            "Failing: error reconciling NodeNetworkConfigurationPolicy: rolled back") in problems
    assert ("worker-0", "rules", "missing: ip-to 172.30.0.0/16 priority 998 route-table 254; "
            "ip-to 10.132.0.0/14 priority 998 route-table 254") in problems
    assert ("worker-1", "policy vrfpolicy", "pending: the node reports generation 1, the policy is at 2") in problems
    assert ("worker-2", "policy vrfpolicy", "no enactment yet: nmstate has not started on this node") in problems
    assert ("worker-2", "vrf", "ens4vrf is not in the node's reported state") in problems


def test_a_vrf_on_the_wrong_table_or_without_its_port(run_cli: Run, serve: Callable[..., Any]) -> None:
    routes = livestate.healthy()
    vrfs = [state["status"]["currentState"]["interfaces"][3] for state in routes[livestate.NODE_STATES][:2]]
    vrfs[0]["vrf"]["route-table-id"] = 3
    vrfs[1]["vrf"]["port"] = []
    result = run_cli("status", *RELEASE, "--json", api=serve(routes))
    assert result.returncode == 1
    assert ("worker-0", "vrf", "ens4vrf uses table 3, not 2") in bad(result)
    assert ("worker-1", "vrf", "ens4vrf lacks port ens4") in bad(result)


@pytest.mark.parametrize(("change", "detail"), [
    ({"bgpStatus": "Active"}, "192.168.130.1: BGP Active"),
    ({"bfdStatus": "Down"}, "192.168.130.1: BGP Established, BFD Down"),
])
def test_session_down(run_cli: Run, serve: Callable[..., Any], change: dict[str, str], detail: str) -> None:
    """bgpStatus is FRR's bgpState, up when "Established" (frr-k8s internal/frr/parse.go);
    bfdStatus FRR's BFD status, "N/A" without BFD (cmd/status/controller/bgpsessionstate_controller.go)."""
    routes = livestate.healthy()
    livestate.replace(routes, livestate.SESSIONS, {"frrk8s.metallb.io/node": "worker-1"}, **change)
    result = run_cli("status", *RELEASE, api=serve(routes))
    assert result.returncode == 1
    assert f"FAIL  ens4vrf  worker-1  bgp frrviavrf         {detail}" in result.stdout.splitlines()
    assert result.stdout.rstrip().endswith("release test/tenant-a: NOT symmetric and healthy (1 problem)")


def test_a_missing_session_and_one_in_another_vrf(run_cli: Run, serve: Callable[..., Any]) -> None:
    routes = livestate.healthy()
    routes[livestate.SESSIONS] = routes[livestate.SESSIONS_IN_FRR] = [livestate.session("worker-0", vrf="")]
    result = run_cli("status", *RELEASE, "--json", api=serve(routes))
    assert result.returncode == 1
    assert ("worker-0", "bgp frrviavrf", "no session to 192.168.130.1 in ens4vrf on this node") in bad(result)
    assert ("worker-1", "bgp frrviavrf", "no session to 192.168.130.1 in ens4vrf on this node") in bad(result)


@pytest.mark.parametrize(("announced", "detail"), [
    (["worker-0", "worker-1"], "asymmetric: announced from worker-0, worker-1, but replies leave through egress "
                               "host worker-1; requests reaching worker-0 return another way"),
    (["worker-0"], "asymmetric: announced from worker-0, but replies leave through egress host worker-1; "
                   "requests reaching worker-0 return another way"),
    ([], "announced from no node: MetalLB advertises it to no peer"),
])
def test_asymmetric(run_cli: Run, serve: Callable[..., Any], announced: list[str], detail: str) -> None:
    """One ServiceBGPStatus per announcing node (metallb internal/k8s/controllers/
    bgp_status_controller.go) against the node OVN-Kubernetes picked (EgressService status.host,
    go-controller/pkg/crd/egressservice/v1/types.go)."""
    routes = livestate.healthy()
    routes[livestate.ANNOUNCEMENTS] = [livestate.announcement(node) for node in announced]
    result = run_cli("status", *RELEASE, "--json", api=serve(routes))
    assert result.returncode == 1
    assert bad(result) == [("worker-1", "service test/server1", detail)]


def test_announced_to_a_peer_of_another_vrf(run_cli: Run, serve: Callable[..., Any]) -> None:
    routes = livestate.healthy()
    routes[livestate.ANNOUNCEMENTS] = [livestate.announcement("worker-1", peers=("frrviavrf", "blue-peer"))]
    result = run_cli("status", *RELEASE, "--json", api=serve(routes))
    assert bad(result) == [("worker-1", "service test/server1",
                            "announced from worker-1 to peers outside ens4vrf: blue-peer")]


@pytest.mark.parametrize(("host", "detail"), [
    ("", "the EgressService has no host: OVN-Kubernetes placed it on no node"),
    (None, "the EgressService does not exist"),
])
def test_no_egress_host(run_cli: Run, serve: Callable[..., Any], host: str | None, detail: str) -> None:
    routes = livestate.healthy()
    if host is None:
        del routes[livestate.EGRESS], routes["/apis/k8s.ovn.org/v1/egressservices"]
    else:
        routes[livestate.EGRESS]["status"]["host"] = host
    result = run_cli("status", api=serve(routes), plan=render_plan([SEED]))
    assert result.returncode == 1
    assert f"FAIL  ens4vrf  -         service test/server1  {detail}" in result.stdout.splitlines()


def test_source_ip_by_network_is_announced_from_vrf_nodes(run_cli: Run, serve: Callable[..., Any]) -> None:
    """With sourceIPBy Network OVN-Kubernetes sets host "ALL" (go-controller/pkg/types/const.go,
    EgressServiceNoSNATHost)."""
    routes = livestate.healthy()
    routes[livestate.EGRESS]["status"]["host"] = "ALL"
    routes[livestate.ANNOUNCEMENTS] = [livestate.announcement(n) for n in ("worker-0", "worker-1")]
    result = run_cli("status", *RELEASE, "--json", api=serve(routes))
    assert result.returncode == 0, result.stdout
    [service] = [r for r in rows(result) if r["check"] == "service test/server1"]
    assert service["detail"] == ("symmetric: announced from worker-0, worker-1, all carry ens4vrf "
                                 "(sourceIPBy Network)")
    routes[livestate.ANNOUNCEMENTS].append(livestate.announcement("worker-2"))
    result = run_cli("status", *RELEASE, "--json", api=serve(routes))
    assert bad(result) == [("ALL", "service test/server1",
                            "announced from worker-0, worker-1, worker-2; worker-2 do not carry ens4vrf")]


def test_metallb_configuration_error(run_cli: Run, serve: Callable[..., Any]) -> None:
    """A speaker's ConfigurationState "speaker-<node>" with result Invalid and its errorSummary
    (metallb internal/k8s/controllers/configuration_state_controller.go, internal/k8s/k8s.go)."""
    routes = livestate.healthy()
    routes[livestate.CONFIG_STATES][1] = livestate.config_state(
        "worker-0", "Invalid", 'peer frrviavrf: vrf "ens4vrf" not found\nfailed to parse configuration')
    result = run_cli("status", *RELEASE, api=serve(routes))
    assert result.returncode == 1
    assert ('FAIL  -        worker-0  metallb config        Invalid: peer frrviavrf: vrf "ens4vrf" not found | '
            "failed to parse configuration") in result.stdout.splitlines()


def test_missing_status_crds_are_said_not_failed(run_cli: Run, serve: Callable[..., Any]) -> None:
    """An older MetalLB in native FRR mode: no BGPSessionState, ServiceBGPStatus or
    ConfigurationState is served (404); what they would show is named, the run passes. The
    versions named are the first tags that ship each CRD (metallb v0.15.0, v0.15.3; frr-k8s
    v0.0.18)."""
    routes = livestate.healthy()
    for path in (livestate.SESSIONS, livestate.SESSIONS_IN_FRR, livestate.ANNOUNCEMENTS, livestate.CONFIG_STATES):
        del routes[path]
    api = serve(routes)
    not_served(api, livestate.SESSIONS, livestate.ANNOUNCEMENTS, livestate.CONFIG_STATES)
    result = run_cli("status", *RELEASE, "--json", api=api)
    assert result.returncode == 0, result.stdout
    unknown = {(r["node"], r["check"]): r["detail"] for r in rows(result) if r["state"] == "unknown"}
    assert unknown[("worker-0", "bgp")].startswith("the cluster serves no frrk8s.metallb.io BGPSessionState: "
                                                   "MetalLB runs in native FRR mode")
    assert unknown[("worker-1", "service test/server1")] == (
        "egress host worker-1; the cluster serves no metallb.io ServiceBGPStatus (MetalLB older than v0.15.0): "
        "which node announces a service cannot be shown")
    assert unknown[("", "metallb config")].startswith("the cluster serves no metallb.io ConfigurationState")
    assert set(json.loads(result.stdout)["unavailable"]) == {"sessions", "announcements", "configstates"}
    text = run_cli("status", *RELEASE, api=api)
    assert text.stdout.rstrip().endswith("release test/tenant-a: symmetric and healthy (6 not shown)")


def test_a_refused_source_fails_with_the_permission(run_cli: Run, serve: Callable[..., Any]) -> None:
    api = serve(livestate.healthy())
    api.fail(livestate.SESSIONS, 403, times=5)
    result = run_cli("status", *RELEASE, api=api)
    assert result.returncode == 1
    assert "403 Forbidden: you may not list bgpsessionstates.frrk8s.metallb.io" in result.stdout


def test_a_plan_reads_sessions_in_frr_k8s_namespace_only(run_cli: Run, serve: Callable[..., Any],
                                                         real_api: RealApi, tmp_path: Path) -> None:
    """The plan names FRR-K8s's namespace (openshift-frr-k8s on OpenShift, metallb.frrK8sNamespace
    when set): the sessions are listed there, where the test pod's Role lets it, never
    cluster-wide; a status without a plan still lists them cluster-wide."""
    api = serve(livestate.healthy())
    assert run_cli("status", api=api, plan=render_plan([SEED])).returncode == 0
    lists = [r.path.partition("?")[0] for r in api.requests if "bgpsessionstates" in r.path]
    assert lists == [livestate.SESSIONS_IN_FRR]
    elsewhere = tmp_path / "frr.yaml"
    elsewhere.write_text("metallb:\n  frrK8sNamespace: frr-k8s-system\n")
    routes = livestate.healthy()
    in_frr = routes.pop(livestate.SESSIONS_IN_FRR)
    del routes[livestate.SESSIONS]
    for item in in_frr:
        item["metadata"]["namespace"] = "frr-k8s-system"
    routes["/apis/frrk8s.metallb.io/v1beta1/namespaces/frr-k8s-system/bgpsessionstates"] = in_frr
    namespace(real_api, "frr-k8s-system")
    api = serve(routes)
    result = run_cli("status", api=api, plan=render_plan([SEED, elsewhere]))
    assert "OK  ens4vrf  worker-0  bgp frrviavrf         192.168.130.1: Established, no BFD" in result.stdout.splitlines()
    api = serve(livestate.healthy())
    assert run_cli("status", *RELEASE, api=api).returncode == 0
    assert [r.path.partition("?")[0] for r in api.requests if "bgpsessionstates" in r.path] == [livestate.SESSIONS]


def test_no_release_found(run_cli: Run, serve: Callable[..., Any]) -> None:
    result = run_cli("status", "--release", "test/other", api=serve(livestate.healthy()))
    assert result.returncode == 1
    assert result.stdout.startswith("no NodeNetworkConfigurationPolicy of release test/other found")


def test_every_release_without_a_release_named(run_cli: Run, serve: Callable[..., Any]) -> None:
    routes = livestate.healthy()
    blue = livestate.policy("bluepolicy", state={"interfaces": [
        {"name": "bluevrf", "type": "vrf", "state": "up", "vrf": {"port": ["ens5"], "route-table-id": 3}}]})
    blue["metadata"]["labels"].update({"app.kubernetes.io/instance": "blue", "symmetric-routing/release-namespace": "blue",
                                       "symmetric-routing/vrf": "bluevrf"})
    routes[livestate.POLICIES].append(blue)
    result = run_cli("status", "--json", api=serve(routes))
    assert result.returncode == 1
    releases = {r["release"]: r for r in json.loads(result.stdout)["releases"]}
    assert sorted(releases) == ["blue/blue", "test/tenant-a"]
    assert releases["test/tenant-a"]["ok"] is True
    assert ("worker-0", "policy bluepolicy", "no enactment yet: nmstate has not started on this node") in [
        (r["node"], r["check"], r["detail"]) for r in releases["blue/blue"]["rows"] if r["state"] == "bad"]


def test_api_unreachable_exits_3(run_cli: Run, real_api: RealApi, tmp_path: Path) -> None:
    """A port nothing listens on, with the rig's real token and CA: the connection is refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = tmp_path / "token"
    token.write_text(real_api.token)
    unreachable = run_cli("status", *RELEASE, f"--server=https://127.0.0.1:{port}", f"--token-file={token}",
                          f"--ca-file={real_api.ca_file}")
    assert unreachable.returncode == 3
    assert "refused the connection" in unreachable.stderr
    assert real_api.token not in unreachable.stdout + unreachable.stderr


def test_bad_arguments_exit_2(run_cli: Run, serve: Callable[..., Any]) -> None:
    api = serve(livestate.healthy())
    result = run_cli("status", "--release", "tenant-a", api=api)
    assert result.returncode == 2
    assert "--release tenant-a: write it as NAMESPACE/NAME, e.g. payments/tenant-a" in result.stderr


def namespace(api: RealApi, name: str) -> None:
    """A namespace beyond the ones every test has (left for the next test that needs it)."""
    if api.client.get(f"/api/v1/namespaces/{name}") is None:
        api.client.call("POST", "/api/v1/namespaces",
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


# ---- in process: watch and colour --------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _args(api: RealApi, tmp_path: Path, *extra: str) -> Any:
    from symrouting import cli, commands

    token = tmp_path / "token"
    token.write_text(api.token)
    return cli._parser(tool=commands).parse_args(["status", *RELEASE, f"--server={api.url}", f"--token-file={token}",
                                     f"--ca-file={api.ca_file}", *extra])


def test_watch_redraws_on_change_only(serve: Callable[..., Any], tmp_path: Path) -> None:
    from symrouting import commands

    api = serve(livestate.healthy())
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 2:  # between the second and third look, the session drops
            name = livestate.session("worker-1")["metadata"]["name"]
            api.client.call("PATCH", f"{livestate.SESSIONS_IN_FRR}/{name}/status", {"status": {"bgpStatus": "Idle"}},
                            content_type="application/merge-patch+json")

    out = io.StringIO()
    code = commands.show_status(_args(api, tmp_path, "--watch", "--interval", "7", "--count", "4"), out, io.StringIO(),
                                env={}, sleep=sleep)
    assert code == 1, "the exit code is the last look's"
    assert slept == [7.0, 7.0, 7.0]
    text = out.getvalue()
    assert text.count("release test/tenant-a: symmetric and healthy") == 1
    assert text.count("NOT symmetric and healthy") == 1, "four looks, two different screens"
    assert "\033[" not in text


def test_colour_on_a_terminal_unless_no_color(serve: Callable[..., Any], tmp_path: Path) -> None:
    from symrouting import commands

    routes = livestate.healthy()
    routes[livestate.ANNOUNCEMENTS].append(livestate.announcement("worker-0"))
    api = serve(routes)
    coloured = Terminal()
    assert commands.show_status(_args(api, tmp_path), coloured, io.StringIO(), env={}) == 1
    assert "\033[31mFAIL  ens4vrf  worker-1  service test/server1" in coloured.getvalue()
    assert "\033[32mOK  " in coloured.getvalue()
    plain = Terminal()
    assert commands.show_status(_args(api, tmp_path), plain, io.StringIO(), env={"NO_COLOR": "1"}) == 1
    assert "\033[" not in plain.getvalue()


# ---- the pure core -----------------------------------------------------------------------


def test_peer_labels_as_frr_k8s_writes_them() -> None:
    from symrouting.status import peer_label

    assert peer_label("192.168.130.1") == "192.168.130.1"
    assert peer_label("2001:db8::1") == "2001-0db8-0000-0000-0000-0000-0000-0001"
    assert peer_label("ens4") == "ens4"


def test_route_rules_compare_as_nmstate_reports_them() -> None:
    from symrouting.status import rule_present

    wanted = {"ip-to": "10.132.0.0/14", "priority": 998, "route-table": 254}
    assert rule_present(wanted, [{"ip-to": "10.132.0.0/14", "priority": 998, "route-table": 254, "family": "ipv4"}])
    # nmstate: route-table "Unset or 0 will be changed to main table ID 254" (devel/yaml_api.md).
    assert rule_present({"ip-to": "10.132.0.0/14", "priority": 998, "route-table": 0},
                        [{"ip-to": "10.132.0.0/14", "priority": 998, "route-table": 254}])
    assert rule_present({"ip-to": "10.132.0.0/14", "priority": 998}, [{"ip-to": "10.132.0.0/14", "priority": 998,
                                                                       "route-table": 254}])
    assert rule_present({"ip-to": "10.132.0.0/14"}, [{"ip-to": "10.132.0.1/14"}]), "networks compare as networks"
    assert not rule_present(wanted, [{"ip-to": "10.132.0.0/14", "priority": 999, "route-table": 254}])
    assert not rule_present(wanted, [{"ip-to": "10.128.0.0/14", "priority": 998, "route-table": 254}])


def test_status_through_kubectl(run_cli: Run, serve: Callable[..., Any], tmp_path: Path) -> None:
    routes = livestate.healthy()
    routes[livestate.ANNOUNCEMENTS].append(livestate.announcement("worker-0"))
    api = serve(routes)
    path = api.kubeconfig(tmp_path / "kubeconfig")
    env = {"KUBECONFIG": str(path), "PATH": f"{KUBECTL_DIR}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    result = run_cli("status", *RELEASE, "--kubectl", "--json", env=env)
    assert result.returncode == 1, result.stderr
    assert [check for _, check, _ in bad(result)] == ["service test/server1"]
    assert api.token not in result.stdout + result.stderr


def test_a_large_release_counts_its_ok_rows(run_cli: Run, serve: Callable[..., Any]) -> None:
    nodes = tuple(f"worker-{i:02d}" for i in range(12))
    routes = livestate.healthy(vrf_nodes=nodes, host="worker-03", others=())
    rules = livestate.SEED_STATE["route-rules"]["config"]
    routes[livestate.NODE_STATES] = [livestate.node_state(node, rules=copy.deepcopy(rules)) for node in nodes]
    livestate.replace(routes, livestate.SESSIONS, {"frrk8s.metallb.io/node": "worker-07"}, bgpStatus="Connect")
    api = serve(routes)
    lines = [" ".join(line.split()) for line in run_cli("status", *RELEASE, api=api).stdout.splitlines()]
    assert lines[2:9] == [
        "OK ens4vrf 12 nodes policy 12 ok (--all lists them)",
        "OK ens4vrf 12 nodes vrf 12 ok (--all lists them)",
        "OK ens4vrf 12 nodes rules 12 ok (--all lists them)",
        "OK ens4vrf 11 nodes bgp 11 ok (--all lists them)",
        "OK ens4vrf worker-03 service test/server1 symmetric: announced only from egress host worker-03",
        "OK - - metallb config Valid on 13 components",  # the controller and 12 speakers
        "FAIL ens4vrf worker-07 bgp frrviavrf 192.168.130.1: BGP Connect"]
    every = run_cli("status", *RELEASE, "--all", api=api).stdout.splitlines()
    # 12 nodes x (policy, vrf, rules, bgp) less the failing session, the service, MetalLB
    assert len([line for line in every if line.startswith("OK ")]) == 12 * 4 - 1 + 1 + 1



def test_a_large_release_in_native_frr_mode_says_so_once(run_cli: Run, serve: Callable[..., Any]) -> None:
    """Native FRR mode writes no BGPSessionState: one "unknown" row per node and VRF, which the
    screen gives as one line (the JSON and --all keep every row)."""
    nodes = tuple(f"worker-{i:02d}" for i in range(12))
    routes = livestate.healthy(vrf_nodes=nodes, host="worker-03", others=())
    routes[livestate.SESSIONS] = routes[livestate.SESSIONS_IN_FRR] = []
    routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/metallbs"][0]["spec"] = {"bgpBackend": "frr"}
    api = serve(routes)
    result = run_cli("status", *RELEASE, api=api)
    assert result.returncode == 0, result.stdout + result.stderr
    unknown = [" ".join(line.split()) for line in result.stdout.splitlines() if line.startswith("??")]
    assert unknown == ["?? ens4vrf 12 nodes rules not reported: kubernetes-nmstate leaves route rules out of "
                       "NodeNetworkState; an Available enactment says nmstate applied them (12 rows, --all lists them)",
                       "?? ens4vrf 12 nodes bgp MetalLB metallb-system/metallb runs with spec.bgpBackend frr: only "
                       "FRR-K8s writes BGPSessionState, so sessions cannot be shown (vtysh in a speaker pod shows "
                       "them) (12 rows, --all lists them)"]
    every = run_cli("status", *RELEASE, "--all", api=api).stdout.splitlines()
    assert len([line for line in every if line.startswith("??")]) == 24

def verifiable(routes: dict[str, Any]) -> dict[str, Any]:
    """What `verify` reads besides: the Service, the policy's status, the egress host's label."""
    routes[livestate.POLICIES][0]["status"] = {"conditions": [{"type": "Available", "status": "True"}]}
    routes["/api/v1/namespaces/test/services"] = [{
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "server1", "namespace": "test"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.169.10.0"}]}}}]
    node = next(n for n in routes["/api/v1/nodes"] if n["metadata"]["name"] == "worker-1")
    node["metadata"]["labels"]["egress-service.k8s.ovn.org/test-server1"] = ""
    return routes


def test_verify_with_status_as_helm_test_runs_it(run_cli: Run, serve: Callable[..., Any]) -> None:
    routes = verifiable(livestate.healthy())
    plan = render_plan([SEED])
    result = run_cli("verify", "--status", api=serve(routes), plan=plan)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "release test/tenant-a verified\n\nrelease test/tenant-a\n" in result.stdout
    assert result.stdout.rstrip().endswith("release test/tenant-a: symmetric and healthy (2 not shown)")
    routes[livestate.ANNOUNCEMENTS].append(livestate.announcement("worker-0"))
    asymmetric = run_cli("verify", "--status", api=serve(routes), plan=plan)
    assert asymmetric.returncode == 1, "verify's own checks pass: the status fails it"
    assert "release test/tenant-a verified" in asymmetric.stdout
    assert "FAIL  ens4vrf  worker-1  service test/server1  asymmetric" in asymmetric.stdout


def test_the_readme_says_what_the_code_does() -> None:
    from symrouting import commands, status

    readme = " ".join((helm.CHART / "README.md").read_text().split())
    assert f"a release of more than {status.SCREEN} rows counts its OK rows" in readme
    assert f'`{{"schema": {commands.JSON_SCHEMA}, "ok", "releases": [{{"release", "ok", "verdict", "rows": ' \
           '[{"vrf", "node", "check", "state", "detail"}]}], "unavailable": {source: why}, "refused": ' \
           '{source: why}}`' in readme


def test_refused_policies_end_the_run_with_3(run_cli: Run, serve: Callable[..., Any]) -> None:
    api = serve(livestate.healthy())
    api.fail(livestate.POLICIES, 403, times=5)
    result = run_cli("status", api=api, plan=render_plan([SEED]))
    assert result.returncode == 3
    assert "403 Forbidden: you may not list nodenetworkconfigurationpolicies.nmstate.io" in result.stderr


def test_without_kubernetes_nmstate_states(run_cli: Run, serve: Callable[..., Any]) -> None:
    routes = livestate.healthy()
    del routes[livestate.NODE_STATES]
    api = serve(routes)
    not_served(api, livestate.NODE_STATES)
    result = run_cli("status", *RELEASE, "--json", api=api)
    assert result.returncode == 0, result.stdout
    assert [(r["node"], r["state"]) for r in rows(result) if r["check"] == "node state"] == [
        ("worker-0", "unknown"), ("worker-1", "unknown")]


def test_an_object_of_an_unexpected_shape_is_named_and_skipped(run_cli: Run, serve: Callable[..., Any]) -> None:
    routes = livestate.healthy()
    routes[livestate.ANNOUNCEMENTS].append({"apiVersion": "metallb.io/v1beta1", "kind": "ServiceBGPStatus",
                                            "metadata": {"name": "bgp-broken", "labels": {}}, "status": {}})
    result = run_cli("status", *RELEASE, api=serve(routes))
    assert result.returncode == 0, result.stdout
    assert "note: skipped objects of an unexpected shape: servicebgpstatuses bgp-broken" in result.stdout


def test_metallb_runs_where_the_peers_are(run_cli: Run, serve: Callable[..., Any], real_api: RealApi) -> None:
    """Discovered, MetalLB's namespace is the release's BGPPeers' (MetalLB reads peers in its
    own namespace only): its ServiceBGPStatuses are read there."""
    routes = livestate.healthy()
    for item in routes["/apis/metallb.io/v1beta2/bgppeers"]:
        item["metadata"]["namespace"] = "metallb"
    for path in (livestate.ANNOUNCEMENTS, livestate.CONFIG_STATES):
        for item in routes[path]:
            item["metadata"]["namespace"] = "metallb"
        routes[path.replace("metallb-system", "metallb")] = routes.pop(path)
    del routes["/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"]
    namespace(real_api, "metallb")
    result = run_cli("status", *RELEASE, api=serve(routes))
    assert result.returncode == 0, result.stdout
    assert "symmetric: announced only from egress host worker-1" in result.stdout


@pytest.mark.parametrize(("backend", "state"), [("frr", "unknown"), ("frr-k8s", "bad"), ("", "bad")])
def test_native_frr_mode_says_why_sessions_are_not_shown(run_cli: Run, serve: Callable[..., Any],
                                                         backend: str, state: str) -> None:
    """The MetalLB resource's spec.bgpBackend "frr" runs FRR in the speaker, where no
    BGPSessionState is written (metallb-operator api/v1beta1/metallb_types.go); "frr-k8s",
    or empty (platform-dependent: pkg/params/params.go), leaves the sessions to speak."""
    routes = livestate.healthy()
    routes[livestate.SESSIONS] = routes[livestate.SESSIONS_IN_FRR] = []
    routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/metallbs"][0]["spec"] = (
        {"bgpBackend": backend} if backend else {})
    result = run_cli("status", *RELEASE, "--json", api=serve(routes))
    [session] = [r for r in rows(result) if r["node"] == "worker-0" and r["check"].startswith("bgp")]
    assert session["state"] == state
    if backend == "frr":
        assert result.returncode == 0
        assert session["detail"] == ("MetalLB metallb-system/metallb runs with spec.bgpBackend frr: only FRR-K8s "
                                     "writes BGPSessionState, so sessions cannot be shown (vtysh in a speaker pod "
                                     "shows them)")
