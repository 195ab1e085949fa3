"""Calendar reporting periods for each frequency (weeks are ISO weeks, Monday first)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import TYPE_CHECKING

from kpitrack.domain.model import MAX_DATE, MIN_DATE, Frequency, date_in_range
from kpitrack.domain.records import Record

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

ONE_DAY = dt.timedelta(days=1)


@record(frozen=True, order=True)
class Period(Record):
    """A reporting period, both ends inclusive."""

    start: dt.date
    end: dt.date
    frequency: Frequency

    def __init__(self, start: dt.date, end: dt.date, frequency: Frequency) -> None:
        _setattr(self, "start", start)
        _setattr(self, "end", end)
        _setattr(self, "frequency", frequency)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def due(self, grace_days: int) -> dt.date:
        """The day the period's report is due; it is overdue from the day after."""
        return self.end + dt.timedelta(days=grace_days)

    @property
    def label(self) -> str:
        f, s = self.frequency, self.start
        if f is Frequency.DAILY:
            return s.isoformat()
        if f is Frequency.WEEKLY:
            year, week, _ = s.isocalendar()
            return f"{year}-W{week:02d}"
        if f is Frequency.MONTHLY:
            return f"{s.year}-{s.month:02d}"
        if f is Frequency.QUARTERLY:
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        return str(s.year)

    def next(self) -> Period:
        return period_containing(self.frequency, self.end + ONE_DAY)

    def previous(self) -> Period:
        return period_containing(self.frequency, self.start - ONE_DAY)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def period_containing(frequency: Frequency, day: dt.date) -> Period:
    """The period of `frequency` that contains `day`."""
    if frequency is Frequency.DAILY:
        return Period(day, day, frequency)
    if frequency is Frequency.WEEKLY:
        monday = day - dt.timedelta(days=day.weekday())
        return Period(monday, monday + dt.timedelta(days=6), frequency)
    if frequency is Frequency.MONTHLY:
        return Period(day.replace(day=1), _month_end(day.year, day.month), frequency)
    if frequency is Frequency.QUARTERLY:
        first = (day.month - 1) // 3 * 3 + 1
        return Period(dt.date(day.year, first, 1), _month_end(day.year, first + 2), frequency)
    return Period(dt.date(day.year, 1, 1), dt.date(day.year, 12, 31), frequency)


def periods_between(frequency: Frequency, first: dt.date, last: dt.date) -> int:
    """How many periods start after the one containing `first`, up to the one containing `last`."""
    a, b = period_containing(frequency, first), period_containing(frequency, last)
    if frequency is Frequency.DAILY:
        return (b.start - a.start).days
    if frequency is Frequency.WEEKLY:
        return (b.start - a.start).days // 7
    months = (b.start.year - a.start.year) * 12 + b.start.month - a.start.month
    if frequency is Frequency.MONTHLY:
        return months
    if frequency is Frequency.QUARTERLY:
        return months // 3
    return b.start.year - a.start.year


DATE_PATTERN = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_WEEK = re.compile(r"(\d{4})-W(\d{2})", re.ASCII)
_QUARTER = re.compile(r"(\d{4})-Q([1-4])", re.ASCII)
_YEAR = re.compile(r"(\d{4})", re.ASCII)


def parse_date(text: str) -> dt.date:
    """A strict ISO date (YYYY-MM-DD); ValueError with a readable message otherwise."""
    m = DATE_PATTERN.fullmatch(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a date (expected YYYY-MM-DD)")
    try:
        day = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"'{text}' is not a real date") from None
    if not date_in_range(day):
        raise ValueError(f"'{text}' is outside the supported years {MIN_DATE.year}–{MAX_DATE.year}")
    return day


def parse_period(text: str) -> Period:
    """A date or a period: 2026-10-31, 2026-W44, 2026-10, 2026-Q3, 2026."""
    period = _parse_period(text.strip(), text)
    if not (date_in_range(period.start) and date_in_range(period.end)):
        raise ValueError(f"'{text}' is outside the supported years {MIN_DATE.year}–{MAX_DATE.year}")
    return period


def _parse_period(t: str, text: str) -> Period:
    if DATE_PATTERN.fullmatch(t):
        day = parse_date(t)
        return Period(day, day, Frequency.DAILY)
    if m := _WEEK.fullmatch(t):
        try:
            monday = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise ValueError(f"'{text}' is not a real ISO week") from None
        return period_containing(Frequency.WEEKLY, monday)
    year = int(t[:4]) if t[:4].isdigit() else 0  # year 0 does not exist: not a period
    if year >= 1 and (m := _MONTH.fullmatch(t)):
        month = int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"'{text}' is not a real month")
        return period_containing(Frequency.MONTHLY, dt.date(year, month, 1))
    if year >= 1 and (m := _QUARTER.fullmatch(t)):
        quarter = int(m[2])
        return period_containing(Frequency.QUARTERLY, dt.date(year, quarter * 3 - 2, 1))
    if year >= 1 and _YEAR.fullmatch(t):
        return period_containing(Frequency.YEARLY, dt.date(year, 1, 1))
    raise ValueError(
        f"'{text}' is not a date or period (YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn or YYYY)"
    )


DATE_WORDS = ("today", "yesterday", "last-week", "last-month")
"""Words a user may type for a date or a period, counted from a reference day (the
as-of date, or today where there is none): docs/terminal.md "Date words"."""


def word_period(text: str, reference: dt.date) -> Period | None:
    """The span a date word names, counted from `reference`: today and yesterday are
    days, last-week the previous ISO week, last-month the previous calendar month; None
    when `text` is not one of DATE_WORDS."""
    word = text.strip().lower()
    if word == "today":
        return Period(reference, reference, Frequency.DAILY)
    if word == "yesterday":
        day = reference - ONE_DAY
        return Period(day, day, Frequency.DAILY)
    if word == "last-week":
        return period_containing(Frequency.WEEKLY, reference).previous()
    if word == "last-month":
        return period_containing(Frequency.MONTHLY, reference).previous()
    return None


def parse_span(text: str, reference: dt.date) -> Period:
    """A date (a one-day span), a period (2026-W47, 2026-11, 2026-Q3, 2026) or a date
    word counted from `reference`; ValueError with a readable message otherwise."""
    period = word_period(text, reference)
    if period is not None:
        if not (date_in_range(period.start) and date_in_range(period.end)):
            raise ValueError(f"'{text}' is outside the supported years")
        return period
    try:
        return parse_period(text)
    except ValueError as exc:
        raise ValueError(f"{exc}, or one of {', '.join(DATE_WORDS)}") from None


def add_frequency(frequency: Frequency, day: dt.date, count: int = 1) -> dt.date:
    """`day` moved by `count` periods (month ends clamp: Jan 31 + 1 month = Feb 28/29)."""
    if frequency is Frequency.DAILY:
        return day + dt.timedelta(days=count)
    if frequency is Frequency.WEEKLY:
        return day + dt.timedelta(weeks=count)
    months = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.YEARLY: 12}[frequency]
    index = day.year * 12 + day.month - 1 + months * count
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def latest_period_due_before(frequency: Frequency, as_of: dt.date, grace_days: int) -> Period:
    """The most recent period whose report fell due before `as_of` (is overdue on `as_of`
    when missing): its end plus `grace_days` is at most the day before `as_of`."""
    last_end = as_of - dt.timedelta(days=grace_days + 1)
    period = period_containing(frequency, last_end)
    return period if period.end <= last_end else period.previous()
