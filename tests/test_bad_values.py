"""Every file under tests/bad_values/ is an override of ci/seed-values.yaml that breaks one
rule of the chart. Helm must refuse it, print nothing, and name the offending value path.

Each file starts with two comments: `# Rule: <what is wrong>` and `# error: <text>`, a piece
of Helm's error message that must appear (for schema rules the JSON pointer of the value,
for template rules the dotted value path and the fix).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import helm

CASES = sorted((Path(__file__).parent / "bad_values").glob("*.yaml"))
SEED = helm.CHART / "ci" / "seed-values.yaml"


def expected_error(case: Path) -> str:
    for line in case.read_text().splitlines():
        if line.startswith("# error: "):
            return line.removeprefix("# error: ")
    raise AssertionError(f"{case.name} has no '# error:' line")


def test_corpus_covers_enough_rules() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_bad_values_are_refused_with_the_value_path(case: Path, helm_version: str) -> None:
    result = helm.template(helm_version, [SEED, case])
    assert result.returncode != 0, f"{case.name} rendered:\n{result.stdout[:400]}"
    assert result.stdout == "", "a refused render must print no manifest"
    assert expected_error(case) in result.stderr, result.stderr


ADDRESS_CASES = [case for case in CASES if "value must be 'a" in expected_error(case)]


@pytest.mark.parametrize("case", ADDRESS_CASES, ids=lambda p: p.stem)
def test_a_malformed_address_is_one_line(case: Path, helm_version: str) -> None:
    """The value's path and what an address looks like, not each failed anyOf branch with
    its pattern (values.schema.json, the $comment of definitions/ipAddress)."""
    result = helm.template(helm_version, [SEED, case])
    schema_lines = [line for line in result.stderr.splitlines() if line.lstrip().startswith("- at ")]
    assert schema_lines == [f"- {expected_error(case)}"], result.stderr


def test_every_address_shape_has_a_case() -> None:
    assert len(ADDRESS_CASES) >= 5


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_each_case_breaks_only_its_own_rule(case: Path) -> None:
    """A case whose error is one of several would hide a broken rule behind another."""
    result = helm.template("helm3", [SEED, case])
    messages = [line for line in result.stderr.splitlines() if line.startswith("  ") and not line.lstrip().startswith("-")]
    assert len(messages) <= 1, f"{case.name} breaks several template rules:\n" + "\n".join(messages)


def test_an_egress_label_of_63_characters_renders(helm_version: str, tmp_path: Path) -> None:
    """The bound's other side: test-<58 characters> is 63 after the prefix, which a label name
    part holds (apimachinery pkg/util/validation IsQualifiedName); one more is
    bad_values/egress-label-64-characters.yaml."""
    case = (Path(__file__).parent / "bad_values" / "egress-label-64-characters.yaml").read_text()
    override = tmp_path / "egress-63.yaml"
    override.write_text(case.replace("s" * 59, "s" * 58))
    result = helm.template(helm_version, [SEED, override])
    assert result.returncode == 0, result.stderr
    assert any(d["kind"] == "EgressService" and d["metadata"]["name"] == "s" * 58 for d in result.documents)
