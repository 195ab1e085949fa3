"""The JSON output's indented text (`render.json.dumps`) is `json.dumps(indent=2,
ensure_ascii=False, allow_nan=False)` character for character, and raises as it does,
whatever the document holds."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpitrack.render import json as render_json


def reference(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


class Colour(enum.StrEnum):
    RED = "red"


class Count(enum.IntEnum):
    ONE = 1


_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=()) | st.sampled_from('"\\/\n\t\x00\x1f\u2028')
)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_DOCUMENTS = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=40,
)
# What the quick path leaves to json.dumps: keys that are not strings, subclasses, tuples,
# infinite and NaN floats, other objects.
_ODD = st.sampled_from(
    [math.inf, -math.inf, math.nan, Colour.RED, Count.ONE, (1, "a"), object()]
) | st.tuples(_LEAVES)
_ODD_DOCUMENTS = st.recursive(
    _LEAVES | _ODD,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_TEXT | st.integers() | st.floats() | st.none(), inner, max_size=4)
    ),
    max_leaves=20,
)


def outcome(function: Any, doc: Any) -> tuple[str, str]:
    try:
        return "text", function(doc)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


@given(_DOCUMENTS)
def test_the_same_text_as_json_dumps(doc: Any) -> None:
    assert render_json.dumps(doc) == reference(doc)


@given(_ODD_DOCUMENTS)
def test_anything_else_written_or_refused_as_json_dumps_does(doc: Any) -> None:
    assert outcome(render_json.dumps, doc) == outcome(reference, doc)


@pytest.mark.parametrize(
    "doc",
    [
        {},
        [],
        {"a": {}, "b": [], "c": [[], {}], "d": [{"e": None}]},
        {"x": [1, 2.5, -0.0, 1e300, 5e-324, True, False, None, "é ✓ \u2028"]},
        {"nested": {"deeper": {"deepest": [1, [2, [3]]]}}},
        "just text",
        3,
        None,
        {2: "a", 2.5: "b", None: "c", True: "d"},
        {"bad": math.nan},
        {"bad": [math.inf]},
        {"t": (1, 2)},
        {"e": Colour.RED, "n": Count.ONE},
    ],
)
def test_examples(doc: Any) -> None:
    assert outcome(render_json.dumps, doc) == outcome(reference, doc)


def test_a_circular_document_is_refused_as_json_dumps_refuses_it() -> None:
    doc: list[Any] = []
    doc.append(doc)
    assert outcome(render_json.dumps, doc) == outcome(reference, doc)
    loop: dict[str, Any] = {}
    loop["self"] = loop
    assert outcome(render_json.dumps, loop) == outcome(reference, loop)


def test_a_key_seen_as_a_string_is_not_taken_for_another_type() -> None:
    render_json.dumps({"1": 0, "None": 1})  # both keys remembered as strings
    doc = {1: 0, None: 1}
    assert render_json.dumps(doc) == reference(doc)
