"""The KPI site (`kpitrack site`): every page, its path and its links, built once from
the evaluated workspace. No HTML here: `kpitrack/render/site_html.py` formats it.

Paths are relative to the site's root folder and stable: a KPI's page is
`kpi/<id>.html`, an objective's `objective/<id>.html`, an owner's
`owner/<slug>.html` (ids are slugs already; an owner's free-text name is made
one, see `owner_slug`). KPIs without an objective or an owner get
`objective/_none.html` and `owner/_none.html`: a slug never starts with `_`, so
these never collide with a real id.

Objectives follow the objective tree (`objective_nodes`): each node has its KPIs, its
child objectives and the rolled-up progress of the KPIs below it (over the KPIs the
site covers: with filters, the selected ones).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast, overload

from kpitrack.domain.model import (
    Config,
    Kind,
    Kpi,
    KpiResult,
    Measurement,
    Objective,
    StatusCounts,
    Value,
)
from kpitrack.domain.problems import Problem
from kpitrack.domain.records import Record
from kpitrack.domain.series import History
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import path_corners
from kpitrack.reports.digest import Report, build_report, grouped

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record

    from kpitrack.git.changes import Change
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

INDEX = "index.html"
PROBLEMS = "problems.html"
NONE_SLUG = "_none"  # the "No objective" and "no owner" pages
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 60
_NUMBERS = {float, int}
_FLOATS = {float}


def kpi_path(kpi_id: str) -> str:
    return f"kpi/{kpi_id}.html"


def objective_path(objective_id: str | None) -> str:
    return f"objective/{objective_id or NONE_SLUG}.html"


def owner_slug(owner: str | None) -> str:
    """An owner's name as a file name: ASCII letters and digits joined by `-`
    ("Customer Success" → `customer-success`). A name that loses letters on the way
    (accents kept as their base letter, other scripts dropped) or is cut to length gets
    a short hash of the name appended, so that it still names one owner; `owner_slugs`
    does the same for names that would share a slug."""
    if owner is None:
        return NONE_SLUG
    ascii_name = unicodedata.normalize("NFKD", owner).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")
    lossless = _NOT_SLUG.sub("-", owner.lower()).strip("-") == slug and len(slug) <= MAX_SLUG
    return slug if slug and lossless else _hashed(owner, slug)


def _hashed(owner: str, slug: str) -> str:
    digest = hashlib.sha256(owner.encode("utf-8")).hexdigest()[:8]
    return f"{slug[:MAX_SLUG].rstrip('-')}-{digest}" if slug else f"owner-{digest}"


def owner_slugs(owners: Iterable[str | None]) -> dict[str | None, str]:
    """Each owner's slug; names that would share one ("R&D", "R D") each get the
    hashed form, whatever their order, so every owner has a page of its own."""
    plain = {owner: owner_slug(owner) for owner in owners}
    count = Counter(plain.values())
    return {
        owner: slug if count[slug] == 1 or owner is None else _hashed(owner, slug)
        for owner, slug in plain.items()
    }


def owner_path(owner: str | None, slugs: Mapping[str | None, str] | None = None) -> str:
    slug = slugs[owner] if slugs is not None and owner in slugs else owner_slug(owner)
    return f"owner/{slug}.html"


def relative(from_page: str, to_page: str) -> str:
    """A link from one page to another (both relative to the site's root, no `..`),
    relative, so the site works from any sub-path and from `file://`."""
    from_folder = from_page.rpartition("/")[0]
    to_folder, _, name = to_page.rpartition("/")
    if from_folder == to_folder:
        return name
    return "../" * from_page.count("/") + to_page


# ---------------------------------------------------------------- pages


class Points(Sequence[tuple[dt.date, float]]):
    """A chart's measured points, (date, position) oldest first, kept as two columns
    (ordinals and positions): a pair is built only when looked at. Equal to any
    sequence of the same pairs."""

    __slots__ = ("ordinals", "positions")

    def __init__(self, ordinals: Sequence[int], positions: Sequence[float]) -> None:
        if len(ordinals) != len(positions):
            raise ValueError("as many ordinals as positions")
        self.ordinals = ordinals
        self.positions = positions

    def __len__(self) -> int:
        return len(self.ordinals)

    @overload
    def __getitem__(self, index: int) -> tuple[dt.date, float]: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[tuple[dt.date, float], ...]: ...
    def __getitem__(
        self, index: int | slice
    ) -> tuple[dt.date, float] | tuple[tuple[dt.date, float], ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        return dt.date.fromordinal(self.ordinals[index]), self.positions[index]

    def __iter__(self) -> Iterator[tuple[dt.date, float]]:
        return zip(map(dt.date.fromordinal, self.ordinals), self.positions, strict=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Points({list(self)!r})"


@dataclass(frozen=True)
class Chart:
    """A KPI's chart as data: values and the expected path, as positions (scale
    positions for qualitative KPIs). The expected path is straight between its
    points, so the renderer draws exactly `expected_position` by joining them."""

    first: dt.date
    last: dt.date
    low: float
    high: float
    target: float
    measured: Sequence[tuple[dt.date, float]]  # oldest first (from chart_of: Points)
    expected: tuple[tuple[dt.date, float], ...]  # the path's corners, first to last
    milestones: tuple[tuple[dt.date, float], ...]
    # The projection (docs/evaluation.md, "Forecast"): from the latest value to
    # (at, value), with the band (low, high) on `at`; None without a forecast.
    forecast: tuple[dt.date, float, float, float] | None = None
    # Events concerning the KPI that fall on the chart: (date, title).
    events: tuple[tuple[dt.date, str], ...] = ()


@dataclass(frozen=True)
class KpiPage:
    result: KpiResult
    path: str
    objective_path: str  # objective/<id>.html, or objective/_none.html
    objective_title: str
    owner_path: str
    # The definition's changes in git, oldest first; None outside a git repository.
    history: tuple[Change, ...] | None

    @property
    def chart(self) -> Chart | None:
        """The KPI's chart (None without measurements): made when asked for, not kept,
        so that the site never holds every KPI's points at once."""
        return chart_of(self.result)


