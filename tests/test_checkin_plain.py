"""checkin --dry-run's fast paths against the slow ones they replace: the plain-text
card (`render.checkin.kpi_card_text`) against Rich's rendering of `kpi_card` through
`renderable_to_text`, the whole dry run with and without it, and `owed_periods` from
the KPI's date column against the old set of period starts of every Measurement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import invoke
from test_checkin import KPIS, entry, workspace

from kpitrack.commands.output import renderable_to_text
from kpitrack.domain.model import (
    Config,
    Direction,
    Frequency,
    Kind,
    Kpi,
    KpiResult,
    Measurement,
    Status,
)
from kpitrack.domain.periods import Period, period_containing
from kpitrack.domain.series import Measurements
from kpitrack.evaluation.evaluate import evaluate_kpi
from kpitrack.render import checkin as render_checkin
from kpitrack.render.checkin import kpi_card, kpi_card_text
from kpitrack.writing import checkin as core
from kpitrack.writing.checkin import Due, KpiOwes, Owed, owed_periods
from kpitrack.writing.userinput import parse_measurement_date

DAY = dt.date(2026, 12, 9)

# Words, runs of spaces, long words, non-ASCII (single and double width, combining),
# and the characters `visible` escapes.
_PIECES = st.one_of(
    st.text(alphabet="abcdefgh", min_size=1, max_size=12),
    st.sampled_from(
        [" ", "  ", "   ", "x" * 70, "é", "≥", "日本", "e\u0301", "\t", "\x1b[2J", "\u00a0"]
    ),
)
_TEXT = st.lists(_PIECES, min_size=1, max_size=12).map("".join)


def _owes(name: str, measure: str, unit: str | None, periods: int, qualitative: bool) -> KpiOwes:
    kind = Kind.QUALITATIVE if qualitative else Kind.QUANTITATIVE
    kpi = Kpi(
        id="k-1",
        name=name,
        measure=measure,
        target="good" if qualitative else 100,
        frequency=Frequency.DAILY,
        kind=kind,
        scale=("poor", "fair", "good") if qualitative else (),
        direction=Direction.INCREASE if periods % 2 else Direction.DECREASE,
        unit=None if qualitative else unit,
        due=DAY if periods % 3 == 0 else None,
    )
    history = [Measurement("k-1", DAY - dt.timedelta(days=30), "fair" if qualitative else 7)]
    result = evaluate_kpi(kpi, history, as_of=DAY)
    owed = tuple(
        Owed(kpi, period_containing(Frequency.DAILY, day), Due.OVERDUE, day)
        for day in (DAY - dt.timedelta(days=n) for n in range(periods, 0, -1))
    )
    return KpiOwes(result, owed, Path("m.yaml"), result.expected)


@settings(max_examples=150, deadline=None)
@given(
    name=_TEXT,
    measure=_TEXT,
    unit=st.none() | _TEXT,
    periods=st.integers(1, 13),
    qualitative=st.booleans(),
    width=st.integers(1, 130),
    number=st.integers(1, 1200),
)
def test_plain_card_is_riches_text(
    name: str,
    measure: str,
    unit: str | None,
    periods: int,
    qualitative: bool,
    width: int,
    number: int,
) -> None:
    owes = _owes(name, measure, unit, periods, qualitative)
    plain = kpi_card_text(owes, number, 1200, width)
    if plain is not None:
        assert plain == renderable_to_text(kpi_card(owes, number, 1200), width)


@pytest.mark.parametrize("width", [20, 33, 60, 80, 120])
def test_plain_card_covers_ordinary_cards(width: int) -> None:
    """Printable single-width text (the usual card, wrapped or not) never needs Rich."""
    owes = _owes("Weekly active users ≥ plan", "Users who logged in " * 6, "users", 12, False)
    plain = kpi_card_text(owes, 7, 1000, width)
    assert plain is not None
    assert plain == renderable_to_text(kpi_card(owes, 7, 1000), width)


def test_plain_card_leaves_what_it_cannot_match_to_rich() -> None:
    for text in ("日本語", "e\u0301", "a\u00a0b"):
        assert kpi_card_text(_owes(text, "m", None, 2, False), 1, 1, 80) is None
    assert kpi_card_text(_owes("n", "m", None, 2, False), 1, 1, 19) is None


@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_dry_run_is_the_same_bytes_with_and_without_the_plain_cards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    long_measure = KPIS.replace(
        "Distinct users who logged in during the ISO week",
        "Distinct users who logged in during the ISO week, counted once each, " * 3,
    )
    day = dt.date.today() - dt.timedelta(days=200)
    folder = workspace(tmp_path, entry("wau", day, 5) + entry("mrr", day, 50), long_measure)
    monkeypatch.chdir(folder)
    env = {"COLUMNS": columns}
    fast = invoke("checkin", "--dry-run", env=env)
    assert fast.code == 0, fast.output
    monkeypatch.setattr(render_checkin, "kpi_card_text", lambda *args: None)
    slow = invoke("checkin", "--dry-run", env=env)
    assert fast.stdout == slow.stdout
    assert "would ask" in fast.stdout


def _owed_before(result: KpiResult, today: dt.date, config: Config) -> list[Owed]:
    """owed_periods as it was: a set of the period starts of every Measurement."""
    kpi, frequency = result.kpi, result.kpi.frequency
    current = period_containing(frequency, today)
    filled = {period_containing(frequency, m.date).start for m in result.history}
    if result.start is None:
        first = current
    else:
        first = period_containing(frequency, result.start)
        if result.latest is not None:
            first = max(first, period_containing(frequency, result.latest.date).next())
    last = current
    if result.status is Status.ACHIEVED and kpi.due is not None:
        last = min(last, period_containing(frequency, kpi.due))
    found: list[Period] = []
    period = last
    while period.start >= first.start and len(found) <= core.MAX_PAST_PERIODS:
        if period.start not in filled:
            found.append(period)
        period = period.previous()
    found.reverse()
    grace = kpi.grace_days if kpi.grace_days is not None else config.grace_days
    out: list[Owed] = []
    for p in found:
        due = Due.OVERDUE if p.due(grace) < today else Due.DUE
        if p == current:
            due = Due.CURRENT
        out.append(Owed(kpi, p, due, parse_measurement_date(p.label, today)))
    past = [o for o in out if o.due is not Due.CURRENT][-core.MAX_PAST_PERIODS :]
    return past + [o for o in out if o.due is Due.CURRENT]


@settings(max_examples=200, deadline=None)
@given(
    frequency=st.sampled_from(list(Frequency)),
    offsets=st.lists(st.integers(-800, 60), max_size=40),
    start=st.none() | st.integers(-900, 30),
    today=st.integers(0, 400),
    grace=st.integers(0, 10),
)
def test_owed_periods_from_the_date_column_match_the_measurements(
    frequency: Frequency, offsets: list[int], start: int | None, today: int, grace: int
) -> None:
    base = dt.date(2025, 1, 1)
    day = base + dt.timedelta(days=today)
    kpi = Kpi(
        id="k",
        name="K",
        measure="m",
        target=100,
        frequency=frequency,
        start=None if start is None else base + dt.timedelta(days=start),
        grace_days=grace,
    )
    rows = [Measurement("k", base + dt.timedelta(days=o), 10 + i) for i, o in enumerate(offsets)]
    config = Config()
    as_list = evaluate_kpi(kpi, rows, as_of=day, config=config)
    as_columns = evaluate_kpi(kpi, Measurements(rows), as_of=day, config=config)
    expected = _owed_before(as_list, day, config)
    assert owed_periods(as_list, today=day, config=config) == expected
    assert owed_periods(as_columns, today=day, config=config) == expected
