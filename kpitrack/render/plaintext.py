"""The `text` format's views made when they are printed: Rich's renderable on a terminal,
and off one (pipes, cron mail, `-o` files) the same plain text without importing Rich.

Rich (about a quarter of a small `status`'s start-up) is needed only to draw colour and
for the layouts this module does not know. `Deferred` is a Rich renderable (Rich builds
the real one when it draws it) that can also answer `plain_text(width)`: the exact text
`commands.output.renderable_to_text` would make of the renderable, or None when it
cannot be sure (then Rich draws it as before). The status table is laid out here for
both: `status_layout` picks its columns and widths, `table.StatusTable` draws them with
Rich and `status_plain` as plain lines. `tests/test_printer.py` compares the two on
generated results and widths.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from kpitrack.domain.model import Kind, Kpi, KpiResult, Status, StatusCounts, Value
from kpitrack.domain.series import last_values
from kpitrack.evaluation.evaluate import (
    action_words,
    format_number,
    format_percent,
    format_value,
    reason_words,
    summary_sentence,
)

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType


class Deferred:
    """A view built when it is drawn: `build` makes the Rich renderable (importing Rich),
    `plain` (given a width) the plain text without it, or None to leave it to Rich."""

    def __init__(
        self,
        build: Callable[[], RenderableType],
        plain: Callable[[int], str | None] | None = None,
    ) -> None:
        self.build = build
        self.plain = plain

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        yield self.build()

    def plain_text(self, width: int) -> str | None:
        """The text Rich draws without colour at `width`, lines ending in spaces allowed;
        None when only Rich knows it."""
        return self.plain(width) if self.plain is not None else None


# ---------------------------------------------------------------- cell contents

SPARK_CHARS = "▁▂▃▄▅▆▇█"
BAR_CHARS = " ▏▎▍▌▋▊▉"
BAR_WIDTH = 8
SPARK_WIDTH = 8

# Each status's style, where the status is drawn in colour (`table`, `report_rich`).
STATUS_STYLE: dict[Status, str] = {
    Status.ACHIEVED: "bold green",
    Status.ON_TRACK: "green",
    Status.AT_RISK: "yellow",
    Status.OFF_TRACK: "bold red",
    Status.NO_DATA: "dim",
}

STATUS_DROP_ORDER = ("Gap", "Trend", "Expected", "Progress", "Owner", "Target", "Latest")
"""The status table's columns, first left out first when the width is short."""


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


def history_positions(result: KpiResult, last: int | None = None) -> list[float]:
    """Each value's position (a label's place on a qualitative scale), the `last` ones
    only when given: read from the columns, no Measurement built for each."""
    position = result.kpi.position
    return [position(v) for v in last_values(result.history, last)]