@record(frozen=True)
class ObjectiveNode(Record):
    """An objective's page: its KPIs. `objective` None is "No objective"."""

    objective: Objective | None
    path: str
    results: tuple[KpiResult, ...]
    counts: StatusCounts
    # The roll-up fills these (objective tree); flat: no children, no rolled-up progress.
    children: tuple[ObjectiveNode, ...] = ()
    progress: float | None = None

    def __init__(
        self,
        objective: Objective | None,
        path: str,
        results: tuple[KpiResult, ...],
        counts: StatusCounts,
        children: tuple[ObjectiveNode, ...] = (),
        progress: float | None = None,
    ) -> None:
        _setattr(self, "objective", objective)
        _setattr(self, "path", path)
        _setattr(self, "results", results)
        _setattr(self, "counts", counts)
        _setattr(self, "children", children)
        _setattr(self, "progress", progress)

    @property
    def title(self) -> str:
        return self.objective.title if self.objective else "No objective"


@record(frozen=True)
class OwnerPage(Record):
    """An owner's page: their KPIs."""

    owner: str | None  # None: KPIs without an owner
    path: str
    results: tuple[KpiResult, ...]
    counts: StatusCounts

    def __init__(
        self, owner: str | None, path: str, results: tuple[KpiResult, ...], counts: StatusCounts
    ) -> None:
        _setattr(self, "owner", owner)
        _setattr(self, "path", path)
        _setattr(self, "results", results)
        _setattr(self, "counts", counts)


@record(frozen=True)
class Provenance(Record):
    """What the site was built from: the git commit (None outside a repository or before
    the first commit) and whether the workspace files had uncommitted changes."""

    in_repository: bool
    commit: str | None = None
    uncommitted: bool = False

    def __init__(
        self, in_repository: bool, commit: str | None = None, uncommitted: bool = False
    ) -> None:
        _setattr(self, "in_repository", in_repository)
        _setattr(self, "commit", commit)
        _setattr(self, "uncommitted", uncommitted)


