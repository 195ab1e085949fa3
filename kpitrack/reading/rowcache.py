"""A warm start: the checked measurement columns of measurement files, cached by content.

A measurement file that holds only a `measurements` list, all of whose rows pass the
builder's checks (`builder._Builder._rows`), ends up as a few rows appended to each of
its KPIs' columns (`series.Series`). A second load of the same bytes reads those
columns back (`array.frombytes`) instead of scanning and checking the file again.

- **Keyed by content.** A cache file is named by a SHA-256 hash of the file's bytes
  as read, kpitrack's version and this format's version: an edit, a checkout or
  another revision is other bytes, hence another name, so stale columns are never
  served (and a file whose load's entry is used is never decoded). The file's place
  in the workspace (its path, its rows' reading order) is not in the cache: the load
  supplies it.
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
`reading.ROW_CACHE_MIN_CHARS` bytes are cached: a smaller file is quicker to scan
than to look up, and a command on small files never imports this module. Files with a
problem are never cached (they take the full reader, as without the cache).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import operator
import os
import struct
import sys
import time
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitrack import reading
from kpitrack.domain.model import Event, Kind, Kpi, Objective

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from kpitrack.domain.series import Measurements, Series

# 3: files named by their bytes as read, not their decoded text; a load's entry holds
# the load's definitions too when it had no problem.
FORMAT = 3
MAGIC = b"kpitrack cols\x00\x00\x00"  # 16 bytes
WORKSPACE_MAGIC = b"kpitrack load\x00\x00\x00"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
SUFFIX = ".rows"
TEMP_SUFFIX = ".tmp"  # a cache file being written (named .NAME.PID.tmp)
ORPHAN_AGE_NS = 3600 * 10**9  # a temporary file untouched this long was left by a killed run
_HEADER = struct.Struct("<16sIBxxxQ32s")  # magic, format, byte order, payload size, MAC
_COUNTS = struct.Struct("<QQQQQ")  # rows, KPIs, runs, strings, string bytes
_ORDER = 1 if sys.byteorder == "little" else 2
KINDS = (
    Kind.QUANTITATIVE,
    Kind.PROGRESS,
    Kind.QUALITATIVE,
)  # a kind's code: its position
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

    def __init__(
        self, folder: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, whole: bool = True
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.whole = whole  # whole loads' measurements too, not only each file's
        self._secret: bytes | None = None
        self.off = False
        # Files' entries read back; of them, checked against other definitions (the
        # builder checks them again); entries written. The same for whole loads.
        self.hits = self.stale = self.writes = 0
        self.whole_hits = self.whole_stale = self.whole_writes = 0

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

    def names(
        self, contents: Sequence[bytes | None], digests: Sequence[str | None] | None = None
    ) -> tuple[list[str | None], list[Path | None]]:
        """Each file's content hash (for the whole load's name: every file's, when whole
        loads are cached; else the large ones'), and the cache file of each file large
        enough to cache (None: too small, not read, or the cache is off). `digests`: the
        contents' hashes (`content_digest`) when the caller has them already."""
        n = len(contents)
        if self._key() is None:
            return [None] * n, [None] * n
        smallest = reading.ROW_CACHE_MIN_CHARS
        prefix = content_prefix() if digests is None else None
        hashes: list[str | None] = []
        names: list[Path | None] = []
        for index, data in enumerate(contents):
            large = data is not None and len(data) >= smallest
            if data is None or not (large or self.whole):
                hashes.append(None)
                names.append(None)
                continue
            hexdigest = digests[index] if digests is not None else None
            if hexdigest is None:
                hexdigest = content_digest(prefix or content_prefix(), data)
            hashes.append(hexdigest)
            names.append(self.folder / (hexdigest + SUFFIX) if large else None)
        return hashes, names

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
        if self._write(name, MAGIC, key, (_encode(checked),)):
            self.writes += 1

    def _write(self, name: Path, magic: bytes, key: bytes, parts: Iterable[bytes]) -> bool:
        """Write the payload's parts one by one (a whole load's is never held at once),
        the MAC computed on the way and the header written last, then rename."""
        import hmac

        mac = hmac.new(key, digestmod="sha256")
        temp = name.with_name(f".{name.name}.{os.getpid()}{TEMP_SUFFIX}")
        try:
            with temp.open("wb") as f:
                f.write(bytes(_HEADER.size))
                size = 0
                for part in parts:
                    mac.update(part)
                    f.write(part)
                    size += len(part)
                f.seek(0)
                f.write(_HEADER.pack(magic, FORMAT, _ORDER, size, mac.digest()))
            os.replace(temp, name)
        except BaseException as exc:  # an OS error, or an interrupt: no temporary file left
            with contextlib.suppress(OSError):
                temp.unlink()
            if not isinstance(exc, OSError):
                raise
            self.off = True
            return False
        return True

    # ------------------------------------------------------------ whole workspaces

    def workspace_name(self, files: Sequence[str], digests: Sequence[str | None]) -> Path | None:
        """The cache file of a whole load's measurements: named by every file's display
        path, in reading order, and content (None: a file that could not be read)."""
        if not self.whole or self._key() is None or not any(digests):
            return None
        from hashlib import sha256

        from kpitrack import __version__

        digest = sha256(f"kpitrack workspace {FORMAT} {__version__}\x00".encode())
        for display, content in zip(files, digests, strict=True):
            digest.update(display.encode("utf-8", "surrogatepass") + b"\x00")
            digest.update((content or "-").encode() + b"\x00")
        return self.folder / (digest.hexdigest() + SUFFIX)

    def get_workspace(self, name: Path, files: Sequence[str]) -> CachedWorkspace | None:
        """A whole load's measurements cached under `name` (see `workspace_name`), or None."""
        key = self._key()
        if key is None:
            return None
        try:
            with name.open("rb") as f:
                found = _decode_workspace(_Stream(f, key), len(files), name.stem)
        except OSError:
            return None
        except (
            _Invalid,
            struct.error,
            ValueError,
            IndexError,
            UnicodeDecodeError,
            OverflowError,
        ):
            return None
        self.whole_hits += 1
        with contextlib.suppress(OSError):
            os.utime(name)
        return found

    def put_workspace(
        self,
        name: Path,
        covered: Sequence[int],
        measurements: Measurements,
        definitions: dict[str, tuple[Kind, tuple[str, ...]]],
        model: bytes = b"",
    ) -> None:
        """Remember a whole load's measurements: those of the files at `covered` (each a
        file of measurements alone whose checked columns this cache holds), all of them;
        `model`: the load's objectives, KPIs and events (`encode_model`) when the load
        had no problem, else empty."""
        key = self._key()
        if key is None or not measurements:
            return
        if model:  # its own name with it: a copy under another name has no model
            model = name.stem.encode() + b"\n" + model
        parts = _encode_workspace(covered, measurements, definitions, model)
        if self._write(name, WORKSPACE_MAGIC, key, parts):
            self.whole_writes += 1

    def evict(self) -> None:
        """Remove the least recently used files until the folder holds at most max_bytes,
        and the temporary files a killed run left (untouched for an hour: a concurrent
        run's own is never that old)."""
        if self.off or not (self.writes or self.whole_writes):
            return
        try:
            entries = []
            total = 0
            stale = time.time_ns() - ORPHAN_AGE_NS
            with os.scandir(self.folder) as listing:
                for entry in listing:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    if entry.name.endswith(SUFFIX):
                        info = entry.stat(follow_symlinks=False)
                        entries.append((info.st_mtime_ns, info.st_size, entry.path))
                        total += info.st_size
                    elif (
                        entry.name.endswith(TEMP_SUFFIX)
                        and entry.stat(follow_symlinks=False).st_mtime_ns < stale
                    ):
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
            if total <= self.max_bytes:
                return
            for _, size, name in sorted(entries):
                os.unlink(name)
                total -= size
                if total <= self.max_bytes:
                    break
        except OSError:
            pass


