"""The preflight report, as text for people and as JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence

from symrouting.checks import Result
from symrouting.records import asdict

_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}


def text(results: Sequence[Result], verdict: str) -> str:
    width = max(len(r.check) for r in results)
    lines = []
    for result in results:
        lines.append(f"{_MARK[result.status]}  {result.check:<{width}}  {result.summary}")
        lines += [f"      {detail}" for detail in result.details if detail]
        if result.fix:
            fix_lines = result.fix.splitlines()
            lines.append(f"      fix: {fix_lines[0]}")
            lines += [f"        {line}" for line in fix_lines[1:]]
    lines.append(verdict)
    return "\n".join(lines) + "\n"


def as_json(results: Sequence[Result], verdict: str, ok: bool) -> str:
    return json.dumps({"ok": ok, "verdict": verdict, "checks": [asdict(r) for r in results]}, indent=2) + "\n"
