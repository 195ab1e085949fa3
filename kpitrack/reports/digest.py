"""The weekly digest (`kpitrack report`): one evaluation, organised into sections.

`build_report` is pure: it takes the workspace, the as-of date and the start of
the window, evaluates (or takes the results it is handed) and returns a frozen
`Report`. The renderers in `kpitrack/render/report_*.py` only format it.

Status order, worst to best (`Status.rank`, used to tell improvements from regressions):
``no-data < off-track < at-risk < on-track < achieved``. A change *from*
`no-data` is neither: it is a KPI's **first report** and is listed apart, so
that "no-data → off-track" is not announced as good news.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Container, Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from kpitrack.domain.model import (
    Config,
    Event,
    Kpi,
    KpiResult,
    Measurement,
    Objective,
    Status,
    StatusCounts,
)
from kpitrack.domain.records import Record
from kpitrack.domain.series import Measurements, Series
from kpitrack.domain.workspace import Workspace

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
    from pathlib import Path

    from kpitrack.git.changes import DefinitionChanges
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

DEFAULT_WINDOW = dt.timedelta(days=7)


def default_since(as_of: dt.date) -> dt.date:
    """The start of the default window: a week before the as-of date."""
    return as_of - DEFAULT_WINDOW


class ChangeKind(StrEnum):
    IMPROVED = "improved"
    REGRESSED = "regressed"
    FIRST_REPORT = "first-report"


@record(frozen=True)
class OwnerSummary(Record):
    """An owner's line of the summary: the status counts of their KPIs."""

    owner: str | None  # None: KPIs without an owner
    counts: StatusCounts

    def __init__(self, owner: str | None, counts: StatusCounts) -> None:
        _setattr(self, "owner", owner)
        _setattr(self, "counts", counts)


@record(frozen=True)
class StatusChange(Record):
    """A KPI whose status as of `since` differs from its status as of `as_of`."""

    result: KpiResult  # as of the report's as-of date
    before: Status
    after: Status

    def __init__(self, result: KpiResult, before: Status, after: Status) -> None:
        _setattr(self, "result", result)
        _setattr(self, "before", before)
        _setattr(self, "after", after)

    @property
    def kind(self) -> ChangeKind:
        if self.before is Status.NO_DATA:
            return ChangeKind.FIRST_REPORT
        if self.after.rank > self.before.rank:
            return ChangeKind.IMPROVED
        return ChangeKind.REGRESSED


@record(frozen=True)
class NewMeasurement(Record):
    """A measurement dated inside the report's window, with its KPI."""

    kpi: Kpi
    measurement: Measurement

    def __init__(self, kpi: Kpi, measurement: Measurement) -> None:
        _setattr(self, "kpi", kpi)
        _setattr(self, "measurement", measurement)


@record(frozen=True)
class ObjectiveGroup(Record):
    """KPIs under one strategic objective; `objective` None is the "No objective" group."""

    objective: Objective | None
    results: tuple[KpiResult, ...]
    counts: StatusCounts
    # The objective tree's roll-up (docs/evaluation.md, "Objective tree and roll-up"):
    # its depth (0 for a root), progress and status over every active KPI below it. None
    # for the "No objective" group.
    depth: int = 0
    progress: float | None = None
    status: Status | None = None

    def __init__(
        self,
        objective: Objective | None,
        results: tuple[KpiResult, ...],
        counts: StatusCounts,
        depth: int = 0,
        progress: float | None = None,
        status: Status | None = None,
    ) -> None:
        _setattr(self, "objective", objective)
        _setattr(self, "results", results)
        _setattr(self, "counts", counts)
        _setattr(self, "depth", depth)
        _setattr(self, "progress", progress)
        _setattr(self, "status", status)

    @property
    def title(self) -> str:
        return self.objective.title if self.objective else "No objective"


@record(frozen=True)
class GitScope(Record):
    """Where the report's "Definitions changed" section reads git history: the workspace
    files (their repository, not the current folder's), up to `rev` (default HEAD), after
    `since_rev` instead of the report's since date when given."""

    files: tuple[Path, ...] = ()
    rev: str | None = None
    since_rev: str | None = None

    def __init__(
        self, files: tuple[Path, ...] = (), rev: str | None = None, since_rev: str | None = None
    ) -> None:
        _setattr(self, "files", files)
        _setattr(self, "rev", rev)
        _setattr(self, "since_rev", since_rev)


