"""`kpitrack site`'s fast paths against the plain ones: a KPI's history read from its
columns (no Measurement per entry) and the chart's points computed once each give
exactly what reading Measurement objects and the x()/y() formulas give."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from site_fixtures import SAMPLE, SAMPLE_AS_OF, plain_table_rows

from kpitrack.domain.model import (
    Config,
    Direction,
    Frequency,
    Kind,
    Kpi,
    KpiResult,
    Location,
    Measurement,
    Milestone,
    Status,
    Value,
)
from kpitrack.domain.series import History, Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate, expected_position
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
    expected_path,
    render_site,
)
from kpitrack.reports.site import (
    Chart,
    Points,
    build_site,
    chart_of,
    history_columns,
    history_rows,
)

DAY0 = dt.date(2024, 1, 1)
entries = st.lists(
    st.tuples(
        st.integers(0, 60),
        st.floats(-1e9, 1e9, allow_nan=False) | st.sampled_from(["good", "bad"]),
        st.none() | st.text(max_size=5),
        st.none() | st.sampled_from(["ana", "bo"]),
    ),
    max_size=30,
)


@given(entries, st.integers(0, 60))
def test_history_rows_are_the_measurements_fields(rows: list, limit: int) -> None:
    made = [
        Measurement("k", DAY0 + dt.timedelta(days=d), v, n, b, Location("m.yaml", i + 1, 3), i)
        for i, (d, v, n, b) in enumerate(rows)
    ]
    measurements = Measurements(made)
    if not made:
        return
    history = measurements.series("k").until((DAY0 + dt.timedelta(days=limit)).toordinal())
    assert isinstance(history, History)
    plain = [(m.date, m.value, m.note, m.by) for m in history]
    assert history.rows() == plain
    assert history_rows(history) == plain == history_rows(tuple(history))
    columns = [
        [m.date.toordinal() for m in history],
        [m.value for m in history],
        [m.note for m in history],
        [m.by for m in history],
    ]
    assert [list(c) for c in history.columns()] == columns
    assert [list(c) for c in history_columns(history)] == columns
    assert [list(c) for c in history_columns(tuple(history))] == columns


def test_the_pages_are_the_same_from_columns_and_from_measurements() -> None:
    workspace, problems = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = [r for r in evaluate(workspace, as_of=SAMPLE_AS_OF) if not r.kpi.archived]
    assert any(isinstance(r.history, History) and len(r.history) > 1 for r in results)
    plain = [dataclasses.replace(r, history=tuple(r.history)) for r in results]

    def pages(given: list) -> dict[str, str]:
        model = build_site(
            workspace,
            given,
            as_of=SAMPLE_AS_OF,
            config=Config(),
            problems=problems,
            built_at="2026-01-01 00:00 UTC",
        )
        return render_site(model)

    assert pages(results) == pages(plain)


def test_each_trend_is_made_once_for_every_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import kpitrack.render.site_html as site_html

    workspace, _ = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = [r for r in evaluate(workspace, as_of=SAMPLE_AS_OF) if not r.kpi.archived]
    model = build_site(workspace, results, as_of=SAMPLE_AS_OF, config=Config())
    made: list[str] = []
    plain = site_html.sparkline

    def counted(r: KpiResult, formatter: Callable[[Value], str] | None = None) -> str:
        made.append(r.kpi.id)
        return plain(r, formatter)

    monkeypatch.setattr(site_html, "sparkline", counted)
    pages = render_site(model)
    assert sorted(made) == sorted({r.kpi.id for r in results})  # once each
    assert sum(page.count('class="spark"') for page in pages.values()) > len(results)


SAMPLE_RESULTS = [
    r
    for r in evaluate(
        load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)[0], as_of=SAMPLE_AS_OF
    )
    if r.history
]


@given(
    st.sampled_from(SAMPLE_RESULTS),
    st.lists(
        st.tuples(
            st.integers(0, 60),
            st.sampled_from([0.0, -0.0, 1.0, 1, 2.5, 1e6, -3.0, 0.125]),
            st.none() | st.sampled_from(["a <b>", "\u202e"]),
        ),
        min_size=1,
        max_size=25,
    ),
)
def test_the_measurements_table_is_the_plain_one(r: KpiResult, rows: list) -> None:
    from kpitrack.render.site_html import measurements_table

    made = [
        Measurement(r.kpi.id, DAY0 + dt.timedelta(days=d), v, n, "ana", Location("m", i, 1), i)
        for i, (d, v, n) in enumerate(rows)
    ]
    kpi_id = r.kpi.id
    history = Measurements(made).series(kpi_id).until(dt.date.max.toordinal())
    for given_history in (history, tuple(history)):
        result = dataclasses.replace(r, history=given_history)
        table = measurements_table(result)
        assert table.split("\n")[-len(made) - 1 : -1] == plain_table_rows(result)


# ---------------------------------------------------------------- one KPI page, fewer steps


def _plain_marks(chart: Chart) -> tuple[str, str]:
    """The measured line and circles as `chart_svg` wrote them: each point's x() and y()
    of the chart's formulas, formatted by `_num`."""
    plot_w = CHART_W - PAD_LEFT - PAD_RIGHT
    plot_h = CHART_H - PAD_TOP - PAD_BOTTOM
    span = max(1, (chart.last - chart.first).days)
    points = [
        (
            _num(PAD_LEFT + (d - chart.first).days / span * plot_w),
            _num(PAD_TOP + (chart.high - v) / (chart.high - chart.low) * plot_h),
        )
        for d, v in chart.measured
    ]
    line = " ".join(f"{px},{py}" for px, py in points) if len(points) > 1 else ""
    circles = "".join(f'<circle class="point" cx="{px}" cy="{py}" r="3.5"/>' for px, py in points)
    return line, circles


