"""The objective tree and its roll-up (docs/evaluation.md, "Objective tree and roll-up"):
pure, from evaluated results.

- An objective's **progress** is the weighted mean of its active KPIs' progress
  clamped to [0, 1] (a KPI with no data counts 0) and of its child objectives'
  progress (weights: `Kpi.weight`, `Objective.weight`); None when it has neither.
- Its **status** is the worst among its active KPIs and child objectives, in the
  order off-track, at-risk, no-data, on-track, achieved (weakest link).
- Its **counts** per status include every active KPI below it.

Decisions (docs/evaluation.md): an objective with no active KPI anywhere below it
is *empty*: progress None, status no-data, and its parent leaves it out of both its
progress and its status (an empty branch says nothing). The roll-up is always over
every active KPI: filters choose which nodes a view shows (`prune`), never the
numbers. An objective whose `parent` is unknown, or on a cycle, is a root (the
loader reports both as errors; this module only never loops).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from kpitrack.domain.model import KpiResult, Objective, Status, StatusCounts
from kpitrack.domain.records import Record
from kpitrack.domain.workspace import Workspace

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

__all__ = [
    "ROLLUP_ORDER",
    "KpiNode",
    "ObjectiveNode",
    "Tree",
    "build_tree",
    "clamped",
    "counts_words",
    "descendants",
    "driver_words",
    "objective_tree",
    "prune",
    "weakest",
    "with_drivers",
]

# Worst first: the weakest-link order of docs/evaluation.md, "Objective tree and roll-up"
# (not Status.rank, where no-data is worst).
ROLLUP_ORDER: tuple[Status, ...] = (
    Status.OFF_TRACK,
    Status.AT_RISK,
    Status.NO_DATA,
    Status.ON_TRACK,
    Status.ACHIEVED,
)
_POSITION = {status: index for index, status in enumerate(ROLLUP_ORDER)}


def weakest(statuses: Iterable[Status]) -> Status | None:
    """The worst status in the roll-up order; None for none."""
    return min(statuses, key=_POSITION.__getitem__, default=None)


def clamped(progress: float | None) -> float:
    """A KPI's progress as it counts in a roll-up: within [0, 1]; no data counts 0."""
    if progress is None:
        return 0.0
    return min(1.0, max(0.0, progress))


@record(frozen=True)
class KpiNode(Record):
    """A KPI in the tree, with the KPIs that drive it (and theirs) under it."""

    result: KpiResult
    drivers: tuple[KpiNode, ...] = ()

    def __init__(self, result: KpiResult, drivers: tuple[KpiNode, ...] = ()) -> None:
        _setattr(self, "result", result)
        _setattr(self, "drivers", drivers)


@record(frozen=True)
class ObjectiveNode(Record):
    """An objective in the tree: its rolled-up progress and status, its KPIs and children."""

    objective: Objective
    depth: int  # 0 for a root
    progress: float | None
    status: Status
    counts: StatusCounts  # every active KPI below it, its own and its children's
    kpis: tuple[KpiNode, ...]  # its own active KPIs, workspace order
    children: tuple[ObjectiveNode, ...]
    path: tuple[str, ...]  # objective ids from the root down to this one

    def __init__(
        self,
        objective: Objective,
        depth: int,
        progress: float | None,
        status: Status,
        counts: StatusCounts,
        kpis: tuple[KpiNode, ...],
        children: tuple[ObjectiveNode, ...],
        path: tuple[str, ...],
    ) -> None:
        _setattr(self, "objective", objective)
        _setattr(self, "depth", depth)
        _setattr(self, "progress", progress)
        _setattr(self, "status", status)
        _setattr(self, "counts", counts)
        _setattr(self, "kpis", kpis)
        _setattr(self, "children", children)
        _setattr(self, "path", path)

    @property
    def empty(self) -> bool:
        """No active KPI anywhere below it."""
        return self.counts.total == 0

    def walk(self) -> Iterable[ObjectiveNode]:
        """This node, then its descendants depth-first (the tree's reading order)."""
        yield self
        for child in self.children:
            yield from child.walk()


