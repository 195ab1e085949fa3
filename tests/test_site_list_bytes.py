"""The list pages' KPI tables made as bytes (`site_html.kpi_rows_bytes`, each KPI's
row cells encoded once per folder for the build) and the overview, objective and owner
pages joined as bytes (`index_page_bytes`, `objective_page_bytes`, `owner_page_bytes`)
are byte for byte the plain functions' text, encoded: the oracle is
`test_site_lists`' plain functions, as they were before the cells were shared."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_site_lists import drawn_site, plain_kpi_rows, plain_list_pages, sample_site, workspaces
from test_site_shared_texts import plain_kpi_html

from kpitrack.domain.problems import Problem
from kpitrack.domain.workspace import Workspace
from kpitrack.git.changes import Change
from kpitrack.render import site_html as H
from kpitrack.render.report_html import table
from kpitrack.reports.site import INDEX, PROBLEMS, Site, walk

# A page in each folder a KPI table is on (the links differ by folder only).
PAGES = [INDEX, "objective/o0.html", "owner/x.html", "kpi/k0.html"]


def written_list_pages(site: Site) -> dict[str, bytes]:
    """The list pages' bytes as `kpitrack site` writes them (`page_writers`, in order,
    the KPI pages made in between with the same store of cells)."""
    out = {}
    for path, write in H.page_writers(site).items():
        data = write()
        if not path.startswith("kpi/") and path != PROBLEMS:
            out[path] = data
    return out


@settings(max_examples=60, deadline=None)
@given(workspaces(), st.integers(0, 127), st.booleans())
def test_the_written_list_pages_are_the_plain_pages_encoded(
    drawn: tuple[Workspace, list[Problem]], keep: int, filtered: bool
) -> None:
    site = drawn_site(drawn, keep, filtered)
    plain = {path: html.encode("utf-8") for path, html in plain_list_pages(site).items()}
    assert written_list_pages(site) == plain


@settings(max_examples=60, deadline=None)
@given(workspaces(), st.booleans())
def test_a_kpi_table_made_as_bytes_is_the_plain_table_from_every_folder(
    drawn: tuple[Workspace, list[Problem]], objective: bool
) -> None:
    site = drawn_site(drawn, 0, False)
    results = site.digest.results
    cells = H.ListCells(site)  # one store: the second round is served from it
    for _ in range(2):
        for page in PAGES:
            want = plain_kpi_rows(page, site, results, objective=objective)
            got = H.kpi_rows_bytes(page, site, results, objective=objective, cells=cells)
            assert got == want.encode("utf-8")
            assert H.kpi_rows(page, site, results, objective=objective, cells=cells) == want
    # A table of some of them, in another order, from the same store.
    some = list(reversed(results[::2]))
    want = plain_kpi_rows(INDEX, site, some, objective=objective).encode("utf-8")
    assert H.kpi_rows_bytes(INDEX, site, some, objective=objective, cells=cells) == want


@given(st.booleans(), st.lists(st.lists(st.text(), min_size=8, max_size=8), max_size=4))
def test_the_kpi_table_s_markup_is_report_html_table_s(
    objective: bool, rows: list[list[str]]
) -> None:
    """`_kpi_table`'s pieces, filled with any cells, give `report_html.table`'s text."""
    header = ["KPI", "Status", "Owner", "Latest", "Target", "Progress", "Trend"]
    if objective:
        header.insert(3, "Objective")
    rows = [row[: len(header)] for row in rows]
    top, row, end = H._kpi_table(objective)
    out = [top]
    for cells in rows:
        filled = row.copy()
        filled[1::2] = [c.encode("utf-8", "surrogatepass") for c in cells]
        out += filled
    out.append(end)
    want = table(header, rows, nowrap=(1, len(header) - 2, len(header) - 1))
    assert b"".join(out) == want.encode("utf-8", "surrogatepass")


def test_the_sample_s_list_pages_as_bytes_alone_and_shared() -> None:
    site = sample_site()
    plain = plain_list_pages(site)
    written = written_list_pages(site)
    assert len(written) > 5
    assert written == {path: html.encode("utf-8") for path, html in plain.items()}
    # Each page with a store of its own is the same page.
    assert H.index_page_bytes(site) == written[INDEX]
    for node in walk(site.objectives):
        assert H.objective_page_bytes(site, node) == written[node.path]
        assert H.objective_html(site, node) == plain[node.path]
    for owner in site.owners:
        assert H.owner_page_bytes(site, owner) == written[owner.path]
        assert H.owner_html(site, owner) == plain[owner.path]


def test_a_kpi_s_row_is_encoded_once_per_folder_and_kind_of_table() -> None:
    site = sample_site()
    cells = H.ListCells(site)
    r = site.digest.results[0]
    first = cells.row(INDEX, r, False)
    assert cells.row("other.html", r, False) is first  # the same folder
    assert cells.row(INDEX, r, True) is not first  # with the objective's column
    assert len(cells.row(INDEX, r, True)) == len(first) + 1
    assert cells.row("owner/a.html", r, False) != first  # links from another folder
    assert cells.cells_bytes(r) is cells.cells_bytes(r)
    assert cells.cells_bytes(r) == tuple(c.encode("utf-8") for c in cells.cells(r))


# ---------------------------------------------------------------- the KPI page's fixed parts


@settings(max_examples=60, deadline=None)
@given(workspaces(), st.integers(0, 127), st.booleans())
def test_a_kpi_page_s_breadcrumb_made_once_per_objective_is_crumbs_own(
    drawn: tuple[Workspace, list[Problem]], keep: int, filtered: bool
) -> None:
    site = drawn_site(drawn, keep, filtered)
    for _ in range(2):  # made, then from the build's store
        for kpi_page in site.kpis:
            name = H.t(kpi_page.result.kpi.name)
            trail = [
                (kpi_page.objective_path, H.t(kpi_page.objective_title)),
                (kpi_page.path, name),
            ]
            made = H._kpi_crumbs(site, kpi_page) + name + "</nav>"
            assert made == H.crumbs(kpi_page.path, trail)


@pytest.mark.parametrize("moved", [False, True])
@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_kpi_page_with_a_definition_history_is_the_plain_page(count: int, moved: bool) -> None:
    site = sample_site()
    kpi_page = site.kpis[0]
    changes = tuple(
        Change(
            f"abc{i}",
            "2026-01-0" + str(i + 1),
            "Zoë <z@x>",
            kpi_page.result.kpi.id if i % 2 else "other",
            "target",
            None if i == 1 else str(i),
            "a — b",
            moved_goalpost=moved and i == 0,
        )
        for i in range(count)
    )
    with_history = dataclasses.replace(kpi_page, history=changes)
    want = plain_kpi_html(site, with_history)
    assert H.kpi_page_bytes(site, with_history) == want.encode("utf-8")
    assert H.kpi_page_bytes(site, with_history, H.ListCells(site)) == want.encode("utf-8")


@given(
    st.sampled_from(
        [
            ("KPI", "Date", "Value", "Note", "By"),
            ("KPI", "Status", "Owner", "Reasons", "Action plan"),
        ]
    ),
    st.lists(st.lists(st.text(), min_size=5, max_size=5), max_size=4),
)
def test_the_overview_s_other_tables_markup_is_report_html_table_s(
    header: tuple[str, ...], rows: list[list[str]]
) -> None:
    """The new measurements' and the needs-action tables (`_table_bytes`)."""
    made = H._table_bytes(
        H._table_parts(header, (1,)),
        [[c.encode("utf-8", "surrogatepass") for c in r] for r in rows],
    )
    want = table(list(header), rows, nowrap=(1,))
    assert made == want.encode("utf-8", "surrogatepass")
