#!/usr/bin/env python3
"""Benchmark (not a test): the hooks against large clusters on the real API server.

1. 500 nodes (each with 40 images in its status, as real nodes carry), 300 other releases'
   NNCPs and 300 IPAddressPools, written into the real kube-apiserver of
   tests/support/realcluster.py (benchmarks/realrig.py): the preflight of the documentation's
   example. Targets: at most 3x the floor, under 40 MiB.
2. 500 nodes and 2,000 NNCPs: a release of 4 VRFs on 100 nodes each (400 per-node policies,
   benchmarks/render.py's multi-node site) beside 1,600 of other releases: its preflight, and
   its teardown (the cleanup on uninstall: 400 updates, each applied by kubernetes-nmstate's
   handler on the node model, tests/support/nmstatehandler.py, which writes the enactments the
   teardown waits for). Before each teardown run the release's policies get their installed
   state back and the handler applies it. Targets: the preflight at most 3x the floor and
   64 MiB; the teardown's own CPU at most 1.5x a bare client that sends the same requests
   (benchmarks/floor.py, recorded by the proxy in front of the server), the floor that does
   the same work.

Each prints the wall time (median of runs) and peak memory beside the floor: a bare
`python3 -c 'import ssl, json, urllib.request'`. With no target, each preflight is also
printed beside a bare client sending its requests one after another (the preflight reads
side by side on four connections): what the same reads cost without the checks. Set-up
(the control plane, the objects created 16 at a time) is timed and printed.

Run: .tools/venv/bin/python benchmarks/preflight.py [--runs N] [--profile FILE]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import realrig  # noqa: E402
from benchmarks.floor import BARE_CLIENT  # noqa: E402
from benchmarks.render import multi_node_site  # noqa: E402
from tests.hooks.conftest import render_plan  # noqa: E402
from tests.support import clusters, helm  # noqa: E402
from tests.support.nmstatehandler import ENACTMENTS, POLICIES, NmstateHandler  # noqa: E402

# kubernetes-nmstate runs a handler on every node, so nodes apply a policy in parallel; the
# node model takes one policy at a time, so it gets this many workers on its queue.
HANDLER_WORKERS = 8


def stand_in() -> dict[str, Any]:
    # As in the documentation's example, one node carries the VRF (its address is that node's).
    nodes = [clusters.node(f"worker-{i:03d}", {"vrf": "true"} if i == 0 else {"rack": f"r{i % 20}"},
                           masquerade={"ipv4": "169.254.0.0/17"}, images=40) for i in range(500)]
    routes = clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes)
    for i in range(300):
        owner = f"tenant-{i}/tenant-{i}"
        clusters.add_policy(routes, f"tenant-{i}-vrf", vrf=f"t{i}vrf", table=10 + i, selector={"rack": f"r{i % 20}"}, owner=owner)
        clusters.add_pool(routes, f"tenant-{i}-pool", [f"10.{200 + i // 250}.{i % 250}.0/28"], owner=owner)
    return routes


def large_stand_in(values: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """500 nodes, 1,600 other releases' policies, and the release's own 400."""
    nodes = [clusters.node(f"worker-{i:03d}", {"node-role.kubernetes.io/worker": ""} if i < 400 else {"rack": "r9"},
                           masquerade={"ipv4": "169.254.0.0/17"}, images=40) for i in range(500)]
    routes = clusters.openshift(service=["10.96.0.0/16"], cluster=["10.244.0.0/16"], nodes=nodes,
                                metallb_version="0.16.1", routing_via_host=True)
    for i in range(1600):
        clusters.add_policy(routes, f"tenant-{i}-vrf", vrf=f"t{i}vrf", table=2000 + i, selector={"rack": f"r{i % 8}"},
                            owner=f"tenant-{i}/tenant-{i}")
    result = helm.template("helm3", [values])
    return routes, [d for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"]


# Runs the measured code, then writes the process's VmHWM (peak resident set of its own
# address space) to the file named in HWM_FILE. rusage's maxrss would not do: Linux carries
# the parent's resident size over exec into it, and this parent holds a TLS server.
PEAK_WRAPPER = """
import os, runpy, sys
try:
    if sys.argv[1] == "floor":
        import ssl, json, urllib.request
    elif sys.argv[1] == "replay":
        sys.argv = sys.argv[1:]
        exec(os.environ["BARE_CLIENT"])
    else:
        sys.argv = ["symrouting", *sys.argv[2:]]
        runpy.run_module("symrouting", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["HWM_FILE"], "w") as out:
        out.write(peak)
