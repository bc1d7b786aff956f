"""The paths the hooks took to cost less at 500 nodes and 2,000 policies (benchmarks/status.py,
benchmarks/preflight.py): a group of policies sharing a nodeSelector is read once for all the
nodes it selects, and still declares on each of them, and only on them; a nodeSelector the
hooks cannot use as a key is grouped all the same; a run builds only its own command's parser
and reads the version only for --version."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from symrouting import leftovers
from symrouting.nodeconfig import Neighbours
from tests.support import helm

HOST = "kubernetes.io/hostname"
PORT_UP = {"interfaces": [{"name": "ens9", "type": "ethernet", "state": "up",
                           "ipv4": {"enabled": True, "address": [{"ip": "10.9.0.2", "prefix-length": 24}]}}]}
RACK_VRF = {"interfaces": [{"name": "t2vrf", "type": "vrf", "state": "up", "vrf": {"port": ["ens8"], "route-table-id": 6}}],
            "route-rules": {"config": [{"ip-from": "10.8.0.0/24", "route-table": 6}]}}
OWN_VRF = {"interfaces": [{"name": "t3vrf", "type": "vrf", "state": "up", "vrf": {"port": ["ens7"], "route-table-id": 8}}]}


def labels(node: str, **more: str) -> dict[str, str]:
    return {HOST: node, **more}


def test_a_group_declares_on_each_node_it_selects_and_no_other() -> None:
    neighbours = Neighbours([({"rack": "r1"}, PORT_UP), ({"rack": "r1"}, RACK_VRF), ({HOST: "worker-2"}, OWN_VRF)])
    first = neighbours.on("worker-0", labels("worker-0", rack="r1"))
    second = neighbours.on("worker-1", labels("worker-1", rack="r1"))
    for found in (first, second):
        assert ("ens9", "ipv4") in found.families
        assert {"ens9", "t2vrf", "ens8"} <= found.interfaces and "t3vrf" not in found.interfaces
        assert found.rules == [{"ip-from": "10.8.0.0/24", "route-table": 6}]
    alone = neighbours.on("worker-2", labels("worker-2", rack="r2"))
    assert alone.interfaces == {"t3vrf", "ens7"} and not alone.families and not alone.rules
    # what worker-2 holds did not leak into the group read for worker-0 and worker-1
    assert "t3vrf" not in neighbours.on("worker-0", labels("worker-0", rack="r1")).interfaces


def test_a_node_selector_that_is_no_plain_label_map_is_grouped_and_selects_nothing() -> None:
    odd: dict[str, Any] = {"rack": {"in": ["r1"]}}
    neighbours = Neighbours([(odd, PORT_UP), (odd, RACK_VRF), ({"rack": "r1"}, OWN_VRF)])
    found = neighbours.on("worker-0", labels("worker-0", rack="r1"))
    assert found.interfaces == {"t3vrf", "ens7"}


def test_leftovers_of_nodes_a_shared_group_selects_are_read_against_it_on_each() -> None:
    current = {"interfaces": [{"name": "t2vrf", "type": "vrf", "state": "up",
                               "vrf": {"port": ["ens8"], "route-table-id": 6}},
                              {"name": "t9vrf", "type": "vrf", "state": "up",
                               "vrf": {"port": [], "route-table-id": 9}}],
               "route-rules": {"config": [{"ip-from": "10.8.0.0/24", "route-table": 6, "priority": 100},
                                          {"ip-from": "10.9.0.0/24", "route-table": 9}]}}
    nodes = {"worker-0": current, "worker-1": current, "worker-2": current}
    found = leftovers.find(nodes, [({"rack": "r1"}, RACK_VRF), ({HOST: "worker-2"}, OWN_VRF)],
                           {"worker-0": labels("worker-0", rack="r1"), "worker-1": labels("worker-1", rack="r1"),
                            "worker-2": labels("worker-2", rack="r2")})
    by_node = {node: sorted(item.describe() for item in items) for node, items in leftovers.by_node(found).items()}
    # the group's rule leaves out the priority: it matches the node's rule all the same
    assert by_node["worker-0"] == by_node["worker-1"] == ["VRF t9vrf (table 9)", "rule ip-from 10.9.0.0/24 to table 9"]
    assert by_node["worker-2"] == ["VRF t2vrf (table 6)", "VRF t9vrf (table 9)",
                                   "rule ip-from 10.8.0.0/24, priority 100 to table 6",
                                   "rule ip-from 10.9.0.0/24 to table 9"]


def symrouting(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-S", "-m", "symrouting", *args], capture_output=True, text=True,
                          timeout=60, check=False,
                          env={"PATH": os.environ["PATH"], "PYTHONPATH": str(helm.CHART / "hooks")})


def test_a_command_builds_its_own_parser_and_the_bare_help_lists_every_command() -> None:
    status = symrouting("status", "--help")
    assert status.returncode == 0 and "--release" in status.stdout and "--interval" in status.stdout
    preflight = symrouting("preflight", "--help")
    # --skip names the checks, read only when the help is shown
    assert "skip a check (repeatable, or comma-separated): crds," in " ".join(preflight.stdout.split())
    every = symrouting("--help")
    assert "{preflight,discover,teardown,prune,wait,verify,diagram,status,adopt,leftovers}" in every.stdout
    typo = symrouting("stauts")
    assert typo.returncode == 2 and "invalid choice: 'stauts'" in typo.stderr and "'leftovers'" in typo.stderr
    wrong = symrouting("status", "--skip=crds")
    assert wrong.returncode == 2 and "unrecognized arguments: --skip=crds" in wrong.stderr


def test_version_is_read_when_asked() -> None:
    chart = (helm.CHART / "Chart.yaml").read_text()
    app_version = next(line.split(":", 1)[1].strip().strip('"') for line in chart.splitlines()
                       if line.startswith("appVersion:"))
    shown = symrouting("--version")
    assert shown.returncode == 0 and shown.stdout == f"symrouting {app_version}\n"
