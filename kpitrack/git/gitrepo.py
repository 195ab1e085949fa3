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
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kpitrack.domain.codes import KT002
from kpitrack.domain.problems import UsageError
from kpitrack.domain.records import Record

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record

    from kpitrack.domain.problems import Problem
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

YAML_SUFFIXES = (".yaml", ".yml")
MAX_REV_LENGTH = 256


class GitError(UsageError):
    """Git is missing, the folder is not in a repository, or a revision is not one."""


class GitStopped(GitError):
    """A long-running `git cat-file` ended before it answered."""


class BlobTooLarge(GitError):
    """A file at a revision is over the size limit: refused from its size, never read."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file is {size:,} bytes, over the limit of {limit:,} bytes")
        self.size = size
        self.limit = limit


def nearest_folder(path: Path, cwd: Path) -> Path:
    """The folder `git -C` should run in for `path`: itself if it is a folder, else its
    nearest existing parent (a file may be missing from the working tree)."""
    full = Path(os.path.normpath(path if path.is_absolute() else cwd / path))
    for candidate in (full, *full.parents):
        if candidate.is_dir():
            return candidate
    return cwd


@record(frozen=True)
class Commit(Record):
    """A commit: its full id, author date and author."""

    sha: str
    date: str  # ISO 8601 author date
    author: str

    def __init__(self, sha: str, date: str, author: str) -> None:
        _setattr(self, "sha", sha)
        _setattr(self, "date", date)
        _setattr(self, "author", author)

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


@record(frozen=True)
class Repo(Record):
    """The repository holding `cwd`: its top folder and `cwd`'s place in it."""

    root: Path
    cwd: Path

    def __init__(self, root: Path, cwd: Path) -> None:
        _setattr(self, "root", root)
        _setattr(self, "cwd", cwd)

    @classmethod
    def find(cls, cwd: Path, *, at: Path | None = None) -> Repo:
        """The repository holding the folder `at` (default `cwd`), as `git -C at` finds it;
        paths are shown relative to `cwd`."""
        where = cwd if at is None else at
        proc = run_git(["rev-parse", "--show-toplevel"], where, check=False)
        if proc.returncode != 0:
            raise GitError(f"{where} is not inside a git repository")
        root = Path(proc.stdout.decode("utf-8").strip())
        return cls(root=root, cwd=cwd)

    @classmethod
    def of_paths(cls, paths: Sequence[Path], cwd: Path) -> Repo:
        """The repository of the workspace files (the first path's nearest existing
        folder), not of the current folder: `history -f /srv/kpis/kpis.yaml` works from
        anywhere, as `git -C /srv/kpis` would."""
        return cls.find(cwd, at=nearest_folder(paths[0] if paths else cwd, cwd))

    def resolve(self, rev: str, option: str = "--rev") -> str:
        """The full commit id of `rev`; a usage error for anything that is not a commit."""
        if not rev or rev.startswith("-") or len(rev) > MAX_REV_LENGTH or "\x00" in rev:
            raise GitError(f"{option}: {rev!r} is not a git revision")
        if any(ch in rev for ch in "\n\r") or rev != rev.strip():
            raise GitError(f"{option}: {rev!r} is not a git revision")
        proc = run_git(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            self.root,
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

    def blob_size(self, commit: str, repo_path: str) -> int:
        """The size in bytes of `repo_path` at `commit`, without reading it."""
        proc = run_git(["cat-file", "-s", f"{commit}:{repo_path}"], self.root, check=False)
        if proc.returncode != 0:
            raise GitError(f"cannot read {repo_path} at {commit[:7]}")
        return int(proc.stdout.decode("ascii").strip())

    def read_blob(self, commit: str, repo_path: str, *, limit: int | None = None) -> bytes:
        """The bytes of `repo_path` at `commit`. With `limit`, a blob over that many bytes
        is refused (BlobTooLarge) from its size alone, before any of it is read."""
        if limit is not None:
            size = self.blob_size(commit, repo_path)
            if size > limit:
                raise BlobTooLarge(size, limit)
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

    def first_parent_commits(self, until: str) -> list[Commit]:
        """The first-parent line up to `until`, oldest first (no diffs: one quick log)."""
        args = ["log", "--first-parent", "--reverse", "--format=%H%x00%aI%x00%an", "-z"]
        return _parse_commits(run_git([*args, "--end-of-options", until, "--"], self.root).stdout)

    def reachable(self, rev: str) -> set[str]:
        """Every commit reachable from `rev`."""
        proc = run_git(["rev-list", "--end-of-options", rev, "--"], self.root)
        return set(proc.stdout.decode("ascii").split())

    def head(self) -> str | None:
        proc = run_git(
            ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], self.root, check=False
        )
        return proc.stdout.decode("ascii").strip() if proc.returncode == 0 else None


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
        self._sizes: dict[str, int] = {}
        self._stream: _Stream | None = None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.close()
        self._check.close()
        self._batch.close()

    def prefetch(self, blobs: Sequence[str], limit: int) -> None:
        """Blobs about to be read in about this order: their sizes are asked in one
        `--batch-check` pass, and those within `limit` are streamed by one more
        `git cat-file --batch` fed all at once, so a history costs no round trip per
        file. `read` takes them from the stream; anything else is asked as before."""
        wanted = [b for b in dict.fromkeys(blobs) if _is_object_id(b)]
        if not wanted:
            return
        exe = shutil.which("git")
        if exe is None:
            raise GitError("git is not installed (needed for --rev, history and diff)")
        proc = subprocess.run(
            [exe, "cat-file", "--batch-check"],
            cwd=self.repo.root,
            env=_git_env(),
            input="".join(f"{b}\n" for b in wanted).encode("ascii"),
            capture_output=True,
            check=False,
        )
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[1] == "blob":
                self._sizes[fields[0]] = int(fields[2])
        small = [b for b in wanted if self._sizes.get(b, limit + 1) <= limit]
        if self._stream is not None:
            self._stream.close()
        self._stream = _Stream(self.repo, small) if small else None

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

    def size(self, blob: str) -> int:
        """The size of the blob with id `blob`, from `--batch-check` (nothing is read)."""
        if not blob or any(c not in "0123456789abcdef" for c in blob):
            raise GitError(f"not a blob id: {blob!r}")
        header = self._check.ask(blob)
        if len(header) != 3 or header[1] != "blob":
            raise GitError(f"cannot read blob {blob[:7]}")
        return int(header[2])

    def read(self, blob: str, *, limit: int | None = None) -> bytes:
        """The bytes of the blob with id `blob` (a hex object id). With `limit`, a blob
        over that size is refused (BlobTooLarge) before any of it is read."""
        if not _is_object_id(blob):
            raise GitError(f"not a blob id: {blob!r}")
        if limit is not None:
            size = self._sizes[blob] if blob in self._sizes else self.size(blob)
            if size > limit:
                raise BlobTooLarge(size, limit)
        if self._stream is not None:
            streamed = self._stream.take(blob)
            if streamed is not None:
                return streamed
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


