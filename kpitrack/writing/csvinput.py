"""The CSV reader of `import`: rows streamed from a capped reader, every problem located.

Input is capped like YAML input: over `MAX_FILE_BYTES` is refused (KT210), a device,
FIFO or folder other than `-` is refused (KT211), more than `MAX_CSV_ROWS` rows stop
the import (KT212), and after `MAX_CSV_PROBLEMS` row problems reading stops (KT213).
Rows are read line by line (never the whole input at once) and turned into
measurements; header problems are KT201, row problems KT202. Problems are returned,
never printed: `InvalidCsvError` carries them to the shell's one error boundary.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from kpitrack.domain.codes import KT201, KT202, KT212, KT213
from kpitrack.domain.model import Kpi, Measurement, Value, no_kpi_message
from kpitrack.domain.problems import (
    InvalidWorkspaceError,
    KpitrackError,
    Problem,
    Severity,
    UsageError,
)
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import yamlnodes
from kpitrack.writing.userinput import free_text, parse_measurement_date, parse_value

CSV_COLUMNS = Measurement.FIELDS
REQUIRED_COLUMNS = ("kpi", "date", "value")
MAX_CSV_ROWS = 1_000_000
MAX_CSV_PROBLEMS = 1_000

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")


class InvalidCsvError(InvalidWorkspaceError):
    """The CSV has errors; carries them all, located (file:line:column)."""

    def __init__(self, name: str, problems: list[Problem]) -> None:
        super().__init__(problems)
        KpitrackError.__init__(self, f"{name}: {len(self.problems)} error(s); nothing imported")


def csv_problem(path: str, line: int, column: int, code: str, message: str) -> Problem:
    return Problem(path, line, column, Severity.ERROR, code, message)


def csv_delimiter(header: str) -> str:
    """The delimiter of a CSV, from its header line: `,`, `;` (spreadsheets in many
    locales) or a tab, whichever it holds most (`,` on a tie)."""
    header = header.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def encoding_hint(data: bytes, name: str) -> str:
    """How to convert a CSV that is not UTF-8, naming its likely encoding."""
    shown_name = "FILE.csv" if name == "<stdin>" else name
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        source = "utf-16"
        label = "UTF-16 (as Excel's 'Unicode text' saves)"
    elif any(0x80 <= b <= 0x9F for b in data):
        source, label = "cp1252", "Windows-1252 (as Excel on Windows saves)"
    else:
        source, label = "latin1", "Latin-1 (ISO-8859-1)"
    return (
        f"it looks like {label}; convert it with "
        f"`iconv -f {source} -t utf-8 {shown_name} > utf8.csv` and import utf8.csv"
    )


@dataclass
class CsvSource:
    """An open CSV input: `FILE.csv` (a regular file) or standard input (`-`)."""

    name: str  # for messages: the path, or <stdin>
    stream: BinaryIO
    owned: bool  # closed by `close` (not stdin)

    def close(self) -> None:
        if self.owned:
            self.stream.close()

    def lines(self) -> Iterator[str]:
        """Decoded lines with their endings (`\\r\\n`, `\\r`, `\\n`), at most
        MAX_FILE_BYTES in all (KT210); UsageError for bytes that are not UTF-8."""
        limit = yamlnodes.MAX_FILE_BYTES
        total = 0
        line_no = 1
        first: bytes | None = None
        while True:
            try:
                raw = self.stream.readline(limit - total + 1)
            except OSError as exc:
                raise UsageError(f"{self.name}: cannot read: {exc.strerror}") from None
            if not raw:
                return
            total += len(raw)
            if total > limit:
                raise UsageError(
                    f"{self.name}: KT210 the CSV is over the limit of {limit:,} bytes; "
                    "split it; nothing imported"
                )
            if first is None:
                first = raw
                if raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = line_no + raw.count(b"\n", 0, exc.start)
                sample = first + raw if raw is not first else first
                raise UsageError(
                    f"{self.name}:{line}: not UTF-8 text; {encoding_hint(sample, self.name)}"
                ) from None
            line_no += raw.count(b"\n")
            for m in _LINE.finditer(text):
                if m.group(0):
                    yield m.group(0)


def open_csv(source: str, stdin: BinaryIO) -> CsvSource:
    """FILE.csv, or `stdin` for `-`. A device, FIFO or folder is refused (KT211)."""
    if source == "-":
        return CsvSource("<stdin>", stdin, owned=False)
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UsageError(f"no such file: {source}") from None
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(
            f"{source}: KT211 not a regular file (a device, pipe or folder); "
            "use `-` to read standard input; nothing imported"
        )
    return CsvSource(source, os.fdopen(fd, "rb"), owned=True)


def read_measurements(source: CsvSource, workspace: Workspace, today: dt.date) -> list[Measurement]:
    """Rows → measurements, checked against the workspace (line 1 is the header;
    column = field number). Raises InvalidCsvError with every problem at once."""
    measurements, problems = read_rows(source.lines(), source.name, workspace, today)
    if problems:
        raise InvalidCsvError(source.name, problems)
    return measurements


def read_rows(
    lines: Iterator[str], path: str, workspace: Workspace, today: dt.date
) -> tuple[list[Measurement], list[Problem]]:
    """The rows of a CSV given as lines (with their endings), and its problems."""
    from kpitrack.domain.suggest import did_you_mean

    first = next(lines, "")
    delimiter = csv_delimiter(first)

    def all_lines() -> Iterator[str]:
        if first:
            yield first
        yield from lines

    reader = csv.reader(all_lines(), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as exc:
        return [], [csv_problem(path, 1, 1, KT201, f"unreadable CSV: {exc}")]
    names = [h.strip().lower() for h in header]
    if not any(names):
        return [], [
            csv_problem(path, 1, 1, KT201, "no header row: expected kpi,date,value[,note[,by]]")
        ]
    problems: list[Problem] = []
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name not in CSV_COLUMNS:
            problems.append(
                csv_problem(
                    path,
                    1,
                    index + 1,
                    KT201,
                    f"unknown column '{header[index]}'{did_you_mean(name, CSV_COLUMNS)} "
                    "(expected kpi,date,value[,note[,by]])",
                )
            )
        elif name in columns:
            problems.append(csv_problem(path, 1, index + 1, KT201, f"duplicate column '{name}'"))
        else:
            columns[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            problems.append(csv_problem(path, 1, 1, KT201, f"missing column '{name}'"))
    if problems:
        return [], problems
    known = [k.id for k in workspace.kpis]
    by_id: dict[str, Kpi] = {}  # workspace.kpi's answer, without a scan per row
    for k in workspace.kpis:
        by_id.setdefault(k.id, k)
    out: list[Measurement] = []
    line = reader.line_num + 1  # where the next row starts
    rows_read = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(csv_problem(path, line, 1, KT202, f"unreadable CSV row: {exc}"))
            break
        start, line = line, reader.line_num + 1
        rows_read += 1
        if rows_read > MAX_CSV_ROWS:
            problems.append(
                csv_problem(
                    path, start, 1, KT212, f"more than {MAX_CSV_ROWS:,} rows; split the CSV"
                )
            )
            break
        if len(problems) >= MAX_CSV_PROBLEMS:
            problems.append(
                csv_problem(
                    path, start, 1, KT213, f"more than {MAX_CSV_PROBLEMS:,} problems; stopped"
                )
            )
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.append(
                csv_problem(
                    path,
                    start,
                    len(header) + 1,
                    KT202,
                    f"{len(row)} fields, but the header has {len(header)}",
                )
            )
            continue
        cells = {name: row[i] if i < len(row) else "" for name, i in columns.items()}
        row_problems = len(problems)
        kpi_text = cells["kpi"].strip()
        kpi = by_id.get(kpi_text)
        if not kpi_text:
            problems.append(csv_problem(path, start, columns["kpi"] + 1, KT202, "kpi: empty"))
        elif kpi is None:
            problems.append(
                csv_problem(
                    path,
                    start,
                    columns["kpi"] + 1,
                    KT202,
                    no_kpi_message(kpi_text, known, option="kpi"),
                )
            )
        day: dt.date | None = None
        try:
            day = parse_measurement_date(cells["date"], today)
        except ValueError as exc:
            problems.append(csv_problem(path, start, columns["date"] + 1, KT202, f"date: {exc}"))
        value: Value | None = None
        if kpi is not None:
            try:
                value = parse_value(kpi, cells["value"])
            except ValueError as exc:
                problems.append(
                    csv_problem(path, start, columns["value"] + 1, KT202, f"value: {exc}")
                )
        note: str | None = None
        by: str | None = None
        try:
            note = free_text(cells.get("note"), "note")
            by = free_text(cells.get("by"), "by")
        except ValueError as exc:
            problems.append(csv_problem(path, start, 1, KT202, str(exc)))
        if len(problems) > row_problems or kpi is None or day is None or value is None:
            continue
        out.append(Measurement(kpi.id, day, value, note, by))
    return out, problems
