"""The `markdown` format (GitHub tables): status, overdue, actions, show, history, diff
and the report."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kpitrack.domain.model import KpiResult, StatusCounts
from kpitrack.evaluation.evaluate import (
    action_words,
    forecast_words,
    format_percent,
    format_value,
    reason_words,
    status_sentence,
    summary_sentence,
)
from kpitrack.evaluation.rollup import KpiNode, ObjectiveNode, Tree, counts_words

if TYPE_CHECKING:
    from kpitrack.git.changes import Change, DiffRow

# Characters that Markdown (CommonMark/GFM) could read as syntax or HTML inside a table cell.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&])")


def escape(text: str | None) -> str:
    """User text for a table cell, list item or heading: one line, Markdown syntax
    and HTML backslash-escaped (so `<script>` or `# heading` in a name stays text)."""
    from kpitrack.domain.textsafe import visible

    return _SPECIAL.sub(r"\\\1", visible(" ".join((text or "").split()), line=True))


cell = escape


def table_lines(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str = ""
) -> list[str]:
    """A GFM table from cells that are already escaped; `empty` fills blank cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        assert len(row) == len(header)
        lines.append("| " + " | ".join(c or empty for c in row) + " |")
    return lines


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GFM table of user text (each cell escaped)."""
    return "\n".join(table_lines(header, [[cell(c) for c in row] for row in rows])) + "\n"


def summary_line(results: Sequence[KpiResult]) -> str:
    return summary_sentence(StatusCounts.of(results))


def status(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> str:
    rows = [
        [
            r.kpi.id,
            r.kpi.name,
            r.kpi.owner or "—",
            format_value(r.kpi, r.latest.value, unit=True) if r.latest else "—",
            r.latest.date.isoformat() if r.latest else "—",
            format_value(r.kpi, r.kpi.target, unit=True),
            format_value(r.kpi, r.expected, unit=True),
            format_percent(r.progress),
            str(r.status) + (" (overdue)" if r.overdue is not None else ""),
        ]
        for r in results
    ]
    header = ["KPI", "Name", "Owner", "Latest", "Date", "Target", "Expected", "Progress"]
    return table([*header, "Status"], rows) + "\n" + summary_line(results) + "\n"


def overdue(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> str:
    rows = []
    for r in results:
        o = r.overdue
        if o is None:
            continue
        rows.append(
            [
                r.kpi.id,
                r.kpi.name,
                r.kpi.owner or "—",
                str(r.kpi.frequency),
                r.latest.date.isoformat() if r.latest else "never",
                "never reported" if o.never_reported else str(o.missed_periods),
                o.due_since.isoformat() if o.due_since else "—",
                str(o.days) if o.days is not None else "—",
            ]
        )
    if not rows:
        return "No overdue reports.\n"
    header = ["KPI", "Name", "Owner", "Frequency", "Last report", "Missed", "Due since", "Days"]
    return table(header, rows)


def action_owner(r: KpiResult) -> str | None:
    """Who owes the action: the action plan's owner, else the KPI's owner."""
    plan = r.kpi.action_plan
    return plan.owner if plan is not None and plan.owner else r.kpi.owner


def actions(results: Sequence[KpiResult], *, as_of: dt.date | None = None) -> str:
    """One section per action owner (the plan's owner, else the KPI's), in the order of
    each owner's worst KPI; KPIs with no owner at all come last."""
    groups: dict[str | None, list[list[str]]] = {}
    for r in results:
        if not r.needs_action:
            continue
        groups.setdefault(action_owner(r), []).append(
            [
                r.kpi.id,
                r.kpi.name,
                str(r.status),
                reason_words(r),
                action_words(r.kpi) or "none",
            ]
        )
    if not groups:
        return "Nothing needs action.\n"
    header = ["KPI", "Name", "Status", "Reasons", "Action plan"]
    sections = [
        f"### {escape(owner) if owner is not None else 'No owner'}\n\n" + table(header, rows)
        for owner, rows in sorted(groups.items(), key=lambda item: item[0] is None)
    ]
    return "\n".join(sections)


