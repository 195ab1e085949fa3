"""The definition history as kpitrack computed it before the git log --raw engine:
every commit's whole workspace loaded through `load_texts` (all rules) and compared with
the previous one. Kept verbatim as the oracle the new engine is tested against
(tests/test_git_history.py); do not optimise it."""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from kpitrack.domain.model import Config, Direction, Kpi, Value
from kpitrack.domain.workspace import Workspace
from kpitrack.git.changes import FIELDS, Change
from kpitrack.git.gitrepo import BlobReader, Commit, GitError, GitStopped, Repo, workspace_paths

_FAR_FUTURE = dt.date(2999, 12, 31)


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


def _definition(kpi: Kpi) -> tuple[object, ...]:
    skip = {"id", "name", "loc"}  # milestones compare as text: their locations differ
    return tuple(_text_of(kpi, f.name) for f in fields(kpi) if f.name not in skip)


def _values(workspace: Workspace, kpi_id: str) -> tuple[tuple[dt.date, object], ...]:
    return tuple((m.date, m.value) for m in workspace.measurements if m.kpi == kpi_id)


def renames(before: Workspace, after: Workspace) -> dict[str, str]:
    """old id -> new id for KPIs renamed between two snapshots."""
    old_ids = {k.id for k in before.kpis}
    new_ids = {k.id for k in after.kpis}
    gone = [k for k in before.kpis if k.id not in new_ids]
    came = [k for k in after.kpis if k.id not in old_ids]
    out: dict[str, str] = {}
    for old in gone:
        for new in came:
            if new.id in out.values():
                continue
            same_definition = _definition(old) == _definition(new)
            values = _values(before, old.id)
            same_values = bool(values) and values == _values(after, new.id)
            if same_definition or same_values:
                out[old.id] = new.id
                break
    return out


def is_easier(kpi: Kpi, old: Value, new: Value) -> bool:
    """The target moved towards the values already reached: lowered for increase, raised
    for decrease (scale positions for qualitative KPIs)."""
    try:
        a = kpi.position(old)
        b = kpi.position(new)
    except (ValueError, TypeError):
        return False
    return b < a if kpi.direction is Direction.INCREASE else b > a


def moved_goalpost(
    field: str, before_kpi: Kpi, after_kpi: Kpi, before: Workspace, day: dt.date, config: Config
) -> bool:
    """Target made easier or due pushed later while at-risk or off-track as of `day`,
    evaluated under the definitions before the commit."""
    if field == "target":
        easier = is_easier(before_kpi, before_kpi.target, after_kpi.target)
    elif field == "due":
        easier = before_kpi.due is not None and (
            after_kpi.due is None or after_kpi.due > before_kpi.due
        )
    else:
        return False
    if not easier:
        return False
    from kpitrack.evaluation.evaluate import evaluate_kpi

    try:
        result = evaluate_kpi(before_kpi, before.measurements, as_of=day, config=config)
    except (ValueError, TypeError, ZeroDivisionError):
        return False
    return result.status.behind


def compare(commit: Commit, before: Workspace, after: Workspace, config: Config) -> list[Change]:
    """The definition changes from `before` to `after`, in `after`'s KPI order."""
    day = dt.datetime.fromisoformat(commit.date).date()
    renamed = renames(before, after)
    back = {new: old for old, new in renamed.items()}
    out: list[Change] = []
    for kpi in after.kpis:
        old_id = back.get(kpi.id, kpi.id)
        previous = before.kpi(old_id)
        if previous is None:
            continue
        if old_id != kpi.id:
            out.append(
                Change(commit.short, day.isoformat(), commit.author, kpi.id, "id", old_id, kpi.id)
            )
        for name in FIELDS:
            a, b = field_text(previous, name), field_text(kpi, name)
            if a != b:
                flag = moved_goalpost(name, previous, kpi, before, day, config)
                out.append(
                    Change(commit.short, day.isoformat(), commit.author, kpi.id, name, a, b, flag)
                )
    return out


@dataclass(frozen=True)
class Timeline:
    """The workspace at each commit that touched it, oldest first."""

    commits: list[Commit]
    snapshots: list[Workspace]


