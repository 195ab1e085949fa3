"""What the formats share for the rows of `kpitrack history` and `kpitrack diff` (and the
report's definition section); each format module renders them (`history`, `diff`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpitrack.git.changes import DiffRow

COLUMNS = ("commit", "date", "author", "kpi", "field", "old", "new", "moved_goalpost")
DIFF_COLUMNS = ("change", "kind", "id", "field", "old", "new")


def cell(value: object) -> str:
    return "" if value is None else str(value)


def arrow(r: DiffRow) -> str:
    """`old → new` of a redefined field (— for nothing); empty for a whole KPI."""
    if r.field is None:
        return ""
    return f"{cell(r.old) or '—'} → {cell(r.new) or '—'}"
