"""Definition history from git: every change to a KPI's definition, and moved goalposts.

One `git log --raw` over the workspace paths gives, per first-parent commit, the blobs
it changed (plus `git log --follow` for a current file that a commit moved in from
outside those paths). Only those blobs are read, each once; a file that cannot define
anything (no `kpis`/`objectives` in it, see `loading.may_define`) is not even parsed.
The definitions of a commit are its files' definitions combined as `load_texts`
combines them (no workspace rules); KPIs whose file did not change are the same objects
and are not compared again. Measurements are built only when a comparison needs them:
a target made easier or a due date pushed later (was the KPI behind?), or a rename that
only the values can tell. A KPI id that disappears while a new id with the same
definition (apart from id and name) or the same measurements appears is followed as a
rename; a KPI removed and later added back is compared with its last definition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from kpitrack.domain.model import Direction, Kpi, Objective, Value
from kpitrack.domain.series import Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.git.gitrepo import (
    BlobReader,
    Commit,
    GitError,
    GitStopped,
    Repo,
    Touch,
    log_raw,
    renamed_into,
    select_yaml,
    workspace_paths,
)

if TYPE_CHECKING:
    from kpitrack.domain.model import Config
    from kpitrack.reading.loading import EntryMemo, FileDefinitions
    from kpitrack.reading.loading import Parsed as _Parsed
    from kpitrack.reading.yamlnodes import Node

FIELDS = (
    "target",
    "due",
    "start",
    "baseline",
    "milestones",
    "frequency",
    "direction",
    "owner",
    "measure",
    "objective",
    "review",
    "last_reviewed",
    "archived",
)


@dataclass(frozen=True)
class Change:
    commit: str
    date: str
    author: str
    kpi: str
    field: str
    old: str | None
    new: str | None
    moved_goalpost: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "commit": self.commit,
            "date": self.date,
            "author": self.author,
            "kpi": self.kpi,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "moved_goalpost": self.moved_goalpost,
        }


def field_text(kpi: Kpi, name: str) -> str | None:
    """A definition field as text, for comparison and display."""
    value = getattr(kpi, name)
    if value is None or value is False:  # `archived: false` is the default, not a value
        return None
    if value is True:
        return "true"
    if name == "milestones":
        return ", ".join(f"{m.date.isoformat()}: {_plain(m.target)}" for m in value) or None
    if isinstance(value, dt.date):
        return value.isoformat()
    return _plain(value)


def _plain(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_easier(kpi: Kpi, old: Value, new: Value) -> bool:
    """The target moved towards the values already reached: lowered for increase, raised
    for decrease (scale positions for qualitative KPIs)."""
    try:
        a = kpi.position(old)
        b = kpi.position(new)
    except (ValueError, TypeError):
        return False
    return b < a if kpi.direction is Direction.INCREASE else b > a


@dataclass(frozen=True)
class DefinitionChanges:
    """The report's "Definitions changed since <since>" section: history rows, oldest
    first. `unavailable` says why there is no history to show (the workspace is not in
    a git repository, git is missing, no commits yet); the section says so."""

    since: str  # a date, or the revision given to --since-rev
    changes: tuple[Change, ...] = ()
    unavailable: str | None = None


# ---------------------------------------------------------------- renames and goalposts


def _definition(kpi: Kpi) -> tuple[object, ...]:
    skip = {"id", "name", "loc"}  # milestones compare as text: their locations differ
    return tuple(_text_of(kpi, f.name) for f in fields(kpi) if f.name not in skip)


def _text_of(obj: object, name: str) -> str | None:
    value = getattr(obj, name)
    if value is None or value == ():
        return None
    if name == "milestones":
        return ", ".join(f"{m.date.isoformat()}: {_plain(m.target)}" for m in value)
    if isinstance(value, tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return _plain(value)


Values = tuple[tuple[dt.date, object], ...]


def values_of(measurements: Measurements, kpi_id: str) -> Values:
    """A KPI's (date, value) pairs in reading order."""
    series = measurements.series(kpi_id)
    return tuple((m.date, m.value) for m in series) if series is not None else ()


