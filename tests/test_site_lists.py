"""`kpitrack site`'s list pages (the overview, the objective and the owner pages) made
from each KPI's row cells, made once per build (`site_html.ListCells`), are byte for
byte the pages the plain functions give: those functions, as they were before the
cells were shared, are kept below as the oracle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from site_fixtures import SAMPLE, SAMPLE_AS_OF

from kpitrack.domain.codes import Severity
from kpitrack.domain.model import (
    Config,
    Direction,
    Event,
    Frequency,
    Kind,
    Kpi,
    KpiResult,
    Location,
    Measurement,
    Objective,
)
from kpitrack.domain.problems import Problem
from kpitrack.domain.series import Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.reading.loading import load_workspace
from kpitrack.render import site_html as H
from kpitrack.render.report_common import (
    CHANGE_ORDER,
    CHANGE_TITLES,
    DASH,
    format_latest,
    format_overdue,
    format_reasons,
    format_target,
    format_value,
)
from kpitrack.render.report_html import badge, progress_bar, table
from kpitrack.reports.site import (
    INDEX,
    PROBLEMS,
    ObjectiveNode,
    OwnerPage,
    Site,
    build_site,
    kpi_path,
    walk,
)

# ---------------------------------------------------------------- the oracle: the plain functions

_escape = H._escape
t, link = H.t, H.link


def plain_page_html(title: str, body: Sequence[str]) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="generator" content="kpitrack site">\n'
        f"<title>{title}</title>\n<style>\n{H.CSS}\n</style>\n</head>\n<body>\n"
        '<div class="page">\n' + "\n".join(body) + "\n</div>\n</body>\n</html>\n"
    )


def plain_kpi_link(page: str, r: KpiResult) -> str:
    kpi = r.kpi
    return f'{link(page, kpi_path(kpi.id), t(kpi.name))}<br><span class="id">{t(kpi.id)}</span>'


def plain_kpi_rows(page: str, site: Site, results: Sequence[KpiResult], *, objective: bool) -> str:
    if not results:
        return "<p>No KPIs.</p>"
    header = ["KPI", "Status", "Owner", "Latest", "Target", "Progress", "Trend"]
    if objective:
        header.insert(3, "Objective")
    rows = []
    for r in results:
        row = [
            plain_kpi_link(page, r),
            badge(r.status),
            H.owner_link(page, site, r.kpi.owner),
            t(format_latest(r)),
            t(format_target(r)),
            progress_bar(r.progress),
            H._sparkline(site, r),
        ]
        if objective:
            row.insert(3, H.objective_link(page, site, r.kpi.objective))
        rows.append(row)
    return table(header, rows, nowrap=(1, len(header) - 2, len(header) - 1))


def plain_objective_tree(page: str, site: Site, nodes: Sequence[ObjectiveNode]) -> list[str]:
    if not nodes:
        return ["<p>No objectives.</p>"]
    out: list[str] = []
    for node in nodes:
        heading = link(page, node.path, t(node.title))
        if node.objective is not None:
            heading += f' <span class="id">{t(node.objective.id)}</span>'
        out.append(f"<h3>{heading}</h3>")
        if node.progress is not None:
            out.append(f"<p>Progress {progress_bar(node.progress)}</p>")
        if node.results:
            out.append(f'<p class="muted">{H.counts_sentence(node.counts)}</p>')
            out.append(plain_kpi_rows(page, site, node.results, objective=False))
        elif not node.children:
            out.append('<p class="alert">⚠ No KPI measures this objective.</p>')
        if node.children:
            out.append('<div class="subtree">')
            out += plain_objective_tree(page, site, node.children)
            out.append("</div>")
    return out


def plain_changes_section(page: str, site: Site) -> list[str]:
    digest = site.digest
    out = [
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
                plain_kpi_link(page, c.result),
                f'<span class="nowrap">{badge(c.before)} → {badge(c.after)}</span>',
                H.owner_link(page, site, c.result.kpi.owner),
                t(format_latest(c.result)),
            ]
            for c in changes
        ]
        out.append(table(["KPI", "Status", "Owner", "Latest"], rows))
    out += H.definition_changes(page, site)
    out.append("<h3>New measurements</h3>")
    if not digest.new_measurements:
        out.append("<p>No new measurements.</p>")
        return out
    rows = [
        [
            link(page, kpi_path(n.kpi.id), t(n.kpi.name))
            + f'<br><span class="id">{t(n.kpi.id)}</span>',
            n.measurement.date.isoformat(),
            t(format_value(n.kpi, n.measurement.value)),
            t(n.measurement.note) or DASH,
            t(n.measurement.by) or DASH,
        ]
        for n in reversed(digest.new_measurements)
    ]
    out.append(table(["KPI", "Date", "Value", "Note", "By"], rows, nowrap=(1,)))
    return out


def plain_overdue_section(page: str, site: Site) -> list[str]:
    out = ["<h2>Overdue reports</h2>"]
    if not site.digest.overdue:
        return [*out, "<p>No overdue reports.</p>"]
    rows = [
        [
            plain_kpi_link(page, r),
            H.owner_link(page, site, r.kpi.owner),
            t(str(r.kpi.frequency)),
            r.latest.date.isoformat() if r.latest else "never",
            t(format_overdue(r)),
        ]
        for r in site.digest.overdue
    ]
    header = ["KPI", "Owner", "Frequency", "Last report", "Overdue"]
    return [*out, table(header, rows, nowrap=(3,))]


def plain_needs_action_section(page: str, site: Site) -> list[str]:
    out = ["<h2>Needs action</h2>"]
    if not site.digest.needs_action:
        return [*out, "<p>Nothing needs action.</p>"]
    rows = [
        [
            plain_kpi_link(page, r),
            badge(r.status),
            H.owner_link(page, site, r.kpi.owner),
            t(format_reasons(r)),
            H.action_plan(r),
        ]
        for r in site.digest.needs_action
    ]
    header = ["KPI", "Status", "Owner", "Reasons", "Action plan"]
    return [*out, table(header, rows, nowrap=(1,))]


def plain_index_page(site: Site) -> str:
    page = INDEX
    digest = site.digest
    body = [
        H.crumbs(page, []),
        f"<h1>{H.SITE_TITLE}</h1>",
        H.meta_line(site),
        f"<p>{H.counts_sentence(digest.summary)}</p>",
        H.cards(digest.summary),
    ]
    if site.problems:
        n = len(site.problems)
        label = f"{n} problem{'' if n == 1 else 's'} found by check"
        body.append(f"<p>⚠ {link(page, PROBLEMS, label)}</p>")
    body += ["<h2>Owners</h2>", H.owners_table(page, site)]
    body += ["<h2>Objectives</h2>", *plain_objective_tree(page, site, site.objectives)]
    body += plain_changes_section(page, site)
    body += plain_overdue_section(page, site)
    body += plain_needs_action_section(page, site)
    if site.built_at is not None:
        body.append(f'<p class="muted built">Built {t(site.built_at)} by kpitrack.</p>')
    return plain_page_html(f"{H.SITE_TITLE} — {site.as_of.isoformat()}", body)


def plain_objective_html(site: Site, node: ObjectiveNode) -> str:
    page = node.path
    objective = node.objective
    body = [H.crumbs(page, [(page, t(node.title))])]
    heading = t(node.title)
    if objective is not None:
        heading += f' <span class="id">{t(objective.id)}</span>'
    body += [f"<h1>{heading}</h1>", H.meta_line(site)]
    if objective is not None:
        rows = [
            H._row("Owner", t(objective.owner) if objective.owner else None),
            H._row("Due", objective.due.isoformat() if objective.due else None),
            H._row("Description", t(objective.description) if objective.description else None),
        ]
        if any(rows):
            body.append('<dl class="def">' + "".join(rows) + "</dl>")
    else:
        body.append("<p>KPIs that name no objective.</p>")
    if node.progress is not None:
        body.append(f"<p>Progress {progress_bar(node.progress)}</p>")
    body.append(f"<p>{H.counts_sentence(node.counts)}</p>")
    body += ["<h2>KPIs</h2>", plain_kpi_rows(page, site, node.results, objective=False)]
    if node.children:
        body += ["<h2>Objectives under it</h2>", *plain_objective_tree(page, site, node.children)]
    return plain_page_html(f"{t(node.title)} — {H.SITE_TITLE}", body)


def plain_owner_html(site: Site, owner: OwnerPage) -> str:
    page = owner.path
    name = t(H.owner_name(owner.owner))
    body = [
        H.crumbs(page, [(page, name)]),
        f"<h1>{name}</h1>",
        H.meta_line(site),
        f"<p>{H.counts_sentence(owner.counts)}</p>",
        "<h2>KPIs</h2>",
        plain_kpi_rows(page, site, owner.results, objective=True),
    ]
    return plain_page_html(f"{name} — {H.SITE_TITLE}", body)


def plain_list_pages(site: Site) -> dict[str, str]:
    pages = {INDEX: plain_index_page(site)}
    for node in walk(site.objectives):
        pages[node.path] = plain_objective_html(site, node)
    for owner in site.owners:
        pages[owner.path] = plain_owner_html(site, owner)
    return pages


def list_pages(site: Site) -> dict[str, str]:
    """The list pages as the site renders them: in `page_renderers`' order, sharing one
    store of cells (the KPI pages rendered in between, as `kpitrack site` does)."""
    out = {}
    for path, render in H.page_renderers(site).items():
        html = render()
        if not path.startswith("kpi/") and path != PROBLEMS:
            out[path] = html
    return out


# ---------------------------------------------------------------- generated workspaces

AS_OF = dt.date(2026, 3, 1)
# Names with markup, entities, quotes, unicode, bidi and control characters.
texts = st.sampled_from(
    ["Revenue", "<b>bold</b> & co", 'say "hi"', "Zoë ☃ 名", "a\u202eb", "x\ty", "[red]r[/]"]
) | st.text(max_size=6)
# Owners whose names share a slug ("R&D", "R D", "r-d"), with markup, unicode, or none.
owners = st.sampled_from([None, "R&D", "R D", "r-d", "Ana <ana@x>", "Zoë", "Team/1"])


@st.composite
def workspaces(draw: st.DrawFn) -> tuple[Workspace, list[Problem]]:
    """Objectives nested under earlier ones (or roots); KPIs with and without an objective
    (or an unknown one) and an owner; measurements before and inside the site's week."""
    objectives = []
    for n in range(draw(st.integers(0, 5))):
        parent = draw(st.none() | st.integers(0, n - 1)) if n else None
        objectives.append(
            Objective(
                f"o{n}",
                draw(texts) or f"Objective {n}",
                owner=draw(owners),
                due=draw(st.none() | st.just(AS_OF + dt.timedelta(days=30))),
                description=draw(st.none() | texts),
                parent=None if parent is None else f"o{parent}",
            )
        )
    objective_ids = [o.id for o in objectives]
    kpis = []
    made = []
    for n in range(draw(st.integers(1, 7))):
        qualitative = draw(st.booleans())
        scale = ("poor", "fair", "good")
        kpi = Kpi(
            f"k{n}",
            draw(texts) or f"KPI {n}",
            "count",
            "good" if qualitative else draw(st.integers(1, 50)),
            draw(st.sampled_from(list(Frequency))),
            kind=Kind.QUALITATIVE if qualitative else Kind.QUANTITATIVE,
            scale=scale if qualitative else (),
            direction=draw(st.sampled_from(list(Direction))),
            unit=None if qualitative else draw(st.sampled_from([None, "%", "<u>", "€"])),
            owner=draw(owners),
            objective=draw(st.sampled_from([None, "unknown", *objective_ids])),
            baseline=None if qualitative else draw(st.none() | st.integers(0, 5)),
            start=draw(st.none() | st.just(AS_OF - dt.timedelta(days=60))),
            due=draw(st.none() | st.just(AS_OF + dt.timedelta(days=90))),
            action=draw(st.none() | texts),
        )
        kpis.append(kpi)
        for day in draw(st.lists(st.integers(-40, 0), max_size=6)):
            value = scale[draw(st.integers(0, 2))] if qualitative else draw(st.integers(-5, 60))
            note, by = draw(st.none() | texts), draw(st.none() | texts)
            made.append((kpi.id, AS_OF + dt.timedelta(days=day), value, note, by))
    measurements = [
        Measurement(k, d, v, note, by, Location("m.yaml", i + 1, 1), i)
        for i, (k, d, v, note, by) in enumerate(sorted(made, key=lambda m: m[1]))
    ]
    events = [
        Event(AS_OF - dt.timedelta(days=d), draw(texts) or "launch")
        for d in draw(st.lists(st.integers(0, 40), max_size=2))
    ]
    problems = [
        Problem("k.yaml", i + 1, 1, Severity.WARNING, "KT100", draw(texts))
        for i in range(draw(st.integers(0, 2)))
    ]
    workspace = Workspace(
        objectives=tuple(objectives),
        kpis=tuple(kpis),
        measurements=Measurements(measurements),
        events=tuple(events),
    )
    return workspace, problems


