"""Tables drawn without colour (files, pipes, mail) skip Rich's per-cell layout when no
cell wraps (`FittedTable.plain_lines`): the text must be exactly what Rich draws."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from kpitrack.commands.output import renderable_to_text
from kpitrack.render.table import FittedTable, keep_column, wrap_column

WORDS = ["", " ", "a", "ab cd", "id-00012", "x\ny", "trail  ", "  lead", "漢字", "é",
         "🎉", "a\tb", "\x1b[31m", "[b]x[/b]", ":smile:", "a\u202eb", "\u3000", "—",
         "a-long-word-without-breaks", "two words here and more", "\n", "end\n"]  # fmt: skip
# Plain printable text (the joined path), or anything (Rich's path).
PLAIN = st.text(alphabet="abcd -.%→é\n", max_size=10) | st.sampled_from(["漢字", "🎉 x"])
TEXTS = st.one_of(PLAIN, st.sampled_from(WORDS), st.text(max_size=12))
NAMES = ["KPI", "Owner", "on\ntrack", "Old → new", "Days"]
HEADERS = st.sampled_from([*NAMES, "", "[x]", "A:b"])


@st.composite
def tables(draw: Any) -> FittedTable:
    """Half of them plain (every cell printable text, left or right): those are joined
    unless a cell must wrap; the rest mostly go to Rich."""
    plain = draw(st.booleans())
    count = draw(st.integers(1, 4))
    rows = draw(st.integers(0, 5))
    columns = []
    names: list[str] = []
    for _ in range(count):
        name = draw(st.sampled_from(NAMES) if plain else HEADERS)
        names.append(name)
        cells = [Text(draw(PLAIN if plain else TEXTS), style=draw(st.sampled_from(["", "red"])))
                 for _ in range(rows)]  # fmt: skip
        ways = [{}, {"justify": "right"}] + ([] if plain else [{"justify": "center"}])
        justify = draw(st.sampled_from(ways))
        if draw(st.booleans()):
            columns.append(keep_column(name, cells, **justify))
        else:
            columns.append(wrap_column(name, cells, **justify))
    sections = draw(st.lists(st.integers(0, rows), max_size=2))
    return FittedTable(
        columns,
        draw(st.lists(st.sampled_from(names), max_size=2)),
        gap=draw(st.integers(1, 3)),
        sections=sections,
        row_styles=draw(st.lists(st.sampled_from(["", "bold"]), max_size=rows)),
    )


def _print(table: FittedTable, width: int) -> str:
    buffer = StringIO()
    Console(
        file=buffer, width=width, color_system=None, no_color=True, highlight=False, emoji=False
    ).print(table)
    return buffer.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), width=st.integers(8, 120) | st.just(100))
def test_plain_tables_are_drawn_as_rich_draws_them(table: FittedTable, width: int) -> None:
    fast = _print(table, width), renderable_to_text(table, width=width)
    kept, widths, _ = table.layout(width)
    console = Console(file=StringIO(), width=width, color_system=None)
    event("joined" if table.plain_lines(console, console.options, kept, widths) else "by Rich")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FittedTable, "plain_lines", lambda *args: None)
        assert (_print(table, width), renderable_to_text(table, width=width)) == fast


def _report_like() -> FittedTable:
    return FittedTable(
        [
            wrap_column("KPI", [Text.assemble(("kpi-1", "bold"), "\n", ("Name", "dim"))]),
            wrap_column("Owner", [Text("Finance")]),
            keep_column("Progress", [Text("18%")], justify="right"),
        ],
        ("Owner",),
    )


def test_a_table_without_colour_is_joined_not_laid_out_by_rich() -> None:
    """The fast path is taken for the usual table (id and name, owner, a number)."""
    table = _report_like()
    console = Console(file=StringIO(), width=80, color_system=None)
    kept, widths, _ = table.layout(80)
    lines = table.plain_lines(console, console.options, kept, widths)
    assert lines == [
        "KPI    Owner    Progress",
        "────────────────────────",
        "kpi-1  Finance       18%",
        "Name                    ",
    ]
    assert _print(table, 80) == "".join(line + "\n" for line in lines)


def test_colour_a_title_or_a_wrapping_cell_is_left_to_rich() -> None:
    table = _report_like()
    kept, widths, _ = table.layout(80)
    colour = Console(file=StringIO(), width=80, color_system="truecolor", force_terminal=True)
    assert table.plain_lines(colour, colour.options, kept, widths) is None
    plain = Console(file=StringIO(), width=80, color_system=None)
    titled = FittedTable(table.columns, (), title="T")
    assert titled.plain_lines(plain, plain.options, kept, widths) is None
    narrow = [widths[0] - 1, *widths[1:]]  # the KPI column wraps: Rich's wrapping of it
    assert table.plain_lines(plain, plain.options, kept, narrow) == [
        "KPI   Owner    Progress",
        "───────────────────────",
        "kpi-  Finance       18%",
        "1                      ",
        "Name                   ",
    ]
    narrow = [*widths[:2], widths[2] - 5]  # a column that never wraps is too narrow
    assert table.plain_lines(plain, plain.options, kept, narrow) is None
    wild = FittedTable([keep_column("KPI", [Text("a\tb")])], ())
    assert wild.plain_lines(plain, plain.options, *wild.layout(80)[:2]) is None
