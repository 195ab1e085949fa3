"""The `table` format: Rich renderables for the terminal (status, overdue, actions, show,
history, diff and the report). Never prints.

Every piece of user text goes through `rich.text.Text`, so a KPI name with
`[brackets]` is shown as written, never read as markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.table import Table
from rich.text import Text

from kpitrack.domain.model import Direction, Kind, Kpi, KpiResult, Status, StatusCounts, Value
from kpitrack.evaluation.evaluate import (
    action_words,
    expected_position,
    format_number,
    format_percent,
    format_value,
    status_sentence,
    summary_sentence,
)

if TYPE_CHECKING:
    from kpitrack.git.changes import Change, DiffRow

STATUS_STYLE: dict[Status, str] = {
    Status.ACHIEVED: "bold green",
    Status.ON_TRACK: "green",
    Status.AT_RISK: "yellow",
    Status.OFF_TRACK: "bold red",
    Status.NO_DATA: "dim",
}

SPARK_CHARS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 8
SPARK_WIDTH = 8


# ---------------------------------------------------------------- small pieces


def status_text(status: Status) -> Text:
    return Text(str(status), style=STATUS_STYLE[status])


def progress_bar(progress: float | None, width: int = BAR_WIDTH) -> Text:
    """`████▌··· 56%`: a bar clamped to 0–100%, the percentage unclamped."""
    if progress is None:
        return Text("—", style="dim")
    eighths = round(max(0.0, min(1.0, progress)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    style = "green" if progress >= 1 else "cyan"
    text = Text(bar, style=style)
    text.append("·" * (width - len(bar)), style="dim")
    text.append(f" {format_percent(progress)}")
    return text


def sparkline(values: Sequence[float], width: int = SPARK_WIDTH) -> str:
    """The last `width` values as block characters, scaled between their min and max."""
    recent = list(values)[-width:]
    if not recent:
        return ""
    low, high = min(recent), max(recent)
    if high - low < 1e-12:
        return SPARK_CHARS[3] * len(recent)
    top = len(SPARK_CHARS) - 1
    return "".join(SPARK_CHARS[round((v - low) / (high - low) * top)] for v in recent)


def history_positions(result: KpiResult) -> list[float]:
    return [result.kpi.position(m.value) for m in result.history]


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


def gap_cell(result: KpiResult) -> str:
    """The gap for a table cell: a number, or scale steps for qualitative KPIs."""
    gap = result.gap
    if not gap:
        return "—"
    if result.kpi.kind is Kind.QUALITATIVE:
        number = format_number(gap)
        return f"{number} step" + ("" if number == "1" else "s")
    return compact_value(result.kpi, gap)


def gap_words(kpi: Kpi, gap: float) -> str:
    """`12 USD`, `3 points` (for %), `1 scale step`."""
    number = format_number(gap)
    if kpi.kind is Kind.QUALITATIVE:
        return f"{number} scale step" + ("" if number == "1" else "s")
    if kpi.unit == "%":
        return f"{number} points"
    return f"{number} {kpi.unit}" if kpi.unit else number


def summary_text(results: Sequence[KpiResult]) -> Text:
    """The summary line, worded as everywhere (evaluate.summary_sentence)."""
    return Text(summary_sentence(StatusCounts.of(results)))


def _table(title: str | None = None, *, padding: tuple[int, int] = (0, 1)) -> Table:
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
    KPI column takes the rest. When that leaves the KPI column too narrow, the
    gap column goes, then the sparkline, then owners are cut shorter: 80 columns
    always keep the status column whole. Long names end in an ellipsis.
    """

    MIN_KPI = 16

    def __init__(self, results: Sequence[KpiResult]) -> None:
        self.results = list(results)

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        rows = self.results
        width = options.max_width
        narrow = width < 110
        bar, spark = (6, 6) if narrow else (BAR_WIDTH, SPARK_WIDTH)

        def fit(texts: list[str], header: str, cap: int) -> int:
            return min(cap, max([len(header), *(len(t) for t in texts)]))

        latest = [compact_value(r.kpi, r.latest.value) if r.latest else "—" for r in rows]
        targets = [format_value(r.kpi, r.kpi.target, unit=True) for r in rows]
        expected = [compact_value(r.kpi, r.expected) for r in rows]
        gaps = [gap_cell(r) for r in rows]
        owners = [r.kpi.owner or "—" for r in rows]
        has_dates = any(r.latest for r in rows)
        widths = {
            "Owner": fit(owners, "Owner", 14),
            "Latest": max(fit(latest, "Latest", 12), 10 if has_dates else 0),
            "Target": fit(targets, "Target", 12),
            "Progress": bar + 5,
            "Trend": spark,
            "Expected": fit(expected, "Expected", 10),
            "Gap": fit(gaps, "Gap", 9),
            "Status": 9,
        }

        def kpi_room() -> int:
            # The box draws one space between columns; cells have no padding.
            return width - sum(widths.values()) - len(widths)

        # Ids are what users copy into `show` and `record`: never cut. Other columns
        # go first (named in a footnote), and the status column always stays.
        id_width = max((len(r.kpi.id) for r in rows), default=0)
        min_kpi = max(self.MIN_KPI, id_width)
        dropped: list[str] = []
        for drop in ("Gap", "Trend", "Owner", "Expected", "Progress", "Target", "Latest"):
            if kpi_room() >= min_kpi:
                break
            if drop == "Owner" and widths["Owner"] > 8:
                widths["Owner"] = 8  # shortened before it goes
                if kpi_room() >= min_kpi:
                    break
            del widths[drop]
            dropped.append(drop)
        kpi_width = max(min_kpi, min(kpi_room(), max(32, id_width)))

        table = _table(padding=(0, 0))
        table.add_column("KPI", width=kpi_width, no_wrap=True, overflow="ellipsis")
        for name, w in widths.items():
            right = name in ("Expected", "Gap")
            table.add_column(
                name,
                width=w,
                no_wrap=True,
                overflow="ellipsis",
                justify="right" if right else "left",
            )
        for i, r in enumerate(rows):
            status = status_text(r.status)
            if r.overdue is not None:
                status.append("\noverdue", style="red")
            cells: dict[str, RenderableType] = {
                "Owner": Text(owners[i]),
                "Latest": latest_cell(r),
                "Target": Text(targets[i]),
                "Progress": progress_bar(r.progress, bar),
                "Trend": Text(sparkline(history_positions(r), spark), style="cyan"),
                "Expected": Text(expected[i]),
                "Gap": Text(gaps[i]),
                "Status": status,
            }
            table.add_row(kpi_cell(r.kpi), *(cells[name] for name in widths))
        yield table
        yield summary_text(rows)
        if dropped:
            yield dropped_note(dropped)


