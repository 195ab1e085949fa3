"""Renaming a KPI or objective id everywhere, as a byte-preserving text edit.

`rename` (the command's core) reads the workspace once: the plan comes from the
load's parses (`_edit_file`: the definitions' id scalars from the nodes; for the
measurements, a scan of the text at each row with the old id), the edited
record-style lines are checked line by line, any other edited file is parsed
again and compared (`_reads_back`), and the edited workspace must load without
errors. `_write` then checks every target with the writers' permission rule,
locks them all (sorted), re-reads them under the locks and replaces them.
`rename_id_in_text` is the careful, pure way for one text (the full node reader,
re-parse and compare): the fallback for entry shapes the scan does not know.
`rename_in_files` renames in given files without a workspace load.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate
from pathlib import Path

from kpitrack.domain.model import Config
from kpitrack.domain.problems import InvalidWorkspaceError, UsageError, WriteError
from kpitrack.reading.loading import ParseMemo, load_texts, may_define, parse_file
from kpitrack.reading.yamlnodes import (
    Map,
    Node,
    Rows,
    Scalar,
    Seq,
    YamlFatal,
    decode,
    parse,
    record_line,
)
from kpitrack.writing.atomicfile import (
    check_writable,
    commit,
    file_lock,
    remove_orphaned_temp_files,
)
from kpitrack.writing.yamlappend import BOM, Edit, apply_edits, line_offsets, yaml_scalar


class IdKind(StrEnum):
    KPI = "kpi"
    OBJECTIVE = "objective"


# Where an id of each kind stands: (section, key) pairs of the entries holding it.
# A key holding a list (`drivers`, an event's `kpis`) names ids in its items.
ID_FIELDS: dict[IdKind, tuple[tuple[str, str], ...]] = {
    IdKind.KPI: (("kpis", "id"), ("measurements", "kpi"), ("kpis", "drivers"), ("events", "kpis")),
    IdKind.OBJECTIVE: (("objectives", "id"), ("kpis", "objective"), ("objectives", "parent")),
}


@dataclass(frozen=True)
class Change:
    """One changed line: its number (1-based), the old and the new text."""

    line: int
    old: str
    new: str


def id_nodes(root: Node | None, kind: IdKind, old_id: str) -> Iterator[Scalar]:
    """The scalar nodes holding `old_id` as an id of `kind` (definitions and references)."""
    if not isinstance(root, Map):
        return
    for section, key in ID_FIELDS[kind]:
        entries = root.get(section)
        if not isinstance(entries, Seq):
            continue
        for entry in entries.items:
            if not isinstance(entry, Map):
                continue
            node = entry.get(key)
            if isinstance(node, Scalar) and node.text == old_id:
                yield node
            elif isinstance(node, Seq):
                for item in node.items:
                    if isinstance(item, Scalar) and item.text == old_id:
                        yield item


def _plain(node: Node | None, swap: dict[int, str], new_id: str) -> object:
    """A node as comparable data; scalars whose id() is in `swap` take the new text.
    (The new id may need quotes where the old one did not, so its style is not compared.)"""
    if isinstance(node, Scalar):
        text = swap.get(id(node), node.text)
        return ("s", text, None if text == new_id else node.plain)
    if isinstance(node, Seq):
        return [_plain(item, swap, new_id) for item in node.items]
    if isinstance(node, Map):
        return [(k.text, _plain(v, swap, new_id)) for k, v in node.items]
    return None


def rename_id_in_text(
    text: str, path: str, kind: IdKind, old_id: str, new_id: str
) -> tuple[str, list[Change]]:
    """Rename `old_id` to `new_id` (a KPI or objective id) in one YAML file's text.

    Only the exact spans of the id scalars in id positions (`kpis[].id`,
    `measurements[].kpi`, `kpis[].drivers[]` and `events[].kpis[]` for a KPI;
    `objectives[].id`, `objectives[].parent` and `kpis[].objective` for an
    objective) are replaced; every other byte stays. The result is re-parsed and
    must equal the old document with only those scalars changed, else ValueError.
    Returns the new text and the changed lines (none: the text is returned as is).
    """
    root, problems = parse(text, path)
    if any(p.is_error for p in problems):
        raise ValueError(f"{path}: not valid YAML; nothing renamed")
    nodes = list(id_nodes(root, kind, old_id))
    if not nodes:
        return text, []
    replacement = yaml_scalar(new_id)
    starts = line_offsets(text)
    edits = []
    for node in nodes:
        if node.end_line != node.line:
            raise ValueError(f"{path}:{node.line}: the id spans several lines; nothing renamed")
        begin = starts[node.line - 1] + node.column - 1
        end = starts[node.end_line - 1] + node.end_column - 1
        quote = text[begin]
        # a slug needs no escaping: a quoted id keeps its quotes
        swapped = f"{quote}{new_id}{quote}" if not node.plain and quote in "'\"" else replacement
        edits.append(Edit(begin, end, swapped))
    new = apply_edits(text, edits)
    new_root, new_problems = parse(new, path)
    swap = {id(node): new_id for node in nodes}
    if any(p.is_error for p in new_problems) or _plain(new_root, {}, new_id) != _plain(
        root, swap, new_id
    ):
        raise ValueError(f"{path}: the edited text would not read back as the same data")
    old_lines, new_lines = text.splitlines(), new.splitlines()
    changed = sorted({node.line for node in nodes})
    changes = [Change(n, old_lines[n - 1], new_lines[n - 1]) for n in changed]
    return new, changes


@dataclass(frozen=True)
class FileRename:
    path: Path
    changes: tuple[Change, ...]


def _read(path: Path, display: str) -> tuple[str, bool]:
    """A workspace file's text and whether it starts with a byte order mark."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WriteError(f"{display}: cannot read: {exc.strerror}") from None
    try:
        return decode(data, display), data.startswith(BOM)
    except YamlFatal as exc:
        raise WriteError(f"{display}: {exc.problem.message}") from None


