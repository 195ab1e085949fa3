"""Where each KPI stands as of one date (docs/evaluation.md "Status"). Pure: no I/O,
never `date.today()`.

All arithmetic on qualitative KPIs is done on scale positions (0 = worst);
`Kpi.label` turns a position back into a label for display.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from kpitrack.domain.model import (
    ActionStatus,
    Config,
    Direction,
    Event,
    Kind,
    Kpi,
    KpiResult,
    Measurement,
    OverdueInfo,
    Reason,
    Status,
    StatusCounts,
    Value,
)
from kpitrack.domain.periods import (
    add_frequency,
    latest_period_due_before,
    period_containing,
    periods_between,
)
from kpitrack.domain.series import History, Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.forecast import MIN_POINTS, forecast, forecast_misses

# Comparisons of floats that should be equal on paper (0.1 * 100 vs 10) use this slack.
EPSILON = 1e-9

__all__ = [
    "action_words",
    "evaluate",
    "evaluate_in_context",
    "evaluate_kpi",
    "expected_position",
    "forecast_words",
    "format_value",
    "is_met",
    "overdue_first",
    "overdue_info",
    "reason_words",
    "status_of",
    "status_sentence",
    "summary_sentence",
    "worst_first",
]


def evaluate(workspace: Workspace, *, as_of: dt.date, config: Config = Config()) -> list[KpiResult]:
    """One result per KPI, in workspace order."""
    measurements = workspace.measurements
    limit = as_of.toordinal()
    results = []
    for kpi in workspace.kpis:
        series = measurements.series(kpi.id)
        history: Sequence[Measurement] = () if series is None else series.until(limit)
        results.append(_evaluate(kpi, history, as_of=as_of, config=config))
    if workspace.events:
        results = [with_events(r, workspace.events) for r in results]
    if any(kpi.drivers for kpi in workspace.kpis):
        from kpitrack.evaluation.rollup import with_drivers

        return with_drivers(results)
    return results


def with_events(result: KpiResult, events: Iterable[Event]) -> KpiResult:
    """The result with the events that concern its KPI, in date order."""
    mine = tuple(sorted((e for e in events if e.concerns(result.kpi.id)), key=lambda e: e.date))
    return dataclasses.replace(result, events=mine) if mine else result


def evaluate_in_context(
    workspace: Workspace, kpi: Kpi, *, as_of: dt.date, config: Config = Config()
) -> KpiResult:
    """One KPI as `evaluate` sees it in its workspace: with its events and its drivers'
    statuses, evaluating only the KPI and its drivers."""
    result = with_events(
        evaluate_kpi(kpi, workspace.measurements, as_of=as_of, config=config), workspace.events
    )
    drivers = []
    for driver_id in kpi.drivers:
        driver = workspace.kpi(driver_id)
        if driver is not None:
            status = evaluate_kpi(driver, workspace.measurements, as_of=as_of, config=config).status
            drivers.append((driver_id, status))
    return dataclasses.replace(result, drivers=tuple(drivers)) if drivers else result


def evaluate_kpi(
    kpi: Kpi,
    measurements: Iterable[Measurement],
    *,
    as_of: dt.date,
    config: Config = Config(),
) -> KpiResult:
    """Evaluate one KPI from its own measurements (others and future-dated ones are ignored)."""
    return _evaluate(kpi, _history(kpi, measurements, as_of), as_of=as_of, config=config)


def status_of(
    kpi: Kpi,
    measurements: Iterable[Measurement],
    *,
    as_of: dt.date,
    config: Config = Config(),
) -> Status:
    """`evaluate_kpi(...).status` without the rest of the result (no overdue periods, no
    forecast, no reasons): the same `_standing` that `_evaluate` computes the status with."""
    history = _history(kpi, measurements, as_of)
    return _standing(kpi, history, as_of=as_of, config=config).status


def _history(
    kpi: Kpi, measurements: Iterable[Measurement], as_of: dt.date
) -> Sequence[Measurement]:
    """The KPI's measurements on or before `as_of`, sorted by date, then file order."""
    if isinstance(measurements, Measurements):  # a workspace's: read the KPI's columns only
        series = measurements.series(kpi.id)
        return () if series is None else series.until(as_of.toordinal())
    return tuple(
        sorted(
            (m for m in measurements if m.kpi == kpi.id and m.date <= as_of),
            key=lambda m: (m.date, m.order),
        )
    )


