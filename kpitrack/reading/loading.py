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
from collections.abc import Sequence
from pathlib import Path

from kpitrack.domain.model import Config
from kpitrack.domain.problems import (
    MAX_PROBLEMS_PER_FILE,
    InvalidWorkspaceError,
    Problem,
    ProblemList,
    cap_problems,
)
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import rules
from kpitrack.reading.builder import SECTIONS, _Builder, _RowFile
from kpitrack.reading.paths import DEFAULT_FILES, read_files, resolve_paths
from kpitrack.reading.yamlnodes import (
    Map,
    Node,
    Rows,
    Scalar,
    Seq,
    YamlFatal,
    parse,
    parse_rows,
    scan_rows,
)

__all__ = [
    "DEFAULT_FILES",
    "ParseMemo",
    "load_texts",
    "load_valid_workspace",
    "load_workspace",
    "read_files",
    "resolve_paths",
]


def load_workspace(
    paths: Sequence[Path], *, config: Config, as_of: dt.date
) -> tuple[Workspace, list[Problem]]:
    """Read the files and load them; unreadable files become located problems."""
    return _load(read_files(paths), config=config, as_of=as_of)


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
    """Load, or raise InvalidWorkspaceError with check's problems when there is any error."""
    workspace, problems = load_workspace(paths, config=config, as_of=as_of)
    if any(p.is_error for p in problems):
        raise InvalidWorkspaceError(problems)
    return workspace


# ---------------------------------------------------------------- building the model


# A file's parse: the fast reader's (root, rows), or the full reader's (root, problems),
# or the fatal problem that stopped it.
_Parsed = tuple[Node | None, Rows] | tuple[Node | None, list[Problem], None] | Problem
# A load's parses by (display path, text), for the next load of the same files.
ParseMemo = dict[tuple[str, str], _Parsed]


def _load(
    sources: list[tuple[str, str | Problem]],
    *,
    config: Config,
    as_of: dt.date,
    memo: ParseMemo | None = None,
    parses: ParseMemo | None = None,
) -> tuple[Workspace, list[Problem]]:
    # Nodes and model objects are acyclic: with a million of them alive, the cyclic
    # collector's full passes would cost more than the loading itself.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_all(sources, config=config, as_of=as_of, memo=memo, parses=parses)
    finally:
        if gc_was_enabled:
            gc.enable()


def parse_file(display: str, text: str, texts: dict[str, str]) -> _Parsed:
    """One file's parse as a load makes it: the fast readers' rows, else nodes."""
    fast = scan_rows(text, display, texts) or parse_rows(text, display, texts)
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
) -> tuple[Workspace, list[Problem]]:
    out: list[Problem] = ProblemList()
    sections: dict[str, list[Map]] = {name: [] for name in SECTIONS}
    # Per file in reading order, its measurement entries: nodes, or rows (fast reader).
    measured: list[list[Map] | _RowFile] = []
    complete = True  # every file was read; otherwise unknown references may be defined there
    texts: dict[str, str] = {}  # one string per distinct KPI id, date, note, author
    files = tuple(display for display, _ in sources)
    for index, (display, text) in enumerate(sources):
        # The list is this load's own: a text no longer needed is let go as soon as
        # possible (a row file keeps its own until its rows are checked).
        sources[index] = (display, "")
        if isinstance(text, Problem):
            out.append(text)
            complete = False
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
                measured.append(_RowFile(display, text, rows))
            _collect(root, sections, out)
            continue
        root, found, _ = parsed
        out.extend(found)
        before = len(sections["measurements"])
        _collect(root, sections, out)
        if len(sections["measurements"]) > before:
            measured.append(sections["measurements"][before:])
    builder = _Builder(out, complete)
    objectives = builder.objectives(sections["objectives"])
    kpis = builder.kpis(sections["kpis"])
    measurements = builder.measurements(measured, files)
    workspace = Workspace(
        objectives=tuple(objectives),
        kpis=tuple(kpis),
        measurements=measurements,
        files=files,
    )
    out.extend(rules.check_workspace(workspace, config=config, as_of=as_of))
    return workspace, cap_problems(out)


_ENTRY_NAMES = {"objectives": "objective", "kpis": "KPI", "measurements": "measurement"}


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
