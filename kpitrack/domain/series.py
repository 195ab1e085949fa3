"""The column store of measurements: one `Series` per KPI (dates, values, notes, authors
as parallel columns), `History` and `Measurements` as views over them."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import operator
from array import array
from collections.abc import Iterator, Sequence
from typing import overload

from kpitrack.domain.model import Location, Measurement, Value

_DAYS: dict[int, dt.date] = {}  # ordinal → date: the few thousand distinct days, shared


def _day(ordinal: int) -> dt.date:
    day = _DAYS.get(ordinal)
    if day is None:
        day = _DAYS[ordinal] = dt.date.fromordinal(ordinal)
    return day


class Series(Sequence[Measurement]):
    """One KPI's measurements in reading order, as compact columns: about 50 bytes a
    measurement instead of a Measurement, a Location and a date object each.

    Dates are ordinals, numbers an `array('d')` (labels of qualitative KPIs a list of
    shared strings), and the location a file index, line and column. Indexing builds
    a `Measurement`."""

    __slots__ = (
        "bys",
        "columns",
        "dates",
        "files",
        "kpi",
        "lines",
        "notes",
        "ordered",
        "orders",
        "paths",
        "values",
    )

    def __init__(self, kpi: str, paths: list[str]) -> None:
        self.kpi = kpi
        self.paths = paths  # shared by every series of a workspace
        self.dates = array("i")
        self.values: array[float] | list[Value] = array("d")
        self.orders = array("q")
        self.files = array("i")
        self.lines = array("i")
        self.columns = array("i")
        self.notes: list[str | None] = []
        self.bys: list[str | None] = []
        # Whether the dates are in file order already (None: not known). Whoever appends
        # other than through `append` (the loader) sets it to None or to what it knows.
        self.ordered: bool | None = None

    def append(
        self,
        ordinal: int,
        value: Value,
        note: str | None,
        by: str | None,
        file: int,
        line: int,
        column: int,
        order: int,
    ) -> None:
        if isinstance(self.values, array) and isinstance(value, float):
            self.values.append(value)
        else:
            if isinstance(self.values, array):  # labels (or exact ints) are kept as given
                self.values = list(self.values)
            self.values.append(value)
        self.ordered = None
        self.dates.append(ordinal)
        self.notes.append(note)
        self.bys.append(by)
        self.files.append(file)
        self.lines.append(line)
        self.columns.append(column)
        self.orders.append(order)

    def truncate(self, length: int) -> None:
        """Drop the measurements from `length` on (a file that turned out invalid)."""
        self.ordered = None
        for column in (
            self.dates,
            self.values,
            self.notes,
            self.bys,
            self.files,
            self.lines,
            self.columns,
            self.orders,
        ):
            del column[length:]

    def __len__(self) -> int:
        return len(self.dates)

    @overload
    def __getitem__(self, index: int) -> Measurement: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Measurement, ...]: ...
    def __getitem__(self, index: int | slice) -> Measurement | tuple[Measurement, ...]:
        if isinstance(index, slice):
            return tuple(self.measurement(i) for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self.dates)
        if not 0 <= index < len(self.dates):
            raise IndexError(index)
        return self.measurement(index)

    def measurement(self, i: int) -> Measurement:
        return Measurement(
            self.kpi,
            _day(self.dates[i]),
            self.values[i],
            self.notes[i],
            self.bys[i],
            Location(self.paths[self.files[i]], self.lines[i], self.columns[i]),
            self.orders[i],
        )

    def __iter__(self) -> Iterator[Measurement]:
        return (self.measurement(i) for i in range(len(self.dates)))

    def day(self, i: int) -> dt.date:
        return _day(self.dates[i])

    def until(self, limit: int) -> History:
        """The measurements dated on or before the ordinal `limit`, sorted by date, then
        file order (an evaluation's history), without building a Measurement."""
        dates = self.dates
        count = len(dates)
        # Usually the file order is the date order: no sort, not even a copy.
        ordered = self.ordered
        if ordered is None:
            ordered = self.ordered = all(map(operator.le, dates, itertools.islice(dates, 1, None)))
        if ordered:
            return History(self, range(bisect.bisect_right(dates, limit)))
        orders = self.orders
        index = sorted(
            (i for i in range(count) if dates[i] <= limit), key=lambda i: (dates[i], orders[i])
        )
        return History(self, array("i", index))


class MeasurementView(Sequence[Measurement]):
    """A sequence of Measurements built on demand: equal to any sequence holding equal
    Measurements in the same order (a list, a tuple, another view)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(x == y for x, y in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class History(MeasurementView):
    """Some of a series' measurements in a given order (an evaluation's history):
    a Measurement is built only for the entries that are looked at."""

    __slots__ = ("_index", "_series")

    def __init__(self, series: Series, index: Sequence[int]) -> None:
        self._series = series
        self._index = index

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def __getitem__(self, index: int) -> Measurement: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Measurement, ...]: ...
    def __getitem__(self, index: int | slice) -> Measurement | tuple[Measurement, ...]:
        if isinstance(index, slice):
            return tuple(self._series.measurement(i) for i in self._index[index])
        return self._series.measurement(self._index[index])

    def __iter__(self) -> Iterator[Measurement]:
        measurement = self._series.measurement
        return (measurement(i) for i in self._index)

    def __reversed__(self) -> Iterator[Measurement]:
        measurement = self._series.measurement
        return (measurement(i) for i in reversed(self._index))

    def day(self, position: int) -> dt.date:
        """The date of the measurement at `position`, without building it."""
        return _day(self._series.dates[self._index[position]])

    def value(self, position: int) -> Value:
        return self._series.values[self._index[position]]

    def ordinals_back(self) -> Iterator[int]:
        """The dates of the measurements as ordinals, last first (read lazily)."""
        return map(self._series.dates.__getitem__, reversed(self._index))

    def ordinals(self) -> list[int]:
        dates = self._series.dates
        return [dates[i] for i in self._index]

    def columns(self) -> tuple[list[int], list[Value], list[str | None], list[str | None]]:
        """Ordinals, values, notes and authors of the measurements, in order: four
        lists gathered from the columns, with no row and no date built (sliced when the
        history is a run of the series, as it is when the file order is the date order)."""
        series, index = self._series, self._index
        if isinstance(index, range) and index.step == 1:
            start, stop = index.start, index.stop
            run = series.values[start:stop]
            values: list[Value] = run if isinstance(run, list) else list(run.tolist())
            return (
                series.dates[start:stop].tolist(),
                values,
                series.notes[start:stop],
                series.bys[start:stop],
            )
        return (
            list(map(series.dates.__getitem__, index)),
            list(map(series.values.__getitem__, index)),
            list(map(series.notes.__getitem__, index)),
            list(map(series.bys.__getitem__, index)),
        )

    def rows(self) -> list[tuple[dt.date, Value, str | None, str | None]]:
        """(date, value, note, by) of each measurement, in order, without building any."""
        series = self._series
        dates, values, notes, bys = series.dates, series.values, series.notes, series.bys
        return [(_day(dates[i]), values[i], notes[i], bys[i]) for i in self._index]


def last_values(history: Sequence[Measurement], count: int | None = None) -> list[Value]:
    """The values of the last `count` measurements of `history` (all of them without
    `count`), in order: read from the columns when it is a `History` view, without
    building a Measurement for each."""
    start = 0 if count is None else max(0, len(history) - count)
    if isinstance(history, History):
        values = history._series.values
        return [values[i] for i in history._index[start:]]
    return [m.value for m in list(history)[start:]]


class Measurements(MeasurementView):
    """A workspace's measurements in reading order, kept as one `Series` per KPI.

    Iterating or indexing builds `Measurement` views; `series(kpi_id)` gives one KPI's
    columns without building any. Built from any sequence of Measurements, or by the
    loader (`series_for(kpi).append(...)` for each, then `added(count)`). Loaded
    measurements come with strictly increasing `order`, which gives reading order;
    made by hand, the order given is kept as it is."""

    __slots__ = ("_count", "_index", "_path_index", "_paths", "_series")

    def __init__(self, measurements: Sequence[Measurement] | None = None) -> None:
        self._series: dict[str, Series] = {}
        self._paths: list[str] = []
        self._path_index: dict[str, int] = {}
        self._count = 0
        # Reading order as (series, position) pairs; built on first indexing, or kept
        # from the start when the measurements do not come in `order` (made by hand).
        self._index: list[tuple[Series, int]] | None = None
        if measurements:
            ordered = all(a.order < b.order for a, b in itertools.pairwise(measurements))
            index: list[tuple[Series, int]] = []
            for m in measurements:
                series = self.series_for(m.kpi)
                index.append((series, len(series)))
                series.append(
                    m.date.toordinal(),
                    m.value,
                    m.note,
                    m.by,
                    self.path_index(m.loc.path),
                    m.loc.line,
                    m.loc.column,
                    m.order,
                )
            self._count = len(index)
            if not ordered:
                self._index = index

    def path_index(self, path: str) -> int:
        index = self._path_index.get(path)
        if index is None:
            index = self._path_index[path] = len(self._paths)
            self._paths.append(path)
        return index

    def series_for(self, kpi_id: str) -> Series:
        """The series of a KPI, created empty if it has none yet (loading)."""
        series = self._series.get(kpi_id)
        if series is None:
            series = self._series[kpi_id] = Series(kpi_id, self._paths)
        return series

    def added(self, count: int) -> None:
        """The loader appended `count` measurements through series_for(...).append."""
        self._count += count
        self._index = None

    def series(self, kpi_id: str) -> Series | None:
        """One KPI's measurements in reading order, or None when it has none."""
        series = self._series.get(kpi_id)
        return series if series else None

    def all_series(self) -> list[Series]:
        """Every non-empty series, in the order their KPIs were first measured."""
        return [s for s in self._series.values() if s]

    def __len__(self) -> int:
        return self._count

    def _positions(self) -> list[tuple[Series, int]]:
        if self._index is None:
            import heapq

            streams = [_positions_of(s) for s in self.all_series()]
            self._index = [(s, n) for _, n, s in heapq.merge(*streams, key=_first)]
        return self._index

    def __iter__(self) -> Iterator[Measurement]:
        if self._index is not None:
            return (s.measurement(n) for s, n in self._index)
        series = self.all_series()
        if len(series) == 1:
            return iter(series[0])
        import heapq

        return heapq.merge(*series, key=_order)

    @overload
    def __getitem__(self, index: int) -> Measurement: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Measurement, ...]: ...
    def __getitem__(self, index: int | slice) -> Measurement | tuple[Measurement, ...]:
        positions = self._positions()
        if isinstance(index, slice):
            return tuple(s.measurement(n) for s, n in positions[index])
        s, n = positions[index]
        return s.measurement(n)


def _order(m: Measurement) -> int:
    return m.order


def _first(item: tuple[int, int, Series]) -> int:
    return item[0]


def _positions_of(series: Series) -> Iterator[tuple[int, int, Series]]:
    return ((order, n, series) for n, order in enumerate(series.orders))
