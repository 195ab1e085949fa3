"""A warm start: the compact rows of large measurement files, cached by their content.

The scanner (`yamlnodes.scan_rows` / `parse_rows`) turns a measurement file into
`Rows`; a second load of the same bytes can read them back instead. A cache file is
named by a hash of the file's text, kpitrack's version and this format's version, so
an edit, a checkout or another revision can never be served stale rows: other bytes
are another name. It lives in the user's cache folder (the shell passes
`$XDG_CACHE_HOME/kpitrack`, by default `~/.cache/kpitrack`), never in the workspace.

A cache file is trusted only when it proves it was written here: its payload carries a
keyed hash (BLAKE2b) with a random secret kept in the cache folder (mode 0600), and a
format version, kpitrack's version, the byte order and every length and index are
checked before a row is built. A corrupt, truncated, foreign or crafted file is
ignored (and replaced by the next write): a file copied in from elsewhere, such as a
pull request, cannot change a number. No pickle, no marshal: arrays of integers and
UTF-8 strings. The folder is bounded (`max_bytes`): after a write, the least recently
used files go first. Any OS error turns the cache off for the process, never the load.

Only files of at least `reading.ROW_CACHE_MIN_CHARS` characters whose parse is rows
alone (a file holding only a `measurements` list) are cached: a small file is quicker
to scan than to look up, and a command on small files never imports this module.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

from kpitrack import reading

if TYPE_CHECKING:
    from kpitrack.reading.yamlnodes import Node, Rows

FORMAT = 1
MAGIC = b"kpitrack rows\x00\x00\x00"  # 16 bytes
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
SUFFIX = ".rows"
_HEADER = struct.Struct("<16sIBxxxQ32s")  # magic, format, byte order, payload size, MAC
_MARKS = struct.Struct("<13q")  # root, key and list: line, column, end line, end column; flows
_COUNTS = struct.Struct("<QQQ")  # rows, strings, string bytes
_ORDER = 1 if sys.byteorder == "little" else 2


class RowCache:
    """The cache folder; `get` and `put` never raise (an OS error switches it off)."""

    def __init__(self, folder: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._secret: bytes | None = None
        self.off = False
        self.hits = self.writes = 0

    # ------------------------------------------------------------ the secret

    def _key(self) -> bytes | None:
        if self._secret is None and not self.off:
            try:
                self._secret = self._read_or_make_secret()
            except OSError:
                self.off = True
        return self._secret

    def _read_or_make_secret(self) -> bytes:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.folder / "secret"
        try:
            with path.open("rb") as f:
                secret = f.read(64)
            if len(secret) == 32:
                return secret
            path.unlink()  # not one of ours: start again
        except FileNotFoundError:
            pass
        secret = os.urandom(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secret)
        finally:
            os.close(fd)
        return secret

    # ------------------------------------------------------------ names and MACs

    def _path(self, text: str) -> tuple[Path, bytes] | None:
        key = self._key()
        if key is None:
            return None
        from hashlib import blake2b

        from kpitrack import __version__

        digest = blake2b(
            text.encode("utf-8", "surrogatepass"),
            digest_size=24,
            person=f"rows{FORMAT}".encode(),
            salt=__version__.encode()[:16],
        )
        return self.folder / (digest.hexdigest() + SUFFIX), key

    @staticmethod
    def _mac(key: bytes, payload: bytes | memoryview) -> bytes:
        from hashlib import blake2b

        return blake2b(payload, key=key, digest_size=32).digest()

    # ------------------------------------------------------------ reading

    def get(self, text: str, path: str, texts: dict[str, str]) -> tuple[Node, Rows] | None:
        """The cached parse of `text` (display path `path`), or None."""
        if len(text) < reading.ROW_CACHE_MIN_CHARS or self.off:
            return None
        named = self._path(text)
        if named is None:
            return None
        file, key = named
        try:
            data = file.read_bytes()
        except OSError:
            return None
        found = _decode(data, key, path, texts)
        if found is not None:
            self.hits += 1
            with contextlib.suppress(OSError):
                os.utime(file)  # recently used: evicted last
        return found

    # ------------------------------------------------------------ writing

    def put(self, text: str, root: Node | None, rows: Rows) -> None:
        """Remember the parse of `text` when it is rows alone (see the module's docstring)."""
        if len(text) < reading.ROW_CACHE_MIN_CHARS or self.off or not rows:
            return
        marks = _marks(root)
        if marks is None:
            return
        named = self._path(text)
        if named is None:
            return
        file, key = named
        payload = _encode(marks, rows)
        header = _HEADER.pack(MAGIC, FORMAT, _ORDER, len(payload), self._mac(key, payload))
        temp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        try:
            with temp.open("wb") as f:
                f.write(header)
                f.write(payload)
            os.replace(temp, file)
            self.writes += 1
        except OSError:
            self.off = True
            with contextlib.suppress(OSError):
                temp.unlink()

    def evict(self) -> None:
        """Remove the least recently used files until the folder holds at most max_bytes."""
        if self.off or not self.writes:
            return
        try:
            entries = []
            total = 0
            with os.scandir(self.folder) as listing:
                for entry in listing:
                    if entry.name.endswith(SUFFIX) and entry.is_file(follow_symlinks=False):
                        info = entry.stat(follow_symlinks=False)
                        entries.append((info.st_mtime_ns, info.st_size, entry.path))
                        total += info.st_size
            if total <= self.max_bytes:
                return
            for _, size, name in sorted(entries):
                os.unlink(name)
                total -= size
                if total <= self.max_bytes:
                    break
        except OSError:
            pass


# ---------------------------------------------------------------- the format


def _marks(root: Node | None) -> tuple[int, ...] | None:
    """The 13 numbers that rebuild a rows-only root: None for any other root."""
    from kpitrack.reading.yamlnodes import Map, Scalar, Seq

    if type(root) is not Map or len(root.items) != 1:
        return None
    key, seq = root.items[0]
    if type(key) is not Scalar or key.text != "measurements" or not key.plain:
        return None
    if type(seq) is not Seq or seq.items:
        return None
    return (
        *(root.line, root.column, root.end_line, root.end_column),
        *(key.line, key.column, key.end_line, key.end_column),
        *(seq.line, seq.column, seq.end_line, seq.end_column),
        int(root.flow) | int(seq.flow) << 1,
    )


def _encode(marks: tuple[int, ...], rows: Rows) -> bytes:
    strings: dict[str | None, None] = dict.fromkeys(rows.kpis)
    for column in (rows.dates, rows.values, rows.notes, rows.bys):
        strings.update(dict.fromkeys(column))
    table = [s for s in strings if s is not None]
    index: dict[str | None, int] = {s: i for i, s in enumerate(table)}
    index[None] = -1
    encoded = [s.encode("utf-8", "surrogatepass") for s in table]
    lengths = array("q", map(len, encoded))
    columns = [
        rows.lines,
        rows.columns,
        *(array("i", map(index.__getitem__, c)) for c in (rows.kpis, rows.dates, rows.values)),
        *(array("i", map(index.__getitem__, c)) for c in (rows.notes, rows.bys)),
    ]
    blob = b"".join(encoded)
    from kpitrack import __version__

    version = __version__.encode()
    return b"".join(
        (
            struct.pack("<H", len(version)),
            version,
            _MARKS.pack(*marks),
            _COUNTS.pack(len(rows), len(table), len(blob)),
            lengths.tobytes(),
            blob,
            *(c.tobytes() for c in columns),
            bytes(rows.plains),
        )
    )


class _Invalid(Exception):
    pass


def _decode(data: bytes, key: bytes, path: str, texts: dict[str, str]) -> tuple[Node, Rows] | None:
    try:
        return _decode_checked(data, key, path, texts)
    except (_Invalid, struct.error, ValueError, IndexError, UnicodeDecodeError, OverflowError):
        return None


def _decode_checked(data: bytes, key: bytes, path: str, texts: dict[str, str]) -> tuple[Node, Rows]:
    from hmac import compare_digest

    from kpitrack import __version__
    from kpitrack.reading.yamlnodes import Map, Rows, Scalar, Seq

    if len(data) < _HEADER.size:
        raise _Invalid
    magic, fmt, order, size, mac = _HEADER.unpack_from(data)
    if magic != MAGIC or fmt != FORMAT or order != _ORDER or size != len(data) - _HEADER.size:
        raise _Invalid
    payload = memoryview(data)[_HEADER.size :]
    if not compare_digest(mac, RowCache._mac(key, payload)):
        raise _Invalid
    at = 0

    def take(n: int) -> memoryview:
        nonlocal at
        if n < 0 or at + n > len(payload):
            raise _Invalid
        at += n
        return payload[at - n : at]

    (length,) = struct.unpack("<H", take(2))
    if bytes(take(length)) != __version__.encode():
        raise _Invalid
    marks = _MARKS.unpack(take(_MARKS.size))
    count, strings, blob_size = _COUNTS.unpack(take(_COUNTS.size))
    lengths = array("q")
    lengths.frombytes(take(strings * lengths.itemsize))
    if strings and (min(lengths) < 0 or sum(lengths) != blob_size):
        raise _Invalid
    blob = bytes(take(blob_size))
    shared = texts.setdefault
    table: list[str | None] = []
    offset = 0
    for n in lengths:
        text = blob[offset : offset + n].decode("utf-8")
        offset += n
        table.append(shared(text, text))
    table.append(None)  # index -1
    rows = Rows()
    if rows.lines.itemsize != 4:
        raise _Invalid  # pragma: no cover - a platform with another int size
    rows.lines.frombytes(take(count * 4))
    rows.columns.frombytes(take(count * 4))
    indexes = []
    for optional in (False, False, False, True, True):
        column = array("i")
        column.frombytes(take(count * 4))
        if count and (min(column) < (-1 if optional else 0) or max(column) >= len(table) - 1):
            raise _Invalid
        indexes.append(column)
    plains = bytes(take(count))
    if at != len(payload) or plains.translate(None, b"\x00\x01"):
        raise _Invalid
    if count and (min(rows.lines) < 1 or min(rows.columns) < 1):
        raise _Invalid
    get = table.__getitem__
    kpis, dates, values, notes, bys = (list(map(get, c)) for c in indexes)
    rows.kpis, rows.dates, rows.values = kpis, dates, values  # type: ignore[assignment]
    rows.notes, rows.bys = notes, bys
    rows.plains = bytearray(plains)
    if min(marks[:12]) < 1:
        raise _Invalid
    root = Map.__new__(Map)
    scalar = Scalar.__new__(Scalar)
    seq = Seq.__new__(Seq)
    root.line, root.column, root.end_line, root.end_column = marks[0:4]
    scalar.line, scalar.column, scalar.end_line, scalar.end_column = marks[4:8]
    seq.line, seq.column, seq.end_line, seq.end_column = marks[8:12]
    root.flow, seq.flow = bool(marks[12] & 1), bool(marks[12] & 2)
    root.path = scalar.path = seq.path = path
    scalar.text, scalar.plain = "measurements", True
    seq.items = []
    root.items = [(scalar, seq)]
    return root, rows
