"""The measurement rules of a check (KT105 same_period, KT113/KT114 stuck_and_flat) on the
columns, against the implementation they replaced, kept here as the oracle.

The new ones share each date's period start between the rules (`rules.PeriodStarts`),
find a KPI whose entries are in date order and far enough apart to be in distinct
periods from one pass over its dates, work out the entries that lose their period from
the period starts of sorted entries, and walk a history's reports back only as far
as a warning needs. These tests prove the problems, their order and the counts left
out are the same, on hypothesis-generated workspaces read from YAML (flow lines, block
entries, CRLF, comments, quoted dates, several files), on hand-made measurements in any
order, and through `same_period_among`, which the writers call.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import compress
from typing import overload

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpitrack.domain.codes import KT105, KT113, KT114
from kpitrack.domain.model import (
    MAX_DATE,
    MIN_DATE,
    Config,
    Frequency,
    Kind,
    Kpi,
    Measurement,
    Value,
)
from kpitrack.domain.periods import period_containing
from kpitrack.domain.problems import MAX_PROBLEMS_PER_FILE, Problem, ProblemList
from kpitrack.domain.series import History, Measurements, Series
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import rules
from kpitrack.reading.loading import load_texts

# ---------------------------------------------------------------- the oracle (as it was)


def old_same_period(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    frequency = {k.id: k.frequency for k in ws.kpis}
    limit = as_of.toordinal()
    starts: dict[tuple[Frequency, int], int] = {}
    for series in ws.measurements.all_series():
        freq = frequency.get(series.kpi)
        if freq is None:
            continue
        dates, orders = series.dates, series.orders
        winners: dict[int, int] = {}
        counted = 0
        for i, day in enumerate(dates):
            if day > limit:
                continue
            counted += 1
            start = starts.get((freq, day))
            if start is None:
                start = starts[freq, day] = period_containing(
                    freq, dt.date.fromordinal(day)
                ).start.toordinal()
            best = winners.get(start)
            if (
                best is None
                or day > dates[best]
                or (day == dates[best] and orders[i] > orders[best])
            ):
                winners[start] = i
        if len(winners) == counted:
            continue
        for i, day in enumerate(dates):
            if day > limit:
                continue
            w = winners[starts[freq, day]]
            if w == i:
                continue
            yield old_counts_instead(series, i, w, freq)


def old_counts_instead(series: Series, i: int, w: int, freq: Frequency) -> Problem:
    m, winner = series[i], series[w]
    period = period_containing(freq, m.date)
    return rules.problem(
        m.loc,
        KT105,
        f"measurement of KPI '{m.kpi}' on {m.date}: the {period.frequency} period "
        f"{period.label} has another measurement, on {winner.date} at {winner.loc}, "
        "which counts instead (the later date, then the later entry, counts)",
    )


def old_same_period_among(
    series: Series, freq: Frequency, positions: Sequence[int]
) -> list[Problem]:
    dates, orders = series.dates, series.orders
    winners: dict[int, int] = {}
    start_of: dict[int, int] = {}
    for i in positions:
        day = dates[i]
        start = start_of.get(day)
        if start is None:
            start = start_of[day] = period_containing(
                freq, dt.date.fromordinal(day)
            ).start.toordinal()
        best = winners.get(start)
        if best is None or day > dates[best] or (day == dates[best] and orders[i] > orders[best]):
            winners[start] = i
    return [
        old_counts_instead(series, i, w, freq)
        for i in positions
        if (w := winners[start_of[dates[i]]]) != i
    ]


def old_stuck_and_flat(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    limit = as_of.toordinal()
    histories = {s.kpi: s.until(limit) for s in ws.measurements.all_series()}
    for kpi in ws.kpis:
        history = histories.get(kpi.id)
        if history:
            yield from old_stuck_and_flat_of(kpi, history, config)


def old_stuck_and_flat_of(
    kpi: Kpi, history: Sequence[Measurement], config: Config
) -> Iterator[Problem]:
    stuck, flat = config.stuck_periods, config.flat_periods
    if kpi.archived or not history:
        return
    reports = old_report_positions(kpi, history, max(stuck, flat))
    if len(reports) >= stuck and not (kpi.action or "").strip():
        first = old_first_day(history)
        last = [history[i] for i in reports[-stuck:]]
        if all(old_behind_at(kpi, first, m, config) for m in last):
            yield rules.problem(
                kpi.loc,
                KT113,
                f"KPI '{kpi.id}' has been off track or at risk for {stuck} reported "
                f"periods (since {last[0].date}) with no action plan: add an action",
            )
    if len(reports) >= flat:
        value = history.value if type(history) is History else lambda i: history[i].value
        flat_from = reports[-flat]
        if len({kpi.position(value(i)) for i in reports[-flat:]}) == 1:
            yield rules.problem(
                kpi.loc,
                KT114,
                f"KPI '{kpi.id}' has not changed for {flat} reported periods "
                f"(since {old_date_at(history, flat_from)}): review whether it still says anything",
            )


def old_date_at(history: Sequence[Measurement], position: int) -> dt.date:
    if type(history) is History:
        return history.day(position)
    return history[position].date


def old_report_positions(kpi: Kpi, history: Sequence[Measurement], count: int) -> list[int]:
    positions: list[int] = []
    seen: set[dt.date] = set()
    day: dt.date | None = None
    start = dt.date.min
    for i in range(len(history) - 1, -1, -1):
        this = old_date_at(history, i)
        if this != day:
            day, start = this, period_containing(kpi.frequency, this).start
        if start in seen:
            continue
        if len(positions) == count:
            break
        seen.add(start)
        positions.append(i)
    positions.reverse()
    return positions


def old_behind_at(
    kpi: Kpi, first: Sequence[Measurement], report: Measurement, config: Config
) -> bool:
    from kpitrack.evaluation.evaluate import expected_position, is_met, status_at

    as_of = report.date
    history = sorted(
        (m for m in (*first, report) if m.kpi == kpi.id and m.date <= as_of),
        key=lambda m: (m.date, m.order),
    )
    if not history:
        return False
    latest = history[-1]
    start = kpi.start or history[0].date
    if kpi.baseline is not None:
        baseline: Value = kpi.baseline
    elif kpi.kind is Kind.PROGRESS:
        baseline = 0.0
    else:
        last = 0
        while last + 1 < len(history) and history[last + 1].date == history[0].date:
            last += 1
        baseline = history[last].value
    value = kpi.position(latest.value)
    base = kpi.position(baseline)
    target = kpi.position(kpi.target)
    met = is_met(kpi, value, target)
    expected = expected_position(kpi, latest.date, start=start, baseline=base)
    if kpi.due is not None and as_of > kpi.due and not met:
        expected = target
    return status_at(kpi, value, expected, met, config.at_risk_tolerance).behind


def old_first_day(history: Sequence[Measurement]) -> list[Measurement]:
    n = 1
    first = old_date_at(history, 0)
    while n < len(history) and old_date_at(history, n) == first:
        n += 1
    return list(history[:n])


def old_after_as_of(ws: Workspace, config: Config, as_of: dt.date) -> ProblemList:
    limit = as_of.toordinal()
    found = ProblemList()
    late = [s for s in ws.measurements.all_series() if s.dates and max(s.dates) > limit]
    if not late:
        return found
    after = limit.__lt__
    counts: Counter[int] = Counter()
    for series in late:
        counts.update(compress(series.files, map(after, series.dates)))
    keep = MAX_PROBLEMS_PER_FILE + 1
    crowded: dict[int, list[int]] = {f: [] for f, n in counts.items() if n > keep}
    if crowded:
        for series in late:
            mask = list(map(after, series.dates))
            for file, key in zip(
                compress(series.files, mask),
                compress(rules._positions(series), mask),
                strict=True,
            ):
                if file in crowded:
                    crowded[file].append(key)
    last_shown = {file: heapq.nsmallest(keep, keys)[-1] for file, keys in crowded.items()}
    made: Counter[int] = Counter()
    for series in late:
        mask = list(map(after, series.dates))
        for i, file, key in zip(
            compress(range(len(mask)), mask),
            compress(series.files, mask),
            compress(rules._positions(series), mask),
            strict=True,
        ):
            bound = last_shown.get(file)
            if bound is not None and key > bound:
                continue
            made[file] += 1
            found.append(rules.dated_later(series[i], as_of))
    for file in last_shown:
        found.omit_warnings(late[0].paths[file], counts[file] - made[file])
    return found


def oracle_check(ws: Workspace, config: Config, as_of: dt.date) -> ProblemList:
    """check_workspace with the old same_period, after_as_of and stuck_and_flat."""
    out = ProblemList()
    for rule in rules.WORKSPACE_RULES:
        if rule is rules.after_as_of:
            out.extend(old_after_as_of(ws, config, as_of))
        elif rule is rules.same_period:
            out.extend(old_same_period(ws, config, as_of))
        elif rule is rules.stuck_and_flat:
            out.extend(old_stuck_and_flat(ws, config, as_of))
        else:
            out.extend(rule(ws, config, as_of))
    return out


def assert_same_check(ws: Workspace, config: Config, as_of: dt.date) -> None:
    for series in ws.measurements.all_series():
        series.ordered = None  # as loaded: not known yet
    got = rules.check_workspace(ws, config=config, as_of=as_of)
    # What same_period found out about each series' order (after_as_of and until read
    # it) is true.
    for series in ws.measurements.all_series():
        dates = list(series.dates)
        assert series.ordered in (None, dates == sorted(dates))
    expected = oracle_check(ws, config, as_of)
    assert got == expected
    assert got.omitted_warnings == expected.omitted_warnings
    # Each rule alone, as the writers and tests call them, too.
    assert list(rules.same_period(ws, config, as_of)) == list(old_same_period(ws, config, as_of))
    assert list(rules.stuck_and_flat(ws, config, as_of)) == list(
        old_stuck_and_flat(ws, config, as_of)
    )


# ---------------------------------------------------------------- period starts


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(list(Frequency)),
    st.integers(MIN_DATE.toordinal(), MAX_DATE.toordinal()),
)
def test_period_start_is_the_period_containing_the_date(freq: Frequency, ordinal: int) -> None:
    expected = period_containing(freq, dt.date.fromordinal(ordinal)).start.toordinal()
    assert rules.period_start(freq, ordinal) == expected
    starts = rules.PeriodStarts()
    assert starts.keys(freq, [ordinal, ordinal]) == [expected, expected]
    assert starts.table(freq)[ordinal] == expected


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(Frequency)),
    st.integers(MIN_DATE.toordinal(), MAX_DATE.toordinal() - 400),
    st.integers(0, 400),
)
def test_dates_a_span_apart_are_in_distinct_periods(
    freq: Frequency, ordinal: int, days: int
) -> None:
    """What the one-pass check of same_period relies on."""
    if days >= rules._PERIOD_SPAN[freq]:
        assert rules.period_start(freq, ordinal) != rules.period_start(freq, ordinal + days)


# ---------------------------------------------------------------- generated workspaces

START = dt.date(2024, 12, 20)
LABELS = ("poor", "fair", "good", "great")
# Steps between a KPI's dates: the same day, days close together, one period apart and
# a day either side of each frequency's longest period.
STEPS = st.sampled_from((0, 0, 1, 2, 6, 7, 8, 13, 14, 28, 30, 31, 32, 60, 91, 92, 93, 365, 366))
SHAPES = ("flow", "block", "crlf", "comments", "quoted")


def value_text(kind: str, choice: int) -> str:
    if kind == "qualitative":
        return LABELS[choice % len(LABELS)]
    if kind == "progress":
        return ("0", "10", "50", "90", "100")[choice % 5]
    return ("0", "10", "50.5", "90", "100", "110", "150")[choice % 7]


@st.composite
def kpi_yaml(draw: st.DrawFn, n: int) -> tuple[str, str]:
    kind = draw(st.sampled_from(("quantitative", "qualitative", "progress")))
    lines = [
        f"  - id: k{n}",
        f"    name: KPI {n}",
        "    measure: Count of things done that week",
        f"    frequency: {draw(st.sampled_from([str(f) for f in Frequency]))}",
        "    owner: Ops",
        "    objective: goal",
    ]
    if kind == "qualitative":
        lines += ["    kind: qualitative", f"    scale: [{', '.join(LABELS)}]"]
        lines.append(f"    target: {draw(st.sampled_from(LABELS))}")
    elif kind == "progress":
        lines += ["    kind: progress"]
    else:
        lines.append(f"    target: {value_text(kind, draw(st.integers(0, 6)))}")
        lines.append(f"    direction: {draw(st.sampled_from(('increase', 'decrease')))}")
    if draw(st.booleans()):
        lines.append(f"    baseline: {value_text(kind, draw(st.integers(0, 6)))}")
    if draw(st.booleans()):
        day = START + dt.timedelta(days=draw(st.integers(0, 400)))
        lines.append(f"    start: {day}")
    if draw(st.booleans()):
        day = START + dt.timedelta(days=draw(st.integers(400, 1200)))
        lines.append(f"    due: {day}")
    if draw(st.integers(0, 3)) == 0:
        lines.append("    action: Call the team")
    if draw(st.integers(0, 7)) == 0:
        lines.append("    archived: true")
    return kind, "\n".join(lines) + "\n"


def entry_text(shape: str, kpi: str, day: dt.date, value: str, note: str) -> str:
    if shape == "block":
        text = f"  - kpi: {kpi}\n    date: {day}\n    value: {value}\n"
        return text + (f"    note: {note}\n" if note else "")
    when = f'"{day}"' if shape == "quoted" else str(day)
    extra = f", note: {note}" if note else ""
    tail = "  # checked" if shape == "comments" else ""
    return f"  - {{kpi: {kpi}, date: {when}, value: {value}{extra}}}{tail}\n"


@st.composite
def workspaces(draw: st.DrawFn) -> tuple[list[tuple[str, str]], Config, dt.date]:
    count = draw(st.integers(1, 5))
    kinds: list[str] = []
    head = "objectives:\n  - id: goal\n    title: The goal\nkpis:\n"
    body = ""
    for n in range(count):
        kind, text = draw(kpi_yaml(n))
        kinds.append(kind)
        body += text
    # Each KPI's entries: a walk of steps (in date order, or shuffled), a stuck or flat
    # stretch of one value, spread over the files.
    files: list[list[str]] = [[], [], []]
    shapes = [draw(st.sampled_from(SHAPES)) for _ in files]
    for n, kind in enumerate(kinds):
        day = START + dt.timedelta(days=draw(st.integers(0, 40)))
        steps = draw(st.lists(STEPS, max_size=16))
        flat = draw(st.booleans())
        choice = draw(st.integers(0, 6))
        dated: list[tuple[dt.date, str]] = []
        for step in steps:
            day += dt.timedelta(days=step)
            if not flat:
                choice = draw(st.integers(0, 6))
            dated.append((day, value_text(kind, choice)))
        if draw(st.integers(0, 3)) == 0:
            random.Random(draw(st.integers(0, 1000))).shuffle(dated)
        target = draw(st.integers(0, 2))
        for day, value in dated:
            if draw(st.integers(0, 4)) == 0:  # now and then another file
                target = draw(st.integers(0, 2))
            note = draw(st.sampled_from(("", "n1", "late data")))
            files[target].append(entry_text(shapes[target], f"k{n}", day, value, note))
    texts = [("kpis.yaml", head + body)]
    for index, (lines, shape) in enumerate(zip(files, shapes, strict=True)):
        # Entries of different KPIs interleaved, each KPI's in its own order.
        text = "measurements:\n" + "".join(lines) if lines else "measurements: []\n"
        if shape == "crlf":
            text = text.replace("\n", "\r\n")
        texts.append((f"m{index}.yaml", text))
    config = Config(
        stuck_periods=draw(st.integers(1, 4)),
        flat_periods=draw(st.integers(2, 6)),
        at_risk_tolerance=draw(st.sampled_from((0.0, 0.1, 0.5))),
    )
    as_of = START + dt.timedelta(days=draw(st.integers(0, 1500)))
    return texts, config, as_of


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces())
def test_same_problems_as_the_old_rules_on_loaded_workspaces(
    case: tuple[list[tuple[str, str]], Config, dt.date],
) -> None:
    texts, config, as_of = case
    workspace, problems = load_texts(texts, config=config, as_of=as_of)
    assert not [p for p in problems if p.is_error], problems
    assert_same_check(workspace, config, as_of)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces(), st.data())
def test_same_problems_on_measurements_in_any_order(
    case: tuple[list[tuple[str, str]], Config, dt.date], data: st.DataObject
) -> None:
    """Hand-made measurements: orders out of reading order, repeated, or reversed."""
    texts, config, as_of = case
    workspace, _problems = load_texts(texts, config=config, as_of=as_of)
    rows = list(workspace.measurements)
    orders = data.draw(st.sampled_from(("shuffled", "ties", "reversed", "as read")), label="orders")
    seed = data.draw(st.integers(0, 1000), label="seed")
    numbers = list(range(len(rows)))
    if orders == "shuffled":
        random.Random(seed).shuffle(numbers)
    elif orders == "ties":
        numbers = [n // 2 for n in numbers]
    elif orders == "reversed":
        numbers.reverse()
    made = Measurements([replace(m, order=n) for m, n in zip(rows, numbers, strict=True)])
    assert_same_check(replace(workspace, measurements=made), config, as_of)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces(), st.data())
def test_same_period_among_as_the_writers_call_it(
    case: tuple[list[tuple[str, str]], Config, dt.date], data: st.DataObject
) -> None:
    texts, config, as_of = case
    workspace, _problems = load_texts(texts, config=config, as_of=as_of)
    limit = as_of.toordinal()
    starts = rules.PeriodStarts()
    for kpi in workspace.kpis:
        series = workspace.measurements.series(kpi.id)
        if series is None:
            continue
        # Every entry of some whole periods on or before the as-of date.
        keys = {rules.period_start(kpi.frequency, day) for day in series.dates if day <= limit}
        chosen = set(data.draw(st.lists(st.sampled_from(sorted(keys)))) if keys else [])
        positions = [
            i
            for i, day in enumerate(series.dates)
            if day <= limit and rules.period_start(kpi.frequency, day) in chosen
        ]
        expected = old_same_period_among(series, kpi.frequency, positions)
        assert rules.same_period_among(series, kpi.frequency, positions) == expected
        table = starts.table(kpi.frequency, series.dates)
        assert rules.same_period_among(series, kpi.frequency, positions, table) == expected


# ---------------------------------------------------------------- by hand


def test_a_long_run_in_one_period_loses_to_its_last_entry() -> None:
    """Daily entries of a yearly KPI: every entry but the year's last loses to it, in
    reading order (and in linear time: the winner is found once per run)."""
    kpi = (
        "objectives:\n  - id: goal\n    title: The goal\nkpis:\n  - id: k\n    name: K\n"
        "    measure: Count of things done that year\n    target: 10\n"
        "    frequency: yearly\n    owner: Ops\n    objective: goal\n"
    )
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(400)]
    text = "measurements:\n" + "".join(f"  - {{kpi: k, date: {d}, value: 1}}\n" for d in days)
    config, as_of = Config(), dt.date(2026, 1, 20)
    workspace, _problems = load_texts(
        [("kpis.yaml", kpi), ("m.yaml", text)], config=config, as_of=as_of
    )
    found = list(rules.same_period(workspace, config, as_of))
    assert len(found) == 364 + 19
    assert found[0].message == (
        "measurement of KPI 'k' on 2025-01-01: the yearly period 2025 has another "
        "measurement, on 2025-12-31 at m.yaml:366:5, which counts instead (the later "
        "date, then the later entry, counts)"
    )
    assert found[-1].message.startswith("measurement of KPI 'k' on 2026-01-19: ")
    assert "on 2026-01-20 at m.yaml:386:5" in found[-1].message
    assert_same_check(workspace, config, as_of)


def test_entries_one_period_apart_give_no_problem_and_one_day_less_does() -> None:
    head = (
        "objectives:\n  - id: goal\n    title: The goal\nkpis:\n  - id: k\n    name: K\n"
        "    measure: Count of things done that month\n    target: 10\n"
        "    frequency: monthly\n    owner: Ops\n    objective: goal\n"
    )
    config, as_of = Config(), dt.date(2026, 12, 31)

    def problems(step: int) -> list[Problem]:
        days = [dt.date(2026, 1, 1) + dt.timedelta(days=step * n) for n in range(12)]
        text = "measurements:\n" + "".join(
            f"  - {{kpi: k, date: {d}, value: {n}}}\n" for n, d in enumerate(days)
        )
        workspace, _ = load_texts(
            [("kpis.yaml", head), ("m.yaml", text)], config=config, as_of=as_of
        )
        assert_same_check(workspace, config, as_of)
        return list(rules.same_period(workspace, config, as_of))

    assert problems(31) == []
    # 2026-01-01 and 2026-01-31, 2026-05-01 and 2026-05-31
    assert [p.code for p in problems(30)] == [KT105, KT105]


def test_reports_are_walked_back_only_as_far_as_needed() -> None:
    """A KPI with an action plan whose last two values differ: only the last two entries
    are looked at, however long the history (the old rule read the last six reports)."""
    kpi = Kpi("k", "K", "Count of things", 100, Frequency.DAILY, action="Call the team")
    rows = tuple(
        Measurement("k", dt.date(2026, 1, 1) + dt.timedelta(days=n), n, order=n) for n in range(50)
    )
    looked: list[int] = []

    class Watched(Sequence[Measurement]):
        def __len__(self) -> int:
            return len(rows)

        @overload
        def __getitem__(self, index: int) -> Measurement: ...
        @overload
        def __getitem__(self, index: slice) -> Sequence[Measurement]: ...
        def __getitem__(self, index: int | slice) -> Measurement | Sequence[Measurement]:
            looked.append(index if isinstance(index, int) else -1)
            return rows[index]

    assert list(rules.stuck_and_flat_of(kpi, Watched(), Config())) == []
    assert sorted(set(looked)) == [48, 49]
    assert list(old_stuck_and_flat_of(kpi, rows, Config())) == []