# ---------------------------------------------------------------- content names


def content_prefix() -> Any:
    """The hash every content name starts from: kpitrack's version and this format's."""
    from hashlib import sha256

    from kpitrack import __version__

    return sha256(f"kpitrack rows {FORMAT} {__version__}\x00".encode())


def content_digest(prefix: Any, data: bytes) -> str:
    """A file's content name: SHA-256 over the prefix and the file's bytes as read (a
    copy of `prefix`, so that threads can share it; hashlib lets go of the GIL while it
    hashes a large buffer)."""
    digest = prefix.copy()
    digest.update(data)
    return digest.hexdigest()  # type: ignore[no-any-return]


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
                checked.count,
                len(checked.kpis),
                len(checked.runs) // 2,
                len(table),
                len(blob),
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
    except (
        _Invalid,
        struct.error,
        ValueError,
        IndexError,
        UnicodeDecodeError,
        OverflowError,
    ):
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


# ---------------------------------------------------------------- whole workspaces


class CachedWorkspace:
    """A whole load's measurements: the files they came from (`covered`: positions in
    the load's files), per KPI in series order its definition as checked and its
    columns, ready to become the load's `Measurements` (`build`)."""

    __slots__ = ("count", "covered", "kpis", "model", "ordered", "series")

    def __init__(self) -> None:
        self.count = 0
        # The load's objectives, KPIs and events, when it had no problem (`decode_model`).
        self.model: Model | None = None
        self.covered: list[int] = []
        self.kpis: list[tuple[str, Kind, tuple[str, ...]]] = []
        # Per KPI: dates, values (label positions for a qualitative KPI), files, lines,
        # columns, orders, notes, authors.
        self.series: list[tuple[Any, ...]] = []
        self.ordered: list[bool] = []  # per KPI: its dates in file order already

    def build(self, files: Sequence[str], scales: dict[str, tuple[str, ...]]) -> Measurements:
        """The Measurements (`scales`: each qualitative KPI's labels, as now defined)."""
        from kpitrack.domain.series import Measurements

        result = Measurements()
        for path in files:
            result.path_index(path)
        for (kpi_id, kind, _), columns, ordered in zip(
            self.kpis, self.series, self.ordered, strict=True
        ):
            dates, values, file, lines, cols, orders, notes, bys = columns
            series = result.series_for(kpi_id)
            series.dates, series.ordered = dates, ordered
            series.values = (
                list(map(scales[kpi_id].__getitem__, values))
                if kind is Kind.QUALITATIVE
                else values
            )
            series.files, series.lines, series.columns, series.orders = (
                file,
                lines,
                cols,
                orders,
            )
            series.notes, series.bys = notes, bys
        result.added(self.count)
        return result


