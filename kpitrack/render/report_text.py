"""The report's text format as a plan of paragraphs and tables, and its plain text drawn
from that plan without Rich.

`plan(report)` says what the text report shows: each paragraph with its style, each
table's columns (kept whole or wrapped, as `render.table.keep_column` and `wrap_column`),
their cells with their styles, the order columns are left out in. `report_rich` turns
the plan into Rich renderables for a terminal; `plain_text(report, width)` draws it as
the plain text that `renderable_to_text` would make of those renderables (the mail's
text part, `--format text` into a pipe or a file) for the usual case, where every text
is printable and every character one cell wide: each table is its cells padded and
joined, the few long lines wrapped between words as Rich wraps them. Anything else
(a wide or zero-width character, a control character, a table that does not fit)
gives None and the caller lets Rich draw it: Rich builds, measures and lays out every
cell through several objects (about 0.3 s for 1,000 KPIs), this is string work.
`tests/test_report_text.py` compares the two on generated reports.

Nothing here imports Rich.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from kpitrack.domain.model import Kpi, Status, StatusCounts
from kpitrack.evaluation.evaluate import action_words, format_percent
from kpitrack.render.plaintext import STATUS_STYLE, stack_rows, wrap_line
from kpitrack.render.report_common import (
    CHANGE_ORDER,
    CHANGE_TITLES,
    DASH,
    STATUS_LABELS,
    format_latest,
    format_overdue,
    format_reasons,
    format_target,
    format_value,
    headline,
    lacks_action_plan,
    one_line,
    owner_name,
    window_text,
)
from kpitrack.reports.digest import Report


class Styled(NamedTuple):
    """A cell of one style: `Text(text, style=style)`."""

    text: str
    style: str


class Assembled(NamedTuple):
    """A cell of pieces: `Text.assemble(*parts)` (a `Styled` piece as its `Text`)."""

    parts: tuple[str | tuple[str, str] | Styled, ...]


# A plain string is `Text(string)`.
Cell = str | Styled | Assembled


class Col(NamedTuple):
    """A column: `keep_column` (never cut) or `wrap_column` (wraps between words)."""

    keep: bool
    name: str
    cells: list[Cell]
    options: dict[str, Any]


class Tab(NamedTuple):
    """A `FittedTable`."""

    columns: list[Col]
    drop_order: Sequence[str]
    gap: int = 2
    sections: Sequence[int] = ()
    row_styles: Sequence[str] = ()


class Para(NamedTuple):
    """A paragraph: `Text(text, style=style)`."""

    text: str
    style: str = ""


Part = Para | Tab


def keep(name: str, cells: list[Cell], **options: Any) -> Col:
    return Col(True, name, cells, options)


def wrap(name: str, cells: list[Cell]) -> Col:
    return Col(False, name, cells, {})


def cell_plain(cell: Cell) -> str:
    """The text of a cell, without its styles."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, Styled):
        return cell.text
    return "".join(p if isinstance(p, str) else p[0] for p in cell.parts)


# ---------------------------------------------------------------- the plan


def _heading(text: str) -> Para:
    return Para(f"\n{text}", "bold underline")


def _subheading(text: str) -> Para:
    return Para(f"\n{text}", "bold")


def _kpi(kpi: Kpi) -> Assembled:
    """The id, and the name below it (dim): ids are what people type, names what they read."""
    return Assembled(((kpi.id, "bold"), "\n", (one_line(kpi.name), "dim")))


def _status(status: Status) -> Styled:
    return Styled(str(status), STATUS_STYLE[status])


def _counts_row(counts: StatusCounts) -> list[Cell]:
    return [
        str(counts.total),
        *(
            Styled(str(n), STATUS_STYLE[s] if n else "")
            for s, n in ((s, counts.count(s)) for s in Status.summary_order())
        ),
        str(counts.overdue),
        str(counts.needs_action),
    ]


SUMMARY_DROP_ORDER = ("achieved", "no\ndata")
CHANGES_DROP_ORDER = ("Owner", "Latest")
NEW_MEASUREMENTS_DROP_ORDER = ("By", "Note")
OBJECTIVE_DROP_ORDER = ("Progress", "Owner", "Latest")
OVERDUE_DROP_ORDER = ("Frequency", "Owner")
NEEDS_ACTION_DROP_ORDER = ("Owner", "Status", "Reasons")
DEFINITIONS_DROP_ORDER = ("Commit", "Date", "Moved goalpost")


