"""The narrow checks of `review`'s and `amend`'s edits (writing/editcheck.py) against
the whole-workspace check they stand in for: whenever a narrow check says yes, the
whole check accepts the edit with no new warning (so a refusal and every warning are
decided exactly as before), on hypothesis-generated workspaces and edits, right and
wrong ones."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import Config, Measurement
from kpitrack.domain.problems import Problem, WriteError
from kpitrack.writing.amending import _whole_check
from kpitrack.writing.editcheck import (
    Baseline,
    accepts_amend,
    accepts_review,
    load_for_editing,
)
from kpitrack.writing.recording import Loaded
from kpitrack.writing.renaming import (
    IdKind,
    _FileEdit,
    _plan,
    _shown_without_errors,
    _whole_verify,
)
from kpitrack.writing.reviewing import review_line, set_kpi_key, verify_workspace
from kpitrack.writing.yamlappend import amend_entry

DAY = dt.date(2026, 11, 25)
FREQUENCIES = ("daily", "weekly", "monthly")

kpi_rows = st.lists(
    st.tuples(
        st.sampled_from(FREQUENCIES),
        st.sampled_from([None, "2026-01-05", "2026-11-01  # old note"]),
        st.sampled_from(["o1", "o2"]),
    ),
    min_size=1,
    max_size=4,
)
entry_rows = st.lists(
    st.tuples(
        st.integers(0, 3),  # KPI
        st.integers(0, 40),  # days before DAY (0 and 1 are often in one period)
        st.sampled_from([0, 5, 5.5, 100, 101, -3]),
        st.sampled_from([None, "a note"]),
    ),
    max_size=12,
)


def kpis_text(kpis: list[tuple[str, str | None, str]], extra: str = "") -> str:
    lines = ["# KPIs, kept by hand", "kpis:"]
    for i, (frequency, reviewed, objective) in enumerate(kpis):
        lines += [
            f"  - id: k{i}",
            f"    name: KPI {i}",
            "    measure: A count",
            f"    target: {10 * (i + 1)}",
            f"    frequency: {frequency}",
            f"    owner: Team {i % 2}",
            f"    objective: {objective}",
        ]
        if reviewed is not None:
            lines.append(f"    last_reviewed: {reviewed}")
    return "\n".join(lines) + "\n" + extra


def entry_line(kpis: int, row: tuple[int, int, float, str | None]) -> str:
    k, days, value, note = row
    day = (DAY - dt.timedelta(days=days)).isoformat()
    note_part = f", note: {note}" if note else ""
    return f"  - {{kpi: k{k % kpis}, date: {day}, value: {value}{note_part}}}"


def make_workspace(
    root: Path,
    kpis: list[tuple[str, str | None, str]],
    rows: list[tuple[int, int, float, str | None]],
    in_kpis_file: list[tuple[int, int, float, str | None]],
) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "objectives.yaml").write_text(
        "objectives:\n  - id: o1\n    title: One\n  - id: o2\n    title: Two\n",
        encoding="utf-8",
    )
    extra = ""
    if in_kpis_file:
        extra = "measurements:\n" + "".join(entry_line(len(kpis), r) + "\n" for r in in_kpis_file)
    (root / "kpis.yaml").write_text(kpis_text(kpis, extra), encoding="utf-8")
    body = "".join(entry_line(len(kpis), r) + "\n" for r in rows)
    (root / "m.yaml").write_text("measurements:\n" + body, encoding="utf-8")
    return [root / "objectives.yaml", root / "kpis.yaml", root / "m.yaml"]


def base_of(loaded: Loaded) -> Baseline:
    return Baseline(loaded.workspace, loaded.texts, loaded.memo, loaded.config, loaded.as_of)


def whole_review(loaded: Loaded, target: Path, old: str, new: str, kpi: str) -> list[Problem]:
    """The whole-workspace check alone (no narrow shortcut)."""
    return verify_workspace(loaded.loads(target), old, new, kpi, DAY)


REVIEW_EDITS = (
    "plain",
    "target",
    "other-review",
    "measurement",
    "duplicate",
    "bad-date",
    "date",
    "unknown-key",
    "ignored-scale",
)


def review_edit(old: str, kpi: str, how: str, kpis: int) -> str:
    new = set_kpi_key(old, kpi, "last_reviewed", review_line(DAY, None), path="kpis.yaml")
    if how == "target":
        new = new.replace("target: 10\n", "target: 11\n", 1)
    elif how == "other-review":
        other = f"k{(int(kpi[1:]) + 1) % kpis}"
        if other != kpi:
            new = set_kpi_key(new, other, "last_reviewed", "2026-02-02", path="kpis.yaml")
    elif how == "measurement":
        line = entry_line(kpis, (0, 0, 7, None))
        new = new + line + "\n" if "measurements:" in new else new + "measurements:\n" + line + "\n"
    elif how == "duplicate":
        new = new.replace("kpis:\n", f"kpis:\n  - id: {kpi}\n    name: Again\n", 1)
    elif how == "bad-date":
        new = new.replace(f"last_reviewed: {DAY.isoformat()}", "last_reviewed: 2026-13-01", 1)
    elif how == "date":
        new = new.replace(f"last_reviewed: {DAY.isoformat()}", "last_reviewed: 2026-11-24", 1)
    elif how == "unknown-key":  # a warning, the definitions unchanged
        new = new.replace(f"  - id: {kpi}\n", f"  - id: {kpi}\n    colour: red\n", 1)
    elif how == "ignored-scale":  # KT109, a warning: the definitions unchanged
        new = new.replace(f"  - id: {kpi}\n", f"  - id: {kpi}\n    scale: [a, b]\n", 1)
    return new


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kpis=kpi_rows,
    rows=entry_rows,
    in_kpis_file=st.one_of(st.just([]), entry_rows),
    which=st.integers(0, 3),
    how=st.sampled_from(REVIEW_EDITS),
)
def test_review_narrow_check_never_accepts_what_the_whole_check_would_not(
    tmp_path_factory: pytest.TempPathFactory,
    kpis: list[tuple[str, str | None, str]],
    rows: list[tuple[int, int, float, str | None]],
    in_kpis_file: list[tuple[int, int, float, str | None]],
    which: int,
    how: str,
) -> None:
    root = tmp_path_factory.mktemp("ws")
    files = make_workspace(root, kpis, rows, in_kpis_file)
    loaded = load_for_editing(files, DAY, config=Config(), cwd=root)
    kpi = f"k{which % len(kpis)}"
    target = root / "kpis.yaml"
    index = loaded.index_of(target)
    assert index is not None
    old = loaded.texts[index][1]
    new = review_edit(old, kpi, how, len(kpis))
    narrow = accepts_review(base_of(loaded), loaded.sources, index, old, new, kpi, DAY)
    try:
        whole: list[Problem] | None = whole_review(loaded, target, old, new, kpi)
    except WriteError:
        whole = None
    if narrow:
        assert whole == []
    if how == "plain" and not in_kpis_file:
        # The plain edit of a KPI file without measurements is shown by the narrow check.
        assert narrow


def test_review_narrow_check_refuses_a_file_changed_on_disk(tmp_path: Path) -> None:
    """Another file read differently now: the whole check decides (it reads them again)."""
    files = make_workspace(tmp_path, [("daily", None, "o1")], [(0, 1, 5, None)], [])
    loaded = load_for_editing(files, DAY, config=Config(), cwd=tmp_path)
    index = loaded.index_of(tmp_path / "kpis.yaml")
    assert index is not None
    old = loaded.texts[index][1]
    new = review_edit(old, "k0", "plain", 1)
    assert accepts_review(base_of(loaded), loaded.sources, index, old, new, "k0", DAY)
    with (tmp_path / "m.yaml").open("a", encoding="utf-8") as f:
        f.write(entry_line(1, (0, 0, 6, None)) + "\n")
    assert not accepts_review(base_of(loaded), loaded.sources, index, old, new, "k0", DAY)


def test_load_for_editing_keeps_no_parses(tmp_path: Path) -> None:
    """The load review and amend check against keeps the texts, not every file's rows."""
    files = make_workspace(tmp_path, [("daily", None, "o1")], [(0, 1, 5, None)], [])
    loaded = load_for_editing(files, DAY, config=Config(), cwd=tmp_path)
    assert loaded.memo == {}
    assert [shown for shown, _ in loaded.texts] == list(loaded.workspace.files)
    assert len(loaded.workspace.measurements) == 1


