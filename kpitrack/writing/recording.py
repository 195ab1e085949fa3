"""The write core of `record`, `import` and `collect` (docs/commands.md, docs/writing.md).

No Typer, no Rich, no printing: functions take the parsed options and return
frozen outcomes, or raise `KpitrackError`s that the shell turns into messages.

- Values, dates and free text are checked by `userinput` (numbers and labels against
  their KPI through `rules.measurement_value_problem`).
- `load_for_writing` loads the workspace once (one parse of each file);
  `measurement_target` is the one rule for which file gets new measurements.
- `record` and `import_measurements` append under the target's lock. When the file
  is as the load saw it (the usual case), nothing is parsed again: the insertion
  point comes from the load (the last entry's line), only the lines from that entry
  on are parsed, and `verify` checks the new text on those lines plus a byte
  comparison of everything before them. New warnings (`_new_warnings`) are worked
  out on the columns for the new entries' periods and KPIs only. When another writer
  changed the file meanwhile, it
  is loaded again (only that file is parsed) and the same steps follow.
- `append_measurements` / `preview_append` / `workspace_verifier` are the general
  engine (used for writes to a file the workspace does not read):
  a full parse of the file and a re-load of the workspace with its new text.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import stat
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from kpitrack.domain.model import (
    NOWHERE,
    Config,
    Frequency,
    Kpi,
    KpiResult,
    Location,
    Measurement,
)
from kpitrack.domain.periods import period_containing
from kpitrack.domain.problems import InvalidWorkspaceError, Problem, UsageError, WriteError
from kpitrack.domain.series import Series
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import rules
from kpitrack.reading.loading import ParseMemo, load_texts, read_files, resolve_paths
from kpitrack.writing import atomicfile
from kpitrack.writing.atomicfile import (
    LOCK_TIMEOUT,
    check_size,
    check_writable,
    file_lock,
    read_existing,
    remove_orphaned_temp_files,
    writers_done,
)
from kpitrack.writing.userinput import free_text, parse_measurement_date, parse_value
from kpitrack.writing.yamlappend import (
    BOM,
    check_append,
    decode_existing,
    entry_start,
    insert_after_entry,
    insert_measurements,
    newline_of,
    parse_root,
    refuse,
    yaml_number,
)

DEFAULT_MEASUREMENTS_FILE = "measurements.yaml"
NEGATIVE_NUMBER = re.compile(r"-[0-9_.,]*[0-9][0-9_.,]*([eE][-+]?[0-9]+)?", re.ASCII)

MeasurementKey = tuple[str, str, str, str | None, str | None]


def measurement_key(m: Measurement) -> MeasurementKey:
    """What makes two measurements the same, whatever their position."""
    value = m.value if isinstance(m.value, str) else yaml_number(m.value)
    return (m.kpi, m.date.isoformat(), value, m.note, m.by)


# ---------------------------------------------------------------- the workspace and its files


@dataclass(frozen=True)
class Loaded:
    workspace: Workspace
    config: Config
    paths: list[Path]  # the workspace files, in reading order
    sources: list[tuple[str, Path]]  # (display path, path)
    texts: list[tuple[str, str]]  # (display path, text) the workspace was loaded from
    problems: list[Problem]  # its warnings
    as_of: dt.date
    memo: ParseMemo  # its files' parses, for the loads that check a write

    def loads(self, target: Path) -> WorkspaceLoads:
        """Loads of this workspace with `target`'s text replaced, starting from this one."""
        return WorkspaceLoads(
            self.sources,
            target,
            config=self.config,
            as_of=self.as_of,
            known=(self.texts, (self.workspace, self.problems)),
            memo=self.memo,
        )

    def path_of(self, display: str) -> Path:
        for shown, path in self.sources:
            if shown == display:
                return path
        return Path(display)

    def index_of(self, target: Path) -> int | None:
        """Which workspace file `target` is (symlinks resolved), None when not read."""
        real = os.path.realpath(target)
        for index, (_display, path) in enumerate(self.sources):
            if os.path.realpath(path) == real:
                return index
        return None