# ---------------------------------------------------------------- the guided rename

# A measurement entry's `kpi` key where the entry starts (`{kpi: ` or `kpi: `), the
# id right after it: how `record` writes entries, and how most people do.
_KPI_KEY = re.compile(r"\{?[ \t]*kpi[ \t]*:[ \t]+")
_AFTER_PLAIN = frozenset(",}] \t\r\n#")


class _LineStarts:
    """The offset where each line starts, lines as libyaml counts them: `starts[n - 1]`
    for line n, `len(starts)` lines. Without exotic line breaks, computed from the
    lengths of the LF-separated lines (C speed, no object per line kept)."""

    def __init__(self, text: str) -> None:
        self._exact: list[int] | None = None
        if _EXOTIC_BREAKS.search(text):
            self._exact = line_offsets(text)
            self._ends: list[int] = []
        else:
            self._ends = list(accumulate(map(len, text.split("\n"))))

    def __len__(self) -> int:
        return len(self._exact) if self._exact is not None else len(self._ends)

    def __getitem__(self, index: int) -> int:
        if self._exact is not None:
            return self._exact[index]
        return 0 if index == 0 else self._ends[index - 1] + index  # + the LFs before it


_EXOTIC_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


def _row_id_span(text: str, offset: int, old_id: str) -> tuple[int, int, str] | None:
    """(start, end, quote) of the id of the measurement entry starting at `offset`,
    when its first key is `kpi`; None otherwise (the file then takes the slow way)."""
    key = _KPI_KEY.match(text, offset)
    if key is None:
        return None
    at = key.end()
    quote = text[at : at + 1]
    if quote in ("'", '"'):
        end = at + 1 + len(old_id)
        if text.startswith(old_id, at + 1) and text[end : end + 1] == quote:
            return at, end + 1, quote
        return None
    end = at + len(old_id)
    if text.startswith(old_id, at) and (end == len(text) or text[end] in _AFTER_PLAIN):
        return at, end, ""
    return None