AMEND_EDITS = ("plain", "plain", "another", "added", "date", "kpi", "unknown-key")


def amend_edit(
    old: str, entry: Measurement, value: float, note: str | None, how: str, kpis: int
) -> str:
    new, _, _ = amend_entry(
        old,
        entry_line=entry.loc.line,
        entry_column=entry.loc.column,
        value=value,
        note=note,
        path="m.yaml",
    )
    lines = new.split("\n")
    other = next((i for i in range(1, len(lines) - 1) if i + 1 != entry.loc.line), None)
    if how == "another" and other is not None:
        lines[other] = lines[other].replace("value: ", "value: 1", 1)
    elif how == "added":
        lines.insert(len(lines) - 1, entry_line(kpis, (0, 2, 9, None)))
    elif how == "date":
        lines[entry.loc.line - 1] = lines[entry.loc.line - 1].replace("2026-", "2025-", 1)
    elif how == "unknown-key":  # a warning, the measurements unchanged
        lines[entry.loc.line - 1] = lines[entry.loc.line - 1].replace("{kpi:", "{colour: 1, kpi:")
    elif how == "kpi":
        lines[entry.loc.line - 1] = lines[entry.loc.line - 1].replace("kpi: k", "kpi: kk", 1)
    return "\n".join(lines)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kpis=kpi_rows,
    rows=entry_rows.filter(bool),
    pick=st.integers(0, 100),
    value=st.sampled_from([0, 5, 5.5, 100, 101, -3, 7]),
    note=st.sampled_from([None, "a note", "another note"]),
    how=st.sampled_from(AMEND_EDITS),
)
def test_amend_narrow_check_never_accepts_what_the_whole_check_would_not(
    tmp_path_factory: pytest.TempPathFactory,
    kpis: list[tuple[str, str | None, str]],
    rows: list[tuple[int, int, float, str | None]],
    pick: int,
    value: float,
    note: str | None,
    how: str,
) -> None:
    root = tmp_path_factory.mktemp("ws")
    files = make_workspace(root, kpis, rows, [])
    loaded = load_for_editing(files, DAY, config=Config(), cwd=root)
    measured = [m for m in loaded.workspace.measurements if m.loc.path.endswith("m.yaml")]
    if not measured:
        return
    entry = measured[pick % len(measured)]
    index = loaded.index_of(root / "m.yaml")
    assert index is not None
    old = loaded.texts[index][1]
    try:
        new = amend_edit(old, entry, value, note, how, len(kpis))
        plain = amend_edit(old, entry, value, note, "plain", len(kpis))
    except WriteError:
        return
    corrected = dataclasses.replace(
        entry, value=value, note=note if note is not None else entry.note
    )
    narrow = accepts_amend(base_of(loaded), index, old, new, entry, corrected)
    try:
        whole: list[Problem] | None = _whole_check(
            loaded,
            list(loaded.texts),
            index,
            new,
            loaded.workspace,
            loaded.problems,
            entry,
            corrected,
            root / "m.yaml",
        )
    except WriteError:
        whole = None
    if narrow:
        assert whole == []
    if new != plain:
        assert not narrow  # every changed entry but the corrected one is seen