@record(frozen=True)
class Site(Record):
    """The whole site as data: the digest, and every page's model in site order."""

    as_of: dt.date
    digest: Report  # summary, changes this week, overdue, needs action
    kpis: tuple[KpiPage, ...]  # workspace order
    objectives: tuple[ObjectiveNode, ...]  # roots, workspace order; "No objective" last
    owners: tuple[OwnerPage, ...]  # A→Z, "no owner" last
    problems: tuple[Problem, ...]  # check's warnings (a workspace with errors is refused)
    provenance: Provenance
    built_at: str | None = None  # the one line that differs between two builds
    # Definition changes committed this week (after digest.since, up to as_of), of the
    # selected KPIs, oldest first; None outside a git repository.
    definition_changes: tuple[Change, ...] | None = None

    def __init__(
        self,
        as_of: dt.date,
        digest: Report,
        kpis: tuple[KpiPage, ...],
        objectives: tuple[ObjectiveNode, ...],
        owners: tuple[OwnerPage, ...],
        problems: tuple[Problem, ...],
        provenance: Provenance,
        built_at: str | None = None,
        definition_changes: tuple[Change, ...] | None = None,
    ) -> None:
        _setattr(self, "as_of", as_of)
        _setattr(self, "digest", digest)
        _setattr(self, "kpis", kpis)
        _setattr(self, "objectives", objectives)
        _setattr(self, "owners", owners)
        _setattr(self, "problems", problems)
        _setattr(self, "provenance", provenance)
        _setattr(self, "built_at", built_at)
        _setattr(self, "definition_changes", definition_changes)

    @functools.cached_property
    def _owner_paths(self) -> dict[str | None, str]:
        return {page.owner: page.path for page in self.owners}

    def owner_path(self, owner: str | None) -> str:
        """The page of a (selected) KPI's owner."""
        return self._owner_paths.get(owner) or owner_path(owner)

    def paths(self) -> list[str]:
        """Every page of the site."""
        out = [INDEX]
        if self.problems:
            out.append(PROBLEMS)
        out += [page.path for page in self.kpis]
        out += [node.path for node in walk(self.objectives)]
        out += [page.path for page in self.owners]
        return out

    @functools.cached_property
    def fragments(self) -> dict[tuple[str, str], str]:
        """The renderer's store of markup several pages share (a KPI's trend is in the
        overview, its objective's and its owner's tables): made once, by key."""
        return {}

    @functools.cached_property
    def value_cells(self) -> dict[tuple[object, ...], dict[Value, bytes]]:
        """The renderer's store of formatted value cells (UTF-8), by the KPI fields that
        decide how a value is shown (`format_key`): the same numbers come back in many
        KPIs' tables."""
        return {}

    @functools.cached_property
    def value_texts(self) -> dict[tuple[object, ...], dict[Value, str]]:
        """The renderer's store of values as `format_value` writes them (not escaped), by
        `format_key`: a KPI's trend, chart and summary show values other KPIs show too."""
        return {}

    @functools.cached_property
    def date_cells(self) -> dict[int, bytes]:
        """The renderer's store of date cells (UTF-8), shared by every measurements table."""
        return {}

    @functools.cached_property
    def _objective_nodes(self) -> dict[str, ObjectiveNode]:
        return {n.objective.id: n for n in walk(self.objectives) if n.objective is not None}

    def objective_node(self, objective_id: str | None) -> ObjectiveNode | None:
        """The node (page) of an objective, None for "No objective" or one without a page."""
        return None if objective_id is None else self._objective_nodes.get(objective_id)


def walk(nodes: Sequence[ObjectiveNode]) -> list[ObjectiveNode]:
    """Every node of the objective tree, depth first."""
    out: list[ObjectiveNode] = []
    for node in nodes:
        out.append(node)
        out.extend(walk(node.children))
    return out


# ---------------------------------------------------------------- building it


def history_rows(
    history: Sequence[Measurement],
) -> list[tuple[dt.date, Value, str | None, str | None]]:
    """(date, value, note, by) of each measurement of a history, in its order: read from
    the KPI's columns when the history is a view over them (no Measurement built)."""
    if isinstance(history, History):
        return history.rows()
    return [(m.date, m.value, m.note, m.by) for m in history]


Columns = tuple[Sequence[int], Sequence[Value], Sequence[str | None], Sequence[str | None]]


def history_columns(history: Sequence[Measurement]) -> Columns:
    """The date ordinals, values, notes and authors of a history's measurements, in its
    order: gathered from the KPI's columns when the history is a view over them (no
    Measurement, no row and no date built)."""
    if isinstance(history, History):
        return history.columns()
    return (
        [m.date.toordinal() for m in history],
        [m.value for m in history],
        [m.note for m in history],
        [m.by for m in history],
    )


