"""The `table` format: Rich renderables for the terminal (status, overdue, actions, show,
history, diff and the report). Never prints.

Every piece of user text goes through `rich.text.Text`, so a KPI name with
`[brackets]` is shown as written, never read as markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from kpitrack.domain.model import Direction, Kind, Kpi, KpiResult, Status, StatusCounts
from kpitrack.domain.records import Record
from kpitrack.evaluation.evaluate import (
    action_words,
    expected_position,
    forecast_words,
    format_number,
    format_value,
    reason_words,
    status_sentence,
    summary_sentence,
    unit_for,
)
from kpitrack.evaluation.rollup import KpiNode, ObjectiveNode, Tree, counts_words
from kpitrack.render.plaintext import (
    ACTIONS_DROP_ORDER,
    BAR_WIDTH,
    MIN_KPI,
    OVERDUE_DROP_ORDER,
    RIGHT,
    STATUS_STYLE,
    WORDS,
    StatusLayout,
    bar_parts,
    compact_value,
    dropped_words,
    fit_columns,
    history_positions,
    sparkline,
    stack_rows,
)
from kpitrack.render.plaintext import (
    gap_cell as gap_cell,  # (re-exported: the cells' helpers live in plaintext)
)

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

if TYPE_CHECKING:
    from kpitrack.git.changes import Change, DiffRow


TITLE_WIDTH = 24  # `tree`: titles wrap at this width (or the widest id) under their id


# ---------------------------------------------------------------- small pieces


def status_text(status: Status) -> Text:
    return Text(str(status), style=STATUS_STYLE[status])


def progress_bar(progress: float | None, width: int = BAR_WIDTH) -> Text:
    """`████▌··· 56%`: a bar clamped to 0–100%, the percentage unclamped."""
    if progress is None:
        return Text("—", style="dim")
    bar, dots, percent = bar_parts(progress, width)
    style = "green" if progress >= 1 else "cyan"
    text = Text(bar, style=style)
    text.append(dots, style="dim")
    text.append(percent)
    return text


def kpi_cell(kpi: Kpi) -> Text:
    """The KPI's name, and its id (what commands take) below it."""
    text = Text(kpi.name or kpi.id, style="bold")
    if kpi.name and kpi.name != kpi.id:
        text.append("\n")
        text.append(kpi.id, style="dim")
    return text


def latest_cell(result: KpiResult) -> Text:
    if result.latest is None:
        return Text("—", style="dim")
    text = Text(compact_value(result.kpi, result.latest.value))
    text.append("\n")
    text.append(result.latest.date.isoformat(), style="dim")
    return text


def gap_words(kpi: Kpi, gap: float) -> str:
    """`12 USD`, `3 points` (for %), `1 scale step`."""
    number = format_number(gap)
    if kpi.kind is Kind.QUALITATIVE:
        return f"{number} scale step" + ("" if number == "1" else "s")
    if kpi.unit == "%":
        return f"{number} points"
    return f"{number} {unit_for(kpi, gap)}" if kpi.unit else number


def summary_text(results: Sequence[KpiResult]) -> Text:
    """The summary line, worded as everywhere (evaluate.summary_sentence)."""
    return Text(summary_sentence(StatusCounts.of(results)))


def _table(
    title: str | None = None,
    *,
    padding: tuple[int, int] | tuple[int, int, int, int] = (0, 1),
) -> Table:
    return Table(
        title=title,
        padding=padding,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        header_style="bold",
        title_style="bold",
        title_justify="left",
    )


# ---------------------------------------------------------------- status, overdue, actions


