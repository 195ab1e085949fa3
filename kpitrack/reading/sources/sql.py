"""`sql:` sources: one query against a database named in the local config.

Read-only is enforced by the database, never by reading the SQL text
(docs/SECURITY.md, "SQL only reads"):

- PostgreSQL (`postgresql://`, `postgresql+<driver>://`, `postgres://` or a libpq
  `key=value` string) is reached through psycopg 3: the query is sent as one
  prepared statement (the extended protocol refuses `;`-joined statements), in
  a transaction begun `READ ONLY` (autocommit off, `default_transaction_read_only`
  on) that is always rolled back, under `statement_timeout`.
- SQLite (`sqlite:///file`, `sqlite+<driver>:///file` or a path) is opened by the
  standard library with a `mode=ro` URI and `query_only`; `execute` runs one
  statement only; a progress handler and a string/blob length limit bound the time.
- Other SQLAlchemy URLs (MySQL, ...) go through SQLAlchemy with a read-only
  session; there the database role is the guard (use one that can only SELECT).

Database values may hold secrets: messages name the database, never print its
value, and mask anything that looks like a password.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kpitrack.domain import codes
from kpitrack.domain.model import Kpi, Source
from kpitrack.domain.problems import Problem
from kpitrack.reading import rules
from kpitrack.reading.localconfig import MissingVariable, expand_env
from kpitrack.reading.sources.base import (
    Connections,
    Params,
    SourceContext,
    SourceError,
    register,
    text_field,
)
from kpitrack.reading.yamlnodes import Map, Node

_PARAMS = ("period_start", "period_end", "as_of")
_PARAM = re.compile(r"(?<![:\w]):(period_start|period_end|as_of)\b")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_SQLITE_URL = re.compile(r"sqlite(\+\w+)?://(/?)(.*)", re.DOTALL)
_POSTGRES_URL = re.compile(r"(postgresql|postgres)(\+\w+)?://", re.IGNORECASE)
# A libpq key=value connection string: `host=db dbname=app password=...`.
_DSN = re.compile(r"\s*[A-Za-z_]+\s*=")
_SECRETS = (
    # user:password@ in a URL
    (re.compile(r"(://[^/\s:@]*:)[^@\s]*@"), r"\1***@"),
    # password=..., pwd=..., passfile=... in a key=value string or a URL query
    (
        re.compile(
            r"((?:password|passwd|pwd|passfile|sslpassword)\s*=\s*)('[^']*'|[^\s&;]*)", re.I
        ),
        r"\1***",
    ),
)
# SQLite: a string or blob a query may build (randomblob(900000000) is refused at once).
SQLITE_MAX_LENGTH = 16 * 1024 * 1024
# The first word of the query, after leading comments: a courtesy check only.
_LEADING = re.compile(r"(\s+|--[^\n]*(\n|$)|/\*.*?\*/)*", re.DOTALL)


@dataclass(frozen=True)
class SqlSpec:
    sql: str
    database: str


def mask_secrets(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` with passwords (URL user info, `password=`) and each of `secrets` masked."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def first_word_problem(sql: str) -> str | None:
    """KT051, a courtesy: the query must start with SELECT, WITH, VALUES or TABLE.

    The database enforces read-only (module docstring); this only catches a
    mistake early, in `check`.
    """
    leading = _LEADING.match(sql)
    rest = sql[leading.end() :] if leading else sql
    word = re.match(r"[A-Za-z]+|\(", rest)
    if word is not None and word.group(0).lower() in ("select", "with", "values", "table", "("):
        return None
    shown = rules.quote(word.group(0) if word else rest[:20] or "nothing")
    return f"sql must be one query starting with SELECT or WITH, got {shown}"


class SqlKind:
    kind = "sql"
    keys: Mapping[str, str] = {
        "sql": "one query (SELECT or WITH); bound parameters :period_start, :period_end, :as_of",
        "database": "a database name from the local config's [databases]",
    }

    def parse(
        self, out: list[Problem], fields: Mapping[str, Node], node: Map, where: str
    ) -> tuple[Hashable, str] | None:
        sql = text_field(out, fields, node, where, self.kind, "sql")
        database = text_field(out, fields, node, where, self.kind, "database")
        if sql is not None:
            problem = first_word_problem(sql)
            if problem:
                rules.error(out, fields["sql"], codes.KT051, f"{where}: {problem}")
        if database is not None and (_URL.match(database.strip()) or "=" in database):
            if "://" not in database or "@" not in database:  # else credential_problems did
                rules.error(
                    out,
                    fields["database"],
                    codes.KT052,
                    f"{where}: database must be a name from the local config's [databases], "
                    "not a connection string: connection strings and credentials stay out "
                    "of KPI files",
                )
            return None
        if sql is None or database is None:
            return None
        return SqlSpec(sql, database), database

    def check(self, kpi: Kpi, source: Source, ctx: SourceContext) -> list[Problem]:
        """KT053: a database the local config does not name (only when it names some:
        where no local config defines databases, as in CI, there is nothing to check)."""
        spec = _spec(source)
        names = [name for name, _value in ctx.local.databases]
        if not names or spec.database in names:
            return []
        from kpitrack.domain.suggest import did_you_mean

        out: list[Problem] = []
        rules.error(
            out,
            source.where("database"),
            codes.KT053,
            f"KPI '{kpi.id}': source: unknown database '{spec.database}'"
            f"{did_you_mean(spec.database, names)} "
            f"(the local config's [databases] names: {', '.join(names)})",
        )
        return out

    def run(self, kpi: Kpi, source: Source, params: Params, ctx: SourceContext) -> object:
        spec = _spec(source)
        value = ctx.local.database(spec.database)
        if value is None:
            raise SourceError(
                f"unknown database '{spec.database}': name it in [databases] of "
                "kpitrack.local.toml or ~/.config/kpitrack/config.toml"
            )
        try:
            url = expand_env(value, ctx.environ).strip()
        except MissingVariable as exc:
            raise SourceError(str(exc)) from None
        timeout = ctx.timeout(source)
        path = _sqlite_path(url, ctx.root)
        if path is not None:
            return run_sqlite(path, spec.sql, params, timeout, ctx.connections)
        try:
            if _POSTGRES_URL.match(url) or (_DSN.match(url) and "://" not in url):
                return run_postgres(_libpq(url), spec.sql, params, timeout)
            return run_sqlalchemy(url, spec.sql, params, timeout)
        except SourceError as exc:
            raise SourceError(mask_secrets(str(exc), [url, value])) from None


def _spec(source: Source) -> SqlSpec:
    assert isinstance(source.spec, SqlSpec)
    return source.spec


def _libpq(url: str) -> str:
    """A libpq connection string: SQLAlchemy's `postgresql+driver://` loses `+driver`."""
    m = _POSTGRES_URL.match(url)
    return "postgresql://" + url[m.end() :] if m else url


