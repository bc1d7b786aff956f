#!/usr/bin/env python3
"""Benchmark (not a test): the hooks against large stand-in clusters.

1. 500 nodes (each with 40 images in its status, as real nodes carry), 300 other releases'
   NNCPs and 300 IPAddressPools, served over HTTPS on 127.0.0.1: the preflight of the
   documentation's example. Targets: at most 3x the floor, under 40 MiB.
2. 500 nodes and 2,000 NNCPs: a release of 4 VRFs on 100 nodes each (400 per-node policies,
   benchmarks/render.py's multi-node site) beside 1,600 of other releases: its preflight, and
   its teardown (the cleanup on uninstall: 400 updates, each applied by the nmstate stand-in,
   tests/support/nmstate.py), each run on a fresh stand-in. Targets: the preflight at most 3x
   the floor and 64 MiB; the teardown's own CPU at most 1.5x a bare client that sends the same
   requests (benchmarks/floor.py), the floor that does the same work.

Each prints the wall time (median of runs) and peak memory beside the floor: a bare
`python3 -c 'import ssl, json, urllib.request'`.

Run: .tools/venv/bin/python benchmarks/preflight.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.floor import BARE_CLIENT, write_requests  # noqa: E402
from benchmarks.render import multi_node_site  # noqa: E402
from tests.hooks.conftest import TOKEN, render_plan  # noqa: E402
from tests.support import clusters, helm  # noqa: E402
from tests.support.apiserver import FakeApi, RunningApi, make_tls  # noqa: E402
from tests.support.nmstate import Nmstate  # noqa: E402


def stand_in() -> dict[str, object]:
    # As in the documentation's example, one node carries the VRF (its address is that node's).
    nodes = [clusters.node(f"worker-{i:03d}", {"vrf": "true"} if i == 0 else {"rack": f"r{i % 20}"},
                           masquerade={"ipv4": "169.254.0.0/17"}, images=40) for i in range(500)]
    routes = clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes)
    for i in range(300):
        owner = f"tenant-{i}/tenant-{i}"
        clusters.add_policy(routes, f"tenant-{i}-vrf", vrf=f"t{i}vrf", table=10 + i, selector={"rack": f"r{i % 20}"}, owner=owner)
        clusters.add_pool(routes, f"tenant-{i}-pool", [f"10.{200 + i // 250}.{i % 250}.0/28"], owner=owner)
    return routes


def large_stand_in(values: Path) -> tuple[dict[str, object], list[dict[str, object]]]:
    """500 nodes, 1,600 other releases' policies, and the routes the release's own 400 go to."""
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
    seconds of the process itself (user and system: what it costs without the stand-in)."""
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