class _Positions(NamedTuple):
    """A measured KPI's positions on its scale (numbers as they are), against its path."""

    value: float  # the latest measurement's
    base: float  # the baseline's
    target: float
    expected: float  # on the expected path on the latest measurement's day (after due: target)
    met: bool


class _Standing(NamedTuple):
    """What a KPI's status is computed from, and the status: `positions` None (no data)
    without a measurement, a baseline or a start."""

    status: Status
    start: dt.date | None
    baseline: Value | None
    positions: _Positions | None


def _standing(
    kpi: Kpi, history: Sequence[Measurement], *, as_of: dt.date, config: Config
) -> _Standing:
    """The status of a KPI with the given history (its measurements on or before as_of,
    sorted by date, then file order) and what it is computed from, reading only the
    entries the rules need: the first day(s) and the latest."""
    start = kpi.start or (_day(history, 0) if history else None)
    baseline = _baseline(kpi, history)
    if not history or baseline is None or start is None:
        return _Standing(Status.NO_DATA, start, baseline, None)
    status, positions = standing_on(
        kpi,
        start=start,
        baseline=baseline,
        day=_day(history, -1),
        value=_value(history, -1),
        as_of=as_of,
        config=config,
    )
    return _Standing(status, start, baseline, positions)


def standing_on(
    kpi: Kpi,
    *,
    start: dt.date,
    baseline: Value,
    day: dt.date,
    value: Value,
    as_of: dt.date,
    config: Config,
) -> tuple[Status, _Positions]:
    """The status, and the positions it is computed from, of a KPI whose path starts on
    `start` at `baseline` and whose latest measurement is `value` on `day`: what
    `_standing` computes once it has these from the history, for callers that read them
    from the columns (the rules' KT113/KT114)."""
    position = kpi.position(value)
    base = kpi.position(baseline)
    target = kpi.position(kpi.target)
    met = is_met(kpi, position, target)
    expected = expected_position(kpi, day, start=start, baseline=base)
    if kpi.due is not None and as_of > kpi.due and not met:
        # docs/evaluation.md "Expected path": after the due date the target itself is expected
        expected = target
    status = status_at(kpi, position, expected, met, config.at_risk_tolerance)
    return status, _Positions(position, base, target, expected, met)


def _evaluate(
    kpi: Kpi, history: Sequence[Measurement], *, as_of: dt.date, config: Config
) -> KpiResult:
    """Evaluate from the KPI's history: its measurements on or before as_of, sorted by
    date, then file order. Only the entries the rules need are looked at."""
    status, start, baseline, positions = _standing(kpi, history, as_of=as_of, config=config)
    if positions is None:
        overdue = overdue_info(kpi, history, start=start, as_of=as_of, config=config)
        return KpiResult(
            kpi=kpi,
            as_of=as_of,
            status=status,
            latest=None,
            baseline=baseline,
            start=start,
            progress=None,
            gap=None,
            expected=None,
            overdue=overdue,
            reasons=_reasons(kpi, status, overdue, met=False, as_of=as_of),
            history=history,
        )

    value, base, target, expected, met = positions
    progress = _progress(value, base, target, met)
    gap = 0.0 if met else abs(target - value)
    # An achieved KPI owes no reports for periods after its due date.
    until = kpi.due if status is Status.ACHIEVED else None
    overdue = overdue_info(kpi, history, start=start, as_of=as_of, config=config, until=until)
    projection = forecast(kpi, history, as_of=as_of) if len(history) >= MIN_POINTS else None
    reasons = _reasons(kpi, status, overdue, met=met, as_of=as_of)
    if forecast_misses(kpi, projection, achieved=status is Status.ACHIEVED):
        reasons = (*reasons, Reason.FORECAST_MISS)
    return KpiResult(
        kpi=kpi,
        as_of=as_of,
        status=status,
        latest=history[-1],
        baseline=baseline,
        start=start,
        progress=progress,
        gap=gap,
        expected=kpi.label(expected),
        overdue=overdue,
        reasons=reasons,
        history=history,
        forecast=projection,
    )


# ---------------------------------------------------------------- the pieces


def _day(history: Sequence[Measurement], position: int) -> dt.date:
    """The date of one entry of a history, without building it when it is columns."""
    if type(history) is History:
        return history.day(position)
    return history[position].date


def _value(history: Sequence[Measurement], position: int) -> Value:
    """The value of one entry of a history, without building it when it is columns."""
    if type(history) is History:
        return history.value(position)
    return history[position].value


