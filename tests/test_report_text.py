"""The report's plain text drawn from strings (`report_text.plain_text`: the mail's text
part) against Rich's drawing of the same report (`renderable_to_text(report_rich.report)`),
which it replaces when it can: the same text, or None."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from report_fixtures import AS_OF, CONFIG, SINCE, build_workspace
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from support import invoke

from kpitrack.commands.output import renderable_to_text
from kpitrack.commands.report import plain_report
from kpitrack.domain.workspace import Workspace
from kpitrack.git.changes import Change, DefinitionChanges
from kpitrack.render import report_text
from kpitrack.render.report_html import render_report_html
from kpitrack.render.report_rich import render_report_rich
from kpitrack.render.report_text import NARROW, plain_text, wrap_line
from kpitrack.reports.digest import Report, build_report

# Letters and signs of the scripts the fast path measures as one cell each.
LATIN = "éüßÇñøÅĳŒΩλЖжё€£¿«»‘’“”•‰№™←↔∑∞├■★✓✗"
# Words of every kind the fast path handles (ASCII, the report's own non-ASCII signs,
# brackets and colons, long words that fold) and some it hands to Rich (wide, zero-width
# and control characters).
WORD = st.text(
    alphabet=st.sampled_from("abcdefghijKLM0123.,;:-_[]()/|<>&'\"" + NARROW + LATIN),
    min_size=1,
    max_size=12,
)
PLAIN = st.lists(WORD, max_size=6).map(" ".join) | st.lists(WORD, max_size=3).map("  ".join)
ODD = st.text(
    alphabet=st.sampled_from("ab 漢字😀\u200d\ufe0f\x1b\x07\t\u00a0\u202e\u0301é"), max_size=12
)
LONG = st.one_of(PLAIN, st.just("x" * 90), st.just(" lead  and  trail  "))
ANY_WORDS = st.one_of(LONG, ODD)


def _console(width: int) -> Console:
    return Console(width=width, color_system=None, no_color=True, highlight=False, emoji=False)


def _rich(report: Report, width: int) -> str:
    return renderable_to_text(render_report_rich(report), width=width)


def _report(workspace: Workspace | None = None, **changes: object) -> Report:
    report = build_report(workspace or build_workspace(), as_of=AS_OF, since=SINCE, config=CONFIG)
    return dataclasses.replace(report, **changes) if changes else report


@st.composite
def workspaces(draw: st.DrawFn) -> Workspace:
    """The fixture's workspace with generated free text: every text plain (the fast
    path), or any text (Rich's)."""
    words = draw(st.sampled_from([PLAIN, PLAIN, PLAIN, PLAIN, LONG, ANY_WORDS]))
    ws = build_workspace()
    kpis = tuple(
        dataclasses.replace(
            k,
            name=draw(words) or k.name,
            owner=draw(st.one_of(st.none(), words)),
            action=draw(st.one_of(st.none(), words)),
        )
        for k in ws.kpis
    )
    objectives = tuple(dataclasses.replace(o, title=draw(words) or o.title) for o in ws.objectives)
    measurements = tuple(
        dataclasses.replace(m, note=draw(st.one_of(st.none(), words)), by=draw(words) or None)
        for m in ws.measurements
    )
    return Workspace(objectives=objectives, kpis=kpis, measurements=measurements)


@st.composite
def definitions(draw: st.DrawFn) -> DefinitionChanges | None:
    kind = draw(st.sampled_from(["none", "unavailable", "empty", "rows"]))
    if kind == "none":
        return None
    if kind == "unavailable":
        return DefinitionChanges("2026-11-23", unavailable=draw(LONG))
    if kind == "empty":
        return DefinitionChanges("2026-11-23")
    rows = draw(
        st.lists(
            st.builds(
                Change,
                commit=st.sampled_from(["abc1234", "0f0f0f0"]),
                date=st.just("2026-11-24"),
                author=PLAIN,
                kpi=st.sampled_from(["csat", "nps", "a-very-long-kpi-identifier-here"]),
                field=st.sampled_from(["target", "name", "due"]),
                old=st.one_of(st.none(), LONG),
                new=st.one_of(st.none(), LONG),
                moved_goalpost=st.booleans(),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return DefinitionChanges("2026-11-23", changes=tuple(rows))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    workspaces(),
    definitions(),
    st.integers(min_value=8, max_value=130) | st.integers(min_value=70, max_value=130),
)
def test_plain_text_is_richs_text_or_none(
    workspace: Workspace, defs: DefinitionChanges | None, width: int
) -> None:
    report = _report(workspace, definitions=defs)
    expected = _rich(report, width)
    fast = plain_text(report, width, cell_len)
    event("drawn without Rich" if fast is not None else "drawn by Rich")
    if fast is not None:
        assert fast == expected
    assert plain_report(report, width) == expected


@pytest.mark.parametrize("width", [60, 78, 100, 160])
def test_the_fixture_report_takes_the_fast_path(width: int) -> None:
    report = _report(
        definitions=DefinitionChanges(
            "2026-11-23",
            changes=(Change("abc1234", "2026-11-24", "ana", "csat", "target", "good", "fair"),),
        )
    )
    fast = plain_text(report, width, cell_len)
    assert fast is not None
    assert fast == _rich(report, width)


@pytest.mark.parametrize(
    "name",
    [
        "漢字の名前",
        "done ✅",
        "star ⭐ wide",
        "emoji 😀 name",
        "bell \x07 name",
        "rtl \u202e name",
        "zero\u200bwidth",
        "e\u0301",
    ],
)
def test_text_only_rich_measures_falls_back_to_rich(name: str) -> None:
    ws = build_workspace()
    kpis = tuple(dataclasses.replace(k, name=name) for k in ws.kpis)
    report = _report(dataclasses.replace(ws, kpis=kpis))
    assert plain_text(report, 78, cell_len) is None
    assert plain_report(report, 78) == _rich(report, 78)


def test_too_narrow_a_table_falls_back_to_rich() -> None:
    report = _report()
    assert plain_text(report, 12, cell_len) is None
    assert plain_report(report, 12) == _rich(report, 12)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab cdefgh  xyz-" + NARROW + LATIN), max_size=80),
    st.integers(min_value=1, max_value=30),
    st.sampled_from(["left", "default"]),
)
def test_wrap_line_is_richs_wrap(
    line: str, width: int, justify: Literal["left", "default"]
) -> None:
    console = _console(width)
    lines = Text(line).wrap(console, width, justify=justify, overflow="fold")
    expected = [part.plain for part in lines]
    ours = wrap_line(line, width)
    if justify == "left":
        ours = [piece + " " * (width - len(piece)) for piece in ours]
    assert ours == expected


def test_narrow_characters_are_one_cell() -> None:
    assert all(cell_len(ch) == 1 for ch in NARROW + LATIN)
    assert plain_text(_report(), 78) is not None


# ---------------------------------------------------------------- golden files

# The fixture report, plain and with hostile text, as the renderers drew it before the
# text was drawn without Rich and the HTML page's tables were built once per column
# (`KPITRACK_UPDATE_GOLDEN=1` rewrites them).
GOLDEN = Path(__file__).parent / "data" / "report"


def _golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if os.environ.get("KPITRACK_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("hostile", [False, True])
def test_html_and_text_are_the_golden_files(hostile: bool) -> None:
    from test_report_render import nasty_workspace

    name = "nasty" if hostile else "report"
    report = _report(nasty_workspace() if hostile else None)
    assert render_report_html(report) == _golden(f"{name}.html", render_report_html(report))
    text = _golden(f"{name}.txt", _rich(report, 78))
    assert _rich(report, 78) == text
    assert plain_report(report, 78) == text
    if not hostile:
        assert plain_text(report, 78, cell_len) == text


# ---------------------------------------------------------------- through the CLI

REPORT_DATA = Path(__file__).parent / "data" / "report" / "kpis.yaml"


def _cli(tmp_path: Path, *args: str) -> tuple[str, str]:
    """stdout, and the text of `-o FILE`, of `report` on the report test workspace."""
    out = tmp_path / "report.out"
    out.unlink(missing_ok=True)
    common = ["report", "-f", str(REPORT_DATA), "--as-of", "2026-11-30", *args]
    shown = invoke(*common, env={"EMAIL": "kpis@example.net"})
    assert shown.code == 0, shown.stderr
    written = invoke(*common, "-o", str(out), env={"EMAIL": "kpis@example.net"})
    assert written.code == 0, written.stderr
    return shown.stdout, out.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", [["text"], ["email", "--mail-to", "team@example.com"]])
def test_the_cli_writes_the_same_text_with_and_without_rich(
    fmt: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    calls: list[int] = []
    real = report_text.plain_text

    def counted(report: Report, width: int, measure: report_text.Measure | None) -> str | None:
        calls.append(width)
        return real(report, width, measure)

    monkeypatch.setattr(report_text, "plain_text", counted)
    fast = _cli(tmp_path, "--format", *fmt)
    assert calls == [100 if fmt[0] == "text" else 78] * 2  # the plain text was drawn
    monkeypatch.setattr(report_text, "plain_text", lambda report, width, measure: None)
    slow = _cli(tmp_path, "--format", *fmt)

    def pinned(text: str) -> str:
        """The mail without what differs between two runs: Date, Message-ID, boundary."""
        text = re.sub(r"(?m)^(Date|Message-ID): .*$", r"\1: -", text)
        return re.sub(r"=+[0-9]{10,}==", "BOUNDARY", text)

    assert [pinned(t) for t in fast] == [pinned(t) for t in slow]
    assert fast[0] == fast[1] or fmt[0] == "email"


@pytest.mark.parametrize("name", ["José Müller", "Ελένη Π.", "Жанна — «отдел»", "Øre € 5‰"])
def test_names_in_latin_greek_and_cyrillic_keep_the_plain_path(name: str) -> None:
    ws = build_workspace()
    kpis = tuple(dataclasses.replace(k, name=name, owner=name) for k in ws.kpis)
    report = _report(dataclasses.replace(ws, kpis=kpis))
    for width in (60, 78, 100):
        fast = plain_text(report, width, cell_len)
        assert fast is not None
        assert fast == _rich(report, width)


def test_without_a_measure_only_ascii_and_the_reports_signs_are_plain() -> None:
    ws = build_workspace()
    kpis = tuple(dataclasses.replace(k, name="José") for k in ws.kpis)
    accented = _report(dataclasses.replace(ws, kpis=kpis))
    assert plain_text(accented, 78) is None
    assert plain_text(accented, 78, cell_len) == _rich(accented, 78)
    assert plain_text(_report(), 78) == _rich(_report(), 78)
