"""Atomic files and locks: the I/O half of every write (record, import, review,
rename, init, `-o FILE`). No YAML, no Typer, no Rich.

- `file_lock` takes an exclusive `fcntl.flock` on a stable sidecar `<file>.lock`
  (opened with O_NOFOLLOW, refused when not a regular file), waiting fairly in the
  kernel's queue until a deadline.
- `atomic_write_bytes` writes a temporary file in the same folder, fsyncs it,
  renames it over the target and fsyncs the folder; any failure leaves the target
  as it was and no temporary file behind. Temporary files of killed writers are
  removed by the next write (`remove_orphaned_temp_files`).
- `atomic_write_text` is `-o FILE`: devices and FIFOs are opened and written, regular
  files follow `record`'s read-only and hard-link rules.
- `hold_interrupts` / `release_interrupts`: once a rename is done, an interrupt waits
  until the command has printed its result.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import os
import re
import signal
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from kpitrack.domain.problems import WriteError
from kpitrack.reading.paths import escaping_link
from kpitrack.reading.yamlnodes import MAX_FILE_BYTES

TEMP_PREFIX = ".kpitrack-tmp-"
LOCK_SUFFIX = ".lock"
# How long a writer waits for another one to finish before giving up.
LOCK_TIMEOUT = 60.0
# A temporary file is an orphan when its writer (same host) is gone, or when it
# is older than this whatever its name says (other hosts, other pid namespaces).
ORPHAN_AGE = 3600.0


def fsync_directory(folder: Path | str) -> None:
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


@functools.cache
def _host_tag() -> str:
    """This host's tag in temporary names (once per process: a site writes a thousand)."""
    # uname's node name is what gethostname() returns (without importing socket).
    return hashlib.sha256(os.uname().nodename.encode("utf-8", "replace")).hexdigest()[:8]


def _temp_name() -> str:
    """`.kpitrack-tmp-<host>-<pid>-<random>.tmp`: lets the next writer tell an orphan."""
    return f"{TEMP_PREFIX}{_host_tag()}-{os.getpid()}-{os.urandom(4).hex()}.tmp"


_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"([0-9a-f]{8})-([0-9]+)-[0-9a-f]+\.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_orphaned_temp_files(folder: Path, *, max_age: float = ORPHAN_AGE) -> list[Path]:
    """Remove temporary files of writers that are gone; returns what was removed.

    A temporary file is removed when its name says it was made on this host by
    a process that no longer exists, or when it is older than `max_age` seconds
    (a name from another host or an older version). A live writer's file is kept.
    """
    removed: list[Path] = []
    now = time.time()
    host = _host_tag()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        m = _TEMP_NAME.fullmatch(entry.name)
        writer_gone = m is not None and m[1] == host and not _pid_alive(int(m[2]))
        if writer_gone or now - info.st_mtime > max_age:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _write_all(fd: int, data: bytes) -> None:
    if not data:
        return
    written = os.write(fd, data)  # nearly always the whole of it, in one call
    if written == len(data):
        return
    if written <= 0:  # pragma: no cover - os.write raises instead
        raise OSError(errno.EIO, "short write")
    view = memoryview(data)[written:]
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - os.write raises instead
            raise OSError(errno.EIO, "short write")
        view = view[written:]


def _write_temp(
    folder: Path | str,
    data: bytes | Iterable[bytes],
    mode: int | None,
    display: Path,
    *,
    durable: bool = True,
) -> str:
    """A fully written (and, when `durable`, fsynced) temporary file in `folder` (`data`
    may come in pieces)."""
    tmp = os.path.join(folder, _temp_name())
    try:
        # 0o666 lets the umask decide for a new file, like any other program's.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise WriteError(f"{display}: cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            if isinstance(data, bytes):
                _write_all(fd, data)
            else:
                for piece in data:
                    _write_all(fd, piece)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _remove_temp(tmp)
        raise _write_failed(display, exc) from None
    except BaseException:
        _remove_temp(tmp)
        raise
    return tmp


