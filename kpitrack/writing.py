"""Locked, atomic, byte-preserving writes (record, import, init, -o FILE).

The guarantees (SPEC §5, decisions in docs/writing.md):

- An append takes an exclusive `fcntl.flock` on a stable sidecar `<file>.lock`
  beside the symlink-resolved target (never on the data file, which is renamed
  over), re-reads the file under the lock, and builds the new text by
  *inserting* lines after the last entry of the `measurements` list, in the
  style of that entry. Every byte before the insertion point and after it is
  kept.
- The new text is parsed again and must hold exactly the old document plus
  the new entries (and, with a verifier, the workspace must load with exactly
  the old measurements plus the new ones and no new errors).
- The bytes go to a temporary file in the same folder, which is fsynced and
  renamed over the target; then the folder is fsynced. Any failure leaves the
  target as it was and removes the temporary file. Temporary files left by a
  killed writer are removed by the next write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import math
import os
import re
import secrets
import signal
import socket
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kpitrack.model import Measurement, Value, Workspace
from kpitrack.problems import Problem, WriteError
from kpitrack.yamlnodes import BOM as BOM  # the one BOM; renaming and reviewing import it here
from kpitrack.yamlnodes import (
    MAX_FILE_BYTES,
    NOT_TEXT_WORDS,
    Map,
    Node,
    Scalar,
    Seq,
    YamlFatal,
    decode,
    parse,
    scalar_value,
)

if TYPE_CHECKING:
    import datetime as dt

    from kpitrack.loading import ParseMemo
    from kpitrack.model import Config

TEMP_PREFIX = ".kpitrack-tmp-"
LOCK_SUFFIX = ".lock"
# How long a writer waits for another one to finish before giving up.
LOCK_TIMEOUT = 60.0
# A temporary file is an orphan when its writer (same host) is gone, or when it
# is older than this whatever its name says (other hosts, other pid namespaces).
ORPHAN_AGE = 3600.0
MEASUREMENT_KEYS = ("kpi", "date", "value", "note", "by")

# Called under the lock with the file's current text (None: no file yet); returns
# the entries to append (a caller may drop duplicates here).
Plan = Callable[[str | None], Sequence[Measurement]]
# Called under the lock with the old text (None: no file) and the new text; raises
# WriteError to refuse; returns problems worth showing (new warnings).
Verify = Callable[[str | None, str], list[Problem]]


# ---------------------------------------------------------------- low-level file operations


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


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _temp_name() -> str:
    """`.kpitrack-tmp-<host>-<pid>-<random>.tmp`: lets the next writer tell an orphan."""
    return f"{TEMP_PREFIX}{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


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
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - os.write raises instead
            raise OSError(errno.EIO, "short write")
        view = view[written:]


def _write_temp(folder: Path, data: bytes, mode: int | None, display: Path) -> Path:
    """A fully written and fsynced temporary file in `folder`."""
    tmp = folder / _temp_name()
    try:
        # 0o666 lets the umask decide for a new file, like any other program's.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise WriteError(f"{display}: cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise WriteError(
                f"{display}: write failed, file unchanged: {exc.strerror or exc}"
            ) from None
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, rename it over `path`.

    A symlink stays a symlink (its target is replaced). Any failure leaves `path`
    as it was and no temporary file behind.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    tmp = _write_temp(folder, data, mode, path)
    try:
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
    """Write an output file (`-o`: reports, exports) without harming what is there.

    A character device (`/dev/null`, `/dev/stdout` on a terminal) or a FIFO
    (`/dev/stdout` into a pipe, a named pipe) is opened and written, never
    replaced. A regular file follows `record`'s rules: a read-only file or one
    with several hard links is refused; otherwise it is replaced atomically,
    keeping its mode. Anything else (a folder, a socket, a block device) is refused.
    """
    data = text.encode("utf-8")
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
        _check_replaceable(Path(os.path.realpath(path)), info, path)
    folder = Path(os.path.realpath(path)).parent
    check_folder(folder, path)
    atomic_write_bytes(path, data, mode=None if info is None else stat.S_IMODE(info.st_mode))


def _write_stream(path: Path, data: bytes) -> None:
    """Write to a device or FIFO by opening it, as a shell's `>` would (no create, no rename)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise WriteError(f"{path}: cannot open for writing: {exc.strerror or exc}") from None
    try:
        _write_all(fd, data)
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
    if not os.access(folder, os.W_OK | os.X_OK) or not info.st_mode & 0o222:
        raise WriteError(
            f"{display}: folder {folder} is read-only (permission denied); nothing written"
        )


