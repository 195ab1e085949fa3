"""Checking an edit of one workspace file by what it can change (`review`, `amend`).

`review` and `amend` used to check an edit by loading the whole workspace again with
the new text and comparing it with the command's load: at a million measurements a
second copy of every column, built again from every file's rows, and the workspace
rules run again over all of them. Yet an edit of one file can only change what that
file defines or measures, and the rules that read what it changed.

`accepts_review` and `accepts_amend` are sufficient tests, like `samerows.same_series`:
True means the whole-workspace check would accept the edit and report no new warning;
False means "not shown here", and the caller then runs the whole-workspace check as
before, so a refusal (its message, its exit code) and any new warning are decided
exactly as they always were. They show it from three smaller loads:

- **The file with its definitions.** The edited file is loaded with every file that
  defines an objective or a KPI in the command's load, once with the old text and
  once with the new one (the other files' parses come from the command's load). The
  old one must rebuild the command's objectives and KPIs exactly (else the shortcut
  does not apply); the two must have the same problems (path, code, message, as often),
  the same events, the definitions expected (positions aside), and measurements equal
  column for column, positions included, apart from the corrected entry. Every other
  file is byte for byte the text of the command's load, so it reads the same.
- **The workspace rules.** They read measurements KPI by KPI (KT105, KT106, KT113,
  KT114), the rest reads definitions only. They run, uncapped, on the definitions with
  the edited KPI's whole series alone, before and after the edit: the same problems, as
  often, mean the same problems over the whole workspace.

`tests/test_editcheck.py` compares the verdicts with the whole-workspace check on
generated edits: whenever a shortcut says True, the whole check accepts with no new
warning.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kpitrack.domain.model import Config, Measurement
from kpitrack.domain.problems import InvalidWorkspaceError, Problem
from kpitrack.domain.series import Measurements, Series
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import rules
from kpitrack.reading.loading import (
    ParseMemo,
    load_texts,
    read_files,
    resolve_paths,
)
from kpitrack.writing.atomicfile import writers_done
from kpitrack.writing.recording import Loaded, measurement_key
from kpitrack.writing.samerows import definitions_unplaced, same_series

LoadResult = tuple[Workspace, list[Problem]]


def load_for_editing(
    files: Sequence[Path] | None, as_of: dt.date, *, config: Config, cwd: Path | None = None
) -> Loaded:
    """`recording.load_for_writing` without keeping every file's parse: `review` and
    `amend` check their edit by what it can change (the few files that define
    something and the edited one, parsed again: far less than the rows of every file,
    which the parses hold). InvalidWorkspaceError (check's messages) when the workspace
    has errors."""
    cwd = cwd or Path.cwd()
    paths = resolve_paths(files or [], config, cwd)
    read = read_files(paths)
    workspace, problems = load_texts(read, config=config, as_of=as_of)
    if any(p.is_error for p in problems):
        # Perhaps read half-way through a `rename` of several files: read again once
        # no writer holds a lock of these files.
        with writers_done(paths):
            read = read_files(paths)
        workspace, problems = load_texts(read, config=config, as_of=as_of)
    if any(p.is_error for p in problems):
        raise InvalidWorkspaceError(problems)
    texts = [(shown, text) for shown, text in read if isinstance(text, str)]
    sources = list(zip(workspace.files, paths, strict=True))
    return Loaded(workspace, config, paths, sources, texts, problems, as_of, {})


@dataclass(frozen=True)
class Baseline:
    """The command's load that an edit of one of its files is checked against."""

    workspace: Workspace
    texts: Sequence[tuple[str, str]]  # (display path, text), in reading order
    memo: ParseMemo  # the load's parses
    config: Config
    as_of: dt.date


def _sigs(problems: Iterable[Problem]) -> Counter[tuple[str, str, str]]:
    return Counter((p.path, p.code, p.message) for p in problems)


def unchanged_on_disk(base: Baseline, sources: Sequence[tuple[str, Path]], index: int) -> bool:
    """Whether every file but the edited one reads now as the command's load read it
    (read one at a time: no second copy of the workspace's texts)."""
    if len(sources) != len(base.texts):
        return False
    for i, ((display, path), (shown, text)) in enumerate(zip(sources, base.texts, strict=True)):
        if i == index:
            continue
        [(_display, now)] = read_files([path])
        if display != shown or now != text:
            return False
    return True


def file_loads(base: Baseline, index: int, old: str, new: str) -> tuple[LoadResult, LoadResult]:
    """The edited file loaded with the files that define an objective or a KPI, with its
    old and its new text. Those are the files the command's load took them from (it had
    no error, so no definition was left out); should that miss one, the old load's
    definitions differ from the command's and the caller does not take the shortcut."""
    ws = base.workspace
    defining = {k.loc.path for k in ws.kpis} | {o.loc.path for o in ws.objectives}
    keep = [
        (i, display, text)
        for i, (display, text) in enumerate(base.texts)
        if i == index or display in defining
    ]

    # The files' parses: the command's load's when it kept them, else the first load's
    # for the second (only the edited file differs).
    memo: ParseMemo = {}
    for _, display, text in keep:
        parsed = base.memo.get((display, text))
        if parsed is not None:
            memo[display, text] = parsed

    def load(edited: str) -> LoadResult:
        texts = [(display, edited if i == index else text) for i, display, text in keep]
        return load_texts(texts, config=base.config, as_of=base.as_of, memo=memo)

    return load(old), load(new)


def _same_places(a: Measurements, b: Measurements) -> bool:
    """The same entries at the same places (file, line, column, reading order)."""
    old, new = a.all_series(), b.all_series()
    if len(old) != len(new):
        return False
    fresh = {s.kpi: s for s in new}
    for s in old:
        t = fresh.get(s.kpi)
        if (
            t is None
            or s.lines != t.lines
            or s.columns != t.columns
            or s.orders != t.orders
            or [s.paths[f] for f in s.files] != [t.paths[f] for f in t.files]
        ):
            return False
    return True


def _definitions_kept(base: Baseline, before: LoadResult, after: LoadResult) -> bool:
    """The smaller load rebuilds the command's definitions, and the edit changes none of
    the file's problems, events or entries' places."""
    (wb, pb), (wa, pa) = before, after
    return (
        wb.objectives == base.workspace.objectives
        and wb.kpis == base.workspace.kpis
        and wb.events == wa.events
        and _sigs(pb) == _sigs(pa)
        and _same_places(wb.measurements, wa.measurements)
    )


def _same_rules(
    base: Baseline,
    before: tuple[Workspace, list[Measurement]],
    after: tuple[Workspace, list[Measurement]],
) -> bool:
    """The workspace rules give the same problems, as often, on the definitions with
    one KPI's measurements before and after the edit."""

    def run(definitions: Workspace, history: list[Measurement]) -> Counter[tuple[str, str, str]]:
        ws = Workspace(
            objectives=definitions.objectives,
            kpis=definitions.kpis,
            measurements=Measurements(history),
            files=base.workspace.files,
        )
        return _sigs(rules.check_workspace(ws, config=base.config, as_of=base.as_of, capped=False))

    return run(*before) == run(*after)


def accepts_review(
    base: Baseline,
    sources: Sequence[tuple[str, Path]],
    index: int,
    old: str,
    new: str,
    kpi_id: str,
    day: dt.date,
) -> bool:
    """True when the whole-workspace check of `review`'s edit (file `index`, `old` →
    `new`: KPI `kpi_id`'s last_reviewed set to `day`) would accept it and report no new
    warning. False: not shown here (the whole check decides)."""
    if base.texts[index][1] != old or not unchanged_on_disk(base, sources, index):
        return False
    before, after = file_loads(base, index, old, new)
    if not _definitions_kept(base, before, after):
        return False
    wb, wa = before[0], after[0]
    expected = Workspace(
        objectives=wb.objectives,
        kpis=tuple(
            dataclasses.replace(k, last_reviewed=day) if k.id == kpi_id else k for k in wb.kpis
        ),
    )
    if definitions_unplaced(wa) != definitions_unplaced(expected) or not same_series(
        wb.measurements, wa.measurements
    ):
        return False
    history = list(base.workspace.measurements.series(kpi_id) or ())
    return _same_rules(base, (wb, history), (wa, history))


def _position(series: Series, entry: Measurement) -> int | None:
    loc = entry.loc
    for i in range(len(series)):
        if (
            series.lines[i] == loc.line
            and series.columns[i] == loc.column
            and series.paths[series.files[i]] == loc.path
        ):
            return i
    return None


def accepts_amend(
    base: Baseline, index: int, old: str, new: str, entry: Measurement, corrected: Measurement
) -> bool:
    """True when the whole-workspace check of `amend`'s edit (file `index`, `old` →
    `new`: `entry` replaced by `corrected`) would accept it and report no new warning.
    False: not shown here (the whole check decides)."""
    if base.texts[index][1] != old:
        return False
    full = base.workspace.measurements.series(entry.kpi)
    if full is None or entry.order not in full.orders:
        return False
    before, after = file_loads(base, index, old, new)
    if not _definitions_kept(base, before, after):
        return False
    wb, wa = before[0], after[0]
    sb, sa = wb.measurements.series(entry.kpi), wa.measurements.series(entry.kpi)
    if sb is None or sa is None or definitions_unplaced(wb) != definitions_unplaced(wa):
        return False
    at = _position(sb, entry)
    if at is None or not same_series(wb.measurements, wa.measurements, except_at=(entry.kpi, at)):
        return False
    now = sa[at]
    if measurement_key(now) != measurement_key(corrected):
        return False
    history = list(full)
    j = full.orders.index(entry.order)
    changed = list(history)
    changed[j] = dataclasses.replace(history[j], value=now.value, note=now.note)
    return _same_rules(base, (wb, history), (wa, changed))
