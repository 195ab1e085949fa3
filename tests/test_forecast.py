"""The forecast (SPEC §7), hand-computed, with hypothesis laws.

Weekly KPIs measured on Mondays from T0 = 2026-01-05, so day t is T0 + t and the
per-period values are 7 days apart. Each case's slope, band and crossing date are
worked out in the comments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import (
    Direction,
    Frequency,
    Kind,
    Kpi,
    Measurement,
    Reason,
    Status,
    Value,
)
from kpitrack.evaluation.evaluate import evaluate_kpi, status_sentence
from kpitrack.evaluation.forecast import (
    fit,
    forecast,
    forecast_misses,
    per_period_values,
    percentile,
)

T0 = dt.date(2026, 1, 5)  # a Monday
SCALE = ("poor", "fair", "good", "excellent")
NOISY = (0, 14, 7, 21)


def day(t: int) -> dt.date:
    return T0 + dt.timedelta(days=t)


def kpi(**kw: Any) -> Kpi:
    fields: dict[str, Any] = {
        "id": "k",
        "name": "K",
        "measure": "count the things",
        "target": 100,
        "frequency": Frequency.WEEKLY,
    }
    fields.update(kw)
    return Kpi(**fields)


def weekly(*values: Value, first: int = 0) -> list[Measurement]:
    return [Measurement("k", day(7 * (first + i)), v, order=i) for i, v in enumerate(values)]


# (case, kpi keys, values, as-of t, value, low, high, reaches t or None, forecast-miss)
CASES = [
    # On a line of slope 1/day: every pairwise slope is 1. Anchor t=14 (24); due t=42:
    # 24 + 28 = 52 at every quantile. Target 50: (50 - 24) / 1 = 26 days → t=40.
    ("linear", {"target": 50, "due": day(42)}, (10, 17, 24), 16, 52, 52, 52, 40, False),
    # The same line, target 100: the band's top (52) misses it → forecast-miss.
    # It crosses 100 at t = 14 + 76 = 90, within a year of due.
    ("linear-miss", {"target": 100, "due": day(42)}, (10, 17, 24), 16, 52, 52, 52, 90, True),
    # Noisy: 0, 14, 7, 21 at t=0, 7, 14, 21. Slopes 2, 0.5, 1, -1, 0.5, 2, sorted
    # -1, .5, .5, 1, 2, 2: median .75; 25th percentile (rank 1.25) .5; 75th (rank 3.75)
    # 1 + .75 × (2 − 1) = 1.75. Intercept: median of y − .75t = 0, 8.75, −3.5, 5.25 →
    # 2.625. Anchor t=21: 2.625 + 15.75 = 18.375. Due t=49 (28 days on): value
    # 18.375 + 21 = 39.375, low 18.375 + 14 = 32.375, high 18.375 + 49 = 67.375.
    # Target 40: (40 − 18.375) / .75 = 28.83 days → the 29th day, t=50.
    (
        "noisy",
        {"target": 40, "due": day(49)},
        (0, 14, 7, 21),
        23,
        39.375,
        32.375,
        67.375,
        50,
        False,
    ),
    # Target 70: above the band's top 67.375 → forecast-miss; the line crosses it after
    # (70 − 18.375) / .75 = 68.83 days → the 69th day, t=90.
    (
        "noisy-miss",
        {"target": 70, "due": day(49)},
        (0, 14, 7, 21),
        23,
        39.375,
        32.375,
        67.375,
        90,
        True,
    ),
    # Flat at 5: slope 0, no band; never reaches 10.
    ("flat", {"target": 10, "due": day(42)}, (5, 5, 5), 16, 5, 5, 5, None, True),
    # Flat at the target: it meets it on the anchor day already.
    ("flat-met", {"target": 5, "due": day(42)}, (5, 5, 5), 16, 5, 5, 5, 14, False),
    # Decreasing, lower is better: 100, 93, 86 → slope −1/day; due t=42: 86 − 28 = 58.
    # Target 60: (60 − 86) / −1 = 26 days → t=40; the band (58) meets it.
    (
        "decrease",
        {"target": 60, "due": day(42), "direction": Direction.DECREASE},
        (100, 93, 86),
        16,
        58,
        58,
        58,
        40,
        False,
    ),
    # Target 50: the band's bottom 58 stays above → forecast-miss; crosses at t=50.
    (
        "decrease-miss",
        {"target": 50, "due": day(42), "direction": Direction.DECREASE},
        (100, 93, 86),
        16,
        58,
        58,
        58,
        50,
        True,
    ),
    # Qualitative, positions 0, 1, 1, 2: slopes 1/7, 1/14, 2/21, 0, 1/14, 1/7, sorted
    # 0, 1/14, 1/14, 2/21, 1/7, 1/7: median (1/14 + 2/21) / 2 = 1/12; 25th 1/14;
    # 75th 2/21 + .75 × 1/21 = 2.75/21. Intercept: median of 0, 5/12, −1/6, 1/4 = 1/8.
    # Anchor t=21: 1/8 + 21/12 = 1.875. Due t=28: 1.875 + 7/12; low 1.875 + .5 = 2.375;
    # high 1.875 + 7 × 2.75/21. Target excellent (3): (3 − 1.875) × 12 = 13.5 → t=35.
    (
        "qualitative",
        {"target": "excellent", "due": day(28), "kind": Kind.QUALITATIVE, "scale": SCALE},
        ("poor", "fair", "fair", "good"),
        23,
        1.875 + 7 / 12,
        2.375,
        1.875 + 7 * 2.75 / 21,
        35,
        True,
    ),
]


@pytest.mark.parametrize(
    ("keys", "values", "as_of", "value", "low", "high", "reaches", "miss"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_forecast_table(
    keys: dict[str, Any],
    values: tuple[Value, ...],
    as_of: int,
    value: float,
    low: float,
    high: float,
    reaches: int | None,
    miss: bool,
) -> None:
    k = kpi(**keys)
    f = forecast(k, weekly(*values), as_of=day(as_of))
    assert f is not None
    assert f.at == k.due
    assert (f.value, f.low, f.high) == pytest.approx((value, low, high))
    assert f.reaches_target_on == (None if reaches is None else day(reaches))
    assert f.anchor == day(7 * (len(values) - 1))
    assert forecast_misses(k, f, achieved=False) is miss
    result = evaluate_kpi(k, weekly(*values), as_of=day(as_of))
    assert (Reason.FORECAST_MISS in result.reasons) is miss
    assert result.forecast == f


def test_fewer_than_three_values_is_no_forecast() -> None:
    assert forecast(kpi(due=day(42)), weekly(1, 2), as_of=day(10)) is None
    assert evaluate_kpi(kpi(due=day(42)), weekly(1, 2), as_of=day(10)).forecast is None
    assert forecast(kpi(), [], as_of=day(10)) is None


def test_one_value_per_period_the_later_one_counts() -> None:
    # Two reports in the week of T0: the later date counts; later entries in a tie.
    history = [
        Measurement("k", day(0), 1, order=1),
        Measurement("k", day(2), 5, order=2),
        Measurement("k", day(7), 7, order=3),
        Measurement("k", day(7), 8, order=4),
    ]
    assert per_period_values(kpi(), history, as_of=day(10)) == [(day(2), 5.0), (day(7), 8.0)]


def test_only_the_last_eight_periods_and_nothing_after_as_of() -> None:
    history = weekly(*range(12))  # t = 0, 7, ..., 77
    points = per_period_values(kpi(), history, as_of=day(60))  # week of t=56
    # The 8 weeks up to the week of t=56: t = 7 ... 56 (the week of t=0 is the 9th back).
    assert [p[0] for p in points] == [day(t) for t in range(7, 57, 7)]


def test_a_standing_target_looks_one_period_ahead() -> None:
    # As of t=16 (the week of t=14), the next week ends on t=27 (a Sunday).
    f = forecast(kpi(target=50), weekly(10, 17, 24), as_of=day(16))
    assert f is not None and f.at == day(27)
    assert f.value == pytest.approx(24 + 13)
    assert not forecast_misses(kpi(target=50), f, achieved=False)  # no due: never a miss


def test_an_achieved_kpi_is_never_a_forecast_miss() -> None:
    k = kpi(target=20, due=day(42))
    result = evaluate_kpi(k, weekly(30, 25, 21), as_of=day(16))
    assert result.status is Status.ACHIEVED
    assert Reason.FORECAST_MISS not in result.reasons


def test_on_track_today_and_still_forecast_to_miss() -> None:
    # Path 0 → 100 from t=0 to t=70; values run ahead early, then stall.
    k = kpi(target=100, baseline=0, start=day(0), due=day(70))
    result = evaluate_kpi(k, weekly(30, 31, 32, 33), as_of=day(22))
    assert result.status is Status.ON_TRACK  # expected on t=21 is 30
    assert Reason.FORECAST_MISS in result.reasons


def test_percentile_is_linear_between_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.25) == pytest.approx(1.75)
    assert percentile([5.0], 0.75) == 5.0
    slope, intercept, low, high = fit([(day(0), 0.0), (day(7), 7.0), (day(14), 14.0)])
    assert (slope, low, high) == (1.0, 1.0, 1.0)
    assert intercept == pytest.approx(-day(0).toordinal())


def test_after_due_expected_is_the_target() -> None:
    # Due t=14 passed; latest on t=7 was on its path (expected 50) but the target (100)
    # was not met: as of t=20 expected is the target, so 60 is off-track, never on-track.
    k = kpi(target=100, baseline=0, start=day(0), due=day(14), frequency=Frequency.DAILY)
    history = [Measurement("k", day(0), 0), Measurement("k", day(7), 60)]
    before = evaluate_kpi(k, history, as_of=day(10))
    assert before.status is Status.ON_TRACK
    after = evaluate_kpi(k, history, as_of=day(20))
    assert after.expected == 100
    assert after.status is Status.OFF_TRACK
    assert status_sentence(after) == "target ≥ 100 by 2026-01-19; latest 60: off track"
    # 95 is within the 10% tolerance of the target: at-risk.
    near = [Measurement("k", day(0), 0), Measurement("k", day(7), 95)]
    assert evaluate_kpi(k, near, as_of=day(20)).status is Status.AT_RISK
    assert evaluate_kpi(k, near, as_of=day(14)).status is Status.ON_TRACK  # on due: the path


# ---------------------------------------------------------------- laws

SLOPES = st.floats(min_value=-50, max_value=50, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(
    slope=SLOPES,
    intercept=st.floats(min_value=-1000, max_value=1000),
    count=st.integers(min_value=3, max_value=7),
)
def test_a_value_on_the_line_never_moves_the_projection(
    slope: float, intercept: float, count: int
) -> None:
    """A series on a straight line, and one more period's value on it: same forecast.
    (Theil–Sen's medians can shift when a noisy series gains a point on its fitted line:
    docs/evaluation.md.)"""
    k = kpi(due=day(84))
    values = [intercept + slope * 7 * i for i in range(count)]
    before = forecast(k, weekly(*values), as_of=day(7 * count))
    after = forecast(k, weekly(*values, intercept + slope * 7 * count), as_of=day(7 * count))
    assert before is not None and after is not None
    assert (after.value, after.low, after.high) == pytest.approx(
        (before.value, before.low, before.high), abs=1e-6
    )


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=3, max_size=8),
    factor=st.floats(min_value=0.01, max_value=1000),
)
def test_scaling_values_scales_the_forecast(values: list[float], factor: float) -> None:
    as_of = day(7 * len(values))
    k = kpi(target=1000.0, due=day(7 * len(values) + 30))
    scaled_kpi = dataclasses.replace(k, target=1000.0 * factor)
    base = forecast(k, weekly(*values), as_of=as_of)
    scaled = forecast(scaled_kpi, weekly(*(v * factor for v in values)), as_of=as_of)
    assert base is not None and scaled is not None
    size = max(1.0, *(abs(v) for v in values)) * factor
    for a, b in ((base.value, scaled.value), (base.low, scaled.low), (base.high, scaled.high)):
        assert b == pytest.approx(a * factor, abs=1e-6 * size)
    assume(base.reaches_target_on is None or abs(base.slope) > 1e-6)
    assert (base.reaches_target_on is None) == (scaled.reaches_target_on is None)


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=3, max_size=8))
def test_the_band_holds_the_central_projection(values: list[float]) -> None:
    f = forecast(kpi(due=day(100)), weekly(*values), as_of=day(7 * len(values)))
    assert f is not None
    slack = 1e-9 * max(1.0, abs(f.value))
    assert f.low - slack <= f.value <= f.high + slack
