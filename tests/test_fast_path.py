"""The fast reader (measurements as rows, straight from libyaml's events) must give exactly
what the straightforward reader (a node per value) gives: same model, same problems with
the same lines and columns, on the sample, the test workspaces and generated ones."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SAMPLE_DATE as AS_OF

from kpitrack.domain.problems import Problem
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate, evaluate_kpi
from kpitrack.reading import loading, yamlnodes
from kpitrack.reading.config import Config
from kpitrack.reading.yamlnodes import Node, Scalar, Seq, parse_rows, scan_rows

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = 500 if os.environ.get("CI") == "true" else 100


@pytest.fixture(autouse=True)
def _scan_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "SCAN_MIN_CHARS", 0)  # the generated files are small


def both(sources: Sequence[tuple[str, str]]) -> tuple[tuple[Workspace, list[Problem]], ...]:
    fast = loading.load_texts(sources, config=Config(), as_of=AS_OF)
    saved = loading.parse_rows, loading.scan_rows
    loading.parse_rows = loading.scan_rows = lambda *args: None  # type: ignore[assignment]
    try:
        straight = loading.load_texts(sources, config=Config(), as_of=AS_OF)
    finally:
        loading.parse_rows, loading.scan_rows = saved
    return fast, straight


def assert_same(sources: Sequence[tuple[str, str]]) -> None:
    (fast_ws, fast_problems), (ws, problems) = both(sources)
    assert fast_problems == problems
    assert fast_ws == ws
    # Field by field too: equality of the dataclasses compares loc and order as well.
    assert [
        (m.kpi, m.date, m.value, m.note, m.by, m.loc, m.order) for m in fast_ws.measurements
    ] == [(m.kpi, m.date, m.value, m.note, m.by, m.loc, m.order) for m in ws.measurements]
    # Evaluation on the stored columns equals evaluation from plain Measurement objects.
    # (Drivers' statuses and events come from the workspace, not the KPI's measurements.)
    plain = tuple(fast_ws.measurements)
    assert [
        dataclasses.replace(r, drivers=(), events=()) for r in evaluate(fast_ws, as_of=AS_OF)
    ] == [evaluate_kpi(kpi, plain, as_of=AS_OF) for kpi in fast_ws.kpis]


def test_sample_and_test_workspaces_agree() -> None:
    files = [ROOT / "sample_kpis.yaml", *sorted((ROOT / "tests" / "data").rglob("*.yaml"))]
    assert len(files) >= 5
    for path in files:
        assert_same([(str(path), path.read_text(encoding="utf-8"))])
    assert_same([(str(p), p.read_text(encoding="utf-8")) for p in files])


def test_the_sample_is_read_as_rows() -> None:
    text = (ROOT / "sample_kpis.yaml").read_text(encoding="utf-8")
    fast = parse_rows(text, "sample_kpis.yaml")
    assert fast is not None
    _, rows = fast
    lines = text.splitlines()
    first = next(n for n, line in enumerate(lines, 1) if "{kpi: mrr, date: 2026-01-31" in line)
    assert rows and rows[0][:5] == (first, 5, "mrr", "2026-01-31", "121500")


@pytest.mark.parametrize(
    "entry",
    [
        "{kpi: a, date: 2026-01-31, value: 1, extra: 2}",  # unknown key
        "{kpi: a, date: 2026-01-31, value: 1, value: 2}",  # duplicate key
        "{kpi: a, date: 2026-01-31, value: [1]}",  # not a scalar
        "{kpi: a, date: 2026-01-31, value: &x 1}",  # anchor
        "{kpi: a, date: 2026-01-31, value: !!str 1}",  # tag
        "{kpi: a, date: 2026-01-31}",  # missing value
        "[a, 2026-01-31, 1]",  # not a mapping
    ],
)
def test_unusual_entries_go_to_the_full_reader(entry: str) -> None:
    assert parse_rows(f"measurements:\n  - {entry}\n", "m.yaml") is None


def test_a_second_measurements_list_goes_to_the_full_reader() -> None:
    text = "measurements:\n  - {kpi: a, date: 2026-01-31, value: 1}\nmeasurements: []\n"
    assert parse_rows(text, "m.yaml") is None


KPIS = """\
kpis:
  - {id: n, name: N, measure: m, target: 10, frequency: monthly}
  - {id: p, name: P, kind: progress, measure: m, frequency: monthly}
  - id: q
    name: Q
    kind: qualitative
    scale: [bad, ok, "~", good]
    target: good
    measure: m
    frequency: weekly
