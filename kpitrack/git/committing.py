"""`--commit`: commit exactly the files a write changed (docs/writing.md, "Committing").

The command layer calls the write, then `commit_written`: the git layer sits above
the writing layer, so a write never knows about git. `git commit --only -- FILES`
commits those files as they are in the working tree and leaves everything else the
user has staged staged and uncommitted. A file git does not track yet is first
marked with `git add --intent-to-add` (undone when the commit fails). The author's
name is the recorder (`--by`) when one is known, the e-mail that of the git
identity; the committer is the git identity.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kpitrack.domain.model import Kpi, Measurement
from kpitrack.domain.problems import ExitCode, KpitrackError
from kpitrack.git.gitrepo import GitError, Repo, run_git


class CommitError(KpitrackError):
    """The files were written but the commit failed (a hook, no identity): exit 1."""

    exit_code = ExitCode.PROBLEMS


@dataclass(frozen=True)
class Committed:
    sha: str
    message: str  # its first line
    files: tuple[str, ...]  # repository paths


def repository_for_commit(cwd: Path) -> Repo:
    """The repository `--commit` will commit to; a usage error (exit 2) outside one,
    raised before anything is written."""
    try:
        return Repo.find(cwd)
    except GitError as exc:
        raise GitError(f"--commit: {exc}") from None


def commit_written(
    repo: Repo, paths: Sequence[Path], message: str, *, author: str | None = None
) -> Committed:
    """Commit exactly `paths` (as they are in the working tree) with `message`.

    Raises CommitError, leaving the files as written, when git refuses."""
    if not paths:
        raise CommitError("--commit: nothing was written, so nothing was committed")
    repo_paths: list[str] = []
    for path in paths:
        real = Path(os.path.realpath(path))
        try:
            repo_paths.append(repo.repo_path(real))
        except GitError:
            raise CommitError(
                f"--commit: {path} was written but is outside the git repository {repo.root}; "
                "not committed"
            ) from None
    names = list(dict.fromkeys(repo_paths))
    untracked = [
        p
        for p in names
        if run_git(["ls-files", "--error-unmatch", "--", p], repo.root, check=False).returncode
    ]
    if untracked:
        run_git(["add", "--intent-to-add", "--", *untracked], repo.root, check=False)
    args = ["commit", "--quiet", "--only", "--no-edit", "-m", message, "--", *names]
    env_author = {"GIT_AUTHOR_NAME": author} if author else {}
    proc = _run_with(args, repo.root, env_author)
    if proc[0] != 0:
        if untracked:
            run_git(["reset", "--quiet", "--", *untracked], repo.root, check=False)
        lines = [line for line in proc[1].splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"git exited with {proc[0]}"
        shown = ", ".join(names)
        raise CommitError(f"--commit: written but not committed ({shown}): git commit: {why}")
    head = run_git(["rev-parse", "--verify", "HEAD"], repo.root, check=False)
    sha = head.stdout.decode("ascii", "replace").strip()
    return Committed(sha, message.splitlines()[0], tuple(names))


def _run_with(args: Sequence[str], cwd: Path, extra: dict[str, str]) -> tuple[int, str]:
    """`git args` with extra environment; (exit code, stderr and stdout as text)."""
    import shutil
    import subprocess

    from kpitrack.git.gitrepo import _git_env

    exe = shutil.which("git")
    if exe is None:
        raise CommitError("--commit: git is not installed; written but not committed")
    env = _git_env()
    env.update(extra)
    proc = subprocess.run(
        [exe, "-c", "core.quotepath=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=False,
    )
    text = (proc.stdout + b"\n" + proc.stderr).decode("utf-8", "replace")
    return proc.returncode, text


# ---------------------------------------------------------------- messages


def value_words(kpi: Kpi, measurement: Measurement) -> str:
    """`mrr 181000 (2026-10)`: the KPI, the value as written, its reporting period."""
    from kpitrack.domain.periods import period_containing
    from kpitrack.writing.yamlappend import yaml_value

    value = measurement.value
    shown = value if isinstance(value, str) else yaml_value(value)
    return f"{kpi.id} {shown} ({period_containing(kpi.frequency, measurement.date).label})"


def values_message(verb: str, kpis: Sequence[Kpi], added: Sequence[Measurement]) -> str:
    """`kpitrack: record mrr 181000 (2026-10)` for one value; for several a count and
    one line per value in the body."""
    by_id = {k.id: k for k in kpis}
    words = [value_words(by_id[m.kpi], m) for m in added if m.kpi in by_id]
    if len(words) == 1:
        return f"kpitrack: {verb} {words[0]}"
    return f"kpitrack: {verb} {len(added)} values\n\n" + "\n".join(words)