def load_for_writing(
    files: Sequence[Path] | None,
    as_of: dt.date,
    *,
    config: Config | None = None,
    cwd: Path | None = None,
) -> Loaded:
    """The workspace a write is checked against (one parse of each file);
    InvalidWorkspaceError (check's messages) when it has errors. Without `config`,
    kpitrack.toml is looked up from `cwd`."""
    cwd = cwd or Path.cwd()
    if config is None:
        from kpitrack.reading.config import load_config

        config = load_config(cwd)
    paths = resolve_paths(files or [], config, cwd)
    read = read_files(paths)
    memo: ParseMemo = {}
    workspace, problems = load_texts(read, config=config, as_of=as_of, memo=memo)
    if any(p.is_error for p in problems):
        # Perhaps read half-way through a `rename` of several files: read again once
        # no writer holds a lock of these files.
        with writers_done(paths):
            read = read_files(paths)
        workspace, problems = load_texts(read, config=config, as_of=as_of, memo=memo)
    if any(p.is_error for p in problems):
        raise InvalidWorkspaceError(problems)
    # Without errors every file was read, so each entry holds its text.
    texts = [(shown, text) for shown, text in read if isinstance(text, str)]
    sources = list(zip(workspace.files, paths, strict=True))
    return Loaded(workspace, config, paths, sources, texts, problems, as_of, memo)


def require_kpi(workspace: Workspace, kpi_id: str) -> Kpi:
    """The KPI, or a usage error naming the closest ids."""
    return workspace.require_kpi(kpi_id)


def _configured_file(loaded: Loaded) -> Path | None:
    name = loaded.config.measurements_file
    if not name:
        return None
    path = Path(name)
    if not path.is_absolute() and loaded.config.root:
        path = Path(loaded.config.root) / path
    return path


_MEASUREMENTS_LIST = re.compile(r"^measurements[ \t]*:", re.MULTILINE)


def measurement_target(loaded: Loaded, kpis: Sequence[Kpi], to: Path | None) -> Path:
    """The one rule `record`, `import` and `collect` share for where new measurements go,
    always a file the workspace reads: --to (refused with a UsageError when the workspace
    does not read it); else kpitrack.toml's measurements_file; else
    the file that already holds the (first) KPI's latest measurement; else the file
    holding the `measurements:` list; else the (first) KPI's own file."""
    if to is not None:
        if loaded.index_of(to) is None:
            read = ", ".join(display for display, _path in loaded.sources)
            raise UsageError(
                f"--to {to}: not a file the workspace reads, so what is written there would "
                f"not count; the files read are: {read} (name one of them, or add the file "
                "to kpitrack.toml's files or pass it with -f)"
            )
        return to
    configured = _configured_file(loaded)
    if configured is not None:
        return configured
    for kpi in kpis:
        series = loaded.workspace.measurements.series(kpi.id)
        if series is not None:
            latest = max(range(len(series)), key=lambda i: (series.dates[i], series.orders[i]))
            return loaded.path_of(series.paths[series.files[latest]])
    for display, text in loaded.texts:
        if _MEASUREMENTS_LIST.search(text):
            return loaded.path_of(display)
    owner = kpis[0] if kpis else (loaded.workspace.kpis[0] if loaded.workspace.kpis else None)
    if owner is not None and owner.loc.path:
        return loaded.path_of(owner.loc.path)
    if loaded.paths:
        return loaded.paths[0]
    return Path(".") / DEFAULT_MEASUREMENTS_FILE


def not_read_note(
    files: Sequence[Path] | None, config: Config, target: Path, cwd: Path | None = None
) -> str | None:
    """A hint when the target is not among the files kpitrack reads (with the same -f)."""
    try:
        paths = resolve_paths(files or [], config, cwd or Path.cwd())
    except UsageError:
        return None
    real = os.path.realpath(target)
    if any(os.path.realpath(p) == real for p in paths):
        return None
    return (
        f"note: {target} is not among the files kpitrack reads; "
        "add it to kpitrack.toml's files or pass it with -f"
    )


# ---------------------------------------------------------------- verification


def verify(
    old: str | None,
    new: str,
    entries: Sequence[Measurement],
    *,
    path: str,
    last_entry: tuple[int, int] | None = None,
) -> list[tuple[int, int]]:
    """The new text must be the old one plus exactly `entries`; raises WriteError
    otherwise. Returns the (line, column) of each added entry in the new text.

    With `last_entry` (the line and column of the old text's last measurement, from
    the workspace load) the check costs what the append adds: everything before that
    entry's line must be byte for byte the same, and the lines from there on must parse
    to that entry, exactly `entries` after it and everything else unchanged. Without
    it (or when that shortcut does not apply) both texts are parsed whole.
    """
    start = entry_start(old, *last_entry) if old and last_entry is not None else None
    if old is None or start is None:
        return check_append(old, new, entries, path=path)
    if new[:start] != old[:start]:
        raise refuse(path, "the new text would change the lines before the new entries")
    assert last_entry is not None
    prefix = "measurements:" + newline_of(old)
    positions = check_append(prefix + old[start:], prefix + new[start:], entries, path=path)
    # The snippet's line 2 is the file's line of the last entry.
    return [(line + last_entry[0] - 2, column) for line, column in positions]