@record(frozen=True)
class Report(Record):
    """The digest: every section of `kpitrack report`, as data."""

    as_of: dt.date
    since: dt.date
    results: tuple[KpiResult, ...]  # every KPI covered, in workspace order
    summary: StatusCounts
    owners: tuple[OwnerSummary, ...]  # owners A→Z, "no owner" last
    new_measurements: tuple[NewMeasurement, ...]  # dated in (since, as_of], oldest first
    changes: tuple[StatusChange, ...]  # in workspace order
    objectives: tuple[ObjectiveGroup, ...]  # workspace order, "No objective" last
    overdue: tuple[KpiResult, ...]  # never reported first, most days, then worst status
    needs_action: tuple[KpiResult, ...]  # worst first
    # Definition changes from git history (kpitrack/git/changes.py); None when not asked
    # for (build_report without `git`); outside a repository it says why it is empty.
    definitions: DefinitionChanges | None = None
    # Events dated in (since, as_of] that concern a KPI covered, oldest first.
    events: tuple[Event, ...] = ()

    def __init__(
        self,
        as_of: dt.date,
        since: dt.date,
        results: tuple[KpiResult, ...],
        summary: StatusCounts,
        owners: tuple[OwnerSummary, ...],
        new_measurements: tuple[NewMeasurement, ...],
        changes: tuple[StatusChange, ...],
        objectives: tuple[ObjectiveGroup, ...],
        overdue: tuple[KpiResult, ...],
        needs_action: tuple[KpiResult, ...],
        definitions: DefinitionChanges | None = None,
        events: tuple[Event, ...] = (),
    ) -> None:
        _setattr(self, "as_of", as_of)
        _setattr(self, "since", since)
        _setattr(self, "results", results)
        _setattr(self, "summary", summary)
        _setattr(self, "owners", owners)
        _setattr(self, "new_measurements", new_measurements)
        _setattr(self, "changes", changes)
        _setattr(self, "objectives", objectives)
        _setattr(self, "overdue", overdue)
        _setattr(self, "needs_action", needs_action)
        _setattr(self, "definitions", definitions)
        _setattr(self, "events", events)

    def changes_of(self, kind: ChangeKind) -> tuple[StatusChange, ...]:
        return tuple(c for c in self.changes if c.kind is kind)

    @property
    def improvements(self) -> tuple[StatusChange, ...]:
        return self.changes_of(ChangeKind.IMPROVED)

    @property
    def regressions(self) -> tuple[StatusChange, ...]:
        return self.changes_of(ChangeKind.REGRESSED)

    @property
    def first_reports(self) -> tuple[StatusChange, ...]:
        return self.changes_of(ChangeKind.FIRST_REPORT)


def _owner_key(owner: str | None) -> tuple[int, str]:
    return (1, "") if owner is None else (0, owner.casefold())