def _encode_workspace(
    covered: Sequence[int],
    measurements: Measurements,
    definitions: dict[str, tuple[Kind, tuple[str, ...]]],
    model: bytes = b"",
) -> Iterator[bytes]:
    """The payload's parts: the counts, strings and KPI records, then each KPI's columns
    in turn (made as they are written)."""
    every = measurements.all_series()
    strings: dict[str | None, None] = {}
    for series in every:
        strings[series.kpi] = None
        strings.update(dict.fromkeys(definitions[series.kpi][1]))
        strings.update(dict.fromkeys(series.notes))
        strings.update(dict.fromkeys(series.bys))
    table = [s for s in strings if s is not None]
    index: dict[str | None, int] = {s: i for i, s in enumerate(table, 1)}
    index[None] = 0
    encoded = [s.encode("utf-8", "surrogatepass") for s in table]
    kpis = array("q")
    scales = array("q")
    records: list[tuple[Series, Kind, tuple[str, ...], int, int]] = []
    for series in every:
        kind, scale = definitions[series.kpi]
        if kind is not Kind.QUALITATIVE:
            scale = ()
        # Notes and authors: one string for every entry (its index), or a column (-1).
        same_note, same_by = (
            index[column[0]] if column.count(column[0]) == len(column) else -1
            for column in (series.notes, series.bys)
        )
        dates = series.dates
        ordered = all(map(operator.le, dates, itertools.islice(dates, 1, None)))
        kpis.extend(
            (index[series.kpi], _KIND_CODE[kind], len(scales), len(scale), len(series),
             same_note, same_by, int(ordered))
        )  # fmt: skip
        scales.extend(map(index.__getitem__, scale))
        records.append((series, kind, scale, same_note, same_by))
    from kpitrack import __version__

    version = __version__.encode()
    blob = b"".join(encoded)
    yield struct.pack("<H", len(version))
    yield version
    yield struct.pack("<Q", len(model))
    yield model
    yield struct.pack("<QQQQQ", len(measurements), len(every), len(covered), len(table), len(blob))
    yield struct.pack("<Q", len(scales))
    yield array("q", map(len, encoded)).tobytes()
    yield blob
    yield array("q", covered).tobytes()
    yield kpis.tobytes()
    yield scales.tobytes()
    for series, kind, scale, same_note, same_by in records:
        values: Any = series.values
        yield series.dates.tobytes()
        yield array("d", map(scale.index, values) if kind is Kind.QUALITATIVE else values).tobytes()
        yield series.files.tobytes()
        yield series.lines.tobytes()
        yield series.columns.tobytes()
        yield series.orders.tobytes()
        if same_note < 0:
            yield array("I", map(index.__getitem__, series.notes)).tobytes()
        if same_by < 0:
            yield array("I", map(index.__getitem__, series.bys)).tobytes()


