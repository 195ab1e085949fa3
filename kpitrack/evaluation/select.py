"""Which KPIs a command lists, and when it fails: the filters (--owner, --objective, --tag,
--kpi, --all) and --fail-on, as plain functions over evaluated results.

No Typer and no Rich here: the shell passes the option values in and turns the
`UsageError`s raised here into messages and exit codes. The values --fail-on accepts
come from the `Status` and `Reason` enums, so a new status or reason is accepted
(and listed in the error message) without a change here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from kpitrack.domain.model import Reason, Status
from kpitrack.domain.problems import UsageError
from kpitrack.domain.records import Record

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

if TYPE_CHECKING:
    from kpitrack.domain.model import KpiResult
    from kpitrack.domain.workspace import Workspace

NEEDS_ACTION = "needs-action"  # --fail-on: any needs-action reason

FAIL_ON_VALUES: tuple[str, ...] = (
    *(str(s) for s in Status),
    *(str(r) for r in Reason if r.value not in {s.value for s in Status}),
    NEEDS_ACTION,
)
"""Every value --fail-on accepts: the statuses, then the reasons that are not also a
status, then `needs-action`."""


def split_values(values: Iterable[str] | None) -> list[str]:
    """Repeatable options that also accept comma-separated lists; blanks dropped."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


# ---------------------------------------------------------------- filters


def _check_known(option: str, wanted: Sequence[str], known: Sequence[str]) -> None:
    """A usage error for a filter value (matched case-insensitively) that no KPI has."""
    from kpitrack.domain.suggest import closest

    folded = {k.casefold(): k for k in known}
    for value in wanted:
        if value.casefold() not in folded:
            match = closest(value.casefold(), folded)
            hint = f" (did you mean '{folded[match]}'?)" if match else ""
            choices = ", ".join(sorted(set(known), key=str.casefold)) or "none"
            what = option.lstrip("-")
            raise UsageError(f"{option}: no KPI has {what} '{value}'{hint} (known: {choices})")


def drop_archived(
    results: Sequence[KpiResult], show_all: bool, named: Sequence[str] | None = None
) -> list[KpiResult]:
    """Archived KPIs keep their history but leave the views, unless --all, or unless named
    with --kpi (`named`): a KPI asked for by id is shown, as by `show` and `collect --kpi`
    (docs/evaluation.md, the settled readings)."""
    wanted = set(split_values(named))
    return [r for r in results if show_all or not r.kpi.archived or r.kpi.id in wanted]


def filter_results(
    results: Sequence[KpiResult],
    workspace: Workspace,
    *,
    owners: Sequence[str] | None = None,
    objectives: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    kpis: Sequence[str] | None = None,
) -> list[KpiResult]:
    """Keep the KPIs matching every given filter (any value within one filter).

    Owners and tags match in any case; KPI and objective ids exactly. A value that no
    KPI (or objective) has is a `UsageError` with a did-you-mean hint, never an empty
    list: a typo must not look like "nothing to report"."""
    from kpitrack.domain.suggest import did_you_mean

    owner_set = {o.casefold() for o in split_values(owners)}
    tag_set = {t.casefold() for t in split_values(tags)}
    objective_set, kpi_set = set(split_values(objectives)), set(split_values(kpis))
    _check_known("--owner", split_values(owners), [k.owner for k in workspace.kpis if k.owner])
    _check_known("--tag", split_values(tags), [t for k in workspace.kpis for t in k.tags])
    known = {k.id for k in workspace.kpis}
    for kpi_id in sorted(kpi_set - known):
        workspace.require_kpi(kpi_id, option="--kpi")
    known_objectives = {o.id for o in workspace.objectives}
    for objective_id in sorted(objective_set - known_objectives):
        choices = ", ".join(sorted(known_objectives)) or "none"
        raise UsageError(
            f"--objective: no objective '{objective_id}'"
            f"{did_you_mean(objective_id, known_objectives)} (known: {choices})"
        )
    return [
        r
        for r in results
        if (not owner_set or (r.kpi.owner or "").casefold() in owner_set)
        and (not objective_set or r.kpi.objective in objective_set)
        and (not tag_set or tag_set.intersection(t.casefold() for t in r.kpi.tags))
        and (not kpi_set or r.kpi.id in kpi_set)
    ]


# ---------------------------------------------------------------- --fail-on


@record(frozen=True)
class FailOn(Record):
    """The parsed --fail-on values: which statuses and reasons fail a run."""

    statuses: frozenset[Status] = frozenset()
    reasons: frozenset[Reason] = frozenset()
    any_reason: bool = False  # `needs-action`

    def __init__(
        self,
        statuses: frozenset[Status] = frozenset(),
        reasons: frozenset[Reason] = frozenset(),
        any_reason: bool = False,
    ) -> None:
        _setattr(self, "statuses", statuses)
        _setattr(self, "reasons", reasons)
        _setattr(self, "any_reason", any_reason)

    def __bool__(self) -> bool:
        return bool(self.statuses or self.reasons or self.any_reason)

    def matches(self, result: KpiResult) -> bool:
        """Whether this KPI's status or one of its needs-action reasons was named."""
        return (
            result.status in self.statuses
            or not self.reasons.isdisjoint(result.reasons)
            or (self.any_reason and bool(result.reasons))
        )


def parse_fail_on(values: Sequence[str] | None) -> FailOn:
    """--fail-on values (repeatable or comma-separated): statuses, needs-action reasons,
    or `needs-action` for any reason. An unknown value is a `UsageError` with a
    did-you-mean hint and the list of accepted values."""
    from kpitrack.domain.suggest import did_you_mean

    wanted = set(split_values(values))
    for value in sorted(wanted - set(FAIL_ON_VALUES)):
        raise UsageError(
            f"--fail-on: unknown status or reason '{value}'{did_you_mean(value, FAIL_ON_VALUES)}"
            f" (choose from {', '.join(FAIL_ON_VALUES)})"
        )
    return FailOn(
        statuses=frozenset(s for s in Status if s.value in wanted),
        reasons=frozenset(r for r in Reason if r.value in wanted),
        any_reason=NEEDS_ACTION in wanted,
    )


def fail_on_matches(results: Iterable[KpiResult], fail_on: FailOn) -> list[KpiResult]:
    """The results that match any --fail-on value, in the given order."""
    return [r for r in results if fail_on.matches(r)]