def _is_object_id(name: str) -> bool:
    return bool(name) and all(c in "0123456789abcdef" for c in name)


class _Stream:
    """One `git cat-file --batch` given a known list of blob ids at once (a thread
    writes them while the answers are read in order, as they are taken)."""

    def __init__(self, repo: Repo, blobs: Sequence[str]) -> None:
        import threading

        exe = shutil.which("git")
        if exe is None:
            raise GitError("git is not installed (needed for --rev, history and diff)")
        self.pending = list(blobs)
        self.ahead: dict[str, bytes] = {}
        self.waiting = set(blobs)
        self.proc = subprocess.Popen(
            [exe, "cat-file", "--batch"],
            cwd=repo.root,
            env=_git_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        payload = "".join(f"{b}\n" for b in blobs).encode("ascii")
        self.writer = threading.Thread(target=self._write, args=(payload,), daemon=True)
        self.writer.start()
        self.position = 0

    def _write(self, payload: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        with contextlib.suppress(OSError):
            stdin.write(payload)
            stdin.close()

    def take(self, blob: str) -> bytes | None:
        """The blob's bytes if it is (still) in the stream, reading up to it."""
        if blob in self.ahead:
            return self.ahead.pop(blob)
        if blob not in self.waiting:
            return None
        stdout = self.proc.stdout
        assert stdout is not None
        while self.position < len(self.pending):
            name = self.pending[self.position]
            self.position += 1
            self.waiting.discard(name)
            header = stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise GitStopped("git cat-file stopped unexpectedly")
            size = int(header[2])
            data = stdout.read(size)
            if len(data) != size or stdout.read(1) != b"\n":
                raise GitStopped("git cat-file stopped unexpectedly")
            if name == blob:
                return data
            self.ahead[name] = data
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.writer.join(timeout=10)


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
    from kpitrack.reading.yamlnodes import MAX_FILE_BYTES, YamlFatal, decode

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
            data = repo.read_blob(commit, repo_path, limit=MAX_FILE_BYTES)
            out.append((display, decode(data, display)))
        except YamlFatal as exc:
            out.append((display, exc.problem))
        except GitError as exc:
            out.append((display, Problem(display, 1, 1, Severity.ERROR, KT002, str(exc))))
    return out


# ---------------------------------------------------------------- what each commit changed

_NO_BLOB = "0" * 40


@record(frozen=True)
class Touch(Record):
    """A commit on the first-parent line and the files it changed under the pathspecs
    (blob id after the commit, None when the file was deleted)."""

    commit: Commit
    parent: str | None
    files: tuple[tuple[str, str | None], ...]
    added: frozenset[str] = frozenset()

    def __init__(
        self,
        commit: Commit,
        parent: str | None,
        files: tuple[tuple[str, str | None], ...],
        added: frozenset[str] = frozenset(),
    ) -> None:
        _setattr(self, "commit", commit)
        _setattr(self, "parent", parent)
        _setattr(self, "files", files)
        _setattr(self, "added", added)


def log_raw(
    repo: Repo, pathspecs: Sequence[str], *, until: str, base: str | None = None
) -> list[Touch]:
    """The first-parent commits up to `until` (after `base`, when given) that changed a
    file under `pathspecs`, oldest first, each with the blobs it changed: one
    `git log --raw` (no file contents read)."""
    args = [
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--reverse",
        "--raw",
        "-z",
        "--no-renames",
        "--no-abbrev",
        "--format=%x01%H%x00%P%x00%aI%x00%an%x00",
        "--end-of-options",
        f"{base}..{until}" if base is not None else until,
        "--",
        *[p or "." for p in pathspecs],
    ]
    out: list[Touch] = []
    for chunk in run_git(args, repo.root).stdout.decode("utf-8", "replace").split("\x01"):
        fields = chunk.split("\0")
        if len(fields) < 4:
            continue
        sha, parents, date, author = fields[:4]
        files: list[tuple[str, str | None]] = []
        added: set[str] = set()
        rest = fields[4:]
        i = 0
        while i + 1 < len(rest):
            meta = rest[i].lstrip("\n")
            if not meta.startswith(":"):
                i += 1
                continue
            parts = meta[1:].split()
            path = rest[i + 1]
            i += 2
            if len(parts) < 5 or parts[1] == "160000":  # a submodule is not a file
                continue
            blob = parts[3]
            if parts[4].startswith("A"):
                added.add(path)
            files.append((path, None if blob == _NO_BLOB or parts[1] == "000000" else blob))
        first = parents.split()[0] if parents.split() else None
        out.append(Touch(Commit(sha, date, author), first, tuple(files), frozenset(added)))
    return out


def renamed_into(repo: Repo, pairs: Sequence[tuple[str | None, str]]) -> dict[str, str]:
    """Files a commit renamed (new path -> old path), over the whole tree, for the given
    (first parent, commit) pairs: one `git diff-tree --stdin -M` process."""
    lines = [f"{commit} {parent}" for parent, commit in pairs if parent is not None]
    if not lines:
        return {}
    exe = shutil.which("git")
    if exe is None:
        raise GitError("git is not installed (needed for --rev, history and diff)")
    proc = subprocess.run(
        [exe, "-c", "core.quotepath=false", "diff-tree", "--stdin", "-r", "-M", "-z", "--raw"],
        cwd=repo.root,
        env=_git_env(),
        input="\n".join(lines).encode("ascii") + b"\n",
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise GitError("git diff-tree failed")
    fields = proc.stdout.decode("utf-8", "replace").split("\0")
    out: dict[str, str] = {}
    i = 0
    while i < len(fields):
        meta = fields[i].lstrip("\n")
        if meta.startswith(":") and meta.split()[-1].startswith("R") and i + 2 < len(fields):
            out[fields[i + 2]] = fields[i + 1]
            i += 3
            continue
        i += 1
    return out
