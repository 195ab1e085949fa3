"""`kpitrack export`: tidy rows for DuckDB, a warehouse or a BI tool (SPEC §6).

Measurement rows: one per measurement, with its KPI's metadata. Evaluation rows
(`--evaluations`): one per KPI as of the as-of date. CSV values are plain text
(empty for null); JSONL lines are JSON objects with the same keys, in the same order.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

from kpitrack.domain.model import Kpi, KpiResult, Measurement
from kpitrack.domain.workspace import Workspace
from kpitrack.reports.jsonvalues import date_json, number, value_json

KPI_COLUMNS = ("kpi", "name", "owner", "objective", "unit", "kind", "direction", "target", "due")
MEASUREMENT_COLUMNS = (*KPI_COLUMNS, *Measurement.FIELDS[1:])
EVALUATION_COLUMNS = (
    "as_of",
    *KPI_COLUMNS,
    "status",
    "latest_date",
    "latest_value",
    "expected",
    "progress",
    "gap",
    "days_overdue",
    "needs_action",
    "reasons",
)


def _kpi_fields(k: Kpi) -> dict[str, Any]:
    return {
        "kpi": k.id,
        "name": k.name,
        "owner": k.owner,
        "objective": k.objective,
        "unit": k.unit,
        "kind": str(k.kind),
        "direction": str(k.direction),
        "target": value_json(k.target),
        "due": date_json(k.due),
    }


def measurement_rows(workspace: Workspace, kpi_ids: set[str]) -> list[dict[str, Any]]:
    """One row per measurement of the given KPIs, in file order."""
    by_id = {k.id: k for k in workspace.kpis}
    return [
        {
            **_kpi_fields(by_id[m.kpi]),
            "date": m.date.isoformat(),
            "value": value_json(m.value),
            "note": m.note,
            "by": m.by,
        }
        for m in workspace.measurements
        if m.kpi in kpi_ids and m.kpi in by_id
    ]


def evaluation_rows(results: Sequence[KpiResult], as_of: dt.date) -> list[dict[str, Any]]:
    """One row per KPI evaluation."""
    return [
        {
            "as_of": as_of.isoformat(),
            **_kpi_fields(r.kpi),
            "status": str(r.status),
            "latest_date": date_json(r.latest.date) if r.latest else None,
            "latest_value": value_json(r.latest.value) if r.latest else None,
            "expected": r.expected if isinstance(r.expected, str) else number(r.expected),
            "progress": number(r.progress),
            "gap": number(r.gap),
            "days_overdue": r.overdue.days if r.overdue else None,
            "needs_action": r.needs_action,
            "reasons": ";".join(str(reason) for reason in r.reasons),
        }
        for r in results
    ]


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row[c]) for c in columns])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_jsonl(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n" for row in rows)
