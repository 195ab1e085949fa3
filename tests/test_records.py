"""The model's records (`kpitrack/domain/records.py`) behave exactly as the frozen
dataclasses they replace: each is compared with the dataclass that `dataclasses`
makes from the same fields, on hypothesis-generated field values."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitrack.domain import model, periods, problems
from kpitrack.domain.records import Record, record
from kpitrack.evaluation import rollup, select
from kpitrack.render import table
from kpitrack.reports import checking

MODULES = (model, problems, periods, rollup, select, table, checking)
RECORDS = sorted(
    (
        c
        for m in MODULES
        for c in vars(m).values()
        if isinstance(c, type) and issubclass(c, Record) and c.__module__ == m.__name__
    ),
    key=lambda c: c.__name__,
)
ORDERED = {"Location", "Problem", "Period"}
SLOTTED = {"Location", "Measurement"}

# Any hashable value will do: a record checks no types, as a dataclass checks none.
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.tuples(st.integers(0, 2), st.text(max_size=2)),
)


def twin(cls: type) -> Any:
    """The frozen dataclass of `cls`'s fields, made by dataclasses."""
    specs = [
        (f.name, f.type)
        if f.default is dataclasses.MISSING
        else (f.name, f.type, dataclasses.field(default=f.default))
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(
        cls.__name__,
        specs,
        frozen=True,
        order=cls.__name__ in ORDERED,
        slots=cls.__name__ in SLOTTED,
    )


def test_the_start_up_classes_are_records() -> None:
    names = {c.__name__ for c in RECORDS}
    assert {"Location", "Measurement", "Kpi", "KpiResult", "Config", "Tree"} <= names
    assert names >= ORDERED | SLOTTED
    for m in (model, problems, periods, rollup, select):
        for cls in vars(m).values():
            if isinstance(cls, type) and cls.__module__ == m.__name__:
                assert not dataclasses.is_dataclass(cls) or issubclass(cls, Record), cls
    for cls in RECORDS:  # else dataclasses writes one from the signature, at import
        assert cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("), cls.__name__


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_signature_fields_and_shape_are_the_dataclasses(cls: type) -> None:
    made = twin(cls)
    assert list(inspect.signature(cls).parameters.values()) == list(
        inspect.signature(made).parameters.values()
    )
    assert [(f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash) for f in
            dataclasses.fields(cls)] == [
        (f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash)
        for f in dataclasses.fields(made)
    ]  # fmt: skip
    assert cls.__match_args__ == made.__match_args__  # type: ignore[attr-defined]
    assert hasattr(cls, "__dict__") == hasattr(made, "__dict__")
    assert ("__slots__" in vars(cls)) is (cls.__name__ in SLOTTED)
    assert dataclasses.is_dataclass(cls)
    if cls.__name__ in SLOTTED:
        assert cls.__slots__ == made.__slots__  # type: ignore[attr-defined]


def _pair(cls: type, data: st.DataObject) -> tuple[dict[str, Any], dict[str, Any]]:
    names = [f.name for f in dataclasses.fields(cls)]
    drawn = data.draw(st.fixed_dictionaries({n: VALUES for n in names}))
    first = {n: drawn[n] for n in names}
    changed = data.draw(st.sets(st.sampled_from(names), max_size=2))
    second = {n: data.draw(VALUES) if n in changed else v for n, v in first.items()}
    return first, second


def _same_outcome(ours: Any, theirs: Any) -> None:
    """Both calls give the same value, or raise the same exception type and message."""
    results = []
    for call in (ours, theirs):
        try:
            results.append(("value", call()))
        except Exception as exc:
            results.append((type(exc).__name__, str(exc)))
    assert results[0] == results[1]


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_records_behave_as_the_frozen_dataclass(cls: type, data: st.DataObject) -> None:
    made = twin(cls)
    first, second = _pair(cls, data)
    a, b = cls(**first), cls(**second)
    ta, tb = made(**first), made(**second)

    assert repr(a) == repr(ta) and repr(b) == repr(tb)
    assert (a == b) is (ta == tb) and (a != b) is (ta != tb)
    in_order = [first[f.name] for f in dataclasses.fields(cls)]
    assert a == cls(*in_order) and a == copy.copy(a) == copy.deepcopy(a)
    assert (a == ta) is False and a.__eq__(ta) is NotImplemented
    assert a != first and (a == None) is False  # noqa: E711
    _same_outcome(lambda: hash(a), lambda: hash(ta))
    assert pickle.loads(pickle.dumps(a)) == a
    for op in ("__lt__", "__le__", "__gt__", "__ge__"):
        _same_outcome(lambda op=op: getattr(a, op)(b), lambda op=op: getattr(ta, op)(tb))
    _same_outcome(lambda: sorted([b, a]) == [a, b], lambda: sorted([tb, ta]) == [ta, tb])
    assert dataclasses.astuple(a) == dataclasses.astuple(ta)
    assert dataclasses.asdict(a) == dataclasses.asdict(ta)
    if hasattr(a, "__dict__"):
        assert list(vars(a).items()) == list(vars(ta).items())

    name = data.draw(st.sampled_from(list(first)))
    value = data.draw(VALUES)
    _same_outcome(lambda: setattr(a, name, value), lambda: setattr(ta, name, value))
    _same_outcome(lambda: delattr(a, name), lambda: delattr(ta, name))
    # Another name: refused too (a slotted frozen dataclass of Python 3.11 refuses it
    # with a TypeError from its own super() call; a record says why).
    for refused in (lambda: setattr(a, "other", 1), lambda: delattr(a, "other")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            refused()
    replaced = dataclasses.replace(a, **{n: second[n] for n in list(first)[:2]})
    assert repr(replaced) == repr(
        dataclasses.replace(ta, **{n: second[n] for n in list(first)[:2]})
    )
    _same_outcome(lambda: repr(cls()), lambda: repr(made()))  # missing fields: TypeError


def test_record_refuses_what_it_cannot_be() -> None:
    with pytest.raises(ValueError, match="frozen"):
        record(frozen=False)

    class NoInit(Record):
        a: int
        b: int

    with pytest.raises(TypeError, match="own __init__"):
        record()(NoInit)
