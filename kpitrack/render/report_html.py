"""The report as one self-contained HTML page that reads well in a browser, a mail client
and on paper.

Mail-safe: everything the reader needs is in the markup and inline styles — status pills
are inline-styled text, progress bars are table cells, the trend is a text sparkline.
The `<style>` block only adds layout (cards on narrow screens, print pagination), so a
mail client that strips it (Gmail, Outlook) still shows every status, number and action.
No SVG, no scripts, no external requests (no links, images, fonts or `url()`).
All user text goes through `html.escape`.

One function per section (`SECTIONS`); each returns its HTML fragments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from html import escape as _escape

from kpitrack.domain.model import Kpi, KpiResult, Status, StatusCounts, Value
from kpitrack.domain.series import last_values
from kpitrack.evaluation.evaluate import action_words, format_percent
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

# (text colour, background) per status: every pair has a contrast ratio of at least 4.5:1
# (WCAG AA for normal text); the status is always written out too, never told by colour alone.
STATUS_COLOURS: dict[Status, tuple[str, str]] = {
    Status.ACHIEVED: ("#0b5d1e", "#c9f0d3"),
    Status.ON_TRACK: ("#116329", "#dafbe1"),
    Status.AT_RISK: ("#6f4400", "#fff1c2"),
    Status.OFF_TRACK: ("#a40e26", "#ffdce0"),
    Status.NO_DATA: ("#4d555e", "#eaeef2"),
}
TEXT, MUTED, BACKGROUND, HEADER_BG = "#1f2328", "#57606a", "#ffffff", "#f6f8fa"
ALERT = "#a40e26"  # "no action plan"

SPARK_POINTS = 12
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH, BAR_HEIGHT = 80, 8
BAR_DONE, BAR_PROGRESS, BAR_EMPTY = "#1a7f37", "#0969da", "#d8dee4"

# Below this width every data table is one card per row (and so is every width when a
# mail client drops the `<style>` block: the cards are inline styles).
NARROW = 820
CARD_STYLE = (
    "display:block;border:1px solid #d0d7de;border-radius:6px;margin:0 0 10px 0;padding:6px 0"
)
CARD_LEAD_STYLE = "display:block;padding:2px 10px;font-weight:600"
CARD_CELL_STYLE = "display:block;padding:2px 10px;overflow-wrap:break-word"
CARD_FLOW_STYLE = "display:inline-block;padding:2px 10px"
LABEL_STYLE = "font-weight:600;color:#57606a"

CSS = f"""
body {{ margin: 0; padding: 24px; background: {BACKGROUND}; color: {TEXT};
  font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  font-size: 14px; line-height: 1.45; }}
