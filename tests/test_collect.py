"""`kpitrack collect`: sources (SQLite, PostgreSQL, CSV, commands), failures, timeouts, security."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from support import Ran, command, free_port, invoke

from kpitrack.domain.periods import parse_period
from kpitrack.reading.localconfig import expand_env
from kpitrack.reading.sources import Params, SourceError
from kpitrack.reading.sources.sql import _libpq, first_word_problem, run_postgres, run_sqlite

AS_OF = "2026-11-25"  # a Wednesday: the latest ended ISO week is 2026-W47 (Nov 16-22)
PY = sys.executable


def kpi(kpi_id: str, source: str, frequency: str = "weekly", extra: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(source).strip("\n"), "      ")
    return (
        f"  - id: {kpi_id}\n    name: {kpi_id}\n    measure: counted from the source below\n"
        f"    target: 10\n    frequency: {frequency}\n    owner: ops\n{extra}"
        f"    source:\n{body}\n"
    )


def workspace(
    folder: Path, kpis: list[str], *, toml: str = "", measurements: str = "", shared: str = ""
) -> tuple[Path, Path]:
    """`toml` goes into the local config (kpitrack.local.toml), `shared` into kpitrack.toml."""
    (folder / "kpitrack.toml").write_text(
        'files = ["kpis.yaml", "measurements.yaml"]\n' + textwrap.dedent(shared)
    )
    (folder / "kpitrack.local.toml").write_text(textwrap.dedent(toml))
    (folder / "kpis.yaml").write_text("kpis:\n" + "".join(kpis))
    m = folder / "measurements.yaml"
    m.write_text("# collected values below\nmeasurements:\n" + measurements)
    return folder / "kpis.yaml", m


def make_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER, created_at TEXT)")
    rows = [(i, f"2026-11-{16 + i % 7:02d}") for i in range(12)]  # 12 users in 2026-W47
    rows += [(100 + i, f"2026-11-{9 + i % 7:02d}") for i in range(5)]  # 5 in 2026-W46
    conn.executemany("INSERT INTO users VALUES (?, ?)", rows)
    conn.commit()
    conn.close()


SIGNUPS_SQL = """\
sql: "SELECT count(*) FROM users WHERE created_at >= :period_start AND created_at < :period_end"
database: app
"""


def run(*args: str) -> Ran:
    return invoke("collect", "--as-of", AS_OF, *args)


def entries(path: Path) -> list[dict[str, Any]]:
    import yaml

    return list(yaml.safe_load(path.read_text())["measurements"] or [])


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------- SQLite


def test_sqlite_value_is_written_with_by_and_note_and_rerun_is_idempotent(here: Path) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(here, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    result = run()
    assert result.code == 0, result.output
    assert "signups 2026-W47: 12" in result.stdout
    assert m.read_text().startswith("# collected values below\nmeasurements:\n")
    [entry] = entries(m)
    assert entry["value"] == 12 and str(entry["date"]) == "2026-11-22"
    assert entry["by"] == "collect" and entry["note"] == "collected from sql: app"
    before = m.read_bytes()
    again = run()
    assert again.code == 0
    assert again.stdout == ""  # quiet when nothing was added
    assert m.read_bytes() == before


def test_archived_kpis_are_collected_only_when_named(here: Path) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(
        here,
        [kpi("signups", SIGNUPS_SQL, extra="    archived: true\n")],
        toml='[databases]\napp = "app.db"\n',
    )
    result = run()
    assert result.code == 0, result.output
    assert entries(m) == []
    result = run("--kpi", "signups")
    assert result.code == 0, result.output
    assert [e["value"] for e in entries(m)] == [12]


def test_backfill_max_periods_and_explicit_period(here: Path) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(here, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    assert run("--max-periods", "2").code == 0
    assert [(str(e["date"]), e["value"]) for e in entries(m)] == [
        ("2026-11-15", 5),
        ("2026-11-22", 12),
    ]
    result = run("--period", "2026-W45")
    assert result.code == 0
    assert entries(m)[-1]["value"] == 0
    unfinished = run("--period", "2026-W48")
    assert unfinished.code == 2
    assert "has not ended" in unfinished.output


def test_concurrent_collects_write_each_value_once(here: Path) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(here, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    argv = command("collect", "--as-of", AS_OF, "--max-periods", "2")
    procs = [subprocess.Popen(argv, cwd=here, stdout=subprocess.PIPE) for _ in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    for p in procs:
        assert p.stdout is not None
        p.stdout.close()
    assert [(e["kpi"], str(e["date"])) for e in entries(m)] == [
        ("signups", "2026-11-15"),
        ("signups", "2026-11-22"),
    ]


def test_dry_run_and_test_write_nothing_and_json(here: Path) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(here, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    before = m.read_bytes()
    dry = run("--dry-run", "--format", "json")
    assert dry.code == 0
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True
    assert doc["collected"] == [
        {
            "kpi": "signups",
            "period": "2026-W47",
            "date": "2026-11-22",
            "value": 12,
            "source": "sql: app",
            "written": False,
        }
    ]
    assert m.read_bytes() == before
    assert run().code == 0
    after = m.read_bytes()
    test = run("--test")  # runs even though the period has a value now
    assert test.code == 0
    assert "signups 2026-W47: 12" in test.stdout and "nothing written" in test.stdout
    assert m.read_bytes() == after
    written = json.loads(run("--format", "json", "--period", "2026-W46").stdout)
    assert written["collected"][0]["written"] is True and written["failed"] == []


def test_failure_is_per_kpi_exit_1_and_other_values_are_written(here: Path) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(
        here,
        [kpi("signups", SIGNUPS_SQL), kpi("down", SIGNUPS_SQL.replace("app", "gone"))],
        toml='[databases]\napp = "app.db"\ngone = "missing.db"\n',
    )
    result = run()
    assert result.code == 1
    assert "KPI 'down' 2026-W47 (sql: gone): cannot open SQLite database" in result.output
    assert [e["kpi"] for e in entries(m)] == ["signups"]


def test_nothing_partial_for_one_kpi(here: Path) -> None:
    (here / "deploys.csv").write_text("date,count\n2026-11-18,4\n")  # W47 only, W46 missing
    source = "csv: deploys.csv\ndate_column: date\nvalue_column: count\n"
    _, m = workspace(here, [kpi("deploys", source)])
    result = run("--max-periods", "2")
    assert result.code == 1
    assert "no row in 2026-W46" in result.output
    assert entries(m) == []


def test_sqlite_query_that_hangs_times_out(here: Path) -> None:
    make_sqlite(here / "app.db")
    endless = (
        'sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) '
        'SELECT count(*) FROM n"\ndatabase: app\ntimeout: 1\n'
    )
    _, m = workspace(here, [kpi("slow", endless)], toml='[databases]\napp = "app.db"\n')
    result = run()
    assert result.code == 1
    assert "timed out after 1 s" in result.output
    assert entries(m) == []


def test_sqlite_write_is_refused_by_check_and_by_the_read_only_connection(here: Path) -> None:
    make_sqlite(here / "app.db")
    deleting = 'sql: "DELETE FROM users"\ndatabase: app\n'
    workspace(here, [kpi("evil", deleting)], toml='[databases]\napp = "app.db"\n')
    checked = invoke("check")
    assert checked.code == 1
    assert "error KT051" in checked.stdout
    assert run().code == 2  # the workspace is refused as a whole
    params = Params(parse_period("2026-W47"), parse_period("2026-W47").end)
    for sql in ("DELETE FROM users", "CREATE TABLE x (a)", "PRAGMA query_only = OFF"):
        with pytest.raises(SourceError):
            run_sqlite(here / "app.db", sql, params, 5)
    count = sqlite3.connect(here / "app.db").execute("SELECT count(*) FROM users").fetchone()
    assert count == (17,)


def test_database_url_from_environment(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(
        here, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "${APP_DB_URL}"\n'
    )
    monkeypatch.delenv("APP_DB_URL", raising=False)
    missing = run()
    assert missing.code == 1
    assert "environment variable APP_DB_URL is not set" in missing.output
    monkeypatch.setenv("APP_DB_URL", f"sqlite:///{here / 'app.db'}")
    assert run().code == 0
    assert entries(m)[0]["value"] == 12
    assert expand_env("a${X}b", {"X": "1"}) == "a1b"


def test_qualitative_and_progress_values(here: Path) -> None:
    make_sqlite(here / "app.db")
    qualitative = (
        "  - id: mood\n    name: mood\n    measure: weekly team survey median answer\n"
        "    kind: qualitative\n    scale: [bad, ok, good]\n    target: good\n"
        "    frequency: weekly\n    owner: ops\n    source:\n"
        '      sql: "SELECT 3"\n      database: app\n      scale_map: {1: bad, 2: ok, 3: good}\n'
    )
    progress = (
        "  - id: rollout\n    name: rollout\n    measure: percent of hosts on the new kernel\n"
        "    kind: progress\n    frequency: weekly\n    owner: ops\n    source:\n"
        '      sql: "SELECT 140"\n      database: app\n'
    )
    _, m = workspace(
        here, [qualitative, progress], toml='[databases]\napp = "sqlite+pysqlite:///app.db"\n'
    )
    result = run()
    assert result.code == 1
    assert "KPI 'rollout' 2026-W47 (sql: app): the source gave 140, outside 0-100" in result.output
    assert [(e["kpi"], e["value"]) for e in entries(m)] == [("mood", "good")]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[databases]\napp = 5\n", "[databases] must map names to connection URLs"),
        ("collect_timeout = 0\n", "'collect_timeout' must be a number of seconds"),
        ("allow_commands = 'yes'\n", "'allow_commands' must be true or false"),
        ("allow_comands = true\n", "unknown key 'allow_comands' (did you mean 'allow_commands'?)"),
    ],
)
def test_bad_collect_settings_are_usage_errors(here: Path, toml: str, message: str) -> None:
    _, m = workspace(here, [kpi("signups", SIGNUPS_SQL)], toml=toml)
    before = m.read_bytes()
    result = run()
    assert result.code == 2
    assert message in result.output
    assert m.read_bytes() == before


# ---------------------------------------------------------------- CSV


def test_csv_newest_row_of_the_period_matching_the_filter(here: Path) -> None:
    (here / "deploys.csv").write_text(
        "date,team,count\n2026-11-16,web,3\n2026-11-20T10:00,web,5\n"
        "2026-11-21,api,9\n2026-11-23,web,1\n"
    )
    source = "csv: deploys.csv\ndate_column: date\nvalue_column: count\nfilter: {team: web}\n"
    _, m = workspace(here, [kpi("deploys", source)])
    result = run()
    assert result.code == 0, result.output
    assert [(e["value"], e["note"]) for e in entries(m)] == [(5, "collected from csv: deploys.csv")]


def test_csv_non_numeric_value_fails(here: Path) -> None:
    (here / "deploys.csv").write_text("date,count\n2026-11-18,lots\n")
    _, m = workspace(
        here, [kpi("deploys", "csv: deploys.csv\ndate_column: date\nvalue_column: count\n")]
    )
    result = run()
    assert result.code == 1
    assert "the source gave 'lots', not a number" in result.output
    assert entries(m) == []


# ---------------------------------------------------------------- commands


PROGRAM = 'import os; print(7 if os.environ["KPITRACK_PERIOD"] == "2026-W47" else 0)'
COMMAND = f"command: [{PY}, -c, {json.dumps(PROGRAM)}]\n"


def test_command_runs_only_when_kpitrack_toml_allows_it(here: Path) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(
        here,
        [kpi("cmd", COMMAND), kpi("signups", SIGNUPS_SQL)],
        toml='[databases]\napp = "app.db"\n',
    )
    off = run()
    assert off.code == 1
    assert "allow_commands = true" in off.output
    assert [e["kpi"] for e in entries(m)] == ["signups"]
    checked = invoke("check")
    assert "warning KT121" in checked.stdout
    (here / "kpitrack.local.toml").write_text(
        'allow_commands = true\n[databases]\napp = "app.db"\n'
    )
    on = run()
    assert on.code == 0, on.output
    assert [(e["kpi"], e["value"], e["note"]) for e in entries(m)][-1] == (
        "cmd",
        7,
        f"collected from command: {PY}",
    )


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("print('many things')", "not a number"),
        ("import sys; sys.exit(3)", "exited with status 3"),
        ("import time; time.sleep(30)", "timed out after 1 s"),
        ("import sys; print(len(sys.stdin.read()))", None),  # no stdin: reads nothing
        ("print(1); print(2)", "exactly one number"),
        ("print('9' * 5000)", "not a number"),
        ("print('1e400')", "not a finite number"),
    ],
)
def test_command_failures(here: Path, program: str, message: str | None) -> None:
    source = f"command: [{PY}, -c, {json.dumps(program)}]\ntimeout: 1\n"
    _, m = workspace(here, [kpi("cmd", source)], toml="allow_commands = true\n")
    result = run()
    if message is None:
        assert result.code == 0 and entries(m)[0]["value"] == 0
    else:
        assert result.code == 1
        assert message in result.output
        assert entries(m) == []


def test_command_never_goes_through_a_shell(here: Path) -> None:
    source = "command: [echo, '5; touch pwned']\n"
    workspace(here, [kpi("cmd", source)], toml="allow_commands = true\n")
    result = run()
    assert result.code == 1  # `5; touch pwned` is one argument: not a number
    assert not (here / "pwned").exists()


# ---------------------------------------------------------------- check


def test_check_reports_located_source_problems(here: Path) -> None:
    (here / "deploys.csv").write_text("date,count\n")
    kpis = [
        kpi("a", 'sql: "SELECT 1"\ndatabase: "postgresql://bob:secret@db/app"\n'),
        kpi("b", 'sql: "SELECT 1"\ndatabase: ap\n'),
        kpi("c", "command: ./count --week\n"),
        kpi("d", "csv: deploys.csv\ndate_column: day\nvalue_column: count\n"),
        kpi("e", 'sql: "DROP TABLE users"\ndatabase: app\ntimeout: -1\n'),
        kpi("f", "csv: x.csv\nsql: SELECT 1\n"),
    ]
    qualitative = (
        "  - id: q\n    name: q\n    measure: answer of the survey\n    kind: qualitative\n"
        "    scale: [poor, good]\n    target: good\n    frequency: weekly\n    owner: ops\n"
        "    source:\n      sql: SELECT 1\n      database: app\n"
    )
    workspace(here, [*kpis, qualitative], toml='[databases]\napp = "app.db"\n')
    result = invoke("check")
    assert result.code == 1
    out = result.stdout
    for line in (
        "kpis.yaml:10:17: error KT052 KPI 'a': a URL with a password in a KPI file",
        "kpis.yaml:19:17: error KT053 KPI 'b': source: unknown database 'ap' (did you mean 'app'?)",
        "kpis.yaml:27:16: error KT054 KPI 'c': source: command must be a non-empty list",
        "kpis.yaml:36:20: error KT055 KPI 'd': source: deploys.csv has no column 'day'",
        "error KT051 KPI 'e': source: sql must be one query starting with SELECT or WITH",
        "error KT057 KPI 'e': source: timeout must be a number of seconds",
        "error KT050 KPI 'f': source needs exactly one of sql, csv or command, found sql and csv",
        "error KT056 KPI 'q': source: a qualitative KPI's source needs a scale_map",
    ):
        assert line in out, out
    assert out.count("KT052") == 1
    (here / "deploys.csv").unlink()
    missing = invoke("check").stdout
    assert [line for line in missing.splitlines() if "KT120" in line] == [
        "kpis.yaml:35:12: warning KT120 KPI 'd': source: CSV file deploys.csv does not exist "
        "(yet); collect will fail until it does"
    ]


@pytest.mark.parametrize(
    ("sql", "ok"),
    [
        ("SELECT count(*) FROM t WHERE d >= :period_start", True),
        ("  with x as (select 1) select * from x;  ", True),
        ("SELECT 'a; DELETE FROM t' AS s -- ; drop table t", True),
        ("SELECT replace(name, 'a', 'b') FROM t", True),
        # A courtesy only: the database enforces read-only (tests below).
        ("SELECT 1; SELECT 2", True),
        ("WITH d AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM d", True),
        ("DELETE FROM t", False),
        ("/* comment */ UPDATE t SET a = 1", False),
        ("-- note\n  drop table t", False),
        ("", False),
    ],
)
def test_sql_first_word_check(sql: str, ok: bool) -> None:
    assert (first_word_problem(sql) is None) is ok


# ---------------------------------------------------------------- PostgreSQL


def test_postgresql_value_timeout_and_down(
    here: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DB_URL", postgres_url)
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    slow = 'sql: "SELECT count(*) FROM (SELECT pg_sleep(10)) s"\ndatabase: app\ntimeout: 1\n'
    _, m = workspace(
        here,
        [
            kpi("signups", SIGNUPS_SQL),
            kpi("slow", slow),
            kpi("down", SIGNUPS_SQL.replace("app", "down")),
        ],
        toml=f'[databases]\napp = "${{APP_DB_URL}}"\ndown = "{down}"\n',
    )
    result = run()
    assert result.code == 1
    assert "KPI 'slow' 2026-W47 (sql: app): the query timed out after 1 s" in result.output
    assert "KPI 'down' 2026-W47 (sql: down): cannot connect" in result.output
    assert [(e["kpi"], e["value"]) for e in entries(m)] == [("signups", 12)]


def test_postgresql_session_is_read_only(postgres_url: str) -> None:
    params = Params(parse_period("2026-W47"), parse_period("2026-W47").end)
    conninfo = _libpq(postgres_url)
    with pytest.raises(SourceError, match="read-only transaction"):
        run_postgres(conninfo, "SELECT wipe()", params, 5)
    for sql in (
        "WITH d AS (DELETE FROM users RETURNING 1) SELECT count(*) FROM d",
        "SELECT count(*) FROM (SELECT 1) s; DELETE FROM users",
    ):
        with pytest.raises(SourceError):
            run_postgres(conninfo, sql, params, 5)
    assert run_postgres(conninfo, "SELECT count(*) FROM users", params, 5) == 12
