"""JSON output: the stable, documented shape of SPEC §4."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from kpitrack.model import KpiResult, Measurement, OverdueInfo, Value


def number(value: float | None) -> float | int | None:
    """A float for JSON: integral values as ints, others rounded to 6 places."""
    if value is None:
        return None
    if float(value).is_integer():
        return int(value)
    return round(float(value), 6)


def value_json(value: Value | None) -> Any:
    if value is None or isinstance(value, str):
        return value
    return number(value)


def date_json(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def measurement_json(m: Measurement) -> dict[str, Any]:
    out: dict[str, Any] = {"date": m.date.isoformat(), "value": value_json(m.value)}
    if m.note is not None:
        out["note"] = m.note
    if m.by is not None:
        out["by"] = m.by
    return out


def overdue_json(overdue: OverdueInfo | None) -> dict[str, Any] | None:
    if overdue is None:
        return None
    return {
        "missed_periods": overdue.missed_periods,
        "due_since": date_json(overdue.due_since),
        "days": overdue.days,
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
        "expected": value_json(r.expected),
        "progress": number(r.progress),
        "gap": number(r.gap),
        "overdue": overdue_json(r.overdue),
        "reasons": [str(reason) for reason in r.reasons],
        "action": k.action,
    }


def render_json(results: Iterable[KpiResult], *, as_of: dt.date, **extra: Any) -> str:
    """`{"as_of": ..., "kpis": [...]}` plus any extra top-level sections."""
    doc: dict[str, Any] = {"as_of": as_of.isoformat(), "kpis": [result_json(r) for r in results]}
    doc.update(extra)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