def _new_warnings(
    workspace: Workspace,
    added: Sequence[Measurement],
    *,
    after: int,
    config: Config,
    as_of: dt.date,
) -> list[Problem]:
    """Warnings the added measurements bring: those `kpitrack check` gives for the
    workspace with them (same path, code and message) and not without them, in check's
    order. `added` are placed (location, order) after reading-order position `after`.

    Three workspace rules look at measurements, KPI by KPI; the others give the same
    warnings before and after. What new entries can change: KT105 (one measurement per
    period) only in the periods they fall in, KT106 (dated after the as-of date) only
    for themselves, KT113/KT114 (stuck, flat) only for their KPIs. So those are computed
    on the columns, before and after, for those periods and KPIs alone: the cost follows
    the new entries, not the workspace (`tests/test_new_warnings.py` compares the
    result with the rules run over the whole workspace before and after)."""
    limit = as_of.toordinal()
    extras: dict[str, list[Measurement]] = {}
    for m in added:
        extras.setdefault(m.kpi, []).append(m)
    measurements = workspace.measurements
    every = measurements.all_series()
    paths = list(every[0].paths) if every else []
    # The rules' order: the KPIs measured before in the order they were first measured,
    # then the KPIs the new entries measure first.
    known = sorted(
        (s for kpi in extras if (s := measurements.series(kpi)) is not None),
        key=lambda s: s.orders[0],
    )
    first_time = [kpi for kpi in extras if measurements.series(kpi) is None]
    kpis = {k.id: k for k in workspace.kpis}
    periods: dict[str, list[Problem]] = {}  # KT105 by KPI
    late: dict[str, list[Problem]] = {}  # KT106 by KPI
    lints: dict[str, list[Problem]] = {}  # KT113/KT114 by KPI
    for kpi_id in [s.kpi for s in known] + first_time:
        series, extra = measurements.series(kpi_id), extras[kpi_id]
        kpi = kpis.get(kpi_id)
        late[kpi_id] = [
            rules.dated_later(m, as_of)
            for m in extra
            if m.date.toordinal() > limit and not _late_in_file(series, m)
        ]
        if kpi is None or all(m.date.toordinal() > limit for m in extra):
            continue  # KT105, KT113 and KT114 only look at entries up to the as-of date
        merged = _with_added(series, extra, after=after, shift=len(added), paths=paths)
        without, with_new = _in_periods(merged, kpi.frequency, limit, len(extra))
        # Each "before" is worked out only when "after" has something to compare.
        conflicts = rules.same_period_among(merged, kpi.frequency, with_new)
        if conflicts:
            before = rules.same_period_among(merged, kpi.frequency, without)
            periods[kpi_id] = _new_problems(before, conflicts)
        stuck_flat = list(rules.stuck_and_flat_of(kpi, merged.until(limit), config))
        if stuck_flat:
            history = () if series is None else series.until(limit)
            lints[kpi_id] = _new_problems(rules.stuck_and_flat_of(kpi, history, config), stuck_flat)
    order = list(late)  # the series' order
    found = [p for kpi_id in order for p in periods.get(kpi_id, ())]
    found += [p for kpi_id in order for p in late[kpi_id]]
    found += [p for kpi in workspace.kpis for p in lints.get(kpi.id, ())]
    return [p for p in found if not p.is_error]


def _new_problems(before: Iterable[Problem], after: list[Problem]) -> list[Problem]:
    """The problems of `after` whose path, code and message none of `before` has."""
    old = {_sig(p) for p in before}
    return [p for p in after if _sig(p) not in old]


def _late_in_file(series: Series | None, m: Measurement) -> bool:
    """Whether the KPI already has a measurement on `m`'s date in `m`'s file (its KT106
    reads the same as the one `m` brings)."""
    if series is None:
        return False
    day, path, paths, files = m.date.toordinal(), m.loc.path, series.paths, series.files
    if day not in series.dates:
        return False
    return any(d == day and paths[files[i]] == path for i, d in enumerate(series.dates))