"""

_VALUES = st.sampled_from(
    ["5", "12.5", "-3", "150", "1e400", "0x10", '"7"', "''", "~", "null", "yes", "good",
     "ok", "'good'", "bad", "'~'", "~", ".nan", "1_000", "[1]", "{a: 1}"]
)  # fmt: skip
_KPIS = st.sampled_from(["n", "p", "q", "zz", '"n"', "''", "N"])
_DATES = st.sampled_from(
    ["2026-01-31", "2026-02-30", "2026-10-01", "'2026-03-01'", "2026-1-1", "~", "2027-01-01"]
)
_TEXTS = st.sampled_from(
    ["", "x", "~", "''", "hello world", "null", '"quoted"', "café ✓", "'it''s'", '"a\\"b\\u00e9"',
     '"\\q"', "Zoë, Jürgen"]
)  # fmt: skip


# Per KPI: valid values, and near misses the fast path must refuse (last ones).
_VALID = {
    "n": ["5", "12.5", "-3", "1e3", "0", "'5'", "~", ".nan", "1e400", "''"],
    "p": ["0", "50", "100", "99.5", "150", "-1", "100.01"],
    "q": ["bad", "ok", "good", "'~'", "'ok'", "~", "great", "''"],
}


@st.composite
def entries(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) < 8:  # mostly valid, so that whole files take the fast path
        kpi = draw(st.sampled_from(sorted(_VALID)))
        value = draw(st.sampled_from(_VALID[kpi]))
        date = draw(st.sampled_from(["2026-01-31", "2026-10-01", "2027-01-01", "2026-02-30"]))
        fields = [("kpi", kpi), ("date", date), ("value", value)]
    else:
        fields = [("kpi", draw(_KPIS)), ("date", draw(_DATES)), ("value", draw(_VALUES))]
    if draw(st.booleans()):
        fields.append(("note", draw(_TEXTS)))
    if draw(st.booleans()):
        fields.append(("by", draw(_TEXTS)))
    if draw(st.integers(0, 19)) == 0:
        fields.append(draw(st.sampled_from([("extra", "1"), ("kpi", "n"), ("value", "1")])))
    if draw(st.integers(0, 19)) == 0:
        fields.pop(draw(st.integers(0, len(fields) - 1)))
    fields = draw(st.permutations(fields))
    if draw(st.booleans()):
        return "  - {" + ", ".join(f"{k}: {v}" for k, v in fields) + "}\n"
    if not fields:
        return "  - {}\n"
    lines = [f"{k}: {v}" for k, v in fields]
    return "  - " + "\n    ".join(lines) + "\n"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(st.lists(entries(), min_size=0, max_size=6), min_size=1, max_size=3),
    kpis_first=st.booleans(),
    extra=st.sampled_from(["", "# a comment\n", "objectives: []\n", "measurements: oops\n"]),
    crlf=st.sampled_from([False, False, True]),
)
def test_generated_workspaces_agree(
    files: list[list[str]], kpis_first: bool, extra: str, crlf: bool
) -> None:
    sources = [(f"m{i}.yaml", "measurements:\n" + "".join(body)) for i, body in enumerate(files)]
    sources[-1] = (sources[-1][0], sources[-1][1] + extra)
    if crlf:
        sources = [(name, text.replace("\n", "\r\n")) for name, text in sources]
    kpis = ("kpis.yaml", KPIS)
    assert_same([kpis, *sources] if kpis_first else [*sources, kpis])


def test_remembered_parses_follow_the_exact_text() -> None:
    """With a memo, load_texts reuses the previous load's parse of an unchanged file,
    never of a changed one; without one it remembers nothing."""
    good = KPIS + "measurements:\n  - {kpi: n, date: 2026-01-31, value: 5}\n"
    bad = KPIS + "measurements:\n  - {kpi: n, date: 2026-01-31, value: five}\n"
    other = ("m.yaml", "measurements:\n  - {kpi: p, date: 2026-02-28, value: 40}\n")
    memo: loading.ParseMemo = {}
    kept = None
    for text, errors, count in ((good, 0, 2), (bad, 1, 1), (bad, 1, 1), (good, 0, 2)):
        ws, problems = loading.load_texts(
            [("kpis.yaml", text), other], config=Config(), as_of=AS_OF, memo=memo
        )
        assert len([p for p in problems if p.is_error]) == errors
        assert len(ws.measurements) == count
        if errors:
            error = next(p for p in problems if p.is_error)
            assert (error.line, error.column, error.code) == (12, 39, "KT016")
        assert set(memo) == {("kpis.yaml", text), other}
        assert kept is None or memo[other] is kept  # the unchanged file was not parsed again
        kept = memo[other]
    # A changed file under the same name, and a file renamed with the same text.
    ws, _ = loading.load_texts(
        [("kpis.yaml", good), ("m.yaml", other[1].replace("40", "41"))],
        config=Config(),
        as_of=AS_OF,
        memo=memo,
    )
    assert [m.value for m in ws.measurements] == [5.0, 41.0]
    ws, _ = loading.load_texts(
        [("kpis.yaml", good), ("n.yaml", other[1])], config=Config(), as_of=AS_OF, memo=memo
    )
    assert ws.measurements[-1].loc.path == "n.yaml"
    assert set(memo) == {("kpis.yaml", good), ("n.yaml", other[1])}


# ---------------------------------------------------------------- the line scanner


def _shape(node: Node | None) -> object:
    """A node tree as plain data: kind, text, start and end."""
    if node is None:
        return None
    where = (node.line, node.column, node.end_line, node.end_column)
    if isinstance(node, Scalar):
        return ("scalar", node.text, node.plain, where)
    if isinstance(node, Seq):
        return ("seq", node.flow, where, [_shape(i) for i in node.items])
    return ("map", node.flow, where, [(_shape(k), _shape(v)) for k, v in node.items])


def assert_scanned_like_parsed(text: str) -> bool:
    """scan_rows gives exactly parse_rows' rows and root, or declines; True if it read."""
    scanned = scan_rows(text, "m.yaml")
    if scanned is None:
        return False
    parsed = parse_rows(text, "m.yaml")
    assert parsed is not None
    assert list(scanned[1]) == list(parsed[1])
    assert _shape(scanned[0]) == _shape(parsed[0])
    return True


