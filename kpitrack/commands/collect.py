"""Command: collect — measurements straight from each KPI's `source` (docs: README
"Collecting values automatically", docs/SECURITY.md).

The work is `writing.collecting.collect_due` (periods, all-or-nothing per KPI,
the append); the output is `render.collect`. Quiet on success when nothing was
added; `--quiet` prints nothing on stdout; failures always go to stderr (exit 1).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from kpitrack.commands.inputs import parse_as_of, source_context
from kpitrack.commands.options import (
    CollectFormatOption,
    CommitOption,
    FilesOption,
    KpiOption,
    ToOption,
)
from kpitrack.domain.problems import ExitCode
from kpitrack.render.formats import CollectFormat, choose_format

if TYPE_CHECKING:
    from kpitrack.writing.collecting import CollectOutcome

PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        metavar="PERIOD",
        help="Collect this period (2026-W47, 2026-11, 2026-Q4, 2026 or a date) instead "
        "of the latest ended ones; each KPI takes its own period holding its last day.",
    ),
]

MaxPeriodsOption = Annotated[
    int,
    typer.Option(
        "--max-periods",
        metavar="N",
        min=1,
        max=366,
        help="Backfill: look back this many ended periods for missing values.",
    ),
]

DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Run the sources and report; write nothing.")
]

TestOption = Annotated[
    bool,
    typer.Option(
        "--test",
        help="Run each source once for the latest ended period (even if it has a value) "
        "and show the value; write nothing.",
    ),
]

CollectAsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="Collect as of this date: periods that ended before it. Default: today.",
    ),
]

AllowCommandsOption = Annotated[
    bool,
    typer.Option(
        "--allow-commands",
        help="Let `command` sources run for this run (like allow_commands = true in "
        "the local config).",
    ),
]

QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print nothing on stdout; errors still go to stderr."),
]


def collect(
    kpi_ids: KpiOption = None,
    period_text: PeriodOption = None,
    max_periods: MaxPeriodsOption = 1,
    dry_run: DryRunOption = False,
    test: TestOption = False,
    fmt: CollectFormatOption = None,
    to: ToOption = None,
    as_of: CollectAsOfOption = None,
    files: FilesOption = None,
    allow_commands: AllowCommandsOption = False,
    quiet: QuietOption = False,
    commit: CommitOption = None,
) -> None:
    """Collect due values from each KPI's source (sql, csv, command) and append them.

    Exit 0 when every source gave its value, 1 when a source failed (the other
    values are still written), 2 on a usage error or invalid files.
    """
    from kpitrack.commands.gitcommit import commit_after_write, commit_repository
    from kpitrack.evaluation.select import split_values
    from kpitrack.writing.collecting import collect_due
    from kpitrack.writing.recording import load_for_writing

    output_format = choose_format(fmt, None, CollectFormat, default=CollectFormat.TEXT)
    day = parse_as_of(as_of)
    loaded = load_for_writing(files, day)
    repo = commit_repository(commit, loaded.config, dry_run=dry_run or test)
    outcome = collect_due(
        loaded,
        source_context(loaded.config, allow_commands=allow_commands),
        as_of=day,
        kpi_ids=split_values(kpi_ids),
        period=period_text,
        max_periods=max_periods,
        dry_run=dry_run,
        test=test,
        to=to,
    )
    _show_collected(outcome, output_format, quiet=quiet)
    if outcome.target is not None and outcome.added:
        message = f"kpitrack: collect {outcome.added} value(s)"
        commit_after_write(repo, [outcome.target], message, author=None)
    if outcome.failed:
        raise typer.Exit(int(ExitCode.PROBLEMS))


def _show_collected(outcome: CollectOutcome, output_format: CollectFormat, *, quiet: bool) -> None:
    """The outcome on stdout (JSON, or text unless --quiet); failures, and that no KPI
    has a source (unless --quiet), on stderr."""
    from kpitrack.commands.recording import shown
    from kpitrack.render.collect import collect_errors, collect_json, collect_text

    target = shown(outcome.target) if outcome.target is not None else None
    if output_format is CollectFormat.JSON:
        sys.stdout.write(collect_json(outcome, target))
    elif not quiet:
        sys.stdout.write("".join(line + "\n" for line in collect_text(outcome, target)))
    sys.stdout.flush()
    if outcome.nothing_to_collect and not quiet:
        print("no KPI has a source: nothing to collect", file=sys.stderr)
    for line in collect_errors(outcome):
        print(line, file=sys.stderr)