def _check_replaceable(target: Path, info: os.stat_result, display: Path | str) -> None:
    """A regular file a write would replace: not read-only, no other hard links."""
    # Root passes os.access(W_OK) for any file, so look at the mode bits too:
    # a rename would silently replace a file its owner made read-only.
    if not os.access(target, os.W_OK) or not info.st_mode & 0o222:
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
            tmp.unlink()
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


# ---------------------------------------------------------------- YAML text we write


# Safe plain scalars: start with a letter (or non-ASCII), hold no YAML indicator
# that could end or change the scalar in block or flow context.
_PLAIN = re.compile(r"[^\W\d_][^:#,\[\]{}\"'\\`|>!&*%@?]*")


def _printable(ch: str) -> bool:
    code = ord(ch)
    return (
        0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or 0x10000 <= code <= 0x10FFFF
    )


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _double_quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValueError("text is not valid Unicode (a lone surrogate)")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:  # pragma: no cover - every character above 0xFFFF is printable
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def yaml_scalar(text: str) -> str:
    """`text` as a YAML scalar that any YAML reader gives back as this very string.

    Plain when that is unambiguous (a word-like text: `on track`, `Ana`), double
    quoted otherwise (`no`, `null`, `12`, `2026-01-01`, `a: b`, `#1`, `- x`, ` pad`).
    Raises ValueError for text that cannot be written as UTF-8 (lone surrogates).
    """
    if (
        _PLAIN.fullmatch(text)
        and text == text.strip()
        and text not in NOT_TEXT_WORDS
        and all(_printable(ch) for ch in text)
    ):
        return text
    return _double_quoted(text)


def yaml_number(value: float) -> str:
    """A finite number as YAML text that reads back as the same number."""
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    return text


def yaml_value(value: Value) -> str:
    return yaml_scalar(value) if isinstance(value, str) else yaml_number(value)


def entry_fields(m: Measurement) -> list[tuple[str, str]]:
    """The (key, YAML text) pairs of one measurement, in canonical order."""
    fields = [("kpi", yaml_scalar(m.kpi)), ("date", m.date.isoformat())]
    fields.append(("value", yaml_value(m.value)))
    if m.note is not None:
        fields.append(("note", yaml_scalar(m.note)))
    if m.by is not None:
        fields.append(("by", yaml_scalar(m.by)))
    return fields


# ---------------------------------------------------------------- inserting text

_UNPARSED = object()


_LINE = re.compile(r"[^\r\n\x85\u2028\u2029]*(?:\r\n|\r|\n|\x85|\u2028|\u2029)?")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split where libyaml counts a new line."""
    lines = [m.group(0) for m in _LINE.finditer(text)]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def newline_of(text: str) -> str:
    """The file's line ending: that of its first line (LF for a file without one)."""
    m = re.search(r"\r\n|\n|\r", text)
    return m.group(0) if m else "\n"


@dataclass(frozen=True)
class EntryStyle:
    dash_column: int  # 0-based column of the `-`
    gap: int  # spaces between `-` and the entry
    flow: bool  # `- {kpi: x, ...}` one-line entries
    padded: bool  # `{ kpi: x }` rather than `{kpi: x}`
    key_order: tuple[str, ...] = MEASUREMENT_KEYS

    def render(self, m: Measurement, newline: str) -> str:
        values = dict(entry_fields(m))
        fields = [(k, values[k]) for k in key_order(self.key_order) if k in values]
        prefix = " " * self.dash_column + "-" + " " * self.gap
        if self.flow:
            inner = ", ".join(f"{k}: {v}" for k, v in fields)
            body = f"{{ {inner} }}" if self.padded else f"{{{inner}}}"
            return prefix + body + newline
        indent = " " * (self.dash_column + 1 + self.gap)
        lines = [f"{k}: {v}" for k, v in fields]
        return prefix + (newline + indent).join(lines) + newline


def key_order(seen: Sequence[str]) -> list[str]:
    """All measurement keys: those of a neighbouring entry in its order, each other
    key placed right after the canonical key before it (`date, kpi, value` →
    `date, kpi, value, note, by`)."""
    order = [k for k in seen if k in MEASUREMENT_KEYS]
    for i, k in enumerate(MEASUREMENT_KEYS):
        if k in order:
            continue
        before = [order.index(p) for p in MEASUREMENT_KEYS[:i] if p in order]
        order.insert(max(before) + 1 if before else 0, k)
    return order