def test_the_record_style_is_scanned_without_libyaml() -> None:
    text = (
        "# written by record\n"
        "measurements:  # comment\n"
        "  - {kpi: mrr, date: 2026-01-31, value: 121500, by: ana}\n"
        "\n"
        "  # a comment line\n"
        "  - {kpi: mrr, date: 2026-02-28, value: -3.5e2, note: late import, by: null}\n"
        "  - {kpi: nps, date: 2026-02-28, value: good, note: ok}   # trailing\n"
    )
    assert assert_scanned_like_parsed(text)
    _, rows = scan_rows(text, "m.yaml") or (None, [])
    assert [r[:2] for r in rows] == [(3, 5), (6, 5), (7, 5)]
    assert rows[1][6:] == ("late import", None)


def test_quoted_notes_as_record_writes_them_are_scanned() -> None:
    """`record --note` quotes a note with commas, colons or a YAML word: such a file is
    still read line by line, and gives the event reader's rows."""
    text = (
        "measurements:\n"
        '  - {kpi: mrr, date: 2026-01-31, value: 1, note: "Q3 close, adjusted: +2%", by: ana}\n'
        '  - {kpi: mrr, date: 2026-02-28, value: 2, note: "null", by: ""}\n'
        "  - {kpi: mrr, date: 2026-03-31, value: 3, note: it's (est.) 5%}\n"
    )
    assert assert_scanned_like_parsed(text)
    _, rows = scan_rows(text, "m.yaml") or (None, [])
    assert [r[6:] for r in rows] == [
        ("Q3 close, adjusted: +2%", "ana"),
        ("null", None),
        ("it's (est.) 5%", None),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "measurements:\n  - {kpi: a, date: 2026-01-31, value: 1}",  # no final line feed
        "measurements:\n  - {kpi: a, date: 2026-01-31, value: 1}\n - {kpi: a, date: x, value: 1}\n",
        "measurements:\n  - {kpi: a, value: 1, date: 2026-01-31}\n",  # another key order
        "measurements:\r  - {kpi: a, date: 2026-01-31, value: 1}\r",  # CR alone
        'measurements:\n  - {kpi: a, date: 2026-01-31, value: 1, note: "\\q"}\n',
        'measurements:\n  - {kpi: a, date: 2026-01-31, value: 1, note: "\\ud800"}\n',
        "measurements:\n  - {kpi: a, date: 2026-01-31, value: 1, note: a\u2028b}\n",
        "measurements:\n  - {kpi: a, date: 2026-01-31, value: 1, note: a\x85b}\n",
        "measurements:\n  - kpi: a\n    value: 1\n    date: 2026-01-31\n",  # key order
        "measurements:\n  - kpi: a\n    date: 2026-01-31\n    value: 1\n      more\n",
        "measurements:\n  - kpi: a\n    date: 2026-01-31\n    value: 1\n    extra: 2\n",
        "measurements:\n  - kpi: a\n    # c\n    date: 2026-01-31\n    value: 1\n",
        "measurements:\n  - kpi: a\n   date: 2026-01-31\n   value: 1\n",  # misaligned
        "measurements:\n  - kpi: a\n    date: 2026-01-31\n    value:\n",  # empty value
        "measurements:\n  - kpi: a\n    date: 2026-01-31\n    value: 1\n    note: x\n"
        "    by: y\n    by: z\n",
        "measurements:\n\t- {kpi: a, date: 2026-01-31, value: 1}\n",
        "measurements:\n",
        "---\nmeasurements:\n  - {kpi: a, date: 2026-01-31, value: 1}\n",
        "  - {kpi: a, date: 2026-01-31, value: 1}\nmeasurements:\n",
        "measurements:\n  - {kpi: a, date: 2026-01-31, value: 1}\nmeasurements:\n",
        "kpis: []\nmeasurements:\n  - {kpi: a, date: 2026-01-31, value: 1}\n",
        "measurements:\n  - {kpi: a, date: 2026-01-31, value: 1}#x\n",
    ],
)
def test_other_shapes_are_left_to_the_yaml_readers(text: str) -> None:
    assert scan_rows(text, "m.yaml") is None