@dataclass
class _FileEdit:
    """One file's planned rename: its texts, its parse before, what was renamed."""

    display: str
    path: Path
    old: str
    new: str
    changes: list[Change]
    parsed: object  # the old parse: (root, rows) or (root, problems, None)
    nodes: list[Scalar]  # renamed scalars of the old parse's nodes
    rows: list[int]  # renamed rows of the old parse's rows
    kind: IdKind
    old_id: str
    reparsed: tuple[Node | None, Rows] | None = (
        None  # the edited text's parse, when known without parsing it
    )


def _edit_file(
    display: str, text: str, parsed: object, kind: IdKind, old_id: str, new_id: str
) -> _FileEdit | None:
    """Plan the rename in one file from its parse (nodes for the definitions, compact
    rows for the measurements): the id's spans are found by a scan of the text at
    each position the parse gives; nothing is parsed here. None when nothing changes."""
    if isinstance(parsed, tuple) and len(parsed) == 2:
        root, rows = parsed
    elif isinstance(parsed, tuple) and len(parsed) == 3:
        root, rows = parsed[0], None
    else:  # pragma: no cover - a workspace loaded without errors parsed every file
        raise WriteError(f"{display}: not valid YAML; nothing renamed")
    nodes = list(id_nodes(root, kind, old_id))
    hits: list[int] = []
    if isinstance(rows, Rows) and kind is IdKind.KPI:
        hits = [i for i, kpi in enumerate(rows.kpis) if kpi == old_id]
    if not nodes and not hits:
        return None
    starts = _LineStarts(text)
    replacement = yaml_scalar(new_id)
    edits: list[Edit] = []
    lines: dict[int, list[Edit]] = {}
    for node in nodes:
        if node.end_line != node.line:
            raise WriteError(f"{display}:{node.line}: the id spans several lines; nothing renamed")
        begin = starts[node.line - 1] + node.column - 1
        end = starts[node.end_line - 1] + node.end_column - 1
        quote = text[begin]
        swapped = f"{quote}{new_id}{quote}" if not node.plain and quote in "'\"" else replacement
        edit = Edit(begin, end, swapped)
        edits.append(edit)
        lines.setdefault(node.line, []).append(edit)
    if hits:
        assert isinstance(rows, Rows)
        row_lines, row_columns = rows.lines, rows.columns
        for i in hits:
            line = row_lines[i]
            span = _row_id_span(text, starts[line - 1] + row_columns[i] - 1, old_id)
            if span is None:
                return _slow_edit(display, text, parsed, kind, old_id, new_id)
            begin, end, quote = span
            edit = Edit(begin, end, f"{quote}{new_id}{quote}" if quote else replacement)
            edits.append(edit)
            lines.setdefault(line, []).append(edit)
    try:
        new = apply_edits(text, edits)
    except ValueError:
        return _slow_edit(display, text, parsed, kind, old_id, new_id)
    changes = []
    local = bool(hits) and not nodes
    for line in sorted(lines):
        begin = starts[line - 1]
        end = starts[line] if line < len(starts) else len(text)
        old_line = text[begin:end]
        shifted = [Edit(e.start - begin, e.end - begin, e.text) for e in lines[line]]
        new_line = apply_edits(old_line, shifted)
        changes.append(Change(line, old_line.splitlines()[0], new_line.splitlines()[0]))
        local = local and _same_record_line(old_line, new_line, old_id, new_id)
    planned = _FileEdit(
        display, Path(display), text, new, changes, parsed, nodes, hits, kind, old_id
    )
    if local and isinstance(rows, Rows):
        # Every renamed entry is a whole one-line flow mapping of the shape `record` writes,
        # and it still is with only its id changed: such a line reads the same way in any
        # file, so the edited file's parse is the old one with those ids changed.
        planned.reparsed = (root, _renamed_rows(rows, hits, new_id))
    return planned


def _same_record_line(old_line: str, new_line: str, old_id: str, new_id: str) -> bool:
    """Whether both lines are whole record-style entries (the fast reader's line shape)
    that differ only in the `kpi` value, old_id before and new_id after."""
    line = record_line()
    before, after = line.fullmatch(old_line), line.fullmatch(new_line)
    if before is None or after is None:
        return False
    old_groups, new_groups = list(before.groups()), list(after.groups())
    if old_groups[1] != old_id or new_groups[1] != new_id:
        return False
    old_groups[1] = new_groups[1] = ""
    return old_groups == new_groups


