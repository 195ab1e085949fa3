"""Writing the KPI site's folder (`kpitrack site -o FOLDER`) without harming what is there.

- Each page is written atomically (`atomicfile.atomic_write_bytes`: temporary file,
  rename), so a web server never serves half a page; a page whose bytes are already
  there is left alone (its modification time too), so a rebuild only touches what
  changed. Pages are not fsynced one by one (a thousand fsyncs would be most of the
  build's time, and a page is rebuilt by the next run anyway); the manifest is.
- The folder's manifest, `.kpitrack-site`, lists every file kpitrack wrote there. A
  file the site would write that exists but is not in the manifest is someone
  else's: the whole write is refused, before anything is written. Pages of an
  earlier build that the new one lacks (a KPI removed or renamed) are removed, and
  only those: nothing kpitrack did not write is ever deleted.
- The manifest is first written listing the old and the new pages together, and at
  the end only the new ones, so a build killed half way leaves a manifest that still
  covers every page it wrote.
- The folder must not hold the workspace's own files, and `-o` must not be a file.
- Each folder of the site is listed once (`os.scandir`, `_Listing`): the files in the
  way and the pages already there are found in that listing, as an `lstat` of each
  path would find them, and the pages, in folders found to be real ones, are written
  without resolving each path again (`atomic_write_bytes(..., resolved=True)`).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kpitrack.domain.problems import UsageError, WriteError
from kpitrack.domain.records import Record
from kpitrack.writing.atomicfile import (
    atomic_write_bytes,
    check_folder,
    remove_orphaned_temp_files,
)

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

MANIFEST = ".kpitrack-site"
NAME_MAX = 255  # bytes in one file name: ext4, APFS, NTFS (and a KPI id has no limit)
MANIFEST_HEADER = (
    "# Files written by `kpitrack site` into this folder; it removes only these.\n"
    "# Delete this file and kpitrack treats every file here as someone else's.\n"
)


@record(frozen=True)
class SiteWriteOutcome(Record):
    """What a site write did, page by page."""

    folder: Path
    written: tuple[str, ...]  # new or changed pages
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]  # stale pages of an earlier build

    def __init__(
        self,
        folder: Path,
        written: tuple[str, ...],
        unchanged: tuple[str, ...],
        removed: tuple[str, ...],
    ) -> None:
        _setattr(self, "folder", folder)
        _setattr(self, "written", written)
        _setattr(self, "unchanged", unchanged)
        _setattr(self, "removed", removed)


def safe_relative(name: str) -> bool:
    """A manifest line or page path that stays inside the folder: relative, no `..`, in
    the form `PurePosixPath` writes it (no empty or `.` part, or `.` alone), no
    backslash or NUL. Read from the string (a site checks a thousand names):
    `tests/test_site_writer_fast.py` holds it to `PurePosixPath`'s answer."""
    if "\\" in name or "\0" in name:
        return False
    if name == ".":
        return True
    return all(part and part != "." and part != ".." for part in name.split("/"))


def read_manifest(folder: Path) -> set[str]:
    """The files an earlier build wrote (lines that could escape the folder are ignored)."""
    try:
        text = (folder / MANIFEST).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise WriteError(f"{folder / MANIFEST}: cannot read: {exc.strerror or exc}") from None
    lines = (line.strip() for line in text.splitlines())
    return {line for line in lines if line and not line.startswith("#") and safe_relative(line)}


def _manifest_bytes(names: Iterable[str]) -> bytes:
    return (MANIFEST_HEADER + "".join(f"{n}\n" for n in sorted(names))).encode("utf-8")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_folder(folder: Path, workspace_files: Sequence[Path]) -> Path:
    """The folder, resolved; refused when it is a file or holds a workspace file."""
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"{folder}: cannot use as the site's folder: {exc.strerror}") from None
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{folder}: is a file, not a folder; the site is a folder of pages")
    top = os.path.realpath(folder)
    below = top if top.endswith(os.sep) else top + os.sep
    for f, real in zip(workspace_files, real_paths(workspace_files), strict=True):
        if real == top or real.startswith(below):  # `_inside`, on the resolved strings
            raise UsageError(
                f"{folder}: holds the workspace's file {f}; write the site into a folder "
                "of its own (e.g. public/)"
            )
    return Path(top)


def real_paths(files: Iterable[Path | str]) -> Iterator[str]:
    """`os.path.realpath` of each file, in order, each folder resolved once rather than
    once per file (a workspace is a hundred files in a few folders): a file's real path
    is its folder's, joined with its name, resolved further only when that is a symbolic
    link, as `realpath` resolves one component after the other. A folder that does not
    resolve cleanly (missing, unreachable, a loop of links) leaves its files to
    `realpath` whole."""
    folders: dict[str, str] = {}
    for file in files:
        text = os.fspath(file)
        folder, _, name = text.rpartition(os.sep)
        if not folder or name in ("", ".", ".."):
            yield os.path.realpath(text)
            continue
        real_folder = folders.get(folder)
        if real_folder is None:
            try:  # strict: the same answer, or an error where `realpath` would guess
                real_folder = os.path.realpath(folder, strict=True)
            except OSError:  # missing, unreachable, a loop: the whole path, as it was
                real_folder = ""
            folders[folder] = real_folder
        if not real_folder:
            yield os.path.realpath(text)
            continue
        path = os.path.join(real_folder, name)
        try:
            link = stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:  # missing or unreachable: `realpath` keeps the name as it is
            link = False
        yield os.path.realpath(path) if link else path


