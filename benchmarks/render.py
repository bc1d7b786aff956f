#!/usr/bin/env python3
"""Benchmark (not a test): what rendering costs, against the floor of Helm itself.

For the seed site and generated sites of 1, 10, 100 and 500 VRFs (each with two peers, a
pool, an advertisement and an egress service), prints the median wall time of `helm
template` of this chart beside the same for a chart of static manifests that holds exactly
the objects this chart renders (the floor: Helm's own start, parse and output), under Helm 3
and Helm 4. Targets (issue 22): at most 1.25x the floor for the seed site, at most 2x at 500
VRFs, and cost growing linearly with VRFs. Beside each ratio, the bound: the ratio this chart would
reach if its templates cost nothing, since Helm reads the values file and checks it against
the schema before any template runs. Also prints the packaged chart's size (no target: it
carries the hooks' code and the README it needs) with the size of each of its parts, and,
with --suite, the test suite's wall time (target: under 60 s on 2 cores).

Multi-node sites: 4 VRFs on 25, 50 and 100 nodes (per-node addresses, so one policy per node
and VRF; two peers, a pool and two LoadBalancerIP egress services per VRF, MetalLB 0.16).
Targets: at most 1.5x the floor at 100 nodes, under both Helms, and the cost per added node
linear (the ms per node between 25 and 50 nodes and between 50 and 100 agree).

With --profile SITE (seed, a number of VRFs such as 500, or NxV for N nodes of V VRFs), prints
instead where this chart's render time goes, read inside Helm 4's engine by
.tools/bin/render-profile (rig/go/renderprofile): the values and schema, the parsing of the
templates, each named template's and file's own time and calls, and the template functions
(toYaml, dict, ...) and garbage collector the CPU went to.

With --knockouts SITE, the older bisection: the CPU time (user + system, so that the other
work of a shared machine weighs less than on wall time; Go's garbage collector off) each template and each validation
concern costs, measured as what emptying it saves (one at a time, the rest kept), and the
model's cost: what a template that only builds it adds to a chart of the validation alone.
It runs whole `helm template` processes, so it counts Helm's output work too, but rows overlap
where templates share the model one of them builds.

With --cpu, CPU time (user + system) instead of wall time, for a machine others load.

Run: .tools/venv/bin/python benchmarks/render.py [--runs N] [--cpu] [--suite] [--profile SITE | --knockouts SITE]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HELMS = {"helm3": ROOT / ".tools" / "bin" / "helm3", "helm4": ROOT / ".tools" / "bin" / "helm4"}


def generated_site(vrfs: int) -> dict[str, object]:
    site: dict[str, object] = {
        "platform": "kubernetes",
        "cluster": {"serviceNetwork": ["10.96.0.0/16"], "clusterNetwork": ["10.244.0.0/16"], "masqueradeSubnet": ["169.254.0.0/17"]},
        "vrfs": {},
    }
    for i in range(vrfs):
        third, fourth = divmod(i, 250)
        gateway = f"10.{100 + third}.{fourth}.1"
        site["vrfs"][f"v{i}"] = {  # type: ignore[index]
            "tableId": 300 + i, "myASN": 64512,
            "policy": {"nodeSelector": {"tenant.example.com/v": str(i)}},
            "ports": {f"eth{i}": {"ipv4": [f"10.{100 + third}.{fourth}.10/24"]}},
            "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": gateway}],
            "bgpPeers": {"a": {"peerASN": 65000, "peerAddress": gateway},
                         "b": {"peerASN": 65000, "peerAddress": f"10.{100 + third}.{fourth}.2"}},
            "addressPools": {"pool": {"addresses": [f"198.{18 + third}.{fourth}.0/28"]}},
            "bgpAdvertisements": {"adv": {}},
            "egressServices": {f"svc{i}": {}},
        }
    return site


def multi_node_site(nodes: int, vrfs: int = 4) -> dict[str, object]:
    names = [f"worker-{n:03d}" for n in range(nodes)]
    site: dict[str, object] = {
        "platform": "kubernetes", "metallb": {"version": "0.16.1"},
        "cluster": {"serviceNetwork": ["10.96.0.0/16"], "clusterNetwork": ["10.244.0.0/16"], "masqueradeSubnet": ["169.254.0.0/17"]},
        "vrfs": {},
    }
    for i in range(vrfs):
        gateway = f"10.{100 + i}.0.1"
        site["vrfs"][f"v{i}"] = {  # type: ignore[index]
            "tableId": 300 + i, "myASN": 64512,
            "policy": {"nodeSelector": {"node-role.kubernetes.io/worker": ""}, "maxUnavailable": 1},
            "ports": {f"eth{i}": {}},
            "nodes": {name: {f"eth{i}": f"10.{100 + i}.{n // 200}.{10 + n % 200}/16"} for n, name in enumerate(names)},
            "routes": [{"destination": "0.0.0.0/0", "nextHopAddress": gateway}],
            "bgpPeers": {"a": {"peerASN": 65000, "peerAddress": gateway},
                         "b": {"peerASN": 65000, "peerAddress": f"10.{100 + i}.0.2"}},
            "addressPools": {"pool": {"addresses": [f"198.18.{i}.0/28"]}},
            "bgpAdvertisements": {"adv": {}},
            "egressServices": {f"svc{i}a": {"namespace": "apps"}, f"svc{i}b": {"namespace": "apps"}},
        }
    return site


def children_cpu() -> float:
    """The CPU time (user + system) of the ended child processes so far, to the microsecond
    (os.times counts clock ticks of 10 ms)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_seconds(commands: list[list[str]], runs: int, cpu: bool = False) -> list[float]:
    """The median wall time of each command, or with cpu its CPU time (user + system: on a
    machine that others load, wall time measures the queue more than the command). The
    commands take turns, so that a slow spell of a shared machine weighs on all of them alike."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for command, spent in zip(commands, times):
            started, before = time.perf_counter(), children_cpu()
            subprocess.run(command, check=True, capture_output=True)
            spent.append(children_cpu() - before if cpu else time.perf_counter() - started)
    return [statistics.median(spent) for spent in times]


def static_chart(folder: Path, manifest: str) -> Path:
    """A chart whose only template is the manifest; the few "{{" in it (the hooks' Python
    code) are escaped so that Helm prints them as they are."""
    chart = folder / "static"
    shutil.rmtree(chart, ignore_errors=True)
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: static\nversion: 0.1.0\n")
    (chart / "templates" / "all.yaml").write_text(manifest.replace("{{", '{{ "{{" }}'))
    return chart


def blank_charts(folder: Path) -> tuple[Path, Path]:
    """This chart with every template emptied (what Helm spends on its start, the values
    file, the defaults and the schema, before any template runs), and a chart of nothing
    (Helm's start alone). Their difference, added to the floor, is the least any template
    code could cost with these values and this schema."""
    blank, empty = folder / "blank", folder / "empty"
    for name in ("Chart.yaml", "values.yaml", "values.schema.json"):
        (blank / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, blank / name)
    for template in (ROOT / "templates").rglob("*"):
        if template.is_file():
            target = blank / template.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")
    (empty / "templates").mkdir(parents=True)
    (empty / "Chart.yaml").write_text("apiVersion: v2\nname: empty\nversion: 0.1.0\n")
    return blank, empty


def package_parts(package: Path) -> dict[str, int]:
    """Gzipped bytes of each part of the packaged chart, each part compressed on its own."""
    parts: dict[str, bytes] = {}
    with tarfile.open(package) as archive:
        for member in archive.getmembers():
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            path = member.name.split("/", 1)[1]
            part = ("README.md" if path == "README.md" else "hooks/" if path.startswith("hooks/")
                    else "templates/" if path.startswith("templates/")
                    else "values.yaml + values.schema.json" if path.startswith("values") else "the rest")
            parts[part] = parts.get(part, b"") + extracted.read()
    return {part: len(gzip.compress(data, 9)) for part, data in parts.items()}


def cpu_seconds(command: list[str], runs: int) -> float:
    """The median CPU time (user + system) of a command, over runs; Go's garbage collector
    off and one thread, so that its timing on a shared machine weighs on no run."""
    spent = []
    env = dict(os.environ, GOGC="off", GOMAXPROCS="1")
    for _ in range(runs):
        before = children_cpu()
        subprocess.run(command, check=True, capture_output=True, env=env)
        spent.append(children_cpu() - before)
    return statistics.median(spent)


def profile_site(name: str) -> dict[str, object] | Path:
    if name == "seed":
        return ROOT / "ci" / "seed-values.yaml"
    if "x" in name:
        nodes, vrfs = name.split("x")
        return multi_node_site(int(nodes), int(vrfs))
    return generated_site(int(name))


def engine_profile(site_name: str, runs: int) -> None:
    """Where render time goes, read inside Helm's engine: each named template's own time, and
    the template functions the CPU samples fall in (rig/go/renderprofile)."""
    with tempfile.TemporaryDirectory() as tmp:
        site = profile_site(site_name)
        values = site if isinstance(site, Path) else Path(tmp) / "values.yaml"
        if not isinstance(site, Path):
            values.write_text(yaml.safe_dump(site))
        subprocess.run([str(ROOT / ".tools" / "bin" / "render-profile"), "-chart", str(ROOT), "-f", str(values),
                        "-runs", str(runs)], check=True)


def knockouts(site_name: str, runs: int) -> None:
    """Where render time goes: each knockout (a template emptied, a validation concern left
    out, the model alone) against the whole chart, CPU time, median of runs each."""
    concerns_line = re.compile(r'range \$concern := list ([^}]*)}}')
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        site = profile_site(site_name)
        values = site if isinstance(site, Path) else folder / "values.yaml"
        if not isinstance(site, Path):
            values.write_text(yaml.safe_dump(site))
        chart = folder / "chart"
        shutil.copytree(ROOT, chart, ignore=shutil.ignore_patterns(
            ".git", ".tools", "tests", "rig", "docs", "benchmarks", "sites", "examples", "*.pyc", "__pycache__"))

        def render(helm: str = "helm4") -> list[str]:
            return [str(HELMS[helm]), "template", "tenant-a", str(chart), "-n", "test", "-f", str(values)]

        whole = {helm: cpu_seconds(render(helm), runs) for helm in HELMS}
        print(f"profile of {site_name}: CPU time, median of {runs} runs; whole chart "
              + ", ".join(f"{helm} {seconds * 1000:.0f} ms" for helm, seconds in whole.items()))
        print("what emptying each part saves, in ms of CPU (helm4; rows under 2% of the whole are left out):",
              flush=True)
        rows: list[tuple[str, float]] = []
        whole_chart = chart.with_name("whole")
        shutil.copytree(chart, whole_chart)

        def saved() -> float:
            """What the knockout in chart saves against the whole chart, the two measured by
            turns (a baseline taken once drifts with the machine's load)."""
            pair = median_seconds([render(), [*render()[:3], str(whole_chart), *render()[4:]]], runs, cpu=True)
            return pair[1] - pair[0]

        templates = sorted(p for p in (chart / "templates").rglob("*") if p.is_file() and not p.name.startswith("_"))
        validate = chart / "templates" / "validate" / "values.yaml"
        for template in templates:
            text = template.read_text()
            template.write_text("")
            rows.append((str(template.relative_to(chart)), saved()))
            template.write_text(text)
        text = validate.read_text()
        concerns = concerns_line.search(text)
        assert concerns, "templates/validate/values.yaml lists its concerns no more"
        for concern in re.findall(r'"([a-z]+)"', concerns.group(1)):
            validate.write_text(text.replace(concerns.group(0), concerns.group(0).replace(f'"{concern}"', "")))
            rows.append((f"  validate concern {concern}", saved()))
        validate.write_text(text)
        # the model is built by the first template that asks for it: measure it alone
        for template in templates:
            if template != validate:
                template.write_text("")
        alone = cpu_seconds(render(), runs)
        (chart / "templates" / "model-only.yaml").write_text('{{- include "symmetric-routing.model" . }}')
        rows.append(("symmetric-routing.model (built once)", cpu_seconds(render(), runs) - alone))
        validate.write_text("")
        rows.append(("(Helm with every template empty)", cpu_seconds(render(), runs)))
        for label, seconds in rows:
            if seconds >= 0.02 * whole["helm4"] or label.startswith("(") or "model" in label:
                print(f"  {label:<58}{seconds * 1000:>7.0f} ms{seconds / whole['helm4'] * 100:>6.1f}%", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--suite", action="store_true", help="also time scripts/test.sh")
    parser.add_argument("--cpu", action="store_true", help="CPU time (user + system) instead of wall time")
    parser.add_argument("--profile", metavar="SITE", help="seed, N (VRFs) or NxV (nodes x VRFs): where time goes")
    parser.add_argument("--knockouts", metavar="SITE", help="the same, by emptying one template at a time")
    args = parser.parse_args()
    if args.profile:
        engine_profile(args.profile, args.runs)
        return 0
    if args.knockouts:
        knockouts(args.knockouts, args.runs)
        return 0
    cases: list[tuple[str, Path | dict[str, object]]] = [("seed", ROOT / "ci" / "seed-values.yaml")]
    cases += [(f"{n} VRFs", generated_site(n)) for n in (1, 10, 100, 500)]
    cases += [(f"{n} nodes", multi_node_site(n)) for n in (25, 50, 100)]
    measure = "CPU time (user + system)" if args.cpu else "wall time"
    print(f"helm template {measure}, median of {args.runs} runs. floor: the same objects as static manifests;")
    print("bound: the least ratio any template code could reach, since Helm spends that much on this chart's")
    print("values and schema before a template runs (this chart with its templates emptied)")
    print(f"{'site':<10}{'objects':>8}" + "".join(f"{h + ' chart':>13}{'floor':>8}{'ratio':>7}{'bound':>7}" for h in HELMS))
    per_vrf: dict[str, list[tuple[int, float]]] = {h: [] for h in HELMS}
    per_node: dict[str, list[tuple[int, float]]] = {h: [] for h in HELMS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        blank, empty = blank_charts(folder)
        for name, site in cases:
            values = site if isinstance(site, Path) else folder / f"{name.split()[0]}.yaml"
            if not isinstance(site, Path):
                values.write_text(yaml.safe_dump(site))
            row = f"{name:<10}"
            for helm_name, helm in HELMS.items():
                template = [str(helm), "template", "tenant-a"]
                command = template + [str(ROOT), "-n", "test", "-f", str(values)]
                manifest = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                if helm_name == "helm3":
                    row += f"{manifest.count(chr(10) + 'kind: '):>8}"
                floor_command = template + [str(static_chart(folder, manifest)), "-n", "test"]
                chart_time, floor_time, blank_time, empty_time = median_seconds(
                    [command, floor_command, template + [str(blank), "-f", str(values)], template + [str(empty)]], args.runs, args.cpu)
                bound = (floor_time + blank_time - empty_time) / floor_time
                row += f"{chart_time * 1000:>11.0f}ms{floor_time * 1000:>6.0f}ms{chart_time / floor_time:>6.2f}x{bound:>6.2f}x"
                if name.endswith("VRFs"):
                    per_vrf[helm_name].append((int(name.split()[0]), chart_time))
                elif name.endswith("nodes"):
                    per_node[helm_name].append((int(name.split()[0]), chart_time))
            print(row)
        for helm_name, points in per_vrf.items():
            (n1, t1), (n2, t2) = points[-2], points[-1]
            print(f"{helm_name}: {(t2 - t1) / (n2 - n1) * 1000:.2f} ms per added VRF between {n1} and {n2} VRFs "
                  f"({(points[2][1] - points[1][1]) / (points[2][0] - points[1][0]) * 1000:.2f} ms between 10 and 100)")
        for helm_name, points in per_node.items():
            slopes = [(t2 - t1) / (n2 - n1) * 1000 for (n1, t1), (n2, t2) in zip(points, points[1:])]
            print(f"{helm_name}: 4 VRFs, " + ", ".join(
                f"{slope:.2f} ms per added node between {a} and {b} nodes"
                for slope, (a, _), (b, _) in zip(slopes, points, points[1:])))
        package = Path(subprocess.run([str(HELMS["helm3"]), "package", str(ROOT), "-d", str(folder)], check=True,
                                      capture_output=True, text=True).stdout.strip().rsplit(" ", 1)[-1])
        print(f"packaged chart: {package.name}, {package.stat().st_size / 1024:.1f} KiB; "
              "its parts, each gzipped alone:")
        for part, size in sorted(package_parts(package).items(), key=lambda item: -item[1]):
            print(f"  {part:<34}{size / 1024:>6.1f} KiB")
    if args.suite:
        started = time.perf_counter()
        subprocess.run([str(ROOT / "scripts" / "test.sh"), "-q"], check=True, capture_output=True)
        print(f"test suite (tools installed): {time.perf_counter() - started:.1f} s (target: under 60 s on 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