"""


def measure(arguments: list[str], env: dict[str, str], runs: int,
            peak_file: Path) -> tuple[float, float, int, float]:
    """Median wall seconds, peak RSS in MiB (largest of the runs), last exit code, median CPU
    seconds of the process itself (user and system: what it costs without the server's share)."""
    times, peaks, code, cpu = [], [], 0, []
    devnull = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    command = [sys.executable, "-S", "-c", PEAK_WRAPPER, *arguments]
    for _ in range(runs):
        started = time.perf_counter()
        pid = os.posix_spawn(command[0], command, {**env, "HWM_FILE": str(peak_file)}, file_actions=devnull)
        _, status, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - started)
        cpu.append(usage.ru_utime + usage.ru_stime)
        code = os.waitstatus_to_exitcode(status)
        peaks.append(int(peak_file.read_text()) / 1024)
    return statistics.median(times), max(peaks), code, statistics.median(cpu)


def measure_bare(api: realrig.RealApi, since: int, env: dict[str, str], runs: int,
                 peak_file: Path) -> tuple[int, tuple[float, float, int, float]]:
    """The floor of a hook run: a bare client (benchmarks/floor.py) sending what the proxy saw
    since the since-th request (realrig.requests_file); how many requests, and measure's figures."""
    requests = peak_file.with_name("requests.json")
    count = realrig.requests_file(api, since, requests)
    return count, measure(["replay", str(api.ca_file), str(requests), api.url], {**env, "BARE_CLIENT": BARE_CLIENT},
                          runs, peak_file)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", metavar="FILE", help="also run the teardown once under cProfile, stats into FILE")
    parser.add_argument("--only-large", action="store_true", help="skip the documentation example's preflight")
    args = parser.parse_args()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "hooks"), "PYTHONDONTWRITEBYTECODE": "1"}
    realrig.fresh_bytecode(ROOT / "hooks")
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        floor_time, floor_mem, _, floor_cpu = measure(["floor"], env, args.runs, peak_file)
    if not args.only_large:
        small(args.runs, env, floor_time, floor_mem)
    large(args.runs, env, floor_time, floor_cpu, args.profile)
    return 0


