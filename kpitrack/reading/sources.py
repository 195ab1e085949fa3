"""A KPI's `source`: where `kpitrack collect` gets its value (sql, csv or command).

This module reads and checks the `source` mapping; `kpitrack.writing.collecting` runs it.
The checks that need kpitrack.toml or the disk (an unknown database name, a
CSV file without the named column, command sources not allowed) are in
`config_problems`, which `check` and `collect` call; loading stays pure.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from kpitrack.domain.codes import (
    KT050,
    KT051,
    KT052,
    KT053,
    KT054,
    KT055,
    KT056,
    KT057,
    KT120,
    KT121,
    Rule,
)
from kpitrack.domain.model import Config, Kind, Kpi, Location, Source
from kpitrack.domain.problems import Problem, Severity
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import rules
from kpitrack.reading.yamlnodes import Map, Node, Scalar, Seq

SOURCE_KINDS = ("sql", "csv", "command")
SOURCE_KEYS = {
    "sql": "one SELECT (or WITH) statement; bound parameters :period_start, :period_end, :as_of",
    "database": "a database name from kpitrack.toml [databases]",
    "csv": "a CSV file, relative to the KPI file's folder",
    "date_column": "the CSV column holding each row's date",
    "value_column": "the CSV column holding each row's value",
    "filter": "CSV rows to use: a mapping column: value",
    "command": "a program and its arguments, as a list (never run through a shell)",
    "timeout": "seconds the source may take (default: collect_timeout, else 30)",
    "scale_map": "qualitative KPIs: output → scale label",
}
MAX_TIMEOUT = 3600.0
# scheme://user:password@host — a credential written into a KPI file.
_URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _err(out: list[Problem], at: Node | Location, code: Rule, message: str) -> None:
    rules.error(out, at, code, message)


def _scalars(node: Node) -> Iterator[Scalar]:
    """Every scalar (keys too) under `node`: one pass, no list per node."""
    stack = [node]
    while stack:
        top = stack.pop()
        if isinstance(top, Scalar):
            yield top
        elif isinstance(top, Seq):
            stack.extend(top.items)
        else:
            for key, value in top.items:
                yield key
                stack.append(value)


def credential_problems(out: list[Problem], entry: Node, what: str) -> None:
    """KT052: a URL with a password anywhere in a KPI's definition."""
    for scalar in _scalars(entry):
        if "://" in scalar.text and _URL_WITH_PASSWORD.search(scalar.text):
            _err(
                out,
                scalar,
                KT052,
                f"{what}: a URL with a password in a KPI file; credentials belong in "
                "kpitrack.toml [databases] (or ${ENV_VARIABLE} there), never in KPI files",
            )


