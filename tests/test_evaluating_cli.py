"""status, overdue, actions, show through the CLI: exit codes, formats, filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import support
from support import AS_OF

WORKSPACE = """\
objectives:
  - id: growth
    title: Grow revenue
  - id: quality
    title: Happy customers
kpis:
  - id: revenue
    name: Monthly revenue [EU]
    measure: sum of paid invoices in the month
    target: 120000
    unit: USD
    frequency: monthly
    owner: sales
    objective: growth
    baseline: 50000
    start: 2026-01-01
    due: 2026-12-31
    tags: [money]
  - id: latency
    name: p95 latency
    measure: p95 from the grafana api dashboard
    target: 50
    direction: decrease
    unit: ms
    frequency: monthly
    owner: platform
    objective: quality
    action: add a cache
  - id: csat
    name: Customer satisfaction
    measure: median answer of the quarterly survey
    kind: qualitative
    scale: [poor, fair, good, excellent]
    target: good
    frequency: quarterly
    owner: support
    objective: quality
measurements:
  - {kpi: revenue, date: 2026-09-30, value: 90000}
  - {kpi: revenue, date: 2026-10-31, value: 120000}
  - {kpi: latency, date: 2026-07-31, value: 54}
  - {kpi: csat, date: 2026-09-30, value: fair}
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kpis.yaml").write_text(WORKSPACE, encoding="utf-8")
    return tmp_path


def invoke(*args: str, columns: int = 80) -> tuple[int, str, str]:
    ran = support.invoke(*args, env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert ran.exception is None, ran.exception
    return ran.code, ran.stdout, ran.stderr


def test_status_table(workspace: Path) -> None:
    code, out, err = invoke("status", *AS_OF)
    assert (code, err) == (0, "")
    assert "\x1b[" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    # worst first: at-risk latency and csat before achieved revenue
    assert out.index("latency") < out.index("csat") < out.index("revenue")
    assert "Monthly revenue" in out
    assert "3 KPIs: 1 achieved, 2 at risk; 1 overdue; 2 need action." in out


def test_status_json_shape(workspace: Path) -> None:
    code, out, _ = invoke("status", *AS_OF, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["as_of"] == "2026-11-25"
    by_id = {k["id"]: k for k in doc["kpis"]}
    assert [k["id"] for k in doc["kpis"]] == ["latency", "csat", "revenue"]
    latency = by_id["latency"]
    for key in ("id", "name", "owner", "objective", "status", "latest", "target", "expected",
                "progress", "gap", "overdue", "reasons"):  # fmt: skip
        assert key in latency
    assert latency["status"] == "at-risk"
    assert latency["latest"] == {"date": "2026-07-31", "value": 54}
    assert latency["gap"] == 4
    assert latency["overdue"] == {"missed_periods": 3, "due_since": "2026-09-03", "days": 83}
    assert latency["reasons"] == ["at-risk", "overdue"]
    assert by_id["revenue"]["status"] == "achieved"
    assert by_id["revenue"]["overdue"] is None
    assert by_id["csat"]["expected"] == "good"
    assert doc["summary"]["at-risk"] == 2


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("status", ["latency", "csat", "revenue"]),
        ("name", ["csat", "revenue", "latency"]),
        ("owner", ["latency", "revenue", "csat"]),
        ("progress", ["latency", "csat", "revenue"]),  # ties keep worst-first order
        ("gap", ["latency", "csat", "revenue"]),
        ("due", ["revenue", "latency", "csat"]),
    ],
)
def test_status_sort(workspace: Path, sort: str, order: list[str]) -> None:
    code, out, _ = invoke("status", *AS_OF, "--format", "json", "--sort", sort)
    assert code == 0
    assert [k["id"] for k in json.loads(out)["kpis"]] == order


