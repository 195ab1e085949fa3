"""Texts → model, collecting every Problem: the entry point of the read path.

`load_workspace` reads the files (found by `paths.resolve_paths`), `load_texts`
does the rest without touching the disk (the writers use it to re-validate a new
file text before replacing a file). Each file goes through the fast reader
(`yamlnodes.scan_rows` / `parse_rows`: record-style measurement lines without
nodes) and falls back to the full event reader; `builder` turns the entries into
the model; `rules.check_workspace` adds the rules over the whole workspace.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kpitrack import reading
from kpitrack.domain.model import Config, Event, Kind, Kpi, Objective
from kpitrack.domain.problems import (
    MAX_PROBLEMS_PER_FILE,
    InvalidWorkspaceError,
    Problem,
    ProblemList,
    cap_problems,
)
from kpitrack.domain.series import Measurements
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import rules
from kpitrack.reading.builder import SECTIONS, _Builder, _RowFile
from kpitrack.reading.paths import (
    DEFAULT_FILES,
    decode_source,
    read_files,
    read_raw,
    resolve_paths,
)
from kpitrack.reading.yamlnodes import (
    Map,
    Node,
    Rows,
    Scalar,
    Seq,
    YamlFatal,
    decode,
    parse,
    parse_rows,
    scan_rows,
)

if TYPE_CHECKING:
    from kpitrack.reading.rowcache import CachedWorkspace, RowCache

__all__ = [
    "DEFAULT_FILES",
    "FileDefinitions",
    "ParseMemo",
    "build_measurements",
    "combine_definitions",
    "file_definitions",
    "load_texts",
    "load_valid_workspace",
    "load_workspace",
    "may_define",
    "parse_file",
    "read_files",
    "resolve_paths",
]


def load_workspace(
    paths: Sequence[Path], *, config: Config, as_of: dt.date, warnings: bool = True
) -> tuple[Workspace, list[Problem]]:
    """Read the files and load them; unreadable files become located problems. Large
    measurement files' rows come from the row cache when the shell set its folder
    (kpitrack.reading.row_cache_folder) and one of them is large and starts as a file of
    measurements alone. Without `warnings`, the workspace rules (which give warnings
    only) run only when there is an error."""
    folder = reading.row_cache_folder
    if folder is None:
        return _load(read_files(paths), config=config, as_of=as_of, warnings=warnings)
    raw, hashing = _read_hashing(paths)
    if not any(
        type(data) is bytes
        and len(data) >= reading.ROW_CACHE_MIN_CHARS
        and _starts_with_measurements_key(data)
        for _, data in raw
    ):
        if hashing is not None:
            hashing.digests()  # nothing to name: the thread's work is let go
        sources: list[tuple[str, str | Problem]] = []
        for index, (display, data) in enumerate(raw):
            raw[index] = (display, b"")  # no file held twice, as bytes and as text
            sources.append((display, decode_source(display, data)))
        return _load(sources, config=config, as_of=as_of, warnings=warnings)
    from kpitrack.reading.rowcache import RowCache

    cache = RowCache(Path(folder))
    try:
        digests = hashing.digests() if hashing is not None else None
        return _load_cached(
            raw, cache, config=config, as_of=as_of, warnings=warnings, digests=digests
        )
    finally:
        cache.evict()


# From this many bytes read, the files' content names are hashed in a thread as they are
# read (below, a thread costs more than it saves; the names are hashed only if the cache
# is opened).
HASH_THREAD_BYTES = 1 << 20


class _Hashing:
    """The content names (`rowcache.content_digest`) of files' bytes, hashed in a thread
    while the next files are read: hashlib lets go of the GIL while it hashes a large
    buffer, and reading waits in the kernel, so both go on at once."""

    def __init__(self) -> None:
        import threading
        from queue import SimpleQueue

        from kpitrack.reading.rowcache import content_prefix

        self._prefix = content_prefix()
        self._digests: list[str | None] = []
        self._queue: SimpleQueue[tuple[int, bytes] | None] = SimpleQueue()
        # A daemon: an interrupted command does not wait for it.
        self._thread = threading.Thread(target=self._run, name="kpitrack-hash", daemon=True)
        self._thread.start()

    def add(self, index: int, data: bytes | Problem) -> None:
        self._digests.append(None)
        if type(data) is bytes:
            self._queue.put((index, data))

    def _run(self) -> None:
        from kpitrack.reading.rowcache import content_digest

        digests, prefix, get = self._digests, self._prefix, self._queue.get
        while (item := get()) is not None:
            index, data = item
            digests[index] = content_digest(prefix, data)

    def digests(self) -> list[str | None]:
        """Every file's content name (None: not read), once the thread is done."""
        self._queue.put(None)
        self._thread.join()
        return self._digests


