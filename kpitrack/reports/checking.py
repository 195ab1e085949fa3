"""`check`'s core: every problem of the workspace, with those of its sources.

Loading reports what the files say; the sources' checks need the local config and
the disk (an unknown database, a CSV path outside the workspace or without the
named column, command sources not allowed). One function gathers both, sorted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kpitrack.domain.model import Config
from kpitrack.domain.problems import Problem, sort_problems
from kpitrack.domain.records import Record
from kpitrack.domain.workspace import Workspace

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

if TYPE_CHECKING:
    from kpitrack.reading.sources import SourceContext


@record(frozen=True)
class CheckOutcome(Record):
    """What `check` found: the workspace, every problem (sorted) and how many files."""

    workspace: Workspace
    problems: list[Problem]
    file_count: int

    def __init__(self, workspace: Workspace, problems: list[Problem], file_count: int) -> None:
        _setattr(self, "workspace", workspace)
        _setattr(self, "problems", problems)
        _setattr(self, "file_count", file_count)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.is_error)

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors


def check_workspace(
    files: Sequence[Path],
    config: Config,
    context: Callable[[], SourceContext],
    *,
    as_of: dt.date,
    cwd: Path,
    rev: str | None = None,
) -> CheckOutcome:
    """Load the workspace (at git revision `rev` when given) and check it whole.
    `context` gives the sources' context (the local config): asked for, and the source
    kinds imported, only when some KPI has a source."""
    if rev is not None:
        from kpitrack.git.revisions import load_at

        workspace, problems, file_count = load_at(rev, list(files), config, as_of)
    else:
        from kpitrack.reading.loading import load_workspace, resolve_paths

        paths = resolve_paths(list(files), config, cwd)
        workspace, problems = load_workspace(paths, config=config, as_of=as_of)
        file_count = len(paths)
    if any(k.source is not None for k in workspace.kpis):
        from kpitrack.reading.sources import source_problems

        problems = sort_problems([*problems, *source_problems(workspace, context())])
    return CheckOutcome(workspace, problems, file_count)
