"""kpitrack export: tidy CSV and JSON Lines, loaded back with DuckDB when it is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import support

KPIS = """\
objectives:
  - id: grow
    title: Grow
kpis:
  - id: revenue
    name: Revenue, monthly
    measure: sum of invoiced amounts per month
    target: 100
    unit: USD
    frequency: monthly
    owner: sales
    objective: grow
    due: 2026-12-31
    baseline: 0
    start: 2026-01-01
  - id: csat
    name: CSAT
    measure: survey answer of every customer
    kind: qualitative
    scale: [poor, fair, good]
    target: good
    frequency: monthly
    owner: support
    objective: grow
measurements:
  - {kpi: revenue, date: 2026-01-31, value: 10, note: "first, \\"real\\" month"}
  - {kpi: revenue, date: 2026-02-28, value: 30.5, by: ann}
  - {kpi: csat, date: 2026-02-28, value: fair}
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kpis.yaml").write_text(KPIS, encoding="utf-8")
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    ran = support.invoke(*args)
    return ran.code, ran.stdout, ran.stderr


def test_measurements_csv(workspace: Path) -> None:
    code, out, _ = invoke("export", "--as-of", "2026-03-05")
    assert code == 0
    assert out.splitlines() == [
        "kpi,name,owner,objective,unit,kind,direction,target,due,date,value,note,by",
        'revenue,"Revenue, monthly",sales,grow,USD,quantitative,increase,100,2026-12-31,'
        '2026-01-31,10,"first, ""real"" month",',
        'revenue,"Revenue, monthly",sales,grow,USD,quantitative,increase,100,2026-12-31,'
        "2026-02-28,30.5,,ann",
        "csat,CSAT,support,grow,,qualitative,increase,good,,2026-02-28,fair,,",
    ]


def test_measurements_jsonl_and_filters(workspace: Path) -> None:
    code, out, _ = invoke("export", "--format", "jsonl", "--owner", "support")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {
            "kpi": "csat",
            "name": "CSAT",
            "owner": "support",
            "objective": "grow",
            "unit": None,
            "kind": "qualitative",
            "direction": "increase",
            "target": "good",
            "due": None,
            "date": "2026-02-28",
            "value": "fair",
            "note": None,
            "by": None,
        }
    ]


def test_evaluations(workspace: Path) -> None:
    code, out, _ = invoke("export", "--evaluations", "--format", "jsonl", "--as-of", "2026-03-05")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["kpi"], r["status"], r["latest_value"], r["as_of"]) for r in rows] == [
        ("revenue", "on-track", 30.5, "2026-03-05"),
        ("csat", "at-risk", "fair", "2026-03-05"),
    ]
    assert rows[1]["reasons"] == "at-risk;no-action-plan"
    code, out, _ = invoke("export", "--evaluations", "--as-of", "2026-03-05")
    assert out.splitlines()[0] == (
        "as_of,kpi,name,owner,objective,unit,kind,direction,target,due,status,latest_date,"
        "latest_value,expected,progress,gap,days_overdue,needs_action,reasons"
    )


def test_bad_input_exit_2(workspace: Path) -> None:
    code, _, err = invoke("export", "--format", "xml")
    assert code == 2
    (workspace / "kpis.yaml").write_text("kpis: [", encoding="utf-8")
    code, out, err = invoke("export")
    assert code == 2 and out == "" and "kpis.yaml:" in err


def test_duckdb_reads_both(workspace: Path) -> None:
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed")
    assert invoke("export", "-o", "kpis.csv", "--as-of", "2026-03-05")[0] == 0
    assert invoke("export", "--evaluations", "-o", "evals.csv", "--as-of", "2026-03-05")[0] == 0
    assert invoke("export", "--format", "jsonl", "-o", "kpis.jsonl")[0] == 0
    con = duckdb.connect()
    got = con.execute(
        "SELECT kpi, owner, count(*) AS n FROM read_csv_auto('kpis.csv') GROUP BY kpi, owner "
        "ORDER BY kpi"
    ).fetchall()
    assert got == [("csat", "support", 1), ("revenue", "sales", 2)]
    got = con.execute("SELECT kpi, status FROM read_csv_auto('evals.csv') ORDER BY kpi").fetchall()
    assert got == [("csat", "at-risk"), ("revenue", "on-track")]
    got = con.execute("SELECT count(*) FROM read_json_auto('kpis.jsonl')").fetchone()
    assert got == (3,)
