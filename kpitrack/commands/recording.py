"""record, import, init, rename (docs/commands.md, docs/writing.md): parse the options, call
the core once (`recording`, `starter`, `renaming`), print the outcome."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kpitrack.commands.inputs import load_config_here, parse_as_of
from kpitrack.commands.options import (
    CommitOption,
    FilesOption,
    ToOption,
    complete_date_word,
    complete_id,
    complete_kpi,
)
from kpitrack.domain.problems import Problem, UsageError
from kpitrack.domain.textsafe import visible

if TYPE_CHECKING:
    from kpitrack.writing.recording import RecordOutcome


def shown(path: Path) -> str:
    """A path for messages: relative to the current folder when it is inside it."""
    full = Path(os.path.abspath(path))
    try:
        return str(full.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_warnings(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem.format(), file=sys.stderr)


# A negative VALUE (-12, -0.5, -1e3) is not an option: record lets unknown dash words
# through as arguments and refuses any that is not a number itself (cli.py registers it
# with Click's ignore_unknown_options).
RecordKpiArgument = Annotated[
    str, typer.Argument(metavar="KPI", help="The KPI id.", autocompletion=complete_kpi)
]

RecordValueArgument = Annotated[
    str, typer.Argument(metavar="VALUE", help="A number, or a scale label (qualitative).")
]

RecordDateOption = Annotated[
    str | None,
    typer.Option(
        "--date",
        metavar="DATE",
        help="The date the value describes: YYYY-MM-DD, or a period (2026-W44, 2026-10, "
        "2026-Q3, 2026) stored as its last day, or as today when it is the current "
        "period; or today, yesterday, last-week, last-month (that period). "
        "Default: today.",
        autocompletion=complete_date_word,
    ),
]

RecordNoteOption = Annotated[str | None, typer.Option("--note", metavar="TEXT", help="Free text.")]

RecordByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="NAME",
        help="Who recorded it. Default: `git config user.name` inside a git "
        "repository, else $USER.",
    ),
]

AllowDuplicateOption = Annotated[
    bool,
    typer.Option(
        "--allow-duplicate",
        help="Append even when the workspace already holds this exact entry "
        "(same KPI, date, value, note and by). Default: skip it, so a retried "
        "record never writes it twice.",
    ),
]

RecordDryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Check everything and show the entry; write nothing.")
]


def record(
    kpi_id: RecordKpiArgument,
    value: RecordValueArgument,
    date: RecordDateOption = None,
    note: RecordNoteOption = None,
    by: RecordByOption = None,
    to: ToOption = None,
    files: FilesOption = None,
    allow_duplicate: AllowDuplicateOption = False,
    dry_run: RecordDryRunOption = False,
    commit: CommitOption = None,
) -> None:
    """Append one measurement, validated first; prints the KPI's new status."""
    from kpitrack.commands.gitcommit import commit_after_write, commit_repository
    from kpitrack.git.committing import values_message
    from kpitrack.writing.recording import default_recorder
    from kpitrack.writing.recording import record as record_value

    today = parse_as_of(None)
    _refuse_option_words(kpi_id, value)
    config = load_config_here()
    repo = commit_repository(commit, config, dry_run=dry_run)
    outcome = record_value(
        kpi_id,
        value,
        today=today,
        config=config,
        date=date,
        note=note,
        by=by if by is not None else default_recorder(),
        to=to,
        files=files,
        allow_duplicate=allow_duplicate,
        dry_run=dry_run,
    )
    _print_warnings(outcome.warnings)
    if dry_run:
        _show_dry_record(outcome)
    elif not outcome.written:
        print(
            f"already recorded: {outcome.kpi.id} = {visible(value.strip(), line=True)} on "
            f"{outcome.measurement.date.isoformat()} "
            "(same note and by) in the workspace; nothing written "
            "(--allow-duplicate records it again)"
        )
    else:
        _show_recorded(outcome, today)
        message = values_message("record", [outcome.kpi], [outcome.measurement])
        commit_after_write(repo, [outcome.target], message, author=by)


def _refuse_option_words(kpi_id: str, value: str) -> None:
    """A KPI id that starts with `-`, or a VALUE that does and is not a negative number,
    is an unknown option (record lets unknown options through to take `-12`)."""
    from kpitrack.writing.recording import NEGATIVE_NUMBER

    if kpi_id.startswith("-"):
        raise UsageError(f"no such option: {kpi_id}")
    if value.startswith("-") and not NEGATIVE_NUMBER.fullmatch(value):
        raise UsageError(f"no such option: {value}")


def _show_dry_record(outcome: RecordOutcome) -> None:
    """--dry-run: the entry record would append, or that it is already there."""
    from kpitrack.evaluation.evaluate import format_value

    kpi, day = outcome.kpi, outcome.measurement.date.isoformat()
    text = format_value(kpi, outcome.measurement.value, unit=True)
    what = f"{kpi.id} = {text} on {day} in {shown(outcome.target)}"
    if outcome.written:
        print(visible(f"dry run: would record {what}; nothing written", line=True))
    else:
        print(visible(f"dry run: {what} is already recorded; nothing written", line=True))


