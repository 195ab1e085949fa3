"""What `kpitrack checkin` shows: a card per KPI, its recent history, the summary of
what will be written, and the statuses after. Rich renderables, never printed here;
every text from the files goes through `Text` (no markup) and `visible`."""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from kpitrack.domain.model import Direction, Kind, KpiResult, Measurement
from kpitrack.domain.textsafe import visible
from kpitrack.evaluation.evaluate import format_value, status_sentence
from kpitrack.writing.checkin import Answer, KpiOwes

HISTORY_ROWS = 8


def _t(text: str) -> Text:
    return Text(visible(text, line=True))


def _card_rows(owes: KpiOwes) -> list[tuple[str, str]]:
    """The card's rows: a label and its text (already through `visible`)."""
    result = owes.result
    kpi = result.kpi
    rows = [("measure", visible(kpi.measure, line=True))]
    if kpi.unit:
        rows.append(("unit", visible(kpi.unit, line=True)))
    if kpi.kind is Kind.QUALITATIVE:
        rows.append(("scale", visible(" < ".join(kpi.scale) + "  (worst first)", line=True)))
    latest = result.latest
    last = (
        f"{format_value(kpi, latest.value, unit=True)} on {latest.date.isoformat()}"
        if latest is not None
        else "none yet"
    )
    rows.append(("last", visible(last, line=True)))
    op = "≤" if kpi.direction is Direction.DECREASE else "≥"
    target = f"{op} {format_value(kpi, kpi.target, unit=True)}"
    if kpi.due is not None:
        target += f" by {kpi.due.isoformat()}"
    rows.append(("target", visible(target, line=True)))
    expected = f"{format_value(kpi, owes.expected_today, unit=True)} today"
    rows.append(("expected", visible(expected, line=True)))
    owed = ", ".join(f"{o.period.label} ({o.due})" for o in owes.owed)
    rows.append(("owes", visible(owed, line=True)))
    return rows


def _card_title(owes: KpiOwes, number: int, total: int) -> tuple[str, str, str]:
    """The title's three parts: the count (dim), the name (bold), the id."""
    kpi = owes.result.kpi
    return f"[{number}/{total}] ", visible(kpi.name, line=True), visible(f" ({kpi.id})", line=True)


def kpi_card(owes: KpiOwes, number: int, total: int) -> RenderableType:
    """Name, id, measure, unit, last value and date, target, expected today, the
    scale of a qualitative KPI, and the periods it owes."""
    count, name, ident = _card_title(owes, number, total)
    title = Text(count, style="dim")
    title.append(name, style="bold")
    title.append(ident)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, text in _card_rows(owes):
        grid.add_row(label, Text(text))
    return Group(Text(""), title, grid)


# The plain-text card (`kpi_card_text`) is used for thousands of cards (checkin
# --dry-run off a terminal): the same bytes as `kpi_card` through
# `commands.output.renderable_to_text`, without a Rich table per card. It lays out
# only what it can match exactly (text of single-width printable characters, at
# least `_PLAIN_MIN_WIDTH` columns); anything else is left to Rich (None).
_PLAIN_MIN_WIDTH = 20
_GAP = 2  # the grid's padding between its two columns


def _single_width(text: str) -> bool:
    """Whether every character of `text` is printable and one cell wide."""
    if not text.isprintable():
        return False
    if text.isascii():
        return True
    from rich.cells import get_character_cell_size

    return all(get_character_cell_size(c) == 1 for c in set(text) if not c.isascii())


def _wrapped(text: str, width: int) -> list[str]:
    """`text` cut into lines of at most `width` cells as Rich's fold wrapping cuts it
    (words longer than a line folded), each line without trailing spaces."""
    if len(text) <= width:
        return [text.rstrip(" ")]
    lines = Text(text).wrap(_wrapping_console(), width, overflow="fold")
    return [line.plain.rstrip(" ") for line in lines]


@functools.cache
def _wrapping_console() -> Console:
    """A console for `Text.wrap` alone (it is asked nothing of the terminal)."""
    return Console(file=io.StringIO(), width=80, color_system=None)


def kpi_card_text(owes: KpiOwes, number: int, total: int, width: int) -> str | None:
    """`kpi_card` as plain text `width` columns wide (what `renderable_to_text` makes
    of it: no trailing spaces, a newline after each line), or None when the text
    needs Rich to lay it out."""
    title = "".join(_card_title(owes, number, total))
    rows = _card_rows(owes)
    if width < _PLAIN_MIN_WIDTH or not all(
        _single_width(t) for t in (title, *(t for _, t in rows))
    ):
        return None
    label_width = max(len(label) for label, _ in rows)
    text_width = min(max(len(t) for _, t in rows), width - label_width - _GAP)
    lines = ["", *_wrapped(title, width)]
    indent = " " * (label_width + _GAP)
    for label, text in rows:
        for i, part in enumerate(_wrapped(text, text_width)):
            head = label.ljust(label_width + _GAP) if i == 0 else indent
            lines.append((head + part).rstrip(" "))
    return "".join(line + "\n" for line in lines)


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