def _summary(report: Report) -> Tab:
    """Owners and their counts; two-line headings keep it within 60 columns."""
    headers = [
        "KPIs",
        *(STATUS_LABELS[s].replace(" ", "\n") for s in Status.summary_order()),
        "overdue",
        "needs\naction",
    ]
    owners: list[Cell] = [*(owner_name(o.owner) for o in report.owners), "All"]
    rows = [_counts_row(o.counts) for o in report.owners] + [_counts_row(report.summary)]
    columns = [wrap("Owner", owners)]
    for k, header in enumerate(headers):
        columns.append(keep(header, [row[k] for row in rows], justify="right"))
    return Tab(
        columns,
        SUMMARY_DROP_ORDER,
        gap=1,
        sections=[len(report.owners)],
        row_styles=[""] * len(report.owners) + ["bold"],
    )


def plan(report: Report) -> list[Part]:
    """The text report, top to bottom."""
    parts: list[Part] = [
        Para(f"KPI report — {report.as_of.isoformat()}", "bold"),
        Para(headline(report)),
    ]

    parts.append(_heading("Summary"))
    parts.append(_summary(report))

    parts.append(_heading(f"What changed since {report.since.isoformat()}"))
    parts.append(Para(f"Changes dated {window_text(report)}.", "dim"))
    if not report.changes:
        parts.append(Para("No status changes."))
    for kind in CHANGE_ORDER:
        changes = report.changes_of(kind)
        if not changes:
            continue
        table = Tab(
            [
                wrap("KPI", [_kpi(c.result.kpi) for c in changes]),
                wrap("Owner", [owner_name(c.result.kpi.owner) for c in changes]),
                wrap(
                    "Status",
                    [Assembled((_status(c.before), " → ", _status(c.after))) for c in changes],
                ),
                wrap("Latest", [format_latest(c.result) for c in changes]),
            ],
            CHANGES_DROP_ORDER,
        )
        parts += [_subheading(CHANGE_TITLES[kind]), table]
    parts.append(_subheading("New measurements"))
    if report.new_measurements:
        new = report.new_measurements
        parts.append(
            Tab(
                [
                    keep("Date", [n.measurement.date.isoformat() for n in new]),
                    wrap("KPI", [n.kpi.id for n in new]),
                    wrap("Value", [format_value(n.kpi, n.measurement.value) for n in new]),
                    wrap("Note", [one_line(n.measurement.note) for n in new]),
                    wrap("By", [one_line(n.measurement.by) for n in new]),
                ],
                NEW_MEASUREMENTS_DROP_ORDER,
            )
        )
    else:
        parts.append(Para("No new measurements."))
    if report.events:
        events = report.events
        table = Tab(
            [
                keep("Date", [e.date.isoformat() for e in events]),
                wrap("Event", [one_line(e.title) for e in events]),
                wrap("KPIs", [", ".join(e.kpis) or "all" for e in events]),
                wrap("Note", [one_line(e.note) for e in events]),
            ],
            ("Note", "KPIs"),
        )
        parts += [_subheading("Events"), table]

    parts.append(_heading("Status by objective"))
    if not report.objectives:
        parts.append(Para("No KPIs."))
    for group in report.objectives:
        title = "  " * group.depth + one_line(group.title)
        if group.objective is not None:
            title += f" ({group.objective.id})"
        if group.status is not None:
            title += f" — {group.status}, {format_percent(group.progress)}"
        if not group.results:
            parts.append(_subheading(title))
            continue
        results = group.results
        table = Tab(
            [
                wrap("KPI", [_kpi(r.kpi) for r in results]),
                wrap("Owner", [owner_name(r.kpi.owner) for r in results]),
                wrap("Latest", [format_latest(r) for r in results]),
                wrap("Target", [format_target(r) for r in results]),
                keep("Progress", [format_percent(r.progress) for r in results], justify="right"),
                keep("Status", [_status(r.status) for r in results]),
            ],
            OBJECTIVE_DROP_ORDER,
        )
        parts += [_subheading(title), table]

    parts.append(_heading("Overdue reports"))
    if report.overdue:
        late = report.overdue
        parts.append(
            Tab(
                [
                    wrap("KPI", [r.kpi.id for r in late]),
                    wrap("Owner", [owner_name(r.kpi.owner) for r in late]),
                    keep("Frequency", [str(r.kpi.frequency) for r in late]),
                    keep(
                        "Last report",
                        [r.latest.date.isoformat() if r.latest else "never" for r in late],
                    ),
                    wrap("Overdue", [Styled(format_overdue(r), "red") for r in late]),
                ],
                OVERDUE_DROP_ORDER,
            )
        )
    else:
        parts.append(Para("No overdue reports."))

    parts.append(_heading("Needs action"))
    if report.needs_action:
        plans: list[Cell] = []
        for r in report.needs_action:
            if r.kpi.action:
                plans.append(one_line(action_words(r.kpi) or ""))
            elif lacks_action_plan(r):
                plans.append(Styled("none", "bold red"))
            else:
                plans.append(Styled(DASH, "dim"))
        needs = report.needs_action
        parts.append(
            Tab(
                [
                    wrap("KPI", [r.kpi.id for r in needs]),
                    wrap("Owner", [owner_name(r.kpi.owner) for r in needs]),
                    keep("Status", [_status(r.status) for r in needs]),
                    wrap("Reasons", [format_reasons(r) for r in needs]),
                    wrap("Action plan", plans),
                ],
                NEEDS_ACTION_DROP_ORDER,
            )
        )
    else:
        parts.append(Para("Nothing needs action."))

    parts.extend(definitions_plan(report))
    return parts


