"""Command: tree — the objective tree with its roll-up (docs/evaluation.md, "Objective
tree and roll-up")."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, assert_never

import typer

from kpitrack.commands.evaluating import finish
from kpitrack.commands.inputs import format_from_extension, load_for_evaluation, parse_as_of
from kpitrack.commands.options import (
    AsOfOption,
    FailOnOption,
    FilesOption,
    ObjectiveOption,
    OutputOption,
    OwnerOption,
    RevOption,
    TagOption,
)
from kpitrack.domain.problems import UsageError


class TreeFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


TreeFormatOption = Annotated[
    TreeFormat | None,
    typer.Option(
        "--format",
        help="table (default on a terminal), json or markdown; default from -o's extension.",
        case_sensitive=False,
    ),
]


def tree(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    fmt: TreeFormatOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
    rev: RevOption = None,
) -> None:
    """The objective tree: each objective's status, progress, owner and KPI counts, its
    KPIs under it and each KPI's drivers under that KPI. Filters keep the path to the
    root; --objective keeps that objective's whole subtree."""
    from kpitrack.evaluation.evaluate import evaluate
    from kpitrack.evaluation.rollup import objective_tree
    from kpitrack.evaluation.select import parse_fail_on

    implied = format_from_extension(output, fmt.value if fmt else None)
    if implied not in (None, *TreeFormat):
        raise UsageError(f"tree has no {implied} format: use .md or .json")
    chosen = TreeFormat(implied or "table")
    day, wanted = parse_as_of(as_of), parse_fail_on(fail_on)
    workspace, config = load_for_evaluation(files, day, rev)
    results = evaluate(workspace, as_of=day, config=config)
    view = objective_tree(workspace, results, owners=owner, objectives=objective, tags=tag)
    match chosen:
        case TreeFormat.TABLE:
            from kpitrack.render import table

            content = table.tree(view, as_of=day)
        case TreeFormat.JSON:
            from kpitrack.render import json

            content = json.tree(view, as_of=day)
        case TreeFormat.MARKDOWN:
            from kpitrack.render import markdown

            content = markdown.tree(view, as_of=day)
        case _:
            assert_never(chosen)
    shown = [k.result for node in view.objectives() for k in node.kpis]
    finish([*shown, *(k.result for k in view.unassigned)], wanted, output, content)
