"""The report as Markdown: GitHub/GitLab-flavoured tables that also read well as plain text."""

from __future__ import annotations

from collections.abc import Sequence

from kpitrack.domain.model import Status, StatusCounts
from kpitrack.evaluation.evaluate import action_words, format_percent
from kpitrack.render.markdown import escape, table_lines
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
    owner_name,
    window_text,
)
from kpitrack.reports.digest import Report


def code(text: str) -> str:
    """An id in a code span (ids are slugs; `|` would still need escaping in a table)."""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GFM table; cells are already escaped. Empty cells get a dash so rows stay visible."""
    return table_lines(header, rows, empty=DASH)


def _counts_cells(counts: StatusCounts) -> list[str]:
    return [
        str(counts.total),
        *(str(counts.count(status)) for status in Status.summary_order()),
        str(counts.overdue),
        str(counts.needs_action),
    ]


def render_report_markdown(report: Report) -> str:
    out: list[str] = [f"# KPI report — {report.as_of.isoformat()}", ""]
    out += [headline(report), ""]

    # Summary, per owner and in total.
    out += ["## Summary", ""]
    header = [
        "Owner",
        "KPIs",
        *(STATUS_LABELS[s].capitalize() for s in Status.summary_order()),
        "Overdue",
        "Needs action",
    ]
    rows = [[escape(owner_name(o.owner)), *_counts_cells(o.counts)] for o in report.owners]
    rows.append(["**All**", *(f"**{cell}**" for cell in _counts_cells(report.summary))])
    out += [*table(header, rows), ""]

    # What changed in the window.
    out += [f"## What changed since {report.since.isoformat()}", ""]
    out += [f"Changes dated {window_text(report)}.", ""]
    if not report.changes:
        out += ["No status changes.", ""]
    for kind in CHANGE_ORDER:
        changes = report.changes_of(kind)
        if not changes:
            continue
        out += [f"### {CHANGE_TITLES[kind]}", ""]
        rows = [
            [
                code(c.result.kpi.id),
                escape(c.result.kpi.name),
                escape(owner_name(c.result.kpi.owner)),
                f"{c.before} → {c.after}",
                escape(format_latest(c.result)),
            ]
            for c in changes
        ]
        out += [*table(["KPI", "Name", "Owner", "Status", "Latest"], rows), ""]
    out += ["### New measurements", ""]
    if report.new_measurements:
        rows = [
            [
                n.measurement.date.isoformat(),
                code(n.kpi.id),
                escape(format_value(n.kpi, n.measurement.value)),
                escape(n.measurement.note),
                escape(n.measurement.by),
            ]
            for n in report.new_measurements
        ]
        out += [*table(["Date", "KPI", "Value", "Note", "By"], rows), ""]
    else:
        out += ["No new measurements.", ""]
    if report.events:
        out += ["### Events", ""]
        rows = [
            [
                e.date.isoformat(),
                escape(e.title),
                ", ".join(code(k) for k in e.kpis) or "all",
                escape(e.note),
            ]
            for e in report.events
        ]
        out += [*table(["Date", "Event", "KPIs", "Note"], rows), ""]

    # Status by objective.
    out += ["## Status by objective", ""]
    if not report.objectives:
        out += ["No KPIs.", ""]
    for group in report.objectives:
        title = escape(group.title)
        if group.objective is not None:
            title += f" ({code(group.objective.id)})"
        out += [f"###{'#' * min(group.depth, 3)} {title}", ""]
        if group.status is not None:
            out += [f"Objective: {group.status}, progress {format_percent(group.progress)}.", ""]
        if not group.results:
            continue
        rows = [
            [
                code(r.kpi.id),
                escape(r.kpi.name),
                escape(owner_name(r.kpi.owner)),
                escape(format_latest(r)),
                escape(format_target(r)),
                format_percent(r.progress),
                str(r.status),
            ]
            for r in group.results
        ]
        header = ["KPI", "Name", "Owner", "Latest", "Target", "Progress", "Status"]
        out += [*table(header, rows), ""]

    # Overdue reports.
    out += ["## Overdue reports", ""]
    if report.overdue:
        rows = [
            [
                code(r.kpi.id),
                escape(owner_name(r.kpi.owner)),
                str(r.kpi.frequency),
                r.latest.date.isoformat() if r.latest else "never",
                escape(format_overdue(r)),
            ]
            for r in report.overdue
        ]
        out += [*table(["KPI", "Owner", "Frequency", "Last report", "Overdue"], rows), ""]
    else:
        out += ["No overdue reports.", ""]

    # Needs action.
    out += ["## Needs action", ""]
    if report.needs_action:
        rows = [
            [
                code(r.kpi.id),
                escape(owner_name(r.kpi.owner)),
                str(r.status),
                escape(format_reasons(r)),
                escape(action_words(r.kpi) or "")
                if r.kpi.action
                else ("**none**" if lacks_action_plan(r) else DASH),
            ]
            for r in report.needs_action
        ]
        out += [*table(["KPI", "Owner", "Status", "Reasons", "Action plan"], rows), ""]
    else:
        out += ["Nothing needs action.", ""]

    out += definitions_section(report)
    return "\n".join(out).rstrip("\n") + "\n"


def definitions_section(report: Report) -> list[str]:
    """The "Definitions changed since …" section: history rows, moved goalposts in bold."""
    if report.definitions is None:
        return []
    from kpitrack.render.markdown import history

    out = [f"## Definitions changed since {escape(report.definitions.since)}", ""]
    if report.definitions.unavailable is not None:
        out += [f"Not available: {escape(report.definitions.unavailable)}.", ""]
    elif report.definitions.changes:
        out += [history(report.definitions.changes).rstrip("\n"), ""]
    else:
        out += ["No definition changes.", ""]
    return out


def report(digest: Report) -> str:
    """`kpitrack report --format markdown`: the entry point `render.formats.ReportFormat` picks."""
    return render_report_markdown(digest)
