"""A KPI page's fast paths against the plain computation: the chart's measured line and
circles, formatted a whole column at a time, are exactly what `chart_svg`'s x() and y()
with `_num` give one point at a time; a history's columns sliced from its series are
the ones gathered entry by entry."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import assume, example, given
from hypothesis import strategies as st
from site_fixtures import SAMPLE, SAMPLE_AS_OF, plain_table_rows

from kpitrack.domain.model import Config, KpiResult, Location, Measurement
from kpitrack.domain.series import History, Measurements
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.reading.loading import load_workspace
from kpitrack.render.site_html import (
    CHART_H,
    CHART_W,
    PAD_BOTTOM,
    PAD_LEFT,
    PAD_RIGHT,
    PAD_TOP,
    _measured_marks,
    _num,
    _x_texts,
    measurements_table,
)
from kpitrack.reports.site import Chart, Points

DAY0 = dt.date(2024, 1, 1)
SAMPLE_RESULTS = [
    r
    for r in evaluate(
        load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)[0], as_of=SAMPLE_AS_OF
    )
    if r.history
]
PLOT_W = CHART_W - PAD_LEFT - PAD_RIGHT
PLOT_H = CHART_H - PAD_TOP - PAD_BOTTOM

# Values of every kind: any finite float (negative, huge, tiny, -0.0), whole numbers,
# and multiples of 0.05 (where one decimal rounds half-way).
values = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(-1e-6, 1e-6)
    | st.integers(-10_000, 10_000).map(float)
    | st.integers(-2_000, 2_000).map(lambda i: i * 0.05)
    | st.integers(-2_000, 2_000).map(lambda i: i / 20)
)


def plain_marks(chart: Chart) -> tuple[str, str]:
    """The measured line and its circles as `chart_svg` wrote them point by point."""
    span = max(1, (chart.last - chart.first).days)

    def x(day: dt.date) -> str:
        return _num(PAD_LEFT + (day - chart.first).days / span * PLOT_W)

    def y(value: float) -> str:
        return _num(PAD_TOP + (chart.high - value) / (chart.high - chart.low) * PLOT_H)

    points = [(x(d), y(v)) for d, v in chart.measured]
    line = " ".join(f"{px},{py}" for px, py in points) if len(points) > 1 else ""
    circles = "".join(f'<circle class="point" cx="{px}" cy="{py}" r="3.5"/>' for px, py in points)
    return line, circles


def marks(chart: Chart) -> tuple[str, str]:
    return _measured_marks(chart, PLOT_W, PLOT_H, max(1, (chart.last - chart.first).days))


@given(
    st.lists(st.tuples(st.integers(0, 4000), values), min_size=1, max_size=40),
    values,
    st.floats(1e-9, 1e15, allow_nan=False) | st.integers(1, 1000).map(lambda i: i * 0.05),
    st.integers(0, 400),
    st.integers(0, 400),
)
@example([(0, 0.05)], 0.0, 1.0, 0, 0)  # a single point
@example([(3, 1.0), (3, 2.0), (3, 1.0)], 0.0, 2.0, 0, 10)  # repeated dates and values
@example([(0, -0.0), (1, 0.0)], -0.0, 0.05, 0, 0)
def test_the_measured_marks_are_the_point_by_point_ones(
    points: list[tuple[int, float]], low: float, height: float, before: int, after: int
) -> None:
    measured = tuple((DAY0 + dt.timedelta(days=d), v) for d, v in sorted(points))
    first = measured[0][0] - dt.timedelta(days=before)
    last = measured[-1][0] + dt.timedelta(days=after)
    assume(low + height - low > 0)  # chart_of never makes an empty range
    chart = Chart(first, last, low, low + height, low, measured, (), ())
    assert marks(chart) == plain_marks(chart)
    assert marks(chart) == plain_marks(chart)  # the x texts stored by the first call
    span = max(1, (last - first).days)
    stored = _x_texts(first.toordinal(), span, PLOT_W)
    assert set(stored) <= set(range(first.toordinal(), first.toordinal() + span + 1))
    columns = Points([d.toordinal() for d, _ in measured], [v for _, v in measured])
    assert marks(Chart(first, last, low, low + height, low, columns, (), ())) == plain_marks(chart)


@given(st.lists(st.integers(0, 4), min_size=1, max_size=20), st.integers(2, 7))
def test_the_marks_of_a_scale_are_the_point_by_point_ones(steps: list[int], size: int) -> None:
    """Qualitative KPIs chart scale positions 0..size-1 over the whole scale."""
    measured = Points(
        [DAY0.toordinal() + i for i in range(len(steps))], [float(s % size) for s in steps]
    )
    last = DAY0 + dt.timedelta(days=len(steps))
    chart = Chart(DAY0, last, 0.0, float(size - 1), float(size - 1), measured, (), ())
    assert marks(chart) == plain_marks(chart)


def test_whole_tenths_lose_their_decimal_and_only_they() -> None:
    day = DAY0 + dt.timedelta(days=10)
    chart = Chart(DAY0, day, 0.0, 172.0, 0.0, ((DAY0, 172.0), (day, 0.0)), (), ())
    assert marks(chart) == (
        "92,14 464,186",
        '<circle class="point" cx="92" cy="14" r="3.5"/>'
        '<circle class="point" cx="464" cy="186" r="3.5"/>',
    )
    tenths = Chart(DAY0, day, 0.0, 17.2, 0.0, ((DAY0, 10.0), (day, 0.1)), (), ())
    assert marks(tenths)[0] == "92,86 464,185"
    assert marks(Chart(DAY0, day, 0.0, 3.0, 0.0, ((day, 2.9),), (), ())) == (
        "",
        '<circle class="point" cx="464" cy="19.7" r="3.5"/>',
    )


@given(
    st.lists(
        st.tuples(
            st.integers(0, 60),
            values | st.integers(-5, 5) | st.sampled_from(["good", "bad"]),
            st.none() | st.text(max_size=3),
            st.none() | st.sampled_from(["ana", "bo"]),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(-1, 61),
    st.booleans(),
)
def test_history_columns_are_gathered_entry_by_entry(
    rows: list, limit: int, in_date_order: bool
) -> None:
    if in_date_order:
        rows = sorted(rows, key=lambda row: row[0])
    made = [
        Measurement("k", DAY0 + dt.timedelta(days=d), v, n, b, Location("m", i + 1, 1), i)
        for i, (d, v, n, b) in enumerate(rows)
    ]
    series = Measurements(made).series("k")
    assert series is not None
    history = series.until((DAY0 + dt.timedelta(days=limit)).toordinal())
    assert isinstance(history, History)
    plain = (
        [m.date.toordinal() for m in history],
        [m.value for m in history],
        [m.note for m in history],
        [m.by for m in history],
    )
    columns = history.columns()
    assert columns == plain
    assert [list(map(type, column)) for column in columns] == [
        list(map(type, column)) for column in plain
    ]
    if in_date_order:
        assert isinstance(history._index, range)  # the sliced path


def test_the_measurements_table_opens_as_report_html_table_does() -> None:
    from kpitrack.render.report_html import table

    made = measurements_table(SAMPLE_RESULTS[0])
    top = table(["Date", "Value", "Expected", "Note", "By"], [], nowrap=(0,))
    assert made.startswith(top.removesuffix("\n</tbody></table>") + "\n<tr>")
    assert made.endswith("\n</tbody></table>")


@given(
    st.sampled_from(SAMPLE_RESULTS),
    st.lists(
        st.tuples(
            st.integers(0, 60),
            values | st.integers(-3, 3),
            st.none() | st.sampled_from(["", "a <b>", "\u202e", "same"]),
            st.none() | st.sampled_from(["ana", "bo & co"]),
        ),
        min_size=1,
        max_size=25,
    ),
    st.none() | st.integers(0, 90),
)
def test_the_measurements_table_rows_are_the_plain_ones(
    r: KpiResult, rows: list, due: int | None
) -> None:
    kpi = dataclasses.replace(r.kpi, due=None if due is None else DAY0 + dt.timedelta(days=due))
    made = [
        Measurement(kpi.id, DAY0 + dt.timedelta(days=d), v, n, b, Location("m", i, 1), i)
        for i, (d, v, n, b) in enumerate(rows)
    ]
    history = Measurements(made).series(kpi.id).until(dt.date.max.toordinal())
    for given_history in (history, tuple(history)):
        result = dataclasses.replace(r, kpi=kpi, history=given_history)
        table = measurements_table(result)
        assert table.split("\n")[-len(made) - 1 : -1] == plain_table_rows(result)
