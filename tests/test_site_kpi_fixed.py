"""The fixed parts of a KPI page, made the quick way, are exactly what the plain
functions give: the chart's data (`chart_of`), the chart's frame, value ticks, dates,
target line, expected path, milestones, projection and events (`chart_svg`), its legend
and summary, the standing, the definition and the status line. The plain functions, as
they were before, are kept below as the oracle."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Sequence

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from test_site_lists import drawn_site, sample_site, workspaces
from test_site_shared_texts import plain_legend

from kpitrack.domain.model import (
    Direction,
    Event,
    Frequency,
    Kind,
    Kpi,
    KpiResult,
    Location,
    Measurement,
    Milestone,
    Value,
)
from kpitrack.domain.problems import Problem
from kpitrack.domain.series import Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate, expected_position, status_sentence
from kpitrack.render import site_html as H
from kpitrack.render.report_common import format_value
from kpitrack.reports.site import Chart, Points, Provenance, Site, chart_of, history_columns

t = H.t
_NUMBERS = {float, int}

# ---------------------------------------------------------------- the oracle: the plain functions


def plain_chart_of(result: KpiResult) -> Chart | None:
    """`chart_of` as it was: one `expected_position` per corner, one list of every y."""
    kpi = result.kpi
    if not result.history or result.start is None or result.baseline is None:
        return None
    base = kpi.position(result.baseline)
    columns = history_columns(result.history)
    ordinals, values = columns[0], columns[1]
    if set(map(type, values)) <= _NUMBERS:
        positions = list(map(float, values))
    else:
        positions = list(map(kpi.position, values))
    measured = Points(ordinals, positions)
    first_day, last_day = dt.date.fromordinal(ordinals[0]), dt.date.fromordinal(ordinals[-1])
    first = min(result.start, first_day)
    last = max(last_day, kpi.due or last_day)
    f = result.forecast
    forecast = (f.at, f.value, f.low, f.high) if f is not None else None
    if forecast is not None:
        last = max(last, forecast[0])
    corners = {first, last}
    corners.add(result.start)
    corners.update(m.date for m in kpi.milestones)
    if kpi.due is not None:
        corners.add(kpi.due)
    expected = tuple(
        (day, expected_position(kpi, day, start=result.start, baseline=base))
        for day in sorted(d for d in corners if first <= d <= last)
    )
    milestones = tuple(
        (m.date, kpi.position(m.target)) for m in kpi.milestones if first <= m.date <= last
    )
    target = kpi.position(kpi.target)
    ys = positions + [y for _, y in expected] + [y for _, y in milestones]
    ys.append(target)
    if forecast is not None:
        ys += list(forecast[1:])
    low, high = min(ys), max(ys)
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:
        low, high = min(low, 0.0), max(high, float(len(kpi.scale) - 1))
    if high - low < 1e-12:
        low, high = low - 1, high + 1
    events = tuple((e.date, e.title) for e in result.events if first <= e.date <= last)
    return Chart(first, last, low, high, target, measured, expected, milestones, forecast, events)


def _num(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def plain_chart_svg(
    r: KpiResult, chart: Chart, summary: str, formatter: Callable[[Value], str] | None = None
) -> str:
    """`chart_svg` as it was: each coordinate by x() or y() and `_num`, one at a time."""
    kpi = r.kpi
    if formatter is None:
        formatter = functools.partial(format_value, kpi)
    plot_w = H.CHART_W - H.PAD_LEFT - H.PAD_RIGHT
    plot_h = H.CHART_H - H.PAD_TOP - H.PAD_BOTTOM
    span = max(1, (chart.last - chart.first).days)

    def x(day: dt.date) -> str:
        return _num(H.PAD_LEFT + (day - chart.first).days / span * plot_w)

    def y(value: float) -> str:
        return _num(H.PAD_TOP + (chart.high - value) / (chart.high - chart.low) * plot_h)

    out = [
        f'<svg viewBox="0 0 {H.CHART_W} {H.CHART_H}" role="img" aria-label="{summary}" '
        'xmlns="http://www.w3.org/2000/svg" focusable="false">',
        f"<title>{summary}</title>",
        f'<rect class="frame" x="{H.PAD_LEFT}" y="{H.PAD_TOP}" width="{plot_w}" '
        f'height="{plot_h}"/>',
    ]
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:
        ticks = [float(i) for i in range(len(kpi.scale)) if chart.low <= i <= chart.high]
    else:
        ticks = [chart.high, chart.low]
        if all(abs(float(y(chart.target)) - float(y(v))) > 14 for v in ticks):
            ticks.append(chart.target)
    for v in ticks:
        label = t(formatter(kpi.label(v)))
        out.append(
            f'<text x="{H.PAD_LEFT - 6}" y="{y(v)}" text-anchor="end" '
            f'dominant-baseline="middle">{label}</text>'
        )
    bottom = _num(H.CHART_H - H.PAD_BOTTOM + 18)
    out.append(f'<text x="{H.PAD_LEFT}" y="{bottom}" text-anchor="start">{chart.first}</text>')
    out.append(
        f'<text x="{H.CHART_W - H.PAD_RIGHT}" y="{bottom}" text-anchor="end">{chart.last}</text>'
    )
    if kpi.due is not None:
        out.append(
            f'<line class="target" x1="{H.PAD_LEFT}" y1="{y(chart.target)}" '
            f'x2="{H.CHART_W - H.PAD_RIGHT}" y2="{y(chart.target)}"/>'
        )
    path = " ".join(f"{x(d)},{y(v)}" for d, v in chart.expected)
    out.append(f'<polyline class="expected" points="{path}"/>')
    for d, v in chart.milestones:
        cx, cy = float(x(d)), float(y(v))
        diamond = f"{_num(cx)},{_num(cy - 6)} {_num(cx + 6)},{_num(cy)} "
        diamond += f"{_num(cx)},{_num(cy + 6)} {_num(cx - 6)},{_num(cy)}"
        out.append(f'<polygon class="milestone" points="{diamond}"/>')
    line, circles = H._measured_marks(chart, plot_w, plot_h, span)  # its own oracle's
    if line:
        out.append(f'<polyline class="measured" points="{line}"/>')
    out.append(circles)
    if chart.forecast is not None:
        at, value, low, high = chart.forecast
        d0, v0 = chart.measured[-1]
        out.append(
            f'<line class="projection" x1="{x(d0)}" y1="{y(v0)}" x2="{x(at)}" y2="{y(value)}"/>'
        )
        out.append(f'<line class="band" x1="{x(at)}" y1="{y(low)}" x2="{x(at)}" y2="{y(high)}"/>')
    for d, title in chart.events:
        out.append(
            f'<line class="event" x1="{x(d)}" y1="{H.PAD_TOP}" x2="{x(d)}" '
            f'y2="{H.CHART_H - H.PAD_BOTTOM}">'
            f"<title>{t(d.isoformat() + ' ' + title)}</title></line>"
        )
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- drawn KPIs and charts

DAY0 = dt.date(2026, 1, 1)
SCALE = ("poor", "fair", "good", "great")
days = st.integers(-30, 400)
# Positions: round tenths and halves (`.0` and `.x5` endings), tiny and huge ranges.
positions = (
    st.integers(-1000, 1000).map(float)
    | st.integers(-10_000, 10_000).map(lambda n: n / 20)
    | st.floats(-1e9, 1e9, allow_nan=False)
    | st.sampled_from([0.0, -0.0, 1e-13, 0.05, 0.25, 14.0, 185.95])
)


def _day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


@st.composite
def kpis(draw: st.DrawFn) -> Kpi:
    qualitative = draw(st.booleans())
    due = draw(st.none() | days.map(_day))
    stones = draw(st.lists(st.tuples(days, st.integers(-50, 150)), max_size=3))
    return Kpi(
        "k",
        "K",
        "count",
        "good" if qualitative else draw(st.integers(-50, 150)),
        Frequency.WEEKLY,
        kind=Kind.QUALITATIVE if qualitative else Kind.QUANTITATIVE,
        scale=SCALE if qualitative else (),
        direction=draw(st.sampled_from(list(Direction))),
        unit=None if qualitative else draw(st.sampled_from([None, "%", "USD"])),
        baseline=None if qualitative else draw(st.none() | st.integers(-20, 20)),
        start=draw(st.none() | days.map(_day)),
        due=due,
        milestones=tuple(Milestone(_day(d), SCALE[v % 4] if qualitative else v) for d, v in stones),
    )


@st.composite
def results(draw: st.DrawFn) -> KpiResult:
    """One KPI evaluated over drawn measurements (ints, floats or scale labels, on any
    day), with events: milestones, a due date, a start, forecasts and events vary."""
    kpi = draw(kpis())
    made = []
    for i, day in enumerate(sorted(draw(st.lists(days, max_size=12)))):
        if kpi.scale:
            value: Value = SCALE[draw(st.integers(0, 3))]
        else:
            value = draw(st.integers(-60, 160) | st.floats(-1e6, 1e6, allow_nan=False))
        made.append(Measurement("k", _day(day), value, None, None, Location("m", i + 1, 1), i))
    events = tuple(
        Event(_day(d), draw(st.sampled_from(["launch", "<b>x</b> & y", "a\u202eb"])))
        for d in draw(st.lists(days, max_size=2))
    )
    workspace = Workspace(kpis=(kpi,), measurements=Measurements(made), events=events)
    [result] = evaluate(workspace, as_of=_day(draw(st.integers(0, 420))))
    return result


@st.composite
def charts(draw: st.DrawFn) -> Chart:
    """Any chart `chart_svg` may be given: any dates and positions, a range that is not
    empty, each of its parts present or not."""
    first = _day(draw(st.integers(-30, 30)))
    last = first + dt.timedelta(days=draw(st.integers(0, 400)))
    low = draw(positions)
    high = low + draw(st.floats(1e-12, 1e9) | st.sampled_from([1.0, 3.0, 172.0]))
    assume(high > low)  # as chart_of makes it: never an empty range
    on_chart = st.builds(
        lambda n, v: (first + dt.timedelta(days=n), v), st.integers(0, 400), positions
    )
    measured = draw(st.lists(on_chart, min_size=1, max_size=8))
    forecast = draw(
        st.none()
        | st.tuples(
            st.integers(0, 400).map(lambda n: first + dt.timedelta(days=n)),
            positions,
            positions,
            positions,
        )
    )
    events = draw(st.lists(st.tuples(on_chart.map(lambda p: p[0]), st.text(max_size=4))))
    return Chart(
        first,
        last,
        low,
        high,
        draw(positions),
        tuple(measured),
        tuple(draw(st.lists(on_chart, max_size=4))),
        tuple(draw(st.lists(on_chart, max_size=3))),
        forecast,
        tuple(events[:2]),
    )


# ---------------------------------------------------------------- the chart's data


@settings(max_examples=300, deadline=None)
@given(results())
def test_the_chart_is_the_plain_one(result: KpiResult) -> None:
    plain = plain_chart_of(result)
    assert chart_of(result) == plain
    assert chart_of(result, history_columns(result.history)) == plain
    as_tuple = dataclasses.replace(result, history=tuple(result.history))
    assert chart_of(as_tuple) == plain
    if plain is not None:  # every position a float, as `Kpi.position` makes it
        assert all(type(y) is float for _, y in chart_of(result).measured)  # type: ignore[union-attr]


def test_float_values_are_the_positions_and_ints_become_floats() -> None:
    kpi = Kpi("k", "K", "count", 10, Frequency.WEEKLY, baseline=0, start=DAY0)
    for values in ([1.5, -0.0, 2.0], [1, 2.5, 3], [True, 2.0]):
        made = [
            Measurement("k", _day(i), v, None, None, Location("m", i + 1, 1), i)
            for i, v in enumerate(values)
        ]
        workspace = Workspace(kpis=(kpi,), measurements=Measurements(made))
        [result] = evaluate(workspace, as_of=_day(10))
        chart = chart_of(result)
        assert chart == plain_chart_of(result)
        assert chart is not None
        shown = [y for _, y in chart.measured]
        assert shown == [float(v) for v in values]
        assert all(type(y) is float for y in shown)
        assert str(shown[0]) == str(float(values[0]))  # -0.0 stays -0.0


@given(
    st.lists(st.floats() | st.just(float("nan")), min_size=1, max_size=5),
    st.lists(st.floats() | st.just(float("nan")), max_size=5),
)
def test_min_and_max_go_on_from_the_values_as_over_one_list(
    values: list[float], others: list[float]
) -> None:
    """`chart_of`'s low and high: NaN and -0.0 included, the same as over one list."""
    assert repr(min([min(values), *others])) == repr(min(values + others))
    assert repr(max([max(values), *others])) == repr(max(values + others))


