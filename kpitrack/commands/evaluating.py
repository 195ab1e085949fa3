"""Commands: status, overdue, actions, show — where each KPI stands as of a date."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kpitrack.cli import (
    AllOption,
    AsOfOption,
    FailOnOption,
    FilesOption,
    KpiOption,
    ObjectiveOption,
    OutputFormat,
    OutputOption,
    OwnerOption,
    RevOption,
    TagOption,
    app,
    command,
    complete_kpi,
    drop_archived,
    emit,
    fail_on_matches,
    filter_results,
    load_for_evaluation,
    parse_as_of,
    parse_fail_on,
)
from kpitrack.problems import ExitCode, UsageError

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

    from rich.console import RenderableType

    from kpitrack.model import KpiResult


class SortKey(StrEnum):
    STATUS = "status"
    NAME = "name"
    OWNER = "owner"
    PROGRESS = "progress"
    GAP = "gap"
    DUE = "due"


FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        help="table, json, csv or markdown. Default: from -o's extension (.json, .csv, .md), "
        "else table.",
        case_sensitive=False,
        show_default=False,
    ),
]


def output_format(fmt: OutputFormat | None, output: Path | None) -> OutputFormat:
    """--format, else the format -o's extension names, else a table."""
    from kpitrack.cli import format_from_extension

    implied = format_from_extension(output, fmt.value if fmt else None)
    if implied == "html":
        raise UsageError("this command has no HTML format (only report has): use .md or .json")
    return OutputFormat(implied or "table")


SORT_HELP = (
    "Row order: status (worst first), name, owner, progress (least first), gap (the "
    "largest gap relative to the KPI's own span |target - baseline| first, so USD and %% "
    "compare fairly), due (soonest first)."
)
SortOption = Annotated[
    SortKey,
    typer.Option("--sort", help=SORT_HELP, case_sensitive=False),
]
ListSortOption = Annotated[
    SortKey | None,
    typer.Option(
        "--sort", help=SORT_HELP + " Default: this view's own order.", case_sensitive=False
    ),
]


def _evaluate(
    files: Sequence[Path] | None,
    as_of_text: str | None,
    filters: Mapping[str, Sequence[str] | None],
    fail_on: Sequence[str] | None,
    show_all: bool = False,
    rev: str | None = None,
) -> tuple[list[KpiResult], set[str], dt.date]:
    """Parse the shared options, load, evaluate, filter: (results worst first, --fail-on, as_of)."""
    from kpitrack.evaluate import evaluate, worst_first

    as_of = parse_as_of(as_of_text)
    wanted = parse_fail_on(fail_on)
    workspace, config = load_for_evaluation(files, as_of, rev)
    results = evaluate(workspace, as_of=as_of, config=config)
    results = drop_archived(filter_results(results, workspace, **filters), show_all)
    return sorted(results, key=worst_first), wanted, as_of


def _finish(
    listed: Sequence[KpiResult],
    wanted: set[str],
    output: Path | None,
    content: str | RenderableType,
) -> None:
    """Write the output, then exit 1 when a listed KPI matches --fail-on."""
    emit(content, output)
    matched = fail_on_matches(listed, wanted)
    if matched:
        ids = ", ".join(r.kpi.id for r in matched)
        print(f"kpitrack: --fail-on matched {len(matched)} KPI(s): {ids}", file=sys.stderr)
        raise typer.Exit(int(ExitCode.PROBLEMS))


def _render(
    fmt: OutputFormat,
    results: Sequence[KpiResult],
    as_of: dt.date,
    view: str,
    **json_extra: Any,
) -> str | RenderableType:
    """Pick the renderer for `view` (status, overdue, actions) in `fmt`."""
    if fmt is OutputFormat.JSON:
        from kpitrack.render.json import render_json

        return render_json(results, as_of=as_of, **json_extra)
    if fmt is OutputFormat.TABLE:
        from kpitrack.render import table

        table_renderer: Callable[[Sequence[KpiResult]], RenderableType]
        table_renderer = getattr(table, f"{view}_table")
        return table_renderer(results)
    module = importlib.import_module(f"kpitrack.render.{fmt.value}")  # csv or markdown
    renderer: Callable[[Sequence[KpiResult]], str] = getattr(module, f"render_{view}")
    return renderer(results)


def relative_gap(r: KpiResult) -> float | None:
    """The gap as a fraction of the KPI's span |target - baseline| (of |target| without a
    baseline or span), so gaps in different units compare; None without a gap."""
    if r.gap is None:
        return None
    target = r.kpi.position(r.kpi.target)
    base = r.kpi.position(r.baseline) if r.baseline is not None else None
    span = abs(target - base) if base is not None else 0.0
    if not span:
        span = abs(target)
    return r.gap / span if span else r.gap