def show(result: KpiResult, *, all_history: bool = True) -> str:
    """One KPI: definition, milestones, its whole history and why its status (a document
    is never cut to the last values, so `all_history` changes nothing here)."""
    kpi = result.kpi
    out = [f"## {escape(kpi.name)} (`{kpi.id}`)\n"]
    facts = [
        *([("Archived", "yes (hidden from lists unless named)")] if kpi.archived else []),
        ("Measure", kpi.measure),
        ("Target", format_value(kpi, kpi.target, unit=True) + f" ({kpi.direction})"),
        ("Baseline", format_value(kpi, result.baseline, unit=True)),
        ("Start", result.start.isoformat() if result.start else "—"),
        ("Due", kpi.due.isoformat() if kpi.due else "none (standing target)"),
        ("Frequency", str(kpi.frequency)),
        ("Owner", kpi.owner or "—"),
        ("Objective", kpi.objective or "—"),
        ("Action plan", action_words(kpi) or "none"),
    ]
    out.append("".join(f"- **{k}:** {cell(v)}\n" for k, v in facts))
    if kpi.milestones:
        rows = [
            [m.date.isoformat(), format_value(kpi, m.target, unit=True)] for m in kpi.milestones
        ]
        out.append("\n### Milestones\n\n" + table(["Date", "Target"], rows))
    if result.history:
        rows = [
            [m.date.isoformat(), format_value(kpi, m.value, unit=True), m.note or "", m.by or ""]
            for m in result.history
        ]
        out.append("\n### History\n\n" + table(["Date", "Value", "Note", "By"], rows))
    if result.events:
        rows = [[e.date.isoformat(), e.title, e.note or ""] for e in result.events]
        out.append("\n### Events\n\n" + table(["Date", "Event", "Note"], rows))
    out.append(f"\n### Status: {result.status}\n\n{escape(status_sentence(result))}\n")
    words = forecast_words(result)
    if words is not None:
        out.append(f"\nForecast: {escape(words)}\n")
    if result.reasons:
        out.append(f"\nNeeds action: {escape(reason_words(result))}\n")
    return "".join(out)


def history(changes: Sequence[Change]) -> str:
    """`kpitrack history` (and the report's definition section): one row per change."""
    from kpitrack.render.history import cell as text

    header = ["commit", "date", "author", "KPI", "field", "old → new", "moved goalpost"]
    rows = [
        [
            escape(c.commit),
            escape(c.date),
            escape(c.author),
            escape(c.kpi),
            escape(c.field),
            f"{escape(text(c.old) or '—')} → {escape(text(c.new) or '—')}",
            "**moved goalpost**" if c.moved_goalpost else "",
        ]
        for c in changes
    ]
    return "\n".join(table_lines(header, rows)) + "\n"


def diff(rows: Sequence[DiffRow]) -> str:
    """`kpitrack diff`: one row per added, removed or redefined KPI or objective."""
    from kpitrack.render.history import arrow

    header = ["change", "kind", "id", "field", "old → new"]
    return table(header, [[r.change, r.kind, r.id, r.field or "", arrow(r)] for r in rows])


def _tree_kpi(node: KpiNode, depth: int, lines: list[str], *, driver: bool = False) -> None:
    r = node.result
    owner = f", owner {escape(r.kpi.owner)}" if r.kpi.owner else ""
    role = "driver " if driver else ""
    lines.append(
        f"{'  ' * depth}- {role}`{r.kpi.id}` {escape(r.kpi.name)} — {r.status}, "
        f"{format_percent(r.progress)}{owner}"
    )
    for d in node.drivers:
        _tree_kpi(d, depth + 1, lines, driver=True)


def _tree_objective(node: ObjectiveNode, lines: list[str]) -> None:
    o = node.objective
    owner = f", owner {escape(o.owner)}" if o.owner else ""
    counts = counts_words(node.counts)
    below = f"; {node.counts.total} KPIs: {', '.join(counts)}" if counts else "; no KPIs"
    lines.append(
        f"{'  ' * node.depth}- **{o.id}** {escape(o.title)} — {node.status}, "
        f"{format_percent(node.progress)}{owner}{below}"
    )
    for k in node.kpis:
        _tree_kpi(k, node.depth + 1, lines)
    for child in node.children:
        _tree_objective(child, lines)


def tree(view: Tree, *, as_of: dt.date) -> str:
    """`kpitrack tree --format markdown`: the objective tree as a nested list."""
    lines = [f"# Objectives as of {as_of.isoformat()}", ""]
    for root in view.roots:
        _tree_objective(root, lines)
    if view.unassigned:
        lines.append("- **No objective**")
        for k in view.unassigned:
            _tree_kpi(k, 1, lines)
    if len(lines) == 2:
        lines.append("No objectives or KPIs.")
    return "\n".join(lines) + "\n"
