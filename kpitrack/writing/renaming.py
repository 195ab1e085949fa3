"""Renaming a KPI or objective id everywhere, as a byte-preserving text edit.

The edit is pure and checked: `rename_id_in_text` finds the exact spans of the
id (from the YAML reader's located nodes), replaces only those, re-parses the
result and verifies that it equals the old document with only those ids
changed. `rename_in_files` applies it to workspace files under the same lock
and atomic replace as `record` (kpitrack.writing.atomicfile); `rename` is the command's core.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from kpitrack.domain.model import Config
from kpitrack.domain.problems import InvalidWorkspaceError, UsageError, WriteError
from kpitrack.reading.yamlnodes import Map, Node, Scalar, Seq, YamlFatal, decode, parse
from kpitrack.writing.atomicfile import atomic_write_bytes, file_lock
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


def plan_rename(
    sources: Sequence[tuple[str, Path]], kind: IdKind, old_id: str, new_id: str
) -> list[tuple[Path, str, str, list[Change]]]:
    """(path, old text, new text, changes) of every workspace file the rename touches."""
    out = []
    for display, path in sources:
        old = _read_text(path, display)
        try:
            new, changes = rename_id_in_text(old, display, kind, old_id, new_id)
        except ValueError as exc:
            raise WriteError(f"{exc}") from None
        if changes:
            out.append((path, old, new, changes))
    return out


def _read_text(path: Path, display: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WriteError(f"{display}: cannot read: {exc.strerror}") from None
    try:
        return decode(data, display)
    except YamlFatal as exc:
        raise WriteError(f"{display}: {exc.problem.message}") from None


def rename_in_files(
    sources: Sequence[tuple[str, Path]],
    kind: IdKind,
    old_id: str,
    new_id: str,
    *,
    check: Callable[[list[tuple[str, str | None]]], None] | None = None,
) -> list[FileRename]:
    """Rename the id in every workspace file: all files locked (in a fixed order), each
    re-read under the lock, edited by `rename_id_in_text`, and replaced atomically.
    `check`, when given, is called with [(display, new text)] of all files before any
    write and may raise to refuse the rename (files unchanged)."""
    from contextlib import ExitStack

    real = sorted({os.path.realpath(p) for _d, p in sources})
    with ExitStack() as stack:
        for real_path in real:
            stack.enter_context(file_lock(Path(real_path)))
        plan = plan_rename(sources, kind, old_id, new_id)
        if check is not None:
            edited = {str(p): new for p, _old, new, _c in plan}
            check([(d, edited.get(str(p))) for d, p in sources])
        writes = []
        for path, _old, new, _changes in plan:  # every refusal before the first write
            target = Path(os.path.realpath(path))
            info = os.stat(target)
            if info.st_nlink > 1:
                raise WriteError(f"{path}: file has hard links; nothing renamed")
            bom = target.read_bytes().startswith(BOM)
            writes.append((target, (BOM if bom else b"") + new.encode("utf-8"), info))
        for target, payload, info in writes:
            atomic_write_bytes(target, payload, mode=stat.S_IMODE(info.st_mode))
    return [FileRename(path, tuple(changes)) for path, _o, _n, changes in plan]


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
    from kpitrack.reading.loading import load_texts
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
    errors_before = sum(p.is_error for p in loaded.problems)
    old_texts = dict(loaded.texts)

    def check(texts: list[tuple[str, str | None]]) -> None:
        full = [(d, t if t is not None else old_texts[d]) for d, t in texts]
        _ws, problems = load_texts(full, config=loaded.config, as_of=today, memo=loaded.memo)
        if sum(p.is_error for p in problems) > errors_before:
            raise InvalidWorkspaceError([p for p in problems if p.is_error])

    if dry_run:
        plan = plan_rename(loaded.sources, kind, old_id, new_id)
        edited = {str(path): new for path, _old, new, _changes in plan}
        check([(d, edited.get(str(path))) for d, path in loaded.sources])
        done = [FileRename(path, tuple(changes)) for path, _o, _n, changes in plan]
    else:
        done = rename_in_files(loaded.sources, kind, old_id, new_id, check=check)
    return RenameOutcome(kind, old_id, new_id, tuple(done), dry_run)
