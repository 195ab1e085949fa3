"""The warnings a write brings (recording._new_warnings) against the computation it
replaced, kept here as the oracle: every workspace rule over the KPIs that got values,
with their measurements rebuilt as Measurement objects, before and after the append.

The new one works on the columns and only on what the new entries can change (their
periods, themselves, their KPIs); these tests prove it gives the same warnings in the
same order, on hypothesis-generated workspaces and through the real `import` and `record`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import Config, Location, Measurement
from kpitrack.domain.problems import Problem
from kpitrack.domain.series import Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import rules
from kpitrack.reading.loading import load_texts
from kpitrack.writing import recording
from kpitrack.writing.recording import _new_warnings

# ---------------------------------------------------------------- the oracle


def oracle(
    workspace: Workspace,
    added: Sequence[Measurement],
    *,
    after: int,
    config: Config,
    as_of: dt.date,
) -> list[Problem]:
    """The computation before the column version, as it was."""
    touched = {m.kpi for m in added}
    mine = tuple(
        sorted(
            (
                m if m.order <= after else replace(m, order=m.order + len(added))
                for kpi in touched
                for m in workspace.measurements.series(kpi) or ()
            ),
            key=lambda m: m.order,
        )
    )
    before = replace(workspace, measurements=Measurements(mine))
    with_new = replace(workspace, measurements=Measurements(mine + tuple(added)))

    def sig(p: Problem) -> tuple[str, str, str]:
        return (p.path, p.code, p.message)

    old = {sig(p) for p in rules.check_workspace(before, config=config, as_of=as_of, capped=False)}
    return [
        p
        for p in rules.check_workspace(with_new, config=config, as_of=as_of, capped=False)
        if not p.is_error and sig(p) not in old
    ]


# ---------------------------------------------------------------- generated workspaces

START = dt.date(2026, 1, 1)
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "yearly")
FILES = ("m1.yaml", "m2.yaml", "m3.yaml")
LABELS = ("poor", "fair", "good")
# Mostly a few days close together (same dates, same periods, ties broken by reading
# order), sometimes any day of a few months.
DAYS = st.one_of(st.integers(0, 6), st.integers(0, 100))


@st.composite
def kpi_specs(draw: st.DrawFn, n: int) -> dict[str, object]:
    kind = draw(st.sampled_from(("quantitative", "qualitative", "progress")))
    return {
        "id": f"k{n}",
        "kind": kind,
        "frequency": draw(st.sampled_from(FREQUENCIES)),
        "direction": draw(st.sampled_from(("increase", "decrease"))),
        "action": draw(st.booleans()),
        "archived": draw(st.integers(0, 5)) == 0,
    }


def kpi_yaml(spec: dict[str, object]) -> str:
    lines = [
        f"  - id: {spec['id']}",
        f"    name: KPI {spec['id']}",
        "    measure: Count of things done that week",
        f"    frequency: {spec['frequency']}",
        "    owner: Ops",
        "    objective: goal",
    ]
    if spec["kind"] == "qualitative":
        lines += ["    kind: qualitative", f"    scale: [{', '.join(LABELS)}]", "    target: good"]
    elif spec["kind"] == "progress":
        lines += ["    kind: progress"]
    else:
        lines += ["    target: 100", f"    direction: {spec['direction']}"]
    if spec["action"]:
        lines.append("    action: Call the team")
    if spec["archived"]:
        lines.append("    archived: true")
    return "\n".join(lines) + "\n"


def value_text(spec: dict[str, object], choice: int) -> str:
    if spec["kind"] == "qualitative":
        return LABELS[choice % len(LABELS)]
    if spec["kind"] == "progress":
        return ("10", "50", "100", "0", "60")[choice % 5]
    return ("10", "50", "100", "150", "60")[choice % 5]


@st.composite
def entries(draw: st.DrawFn, specs: list[dict[str, object]], most: int) -> list[tuple[int, str]]:
    """Up to `most` entries: (KPI index, the entry in the flow style record writes)."""
    found = []
    for _ in range(draw(st.integers(0, most))):
        k = draw(st.integers(0, len(specs) - 1))
        day = START + dt.timedelta(days=draw(DAYS))
        note = draw(st.sampled_from(("", ", note: n1", ", note: n2")))
        value = value_text(specs[k], draw(st.integers(0, 4)))
        found.append((k, f"{{kpi: {specs[k]['id']}, date: {day}, value: {value}{note}}}"))
    return found


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[tuple[str, str]], int, list[Measurement], Config, dt.date]:
    specs = [draw(kpi_specs(n)) for n in range(draw(st.integers(1, 5)))]
    head = "objectives:\n  - id: goal\n    title: The goal\nkpis:\n"
    texts = [("kpis.yaml", head + "".join(kpi_yaml(s) for s in specs))]
    for name in FILES:
        found = draw(entries(specs, 12))
        body = "".join(f"  - {entry}\n" for _k, entry in found)
        texts.append((name, "measurements:\n" + body if body else "measurements: []\n"))
    target = draw(st.integers(1, len(texts) - 1))
    rows: list[Measurement] = []
    for _ in range(draw(st.integers(1, 8))):
        spec = draw(st.sampled_from(specs))
        day = START + dt.timedelta(days=draw(DAYS))
        text = value_text(spec, draw(st.integers(0, 4)))
        value: float | str = text if spec["kind"] == "qualitative" else float(text)
        note = draw(st.sampled_from((None, "n1", "n2")))
        rows.append(Measurement(str(spec["id"]), day, value, note))
    config = Config(stuck_periods=draw(st.integers(1, 4)), flat_periods=draw(st.integers(1, 4)))
    as_of = START + dt.timedelta(days=draw(st.integers(0, 100)))
    return texts, target, rows, config, as_of


def placed(
    workspace: Workspace, texts: list[tuple[str, str]], target: int, rows: list[Measurement]
) -> tuple[list[Measurement], int]:
    """The rows as _append_locked hands them over: located after the target's last line,
    in reading order right after the target's entries."""
    display, text = texts[target]
    upto = {name for name, _text in texts[: target + 1]}
    base = max(
        (m.order for m in workspace.measurements if m.loc.path in upto),
        default=0,
    )
    first = text.count("\n") + 1
    return [
        replace(m, loc=Location(display, first + i, 5), order=base + 1 + i)
        for i, m in enumerate(rows)
    ], base


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_same_warnings_as_the_whole_workspace_rules(
    case: tuple[list[tuple[str, str]], int, list[Measurement], Config, dt.date],
) -> None:
    texts, target, rows, config, as_of = case
    workspace, problems = load_texts(texts, config=config, as_of=as_of)
    assert not [p for p in problems if p.is_error]
    added, base = placed(workspace, texts, target, rows)
    expected = oracle(workspace, added, after=base, config=config, as_of=as_of)
    assert _new_warnings(workspace, added, after=base, config=config, as_of=as_of) == expected