def match_renames(
    gone: Sequence[Kpi],
    came: Sequence[Kpi],
    before_values: Callable[[str], Values],
    after_values: Callable[[str], Values],
) -> dict[str, str]:
    """old id -> new id: a KPI that disappeared and one that appeared with the same
    definition (apart from id and name) or the same measurements. Values are asked
    for only when the definitions differ."""
    out: dict[str, str] = {}
    for old in gone:
        for new in came:
            if new.id in out.values():
                continue
            if _definition(old) == _definition(new):
                out[old.id] = new.id
                break
            values = before_values(old.id)
            if values and values == after_values(new.id):
                out[old.id] = new.id
                break
    return out


def renames(before: Workspace, after: Workspace) -> dict[str, str]:
    """old id -> new id for KPIs renamed between two snapshots."""
    old_ids = {k.id for k in before.kpis}
    new_ids = {k.id for k in after.kpis}
    return match_renames(
        [k for k in before.kpis if k.id not in new_ids],
        [k for k in after.kpis if k.id not in old_ids],
        lambda i: values_of(before.measurements, i),
        lambda i: values_of(after.measurements, i),
    )


def _easier(name: str, before_kpi: Kpi, after_kpi: Kpi) -> bool:
    if name == "target":
        return is_easier(before_kpi, before_kpi.target, after_kpi.target)
    if name == "due":
        return before_kpi.due is not None and (
            after_kpi.due is None or after_kpi.due > before_kpi.due
        )
    return False


def behind(kpi: Kpi, measurements: Measurements, day: dt.date, config: Config) -> bool:
    """At risk or off track as of `day` under this definition and these measurements."""
    from kpitrack.evaluation.evaluate import evaluate_kpi

    try:
        result = evaluate_kpi(kpi, measurements, as_of=day, config=config)
    except (ValueError, TypeError, ZeroDivisionError):
        return False
    return result.status.behind


# ---------------------------------------------------------------- snapshots from blobs


@dataclass(frozen=True)
class _Snapshot:
    """The definitions at one commit: the files (path, blob) and the KPIs they define."""

    key: tuple[tuple[str, str], ...]
    defs: tuple[FileDefinitions, ...]  # of the files that define something
    kpis: tuple[Kpi, ...]
    by_id: dict[str, Kpi]
    asked: bool = False  # the KPIs depend on whether every file parses


_EMPTY = _Snapshot((), (), (), {})


