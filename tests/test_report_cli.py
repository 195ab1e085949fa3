"""`kpitrack report` through the CLI: exit codes, --quiet, --fail-on, -o, stderr, JSON keys.

The workspace is tests/data/report/kpis.yaml, as of Monday 2026-11-30: csat regressed
(on-track → at-risk), signups improved, nps got its first report (off-track), leads is
overdue, churn is on-track with nothing new.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import Ran, invoke, run_process

DATA = Path(__file__).parent / "data" / "report" / "kpis.yaml"
AS_OF = ["--as-of", "2026-11-30"]


@pytest.fixture(autouse=True)
def _in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no kpitrack.toml from the repo or the user


def run(*args: str) -> Ran:
    return invoke("report", "-f", str(DATA), *AS_OF, *args)


def test_table_on_stdout_nothing_on_stderr() -> None:
    result = run()
    assert result.code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert "KPI report — 2026-11-30" in out
    assert "on-track → at-risk" in out
    assert "off-track → on-track" in out
    assert "no-data → off-track" in out
    assert "\x1b[" not in out
    assert all(line == line.rstrip() for line in out.splitlines())


def test_deterministic_with_as_of() -> None:
    for fmt in ("table", "markdown", "html", "json"):
        assert run("--format", fmt).stdout == run("--format", fmt).stdout


def test_json_keys() -> None:
    result = run("--format", "json")
    assert result.code == 0 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert set(doc) == {
        "as_of",
        "since",
        "kpis",
        "summary",
        "owners",
        "changes",
        "objectives",
        "events",
        "overdue",
        "needs_action",
        # always there: the files' repository's changes, or why there are none (#22.2)
        "definitions_changed",
    }
    assert doc["as_of"] == "2026-11-30"
    assert doc["since"] == "2026-11-23"  # default: a week before
    changes = {"regressions", "improvements", "first_reports", "new_measurements"}
    assert set(doc["changes"]) == changes
    assert doc["overdue"] == ["leads"]
    assert doc["needs_action"] == ["nps", "csat", "leads"]
    for kpi in doc["kpis"]:
        assert {
            "id",
            "name",
            "owner",
            "objective",
            "status",
            "latest",
            "target",
            "expected",
            "progress",
            "gap",
            "overdue",
            "reasons",
        } <= set(kpi)


def test_since_option() -> None:
    doc = json.loads(run("--format", "json", "--since", "2026-11-29").stdout)
    assert doc["since"] == "2026-11-29"
    assert doc["changes"]["new_measurements"] == []
    assert doc["changes"]["regressions"] == []


def test_since_after_as_of_is_a_usage_error() -> None:
    result = run("--since", "2026-12-01")
    assert result.code == 2
    assert result.stdout == ""
    assert "--since 2026-12-01 is after --as-of 2026-11-30" in result.stderr


@pytest.mark.parametrize("args", [["--since", "2026-13-01"], ["--format", "pdf"]])
def test_bad_options_exit_2(args: list[str]) -> None:
    assert run(*args).code == 2


def test_markdown_and_html_formats() -> None:
    md = run("--format", "markdown")
    assert md.code == 0 and md.stderr == ""
    assert md.stdout.startswith("# KPI report — 2026-11-30\n")
    html = run("--format", "html")
    assert html.code == 0 and html.stderr == ""
    assert html.stdout.startswith("<!DOCTYPE html>")
    assert html.stdout.rstrip().endswith("</html>")


@pytest.mark.parametrize("fmt", ["table", "markdown", "html", "json"])
def test_output_file_is_written_and_stdout_stays_empty(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"report.{fmt}"
    result = run("--format", fmt, "-o", str(target))
    assert result.code == 0
    assert result.stdout == "" and result.stderr == ""
    text = target.read_text(encoding="utf-8")
    assert "2026-11-30" in text
    assert text == run("--format", fmt).stdout
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


def test_filters() -> None:
    doc = json.loads(run("--format", "json", "--owner", "support").stdout)
    assert [k["id"] for k in doc["kpis"]] == ["csat", "churn"]
    assert [o["owner"] for o in doc["owners"]] == ["support"]
    doc = json.loads(run("--format", "json", "--tag", "funnel").stdout)
    assert [k["id"] for k in doc["kpis"]] == ["leads"]
    doc = json.loads(run("--format", "json", "--objective", "happy", "--kpi", "nps").stdout)
    assert [k["id"] for k in doc["kpis"]] == ["nps"]
    assert doc["changes"]["first_reports"] == [{"id": "nps", "from": "no-data", "to": "off-track"}]


def test_unknown_filter_value_is_a_usage_error() -> None:
    result = run("--kpi", "cast")
    assert result.code == 2
    assert "no KPI 'cast'" in result.stderr


def test_quiet_prints_nothing_when_nothing_needs_action() -> None:
    result = run("--quiet", "--kpi", "signups,churn")
    assert result.code == 0
    assert result.stdout == "" and result.stderr == ""


def test_quiet_prints_the_report_when_something_needs_action() -> None:
    quiet = run("--quiet", "--format", "markdown")
    assert quiet.code == 0 and quiet.stderr == ""
    assert quiet.stdout == run("--format", "markdown").stdout


def test_quiet_still_writes_the_output_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    result = run("-q", "--kpi", "signups", "--format", "markdown", "-o", str(target))
    assert result.code == 0 and result.stdout == "" and result.stderr == ""
    assert "`signups`" in target.read_text(encoding="utf-8")


def test_fail_on_matches_exit_1() -> None:
    result = run("--fail-on", "off-track", "--format", "json")
    assert result.code == 1
    assert json.loads(result.stdout)["as_of"] == "2026-11-30"  # the report is still printed
    assert "nps" in result.stderr


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [
        ("overdue", 1),
        ("at-risk,achieved", 1),
        ("needs-action", 1),
        ("achieved", 0),
        ("past-due", 0),
    ],
)
def test_fail_on_values(fail_on: str, code: int) -> None:
    result = run("--fail-on", fail_on)
    assert result.code == code
    if code == 0:
        assert result.stderr == ""


def test_fail_on_only_looks_at_the_filtered_kpis() -> None:
    assert run("--fail-on", "off-track", "--owner", "support").code == 0


def test_fail_on_unknown_value_exit_2() -> None:
    result = run("--fail-on", "offtrack")
    assert result.code == 2
    assert "did you mean" in result.stderr


def test_quiet_with_nothing_needing_action_exits_0_even_if_fail_on_matches() -> None:
    result = run("--quiet", "--kpi", "signups", "--fail-on", "on-track")
    assert result.code == 0
    assert result.stdout == "" and result.stderr == ""


def test_invalid_workspace_exit_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kpis:\n  - id: x\n    name: X\n", encoding="utf-8")
    result = invoke("report", "-f", str(bad), *AS_OF)
    assert result.code == 2
    assert "Traceback" not in result.output
    assert "bad.yaml:" in result.stderr


def test_installed_entry_point_in_a_pipe_has_no_colour(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "COLUMNS": "60"}
    proc = run_process("report", "-f", str(DATA), *AS_OF, env=env, cwd=tmp_path)
    assert proc.code == 0, proc.stderr
    assert proc.stderr == ""
    assert "\x1b" not in proc.stdout
    # A fixed width, whatever the environment says.
    assert max(len(line) for line in proc.stdout.splitlines()) > 60


def test_status_and_report_summaries_share_words_and_keys(tmp_path: Path) -> None:
    import json as _json

    (tmp_path / "kpis.yaml").write_text(
        "kpis:\n"
        "  - {id: a, name: A, measure: Sum of the invoices paid in the month, target: 10,\n"
        "     frequency: monthly, owner: X}\n"
        "measurements:\n  - {kpi: a, date: 2026-10-31, value: 2}\n",
        encoding="utf-8",
    )
    args = ["-f", str(tmp_path / "kpis.yaml"), "--as-of", "2026-11-10"]
    status = invoke("status", *args, env={"COLUMNS": "100"}).stdout
    report = invoke("report", *args, env={"COLUMNS": "100"}).stdout
    line = "1 KPI: 1 off track; 0 overdue; 1 needs action."
    assert line in status and line in report
    sj = _json.loads(invoke("status", *args, "--format", "json").stdout)
    rj = _json.loads(invoke("report", *args, "--format", "json").stdout)
    assert list(sj["summary"]) == list(rj["summary"])
    assert sj["summary"] == rj["summary"]
