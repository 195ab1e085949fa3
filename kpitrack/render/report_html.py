"""The report as one self-contained HTML page.

No external requests: inline CSS, inline SVG sparklines and progress bars, no
scripts, no links to stylesheets, fonts or images. Simple tables and styles a
mail client keeps (badges and bars carry inline styles), plus `@media print`.
All user text goes through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as _escape

from kpitrack.evaluate import format_percent
from kpitrack.model import Kpi, KpiResult, Status
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
from kpitrack.report import SUMMARY_ORDER, Report, StatusCounts

# (text colour, background) per status; also the sparkline colour.
STATUS_COLOURS: dict[Status, tuple[str, str]] = {
    Status.ACHIEVED: ("#0b5d1e", "#c9f0d3"),
    Status.ON_TRACK: ("#1a7f37", "#dafbe1"),
    Status.AT_RISK: ("#7d4e00", "#fff1c2"),
    Status.OFF_TRACK: ("#a40e26", "#ffdce0"),
    Status.NO_DATA: ("#57606a", "#eaeef2"),
}

SPARK_WIDTH, SPARK_HEIGHT, SPARK_POINTS = 96, 24, 12
BAR_WIDTH, BAR_HEIGHT = 80, 8

CSS = """
body { margin: 0; padding: 24px; background: #ffffff; color: #1f2328;
  font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  font-size: 14px; line-height: 1.45; }
