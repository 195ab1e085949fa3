"""Where every command's output goes: one `emit` for stdout and `-o FILE`.

The rule (README "Output"): a Rich renderable (a table, the report, a KPI's page)
prints with colour on a terminal; anywhere else (a pipe, cron mail, an `-o` file)
it becomes plain text `$COLUMNS` wide (80 when unset), or the fixed width its
command asks for (`report`: 100, so a mail never depends on the environment).
Piped output and an `-o` file are the same text. No line ends in spaces, on a
terminal either. Strings (JSON, CSV, Markdown, HTML) are written as they are.

Rich is imported only when a renderable is actually printed or converted, and not even
then for a view that makes its own plain text (`render.plaintext`) off a terminal.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.segment import Segment


class ColorChoice(StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


_color_choice = ColorChoice.AUTO  # --color, set once by the root callback


def set_color_choice(choice: ColorChoice) -> None:
    global _color_choice
    _color_choice = choice


def color_wanted(stream: object) -> bool:
    """Colour for `stream`: --color always/never first; then a non-empty NO_COLOR turns it
    off and a non-empty FORCE_COLOR on; else only on a terminal."""
    if _color_choice is not ColorChoice.AUTO:
        return _color_choice is ColorChoice.ALWAYS
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def make_console(*, stderr: bool = False) -> Console:
    """A console for stdout: colour only on a terminal and never with NO_COLOR."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    color = color_wanted(stream)
    return Console(
        file=stream,
        color_system="auto" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
        force_terminal=color,
    )


def output_width() -> int:
    """The width of output that is not a terminal (pipes, cron mail, -o files): $COLUMNS
    when set, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    return columns if columns > 0 else 80


def _without_trailing_spaces(segments: Iterable[Segment]) -> Iterable[Segment]:
    """The segments with each line's trailing unstyled spaces dropped (spaces with a
    background colour are kept: they are visible)."""
    pending: list[Segment] = []  # spaces that may turn out to end a line
    for segment in segments:
        yield from _trimmed(segment, pending)
    yield from pending


def _trimmed(segment: Segment, pending: list[Segment]) -> Iterable[Segment]:
    """One segment's part of `_without_trailing_spaces`: `pending` holds the unstyled
    spaces seen last, which are dropped at a line end and yielded before other text."""
    from rich.segment import Segment

    if segment.control:
        yield from pending
        pending.clear()
        yield segment
        return
    for i, part in enumerate(segment.text.split("\n")):
        if i:  # a line ends here: drop what is pending
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


def _visible_segments(segments: Iterable[Segment]) -> Iterable[Segment]:
    """`_without_trailing_spaces` with the text (not control segments) escaped by
    `visible`. Whether anything needs escaping is asked once, of the whole text: almost
    never, and then the segments only lose their lines' trailing spaces."""
    from rich.segment import Segment

    from kpitrack.domain.textsafe import visible

    segments = list(segments)
    joined = "".join([segment.text for segment in segments if not segment.control])
    if visible(joined) == joined:
        return _trimmed_segments(segments)
    return (
        s if s.control or s.text == "\n" else Segment(visible(s.text), s.style)
        for s in _without_trailing_spaces(segments)
    )


def _trimmed_segments(segments: Iterable[Segment]) -> Iterable[Segment]:
    """`_without_trailing_spaces`, with the common segments (text, a cell's padding
    spaces) handled inline: one or two checks each, no nested generator."""
    from rich.segment import Segment

    pending: list[Segment] = []  # spaces that may turn out to end a line
    for segment in segments:
        text, style, _control = segment
        if segment.control or "\n" in text:
            yield from _trimmed(segment, pending)
        elif not text:
            continue
        elif text[-1] != " " or getattr(style, "bgcolor", None) is not None:
            if pending:
                yield from pending
                pending.clear()
            yield segment
        else:
            body = text.rstrip(" ")
            if not body:  # only spaces (a cell's padding, mostly)
                pending.append(segment)
                continue
            yield from pending
            pending.clear()
            yield Segment(body, style)
            pending.append(Segment(text[len(body) :], style))
    yield from pending


def visible_renderable(renderable: RenderableType) -> RenderableType:
    """A renderable whose text (not its styling) has control characters escaped and
    whose lines never end in spaces."""

    class Visible:
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            yield from _visible_segments(console.render(renderable, options))

    return Visible()


