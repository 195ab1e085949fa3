"""The HTML report in a real browser: headless Chromium, driven by Playwright.

Playwright talks to the system Chromium (Debian's `chromium`, `/usr/bin/chromium`, or
$KPITRACK_CHROMIUM) through `executable_path`; it never downloads a browser. Without
the browser or the `playwright` package these tests skip and say why.

At 320, 390, 768 and 1280 px: no horizontal scrolling, every KPI id and status pill
inside the viewport, no cell of a KPI table overlapping another. Then the page as Gmail
shows it (no `<style>`, no SVG) still has every status, percentage and action as text.

`KPITRACK_SCREENSHOTS=1 pytest tests/test_report_browser.py` also writes
docs/report-390.png and docs/report-1280.png (the README's pictures) from this browser.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import AS_OF, CONFIG, SINCE, build_workspace
from support import SAMPLE_DATE as SAMPLE_AS_OF

from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import format_percent
from kpitrack.reading.config import load_config
from kpitrack.reading.loading import load_valid_workspace
from kpitrack.render.report_common import STATUS_LABELS, one_line
from kpitrack.render.report_html import render_report_html
from kpitrack.reports.digest import Report, build_report

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_kpis.yaml"
WIDTHS = (320, 390, 768, 1280)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install -e '.[test]')",
)


def chromium_path() -> str | None:
    wanted = os.environ.get("KPITRACK_CHROMIUM")
    if wanted:
        return wanted
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = chromium_path()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium: install Debian's `chromium` package (.ci/run does) "
        "or point KPITRACK_CHROMIUM at a Chromium binary",
    ),
]


def sample_report() -> Report:
    config = dataclasses.replace(load_config(ROOT / "tests"), files=())
    workspace = load_valid_workspace([SAMPLE], config=config, as_of=SAMPLE_AS_OF)
    return build_report(
        workspace,
        as_of=SAMPLE_AS_OF,
        since=SAMPLE_AS_OF - dt.timedelta(days=7),
        config=config,
    )


def long_text_report() -> Report:
    """Long names, ids, owners and action plans: the worst case for a phone."""
    base = build_workspace()
    long_id = {k.id: f"{k.id}-p95-checkout-latency-eu" for k in base.kpis}
    kpis = tuple(
        dataclasses.replace(
            k,
            id=long_id[k.id],
            name=f"{k.name} measured across every region and channel, monthly rolling",
            owner=(k.owner or "ops") + " and customer-experience-operations",
            action=("Escalate to the steering group; " * 6).strip() if k.action else None,
        )
        for k in base.kpis
    )
    measurements = tuple(dataclasses.replace(m, kpi=long_id[m.kpi]) for m in base.measurements)
    workspace = Workspace(kpis=kpis, measurements=measurements, objectives=base.objectives)
    return build_report(workspace, as_of=AS_OF, since=SINCE, config=CONFIG)


REPORTS = {
    "sample": sample_report,
    "fixture": lambda: build_report(build_workspace(), as_of=AS_OF, since=SINCE, config=CONFIG),
    "long-text": long_text_report,
}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    assert CHROMIUM is not None
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            offline=True,
            java_script_enabled=True,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Report, Path]]:
    folder = tmp_path_factory.mktemp("reports")
    out = {}
    for name, make in REPORTS.items():
        report = make()
        path = folder / f"{name}.html"
        path.write_text(render_report_html(report), encoding="utf-8")
        out[name] = (report, path)
    return out


MEASURE = """
() => {
  const W = window.innerWidth;
  const out = {scrollWidth: document.documentElement.scrollWidth, innerWidth: W,
               outside: [], broken: [], ids: [], labels: [], overlaps: [], overflowing: []};
  const shown = (r) => r.width > 0 && r.height > 0;
  const inside = (r) => r.left >= -0.5 && r.right <= W + 0.5;
  const name = (el) => (el.textContent || "").trim().slice(0, 40);
  for (const el of document.querySelectorAll(".id, .badge")) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!shown(r) || !inside(r) || style.visibility === "hidden" || style.display === "none") {
      out.outside.push(name(el));
    } else if (el.classList.contains("id")) {
      out.ids.push(name(el));
      if (el.getClientRects().length !== 1) out.broken.push(name(el));
    } else {
      out.labels.push(name(el));
    }
  }
  const overlap = (a, b) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const pairs = (els, where) => {
    const boxes = els.map((el) => [el, el.getBoundingClientRect()]).filter(([, r]) => shown(r));
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++)
        if (overlap(boxes[i][1], boxes[j][1]))
          out.overlaps.push(where + ": " + name(boxes[i][0]) + " / " + name(boxes[j][0]));
  };
  for (const tr of document.querySelectorAll("table.grid > tbody > tr, table.cards tr")) {
    const cells = [...tr.children];
    pairs(cells, "cells");
    for (const cell of cells) {
      pairs([...cell.children], "in a cell");
      if (cell.scrollWidth > cell.clientWidth + 1) out.overflowing.push(name(cell));
    }
  }
  return out;
}
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(REPORTS))
def test_layout_at_width(
    browser: Any, pages: dict[str, tuple[Report, Path]], name: str, width: int
) -> None:
    report, path = pages[name]
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(path.as_uri())
        m = page.evaluate(MEASURE)
        if os.environ.get("KPITRACK_SCREENSHOTS") and name == "sample" and width in (390, 1280):
            # The phone picture shows the top of the page: summary, changes, first objectives.
            clip = {"x": 0, "y": 0, "width": width, "height": 3600} if width < 768 else None
            shot = ROOT / "docs" / f"report-{width}.png"
            page.screenshot(path=str(shot), full_page=True, clip=clip)
    finally:
        page.close()
    assert m["scrollWidth"] <= m["innerWidth"], f"horizontal overflow at {width}px"
    assert m["outside"] == [], "ids or status pills outside the viewport"
    assert m["broken"] == [], "ids broken over two lines"
    assert m["overlaps"] == []
    assert m["overflowing"] == [], "cell content wider than its cell"
    assert {r.kpi.id for r in report.results} <= set(m["ids"])
    assert {STATUS_LABELS[r.status] for r in report.results} <= set(m["labels"])