def _read_hashing(
    paths: Sequence[Path],
) -> tuple[list[tuple[str, bytes | Problem]], _Hashing | None]:
    """The files' bytes (`paths.read_raw`), and when they are large, their content names
    being hashed meanwhile (see `_Hashing`)."""
    raw: list[tuple[str, bytes | Problem]] = []
    hashing: _Hashing | None = None
    total = 0
    for index, (display, data) in enumerate(read_raw(paths)):
        raw.append((display, data))
        if hashing is not None:
            hashing.add(index, data)
            continue
        if type(data) is bytes:
            total += len(data)
            if total >= HASH_THREAD_BYTES:
                hashing = _Hashing()
                for before, (_, earlier) in enumerate(raw):
                    hashing.add(before, earlier)
    return raw, hashing


_BOM = b"\xef\xbb\xbf"


def _starts_with_measurements_key(data: bytes) -> bool:
    """`yamlnodes.starts_with_measurements_key` of the text these bytes decode to (the
    characters it looks at are ASCII, one byte each in UTF-8), without decoding them."""
    position = len(_BOM) if data.startswith(_BOM) else 0
    while (end := data.find(b"\n", position)) >= 0:
        line = data[position:end].lstrip(b" ")
        if line and line != b"\r" and not line.startswith(b"#"):
            return line.startswith(b"measurements:")
        position = end + 1
    return False


class _Warm:
    """What a load with the row cache knows before it parses: each file's content name
    and cache file, the whole load's cached measurements when there are any, and the
    bytes of the files those cover (decoded only if they are not used after all)."""

    __slots__ = ("cache", "digests", "names", "undecoded", "whole")

    def __init__(
        self,
        cache: RowCache,
        digests: list[str | None],
        names: list[Path | None],
        whole: CachedWorkspace | None,
        undecoded: dict[int, bytes],
    ) -> None:
        self.cache, self.digests, self.names = cache, digests, names
        self.whole, self.undecoded = whole, undecoded


def _model_fits(whole: CachedWorkspace) -> bool:
    """Whether the definitions a load's entry holds define every KPI its measurements
    were checked against, as they were (always, for an entry this cache wrote)."""
    assert whole.model is not None
    kpis = {kpi.id: kpi for kpi in whole.model[1]}
    for kpi_id, kind, scale in whole.kpis:
        kpi = kpis.get(kpi_id)
        if kpi is None or kpi.kind is not kind or (kind is Kind.QUALITATIVE and kpi.scale != scale):
            return False
    return True