def _baseline(kpi: Kpi, history: Sequence[Measurement]) -> Value | None:
    """`baseline`; 0 for progress KPIs; else the earliest measurement's value.

    Of several measurements on the earliest date, the later entry in file order
    counts, as it does for `latest` (it is the correction).
    """
    own = own_baseline(kpi)
    if own is not None:
        return own
    if not history:
        return None
    first_day = _day(history, 0)
    last = 0
    while last + 1 < len(history) and _day(history, last + 1) == first_day:
        last += 1
    if type(history) is History:
        return history.value(last)
    return history[last].value


def own_baseline(kpi: Kpi) -> Value | None:
    """The baseline a KPI has before its measurements are read: its `baseline`, 0 for a
    progress KPI, else None (the earliest measurement's value is the baseline)."""
    if kpi.baseline is not None:
        return kpi.baseline
    if kpi.kind is Kind.PROGRESS:
        return 0.0
    return None


def is_met(kpi: Kpi, value: float, target: float) -> bool:
    """Whether a position meets a target position, direction-wise."""
    slack = EPSILON * max(1.0, abs(target))  # floating-point noise, relative to |target|
    if kpi.direction is Direction.DECREASE:
        return value <= target + slack
    return value >= target - slack


def _progress(value: float, base: float, target: float, met: bool) -> float:
    if abs(target - base) < EPSILON:
        return 1.0 if met else 0.0
    return (value - base) / (target - base)


def expected_position(
    kpi: Kpi, day: dt.date, *, start: dt.date | None, baseline: float | None
) -> float:
    """The expected position on `day`: the straight-line path through (start, baseline),
    each milestone and (due, target); flat before start and after due. Without `due`,
    or without a start and baseline to draw from, the target.
    """
    path = path_corners(kpi, start=start, baseline=baseline)
    if path is None:
        return kpi.position(kpi.target)
    if day <= path[0][0]:
        return path[0][1]
    for (d0, v0), (d1, v1) in itertools.pairwise(path):
        if day <= d1:
            return v0 + (v1 - v0) * (day - d0).days / (d1 - d0).days
    return path[-1][1]


def path_corners(
    kpi: Kpi, *, start: dt.date | None, baseline: float | None
) -> list[tuple[dt.date, float]] | None:
    """The expected path's corners by date: (start, baseline), each milestone strictly
    between start and due, (due, target); None when the path is the target alone (no
    due, no start or baseline to draw from, or due on or before start)."""
    if kpi.due is None or start is None or baseline is None or kpi.due <= start:
        return None
    points: dict[dt.date, float] = {start: baseline}
    for milestone in kpi.milestones:
        # Milestones on or before start are behind us; on `due`, the KPI's target wins.
        if start < milestone.date < kpi.due:
            points[milestone.date] = kpi.position(milestone.target)
    points[kpi.due] = kpi.position(kpi.target)
    return sorted(points.items())


def _shortfall(kpi: Kpi, value: float, expected: float) -> float:
    """How far `value` is behind `expected`, direction-wise (negative when ahead)."""
    if kpi.direction is Direction.DECREASE:
        return value - expected
    return expected - value


def status_at(kpi: Kpi, value: float, expected: float, met: bool, tolerance: float) -> Status:
    """The status of `value` against the pace line's `expected`: achieved when
    a KPI with a due date has met its target, else on track, at risk within `tolerance`
    (one scale step for a qualitative KPI), or off track."""
    if kpi.due is not None and met:
        return Status.ACHIEVED
    short = _shortfall(kpi, value, expected)
    # Floating-point slack, relative to |expected| (absolute below 1).
    slack = EPSILON * max(1.0, abs(expected))
    if short <= slack:
        return Status.ON_TRACK
    # Qualitative KPIs may be one scale step short; others a fraction of |expected|.
    allowed = 1.0 if kpi.kind is Kind.QUALITATIVE else tolerance * abs(expected)
    if short <= allowed + slack:
        return Status.AT_RISK
    return Status.OFF_TRACK