class _Snapshots:
    """Loads the workspace at many commits cheaply: one `ls-tree` per commit, blobs through
    one `git cat-file --batch`, each distinct blob decoded once, a file whose text the
    previous snapshot already parsed not parsed again, and an unchanged set of files
    giving back the previous snapshot itself."""

    def __init__(self, repo: Repo, reader: BlobReader) -> None:
        from kpitrack.reading.loading import ParseMemo

        self.repo = repo
        self.reader = reader
        self.texts: dict[str, str | None] = {}
        self.memo: ParseMemo = {}
        self.last: tuple[tuple[tuple[str, str], ...], Workspace] | None = None

    def _text(self, repo_path: str, blob: str) -> str | None:
        if blob not in self.texts:
            from kpitrack.reading.yamlnodes import YamlFatal, decode

            try:
                self.texts[blob] = decode(self.reader.read(blob), repo_path)
            except GitStopped:
                raise
            except (YamlFatal, GitError):  # an unreadable past file is skipped, not fatal
                self.texts[blob] = None
        return self.texts[blob]

    def at(self, commit: str, repo_paths: Sequence[str]) -> Workspace:
        from kpitrack.domain.model import Config as _Config
        from kpitrack.reading.loading import load_texts

        key = tuple(self.reader.yaml_blobs(commit, repo_paths))
        if self.last is not None and self.last[0] == key:
            return self.last[1]
        sources: list[tuple[str, str]] = []
        for repo_path, blob in key:
            text = self._text(repo_path, blob)
            if text is not None:
                sources.append((self.repo.display(repo_path), text))
        workspace, _ = load_texts(sources, config=_Config(), as_of=_FAR_FUTURE, memo=self.memo)
        self.last = (key, workspace)
        return workspace


def timeline(repo: Repo, paths: Sequence[Path], *, until: str = "HEAD") -> Timeline:
    """Snapshots at every first-parent commit that touched the workspace paths, or a
    workspace file under any of its earlier names (`git log --follow`)."""
    repo_paths = [repo.repo_path(p) for p in paths]
    order = repo.first_parent(until)
    commits = {c.sha: c for c in repo.commits(repo_paths, until=until)}
    head_files: list[str] = [f for f, _ in repo.yaml_blobs(until, repo_paths)]
    # Per followed file: (position, its path from that commit on), oldest first.
    moves: list[list[tuple[int, str]]] = []
    for f in head_files:
        steps = []
        for commit, old_path in repo.follow(f, until=until):
            if commit.sha in order:
                commits.setdefault(commit.sha, commit)
                steps.append((order[commit.sha], old_path))
        moves.append(steps)
    ordered = sorted((c for c in commits.values() if c.sha in order), key=lambda c: order[c.sha])
    snapshots = []
    with BlobReader(repo) as reader:
        loader = _Snapshots(repo, reader)
        for c in ordered:
            position = order[c.sha]
            extra = []
            for steps in moves:
                known = [path for at, path in steps if at <= position]
                if known:
                    extra.append(known[-1])
            snapshots.append(loader.at(c.sha, [*repo_paths, *extra]))
    return Timeline(ordered, snapshots)


def history(
    files: Sequence[Path],
    config: Config,
    *,
    until: str = "HEAD",
    since: str | None = None,
    known: set[str] | None = None,
) -> list[Change]:
    """Every definition change in the git history of the workspace files, oldest first.
    `since`: only commits after that commit. `known`, when given, receives every KPI id
    the history holds."""
    cwd = Path.cwd().resolve()
    repo = Repo.find(cwd)
    root = Path(config.root) if config.root else None
    paths = workspace_paths(files, config.files, root, cwd)
    line = timeline(repo, paths, until=until)
    excluded = repo.reachable(since) if since is not None else set()
    out: list[Change] = []
    previous = Workspace()
    for commit, snapshot in zip(line.commits, line.snapshots, strict=True):
        if commit.sha not in excluded:
            out.extend(compare(commit, previous, snapshot, config))
        if known is not None:
            known.update(k.id for k in snapshot.kpis)
        previous = snapshot
    return out
