"""The list pages' fast paths against the plain computations they replaced, kept below
as the oracle: `report_html.table` filling each row into the table's fixed pieces,
`sparkline`'s blocks (a float its own position) and its event marks only where there
are events, `last_values` read from the columns. Byte for byte: the same strings for
any header, cells, values and events. (The overview's "This week" rows, which take
each KPI's stored texts, are checked page by page against the plain functions in
test_site_lists.py.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from html import escape as _escape

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import (
    Event,
    Frequency,
    Kind,
    Kpi,
    KpiResult,
    Measurement,
    Status,
    Value,
)
from kpitrack.domain.series import History, Series, last_values
from kpitrack.render import report_html as R
from kpitrack.render.report_common import DASH, format_value

# ---------------------------------------------------------------- the oracle: the plain functions


def plain_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    total: Sequence[str] | None = None,
    nowrap: Sequence[int] = (),
    compact: bool = False,
) -> str:
    """`table` as it was: every row's cells each opened, filled and closed on its own."""

    def cls(i: int) -> str:
        names = ["lead"] if i == 0 else []
        if i in numeric:
            names.append("num")
        elif i in nowrap:
            names.append("nowrap")
        return f' class="{" ".join(names)}"' if names else ""

    def cell_style(i: int) -> str:
        if i == 0:
            return R.CARD_LEAD_STYLE
        return R.CARD_FLOW_STYLE if compact else R.CARD_CELL_STYLE

    def label(i: int) -> str:
        return "" if i == 0 else f'<span class="lbl" style="{R.LABEL_STYLE}">{header[i]}: </span>'

    def tr(cells: Sequence[str], attrs: str = "") -> str:
        inner = "".join(
            f'<td{cls(i)} style="{cell_style(i)}">{label(i)}{c}</td>' for i, c in enumerate(cells)
        )
        return f'<tr{attrs} style="{R.CARD_STYLE}">{inner}</tr>'

    heads = "".join(f'<th scope="col"{cls(i)}>{h}</th>' for i, h in enumerate(header))
    kind = "grid compact" if compact else "grid"
    out = [
        f'<table class="{kind}" width="100%" cellpadding="5" cellspacing="0" border="0" '
        'style="display:block;width:100%;border-collapse:collapse">',
        '<tbody style="display:block">',
        f'<tr class="head" style="display:none">{heads}</tr>',
    ]
    out += [tr(row) for row in rows]
    if total is not None:
        out.append(tr(total, attrs=' class="total"'))
    out.append("</tbody></table>")
    return "\n".join(out)


def plain_spark_blocks(kpi: Kpi, shown: Sequence[Value]) -> str:
    values = [kpi.position(v) for v in shown]
    if not values:
        return ""
    low, high = min(values), max(values)
    top = len(R.SPARK_BLOCKS) - 1
    if high == low:
        return R.SPARK_BLOCKS[top // 2] * len(values)
    return "".join(R.SPARK_BLOCKS[round((v - low) / (high - low) * top)] for v in values)


def plain_marked(text: str, marks: dict[int, list[str]]) -> str:
    out = []
    for i, ch in enumerate(text):
        if i in marks:
            words = _escape("event: " + "; ".join(marks[i]), quote=True)
            out.append(f'<span title="{words}" style="border-bottom:2px solid #b45309">{ch}</span>')
        else:
            out.append(ch)
    return "".join(out)


def plain_last_values(history: Sequence[Measurement], count: int) -> list[Value]:
    return [m.value for m in list(history)[max(0, len(history) - count) :]]


def plain_sparkline(r: KpiResult, formatter: Callable[[Value], str] | None = None) -> str:
    shown = plain_last_values(r.history, R.SPARK_POINTS)
    text = plain_spark_blocks(r.kpi, shown)
    if not text:
        return f'<span class="muted">{DASH}</span>'
    if formatter is None:
        values = [format_value(r.kpi, v) for v in shown]
    else:
        values = list(map(formatter, shown))
    marks = R.spark_events(r)
    words = f"trend of the last {len(values)} values: {', '.join(values)}"
    if marks:
        words += "; events: " + "; ".join(w for i in sorted(marks) for w in marks[i])
    label = _escape(words, quote=True)
    colour = R.STATUS_COLOURS[r.status][0]
    return (
        f'<span class="spark" role="img" aria-label="{label}" title="{label}" '
        f'style="color:{colour};white-space:nowrap;letter-spacing:1px;'
        f'font-family:Menlo,Consolas,&quot;DejaVu Sans Mono&quot;,monospace">'
        f"{plain_marked(text, marks)}</span>"
    )


# ---------------------------------------------------------------- tables

# Pre-escaped cells and headers as the callers give them, with the characters a
# template would trip on: braces, percent signs, backslashes, markup.
cell_texts = st.sampled_from(
    ["", "{}", "{0}", "}{", "%s", "\\", '<a href="x">y</a>', "—", "1,200 USD", "{{x}}"]
) | st.text(max_size=8)


class Options:
    """`table`'s keyword options, drawn."""

    def __init__(
        self,
        numeric: Sequence[int] = (),
        nowrap: Sequence[int] = (),
        compact: bool = False,
        total: Sequence[str] | None = None,
    ) -> None:
        self.numeric, self.nowrap, self.compact, self.total = numeric, nowrap, compact, total

    def __repr__(self) -> str:
        return f"Options({self.numeric!r}, {self.nowrap!r}, {self.compact!r}, {self.total!r})"


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], Options]:
    width = draw(st.integers(0, 9))
    header = draw(st.lists(cell_texts, min_size=width, max_size=width))
    # Rows of the header's width, and now and then a shorter one (never longer: a
    # column needs its header's name).
    lengths = st.just(width) | st.integers(0, width)
    rows = [
        draw(st.lists(cell_texts, min_size=n, max_size=n))
        for n in draw(st.lists(lengths, max_size=6))
    ]
    columns = st.lists(st.integers(0, max(width, 1)), max_size=3)
    total = None
    if draw(st.booleans()):
        n = draw(st.sampled_from([width, max(width - 1, 0)]))
        total = draw(st.lists(cell_texts, min_size=n, max_size=n))
    return header, rows, Options(draw(columns), tuple(draw(columns)), draw(st.booleans()), total)


