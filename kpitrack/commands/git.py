"""Commands that read git history: history (SPEC §6)."""

from __future__ import annotations

from typing import Annotated

import typer

from kpitrack.cli import FilesOption, OutputOption, app, command, emit, load_config_here
from kpitrack.render.history import HistoryFormat, render_history


@app.command("history")
@command
def history_command(
    kpi_id: Annotated[
        str | None, typer.Argument(metavar="[KPI]", help="Only this KPI (renames followed).")
    ] = None,
    files: FilesOption = None,
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", help="Output format.", case_sensitive=False)
    ] = HistoryFormat.TABLE,
    output: OutputOption = None,
) -> None:
    """Every change to KPI definitions in git history, with moved goalposts flagged."""
    from kpitrack.history import follow_id, history

    config = load_config_here()
    changes = history(files or [], config)
    if kpi_id is not None:
        changes = follow_id(changes, kpi_id)
    emit(render_history(changes, fmt), output)