# On any failure after the temporary file is made: it is removed, and an OSError is
# turned into one clear WriteError (the target is unchanged). Plain `except` clauses
# rather than a context manager entered twice a page: a site writes a thousand.


def _remove_temp(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _write_failed(display: Path, exc: OSError) -> WriteError:
    return WriteError(f"{display}: write failed, file unchanged: {exc.strerror or exc}")


def atomic_write_bytes(
    path: Path,
    data: bytes | Iterable[bytes],
    *,
    mode: int | None = None,
    durable: bool = True,
    resolved: bool = False,
) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, rename it over `path`.

    A symlink stays a symlink (its target is replaced). Any failure leaves `path`
    as it was and no temporary file behind. `durable=False` skips the two fsyncs: a
    reader still sees the old file or the whole new one, never a part, but a power
    cut may lose the write (for files that are rebuilt anyway, such as a site's pages).
    `resolved=True` is for a caller that has already made sure that no folder on `path`'s
    way is a symlink and that `path` is a regular file or absent (the site's folder,
    listed): `path` is written as it is, without resolving it again.
    """
    target = os.fspath(path) if resolved else os.path.realpath(path)
    folder = os.path.dirname(target) or "."
    tmp = _write_temp(folder, data, mode, path, durable=durable)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        _remove_temp(tmp)
        raise _write_failed(path, exc) from None
    except BaseException:
        _remove_temp(tmp)
        raise
    if durable:
        fsync_directory(folder)


def atomic_write_text(path: Path, text: str | Iterable[str]) -> None:
    """Write an output file (`-o`: reports, exports) without harming what is there.

    A character device (`/dev/null`, `/dev/stdout` on a terminal) or a FIFO
    (`/dev/stdout` into a pipe, a named pipe) is opened and written, never
    replaced. A regular file follows `record`'s rules: a read-only file or one
    with several hard links is refused; otherwise it is replaced atomically,
    keeping its mode. Anything else (a folder, a socket, a block device) is refused.
    `text` may come in pieces (export streams its rows): they are written as they come.
    """
    data = (
        text.encode("utf-8") if isinstance(text, str) else (piece.encode("utf-8") for piece in text)
    )
    try:
        info: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if info is not None and (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        _write_stream(path, data)
        return
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            raise WriteError(f"{path}: not a regular file, a device or a pipe; nothing written")
        check_replaceable(Path(os.path.realpath(path)), info, path)
    folder = Path(os.path.realpath(path)).parent
    check_folder(folder, path)
    atomic_write_bytes(path, data, mode=None if info is None else stat.S_IMODE(info.st_mode))


def _write_stream(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write to a device or FIFO by opening it, as a shell's `>` would (no create, no rename)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise WriteError(f"{path}: cannot open for writing: {exc.strerror or exc}") from None
    try:
        for piece in (data,) if isinstance(data, bytes) else data:
            _write_all(fd, piece)
    except OSError as exc:
        raise WriteError(f"{path}: write failed: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def check_folder(folder: Path, display: Path | str) -> None:
    """The folder a write creates its temporary file in must exist and be writable.

    Root passes `os.access` everywhere, so the mode bits count too: a 0555 folder
    is refused like a 0444 file.
    """
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        raise WriteError(f"{display}: folder {folder} does not exist") from None
    except OSError as exc:
        raise WriteError(f"{display}: cannot reach folder {folder}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise WriteError(f"{display}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK) or not info.st_mode & stat.S_IWUSR:
        raise WriteError(
            f"{display}: folder {folder} is read-only (permission denied); nothing written"
        )


def check_writable(path: Path, display: Path | str | None = None) -> Path:
    """The one permission rule every writer (record, import, collect, review, rename,
    init) follows before it takes a lock; returns the file's resolved path.

    Refused with a WriteError, nothing written and no lock file left: a path reached
    through a symbolic link that leads out of the repository (`paths.escaping_link`);
    a folder that is missing, not a folder or lacks the owner's write bit; a file that
    is not a regular file, lacks the owner's write bit or has other hard links. The
    mode bits count even for root, who passes every `access()` check.
    """
    shown = path if display is None else display
    escape = escaping_link(path, Path.cwd())
    if escape is not None:
        raise WriteError(f"{shown}: {escape}; nothing written")
    target = Path(os.path.realpath(path))
    check_folder(target.parent, shown)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise WriteError(f"{shown}: cannot write: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(f"{shown}: not a regular file; nothing written")
    check_replaceable(target, info, shown)
    return target


def check_replaceable(target: Path, info: os.stat_result, display: Path | str) -> None:
    """A regular file a write would replace: not read-only, no other hard links."""
    # Root passes os.access(W_OK) for any file, so look at the mode bits too:
    # a rename would silently replace a file its owner made read-only.
    if not os.access(target, os.W_OK) or not info.st_mode & stat.S_IWUSR:
        raise WriteError(f"{display}: file is read-only; file unchanged")
    if info.st_nlink > 1:
        raise WriteError(
            f"{display}: file has {info.st_nlink} hard links and a safe write would break "
            "them; file unchanged"
        )


def create_new_file(path: Path, data: bytes) -> bool:
    """Create `path` holding `data`, never replacing anything; False when it exists.

    The data is written to a temporary file and fsynced first, then hard-linked
    to its name: the name appears complete or not at all, and `link` fails
    rather than overwrite a file that appeared meanwhile.
    """
    if os.path.lexists(path):
        return False
    folder = Path(os.path.abspath(path)).parent
    tmp = _write_temp(folder, data, None, path)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise WriteError(f"{path}: cannot create: {exc.strerror or exc}") from None
        # No hard links here (some network and FAT file systems): exclusive create.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            return False
        except OSError as exc2:
            raise WriteError(f"{path}: cannot create: {exc2.strerror or exc2}") from None
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError as exc2:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise WriteError(f"{path}: write failed: {exc2.strerror or exc2}") from None
        os.close(fd)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    fsync_directory(folder)
    return True


def lock_path(target: Path) -> Path:
    """The sidecar lock file of a (symlink-resolved) data file."""
    return target.with_name(target.name + LOCK_SUFFIX)


@contextlib.contextmanager
def file_lock(target: Path, *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive flock on `<target>.lock` (created if missing, never removed).

    The lock file stays: removing it would let two writers hold locks on two
    different files of the same name.
    """
    lock = lock_path(target)
    flags = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK  # NONBLOCK: a FIFO never hangs us
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | flags, 0o666)
    except PermissionError as denied:
        try:  # someone else's lock file: a read-only descriptor can still be flocked
            fd = os.open(lock, os.O_RDONLY | flags)
        except FileNotFoundError:  # no lock file and no right to create one
            raise WriteError(
                f"{target}: cannot create lock file {lock}: {_reason(denied)}"
            ) from None
        except OSError as exc:
            raise WriteError(f"{target}: cannot open lock file {lock}: {_reason(exc)}") from None
    except OSError as exc:
        raise WriteError(f"{target}: cannot open lock file {lock}: {_reason(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise WriteError(f"{target}: lock file {lock} is not a regular file; file unchanged")
        _acquire(fd, target, lock, timeout)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def writers_done(paths: list[Path], *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the locks of these files (symlinks resolved, sorted as `rename` takes them)
    whose lock file exists, creating none: inside, no writer that holds several locks
    (`rename`) is half-way through. A lock that cannot be opened is skipped."""
    with contextlib.ExitStack() as stack:
        for real in sorted({os.path.realpath(p) for p in paths}):
            lock = lock_path(Path(real))
            try:
                fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            stack.callback(os.close, fd)
            if stat.S_ISREG(os.fstat(fd).st_mode):
                _acquire(fd, Path(real), lock, timeout)
        yield


class _LockDeadline(Exception):
    pass


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link (refused: a lock is never followed)"
    return exc.strerror or str(exc)


def _acquire(fd: int, target: Path, lock: Path, timeout: float) -> None:
    """Take the flock, waiting in the kernel's queue (fair) until `timeout` seconds.

    In the main thread a blocking `flock` is interrupted by a one-shot timer at
    the deadline; elsewhere (no signals there) it falls back to polling.
    """

    def too_long() -> WriteError:
        return WriteError(
            f"{target}: another kpitrack is still writing it "
            f"(waited {timeout:g} s for {lock}); file unchanged"
        )

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    except OSError as exc:
        raise WriteError(f"{target}: cannot lock {lock}: {exc.strerror}") from None
    if threading.current_thread() is threading.main_thread() and timeout > 0:

        def on_alarm(_signum: int, _frame: object) -> None:
            raise _LockDeadline

        previous = signal.signal(signal.SIGALRM, on_alarm)
        old_timer = signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except _LockDeadline:
            raise too_long() from None
        except OSError as exc:
            raise WriteError(f"{target}: cannot lock {lock}: {exc.strerror}") from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if old_timer[0] > 0:  # pragma: no cover - nobody else arms the timer
                signal.setitimer(signal.ITIMER_REAL, *old_timer)
        return
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise too_long() from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        except OSError as exc:
            raise WriteError(f"{target}: cannot lock {lock}: {exc.strerror}") from None


def read_existing(target: Path, display: Path) -> tuple[bytes | None, os.stat_result | None]:
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise WriteError(f"{display}: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(f"{display}: not a regular file; file unchanged")
    check_replaceable(target, info, display)
    try:
        with open(target, "rb") as fh:
            return fh.read(), info
    except OSError as exc:
        raise WriteError(f"{display}: cannot read: {exc.strerror}") from None


def check_size(payload: bytes, display: str) -> None:
    """Refuse a write whose result every reader would refuse (the read size cap)."""
    if len(payload) > MAX_FILE_BYTES:
        raise WriteError(
            f"{display}: the file would be {len(payload):,} bytes, over the read limit of "
            f"{MAX_FILE_BYTES:,} bytes; split the measurements into another file; file unchanged"
        )


# Signal masks to restore once the command that committed a write has finished.
_HELD: list[set[int | signal.Signals] | None] = []
_DEFERRED = {signal.SIGINT, signal.SIGTERM}


def hold_interrupts() -> set[int | signal.Signals] | None:
    """Block SIGINT and SIGTERM (main thread only); returns the mask to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)


def restore_interrupts(mask: set[int | signal.Signals] | None) -> None:
    """Restore the mask: an interrupt that arrived meanwhile is delivered now."""
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def release_interrupts(*, until_exit: bool = False) -> bool:
    """After a committed write's command finished: drop interrupts that arrived after
    the rename and restore the mask. Returns True when a write was committed.

    `until_exit` (the `kpitrack` process, which exits right after): SIGINT and SIGTERM
    stay ignored from here on, so a signal between the printed result and the exit
    cannot turn a committed write into exit 130 or a death by signal."""
    if not _HELD:
        return False
    mask = _HELD[0]
    _HELD.clear()
    if mask is not None:
        handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _DEFERRED}
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        finally:
            if not until_exit:
                for sig, handler in handlers.items():
                    signal.signal(sig, handler)
    return True


def commit(target: Path, payload: bytes, *, mode: int | None) -> None:
    """Replace `target` with `payload` atomically, the last step of a write.

    Once the rename is done an interrupt must not turn a written entry into exit 130
    (a retrying caller would write it twice): SIGINT and SIGTERM stay pending until
    the command has printed its result (`release_interrupts`).
    """
    held = hold_interrupts()
    try:
        atomic_write_bytes(target, payload, mode=mode)
    except BaseException:
        restore_interrupts(held)
        raise
    _HELD.append(held)
