"""The git layer: run git safely, resolve revisions, list and read files at a revision.

Git is always run with an argument list (never a shell), with `--end-of-options`
before a revision and `--` before paths, so that no value given on the command
line can become a git option. Nothing here touches the working tree or the index.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kpitrack.domain.codes import KT002
from kpitrack.domain.problems import UsageError

if TYPE_CHECKING:
    from kpitrack.domain.problems import Problem

YAML_SUFFIXES = (".yaml", ".yml")
MAX_REV_LENGTH = 256


class GitError(UsageError):
    """Git is missing, the folder is not in a repository, or a revision is not one."""


class GitStopped(GitError):
    """A long-running `git cat-file` ended before it answered."""


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # ISO 8601 author date
    author: str

    @property
    def short(self) -> str:
        return self.sha[:7]


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_PAGER"] = "cat"
    env["LC_ALL"] = "C"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def run_git(
    args: Sequence[str], cwd: Path, *, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run `git args` in `cwd` (an argument list, never a shell); raise GitError on failure."""
    exe = shutil.which("git")
    if exe is None:
        raise GitError("git is not installed (needed for --rev, history and diff)")
    proc = subprocess.run(
        [exe, "-c", "core.quotepath=false", *args],
        cwd=cwd,
        env=_git_env(),
        capture_output=True,
        check=False,
    )
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else proc.returncode}")
    return proc


