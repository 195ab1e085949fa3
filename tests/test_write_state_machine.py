"""A hypothesis state machine over the write path.

Random sequences of `record` and `import` (the general append engine, and the
path both commands take: one load of the workspace, then the append from the last
entry's line), `checkin`'s write of a sitting's answers, `amend` (the value and
note of one entry replaced in place) and `rename` (the core `rename_in_files` over
the KPI file and the measurements file) on randomly styled measurement files: flow
and block entries, comments, CRLF, BOM, block scalars, no final newline, keys after
the list. After every step: the file parses and reads back as exactly the old
entries plus those added (with renamed ids, amended values); an append changes no
old byte before or after the insertion point, an amend only the lines of its entry,
and a rename nothing but the id's bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import tempfile
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kpitrack.domain.model import Config, Frequency, Measurement
from kpitrack.domain.periods import period_containing
from kpitrack.domain.problems import UsageError, WriteError
from kpitrack.reading.loading import load_texts
from kpitrack.reading.yamlnodes import BOM
from kpitrack.writing.atomicfile import TEMP_PREFIX
from kpitrack.writing.recording import (
    append_measurements,
    append_to_workspace,
    load_for_writing,
    measurement_key,
)
from kpitrack.writing.renaming import IdKind, rename_in_files
from kpitrack.writing.yamlappend import yaml_number

pytestmark = [pytest.mark.slow]

HEAVY = os.environ.get("CI") == "true"
EXAMPLES = 5000 if HEAVY else 150

KPIS = """\
objectives:
  - id: grow
    title: Grow
kpis:
  - id: mrr
    name: MRR
    measure: Sum of active subscriptions at month end
    target: 100
    frequency: monthly
    owner: Sales
    objective: grow
  - id: csat
    name: CSAT
    measure: Median answer of the quarterly survey
    kind: qualitative
    scale: [poor, fair, good]
    target: good
    frequency: quarterly
    owner: Support
    objective: grow
"""
AS_OF = dt.date(2030, 1, 1)

Row = tuple[str, str, object, str | None, str | None]

texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
).filter(lambda t: t.strip() != "")
measurements = st.builds(
    Measurement,
    kpi=st.just("mrr"),
    date=st.dates(dt.date(2020, 1, 1), dt.date(2029, 12, 31)),
    value=st.one_of(
        st.integers(-(10**15), 10**15),
        st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False),
    ),
    note=st.none() | texts,
    by=st.none() | texts,
) | st.builds(
    Measurement,
    kpi=st.just("csat"),
    date=st.dates(dt.date(2020, 1, 1), dt.date(2029, 12, 31)),
    value=st.sampled_from(["poor", "fair", "good"]),
    note=st.none() | texts,
    by=st.none(),
)


@st.composite
def styled_files(draw: st.DrawFn) -> bytes:
    """A measurements file in one of many styles, valid for KPIS."""
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    dash = draw(st.sampled_from([0, 2, 4]))
    flow = draw(st.booleans())
    count = draw(st.integers(0, 3))
    pad = " " * dash
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append("# measurements, kept by hand")
    if draw(st.booleans()):
        lines.append("kpis: []")
    lines.append("measurements:")
    for i in range(count):
        day = f"2025-0{1 + i}-28"
        if flow:
            lines.append(f"{pad}- {{kpi: mrr, date: {day}, value: {i}}}")
            continue
        lines.append(f"{pad}- kpi: mrr")
        lines.append(f"{pad}  date: {day}")
        lines.append(f"{pad}  value: {i}" + draw(st.sampled_from(["", "   # why"])))
        if i == count - 1:
            note = draw(st.sampled_from(["none", "plain", "quoted", "|", ">", "|+", "|-"]))
            if note == "plain":
                lines.append(f"{pad}  note: a plain note")
            elif note == "quoted":
                lines.append(f"{pad}  note: 'single: quoted'")
            elif note != "none":
                lines.append(f"{pad}  note: {note}")
                lines.append(f"{pad}    first line")
                lines.append(f"{pad}    second line")
    if draw(st.booleans()):
        lines.append(f"{pad}# a comment after the list")
    if draw(st.booleans()):
        lines.append("objectives: []")
    text = nl.join(lines)
    if draw(st.booleans()):  # a final newline, or none
        text += nl
    data = text.encode()
    return BOM + data if draw(st.booleans()) else data


def read_rows(data: bytes, kpis: str = KPIS) -> list[Row]:
    text = data.decode("utf-8-sig")
    workspace, problems = load_texts(
        [("kpis.yaml", kpis), ("m.yaml", text)], config=Config(), as_of=AS_OF
    )
    errors = [p.format() for p in problems if p.is_error]
    assert errors == [], (errors, text)
    return [(m.kpi, m.date.isoformat(), m.value, m.note, m.by) for m in workspace.measurements]


def row_key(r: Row) -> tuple[str, str, str, str | None, str | None]:
    value = r[2] if isinstance(r[2], str) else yaml_number(r[2])  # type: ignore[arg-type]
    return (r[0], r[1], value, r[3], r[4])


def row(m: Measurement) -> Row:
    return (m.kpi, m.date.isoformat(), m.value, m.note, m.by)


_LAST_BLOCK_HEADER = re.compile(rb"(: *[|>][1-9]?)\+?(\r?\n)(?!.*: *[|>])", re.DOTALL)


def assert_inserted(old: bytes, new: bytes) -> None:
    """`new` is `old` with whole lines inserted at one line start: every old byte
    before and after the insertion point is unchanged. One exception: a file
    without a final line break that ends in a block scalar gets that scalar's
    chomping made `-` (so its value stays the same) and a line break."""
    if new == old:
        return
    k = 0
    while k < len(old) and k < len(new) and old[k] == new[k]:
        k += 1
    if k < len(old):
        k = old.rfind(b"\n", 0, k) + 1
        if new.startswith(old[:k]) and new.endswith(old[k:]):
            return
        assert not old.endswith(b"\n"), (old, new)
        chomped = _LAST_BLOCK_HEADER.sub(rb"\1-\2", old, count=1)
        assert new.startswith(chomped), (old, new)
        return
    assert new.startswith(old)


def assert_amended(old: bytes, new: bytes) -> None:
    """`new` is `old` with a few lines of one entry changed (the value's, the note's)
    and at most one line added (a new note): every other line unchanged."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    head = 0
    while head < min(len(old_lines), len(new_lines)) and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(old_lines), len(new_lines)) - head
        and old_lines[-1 - tail] == new_lines[-1 - tail]
    ):
        tail += 1
    changed_old = len(old_lines) - head - tail
    changed_new = len(new_lines) - head - tail
    assert changed_old <= 2 and 0 <= changed_new - changed_old <= 1, (old, new)


