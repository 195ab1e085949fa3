"""Run a KPI's `source` for one period and turn its output into a value.

The trust boundary (docs/SECURITY.md): connection URLs come only from
kpitrack.toml (or the environment through `${NAME}` there); SQL runs
read-only, as one SELECT/WITH statement, with bound parameters; `command`
sources run only when kpitrack.toml sets `allow_commands = true`, never
through a shell, without stdin, under a timeout. Every failure is a
`SourceError` with a message for the user; nothing here prints or writes.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kpitrack.domain.model import Config, Kind, Kpi, Source, Value, in_range
from kpitrack.domain.periods import Period, parse_date
from kpitrack.reading.rules import is_percent
from kpitrack.reading.sources import csv_header, kpi_folder, sql_problem

MAX_OUTPUT_BYTES = 64 * 1024
MAX_CSV_BYTES = 64 * 1024 * 1024
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_PARAMS = ("period_start", "period_end", "as_of")


class SourceError(Exception):
    """A source that could not give a value; the message says why."""


@dataclass(frozen=True)
class Params:
    """What a source is asked for: [period_start, period_end) and the as-of date."""

    period: Period
    as_of: dt.date

    @property
    def period_start(self) -> dt.date:
        return self.period.start

    @property
    def period_end(self) -> dt.date:
        """The day after the period's last day: use `< :period_end`."""
        return self.period.end + dt.timedelta(days=1)


def params_for(period: Period, run_day: dt.date) -> Params:
    """:as_of is the period's last day, or the run day when that is earlier."""
    return Params(period, min(period.end, run_day))


def source_timeout(source: Source, config: Config) -> float:
    return source.timeout if source.timeout is not None else config.collect_timeout


def run_source(kpi: Kpi, params: Params, config: Config) -> Value:
    """The value of `kpi`'s source for `params`; raises SourceError."""
    source = kpi.source
    if source is None:
        raise SourceError(f"KPI '{kpi.id}' has no source")
    timeout = source_timeout(source, config)
    if source.kind == "sql":
        raw: object = _run_sql(source, params, config, timeout)
    elif source.kind == "csv":
        raw = _run_csv(kpi, source, params)
    else:
        raw = _run_command(kpi, source, params, config, timeout)
    return to_value(kpi, source, raw)


# ---------------------------------------------------------------- values


def to_value(kpi: Kpi, source: Source, raw: object) -> Value:
    """A source's output as a value of `kpi`: a finite number, or a scale label."""
    if raw is None:
        raise SourceError("the source gave no value (NULL or empty)")
    if isinstance(raw, bool):
        raise SourceError(f"the source gave a boolean ({raw}), not a number")
    if kpi.kind is Kind.QUALITATIVE:
        text = _text_of(raw)
        mapped = dict(source.scale_map).get(text)
        if mapped is not None:
            return mapped
        if text in kpi.scale:
            return text
        raise SourceError(
            f"the source gave {text!r}, which scale_map does not map to a label "
            f"({', '.join(kpi.scale)})"
        )
    if isinstance(raw, int | float | decimal.Decimal):
        number: float = float(raw) if not isinstance(raw, int) else raw
    else:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        text = text.strip()
        if len(text) > 64 or not _NUMBER.fullmatch(text):
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise SourceError(f"the source gave {shown!r}, not a number")
        number = float(text) if any(c in text for c in ".eE") else int(text)
    try:
        finite = in_range(float(number))
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        shown = repr(number) if len(repr(number)) <= 40 else repr(number)[:37] + "..."
        raise SourceError(f"the source gave {shown}, not a finite number of at most 1e15")
    if kpi.kind is Kind.PROGRESS and not is_percent(number):
        raise SourceError(f"the source gave {number!r}, outside 0-100 (percent done)")
    return number


def _text_of(raw: object) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()


# ---------------------------------------------------------------- SQL


