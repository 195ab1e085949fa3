"""The `csv` format: status, overdue, actions, show, history and diff; one header row,
LF line ends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kpitrack.domain.csvout import FORMULA_STARTS, csv_text, neutralise
from kpitrack.domain.model import KpiResult, Measurement
from kpitrack.evaluation.evaluate import action_words
from kpitrack.reports.jsonvalues import date_json, number, value_json

if TYPE_CHECKING:
    from kpitrack.git.changes import Change, DiffRow


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return csv_text(header, rows)


STATUS_HEADER = (
    "id", "name", "owner", "objective", "status", "latest_date", "latest_value", "target",
    "expected", "progress", "gap", "due", "missed_periods", "due_since", "days_overdue",
    "reasons",
)  # fmt: skip


def status(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> str:
    rows = []
    for r in results:
        o = r.overdue
        rows.append(
            [
                r.kpi.id,
                r.kpi.name,
                r.kpi.owner,
                r.kpi.objective,
                str(r.status),
                date_json(r.latest.date) if r.latest else None,
                value_json(r.latest.value) if r.latest else None,
                value_json(r.kpi.target),
                r.expected if isinstance(r.expected, str) else number(r.expected),
                number(r.progress),
                number(r.gap),
                date_json(r.kpi.due),
                _missed(r),
                date_json(o.due_since) if o else None,
                o.days if o else None,
                ";".join(str(x) for x in r.reasons),
            ]
        )
    return _csv(STATUS_HEADER, rows)


def _missed(r: KpiResult) -> str | int | None:
    if r.overdue is None:
        return None
    return "never" if r.overdue.never_reported else r.overdue.missed_periods


def overdue(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> str:
    header = ("id", "name", "owner", "frequency", "last_report", "missed_periods", "due_since")
    rows = [
        [
            r.kpi.id,
            r.kpi.name,
            r.kpi.owner,
            str(r.kpi.frequency),
            date_json(r.latest.date) if r.latest else None,
            _missed(r),
            date_json(r.overdue.due_since),
            r.overdue.days,
        ]
        for r in results
        if r.overdue is not None
    ]
    return _csv((*header, "days_overdue"), rows)


def actions(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> str:
    header = ("id", "name", "owner", "status", "reasons", "days_overdue", "action")
    rows = [
        [
            r.kpi.id,
            r.kpi.name,
            r.kpi.owner,
            str(r.status),
            ";".join(str(x) for x in r.reasons),
            r.overdue.days if r.overdue else None,
            action_words(r.kpi),
        ]
        for r in results
        if r.needs_action
    ]
    return _csv(header, rows)


def show(result: KpiResult, *, all_history: bool = True) -> str:
    """The KPI's whole history, one row per measurement (data formats are never cut to
    the last values, so `all_history` changes nothing here)."""
    rows = [[m.date.isoformat(), value_json(m.value), m.note, m.by] for m in result.history]
    return _csv(Measurement.FIELDS[1:], rows)  # every field but the KPI shown


def history(changes: Sequence[Change]) -> str:
    """`kpitrack history`: one row per definition change (booleans as true/false)."""
    from kpitrack.render.history import COLUMNS, cell

    rows = []
    for c in changes:
        row = c.to_dict()
        rows.append([_data(row[k], cell) for k in COLUMNS])
    return csv_text(COLUMNS, rows)


def _data(value: object, cell: Callable[[object], str]) -> object:
    """Booleans, numbers and None as themselves (numbers are never neutralised), the
    rest as the text `cell` gives."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return cell(value)


def diff(rows: Sequence[DiffRow]) -> str:
    """`kpitrack diff`: one row per added, removed or redefined KPI or objective."""
    from kpitrack.render.history import DIFF_COLUMNS, cell

    return csv_text(
        DIFF_COLUMNS, ([_data(r.to_dict()[k], cell) for k in DIFF_COLUMNS] for r in rows)
    )


__all__ = [
    "FORMULA_STARTS",
    "actions",
    "diff",
    "history",
    "neutralise",
    "overdue",
    "show",
    "status",
]