@pytest.mark.parametrize(
    "text",
    [
        "measurements:\r\n  - {kpi: a, date: 2026-01-31, value: 1}\r\n",
        "measurements:\n  - {kpi: a, date: 2026-01-31, value: '1'}\n",
        "measurements:\n  - {kpi: a, date: 2026-01-31, value: 1, note: café au lait}\n",
        "measurements:\n  - {kpi: a, date: '2026-01-31', value: 1, note: 'it''s', by: \"Zoë\"}\n",
        "# Ünïcödé\nmeasurements:\n"
        '  - {kpi: a, date: 2026-01-31, value: 1, note: "a\\"b\\u00e9\\n"}\n',
        "measurements:\n  - kpi: a\n    date: 2026-01-31\n    value: 1\n",
        "measurements:\n- kpi: a  # first\n  date: 2026-01-31\n  value: -1.5  # est.\n"
        "  note: late, adjusted [Q3] {x}\n  by: Zoë\n\n# next\n- kpi: b\n  date: 2026-02-28\n"
        "  value: '7'\n  by: \"ana\"\n",
        "measurements:\r\n  - kpi: a\r\n    date: 2026-01-31\r\n    value: 1\r\n"
        "    note: null\r\n  - {kpi: a, date: 2026-02-28, value: 2}\r\n",
    ],
)
def test_hand_written_shapes_are_scanned_like_the_event_reader_reads_them(text: str) -> None:
    assert assert_scanned_like_parsed(text)