def _with_added(
    series: Series | None,
    extra: Sequence[Measurement],
    *,
    after: int,
    shift: int,
    paths: list[str],
) -> Series:
    """A copy of the KPI's series (entries read after reading-order position `after`
    moved down by `shift`) with `extra` appended: the KPI's measurements once the new
    entries are in."""
    kpi = extra[0].kpi
    merged = Series(kpi, paths)
    if series is not None:
        merged.dates = array("i", series.dates)
        merged.values = (
            array("d", series.values) if isinstance(series.values, array) else list(series.values)
        )
        orders = series.orders
        if orders and max(orders) > after:
            merged.orders = array("q", [o + shift if o > after else o for o in orders])
        else:
            merged.orders = array("q", orders)
        merged.files = array("i", series.files)
        merged.lines = array("i", series.lines)
        merged.columns = array("i", series.columns)
        merged.notes = list(series.notes)
        merged.bys = list(series.bys)
    for m in extra:
        path = m.loc.path
        if path not in paths:
            paths.append(path)
        merged.append(
            m.date.toordinal(),
            m.value,
            m.note,
            m.by,
            paths.index(path),
            m.loc.line,
            m.loc.column,
            m.order,
        )
    return merged


def _in_periods(
    merged: Series, freq: Frequency, limit: int, new: int
) -> tuple[list[int], list[int]]:
    """The positions (ascending) of the entries dated on or before `limit` in the periods
    of `merged`'s last `new` entries (the added ones) that are: without and with those."""
    dates = merged.dates
    old = len(dates) - new
    starts: dict[int, int] = {}  # date (ordinal) → its period's start

    def start_of(day: int) -> int:
        start = starts.get(day)
        if start is None:
            start = starts[day] = period_containing(
                freq, dt.date.fromordinal(day)
            ).start.toordinal()
        return start

    spans = {}  # period start → last day counted (its end, or `limit`)
    for day in dates[old:]:
        if day <= limit and start_of(day) not in spans:
            end = period_containing(freq, dt.date.fromordinal(day)).end.toordinal()
            spans[start_of(day)] = min(end, limit)
    added = [i for i in range(old, len(dates)) if dates[i] <= limit]
    if len(spans) == 1:  # the usual case: one comparison per entry
        ((lo, hi),) = spans.items()
        before = [i for i, day in enumerate(itertools.islice(dates, old)) if lo <= day <= hi]
    else:
        before = [
            i
            for i, day in enumerate(itertools.islice(dates, old))
            if day <= limit and start_of(day) in spans
        ]
    return before, before + added


def _sig(p: Problem) -> tuple[str, str, str]:
    return (p.path, p.code, p.message)


# ---------------------------------------------------------------- appending (record, import)


@dataclass(frozen=True)
class Written:
    """What one append did (or, in a dry run, would do)."""

    path: Path  # the file written (symlinks resolved)
    added: tuple[Measurement, ...]
    warnings: tuple[Problem, ...]
    created_file: bool


def _last_entry(workspace: Workspace, display: str) -> tuple[int, int] | None:
    """Line and column of the last measurement the load found in file `display` (read
    from the columns: no Measurement is built)."""
    found = _last_in_files(workspace, {display})
    if found is None:
        return None
    series, i = found
    if series.lines[i] == NOWHERE.line and series.paths[series.files[i]] == NOWHERE.path:
        return None
    return series.lines[i], series.columns[i]


def _last_in_files(workspace: Workspace, paths: set[str]) -> tuple[Series, int] | None:
    """The measurement read last (highest `order`) among those of files `paths`, as a
    series and a position in it."""
    best: tuple[Series, int] | None = None
    every = workspace.measurements.all_series()
    # Every series of a workspace shares one list of file paths.
    wanted = {n for n, path in enumerate(every[0].paths) if path in paths} if every else set()
    if not wanted:
        return None
    for series in every:
        files, orders = series.files, series.orders
        for i in range(len(series) - 1, -1, -1):  # reading order: the last hit is the one
            if files[i] in wanted:
                if best is None or orders[i] > best[0].orders[best[1]]:
                    best = (series, i)
                break
    return best


def append_to_workspace(
    loaded: Loaded,
    target: Path,
    choose: Callable[[Workspace], Sequence[Measurement]],
    *,
    dry_run: bool = False,
    timeout: float = LOCK_TIMEOUT,
) -> Written:
    """Append the measurements `choose` picks (called under the lock with the workspace
    as it is then) to `target`, locked, atomic and byte-preserving; with `dry_run`
    every check runs and nothing is written (no lock).

    A target the workspace does not read goes through the general engine
    (`append_measurements`); otherwise see the module's doc: one parse of each file."""
    index = loaded.index_of(target)
    if index is None:
        return _append_elsewhere(loaded, target, choose, dry_run=dry_run, timeout=timeout)
    real = check_writable(target)
    display = loaded.sources[index][0]
    if dry_run:
        return _append_locked(loaded, index, real, target, choose, dry_run=True, display=display)
    with file_lock(real, timeout=timeout):
        remove_orphaned_temp_files(real.parent)
        return _append_locked(loaded, index, real, target, choose, dry_run=False, display=display)


