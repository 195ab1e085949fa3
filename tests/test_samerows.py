"""The column check of review's and amend's verification (writing/samerows.py) against
the multiset comparison it stands in for: True only when the multisets are equal, and
the verifications decide exactly as before (the multiset comparison when it says no)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import Config, Location, Measurement
from kpitrack.domain.series import Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.reading.loading import load_texts
from kpitrack.writing.amending import _holds_corrected
from kpitrack.writing.recording import measurement_key
from kpitrack.writing.reviewing import _same_measurements
from kpitrack.writing.samerows import same_series

DAY = dt.date(2026, 11, 25)

values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 1.0, 2.5]),
    st.sampled_from(["good", "bad", "1"]),
)
entries = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 5),
        values,
        st.sampled_from([None, "n", "m"]),
        st.sampled_from([None, "ann"]),
    ),
    max_size=12,
)


def build(rows: list[tuple[str, int, float | str, str | None, str | None]]) -> Measurements:
    return Measurements(
        [
            Measurement(k, DAY - dt.timedelta(days=d), v, n, b, Location("m.yaml", i + 1, 3), i)
            for i, (k, d, v, n, b) in enumerate(rows)
        ]
    )


def keys(ms: Measurements, skip: tuple[str, int] | None = None) -> Counter[object]:
    out: Counter[object] = Counter()
    for series in ms.all_series():
        for i, m in enumerate(series):
            if skip != (series.kpi, i):
                out[measurement_key(m)] += 1
    return out


@st.composite
def pairs(draw: st.DrawFn) -> tuple[list[tuple], list[tuple]]:
    """Two lists of entries, the second often the first with one change (or none)."""
    a = draw(entries)
    b = list(a)
    change = draw(st.sampled_from(["none", "field", "swap", "drop", "other"]))
    if change == "other":
        b = draw(entries)
    elif a and change != "none":
        i = draw(st.integers(0, len(a) - 1))
        j = draw(st.integers(0, len(a) - 1))
        if change == "swap":
            b[i], b[j] = b[j], b[i]
        elif change == "drop":
            del b[i]
        else:
            field = draw(st.integers(0, 4))
            row = list(b[i])
            row[field] = draw([st.sampled_from("abc"), st.integers(0, 5), values][min(field, 2)])
            b[i] = tuple(row)
    return a, b


@settings(max_examples=300, deadline=None)
@given(pairs())
def test_same_series_only_when_the_multisets_are_equal(ab: tuple[list, list]) -> None:
    a, b = build(ab[0]), build(ab[1])
    if same_series(a, b):
        assert keys(a) == keys(b)
    assert same_series(a, build(ab[0]))  # the same entries, read again: always the same


@settings(max_examples=300, deadline=None)
@given(pairs(), st.sampled_from("abc"), st.integers(0, 4))
def test_same_series_except_one_entry(ab: tuple[list, list], kpi: str, at: int) -> None:
    a, b = build(ab[0]), build(ab[1])
    if same_series(a, b, except_at=(kpi, at)):
        assert keys(a, (kpi, at)) == keys(b, (kpi, at))


FILE = """\
kpis:
  - id: a
    name: A
    measure: count
    target: 1
    frequency: weekly
  - id: b
    name: B
    measure: count
    target: 1
    frequency: weekly
"""
MEASUREMENTS = """\
measurements:
  - {kpi: a, date: 2026-11-18, value: 1}
  - {kpi: a, date: 2026-11-25, value: 2, note: late}
  - {kpi: b, date: 2026-11-25, value: 3}
"""


def load(*texts: tuple[str, str]) -> Workspace:
    workspace, problems = load_texts(list(texts), config=Config(), as_of=DAY)
    assert not [p for p in problems if p.is_error]
    return workspace


def test_review_verification_sees_a_changed_measurement() -> None:
    before = load(("kpis.yaml", FILE + MEASUREMENTS))
    moved_lines = load(("kpis.yaml", FILE + "# reviewed\n" + MEASUREMENTS))
    changed = load(("kpis.yaml", FILE + MEASUREMENTS.replace("value: 3", "value: 4")))
    assert _same_measurements(before, moved_lines)  # on the columns
    assert not _same_measurements(before, changed)
    # Moved to another file (another reading order): the columns differ, the multisets
    # do not, and the multiset comparison decides as before.
    lines = MEASUREMENTS.splitlines(keepends=True)
    split = load(
        ("kpis.yaml", FILE + "measurements:\n" + lines[2]),  # a's second entry first
        ("more.yaml", "".join(lines[:2]) + lines[3]),
    )
    assert not same_series(before.measurements, split.measurements)
    assert _same_measurements(before, split)


def test_amend_verification_sees_any_other_change() -> None:
    before = load(("kpis.yaml", FILE + MEASUREMENTS))
    series = before.measurements.series("a")
    assert series is not None
    entry = series[1]
    corrected = Measurement(
        entry.kpi, entry.date, 5.0, entry.note, entry.by, entry.loc, entry.order
    )
    amended = MEASUREMENTS.replace("value: 2,", "value: 5,")
    assert _holds_corrected(before, load(("kpis.yaml", FILE + amended)), entry, corrected)
    also = amended.replace("value: 3", "value: 4")
    assert not _holds_corrected(before, load(("kpis.yaml", FILE + also)), entry, corrected)
    wrong = MEASUREMENTS.replace("value: 2,", "value: 6,")
    assert not _holds_corrected(before, load(("kpis.yaml", FILE + wrong)), entry, corrected)
    note = amended.replace("note: late", "note: later")
    assert not _holds_corrected(before, load(("kpis.yaml", FILE + note)), entry, corrected)
    # The corrected entry in another file: the multisets match, as before.
    lines = amended.splitlines(keepends=True)
    split = load(
        ("kpis.yaml", FILE + "measurements:\n" + lines[2]),
        ("more.yaml", "".join(lines[:2]) + lines[3]),
    )
    assert not same_series(before.measurements, split.measurements, except_at=("a", 1))
    assert _holds_corrected(before, split, entry, corrected)
