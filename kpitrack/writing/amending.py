"""`kpitrack amend KPI --date DATE VALUE`: correct the value (and the note) of the entry
that counts for a period, in place (docs/writing.md, "Correcting a value").

The entry is found in the workspace load: the KPI's measurements dated in the KPI's
reporting period that holds DATE. None is a usage error (use `record`); two or more
are refused with every one named (which one to correct is the user's call). The
edit is a span edit of that entry's `value:` scalar (and `note:`), every other byte
kept (`yamlappend.amend_entry`); under the file's lock, atomically, with the file
read again under the lock and verified twice before the rename: the new text must
parse to the old document with only that entry changed, and the workspace must load
with exactly that measurement replaced and no new errors (shown first by what the edit
can change, `writing/editcheck.py`; the whole workspace is loaded again only when that
does not show it).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kpitrack.domain.model import Config, Kpi, KpiResult, Measurement
from kpitrack.domain.periods import Period, parse_period, period_containing
from kpitrack.domain.problems import Problem, UsageError, WriteError
from kpitrack.domain.workspace import Workspace
from kpitrack.reading.loading import load_texts
from kpitrack.writing import atomicfile
from kpitrack.writing.atomicfile import (
    LOCK_TIMEOUT,
    check_folder,
    file_lock,
    read_existing,
    remove_orphaned_temp_files,
)
from kpitrack.writing.editcheck import Baseline, accepts_amend, load_for_editing
from kpitrack.writing.recording import Loaded, measurement_key, require_kpi
from kpitrack.writing.samerows import same_series
from kpitrack.writing.userinput import free_text, parse_value
from kpitrack.writing.yamlappend import (
    BOM,
    amend_entry,
    decode_existing,
    refuse_amend,
    split_lines,
    yaml_value,
)


@dataclass(frozen=True)
class AmendOutcome:
    """What `amend` did (or, with `dry_run`, would do)."""

    kpi: Kpi
    period: Period
    old: Measurement  # the entry as it was (its location: file and line)
    new: Measurement  # as it is now
    target: Path
    before: tuple[str, ...]  # the entry's lines before, without line endings
    after: tuple[str, ...]  # and after
    warnings: tuple[Problem, ...]
    result: KpiResult  # the KPI's status with the corrected value
    dry_run: bool
    changed: bool  # False: the entry already read so; nothing was written


def kpi_period(kpi: Kpi, text: str) -> Period:
    """The KPI's reporting period that `--date` names: a date, or a period no longer
    than one of the KPI's (2026-W48 for a weekly KPI, 2026-10 or a day in it for a
    monthly one). UsageError otherwise."""
    try:
        given = parse_period(text)
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None
    period = period_containing(kpi.frequency, given.start)
    if given.end not in period:
        raise UsageError(
            f"--date: '{text}' spans more than one {kpi.frequency} period of KPI '{kpi.id}'; "
            f"give a date or a period like {period.label}"
        )
    return period


def entries_in(workspace: Workspace, kpi: Kpi, period: Period) -> list[Measurement]:
    """The KPI's measurements dated in `period`, in reading order."""
    series = workspace.measurements.series(kpi.id)
    if series is None:
        return []
    return sorted((m for m in series if m.date in period), key=lambda m: m.order)


def counting_entry(workspace: Workspace, kpi: Kpi, period: Period) -> Measurement:
    """The one entry of the period; UsageError when there is none or more than one."""
    found = entries_in(workspace, kpi, period)
    if not found:
        raise UsageError(
            f"KPI '{kpi.id}' has no value for {period.label}; nothing to amend "
            f"(`kpitrack record {kpi.id} VALUE --date {period.label}` adds one)"
        )
    if len(found) > 1:
        lines = "; ".join(
            f"{m.loc} ({m.date.isoformat()}, value {yaml_value(m.value)})" for m in found
        )
        raise UsageError(
            f"KPI '{kpi.id}' has {len(found)} values for {period.label}: {lines}; "
            "amend cannot tell which one to correct: edit the file and remove one"
        )
    return found[0]


def amend(
    kpi_id: str,
    value: str,
    *,
    date: str,
    today: dt.date,
    config: Config,
    note: str | None = None,
    files: Sequence[Path] | None = None,
    dry_run: bool = False,
    timeout: float = LOCK_TIMEOUT,
) -> AmendOutcome:
    """Replace the value (and with `note`, the note) of the KPI's entry for the period
    holding `date`. Raises UsageError (unknown KPI, bad value or date, no entry or two),
    InvalidWorkspaceError, WriteError (file unchanged)."""
    from kpitrack.evaluation.evaluate import evaluate_kpi

    loaded = load_for_editing(files, today, config=config)
    kpi = require_kpi(loaded.workspace, kpi_id)
    period = kpi_period(kpi, date)
    try:
        parsed = parse_value(kpi, value)
        new_note = free_text(note, "--note")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    old = counting_entry(loaded.workspace, kpi, period)
    target = loaded.path_of(old.loc.path)
    real = Path(os.path.realpath(target))
    check_folder(real.parent, target)
    if dry_run:
        placed, before, after, warnings, changed = _edit(
            loaded, kpi, period, real, target, parsed, new_note, write=False
        )
    else:
        with file_lock(real, timeout=timeout):
            remove_orphaned_temp_files(real.parent)
            placed, before, after, warnings, changed = _edit(
                loaded, kpi, period, real, target, parsed, new_note, write=True
            )
    new = replace(placed, value=parsed, note=new_note if new_note is not None else placed.note)
    history = [new if m.order == placed.order else m for m in _series(loaded.workspace, kpi)]
    as_of = max(today, new.date)
    result = evaluate_kpi(kpi, history, as_of=as_of, config=loaded.config)
    return AmendOutcome(
        kpi, period, placed, new, target, before, after, tuple(warnings), result, dry_run, changed
    )


