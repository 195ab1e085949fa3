"""JSON output: the stable, documented shape of docs/json.md."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from kpitrack.domain.model import Event, Kpi, KpiResult, Measurement, OverdueInfo
from kpitrack.reports.jsonvalues import date_json, number, plain, value_json

if TYPE_CHECKING:
    from kpitrack.evaluation.rollup import KpiNode, ObjectiveNode, Tree
    from kpitrack.git.changes import Change, DiffRow


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
        "weight": plain(k.weight),
        "drivers": [{"id": d, "status": str(s)} for d, s in r.drivers],
        "forecast": forecast_json(r),
    }


def forecast_json(r: KpiResult) -> dict[str, Any] | None:
    """`{at, value, low, high, reaches_target_on}` (docs/evaluation.md "Forecast"), or
    None; values are numbers (scale positions for qualitative KPIs)."""
    f = r.forecast
    if f is None:
        return None
    return {
        "at": f.at.isoformat(),
        "value": number(f.value),
        "low": number(f.low),
        "high": number(f.high),
        "reaches_target_on": date_json(f.reaches_target_on),
    }


def event_json(e: Event) -> dict[str, Any]:
    return {"date": e.date.isoformat(), "title": e.title, "kpis": list(e.kpis), "note": e.note}


def objective_json(node: ObjectiveNode) -> dict[str, Any]:
    """One objective of the roll-up: `{id, title, owner, parent, weight, depth, status,
    progress, counts, kpis, children}` (kpis and children as ids)."""
    o = node.objective
    return {
        "id": o.id,
        "title": o.title,
        "owner": o.owner,
        "parent": o.parent,
        "weight": plain(o.weight),
        "depth": node.depth,
        "status": str(node.status),
        "progress": number(node.progress),
        "counts": node.counts.as_dict(),
        "kpis": [k.result.kpi.id for k in node.kpis],
        "children": [c.objective.id for c in node.children],
    }


def objectives_json(tree: Tree) -> list[dict[str, Any]]:
    """Every objective of the tree, parents before their children."""
    return [objective_json(node) for node in tree.objectives()]


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
    return dumps(doc) + "\n"


# ---------------------------------------------------------------- the indented text


class _Unusual(Exception):
    """A value the quick encoder leaves to `json.dumps` (see `dumps`)."""


def _float(value: float) -> str:
    text = float.__repr__(value)
    if text in ("inf", "-inf", "nan"):
        raise _Unusual  # json.dumps raises its own ValueError for these
    return text


# Each key's encoded text and separator, as keys repeat in every object (bounded: a key
# comes from the document's shape, rarely from the data).
_KEYS: dict[str, str] = {}
_MAX_KEYS = 4096


def _encode(value: dict[Any, Any] | list[Any], newline: str) -> str:
    """A dict or list at the indentation `newline` ends with, as json.dumps(indent=2)
    writes it: the same separators, escapes (`encode_basestring`, the C one json.dumps
    uses with ensure_ascii=False) and number texts (`int.__repr__`, `float.__repr__`)."""
    inner = newline + "  "
    parts: list[str] = []
    add = parts.append
    enc = encode_basestring
    if type(value) is dict:
        if not value:
            return "{}"
        keys = _KEYS
        for k, v in value.items():
            key = keys.get(k)
            if key is None:
                if type(k) is not str:
                    raise _Unusual  # json.dumps turns a number, bool or None key to text
                key = enc(k) + ": "
                if len(keys) < _MAX_KEYS:
                    keys[k] = key
            t = type(v)
            if t is str:
                add(key + enc(v))
            elif t is dict or t is list:
                add(key + _encode(v, inner))
            elif v is None:
                add(key + "null")
            elif t is int:
                add(key + int.__repr__(v))
            elif t is float:
                add(key + _float(v))
            elif t is bool:
                add(key + ("true" if v else "false"))
            else:
                raise _Unusual
        return "{" + inner + ("," + inner).join(parts) + newline + "}"
    if not value:
        return "[]"
    for v in value:
        t = type(v)
        if t is str:
            add(enc(v))
        elif t is dict or t is list:
            add(_encode(v, inner))
        elif v is None:
            add("null")
        elif t is int:
            add(int.__repr__(v))
        elif t is float:
            add(_float(v))
        elif t is bool:
            add("true" if v else "false")
        else:
            raise _Unusual
    return "[" + inner + ("," + inner).join(parts) + newline + "]"


def dumps(doc: Any) -> str:
    """`json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)`, character for
    character, without its pure-Python indenting encoder (a generator per container and
    a yield per token; only the compact output has a C encoder): a document of dicts,
    lists, strings, ints, finite floats, bools and None is written here; anything else
    (another type or a subclass, a key that is not a string, an infinite or NaN float,
    nesting past the recursion limit) is left to json.dumps, which writes it or raises
    exactly as before."""
    try:
        if type(doc) is dict or type(doc) is list:
            return _encode(doc, "\n")
    except (_Unusual, RecursionError):
        pass
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


def status(results: Sequence[KpiResult], *, as_of: dt.date, tree: Tree | None = None) -> str:
    """`kpitrack status --format json`: the KPIs and the summary counts; with the objective
    tree, its roll-up as `objectives` beside them."""
    from kpitrack.domain.model import StatusCounts

    extra: dict[str, Any] = {"summary": StatusCounts.of(results).as_dict()}
    if tree is not None:
        extra["objectives"] = objectives_json(tree)
    return render_json(results, as_of=as_of, **extra)


def _kpi_node_json(node: KpiNode) -> dict[str, Any]:
    r = node.result
    return {
        "id": r.kpi.id,
        "name": r.kpi.name,
        "owner": r.kpi.owner,
        "status": str(r.status),
        "progress": number(r.progress),
        "weight": plain(r.kpi.weight),
        "drivers": [_kpi_node_json(d) for d in node.drivers],
    }


def _tree_node_json(node: ObjectiveNode) -> dict[str, Any]:
    out = objective_json(node)
    out["kpis"] = [_kpi_node_json(k) for k in node.kpis]
    out["children"] = [_tree_node_json(c) for c in node.children]
    return out


def tree(view: Tree, *, as_of: dt.date) -> str:
    """`kpitrack tree --format json`: `{as_of, objectives: [nested], unassigned: [...]}`."""
    doc = {
        "as_of": as_of.isoformat(),
        "objectives": [_tree_node_json(root) for root in view.roots],
        "unassigned": [_kpi_node_json(k) for k in view.unassigned],
    }
    return dumps(doc) + "\n"


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
        events=[event_json(e) for e in result.events],
    )


def history(changes: Sequence[Change]) -> str:
    """`kpitrack history --format json`: `{"changes": [...]}`."""
    return json.dumps({"changes": [c.to_dict() for c in changes]}, indent=2) + "\n"


def diff(rows: Sequence[DiffRow]) -> str:
    """`kpitrack diff --format json`: `{"changes": [...]}`."""
    return json.dumps({"changes": [r.to_dict() for r in rows]}, indent=2) + "\n"
