"""A warm start: the checked measurement columns of measurement files, cached by content.

A measurement file that holds only a `measurements` list, all of whose rows pass the
builder's checks (`builder._Builder._rows`), ends up as a few rows appended to each of
its KPIs' columns (`series.Series`). A second load of the same bytes reads those
columns back (`array.frombytes`) instead of scanning and checking the file again.

- **Keyed by content.** A cache file is named by a SHA-256 hash of the file's text
  (as UTF-8), kpitrack's version and this format's version: an edit, a checkout or
  another revision is other bytes, hence another name, so stale columns are never
  served. The file's place in the workspace (its path, its rows' reading order) is
  not in the cache: the load supplies it.
- **Checked against the definitions.** The checks depend on the KPI definitions the
  rows name: whether each is a valid KPI, its kind and (qualitative) its scale. A cache
  file records them for every KPI it holds (`CheckedFile.kpis`); the builder uses it
  only when every one is as the current definitions say, else it scans and checks the
  file again (and writes the new result). A changed, removed or invalid KPI can never
  be served another definition's checks; a change to a KPI the file does not name
  costs nothing.
- **Never trusted blindly.** The payload carries an HMAC-SHA256 whose key is a random
  secret kept in the cache folder (mode 0600); a format version, kpitrack's version,
  the byte order and every length, index, date and position are checked before a
  column is built. A corrupt, truncated, foreign or crafted file is ignored (and
  replaced by the next write): a file copied in from elsewhere, such as a pull
  request, cannot change a number. No pickle, no marshal: arrays of numbers and UTF-8
  strings.
- **Bounded.** After a run that wrote, the least recently used files go first
  (`max_bytes`). Any OS error turns the cache off for the process, never the load.

The shell passes the folder, `$XDG_CACHE_HOME/kpitrack` (by default
`~/.cache/kpitrack`), never the workspace. Only files of at least
`reading.ROW_CACHE_MIN_CHARS` characters are cached: a smaller file is quicker to scan
than to look up, and a command on small files never imports this module. Files with a
problem are never cached (they take the full reader, as without the cache).
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import struct
import sys
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

from kpitrack import reading
from kpitrack.domain.model import Kind

if TYPE_CHECKING:
    from kpitrack.domain.series import Series

FORMAT = 2
MAGIC = b"kpitrack cols\x00\x00\x00"  # 16 bytes
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
SUFFIX = ".rows"
_HEADER = struct.Struct("<16sIBxxxQ32s")  # magic, format, byte order, payload size, MAC
_COUNTS = struct.Struct("<QQQQQ")  # rows, KPIs, runs, strings, string bytes
_ORDER = 1 if sys.byteorder == "little" else 2
KINDS = (Kind.QUANTITATIVE, Kind.PROGRESS, Kind.QUALITATIVE)  # a kind's code: its position
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
_MAX_ORDINAL = 3652059  # date.max.toordinal()


class CheckedFile:
    """One file's checked measurements, as the builder appends them: per KPI (in the
    order the file first names them) a run of positions in the columns below, and
    the definition it was checked against (`kpis`: id, kind, scale)."""

    __slots__ = (
        "bys",
        "columns",
        "count",
        "dates",
        "kpis",
        "lines",
        "notes",
        "positions",
        "runs",
        "segments",
        "values",
    )

    def __init__(self) -> None:
        self.count = 0
        self.kpis: list[tuple[str, Kind, tuple[str, ...]]] = []
        # Per KPI: (first position, end position, first run, end run) in the columns.
        self.segments: list[tuple[int, int, int, int]] = []
        self.runs = array("q")  # (first order, length) pairs: reading order within the file
        self.dates = array("i")
        self.values = array("d")  # a number, or the position of a label on the scale
        self.lines = array("i")
        self.columns = array("i")
        self.notes: list[str | None] = []
        self.bys: list[str | None] = []
        self.positions: dict[int, array[int]] = {}  # per qualitative KPI: its labels' positions


class RowCache:
    """The cache folder; `get` and `put` never raise (an OS error switches it off)."""

    def __init__(self, folder: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._secret: bytes | None = None
        self.off = False
        # Files read back; of them, checked against other definitions (the builder
        # checks them again); files written.
        self.hits = self.stale = self.writes = 0

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

    def name(self, text: str) -> Path | None:
        """The cache file for this content (None: too small to cache, or the cache is off)."""
        if len(text) < reading.ROW_CACHE_MIN_CHARS or self._key() is None:
            return None
        from hashlib import sha256

        from kpitrack import __version__

        digest = sha256(f"kpitrack rows {FORMAT} {__version__}\x00".encode())
        digest.update(text.encode("utf-8", "surrogatepass"))
        return self.folder / (digest.hexdigest() + SUFFIX)

    @staticmethod
    def _mac(key: bytes, payload: bytes | memoryview) -> bytes:
        import hmac

        return hmac.digest(key, payload, "sha256")

    # ------------------------------------------------------------ reading

    def get(self, name: Path, texts: dict[str, str]) -> CheckedFile | None:
        """The checked columns cached under `name`, or None. `texts`: the load's shared
        strings (one per distinct id, note, author)."""
        key = self._key()
        if key is None:
            return None
        try:
            data = name.read_bytes()
        except OSError:
            return None
        found = _decode(data, key, texts)
        if found is not None:
            self.hits += 1
            with contextlib.suppress(OSError):
                os.utime(name)  # recently used: evicted last
        return found

    # ------------------------------------------------------------ writing

    def put(self, name: Path, checked: CheckedFile) -> None:
        """Remember a file's checked columns under its name (see `name`)."""
        key = self._key()
        if key is None or not checked.count:
            return
        payload = _encode(checked)
        header = _HEADER.pack(MAGIC, FORMAT, _ORDER, len(payload), self._mac(key, payload))
        temp = name.with_name(f".{name.name}.{os.getpid()}.tmp")
        try:
            with temp.open("wb") as f:
                f.write(header)
                f.write(payload)
            os.replace(temp, name)
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


