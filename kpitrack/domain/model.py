"""The domain model: frozen records and enums. No I/O, no Rich, no YAML.

Each class is a frozen dataclass that writes its own `__init__` (`domain/records.py`:
dataclasses would compile one per class at every start-up); a new field goes into
the class's fields and its `__init__`, in the same place (`tests/test_records.py`
fails otherwise)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import field
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from kpitrack.domain.records import Record
from kpitrack.domain.suggest import did_you_mean

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields, as dataclasses do

# A measured value: a finite number, or a scale label for qualitative KPIs.
Value = float | str

# Largest magnitude accepted for a number: far beyond any KPI, and small enough
# that differences and ratios of two values never overflow to infinity.
MAX_MAGNITUDE = 1e15


# Supported calendar: generous for any KPI, and far enough from year 9999 that
# adding periods, grace days and review intervals never leaves Python's dates.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(9000, 12, 31)
MAX_GRACE_DAYS = 3660  # ten years


def date_in_range(day: dt.date) -> bool:
    return MIN_DATE <= day <= MAX_DATE


def in_range(number: float) -> bool:
    """Finite and at most MAX_MAGNITUDE in size."""
    return -MAX_MAGNITUDE <= number <= MAX_MAGNITUDE  # False for NaN and infinities


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Kind(StrEnum):
    QUANTITATIVE = "quantitative"
    QUALITATIVE = "qualitative"
    PROGRESS = "progress"


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"


class Indicator(StrEnum):
    LEADING = "leading"
    LAGGING = "lagging"


class Status(StrEnum):
    """Where a KPI stands. Its orderings are defined here once:

    - `rank`: how good it is, worst 0: no-data < off-track < at-risk < on-track < achieved
      (tells an improvement from a regression, and "never worsens");
    - `summary_order()`: best first, the order summaries count and show statuses in;
    - `attention`: the order of the `actions` list, first 0: off-track, at-risk, no-data,
      then the rest (on-track and achieved tie).
    """

    NO_DATA = "no-data"
    ACHIEVED = "achieved"
    ON_TRACK = "on-track"
    AT_RISK = "at-risk"
    OFF_TRACK = "off-track"

    @classmethod
    def worst_to_best(cls) -> tuple[Status, ...]:
        return _WORST_TO_BEST

    @classmethod
    def summary_order(cls) -> tuple[Status, ...]:
        """Best first, as a reader scans a summary: achieved, on-track, ..., no-data."""
        return _BEST_TO_WORST

    @property
    def rank(self) -> int:
        """How good the status is: 0 for no-data (the worst) up to 4 for achieved."""
        return _WORST_TO_BEST.index(self)

    @property
    def behind(self) -> bool:
        """At risk or off track: short of where the KPI should be by now."""
        return self is Status.AT_RISK or self is Status.OFF_TRACK

    @property
    def attention(self) -> int:
        """Position in a worst-first list: off-track 0, at-risk 1, no-data 2, the rest 3."""
        return _ATTENTION.get(self, len(_ATTENTION))


_WORST_TO_BEST = (
    Status.NO_DATA,
    Status.OFF_TRACK,
    Status.AT_RISK,
    Status.ON_TRACK,
    Status.ACHIEVED,
)
_BEST_TO_WORST = tuple(reversed(_WORST_TO_BEST))
_ATTENTION = {Status.OFF_TRACK: 0, Status.AT_RISK: 1, Status.NO_DATA: 2}


class Reason(StrEnum):
    OFF_TRACK = "off-track"
    AT_RISK = "at-risk"
    OVERDUE = "overdue"
    NO_ACTION_PLAN = "no-action-plan"
    PAST_DUE = "past-due"
    REVIEW_DUE = "review-due"
    NO_DATA = "no-data"
    ACTION_OVERDUE = "action-overdue"
    ACTION_DONE_STILL_OFF_TRACK = "action-done-still-off-track"
    FORECAST_MISS = "forecast-miss"


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


@record(frozen=True, order=True, slots=True)
class Location(Record):
    """Where something was written: 1-based line and column."""

    path: str
    line: int
    column: int

    def __init__(self, path: str, line: int, column: int) -> None:
        _setattr(self, "path", path)
        _setattr(self, "line", line)
        _setattr(self, "column", column)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


NOWHERE = Location("<none>", 0, 0)


@record(frozen=True)
class Objective(Record):
    """An objective: what a group of KPIs serves, in a tree of objectives (`parent`)."""

    id: str
    title: str
    owner: str | None = None
    due: dt.date | None = None
    description: str | None = None
    loc: Location = NOWHERE
    # The objective this one serves (company → department → team), and its share there.
    parent: str | None = None
    weight: float = 1.0

    def __init__(
        self,
        id: str,
        title: str,
        owner: str | None = None,
        due: dt.date | None = None,
        description: str | None = None,
        loc: Location = NOWHERE,
        parent: str | None = None,
        weight: float = 1.0,
    ) -> None:
        _setattr(self, "id", id)
        _setattr(self, "title", title)
        _setattr(self, "owner", owner)
        _setattr(self, "due", due)
        _setattr(self, "description", description)
        _setattr(self, "loc", loc)
        _setattr(self, "parent", parent)
        _setattr(self, "weight", weight)


@record(frozen=True)
class Event(Record):
    """Something that happened (a launch, an outage, a price change), shown on charts.
    `kpis` limits it to those KPIs; empty: it concerns every KPI."""

    date: dt.date
    title: str
    kpis: tuple[str, ...] = ()
    note: str | None = None
    loc: Location = NOWHERE

    def __init__(
        self,
        date: dt.date,
        title: str,
        kpis: tuple[str, ...] = (),
        note: str | None = None,
        loc: Location = NOWHERE,
    ) -> None:
        _setattr(self, "date", date)
        _setattr(self, "title", title)
        _setattr(self, "kpis", kpis)
        _setattr(self, "note", note)
        _setattr(self, "loc", loc)

    def concerns(self, kpi_id: str) -> bool:
        return not self.kpis or kpi_id in self.kpis


@record(frozen=True)
class Milestone(Record):
    """A staged target on the way to the KPI's target: `target` by `date`."""

    date: dt.date
    target: Value
    loc: Location = NOWHERE

    def __init__(self, date: dt.date, target: Value, loc: Location = NOWHERE) -> None:
        _setattr(self, "date", date)
        _setattr(self, "target", target)
        _setattr(self, "loc", loc)