def measure_fresh(arguments: list[str], start: object, env: dict[str, str], runs: int,
                  peak_file: Path, ca_file: Path | None = None) -> tuple[float, float, int, float, float, int]:
    """As measure, each run against a fresh stand-in from start() (a teardown changes it).
    With ca_file, also the floor of each run: BARE_CLIENT (benchmarks/floor.py) sending the
    same requests to another fresh stand-in; its median own CPU (0 without) and the count."""
    times, peaks, code, cpu, floor_cpu, count = [], [], 0, [], [], 0
    for _ in range(runs):
        api = start()  # type: ignore[operator]
        try:
            spent, peak, code, used = measure([a.replace("{url}", api.url) for a in arguments], env, 1, peak_file)
            sent = list(api.api.requests)
        finally:
            api.stop()
        times.append(spent)
        peaks.append(peak)
        cpu.append(used)
        if ca_file is None:
            continue
        count = write_requests(sent, peak_file.with_name("requests.json"))
        api = start()  # type: ignore[operator]
        try:
            floor_env = {**env, "BARE_CLIENT": BARE_CLIENT}
            _, _, _, bare = measure(["replay", str(ca_file), str(peak_file.with_name("requests.json")), api.url],
                                    floor_env, 1, peak_file)
        finally:
            api.stop()
        floor_cpu.append(bare)
    return (statistics.median(times), max(peaks), code, statistics.median(cpu),
            statistics.median(floor_cpu) if floor_cpu else 0.0, count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        tls = make_tls(work)
        (work / "token").write_text(TOKEN)
        site = work / "site.yaml"
        site.write_text("cluster:\n  masqueradeSubnet: [169.254.0.0/17]\n")
        (work / "plan.json").write_text(render_plan([ROOT / "ci" / "seed-values.yaml", site]))
        api = RunningApi(FakeApi(stand_in(), TOKEN), tls)
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "hooks"), "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            peak_file = work / "peak"
            floor_time, floor_mem, _, floor_cpu = measure(["floor"], env, args.runs, peak_file)
            run_time, run_mem, code, _ = measure(
                ["preflight", "preflight", f"--plan={work / 'plan.json'}", f"--server={api.url}",
                 f"--token-file={work / 'token'}", f"--ca-file={tls.ca_file}"], env, args.runs, peak_file)
            requests = len(api.api.requests) // args.runs
        finally:
            api.stop()
    print("preflight against 500 nodes, 300 NNCPs, 300 pools (HTTPS on 127.0.0.1), "
          f"median of {args.runs} runs, {requests} API requests per run")
    print(f"{'':28}{'wall':>10}{'peak RSS':>12}")
    print(f"{'floor (import ssl, json)':28}{floor_time * 1000:>8.0f}ms{floor_mem:>9.1f}MiB")
    print(f"{'preflight':28}{run_time * 1000:>8.0f}ms{run_mem:>9.1f}MiB")
    ratio = run_time / floor_time
    print(f"ratio to floor: {ratio:.2f}x (target <= 3x); peak memory {run_mem:.1f} MiB (target < 40 MiB); "
          f"preflight exit code {code}")
    large(args.runs, floor_time, floor_cpu)
    return 0


def large(runs: int, floor_time: float, floor_cpu: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        tls = make_tls(work)
        (work / "token").write_text(TOKEN)
        values = work / "site.yaml"
        import yaml
        values.write_text(yaml.safe_dump(multi_node_site(100)))
        (work / "plan.json").write_text(render_plan([values]))
        routes, ours = large_stand_in(values)

        def start() -> RunningApi:
            fresh = FakeApi(json.loads(json.dumps(routes)), TOKEN)
            Nmstate(fresh).install(json.loads(json.dumps(ours)))
            return RunningApi(fresh, tls)

        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "hooks"), "PYTHONDONTWRITEBYTECODE": "1"}
        common = [f"--plan={work / 'plan.json'}", "--server={url}", f"--token-file={work / 'token'}",
                  f"--ca-file={tls.ca_file}"]
        peak_file = work / "peak"
        rows = [("preflight", measure_fresh(["preflight", "preflight", *common], start, env, runs, peak_file)),
                ("teardown", measure_fresh(["teardown", "teardown", "--poll=0.2", *common], start, env, runs, peak_file,
                                           tls.ca_file))]
    print(f"\n500 nodes, 2,000 NNCPs (400 of the release: 4 VRFs x 100 nodes, one policy per node), "
          f"median of {runs} runs, a fresh stand-in each")
    print(f"{'':28}{'wall':>10}{'ratio':>8}{'own CPU':>10}{'ratio':>8}{'peak RSS':>12}")
    for name, (spent, peak, code, used, _, _) in rows:
        print(f"{name:28}{spent * 1000:>8.0f}ms{spent / floor_time:>7.2f}x{used * 1000:>8.0f}ms"
              f"{used / floor_cpu:>7.2f}x{peak:>9.1f}MiB  exit code {code}")
    print(f"floor: {floor_time * 1000:.0f} ms wall, {floor_cpu * 1000:.0f} ms CPU; targets: preflight at most 3x "
          "the floor and 64 MiB.")
    _, _, _, used, bare, count = rows[1][1]
    print(f"teardown against a bare client sending its {count} requests (benchmarks/floor.py): own CPU "
          f"{used * 1000:.0f} ms vs {bare * 1000:.0f} ms = {used / bare:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    sys.exit(main())