def definitions_plan(report: Report) -> list[Part]:
    """The "Definitions changed since …" section: history rows, moved goalposts in red."""
    if report.definitions is None:
        return []
    parts: list[Part] = [_heading(f"Definitions changed since {report.definitions.since}")]
    if report.definitions.unavailable is not None:
        return [*parts, Para(f"Not available: {report.definitions.unavailable}.")]
    if not report.definitions.changes:
        return [*parts, Para("No definition changes.")]
    changes = report.definitions.changes
    table = Tab(
        [
            keep("Commit", [c.commit for c in changes]),
            keep("Date", [c.date for c in changes]),
            wrap("KPI", [c.kpi for c in changes]),
            wrap("Field", [c.field for c in changes]),
            wrap("Old → new", [f"{c.old or DASH} → {c.new or DASH}" for c in changes]),
            wrap(
                "Moved goalpost",
                [
                    Styled("moved goalpost", "bold red") if c.moved_goalpost else Styled("", "")
                    for c in changes
                ],
            ),
        ],
        DEFINITIONS_DROP_ORDER,
    )
    return [*parts, table]


# ---------------------------------------------------------------- plain text

# Characters outside ASCII that the report's own words use (dash, arrows, comparison
# signs, the en dash of a range, the middle dot): one cell wide each in Rich's tables
# (checked by a test), so a text of these and printable ASCII is as wide as it is long.
NARROW = "—–→≥≤·…"
_NARROW_OUT = str.maketrans(dict.fromkeys(NARROW, "-"))

# Blocks whose letters, digits, punctuation and symbols stand alone, one cell each (no
# combining marks, joiners or wide forms are let through: those are Mn, Me, Cf or wide):
# Latin-1, the Latin extensions, Greek, Cyrillic, general punctuation, currency signs,
# letter-like symbols, arrows, mathematical operators, technical symbols, box drawing,
# shapes, the symbols and dingbats that are one cell (✓; not the wide emoji ones, which
# the width check turns away). Names and notes in
# these scripts ("José", "Müller", "Ελένη", "Жанна") keep the plain path.
_ONE_CELL_BLOCKS = (
    ("\u00a1", "\u052f"),
    ("\u1e00", "\u1fff"),
    ("\u2010", "\u205e"),
    ("\u20a0", "\u20c0"),
    ("\u2100", "\u27bf"),
)
_one_cell_seen: dict[str, bool] = {}


class NotPlain(Exception):
    """The plan holds something only Rich can draw exactly: draw it with Rich."""


# Rich's width of one character (`rich.cells.cell_len`, which the shell passes in: this
# module does not import Rich).
Measure = Callable[[str], int]


def _one_cell(ch: str, measure: Measure) -> bool:
    """Whether `ch` stands alone and is one cell wide as Rich measures it."""
    known = _one_cell_seen.get(ch)
    if known is None:
        import unicodedata

        known = (
            any(low <= ch <= high for low, high in _ONE_CELL_BLOCKS)
            and unicodedata.category(ch)[0] in "LNPS"
            and measure(ch) == 1
        )
        _one_cell_seen[ch] = known
    return known


def _narrow(text: str, measure: Measure | None) -> bool:
    """Whether `text` is printable and one cell per character (as Rich measures it);
    without `measure`, only printable ASCII and `NARROW` count."""
    if text.isascii():
        return text.isprintable()
    if not text.isprintable():
        return False
    rest = text.translate(_NARROW_OUT)
    if rest.isascii():
        return True
    return measure is not None and all(_one_cell(ch, measure) for ch in set(rest) if ch > "\x7f")


def _paragraph(para: Para, width: int, measure: Measure | None) -> str:
    """`Text(text)` rendered at `width`: its lines, each wrapped between words."""
    if para.text.endswith("\n") or not _narrow(para.text.replace("\n", ""), measure):
        raise NotPlain
    lines: list[str] = []
    for line in para.text.split("\n"):
        lines.extend([line] if len(line) <= width else wrap_line(line, width))
    return "\n".join(lines) + "\n"