class _Blobs:
    """Each blob read and its definitions built once; a file's measurements parsed only
    when a comparison needs them (and kept only for the latest snapshot)."""

    def __init__(
        self, repo: Repo, reader: BlobReader, seed: dict[str, FileDefinitions] | None = None
    ) -> None:
        self.repo = repo
        self.reader = reader
        self.seed = seed or {}
        self.defs: dict[tuple[str, str], FileDefinitions | None] = {}
        self.fatal: dict[tuple[str, str], bool] = {}
        self.parses: dict[tuple[str, str], tuple[str, str, _Parsed] | None] = {}
        self.texts: dict[tuple[str, str], str | None] = {}
        self.entries: EntryMemo = {}
        # Per file, its last version parsed without a problem: (text, node tree).
        self.last: dict[str, tuple[str, Node]] = {}
        self.asked = False
        self.built: tuple[tuple[tuple[str, str], ...], Kpi, Measurements] | None = None
        # Per file version read as rows: where each KPI's rows are.
        self.rows: dict[tuple[str, str], dict[str, list[int]]] = {}
        self.backslash: dict[tuple[str, str], bool] = {}

    def text(self, repo_path: str, blob: str) -> str | None:
        """The file's text; None for a file that cannot be read as text (too large,
        binary, not UTF-8): it takes no part, as when it was loaded whole."""
        from kpitrack.reading.yamlnodes import MAX_FILE_BYTES, YamlFatal, decode

        key = (repo_path, blob)
        if key in self.texts:
            return self.texts[key]
        try:
            text: str | None = decode(self.reader.read(blob, limit=MAX_FILE_BYTES), repo_path)
        except GitStopped:
            raise
        except (YamlFatal, GitError):
            text = None
        self.texts[key] = text
        return text

    def definitions(self, repo_path: str, blob: str) -> FileDefinitions | None:
        key = (repo_path, blob)
        if key not in self.defs and blob in self.seed:
            self.defs[key] = self.seed[blob]
            self.fatal[key] = False
        if key not in self.defs:
            from kpitrack.reading.loading import NOTHING, file_definitions, may_define

            text = self.text(repo_path, blob)
            found: FileDefinitions | None = None
            if text is not None and not may_define(text):
                found = NOTHING
            elif text is not None:
                parsed = self._revised(repo_path, blob, text) or self.parse(repo_path, blob)
                assert parsed is not None
                found = file_definitions(parsed[0], text, parsed[2], self.entries)
                self._remember(repo_path, text, parsed[2])
            self.defs[key] = found
        return self.defs[key]

    def _remember(self, repo_path: str, text: str, parsed: _Parsed) -> None:
        """The version of a file whose next version `_revised` may derive: one read as
        rows without any (a file of definitions that parsed without a problem)."""
        if isinstance(parsed, tuple) and len(parsed) == 2 and not parsed[1]:
            from kpitrack.reading.yamlnodes import Map

            if type(parsed[0]) is Map:
                self.last[repo_path] = (text, parsed[0])
                return
        self.last.pop(repo_path, None)

    def _revised(self, repo_path: str, blob: str, text: str) -> tuple[str, str, _Parsed] | None:
        """The parse of a file's version derived from its last one, when the edit is one
        value or comments above the content (`reading/revision.py`); the KPI entries
        built before are moved along with the content, so that only the edited one is
        built again."""
        last = self.last.get(repo_path)
        if last is None:
            return None
        from kpitrack.reading.revision import move_entries, revise
        from kpitrack.reading.yamlnodes import Rows

        old_text, old_root = last
        found = revise(old_text, old_root, text)
        if found is None:
            return None
        root, delta = found
        display = self.repo.display(repo_path)
        if delta:
            move_entries(self.entries, display, old_text, old_root, delta)
        parsed: tuple[str, str, _Parsed] = (display, text, (root, Rows()))
        self.parses[(repo_path, blob)] = parsed
        self.fatal[(repo_path, blob)] = False
        return parsed

    def parse(self, repo_path: str, blob: str) -> tuple[str, str, _Parsed] | None:
        key = (repo_path, blob)
        if key not in self.parses:
            from kpitrack.domain.problems import Problem
            from kpitrack.reading.loading import parse_file

            text = self.text(repo_path, blob)
            display = self.repo.display(repo_path)
            parsed = None if text is None else (display, text, parse_file(display, text))
            self.parses[key] = parsed
            if parsed is not None:
                self.fatal[key] = isinstance(parsed[2], Problem)
        return self.parses[key]

    def complete(self, key: Sequence[tuple[str, str]]) -> bool:
        """Every file of the snapshot parses (as `load_texts`' `complete`)."""
        self.asked = True
        for repo_path, blob in key:
            if self.definitions(repo_path, blob) is None:
                continue
            if (repo_path, blob) not in self.fatal:
                self.parse(repo_path, blob)
            if self.fatal.get((repo_path, blob)):
                return False
        return True

    def _keep(self, key: tuple[tuple[str, str], ...]) -> None:
        """Texts and parses are kept for the files of the latest snapshots: those of
        other versions are let go once they outnumber the snapshot's files (not at every
        commit: each pass costs a look at every file)."""
        if len(self.texts) + len(self.parses) <= 2 * len(key) + 16:
            return
        keep = set(key)
        self.texts = {k: v for k, v in self.texts.items() if k in keep}
        self.parses = {k: v for k, v in self.parses.items() if k in keep}
        self.rows = {k: v for k, v in self.rows.items() if k in keep}
        self.backslash = {k: v for k, v in self.backslash.items() if k in keep}

    def snapshot(self, key: tuple[tuple[str, str], ...], previous: _Snapshot) -> _Snapshot:
        """The definitions at a commit. When the files that define something are the same
        as before (only measurement files changed), the previous KPIs are kept as they
        are, unless they depended on every file parsing (an unknown objective)."""
        from kpitrack.reading.loading import combine_definitions

        known = self.defs
        found = [known[k] if k in known else self.definitions(*k) for k in key]
        defs = tuple(d for d in found if d is not None and (d.objectives or d.kpis))
        self._keep(key + previous.key)
        if (
            not previous.asked
            and len(defs) == len(previous.defs)
            and all(a is b for a, b in zip(defs, previous.defs, strict=True))
        ):
            return _Snapshot(key, defs, previous.kpis, previous.by_id)
        self.asked = False
        _, kpis = combine_definitions(
            [d for d in found if d is not None], lambda: self.complete(key)
        )
        return _Snapshot(key, defs, kpis, {k.id: k for k in kpis}, self.asked)

    def measurements(self, snapshot: _Snapshot, kpi: Kpi) -> Measurements:
        """The measurements of one KPI (under this definition) in the snapshot's files:
        a file whose text does not name the KPI is not parsed (without a backslash no
        escape can spell the id); the others are parsed once per blob."""
        from kpitrack.reading.loading import build_measurements

        if self.built is not None and self.built[0] == snapshot.key and self.built[1] == kpi:
            return self.built[2]
        parses: list[tuple[str, str, _Parsed]] = []
        for path, blob in snapshot.key:
            text = self.text(path, blob)
            if text is None or (kpi.id not in text and not self._escapes(path, blob, text)):
                continue
            parsed = self.parse(path, blob)
            if parsed is not None:
                parses.append(self._only(path, blob, parsed, kpi.id))
        found = build_measurements(parses, [kpi], only=kpi.id)
        self.built = (snapshot.key, kpi, found)
        return found

    def _escapes(self, path: str, blob: str, text: str) -> bool:
        """The text has a backslash (an escape could spell any id): looked for once."""
        key = (path, blob)
        found = self.backslash.get(key)
        if found is None:
            found = self.backslash[key] = "\\" in text
        return found

    def _only(
        self, path: str, blob: str, parsed: tuple[str, str, _Parsed], kpi_id: str
    ) -> tuple[str, str, _Parsed]:
        """A file's parse with only this KPI's rows when it was read as rows (what
        `build_measurements(only=...)` keeps of it): the rows of each KPI are found
        through an index made in one pass, the first time the file is asked for."""
        from kpitrack.reading.yamlnodes import Rows

        display, text, found = parsed
        if not (isinstance(found, tuple) and len(found) == 2):
            return parsed
        rows = found[1]
        key = (path, blob)
        index = self.rows.get(key)
        if index is None:
            index = self.rows[key] = {}
            for i, kpi in enumerate(rows.kpis):
                at = index.get(kpi)
                if at is None:
                    index[kpi] = [i]
                else:
                    at.append(i)
        part = Rows()
        for i in index.get(kpi_id, ()):
            part.lines.append(rows.lines[i])
            part.columns.append(rows.columns[i])
            part.kpis.append(rows.kpis[i])
            part.dates.append(rows.dates[i])
            part.values.append(rows.values[i])
            part.plains.append(rows.plains[i])
            part.notes.append(rows.notes[i])
            part.bys.append(rows.bys[i])
        return display, text, (found[0], part)