# ---------------------------------------------------------------- each rule, by hand

KPIS = """\
objectives:
  - id: goal
    title: The goal
kpis:
  - id: sales
    name: Sales
    measure: Count of orders shipped that month
    target: 100
    frequency: monthly
    owner: Ops
    objective: goal
"""


def hand_case(
    measurements: str, rows: list[Measurement], *, as_of: dt.date, config: Config = Config()
) -> tuple[list[Problem], list[Problem]]:
    texts = [("kpis.yaml", KPIS), ("m.yaml", "measurements:\n" + measurements)]
    workspace, problems = load_texts(texts, config=config, as_of=as_of)
    assert not [p for p in problems if p.is_error]
    added, base = placed(workspace, texts, 1, rows)
    return (
        _new_warnings(workspace, added, after=base, config=config, as_of=as_of),
        oracle(workspace, added, after=base, config=config, as_of=as_of),
    )


def test_a_second_value_in_a_period() -> None:
    got, expected = hand_case(
        "  - {kpi: sales, date: 2026-03-02, value: 120}\n",
        [Measurement("sales", dt.date(2026, 3, 9), 130.0)],
        as_of=dt.date(2026, 3, 31),
    )
    assert [p.code for p in got] == ["KT105"] and got == expected
    assert "on 2026-03-02" in got[0].message and "m.yaml:3:5" in got[0].message


@pytest.mark.parametrize(
    "days",
    [[dt.date(2026, 3, 10)], [dt.date(2026, 3, 10), dt.date(2026, 2, 10)]],
    ids=["one period", "two periods"],
)
def test_a_period_the_as_of_date_cuts(days: list[dt.date]) -> None:
    """An entry of the same period dated after the as-of date does not count (nor warn)."""
    got, expected = hand_case(
        "  - {kpi: sales, date: 2026-03-20, value: 120}\n"
        "  - {kpi: sales, date: 2026-03-02, value: 110}\n"
        "  - {kpi: sales, date: 2026-02-03, value: 100}\n",
        [Measurement("sales", day, 130.0) for day in days],
        as_of=dt.date(2026, 3, 15),
    )
    assert got == expected
    assert [p.code for p in got] == ["KT105"] * len(days)
    assert all("2026-03-20" not in p.message for p in got)


def test_a_value_after_the_as_of_date_unless_one_reads_the_same() -> None:
    day = dt.date(2026, 4, 2)
    got, expected = hand_case(
        "  - {kpi: sales, date: 2026-03-02, value: 120}\n",
        [Measurement("sales", day, 130.0), Measurement("sales", day, 131.0)],
        as_of=dt.date(2026, 3, 31),
    )
    assert [p.code for p in got] == ["KT106", "KT106"] and got == expected
    got, expected = hand_case(
        "  - {kpi: sales, date: 2026-04-02, value: 120}\n",
        [Measurement("sales", day, 130.0)],
        as_of=dt.date(2026, 3, 31),
    )
    assert got == expected == []  # the file already has that KT106 message


