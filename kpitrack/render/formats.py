"""The output formats and which renderer module serves each.

Every view format is one module with the same functions (`Renderer`): `table`
(Rich renderables), `json`, `csv` and `markdown` (strings). The weekly report has
its own set of formats (`ReportFormat`). The enums' methods pick the module with
a `match` that ends in `assert_never`, so mypy proves every format has a renderer
and every renderer has every view: adding a format means adding a member, a module
and a `case`, and the type checker points at whatever is missing.

Modules are imported inside the branches, so `kpitrack --help` imports none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, assert_never

if TYPE_CHECKING:
    import datetime as dt

    from rich.console import RenderableType

    from kpitrack.domain.model import KpiResult
    from kpitrack.git.changes import Change, DiffRow
    from kpitrack.reports.digest import Report

    Output = str | RenderableType


class Renderer(Protocol):
    """What every view format module provides (module-level functions)."""

    def status(self, results: Sequence[KpiResult], /, *, as_of: dt.date) -> Output:
        """`kpitrack status`: every listed KPI, worst first."""

    def overdue(self, results: Sequence[KpiResult], /, *, as_of: dt.date) -> Output:
        """`kpitrack overdue`: the KPIs whose reports are overdue."""

    def actions(self, results: Sequence[KpiResult], /, *, as_of: dt.date) -> Output:
        """`kpitrack actions`: the KPIs that need action, with their plans."""

    def show(self, result: KpiResult, /, *, all_history: bool) -> Output:
        """`kpitrack show`: one KPI in depth."""

    def history(self, changes: Sequence[Change], /) -> Output:
        """`kpitrack history`: definition changes in git."""

    def diff(self, rows: Sequence[DiffRow], /) -> Output:
        """`kpitrack diff`: KPIs changed between two revisions."""


class ReportRenderer(Protocol):
    """What every report format module provides."""

    def report(self, report: Report, /) -> Output:
        """`kpitrack report`: the weekly digest."""


class OutputFormat(StrEnum):
    """--format of status, overdue, actions, show, history and diff."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"

    def renderer(self) -> Renderer:
        """The module that renders every view in this format."""
        match self:
            case OutputFormat.TABLE:
                from kpitrack.render import table

                return table
            case OutputFormat.JSON:
                from kpitrack.render import json

                return json
            case OutputFormat.CSV:
                from kpitrack.render import csv

                return csv
            case OutputFormat.MARKDOWN:
                from kpitrack.render import markdown

                return markdown
            case _:
                assert_never(self)


class ReportFormat(StrEnum):
    """--format of report."""

    TABLE = "table"
    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"
    EMAIL = "email"

    def renderer(self) -> ReportRenderer | None:
        """The module that renders the report in this format; None for `email`, which is
        not a rendering of its own but a whole message wrapping the table format's plain
        text and the HTML format (`render.report_email`)."""
        match self:
            case ReportFormat.TABLE:
                from kpitrack.render import report_rich

                return report_rich
            case ReportFormat.MARKDOWN:
                from kpitrack.render import report_markdown

                return report_markdown
            case ReportFormat.HTML:
                from kpitrack.render import report_html

                return report_html
            case ReportFormat.JSON:
                from kpitrack.render import report_json

                return report_json
            case ReportFormat.EMAIL:
                return None
            case _:
                assert_never(self)


FORMAT_BY_EXTENSION = {
    ".json": "json",
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