def overdue_info(
    kpi: Kpi,
    history: Sequence[Measurement],
    *,
    start: dt.date | None,
    as_of: dt.date,
    config: Config = Config(),
    until: dt.date | None = None,
) -> OverdueInfo | None:
    """Missed reports as of `as_of`, or None when the KPI is not overdue.

    `history` holds the KPI's measurements on or before `as_of`, sorted by date (then
    file order, as evaluate_kpi sorts them); `start` is the
    tracking start (the KPI's `start`, else its first measurement). With `until`
    (an achieved KPI's `due`), periods that start after it are not counted
    (tracking ended), but every period up to and including the one containing it
    still is. Only a measurement dated inside a period reports for it: a later
    report never excuses an earlier missed period.
    """
    if start is None:
        return None if history else OverdueInfo(None, None, None)
    grace = kpi.grace_days if kpi.grace_days is not None else config.grace_days
    frequency = kpi.frequency
    first = period_containing(frequency, start)
    last_due = latest_period_due_before(frequency, as_of, grace)
    if until is not None and last_due.start > until:
        last_due = period_containing(frequency, until)
    if last_due.start < first.start:
        return None  # no counted period has fallen due yet
    # The latest report in the counted periods: history is sorted by date, so it is the
    # last entry dated on or before the last counted period's end, if it is in them.
    position = len(history) - 1
    while position >= 0 and _day(history, position) > last_due.end:
        position -= 1
    latest = _day(history, position) if position >= 0 else None
    if latest is not None and latest < first.start:
        latest = None
    if latest is not None and latest >= last_due.start:
        return None
    first_missed = period_containing(frequency, latest).next() if latest is not None else first
    missed = periods_between(frequency, first_missed.start, last_due.start) + 1
    due_since = first_missed.due(grace)
    return OverdueInfo(missed, due_since, (as_of - due_since).days)


def _reasons(
    kpi: Kpi, status: Status, overdue: OverdueInfo | None, *, met: bool, as_of: dt.date
) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if status is Status.OFF_TRACK:
        reasons.append(Reason.OFF_TRACK)
    if status is Status.AT_RISK:
        reasons.append(Reason.AT_RISK)
    if overdue is not None:
        reasons.append(Reason.OVERDUE)
    if status.behind and not (kpi.action or "").strip():
        reasons.append(Reason.NO_ACTION_PLAN)
    if kpi.due is not None and kpi.due < as_of and not met:
        reasons.append(Reason.PAST_DUE)
    if kpi.review is not None and (
        kpi.last_reviewed is None or add_frequency(kpi.review, kpi.last_reviewed) < as_of
    ):
        reasons.append(Reason.REVIEW_DUE)
    if status is Status.NO_DATA:
        reasons.append(Reason.NO_DATA)
    plan = kpi.action_plan
    if plan is not None and plan.status is ActionStatus.OPEN and plan.due and plan.due < as_of:
        reasons.append(Reason.ACTION_OVERDUE)
    if plan is not None and plan.status is ActionStatus.DONE and status is Status.OFF_TRACK:
        reasons.append(Reason.ACTION_DONE_STILL_OFF_TRACK)
    return tuple(reasons)


# ---------------------------------------------------------------- ordering and words


# The two list orders, defined once on KpiResult (with Status.attention and
# OverdueInfo.most_overdue_first); named here as sort keys: sorted(results, key=worst_first).
worst_first = KpiResult.worst_first
overdue_first = KpiResult.overdue_first


def summary_sentence(counts: StatusCounts) -> str:
    """`5 KPIs: 1 achieved, 2 on track, 2 off track; 1 overdue; 2 need action.`: the one
    summary line of status and report (statuses with no KPI are left out)."""
    total = counts.total
    parts = [f"{n} {str(s).replace('-', ' ')}" for s, n in counts.by_status if n]
    listed = f": {', '.join(parts)}" if parts else ""
    verb = "needs" if counts.needs_action == 1 else "need"
    return (
        f"{total} KPI{'' if total == 1 else 's'}{listed}; {counts.overdue} overdue; "
        f"{counts.needs_action} {verb} action."
    )


def format_number(value: float) -> str:
    """A number for people: thousands separators, at most two decimals, no trailing zeros."""
    whole = round(value)
    if abs(value - whole) < EPSILON:
        return f"{whole:,}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_percent(progress: float | None) -> str:
    """Progress (a fraction) as a whole percentage for people: `56%`, `150%`, or `—`."""
    return "—" if progress is None else f"{round(progress * 100)}%"


def unit_for(kpi: Kpi, value: float) -> str:
    """The unit as written for exactly 1, else the declared `unit_plural`, else the unit
    as written: plurals are declared, never guessed (docs/terminal.md "Units")."""
    unit = kpi.unit or ""
    if abs(value) == 1 or kpi.unit_plural is None:
        return unit
    return kpi.unit_plural


