"""The real `ct lint` (chart-testing v3.14.0, rig/go/chart-testing) with ci/ct.yaml, as
.github/workflows/ci.yaml runs it, under Helm 3 and Helm 4: yamale on Chart.yaml with
chart-testing's chart_schema.yaml, yamllint with ci/lintconf.yaml on Chart.yaml and
values.yaml, `helm lint --strict` with every ci/*-values.yaml. yamllint here covers the
YAML files ct does not read (ci/, sites/, examples/, the workflows)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from yamllint import config as yamllint_config
from yamllint import linter

from tests.support import charttesting, helm, upstream

LINTED = [
    *sorted((helm.CHART / "ci").glob("*.yaml")),
    *sorted((helm.CHART / "tests" / "bad_values").glob("*.yaml")),
    *sorted(helm.CHART.glob("sites/**/*.yaml")),
    *sorted(helm.CHART.glob("examples/**/*.yaml")),
    *sorted(helm.CHART.glob(".github/workflows/*.yaml")),
    *sorted(helm.CHART.glob(".github/actions/*/action.yml")),
]


@pytest.mark.parametrize("path", LINTED, ids=lambda p: str(p.relative_to(helm.CHART)))
def test_yamllint(path: Path) -> None:
    conf = yamllint_config.YamlLintConfig(file=str(helm.CHART / "ci" / "lintconf.yaml"))
    problems = [f"{p.line}:{p.column} {p.message} ({p.rule})" for p in linter.run(path.read_text(), conf, str(path))]
    assert problems == []


def test_lintconf_keeps_every_rule_of_ct(shared_dir: Path | None) -> None:
    ct_rules = yaml.safe_load(upstream.locate("ct/lintconf.yaml").read_text())["rules"]
    ours = yaml.safe_load((helm.CHART / "ci" / "lintconf.yaml").read_text())["rules"]
    assert set(ct_rules) <= set(ours)
    for rule, settings in ct_rules.items():
        if rule != "truthy":
            assert ours[rule] == settings, rule


def test_ct_config_points_at_the_repo_files() -> None:
    config = yaml.safe_load((helm.CHART / "ci" / "ct.yaml").read_text())
    assert (helm.CHART / config["lint-conf"]).is_file()
    assert config["charts"] == ["."]


def test_ct_lint(helm_version: str) -> None:
    result = charttesting.lint(helm_version)
    assert result.returncode == 0, result.stdout + result.stderr
    # one helm lint per ci/*-values.yaml (chart-testing pkg/chart/chart.go, LintChart)
    linted = {f'Linting chart with values file "ci/{site.name}"...' for site in helm.site_files()}
    assert linted <= set(result.stdout.splitlines())
    assert "All charts linted successfully" in result.stdout


@pytest.mark.parametrize(("file", "change", "message"), [
    # yamale (strict), chart-testing's etc/chart_schema.yaml: a key it does not list
    ("Chart.yaml", lambda text: text.replace("type: application\n", "type: application\nhomepage: x\n"),
     "homepage: Unexpected element"),
    # yamllint, ci/lintconf.yaml's truthy rule
    ("values.yaml", lambda text: text + "stray: yes\n", "truthy value should be one of"),
    # helm lint --strict (helm-lint-extra-args): an unknown top-level key fails values.schema.json
    ("ci/seed-values.yaml", lambda text: text + "vrfz: {}\n", "vrfz"),
])
def test_ct_lint_fails_on(tmp_path: Path, file: str, change: Any, message: str) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(helm.CHART, chart, ignore=shutil.ignore_patterns(".git", ".tools", ".cache", "tests"))
    (chart / file).write_text(change((chart / file).read_text()))
    result = charttesting.lint("helm3", chart)
    assert result.returncode != 0, result.stdout
    # ct can exit before the output of yamllint, yamale or helm has reached it (seen under
    # load), so the tool's message is checked where it arrived, the failure always
    output = result.stdout + result.stderr
    assert message in output or "failed processing charts" in output
