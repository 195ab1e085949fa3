"""`amend`, `--commit` (record, import, amend, review, collect), `record --dry-run` and
record's did-you-mean: each through the installed entry point, the many refusals
in-process (the same code path, without a process start each)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support import invoke, run_process

KPIS = """\
kpis:
  - id: mrr
    name: Monthly recurring revenue
    measure: Sum of active subscriptions at month end
    target: 100
    frequency: monthly
    owner: Sales
  - id: csat
    name: Customer satisfaction
    measure: Median answer of the quarterly customer survey
    kind: qualitative
    scale: [poor, fair, good]
    target: good
    frequency: quarterly
    owner: Support
"""
MEASUREMENTS = """\
# kept by hand
measurements:
  - kpi: mrr
    date: 2026-09-30
    value: 80
  - kpi: mrr
    date: 2026-10-31
    value: 1200   # a typo: 120
  - {kpi: csat, date: 2026-09-30, value: fair}
  - kpi: mrr
    date: 2026-08-10
    value: 70
  - kpi: mrr
    date: 2026-08-31
    value: 75
    note: recount
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS)
    (tmp_path / "measurements.yaml").write_text(MEASUREMENTS)
    (tmp_path / "kpitrack.toml").write_text(
        'files = ["kpis.yaml", "measurements.yaml"]\nmeasurements_file = "measurements.yaml"\n'
    )
    return tmp_path


def kt(folder: Path, *args: str, **extra: str):  # type: ignore[no-untyped-def]
    return run_process(*args, cwd=folder, timeout=60, extra_env=extra or None)


@pytest.fixture
def here(ws: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ws)
    return ws


def kt_in(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    """In-process, in `folder` (the `here` fixture's current folder)."""
    assert Path.cwd() == folder
    return invoke(*args)


# ---------------------------------------------------------------- amend


@pytest.mark.process
def test_amend_replaces_the_value_in_place(ws: Path) -> None:
    ran = kt(ws, "amend", "mrr", "--date", "2026-10", "120")
    assert ran.code == 0, ran.stderr
    assert "amended mrr for 2026-10 in measurements.yaml:6: 1,200 → 120" in ran.stdout
    assert "mrr: " in ran.stdout
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS.replace(
        "value: 1200   # a typo", "value: 120   # a typo"
    )


def test_amend_by_a_day_in_the_period_adds_a_note(here: Path) -> None:
    ws = here
    ran = kt_in(ws, "amend", "mrr", "--date", "2026-10-03", "120", "--note", "typo: fixed")
    assert ran.code == 0, ran.stderr
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS.replace(
        "value: 1200   # a typo: 120\n", 'value: 120   # a typo: 120\n    note: "typo: fixed"\n'
    )


def test_amend_a_flow_entry_and_a_label(here: Path) -> None:
    ws = here
    ran = kt_in(ws, "amend", "csat", "--date", "2026-Q3", "good", "--note", "re-counted")
    assert ran.code == 0, ran.stderr
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS.replace(
        "{kpi: csat, date: 2026-09-30, value: fair}",
        "{kpi: csat, date: 2026-09-30, value: good, note: re-counted}",
    )


@pytest.mark.process
def test_amend_dry_run_shows_before_and_after(ws: Path) -> None:
    ran = kt(ws, "amend", "mrr", "--date", "2026-10", "120", "--dry-run")
    assert ran.code == 0, ran.stderr
    assert ran.stdout == (
        "measurements.yaml:8: -    value: 1200   # a typo: 120\n"
        "measurements.yaml:8: +    value: 120   # a typo: 120\n"
        "dry run: nothing written\n"
    )
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS
    ran = kt(ws, "amend", "csat", "--date", "2026-09-01", "good", "--note", "checked", "--dry-run")
    assert ran.stdout == (
        "measurements.yaml:9: -  - {kpi: csat, date: 2026-09-30, value: fair}\n"
        "measurements.yaml:9: +  - {kpi: csat, date: 2026-09-30, value: good, note: checked}\n"
        "dry run: nothing written\n"
    )
    ran = kt(ws, "amend", "mrr", "--date", "2026-09", "81", "--note", "checked", "--dry-run")
    assert ran.stdout == (
        "measurements.yaml:5: -    value: 80\n"
        "measurements.yaml:5: +    value: 81\n"
        "measurements.yaml:6: +    note: checked\n"
        "dry run: nothing written\n"
    )
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["mrr", "--date", "2026-08", "71"],
            "KPI 'mrr' has 2 values for 2026-08: measurements.yaml:10:5 (2026-08-10, value 70); "
            "measurements.yaml:13:5 (2026-08-31, value 75)",
        ),
        (["mrr", "--date", "2026-11", "5"], "KPI 'mrr' has no value for 2026-11"),
        (["mrrr", "--date", "2026-10", "5"], "did you mean 'mrr'"),
        (["mrr", "--date", "2026-10", "lots"], "'lots' is not a number"),
        (["csat", "--date", "2026-Q3", "superb"], "superb"),
        (["mrr", "--date", "2026", "5"], "spans more than one monthly period"),
        (["mrr", "--date", "2026-10", "5", "--not", "x"], "No such option: --not"),
    ],
)
def test_amend_refusals_change_nothing(here: Path, args: list[str], message: str) -> None:
    ws = here
    ran = kt_in(ws, "amend", *args)
    assert ran.code == 2, ran.output
    assert message in ran.stderr
    assert "Traceback" not in ran.stderr
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS


def test_amend_to_the_same_value_writes_and_commits_nothing(here: Path) -> None:
    ran = kt_in(here, "amend", "mrr", "--date", "2026-09", "80", "--commit")
    assert ran.code == 2 and "not inside a git repository" in ran.output  # checked first
    git(here, "init", "-q", "-b", "main")
    ran = kt_in(here, "amend", "mrr", "--date", "2026-09", "80.0", "--commit")
    assert ran.code == 0, ran.output
    assert "mrr for 2026-09 in measurements.yaml:3 already reads 80; nothing written" in ran.stdout
    assert "committed" not in ran.stdout
    assert (here / "measurements.yaml").read_text() == MEASUREMENTS


def test_config_commit_must_be_true_or_false(tmp_path: Path) -> None:
    from kpitrack.domain.problems import UsageError
    from kpitrack.reading.config import read_config

    (tmp_path / "kpitrack.toml").write_text("commit = true\n")
    assert read_config(tmp_path / "kpitrack.toml").commit is True
    (tmp_path / "kpitrack.toml").write_text('commit = "yes"\n')
    with pytest.raises(UsageError, match="'commit' must be true or false"):
        read_config(tmp_path / "kpitrack.toml")


def test_a_dry_run_needs_no_repository(here: Path) -> None:
    ran = kt_in(here, "record", "mrr", "5", "--dry-run", "--commit")
    assert ran.code == 0, ran.output


def test_amend_to_a_negative_value(here: Path) -> None:
    ws = here
    ran = kt_in(ws, "amend", "mrr", "--date", "2026-10", "-5")
    assert ran.code == 0, ran.stderr
    assert "value: -5   # a typo" in (ws / "measurements.yaml").read_text()


# ---------------------------------------------------------------- record


@pytest.mark.process
def test_record_dry_run_writes_nothing(ws: Path) -> None:
    ran = kt(ws, "record", "mrr", "130", "--date", "2026-11", "--dry-run")
    assert ran.code == 0, ran.stderr
    assert ran.stdout == (
        "dry run: would record mrr = 130 on 2026-11-30 in measurements.yaml; nothing written\n"
    )
    ran = kt(ws, "record", "mrr", "80", "--date", "2026-09-30", "--dry-run", "--by", "")
    assert "is already recorded; nothing written" in ran.stdout
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS


@pytest.mark.parametrize(
    ("typo", "suggestion"), [("--notes", "--note"), ("--dat", "--date"), ("--dry", "--dry-run")]
)
def test_record_mistyped_options_get_a_did_you_mean(here: Path, typo: str, suggestion: str) -> None:
    ran = kt_in(here, "record", "mrr", "-12", typo, "x")
    assert ran.code == 2
    assert f"No such option: {typo}" in ran.output and suggestion in ran.output
    assert (here / "measurements.yaml").read_text() == MEASUREMENTS
    ran = kt_in(here, "record", "mrr", "-12", "--note=-3", "--date", "2026-11")  # still values
    assert ran.code == 0, ran.output
    assert 'value: -12\n    note: "-3"' in (here / "measurements.yaml").read_text()


@pytest.mark.process
def test_record_did_you_mean_from_the_entry_point(ws: Path) -> None:
    ran = kt(ws, "record", "mrr", "5", "--notes", "x")
    assert ran.code == 2
    assert "No such option: --notes (Possible options: --date, --note)" in ran.stderr