STRIP = """
() => {
  document.querySelectorAll("style, svg, link").forEach((n) => n.remove());
  for (const el of document.querySelectorAll("[class]")) el.removeAttribute("class");
  return document.body.innerText;
}
"""


@pytest.mark.parametrize("name", list(REPORTS))
def test_without_style_and_svg_everything_is_still_text(
    browser: Any, pages: dict[str, tuple[Report, Path]], name: str
) -> None:
    """What Gmail or Outlook shows: no `<style>`, no SVG, no classes."""
    report, path = pages[name]
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": 600, "height": 900})
        page.goto(path.as_uri())
        text = " ".join(page.evaluate(STRIP).split())
    finally:
        page.close()
    for r in report.results:
        assert r.kpi.id in text
        assert STATUS_LABELS[r.status] in text
        if r.progress is not None:
            assert format_percent(r.progress) in text
    for r in report.needs_action:
        assert (one_line(r.kpi.action) if r.kpi.action else "") in text
    assert "no action plan" in text or all(r.kpi.action for r in report.needs_action)


PRINTED = """
() => [...document.querySelectorAll("table.grid")].map((t) => getComputedStyle(t).display)
"""


def test_print_keeps_the_tables_at_any_width(
    browser: Any, pages: dict[str, tuple[Report, Path]]
) -> None:
    """Cards are for narrow screens only: on paper every KPI table stays a table."""
    _, path = pages["sample"]
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(path.as_uri())
        assert set(page.evaluate(PRINTED)) == {"block"}
        page.emulate_media(media="print")
        assert set(page.evaluate(PRINTED)) == {"table"}
    finally:
        page.close()


STRIPPED_WIDTH = """
() => {
  document.querySelectorAll("style, svg, link").forEach((n) => n.remove());
  for (const el of document.querySelectorAll("[class]")) el.removeAttribute("class");
  const wide = [...document.querySelectorAll("table")]
    .filter((t) => t.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((t) => t.innerText.slice(0, 40));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, wide};
}
"""


@pytest.mark.parametrize("name", list(REPORTS))
def test_without_style_the_page_still_fits_a_phone(
    browser: Any, pages: dict[str, tuple[Report, Path]], name: str
) -> None:
    """Issue #22 item 13: a mail client that strips `<style>` gets the inline cards, which
    fit 390 px (the Summary's nine columns used to need 490 px)."""
    _, path = pages[name]
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(path.as_uri())
        m = page.evaluate(STRIPPED_WIDTH)
    finally:
        page.close()
    assert m["wide"] == [], m["wide"]
    assert m["scrollWidth"] <= m["innerWidth"]
