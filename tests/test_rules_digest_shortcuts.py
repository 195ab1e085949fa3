"""The shortcuts of the warning rules and the digest against the plain computations.

- KT113/KT114's reports are found from the columns' ordinals (`rules._reports_back` on a
  `History` view reads `History.ordinals_back`): the same positions as walking the
  sorted Measurements back, period by period (`period_reports`).
- KT113's test of each report shares the start and the baseline of the KPI's history
  (`rules._behind_test`): the same answer as `rules._behind_at` per report.
- The digest's week-old status of a KPI whose series is in date order is read from the
  result as of the later date and the last entry on or before the earlier one
  (`digest._status_before`): the status `status_of` gives.
- KT105 works on the dates as a list: the same problems as the rule per entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stuck_flat import DATES, cases, first_day

from kpitrack.domain.model import Config, Frequency, Kind, Kpi, Location, Measurement
from kpitrack.domain.periods import period_containing
from kpitrack.domain.series import History, Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation import evaluate as evaluation
from kpitrack.evaluation.evaluate import evaluate_kpi, status_of
from kpitrack.reading import rules
from kpitrack.reports import digest

Case = tuple[Kpi, list[Measurement], Config]


def reports_back(kpi: Kpi, history: Sequence[Measurement]) -> list[int]:
    """The oracle: each reported period's last entry, newest first, from Measurements."""
    seen: set[dt.date] = set()
    found = []
    for i in range(len(history) - 1, -1, -1):
        start = period_containing(kpi.frequency, history[i].date).start
        if start not in seen:
            seen.add(start)
            found.append(i)
    return found


def histories(
    kpi: Kpi, rows: list[Measurement], as_of: dt.date
) -> tuple[tuple[Measurement, ...], Sequence[Measurement]]:
    """The KPI's history as of `as_of` as sorted Measurements and as the columns' view."""
    plain = tuple(sorted((m for m in rows if m.date <= as_of), key=lambda m: (m.date, m.order)))
    series = Measurements(rows).series(kpi.id)
    view = series.until(as_of.toordinal()) if series is not None else ()
    return plain, view


@settings(max_examples=300, deadline=None)
@given(cases(), DATES)
def test_reports_from_the_ordinals_are_those_of_the_measurements(
    case: Case, as_of: dt.date
) -> None:
    kpi, rows, _config = case
    plain, view = histories(kpi, rows, as_of)
    expected = reports_back(kpi, plain)
    assert list(rules._reports_back(kpi, plain)) == expected
    assert list(rules._reports_back(kpi, view)) == expected
    if isinstance(view, History):
        assert list(view.ordinals_back()) == [m.date.toordinal() for m in reversed(plain)]


@settings(max_examples=300, deadline=None)
@given(cases(), DATES)
def test_behind_test_is_behind_at_for_every_report(case: Case, as_of: dt.date) -> None:
    kpi, rows, config = case
    plain, view = histories(kpi, rows, as_of)
    if not plain:
        return
    first = first_day(plain)
    expected = [rules._behind_at(kpi, first, m, config) for m in plain]
    assert list(map(rules._behind_test(kpi, plain, config), range(len(plain)))) == expected
    assert list(map(rules._behind_test(kpi, view, config), range(len(view)))) == expected


def test_behind_test_reads_the_columns_without_building_measurements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kpi = Kpi("k1", "KPI one", "Count", 100.0, Frequency.WEEKLY, kind=Kind.QUANTITATIVE)
    rows = [
        Measurement("k1", dt.date(2026, 1, 1) + dt.timedelta(days=7 * i), 10.0, order=i)
        for i in range(6)
    ]
    series = Measurements(rows).series("k1")
    assert series is not None
    view = series.until(dt.date(2026, 12, 31).toordinal())
    expected = [rules._behind_at(kpi, rows[:1], m, Config()) for m in rows]

    def no_measurement(*args: object) -> None:
        raise AssertionError("a Measurement was built")

    monkeypatch.setattr(type(series), "measurement", no_measurement)
    assert list(rules._reports_back(kpi, view)) == [5, 4, 3, 2, 1, 0]
    assert [rules._behind_test(kpi, view, Config())(i) for i in range(6)] == expected


