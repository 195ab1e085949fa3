"""YAML nodes → model objects: each entry's keys checked and built in one pass,
every problem located; an entry with an error is left out of the model."""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

from kpitrack.domain import codes
from kpitrack.domain.model import (
    NOWHERE,
    ActionPlan,
    Direction,
    Event,
    Frequency,
    Indicator,
    Kind,
    Kpi,
    Location,
    Milestone,
    Objective,
    Value,
)
from kpitrack.domain.problems import (
    MAX_PROBLEMS_PER_FILE,
    Problem,
    ProblemList,
    Severity,
)
from kpitrack.domain.series import Measurements, Series
from kpitrack.reading import rules
from kpitrack.reading.yamlnodes import (
    Map,
    Node,
    Rows,
    Scalar,
    Seq,
    parse,
)

if TYPE_CHECKING:
    from pathlib import Path

    from kpitrack.reading.rowcache import CheckedFile, RowCache

SECTIONS = rules.SECTION_NAMES  # the top-level keys of a file

OBJECTIVE_KEYS = {
    "id": "a slug, unique in the workspace",
    "title": "the strategic goal in words",
    "owner": "",
    "due": "",
    "description": "",
    "parent": "the id of the objective this one serves",
    "weight": "its share within its parent (default 1)",
}
KPI_KEYS = {
    "id": "a slug, unique across the workspace",
    "name": "a short title",
    "measure": "how the value is obtained",
    "target": "the value that counts as success",
    "frequency": "daily, weekly, monthly, quarterly or yearly",
    "kind": "",
    "scale": "",
    "direction": "",
    "unit": "",
    "unit_plural": "the unit for values other than 1 (person → people)",
    "indicator": "",
    "owner": "",
    "objective": "",
    "baseline": "",
    "start": "",
    "due": "",
    "milestones": "",
    "review": "",
    "last_reviewed": "",
    "action": "",
    "archived": "",
    "grace_days": "",
    "tags": "",
    "description": "",
    "source": "where `kpitrack collect` gets the value: sql, csv or command",
    "weight": "its share within its objective (default 1)",
    "drivers": "the ids of the KPIs that drive this one",
}
EVENT_KEYS = {
    "date": "when it happened",
    "title": "what happened, in a few words",
    "kpis": "the ids of the KPIs it concerns (default: all)",
    "note": "",
}
MEASUREMENT_KEYS = {
    "kpi": "the id of a KPI",
    "date": "the date the value describes",
    "value": "the measured value",
    "note": "",
    "by": "",
}
ACTION_KEYS = {
    "plan": "what will be done",
    "owner": "",
    "due": "",
    "status": "",
}
MILESTONE_KEYS = {"date": "when the staged target holds", "target": "the staged target"}

_KPI_REQUIRED = ("id", "name", "measure", "target", "frequency")
U = TypeVar("U")

_OBJECTIVE_REQUIRED = ("id", "title")
_EVENT_REQUIRED = ("date", "title")
_MEASUREMENT_REQUIRED = ("kpi", "date", "value")


class _RowFile:
    """A file's measurements as rows; its nodes are rebuilt only when a row has a problem.

    With the row cache (reading/rowcache.py): `cache_name` is the file's cache entry, and
    `checked` its checked columns when the cache had them (then `rows` is empty until
    they turn out stale: see `_Builder.measurements`)."""

    __slots__ = ("alone", "cache_name", "checked", "path", "pending", "rows", "text")

    def __init__(
        self,
        path: str,
        text: str,
        rows: Rows,
        cache_name: Path | None = None,
        checked: CheckedFile | None = None,
        *,
        pending: bool = False,
    ) -> None:
        self.path, self.text, self.rows = path, text, rows
        self.cache_name, self.checked = cache_name, checked
        # In the cache, not read yet (the whole load's measurements were cached).
        self.pending = pending
        # A file of measurements alone (its rows are all it holds).
        self.alone = checked is not None or pending

    def scan(self) -> Rows:
        """The rows of a file the cache knew as rows alone (the same bytes read the same)."""
        from kpitrack.reading.yamlnodes import parse_rows, scan_rows

        parsed = scan_rows(self.text, self.path) or parse_rows(self.text, self.path)
        assert parsed is not None  # it was read as rows before, and cached as such
        return parsed[1]

    def entries(self) -> list[Map]:
        """The measurement entries as nodes, from the full reader (the rare error path)."""
        root, _ = parse(self.text, self.path)  # parse_rows succeeded: no fatal error here
        assert type(root) is Map
        entries: list[Map] = []
        for key, value in root.items:
            if key.text == "measurements" and type(value) is Seq:
                entries.extend(item for item in value.items if type(item) is Map)
        return entries