def parse_source(
    out: list[Problem], node: Node, what: str, kind: Kind | None, scale: Sequence[str]
) -> Source | None:
    """The `source` mapping of a KPI; problems go to `out` (KT050, KT051, KT054-KT057).

    A URL with a password is reported by `credential_problems` (on the whole KPI).
    """
    before = len(out)
    where = f"{what}: source"
    if not isinstance(node, Map):
        _err(
            out,
            node,
            KT050,
            f"{where} must be a mapping with one of sql, csv or command, got {rules.shape(node)}",
        )
        return None
    fields: dict[str, Node] = {}
    for key, value in node.items:
        if key.text not in SOURCE_KEYS:
            rules.unknown_key(out, key, where, SOURCE_KEYS)
        elif key.text not in fields:
            fields[key.text] = value
    kinds = [k for k in SOURCE_KINDS if k in fields]
    if len(kinds) != 1:
        found = " and ".join(kinds) if kinds else "none"
        _err(
            out,
            node,
            KT050,
            f"{where} needs exactly one of sql, csv or command, found {found}",
        )
        return None
    source_kind = kinds[0]
    allowed = {
        "sql": {"sql", "database", "timeout", "scale_map"},
        "csv": {"csv", "date_column", "value_column", "filter", "timeout", "scale_map"},
        "command": {"command", "timeout", "scale_map"},
    }[source_kind]
    for field in fields:
        if field not in allowed:
            _err(
                out,
                fields[field],
                KT050,
                f"{where}: '{field}' does not apply to a {source_kind} source",
            )

    def text(key: str, *, required: bool) -> str | None:
        value = fields.get(key)
        if value is None:
            if required:
                _err(
                    out,
                    node,
                    KT050,
                    f"{where}: a {source_kind} source needs '{key}' ({SOURCE_KEYS[key]})",
                )
            return None
        if not isinstance(value, Scalar) or not value.text.strip():
            _err(
                out,
                value,
                KT050,
                f"{where}: {key} must be non-empty text, got {rules.shape(value)}",
            )
            return None
        return value.text

    sql = database = csv_path = date_column = value_column = None
    argv: tuple[str, ...] = ()
    filters: list[tuple[str, str]] = []
    if source_kind == "sql":
        sql = text("sql", required=True)
        database = text("database", required=True)
        if sql is not None:
            problem = sql_problem(sql)
            if problem:
                _err(out, fields["sql"], KT051, f"{where}: {problem}")
        if database is not None and _URL.match(database.strip()):
            if not _URL_WITH_PASSWORD.search(database):  # else credential_problems did
                _err(
                    out,
                    fields["database"],
                    KT052,
                    f"{where}: database must be a name from kpitrack.toml [databases], not a "
                    "connection URL: connection strings and credentials stay out of KPI files",
                )
            database = None
    elif source_kind == "csv":
        csv_path = text("csv", required=True)
        date_column = text("date_column", required=True)
        value_column = text("value_column", required=True)
        filter_node = fields.get("filter")
        if filter_node is not None:
            if not isinstance(filter_node, Map) or not filter_node.items:
                _err(out, filter_node, KT050, f"{where}: filter must be a mapping column: value")
            else:
                for key, value in filter_node.items:
                    if not isinstance(value, Scalar):
                        _err(
                            out,
                            value,
                            KT050,
                            f"{where}: filter value of '{key.text}' must be text",
                        )
                    else:
                        filters.append((key.text, value.text))
    else:
        argv_node = fields["command"]
        if (
            not isinstance(argv_node, Seq)
            or not argv_node.items
            or not all(isinstance(i, Scalar) and i.text for i in argv_node.items)
        ):
            hint = (
                " (a list like [./count-deploys, --team, web]; it never runs through a shell)"
                if isinstance(argv_node, Scalar)
                else ""
            )
            _err(
                out,
                argv_node,
                KT054,
                f"{where}: command must be a non-empty list of program and arguments, "
                f"got {rules.shape(argv_node)}{hint}",
            )
        else:
            argv = tuple(i.text for i in argv_node.items if isinstance(i, Scalar))
            if "\0" in "".join(argv):
                _err(out, argv_node, KT054, f"{where}: command holds a NUL character")
    timeout = None
    timeout_node = fields.get("timeout")
    if timeout_node is not None:
        scratch: list[Problem] = []
        seconds = rules.number(scratch, timeout_node, f"{where}: timeout")
        if seconds is None or not 0 < seconds <= MAX_TIMEOUT:
            _err(
                out,
                timeout_node,
                KT057,
                f"{where}: timeout must be a number of seconds above 0 and at most "
                f"{MAX_TIMEOUT:g}, got {rules.shape(timeout_node)}",
            )
        else:
            timeout = seconds
    scale_map: list[tuple[str, str]] = []
    map_node = fields.get("scale_map")
    if kind is Kind.QUALITATIVE:
        if map_node is None:
            _err(
                out,
                node,
                KT056,
                f"{where}: a qualitative KPI's source needs a scale_map from the source's "
                f"output to a label of the scale ({', '.join(scale)})",
            )
        elif not isinstance(map_node, Map) or not map_node.items:
            _err(out, map_node, KT056, f"{where}: scale_map must be a mapping output: label")
        else:
            for key, value in map_node.items:
                if not isinstance(value, Scalar) or value.text not in scale:
                    _err(
                        out,
                        value,
                        KT056,
                        f"{where}: scale_map maps '{key.text}' to "
                        f"{rules.shape(value)}, which is not on the scale ({', '.join(scale)})",
                    )
                else:
                    scale_map.append((key.text.strip(), value.text))
    elif map_node is not None:
        _err(out, map_node, KT056, f"{where}: scale_map applies only to qualitative KPIs")
    if any(p.is_error for p in out[before:]):
        return None
    locs = tuple((key, value.loc) for key, value in fields.items())
    return Source(
        kind=source_kind,
        sql=sql,
        database=database,
        csv=csv_path,
        date_column=date_column,
        value_column=value_column,
        filter=tuple(filters),
        command=argv,
        timeout=timeout,
        scale_map=tuple(scale_map),
        loc=node.loc,
        locs=locs,
    )


# ---------------------------------------------------------------- SQL: one read-only statement

