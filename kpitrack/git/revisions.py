"""The workspace as it was at a git revision (`--rev`), read with git, never checked out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kpitrack.domain.problems import InvalidWorkspaceError
from kpitrack.git.gitrepo import Repo, sources_at, workspace_paths

if TYPE_CHECKING:
    from kpitrack.domain.model import Config
    from kpitrack.domain.problems import Problem
    from kpitrack.domain.workspace import Workspace


def _paths(files: Sequence[Path], config: Config, cwd: Path) -> tuple[list[Path], bool]:
    root = Path(config.root) if config.root else None
    paths = workspace_paths(files, config.files, root, cwd)
    return paths, not files and not config.files


def sources_at_rev(
    rev: str, files: Sequence[Path], config: Config, *, option: str = "--rev"
) -> list[tuple[str, str | Problem]]:
    """(display path, text) of the workspace files at `rev`."""
    cwd = Path.cwd().resolve()
    paths, defaults = _paths(files, config, cwd)
    repo = Repo.of_paths(paths, cwd)
    commit = repo.resolve(rev, option)
    return sources_at(repo, commit, paths, defaults=defaults)


def load_at(
    rev: str, files: Sequence[Path], config: Config, as_of: dt.date
) -> tuple[Workspace, list[Problem], int]:
    """The workspace at `rev`, its problems, and how many files were read."""
    from kpitrack.reading.loading import load_texts

    sources = sources_at_rev(rev, files, config)
    workspace, problems = load_texts(sources, config=config, as_of=as_of)
    return workspace, problems, len(sources)


def load_valid_at(rev: str, files: Sequence[Path], config: Config, as_of: dt.date) -> Workspace:
    """As load_at, refusing a workspace with errors (exit 2, check's messages)."""
    workspace, problems, _ = load_at(rev, files, config, as_of)
    if any(p.is_error for p in problems):
        raise InvalidWorkspaceError(problems)
    return workspace
