"""`collect`'s core: pick each KPI's due periods, run its source, append the values.

Running a source is `kpitrack.reading.sources` (one module per kind, behind one
protocol); this module orchestrates: which periods are due (the ended periods
without a measurement, found through an index of each KPI's dates built once, so
the work is linear in KPIs + measurements), all-or-nothing per KPI (a KPI whose
source fails for one of its periods adds nothing), and one locked, atomic,
byte-preserving append through the write core (`recording.append_to_workspace`,
as `import`) with `by: collect` and the source's name in `note`. Nothing here
prints; the outcome goes to a renderer.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kpitrack.domain.model import Kpi, Measurement, Value
from kpitrack.domain.periods import Period, parse_period, period_containing
from kpitrack.domain.problems import Problem, UsageError
from kpitrack.domain.workspace import Workspace
from kpitrack.reading.sources import (
    Connections,
    SourceContext,
    SourceError,
    kpi_source_problems,
    params_for,
    run_source,
)
from kpitrack.writing.recording import Loaded, append_to_workspace, measurement_target

COLLECTED_BY = "collect"


@dataclass
class Collected:
    """One KPI and period: the value its source gave, or why it gave none."""

    kpi: Kpi
    period: Period
    value: Value | None = None
    error: str | None = None
    written: bool = False

    @property
    def source_name(self) -> str:
        return self.kpi.source.name if self.kpi.source else "no source"


@dataclass(frozen=True)
class CollectOutcome:
    as_of: dt.date
    dry_run: bool
    test: bool
    results: tuple[Collected, ...]
    target: Path | None = None
    warnings: tuple[Problem, ...] = ()
    # No KPI (of those chosen) has a source.
    nothing_to_collect: bool = False

    @property
    def collected(self) -> list[Collected]:
        return [r for r in self.results if r.error is None]

    @property
    def failed(self) -> list[Collected]:
        return [r for r in self.results if r.error is not None]

    @property
    def added(self) -> int:
        return sum(1 for r in self.results if r.written)


@dataclass
class DateIndex:
    """A KPI's measurement dates (ordinals), sorted, built on first use.

    Only the latest KPI's are kept: the callers ask KPI by KPI, and keeping every
    KPI's (a Python int per measurement) cost about 4 MiB at 100k measurements."""

    workspace: Workspace
    _kpi: str | None = None
    _dates: list[int] = field(default_factory=list)

    def has_value(self, kpi_id: str, period: Period) -> bool:
        if kpi_id != self._kpi:
            series = self.workspace.measurements.series(kpi_id)
            self._dates = sorted(set(series.dates)) if series is not None else []
            self._kpi = kpi_id
        dates = self._dates
        i = bisect.bisect_left(dates, period.start.toordinal())
        return i < len(dates) and dates[i] <= period.end.toordinal()


def periods_to_collect(
    index: DateIndex, kpi: Kpi, as_of: dt.date, max_periods: int, wanted: Period | None
) -> list[Period]:
    """The ended periods, newest `max_periods` back, without a measurement; oldest first.

    With `wanted` (--period), the KPI's period holding that period's last day.
    """
    if wanted is not None:
        period = period_containing(kpi.frequency, wanted.end)
        if period.end >= as_of or index.has_value(kpi.id, period):
            return []
        return [period]
    out: list[Period] = []
    period = period_containing(kpi.frequency, as_of).previous()
    for _ in range(max_periods):
        if kpi.start is not None and period.end < kpi.start:
            break
        if not index.has_value(kpi.id, period):
            out.append(period)
        period = period.previous()
    return sorted(out)


def parse_wanted_period(text: str | None, as_of: dt.date) -> Period | None:
    """--period: an ended period (UsageError otherwise)."""
    if text is None:
        return None
    try:
        period = parse_period(text)
    except ValueError as exc:
        raise UsageError(f"--period: {exc}") from None
    if period.end >= as_of:
        raise UsageError(f"--period: {text} has not ended yet (it ends {period.end})")
    return period


