"""The report for a terminal: Rich renderables (the caller prints them).

User text is always wrapped in `Text`, never parsed as markup.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
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
from kpitrack.render.table import (
    STATUS_STYLE,
    FittedTable,
    keep_column,
    status_text,
    wrap_column,
)
from kpitrack.reports.digest import Report


def _heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


def _subheading(text: str) -> Text:
    return Text(f"\n{text}", style="bold")


def _kpi(kpi: Kpi) -> Text:
    """The id, and the name below it (dim): ids are what people type, names what they read."""
    return Text.assemble((kpi.id, "bold"), "\n", (one_line(kpi.name), "dim"))


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


SUMMARY_DROP_ORDER = ("achieved", "no\ndata")
CHANGES_DROP_ORDER = ("Owner", "Latest")
NEW_MEASUREMENTS_DROP_ORDER = ("By", "Note")
OBJECTIVE_DROP_ORDER = ("Progress", "Owner", "Latest")
OVERDUE_DROP_ORDER = ("Frequency", "Owner")
NEEDS_ACTION_DROP_ORDER = ("Owner", "Status", "Reasons")
DEFINITIONS_DROP_ORDER = ("Commit", "Date", "Moved goalpost")


def _summary(report: Report) -> FittedTable:
    """Owners and their counts; two-line headings keep it within 60 columns."""
    headers = [
        "KPIs",
        *(STATUS_LABELS[s].replace(" ", "\n") for s in Status.summary_order()),
        "overdue",
        "needs\naction",
    ]
    owners = [Text(owner_name(o.owner)) for o in report.owners] + [Text("All")]
    rows = [_counts_row(o.counts) for o in report.owners] + [_counts_row(report.summary)]
    columns = [wrap_column("Owner", owners)]
    for k, header in enumerate(headers):
        columns.append(keep_column(header, [row[k] for row in rows], justify="right"))
    return FittedTable(
        columns,
        SUMMARY_DROP_ORDER,
        gap=1,
        sections=[len(report.owners)],
        row_styles=[""] * len(report.owners) + ["bold"],
    )


def render_report_rich(report: Report) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"KPI report — {report.as_of.isoformat()}", style="bold"),
        Text(headline(report)),
    ]

    parts.append(_heading("Summary"))
    parts.append(_summary(report))

    parts.append(_heading(f"What changed since {report.since.isoformat()}"))
    parts.append(Text(f"Changes dated {window_text(report)}.", style="dim"))
    if not report.changes:
        parts.append(Text("No status changes."))
    for kind in CHANGE_ORDER:
        changes = report.changes_of(kind)
        if not changes:
            continue
        table = FittedTable(
            [
                wrap_column("KPI", [_kpi(c.result.kpi) for c in changes]),
                wrap_column("Owner", [Text(owner_name(c.result.kpi.owner)) for c in changes]),
                wrap_column(
                    "Status",
                    [
                        Text.assemble(status_text(c.before), " → ", status_text(c.after))
                        for c in changes
                    ],
                ),
                wrap_column("Latest", [Text(format_latest(c.result)) for c in changes]),
            ],
            CHANGES_DROP_ORDER,
        )
        parts += [_subheading(CHANGE_TITLES[kind]), table]
    parts.append(_subheading("New measurements"))
    if report.new_measurements:
        new = report.new_measurements
        parts.append(
            FittedTable(
                [
                    keep_column("Date", [Text(n.measurement.date.isoformat()) for n in new]),
                    wrap_column("KPI", [Text(n.kpi.id) for n in new]),
                    wrap_column(
                        "Value", [Text(format_value(n.kpi, n.measurement.value)) for n in new]
                    ),
                    wrap_column("Note", [Text(one_line(n.measurement.note)) for n in new]),
                    wrap_column("By", [Text(one_line(n.measurement.by)) for n in new]),
                ],
                NEW_MEASUREMENTS_DROP_ORDER,
            )
        )
    else:
        parts.append(Text("No new measurements."))
    if report.events:
        events = report.events
        table = FittedTable(
            [
                keep_column("Date", [Text(e.date.isoformat()) for e in events]),
                wrap_column("Event", [Text(one_line(e.title)) for e in events]),
                wrap_column("KPIs", [Text(", ".join(e.kpis) or "all") for e in events]),
                wrap_column("Note", [Text(one_line(e.note)) for e in events]),
            ],
            ("Note", "KPIs"),
        )
        parts += [_subheading("Events"), table]

    parts.append(_heading("Status by objective"))
    if not report.objectives:
        parts.append(Text("No KPIs."))
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
        table = FittedTable(
            [
                wrap_column("KPI", [_kpi(r.kpi) for r in results]),
                wrap_column("Owner", [Text(owner_name(r.kpi.owner)) for r in results]),
                wrap_column("Latest", [Text(format_latest(r)) for r in results]),
                wrap_column("Target", [Text(format_target(r)) for r in results]),
                keep_column(
                    "Progress", [Text(format_percent(r.progress)) for r in results], justify="right"
                ),
                keep_column("Status", [status_text(r.status) for r in results]),
            ],
            OBJECTIVE_DROP_ORDER,
        )
        parts += [_subheading(title), table]

    parts.append(_heading("Overdue reports"))
    if report.overdue:
        late = report.overdue
        parts.append(
            FittedTable(
                [
                    wrap_column("KPI", [Text(r.kpi.id) for r in late]),
                    wrap_column("Owner", [Text(owner_name(r.kpi.owner)) for r in late]),
                    keep_column("Frequency", [Text(str(r.kpi.frequency)) for r in late]),
                    keep_column(
                        "Last report",
                        [Text(r.latest.date.isoformat() if r.latest else "never") for r in late],
                    ),
                    wrap_column("Overdue", [Text(format_overdue(r), style="red") for r in late]),
                ],
                OVERDUE_DROP_ORDER,
            )
        )
    else:
        parts.append(Text("No overdue reports."))

    parts.append(_heading("Needs action"))
    if report.needs_action:
        plans: list[Text] = []
        for r in report.needs_action:
            if r.kpi.action:
                plans.append(Text(one_line(action_words(r.kpi) or "")))
            elif lacks_action_plan(r):
                plans.append(Text("none", style="bold red"))
            else:
                plans.append(Text(DASH, style="dim"))
        needs = report.needs_action
        parts.append(
            FittedTable(
                [
                    wrap_column("KPI", [Text(r.kpi.id) for r in needs]),
                    wrap_column("Owner", [Text(owner_name(r.kpi.owner)) for r in needs]),
                    keep_column("Status", [status_text(r.status) for r in needs]),
                    wrap_column("Reasons", [Text(format_reasons(r)) for r in needs]),
                    wrap_column("Action plan", plans),
                ],
                NEEDS_ACTION_DROP_ORDER,
            )
        )
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
    changes = report.definitions.changes
    table = FittedTable(
        [
            keep_column("Commit", [Text(c.commit) for c in changes]),
            keep_column("Date", [Text(c.date) for c in changes]),
            wrap_column("KPI", [Text(c.kpi) for c in changes]),
            wrap_column("Field", [Text(c.field) for c in changes]),
            wrap_column("Old → new", [Text(f"{c.old or DASH} → {c.new or DASH}") for c in changes]),
            wrap_column(
                "Moved goalpost",
                [
                    Text("moved goalpost", style="bold red") if c.moved_goalpost else Text("")
                    for c in changes
                ],
            ),
        ],
        DEFINITIONS_DROP_ORDER,
    )
    return [*parts, table]


def report(digest: Report) -> RenderableType:
    """`kpitrack report` for the terminal (the `table` format): the entry point
    `render.formats.ReportFormat` picks."""
    return render_report_rich(digest)