def _compare(
    commit: Commit,
    before: _Snapshot,
    after: _Snapshot,
    blobs: _Blobs,
    config: Config,
    removed: dict[str, Kpi],
) -> list[Change]:
    """The definition changes from `before` to `after`, in `after`'s KPI order."""
    if before.kpis is after.kpis:
        return []
    day = dt.datetime.fromisoformat(commit.date).date()
    gone = [k for k in before.kpis if k.id not in after.by_id]
    came = [k for k in after.kpis if k.id not in before.by_id]
    renamed: dict[str, str] = {}
    if gone and came:
        renamed = match_renames(
            gone,
            came,
            lambda i: values_of(blobs.measurements(before, before.by_id[i]), i),
            lambda i: values_of(blobs.measurements(after, after.by_id[i]), i),
        )
    back = {new: old for old, new in renamed.items()}

    def row(kpi_id: str, name: str, old: str | None, new: str | None, flag: bool) -> Change:
        return Change(commit.short, day.isoformat(), commit.author, kpi_id, name, old, new, flag)

    out: list[Change] = []
    for kpi in after.kpis:
        old_id = back.get(kpi.id, kpi.id)
        previous = before.by_id.get(old_id)
        if previous is None:  # new, or added back after a removal: compare with the last
            previous = removed.get(kpi.id)
            if previous is None:
                continue
        elif previous is kpi or previous == kpi:
            continue
        if old_id != kpi.id:
            out.append(row(kpi.id, "id", old_id, kpi.id, False))
        for name in FIELDS:
            a, b = field_text(previous, name), field_text(kpi, name)
            if a != b:
                flag = _easier(name, previous, kpi) and behind(
                    previous, blobs.measurements(before, previous), day, config
                )
                out.append(row(kpi.id, name, a, b, flag))
    for kpi in gone:
        if kpi.id not in renamed:
            removed[kpi.id] = kpi
    for kpi_id in after.by_id:
        removed.pop(kpi_id, None)
    return out


# ---------------------------------------------------------------- walking the history