def _loc(node: Node) -> Location:
    return Location(node.path, node.line, node.column)


class _Builder:
    """Entries → model objects. An entry with an error is left out of the model."""

    def __init__(self, out: list[Problem], complete: bool) -> None:
        self.out = out
        self.complete = complete
        self.objective_ids: dict[str, Location] = {}
        self.kpi_ids: dict[str, Location] = {}  # every KPI id seen, valid or not
        self.kpis_by_id: dict[str, Kpi] = {}
        self.suggestions: dict[str, str] = {}
        # References checked once every objective and KPI is known (see `links`).
        self.parent_nodes: dict[str, Node] = {}  # objective id → its `parent` node
        self.driver_nodes: dict[str, tuple[tuple[str, Node], ...]] = {}  # KPI id → drivers
        self.all_checked = False  # `measurements` checked every file without its nodes

    # ------------------------------------------------------------ objectives

    def objectives(self, entries: list[Map]) -> list[Objective]:
        result = []
        for entry in entries:
            objective = self._objective(entry)
            if objective is not None:
                result.append(objective)
        return result

    def _objective(self, entry: Map) -> Objective | None:
        out = self.out
        before = len(out)
        fields = _fields(entry, OBJECTIVE_KEYS, out, "objective")
        id_node = fields.get("id")
        obj_id = rules.slug(out, id_node, "objective id") if id_node is not None else None
        what = f"objective '{obj_id}'" if obj_id else "objective"
        _unknown_keys(entry, OBJECTIVE_KEYS, what, out)
        _missing(entry, fields, _OBJECTIVE_REQUIRED, OBJECTIVE_KEYS, what, out)
        if obj_id is not None and id_node is not None:
            rules.duplicate_objective(out, id_node, obj_id, self.objective_ids, _loc(entry))
        title = _text(fields, "title", what, out, required=True)
        owner = _text(fields, "owner", what, out)
        description = _text(fields, "description", what, out)
        due = _date(fields, "due", what, out)
        parent = _optional(fields, "parent", lambda node: rules.slug(out, node, f"{what}: parent"))
        weight = _optional(fields, "weight", lambda n: rules.weight(out, n, f"{what}: weight"))
        if _has_errors(out, before) or obj_id is None or title is None:
            return None
        if parent is not None:
            self.parent_nodes[obj_id] = fields["parent"]
        return Objective(
            id=obj_id,
            title=title,
            owner=owner,
            due=due,
            description=description,
            loc=_loc(entry),
            parent=parent,
            weight=1.0 if weight is None else weight,
        )

    # ------------------------------------------------------------ KPIs

    def kpis(self, entries: list[Map]) -> list[Kpi]:
        result = []
        for entry in entries:
            kpi = self._kpi(entry)
            if kpi is not None:
                result.append(kpi)
                self.kpis_by_id[kpi.id] = kpi
        return result

    def _kpi(self, entry: Map) -> Kpi | None:
        out = self.out
        before = len(out)
        fields = _fields(entry, KPI_KEYS, out, "KPI")
        id_node = fields.get("id")
        kpi_id = rules.slug(out, id_node, "KPI id") if id_node is not None else None
        what = f"KPI '{kpi_id}'" if kpi_id else "KPI"
        _unknown_keys(entry, KPI_KEYS, what, out)
        kind = _kind(fields, what, out)
        required = _KPI_REQUIRED if kind is not Kind.PROGRESS else (*_KPI_REQUIRED[:3], "frequency")
        _missing(entry, fields, required, KPI_KEYS, what, out)
        if kpi_id is not None and id_node is not None:
            rules.duplicate_kpi(out, id_node, kpi_id, self.kpi_ids, _loc(entry))

        name = _text(fields, "name", what, out, required=True)
        measure = _text(fields, "measure", what, out, required=True)
        frequency = _choice(fields, "frequency", what, Frequency, out, required=True)
        direction = _choice(fields, "direction", what, Direction, out) or Direction.INCREASE
        indicator = _choice(fields, "indicator", what, Indicator, out)
        review = _choice(fields, "review", what, Frequency, out)

        scale = rules.kpi_scale(out, entry, fields.get("scale"), kind, what)
        value = _value_rule(kind, scale, what, out)
        target = _target(fields, kind, what, value, out)
        baseline = _optional(fields, "baseline", lambda node: value(node, "baseline"))

        start = _date(fields, "start", what, out)
        due = _date(fields, "due", what, out)
        last_reviewed = _date(fields, "last_reviewed", what, out)
        if start is not None:
            rules.start_after_due(out, fields["start"], what, start, due)

        milestones = self._milestones(fields.get("milestones"), what, due, value)

        objective = _text(fields, "objective", what, out)
        if objective is not None and self.complete:
            rules.unknown_objective(out, fields["objective"], what, objective, self.objective_ids)
        owner = _text(fields, "owner", what, out)
        unit = _text(fields, "unit", what, out)
        unit_plural = _text(fields, "unit_plural", what, out)
        action, action_plan = _action(fields, what, out)
        archived = rules.flag(out, fields.get("archived"), f"{what}: archived")
        description = _text(fields, "description", what, out)
        grace_days = _optional(
            fields, "grace_days", lambda node: rules.whole_days(out, node, f"{what}: grace_days")
        )
        tag_list = _optional(fields, "tags", lambda node: rules.tags(out, node, f"{what}: tags"))
        from kpitrack.reading import sources  # the kinds load only for a `source`

        sources.credential_problems(out, entry, what)
        source = _optional(
            fields, "source", lambda node: sources.parse_source(out, node, what, kind, scale or ())
        )
        weight = _optional(fields, "weight", lambda n: rules.weight(out, n, f"{what}: weight"))
        drivers = _optional(
            fields, "drivers", lambda node: rules.id_list(out, node, f"{what}: drivers")
        )
        if drivers and kpi_id is not None:
            for driver, node in drivers:
                if driver == kpi_id:
                    rules.self_driver(out, node, what, kpi_id)

        if (
            _has_errors(out, before)
            or kpi_id is None
            or name is None
            or measure is None
            or frequency is None
            or kind is None
            or target is None
        ):
            return None
        return Kpi(
            id=kpi_id,
            name=name,
            measure=measure,
            target=target,
            frequency=frequency,
            kind=kind,
            scale=scale or (),
            direction=direction,
            unit=unit,
            unit_plural=unit_plural,
            indicator=indicator,
            owner=owner,
            objective=objective,
            baseline=baseline,
            start=start,
            due=due,
            milestones=milestones or (),
            review=review,
            last_reviewed=last_reviewed,
            action=action,
            action_plan=action_plan,
            archived=archived,
            grace_days=grace_days,
            tags=tag_list or (),
            description=description,
            loc=_loc(entry),
            source=source,
            weight=1.0 if weight is None else weight,
            drivers=_remember(self.driver_nodes, kpi_id, drivers or ()),
        )

    def _milestones(
        self,
        node: Node | None,
        what: str,
        due: dt.date | None,
        convert: _ValueRule,
    ) -> tuple[Milestone, ...] | None:
        out = self.out
        if node is None or rules.is_empty(node):
            return ()
        if type(node) is not Seq:
            rules.wrong_shape(out, node, f"{what}: milestones must be a list of {{date, target}}")
            return None
        result: list[Milestone] = []
        previous: dt.date | None = None
        for item in node.items:
            if type(item) is not Map:
                rules.wrong_shape(out, item, f"{what}: each milestone must be a mapping")
                continue
            fields = _fields(item, MILESTONE_KEYS, out, "milestone")
            _unknown_keys(item, MILESTONE_KEYS, f"a milestone of {what}", out)
            _missing(
                item, fields, ("date", "target"), MILESTONE_KEYS, f"a milestone of {what}", out
            )
            day = _date(fields, "date", f"{what}: milestone", out)
            target_node = fields.get("target")
            target = None
            if target_node is not None:
                if rules.is_empty(target_node):
                    rules.empty_required(out, target_node, f"{what}: milestone target")
                else:
                    target = convert(target_node, "milestone target")
            if day is None:
                continue
            # Date order and due are checked even when the target is wrong.
            rules.milestone_out_of_order(out, fields["date"], what, day, previous)
            rules.milestone_after_due(out, fields["date"], what, day, due)
            previous = day
            if target is not None:
                result.append(Milestone(date=day, target=target, loc=_loc(item)))
        return tuple(result)

    # ------------------------------------------------------------ links and events

    def links(self, objectives: Sequence[Objective], kpis: Sequence[Kpi]) -> None:
        """The references between objectives (`parent`) and between KPIs (`drivers`), once
        all are known: unknown ids (KT023/KT024) and cycles (KT040/KT042, one error per
        member, at its `parent` or `drivers` entry)."""
        out = self.out
        if self.complete:
            for objective in objectives:
                if objective.parent is not None:
                    rules.unknown_parent(
                        out,
                        self.parent_nodes[objective.id],
                        f"objective '{objective.id}'",
                        objective.parent,
                        self.objective_ids,
                    )
            for kpi_id, drivers in self.driver_nodes.items():
                for driver, node in drivers:
                    if driver not in self.kpi_ids:
                        self._unknown_kpi(node, driver, f"KPI '{kpi_id}': drivers")
        parents = {o.id: (o.parent,) for o in objectives if o.parent is not None}
        for cycle in rules.cycles(parents):
            at: dict[str, Node | Location] = {m: self.parent_nodes[m] for m in cycle}
            rules.cycle_problems(out, codes.KT040, "objective", "parents", cycle, at)
        drives = {k.id: k.drivers for k in kpis if k.drivers}
        for cycle in rules.cycles(drives):
            if len(cycle) == 1:
                continue  # a KPI driving itself: KT041 already
            at = {m: _driver_node(self.driver_nodes, m, cycle) for m in cycle}
            rules.cycle_problems(out, codes.KT042, "KPI", "drivers", cycle, at)

    def events(self, entries: list[Map]) -> list[Event]:
        result = []
        for entry in entries:
            event = self._event(entry)
            if event is not None:
                result.append(event)
        return result

    def _event(self, entry: Map) -> Event | None:
        out = self.out
        before = len(out)
        fields = _fields(entry, EVENT_KEYS, out, "event")
        day = _date(fields, "date", "event", out)
        title = _text(fields, "title", "event", out, required=True) if "title" in fields else None
        what = f"event {rules.quote(title)}" if title else "event"
        if day is not None:
            what = f"{what} on {day}"
        _unknown_keys(entry, EVENT_KEYS, what, out)
        _missing(entry, fields, _EVENT_REQUIRED, EVENT_KEYS, what, out)
        note = _text(fields, "note", what, out)
        kpis = _optional(fields, "kpis", lambda node: rules.id_list(out, node, f"{what}: kpis"))
        if kpis and self.complete:
            for kpi_id, node in kpis:
                if kpi_id not in self.kpi_ids:
                    self._unknown_kpi(node, kpi_id, what)
        if _has_errors(out, before) or day is None or title is None:
            return None
        return Event(
            date=day,
            title=title,
            kpis=tuple(kpi_id for kpi_id, _ in kpis or ()),
            note=note,
            loc=_loc(entry),
        )

    # ------------------------------------------------------------ measurements

    def measurements(
        self,
        files: Sequence[list[Map] | _RowFile],
        paths: Sequence[str],
        cache: RowCache | None = None,
    ) -> Measurements:
        """Measurements in reading order, as columns; the common, valid case takes a fast path.

        A file read as rows (yamlnodes.parse_rows) is checked row by row without any
        node; a row that is not plainly valid sends its file through the full reader,
        whose nodes give every problem its line and column. `paths` are the files in
        reading order (a measurement's location refers to its file by position).

        With the row cache, a file's checked columns come from the cache when every KPI
        they name has the definition they were checked against (`_cached`); else, and
        for a file not in the cache, its rows are checked as above and the result goes
        into the cache when the file has no problem.
        """
        result = Measurements()
        for path in paths:
            result.path_index(path)
        days: dict[str, int | str] = {}
        order = 0
        self.all_checked = True
        for source in files:
            if type(source) is _RowFile:
                if source.pending:
                    source.pending = False
                    if cache is not None and source.cache_name is not None:
                        source.checked = cache.get(source.cache_name, {})
                    if source.checked is None:
                        source.rows = source.scan()
                if source.checked is not None:
                    if self._cached(source.checked, source.path, result, order):
                        order += source.checked.count
                        source.checked, source.text = None, ""
                        continue
                    source.checked = None  # checked against other definitions: again
                    if cache is not None:
                        cache.stale += 1
                    source.rows = source.scan()
                appended = self._rows(source, result, days, order)
                if appended is not None:
                    if cache is not None and source.cache_name is not None:
                        from kpitrack.reading.rowcache import checked_file

                        kinds = {k: (self.kpis_by_id[k].kind, self.kpis_by_id[k].scale)
                                 for k in appended}  # fmt: skip
                        cache.put(source.cache_name, checked_file(appended, kinds, order))
                    order += len(source.rows)
                    source.rows, source.text = Rows(), ""  # rows never coexist with the model
                    continue
                entries = source.entries()
            else:
                entries = source  # type: ignore[assignment]
            self.all_checked = False
            self._entries(entries, result, days, order)
            order += len(entries)
        return result

    def _rows(
        self,
        source: _RowFile,
        result: Measurements,
        days: dict[str, int | str],
        order: int,
    ) -> dict[str, tuple[Series, int]] | None:
        """Append the measurements of an all-valid row file and give each KPI's series
        and its length before the file (in the order the file first names them); None
        (nothing appended) if any row needs the full reader's report."""
        kpis = self.kpis_by_id
        parse_day, number_in, percent_ok, label_ok = (
            _parse_day,
            rules.finite_number,
            rules.is_percent,
            rules.on_scale,
        )
        qualitative, progress = Kind.QUALITATIVE, Kind.PROGRESS
        file = result.path_index(source.path)
        series_for = result.series_for
        # Each series' length before this file, to take the file back out if a row is bad.
        before: dict[str, tuple[Series, int]] = {}
        numbers: dict[str, float] = {}  # plain value text → its number (checked in range)
        last_kpi: str | None = None
        labels: tuple[str, ...] | None = None
        percent = False
        for line, column, kpi_id, date_text, value_text, plain, note, by in source.rows:
            order += 1
            if kpi_id is not last_kpi:  # rows of one KPI usually come together
                kpi = kpis.get(kpi_id)
                if kpi is None:
                    break
                series = series_for(kpi_id)
                if kpi_id not in before:
                    before[kpi_id] = (series, len(series))
                    series.ordered = None
                labels = kpi.scale if kpi.kind is qualitative else None
                if labels is not None and type(series.values) is array:
                    series.values = list(series.values)
                percent = kpi.kind is progress
                # Labels go into a list, numbers into array('d'): both take a Value here.
                add_value = cast("Callable[[Value], None]", series.values.append)
                add_day, add_note, add_by = (
                    series.dates.append,
                    series.notes.append,
                    series.bys.append,
                )
                add_file, add_line, add_column, add_order = (
                    series.files.append,
                    series.lines.append,
                    series.columns.append,
                    series.orders.append,
                )
                last_kpi = kpi_id
            day = days.get(date_text)
            if day is None:
                day = days[date_text] = parse_day(date_text)
            if type(day) is not int or value_text == "":
                break
            value: Value
            if labels is not None:
                if not label_ok(value_text, plain, labels):
                    break
                value = labels[labels.index(value_text)]
            else:
                known = numbers.get(value_text) if plain else None
                if known is None:
                    known = number_in(value_text, plain)
                    if known is None:
                        break
                    if plain:
                        numbers[value_text] = known
                if percent and not percent_ok(known):
                    break
                value = known
            add_day(day)
            add_value(value)
            add_note(note)
            add_by(by)
            add_file(file)
            add_line(line)
            add_column(column)
            add_order(order)
        else:
            result.added(len(source.rows))
            return before
        for series, length in before.values():
            series.truncate(length)
        return None

    def fits(self, checked: Sequence[tuple[str, Kind, tuple[str, ...]]]) -> bool:
        """Whether each of these KPIs is a valid KPI of this kind (and, qualitative, this
        scale): what the checks of its measurements depend on."""
        kpis = self.kpis_by_id
        qualitative = Kind.QUALITATIVE
        for kpi_id, kind, scale in checked:
            kpi = kpis.get(kpi_id)
            if kpi is None or kpi.kind is not kind or (kind is qualitative and kpi.scale != scale):
                return False
        return True

    def _cached(self, checked: CheckedFile, path: str, result: Measurements, order: int) -> bool:
        """Append a file's checked columns from the row cache, as `_rows` would append its
        rows; False (nothing appended) when a KPI they name is no longer a valid KPI of
        the kind and scale they were checked against."""
        if not self.fits(checked.kpis):
            return False
        kpis = self.kpis_by_id
        qualitative = Kind.QUALITATIVE
        file = array("i", (result.path_index(path),))
        series_for = result.series_for
        dates, values, lines, columns = (
            checked.dates,
            checked.values,
            checked.lines,
            checked.columns,
        )
        notes, bys, runs, positions = checked.notes, checked.bys, checked.runs, checked.positions
        for index, ((kpi_id, kind, _), (first, end, first_run, end_run)) in enumerate(
            zip(checked.kpis, checked.segments, strict=True)
        ):
            series = series_for(kpi_id)
            series.ordered = None
            series.dates.extend(dates[first:end])
            if kind is qualitative:
                known = series.values
                if type(known) is not list:
                    known = series.values = list(known)
                known.extend(map(kpis[kpi_id].scale.__getitem__, positions[index]))
            else:
                series.values.extend(values[first:end])
            series.notes += notes[first:end]
            series.bys += bys[first:end]
            series.files.extend(file * (end - first))
            series.lines.extend(lines[first:end])
            series.columns.extend(columns[first:end])
            add_orders = series.orders.extend
            for r in range(first_run, end_run):
                start = order + runs[2 * r]
                add_orders(range(start, start + runs[2 * r + 1]))
        result.added(checked.count)
        return True

    def _entries(
        self,
        entries: list[Map],
        result: Measurements,
        days: dict[str, int | str],
        order: int,
    ) -> None:
        kpis = self.kpis_by_id
        parse_day, scalar, is_empty = (_parse_day, Scalar, rules.is_empty)
        number_in, percent_ok, label_ok = rules.finite_number, rules.is_percent, rules.on_scale
        qualitative, progress = Kind.QUALITATIVE, Kind.PROGRESS
        dates: dict[str, dt.date | str] = {}
        count = 0
        for entry in entries:
            order += 1
            kpi_node = date_node = value_node = note_node = by_node = None
            bad_keys: list[Scalar] | None = None
            for key, node in entry.items:
                k = key.text
                if k == "kpi":
                    kpi_node = node
                elif k == "date":
                    date_node = node
                elif k == "value":
                    value_node = node
                elif k == "note":
                    note_node = node
                elif k == "by":
                    by_node = node
                elif bad_keys is None:
                    bad_keys = [key]
                else:
                    bad_keys.append(key)
            nodes = (kpi_node, date_node, value_node, note_node, by_node)
            # Fast path: every field present, plain text, and valid.
            if (
                bad_keys is None
                and type(kpi_node) is scalar
                and type(date_node) is scalar
                and type(value_node) is scalar
                and (note_node is None or type(note_node) is scalar)
                and (by_node is None or type(by_node) is scalar)
            ):
                kpi = kpis.get(kpi_node.text)
                day = days.get(date_node.text)
                if day is None:
                    day = days[date_node.text] = parse_day(date_node.text)
                value: Value | None = None
                if kpi is not None and isinstance(day, int) and not is_empty(value_node):
                    if kpi.kind is qualitative:
                        if label_ok(value_node.text, value_node.plain, kpi.scale):
                            value = value_node.text
                    else:
                        value = number_in(value_node.text, value_node.plain)
                        if value is not None and kpi.kind is progress and not percent_ok(value):
                            value = None
                if value is not None and isinstance(day, int):
                    note = None if note_node is None or is_empty(note_node) else note_node.text
                    by = None if by_node is None or is_empty(by_node) else by_node.text
                    result.series_for(kpi_node.text).append(
                        day,
                        value,
                        note,
                        by,
                        result.path_index(entry.path),
                        entry.line,
                        entry.column,
                        order,
                    )
                    count += 1
                    continue
            self._measurement(entry, nodes, bad_keys or [], dates)
        result.added(count)

    def _measurement(
        self,
        entry: Map,
        nodes: tuple[Node | None, ...],
        bad_keys: list[Scalar],
        dates: dict[str, dt.date | str],
    ) -> None:
        """The slow path: report what is wrong with one measurement (it stays out of the model)."""
        out = self.out
        kpi_node, date_node, value_node, note_node, by_node = nodes
        kpi_id: str | None = None
        if kpi_node is not None:
            if type(kpi_node) is Scalar and not rules.is_empty(kpi_node):
                kpi_id = kpi_node.text
            else:
                kpi_id = rules.text(out, kpi_node, "measurement: kpi", required=True)
        what = f"measurement of KPI '{kpi_id}'" if kpi_id else "measurement"
        day = None
        if date_node is not None:
            if rules.is_empty(date_node):
                rules.empty_required(out, date_node, f"{what}: date")
            else:
                day = rules.date(out, date_node, f"{what}: date", dates)
        if day is not None:
            what = f"{what} on {day}"
        for key in _shown(bad_keys, out):
            rules.unknown_key(out, key, what, MEASUREMENT_KEYS)
        for name, node in zip(("kpi", "date", "value"), nodes, strict=False):
            if node is None:
                rules.missing_key(out, entry, what, name, MEASUREMENT_KEYS[name])
        kpi = self.kpis_by_id.get(kpi_id) if kpi_id is not None else None
        if kpi_id is not None and kpi is None and kpi_id not in self.kpi_ids:
            if self.complete and kpi_node is not None:
                where = f"measurement on {day}" if day is not None else "measurement"
                self._unknown_kpi(kpi_node, kpi_id, where)
        elif value_node is not None:
            if rules.is_empty(value_node):
                rules.empty_required(out, value_node, f"{what}: value")
            # A KPI with errors of its own (kpi is None) has its values checked once it is fixed.
            elif kpi is not None and kpi.kind is Kind.QUALITATIVE:
                rules.label(out, value_node, f"{what}: value", kpi.scale)
            elif kpi is not None and kpi.kind is Kind.PROGRESS:
                rules.percent(out, value_node, f"{what}: value")
            elif kpi is not None:
                rules.number(out, value_node, f"{what}: value")
        if note_node is not None:
            rules.text(out, note_node, f"{what}: note")
        if by_node is not None:
            rules.text(out, by_node, f"{what}: by")

    def _unknown_kpi(self, node: Node, kpi_id: str, what: str) -> None:
        rules.unknown_kpi(self.out, node, what, kpi_id, self.kpi_ids, self.suggestions)


