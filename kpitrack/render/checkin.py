"""What `kpitrack checkin` shows: a card per KPI, its recent history, the summary of
what will be written, and the statuses after. Rich renderables, never printed here;
every text from the files goes through `Text` (no markup) and `visible`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kpitrack.domain.model import Direction, Kind, KpiResult, Measurement
from kpitrack.domain.textsafe import visible
from kpitrack.evaluation.evaluate import format_value, status_sentence
from kpitrack.writing.checkin import Answer, KpiOwes

HISTORY_ROWS = 8


def _t(text: str) -> Text:
    return Text(visible(text, line=True))


def kpi_card(owes: KpiOwes, number: int, total: int) -> RenderableType:
    """Name, id, measure, unit, last value and date, target, expected today, the
    scale of a qualitative KPI, and the periods it owes."""
    result = owes.result
    kpi = result.kpi
    title = Text(f"[{number}/{total}] ", style="dim")
    title.append(visible(kpi.name, line=True), style="bold")
    title.append(visible(f" ({kpi.id})", line=True))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("measure", _t(kpi.measure))
    if kpi.unit:
        grid.add_row("unit", _t(kpi.unit))
    if kpi.kind is Kind.QUALITATIVE:
        grid.add_row("scale", _t(" < ".join(kpi.scale) + "  (worst first)"))
    latest = result.latest
    last = (
        f"{format_value(kpi, latest.value, unit=True)} on {latest.date.isoformat()}"
        if latest is not None
        else "none yet"
    )
    grid.add_row("last", _t(last))
    op = "≤" if kpi.direction is Direction.DECREASE else "≥"
    target = f"{op} {format_value(kpi, kpi.target, unit=True)}"
    if kpi.due is not None:
        target += f" by {kpi.due.isoformat()}"
    grid.add_row("target", _t(target))
    grid.add_row("expected", _t(f"{format_value(kpi, owes.expected_today, unit=True)} today"))
    owed = ", ".join(f"{o.period.label} ({o.due})" for o in owes.owed)
    grid.add_row("owes", _t(owed))
    return Group(Text(""), title, grid)


def history(result: KpiResult, added: Sequence[Measurement] = ()) -> RenderableType:
    """The KPI's last values, oldest first (with those entered in this sitting)."""
    kpi = result.kpi
    rows = [*result.history, *added][-HISTORY_ROWS:]
    if not rows:
        return Text("  no values recorded yet")
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="dim")
    table.add_column("date", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("note", overflow="fold")
    for m in rows:
        table.add_row(m.date.isoformat(), _t(format_value(kpi, m.value)), _t(m.note or ""))
    return table


def summary(answers: Sequence[Answer], shown: dict[Path, str]) -> RenderableType:
    """What will be written and where: one row per value (the file named in the title
    when there is one, in a column when there are several)."""
    files = list(dict.fromkeys(shown[a.target] for a in answers))
    title = f"To be written to {files[0]}" if len(files) == 1 else "To be written"
    table = Table(title=visible(title, line=True), title_justify="left", padding=(0, 1))
    table.add_column("KPI", no_wrap=True, overflow="fold")  # ids are cut last
    table.add_column("period", no_wrap=True)
    table.add_column("date", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("note", overflow="fold")
    if len(files) > 1:
        table.add_column("file", overflow="fold")
    for a in answers:
        kpi, m = a.owed.kpi, a.measurement
        cells: list[RenderableType] = [
            _t(kpi.id),
            a.owed.period.label,
            m.date.isoformat(),
            _t(format_value(kpi, m.value, unit=True)),
            _t(m.note or ""),
        ]
        if len(files) > 1:
            cells.append(_t(shown[a.target]))
        table.add_row(*cells)
    return Group(Text(""), table)


def statuses(results: Sequence[KpiResult], today: dt.date) -> RenderableType:
    """Each KPI that got values, with its status now and why."""
    lines: list[RenderableType] = []
    for r in results:
        when = "" if r.as_of == today else f" (as of {r.as_of.isoformat()})"
        lines.append(_t(f"{r.kpi.id}: {r.status}{when} — {status_sentence(r)}"))
    return Group(*lines)
