"""hooks/symrouting.zip (scripts/build_hooks.py): built from the current source, the same code
without comments and docstrings, on the same lines, and importable with the standard library
alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import helm, scripts

build_hooks = scripts.load("build_hooks")
SOURCE = helm.CHART / "hooks" / "symrouting"
ZIP = helm.CHART / "hooks" / "symrouting.zip"


def without_docstrings(tree: ast.Module) -> ast.Module:
    """What the stripped module must parse to: the docstrings gone, `...` where one was a
    whole class or function body (a module may be empty), the module docstring kept where the
    module reads it."""
    keep_module_doc = any(isinstance(n, ast.Name) and n.id == "__doc__" for n in ast.walk(tree))
    for owner, doc in build_hooks.docstrings(tree):
        if isinstance(owner, ast.Module) and keep_module_doc:
            continue
        owner.body.remove(doc)  # type: ignore[attr-defined]
        if not owner.body and not isinstance(owner, ast.Module):  # type: ignore[attr-defined]
            owner.body.append(ast.Expr(ast.Constant(...)))  # type: ignore[attr-defined]
    return tree


def statement_lines(tree: ast.Module) -> list[tuple[str, int]]:
    return [(type(n).__name__, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.stmt) and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
                                                and n.value.value is ...)]


def test_the_committed_zip_is_built_from_the_source() -> None:
    assert build_hooks.main(["--check"]) == 0, "hooks/symrouting.zip is stale: run scripts/build_hooks.py"


def test_the_zip_holds_every_job_module_and_no_command_only_one() -> None:
    names = set(build_hooks.members(ZIP.read_bytes()))
    every = {p.stem for p in SOURCE.glob("*.py")}
    assert names == {f"symrouting/{name}.py" for name in every - set(build_hooks.COMMAND_ONLY)}
    assert set(build_hooks.COMMAND_ONLY) < every, "each command-only module exists"


@pytest.mark.parametrize("module", sorted(p.name for p in SOURCE.glob("*.py")))
def test_stripping_keeps_the_code_and_its_lines(module: str) -> None:
    source = (SOURCE / module).read_text()
    stripped = build_hooks.strip(source)
    assert "#" not in "".join(t.string for t in _comments(stripped)), "a comment left"
    assert ast.dump(ast.parse(stripped)) == ast.dump(without_docstrings(ast.parse(source)))
    assert statement_lines(ast.parse(stripped)) == statement_lines(without_docstrings(ast.parse(source)))
    assert stripped.count("\n") == source.count("\n") + (0 if source.endswith("\n") else 1)


def _comments(text: str) -> list[object]:
    import io
    import tokenize
    return [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]


def test_stripping_a_lone_docstring_leaves_a_body_and_keeps_future_imports_first() -> None:
    source = ('"""Module."""\n\nfrom __future__ import annotations\n\n\nclass A:\n    """Only a docstring."""\n\n\n'
              'def f(x: int) -> int:  # why\n    """Doc\n    on two lines."""\n    return x  # the value\n')
    stripped = build_hooks.strip(source)
    assert stripped == ("\n\nfrom __future__ import annotations\n\n\nclass A:\n    ...\n\n\n"
                        "def f(x: int) -> int:\n\n\n    return x\n")
    compile(stripped, "m.py", "exec")


def test_a_module_that_reads_its_docstring_keeps_it() -> None:
    source = '"""Usage text."""\n\nHELP = __doc__\n'
    assert build_hooks.strip(source) == source


def test_python_runs_the_hooks_from_the_zip_alone(tmp_path: Path) -> None:
    """`python3 -S -m symrouting` with only the zip on the path, as the Jobs run it: every
    subcommand a Job runs answers --help."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ZIP), "PYTHONDONTWRITEBYTECODE": "1"}
    for command in ("preflight", "prune", "teardown", "wait", "verify"):
        result = subprocess.run([sys.executable, "-S", "-m", "symrouting", command, "--help"], cwd=tmp_path,
                                capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, (command, result.stderr)
        assert "symrouting.zip" in subprocess.run(
            [sys.executable, "-S", "-c", "import symrouting; print(symrouting.__file__)"], cwd=tmp_path,
            capture_output=True, text=True, env=env, check=True).stdout


def test_a_persons_command_from_the_zip_says_where_to_get_it(tmp_path: Path) -> None:
    """The zip leaves commands.py out: `status` runs from the symrouting command, and from the
    zip it says so (exit 2) instead of an internal error."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ZIP), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-S", "-m", "symrouting", "status", "--release", "a/b"], cwd=tmp_path,
                            capture_output=True, text=True, env=env, check=False)
    assert (result.returncode, result.stderr) == (2, "symrouting: status: the hooks' code runs the Jobs' commands "
                                                     "only; install the symrouting command (pipx install symrouting) "
                                                     "for it\n")
