"""The compact storage (measurements as per-KPI columns, rows as columns) and the cap on
problems must give exactly what the straightforward representations give."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import pytest
from support import SAMPLE_DATE as AS_OF

from kpitrack.domain.model import Location, Measurement
from kpitrack.domain.problems import MAX_PROBLEMS_PER_FILE, Problem, ProblemList, cap_problems
from kpitrack.domain.series import History, Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate, evaluate_kpi
from kpitrack.reading import loading
from kpitrack.reading.config import Config
from kpitrack.reading.yamlnodes import Scalar

ROOT = Path(__file__).resolve().parent.parent


def m(kpi: str, day: str, value: float | str, order: int = 0, **more: object) -> Measurement:
    return Measurement(kpi, dt.date.fromisoformat(day), value, order=order, **more)  # type: ignore[arg-type]


def test_measurement_fields_are_the_written_keys() -> None:
    assert Measurement.FIELDS == ("kpi", "date", "value", "note", "by")
    assert all(f in {x.name for x in dataclasses.fields(Measurement)} for f in Measurement.FIELDS)


def test_measurements_made_by_hand_keep_their_order_and_values() -> None:
    given = (
        m("b", "2026-02-01", 2.0, note="n", by="me", loc=Location("x.yaml", 3, 5)),
        m("a", "2026-01-01", "good"),
        m("b", "2026-01-01", 1),  # an int stays an int
        m("a", "2026-03-01", -0.0),
    )
    ms = Measurements(given)
    assert list(ms) == list(given) and len(ms) == 4
    assert ms == given and given == ms and ms[1] == given[1] and ms[-1] == given[-1]
    assert ms[1:3] == given[1:3]
    assert type(ms[2].value) is int and str(ms[3].value) == "-0.0"
    series = ms.series("b")
    assert series is not None and [x.value for x in series] == [2.0, 1]
    assert ms.series("zz") is None
    assert Workspace(measurements=given) == Workspace(measurements=ms)
    assert hash(Workspace(measurements=given)) == hash(Workspace(measurements=ms))
    with pytest.raises(IndexError):
        ms[4]


def test_a_loaded_workspace_reads_back_in_file_order() -> None:
    path = ROOT / "sample_kpis.yaml"
    ws, _ = loading.load_texts(
        [(str(path), path.read_text(encoding="utf-8"))], config=Config(), as_of=AS_OF
    )
    items = list(ws.measurements)
    assert [x.order for x in items] == sorted(x.order for x in items)
    assert [ws.measurements[i] for i in range(len(items))] == items
    assert ws.measurements[-3:] == tuple(items[-3:])
    assert Measurements(items) == ws.measurements


def test_history_views_agree_with_sorted_tuples() -> None:
    """Out of date order, ties on a date, future-dated: the evaluation on the columns
    equals the evaluation from plain Measurement tuples."""
    kpis = (
        "kpis:\n"
        "  - {id: n, name: N, measure: a b c, target: 10, frequency: monthly, owner: o}\n"
        "  - {id: d, name: D, measure: a b c, target: 10, frequency: weekly, due: 2026-12-31,"
        " direction: decrease}\n"
        "  - {id: e, name: E, measure: a b c, target: 1, frequency: daily}\n"
    )
    body = "measurements:\n" + "".join(
        f"  - {{kpi: {k}, date: {d}, value: {v}}}\n"
        for k, d, v in [
            ("n", "2026-05-31", 4),
            ("d", "2026-03-01", 30),
            ("n", "2026-01-31", 2),
            ("n", "2026-01-31", 3),
            ("n", "2026-12-31", 9),
            ("d", "2026-02-01", 40),
            ("n", "2026-03-31", 5),
            ("d", "2026-03-01", 20),
        ]
    )
    ws, problems = loading.load_texts(
        [("k.yaml", kpis), ("m.yaml", body)], config=Config(), as_of=AS_OF
    )
    assert not [p for p in problems if p.is_error]
    plain = tuple(ws.measurements)
    results = evaluate(ws, as_of=AS_OF)
    assert results == [evaluate_kpi(k, plain, as_of=AS_OF) for k in ws.kpis]
    # Handed the workspace's measurements, evaluate_kpi reads only the KPI's columns.
    assert results == [evaluate_kpi(k, ws.measurements, as_of=AS_OF) for k in ws.kpis]
    assert isinstance(evaluate_kpi(ws.kpis[0], ws.measurements, as_of=AS_OF).history, History)
    n = results[0]
    assert isinstance(n.history, History)
    assert [(x.date.isoformat(), x.value) for x in n.history] == [
        ("2026-01-31", 2.0),
        ("2026-01-31", 3.0),
        ("2026-03-31", 5.0),
        ("2026-05-31", 4.0),
    ]
    assert n.baseline == 3.0 and n.latest is not None and n.latest.value == 4.0
    assert list(reversed(n.history)) == list(n.history)[::-1]
    assert results[2].history == () and results[2].latest is None
    # The table's sparkline reads the positions from the columns: the same as from the
    # Measurements, for a view and for a plain tuple, whole or the last few.
    from kpitrack.domain.series import last_values
    from kpitrack.render.table import history_positions

    for result in results:
        whole = [result.kpi.position(m.value) for m in result.history]
        values = [m.value for m in result.history]
        plain_result = evaluate_kpi(result.kpi, plain, as_of=AS_OF)
        for last in (None, 0, 1, 3, 12):
            cut = slice(None) if last is None else slice(len(whole) - last, None)
            expected = whole[cut] if last != 0 else []
            assert history_positions(result, last) == expected
            assert history_positions(plain_result, last) == expected
            expected_values = values[cut] if last != 0 else []
            assert last_values(result.history, last) == expected_values
            assert last_values(plain_result.history, last) == expected_values


# ---------------------------------------------------------------- the problem cap


def _hostile(keys: int) -> str:
    extra = "".join(f"    extra{i}: 1\n" for i in range(keys))
    top = "".join(f"top{i}: 1\n" for i in range(keys))
    entry = "".join(f"    more{i}: 1\n" for i in range(keys))
    return (
        "kpis:\n  - id: a\n    name: A\n    measure: a count of things\n    target: 1\n"
        "    frequency: monthly\n    frequncy: monthly\n" + extra + "  - id: b\n    nme: B\n"
        "measurements:\n  - kpi: a\n    date: 2026-01-31\n    value: 1\n" + entry + top
    )


@pytest.mark.parametrize("keys", [10, 999, 1000, 1001, 1002, 2500])
def test_many_unknown_keys_give_the_same_report_as_one_problem_each(
    keys: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mapping's unknown keys beyond what can be shown are counted, not made into
    problems: the capped report is the same as with a problem for every key."""
    sources = [("a.yaml", _hostile(keys)), ("b.yaml", _hostile(3))]
    made: list[str] = []
    unknown_key = loading.rules.unknown_key

    def counting(out: list[Problem], key: Scalar, what: str, known: Iterable[str]) -> None:
        if key.path == "a.yaml":
            made.append(key.text)
        unknown_key(out, key, what, known)

    monkeypatch.setattr(loading.rules, "unknown_key", counting)
    _, fast = loading.load_texts(sources, config=Config(), as_of=AS_OF)
    # Each of the three mappings makes at most 1,001 problems for its unknown keys.
    assert len([k for k in made if k.startswith("more")]) == min(keys, 1001)
    assert len([k for k in made if k.startswith("extra")]) == min(keys + 1, 1001) - 1  # frequncy
    monkeypatch.setattr(loading, "MAX_PROBLEMS_PER_FILE", 10**9)  # a problem for every key
    _, straight = loading.load_texts(sources, config=Config(), as_of=AS_OF)
    assert fast == straight
    assert len(fast) <= 2 * (MAX_PROBLEMS_PER_FILE + 1)
    last = [p for p in fast if p.path == "a.yaml"][-1]
    assert (last.code == "KT045") is (keys >= 999)  # 3 mappings of `keys` unknown keys


