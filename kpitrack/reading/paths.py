"""Which files a workspace reads (docs/commands.md: -f paths, kpitrack.toml's `files`, the
defaults) and reading them under the size cap, each failure a located problem."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from kpitrack.domain.codes import KT002
from kpitrack.domain.model import (
    Config,
)
from kpitrack.domain.problems import (
    Problem,
    Severity,
    UsageError,
)
from kpitrack.reading.yamlnodes import (
    MAX_FILE_BYTES,
    YamlFatal,
    decode,
)

DEFAULT_FILES = ("kpis.yaml", "measurements.yaml")
YAML_SUFFIXES = (".yaml", ".yml")


# ---------------------------------------------------------------- discovery


def resolve_paths(cli_paths: Sequence[Path], config: Config, cwd: Path) -> list[Path]:
    """The files to read (docs/commands.md): -f paths, else kpitrack.toml's files, else
    the defaults."""
    found: list[Path] = []
    if cli_paths:
        for path in cli_paths:
            found.extend(_expand(path, path if path.is_absolute() else cwd / path, path))
        looked_for = ", ".join(str(p) for p in cli_paths)
    elif config.files:
        root = Path(config.root) if config.root else cwd
        for name in config.files:
            given = Path(name)
            full = given if given.is_absolute() else root / given
            found.extend(_expand(full, full, given, listed=True))
        looked_for = f"{', '.join(config.files)} (kpitrack.toml's files)"
    else:
        kpis = _default_file(cwd, "kpis")
        if kpis is None:
            raise UsageError(
                f"no {DEFAULT_FILES[0]} in {cwd}: run `kpitrack init` to start one, "
                "or name files or folders with -f"
            )
        found.append(kpis)
        measurements = _default_file(cwd, "measurements")
        if measurements is not None:
            found.append(measurements)
        looked_for = " and ".join(DEFAULT_FILES)
    unique: list[Path] = []
    seen: set[str] = set()
    for path in found:
        key = os.path.realpath(path if path.is_absolute() else cwd / path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    if not unique:
        raise UsageError(
            f"no *.yaml or *.yml files found in {looked_for}: run `kpitrack init` "
            "or name files with -f"
        )
    return unique


def _default_file(cwd: Path, stem: str) -> Path | None:
    """`stem`.yaml, else `stem`.yml, in `cwd`; a folder or a dangling link of that name is
    a usage error that says what it is."""
    for name in (f"{stem}.yaml", f"{stem}.yml"):
        path = cwd / name
        if path.is_file():
            return path
        if path.is_dir():
            raise UsageError(
                f"{name} in {cwd} is a folder, not a file: name it with -f {name} to read "
                "the YAML files inside it"
            )
        if path.is_symlink():
            raise UsageError(f"{name} in {cwd}: {_broken_link(path)}")
    return None


def _broken_link(path: Path) -> str:
    """What is wrong with a symbolic link that leads to no file: a loop, or nothing."""
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return "symbolic link loop"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
    return "symbolic link to nothing"


def _expand(display: Path, full: Path, given: Path, *, listed: bool = False) -> list[Path]:
    """A file as itself; a folder as every *.yaml/*.yml inside (recursive, sorted, no dot-files)."""
    if full.is_dir():
        pass
    elif full.exists():
        # A file given by name is read (a FIFO or device is refused when it is read).
        return [display]
    else:
        where = " (listed in kpitrack.toml's files)" if listed else ""
        if full.is_symlink():
            raise UsageError(f"{given}: {_broken_link(full)}{where}")
        raise UsageError(f"no such file or folder: {given}{where}")
    out: list[Path] = []

    def unreadable(error: OSError) -> None:
        raise UsageError(f"{given}: cannot read folder {error.filename}: {error.strerror}")

    for folder, dirs, files in os.walk(full, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = os.path.relpath(folder, full)
        base = display if rel == "." else display / rel
        out.extend(
            base / f
            for f in files
            if f.endswith(YAML_SUFFIXES)
            and not f.startswith(".")
            and os.path.isfile(os.path.join(folder, f))  # regular files: never block on a FIFO
        )
    return sorted(out, key=lambda p: p.parts)


# ---------------------------------------------------------------- links out of the workspace


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` (taken as written, links not resolved)
    that holds `.git` (a folder, or a file in a worktree or submodule). No git is run."""
    for folder in (start, *start.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def escaping_link(path: Path, cwd: Path) -> str | None:
    """Why `path` must not be read or written: it is reached through a symbolic link
    that leads outside the repository holding it (outside any repository: outside the
    current folder when the path lies under it, else outside the file's own folder).
    A link into the repository's `.git` folder is refused too (CI checkouts keep a
    token in .git/config). None when the path stays inside. The reason names the link
    and where it points, never anything the target holds."""
    full = Path(os.path.abspath(path if path.is_absolute() else cwd / path))
    real = os.path.realpath(full)
    if real == str(full):
        return None  # no link on the way
    root = repository_root(full.parent)
    if root is not None:
        boundary, what = root, "the repository"
    elif _inside(str(full), str(Path(os.path.abspath(cwd)))):
        boundary, what = Path(os.path.abspath(cwd)), "the workspace folder"
    else:
        boundary, what = full.parent, "the file's folder"
    where = f"leads outside {what} ({boundary})"
    if _inside(real, os.path.realpath(boundary)):
        git_dir = os.path.realpath(root / ".git") if root is not None else None
        if git_dir is None or not _inside(real, git_dir):
            return None
        # git's own files hold credentials (CI checkouts keep a token in .git/config)
        where = f"leads into the repository's .git folder ({git_dir})"
    link = full
    for candidate in (*reversed(full.parents), full):
        inside = _inside(str(candidate), str(boundary)) and candidate != boundary
        if inside and os.path.islink(candidate):
            link = candidate
            break
    try:
        points_to = os.readlink(link)
    except OSError:
        points_to = real
    shown = _display(link, cwd)
    return f"symbolic link {shown} -> {points_to} {where}; refused, not followed"


# ---------------------------------------------------------------- reading


def read_files(paths: Sequence[Path]) -> list[tuple[str, str | Problem]]:
    """(display path, text) per file; a file that cannot be read or decoded gives its
    located problem instead of its text."""
    return [(display, decode_source(display, data)) for display, data in read_raw(paths)]


def read_raw(paths: Sequence[Path]) -> Iterator[tuple[str, bytes | Problem]]:
    """(display path, bytes) per file as it is read, not decoded yet (`decode_source`); a
    file that cannot be read gives its located problem instead."""
    cwd = Path.cwd()
    for path in paths:
        display = _display(path, cwd)
        escape = escaping_link(path, cwd)
        if escape is not None:
            yield display, Problem(display, 1, 1, KT002.severity, KT002, escape)
            continue
        try:
            data: bytes | Problem = _read_capped(path, display)
        except YamlFatal as exc:
            data = exc.problem
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            data = Problem(display, 1, 1, Severity.ERROR, KT002, f"cannot read: {reason}")
        yield display, data


def decode_source(display: str, data: bytes | Problem) -> str | Problem:
    """A file's text as `read_files` gives it: decoded, or the located problem."""
    if isinstance(data, Problem):
        return data
    try:
        return decode(data, display)
    except YamlFatal as exc:
        return exc.problem


def _read_capped(path: Path, display: str) -> bytes:
    """The file's bytes; a file over the size limit is refused before it is read.

    Opened non-blocking and checked to be a regular file, so a FIFO or a device
    named on the command line is refused instead of hanging or streaming forever.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise YamlFatal(Problem(display, 1, 1, Severity.ERROR, KT002, "not a regular file"))
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise YamlFatal(
                Problem(
                    display,
                    1,
                    1,
                    Severity.ERROR,
                    KT002,
                    f"file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes",
                )
            )
        return f.read(MAX_FILE_BYTES + 1)  # decode() refuses a file that grew meanwhile


def _display(path: Path, cwd: Path) -> str:
    if path.is_absolute():
        try:
            return str(path.relative_to(cwd))
        except ValueError:
            return str(path)
    return str(path)
