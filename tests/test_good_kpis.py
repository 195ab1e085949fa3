"""Action plans with an owner and a date, archived KPIs, and the balance lints' settings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import support

from kpitrack.domain.model import (
    ActionPlan,
    ActionStatus,
    Config,
    Frequency,
    Kpi,
    Measurement,
    Reason,
)
from kpitrack.domain.problems import UsageError
from kpitrack.evaluation.evaluate import evaluate_kpi
from kpitrack.reading.config import read_config
from kpitrack.reading.loading import load_texts

AS_OF = dt.date(2026, 11, 25)
D = dt.date

WORKSPACE = """\
objectives:
  - id: growth
    title: Grow revenue
kpis:
  - id: revenue
    name: Monthly revenue
    measure: sum of paid invoices in the month
    target: 120000
    frequency: monthly
    owner: sales
    objective: growth
    indicator: lagging
    action:
      plan: Call every <lapsed> customer
      owner: Ana
      due: 2026-11-15
      status: open
  - id: pipeline
    name: Qualified pipeline
    measure: sum of open qualified opportunities
    target: 500000
    frequency: monthly
    owner: sales
    objective: growth
    indicator: leading
    action: {plan: Hire two SDRs, owner: Bo, status: done}
  - id: old-launch
    name: Old launch
    measure: percent of launch checklist done
    kind: progress
    frequency: monthly
    owner: sales
    objective: growth
    due: 2026-03-31
    archived: true
measurements:
  - {kpi: revenue, date: 2026-10-31, value: 60000}
  - {kpi: pipeline, date: 2026-10-31, value: 100000}
  - {kpi: old-launch, date: 2026-01-31, value: 10}