@given(
    st.lists(
        st.tuples(st.integers(0, 4000), st.floats(-1e12, 1e12, allow_nan=False)),
        min_size=1,
        max_size=40,
    ),
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(1e-3, 1e12, allow_nan=False),
    st.integers(0, 400),
)
def test_the_measured_marks_are_the_plain_ones(
    points: list[tuple[int, float]], low: float, height: float, before: int
) -> None:
    measured = tuple((DAY0 + dt.timedelta(days=d), v) for d, v in sorted(points))
    first = measured[0][0] - dt.timedelta(days=before)
    last = max(measured[-1][0], first + dt.timedelta(days=1))
    chart = Chart(first, last, low, low + height, low, measured, (), ())
    plot_w = CHART_W - PAD_LEFT - PAD_RIGHT
    plot_h = CHART_H - PAD_TOP - PAD_BOTTOM
    span = max(1, (chart.last - chart.first).days)
    assert _measured_marks(chart, plot_w, plot_h, span) == _plain_marks(chart)
    points = Points([d.toordinal() for d, _ in measured], [v for _, v in measured])
    assert points == measured and tuple(points) == measured and len(points) == len(measured)
    assert points[0] == measured[0] and points[-1] == measured[-1] and points[1:] == measured[1:]
    from_columns = dataclasses.replace(chart, measured=points)
    assert from_columns == chart
    assert _measured_marks(from_columns, plot_w, plot_h, span) == _plain_marks(chart)


def test_the_measured_marks_drop_only_whole_tenths() -> None:
    day = DAY0 + dt.timedelta(days=10)
    chart = Chart(DAY0, day, 0.0, 172.0, 0.0, ((DAY0, 172.0), (day, 0.0)), (), ())
    line, circles = _measured_marks(chart, 372, 172, 10)
    assert line == "92,14 464,186"
    assert circles == (
        '<circle class="point" cx="92" cy="14" r="3.5"/>'
        '<circle class="point" cx="464" cy="186" r="3.5"/>'
    )
    single = Chart(DAY0, day, -1.0, 1.0, 0.0, ((DAY0, 0.05),), (), ())
    assert _measured_marks(single, 372, 172, 10) == ("", _plain_marks(single)[1])


def _kpi(**fields: object) -> Kpi:
    plain: dict[str, object] = {
        "id": "k",
        "name": "K",
        "measure": "count",
        "target": 100,
        "frequency": Frequency.MONTHLY,
    }
    plain.update(fields)
    return Kpi(**plain)  # type: ignore[arg-type]