def _existing(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


class _Listing:
    """What is in the site's folders, from one `os.scandir` per folder rather than an
    `lstat` per page: `kind(parts)` is the file type `os.lstat(root/parts)` would give
    (the folders on the way followed as the kernel does, the last part not), or None
    when nothing is there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: dict[tuple[str, ...], dict[str, os.DirEntry[str]] | None] = {}

    def _entries(self, folder: tuple[str, ...]) -> dict[str, os.DirEntry[str]] | None:
        if folder not in self._folders:
            found: dict[str, os.DirEntry[str]] | None
            try:
                with os.scandir(self.root.joinpath(*folder)) as listing:
                    found = {entry.name: entry for entry in listing}
            except (FileNotFoundError, NotADirectoryError):
                found = {}  # as lstat: nothing there
            except OSError:
                found = None  # cannot be listed (e.g. no read permission): lstat each
            self._folders[folder] = found
        return self._folders[folder]

    def kind(self, parts: tuple[str, ...]) -> int | None:
        entries = self._entries(parts[:-1])
        if entries is None:
            info = _existing(self.root.joinpath(*parts))
            return None if info is None else stat.S_IFMT(info.st_mode)
        entry = entries.get(parts[-1])
        if entry is None:
            return None
        if entry.is_dir(follow_symlinks=False):
            return stat.S_IFDIR
        if entry.is_file(follow_symlinks=False):
            return stat.S_IFREG
        try:
            return stat.S_IFMT(entry.stat(follow_symlinks=False).st_mode)
        except FileNotFoundError:
            return None


def _conflicts(listing: _Listing, display: Path, names: Iterable[str], ours: set[str]) -> list[str]:
    """Why the site cannot be written: files in the way that are not ours."""
    out: list[str] = []
    for name in names:
        parts = tuple(name.split("/"))  # a safe_relative name: its PurePosixPath parts
        if any(len(part.encode("utf-8")) > NAME_MAX for part in parts):
            out.append(f"{display / name}: the name is too long for a file ({NAME_MAX} bytes)")
            continue
        for depth in range(1, len(parts)):  # every folder on the way must be a real folder
            kind = listing.kind(parts[:depth])
            if kind is not None and kind != stat.S_IFDIR:
                out.append(f"{display / PurePosixPath(*parts[:depth])} is not a folder")
        kind = listing.kind(parts)
        if kind is None:
            continue
        shown = display / name
        if kind != stat.S_IFREG:
            out.append(f"{shown} is not a regular file")
        elif name not in ours:
            out.append(f"{shown} exists and was not written by kpitrack site")
    return sorted(set(out))


def write_site_folder(
    folder: Path,
    files: Mapping[str, Callable[[], bytes]],
    *,
    workspace_files: Sequence[Path] = (),
) -> SiteWriteOutcome:
    """Write `files` (relative POSIX path → a function giving its bytes, called once,
    so that only one page is held at a time) into `folder`, creating it, as the
    module's docstring says. Raises UsageError or WriteError with nothing written
    when a file in the way is not ours."""
    for name in files:
        if not safe_relative(name) or name == MANIFEST:
            raise ValueError(f"not a page path: {name!r}")
    root = check_output_folder(folder, workspace_files)
    ours = read_manifest(root) if root.is_dir() else set()
    listing = _Listing(root)
    conflicts = _conflicts(listing, folder, files, ours)
    if conflicts:
        more = f" (and {len(conflicts) - 3} more)" if len(conflicts) > 3 else ""
        raise WriteError(
            f"{'; '.join(conflicts[:3])}{more}: nothing written; move it away or choose "
            "another folder"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{folder}: cannot create the folder: {exc.strerror or exc}") from None
    check_folder(root, folder)
    atomic_write_bytes(root / MANIFEST, _manifest_bytes(ours | set(files)))

    written: list[str] = []
    unchanged: list[str] = []
    made: set[str] = set()
    for name, content in files.items():
        data = content()
        target = root / name
        parent = name.rpartition("/")[0]
        if parent not in made:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WriteError(
                    f"{folder / name}: cannot create its folder: {exc.strerror or exc}"
                ) from None
            made.add(parent)
            remove_orphaned_temp_files(target.parent)  # of a build that was killed
        # The listing found every folder on the way a real one (or nothing there: made
        # just now) and the page a regular file or nothing: no need to resolve it again.
        if listing.kind(tuple(name.split("/"))) == stat.S_IFREG and _same_bytes(target, data):
            unchanged.append(name)
            continue
        atomic_write_bytes(target, data, durable=False, resolved=True)
        written.append(name)

    atomic_write_bytes(root / MANIFEST, _manifest_bytes(files))
    removed = _remove_stale(root, sorted(ours - set(files)))
    return SiteWriteOutcome(folder, tuple(written), tuple(unchanged), tuple(removed))


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _remove_stale(root: Path, names: Sequence[str]) -> list[str]:
    """Remove pages an earlier build wrote and this one does not (regular files only),
    then their folders when that leaves them empty."""
    removed: list[str] = []
    for name in names:
        path = root / name
        info = _existing(path)
        if info is None or not stat.S_ISREG(info.st_mode):
            continue
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(name)
        parent = path.parent
        while parent != root and _inside(parent, root):
            with contextlib.suppress(OSError):
                parent.rmdir()  # only when empty
            parent = parent.parent
    return removed
