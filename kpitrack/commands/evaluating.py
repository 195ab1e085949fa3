"""Commands: status, overdue, actions, show — where each KPI stands as of a date.

Each command is a plain function; `kpitrack.cli` registers them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, assert_never

import typer

from kpitrack.commands.inputs import (
    evaluate_selected_and_all,
    load_for_evaluation,
    parse_as_of,
)
from kpitrack.commands.options import (
    AllOption,
    AsOfOption,
    FailOnOption,
    FilesOption,
    FormatOption,
    KpiOption,
    ObjectiveOption,
    OutputOption,
    OwnerOption,
    RevOption,
    TagOption,
    complete_kpi,
)
from kpitrack.commands.output import deprecated, emit, page_if_long
from kpitrack.domain.problems import ExitCode
from kpitrack.render.formats import OutputFormat, choose_format

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

    from kpitrack.domain.model import KpiResult
    from kpitrack.evaluation.rollup import Tree
    from kpitrack.evaluation.select import FailOn
    from kpitrack.render.formats import Output, Renderer


class SortKey(StrEnum):
    STATUS = "status"
    NAME = "name"
    OWNER = "owner"
    PROGRESS = "progress"
    GAP = "gap"
    DUE = "due"


def output_format(fmt: str | None, output: Path | None) -> OutputFormat:
    """--format, else the format -o's extension names, else text (a table)."""
    return choose_format(fmt, output, OutputFormat, default=OutputFormat.TEXT)


SORT_HELP = (
    "Row order: status (worst first), name, owner, progress (least first), gap (the "
    "largest gap relative to the KPI's own span |target - baseline| first, so USD and % "
    "compare fairly), due (soonest first). Default: this view's own order."
)
SortOption = Annotated[SortKey | None, typer.Option("--sort", help=SORT_HELP, case_sensitive=False)]


def _evaluate(
    files: Sequence[Path] | None,
    as_of_text: str | None,
    filters: Mapping[str, Sequence[str] | None],
    fail_on: Sequence[str] | None,
    show_all: bool = False,
    rev: str | None = None,
    *,
    tree: bool = False,
) -> tuple[list[KpiResult], FailOn, dt.date, Tree | None]:
    """Parse the shared options, load, evaluate, filter: (results worst first, --fail-on,
    as_of), and with `tree` the objective tree (its roll-up over every active KPI,
    pruned to the listed KPIs' paths when a filter is given)."""
    from kpitrack.evaluation.evaluate import worst_first
    from kpitrack.evaluation.select import parse_fail_on

    as_of = parse_as_of(as_of_text)
    wanted = parse_fail_on(fail_on)
    results, workspace, _config, everything = evaluate_selected_and_all(
        files, as_of, rev, **filters, show_all=show_all
    )
    view = None
    if tree:
        from kpitrack.evaluation.rollup import build_tree, prune
        from kpitrack.evaluation.select import split_values

        view = build_tree(workspace, everything)
        if any(filters.values()):
            named = split_values(filters.get("objectives"))
            view = prune(view, [r.kpi.id for r in results], named)
    return sorted(results, key=worst_first), wanted, as_of, view


def finish(
    listed: Sequence[KpiResult],
    fail_on: FailOn,
    output: Path | None,
    content: Output,
) -> None:
    """Write the output, then exit 1 when a listed KPI matches --fail-on."""
    from kpitrack.evaluation.select import fail_on_matches

    emit(content, output)
    matched = fail_on_matches(listed, fail_on)
    if matched:
        ids = ", ".join(r.kpi.id for r in matched)
        print(f"kpitrack: --fail-on matched {len(matched)} KPI(s): {ids}", file=sys.stderr)
        raise typer.Exit(int(ExitCode.PROBLEMS))


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


