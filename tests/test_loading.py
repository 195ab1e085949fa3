"""Loading: file discovery (SPEC §4), reading, and the model it builds."""

from __future__ import annotations

import builtins
import datetime as dt
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpitrack.domain.model import Config, Direction, Frequency, Indicator, Kind, Location
from kpitrack.domain.problems import InvalidWorkspaceError, UsageError
from kpitrack.reading.loading import load_texts, load_valid_workspace, load_workspace, resolve_paths

DATA = Path(__file__).parent / "data" / "check"
AS_OF = dt.date(2026, 11, 25)

KPI = """\
kpis:
  - id: revenue
    name: Revenue
    measure: Sum of invoices issued
    target: 100
    frequency: monthly
    owner: sales
    objective: growth
objectives:
  - id: growth
    title: Grow
"""


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------- resolve_paths


def test_folder_is_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    for name in ["b.yaml", "a.yml", "sub/z.yaml", "sub/deeper/c.yaml", "notes.txt", "x.json"]:
        touch(tmp_path / "ws" / name)
    touch(tmp_path / "ws" / ".github" / "workflows" / "ci.yml")
    touch(tmp_path / "ws" / ".hidden.yaml")
    paths = resolve_paths([Path("ws")], Config(), tmp_path)
    assert paths == [
        Path("ws/a.yml"),
        Path("ws/b.yaml"),
        Path("ws/sub/deeper/c.yaml"),
        Path("ws/sub/z.yaml"),
    ]


def test_cli_files_keep_their_order_and_are_deduplicated(tmp_path: Path) -> None:
    touch(tmp_path / "m.yaml")
    touch(tmp_path / "k.yaml")
    paths = resolve_paths(
        [Path("m.yaml"), Path("k.yaml"), Path("./m.yaml"), tmp_path / "k.yaml"], Config(), tmp_path
    )
    assert paths == [Path("m.yaml"), Path("k.yaml")]


def test_a_file_with_any_suffix_is_read_when_named(tmp_path: Path) -> None:
    touch(tmp_path / "kpis.txt")
    assert resolve_paths([Path("kpis.txt")], Config(), tmp_path) == [Path("kpis.txt")]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^no such file or folder: nope\.yaml$"):
        resolve_paths([Path("nope.yaml")], Config(), tmp_path)


def test_folder_without_yaml_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"no \*\.yaml or \*\.yml files found in empty"):
        resolve_paths([Path("empty")], Config(), tmp_path)


def test_config_files_are_relative_to_the_config_folder(tmp_path: Path) -> None:
    touch(tmp_path / "kpis" / "a.yaml")
    touch(tmp_path / "measurements" / "2026.yaml")
    config = Config(files=("kpis", "measurements/2026.yaml"), root=str(tmp_path))
    paths = resolve_paths([], config, tmp_path / "elsewhere")
    assert paths == [tmp_path / "kpis" / "a.yaml", tmp_path / "measurements" / "2026.yaml"]


def test_cli_files_win_over_config(tmp_path: Path) -> None:
    touch(tmp_path / "one.yaml")
    config = Config(files=("missing.yaml",), root=str(tmp_path))
    assert resolve_paths([Path("one.yaml")], config, tmp_path) == [Path("one.yaml")]


def test_missing_config_file_names_the_config(tmp_path: Path) -> None:
    config = Config(files=("gone.yaml",), root=str(tmp_path))
    with pytest.raises(UsageError, match=r"no such file or folder: gone\.yaml \(listed in"):
        resolve_paths([], config, tmp_path)


def test_defaults_kpis_and_measurements(tmp_path: Path) -> None:
    touch(tmp_path / "kpis.yaml")
    assert resolve_paths([], Config(), tmp_path) == [tmp_path / "kpis.yaml"]
    touch(tmp_path / "measurements.yaml")
    assert resolve_paths([], Config(), tmp_path) == [
        tmp_path / "kpis.yaml",
        tmp_path / "measurements.yaml",
    ]


def test_no_default_file_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no kpis\.yaml in .*kpitrack init.*-f"):
        resolve_paths([], Config(), tmp_path)


# ---------------------------------------------------------------- the model


