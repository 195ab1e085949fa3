"""The streamed export and the report's window of new measurements read the column
store directly; they must give exactly what the plain, one-object-per-measurement
oracles give: on hypothesis-made workspaces (every kind of value, note and order) and on
a generated benchmark workspace, through the CLI."""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import invoke

from kpitrack.domain.csvout import CsvLine
from kpitrack.domain.model import Frequency, Kpi, Location, Measurement
from kpitrack.domain.series import Measurements, Series
from kpitrack.domain.workspace import Workspace
from kpitrack.reports import export
from kpitrack.reports.digest import window_measurements
from kpitrack.reports.export import (
    MEASUREMENT_COLUMNS,
    measurement_csv,
    measurement_jsonl,
    measurement_rows,
    reading_order,
    to_csv,
    to_jsonl,
)

ROOT = Path(__file__).resolve().parent.parent
IDS = ("a", "b", "c", "d")
AS_OF = dt.date(2026, 11, 25)

# Text that needs quoting, neutralising or escaping in CSV or JSON, and plain words.
SPECIAL = ["plain", "=SUM(A1)", "+1", "-2", "@x", "\tx", "a, b", 'say "hi"', "two\nlines"]
SPECIAL += ["\r\n", "", " ", "ünï 🎉", "＝1", "'quoted'", "\\"]
TEXTS = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=6))
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 1, 2**53, 2**53 + 1, 1e16, 0.1, -40, True]),
    st.integers(min_value=-(2**60), max_value=2**60),
    TEXTS,
)


@st.composite
def measurements(draw: Any, *, distinct_orders: bool = True) -> list[Measurement]:
    """Measurements of known KPIs (and one unknown), orders rising with gaps (sometimes
    far apart), or, without `distinct_orders`, any orders at all."""
    count = draw(st.integers(min_value=0, max_value=40))
    out: list[Measurement] = []
    order = draw(st.integers(min_value=-5, max_value=5))
    for _ in range(count):
        if distinct_orders:
            order += draw(st.sampled_from([1, 1, 1, 2, 3, 10**6]))
        else:
            order = draw(st.integers(min_value=0, max_value=5))
        out.append(
            Measurement(
                draw(st.sampled_from([*IDS, "unknown"])),
                dt.date(2026, 11, 1) + dt.timedelta(days=draw(st.integers(-3, 40))),
                draw(VALUES),
                draw(st.none() | TEXTS),
                draw(st.none() | TEXTS),
                Location(draw(st.sampled_from(["m1.yaml", "m2.yaml"])), 1, 1),
                order,
            )
        )
    return out


def _kpi(kpi_id: str, name: str) -> Kpi:
    return Kpi(kpi_id, name, "a b c", 10, Frequency.MONTHLY, owner="=owner", unit="%")


def _workspace(given: list[Measurement], names: list[str]) -> Workspace:
    kpis = tuple(_kpi(kpi_id, name) for kpi_id, name in zip(IDS, names, strict=True))
    return Workspace(kpis=kpis, measurements=given)


