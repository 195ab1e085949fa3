"""The KPI site in a real browser: headless Chromium through Playwright, launched as
tests/test_report_browser.py launches it (its `browser` fixture: the system Chromium,
offline, never a downloaded browser; these tests skip with its reasons).

One browser for the module; each test walks every page of the sample site: no console
error, no failed or external request, no horizontal scrolling at 390 and 1280 px, in
light and dark colour schemes, and every chart with its text alternative.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from site_fixtures import EPOCH, SAMPLE, SAMPLE_AS_OF
from support import invoke

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

# The shared fixture and the Chromium it launches.
from test_report_browser import CHROMIUM, browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (see test_report_browser.py)"),
]
__all__ = ["browser"]

WIDTHS = (390, 1280)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    shutil.copy(SAMPLE, folder / "kpis.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        ran = invoke("site", "-o", "public", "--as-of", SAMPLE_AS_OF.isoformat())
    assert ran.code == 0, ran.stderr
    return folder / "public"


def pages_of(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


MEASURE = """
() => {
  const W = window.innerWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => { const r = el.getBoundingClientRect();
                      return r.width > 0 && (r.right > W + 0.5 || r.left < -0.5); })
    .map((el) => el.tagName + "." + el.className + ": " + (el.textContent || "").slice(0, 40));
  const charts = [...document.querySelectorAll("svg")].map((svg) => ({
    role: svg.getAttribute("role"),
    label: svg.getAttribute("aria-label") || "",
    title: (svg.querySelector("title") || {}).textContent || "",
    width: svg.getBoundingClientRect().width,
  }));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: W, wide, charts,
          background: getComputedStyle(document.body).backgroundColor};
}
"""
BACKGROUND = {"light": "rgb(255, 255, 255)", "dark": "rgb(13, 17, 23)"}


def test_every_page_loads_cleanly_and_fits(browser: Any, site: Path) -> None:
    """Each page is loaded once, then measured at each width in each colour scheme."""
    pages = pages_of(site)
    assert len(pages) == 27
    errors: list[str] = []
    failed: list[str] = []
    requests: list[str] = []
    page = browser.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("request", lambda r: requests.append(r.url))
    charts = 0
    try:
        for path in pages:
            requests.clear()
            page.goto(path.as_uri(), wait_until="load")
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": 800})
                    m = page.evaluate(MEASURE)
                    name = f"{path.relative_to(site)} at {width}px ({scheme})"
                    assert m["scrollWidth"] <= m["innerWidth"], f"{name}: sideways {m['wide']}"
                    assert m["background"] == BACKGROUND[scheme], name
                    for chart in m["charts"]:
                        assert chart["role"] == "img", name
                        assert chart["label"].startswith("Chart of "), name
                        assert chart["title"] == chart["label"], name
                        assert 0 < chart["width"] <= width, name
            charts += len(m["charts"])
            # The page itself and nothing else: no font, image, style or script fetched.
            assert requests == [path.as_uri()], path
            assert errors == [] and failed == [], path
    finally:
        page.close()
    assert charts >= 9


PRINT = """
() => ({display: getComputedStyle(document.querySelector("nav.crumbs")).display,
        tables: [...document.querySelectorAll("table.grid")]
          .map((t) => getComputedStyle(t).display)})
"""


def test_printed_pages_drop_navigation_and_keep_tables(browser: Any, site: Path) -> None:
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto((site / "kpi" / "mrr.html").as_uri())
        assert set(page.evaluate(PRINT)["tables"]) == {"block"}  # cards on a phone
        page.emulate_media(media="print")
        printed = page.evaluate(PRINT)
        assert printed["display"] == "none" and set(printed["tables"]) == {"table"}
    finally:
        page.close()
