"""checkin and amend (docs/writing.md, "The weekly check-in", "Correcting a value").

`checkin` is the one interactive command: this module asks the questions (the
prompting loop is shell work); what is owed, how an answer is checked and the one
write of all answers are `writing/checkin.py`'s. `amend` parses its options and calls
`writing/amending.amend`.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from kpitrack.commands.inputs import load_config_here, parse_as_of
from kpitrack.commands.options import (
    CommitOption,
    FilesOption,
    KpiOption,
    ObjectiveOption,
    OwnerOption,
    TagOption,
    ToOption,
    complete_kpi,
)
from kpitrack.commands.recording import shown
from kpitrack.domain.problems import ExitCode, UsageError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from kpitrack.git.gitrepo import Repo
    from kpitrack.writing.amending import AmendOutcome
    from kpitrack.writing.checkin import Answer, Checkin, KpiOwes, Owed

NOT_A_TERMINAL = (
    "checkin asks its questions on a terminal, and standard input is not one; "
    "in scripts use `kpitrack import FILE.csv` or `kpitrack record KPI VALUE`"
)
YES = ("y", "yes")
T = TypeVar("T")


ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="NAME",
        help="Who records the values. Default: `git config user.name` inside a git "
        "repository, else $USER.",
    ),
]

CheckinDryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what it would ask; ask nothing, write nothing."),
]

AmendKpiArgument = Annotated[
    str, typer.Argument(metavar="KPI", help="The KPI id.", autocompletion=complete_kpi)
]

AmendValueArgument = Annotated[
    str,
    typer.Argument(metavar="VALUE", help="The corrected value: a number, or a scale label."),
]

AmendDateOption = Annotated[
    str,
    typer.Option(
        "--date",
        metavar="DATE",
        help="The period whose value to correct: a date in it, or the period itself "
        "(2026-W48, 2026-10, 2026-Q3).",
    ),
]

AmendNoteOption = Annotated[
    str | None,
    typer.Option("--note", metavar="TEXT", help="Replace the note too (or add one)."),
]

AmendDryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show the entry before and after; write nothing.")
]


class _Quit(Exception):
    """`q` at a value prompt: end the walk, keep what was answered."""


def checkin(
    owners: OwnerOption = None,
    objectives: ObjectiveOption = None,
    tags: TagOption = None,
    kpis: KpiOption = None,
    by: ByOption = None,
    to: ToOption = None,
    files: FilesOption = None,
    dry_run: CheckinDryRunOption = False,
    commit: CommitOption = None,
) -> None:
    """Enter every value that is due, KPI by KPI, on a terminal: overdue periods first,
    then the current period. Enter skips, ? shows the history, q ends early; nothing is
    written before the summary is confirmed, then one atomic write per file."""
    from kpitrack.commands.gitcommit import commit_repository
    from kpitrack.writing.checkin import start_checkin
    from kpitrack.writing.recording import default_recorder

    if not dry_run and not sys.stdin.isatty():
        raise UsageError(NOT_A_TERMINAL)
    today = parse_as_of(None)
    config = load_config_here()
    repo_for_commit = commit_repository(commit, config, dry_run=dry_run)
    session = start_checkin(
        today=today,
        config=config,
        files=files,
        to=to,
        owners=owners,
        objectives=objectives,
        tags=tags,
        kpis=kpis,
    )
    if not session.kpis:
        print("nothing is due: every selected KPI has its values up to the current period")
        return
    if dry_run:
        _show_questions(session)
        return
    recorder = by if by is not None else default_recorder()
    try:
        answers = _walk(session, recorder)
        confirmed = _confirmed(answers)
    except KeyboardInterrupt:
        print("\ninterrupted: nothing written", file=sys.stderr)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    if confirmed:
        _write(session, answers, repo_for_commit, by)


def _confirmed(answers: list[Answer]) -> bool:
    """Show the summary of the answers and ask to write them; False (and why, printed)
    when there is nothing to write or the answer is not yes."""
    if not answers:
        print("no values entered; nothing written")
        return False
    names = {a.target: shown(a.target) for a in answers}
    from kpitrack.render.checkin import summary

    _show(summary(answers, names))
    from kpitrack.domain.textsafe import visible

    files_words = visible(", ".join(dict.fromkeys(names.values())), line=True)
    if _ask(f"Write {len(answers)} value(s) to {files_words}? [y/N] ").lower() not in YES:
        print("nothing written")
        return False
    return True


def _show(renderable: RenderableType) -> None:
    """A card or table: Rich on a terminal, plain text (no padding) elsewhere."""
    from kpitrack.commands.output import emit

    emit(renderable, None)


def _ask(prompt: str) -> str:
    """One answer, read as a line from the terminal in its own line mode (backspace,
    Ctrl-U and Ctrl-W edit). Not `input()`: GNU readline can miss a Ctrl-C that comes
    while it sets the terminal up, and then waits for a key. End of input (Ctrl-D)
    is an empty answer."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        print()
    return line.strip()


