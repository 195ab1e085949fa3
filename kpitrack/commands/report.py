"""`kpitrack report`: the weekly digest for cron (see docs/report.md)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kpitrack.cli import (
    AsOfOption,
    FailOnOption,
    FilesOption,
    KpiOption,
    ObjectiveOption,
    OutputOption,
    OwnerOption,
    TagOption,
    app,
    command,
    emit,
    fail_on_matches,
    filter_results,
    format_from_extension,
    load_for_evaluation,
    make_console,
    parse_as_of,
    parse_fail_on,
    renderable_to_text,
)
from kpitrack.problems import ExitCode, UsageError

if TYPE_CHECKING:
    from rich.console import RenderableType


class ReportFormat(StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"


PLAIN_WIDTH = 100


def emit_table(renderable: RenderableType, output: Path | None) -> None:
    """Rich on a terminal; elsewhere (pipe, cron mail, -o FILE) plain text of a fixed width,
    without colour or trailing spaces, so that the output does not depend on the environment."""
    if output is None and make_console().is_terminal:
        emit(renderable, None)
        return
    text = renderable_to_text(renderable, width=PLAIN_WIDTH)
    emit("\n".join(line.rstrip() for line in text.splitlines()) + "\n", output)


@app.command("report")
@command
def report(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Report changes after this date (YYYY-MM-DD). Default: a week before --as-of.",
        ),
    ] = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    kpi: KpiOption = None,
    output_format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            help="table (terminal), markdown (wikis, chat), html (one self-contained page) "
            "or json. Default: from -o's extension (.md, .html, .json), else table.",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "-q",
            "--quiet",
            help="Print nothing at all (exit 0) unless some KPI needs action. "
            "-o FILE is still written.",
        ),
    ] = False,
) -> None:
    """The weekly digest for cron: summary, what changed, status by objective, overdue
    reports and what needs action."""
    from kpitrack.report import build_report, default_since

    implied = format_from_extension(output, output_format.value if output_format else None)
    if implied == "csv":
        raise UsageError("report has no CSV format: use -o with .md, .html or .json")
    output_format = ReportFormat(implied or "table")

    day = parse_as_of(as_of)
    start = parse_as_of(since, "--since") if since is not None else default_since(day)
    if start > day:
        raise UsageError(f"--since {start.isoformat()} is after --as-of {day.isoformat()}")
    wanted = parse_fail_on(fail_on)
    workspace, config = load_for_evaluation(files, day)

    from kpitrack.evaluate import evaluate

    results = filter_results(
        evaluate(workspace, as_of=day, config=config),
        workspace,
        owners=owner,
        objectives=objective,
        tags=tag,
        kpis=kpi,
    )
    digest = build_report(workspace, as_of=day, since=start, config=config, results=results)

    # --quiet: when nothing needs action, print nothing and exit 0 (-o FILE is still written,
    # so a published report is never stale).
    silent = quiet and not digest.needs_action
    if output is not None or not silent:
        if output_format is ReportFormat.TABLE:
            from kpitrack.render.report_rich import render_report_rich

            emit_table(render_report_rich(digest), output)
        elif output_format is ReportFormat.MARKDOWN:
            from kpitrack.render.report_markdown import render_report_markdown

            emit(render_report_markdown(digest), output)
        elif output_format is ReportFormat.HTML:
            from kpitrack.render.report_html import render_report_html

            emit(render_report_html(digest), output)
        else:
            from kpitrack.render.report_json import render_report_json

            emit(render_report_json(digest), output)

    matched = fail_on_matches(digest.results, wanted)
    if matched and not silent:
        ids = ", ".join(r.kpi.id for r in matched)
        print(f"kpitrack: --fail-on matched {len(matched)} KPI(s): {ids}", file=sys.stderr)
        raise typer.Exit(int(ExitCode.PROBLEMS))