_GOOD_WORDS = st.sampled_from(
    ["a", "kpi-1", "2026-01-31", "2026-02-30", "5", "-3", "1e400", "-0", "null", "Null",
     "good", "two words", "x_y.z@w/v+u", "yes", "1_000", "it's (est.) 5% a=b; $3",
     '"quoted, with: #specials {}[]"', '""', '"null"', '"~"', '" pad "', "'single'",
     "café", "Zoë Ünal", "日本語", "\xa0nbsp", "emoji \U0001f600", "''", "'it''s'",
     "'2026-01-31'", '"2026-01-31"', '"5"', "'5'", '"a\\"b"', '"tab\\tnew\\nline"',
     '"\\u00e9\\x41\\U0001F600\\N\\_\\L\\P\\e\\0\\ \\/\\\\"', "'x, y: #z'", '"é, ü"']
)  # fmt: skip
_ODD_WORDS = st.sampled_from(
    ["~", "-", "- a", "a:b", "a #b", "a,b", "'q'", '"q"', "[1]", "{}", "", "é", "a  b",
     ".5", "#", "a ", "!x", "&a", "*a", '"a\\"b"', '"é"', '"a\\nb"', "a?b", "(x", "%x",
     "a ?", "'", "a'b'", '"\\q"', '"\\ud800"', '"\\x4"', "a\u2028b", "a\x85b", "\ufeffa",
     "a]b", "x{y}", "a, b", ",a", "]a", "a\tb", "'a\tb'", "a#b", '"a', "'a''", "-x", "--",
     "a: b", "a:", "?a", "|", ">", "@a", "`a"]
)  # fmt: skip
_WORDS = st.one_of(_GOOD_WORDS, _GOOD_WORDS, _GOOD_WORDS, _GOOD_WORDS, _ODD_WORDS)


@st.composite
def scanned_lines(draw: st.DrawFn) -> str:
    roll = draw(st.integers(0, 19))
    if roll < 18:
        indent = draw(st.sampled_from(["  "] * 12 + [" ", "", "    "]))
        words = _GOOD_WORDS if draw(st.integers(0, 9)) < 8 else _WORDS
        fields = [("kpi", draw(words)), ("date", draw(words)), ("value", draw(words))]
        if draw(st.booleans()):
            fields.append(("note", draw(words)))
        if draw(st.booleans()):
            fields.append(("by", draw(words)))
        if draw(st.integers(0, 19)) == 0:
            fields = draw(st.permutations(fields))
        tails = st.sampled_from(["", "", "", "", "", " ", "  # c", "#c", " #", " # é\t"])
        if draw(st.booleans()):  # block style: a key a line
            keys = [f"{k}: {v}{draw(tails)}" for k, v in fields]
            if draw(st.integers(0, 9)) == 0:  # misaligned, a comment or a continuation
                where = draw(st.integers(1, len(keys)))
                keys.insert(where, draw(st.sampled_from(["   x: 1", "  # c", "  more", ""])))
            return f"{indent}- " + "".join(f"{k}\n{indent}  " for k in keys)[: -len(indent) - 2]
        tail = draw(tails)
        return f"{indent}- {{{', '.join(f'{k}: {v}' for k, v in fields)}}}{tail}\n"
    return draw(
        st.sampled_from(
            ["\n", "# c\n", "  # c\n", "   \n", "measurements:\n", "kpis:\n", "---\n",
             "  - {kpi: a, date: 2026-01-31, value: 1}\r\n", "\t\n", "x: 1\n", "# ü\n"]
        )
    )  # fmt: skip


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(
    head=st.sampled_from(["measurements:\n", "# c\nmeasurements: # c\n", "measurements: \n"]),
    lines=st.lists(scanned_lines(), max_size=8),
    crlf=st.sampled_from([False, False, True]),
)
def test_scanned_files_agree_with_the_event_reader(head: str, lines: list[str], crlf: bool) -> None:
    text = head + "".join(lines)
    if crlf:
        text = text.replace("\n", "\r\n")
    assert_scanned_like_parsed(text)


