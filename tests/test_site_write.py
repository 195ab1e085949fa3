"""Writing the site's folder with one listing per folder (no `lstat` per page) and the
atomic writer's `resolved` path (no `realpath` per page): the same conflicts, the same
refusals and the same pages as the plain per-path computation."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kpitrack.writing.atomicfile as atomicfile
from kpitrack.domain.problems import WriteError
from kpitrack.writing.atomicfile import TEMP_PREFIX, atomic_write_bytes
from kpitrack.writing.sitefolder import (
    MANIFEST,
    NAME_MAX,
    _conflicts,
    _Listing,
    read_manifest,
    write_site_folder,
)

# ---------------------------------------------------------------- the plain computation


def _lstat_kind(path: Path) -> int | None:
    try:
        return stat.S_IFMT(os.lstat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return None


def plain_conflicts(folder: Path, display: Path, names: list[str], ours: set[str]) -> list[str]:
    """The conflicts as found before the listing: an `lstat` of every folder on the way
    and of every page."""
    out: list[str] = []
    for name in names:
        parts = PurePosixPath(name).parts
        if any(len(part.encode("utf-8")) > NAME_MAX for part in parts):
            out.append(f"{display / name}: the name is too long for a file ({NAME_MAX} bytes)")
            continue
        for depth in range(1, len(parts)):
            kind = _lstat_kind(folder.joinpath(*parts[:depth]))
            if kind is not None and kind != stat.S_IFDIR:
                out.append(f"{display / PurePosixPath(*parts[:depth])} is not a folder")
        kind = _lstat_kind(folder / name)
        if kind is None:
            continue
        shown = display / name
        if kind != stat.S_IFREG:
            out.append(f"{shown} is not a regular file")
        elif name not in ours:
            out.append(f"{shown} exists and was not written by kpitrack site")
    return sorted(set(out))


# ---------------------------------------------------------------- random trees

PARTS = ["a", "b", "kpi", "x.html"]
KINDS = ["file", "folder", "link-file", "link-folder", "link-outside", "dangling", "fifo"]

entries = st.lists(
    st.tuples(st.lists(st.sampled_from(PARTS), min_size=1, max_size=3), st.sampled_from(KINDS)),
    max_size=12,
)
names = st.lists(
    st.lists(st.sampled_from([*PARTS, "k" * (NAME_MAX + 1)]), min_size=1, max_size=3).map("/".join),
    max_size=12,
    unique=True,
)


def make_tree(root: Path, outside: Path, tree: list[tuple[list[str], str]]) -> None:
    """Create what `tree` says where it can (a path whose folder is not one is skipped)."""
    (outside / "file").write_text("outside\n")
    (outside / "folder").mkdir(exist_ok=True)
    (outside / "folder" / "x.html").write_text("outside\n")
    for parts, kind in tree:
        path = root.joinpath(*parts)
        if os.path.lexists(path):
            continue  # the first one stays (writing into a FIFO would wait for a reader)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "file":
                path.write_text("page\n")
            elif kind == "folder":
                path.mkdir()
            elif kind == "link-file":
                path.symlink_to(outside / "file")
            elif kind == "link-folder":
                path.symlink_to(root)  # a folder inside, reached through a link
            elif kind == "link-outside":
                path.symlink_to(outside / "folder")
            elif kind == "dangling":
                path.symlink_to(outside / "nothing")
            else:
                os.mkfifo(path)


@contextlib.contextmanager
def two_folders() -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = Path(tmp, "site"), Path(tmp, "outside")
        root.mkdir()
        outside.mkdir()
        yield Path(os.path.realpath(root)), outside


@settings(max_examples=60)
@given(tree=entries, wanted=names, ours=st.sets(st.sampled_from(["a", "x.html", "kpi/x.html"])))
def test_the_listing_finds_the_same_conflicts_as_an_lstat_per_path(
    tree: list[tuple[list[str], str]], wanted: list[str], ours: set[str]
) -> None:
    with two_folders() as (root, outside):
        make_tree(root, outside, tree)
        display = Path("public")
        listing = _Listing(root)
        assert _conflicts(listing, display, wanted, ours) == plain_conflicts(
            root, display, wanted, ours
        )
        for name in wanted:
            parts = tuple(name.split("/"))
            if all(len(p) <= NAME_MAX for p in parts):
                assert listing.kind(parts) == _lstat_kind(root / name), name


@settings(max_examples=30)
@given(tree=entries, wanted=names)
def test_a_folder_that_cannot_be_listed_is_looked_at_path_by_path(
    tree: list[tuple[list[str], str]], wanted: list[str]
) -> None:
    with two_folders() as (root, outside):
        make_tree(root, outside, tree)
        real_scandir = os.scandir

        def refused(path: object) -> object:
            if Path(str(path)) != root:
                raise PermissionError(13, "Permission denied")
            return real_scandir(path)  # type: ignore[call-overload]

        listing = _Listing(root)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(os, "scandir", refused)
            found = _conflicts(listing, Path("p"), wanted, set())
        assert found == plain_conflicts(root, Path("p"), wanted, set())


# ---------------------------------------------------------------- refusals


def const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def pages(**kw: bytes) -> dict[str, Callable[[], bytes]]:
    """`kpi__a_html=b"…"` is the page kpi/a.html."""
    return {name.replace("__", "/").replace("_html", ".html"): const(b) for name, b in kw.items()}


def files_in(folder: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for n in dirnames + filenames:
            p = Path(dirpath, n)
            kind = "link" if p.is_symlink() else "dir" if p.is_dir() else "file"
            out[p.relative_to(folder).as_posix()] = kind
    return out


def test_a_file_in_the_way_found_by_the_listing_is_refused_with_nothing_written(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    (site / "kpi").mkdir(parents=True)
    (site / "kpi" / "b.html").write_text("mine\n")
    before = files_in(site)
    with pytest.raises(WriteError, match=r"kpi/b\.html exists and was not written by kpitrack"):
        write_site_folder(site, pages(index_html=b"i", kpi__a_html=b"a", kpi__b_html=b"b"))
    assert files_in(site) == before and (site / "kpi" / "b.html").read_text() == "mine\n"


def test_a_symlink_page_is_refused_even_when_the_manifest_lists_it(tmp_path: Path) -> None:
    site, outside = tmp_path / "site", tmp_path / "precious.html"
    outside.write_text("keep\n")
    write_site_folder(site, pages(index_html=b"i", kpi__a_html=b"a"))
    (site / "kpi" / "a.html").unlink()
    (site / "kpi" / "a.html").symlink_to(outside)
    with pytest.raises(WriteError, match=r"kpi/a\.html is not a regular file.*nothing written"):
        write_site_folder(site, pages(index_html=b"new", kpi__a_html=b"new"))
    assert outside.read_text() == "keep\n"
    assert (site / "index.html").read_bytes() == b"i"
    assert read_manifest(site) == {"index.html", "kpi/a.html"}


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_a_folder_on_the_way_that_is_not_a_folder_is_refused(tmp_path: Path, kind: str) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    if kind == "file":
        (site / "kpi").write_text("a file\n")
    else:
        (site / "kpi").symlink_to(elsewhere)
    with pytest.raises(WriteError, match=r"site/kpi is not a folder"):
        write_site_folder(site, pages(index_html=b"i", kpi__a_html=b"a"))
    assert sorted(os.listdir(site)) == ["kpi"] and os.listdir(elsewhere) == []


def test_a_folder_where_a_page_goes_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "kpi" / "a.html").mkdir(parents=True)
    with pytest.raises(WriteError, match=r"kpi/a\.html is not a regular file"):
        write_site_folder(site, pages(kpi__a_html=b"a"))
    assert files_in(site) == {"kpi": "dir", "kpi/a.html": "dir"}


# ---------------------------------------------------------------- rebuilds and killed builds


def test_a_rebuild_leaves_unchanged_pages_alone_and_replaces_changed_ones(tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = write_site_folder(site, pages(index_html=b"i", kpi__a_html=b"a", kpi__b_html=b"b"))
    assert sorted(first.written) == ["index.html", "kpi/a.html", "kpi/b.html"]
    before = {n: os.stat(site / n) for n in ("index.html", "kpi/a.html", "kpi/b.html")}
    again = write_site_folder(
        site, pages(index_html=b"i", kpi__a_html=b"A", kpi__b_html=b"bb", kpi__c_html=b"c")
    )
    assert (again.written, again.unchanged) == (
        ("kpi/a.html", "kpi/b.html", "kpi/c.html"),
        ("index.html",),
    )
    after = {n: os.stat(site / n) for n in before}
    assert (after["index.html"].st_ino, after["index.html"].st_mtime_ns) == (
        before["index.html"].st_ino,
        before["index.html"].st_mtime_ns,
    )
    assert after["kpi/a.html"].st_ino != before["kpi/a.html"].st_ino  # replaced, same size
    assert [(site / n).read_bytes() for n in ("kpi/a.html", "kpi/b.html", "kpi/c.html")] == [
        b"A",
        b"bb",
        b"c",
    ]
    assert not [n for n in files_in(site) if TEMP_PREFIX in n]


def test_pages_are_written_without_resolving_each_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = os.path.realpath

    def counted(path: str, **kw: bool) -> str:
        calls.append(str(path))
        return real(path, **kw)

    monkeypatch.setattr(os.path, "realpath", counted)
    many = {f"kpi/k{i}.html": const(str(i).encode()) for i in range(30)}
    write_site_folder(tmp_path / "site", {"index.html": lambda: b"i", **many})
    assert len(calls) <= 3  # the folder and the manifest, not one per page
    assert (tmp_path / "site" / "kpi" / "k29.html").read_bytes() == b"29"


def test_a_resolved_write_replaces_the_file_itself(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new", durable=False, resolved=True)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_temp_names_keep_their_host_tag(tmp_path: Path) -> None:
    """The tag an older kpitrack put in its temporary names (from `socket.gethostname`):
    the next build still recognises its orphans."""
    tag = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
    assert atomicfile._host_tag() == tag
    name = atomicfile._temp_name()
    match = atomicfile._TEMP_NAME.fullmatch(name)
    assert match is not None and (match[1], int(match[2])) == (tag, os.getpid())
    assert name != atomicfile._temp_name()


KILLED = """
import os, signal, sys
from pathlib import Path
import kpitrack.writing.atomicfile as atomicfile
from kpitrack.writing.sitefolder import write_site_folder

