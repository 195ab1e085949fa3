"""Calendar periods: ISO weeks (incl. week 53), month ends, leap days, due dates."""

from __future__ import annotations

import datetime as dt

import pytest

from kpitrack.domain.model import Frequency
from kpitrack.domain.periods import (
    Period,
    add_frequency,
    latest_period_due_before,
    parse_period,
    period_containing,
    periods_between,
)

D = dt.date
F = Frequency


@pytest.mark.parametrize(
    ("frequency", "day", "start", "end", "label"),
    [
        (F.DAILY, D(2026, 3, 5), D(2026, 3, 5), D(2026, 3, 5), "2026-03-05"),
        (F.WEEKLY, D(2026, 3, 5), D(2026, 3, 2), D(2026, 3, 8), "2026-W10"),
        (F.WEEKLY, D(2026, 3, 8), D(2026, 3, 2), D(2026, 3, 8), "2026-W10"),  # Sunday
        # 2026 has an ISO week 53: Monday 2026-12-28 to Sunday 2027-01-03.
        (F.WEEKLY, D(2026, 12, 31), D(2026, 12, 28), D(2027, 1, 3), "2026-W53"),
        (F.WEEKLY, D(2027, 1, 3), D(2026, 12, 28), D(2027, 1, 3), "2026-W53"),
        (F.WEEKLY, D(2027, 1, 4), D(2027, 1, 4), D(2027, 1, 10), "2027-W01"),
        # 2025-12-29 (Monday) starts 2026-W01.
        (F.WEEKLY, D(2025, 12, 31), D(2025, 12, 29), D(2026, 1, 4), "2026-W01"),
        (F.MONTHLY, D(2028, 2, 10), D(2028, 2, 1), D(2028, 2, 29), "2028-02"),  # leap year
        (F.MONTHLY, D(2026, 2, 28), D(2026, 2, 1), D(2026, 2, 28), "2026-02"),
        (F.QUARTERLY, D(2026, 5, 15), D(2026, 4, 1), D(2026, 6, 30), "2026-Q2"),
        (F.QUARTERLY, D(2026, 12, 31), D(2026, 10, 1), D(2026, 12, 31), "2026-Q4"),
        (F.YEARLY, D(2026, 7, 1), D(2026, 1, 1), D(2026, 12, 31), "2026"),
    ],
)
def test_period_containing(
    frequency: Frequency, day: dt.date, start: dt.date, end: dt.date, label: str
) -> None:
    period = period_containing(frequency, day)
    assert (period.start, period.end, period.label) == (start, end, label)
    assert day in period
    assert period.previous().end == start - dt.timedelta(days=1)
    assert period.next().start == end + dt.timedelta(days=1)


def test_week_53_follows_week_52_and_precedes_week_1() -> None:
    w52 = period_containing(F.WEEKLY, D(2026, 12, 21))
    assert w52.label == "2026-W52"
    assert w52.next().label == "2026-W53"
    assert w52.next().next().label == "2027-W01"


def test_due_date_adds_grace_days() -> None:
    october = period_containing(F.MONTHLY, D(2026, 10, 9))
    assert october.due(3) == D(2026, 11, 3)
    assert october.due(0) == D(2026, 10, 31)


@pytest.mark.parametrize(
    ("frequency", "first", "last", "count"),
    [
        (F.DAILY, D(2028, 2, 28), D(2028, 3, 1), 2),  # through the leap day
        (F.WEEKLY, D(2026, 12, 28), D(2027, 1, 4), 1),
        (F.MONTHLY, D(2026, 8, 15), D(2026, 10, 1), 2),
        (F.QUARTERLY, D(2026, 3, 31), D(2027, 1, 1), 4),
        (F.YEARLY, D(2026, 12, 31), D(2027, 1, 1), 1),
        (F.MONTHLY, D(2026, 8, 1), D(2026, 8, 31), 0),
    ],
)
def test_periods_between(frequency: Frequency, first: dt.date, last: dt.date, count: int) -> None:
    assert periods_between(frequency, first, last) == count


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-W53", D(2026, 12, 28), D(2027, 1, 3)),
        ("2026-10", D(2026, 10, 1), D(2026, 10, 31)),
        ("2026-Q3", D(2026, 7, 1), D(2026, 9, 30)),
        ("2026", D(2026, 1, 1), D(2026, 12, 31)),
        ("2028-02-29", D(2028, 2, 29), D(2028, 2, 29)),
    ],
)
def test_parse_period(text: str, start: dt.date, end: dt.date) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-W53", "is not a real ISO week"),
        ("2026-13", "is not a real month"),
        ("2027-02-29", "is not a real date"),
        ("2026-Q5", "is not a date or period"),
        ("soon", "is not a date or period"),
        ("0000-10", "is not a date or period"),
        ("0000", "is not a date or period"),
        ("1899-12", "is outside the supported years 1900–9000"),
        ("9001-Q1", "is outside the supported years 1900–9000"),
        ("9999-12-31", "is outside the supported years 1900–9000"),
    ],
)
def test_parse_period_refuses_impossible_periods(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(text)


@pytest.mark.parametrize(
    ("frequency", "day", "count", "expected"),
    [
        (F.MONTHLY, D(2026, 1, 31), 1, D(2026, 2, 28)),
        (F.MONTHLY, D(2028, 1, 31), 1, D(2028, 2, 29)),
        (F.YEARLY, D(2028, 2, 29), 1, D(2029, 2, 28)),
        (F.QUARTERLY, D(2026, 11, 30), 1, D(2027, 2, 28)),
        (F.WEEKLY, D(2026, 12, 28), 1, D(2027, 1, 4)),
        (F.DAILY, D(2026, 12, 31), 1, D(2027, 1, 1)),
        (F.MONTHLY, D(2026, 3, 31), -1, D(2026, 2, 28)),
    ],
)
def test_add_frequency(frequency: Frequency, day: dt.date, count: int, expected: dt.date) -> None:
    assert add_frequency(frequency, day, count) == expected


@pytest.mark.parametrize(
    ("frequency", "as_of", "grace", "label"),
    [
        # October is due 2026-11-03 (grace 3): overdue from 11-04, so it is the latest on 11-04.
        (F.MONTHLY, D(2026, 11, 3), 3, "2026-09"),
        (F.MONTHLY, D(2026, 11, 4), 3, "2026-10"),
        (F.MONTHLY, D(2026, 11, 1), 0, "2026-10"),
        (F.MONTHLY, D(2026, 10, 31), 0, "2026-09"),
        (F.WEEKLY, D(2027, 1, 7), 3, "2026-W53"),  # W53 due 2027-01-06
        (F.WEEKLY, D(2027, 1, 6), 3, "2026-W52"),
        (F.DAILY, D(2026, 3, 1), 0, "2026-02-28"),
        (F.MONTHLY, D(2028, 3, 4), 3, "2028-02"),  # leap February due 03-03
        (F.MONTHLY, D(2028, 3, 3), 3, "2028-01"),
        (F.MONTHLY, D(2026, 11, 25), 40, "2026-09"),  # grace longer than a period
    ],
)
def test_latest_period_due_before(
    frequency: Frequency, as_of: dt.date, grace: int, label: str
) -> None:
    period = latest_period_due_before(frequency, as_of, grace)
    assert period.label == label
    assert period.due(grace) < as_of
    assert not period.next().due(grace) < as_of


def test_period_is_ordered_and_hashable() -> None:
    a = period_containing(F.MONTHLY, D(2026, 1, 5))
    b = a.next()
    assert a < b
    assert len({a, b, Period(a.start, a.end, F.MONTHLY)}) == 2