def chart_of(result: KpiResult, columns: Columns | None = None) -> Chart | None:
    """The chart of a KPI's values against its expected path (None without values).
    `columns` are `history_columns(result.history)` when the caller has them already."""
    kpi, start = result.kpi, result.start
    if not result.history or start is None or result.baseline is None:
        return None
    base = kpi.position(result.baseline)
    if columns is None:
        columns = history_columns(result.history)
    ordinals, values = columns[0], columns[1]
    types = set(map(type, values))
    positions: Sequence[float]
    if types == _FLOATS:  # positions already: `position` is float(), a float's self
        positions = cast("Sequence[float]", values)
    elif types <= _NUMBERS:
        positions = list(map(float, values))
    else:  # scale labels: their positions
        positions = list(map(kpi.position, values))
    measured = Points(ordinals, positions)
    first_day, last_day = dt.date.fromordinal(ordinals[0]), dt.date.fromordinal(ordinals[-1])
    due = kpi.due
    first = min(start, first_day)
    last = max(last_day, due or last_day)
    f = result.forecast
    forecast = (f.at, f.value, f.low, f.high) if f is not None else None
    if forecast is not None:
        last = max(last, forecast[0])
    corners = {first, last, start}
    if kpi.milestones:
        corners.update(m.date for m in kpi.milestones)
    if due is not None:
        corners.add(due)
    on = expected_path(kpi, start=start, baseline=base)  # the path's corners worked out once
    expected = tuple((day, on(day)) for day in sorted(d for d in corners if first <= d <= last))
    milestones = tuple(
        (m.date, kpi.position(m.target)) for m in kpi.milestones if first <= m.date <= last
    )
    target = kpi.position(kpi.target)
    # min() and max() of the values followed by the others: each goes on from the values'
    # own min() and max() as over one list of them all, with no such list made.
    ys = [y for _, y in expected] + [y for _, y in milestones]
    ys.append(target)
    if forecast is not None:
        ys += forecast[1:]
    low, high = min([min(positions), *ys]), max([max(positions), *ys])
    if kpi.kind is Kind.QUALITATIVE and kpi.scale:  # the whole scale
        low, high = min(low, 0.0), max(high, float(len(kpi.scale) - 1))
    if high - low < 1e-12:
        low, high = low - 1, high + 1
    events = tuple((e.date, e.title) for e in result.events if first <= e.date <= last)
    return Chart(first, last, low, high, target, measured, expected, milestones, forecast, events)


def expected_path(
    kpi: Kpi, *, start: dt.date | None, baseline: float | None
) -> Callable[[dt.date], float]:
    """`expected_position(kpi, day, start=start, baseline=baseline)` as a function of
    the day, with the path's corners worked out once instead of on every call: the
    same corners, the same arithmetic."""
    path = path_corners(kpi, start=start, baseline=baseline)
    if path is None:
        target = kpi.position(kpi.target)
        return lambda day: target
    target = path[-1][1]
    first_day, first_value = path[0]
    legs = list(itertools.pairwise(path))

    def on(day: dt.date) -> float:
        if day <= first_day:
            return first_value
        for (d0, v0), (d1, v1) in legs:
            if day <= d1:
                return v0 + (v1 - v0) * (day - d0).days / (d1 - d0).days
        return target

    return on


def objective_nodes(
    workspace: Workspace, results: Sequence[KpiResult]
) -> tuple[ObjectiveNode, ...]:
    """The objective tree (docs/evaluation.md, "Roll-up"): each objective under its
    parent, with the rolled-up progress of the KPIs in `results` below it; listed when
    it has a selected KPI, a listed objective below it, or no KPI measures it at all.
    Then "No objective" when a selected KPI has none (or an unknown one)."""
    from kpitrack.evaluation.rollup import ObjectiveNode as RollupNode
    from kpitrack.evaluation.rollup import build_tree

    measured = {k.objective for k in workspace.kpis}
    known = {o.id for o in workspace.objectives}
    of_objective = grouped(results, lambda r: r.kpi.objective)

    def node(rolled: RollupNode) -> ObjectiveNode | None:
        objective = rolled.objective
        children = tuple(n for n in (node(c) for c in rolled.children) if n is not None)
        members = tuple(of_objective.get(objective.id, ()))
        if not (members or children or objective.id not in measured):
            return None
        return ObjectiveNode(
            objective,
            objective_path(objective.id),
            members,
            StatusCounts.of(members),
            children=children,
            progress=rolled.progress,
        )

    tree = build_tree(workspace, results)
    nodes = [n for n in (node(root) for root in tree.roots) if n is not None]
    orphans = tuple(r for r in results if r.kpi.objective not in known)
    if orphans:
        nodes.append(ObjectiveNode(None, objective_path(None), orphans, StatusCounts.of(orphans)))
    return tuple(nodes)