@record(frozen=True)
class ActionPlan(Record):
    """An `action` written as a mapping: the plan, who owns it, by when, and whether it is done."""

    plan: str
    owner: str | None = None
    due: dt.date | None = None
    status: ActionStatus = ActionStatus.OPEN

    def __init__(
        self,
        plan: str,
        owner: str | None = None,
        due: dt.date | None = None,
        status: ActionStatus = ActionStatus.OPEN,
    ) -> None:
        _setattr(self, "plan", plan)
        _setattr(self, "owner", owner)
        _setattr(self, "due", due)
        _setattr(self, "status", status)


@record(frozen=True)
class Source(Record):
    """Where a KPI's value comes from, for `kpitrack collect`.

    `kind` names the source kind (sql, csv, command: one module each under
    `kpitrack/reading/sources/`); `spec` is that kind's own frozen settings.
    """

    kind: str
    spec: Hashable
    # What a note names after the kind: the database name, the CSV path, the program.
    label: str = ""
    timeout: float | None = None
    # Qualitative KPIs: the source's output text → a label on the scale.
    scale_map: tuple[tuple[str, str], ...] = ()
    loc: Location = NOWHERE
    # Where each key's value was written, for located problems.
    locs: tuple[tuple[str, Location], ...] = ()

    def __init__(
        self,
        kind: str,
        spec: Hashable,
        label: str = "",
        timeout: float | None = None,
        scale_map: tuple[tuple[str, str], ...] = (),
        loc: Location = NOWHERE,
        locs: tuple[tuple[str, Location], ...] = (),
    ) -> None:
        _setattr(self, "kind", kind)
        _setattr(self, "spec", spec)
        _setattr(self, "label", label)
        _setattr(self, "timeout", timeout)
        _setattr(self, "scale_map", scale_map)
        _setattr(self, "loc", loc)
        _setattr(self, "locs", locs)

    @property
    def name(self) -> str:
        """How a note names the source: `sql: app`, `csv: deploys.csv`, `command: count`."""
        return f"{self.kind}: {self.label}"

    def where(self, key: str) -> Location:
        for name, loc in self.locs:
            if name == key:
                return loc
        return self.loc