@settings(max_examples=EXAMPLES, deadline=None)
@given(lines=st.lists(scanned_lines(), min_size=1, max_size=6))
def test_hand_written_shapes_are_mostly_scanned(lines: list[str]) -> None:
    """Not a correctness property (declining is always correct) but the speed one: of
    generated files whose every entry is good, the scanner reads them all."""
    text = "measurements:\n" + "".join(lines)
    good = all(
        line.lstrip().startswith("- ") and scan_rows("measurements:\n" + line, "m.yaml")
        for line in lines
    )
    if good and len({len(x) - len(x.lstrip(" ")) for x in lines}) == 1:
        assert assert_scanned_like_parsed(text)


def _generate() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    return generate


@pytest.mark.parametrize("shape", _generate().SHAPES)
def test_generated_benchmark_files_are_scanned(tmp_path: Path, shape: str) -> None:
    """Every benchmarked shape, record's and the hand-written ones, is read by the scanner."""
    ws = _generate().generate(tmp_path, kpis=12, measurements=600, journal=False, shape=shape)
    files = sorted((ws / "measurements").rglob("*.yaml"))
    assert files
    for path in files:
        assert assert_scanned_like_parsed(path.read_bytes().decode("utf-8"))
    assert_same([(str(p), p.read_text(encoding="utf-8")) for p in sorted(ws.rglob("*.yaml"))])


_SPECIAL = [*range(0x80, 0x100), *range(0x2026, 0x202B), 0xD7FF, 0xD800, 0xDFFF, 0xE000,
            *range(0xFEFE, 0xFF01), *range(0xFFFC, 0x10001), 0x1F600, 0x10FFFF]  # fmt: skip


@pytest.mark.parametrize("code", _SPECIAL, ids=hex)
def test_every_kind_of_non_ascii_character_is_scanned_as_libyaml_reads_it(code: int) -> None:
    """The scanner's classes let any non-ASCII character through and decline a text that
    holds one YAML does not print (C1 controls, NEL, LS, PS, BOM, U+FFFE/FFFF, a lone
    surrogate): in plain and quoted scalars, block entries and comments alike."""
    c = chr(code)
    printable = code >= 0xA0 and code not in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
    printable = printable and not 0xD800 <= code <= 0xDFFF
    for entry in (
        f"  - {{kpi: a, date: 2026-01-31, value: 1, note: x{c}y}}  # {c}\n",
        f"  - {{kpi: a, date: 2026-01-31, value: 1, note: \"{c}\", by: '{c}'}}\n",
        f"  - kpi: a\n    date: 2026-01-31\n    value: 1\n    note: {c}x, y  # {c}\n",
    ):
        assert assert_scanned_like_parsed("measurements:\n" + entry) is printable