def drawn_site(drawn: tuple[Workspace, list[Problem]], keep: int, filtered: bool) -> Site:
    """The site of a drawn workspace; `filtered`: of the KPIs whose bit is set in `keep`."""
    workspace, problems = drawn
    results = evaluate(workspace, as_of=AS_OF)
    if filtered:  # a filtered site: some of the KPIs
        results = [r for i, r in enumerate(results) if keep >> i & 1]
    return build_site(
        workspace, results, as_of=AS_OF, config=Config(), problems=problems, built_at="now"
    )


def sample_site() -> Site:
    workspace, problems = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = evaluate(workspace, as_of=SAMPLE_AS_OF)
    return build_site(
        workspace, results, as_of=SAMPLE_AS_OF, config=Config(), problems=problems, built_at="x"
    )


@settings(max_examples=150, deadline=None)
@given(workspaces(), st.integers(0, 127), st.booleans())
def test_every_list_page_is_what_the_plain_functions_give(
    drawn: tuple[Workspace, list[Problem]], keep: int, filtered: bool
) -> None:
    site = drawn_site(drawn, keep, filtered)
    fast = list_pages(site)
    plain = plain_list_pages(site)
    assert list(fast) == list(plain)
    assert fast == plain


def test_the_sample_s_list_pages_are_what_the_plain_functions_give() -> None:
    site = sample_site()
    fast = list_pages(site)
    assert len(fast) > 5 and fast == plain_list_pages(site)
    # Each page alone (its own store) is the same page too.
    assert H.index_page(site) == fast[INDEX]
    for node in walk(site.objectives):
        assert H.objective_html(site, node) == fast[node.path]
    for owner in site.owners:
        assert H.owner_html(site, owner) == fast[owner.path]


