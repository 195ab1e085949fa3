"""Command: collect — measurements straight from each KPI's `source` (docs: README
"Collecting values automatically", docs/SECURITY.md).

The work is `writing.collecting.collect_due` (periods, all-or-nothing per KPI,
the append); the output is `render.collect`. Quiet on success when nothing was
added; `--quiet` prints nothing on stdout; failures always go to stderr (exit 1).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from kpitrack.commands.inputs import parse_as_of, source_context
from kpitrack.commands.options import FilesOption, KpiOption, ToOption
from kpitrack.domain.problems import ExitCode


class CollectFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


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

CollectFormatOption = Annotated[
    CollectFormat, typer.Option("--format", help="text, or json: what was collected.")
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
    output_format: CollectFormatOption = CollectFormat.TEXT,
    to: ToOption = None,
    as_of: CollectAsOfOption = None,
    files: FilesOption = None,
    allow_commands: AllowCommandsOption = False,
    quiet: QuietOption = False,
) -> None:
    """Collect due values from each KPI's source (sql, csv, command) and append them.

    Exit 0 when every source gave its value, 1 when a source failed (the other
    values are still written), 2 on a usage error or invalid files.
    """
    from kpitrack.commands.recording import shown
    from kpitrack.evaluation.select import split_values
    from kpitrack.render.collect import collect_errors, collect_json, collect_text
    from kpitrack.writing.collecting import collect_due
    from kpitrack.writing.recording import load_for_writing

    day = parse_as_of(as_of)
    loaded = load_for_writing(files, day)
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
    if outcome.failed:
        raise typer.Exit(int(ExitCode.PROBLEMS))