def test_valid_workspace_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA.parent)
    files = [Path("check/valid.yaml"), Path("check/measurements.yaml"), Path("check/empty.yaml")]
    ws, problems = load_workspace(files, config=Config(), as_of=AS_OF)
    assert problems == []
    assert [k.id for k in ws.kpis] == ["revenue", "csat", "rollout", "churn"]
    revenue, csat, rollout, churn = ws.kpis
    assert revenue.target == 120000.0 and isinstance(revenue.target, float)
    assert revenue.baseline == 80000.0
    assert revenue.frequency is Frequency.MONTHLY
    assert revenue.indicator is Indicator.LAGGING
    assert revenue.review is Frequency.QUARTERLY
    assert revenue.grace_days == 5
    assert revenue.tags == ("finance", "board")
    assert revenue.start == dt.date(2026, 1, 1)
    assert [(m.date, m.target) for m in revenue.milestones] == [
        (dt.date(2026, 6, 30), 100000.0),
        (dt.date(2026, 9, 30), 110000.0),
    ]
    assert revenue.milestones[0].loc.line == 21
    assert revenue.loc == Location(str(Path("check/valid.yaml")), 8, 5)
    assert csat.kind is Kind.QUALITATIVE
    assert csat.scale == ("poor", "fair", "good", "excellent")
    assert (csat.target, csat.baseline) == ("good", "fair")
    assert rollout.kind is Kind.PROGRESS and rollout.target == 100.0
    assert churn.direction is Direction.DECREASE and churn.target == 2.5
    assert churn.action == "Call every customer whose usage dropped"
    assert ws.objectives[0].due == dt.date(2026, 12, 31)
    assert [(m.kpi, m.value, m.order) for m in ws.measurements] == [
        ("revenue", 82000.0, 1),
        ("revenue", 85500.5, 2),
        ("csat", "fair", 3),
        ("rollout", 15.0, 4),
        ("churn", 3.0, 5),
        ("revenue", 90000.0, 6),
        ("csat", "good", 7),
    ]
    assert all(isinstance(m.value, float) for m in ws.measurements if m.kpi != "csat")
    second = ws.measurements[1]
    assert (second.note, second.by) == ("late invoices", "ana")
    assert ws.measurements[4].date == dt.date(2026, 1, 31)  # a quoted date
    assert ws.measurements[5].loc == Location(str(Path("check/measurements.yaml")), 2, 5)
    assert ws.files == tuple(str(f) for f in files)


def test_display_paths_are_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "sub" / "k.yaml", "kpis: nope\n")
    monkeypatch.chdir(tmp_path)
    _, problems = load_workspace([tmp_path / "sub" / "k.yaml"], config=Config(), as_of=AS_OF)
    assert [p.format() for p in problems] == [
        f"{Path('sub', 'k.yaml')}:1:7: error KT012 'kpis' must be a list (- ...), "
        "got the text 'nope'"
    ]


def test_empty_and_comment_only_files_are_fine() -> None:
    ws, problems = load_texts(
        [("a.yaml", ""), ("b.yaml", "# nothing yet\n"), ("c.yaml", "kpis:\n")],
        config=Config(),
        as_of=AS_OF,
    )
    assert problems == [] and ws.kpis == ()


def test_load_texts_touches_no_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_texts opened a file")

    monkeypatch.setattr(builtins, "open", no_open)
    ws, problems = load_texts([("kpis.yaml", KPI)], config=Config(), as_of=AS_OF)
    assert problems == [] and ws.kpis[0].id == "revenue"


def test_references_across_files_and_order() -> None:
    ws, problems = load_texts(
        [
            ("m1.yaml", "measurements:\n  - {kpi: revenue, date: 2026-02-28, value: 2}\n"),
            ("kpis.yaml", KPI),
            ("m2.yaml", "measurements:\n  - {kpi: revenue, date: 2026-01-31, value: 1}\n"),
        ],
        config=Config(),
        as_of=AS_OF,
    )
    assert problems == []
    assert [(m.loc.path, m.order) for m in ws.measurements] == [("m1.yaml", 1), ("m2.yaml", 2)]


def test_load_valid_workspace_raises_with_problems(tmp_path: Path) -> None:
    path = touch(tmp_path / "k.yaml", KPI.replace("target: 100", "target: lots"))
    with pytest.raises(InvalidWorkspaceError) as info:
        load_valid_workspace([path], config=Config(), as_of=AS_OF)
    assert [(p.code, p.line, p.column) for p in info.value.problems] == [("KT016", 5, 13)]


def test_load_valid_workspace_accepts_warnings(tmp_path: Path) -> None:
    path = touch(tmp_path / "k.yaml", KPI.replace("    owner: sales\n", ""))
    ws = load_valid_workspace([path], config=Config(), as_of=AS_OF)
    assert ws.kpis[0].owner is None


