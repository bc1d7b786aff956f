"""values.yaml documents every key, values.schema.json and the docs name the same keys,
and docs/values.md's table is what scripts/values_table.py makes of values.yaml."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from tests.support import helm, scripts


values_table = scripts.load("values_table")
SCHEMA = json.loads((helm.CHART / "values.schema.json").read_text())


def schema_paths(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every key the schema allows, map keys as <*> and list items as []. $refs are leaves."""
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        yield path
        yield from schema_paths(child, path + ".")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "properties" in extra:
        yield from schema_paths(extra, prefix + "<*>.")
    items = node.get("items")
    if isinstance(items, dict) and "properties" in items:
        yield from schema_paths(items, prefix.removesuffix(".") + "[].")


def documented_paths() -> set[str]:
    rows, _ = values_table.parse((helm.CHART / "values.yaml").read_text())
    return {re.sub(r"<[^>]+>", "<*>", row.path) for row in rows}


def test_every_values_key_has_a_comment() -> None:
    _, undocumented = values_table.parse((helm.CHART / "values.yaml").read_text())
    assert undocumented == []


def test_every_schema_key_is_documented() -> None:
    """A key is documented by its own row, or (for a group such as `cluster`) by its keys' rows."""
    documented = documented_paths()
    missing = [
        path
        for path in schema_paths(SCHEMA)
        if "[]" not in path and not any(doc == path or doc.startswith(path + ".") for doc in documented)
    ]
    assert missing == []


def test_every_documented_key_is_in_the_schema() -> None:
    assert sorted(documented_paths() - set(schema_paths(SCHEMA))) == []


def test_values_reference_table_is_current() -> None:
    rows, _ = values_table.parse((helm.CHART / "values.yaml").read_text())
    readme = (helm.CHART / "docs" / "values.md").read_text()
    assert values_table.readme_with_table(readme, values_table.render_table(rows)) == readme, (
        "docs/values.md's table is stale: run scripts/values_table.py --write"
    )


def test_schema_is_valid_draft7() -> None:
    Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"


@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_sites_validate_against_the_schema_in_python_too(site: Any) -> None:
    """The same schema, checked by a second implementation than Helm's."""
    import yaml

    values = yaml.safe_load((helm.CHART / "values.yaml").read_text())
    override = yaml.safe_load(site.read_text())
    merged = {**values, **{k: v for k, v in override.items() if not isinstance(v, dict)}}
    for key, value in override.items():
        if isinstance(value, dict):
            merged[key] = {**(values.get(key) or {}), **value}
    errors = sorted(Draft7Validator(SCHEMA).iter_errors(merged), key=str)
    assert errors == []


def test_every_schema_key_has_a_description() -> None:
    """Editors with the YAML language server show these as the docs of each key."""
    assert [path for path, node in values_table.schema_nodes(SCHEMA) if not node.get("description", "").strip()] == []


def test_schema_descriptions_are_the_values_yaml_comments() -> None:
    rows, _ = values_table.parse((helm.CHART / "values.yaml").read_text())
    fresh = values_table.schema_text(values_table.schema_with_descriptions(json.loads(json.dumps(SCHEMA)), rows))
    assert fresh == (helm.CHART / "values.schema.json").read_text(), (
        "values.schema.json's descriptions are stale: run scripts/values_table.py --write"
    )


VALUES_FILES = sorted([*(helm.CHART / "ci").glob("*-values.yaml"), *helm.CHART.glob("sites/**/*.yaml")])


@pytest.mark.parametrize("path", VALUES_FILES, ids=lambda p: str(p.relative_to(helm.CHART)))
def test_values_files_name_the_schema_for_editors(path: Any) -> None:
    """The YAML language server's modeline, first line: "relativeFilePath is the path relative
    to the open yaml file" (redhat-developer/yaml-language-server README, inlined schema)."""
    first = path.read_text().splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    if path.is_relative_to(helm.CHART / "sites"):
        # A sites' config repository lives apart from the chart: the schema of the chart's
        # release, at its tag, not a path into this repository.
        assert match.group(1) == SITES_SCHEMA_URL
    else:
        assert (path.parent / match.group(1)).resolve() == (helm.CHART / "values.schema.json").resolve()


CHART_YAML = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())
# GitHub serves a file of a tag at raw.githubusercontent.com/<owner>/<repo>/<tag>/<path>; the
# release workflow tags v<version>.
SITES_SCHEMA_URL = (CHART_YAML["home"].replace("https://github.com/", "https://raw.githubusercontent.com/")
                    + f"/v{CHART_YAML['version']}/values.schema.json")


HELM_DOCS = helm.TOOLS / "helm-docs"
_HELM_DOCS_ROW = re.compile(r"^\| (?P<path>\S+) \| (?P<type>.*?) \| (?P<default>.*?) \| (?P<description>.*) \|$")


def helm_docs_rows(tmp_path: Path) -> dict[str, tuple[str, str, str]]:
    """The values table the real helm-docs (v1.14.2, rig/go/helm-docs) makes of values.yaml."""
    if not HELM_DOCS.is_file():
        raise FileNotFoundError(f"{HELM_DOCS} is missing: run scripts/bootstrap.sh rig")
    for name in ("Chart.yaml", "values.yaml"):
        shutil.copy(helm.CHART / name, tmp_path / name)
    (tmp_path / "README.md.gotmpl").write_text('{{ template "chart.valuesTable" . }}\n')
    result = subprocess.run([str(HELM_DOCS), "--chart-search-root", str(tmp_path), "--dry-run"],
                            capture_output=True, text=True, check=True)
    rows = [match for line in result.stdout.splitlines() if (match := _HELM_DOCS_ROW.match(line))]
    return {m["path"]: (m["type"], m["default"], m["description"]) for m in rows[1:]}


def test_the_table_agrees_with_helm_docs_where_helm_docs_has_a_row(tmp_path: Path) -> None:
    """We keep scripts/values_table.py: helm-docs renders a row only for a key values.yaml
    holds (helm-docs pkg/document/values.go walks the values), so every `vrfs.<vrf>.*` and
    `bfdProfiles.<key>.*` row, the chart's main API, would be lost. Where helm-docs has a
    row, ours must read the same."""
    theirs = helm_docs_rows(tmp_path)
    rows, _ = values_table.parse((helm.CHART / "values.yaml").read_text())
    ours = {row.path: (row.type, row.default, row.description.replace("|", "\\|")) for row in rows}
    assert {path: ours.get(path) for path in theirs} == theirs
    assert sorted(path for path in ours if path not in theirs) == sorted(path for path in ours if "<" in path)
    assert len(theirs) >= 50