@record(frozen=True)
class Kpi(Record):
    """One KPI as its file defines it."""

    id: str
    name: str
    measure: str
    target: Value
    frequency: Frequency
    kind: Kind = Kind.QUANTITATIVE
    scale: tuple[str, ...] = ()
    direction: Direction = Direction.INCREASE
    unit: str | None = None
    unit_plural: str | None = None  # the unit for any value but exactly 1 (as declared)
    indicator: Indicator | None = None
    owner: str | None = None
    objective: str | None = None
    baseline: Value | None = None
    start: dt.date | None = None
    due: dt.date | None = None
    milestones: tuple[Milestone, ...] = ()
    review: Frequency | None = None
    last_reviewed: dt.date | None = None
    # The plan's text (plain `action`, or the mapping's `plan`); the mapping itself in action_plan.
    action: str | None = None
    action_plan: ActionPlan | None = None
    archived: bool = False
    grace_days: int | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    loc: Location = NOWHERE
    source: Source | None = None
    # Its share within its objective, and the KPIs that drive it (leading, short-term).
    weight: float = 1.0
    drivers: tuple[str, ...] = ()

    def __init__(
        self,
        id: str,
        name: str,
        measure: str,
        target: Value,
        frequency: Frequency,
        kind: Kind = Kind.QUANTITATIVE,
        scale: tuple[str, ...] = (),
        direction: Direction = Direction.INCREASE,
        unit: str | None = None,
        unit_plural: str | None = None,
        indicator: Indicator | None = None,
        owner: str | None = None,
        objective: str | None = None,
        baseline: Value | None = None,
        start: dt.date | None = None,
        due: dt.date | None = None,
        milestones: tuple[Milestone, ...] = (),
        review: Frequency | None = None,
        last_reviewed: dt.date | None = None,
        action: str | None = None,
        action_plan: ActionPlan | None = None,
        archived: bool = False,
        grace_days: int | None = None,
        tags: tuple[str, ...] = (),
        description: str | None = None,
        loc: Location = NOWHERE,
        source: Source | None = None,
        weight: float = 1.0,
        drivers: tuple[str, ...] = (),
    ) -> None:
        _setattr(self, "id", id)
        _setattr(self, "name", name)
        _setattr(self, "measure", measure)
        _setattr(self, "target", target)
        _setattr(self, "frequency", frequency)
        _setattr(self, "kind", kind)
        _setattr(self, "scale", scale)
        _setattr(self, "direction", direction)
        _setattr(self, "unit", unit)
        _setattr(self, "unit_plural", unit_plural)
        _setattr(self, "indicator", indicator)
        _setattr(self, "owner", owner)
        _setattr(self, "objective", objective)
        _setattr(self, "baseline", baseline)
        _setattr(self, "start", start)
        _setattr(self, "due", due)
        _setattr(self, "milestones", milestones)
        _setattr(self, "review", review)
        _setattr(self, "last_reviewed", last_reviewed)
        _setattr(self, "action", action)
        _setattr(self, "action_plan", action_plan)
        _setattr(self, "archived", archived)
        _setattr(self, "grace_days", grace_days)
        _setattr(self, "tags", tags)
        _setattr(self, "description", description)
        _setattr(self, "loc", loc)
        _setattr(self, "source", source)
        _setattr(self, "weight", weight)
        _setattr(self, "drivers", drivers)

    def position(self, value: Value) -> float:
        """A value as a number: the scale position (0 = worst) for qualitative KPIs."""
        if isinstance(value, str):
            return float(self.scale.index(value))
        return float(value)

    def label(self, position: float) -> Value:
        """Inverse of `position` for display: a scale label when the position is exact."""
        if self.kind is Kind.QUALITATIVE and self.scale:
            index = round(position)
            if abs(position - index) < 1e-9 and 0 <= index < len(self.scale):
                return self.scale[index]
        return position


@record(frozen=True, slots=True)
class Measurement(Record):
    """One measurement. A loaded workspace keeps its measurements as columns (see
    `Measurements`); a Measurement is the view built on demand from them."""

    # The fields a measurement is written with, in file order (YAML keys, CSV columns).
    FIELDS: ClassVar[tuple[str, ...]] = ("kpi", "date", "value", "note", "by")

    kpi: str
    date: dt.date
    value: Value
    note: str | None = None
    by: str | None = None
    loc: Location = NOWHERE
    # Position in workspace reading order (files in order, then entries): breaks date ties.
    order: int = 0

    def __init__(
        self,
        kpi: str,
        date: dt.date,
        value: Value,
        note: str | None = None,
        by: str | None = None,
        loc: Location = NOWHERE,
        order: int = 0,
    ) -> None:
        _setattr(self, "kpi", kpi)
        _setattr(self, "date", date)
        _setattr(self, "value", value)
        _setattr(self, "note", note)
        _setattr(self, "by", by)
        _setattr(self, "loc", loc)
        _setattr(self, "order", order)


