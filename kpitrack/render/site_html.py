"""The KPI site as HTML pages: `render_site(site)` gives every page's text by path.

Self-contained: no scripts, no external requests (no fonts, images or `url()`); the
CSS is inline in each page and the charts are inline SVG. Links are relative, so the
site works from `file://` and from any sub-path of a web server. All user text goes
through `html.escape` after `textsafe.visible` (control and bidi characters shown as
escapes). Status is always written out (a pill with the word), never told by colour
alone; every chart has a text summary (`role="img"`, `aria-label`, `<title>`) and
its values in the measurements table below it.

The table, status pill and progress bar come from the HTML report
(`render/report_html.py`); its CSS is the base, with a dark colour scheme and the
site's own pieces added.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from html import escape as _escape

from kpitrack.domain.model import Kind, Kpi, KpiResult, Status, StatusCounts, Value
from kpitrack.domain.problems import Problem
from kpitrack.domain.textsafe import visible
from kpitrack.evaluation.evaluate import (
    action_words,
    status_sentence,
    summary_sentence,
)
from kpitrack.render.report_common import (
    CHANGE_ORDER,
    CHANGE_TITLES,
    DASH,
    STATUS_LABELS,
    format_latest,
    format_overdue,
    format_reasons,
    format_target,
    format_value,
    lacks_action_plan,
    one_line,
    owner_name,
)
from kpitrack.render.report_html import CSS as REPORT_CSS
from kpitrack.render.report_html import (
    MUTED,
    STATUS_COLOURS,
    badge,
    progress_bar,
    sparkline,
    table,
)
from kpitrack.reports.site import (
    INDEX,
    PROBLEMS,
    Chart,
    Columns,
    KpiPage,
    ObjectiveNode,
    OwnerPage,
    Points,
    Site,
    chart_of,
    expected_path,
    history_columns,
    kpi_path,
    objective_path,
    relative,
)

DARK_BG, DARK_TEXT, DARK_MUTED, DARK_LINE, DARK_HEADER = (
    "#0d1117",
    "#e6edf3",
    "#9198a1",
    "#30363d",
    "#161b22",
)
LINK, DARK_LINK = "#0550ae", "#4493f8"
ALERT, DARK_ALERT = "#a40e26", "#ff7b72"

SITE_CSS = f"""
:root {{ color-scheme: light dark; }}
a {{ color: {LINK}; }}
h1, h2, h3, p, li, dd, td, th, figcaption {{ overflow-wrap: anywhere; }}
nav.crumbs {{ font-size: 13px; margin: 0 0 10px 0; }}
.meta {{ color: {MUTED}; font-size: 13px; }}
.alert {{ color: {ALERT}; font-weight: 700; }}
.status-line {{ margin: 6px 0 12px 0; }}
dl.def {{ display: grid; grid-template-columns: minmax(7em, max-content) minmax(0, 1fr);
  gap: 4px 16px; margin: 6px 0 14px 0; }}
dl.def dt {{ font-weight: 600; color: {MUTED}; }}
dl.def dd {{ margin: 0; min-width: 0; }}
ul.plain {{ margin: 4px 0 10px 0; padding-left: 20px; }}
figure.chart {{ margin: 8px 0 6px 0; max-width: 600px; }}
figure.chart svg {{ display: block; width: 100%; height: auto; }}
figure.chart figcaption {{ font-size: 13px; color: {MUTED}; }}
svg text {{ fill: currentColor; font-size: 12px;
  font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }}
