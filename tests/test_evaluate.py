"""Evaluation (SPEC §3), hand-computed.

Most cases use a 100-day path: baseline 0 on 2026-01-01, target 100 due 2026-04-11,
so the expected value on day n after the start is n (on 2026-02-20 it is 50).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import (
    Config,
    Direction,
    Frequency,
    Kind,
    Kpi,
    KpiResult,
    Measurement,
    Milestone,
    OverdueInfo,
    Reason,
    Status,
    StatusCounts,
    Value,
)
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import (
    evaluate,
    evaluate_kpi,
    expected_position,
    status_sentence,
    worst_first,
)

D = dt.date
START, DUE, DAY50 = D(2026, 1, 1), D(2026, 4, 11), D(2026, 2, 20)
SCALE = ("poor", "fair", "good", "excellent")


def kpi(**kw: Any) -> Kpi:
    fields: dict[str, Any] = {
        "id": "k",
        "name": "K",
        "measure": "count the things",
        "target": 100,
        "frequency": Frequency.MONTHLY,
    }
    fields.update(kw)
    return Kpi(**fields)


def path_kpi(**kw: Any) -> Kpi:
    """The 100-day path: baseline 0 on START, 100 due DUE."""
    return kpi(**{"baseline": 0, "start": START, "due": DUE, **kw})


def m(day: dt.date, value: Value, order: int = 0, kpi_id: str = "k") -> Measurement:
    return Measurement(kpi_id, day, value, order=order)


def run(k: Kpi, *ms: Measurement, as_of: dt.date = D(2026, 2, 21), **config: Any) -> KpiResult:
    return evaluate_kpi(k, ms, as_of=as_of, config=Config(**config))


# ---------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("k", "value", "status"),
    [
        (path_kpi(), 50, Status.ON_TRACK),  # exactly expected
        (path_kpi(), 60, Status.ON_TRACK),
        (path_kpi(), 45, Status.AT_RISK),  # exactly 10% of 50 short
        (path_kpi(), 44.99, Status.OFF_TRACK),
        (path_kpi(), 100, Status.ACHIEVED),  # met before due
        (path_kpi(), 130, Status.ACHIEVED),
        (path_kpi(), -5, Status.OFF_TRACK),
        # decrease: 100 -> 0, expected 50 on DAY50
        (path_kpi(baseline=100, target=0, direction=Direction.DECREASE), 50, Status.ON_TRACK),
        (path_kpi(baseline=100, target=0, direction=Direction.DECREASE), 55, Status.AT_RISK),
        (path_kpi(baseline=100, target=0, direction=Direction.DECREASE), 55.01, Status.OFF_TRACK),
        (path_kpi(baseline=100, target=0, direction=Direction.DECREASE), 0, Status.ACHIEVED),
        # standing target (no due): expected is the target
        (kpi(), 100, Status.ON_TRACK),
        (kpi(), 101, Status.ON_TRACK),
        (kpi(), 90, Status.AT_RISK),
        (kpi(), 89.9, Status.OFF_TRACK),
        (kpi(direction=Direction.DECREASE, target=200), 220, Status.AT_RISK),
        (kpi(direction=Direction.DECREASE, target=200), 220.5, Status.OFF_TRACK),
        # qualitative, standing target `good`: one step short is at risk, two are off
        (kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="good"), "excellent", Status.ON_TRACK),
        (kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="good"), "good", Status.ON_TRACK),
        (kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="good"), "fair", Status.AT_RISK),
        (kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="good"), "poor", Status.OFF_TRACK),
        (
            kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="excellent", due=DUE),
            "excellent",
            Status.ACHIEVED,
        ),
        # progress KPIs: baseline 0, target 100
        (kpi(kind=Kind.PROGRESS, start=START, due=DUE), 50, Status.ON_TRACK),
        (kpi(kind=Kind.PROGRESS, start=START, due=DUE), 40, Status.OFF_TRACK),
    ],
)
def test_status(k: Kpi, value: Value, status: Status) -> None:
    assert run(k, m(DAY50, value)).status is status


def test_at_risk_tolerance_comes_from_config() -> None:
    assert run(kpi(), m(DAY50, 80), at_risk_tolerance=0.2).status is Status.AT_RISK
    assert run(kpi(), m(DAY50, 80), at_risk_tolerance=0.19).status is Status.OFF_TRACK
    assert run(kpi(), m(DAY50, 99.9), at_risk_tolerance=0).status is Status.OFF_TRACK


def test_expected_zero_gives_no_tolerance() -> None:
    k = kpi(target=0)
    assert run(k, m(DAY50, -0.01)).status is Status.OFF_TRACK


def test_qualitative_fractional_expected_within_one_step_is_at_risk() -> None:
    # poor (0) -> excellent (3) over 100 days: expected 1.5 on DAY50.
    k = kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="excellent", baseline="poor", start=START)
    k = dataclasses.replace(k, due=DUE)
    assert run(k, m(DAY50, "good")).status is Status.ON_TRACK
    assert run(k, m(DAY50, "fair")).status is Status.AT_RISK
    assert run(k, m(DAY50, "poor")).status is Status.OFF_TRACK
    assert run(k, m(DAY50, "fair")).expected == 1.5


def test_no_data() -> None:
    r = run(kpi(), as_of=D(2026, 2, 21))
    assert r.status is Status.NO_DATA
    assert (r.latest, r.progress, r.gap, r.expected) == (None, None, None, None)
    assert r.reasons == (Reason.OVERDUE, Reason.NO_DATA)
    assert r.overdue == OverdueInfo(None, None, None)


def test_future_dated_measurements_are_ignored() -> None:
    r = run(kpi(), m(D(2026, 2, 1), 80), m(D(2026, 3, 1), 100), as_of=D(2026, 2, 21))
    assert r.latest == m(D(2026, 2, 1), 80)
    assert r.status is Status.OFF_TRACK
    assert [x.date for x in r.history] == [D(2026, 2, 1)]
    assert run(kpi(), m(D(2026, 3, 1), 100), as_of=D(2026, 2, 21)).status is Status.NO_DATA


def test_measurement_on_the_as_of_date_counts() -> None:
    assert run(kpi(), m(D(2026, 2, 21), 100), as_of=D(2026, 2, 21)).status is Status.ON_TRACK


def test_latest_ties_go_to_the_later_entry_in_file_order() -> None:
    a, b = m(DAY50, 10, order=1), m(DAY50, 95, order=2)
    assert run(kpi(), b, a).latest == b
    assert run(kpi(), a, b).latest == b


def test_other_kpis_measurements_are_ignored() -> None:
    assert run(kpi(), m(DAY50, 100, kpi_id="other")).status is Status.NO_DATA


# ---------------------------------------------------------------- baseline, progress, gap


def test_baseline_and_start_default_to_the_earliest_measurement() -> None:
    r = run(kpi(), m(D(2026, 2, 1), 40, order=5), m(D(2026, 1, 10), 20, order=9))
    assert (r.baseline, r.start) == (20, D(2026, 1, 10))
    assert r.progress == pytest.approx((40 - 20) / (100 - 20))


def test_progress_kpi_baseline_defaults_to_zero() -> None:
    r = run(kpi(kind=Kind.PROGRESS), m(D(2026, 1, 10), 20), m(DAY50, 30, order=1))
    assert r.baseline == 0
    assert r.progress == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("k", "value", "progress", "gap"),
    [
        (kpi(baseline=20), 60, 0.5, 40),
        (kpi(baseline=20), 120, 1.25, 0),  # not clamped; gap 0 when met
        (kpi(baseline=20), 10, -0.125, 90),
        (kpi(baseline=100, target=50, direction=Direction.DECREASE), 60, 0.8, 10),
        (kpi(baseline=100, target=50, direction=Direction.DECREASE), 40, 1.2, 0),
        (kpi(baseline=100), 100, 1.0, 0),  # target == baseline, met
        (kpi(baseline=100), 90, 0.0, 10),  # target == baseline, not met
        (
            kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="excellent", baseline="poor"),
            "fair",
            1 / 3,
            2,
        ),
    ],
)
def test_progress_and_gap(k: Kpi, value: Value, progress: float, gap: float) -> None:
    r = run(k, m(DAY50, value))
    assert r.progress == pytest.approx(progress)
    assert r.gap == pytest.approx(gap)


# ---------------------------------------------------------------- expected path


MILESTONED = kpi(
    baseline=0,
    start=D(2026, 1, 1),
    due=D(2026, 1, 31),
    target=60,
    milestones=(Milestone(D(2026, 1, 11), 50),),
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2025, 12, 1), 0),  # flat before start
        (D(2026, 1, 1), 0),
        (D(2026, 1, 6), 25),
        (D(2026, 1, 11), 50),  # on the milestone
        (D(2026, 1, 21), 55),
        (D(2026, 1, 31), 60),
        (D(2026, 6, 1), 60),  # flat after due
    ],
)
def test_expected_path_through_milestones(day: dt.date, expected: float) -> None:
    got = expected_position(MILESTONED, day, start=D(2026, 1, 1), baseline=0)
    assert got == pytest.approx(expected)


def test_expected_without_due_is_the_target() -> None:
    k = kpi(milestones=(Milestone(D(2026, 1, 11), 50),))
    assert expected_position(k, D(2026, 1, 6), start=START, baseline=0) == 100


def test_milestones_before_start_are_skipped() -> None:
    k = dataclasses.replace(MILESTONED, start=None, baseline=None)
    # tracking starts with the first measurement (2026-01-21, value 40): path 40 -> 60.
    r = run(k, m(D(2026, 1, 21), 40), m(D(2026, 1, 26), 44, order=1), as_of=D(2026, 1, 27))
    assert r.expected == pytest.approx(50)
    assert r.status is Status.OFF_TRACK  # short by 6 > 10% of 50


def test_expected_is_on_the_latest_measurements_date_not_as_of() -> None:
    r = run(path_kpi(), m(DAY50, 50), as_of=D(2026, 3, 30))
    assert r.expected == pytest.approx(50)
    assert r.status is Status.ON_TRACK


def test_leap_day_on_the_path() -> None:
    # 2028-02-01 -> 2028-03-02 is 30 days through 29 February.
    k = kpi(baseline=0, target=30, start=D(2028, 2, 1), due=D(2028, 3, 2))
    r = run(k, m(D(2028, 2, 29), 28), as_of=D(2028, 2, 29))
    assert r.expected == pytest.approx(28)
    assert r.status is Status.ON_TRACK


# ---------------------------------------------------------------- overdue


def monthly(**kw: Any) -> Kpi:
    return kpi(frequency=Frequency.MONTHLY, **kw)


@pytest.mark.parametrize(
    ("k", "dates", "as_of", "overdue"),
    [
        # the SPEC example: August, September and October missed.
        (monthly(), [D(2026, 7, 31)], D(2026, 11, 25), OverdueInfo(3, D(2026, 9, 3), 83)),
        # October falls due on 11-03: not overdue that day, overdue the day after.
        (monthly(), [D(2026, 9, 30)], D(2026, 11, 3), None),
        (monthly(), [D(2026, 9, 30)], D(2026, 11, 4), OverdueInfo(1, D(2026, 11, 3), 1)),
        # a measurement exactly on the period end counts for that period
        (monthly(), [D(2026, 10, 31)], D(2026, 11, 25), None),
        (monthly(), [D(2026, 10, 1)], D(2026, 11, 25), None),
        # start given, no measurement: periods from the one containing start
        (monthly(start=D(2026, 9, 15)), [], D(2026, 11, 25), OverdueInfo(2, D(2026, 10, 3), 53)),
        # start in the future, or no period due yet: not overdue
        (monthly(start=D(2026, 12, 1)), [], D(2026, 11, 25), None),
        (monthly(start=D(2026, 11, 1)), [], D(2026, 11, 25), None),
        # the KPI's grace_days win over the config's
        (monthly(grace_days=0), [D(2026, 9, 30)], D(2026, 11, 1),
         OverdueInfo(1, D(2026, 10, 31), 1)),
        (monthly(grace_days=10), [D(2026, 9, 30)], D(2026, 11, 10), None),
        # leap February is due 2028-03-03
        (monthly(), [D(2028, 1, 31)], D(2028, 3, 3), None),
        (monthly(), [D(2028, 1, 31)], D(2028, 3, 4), OverdueInfo(1, D(2028, 3, 3), 1)),
        # ISO week 53: 2026-12-28..2027-01-03, due 2027-01-06
        (kpi(frequency=Frequency.WEEKLY), [D(2026, 12, 22)], D(2027, 1, 6), None),
        (kpi(frequency=Frequency.WEEKLY), [D(2026, 12, 22)], D(2027, 1, 7),
         OverdueInfo(1, D(2027, 1, 6), 1)),
        (kpi(frequency=Frequency.WEEKLY), [D(2027, 1, 3)], D(2027, 1, 7), None),
        (kpi(frequency=Frequency.DAILY, grace_days=0), [D(2028, 2, 27)], D(2028, 3, 2),
         OverdueInfo(3, D(2028, 2, 28), 3)),
        (kpi(frequency=Frequency.QUARTERLY), [D(2026, 3, 31)], D(2026, 10, 4),
         OverdueInfo(2, D(2026, 7, 3), 93)),
        (kpi(frequency=Frequency.YEARLY), [D(2024, 6, 1)], D(2027, 1, 4),
         OverdueInfo(2, D(2026, 1, 3), 366)),
        # the most recent due period decides: September was reported, August was not
        (monthly(), [D(2026, 7, 31), D(2026, 9, 5)], D(2026, 10, 10), None),
        # ... and a report for a period not yet due does not excuse the one that is
        (monthly(), [D(2026, 7, 31), D(2026, 9, 5)], D(2026, 9, 10),
         OverdueInfo(1, D(2026, 9, 3), 7)),
        # measurements before an explicit start do not count
        (monthly(start=D(2026, 9, 1)), [D(2026, 8, 31)], D(2026, 10, 4),
         OverdueInfo(1, D(2026, 10, 3), 1)),
        # no measurement and no start: never reported
        (monthly(), [], D(2026, 11, 25), OverdueInfo(None, None, None)),
    ],
)  # fmt: skip
def test_overdue(k: Kpi, dates: list[dt.date], as_of: dt.date, overdue: OverdueInfo | None) -> None:
    ms = [m(day, 1, order=i) for i, day in enumerate(dates)]
    r = evaluate_kpi(k, ms, as_of=as_of, config=Config())
    assert r.overdue == overdue
    assert (Reason.OVERDUE in r.reasons) is (overdue is not None)


def test_overdue_grace_from_config() -> None:
    r = run(monthly(), m(D(2026, 9, 30), 1), as_of=D(2026, 11, 5), grace_days=5)
    assert r.overdue is None
    r = run(monthly(), m(D(2026, 9, 30), 1), as_of=D(2026, 11, 6), grace_days=4)
    assert r.overdue == OverdueInfo(1, D(2026, 11, 4), 2)


def test_never_reported_property() -> None:
    assert OverdueInfo(None, None, None).never_reported


# ---------------------------------------------------------------- reasons


@pytest.mark.parametrize(
    ("k", "values", "as_of", "reasons"),
    [
        (kpi(), [100], D(2026, 2, 21), ()),
        (kpi(), [50], D(2026, 2, 21), (Reason.OFF_TRACK, Reason.NO_ACTION_PLAN)),
        (kpi(action="hire"), [50], D(2026, 2, 21), (Reason.OFF_TRACK,)),
        (kpi(), [95], D(2026, 2, 21), (Reason.AT_RISK, Reason.NO_ACTION_PLAN)),
        (kpi(action="  "), [95], D(2026, 2, 21), (Reason.AT_RISK, Reason.NO_ACTION_PLAN)),
        (kpi(action="hire"), [95], D(2026, 4, 5), (Reason.AT_RISK, Reason.OVERDUE)),
        # past due: due passed and target not met; not on the due day itself
        (kpi(due=D(2026, 2, 20), action="x"), [50], D(2026, 2, 20), (Reason.OFF_TRACK,)),
        (
            kpi(due=D(2026, 2, 20), action="x"),
            [50],
            D(2026, 2, 21),
            (Reason.OFF_TRACK, Reason.PAST_DUE),
        ),
        (kpi(due=D(2026, 2, 20)), [100], D(2026, 2, 21), ()),
        (
            kpi(due=D(2026, 2, 10)),
            [],
            D(2026, 2, 21),
            (Reason.OVERDUE, Reason.PAST_DUE, Reason.NO_DATA),
        ),
        # review: due when older than one review period
        (kpi(review=Frequency.MONTHLY, last_reviewed=D(2026, 1, 21)), [100], D(2026, 2, 21), ()),
        (
            kpi(review=Frequency.MONTHLY, last_reviewed=D(2026, 1, 20)),
            [100],
            D(2026, 2, 21),
            (Reason.REVIEW_DUE,),
        ),
        (kpi(review=Frequency.YEARLY), [100], D(2026, 2, 21), (Reason.REVIEW_DUE,)),
        (kpi(start=D(2026, 3, 1)), [], D(2026, 2, 21), (Reason.NO_DATA,)),
    ],
)
def test_reasons(k: Kpi, values: list[Value], as_of: dt.date, reasons: tuple[Reason, ...]) -> None:
    ms = [m(D(2026, 2, 20), v, order=i) for i, v in enumerate(values)]
    r = evaluate_kpi(k, ms, as_of=as_of, config=Config())
    assert r.reasons == reasons
    assert r.needs_action is bool(reasons)


# ---------------------------------------------------------------- workspace, order, words


def test_evaluate_keeps_workspace_order_and_groups_measurements() -> None:
    a, b, c = kpi(id="a"), kpi(id="b"), kpi(id="c")
    ws = Workspace(
        kpis=(b, a, c),
        measurements=(m(DAY50, 100, 0, "a"), m(DAY50, 50, 1, "b"), m(D(2026, 2, 1), 95, 2, "a")),
    )
    results = evaluate(ws, as_of=D(2026, 2, 21))
    assert [r.kpi.id for r in results] == ["b", "a", "c"]
    assert [r.status for r in results] == [Status.OFF_TRACK, Status.ON_TRACK, Status.NO_DATA]
    assert [x.value for x in results[1].history] == [95, 100]


def _result(status: Status, days: int | None, *, overdue: bool = True, id: str = "k") -> KpiResult:
    info = OverdueInfo(1 if days is not None else None, None, days) if overdue else None
    return KpiResult(kpi(id=id), D(2026, 1, 1), status, None, None, None, None, None, None, info)


def test_worst_first() -> None:
    results = [
        _result(Status.ON_TRACK, 40, id="on-40"),
        _result(Status.NO_DATA, None, id="never"),
        _result(Status.AT_RISK, 3, id="risk-3"),
        _result(Status.OFF_TRACK, 0, overdue=False, id="off"),
        _result(Status.AT_RISK, 30, id="risk-30"),
        _result(Status.ACHIEVED, 0, overdue=False, id="done"),
        _result(Status.OFF_TRACK, 5, id="off-5"),
    ]
    ordered = [r.kpi.id for r in sorted(results, key=worst_first)]
    assert ordered == ["off-5", "off", "risk-30", "risk-3", "never", "on-40", "done"]


def test_summary_counts() -> None:
    results = [_result(Status.ON_TRACK, 4), _result(Status.OFF_TRACK, None, overdue=False)]
    assert StatusCounts.of(results).as_dict() == {
        "total": 2,
        "on-track": 1,
        "at-risk": 0,
        "off-track": 1,
        "achieved": 0,
        "no-data": 0,
        "overdue": 1,
        "needs-action": 0,
    }


@pytest.mark.parametrize(
    ("k", "values", "sentence"),
    [
        (
            path_kpi(baseline=100, target=0, direction=Direction.DECREASE, unit="ms"),
            [80],
            "expected ≤ 50 ms by 2026-02-20 on the way to 0 ms by 2026-04-11; "
            "latest 80 ms: off track",
        ),
        (kpi(unit="%"), [95.5], "standing target ≥ 100%; latest 95.5%: at risk"),
        (
            path_kpi(unit="USD", target=120000),
            [120000],
            "target ≥ 120,000 USD by 2026-04-11 met; latest 120,000 USD on 2026-02-20: achieved",
        ),
        (
            kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="good"),
            ["fair"],
            "standing target ≥ good; latest fair: at risk (within one scale step)",
        ),
        (kpi(), [], "no measurement on or before 2026-02-21: no data"),
    ],
)
def test_status_sentence(k: Kpi, values: list[Value], sentence: str) -> None:
    ms = [m(DAY50, v) for v in values]
    assert status_sentence(evaluate_kpi(k, ms, as_of=D(2026, 2, 21))) == sentence


# ---------------------------------------------------------------- properties

days = st.integers(min_value=0, max_value=800)
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
BASE_DAY = D(2025, 1, 1)


@st.composite
def quantitative_kpis(draw: st.DrawFn) -> Kpi:
    direction = draw(st.sampled_from(Direction))
    start = BASE_DAY + dt.timedelta(days=draw(days))
    due = draw(st.none() | days.map(lambda n: start + dt.timedelta(days=n + 1)))
    return kpi(
        target=draw(numbers),
        baseline=draw(st.none() | numbers),
        direction=direction,
        start=draw(st.sampled_from([start, None])),
        due=due,
    )


@settings(max_examples=300)
@given(k=quantitative_kpis(), first=numbers, day=days, extra=st.floats(0, 1e6))
def test_meeting_the_target_is_never_at_risk_or_off_track(
    k: Kpi, first: float, day: int, extra: float
) -> None:
    target = float(k.position(k.target))
    value = target + extra if k.direction is Direction.INCREASE else target - extra
    latest = BASE_DAY + dt.timedelta(days=day + 1)
    r = run(k, m(BASE_DAY, first), m(latest, value, order=1), as_of=latest)
    assert r.status in (Status.ACHIEVED, Status.ON_TRACK)
    assert r.gap == 0


@settings(max_examples=300)
@given(
    k=quantitative_kpis(),
    first=numbers,
    day=days,
    value=numbers,
    better=st.floats(0, 1e6),
    tolerance=st.floats(0, 1),
)
def test_more_progress_never_worsens_the_status(
    k: Kpi, first: float, day: int, value: float, better: float, tolerance: float
) -> None:
    improved = value + better if k.direction is Direction.INCREASE else value - better
    latest = BASE_DAY + dt.timedelta(days=day + 1)
    history = [m(BASE_DAY, first)]
    a = run(k, *history, m(latest, value, 1), as_of=latest, at_risk_tolerance=tolerance)
    b = run(k, *history, m(latest, improved, 1), as_of=latest, at_risk_tolerance=tolerance)
    assert b.status.rank >= a.status.rank


@settings(max_examples=300)
@given(
    frequency=st.sampled_from(Frequency),
    grace=st.integers(0, 40),
    start=st.none() | days,
    offsets=st.lists(days, max_size=6),
    as_of=days,
    later=st.integers(0, 900),
)
def test_a_later_as_of_never_unmisses_a_period(
    frequency: Frequency,
    grace: int,
    start: int | None,
    offsets: list[int],
    as_of: int,
    later: int,
) -> None:
    """With no new report, a KPI overdue as of one day stays overdue later, with the same
    first missed period and at least as many missed periods. (A report dated in a period not
    yet due at the first as-of date is a new report for a later period, so such
    measurements are left out: the most recent due period decides.)"""
    from kpitrack.domain.periods import latest_period_due_before

    k = kpi(frequency=frequency, grace_days=grace)
    if start is not None:
        k = dataclasses.replace(k, start=BASE_DAY + dt.timedelta(days=start))
    a = BASE_DAY + dt.timedelta(days=as_of)
    b = a + dt.timedelta(days=later)
    cutoff = latest_period_due_before(frequency, a, grace).end
    ms = [m(BASE_DAY + dt.timedelta(days=o), 1, i) for i, o in enumerate(offsets)]
    ms = [x for x in ms if x.date <= cutoff]
    first = evaluate_kpi(k, ms, as_of=a).overdue
    second = evaluate_kpi(k, ms, as_of=b).overdue
    if first is None:
        return
    assert second is not None
    if first.never_reported:
        assert second.never_reported
        return
    assert second.missed_periods is not None and first.missed_periods is not None
    assert second.missed_periods >= first.missed_periods
    assert second.due_since == first.due_since
    assert second.days == first.days + later  # type: ignore[operator]


def test_achieved_kpi_owes_no_reports_after_its_due_date() -> None:
    kpi = Kpi(
        id="launch",
        name="Launch",
        measure="Checklist items done in percent",
        target=100.0,
        frequency=Frequency.MONTHLY,
        kind=Kind.PROGRESS,
        due=dt.date(2026, 9, 30),
        start=dt.date(2026, 7, 1),
    )
    done = [Measurement("launch", dt.date(2026, 9, 30), 100.0)]
    result = evaluate_kpi(kpi, done, as_of=dt.date(2026, 11, 25))
    assert result.status is Status.ACHIEVED
    assert result.overdue is None
    assert Reason.OVERDUE not in result.reasons
    # Not achieved: the months after due are still owed.
    short = [Measurement("launch", dt.date(2026, 9, 30), 80.0)]
    result = evaluate_kpi(kpi, short, as_of=dt.date(2026, 11, 25))
    assert result.status is Status.OFF_TRACK
    assert result.overdue == OverdueInfo(1, dt.date(2026, 11, 3), 22)
    # Achieved, but the period containing due was never reported.
    early = [Measurement("launch", dt.date(2026, 8, 31), 100.0)]
    result = evaluate_kpi(kpi, early, as_of=dt.date(2026, 11, 25))
    assert result.status is Status.ACHIEVED
    assert result.overdue == OverdueInfo(1, dt.date(2026, 10, 3), 53)


def test_achieved_kpi_keeps_a_missed_period_up_to_due() -> None:
    """SPEC §3: every period up to and including the one containing `due` counts for
    an achieved KPI, and a later report never excuses an earlier missed period."""
    kpi = Kpi(
        id="x",
        name="X",
        measure="Items done in percent",
        target=100.0,
        frequency=Frequency.MONTHLY,
        start=dt.date(2026, 1, 1),
        due=dt.date(2026, 6, 30),
    )
    days = [dt.date(2026, m, 28) for m in (1, 2, 3, 4, 5, 7, 8, 9, 10)]  # June missing
    history = [Measurement("x", d, 100.0 if d.month >= 8 else 50.0) for d in days]
    result = evaluate_kpi(kpi, history, as_of=dt.date(2026, 11, 25))
    assert result.status is Status.ACHIEVED
    # June, the period containing due, was never reported and stays missed.
    assert result.overdue == OverdueInfo(1, dt.date(2026, 7, 3), 145)
    assert Reason.OVERDUE in result.reasons
    # Not achieved: its periods go on after due, and October (the latest due) was reported.
    history[-1] = Measurement("x", dt.date(2026, 10, 28), 99.0)
    assert evaluate_kpi(kpi, history, as_of=dt.date(2026, 11, 25)).overdue is None


SIGNUPS = Kpi(
    id="signups",
    name="Monthly signups",
    measure="count of new accounts per calendar month",
    target=100.0,
    frequency=Frequency.MONTHLY,
    owner="Growth",
    due=dt.date(2026, 12, 31),
)


@pytest.mark.parametrize("april", [120.0, 90.0])
def test_a_newer_report_never_hides_missed_periods(april: float) -> None:
    """The reproduction: February and March are missed whether April's value
    achieves the target (120) or not (90)."""
    history = [
        Measurement("signups", dt.date(2026, 1, 31), 50.0, order=0),
        Measurement("signups", dt.date(2026, 4, 15), april, order=1),
    ]
    result = evaluate_kpi(SIGNUPS, history, as_of=dt.date(2026, 4, 20))
    assert (result.status is Status.ACHIEVED) is (april >= 100)
    assert result.overdue == OverdueInfo(2, dt.date(2026, 3, 3), 48)


def test_achieved_after_due_with_the_due_period_missed() -> None:
    """Due 2026-06-30, June never reported, 120 on 2026-08-15: June stays missed."""
    kpi = dataclasses.replace(SIGNUPS, due=dt.date(2026, 6, 30))
    history = [
        Measurement("signups", dt.date(2026, 5, 31), 80.0, order=0),
        Measurement("signups", dt.date(2026, 8, 15), 120.0, order=1),
    ]
    for as_of in (dt.date(2026, 8, 20), dt.date(2026, 11, 25)):
        result = evaluate_kpi(kpi, history, as_of=as_of)
        assert result.status is Status.ACHIEVED
        days = (as_of - dt.date(2026, 7, 3)).days
        assert result.overdue == OverdueInfo(1, dt.date(2026, 7, 3), days)
    # Not achieved, the months after due are owed too: June and July as of August 20th.
    short = [history[0], dataclasses.replace(history[1], value=90.0)]
    result = evaluate_kpi(kpi, short, as_of=dt.date(2026, 8, 20))
    assert result.overdue == OverdueInfo(2, dt.date(2026, 7, 3), 48)


def test_achieved_kpi_with_every_period_to_due_reported_is_not_overdue() -> None:
    kpi = dataclasses.replace(SIGNUPS, due=dt.date(2026, 3, 31), start=dt.date(2026, 1, 1))
    history = [
        Measurement("signups", dt.date(2026, mo, 28), v, order=i)
        for i, (mo, v) in enumerate([(1, 40.0), (2, 70.0), (3, 110.0)])
    ]
    result = evaluate_kpi(kpi, history, as_of=dt.date(2026, 11, 25))
    assert result.status is Status.ACHIEVED
    assert result.overdue is None


FREQUENCIES = st.sampled_from(list(Frequency))


@settings(max_examples=300, deadline=None)
@given(
    frequency=FREQUENCIES,
    start=st.dates(dt.date(2024, 1, 1), dt.date(2026, 6, 30)),
    due_after=st.integers(0, 500),
    gaps=st.lists(st.integers(1, 120), min_size=0, max_size=12),
    last_gap=st.integers(0, 400),
    as_of_after=st.integers(0, 500),
    grace=st.integers(0, 10),
)
def test_overdue_does_not_depend_on_a_later_value_achieving_the_target(
    frequency: Frequency,
    start: dt.date,
    due_after: int,
    gaps: list[int],
    last_gap: int,
    as_of_after: int,
    grace: int,
) -> None:
    """A KPI's overdue result never changes when the only difference is a later
    measurement that makes it achieved, for as-of dates whose latest owed period
    is at most the one containing `due`."""
    from kpitrack.domain.periods import latest_period_due_before, period_containing

    due = start + dt.timedelta(days=due_after)
    k = kpi(frequency=frequency, start=start, due=due, baseline=0, grace_days=grace)
    dates = [start]
    for gap in gaps:
        dates.append(dates[-1] + dt.timedelta(days=gap))
    earlier = [Measurement("k", d, 10.0, order=i) for i, d in enumerate(dates)]
    last_day = dates[-1] + dt.timedelta(days=last_gap)
    as_of = last_day + dt.timedelta(days=as_of_after)
    if (
        latest_period_due_before(frequency, as_of, grace).start
        > period_containing(frequency, due).start
    ):
        return  # past the due period the two KPIs owe different periods by design
    achieving = Measurement("k", last_day, 150.0, order=len(earlier))
    missing = dataclasses.replace(achieving, value=50.0)
    achieved = evaluate_kpi(k, [*earlier, achieving], as_of=as_of)
    short = evaluate_kpi(k, [*earlier, missing], as_of=as_of)
    assert achieved.status is Status.ACHIEVED
    assert short.status is not Status.ACHIEVED
    assert achieved.overdue == short.overdue


# ---------------------------------------------------------------- SPEC §3 readings


def test_due_on_or_before_start_makes_expected_the_target() -> None:
    for due in (START, START - dt.timedelta(days=30)):
        k = kpi(baseline=0, start=START, due=due)
        assert expected_position(k, DAY50, start=START, baseline=0) == 100
        assert run(k, m(DAY50, 95)).status is Status.AT_RISK  # judged against 100


def test_milestone_on_due_gives_way_to_the_target() -> None:
    k = path_kpi(milestones=(Milestone(DUE, 80),))
    assert expected_position(k, DUE, start=START, baseline=0) == 100
    assert expected_position(k, DAY50, start=START, baseline=0) == pytest.approx(50)


def test_milestone_on_start_is_skipped() -> None:
    k = path_kpi(milestones=(Milestone(START, 30),))
    assert expected_position(k, START, start=START, baseline=0) == 0
    assert expected_position(k, DAY50, start=START, baseline=0) == pytest.approx(50)


def test_qualitative_at_risk_is_more_than_zero_and_at_most_one_step_short() -> None:
    k = kpi(kind=Kind.QUALITATIVE, scale=SCALE, target="good")
    assert run(k, m(DAY50, "good")).status is Status.ON_TRACK  # 0 short
    assert run(k, m(DAY50, "fair")).status is Status.AT_RISK  # 1 step short
    assert run(k, m(DAY50, "poor")).status is Status.OFF_TRACK  # 2 steps short
    # The at-risk tolerance of quantitative KPIs does not apply to scales.
    assert run(k, m(DAY50, "fair"), at_risk_tolerance=0.9).status is Status.AT_RISK
    assert run(k, m(DAY50, "poor"), at_risk_tolerance=0.9).status is Status.OFF_TRACK


@pytest.mark.parametrize(
    ("target", "value", "status"),
    [
        # The floating-point slack is 1e-9 x max(1, |expected|): relative for large values,
        (1e12, 1e12 - 500, Status.ON_TRACK),
        (1e12, 1e12 - 2000, Status.AT_RISK),
        # absolute below 1.
        (0.5, 0.5 - 1e-10, Status.ON_TRACK),
        (0.5, 0.5 - 1e-8, Status.AT_RISK),
        (0.1 + 0.2, 0.3, Status.ON_TRACK),
    ],
)
def test_float_slack_is_relative_to_expected(target: float, value: float, status: Status) -> None:
    result = run(kpi(target=target), m(DAY50, value))
    assert result.status is status
    assert (result.gap == 0) is (status is Status.ON_TRACK)


def test_at_risk_boundary_slack_scales_with_expected() -> None:
    # Exactly 10% short of a large expected value, give or take float noise.
    result = run(kpi(target=3e11), m(DAY50, 3e11 * 0.9))
    assert result.status is Status.AT_RISK