.page { max-width: 980px; margin: 0 auto; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
h2 { font-size: 17px; margin: 28px 0 8px 0; padding-bottom: 4px;
  border-bottom: 1px solid #d0d7de; }
h3 { font-size: 15px; margin: 18px 0 6px 0; }
p { margin: 4px 0 10px 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 14px 0; }
th, td { border: 1px solid #d0d7de; padding: 5px 8px; text-align: left; vertical-align: middle; }
th { background: #f6f8fa; font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
tr.total td { font-weight: 700; background: #f6f8fa; }
.muted { color: #57606a; }
.id { font-family: SFMono-Regular, Consolas, "Liberation Mono", Menlo, monospace;
  font-size: 12px; color: #57606a; }
.cards td { border: none; text-align: center; padding: 10px 4px; width: 20%; }
.cards .n { font-size: 26px; font-weight: 700; line-height: 1.1; }
svg { vertical-align: middle; }
@media print {
  body { padding: 0; font-size: 10pt; }
  .page { max-width: none; }
  h2 { page-break-after: avoid; break-after: avoid; }
  tr, .cards { page-break-inside: avoid; break-inside: avoid; }
  th, tr.total td { background: #ffffff; }
  .badge { border: 1px solid #57606a; }
}
""".strip()


def e(text: str | None) -> str:
    """User text for HTML: escaped, on one line."""
    return _escape(one_line(text), quote=True)


def badge(status: Status) -> str:
    fg, bg = STATUS_COLOURS[status]
    return (
        f'<span class="badge" style="display:inline-block;padding:1px 8px;border-radius:10px;'
        f'font-size:12px;font-weight:600;white-space:nowrap;color:{fg};background:{bg}">'
        f"{_escape(str(status))}</span>"
    )


def progress_bar(progress: float | None) -> str:
    """An inline SVG bar (clamped to 0–100%) followed by the unclamped percentage."""
    if progress is None:
        return f'<span class="muted">{DASH}</span>'
    filled = max(0.0, min(1.0, progress)) * BAR_WIDTH
    colour = "#1a7f37" if progress >= 1 else "#0969da"
    label = _escape(format_percent(progress))
    return (
        f'<svg width="{BAR_WIDTH}" height="{BAR_HEIGHT}" viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" '
        f'role="img" aria-label="progress {label}">'
        f'<rect width="{BAR_WIDTH}" height="{BAR_HEIGHT}" rx="4" fill="#eaeef2"/>'
        f'<rect width="{filled:.1f}" height="{BAR_HEIGHT}" rx="4" fill="{colour}"/></svg> '
        f"{label}"
    )


def sparkline(r: KpiResult) -> str:
    """The last values as an inline SVG line, with the target as a dashed line."""
    kpi: Kpi = r.kpi
    values = [kpi.position(m.value) for m in r.history[-SPARK_POINTS:]]
    if not values:
        return f'<span class="muted">{DASH}</span>'
    try:
        target: float | None = kpi.position(kpi.target)
    except (ValueError, TypeError):
        target = None
    lows = [*values, *([target] if target is not None else [])]
    low, high = min(lows), max(lows)
    span = (high - low) or 1.0
    pad = 3.0

    def y(v: float) -> float:
        return pad + (high - v) / span * (SPARK_HEIGHT - 2 * pad)

    step = (SPARK_WIDTH - 2 * pad) / max(1, len(values) - 1)
    points = [(pad + i * step, y(v)) for i, v in enumerate(values)]
    colour = STATUS_COLOURS[r.status][0]
    path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in points)
    last_x, last_y = points[-1]
    target_line = (
        f'<line x1="0" x2="{SPARK_WIDTH}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
        f'stroke="#8c959f" stroke-width="1" stroke-dasharray="3,2"/>'
        if target is not None
        else ""
    )
    line = (
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5" '
        f'stroke-linejoin="round" stroke-linecap="round"/>'
        if len(points) > 1
        else ""
    )
    label = _escape(f"trend of the last {len(values)} values; dashed line: target")
    return (
        f'<svg width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" '
        f'viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" aria-label="{label}">'
        f'{target_line}{line}<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" '
        f'fill="{colour}"/></svg>'
    )


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    total: Sequence[str] | None = None,
    nowrap: Sequence[int] = (),
) -> str:
    """A table from pre-escaped cells; `numeric` columns are right-aligned, `nowrap` kept whole."""

    def cls(i: int) -> str:
        if i in numeric:
            return ' class="num"'
        return ' class="nowrap"' if i in nowrap else ""

    def tr(cells: Sequence[str], tag: str = "td", attrs: str = "") -> str:
        inner = "".join(f"<{tag}{cls(i)}>{c}</{tag}>" for i, c in enumerate(cells))
        return f"<tr{attrs}>{inner}</tr>"

    out = ["<table>", tr(header, "th")]
    out += [tr(row) for row in rows]
    if total is not None:
        out.append(tr(total, attrs=' class="total"'))
    out.append("</table>")
    return "\n".join(out)


def kpi_cell(kpi: Kpi) -> str:
    return f'{e(kpi.name)}<br><span class="id">{e(kpi.id)}</span>'


def _counts_cells(counts: StatusCounts) -> list[str]:
    return [
        str(counts.total),
        *(str(counts.count(s)) for s in SUMMARY_ORDER),
        str(counts.overdue),
        str(counts.needs_action),
    ]


def _cards(report: Report) -> str:
    cells = []
    for status in SUMMARY_ORDER:
        fg, bg = STATUS_COLOURS[status]
        cells.append(
            f'<td style="background:{bg};color:{fg}"><div class="n">'
            f"{report.summary.count(status)}</div>{_escape(STATUS_LABELS[status])}</td>"
        )
    return '<table class="cards"><tr>' + "".join(cells) + "</tr></table>"


def render_report_html(report: Report) -> str:
    title = f"KPI report — {report.as_of.isoformat()}"
    body: list[str] = [f"<h1>{_escape(title)}</h1>", f"<p>{e(headline(report))}</p>"]
    body.append(_cards(report))

    body.append("<h2>Summary</h2>")
    header = [
        "Owner",
        "KPIs",
        *(_escape(STATUS_LABELS[s].capitalize()) for s in SUMMARY_ORDER),
        "Overdue",
        "Needs action",
    ]
    numeric = range(1, len(header))
    rows = [[e(owner_name(o.owner)), *_counts_cells(o.counts)] for o in report.owners]
    total = ["All", *_counts_cells(report.summary)]
    body.append(table(header, rows, numeric=numeric, total=total))

    body.append(f"<h2>What changed since {report.since.isoformat()}</h2>")
    body.append(f'<p class="muted">Changes dated {_escape(window_text(report))}.</p>')
    if not report.changes:
        body.append("<p>No status changes.</p>")
    for kind in CHANGE_ORDER:
        changes = report.changes_of(kind)
        if not changes:
            continue
        body.append(f"<h3>{_escape(CHANGE_TITLES[kind])}</h3>")
        rows = [
            [
                kpi_cell(c.result.kpi),
                e(owner_name(c.result.kpi.owner)),
                f"{badge(c.before)} → {badge(c.after)}",
                e(format_latest(c.result)),
            ]
            for c in changes
        ]
        body.append(table(["KPI", "Owner", "Status", "Latest"], rows))
    body.append("<h3>New measurements</h3>")
    if report.new_measurements:
        rows = [
            [
                n.measurement.date.isoformat(),
                kpi_cell(n.kpi),
                e(format_value(n.kpi, n.measurement.value)),
                e(n.measurement.note) or DASH,
                e(n.measurement.by) or DASH,
            ]
            for n in report.new_measurements
        ]
        body.append(table(["Date", "KPI", "Value", "Note", "By"], rows))
    else:
        body.append("<p>No new measurements.</p>")

    body.append("<h2>Status by objective</h2>")
    if not report.objectives:
        body.append("<p>No KPIs.</p>")
    for group in report.objectives:
        heading = e(group.title)
        if group.objective is not None:
            heading += f' <span class="id">{e(group.objective.id)}</span>'
        body.append(f"<h3>{heading}</h3>")
        rows = [
            [
                kpi_cell(r.kpi),
                e(owner_name(r.kpi.owner)),
                e(format_latest(r)),
                e(format_target(r)),
                progress_bar(r.progress),
                sparkline(r),
                badge(r.status),
            ]
            for r in group.results
        ]
        header = ["KPI", "Owner", "Latest", "Target", "Progress", "Trend", "Status"]
        body.append(table(header, rows, nowrap=range(2, len(header))))

    body.append("<h2>Overdue reports</h2>")
    if report.overdue:
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
        body.append(table(["KPI", "Owner", "Frequency", "Last report", "Overdue"], rows))
    else:
        body.append("<p>No overdue reports.</p>")

    body.append("<h2>Needs action</h2>")
    if report.needs_action:
        rows = [
            [
                kpi_cell(r.kpi),
                e(owner_name(r.kpi.owner)),
                badge(r.status),
                e(format_reasons(r)),
                e(r.kpi.action)
                if r.kpi.action
                else (
                    '<strong style="color:#a40e26">no action plan</strong>'
                    if lacks_action_plan(r)
                    else DASH
                ),
            ]
            for r in report.needs_action
        ]
        body.append(table(["KPI", "Owner", "Status", "Reasons", "Action plan"], rows))
    else:
        body.append("<p>Nothing needs action.</p>")

    body.append(definitions_section(report))
    body.append(f'<p class="muted">Generated by kpitrack as of {report.as_of.isoformat()}.</p>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        f"<title>{_escape(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n"
        '<body>\n<div class="page">\n' + "\n".join(body) + "\n</div>\n</body>\n</html>\n"
    )


def definitions_section(report: Report) -> str:
    """The "Definitions changed since …" section: history rows, moved goalposts highlighted."""
    if report.definitions is None:
        return ""
    out = [f"<h2>Definitions changed since {e(report.definitions.since)}</h2>"]
    if not report.definitions.changes:
        return out[0] + "\n<p>No definition changes.</p>"
    flag = '<strong style="color:#a40e26">moved goalpost</strong>'
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
    out.append(table(header, rows))
    return "\n".join(out)