_WRITE_WORDS = frozenset(
    [
        "insert",
        "update",
        "delete",
        "merge",
        "upsert",
        "drop",
        "alter",
        "create",
        "truncate",
        "attach",
        "detach",
        "pragma",
        "vacuum",
        "reindex",
        "grant",
        "revoke",
        "copy",
        "into",
    ]
)


def _sql_code(sql: str) -> str:
    """The SQL text outside strings, quoted names and comments (each replaced by a space)."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`[":
            close = {"'": "'", '"': '"', "`": "`", "[": "]"}[ch]
            j = i + 1
            while j < n:
                if sql[j] == close:
                    if j + 1 < n and sql[j + 1] == close and close != "]":
                        j += 2
                        continue
                    break
                j += 1
            out.append(" ")
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
            out.append(" ")
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif ch == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if m:
                j = sql.find(m.group(0), i + len(m.group(0)))
                i = n if j < 0 else j + len(m.group(0))
                out.append(" ")
            else:
                out.append(ch)
                i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def sql_problem(sql: str) -> str | None:
    """Why `sql` is not one read-only SELECT/WITH statement, or None when it is."""
    code = _sql_code(sql).strip()
    code = code.rstrip(";").rstrip()
    if ";" in code:
        return "sql must be one statement (found a ';' between statements)"
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code)
    if not words or words[0].lower() not in ("select", "with"):
        first = words[0] if words else "nothing"
        return f"sql must be one SELECT (or WITH … SELECT) statement, got {rules.quote(first)}"
    # A function call like replace(...) is fine: only keywords standing as words count.
    writes = sorted(
        {
            w.lower()
            for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?!\s*\()", code)
            if w.lower() in _WRITE_WORDS
        }
    )
    if writes:
        return (
            f"sql must only read: {rules.quote(writes[0].upper())} is refused "
            "(collect runs one read-only SELECT)"
        )
    return None


# ---------------------------------------------------------------- checks that need the config


def kpi_folder(kpi: Kpi) -> Path:
    """The folder of the file that defines `kpi` (relative paths in its source start here)."""
    return Path(kpi.loc.path).parent


def csv_header(path: Path) -> list[str]:
    """The first row of a CSV file (raises OSError, UnicodeDecodeError, csv.Error)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def config_problems(workspace: Workspace, config: Config) -> list[Problem]:
    """Source problems that depend on kpitrack.toml or the disk (KT053, KT055, KT120, KT121)."""
    return [p for kpi in workspace.kpis for p in kpi_config_problems(kpi, config)]


def kpi_config_problems(kpi: Kpi, config: Config) -> list[Problem]:
    """`config_problems` of one KPI."""
    out: list[Problem] = []
    databases = dict(config.databases)
    source = kpi.source
    if source is None:
        return out
    what = f"KPI '{kpi.id}': source"
    if source.kind == "sql" and source.database not in databases:
        from kpitrack.domain.suggest import did_you_mean

        known = ", ".join(databases) or "none"
        _err(
            out,
            source.where("database"),
            KT053,
            f"{what}: unknown database '{source.database}'"
            f"{did_you_mean(source.database or '', databases)} "
            f"(kpitrack.toml [databases] names: {known})",
        )
    elif source.kind == "csv" and source.csv:
        path = kpi_folder(kpi) / source.csv
        try:
            header = [h.strip() for h in csv_header(path)]
        except FileNotFoundError:
            out.append(
                Problem.at(
                    source.where("csv"),
                    Severity.WARNING,
                    KT120,
                    f"{what}: CSV file {path} does not exist (yet); collect will fail "
                    "until it does",
                )
            )
            return out
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            _err(out, source.where("csv"), KT055, f"{what}: cannot read {path}: {exc}")
            return out
        wanted = [
            ("date_column", source.date_column),
            ("value_column", source.value_column),
            *(("filter", column) for column, _value in source.filter),
        ]
        for key, column in wanted:
            if column is not None and column not in header:
                _err(
                    out,
                    source.where(key),
                    KT055,
                    f"{what}: {path} has no column '{column}' "
                    f"(its columns: {', '.join(header) or 'none'})",
                )
    elif source.kind == "command" and not config.allow_commands:
        out.append(
            Problem.at(
                source.where("command"),
                Severity.WARNING,
                KT121,
                f"{what}: command sources run only when kpitrack.toml sets "
                "allow_commands = true; collect reports this one as failed",
            )
        )
    return out
