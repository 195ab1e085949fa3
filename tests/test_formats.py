"""One --format vocabulary with per-command subsets, and -o's extension choosing the
format (issue #20 "one format vocabulary", issue #22 item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import invoke

from kpitrack.domain.problems import UsageError
from kpitrack.render.formats import (
    SUBSETS,
    ExportFormat,
    Format,
    OutputFormat,
    ReportFormat,
    choose_format,
    parse_format,
)

KPIS = """\
kpis:
  - id: mrr
    name: Monthly recurring revenue
    measure: Sum of active subscriptions at month end, from billing
    target: 200
    unit: USD
    frequency: monthly
    owner: Sales
    objective: grow
objectives:
  - {id: grow, title: Grow}
measurements:
  - {kpi: mrr, date: 2026-10-31, value: 120}
"""
AS_OF = ("--as-of", "2026-11-10")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_subset_speaks_the_one_vocabulary() -> None:
    vocabulary = {f.value for f in Format}
    for subset in SUBSETS:
        assert {m.value for m in subset} <= vocabulary, subset
    assert OutputFormat.TABLE is OutputFormat.TEXT
    assert ReportFormat.TABLE is ReportFormat.TEXT


@pytest.mark.parametrize("word", ["text", "table", "TABLE", "Text"])
def test_text_and_table_both_name_the_default(word: str) -> None:
    assert parse_format(word, OutputFormat) is OutputFormat.TEXT
    assert parse_format(word, ReportFormat) is ReportFormat.TEXT


def test_a_format_outside_the_command_subset_is_refused_with_the_choices() -> None:
    with pytest.raises(UsageError, match=r"'html' is not one of text, json, csv, markdown"):
        parse_format("html", OutputFormat)
    with pytest.raises(UsageError, match=r"did you mean 'jsonl'"):
        parse_format("jsonn", ExportFormat)


@pytest.mark.parametrize(
    ("name", "subset", "expected"),
    [
        ("x.json", ExportFormat, None),
        ("x.jsonl", ExportFormat, ExportFormat.JSONL),
        ("x.ndjson", ExportFormat, ExportFormat.JSONL),
        ("x.csv", ExportFormat, ExportFormat.CSV),
        ("x.txt", OutputFormat, OutputFormat.TEXT),
        ("x.MD", OutputFormat, OutputFormat.MARKDOWN),
        ("x.eml", ReportFormat, ReportFormat.EMAIL),
        ("-", OutputFormat, OutputFormat.TEXT),
        ("no-extension", OutputFormat, OutputFormat.TEXT),
    ],
)
def test_extension_picks_the_format(name: str, subset: type, expected: object) -> None:
    if name == "x.json":  # export has no json: a usage error, never CSV in a .json file
        with pytest.raises(UsageError, match=r"no json format \(only csv, jsonl\)"):
            choose_format(None, Path(name), subset, default=next(iter(subset)))
        return
    assert choose_format(None, Path(name), subset, default=next(iter(subset))) is expected


@pytest.mark.parametrize(
    "args",
    [
        ("export", "-o", "x.json"),
        ("export", "-o", "x.parquet"),
        ("status", "-o", "x.yaml"),
        ("status", "-o", "x.html"),
        ("history", "-o", "x.yaml"),
        ("report", "-o", "x.csv"),
    ],
)
def test_o_never_writes_a_format_its_extension_does_not_name(ws: Path, args: tuple[str]) -> None:
    ran = invoke(*args, *AS_OF) if args[0] != "history" else invoke(*args)
    assert ran.code == 2, ran.output
    assert "-o x." in ran.stderr and "Traceback" not in ran.output
    assert not (ws / args[-1]).exists()


def test_export_jsonl_extension_writes_json_lines(ws: Path) -> None:
    ran = invoke("export", "-o", "rows.jsonl", *AS_OF)
    assert ran.code == 0, ran.output
    first = (ws / "rows.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first)["kpi"] == "mrr"


def test_unknown_extension_with_format_is_written_in_that_format(ws: Path) -> None:
    ran = invoke("status", "-o", "s.yaml", "--format", "json", *AS_OF)
    assert ran.code == 0, ran.output
    assert json.loads((ws / "s.yaml").read_text(encoding="utf-8"))["kpis"][0]["id"] == "mrr"


def test_dash_is_stdout(ws: Path) -> None:
    ran = invoke("status", "-o", "-", "--format", "json", *AS_OF)
    assert ran.code == 0, ran.output
    assert json.loads(ran.stdout)["kpis"][0]["id"] == "mrr"
    assert not (ws / "-").exists()
    report = invoke("report", "-o", "-", *AS_OF)
    assert report.code == 0 and "Summary" in report.stdout
    assert not (ws / "-").exists()


@pytest.mark.parametrize("command", ["status", "report", "check", "history"])
def test_old_spelling_table_still_accepted(ws: Path, command: str) -> None:
    fmt = "table" if command != "check" else "TEXT"
    ran = (
        invoke(command, "--format", fmt)
        if command == "history"
        else invoke(command, "--format", fmt, *AS_OF)
    )
    # history needs git; it may say so, but never that the format is wrong
    assert "--format" not in ran.stderr, ran.output
