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
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from kpitrack.domain.csvout import CsvLine, csv_rows
from kpitrack.domain.model import Kpi, KpiResult, Measurement
from kpitrack.domain.series import Series
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


def reading_order(every: Sequence[Series]) -> tuple[array[int], array[int]]:
    """Which series (an index into `every`) and which position in it, for each of their
    measurements in reading order (by `order`; equal orders in the order of `every`).

    Loaded measurements have distinct orders from 0 with few gaps, so each one is put in
    its slot by its order: two small integer arrays, no sort. Otherwise (orders given by
    hand, repeated or far apart) they are sorted."""
    count = sum(len(s) for s in every)
    if not count:
        return array("i"), array("i")
    low = min(min(s.orders) for s in every if s)
    span = max(max(s.orders) for s in every if s) - low + 1
    if span <= 2 * count + 1024:
        which = array("i", [-1]) * span
        where = array("i", [0]) * span
        for k, series in enumerate(every):
            for i, order in enumerate(series.orders):
                which[order - low] = k
                where[order - low] = i
        if which.count(-1) == span - count:  # every order distinct: nothing overwritten
            if span == count:
                return which, where
            kept = [slot for slot in range(span) if which[slot] >= 0]
            return array("i", (which[s] for s in kept)), array("i", (where[s] for s in kept))
    keyed = sorted(
        (order, k, i) for k, series in enumerate(every) for i, order in enumerate(series.orders)
    )
    return array("i", (k for _, k, _ in keyed)), array("i", (i for _, _, i in keyed))


# Texts kept per kind of cell (dates, values, notes and authors) before the cache starts
# over: enough for every distinct date and value, bounded for unique notes.
CELL_CACHE_LIMIT = 1 << 16


class _Cells:
    """Each distinct value's cell text, made once: dates, values, notes and authors
    recur (shared strings, a few distinct numbers), so a row costs four look-ups. Keys
    that compare equal give the same text (1, 1.0 and True are all written `1`; -0.0 and
    0.0 `0`). At most `CELL_CACHE_LIMIT` texts are kept, so unique notes do not grow it
    without bound."""

    __slots__ = ("_limit", "cache", "make")

    def __init__(self, make: Callable[[Any], str]) -> None:
        self.cache: dict[Any, str] = {}
        self.make = make
        self._limit = CELL_CACHE_LIMIT

    def miss(self, key: Any) -> str:
        text = self.make(key)
        if len(self.cache) >= self._limit:
            self.cache.clear()
        self.cache[key] = text
        return text


def _rows(
    workspace: Workspace,
    prefixes: dict[str, str],
    cell: Callable[[Any], str],
    row: Callable[[str, str, str, str, str], str],
    *,
    batch: int,
) -> Iterator[str]:
    """The chosen KPIs' measurements in reading order, each as `row(prefix, date, value,
    note, by)` of the cells' texts, in chunks of up to `batch` rows."""
    every = [s for s in workspace.measurements.all_series() if s.kpi in prefixes]
    which, where = reading_order(every)
    columns = [(prefixes[s.kpi], s.dates, s.values, s.notes, s.bys) for s in every]
    days = _Cells(lambda ordinal: cell(dt.date.fromordinal(ordinal).isoformat()))
    values = _Cells(lambda value: cell(value_json(value)))
    texts = _Cells(cell)  # notes and authors: None or text
    day_cache, value_cache, text_cache = days.cache, values.cache, texts.cache
    chunk: list[str] = []
    for k, i in zip(which, where, strict=True):
        prefix, dates, vals, notes, bys = columns[k]
        ordinal, value, note, by = dates[i], vals[i], notes[i], bys[i]
        day = day_cache.get(ordinal)
        if day is None:
            day = days.miss(ordinal)
        shown = value_cache.get(value)
        if shown is None:
            shown = values.miss(value)
        written = text_cache.get(note)
        if written is None:
            written = texts.miss(note)
        author = text_cache.get(by)
        if author is None:
            author = texts.miss(by)
        chunk.append(row(prefix, day, shown, written, author))
        if len(chunk) >= batch:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def measurement_csv(workspace: Workspace, kpi_ids: set[str], *, batch: int = 1024) -> Iterator[str]:
    """`to_csv(measurement_rows(...), MEASUREMENT_COLUMNS)`, in chunks: each KPI's own
    cells are formatted once, and each distinct date, value, note and author once (all
    through the one CSV writer)."""
    line = CsvLine()
    prefixes = {
        k.id: line.prefix(_kpi_fields(k)[c] for c in KPI_COLUMNS)
        for k in workspace.kpis
        if k.id in kpi_ids
    }
    yield line(MEASUREMENT_COLUMNS)
    yield from _rows(
        workspace,
        prefixes,
        line.cell,
        lambda prefix, day, value, note, by: f"{prefix}{day},{value},{note},{by}\n",
        batch=batch,
    )


def measurement_jsonl(
    workspace: Workspace, kpi_ids: set[str], *, batch: int = 1024
) -> Iterator[str]:
    """`to_jsonl(measurement_rows(...))`, in chunks, each KPI's own keys encoded once and
    each distinct date, value, note and author once: the same bytes, without a dict of
    thirteen keys per measurement."""
    prefixes = {
        k.id: json.dumps(_kpi_fields(k), ensure_ascii=False, allow_nan=False)[:-1] + ", "
        for k in workspace.kpis
        if k.id in kpi_ids
    }
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    yield from _rows(
        workspace,
        prefixes,
        dumps,
        lambda prefix, day, value, note, by: (
            f'{prefix}"date": {day}, "value": {value}, "note": {note}, "by": {by}}}\n'
        ),
        batch=batch,
    )


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
