"""Where every command's output goes: one `emit` for stdout and `-o FILE`.

The rule (README "Output"): a Rich renderable (a table, the report, a KPI's page)
prints with colour on a terminal; anywhere else (a pipe, cron mail, an `-o` file)
it becomes plain text `$COLUMNS` wide (80 when unset), or the fixed width its
command asks for (`report`: 100, so a mail never depends on the environment).
Piped output and an `-o` file are the same text. No line ends in spaces, on a
terminal either. Strings (JSON, CSV, Markdown, HTML) are written as they are.

Rich is imported only when a renderable is actually printed or converted.
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
    from rich.segment import Segment

    pending: list[Segment] = []  # spaces that may turn out to end a line
    for segment in segments:
        if segment.control:
            yield from pending
            pending.clear()
            yield segment
            continue
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
    yield from pending


def visible_renderable(renderable: RenderableType) -> RenderableType:
    """A renderable whose text (not its styling) has control characters escaped and
    whose lines never end in spaces."""
    from rich.segment import Segment

    from kpitrack.domain.textsafe import visible

    class Visible:
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            for segment in _without_trailing_spaces(console.render(renderable, options)):
                if segment.control or segment.text == "\n":
                    yield segment
                else:
                    yield Segment(visible(segment.text), segment.style)

    return Visible()


def renderable_to_text(renderable: RenderableType, width: int | None = None) -> str:
    """Plain text of a Rich renderable, for files and pipes: no colour, no escape codes,
    no trailing spaces; the width of a pipe unless given."""
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
    console.print(visible_renderable(renderable))
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


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