def bar_parts(progress: float, width: int = BAR_WIDTH) -> tuple[str, str, str]:
    """A progress bar's blocks (clamped to 0–100%), its dots, and the percentage
    (unclamped): `████▌`, `···`, ` 56%`."""
    eighths = round(max(0.0, min(1.0, progress)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (BAR_CHARS[part] if part else "")
    return bar, "·" * (width - len(bar)), f" {format_percent(progress)}"


def compact_value(kpi: Kpi, value: Value | None) -> str:
    """A value rounded for a table cell: no decimals from 1,000, one from 100."""
    if isinstance(value, float | int) and kpi.kind is not Kind.QUALITATIVE:
        digits = 0 if abs(value) >= 1000 else 1 if abs(value) >= 100 else 2
        value = round(float(value), digits)
    return format_value(kpi, value)


def gap_cell(result: KpiResult) -> str:
    """The gap for a table cell: a number, or scale steps for qualitative KPIs."""
    gap = result.gap
    if not gap:
        return "—"
    if result.kpi.kind is Kind.QUALITATIVE:
        number = format_number(gap)
        return f"{number} step" + ("" if number == "1" else "s")
    return compact_value(result.kpi, gap)


def longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


# ---------------------------------------------------------------- the status table


class StatusLayout:
    """The status table at one width: the KPI column's width, the other columns kept
    (name → width, in order), those left out, the bar and sparkline widths, and the
    cells' text that the widths are measured on."""

    def __init__(self, rows: Sequence[KpiResult], width: int, min_kpi: int) -> None:
        self.rows = rows
        narrow = width < 110
        self.bar, self.spark = (6, 6) if narrow else (BAR_WIDTH, SPARK_WIDTH)

        def fit(texts: list[str], header: str, cap: int) -> int:
            return min(cap, max([len(header), *(len(t) for t in texts)]))

        self.latest = [compact_value(r.kpi, r.latest.value) if r.latest else "—" for r in rows]
        self.targets = [format_value(r.kpi, r.kpi.target, unit=True) for r in rows]
        self.expected = [compact_value(r.kpi, r.expected) for r in rows]
        self.gaps = [gap_cell(r) for r in rows]
        self.owners = [r.kpi.owner or "—" for r in rows]
        has_dates = any(r.latest for r in rows)
        owners = self.owners
        widths = {
            "Owner": max(fit(owners, "Owner", 14), max(map(longest_word, owners), default=0)),
            "Latest": max(fit(self.latest, "Latest", 12), 10 if has_dates else 0),
            "Target": fit(self.targets, "Target", 12),
            "Progress": self.bar + 5,
            "Trend": self.spark,
            "Expected": fit(self.expected, "Expected", 10),
            "Gap": fit(self.gaps, "Gap", 9),
            "Status": 9,
        }

        def kpi_room() -> int:
            # The box draws one space between columns; cells have no padding.
            return width - sum(widths.values()) - len(widths)

        # Ids are what users copy into `show` and `record`: never cut. Other columns
        # go first (named in a footnote), and the status column always stays.
        id_width = max((len(r.kpi.id) for r in rows), default=0)
        min_kpi = max(min_kpi, id_width)
        self.dropped: list[str] = []
        for drop in STATUS_DROP_ORDER:
            if kpi_room() >= min_kpi:
                break
            del widths[drop]
            self.dropped.append(drop)
        self.kpi_width = max(min_kpi, min(kpi_room(), max(32, id_width)))
        self.widths = widths

    def cells(self, i: int) -> dict[str, str]:
        """Row `i`'s cells as plain text (the KPI's first), keyed by column name."""
        r = self.rows[i]
        kpi = r.kpi
        name = kpi.name or kpi.id
        latest = "—" if r.latest is None else f"{self.latest[i]}\n{r.latest.date.isoformat()}"
        progress = "—" if r.progress is None else "".join(bar_parts(r.progress, self.bar))
        status = str(r.status) + ("\noverdue" if r.overdue is not None else "")
        return {
            "KPI": name + (f"\n{kpi.id}" if kpi.name and kpi.name != kpi.id else ""),
            "Owner": self.owners[i],
            "Latest": latest,
            "Target": self.targets[i],
            "Progress": progress,
            "Trend": sparkline(history_positions(r, self.spark), self.spark),
            "Expected": self.expected[i],
            "Gap": self.gaps[i],
            "Status": status,
        }


def dropped_words(columns: Sequence[str]) -> str:
    """The footnote naming the columns a narrow table left out."""
    return (
        f"Not shown for width: {', '.join(columns)} (a wider terminal or --format json shows them)."
    )


MIN_KPI = 16  # the status table's KPI column is never narrower (nor than the longest id)
RIGHT = frozenset({"Expected", "Gap"})
WORDS = frozenset({"Owner"})  # wraps between words; nothing else wraps or is cut

# Characters this module lays out as Rich does: printable ASCII, and the table's own
# one-cell glyphs (dashes, ranges, ellipsis, bars, sparklines, the header rule).
_GLYPHS = frozenset("—–…·─" + SPARK_CHARS + BAR_CHARS)
_WORD = re.compile(r"\s*\S+\s*")


def _simple(text: str) -> bool:
    """Whether every character but the line breaks is one cell wide and Rich keeps it as
    it is."""
    if text.isascii():
        return text.replace("\n", "").isprintable()
    return all(ch in _GLYPHS or ch == "\n" or (ch.isascii() and ch.isprintable()) for ch in text)


def _truncate(line: str, width: int, overflow: str) -> str:
    """`rich.text.Text.truncate` for one-cell characters."""
    if len(line) <= width:
        return line
    return line[: width - 1] + "…" if overflow == "ellipsis" else line[:width]


def divide_line(text: str, width: int, *, fold: bool) -> list[int] | None:
    """`rich._wrap.divide_line` for one-cell characters and plain spaces: where the
    wrapped lines start. A word wider than `width` is folded across lines with `fold`;
    without it the answer is None (for Rich to say)."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            if not fold:
                return None
            chunks = [word[i : i + width] for i in range(0, len(word), width)]
            for chunk in chunks[:-1]:
                if start:
                    breaks.append(start)
                start += len(chunk)
            if start:
                breaks.append(start)
            offset = len(chunks[-1])
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def wrap_words(line: str, width: int) -> list[str] | None:
    """`rich._wrap.divide_line` and `Text.divide` for one-cell characters: the line cut
    between words; None (for Rich to fold it) when a word is wider than `width`."""
    breaks = divide_line(line, width, fold=False)
    if breaks is None:
        return None
    return [line[a:b] for a, b in itertools.pairwise([0, *breaks, len(line)])]


def wrap_line(line: str, width: int) -> list[str]:
    """Rich's `Text(line).wrap(console, width, overflow="fold")` of one line of
    one-cell characters, without the padding: each piece cropped to the width (its
    trailing spaces first)."""
    breaks = divide_line(line, width, fold=True) or []
    return [
        _rstrip_end(line[a:b], width)[:width]
        for a, b in itertools.pairwise([0, *breaks, len(line)])
    ]


def stack_rows(
    rows: Iterable[Sequence[list[str]]],
    widths: Sequence[int],
    gap: int,
    sections: Container[int] = (),
) -> list[str]:
    """A plain table's lines as `table.FittedTable.plain_lines` draws them: each row's
    cells (their lines, padded to their column's width) side by side, `gap` spaces apart;
    a cell shorter than its row padded with blank lines, below it in the body and above
    it in the header (row 0), which a rule of `─` follows; a blank line before each body
    row that follows a section's end (`sections`: the body rows that end one)."""
    space = " " * gap
    total = sum(widths) + gap * (len(widths) - 1)
    blank = [" " * w for w in widths]
    out: list[str] = []
    for i, row in enumerate(rows):
        if i - 1 in sections and i > 1:
            out.append(" " * total)
        height = max(map(len, row))
        if height == 1:
            out.append(space.join([c[0] for c in row]))
        else:
            if i == 0:  # the header: its cells at the bottom
                pairs = zip(blank, row, strict=True)
                row = tuple([*([b] * (height - len(c))), *c] for b, c in pairs)
            for n in range(height):
                out.append(
                    space.join(c[n] if n < len(c) else b for b, c in zip(blank, row, strict=True))
                )
        if i == 0:
            out.append("─" * total)
    return out


def _rstrip_end(line: str, width: int) -> str:
    """`Text.rstrip_end`: trailing whitespace beyond `width` dropped."""
    excess = len(line) - width
    if excess <= 0:
        return line
    body = line.rstrip()
    return line[: len(line) - min(len(line) - len(body), excess)]


def cell_lines(text: str, width: int, *, right: bool, wraps: bool) -> list[str] | None:
    """A table cell as Rich's Text draws it in a column of `width` (left or right
    justified; wrapping between words with overflow fold, or never with an ellipsis),
    each line padded to `width`."""
    overflow = "fold" if wraps else "ellipsis"
    out: list[str] = []
    for line in text.split("\n"):
        if wraps:
            parts = wrap_words(line, width)
            if parts is None:
                return None
            parts = [_rstrip_end(part, width) for part in parts]
        else:
            parts = [line]
        for part in parts:
            if right:
                part = _truncate(part.rstrip(), width, overflow)
                out.append(" " * (width - len(part)) + part)
            else:
                part = _truncate(part, width, overflow)
                out.append(part + " " * (width - len(part)))
    return out


def paragraph_lines(text: str, width: int) -> list[str] | None:
    """A Text printed on its own (the summary, a footnote) at `width`."""
    out: list[str] = []
    for line in text.split("\n"):
        parts = wrap_words(line, width)
        if parts is None:
            return None
        out += [_rstrip_end(part, width) for part in parts]
    return out


def status_plain(rows: Sequence[KpiResult], width: int) -> str | None:
    """The status table, its summary and footnote as Rich draws them without colour at
    `width` (`table.StatusTable`), or None when only Rich can say: text that is not
    one-cell printable characters, a word wider than its column, a table wider than
    `width`, no rows."""
    layout = StatusLayout(rows, width, MIN_KPI)
    names = ["KPI", *layout.widths]
    widths = [layout.kpi_width, *layout.widths.values()]
    total = sum(widths) + len(widths) - 1
    if not rows or total > width:
        return None
    table: list[list[str]] = [names]
    for i in range(len(rows)):
        cells = layout.cells(i)
        table.append([cells[name] for name in names])
    laid: list[list[list[str]]] = []
    for row in table:
        laid_row = []
        for name, w, text in zip(names, widths, row, strict=True):
            if not _simple(text):
                return None
            lines = cell_lines(text, w, right=name in RIGHT, wraps=name in WORDS)
            if lines is None:
                return None
            laid_row.append(lines)
        laid.append(laid_row)
    out = stack_rows(laid, widths, 1)
    notes = [summary_sentence(StatusCounts.of(rows))]
    if layout.dropped:
        notes.append(dropped_words(layout.dropped))
    for note in notes:
        lines = paragraph_lines(note, width) if _simple(note) else None
        if lines is None:
            return None
        out += lines
    if any(len(line.rstrip(" ")) > width for line in out):
        return None
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- fitted tables


def longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def fit_columns(
    names: Sequence[str],
    cells: Sequence[Sequence[str]],
    min_widths: Sequence[int],
    folds: Sequence[bool],
    drop_order: Sequence[str],
    gap: int,
    width: int,
) -> tuple[list[int], list[int], list[str]]:
    """`table.FittedTable`'s layout on the cells' text: the indexes of the columns kept,
    their widths, and the names of those left out (docs/terminal.md "Width")."""
    kept = list(range(len(names)))

    def need(widths: Sequence[int]) -> int:
        return sum(widths) + gap * (len(widths) - 1)

    dropped: list[str] = []
    for name in drop_order:
        if need([min_widths[i] for i in kept]) <= width:
            break
        if any(names[i] == name for i in kept):
            kept = [i for i in kept if names[i] != name]
            dropped.append(name.replace("\n", " "))
    # Natural widths, then the wrapping columns give way (widest first) to fit.
    widths = [
        max([min_widths[i], longest_line(names[i]), *map(longest_line, cells[i])]) for i in kept
    ]
    excess = need(widths) - width
    while excess > 0:
        room = [
            (widths[n] - min_widths[i], n)
            for n, i in enumerate(kept)
            if folds[i] and widths[n] > min_widths[i]
        ]
        if not room:
            break
        _slack, n = max((widths[n], n) for _slack, n in room)  # the widest gives way
        widths[n] -= 1
        excess -= 1
    return kept, widths, dropped


class PlainColumn:
    """A column of a fitted table as text: header, cells, the narrowest it may get,
    whether it wraps between words (else it is never cut), and right-justified."""

    __slots__ = ("cells", "folds", "min_width", "name", "right")

    def __init__(
        self, name: str, cells: list[str], min_width: int, *, folds: bool, right: bool = False
    ) -> None:
        self.name, self.cells, self.min_width = name, cells, min_width
        self.folds, self.right = folds, right


def keep_plain(name: str, cells: list[str], *, right: bool = False) -> PlainColumn:
    """`table.keep_column` as text."""
    widest = max([longest_line(name), *map(longest_line, cells)])
    return PlainColumn(name, cells, widest, folds=False, right=right)


def wrap_plain(name: str, cells: list[str], *, floor: int = 1) -> PlainColumn:
    """`table.wrap_column` as text."""
    longest = max([floor, *(longest_word(c) for c in [name, *cells])])
    return PlainColumn(name, cells, longest, folds=True)


def fitted_plain(
    columns: Sequence[PlainColumn], drop_order: Sequence[str], width: int, gap: int = 2
) -> str | None:
    """A `table.FittedTable` (no title, sections or row styles) as its `plain_lines`
    draw it, and the footnote; None when only Rich can say."""
    names = [c.name for c in columns]
    kept, widths, dropped = fit_columns(
        names,
        [c.cells for c in columns],
        [c.min_width for c in columns],
        [c.folds for c in columns],
        drop_order,
        gap,
        width,
    )
    total = sum(widths) + gap * (len(widths) - 1)
    if not kept or min(widths) < 1 or total > width:
        return None
    if any("[" in names[i] or ":" in names[i] for i in kept):
        return None  # a header Rich would read as markup or emoji
    laid: list[list[list[str]]] = []
    for i, w in zip(kept, widths, strict=True):
        column = columns[i]
        lines_of: list[list[str]] = []
        for text in [column.name, *column.cells]:
            if not _simple(text):
                return None
            lines = cell_lines(text, w, right=column.right, wraps=column.folds)
            if lines is None:
                return None
            lines_of.append(lines)
        laid.append(lines_of)
    out = stack_rows(zip(*laid, strict=True), widths, gap)
    if dropped:
        note = paragraph_lines(dropped_words(dropped), width)
        if note is None:
            return None
        out += note
    if any(len(line.rstrip(" ")) > width for line in out):
        return None
    return "\n".join(out) + "\n"


def sentence_plain(text: str, width: int) -> str | None:
    """A one-paragraph view (`No overdue reports.`) as Rich prints it at `width`."""
    lines = paragraph_lines(text, width) if _simple(text) else None
    return None if lines is None else "\n".join(lines) + "\n"


OVERDUE_DROP_ORDER = ("Frequency", "Owner", "Missed", "Last report", "Due since")
ACTIONS_DROP_ORDER = ("Owner", "Status", "Reasons")  # reasons name the status too


def kpi_words(kpi: Kpi) -> str:
    """The KPI's name, and its id (what commands take) below it."""
    return (kpi.name or kpi.id) + (f"\n{kpi.id}" if kpi.name and kpi.name != kpi.id else "")


def _kpi_and_owner(rows: Sequence[KpiResult]) -> list[PlainColumn]:
    return [
        wrap_plain("KPI", [kpi_words(r.kpi) for r in rows], floor=8),
        wrap_plain("Owner", [r.kpi.owner or "—" for r in rows]),
    ]


def overdue_plain(results: Sequence[KpiResult], width: int) -> str | None:
    """`table.overdue` as plain text at `width`, or None when only Rich can say."""
    rows = [r for r in results if r.overdue is not None]
    if not rows:
        return sentence_plain("No overdue reports.", width)
    infos = [r.overdue for r in rows if r.overdue is not None]
    columns = [
        *_kpi_and_owner(rows),
        keep_plain("Frequency", [str(r.kpi.frequency) for r in rows]),
        wrap_plain(
            "Last report",
            [r.latest.date.isoformat() if r.latest else "never reported" for r in rows],
        ),
        keep_plain(
            "Missed",
            ["—" if o.never_reported else str(o.missed_periods) for o in infos],
            right=True,
        ),
        keep_plain("Due since", [o.due_since.isoformat() if o.due_since else "—" for o in infos]),
        keep_plain("Days", [str(o.days) if o.days is not None else "—" for o in infos], right=True),
    ]
    return fitted_plain(columns, OVERDUE_DROP_ORDER, width)


def actions_plain(results: Sequence[KpiResult], width: int) -> str | None:
    """`table.actions` as plain text at `width`, or None when only Rich can say."""
    rows = [r for r in results if r.needs_action]
    if not rows:
        return sentence_plain("Nothing needs action.", width)
    reasons = []
    for r in rows:
        text = reason_words(r)
        if r.overdue is not None and r.overdue.days is not None:
            text += f" ({r.overdue.days} d overdue)"
        reasons.append(text)
    columns = [
        *_kpi_and_owner(rows),
        keep_plain("Status", [str(r.status) for r in rows]),
        wrap_plain("Reasons", reasons),
        wrap_plain(
            "Action plan", [(action_words(r.kpi) or "") if r.kpi.action else "none" for r in rows]
        ),
    ]
    return fitted_plain(columns, ACTIONS_DROP_ORDER, width)


PLAIN_VIEWS: dict[str, Callable[[Sequence[KpiResult], int], str | None]] = {
    "status": status_plain,
    "overdue": overdue_plain,
    "actions": actions_plain,
}
"""The list views whose plain text is made here, by command name."""