def _show_questions(session: Checkin) -> None:
    """--dry-run: each KPI's card and the questions it would ask. Off a terminal the
    cards are laid out as plain text directly (the bytes `_show` would print), one
    write per KPI, instead of a Rich table per card."""
    from kpitrack.commands.output import output_width, to_terminal
    from kpitrack.render.checkin import kpi_card, kpi_card_text

    plain = not to_terminal()
    width = output_width()
    total = len(session.kpis)
    for number, owes in enumerate(session.kpis, 1):
        card = kpi_card_text(owes, number, total, width) if plain else None
        if card is None:
            _show(kpi_card(owes, number, total))
            card = ""
        asks = "".join(
            f"  would ask: value for {owed.period.label} ({owed.due}), "
            f"date default {owed.period.label} (stored as {owed.date.isoformat()})\n"
            for owed in owes.owed
        )
        sys.stdout.write(card + asks)
    print(f"dry run: {session.questions} question(s) for {total} KPI(s); nothing written")


def _walk(session: Checkin, recorder: str | None) -> list[Answer]:
    """Ask for every owed value; returns the answers (in order)."""
    from kpitrack.render.checkin import kpi_card

    answers: list[Answer] = []
    total = len(session.kpis)
    try:
        for number, owes in enumerate(session.kpis, 1):
            _show(kpi_card(owes, number, total))
            for owed in owes.owed:
                got = _one(session, owes, owed, recorder, answers)
                if got is not None:
                    answers.append(got)
    except _Quit:
        print("ended early")
    return answers


def _until_valid(prompt: str, check: Callable[[str], T]) -> T:
    """Ask until `check` accepts the answer; its ValueError is shown and asked again."""
    while True:
        text = _ask(prompt)
        try:
            return check(text)
        except ValueError as exc:
            from kpitrack.domain.textsafe import visible

            print(visible(f"  error: {exc}", line=True))


def _one(
    session: Checkin,
    owes: KpiOwes,
    owed: Owed,
    recorder: str | None,
    answers: list[Answer],
) -> Answer | None:
    from kpitrack.domain.model import Kind
    from kpitrack.writing.checkin import (
        HISTORY,
        QUIT,
        answer,
        check_date,
        check_note,
        check_value,
    )

    kpi = owes.result.kpi
    hint = "a scale label" if kpi.kind is Kind.QUALITATIVE else "a number"
    prompt = f"{kpi.id} for {owed.period.label}: {hint}, Enter skips, ? history, q ends: "
    while True:
        text = _ask(prompt)
        if not text:
            print("  skipped")
            return None
        if text.lower() == QUIT:
            raise _Quit
        if text == HISTORY:
            from kpitrack.render.checkin import history

            mine = [a.measurement for a in answers if a.measurement.kpi == kpi.id]
            _show(history(owes.result, mine))
            continue
        try:
            value = check_value(kpi, text)
        except ValueError as exc:
            from kpitrack.domain.textsafe import visible

            print(visible(f"  error: {exc}", line=True))
            continue
        break
    day = _until_valid(
        f"  date [{owed.period.label}]: ", lambda t: check_date(t, owed, session.today)
    )
    note = _until_valid("  note (Enter for none): ", check_note)
    return answer(owes, owed, value, day, note, recorder)