@record(frozen=True)
class Tree(Record):
    """The objective tree: its roots, and the active KPIs without a known objective."""

    roots: tuple[ObjectiveNode, ...]
    unassigned: tuple[KpiNode, ...]  # active KPIs without a (known) objective

    def __init__(self, roots: tuple[ObjectiveNode, ...], unassigned: tuple[KpiNode, ...]) -> None:
        _setattr(self, "roots", roots)
        _setattr(self, "unassigned", unassigned)

    def objectives(self) -> list[ObjectiveNode]:
        """Every objective node in reading order (parents before their children)."""
        return [node for root in self.roots for node in root.walk()]


def build_tree(workspace: Workspace, results: Sequence[KpiResult]) -> Tree:
    """The objective tree with its roll-up, from one result per KPI (archived ones are
    left out; they may be missing). Objectives keep workspace order among siblings."""
    active = [r for r in results if not r.kpi.archived]
    by_id = {r.kpi.id: r for r in results}
    known = {o.id for o in workspace.objectives}
    kpis_of: dict[str, list[KpiNode]] = {o.id: [] for o in workspace.objectives}
    unassigned: list[KpiNode] = []
    for r in active:
        node = _kpi_node(r, by_id, frozenset())
        if r.kpi.objective in known:
            kpis_of[r.kpi.objective].append(node)
        else:
            unassigned.append(node)
    children_of: dict[str, list[Objective]] = {o.id: [] for o in workspace.objectives}
    roots: list[Objective] = []
    cyclic = _on_cycles(workspace.objectives)
    for objective in workspace.objectives:
        parent = objective.parent
        if parent is None or parent not in known or objective.id in cyclic:
            roots.append(objective)
        else:
            children_of[parent].append(objective)
    built = tuple(_objective_node(o, 0, (), kpis_of, children_of) for o in roots)
    return Tree(roots=built, unassigned=tuple(unassigned))


def _on_cycles(objectives: Sequence[Objective]) -> set[str]:
    """The ids of the objectives whose `parent` chain leads back to themselves."""
    parents = {o.id: o.parent for o in objectives}
    found = set()
    for objective in objectives:
        current = objective.parent
        for _ in range(len(parents)):
            if current is None or current not in parents:
                break
            if current == objective.id:
                found.add(objective.id)
                break
            current = parents[current]
    return found


def _kpi_node(result: KpiResult, by_id: Mapping[str, KpiResult], seen: frozenset[str]) -> KpiNode:
    """A KPI with its drivers under it, recursively (a driver already on the path is not
    repeated, so a cycle never loops)."""
    seen = seen | {result.kpi.id}
    drivers = tuple(
        _kpi_node(by_id[d], by_id, seen) for d in result.kpi.drivers if d in by_id and d not in seen
    )
    return KpiNode(result, drivers)


def _objective_node(
    objective: Objective,
    depth: int,
    path: tuple[str, ...],
    kpis_of: Mapping[str, list[KpiNode]],
    children_of: Mapping[str, list[Objective]],
) -> ObjectiveNode:
    path = (*path, objective.id)
    children = tuple(
        _objective_node(child, depth + 1, path, kpis_of, children_of)
        for child in children_of[objective.id]
        if child.id not in path
    )
    own = tuple(kpis_of[objective.id])
    counted = [c for c in children if not c.empty]
    weights = [k.result.kpi.weight for k in own] + [c.objective.weight for c in counted]
    values = [clamped(k.result.progress) for k in own] + [
        c.progress if c.progress is not None else 0.0 for c in counted
    ]
    total = sum(weights)
    progress = sum(w * v for w, v in zip(weights, values, strict=True)) / total if total else None
    status = weakest([k.result.status for k in own] + [c.status for c in counted])
    below = [k.result for k in own] + [r for c in children for r in _results(c)]
    return ObjectiveNode(
        objective=objective,
        depth=depth,
        progress=progress,
        status=status or Status.NO_DATA,
        counts=StatusCounts.of(below),
        kpis=own,
        children=children,
        path=path,
    )


