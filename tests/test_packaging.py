"""`helm package` ships the chart and its hooks' code, and nothing of the tests, CI, sites or
tooling; the package installs the same objects as the source tree renders."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import yaml

from tests.support import helm, scripts

build_hooks = scripts.load("build_hooks")
COMMAND_ONLY = build_hooks.COMMAND_ONLY


def test_jobs_never_import_a_command_only_module() -> None:
    """Only cli.py names the command-only modules, and only inside the function of their own
    subcommand (or another command-only module does, as adopt.py imports blockyaml), so a
    hook Job (preflight, prune, teardown, verify) never imports one."""
    package = helm.CHART / "hooks" / "symrouting"
    pattern = re.compile(r"^(\s*)(?:from symrouting import (\w+)|from symrouting\.(\w+) import)", re.M)
    for path in package.glob("*.py"):
        if path.stem in COMMAND_ONLY:
            continue
        for match in pattern.finditer(path.read_text()):
            imported = match.group(2) or match.group(3)
            if imported not in COMMAND_ONLY:
                continue
            assert path.name == "cli.py", f"{path.name} imports {imported}, which the hook Jobs do not have"
            assert match.group(1), f"cli.py imports {imported} at module level"
            head = path.read_text()[:match.start()]
            function = re.findall(r"^def (\w+)\(", head, re.M)[-1]
            assert function == COMMAND_ONLY[imported], f"cli.py {function}() imports {imported}"


def test_package_holds_the_chart_and_hooks_only(tmp_path: Path) -> None:
    result = helm.run("helm3", "package", str(helm.CHART), "--destination", str(tmp_path))
    assert result.returncode == 0, result.stderr
    [package] = tmp_path.glob("symmetric-routing-*.tgz")
    with tarfile.open(package) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"Chart.yaml", "values.yaml", "values.schema.json", "README.md", "LICENSE", "templates/_model.tpl"} <= names
    assert "hooks/symrouting.zip" in names
    for excluded in ("tests/", "ci/", "scripts/", "sites/", "examples/", "benchmarks/", "docs/", ".git", ".ci/",
                     ".tools/", "requirements-dev.txt", "pytest.ini", ".gitignore", "pyproject.toml", "CONTRIBUTING.md",
                     "build/", "dist/"):
        assert not any(name == excluded or name.startswith(excluded) for name in names), excluded
    assert {name for name in names if name.startswith("hooks/")} == {"hooks/symrouting.zip"}, "the zip, not the source"


def test_packaged_chart_renders_like_the_source(tmp_path: Path) -> None:
    helm.run("helm3", "package", str(helm.CHART), "--destination", str(tmp_path))
    [package] = tmp_path.glob("symmetric-routing-*.tgz")
    site = helm.CHART / "ci" / "multi-vrf-values.yaml"
    from_source = helm.render_site(site)
    from_package = helm.template("helm3", [site], chart=package)
    assert from_package.returncode == 0, from_package.stderr
    assert from_package.stdout == from_source.stdout


def test_chart_yaml_carries_what_artifact_hub_shows() -> None:
    chart = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())
    annotations = chart["annotations"]
    assert annotations["artifacthub.io/prerelease"] == "true"
    assert annotations["artifacthub.io/license"] == "Apache-2.0"
    for key in ("artifacthub.io/changes", "artifacthub.io/links", "artifacthub.io/images"):
        assert isinstance(yaml.safe_load(annotations[key]), list), key
    changelog = (helm.CHART / "CHANGELOG.md").read_text()
    assert f"## [{chart['version']}]" in changelog


def test_readme_is_for_the_user_of_the_package(tmp_path: Path) -> None:
    """`helm show readme` of the package: user sections before the developer's, no words of
    this workplace, and every chart version it names is Chart.yaml's (a release bumps them)."""
    helm.run("helm3", "package", str(helm.CHART), "--destination", str(tmp_path))
    [package] = tmp_path.glob("symmetric-routing-*.tgz")
    shown = helm.run("helm3", "show", "readme", str(package))
    assert shown.returncode == 0, shown.stderr
    readme = shown.stdout
    headings = [line[3:] for line in readme.splitlines() if line.startswith("## ")]
    for earlier, later in (("Install", "Verify"), ("Verify", "What it does"), ("Prerequisites", "Values files"),
                           ("Values files", "A multi-node site"), ("Upgrade", "Uninstall"),
                           ("Troubleshooting", "Values"), ("Values", "Contributing")):
        assert headings.index(earlier) < headings.index(later), (earlier, later)
    for word in ("seed site", "shared/", "PYTHONPATH=hooks"):
        assert word not in readme.lower(), word
    version = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())["version"]
    named = set(re.findall(r"--version (\S+)|@v(\d[\w.-]*)|symmetric-routing:(\d[\w.-]*)", readme))
    assert named and {v for group in named for v in group if v} == {version}
    assert f"oci://ghcr.io/symmetric-routing/charts/symmetric-routing --version {version}" in readme
