"""Plain-text pieces the report renderers share: values, progress, overdue, labels.

Everything here returns unescaped text; each renderer escapes for its format.
"""

from __future__ import annotations

from kpitrack.domain.model import Kpi, KpiResult, Reason, Status, Value
from kpitrack.evaluation.evaluate import format_value as _format_value
from kpitrack.reports.digest import ChangeKind, Report

STATUS_LABELS: dict[Status, str] = {
    Status.ACHIEVED: "achieved",
    Status.ON_TRACK: "on track",
    Status.AT_RISK: "at risk",
    Status.OFF_TRACK: "off track",
    Status.NO_DATA: "no data",
}

CHANGE_TITLES: dict[ChangeKind, str] = {
    ChangeKind.REGRESSED: "Regressions",
    ChangeKind.IMPROVED: "Improvements",
    ChangeKind.FIRST_REPORT: "First reports",
}
CHANGE_ORDER = (ChangeKind.REGRESSED, ChangeKind.IMPROVED, ChangeKind.FIRST_REPORT)

NO_OWNER = "(no owner)"
DASH = "—"


def format_value(kpi: Kpi, value: Value | None) -> str:
    """A value with the KPI's unit, as the other commands show it: `92%`, `1,200 USD`, `good`."""
    if value is None:
        return DASH
    return _format_value(kpi, value, unit=True)


def lacks_action_plan(r: KpiResult) -> bool:
    """No action plan where one is due (off-track or at-risk): shown emphasised."""
    return Reason.NO_ACTION_PLAN in r.reasons


def format_latest(r: KpiResult) -> str:
    if r.latest is None:
        return DASH
    return f"{format_value(r.kpi, r.latest.value)} ({r.latest.date.isoformat()})"


def format_target(r: KpiResult) -> str:
    target = format_value(r.kpi, r.kpi.target)
    arrow = "≤ " if str(r.kpi.direction) == "decrease" else "≥ "
    due = f" by {r.kpi.due.isoformat()}" if r.kpi.due else ""
    return f"{arrow}{target}{due}"


def format_overdue(r: KpiResult) -> str:
    o = r.overdue
    if o is None:
        return ""
    if o.never_reported:
        return "never reported"
    periods = "period" if o.missed_periods == 1 else "periods"
    days = "day" if o.days == 1 else "days"
    return f"{o.missed_periods} {periods} missed, due since {o.due_since} ({o.days} {days})"


def format_reasons(r: KpiResult) -> str:
    """The reasons; for an at-risk or off-track KPI also its drivers' statuses and its
    forecast in words."""
    from kpitrack.evaluation.evaluate import forecast_words, reason_words

    words = reason_words(r)
    forecast = forecast_words(r) if r.status.behind else None
    return f"{words}; forecast: {forecast}" if forecast else words


def one_line(text: str | None) -> str:
    """Free text on one line: block scalars' newlines become spaces."""
    return " ".join((text or "").split())


def owner_name(owner: str | None) -> str:
    return owner if owner is not None else NO_OWNER


def headline(report: Report) -> str:
    """`12 KPIs: 2 achieved, 5 on track, ...; 3 overdue; 4 need action.` (as status says it)"""
    from kpitrack.evaluation.evaluate import summary_sentence

    return summary_sentence(report.summary)


def window_text(report: Report) -> str:
    return f"after {report.since.isoformat()} up to and including {report.as_of.isoformat()}"
