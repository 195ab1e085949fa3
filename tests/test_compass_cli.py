"""The compass on the command line: `tree`, the roll-up in `status --format json`, the
forecast and events in `show` and the report, at 60, 80 and 120 columns and in every
format, on the shipped sample as of 2026-11-25."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import AS_OF as SAMPLE_DAY
from support import invoke

from kpitrack.commands.report import REPORT_WIDTH

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "sample_kpis.yaml")
AS_OF = ("-f", SAMPLE, *SAMPLE_DAY)
WIDTHS = (60, 80, 120)
IDS = (
    "brightpath-2026",
    "grow-revenue",
    "delight-customers",
    "ship-reliably",
    "build-team",
    "mrr",
    "paying-accounts",
    "trial-conversion",
    "onboarding-revamp",
)


def run(*args: str, columns: int = 120) -> str:
    result = invoke(*args, env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert result.code == 0, result.output
    return result.stdout


def words(text: str) -> set[str]:
    return set(re.findall(r"[\w-]+", text))


# ---------------------------------------------------------------- tree


@pytest.mark.parametrize("columns", WIDTHS)
def test_tree_table_fits_and_never_cuts_an_id(columns: int) -> None:
    out = run("tree", *AS_OF, columns=columns)
    assert all(len(line) <= columns for line in out.splitlines()), out
    found = words(out)
    assert all(i in found for i in IDS), out
    lines = out.splitlines()
    company = next(line for line in lines if "brightpath-2026" in line)
    assert "off-track" in company and "77%" in company
    # Children indented under their parent; drivers under the KPI they drive.
    grow = next(line for line in lines if "▾ grow-revenue" in line)
    assert grow.index("▾") > company.index("▾")
    driver = next(line for line in lines if "↳ churn" in line)
    mrr = next(line for line in lines if "• mrr" in line)
    assert driver.index("↳") > mrr.index("•")
    if columns >= 120:
        assert "CEO" in out and "2 off-track" in out  # owner and counts
    if columns == 60:
        assert "Not shown for width: Owner, KPIs" in out


def test_tree_json_is_nested_with_the_roll_up() -> None:
    doc = json.loads(run("tree", *AS_OF, "--format", "json"))
    assert doc["as_of"] == "2026-11-25"
    company = doc["objectives"][0]
    assert (company["id"], company["status"], company["depth"]) == (
        "brightpath-2026",
        "off-track",
        0,
    )
    grow, delight = company["children"]
    assert (grow["id"], grow["weight"], delight["id"]) == ("grow-revenue", 2, "delight-customers")
    # 2 × grow-revenue's progress + 1 × delight-customers', over 3.
    assert company["progress"] == pytest.approx((2 * grow["progress"] + delight["progress"]) / 3)
    assert company["counts"]["total"] == 8
    mrr = grow["kpis"][0]
    assert [d["id"] for d in mrr["drivers"]] == ["trial-conversion", "churn"]
    assert doc["unassigned"] == []


def test_tree_markdown() -> None:
    out = run("tree", *AS_OF, "--format", "markdown")
    assert out.startswith("# Objectives as of 2026-11-25\n")
    assert "- **brightpath-2026** Become the dependable choice" in out
    assert "  - **grow-revenue** " in out
    assert "    - `mrr` Monthly recurring revenue — at-risk, 76%, owner Finance" in out
    assert "      - driver `trial-conversion` " in out


def test_tree_filters_keep_the_path_to_the_root() -> None:
    out = run("tree", *AS_OF, "--owner", "sales", "--format", "markdown")
    listed = re.findall(r"(?:\*\*|`)([\w-]+)(?:\*\*|`)", out)
    assert listed == ["brightpath-2026", "grow-revenue", "paying-accounts"]
    out = run("tree", *AS_OF, "--objective", "delight-customers", "--format", "json")
    doc = json.loads(out)
    assert doc["objectives"][0]["id"] == "brightpath-2026"
    assert [c["id"] for c in doc["objectives"][0]["children"]] == ["delight-customers"]
    assert len(doc["objectives"][0]["children"][0]["kpis"]) == 4
    # The roll-up figures are those of the whole tree, not of what is shown.
    assert doc["objectives"][0]["counts"]["total"] == 8


def test_tree_errors_and_fail_on() -> None:
    bad = invoke("tree", *AS_OF, "--objective", "grow-revenu")
    assert bad.code == 2 and "did you mean 'grow-revenue'" in bad.stderr
    assert invoke("tree", *AS_OF, "--format", "csv").code == 2
    failed = invoke("tree", *AS_OF, "--fail-on", "forecast-miss")
    assert failed.code == 1 and "paying-accounts" in failed.stderr


def test_tree_output_file_takes_its_format(tmp_path: Path) -> None:
    target = tmp_path / "tree.md"
    assert invoke("tree", *AS_OF, "-o", str(target)).code == 0
    assert target.read_text(encoding="utf-8").startswith("# Objectives")


# ---------------------------------------------------------------- status, actions


def test_status_json_has_objectives_beside_kpis() -> None:
    doc = json.loads(run("status", *AS_OF, "--format", "json"))
    assert [o["id"] for o in doc["objectives"]][:3] == [
        "brightpath-2026",
        "grow-revenue",
        "delight-customers",
    ]
    kpis = {k["id"]: k for k in doc["kpis"]}
    assert kpis["paying-accounts"]["status"] == "on-track"
    assert kpis["paying-accounts"]["reasons"] == ["forecast-miss"]
    forecast = kpis["paying-accounts"]["forecast"]
    assert set(forecast) == {"at", "value", "low", "high", "reaches_target_on"}
    assert forecast["at"] == "2026-12-31" and forecast["high"] < 520
    assert kpis["mrr"]["drivers"] == [
        {"id": "trial-conversion", "status": "on-track"},
        {"id": "churn", "status": "on-track"},
    ]
    # Filtered: only the listed KPIs' paths, the roll-up still over everything.
    doc = json.loads(run("status", *AS_OF, "--format", "json", "--owner", "sales"))
    assert [o["id"] for o in doc["objectives"]] == ["brightpath-2026", "grow-revenue"]
    assert doc["objectives"][0]["counts"]["total"] == 8


def test_fail_on_forecast_miss_and_drivers_in_actions() -> None:
    failed = invoke("status", *AS_OF, "--fail-on", "forecast-miss")
    assert failed.code == 1
    assert "eng-hiring, mrr, paying-accounts" in failed.stderr
    out = run("actions", *AS_OF, "--format", "markdown")
    assert "at-risk, forecast-miss; drivers: trial-conversion on-track, churn on-track" in out


# ---------------------------------------------------------------- show


@pytest.mark.parametrize("columns", WIDTHS)
def test_show_says_the_forecast_and_draws_projection_and_events(columns: int) -> None:
    out = run("show", "paying-accounts", *AS_OF, "--no-pager", columns=columns)
    assert all(len(line) <= columns for line in out.splitlines()), out
    flat = " ".join(out.split())
    assert "at this pace 502.8–515.1 accounts by 2026-12-31 (target 520 accounts)" in flat
    assert "reaches the target around 2027-01-30" in flat
    assert "needs action: forecast-miss" in flat
    assert "Annual-plan discount campaign launched" in out
    chart = out[out.index("┤") :]
    assert "-" in chart and "▲" in chart and "projection" in chart and "event" in chart


def test_show_json_and_markdown_carry_forecast_and_events() -> None:
    doc = json.loads(run("show", "uptime", *AS_OF, "--format", "json"))
    assert doc["events"] == [
        {
            "date": "2026-11-20",
            "title": "API outage (42 minutes, database failover)",
            "kpis": ["uptime"],
            "note": "Post-mortem in the SRE wiki",
        }
    ]
    assert doc["kpis"][0]["forecast"]["at"] == "2026-11-26"  # daily: the end of tomorrow
    out = run("show", "mrr", *AS_OF, "--format", "markdown")
    assert "### Events" in out and "Forecast: at this pace 193,200–195,233 USD" in out
    assert "drivers: trial-conversion on-track, churn on-track" in out


def test_show_without_forecast_says_nothing_of_it() -> None:
    out = run("show", "enps", *AS_OF, "--no-pager")
    assert "forecast" not in out and "projection" not in out


# ---------------------------------------------------------------- the report


@pytest.mark.parametrize("columns", WIDTHS)
def test_report_table_follows_the_tree(columns: int) -> None:
    out = run("report", *AS_OF, columns=columns)
    section = out[out.index("Status by objective") : out.index("Overdue reports")]
    titles = [line for line in section.splitlines() if "(" in line and "%" in line]
    assert titles[0].startswith("Become the dependable")
    assert titles[1].startswith("  Grow recurring revenue")  # a child, indented
    assert "off-track, 80%" in " ".join(section.split())
    assert "Events" in out and "API outage" in out  # in the window (2026-11-18, 25]
    # Off a terminal the report has its own fixed width, whatever $COLUMNS says.
    assert all(len(line) <= REPORT_WIDTH for line in out.splitlines())


def test_report_in_every_format() -> None:
    md = run("report", *AS_OF, "--format", "markdown")
    assert "### Become the dependable choice for mid-size SaaS teams (`brightpath-2026`)" in md
    assert "#### Grow recurring revenue" in md
    assert "Objective: off-track, progress 80%." in md
    assert "### Events" in md and "API outage" in md
    doc = json.loads(run("report", *AS_OF, "--format", "json"))
    objectives = {o["id"]: o for o in doc["objectives"]}
    assert objectives["grow-revenue"]["parent"] == "brightpath-2026"
    assert objectives["grow-revenue"]["depth"] == 1
    assert objectives["brightpath-2026"]["kpis"] == []
    assert [e["title"] for e in doc["events"]] == ["API outage (42 minutes, database failover)"]
    assert doc["kpis"][0]["forecast"] is not None or doc["kpis"][0]["latest"] is None
    html = run("report", *AS_OF, "--format", "html")
    assert 'style="border-bottom:2px solid #b45309"' in html  # the outage on uptime's trend
    assert "events: 2026-11-20 API outage" in html
    assert 'margin-left:1.5em"' in html  # a child objective's heading


def test_report_events_outside_the_window_are_left_out() -> None:
    doc = json.loads(run("report", *AS_OF, "--since", "2026-11-21", "--format", "json"))
    assert doc["events"] == []


def test_event_titles_are_shown_as_written_never_as_markup_or_controls(tmp_path: Path) -> None:
    text = (
        Path(SAMPLE)
        .read_text(encoding="utf-8")
        .replace(
            "title: API outage (42 minutes, database failover)",
            'title: "[bold]outage[/bold] \\e]0;pwned\\a"',
        )
    )
    sample = tmp_path / "kpis.yaml"
    sample.write_text(text, encoding="utf-8")
    args = ("-f", str(sample), "--as-of", "2026-11-25")
    for fmt in ("table", "markdown", "json"):
        out = run("show", "uptime", *args, "--format", fmt, "--no-pager")
        assert "\x1b" not in out and "\x07" not in out
        assert "outage" in out
    table_out = run("show", "uptime", *args, "--no-pager")
    assert "[bold]outage[/bold]" in table_out
    html = run("report", *args, "--format", "html")
    assert "[bold]outage[/bold]" in html  # HTML-escaped like every name (docs/SECURITY.md)
    bad = invoke("check", "-f", str(sample), "--as-of", "2026-11-25")
    assert bad.code == 0  # a title is free text


def test_status_json_objective_filter_keeps_the_named_objectives() -> None:
    args = ("status", *AS_OF, "--format", "json", "--objective", "build-team,ship-reliably")
    doc = json.loads(run(*args))
    assert [o["id"] for o in doc["objectives"]] == ["ship-reliably", "build-team"]
    assert {k["objective"] for k in doc["kpis"]} == {"ship-reliably", "build-team"}