@pytest.mark.parametrize(
    ("args", "ids"),
    [
        (["--owner", "sales"], ["revenue"]),
        (["--objective", "quality"], ["latency", "csat"]),
        (["--tag", "money"], ["revenue"]),
        (["--kpi", "csat", "--kpi", "revenue"], ["csat", "revenue"]),
        (["--kpi", "csat,latency"], ["latency", "csat"]),
        (["--owner", "SALES"], ["revenue"]),  # owners and tags match case-insensitively
        (["--tag", "MONEY"], ["revenue"]),
    ],
)
def test_filters(workspace: Path, args: list[str], ids: list[str]) -> None:
    code, out, _ = invoke("status", *AS_OF, "--format", "json", *args)
    assert code == 0
    assert [k["id"] for k in json.loads(out)["kpis"]] == ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kpi", "revnue"], "no KPI 'revnue' (did you mean 'revenue'?)"),
        (["--objective", "growht"], "did you mean 'growth'?"),
        (["--as-of", "2026-02-30"], "not a real date"),
        (["--fail-on", "offtrack"], "did you mean 'off-track'?"),
        # an owner or tag no KPI has is a mistake, not an empty (and silently passing) table
        (["--owner", "sale"], "--owner: no KPI has owner 'sale' (did you mean 'sales'?)"),
        (["--owner", "nobody"], "--owner: no KPI has owner 'nobody'"),
        (["--tag", "nosuch"], "--tag: no KPI has tag 'nosuch'"),
        (["--as-of", "٢٠٢٦-١١-٠١"], "not a date"),  # ASCII digits only
        (["--as-of", "２０２６-１１-０１"], "not a date"),
        (["--as-of", "lastweek"], "today, yesterday, last-week, last-month"),
    ],
)
def test_usage_errors_exit_2(workspace: Path, args: list[str], message: str) -> None:
    code, out, err = invoke("status", *AS_OF, *args)
    assert code == 2
    assert message in err
    assert out == ""


@pytest.mark.parametrize(
    ("command", "fail_on", "code"),
    [
        ("status", "off-track", 0),
        ("status", "at-risk", 1),
        ("status", "achieved", 1),
        ("status", "overdue", 1),
        ("status", "past-due,no-data", 0),
        ("status", "needs-action", 1),
        ("actions", "no-action-plan", 1),
        ("overdue", "at-risk", 1),
        ("overdue", "no-action-plan", 0),  # csat lacks a plan but is not overdue
    ],
)
def test_fail_on(workspace: Path, command: str, fail_on: str, code: int) -> None:
    got, out, err = invoke(command, *AS_OF, "--fail-on", fail_on)
    assert got == code
    assert out  # the output is still written
    assert ("--fail-on matched" in err) is (code == 1)


def test_fail_on_respects_filters(workspace: Path) -> None:
    assert invoke("status", *AS_OF, "--fail-on", "at-risk", "--owner", "sales")[0] == 0
    assert invoke("status", *AS_OF, "--fail-on", "at-risk", "--owner", "support")[0] == 1


def test_overdue_command(workspace: Path) -> None:
    code, out, _ = invoke("overdue", *AS_OF, "--format", "csv")
    assert code == 0
    assert out == (
        "id,name,owner,frequency,last_report,missed_periods,due_since,days_overdue\n"
        "latency,p95 latency,platform,monthly,2026-07-31,3,2026-09-03,83\n"
    )
    code, out, _ = invoke("overdue", "--as-of", "2026-11-03", "--kpi", "revenue")
    assert (code, out) == (0, "No overdue reports.\n")
    code, out, _ = invoke("overdue", "--as-of", "2026-08-01", "--format", "csv")
    assert out.splitlines()[1:] == [  # never reported counts as the most overdue
        "csat,Customer satisfaction,support,quarterly,,never,,",
        "revenue,Monthly revenue [EU],sales,monthly,,6,2026-02-03,179",
    ]


