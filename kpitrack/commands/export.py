"""Command: export — tidy CSV or JSON Lines for DuckDB, a warehouse or a BI tool."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import typer

from kpitrack.commands.inputs import evaluate_selected, parse_as_of
from kpitrack.commands.options import (
    AsOfOption,
    ExportFormatOption,
    FilesOption,
    KpiOption,
    ObjectiveOption,
    OutputOption,
    OwnerOption,
    RevOption,
    TagOption,
)
from kpitrack.commands.output import emit_chunks
from kpitrack.render.formats import ExportFormat, choose_format


def export(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    kpi: KpiOption = None,
    fmt: ExportFormatOption = None,
    evaluations: Annotated[
        bool,
        typer.Option(
            "--evaluations", help="One row per KPI evaluation instead of per measurement."
        ),
    ] = False,
    output: OutputOption = None,
    rev: RevOption = None,
) -> None:
    """Tidy rows: one per measurement with its KPI's metadata (or per KPI evaluation)."""
    from kpitrack.reports.export import (
        EVALUATION_COLUMNS,
        evaluation_rows,
        measurement_csv,
        measurement_jsonl,
        to_csv,
        to_jsonl,
    )

    chosen = choose_format(fmt, output, ExportFormat, default=ExportFormat.CSV)
    target = None if output is not None and str(output) == "-" else output
    day = parse_as_of(as_of)
    # Archived KPIs are exported too: their history is data.
    results, workspace, _config = evaluate_selected(
        files, day, rev, owners=owner, objectives=objective, tags=tag, kpis=kpi, show_all=True
    )
    columns: tuple[str, ...]
    rows: Iterable[dict[str, Any]]
    ids = {r.kpi.id for r in results}
    if evaluations:
        rows, columns = evaluation_rows(results, day), EVALUATION_COLUMNS
    else:  # one row per measurement, made without a dict per row
        made = measurement_csv if chosen is ExportFormat.CSV else measurement_jsonl
        emit_chunks(made(workspace, ids), target)
        return
    # Streamed: the output is never held whole in memory.
    emit_chunks(to_csv(rows, columns) if chosen is ExportFormat.CSV else to_jsonl(rows), target)