def _content_end(node: Node) -> tuple[int, int]:
    """(line, column) just after the last character that belongs to `node`.

    Block collections end where the next token starts (after comments and
    blank lines), so their end is taken from their last child instead.
    """
    if isinstance(node, Scalar) or node.flow:
        return node.end_line, node.end_column
    ends = [(node.line, node.column)]
    if isinstance(node, Seq):
        ends.extend(_content_end(item) for item in node.items)
    else:
        for key, value in node.items:
            ends.append(_content_end(key))
            ends.append(_content_end(value))
    return max(ends)


_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")
_BLOCK_HEADER = re.compile(r"([|>])([1-9+-]*)")


def _last_scalar(node: Node) -> Scalar | None:
    """The scalar whose text ends the node (the last one in document order)."""
    if isinstance(node, Scalar):
        return node
    children: list[Node] = list(node.items) if isinstance(node, Seq) else []
    if isinstance(node, Map):
        children = [n for pair in node.items for n in pair]
    best: Scalar | None = None
    for child in children:
        found = _last_scalar(child)
        if found is not None and (
            best is None or (found.end_line, found.end_column) >= (best.end_line, best.end_column)
        ):
            best = found
    return best


def _end_line(head: str, root: Node, newline: str) -> str:
    """`head` (text without a final line break) with one added.

    A block scalar (`|`, `>`, `|+`) that ends the text without a line break
    reads without a trailing newline; the added line break would become part
    of its value. Its chomping is made `-` (strip), which reads the same text
    with or without the break: the one byte before the insertion point that
    must change for the value to stay as it was.
    """
    last = _last_scalar(root)
    lines = split_lines(head)
    if last is not None and not last.plain and 1 <= last.line <= len(lines):
        line = lines[last.line - 1]
        start = last.column - 1
        m = _BLOCK_HEADER.match(line, start)
        if m and "-" not in m[2]:
            offset = sum(len(x) for x in lines[: last.line - 1])
            header = m[1] + m[2].replace("+", "") + "-"
            head = head[: offset + start] + header + head[offset + m.end() :]
    return head + newline


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _refuse(path: str, why: str) -> WriteError:
    return WriteError(f"{path}: cannot safely append measurements: {why}; file unchanged")


def _child_offset(root: Map) -> int:
    """How far the file indents list entries under a top-level key (default 2)."""
    for key, value in root.items:
        if isinstance(value, Seq) and not value.flow and value.line > key.line:
            return max(0, value.column - key.column)
    return 2


def _style_of(seq: Seq, text_lines: list[str]) -> EntryStyle:
    dash = seq.column - 1
    last = seq.items[-1]
    line = text_lines[last.line - 1] if last.line - 1 < len(text_lines) else ""
    gap = last.column - 1 - dash - 1
    if not (
        1 <= gap <= 8
        and line[dash : dash + 1] == "-"
        and not line[dash + 1 : dash + 1 + gap].strip()
    ):
        gap = 1
    if isinstance(last, Map) and last.flow:
        after = line[last.column : last.column + 1]
        keys = tuple(k.text for k, _ in last.items if k.text in MEASUREMENT_KEYS)
        return EntryStyle(dash, gap, True, after == " ", keys or MEASUREMENT_KEYS)
    if isinstance(last, Map):
        keys = tuple(k.text for k, _ in last.items if k.text in MEASUREMENT_KEYS)
        return EntryStyle(dash, gap, False, False, keys or MEASUREMENT_KEYS)
    return EntryStyle(dash, 1, False, False)


def _parse_root(text: str, path: str) -> Node | None:
    try:
        root, problems = parse(text, path)
    except YamlFatal as exc:
        raise _refuse(path, f"it is not valid YAML ({exc.problem.format()})") from None
    if problems:
        raise _refuse(path, f"it has errors ({problems[0].format()})")
    return root


