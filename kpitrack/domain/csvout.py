"""The one CSV writer: every CSV kpitrack produces (`status`, `show`, `actions`,
`overdue`, `history`, `diff`, `export`) goes through `csv_rows`/`csv_text`, so formula
injection is neutralised everywhere the same way.

A spreadsheet runs a cell starting with `=`, `+`, `-`, `@`, tab or CR (or their
full-width forms) as a formula; such a text cell gets a leading `'` (OWASP's advice
on CSV injection). Numbers stay numbers (`-40` is written as `-40`); None is an empty
cell, booleans are `true`/`false`. One header row, LF line ends.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


_FIRST = frozenset(FORMULA_STARTS)


def neutralise(cell: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading `'`;
    numbers stay numbers, other text is left as it is."""
    if isinstance(cell, str) and cell[:1] in _FIRST:
        return "'" + cell
    return cell


def csv_cell(value: Any) -> Any:
    """A value as its CSV cell: empty for None, true/false, numbers as they are, text
    neutralised."""
    if value.__class__ is str:
        return "'" + value if value[:1] in _FIRST else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise(value)


class _Line:
    """A file-like object that keeps only the last thing written: `csv.writer`
    formats one row, the caller takes it."""

    __slots__ = ("text",)

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text = text
        return len(text)


class CsvLine:
    """Formats one row at a time as a CSV line (cells as `csv_cell` makes them), for
    writers that stream or that reuse a formatted part of a row: joining two lines'
    cells with a comma is the CSV of the joined rows."""

    def __init__(self) -> None:
        self._line = _Line()
        self._write = csv.writer(self._line, lineterminator="\n").writerow

    def __call__(self, cells: Iterable[Any]) -> str:
        """The row as one line, ending in LF."""
        self._write([csv_cell(v) for v in cells])
        return self._line.text

    def cell(self, value: Any) -> str:
        """One cell's text as it stands in a row of several cells (quoted when needed;
        a row of one empty cell alone would be written `""`)."""
        return self((value, None))[:-2]

    def prefix(self, cells: Iterable[Any]) -> str:
        """The row's cells followed by the comma that separates them from more cells."""
        return self(cells)[:-1] + ","


def csv_rows(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, batch: int = 1024
) -> Iterator[str]:
    """The CSV text, header first, in chunks of up to `batch` rows: streamed, never
    the whole output in memory."""
    line = _Line()
    writer = csv.writer(line, lineterminator="\n")
    writer.writerow(header)
    chunk = [line.text]
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        chunk.append(line.text)
        if len(chunk) >= batch:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole CSV as one string (small outputs)."""
    return "".join(csv_rows(header, rows))
