"""The report for a terminal: Rich renderables (the caller prints them).

User text is always wrapped in `Text`, never parsed as markup.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kpitrack.domain.model import Kpi, Status, StatusCounts
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
from kpitrack.render.table import STATUS_STYLE, status_text
from kpitrack.reports.digest import Report


def _heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


def _subheading(text: str) -> Text:
    return Text(f"\n{text}", style="bold")


def _kpi(kpi: Kpi) -> Text:
    """The id, and the name below it (dim): ids are what people type, names what they read."""
    return Text.assemble((kpi.id, "bold"), "\n", (one_line(kpi.name), "dim"))


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _counts_row(counts: StatusCounts) -> list[Text]:
    return [
        Text(str(counts.total)),
        *(
            Text(str(n), style=STATUS_STYLE[s] if n else "")
            for s, n in ((s, counts.count(s)) for s in Status.summary_order())
        ),
        Text(str(counts.overdue)),
        Text(str(counts.needs_action)),
    ]


def render_report_rich(report: Report) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"KPI report — {report.as_of.isoformat()}", style="bold"),
        Text(headline(report)),
    ]

    parts.append(_heading("Summary"))
    # Two-line headings keep the table within 80 columns (cron mail, pipes).
    summary = _table(
        "Owner",
        "KPIs",
        *(STATUS_LABELS[s].replace(" ", "\n") for s in Status.summary_order()),
        "overdue",
        "needs\naction",
    )
    for col in summary.columns[1:]:
        col.justify = "right"
        col.no_wrap = True
    for o in report.owners:
        summary.add_row(Text(owner_name(o.owner)), *_counts_row(o.counts))
    summary.add_section()
    summary.add_row(Text("All"), *_counts_row(report.summary), style="bold")
    parts.append(summary)

    parts.append(_heading(f"What changed since {report.since.isoformat()}"))
    parts.append(Text(f"Changes dated {window_text(report)}.", style="dim"))
    if not report.changes:
        parts.append(Text("No status changes."))
    for kind in CHANGE_ORDER:
        changes = report.changes_of(kind)
        if not changes:
            continue
        table = _table("KPI", "Owner", "Status", "Latest")
        for c in changes:
            change = Text.assemble(status_text(c.before), " → ", status_text(c.after))
            table.add_row(
                _kpi(c.result.kpi),
                Text(owner_name(c.result.kpi.owner)),
                change,
                Text(format_latest(c.result)),
            )
        parts += [_subheading(CHANGE_TITLES[kind]), table]
    parts.append(_subheading("New measurements"))
    if report.new_measurements:
        table = _table("Date", "KPI", "Value", "Note", "By")
        for n in report.new_measurements:
            m = n.measurement
            table.add_row(
                Text(m.date.isoformat()),
                Text(n.kpi.id),
                Text(format_value(n.kpi, m.value)),
                Text(one_line(m.note)),
                Text(one_line(m.by)),
            )
        parts.append(table)
    else:
        parts.append(Text("No new measurements."))

    parts.append(_heading("Status by objective"))
    if not report.objectives:
        parts.append(Text("No KPIs."))
    for group in report.objectives:
        table = _table("KPI", "Owner", "Latest", "Target", "Progress", "Status")
        title = one_line(group.title)
        if group.objective is not None:
            title += f" ({group.objective.id})"
        table.columns[4].justify = "right"
        for r in group.results:
            table.add_row(
                _kpi(r.kpi),
                Text(owner_name(r.kpi.owner)),
                Text(format_latest(r)),
                Text(format_target(r)),
                Text(format_percent(r.progress)),
                status_text(r.status),
            )
        parts += [_subheading(title), table]

    parts.append(_heading("Overdue reports"))
    if report.overdue:
        table = _table("KPI", "Owner", "Frequency", "Last report", "Overdue")
        for r in report.overdue:
            table.add_row(
                Text(r.kpi.id),
                Text(owner_name(r.kpi.owner)),
                Text(str(r.kpi.frequency)),
                Text(r.latest.date.isoformat() if r.latest else "never"),
                Text(format_overdue(r), style="red"),
            )
        parts.append(table)
    else:
        parts.append(Text("No overdue reports."))

    parts.append(_heading("Needs action"))
    if report.needs_action:
        table = _table("KPI", "Owner", "Status", "Reasons", "Action plan")
        for r in report.needs_action:
            if r.kpi.action:
                action = Text(one_line(action_words(r.kpi) or ""))
            elif lacks_action_plan(r):
                action = Text("none", style="bold red")
            else:
                action = Text(DASH, style="dim")
            table.add_row(
                Text(r.kpi.id),
                Text(owner_name(r.kpi.owner)),
                status_text(r.status),
                Text(format_reasons(r)),
                action,
            )
        parts.append(table)
    else:
        parts.append(Text("Nothing needs action."))

    parts.extend(definitions_section(report))
    return Group(*parts)


def definitions_section(report: Report) -> list[RenderableType]:
    """The "Definitions changed since …" section: history rows, moved goalposts in red."""
    if report.definitions is None:
        return []
    parts: list[RenderableType] = [
        _heading(f"Definitions changed since {report.definitions.since}")
    ]
    if report.definitions.unavailable is not None:
        return [*parts, Text(f"Not available: {report.definitions.unavailable}.")]
    if not report.definitions.changes:
        return [*parts, Text("No definition changes.")]
    table = _table("Commit", "Date", "KPI", "Field", "Old → new", "Moved goalpost")
    for c in report.definitions.changes:
        table.add_row(
            Text(c.commit),
            Text(c.date),
            Text(c.kpi),
            Text(c.field),
            Text(f"{c.old or DASH} → {c.new or DASH}"),
            Text("moved goalpost", style="bold red") if c.moved_goalpost else Text(""),
        )
    return [*parts, table]


def report(digest: Report) -> RenderableType:
    """`kpitrack report` for the terminal (the `table` format): the entry point
    `render.formats.ReportFormat` picks."""
    return render_report_rich(digest)
