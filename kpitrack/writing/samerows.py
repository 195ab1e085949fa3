"""A fast check that two loads hold the same measurements, on the columns.

`review` and `amend` verify an edit by loading the workspace with the new text and
comparing its measurements with the old ones as multisets of `measurement_key` (one
`Measurement` and one key per entry, twice: most of their time at 100k). An edit of one
file leaves every measurement in the same reading order, so comparing the columns of
each KPI's series (dates, values, notes, authors) in order says the same in C-speed
compares, without building a Measurement.

`same_series` is a sufficient test only: True means the multisets are equal too
(equal columns give equal keys); False means "not shown here", and the callers then run
the multiset comparison as before, so a refusal is decided exactly as it always was.
"""

from __future__ import annotations

import dataclasses
from array import array

from kpitrack.domain.model import NOWHERE, Kpi
from kpitrack.domain.series import Measurements, Series
from kpitrack.domain.workspace import Workspace


def _value_key(value: object) -> tuple[type, object]:
    # The type too (1 == 1.0 == True, but a key renders them apart) and a float's exact
    # bits (0.0 == -0.0, nan != nan).
    return (type(value), value.hex() if isinstance(value, float) else value)


def _same_values(a: Series, b: Series, skip: int | None) -> bool:
    va, vb = a.values, b.values
    if isinstance(va, array) and isinstance(vb, array):
        if skip is None:
            return va.tobytes() == vb.tobytes()
        return (
            va[:skip].tobytes() == vb[:skip].tobytes()
            and va[skip + 1 :].tobytes() == vb[skip + 1 :].tobytes()
        )
    keep = [i for i in range(len(va)) if i != skip]
    return [_value_key(va[i]) for i in keep] == [_value_key(vb[i]) for i in keep]


def _same(a: Series, b: Series, skip: int | None = None) -> bool:
    """The same KPI, dates, values, notes and authors, in the same order; at `skip`
    only the KPI and date are compared."""
    if a.kpi != b.kpi or len(a) != len(b) or a.dates != b.dates or a.bys != b.bys:
        return False
    if skip is None:
        if a.notes != b.notes:
            return False
    elif a.notes[:skip] != b.notes[:skip] or a.notes[skip + 1 :] != b.notes[skip + 1 :]:
        return False
    return _same_values(a, b, skip)


def same_series(
    before: Measurements, after: Measurements, *, except_at: tuple[str, int] | None = None
) -> bool:
    """Whether `after` holds the measurements of `before` column for column, KPI by KPI
    (positions in the files aside). `except_at` (KPI id, index in its series) is one
    entry whose value and note may differ: the caller checks that one itself."""
    old, new = before.all_series(), after.all_series()
    if len(old) != len(new):
        return False
    fresh = {s.kpi: s for s in new}
    for series in old:
        other = fresh.get(series.kpi)
        if other is None:
            return False
        skip = except_at[1] if except_at is not None and except_at[0] == series.kpi else None
        if not _same(series, other, skip):
            return False
    return True


def definitions_unplaced(ws: Workspace) -> tuple[object, ...]:
    """The workspace's objectives and KPIs without their positions in the files (an
    inserted line moves the definitions after it), for comparing two loads."""

    def unplaced(kpi: Kpi) -> Kpi:
        milestones = tuple(dataclasses.replace(m, loc=NOWHERE) for m in kpi.milestones)
        return dataclasses.replace(kpi, loc=NOWHERE, milestones=milestones)

    return (
        tuple(dataclasses.replace(o, loc=NOWHERE) for o in ws.objectives),
        tuple(unplaced(k) for k in ws.kpis),
    )