# ---------------------------------------------------------------- field helpers


def _fields(entry: Map, known: dict[str, str], out: list[Problem], kind: str) -> dict[str, Node]:
    """The known keys of an entry (the first of duplicates; KT005 was reported)."""
    fields: dict[str, Node] = {}
    for key, value in entry.items:
        if key.text in known and key.text not in fields:
            fields[key.text] = value
    return fields


def _unknown_keys(entry: Map, known: dict[str, str], what: str, out: list[Problem]) -> None:
    unknown = [key for key, _ in entry.items if key.text not in known]
    for key in _shown(unknown, out):
        rules.unknown_key(out, key, what, known)


def _shown(keys: list[Scalar], out: list[Problem]) -> list[Scalar]:
    """The unknown keys of one mapping that need a Problem; the rest are counted in `out`.

    Keys come in file order, one problem each: beyond the mapping's first
    MAX_PROBLEMS_PER_FILE + 1, none can be shown nor be the first one left out
    (cap_problems), so they cost a count, not a Problem and a suggestion each."""
    keep = MAX_PROBLEMS_PER_FILE + 1
    if len(keys) <= keep or not isinstance(out, ProblemList):
        return keys
    out.omit(keys[keep].path, len(keys) - keep)
    return keys[:keep]


def _missing(
    entry: Map,
    fields: dict[str, Node],
    required: Sequence[str],
    known: dict[str, str],
    what: str,
    out: list[Problem],
) -> None:
    for key in required:
        if key not in fields:
            rules.missing_key(out, entry, what, key, known[key])