def _renamed_rows(rows: Rows, hits: Sequence[int], new_id: str) -> Rows:
    """The rows with the kpi of `hits` changed; the other columns are shared."""
    out = Rows()
    out.lines, out.columns, out.dates, out.values = (
        rows.lines,
        rows.columns,
        rows.dates,
        rows.values,
    )
    out.plains, out.notes, out.bys = rows.plains, rows.notes, rows.bys
    out.kpis = list(rows.kpis)
    for i in hits:
        out.kpis[i] = new_id
    return out


def _slow_edit(
    display: str, text: str, parsed: object, kind: IdKind, old_id: str, new_id: str
) -> _FileEdit | None:
    """The full reader's way, for an entry shape the scan does not know."""
    try:
        new, changes = rename_id_in_text(text, display, kind, old_id, new_id)
    except ValueError as exc:
        raise WriteError(f"{exc}") from None
    if not changes:
        return None
    return _FileEdit(display, Path(display), text, new, changes, None, [], [], kind, old_id)


def _reads_back(edit: _FileEdit, parsed: object, new_id: str) -> bool:
    """Whether the edited text's parse equals the old parse with only the renamed ids
    changed (compared as data: rows column by column, nodes as plain values)."""
    old = edit.parsed
    if old is None:
        return True  # made by rename_id_in_text, which has checked it
    if parsed is None:
        return _reads_back_slow(edit, new_id)
    if not (isinstance(old, tuple) and isinstance(parsed, tuple) and len(old) == len(parsed)):
        return _reads_back_slow(edit, new_id)
    swap = {id(node): new_id for node in edit.nodes}
    if _plain(parsed[0], {}, new_id) != _plain(old[0], swap, new_id):
        return False
    if len(old) == 3:
        return not edit.rows
    before, after = old[1], parsed[1]
    if not isinstance(before, Rows) or not isinstance(after, Rows) or len(before) != len(after):
        return False
    kpis = list(before.kpis)
    for i in edit.rows:
        kpis[i] = new_id
    return (
        after.kpis == kpis
        and after.dates == before.dates
        and after.values == before.values
        and after.plains == before.plains
        and after.notes == before.notes
        and after.bys == before.bys
    )


def _reads_back_slow(edit: _FileEdit, new_id: str) -> bool:
    """The full reader's check (rename_id_in_text re-parses and compares both texts)."""
    try:
        again, _changes = rename_id_in_text(edit.old, edit.display, edit.kind, edit.old_id, new_id)
    except ValueError:
        return False
    return again == edit.new


@dataclass(frozen=True)
class RenameOutcome:
    """What `rename` did (or, with `dry_run`, would do): the files and lines changed."""

    kind: IdKind
    old_id: str
    new_id: str
    files: tuple[FileRename, ...]
    dry_run: bool

    @property
    def lines(self) -> int:
        return sum(len(f.changes) for f in self.files)


