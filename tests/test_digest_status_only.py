"""The digest's fast paths against the plain computations: a status alone (`status_of`)
is the status `evaluate_kpi` gives; the week-old statuses are those of a whole
evaluation as of that date; the window's measurements found by bisection are those of
sorting every measurement; the groups by objective and owner are those of scanning
every result for each; and the report and the site are those built from a whole
evaluation as of the week-old date. Values for people are formatted as before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import (
    Config,
    Direction,
    Event,
    Frequency,
    Kind,
    Kpi,
    Location,
    Measurement,
    Milestone,
    Objective,
    Status,
    Value,
)
from kpitrack.domain.series import Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation import evaluate as evaluation
from kpitrack.evaluation.evaluate import evaluate, evaluate_kpi, status_of
from kpitrack.reports.digest import build_report, grouped, statuses_since, window_measurements
from kpitrack.reports.site import build_site, objective_nodes, walk

DAY0 = dt.date(2024, 1, 1)
DAYS = st.integers(0, 60)
SCALE = ("poor", "fair", "good", "great")
OWNERS = (None, "ana", "Ana", "bo")
OBJECTIVES = (None, "o1", "o2", "o3", "gone")


def _day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


@st.composite
def kpis(draw: st.DrawFn, id: str = "k") -> Kpi:
    """One KPI of any kind: a baseline or none, a start, a due date and milestones
    around the measurements, either direction, a grace, an owner and an objective."""
    kind = draw(st.sampled_from(list(Kind)))
    qualitative = kind is Kind.QUALITATIVE
    number = st.integers(-20, 120) | st.floats(-1e6, 1e6, allow_nan=False)

    def value() -> Value:
        return draw(st.sampled_from(SCALE)) if qualitative else float(draw(number))

    return Kpi(
        id=id,
        name=id.upper(),
        measure="m",
        target=value(),
        frequency=draw(st.sampled_from(list(Frequency))),
        kind=kind,
        scale=SCALE if qualitative else (),
        direction=draw(st.sampled_from(list(Direction))),
        baseline=draw(st.none() | st.just(value())),
        start=draw(st.none() | DAYS.map(_day)),
        due=draw(st.none() | DAYS.map(_day)),
        milestones=tuple(
            Milestone(_day(d), value()) for d in draw(st.lists(DAYS, max_size=3, unique=True))
        ),
        grace_days=draw(st.none() | st.integers(0, 10)),
        owner=draw(st.sampled_from(OWNERS)),
        objective=draw(st.sampled_from(OBJECTIVES)),
        archived=draw(st.booleans()) and draw(st.booleans()),
        drivers=tuple(draw(st.lists(st.sampled_from(["k0", "k1", "k2", "k3"]), max_size=2))),
    )


@st.composite
def workspaces(draw: st.DrawFn) -> Workspace:
    """A few KPIs, their measurements in any date order (orders increasing, shuffled
    or given twice, as made by hand), objectives in a tree and events."""
    made_kpis = [draw(kpis(f"k{n}")) for n in range(draw(st.integers(1, 4)))]
    rows = []
    for kpi in made_kpis:
        for day in draw(st.lists(DAYS, max_size=8)):
            if kpi.kind is Kind.QUALITATIVE:
                value: Value = draw(st.sampled_from(SCALE))
            else:
                value = float(draw(st.integers(-20, 120)))
            rows.append((kpi.id, _day(day), value))
    rows = draw(st.permutations(rows))
    if draw(st.booleans()):  # written in date order, as usual: found by bisection
        rows.sort(key=lambda row: row[1])
    orders = draw(
        st.sampled_from(["reading", "shuffled", "twice"]).map(
            lambda how: {
                "reading": list(range(len(rows))),
                "shuffled": list(reversed(range(len(rows)))),
                "twice": [n // 2 for n in range(len(rows))],
            }[how]
        )
    )
    made = [
        Measurement(k, d, v, None, None, Location("m.yaml", n + 1, 1), order)
        for n, ((k, d, v), order) in enumerate(zip(rows, orders, strict=True))
    ]
    objectives = (
        Objective("o1", "One"),
        Objective("o2", "Two", parent="o1"),
        Objective("o3", "Three", parent=draw(st.sampled_from([None, "o1", "o2"]))),
    )
    events = tuple(
        Event(_day(d), f"e{d}", tuple(draw(st.lists(st.sampled_from(["k0", "k1"]), max_size=2))))
        for d in draw(st.lists(DAYS, max_size=2))
    )
    return Workspace(
        kpis=tuple(made_kpis),
        measurements=Measurements(made),
        objectives=objectives,
        events=events,
    )


@settings(max_examples=300)
@given(kpis(), st.lists(st.tuples(DAYS, st.integers(-20, 120)), max_size=8), DAYS)
def test_a_status_alone_is_the_status_of_a_whole_evaluation(
    kpi: Kpi, rows: list[tuple[int, int]], as_of: int
) -> None:
    made = [
        Measurement(
            "k",
            _day(d),
            SCALE[v % len(SCALE)] if kpi.kind is Kind.QUALITATIVE else v,
            None,
            None,
            Location("m.yaml", n + 1, 1),
            n,
        )
        for n, (d, v) in enumerate(rows)
    ]
    day = _day(as_of)
    for config in (Config(), Config(at_risk_tolerance=0.3)):
        whole = evaluate_kpi(kpi, made, as_of=day, config=config).status
        assert status_of(kpi, made, as_of=day, config=config) is whole  # a plain list
        columns = Measurements(made)  # a workspace's columns
        assert status_of(kpi, columns, as_of=day, config=config) is whole
        assert evaluate_kpi(kpi, columns, as_of=day, config=config).status is whole


def test_a_status_alone_computes_no_forecast_and_no_overdue_periods(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kpi = Kpi("k", "K", "m", 100, Frequency.WEEKLY, baseline=0, start=DAY0, due=_day(50))
    made = Measurements(
        [
            Measurement("k", _day(d), 2 * d, None, None, Location("m", d + 1, 1), d)
            for d in range(20)
        ]
    )
    whole = evaluate_kpi(kpi, made, as_of=_day(30))
    assert whole.forecast is not None  # computed there

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("not needed for a status")

    monkeypatch.setattr(evaluation, "forecast", refused)
    monkeypatch.setattr(evaluation, "overdue_info", refused)
    assert status_of(kpi, made, as_of=_day(30)) is whole.status is Status.ON_TRACK


@settings(max_examples=200)
@given(workspaces(), DAYS, st.integers(0, 20), st.integers(0, 15))
def test_the_week_old_statuses_are_a_whole_evaluations(
    workspace: Workspace, as_of: int, back: int, keep: int
) -> None:
    config = Config()
    now, since = _day(as_of), _day(as_of - back)
    results = evaluate(workspace, as_of=now, config=config)
    chosen = [r for n, r in enumerate(results) if keep >> n & 1 or keep == 0]
    then = evaluate(workspace, as_of=since, config=config)
    whole = {r.kpi.id: r.status for r in then}
    got = statuses_since(workspace, chosen, since=since, as_of=now, config=config)
    assert got == {r.kpi.id: whole[r.kpi.id] for r in chosen}

    plain = build_report(
        workspace, as_of=now, since=since, config=config, results=chosen, previous=then
    )
    fast = build_report(workspace, as_of=now, since=since, config=config, results=chosen)
    assert fast == plain
    assert build_report(workspace, as_of=now, since=since, config=config) == build_report(
        workspace, as_of=now, since=since, config=config, previous=then
    )

    # The window's measurements: sorting every Measurement, keeping the window's.
    covered = {r.kpi.id for r in chosen}
    assert window_measurements(workspace.measurements, covered, since=since, as_of=now) == sorted(
        (m for m in workspace.measurements if m.kpi in covered and since < m.date <= now),
        key=lambda m: (m.date, m.order),
    )

    # Groups by objective and owner: the plain scans of every result.
    for node in walk(objective_nodes(workspace, chosen)):
        wanted = node.objective.id if node.objective else None
        known = {o.id for o in workspace.objectives}
        assert node.results == tuple(
            r
            for r in chosen
            if (r.kpi.objective == wanted if wanted else r.kpi.objective not in known)
        )
    for group in fast.objectives:
        if group.objective is not None:
            assert group.results == tuple(
                r for r in fast.results if r.kpi.objective == group.objective.id
            )
    site = build_site(workspace, chosen, as_of=now, config=config)
    week = build_report(
        workspace,
        as_of=now,
        since=now - dt.timedelta(days=7),
        config=config,
        results=chosen,
        previous=evaluate(workspace, as_of=now - dt.timedelta(days=7), config=config),
    )
    assert site.digest == week
    assert [(o.owner, o.results) for o in site.owners] == [
        (o.owner, tuple(r for r in week.results if r.kpi.owner == o.owner)) for o in week.owners
    ]


@given(workspaces(), DAYS, st.integers(0, 20))
def test_the_window_is_found_by_bisection_once_an_evaluation_found_the_dates_sorted(
    workspace: Workspace, as_of: int, back: int
) -> None:
    now, since = _day(as_of), _day(as_of - back)
    every = {k.id for k in workspace.kpis}
    plain = sorted(
        (m for m in workspace.measurements if since < m.date <= now),
        key=lambda m: (m.date, m.order),
    )
    assert window_measurements(workspace.measurements, every, since=since, as_of=now) == plain
    evaluate(workspace, as_of=now)  # learns which series are in date order
    assert window_measurements(workspace.measurements, every, since=since, as_of=now) == plain


def test_owners_differing_in_case_are_listed_in_workspace_order() -> None:
    """Owners that sort alike ("Ana", "ana") keep the order of their first KPIs, on every
    run (a set's order would vary with the string hash seed)."""
    made = tuple(
        Kpi(f"k{n}", "K", "m", 1, Frequency.MONTHLY, owner=owner)
        for n, owner in enumerate(["bo", "ana", None, "Ana", "ana"])
    )
    workspace = Workspace(kpis=made)
    report = build_report(workspace, as_of=DAY0, since=DAY0, config=Config())
    assert [o.owner for o in report.owners] == ["ana", "Ana", "bo", None]
    assert [o.counts.total for o in report.owners] == [2, 1, 1, 1]
    assert grouped(report.results, lambda r: r.kpi.owner) == {
        "bo": [report.results[0]],
        "ana": [report.results[1], report.results[4]],
        None: [report.results[2]],
        "Ana": [report.results[3]],
    }


# ---------------------------------------------------------------- values for people


def _format_number_before(value: float) -> str:
    """format_number as it was: the oracle."""
    if abs(value - round(value)) < evaluation.EPSILON:
        return f"{round(value):,}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _format_value_before(kpi: Kpi, value: Value | None, *, unit: bool = False) -> str:
    """format_value as it was (every value through `Kpi.label` first): the oracle."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    shown = kpi.label(value)
    if isinstance(shown, str):
        return shown
    text = _format_number_before(shown)
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:
        low = max(0, min(len(kpi.scale) - 1, int(shown)))
        high = min(len(kpi.scale) - 1, low + 1)
        return f"{kpi.scale[low]}–{kpi.scale[high]}" if high != low else kpi.scale[low]
    if unit and kpi.unit:
        if kpi.unit == "%":
            return f"{text}%"
        return f"{text} {evaluation.unit_for(kpi, shown)}"
    if unit and kpi.kind is Kind.PROGRESS:
        return f"{text}%"
    return text


def _outcome(call: Callable[[], str]) -> str:
    try:
        return call()
    except (ValueError, OverflowError) as error:  # NaN and infinities, as before
        return f"{type(error).__name__}: {error}"


@settings(max_examples=500)
@given(
    st.sampled_from(list(Kind)),
    st.sampled_from([(), SCALE]),
    st.sampled_from([None, "%", "USD", "ticket"]),
    st.none() | st.just("tickets"),
    st.none()
    | st.sampled_from(SCALE)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**12), 10**12)
    | st.floats(-5, 5).map(lambda x: round(x * 4) / 4 + 1e-12),
    st.booleans(),
)
def test_values_for_people_are_as_before(
    kind: Kind,
    scale: tuple[str, ...],
    unit: str | None,
    plural: str | None,
    value: Value | None,
    with_unit: bool,
) -> None:
    kpi = Kpi(
        "k", "K", "m", 1.0, Frequency.MONTHLY, kind=kind, scale=scale, unit=unit, unit_plural=plural
    )
    assert _outcome(lambda: evaluation.format_value(kpi, value, unit=with_unit)) == _outcome(
        lambda: _format_value_before(kpi, value, unit=with_unit)
    )
    if isinstance(value, (int, float)):
        assert _outcome(lambda: evaluation.format_number(value)) == _outcome(
            lambda: _format_number_before(value)
        )