svg .frame {{ stroke: {MUTED}; stroke-width: 1; fill: none; }}
svg .expected {{ stroke: {MUTED}; stroke-width: 2; stroke-dasharray: 6 4; fill: none; }}
svg .target {{ stroke: #1a7f37; stroke-width: 1.5; stroke-dasharray: 2 3; fill: none; }}
svg .measured {{ stroke: #0969da; stroke-width: 2; fill: none; }}
svg .point {{ fill: #0969da; }}
svg .milestone {{ fill: #8250df; }}
svg .projection {{ stroke: #0969da; stroke-width: 2; stroke-dasharray: 3 3; fill: none; }}
svg .band {{ stroke: #0969da; stroke-width: 6; stroke-opacity: 0.35; }}
svg .event {{ stroke: #9a6700; stroke-width: 1.5; stroke-dasharray: 1 3; }}
.legend > span {{ white-space: nowrap; margin-right: 12px; }}
.subtree {{ margin-left: 16px; padding-left: 12px; border-left: 2px solid #d0d7de; }}
.built {{ font-size: 12px; }}
@media screen and (max-width: 600px) {{
  svg text {{ font-size: 14px; }}
  dl.def {{ grid-template-columns: minmax(0, 1fr); gap: 0; }}
  dl.def dd {{ margin: 0 0 8px 0; }}
}}
@media (prefers-color-scheme: dark) {{
  body {{ background: {DARK_BG}; color: {DARK_TEXT}; }}
  a {{ color: {DARK_LINK}; }}
  .muted, .id, .meta, dl.def dt, figure.chart figcaption {{ color: {DARK_MUTED}; }}
  .alert {{ color: {DARK_ALERT}; }}
  h2 {{ border-bottom-color: {DARK_LINE}; }}
  table.grid {{ border-color: {DARK_LINE} !important; }}
  table.grid > tbody > tr > th, table.grid > tbody > tr > td {{ border-color: {DARK_LINE}; }}
  table.grid > tbody > tr > th, tr.total > td {{ background: {DARK_HEADER}; }}
  svg .frame, svg .expected {{ stroke: {DARK_MUTED}; }}
  svg .measured {{ stroke: {DARK_LINK}; }}
  svg .point {{ fill: {DARK_LINK}; }}
  svg .target {{ stroke: #3fb950; }}
  svg .milestone {{ fill: #bc8cff; }}
  svg .projection, svg .band {{ stroke: {DARK_LINK}; }}
  svg .event {{ stroke: #d29922; }}
  .subtree {{ border-left-color: {DARK_LINE}; }}
  .spark {{ color: {DARK_TEXT} !important; }}
}}
@media screen and (prefers-color-scheme: dark) and (max-width: 819px) {{
  table.grid > tbody > tr {{ border-color: {DARK_LINE}; }}
}}
@media print {{
  body {{ background: #ffffff; color: #000000; }}
  nav.crumbs {{ display: none; }}
  a {{ color: inherit; text-decoration: none; }}
  figure.chart, dl.def {{ break-inside: avoid; page-break-inside: avoid; }}
}}
""".strip()
CSS = REPORT_CSS + "\n" + SITE_CSS

SITE_TITLE = "KPIs"
MOVED_GOALPOST = '<strong class="alert">⚑ moved goalpost</strong>'
DIRECTION_WORDS = {
    "increase": "increase: higher is better",
    "decrease": "decrease: lower is better",
}
CHART_W, CHART_H = 480, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 92, 16, 14, 34


@functools.lru_cache(maxsize=8192)
def t(text: str | None) -> str:
    """User text for HTML: on one line, control and bidi characters shown as escapes,
    then escaped. (Cached: the same recorder, unit or value comes back thousands of
    times in a large workspace.)"""
    if not text:
        return ""
    return _escape(visible(one_line(text), line=True), quote=True)


def link(page: str, target: str, label_html: str) -> str:
    return f'<a href="{_escape(relative(page, target), quote=True)}">{label_html}</a>'


# ---------------------------------------------------------------- shared pieces


def owner_link(page: str, site: Site, owner: str | None) -> str:
    return link(page, site.owner_path(owner), t(owner_name(owner)))


def objective_link(page: str, site: Site, objective_id: str | None) -> str:
    node = site.objective_node(objective_id)
    if node is None:
        return link(page, objective_path(None), "No objective")
    return link(page, node.path, t(node.title))


def provenance_text(site: Site) -> str:
    p = site.provenance
    if not p.in_repository:
        return "not in a git repository"
    if p.commit is None:
        return "in a git repository with no commits yet"
    extra = " with uncommitted changes to the KPI files" if p.uncommitted else ""
    return f'built from commit <code title="{p.commit}">{p.commit[:12]}</code>{extra}'


def meta_line(site: Site) -> str:
    """The as-of date and provenance line: the same on every page of a build, made once."""
    key = ("meta", "")
    line = site.fragments.get(key)
    if line is None:
        line = site.fragments[key] = (
            f'<p class="meta">As of {site.as_of.isoformat()} · {provenance_text(site)}</p>'
        )
    return line


def crumbs(page: str, trail: Sequence[tuple[str, str]]) -> str:
    """Overview › … : (path, escaped label) pairs; the current page last, unlinked."""
    parts = ["Overview" if page == INDEX else link(page, INDEX, "Overview")]
    for target, label in trail:
        parts.append(label if target == page else link(page, target, label))
    return f'<nav class="crumbs" aria-label="Breadcrumb">{" › ".join(parts)}</nav>'


def counts_sentence(counts: StatusCounts) -> str:
    return _escape(summary_sentence(counts))


def _sparkline(site: Site, r: KpiResult, formatter: Callable[[Value], str] | None = None) -> str:
    """A KPI's trend, made once for every table that lists it (it reads the history);
    `formatter` the KPI's `ListCells.formatter`, when the caller has one."""
    key = ("sparkline", r.kpi.id)
    spark = site.fragments.get(key)
    if spark is None:
        spark = site.fragments[key] = sparkline(r, formatter)
    return spark


class ListCells:
    """The cells of the KPI rows of the list pages (the overview, the objective and the
    owner pages), made once per build for every page that lists a KPI: a KPI is in the
    overview's tree, on its objective's page and those above it, and on its owner's.

    The status, latest value, target, progress and trend cells are the same on every
    page. The link cells differ only by the folder of the page they are on (`relative`
    depends on nothing else), so each is kept by (folder, target): four folders at most
    (the root, `objective/`, `owner/`, `kpi/`). A KPI's own page takes its latest value,
    target, progress bar and reasons, and its owner's and objective's links, from here
    too. Held: one set of cells and texts per listed KPI, plus its small link cells, for
    the build (`page_renderers` makes one store per site)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._cells: dict[str, tuple[str, str, str, str]] = {}
        self._kpi_links: dict[tuple[str, str], str] = {}
        self._owner_links: dict[tuple[str, str | None], str] = {}
        self._objective_links: dict[tuple[str, str | None], str] = {}
        self._texts: dict[tuple[str, str], str] = {}
        self._formatters: dict[str, Callable[[Value | None], str]] = {}
        self._encoded: dict[str, bytes] = {}
        self._rows: dict[tuple[str, bool, str], list[bytes]] = {}
        self._cells_bytes: dict[str, tuple[bytes, ...]] = {}

    def encoded(self, cell: str) -> bytes:
        """A cell as UTF-8, encoded once for the build (the same owner's link, status
        pill or progress bar is in many rows)."""
        data = self._encoded.get(cell)
        if data is None:
            data = self._encoded[cell] = cell.encode("utf-8")
        return data

    def row(self, page: str, r: KpiResult, objective: bool) -> list[bytes]:
        """A KPI's cells in `kpi_rows`' table (with the objective's column or without),
        encoded: made once per folder for every table of that folder's pages that lists
        the KPI (the overview, each objective above the KPI's, its owner's page)."""
        kpi = r.kpi
        key = (page.rpartition("/")[0], objective, kpi.id)
        row = self._rows.get(key)
        if row is None:
            texts = [self.kpi_link(page, kpi), badge(r.status), self.owner_link(page, kpi.owner)]
            if objective:
                texts.append(self.objective_link(page, kpi.objective))
            row = self._rows[key] = [*map(self.encoded, texts), *self.cells_bytes(r)]
        return row

    def cells_bytes(self, r: KpiResult) -> tuple[bytes, ...]:
        """`cells(r)`, encoded once for the build."""
        data = self._cells_bytes.get(r.kpi.id)
        if data is None:
            data = self._cells_bytes[r.kpi.id] = tuple(map(self.encoded, self.cells(r)))
        return data

    def kpi_link(self, page: str, kpi: Kpi) -> str:
        """The KPI's name linked to its page, and its id: the first cell of its rows."""
        key = (page.rpartition("/")[0], kpi.id)
        cell = self._kpi_links.get(key)
        if cell is None:
            name = link(page, kpi_path(kpi.id), t(kpi.name))
            cell = self._kpi_links[key] = f'{name}<br><span class="id">{t(kpi.id)}</span>'
        return cell

    def owner_link(self, page: str, owner: str | None) -> str:
        """The owner linked to its page, as `owner_link` makes it."""
        key = (page.rpartition("/")[0], owner)
        cell = self._owner_links.get(key)
        if cell is None:
            cell = self._owner_links[key] = owner_link(page, self.site, owner)
        return cell

    def objective_link(self, page: str, objective_id: str | None) -> str:
        """The objective linked to its page, as `objective_link` makes it."""
        key = (page.rpartition("/")[0], objective_id)
        cell = self._objective_links.get(key)
        if cell is None:
            cell = self._objective_links[key] = objective_link(page, self.site, objective_id)
        return cell

    def formatter(self, kpi: Kpi) -> Callable[[Value | None], str]:
        """`format_value(kpi, value)` as a function of the value, each value formatted
        once for the build for every KPI of the same `format_key` (the same values come
        back in many KPIs' charts, summaries and trends): the site's `value_texts`, kept
        while it has room."""
        shown = self._formatters.get(kpi.id)
        if shown is None:
            shown = self._formatters[kpi.id] = _formatter(
                kpi, self.site.value_texts.setdefault(format_key(kpi), {})
            )
        return shown

    def _text(self, what: str, r: KpiResult, make: Callable[[KpiResult], str]) -> str:
        key = (what, r.kpi.id)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = make(r)
        return text

    def target(self, r: KpiResult) -> str:
        """`format_target(r)` (not escaped): in the list rows, the chart's summary and
        the KPI page's definition."""
        return self._text("target", r, format_target)

    def latest(self, r: KpiResult) -> str:
        """`t(format_latest(r))`: in the list rows and the KPI page's standing."""
        return self._text("latest", r, _latest_cell)

    def progress(self, r: KpiResult) -> str:
        """`progress_bar(r.progress)`: in the list rows and the KPI page's standing."""
        return self._text("progress", r, _progress_cell)

    def reasons(self, r: KpiResult) -> str:
        """`t(format_reasons(r))`: in the overview's "Needs action" and the KPI page's
        standing."""
        return self._text("reasons", r, _reasons_cell)

    def cells(self, r: KpiResult) -> tuple[str, str, str, str]:
        """The latest value, target, progress bar and trend of a KPI's row."""
        cells = self._cells.get(r.kpi.id)
        if cells is None:
            cells = self._cells[r.kpi.id] = (
                self.latest(r),
                t(self.target(r)),
                self.progress(r),
                _sparkline(self.site, r, self.formatter(r.kpi)),
            )
        return cells


def _formatter(kpi: Kpi, texts: dict[Value, str]) -> Callable[[Value | None], str]:
    def shown(value: Value | None) -> str:
        if value is None:
            return DASH
        text = texts.get(value)
        if text is None:
            text = format_value(kpi, value)
            if len(texts) < MAX_SHARED_CELLS:
                texts[value] = text
        return text

    return shown


def _latest_cell(r: KpiResult) -> str:
    return t(format_latest(r))


def _progress_cell(r: KpiResult) -> str:
    return progress_bar(r.progress)


def _reasons_cell(r: KpiResult) -> str:
    return t(format_reasons(r))


def kpi_rows(
    page: str,
    site: Site,
    results: Sequence[KpiResult],
    *,
    objective: bool,
    cells: ListCells | None = None,
) -> str:
    """The table of KPIs on a list page; `cells` the build's store of their cells (a
    store of its own without it: the same table). Made as bytes (`kpi_rows_bytes`)."""
    return kpi_rows_bytes(page, site, results, objective=objective, cells=cells).decode("utf-8")


def kpi_rows_bytes(
    page: str,
    site: Site,
    results: Sequence[KpiResult],
    *,
    objective: bool,
    cells: ListCells | None = None,
) -> bytes:
    """`kpi_rows` as the UTF-8 bytes the page is made of: the table's markup from
    `report_html.table`'s own (`_kpi_table`), each cell encoded once for the build
    (`ListCells.encoded`) and the rows joined as bytes. The cells hold two-byte text
    (the sparkline's blocks, `—`): joined as text, they would widen the whole page, and
    the page would be walked by the encoder (see `page_bytes`)."""
    if not results:
        return b"<p>No KPIs.</p>"
    if cells is None:
        cells = ListCells(site)
    return _table_bytes(_kpi_table(objective), [cells.row(page, r, objective) for r in results])


def _kpi_table(objective: bool) -> tuple[bytes, list[bytes], bytes]:
    """`_table_parts` of `kpi_rows`' table (with the objective's column or without)."""
    header: tuple[str, ...] = ("KPI", "Status", "Owner", "Latest", "Target", "Progress", "Trend")
    if objective:
        header = (*header[:3], "Objective", *header[3:])
    return _table_parts(header, (1, len(header) - 2, len(header) - 1))


def _table_bytes(parts: tuple[bytes, list[bytes], bytes], rows: Iterable[Sequence[bytes]]) -> bytes:
    """A table from `_table_parts` and its rows' encoded cells, joined as bytes."""
    top, row, end = parts
    out = [top]
    for cells in rows:
        filled = row.copy()
        filled[1::2] = cells
        out += filled
    out.append(end)
    return b"".join(out)


@functools.cache
def _table_parts(
    header: tuple[str, ...], nowrap: tuple[int, ...]
) -> tuple[bytes, list[bytes], bytes]:
    """A table's markup as `report_html.table` writes it, encoded: its opening, a row's
    pieces around its cells (the cells' places left empty, each row begins on a new
    line) and its end. Taken from `table` itself, given a row of markers."""
    end = "\n</tbody></table>"
    top = table(header, [], nowrap=nowrap).removesuffix(end)
    one = table(header, [["\0"] * len(header)], nowrap=nowrap)
    pieces = one.removeprefix(top).removesuffix(end).split("\0")
    row: list[bytes] = []
    for piece in pieces[:-1]:
        row += [piece.encode("utf-8"), b""]
    row.append(pieces[-1].encode("utf-8"))
    return top.encode("utf-8"), row, end.encode("utf-8")


def action_plan(r: KpiResult) -> str:
    if r.kpi.action:
        return t(action_words(r.kpi))
    if lacks_action_plan(r):
        return '<strong class="alert">⚠ no action plan</strong>'
    return DASH


def cards(counts: StatusCounts) -> str:
    cells = []
    for status in Status.summary_order():
        fg, bg = STATUS_COLOURS[status]
        cells.append(
            f'<td style="background-color:{bg};color:{fg};text-align:center">'
            f'<div class="n">{counts.count(status)}</div>{_escape(STATUS_LABELS[status])}</td>'
        )
    return '<table class="cards" role="presentation"><tr>' + "".join(cells) + "</tr></table>"


_PAGE_HEAD = (
    "<!DOCTYPE html>\n"
    '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    '<meta name="color-scheme" content="light dark">\n'
    '<meta name="generator" content="kpitrack site">\n'
    "<title>"
)
_PAGE_TOP = f'</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n<div class="page">'
_PAGE_END = "</div>\n</body>\n</html>\n"


def page_html(title: str, body: Sequence[str | bytes]) -> str:
    """A whole page: the head (with the CSS) and the body's pieces, one on each line
    (`page_bytes`, as text)."""
    return page_bytes(title, body).decode("utf-8")


_PAGE_HEAD_BYTES = _PAGE_HEAD.encode("utf-8")
_PAGE_TOP_BYTES = _PAGE_TOP.encode("utf-8")
_PAGE_END_BYTES = _PAGE_END.encode("utf-8")


def page_bytes(title: str, body: Sequence[str | bytes]) -> bytes:
    """A whole page as the UTF-8 bytes written: the head (with the CSS) and the body's
    pieces, one on each line, each piece encoded on its own (pieces given as bytes as
    they are) and the bytes joined at once (an overview page is megabytes). A page whose text has
    one character past U+00FF (a `—`, a `≥`) is a two-byte-per-character string in
    Python, so joining its pieces as text widens every ASCII piece (the measurements, the
    chart's points) and encoding the result walks it character by character; as bytes,
    the ASCII pieces are copied once."""
    pieces = [_PAGE_HEAD_BYTES + title.encode("utf-8") + _PAGE_TOP_BYTES]
    pieces += [p if isinstance(p, bytes) else p.encode("utf-8") for p in body or [""]]
    pieces.append(_PAGE_END_BYTES)
    return b"\n".join(pieces)


# ---------------------------------------------------------------- index


def index_page(site: Site, cells: ListCells | None = None) -> str:
    """The overview (`index_page_bytes`, as text)."""
    return index_page_bytes(site, cells).decode("utf-8")


def index_page_bytes(site: Site, cells: ListCells | None = None) -> bytes:
    """The overview as the UTF-8 bytes written: its KPI tables made as bytes
    (`kpi_rows_bytes`), the page joined by `page_bytes`."""
    page = INDEX
    if cells is None:
        cells = ListCells(site)
    digest = site.digest
    body: list[str | bytes] = [
        crumbs(page, []),
        f"<h1>{SITE_TITLE}</h1>",
        meta_line(site),
        f"<p>{counts_sentence(digest.summary)}</p>",
        cards(digest.summary),
    ]
    if site.problems:
        n = len(site.problems)
        label = f"{n} problem{'' if n == 1 else 's'} found by check"
        body.append(f"<p>⚠ {link(page, PROBLEMS, label)}</p>")
    body += ["<h2>Owners</h2>", owners_table(page, site)]
    body += ["<h2>Objectives</h2>", *_objective_tree(page, site, site.objectives, cells)]
    body += changes_section(page, site, cells)
    body += overdue_section(page, site, cells)
    body += needs_action_section(page, site, cells)
    if site.built_at is not None:
        body.append(f'<p class="muted built">Built {t(site.built_at)} by kpitrack.</p>')
    return page_bytes(f"{SITE_TITLE} — {site.as_of.isoformat()}", body)


def _count_cells(counts: StatusCounts) -> list[str]:
    return [
        str(counts.total),
        *(str(counts.count(s)) for s in Status.summary_order()),
        str(counts.overdue),
        str(counts.needs_action),
    ]


def owners_table(page: str, site: Site) -> str:
    if not site.owners:
        return "<p>No KPIs.</p>"
    header = [
        "Owner",
        "KPIs",
        *(_escape(STATUS_LABELS[s].capitalize()) for s in Status.summary_order()),
        "Overdue",
        "Needs action",
    ]
    rows = [[owner_link(page, site, o.owner), *_count_cells(o.counts)] for o in site.owners]
    total = ["All", *_count_cells(site.digest.summary)]
    return table(header, rows, numeric=range(1, len(header)), total=total, compact=True)


def objective_tree(
    page: str, site: Site, nodes: Sequence[ObjectiveNode], cells: ListCells | None = None
) -> list[str]:
    """The objectives and their KPI tables, one piece a line (`_objective_tree`, as text)."""
    if cells is None:
        cells = ListCells(site)
    return [
        p if isinstance(p, str) else p.decode("utf-8")
        for p in _objective_tree(page, site, nodes, cells)
    ]


def _objective_tree(
    page: str, site: Site, nodes: Sequence[ObjectiveNode], cells: ListCells
) -> list[str | bytes]:
    """`objective_tree` with its KPI tables as bytes (`kpi_rows_bytes`)."""
    if not nodes:
        return ["<p>No objectives.</p>"]
    out: list[str | bytes] = []
    for node in nodes:
        heading = link(page, node.path, t(node.title))
        if node.objective is not None:
            heading += f' <span class="id">{t(node.objective.id)}</span>'
        out.append(f"<h3>{heading}</h3>")
        if node.progress is not None:
            out.append(f"<p>Progress {progress_bar(node.progress)}</p>")
        if node.results:
            out.append(f'<p class="muted">{counts_sentence(node.counts)}</p>')
            out.append(kpi_rows_bytes(page, site, node.results, objective=False, cells=cells))
        elif not node.children:
            out.append('<p class="alert">⚠ No KPI measures this objective.</p>')
        if node.children:
            out.append('<div class="subtree">')
            out += _objective_tree(page, site, node.children, cells)
            out.append("</div>")
    return out


def changes_section(page: str, site: Site, cells: ListCells) -> list[str | bytes]:
    """This week's changes; the new measurements' table (as long as the week's
    measurements) made as bytes: its markup from `_table_parts`, its cells encoded."""
    digest = site.digest
    out: list[str | bytes] = [
        f"<h2>This week: changes since {digest.since.isoformat()}</h2>",
    ]
    if not digest.changes:
        out.append("<p>No status changes.</p>")
    for kind in CHANGE_ORDER:
        changes = digest.changes_of(kind)
        if not changes:
            continue
        out.append(f"<h3>{_escape(CHANGE_TITLES[kind])}</h3>")
        rows = [
            [
                cells.kpi_link(page, c.result.kpi),
                f'<span class="nowrap">{badge(c.before)} → {badge(c.after)}</span>',
                cells.owner_link(page, c.result.kpi.owner),
                cells.latest(c.result),
            ]
            for c in changes
        ]
        out.append(table(["KPI", "Status", "Owner", "Latest"], rows))
    out += definition_changes(page, site)
    out.append("<h3>New measurements</h3>")
    if not digest.new_measurements:
        out.append("<p>No new measurements.</p>")
        return out
    formatter = cells.formatter  # each value formatted once for the build
    encoded = cells.encoded  # the links, values, notes and authors that come back
    new_rows = [
        (
            encoded(cells.kpi_link(page, n.kpi)),
            n.measurement.date.isoformat().encode(),
            encoded(t(formatter(n.kpi)(n.measurement.value))),
            encoded(t(n.measurement.note) or DASH),
            encoded(t(n.measurement.by) or DASH),
        )
        for n in reversed(digest.new_measurements)
    ]
    out.append(_table_bytes(_table_parts(("KPI", "Date", "Value", "Note", "By"), (1,)), new_rows))
    return out


def definition_changes(page: str, site: Site) -> list[str]:
    """This week's commits to the selected KPIs' definitions (in a git repository)."""
    if site.definition_changes is None:
        return []
    out = ["<h3>Definition changes</h3>"]
    if not site.definition_changes:
        return [*out, "<p>No definition changes.</p>"]
    rows = [
        [
            link(page, kpi_path(c.kpi), t(c.kpi)),
            t(c.field),
            f"{t(c.old) or DASH} → {t(c.new) or DASH}",
            f"{t(c.date)} {t(c.commit)} {t(c.author)}",
            MOVED_GOALPOST if c.moved_goalpost else "",
        ]
        for c in reversed(site.definition_changes)
    ]
    header = ["KPI", "Field", "Old → new", "Committed", "Moved goalpost"]
    return [*out, table(header, rows)]


def overdue_section(page: str, site: Site, cells: ListCells) -> list[str]:
    out = ["<h2>Overdue reports</h2>"]
    if not site.digest.overdue:
        return [*out, "<p>No overdue reports.</p>"]
    rows = [
        [
            cells.kpi_link(page, r.kpi),
            cells.owner_link(page, r.kpi.owner),
            t(str(r.kpi.frequency)),
            r.latest.date.isoformat() if r.latest else "never",
            t(format_overdue(r)),
        ]
        for r in site.digest.overdue
    ]
    header = ["KPI", "Owner", "Frequency", "Last report", "Overdue"]
    return [*out, table(header, rows, nowrap=(3,))]


def needs_action_section(page: str, site: Site, cells: ListCells) -> list[str | bytes]:
    """The KPIs that need action; their table made as bytes (`_table_bytes`)."""
    out: list[str | bytes] = ["<h2>Needs action</h2>"]
    if not site.digest.needs_action:
        return [*out, "<p>Nothing needs action.</p>"]
    encoded = cells.encoded
    rows = [
        (
            encoded(cells.kpi_link(page, r.kpi)),
            encoded(badge(r.status)),
            encoded(cells.owner_link(page, r.kpi.owner)),
            encoded(cells.reasons(r)),
            encoded(action_plan(r)),
        )
        for r in site.digest.needs_action
    ]
    header = ("KPI", "Status", "Owner", "Reasons", "Action plan")
    return [*out, _table_bytes(_table_parts(header, (1,)), rows)]


# ---------------------------------------------------------------- one KPI


def _row(term: str, value_html: str | None) -> str:
    if not value_html:
        return ""
    return f"<dt>{term}</dt><dd>{value_html}</dd>"


def definition(page: str, site: Site, kpi_page: KpiPage, cells: ListCells | None = None) -> str:
    """The KPI's definition; `cells` the build's store of texts shared between pages (the
    target, the owner's and the objective's links; a store of its own without it)."""
    r = kpi_page.result
    kpi = r.kpi
    if cells is None:
        cells = ListCells(site)
    shown = cells.formatter(kpi)
    milestones = ""
    if kpi.milestones:
        items = "".join(
            f"<li>{m.date.isoformat()}: {t(shown(m.target))}</li>" for m in kpi.milestones
        )
        milestones = f'<ul class="plain">{items}</ul>'
    review = None
    if kpi.review is not None:
        last = kpi.last_reviewed.isoformat() if kpi.last_reviewed else "never"
        review = f"{t(str(kpi.review))}, last reviewed {last}"
    kind = t(str(kpi.kind))
    if kpi.scale:
        kind += f" (scale, worst first: {t(', '.join(kpi.scale))})"
    rows = [
        _row("Measure", t(kpi.measure)),
        _row("Target", t(cells.target(r))),
        _row("Direction", t(DIRECTION_WORDS[str(kpi.direction)])),
        _row("Kind", kind),
        _row("Unit", t(kpi.unit) if kpi.unit else None),
        _row("Baseline", t(shown(r.baseline)) if r.baseline is not None else None),
        _row("Start", r.start.isoformat() if r.start else None),
        _row("Due", kpi.due.isoformat() if kpi.due else "none: a standing target"),
        _row("Milestones", milestones),
        _row("Frequency", t(str(kpi.frequency))),
        _row("Indicator", t(str(kpi.indicator)) if kpi.indicator else None),
        _row("Owner", cells.owner_link(page, kpi.owner)),  # = kpi_page.owner_path's
        _row("Objective", cells.objective_link(page, kpi.objective)),  # kpi_page's
        _row("Action plan", action_plan(r)),
        _row("Review", review),
        _row("Tags", t(", ".join(kpi.tags)) if kpi.tags else None),
        _row("Description", t(kpi.description) if kpi.description else None),
        _row("Archived", "yes" if kpi.archived else None),
    ]
    return '<dl class="def">' + "".join(rows) + "</dl>"


def standing(r: KpiResult, cells: ListCells | None = None) -> str:
    """The KPI's status, latest value, progress and reasons; `cells` the build's store of
    texts shared between pages (the latest value, the progress bar and the reasons are
    in the list pages too)."""
    if cells is None:
        latest, progress = t(format_latest(r)), progress_bar(r.progress)
        reasons = t(format_reasons(r)) if r.reasons else "no"
        shown: Callable[[Value | None], str] = functools.partial(format_value, r.kpi)
    else:
        latest, progress = cells.latest(r), cells.progress(r)
        reasons = cells.reasons(r) if r.reasons else "no"
        shown = cells.formatter(r.kpi)
    rows = [
        _row("Status", badge(r.status)),
        _row("Latest", latest),
        _row("Expected", t(shown(r.expected)) if r.expected is not None else None),
        _row("Progress", progress),
        _row("Gap", t(shown(r.gap)) if r.gap is not None and r.gap > 0 else None),
        _row("Overdue", t(format_overdue(r)) if r.overdue is not None else None),
        _row("Needs action", reasons),
    ]
    return '<dl class="def">' + "".join(rows) + "</dl>"


def chart_summary(r: KpiResult, chart: Chart, cells: ListCells | None = None) -> str:
    """The chart in words: its text alternative; the target and the values from the
    build's `cells` when the caller has them."""
    kpi = r.kpi
    shown: Callable[[Value | None], str]
    if cells is None:
        target, shown = format_target(r), functools.partial(format_value, kpi)
    else:
        target, shown = cells.target(r), cells.formatter(kpi)
    first_day, first_value = chart.measured[0]
    last_day, last_value = chart.measured[-1]
    n = len(chart.measured)
    values = (
        f"{n} value{'' if n == 1 else 's'} from {first_day.isoformat()} "
        f"({shown(kpi.label(first_value))}) to {last_day.isoformat()} "
        f"({shown(kpi.label(last_value))})"
    )
    expected = ""
    if r.expected is not None and r.latest is not None:
        expected = f"; expected {shown(r.expected)} on {r.latest.date.isoformat()}"
    milestones = f"; {len(chart.milestones)} milestone(s)" if chart.milestones else ""
    projection = ""
    if chart.forecast is not None:
        at, _, low, high = chart.forecast
        projection = (
            f"; projected {shown(kpi.label(low))} to {shown(kpi.label(high))} by {at.isoformat()}"
        )
    events = ""
    if chart.events:
        events = "; events: " + ", ".join(f"{d.isoformat()} {title}" for d, title in chart.events)
    return (
        f"Chart of {kpi.name}: {values}; target {target}{expected}{milestones}"
        f"{projection}{events}; status {STATUS_LABELS[r.status]}."
    )


def _num(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


_CIRCLE_OPEN = '<circle class="point" cx="'
_CIRCLE_CLOSE = '" r="3.5"/>'


@functools.lru_cache(maxsize=64)
def _x_texts(first: int, span: int, plot_w: int) -> dict[int, str]:
    """A store of x coordinates as `%.1f` text, by date ordinal, for charts from the
    ordinal `first` over `span` days: the same few charts' ranges cover every KPI of
    a workspace (each store holds at most its span's days; the oldest range is
    dropped past 64)."""
    return {}


def _measured_marks(chart: Chart, plot_w: int, plot_h: int, span: int) -> tuple[str, str]:
    """The measured line's `points` (empty for a single point) and its circles, as
    `chart_svg` wrote them from `_points`: the same arithmetic for each point, each x
    formatted once per chart range (`_x_texts`), the whole line by one `%`-format of a
    repeated `%s,%.1f ` (`_num` before it drops a `.0` ending), the `.0` endings dropped
    by one replace (`%.1f` writes exactly one digit after the point, so `.0` is only
    ever such an ending), and the circles made from the line's text (a number holds no
    `,` and no space)."""
    measured = chart.measured
    if isinstance(measured, Points):
        ordinals, positions = measured.ordinals, measured.positions
    else:
        ordinals = [day.toordinal() for day, _ in measured]
        positions = [value for _, value in measured]
    first = chart.first.toordinal()
    high, height = chart.high, chart.high - chart.low
    left, top = PAD_LEFT, PAD_TOP
    xs = _x_texts(first, span, plot_w)
    for day in set(ordinals).difference(xs):
        xs[day] = "%.1f" % (left + (day - first) / span * plot_w)
    count = len(ordinals)
    coordinates: list[str | float] = [""] * (2 * count)  # x, y, x, y, ...
    coordinates[::2] = map(xs.__getitem__, ordinals)
    coordinates[1::2] = [top + (high - value) / height * plot_h for value in positions]
    text = ("%s,%.1f " * count) % tuple(coordinates)
    pairs = text.replace(".0", "")[:-1]
    circles = (
        _CIRCLE_OPEN
        + pairs.replace(" ", _CIRCLE_CLOSE + _CIRCLE_OPEN).replace(",", '" cy="')
        + _CIRCLE_CLOSE
    )
    return (pairs if count > 1 else ""), circles


def _coordinates(numbers: Sequence[float]) -> list[str]:
    """Each number as `_num` writes it, all in one format: `%.1f` writes exactly one
    digit after the point, so `.0` before the separator is only ever a whole number's."""
    if not numbers:
        return []
    return ("%.1f " * len(numbers) % tuple(numbers)).replace(".0 ", " ").split(" ")[:-1]


_DATES = (
    f'<text x="{PAD_LEFT}" y="{_num(CHART_H - PAD_BOTTOM + 18)}" text-anchor="start">%s</text>'
    f'<text x="{CHART_W - PAD_RIGHT}" y="{_num(CHART_H - PAD_BOTTOM + 18)}" '
    'text-anchor="end">%s</text>'
)
_TARGET_LINE = f'<line class="target" x1="{PAD_LEFT}" y1="%s" x2="{CHART_W - PAD_RIGHT}" y2="%s"/>'
_MILESTONE = '<polygon class="milestone" points="%s,%s %s,%s %s,%s %s,%s"/>'
_TICK = f'<text x="{PAD_LEFT - 6}" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>'


def chart_svg(
    r: KpiResult,
    chart: Chart,
    summary: str | None = None,
    formatter: Callable[[Value], str] | None = None,
) -> str:
    """The chart as inline SVG; `summary` is `t(chart_summary(r, chart))` when the
    caller has it already, `formatter` `format_value(r.kpi, value)` as a function of
    the value (the build's `ListCells.formatter`)."""
    return "".join(chart_svg_pieces(r, chart, summary, formatter))


def chart_svg_pieces(
    r: KpiResult,
    chart: Chart,
    summary: str | None = None,
    formatter: Callable[[Value], str] | None = None,
) -> list[str]:
    """`chart_svg` in the pieces it is joined from: the measured points' long ASCII
    pieces apart from the summary's text (see `page_bytes`)."""
    kpi = r.kpi
    if formatter is None:
        formatter = functools.partial(format_value, kpi)
    plot_w = CHART_W - PAD_LEFT - PAD_RIGHT
    plot_h = CHART_H - PAD_TOP - PAD_BOTTOM
    span = max(1, (chart.last - chart.first).days)
    if summary is None:
        summary = t(chart_summary(r, chart))
    out = [
        f'<svg viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-label="{summary}" '
        'xmlns="http://www.w3.org/2000/svg" focusable="false">',
        f"<title>{summary}</title>",
        f'<rect class="frame" x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}"/>',
    ]
    # Value labels on the left: the scale's labels, or the top, the bottom and the target.
    # Every coordinate of the fixed marks is x() or y() of `_coordinates`' formula, all
    # of a chart's made by one format: the dates' x first, then the values' y.
    high, first = chart.high, chart.first.toordinal()
    height = high - chart.low
    scale = len(kpi.scale) if kpi.kind is Kind.QUALITATIVE and kpi.scale else 0
    if scale:
        ticks = [float(i) for i in range(scale) if chart.low <= i <= high]
    else:
        ticks = [high, chart.low, chart.target]
    expected, milestones, forecast, events = (
        chart.expected,
        chart.milestones,
        chart.forecast,
        chart.events,
    )
    days = [d.toordinal() for d, _ in expected]
    values = ticks + [chart.target] + [v for _, v in expected]
    days += [d.toordinal() for d, _ in milestones]
    values += [v for _, v in milestones]
    if forecast is not None:  # from the latest value
        measured = chart.measured
        if isinstance(measured, Points):  # its columns: no date built
            latest_day, latest = measured.ordinals[-1], measured.positions[-1]
        else:
            latest_day, latest = measured[-1][0].toordinal(), measured[-1][1]
        days += [latest_day, forecast[0].toordinal()]
        values += [latest, *forecast[1:]]
    days += [d.toordinal() for d, _ in events]
    texts = _coordinates(
        [PAD_LEFT + (d - first) / span * plot_w for d in days]
        + [PAD_TOP + (high - v) / height * plot_h for v in values]
    )
    xs, ys = iter(texts[: len(days)]), iter(texts[len(days) :])
    tick_ys = [next(ys) for _ in ticks]
    target_y = next(ys)
    if not scale:  # the target as a tick when it is clear of the top and the bottom
        target_at = float(target_y)
        if not (
            abs(target_at - float(tick_ys[0])) > 14 and abs(target_at - float(tick_ys[1])) > 14
        ):
            del ticks[2], tick_ys[2]
    label = kpi.label
    out += [
        _TICK % (tick_y, t(formatter(label(v)))) for v, tick_y in zip(ticks, tick_ys, strict=True)
    ]
    out.append(_DATES % (chart.first.isoformat(), chart.last.isoformat()))
    if kpi.due is not None:  # the target as a line, when the path does not already end on it
        out.append(_TARGET_LINE % (target_y, target_y))
    path = " ".join([f"{next(xs)},{next(ys)}" for _ in expected])
    out.append(f'<polyline class="expected" points="{path}"/>')
    for _ in milestones:
        cx, cy = float(next(xs)), float(next(ys))
        diamond = _coordinates([cx, cy - 6, cx + 6, cy, cx, cy + 6, cx - 6, cy])
        out.append(_MILESTONE % tuple(diamond))
    # Each point's coordinates once, for the line and for its circle.
    line, circles = _measured_marks(chart, plot_w, plot_h, span)
    if line:  # in pieces: the line is long, and joined once with the rest
        out += ['<polyline class="measured" points="', line, '"/>']
    out.append(circles)
    if forecast is not None:
        x0, x1, y0, y1, y_low, y_high = next(xs), next(xs), next(ys), next(ys), next(ys), next(ys)
        out.append(f'<line class="projection" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}"/>')
        out.append(f'<line class="band" x1="{x1}" y1="{y_low}" x2="{x1}" y2="{y_high}"/>')
    for d, title in events:
        at = next(xs)
        out.append(
            f'<line class="event" x1="{at}" y1="{PAD_TOP}" x2="{at}" '
            f'y2="{CHART_H - PAD_BOTTOM}"><title>{t(d.isoformat() + " " + title)}</title></line>'
        )
    out.append("</svg>")
    return out


def chart_figure(r: KpiResult, chart: Chart | None, cells: ListCells | None = None) -> str:
    """The chart, its legend and its summary; the target and the values shown from the
    build's `cells` when the caller has them."""
    return "".join(chart_figure_pieces(r, chart, cells))


def chart_figure_pieces(
    r: KpiResult, chart: Chart | None, cells: ListCells | None = None
) -> list[str]:
    """`chart_figure` in the pieces it is joined from (`chart_svg_pieces`)."""
    if chart is None:
        return ["<p>No measurements to chart yet.</p>"]
    legend = _legend(
        r.kpi.due is not None,
        bool(chart.milestones),
        chart.forecast is not None,
        bool(chart.events),
    )
    summary = t(chart_summary(r, chart, cells))
    svg = chart_svg_pieces(r, chart, summary, None if cells is None else cells.formatter(r.kpi))
    return [
        '<figure class="chart">',
        *svg,
        '<figcaption><span class="legend">',
        legend,
        "</span><br>",
        summary,
        " The values are in the table below.</figcaption></figure>",
    ]


@functools.cache
def _legend(target: bool, milestones: bool, projection: bool, events: bool) -> str:
    """The chart's legend: the measured points and the expected path, and each other
    mark the chart has (sixteen legends at most, each made once)."""
    legend = [
        '<span><span aria-hidden="true">●</span> measured</span>',
        '<span><span aria-hidden="true">┄</span> expected path</span>',
    ]
    if target:
        legend.append('<span><span aria-hidden="true">┈</span> target</span>')
    if milestones:
        legend.append('<span><span aria-hidden="true">◆</span> milestone</span>')
    if projection:
        legend.append('<span><span aria-hidden="true">┆</span> projection and band</span>')
    if events:
        legend.append('<span><span aria-hidden="true">│</span> event</span>')
    return "".join(legend)


MAX_SHARED_CELLS = 50_000  # formatted values kept per kind of KPI for the whole site


def format_key(kpi: Kpi) -> tuple[object, ...]:
    """What decides how `format_value` shows a KPI's value: two KPIs with the same key
    show every value alike."""
    return (kpi.kind, tuple(kpi.scale) if kpi.scale else None, kpi.unit, kpi.unit_plural)


# The measurements table's opening and end, as `report_html.table` writes them: the same
# for every KPI (its rows are made from the columns, `measurements_table_bytes`).
_TABLE_TOP, _, _TABLE_END = _table_parts(("Date", "Value", "Expected", "Note", "By"), (0,))


def measurements_table(
    r: KpiResult,
    columns: Columns | None = None,
    cells: dict[Value, bytes] | None = None,
    days: dict[int, bytes] | None = None,
) -> str:
    """Every measurement, newest first, with the value expected on its date: the chart's
    data table (`measurements_table_bytes`, as text)."""
    return measurements_table_bytes(r, columns, cells, days).decode("utf-8")


def measurements_table_bytes(
    r: KpiResult,
    columns: Columns | None = None,
    cells: dict[Value, bytes] | None = None,
    days: dict[int, bytes] | None = None,
) -> bytes:
    """The measurements table, encoded as UTF-8. The markup is `report_html.table`'s,
    built here from the columns because this table holds every measurement of the
    workspace: each distinct date, value, note and author is made into its piece of a
    row once, encoded, and the rows are joined from the pieces as bytes (see
    `page_bytes`). `columns` are `history_columns(r.history)` when the caller has them;
    `cells` a store of formatted value cells shared with KPIs of the same `format_key`,
    `days` one of date cells (by ordinal) shared with every table."""
    if not r.history:
        return b"<p>No measurements on or before the as-of date.</p>"
    kpi = r.kpi
    if columns is None:
        columns = history_columns(r.history)
    # Newest first.
    ordinals, values, notes, bys = (
        columns[0][::-1],
        columns[1][::-1],
        columns[2][::-1],
        columns[3][::-1],
    )
    base = kpi.position(r.baseline) if r.baseline is not None else None

    if days is None:
        days = {}
    for ordinal in set(ordinals).difference(days):
        day = dt.date.fromordinal(ordinal).isoformat()
        days[ordinal] = f'\n<tr><td class="lead nowrap">{day}</td><td data-label="Value">'.encode()
    # A value's cell is made once (counts and scale labels come back often), kept in
    # the shared store while it has room.
    if cells is None:
        cells = {}
    new = {
        value: t(format_value(kpi, value)).encode("utf-8")
        for value in set(values).difference(cells)
    }
    if len(cells) + len(new) <= MAX_SHARED_CELLS:
        cells.update(new)
        shown = cells
    else:
        shown = {value: new[value] if value in new else cells[value] for value in set(values)}
    note_cells = {
        note: f'{t(note) or DASH}</td><td data-label="By">'.encode() for note in set(notes)
    }
    by_cells = {by: f"{t(by) or DASH}</td></tr>".encode() for by in set(bys)}

    before, after = '</td><td data-label="Expected">', '</td><td data-label="Note">'
    count = len(ordinals)
    expected: list[bytes]
    if kpi.due is None:  # the target on every date
        expected = [(before + t(format_value(kpi, kpi.target)) + after).encode("utf-8")] * count
    elif base is None:
        expected = [(before + DASH + after).encode("utf-8")] * count
    else:
        on = expected_path(kpi, start=r.start, baseline=base)
        expected = [
            (before + t(format_value(kpi, kpi.label(on(dt.date.fromordinal(o))))) + after).encode(
                "utf-8"
            )
            for o in ordinals
        ]
    # The rows' pieces, five to a row, each column put in its place by one slice.
    pieces = [b""] * (5 * count)
    pieces[0::5] = map(days.__getitem__, ordinals)
    pieces[1::5] = map(shown.__getitem__, values)
    pieces[2::5] = expected
    pieces[3::5] = _column(note_cells, notes)
    pieces[4::5] = _column(by_cells, bys)
    return _TABLE_TOP + b"".join(pieces) + _TABLE_END


def _column(cells: dict[str | None, bytes], keys: Sequence[str | None]) -> list[bytes]:
    """Each key's cell, in order: one cell repeated when every row has the same."""
    if len(cells) == 1:
        return [*cells.values()] * len(keys)
    return list(map(cells.__getitem__, keys))


def history_section(site: Site, kpi_page: KpiPage) -> list[str]:
    out = ["<h2>Definition history</h2>"]
    if kpi_page.history is None:
        return [*out, "<p>Not in a git repository: no definition history.</p>"]
    if not kpi_page.history:
        return [*out, "<p>No change to this definition in the git history.</p>"]
    rows = [
        [
            t(c.commit),
            t(c.date),
            t(c.author),
            t(c.field)
            + (f' <span class="id">{t(c.kpi)}</span>' if c.kpi != kpi_page.result.kpi.id else ""),
            f"{t(c.old) or DASH} → {t(c.new) or DASH}",
            MOVED_GOALPOST if c.moved_goalpost else "",
        ]
        for c in reversed(kpi_page.history)
    ]
    header = ["Commit", "Date", "Author", "Field", "Old → new", "Moved goalpost"]
    moved = sum(1 for c in kpi_page.history if c.moved_goalpost)
    note = (
        f'<p class="alert">⚑ {moved} moved goalpost{"" if moved == 1 else "s"}: the target '
        "made easier or the due date pushed out while the KPI was behind.</p>"
        if moved
        else ""
    )
    return [*out, note, table(header, rows, nowrap=(0, 1))]


def kpi_html(site: Site, kpi_page: KpiPage, cells: ListCells | None = None) -> str:
    """A KPI's page; `cells` the build's store of the texts it shares with the list
    pages (a store of its own without it: the same page)."""
    return kpi_page_bytes(site, kpi_page, cells).decode("utf-8")


def kpi_page_bytes(site: Site, kpi_page: KpiPage, cells: ListCells | None = None) -> bytes:
    """A KPI's page (`kpi_html`) as the UTF-8 bytes the site writes, made as bytes
    (`page_bytes`): its measurements table is most of it."""
    r = kpi_page.result
    kpi = r.kpi
    page = kpi_page.path
    # The history's columns read once for the chart and the table; the chart made for this page
    # alone (the site holds no KPI's points between pages).
    columns = history_columns(r.history) if r.history else None
    chart = chart_of(r, columns)
    if cells is None:
        cells = ListCells(site)
    values = site.value_cells.setdefault(format_key(kpi), {})
    shown = cells.formatter(kpi)
    name = t(kpi.name)
    # The pieces between the long ones joined as text, each run encoded once (page_bytes
    # puts a line break between pieces: the same page as one piece a line).
    body: list[str | bytes] = [
        "\n".join(
            [
                _kpi_crumbs(site, kpi_page) + name + "</nav>",
                f'<h1>{name} <span class="id">{t(kpi.id)}</span></h1>',
                meta_line(site),
                f'<p class="status-line">{badge(r.status)} {t(status_sentence(r, shown))}</p>',
                standing(r, cells),
                "<h2>Chart</h2>",
            ]
        ),
        # Its pieces encoded apart: the points' long ASCII text never widened (page_bytes).
        b"".join(map(str.encode, chart_figure_pieces(r, chart, cells))),
        "<h2>Definition</h2>\n"
        + definition(page, site, kpi_page, cells)
        + f'\n<h2 id="measurements">Measurements ({len(r.history)})</h2>',
        measurements_table_bytes(r, columns, values, site.date_cells),
        "\n".join(history_section(site, kpi_page)),
    ]
    return page_bytes(f"{name} — {SITE_TITLE}", body)


def _kpi_crumbs(site: Site, kpi_page: KpiPage) -> str:
    """A KPI page's breadcrumb up to its own name (`crumbs`' markup): the same for every
    KPI of an objective, made once per objective for the build."""
    key = ("kpi crumbs", f"{kpi_page.objective_path}\0{kpi_page.objective_title}")
    start = site.fragments.get(key)
    if start is None:
        page, label = kpi_page.path, t(kpi_page.objective_title)
        whole = crumbs(page, [(kpi_page.objective_path, label), (page, "\0")])
        start = site.fragments[key] = whole.removesuffix("\0</nav>")
    return start


# ---------------------------------------------------------------- objectives, owners, problems


def objective_html(site: Site, node: ObjectiveNode, cells: ListCells | None = None) -> str:
    """An objective's page (`objective_page_bytes`, as text)."""
    return objective_page_bytes(site, node, cells).decode("utf-8")


def objective_page_bytes(site: Site, node: ObjectiveNode, cells: ListCells | None = None) -> bytes:
    """An objective's page as the UTF-8 bytes written, its KPI tables made as bytes."""
    page = node.path
    if cells is None:
        cells = ListCells(site)
    objective = node.objective
    body: list[str | bytes] = [crumbs(page, [(page, t(node.title))])]
    heading = t(node.title)
    if objective is not None:
        heading += f' <span class="id">{t(objective.id)}</span>'
    body += [f"<h1>{heading}</h1>", meta_line(site)]
    if objective is not None:
        rows = [
            _row("Owner", t(objective.owner) if objective.owner else None),
            _row("Due", objective.due.isoformat() if objective.due else None),
            _row("Description", t(objective.description) if objective.description else None),
        ]
        if any(rows):
            body.append('<dl class="def">' + "".join(rows) + "</dl>")
    else:
        body.append("<p>KPIs that name no objective.</p>")
    if node.progress is not None:
        body.append(f"<p>Progress {progress_bar(node.progress)}</p>")
    body.append(f"<p>{counts_sentence(node.counts)}</p>")
    body += [
        "<h2>KPIs</h2>",
        kpi_rows_bytes(page, site, node.results, objective=False, cells=cells),
    ]
    if node.children:
        body += ["<h2>Objectives under it</h2>", *_objective_tree(page, site, node.children, cells)]
    return page_bytes(f"{t(node.title)} — {SITE_TITLE}", body)


def owner_html(site: Site, owner: OwnerPage, cells: ListCells | None = None) -> str:
    """An owner's page (`owner_page_bytes`, as text)."""
    return owner_page_bytes(site, owner, cells).decode("utf-8")


def owner_page_bytes(site: Site, owner: OwnerPage, cells: ListCells | None = None) -> bytes:
    """An owner's page as the UTF-8 bytes written, its KPI table made as bytes."""
    page = owner.path
    name = t(owner_name(owner.owner))
    if cells is None:
        cells = ListCells(site)
    body: list[str | bytes] = [
        crumbs(page, [(page, name)]),
        f"<h1>{name}</h1>",
        meta_line(site),
        f"<p>{counts_sentence(owner.counts)}</p>",
        "<h2>KPIs</h2>",
        kpi_rows_bytes(page, site, owner.results, objective=True, cells=cells),
    ]
    return page_bytes(f"{name} — {SITE_TITLE}", body)


def problems_html(site: Site, problems: Sequence[Problem]) -> str:
    """The problems page (`problems_page_bytes`, as text)."""
    return problems_page_bytes(site, problems).decode("utf-8")


def problems_page_bytes(site: Site, problems: Sequence[Problem]) -> bytes:
    """The problems page as the UTF-8 bytes written."""
    page = PROBLEMS
    rows = [
        [
            f'<span class="id">{t(f"{p.path}:{p.line}:{p.column}")}</span>',
            t(str(p.severity)),
            t(p.code),
            t(p.message),
        ]
        for p in problems
    ]
    body = [
        crumbs(page, [(page, "Problems")]),
        "<h1>Problems found by check</h1>",
        meta_line(site),
        f"<p>{len(problems)} warning(s); `kpitrack check` lists the same.</p>",
        table(["Where", "Severity", "Code", "Message"], rows, nowrap=(1, 2)),
    ]
    return page_bytes(f"Problems — {SITE_TITLE}", body)


# ---------------------------------------------------------------- the site


def page_writers(site: Site) -> dict[str, Callable[[], bytes]]:
    """Every page of the site by its path, each as a function that renders it as the
    UTF-8 bytes written: the command renders and writes one page at a time, never
    holding the whole site. The KPI pages and the list pages' KPI tables, most of the
    site's bytes, are made as bytes (`kpi_page_bytes`, `kpi_rows_bytes`)."""
    from kpitrack.reports.site import walk

    cells = ListCells(site)  # each KPI's list-row cells and texts, shared by the pages
    pages: dict[str, Callable[[], bytes]] = {
        INDEX: functools.partial(index_page_bytes, site, cells)
    }
    if site.problems:
        pages[PROBLEMS] = functools.partial(problems_page_bytes, site, site.problems)
    for kpi_page in site.kpis:
        pages[kpi_page.path] = functools.partial(kpi_page_bytes, site, kpi_page, cells)
    for node in walk(site.objectives):
        pages[node.path] = functools.partial(objective_page_bytes, site, node, cells)
    for owner in site.owners:
        pages[owner.path] = functools.partial(owner_page_bytes, site, owner, cells)
    return pages


def page_renderers(site: Site) -> dict[str, Callable[[], str]]:
    """`page_writers`' pages as text (what `render_site` returns)."""
    return {path: functools.partial(_decoded, write) for path, write in page_writers(site).items()}


def _decoded(write: Callable[[], bytes]) -> str:
    return write().decode("utf-8")


def render_site(site: Site) -> dict[str, str]:
    """Every page of the site, rendered, by its path (`index.html`, `kpi/mrr.html`, ...)."""
    return {path: render() for path, render in page_renderers(site).items()}