class ListView(StrEnum):
    """The three list commands: which KPIs each lists, in which order, rendered how."""

    STATUS = "status"
    OVERDUE = "overdue"
    ACTIONS = "actions"

    @property
    def help(self) -> str:
        match self:
            case ListView.STATUS:
                return (
                    "Where each KPI stands: latest value, target, progress, trend, expected, "
                    "status."
                )
            case ListView.OVERDUE:
                return (
                    "Overdue reports: missed periods, due since, days overdue (most overdue first)."
                )
            case ListView.ACTIONS:
                return "KPIs that need action, worst first, with their reasons and action plan."
            case _:
                assert_never(self)

    def listed(self, worst_first: Sequence[KpiResult]) -> list[KpiResult]:
        """The KPIs this view lists, in its own order, from all of them worst first."""
        match self:
            case ListView.STATUS:
                return list(worst_first)
            case ListView.OVERDUE:
                from kpitrack.evaluation.evaluate import overdue_first

                return sorted((r for r in worst_first if r.overdue is not None), key=overdue_first)
            case ListView.ACTIONS:
                return [r for r in worst_first if r.needs_action]
            case _:
                assert_never(self)

    def render(self, renderer: Renderer, listed: Sequence[KpiResult], as_of: dt.date) -> Output:
        match self:
            case ListView.STATUS:
                return renderer.status(listed, as_of=as_of)
            case ListView.OVERDUE:
                return renderer.overdue(listed, as_of=as_of)
            case ListView.ACTIONS:
                return renderer.actions(listed, as_of=as_of)
            case _:
                assert_never(self)


def list_command(view: ListView) -> Callable[..., None]:
    """The command function of one list view (status, overdue and actions take the same
    options)."""

    def run(
        files: FilesOption = None,
        as_of: AsOfOption = None,
        owner: OwnerOption = None,
        objective: ObjectiveOption = None,
        tag: TagOption = None,
        kpi: KpiOption = None,
        sort: SortOption = None,
        fmt: FormatOption = None,
        output: OutputOption = None,
        fail_on: FailOnOption = None,
        show_all: AllOption = False,
        rev: RevOption = None,
    ) -> None:
        filters = {"owners": owner, "objectives": objective, "tags": tag, "kpis": kpi}
        chosen = output_format(fmt, output)
        with_tree = view is ListView.STATUS and chosen is OutputFormat.JSON
        results, wanted, day, tree = _evaluate(
            files, as_of, filters, fail_on, show_all, rev, tree=with_tree
        )
        listed = sort_results(view.listed(results), sort)
        if tree is not None:  # `status --format json`: the roll-up beside the KPIs
            from kpitrack.render import json as json_format

            finish(listed, wanted, output, json_format.status(listed, as_of=day, tree=tree))
            return
        if chosen is not OutputFormat.TEXT:
            finish(listed, wanted, output, view.render(chosen.renderer(), listed, day))
            return
        # The table is built when it is drawn: off a terminal it is plain text made
        # without Rich (render/plaintext.py), the same as Rich draws it.
        from kpitrack.render.plaintext import PLAIN_VIEWS, Deferred

        def build() -> Output:
            return view.render(chosen.renderer(), listed, day)

        def plain(width: int) -> str | None:
            return PLAIN_VIEWS[view.value](listed, width)

        finish(listed, wanted, output, Deferred(build, plain))

    run.__name__ = run.__qualname__ = view.value
    run.__doc__ = view.help
    return run


status = list_command(ListView.STATUS)
overdue = list_command(ListView.OVERDUE)
actions = list_command(ListView.ACTIONS)


class HistoryShown(StrEnum):
    """show --history: which values the History table lists."""

    RECENT = "recent"
    ALL = "all"


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
    history: Annotated[
        HistoryShown,
        typer.Option(
            "--history",
            case_sensitive=False,
            help="The values the History table lists: recent (the last 12) or all.",
        ),
    ] = HistoryShown.RECENT,
    all_history: Annotated[
        bool,
        typer.Option("--all", hidden=True, help="Deprecated: --history all."),
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
    from kpitrack.evaluation.evaluate import evaluate_in_context
    from kpitrack.evaluation.select import parse_fail_on

    chosen = output_format(fmt, output)
    if all_history:
        deprecated("show --all", "show --history all")
        history = HistoryShown.ALL
    day, wanted = parse_as_of(as_of), parse_fail_on(fail_on)
    workspace, config = load_for_evaluation(files, day, rev)
    kpi = workspace.require_kpi(kpi_id)
    result = evaluate_in_context(workspace, kpi, as_of=day, config=config)
    content = chosen.renderer().show(result, all_history=history is HistoryShown.ALL)
    if pager and output is None and page_if_long(content):
        finish([result], wanted, None, "")
        return
    finish([result], wanted, output, content)