def no_kpi_message(kpi_id: str, known: Iterable[str], *, option: str | None = None) -> str:
    """The one wording of an unknown KPI id: `no KPI 'x' (did you mean 'y'?)`."""
    prefix = f"{option}: " if option else ""
    return f"{prefix}no KPI '{kpi_id}'{did_you_mean(kpi_id, known)}"


@record(frozen=True)
class Config(Record):
    """Defaults from kpitrack.toml (all optional)."""

    files: tuple[str, ...] = ()
    measurements_file: str | None = None
    grace_days: int = 3
    at_risk_tolerance: float = 0.10
    focus_limit: int = 7
    stuck_periods: int = 3
    flat_periods: int = 6
    # Seconds a source may take: only lowers the local config's ceiling
    # (databases, allow_commands and the ceiling are local: reading/localconfig.py).
    collect_timeout: float | None = None
    # The folder holding kpitrack.toml; relative paths in it are resolved from here.
    root: str | None = None
    # Defaults for `report --format email`: To and From.
    mail_to: tuple[str, ...] = ()
    mail_from: str | None = None
    # Whether writes commit the files they changed (`--commit` by default).
    commit: bool = False
    # Where the published report lives (`notify` links to `<site_url>/kpi/<id>.html`).
    site_url: str | None = None

    def __init__(
        self,
        files: tuple[str, ...] = (),
        measurements_file: str | None = None,
        grace_days: int = 3,
        at_risk_tolerance: float = 0.10,
        focus_limit: int = 7,
        stuck_periods: int = 3,
        flat_periods: int = 6,
        collect_timeout: float | None = None,
        root: str | None = None,
        mail_to: tuple[str, ...] = (),
        mail_from: str | None = None,
        commit: bool = False,
        site_url: str | None = None,
    ) -> None:
        _setattr(self, "files", files)
        _setattr(self, "measurements_file", measurements_file)
        _setattr(self, "grace_days", grace_days)
        _setattr(self, "at_risk_tolerance", at_risk_tolerance)
        _setattr(self, "focus_limit", focus_limit)
        _setattr(self, "stuck_periods", stuck_periods)
        _setattr(self, "flat_periods", flat_periods)
        _setattr(self, "collect_timeout", collect_timeout)
        _setattr(self, "root", root)
        _setattr(self, "mail_to", mail_to)
        _setattr(self, "mail_from", mail_from)
        _setattr(self, "commit", commit)
        _setattr(self, "site_url", site_url)


@record(frozen=True)
class OverdueInfo(Record):
    """Missed reports. All None means `never reported` (no measurement and no start)."""

    missed_periods: int | None
    due_since: dt.date | None
    days: int | None

    def __init__(
        self, missed_periods: int | None, due_since: dt.date | None, days: int | None
    ) -> None:
        _setattr(self, "missed_periods", missed_periods)
        _setattr(self, "due_since", due_since)
        _setattr(self, "days", days)

    @property
    def never_reported(self) -> bool:
        return self.missed_periods is None

    @staticmethod
    def most_overdue_first(overdue: OverdueInfo | None) -> float:
        """Sort key: never reported first, then most days overdue, not overdue last."""
        if overdue is None:
            return float("inf")
        if overdue.days is None:
            return float("-inf")
        return -float(overdue.days)


@record(frozen=True)
class Forecast(Record):
    """Where a KPI's trend leads (docs/evaluation.md "Forecast"): the projected position
    on `at` (`due`, or the end of the next period for a standing target), a band from
    the 25th and 75th percentile slopes, and the date the central line crosses the
    target (within one year after `at`), else None. Values are positions (scale
    positions for qualitative KPIs)."""

    at: dt.date
    value: float
    low: float
    high: float
    reaches_target_on: dt.date | None
    slope: float  # per day, the central line's
    anchor: dt.date  # the latest per-period date: the band starts here
    anchor_value: float  # the central line's value on `anchor`
    points: int  # how many per-period values the line was fitted to

    def __init__(
        self,
        at: dt.date,
        value: float,
        low: float,
        high: float,
        reaches_target_on: dt.date | None,
        slope: float,
        anchor: dt.date,
        anchor_value: float,
        points: int,
    ) -> None:
        _setattr(self, "at", at)
        _setattr(self, "value", value)
        _setattr(self, "low", low)
        _setattr(self, "high", high)
        _setattr(self, "reaches_target_on", reaches_target_on)
        _setattr(self, "slope", slope)
        _setattr(self, "anchor", anchor)
        _setattr(self, "anchor_value", anchor_value)
        _setattr(self, "points", points)