def insert_measurements(
    text: str | None,
    entries: Sequence[Measurement],
    *,
    path: str,
    old_root: Node | object | None = _UNPARSED,
) -> str:
    """The file's new text: `text` with `entries` inserted after the measurements list.

    Pure: no I/O. `text` is the decoded file without its BOM (None: no file);
    `old_root` its parse, when the caller has it already.
    Raises WriteError when the file cannot be appended to safely.
    """
    if not text:
        style = EntryStyle(2, 1, False, False)
        return "measurements:\n" + "".join(style.render(m, "\n") for m in entries)
    newline = newline_of(text)
    lines = split_lines(text)
    root = _parse_root(text, path) if old_root is _UNPARSED else old_root
    if root is None:  # only comments and blank lines
        style = EntryStyle(2, 1, False, False)
        head = text if text.endswith(("\n", "\r")) else text + newline
        return head + "measurements:" + newline + "".join(style.render(m, newline) for m in entries)
    if not isinstance(root, Map):
        raise _refuse(path, "the file is not a mapping of objectives, kpis and measurements")
    if root.flow:
        raise _refuse(path, "the file is written in flow style ({...})")
    key = next((k for k, _ in root.items if k.text == "measurements"), None)
    value = root.get("measurements")
    if key is None or value is None:
        # No list yet: add one at the end of the file, at the top-level indentation.
        indent = " " * (root.column - 1)
        style = EntryStyle(root.column - 1 + _child_offset(root), 1, False, False)
        head = text if text.endswith(_BREAKS) else _end_line(text, root, newline)
        body = "".join(style.render(m, newline) for m in entries)
        return head + indent + "measurements:" + newline + body
    if isinstance(value, Scalar):
        if not (value.plain and value.text == ""):
            raise _refuse(
                path,
                f"'measurements' (line {key.line}) is {value.text!r}, not a list; "
                "leave it empty or write a block list (`- kpi: ...`)",
            )
        # `measurements:` with nothing under it: entries go right after its line.
        style = EntryStyle(key.column - 1 + _child_offset(root), 1, False, False)
        after = key.line  # 1-based line number == index of the next line
    elif isinstance(value, Map):
        raise _refuse(path, f"'measurements' (line {key.line}) is a mapping, not a list")
    elif value.flow:
        raise _refuse(
            path,
            f"'measurements' (line {key.line}) is written in flow style ([...]); "
            "rewrite it as a block list, one `- kpi: ...` entry per item",
        )
    else:
        style = _style_of(value, lines)
        end_line, end_column = _content_end(value.items[-1])
        after = end_line if end_column > 1 else end_line - 1
        # Comments indented deeper than the `-` belong to the last entry.
        while (
            after < len(lines)
            and _is_comment(lines[after])
            and _indent(lines[after]) > style.dash_column
        ):
            after += 1
    if after > len(lines):
        raise _refuse(path, "could not find the end of the measurements list")
    head_lines, tail_lines = lines[:after], lines[after:]
    head = "".join(head_lines)
    if head and not head.endswith(_BREAKS):
        head = _end_line(head, root, newline)
    body = "".join(style.render(m, newline) for m in entries)
    return head + body + "".join(tail_lines)


# ---------------------------------------------------------------- checking what we wrote