def _load_cached(
    raw: list[tuple[str, bytes | Problem]],
    cache: RowCache,
    *,
    config: Config,
    as_of: dt.date,
    warnings: bool = True,
    digests: list[str | None] | None = None,
) -> tuple[Workspace, list[Problem]]:
    """Load (display path, bytes) pairs with the row cache (`raw` is this load's own list:
    emptied as it goes). The content names come from the bytes as read (`digests`, when
    hashed already); a file whose measurements the whole load's cache entry holds is not
    decoded unless that entry cannot be used."""
    contents = [data if type(data) is bytes else None for _, data in raw]
    hashes, names = cache.names(contents, digests)
    del contents
    files = tuple(display for display, _ in raw)
    whole_name = cache.workspace_name(files, hashes)
    whole = cache.get_workspace(whole_name, files) if whole_name is not None else None
    if whole is not None and whole.model is not None:
        if all(type(data) is bytes for _, data in raw) and _model_fits(whole):
            # The load's definitions too: no file is decoded or parsed.
            raw.clear()
            sources: list[tuple[str, str | Problem]] = [(display, "") for display in files]
            warm = _Warm(cache, hashes, names, whole, {})
            return _load(sources, config=config, as_of=as_of, warm=warm, warnings=warnings)
        whole.model = None
    covered = set(whole.covered) if whole is not None else set()
    undecoded: dict[int, bytes] = {}
    sources = []
    for index, (display, data) in enumerate(raw):
        raw[index] = (display, b"")  # no file held twice, as bytes and as text
        if index in covered and type(data) is bytes:
            undecoded[index] = data
            sources.append((display, ""))
        else:
            sources.append((display, decode_source(display, data)))
    warm = _Warm(cache, hashes, names, whole, undecoded)
    return _load(sources, config=config, as_of=as_of, warm=warm, warnings=warnings)


def load_texts(
    sources: Sequence[tuple[str, str | Problem]],
    *,
    config: Config,
    as_of: dt.date,
    memo: ParseMemo | None = None,
) -> tuple[Workspace, list[Problem]]:
    """Load (display path, text) pairs: no disk I/O. A Problem in place of a text
    stands for a file that could not be read (see read_files).

    The writers load the workspace again with only the target file's text changed:
    with a `memo` (an empty dict at first, then the same one for each load), a file
    whose exact text the previous load parsed is not parsed again; the memo then
    holds this load's parses."""
    parses: ParseMemo | None = None if memo is None else {}
    try:
        return _load(list(sources), config=config, as_of=as_of, memo=memo, parses=parses)
    finally:
        if memo is not None and parses is not None:
            memo.clear()
            memo.update(parses)


def load_valid_workspace(paths: Sequence[Path], *, config: Config, as_of: dt.date) -> Workspace:
    """Load, or raise InvalidWorkspaceError with check's problems when there is any error.

    The rules over the whole workspace (rules.check_workspace) give warnings only, which
    a valid load discards: they run only when there is an error to report beside them."""
    workspace, problems = load_workspace(paths, config=config, as_of=as_of, warnings=False)
    if any(p.is_error for p in problems):
        raise InvalidWorkspaceError(problems)
    return workspace


# ---------------------------------------------------------------- building the model


# A file's parse: the fast reader's (root, rows), or the full reader's (root, problems),
# or the fatal problem that stopped it.
_Parsed = tuple[Node | None, Rows] | tuple[Node | None, list[Problem], None] | Problem
# A load's parses by (display path, text), for the next load of the same files.
ParseMemo = dict[tuple[str, str], _Parsed]
Parsed = _Parsed


def _load(
    sources: list[tuple[str, str | Problem]],
    *,
    config: Config,
    as_of: dt.date,
    memo: ParseMemo | None = None,
    parses: ParseMemo | None = None,
    warm: _Warm | None = None,
    warnings: bool = True,
) -> tuple[Workspace, list[Problem]]:
    # Nodes and model objects are acyclic: with a million of them alive, the cyclic
    # collector's full passes would cost more than the loading itself.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_all(
            sources,
            config=config,
            as_of=as_of,
            memo=memo,
            parses=parses,
            warm=warm,
            warnings=warnings,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


# Below this size a file goes straight to libyaml's events: as quick for a few entries,
# and a command on a small workspace does not pay for compiling the scanner's pattern.
SCAN_MIN_CHARS = 2048