def build_report(
    workspace: Workspace,
    *,
    as_of: dt.date,
    since: dt.date,
    config: Config,
    results: Sequence[KpiResult] | None = None,
    previous: Sequence[KpiResult] | None = None,
    git: GitScope | None = None,
) -> Report:
    """The digest as of `as_of`, with what changed after `since` up to and including `as_of`.

    `results` are the KPIs to report on, evaluated as of `as_of` (the CLI passes
    them filtered); None evaluates every KPI. `previous` are the results as of
    `since`; None evaluates those that can differ from `results` (`statuses_since`).
    Only KPIs in `results` are reported on. With `git`,
    the "Definitions changed" section is read from the git history of the workspace
    files (only the window's commits; see docs/git.md).
    """
    if since > as_of:
        raise ValueError(f"since ({since}) is after as_of ({as_of})")
    from kpitrack.evaluation.evaluate import evaluate, overdue_first, worst_first

    if results is None:
        results = evaluate(workspace, as_of=as_of, config=config)

    # Workspace order for everything listed "in order"; KPIs unknown to it go last.
    order = {kpi.id: index for index, kpi in enumerate(workspace.kpis)}
    current = tuple(sorted(results, key=lambda r: order.get(r.kpi.id, len(order))))
    covered = {r.kpi.id for r in current}
    if previous is None:
        before = statuses_since(workspace, current, since=since, as_of=as_of, config=config)
    else:
        before = {r.kpi.id: r.status for r in previous}

    changes = tuple(
        StatusChange(r, before[r.kpi.id], r.status)
        for r in current
        if r.kpi.id in before and before[r.kpi.id] is not r.status
    )

    kpi_by_id = {r.kpi.id: r.kpi for r in current}
    new_measurements = tuple(
        NewMeasurement(kpi_by_id[m.kpi], m)
        for m in window_measurements(workspace.measurements, covered, since=since, as_of=as_of)
    )

    of_owner = grouped(current, lambda r: r.kpi.owner)
    owners = sorted(of_owner, key=_owner_key)
    owner_summaries = tuple(
        OwnerSummary(owner, StatusCounts.of(of_owner[owner])) for owner in owners
    )

    groups = _objective_groups(workspace, current, as_of=as_of, config=config)
    events = tuple(
        e
        for e in sorted(workspace.events, key=lambda e: e.date)
        if since < e.date <= as_of and any(e.concerns(kpi_id) for kpi_id in covered)
    )

    overdue = tuple(sorted((r for r in current if r.overdue is not None), key=overdue_first))
    needs_action = tuple(sorted((r for r in current if r.needs_action), key=worst_first))

    return Report(
        as_of=as_of,
        since=since,
        results=current,
        summary=StatusCounts.of(current),
        owners=owner_summaries,
        new_measurements=new_measurements,
        changes=changes,
        objectives=tuple(groups),
        overdue=overdue,
        needs_action=needs_action,
        events=events,
        definitions=_definitions(git, workspace, config, since=since, as_of=as_of),
    )


