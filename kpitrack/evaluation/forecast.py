"""Where a KPI's trend leads (docs/evaluation.md "Forecast"): a Theil–Sen line through
its per-period values.

Pure: the caller passes `as_of`; nothing here reads the clock or the disk.

- **Per-period values**: for each of the KPI's last `WINDOW` reporting periods up to
  the one containing the as-of date, the measurement that counts for it (the later
  date, then the later entry in file order, as for docs/rules.md's KT105).
  Qualitative values are their scale positions.
- **Line**: the slope is the median of the pairwise slopes (per day), the intercept
  the median of `value − slope × day` (days as ordinals).
- **Band**: from the line's value on the latest per-period date, with the 25th and
  the 75th percentile of the pairwise slopes (linear interpolation between the
  sorted slopes), so it always holds the central projection.
- **At**: `due`; for a standing target, or a `due` already before the as-of date,
  the end of the period after the one containing the as-of date.
- **reaches_target_on**: the first day on or after the latest per-period date on
  which the central line meets the target, if that is at most one year after `at`.
- Qualitative and progress KPIs: projected positions are kept within the scale
  (0 to the last label) or 0–100.
- Fewer than `MIN_POINTS` per-period values: no forecast (None), never a guess.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from kpitrack.domain.model import Direction, Forecast, Frequency, Kind, Kpi, Measurement
from kpitrack.domain.periods import add_frequency, period_containing
from kpitrack.domain.series import History

__all__ = [
    "MIN_POINTS",
    "WINDOW",
    "fit",
    "forecast",
    "forecast_misses",
    "per_period_values",
    "percentile",
]

WINDOW = 8  # periods looked at, back from the one containing the as-of date
MIN_POINTS = 3  # per-period values needed for a forecast
_EPSILON = 1e-9


def per_period_values(
    kpi: Kpi, history: Sequence[Measurement], *, as_of: dt.date, window: int = WINDOW
) -> list[tuple[dt.date, float]]:
    """(date, position) of the measurement that counts for each of the last `window`
    periods up to the one containing `as_of`, oldest first. `history` is the KPI's
    measurements sorted by (date, file order); later ones than as_of are ignored.

    Walked back from the end: an entry counts for its period when it is the last one
    in it, that is when it is dated before the period of the entry kept after it.
    Only the dates and values of the entries looked at are read (a `History` builds
    no Measurement)."""
    frequency = kpi.frequency
    current = period_containing(frequency, as_of)
    first = period_containing(frequency, add_frequency(frequency, current.start, 1 - window))
    columns = history if type(history) is History else None
    values: list[tuple[dt.date, float]] = []
    kept_start: dt.date | None = None  # the period start of the last entry kept
    for position in range(len(history) - 1, -1, -1):
        day = columns.day(position) if columns is not None else history[position].date
        if day > as_of or (kept_start is not None and day >= kept_start):
            continue
        if day < first.start:
            break
        value = columns.value(position) if columns is not None else history[position].value
        values.append((day, kpi.position(value)))
        kept_start = _period_start(frequency, day)
    values.reverse()
    return values


def _period_start(frequency: Frequency, day: dt.date) -> dt.date:
    """`period_containing(frequency, day).start`, without building the period."""
    if frequency is Frequency.DAILY:
        return day
    if frequency is Frequency.WEEKLY:
        return day - dt.timedelta(days=day.weekday())
    if frequency is Frequency.MONTHLY:
        return day.replace(day=1)
    if frequency is Frequency.QUARTERLY:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, 1, 1)


def _median(sorted_values: Sequence[float]) -> float:
    n = len(sorted_values)
    middle = n // 2
    if n % 2:
        return sorted_values[middle]
    return (sorted_values[middle - 1] + sorted_values[middle]) / 2


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0 ≤ q ≤ 1) of sorted values, interpolating linearly between ranks
    (the "linear" method: rank q × (n − 1))."""
    rank = q * (len(sorted_values) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = rank - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def fit(points: Sequence[tuple[dt.date, float]]) -> tuple[float, float, float, float]:
    """Theil–Sen through (day, value): (slope, intercept, 25th, 75th percentile slope),
    slopes per day, days as ordinals. Needs at least two points on distinct days."""
    days = [d.toordinal() for d, _ in points]
    values = [v for _, v in points]
    n = len(points)
    slopes = sorted(
        (values[j] - values[i]) / (days[j] - days[i]) for i in range(n) for j in range(i + 1, n)
    )
    slope = _median(slopes)
    intercept = _median(sorted(v - slope * d for d, v in zip(days, values, strict=True)))
    return slope, intercept, percentile(slopes, 0.25), percentile(slopes, 0.75)


def _horizon(kpi: Kpi, as_of: dt.date) -> dt.date:
    if kpi.due is not None and kpi.due >= as_of:
        return kpi.due
    return period_containing(kpi.frequency, as_of).next().end


def _bounds(kpi: Kpi) -> tuple[float, float] | None:
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:
        return 0.0, float(len(kpi.scale) - 1)
    if kpi.kind is Kind.PROGRESS:
        return 0.0, 100.0
    return None


def _meets(kpi: Kpi, value: float, target: float) -> bool:
    slack = _EPSILON * max(1.0, abs(target))
    if kpi.direction is Direction.DECREASE:
        return value <= target + slack
    return value >= target - slack


def forecast(kpi: Kpi, history: Sequence[Measurement], *, as_of: dt.date) -> Forecast | None:
    """The KPI's forecast as of `as_of`, or None with fewer than MIN_POINTS values."""
    points = per_period_values(kpi, history, as_of=as_of)
    if len(points) < MIN_POINTS:
        return None
    slope, intercept, slow, fast = fit(points)
    anchor = points[-1][0]
    anchor_value = intercept + slope * anchor.toordinal()
    at = _horizon(kpi, as_of)
    days = (at - anchor).days
    value = anchor_value + slope * days
    ends = (anchor_value + slow * days, anchor_value + fast * days)
    low, high = min(ends), max(ends)
    bounds = _bounds(kpi)
    if bounds is not None:
        value, low, high = (min(bounds[1], max(bounds[0], v)) for v in (value, low, high))
    target = kpi.position(kpi.target)
    reaches: dt.date | None = None
    if _meets(kpi, anchor_value, target):
        reaches = anchor
    elif abs(slope) > 0 and (target - anchor_value) / slope > 0:
        days_to = (target - anchor_value) / slope
        limit = (add_frequency(Frequency.YEARLY, at) - anchor).days
        if days_to <= limit:  # also keeps a huge number of days out of timedelta
            reaches = anchor + dt.timedelta(days=math.ceil(days_to - 1e-9))
    return Forecast(
        at=at,
        value=value,
        low=low,
        high=high,
        reaches_target_on=reaches,
        slope=slope,
        anchor=anchor,
        anchor_value=anchor_value,
        points=len(points),
    )


def forecast_misses(kpi: Kpi, result_forecast: Forecast | None, *, achieved: bool) -> bool:
    """`forecast-miss` (docs/evaluation.md "Needs action"): the KPI has a `due` (on or
    after the as-of date: `at` is `due`), is not achieved, and its whole band at `due`
    misses the target."""
    if result_forecast is None or achieved or kpi.due is None or result_forecast.at != kpi.due:
        return False
    target = kpi.position(kpi.target)
    if kpi.direction is Direction.DECREASE:
        return not _meets(kpi, result_forecast.low, target)
    return not _meets(kpi, result_forecast.high, target)
