"""`check`'s core: every problem of the workspace, with those of its sources.

Loading reports what the files say; the sources' checks need the local config and
the disk (an unknown database, a CSV path outside the workspace or without the
named column, command sources not allowed). One function gathers both, sorted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kpitrack.domain.model import Config
from kpitrack.domain.problems import Problem, sort_problems
from kpitrack.domain.workspace import Workspace

if TYPE_CHECKING:
    from kpitrack.reading.sources import SourceContext


@dataclass(frozen=True)
class CheckOutcome:
    workspace: Workspace
    problems: list[Problem]
    file_count: int

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
