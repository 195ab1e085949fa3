"""collect's memory: the date index keeps one KPI's dates at a time and answers as a
scan of the measurements would; the load's parse of the target is dropped before
the append (nothing reads it again), the other files' parses are kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_collect import AS_OF, SIGNUPS_SQL, kpi, make_sqlite, workspace

from kpitrack.commands.inputs import source_context
from kpitrack.domain.model import Config, Frequency
from kpitrack.domain.periods import Period, period_containing
from kpitrack.reading.loading import load_texts
from kpitrack.writing.collecting import DateIndex, collect_due
from kpitrack.writing.recording import load_for_writing

DAY0 = dt.date(2026, 1, 1)
KPIS = ("a", "b", "c")


def _texts(rows: list[tuple[str, int]]) -> list[tuple[str, str]]:
    kpis = "kpis:\n" + "".join(
        f"  - id: {k}\n    name: {k}\n    measure: m\n    target: 1\n    frequency: weekly\n"
        f"    owner: o\n"
        for k in KPIS
    )
    lines = "".join(
        f"  - {{kpi: {k}, date: {DAY0 + dt.timedelta(days=d)}, value: 1}}\n" for k, d in rows
    )
    return [("kpis.yaml", kpis), ("m.yaml", "measurements:\n" + lines)]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from(KPIS), st.integers(0, 120)), max_size=40),
    asks=st.lists(
        st.tuples(st.sampled_from(KPIS), st.integers(0, 130), st.sampled_from(list(Frequency))),
        min_size=1,
        max_size=30,
    ),
)
def test_date_index_answers_as_a_scan_and_keeps_one_kpi(
    rows: list[tuple[str, int]], asks: list[tuple[str, int, Frequency]]
) -> None:
    ws, problems = load_texts(_texts(rows), config=Config(), as_of=dt.date(2027, 1, 1))
    assert not [p for p in problems if p.is_error]
    index = DateIndex(ws)
    for kpi_id, day, frequency in asks:  # KPIs asked in any order, and asked again
        period: Period = period_containing(frequency, DAY0 + dt.timedelta(days=day))
        expected = any(
            period.start <= DAY0 + dt.timedelta(days=d) <= period.end
            for k, d in rows
            if k == kpi_id
        )
        assert index.has_value(kpi_id, period) is expected
        assert index._kpi == kpi_id  # only the latest KPI's dates are kept


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_targets_parse_is_dropped_before_the_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry_run: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    make_sqlite(tmp_path / "app.db")
    workspace(tmp_path, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    day = dt.date.fromisoformat(AS_OF)
    loaded = load_for_writing(None, day)
    assert {display for display, _text in loaded.memo} == {"kpis.yaml", "measurements.yaml"}
    outcome = collect_due(loaded, source_context(loaded.config), as_of=day, dry_run=dry_run)
    assert [r.value for r in outcome.collected] == [12]
    assert outcome.added == (0 if dry_run else 1)
    # The target's parse is gone; the other file's is kept for a reload under the lock.
    assert {display for display, _text in loaded.memo} == {"kpis.yaml"}
