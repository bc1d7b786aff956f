"""tests/support/durations.py: the slowest tests are printed with their module's reason,
and a test over the limit in a module that gives none is named."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support import durations

TESTS = Path(__file__).parent
LEASE = "Slow (20-80 s a row, on purpose): each step is a real `helm` run."


class Reporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str) -> None:
        self.lines.append(f"== {title}")

    def write_line(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture
def calls() -> Iterator[None]:
    saved = list(durations._calls)
    durations._calls.clear()
    yield
    durations._calls[:] = saved


def _report(nodeid: str, seconds: float, reason: str = "", when: str = "call") -> Any:
    return SimpleNamespace(nodeid=nodeid, duration=seconds, when=when,
                           user_properties=[("slow", reason)] if reason else [])


def _summary() -> list[str]:
    reporter = Reporter()
    durations.pytest_terminal_summary(reporter)  # type: ignore[arg-type]
    return reporter.lines


@pytest.mark.usefixtures("calls")
def test_the_slowest_are_listed_with_why_and_the_unexplained_named() -> None:
    durations.pytest_runtest_logreport(_report("l.py::lease", 45.9, LEASE))
    durations.pytest_runtest_logreport(_report("l.py::rollback", 31.0, LEASE))
    durations.pytest_runtest_logreport(_report("u.py::upgrade", 28.7))
    durations.pytest_runtest_logreport(_report("q.py::quick", 0.2, "Slow (never): under the limit, not shown"))
    durations.pytest_runtest_logreport(_report("u.py::upgrade", 9.0, when="setup"))  # fixtures are not counted
    assert _summary() == [
        "== slowest 15 tests (their calls; a module of tests over 20 s says why)",
        " 45.90s l.py::lease",
        " 31.00s l.py::rollback",
        " 28.70s u.py::upgrade",
        "  0.20s q.py::quick",
        f"why l.py: {LEASE}",
        'over 20 s in a module whose docstring says no "Slow":',
        " 28.70s u.py::upgrade",
    ]


@pytest.mark.usefixtures("calls")
def test_only_the_slowest_fifteen_are_listed() -> None:
    for index in range(20):
        durations.pytest_runtest_logreport(_report(f"t::{index:02d}", float(index)))
    assert _summary()[1:] == [f"{float(i):6.2f}s t::{i:02d}" for i in range(19, 4, -1)]


def test_the_reason_is_the_paragraph_that_starts_with_slow() -> None:
    doc = "Helm lifecycle.\n\nSlow (20-80 s a row, on purpose): each step\n  is a real `helm` run.\n\nMore."
    assert durations.slow_reason(doc) == LEASE
    assert durations.slow_reason("Quick tests.") == "" and durations.slow_reason(None) == ""


def test_every_real_cluster_module_says_why_it_is_slow() -> None:
    """The tiers whose tests wait on Helm, Jobs and nmstate (CONTRIBUTING.md)."""
    modules = [*sorted((TESTS / "lifecycle").glob("test_*.py")), TESTS / "hooks" / "test_delete_order.py"]
    silent = [m.name for m in modules if not durations.slow_reason(ast.get_docstring(ast.parse(m.read_text())))]
    assert silent == []


def test_each_collected_test_carries_its_modules_reason() -> None:
    slow = SimpleNamespace(__name__="tests.lifecycle.slow", __doc__=f"Rows.\n\n{LEASE}")
    quick = SimpleNamespace(__name__="tests.quick", __doc__="Rows.")
    items = [SimpleNamespace(module=module, user_properties=[]) for module in (slow, slow, quick)]
    durations.pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [item.user_properties for item in items] == [[("slow", LEASE)], [("slow", LEASE)], []]