def _append_locked(
    loaded: Loaded,
    index: int,
    real: Path,
    shown: Path,
    choose: Callable[[Workspace], Sequence[Measurement]],
    *,
    dry_run: bool,
    display: str,
) -> Written:
    data, info = read_existing(real, shown)
    created_file = data is None
    old, bom = decode_existing(data, str(shown))
    del data  # the bytes are not needed past their text (the file is large at 1M)
    workspace = loaded.workspace
    if old == loaded.texts[index][1]:
        old = loaded.texts[index][1]  # one copy of the text alive, the load's
    else:
        # Another writer changed the file since the load: load it again (only this
        # file is parsed again; the others come from the load's memo).
        # The other files are read again too, under this lock: a `rename` that changed
        # this file changed them as well, and is done (it holds every lock it needs).
        texts, _index = workspace_texts(loaded.sources, real, old or "")
        workspace, problems = load_texts(
            texts, config=loaded.config, as_of=loaded.as_of, memo=loaded.memo
        )
        errors = [p for p in problems if p.is_error]
        if errors:
            raise WriteError(
                f"{shown}: changed by another writer meanwhile and now has errors "
                f"({errors[0].format()}); run `kpitrack check`; file unchanged"
            )
    todo = tuple(choose(workspace))
    if not todo:
        return Written(real, (), (), created_file=False)
    last = _last_entry(workspace, display)
    new: str | None = None
    try:
        if old and last is not None:
            new = insert_after_entry(
                old, todo, path=str(shown), entry_line=last[0], entry_column=last[1]
            )
        if new is None:
            root = parse_root(old, str(shown)) if old else None
            new = insert_measurements(old, todo, path=str(shown), old_root=root)
    except ValueError as exc:
        raise WriteError(f"{shown}: {exc}; file unchanged") from None
    positions = verify(old, new, todo, path=str(shown), last_entry=last)
    payload = (BOM if bom else b"") + new.encode("utf-8")
    del new  # from here on only its bytes
    check_size(payload, str(shown))
    if dry_run:
        del payload  # nothing is written: free it before the warnings are worked out
    # The new entries come right after the target's (reading order breaks date ties).
    upto = {name for name, _path in loaded.sources[: index + 1]}
    latest = _last_in_files(workspace, upto)
    base = latest[0].orders[latest[1]] if latest is not None else 0
    placed = [
        replace(m, loc=Location(display, line, column), order=base + 1 + i)
        for i, (m, (line, column)) in enumerate(zip(todo, positions, strict=True))
    ]
    warnings = _new_warnings(
        workspace, placed, after=base, config=loaded.config, as_of=loaded.as_of
    )
    if not dry_run:
        mode = stat.S_IMODE(info.st_mode) if info is not None else None
        atomicfile.commit(real, payload, mode=mode)
    return Written(real, todo, tuple(warnings), created_file=created_file)


def _append_elsewhere(
    loaded: Loaded,
    target: Path,
    choose: Callable[[Workspace], Sequence[Measurement]],
    *,
    dry_run: bool,
    timeout: float,
) -> Written:
    """A target outside the workspace: the workspace is checked with it added."""
    plan = _Plan(loaded.loads(target), choose)
    verifier = workspace_verifier(plan.loads, lambda: plan.chosen)
    if dry_run:
        warnings = preview_append(target, plan, verify=verifier)
        return Written(Path(os.path.realpath(target)), plan.chosen, tuple(warnings), False)
    result = append_measurements(target, plan, verify=verifier, timeout=timeout)
    return Written(result.path, result.added, result.warnings, result.created_file)


class _Plan:
    """A Plan that picks the entries under the lock from the workspace as it is then,
    and keeps what it picked for the verifier and the outcome."""

    def __init__(
        self, loads: WorkspaceLoads, choose: Callable[[Workspace], Sequence[Measurement]]
    ) -> None:
        self.loads, self.choose = loads, choose
        self.chosen: tuple[Measurement, ...] = ()

    def __call__(self, current: str | None) -> tuple[Measurement, ...]:
        self.chosen = tuple(self.choose(self.loads.with_target(current)[0]))
        return self.chosen