real = os.replace
def killed(src, dst):
    if str(dst).endswith("b.html"):
        os.kill(os.getpid(), signal.SIGKILL)  # the temp file written, not yet renamed
    real(src, dst)
atomicfile.os.replace = killed
pages = {n: (lambda n=n: ("new " + n).encode()) for n in ("kpi/a.html", "kpi/b.html", "kpi/c.html")}
write_site_folder(Path(sys.argv[1]), pages)
"""


@pytest.mark.process
def test_a_killed_build_leaves_whole_pages_and_its_temp_files_are_cleaned_up(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    names = ("kpi/a.html", "kpi/b.html", "kpi/c.html")
    write_site_folder(site, {n: const(f"old {n}".encode()) for n in names})
    ran = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED), str(site)], capture_output=True
    )
    assert ran.returncode == -9, ran.stderr
    leftovers = [p for p in os.listdir(site / "kpi") if p.startswith(TEMP_PREFIX)]
    assert len(leftovers) == 1
    now = [(site / n).read_text() for n in names]
    assert now == ["new kpi/a.html", "old kpi/b.html", "old kpi/c.html"]
    assert read_manifest(site) == set(names)
    outcome = write_site_folder(site, {n: const(f"new {n}".encode()) for n in names})
    assert outcome.written == ("kpi/b.html", "kpi/c.html")
    assert sorted(os.listdir(site / "kpi")) == ["a.html", "b.html", "c.html"]
    assert (site / MANIFEST).is_file()
