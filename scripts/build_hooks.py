#!/usr/bin/env python3
"""Builds hooks/symrouting.zip, the hooks' code as the chart ships it, from hooks/symrouting/.

Helm keeps the whole chart and the rendered manifest in every release Secret (1 MiB), so the
hooks' code is stored twice: as a chart file and in the hooks ConfigMap. Chart files are bytes
that Helm writes as base64 inside the release JSON before gzip, which compresses Python text
about a third worse than gzip alone (helm v3.19.0 / v4.1.4 pkg/storage/driver/util.go
encodeRelease; pkg/chart File.Data is []byte). A zip is compressed once and costs about its own
size in both places, and Python imports from it with the standard library (zipimport: the Jobs
set PYTHONPATH to the zip).

What goes in:
- every module of the package except the command-only ones (they never run in a Job);
- each module with its comments and docstrings removed, as `python -OO` drops docstrings, but
  with every line kept in place, so a line number in a Job's log is the line in the repository.
  A module that reads its own `__doc__` (cli.py, for --help) keeps its module docstring.
The zip is reproducible (sorted names, fixed timestamps and modes) and committed, because Argo
CD and `helm install` from a checkout use the tree as it is. tests/test_build_hooks.py fails
when it is stale.

Usage: scripts/build_hooks.py          write hooks/symrouting.zip
       scripts/build_hooks.py --check  exit 1 if the committed zip differs from a fresh build
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "hooks" / "symrouting"
ZIP = ROOT / "hooks" / "symrouting.zip"

# Modules only the `symrouting` command runs (pipx install symrouting), never a hook Job, with
# the function that imports each (in cli.py, or in a command-only module); kept out of the zip,
# so out of every release Secret.
COMMAND_ONLY = {"commands": "main", "kubectl": "transport_for", "adopt": "adopt", "diagram": "draw", "blockyaml": "adopt"}

_DOC_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def docstrings(tree: ast.Module) -> list[tuple[ast.AST, ast.Expr]]:
    """Each (owner, docstring statement): a string literal as the first statement of a module,
    class or function body."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, _DOC_OWNERS) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                found.append((node, first))
    return found


def strip(source: str) -> str:
    """The module without comments and docstrings, every remaining token on its own line and
    column. A body left with nothing gets `...`; a module docstring read through `__doc__`
    stays."""
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column]
    keeps_module_doc = "__doc__" in source
    # Bottom up, so that a blanked docstring never moves the position of one above it.
    for owner, doc in sorted(docstrings(ast.parse(source)), key=lambda pair: -pair[1].lineno):
        if isinstance(owner, ast.Module) and keeps_module_doc:
            continue
        assert doc.end_lineno is not None and doc.end_col_offset is not None
        head = lines[doc.lineno - 1][:doc.col_offset]
        tail = lines[doc.end_lineno - 1][doc.end_col_offset:]
        for row in range(doc.lineno, doc.end_lineno + 1):
            lines[row - 1] = ""
        # `...` where the docstring was the whole body; never in a module, where a statement
        # before `from __future__ import` would be a syntax error.
        alone = len(owner.body) == 1 and not isinstance(owner, ast.Module)  # type: ignore[attr-defined]
        lines[doc.lineno - 1] = head + ("..." if alone else "") + tail
    return "".join(line.rstrip() + "\n" for line in lines)


def modules() -> list[Path]:
    """The package's modules that the hook Jobs run, sorted."""
    return sorted(p for p in SOURCE.glob("*.py") if p.stem not in COMMAND_ONLY)


def build() -> bytes:
    """The zip, byte for byte the same on every run of the same zlib."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in modules():
            info = zipfile.ZipInfo(f"symrouting/{path.name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, strip(path.read_text()), compresslevel=9)
    return buffer.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    """A zip's files and their contents (what Python imports; the compressed bytes may differ
    between zlib builds)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in sorted(archive.namelist())}


def main(argv: list[str]) -> int:
    fresh = build()
    if argv == ["--check"]:
        if not ZIP.exists() or members(ZIP.read_bytes()) != members(fresh):
            print(f"{ZIP.relative_to(ROOT)} is not built from hooks/symrouting/: run scripts/build_hooks.py",
                  file=sys.stderr)
            return 1
        return 0
    if argv:
        print(__doc__.split("Usage:")[1], file=sys.stderr)
        return 2
    ZIP.write_bytes(fresh)
    print(f"{ZIP.relative_to(ROOT)}: {len(fresh)} bytes, {len(modules())} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