def test_a_valid_load_skips_the_warning_rules_an_invalid_one_reports_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """load_valid_workspace (every evaluating command) discards warnings: the workspace
    rules, which give only warnings, run only when an error is reported with them."""
    good = tmp_path / "good.yaml"
    good.write_text(KPIS + "measurements:\n  - {kpi: n, date: 2099-01-31, value: 5}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(KPIS + "measurements:\n  - {kpi: n, date: 2099-01-31, value: five}\n")
    assert all(not r.__name__.startswith("_") for r in loading.rules.WORKSPACE_RULES)
    _, expected = loading.load_workspace([bad], config=Config(), as_of=AS_OF)
    assert {p.code for p in expected} >= {"KT016", "KT101"}  # an error and warnings
    ws, warned = loading.load_workspace([good], config=Config(), as_of=AS_OF)
    assert warned and not any(p.is_error for p in warned)
    calls: list[int] = []
    check = loading.rules.check_workspace

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return check(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loading.rules, "check_workspace", counted)
    assert loading.load_valid_workspace([good], config=Config(), as_of=AS_OF) == ws
    assert calls == []
    with pytest.raises(loading.InvalidWorkspaceError) as raised:
        loading.load_valid_workspace([bad], config=Config(), as_of=AS_OF)
    assert raised.value.problems == expected and calls == [1]


# ---------------------------------------------------------------- files of block entries
# A file whose first entry is a block entry is read by `_scan_block` (one findall over a
# pattern of block entries and comment lines); `_scan_lines` (every shape, a match object
# a line) decides whenever it declines. Both must give parse_rows' rows, or decline.

_BLOCK_VALUES = {
    "kpi": ["kpi-1", "n", "'n'", '"q"', "two words", "Zoë"],
    "date": ["2026-01-31", "'2026-01-31'", '"2026-02-28"', "2026-02-30", "Null"],
    "value": ["5", "-1.5", "'7'", '"good"', "1e400", "null", "-x", "ok [x] {y}"],
    "note": ['"Zoë: \\"ok\\""', "late, adjusted [Q3] {x}", "''", "'it''s'", "Null", "null",
             '"tab\\tnew\\nline \\u00e9"', "café ✓", '"\\q"', '"\\ud800"', "Prüfung: ok", "é"],
    "by": ["Jürgen", "ana", '""', "'x, y: #z'", "NULL", "日本語"],
}  # fmt: skip
_TAILS = ["", "", "", "", "  # 0", " # é ✓", "   ", " #"]
# Lines that are not part of a well-formed block-entry file: each must make both scanners
# decline, or be read (a flow entry) exactly as libyaml reads it.
_NEAR_MISSES = [
    "x  # c\n",
    "junk\n",
    "  x - kpi: a\n",
    "measurements:\n",
    "  - {kpi: n, date: 2026-01-31, value: 1}\n",
    "    extra: 1\n",
    "\t\n",
    "  # a\rb\n",
    " - kpi: a\n   date: 2026-01-31\n   value: 1\n",
    "  - kpi: a\n    date: 2026-01-31\n",
    "  - kpi: a\n    # c\n    date: 2026-01-31\n    value: 1\n",
    "---\n",
    "  - kpi: a#x\n    date: 2026-01-31\n    value: 1\n",
    "  - kpi: a\n    date: ~\n    value: 1\n",  # ~ (null) is left to libyaml
    "  - kpi: a\n    date: b\n    value: 1\n      more\n",
]


@st.composite
def block_entries(draw: st.DrawFn) -> str:
    fields = [(k, draw(st.sampled_from(_BLOCK_VALUES[k]))) for k in ("kpi", "date", "value")]
    for key in ("note", "by"):
        if draw(st.booleans()):
            fields.append((key, draw(st.sampled_from(_BLOCK_VALUES[key]))))
    lines = [f"{k}: {v}{draw(st.sampled_from(_TAILS))}\n" for k, v in fields]
    return "  - " + "    ".join(lines)


@st.composite
def block_files(draw: st.DrawFn) -> tuple[str, bool]:
    """A file of block entries with comment lines, and whether it holds a near miss."""
    head = draw(st.sampled_from(["measurements:\n", "# ü\n\nmeasurements:  # m\n"]))
    parts = draw(
        st.lists(
            st.one_of(
                block_entries(), block_entries(), block_entries(),
                st.sampled_from(["\n", "  # Prüfung: ok\n", "# c\n", "   \n"]),
            ),
            min_size=1, max_size=8,
        )
    )  # fmt: skip
    near = draw(st.integers(0, 3)) == 0
    if near:
        parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from(_NEAR_MISSES)))
    text = head + "".join(parts)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text, near


def _scan_both(text: str) -> tuple[object, object]:
    """_scan_block's and _scan_lines' reading of a text (None: declined or not tried)."""
    return yamlnodes._scan_block(text, "m.yaml", {}), yamlnodes._scan_lines(text, "m.yaml", {})


