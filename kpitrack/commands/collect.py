"""Command: collect — measurements straight from each KPI's `source` (docs: README
"Collecting values automatically", docs/SECURITY.md).

Every value found is written in one locked, atomic, byte-preserving append (the
same path as `import`), with `by: collect` and the source's name in `note`. A
KPI whose source fails for any of its periods adds nothing, is reported, and
makes the exit code 1; the other KPIs' values are still written.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from kpitrack.commands.inputs import parse_as_of
from kpitrack.commands.options import (
    CollectFormatOption,
    CommitOption,
    FilesOption,
    KpiOption,
    ToOption,
)
from kpitrack.domain.model import Kpi, Measurement, Value
from kpitrack.domain.periods import Period
from kpitrack.domain.problems import ExitCode, UsageError
from kpitrack.domain.workspace import Workspace
from kpitrack.render.formats import CollectFormat, choose_format

COLLECTED_BY = "collect"


@dataclass
class Outcome:
    kpi: Kpi
    period: Period
    value: Value | None = None
    error: str | None = None
    written: bool = False


def _has_value(workspace: Workspace, kpi: Kpi, period: Period) -> bool:
    return any(m.kpi == kpi.id and m.date in period for m in workspace.measurements)


def periods_to_collect(
    workspace: Workspace, kpi: Kpi, as_of: dt.date, max_periods: int, wanted: Period | None
) -> list[Period]:
    """The ended periods, newest `max_periods` back, without a measurement; oldest first.

    With `wanted` (--period), the KPI's period holding that period's last day.
    """
    from kpitrack.domain.periods import period_containing

    if wanted is not None:
        period = period_containing(kpi.frequency, wanted.end)
        if period.end >= as_of or _has_value(workspace, kpi, period):
            return []
        return [period]
    out: list[Period] = []
    period = period_containing(kpi.frequency, as_of).previous()
    for _ in range(max_periods):
        if kpi.start is not None and period.end < kpi.start:
            break
        if not _has_value(workspace, kpi, period):
            out.append(period)
        period = period.previous()
    return sorted(out)


def _measurement(outcome: Outcome) -> Measurement:
    assert outcome.value is not None and outcome.kpi.source is not None
    return Measurement(
        outcome.kpi.id,
        outcome.period.end,
        outcome.value,
        note=f"collected from {outcome.kpi.source.name}",
        by=COLLECTED_BY,
    )


def _value_text(kpi: Kpi, value: Value) -> str:
    from kpitrack.evaluation.evaluate import format_value

    return format_value(kpi, value, unit=True)


def collect(
    kpi_ids: KpiOption = None,
    period_text: Annotated[
        str | None,
        typer.Option(
            "--period",
            metavar="PERIOD",
            help="Collect this period (2026-W47, 2026-11, 2026-Q4, 2026 or a date) instead "
            "of the latest ended ones; each KPI takes its own period holding its last day.",
        ),
    ] = None,
    max_periods: Annotated[
        int,
        typer.Option(
            "--max-periods",
            metavar="N",
            min=1,
            max=366,
            help="Backfill: look back this many ended periods for missing values.",
        ),
    ] = 1,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the sources and report; write nothing.")
    ] = False,
    test: Annotated[
        bool,
        typer.Option(
            "--test",
            help="Run each source once for the latest ended period (even if it has a value) "
            "and show the value; write nothing.",
        ),
    ] = False,
    fmt: CollectFormatOption = None,
    to: ToOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Collect as of this date: periods that ended before it. Default: today.",
        ),
    ] = None,
    files: FilesOption = None,
    commit: CommitOption = None,
) -> None:
    """Collect due values from each KPI's source (sql, csv, command) and append them.

    Exit 0 when every source gave its value, 1 when a source failed (the other
    values are still written), 2 on a usage error or invalid files.
    """
    from kpitrack.commands.recording import shown
    from kpitrack.domain.periods import parse_period, period_containing
    from kpitrack.evaluation.select import split_values
    from kpitrack.reading.sources import kpi_config_problems
    from kpitrack.writing.collecting import SourceError, params_for, run_source

    day = parse_as_of(as_of)
    from kpitrack.writing.recording import load_for_writing, measurement_target

    loaded = load_for_writing(files, day)
    workspace, config = loaded.workspace, loaded.config
    from kpitrack.commands.gitcommit import commit_after_write, commit_repository

    repo = commit_repository(commit, config, dry_run=dry_run or test)
    wanted_period: Period | None = None
    if period_text is not None:
        try:
            wanted_period = parse_period(period_text)
        except ValueError as exc:
            raise UsageError(f"--period: {exc}") from None
        if wanted_period.end >= day:
            raise UsageError(
                f"--period: {period_text} has not ended yet (it ends {wanted_period.end})"
            )
    ids = split_values(kpi_ids)
    for kpi_id in ids:
        kpi = workspace.require_kpi(kpi_id, option="--kpi")
        if kpi.source is None:
            raise UsageError(f"--kpi: KPI '{kpi_id}' has no source to collect from")
    # Archived KPIs are not tracked any more: collected only when named with --kpi.
    chosen = [
        k
        for k in workspace.kpis
        if k.source is not None and (k.id in ids if ids else not k.archived)
    ]
    if not chosen:
        print("no KPI has a source: nothing to collect", file=sys.stderr)

    outcomes: list[Outcome] = []
    for kpi in chosen:
        if test:  # the latest ended period (or --period's), whatever it holds
            periods = [
                period_containing(kpi.frequency, wanted_period.end)
                if wanted_period
                else period_containing(kpi.frequency, day).previous()
            ]
        else:
            periods = periods_to_collect(workspace, kpi, day, max_periods, wanted_period)
        assert kpi.source is not None
        # What check would report with kpitrack.toml (unknown database, missing column).
        blocked = [p.message for p in kpi_config_problems(kpi, config) if p.is_error]
        mine: list[Outcome] = []
        for period in periods:
            outcome = Outcome(kpi, period)
            if blocked:
                outcome.error = blocked[0].split(": source: ", 1)[-1]
            else:
                try:
                    outcome.value = run_source(kpi, params_for(period, day), config)
                except SourceError as exc:
                    outcome.error = str(exc)
            mine.append(outcome)
        if any(o.error for o in mine):  # nothing partial for one KPI
            for o in mine:
                if o.error is None:
                    o.error = "not written: another period of this KPI failed"
                o.value = None
        outcomes.extend(mine)

    good = [o for o in outcomes if o.error is None]
    target: Path | None = None
    warnings: list[str] = []
    if good and not test:
        from kpitrack.writing.recording import append_to_workspace

        target = measurement_target(loaded, [o.kpi for o in good], to)

        def choose(now: Workspace) -> list[Measurement]:
            # Under the lock, against the workspace as it is now: a value that another
            # run wrote meanwhile is not added twice.
            return [_measurement(o) for o in good if not _has_value(now, o.kpi, o.period)]

        result = append_to_workspace(loaded, target, choose, dry_run=dry_run)
        problems = list(result.warnings)
        written = {(m.kpi, m.date) for m in result.added}
        for o in good:
            o.written = not dry_run and (o.kpi.id, o.period.end) in written
        warnings = [p.format() for p in problems]

    failed = [o for o in outcomes if o.error is not None]
    if choose_format(fmt, None, CollectFormat, default=CollectFormat.TEXT) is CollectFormat.JSON:
        document = {
            "as_of": day.isoformat(),
            "dry_run": dry_run,
            "test": test,
            "file": str(target) if target is not None else None,
            "collected": [
                {
                    "kpi": o.kpi.id,
                    "period": o.period.label,
                    "date": o.period.end.isoformat(),
                    "value": o.value,
                    "source": o.kpi.source.name if o.kpi.source else None,
                    "written": o.written,
                }
                for o in good
            ],
            "failed": [
                {
                    "kpi": o.kpi.id,
                    "period": o.period.label,
                    "source": o.kpi.source.name if o.kpi.source else None,
                    "error": o.error,
                }
                for o in failed
            ],
        }
        import json

        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        for o in good:
            assert o.value is not None and o.kpi.source is not None
            print(
                f"{o.kpi.id} {o.period.label}: {_value_text(o.kpi, o.value)} ({o.kpi.source.name})"
            )
        if test:
            print(f"test: {len(good)} value(s), {len(failed)} failure(s); nothing written")
        elif dry_run:
            where = f" to {shown(target)}" if target is not None else ""
            print(f"dry run: would add {len(good)} measurement(s){where}; nothing written")
        else:
            added = sum(1 for o in good if o.written)
            where = f" to {shown(target)}" if target is not None else ""
            print(f"added {added} measurement(s){where}; {len(failed)} failure(s)")
    for line in warnings:
        print(line, file=sys.stderr)
    for o in failed:
        name = o.kpi.source.name if o.kpi.source else "no source"
        line = f"kpitrack: collect: KPI '{o.kpi.id}' {o.period.label} ({name}): {o.error}"
        print(line.replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr)
    if target is not None and any(o.written for o in good):
        count = sum(1 for o in good if o.written)
        commit_after_write(repo, [target], f"kpitrack: collect {count} value(s)", author=None)
    sys.stdout.flush()
    if failed:
        raise typer.Exit(int(ExitCode.PROBLEMS))