def parse_file(display: str, text: str, texts: dict[str, str] | None = None) -> _Parsed:
    """One file's parse as a load makes it: the fast readers' rows, else nodes.
    `texts`: the load's shared strings (one per distinct id, date, note)."""
    texts = {} if texts is None else texts
    fast = (scan_rows(text, display, texts) if len(text) >= SCAN_MIN_CHARS else None) or (
        parse_rows(text, display, texts)
    )
    if fast is not None:
        return fast
    try:
        root, found = parse(text, display)
    except YamlFatal as exc:
        return exc.problem
    return root, found, None


def _load_all(
    sources: list[tuple[str, str | Problem]],
    *,
    config: Config,
    as_of: dt.date,
    memo: ParseMemo | None = None,
    parses: ParseMemo | None = None,
    warm: _Warm | None = None,
    warnings: bool = True,
) -> tuple[Workspace, list[Problem]]:
    out: list[Problem] = ProblemList()
    files = tuple(display for display, _ in sources)
    if warm is not None and warm.whole is not None and warm.whole.model is not None:
        # The row cache's entry for these exact files holds the whole load's model.
        cached_objectives, cached_kpis, cached_events = warm.whole.model
        scales = {kpi.id: kpi.scale for kpi in cached_kpis}
        workspace = Workspace(
            objectives=cached_objectives,
            kpis=cached_kpis,
            measurements=warm.whole.build(files, scales),
            files=files,
            events=cached_events,
        )
        if warnings:  # the load had no problem: the rules' warnings, if any, are all
            out.extend(rules.check_workspace(workspace, config=config, as_of=as_of))
        return workspace, cap_problems(out)
    sections: dict[str, list[Map]] = {name: [] for name in SECTIONS}
    # Per file in reading order, its measurement entries: nodes, or rows (fast reader).
    measured: list[list[Map] | _RowFile] = []
    complete = True  # every file was read; otherwise unknown references may be defined there
    texts: dict[str, str] = {}  # one string per distinct KPI id, date, note, author
    # With the row cache: each large file's cache file, and the cached measurements of
    # the whole load when these files were loaded before (see `_measurements`).
    cache = warm.cache if warm is not None else None
    names: list[Path | None] = warm.names if warm is not None else [None] * len(sources)
    whole = warm.whole if warm is not None else None
    covered = set(whole.covered) if whole is not None else set()
    measured_at: list[int] = []  # each measured file's position in `files`
    for index, (display, text) in enumerate(sources):
        # The list is this load's own: a text no longer needed is let go as soon as
        # possible (a row file keeps its own until its rows are checked).
        sources[index] = (display, "")
        if isinstance(text, Problem):
            out.append(text)
            complete = False
            continue
        # A file whose checked columns are cached is rows alone: nothing to parse for now
        # (a rows-only root adds no section entry and no problem).
        cache_name = names[index]
        if index in covered:  # read from the cache only if the whole load's are not used
            measured.append(_RowFile(display, text, Rows(), cache_name, pending=True))
            measured_at.append(index)
            continue
        if cache_name is not None and cache is not None:
            checked = cache.get(cache_name, texts)
            if checked is not None:
                measured.append(_RowFile(display, text, Rows(), cache_name, checked))
                measured_at.append(index)
                continue
        parsed = memo.get((display, text)) if memo is not None else None
        if parsed is None:
            parsed = parse_file(display, text, texts)
        if parses is not None:
            parses[display, text] = parsed
        if isinstance(parsed, Problem):
            out.append(parsed)
            complete = False
            continue
        if len(parsed) == 2:
            root, rows = parsed
            if rows:
                alone = _rows_alone(root)
                row_file = _RowFile(display, text, rows, cache_name if alone else None)
                row_file.alone = alone
                measured.append(row_file)
                measured_at.append(index)
            _collect(root, sections, out)
            continue
        root, found, _ = parsed
        out.extend(found)
        before = len(sections["measurements"])
        _collect(root, sections, out)
        if len(sections["measurements"]) > before:
            measured.append(sections["measurements"][before:])
            measured_at.append(index)
    builder = _Builder(out, complete)
    objectives = builder.objectives(sections["objectives"])
    kpis = builder.kpis(sections["kpis"])
    builder.links(objectives, kpis)
    events = builder.events(sections["events"])
    model = (tuple(objectives), tuple(kpis), tuple(events))
    measurements = _measurements(builder, measured, measured_at, files, warm, model)
    workspace = Workspace(
        objectives=tuple(objectives),
        kpis=tuple(kpis),
        measurements=measurements,
        files=files,
        events=tuple(events),
    )
    if warnings or any(p.is_error for p in out):
        out.extend(rules.check_workspace(workspace, config=config, as_of=as_of))
    return workspace, cap_problems(out)