def rename(
    old_id: str,
    new_id: str,
    *,
    today: dt.date,
    config: Config,
    files: Sequence[Path] | None = None,
    dry_run: bool = False,
) -> RenameOutcome:
    """Rename a KPI or objective id everywhere: definition, references, measurements.

    Refused (UsageError) for an unknown id, an invalid or taken new id; the edited
    workspace must load without new errors (InvalidWorkspaceError otherwise); files
    are unchanged on any error.
    """
    from kpitrack.domain.suggest import did_you_mean
    from kpitrack.reading.rules import SLUG
    from kpitrack.writing.recording import load_for_writing

    loaded = load_for_writing(files, today, config=config)
    workspace = loaded.workspace
    if workspace.kpi(old_id) is not None:
        kind, known = IdKind.KPI, [k.id for k in workspace.kpis]
    elif workspace.objective(old_id) is not None:
        kind, known = IdKind.OBJECTIVE, [o.id for o in workspace.objectives]
    else:
        ids = [k.id for k in workspace.kpis] + [o.id for o in workspace.objectives]
        raise UsageError(f"no KPI or objective '{old_id}'{did_you_mean(old_id, ids)}")
    if not SLUG.fullmatch(new_id):
        raise UsageError(
            f"'{new_id}' is not a valid id (lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit)"
        )
    if new_id == old_id:
        raise UsageError(f"'{old_id}' already has that id")
    if new_id in known:
        raise UsageError(f"there is already a {kind.value} '{new_id}'; nothing renamed")
    texts, sources = list(loaded.texts), list(loaded.sources)
    memo, conf = loaded.memo, loaded.config
    # The model is not needed any more: let it go before the edited files are loaded.
    del loaded, workspace, known
    plan = _plan(texts, sources, memo, kind, old_id, new_id)
    _verify(plan, texts, memo, conf, today, new_id)
    if not dry_run:

        def again(texts: Sequence[tuple[str, str]]) -> list[_FileEdit]:
            plan = _plan(texts, sources, memo, kind, old_id, new_id)
            _verify(plan, texts, memo, conf, today, new_id)
            return plan

        plan = _write(plan, sources, again, old_id)
    done = [FileRename(edit.path, tuple(edit.changes)) for edit in plan]
    return RenameOutcome(kind, old_id, new_id, tuple(done), dry_run)


def rename_in_files(
    sources: Sequence[tuple[str, Path]], kind: IdKind, old_id: str, new_id: str
) -> list[FileRename]:
    """Rename the id in these files alone (no workspace load): planned, each edited file
    checked to read back as the same data, then written as `rename` writes."""
    memo: ParseMemo = {}

    def planned(texts: Sequence[tuple[str, str]]) -> list[_FileEdit]:
        plan = _plan(texts, sources, memo, kind, old_id, new_id)
        shared: dict[str, str] = {}
        for edit in plan:
            if not _reads_back(edit, parse_file(edit.display, edit.new, shared), new_id):
                raise WriteError(
                    f"{edit.display}: the edited text would not read back as the same data; "
                    "nothing renamed"
                )
        return plan

    plan = planned([(display, _read(path, display)[0]) for display, path in sources])
    plan = _write(plan, sources, planned, old_id)
    return [FileRename(edit.path, tuple(edit.changes)) for edit in plan]


def _plan(
    texts: Sequence[tuple[str, str]],
    sources: Sequence[tuple[str, Path]],
    memo: ParseMemo,
    kind: IdKind,
    old_id: str,
    new_id: str,
) -> list[_FileEdit]:
    """Every file's planned rename, from the parses of the load (a text the load did not
    parse is parsed here)."""
    paths = dict(sources)
    shared: dict[str, str] = {}
    out = []
    for display, text in texts:
        parsed = memo.get((display, text))
        if parsed is None:
            parsed = parse_file(display, text, shared)
        edit = _edit_file(display, text, parsed, kind, old_id, new_id)
        if edit is not None:
            edit.path = paths.get(display, Path(display))
            out.append(edit)
    return out


def _verify(
    plan: Sequence[_FileEdit],
    texts: Sequence[tuple[str, str]],
    memo: ParseMemo,
    config: Config,
    as_of: dt.date,
    new_id: str,
) -> None:
    """The edited workspace must load without errors, and each edited file must read
    back as its old data with only the renamed ids changed (from the load's parses)."""
    if not plan:
        return
    if _shown_without_errors(plan, texts, memo, config, as_of, new_id):
        return
    _whole_verify(plan, texts, memo, config, as_of, new_id)


def _whole_verify(
    plan: Sequence[_FileEdit],
    texts: Sequence[tuple[str, str]],
    memo: ParseMemo,
    config: Config,
    as_of: dt.date,
    new_id: str,
) -> None:
    """`_verify` on the whole workspace loaded with the edited texts."""
    edited = {edit.display: edit.new for edit in plan}
    for edit in plan:
        if edit.reparsed is not None:
            memo[edit.display, edit.new] = edit.reparsed
    full = [(display, edited.get(display, text)) for display, text in texts]
    _workspace, problems = load_texts(full, config=config, as_of=as_of, memo=memo)
    del _workspace
    errors = [p for p in problems if p.is_error]
    if errors:
        raise InvalidWorkspaceError(errors)
    for edit in plan:
        if not _reads_back(edit, memo.get((edit.display, edit.new)), new_id):
            raise WriteError(
                f"{edit.display}: the edited text would not read back as the same data; "
                "nothing renamed"
            )


