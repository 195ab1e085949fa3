"""A KPI's page takes the texts it shares with the list pages (its latest value, target,
progress bar and reasons, its owner's and objective's links) from the build's store
(`site_html.ListCells`), and its values from one store of formatted values per
`format_key` (`ListCells.formatter`): the pages are byte for byte those the plain
functions give. The plain functions, as they were before, are kept below as the oracle."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from site_fixtures import SAMPLE, SAMPLE_AS_OF
from test_site_lists import drawn_site, sample_site, workspaces

from kpitrack.domain.model import Config, Frequency, Kind, Kpi, KpiResult, Value
from kpitrack.domain.problems import Problem
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate, status_sentence
from kpitrack.reading.loading import load_workspace
from kpitrack.render import site_html as H
from kpitrack.render.report_common import (
    STATUS_LABELS,
    format_latest,
    format_overdue,
    format_reasons,
    format_target,
    format_value,
    owner_name,
)
from kpitrack.render.report_html import badge, progress_bar, sparkline
from kpitrack.reports.site import Chart, KpiPage, Site, build_site, chart_of

t, link, _row = H.t, H.link, H._row

# ---------------------------------------------------------------- the oracle: the plain functions


def plain_definition(page: str, kpi_page: KpiPage) -> str:
    r = kpi_page.result
    kpi = r.kpi
    milestones = ""
    if kpi.milestones:
        items = "".join(
            f"<li>{m.date.isoformat()}: {t(format_value(kpi, m.target))}</li>"
            for m in kpi.milestones
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
        _row("Target", t(format_target(r))),
        _row("Direction", t(H.DIRECTION_WORDS[str(kpi.direction)])),
        _row("Kind", kind),
        _row("Unit", t(kpi.unit) if kpi.unit else None),
        _row("Baseline", t(format_value(kpi, r.baseline)) if r.baseline is not None else None),
        _row("Start", r.start.isoformat() if r.start else None),
        _row("Due", kpi.due.isoformat() if kpi.due else "none: a standing target"),
        _row("Milestones", milestones),
        _row("Frequency", t(str(kpi.frequency))),
        _row("Indicator", t(str(kpi.indicator)) if kpi.indicator else None),
        _row("Owner", link(page, kpi_page.owner_path, t(owner_name(kpi.owner)))),
        _row("Objective", link(page, kpi_page.objective_path, t(kpi_page.objective_title))),
        _row("Action plan", H.action_plan(r)),
        _row("Review", review),
        _row("Tags", t(", ".join(kpi.tags)) if kpi.tags else None),
        _row("Description", t(kpi.description) if kpi.description else None),
        _row("Archived", "yes" if kpi.archived else None),
    ]
    return '<dl class="def">' + "".join(rows) + "</dl>"


def plain_standing(r: KpiResult) -> str:
    rows = [
        _row("Status", badge(r.status)),
        _row("Latest", t(format_latest(r))),
        _row("Expected", t(format_value(r.kpi, r.expected)) if r.expected is not None else None),
        _row("Progress", progress_bar(r.progress)),
        _row("Gap", t(format_value(r.kpi, r.gap)) if r.gap is not None and r.gap > 0 else None),
        _row("Overdue", t(format_overdue(r)) if r.overdue is not None else None),
        _row("Needs action", t(format_reasons(r)) if r.reasons else "no"),
    ]
    return '<dl class="def">' + "".join(rows) + "</dl>"


def plain_chart_summary(r: KpiResult, chart: Chart) -> str:
    kpi = r.kpi
    first_day, first_value = chart.measured[0]
    last_day, last_value = chart.measured[-1]
    n = len(chart.measured)
    values = (
        f"{n} value{'' if n == 1 else 's'} from {first_day.isoformat()} "
        f"({format_value(kpi, kpi.label(first_value))}) to {last_day.isoformat()} "
        f"({format_value(kpi, kpi.label(last_value))})"
    )
    expected = ""
    if r.expected is not None and r.latest is not None:
        expected = f"; expected {format_value(kpi, r.expected)} on {r.latest.date.isoformat()}"
    milestones = f"; {len(chart.milestones)} milestone(s)" if chart.milestones else ""
    projection = ""
    if chart.forecast is not None:
        at, _, low, high = chart.forecast
        projection = (
            f"; projected {format_value(kpi, kpi.label(low))} to "
            f"{format_value(kpi, kpi.label(high))} by {at.isoformat()}"
        )
    events = ""
    if chart.events:
        events = "; events: " + ", ".join(f"{d.isoformat()} {title}" for d, title in chart.events)
    return (
        f"Chart of {kpi.name}: {values}; target {format_target(r)}{expected}{milestones}"
        f"{projection}{events}; status {STATUS_LABELS[r.status]}."
    )


def plain_legend(r: KpiResult, chart: Chart) -> str:
    legend = [
        '<span><span aria-hidden="true">●</span> measured</span>',
        '<span><span aria-hidden="true">┄</span> expected path</span>',
    ]
    if r.kpi.due is not None:
        legend.append('<span><span aria-hidden="true">┈</span> target</span>')
    if chart.milestones:
        legend.append('<span><span aria-hidden="true">◆</span> milestone</span>')
    if chart.forecast is not None:
        legend.append('<span><span aria-hidden="true">┆</span> projection and band</span>')
    if chart.events:
        legend.append('<span><span aria-hidden="true">│</span> event</span>')
    return "".join(legend)


def plain_chart_figure(r: KpiResult, chart: Chart | None) -> str:
    if chart is None:
        return "<p>No measurements to chart yet.</p>"
    legend = plain_legend(r, chart)
    summary = t(plain_chart_summary(r, chart))
    return (
        '<figure class="chart">'
        + H.chart_svg(r, chart, summary)
        + f'<figcaption><span class="legend">{legend}</span><br>'
        + f"{summary} The values are in the table below.</figcaption>"
        + "</figure>"
    )


def plain_kpi_html(site: Site, kpi_page: KpiPage) -> str:
    r = kpi_page.result
    kpi = r.kpi
    page = kpi_page.path
    chart = chart_of(r)
    objective_label = t(kpi_page.objective_title)
    body = [
        H.crumbs(page, [(kpi_page.objective_path, objective_label), (page, t(kpi.name))]),
        f'<h1>{t(kpi.name)} <span class="id">{t(kpi.id)}</span></h1>',
        H.meta_line(site),
        f'<p class="status-line">{badge(r.status)} {t(status_sentence(r))}</p>',
        plain_standing(r),
        "<h2>Chart</h2>",
        plain_chart_figure(r, chart),
        "<h2>Definition</h2>",
        plain_definition(page, kpi_page),
        f'<h2 id="measurements">Measurements ({len(r.history)})</h2>',
        H.measurements_table(r),
        *H.history_section(site, kpi_page),
    ]
    return H.page_html(f"{t(kpi.name)} — {H.SITE_TITLE}", body)


def rendered(site: Site) -> dict[str, str]:
    """Every page as `kpitrack site` renders them: `page_renderers`' order (the overview
    first), one store of cells for the build."""
    return {path: render() for path, render in H.page_renderers(site).items()}


def assert_kpi_pages_plain(site: Site) -> None:
    pages = rendered(site)
    for kpi_page in site.kpis:
        plain = plain_kpi_html(site, kpi_page)
        assert pages[kpi_page.path] == plain
        assert H.kpi_html(site, kpi_page) == plain  # a store of its own: the same page


# ---------------------------------------------------------------- the pages


@settings(max_examples=120, deadline=None)
@given(workspaces(), st.integers(0, 127), st.booleans())
def test_every_kpi_page_is_what_the_plain_functions_give(
    drawn: tuple[Workspace, list[Problem]], keep: int, filtered: bool
) -> None:
    site = drawn_site(drawn, keep, filtered)
    assert_kpi_pages_plain(site)


def test_the_sample_s_kpi_pages_are_what_the_plain_functions_give() -> None:
    site = sample_site()
    # The sample has milestones, forecasts, events, scales and reasons: each is shown.
    assert any(p.result.kpi.milestones for p in site.kpis)
    assert any(p.result.forecast for p in site.kpis)
    assert any(p.result.reasons for p in site.kpis)
    assert_kpi_pages_plain(site)


def test_a_kpi_s_shared_texts_are_made_once_per_build() -> None:
    workspace, _ = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = evaluate(workspace, as_of=SAMPLE_AS_OF)
    site = build_site(workspace, results, as_of=SAMPLE_AS_OF, config=Config())
    cells = H.ListCells(site)
    for r in results:
        assert cells.target(r) == format_target(r)
        assert cells.latest(r) == t(format_latest(r))
        assert cells.progress(r) == progress_bar(r.progress)
        assert cells.reasons(r) == t(format_reasons(r))
        assert cells.target(r) is cells.target(r)
        assert cells.formatter(r.kpi) is cells.formatter(r.kpi)
        # The trend with the build's formatter is the report's trend.
        assert sparkline(r, cells.formatter(r.kpi)) == sparkline(r)
    # The overview's "Needs action" reasons come from the same store.
    assert H.index_page(site, cells) == H.index_page(site)


# ---------------------------------------------------------------- the formatter


def kpi_of(unit: str | None, kind: Kind = Kind.QUANTITATIVE, n: int = 0) -> Kpi:
    scale = ("poor", "fair", "good") if kind is Kind.QUALITATIVE else ()
    return Kpi(
        f"k{n}",
        f"KPI {n}",
        "m",
        "good" if scale else 10,
        Frequency.WEEKLY,
        kind=kind,
        scale=scale,
        unit=unit,
    )


values = (
    st.integers(-2000, 2000)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
    | st.sampled_from([0.0, -0.0, 1.0, 1, 0.5, 1.005, 2.675, 1e-12, 999.995, "poor", "good"])
)


@given(
    st.lists(values, max_size=30),
    st.sampled_from([None, "%", "USD", "<u>"]),
    st.sampled_from(list(Kind)),
)
@example([1, 1.0, 1.0000000000001, -0.0, 0.0, 0], "USD", Kind.QUANTITATIVE)
@example([0, 0.5, 1, 1.5, 2, 2.0000000001, "good"], None, Kind.QUALITATIVE)
def test_the_formatter_shows_each_value_as_format_value_does(
    shown: list[Value], unit: str | None, kind: Kind
) -> None:
    site = build_site(Workspace(), [], as_of=dt.date(2026, 1, 1), config=Config())
    cells = H.ListCells(site)
    # Two KPIs of the same format key share the store: each sees what it would alone.
    first, second = kpi_of(unit, kind, 0), kpi_of(unit, kind, 1)
    assert H.format_key(first) == H.format_key(second)
    for kpi in (first, second):
        f = cells.formatter(kpi)
        for value in [*shown, None]:
            if isinstance(value, str) and not kpi.scale:
                continue
            assert f(value) == format_value(kpi, value)


def test_a_full_store_still_formats_every_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(H, "MAX_SHARED_CELLS", 3)
    site = build_site(Workspace(), [], as_of=dt.date(2026, 1, 1), config=Config())
    kpi = kpi_of("USD")
    f = H.ListCells(site).formatter(kpi)
    assert [f(v) for v in range(10)] == [format_value(kpi, v) for v in range(10)]
    assert len(site.value_texts[H.format_key(kpi)]) == 3
