"""`kpitrack review`: set a KPI's `last_reviewed`, locked, atomic and byte-preserving.

The edit is a span edit of one line of the file that defines the KPI: the
value of an existing `last_reviewed:` key is replaced in place (with the rest
of that line, where an earlier review's note comment sits), or the key is
inserted as a new line after the KPI's last key, at the indentation of its
keys. Every other byte is kept (`yamlappend.apply_edits`, the span edit `rename`
uses too). The write uses `kpitrack.writing.atomicfile`'s lock,
orphan clean-up and atomic replace, and is verified twice before it lands:
the new text must parse to the old document with only that value changed,
and the workspace must load to the old one with only that KPI's
`last_reviewed` changed and no new errors (shown first by what the edit can
change, `writing/editcheck.py`; the whole workspace is loaded again only when
that does not show it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kpitrack.domain.model import Config, Kpi, KpiResult
from kpitrack.domain.problems import Problem, UsageError, WriteError
from kpitrack.domain.workspace import Workspace
from kpitrack.reading.yamlnodes import Map, Node, Scalar, Seq, YamlFatal, parse
from kpitrack.writing.atomicfile import (
    LOCK_TIMEOUT,
    check_writable,
    commit,
    file_lock,
    read_existing,
    remove_orphaned_temp_files,
)
from kpitrack.writing.editcheck import Baseline, accepts_review, load_for_editing
from kpitrack.writing.recording import WorkspaceLoads, measurement_key
from kpitrack.writing.samerows import definitions_unplaced, same_series
from kpitrack.writing.yamlappend import (
    BOM,
    Edit,
    apply_edits,
    content_end,
    decode_existing,
    line_offsets,
    newline_of,
    node_shape,
    parse_root,
    split_lines,
)

REVIEW_KEY = "last_reviewed"
_LINE_ENDINGS = ("\r\n", "\n", "\r", "\x85", "\u2028", "\u2029")


def _refuse(path: str, why: str) -> WriteError:
    return WriteError(f"{path}: cannot safely set {REVIEW_KEY}: {why}; file unchanged")


def _root(text: str, path: str) -> Map:
    root = parse_root(text, path, _refuse)
    if not isinstance(root, Map):
        raise _refuse(path, "the file is not a mapping of objectives, kpis and measurements")
    return root


def _kpi_entry(root: Map, kpi_id: str, path: str) -> Map:
    if root.flow:
        raise _refuse(path, "the file is written in flow style ({...})")
    kpis = root.get("kpis")
    if not isinstance(kpis, Seq):
        raise _refuse(path, "the file has no kpis list")
    if kpis.flow:
        raise _refuse(path, "'kpis' is written in flow style ([...]); write it as a block list")
    for entry in kpis.items:
        found = entry.get("id") if isinstance(entry, Map) else None
        if isinstance(entry, Map) and isinstance(found, Scalar) and found.text == kpi_id:
            if entry.flow:
                raise _refuse(
                    path,
                    f"KPI '{kpi_id}' (line {entry.line}) is written in flow style ({{...}}); "
                    "write it as a block mapping, one key per line",
                )
            return entry
    raise _refuse(path, f"KPI '{kpi_id}' is not defined in this file")


def _line_ending(line: str) -> str:
    for ending in _LINE_ENDINGS:
        if line.endswith(ending):
            return ending
    return ""


def set_kpi_key(text: str, kpi_id: str, key: str, rendered: str, *, path: str) -> str:
    """`text` with `key: rendered` in the block mapping of KPI `kpi_id`. Pure.

    An existing `key:` line keeps everything up to its colon and gets
    ` rendered` as the rest of the line; a missing key is inserted as a new line
    after the KPI's last key. Raises WriteError when that cannot be done safely.
    """
    lines = split_lines(text)
    starts = line_offsets(text)
    entry = _kpi_entry(_root(text, path), kpi_id, path)
    first_key = entry.items[0][0]
    existing = next(((k, v) for k, v in entry.items if k.text == key), None)
    if existing is not None:
        key_node, value = existing
        line = lines[key_node.line - 1]
        colon = re.compile(rf"{re.escape(key)}[ \t]*:").match(line, key_node.column - 1)
        if (
            colon is None
            or not isinstance(value, Scalar)
            or not key_node.plain
            or (value.text and (value.line != key_node.line or value.end_line != key_node.line))
        ):
            raise _refuse(path, f"KPI '{kpi_id}': {key} (line {key_node.line}) is not on one line")
        start = starts[key_node.line - 1]
        end = start + len(line) - len(_line_ending(line))
        return apply_edits(text, [Edit(start + colon.end(), end, " " + rendered)])
    end_line, end_column = content_end(entry)
    after = end_line if end_column > 1 else end_line - 1
    if not 0 < after <= len(lines):
        raise _refuse(path, f"could not find the end of KPI '{kpi_id}'")
    newline = newline_of(text)
    added = " " * (first_key.column - 1) + f"{key}: {rendered}" + newline
    if not _line_ending(lines[after - 1]):
        added = newline + added
    return apply_edits(text, [Edit(starts[after], starts[after], added)])


def review_line(day: dt.date, note: str | None) -> str:
    """The value written after `last_reviewed:`: the date, and the note as a comment."""
    return day.isoformat() + (f"  # {note}" if note else "")


def check_note(note: str | None) -> str | None:
    """A review note: one line of printable text (it becomes a YAML comment)."""
    if note is None or not note.strip():
        return None
    if any(not ch.isprintable() for ch in note):
        raise ValueError("--note must be one line of printable text")
    return note.strip()


def _entrynode_shape(root: Node | None, kpi_id: str) -> tuple[object, str | None]:
    """The document's shape with KPI `kpi_id`'s `last_reviewed` taken out, and that value."""
    if not isinstance(root, Map):
        return node_shape(root), None
    shapes: list[object] = []
    value: str | None = None
    for key, node in root.items:
        if key.text != "kpis" or not isinstance(node, Seq):
            shapes.append((node_shape(key), node_shape(node)))
            continue
        items: list[object] = []
        for entry in node.items:
            found = entry.get("id") if isinstance(entry, Map) else None
            if isinstance(entry, Map) and isinstance(found, Scalar) and found.text == kpi_id:
                kept = [(k, v) for k, v in entry.items if k.text != REVIEW_KEY]
                reviewed = entry.get(REVIEW_KEY)
                value = reviewed.text if isinstance(reviewed, Scalar) else None
                items.append(("map", tuple((node_shape(k), node_shape(v)) for k, v in kept)))
            else:
                items.append(node_shape(entry))
        shapes.append((node_shape(key), ("seq", tuple(items))))
    return tuple(shapes), value


def check_review_edit(old: str, new: str, kpi_id: str, day: dt.date, *, path: str) -> None:
    """The new text must parse to the old document with only the KPI's review date changed."""
    try:
        new_root, problems = parse(new, path)
    except YamlFatal as exc:
        raise _refuse(path, f"the new text would not parse ({exc.problem.format()})") from None
    if problems:
        raise _refuse(path, "the new text would have errors")
    old_shape, _ = _entrynode_shape(parse(old, path)[0], kpi_id)
    new_shape, new_value = _entrynode_shape(new_root, kpi_id)
    if old_shape != new_shape or new_value != day.isoformat():
        raise _refuse(path, "the new text would change more than the review date")


