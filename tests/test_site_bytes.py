"""The KPI pages are made as bytes (`site_html.page_bytes`, `kpi_page_bytes`,
`measurements_table_bytes`): the same bytes as the page made as text, then encoded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from site_fixtures import plain_table_rows
from test_site_lists import drawn_site, plain_page_html, sample_site, workspaces
from test_site_shared_texts import plain_kpi_html

from kpitrack.domain.problems import Problem
from kpitrack.domain.workspace import Workspace
from kpitrack.render import site_html as H
from kpitrack.reports.site import Site

# Any text a page can hold: every plane, no lone surrogates (UTF-8 cannot encode them).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(TEXT, st.lists(st.tuples(TEXT, st.booleans()), max_size=8))
def test_a_page_made_as_bytes_is_the_plain_page_encoded(
    title: str, pieces: list[tuple[str, bool]]
) -> None:
    body: list[str | bytes] = [text.encode() if as_bytes else text for text, as_bytes in pieces]
    made = H.page_bytes(title, body)
    assert made == plain_page_html(title, [text for text, _ in pieces]).encode("utf-8")
    assert H.page_html(title, body) == made.decode("utf-8")


def test_an_empty_body_is_one_empty_line_as_in_the_plain_page() -> None:
    assert H.page_bytes("x", []) == plain_page_html("x", []).encode()
    assert H.page_bytes("x", []) != H.page_bytes("x", ["a"])


def assert_written_kpi_pages_plain(site: Site) -> None:
    """What the command writes for each KPI page is the plain page's text, encoded; its
    measurements table is the plain rows."""
    writers = H.page_writers(site)
    assert sum(path.startswith("kpi/") for path in writers) == len(site.kpis)
    for kpi_page in site.kpis:
        made = writers[kpi_page.path]()
        assert isinstance(made, bytes)
        assert made == plain_kpi_html(site, kpi_page).encode("utf-8")
        r = kpi_page.result
        table = H.measurements_table_bytes(r)
        if r.history:
            rows = table.decode("utf-8").split("\n")[-len(r.history) - 1 : -1]
            assert rows == plain_table_rows(r)
        assert table in made


def test_the_sample_s_kpi_pages_are_written_as_the_plain_pages() -> None:
    assert_written_kpi_pages_plain(sample_site())


@settings(max_examples=60, deadline=None)
@given(workspaces(), st.integers(0, 127), st.booleans())
def test_a_drawn_workspace_s_kpi_pages_are_written_as_the_plain_pages(
    drawn: tuple[Workspace, list[Problem]], keep: int, filtered: bool
) -> None:
    assert_written_kpi_pages_plain(drawn_site(drawn, keep, filtered))