def test_the_cap_counts_omitted_errors() -> None:
    from kpitrack.domain.problems import Severity

    found = ProblemList()
    found.extend(Problem("f", i, 1, Severity.WARNING, "KT106", "w") for i in range(1, 1003))
    found.omit("f", 5)
    capped = cap_problems(found)
    assert len(capped) == 1001 and capped[-1].code == "KT045"
    assert capped[-1].severity is Severity.ERROR
    assert "7 more problem(s) in this file not shown (5 error(s), 2 warning(s))" in (
        capped[-1].message
    )


def _future_workspace(late: int) -> list[tuple[str, str]]:
    """Two KPIs whose measurements interleave, `late` of them dated after AS_OF in one
    file, with a same-period warning before them and an error after them."""
    kpis = "".join(
        f"  - {{id: {k}, name: {k}, measure: a count of things, target: 10, "
        f"frequency: daily, owner: me, objective: o}}\n"
        for k in ("a", "b")
    )
    head = f"objectives:\n  - {{id: o, title: O}}\nkpis:\n{kpis}measurements:\n"
    lines = ["  - {kpi: a, date: 2026-01-01, value: 1}", "  - {kpi: a, date: 2026-01-01, value: 2}"]
    day = AS_OF + dt.timedelta(days=1)
    for i in range(late):
        kpi = "ab"[i % 2]
        lines.append(f"  - {{kpi: {kpi}, date: {day + dt.timedelta(days=i // 2)}, value: {i}}}")
    lines.append("  - {kpi: nope, date: 2026-01-02, value: 1}")
    return [("ws.yaml", head + "\n".join(lines) + "\n"), ("other.yaml", head.replace("a,", "c,"))]


@pytest.mark.parametrize("late", [5, 998, 1000, 1001, 1002, 1700])
def test_measurements_after_the_as_of_date_are_counted_past_the_cap(
    late: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An as-of date before most of the data: KT106 past a file's cap are counted, not
    made, and the report (every message, the KT045 count and location) is unchanged."""
    sources = _future_workspace(late)
    _, capped = loading.load_texts(sources, config=Config(), as_of=AS_OF)
    workspace, _ = loading.load_texts(sources, config=Config(), as_of=AS_OF)
    made = loading.rules.after_as_of(workspace, Config(), AS_OF)
    assert len(made) == min(late, MAX_PROBLEMS_PER_FILE + 1)
    assert sum(made.omitted_warnings.values()) == late - len(made)
    check = loading.rules.check_workspace

    def uncapped(ws: Workspace, *, config: Config, as_of: dt.date) -> list[Problem]:
        return list(check(ws, config=config, as_of=as_of, capped=False))

    monkeypatch.setattr(loading.rules, "check_workspace", uncapped)
    _, straight = loading.load_texts(sources, config=Config(), as_of=AS_OF)
    assert capped == straight
    shown = [p.code for p in capped if p.path == "ws.yaml"]
    assert shown.count("KT106") == min(late, MAX_PROBLEMS_PER_FILE - 1)
    assert shown[-1] == ("KT045" if late >= MAX_PROBLEMS_PER_FILE - 1 else "KT024")
