"""JSON output: the stable, documented shape of SPEC §4."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kpitrack.domain.model import Kpi, KpiResult, Measurement, OverdueInfo, Value

if TYPE_CHECKING:
    from kpitrack.git.changes import Change, DiffRow


def _plain(value: float) -> float | int:
    """Integral floats as ints (100, not 100.0) while they are exact."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def number(value: float | None) -> float | int | None:
    """A computed number (expected, progress, gap) for JSON: 12 significant digits,
    so float noise such as 0.30000000000000004 does not show; never NaN or infinity."""
    if value is None or not math.isfinite(value):
        return None
    return _plain(float(f"{value:.12g}"))


def value_json(value: Value | None) -> Any:
    """A value as written or measured: labels as text, numbers exactly as read."""
    if value is None or isinstance(value, str):
        return value
    if not math.isfinite(value):
        return None
    return _plain(float(value))


def date_json(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def measurement_json(m: Measurement) -> dict[str, Any]:
    out: dict[str, Any] = {"date": m.date.isoformat(), "value": value_json(m.value)}
    for name in Measurement.FIELDS[3:]:  # note and by, when given
        text = getattr(m, name)
        if text is not None:
            out[name] = text
    return out


def overdue_json(overdue: OverdueInfo | None) -> dict[str, Any] | None:
    if overdue is None:
        return None
    return {
        "missed_periods": overdue.missed_periods,
        "due_since": date_json(overdue.due_since),
        "days": overdue.days,
    }


def action_json(k: Kpi) -> str | dict[str, Any] | None:
    """Plain-text actions as text; a mapping as {plan, owner, due, status}."""
    plan = k.action_plan
    if plan is None:
        return k.action
    return {
        "plan": plan.plan,
        "owner": plan.owner,
        "due": date_json(plan.due),
        "status": str(plan.status),
    }


def result_json(r: KpiResult) -> dict[str, Any]:
    """One KPI's evaluation as a JSON object (keys documented in the README)."""
    k = r.kpi
    return {
        "id": k.id,
        "name": k.name,
        "owner": k.owner,
        "objective": k.objective,
        "kind": str(k.kind),
        "direction": str(k.direction),
        "frequency": str(k.frequency),
        "unit": k.unit,
        "indicator": str(k.indicator) if k.indicator else None,
        "tags": list(k.tags),
        "status": str(r.status),
        "latest": (
            {"date": r.latest.date.isoformat(), "value": value_json(r.latest.value)}
            if r.latest
            else None
        ),
        "target": value_json(k.target),
        "due": date_json(k.due),
        "baseline": value_json(r.baseline),
        "start": date_json(r.start),
        "expected": r.expected if isinstance(r.expected, str) else number(r.expected),
        "progress": number(r.progress),
        "gap": number(r.gap),
        "overdue": overdue_json(r.overdue),
        "reasons": [str(reason) for reason in r.reasons],
        "action": action_json(k),
    }


def definition_json(k: Kpi) -> dict[str, Any]:
    """A KPI's definition beyond the figures: for `show --format json`."""
    return {
        "measure": k.measure,
        "description": k.description,
        "unit": k.unit,
        "unit_plural": k.unit_plural,
        "archived": k.archived,
        "direction": str(k.direction),
        "frequency": str(k.frequency),
        "scale": list(k.scale) if k.scale else None,
        "milestones": [
            {"date": date_json(m.date), "target": value_json(m.target)} for m in k.milestones
        ],
        "tags": list(k.tags),
        "action": k.action,
    }


def render_json(results: Iterable[KpiResult], *, as_of: dt.date, **extra: Any) -> str:
    """`{"as_of": ..., "kpis": [...]}` plus any extra top-level sections."""
    doc: dict[str, Any] = {"as_of": as_of.isoformat(), "kpis": [result_json(r) for r in results]}
    doc.update(extra)
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def status(results: Sequence[KpiResult], *, as_of: dt.date) -> str:
    """`kpitrack status --format json`: the KPIs and the summary counts."""
    from kpitrack.domain.model import StatusCounts

    return render_json(results, as_of=as_of, summary=StatusCounts.of(results).as_dict())


def overdue(results: Sequence[KpiResult], *, as_of: dt.date) -> str:
    """`kpitrack overdue --format json`: the listed KPIs."""
    return render_json(results, as_of=as_of)


def actions(results: Sequence[KpiResult], *, as_of: dt.date) -> str:
    """`kpitrack actions --format json`: the listed KPIs."""
    return render_json(results, as_of=as_of)


def show(result: KpiResult, *, all_history: bool = True) -> str:
    """`kpitrack show --format json`: the KPI, its definition and its whole history (data
    is never cut to the last values, so `all_history` changes nothing here)."""
    return render_json(
        [result],
        as_of=result.as_of,
        definition=definition_json(result.kpi),
        history=[measurement_json(m) for m in result.history],
    )


def history(changes: Sequence[Change]) -> str:
    """`kpitrack history --format json`: `{"changes": [...]}`."""
    return json.dumps({"changes": [c.to_dict() for c in changes]}, indent=2) + "\n"


def diff(rows: Sequence[DiffRow]) -> str:
    """`kpitrack diff --format json`: `{"changes": [...]}`."""
    return json.dumps({"changes": [r.to_dict() for r in rows]}, indent=2) + "\n"