@settings(max_examples=400, deadline=None)
@given(cases(), DATES, st.integers(0, 60))
def test_the_week_old_status_is_that_of_status_of(case: Case, as_of: dt.date, back: int) -> None:
    kpi, rows, config = case
    measurements = Measurements(rows)
    since = as_of - dt.timedelta(days=back)
    result = evaluate_kpi(kpi, measurements, as_of=as_of, config=config)  # finds the order
    expected = status_of(kpi, measurements, as_of=since, config=config)
    got = digest._status_before(result, measurements, since=since, config=config)
    assert got is expected
    plain = Measurements(rows)  # no order known: the plain status_of
    assert digest._status_before(result, plain, since=since, config=config) is expected


def test_the_week_old_status_of_a_series_in_order_reads_one_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kpi = Kpi("k1", "KPI one", "Count", 100.0, Frequency.DAILY, kind=Kind.QUANTITATIVE)
    rows = [
        Measurement("k1", dt.date(2026, 1, 1) + dt.timedelta(days=i), 10.0 * i, order=i)
        for i in range(10)
    ]
    measurements = Measurements(rows)
    as_of, since = dt.date(2026, 1, 10), dt.date(2026, 1, 3)
    config = Config()
    result = evaluate_kpi(kpi, measurements, as_of=as_of, config=config)
    expected = status_of(kpi, measurements, as_of=since, config=config)
    before = dt.date(2025, 12, 1)
    no_data = status_of(kpi, measurements, as_of=before, config=config)

    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("the status was worked out from the whole history")

    monkeypatch.setattr(evaluation, "status_of", whole)
    assert digest._status_before(result, measurements, since=since, config=config) is expected
    assert digest._status_before(result, measurements, since=before, config=config) is no_data
    got = digest.statuses_since(
        _workspace(kpi, measurements), [result], since=since, as_of=as_of, config=config
    )
    assert got == {"k1": expected}


def _workspace(kpi: Kpi, measurements: Measurements) -> Workspace:
    return Workspace(kpis=(kpi,), measurements=measurements)


@settings(max_examples=300, deadline=None)
@given(cases(), DATES)
def test_same_period_on_the_list_of_dates_is_the_rule_per_entry(case: Case, as_of: dt.date) -> None:
    kpi, rows, _config = case
    series = Measurements(rows).series(kpi.id)
    if series is None:
        return
    limit = as_of.toordinal()
    got = rules._same_period_of(series, kpi.frequency, limit, rules.PeriodStarts())
    positions = [i for i, day in enumerate(series.dates) if day <= limit]
    assert got == rules.same_period_among(series, kpi.frequency, positions)
    if len(series) > 1:  # what Series.until would find out
        dates = list(series.dates)
        assert series.ordered is (dates == sorted(dates))


def test_the_sample_locations_are_kept() -> None:
    """KT105's text names both entries' places, read from the columns."""
    rows = [
        Measurement("k1", dt.date(2026, 1, 5), 1.0, loc=Location("m.yaml", 3, 5), order=0),
        Measurement("k1", dt.date(2026, 1, 6), 2.0, loc=Location("m.yaml", 4, 5), order=1),
    ]
    series = Measurements(rows).series("k1")
    assert series is not None
    (problem,) = rules._same_period_of(
        series, Frequency.WEEKLY, dt.date(2026, 2, 1).toordinal(), rules.PeriodStarts()
    )
    assert (problem.line, problem.code) == (3, "KT105")
    assert "on 2026-01-06 at m.yaml:4:5, which counts instead" in problem.message


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(("k1", "k2", "k3")), DATES, st.integers(0, 30)), max_size=25
    ),
    DATES,
    st.integers(0, 20),
)
def test_the_window_sorted_on_its_own_tuples_is_the_sorted_measurements(
    drawn: list[tuple[str, dt.date, int]], as_of: dt.date, back: int
) -> None:
    """Orders as made by hand: sometimes given twice, sometimes out of reading order."""
    rows = [Measurement(kpi, day, 1.0, order=order) for kpi, day, order in drawn]
    measurements = Measurements(rows)
    for series in measurements.all_series():
        series.until(as_of.toordinal())  # as an evaluation leaves it: the order known
    since = as_of - dt.timedelta(days=back)
    covered = {"k1", "k2"}
    expected = sorted(
        (m for m in rows if m.kpi in covered and since < m.date <= as_of),
        key=lambda m: (m.date, m.order),
    )
    got = digest.window_measurements(measurements, covered, since=since, as_of=as_of)
    assert got == expected
