"""Values typed by a user (`record`'s arguments, `import`'s CSV cells), checked
against their KPI: numbers and labels through `rules.measurement_value_problem`,
dates and periods through `periods`, free text (note, by)."""

from __future__ import annotations

import datetime as dt

from kpitrack.domain.model import Kind, Kpi, Value
from kpitrack.reading import rules


def parse_value(kpi: Kpi, text: str) -> Value:
    """A value typed on the command line or in a CSV cell, checked against the KPI.
    Raises ValueError with the reason."""
    from kpitrack.reading.yamlnodes import typed_value

    raw = text.strip()
    value: Value | None
    if kpi.kind is Kind.QUALITATIVE:
        value = raw
    else:
        number = typed_value(raw, True)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"'{text}' is not a number (KPI '{kpi.id}' needs a number)")
        value = number
    problem = rules.measurement_value_problem(kpi, value, text)
    if problem is not None:
        raise ValueError(problem)
    return value


def parse_measurement_date(text: str, today: dt.date) -> dt.date:
    """A date, or a period (2026-W44, 2026-10, 2026-Q3, 2026) stored as its last day, or a
    date word counted from `today` (yesterday; last-week, last-month: that period);
    the current period (the one holding `today`) is stored as today, so the value counts
    at once instead of from the period's end in the future."""
    from kpitrack.domain.periods import parse_span

    period = parse_span(text, today)
    if period.start != period.end and today in period:
        return today
    return period.end


def free_text(text: str | None, what: str) -> str | None:
    """A note or author: None when empty; ValueError when not valid UTF-8 text."""
    if text is None or not text.strip():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid UTF-8 text") from None
    return text