def _covered(path: str, repo_paths: Sequence[str]) -> bool:
    return any(p == "" or path == p or path.startswith(f"{p}/") for p in repo_paths)


@dataclass(frozen=True)
class _Moves:
    """Files of the workspace that a commit moved in from outside its paths: per file,
    (position on the first-parent line, its path from then on), as `git log --follow`
    gives them."""

    steps: tuple[tuple[tuple[int, str], ...], ...] = ()
    commits: frozenset[str] = frozenset()
    order: dict[str, int] | None = None

    def paths(self) -> list[str]:
        return sorted({path for steps in self.steps for _, path in steps})

    def active(self, sha: str) -> list[str]:
        if self.order is None or not self.steps:
            return []
        position = self.order.get(sha, -1)
        out = []
        for steps in self.steps:
            known = [path for at, path in steps if at <= position]
            if known:
                out.append(known[-1])
        return out


def _moves(repo: Repo, repo_paths: Sequence[str], touches: Sequence[Touch], until: str) -> _Moves:
    """Only the current files added by a commit that renamed them from outside the
    workspace paths are followed (one `diff-tree` for all such commits)."""
    head = {f for f, _ in repo.yaml_blobs(until, list(repo_paths))}
    pairs = [(t.parent, t.commit.sha) for t in touches if t.added & head]
    if not pairs:
        return _Moves()
    moved = renamed_into(repo, pairs)
    follow = sorted(f for f in head if f in moved and not _covered(moved[f], repo_paths))
    if not follow:
        return _Moves()
    order = repo.first_parent(until)
    steps = []
    commits: set[str] = set()
    for f in follow:
        found = []
        for commit, old_path in repo.follow(f, until=until):
            if commit.sha in order:
                commits.add(commit.sha)
                found.append((order[commit.sha], old_path))
        steps.append(tuple(found))
    return _Moves(tuple(steps), frozenset(commits), order)


class _Files:
    """The workspace files at each commit, in the loader's order: the selection is made
    again only when a file was added or removed (or the followed paths moved)."""

    def __init__(self) -> None:
        self.chosen: tuple[tuple[str, ...], list[str]] | None = None

    def changed(self) -> None:
        self.chosen = None

    def at(self, tree: dict[str, str], paths: Sequence[str]) -> tuple[tuple[str, str], ...]:
        wanted = tuple(paths)
        if self.chosen is None or self.chosen[0] != wanted:
            found: dict[str, None] = {}
            for repo_path in wanted:
                found.update(dict.fromkeys(select_yaml(tree, repo_path)))
            self.chosen = (wanted, list(found))
        return tuple((f, tree[f]) for f in self.chosen[1])


def _walk(
    repo: Repo,
    paths: Sequence[Path],
    config: Config,
    *,
    until: str,
    since_rev: str | None = None,
    window: Callable[[Commit], bool] | None = None,
    known: set[str] | None = None,
    seed: dict[str, FileDefinitions] | None = None,
) -> list[Change]:
    """The definition changes of the first-parent commits up to `until` that touched the
    workspace paths: after `since_rev` when given; with `window`, only the commits from
    the first one it accepts (the files as they were just before it are the start)."""
    repo_paths = [repo.repo_path(p) for p in paths]
    if window is not None:  # only the window's commits: from the first one it accepts
        line = repo.first_parent_commits(until)
        first = next((i for i, c in enumerate(line) if window(c)), None)
        if first is None:
            return []
        since_rev = line[first - 1].sha if first > 0 else None
    touches = log_raw(repo, repo_paths, until=until, base=since_rev)
    moves = _moves(repo, repo_paths, touches, until)
    pathspecs = repo_paths
    if moves.steps:
        pathspecs = [*repo_paths, *moves.paths()]
        touches = log_raw(repo, pathspecs, until=until, base=since_rev)
    if not touches:
        return []
    start = touches[0].parent if (window is not None or since_rev is not None) else None
    tree = repo.tree(start, pathspecs) if start is not None else {}
    out: list[Change] = []
    removed: dict[str, Kpi] = {}
    with BlobReader(repo) as reader:
        from kpitrack.reading.yamlnodes import MAX_FILE_BYTES

        wanted = [b for b in tree.values() if b not in (seed or {})]
        wanted += [b for t in touches for _, b in t.files if b is not None]
        reader.prefetch(wanted, MAX_FILE_BYTES)
        files = _Files()
        blobs = _Blobs(repo, reader, seed)
        previous = _EMPTY
        if tree:
            previous = blobs.snapshot(
                files.at(tree, [*repo_paths, *moves.active(start or "")]), _EMPTY
            )
        for touch in touches:
            for path, blob in touch.files:
                if blob is None:
                    tree.pop(path, None)
                    files.changed()
                else:
                    if path not in tree:
                        files.changed()
                    tree[path] = blob
            sha = touch.commit.sha
            if sha not in moves.commits and not any(
                _covered(p, repo_paths) for p, _ in touch.files
            ):
                continue
            key = files.at(tree, [*repo_paths, *moves.active(sha)])
            if key == previous.key:
                continue
            snapshot = blobs.snapshot(key, previous)
            out.extend(_compare(touch.commit, previous, snapshot, blobs, config, removed))
            if known is not None:
                known.update(snapshot.by_id)
            previous = snapshot
    return out