def _plain(found: Any) -> object:
    return None if found is None else (_shape(found[0]), list(found[1]))


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(file=block_files())
def test_block_files_are_scanned_like_the_event_reader_reads_them(file: tuple[str, bool]) -> None:
    text, near = file
    assert text.endswith("\n")
    block, lines = _scan_both(text)
    if block is not None:  # the block scan reads only what the line scan reads, the same way
        assert _plain(block) == _plain(lines)
    read = assert_scanned_like_parsed(text)
    parsed = parse_rows(text, "m.yaml")
    if not near and parsed is not None and parsed[1]:
        assert block is not None and read  # every good file of block entries: the quick way


def test_a_file_of_block_entries_never_reaches_the_line_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (
        "# by hand\r\nmeasurements:\r\n\r\n  # Prüfung: ok\r\n"
        "  - kpi: a  # 0\r\n    date: '2026-01-31'\r\n    value: 247\r\n"
        '    note: "Zoë: \\"ok\\""\r\n    by: Jürgen\r\n'
        "  - kpi: b\r\n    date: 2026-02-28\r\n    value: '7'\r\n    by: NULL\r\n"
    )
    expected = parse_rows(text, "m.yaml")
    assert expected is not None

    def refuse(*args: object) -> None:
        raise AssertionError("_scan_lines was asked")

    monkeypatch.setattr(yamlnodes, "_scan_lines", refuse)
    scanned = scan_rows(text, "m.yaml")
    assert _plain(scanned) == _plain(expected)
    assert [r[:2] for r in scanned[1]] == [(5, 5), (10, 5)]  # type: ignore[index]
    assert scanned[1][0][6:] == ('Zoë: "ok"', "Jürgen")  # type: ignore[index]


@pytest.mark.parametrize(
    "tail",
    [
        "x  # c\n",  # a comment after other text: a match that does not start the line
        "  x - kpi: b\n    date: 2026-01-31\n    value: 1\n",  # an entry not starting a line
        "  - kpi: b\n    date: 2026-01-31\n",  # no value
        "  - kpi: b\n    # c\n    date: 2026-01-31\n    value: 1\n",  # a comment inside
        " - kpi: b\n   date: 2026-01-31\n   value: 1\n",  # another indent
        "measurements:\n",  # a second key
        "  # a\rb\n",  # a CR alone
        "  - kpi: b\n    date: 2026-01-31\n    value: 1\n    note: '\\q\n",  # unclosed quote
        '  - kpi: b\n    date: 2026-01-31\n    value: 1\n    note: "\\q"\n',  # unknown escape
    ],
)
def test_near_misses_in_block_files_are_declined(tail: str) -> None:
    text = "measurements:\n  - kpi: a\n    date: 2026-01-31\n    value: 1\n" + tail
    assert _scan_both(text) == (None, None)
    assert scan_rows(text, "m.yaml") is None


def test_a_block_file_with_a_flow_entry_is_read_by_the_line_scan() -> None:
    text = (
        "measurements:\n  - kpi: a\n    date: 2026-01-31\n    value: 1\n"
        "  - {kpi: a, date: 2026-02-28, value: 2}\n"
    )
    block, lines = _scan_both(text)
    assert block is None and lines is not None
    assert assert_scanned_like_parsed(text)


_NON_ASCII = st.text(
    st.one_of(
        st.characters(min_codepoint=0x80, max_codepoint=0xFF),
        st.characters(min_codepoint=0x2000, max_codepoint=0x2030),
        st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010),  # surrogates too
        st.characters(min_codepoint=0xFEF0, max_codepoint=0xFFFF),
        st.sampled_from("aé✓日\U0001f600"),
    ),
    min_size=1,
)


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(text=_NON_ASCII)
def test_the_quick_printable_check_is_the_pattern(text: str) -> None:
    """_printable's byte search first decides as the pattern search alone does."""
    try:
        expected = yamlnodes._not_text().search(text.encode("utf-8")) is None
    except UnicodeEncodeError:
        expected = False
    assert yamlnodes._printable(text) is expected