def _fresh(rows: Iterable[Measurement], workspace: Workspace) -> tuple[list[Measurement], int]:
    """Rows the workspace does not hold yet (a row repeated among them is added once),
    and how many were left out. Only measurements of the rows' KPIs and dates are compared."""
    rows = list(rows)
    days: dict[str, set[int]] = {}
    for m in rows:
        days.setdefault(m.kpi, set()).add(m.date.toordinal())
    seen: Counter[MeasurementKey] = Counter()
    for kpi, ordinals in days.items():
        series = workspace.measurements.series(kpi)
        if series is not None:
            dates = series.dates
            seen.update(
                measurement_key(series.measurement(i))
                for i in range(len(series))
                if dates[i] in ordinals
            )
    fresh: list[Measurement] = []
    for m in rows:
        key = measurement_key(m)
        if seen[key]:
            continue
        seen[key] += 1
        fresh.append(m)
    return fresh, len(rows) - len(fresh)


# ---------------------------------------------------------------- the general engine

# Called under the lock with the file's current text (None: no file yet); returns
# the entries to append (a caller may drop duplicates here).
Plan = Callable[[str | None], Sequence[Measurement]]
# Called under the lock with the old text (None: no file) and the new text; raises
# WriteError to refuse; returns problems worth showing (new warnings).
Verify = Callable[[str | None, str], list[Problem]]


@dataclass(frozen=True)
class AppendResult:
    path: Path  # the file written (symlinks resolved)
    added: tuple[Measurement, ...]
    created_file: bool
    warnings: tuple[Problem, ...] = ()


def _new_text(
    old: str | None, entries: Sequence[Measurement] | Plan, display: str
) -> tuple[tuple[Measurement, ...], str | None]:
    todo = tuple(entries(old) if callable(entries) else entries)
    if not todo:
        return todo, None
    old_root = parse_root(old, display) if old else None
    try:
        new = insert_measurements(old, todo, path=display, old_root=old_root)
    except ValueError as exc:
        raise WriteError(f"{display}: {exc}; file unchanged") from None
    check_append(old, new, todo, path=display, old_root=old_root)
    return todo, new


def preview_append(
    path: Path, entries: Sequence[Measurement] | Plan, *, verify: Verify | None = None
) -> list[Problem]:
    """Everything `append_measurements` checks, without the lock and without writing.

    Returns the warnings the append would bring; raises WriteError when it would be refused.
    """
    target = Path(os.path.realpath(path))
    data, _info = read_existing(target, path)
    old, bom = decode_existing(data, str(path))
    _todo, new = _new_text(old, entries, str(path))
    if new is None:
        return []
    check_size((BOM if bom else b"") + new.encode("utf-8"), str(path))
    if verify is None:
        return []
    return verify(old, new)


def append_measurements(
    path: Path,
    entries: Sequence[Measurement] | Plan,
    *,
    verify: Verify | None = None,
    timeout: float = LOCK_TIMEOUT,
) -> AppendResult:
    """Append measurements to the YAML file at `path`, locked, atomic and byte-preserving.

    `entries` may be a function called under the lock with the file's current
    text, returning the entries to add (to skip duplicates of what is there now).
    Raises WriteError, with the file unchanged, when the append is refused or fails.
    """
    target = check_writable(path)
    folder = target.parent
    display = str(path)
    with file_lock(target, timeout=timeout):
        remove_orphaned_temp_files(folder)
        data, info = read_existing(target, path)
        old, bom = decode_existing(data, display)
        todo, new = _new_text(old, entries, display)
        if new is None:
            return AppendResult(target, (), created_file=False)
        warnings = verify(old, new) if verify is not None else []
        payload = (BOM if bom else b"") + new.encode("utf-8")
        check_size(payload, display)
        mode = stat.S_IMODE(info.st_mode) if info is not None else None
        atomicfile.commit(target, payload, mode=mode)
    return AppendResult(target, todo, created_file=data is None, warnings=tuple(warnings))


# ---------------------------------------------------------------- workspace-level check


def workspace_texts(
    sources: Sequence[tuple[str, Path]], target: Path, text: str | None
) -> tuple[list[tuple[str, str]], int]:
    """The workspace's (display path, text) pairs, read now, with `text` for the target.

    The target is matched by resolved path and added at the end when it is not
    among the sources. Returns the pairs and the target's index.
    """
    real = Path(os.path.realpath(target))
    texts: list[tuple[str, str]] = []
    index: int | None = None
    for display, source in sources:
        if Path(os.path.realpath(source)) == real:
            index = len(texts)
            texts.append((display, text or ""))
            continue
        [(_shown, read)] = read_files([source])  # the loader's reader: size cap, no FIFOs
        if isinstance(read, Problem):
            raise WriteError(f"{display}: {read.message}; nothing written")
        texts.append((display, read))
    if index is None:
        index = len(texts)
        texts.append((str(target), text or ""))
    return texts, index