def _show_recorded(outcome: RecordOutcome, today: dt.date) -> None:
    """The appended entry and the KPI's status after it (its note, if any, on stderr)."""
    from kpitrack.evaluation.evaluate import format_value, status_sentence

    if outcome.note:
        print(outcome.note, file=sys.stderr)
    kpi, day = outcome.kpi, outcome.measurement.date.isoformat()
    text = format_value(kpi, outcome.measurement.value, unit=True)
    print(visible(f"recorded {kpi.id} = {text} on {day} in {shown(outcome.target)}", line=True))
    when = "" if outcome.as_of == today else f" (as of {outcome.as_of.isoformat()})"
    status = f"{outcome.result.status}{when} — {status_sentence(outcome.result)}"
    print(visible(f"{kpi.id}: {status}", line=True))


def import_csv(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE.csv",
            help="CSV with a header row kpi,date,value[,note[,by]]; - for stdin.",
        ),
    ],
    to: ToOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    files: FilesOption = None,
    commit: CommitOption = None,
) -> None:
    """Append many measurements from CSV: all or nothing; exact duplicates are skipped."""
    from kpitrack.commands.gitcommit import commit_after_write, commit_repository
    from kpitrack.writing.recording import import_measurements

    config = load_config_here()
    repo = commit_repository(commit, config, dry_run=dry_run)
    outcome = import_measurements(
        source,
        today=parse_as_of(None),
        config=config,
        to=to,
        files=files,
        dry_run=dry_run,
    )
    target = shown(outcome.target)
    if dry_run:
        print(
            f"dry run: would add {len(outcome.added)} measurement(s) to {target}, "
            f"skip {outcome.skipped} duplicate(s); nothing written"
        )
        _print_warnings(outcome.warnings)
        return
    _print_warnings(outcome.warnings)
    if outcome.note:
        print(outcome.note, file=sys.stderr)
    print(
        f"added {len(outcome.added)} measurement(s) to {target}, "
        f"skipped {outcome.skipped} duplicate(s)"
    )
    if outcome.added:
        count = len(outcome.added)
        message = f"kpitrack: import {count} value(s) from {Path(outcome.source).name}"
        commit_after_write(repo, [outcome.target], message, author=None)


def init(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Where to start (default: here).")
    ] = Path("."),
) -> None:
    """Write a starter kpis.yaml, measurements.yaml and kpitrack.toml; never overwrites."""
    import datetime as dt

    from kpitrack.writing.starter import init_folder

    created, kept = init_folder(folder, today=dt.date.today())
    for path in created:
        print(f"created {path}")
    for path in kept:
        print(f"left {path} alone: it already exists")
    if created:
        where = folder / "kpis.yaml"
        after = "" if folder.resolve() == Path.cwd().resolve() else f" (from {folder})"
        print(f"next: edit {where}, then `kpitrack check` and `kpitrack status`{after}")


def rename(
    old_id: Annotated[
        str,
        typer.Argument(
            metavar="OLD", help="The KPI or objective id now.", autocompletion=complete_id
        ),
    ],
    new_id: Annotated[str, typer.Argument(metavar="NEW", help="The id it gets.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the lines it would change; write nothing.")
    ] = False,
    files: FilesOption = None,
) -> None:
    """Rename a KPI or objective id everywhere: definition, references, measurements.

    Locked and atomic like record; every other byte of the files stays as it is.

    Example: kpitrack rename wau weekly-active-users --dry-run
    """
    from kpitrack.writing.renaming import IdKind
    from kpitrack.writing.renaming import rename as rename_id

    outcome = rename_id(
        old_id,
        new_id,
        today=parse_as_of(None),
        config=load_config_here(),
        files=files,
        dry_run=dry_run,
    )
    what = "KPI" if outcome.kind is IdKind.KPI else "objective"
    count = len(outcome.files)
    if dry_run:
        for f in outcome.files:
            where = visible(shown(f.path), line=True)
            for change in f.changes:  # file text: escaped like every other line we print
                print(f"{where}:{change.line}: -{visible(change.old, line=True)}")
                print(f"{where}:{change.line}: +{visible(change.new, line=True)}")
        print(
            f"dry run: would rename {what} '{old_id}' to '{new_id}' on {outcome.lines} "
            f"line(s) in {count} file(s); nothing written"
        )
        return
    for f in outcome.files:
        print(f"{visible(shown(f.path), line=True)}: {len(f.changes)} line(s)")
    print(f"renamed {what} '{old_id}' to '{new_id}' on {outcome.lines} line(s) in {count} file(s)")
