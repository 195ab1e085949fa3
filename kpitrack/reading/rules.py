"""The checks of docs/rules.md: one small function per rule code, every problem at once.

Two layers:

- *field rules* type one YAML node (a number, a date, a choice, a scale
  label...) for `loading.py` while it builds the model, and append a located
  `Problem` when the node is wrong;
- *workspace rules* look at the built model as a whole (owners, focus limits,
  periods, milestones) and yield warnings.

Every code is listed in `RULES` and documented in `docs/rules.md`; codes are
stable. KT001-KT005 come from the YAML reader (`yamlnodes.py`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from itertools import compress, filterfalse, islice, repeat
from typing import TypeVar

from kpitrack.domain.codes import (
    KT010,
    KT011,
    KT012,
    KT013,
    KT014,
    KT015,
    KT016,
    KT017,
    KT018,
    KT019,
    KT020,
    KT021,
    KT022,
    KT023,
    KT024,
    KT025,
    KT030,
    KT031,
    KT032,
    KT033,
    KT034,
    KT035,
    KT036,
    KT037,
    KT038,
    KT039,
    KT041,
    KT065,
    KT066,
    KT067,
    KT101,
    KT102,
    KT103,
    KT104,
    KT105,
    KT106,
    KT107,
    KT108,
    KT109,
    KT110,
    KT111,
    KT112,
    KT113,
    KT114,
    KT115,
    KT116,
    Rule,
)
from kpitrack.domain.model import (
    MAX_GRACE_DAYS,
    ActionPlan,
    ActionStatus,
    Config,
    Direction,
    Frequency,
    Indicator,
    Kind,
    Kpi,
    Location,
    Measurement,
    Value,
    in_range,
)
from kpitrack.domain.periods import DATE_PATTERN, parse_date, period_containing
from kpitrack.domain.problems import MAX_PROBLEMS_PER_FILE, Problem, ProblemList, Severity
from kpitrack.domain.series import History, Series
from kpitrack.domain.suggest import did_you_mean
from kpitrack.domain.workspace import Workspace
from kpitrack.reading.yamlnodes import (
    NULL_WORDS,
    YAML11_BOOLEANS,
    Map,
    Node,
    Scalar,
    Seq,
    scalar_value,
    typed_value,
)

ERROR, WARNING = Severity.ERROR, Severity.WARNING


# The registry of codes lives in the vocabulary (kpitrack/domain/codes.py), below the
# YAML reader that reports KT001-KT005; RULES and CSV_RULES are that registry.
from kpitrack.domain.codes import CSV_RULES as CSV_RULES  # noqa: E402
from kpitrack.domain.codes import RULES as RULES  # noqa: E402

Out = list[Problem]

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_NONFINITE = re.compile(r"[-+]?\.?(nan|inf|infinity)", re.IGNORECASE)
_NUMBER_LIKE = re.compile(r"\s*[-+]?(\d[\d_,]*)?(\.\d*)?([eE][-+]?\d+)?\s*")
MIN_MEASURE_WORDS = 3


def problem(at: Node | Location, rule: Rule, message: str) -> Problem:
    """A problem of `rule` at a node or location, with the registry's severity."""
    return Problem(at.path, at.line, at.column, rule.severity, rule, message)


def error(out: Out, at: Node | Location, rule: Rule, message: str) -> None:
    """Append a problem of `rule` (an error rule: the field rules below)."""
    out.append(Problem(at.path, at.line, at.column, rule.severity, rule, message))


def quote(text: str, limit: int = 40) -> str:
    """A user value for a message: one line, shortened."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def shape(node: Node) -> str:
    if type(node) is Map:
        return "a mapping"
    if type(node) is Seq:
        return "a list"
    return f"the text {quote(node.text)}" if node.text else "nothing"  # type: ignore[union-attr]


# ---------------------------------------------------------------- field rules


def is_empty(node: Node) -> bool:
    """A null or empty value (`key:`, `key: ~`, `key: ""`)."""
    return type(node) is Scalar and (node.text == "" or (node.plain and node.text in NULL_WORDS))


# ---------------------------------------------------------------- value checks
# One check per value rule: the field rules below report with them, and the fast paths
# (builder's rows and entries), `record`/`import` (measurement_value_problem) and
# `collect` call them, so a value is accepted by exactly the same test everywhere.


def finite_number(text: str, plain: bool) -> float | None:
    """KT016/KT017: the number a scalar holds (plain decimal, at most 1e15 in size), or None."""
    number = typed_value(text, plain)
    kind = type(number)
    if (kind is float or kind is int) and in_range(number):  # type: ignore[arg-type]
        return float(number)  # type: ignore[arg-type]
    return None


def is_percent(value: float) -> bool:
    """KT032: a progress value, from 0 to 100 (percent done)."""
    return 0.0 <= value <= 100.0


def on_scale(text: str, plain: bool, labels: Sequence[str]) -> bool:
    """KT031 (and KT014): a label on the KPI's scale; an empty or null scalar is none."""
    return text in labels and text != "" and not (plain and text in NULL_WORDS)


def empty_required(out: Out, node: Node, what: str) -> None:
    """KT014."""
    error(out, node, KT014, f"{what} is empty")


def text(out: Out, node: Node, what: str, *, required: bool = False) -> str | None:
    """KT018 (and KT014): free text. Any scalar is taken as written (`owner: 42` is '42')."""
    if type(node) is not Scalar:
        error(out, node, KT018, f"{what} must be text, got {shape(node)}")
        return None
    if required and (node.text.strip() == "" or is_empty(node)):
        empty_required(out, node, what)
        return None
    return node.text


def slug(out: Out, node: Node, what: str) -> str | None:
    """KT020: an id."""
    value = text(out, node, what, required=True)
    if value is None:
        return None
    if not SLUG.fullmatch(value):
        error(
            out,
            node,
            KT020,
            f"{what} {quote(value)} is not a valid id: use lowercase letters, digits, "
            "'-' and '_', starting with a letter or digit",
        )
        return None
    return value


