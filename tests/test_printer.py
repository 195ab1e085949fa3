"""The shared printer (`commands/output.py`) works per whole text, not per segment:
its output must be byte for byte what the segment-by-segment printer it replaced
wrote, kept here as the oracle, with and without colour and at any width."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.segment import ControlType, Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from kpitrack.commands.output import (
    _plain_text,
    _visible_segments,
    renderable_to_text,
    visible_renderable,
)
from kpitrack.domain.model import Direction, Frequency, Kind, Kpi, KpiResult, Measurement
from kpitrack.domain.textsafe import visible
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate, worst_first
from kpitrack.render import table
from kpitrack.render.plaintext import PLAIN_VIEWS, Deferred, status_plain, wrap_words

# --- the old printer, segment by segment (the oracle) ---------------------------------


def old_without_trailing_spaces(segments: Any) -> Any:
    pending: list[Segment] = []
    for segment in segments:
        if segment.control:
            yield from pending
            pending.clear()
            yield segment
            continue
        for i, part in enumerate(segment.text.split("\n")):
            if i:
                pending.clear()
                yield Segment.line()
            if not part:
                continue
            piece = Segment(part, segment.style)
            background = segment.style is not None and segment.style.bgcolor is not None
            if background:
                yield from pending
                pending.clear()
                yield piece
                continue
            body = part.rstrip(" ")
            if body:
                yield from pending
                pending.clear()
                yield Segment(body, segment.style)
            if len(body) < len(part):
                pending.append(Segment(part[len(body) :], segment.style))
    yield from pending


def old_visible_renderable(renderable: Any) -> Any:
    class Visible:
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            for segment in old_without_trailing_spaces(console.render(renderable, options)):
                if segment.control or segment.text == "\n":
                    yield segment
                else:
                    yield Segment(visible(segment.text), segment.style)

    return Visible()


def old_renderable_to_text(renderable: Any, width: int) -> str:
    buffer = StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, no_color=True, highlight=False, emoji=False
    )
    console.print(old_visible_renderable(renderable))
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def coloured(renderable: Any, width: int) -> str:
    """What `emit` writes to a colour terminal (--color always)."""
    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system="truecolor",
        force_terminal=True,
        highlight=False,
        emoji=False,
        markup=False,
    )
    console.print(renderable)
    return buffer.getvalue()


# --- generated renderables --------------------------------------------------------------

PIECES = [" ", "  ", "a", "ab", "kpi-001", "\n", "é", "漢字", "🎉", "\t", "\x1b[31m",
          "\x07", "\u202e", "\u200d", "\ufe0f", "\u0301", "\u2028", "\x85", "\r", "\u3000",
          "—"]  # fmt: skip
TEXTS = st.lists(st.sampled_from(PIECES), max_size=8).map("".join) | st.text(max_size=10)
STYLES = st.sampled_from(
    [None, Style(bold=True), Style(color="green"), Style(bgcolor="red"), Style(dim=True)]
)
ERASE = [(ControlType.ERASE_IN_LINE, 2)]  # a control segment (what Live and progress use)
WIDTHS = st.sampled_from([40, 60, 80, 120, 3, 10])


class Segments:
    """A renderable that yields the given segments as they are."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.segments

    def __repr__(self) -> str:
        return f"Segments({self.segments!r})"


@st.composite
def segment_lists(draw: Any) -> list[Segment]:
    out = []
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 30)) == 0:
            out.append(Segment("\x1b[2K", None, ERASE))
        else:
            out.append(Segment(draw(TEXTS), draw(STYLES)))
    return out


