"""records: `@record`, the hooks' data classes: dataclasses' syntax and behaviour (fields
from annotations, defaults, `field(default_factory=...)`, `frozen=True`, `==`, a hash when
frozen, a repr, `asdict`, `replace`), made at a fraction of their cost.

Why not `dataclasses`: every hook run is a fresh Python process, and on Python 3.11 the
module imports `inspect` (7.8 ms) and compiles five methods per frozen class (0.7-0.9 ms
a class); the preflight's path has 22 classes, the status's 29 (issue 22 measured it).
Here one `__init__` is compiled per class and the other methods are shared.
mypy reads `@record` as a dataclass through `typing.dataclass_transform` (PEP 681), which
runtime does not need (the `symrouting` tool installs on Python 3.10, which lacks it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform  # typing has it from 3.11 only
else:  # it only marks the decorator for type checkers, and the `symrouting` tool runs on 3.10
    def dataclass_transform(**_: Any) -> Callable[[T], T]:
        return lambda decorated: decorated

T = TypeVar("T")
_NO_DEFAULT = object()
_FROM_FACTORY = object()  # what __init__'s parameter holds until the factory makes the value


class FrozenInstanceError(AttributeError):
    """Raised on setting or deleting a field of a frozen record, as dataclasses does."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is made afresh for each record (a list, a dict, a set)."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _fields(cls: type) -> tuple[str, ...]:
    return cls.__record_fields__  # type: ignore[attr-defined, no-any-return]


def _repr(self: Any) -> str:
    return f"{type(self).__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in _fields(type(self)))})"


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in _fields(type(self)))


def _eq(self: Any, other: object) -> Any:  # bool, or NotImplemented for another class
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(_values(self))


def _refuse_set(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delete(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _init(cls: type, names: list[str], defaults: dict[str, Any], frozen: bool) -> Callable[..., None]:
    """The class's __init__, compiled once: positional or keyword arguments in field
    order, as dataclasses takes them; a frozen record writes its fields past __setattr__."""
    given: dict[str, Any] = {"_from_factory": _FROM_FACTORY}
    parameters, body = [], []
    for index, name in enumerate(names):
        default = defaults.get(name, _NO_DEFAULT)
        if isinstance(default, _Factory):
            given[f"_factory_{name}"] = default.make
            parameters.append(f"{name}=_from_factory")
            body.append(f"    if {name} is _from_factory: {name} = _factory_{name}()")
        elif default is not _NO_DEFAULT:
            given[f"_default_{name}"] = default
            parameters.append(f"{name}=_default_{name}")
        elif any(earlier in defaults for earlier in names[:index]):
            raise TypeError(f"{cls.__qualname__}: field {name!r} has no default but follows one that has")
        else:
            parameters.append(name)
    body += [f"    _fields[{name!r}] = {name}" if frozen else f"    self.{name} = {name}" for name in names]
    lines = [f"def __init__(self, {', '.join(parameters)}):" if names else "def __init__(self):"]
    lines += (["    _fields = self.__dict__"] if frozen and names else []) + body + ["    pass"]
    namespace = dict(given)
    exec("\n".join(lines), namespace)  # noqa: S102 - the source is made of field names only
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _make(cls: type[T], frozen: bool) -> type[T]:
    names = list(cls.__dict__.get("__annotations__", {}))
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    for name, default in defaults.items():
        if isinstance(default, _Factory):
            delattr(cls, name)  # as dataclasses does: no class attribute for a factory
    init = _init(cls, names, defaults, frozen)
    setattr(cls, "__record_fields__", tuple(names))
    setattr(cls, "__init__", init)
    setattr(cls, "__match_args__", tuple(names))
    if "__repr__" not in cls.__dict__:
        setattr(cls, "__repr__", _repr)
    if "__eq__" not in cls.__dict__:
        setattr(cls, "__eq__", _eq)
    if cls.__dict__.get("__hash__") is None:  # a class's own __hash__ stays, as in dataclasses
        setattr(cls, "__hash__", _hash if frozen else None)
    if frozen:
        setattr(cls, "__setattr__", _refuse_set)
        setattr(cls, "__delattr__", _refuse_delete)
    return cls


@overload
def record(cls: type[T], /) -> type[T]: ...
@overload
def record(*, frozen: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[T] | None = None, /, *, frozen: bool = False) -> Any:
    """Makes cls a record: `@record` or `@record(frozen=True)`."""
    if cls is None:
        return lambda cls: _make(cls, frozen)
    return _make(cls, frozen)


def is_record(value: object) -> bool:
    return hasattr(type(value), "__record_fields__")


def asdict(value: Any) -> Any:
    """A record as a dict of its fields, recursively through records, lists, tuples and
    dicts, as dataclasses.asdict gives it."""
    if is_record(value):
        return {name: asdict(getattr(value, name)) for name in _fields(type(value))}
    if isinstance(value, (list, tuple)):
        return type(value)(asdict(item) for item in value)
    if isinstance(value, dict):
        return {asdict(key): asdict(item) for key, item in value.items()}
    return value


def replace(value: T, **changes: Any) -> T:
    """A copy of a record with some fields changed, as dataclasses.replace makes it."""
    unknown = set(changes) - set(_fields(type(value)))
    if unknown:
        raise TypeError(f"{type(value).__qualname__} has no field {', '.join(sorted(unknown))}")
    return type(value)(**{name: changes.get(name, getattr(value, name)) for name in _fields(type(value))})