LoadResult = tuple[Workspace, list[Problem]]


class WorkspaceLoads:
    """Loads of the workspace with the target file's text replaced, remembered by the
    exact texts: the command's own load, `import`'s duplicate check and the
    before-check of `verify` are one load when nothing changed on disk meanwhile.

    `known` is a load already made: the texts it was made from and its result.
    """

    def __init__(
        self,
        sources: Sequence[tuple[str, Path]],
        target: Path,
        *,
        config: Config,
        as_of: dt.date,
        known: tuple[Sequence[tuple[str, str]], LoadResult] | None = None,
        memo: ParseMemo | None = None,
    ) -> None:
        self.sources, self.target = sources, target
        self.config, self.as_of = config, as_of
        # Parses of the last load, so unchanged files are not parsed again.
        self.memo: ParseMemo = {} if memo is None else memo
        self._done: dict[tuple[tuple[str, str], ...], LoadResult] = {}
        if known is not None:
            self._done[tuple(known[0])] = known[1]

    def texts(self, text: str | None) -> tuple[list[tuple[str, str]], int]:
        """The workspace's texts as they are now, with `text` for the target."""
        return workspace_texts(self.sources, self.target, text)

    def load(self, texts: Sequence[tuple[str, str]]) -> LoadResult:
        key = tuple(texts)
        done = self._done.get(key)
        if done is None:
            done = self._done[key] = load_texts(
                key, config=self.config, as_of=self.as_of, memo=self.memo
            )
        return done

    def with_target(self, text: str | None) -> LoadResult:
        """The workspace loaded with `text` as the target's content."""
        return self.load(self.texts(text)[0])


def workspace_verifier(
    loads: WorkspaceLoads, entries: Callable[[], Sequence[Measurement]]
) -> Verify:
    """A Verify that loads the whole workspace with the target's old and new text.

    `entries` gives the entries being added (known only under the lock).
    Requires exactly the old measurements plus the new ones and no new errors;
    returns the new warnings.
    """
    target = loads.target

    def verify(old: str | None, new: str) -> list[Problem]:
        texts, index = loads.texts(old)
        before_ws, before = loads.load(texts)
        texts[index] = (texts[index][0], new)
        after_ws, after = loads.load(texts)
        old_set = Counter(measurement_key(m) for m in before_ws.measurements)
        new_set = Counter(measurement_key(m) for m in after_ws.measurements)
        want = old_set + Counter(measurement_key(m) for m in entries())
        if new_set != want:
            raise WriteError(
                f"{target}: after the append the workspace would not hold exactly the old "
                "measurements plus the new ones; file unchanged"
            )

        def sig(p: Problem) -> tuple[str, str, str]:
            return (p.path, p.code, p.message)

        old_errors = Counter(sig(p) for p in before if p.is_error)
        new_errors = [p for p in after if p.is_error and sig(p) not in old_errors]
        if new_errors:
            shown = "; ".join(p.format() for p in new_errors[:3])
            raise WriteError(f"{target}: the append would add errors: {shown}; file unchanged")
        old_warnings = {sig(p) for p in before if not p.is_error}
        return [p for p in after if not p.is_error and sig(p) not in old_warnings]

    return verify


# ---------------------------------------------------------------- record


@dataclass(frozen=True)
class RecordOutcome:
    """What `record` did: `written` False means an exact duplicate was left out."""

    kpi: Kpi
    measurement: Measurement
    target: Path
    written: bool
    warnings: tuple[Problem, ...]
    note: str | None  # a hint when the target is not among the files kpitrack reads
    result: KpiResult  # the KPI's status with the new value, as of `as_of`
    as_of: dt.date  # today, or the value's date when that is later