def test_problems_are_sorted_by_file_and_line() -> None:
    _, problems = load_texts(
        [("b.yaml", "nope: 1\n"), ("a.yaml", "kpis: 1\nzzz: 2\n")], config=Config(), as_of=AS_OF
    )
    assert [(p.path, p.line, p.code) for p in problems] == [
        ("a.yaml", 1, "KT012"),
        ("a.yaml", 2, "KT011"),
        ("b.yaml", 1, "KT011"),
    ]


# ---------------------------------------------------------------- bytes on disk


def test_bom_and_crlf_keep_line_numbers(tmp_path: Path) -> None:
    text = KPI.replace("target: 100", "target: lots").replace("\n", "\r\n")
    path = tmp_path / "k.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    _, problems = load_workspace([path], config=Config(), as_of=AS_OF)
    assert [(p.code, p.line, p.column) for p in problems] == [("KT016", 5, 13)]


def test_bom_and_crlf_valid(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + KPI.replace("\n", "\r\n").encode())
    ws, problems = load_workspace([path], config=Config(), as_of=AS_OF)
    assert problems == [] and ws.kpis[0].name == "Revenue"


def test_invalid_utf8_is_located_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_bytes(KPI.replace("name: Revenue", "name: Caf\xe9").encode("latin-1"))
    _, problems = load_workspace([path], config=Config(), as_of=AS_OF)
    assert [(p.code, p.line, p.column) for p in problems] == [("KT002", 3, 14)]
    assert "not UTF-8" in problems[0].message


def test_unreadable_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    folder = tmp_path / "a_folder.yaml"
    folder.mkdir()
    good = touch(tmp_path / "k.yaml", KPI)
    ws, problems = load_workspace([folder, good], config=Config(), as_of=AS_OF)
    assert [(p.code, p.line, p.column) for p in problems] == [("KT002", 1, 1)]
    assert problems[0].message.startswith("cannot read")
    assert ws.kpis[0].id == "revenue"  # the other file still loads


def test_oversized_file_is_refused_with_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB without writing them
    _, problems = load_workspace([path], config=Config(), as_of=AS_OF)
    assert [(p.code, p.line, p.column) for p in problems] == [("KT002", 1, 1)]
    assert problems[0].message == ("file is 52,428,800 bytes, over the limit of 33,554,432 bytes")


# ---------------------------------------------------------------- properties and scale


@pytest.mark.parametrize("text", ["1e16", "-1e16", "1000000000000001", "1e308"])
def test_numbers_beyond_1e15_are_out_of_range(text: str) -> None:
    source = KPI + f"measurements:\n  - {{kpi: revenue, date: 2026-01-31, value: {text}}}\n"
    ws, problems = load_texts([("k.yaml", source)], config=Config(), as_of=AS_OF)
    assert [p.code for p in problems] == ["KT017"]
    assert "at most 1e15 in size" in problems[0].message
    assert ws.measurements == ()


@given(st.floats(min_value=-1e15, max_value=1e15))
def test_finite_numbers_load_exactly(value: float) -> None:
    text = KPI + f"measurements:\n  - {{kpi: revenue, date: 2026-01-31, value: {value!r}}}\n"
    ws, problems = load_texts([("k.yaml", text)], config=Config(), as_of=AS_OF)
    assert problems == []
    assert ws.measurements[0].value == value
    assert math.copysign(1.0, float(ws.measurements[0].value)) == math.copysign(1.0, value)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integers_load_as_floats(value: int) -> None:
    text = KPI + f"measurements:\n  - {{kpi: revenue, date: 2026-01-31, value: {value}}}\n"
    ws, problems = load_texts([("k.yaml", text)], config=Config(), as_of=AS_OF)
    assert problems == []
    assert ws.measurements[0].value == float(value)


def test_many_measurements_load_in_order() -> None:
    count = 20_000
    day = dt.date(2020, 1, 1)
    lines = [KPI.replace("monthly", "daily"), "measurements:\n"]
    for i in range(count):
        lines.append(f"  - {{kpi: revenue, date: {day + dt.timedelta(days=i)}, value: {i}}}\n")
    ws, problems = load_texts([("k.yaml", "".join(lines))], config=Config(), as_of=AS_OF)
    future = (day + dt.timedelta(days=count - 1) - AS_OF).days
    assert future > 0
    # at most 1,000 problems per file are reported; KT045 counts the rest
    assert future > 1000
    assert [p.code for p in problems] == ["KT106"] * 1000 + ["KT045"]
    assert f"{future - 1000:,} more problem(s)" in problems[-1].message
    assert len(ws.measurements) == count
    assert ws.measurements[-1].order == count and ws.measurements[-1].value == count - 1
    assert ws.measurements[123].loc.line == 13 + 123
