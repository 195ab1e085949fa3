"""Commands that read git history: history and diff (docs/git.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from kpitrack.commands.inputs import load_config_here
from kpitrack.commands.options import FilesOption, FormatOption, OutputOption, complete_kpi
from kpitrack.commands.output import emit
from kpitrack.render.formats import OutputFormat, choose_format


def history_command(
    kpi_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[KPI]", help="Only this KPI (renames followed).", autocompletion=complete_kpi
        ),
    ] = None,
    files: FilesOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Every change to KPI definitions in git history, with moved goalposts flagged."""
    from kpitrack.git.changes import follow_id, history

    chosen = choose_format(fmt, output, OutputFormat, default=OutputFormat.TEXT)
    config = load_config_here()
    known: set[str] = set()
    changes = history(files or [], config, known=known)
    if kpi_id is not None:
        if kpi_id not in known:
            from kpitrack.domain.problems import UsageError
            from kpitrack.domain.suggest import did_you_mean

            raise UsageError(
                f"no KPI '{kpi_id}' in the git history{did_you_mean(kpi_id, sorted(known))}"
            )
        changes = follow_id(changes, kpi_id)
    emit(chosen.renderer().history(changes), output)


def diff_command(
    rev: Annotated[str, typer.Argument(metavar="REV", help="The older git revision.")],
    rev2: Annotated[
        str | None,
        typer.Argument(metavar="[REV2]", help="The newer revision. Default: the working tree."),
    ] = None,
    files: FilesOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """KPIs and objectives added, removed, renamed and redefined between two revisions."""
    from kpitrack.git.changes import diff_revisions

    chosen = choose_format(fmt, output, OutputFormat, default=OutputFormat.TEXT)
    config = load_config_here()
    emit(chosen.renderer().diff(diff_revisions(files or [], config, rev, rev2)), output)