@dataclass(frozen=True)
class Repo:
    """The repository holding `cwd`: its top folder and `cwd`'s place in it."""

    root: Path
    cwd: Path

    @classmethod
    def find(cls, cwd: Path) -> Repo:
        proc = run_git(["rev-parse", "--show-toplevel"], cwd, check=False)
        if proc.returncode != 0:
            raise GitError(f"{cwd} is not inside a git repository")
        root = Path(proc.stdout.decode("utf-8").strip())
        return cls(root=root, cwd=cwd)

    def resolve(self, rev: str, option: str = "--rev") -> str:
        """The full commit id of `rev`; a usage error for anything that is not a commit."""
        if not rev or rev.startswith("-") or len(rev) > MAX_REV_LENGTH or "\x00" in rev:
            raise GitError(f"{option}: {rev!r} is not a git revision")
        if any(ch in rev for ch in "\n\r") or rev != rev.strip():
            raise GitError(f"{option}: {rev!r} is not a git revision")
        proc = run_git(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            self.cwd,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"{option}: {rev!r} is not a git revision in {self.root}")
        return proc.stdout.decode("ascii").strip()

    def repo_path(self, path: Path) -> str:
        """`path` (relative to cwd, or absolute) as a path relative to the repository root."""
        full = path if path.is_absolute() else self.cwd / path
        full = Path(os.path.normpath(full))
        try:
            rel = full.relative_to(self.root.resolve())
        except ValueError:
            try:
                rel = full.relative_to(self.root)
            except ValueError:
                raise GitError(f"{path} is outside the git repository {self.root}") from None
        text = PurePosixPath(*rel.parts).as_posix() if rel.parts else ""
        return text

    def display(self, repo_path: str) -> str:
        """A repository path as the loader shows it: relative to cwd."""
        return os.path.relpath(self.root / repo_path, self.cwd)

    def list_files(self, commit: str, repo_paths: Sequence[str]) -> list[str]:
        """Repository paths of the files under `repo_paths` at `commit` (all if empty)."""
        args = ["ls-tree", "-r", "-z", "--full-tree", "--name-only", "--end-of-options", commit]
        args += ["--", *[p for p in repo_paths if p]] if any(repo_paths) else []
        proc = run_git(args, self.root)
        return [p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p]

    def yaml_files(self, commit: str, repo_path: str) -> list[str]:
        """A file as itself, or a folder's *.yaml/*.yml files (sorted, no dot-files) at `commit`."""
        return select_yaml(self.list_files(commit, [repo_path]), repo_path)

    def tree(self, commit: str, repo_paths: Sequence[str]) -> dict[str, str]:
        """Blob id of every file under `repo_paths` at `commit` (all if empty): one process."""
        args = ["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit]
        args += ["--", *[p for p in repo_paths if p]] if all(repo_paths) else []
        out: dict[str, str] = {}
        for record in run_git(args, self.root).stdout.decode("utf-8", "replace").split("\0"):
            meta, tab, path = record.partition("\t")
            fields = meta.split()
            if tab and len(fields) == 3 and fields[1] == "blob":
                out[path] = fields[2]
        return out

    def yaml_blobs(self, commit: str, repo_paths: Sequence[str]) -> list[tuple[str, str]]:
        """(repository path, blob id) of the workspace files at `commit`, in the loader's
        order: each path as itself or its folder's YAML files (as `yaml_files`), no repeats."""
        tree = self.tree(commit, repo_paths)
        out: dict[str, str] = {}
        for repo_path in repo_paths:
            for f in select_yaml(tree, repo_path):
                out.setdefault(f, tree[f])
        return list(out.items())

    def exists(self, commit: str, repo_path: str) -> bool:
        return bool(self.list_files(commit, [repo_path]))

    def read_blob(self, commit: str, repo_path: str) -> bytes:
        """The bytes of `repo_path` at `commit` (`git show` of one blob)."""
        proc = run_git(["cat-file", "blob", f"{commit}:{repo_path}"], self.root, check=False)
        if proc.returncode != 0:
            raise GitError(f"cannot read {repo_path} at {commit[:7]}")
        return proc.stdout

    def commits(self, repo_paths: Sequence[str], *, until: str = "HEAD") -> list[Commit]:
        """Commits touching `repo_paths` on the first-parent line up to `until`, oldest first."""
        args = ["log", "--first-parent", "--reverse", "--format=%H%x00%aI%x00%an", "-z"]
        args += ["--end-of-options", until, "--", *[p or "." for p in repo_paths]]
        return _parse_commits(run_git(args, self.root).stdout)

    def follow(self, repo_path: str, *, until: str = "HEAD") -> list[tuple[Commit, str]]:
        """`git log --follow` of one file: (commit, the file's path in it), oldest first."""
        args = ["log", "--follow", "--name-only", "--format=%x01%H%x00%aI%x00%an", "-z"]
        args += ["--end-of-options", until, "--", repo_path]
        out: list[tuple[Commit, str]] = []
        for chunk in run_git(args, self.root).stdout.decode("utf-8", "replace").split("\x01"):
            if not chunk.strip("\0\n"):
                continue
            fields = [f for f in chunk.replace("\n", "\0").split("\0") if f]
            if len(fields) < 4:
                continue
            out.append((Commit(fields[0], fields[1], fields[2]), fields[3]))
        return list(reversed(out))

    def first_parent(self, until: str) -> dict[str, int]:
        """Position of each commit on the first-parent line up to `until`, oldest 0."""
        args = ["rev-list", "--first-parent", "--reverse", "--end-of-options", until, "--"]
        proc = run_git(args, self.root)
        return {sha: i for i, sha in enumerate(proc.stdout.decode("ascii").split())}

    def reachable(self, rev: str) -> set[str]:
        """Every commit reachable from `rev`."""
        proc = run_git(["rev-list", "--end-of-options", rev, "--"], self.root)
        return set(proc.stdout.decode("ascii").split())

    def head(self) -> str | None:
        proc = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], self.cwd, check=False)
        return proc.stdout.decode("ascii").strip() if proc.returncode == 0 else None

    def commit_info(self, commit: str) -> Commit:
        proc = run_git(
            ["log", "-1", "--format=%H%x00%aI%x00%an", "-z", "--end-of-options", commit], self.root
        )
        found = _parse_commits(proc.stdout)
        return found[0]


def select_yaml(files: Iterable[str], repo_path: str) -> list[str]:
    """`repo_path` itself if it is among `files`, else the YAML files below it (sorted, no
    dot-files), as the loader expands a folder."""
    files = list(files)
    if repo_path in files:
        return [repo_path]
    prefix = f"{repo_path}/" if repo_path else ""
    out = [
        f
        for f in files
        if f.startswith(prefix)
        and f.endswith(YAML_SUFFIXES)
        and not any(part.startswith(".") for part in f[len(prefix) :].split("/"))
    ]
    return sorted(out, key=lambda f: PurePosixPath(f).parts)