def build_site(
    workspace: Workspace,
    results: Sequence[KpiResult],
    *,
    as_of: dt.date,
    config: Config,
    problems: Sequence[Problem] = (),
    history: Sequence[Change] | None = None,
    provenance: Provenance = Provenance(in_repository=False),
    built_at: str | None = None,
) -> Site:
    """The site as of `as_of` for the KPIs in `results` (evaluated as of `as_of`,
    filtered; workspace order). `history` is every definition change in git (None
    outside a repository): each KPI page gets its own, renames followed."""
    digest = build_report(
        workspace,
        as_of=as_of,
        since=as_of - dt.timedelta(days=7),
        config=config,
        results=results,
    )
    nodes = objective_nodes(workspace, digest.results)
    slugs = owner_slugs(o.owner for o in digest.owners)
    objective_of = {r.kpi.id: node for node in walk(nodes) for r in node.results}
    by_kpi: dict[str, list[Change]] = {}
    if history is not None:
        from kpitrack.git.changes import follow_id

        for change in history:
            by_kpi.setdefault(change.kpi, []).append(change)
    pages = []
    for r in digest.results:
        node = objective_of[r.kpi.id]
        if history is None:
            changes: tuple[Change, ...] | None = None
        elif any(c.field == "id" for c in by_kpi.get(r.kpi.id, ())):
            changes = tuple(follow_id(history, r.kpi.id))  # renamed: its old ids too
        else:
            changes = tuple(by_kpi.get(r.kpi.id, ()))
        pages.append(
            KpiPage(
                result=r,
                path=kpi_path(r.kpi.id),
                objective_path=node.path,
                objective_title=node.title,
                owner_path=owner_path(r.kpi.owner, slugs),
                history=changes,
            )
        )
    of_owner = grouped(digest.results, lambda r: r.kpi.owner)
    owners = tuple(
        OwnerPage(o.owner, owner_path(o.owner, slugs), tuple(of_owner[o.owner]), o.counts)
        for o in digest.owners
    )
    covered = {r.kpi.id for r in digest.results}
    recent = (
        None
        if history is None
        else tuple(
            c
            for c in history
            if c.kpi in covered and digest.since < dt.date.fromisoformat(c.date) <= as_of
        )
    )
    return Site(
        definition_changes=recent,
        as_of=as_of,
        digest=digest,
        kpis=tuple(pages),
        objectives=nodes,
        owners=owners,
        problems=tuple(sorted(problems)),
        provenance=provenance,
        built_at=built_at,
    )


def git_sources(files: Sequence[Path], config: Config) -> tuple[Provenance, list[Change] | None]:
    """The commit the site is built from and the definitions' git history (None, and
    `in_repository` False, outside a repository, without git, or when the workspace
    files are not in the repository of the current folder)."""
    from kpitrack.git.gitrepo import GitError, GitStopped, Repo, run_git, workspace_paths

    try:
        repo = Repo.find(Path.cwd().resolve())
    except GitError:
        return Provenance(in_repository=False), None
    head = repo.head()
    if head is None:  # no commit yet: a repository, with no history
        return Provenance(in_repository=True), []
    from kpitrack.git.changes import history

    root = Path(config.root) if config.root else None
    paths = workspace_paths(files, config.files, root, Path.cwd().resolve())
    try:
        repo_paths = [repo.repo_path(p) or "." for p in paths]
        changes = history(files, config)
    except GitStopped:
        raise
    except GitError:
        return Provenance(in_repository=False), None
    status = run_git(["status", "--porcelain", "-z", "--", *repo_paths], repo.root, check=False)
    uncommitted = status.returncode == 0 and bool(status.stdout.strip(b"\0"))
    return Provenance(in_repository=True, commit=head, uncommitted=uncommitted), changes