def _same_measurements(a: Workspace, b: Workspace) -> bool:
    """The same measurements, positions aside: on the columns when they match (the usual
    case, no Measurement built), else as multisets of `measurement_key`."""
    if same_series(a.measurements, b.measurements):
        return True
    return Counter(map(measurement_key, a.measurements)) == Counter(
        map(measurement_key, b.measurements)
    )


def verify_workspace(
    loads: WorkspaceLoads,
    old: str,
    new: str,
    kpi_id: str,
    day: dt.date,
    *,
    base: tuple[Baseline, int] | None = None,
) -> list[Problem]:
    """The workspace with the new text must be the old one with only the KPI's
    `last_reviewed` set to `day`, and no new errors; returns the new warnings.

    With `base` (the command's load and the target's index in it) the edit is first
    checked by what it can change (`editcheck.accepts_review`); only when that does not
    show it harmless is the whole workspace loaded again and compared."""
    if base is not None and accepts_review(base[0], loads.sources, base[1], old, new, kpi_id, day):
        return []
    texts, index = loads.texts(old)
    before_ws, before = loads.load(texts)
    texts[index] = (texts[index][0], new)
    after_ws, after = loads.load(texts)
    expected = Workspace(
        objectives=before_ws.objectives,
        kpis=tuple(
            dataclasses.replace(k, last_reviewed=day) if k.id == kpi_id else k
            for k in before_ws.kpis
        ),
        measurements=before_ws.measurements,
    )

    def sig(p: Problem) -> tuple[str, str, str]:
        return (p.path, p.code, p.message)

    old_errors = {sig(p) for p in before if p.is_error}
    new_errors = [p for p in after if p.is_error and sig(p) not in old_errors]
    if new_errors:
        shown = "; ".join(p.format() for p in new_errors[:3])
        raise _refuse(str(loads.target), f"the edit would add errors: {shown}")
    if definitions_unplaced(after_ws) != definitions_unplaced(expected) or not _same_measurements(
        after_ws, expected
    ):
        raise _refuse(
            str(loads.target),
            "after the edit the workspace would differ from the old one by more than "
            f"KPI '{kpi_id}''s {REVIEW_KEY}",
        )
    old_warnings = {sig(p) for p in before if not p.is_error}
    return [p for p in after if not p.is_error and sig(p) not in old_warnings]