@settings(max_examples=300, deadline=None)
@given(tables())
@example((["KPI", "Status"], [["a", "b"], ["c"], []], Options(numeric=[1], total=["All", "2"])))
@example(([], [[], ["x"]], Options(compact=True)))
def test_a_table_is_the_cell_by_cell_one(drawn: tuple[list[str], list[list[str]], Options]) -> None:
    header, rows, o = drawn
    expected = plain_table(
        header, rows, numeric=o.numeric, nowrap=o.nowrap, compact=o.compact, total=o.total
    )
    # Lists of cells, and tuples as some callers give them, fill the same rows.
    for given_rows in (rows, [tuple(row) for row in rows]):
        made = R.table(
            header, given_rows, numeric=o.numeric, nowrap=o.nowrap, compact=o.compact, total=o.total
        )
        assert made == expected


# ---------------------------------------------------------------- sparklines

AS_OF = dt.date(2026, 3, 1)
SCALE = ("poor", "fair", "good", "great")
numbers = (
    st.floats(-1e6, 1e6, allow_nan=False)
    | st.sampled_from([0.0, -0.0, 0.1, 0.2, 0.30000000000000004, 1e-9, 2.5, 3.5, 0.55, 7.7])
    | st.integers(-1000, 1000)
)


@st.composite
def results(draw: st.DrawFn) -> tuple[KpiResult, KpiResult]:
    """A KPI's result twice: its history a view of a column store (dates in or out of
    order) and the same Measurements as a plain tuple."""
    qualitative = draw(st.booleans())
    kpi = Kpi(
        "k",
        "K",
        "count",
        "good" if qualitative else 10,
        Frequency.WEEKLY,
        kind=Kind.QUALITATIVE if qualitative else Kind.QUANTITATIVE,
        scale=SCALE if qualitative else (),
        unit=None if qualitative else draw(st.sampled_from([None, "%", "<u>", "USD", '"q"'])),
    )
    values = st.sampled_from(SCALE) if qualitative else numbers
    entries = draw(st.lists(st.tuples(st.integers(-60, 0), values), max_size=20))
    series = Series("k", ["m.yaml"])
    for i, (day, value) in enumerate(entries):
        series.append((AS_OF + dt.timedelta(days=day)).toordinal(), value, None, None, 0, i, 1, i)
    history = series.until(AS_OF.toordinal())
    assert isinstance(history, History)
    events = tuple(
        sorted(
            (
                Event(AS_OF + dt.timedelta(days=d), title)
                for d, title in draw(
                    st.lists(
                        st.tuples(st.integers(-70, 5), st.sampled_from(["launch", 'a "b" & <c>'])),
                        max_size=3,
                    )
                )
            ),
            key=lambda ev: ev.date,
        )
    )
    status = draw(st.sampled_from(list(Status)))

    def result(h: Sequence[Measurement]) -> KpiResult:
        return KpiResult(
            kpi=kpi,
            as_of=AS_OF,
            status=status,
            latest=h[-1] if h else None,
            baseline=None,
            start=None,
            progress=None,
            gap=None,
            expected=None,
            overdue=None,
            history=h,
            events=events,
        )

    return result(history), result(tuple(history))


@settings(max_examples=300, deadline=None)
@given(results(), st.booleans())
def test_a_sparkline_is_the_plain_one(drawn: tuple[KpiResult, KpiResult], formatted: bool) -> None:
    view, plain = drawn
    seen: dict[Value, str] = {}

    def formatter(value: Value) -> str:
        return seen.setdefault(value, format_value(view.kpi, value))

    shown = formatter if formatted else None
    expected = plain_sparkline(plain, shown)
    assert R.sparkline(view, shown) == expected
    assert R.sparkline(plain, shown) == expected
    assert R.spark_text(view) == plain_spark_blocks(
        view.kpi, plain_last_values(plain.history, R.SPARK_POINTS)
    )


def test_a_value_on_a_block_s_edge_gets_the_plain_block() -> None:
    # 0.55 of 0 to 7.7: (v - low) / span * top rounds to 1, the algebraically equal
    # (v - low) * (top / span) to 0; ints and floats mixed; one value; all equal.
    kpi = Kpi("k", "K", "count", 10, Frequency.WEEKLY)
    for shown in ([0.0, 0.55, 7.7], [0, 0.55, 7.7], [3], [2.0, 2, 2.0], [-0.0, 0.0, 1e-300]):
        assert R._spark_blocks(kpi, shown) == plain_spark_blocks(kpi, shown)
    scale = Kpi("q", "Q", "count", "good", Frequency.WEEKLY, kind=Kind.QUALITATIVE, scale=SCALE)
    assert R._spark_blocks(scale, ["poor", "great", "fair"]) == "▁█▃"


@given(results(), st.integers(0, 25))
def test_the_last_values_are_read_from_the_columns_as_from_the_measurements(
    drawn: tuple[KpiResult, KpiResult], count: int
) -> None:
    view, plain = drawn
    expected = plain_last_values(plain.history, count)
    assert last_values(view.history, count) == expected
    assert last_values(plain.history, count) == expected
    # The values' types too: a float stays a float, a label a label, an int an int.
    assert [type(v) for v in last_values(view.history, count)] == [type(v) for v in expected]