# ---------------------------------------------------------------- the chart's drawing


def _result_of(kpi: Kpi) -> KpiResult:
    [result] = evaluate(Workspace(kpis=(kpi,)), as_of=DAY0)
    return result


@settings(max_examples=400, deadline=None)
@given(kpis(), charts())
@example(  # the target as close as 14 to the top, then to the bottom: no tick of its own
    Kpi("k", "K", "count", 10, Frequency.WEEKLY),
    Chart(DAY0, _day(10), 0.0, 172.0, 158.0, ((DAY0, 1.0),), (), (), None, ()),
)
@example(
    Kpi("k", "K", "count", 10, Frequency.WEEKLY),
    Chart(DAY0, _day(10), 0.0, 172.0, 14.0, ((DAY0, 1.0),), (), (), None, ()),
)
def test_the_chart_is_drawn_as_the_plain_function_draws_it(kpi: Kpi, chart: Chart) -> None:
    r = _result_of(kpi)
    assert H.chart_svg(r, chart, "S") == plain_chart_svg(r, chart, "S")
    shown = functools.partial(format_value, kpi)
    assert H.chart_svg(r, chart, "S", shown) == plain_chart_svg(r, chart, "S", shown)


def test_a_chart_with_every_part_is_drawn_as_before() -> None:
    kpi = Kpi(
        "k",
        "K",
        "count",
        100,
        Frequency.WEEKLY,
        due=_day(60),
        milestones=(Milestone(_day(20), 40),),
    )
    chart = Chart(
        DAY0,
        _day(61),
        -2.5,
        140.25,
        100.0,
        ((DAY0, 0.0), (_day(9), 12.5), (_day(30), 50.05)),
        ((DAY0, 0.0), (_day(20), 40.0), (_day(60), 100.0)),
        ((_day(20), 40.0),),
        (_day(61), 98.0, 80.0, 120.0),
        ((_day(5), "launch <b>"), (_day(6), "a\u202eb")),
    )
    svg = H.chart_svg(_result_of(kpi), chart, "S")
    assert svg == plain_chart_svg(_result_of(kpi), chart, "S")
    for mark in ("milestone", "projection", "band", "event", "target", "expected"):
        assert f'class="{mark}"' in svg


