"""A KPI's `source`: where `kpitrack collect` gets its value, one module per kind.

`base.py` holds the protocol (parse → check → run) and the registry; `sql.py`,
`csv.py` and `command.py` are the kinds. Loading stays pure (`parse_source`);
`source_problems` needs the local config and the disk (`check`, `collect`);
`run_source` gets a value (`collect`).
"""

from __future__ import annotations

import importlib

from kpitrack.reading.sources.base import (
    KINDS,
    Params,
    SourceContext,
    SourceError,
    SourceKind,
    credential_problems,
    kpi_source_problems,
    params_for,
    parse_source,
    run_source,
    source_problems,
    to_value,
)

# Each kind registers itself; messages name them in this order ("one of sql, csv or command").
for _kind in ("sql", "csv", "command"):
    importlib.import_module(f"kpitrack.reading.sources.{_kind}")

__all__ = [
    "KINDS",
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