def renderable_to_text(renderable: RenderableType, width: int | None = None) -> str:
    """Plain text of a Rich renderable, for files and pipes: no colour, no escape codes,
    no trailing spaces; the width of a pipe unless given.

    A view that knows its own plain text (`render.plaintext.Deferred`) gives it without
    importing Rich; it is the text Rich would draw (tests/test_printer.py)."""
    plain = getattr(renderable, "plain_text", None)
    if plain is not None:
        from kpitrack.domain.textsafe import visible

        own = plain(width or output_width())
        if own is not None:
            lines = visible(own).splitlines()
            return "\n".join(map(str.rstrip, lines)) + "\n" if lines else ""
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width or output_width(),
        color_system=None,
        no_color=True,
        highlight=False,
        emoji=False,
    )
    text = _plain_text(console, renderable)
    if text is None:  # Rich's own printing, segment by segment
        console.print(visible_renderable(renderable))
        text = buffer.getvalue()
    lines = text.splitlines()
    return "\n".join(map(str.rstrip, lines)) + "\n" if lines else ""


def _plain_text(console: Console, renderable: RenderableType) -> str | None:
    """What `console.print(visible_renderable(renderable))` writes to a console without
    colour, made per whole text instead of per segment: the segments' text joined,
    escaped in one pass. Printing would crop each line to the console's width; when a
    line is wider than that (`_fits`), or a segment is a control code, None: the caller
    prints it the old way."""
    from kpitrack.domain.textsafe import visible

    options = console.options.update(
        justify=None, overflow=None, height=None, no_wrap=None, markup=None, highlight=None
    )
    parts: list[str] = []
    append = parts.append
    for text, _style, control in console.render(renderable, options):
        if control:
            return None
        append(text)
    text = visible("".join(parts))
    return text if _fits(text, console.width) else None


def _fits(text: str, width: int) -> bool:
    """Whether no line of `text`, without its trailing spaces, is wider than `width`
    cells (so that printing crops nothing). False, to be safe, for text with a zero
    width joiner or a variation selector, where Rich's width of a line is not the sum
    of its parts' widths."""
    lines = text.split("\n")
    if text.isascii():
        return max(map(len, lines)) <= width or all(
            len(line.rstrip(" ")) <= width for line in lines
        )
    if "\u200d" in text or "\ufe0f" in text:
        return False
    from rich.cells import cell_len

    return all(cell_len(line.rstrip(" ")) <= width for line in lines)


def to_terminal() -> bool:
    """Whether a renderable printed to stdout now goes to a (colour) terminal."""
    return sys.stdout.isatty() or color_wanted(sys.stdout)


def emit(content: str | RenderableType, output: Path | None, *, width: int | None = None) -> None:
    """Print to stdout, or write to `output` atomically (see the module's docstring).

    `width`: the width of a renderable's plain text off a terminal; default `$COLUMNS`,
    else 80. `-o -` is stdout."""
    if output is not None and str(output) == "-":
        output = None
    if not isinstance(content, str) and output is None and to_terminal():
        make_console().print(visible_renderable(content))
        return
    text = content if isinstance(content, str) else renderable_to_text(content, width)
    if output is not None:
        from kpitrack.writing.atomicfile import atomic_write_text

        atomic_write_text(output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def deprecated(old: str, new: str) -> None:
    """One line on stderr for a deprecated spelling that still works (one release)."""
    print(f"kpitrack: warning: {old} is deprecated; use {new}", file=sys.stderr)


def emit_chunks(chunks: Iterable[str], output: Path | None) -> None:
    """`emit` for output made piece by piece (export): streamed to stdout, or into the
    `-o` file's temporary file, never held whole in memory."""
    if output is not None:
        from kpitrack.writing.atomicfile import atomic_write_text

        atomic_write_text(output, chunks)
        return
    for chunk in chunks:
        sys.stdout.write(chunk)
    sys.stdout.flush()


def page_if_long(content: str | RenderableType) -> bool:
    """On a terminal, show output taller than the screen through $PAGER (less -R by
    default; git's habit); whether it was paged."""
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        return False
    console = make_console()
    with console.capture() as capture:
        if isinstance(content, str):
            console.print(content, end="")
        else:
            console.print(visible_renderable(content))
    text = capture.get()
    if text.count("\n") < console.height - 1:
        return False
    os.environ.setdefault("LESS", "FRX")  # like git: quit when it fits, keep colours
    import pydoc

    pydoc.pager(text)
    return True
