"""Numbers, values and dates as JSON gives them: one spelling for every JSON output
(the renderers' JSON and the export rows)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from kpitrack.domain.model import Value


def plain(value: float) -> float | int:
    """Integral floats as ints (100, not 100.0) while they are exact."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def number(value: float | None) -> float | int | None:
    """A computed number (expected, progress, gap) for JSON: 12 significant digits,
    so float noise such as 0.30000000000000004 does not show; never NaN or infinity."""
    if value is None or not math.isfinite(value):
        return None
    return plain(float(f"{value:.12g}"))


def value_json(value: Value | None) -> Any:
    """A value as written or measured: labels as text, numbers exactly as read."""
    if value is None or isinstance(value, str):
        return value
    if not math.isfinite(value):
        return None
    return plain(float(value))


def date_json(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


__all__ = ["date_json", "number", "plain", "value_json"]
