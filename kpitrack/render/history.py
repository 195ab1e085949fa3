"""The rows of `kpitrack history` (and the report's definition section) in every format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType

    from kpitrack.history import Change, DiffRow


class HistoryFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    CSV = "csv"


COLUMNS = ("commit", "date", "author", "kpi", "field", "old", "new", "moved_goalpost")


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def render_history(changes: Sequence[Change], fmt: HistoryFormat) -> str | RenderableType:
    """The history rows in one of the formats."""
    if fmt is HistoryFormat.JSON:
        return json.dumps({"changes": [c.to_dict() for c in changes]}, indent=2) + "\n"
    if fmt is HistoryFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for c in changes:
            row = c.to_dict()
            writer.writerow(
                [
                    "true" if row[k] is True else "false" if row[k] is False else _cell(row[k])
                    for k in COLUMNS
                ]
            )
        return buffer.getvalue()
    if fmt is HistoryFormat.MARKDOWN:
        return history_markdown(changes)
    from rich.table import Table

    table = Table(title="Definition changes")
    for name in ("commit", "date", "author", "KPI", "field", "old → new", "moved goalpost"):
        table.add_column(name)
    for c in changes:
        table.add_row(
            c.commit,
            c.date,
            c.author,
            c.kpi,
            c.field,
            f"{_cell(c.old) or '—'} → {_cell(c.new) or '—'}",
            "MOVED GOALPOST" if c.moved_goalpost else "",
        )
    return table


def history_markdown(changes: Sequence[Change]) -> str:
    from kpitrack.render.markdown import escape, table_lines

    header = ["commit", "date", "author", "KPI", "field", "old → new", "moved goalpost"]
    rows = [
        [
            escape(c.commit),
            escape(c.date),
            escape(c.author),
            escape(c.kpi),
            escape(c.field),
            f"{escape(_cell(c.old) or '—')} → {escape(_cell(c.new) or '—')}",
            "**moved goalpost**" if c.moved_goalpost else "",
        ]
        for c in changes
    ]
    return "\n".join(table_lines(header, rows)) + "\n"


DIFF_COLUMNS = ("change", "kind", "id", "field", "old", "new")


def render_diff(rows: Sequence[DiffRow], fmt: HistoryFormat) -> str | RenderableType:
    """The rows of `kpitrack diff` in one of the formats."""
    if fmt is HistoryFormat.JSON:
        return json.dumps({"changes": [r.to_dict() for r in rows]}, indent=2) + "\n"
    if fmt is HistoryFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(DIFF_COLUMNS)
        for r in rows:
            writer.writerow([_cell(r.to_dict()[k]) for k in DIFF_COLUMNS])
        return buffer.getvalue()
    if fmt is HistoryFormat.MARKDOWN:
        from kpitrack.render.markdown import table

        header = ["change", "kind", "id", "field", "old → new"]
        cells = [[r.change, r.kind, r.id, r.field or "", _arrow(r)] for r in rows]
        return table(header, cells)
    from rich.table import Table

    view = Table(title="Definition differences")
    for name in ("change", "kind", "id", "field", "old → new"):
        view.add_column(name)
    for r in rows:
        view.add_row(r.change, r.kind, r.id, r.field or "", _arrow(r))
    return view


def _arrow(r: DiffRow) -> str:
    if r.field is None:
        return ""
    return f"{_cell(r.old) or '—'} → {_cell(r.new) or '—'}"