def assert_renamed(old: bytes, new: bytes, old_id: str, new_id: str) -> None:
    """`new` is `old` with some occurrences of `old_id` replaced by `new_id`, each
    inside one line, and every other byte unchanged."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    assert len(old_lines) == len(new_lines), (old, new)
    a, b = old_id.encode(), new_id.encode()
    for before, after in zip(old_lines, new_lines, strict=True):
        if before == after:
            continue
        # one id per line: the edited line is the old one with one occurrence swapped
        swaps = {
            before[:i] + b + before[i + len(a) :]
            for i in range(len(before))
            if before.startswith(a, i)
        }
        assert after in swaps, (before, after)


class WritePath(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # tmpfs when there is one: thousands of fsyncs cost nothing there
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.folder = Path(tempfile.mkdtemp(prefix="kpitrack-sm-", dir=shm))
        self.path = self.folder / "m.yaml"
        self.kpis_path = self.folder / "kpis.yaml"
        self.kpis_path.write_text(KPIS, encoding="utf-8")
        self.ids = {"mrr": "mrr", "csat": "csat"}  # generated id -> current id
        self.expected: list[Row] = []
        self.before = b""
        self.renamed: tuple[str, str] | None = None
        self.amended = False

    @initialize(data=styled_files())
    def start(self, data: bytes) -> None:
        self.path.write_bytes(data)
        self.expected = read_rows(data)
        self.before = data

    def _current(self, m: Measurement) -> Measurement:
        return dataclasses.replace(m, kpi=self.ids[m.kpi])

    def _append(self, entries: list[Measurement]) -> None:
        entries = [self._current(m) for m in entries]
        self.before, self.renamed, self.amended = self.path.read_bytes(), None, False
        result = append_measurements(self.path, entries)
        self.expected += [row(m) for m in result.added]

    @rule(m=measurements)
    def record(self, m: Measurement) -> None:
        self._append([m])

    @rule(rows=st.lists(measurements, min_size=1, max_size=3))
    def record_after_a_load(self, rows: list[Measurement]) -> None:
        # the path `record` and `import` take: the workspace loaded once, the new
        # entries placed from its last entry's line (only the lines after it parsed)
        entries = [self._current(m) for m in rows]
        self.before, self.renamed, self.amended = self.path.read_bytes(), None, False
        loaded = load_for_writing(
            [self.kpis_path, self.path], AS_OF, config=Config(), cwd=self.folder
        )
        written = append_to_workspace(loaded, self.path, lambda _ws: entries)
        assert written.added == tuple(entries)
        self.expected += [row(m) for m in written.added]

    @rule(rows=st.lists(measurements, min_size=1, max_size=4))
    def import_csv(self, rows: list[Measurement]) -> None:
        # import's rule: entries already present (or repeated) are added once
        def plan(current: str | None) -> list[Measurement]:
            seen = {row_key(r) for r in self.expected}
            out = []
            for m in map(self._current, rows):
                key = measurement_key(m)
                if key not in seen:
                    seen.add(key)
                    out.append(m)
            return out

        self.before, self.renamed, self.amended = self.path.read_bytes(), None, False
        result = append_measurements(self.path, plan)
        self.expected += [row(m) for m in result.added]

    @rule(which=st.sampled_from(["mrr", "csat"]), new_id=st.sampled_from(["a", "b-2", "kpi_x"]))
    def rename(self, which: str, new_id: str) -> None:
        old_id = self.ids[which]
        if new_id in self.ids.values():
            return
        self.before, self.renamed = self.path.read_bytes(), (old_id, new_id)
        self.amended = False
        files = [("kpis.yaml", self.kpis_path), ("m.yaml", self.path)]
        rename_in_files(files, IdKind.KPI, old_id, new_id)
        self.ids[which] = new_id
        self.expected = [
            (new_id, r[1], r[2], r[3], r[4]) if r[0] == old_id else r for r in self.expected
        ]

    @rule(rows=st.lists(measurements, min_size=1, max_size=3))
    def checkin(self, rows: list[Measurement]) -> None:
        # a sitting's answers: one write per target file, exact duplicates left out
        from kpitrack.writing.checkin import Answer, Checkin, Due, Owed, write_answers

        self.before, self.renamed, self.amended = self.path.read_bytes(), None, False
        loaded = load_for_writing(
            [self.kpis_path, self.path], AS_OF, config=Config(), cwd=self.folder
        )
        answers = []
        for m in map(self._current, rows):
            kpi = loaded.workspace.require_kpi(m.kpi)
            owed = Owed(kpi, period_containing(kpi.frequency, m.date), Due.CURRENT, m.date)
            answers.append(Answer(owed, m, self.path))
        outcome = write_answers(Checkin(loaded, AS_OF, ()), answers)
        self.expected += [row(m) for w in outcome.written for m in w.added]

    @rule(
        data=st.data(),
        number=st.integers(-(10**9), 10**9),
        label=st.sampled_from(["poor", "fair", "good"]),
        note=st.none() | texts,
    )
    def amend(self, data: st.DataObject, number: int, label: str, note: str | None) -> None:
        from kpitrack.writing.amending import amend

        if not self.expected:
            return
        i = data.draw(st.integers(0, len(self.expected) - 1))
        kpi_id, day = self.expected[i][0], dt.date.fromisoformat(self.expected[i][1])
        generated = next(g for g, current in self.ids.items() if current == kpi_id)
        frequency = Frequency.MONTHLY if generated == "mrr" else Frequency.QUARTERLY
        period = period_containing(frequency, day)
        same = [
            r for r in self.expected if r[0] == kpi_id and dt.date.fromisoformat(r[1]) in period
        ]
        value: object = number if generated == "mrr" else label
        self.before, self.renamed, self.amended = self.path.read_bytes(), None, True
        try:
            amend(
                kpi_id,
                str(value),
                date=day.isoformat(),
                today=AS_OF,
                config=Config(),
                files=[self.kpis_path, self.path],
                note=note,
            )
        except UsageError:
            assert len(same) > 1  # two entries in the period: refused
            return
        except WriteError as exc:
            assert "block scalar" in str(exc) or "one line" in str(exc), exc
            return
        assert len(same) == 1
        old = self.expected[i]
        self.expected[i] = (old[0], old[1], value, note if note is not None else old[3], old[4])

    @invariant()
    def file_is_old_plus_added(self) -> None:
        data = self.path.read_bytes()
        assert read_rows(data, self.kpis_path.read_text(encoding="utf-8")) == self.expected
        if self.amended:
            assert_amended(self.before, data)
        elif self.renamed is None:
            assert_inserted(self.before, data)
        else:
            assert_renamed(self.before, data, *self.renamed)
        assert [p for p in os.listdir(self.folder) if p.startswith(TEMP_PREFIX)] == []

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


WritePath.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=3 if HEAVY else 6, deadline=None
)
test_write_path = WritePath.TestCase