def _text(
    fields: dict[str, Node], key: str, what: str, out: list[Problem], *, required: bool = False
) -> str | None:
    node = fields.get(key)
    if node is None:
        return None
    if not required and rules.is_empty(node):
        return None
    return rules.text(out, node, f"{what}: {key}", required=required)


def _date(fields: dict[str, Node], key: str, what: str, out: list[Problem]) -> dt.date | None:
    node = fields.get(key)
    if node is None or rules.is_empty(node):
        return None
    return rules.date(out, node, f"{what}: {key}")


def _choice(
    fields: dict[str, Node],
    key: str,
    what: str,
    enum: type[rules.E],
    out: list[Problem],
    *,
    required: bool = False,
) -> rules.E | None:
    node = fields.get(key)
    if node is None:
        return None
    if rules.is_empty(node):
        if required:
            rules.empty_required(out, node, f"{what}: {key}")
        return None
    return rules.choice(out, node, f"{what}: {key}", enum)


def _parse_day(text: str) -> int | str:
    """A date's text as its ordinal, or rules._parse_date's message why it is no date."""
    day = rules._parse_date(text)
    return day if isinstance(day, str) else day.toordinal()


# Types one value of a KPI (target, baseline, a milestone's target) by the KPI's kind.
_ValueRule = Callable[[Node, str], Value | None]