@st.composite
def renderables(draw: Any) -> Any:
    kind = draw(st.sampled_from(["segments", "text", "table", "group"]))
    if kind == "segments":
        return Segments(draw(segment_lists()))
    if kind == "text":
        text = Text()
        for _ in range(draw(st.integers(0, 5))):
            text.append(draw(TEXTS), style=draw(STYLES) or "")
        return text
    if kind == "table":
        from rich import box

        table = Table(
            show_edge=draw(st.booleans()),
            box=draw(st.sampled_from([None, box.SIMPLE])),
            title=draw(st.sampled_from([None, "Title  "])),
        )
        columns = draw(st.integers(1, 3))
        for i in range(columns):
            table.add_column(f"c{i}", no_wrap=draw(st.booleans()))
        for _ in range(draw(st.integers(0, 3))):
            table.add_row(*(Text(draw(TEXTS), style=draw(STYLES) or "") for _ in range(columns)))
        return table
    return Group(*(Text(draw(TEXTS), style=draw(STYLES) or "") for _ in range(3)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(renderables(), WIDTHS)
def test_plain_text_is_the_old_printers(renderable: Any, width: int) -> None:
    # Rich itself raises on a few texts (e.g. zero-width joiners before a wide space at
    # some widths): then the printer must raise as the old one did, not print otherwise.
    def outcome(printer: Any) -> tuple[str, object]:
        try:
            return ("text", printer(renderable, width))
        except Exception as exc:  # any error of Rich's, compared by type
            return ("raised", type(exc))

    assert outcome(renderable_to_text) == outcome(old_renderable_to_text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(renderables(), WIDTHS)
def test_coloured_output_is_the_old_printers(renderable: Any, width: int) -> None:
    new = coloured(visible_renderable(renderable), width)
    assert new == coloured(old_visible_renderable(renderable), width)


@settings(max_examples=400, deadline=None)
@given(segment_lists())
def test_visible_segments_are_the_old_ones(segments: list[Segment]) -> None:
    old = [
        s if s.control or s.text == "\n" else Segment(visible(s.text), s.style)
        for s in old_without_trailing_spaces(segments)
    ]
    assert [tuple(s) for s in _visible_segments(segments)] == [tuple(s) for s in old]


def console(width: int) -> Console:
    return Console(file=StringIO(), width=width, color_system=None, no_color=True)


@pytest.mark.parametrize(
    ("segments", "why"),
    [
        ([Segment("x" * 11)], "a line wider than the console is cropped by Rich"),
        ([Segment("é" * 11)], "the same, measured in cells"),
        ([Segment("漢字漢字漢字")], "wide characters: 12 cells"),
        ([Segment("a\x1b" + "b")], "escaped, the line is 6 characters: wider than 5"),
        ([Segment("a"), Segment("\x1b[2K", None, ERASE)], "a control segment"),
        ([Segment("👍\ufe0f")], "a variation selector: width not the sum of its parts"),
        ([Segment("a\u200db")], "a joiner"),
    ],
)
def test_the_rare_cases_go_through_rich(segments: list[Segment], why: str) -> None:
    width = 5 if "6 characters" in why else 10
    assert _plain_text(console(width), Segments(segments)) is None, why
    assert renderable_to_text(Segments(segments), width) == old_renderable_to_text(
        Segments(segments), width
    )


def test_the_common_case_is_joined_and_escaped() -> None:
    segments = [Segment("kpi\x1b", Style(bold=True)), Segment("  "), Segment("\n"), Segment("é ")]
    assert _plain_text(console(10), Segments(segments)) == "kpi\\x1b  \né "
    assert renderable_to_text(Segments(segments), 10) == "kpi\\x1b\né\n"


@pytest.mark.parametrize("width", [40, 80])
@pytest.mark.parametrize(
    "text", ["", "\n", "a  \n\n b \t\nc", "x\u2028y  \u2029z\u3000", "end\n\n", "  \n  "]
)
def test_line_ends_are_the_old_ones(text: str, width: int) -> None:
    """Empty output, blank lines, every line separator `splitlines` knows."""
    renderable = Text(text)
    assert renderable_to_text(renderable, width) == old_renderable_to_text(renderable, width)
    segments = Segments([Segment(text)])
    assert renderable_to_text(segments, width) == old_renderable_to_text(segments, width)


# --- the status table's own plain text (render/plaintext.py) against Rich's -------------

D = dt.date
AS_OF = D(2026, 11, 25)
SAMPLE = Path(__file__).resolve().parent.parent / "sample_kpis.yaml"

# Names, ids, owners and units: mostly plain words, sometimes what only Rich lays out
# (wide, combining or control characters, tabs, long words, spaces at the ends).
WORDY = st.text(alphabet="abcxyz -_.", min_size=1, max_size=30).filter(str.strip)
ODD = st.sampled_from(
    ["漢字 kpi", "e\u0301clair", "tab\there", "bell\x07", "bidi\u202eevil", "a\u200db", "x" * 40]
)
LABELS = st.one_of(WORDY, WORDY, WORDY, ODD)
IDS = st.text(alphabet="abcdefghij-_0123456789", min_size=1, max_size=36)


@st.composite
def status_rows(draw: Any) -> list[KpiResult]:
    kpis: list[Kpi] = []
    measurements: list[Measurement] = []
    labels = LABELS if draw(st.booleans()) else WORDY  # half the tables all plain words
    for n in range(draw(st.integers(1, 5))):
        kid = f"{draw(IDS)}{n}"
        qualitative = draw(st.booleans())
        kind = (
            Kind.QUALITATIVE
            if qualitative
            else draw(st.sampled_from([Kind.QUANTITATIVE, Kind.PROGRESS]))
        )
        scale = ("poor", "fair", "good", "excellent") if qualitative else ()
        target: Any = (
            "good" if qualitative else draw(st.sampled_from([10, 0.5, 1500, 99.9, 250000]))
        )
        kpis.append(
            Kpi(
                kid,
                draw(st.sampled_from([kid, ""])) or draw(labels),
                "m",
                target,
                draw(st.sampled_from(list(Frequency))),
                kind=kind,
                scale=scale,
                unit=None
                if qualitative
                else draw(st.none() | st.sampled_from(["%", "USD", "h"]) | labels),
                owner=draw(st.none() | labels),
                action=draw(st.none() | labels),
                direction=draw(st.sampled_from(list(Direction))),
                baseline=None if qualitative else draw(st.none() | st.just(0)),
                start=D(2026, 1, 1),
                due=draw(st.none() | st.just(D(2026, 12, 31))),
            )
        )
        for i in range(draw(st.integers(0, 10))):
            value: Any = (
                draw(st.sampled_from(scale))
                if qualitative
                else draw(st.floats(-1e6, 1e6, allow_nan=False) | st.integers(0, 300))
            )
            day = D(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 320)))
            measurements.append(Measurement(kid, day, value, order=len(measurements) + i))
    ws = Workspace(kpis=tuple(kpis), measurements=tuple(measurements))
    return sorted(evaluate(ws, as_of=AS_OF), key=worst_first)


VIEWS = {"status": table.status, "overdue": table.overdue, "actions": table.actions}


def view_of(name: str, rows: list[KpiResult]) -> Deferred:
    """The view as `kpitrack NAME` hands it to the printer (commands/evaluating.py)."""
    return Deferred(lambda: VIEWS[name](rows, as_of=AS_OF), lambda w: PLAIN_VIEWS[name](rows, w))


def status_view(rows: list[KpiResult]) -> Deferred:
    return view_of("status", rows)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status_rows(),
    st.integers(1, 200) | st.integers(40, 140) | st.sampled_from([80, 110]),
    st.sampled_from(sorted(VIEWS)),
)
def test_the_list_views_plain_text_is_richs(rows: list[KpiResult], width: int, name: str) -> None:
    """Whether made here or by Rich (when the plain view says None), the same bytes."""
    rich = renderable_to_text(VIEWS[name](rows, as_of=AS_OF), width)
    assert renderable_to_text(view_of(name, rows), width) == rich
    plain = PLAIN_VIEWS[name](rows, width)
    event(f"{name}: " + ("plain" if plain is not None else "left to Rich"))
    # On a terminal Rich draws the view it builds, in colour, as it drew the table.
    drawn = coloured(visible_renderable(view_of(name, rows)), width)
    assert drawn == coloured(visible_renderable(VIEWS[name](rows, as_of=AS_OF)), width)
    if plain is not None:
        lines = visible(plain).splitlines()
        assert "\n".join(map(str.rstrip, lines)) + "\n" == rich


