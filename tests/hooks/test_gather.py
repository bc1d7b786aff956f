"""The preflight's reads side by side (hooks/symrouting/gather.py in_parallel): the steps
run on several threads at once, a failure stops new steps from starting, and the error
raised is the first in the steps' order, not the first in time."""

from __future__ import annotations

import threading

import pytest

from symrouting.gather import in_parallel


def test_the_steps_run_at_once() -> None:
    """Three steps that each wait for the other two: they end only if they run together."""
    meeting = threading.Barrier(3, timeout=10)
    met: list[int] = []
    in_parallel([lambda: met.append(meeting.wait()) for _ in range(3)], workers=3)
    assert sorted(met) == [0, 1, 2]


def test_no_step_starts_after_one_failed() -> None:
    """A cluster that cannot be reached is waited for once: the steps after the failure never run."""
    ran: list[int] = []

    def fails() -> None:
        raise ConnectionRefusedError("refused")

    with pytest.raises(ConnectionRefusedError):
        in_parallel([lambda: ran.append(0), fails, lambda: ran.append(2), lambda: ran.append(3)], workers=1)
    assert ran == [0]


def test_the_error_raised_is_the_first_step_s_when_every_running_step_ended() -> None:
    second_failed = threading.Event()
    ended: list[str] = []

    def first() -> None:
        assert second_failed.wait(10)
        ended.append("first")
        raise LookupError("the first step's")

    def second() -> None:
        second_failed.set()
        raise ValueError("the second step's, raised earlier")

    with pytest.raises(LookupError, match="the first step's"):
        in_parallel([first, second], workers=2)
    assert ended == ["first"]