def _shape(node: Node | None) -> object:
    """A node's data without positions: what must not change."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        return (node.text, node.plain)
    if isinstance(node, Seq):
        return ("seq", tuple(_shape(item) for item in node.items))
    return ("map", tuple((_shape(k), _shape(v)) for k, v in node.items))


def _entry_values(node: Node) -> dict[str, object] | None:
    if not isinstance(node, Map):
        return None
    out: dict[str, object] = {}
    for k, v in node.items:
        if not isinstance(v, Scalar):
            return None
        out[k.text] = scalar_value(v)
    return out


def _expected_values(m: Measurement) -> dict[str, object]:
    out: dict[str, object] = {"kpi": m.kpi, "date": m.date.isoformat(), "value": m.value}
    if m.note is not None:
        out["note"] = m.note
    if m.by is not None:
        out["by"] = m.by
    return out


def check_append(
    old: str | None,
    new: str,
    entries: Sequence[Measurement],
    *,
    path: str,
    old_root: Node | object | None = _UNPARSED,
) -> None:
    """The new text must hold the old document unchanged plus exactly `entries`.

    `old_root` is the old text's parse when the caller has it already.
    """
    try:
        new_root, problems = parse(new, path)
    except YamlFatal as exc:
        raise _refuse(path, f"the new text would not parse ({exc.problem.format()})") from None
    if problems or not isinstance(new_root, Map):
        raise _refuse(path, "the new text would not be a valid mapping")
    if old_root is _UNPARSED:
        old_root = _parse_root(old, path) if old else None
    new_seq = new_root.get("measurements")
    if not isinstance(new_seq, Seq):
        raise _refuse(path, "the new text would not hold a measurements list")
    old_items: list[Node] = []
    old_keys: list[object] = []
    if isinstance(old_root, Map):
        old_value = old_root.get("measurements")
        if isinstance(old_value, Seq):
            old_items = list(old_value.items)
        old_keys = [(_shape(k), _shape(v)) for k, v in old_root.items if k.text != "measurements"]
    new_keys = [(_shape(k), _shape(v)) for k, v in new_root.items if k.text != "measurements"]
    kept, added = new_seq.items[: len(old_items)], new_seq.items[len(old_items) :]
    if (
        old_keys != new_keys
        or [_shape(n) for n in kept] != [_shape(n) for n in old_items]
        or [_entry_values(n) for n in added] != [_expected_values(m) for m in entries]
    ):
        raise _refuse(path, "the new text would not hold exactly the old data plus the new entries")


# ---------------------------------------------------------------- appending


@dataclass(frozen=True)
class AppendResult:
    path: Path  # the file written (symlinks resolved)
    added: tuple[Measurement, ...]
    created_file: bool
    warnings: tuple[Problem, ...] = ()


def _read_existing(target: Path, display: Path) -> tuple[bytes | None, os.stat_result | None]:
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise WriteError(f"{display}: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(f"{display}: not a regular file; file unchanged")
    _check_replaceable(target, info, display)
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


def release_interrupts() -> bool:
    """After a committed write's command finished: drop interrupts that arrived after
    the rename and restore the mask. Returns True when a write was committed."""
    if not _HELD:
        return False
    mask = _HELD[0]
    _HELD.clear()
    if mask is not None:
        handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _DEFERRED}
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    return True


def _decode_existing(data: bytes | None, display: str) -> tuple[str | None, bool]:
    if data is None:
        return None, False
    try:
        return decode(data, display), data.startswith(BOM)
    except YamlFatal as exc:
        raise _refuse(display, exc.problem.message) from None


def _new_text(
    old: str | None, entries: Sequence[Measurement] | Plan, display: str
) -> tuple[tuple[Measurement, ...], str | None]:
    todo = tuple(entries(old) if callable(entries) else entries)
    if not todo:
        return todo, None
    old_root = _parse_root(old, display) if old else None
    try:
        new = insert_measurements(old, todo, path=display, old_root=old_root)
    except ValueError as exc:
        raise WriteError(f"{display}: {exc}; file unchanged") from None
    check_append(old, new, todo, path=display, old_root=old_root)
    return todo, new


def preview_append(
    path: Path, entries: Sequence[Measurement] | Plan, *, verify: Verify | None = None
) -> list[Problem]:
    """Everything `append_measurements` checks, without the lock and without writing.

    Returns the warnings the append would bring; raises WriteError when it would be refused.
    """
    target = Path(os.path.realpath(path))
    data, _info = _read_existing(target, path)
    old, bom = _decode_existing(data, str(path))
    _todo, new = _new_text(old, entries, str(path))
    if new is None:
        return []
    check_size((BOM if bom else b"") + new.encode("utf-8"), str(path))
    if verify is None:
        return []
    return verify(old, new)


def append_measurements(
    path: Path,
    entries: Sequence[Measurement] | Plan,
    *,
    verify: Verify | None = None,
    timeout: float = LOCK_TIMEOUT,
) -> AppendResult:
    """Append measurements to the YAML file at `path`, locked, atomic and byte-preserving.

    `entries` may be a function called under the lock with the file's current
    text, returning the entries to add (to skip duplicates of what is there now).
    Raises WriteError, with the file unchanged, when the append is refused or fails.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    check_folder(folder, path)
    if target.exists() and not target.is_file():
        raise WriteError(f"{path}: not a regular file; nothing written")
    display = str(path)
    with file_lock(target, timeout=timeout):
        remove_orphaned_temp_files(folder)
        data, info = _read_existing(target, path)
        old, bom = _decode_existing(data, display)
        todo, new = _new_text(old, entries, display)
        if new is None:
            return AppendResult(target, (), created_file=False)
        warnings = verify(old, new) if verify is not None else []
        payload = (BOM if bom else b"") + new.encode("utf-8")
        check_size(payload, display)
        mode = stat.S_IMODE(info.st_mode) if info is not None else None
        held = hold_interrupts()
        try:
            atomic_write_bytes(target, payload, mode=mode)
        except BaseException:
            restore_interrupts(held)
            raise
        # The rename is done: an interrupt from now on must not turn a written
        # entry into exit 130 (a retrying caller would write it twice). It stays
        # pending until the command has printed its result (`release_interrupts`).
        _HELD.append(held)
    return AppendResult(target, todo, created_file=data is None, warnings=tuple(warnings))


