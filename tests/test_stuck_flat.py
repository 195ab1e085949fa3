"""KT113/KT114 for one KPI (rules.stuck_and_flat_of) against the computation it replaced,
kept here as the oracle: each reported period's status from a whole `evaluate_kpi`.

The rule now works the status out from the baseline entries and the period's report
alone (`rules._behind_at`), without the overdue periods, the forecast and the reasons
that the status does not read, and finds the reports from the dates alone (on the
columns' view only the entries it looks at are built). `collect`, `record` and `import`
run it twice per KPI they write to, and `check` once per KPI. These tests prove the
problems are the same, on hypothesis-generated KPIs and histories, given as a tuple of
Measurements and as the loaded columns' view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from kpitrack.domain.codes import KT113, KT114
from kpitrack.domain.model import (
    Config,
    Direction,
    Frequency,
    Kind,
    Kpi,
    Location,
    Measurement,
    Milestone,
    Value,
)
from kpitrack.domain.periods import period_containing
from kpitrack.domain.problems import Problem
from kpitrack.domain.series import Measurements
from kpitrack.evaluation.evaluate import evaluate_kpi
from kpitrack.reading import rules

# ---------------------------------------------------------------- the oracle


def period_reports(kpi: Kpi, history: Sequence[Measurement], count: int) -> list[Measurement]:
    reports: list[Measurement] = []
    seen: set[dt.date] = set()
    for m in reversed(history):
        start = period_containing(kpi.frequency, m.date).start
        if start in seen:
            continue
        if len(reports) == count:
            break
        seen.add(start)
        reports.append(m)
    return reports[::-1]


def first_day(history: Sequence[Measurement]) -> list[Measurement]:
    n = 1
    while n < len(history) and history[n].date == history[0].date:
        n += 1
    return list(history[:n])


def oracle(kpi: Kpi, history: Sequence[Measurement], config: Config) -> Iterator[Problem]:
    """stuck_and_flat_of as it was: each report's status from evaluate_kpi, on
    Measurements built for every entry walked."""
    stuck, flat = config.stuck_periods, config.flat_periods
    if kpi.archived or not history:
        return
    reports = period_reports(kpi, history, max(stuck, flat))
    first = first_day(history)
    if len(reports) >= stuck and not (kpi.action or "").strip():
        last = reports[-stuck:]
        if all(
            evaluate_kpi(kpi, [*first, m], as_of=m.date, config=config).status.behind for m in last
        ):
            yield rules.problem(
                kpi.loc,
                KT113,
                f"KPI '{kpi.id}' has been off track or at risk for {stuck} reported "
                f"periods (since {last[0].date}) with no action plan: add an action",
            )
    if len(reports) >= flat:
        last = reports[-flat:]
        if len({kpi.position(m.value) for m in last}) == 1:
            yield rules.problem(
                kpi.loc,
                KT114,
                f"KPI '{kpi.id}' has not changed for {flat} reported periods "
                f"(since {last[0].date}): review whether it still says anything",
            )


# ---------------------------------------------------------------- generated KPIs

START = dt.date(2026, 1, 1)
LABELS = ("poor", "fair", "good", "great")
# Mostly days close together (same dates, same periods), sometimes over a year.
DAYS = st.one_of(st.integers(0, 2), st.integers(0, 10), st.integers(0, 400))
DATES = DAYS.map(lambda n: START + dt.timedelta(days=n))


def values(kind: Kind) -> st.SearchStrategy[Value]:
    if kind is Kind.QUALITATIVE:
        return st.sampled_from(LABELS)
    if kind is Kind.PROGRESS:
        return st.sampled_from((0.0, 10.0, 50.0, 90.0, 100.0))
    return st.sampled_from((0, 10, 50.5, 90, 100, 110, 150.0))


@st.composite
def kpis(draw: st.DrawFn) -> Kpi:
    kind = draw(st.sampled_from(list(Kind)))
    value = values(kind)
    milestones = tuple(
        Milestone(day, draw(value)) for day in sorted(set(draw(st.lists(DATES, max_size=2))))
    )
    return Kpi(
        "k1",
        "KPI one",
        "Count of things",
        draw(value),
        draw(st.sampled_from(list(Frequency))),
        kind=kind,
        scale=LABELS if kind is Kind.QUALITATIVE else (),
        direction=draw(st.sampled_from(list(Direction))),
        baseline=draw(st.none() | value),
        start=draw(st.none() | DATES),
        due=draw(st.none() | DATES),
        milestones=milestones,
        action=draw(st.sampled_from((None, "", "  ", "Call the team"))),
        archived=draw(st.integers(0, 9)) == 0,
        grace_days=draw(st.sampled_from((None, 0, 5))),
        loc=Location("kpis.yaml", 2, 5),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Kpi, list[Measurement], Config]:
    kpi = draw(kpis())
    value = values(kpi.kind)
    # Reading order is the order drawn; the history is sorted by (date, order).
    rows = [
        Measurement(kpi.id, draw(DATES), draw(value), loc=Location("m.yaml", 2 + i, 5), order=i)
        for i in range(draw(st.integers(0, 14)))
    ]
    config = Config(
        stuck_periods=draw(st.integers(1, 4)),
        flat_periods=draw(st.integers(1, 6)),
        at_risk_tolerance=draw(st.sampled_from((0.0, 0.1, 0.5))),
        grace_days=draw(st.sampled_from((0, 3))),
    )
    return kpi, rows, config


@settings(max_examples=300, deadline=None)
@given(cases(), DATES)
def test_same_problems_as_the_whole_evaluation(
    case: tuple[Kpi, list[Measurement], Config], as_of: dt.date
) -> None:
    kpi, rows, config = case
    history = sorted((m for m in rows if m.date <= as_of), key=lambda m: (m.date, m.order))
    expected = list(oracle(kpi, history, config))
    assert list(rules.stuck_and_flat_of(kpi, tuple(history), config)) == expected
    # The loaded columns' view, as check and the writes hand it over.
    series = Measurements(rows).series(kpi.id)
    view = series.until(as_of.toordinal()) if series is not None else ()
    assert list(rules.stuck_and_flat_of(kpi, view, config)) == expected


@settings(max_examples=300, deadline=None)
@given(cases(), st.data())
def test_behind_is_the_status_of_the_evaluation(
    case: tuple[Kpi, list[Measurement], Config], data: st.DataObject
) -> None:
    """Any baseline entries and report, in any order, even another KPI's entries."""
    kpi, rows, config = case
    if not rows:
        return
    first = data.draw(st.lists(st.sampled_from(rows), max_size=3))
    report = data.draw(st.sampled_from(rows))
    if data.draw(st.booleans()):
        first.append(Measurement("other", report.date, LABELS[0], order=len(rows)))
    status = evaluate_kpi(kpi, [*first, report], as_of=report.date, config=config).status
    assert rules._behind_at(kpi, first, report, config) is status.behind


def test_stuck_when_behind_in_every_last_period() -> None:
    """A hand-computed case: 50 against a standing 100 in the last three months."""
    kpi = Kpi("sales", "Sales", "Orders", 100, Frequency.MONTHLY, loc=Location("k.yaml", 5, 5))
    rows = [
        Measurement("sales", dt.date(2026, month, 28), value, order=month)
        for month, value in ((7, 100), (8, 50), (9, 50), (10, 55))
    ]
    found = list(rules.stuck_and_flat_of(kpi, rows, Config()))
    assert [(p.code, p.message) for p in found] == [
        (
            KT113,
            "KPI 'sales' has been off track or at risk for 3 reported periods "
            "(since 2026-08-28) with no action plan: add an action",
        )
    ]
    # On track in the first of the last three: not stuck.
    assert list(rules.stuck_and_flat_of(kpi, rows[:-1], Config())) == []
