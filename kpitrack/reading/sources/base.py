"""The source-kind protocol (parse → check → run), its registry, and what every kind shares.

A KPI's `source` names exactly one kind by its key (`sql:`, `csv:`, `command:`).
Each kind is one module of this package holding one `SourceKind`:

- `parse` reads the kind's own keys from the KPI file (pure; problems located);
- `check` reports what needs the local config or the disk (`check` and `collect`);
- `run` gets the raw value for one period (`collect`), raising `SourceError`.

The keys every kind accepts (`timeout`, `scale_map`), the exactly-one-kind rule and
turning raw output into a value live here; the credential check (KT052), which every
KPI gets, lives in `credentials.py`, apart from the kinds. A new kind is one module
that calls `register`, its name in `BUILTIN_KINDS`, plus its tests; its rule codes go
into `rules.RULES` like every other code. The kinds are imported (with sqlite3, csv,
subprocess) when a source is first parsed, checked or run (`registered`), never for a
workspace without sources.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kpitrack.domain import codes
from kpitrack.domain.model import Config, Kind, Kpi, Location, Source, Value, in_range
from kpitrack.domain.periods import Period
from kpitrack.domain.problems import Problem
from kpitrack.domain.textsafe import visible
from kpitrack.domain.workspace import Workspace
from kpitrack.reading import rules
from kpitrack.reading.localconfig import LocalConfig
from kpitrack.reading.sources.credentials import credential_problems as credential_problems
from kpitrack.reading.yamlnodes import Map, Node, Scalar

MAX_TIMEOUT = 3600.0
COMMON_KEYS = {
    "timeout": "seconds the source may take (at most the local config's collect_timeout)",
    "scale_map": "qualitative KPIs: output → scale label",
}
# ASCII digits only: a full-width `１２` is refused here as `record` refuses it.
_NUMBER = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?", re.ASCII)


class SourceError(Exception):
    """A source that could not give a value; the message says why (no secrets in it)."""


@dataclass(frozen=True)
class Params:
    """What a source is asked for: [period_start, period_end) and the as-of date."""

    period: Period
    as_of: dt.date

    @property
    def period_start(self) -> dt.date:
        return self.period.start

    @property
    def period_end(self) -> dt.date:
        """The day after the period's last day: use `< :period_end`."""
        return self.period.end + dt.timedelta(days=1)


def params_for(period: Period, run_day: dt.date) -> Params:
    """:as_of is the period's last day, or the run day when that is earlier."""
    return Params(period, min(period.end, run_day))


class Closable(Protocol):
    def close(self) -> None: ...


class Connections:
    """Connections one run keeps open between its queries, each under the key of what
    opened it (collect: one per SQLite database, not one per KPI); `close` closes them
    all. A kind keeps only what the next query may use as it is (read-only, same
    limits), and drops a connection after any error."""

    def __init__(self) -> None:
        self._open: dict[Hashable, Closable] = {}

    def get(self, key: Hashable) -> Closable | None:
        return self._open.get(key)

    def keep(self, key: Hashable, connection: Closable) -> None:
        self._open[key] = connection

    def drop(self, key: Hashable) -> None:
        """Close the connection kept under `key` (if any) and forget it."""
        connection = self._open.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        while self._open:
            self.drop(next(iter(self._open)))


@dataclass(frozen=True)
class SourceContext:
    """What running or checking a source may use beyond the KPI file: the local config
    (databases, allow_commands, the timeout ceiling, allowed folders), the workspace
    root (kpitrack.toml's folder), the environment for `${NAME}`, and kpitrack.toml.
    With `connections`, the sources keep their connections open there for the run's
    next queries (the caller closes them); without, each query opens its own."""

    local: LocalConfig
    root: Path
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    config: Config = field(default_factory=Config)
    connections: Connections | None = field(default=None, repr=False, compare=False)

    def timeout(self, source: Source) -> float:
        """The local collect_timeout is the ceiling; kpitrack.toml and the KPI only lower it."""
        limits = [self.local.collect_timeout, self.config.collect_timeout, source.timeout]
        return min(t for t in limits if t is not None)


