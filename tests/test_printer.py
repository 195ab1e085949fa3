"""The shared printer (`commands/output.py`) works per whole text, not per segment:
its output must be byte for byte what the segment-by-segment printer it replaced
wrote, kept here as the oracle, with and without colour and at any width."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
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
from kpitrack.domain.textsafe import visible

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
    assert renderable_to_text(renderable, width) == old_renderable_to_text(renderable, width)


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
