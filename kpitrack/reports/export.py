"""`kpitrack export`: tidy rows for DuckDB, a warehouse or a BI tool (docs/git.md,
"kpitrack export").

Measurement rows: one per measurement, with its KPI's metadata. Evaluation rows
(`--evaluations`): one per KPI as of the as-of date. CSV goes through the one CSV
writer (`domain.csvout`: empty for null, formulas neutralised); JSONL lines are JSON
objects with the same keys, in the same order. Both are made row by row (streamed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from kpitrack.domain.csvout import CsvLine, csv_rows
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


def measurement_rows(workspace: Workspace, kpi_ids: set[str]) -> Iterator[dict[str, Any]]:
    """One row per measurement of the given KPIs, in file order, made as they are
    read (each KPI's own fields are made once)."""
    fields = {k.id: _kpi_fields(k) for k in workspace.kpis if k.id in kpi_ids}
    for m in workspace.measurements:
        kpi = fields.get(m.kpi)
        if kpi is not None:
            yield {
                **kpi,
                "date": m.date.isoformat(),
                "value": value_json(m.value),
                "note": m.note,
                "by": m.by,
            }


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


def _in_reading_order(
    workspace: Workspace, kpi_ids: set[str]
) -> Iterator[tuple[str, str, Any, str | None, str | None]]:
    """(kpi, ISO date, value as JSON gives it, note, by) of the given KPIs' measurements
    in reading order, read from the column store without building a Measurement each."""
    kpis: list[str] = []
    dates: list[int] = []
    values: list[Any] = []
    notes: list[str | None] = []
    bys: list[str | None] = []
    orders: list[int] = []
    for series in workspace.measurements.all_series():
        if series.kpi in kpi_ids:
            kpis.extend([series.kpi] * len(series))
            dates.extend(series.dates)
            values.extend(series.values)
            notes.extend(series.notes)
            bys.extend(series.bys)
            orders.extend(series.orders)
    days: dict[int, str] = {}
    for i in sorted(range(len(orders)), key=orders.__getitem__):
        ordinal = dates[i]
        day = days.get(ordinal)
        if day is None:
            day = days[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        yield kpis[i], day, value_json(values[i]), notes[i], bys[i]


def measurement_csv(workspace: Workspace, kpi_ids: set[str], *, batch: int = 1024) -> Iterator[str]:
    """`measurement_rows` as CSV, in chunks: each KPI's own cells are formatted once,
    each measurement adds its date, value, note and by (all through the one CSV writer)."""
    line = CsvLine()
    prefixes = {
        k.id: line.prefix(_kpi_fields(k)[c] for c in KPI_COLUMNS)
        for k in workspace.kpis
        if k.id in kpi_ids
    }
    chunk = [line(MEASUREMENT_COLUMNS)]
    for kpi, day, value, note, by in _in_reading_order(workspace, set(prefixes)):
        chunk.append(prefixes[kpi] + line((day, value, note, by)))
        if len(chunk) >= batch:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def measurement_jsonl(
    workspace: Workspace, kpi_ids: set[str], *, batch: int = 1024
) -> Iterator[str]:
    """`to_jsonl(measurement_rows(...))`, in chunks, each KPI's own keys encoded once:
    the same bytes, without a dict of thirteen keys per measurement."""
    prefixes = {
        k.id: json.dumps(_kpi_fields(k), ensure_ascii=False, allow_nan=False)[:-1] + ", "
        for k in workspace.kpis
        if k.id in kpi_ids
    }
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    chunk: list[str] = []
    for kpi, day, value, note, by in _in_reading_order(workspace, set(prefixes)):
        own = {"date": day, "value": value, "note": note, "by": by}
        chunk.append(prefixes[kpi] + dumps(own)[1:] + "\n")
        if len(chunk) >= batch:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    """The rows as CSV through the one CSV writer (formulas neutralised), in chunks."""
    return csv_rows(columns, ([row[c] for c in columns] for row in rows))


def to_jsonl(rows: Iterable[dict[str, Any]], *, batch: int = 1024) -> Iterator[str]:
    """The rows as JSON Lines, in chunks of up to `batch` lines."""
    chunk: list[str] = []
    for row in rows:
        chunk.append(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
        if len(chunk) >= batch:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