def test_actions_command(workspace: Path) -> None:
    code, out, _ = invoke("actions", *AS_OF, "--format", "markdown")
    assert code == 0
    assert out == (
        "### platform\n\n"
        "| KPI | Name | Status | Reasons | Action plan |\n"
        "|---|---|---|---|---|\n"
        "| latency | p95 latency | at-risk | at-risk, overdue | add a cache |\n"
        "\n### support\n\n"
        "| KPI | Name | Status | Reasons | Action plan |\n"
        "|---|---|---|---|---|\n"
        "| csat | Customer satisfaction | at-risk | at-risk, no-action-plan | none |\n"
    )
    code, out, _ = invoke("actions", *AS_OF)
    assert code == 0 and "add a cache" in out


def test_show(workspace: Path) -> None:
    code, out, err = invoke("show", "revenue", *AS_OF)
    assert (code, err) == (0, "")
    assert "Monthly revenue [EU]" in out
    assert "achieved" in out
    assert "● measured" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_show_json_has_history(workspace: Path) -> None:
    code, out, _ = invoke("show", "latency", *AS_OF, "--format", "json")
    doc = json.loads(out)
    assert code == 0
    assert [k["id"] for k in doc["kpis"]] == ["latency"]
    assert doc["history"] == [{"date": "2026-07-31", "value": 54}]


def test_show_unknown_kpi(workspace: Path) -> None:
    code, out, err = invoke("show", "revnue", *AS_OF)
    assert code == 2
    assert out == ""
    assert "no KPI 'revnue' (did you mean 'revenue'?)" in err


def test_show_fail_on(workspace: Path) -> None:
    assert invoke("show", "csat", *AS_OF, "--fail-on", "at-risk")[0] == 1
    assert invoke("show", "revenue", *AS_OF, "--fail-on", "at-risk")[0] == 0


def test_output_file(workspace: Path) -> None:
    code, out, _ = invoke("status", *AS_OF, "-o", "status.md", "--format", "markdown")
    assert (code, out) == (0, "")
    text = (workspace / "status.md").read_text(encoding="utf-8")
    assert text.startswith("| KPI | Name |")
    code, _, _ = invoke("status", *AS_OF, "-o", "status.txt")
    assert code == 0
    assert "\x1b[" not in (workspace / "status.txt").read_text(encoding="utf-8")


def test_invalid_workspace_exits_2_with_check_messages(workspace: Path) -> None:
    (workspace / "kpis.yaml").write_text(
        WORKSPACE.replace("frequency: quarterly", "frequency: fortnightly"), encoding="utf-8"
    )
    for command in (["status"], ["overdue"], ["actions"], ["show", "csat"]):
        code, out, err = invoke(*command, *AS_OF)
        assert code == 2
        assert out == ""
        assert "kpis.yaml:" in err and "error" in err
        assert "Traceback" not in err


def test_missing_file_exits_2(workspace: Path) -> None:
    code, _, err = invoke("status", *AS_OF, "-f", "nope.yaml")
    assert code == 2
    assert "nope.yaml" in err


def test_future_measurements_ignored_by_as_of(workspace: Path) -> None:
    code, out, _ = invoke("status", "--as-of", "2026-10-01", "--format", "json", "--kpi", "revenue")
    assert code == 0
    revenue = json.loads(out)["kpis"][0]
    assert revenue["latest"] == {"date": "2026-09-30", "value": 90000}
    assert revenue["status"] == "off-track"


GAPS = """\
kpis:
  - id: money
    name: Money
    measure: Sum of the invoices paid in the month, from the ledger
    target: 100000
    baseline: 0
    unit: USD
    frequency: monthly
    owner: Finance
  - id: share
    name: Share
    measure: Percent of active users who used the feature in the month
    target: 50
    baseline: 0
    unit: "%"
    frequency: monthly
    owner: Product
measurements:
  - {kpi: money, date: 2026-10-31, value: 90000}
  - {kpi: share, date: 2026-10-31, value: 10}
"""