def _sqlite_path(url: str, root: Path) -> Path | None:
    """The file of a SQLite URL (any driver) or plain path; None for another database.

    A relative path is relative to the workspace root (kpitrack.toml's folder).
    """
    m = _SQLITE_URL.fullmatch(url)
    if m is not None:
        rest = m.group(3).split("?", 1)[0]
        if not m.group(2) or not rest:
            raise SourceError("a SQLite URL must name a file: sqlite:///relative or sqlite:////abs")
        path = Path(urllib.parse.unquote(rest))
    elif "://" in url or _DSN.match(url):
        return None
    else:
        path = Path(url)
    return path if path.is_absolute() else root / path


def _bound(sql: str, params: Params, *, as_text: bool) -> dict[str, object]:
    used = set(_PARAM.findall(sql))
    return {
        name: getattr(params, name).isoformat() if as_text else getattr(params, name)
        for name in _PARAMS
        if name in used
    }


def _scalar_row(rows: Sequence[Sequence[object]]) -> object:
    if not rows:
        raise SourceError("the query returned no row (it must return one row, one column)")
    if len(rows) > 1:
        raise SourceError("the query returned more than one row (it must return one)")
    if len(rows[0]) != 1:
        raise SourceError(f"the query returned {len(rows[0])} columns (it must return one)")
    return rows[0][0]


# ---------------------------------------------------------------- SQLite


def run_sqlite(
    path: Path, sql: str, params: Params, timeout: float, connections: Connections | None = None
) -> object:
    """One statement on a read-only connection, interrupted at the deadline.

    With `connections`, the connection stays open there for the next query on the same
    file with the same timeout (collect: one connection per database, not per KPI):
    the same read-only mode and limits hold for every query on it, each query gets its
    own deadline, its statement is reset when read (no read transaction stays open).
    After an error, or a statement that is not a query (it could change the connection's
    settings), the connection is closed and the next query opens a new one.
    """
    # Messages never show the path: the local config's value is never printed (a value
    # without a scheme may be a mistyped URL with a password).
    if not path.is_file():
        raise SourceError("cannot open SQLite database: no such file")
    key = ("sqlite", str(path), timeout)
    kept = connections.get(key) if connections is not None else None
    deadline = time.monotonic() + timeout
    if isinstance(kept, sqlite3.Connection):
        conn = kept
    else:
        uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=timeout)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot open SQLite database: {exc}") from None
    reuse = False
    try:
        if conn is not kept:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQLITE_MAX_LENGTH)
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            conn.execute("PRAGMA query_only = ON")
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1_000)
        cursor = conn.execute(sql, _bound(sql, params, as_text=True))  # one statement only
        try:
            rows = cursor.fetchmany(2)
        finally:
            cursor.close()  # resets the statement: no read transaction stays open
        # Kept only after a query (which cannot change the connection's settings) that
        # left no transaction open: not after a PRAGMA, BEGIN, ATTACH and the like.
        reuse = (
            connections is not None and first_word_problem(sql) is None and not conn.in_transaction
        )
    except (sqlite3.Error, sqlite3.Warning) as exc:
        if time.monotonic() > deadline:
            raise SourceError(f"the query timed out after {timeout:g} s") from None
        raise SourceError(f"query failed: {exc}") from None
    finally:
        if reuse and connections is not None:
            if conn is not kept:
                connections.keep(key, conn)
        elif conn is kept and connections is not None:
            connections.drop(key)  # closes it
        else:
            conn.close()
    return _scalar_row(rows)


