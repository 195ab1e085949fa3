"""A KPI's `source`: where `kpitrack collect` gets its value, one module per kind.

`base.py` holds the protocol (parse → check → run) and the registry; `sql.py`,
`csv.py` and `command.py` are the kinds; `credentials.py` the credential check
(KT052) that every KPI gets. Loading stays pure (`parse_source`); `source_problems`
needs the local config and the disk (`check`, `collect`); `run_source` gets a value
(`collect`).

Nothing is imported with the package itself: each name below loads its module when
first asked for, and the kinds (with sqlite3, csv and subprocess) load when a source
is first parsed, checked or run, so a workspace without sources never imports them
(docs/PERFORMANCE.md "What makes start-up fast").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpitrack.reading.sources.base import (
        KINDS,
        Connections,
        Params,
        SourceContext,
        SourceError,
        SourceKind,
        kpi_source_problems,
        params_for,
        parse_source,
        run_source,
        source_problems,
        to_value,
    )
    from kpitrack.reading.sources.credentials import credential_problems

__all__ = [
    "KINDS",
    "Connections",
    "Params",
    "SourceContext",
    "SourceError",
    "SourceKind",
    "credential_problems",
    "kpi_source_problems",
    "params_for",
    "parse_source",
    "run_source",
    "source_problems",
    "to_value",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name == "credential_problems":
        from kpitrack.reading.sources import credentials

        value: Any = credentials.credential_problems
    else:
        from kpitrack.reading.sources import base

        value = base.registered() if name == "KINDS" else getattr(base, name)
    globals()[name] = value
    return value
