"""`csv:` sources: the newest row of the period in a CSV file of the workspace.

The path is relative to the KPI file's folder and must stay inside the workspace
(kpitrack.toml's folder): no absolute path, no `..` out, no symlink out, unless
the local config's `source_folders` allows the folder it reaches. It must be a
regular file (never a device, FIFO or `/proc` entry) and is read under the same
caps as `import` (32 MiB, 1,000,000 rows) and within the source's timeout.
Messages quote a cell only as a short escaped excerpt (docs/SECURITY.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import stat
import time
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from kpitrack.domain.model import Kpi, Source
from kpitrack.domain.periods import parse_date
from kpitrack.domain.problems import Problem, Severity
from kpitrack.reading import rules
from kpitrack.reading.sources.base import (
    Params,
    SourceContext,
    SourceError,
    excerpt,
    kpi_folder,
    register,
    text_field,
)
from kpitrack.reading.yamlnodes import MAX_FILE_BYTES, Map, Node, Scalar

# The caps of `import` (writing/csvinput.py: KT210, KT212).
MAX_CSV_BYTES = MAX_FILE_BYTES
MAX_CSV_ROWS = 1_000_000
HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class CsvSpec:
    path: str
    date_column: str
    value_column: str
    filter: tuple[tuple[str, str], ...] = ()


class Refused(SourceError):
    """The path leaves the workspace, or is not a regular file."""


class CsvKind:
    kind = "csv"
    keys: Mapping[str, str] = {
        "csv": "a CSV file inside the workspace, relative to the KPI file's folder",
        "date_column": "the CSV column holding each row's date",
        "value_column": "the CSV column holding each row's value",
        "filter": "CSV rows to use: a mapping column: value",
    }

    def parse(
        self, out: list[Problem], fields: Mapping[str, Node], node: Map, where: str
    ) -> tuple[Hashable, str] | None:
        path = text_field(out, fields, node, where, self.kind, "csv")
        date_column = text_field(out, fields, node, where, self.kind, "date_column")
        value_column = text_field(out, fields, node, where, self.kind, "value_column")
        if path is not None and "\0" in path:
            rules.error(out, fields["csv"], "KT055", f"{where}: csv holds a NUL character")
            path = None
        filters: list[tuple[str, str]] = []
        filter_node = fields.get("filter")
        if filter_node is not None:
            if not isinstance(filter_node, Map) or not filter_node.items:
                rules.error(
                    out, filter_node, "KT050", f"{where}: filter must be a mapping column: value"
                )
            else:
                for key, value in filter_node.items:
                    if not isinstance(value, Scalar):
                        rules.error(
                            out,
                            value,
                            "KT050",
                            f"{where}: filter value of '{key.text}' must be text",
                        )
                    else:
                        filters.append((key.text, value.text))
        if path is None or date_column is None or value_column is None:
            return None
        return CsvSpec(path, date_column, value_column, tuple(filters)), path

    def check(self, kpi: Kpi, source: Source, ctx: SourceContext) -> list[Problem]:
        """KT055: refused or unreadable file, or a named column it lacks; KT120: missing."""
        spec = _spec(source)
        what = f"KPI '{kpi.id}': source"
        out: list[Problem] = []
        try:
            path = resolve(kpi, spec, ctx)
            header = header_of(path)
        except FileNotFoundError:
            out.append(
                Problem.at(
                    source.where("csv"),
                    Severity.WARNING,
                    "KT120",
                    f"{what}: CSV file {spec.path} does not exist (yet); collect will fail "
                    "until it does",
                )
            )
            return out
        except SourceError as exc:
            rules.error(out, source.where("csv"), "KT055", f"{what}: {exc}")
            return out
        for key, column in _wanted(spec):
            if column not in header:
                rules.error(
                    out,
                    source.where(key),
                    "KT055",
                    f"{what}: {spec.path} has no column '{column}' "
                    f"(its columns: {_columns(header)})",
                )
        return out

    def run(self, kpi: Kpi, source: Source, params: Params, ctx: SourceContext) -> object:
        spec = _spec(source)
        deadline = time.monotonic() + ctx.timeout(source)
        try:
            path = resolve(kpi, spec, ctx)
        except FileNotFoundError:
            raise SourceError(f"cannot read {spec.path}: no such file") from None
        rows = _rows(path, deadline)
        header = [h.strip() for h in next(rows, [])]
        columns = {name: i for i, name in reversed(list(enumerate(header)))}
        for _key, column in _wanted(spec):
            if column not in columns:
                raise SourceError(f"{spec.path} has no column '{column}'")
        date_at, value_at = columns[spec.date_column], columns[spec.value_column]
        filters = [(columns[c], v.strip()) for c, v in spec.filter]
        best: tuple[dt.date, int] | None = None
        best_value: str | None = None
        for number, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if any(at >= len(row) or row[at].strip() != v for at, v in filters):
                continue
            if date_at >= len(row) or value_at >= len(row):
                raise SourceError(f"{spec.path}:{number}: the row has too few fields")
            raw_date = row[date_at].strip()
            try:
                day = parse_date(raw_date[:10])
            except ValueError:
                raise SourceError(
                    f"{spec.path}:{number}: {excerpt(raw_date)} is not a date"
                ) from None
            if day in params.period and (best is None or (day, number) >= best):
                best, best_value = (day, number), row[value_at]
        if best is None:
            raise SourceError(f"{spec.path} has no row in {params.period.label}")
        return best_value


def _spec(source: Source) -> CsvSpec:
    assert isinstance(source.spec, CsvSpec)
    return source.spec


def _wanted(spec: CsvSpec) -> list[tuple[str, str]]:
    return [
        ("date_column", spec.date_column),
        ("value_column", spec.value_column),
        *(("filter", column) for column, _value in spec.filter),
    ]


def _columns(header: list[str]) -> str:
    shown = ", ".join(excerpt(h, 20) for h in header[:10])
    return (shown + (", ..." if len(header) > 10 else "")) or "none"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def resolve(kpi: Kpi, spec: CsvSpec, ctx: SourceContext) -> Path:
    """The real path of the CSV file, if the workspace or an allowed folder holds it.

    Refused (a SourceError) when the path, written or followed through symlinks,
    leaves them; FileNotFoundError when it does not exist.
    """
    written = Path(spec.path)
    base = Path(os.path.abspath(kpi_folder(kpi)))
    lexical = Path(os.path.normpath(base / written))
    real = Path(os.path.realpath(lexical))
    folders = [Path(os.path.abspath(f)) for f in ctx.local.source_folders]
    roots = folders if written.is_absolute() else [Path(os.path.abspath(ctx.root)), *folders]
    if not any(_inside(lexical, root) for root in roots) or not any(
        _inside(real, Path(os.path.realpath(root))) for root in roots
    ):
        raise Refused(
            f"csv {excerpt(spec.path, 60)} is outside the workspace (absolute, '..' or a "
            "symlink out); allow its folder with source_folders in the local config"
        )
    if not real.exists():
        raise FileNotFoundError(str(real))
    return real


def _read(path: Path, limit: int) -> bytes:
    """At most `limit` + 1 bytes of a regular file (a device, FIFO or folder is refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise SourceError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(f"{path.name} is not a regular file (a device, pipe or folder)")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise SourceError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def header_of(path: Path) -> list[str]:
    """The first row of the CSV file, stripped."""
    data = _read(path, HEADER_BYTES)
    first = data.split(b"\n", 1)[0]
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"cannot read {path.name}: not UTF-8 text") from None
    try:
        return [h.strip() for h in next(csv.reader([text.rstrip("\r")]), [])]
    except csv.Error as exc:
        raise SourceError(f"cannot read {path.name}: {exc}") from None


def _rows(path: Path, deadline: float) -> Iterator[list[str]]:
    data = _read(path, MAX_CSV_BYTES)
    if len(data) > MAX_CSV_BYTES:
        raise SourceError(f"{path.name}: over the limit of {MAX_CSV_BYTES:,} bytes (as import)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"cannot read {path.name}: not UTF-8 text") from None
    return _capped(csv.reader(io.StringIO(text, newline="")), path, deadline)


def _capped(reader: Iterator[list[str]], path: Path, deadline: float) -> Iterator[list[str]]:
    count = 0
    try:
        for row in reader:
            count += 1
            if count > MAX_CSV_ROWS:
                raise SourceError(f"{path.name}: more than {MAX_CSV_ROWS:,} rows (as import)")
            if count % 1000 == 0 and time.monotonic() > deadline:
                raise SourceError("reading the CSV file timed out")
            yield row
    except csv.Error as exc:
        raise SourceError(f"cannot read {path.name}: {excerpt(str(exc), 60)}") from None


CSV = register(CsvKind())