@given(
    st.integers(-30, 400),
    st.none() | st.integers(0, 200),
    st.none() | st.floats(-1e6, 1e6, allow_nan=False),
    st.lists(st.tuples(st.integers(-40, 420), st.integers(-1000, 1000)), max_size=5),
    st.integers(-50, 450),
    st.sampled_from([Kind.QUANTITATIVE, Kind.QUALITATIVE]),
)
def test_the_expected_path_is_expected_position(
    due: int, start: int | None, baseline: float | None, stones: list, day: int, kind: Kind
) -> None:
    scale = ("poor", "fair", "good") if kind is Kind.QUALITATIVE else ()
    kpi = _kpi(
        target="good" if scale else 100,
        kind=kind,
        scale=scale,
        due=DAY0 + dt.timedelta(days=due),
        milestones=tuple(
            Milestone(DAY0 + dt.timedelta(days=d), (d % 3) if scale else v) for d, v in stones
        ),
    )
    begin = None if start is None else DAY0 + dt.timedelta(days=start)
    on = expected_path(kpi, start=begin, baseline=baseline)
    when = DAY0 + dt.timedelta(days=day)
    assert on(when) == expected_position(kpi, when, start=begin, baseline=baseline)
    standing = _kpi(target=7.5)
    assert expected_path(standing, start=begin, baseline=baseline)(when) == 7.5


@given(
    st.lists(
        st.tuples(
            st.integers(0, 60),
            st.integers(-5, 5) | st.floats(-1e6, 1e6, allow_nan=False),
        ),
        min_size=1,
        max_size=20,
    ),
    st.booleans(),
)
def test_the_chart_from_columns_is_the_plain_one(rows: list, qualitative: bool) -> None:
    scale = ("poor", "fair", "good")
    made = [
        Measurement(
            "k",
            DAY0 + dt.timedelta(days=d),
            scale[abs(int(v)) % 3] if qualitative else v,
            None,
            None,
            Location("m", i + 1, 1),
            i,
        )
        for i, (d, v) in enumerate(sorted(rows))
    ]
    kpi = _kpi(
        kind=Kind.QUALITATIVE if qualitative else Kind.QUANTITATIVE,
        scale=scale if qualitative else (),
        target="good" if qualitative else 100,
    )
    [result] = evaluate(Workspace(kpis=(kpi,), measurements=Measurements(made)), as_of=dt.date.max)
    for history in (result.history, tuple(result.history)):
        given_result = dataclasses.replace(result, history=history)
        chart = chart_of(given_result, history_columns(history))
        assert chart == chart_of(given_result)
        assert chart is not None
        assert chart.measured == tuple((m.date, kpi.position(m.value)) for m in made)
        assert all(type(y) is float for _, y in chart.measured)


def test_shared_value_cells_give_each_table_its_own_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import kpitrack.render.site_html as site_html
    from kpitrack.render.site_html import format_key, measurements_table

    workspace, _ = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = [r for r in evaluate(workspace, as_of=SAMPLE_AS_OF) if r.history]
    alone = [measurements_table(r) for r in results]
    shared: dict[tuple[object, ...], dict] = {}
    days: dict[int, str] = {}
    together = [
        measurements_table(r, cells=shared.setdefault(format_key(r.kpi), {}), days=days)
        for r in results
    ]
    assert together == alone
    assert len(shared) > 1  # KPIs with other units or scales keep theirs apart
    monkeypatch.setattr(site_html, "MAX_SHARED_CELLS", 1)  # a full store: cells of its own
    full: dict[tuple[object, ...], dict] = {}
    assert [
        measurements_table(r, cells=full.setdefault(format_key(r.kpi), {})) for r in results
    ] == alone
    assert all(len(cells) <= 1 for cells in full.values())


def test_the_site_holds_no_chart_between_pages() -> None:
    workspace, problems = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = evaluate(workspace, as_of=SAMPLE_AS_OF)
    model = build_site(workspace, results, as_of=SAMPLE_AS_OF, config=Config(), problems=problems)
    page = next(p for p in model.kpis if p.result.history)
    assert "chart" not in vars(page)  # made when asked for
    assert page.chart == chart_of(page.result)