@given(texts, st.lists(texts | st.text(), max_size=5))
def test_a_page_is_joined_as_before(title: str, body: list[str]) -> None:
    assert H.page_html(title, body) == plain_page_html(title, body)


def test_a_kpi_s_cells_are_made_once_and_its_links_once_per_folder() -> None:
    workspace, _ = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = evaluate(workspace, as_of=SAMPLE_AS_OF)
    site = build_site(workspace, results, as_of=SAMPLE_AS_OF, config=Config())
    cells = H.ListCells(site)
    r = results[0]
    assert cells.cells(r) is cells.cells(r)
    # Every link from every folder, each asked for twice (the second from the store).
    pages = [
        INDEX,
        "objective/a.html",
        "owner/b.html",
        PROBLEMS,
        "objective/c.html",
        "owner/d.html",
    ]
    for page in pages + pages:
        for r in results:
            assert cells.kpi_link(page, r.kpi) == plain_kpi_link(page, r)
            assert cells.owner_link(page, r.kpi.owner) == H.owner_link(page, site, r.kpi.owner)
            assert cells.objective_link(page, r.kpi.objective) == H.objective_link(
                page, site, r.kpi.objective
            )
    assert cells.kpi_link(INDEX, r.kpi) is cells.kpi_link(PROBLEMS, r.kpi)  # one folder
