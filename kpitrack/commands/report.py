"""`kpitrack report`: the weekly digest for cron (see docs/report.md)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kpitrack.commands.inputs import evaluate_selected, parse_as_of, parse_since
from kpitrack.commands.options import (
    AllOption,
    AsOfOption,
    FailOnOption,
    FilesOption,
    KpiOption,
    ObjectiveOption,
    OutputOption,
    OwnerOption,
    ReportFormatOption,
    RevOption,
    TagOption,
    complete_date_word,
)
from kpitrack.commands.output import emit, emit_chunks, renderable_to_text, to_terminal
from kpitrack.domain.problems import ExitCode, UsageError
from kpitrack.render.formats import ReportFormat, choose_format

if TYPE_CHECKING:
    from kpitrack.domain.model import Config
    from kpitrack.evaluation.select import FailOn
    from kpitrack.render.formats import Output
    from kpitrack.reports.digest import Report

# The report's table format off a terminal (pipe, cron mail, -o FILE, the mail's text
# part): plain text this wide whatever $COLUMNS says, so a mail never depends on the
# environment it was sent from.
REPORT_WIDTH = 100
# The mail's plain-text part: lines of at most 78 characters (RFC 5322's recommended
# limit), so no mail client rewraps the tables.
MAIL_WIDTH = 78


def email_message(digest: Report, to: list[str], sender: str) -> Iterator[str]:
    """The whole mail, in pieces to write as they come: the table format's plain text
    and the HTML format as parts."""
    from kpitrack.render import report_html
    from kpitrack.render.report_email import report_email_chunks

    html = report_html.report(digest)  # first: the text's rendering then fits in what it freed
    return report_email_chunks(
        digest,
        text=plain_report(digest, MAIL_WIDTH),
        html=html,
        to=to,
        sender=sender,
        now=dt.datetime.now().astimezone(),
    )


def _cell_width(character: str) -> int:
    """Rich's width of a character (the plain text's measure of what is not ASCII)."""
    from rich.cells import cell_len

    return cell_len(character)


def plain_report(digest: Report, width: int) -> str:
    """The table format as plain text `width` wide: drawn from strings when it can be
    (`report_text.plain_text`), else by Rich."""
    from kpitrack.render import report_text

    text = report_text.plain_text(digest, width, _cell_width)
    if text is None:
        from kpitrack.render import report_rich

        text = renderable_to_text(report_rich.report(digest), width=width)
    return text


def default_sender() -> str:
    """`kpitrack <user@host>` when neither --from nor mail_from is given."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "kpitrack"
    return f"kpitrack <{user}@{socket.getfqdn() or 'localhost'}>"


def mail_addresses(
    to: list[str] | None, sender: str | None, config: Config
) -> tuple[list[str], str]:
    """Recipients and sender: the options, else kpitrack.toml's mail_to / mail_from; the
    sender else $EMAIL, else `kpitrack <user@host>` with a warning on stderr."""
    from kpitrack.render.report_email import AddressError, parse_addresses

    def parse(values: Sequence[str], where: str) -> list[str]:
        try:
            return parse_addresses(values)
        except AddressError as exc:
            raise UsageError(f"{where}: {exc}") from None

    toml = "kpitrack.toml"
    recipients = parse(to, "--mail-to") if to else parse(config.mail_to, f"{toml}: mail_to")
    if not recipients:
        raise UsageError(
            "--format email needs a recipient: --mail-to ADDRESS, or mail_to in kpitrack.toml"
        )
    import os

    if sender is not None:
        senders = parse([sender], "--from")
    elif config.mail_from is not None:
        senders = parse([config.mail_from], f"{toml}: mail_from")
    elif os.environ.get("EMAIL", "").strip():
        senders = parse([os.environ["EMAIL"]], "$EMAIL")
    else:
        senders = [default_sender()]
        print(
            f"kpitrack: warning: the mail is from {senders[0]}: set --from, mail_from in "
            "kpitrack.toml or $EMAIL",
            file=sys.stderr,
        )
    if len(senders) != 1:
        raise UsageError("--from: give exactly one sender address")
    return recipients, senders[0]


SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="DATE",
        help="Report changes after this date (YYYY-MM-DD), or from the first day of a "
        "period (2026-W47, 2026-11) or of yesterday, last-week, last-month (counted "
        "from --as-of). Default: a week before --as-of.",
        autocompletion=complete_date_word,
    ),
]
MailToOption = Annotated[
    list[str] | None,
    typer.Option(
        "--mail-to",
        metavar="ADDRESS",
        help="--format email: recipient (repeatable or comma-separated). "
        "Default: mail_to in kpitrack.toml.",
    ),
]
OldToOption = Annotated[
    list[str] | None,
    typer.Option("--to", metavar="ADDRESS", hidden=True, help="Deprecated: --mail-to."),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="ADDRESS",
        help="--format email: sender. Default: mail_from in kpitrack.toml, else $EMAIL, "
        "else kpitrack <user@host> (with a warning).",
    ),
]
SinceRevOption = Annotated[
    str | None,
    typer.Option(
        "--since-rev",
        metavar="REV",
        help="List definition changes made after this git revision instead of --since.",
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "-q",
        "--quiet",
        help="Print nothing at all (exit 0) unless some KPI needs action. "
        "-o FILE is still written.",
    ),
]


def _recipients(mail_to: list[str] | None, old_to: list[str] | None) -> list[str] | None:
    """--mail-to, with the deprecated --to (which warns) added."""
    if not old_to:
        return mail_to
    from kpitrack.commands.output import deprecated

    deprecated("report --to", "report --mail-to (--to names a FILE on the writers)")
    return [*(mail_to or []), *old_to]


def _format(
    fmt: str | None, output: Path | None, mail_options: bool
) -> tuple[ReportFormat, Path | None]:
    """--format, else -o's extension, else text (`-o -` is stdout); --mail-to and --from
    (`mail_options`) go with email only."""
    output_format = choose_format(fmt, output, ReportFormat, default=ReportFormat.TEXT)
    if output_format is not ReportFormat.EMAIL and mail_options:
        raise UsageError("--mail-to and --from go with --format email")
    return output_format, None if output is not None and str(output) == "-" else output


def _window(as_of: str | None, since: str | None) -> tuple[dt.date, dt.date]:
    from kpitrack.reports.digest import default_since

    day = parse_as_of(as_of)
    start = parse_since(since, day) if since is not None else default_since(day)
    if start > day:
        raise UsageError(f"--since {start.isoformat()} is after --as-of {day.isoformat()}")
    return day, start


def _fail_on(digest: Report, wanted: FailOn, silent: bool) -> None:
    """--fail-on: exit 1 naming the KPIs that match (not under a silent --quiet)."""
    from kpitrack.evaluation.select import fail_on_matches

    matched = fail_on_matches(digest.results, wanted)
    if matched and not silent:
        ids = ", ".join(r.kpi.id for r in matched)
        print(f"kpitrack: --fail-on matched {len(matched)} KPI(s): {ids}", file=sys.stderr)
        raise typer.Exit(int(ExitCode.PROBLEMS))


def _publish(
    digest: Report, output_format: ReportFormat, output: Path | None, mail: tuple[list[str], str]
) -> None:
    renderer = output_format.renderer()
    if renderer is None:  # the mail: written in pieces, never held whole
        emit_chunks(email_message(digest, *mail), output)
        return
    if output_format is ReportFormat.TEXT and (output is not None or not to_terminal()):
        # Plain text for a file or a pipe: what `emit` would make of the renderable.
        emit(plain_report(digest, REPORT_WIDTH), output)
        return
    content: Output = renderer.report(digest)
    emit(content, output, width=REPORT_WIDTH)


def report(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    since: SinceOption = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    kpi: KpiOption = None,
    fmt: ReportFormatOption = None,
    mail_to: MailToOption = None,
    old_to: OldToOption = None,
    sender: FromOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
    rev: RevOption = None,
    since_rev: SinceRevOption = None,
    quiet: QuietOption = False,
    show_all: AllOption = False,
) -> None:
    """The weekly digest for cron: summary, what changed, status by objective, overdue
    reports and what needs action."""
    from kpitrack.evaluation.select import parse_fail_on
    from kpitrack.reports.digest import GitScope, build_report

    to = _recipients(mail_to, old_to)
    output_format, output = _format(fmt, output, bool(to) or sender is not None)
    day, start = _window(as_of, since)
    wanted = parse_fail_on(fail_on)
    results, workspace, config = evaluate_selected(
        files, day, rev, owners=owner, objectives=objective, tags=tag, kpis=kpi, show_all=show_all
    )
    mail = mail_addresses(to, sender, config) if output_format is ReportFormat.EMAIL else ([], "")
    scope = GitScope(tuple(files) if files else (), rev, since_rev)
    digest = build_report(
        workspace, as_of=day, since=start, config=config, results=results, git=scope
    )
    # --quiet: when nothing needs action, print nothing and exit 0 (-o FILE is still written,
    # so a published report is never stale).
    silent = quiet and not digest.needs_action
    if output is not None or not silent:
        _publish(digest, output_format, output, mail)
    _fail_on(digest, wanted, silent)