def test_amend_narrow_check_shows_a_plain_correction(tmp_path: Path) -> None:
    rows = [(0, d, 5 + d, None) for d in range(0, 30, 3)]
    files = make_workspace(tmp_path, [("daily", None, "o1")], rows, [])
    loaded = load_for_editing(files, DAY, config=Config(), cwd=tmp_path)
    index = loaded.index_of(tmp_path / "m.yaml")
    assert index is not None
    entry = loaded.workspace.measurements[3]
    old = loaded.texts[index][1]
    new, _, _ = amend_entry(
        old, entry_line=entry.loc.line, entry_column=entry.loc.column, value=8, note=None,
        path="m.yaml",
    )  # fmt: skip
    corrected = dataclasses.replace(entry, value=8)
    assert accepts_amend(base_of(loaded), index, old, new, entry, corrected)
    # The entry's value elsewhere than claimed, or another value: not shown.
    assert not accepts_amend(
        base_of(loaded), index, old, new, entry, dataclasses.replace(entry, value=9)
    )
    assert not accepts_amend(base_of(loaded), index, old, old + "\n", entry, corrected) or (
        old + "\n" == old
    )


@pytest.mark.parametrize("split", [False, True])
def test_amend_narrow_check_leaves_a_new_warning_to_the_whole_check(
    tmp_path: Path, split: bool
) -> None:
    """A correction that leaves the KPI off track for its last periods brings KT113: not
    shown by the narrow check, so the whole check reports it as before; also when the
    KPI's other values are in another file (the edited file's load alone cannot see it)."""
    rows = [(0, 0, 0, None), (0, 1, 0, None), (0, 2, 100, None), (0, 3, 100, None)]
    files = make_workspace(tmp_path, [("daily", None, "o1")], rows[2:] if split else rows, [])
    if split:
        (tmp_path / "m2.yaml").write_text(
            "measurements:\n" + "".join(entry_line(1, r) + "\n" for r in rows[:2]),
            encoding="utf-8",
        )
        files.append(tmp_path / "m2.yaml")
    loaded = load_for_editing(files, DAY, config=Config(), cwd=tmp_path)
    index = loaded.index_of(tmp_path / "m.yaml")
    assert index is not None
    entry = next(m for m in loaded.workspace.measurements if m.value == 100)
    old = loaded.texts[index][1]
    new, _, _ = amend_entry(
        old, entry_line=entry.loc.line, entry_column=entry.loc.column, value=0, note=None,
        path="m.yaml",
    )  # fmt: skip
    corrected = dataclasses.replace(entry, value=0)
    texts = list(loaded.texts)
    whole = _whole_check(
        loaded, texts, index, new, loaded.workspace, loaded.problems, entry, corrected,
        tmp_path / "m.yaml",
    )  # fmt: skip
    assert [p.code for p in whole] == ["KT113"]
    assert not accepts_amend(base_of(loaded), index, old, new, entry, corrected)