# ---------------------------------------------------------------- from the builder


def checked_file(
    segments: dict[str, tuple[Series, int]],
    definitions: dict[str, tuple[Kind, tuple[str, ...]]],
    base: int,
) -> CheckedFile:
    """What a file appended to each series (`segments`: KPI id → its series and length
    before the file, in the order the file first names them), its reading order counted
    from `base`; `definitions`: each KPI's kind and scale as checked."""
    checked = CheckedFile()
    runs = checked.runs
    for kpi_id, (series, start) in segments.items():
        first_run = len(runs) // 2
        kind, scale = definitions[kpi_id]
        values = series.values[start:]
        if kind is Kind.QUALITATIVE:
            values = array("d", map(scale.index, values))
        orders = series.orders[start:]
        n = len(orders)
        if orders[-1] - orders[0] == n - 1:  # one run: rows of a KPI usually come together
            runs.extend((orders[0] - base, n))
        else:
            run_start = previous = orders[0]
            for order in orders[1:]:
                if order != previous + 1:
                    runs.extend((run_start - base, previous - run_start + 1))
                    run_start = order
                previous = order
            runs.extend((run_start - base, previous - run_start + 1))
        at = checked.count
        checked.kpis.append((kpi_id, kind, scale if kind is Kind.QUALITATIVE else ()))
        checked.segments.append((at, at + n, first_run, len(runs) // 2))
        checked.count += n
        checked.dates.extend(series.dates[start:])
        checked.values.extend(values)  # type: ignore[arg-type]
        checked.lines.extend(series.lines[start:])
        checked.columns.extend(series.columns[start:])
        checked.notes.extend(series.notes[start:])
        checked.bys.extend(series.bys[start:])
    return checked


# ---------------------------------------------------------------- the format


def _encode(checked: CheckedFile) -> bytes:
    strings: dict[str | None, None] = {}
    for kpi_id, _, scale in checked.kpis:
        strings[kpi_id] = None
        strings.update(dict.fromkeys(scale))
    strings.update(dict.fromkeys(checked.notes))
    strings.update(dict.fromkeys(checked.bys))
    table = [s for s in strings if s is not None]
    index: dict[str | None, int] = {s: i for i, s in enumerate(table, 1)}
    index[None] = 0
    encoded = [s.encode("utf-8", "surrogatepass") for s in table]
    lengths = array("q", map(len, encoded))
    kpis = array("q")
    scales = array("q")
    for (kpi_id, kind, scale), segment in zip(checked.kpis, checked.segments, strict=True):
        kpis.extend((index[kpi_id], _KIND_CODE[kind], len(scales), len(scale), *segment))
        scales.extend(map(index.__getitem__, scale))
    blob = b"".join(encoded)
    from kpitrack import __version__

    version = __version__.encode()
    return b"".join(
        (
            struct.pack("<H", len(version)),
            version,
            _COUNTS.pack(
                checked.count, len(checked.kpis), len(checked.runs) // 2, len(table), len(blob)
            ),
            struct.pack("<Q", len(scales)),
            lengths.tobytes(),
            blob,
            kpis.tobytes(),
            scales.tobytes(),
            checked.runs.tobytes(),
            checked.dates.tobytes(),
            checked.values.tobytes(),
            checked.lines.tobytes(),
            checked.columns.tobytes(),
            array("I", map(index.__getitem__, checked.notes)).tobytes(),
            array("I", map(index.__getitem__, checked.bys)).tobytes(),
        )
    )


def _strings(table: list[str | None], indexes: array[int]) -> list[str | None]:
    """The strings at these (unsigned) indexes; IndexError for one beyond the table. Often
    one for every row (every entry by one author, no entry with a note)."""
    if indexes and min(indexes) == max(indexes):
        return [table[indexes[0]]] * len(indexes)
    return list(map(table.__getitem__, indexes))


class _Invalid(Exception):
    pass


def _decode(data: bytes, key: bytes, texts: dict[str, str]) -> CheckedFile | None:
    try:
        return _decode_checked(data, key, texts)
    except (_Invalid, struct.error, ValueError, IndexError, UnicodeDecodeError, OverflowError):
        return None


def _decode_checked(data: bytes, key: bytes, texts: dict[str, str]) -> CheckedFile:
    from hmac import compare_digest

    from kpitrack import __version__

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

    def numbers(code: str, n: int) -> array:  # type: ignore[type-arg]
        column = array(code)
        column.frombytes(take(n * column.itemsize))
        return column

    (length,) = struct.unpack("<H", take(2))
    if bytes(take(length)) != __version__.encode():
        raise _Invalid
    count, kpi_count, run_count, strings, blob_size = _COUNTS.unpack(take(_COUNTS.size))
    (scale_count,) = struct.unpack("<Q", take(8))
    lengths = numbers("q", strings)
    if strings and (min(lengths) < 0 or sum(lengths) != blob_size):
        raise _Invalid
    blob = bytes(take(blob_size))
    shared = texts.setdefault
    table: list[str | None] = [None]  # index 0: none (no note, no author)
    offset = 0
    for n in lengths:
        text = blob[offset : offset + n].decode("utf-8")
        offset += n
        table.append(shared(text, text))
    kpis = numbers("q", kpi_count * 8)
    scales = numbers("q", scale_count)
    if scales and (min(scales) < 1 or max(scales) > strings):
        raise _Invalid
    checked = CheckedFile()
    checked.runs = runs = numbers("q", run_count * 2)
    checked.count = count
    checked.dates = numbers("i", count)
    checked.values = numbers("d", count)
    checked.lines = numbers("i", count)
    checked.columns = numbers("i", count)
    indexes = (numbers("I", count), numbers("I", count))  # unsigned: never from the end
    if at != len(payload):
        raise _Invalid
    # A date must be one (a day's ordinal); lines and columns are only shown, and the
    # MAC proves this folder's own write: they are not read twice over.
    if count and (min(checked.dates) < 1 or max(checked.dates) > _MAX_ORDINAL):
        raise _Invalid
    get = table.__getitem__
    checked.notes, checked.bys = (_strings(table, c) for c in indexes)
    # Every KPI: a valid id and kind, a scale of known strings (a qualitative KPI's
    # alone), a part of the positions and runs that starts where the previous one ended,
    # and runs of reading order within the file that hold as many rows as its part.
    names, kinds, scale_ats, scale_lens = kpis[0::8], kpis[1::8], kpis[2::8], kpis[3::8]
    firsts, ends, first_runs, end_runs = kpis[4::8], kpis[5::8], kpis[6::8], kpis[7::8]
    if not kpi_count or min(names) < 1 or max(names) > strings:
        raise _Invalid
    if min(kinds) < 0 or max(kinds) >= len(KINDS) or min(scale_ats) < 0 or min(scale_lens) < 0:
        raise _Invalid
    if max(map(operator.add, scale_ats, scale_lens)) > len(scales):
        raise _Invalid
    if firsts[0] != 0 or firsts[1:] != ends[:-1] or ends[-1] != count:
        raise _Invalid
    if first_runs[0] != 0 or first_runs[1:] != end_runs[:-1] or end_runs[-1] != run_count:
        raise _Invalid
    if not all(map(operator.lt, firsts, ends)) or not all(map(operator.lt, first_runs, end_runs)):
        raise _Invalid
    starts, lengths = runs[0::2], runs[1::2]
    if min(starts) < 1 or min(lengths) < 1 or max(map(operator.add, starts, lengths)) > count + 1:
        raise _Invalid
    rows = [0, *itertools.accumulate(lengths)]
    if list(map(rows.__getitem__, end_runs)) != ends.tolist():
        raise _Invalid
    ids = list(map(get, names))
    if len(set(ids)) != kpi_count:
        raise _Invalid
    qualitative = KINDS.index(Kind.QUALITATIVE)
    labels: list[tuple[str, ...]] = [()] * kpi_count
    scaled = [i for i, kind in enumerate(kinds) if kind == qualitative]
    if sum(scale_lens) != sum(scale_lens[i] for i in scaled):
        raise _Invalid  # a scale for a KPI of numbers
    for i in scaled:
        at, n = scale_ats[i], scale_lens[i]
        labels[i] = tuple(map(get, scales[at : at + n]))  # type: ignore[arg-type]
        # A label's position: a whole number (ValueError, OverflowError) on the scale.
        positions = array("I", map(int, checked.values[firsts[i] : ends[i]]))
        if max(positions) >= n:
            raise _Invalid
        checked.positions[i] = positions
    checked.kpis = list(zip(ids, map(KINDS.__getitem__, kinds), labels, strict=True))  # type: ignore[arg-type]
    checked.segments = list(zip(firsts, ends, first_runs, end_runs, strict=True))
    return checked
