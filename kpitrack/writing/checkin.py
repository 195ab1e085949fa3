"""The core of `kpitrack checkin` (docs/writing.md, "The weekly check-in"): which KPIs
owe a value and for which periods, each answer checked as `record` checks it, and the
one write of all answers. No Typer, no Rich, no prompting: the shell asks the
questions (`commands/checkin.py`) and hands the answers back here.

What a KPI owes, as of `today`: each reporting period after the one holding its latest
value (or from its tracking start) that has ended without a value (overdue, or due
within its grace days), oldest first and at most `MAX_PAST_PERIODS` of them, then the
current period when it has no value yet. A KPI never reported and without `start`
owes the current period. An achieved KPI owes nothing after its `due`; archived KPIs
owe nothing unless named with `--kpi`; a KPI whose tracking starts after today owes
nothing yet. KPIs with a past period come first, in workspace order.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from kpitrack.domain.model import Config, Kpi, KpiResult, Measurement, Status, Value
from kpitrack.domain.periods import Period, period_containing
from kpitrack.domain.problems import Problem, UsageError
from kpitrack.domain.series import History
from kpitrack.domain.workspace import Workspace
from kpitrack.writing.atomicfile import LOCK_TIMEOUT
from kpitrack.writing.recording import (
    Loaded,
    Written,
    _fresh,
    append_to_workspace,
    load_for_writing,
    measurement_target,
)
from kpitrack.writing.userinput import free_text, parse_measurement_date, parse_value

MAX_PAST_PERIODS = 12  # a KPI forgotten for months asks for the last twelve periods
QUIT, HISTORY = "q", "?"


class Due(StrEnum):
    OVERDUE = "overdue"  # ended, and its grace days are over
    DUE = "due"  # ended, within its grace days
    CURRENT = "current"  # the period holding today


@dataclass(frozen=True)
class Owed:
    """One question: a value of `kpi` for `period`."""

    kpi: Kpi
    period: Period
    due: Due
    date: dt.date  # the date a value for it is stored as (the period's end, or today)


@dataclass(frozen=True)
class KpiOwes:
    result: KpiResult  # the KPI as it stands today
    owed: tuple[Owed, ...]
    target: Path  # where its values go (record's rule)
    expected_today: Value | None  # the value expected today (a label for a qualitative KPI)


@dataclass(frozen=True)
class Checkin:
    """The sitting: the workspace as loaded and what each KPI owes."""

    loaded: Loaded
    today: dt.date
    kpis: tuple[KpiOwes, ...]

    @property
    def questions(self) -> int:
        return sum(len(k.owed) for k in self.kpis)


def _grace(kpi: Kpi, config: Config) -> int:
    return kpi.grace_days if kpi.grace_days is not None else config.grace_days


def _dates(history: Sequence[Measurement]) -> list[int]:
    """The history's dates as sorted ordinals, read from the KPI's columns when the
    history is a view of them (no Measurement built)."""
    if isinstance(history, History):
        ordinals = history.ordinals()
    else:
        ordinals = [m.date.toordinal() for m in history]
    ordinals.sort()
    return ordinals


def _holds_one(ordinals: list[int], period: Period) -> bool:
    """Whether a date of `ordinals` (sorted) falls in `period`."""
    i = bisect_left(ordinals, period.start.toordinal())
    return i < len(ordinals) and ordinals[i] <= period.end.toordinal()


def owed_periods(result: KpiResult, *, today: dt.date, config: Config) -> list[Owed]:
    """The periods `result`'s KPI owes a value for as of `today` (see the module doc)."""
    kpi, frequency = result.kpi, result.kpi.frequency
    current = period_containing(frequency, today)
    filled = _dates(result.history)
    if result.start is None:
        first = current  # never reported, no start: the current period
    else:
        first = period_containing(frequency, result.start)
        if result.latest is not None:
            after_latest = period_containing(frequency, result.latest.date).next()
            first = max(first, after_latest)
    last = current
    if result.status is Status.ACHIEVED and kpi.due is not None:
        last = min(last, period_containing(frequency, kpi.due))
    found: list[Period] = []
    period = last
    while period.start >= first.start and len(found) <= MAX_PAST_PERIODS:
        if not _holds_one(filled, period):
            found.append(period)
        period = period.previous()
    found.reverse()
    grace = _grace(kpi, config)
    out: list[Owed] = []
    for p in found:
        due = Due.OVERDUE if p.due(grace) < today else Due.DUE
        if p == current:
            due = Due.CURRENT
        out.append(Owed(kpi, p, due, parse_measurement_date(p.label, today)))
    past = [o for o in out if o.due is not Due.CURRENT][-MAX_PAST_PERIODS:]
    return past + [o for o in out if o.due is Due.CURRENT]