class StatusTable:
    """The status table, laid out for the width it is given.

    Every column but the KPI's gets the width its content needs (capped); the
    KPI column takes the rest. When that leaves the KPI column narrower than the
    longest id, columns go in STATUS_DROP_ORDER and a footnote names them; the
    status column always stays. Long names end in an ellipsis, ids never do.
    """

    MIN_KPI = MIN_KPI

    def __init__(self, results: Sequence[KpiResult]) -> None:
        self.results = list(results)

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        rows = self.results
        layout = StatusLayout(rows, options.max_width, self.MIN_KPI)
        widths = layout.widths
        bar, spark = layout.bar, layout.spark
        table = _table(padding=(0, 0))
        table.add_column("KPI", width=layout.kpi_width, no_wrap=True, overflow="ellipsis")
        for name, w in widths.items():
            right = name in RIGHT
            words = name in WORDS  # wraps between words; nothing else wraps or is cut
            table.add_column(
                name,
                width=w,
                no_wrap=not words,
                overflow="fold" if words else "ellipsis",
                justify="right" if right else "left",
            )
        for i, r in enumerate(rows):
            status = status_text(r.status)
            if r.overdue is not None:
                status.append("\noverdue", style="red")
            cells: dict[str, RenderableType] = {
                "Owner": Text(layout.owners[i]),
                "Latest": latest_cell(r),
                "Target": Text(layout.targets[i]),
                "Progress": progress_bar(r.progress, bar),
                "Trend": Text(sparkline(history_positions(r, spark), spark), style="cyan"),
                "Expected": Text(layout.expected[i]),
                "Gap": Text(layout.gaps[i]),
                "Status": status,
            }
            table.add_row(kpi_cell(r.kpi), *(cells[name] for name in widths))
        yield table
        yield summary_text(rows)
        if layout.dropped:
            yield dropped_note(layout.dropped)


def dropped_note(columns: Sequence[str]) -> Text:
    """The footnote naming the columns a narrow table left out."""
    return Text(dropped_words(columns), style="dim")


def id_width(results: Sequence[KpiResult]) -> int:
    """The width of the longest KPI id: a KPI column is never narrower."""
    return max((len(r.kpi.id) for r in results), default=8)


