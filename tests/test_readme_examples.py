"""Every values file the README shows whole (one with `cluster:` and `vrfs:`) renders as it
stands, under Helm 3 and 4: a reader copies it into a file and runs `helm template`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import helm

BLOCKS = [block for block in re.findall(r"```yaml\n(.*?)```", (helm.CHART / "README.md").read_text(), re.DOTALL)
          if {"cluster", "vrfs"} <= set(yaml.safe_load(block) or {})]


def test_the_readme_shows_whole_sites() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: next(iter(yaml.safe_load(b)["vrfs"])))
def test_a_values_file_of_the_readme_renders(block: str, helm_version: str, tmp_path: Path) -> None:
    values = tmp_path / "site.yaml"
    values.write_text(block)
    result = helm.template(helm_version, [values])
    assert result.returncode == 0, result.stderr
    assert any(doc["kind"] == "NodeNetworkConfigurationPolicy" for doc in result.documents)


README = (helm.CHART / "README.md").read_text()
CHART_YAML = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())
REPOSITORY = CHART_YAML["home"]


def _sections() -> list[str]:
    return re.findall(r"^## (.+)$", README, re.MULTILINE)


def test_the_readme_opens_with_install_then_verify() -> None:
    """Read top-down: three lines of what it does, then install with the values file shown
    right there, then verify; diagrams and reference after."""
    assert _sections()[:2] == ["Install", "Verify"]
    opening = README.split("\n## ")[0].split("\n\n", 1)[1].strip()
    assert len(opening.splitlines()) <= 3, opening
    install = README.split("\n## Install\n")[1].split("\n## ")[0]
    [values] = re.findall(r"```yaml\n(.*?)```", install, re.DOTALL)
    assert {"cluster", "vrfs"} <= set(yaml.safe_load(values)), "a whole values file (it renders: above)"
    [command] = [c for c in re.findall(r"```sh\n(.*?)```", install, re.DOTALL) if "helm install" in c]
    assert f"oci://ghcr.io/{REPOSITORY.split('/')[-2]}/charts/{CHART_YAML['name']}" in command
    assert f"--version {CHART_YAML['version']}" in command and command.count(" -f ") == 1
    assert README.index("```mermaid") > README.index("\n## Verify\n")


def test_versions_in_the_readme_are_the_charts() -> None:
    assert set(re.findall(r"pipx install symrouting==(\S+)", README)) == {str(CHART_YAML["appVersion"])}
    assert set(re.findall(r"symmetric-routing --version (\S+)", README)) == {str(CHART_YAML["version"])}


def _repository_only() -> list[str]:
    """What .helmignore keeps out of the package by a plain name, as a reader would write
    it: `ci/`, `CONTRIBUTING.md`, ..."""
    names = []
    for line in (helm.CHART / ".helmignore").read_text().splitlines():
        name = line.strip().lstrip("/")
        if name and not line.startswith("#") and not re.search(r"[*?\[]", name) and not name.startswith("."):
            names.append(name)
    return names


def test_repository_only_paths_are_links_to_the_repository() -> None:
    """The README ships in the chart (helm show readme, Artifact Hub), where the repository's
    own files are not: it names them only as links into the repository. Fenced blocks show
    files the reader makes (a sites layout, a values file), not the repository's."""
    prose = re.sub(r"```.*?```", "", README, flags=re.DOTALL)
    links = re.findall(r"\[([^\]]*)\]\(([^)\s]+)\)", prose)
    unlinked = re.sub(r"\[[^\]]*\]\([^)\s]+\)", "", prose)
    names = _repository_only()
    assert {"ci/", "examples/", "sites/", "scripts/", "tests/", "CONTRIBUTING.md"} <= set(names)
    pattern = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(n) for n in names) + r")")
    assert [m.group(0) for m in pattern.finditer(unlinked)] == []
    for _, target in links:
        if target.startswith(REPOSITORY + "/"):
            path = re.sub(r"^(blob|tree)/main/", "", target.removeprefix(REPOSITORY + "/"))
            assert (helm.CHART / path).exists(), target


def test_contributing_names_what_the_suite_needs() -> None:
    """What scripts/bootstrap.sh cannot install and stops on (its `need` lines), named where
    a contributor looks: CONTRIBUTING.md and the README's pointer to it."""
    bootstrap = (helm.CHART / "scripts" / "bootstrap.sh").read_text()
    contributing = (helm.CHART / "CONTRIBUTING.md").read_text()
    pointer = README.split("\n## Contributing\n")[1]
    for tool in ("Python 3.11", "Node.js", "npm", "Graphviz", "Go 1.26", "cargo"):
        assert tool in pointer and tool in " ".join(contributing.split()), tool
    for command in ("npm", "dot", "go", "$python"):
        assert re.search(rf"need {re.escape(command)} ", bootstrap) or command == "$python", command
    assert 'need "$python"' in bootstrap
