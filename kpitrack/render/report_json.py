"""The report as JSON: `as_of` and `kpis` as every command has them, the sections beside them.

Keys (documented in docs/report.md):

- `as_of`, `since`: ISO dates; the window is after `since` up to and including `as_of`.
- `kpis`: one object per KPI covered, in workspace order (`render.json.result_json`).
- `summary`: counts for all KPIs covered (see `counts_json`).
- `owners`: `[{"owner": str | null, **counts}]`, owners A→Z, no owner last.
- `changes`: `{"regressions", "improvements", "first_reports": [{"id", "from", "to"}],
  "new_measurements": [{"kpi", "date", "value", "note"?, "by"?}]}`.
- `objectives`: `[{"id": str | null, "title", "kpis": [id], "summary": counts, "depth",
  "parent", "progress", "status"}]` in the objective tree's order (parents first); `progress`
  and `status` are the roll-up over every active KPI below (null for "No objective").
- `events`: `[{"date", "title", "kpis", "note"}]` dated in the window, oldest first.
- `overdue`: KPI ids, never reported first, then most days overdue, then worst status.
- `needs_action`: KPI ids, worst first.
"""

from __future__ import annotations

from typing import Any

from kpitrack.domain.model import StatusCounts
from kpitrack.render.json import event_json, measurement_json, render_json
from kpitrack.reports.digest import ChangeKind, Report, StatusChange
from kpitrack.reports.jsonvalues import number


def counts_json(counts: StatusCounts) -> dict[str, int]:
    """`{"total", "achieved", "on-track", "at-risk", "off-track", "no-data", "overdue",
    "needs-action"}`."""
    return counts.as_dict()


def change_json(change: StatusChange) -> dict[str, str]:
    return {"id": change.result.kpi.id, "from": str(change.before), "to": str(change.after)}


def report_sections(report: Report) -> dict[str, Any]:
    """Every section except `as_of` and `kpis`, in the order they are documented."""
    return {
        "since": report.since.isoformat(),
        "summary": counts_json(report.summary),
        "owners": [{"owner": o.owner, **counts_json(o.counts)} for o in report.owners],
        "changes": {
            "regressions": [change_json(c) for c in report.changes_of(ChangeKind.REGRESSED)],
            "improvements": [change_json(c) for c in report.changes_of(ChangeKind.IMPROVED)],
            "first_reports": [change_json(c) for c in report.changes_of(ChangeKind.FIRST_REPORT)],
            "new_measurements": [
                {"kpi": n.kpi.id, **measurement_json(n.measurement)}
                for n in report.new_measurements
            ],
        },
        "objectives": [
            {
                "id": g.objective.id if g.objective else None,
                "title": g.title,
                "kpis": [r.kpi.id for r in g.results],
                "summary": counts_json(g.counts),
                "depth": g.depth,
                "parent": g.objective.parent if g.objective else None,
                "progress": number(g.progress),
                "status": str(g.status) if g.status else None,
            }
            for g in report.objectives
        ],
        "events": [event_json(e) for e in report.events],
        "overdue": [r.kpi.id for r in report.overdue],
        "needs_action": [r.kpi.id for r in report.needs_action],
        **definitions_json(report),
    }


def definitions_json(report: Report) -> dict[str, Any]:
    """`definitions_changed`: `{"since", "changes": [history rows]}`; outside a repository
    `changes` is empty and `unavailable` says why."""
    if report.definitions is None:
        return {}
    section: dict[str, Any] = {
        "since": report.definitions.since,
        "changes": [c.to_dict() for c in report.definitions.changes],
    }
    if report.definitions.unavailable is not None:
        section["unavailable"] = report.definitions.unavailable
    return {"definitions_changed": section}


def render_report_json(report: Report) -> str:
    return render_json(report.results, as_of=report.as_of, **report_sections(report))


def report(digest: Report) -> str:
    """`kpitrack report --format json`: the entry point `render.formats.ReportFormat` picks."""
    return render_report_json(digest)