class _CatFile:
    """One long-running `git cat-file --batch` or `--batch-check` process."""

    def __init__(self, repo: Repo, mode: str) -> None:
        exe = shutil.which("git")
        if exe is None:
            raise GitError("git is not installed (needed for --rev, history and diff)")
        self.proc = subprocess.Popen(
            [exe, "cat-file", mode],
            cwd=repo.root,
            env=_git_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def ask(self, name: str) -> list[str]:
        """Send one object name; the header fields of the answer (`<id> <type> <size>`,
        or `<name> missing`)."""
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(name.encode("utf-8") + b"\n")
            stdin.flush()
        except BrokenPipeError:
            raise GitStopped("git cat-file stopped unexpectedly") from None
        line = stdout.readline()
        if not line:  # the process ended: no answer is not the same as `missing`
            raise GitStopped("git cat-file stopped unexpectedly")
        return line.decode("utf-8", "replace").split()

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a process that died: nothing to flush to
                    stream.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class BlobReader:
    """Reads many files at many commits through two long-running `git cat-file`
    processes: a history of N commits costs a handful of processes, not several per file
    per commit. Use as a context manager."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._check = _CatFile(repo, "--batch-check")
        try:
            self._batch = _CatFile(repo, "--batch")
        except BaseException:
            self._check.close()
            raise

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._check.close()
        self._batch.close()

    def yaml_blobs(self, commit: str, repo_paths: Sequence[str]) -> list[tuple[str, str]]:
        """As `Repo.yaml_blobs`, without a process per commit when every path is a file."""
        out: dict[str, str] = {}
        for repo_path in repo_paths:
            if not repo_path or any(c in repo_path for c in "\n\r"):
                found = self.repo.yaml_blobs(commit, [repo_path])
            else:
                header = self._check.ask(f"{commit}:{repo_path}")
                if len(header) == 3 and header[1] == "blob":
                    found = [(repo_path, header[0])]
                elif len(header) == 3 and header[1] == "tree":
                    found = self.repo.yaml_blobs(commit, [repo_path])
                else:
                    found = []
            for f, blob in found:
                out.setdefault(f, blob)
        return list(out.items())

    def read(self, blob: str) -> bytes:
        """The bytes of the blob with id `blob` (a hex object id)."""
        if not blob or any(c not in "0123456789abcdef" for c in blob):
            raise GitError(f"not a blob id: {blob!r}")
        header = self._batch.ask(blob)
        if len(header) != 3 or header[1] != "blob":
            raise GitError(f"cannot read blob {blob[:7]}")
        stdout = self._batch.proc.stdout
        assert stdout is not None
        size = int(header[2])
        data = stdout.read(size)
        if len(data) != size or stdout.read(1) != b"\n":  # the newline after the contents
            raise GitStopped(f"cannot read blob {blob[:7]}: git cat-file stopped unexpectedly")
        return data


def _parse_commits(data: bytes) -> list[Commit]:
    fields = data.decode("utf-8", "replace").replace("\n", "").split("\0")
    out = []
    for i in range(0, len(fields) - 2, 3):
        if fields[i]:
            out.append(Commit(fields[i], fields[i + 1], fields[i + 2]))
    return out


# ---------------------------------------------------------------- the workspace at a revision


def workspace_paths(
    cli_paths: Sequence[Path], config_files: Sequence[str], root: Path | None, cwd: Path
) -> list[Path]:
    """The paths to read, as the loader would resolve them in the working tree (not expanded)."""
    if cli_paths:
        return list(cli_paths)
    if config_files:
        base = root or cwd
        return [Path(f) if Path(f).is_absolute() else base / f for f in config_files]
    from kpitrack.reading.loading import DEFAULT_FILES

    return [Path(f) for f in DEFAULT_FILES]


def sources_at(
    repo: Repo, commit: str, paths: Sequence[Path], *, defaults: bool
) -> list[tuple[str, str | Problem]]:
    """(display path, text) for the workspace files as they were at `commit`; no checkout.

    `defaults`: the paths are kpitrack's default files, where measurements.yaml is optional.
    """
    from kpitrack.domain.problems import Problem, Severity
    from kpitrack.reading.yamlnodes import YamlFatal, decode

    found: list[str] = []
    for i, path in enumerate(paths):
        repo_path = repo.repo_path(path)
        files = repo.yaml_files(commit, repo_path)
        if not files:
            if defaults and i > 0:
                continue
            raise GitError(f"no such file or folder at {commit[:7]}: {path}")
        found.extend(f for f in files if f not in found)
    out: list[tuple[str, str | Problem]] = []
    for repo_path in found:
        display = repo.display(repo_path)
        try:
            out.append((display, decode(repo.read_blob(commit, repo_path), display)))
        except YamlFatal as exc:
            out.append((display, exc.problem))
        except GitError as exc:
            out.append((display, Problem(display, 1, 1, Severity.ERROR, KT002, str(exc))))
    return out
