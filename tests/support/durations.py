"""The suite's slowest tests, each printed with why it is slow.

The reason is written once, in the test module's docstring: a paragraph that starts with
"Slow" (CONTRIBUTING.md: a module whose tests take over LIMIT seconds says what a test
costs and why). After the run the terminal summary lists the SHOWN slowest calls, each with
its module's reason, and names every test over LIMIT whose module gives none. Run times
depend on the machine, so it reports rather than fails.
"""

from __future__ import annotations

import pytest

LIMIT = 20.0
SHOWN = 15
_calls: list[tuple[float, str, str]] = []


def slow_reason(docstring: str | None) -> str:
    """The module docstring's paragraph that starts with "Slow", on one line; "" without."""
    for paragraph in (docstring or "").split("\n\n"):
        if paragraph.lstrip().startswith("Slow"):
            return " ".join(paragraph.split())
    return ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reasons: dict[str, str] = {}
    for item in items:
        module = getattr(item, "module", None)
        if module is None:
            continue
        if module.__name__ not in reasons:
            reasons[module.__name__] = slow_reason(module.__doc__)
        if reasons[module.__name__]:
            # user_properties travel with the reports from an xdist worker to the controller
            item.user_properties.append(("slow", reasons[module.__name__]))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        reason = next((str(value) for key, value in report.user_properties if key == "slow"), "")
        _calls.append((report.duration, report.nodeid, reason))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _calls:
        return
    slowest = sorted(_calls, reverse=True)
    terminalreporter.section(f"slowest {SHOWN} tests (their calls; a module of tests over {LIMIT:.0f} s says why)")
    reasons: dict[str, str] = {}
    for duration, nodeid, reason in slowest[:SHOWN]:
        terminalreporter.write_line(f"{duration:6.2f}s {nodeid}")
        if reason and duration > LIMIT:
            reasons.setdefault(nodeid.split("::", 1)[0], reason)
    for module, reason in reasons.items():
        terminalreporter.write_line(f"why {module}: {reason}")
    unexplained = [(d, n) for d, n, reason in slowest if d > LIMIT and not reason]
    if unexplained:
        terminalreporter.write_line(f"over {LIMIT:.0f} s in a module whose docstring says no \"Slow\":")
        for duration, nodeid in unexplained:
            terminalreporter.write_line(f"{duration:6.2f}s {nodeid}")
