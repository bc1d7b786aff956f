"""Day 2 under the real Helm binaries (issue 12): install, every kind of upgrade, rollback and
uninstall, one tenant and two side by side, driven by .tools/bin/helm3 and helm4 against the
real kube-apiserver and kube-controller-manager (tests/support/rig.py): the real Job
controller runs the hook Jobs, whose pods tests/support/podrunner.py runs as the kubelet
would, and nmstate's handler applies each policy to a model of each node
(tests/support/nmstatehandler.py). After every step each node carries exactly what the values
of every installed release declare, and the live policies hold exactly those values' state
(tests/support/lifecycle.py, Cluster.check).

Slow (20-80 s a row, on purpose): each step is a real `helm` run whose hook Jobs the real
Job controller starts and whose pods run Python, and each waits for nmstate's handler to
apply every policy; the row is the proof, so it is not cut short.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import helm
from tests.support.lifecycle import HELM_TIMEOUT, ROLLBACK_ON_FAILURE, SEED, TENANT_B, Cluster, Release
from tests.support.rig import Rig

Values = dict[str, Any]
# tenant-a's hook Jobs and test pod in namespace test: (namespace, name) as the pod runner
# keeps their attempts (tests/support/podrunner.py)
PREFLIGHT_JOB = ("test", "tenant-a-symmetric-routing-preflight")
PRUNE_JOB = ("test", "tenant-a-symmetric-routing-prune")
WAIT_JOB = ("test", "tenant-a-symmetric-routing-wait")
VERIFY_POD = ("test", "tenant-a-symmetric-routing-verify")


@pytest.fixture
def cluster(tmp_path: Path, rig: Rig) -> Iterator[Cluster]:
    for version in helm.HELM_VERSIONS:
        if not helm.helm_binary(version).exists():
            pytest.fail(f"{helm.helm_binary(version)} is missing: run scripts/bootstrap.sh")
    running = Cluster(tmp_path, rig)
    yield running
    running.stop()


def seed() -> Values:
    return copy.deepcopy(SEED)


def ok(step: Any) -> None:
    assert step.returncode == 0, f"helm {' '.join(step.args)} failed:\n{step.output}"


def installed(cluster: Cluster, version: str, values: Values) -> Cluster:
    ok(cluster.install(version, "tenant-a", "test", values))
    cluster.check("install")
    return cluster


# -- the changes an upgrade makes --------------------------------------------------------------


def route_added(values: Values) -> Values:
    values["vrfs"]["ens4vrf"]["routes"].append({"destination": "10.10.0.0/16", "nextHopAddress": "192.168.130.254"})
    return values


def port_changed(values: Values) -> Values:
    vrf = values["vrfs"]["ens4vrf"]
    vrf["ports"] = {"ens6": vrf["ports"].pop("ens4")}
    return values


def cidr_changed(values: Values) -> Values:
    values["cluster"]["clusterNetwork"] = ["10.128.0.0/13"]
    return values


def vrf_added(values: Values) -> Values:
    values["vrfs"]["ens5vrf"] = copy.deepcopy(TENANT_B["vrfs"]["ens5vrf"])
    return values


def vrf_renamed(values: Values) -> Values:
    values["vrfs"]["blue"] = values["vrfs"].pop("ens4vrf")
    return values


def per_node(*nodes: str) -> Callable[[Values], Values]:
    """The VRF on the listed workers, each with its own address (a `nodes` table)."""

    def change(values: Values) -> Values:
        vrf = values["vrfs"]["ens4vrf"]
        vrf["policy"]["nodeSelector"] = {"node-role.kubernetes.io/worker": ""}
        vrf["ports"] = {"ens4": {}}
        vrf["nodes"] = {node: {"ens4": [f"192.168.130.{130 + int(node[-1])}/24"]} for node in nodes}
        return values

    return change


def with_service(*ports: int) -> Callable[[Values], Values]:
    """The chart also renders the LoadBalancer Service of server1, on these ports (a core
    kind: Helm 3 patches it with a strategic merge patch)."""

    def change(values: Values) -> Values:
        values["vrfs"]["ens4vrf"]["egressServices"]["server1"] = {"service": {
            "create": True, "selector": {"app": "server1"},
            "ports": [{"name": f"p{port}", "port": port, "targetPort": port + 8000} for port in ports]}}
        return values

    return change


# Upgrades: (values installed, values upgraded to).
UPGRADES: dict[str, tuple[Callable[[Values], Values], Callable[[Values], Values]]] = {
    "route added": (lambda v: v, route_added),
    "route removed": (route_added, lambda v: v),
    "port changed": (lambda v: v, port_changed),
    "cidr changed": (lambda v: v, cidr_changed),
    "vrf added": (lambda v: v, vrf_added),
    "vrf dropped": (vrf_added, lambda v: v),
    "vrf renamed": (lambda v: v, vrf_renamed),
    "node added": (per_node("worker-0", "worker-1"), per_node("worker-0", "worker-1", "worker-2")),
    "node removed": (per_node("worker-0", "worker-1", "worker-2"), per_node("worker-0", "worker-1")),
    "service ports changed": (with_service(80, 443), with_service(443, 8443)),
}


def upgrade_cases() -> list[Any]:
    return [pytest.param(change, version, id=f"{change.replace(' ', '-')}-{version}")
            for change in UPGRADES for version in helm.HELM_VERSIONS]


@pytest.mark.parametrize(("change", "version"), upgrade_cases())
def test_upgrade(cluster: Cluster, change: str, version: str) -> None:
    before, after = UPGRADES[change]
    installed(cluster, version, before(seed()))
    if change == "cidr changed":
        # The cluster network grew first (the preflight checks the values against it).
        network = cluster.api.get("config.openshift.io", "networks", "", "cluster")
        assert network is not None
        for part in ("spec", "status"):
            network[part]["clusterNetwork"] = [{"cidr": "10.128.0.0/13", "hostPrefix": 23}]
        cluster.api.put_object(cluster.api.kind_of("config.openshift.io", "networks"), network)
    ok(cluster.upgrade(version, "tenant-a", after(seed())))
    cluster.check(f"upgrade: {change}")
    if change == "route added":
        assert_the_helm_wrote_the_policy_its_own_way(cluster, version)
    ok(cluster.helm(version, *cluster.uninstall_args("tenant-a")))
    del cluster.installed["tenant-a"]
    cluster.check(f"uninstall after {change}")
    assert not cluster.live_policies()
    assert not cluster.api.list("", "secrets", "test"), "helm's release secrets are gone"


# How each Helm writes a policy on upgrade: Helm 3 a JSON merge patch made from the previous
# and the new manifest for a custom resource (helm v3.19.0 pkg/kube/client.go, createPatch:
# an unstructured object gets jsonpatch.CreateMergePatch(old, new)); Helm 4 a server-side
# apply, not forced (helm v4.1.4 pkg/kube/client.go, patchResourceServerSide: ApplyPatchType,
# Force from --force-conflicts, false by default).
SENDS = {"helm3": ("application/merge-patch+json", "fieldManager=helm"),
         "helm4": ("application/apply-patch+yaml", "force=false")}


def assert_the_helm_wrote_the_policy_its_own_way(cluster: Cluster, version: str) -> None:
    """Checked in the route-added upgrade row (a row of its own would install the same
    release again: each row costs Helm's whole install)."""
    writes = [(r.content_type, r.path) for r in cluster.api.requests
              if r.method == "PATCH" and r.path.startswith("/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy")]
    content_type, parameter = SENDS[version]
    assert writes and all(kind == content_type and parameter in path for kind, path in writes), writes


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_no_change_upgrade_after_a_hand_edit(cluster: Cluster, version: str) -> None:
    """Someone adds a route to the policy by hand (kubectl edit: a PUT by another field
    manager); nmstate applies it. An upgrade with the same values puts back exactly what
    they declare."""
    installed(cluster, version, seed())
    policy = cluster.api.get("nmstate.io", "nodenetworkconfigurationpolicies", "", "vrfpolicy")
    assert policy is not None
    policy["spec"]["desiredState"]["routes"]["config"].append(
        {"destination": "10.99.0.0/16", "next-hop-address": "192.168.130.99", "next-hop-interface": "ens4", "table-id": 2})
    status, _ = cluster.api.handle("PUT", "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/vrfpolicy"
                                   "?fieldManager=kubectl-edit",
                                   {"Authorization": f"Bearer {cluster.api.token}", "Content-Type": "application/json"},
                                   json.dumps(policy).encode())
    assert status == 200
    cluster.nmstate.settle()
    assert any(("destination", "10.99.0.0/16") in route for route in cluster.nmstate.nodes["worker-0"].routes)
    ok(cluster.upgrade(version, "tenant-a", seed()))
    cluster.check("no-change upgrade after a hand edit")


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_rollback(cluster: Cluster, version: str) -> None:
    """Revision 2 adds a VRF; rolling back to revision 1 leaves the nodes as revision 1 declares."""
    first = installed(cluster, version, seed()).installed["tenant-a"]
    ok(cluster.upgrade(version, "tenant-a", vrf_added(seed())))
    cluster.check("upgrade to revision 2")
    ok(cluster.helm(version, "rollback", "tenant-a", "1", "-n", "test", "--timeout", "90s"))
    cluster.installed["tenant-a"] = first
    cluster.check("rollback to revision 1")


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_a_failed_preflight_stops_the_install_before_any_node_is_touched(cluster: Cluster, version: str) -> None:
    """Values whose service network is not the cluster's: the pre-install hook Job fails, Helm
    stops, and no policy exists, no node carries anything."""
    values = seed()
    values["cluster"]["serviceNetwork"] = ["172.31.0.0/16"]
    step = cluster.install(version, "tenant-a", "test", values)
    assert step.returncode != 0
    assert "pre-install" in step.output and "failed" in step.output, step.output
    # backoffLimit 1: two pods, both failed.
    attempts = cluster.jobs.attempts[PREFLIGHT_JOB]
    assert len(attempts) == 2 and all(a.returncode != 0 for a in attempts)
    cluster.check("failed install")
    assert not cluster.live_policies()


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_uninstall_with_a_bfd_profile(cluster: Cluster, version: str) -> None:
    """A peer with a BFD profile (MetalLB's webhook: bfdprofile_webhook.go, validateBFDDelete)."""
    values = seed()
    values["bfdProfiles"] = {"fast": {"receiveInterval": 300, "transmitInterval": 300}}
    values["vrfs"]["ens4vrf"]["bgpPeers"]["frrviavrf"]["bfdProfile"] = "fast"
    installed(cluster, version, values)
    ok(cluster.helm(version, *cluster.uninstall_args("tenant-a")))
    del cluster.installed["tenant-a"]
    cluster.check("uninstall")
    assert not cluster.api.list("metallb.io", "bfdprofiles", "metallb-system")


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_two_tenants_side_by_side(cluster: Cluster, version: str) -> None:
    """Two releases on the same node, sharing the main-table route rules: each one's upgrade
    and uninstall leaves the other's state in place."""
    installed(cluster, version, seed())
    ok(cluster.install(version, "tenant-b", "prod", copy.deepcopy(TENANT_B)))
    cluster.check("second tenant installed")
    ok(cluster.upgrade(version, "tenant-a", route_added(seed())))
    cluster.check("first tenant upgraded")
    ok(cluster.helm(version, *cluster.uninstall_args("tenant-b")))
    del cluster.installed["tenant-b"]
    cluster.check("second tenant uninstalled")
    ok(cluster.helm(version, *cluster.uninstall_args("tenant-a")))
    del cluster.installed["tenant-a"]
    cluster.check("both uninstalled")


def on_a_shared_bond(values: Values, vrf: str, vlan: int) -> Values:
    """The tenant's port becomes a VLAN on bond1, which its policy also declares (raw, in
    policy.extraInterfaces): two tenants' VLANs on one bond."""
    config = values["vrfs"][vrf]
    (address,) = next(iter(config["ports"].values()))["ipv4"]
    config["ports"] = {f"bond1.{vlan}": {"type": "vlan", "vlan": {"baseInterface": "bond1", "id": vlan}, "ipv4": [address]}}
    config["policy"]["extraInterfaces"] = [{"name": "bond1", "type": "bond", "state": "up",
                                            "link-aggregation": {"mode": "active-backup", "port": ["ens1f0", "ens1f1"]}}]
    return values


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_two_tenants_on_one_bond(cluster: Cluster, version: str) -> None:
    """Each tenant's VLAN on the same bond: uninstalling one leaves the bond the other declares."""
    installed(cluster, version, on_a_shared_bond(seed(), "ens4vrf", 101))
    ok(cluster.install(version, "tenant-b", "prod", on_a_shared_bond(copy.deepcopy(TENANT_B), "ens5vrf", 102)))
    cluster.check("second tenant on the bond")
    ok(cluster.helm(version, *cluster.uninstall_args("tenant-a")))
    del cluster.installed["tenant-a"]
    cluster.check("first tenant uninstalled")


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_two_tenants_uninstalled_concurrently(cluster: Cluster, version: str) -> None:
    installed(cluster, version, seed())
    ok(cluster.install(version, "tenant-b", "prod", copy.deepcopy(TENANT_B)))
    cluster.check("both installed")
    # The worst interleaving: both teardowns have read every policy before either writes.
    # (Serialised teardowns never both get here: the first waits 5 s, then goes on alone.)
    barrier, passed = threading.Barrier(2, timeout=5), set()

    def both_read_first(method: str, path: str, user: str) -> None:
        if method == "PUT" and "/nodenetworkconfigurationpolicies/" in path and user not in passed:
            passed.add(user)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass

    cluster.api.gates.append(both_read_first)
    runs = [(cluster.start_helm(version, *cluster.uninstall_args(r)), cluster.uninstall_args(r))
            for r in ("tenant-a", "tenant-b")]
    for process, args in runs:
        ok(cluster.finish(process, args))
    cluster.installed.clear()
    cluster.check("both uninstalled at once")


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_a_vrf_set_to_null_with_reuse_values_stays_and_reset_then_reuse_removes_it(cluster: Cluster,
                                                                                    version: str) -> None:
    """helm v3.19.0 and v4.1.4 pkg/action/upgrade.go reuseValues: --reuse-values deletes the
    null key from the new user values (chartutil CoalesceTables: a nil in dst drops the key)
    but renders over chart.Values = the old release's coalesced values, which still hold the
    VRF: it stays rendered and on the nodes while `helm get values` no longer shows it.
    --reset-then-reuse-values renders over the new chart's own defaults: the VRF goes, and
    the prune takes it off the nodes first."""
    two = vrf_added(seed())
    installed(cluster, version, two)
    both = set(cluster.live_policies())
    reused = cluster.helm(version, "upgrade", "tenant-a", ".", "-n", "test", "--reuse-values",
                          "--set", "vrfs.ens5vrf=null", "--timeout", HELM_TIMEOUT)
    ok(reused)
    cluster.check("--reuse-values --set vrfs.ens5vrf=null: both VRFs still rendered and on the nodes")
    assert set(cluster.live_policies()) == both and len(both) == 2
    shown = cluster.helm(version, "get", "values", "tenant-a", "-n", "test", "-o", "json")
    ok(shown)
    assert "ens5vrf" not in json.loads(shown.output[shown.output.index("{"):])["vrfs"]
    reset = cluster.helm(version, "upgrade", "tenant-a", ".", "-n", "test", "--reset-then-reuse-values",
                         "--set", "vrfs.ens5vrf=null", "--timeout", HELM_TIMEOUT)
    ok(reset)
    cluster.installed["tenant-a"] = Release("tenant-a", "test", cluster.values("tenant-a-reset", seed()))
    cluster.check("--reset-then-reuse-values --set vrfs.ens5vrf=null: the VRF is off the nodes")
    assert len(set(cluster.live_policies())) == 1 and set(cluster.live_policies()) < both


def lease_held(cluster: Cluster) -> bool:
    """Some cleanup holds a Lease in MetalLB's namespace (hooks/symrouting/lease.py)."""
    return any((lease.get("spec") or {}).get("holderIdentity")
               for lease in cluster.api.list("coordination.k8s.io", "leases", "metallb-system"))


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_a_prune_killed_holding_the_lease_is_finished_by_its_retry(cluster: Cluster, version: str) -> None:
    """Issue 25: the prune's pod is SIGKILLed while it holds the cleanup Lease and waits for
    worker-0 (held by nmstate), at cleanup.timeoutSeconds 30 (the schema's minimum). The
    Job's retry pod takes the Lease once its renewTime + leaseDurationSeconds has passed
    (client-go leaderelection), names the holder as this release's own dead run, finishes the
    prune, and the upgrade ends with the nodes as the new values declare."""
    values = route_added(seed())
    installed(cluster, version, values)
    held = cluster.nmstate.hold.setdefault("worker-0", threading.Event())
    cluster.jobs.kill_first(*PRUNE_JOB, when=lambda: lease_held(cluster))

    def release_once_killed() -> None:
        # bounded: an upgrade that never starts the prune must not leave this poller behind
        end = time.monotonic() + 120
        while not cluster.jobs.attempts.get(PRUNE_JOB) and time.monotonic() < end:
            time.sleep(0.1)
        held.set()

    threading.Thread(target=release_once_killed, daemon=True).start()
    upgraded = seed()
    upgraded["cleanup"] = {"timeoutSeconds": 30}
    try:
        ok(cluster.upgrade(version, "tenant-a", upgraded))
    finally:
        held.set()
        cluster.nmstate.hold.pop("worker-0", None)
    attempts = cluster.jobs.attempts[PRUNE_JOB]
    assert [a.returncode for a in attempts] == [137, 0], cluster.log()
    retry = attempts[1].output
    assert "held by this release's own earlier cleanup" in retry, retry
    assert "(renewTime + leaseDurationSeconds)" in retry, retry
    cluster.check("upgrade after the killed prune")



# -- the wait after a change (issue 21) ----------------------------------------------------------

# nmstate's own words for a refused MTU (nmstate v2.2.37 rust/src/lib/ifaces/base.rs,
# validate_mtu), as the node model raises them (tests/support/nodestate.py, Node.apply) and
# kubernetes-nmstate reports them on the node's enactment (tests/support/nmstatehandler.py).
REFUSED = "InvalidArgument: Desired MTU 9000 for interface ens4 is bigger than maximum allowed MTU 1500"
REFUSED_ON_WORKER_1 = f"worker-1: failed: error reconciling NodeNetworkConfigurationPolicy on node worker-1: {REFUSED}"


def on_three_nodes(mtu: int) -> Values:
    """The VRF on all three workers (a policy each), ens4 at this MTU. The MTU is set from the
    start: nmstate keeps a value a state stops naming, so only a rollback to a state that
    names the old MTU puts it back."""
    values = per_node("worker-0", "worker-1", "worker-2")(seed())
    values["vrfs"]["ens4vrf"]["ports"]["ens4"]["mtu"] = mtu
    return values


def policy_of(cluster: Cluster, node: str) -> str:
    """The name of the live per-node policy that selects this node by its hostname label."""
    (name,) = [p["metadata"]["name"] for p in cluster.api.list("nmstate.io", "nodenetworkconfigurationpolicies")
               if (p["spec"].get("nodeSelector") or {}).get("kubernetes.io/hostname") == node]
    return str(name)


def outputs(cluster: Cluster, job: tuple[str, str]) -> list[str]:
    """What each pod of this Job (or this test pod) printed, in order."""
    return [attempt.output for attempt in cluster.jobs.attempts.get(job, [])]


def mtus(cluster: Cluster) -> dict[str, Any]:
    return {name: node.get("mtu") for name, node in cluster.actual_nodes().items()}


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
def test_a_good_upgrade_waits_for_every_node(cluster: Cluster, version: str) -> None:
    """The upgrade adds worker-2, whose nmstate applies only once the wait has looked at the
    enactments: the wait said it was pending, then saw it applied, and only then did the
    upgrade return."""
    values = on_three_nodes(1500)
    del values["vrfs"]["ens4vrf"]["nodes"]["worker-2"]
    installed(cluster, version, values)
    looked = threading.Event()
    cluster.nmstate.hold["worker-2"] = looked

    def wait_looks(method: str, path: str, user: str) -> None:
        if "nodenetworkconfigurationenactments" in path and user.endswith(":tenant-a-symmetric-routing-wait"):
            threading.Timer(1.0, looked.set).start()

    cluster.api.gates.append(wait_looks)
    try:
        step = cluster.upgrade(version, "tenant-a", on_three_nodes(1500))
    finally:
        looked.set()
    ok(step)
    cluster.check("upgrade that waited")
    new = policy_of(cluster, "worker-2")
    log = outputs(cluster, WAIT_JOB)[-1]
    pending = log.find(f"{new}: applied on 0/1 node(s); pending worker-2")
    done = log.find(f"DONE  {new} (generation 1): applied on 1/1 node(s)")
    assert 0 <= pending < done, log
    assert log.endswith("wait for release test/tenant-a finished: every policy is Available on every node it selects\n"), log
    # Helm ran the upgrade's wait (a pod each for install and upgrade) and returned on its success
    assert [a.returncode for a in cluster.jobs.attempts[WAIT_JOB]] == [0, 0], cluster.log()


# Which hook refuses a change a node cannot take: by default the prune (pre-upgrade), which
# sends a kept policy its new state itself (hooks/symrouting/cleanup.py, _ending_on) and waits
# for it; with cleanup.onUpgrade false only Helm sends it, and the wait (post-upgrade) refuses.
CAUGHT_BY = {"prune": (PRUNE_JOB, "pre-upgrade", True), "wait": (WAIT_JOB, "post-upgrade", False)}


def installed_before_a_bad_mtu(cluster: Cluster, version: str, prune: bool) -> Values:
    """tenant-a on three nodes at MTU 1500, worker-1's NIC taking no more (cleanup.onUpgrade
    as given); returns the values that ask for MTU 9000, which nmstate refuses on worker-1."""
    cluster.nmstate.max_mtu["worker-1"] = {"ens4": 1500}
    first = on_three_nodes(1500)
    first["cleanup"]["onUpgrade"] = prune
    installed(cluster, version, first)
    bad = on_three_nodes(9000)
    bad["cleanup"]["onUpgrade"] = prune
    return bad


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
@pytest.mark.parametrize("hook", sorted(CAUGHT_BY))
def test_a_bad_upgrade_fails_naming_the_node_and_nmstates_message(cluster: Cluster, version: str, hook: str) -> None:
    """worker-1's NIC takes no MTU above 1500: nmstate refuses the upgrade there and applies it
    on the others. The release fails at the hook that waited, which names worker-1 with
    nmstate's message, and `helm test` (verify, then the live status) says the same."""
    job, phase, prune = CAUGHT_BY[hook]
    step = cluster.upgrade(version, "tenant-a", installed_before_a_bad_mtu(cluster, version, prune))
    assert step.returncode != 0 and f"{phase} hooks failed" in step.output, step.output
    if hook == "wait":
        assert not outputs(cluster, PRUNE_JOB), cluster.log()
    log = outputs(cluster, job)[0 if hook == "prune" else -1]
    names = {node: policy_of(cluster, node) for node in ("worker-0", "worker-1", "worker-2")}
    assert f"      {REFUSED_ON_WORKER_1}\n" in log, log
    assert f"FAIL  {names['worker-1']}" in log and "applied on 0/1 node(s)" in log.split(f"FAIL  {names['worker-1']}")[1], log
    assert f"DONE  {names['worker-0']}" in log and f"DONE  {names['worker-2']}" in log, log
    assert "worker-0: failed" not in log and "worker-2: failed" not in log, log
    assert mtus(cluster) == {"worker-0": {"ens4": 9000}, "worker-1": {"ens4": 1500}, "worker-2": {"ens4": 9000}}
    test = cluster.helm(version, "test", "tenant-a", "-n", "test", "--timeout", HELM_TIMEOUT)
    assert test.returncode != 0, test.output
    (verify,) = outputs(cluster, VERIFY_POD)
    checked, _, live = verify.partition("\n\n")
    assert f"      {names['worker-1']}: {REFUSED_ON_WORKER_1}\n" in checked, verify
    assert "worker-0: failed" not in checked and "worker-2: failed" not in checked, verify
    refused = f"error reconciling NodeNetworkConfigurationPolicy on node worker-1: {REFUSED}"
    assert re.search(rf"^FAIL +ens4vrf +worker-1 +policy {names['worker-1']} +Failing: {re.escape(refused)}$",
                     live, re.MULTILINE), verify
    for node in ("worker-0", "worker-2"):
        assert re.search(rf"^OK +ens4vrf +{node} +policy {names[node]} +Available", live, re.MULTILINE), verify


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
@pytest.mark.parametrize("hook", sorted(CAUGHT_BY))
def test_a_bad_upgrade_with_rollback_on_failure_leaves_the_nodes_as_before(cluster: Cluster, version: str,
                                                                          hook: str) -> None:
    """The same refused MTU with --rollback-on-failure (Helm 4) / --atomic (Helm 3): the hook
    that waited fails on worker-1, Helm rolls back to revision 1, whose state (MTU 1500)
    nmstate applies again on every node; the rollback's own wait sees it applied."""
    job, _, prune = CAUGHT_BY[hook]
    bad = installed_before_a_bad_mtu(cluster, version, prune)
    before = cluster.actual_nodes()
    step = cluster.upgrade(version, "tenant-a", bad, ROLLBACK_ON_FAILURE[version])
    assert step.returncode != 0 and "rolled back" in step.output, step.output
    assert any(REFUSED_ON_WORKER_1 in out for out in outputs(cluster, job)), cluster.log()
    waits = outputs(cluster, WAIT_JOB)
    assert len(waits) >= 2, cluster.log()  # the install's, (the upgrade's,) the rollback's
    assert waits[-1].endswith("wait for release test/tenant-a finished: every policy is Available on every node "
                              "it selects\n"), waits[-1]
    cluster.check("rolled back")  # the installed values are still revision 1's
    assert cluster.actual_nodes() == before
    assert mtus(cluster) == {"worker-0": {"ens4": 1500}, "worker-1": {"ens4": 1500}, "worker-2": {"ens4": 1500}}