def _results(node: ObjectiveNode) -> Iterable[KpiResult]:
    for k in node.kpis:
        yield k.result
    for child in node.children:
        yield from _results(child)


# ---------------------------------------------------------------- filters


def prune(tree: Tree, keep_kpis: Iterable[str], keep_objectives: Iterable[str] = ()) -> Tree:
    """The tree showing only the KPIs in `keep_kpis` (and their drivers), each under the
    path from its root; objectives in `keep_objectives` stay even when nothing under
    them matched. The roll-up figures are not recomputed."""
    kpis, objectives = set(keep_kpis), set(keep_objectives)

    def visit(node: ObjectiveNode) -> ObjectiveNode | None:
        children = tuple(c for c in (visit(child) for child in node.children) if c is not None)
        own = tuple(k for k in node.kpis if k.result.kpi.id in kpis)
        if not children and not own and node.objective.id not in objectives:
            return None
        return replace(node, kpis=own, children=children)

    roots = tuple(r for r in (visit(root) for root in tree.roots) if r is not None)
    unassigned = tuple(k for k in tree.unassigned if k.result.kpi.id in kpis)
    return Tree(roots=roots, unassigned=unassigned)


def descendants(workspace: Workspace, objective_ids: Iterable[str]) -> set[str]:
    """The given objectives and every objective below them."""
    found = set(objective_ids)
    changed = True
    while changed:
        changed = False
        for objective in workspace.objectives:
            if objective.parent in found and objective.id not in found:
                found.add(objective.id)
                changed = True
    return found


# ---------------------------------------------------------------- drivers


def with_drivers(results: Sequence[KpiResult]) -> list[KpiResult]:
    """Each result with its drivers' statuses filled in (`KpiResult.drivers`), from the
    other results (a driver without a result is left out)."""
    statuses = {r.kpi.id: r.status for r in results}
    out = []
    for r in results:
        if r.kpi.drivers:
            known = tuple((d, statuses[d]) for d in r.kpi.drivers if d in statuses)
            r = replace(r, drivers=known)
        out.append(r)
    return out


def driver_words(result: KpiResult) -> str | None:
    """`drivers: trial-conversion on-track, churn off-track` for an at-risk or off-track
    KPI with drivers; None otherwise."""
    if not result.status.behind or not result.drivers:
        return None
    return "drivers: " + ", ".join(f"{d} {s}" for d, s in result.drivers)


def objective_tree(
    workspace: Workspace,
    results: Sequence[KpiResult],
    *,
    owners: Sequence[str] | None = None,
    objectives: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> Tree:
    """`kpitrack tree`'s view: the whole tree, or with filters only the KPIs they select
    (an `--objective` selects its whole subtree) under the paths to their roots. Unknown
    filter values are `UsageError`s, as for every listing (select.filter_results)."""
    from kpitrack.evaluation.select import filter_results, split_values

    tree = build_tree(workspace, results)
    wanted = split_values(objectives)
    if not (split_values(owners) or wanted or split_values(tags)):
        return tree
    subtree = sorted(descendants(workspace, wanted)) if wanted else None
    kept = filter_results(results, workspace, owners=owners, objectives=subtree, tags=tags)
    return prune(tree, [r.kpi.id for r in kept], wanted)


def counts_words(counts: StatusCounts) -> list[str]:
    """`["1 off-track", "2 on-track"]`: the statuses below an objective, worst first
    (statuses without a KPI left out)."""
    return [f"{counts.count(s)} {s}" for s in ROLLUP_ORDER if counts.count(s)]
