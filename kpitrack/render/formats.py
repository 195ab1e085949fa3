"""The output formats: one vocabulary (`Format`), each command's subset of it, and which
renderer module serves each.

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
from typing import TYPE_CHECKING, Protocol, TypeVar, assert_never

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

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

    TEXT = "text"
    TABLE = "text"  # the old spelling of the default (an alias: `TABLE is TEXT`)
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"

    def renderer(self) -> Renderer:
        """The module that renders every view in this format."""
        match self:
            case OutputFormat.TEXT | OutputFormat.TABLE:
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

    TEXT = "text"
    TABLE = "text"  # the old spelling of the default
    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"
    EMAIL = "email"

    def renderer(self) -> ReportRenderer | None:
        """The module that renders the report in this format; None for `email`, which is
        not a rendering of its own but a whole message wrapping the table format's plain
        text and the HTML format (`render.report_email`)."""
        match self:
            case ReportFormat.TEXT | ReportFormat.TABLE:
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


class CheckFormat(StrEnum):
    """--format of check."""

    TEXT = "text"
    JSON = "json"


class CollectFormat(StrEnum):
    """--format of collect."""

    TEXT = "text"
    JSON = "json"


class ExportFormat(StrEnum):
    """--format of export."""

    CSV = "csv"
    JSONL = "jsonl"


# ---------------------------------------------------------------- the one vocabulary

F = TypeVar("F", bound=StrEnum)


class Format(StrEnum):
    """Every --format value any command takes; each command takes a subset (the enums
    above, whose values all come from here). `text` is the default of the commands that
    print for people: a Rich table on a terminal, the same as plain text elsewhere."""

    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    MARKDOWN = "markdown"
    HTML = "html"
    EMAIL = "email"


FORMAT_ALIASES = {"table": Format.TEXT, "md": Format.MARKDOWN, "ndjson": Format.JSONL}
"""Other spellings accepted for a format: `table` (the old name of `text`), short names."""

FORMAT_BY_EXTENSION = {
    ".txt": Format.TEXT,
    ".text": Format.TEXT,
    ".json": Format.JSON,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".csv": Format.CSV,
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".eml": Format.EMAIL,
}
"""The format each known `-o` extension names (docs/terminal.md "Output files")."""

SUBSETS: tuple[type[StrEnum], ...] = (
    OutputFormat,
    ReportFormat,
    CheckFormat,
    CollectFormat,
    ExportFormat,
)


def format_names(subset: type[StrEnum]) -> list[str]:
    """The values a command's --format takes, in its enum's order (aliases left out)."""
    return [member.value for member in subset]


def parse_format(text: str, subset: type[F]) -> F:
    """A --format value in `subset`: any case, `table` for `text`, `md` for `markdown`.
    UsageError (exit 2) with the command's formats otherwise."""
    from kpitrack.domain.problems import UsageError
    from kpitrack.domain.suggest import did_you_mean

    word = text.strip().lower()
    word = FORMAT_ALIASES.get(word, word)
    for member in subset:
        if member.value == word:
            return member
    names = format_names(subset)
    raise UsageError(
        f"--format: {text!r} is not one of {', '.join(names)}{did_you_mean(word, names)}"
    )


def choose_format(given: str | None, output: Path | None, subset: type[F], *, default: F) -> F:
    """The format of one run: --format when given; else the one -o's extension names
    (FORMAT_BY_EXTENSION); else, with no -o, `-o -` or an -o without an extension, the
    default. An extension that names no format, or a format this command does not have,
    is a usage error: -o never writes a format other than the one its name says."""
    from kpitrack.domain.problems import UsageError

    if given is not None:
        return parse_format(given, subset)
    if output is None or str(output) == "-" or not output.suffix:
        return default
    suffix = output.suffix.lower()
    names = ", ".join(format_names(subset))
    known = FORMAT_BY_EXTENSION.get(suffix)
    if known is None:
        raise UsageError(
            f"-o {output}: {suffix} names no format kpitrack knows; give --format ({names}) "
            "or use a known extension"
        )
    for member in subset:
        if member.value == known.value:
            return member
    raise UsageError(f"-o {output}: this command has no {known.value} format (only {names})")