def expand_env(text: str) -> str:
    """`${NAME}` → the environment variable NAME; SourceError when it is not set."""

    def one(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise SourceError(f"environment variable {m.group(1)} is not set")
        return value

    return _ENV.sub(one, text)


def database_url(name: str, config: Config) -> str:
    url = dict(config.databases).get(name)
    if url is None:
        raise SourceError(f"unknown database '{name}': name it in kpitrack.toml [databases]")
    return expand_env(url).strip()


_SQLITE_URL = re.compile(r"sqlite(\+\w+)?://(/?)(.*)", re.DOTALL)


def _sqlite_path(url: str, config: Config) -> Path | None:
    """The file of a SQLite URL (any driver) or plain path; None for another database.

    Every SQLite database is opened by the standard library, read-only.
    """
    m = _SQLITE_URL.fullmatch(url)
    if m is not None:
        rest = m.group(3).split("?", 1)[0]
        if not m.group(2) or not rest:
            raise SourceError("a SQLite URL must name a file: sqlite:///relative or sqlite:////abs")
        path = Path(urllib.parse.unquote(rest))
    elif "://" in url:
        return None
    else:
        path = Path(url)
    if not path.is_absolute() and config.root:
        path = Path(config.root) / path
    return path


def _bound(sql: str, params: Params, *, as_text: bool) -> dict[str, object]:
    used = set(re.findall(r"(?<![:\w]):(\w+)", sql))
    out: dict[str, object] = {}
    for name in _PARAMS:
        if name in used:
            day: dt.date = getattr(params, name)
            out[name] = day.isoformat() if as_text else day
    return out


def _scalar_row(rows: Sequence[Sequence[object]]) -> object:
    if not rows:
        raise SourceError("the query returned no row (it must return one row, one column)")
    if len(rows) > 1:
        raise SourceError("the query returned more than one row (it must return one)")
    if len(rows[0]) != 1:
        raise SourceError(f"the query returned {len(rows[0])} columns (it must return one)")
    return rows[0][0]


def _run_sql(source: Source, params: Params, config: Config, timeout: float) -> object:
    sql = source.sql or ""
    problem = sql_problem(sql)
    if problem:
        raise SourceError(problem)
    url = database_url(source.database or "", config)
    path = _sqlite_path(url, config)
    if path is not None:
        return _run_sqlite(path, sql, params, timeout)
    return _run_sqlalchemy(url, sql, params, timeout)


def _run_sqlite(path: Path, sql: str, params: Params, timeout: float) -> object:
    if not path.is_file():
        raise SourceError(f"cannot open SQLite database {path}: no such file")
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
    deadline = time.monotonic() + timeout
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open SQLite database {path}: {exc}") from None
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        cursor = conn.execute(sql, _bound(sql, params, as_text=True))
        rows = cursor.fetchmany(2)
    except sqlite3.OperationalError as exc:
        if time.monotonic() > deadline:
            raise SourceError(f"the query timed out after {timeout:g} s") from None
        raise SourceError(f"query failed: {exc}") from None
    except sqlite3.Error as exc:
        raise SourceError(f"query failed: {exc}") from None
    finally:
        conn.close()
    return _scalar_row(rows)


def _run_sqlalchemy(url: str, sql: str, params: Params, timeout: float) -> object:
    try:
        import sqlalchemy
        from sqlalchemy.pool import NullPool
    except ImportError:
        raise SourceError(
            "this database needs SQLAlchemy: pip install 'kpitrack[sql]' (and its driver)"
        ) from None
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except Exception:
        raise SourceError("the database URL in kpitrack.toml is not a valid URL") from None
    backend = parsed.get_backend_name()
    connect_args: dict[str, object] = {}
    millis = max(1, int(timeout * 1000))
    if backend == "postgresql":
        connect_args = {
            "connect_timeout": max(1, round(timeout)),
            "options": f"-c default_transaction_read_only=on -c statement_timeout={millis}",
        }
    elif backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": max(1, round(timeout))}
    result: list[object] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            engine = sqlalchemy.create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
            try:
                with engine.connect() as conn:
                    if backend in ("mysql", "mariadb"):
                        conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
                        conn.exec_driver_sql(f"SET SESSION MAX_EXECUTION_TIME={millis}")
                    elif backend == "postgresql":
                        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    rows = conn.execute(
                        sqlalchemy.text(sql), _bound(sql, params, as_text=False)
                    ).fetchmany(2)
                    result.append(_scalar_row([tuple(r) for r in rows]))
                    conn.rollback()
            finally:
                engine.dispose()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout + 2)  # the server-side timeout usually ends it first
    if worker.is_alive():
        raise SourceError(f"the query timed out after {timeout:g} s")
    if failure:
        exc = failure[0]
        if isinstance(exc, SourceError):
            raise exc
        if isinstance(exc, ImportError):
            raise SourceError(f"the database driver is not installed: {exc}") from None
        if isinstance(exc, sqlalchemy.exc.NoSuchModuleError | sqlalchemy.exc.ArgumentError):
            raise SourceError(f"unsupported database URL: {exc}") from None
        message = _db_message(exc)
        if "statement timeout" in message or "canceling statement" in message:
            raise SourceError(f"the query timed out after {timeout:g} s") from None
        raise SourceError(message) from None
    return result[0]