class _Stream:
    """A cache file read part by part, its MAC computed on the way: nothing read is
    used before `verify` (a whole load's file is large; it is never held twice)."""

    def __init__(self, f: Any, key: bytes) -> None:
        import hmac

        self.f = f
        header = f.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise _Invalid
        magic, fmt, order, size, self.mac = _HEADER.unpack(header)
        if magic != WORKSPACE_MAGIC or fmt != FORMAT or order != _ORDER:
            raise _Invalid
        self.left = size
        self.hmac = hmac.new(key, digestmod="sha256")

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.left:
            raise _Invalid
        data = self.f.read(n)
        if len(data) != n:
            raise _Invalid
        self.left -= n
        self.hmac.update(data)
        return data  # type: ignore[no-any-return]

    def numbers(self, code: str, n: int) -> array:  # type: ignore[type-arg]
        column = array(code)
        column.frombytes(self.take(n * column.itemsize))
        return column

    def verify(self) -> None:
        from hmac import compare_digest

        if self.left or self.f.read(1) or not compare_digest(self.mac, self.hmac.digest()):
            raise _Invalid


def _decode_workspace(stream: _Stream, file_count: int, stem: str) -> CachedWorkspace:
    """The structure (lengths, the string table, KPI records, scales, label positions) is
    checked as it is read; the million-entry columns themselves (dates, files, lines)
    are trusted on the MAC alone, which proves this folder's own write of them (each
    checked per file when it was made; reading every number again would cost more than
    the rest of the read)."""
    from kpitrack import __version__

    take, numbers = stream.take, stream.numbers
    (length,) = struct.unpack("<H", take(2))
    if take(length) != __version__.encode():
        raise _Invalid
    (length,) = struct.unpack("<Q", take(8))
    model = take(length)
    count, kpi_count, covered_count, strings, blob_size = struct.unpack("<QQQQQ", take(40))
    (scale_count,) = struct.unpack("<Q", take(8))
    lengths = numbers("q", strings)
    if strings and (min(lengths) < 0 or sum(lengths) != blob_size):
        raise _Invalid
    blob = take(blob_size)
    table: list[str | None] = [None]
    offset = 0
    for n in lengths:
        table.append(blob[offset : offset + n].decode("utf-8"))
        offset += n
    get = table.__getitem__
    found = CachedWorkspace()
    found.count = count
    covered = numbers("q", covered_count)
    if not covered or min(covered) < 0 or max(covered) >= file_count:
        raise _Invalid
    if len(set(covered)) != len(covered):
        raise _Invalid
    found.covered = covered.tolist()
    kpis = numbers("q", kpi_count * 8)
    scales = numbers("q", scale_count)
    if scales and (min(scales) < 1 or max(scales) > strings):
        raise _Invalid
    names, kinds, scale_ats, scale_lens, sizes, same_notes, same_bys, ordered = (
        kpis[i::8] for i in range(8)
    )
    if not kpi_count or min(names) < 1 or max(names) > strings or min(sizes) < 1:
        raise _Invalid
    if min(kinds) < 0 or max(kinds) >= len(KINDS) or min(scale_ats) < 0 or min(scale_lens) < 0:
        raise _Invalid
    if max(map(operator.add, scale_ats, scale_lens)) > len(scales) or sum(sizes) != count:
        raise _Invalid
    if min(same_notes) < -1 or max(same_notes) > strings:
        raise _Invalid
    if min(same_bys) < -1 or max(same_bys) > strings:
        raise _Invalid
    ids = list(map(get, names))
    if len(set(ids)) != kpi_count:
        raise _Invalid
    qualitative = KINDS.index(Kind.QUALITATIVE)
    if min(ordered) < 0 or max(ordered) > 1:
        raise _Invalid
    for kpi_id, kind, scale_at, scale_len, n, same_note, same_by in zip(
        ids, kinds, scale_ats, scale_lens, sizes, same_notes, same_bys, strict=True
    ):
        if kind != qualitative and scale_len:
            raise _Invalid  # a scale for a KPI of numbers
        labels = tuple(map(get, scales[scale_at : scale_at + scale_len]))
        dates = numbers("i", n)
        values: array[float] | array[int] = numbers("d", n)
        if kind == qualitative:
            values = array("I", map(int, values))  # whole numbers: ValueError, OverflowError
            if max(values) >= scale_len:
                raise _Invalid
        file, lines, columns = numbers("i", n), numbers("i", n), numbers("i", n)
        orders = numbers("q", n)
        notes = [table[same_note]] * n if same_note >= 0 else _strings(table, numbers("I", n))
        bys = [table[same_by]] * n if same_by >= 0 else _strings(table, numbers("I", n))
        found.kpis.append((kpi_id, KINDS[kind], labels))  # type: ignore[arg-type]
        found.series.append((dates, values, file, lines, columns, orders, notes, bys))
    found.ordered = [bool(flag) for flag in ordered]
    stream.verify()
    # After the MAC (nothing is used before), and only under the name it was written
    # under: the files it was made from (another load's entry serves at most its rows).
    own, _, model = model.partition(b"\n")
    found.model = decode_model(model) if model and own == stem.encode() else None
    return found