def test_stuck_and_flat() -> None:
    config = Config(stuck_periods=3, flat_periods=3)
    got, expected = hand_case(
        "  - {kpi: sales, date: 2026-01-05, value: 10}\n"
        "  - {kpi: sales, date: 2026-02-05, value: 10}\n",
        [Measurement("sales", dt.date(2026, 3, 5), 10.0)],
        as_of=dt.date(2026, 3, 31),
        config=config,
    )
    assert [p.code for p in got] == ["KT113", "KT114"] and got == expected
    got, expected = hand_case(  # already stuck and flat: nothing new
        "  - {kpi: sales, date: 2026-01-05, value: 10}\n"
        "  - {kpi: sales, date: 2026-02-05, value: 10}\n"
        "  - {kpi: sales, date: 2026-03-05, value: 10}\n",
        [Measurement("sales", dt.date(2026, 3, 6), 10.0)],
        as_of=dt.date(2026, 3, 31),
        config=config,
    )
    assert [p.code for p in got] == ["KT105"] and got == expected


def test_only_three_rules_look_at_measurements() -> None:
    """_new_warnings leaves out every other workspace rule: they must give the same
    problems whatever the measurements (a rule added later that reads them fails here)."""
    texts = [
        ("kpis.yaml", KPIS),
        (
            "m.yaml",
            "measurements:\n  - {kpi: sales, date: 2026-01-05, value: 10}\n"
            "  - {kpi: sales, date: 2026-01-06, value: 10}\n",
        ),
    ]
    config = Config(stuck_periods=1, flat_periods=1)
    as_of = dt.date(2026, 1, 3)  # the entries are dated after it, too
    workspace, _problems = load_texts(texts, config=config, as_of=as_of)
    empty = replace(workspace, measurements=Measurements())
    looking: list[rules.WorkspaceRule] = [
        rules.same_period,
        rules.after_as_of,
        rules.stuck_and_flat,
    ]
    for rule in rules.WORKSPACE_RULES:
        if rule not in looking:
            assert list(rule(workspace, config, as_of)) == list(rule(empty, config, as_of)), rule
    later = dt.date(2026, 1, 31)
    for looks in looking:
        assert list(looks(workspace, config, as_of if looks is rules.after_as_of else later))
        assert not list(looks(empty, config, later))


# ---------------------------------------------------------------- through import and record


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[list[Problem]]:
    """Every _new_warnings call of the write core, compared with the oracle's."""
    results: list[list[Problem]] = []

    def both(
        workspace: Workspace,
        added: Sequence[Measurement],
        *,
        after: int,
        config: Config,
        as_of: dt.date,
    ) -> list[Problem]:
        got = _new_warnings(workspace, added, after=after, config=config, as_of=as_of)
        assert got == oracle(workspace, added, after=after, config=config, as_of=as_of)
        results.append(got)
        return got

    monkeypatch.setattr(recording, "_new_warnings", both)
    return results


def write_workspace(folder: Path) -> list[Path]:
    kpis = folder / "kpis.yaml"
    kpis.write_text(
        KPIS
        + "\n".join(
            f"  - id: k{n}\n    name: K {n}\n    measure: Count of orders shipped that day\n"
            f"    target: 100\n    frequency: {FREQUENCIES[n % 5]}\n    owner: Ops\n"
            "    objective: goal"
            for n in range(6)
        )
        + "\n",
        encoding="utf-8",
    )
    files = [kpis]
    for year in (2025, 2026):
        path = folder / f"m{year}.yaml"
        path.write_text(
            "measurements:\n"
            + "".join(
                f"  - {{kpi: k{n}, date: {year}-{month:02d}-{day:02d}, value: {10 + n}}}\n"
                for n in range(6)
                for month in range(1, 13, 2)
                for day in (3, 17)
            ),
            encoding="utf-8",
        )
        files.append(path)
    return files


def test_import_and_record_warn_as_before(tmp_path: Path, checked: list[list[Problem]]) -> None:
    files = write_workspace(tmp_path)
    csv = tmp_path / "rows.csv"
    csv.write_text(
        "kpi,date,value\n"
        + "".join(f"k{n},2026-11-{10 + n},{10 + n}\n" for n in range(6))
        + "k1,2025-05-03,99\nk2,2027-01-01,5\nsales,2026-11-02,1\n",
        encoding="utf-8",
    )
    today = dt.date(2026, 11, 25)
    # Into the first measurements file: the second one's entries move down in reading order.
    outcome = recording.import_measurements(
        str(csv), today=today, config=Config(), files=files, to=files[1]
    )
    assert len(outcome.added) == 9
    codes = {p.code for p in outcome.warnings}
    assert {"KT105", "KT106", "KT114"} <= codes
    done = recording.record(
        "k3", "13", today=today, config=Config(), files=files, date="2026-11-20", by="me"
    )
    assert done.written
    assert len(checked) == 2 and checked[0] == list(outcome.warnings)