NAMES = st.lists(TEXTS, min_size=len(IDS), max_size=len(IDS))
CHOSEN = st.sets(st.sampled_from([*IDS, "unknown"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(given=measurements(), names=NAMES, ids=CHOSEN, batch=st.integers(1, 5))
def test_streamed_export_equals_the_row_by_row_writers(
    given: list[Measurement], names: list[str], ids: set[str], batch: int
) -> None:
    workspace = _workspace(given, names)
    oracle = "".join(to_csv(measurement_rows(workspace, ids), MEASUREMENT_COLUMNS))
    assert "".join(measurement_csv(workspace, ids, batch=batch)) == oracle
    oracle = "".join(to_jsonl(measurement_rows(workspace, ids)))
    assert "".join(measurement_jsonl(workspace, ids, batch=batch)) == oracle


def test_a_full_cell_cache_starts_over_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unique notes: the cache is bounded (here to 2 texts) and the bytes stay the same."""
    given = [
        Measurement(IDS[i % 2], dt.date(2026, 1, 1 + i % 28), float(i), f"note {i}", f"by {i % 3}",
                    order=i)
        for i in range(200)
    ]  # fmt: skip
    workspace = _workspace(given, list(IDS))
    before_csv = "".join(measurement_csv(workspace, set(IDS)))
    before_jsonl = "".join(measurement_jsonl(workspace, set(IDS)))
    monkeypatch.setattr(export, "CELL_CACHE_LIMIT", 2)
    assert "".join(measurement_csv(workspace, set(IDS))) == before_csv
    assert "".join(measurement_jsonl(workspace, set(IDS))) == before_jsonl
    oracle = "".join(to_csv(measurement_rows(workspace, set(IDS)), MEASUREMENT_COLUMNS))
    assert before_csv == oracle


@settings(max_examples=100, deadline=None)
@given(orders=st.lists(st.lists(st.integers(-3, 3) | st.integers(-(2**40), 2**40), max_size=8),
                       max_size=5))  # fmt: skip
def test_reading_order_is_the_order_then_the_series(orders: list[list[int]]) -> None:
    """Slots by order when the orders are distinct and close, sorted otherwise (repeated
    orders, far apart): the same sequence either way."""
    every = []
    for n, column in enumerate(orders):
        series = Series(f"k{n}", ["f.yaml"])
        for order in column:
            series.append(1, 1.0, None, None, 0, 1, 1, order)
        every.append(series)
    which, where = reading_order(every)
    expected = sorted((o, k, i) for k, column in enumerate(orders) for i, o in enumerate(column))
    assert list(zip(which, where, strict=True)) == [(k, i) for _, k, i in expected]


def test_reading_order_puts_close_distinct_orders_in_slots() -> None:
    """The common case (orders from loading) takes no sort; gaps are skipped."""
    every = []
    for n, column in enumerate([[0, 3, 4], [1, 5], [7]]):
        series = Series(f"k{n}", ["f.yaml"])
        for order in column:
            series.append(1, 1.0, None, None, 0, 1, 1, order)
        every.append(series)
    which, where = reading_order(every)
    assert list(which) == [0, 1, 0, 0, 1, 2] and list(where) == [0, 0, 1, 2, 1, 0]
    assert reading_order([]) == reading_order([Series("k", [])])


def test_a_csv_cell_is_written_as_in_a_row_of_several() -> None:
    line = CsvLine()
    for value in ["", None, "a,b", 'q"q', "=1", "x\ny", 1.5, -40, True, "plain"]:
        row = line((value, "z"))
        assert row == line.cell(value) + ",z\n"
    assert line.cell("") == "" and line(("",)) == '""\n'  # a lone empty cell is quoted


def _old_window(
    workspace: Workspace, covered: set[str], since: dt.date, as_of: dt.date
) -> list[Measurement]:
    """The report's window as it was read before: every Measurement, sorted."""
    return [
        m
        for m in sorted(workspace.measurements, key=lambda m: (m.date, m.order))
        if m.kpi in covered and since < m.date <= as_of
    ]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    distinct=measurements(),
    repeated=measurements(distinct_orders=False),
    covered=CHOSEN,
    since=st.integers(-5, 45),
    days=st.integers(0, 20),
)
def test_the_reports_window_equals_sorting_every_measurement(
    distinct: list[Measurement],
    repeated: list[Measurement],
    covered: set[str],
    since: int,
    days: int,
) -> None:
    start = dt.date(2026, 11, 1) + dt.timedelta(days=since)
    end = start + dt.timedelta(days=days)
    for given_ in (distinct, repeated):
        workspace = _workspace(given_, list(IDS))
        expected = _old_window(workspace, covered, start, end)
        got = window_measurements(workspace.measurements, covered, since=start, as_of=end)
        assert _same(got, expected)


def _same(a: list[Measurement], b: list[Measurement]) -> bool:
    """Equal lists, NaN values counting as equal to themselves."""

    def key(m: Measurement) -> tuple[Any, ...]:
        nan = isinstance(m.value, float) and math.isnan(m.value)
        return (m.kpi, m.date, "nan" if nan else m.value, m.note, m.by, m.loc, m.order)

    return [key(m) for m in a] == [key(m) for m in b]


def test_the_window_of_measurements_made_by_hand() -> None:
    made = Measurements(
        [
            Measurement("a", dt.date(2026, 1, 5), 1.0, order=2),
            Measurement("b", dt.date(2026, 1, 5), 2.0, order=1),
            Measurement("a", dt.date(2026, 1, 3), 3.0, order=1),
            Measurement("b", dt.date(2026, 1, 1), 4.0, order=0),
        ]
    )
    got = window_measurements(made, {"a", "b"}, since=dt.date(2026, 1, 1), as_of=AS_OF)
    assert [(m.kpi, m.value) for m in got] == [("a", 3.0), ("b", 2.0), ("a", 1.0)]


def _generate() -> Any:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    ws: Path = _generate().generate(out, kpis=30, measurements=3000, journal=False, shape="hand")
    return ws


def test_generated_workspace_exports_like_the_oracle(generated: Path) -> None:
    """Through the CLI, to a file and to stdout: the streamed bytes equal the oracle's."""
    from kpitrack.domain.model import Config
    from kpitrack.reading.loading import load_workspace

    files = sorted(generated.rglob("*.yaml"))
    workspace, _ = load_workspace(files, config=Config(), as_of=AS_OF)
    ids = {k.id for k in workspace.kpis}
    oracle = {
        "csv": "".join(to_csv(measurement_rows(workspace, ids), MEASUREMENT_COLUMNS)),
        "jsonl": "".join(to_jsonl(measurement_rows(workspace, ids))),
    }
    assert oracle["csv"].count("\n") == 3001
    for fmt, expected in oracle.items():
        ran = invoke("export", "-f", str(generated), "--as-of", AS_OF.isoformat(), "--format", fmt)
        assert ran.code == 0, ran.output
        assert ran.stdout == expected
        target = generated.parent / f"out.{fmt}"
        ran = invoke(
            "export", "-f", str(generated), "--as-of", AS_OF.isoformat(), "-o", str(target)
        )
        assert ran.code == 0, ran.output
        assert target.read_text(encoding="utf-8") == expected


def test_generated_workspace_reports_the_window_like_the_oracle(generated: Path) -> None:
    from kpitrack.domain.model import Config
    from kpitrack.reading.loading import load_workspace
    from kpitrack.reports.digest import build_report

    files = sorted(generated.rglob("*.yaml"))
    workspace, _ = load_workspace(files, config=Config(), as_of=AS_OF)
    since = AS_OF - dt.timedelta(days=40)
    report = build_report(workspace, as_of=AS_OF, since=since, config=Config())
    covered = {k.id for k in workspace.kpis}
    expected = _old_window(workspace, covered, since, AS_OF)
    assert len(expected) > 100
    assert [n.measurement for n in report.new_measurements] == expected
    assert [n.kpi.id for n in report.new_measurements] == [m.kpi for m in expected]
