"""Locked, atomic, byte-preserving writes (record, import, init, -o FILE)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from kpitrack.problems import WriteError

TEMP_PREFIX = ".kpitrack-tmp-"


def fsync_directory(folder: Path) -> None:
    """Make a rename in `folder` durable (not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, rename it over `path`.

    Any failure leaves `path` as it was and no temporary file behind.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write in {folder}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise WriteError(
                f"{path}: write failed, file unchanged: {exc.strerror or exc}"
            ) from None
        raise
    fsync_directory(folder)


def atomic_write_text(path: Path, text: str) -> None:
    """Write an output file (reports, exports) atomically, keeping an existing file's mode."""
    try:
        mode: int | None = os.stat(path).st_mode & 0o7777
    except OSError:
        mode = None
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)