def history(
    files: Sequence[Path],
    config: Config,
    *,
    until: str = "HEAD",
    known: set[str] | None = None,
) -> list[Change]:
    """Every definition change in the git history of the workspace files, oldest first.
    The repository is the one holding the files (not the current folder's). `known`,
    when given, receives every KPI id the history holds."""
    cwd = Path.cwd().resolve()
    root = Path(config.root) if config.root else None
    paths = workspace_paths(files, config.files, root, cwd)
    repo = Repo.of_paths(paths, cwd)
    return _walk(repo, paths, config, until=until, known=known)


def seed_from(workspace: Workspace, cwd: Path) -> dict[str, FileDefinitions]:
    """What each file of a loaded, valid workspace defines, by the git blob id of its
    bytes on disk: a file unchanged since a commit need not be read from git and parsed
    again (the report's start-of-window snapshot is mostly the working tree)."""
    import hashlib

    from kpitrack.reading.loading import FileDefinitions

    objectives: dict[str, list[tuple[str | None, Objective | None]]] = {}
    kpis: dict[str, list[tuple[str | None, Kpi | None]]] = {}
    for o in workspace.objectives:
        objectives.setdefault(o.loc.path, []).append((o.id, o))
    for k in workspace.kpis:
        kpis.setdefault(k.loc.path, []).append((k.id, k))
    out: dict[str, FileDefinitions] = {}
    for display in workspace.files:
        path = Path(display)
        try:
            data = (path if path.is_absolute() else cwd / path).read_bytes()
        except OSError:
            continue
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False)
        defs = FileDefinitions(tuple(objectives.get(display, ())), tuple(kpis.get(display, ())))
        out[blob.hexdigest()] = defs
    return out


def follow_id(changes: Sequence[Change], kpi_id: str) -> list[Change]:
    """The changes of one KPI, following its renames back through history."""
    ids = {kpi_id}
    for change in reversed(changes):
        if change.field == "id" and change.new in ids and change.old is not None:
            ids.add(change.old)
    return [c for c in changes if c.kpi in ids or (c.field == "id" and c.new in ids)]


def report_definitions(
    files: Sequence[Path],
    config: Config,
    *,
    since: dt.date,
    as_of: dt.date,
    rev: str | None = None,
    since_rev: str | None = None,
    workspace: Workspace | None = None,
) -> DefinitionChanges:
    """The report's definition section: changes committed after `since` up to `as_of`
    (or after the commit `since_rev`), up to `rev` or HEAD, in the repository of the
    workspace files. Only the window's commits are read. Outside a repository (or
    without git, or before the first commit) the section says why it is empty, unless
    `since_rev` asks for git (then a usage error). `workspace`: the working tree's files,
    loaded and valid (the report's); files git holds unchanged are taken from it."""
    cwd = Path.cwd().resolve()
    root = Path(config.root) if config.root else None
    paths = workspace_paths(files, config.files, root, cwd)
    label = since_rev if since_rev is not None else since.isoformat()
    seed = seed_from(workspace, cwd) if workspace is not None and rev is None else None
    try:
        repo = Repo.of_paths(paths, cwd)
    except GitError as exc:
        if since_rev is not None:
            raise
        reason = str(exc)
        if reason.endswith("is not inside a git repository"):
            reason = "the workspace is not in a git repository"
        return DefinitionChanges(label, unavailable=reason)
    until = repo.resolve(rev) if rev is not None else repo.head()
    if until is None:
        if since_rev is not None:
            raise GitError("--since-rev: the repository has no commits yet")
        return DefinitionChanges(
            label, unavailable=f"the git repository {repo.root} has no commits yet"
        )
    if since_rev is not None:
        base = repo.resolve(since_rev, "--since-rev")
        found = _walk(repo, paths, config, until=until, since_rev=base, seed=seed)
        return DefinitionChanges(label, tuple(found))

    def in_window(commit: Commit) -> bool:
        return dt.datetime.fromisoformat(commit.date).date() > since

    try:
        found = _walk(repo, paths, config, until=until, window=in_window, seed=seed)
    except GitStopped:
        raise
    except GitError as exc:  # e.g. workspace files outside this repository
        return DefinitionChanges(label, unavailable=str(exc))
    changes = [c for c in found if since < dt.date.fromisoformat(c.date) <= as_of]
    return DefinitionChanges(label, tuple(changes))