@pytest.mark.parametrize("command", ["status", "actions", "overdue"])
def test_sort_gap_is_relative_and_every_list_sorts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """USD 10,000 short of 100,000 is a smaller gap than 40 points short of 50%."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kpis.yaml").write_text(GAPS, encoding="utf-8")
    as_of = ["--as-of", "2026-12-31"]  # both off track and November overdue
    code, out, err = invoke(command, *as_of, "--format", "json", "--sort", "gap")
    assert code == 0, err
    assert [k["id"] for k in json.loads(out)["kpis"]] == ["share", "money"]
    code, out, _ = invoke(command, *as_of, "--format", "json", "--sort", "name")
    assert [k["id"] for k in json.loads(out)["kpis"]] == ["money", "share"]


def test_sort_help_says_gap_is_relative() -> None:
    assert "relative" in invoke("status", "--help", columns=200)[1]


SIGNUPS = """\
kpis:
  - id: signups
    name: Monthly signups
    measure: count of new accounts per calendar month
    target: 100
    frequency: monthly
    owner: Growth
    due: 2026-12-31
measurements:
  - {kpi: signups, date: 2026-01-31, value: 50}
  - {kpi: signups, date: 2026-04-15, value: VALUE}
"""


@pytest.mark.parametrize("april", ["120", "90"])
def test_overdue_show_and_report_agree_on_missed_periods(tmp_path: Path, april: str) -> None:
    """An achieved KPI's newer report does not hide February and March (SPEC §3)."""
    path = tmp_path / "signups.yaml"
    path.write_text(SIGNUPS.replace("VALUE", april), encoding="utf-8")
    args = ["-f", str(path), "--as-of", "2026-04-20", "--format", "json"]
    want = {"missed_periods": 2, "due_since": "2026-03-03", "days": 48}
    result = support.invoke("overdue", *args)
    assert result.code == 0, result.output
    assert [k["overdue"] for k in json.loads(result.stdout)["kpis"]] == [want]
    result = support.invoke("show", "signups", *args)
    assert json.loads(result.stdout)["kpis"][0]["overdue"] == want
    result = support.invoke("report", *args)
    report = json.loads(result.stdout)
    assert report["overdue"] == ["signups"]
    assert report["kpis"][0]["overdue"] == want
    table = support.invoke("show", "signups", "-f", str(path), "--as-of", "2026-04-20")
    assert "2 monthly report(s) missed, due since 2026-03-03, 48 days" in table.stdout


ORDERING = """\
kpis:
  - {id: calm, name: Calm, measure: count the calm things, target: 10, frequency: monthly}
  - {id: bad, name: Bad, measure: count the bad things, target: 10, frequency: monthly}
  - {id: risky, name: Risky, measure: count the risky things, target: 10, frequency: monthly}
  - {id: old, name: Old, measure: count the old things, target: 10, frequency: monthly}
  - {id: calm2, name: Calm2, measure: count the calm2 things, target: 10, frequency: monthly}
measurements:
  - {kpi: calm, date: 2026-07-31, value: 10}
  - {kpi: bad, date: 2026-07-31, value: 1}
  - {kpi: risky, date: 2026-07-31, value: 9.5}
  - {kpi: old, date: 2026-05-31, value: 10}
  - {kpi: calm2, date: 2026-07-31, value: 12}
"""


def test_overdue_list_order_days_then_worst_status_then_workspace_order(tmp_path: Path) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text(ORDERING, encoding="utf-8")
    args = ["-f", str(path), "--as-of", "2026-11-25", "--format", "json"]
    ids = [k["id"] for k in json.loads(support.invoke("overdue", *args).stdout)["kpis"]]
    assert ids == ["old", "bad", "risky", "calm", "calm2"]
    report = json.loads(support.invoke("report", *args).stdout)
    assert report["overdue"] == ids


def test_overdue_table_headers_stay_whole_at_80_columns() -> None:
    sample = Path(__file__).parent.parent / "sample_kpis.yaml"
    result = support.invoke(
        "overdue", "-f", str(sample), "--as-of", "2026-11-25", env={"COLUMNS": "80"}
    )
    header = result.stdout.splitlines()[0].split()
    assert header == [
        "KPI",
        "Owner",
        "Frequency",
        "Last",
        "report",
        "Missed",
        "Due",
        "since",
        "Days",
    ]
    assert "first-response" in result.stdout.splitlines()
