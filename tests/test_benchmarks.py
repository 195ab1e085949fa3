"""Smoke test of benchmarks/: the generator's workspace is valid, the runner runs (no timings)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

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
    """The benchmark runner at a tiny size, as a background process (conftest.py)."""
    import tempfile

    data = tempfile.mkdtemp(prefix="kpitrack-bench-")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--size",
            "60",
            "--kpis",
            "6",
            "--growth",
            "30",
            "60",
            "--hostile",
            "50",
            "--runs",
            "1",
            "--sizes",
            "60",
            "--data",
            data,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, data


@pytest.mark.slow  # some forty kpitrack processes, beside the rest of the suite
def test_runner_runs_every_comparison_at_a_tiny_size(
    background: tuple[subprocess.Popen[str], str],
) -> None:
    import shutil

    proc, data = background
    stdout, stderr = proc.communicate(timeout=300)
    shutil.rmtree(data, ignore_errors=True)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for title in (
        "status vs yaml.load(CSafeLoader)",
        "status vs libyaml event iteration",
        "status vs hledger",
        "record into 60 vs status",
        "start-up: kpitrack --help",
        "start-up: kpitrack --version",
        "start-up: kpitrack check",
        "start-up: kpitrack status (sample)",
        "growth: time per measurement",
        "hostile: check of 50 unknown keys",
        *(f"{c} 60 / status --format json" for c in ("show", "overdue", "actions", "check")),
        *(f"{c} 60 / status --format json" for c in ("report", "export csv")),
        "record into 60 / status",
        "import 6 rows into 60 / status",
        *(f"shape {s} (60)" for s in ("block", "comments", "crlf", "unicode", "quoted", "hand")),
        "(60, most data after it) / as-of after all data",
        "warm start 60: second status / status without the cache",
        "warm start 60: second status / DuckDB",
        "| comparison (A / B) | ratio |",
    ):
        assert title in out, out
    assert out.count("min/median/max") >= 25  # hledger's pair is skipped without hledger


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
    assert result.stdout.count("min/median/max") == 2 and "worst ratio" in result.stdout


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
