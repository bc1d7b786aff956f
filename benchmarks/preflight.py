#!/usr/bin/env python3
"""Benchmark (not a test): the preflight against a large stand-in cluster.

500 nodes (each with 40 images in its status, as real nodes carry), 300 other releases'
NNCPs and 300 IPAddressPools, served over HTTPS on 127.0.0.1. Prints the preflight's wall
time (median of runs) and peak memory beside the floor: a bare
`python3 -c 'import ssl, json, urllib.request'`. Targets: at most 3x the floor, under 40 MiB.

Run: .tools/venv/bin/python benchmarks/preflight.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hooks.conftest import TOKEN, render_plan  # noqa: E402
from tests.support import clusters  # noqa: E402
from tests.support.apiserver import FakeApi, RunningApi, make_tls  # noqa: E402


def stand_in() -> dict[str, object]:
    nodes = [clusters.node(f"worker-{i:03d}", {"vrf": "true"} if i % 3 == 0 else {"rack": f"r{i % 20}"},
                           masquerade={"ipv4": "169.254.0.0/17"}, images=40) for i in range(500)]
    routes = clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"], nodes=nodes)
    for i in range(300):
        owner = f"tenant-{i}/tenant-{i}"
        clusters.add_policy(routes, f"tenant-{i}-vrf", vrf=f"t{i}vrf", table=10 + i, selector={"rack": f"r{i % 20}"}, owner=owner)
        clusters.add_pool(routes, f"tenant-{i}-pool", [f"10.{200 + i // 250}.{i % 250}.0/28"], owner=owner)
    return routes


# Runs the measured code, then writes the process's VmHWM (peak resident set of its own
# address space) to the file named in HWM_FILE. rusage's maxrss would not do: Linux carries
# the parent's resident size over exec into it, and this parent holds a TLS server.
PEAK_WRAPPER = """
import os, runpy, sys
try:
    if sys.argv[1] == "floor":
        import ssl, json, urllib.request
    else:
        sys.argv = ["symrouting", *sys.argv[2:]]
        runpy.run_module("symrouting", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["HWM_FILE"], "w") as out:
        out.write(peak)
"""


def measure(arguments: list[str], env: dict[str, str], runs: int, peak_file: Path) -> tuple[float, float, int]:
    """Median wall seconds, peak RSS in MiB (largest of the runs), last exit code."""
    times, peaks, code = [], [], 0
    devnull = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    command = [sys.executable, "-S", "-c", PEAK_WRAPPER, *arguments]
    for _ in range(runs):
        started = time.perf_counter()
        pid = os.posix_spawn(command[0], command, {**env, "HWM_FILE": str(peak_file)}, file_actions=devnull)
        _, status = os.waitpid(pid, 0)
        times.append(time.perf_counter() - started)
        code = os.waitstatus_to_exitcode(status)
        peaks.append(int(peak_file.read_text()) / 1024)
    return statistics.median(times), max(peaks), code


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
            floor_time, floor_mem, _ = measure(["floor"], env, args.runs, peak_file)
            run_time, run_mem, code = measure(
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