# ---------------------------------------------------------------- diff between revisions


@dataclass(frozen=True)
class DiffRow:
    """One difference. `old` and `new` are the field's value as the user wrote it:
    text, a number, true, a list or a short mapping (JSON keeps them so)."""

    change: str  # removed, added, renamed, redefined
    kind: str  # kpi, objective
    id: str
    field: str | None = None
    old: object = None
    new: object = None

    def to_dict(self) -> dict[str, object]:
        return {
            "change": self.change,
            "kind": self.kind,
            "id": self.id,
            "field": self.field,
            "old": self.old,
            "new": self.new,
        }


def _user(value: object) -> object:
    """A model value as written in a file: numbers stay numbers (whole ones as integers),
    dates and enums as their text, tuples as lists."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, int):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_user(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _user(v) for k, v in value.items()}
    return str(value)


def _mapping(pairs: Sequence[tuple[str, object]]) -> dict[str, object]:
    return {k: _user(v) for k, v in pairs if v is not None and v != ()}


def user_field(obj: object, name: str) -> object:
    """One key of an objective or KPI as the user wrote it (None when absent): `action`
    is the text or the mapping {plan, owner, due, status}; `source` the mapping of its
    keys; `milestones` a list of {date, target}. Locations are not part of a value."""
    from kpitrack.domain.model import Kpi

    if isinstance(obj, Kpi):
        if name == "action":
            plan = obj.action_plan
            if plan is None:
                return obj.action
            return _mapping(
                [
                    ("plan", plan.plan),
                    ("owner", plan.owner),
                    ("due", plan.due),
                    ("status", plan.status),
                ]
            )
        if name == "source":
            return _source(obj)
        if name == "milestones":
            return [
                _mapping([("date", m.date), ("target", m.target)]) for m in obj.milestones
            ] or None
        if name == "archived":
            return True if obj.archived else None
    value = _user(getattr(obj, name))
    return None if value == [] else value


def _source(kpi: Kpi) -> object:
    """The source as its keys were written: the kind's own keys (`sql`, `database`;
    `csv`, `date_column`, ...; `command`), then `timeout` and `scale_map`."""
    import dataclasses

    s = kpi.source
    if s is None:
        return None
    # Each kind's spec is a frozen dataclass whose first field is the kind's main key.
    pairs: list[tuple[str, object]] = []
    if dataclasses.is_dataclass(s.spec):
        for i, f in enumerate(dataclasses.fields(s.spec)):
            value = getattr(s.spec, f.name)
            if isinstance(value, tuple) and value and isinstance(value[0], tuple):
                value = dict(value)  # a filter: column -> value
            pairs.append((s.kind if i == 0 else f.name, value or None))
    pairs += [("timeout", s.timeout), ("scale_map", dict(s.scale_map) or None)]
    return _mapping(pairs)


class _Item(Protocol):
    @property
    def id(self) -> str: ...


def _keys(obj: object) -> list[str]:
    skip = {"id", "loc", "action_plan", "source"}
    names = [f.name for f in fields(cast("Any", obj))]
    return [n for n in names if n not in skip] + (["source"] if "source" in names else [])


def _redefinitions(kind: str, new_id: str, old: object, new: object) -> list[DiffRow]:
    out = []
    for name in _keys(new):
        a, b = user_field(old, name), user_field(new, name)
        if a != b:
            out.append(DiffRow("redefined", kind, new_id, name, a, b))
    return out


def _diff_items(
    kind: str, old_items: Sequence[_Item], new_items: Sequence[_Item], renamed: dict[str, str]
) -> list[DiffRow]:
    back = {new: old for old, new in renamed.items()}
    old_by_id = {o.id: o for o in old_items}
    new_by_id = {o.id: o for o in new_items}
    out = [
        DiffRow("removed", kind, o.id)
        for o in old_items
        if o.id not in new_by_id and o.id not in renamed
    ]
    out += [
        DiffRow("added", kind, o.id)
        for o in new_items
        if o.id not in old_by_id and o.id not in back
    ]
    for item in new_items:
        previous = old_by_id.get(back.get(item.id, item.id))
        if previous is None:
            continue
        if item.id in back:
            out.append(DiffRow("renamed", kind, item.id, "id", back[item.id], item.id))
        out.extend(_redefinitions(kind, item.id, previous, item))
    return out


def diff_workspaces(before: Workspace, after: Workspace) -> list[DiffRow]:
    """Objectives, then KPIs: removed, added, then renamed and redefined (field by field,
    values compared, not where they were written), in file order. A KPI renamed (as
    `history` follows renames) is one `renamed` row plus its field changes."""
    return [
        *_diff_items("objective", before.objectives, after.objectives, {}),
        *_diff_items("kpi", before.kpis, after.kpis, renames(before, after)),
    ]


class _Side:
    """One side of a diff from its file texts: the definitions (measurement files are not
    parsed) and, when a rename needs them, one KPI's values."""

    def __init__(self, sources: Sequence[tuple[str, object]]) -> None:
        from kpitrack.reading.loading import combine_definitions, file_definitions

        self.texts = [(d, t) for d, t in sources if isinstance(t, str)]
        self.unread = len(self.texts) < len(sources)
        self.parses: dict[int, tuple[str, str, _Parsed]] = {}
        defs = [file_definitions(d, t) for d, t in self.texts]
        objectives, kpis = combine_definitions(defs, self.complete)
        self.workspace = Workspace(objectives=objectives, kpis=kpis)

    def parse(self, i: int) -> tuple[str, str, _Parsed]:
        if i not in self.parses:
            from kpitrack.reading.loading import parse_file

            display, text = self.texts[i]
            self.parses[i] = (display, text, parse_file(display, text))
        return self.parses[i]

    def complete(self) -> bool:
        from kpitrack.domain.problems import Problem

        return not self.unread and not any(
            isinstance(self.parse(i)[2], Problem) for i in range(len(self.texts))
        )

    def values(self, kpi_id: str) -> Values:
        from kpitrack.reading.loading import build_measurements

        kpi = self.workspace.kpi(kpi_id)
        if kpi is None:
            return ()
        parses = [
            self.parse(i)
            for i, (_, text) in enumerate(self.texts)
            if kpi_id in text or "\\" in text
        ]
        return values_of(build_measurements(parses, [kpi], only=kpi_id), kpi_id)