def start_checkin(
    *,
    today: dt.date,
    config: Config,
    files: Sequence[Path] | None = None,
    to: Path | None = None,
    owners: Sequence[str] | None = None,
    objectives: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    kpis: Sequence[str] | None = None,
) -> Checkin:
    """Load the workspace (refused with check's messages when it has errors) and list
    what the selected KPIs owe. The filters raise UsageError with a did-you-mean."""
    from kpitrack.evaluation.evaluate import evaluate
    from kpitrack.evaluation.select import filter_results, split_values

    loaded = load_for_writing(files, today, config=config)
    results = filter_results(
        evaluate(loaded.workspace, as_of=today, config=loaded.config),
        loaded.workspace,
        owners=owners,
        objectives=objectives,
        tags=tags,
        kpis=kpis,
    )
    named = set(split_values(kpis))
    results = [r for r in results if not r.kpi.archived or r.kpi.id in named]
    owing: list[KpiOwes] = []
    for result in results:
        owed = owed_periods(result, today=today, config=loaded.config)
        if owed:
            target = measurement_target(loaded, [result.kpi], to)
            owing.append(KpiOwes(result, tuple(owed), target, _expected(result, today)))
    past_first = sorted(owing, key=lambda k: k.owed[0].due is Due.CURRENT)  # stable
    return Checkin(loaded, today, tuple(past_first))


def _expected(result: KpiResult, today: dt.date) -> Value | None:
    """What the KPI should be at today (the target, or its path towards `due`)."""
    from kpitrack.evaluation.evaluate import expected_position

    kpi = result.kpi
    base = kpi.position(result.baseline) if result.baseline is not None else None
    position = expected_position(kpi, today, start=result.start, baseline=base)
    return kpi.label(position)


# ---------------------------------------------------------------- answers


def check_value(kpi: Kpi, text: str) -> Value:
    """A typed value, checked as `record` checks it; ValueError with record's message."""
    return parse_value(kpi, text)


def check_date(text: str, owed: Owed, today: dt.date) -> dt.date:
    """The date answer: empty is the period being filled; else a date or period as
    `record --date` takes it. ValueError with record's message."""
    if not text.strip():
        return owed.date
    return parse_measurement_date(text.strip(), today)


def check_note(text: str) -> str | None:
    return free_text(text, "the note")


@dataclass(frozen=True)
class Answer:
    owed: Owed
    measurement: Measurement
    target: Path


def answer(
    owes: KpiOwes, owed: Owed, value: Value, day: dt.date, note: str | None, by: str | None
) -> Answer:
    return Answer(owed, Measurement(owed.kpi.id, day, value, note, by), owes.target)


# ---------------------------------------------------------------- the write


@dataclass(frozen=True)
class CheckinOutcome:
    written: tuple[Written, ...]  # one per target file, in the order written
    skipped: int  # exact duplicates of values the workspace holds, left out
    results: tuple[KpiResult, ...]  # the KPIs that got values, evaluated with them
    dry_run: bool

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(w.path for w in self.written if w.added)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for w in self.written for p in w.warnings)


def write_answers(
    checkin: Checkin,
    answers: Sequence[Answer],
    *,
    dry_run: bool = False,
    timeout: float = LOCK_TIMEOUT,
) -> CheckinOutcome:
    """Append every answer: one locked, atomic write per target file. Every file's write
    is checked first (a dry run of each), so a value refused in any file writes nothing
    anywhere; exact duplicates are left out as `record` leaves them out."""
    from kpitrack.evaluation.evaluate import evaluate_kpi

    if not answers:
        raise UsageError("nothing to write")
    loaded = checkin.loaded
    groups: dict[Path, list[Measurement]] = {}
    for a in answers:
        groups.setdefault(a.target, []).append(a.measurement)

    def choose(rows: list[Measurement]) -> Callable[[Workspace], list[Measurement]]:
        return lambda workspace: _fresh(rows, workspace)[0]

    checked = [
        append_to_workspace(loaded, target, choose(rows), dry_run=True)
        for target, rows in groups.items()
    ]
    written = (
        checked
        if dry_run
        else [
            append_to_workspace(loaded, t, choose(rows), timeout=timeout)
            for t, rows in groups.items()
        ]
    )
    added = [m for w in written for m in w.added]
    base = max((max(s.orders) for s in loaded.workspace.measurements.all_series()), default=0)
    results: list[KpiResult] = []
    for owes in checkin.kpis:
        mine = [m for m in added if m.kpi == owes.result.kpi.id]
        if not mine:
            continue
        history = [*(loaded.workspace.measurements.series(owes.result.kpi.id) or ())]
        history += [replace(m, order=base + 1 + i) for i, m in enumerate(mine)]
        as_of = max([checkin.today, *(m.date for m in mine)])
        results.append(evaluate_kpi(owes.result.kpi, history, as_of=as_of, config=loaded.config))
    return CheckinOutcome(tuple(written), len(answers) - len(added), tuple(results), dry_run)