def choose_kpis(workspace: Workspace, kpi_ids: Sequence[str]) -> list[Kpi]:
    """The KPIs to collect: those named (each must have a source), else every KPI with a
    source that is not archived (archived KPIs are collected only when named)."""
    for kpi_id in kpi_ids:
        kpi = workspace.require_kpi(kpi_id, option="--kpi")
        if kpi.source is None:
            raise UsageError(f"--kpi: KPI '{kpi_id}' has no source to collect from")
    return [
        k
        for k in workspace.kpis
        if k.source is not None and (k.id in kpi_ids if kpi_ids else not k.archived)
    ]


def _run_kpi(
    kpi: Kpi, periods: list[Period], ctx: SourceContext, as_of: dt.date
) -> list[Collected]:
    """One KPI's periods; nothing partial: one failure fails them all."""
    # What check reports with the local config (unknown database, a refused CSV path).
    blocked = [p.message for p in kpi_source_problems(kpi, ctx) if p.is_error]
    results: list[Collected] = []
    for period in periods:
        result = Collected(kpi, period)
        if blocked:
            result.error = blocked[0].split(": source: ", 1)[-1]
        else:
            try:
                result.value = run_source(kpi, params_for(period, as_of), ctx)
            except SourceError as exc:
                result.error = str(exc)
        results.append(result)
    if any(r.error for r in results):
        for r in results:
            if r.error is None:
                r.error = "not written: another period of this KPI failed"
            r.value = None
    return results


def _measurement(result: Collected) -> Measurement:
    assert result.value is not None
    return Measurement(
        result.kpi.id,
        result.period.end,
        result.value,
        note=f"collected from {result.source_name}",
        by=COLLECTED_BY,
    )


def forget_target_parse(loaded: Loaded, target: Path) -> None:
    """Drop the load's parse of `target` from its memo before the append.

    The append never loads the target's text as the load read it again (unchanged,
    nothing is parsed; changed meanwhile, the new text is parsed), so that parse, the
    largest one when the target holds the measurements, would only add to the peak."""
    index = loaded.index_of(target)
    if index is None:
        return
    display = loaded.sources[index][0]
    for key in [key for key in loaded.memo if key[0] == display]:
        del loaded.memo[key]


def collect_due(
    loaded: Loaded,
    ctx: SourceContext,
    *,
    as_of: dt.date,
    kpi_ids: Sequence[str] = (),
    period: str | None = None,
    max_periods: int = 1,
    dry_run: bool = False,
    test: bool = False,
    to: Path | None = None,
) -> CollectOutcome:
    """Collect the due values of the chosen KPIs and append them (see the module's doc).

    With `test`, each source runs once for the latest ended period (or `period`'s),
    whatever it holds, and nothing is written; with `dry_run`, every check runs and
    nothing is written.
    """
    wanted = parse_wanted_period(period, as_of)
    chosen = choose_kpis(loaded.workspace, kpi_ids)
    index = DateIndex(loaded.workspace)
    results: list[Collected] = []
    # One connection per database for the whole run, closed before anything is written.
    connections = Connections()
    run_ctx = dataclasses.replace(ctx, connections=connections)
    try:
        for kpi in chosen:
            if test:  # the latest ended period (or --period's), whatever it holds
                due = [
                    period_containing(kpi.frequency, wanted.end)
                    if wanted
                    else period_containing(kpi.frequency, as_of).previous()
                ]
            else:
                due = periods_to_collect(index, kpi, as_of, max_periods, wanted)
            results.extend(_run_kpi(kpi, due, run_ctx, as_of))
    finally:
        connections.close()
    good = [r for r in results if r.error is None]
    if not good or test:
        return CollectOutcome(as_of, dry_run, test, tuple(results), nothing_to_collect=not chosen)
    target = measurement_target(loaded, [r.kpi for r in good], to)
    forget_target_parse(loaded, target)

    def choose(now: Workspace) -> list[Measurement]:
        # Under the lock, against the workspace as it is now: a value that another
        # run wrote meanwhile is not added twice.
        current = DateIndex(now)
        return [_measurement(r) for r in good if not current.has_value(r.kpi.id, r.period)]

    result = append_to_workspace(loaded, target, choose, dry_run=dry_run)
    written = {(m.kpi, m.date) for m in result.added}
    for r in good:
        r.written = not dry_run and (r.kpi.id, r.period.end) in written
    return CollectOutcome(
        as_of, dry_run, test, tuple(results), target=target, warnings=tuple(result.warnings)
    )
