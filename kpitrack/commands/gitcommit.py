"""`--commit` in the shell: decided before a write (outside a repository it is a usage
error, exit 2, and nothing is written), done after it (`git/committing.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpitrack.domain.model import Config
    from kpitrack.git.gitrepo import Repo


def commit_repository(flag: bool | None, config: Config, *, dry_run: bool = False) -> Repo | None:
    """The repository to commit to when `--commit` (or kpitrack.toml's `commit = true`)
    asks for one; None otherwise and in a dry run. Checked before anything is written."""
    wanted = flag if flag is not None else config.commit
    if not wanted or dry_run:
        return None
    from kpitrack.git.committing import repository_for_commit

    return repository_for_commit(Path.cwd())


def commit_after_write(
    repo: Repo | None, paths: Sequence[Path], message: str, *, author: str | None
) -> None:
    """Commit the files written (nothing when `repo` is None or nothing was written);
    prints the commit. A failing commit raises CommitError (exit 1), the write kept."""
    if repo is None or not paths:
        return
    from kpitrack.domain.textsafe import visible
    from kpitrack.git.committing import commit_written

    done = commit_written(repo, paths, message, author=author)
    print(visible(f"committed {done.sha[:7]} {done.message}", line=True))
