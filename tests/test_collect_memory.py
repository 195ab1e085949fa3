"""collect's memory: the date index keeps one KPI's dates at a time and answers as a
scan of the measurements would; the load's parse of the target is dropped before
the append (nothing reads it again), the other files' parses are kept."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# ---------------------------------------------------------------- no pydantic for --max-periods

INT_TEXTS = st.one_of(
    st.integers(-5, 400).map(str),
    st.text(alphabet="0123456789+-_ .e\u0663x", max_size=6),
    st.sampled_from(["0", "00", "01", "366", "367", "1_0", " 3", "3 ", "+3", "9" * 25]),
)


@pytest.mark.typer_patches
@settings(max_examples=200, deadline=None)
@given(value=st.one_of(INT_TEXTS, st.integers(-3, 400)))
def test_max_periods_converts_exactly_as_typer_does(value: object) -> None:
    import typer
    from typer._click import Context
    from typer._coercion import build_runtime_param

    from kpitrack._typer import plain_runtime_param
    from kpitrack.cli import app

    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    collect = command.commands["collect"]
    [param] = [p for p in collect.params if p.name == "max_periods"]
    plain = plain_runtime_param(param.type_descriptor)
    assert plain is not None
    typer_way = build_runtime_param(param.type_descriptor)
    ctx = Context(collect, info_name="collect")

    def outcome(runtime: Any) -> tuple[str, Any]:
        try:
            return "value", runtime.coerce(value, param=param, ctx=ctx)
        except typer.BadParameter as exc:
            return "error", exc.format_message()

    assert outcome(plain) == outcome(typer_way)


@pytest.mark.typer_patches
def test_collect_does_not_import_pydantic(tmp_path: Path) -> None:
    make_sqlite(tmp_path / "app.db")
    workspace(tmp_path, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write("
        "'PYDANTIC=%s\\n' % ('pydantic' in sys.modules)))\n"
        f"sys.argv = ['kpitrack', 'collect', '--dry-run', '--as-of', {AS_OF!r}, "
        "'--max-periods', '2']\n"
        "from kpitrack.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "would add 2 measurement(s)" in done.stdout, done.stdout
    assert "PYDANTIC=False" in done.stderr, done.stderr