def _measurements(
    builder: _Builder,
    measured: list[list[Map] | _RowFile],
    measured_at: list[int],
    files: tuple[str, ...],
    warm: _Warm | None,
    model: tuple[tuple[Objective, ...], tuple[Kpi, ...], tuple[Event, ...]],
) -> Measurements:
    """The load's measurements. With the row cache, the whole load's measurements come
    from one cache file when they came from exactly the files it covers (the entry is
    named by every file's path and content) and every KPI in it has the definition it
    was checked against; else the files' own cached columns or rows are checked
    (builder), and when every measured file is a file of measurements alone whose rows
    all passed, the whole load's measurements are cached for the next load of these
    files (and the load's objectives, KPIs and events with them when nothing in the load
    had a problem: the next load of the same files parses none of them)."""
    if warm is None:
        return builder.measurements(measured, files)
    cache, whole = warm.cache, warm.whole
    if whole is not None:
        if (
            len(measured) == len(whole.covered)
            and all(type(f) is _RowFile and f.pending for f in measured)
            and builder.fits(whole.kpis)
        ):
            scales = {kpi_id: builder.kpis_by_id[kpi_id].scale for kpi_id, _, _ in whole.kpis}
            warm.undecoded.clear()
            return whole.build(files, scales)
        cache.whole_stale += 1
        # The covered files after all: their bytes are those of the load that cached them
        # (the same content names), which decoded then, so they decode now.
        for source, index in zip(measured, measured_at, strict=True):
            data = warm.undecoded.pop(index, None)
            if data is not None and type(source) is _RowFile:
                source.text = decode(data, source.path)
    measurements = builder.measurements(measured, files, cache)
    if measured and builder.all_checked and all(type(f) is _RowFile and f.alone for f in measured):
        whole_name = cache.workspace_name(files, warm.digests)
        if whole_name is not None:
            kpis = builder.kpis_by_id
            definitions = {
                s.kpi: (kpis[s.kpi].kind, kpis[s.kpi].scale) for s in measurements.all_series()
            }
            encoded = b""
            if not builder.out and builder.complete:
                from kpitrack.reading.rowcache import encode_model

                encoded = encode_model(*model)
            cache.put_workspace(whole_name, measured_at, measurements, definitions, encoded)
    return measurements


def _rows_alone(root: Node | None) -> bool:
    """Whether a rows parse's root is a `measurements` list alone (its rows are all)."""
    if type(root) is not Map or len(root.items) != 1:
        return False
    key, seq = root.items[0]
    return type(key) is Scalar and key.text == "measurements" and type(seq) is Seq and not seq.items


_ENTRY_NAMES = {
    "objectives": "objective",
    "kpis": "KPI",
    "measurements": "measurement",
    "events": "event",
}