def _db_message(exc: BaseException) -> str:
    """A driver error without SQLAlchemy's long trailer (and never the URL's password)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    first = text[0] if text else type(original).__name__
    kind = (
        "cannot connect"
        if "connect" in type(exc).__name__.lower() or "connection" in (first.lower())
        else "query failed"
    )
    return f"{kind}: {first}"


# ---------------------------------------------------------------- CSV


def _run_csv(kpi: Kpi, source: Source, params: Params) -> object:
    path = kpi_folder(kpi) / (source.csv or "")
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise SourceError(f"{path}: file is over {MAX_CSV_BYTES:,} bytes")
        header = [h.strip() for h in csv_header(path)]
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))[1:]
    except FileNotFoundError:
        raise SourceError(f"cannot read {path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    columns = {name: i for i, name in reversed(list(enumerate(header)))}
    wanted = [source.date_column or "", source.value_column or ""]
    wanted += [column for column, _value in source.filter]
    for column in wanted:
        if column not in columns:
            raise SourceError(f"{path} has no column '{column}'")
    date_at, value_at = columns[wanted[0]], columns[wanted[1]]
    best: tuple[dt.date, int] | None = None
    best_value: str | None = None
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if any(
            columns[c] >= len(row) or row[columns[c]].strip() != v.strip() for c, v in source.filter
        ):
            continue
        if date_at >= len(row) or value_at >= len(row):
            raise SourceError(f"{path}:{number}: the row has too few fields")
        raw_date = row[date_at].strip()
        try:
            day = parse_date(raw_date[:10])
        except ValueError:
            raise SourceError(f"{path}:{number}: '{raw_date}' is not a date") from None
        if day not in params.period:
            continue
        if best is None or (day, number) >= best:
            best, best_value = (day, number), row[value_at]
    if best is None:
        raise SourceError(f"{path} has no row in {params.period.label}")
    return best_value


# ---------------------------------------------------------------- command


def _run_command(
    kpi: Kpi, source: Source, params: Params, config: Config, timeout: float
) -> object:
    if not config.allow_commands:
        raise SourceError(
            "command sources are off: kpitrack.toml must set allow_commands = true to run them"
        )
    env = dict(os.environ)
    env.update(
        KPITRACK_KPI=kpi.id,
        KPITRACK_PERIOD=params.period.label,
        KPITRACK_PERIOD_START=params.period_start.isoformat(),
        KPITRACK_PERIOD_END=params.period_end.isoformat(),
        KPITRACK_AS_OF=params.as_of.isoformat(),
    )
    try:
        proc = subprocess.Popen(
            list(source.command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=kpi_folder(kpi) or None,
            env=env,
            shell=False,
            start_new_session=True,  # its own process group: a timeout ends its children too
        )
    except OSError as exc:
        raise SourceError(f"cannot run {source.command[0]}: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=5)
        raise SourceError(f"the command timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()
        last = f": {detail[-1][:200]}" if detail else ""
        raise SourceError(f"the command exited with status {proc.returncode}{last}")
    if len(out) > MAX_OUTPUT_BYTES:
        raise SourceError(f"the command wrote over {MAX_OUTPUT_BYTES:,} bytes")
    text = out.decode("utf-8", "replace").strip()
    if not text or len(text.splitlines()) != 1:
        raise SourceError("the command must print exactly one number or scale label")
    return text
