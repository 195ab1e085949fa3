"""`kpitrack review KPI`: record that a KPI was reviewed (sets `last_reviewed`; docs/writing.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kpitrack.cli import FilesOption, app, command, parse_as_of
from kpitrack.problems import UsageError


@app.command("review")
@command
def review(
    kpi_id: Annotated[str, typer.Argument(metavar="KPI", help="The KPI id.")],
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
) -> None:
    """Set the KPI's last_reviewed to today (or --date) in the file that defines it:
    one line changed or added, under a lock, atomically; the rest of the file is kept."""
    from kpitrack.commands.recording import _path_of, _print_warnings, load_for_writing, shown
    from kpitrack.evaluate import evaluate_kpi
    from kpitrack.reviewing import check_note, write_review

    day = parse_as_of(date, "--date")
    today = parse_as_of(None)
    if day > today:
        raise UsageError(f"--date {day.isoformat()} is after today ({today.isoformat()})")
    try:
        text = check_note(note)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    loaded = load_for_writing(files, day)
    kpi = loaded.workspace.require_kpi(kpi_id)
    target: Path = _path_of(loaded, kpi.loc.path)
    warnings = write_review(target, kpi.id, day, note=text, loads=loaded.loads(target))
    _print_warnings(warnings)
    print(f"reviewed {kpi.id} on {day.isoformat()} in {shown(target)}")
    from dataclasses import replace

    history = [m for m in loaded.workspace.measurements if m.kpi == kpi.id]
    result = evaluate_kpi(replace(kpi, last_reviewed=day), history, as_of=day, config=loaded.config)
    reasons = ", ".join(str(r) for r in result.reasons) or "none"
    print(f"{kpi.id}: {result.status}; needs action: {reasons}", file=sys.stdout)