def status(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> RenderableType:
    """One row per KPI, followed by the summary line."""
    return StatusTable(results)


@record(frozen=True)
class Column(Record):
    """A column of a `FittedTable`: header (a newline makes a two-line header), one cell
    per row, the narrowest it may get, and `add_column` options."""

    name: str
    cells: Sequence[RenderableType]
    min_width: int
    options: dict[str, Any]

    def __init__(
        self, name: str, cells: Sequence[RenderableType], min_width: int, options: dict[str, Any]
    ) -> None:
        _setattr(self, "name", name)
        _setattr(self, "cells", cells)
        _setattr(self, "min_width", min_width)
        _setattr(self, "options", options)


def _plain(cell: RenderableType) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _longest_line(cell: RenderableType) -> int:
    return max((len(line) for line in _plain(cell).splitlines()), default=0)


def _longest_word(cell: RenderableType) -> int:
    return max((len(word) for word in _plain(cell).split()), default=0)


def keep_column(name: str, cells: Sequence[RenderableType], **options: Any) -> Column:
    """A column that is never cut or wrapped (ids, dates, numbers, statuses): it is as
    wide as its widest line, or it is left out (docs/terminal.md "Width")."""
    widest = max([_longest_line(name), *map(_longest_line, cells)])
    return Column(name, cells, widest, {"no_wrap": True, **options})


def wrap_column(
    name: str, cells: Sequence[RenderableType], *, floor: int = 1, **options: Any
) -> Column:
    """A column of words (names, owners, plans, reasons): it wraps between words, never
    inside one, so it is never narrower than its longest word (or header word), ids and
    dates included."""
    longest = max([floor, *(_longest_word(c) for c in [Text(name), *cells])])
    return Column(name, cells, longest, {"overflow": "fold", **options})


class FittedTable:
    """The one width policy of every table (docs/terminal.md "Width"): ids and dates are
    never cut; text columns wrap between words; when even that does not fit, whole
    columns are left out in `drop_order` (each table's documented priority) and a
    footnote names them. `gap`: the spaces between two columns."""

    def __init__(
        self,
        columns: Sequence[Column],
        drop_order: Sequence[str],
        *,
        gap: int = 2,
        note: bool = True,
        title: str | None = None,
        sections: Sequence[int] = (),
        row_styles: Sequence[str] = (),
    ) -> None:
        self.columns = list(columns)
        self.drop_order = list(drop_order)
        self.gap = gap
        self.note = note
        self.title = title
        self.sections = set(sections)  # a rule is drawn before these rows
        self.row_styles = list(row_styles)

    def layout(self, width: int) -> tuple[list[Column], list[int], list[str]]:
        """The columns kept, their widths, and the names of those left out
        (`plaintext.fit_columns`, on the cells' text)."""
        columns = self.columns
        kept, widths, dropped = fit_columns(
            [c.name for c in columns],
            [[_plain(cell) for cell in c.cells] for c in columns],
            [c.min_width for c in columns],
            [c.options.get("overflow") == "fold" for c in columns],
            self.drop_order,
            self.gap,
            width,
        )
        return [columns[i] for i in kept], widths, dropped

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        kept, widths, dropped = self.layout(options.max_width)
        plain = self.plain_lines(console, options, kept, widths)
        if plain is not None:
            from rich.segment import Segment

            for line in plain:
                yield Segment(line)
                yield Segment.line()
            if dropped and self.note:
                yield dropped_note(dropped)
            return
        table = _table(self.title, padding=(0, self.gap - 1, 0, 0))  # + the 1-space divider
        for column, w in zip(kept, widths, strict=True):
            table.add_column(column.name, width=w, **column.options)
        for i in range(len(kept[0].cells) if kept else 0):
            if i in self.sections:
                table.add_section()
            style = self.row_styles[i] if i < len(self.row_styles) else None
            table.add_row(*(c.cells[i] for c in kept), style=style)
        yield table
        if dropped and self.note:
            yield dropped_note(dropped)

    def plain_lines(
        self, console: Console, options: ConsoleOptions, kept: Sequence[Column], widths: list[int]
    ) -> list[str] | None:
        """The lines Rich's table draws, when no colour or style is drawn (files, pipes,
        mail) and every cell is plain printable text: the table is its cells padded to
        their widths (left or right), the columns `gap` spaces apart, a rule under the
        header (whose cells sit at the bottom) and a blank line before each section; the
        few lines too long for their column are wrapped by Rich's own `Text.wrap`. Rich
        lays out each cell through several renderables (about half a millisecond a
        line); this is a join. None (for Rich to draw it) for anything else: colour, a
        title, text that is not plain printable, a line too long for a column that never
        wraps, a header that Rich would read as markup or emoji.
        `tests/test_plain_tables.py` compares the two on generated tables."""
        if (
            console.color_system is not None
            or options.ascii_only
            or options.legacy_windows
            or self.title is not None
            or not kept
            or min(widths) < 1
            or sum(widths) + self.gap * (len(widths) - 1) > options.max_width
        ):
            return None
        from rich.cells import cell_len

        columns: list[list[list[str]]] = []
        for column, width in zip(kept, widths, strict=True):
            justify = column.options.get("justify", "left")
            if justify not in ("left", "right") or not set(column.options) <= _PLAIN_OPTIONS:
                return None
            if "[" in column.name or ":" in column.name:
                return None
            texts = [column.name]
            for cell in column.cells:
                if not isinstance(cell, Text) or cell.justify or cell.overflow or cell.no_wrap:
                    return None
                if cell.end != "\n":
                    return None
                texts.append(cell.plain)
            cells: list[list[str]] = []
            wraps = not column.options.get("no_wrap", False)
            overflow = column.options.get("overflow", "ellipsis")
            for text in texts:
                lines = []
                for line in text.split("\n"):
                    if not line.isprintable():  # tabs, controls, wide spaces: Rich's way
                        return None
                    fitted = line.rstrip(" ") if justify == "right" else line
                    # Printable ASCII is one cell a character; Rich measures the rest.
                    room = width - (len(fitted) if fitted.isascii() else cell_len(fitted))
                    if room >= 0:
                        lines.append(
                            fitted + " " * room if justify == "left" else " " * room + fitted
                        )
                    elif not wraps:
                        return None
                    else:  # the rare line that wraps: Rich's own wrapping of it
                        for part in Text(line).wrap(
                            console, width, justify=justify, overflow=overflow
                        ):
                            lines.append(part.plain + " " * (width - cell_len(part.plain)))
                cells.append(lines)
            columns.append(cells)
        return stack_rows(zip(*columns, strict=True), widths, self.gap, self.sections)


_PLAIN_OPTIONS = frozenset({"justify", "no_wrap", "overflow"})


def kpi_and_owner_columns(rows: Sequence[KpiResult]) -> list[Column]:
    """The first two columns of the overdue and actions tables."""
    return [
        wrap_column("KPI", [kpi_cell(r.kpi) for r in rows], floor=8),
        wrap_column("Owner", [Text(r.kpi.owner or "—") for r in rows]),
    ]


def overdue(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> RenderableType:
    """The overdue reports (results without `overdue` are skipped)."""
    rows = [r for r in results if r.overdue is not None]
    if not rows:
        return Text("No overdue reports.")
    infos = [r.overdue for r in rows if r.overdue is not None]
    last = [r.latest.date.isoformat() if r.latest else "never reported" for r in rows]
    columns = [
        *kpi_and_owner_columns(rows),
        keep_column("Frequency", [Text(str(r.kpi.frequency)) for r in rows]),
        wrap_column("Last report", [Text(t) for t in last]),
        keep_column(
            "Missed",
            [Text("—" if o.never_reported else str(o.missed_periods)) for o in infos],
            justify="right",
        ),
        keep_column(
            "Due since", [Text(o.due_since.isoformat() if o.due_since else "—") for o in infos]
        ),
        keep_column(
            "Days",
            [Text(str(o.days) if o.days is not None else "—", style="red") for o in infos],
            justify="right",
        ),
    ]
    return FittedTable(columns, OVERDUE_DROP_ORDER)


def actions(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> RenderableType:
    """KPIs that need action, in the order given, with their reasons and action plan."""
    rows = [r for r in results if r.needs_action]
    if not rows:
        return Text("Nothing needs action.")
    reasons = []
    for r in rows:
        text = Text(reason_words(r))
        if r.overdue is not None and r.overdue.days is not None:
            text.append(f" ({r.overdue.days} d overdue)", style="red")
        reasons.append(text)
    columns = [
        *kpi_and_owner_columns(rows),
        keep_column("Status", [status_text(r.status) for r in rows]),
        wrap_column("Reasons", reasons),
        wrap_column(
            "Action plan",
            [
                Text(action_words(r.kpi) or "") if r.kpi.action else Text("none", style="red")
                for r in rows
            ],
        ),
    ]
    return FittedTable(columns, ACTIONS_DROP_ORDER)


# ---------------------------------------------------------------- show


def _definition(result: KpiResult) -> Table:
    kpi = result.kpi
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    direction = "lower is better" if kpi.direction is Direction.DECREASE else "higher is better"
    archived = "yes: hidden from lists unless named with --kpi or given --all"
    rows: list[tuple[str, str | None]] = [
        ("archived", archived if kpi.archived else None),
        ("measure", kpi.measure),
        ("kind", f"{kpi.kind}" + (f" ({kpi.indicator})" if kpi.indicator else "")),
        ("scale", " < ".join(kpi.scale) if kpi.scale else None),
        ("target", f"{format_value(kpi, kpi.target, unit=True)} ({direction})"),
        ("baseline", format_value(kpi, result.baseline, unit=True)),
        ("start", result.start.isoformat() if result.start else None),
        ("due", kpi.due.isoformat() if kpi.due else "none (standing target)"),
        ("frequency", str(kpi.frequency)),
        ("owner", kpi.owner),
        ("objective", kpi.objective),
        ("review", _review_words(kpi)),
        ("action", action_words(kpi)),
        ("tags", ", ".join(kpi.tags) if kpi.tags else None),
        ("description", kpi.description),
    ]
    for key, value in rows:
        if value is not None:
            grid.add_row(Text(key), Text(value))
    return grid


def _review_words(kpi: Kpi) -> str | None:
    if kpi.review is None:
        return None
    last = kpi.last_reviewed.isoformat() if kpi.last_reviewed else "never"
    return f"{kpi.review} (last reviewed {last})"


def _milestones(kpi: Kpi) -> Table | None:
    if not kpi.milestones:
        return None
    table = _table("Milestones")
    table.add_column("Date", no_wrap=True)
    table.add_column("Target", overflow="fold")
    for m in kpi.milestones:
        table.add_row(Text(m.date.isoformat()), Text(format_value(kpi, m.target, unit=True)))
    return table


def _history(result: KpiResult, limit: int = 12) -> Table | None:
    kpi = result.kpi
    if not result.history:
        return None
    shown = result.history[-limit:]
    title = (
        "History"
        if len(shown) == len(result.history)
        else f"History (last {limit} of {len(result.history)}; --history all shows every one)"
    )
    table = _table(title)
    table.add_column("Date", no_wrap=True)
    table.add_column("Value", justify="right", overflow="fold")
    table.add_column("Expected", justify="right", overflow="fold")
    table.add_column("Note", ratio=1, overflow="fold")
    table.add_column("By", overflow="fold")
    base = kpi.position(result.baseline) if result.baseline is not None else None
    for m in shown:
        expected = expected_position(kpi, m.date, start=result.start, baseline=base)
        table.add_row(
            Text(m.date.isoformat()),
            Text(format_value(kpi, m.value, unit=True)),
            Text(format_value(kpi, expected, unit=True), style="dim"),
            Text(m.note or ""),
            Text(m.by or ""),
        )
    return table


def chart(result: KpiResult, *, width: int = 56, height: int = 10) -> Text:
    """Values (●) against the expected path (·) over time, drawn with characters."""
    kpi = result.kpi
    if not result.history or result.start is None or result.baseline is None:
        return Text("(no measurements to chart)", style="dim")
    base = kpi.position(result.baseline)
    forecast = result.forecast
    first = min(result.start, result.history[0].date)
    last = max(result.history[-1].date, kpi.due or result.history[-1].date)
    if forecast is not None:
        last = max(last, forecast.at)
    span = max(1, (last - first).days)
    days = [first + dt.timedelta(days=round(i * span / (width - 1))) for i in range(width)]
    path = [expected_position(kpi, d, start=result.start, baseline=base) for d in days]
    points = [((m.date - first).days, kpi.position(m.value)) for m in result.history]
    marks = [
        (m.date, kpi.position(m.target)) for m in kpi.milestones if first <= m.date <= last
    ]  # a milestone between two samples of the path still gets a row
    ys = path + [p for _, p in points] + [p for _, p in marks]
    if forecast is not None:
        ys += [forecast.value, forecast.low, forecast.high]
    low, high = min(ys), max(ys)
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:  # the whole scale, every label
        low, high = min(low, 0.0), max(high, float(len(kpi.scale) - 1))
    if high - low < 1e-12:
        low, high = low - 1, high + 1
    grid = [[" "] * width for _ in range(height)]

    def row_of(y: float) -> int:
        row = height - 1 - round((y - low) / (high - low) * (height - 1))
        return min(height - 1, max(0, row))

    def column_of(offset: int) -> int:
        return min(width - 1, max(0, round(offset / span * (width - 1))))

    for x, y in enumerate(path):
        grid[row_of(y)][x] = "·"

    def column(day: dt.date) -> int:
        return column_of((day - first).days)

    if forecast is not None and result.latest is not None:
        # The projection: from the latest value to the central value on `at`, and the
        # band (low to high) on `at`.
        x0, x1 = column(result.latest.date), column(forecast.at)
        y0 = kpi.position(result.latest.value)
        for x in range(x0 + 1, x1 + 1):
            y = y0 + (forecast.value - y0) * (x - x0) / max(1, x1 - x0)
            grid[row_of(y)][x] = "-"
        top, bottom = sorted((row_of(forecast.high), row_of(forecast.low)))
        for band_row in range(top, bottom + 1):
            grid[band_row][x1] = "┆"
        grid[row_of(forecast.value)][x1] = "-"
    for day, y in marks:
        grid[row_of(y)][column(day)] = "◆"
    for offset, y in points:
        grid[row_of(y)][column_of(offset)] = "●"
    row_labels = {0: format_value(kpi, high), height - 1: format_value(kpi, low)}
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:  # every scale label on its row
        row_labels = {}
        for index, label in enumerate(kpi.scale):
            if low <= index <= high:
                row_labels.setdefault(row_of(float(index)), label)
    margin = max((len(label) for label in row_labels.values()), default=1)
    text = Text()
    for i, row in enumerate(grid):
        label = row_labels.get(i, "")
        text.append(label.rjust(margin) + " ┤", style="dim")
        for ch in row:
            style = "bold cyan" if ch == "●" else "dim" if ch == "·" else ""
            style = "cyan" if ch in "-┆" else style
            text.append(ch, style="bold magenta" if ch == "◆" else style)
        text.append("\n")
    text.append(" " * margin + " └" + "─" * width + "\n", style="dim")
    shown_events = [e for e in result.events if first <= e.date <= last]
    if shown_events:
        ticks = [" "] * width
        for e in shown_events:
            ticks[column(e.date)] = "▲"
        text.append(" " * (margin + 2) + "".join(ticks).rstrip() + "\n", style="bold yellow")
    left, right = first.isoformat(), last.isoformat()
    text.append(" " * (margin + 2) + left + right.rjust(width - len(left)), style="dim")
    text.append("\n")
    items = ["● measured", "· expected path"]
    items += ["◆ milestone"] if kpi.milestones else []
    items += ["- projection ┆ band"] if forecast is not None else []
    items += ["▲ event"] if shown_events else []
    lines = [items[0]]
    for item in items[1:]:  # the legend wraps between items, within the plot's width
        if len(lines[-1]) + 3 + len(item) <= max(width, len(item)):
            lines[-1] += "   " + item
        else:
            lines.append(item)
    text.append("\n".join(" " * (margin + 2) + line for line in lines), style="dim")
    return text


CHART_WIDTH = 56  # the plot's columns on a wide terminal
CHART_MIN_WIDTH = 24  # two dates under it, with room between them


class Chart:
    """The chart, as wide as the terminal allows (at most CHART_WIDTH plot columns), so it
    never wraps: at 60 columns its lines are at most 60 characters."""

    def __init__(self, result: KpiResult) -> None:
        self.result = result

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        full = chart(self.result, width=CHART_WIDTH)
        first = full.plain.splitlines()[0]
        margin = first.index("┤") + 1 if "┤" in first else 0  # the value labels and axis
        room = options.max_width - margin
        if room >= CHART_WIDTH:
            yield full
        else:
            yield chart(self.result, width=max(CHART_MIN_WIDTH, room))


def show(result: KpiResult, *, all_history: bool = False) -> RenderableType:
    """One KPI in depth: definition, milestones, history, chart, and why its status."""
    kpi = result.kpi
    title = Text(kpi.name, style="bold")
    title.append(f"  ({kpi.id})", style="dim")
    why = Text("Status: ", style="bold")
    why.append_text(status_text(result.status))
    why.append("\n")
    why.append(status_sentence(result))
    if result.progress is not None:
        why.append(f"\nprogress {format_number(result.progress * 100)}%")
        if result.gap:
            why.append(f", {gap_words(kpi, result.gap)} from the target")
    if result.overdue is not None:
        o = result.overdue
        why.append("\noverdue: ", style="red")
        if o.never_reported:
            why.append("never reported")
        else:
            why.append(
                f"{o.missed_periods} {kpi.frequency} report(s) missed, "
                f"due since {o.due_since}, {o.days} days"
            )
    forecast = forecast_words(result)
    if forecast is not None:
        why.append("\nforecast: ", style="bold")
        why.append(forecast)
    if result.reasons:
        why.append("\nneeds action: ", style="bold")
        why.append(reason_words(result))
    parts: list[RenderableType] = [title, _definition(result)]
    milestones = _milestones(kpi)
    if milestones is not None:
        parts.append(milestones)
    history_table = _history(result, limit=len(result.history) if all_history else 12)
    if history_table is not None:
        parts.append(history_table)
    events = _events(result)
    if events is not None:
        parts.append(events)
    parts += [Chart(result), Text(""), why]
    return Group(*parts)


def _events(result: KpiResult) -> Table | None:
    if not result.events:
        return None
    table = _table("Events")
    table.add_column("Date", no_wrap=True)
    table.add_column("Event", overflow="fold")
    table.add_column("Note", ratio=1, overflow="fold")
    for e in result.events:
        table.add_row(Text(e.date.isoformat()), Text(e.title), Text(e.note or ""))
    return table


# ---------------------------------------------------------------- git history, the report


HISTORY_DROP_ORDER = ("author", "commit", "date")
DIFF_DROP_ORDER = ("kind", "field")


def history(changes: Sequence[Change]) -> RenderableType:
    """`kpitrack history`: one row per definition change."""
    from kpitrack.render.history import cell

    columns = [
        keep_column("commit", [Text(c.commit) for c in changes]),
        keep_column("date", [Text(c.date) for c in changes]),
        wrap_column("author", [Text(c.author) for c in changes]),
        wrap_column("KPI", [Text(c.kpi) for c in changes]),
        wrap_column("field", [Text(c.field) for c in changes]),
        wrap_column(
            "old → new", [Text(f"{cell(c.old) or '—'} → {cell(c.new) or '—'}") for c in changes]
        ),
        wrap_column(
            "moved goalpost",
            [Text("MOVED GOALPOST" if c.moved_goalpost else "", style="bold red") for c in changes],
        ),
    ]
    return FittedTable(columns, HISTORY_DROP_ORDER, title="Definition changes")


def diff(rows: Sequence[DiffRow]) -> RenderableType:
    """`kpitrack diff`: one row per added, removed or redefined KPI or objective."""
    from kpitrack.render.history import arrow

    columns = [
        keep_column("change", [Text(r.change) for r in rows]),
        keep_column("kind", [Text(r.kind) for r in rows]),
        wrap_column("id", [Text(r.id) for r in rows]),
        wrap_column("field", [Text(r.field or "") for r in rows]),
        wrap_column("old → new", [Text(arrow(r)) for r in rows]),
    ]
    return FittedTable(columns, DIFF_DROP_ORDER, title="Definition differences")


# ---------------------------------------------------------------- the objective tree


def tree(view: Tree, *, as_of: dt.date | None = None) -> RenderableType:
    """`kpitrack tree`: objectives (▾) with their roll-up, their KPIs (•) and each KPI's
    drivers (↳) indented under them. Ids are never cut: titles fold, and narrow
    terminals lose the Owner, then the KPIs, then the Progress column (named below)."""
    rows: list[tuple[int, str, str, Status, float | None, str | None, str]] = []

    def add_kpi(node: KpiNode, depth: int, mark: str) -> None:
        r = node.result
        rows.append((depth, mark, r.kpi.id, r.status, r.progress, r.kpi.owner, r.kpi.name))
        for d in node.drivers:
            add_kpi(d, depth + 1, "↳")

    objective_rows: set[int] = set()
    counts_cells: dict[int, str] = {}

    def add_objective(node: ObjectiveNode) -> None:
        o = node.objective
        objective_rows.add(len(rows))
        counts_cells[len(rows)] = "\n".join(counts_words(node.counts)) or "none"
        rows.append((node.depth, "▾", o.id, node.status, node.progress, o.owner, o.title))
        for k in node.kpis:
            add_kpi(k, node.depth + 1, "•")
        for child in node.children:
            add_objective(child)

    for root in view.roots:
        add_objective(root)
    if view.unassigned:
        for k in view.unassigned:
            add_kpi(k, 0, "•")
    if not rows:
        return Text("No objectives or KPIs.")
    import textwrap

    names: list[RenderableType] = []
    widest = max(8, *(len("  " * row[0]) + 2 + len(row[2]) for row in rows))
    # Titles wrap under their id, indented, within the widest id (at least TITLE_WIDTH).
    room = max(widest, TITLE_WIDTH)
    for i, (depth, mark, node_id, *_rest, title) in enumerate(rows):
        head = f"{'  ' * depth}{mark} "
        cell = Text(head, style="dim")
        cell.append(node_id, style="bold" if i in objective_rows else "")
        if title and title != node_id:
            for line in textwrap.wrap(title, max(room - len(head), 12)):
                cell.append("\n" + " " * len(head) + line, style="dim")
        names.append(cell)
    columns = [
        Column("Objective / KPI", names, widest, {"overflow": "fold"}),
        Column("Status", [status_text(row[3]) for row in rows], 9, {"no_wrap": True}),
        Column(
            "Progress",
            [progress_bar(row[4], 6) for row in rows],
            11,
            {"no_wrap": True},
        ),
        Column("Owner", [Text(row[5] or "—") for row in rows], 8, {"overflow": "fold"}),
        Column(
            "KPIs",
            [Text(counts_cells.get(i, "")) for i in range(len(rows))],
            11,
            {"no_wrap": True},
        ),
    ]
    return FittedTable(columns, ("Owner", "KPIs", "Progress"))