def diff_sources(
    before: Sequence[tuple[str, object]], after: Sequence[tuple[str, object]]
) -> list[DiffRow]:
    """As `diff_workspaces` for two sets of (display path, text) files, reading only what
    the comparison needs: definitions, and the values of a KPI only to tell a rename."""
    old, new = _Side(before), _Side(after)
    old_ids = {k.id for k in old.workspace.kpis}
    new_ids = {k.id for k in new.workspace.kpis}
    renamed = match_renames(
        [k for k in old.workspace.kpis if k.id not in new_ids],
        [k for k in new.workspace.kpis if k.id not in old_ids],
        old.values,
        new.values,
    )
    return [
        *_diff_items("objective", old.workspace.objectives, new.workspace.objectives, {}),
        *_diff_items("kpi", old.workspace.kpis, new.workspace.kpis, renamed),
    ]


def diff_revisions(
    files: Sequence[Path], config: Config, rev: str, rev2: str | None
) -> list[DiffRow]:
    """`kpitrack diff REV [REV2]`: the workspace files at REV against REV2, or against
    the working tree, in the repository of the files."""
    from kpitrack.git.revisions import sources_at_rev
    from kpitrack.reading.loading import read_files, resolve_paths

    before = sources_at_rev(rev, files, config, option="REV")
    if rev2 is None:
        after = read_files(resolve_paths(files, config, Path.cwd()))
    else:
        after = sources_at_rev(rev2, files, config, option="REV2")
    return diff_sources(before, after)
