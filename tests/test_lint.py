"""What `ct lint` checks, done with its own parts: yamllint with ci/lintconf.yaml, yamale on
Chart.yaml with chart-testing's chart_schema.yaml, and `helm lint --strict` for every
ci/*-values.yaml under Helm 3 and Helm 4. ci/ct.yaml configures the real ct the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yamale
import yaml
from yamllint import config as yamllint_config
from yamllint import linter

from tests.support import helm, upstream

LINTED = [
    helm.CHART / "Chart.yaml",
    helm.CHART / "values.yaml",
    *sorted((helm.CHART / "ci").glob("*.yaml")),
    *sorted((helm.CHART / "tests" / "bad_values").glob("*.yaml")),
    *sorted(helm.CHART.glob("sites/**/*.yaml")),
    *sorted(helm.CHART.glob("examples/**/*.yaml")),
    *sorted(helm.CHART.glob(".github/workflows/*.yaml")),
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


def test_chart_yaml_matches_ct_chart_schema() -> None:
    schema = yamale.make_schema(str(upstream.locate("ct/chart_schema.yaml")))
    data = yamale.make_data(str(helm.CHART / "Chart.yaml"))
    yamale.validate(schema, data, strict=True)


def test_ct_config_points_at_the_repo_files() -> None:
    config = yaml.safe_load((helm.CHART / "ci" / "ct.yaml").read_text())
    assert (helm.CHART / config["lint-conf"]).is_file()
    assert config["charts"] == ["."]


@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_helm_lint_strict(site: Path, helm_version: str) -> None:
    result = helm.run(helm_version, "lint", "--strict", str(helm.CHART), "--namespace", helm.NAMESPACE, "--values", str(site))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout
