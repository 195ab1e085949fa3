"""kpitrack: KPI definitions and measurements in YAML, checked and evaluated from the terminal.

The small public API (the loader is imported lazily, so `kpitrack --help` stays fast)::

    from kpitrack.evaluation import evaluate

    from kpitrack import load_valid_workspace
    workspace = load_valid_workspace([Path("kpis.yaml")], config=Config(), as_of=day)
    results = evaluate(workspace, as_of=day)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = [
    "Config",
    "KpiResult",
    "Workspace",
    "__version__",
    "evaluate",
    "load_valid_workspace",
    "load_workspace",
]

# Imported eagerly (it is light: no YAML, no Rich): the function shares its name
# with the submodule, and only an eager import keeps `kpitrack.evaluation.evaluate` the function.
from kpitrack.evaluation.evaluate import evaluate

if TYPE_CHECKING:
    from kpitrack.domain.model import Config, KpiResult
    from kpitrack.domain.workspace import Workspace
    from kpitrack.reading.loading import load_valid_workspace, load_workspace

_LAZY = {
    "load_workspace": "kpitrack.reading.loading",
    "load_valid_workspace": "kpitrack.reading.loading",
    "Config": "kpitrack.domain.model",
    "KpiResult": "kpitrack.domain.model",
    "Workspace": "kpitrack.domain.workspace",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kpitrack' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
