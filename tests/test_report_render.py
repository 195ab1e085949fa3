"""The report renderers: Markdown tables, one self-contained HTML page, Rich, JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import pytest
from report_fixtures import AS_OF, CONFIG, SINCE, build_workspace
from rich.console import Console

from kpitrack.domain.model import Kpi, KpiResult, Measurement, Status
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate, format_percent
from kpitrack.render.report_common import STATUS_LABELS
from kpitrack.render.report_html import (
    ALERT,
    BACKGROUND,
    HEADER_BG,
    MUTED,
    SECTIONS,
    STATUS_COLOURS,
    TEXT,
    badge,
    progress_bar,
    render_report_html,
    spark_text,
    sparkline,
)
from kpitrack.render.report_json import render_report_json
from kpitrack.render.report_markdown import escape, render_report_markdown
from kpitrack.render.report_rich import render_report_rich
from kpitrack.reports.digest import Report, build_report

GOLDEN = Path(__file__).parent / "data" / "report" / "report.md"
NASTY = '<script>alert("x")</script> | [bold]R&D[/bold] `code` *star*'


def make_report(workspace: Workspace | None = None) -> Report:
    return build_report(workspace or build_workspace(), as_of=AS_OF, since=SINCE, config=CONFIG)


def nasty_workspace() -> Workspace:
    """User text with Markdown, HTML and Rich markup in every free-text field."""
    ws = build_workspace()
    kpis = tuple(
        dataclasses.replace(k, name=f"{k.name} {NASTY}", owner=NASTY, action=NASTY)
        if k.id in ("csat", "nps")
        else k
        for k in ws.kpis
    )
    objectives = tuple(dataclasses.replace(o, title=NASTY) for o in ws.objectives)
    measurements = tuple(
        dataclasses.replace(m, note=NASTY, by=NASTY) if m.kpi == "csat" else m
        for m in ws.measurements
    )
    return Workspace(objectives=objectives, kpis=kpis, measurements=measurements)


# ---------------------------------------------------------------- markdown

CELL_SPLIT = re.compile(r"(?<!\\)\|")


def parse_tables(markdown: str) -> list[list[list[str]]]:
    """Every GFM table as rows of cells (header and delimiter rows included)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in markdown.splitlines():
        if line.startswith("|"):
            assert line.endswith("|") and not line.endswith("\\|"), line
            cells = [c.strip() for c in CELL_SPLIT.split(line)[1:-1]]
            if current is None:
                current = []
                tables.append(current)
            current.append(cells)
        else:
            current = None
    return tables


@pytest.mark.parametrize("workspace", [build_workspace(), nasty_workspace()])
def test_markdown_rows_have_the_header_column_count(workspace: Workspace) -> None:
    tables = parse_tables(render_report_markdown(make_report(workspace)))
    # summary, 3 change kinds, new measurements, 3 objectives, overdue, needs action
    assert len(tables) == 10
    for rows in tables:
        header, delimiter, *body = rows
        assert all(re.fullmatch(r"-{3,}", cell) for cell in delimiter)
        assert len(delimiter) == len(header)
        assert body, "a table without rows is not rendered"
        for row in body:
            assert len(row) == len(header), row
            assert all(cell for cell in row), "empty cells get a dash"


def test_markdown_escapes_pipes_and_html() -> None:
    text = render_report_markdown(make_report(nasty_workspace()))
    assert "<script>" not in text
    assert "\\<script\\>" in text
    assert "\\| \\[bold\\]R\\&D\\[/bold\\] \\`code\\` \\*star\\*" in text
    assert escape("a|b\nc") == "a\\|b c"