@record(frozen=True)
class KpiResult(Record):
    """Everything evaluation knows about one KPI as of one date."""

    kpi: Kpi
    as_of: dt.date
    status: Status
    latest: Measurement | None
    baseline: Value | None
    start: dt.date | None
    progress: float | None
    gap: float | None
    expected: Value | None
    overdue: OverdueInfo | None
    reasons: tuple[Reason, ...] = ()
    # Measurements on or before as_of, oldest first (date, then file order).
    history: Sequence[Measurement] = field(default=())
    # Where the trend leads (docs/evaluation.md "Forecast"), None with fewer than 3
    # per-period values.
    forecast: Forecast | None = None
    # Each driver's id and status (filled in when the whole workspace is evaluated).
    drivers: tuple[tuple[str, Status], ...] = ()
    # The workspace's events that concern this KPI, in date order (any date).
    events: tuple[Event, ...] = ()

    def __init__(
        self,
        kpi: Kpi,
        as_of: dt.date,
        status: Status,
        latest: Measurement | None,
        baseline: Value | None,
        start: dt.date | None,
        progress: float | None,
        gap: float | None,
        expected: Value | None,
        overdue: OverdueInfo | None,
        reasons: tuple[Reason, ...] = (),
        history: Sequence[Measurement] = (),
        forecast: Forecast | None = None,
        drivers: tuple[tuple[str, Status], ...] = (),
        events: tuple[Event, ...] = (),
    ) -> None:
        _setattr(self, "kpi", kpi)
        _setattr(self, "as_of", as_of)
        _setattr(self, "status", status)
        _setattr(self, "latest", latest)
        _setattr(self, "baseline", baseline)
        _setattr(self, "start", start)
        _setattr(self, "progress", progress)
        _setattr(self, "gap", gap)
        _setattr(self, "expected", expected)
        _setattr(self, "overdue", overdue)
        _setattr(self, "reasons", reasons)
        _setattr(self, "history", history)
        _setattr(self, "forecast", forecast)
        _setattr(self, "drivers", drivers)
        _setattr(self, "events", events)

    @property
    def needs_action(self) -> bool:
        return bool(self.reasons)

    def worst_first(self) -> tuple[int, float]:
        """Sort key of `actions` (docs/evaluation.md "Ordering"): off-track, at-risk,
        no-data, then the rest; within each, most days overdue first. Use with a stable sort."""
        return self.status.attention, OverdueInfo.most_overdue_first(self.overdue)

    def overdue_first(self) -> tuple[float, int]:
        """Sort key of the overdue list (docs/evaluation.md "Ordering"): most days overdue
        first (never reported counts as the most), then worst status first as in
        `worst_first`. Use with a stable sort, so ties keep workspace order."""
        return OverdueInfo.most_overdue_first(self.overdue), self.status.attention


@record(frozen=True)
class StatusCounts(Record):
    """How many KPIs have each status, how many are overdue and how many need action:
    the one summary of `status`, `report` and their JSON."""

    total: int
    by_status: tuple[tuple[Status, int], ...]  # every status, in Status.summary_order()
    overdue: int
    needs_action: int

    def __init__(
        self, total: int, by_status: tuple[tuple[Status, int], ...], overdue: int, needs_action: int
    ) -> None:
        _setattr(self, "total", total)
        _setattr(self, "by_status", by_status)
        _setattr(self, "overdue", overdue)
        _setattr(self, "needs_action", needs_action)

    def count(self, status: Status) -> int:
        return dict(self.by_status)[status]

    @classmethod
    def of(cls, results: Iterable[KpiResult]) -> StatusCounts:
        total = overdue = needs_action = 0
        per_status = dict.fromkeys(Status.summary_order(), 0)
        for r in results:
            total += 1
            per_status[r.status] += 1
            overdue += r.overdue is not None
            needs_action += r.needs_action
        return cls(total, tuple(per_status.items()), overdue, needs_action)

    def as_dict(self) -> dict[str, int]:
        """`{"total", "achieved", "on-track", "at-risk", "off-track", "no-data", "overdue",
        "needs-action"}`: the keys and order of every summary in JSON."""
        return {
            "total": self.total,
            **{str(status): n for status, n in self.by_status},
            "overdue": self.overdue,
            "needs-action": self.needs_action,
        }