def number(out: Out, node: Node, what: str) -> float | None:
    """KT016 / KT017: a finite number, plain (unquoted) in the YAML."""
    if type(node) is not Scalar:
        error(out, node, KT016, f"{what} must be a number, got {shape(node)}")
        return None
    result = finite_number(node.text, node.plain)
    if result is not None:
        return result
    value = scalar_value(node)
    kind = type(value)
    if kind is int or kind is float:
        error(
            out,
            node,
            KT017,
            f"{what} must be a finite number, {quote(node.text)} is out of range "
            "(at most 1e15 in size)",
        )
        return None
    raw = node.text
    if kind is bool:
        message = f"{what} must be a number, got the boolean {raw}"
    elif value is None:
        message = f"{what} must be a number, got nothing"
        error(out, node, KT014, f"{what} is empty")
        return None
    elif node.plain and raw in YAML11_BOOLEANS:
        message = f"{what} must be a number, got {quote(raw)} (YAML 1.1 tools read it as a boolean)"
    elif _NONFINITE.fullmatch(raw.strip()):
        error(out, node, KT017, f"{what} must be a finite number, got {quote(raw)}")
        return None
    elif not node.plain and _NUMBER_LIKE.fullmatch(raw) and any(c.isdigit() for c in raw):
        message = f"{what} must be a number, got the quoted text {quote(raw)} (remove the quotes)"
    else:
        message = f"{what} must be a number, got {quote(raw)}"
    error(out, node, KT016, message)
    return None


def date(
    out: Out, node: Node, what: str, cache: dict[str, dt.date | str] | None = None
) -> dt.date | None:
    """KT019: a real calendar date, YYYY-MM-DD (plain or quoted)."""
    if type(node) is not Scalar:
        error(out, node, KT019, f"{what} must be a date (YYYY-MM-DD), got {shape(node)}")
        return None
    raw = node.text
    found = cache.get(raw) if cache is not None else None
    if found is None:
        found = _parse_date(raw)
        if cache is not None:
            cache[raw] = found
    if type(found) is str:
        error(out, node, KT019, f"{what} {found}")
        return None
    return found  # type: ignore[return-value]


def _parse_date(raw: str) -> dt.date | str:
    """A date, or the end of a message saying what is wrong (periods.parse_date decides)."""
    if not DATE_PATTERN.fullmatch(raw):
        if raw == "":
            return "is empty; expected a date (YYYY-MM-DD)"
        return f"must be a date (YYYY-MM-DD), got {quote(raw)}"
    try:
        return parse_date(raw)
    except ValueError as exc:  # not a real date, or outside the supported years
        return str(exc)


E = TypeVar("E", bound=StrEnum)


def choice(out: Out, node: Node, what: str, enum: type[E]) -> E | None:
    """KT025: one of an enum's values, with a did-you-mean."""
    options = [str(e) for e in enum]
    if type(node) is not Scalar:
        error(out, node, KT025, f"{what} must be one of {', '.join(options)}, got {shape(node)}")
        return None
    raw = node.text
    try:
        return enum(raw)
    except ValueError:
        pass
    hint = did_you_mean(raw.lower(), options)
    error(
        out,
        node,
        KT025,
        f"{what} must be one of {', '.join(options)}, got {quote(raw)}{hint}",
    )
    return None


def whole_days(out: Out, node: Node, what: str) -> int | None:
    """KT035: grace_days, a non-negative whole number."""
    value = scalar_value(node) if type(node) is Scalar else None
    if type(value) is int and 0 <= value <= MAX_GRACE_DAYS:
        return value
    got = shape(node) if type(node) is not Scalar else quote(node.text)
    error(
        out,
        node,
        KT035,
        f"{what} must be a whole number of days from 0 to {MAX_GRACE_DAYS}, got {got}",
    )
    return None


def tags(out: Out, node: Node, what: str) -> tuple[str, ...] | None:
    """KT036: a list of text."""
    if type(node) is not Seq:
        error(
            out,
            node,
            KT036,
            f"{what} must be a list of text, like [sales, q4], got {shape(node)}",
        )
        return None
    result: list[str] = []
    for item in node.items:
        if type(item) is not Scalar or is_empty(item):
            error(out, item, KT036, f"{what} must be a list of text, got {shape(item)} in it")
            return None
        result.append(item.text)
    return tuple(result)


def scale(out: Out, node: Node, what: str) -> tuple[str, ...] | None:
    """KT037: an ordered list of at least two distinct labels, worst first."""
    if type(node) is not Seq:
        error(
            out,
            node,
            KT037,
            f"{what} must be a list of labels, worst first, like [poor, fair, good], "
            f"got {shape(node)}",
        )
        return None
    labels: list[str] = []
    seen: set[str] = set()
    for item in node.items:
        if type(item) is not Scalar or is_empty(item):
            error(out, item, KT037, f"{what}: each label must be text, got {shape(item)}")
            return None
        if item.text in seen:
            error(out, item, KT037, f"{what}: label {quote(item.text)} appears twice")
            return None
        seen.add(item.text)
        labels.append(item.text)
    if len(labels) < 2:
        error(out, node, KT037, f"{what} needs at least two labels, got {len(labels)}")
        return None
    return tuple(labels)


def label(out: Out, node: Node, what: str, labels: tuple[str, ...] | None) -> str | None:
    """KT031: a label on the KPI's scale (None scale: already reported; accept the text)."""
    if type(node) is not Scalar:
        error(out, node, KT031, f"{what} must be a label on the scale, got {shape(node)}")
        return None
    if is_empty(node):
        empty_required(out, node, what)
        return None
    raw = node.text
    if labels is not None and not on_scale(raw, node.plain, labels):
        error(
            out,
            node,
            KT031,
            f"{what} {quote(raw)} is not on the scale ({', '.join(labels)})"
            f"{did_you_mean(raw, labels)}",
        )
        return None
    return raw


def percent(out: Out, node: Node, what: str) -> float | None:
    """KT032 (after KT016/KT017): a progress value, 0-100."""
    value = number(out, node, what)
    if value is None:
        return None
    if not is_percent(value):
        error(out, node, KT032, f"{what} must be from 0 to 100 (percent done), got {node.text}")  # type: ignore[union-attr]
        return None
    return value