def test_whole_tenths_lose_their_decimal_and_only_they() -> None:
    numbers = [0.0, -0.0, 10.0, 10.04, 10.05, 10.96, 0.95, -3.0, 1e20, float("inf"), 204.0]
    assert H._coordinates(numbers) == [_num(n) for n in numbers]
    assert H._coordinates([]) == []


# ---------------------------------------------------------------- whole sites


def assert_charts_plain(site: Site) -> None:
    cells = H.ListCells(site)
    for page in site.kpis:
        r = page.result
        chart = chart_of(r)
        assert chart == plain_chart_of(r)
        if chart is not None:
            summary = t(H.chart_summary(r, chart, cells))
            formatter = cells.formatter(r.kpi)
            assert H.chart_svg(r, chart, summary, formatter) == plain_chart_svg(
                r, chart, summary, formatter
            )


def test_the_sample_s_charts_are_the_plain_ones() -> None:
    site = sample_site()
    assert any(p.result.kpi.milestones for p in site.kpis)
    assert any(p.result.forecast for p in site.kpis)
    assert_charts_plain(site)


@settings(max_examples=60, deadline=None)
@given(workspaces(), st.integers(0, 127), st.booleans())
def test_every_drawn_site_s_charts_are_the_plain_ones(
    drawn: tuple[Workspace, list[Problem]], keep: int, filtered: bool
) -> None:
    assert_charts_plain(drawn_site(drawn, keep, filtered))