def _kind(fields: dict[str, Node], what: str, out: list[Problem]) -> Kind | None:
    """The KPI's kind: quantitative when absent or empty, None when not a kind (KT025)."""
    node = fields.get("kind")
    if node is None or rules.is_empty(node):
        return Kind.QUANTITATIVE
    return rules.choice(out, node, f"{what}: kind", Kind)


def _value_rule(
    kind: Kind | None, scale: tuple[str, ...] | None, what: str, out: list[Problem]
) -> _ValueRule:
    """A label on the scale (KT031), a percentage (KT032) or a number (KT016/KT017)."""

    def value(node: Node, label: str) -> Value | None:
        if kind is Kind.QUALITATIVE:
            return rules.label(out, node, f"{what}: {label}", scale)
        if kind is Kind.PROGRESS:
            return rules.percent(out, node, f"{what}: {label}")
        return rules.number(out, node, f"{what}: {label}")

    return value


def _target(
    fields: dict[str, Node], kind: Kind | None, what: str, value: _ValueRule, out: list[Problem]
) -> Value | None:
    """The target; 100 for a progress KPI without one (docs/file-format.md); KT014 when empty."""
    node = fields.get("target")
    if node is not None and not rules.is_empty(node):
        return value(node, "target")
    if kind is Kind.PROGRESS:
        return 100.0  # docs/file-format.md: progress KPIs default to 100 (percent done)
    if node is not None:
        rules.empty_required(out, node, f"{what}: target")
    return None


