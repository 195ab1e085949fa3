"""build_report on a hand-built workspace (see tests/report_fixtures.py for the table)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from report_fixtures import AS_OF, CONFIG, SINCE, build_workspace

from kpitrack.domain.model import Status
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.reports.digest import (
    ChangeKind,
    Report,
    StatusChange,
    build_report,
    default_since,
)


@pytest.fixture
def report() -> Report:
    return build_report(build_workspace(), as_of=AS_OF, since=SINCE, config=CONFIG)


def transitions(changes: tuple[StatusChange, ...]) -> list[tuple[str, str, str]]:
    return [(c.result.kpi.id, str(c.before), str(c.after)) for c in changes]


def test_changes_are_exactly_the_transitions_between_the_two_dates(report: Report) -> None:
    assert transitions(report.changes) == [
        ("csat", "on-track", "at-risk"),
        ("signups", "off-track", "on-track"),
        ("nps", "no-data", "off-track"),
    ]


def test_improvements_regressions_and_first_reports_apart(report: Report) -> None:
    assert transitions(report.regressions) == [("csat", "on-track", "at-risk")]
    assert transitions(report.improvements) == [("signups", "off-track", "on-track")]
    assert transitions(report.first_reports) == [("nps", "no-data", "off-track")]


def test_status_order_worst_first() -> None:
    assert Status.worst_to_best() == (
        Status.NO_DATA,
        Status.OFF_TRACK,
        Status.AT_RISK,
        Status.ON_TRACK,
        Status.ACHIEVED,
    )


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (Status.ON_TRACK, Status.ACHIEVED, ChangeKind.IMPROVED),
        (Status.AT_RISK, Status.ON_TRACK, ChangeKind.IMPROVED),
        (Status.OFF_TRACK, Status.AT_RISK, ChangeKind.IMPROVED),
        (Status.ACHIEVED, Status.ON_TRACK, ChangeKind.REGRESSED),
        (Status.ON_TRACK, Status.OFF_TRACK, ChangeKind.REGRESSED),
        (Status.AT_RISK, Status.OFF_TRACK, ChangeKind.REGRESSED),
        (Status.NO_DATA, Status.OFF_TRACK, ChangeKind.FIRST_REPORT),
        (Status.NO_DATA, Status.ACHIEVED, ChangeKind.FIRST_REPORT),
    ],
)
def test_change_kind(before: Status, after: Status, kind: ChangeKind, report: Report) -> None:
    result = report.results[0]
    assert StatusChange(result, before, after).kind is kind


def test_new_measurements_only_inside_the_window(report: Report) -> None:
    listed = [(n.kpi.id, n.measurement.date.isoformat()) for n in report.new_measurements]
    # churn on 2026-11-23 (== since) and on 2026-12-01 (> as_of) are left out.
    assert listed == [
        ("csat", "2026-11-24"),
        ("signups", "2026-11-27"),
        ("nps", "2026-11-28"),
        ("pipe", "2026-11-30"),
    ]


def test_no_changes_when_since_equals_as_of() -> None:
    report = build_report(build_workspace(), as_of=AS_OF, since=AS_OF, config=CONFIG)
    assert report.changes == ()
    assert report.new_measurements == ()


def test_wider_window_sees_more() -> None:
    report = build_report(
        build_workspace(), as_of=AS_OF, since=dt.date(2026, 11, 10), config=CONFIG
    )
    # As of 2026-11-10, signups had one value (40: its own baseline, off-track vs 100).
    assert ("signups", "off-track", "on-track") in transitions(report.changes)
    dates = [n.measurement.date for n in report.new_measurements]
    assert min(dates) == dt.date(2026, 11, 16)
    assert all(dt.date(2026, 11, 10) < d <= AS_OF for d in dates)


def test_since_after_as_of_is_refused() -> None:
    with pytest.raises(ValueError):
        build_report(build_workspace(), as_of=SINCE, since=AS_OF, config=CONFIG)


def test_default_since_is_a_week_before() -> None:
    assert default_since(AS_OF) == SINCE


def test_summary_counts(report: Report) -> None:
    s = report.summary
    assert s.total == 7
    assert dict((str(k), v) for k, v in s.by_status) == {
        "achieved": 0,
        "on-track": 3,
        "at-risk": 2,
        "off-track": 1,
        "no-data": 1,
    }
    assert s.overdue == 1
    assert s.needs_action == 5


def test_per_owner_summary_sorted_with_no_owner_last(report: Report) -> None:
    assert [o.owner for o in report.owners] == ["growth", "sales", "support", None]
    sales = report.owners[1].counts
    assert (sales.total, sales.overdue, sales.needs_action) == (2, 1, 2)
    assert sum(o.counts.total for o in report.owners) == report.summary.total


def test_groups_by_objective_in_workspace_order_no_objective_last(report: Report) -> None:
    groups = [(g.objective.id if g.objective else None, g.title) for g in report.objectives]
    # `unused` has no KPIs and is left out.
    assert groups == [
        ("growth", "Grow the business | 2026"),
        ("happy", "Happy customers <3"),
        (None, "No objective"),
    ]
    assert [[r.kpi.id for r in g.results] for g in report.objectives] == [
        ["signups", "pipe", "leads"],
        ["csat", "nps", "docs"],
        ["churn"],
    ]


def test_overdue_section(report: Report) -> None:
    assert [r.kpi.id for r in report.overdue] == ["leads"]
    overdue = report.overdue[0].overdue
    assert overdue is not None
    assert (overdue.missed_periods, overdue.due_since, overdue.days) == (
        2,
        dt.date(2026, 11, 18),
        12,
    )


def test_needs_action_worst_first(report: Report) -> None:
    # off-track, then at-risk, then no-data, then the rest.
    assert [r.kpi.id for r in report.needs_action] == ["nps", "csat", "pipe", "docs", "leads"]


def test_results_filter_restricts_every_section() -> None:
    workspace = build_workspace()
    results = [
        r for r in evaluate(workspace, as_of=AS_OF, config=CONFIG) if r.kpi.owner == "support"
    ]
    report = build_report(workspace, as_of=AS_OF, since=SINCE, config=CONFIG, results=results)
    assert [r.kpi.id for r in report.results] == ["csat", "churn"]
    assert transitions(report.changes) == [("csat", "on-track", "at-risk")]
    assert [n.kpi.id for n in report.new_measurements] == ["csat"]
    assert [o.owner for o in report.owners] == ["support"]
    assert report.overdue == ()
    assert [r.kpi.id for r in report.needs_action] == ["csat"]


def test_report_is_frozen(report: Report) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.as_of = SINCE  # type: ignore[misc]
