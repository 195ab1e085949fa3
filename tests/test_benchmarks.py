"""Smoke test of benchmarks/: the generator's workspace is valid, the runner runs (no timings)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from support import invoke

from kpitrack.reading.config import Config
from kpitrack.reading.loading import load_workspace, resolve_paths

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def test_generated_workspace_is_valid_and_complete(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from generate import AS_OF, generate
    finally:
        sys.path.remove(str(BENCH))
    ws = generate(tmp_path / "w", kpis=10, measurements=95)
    paths = resolve_paths([ws], Config(), tmp_path)
    assert len(paths) > 3  # split over files: objectives, per-team KPIs, per-year measurements
    workspace, problems = load_workspace(paths, config=Config(), as_of=AS_OF)
    assert [p for p in problems if p.is_error] == []
    assert len(workspace.kpis) == 10
    assert len(workspace.measurements) == 95
    assert max(m.date for m in workspace.measurements) == AS_OF
    journal = (tmp_path / "w" / "journal.ledger").read_text(encoding="utf-8")
    assert journal.count("~ monthly") == 10
    assert journal.count("\n    measured") == 10 + 95
    assert isinstance(AS_OF, dt.date)


def start_runner() -> tuple[subprocess.Popen[str], str]:
    """The benchmark runner at its tiny size (--quick), as a background process
    (conftest.py)."""
    import tempfile

    data = tempfile.mkdtemp(prefix="kpitrack-bench-")
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--data", data],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, data


def help_commands() -> set[str]:
    """The commands `kpitrack --help` lists, other than `help`."""
    ran = invoke("--help")
    assert ran.code == 0, ran.output
    listed = ran.stdout.split("Commands:", 1)[1]
    names = {line.split()[0] for line in listed.splitlines() if line.startswith("  ")}
    assert {"status", "check", "report"} <= names  # the parse found the list
    return names - {"help"}


def table_rows(out: str) -> list[list[str]]:
    """The cells of each row of the runner's final table."""
    table = out.rsplit("## Table", 1)[1]
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| command | comparison (A / B) | goal |"), table
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[1:]]


@pytest.mark.process
@pytest.mark.slow  # about a hundred kpitrack processes, beside the rest of the suite
def test_runner_runs_every_comparison_at_a_tiny_size(
    background: tuple[subprocess.Popen[str], str],
) -> None:
    import shutil

    proc, data = background
    stdout, stderr = proc.communicate(timeout=600)
    shutil.rmtree(data, ignore_errors=True)
    assert proc.returncode == 0, stderr
    rows = table_rows(stdout)
    # A row for every command of `kpitrack --help`: a new command without a benchmark fails.
    missing = help_commands() - {row[0] for row in rows}
    assert not missing, f"commands without a benchmark in benchmarks/run.py: {missing}"
    titles = [row[1] for row in rows]
    for title in (
        "read 60: status vs yaml.load(CSafeLoader)",
        "read 60: status vs libyaml event iteration",
        "record into 60 vs status",
        "start-up: kpitrack --help",
        "start-up: kpitrack --version",
        "start-up: kpitrack check",
        "start-up: kpitrack status (sample)",
        "growth: time per measurement",
        "hostile: check of 50 unknown keys",
        *(f"{c} 60 / status --format json" for c in ("show", "overdue", "actions", "check")),
        *(f"{c} 60 / status --format json" for c in ("tree", "report", "export csv", "schema")),
        "init (an empty folder) 60 / status",
        "site (an empty folder) 60 / status",
        "checkin --dry-run 60 / status",
        "notify (to a local webhook) 60 / status",
        *(f"{c} into 60 / status" for c in ("record", "import 6 rows", "rename", "amend")),
        "review into 60 / status",
        "site (first build) vs report --format html",
        "site (rebuild) vs report --format html",
        "collect --dry-run (6 SQLite-sourced KPIs, 60 measurements) / status",
        "collect (6 SQLite-sourced KPIs, 60 measurements) / status",
        "history (4 commits, 60 measurements) / status",
        "diff HEAD~3 (4 commits, 60 measurements) / status",
        "report in a repository (4 commits, 60 measurements) / report outside one",
        *(f"shape {s} (60)" for s in ("block", "comments", "crlf", "unicode", "quoted", "hand")),
        "(60, most data after it) / as-of after all data",
        "warm start 60: second status / status without the cache",
        "warm start 60: second status / DuckDB",
    ):
        assert any(title in t for t in titles), (title, stdout)
    by_title = {row[1]: row for row in rows}
    # The goals of issue #23 are in the goal column (never asserted against a time).
    assert by_title["history (4 commits, 60 measurements) / status --format json"][2] == "≤ 5"
    assert by_title["diff HEAD~3 (4 commits, 60 measurements) / status --format json"][2] == "≤ 2"
    collect = "collect (6 SQLite-sourced KPIs, 60 measurements) / status --format json"
    assert by_title[collect][2] == "≤ 3"
    # Every row is timed but the hledger pair (hledger not installed) and checkin answering
    # questions (it needs a terminal; its --dry-run is timed), which say why.
    untimed = [row for row in rows if row[-1].startswith("not timed")]
    assert {row[0] for row in untimed} <= {"status", "checkin"}, untimed
    assert any(r[0] == "checkin" and "terminal" in r[-1] for r in untimed)
    assert all("killed" not in row[-1] for row in rows)


@pytest.mark.process
def test_a_run_past_the_timeout_is_killed_and_the_row_says_so(tmp_path: Path) -> None:
    args = ["--quick", "--only", "startup", "--timeout", "0.001", "--data", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert len(rows) == 4  # --help, --version, check, status on the sample
    for row in rows:
        assert row[3] == "—" and "a run took over 0.001 s (killed)" in row[-1], row


def test_site_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    args = ["--size", "60", "--kpis", "6", "--runs", "1", "--data", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, str(BENCH / "site.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "site (first build) vs report --format html, 6 KPIs, 60 measurements" in result.stdout
    assert "site (rebuild) vs report" in result.stdout
    assert result.stdout.count("\n  ratio ") == 2 and "worst ratio" in result.stdout


def test_forecast_backtest_runs_at_a_tiny_size() -> None:
    """The backtest runs and counts (its figures are measured in docs/evaluation.md,
    never asserted)."""
    sys.path.insert(0, str(BENCH))
    try:
        from forecast import NOISE_LEVELS, backtest, table
    finally:
        sys.path.remove(str(BENCH))
    tallies = backtest(20, seed=1)
    assert set(tallies) == set(NOISE_LEVELS)
    noiseless = tallies[0.0]
    assert noiseless.trials == 20 and noiseless.forecasts > 0
    assert noiseless.holds_realised == noiseless.forecasts  # a straight line: always held
    assert table(tallies).startswith("| noise (sd / span) |")