# ---------------------------------------------------------------- the digest's week-old statuses

DAYS = st.integers(0, 40)


@st.composite
def windowed_workspaces(draw: st.DrawFn) -> tuple[Workspace, dt.date, dt.date]:
    """A few KPIs (due dates and milestones around the window, a start, decreasing or
    qualitative ones), their measurements before, in and after the window."""
    kpis = []
    made = []
    for n in range(draw(st.integers(1, 5))):
        qualitative = draw(st.booleans())
        scale = ("poor", "fair", "good")
        due = draw(st.none() | DAYS)
        kpis.append(
            _kpi(
                id=f"k{n}",
                kind=Kind.QUALITATIVE if qualitative else Kind.QUANTITATIVE,
                scale=scale if qualitative else (),
                target="good" if qualitative else draw(st.integers(0, 20)),
                direction=draw(st.sampled_from(list(Direction))),
                due=None if due is None else DAY0 + dt.timedelta(days=due),
                start=draw(st.none() | DAYS.map(lambda d: DAY0 + dt.timedelta(days=d))),
                milestones=tuple(
                    Milestone(DAY0 + dt.timedelta(days=d), scale[d % 3] if qualitative else d)
                    for d in draw(st.lists(DAYS, max_size=2, unique=True))
                ),
            )
        )
        for day in draw(st.lists(DAYS, max_size=6)):
            value = scale[draw(st.integers(0, 2))] if qualitative else draw(st.integers(-5, 25))
            made.append((f"k{n}", DAY0 + dt.timedelta(days=day), value))
    measurements = [
        Measurement(k, d, v, None, None, Location("m", i + 1, 1), i)
        for i, (k, d, v) in enumerate(made)
    ]
    as_of = DAY0 + dt.timedelta(days=draw(DAYS))
    since = as_of - dt.timedelta(days=draw(st.integers(0, 20)))
    return Workspace(kpis=tuple(kpis), measurements=Measurements(measurements)), since, as_of


@given(windowed_workspaces(), st.integers(0, 31), st.floats(0.0, 0.5))
def test_statuses_since_match_a_whole_evaluation(
    drawn: tuple[Workspace, dt.date, dt.date], keep: int, tolerance: float
) -> None:
    from kpitrack.reports.digest import build_report, statuses_since

    workspace, since, as_of = drawn
    config = Config(at_risk_tolerance=tolerance)
    results = evaluate(workspace, as_of=as_of, config=config)
    chosen = [r for i, r in enumerate(results) if keep >> i & 1]  # a filtered selection
    whole = {r.kpi.id: r.status for r in evaluate(workspace, as_of=since, config=config)}
    got = statuses_since(workspace, chosen, since=since, as_of=as_of, config=config)
    assert got == {r.kpi.id: whole[r.kpi.id] for r in chosen}
    plain = build_report(
        workspace,
        as_of=as_of,
        since=since,
        config=config,
        results=chosen,
        previous=evaluate(workspace, as_of=since, config=config),
    )
    fast = build_report(workspace, as_of=as_of, since=since, config=config, results=chosen)
    assert fast == plain


def test_a_due_date_inside_the_window_changes_the_status_without_a_measurement() -> None:
    from kpitrack.reports.digest import build_report, statuses_since

    kpi = _kpi(target=100, baseline=0, start=DAY0, due=DAY0 + dt.timedelta(days=20))
    made = [
        Measurement("k", DAY0 + dt.timedelta(days=d), v, None, None, Location("m", d, 1), d)
        for d, v in ((0, 0), (10, 50))  # on its path on day 10
    ]
    workspace = Workspace(kpis=(kpi,), measurements=Measurements(made))
    since, as_of = DAY0 + dt.timedelta(days=15), DAY0 + dt.timedelta(days=25)
    [now] = evaluate(workspace, as_of=as_of)
    assert statuses_since(workspace, [now], since=since, as_of=as_of, config=Config()) == {
        "k": evaluate(workspace, as_of=since)[0].status
    }
    report = build_report(workspace, as_of=as_of, since=since, config=Config())
    assert [(c.before, c.after) for c in report.changes] == [(Status.ON_TRACK, Status.OFF_TRACK)]