# ---------------------------------------------------------------- the definitions


# A load's objectives, KPIs and events.
Model = tuple[tuple[Objective, ...], tuple[Kpi, ...], tuple[Event, ...]]


def _model_classes() -> tuple[dict[str, Any], dict[str, Any]]:
    from kpitrack.domain import model

    records = (
        model.Objective,
        model.Kpi,
        model.Event,
        model.Milestone,
        model.ActionPlan,
        model.Location,
    )
    enums = (model.Frequency, model.Kind, model.Direction, model.Indicator, model.ActionStatus)
    return {c.__name__: c for c in records}, {e.__name__: e for e in enums}


class _NotCached(Exception):
    """A value the definitions' encoding does not hold (a data source's spec): the load's
    definitions are not cached, and are parsed on every load."""


def encode_model(objectives: Sequence[Any], kpis: Sequence[Any], events: Sequence[Any]) -> bytes:
    """The definitions as JSON text (no pickle: `decode_model` builds only the model's own
    records and enums from it): a record as {"R": class, "f": [field values]}, a date as
    {"D": ordinal}, an enum as {"E": class, "v": value}, a tuple as {"T": [items]};
    strings, numbers, booleans and None as themselves. Empty when a value is none of
    these (a KPI with a data source)."""
    import json

    records, enums = _model_classes()

    def encode(value: Any) -> Any:
        t = type(value)
        if t is str or t is int or t is float or t is bool or value is None:
            return value
        if t is tuple:
            return {"T": [encode(item) for item in value]}
        if t.__name__ in records and records[t.__name__] is t:
            return {"R": t.__name__, "f": [encode(v) for v in t._field_values(value)]}
        if t.__name__ in enums and enums[t.__name__] is t:
            return {"E": t.__name__, "v": value.value}
        if t is dt.date:
            return {"D": value.toordinal()}
        raise _NotCached

    try:
        doc = [list(map(encode, part)) for part in (objectives, kpis, events)]
    except _NotCached:
        return b""
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_model(data: bytes) -> Model:
    """The definitions `encode_model` wrote, each tagged object turned into its value as
    JSON is parsed; raises _Invalid for anything else (a class or enum not of the
    model, a field count that is not the class's, a list or object of no known form,
    an objective that is not an Objective ...)."""
    import json

    records, enums = _model_classes()
    fromordinal = dt.date.fromordinal

    def tagged(d: dict[str, Any]) -> Any:
        if len(d) == 1:
            if "T" in d and type(items := d["T"]) is list and list not in map(type, items):
                return tuple(items)
            if "D" in d and type(day := d["D"]) is int:
                return fromordinal(day)
        elif len(d) == 2 and "R" in d and "f" in d:
            cls, values = records[d["R"]], d["f"]
            fits = type(values) is list and len(values) == len(cls._field_names)
            if fits and list not in map(type, values):
                return cls(*values)
        elif len(d) == 2 and "E" in d and "v" in d:
            return enums[d["E"]](d["v"])
        raise _Invalid

    try:
        doc = json.loads(data, object_hook=tagged)
        if type(doc) is not list or len(doc) != 3 or not all(type(part) is list for part in doc):
            raise _Invalid
    except (KeyError, IndexError, TypeError, ValueError, OverflowError, RecursionError):
        raise _Invalid from None
    model = tuple(map(tuple, doc))
    for part, cls in zip(model, (Objective, Kpi, Event), strict=True):
        if not all(type(item) is cls for item in part):
            raise _Invalid
    return model  # type: ignore[return-value]