def action(out: Out, node: Node, what: str, known: dict[str, str]) -> ActionPlan | None:
    """KT065 / KT066: an action plan written as a mapping {plan, owner, due, status}."""
    if type(node) is not Map:
        error(
            out,
            node,
            KT065,
            f"{what} must be text or a mapping {{plan, owner, due, status}}, got {shape(node)}",
        )
        return None
    before = len(out)
    fields: dict[str, Node] = {}
    for key, value in node.items:
        if key.text not in known:
            unknown_key(out, key, what, known)
        fields.setdefault(key.text, value)
    plan_node = fields.get("plan")
    plan = None
    if plan_node is None or is_empty(plan_node):
        error(out, plan_node or node, KT065, f"{what} needs a plan: what will be done")
    else:
        plan = text(out, plan_node, f"{what}: plan", required=True)
    owner_node = fields.get("owner")
    owner = None
    if owner_node is not None and not is_empty(owner_node):
        owner = text(out, owner_node, f"{what}: owner")
    due_node = fields.get("due")
    due = None
    if due_node is not None and not is_empty(due_node):
        due = date(out, due_node, f"{what}: due")
    status = ActionStatus.OPEN
    status_node = fields.get("status")
    if status_node is not None and not is_empty(status_node):
        raw = status_node.text if type(status_node) is Scalar else None
        if raw in ("open", "done"):
            status = ActionStatus(raw)
        else:
            got = quote(raw) if raw is not None else shape(status_node)
            error(out, status_node, KT066, f"{what}: status must be open or done, got {got}")
    if plan is None or any(p.severity is ERROR for p in out[before:]):
        return None
    return ActionPlan(plan=plan, owner=owner, due=due, status=status)


def flag(out: Out, node: Node | None, what: str) -> bool:
    """KT067: true or false (missing or empty: false)."""
    if node is None or is_empty(node):
        return False
    value = scalar_value(node) if type(node) is Scalar else None
    if type(value) is bool:
        return value
    got = quote(node.text) if type(node) is Scalar else shape(node)
    error(out, node, KT067, f"{what} must be true or false, got {got}")
    return False


def unknown_key(out: Out, key: Scalar, what: str, known: Iterable[str]) -> None:
    """KT015. The suggestion is looked for only while the problems can still be
    shown (see problems.MAX_PROBLEMS_PER_FILE): a file of a million unknown
    keys must not cost a million fuzzy matches."""
    hint = did_you_mean(key.text, known) if len(out) < MAX_PROBLEMS_PER_FILE else ""
    error(out, key, KT015, f"unknown key {quote(key.text)} in {what}{hint}")


def missing_key(out: Out, entry: Map, what: str, key: str, meaning: str) -> None:
    """KT013."""
    error(out, entry, KT013, f"{what} has no '{key}' ({meaning})")


def wrong_shape(out: Out, node: Node, message: str) -> None:
    """KT012."""
    error(out, node, KT012, f"{message}, got {shape(node)}")


# ---------------------------------------------------------------- definition rules
# Checks the loader makes across the fields of one entry, or across entries.

SECTION_NAMES = ("objectives", "kpis", "measurements", "events")


def top_level_not_mapping(out: Out, root: Node) -> None:
    """KT010: a file whose top level is not a mapping of sections."""
    error(
        out,
        root,
        KT010,
        "the top level must be a mapping with objectives, kpis, measurements and/or events, "
        f"got {shape(root)}",
    )


def unknown_section(out: Out, key: Scalar) -> None:
    """KT011: a top-level key other than objectives, kpis, measurements and events."""
    name = key.text
    error(
        out,
        key,
        KT011,
        f"unknown top-level key {quote(name)}{did_you_mean(name, SECTION_NAMES)} "
        "(expected objectives, kpis, measurements, events)",
    )


def duplicate_objective(
    out: Out, node: Node, objective_id: str, seen: dict[str, Location], at: Location
) -> None:
    """KT021: an objective id defined twice. `seen` keeps where each id was first defined."""
    _duplicate_id(out, node, KT021, f"objective id '{objective_id}'", objective_id, seen, at)


def duplicate_kpi(
    out: Out, node: Node, kpi_id: str, seen: dict[str, Location], at: Location
) -> None:
    """KT022: a KPI id defined twice. `seen` keeps where each id was first defined."""
    _duplicate_id(out, node, KT022, f"KPI id '{kpi_id}'", kpi_id, seen, at)


def _duplicate_id(
    out: Out, node: Node, code: Rule, what: str, key: str, seen: dict[str, Location], at: Location
) -> None:
    first = seen.get(key)
    if first is None:
        seen[key] = at
    else:
        error(out, node, code, f"duplicate {what} (first at {first})")


def unknown_objective(
    out: Out, node: Node, what: str, objective: str, known: Iterable[str]
) -> None:
    """KT023: a KPI's `objective` that no objective has as its id."""
    if objective in known:
        return
    error(
        out,
        node,
        KT023,
        f"{what}: unknown objective {quote(objective)}{did_you_mean(objective, known)}",
    )


def unknown_kpi(
    out: Out,
    node: Node,
    what: str,
    kpi_id: str,
    known: Iterable[str],
    hints: dict[str, str] | None = None,
) -> None:
    """KT024: a reference to a KPI id that no file defines. The caller has looked the id
    up; `hints` remembers each id's did-you-mean (many rows may name the same typo)."""
    hint = hints.get(kpi_id) if hints is not None else None
    if hint is None:
        hint = did_you_mean(kpi_id, known)
        if hints is not None:
            hints[kpi_id] = hint
    error(out, node, KT024, f"{what}: unknown KPI {quote(kpi_id)}{hint}")


def no_scale(out: Out, at: Node, what: str) -> None:
    """KT030: a qualitative KPI without a scale."""
    error(out, at, KT030, f"{what} is qualitative but has no scale (a list of labels, worst first)")