def default_recorder() -> str | None:
    """Who records, when --by is not given: `git config user.name` inside a git
    repository, else $USER (or $USERNAME); None when neither is known."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is not None:

        def output(*args: str) -> subprocess.CompletedProcess[str]:
            command = [git, *args]
            return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)

        try:
            inside = output("rev-parse", "--is-inside-work-tree")
            if inside.returncode == 0 and inside.stdout.strip() == "true":
                name = output("config", "user.name").stdout.strip()
                if name:
                    return name
        except (OSError, subprocess.SubprocessError):
            pass
    return os.environ.get("USER") or os.environ.get("USERNAME") or None


def record(
    kpi_id: str,
    value: str,
    *,
    today: dt.date,
    config: Config,
    date: str | None = None,
    note: str | None = None,
    by: str | None = None,
    to: Path | None = None,
    files: Sequence[Path] | None = None,
    allow_duplicate: bool = False,
    dry_run: bool = False,
    timeout: float = LOCK_TIMEOUT,
) -> RecordOutcome:
    """Append one measurement (validated first) and evaluate its KPI with it; with
    `dry_run` every check runs and nothing is written (`written` says what would be).

    An exact duplicate (same KPI, date, value, note and by) of a measurement in the
    workspace is left out (decided under the lock) unless `allow_duplicate`.
    Raises UsageError for a bad KPI, value or date, InvalidWorkspaceError for a
    workspace with errors, WriteError when the write is refused (file unchanged).
    """
    from kpitrack.evaluation.evaluate import evaluate_kpi

    loaded = load_for_writing(files, today, config=config)
    kpi = require_kpi(loaded.workspace, kpi_id)
    try:
        day = parse_measurement_date(date, today) if date is not None else today
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None
    try:
        parsed = parse_value(kpi, value)
        measurement = Measurement(
            kpi.id, day, parsed, free_text(note, "--note"), free_text(by, "--by")
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    target = measurement_target(loaded, [kpi], to)

    def choose(workspace: Workspace) -> list[Measurement]:
        if allow_duplicate:
            return [measurement]
        return _fresh([measurement], workspace)[0]

    written = append_to_workspace(loaded, target, choose, dry_run=dry_run, timeout=timeout)
    all_series = loaded.workspace.measurements.all_series()
    order = max((max(s.orders) for s in all_series), default=0) + 1
    appended = replace(measurement, order=order)
    history = [*(loaded.workspace.measurements.series(kpi.id) or ()), appended]
    # A value dated in the future is shown as of its date, never ignored.
    as_of = max(today, day)
    result = evaluate_kpi(kpi, history, as_of=as_of, config=loaded.config)
    hint = not_read_note(files, loaded.config, target) if written.added and not dry_run else None
    return RecordOutcome(
        kpi, measurement, target, bool(written.added), written.warnings, hint, result, as_of
    )


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportOutcome:
    """What `import` did (or, with `dry_run`, would do)."""

    source: str  # the CSV's name for messages (<stdin> for -)
    target: Path
    rows: int  # measurements read from the CSV
    added: tuple[Measurement, ...]
    skipped: int  # exact duplicates left out
    warnings: tuple[Problem, ...]
    note: str | None  # a hint when the target is not among the files kpitrack reads
    dry_run: bool


def import_measurements(
    source: str,
    *,
    today: dt.date,
    config: Config,
    stdin: BinaryIO | None = None,
    to: Path | None = None,
    files: Sequence[Path] | None = None,
    dry_run: bool = False,
    timeout: float = LOCK_TIMEOUT,
) -> ImportOutcome:
    """Append every row of a CSV (`-`: `stdin`), all or nothing; exact duplicates of
    measurements in the workspace, and rows repeated in the CSV, are added once.

    Raises InvalidCsvError with every row problem at once, UsageError for an input
    that cannot be read (missing, over the caps, not UTF-8), InvalidWorkspaceError,
    WriteError; nothing is written in any of these cases.
    """
    from kpitrack.writing.csvinput import open_csv, read_measurements

    csv_source = open_csv(source, stdin if stdin is not None else _stdin())
    try:
        loaded = load_for_writing(files, today, config=config)
        rows = read_measurements(csv_source, loaded.workspace, today)
    finally:
        csv_source.close()
    by_id: dict[str, Kpi] = {}  # workspace.kpi's answer, without a scan per row
    for k in loaded.workspace.kpis:
        by_id.setdefault(k.id, k)
    kpis = [k for k in (by_id.get(m.kpi) for m in rows) if k is not None]
    target = measurement_target(loaded, kpis, to)
    written = append_to_workspace(
        loaded, target, lambda ws: _fresh(rows, ws)[0], dry_run=dry_run, timeout=timeout
    )
    hint = None if dry_run or not written.added else not_read_note(files, loaded.config, target)
    return ImportOutcome(
        csv_source.name,
        target,
        len(rows),
        written.added,
        len(rows) - len(written.added),
        written.warnings,
        hint,
        dry_run,
    )


def _stdin() -> BinaryIO:
    import sys

    return sys.stdin.buffer