def dropped_note(columns: Sequence[str]) -> Text:
    """The footnote naming the columns a narrow table left out."""
    return Text(
        f"Not shown for width: {', '.join(columns)} (a wider terminal or --format json "
        "shows them).",
        style="dim",
    )


def id_width(results: Sequence[KpiResult]) -> int:
    """The width of the longest KPI id: a KPI column is never narrower."""
    return max((len(r.kpi.id) for r in results), default=8)


def status(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> RenderableType:
    """One row per KPI, followed by the summary line."""
    return StatusTable(results)


def compact_value(kpi: Kpi, value: Value | None) -> str:
    """A value rounded for a table cell: no decimals from 1,000, one from 100."""
    if isinstance(value, float | int) and kpi.kind is not Kind.QUALITATIVE:
        digits = 0 if abs(value) >= 1000 else 1 if abs(value) >= 100 else 2
        value = round(float(value), digits)
    return format_value(kpi, value)


@dataclass(frozen=True)
class Column:
    """A column of a table that drops columns for width: header, add_column options,
    the narrowest it may get, and one cell per row."""

    name: str
    cells: Sequence[RenderableType]
    min_width: int
    options: dict[str, Any]


class FittedTable:
    """A table that leaves out columns (in `drop_order`) rather than crush them when the
    width is short, and names them in a footnote; the KPI column keeps whole ids."""

    def __init__(self, columns: Sequence[Column], drop_order: Sequence[str]) -> None:
        self.columns = list(columns)
        self.drop_order = list(drop_order)

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        kept = list(self.columns)
        gaps = 3  # one space of padding each side, and a separator, between columns

        def need() -> int:
            return sum(c.min_width for c in kept) + gaps * (len(kept) - 1)

        dropped: list[str] = []
        for name in self.drop_order:
            if need() <= options.max_width:
                break
            kept = [c for c in kept if c.name != name]
            dropped.append(name)
        # Natural widths, then the foldable columns give way (widest first) to fit.
        widths = [max([len(c.name), c.min_width, *map(_longest_line, c.cells)]) for c in kept]
        excess = sum(widths) + gaps * (len(kept) - 1) - options.max_width
        while excess > 0:
            room = [
                (widths[i] - c.min_width, i)
                for i, c in enumerate(kept)
                if c.options.get("overflow") == "fold" and widths[i] > c.min_width
            ]
            if not room:
                break
            _slack, i = max(room)
            widths[i] -= 1
            excess -= 1
        table = _table()
        for column, w in zip(kept, widths, strict=True):
            table.add_column(column.name, width=w, **column.options)
        for i in range(len(kept[0].cells) if kept else 0):
            table.add_row(*(c.cells[i] for c in kept))
        yield table
        if dropped:
            yield dropped_note(dropped)


def _longest_line(cell: RenderableType) -> int:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return max((len(line) for line in text.splitlines()), default=0)


def kpi_and_owner_columns(rows: Sequence[KpiResult]) -> list[Column]:
    """The first two columns of the overdue and actions tables."""
    return [
        Column(
            "KPI", [kpi_cell(r.kpi) for r in rows], max(8, id_width(rows)), {"overflow": "fold"}
        ),
        Column("Owner", [Text(r.kpi.owner or "—") for r in rows], 8, {"overflow": "fold"}),
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
        Column(
            "Frequency",
            [Text(str(r.kpi.frequency)) for r in rows],
            max(len("Frequency"), *(len(str(r.kpi.frequency)) for r in rows)),
            {"overflow": "fold"},
        ),
        Column(
            "Last report",
            [Text(t) for t in last],
            max(11, *(len(t) for t in last)),
            {"no_wrap": True},
        ),
        Column(
            "Missed",
            [Text("—" if o.never_reported else str(o.missed_periods)) for o in infos],
            6,
            {"justify": "right", "no_wrap": True},
        ),
        Column(
            "Due since",
            [Text(o.due_since.isoformat() if o.due_since else "—") for o in infos],
            10,
            {"no_wrap": True},
        ),
        Column(
            "Days",
            [Text(str(o.days) if o.days is not None else "—", style="red") for o in infos],
            4,
            {"justify": "right", "no_wrap": True},
        ),
    ]
    return FittedTable(columns, ("Frequency", "Owner", "Missed", "Last report", "Due since"))


def actions(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> RenderableType:
    """KPIs that need action, in the order given, with their reasons and action plan."""
    rows = [r for r in results if r.needs_action]
    if not rows:
        return Text("Nothing needs action.")
    reasons = []
    for r in rows:
        text = Text(", ".join(str(x) for x in r.reasons))
        if r.overdue is not None and r.overdue.days is not None:
            text.append(f" ({r.overdue.days} d overdue)", style="red")
        reasons.append(text)
    columns = [
        *kpi_and_owner_columns(rows),
        Column("Status", [status_text(r.status) for r in rows], 9, {"no_wrap": True}),
        Column("Reasons", reasons, 14, {"overflow": "fold"}),
        Column(
            "Action plan",
            [
                Text(action_words(r.kpi) or "") if r.kpi.action else Text("none", style="red")
                for r in rows
            ],
            10,
            {"overflow": "fold"},
        ),
    ]
    return FittedTable(columns, ("Owner", "Action plan", "Reasons"))


# ---------------------------------------------------------------- show


def _definition(result: KpiResult) -> Table:
    kpi = result.kpi
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    direction = "lower is better" if kpi.direction is Direction.DECREASE else "higher is better"
    rows: list[tuple[str, str | None]] = [
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
        else f"History (last {limit} of {len(result.history)}; --all shows every one)"
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
    first = min(result.start, result.history[0].date)
    last = max(result.history[-1].date, kpi.due or result.history[-1].date)
    span = max(1, (last - first).days)
    days = [first + dt.timedelta(days=round(i * span / (width - 1))) for i in range(width)]
    path = [expected_position(kpi, d, start=result.start, baseline=base) for d in days]
    points = [((m.date - first).days, kpi.position(m.value)) for m in result.history]
    marks = [
        (m.date, kpi.position(m.target)) for m in kpi.milestones if first <= m.date <= last
    ]  # a milestone between two samples of the path still gets a row
    ys = path + [p for _, p in points] + [p for _, p in marks]
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
    for day, y in marks:
        grid[row_of(y)][column_of((day - first).days)] = "◆"
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
            text.append(ch, style="bold magenta" if ch == "◆" else style)
        text.append("\n")
    text.append(" " * margin + " └" + "─" * width + "\n", style="dim")
    left, right = first.isoformat(), last.isoformat()
    text.append(" " * (margin + 2) + left + right.rjust(width - len(left)), style="dim")
    text.append("\n")
    legend = "● measured   · expected path" + ("   ◆ milestone" if kpi.milestones else "")
    text.append(" " * (margin + 2) + legend, style="dim")
    return text


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
    if result.reasons:
        why.append("\nneeds action: ", style="bold")
        why.append(", ".join(str(r) for r in result.reasons))
    parts: list[RenderableType] = [title, _definition(result)]
    milestones = _milestones(kpi)
    if milestones is not None:
        parts.append(milestones)
    history_table = _history(result, limit=len(result.history) if all_history else 12)
    if history_table is not None:
        parts.append(history_table)
    parts += [chart(result), Text(""), why]
    return Group(*parts)


# ---------------------------------------------------------------- git history, the report


def history(changes: Sequence[Change]) -> RenderableType:
    """`kpitrack history`: one row per definition change."""
    from kpitrack.render.history import cell

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
            f"{cell(c.old) or '—'} → {cell(c.new) or '—'}",
            "MOVED GOALPOST" if c.moved_goalpost else "",
        )
    return table


def diff(rows: Sequence[DiffRow]) -> RenderableType:
    """`kpitrack diff`: one row per added, removed or redefined KPI or objective."""
    from kpitrack.render.history import arrow

    view = Table(title="Definition differences")
    for name in ("change", "kind", "id", "field", "old → new"):
        view.add_column(name)
    for r in rows:
        view.add_row(r.change, r.kind, r.id, r.field or "", arrow(r))
    return view