class SourceKind(Protocol):
    """One kind of source: its key in the KPI file, its own keys, parse → check → run."""

    @property
    def kind(self) -> str: ...

    @property
    def keys(self) -> Mapping[str, str]:
        """The keys this kind reads (its own key first) → a one-line description."""
        ...

    def parse(
        self, out: list[Problem], fields: Mapping[str, Node], node: Map, where: str
    ) -> tuple[Hashable, str] | None:
        """The kind's spec and its label (what a note names), or None after problems."""
        ...

    def check(self, kpi: Kpi, source: Source, ctx: SourceContext) -> list[Problem]:
        """Problems that need the local config or the disk."""
        ...

    def run(self, kpi: Kpi, source: Source, params: Params, ctx: SourceContext) -> object:
        """The source's raw output for `params`; SourceError when there is none."""
        ...


# The kinds kpitrack ships, one module each, in the order messages name them
# ("one of sql, csv or command").
BUILTIN_KINDS = ("sql", "csv", "command")
KINDS: dict[str, SourceKind] = {}


def register(kind: SourceKind) -> SourceKind:
    KINDS[kind.kind] = kind
    return kind


def registered() -> dict[str, SourceKind]:
    """`KINDS` with every shipped kind in it, in `BUILTIN_KINDS` order (any other kind
    registered after them): the kinds' modules are imported on the first call."""
    if tuple(KINDS)[: len(BUILTIN_KINDS)] != BUILTIN_KINDS:
        import importlib

        for name in BUILTIN_KINDS:
            importlib.import_module(f"kpitrack.reading.sources.{name}")
        ordered = {name: KINDS.pop(name) for name in BUILTIN_KINDS}
        others = dict(KINDS)
        KINDS.clear()
        KINDS.update(ordered)
        KINDS.update(others)
    return KINDS


def excerpt(text: str, limit: int = 24) -> str:
    """A short, escaped, quoted excerpt of text read from outside (a cell, a line)."""
    shown = text if len(text) <= limit else text[: limit - 3] + "..."
    return "'" + visible(shown, line=True).replace("'", "\\'") + "'"


# ---------------------------------------------------------------- parse


def text_field(
    out: list[Problem], fields: Mapping[str, Node], node: Map, where: str, kind: str, key: str
) -> str | None:
    """A required non-empty text key of a kind (KT050 when missing or not text)."""
    value = fields.get(key)
    if value is None:
        described = registered()[kind].keys.get(key, "")
        rules.error(out, node, codes.KT050, f"{where}: a {kind} source needs '{key}' ({described})")
        return None
    if not isinstance(value, Scalar) or not value.text.strip():
        rules.error(
            out,
            value,
            codes.KT050,
            f"{where}: {key} must be non-empty text, got {rules.shape(value)}",
        )
        return None
    return value.text


def parse_source(
    out: list[Problem], node: Node, what: str, kind: Kind | None, scale: Sequence[str]
) -> Source | None:
    """The `source` mapping of a KPI; problems go to `out` (KT050-KT057).

    A URL with a password is reported by `credential_problems` (on the whole KPI).
    """
    before = len(out)
    where = f"{what}: source"
    known_kinds = registered()
    names = ", ".join(list(known_kinds)[:-1]) + " or " + list(known_kinds)[-1]
    if not isinstance(node, Map):
        rules.error(
            out,
            node,
            codes.KT050,
            f"{where} must be a mapping with one of {names}, got {rules.shape(node)}",
        )
        return None
    known = {key: text for k in known_kinds.values() for key, text in k.keys.items()} | COMMON_KEYS
    fields: dict[str, Node] = {}
    for key, value in node.items:
        if key.text not in known:
            rules.unknown_key(out, key, where, known)
        elif key.text not in fields:
            fields[key.text] = value
    kinds = [k for k in known_kinds if k in fields]
    if len(kinds) != 1:
        found = " and ".join(kinds) if kinds else "none"
        rules.error(out, node, codes.KT050, f"{where} needs exactly one of {names}, found {found}")
        return None
    source_kind = known_kinds[kinds[0]]
    for name, value in fields.items():
        if name not in source_kind.keys and name not in COMMON_KEYS:
            rules.error(
                out, value, codes.KT050, f"{where}: '{name}' does not apply to a {kinds[0]} source"
            )
    parsed = source_kind.parse(out, fields, node, where)
    timeout = _timeout(out, fields.get("timeout"), where)
    scale_map = _scale_map(out, fields.get("scale_map"), node, where, kind, scale)
    if parsed is None or any(p.is_error for p in out[before:]):
        return None
    spec, label = parsed
    return Source(
        kind=source_kind.kind,
        spec=spec,
        label=label,
        timeout=timeout,
        scale_map=scale_map,
        loc=node.loc,
        locs=tuple((key, value.loc) for key, value in fields.items()),
    )


