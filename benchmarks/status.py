#!/usr/bin/env python3
"""Benchmark (not a test): `symrouting status` against a large cluster on the real API server.

500 nodes; a release of 4 VRFs on 250 of them, one policy per node (benchmarks/render.py's
multi-node site: 1,000 NNCPs), 2 peers per VRF, so 2,000 BGPSessionStates, and 8 egress
services; beside them 1,000 NNCPs of other releases. Every node reports a NodeNetworkState
(its VRFs and rules, plus a dozen other interfaces), an enactment per policy and node, a
ConfigurationState per speaker, a ServiceBGPStatus per service: as tests/support/livestate.py
shapes them, each written into the real kube-apiserver of tests/support/realcluster.py
(benchmarks/realrig.py, set-up time printed). The status is read twice: from the plan (as `helm test` does) and discovered by
the chart's labels (as from a laptop). Printed beside a Python start (a bare
`python3 -c 'import ssl, json, urllib.request'`) and, the target, beside a bare client that
sends the same requests (benchmarks/floor.py), recorded by the proxy in front of the server:
own CPU at most 1.5x that floor.

The hooks run from hooks/ with the bytecode Python caches there, written afresh first. A Job
imports them from hooks/symrouting.zip, where each module is compiled on every run (about
55-65 ms more on 2 cores, Python 3.11): `--compare hooks/symrouting.zip` measures that beside.

Run: .tools/venv/bin/python benchmarks/status.py [--runs N] [--compare hooks/symrouting.zip]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from benchmarks import realrig  # noqa: E402
from benchmarks.preflight import measure, measure_bare  # noqa: E402
from benchmarks.render import multi_node_site  # noqa: E402
from tests.hooks.conftest import render_plan  # noqa: E402
from tests.support import clusters, helm, livestate  # noqa: E402

NODES, VRF_NODES = 500, 250


def stand_in(documents: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """The cluster's answers, and how many BGPSessionStates they hold."""
    names = [f"worker-{i:03d}" for i in range(NODES)]
    nodes = [clusters.node(name, {"node-role.kubernetes.io/worker": ""} if i < VRF_NODES else {"rack": "r9"}, images=40)
             for i, name in enumerate(names)]
    routes = clusters.openshift(service=["10.96.0.0/16"], cluster=["10.244.0.0/16"], nodes=nodes)
    policies = [d for d in documents if d["kind"] == "NodeNetworkConfigurationPolicy"]
    peers = [d for d in documents if d["kind"] == "BGPPeer"]
    egress = [d for d in documents if d["kind"] == "EgressService"]
    routes[livestate.POLICIES] = [{**p, "metadata": {**p["metadata"], "generation": 1}} for p in policies]
    for i in range(1000):
        clusters.add_policy(routes, f"tenant-{i}-vrf", vrf=f"t{i}vrf", table=2000 + i, selector={"rack": f"r{i % 8}"},
                            owner=f"tenant-{i}/tenant-{i}")
    routes[livestate.ENACTMENTS] = [
        livestate.enactment(p["spec"]["nodeSelector"]["kubernetes.io/hostname"], policy_name=p["metadata"]["name"])
        for p in policies]
    states = {name: livestate.node_state(name, with_vrf=False, extra_interfaces=12) for name in names}
    for p in policies:
        current = states[p["spec"]["nodeSelector"]["kubernetes.io/hostname"]]["status"]["currentState"]
        desired = p["spec"]["desiredState"]
        current["interfaces"] += copy.deepcopy(desired["interfaces"])
        current["route-rules"]["config"] += copy.deepcopy(desired.get("route-rules", {}).get("config", []))
    routes[livestate.NODE_STATES] = list(states.values())
    routes[livestate.SESSIONS] = [
        livestate.session(p["spec"]["nodeSelector"]["kubernetes.io/hostname"], peer["spec"]["peerAddress"],
                          peer["spec"]["vrf"], index=i)
        for i, (p, peer) in enumerate((p, peer) for p in policies for peer in peers
                                      if peer["spec"]["vrf"] == p["metadata"]["labels"]["symmetric-routing/vrf"])]
    routes[livestate.CONFIG_STATES] = [livestate.config_state(None)] + [livestate.config_state(n) for n in names]
    routes[livestate.ANNOUNCEMENTS] = []
    for i, service in enumerate(egress):
        meta = service["metadata"]
        host = names[i]
        own = tuple(peer["metadata"]["name"] for peer in peers
                    if peer["spec"]["vrf"] == meta["labels"]["symmetric-routing/vrf"])
        routes[livestate.ANNOUNCEMENTS].append(livestate.announcement(host, own, meta["name"], meta["namespace"]))
        routes[f"/apis/k8s.ovn.org/v1/namespaces/{meta['namespace']}/egressservices/{meta['name']}"] = {
            **service, "status": {"host": host}}
    routes["/apis/k8s.ovn.org/v1/egressservices"] = [{**s, "status": {"host": names[i]}} for i, s in enumerate(egress)]
    routes["/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers"] = peers
    routes["/apis/metallb.io/v1beta2/bgppeers"] = peers
    return routes, len(routes[livestate.SESSIONS])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", metavar="FILE", help="also run each read once under cProfile, stats into FILE.<n>")
    parser.add_argument("--compare", metavar="HOOKS", type=Path,
                        help="also measure the hooks/ folder of another checkout (say, before a change), on the same cluster")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        values = work / "site.yaml"
        values.write_text(yaml.safe_dump(multi_node_site(VRF_NODES)))
        (work / "plan.json").write_text(render_plan([values]))
        documents = helm.template("helm3", [values]).documents
        routes, sessions = stand_in(documents)
        rig = realrig.start(work, namespaces=("apps",))
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "hooks"), "PYTHONDONTWRITEBYTECODE": "1"}
        for hooks in (ROOT / "hooks", *([args.compare] if args.compare else [])):
            realrig.fresh_bytecode(hooks)
        peak_file = work / "peak"
        try:
            realrig.load(rig.api, routes)
            api = rig.api
            floor_time, floor_mem, _, floor_cpu = measure(["floor"], env, args.runs, peak_file)
            commands = {"status --plan": ["status", "status", f"--plan={work / 'plan.json'}", *rig.access],
                        "status --release": ["status", "status", f"--release={helm.NAMESPACE}/{helm.RELEASE}",
                                             *rig.access]}
            if args.compare:
                other = {**env, "PYTHONPATH": str(args.compare.resolve())}
                commands = {**{f"{k} ({args.compare})": (v, other) for k, v in commands.items()},
                            **{k: (v, env) for k, v in commands.items()}}
            else:
                commands = {k: (v, env) for k, v in commands.items()}
            rows, floors = [], {}
            for index, (name, (command, hook_env)) in enumerate(commands.items()):
                # The runs of the read and of its floor take turns, so that a slow spell of the
                # shared machine weighs on both alike. The floor: a bare client sending what
                # the read's run just sent (benchmarks/floor.py).
                runs, bare, count = [], [], 0
                for _ in range(args.runs):
                    before = len(api.requests)
                    runs.append(measure(command, hook_env, 1, peak_file))
                    count, floor_run = measure_bare(api, before, env, 1, peak_file)
                    bare.append(floor_run[3])
                rows.append((name, (statistics.median(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2],
                                    statistics.median(r[3] for r in runs))))
                floors[name] = (statistics.median(bare), count)
                if args.profile:
                    realrig.profile(command, hook_env, Path(f"{args.profile}.{index}"))
        finally:
            rig.stop()
    print(f"status of a release of 4 VRFs x {VRF_NODES} nodes (1,000 NNCPs beside 1,000 others) on {NODES} nodes, "
          f"{sessions} BGP sessions, real kube-apiserver over HTTPS on 127.0.0.1, median of {args.runs} runs")
    print(f"{'':28}{'wall':>10}{'ratio':>8}{'own CPU':>10}{'ratio':>8}{'peak RSS':>12}")
    print(f"{'floor (import ssl, json)':28}{floor_time * 1000:>8.0f}ms{1:>7.2f}x{floor_cpu * 1000:>8.0f}ms"
          f"{1:>7.2f}x{floor_mem:>9.1f}MiB")
    for name, (spent, peak, code, used) in rows:
        print(f"{name:28}{spent * 1000:>8.0f}ms{spent / floor_time:>7.2f}x{used * 1000:>8.0f}ms"
              f"{used / floor_cpu:>7.2f}x{peak:>9.1f}MiB  exit code {code}")
    print("exit code 0 expected (the site is healthy)")
    for name, (_, _, _, used) in rows:
        bare_cpu, count = floors[name]
        ratio = used / bare_cpu
        print(f"{name}: against a bare client sending its {count} requests: own CPU {used * 1000:.0f} ms vs "
              f"{bare_cpu * 1000:.0f} ms = {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
