"""The hooks package is typed (mypy --strict passes for the oldest Python it supports) and
imports nothing but the standard library and itself when it runs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support import helm

PACKAGE = helm.CHART / "hooks" / "symrouting"


def test_mypy_strict() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-version", "3.10", "--no-incremental", "--cache-dir=/dev/null",
                             "symrouting"], cwd=PACKAGE.parent, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _imports(path: Path) -> set[str]:
    """The modules a file imports when it runs: not those under `if TYPE_CHECKING:`, which
    only type checkers read (symrouting/records.py takes dataclass_transform from there)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_standard_library_only() -> None:
    allowed = set(sys.stdlib_module_names) | {"symrouting", "__future__"}
    for path in sorted(PACKAGE.glob("*.py")):
        assert _imports(path) <= allowed, f"{path.name} imports {sorted(_imports(path) - allowed)}"