def _write(session: Checkin, answers: list[Answer], repo: Repo | None, by: str | None) -> None:
    try:
        # The imports too: a Ctrl-C right after "y" lands while they load, before any
        # file is touched, and must be reported as such.
        from kpitrack.commands.gitcommit import commit_after_write
        from kpitrack.git.committing import values_message
        from kpitrack.render.checkin import statuses
        from kpitrack.writing.checkin import write_answers

        outcome = write_answers(session, answers)
    except KeyboardInterrupt:
        # Once a file is renamed into place, interrupts wait until the result is
        # printed (atomicfile.commit): one that gets here came before any rename.
        print("\ninterrupted before the write: nothing written", file=sys.stderr)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    for problem in outcome.warnings:
        print(problem.format(), file=sys.stderr)
    for written in outcome.written:
        if written.added:
            print(f"wrote {len(written.added)} value(s) to {shown(written.path)}")
    if outcome.skipped:
        print(f"left out {outcome.skipped} value(s) already recorded (same date, value, note)")
    _show(statuses(outcome.results, session.today))
    added = [m for w in outcome.written for m in w.added]
    kpis = [k.result.kpi for k in session.kpis]
    commit_after_write(repo, outcome.files, values_message("checkin", kpis, added), author=by)


# ---------------------------------------------------------------- amend


def amend(
    kpi_id: AmendKpiArgument,
    value: AmendValueArgument,
    date: AmendDateOption,
    note: AmendNoteOption = None,
    files: FilesOption = None,
    dry_run: AmendDryRunOption = False,
    commit: CommitOption = None,
) -> None:
    """Correct the value recorded for a period: the entry that counts for it is changed
    in place (the rest of the file kept byte for byte; the old value stays in git)."""
    from kpitrack.commands.gitcommit import commit_after_write, commit_repository
    from kpitrack.domain.textsafe import visible
    from kpitrack.evaluation.evaluate import format_value
    from kpitrack.git.committing import value_words
    from kpitrack.writing.amending import amend as amend_value
    from kpitrack.writing.recording import NEGATIVE_NUMBER

    if value.startswith("-") and not NEGATIVE_NUMBER.fullmatch(value):
        raise UsageError(f"no such option: {value}")
    today = parse_as_of(None)
    config = load_config_here()
    repo = commit_repository(commit, config, dry_run=dry_run)
    outcome = amend_value(
        kpi_id,
        value,
        date=date,
        today=today,
        config=config,
        note=note,
        files=files,
        dry_run=dry_run,
    )
    for problem in outcome.warnings:
        print(problem.format(), file=sys.stderr)
    if dry_run:
        _show_amend_lines(outcome)
        print("dry run: nothing written")
        return
    if not outcome.changed:
        print(
            visible(
                f"{outcome.kpi.id} for {outcome.period.label} in {_amend_where(outcome)} "
                f"already reads {format_value(outcome.kpi, outcome.new.value, unit=True)}; "
                "nothing written",
                line=True,
            )
        )
        return
    _show_amended(outcome, today)
    old_words = value_words(outcome.kpi, outcome.old).rsplit(" (", 1)[0].split(" ", 1)[1]
    message = f"kpitrack: amend {value_words(outcome.kpi, outcome.new)}, was {old_words}"
    commit_after_write(repo, [outcome.target], message, author=None)


def _amend_where(outcome: AmendOutcome) -> str:
    """`file:line` of the entry that amend changes (or would change)."""
    return f"{shown(outcome.target)}:{outcome.old.loc.line}"


def _show_amend_lines(outcome: AmendOutcome) -> None:
    """--dry-run: the entry's lines that change, each as `file:line: -old` then
    `file:line: +new`."""
    from kpitrack.domain.textsafe import visible

    before, after, first = outcome.before, outcome.after, outcome.old.loc.line
    for n in range(max(len(before), len(after))):
        old_line = before[n] if n < len(before) else None
        new_line = after[n] if n < len(after) else None
        if old_line == new_line:
            continue
        at = f"{shown(outcome.target)}:{first + n}"
        if old_line is not None:
            print(visible(f"{at}: -{old_line}", line=True))
        if new_line is not None:
            print(visible(f"{at}: +{new_line}", line=True))


def _show_amended(outcome: AmendOutcome, today: dt.date) -> None:
    """The change (`old → new`) and the KPI's status after it."""
    from kpitrack.domain.textsafe import visible
    from kpitrack.evaluation.evaluate import format_value, status_sentence

    kpi, where = outcome.kpi, _amend_where(outcome)
    old = format_value(kpi, outcome.old.value, unit=True)
    new = format_value(kpi, outcome.new.value, unit=True)
    print(
        visible(f"amended {kpi.id} for {outcome.period.label} in {where}: {old} → {new}", line=True)
    )
    when = "" if outcome.result.as_of == today else f" (as of {outcome.result.as_of.isoformat()})"
    print(visible(f"{kpi.id}: {outcome.result.status}{when} — {status_sentence(outcome.result)}"))