def ignored_scale(out: Out, node: Node, what: str) -> None:
    """KT109: a scale on a KPI that is not qualitative (a warning: it is ignored)."""
    out.append(
        problem(
            node,
            KT109,
            f"{what}: scale is ignored because the KPI is not qualitative (add kind: qualitative)",
        )
    )


def kpi_scale(
    out: Out, entry: Map, node: Node | None, kind: Kind | None, what: str
) -> tuple[str, ...] | None:
    """A KPI's scale by its kind: KT030 (missing), KT037 (malformed), KT109 (ignored).

    () for a KPI that is not qualitative, None when the scale is missing or wrong."""
    qualitative = kind is Kind.QUALITATIVE
    if node is None or is_empty(node):
        if qualitative:
            no_scale(out, node or entry, what)
            return None
        return ()
    if not qualitative:
        ignored_scale(out, node, what)
        return ()
    return scale(out, node, f"{what}: scale")


def start_after_due(
    out: Out, node: Node, what: str, start: dt.date | None, due: dt.date | None
) -> None:
    """KT038: a KPI whose tracking starts after its due date."""
    if start is not None and due is not None and start > due:
        error(out, node, KT038, f"{what}: start {start} is after due {due}")


def milestone_out_of_order(
    out: Out, node: Node, what: str, day: dt.date, previous: dt.date | None
) -> None:
    """KT033: a milestone not after the one listed before it."""
    if previous is not None and day <= previous:
        error(
            out,
            node,
            KT033,
            f"{what}: milestone {day} is not after the one before it ({previous}); "
            "list milestones in date order",
        )


def milestone_after_due(out: Out, node: Node, what: str, day: dt.date, due: dt.date | None) -> None:
    """KT034: a milestone dated after the KPI's due date."""
    if due is not None and day > due:
        error(out, node, KT034, f"{what}: milestone {day} is after due {due}")


def weight(out: Out, node: Node, what: str) -> float | None:
    """KT039 (after KT016/KT017): a share within a parent, a number above 0."""
    value = number(out, node, what)
    if value is None:
        return None
    if value <= 0:
        error(out, node, KT039, f"{what} must be a number above 0, got '{_show(value)}'")
        return None
    return value


def id_list(out: Out, node: Node, what: str) -> tuple[tuple[str, Node], ...] | None:
    """KT012 / KT020: a list of ids (`drivers`, an event's `kpis`), each with its node."""
    if type(node) is not Seq:
        wrong_shape(out, node, f"{what} must be a list of KPI ids, like [a, b]")
        return None
    result: list[tuple[str, Node]] = []
    for item in node.items:
        value = slug(out, item, f"{what}: KPI id")
        if value is not None:
            result.append((value, item))
    return tuple(result)


def unknown_parent(out: Out, node: Node, what: str, parent: str, known: Iterable[str]) -> None:
    """KT023: an objective's `parent` that no objective has as its id."""
    if parent in known:
        return
    error(
        out,
        node,
        KT023,
        f"{what}: unknown parent objective {quote(parent)}{did_you_mean(parent, known)}",
    )


def self_driver(out: Out, node: Node, what: str, kpi_id: str) -> None:
    """KT041: a KPI that names itself among its drivers."""
    error(out, node, KT041, f"{what}: a KPI cannot drive itself; remove '{kpi_id}' from drivers")


