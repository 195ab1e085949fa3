"""collect keeps one SQLite connection per database for the run (`Connections`), not
one per KPI: every query on a kept connection gives what a fresh connection gives
(value or message), read-only and limits hold, no read transaction stays open between
queries, an error or a statement that is not a query closes the connection, and the run
closes them all before it writes."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_collect import SIGNUPS_SQL, entries, kpi, make_sqlite, run, workspace

from kpitrack.domain.periods import parse_period
from kpitrack.reading.sources import Connections, Params, SourceError
from kpitrack.reading.sources.sql import run_sqlite

W47 = parse_period("2026-W47")
PARAMS = Params(W47, W47.end)
COUNT = "SELECT count(*) FROM users WHERE created_at >= :period_start AND created_at < :period_end"
# What a KPI's query may be (and what run_sqlite refuses): values, no row, several rows,
# NULL, text, errors, writes, statements that would change the connection's settings.
QUERIES = (
    COUNT,
    "SELECT max(id) FROM users",
    "SELECT id FROM users WHERE id < 0",
    "SELECT id FROM users",
    "SELECT NULL",
    "SELECT 'twelve'",
    "SELECT 1, 2",
    "SELECT * FROM missing_table",
    "SELECT 1; SELECT 2",
    "WITH x AS (SELECT 3) SELECT * FROM x",
    "VALUES (7)",
    "(SELECT 8)",
    "DELETE FROM users",
    "CREATE TEMP TABLE t (a)",
    "PRAGMA query_only = OFF",
    "PRAGMA query_only",
    "BEGIN",
    "ATTACH DATABASE ':memory:' AS other",
    "SELECT :as_of",
)


def outcome(path: Path, sql: str, connections: Connections | None) -> object:
    try:
        return ("value", run_sqlite(path, sql, PARAMS, 5, connections))
    except SourceError as exc:
        return ("error", str(exc))


def kept(connections: Connections, path: Path) -> object:
    return connections.get(("sqlite", str(path), 5))


def open_files(path: Path) -> int:
    """How many of this process's file descriptors are open on `path` (Linux)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc/self/fd")
    count = 0
    for fd in os.listdir(fds):
        try:
            count += os.readlink(fds / fd) == str(path.resolve())
        except OSError:
            continue
    return count


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("connections") / "app.db"
    make_sqlite(path)
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(QUERIES), min_size=1, max_size=10))
def test_a_kept_connection_gives_what_a_fresh_one_gives(database: Path, queries: list[str]) -> None:
    connections = Connections()
    try:
        for sql in queries:
            assert outcome(database, sql, connections) == outcome(database, sql, None), sql
            connection = kept(connections, database)
            if connection is not None:  # still read-only, out of any transaction
                assert isinstance(connection, sqlite3.Connection)
                assert connection.execute("PRAGMA query_only").fetchone() == (1,)
                assert not connection.in_transaction
    finally:
        connections.close()
    assert open_files(database) == 0
    check = sqlite3.connect(database)
    try:
        assert check.execute("SELECT count(*) FROM users").fetchone() == (17,)
    finally:
        check.close()


def test_one_connection_for_the_queries_and_none_after_an_error(database: Path) -> None:
    connections = Connections()
    assert outcome(database, COUNT, connections) == ("value", 12)
    first = kept(connections, database)
    assert isinstance(first, sqlite3.Connection)
    assert outcome(database, "SELECT max(id) FROM users", connections) == ("value", 104)
    assert kept(connections, database) is first
    assert open_files(database) == 1
    # An error closes it; the next query opens a new one.
    failed = outcome(database, "SELECT * FROM missing_table", connections)
    assert failed == ("error", "query failed: no such table: missing_table")
    assert kept(connections, database) is None
    assert open_files(database) == 0
    assert outcome(database, COUNT, connections) == ("value", 12)
    assert kept(connections, database) not in (None, first)
    connections.close()
    assert kept(connections, database) is None
    assert open_files(database) == 0


def test_no_read_transaction_stays_open_between_queries(tmp_path: Path) -> None:
    """A query that returned more rows than were read leaves no lock, even while its
    failure is still being handled: another program can write (without waiting) while
    the connection is kept, and the next query sees the new row."""
    path = tmp_path / "app.db"
    make_sqlite(path)
    connections = Connections()
    try:
        try:
            run_sqlite(path, "SELECT id FROM users", PARAMS, 5, connections)
        except SourceError as exc:
            assert str(exc) == "the query returned more than one row (it must return one)"
            assert kept(connections, path) is not None
            writer = sqlite3.connect(path, timeout=0)
            try:
                writer.execute("INSERT INTO users VALUES (999, '2026-11-20')")
                writer.commit()
            finally:
                writer.close()
        assert outcome(path, COUNT, connections) == ("value", 13)
    finally:
        connections.close()


def test_each_query_on_a_kept_connection_has_its_own_deadline(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    make_sqlite(path)
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    connections = Connections()
    try:
        assert run_sqlite(path, COUNT, PARAMS, 1, connections) == 12
        with pytest.raises(SourceError, match="timed out after 1 s"):
            run_sqlite(path, endless, PARAMS, 1, connections)
        assert run_sqlite(path, COUNT, PARAMS, 1, connections) == 12
    finally:
        connections.close()


def test_collect_of_many_kpis_on_one_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the command: each KPI its own value, a failing KPI in between changes
    nothing for the others, and the run leaves no connection open."""
    monkeypatch.chdir(tmp_path)
    make_sqlite(tmp_path / "app.db")
    by_id = 'sql: "SELECT count(*) FROM users WHERE id >= {0}"\ndatabase: app\n'
    kpis = [kpi(f"k{n}", by_id.format(n)) for n in (0, 5, 10)]
    kpis.insert(2, kpi("broken", 'sql: "SELECT nope FROM users"\ndatabase: app\n'))
    kpis.append(kpi("signups", SIGNUPS_SQL))
    _, m = workspace(tmp_path, kpis, toml='[databases]\napp = "app.db"\n')
    result = run()
    assert result.code == 1
    assert result.stderr == (
        "kpitrack: collect: KPI 'broken' 2026-W47 (sql: app): query failed: no such column: nope\n"
    )
    day = dt.date(2026, 11, 22)
    assert [(e["kpi"], e["date"], e["value"]) for e in entries(m)] == [
        ("k0", day, 17),
        ("k5", day, 12),
        ("k10", day, 7),
        ("signups", day, 12),
    ]
    assert open_files(tmp_path / "app.db") == 0