def sample_rows() -> list[KpiResult]:
    from kpitrack.commands.inputs import evaluate_selected_and_all

    none = {"owners": None, "objectives": None, "tags": None, "kpis": None}
    results, *_ = evaluate_selected_and_all([SAMPLE], AS_OF, None, **none, show_all=False)
    return sorted(results, key=worst_first)


@pytest.mark.parametrize("name", sorted(VIEWS))
@pytest.mark.parametrize("width", [30, 40, 60, 79, 80, 100, 109, 110, 130, 200])
def test_the_samples_lists_are_plain_text_made_without_rich(width: int, name: str) -> None:
    rows = sample_rows()
    if name != "status":
        rows = [r for r in rows if r.overdue is not None]  # overdue's own order aside
    plain = PLAIN_VIEWS[name](rows, width)
    assert plain is not None  # the common case never reaches Rich
    assert renderable_to_text(view_of(name, rows), width) == renderable_to_text(
        VIEWS[name](rows, as_of=AS_OF), width
    )


@pytest.mark.parametrize("name", ["overdue", "actions"])
def test_an_empty_list_is_its_sentence(name: str) -> None:
    rows = [r for r in sample_rows() if r.overdue is None and not r.needs_action]
    assert PLAIN_VIEWS[name](rows, 80) in ("No overdue reports.\n", "Nothing needs action.\n")
    assert renderable_to_text(view_of(name, rows), 80) == renderable_to_text(
        VIEWS[name](rows, as_of=AS_OF), 80
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"name": "Revenue 漢字"}, "a wide character"),
        ({"owner": "tab\there"}, "a tab"),
        ({"name": "bell\x07"}, "a control character, escaped"),
        ({}, "a table wider than the output: Rich narrows its columns"),
    ],
)
def test_what_only_rich_lays_out_is_left_to_it(change: dict[str, str], why: str) -> None:
    rows = sample_rows()
    first = rows[0]
    rows[0] = dataclasses.replace(first, kpi=dataclasses.replace(first.kpi, **change))
    width = 20 if "wider" in why else 100
    assert status_plain(rows, width) is None, why
    assert renderable_to_text(status_view(rows), width) == renderable_to_text(
        table.status(rows, as_of=AS_OF), width
    )


def test_the_words_are_wrapped_as_rich_wraps_them() -> None:
    from rich._wrap import divide_line

    for line in ["", " lead", "a b  c", "one two three four five", "trail  ", "x" * 9]:
        for width in range(1, 12):
            parts = wrap_words(line, width)
            if parts is None:
                # Rich folds a word (with the spaces before it) wider than the line
                assert len(line.rstrip()) > width
                continue
            cuts = [0, *divide_line(line, width), len(line)]
            assert parts == [line[a:b] for a, b in itertools.pairwise(cuts)]