# ---------------------------------------------------------------- PostgreSQL


def _psycopg_query(sql: str) -> str:
    """`:period_start` → `%(period_start)s`; a literal `%` → `%%`."""
    return _PARAM.sub(lambda m: f"%({m.group(1)})s", sql.replace("%", "%%"))


def run_postgres(conninfo: str, sql: str, params: Params, timeout: float) -> object:
    """One prepared statement in a READ ONLY transaction that is always rolled back."""
    try:
        import psycopg
    except ImportError:
        raise SourceError("PostgreSQL needs psycopg: pip install 'kpitrack[postgres]'") from None
    millis = max(1, int(timeout * 1000))

    def work() -> object:
        try:
            conn = psycopg.connect(
                conninfo,
                autocommit=False,
                connect_timeout=max(1, math.ceil(timeout)),
                options=f"-c default_transaction_read_only=on -c statement_timeout={millis}",
            )
        except psycopg.Error as exc:
            raise SourceError(f"cannot connect: {_first_line(exc)}") from None
        try:
            conn.read_only = True  # every transaction begins READ ONLY
            with conn.cursor() as cur:
                cur.execute("SET TRANSACTION READ ONLY")
                # prepare=True: the extended protocol, which refuses several statements.
                cur.execute(_psycopg_query(sql), _bound(sql, params, as_text=False), prepare=True)
                if cur.description is None:
                    raise SourceError("the statement returned no rows (it must be a query)")
                return _scalar_row([tuple(r) for r in cur.fetchmany(2)])
        except psycopg.errors.QueryCanceled:
            raise SourceError(f"the query timed out after {timeout:g} s") from None
        except psycopg.Error as exc:
            raise SourceError(f"query failed: {_first_line(exc)}") from None
        finally:
            try:
                conn.rollback()
            finally:
                conn.close()

    return _in_thread(work, timeout)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _in_thread(work: Callable[[], object], timeout: float) -> object:
    """`work()` in a thread, given up on shortly after `timeout` (the server's own timeout
    usually ends it first)."""
    result: list[object] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout + 2)
    if worker.is_alive():
        raise SourceError(f"the query timed out after {timeout:g} s")
    if failure:
        exc = failure[0]
        if isinstance(exc, SourceError):
            raise exc
        raise SourceError(f"query failed: {_first_line(exc)}")
    return result[0]


# ---------------------------------------------------------------- other databases


def run_sqlalchemy(url: str, sql: str, params: Params, timeout: float) -> object:
    """Other databases (MySQL, ...) through SQLAlchemy, in a read-only session."""
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
        raise SourceError("the database value in the local config is not a valid URL") from None
    backend = parsed.get_backend_name()
    millis = max(1, int(timeout * 1000))
    connect_args: dict[str, object] = {}
    if backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": max(1, round(timeout))}

    def work() -> object:
        try:
            engine = sqlalchemy.create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
        except ImportError as exc:
            raise SourceError(f"the database driver is not installed: {exc}") from None
        except Exception as exc:
            raise SourceError(f"unsupported database URL: {_first_line(exc)}") from None
        try:
            with engine.connect() as conn:
                if backend in ("mysql", "mariadb"):
                    conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
                    conn.exec_driver_sql(f"SET SESSION MAX_EXECUTION_TIME={millis}")
                rows = conn.execute(
                    sqlalchemy.text(sql), _bound(sql, params, as_text=False)
                ).fetchmany(2)
                conn.rollback()
                return _scalar_row([tuple(r) for r in rows])
        except SourceError:
            raise
        except ImportError as exc:
            raise SourceError(f"the database driver is not installed: {exc}") from None
        except Exception as exc:
            original = getattr(exc, "orig", None) or exc
            kind = "cannot connect" if "connect" in type(exc).__name__.lower() else "query failed"
            raise SourceError(f"{kind}: {_first_line(original)}") from None
        finally:
            engine.dispose()

    return _in_thread(work, timeout)


SQL = register(SqlKind())