def _collect(root: Node | None, sections: dict[str, list[Map]], out: list[Problem]) -> None:
    """The file's top level: a mapping of sections, each a list of mappings."""
    if root is None or (type(root) is Scalar and rules.is_empty(root)):
        return
    if type(root) is not Map:
        rules.top_level_not_mapping(out, root)
        return
    unknown = 0
    for key, value in root.items:
        name = key.text
        entries = sections.get(name)
        if entries is None:
            unknown += 1
            if unknown > MAX_PROBLEMS_PER_FILE + 1 and isinstance(out, ProblemList):
                out.omit(key.path, 1)  # beyond what can be shown: counted only
                continue
            rules.unknown_section(out, key)
            continue
        if type(value) is not Seq:
            if not rules.is_empty(value):
                rules.wrong_shape(out, value, f"'{name}' must be a list (- ...)")
            continue
        entry = _ENTRY_NAMES[name]
        for item in value.items:
            if type(item) is Map:
                entries.append(item)
            else:
                rules.wrong_shape(out, item, f"each {entry} must be a mapping (key: value)")


# ---------------------------------------------------------------- definitions alone (git history)


# A line's end as the reader counts lines (entry_text cuts entries at them).
LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class FileDefinitions:
    """What one file defines, built as `load_texts` builds it but alone: per entry, its id
    (None when the id is not a valid slug) and the model object (None when the entry has
    an error of its own). The checks that need the other files (duplicate ids, unknown
    objectives) are `combine_definitions`' job. `fatal`: the file does not parse (None:
    not known, the file was not parsed since it defines nothing)."""

    objectives: tuple[tuple[str | None, Objective | None], ...] = ()
    kpis: tuple[tuple[str | None, Kpi | None], ...] = ()
    fatal: bool | None = False


# A file that holds neither section cannot define an objective or a KPI. Without a
# backslash no double-quoted escape can spell the key either, so such a file need not
# be parsed to know it defines nothing (the history of a measurement file is not read).
def may_define(text: str) -> bool:
    """False when the text certainly defines no objective and no KPI."""
    return "\\" in text or "kpis" in text or "objectives" in text


NOTHING = FileDefinitions(fatal=None)


# A KPI entry built before, by (file, line, column, the entry's exact text): the same
# text at the same place builds the same KPI, so a file where one KPI changed rebuilds
# only that one (git history reads many versions of one file).
EntryMemo = dict[tuple[str, int, int, str], tuple[str | None, Kpi | None]]


def entry_text(entry: Map, text: str, starts: list[int]) -> str:
    """The whole lines the entry spans (whole lines: however columns are counted, every
    character of the entry is in them)."""
    end = starts[entry.end_line] if entry.end_line < len(starts) else len(text)
    return text[starts[entry.line - 1] : end]


def file_definitions(
    display: str, text: str, parsed: _Parsed | None = None, memo: EntryMemo | None = None
) -> FileDefinitions:
    """The objectives and KPIs of one file, without the workspace rules (`parsed`: the
    file's parse when the caller has it; `memo`: KPI entries built before). A file that
    cannot define anything gives NOTHING, unparsed."""
    if not may_define(text):
        return NOTHING
    if parsed is None:
        parsed = parse_file(display, text, {})
    if isinstance(parsed, Problem):
        return FileDefinitions(fatal=True)
    sections: dict[str, list[Map]] = {name: [] for name in SECTIONS}
    out: list[Problem] = ProblemList()
    _collect(parsed[0], sections, out)
    builder = _Builder(out, complete=False)
    objectives: list[tuple[str | None, Objective | None]] = []
    for entry in sections["objectives"]:
        seen = len(builder.objective_ids)
        objective = builder._objective(entry)
        grew = len(builder.objective_ids) > seen
        objectives.append((next(reversed(builder.objective_ids)) if grew else None, objective))
    kpis: list[tuple[str | None, Kpi | None]] = []
    starts = [0, *(m.end() for m in LINE_END.finditer(text))] if memo is not None else []
    for entry in sections["kpis"]:
        key = (
            (display, entry.line, entry.column, entry_text(entry, text, starts))
            if memo is not None
            else None
        )
        known = memo.get(key) if memo is not None and key is not None else None
        if known is not None:
            kid, kpi = known
            if kid is not None and kid in builder.kpi_ids:  # a repeated id in this file
                kpis.append((None, None))
                continue
            if kid is not None:
                builder.kpi_ids[kid] = entry.loc
            kpis.append((kid, kpi))
            continue
        seen = len(builder.kpi_ids)
        kpi = builder._kpi(entry)
        grew = len(builder.kpi_ids) > seen
        kid = next(reversed(builder.kpi_ids)) if grew else None
        kpis.append((kid, kpi))
        if memo is not None and key is not None and grew:
            memo[key] = (kid, kpi)
    return FileDefinitions(tuple(objectives), tuple(kpis))


