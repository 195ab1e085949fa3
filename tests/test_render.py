"""Renderers: whole-string markdown and CSV, Rich tables at 80 columns."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from rich.console import Console, RenderableType

from kpitrack.domain.model import Direction, Frequency, Kind, Kpi, KpiResult, Measurement, Milestone
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate, evaluate_kpi, worst_first
from kpitrack.render import csv, markdown
from kpitrack.render.table import actions as actions_table
from kpitrack.render.table import (
    chart,
    gap_cell,
    progress_bar,
    sparkline,
)
from kpitrack.render.table import overdue as overdue_table
from kpitrack.render.table import show as show_view
from kpitrack.render.table import status as status_table

D = dt.date
AS_OF = D(2026, 11, 25)

KPIS = (
    Kpi(
        "revenue", "Revenue [EU] | net", "sum of paid invoices", 120000, Frequency.MONTHLY,
        unit="USD", owner="sales", objective="growth", baseline=50000, start=D(2026, 1, 1),
        due=D(2026, 12, 31), milestones=(Milestone(D(2026, 6, 30), 80000),),
    ),
    Kpi(
        "csat", "Customer satisfaction", "survey median", "good", Frequency.QUARTERLY,
        kind=Kind.QUALITATIVE, scale=("poor", "fair", "good", "excellent"), owner="support",
        action='call, "every" customer',
    ),
    Kpi(
        "docs", "Docs coverage", "pages done", 100, Frequency.MONTHLY,
        kind=Kind.PROGRESS, unit="%",
    ),
)  # fmt: skip
MEASUREMENTS = (
    Measurement("revenue", D(2026, 9, 30), 90000, order=0),
    Measurement("revenue", D(2026, 10, 31), 95000, order=1, note="good month"),
    Measurement("csat", D(2026, 6, 30), "fair", order=2),
)


@pytest.fixture
def results() -> list[KpiResult]:
    ws = Workspace(kpis=KPIS, measurements=MEASUREMENTS)
    return sorted(evaluate(ws, as_of=AS_OF), key=worst_first)


def text_of(renderable: RenderableType, width: int = 80) -> str:
    console = Console(file=StringIO(), width=width, color_system=None, no_color=True)
    console.print(renderable)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


# ---------------------------------------------------------------- markdown


# Revenue on 2026-10-31: 123 of the 184 days from the milestone (80,000 on 06-30) to due
# (120,000 on 12-31): 80,000 + 40,000 * 123 / 184 = 106,739.13.


def test_markdown_status(results: list[KpiResult]) -> None:
    assert markdown.status(results) == (
        "| KPI | Name | Owner | Latest | Date | Target | Expected | Progress | Status |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        "| revenue | Revenue \\[EU\\] \\| net | sales | 95,000 USD | 2026-10-31 | 120,000 USD"
        " | 106,739.13 USD | 64% | off-track |\n"
        "| csat | Customer satisfaction | support | fair | 2026-06-30 | good | good | 0%"
        " | at-risk (overdue) |\n"
        "| docs | Docs coverage | — | — | — | 100% | — | — | no-data (overdue) |\n"
        "\n"
        "3 KPIs: 1 at risk, 1 off track, 1 no data; 2 overdue; 3 need action.\n"
    )


def test_markdown_overdue(results: list[KpiResult]) -> None:
    assert markdown.overdue(results) == (
        "| KPI | Name | Owner | Frequency | Last report | Missed | Due since | Days |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| csat | Customer satisfaction | support | quarterly | 2026-06-30 | 1 | 2026-10-03"
        " | 53 |\n"
        "| docs | Docs coverage | — | monthly | never | never reported | — | — |\n"
    )


def test_markdown_actions(results: list[KpiResult]) -> None:
    header = "| KPI | Name | Status | Reasons | Action plan |\n|---|---|---|---|---|\n"
    assert markdown.actions(results) == (
        "### sales\n\n" + header + "| revenue | Revenue \\[EU\\] \\| net | off-track"
        " | off-track, no-action-plan | none |\n"
        "\n### support\n\n" + header + "| csat | Customer satisfaction | at-risk"
        ' | at-risk, overdue | call, "every" customer |\n'
        "\n### No owner\n\n" + header + "| docs | Docs coverage | no-data | overdue, no-data"
        " | none |\n"
    )


def test_markdown_empty_lists() -> None:
    assert markdown.overdue([]) == "No overdue reports.\n"
    assert markdown.actions([]) == "Nothing needs action.\n"


def test_markdown_show(results: list[KpiResult]) -> None:
    assert markdown.show(results[0]) == (
        "## Revenue \\[EU\\] \\| net (`revenue`)\n"
        "- **Measure:** sum of paid invoices\n"
        "- **Target:** 120,000 USD (increase)\n"
        "- **Baseline:** 50,000 USD\n"
        "- **Start:** 2026-01-01\n"
        "- **Due:** 2026-12-31\n"
        "- **Frequency:** monthly\n"
        "- **Owner:** sales\n"
        "- **Objective:** growth\n"
        "- **Action plan:** none\n"
        "\n### Milestones\n\n"
        "| Date | Target |\n|---|---|\n| 2026-06-30 | 80,000 USD |\n"
        "\n### History\n\n"
        "| Date | Value | Note | By |\n|---|---|---|---|\n"
        "| 2026-09-30 | 90,000 USD |  |  |\n"
        "| 2026-10-31 | 95,000 USD | good month |  |\n"
        "\n### Status: off-track\n\n"
        "expected ≥ 106,739.13 USD by 2026-10-31 on the way to 120,000 USD by 2026-12-31;"
        " latest 95,000 USD: off track\n"
        "\nNeeds action: off-track, no-action-plan\n"
    )


# ---------------------------------------------------------------- csv


def test_csv_status(results: list[KpiResult]) -> None:
    assert csv.status(results) == (
        "id,name,owner,objective,status,latest_date,latest_value,target,expected,progress,"
        "gap,due,missed_periods,due_since,days_overdue,reasons\n"
        "revenue,Revenue [EU] | net,sales,growth,off-track,2026-10-31,95000,120000,"
        "106739.130435,0.642857142857,25000,2026-12-31,,,,off-track;no-action-plan\n"
        "csat,Customer satisfaction,support,,at-risk,2026-06-30,fair,good,good,0,1,,1,"
        "2026-10-03,53,at-risk;overdue\n"
        "docs,Docs coverage,,,no-data,,,100,,,,,never,,,overdue;no-data\n"
    )


def test_csv_overdue(results: list[KpiResult]) -> None:
    assert csv.overdue(results) == (
        "id,name,owner,frequency,last_report,missed_periods,due_since,days_overdue\n"
        "csat,Customer satisfaction,support,quarterly,2026-06-30,1,2026-10-03,53\n"
        "docs,Docs coverage,,monthly,,never,,\n"
    )


def test_csv_actions_quotes_commas_and_quotes(results: list[KpiResult]) -> None:
    assert csv.actions(results) == (
        "id,name,owner,status,reasons,days_overdue,action\n"
        "revenue,Revenue [EU] | net,sales,off-track,off-track;no-action-plan,,\n"
        'csat,Customer satisfaction,support,at-risk,at-risk;overdue,53,"call, ""every"" customer"\n'
        "docs,Docs coverage,,no-data,overdue;no-data,,\n"
    )


def test_csv_show(results: list[KpiResult]) -> None:
    assert csv.show(results[0]) == (
        "date,value,note,by\n2026-09-30,90000,,\n2026-10-31,95000,good month,\n"
    )


# ---------------------------------------------------------------- rich tables


@pytest.mark.parametrize("width", [70, 75, 80, 100, 140])
def test_status_table_fits_and_keeps_status_column(results: list[KpiResult], width: int) -> None:
    out = text_of(status_table(results), width)
    assert max(len(line) for line in out.splitlines()) <= width
    for word in ("off-track", "at-risk", "no-data", "Status"):
        assert word in out
    if width >= 100:  # long names are cut with an ellipsis on narrower terminals
        assert "[EU]" in out  # brackets shown as written, not read as markup
    assert "3 KPIs: 1 at risk, 1 off track, 1 no data; 2 overdue; 3 need action." in out


def test_status_table_with_long_names_keeps_status_at_80() -> None:
    long = Kpi(
        "a-very-long-kpi-identifier",
        "An extremely long KPI name that goes on and on [and on]",
        "m m m",
        1_000_000_000,
        Frequency.WEEKLY,
        owner="the-department-of-long-names",
        unit="USD",
        direction=Direction.DECREASE,
    )
    r = evaluate_kpi(long, [Measurement(long.id, D(2026, 11, 20), 1_234_567_890.5)], as_of=AS_OF)
    out = text_of(status_table([r]), 80)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "off-track" in out


def test_overdue_and_actions_tables(results: list[KpiResult]) -> None:
    overdue = text_of(overdue_table(results))
    assert "never reported" in overdue and "2026-10-03" in overdue and "53" in overdue
    # one line per KPI's first row: "never reported" is not folded over two lines
    assert any(line.count("never reported") == 1 for line in overdue.splitlines())
    assert "revenue" not in overdue
    actions = text_of(actions_table(results))
    assert '"every"' in actions  # folded in its column, but there
    assert "no-action-plan" in actions
    assert text_of(overdue_table([])) == "No overdue reports.\n"
    assert text_of(actions_table([])) == "Nothing needs action.\n"


def test_show_view(results: list[KpiResult]) -> None:
    out = text_of(show_view(results[0]))
    assert "Revenue [EU] | net" in out
    assert "80,000 USD" in out  # milestone
    assert "good month" in out
    assert "● measured" in out
    assert "latest 95,000 USD: off track" in out
    assert "needs action: off-track, no-action-plan" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_no_escape_codes_without_colour(results: list[KpiResult]) -> None:
    assert "\x1b[" not in text_of(status_table(results))
    assert "\x1b[" not in text_of(show_view(results[1]))


@pytest.mark.parametrize(
    ("progress", "text"),
    [
        (None, "—"),
        (0.0, "········ 0%"),
        (0.5, "████···· 50%"),
        (1.0, "████████ 100%"),
        (1.5, "████████ 150%"),
        (-0.2, "········ -20%"),
        (0.0625, "▌······· 6%"),
    ],
)
def test_progress_bar(progress: float | None, text: str) -> None:
    assert progress_bar(progress).plain == text


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([], ""),
        ([5, 5, 5], "▄▄▄"),
        ([0, 7], "▁█"),
        ([0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"),
        ([9, 0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"),  # only the last 8
        ([7, 0], "█▁"),
    ],
)
def test_sparkline(values: list[float], line: str) -> None:
    assert sparkline(values) == line


def test_chart_marks_values_and_path(results: list[KpiResult]) -> None:
    out = chart(results[0]).plain
    lines = out.splitlines()
    assert lines[0].startswith("120,000 ┤")  # the top of the range is the target
    assert out.count("●") == 2 + 1  # two measurements and the legend
    assert "2026-01-01" in out and "2026-12-31" in out
    assert chart(results[2]).plain == "(no measurements to chart)"


def test_status_table_columns_by_width(results: list[KpiResult]) -> None:
    wide = text_of(status_table(results), 140).splitlines()[0].split()
    assert wide == [
        "KPI",
        "Owner",
        "Latest",
        "Target",
        "Progress",
        "Trend",
        "Expected",
        "Gap",
        "Status",
    ]
    narrow = text_of(status_table(results), 80).splitlines()[0].split()
    assert narrow[-1] == "Status"
    assert "Gap" not in narrow


def test_gap_cell_counts_scale_steps_for_qualitative_kpis() -> None:
    kpi = Kpi(
        "csat",
        "CSAT",
        "Median survey rating",
        "excellent",
        Frequency.QUARTERLY,
        kind=Kind.QUALITATIVE,
        scale=("poor", "fair", "good", "excellent"),
    )
    one = evaluate_kpi(kpi, [Measurement("csat", D(2026, 9, 30), "good")], as_of=AS_OF)
    two = evaluate_kpi(kpi, [Measurement("csat", D(2026, 9, 30), "fair")], as_of=AS_OF)
    met = evaluate_kpi(kpi, [Measurement("csat", D(2026, 9, 30), "excellent")], as_of=AS_OF)
    assert [gap_cell(one), gap_cell(two), gap_cell(met)] == ["1 step", "2 steps", "—"]


# ---------------------------------------------------------------- user text is never markup


def _one(name: str, owner: str, value: float = 3.0, target: float = 5.0) -> KpiResult:
    kpi = Kpi("k", name, "count of the things done", target, Frequency.MONTHLY, owner=owner)
    return evaluate_kpi(kpi, [Measurement("k", D(2026, 10, 31), value)], as_of=AS_OF)


def test_rich_markup_in_names_is_shown_as_written() -> None:
    # Lowercase tags are what Rich would read as markup ([EU] is never markup).
    r = _one("Rev [bold]x[/bold]", "[red]ops[/red]")
    for renderable in (status_table([r]), show_view(r), actions_table([r])):
        out = text_of(renderable, 140)
        assert "Rev [bold]x[/bold]" in out
    assert "[red]ops[/red]" in text_of(status_table([r]), 140)


def test_markdown_escapes_html_and_markdown_in_user_text() -> None:
    r = _one("Sales <script>alert(1)</script>\n# heading", "a & b|c")
    status = markdown.status([r])
    assert "<script>" not in status and "\\<script\\>" in status
    assert "a \\& b\\|c" in status
    show = markdown.show(r)
    assert "\n# heading" not in show
    assert show.startswith("## Sales \\<script\\>alert(1)\\</script\\> \\# heading (`k`)\n")


def test_json_keeps_small_values_exactly() -> None:
    from kpitrack.render.json import result_json

    r = _one("Tiny", "ops", value=0.0000004, target=0.0000005)
    doc = result_json(r)
    assert doc["latest"]["value"] == 0.0000004
    assert doc["target"] == 0.0000005
    assert doc["progress"] == 0.0  # first value is the baseline: computed, rounded to 12 digits