def _lines(text: str) -> list[str]:
    return text.split("\n") if "\n" in text else [text]


def _table(tab: Tab, width: int, measure: Measure | None) -> str:
    """What `FittedTable.__rich_console__` yields as plain text: `layout` then
    `plain_lines`, on plain strings. (For one-cell printable text, where `str.splitlines`
    and `split("\n")` give the same longest line.)"""
    columns = []
    for col in tab.columns:
        texts = [col.name, *(c if c.__class__ is str else cell_plain(c) for c in col.cells)]
        # Measured over the whole column at once: joined by line ends, no line spans two
        # cells; joined by spaces, no word does.
        joined = "\n".join(texts)
        if not _narrow(joined.replace("\n", ""), measure):
            raise NotPlain
        if "\n" in joined[len(col.name) + 1 :] or "\n" in col.name:
            lines = [_lines(t) for t in texts]
        else:  # one line a cell (most columns)
            lines = [[t] for t in texts]
        longest = max(map(len, joined.split("\n")))
        if col.keep:
            minimum = longest
            options = {"no_wrap": True, **col.options}
        else:
            minimum = max(1, max(map(len, " ".join(texts).split()), default=0))
            options = {"overflow": "fold", **col.options}
        columns.append((col.name, lines, minimum, options, longest))

    # FittedTable.layout
    gap = tab.gap

    def need(widths: Sequence[int]) -> int:
        return sum(widths) + gap * (len(widths) - 1)

    kept = list(columns)
    dropped: list[str] = []
    for name in tab.drop_order:
        if need([c[2] for c in kept]) <= width:
            break
        if any(c[0] == name for c in kept):
            kept = [c for c in kept if c[0] != name]
            dropped.append(name.replace("\n", " "))
    widths = [max(c[2], c[4]) for c in kept]
    excess = need(widths) - width
    while excess > 0:
        room = [
            (widths[i] - c[2], i)
            for i, c in enumerate(kept)
            if c[3].get("overflow") == "fold" and widths[i] > c[2]
        ]
        if not room:
            break
        _slack, i = max((widths[i], i) for _slack, i in room)
        widths[i] -= 1
        excess -= 1

    # FittedTable.plain_lines (a None there is NotPlain here)
    if not kept or min(widths) < 1 or need(widths) > width:
        raise NotPlain
    drawn: list[list[list[str]]] = []
    for (name, lines_of, _minimum, options, _longest), w in zip(kept, widths, strict=True):
        justify = options.get("justify", "left")
        if justify not in ("left", "right") or "[" in name or ":" in name:
            raise NotPlain
        wraps = not options.get("no_wrap", False)
        cells: list[list[str]] = []
        for text_lines in lines_of:
            if len(text_lines) == 1 and len(text_lines[0]) <= w:  # the usual cell
                line = text_lines[0]
                cells.append([line.ljust(w) if justify == "left" else line.rstrip(" ").rjust(w)])
                continue
            out_lines = []
            for line in text_lines:
                fitted = line.rstrip(" ") if justify == "right" else line
                if len(fitted) <= w:
                    out_lines.append(fitted.ljust(w) if justify == "left" else fitted.rjust(w))
                elif not wraps or justify != "left":
                    raise NotPlain
                else:
                    out_lines.extend(piece.ljust(w) for piece in wrap_line(line, w))
            cells.append(out_lines)
        drawn.append(cells)
    out = stack_rows(zip(*drawn, strict=True), widths, gap, set(tab.sections))
    out.append("")
    text = "\n".join(out)
    if dropped:
        note = (
            f"Not shown for width: {', '.join(dropped)} (a wider terminal or --format json "
            "shows them)."
        )
        text += _paragraph(Para(note), width, measure)
    return text


def plain_text(report: Report, width: int, measure: Measure | None = None) -> str | None:
    """`renderable_to_text(report_rich.report(report), width)`, drawn without Rich; None
    when only Rich can draw it exactly. `measure`: Rich's width of a character, for text
    beyond ASCII and the report's own signs."""
    from kpitrack.domain.textsafe import visible

    try:
        pieces = [
            _paragraph(part, width, measure)
            if isinstance(part, Para)
            else _table(part, width, measure)
            for part in plan(report)
        ]
    except NotPlain:
        return None
    text = visible("".join(pieces))
    lines = text.split("\n")
    if any(len(line.rstrip(" ")) > width for line in lines):
        return None  # printing would crop it: Rich's way
    lines = text.splitlines()
    return "\n".join(map(str.rstrip, lines)) + "\n" if lines else ""
