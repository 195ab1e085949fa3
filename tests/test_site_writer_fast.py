"""The site writer's cheaper steps give what the plain ones gave: `safe_relative` read
from the string against `PurePosixPath`'s answer, `_write_all`'s one-call write against
writes cut short, the atomic writer's failure handling (plain `except` clauses, no
context manager) leaving the target as it was, no temporary file, and the same error,
and the site folder's check (`real_paths`, each folder resolved once) against
`os.path.realpath` of each file on trees of links."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitrack.domain.problems import UsageError, WriteError
from kpitrack.writing.atomicfile import TEMP_PREFIX, atomic_write_bytes
from kpitrack.writing.sitefolder import (
    MANIFEST,
    check_output_folder,
    real_paths,
    safe_relative,
    write_site_folder,
)


def plain_safe_relative(name: str) -> bool:
    """The check as it was written on `PurePosixPath`."""
    path = PurePosixPath(name)
    return (
        bool(name)
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in name
        and "\0" not in name
        and path.as_posix() == name
    )


NAMES = st.one_of(
    st.text(alphabet="a./\\\0", max_size=8),
    st.lists(st.sampled_from(["", ".", "..", "...", "a", "kpi", "b.html", "é"]), max_size=4).map(
        "/".join
    ),
    st.text(max_size=6),
)


@settings(max_examples=400, deadline=None)
@given(NAMES)
def test_safe_relative_is_pureposixpaths_answer(name: str) -> None:
    assert safe_relative(name) is plain_safe_relative(name)


@pytest.mark.parametrize(
    "name",
    ["", ".", "./", "./a", "a/.", "a//b", "/a", "//a", "a/", "..", "a/../b", "a\\b", "a\0", "..."],
)
def test_safe_relative_on_the_edges(name: str) -> None:
    assert safe_relative(name) is plain_safe_relative(name)


def temp_files(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=300), step=st.integers(1, 50))
def test_a_write_cut_short_is_finished(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, step: int
) -> None:
    """`os.write` may write less than asked: the rest follows, as the plain loop did."""
    folder = tmp_path_factory.mktemp("short")
    real = os.write
    calls: list[int] = []

    def short(fd: int, chunk: bytes) -> int:
        calls.append(len(chunk))
        return real(fd, bytes(chunk)[:step])

    target = folder / "page.html"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "write", short)
        atomic_write_bytes(target, data, durable=False)
    assert target.read_bytes() == data
    assert len(calls) == (len(data) + step - 1) // step  # none for no data
    assert temp_files(folder) == []


FAILING = ["write", "fsync", "fchmod", "replace", "close"]


def _breaking(failing: str, exc: BaseException) -> Callable[..., object]:
    def broken(*args: object, **kwargs: object) -> object:
        raise exc

    return broken


@pytest.mark.parametrize("failing", FAILING)
def test_a_disk_error_leaves_the_target_and_says_so(tmp_path: Path, failing: str) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    error = OSError(errno.ENOSPC, "No space left on device")
    real_close = os.close
    with pytest.MonkeyPatch.context() as patch:
        if failing == "close":  # the descriptor is still closed: no leak

            def close(fd: int) -> None:
                real_close(fd)
                raise error

            patch.setattr(os, "close", close)
        else:
            patch.setattr(os, failing, _breaking(failing, error))
        with pytest.raises(WriteError) as caught:
            atomic_write_bytes(target, b"new", mode=0o644)
    assert str(caught.value) == f"{target}: write failed, file unchanged: No space left on device"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert target.read_bytes() == b"old"
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("failing", FAILING)
def test_an_interrupt_leaves_the_target_and_goes_on_as_it_is(tmp_path: Path, failing: str) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    interrupt = KeyboardInterrupt()
    real_close = os.close
    with pytest.MonkeyPatch.context() as patch:
        if failing == "close":

            def close(fd: int) -> None:
                real_close(fd)
                raise interrupt

            patch.setattr(os, "close", close)
        else:
            patch.setattr(os, failing, _breaking(failing, interrupt))
        with pytest.raises(KeyboardInterrupt) as caught:
            atomic_write_bytes(target, b"new", mode=0o644)
    assert caught.value is interrupt and not caught.value.__suppress_context__
    assert target.read_bytes() == b"old"
    assert temp_files(tmp_path) == []


def test_a_temp_file_that_cannot_be_made_is_said_as_before(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "page.html"
    error = OSError(errno.EACCES, "Permission denied")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "open", _breaking("open", error))
        with pytest.raises(WriteError) as caught:
            atomic_write_bytes(target, b"new")
    assert str(caught.value) == f"{target}: cannot write in {folder}: Permission denied"
    assert not target.exists()


def test_a_page_that_cannot_be_written_is_named_by_its_path_in_the_folder(
    tmp_path: Path,
) -> None:
    """A failed page write names the page by its path in the (resolved) folder."""
    out = tmp_path / "site"
    real = os.replace

    def refuse_pages(src: str, dst: str) -> None:
        if not dst.endswith(MANIFEST):
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", refuse_pages)
        with pytest.raises(WriteError) as caught:
            write_site_folder(out, {"index.html": lambda: b"i", "kpi/a.html": lambda: b"a"})
    assert str(caught.value) == (
        f"{out.resolve() / 'index.html'}: write failed, file unchanged: Input/output error"
    )
    assert temp_files(out) == []


# ---------------------------------------------------------------- the site folder's check

PARTS = ["a", "b", "f", "dir-link", "file-link", "dangling", "loop", "up", "missing", "..", ".", ""]


def _tree(root: Path) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f").write_text("x")
    (root / "a" / "f").write_text("x")
    (root / "dir-link").symlink_to("a")
    (root / "a" / "file-link").symlink_to("b/f")
    (root / "a" / "b" / "dangling").symlink_to("nowhere")
    (root / "a" / "loop").symlink_to("loop")
    (root / "a" / "b" / "up").symlink_to("..")


def plain_holds(folder: Path, files: list[Path]) -> bool:
    """The check as it was: each file resolved whole, compared as Paths."""
    resolved = Path(os.path.realpath(folder))
    for f in files:
        path = Path(os.path.realpath(f))
        if path == resolved or resolved in path.parents:
            return True
    return False


def test_real_paths_are_realpaths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path / "a")
    paths = st.lists(st.sampled_from(PARTS), min_size=1, max_size=5).map("/".join)
    where = st.sampled_from([str(tmp_path) + "/", "", "/"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(where, paths), max_size=6), st.tuples(where, paths))
    def check(files: list[tuple[str, str]], folder: tuple[str, str]) -> None:
        texts = [start + path for start, path in files]
        assert list(real_paths(texts)) == [os.path.realpath(t) for t in texts]
        assert list(real_paths(map(Path, texts))) == [os.path.realpath(Path(t)) for t in texts]
        out = Path(folder[0] + folder[1])
        workspace = [Path(t) for t in texts]
        try:
            check_output_folder(out, workspace)
            refused = False
        except UsageError as exc:
            refused = "holds the workspace's file" in str(exc)
            if not refused:  # a file, not a folder: refused before the files are looked at
                assert "is a file" in str(exc) or "cannot use" in str(exc)
                return
        assert refused is plain_holds(out, workspace)

    check()


def test_the_folder_holding_a_workspace_file_is_refused_as_before(tmp_path: Path) -> None:
    _tree(tmp_path)
    files = [tmp_path / "dir-link" / "b" / "f"]
    with pytest.raises(UsageError, match="holds the workspace's file"):
        check_output_folder(tmp_path / "a" / "b", files)
    with pytest.raises(UsageError, match="holds the workspace's file"):
        check_output_folder(tmp_path / "a" / "b" / "up", [tmp_path / "a" / "file-link"])
    assert check_output_folder(tmp_path / "a" / "new", files) == tmp_path / "a" / "new"
    assert check_output_folder(Path("/"), []) == Path("/")
    with pytest.raises(UsageError, match="holds the workspace's file"):
        check_output_folder(Path("/"), files)