def _measurements_alone(parsed: object) -> Rows | None:
    """A file's rows when its parse is a file of measurements alone (compact rows and
    nothing else: no definitions, no events), else None."""
    if not (isinstance(parsed, tuple) and len(parsed) == 2):
        return None
    root, rows = parsed
    if not isinstance(rows, Rows) or type(root) is not Map or len(root.items) != 1:
        return None
    key, seq = root.items[0]
    if type(key) is not Scalar or key.text != "measurements" or not isinstance(seq, Seq):
        return None
    return None if seq.items else rows


def _shown_without_errors(
    plan: Sequence[_FileEdit],
    texts: Sequence[tuple[str, str]],
    memo: ParseMemo,
    config: Config,
    as_of: dt.date,
    new_id: str,
) -> bool:
    """True when the whole check of `_verify` would pass, shown without loading the
    unchanged files of measurements alone: the command's load had no error, the
    definitions change only by the renamed id (each edited file reads back), so such a
    file's rows check as before unless one names the old id (the plan renames every
    one; one left would be an unknown KPI). The edited files are loaded with every other
    file (those that may define something, or hold more than rows); no error there and
    every edited file reading back shows it. False: not shown here (the whole workspace
    is loaded, as before, and its errors reported)."""
    edited = {edit.display: edit.new for edit in plan}
    kind = plan[0].kind
    old_id = plan[0].old_id
    keep: list[tuple[str, str]] = []
    for display, text in texts:
        if display in edited:
            keep.append((display, edited[display]))
            continue
        parsed = memo.get((display, text))
        if parsed is None:
            return False
        rows = None if may_define(text) else _measurements_alone(parsed)
        if rows is None:
            keep.append((display, text))
        elif kind is IdKind.KPI and old_id in rows.kpis:
            return False
    local: ParseMemo = {key: found for key in keep if (found := memo.get(key)) is not None}
    for edit in plan:
        if edit.reparsed is not None:
            local[edit.display, edit.new] = edit.reparsed
    _workspace, problems = load_texts(keep, config=config, as_of=as_of, memo=local)
    del _workspace
    if any(p.is_error for p in problems):
        return False
    return all(_reads_back(edit, local.get((edit.display, edit.new)), new_id) for edit in plan)


def _write(
    plan: list[_FileEdit],
    sources: Sequence[tuple[str, Path]],
    again: Callable[[Sequence[tuple[str, str]]], list[_FileEdit]],
    old_id: str,
) -> list[_FileEdit]:
    """Replace every planned file: all of them checked by the writers' permission rule,
    then all locked (sorted), re-read under the locks (planned again if another writer
    changed one meanwhile), then all replaced, so that no reader that respects the
    locks sees some files renamed and others not."""
    targets = {edit.display: check_writable(edit.path, edit.display) for edit in plan}
    with ExitStack() as stack:
        for real in sorted(set(targets.values()), key=str):
            stack.enter_context(file_lock(real))
        for folder in sorted({real.parent for real in targets.values()}, key=str):
            remove_orphaned_temp_files(folder)
        boms: dict[str, bool] = {}
        changed = False
        for edit in plan:
            text, boms[edit.display] = _read(targets[edit.display], edit.display)
            changed = changed or text != edit.old
        if changed:  # another writer came first: plan again from what is there now
            texts = [(display, _read(path, display)[0]) for display, path in sources]
            plan = again(texts)
            if any(edit.display not in targets for edit in plan):
                raise WriteError(
                    f"another writer added '{old_id}' to a file meanwhile; nothing renamed, "
                    "run the rename again"
                )
        for edit in plan:
            target = targets[edit.display]
            payload = (BOM if boms[edit.display] else b"") + edit.new.encode("utf-8")
            mode = stat.S_IMODE(os.stat(target).st_mode)
            commit(target, payload, mode=mode)
    return plan