def _series(workspace: Workspace, kpi: Kpi) -> list[Measurement]:
    return list(workspace.measurements.series(kpi.id) or ())


def _holds_corrected(
    workspace: Workspace, after_ws: Workspace, entry: Measurement, corrected: Measurement
) -> bool:
    """Whether the workspace after the edit holds exactly the old measurements with
    `entry` replaced by `corrected`: on the columns when they match (the usual case, no
    Measurement built for the others), else as multisets of `measurement_key`."""
    series = workspace.measurements.series(entry.kpi)
    after = after_ws.measurements.series(entry.kpi)
    if series is not None and after is not None and entry.order in series.orders:
        at = series.orders.index(entry.order)
        if (
            len(after) == len(series)
            and same_series(
                workspace.measurements, after_ws.measurements, except_at=(entry.kpi, at)
            )
            and measurement_key(after[at]) == measurement_key(corrected)
        ):
            return True
    want = Counter(measurement_key(m) for m in workspace.measurements)
    want[measurement_key(entry)] -= 1
    want[measurement_key(corrected)] += 1
    got = Counter(measurement_key(m) for m in after_ws.measurements)
    return +want == got


def _whole_check(
    loaded: Loaded,
    texts: list[tuple[str, str]],
    index: int,
    new_text: str,
    workspace: Workspace,
    problems: list[Problem],
    entry: Measurement,
    corrected: Measurement,
    shown: Path,
) -> list[Problem]:
    """The workspace loaded again with the new text must hold exactly the old
    measurements with `entry` replaced by `corrected`, and no new errors (WriteError
    otherwise); returns the new warnings."""
    display = texts[index][0]
    texts[index] = (display, new_text)
    after_ws, after_problems = load_texts(
        texts, config=loaded.config, as_of=loaded.as_of, memo=loaded.memo
    )
    if not _holds_corrected(workspace, after_ws, entry, corrected):
        raise refuse_amend(
            str(shown), "after the edit the workspace would not hold exactly the corrected entry"
        )

    def sig(p: Problem) -> tuple[str, str, str]:
        return (p.path, p.code, p.message)

    new_errors = [p for p in after_problems if p.is_error]
    if new_errors:
        raise refuse_amend(str(shown), f"the edit would add errors: {new_errors[0].format()}")
    old_warnings = {sig(p) for p in problems}
    return [p for p in after_problems if sig(p) not in old_warnings]


def _edit(
    loaded: Loaded,
    kpi: Kpi,
    period: Period,
    real: Path,
    shown: Path,
    value: object,
    note: str | None,
    *,
    write: bool,
) -> tuple[Measurement, tuple[str, ...], tuple[str, ...], list[Problem], bool]:
    """Read the file (under the lock when writing), find the entry again, edit and
    verify; with `write`, replace the file (unless the edit changes nothing). Returns
    the entry, its lines before and after, the new warnings and whether the text
    changed."""
    index = loaded.index_of(real)
    if index is None:  # pragma: no cover - the entry was read from a workspace file
        raise WriteError(f"{shown}: not among the workspace's files; file unchanged")
    display = loaded.sources[index][0]
    data, info = read_existing(real, shown)
    old_text, bom = decode_existing(data, str(shown))
    if old_text is None or info is None:
        raise refuse_amend(str(shown), "the file is gone")
    texts = list(loaded.texts)
    workspace, problems = loaded.workspace, loaded.problems
    if old_text != texts[index][1]:  # another writer changed it since the load
        texts[index] = (display, old_text)
        workspace, problems = load_texts(
            texts, config=loaded.config, as_of=loaded.as_of, memo=loaded.memo
        )
        if any(p.is_error for p in problems):
            raise WriteError(
                f"{shown}: changed by another writer meanwhile and now has errors; "
                "run `kpitrack check`; file unchanged"
            )
    entry = counting_entry(workspace, kpi, period)
    if entry.loc.path != display:
        raise WriteError(f"{shown}: the entry moved to another file meanwhile; file unchanged")
    assert isinstance(value, int | float | str)
    new_text, first, last = amend_entry(
        old_text,
        entry_line=entry.loc.line,
        entry_column=entry.loc.column,
        value=value,
        note=note,
        path=str(shown),
    )
    corrected = replace(entry, value=value, note=note if note is not None else entry.note)
    base = Baseline(loaded.workspace, loaded.texts, loaded.memo, loaded.config, loaded.as_of)
    if workspace is loaded.workspace and accepts_amend(
        base, index, old_text, new_text, entry, corrected
    ):
        # Shown by what the edit can change: the whole-workspace check below would
        # accept it and report no new warning (writing/editcheck.py).
        warnings: list[Problem] = []
    else:
        warnings = _whole_check(
            loaded, texts, index, new_text, workspace, problems, entry, corrected, shown
        )
    old_lines, new_lines = split_lines(old_text), split_lines(new_text)
    end_old = last - (len(new_lines) - len(old_lines))
    before = tuple(line.rstrip("\r\n") for line in old_lines[first - 1 : end_old])
    after = tuple(line.rstrip("\r\n") for line in new_lines[first - 1 : last])
    changed = new_text != old_text
    if write and changed:
        payload = (BOM if bom else b"") + new_text.encode("utf-8")
        atomicfile.check_size(payload, str(shown))
        atomicfile.commit(real, payload, mode=stat.S_IMODE(info.st_mode))
    return entry, before, after, warnings, changed
