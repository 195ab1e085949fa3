"""Shared by the site's tests: build the sample site, read its pages, check its links.

The link checker is pure Python over the files: every `href`/`src` of every page must
be relative (no scheme, no leading `/`), stay inside the site and name a page that
exists, and a `#fragment` an id on that page.
"""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path

from support import SAMPLE_DATE

from kpitrack.domain.model import KpiResult

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_kpis.yaml"
SAMPLE_AS_OF = SAMPLE_DATE
EPOCH = "1790000000"  # SOURCE_DATE_EPOCH of the tests' builds: 2026-09-21 ...


class PageScan(HTMLParser):
    """What one page holds: its links, ids, tags, SVGs and visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.svgs: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        for name in ("href", "src", "xlink:href", "action", "srcset", "poster", "data"):
            if values.get(name) is not None:
                self.links.append(str(values[name]))
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "svg":
            self.svgs.append(values)
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        elif data.strip():
            self.text.append(data.strip())


def scan(html: str) -> PageScan:
    page = PageScan()
    page.feed(html)
    page.close()
    return page


def site_pages(folder: Path) -> dict[str, str]:
    """Every HTML page under `folder`, by its path relative to it (POSIX)."""
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*.html"))
    }


def broken_links(pages: dict[str, str]) -> list[str]:
    """`page: link (why)` for every link that does not resolve inside the site."""
    scans = {name: scan(html) for name, html in pages.items()}
    out: list[str] = []
    for name, page in scans.items():
        for href in page.links:
            target, _, fragment = href.partition("#")
            if ":" in target.split("/")[0] or target.startswith("/"):
                out.append(f"{name}: {href} (not relative)")
                continue
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            if not target:
                resolved = name
            if resolved.startswith("../") or resolved == "..":
                out.append(f"{name}: {href} (outside the site)")
            elif resolved not in scans:
                out.append(f"{name}: {href} (no such page)")
            elif fragment and fragment not in scans[resolved].ids:
                out.append(f"{name}: {href} (no such id)")
    return out


def plain_table_rows(r: KpiResult) -> list[str]:
    """The oracle of the site's measurements table: its rows as they were made before
    the fast paths, one Measurement per entry, every cell formatted on its own."""
    from kpitrack.evaluation.evaluate import expected_position
    from kpitrack.render.report_common import DASH, format_value
    from kpitrack.render.site_html import t

    kpi = r.kpi
    base = kpi.position(r.baseline) if r.baseline is not None else None
    standing_target = t(format_value(kpi, kpi.target)) if kpi.due is None else None
    rows = []
    for m in reversed(tuple(r.history)):
        expected = DASH
        if standing_target is not None:
            expected = standing_target
        elif base is not None:
            position = expected_position(kpi, m.date, start=r.start, baseline=base)
            expected = t(format_value(kpi, kpi.label(position)))
        rows.append(
            f'<tr><td class="lead nowrap">{m.date.isoformat()}</td>'
            f'<td data-label="Value">{t(format_value(kpi, m.value))}</td>'
            f'<td data-label="Expected">{expected}</td>'
            f'<td data-label="Note">{t(m.note) or DASH}</td>'
            f'<td data-label="By">{t(m.by) or DASH}</td></tr>'
        )
    return rows