def test_markdown_golden() -> None:
    text = render_report_markdown(make_report())
    if os.environ.get("KPITRACK_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_markdown_empty_sections() -> None:
    ws = build_workspace()
    report = build_report(
        Workspace(kpis=ws.kpis[4:5], measurements=()), as_of=AS_OF, since=AS_OF, config=CONFIG
    )
    text = render_report_markdown(report)
    assert "No status changes." in text
    assert "No new measurements." in text
    assert "No overdue reports." in text


# ---------------------------------------------------------------- html

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base"}
SVG_EMPTY = {"rect", "line", "circle", "polyline", "path"}
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


class Checker(HTMLParser):
    """Checks nesting and collects what could make a request."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "background", "poster", "data"):
                self.urls.append(value or "")
            if name == "style":
                self.styles.append(value or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]} at {self.getpos()}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def check_html(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == []
    assert checker.stack == [], "unclosed tags"
    return checker


@pytest.mark.parametrize("workspace", [build_workspace(), nasty_workspace()])
def test_html_is_well_formed_and_self_contained(workspace: Workspace) -> None:
    page = render_report_html(make_report(workspace))
    assert page.startswith("<!DOCTYPE html>")
    checker = check_html(page)
    assert checker.tags.count("html") == checker.tags.count("body") == 1
    assert "script" not in checker.tags
    assert "link" not in checker.tags
    assert "iframe" not in checker.tags and "img" not in checker.tags
    assert [u for u in checker.urls if EXTERNAL.match(u)] == []
    css = "\n".join(checker.styles)
    assert "@import" not in css
    assert not re.search(r"url\(", css), "no url() at all: nothing to fetch"
    assert "@font-face" not in css
    assert "@media print" in css
    assert not re.search(r"https?:|//[a-z]", page, re.IGNORECASE)
    # Mail-safe: no SVG at all; bars are table cells, the trend is text.
    assert "svg" not in checker.tags
    assert checker.tags.count("table") >= 8


def test_html_escapes_user_text() -> None:
    page = render_report_html(make_report(nasty_workspace()))
    checker = check_html(page)
    assert "script" not in checker.tags
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert any(NASTY in t for t in checker.text)


HOSTILE_CONTROLS = "bell\x07 esc\x1b[31m rlo\u202eevil nul\x00"


def hostile_site_workspace() -> Workspace:
    """The nasty workspace, with control and bidi characters and `</svg>` in its text too."""
    ws = nasty_workspace()
    kpis = tuple(
        dataclasses.replace(k, measure=f"{k.measure} {HOSTILE_CONTROLS} </svg></title>", unit="<u>")
        if k.id == "csat"
        else dataclasses.replace(k, unit="<b>")
        for k in ws.kpis
    )
    return Workspace(objectives=ws.objectives, kpis=kpis, measurements=ws.measurements)


def test_site_pages_escape_user_text() -> None:
    """The report's escaping test, over every page of the site: names, owners, objective
    titles, notes, recorders, units and measures, in text, attributes and chart labels."""
    from site_fixtures import broken_links

    from kpitrack.render.site_html import render_site
    from kpitrack.reports.site import build_site

    workspace = hostile_site_workspace()
    results = evaluate(workspace, as_of=AS_OF, config=CONFIG)
    site = build_site(workspace, results, as_of=AS_OF, config=CONFIG)
    pages = render_site(site)
    assert broken_links(pages) == []
    # The nasty owner's page has a plain file name of its own, inside owner/.
    for name in pages:
        assert re.fullmatch(r"(kpi|objective|owner)/[a-z0-9_-]+\.html|index\.html", name), name
    for name, page in pages.items():
        checker = check_html(page)
        assert "script" not in checker.tags and "u" not in checker.tags, name
        assert "b" not in checker.tags, name
        assert [u for u in checker.urls if EXTERNAL.match(u)] == [], name
        assert "<script>" not in page and "\x1b" not in page and "\u202e" not in page, name
        assert "\x00" not in page and "\x07" not in page, name
    csat = pages["kpi/csat.html"]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in csat
    assert any(NASTY in t for t in check_html(csat).text)  # the note, shown as written
    assert "bell\\x07 esc\\x1b[31m rlo\\u202eevil nul\\x00 &lt;/svg&gt;&lt;/title&gt;" in csat
    assert check_html(csat).tags.count("svg") == 1
    index = pages["index.html"]
    assert any(NASTY in t for t in check_html(index).text)  # owner and objective title


def test_html_sections_present() -> None:
    checker = check_html(render_report_html(make_report()))
    text = " ".join(checker.text)
    for heading in (
        "Summary",
        "What changed since 2026-11-23",
        "Regressions",
        "Improvements",
        "First reports",
        "New measurements",
        "Status by objective",
        "No objective",
        "Overdue reports",
        "Needs action",
    ):
        assert heading in text


def _result(kpi: Kpi, history: tuple[Measurement, ...]) -> KpiResult:
    return KpiResult(
        kpi=kpi,
        as_of=AS_OF,
        status=Status.NO_DATA if not history else Status.ON_TRACK,
        latest=history[-1] if history else None,
        baseline=None,
        start=None,
        progress=None,
        gap=None,
        expected=None,
        overdue=None,
        history=history,
    )


def test_sparkline_edge_cases() -> None:
    kpi = build_workspace().kpis[1]  # signups, target 100
    assert spark_text(_result(kpi, ())) == ""
    assert "—" in sparkline(_result(kpi, ()))
    one = sparkline(_result(kpi, (Measurement("signups", AS_OF, 100.0),)))
    check_html(one)
    assert spark_text(_result(kpi, (Measurement("signups", AS_OF, 100.0),))) == "▄"
    flat = _result(kpi, tuple(Measurement("signups", AS_OF, 100.0, order=i) for i in range(3)))
    assert spark_text(flat) == "▄▄▄"
    check_html(sparkline(flat))
    assert "nan" not in sparkline(flat).lower()


def test_sparkline_is_text_lowest_to_highest_with_a_spoken_label() -> None:
    kpi = build_workspace().kpis[1]  # signups
    values = (10.0, 20.0, 40.0, 80.0)
    r = _result(kpi, tuple(Measurement("signups", AS_OF, v, order=i) for i, v in enumerate(values)))
    assert spark_text(r) == "▁▂▄█"
    html = sparkline(r)
    assert ">▁▂▄█</span>" in html
    assert 'role="img"' in html
    assert "trend of the last 4 values: 10 accounts, 20 accounts, 40" in html


@pytest.mark.parametrize(
    ("progress", "widths"),
    [(0.5, ["50%", "50%"]), (0.0, ["100%"]), (1.0, ["100%"]), (1.7, ["100%"]), (-0.2, ["100%"])],
)
def test_progress_bar_is_table_cells_with_the_number(progress: float, widths: list[str]) -> None:
    html = progress_bar(progress)
    check_html(html)
    assert re.findall(r'<td width="(\d+%)"', html) == widths
    assert html.endswith(format_percent(progress))
    assert progress_bar(None).endswith("—</span>")


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fg: str, bg: str) -> float:
    high, low = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa() -> None:
    pairs = [*STATUS_COLOURS.values(), (TEXT, BACKGROUND), (MUTED, BACKGROUND)]
    pairs += [(MUTED, HEADER_BG), (TEXT, HEADER_BG), (ALERT, BACKGROUND)]
    for fg, bg in pairs:
        assert contrast(fg, bg) >= 4.5, (fg, bg)


def test_accessible_markup() -> None:
    page = render_report_html(make_report())
    assert '<html lang="en">' in page
    # Every header cell is scoped; a status is always written out next to its colour.
    assert re.findall(r"<th(?![^>]*scope=\"col\")", page) == []
    for status, label in STATUS_LABELS.items():
        assert f">{label}</span>" in badge(status)


def test_mail_safe_styles_are_inline() -> None:
    """What a mail client keeps: pills and bars need no stylesheet."""
    page = render_report_html(make_report())
    without_style = re.sub(r"<style>.*?</style>", "", page, flags=re.DOTALL)
    checker = check_html(without_style)
    assert "style" not in checker.tags and "svg" not in checker.tags
    assert all("background-color:" in badge(s) for s in STATUS_COLOURS)
    assert "background-color:" in progress_bar(0.4)


def test_sections_are_one_function_each() -> None:
    report = make_report()
    assert "".join("\n".join(section(report)) for section in SECTIONS) != ""
    page = render_report_html(report)
    for section in SECTIONS:
        for fragment in section(report):
            assert fragment in page


# ---------------------------------------------------------------- rich


def rich_text(report: Report, width: int = 140) -> str:
    buffer = StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False).print(
        render_report_rich(report)
    )
    return buffer.getvalue()


def test_rich_sections_and_no_markup_from_user_text() -> None:
    out = rich_text(make_report(nasty_workspace()))
    assert "[bold]R&D[/bold]" in out  # shown literally, not parsed as markup
    out = rich_text(make_report())
    for text in (
        "KPI report — 2026-11-30",
        "7 KPIs: 3 on track, 2 at risk, 1 off track, 1 no data; 1 overdue; 5 need action.",
        "on-track → at-risk",
        "off-track → on-track",
        "no-data → off-track",
        "2 periods missed, due since 2026-11-18 (12 days)",
        "Call every detractor within 48h",
        "No objective",
    ):
        assert text in out, text
    assert "\x1b[" not in out


# ---------------------------------------------------------------- json


def test_json_sections() -> None:
    doc = json.loads(render_report_json(make_report()))
    assert list(doc) == [
        "as_of",
        "kpis",
        "since",
        "summary",
        "owners",
        "changes",
        "objectives",
        "events",
        "overdue",
        "needs_action",
    ]
    assert doc["as_of"] == "2026-11-30" and doc["since"] == "2026-11-23"
    assert [k["id"] for k in doc["kpis"]] == [
        "csat",
        "signups",
        "nps",
        "churn",
        "docs",
        "pipe",
        "leads",
    ]
    assert {"id", "status", "latest", "target", "overdue", "reasons"} <= set(doc["kpis"][0])
    assert doc["summary"] == {
        "total": 7,
        "achieved": 0,
        "on-track": 3,
        "at-risk": 2,
        "off-track": 1,
        "no-data": 1,
        "overdue": 1,
        "needs-action": 5,
    }
    assert doc["owners"][-1]["owner"] is None
    assert doc["changes"]["regressions"] == [{"id": "csat", "from": "on-track", "to": "at-risk"}]
    assert doc["changes"]["improvements"] == [
        {"id": "signups", "from": "off-track", "to": "on-track"}
    ]
    assert doc["changes"]["first_reports"] == [{"id": "nps", "from": "no-data", "to": "off-track"}]
    assert doc["changes"]["new_measurements"][0] == {
        "kpi": "csat",
        "date": "2026-11-24",
        "value": "fair",
        "note": "survey | week 48",
    }
    assert doc["objectives"][-1] == {
        "id": None,
        "title": "No objective",
        "kpis": ["churn"],
        "summary": {
            "total": 1,
            "achieved": 0,
            "on-track": 1,
            "at-risk": 0,
            "off-track": 0,
            "no-data": 0,
            "overdue": 0,
            "needs-action": 0,
        },
        "depth": 0,
        "parent": None,
        "progress": None,
        "status": None,
    }
    assert doc["overdue"] == ["leads"]
    assert doc["needs_action"] == ["nps", "csat", "pipe", "docs", "leads"]
