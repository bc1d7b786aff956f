"""A section set to null never reaches a template as nil.

`x: null` in a values file or `--set x=null` makes Helm delete the key, the chart's default
with it (helm pkg/chart/common/util/coalesce.go, and pkg/strvals for --set). Each top-level
and second-level key of values.yaml, and each key of the seed's VRF, is nulled in turn over
ci/seed-values.yaml, both ways, under both Helms: the render either fails with a message that
names the nulled key (templates/validate/values.yaml for a top-level section; the schema's
`required` for a second-level key whose default is not empty, false or zero), or succeeds
without a `<nil>` in what it prints. A nil pointer never reaches the user.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"
DEFAULTS: dict[str, Any] = yaml.safe_load((helm.CHART / "values.yaml").read_text())
SEED_VRF: dict[str, Any] = yaml.safe_load(SEED.read_text())["vrfs"]["ens4vrf"]


def _paths() -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in DEFAULTS.items():
        paths.append((key,))
        if isinstance(value, dict):
            paths += [(key, inner) for inner in value]
    paths += [("vrfs", "ens4vrf", key) for key in SEED_VRF]
    return paths


PATHS = _paths()


def _nulled(path: tuple[str, ...]) -> dict[str, Any]:
    doc: Any = None
    for part in reversed(path):
        doc = {part: doc}
    return dict(doc)


def test_the_paths_reach_every_section() -> None:
    assert ("hooks", "serviceAccount") in PATHS and ("rollout",) in PATHS and len(PATHS) > 50


# Both Helms read a values file; --set goes through the same coalescing, so once is enough.
@pytest.mark.parametrize(("helm_version", "how"), [("helm3", "file"), ("helm4", "file"), ("helm3", "set")])
@pytest.mark.parametrize("path", PATHS, ids=".".join)
def test_a_nulled_section_is_named_or_defaulted(path: tuple[str, ...], how: str, helm_version: str,
                                                 tmp_path: Path) -> None:
    if how == "file":
        override = tmp_path / "null.yaml"
        override.write_text(yaml.safe_dump(_nulled(path)))
        result = helm.template(helm_version, [SEED, override])
    else:
        result = helm.template(helm_version, [SEED], extra=["--set", ".".join(path) + "=null"])
    for text in (result.stderr, result.stdout):
        assert "nil pointer" not in text and "<nil>" not in text, f"{'.'.join(path)}: {text[:600]}"
    if result.returncode != 0:
        named = (re.search(rf"(^|\s){re.escape('.'.join(path))}[\s:]", result.stderr) is not None
                 or f"at '/{'/'.join(path[:-1])}': missing property '{path[-1]}'" in result.stderr
                 or f"at '/{'/'.join(path)}': got null" in result.stderr)
        assert named, f"{'.'.join(path)} is not named:\n{result.stderr[:600]}"


@pytest.mark.parametrize("path", [("hooks", "serviceAccount"), ("cleanup", "onUninstall"), ("rollout", "timeoutSeconds")],
                         ids=".".join)
def test_a_nulled_default_is_refused_not_taken_as_false_or_zero(path: tuple[str, ...], tmp_path: Path) -> None:
    """cleanup.onUninstall: null would read as false and leave the nodes configured after an
    uninstall; rollout.timeoutSeconds: null as --timeout=0."""
    override = tmp_path / "null.yaml"
    override.write_text(yaml.safe_dump(_nulled(path)))
    result = helm.template("helm3", [SEED, override])
    assert result.returncode != 0
    assert f"at '/{path[0]}': missing property '{path[1]}'" in result.stderr, result.stderr