def _action(
    fields: dict[str, Node], what: str, out: list[Problem]
) -> tuple[str | None, ActionPlan | None]:
    """`action` as text, or as a mapping {plan, owner, due, status} (KT065/KT066)."""
    node = fields.get("action")
    if node is None or type(node) is Scalar:
        return _text(fields, "action", what, out), None
    plan = rules.action(out, node, f"{what}: action", ACTION_KEYS)
    return (plan.plan if plan is not None else None), plan


def _optional(fields: dict[str, Node], key: str, read: Callable[[Node], U]) -> U | None:
    """An optional key read by `read`; None when absent or empty."""
    node = fields.get(key)
    if node is None or rules.is_empty(node):
        return None
    return read(node)


def _remember(
    nodes: dict[str, tuple[tuple[str, Node], ...]],
    kpi_id: str,
    drivers: tuple[tuple[str, Node], ...],
) -> tuple[str, ...]:
    """A KPI's driver ids; their nodes kept for the checks of `_Builder.links`."""
    if drivers:
        nodes[kpi_id] = drivers
    return tuple(driver for driver, _ in drivers)


def _driver_node(
    nodes: dict[str, tuple[tuple[str, Node], ...]], kpi_id: str, cycle: list[str]
) -> Node | Location:
    """Where a KPI on a driver cycle names the next KPI of the cycle."""
    following = cycle[(cycle.index(kpi_id) + 1) % len(cycle)]
    for driver, node in nodes.get(kpi_id, ()):
        if driver == following:
            return node
    return NOWHERE


def _has_errors(out: list[Problem], since: int) -> bool:
    return any(p.severity is Severity.ERROR for p in out[since:])