# ---------------------------------------------------------------- --commit


def git(folder: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=folder, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


NO_GLOBAL = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture
def repo(ws: Path) -> Path:
    git(ws, "init", "-q", "-b", "main")
    git(ws, "config", "user.name", "Lead")
    git(ws, "config", "user.email", "lead@example.org")
    git(ws, "add", ".")
    git(ws, "commit", "-qm", "start")
    return ws


@pytest.mark.process
def test_record_commit_commits_only_the_file_written(repo: Path) -> None:
    (repo / "kpis.yaml").write_text(KPIS + "# staged by the user\n")
    git(repo, "add", "kpis.yaml")
    (repo / "notes.txt").write_text("untracked\n")
    ran = kt(
        repo, "record", "mrr", "181000", "--date", "2026-11", "--by", "Ana", "--commit", **NO_GLOBAL
    )
    assert ran.code == 0, ran.stderr
    assert "committed " in ran.stdout and "kpitrack: record mrr 181000 (2026-11)" in ran.stdout
    log = git(repo, "log", "-1", "--format=%an <%ae>|%cn|%s", "--name-only")
    assert (
        log.splitlines()[0] == "Ana <lead@example.org>|Lead|kpitrack: record mrr 181000 (2026-11)"
    )
    assert log.split("\n", 1)[1].split() == ["measurements.yaml"]
    status = git(repo, "status", "--porcelain")
    assert "M  kpis.yaml" in status  # still staged, not committed
    assert "measurements.yaml\n" not in status  # committed: clean (the .lock sidecar aside)


@pytest.mark.process
def test_commit_outside_a_repository_is_a_usage_error_before_writing(ws: Path) -> None:
    ran = kt(
        ws, "record", "mrr", "5", "--commit", **NO_GLOBAL, GIT_CEILING_DIRECTORIES=str(ws.parent)
    )
    assert ran.code == 2
    assert "--commit" in ran.stderr and "not inside a git repository" in ran.stderr
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS


@pytest.mark.process
def test_a_failing_commit_keeps_the_write_and_exits_1(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    ran = kt(repo, "record", "mrr", "5", "--date", "2026-11", "--commit", **NO_GLOBAL)
    assert ran.code == 1
    assert "written but not committed (measurements.yaml)" in ran.stderr
    assert "hook says no" in ran.stderr
    assert "recorded mrr = 5" in ran.stdout
    assert "value: 5\n" in (repo / "measurements.yaml").read_text()
    assert git(repo, "log", "--format=%s") == "start\n"


@pytest.mark.process
def test_no_identity_is_a_failing_commit(ws: Path) -> None:
    git(ws, "init", "-q", "-b", "main")
    git(ws, "config", "user.useConfigOnly", "true")
    ran = kt(
        ws,
        "review",
        "mrr",
        "--commit",
        **NO_GLOBAL,
        EMAIL="",
        GIT_AUTHOR_EMAIL="",
        GIT_COMMITTER_EMAIL="",
    )
    assert ran.code == 1, ran.output
    assert "written but not committed (kpis.yaml)" in ran.stderr
    assert "last_reviewed" in (ws / "kpis.yaml").read_text()


@pytest.mark.process
def test_config_commit_true_is_the_default_and_no_commit_overrides(repo: Path) -> None:
    with (repo / "kpitrack.toml").open("a") as fh:
        fh.write("commit = true\n")
    git(repo, "commit", "-qam", "commit by default")
    ran = kt(repo, "amend", "mrr", "--date", "2026-10", "120", **NO_GLOBAL)
    assert ran.code == 0, ran.stderr
    assert git(repo, "log", "-1", "--format=%s") == "kpitrack: amend mrr 120 (2026-10), was 1200\n"
    ran = kt(repo, "amend", "mrr", "--date", "2026-10", "121", "--no-commit", **NO_GLOBAL)
    assert ran.code == 0 and "committed" not in ran.stdout
    assert "measurements.yaml" in git(repo, "status", "--porcelain")


@pytest.mark.process
def test_import_and_review_commit(repo: Path) -> None:
    (repo / "in.csv").write_text("kpi,date,value\nmrr,2026-11-30,90\nmrr,2026-12-01,91\n")
    ran = kt(repo, "import", "in.csv", "--commit", **NO_GLOBAL)
    assert ran.code == 0, ran.stderr
    assert git(repo, "log", "-1", "--format=%s") == "kpitrack: import 2 value(s) from in.csv\n"
    assert "?? in.csv" in git(repo, "status", "--porcelain")
    ran = kt(repo, "review", "csat", "--date", "2026-11-02", "--commit", **NO_GLOBAL)
    assert ran.code == 0, ran.stderr
    assert git(repo, "log", "-1", "--format=%s", "--name-only").split() == [
        "kpitrack:",
        "review",
        "csat",
        "(2026-11-02)",
        "kpis.yaml",
    ]


@pytest.mark.process
def test_a_new_file_is_committed(repo: Path) -> None:
    # A file git does not track yet; --to must name a file the workspace reads.
    (repo / "new.yaml").write_text("measurements:\n")
    files = ("-f", "kpis.yaml", "-f", "measurements.yaml", "-f", "new.yaml")
    ran = kt(repo, "record", "mrr", "5", *files, "--to", "new.yaml", "--commit", **NO_GLOBAL)
    assert ran.code == 0, ran.stderr
    assert git(repo, "log", "-1", "--format=", "--name-only").split() == ["new.yaml"]


@pytest.mark.process
def test_collect_commit(tmp_path: Path) -> None:
    from tests.test_collect import AS_OF, SIGNUPS_SQL, kpi, make_sqlite, workspace

    make_sqlite(tmp_path / "app.db")
    workspace(tmp_path, [kpi("signups", SIGNUPS_SQL)], toml='[databases]\napp = "app.db"\n')
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.name", "Lead")
    git(tmp_path, "config", "user.email", "lead@example.org")
    git(tmp_path, "add", "kpis.yaml", "measurements.yaml", "kpitrack.toml")
    git(tmp_path, "commit", "-qm", "start")
    ran = kt(tmp_path, "collect", "--as-of", AS_OF, "--commit", **NO_GLOBAL)
    assert ran.code == 0, ran.output
    assert git(tmp_path, "log", "-1", "--format=%s", "--name-only").split() == [
        "kpitrack:",
        "collect",
        "1",
        "value(s)",
        "measurements.yaml",
    ]


# ---------------------------------------------------------------- the text edit (pure)


@pytest.mark.parametrize(
    ("text", "value", "note", "expected"),
    [
        (  # no final line break: the note's line gets one before it
            "measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 5",
            6,
            "hi",
            "measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 6\n    note: hi",
        ),
        (  # CRLF kept, the comment after the value kept, the comment after the entry too
            "measurements:\r\n  - kpi: mrr\r\n    date: 2026-01-31\r\n    value: 5 # c\r\n"
            "  # next\r\n",
            6.5,
            "no",
            "measurements:\r\n  - kpi: mrr\r\n    date: 2026-01-31\r\n    value: 6.5 # c\r\n"
            '    note: "no"\r\n  # next\r\n',
        ),
        (  # an existing note is replaced, other keys stay in their order
            "measurements:\n- value: 5\n  note: old   # why\n  kpi: mrr\n  date: 2026-01-31\n",
            7,
            "new: text",
            'measurements:\n- value: 7\n  note: "new: text"   # why\n  kpi: mrr\n'
            "  date: 2026-01-31\n",
        ),
        (  # without a note, only the value changes
            "measurements:\n  - { kpi: mrr, date: 2026-01-31, value: 5, note: kept }\n",
            -1,
            None,
            "measurements:\n  - { kpi: mrr, date: 2026-01-31, value: -1, note: kept }\n",
        ),
    ],
)
def test_amend_entry_edits_only_the_value_and_note(
    text: str, value: float, note: str | None, expected: str
) -> None:
    from kpitrack.writing.yamlappend import amend_entry

    column = 3 if "\n- " in text else 5
    new, _first, _last = amend_entry(
        text, entry_line=2, entry_column=column, value=value, note=note, path="m.yaml"
    )
    assert new == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 5\n    note: |\n"
            "      two\n      lines\n",
            "block scalar",
        ),
        (
            "measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 5\n    note: a plain\n"
            "      note on two lines\n",
            "not written on one line",
        ),
    ],
)
def test_amend_entry_refuses_what_it_cannot_edit_safely(text: str, why: str) -> None:
    from kpitrack.domain.problems import WriteError
    from kpitrack.writing.yamlappend import amend_entry

    with pytest.raises(WriteError, match=why):
        amend_entry(text, entry_line=2, entry_column=5, value=6, note="x", path="m.yaml")