def write_review(
    path: Path,
    kpi_id: str,
    day: dt.date,
    *,
    note: str | None = None,
    loads: WorkspaceLoads | None = None,
    base: tuple[Baseline, int] | None = None,
    timeout: float = LOCK_TIMEOUT,
) -> Sequence[Problem]:
    """Set `last_reviewed: day` on KPI `kpi_id` in the file at `path`, under the lock,
    atomically; returns the warnings the edit brings. Raises WriteError, with the
    file unchanged, when the edit is refused or fails. `base`: see verify_workspace."""
    target = check_writable(path)
    display = str(path)
    with file_lock(target, timeout=timeout):
        remove_orphaned_temp_files(target.parent)
        data, info = read_existing(target, path)
        old, bom = decode_existing(data, display)
        if old is None or info is None:
            raise _refuse(display, "the file does not exist")
        new = set_kpi_key(old, kpi_id, REVIEW_KEY, review_line(day, note), path=display)
        check_review_edit(old, new, kpi_id, day, path=display)
        warnings = (
            verify_workspace(loads, old, new, kpi_id, day, base=base) if loads is not None else []
        )
        payload = (BOM if bom else b"") + new.encode("utf-8")
        commit(target, payload, mode=stat.S_IMODE(info.st_mode))  # interrupts held after it
    return warnings


@dataclass(frozen=True)
class ReviewOutcome:
    """What `review` did: the file written, the warnings, the KPI's status after it."""

    kpi: Kpi
    day: dt.date
    target: Path
    warnings: tuple[Problem, ...]
    result: KpiResult  # evaluated as of the review day, with the new last_reviewed


def review(
    kpi_id: str,
    *,
    day: dt.date,
    today: dt.date,
    config: Config,
    note: str | None = None,
    files: Sequence[Path] | None = None,
) -> ReviewOutcome:
    """Set KPI `kpi_id`'s `last_reviewed` to `day` in the file that defines it.

    Raises UsageError for a day after today, a bad note or an unknown KPI,
    InvalidWorkspaceError for a workspace with errors, WriteError when the edit is
    refused (file unchanged)."""
    from kpitrack.evaluation.evaluate import evaluate_kpi
    from kpitrack.writing.recording import require_kpi

    if day > today:
        raise UsageError(f"--date {day.isoformat()} is after today ({today.isoformat()})")
    try:
        text = check_note(note)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    loaded = load_for_editing(files, day, config=config)
    kpi = require_kpi(loaded.workspace, kpi_id)
    target = loaded.path_of(kpi.loc.path)
    index = loaded.index_of(target)
    base = Baseline(loaded.workspace, loaded.texts, loaded.memo, loaded.config, loaded.as_of)
    warnings = write_review(
        target,
        kpi.id,
        day,
        note=text,
        loads=loaded.loads(target),
        base=(base, index) if index is not None else None,
    )
    history = list(loaded.workspace.measurements.series(kpi.id) or ())  # reading order
    result = evaluate_kpi(
        dataclasses.replace(kpi, last_reviewed=day), history, as_of=day, config=loaded.config
    )
    return ReviewOutcome(kpi, day, target, tuple(warnings), result)
