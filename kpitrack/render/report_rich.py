"""The report for a terminal: Rich renderables (the caller prints them).

What the report shows is `report_text.plan`; this module turns it into Rich's texts and
`FittedTable`s. User text is always wrapped in `Text`, never parsed as markup.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from kpitrack.render.report_text import Cell, Para, Part, Styled, definitions_plan, plan
from kpitrack.render.table import FittedTable, keep_column, wrap_column
from kpitrack.reports.digest import Report


def _text(cell: Cell) -> Text:
    if isinstance(cell, str):
        return Text(cell)
    if isinstance(cell, Styled):
        return Text(cell.text, style=cell.style)
    return Text.assemble(
        *(Text(p.text, style=p.style) if isinstance(p, Styled) else p for p in cell.parts)
    )


def _renderable(part: Part) -> RenderableType:
    if isinstance(part, Para):
        return Text(part.text, style=part.style)
    columns = [
        (keep_column if col.keep else wrap_column)(
            col.name, [_text(c) for c in col.cells], **col.options
        )
        for col in part.columns
    ]
    return FittedTable(
        columns,
        part.drop_order,
        gap=part.gap,
        sections=part.sections,
        row_styles=part.row_styles,
    )


def render_report_rich(report: Report) -> RenderableType:
    return Group(*(_renderable(part) for part in plan(report)))


def definitions_section(report: Report) -> list[RenderableType]:
    """The "Definitions changed since …" section: history rows, moved goalposts in red."""
    return [_renderable(part) for part in definitions_plan(report)]


def report(digest: Report) -> RenderableType:
    """`kpitrack report` for the terminal (the `table` format): the entry point
    `render.formats.ReportFormat` picks."""
    return render_report_rich(digest)