def sort_results(results: Sequence[KpiResult], key: SortKey | None) -> list[KpiResult]:
    """Results (given worst first) in the order asked for; ties keep the given order."""
    if key is None:
        return list(results)
    inf = float("inf")

    def gap_key(r: KpiResult) -> float:
        gap = relative_gap(r)
        return inf if gap is None else -gap

    keys: dict[SortKey, Callable[[KpiResult], Any]] = {
        SortKey.STATUS: lambda r: 0,
        SortKey.NAME: lambda r: r.kpi.name.casefold(),
        SortKey.OWNER: lambda r: (r.kpi.owner is None, (r.kpi.owner or "").casefold()),
        SortKey.PROGRESS: lambda r: inf if r.progress is None else r.progress,
        SortKey.GAP: gap_key,
        SortKey.DUE: lambda r: (r.kpi.due is None, r.kpi.due or 0),
    }
    return sorted(results, key=keys[key])


@app.command()
@command
def status(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    kpi: KpiOption = None,
    sort: SortOption = SortKey.STATUS,
    fmt: FormatOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
    show_all: AllOption = False,
    rev: RevOption = None,
) -> None:
    """Where each KPI stands: latest value, target, progress, trend, expected, status."""
    filters = {"owners": owner, "objectives": objective, "tags": tag, "kpis": kpi}
    fmt = output_format(fmt, output)
    results, wanted, day = _evaluate(files, as_of, filters, fail_on, show_all, rev)
    results = sort_results(results, sort)
    from kpitrack.model import StatusCounts

    summary = StatusCounts.of(results).as_dict()
    content = _render(fmt, results, day, "status", summary=summary)
    _finish(results, wanted, output, content)


@app.command()
@command
def overdue(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    kpi: KpiOption = None,
    sort: ListSortOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
    show_all: AllOption = False,
    rev: RevOption = None,
) -> None:
    """Overdue reports: missed periods, due since, days overdue (most overdue first)."""
    filters = {"owners": owner, "objectives": objective, "tags": tag, "kpis": kpi}
    from kpitrack.evaluate import overdue_first

    fmt = output_format(fmt, output)
    results, wanted, day = _evaluate(files, as_of, filters, fail_on, show_all, rev)
    listed = sorted((r for r in results if r.overdue is not None), key=overdue_first)
    listed = sort_results(listed, sort)
    _finish(listed, wanted, output, _render(fmt, listed, day, "overdue"))


@app.command()
@command
def actions(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    kpi: KpiOption = None,
    sort: ListSortOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
    show_all: AllOption = False,
    rev: RevOption = None,
) -> None:
    """KPIs that need action, worst first, with their reasons and action plan."""
    filters = {"owners": owner, "objectives": objective, "tags": tag, "kpis": kpi}
    fmt = output_format(fmt, output)
    results, wanted, day = _evaluate(files, as_of, filters, fail_on, show_all, rev)
    listed = sort_results([r for r in results if r.needs_action], sort)
    _finish(listed, wanted, output, _render(fmt, listed, day, "actions"))


@app.command()
@command
def show(
    kpi_id: Annotated[
        str, typer.Argument(metavar="KPI", help="The KPI id.", autocompletion=complete_kpi)
    ],
    files: FilesOption = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
    rev: RevOption = None,
    all_history: Annotated[
        bool, typer.Option("--all", help="The whole history, not only the last 12 values.")
    ] = False,
    pager: Annotated[
        bool,
        typer.Option(
            "--pager/--no-pager",
            help="On a terminal, page output longer than the screen through $PAGER "
            "(default: less), as git does.",
        ),
    ] = True,
) -> None:
    """One KPI in depth: definition, milestones, history, chart, and why its status."""
    from kpitrack.evaluate import evaluate_kpi

    fmt = output_format(fmt, output)
    day, wanted = parse_as_of(as_of), parse_fail_on(fail_on)
    workspace, config = load_for_evaluation(files, day, rev)
    kpi = workspace.require_kpi(kpi_id)
    result = evaluate_kpi(kpi, workspace.measurements, as_of=day, config=config)
    content = _render_show(fmt, result, all_history=all_history)
    if pager and output is None and page_if_long(content):
        _finish([result], wanted, None, "")
        return
    _finish([result], wanted, output, content)


def page_if_long(content: str | RenderableType) -> bool:
    """On a terminal, show output taller than the screen through $PAGER (less -R by
    default; git's habit); whether it was paged."""
    import os

    from kpitrack.cli import make_console

    if not sys.stdout.isatty() or not sys.stdin.isatty():
        return False
    console = make_console()
    with console.capture() as capture:
        console.print(content, end="" if isinstance(content, str) else "\n")
    text = capture.get()
    if text.count("\n") < console.height - 1:
        return False
    os.environ.setdefault("LESS", "FRX")  # like git: quit when it fits, keep colours
    import pydoc

    pydoc.pager(text)
    return True


def _render_show(
    fmt: OutputFormat, result: KpiResult, *, all_history: bool = False
) -> str | RenderableType:
    if fmt is OutputFormat.JSON:
        from kpitrack.render.json import definition_json, measurement_json, render_json

        history = [measurement_json(m) for m in result.history]
        return render_json(
            [result],
            as_of=result.as_of,
            definition=definition_json(result.kpi),
            history=history,
        )
    if fmt is OutputFormat.CSV:
        from kpitrack.render.csv import render_show
    elif fmt is OutputFormat.MARKDOWN:
        from kpitrack.render.markdown import render_show
    else:
        from kpitrack.render.table import show_view

        return show_view(result, all_history=all_history)
    return render_show(result)
