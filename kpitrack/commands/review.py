"""`kpitrack review KPI`: record that a KPI was reviewed (sets `last_reviewed`; docs/writing.md)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kpitrack.commands.inputs import load_config_here, parse_as_of
from kpitrack.commands.options import CommitOption, FilesOption, complete_kpi
from kpitrack.commands.recording import shown


def review(
    kpi_id: Annotated[
        str, typer.Argument(metavar="KPI", help="The KPI id.", autocompletion=complete_kpi)
    ],
    date: Annotated[
        str | None,
        typer.Option(
            "--date", metavar="DATE", help="The review date (YYYY-MM-DD). Default: today."
        ),
    ] = None,
    note: Annotated[
        str | None,
        typer.Option("--note", metavar="TEXT", help="One line, kept as a comment after the date."),
    ] = None,
    files: FilesOption = None,
    commit: CommitOption = None,
) -> None:
    """Set the KPI's last_reviewed to today (or --date) in the file that defines it:
    one line changed or added, under a lock, atomically; the rest of the file is kept."""
    from kpitrack.commands.gitcommit import commit_after_write, commit_repository
    from kpitrack.writing.reviewing import review as review_kpi

    day = parse_as_of(date, "--date")
    config = load_config_here()
    repo = commit_repository(commit, config)
    outcome = review_kpi(
        kpi_id, day=day, today=parse_as_of(None), config=config, note=note, files=files
    )
    for problem in outcome.warnings:
        print(problem.format(), file=sys.stderr)
    print(f"reviewed {outcome.kpi.id} on {day.isoformat()} in {shown(outcome.target)}")
    reasons = ", ".join(str(r) for r in outcome.result.reasons) or "none"
    print(f"{outcome.kpi.id}: {outcome.result.status}; needs action: {reasons}", file=sys.stdout)
    message = f"kpitrack: review {outcome.kpi.id} ({day.isoformat()})"
    commit_after_write(repo, [outcome.target], message, author=None)
