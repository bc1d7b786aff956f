"""symrouting/records.py: `@record` behaves as `dataclasses.dataclass` does for what the hooks
use (the standard library is the oracle, class by class), and the hook runs no longer import
dataclasses or inspect."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import Any

import pytest

from symrouting import records
from tests.support import helm


def pair(frozen: bool) -> tuple[type, type]:
    """The same class, made by dataclasses and by records."""
    made = []
    for decorate, field in ((dataclasses.dataclass(frozen=frozen), dataclasses.field),
                            (records.record(frozen=frozen), records.field)):
        class Policy:
            name: str
            selector: dict[str, str]
            wave: int = 0
            ports: list[str] = field(default_factory=list)

            def label(self) -> str:
                return f"{self.name}@{self.wave}"
        made.append(decorate(Policy))
    return made[0], made[1]


@pytest.mark.parametrize("frozen", [True, False])
def test_a_record_is_made_read_compared_and_printed_as_a_dataclass(frozen: bool) -> None:
    for args, kwargs in (((("p", {"a": "b"}), {})), (("p", {}, 3), {"ports": ["eth1"]}), ((), {"selector": {}, "name": "q"})):
        made = [cls(*args, **kwargs) for cls in pair(frozen)]
        expected, got = made
        assert repr(got).split("(", 1)[1] == repr(expected).split("(", 1)[1]
        assert records.asdict(got) == dataclasses.asdict(expected)
        assert got.label() == expected.label()
        assert got == type(got)(*args, **kwargs) and got != expected and got != records.replace(got, wave=9)


@pytest.mark.parametrize("frozen", [True, False])
def test_a_factory_default_is_made_afresh_and_is_no_class_attribute(frozen: bool) -> None:
    expected, got = pair(frozen)
    assert got("a", {}).ports is not got("b", {}).ports
    assert hasattr(got, "ports") == hasattr(expected, "ports")
    assert got.wave == expected.wave == 0


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("call", [
    lambda cls: cls("only-a-name"),
    lambda cls: cls("p", {}, 1, [], "one too many"),
    lambda cls: cls("p", {}, colour="red"),
    lambda cls: cls("p", {}, name="twice"),
])
def test_wrong_arguments_are_refused_as_dataclasses_refuses_them(frozen: bool, call: Any) -> None:
    for cls in pair(frozen):
        with pytest.raises(TypeError):
            call(cls)


def test_a_frozen_record_refuses_changes_and_hashes_by_its_fields() -> None:
    expected, got = (cls("p", {}) for cls in pair(True))
    for value in (expected, got):
        with pytest.raises(AttributeError):
            value.wave = 2
        with pytest.raises(AttributeError):
            del value.name
    with pytest.raises(records.FrozenInstanceError):
        got.name = "other"
    with pytest.raises(TypeError):  # its dict field is unhashable, as a dataclass's is
        hash(got)
    hashable = records.replace(got, selector=(), ports=())
    assert hash(hashable) == hash(type(got)("p", (), 0, ()))
    assert len({hashable, type(got)("p", (), 0, ())}) == 1


def test_a_record_that_is_not_frozen_changes_and_has_no_hash() -> None:
    expected, got = (cls("p", {}) for cls in pair(False))
    got.wave = 2
    expected.wave = 2
    assert records.asdict(got) == dataclasses.asdict(expected)
    for value in (dataclasses.replace(expected, selector=(), ports=()), records.replace(got, selector=(), ports=())):
        with pytest.raises(TypeError):  # even of hashable fields, as `eq` without `frozen` makes it
            hash(value)


def test_asdict_goes_through_nested_records_lists_and_dicts() -> None:
    expected, got = pair(True)
    made = []
    for cls, decorate, field in ((expected, dataclasses.dataclass, dataclasses.field), (got, records.record, records.field)):
        class Release:
            policies: tuple[Any, ...]
            by_node: dict[str, Any] = field(default_factory=dict)
        outer = decorate(Release)
        made.append(outer((cls("a", {"x": "y"}), cls("b", {})), {"n1": [cls("c", {})]}))
    assert records.asdict(made[1]) == dataclasses.asdict(made[0])


def test_methods_a_class_writes_itself_are_kept() -> None:
    made = []
    for decorate in (dataclasses.dataclass(frozen=True), records.record(frozen=True)):
        class Peer:
            address: str

            def __repr__(self) -> str:
                return f"peer {self.address}"

            def __hash__(self) -> int:
                return 7
        made.append(decorate(Peer)("10.0.0.1"))
    assert [repr(value) for value in made] == ["peer 10.0.0.1"] * 2
    assert [hash(value) for value in made] == [7, 7]


def test_replace_refuses_a_field_the_record_has_not() -> None:
    _, got = pair(True)
    with pytest.raises(TypeError, match="colour"):
        records.replace(got("p", {}), colour="red")


def test_a_field_without_default_after_one_with_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="'late'"):
        @records.record
        class Broken:
            early: int = 0
            late: int


def test_a_hook_run_imports_neither_dataclasses_nor_inspect() -> None:
    """What records.py is for: a hook process starts without their cost (issue 22)."""
    modules = sorted(path.stem for path in (helm.CHART / "hooks" / "symrouting").glob("*.py") if path.stem != "__main__")
    probe = (f"import sys, {', '.join(f'symrouting.{name}' for name in modules)}; "
             "print(sorted({'dataclasses', 'inspect'} & set(sys.modules)))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(helm.CHART / "hooks")})
    assert run.stdout.strip() == "[]"