.page {{ max-width: 980px; margin: 0 auto; }}
h1 {{ font-size: 22px; margin: 0 0 4px 0; }}
h2 {{ font-size: 17px; margin: 28px 0 8px 0; padding-bottom: 4px;
  border-bottom: 1px solid #d0d7de; }}
h3 {{ font-size: 15px; margin: 18px 0 6px 0; }}
p {{ margin: 4px 0 10px 0; }}
table.grid {{ border-collapse: collapse; width: 100%; margin: 4px 0 14px 0; }}
table.grid > tbody > tr > th, table.grid > tbody > tr > td {{ border: 1px solid #d0d7de;
  padding: 5px 8px; text-align: left; vertical-align: middle; overflow-wrap: break-word; }}
table.grid > tbody > tr > th {{ background: {HEADER_BG}; font-weight: 600; font-size: 13px; }}
table.grid > tbody > tr > .num {{ text-align: right; white-space: nowrap; }}
table.grid > tbody > tr > .nowrap {{ white-space: nowrap; }}
tr.total > td {{ font-weight: 700; background: {HEADER_BG}; }}
.muted {{ color: {MUTED}; }}
.id {{ font-family: SFMono-Regular, Consolas, "Liberation Mono", Menlo, monospace;
  font-size: 12px; color: {MUTED}; white-space: nowrap; }}
table.cards {{ border-collapse: separate; border-spacing: 4px; width: 100%; margin: 8px 0; }}
table.cards td {{ text-align: center; padding: 10px 4px; width: 20%; }}
.cards .n {{ font-size: 26px; font-weight: 700; line-height: 1.1; }}
@media print, screen and (min-width: {NARROW}px) {{
  table.grid {{ display: table !important; border-collapse: collapse; }}
  table.grid > tbody {{ display: table-row-group !important; }}
  table.grid > tbody > tr, table.grid > tbody > tr.head {{ display: table-row !important;
    border: none !important; padding: 0 !important; margin: 0 !important; }}
  table.grid > tbody > tr > th, table.grid > tbody > tr > td {{
    display: table-cell !important; padding: 5px 8px !important; font-weight: inherit; }}
  table.grid > tbody > tr > td.lead {{ font-weight: 400 !important; }}
  tr.total > td, tr.total > td.lead {{ font-weight: 700 !important; }}
  table.grid .lbl {{ display: none !important; }}
}}
@media screen and (max-width: {NARROW - 1}px) {{
  body {{ padding: 12px; }}
  table.grid > tbody > tr > td {{ border: none; text-align: left; white-space: normal; }}
  tr.total > td {{ background: transparent; }}
  table.cards, table.cards > tbody {{ display: block; }}
  table.cards > tbody > tr {{ display: flex; flex-wrap: wrap; gap: 4px; }}
  table.cards td {{ display: block; flex: 1 1 88px; width: auto; padding: 6px 4px; }}
  .cards .n {{ font-size: 20px; }}
}}
@media print {{
  body {{ padding: 0; font-size: 10pt; }}
  .page {{ max-width: none; }}
  h2, h3 {{ page-break-after: avoid; break-after: avoid; }}
  tr, .cards {{ page-break-inside: avoid; break-inside: avoid; }}
  table.grid > tbody > tr > th, tr.total > td {{ background: #ffffff; }}
  .badge {{ border: 1px solid {MUTED}; }}
}}
""".strip()


@lru_cache(maxsize=4096)
def _escaped(text: str) -> str:
    return _escape(one_line(text), quote=True)


def e(text: str | None) -> str:
    """User text for HTML: escaped, on one line. (Owners, names and ids repeat across
    sections and rows: each distinct text is escaped once.)"""
    return _escaped(text) if text else ""


def _badge(status: Status) -> str:
    fg, bg = STATUS_COLOURS[status]
    return (
        f'<span class="badge" style="display:inline-block;padding:1px 8px;border-radius:10px;'
        f"font-size:12px;font-weight:600;white-space:nowrap;color:{fg};background-color:{bg};"
        f'border:1px solid {bg}">{_escape(STATUS_LABELS[status])}</span>'
    )


_BADGES = {status: _badge(status) for status in Status}


def badge(status: Status) -> str:
    """A status pill: inline-styled text, so it survives a mail client that drops `<style>`."""
    return _BADGES[status]


def progress_bar(progress: float | None) -> str:
    """A bar of table cells (clamped to 0–100%) followed by the unclamped percentage."""
    if progress is None:
        return f'<span class="muted">{DASH}</span>'
    filled = round(max(0.0, min(1.0, progress)) * 100)
    colour = BAR_DONE if progress >= 1 else BAR_PROGRESS
    label = _escape(format_percent(progress))
    cell = (
        'style="width:{w}%;height:{h}px;padding:0;border:0;background-color:{c};'
        'font-size:1px;line-height:1px"'
    )
    cells = []
    if filled > 0:
        attrs = cell.format(w=filled, h=BAR_HEIGHT, c=colour)
        cells.append(f'<td width="{filled}%" {attrs}>&nbsp;</td>')
    if filled < 100:
        attrs = cell.format(w=100 - filled, h=BAR_HEIGHT, c=BAR_EMPTY)
        cells.append(f'<td width="{100 - filled}%" {attrs}>&nbsp;</td>')
    return (
        f'<table role="presentation" class="bar" width="{BAR_WIDTH}" cellpadding="0" '
        f'cellspacing="0" border="0" style="display:inline-table;width:{BAR_WIDTH}px;'
        f"height:{BAR_HEIGHT}px;border-collapse:collapse;margin:0 6px 0 0;"
        f'vertical-align:middle"><tr>{"".join(cells)}</tr></table>{label}'
    )


def spark_text(r: KpiResult) -> str:
    """The last values as block characters, lowest ▁ to highest █ (empty without data)."""
    return _spark_blocks(r.kpi, last_values(r.history, SPARK_POINTS))


def _spark_blocks(kpi: Kpi, shown: Sequence[Value]) -> str:
    if not shown:
        return ""
    # A float is its own position (`kpi.position` gives `float(value)`): only labels and
    # exact ints go through it.
    position = kpi.position
    values = [v if type(v) is float else position(v) for v in shown]
    low, high = min(values), max(values)
    top = len(SPARK_BLOCKS) - 1
    if high == low:
        return SPARK_BLOCKS[top // 2] * len(values)
    span, blocks = high - low, SPARK_BLOCKS
    return "".join([blocks[round((v - low) / span * top)] for v in values])


def spark_events(r: KpiResult) -> dict[int, list[str]]:
    """Events on the sparkline: the index of the first value on or after each event
    concerning the KPI (within the values shown) → the events' words."""
    marks: dict[int, list[str]] = {}
    if not r.events:
        return marks
    shown = r.history[-SPARK_POINTS:]
    if not shown:
        return marks
    for ev in r.events:
        if not shown[0].date <= ev.date <= shown[-1].date:
            continue
        index = next(i for i, m in enumerate(shown) if m.date >= ev.date)
        marks.setdefault(index, []).append(f"{ev.date.isoformat()} {ev.title}")
    return marks


def _marked(text: str, marks: dict[int, list[str]]) -> str:
    """The sparkline's characters, those after an event underlined in amber, titled."""
    out = []
    for i, ch in enumerate(text):
        if i in marks:
            words = _escape("event: " + "; ".join(marks[i]), quote=True)
            out.append(f'<span title="{words}" style="border-bottom:2px solid #b45309">{ch}</span>')
        else:
            out.append(ch)
    return "".join(out)


def sparkline(r: KpiResult, formatter: Callable[[Value], str] | None = None) -> str:
    """The trend as a text sparkline in the status colour, labelled for screen readers;
    events are marked under the value that follows them. `formatter` is
    `format_value(r.kpi, value)` as a function of the value (the site's: each value
    formatted once for the build)."""
    shown = last_values(r.history, SPARK_POINTS)
    text = _spark_blocks(r.kpi, shown)
    if not text:
        return f'<span class="muted">{DASH}</span>'
    if formatter is None:
        values = [format_value(r.kpi, v) for v in shown]
    else:
        values = list(map(formatter, shown))
    words = f"trend of the last {len(values)} values: {', '.join(values)}"
    marks = spark_events(r) if r.events else None
    if marks:
        words += "; events: " + "; ".join(w for i in sorted(marks) for w in marks[i])
        text = _marked(text, marks)
    label = _escape(words, quote=True)
    colour = STATUS_COLOURS[r.status][0]
    return (
        f'<span class="spark" role="img" aria-label="{label}" title="{label}" '
        f'style="color:{colour};white-space:nowrap;letter-spacing:1px;'
        f'font-family:Menlo,Consolas,&quot;DejaVu Sans Mono&quot;,monospace">'
        f"{text}</span>"
    )


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    total: Sequence[str] | None = None,
    nowrap: Sequence[int] = (),
    compact: bool = False,
) -> str:
    """A data table from pre-escaped cells.

    `numeric` columns are right-aligned, `nowrap` kept whole. Headers are scoped.

    Inline-safe (a mail client that strips `<style>` still gets a page that fits a
    390 px phone): the inline styles make each row a card whose cells start with their
    column's name (`.lbl`); the first column leads the card, without a label. `compact`
    lets the cells of a card flow side by side (short numbers). The `<style>` block
    turns the cards back into a grid on wide screens and on paper (`!important` over
    the inline styles) and hides the labels there.
    """

    def cls(i: int) -> str:
        names = ["lead"] if i == 0 else []
        if i in numeric:
            names.append("num")
        elif i in nowrap:
            names.append("nowrap")
        return f' class="{" ".join(names)}"' if names else ""

    def cell_style(i: int) -> str:
        if i == 0:
            return CARD_LEAD_STYLE
        return CARD_FLOW_STYLE if compact else CARD_CELL_STYLE

    def label(i: int) -> str:
        return "" if i == 0 else f'<span class="lbl" style="{LABEL_STYLE}">{header[i]}: </span>'

    # A row of the table's width as its fixed pieces with a gap for each cell: the row's
    # and each column's opening of a cell, the closings; made once per table, filled per
    # row (one list copy and one join, not a string per cell).
    width = len(header)
    pieces = []
    for i in range(width):
        before = f'<tr style="{CARD_STYLE}">' if i == 0 else "</td>"
        pieces += [f'{before}<td{cls(i)} style="{cell_style(i)}">{label(i)}', ""]
    pieces.append("</td></tr>" if width else f'<tr style="{CARD_STYLE}"></tr>')

    def tr(cells: Sequence[str], attrs: str = "") -> str:
        if len(cells) == width and not attrs:
            row = pieces.copy()
            row[1::2] = cells
            return "".join(row)
        inner = "".join(
            f'<td{cls(i)} style="{cell_style(i)}">{label(i)}{c}</td>' for i, c in enumerate(cells)
        )
        return f'<tr{attrs} style="{CARD_STYLE}">{inner}</tr>'

    heads = "".join(f'<th scope="col"{cls(i)}>{h}</th>' for i, h in enumerate(header))
    kind = "grid compact" if compact else "grid"
    out = [
        f'<table class="{kind}" width="100%" cellpadding="5" cellspacing="0" border="0" '
        'style="display:block;width:100%;border-collapse:collapse">',
        '<tbody style="display:block">',
        f'<tr class="head" style="display:none">{heads}</tr>',
    ]
    out += [tr(row) for row in rows]
    if total is not None:
        out.append(tr(total, attrs=' class="total"'))
    out.append("</tbody></table>")
    return "\n".join(out)


def kpi_cell(kpi: Kpi) -> str:
    return f'{e(kpi.name)}<br><span class="id">{e(kpi.id)}</span>'


def _counts_cells(counts: StatusCounts) -> list[str]:
    return [
        str(counts.total),
        *(str(counts.count(s)) for s in Status.summary_order()),
        str(counts.overdue),
        str(counts.needs_action),
    ]


def _cards(report: Report) -> str:
    cells = []
    for status in Status.summary_order():
        fg, bg = STATUS_COLOURS[status]
        cells.append(
            f'<td style="background-color:{bg};color:{fg};text-align:center">'
            f'<div class="n" style="font-size:22px;font-weight:700">'
            f"{report.summary.count(status)}</div>{_escape(STATUS_LABELS[status])}</td>"
        )
    return (
        '<table class="cards" role="presentation" width="100%" cellpadding="8" '
        'cellspacing="4"><tr>' + "".join(cells) + "</tr></table>"
    )


# ---------------------------------------------------------------- sections


def section_heading(report: Report) -> list[str]:
    return [
        f"<h1>{_escape(title(report))}</h1>",
        f"<p>{e(headline(report))}</p>",
        _cards(report),
    ]


def section_summary(report: Report) -> list[str]:
    header = [
        "Owner",
        "KPIs",
        *(_escape(STATUS_LABELS[s].capitalize()) for s in Status.summary_order()),
        "Overdue",
        "Needs action",
    ]
    rows = [[e(owner_name(o.owner)), *_counts_cells(o.counts)] for o in report.owners]
    total = ["All", *_counts_cells(report.summary)]
    numeric = range(1, len(header))
    return ["<h2>Summary</h2>", table(header, rows, numeric=numeric, total=total, compact=True)]


def section_changes(report: Report) -> list[str]:
    out = [
        f"<h2>What changed since {report.since.isoformat()}</h2>",
        f'<p class="muted">Changes dated {_escape(window_text(report))}.</p>',
    ]
    if not report.changes:
        out.append("<p>No status changes.</p>")
    for kind in CHANGE_ORDER:
        changes = report.changes_of(kind)
        if not changes:
            continue
        out.append(f"<h3>{_escape(CHANGE_TITLES[kind])}</h3>")
        rows = [
            [
                kpi_cell(c.result.kpi),
                e(owner_name(c.result.kpi.owner)),
                f'<span style="white-space:nowrap">{badge(c.before)} → {badge(c.after)}</span>',
                e(format_latest(c.result)),
            ]
            for c in changes
        ]
        out.append(table(["KPI", "Owner", "Status", "Latest"], rows))
    out.append("<h3>New measurements</h3>")
    if report.new_measurements:
        rows = [
            [
                kpi_cell(n.kpi),
                n.measurement.date.isoformat(),
                e(format_value(n.kpi, n.measurement.value)),
                e(n.measurement.note) or DASH,
                e(n.measurement.by) or DASH,
            ]
            for n in report.new_measurements
        ]
        out.append(table(["KPI", "Date", "Value", "Note", "By"], rows, nowrap=(1,)))
    else:
        out.append("<p>No new measurements.</p>")
    if report.events:
        out.append("<h3>Events</h3>")
        rows = [
            [
                ev.date.isoformat(),
                e(ev.title),
                e(", ".join(ev.kpis) or "all"),
                e(ev.note) or DASH,
            ]
            for ev in report.events
        ]
        out.append(table(["Date", "Event", "KPIs", "Note"], rows, nowrap=(0,)))
    return out


def section_objectives(report: Report) -> list[str]:
    out = ["<h2>Status by objective</h2>"]
    if not report.objectives:
        out.append("<p>No KPIs.</p>")
    for group in report.objectives:
        heading = e(group.title)
        if group.objective is not None:
            heading += f' <span class="id">{e(group.objective.id)}</span>'
        if group.status is not None:
            heading += f" {badge(group.status)} {e(format_percent(group.progress))}"
        indent = f' style="margin-left:{group.depth * 1.5}em"' if group.depth else ""
        out.append(f"<h3{indent}>{heading}</h3>")
        if not group.results:
            continue
        rows = [
            [
                kpi_cell(r.kpi),
                badge(r.status),
                e(owner_name(r.kpi.owner)),
                e(format_latest(r)),
                e(format_target(r)),
                progress_bar(r.progress),
                sparkline(r),
            ]
            for r in group.results
        ]
        header = ["KPI", "Status", "Owner", "Latest", "Target", "Progress", "Trend"]
        out.append(table(header, rows, nowrap=(1, 5, 6)))
    return out


def section_overdue(report: Report) -> list[str]:
    out = ["<h2>Overdue reports</h2>"]
    if not report.overdue:
        return [*out, "<p>No overdue reports.</p>"]
    rows = [
        [
            kpi_cell(r.kpi),
            e(owner_name(r.kpi.owner)),
            e(str(r.kpi.frequency)),
            r.latest.date.isoformat() if r.latest else "never",
            e(format_overdue(r)),
        ]
        for r in report.overdue
    ]
    header = ["KPI", "Owner", "Frequency", "Last report", "Overdue"]
    return [*out, table(header, rows, nowrap=(3,))]


def action_plan(r: KpiResult) -> str:
    if r.kpi.action:
        return e(action_words(r.kpi) or "")
    if lacks_action_plan(r):
        return f'<strong style="color:{ALERT}">no action plan</strong>'
    return DASH


def section_needs_action(report: Report) -> list[str]:
    out = ["<h2>Needs action</h2>"]
    if not report.needs_action:
        return [*out, "<p>Nothing needs action.</p>"]
    rows = [
        [
            kpi_cell(r.kpi),
            badge(r.status),
            e(owner_name(r.kpi.owner)),
            e(format_reasons(r)),
            action_plan(r),
        ]
        for r in report.needs_action
    ]
    header = ["KPI", "Status", "Owner", "Reasons", "Action plan"]
    return [*out, table(header, rows, nowrap=(1,))]


def section_footer(report: Report) -> list[str]:
    return [f'<p class="muted">Generated by kpitrack as of {report.as_of.isoformat()}.</p>']


def section_definitions(report: Report) -> list[str]:
    """The "Definitions changed since …" section: history rows, moved goalposts highlighted."""
    if report.definitions is None:
        return []
    out = [f"<h2>Definitions changed since {e(report.definitions.since)}</h2>"]
    if report.definitions.unavailable is not None:
        return [*out, f"<p>Not available: {e(report.definitions.unavailable)}.</p>"]
    if not report.definitions.changes:
        return [*out, "<p>No definition changes.</p>"]
    flag = f'<strong style="color:{ALERT}">moved goalpost</strong>'
    rows = [
        [
            e(c.commit),
            e(c.date),
            e(c.author),
            e(c.kpi),
            e(c.field),
            f"{e(c.old) or DASH} → {e(c.new) or DASH}",
            flag if c.moved_goalpost else "",
        ]
        for c in report.definitions.changes
    ]
    header = ["Commit", "Date", "Author", "KPI", "Field", "Old → new", "Moved goalpost"]
    return [*out, table(header, rows, nowrap=(0, 1))]


# The page, top to bottom: add a section by adding its function here.
SECTIONS: tuple[Callable[[Report], list[str]], ...] = (
    section_heading,
    section_summary,
    section_changes,
    section_objectives,
    section_overdue,
    section_needs_action,
    section_definitions,
    section_footer,
)


def title(report: Report) -> str:
    return f"KPI report — {report.as_of.isoformat()}"


def render_report_html(report: Report) -> str:
    head = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        f"<title>{_escape(title(report))}</title>\n<style>\n{CSS}\n</style>\n</head>\n"
        f'<body style="margin:0;background-color:{BACKGROUND};color:{TEXT}">\n'
        '<div class="page">'
    )
    tail = "</div>\n</body>\n</html>\n"
    # One join of the head, every section's fragments and the tail, each on its own
    # line: the page (several MB for 1,000 KPIs) is copied once, not joined and then
    # copied again into the whole.
    page = [head]
    for section in SECTIONS:
        page += section(report)
    if len(page) == 1:
        page.append("")
    page.append(tail)
    return "\n".join(page)


def report(digest: Report) -> str:
    """The `html` report format's entry point (`render.formats.ReportFormat`)."""
    return render_report_html(digest)