def combine_definitions(
    files: Sequence[FileDefinitions], complete: Callable[[], bool]
) -> tuple[tuple[Objective, ...], tuple[Kpi, ...]]:
    """The objectives and KPIs `load_texts` would give for these files in this order:
    a repeated id keeps its first definition; a KPI naming an unknown objective is left
    out when every file was read (`complete`, asked only then)."""
    objective_ids: set[str] = set()
    objectives: list[Objective] = []
    for f in files:
        for oid, objective in f.objectives:
            if oid is None or oid in objective_ids:
                continue
            objective_ids.add(oid)
            if objective is not None:
                objectives.append(objective)
    kpi_ids: set[str] = set()
    kpis: list[Kpi] = []
    known: bool | None = None
    for f in files:
        for kid, kpi in f.kpis:
            if kid is None or kid in kpi_ids:
                continue
            kpi_ids.add(kid)
            if kpi is None:
                continue
            if kpi.objective is not None and kpi.objective not in objective_ids:
                if known is None:
                    known = complete()
                if known:
                    continue
            kpis.append(kpi)
    return tuple(objectives), tuple(kpis)


def _rows_of(rows: Rows, kpi_id: str) -> Rows:
    out = Rows()
    for i, kpi in enumerate(rows.kpis):
        if kpi == kpi_id:
            out.lines.append(rows.lines[i])
            out.columns.append(rows.columns[i])
            out.kpis.append(kpi)
            out.dates.append(rows.dates[i])
            out.values.append(rows.values[i])
            out.plains.append(rows.plains[i])
            out.notes.append(rows.notes[i])
            out.bys.append(rows.bys[i])
    return out


def _names(entry: Map, kpi_id: str) -> bool:
    node = entry.get("kpi")
    return type(node) is Scalar and node.text == kpi_id


def build_measurements(
    parses: Sequence[tuple[str, str, _Parsed]], kpis: Sequence[Kpi], *, only: str | None = None
) -> Measurements:
    """The measurements of parsed files ((display, text, parse) in reading order) for
    these KPIs, as `load_texts` builds them, without the workspace rules. `only`: just
    that KPI's measurements (the others are not built)."""
    out: list[Problem] = ProblemList()
    sections: dict[str, list[Map]] = {name: [] for name in SECTIONS}
    measured: list[list[Map] | _RowFile] = []
    for display, text, parsed in parses:
        if isinstance(parsed, Problem):
            continue
        if len(parsed) == 2:
            root, rows = parsed
            if only is not None:
                rows = _rows_of(rows, only)
            if rows:
                measured.append(_RowFile(display, text, rows))
            _collect(root, sections, out)
            continue
        before = len(sections["measurements"])
        _collect(parsed[0], sections, out)
        entries = sections["measurements"][before:]
        if only is not None:
            entries = [e for e in entries if _names(e, only)]
        if entries:
            measured.append(entries)
    builder = _Builder(out, complete=False)
    for kpi in kpis:
        builder.kpis_by_id[kpi.id] = kpi
        builder.kpi_ids.setdefault(kpi.id, kpi.loc)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return builder.measurements(measured, tuple(display for display, _, _ in parses))
    finally:
        if gc_was_enabled:
            gc.enable()