@pytest.mark.parametrize("values", [[1.0, 2.0], [1, 2], ["poor", "good"]])
def test_a_chart_s_positions_are_its_own(values: Sequence[Value]) -> None:
    """The chart keeps the column of float values as its positions: a later chart of the
    same KPI is made from columns of its own, equal, never changed by the first."""
    scale = SCALE if isinstance(values[0], str) else ()
    kpi = Kpi(
        "k",
        "K",
        "count",
        "good" if scale else 10,
        Frequency.WEEKLY,
        kind=Kind.QUALITATIVE if scale else Kind.QUANTITATIVE,
        scale=scale,
        baseline=None if scale else 0,
        start=DAY0,
    )
    made = [
        Measurement("k", _day(i), v, None, None, Location("m", i + 1, 1), i)
        for i, v in enumerate(values)
    ]
    [result] = evaluate(Workspace(kpis=(kpi,), measurements=Measurements(made)), as_of=_day(9))
    first, second = chart_of(result), chart_of(result)
    assert first == second == plain_chart_of(result)
    assert first is not None and second is not None
    assert first.measured.positions is not second.measured.positions  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the page's other fixed parts


def plain_chart_figure(r: KpiResult, chart: Chart, cells: H.ListCells) -> str:
    summary = t(H.chart_summary(r, chart, cells))
    return (
        '<figure class="chart">'
        + plain_chart_svg(r, chart, summary, cells.formatter(r.kpi))
        + f'<figcaption><span class="legend">{plain_legend(r, chart)}</span><br>'
        + f"{summary} The values are in the table below.</figcaption>"
        + "</figure>"
    )