def small(runs: int, env: dict[str, str], floor_time: float, floor_mem: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        site = work / "site.yaml"
        site.write_text("cluster:\n  masqueradeSubnet: [169.254.0.0/17]\n")
        (work / "plan.json").write_text(render_plan([ROOT / "ci" / "seed-values.yaml", site]))
        rig = realrig.start(work)
        try:
            realrig.load(rig.api, stand_in())
            before = len(rig.api.requests)
            run_time, run_mem, code, run_cpu = measure(["preflight", "preflight", f"--plan={work / 'plan.json'}",
                                                        *rig.access], env, runs, work / "peak")
            requests = (len(rig.api.requests) - before) // runs
            _, (bare_time, _, _, bare_cpu) = measure_bare(rig.api, len(rig.api.requests) - requests, env, runs,
                                                          work / "peak")
        finally:
            rig.stop()
    print("\npreflight against 500 nodes, 300 NNCPs, 300 pools (real kube-apiserver, HTTPS on 127.0.0.1), "
          f"median of {runs} runs, {requests} API requests per run")
    print(f"{'':28}{'wall':>10}{'peak RSS':>12}")
    print(f"{'floor (import ssl, json)':28}{floor_time * 1000:>8.0f}ms{floor_mem:>9.1f}MiB")
    print(f"{'preflight':28}{run_time * 1000:>8.0f}ms{run_mem:>9.1f}MiB")
    ratio = run_time / floor_time
    print(f"ratio to floor: {ratio:.2f}x (target <= 3x: {'met' if ratio <= 3 else 'MISSED'}); peak memory "
          f"{run_mem:.1f} MiB (target < 40 MiB: {'met' if run_mem < 40 else 'MISSED'}); preflight exit code {code}")
    print(f"against a bare client sending its {requests} requests one after another (benchmarks/floor.py; no target): "
          f"wall {run_time * 1000:.0f} ms vs {bare_time * 1000:.0f} ms = {run_time / bare_time:.2f}x, own CPU "
          f"{run_cpu * 1000:.0f} ms vs {bare_cpu * 1000:.0f} ms = {run_cpu / bare_cpu:.2f}x")


def large(runs: int, env: dict[str, str], floor_time: float, floor_cpu: float, profile: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        values = work / "site.yaml"
        import yaml
        values.write_text(yaml.safe_dump(multi_node_site(100)))
        (work / "plan.json").write_text(render_plan([values]))
        routes, ours = large_stand_in(values)
        rig = realrig.start(work)
        api = rig.api
        handler = NmstateHandler(api.cluster.client())
        for _ in range(HANDLER_WORKERS - 1):
            threading.Thread(target=handler._work, daemon=True, name="nmstate-work").start()
        try:
            realrig.load(api, routes, "nodes, other releases' policies and cluster objects")
            began = time.monotonic()
            installed = {p["metadata"]["name"]: p for p in ours}
            realrig.create_all(api, [(POLICIES, p) for p in ours])
            handler.settle(timeout=900)
            print(f"set-up: the release's {len(ours)} policies created and applied by the nmstate handler in "
                  f"{time.monotonic() - began:.1f} s", flush=True)
            common = [f"--plan={work / 'plan.json'}", *rig.access]
            peak_file = work / "peak"
            before = len(api.requests)
            preflight = measure(["preflight", "preflight", *common], env, runs, peak_file)
            asked = (len(api.requests) - before) // runs
            _, preflight_bare = measure_bare(api, len(api.requests) - asked, env, runs, peak_file)
            teardown_command = ["teardown", "teardown", *common]
            torn, bare, count, restore, looks = [], [], 0, [], []
            for run in range(runs):
                if run:
                    began = time.monotonic()
                    reinstall(api, installed)
                    handler.settle(timeout=900)
                    restore.append(time.monotonic() - began)
                before = len(api.requests)
                torn.append(measure(teardown_command, env, 1, peak_file))
                handler.settle(timeout=900)
                # The floor: a bare client sending what this run sent, on the policies as the
                # run left them (benchmarks/floor.py, realrig.requests_file).
                looks.append(sum(r.method == "GET" and r.path.startswith(ENACTMENTS) for r in api.requests[before:]))
                count, floor_run = measure_bare(api, before, env, 1, peak_file)
                bare.append(floor_run[3])
            if restore:
                print(f"set-up between runs: the policies' installed state back and applied in "
                      f"{statistics.median(restore):.1f} s (median)", flush=True)
            if profile:
                reinstall(api, installed)
                handler.settle(timeout=900)
                realrig.profile(teardown_command, env, Path(profile))
        finally:
            handler.stop()
            rig.stop()
    teardown = (statistics.median(t[0] for t in torn), max(t[1] for t in torn), torn[-1][2],
                statistics.median(t[3] for t in torn))
    print(f"\n500 nodes, 2,000 NNCPs (400 of the release: 4 VRFs x 100 nodes, one policy per node), "
          f"real kube-apiserver, median of {runs} runs")
    print(f"{'':28}{'wall':>10}{'ratio':>8}{'own CPU':>10}{'ratio':>8}{'peak RSS':>12}")
    for name, (spent, peak, code, used) in (("preflight", preflight), ("teardown", teardown)):
        print(f"{name:28}{spent * 1000:>8.0f}ms{spent / floor_time:>7.2f}x{used * 1000:>8.0f}ms"
              f"{used / floor_cpu:>7.2f}x{peak:>9.1f}MiB  exit code {code}")
    ratio, peak = preflight[0] / floor_time, preflight[1]
    print(f"floor: {floor_time * 1000:.0f} ms wall, {floor_cpu * 1000:.0f} ms CPU; preflight {ratio:.2f}x the floor "
          f"(target <= 3x: {'met' if ratio <= 3 else 'MISSED'}), {peak:.1f} MiB (target <= 64 MiB: "
          f"{'met' if peak <= 64 else 'MISSED'})")
    print(f"preflight against a bare client sending its {asked} requests one after another (benchmarks/floor.py; "
          f"no target): wall {preflight[0] * 1000:.0f} ms vs {preflight_bare[0] * 1000:.0f} ms = "
          f"{preflight[0] / preflight_bare[0]:.2f}x, own CPU {preflight[3] * 1000:.0f} ms vs "
          f"{preflight_bare[3] * 1000:.0f} ms = {preflight[3] / preflight_bare[3]:.2f}x")
    used, floor = teardown[3], statistics.median(bare)
    ratio = used / floor
    print(f"teardown against a bare client sending its {count} requests (benchmarks/floor.py): own CPU "
          f"{used * 1000:.0f} ms vs {floor * 1000:.0f} ms = {ratio:.2f}x (target <= 1.5x: "
          f"{'met' if ratio <= 1.5 else 'MISSED'}); of them, enactment lists while nmstate applied: "
          f"{', '.join(map(str, looks))} per run")


def reinstall(api: realrig.RealApi, installed: dict[str, dict[str, Any]]) -> None:
    """The release's policies as installed again: their spec back (a new generation nmstate applies)."""
    bodies = []
    for name, policy in installed.items():
        live = api.client.get(f"{POLICIES}/{name}")
        assert live is not None, name
        live["spec"] = copy.deepcopy(policy["spec"])
        live.pop("status", None)
        bodies.append((f"{POLICIES}/{name}", live))
    realrig.put_all(api, bodies)


if __name__ == "__main__":
    sys.exit(main())