@pytest.mark.parametrize("split", [False, True])
def test_review_narrow_check_leaves_moved_entries_to_the_whole_check(
    tmp_path: Path, split: bool
) -> None:
    """The review line inserted above measurements of the KPI file moves them; KT105
    names the other entry's place, so the whole check sees a new warning: the narrow
    check must not say yes (also when the other entry is in another file)."""
    # One week; the later date (in the KPI file) is the one that counts, and KT105 at
    # the other entry names its place.
    twice = [(0, 1, 5, None), (0, 2, 6, None)]
    rows, in_kpis = (twice[1:], twice[:1]) if split else ([], twice)
    files = make_workspace(tmp_path, [("weekly", None, "o1")], rows, in_kpis)
    loaded = load_for_editing(files, DAY, config=Config(), cwd=tmp_path)
    target = tmp_path / "kpis.yaml"
    index = loaded.index_of(target)
    assert index is not None
    old = loaded.texts[index][1]
    new = review_edit(old, "k0", "plain", 1)
    assert [p.code for p in whole_review(loaded, target, old, new, "k0")] == ["KT105"]
    assert not accepts_review(base_of(loaded), loaded.sources, index, old, new, "k0", DAY)


# ---------------------------------------------------------------- rename


RENAME_EDITS = ("plain", "plain", "left-out", "def-left-out", "target", "value", "bad-value")


def renamed_plan(loaded: Loaded, old_id: str, new_id: str, how: str) -> list[_FileEdit]:
    plan = _plan(loaded.texts, loaded.sources, dict(loaded.memo), IdKind.KPI, old_id, new_id)
    if not plan:
        return plan
    measuring = [e for e in plan if e.display.endswith("m.yaml")]
    defining = [e for e in plan if e.display.endswith("kpis.yaml")]
    if how == "left-out" and measuring:
        plan.remove(measuring[0])  # a file still names the old id
    elif how == "def-left-out" and defining and measuring:
        plan.remove(defining[0])  # entries name an id nothing defines
    elif how == "target" and defining:
        defining[0].new = defining[0].new.replace("target: 10\n", "target: 12\n", 1)
    elif how == "value" and measuring:
        measuring[0].new = measuring[0].new.replace("value: ", "value: 1", 1)
        measuring[0].reparsed = None  # its text changed: parsed again
    elif how == "bad-value" and measuring:
        measuring[0].new = measuring[0].new.replace("value: ", "value: x", 1)
        measuring[0].reparsed = None
    return plan


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kpis=kpi_rows,
    rows=entry_rows,
    in_kpis_file=st.one_of(st.just([]), entry_rows),
    which=st.integers(0, 3),
    how=st.sampled_from(RENAME_EDITS),
)
def test_rename_narrow_check_never_passes_what_the_whole_check_would_not(
    tmp_path_factory: pytest.TempPathFactory,
    kpis: list[tuple[str, str | None, str]],
    rows: list[tuple[int, int, float, str | None]],
    in_kpis_file: list[tuple[int, int, float, str | None]],
    which: int,
    how: str,
) -> None:
    from kpitrack.domain.problems import InvalidWorkspaceError
    from kpitrack.writing.recording import load_for_writing

    root = tmp_path_factory.mktemp("ws")
    files = make_workspace(root, kpis, rows, in_kpis_file)
    loaded = load_for_writing(files, DAY, config=Config(), cwd=root)
    old_id = f"k{which % len(kpis)}"
    plan = renamed_plan(loaded, old_id, "renamed", how)
    if not plan:
        return
    narrow = _shown_without_errors(
        plan, loaded.texts, dict(loaded.memo), loaded.config, DAY, "renamed"
    )
    try:
        _whole_verify(plan, loaded.texts, dict(loaded.memo), loaded.config, DAY, "renamed")
        whole = True
    except (InvalidWorkspaceError, WriteError):
        whole = False
    if narrow:
        assert whole
    if how == "plain":
        assert narrow  # a plain rename is shown without loading the files of rows alone
    if how in ("left-out", "def-left-out", "bad-value") and any(
        e.display.endswith("m.yaml") for e in plan
    ):
        assert not whole
