"""What the formats share for the rows of `kpitrack history` and `kpitrack diff` (and the
report's definition section); each format module renders them (`history`, `diff`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpitrack.git.changes import DiffRow

COLUMNS = ("commit", "date", "author", "kpi", "field", "old", "new", "moved_goalpost")
DIFF_COLUMNS = ("change", "kind", "id", "field", "old", "new")


def cell(value: object) -> str:
    """A value as the user wrote it in YAML: text as is, whole numbers without `.0`,
    true/false, lists `[a, b]` and short mappings `{plan: x, due: 2026-11-30}`."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(cell(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {cell(v)}" for k, v in value.items()) + "}"
    return str(value)


def arrow(r: DiffRow) -> str:
    """`old → new` of a redefined field (— for nothing); empty for a whole KPI."""
    if r.field is None:
        return ""
    return f"{cell(r.old) or '—'} → {cell(r.new) or '—'}"
