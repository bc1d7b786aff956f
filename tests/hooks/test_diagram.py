"""`symrouting diagram`: a site's topology as Mermaid and as Graphviz (SVG with real dot)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path

import pytest

from symrouting import diagram
from symrouting.plan import parse_plan
from tests.hooks.conftest import render_plan
from tests.support import helm, scripts

Run = Callable[..., subprocess.CompletedProcess[str]]
NODE = re.compile(r"^\s+(\w+)[\[({/]", re.MULTILINE)
EDGE = re.compile(r"^\s+(\w+) (?:<-->|-\.->|-->|==>)\|[^|]*\| (\w+)$", re.MULTILINE)


@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_every_edge_joins_declared_nodes(site: Path) -> None:
    plan = parse_plan(json.loads(render_plan([site])))
    text = diagram.mermaid(plan)
    declared = set(NODE.findall(text))
    edges = EDGE.findall(text)
    assert edges, "a site without edges draws nothing useful"
    for left, right in edges:
        assert {left, right} <= declared, (left, right)
    for vrf in plan.vrfs:
        assert f"VRF {vrf.name} · table {vrf.table_id}" in text
        for peer in vrf.peers:
            assert f"BGP peer {peer.name}<br/>{peer.address}" in text
        for egress in vrf.egress_services:
            assert f"Service {egress.namespace}/{egress.name}<br/>source IP: {egress.source_ip_by}" in text


def test_seed_draws_the_documented_path() -> None:
    text = diagram.mermaid(parse_plan(json.loads(render_plan([helm.CHART / "ci" / "seed-values.yaml"]))))
    assert 'port_ens4vrf_ens4 <-->|"BGP · AS 100"| peer_frrviavrf' in text
    assert 'pool_first_pool -.->|"first-adv"| peer_frrviavrf' in text
    assert 'svc_test_server1 ==>|"egress · table 2 · 0.0.0.0/0 via 192.168.130.1"| port_ens4vrf_ens4' in text


def test_unnumbered_peers_hang_on_their_port() -> None:
    plan = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "vlan-bond-values.yaml"])))
    text = diagram.mermaid(plan)
    assert "port_ran_bond_bond1 <-->|" in text


def test_svg_through_graphviz(run_cli: Run, tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is missing: scripts/bootstrap.sh installs it")
    output = tmp_path / "multi-vrf.svg"
    result = run_cli("diagram", "--format=svg", f"--output={output}", plan=render_plan([helm.CHART / "ci" / "multi-vrf-values.yaml"]),
                     env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    root = ElementTree.fromstring(output.read_text())
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "VRF pay-a · table 10" in texts and "BGP peer edge-payments-b-tor-1" in texts


def test_readme_diagrams_are_current() -> None:
    module = scripts.load("diagrams")
    readme = (helm.CHART / "README.md").read_text()
    assert "<!-- diagram:seed:start -->" in readme and "<!-- diagram:multi-node:start -->" in readme
    assert module.updated(readme, str(helm.helm_binary("helm3"))) == readme, "run scripts/diagrams.py --write"


def test_mermaid_itself_parses_every_site(tmp_path: Path) -> None:
    """Mermaid's own parser (tests/mermaid, installed by scripts/bootstrap.sh) accepts what
    GitHub and GitLab will be asked to draw."""
    installed = helm.CHART / ".tools" / "mermaid"
    if not (installed / "node_modules" / "mermaid").is_dir():
        pytest.fail("Mermaid is missing from .tools/mermaid: run scripts/bootstrap.sh")
    # ES modules resolve packages from the importing file's folder, so the checker runs there.
    checker = installed / "check.mjs"
    shutil.copyfile(helm.CHART / "tests" / "mermaid" / "check.mjs", checker)
    files = []
    for site in helm.site_files():
        path = tmp_path / f"{helm.site_name(site)}.mmd"
        path.write_text(diagram.mermaid(parse_plan(json.loads(render_plan([site])))))
        files.append(str(path))
    result = subprocess.run(["node", str(checker), *files], capture_output=True, text=True, check=False,
                            env={"PATH": "/usr/local/bin:/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok (flowchart") == len(files)


def test_a_vrf_of_many_nodes_shows_a_few_rows_and_how_many_more(tmp_path: Path) -> None:
    """One row per node, up to diagram.SHOWN_NODES, then how many are left out."""
    site = tmp_path / "five.yaml"
    site.write_text("vrfs:\n  ens4vrf:\n    ports: {ens4: {ipv4: null}}\n    nodes:\n"
                    + "".join(f"      worker-{i}: {{ens4: 192.168.130.{10 + i}/24}}\n" for i in range(5)))
    plan = parse_plan(json.loads(render_plan([helm.CHART / "ci" / "seed-values.yaml", site])))
    [port] = diagram.ports(plan.vrfs[0])
    assert port.lines == ("worker-0: 192.168.130.10/24", "worker-1: 192.168.130.11/24",
                          "worker-2: 192.168.130.12/24", "… and 2 more node(s)")
    assert len(port.addresses) == 5