# ---------------------------------------------------------------- workspace-level check


def measurement_key(m: Measurement) -> tuple[str, str, str, str | None, str | None]:
    """What makes two measurements the same, whatever their position."""
    value = m.value if isinstance(m.value, str) else yaml_number(m.value)
    return (m.kpi, m.date.isoformat(), value, m.note, m.by)


def workspace_texts(
    sources: Sequence[tuple[str, Path]], target: Path, text: str | None
) -> tuple[list[tuple[str, str]], int]:
    """The workspace's (display path, text) pairs, read now, with `text` for the target.

    The target is matched by resolved path and added at the end when it is not
    among the sources. Returns the pairs and the target's index.
    """
    from kpitrack.loading import read_files

    real = Path(os.path.realpath(target))
    texts: list[tuple[str, str]] = []
    index: int | None = None
    for display, source in sources:
        if Path(os.path.realpath(source)) == real:
            index = len(texts)
            texts.append((display, text or ""))
            continue
        [(_shown, read)] = read_files([source])  # the loader's reader: size cap, no FIFOs
        if isinstance(read, Problem):
            raise WriteError(f"{display}: {read.message}; nothing written")
        texts.append((display, read))
    if index is None:
        index = len(texts)
        texts.append((str(target), text or ""))
    return texts, index


LoadResult = tuple[Workspace, list[Problem]]


class WorkspaceLoads:
    """Loads of the workspace with the target file's text replaced, remembered by the
    exact texts: the command's own load, `import`'s duplicate check and the
    before-check of `verify` are one load when nothing changed on disk meanwhile.

    `known` is a load already made: the texts it was made from and its result.
    """

    def __init__(
        self,
        sources: Sequence[tuple[str, Path]],
        target: Path,
        *,
        config: Config,
        as_of: dt.date,
        known: tuple[Sequence[tuple[str, str]], LoadResult] | None = None,
        memo: ParseMemo | None = None,
    ) -> None:
        self.sources, self.target = sources, target
        self.config, self.as_of = config, as_of
        # Parses of the last load, so unchanged files are not parsed again.
        self.memo: ParseMemo = {} if memo is None else memo
        self._done: dict[tuple[tuple[str, str], ...], LoadResult] = {}
        if known is not None:
            self._done[tuple(known[0])] = known[1]

    def texts(self, text: str | None) -> tuple[list[tuple[str, str]], int]:
        """The workspace's texts as they are now, with `text` for the target."""
        return workspace_texts(self.sources, self.target, text)

    def load(self, texts: Sequence[tuple[str, str]]) -> LoadResult:
        key = tuple(texts)
        done = self._done.get(key)
        if done is None:
            from kpitrack.loading import load_texts

            done = self._done[key] = load_texts(
                key, config=self.config, as_of=self.as_of, memo=self.memo
            )
        return done

    def with_target(self, text: str | None) -> LoadResult:
        """The workspace loaded with `text` as the target's content."""
        return self.load(self.texts(text)[0])


def workspace_verifier(
    loads: WorkspaceLoads, entries: Callable[[], Sequence[Measurement]]
) -> Verify:
    """A Verify that loads the whole workspace with the target's old and new text.

    `entries` gives the entries being added (known only under the lock).
    Requires exactly the old measurements plus the new ones and no new errors;
    returns the new warnings.
    """
    target = loads.target

    def verify(old: str | None, new: str) -> list[Problem]:
        texts, index = loads.texts(old)
        before_ws, before = loads.load(texts)
        texts[index] = (texts[index][0], new)
        after_ws, after = loads.load(texts)
        old_set = Counter(measurement_key(m) for m in before_ws.measurements)
        new_set = Counter(measurement_key(m) for m in after_ws.measurements)
        want = old_set + Counter(measurement_key(m) for m in entries())
        if new_set != want:
            raise WriteError(
                f"{target}: after the append the workspace would not hold exactly the old "
                "measurements plus the new ones; file unchanged"
            )

        def sig(p: Problem) -> tuple[str, str, str]:
            return (p.path, p.code, p.message)

        old_errors = Counter(sig(p) for p in before if p.is_error)
        new_errors = [p for p in after if p.is_error and sig(p) not in old_errors]
        if new_errors:
            shown = "; ".join(p.format() for p in new_errors[:3])
            raise WriteError(f"{target}: the append would add errors: {shown}; file unchanged")
        old_warnings = {sig(p) for p in before if not p.is_error}
        return [p for p in after if not p.is_error and sig(p) not in old_warnings]

    return verify