def grouped(
    results: Iterable[KpiResult], key: Callable[[KpiResult], str | None]
) -> dict[str | None, list[KpiResult]]:
    """The results by `key`, each group in the order given (keys in order of first
    appearance): one pass instead of one scan of every result per key."""
    groups: dict[str | None, list[KpiResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return groups


def statuses_since(
    workspace: Workspace,
    current: Sequence[KpiResult],
    *,
    since: dt.date,
    as_of: dt.date,
    config: Config,
) -> dict[str, Status]:
    """Each workspace KPI's status as of `since`, for the KPIs of `current` (evaluated
    as of `as_of`): the statuses `evaluate(workspace, as_of=since)` gives them, with
    only the KPIs whose status can differ evaluated again.

    A status depends on the history up to the day and, after the due date, on the day
    itself (docs/evaluation.md, "Expected path"): a KPI with no measurement after
    `since` and no due date in [since, as_of) has the same history and the same
    status on both days. The others get their status alone (`status_of`: no forecast,
    overdue periods or reasons, which the digest does not show for `since`)."""
    from kpitrack.evaluation.evaluate import status_of

    known = {kpi.id: kpi for kpi in workspace.kpis}
    out: dict[str, Status] = {}
    for r in current:
        kpi = known.get(r.kpi.id)
        if kpi is None:
            continue
        unchanged = (
            kpi is r.kpi
            and r.as_of == as_of
            and (r.latest is None or r.latest.date <= since)
            and not (kpi.due is not None and since <= kpi.due < as_of)
        )
        if unchanged:
            out[kpi.id] = r.status
        elif kpi is r.kpi and r.as_of == as_of:
            out[kpi.id] = _status_before(r, workspace.measurements, since=since, config=config)
        else:
            out[kpi.id] = status_of(kpi, workspace.measurements, as_of=since, config=config)
    return out


def _status_before(
    r: KpiResult, measurements: Measurements, *, since: dt.date, config: Config
) -> Status:
    """`status_of(r.kpi, measurements, as_of=since, config=config)`, where `r` is the
    KPI's result as of a later date from the same measurements. When the KPI's series is
    known to be in date order (evaluating `r` found it) its history as of `since` is a
    head of `r`'s: the same first date, so the same start and baseline, and only its
    latest entry is read from the columns (found by bisection)."""
    from kpitrack.evaluation.evaluate import standing_on, status_of

    kpi, start, baseline = r.kpi, r.start, r.baseline
    series = measurements.series(kpi.id)
    if series is None or series.ordered is not True or start is None or baseline is None:
        return status_of(kpi, measurements, as_of=since, config=config)
    n = bisect_right(series.dates, since.toordinal())
    if n == 0:
        return Status.NO_DATA
    status, _positions = standing_on(
        kpi,
        start=start,
        baseline=baseline,
        day=series.day(n - 1),
        value=series.values[n - 1],
        as_of=since,
        config=config,
    )
    return status


def window_measurements(
    measurements: Measurements, kpi_ids: Container[str], *, since: dt.date, as_of: dt.date
) -> list[Measurement]:
    """The given KPIs' measurements dated after `since` up to and including `as_of`, by
    date, then reading order: the same list as sorting every Measurement by
    (date, order) and keeping those, but read from the columns, building a Measurement
    only for the few inside the window (found by bisection when the dates are sorted)."""
    low, high = since.toordinal(), as_of.toordinal()
    picked: list[tuple[int, int, Series, int]] = []
    for series in measurements.all_series():
        if series.kpi in kpi_ids:
            dates, orders = series.dates, series.orders
            if series.ordered:  # dates known to be in file order (an evaluation found it)
                first, last = bisect_right(dates, low), bisect_right(dates, high)
                picked.extend((dates[i], orders[i], series, i) for i in range(first, last))
                continue
            picked.extend(
                (day, orders[i], series, i) for i, day in enumerate(dates) if low < day <= high
            )
    if len({order for _, order, _, _ in picked}) != len(picked):
        # Orders given twice (measurements made by hand): keep the stable sort of
        # reading order, which tells such ties apart.
        return sorted(
            (m for m in measurements if m.kpi in kpi_ids and since < m.date <= as_of),
            key=lambda m: (m.date, m.order),
        )
    picked.sort()  # by (date, order): no two share an order, so a series is never compared
    return [series.measurement(i) for _, _, series, i in picked]


def _definitions(
    git: GitScope | None, workspace: Workspace, config: Config, *, since: dt.date, as_of: dt.date
) -> DefinitionChanges | None:
    if git is None:
        return None
    from kpitrack.git.changes import report_definitions

    return report_definitions(
        git.files,
        config,
        since=since,
        as_of=as_of,
        rev=git.rev,
        since_rev=git.since_rev,
        workspace=workspace,
    )


def _objective_groups(
    workspace: Workspace, current: Sequence[KpiResult], *, as_of: dt.date, config: Config
) -> list[ObjectiveGroup]:
    """The "Status by objective" groups in the objective tree's order (parents before
    their children), each with the roll-up over every active KPI below it; an objective
    is listed when it has a covered KPI or a listed objective below it (the path to the
    root stays); the "No objective" group last."""
    from kpitrack.evaluation.evaluate import evaluate
    from kpitrack.evaluation.rollup import ObjectiveNode, build_tree

    covered = {r.kpi.id for r in current}
    everyone = list(current)
    if any(not k.archived and k.id not in covered for k in workspace.kpis):
        everyone = evaluate(workspace, as_of=as_of, config=config)  # the roll-up counts all
    tree = build_tree(workspace, everyone)
    groups: list[ObjectiveGroup] = []
    of_objective = grouped(current, lambda r: r.kpi.objective)

    def visit(node: ObjectiveNode) -> bool:
        at = len(groups)
        members = tuple(of_objective.get(node.objective.id, ()))
        groups.append(
            ObjectiveGroup(
                node.objective,
                members,
                StatusCounts.of(members),
                depth=node.depth,
                progress=node.progress,
                status=node.status,
            )
        )
        below = [visit(child) for child in node.children]
        if not members and not any(below):
            del groups[at:]
            return False
        return True

    for root in tree.roots:
        visit(root)
    known_objectives = {o.id for o in workspace.objectives}
    members = tuple(r for r in current if r.kpi.objective not in known_objectives)
    if members:
        groups.append(ObjectiveGroup(None, members, StatusCounts.of(members)))
    return groups
