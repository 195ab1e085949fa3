"""Date words count from the as-of date; last-week/last-month are spans (issue #22 item 7)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from support import invoke

from kpitrack.commands.inputs import as_of_date, since_date
from kpitrack.domain.periods import parse_span
from kpitrack.writing.userinput import parse_measurement_date

D = dt.date


@pytest.mark.parametrize(
    ("word", "start", "end"),
    [
        ("today", D(2026, 11, 30), D(2026, 11, 30)),
        ("yesterday", D(2026, 11, 29), D(2026, 11, 29)),
        ("last-week", D(2026, 11, 23), D(2026, 11, 29)),  # 2026-11-30 is a Monday (W49)
        ("LAST-MONTH", D(2026, 10, 1), D(2026, 10, 31)),
    ],
)
def test_words_are_spans_counted_from_the_reference(word: str, start: D, end: D) -> None:
    span = parse_span(word, D(2026, 11, 30))
    assert (span.start, span.end) == (start, end)


def test_last_week_and_month_across_year_ends() -> None:
    span = parse_span("last-week", D(2027, 1, 6))  # W01 of 2027 starts on 2027-01-04
    assert (span.start, span.end) == (D(2026, 12, 28), D(2027, 1, 3))
    month = parse_span("last-month", D(2027, 1, 15))
    assert (month.start, month.end) == (D(2026, 12, 1), D(2026, 12, 31))


def test_as_of_is_the_span_last_day_and_since_starts_at_its_first_day() -> None:
    assert as_of_date("last-week", D(2026, 11, 30)) == D(2026, 11, 29)
    # --since: the window is after the returned day, so the span's first day is inside
    assert since_date("last-week", D(2026, 11, 30)) == D(2026, 11, 22)
    assert since_date("yesterday", D(2026, 11, 30)) == D(2026, 11, 28)
    assert since_date("2026-W47", D(2026, 11, 30)) == D(2026, 11, 15)
    assert since_date("2026-11-01", D(2026, 11, 30)) == D(2026, 11, 1)  # a date: after it
    with pytest.raises(ValueError, match="or one of today, yesterday, last-week"):
        since_date("lastweek", D(2026, 11, 30))


def test_record_date_words_name_that_period() -> None:
    today = D(2026, 12, 2)
    assert parse_measurement_date("yesterday", today) == D(2026, 12, 1)
    assert parse_measurement_date("last-week", today) == D(2026, 11, 29)
    assert parse_measurement_date("last-month", today) == D(2026, 11, 30)
    assert parse_measurement_date("today", today) == today


KPIS = """\
kpis:
  - id: signups
    name: Signups
    measure: New accounts created in the week, from the database
    target: 100
    frequency: weekly
    owner: Growth
measurements:
  - {kpi: signups, date: 2026-11-15, value: 40}
  - {kpi: signups, date: 2026-11-23, value: 60}
  - {kpi: signups, date: 2026-11-29, value: 70}
"""


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_report_since_words_count_from_as_of(ws: Path) -> None:
    ran = invoke("report", "--since", "last-week", "--as-of", "2026-11-30", "--format", "json")
    assert ran.code == 0, ran.output
    doc = json.loads(ran.stdout)
    assert doc["since"] == "2026-11-22"
    dates = [m["date"] for m in doc["changes"]["new_measurements"]]
    assert dates == ["2026-11-23", "2026-11-29"]  # the whole previous ISO week
    yesterday = invoke("report", "--since", "yesterday", "--as-of", "2026-11-30")
    assert yesterday.code == 0, yesterday.output  # was refused: "after --as-of"


def test_record_date_last_week(ws: Path) -> None:
    ran = invoke("record", "signups", "80", "--date", "last-week")
    assert ran.code == 0, ran.output
    today = dt.date.today()
    week_start = today - dt.timedelta(days=today.isoweekday() - 1)
    last_sunday = week_start - dt.timedelta(days=1)
    assert f"date: {last_sunday.isoformat()}" in (ws / "kpis.yaml").read_text(encoding="utf-8")