"""


def kpi(**kw: object) -> Kpi:
    fields: dict[str, object] = {
        "id": "k",
        "name": "K",
        "measure": "count of things done",
        "target": 100,
        "frequency": Frequency.MONTHLY,
    }
    fields.update(kw)
    return Kpi(**fields)  # type: ignore[arg-type]


def reasons(k: Kpi, value: float) -> tuple[Reason, ...]:
    m = Measurement(k.id, D(2026, 11, 20), value)
    return evaluate_kpi(k, [m], as_of=AS_OF).reasons


# ---------------------------------------------------------------- reasons


@pytest.mark.parametrize(
    ("plan", "value", "expected"),
    [
        (ActionPlan("p", due=D(2026, 11, 24)), 50, Reason.ACTION_OVERDUE),
        (ActionPlan("p", due=D(2026, 11, 24)), 150, Reason.ACTION_OVERDUE),  # owed anyway
        (ActionPlan("p", status=ActionStatus.DONE), 50, Reason.ACTION_DONE_STILL_OFF_TRACK),
    ],
)
def test_action_reasons_apply(plan: ActionPlan, value: float, expected: Reason) -> None:
    assert expected in reasons(kpi(action=plan.plan, action_plan=plan), value)


@pytest.mark.parametrize(
    ("plan", "value"),
    [
        (ActionPlan("p", due=D(2026, 11, 25)), 50),  # due today: not yet overdue
        (ActionPlan("p", due=D(2026, 11, 1), status=ActionStatus.DONE), 150),  # done
        (ActionPlan("p"), 50),  # no due date
        (ActionPlan("p", status=ActionStatus.DONE), 150),  # the plan worked
        (ActionPlan("p", status=ActionStatus.DONE), 95),  # at risk, not off track
    ],
)
def test_action_reasons_do_not_apply(plan: ActionPlan, value: float) -> None:
    found = reasons(kpi(action=plan.plan, action_plan=plan), value)
    assert Reason.ACTION_OVERDUE not in found
    assert Reason.ACTION_DONE_STILL_OFF_TRACK not in found
    assert Reason.NO_ACTION_PLAN not in found


# ---------------------------------------------------------------- loading


def test_action_mapping_loads_and_checks_clean() -> None:
    ws, problems = load_texts([("k.yaml", WORKSPACE)], config=Config(), as_of=AS_OF)
    assert [p.format() for p in problems] == []
    revenue, pipeline, old = ws.kpis
    assert revenue.action == "Call every <lapsed> customer"
    assert revenue.action_plan == ActionPlan(
        "Call every <lapsed> customer", "Ana", D(2026, 11, 15), ActionStatus.OPEN
    )
    assert pipeline.action_plan == ActionPlan("Hire two SDRs", "Bo", None, ActionStatus.DONE)
    assert old.archived and not revenue.archived


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(WORKSPACE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    ran = support.invoke(*args, "--as-of", "2026-11-25")
    return ran.code, ran.stdout, ran.stderr


def test_check_is_clean(workspace: Path) -> None:
    code, out, _ = invoke("check", "--strict")
    assert (code, out) == (0, "")


def test_status_json_has_the_action_object(workspace: Path) -> None:
    code, out, _ = invoke("status", "--format", "json")
    assert code == 0
    by_id = {k["id"]: k for k in json.loads(out)["kpis"]}
    assert by_id["revenue"]["action"] == {
        "plan": "Call every <lapsed> customer",
        "owner": "Ana",
        "due": "2026-11-15",
        "status": "open",
    }
    assert by_id["pipeline"]["action"]["status"] == "done"
    assert "action-overdue" in by_id["revenue"]["reasons"]
    assert "action-done-still-off-track" in by_id["pipeline"]["reasons"]
    assert "old-launch" not in by_id  # archived


@pytest.mark.parametrize("fmt", ["table", "markdown", "html", "json"])
def test_every_report_format_shows_the_action(workspace: Path, fmt: str) -> None:
    code, out, err = invoke("report", "--format", fmt)
    assert code == 0, err
    if fmt == "json":
        doc = json.loads(out)
        actions = {k["id"]: k["action"] for k in doc["kpis"]}
        assert actions["revenue"]["owner"] == "Ana"
        assert "old-launch" not in actions
        return
    words = "Call every &lt;lapsed&gt; customer" if fmt == "html" else "Call every"
    assert words in out
    assert "Ana" in out and "2026-11-15" in out
    assert "action-overdue" in out
    assert "action-done-still-off-track" in out.replace("\n", "").replace(" ", "") or (
        "action-done-still-off-track" in out
    )
    assert "old-launch" not in out


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown", "json"])
def test_actions_views_show_the_action(workspace: Path, fmt: str) -> None:
    code, out, _ = invoke("actions", "--format", fmt)
    assert code == 0
    assert "Hire two SDRs" in out
    assert "old-launch" not in out


def test_fail_on_the_new_reasons(workspace: Path) -> None:
    from kpitrack.evaluation.select import FAIL_ON_VALUES

    assert {str(r) for r in Reason} <= set(FAIL_ON_VALUES)
    code, _, err = invoke("actions", "--fail-on", "action-overdue")
    assert code == 1 and "revenue" in err
    code, _, err = invoke("status", "--fail-on", "action-done-still-off-track")
    assert code == 1 and "pipeline" in err


def test_actions_markdown_groups_by_action_owner(workspace: Path) -> None:
    code, out, _ = invoke("actions", "--format", "markdown")
    assert code == 0
    assert out.index("### Ana") < out.index("revenue") < out.index("### Bo")
    assert out.index("### Bo") < out.index("pipeline")
    assert "### sales" not in out  # each plan's owner, not the KPI's


def test_archived_kpis_come_back_with_all(workspace: Path) -> None:
    for command in ("status", "actions", "report"):
        _, out, _ = invoke(command, "--format", "json")
        assert "old-launch" not in out
        _, out, _ = invoke(command, "--format", "json", "--all")
        assert "old-launch" in out
    _, out, _ = invoke("overdue", "--format", "json", "--all")
    assert "old-launch" in out
    code, out, _ = invoke("show", "old-launch", "--format", "json")
    assert code == 0 and "old-launch" in out


def test_archived_kpis_leave_the_focus_count() -> None:
    text = WORKSPACE
    config = Config(focus_limit=2)
    _, problems = load_texts([("k.yaml", text)], config=config, as_of=AS_OF)
    assert [p.code for p in problems] == []
    unarchived = text.replace("    archived: true\n", "")
    _, problems = load_texts([("k.yaml", unarchived)], config=config, as_of=AS_OF)
    assert {"KT103", "KT104"} <= {p.code for p in problems}


# ---------------------------------------------------------------- configuration


def test_config_reads_the_lint_periods(tmp_path: Path) -> None:
    path = tmp_path / "kpitrack.toml"
    path.write_text("stuck_periods = 2\nflat_periods = 4\n")
    config = read_config(path)
    assert (config.stuck_periods, config.flat_periods) == (2, 4)
    assert (Config().stuck_periods, Config().flat_periods) == (3, 6)


@pytest.mark.parametrize(
    "text", ["stuck_periods = 0\n", "flat_periods = 1\n", "flat_periods = 'x'\n"]
)
def test_config_refuses_bad_lint_periods(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kpitrack.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match="periods"):
        read_config(path)


def test_the_email_report_shows_the_action(workspace: Path) -> None:
    import email
    import email.policy

    code, out, err = invoke("report", "--format", "email", "--to", "team@example.com")
    assert code == 0, err
    message = email.message_from_string(out, policy=email.policy.default)
    parts = [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    assert len(parts) == 2
    for part in parts:
        assert "Ana" in part and "2026-11-15" in part
        assert "old-launch" not in part