@settings(max_examples=150, deadline=None)
@given(kpis(), charts())
def test_the_figure_is_the_plain_one(kpi: Kpi, chart: Chart) -> None:
    r = dataclasses.replace(_result_of(kpi), history=tuple(chart.measured))
    cells = H.ListCells(sample_site())
    assert H.chart_figure(r, chart, cells) == plain_chart_figure(r, chart, cells)


def test_the_sample_s_figures_are_the_plain_ones() -> None:
    site = sample_site()
    cells = H.ListCells(site)
    legends = set()
    for page in site.kpis:
        chart = chart_of(page.result)
        if chart is not None:
            figure = H.chart_figure(page.result, chart, cells)
            assert figure == plain_chart_figure(page.result, chart, cells)
            legends.add(plain_legend(page.result, chart))
    assert len(legends) > 2


def plain_meta_line(site: Site) -> str:
    return f'<p class="meta">As of {site.as_of.isoformat()} · {H.provenance_text(site)}</p>'


@pytest.mark.parametrize(
    "provenance",
    [
        Provenance(in_repository=False),
        Provenance(in_repository=True),
        Provenance(in_repository=True, commit="0123456789abcdef" * 2 + "01234567"),
        Provenance(in_repository=True, commit="ab" * 20, uncommitted=True),
    ],
)
def test_the_meta_line_is_made_once_per_build(provenance: Provenance) -> None:
    site = dataclasses.replace(sample_site(), provenance=provenance)
    line = H.meta_line(site)
    assert line == plain_meta_line(site)
    assert H.meta_line(site) is line  # kept for the build's other pages
    later = dataclasses.replace(site, as_of=site.as_of + dt.timedelta(days=1))
    assert H.meta_line(later) == plain_meta_line(later) != line  # another build: its own


@settings(max_examples=200, deadline=None)
@given(results())
def test_the_status_sentence_from_the_build_s_formatter_is_the_plain_one(r: KpiResult) -> None:
    plain = status_sentence(r)
    cells = H.ListCells(sample_site())
    assert status_sentence(r, cells.formatter(r.kpi)) == plain
    assert status_sentence(r, cells.formatter(r.kpi)) == plain  # its values kept: the same


def test_the_sample_s_status_sentences_from_the_formatter_are_the_plain_ones() -> None:
    site = sample_site()
    cells = H.ListCells(site)
    sentences = [status_sentence(p.result) for p in site.kpis]
    assert [status_sentence(p.result, cells.formatter(p.result.kpi)) for p in site.kpis] == (
        sentences
    )
    assert any("on the way to" in s for s in sentences)  # the expected value shown
    assert any(s.startswith("standing target") for s in sentences)