def format_value(kpi: Kpi, value: Value | None, *, unit: bool = False) -> str:
    """A value or position for people: a scale label where exact, else a number."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:
        shown = kpi.label(value)
        if isinstance(shown, str):
            return shown
        low = max(0, min(len(kpi.scale) - 1, int(shown)))
        high = min(len(kpi.scale) - 1, low + 1)
        return f"{kpi.scale[low]}–{kpi.scale[high]}" if high != low else kpi.scale[low]
    text = format_number(value)  # a number is its own label
    if unit and kpi.unit:
        if kpi.unit == "%":
            return f"{text}%"
        return f"{text} {unit_for(kpi, value)}"
    if unit and kpi.kind is Kind.PROGRESS:  # percent done, with or without `unit: "%"`
        return f"{text}%"
    return text


def action_words(kpi: Kpi) -> str | None:
    """The action plan for people: `plan`, or `plan (owner Ana, due 2026-12-01, done)`."""
    plan = kpi.action_plan
    if plan is None:
        return kpi.action
    details = [f"owner {plan.owner}"] if plan.owner else []
    if plan.due is not None:
        details.append(f"due {plan.due.isoformat()}")
    details.append(str(plan.status))
    return f"{plan.plan} ({', '.join(details)})"


def status_sentence(result: KpiResult, shown: Callable[[Value | None], str] | None = None) -> str:
    """Why a KPI has its status, in one sentence. `shown` is `format_value(kpi, value,
    unit=True)` as a function of the value, when the caller keeps one (the site's
    `ListCells.formatter`: the values a page shows, formatted once per build)."""
    kpi, latest = result.kpi, result.latest
    if latest is None:
        return f"no measurement on or before {result.as_of.isoformat()}: no data"
    if shown is None:
        shown = functools.partial(format_value, kpi, unit=True)
    op = "≤" if kpi.direction is Direction.DECREASE else "≥"
    target = shown(kpi.target)
    value = shown(latest.value)
    words = str(result.status).replace("-", " ")
    if result.status is Status.ACHIEVED:
        due = kpi.due.isoformat() if kpi.due else ""
        return f"target {op} {target} by {due} met; latest {value} on {latest.date}: {words}"
    if kpi.due is None:
        head = f"standing target {op} {target}"
    elif latest.date >= kpi.due or result.as_of > kpi.due:  # after due: the target itself
        head = f"target {op} {target} by {kpi.due.isoformat()}"
    else:  # the value expected by now: formatted only where the sentence shows it
        expected = shown(result.expected)
        head = (
            f"expected {op} {expected} by {latest.date.isoformat()}"
            f" on the way to {target} by {kpi.due.isoformat()}"
        )
    tail = ""
    if result.status is Status.AT_RISK:
        tail = " (within one scale step)" if kpi.kind is Kind.QUALITATIVE else ""
    return f"{head}; latest {value}: {words}{tail}"


def forecast_words(result: KpiResult) -> str | None:
    """The forecast in words: `at this pace 182,000–195,000 USD by 2026-12-31 (target
    200,000 USD); reaches the target around 2027-02-10`; None without a forecast."""
    f, kpi = result.forecast, result.kpi
    if f is None:
        return None
    low, high = _projected(kpi, f.low), _projected(kpi, f.high)
    band = _projected(kpi, f.high, unit=True)
    if low != high:
        band = f"{low}–{band}"
    target = format_value(kpi, kpi.target, unit=True)
    words = f"at this pace {band} by {f.at.isoformat()} (target {target})"
    if f.reaches_target_on is None:
        return f"{words}; does not reach the target within a year after that"
    if f.reaches_target_on <= f.anchor:
        return f"{words}; the trend line meets the target already"
    return f"{words}; reaches the target around {f.reaches_target_on.isoformat()}"


def _projected(kpi: Kpi, position: float, *, unit: bool = False) -> str:
    """A projected position for words: the nearest label of a scale; a number rounded
    (no decimals from 1,000, one from 100, else two)."""
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:
        return kpi.scale[max(0, min(len(kpi.scale) - 1, round(position)))]
    digits = 0 if abs(position) >= 1000 else 1 if abs(position) >= 100 else 2
    return format_value(kpi, round(position, digits), unit=unit)


def reason_words(result: KpiResult) -> str:
    """The needs-action reasons for people: `at-risk, forecast-miss`, and for an at-risk or
    off-track KPI with drivers, their statuses: `...; drivers: trials on-track, churn
    off-track`."""
    from kpitrack.evaluation.rollup import driver_words

    text = ", ".join(str(reason) for reason in result.reasons)
    drivers = driver_words(result)
    if drivers:
        return f"{text}; {drivers}" if text else drivers
    return text
