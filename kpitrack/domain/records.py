"""Frozen records: frozen dataclasses without generated code.

`@dataclass(frozen=True)` writes an `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` (and four comparisons with `order=True`) as source
text and compiles it when the module is imported: for the model's dozen classes that
was the largest part of kpitrack's own start-up (docs/PERFORMANCE.md "What makes
start-up fast"). A record class writes its `__init__` itself (compiled once, into the
.pyc, like the rest of the module) and takes the other methods from `Record`, which
gives them exactly as a frozen dataclass does, from the class's fields.

`record(...)` is still `dataclasses.dataclass` underneath, asked for no methods: the
class keeps its `__dataclass_fields__`, so `dataclasses.fields`, `replace` and
`is_dataclass` work as before. For mypy, modules import `dataclasses.dataclass` as
`record` (under `TYPE_CHECKING`), so the classes are checked as the frozen dataclasses
they behave as. `tests/test_records.py` compares every record class with the frozen
dataclass made from the same fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")
FrozenInstanceError = dataclasses.FrozenInstanceError


class Record:
    """Equality, hash, repr, ordering (with `order=True`) and immutability of a frozen
    dataclass, from the field names `record` gives the class."""

    __slots__ = ()

    _field_names: ClassVar[tuple[str, ...]]
    _field_values: ClassVar[attrgetter[tuple[Any, ...]]]

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._field_names)
        return f"{self.__class__.__qualname__}({values})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._field_values(self) == self._field_values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._field_values(self))

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


class _Slotted(Record):
    """Pickling and copying of a slotted record, as dataclasses give a frozen slotted class
    (the default would set the fields through the refusing `__setattr__`)."""

    __slots__ = ()

    def __getstate__(self) -> list[Any]:
        return [getattr(self, name) for name in self._field_names]

    def __setstate__(self, state: list[Any]) -> None:
        for name, value in zip(self._field_names, state, strict=True):
            object.__setattr__(self, name, value)


class _Ordered(Record):
    """The comparisons of `order=True`: field by field, between records of one class."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._field_values(self) < self._field_values(other)
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._field_values(self) <= self._field_values(other)
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._field_values(self) > self._field_values(other)
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._field_values(self) >= self._field_values(other)
        return NotImplemented


def record(
    *, frozen: bool = True, order: bool = False, slots: bool = False
) -> Callable[[type[T]], type[T]]:
    """`@dataclass(frozen=True, order=..., slots=...)` for a `Record` subclass that writes
    its own `__init__` (assigning each field with `object.__setattr__`, in field order)."""
    if not frozen:
        raise ValueError("a record is frozen")

    def wrap(cls: type[T]) -> type[T]:
        if not issubclass(cls, Record) or "__init__" not in cls.__dict__:
            raise TypeError(f"{cls.__qualname__}: a record is a Record with its own __init__")
        made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=slots)
        names = tuple(f.name for f in dataclasses.fields(made))
        if len(names) < 2:
            raise TypeError(f"{cls.__qualname__}: a record has at least two fields")
        made._field_names = names
        made._field_values = attrgetter(*names)
        added: list[tuple[type[Record], str]] = []
        if slots:
            added += [(_Slotted, "__getstate__"), (_Slotted, "__setstate__")]
        if order:
            added += [(_Ordered, name) for name in ("__lt__", "__le__", "__gt__", "__ge__")]
        for methods, name in added:
            setattr(made, name, vars(methods)[name])
        result: type[T] = made
        return result

    return wrap