def _timeout(out: list[Problem], node: Node | None, where: str) -> float | None:
    if node is None:
        return None
    scratch: list[Problem] = []
    seconds = rules.number(scratch, node, f"{where}: timeout")
    if seconds is None or not 0 < seconds <= MAX_TIMEOUT:
        rules.error(
            out,
            node,
            codes.KT057,
            f"{where}: timeout must be a number of seconds above 0 and at most "
            f"{MAX_TIMEOUT:g}, got {rules.shape(node)}",
        )
        return None
    return seconds


def _scale_map(
    out: list[Problem],
    node: Node | None,
    source: Map,
    where: str,
    kind: Kind | None,
    scale: Sequence[str],
) -> tuple[tuple[str, str], ...]:
    if kind is not Kind.QUALITATIVE:
        if node is not None:
            rules.error(
                out, node, codes.KT056, f"{where}: scale_map applies only to qualitative KPIs"
            )
        return ()
    labels = ", ".join(scale)
    if node is None:
        rules.error(
            out,
            source,
            codes.KT056,
            f"{where}: a qualitative KPI's source needs a scale_map from the source's "
            f"output to a label of the scale ({labels})",
        )
        return ()
    if not isinstance(node, Map) or not node.items:
        rules.error(out, node, codes.KT056, f"{where}: scale_map must be a mapping output: label")
        return ()
    pairs: list[tuple[str, str]] = []
    for key, value in node.items:
        if not isinstance(value, Scalar) or value.text not in scale:
            rules.error(
                out,
                value,
                codes.KT056,
                f"{where}: scale_map maps '{key.text}' to {rules.shape(value)}, "
                f"which is not on the scale ({labels})",
            )
        else:
            pairs.append((key.text.strip(), value.text))
    return tuple(pairs)


# ---------------------------------------------------------------- check


def source_problems(workspace: Workspace, ctx: SourceContext) -> list[Problem]:
    """Problems of every KPI's source that need the local config or the disk."""
    return [p for kpi in workspace.kpis for p in kpi_source_problems(kpi, ctx)]


def kpi_source_problems(kpi: Kpi, ctx: SourceContext) -> list[Problem]:
    if kpi.source is None:
        return []
    return registered()[kpi.source.kind].check(kpi, kpi.source, ctx)


def kpi_folder(kpi: Kpi) -> Path:
    """The folder of the file that defines `kpi` (relative paths in its source start here)."""
    return Path(kpi.loc.path).parent


def at(source: Source, key: str) -> Location:
    return source.where(key)


# ---------------------------------------------------------------- run


def run_source(kpi: Kpi, params: Params, ctx: SourceContext) -> Value:
    """The value of `kpi`'s source for `params`; raises SourceError."""
    source = kpi.source
    if source is None:
        raise SourceError(f"KPI '{kpi.id}' has no source")
    raw = registered()[source.kind].run(kpi, source, params, ctx)
    return to_value(kpi, source, raw)


def to_value(kpi: Kpi, source: Source, raw: object) -> Value:
    """A source's output as a value of `kpi`: a finite number, or a scale label."""
    if raw is None:
        raise SourceError("the source gave no value (NULL or empty)")
    if isinstance(raw, bool):
        raise SourceError(f"the source gave a boolean ({raw}), not a number")
    if kpi.kind is Kind.QUALITATIVE:
        text = _text_of(raw)
        mapped = dict(source.scale_map).get(text)
        if mapped is not None:
            return mapped
        if text in kpi.scale:
            return text
        raise SourceError(
            f"the source gave {excerpt(text)}, which scale_map does not map to a label "
            f"({', '.join(kpi.scale)})"
        )
    if isinstance(raw, int | float | decimal.Decimal):
        number: float = float(raw) if not isinstance(raw, int) else raw
    else:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        text = text.strip()
        if len(text) > 64 or not _NUMBER.fullmatch(text):
            raise SourceError(f"the source gave {excerpt(text, 40)}, not a number")
        number = float(text) if any(c in text for c in ".eE") else int(text)
    try:
        finite = in_range(float(number)) and math.isfinite(float(number))
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        shown = repr(number) if len(repr(number)) <= 40 else repr(number)[:37] + "..."
        raise SourceError(f"the source gave {shown}, not a finite number of at most 1e15")
    if kpi.kind is Kind.PROGRESS and not rules.is_percent(number):
        raise SourceError(f"the source gave {number!r}, outside 0-100 (percent done)")
    return number


def _text_of(raw: object) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()