def cycles(links: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Each cycle of a graph (id → the ids it points at), as the ids on it in order, once.
    Ids outside `links` end a path. Deterministic: cycles come in the order of `links`."""
    found: list[list[str]] = []
    done: set[str] = set()
    seen: set[frozenset[str]] = set()
    for first in links:
        if first in done:
            continue
        # Depth-first walk with an explicit stack: (id, index of the next link to follow).
        path: list[str] = []
        position: dict[str, int] = {}
        stack: list[tuple[str, int]] = [(first, 0)]
        while stack:
            node, index = stack.pop()
            if index == 0:
                position[node] = len(path)
                path.append(node)
            targets = links.get(node, ())
            if index < len(targets):
                stack.append((node, index + 1))
                nxt = targets[index]
                if nxt in position:
                    cycle = path[position[nxt] :]
                    if frozenset(cycle) not in seen:
                        found.append(cycle)
                        seen.add(frozenset(cycle))
                elif nxt not in done and nxt in links:
                    stack.append((nxt, 0))
                continue
            done.add(node)
            path.pop()
            del position[node]
    return found


def cycle_problems(
    out: Out, code: Rule, kind: str, key: str, cycle: list[str], at: dict[str, Node | Location]
) -> None:
    """KT040 / KT042: one error per member of a cycle, at its `parent`/`drivers` entry."""
    shown = " → ".join([*cycle, cycle[0]])
    for member in cycle:
        error(
            out,
            at[member],
            code,
            f"{kind} '{member}': {key} form a cycle ({shown}); one of them must go",
        )


# ---------------------------------------------------------------- workspace rules

WorkspaceRule = Callable[[Workspace, Config, dt.date], Iterable[Problem]]


def no_owner(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT101."""
    for kpi in ws.kpis:
        if not kpi.owner:
            yield problem(kpi.loc, KT101, f"KPI '{kpi.id}' has no owner")


def no_objective(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT102."""
    for kpi in ws.kpis:
        if not kpi.objective:
            yield problem(kpi.loc, KT102, f"KPI '{kpi.id}' is not linked to an objective")


def _over_limit(
    kpis: Iterable[Kpi], key: Callable[[Kpi], str | None], limit: int
) -> Iterator[tuple[str, list[Kpi]]]:
    groups: dict[str, list[Kpi]] = {}
    for kpi in kpis:
        k = key(kpi)
        if k and not kpi.archived:  # archived KPIs no longer take focus
            groups.setdefault(k, []).append(kpi)
    for name, members in groups.items():
        if len(members) > limit:
            yield name, members


def owner_focus(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT103: located at the first KPI over the limit."""
    limit = config.focus_limit
    for owner, members in _over_limit(ws.kpis, lambda k: k.owner, limit):
        yield problem(
            members[limit].loc,
            KT103,
            f"owner {quote(owner)} has {len(members)} KPIs, more than the focus limit of {limit}",
        )


def objective_focus(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT104: located at the objective (or the first KPI over the limit)."""
    limit = config.focus_limit
    objectives = {o.id: o for o in ws.objectives}
    for objective_id, members in _over_limit(ws.kpis, lambda k: k.objective, limit):
        found = objectives.get(objective_id)
        loc = found.loc if found else members[limit].loc
        yield problem(
            loc,
            KT104,
            f"objective '{objective_id}' has {len(members)} KPIs, "
            f"more than the focus limit of {limit}",
        )


class PeriodStarts:
    """Each date's period start, both as ordinals, per frequency: worked out once per
    distinct date and frequency of a check, and shared by the rules that group a KPI's
    entries by period (same_period, stuck_and_flat)."""

    __slots__ = ("_labels", "_tables")

    def __init__(self) -> None:
        self._tables: dict[Frequency, dict[int, int]] = {}
        self._labels: dict[tuple[Frequency, int], str] = {}

    def label(self, freq: Frequency, start: int) -> str:
        """The label of the period of `freq` that starts on the date `start`."""
        found = self._labels.get((freq, start))
        if found is None:
            found = self._labels[freq, start] = period_containing(
                freq, dt.date.fromordinal(start)
            ).label
        return found

    def table(self, freq: Frequency, ordinals: Iterable[int] = ()) -> dict[int, int]:
        """The table of `freq` (date → its period's start), holding at least `ordinals`."""
        table = self._tables.get(freq)
        if table is None:
            table = self._tables[freq] = {}
        for day in filterfalse(table.__contains__, ordinals):
            table[day] = period_start(freq, day)
        return table

    def keys(self, freq: Frequency, ordinals: Sequence[int]) -> list[int]:
        """The period start of each of `ordinals`, in order."""
        table = self._tables.get(freq)
        if table is not None:
            try:
                return list(map(table.__getitem__, ordinals))
            except KeyError:  # a date not seen before
                pass
        return list(map(self.table(freq, ordinals).__getitem__, ordinals))


def period_start(freq: Frequency, ordinal: int) -> int:
    """The start of the period of `freq` containing the date `ordinal`, as an ordinal:
    `period_containing(freq, date.fromordinal(ordinal)).start.toordinal()`."""
    if freq is Frequency.DAILY:
        return ordinal
    if freq is Frequency.WEEKLY:  # ordinal 1 (0001-01-01) is a Monday
        return ordinal - (ordinal - 1) % 7
    day = dt.date.fromordinal(ordinal)
    if freq is Frequency.MONTHLY:
        return ordinal - day.day + 1
    return period_containing(freq, day).start.toordinal()


def same_period(
    ws: Workspace, config: Config, as_of: dt.date, *, starts: PeriodStarts | None = None
) -> Iterator[Problem]:
    """KT105: only one measurement per period counts: the later date, then the later entry.

    KPI by KPI on the stored columns (dates as ordinals): a KPI whose entries on or
    before the as-of date all fall in distinct periods (most) costs a few passes over
    its dates in C, and a Measurement is built only for a problem. `starts` shares the
    period starts with the other rules of a check."""
    frequency = {k.id: k.frequency for k in ws.kpis}
    limit = as_of.toordinal()
    starts = starts if starts is not None else PeriodStarts()
    for series in ws.measurements.all_series():
        freq = frequency.get(series.kpi)
        if freq is not None:
            yield from _same_period_of(series, freq, limit, starts)


# How many days apart two dates must be to lie in different periods of a frequency: one
# more than the most two dates of one period can be apart (a 31-day month, a 92-day
# quarter, a 366-day year).
_PERIOD_SPAN = {
    Frequency.DAILY: 1,
    Frequency.WEEKLY: 7,
    Frequency.MONTHLY: 31,
    Frequency.QUARTERLY: 92,
    Frequency.YEARLY: 366,
}


def _same_period_of(
    series: Series, freq: Frequency, limit: int, starts: PeriodStarts
) -> list[Problem]:
    """same_period's problems for one series, in reading order."""
    if len(series.dates) < 2:
        return []
    # As a list the dates are made into ints once, and the gaps are small cached ints.
    dates = series.dates.tolist()
    gap = min(map(operator.sub, dates[1:], dates))
    # What Series.until would find out with a pass of its own (after_as_of reads it too).
    series.ordered = gap >= 0
    if gap >= _PERIOD_SPAN[freq]:
        return []  # dates in order, each far enough from the next: one entry per period
    orders = series.orders
    if gap < 0 or not all(map(operator.lt, orders, islice(orders, 1, None))):
        # Not in (date, order) order: each counted entry against its period's winner.
        table = starts.table(freq, dates)
        positions = [i for i, day in enumerate(dates) if day <= limit]
        return same_period_among(series, freq, positions, table)
    # Sorted by (date, order): the counted entries are the first `counted`, a period's
    # entries are next to each other, and the one that counts is its last. An entry
    # whose next one is in its period loses to the last of that run.
    counted = bisect.bisect_right(dates, limit)
    keys = starts.keys(freq, dates[:counted])
    losers = list(compress(range(counted - 1), map(operator.eq, keys, islice(keys, 1, None))))
    winners = [0] * len(losers)
    winner = following = -1  # following: the next loser after this one
    for n in range(len(losers) - 1, -1, -1):
        i = losers[n]
        if i + 1 != following:  # the next entry is the last of the run
            winner = i + 1
        winners[n] = winner
        following = i
    label = starts.label
    return [
        _counts_instead(series, i, w, freq, label(freq, keys[i]))
        for i, w in zip(losers, winners, strict=True)
    ]


def _counts_instead(
    series: Series, i: int, w: int, freq: Frequency, label: str | None = None
) -> Problem:
    """KT105 for entry `i` of `series`, whose period's measurement that counts is `w`
    (`label`: the period's label, if known)."""
    paths, files, lines, columns = series.paths, series.files, series.lines, series.columns
    day = series.day(i)
    if label is None:
        label = period_containing(freq, day).label
    return Problem(
        paths[files[i]],
        lines[i],
        columns[i],
        KT105.severity,
        KT105,
        f"measurement of KPI '{series.kpi}' on {day}: the {freq} period "
        f"{label} has another measurement, on {series.day(w)} at "
        f"{paths[files[w]]}:{lines[w]}:{columns[w]}, "
        "which counts instead (the later date, then the later entry, counts)",
    )


def same_period_among(
    series: Series,
    freq: Frequency,
    positions: Sequence[int],
    table: dict[int, int] | None = None,
) -> list[Problem]:
    """KT105 (same_period) for one series, among the entries at `positions` (ascending),
    which must be every entry of some whole periods dated on or before the as-of date:
    the problems same_period gives for those entries, in the same order. A writer's
    check of what its new entries change (recording._new_warnings) looks at their
    periods only. `table`: period starts by date (PeriodStarts.table), if known."""
    dates, orders = series.dates, series.orders
    winners: dict[int, int] = {}  # period start (ordinal) → position of its winner
    start_of = table if table is not None else {}  # date (ordinal) → its period's start
    for i in positions:
        day = dates[i]
        start = start_of.get(day)
        if start is None:
            start = start_of[day] = period_start(freq, day)
        best = winners.get(start)
        if best is None or day > dates[best] or (day == dates[best] and orders[i] > orders[best]):
            winners[start] = i
    return [
        _counts_instead(series, i, w, freq)
        for i in positions
        if (w := winners[start_of[dates[i]]]) != i
    ]


def after_as_of(
    ws: Workspace, config: Config, as_of: dt.date, *, capped: bool = True
) -> ProblemList:
    """KT106. A file's measurements dated after the as-of date beyond its first
    MAX_PROBLEMS_PER_FILE + 1 (by line and column) can never be shown nor be the first
    one left out (problems.cap_problems), so with `capped` they are counted, not made:
    an as-of date before most of the data costs a count, not a Problem per entry."""
    limit = as_of.toordinal()
    found = ProblemList()
    late = [s for s in ws.measurements.all_series() if _last_day(s) > limit]
    if not late:
        return found
    after = limit.__lt__
    counts: Counter[int] = Counter()
    for series in late:
        counts.update(compress(series.files, map(after, series.dates)))
    keep = MAX_PROBLEMS_PER_FILE + 1
    crowded: dict[int, list[int]] = {f: [] for f, n in counts.items() if capped and n > keep}
    if crowded:  # where each crowded file's first `keep` late entries end
        for series in late:
            mask = list(map(after, series.dates))
            for file, key in zip(
                compress(series.files, mask), compress(_positions(series), mask), strict=True
            ):
                if file in crowded:
                    crowded[file].append(key)
    last_shown = {file: heapq.nsmallest(keep, keys)[-1] for file, keys in crowded.items()}
    crowded.clear()
    made: Counter[int] = Counter()
    for series in late:
        mask = list(map(after, series.dates))
        for i, file, key in zip(
            compress(range(len(mask)), mask),
            compress(series.files, mask),
            compress(_positions(series), mask),
            strict=True,
        ):
            bound = last_shown.get(file)
            if bound is not None and key > bound:
                continue
            made[file] += 1
            found.append(dated_later(series[i], as_of))
    for file in last_shown:
        found.omit_warnings(late[0].paths[file], counts[file] - made[file])
    return found


def _last_day(series: Series) -> int:
    """The latest date of a non-empty series (its last when it is known to be in order)."""
    return series.dates[-1] if series.ordered else max(series.dates)


def dated_later(m: Measurement, as_of: dt.date) -> Problem:
    """KT106 for one measurement dated after the as-of date."""
    return problem(
        m.loc,
        KT106,
        f"measurement of KPI '{m.kpi}' on {m.date} is dated after the as-of date "
        f"{as_of} and is ignored until then",
    )


def _positions(series: Series) -> Iterator[int]:
    """Each entry's (line, column) as one number that sorts the same way."""
    return map(operator.add, map(operator.mul, series.lines, repeat(1 << 32)), series.columns)


def vague_measure(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT107."""
    for kpi in ws.kpis:
        words = len(kpi.measure.split())
        if words < MIN_MEASURE_WORDS:
            yield problem(
                kpi.loc,
                KT107,
                f"KPI '{kpi.id}': measure {quote(kpi.measure)} is too vague to reproduce "
                f"({words} word{'s' if words != 1 else ''}); say how the value is obtained",
            )


def milestones_away(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT108: from the baseline through the milestones to the target, never backwards."""
    for kpi in ws.kpis:
        if not kpi.milestones:
            continue
        sign = 1.0 if kpi.direction is Direction.INCREASE else -1.0
        target = sign * kpi.position(kpi.target)
        previous: float | None = None
        if kpi.baseline is not None:
            previous = sign * kpi.position(kpi.baseline)
        elif kpi.kind is Kind.PROGRESS:
            previous = 0.0
        for ms in kpi.milestones:
            here = sign * kpi.position(ms.target)
            why = ""
            if here > target:
                why = f"it goes past the target {_show(kpi.target)}"
            elif previous is not None and here < previous:
                why = "it is further from the target than the point before it"
            if why:
                yield problem(
                    ms.loc,
                    KT108,
                    f"KPI '{kpi.id}': milestone {ms.date} ({_show(ms.target)}) moves away "
                    f"from the target: {why}",
                )
            previous = here if previous is None else max(previous, here)


def _show(value: float | str) -> str:
    if isinstance(value, str):
        return quote(value)
    return str(int(value)) if value.is_integer() else repr(value)


# ---------------------------------------------------------------- balance lints


def _active_by_objective(ws: Workspace) -> dict[str, list[Kpi]]:
    members: dict[str, list[Kpi]] = {}
    for kpi in ws.kpis:
        if kpi.objective is not None and not kpi.archived:
            members.setdefault(kpi.objective, []).append(kpi)
    return members


def _objective_loc(ws: Workspace, objective_id: str, first: Kpi) -> Location:
    objective = ws.objective(objective_id)
    return objective.loc if objective is not None else first.loc


def indicator_balance(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT110 / KT111: KPIs that state an indicator are all lagging, or all leading.

    Objectives where no active KPI states `indicator` are not judged.
    """
    for objective_id, members in _active_by_objective(ws).items():
        stated = {kpi.indicator for kpi in members if kpi.indicator is not None}
        if len(stated) != 1:
            continue
        (only,) = stated
        code, missing = (KT110, "leading") if only is Indicator.LAGGING else (KT111, "lagging")
        yield problem(
            _objective_loc(ws, objective_id, members[0]),
            code,
            f"objective '{objective_id}': its KPIs are all {only}; add a {missing} KPI "
            f"({'what predicts the result' if missing == 'leading' else 'the result itself'})",
        )


def no_quantitative(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT112."""
    for objective_id, members in _active_by_objective(ws).items():
        if all(kpi.kind is not Kind.QUANTITATIVE for kpi in members):
            yield problem(
                _objective_loc(ws, objective_id, members[0]),
                KT112,
                f"objective '{objective_id}' has no quantitative KPI: add one that counts "
                "or measures the result",
            )


def period_reports(kpi: Kpi, history: Sequence[Measurement], count: int) -> list[Measurement]:
    """The last `count` reported periods' measurements (one per period: the later date,
    then the later entry), oldest first. `history` is the KPI's measurements sorted by
    (date, order); it is walked back from the end only as far as needed."""
    reports: list[Measurement] = []
    seen: set[dt.date] = set()
    for m in reversed(history):
        start = period_containing(kpi.frequency, m.date).start
        if start in seen:
            continue
        if len(reports) == count:
            break
        seen.add(start)
        reports.append(m)
    return reports[::-1]


def _histories(ws: Workspace, as_of: dt.date) -> dict[str, Sequence[Measurement]]:
    """Each KPI's measurements on or before as_of, sorted, as views on the stored columns."""
    limit = as_of.toordinal()
    return {s.kpi: s.until(limit) for s in ws.measurements.all_series()}


def stuck_and_flat(
    ws: Workspace, config: Config, as_of: dt.date, *, starts: PeriodStarts | None = None
) -> Iterator[Problem]:
    """KT113: off track or at risk in each of the last `stuck_periods` reported periods,
    with no action plan. KT114: the same value in the last `flat_periods` reported periods.

    The status of each period is the KPI's evaluation as of that period's report,
    from the KPI's own measurements up to it. `starts` shares the period starts with
    the other rules of a check.
    """
    histories = _histories(ws, as_of)
    starts = starts if starts is not None else PeriodStarts()
    for kpi in ws.kpis:
        history = histories.get(kpi.id)
        if history:
            yield from stuck_and_flat_of(kpi, history, config, starts=starts)


def stuck_and_flat_of(
    kpi: Kpi,
    history: Sequence[Measurement],
    config: Config,
    *,
    starts: PeriodStarts | None = None,
) -> Iterator[Problem]:
    """stuck_and_flat's KT113 and KT114 for one KPI, from its history (its measurements
    on or before the as-of date, sorted by date, then reading order: a sequence of
    Measurements, or the view `Series.until` gives on the KPI's own series)."""
    stuck, flat = config.stuck_periods, config.flat_periods
    if kpi.archived or not history:
        return
    # The reports (period_reports' entries) are found from the newest back, only as far
    # as needed: `stuck` of them when the KPI has no action plan, and for KT114 up to the
    # first whose value differs from the newest's. On the columns' view only the entries
    # looked at are read, and no Measurement is built unless the first date has more
    # than one entry.
    walk = _reports_back(kpi, history, starts)
    reports: list[int] = []  # newest first

    def found(count: int) -> bool:
        """Whether the history has `count` reported periods (walking back as needed)."""
        if len(reports) < count:
            reports.extend(islice(walk, count - len(reports)))
        return len(reports) >= count

    if not (kpi.action or "").strip() and found(stuck):
        last = reports[stuck - 1 :: -1]
        if all(map(_behind_test(kpi, history, config), last)):
            yield problem(
                kpi.loc,
                KT113,
                f"KPI '{kpi.id}' has been off track or at risk for {stuck} reported "
                f"periods (since {_date_at(history, last[0])}) with no action plan: add an action",
            )
    value = history.value if type(history) is History else lambda i: history[i].value
    newest = kpi.position(value(reports[0])) if found(1) else None
    for n in range(1, flat):
        if not found(n + 1) or kpi.position(value(reports[n])) != newest:
            return
    if found(flat):
        since = _date_at(history, reports[flat - 1])
        yield problem(
            kpi.loc,
            KT114,
            f"KPI '{kpi.id}' has not changed for {flat} reported periods "
            f"(since {since}): review whether it still says anything",
        )


def _date_at(history: Sequence[Measurement], position: int) -> dt.date:
    """The date of one entry of a history, without building it on the columns' view."""
    if type(history) is History:
        return history.day(position)
    return history[position].date


def _reports_back(
    kpi: Kpi, history: Sequence[Measurement], starts: PeriodStarts | None = None
) -> Iterator[int]:
    """Where `period_reports`' measurements are in `history`, newest first: the position
    of each reported period's last entry, from the dates alone (on the columns' view
    read as ordinals, with no date built)."""
    seen: set[int] = set()
    frequency = kpi.frequency
    table = (starts if starts is not None else PeriodStarts()).table(frequency)
    if type(history) is History:
        days: Iterable[int] = history.ordinals_back()
    else:
        days = (history[i].date.toordinal() for i in range(len(history) - 1, -1, -1))
    day = -1  # no date has this ordinal
    for i, ordinal in zip(range(len(history) - 1, -1, -1), days, strict=True):
        if ordinal != day:  # entries on one date share a period
            day = ordinal
            start = table.get(ordinal)
            if start is None:
                start = table[ordinal] = period_start(frequency, ordinal)
            if start not in seen:
                seen.add(start)
                yield i


def _behind_test(kpi: Kpi, history: Sequence[Measurement], config: Config) -> Callable[[int], bool]:
    """Whether the KPI was behind as of the entry at a position of its history, as a
    function of the position: `_behind_at(kpi, <the entries on the first date>,
    history[position], config)`, the first date's entries found once for every report.
    On the columns' view with one entry on the first date (the usual case) it is read
    from the columns: that entry is the baseline entry, and the report is the latest
    entry."""
    if type(history) is History and (len(history) == 1 or history.day(1) != history.day(0)):
        first, first_value = history.day(0), history.value(0)
        day_at, value_at = history.day, history.value

        def behind(report: int) -> bool:
            day = day_at(report)
            return _behind(kpi, first, first_value, day, value_at(report), day, config)

        return behind
    first_entries = _first_day(history)
    return lambda report: _behind_at(kpi, first_entries, history[report], config)


def _behind_at(kpi: Kpi, first: Sequence[Measurement], report: Measurement, config: Config) -> bool:
    """Whether the KPI was behind (at risk or off track) as of `report`'s date, from
    the baseline entries `first` and `report`: the status of
    `evaluate_kpi(kpi, [*first, report], as_of=report.date, config=config)`, worked out
    without the rest of the evaluation (overdue periods, forecast, reasons), which
    the status does not read. `tests/test_stuck_flat.py` compares the two."""
    as_of = report.date
    # As evaluate_kpi takes them: the KPI's own entries up to as_of, by (date, order).
    history = sorted(
        (m for m in (*first, report) if m.kpi == kpi.id and m.date <= as_of),
        key=lambda m: (m.date, m.order),
    )
    if not history:
        return False  # no data
    latest = history[-1]
    # The later entry of those on the earliest date (the baseline when the KPI has none).
    last = 0
    while last + 1 < len(history) and history[last + 1].date == history[0].date:
        last += 1
    return _behind(
        kpi, history[0].date, history[last].value, latest.date, latest.value, as_of, config
    )


def _behind(
    kpi: Kpi,
    first: dt.date,
    first_value: Value,
    day: dt.date,
    value: Value,
    as_of: dt.date,
    config: Config,
) -> bool:
    """_behind_at from the numbers it reads: the first date and the value of its later
    entry, the latest entry's date and value, and the as-of date (evaluate's own
    `standing_on`, with the start and the baseline the evaluation would take)."""
    # evaluate builds on the model, not on rules
    from kpitrack.evaluation.evaluate import own_baseline, standing_on

    baseline = own_baseline(kpi)
    status, _positions = standing_on(
        kpi,
        start=kpi.start or first,
        baseline=first_value if baseline is None else baseline,
        day=day,
        value=value,
        as_of=as_of,
        config=config,
    )
    return status.behind


def _first_day(history: Sequence[Measurement]) -> list[Measurement]:
    """The entries on the first date: they hold the baseline."""
    n = 1
    first = _date_at(history, 0)
    while n < len(history) and _date_at(history, n) == first:
        n += 1
    return list(history[:n])


def past_due_active(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT115."""
    for kpi in ws.kpis:
        if kpi.due is not None and kpi.due < as_of and not kpi.archived:
            yield problem(
                kpi.loc,
                KT115,
                f"KPI '{kpi.id}' was due {kpi.due} and is still active: set a new due date "
                "or add `archived: true` (keeps its history, hides it from status)",
            )


def archived_driver(ws: Workspace, config: Config, as_of: dt.date) -> Iterator[Problem]:
    """KT116: an active KPI whose drivers include an archived KPI."""
    archived = {k.id for k in ws.kpis if k.archived}
    for kpi in ws.kpis:
        if kpi.archived:
            continue
        for driver in kpi.drivers:
            if driver in archived:
                yield problem(
                    kpi.loc,
                    KT116,
                    f"KPI '{kpi.id}' is driven by '{driver}', which is archived: "
                    "remove it from drivers or name the KPI that replaces it",
                )


WORKSPACE_RULES: tuple[WorkspaceRule, ...] = (
    no_owner,
    no_objective,
    owner_focus,
    objective_focus,
    same_period,
    after_as_of,
    vague_measure,
    milestones_away,
    indicator_balance,
    no_quantitative,
    stuck_and_flat,
    past_due_active,
    archived_driver,
)


def check_workspace(
    ws: Workspace, *, config: Config, as_of: dt.date, capped: bool = True
) -> ProblemList:
    """Every workspace rule's problems (the field rules ran while loading). With `capped`,
    problems that cap_problems could never show may be counted instead of made (see
    after_as_of); without it every problem is made (to compare two results)."""
    out = ProblemList()
    starts = PeriodStarts()  # shared by the rules that group entries by period
    for rule in WORKSPACE_RULES:
        if rule is after_as_of:
            out.extend(after_as_of(ws, config, as_of, capped=capped))
        elif rule is same_period:
            out.extend(same_period(ws, config, as_of, starts=starts))
        elif rule is stuck_and_flat:
            out.extend(stuck_and_flat(ws, config, as_of, starts=starts))
        else:
            out.extend(rule(ws, config, as_of))
    return out


def measurement_value_problem(kpi: Kpi, value: float | str, text: str) -> str | None:
    """Why a typed value (`record`'s VALUE, a CSV cell: `text` as given) cannot be a
    measurement of `kpi`, or None: a label on a qualitative KPI's scale; otherwise a
    finite number of at most 1e15 in size, 0-100 for a progress KPI (as KT031/KT017/KT032
    are for values read from YAML)."""
    if kpi.kind is Kind.QUALITATIVE:
        if isinstance(value, str) and value in kpi.scale:
            return None
        return (
            f"'{text}' is not on the scale of KPI '{kpi.id}'"
            f"{did_you_mean(str(value), kpi.scale)} (choose from {', '.join(kpi.scale)})"
        )
    if isinstance(value, str) or not in_range(value):
        return f"'{text}' is not a finite number of at most 1e15 in size"
    if kpi.kind is Kind.PROGRESS and not is_percent(value):
        return f"'{text}' is outside 0–100 (KPI '{kpi.id}' is percent done)"
    return None
