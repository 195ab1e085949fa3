"""The model's vocabulary: the status orderings, the overdue ordering, the summary counts."""

from __future__ import annotations

import datetime as dt

import pytest

from kpitrack.domain.model import (
    Frequency,
    Kpi,
    KpiResult,
    OverdueInfo,
    Reason,
    Status,
    StatusCounts,
)
from kpitrack.domain.problems import UsageError
from kpitrack.domain.workspace import Workspace

AS_OF = dt.date(2026, 11, 25)


def result(
    status: Status, days: int | None = None, *, overdue: bool = True, kpi_id: str = "k"
) -> KpiResult:
    info = None
    if overdue:
        info = OverdueInfo(None, None, None) if days is None else OverdueInfo(1, AS_OF, days)
    reasons = (Reason.OVERDUE,) if info is not None else ()
    return KpiResult(
        kpi=Kpi(id=kpi_id, name="K", measure="a b c", target=1.0, frequency=Frequency.MONTHLY),
        as_of=AS_OF,
        status=status,
        latest=None,
        baseline=None,
        start=None,
        progress=None,
        gap=None,
        expected=None,
        overdue=info,
        reasons=reasons,
    )


def test_status_rank_is_the_documented_order_worst_first() -> None:
    # report.py and docs/report.md: no-data < off-track < at-risk < on-track < achieved
    documented = ["no-data", "off-track", "at-risk", "on-track", "achieved"]
    assert [str(s) for s in Status.worst_to_best()] == documented
    assert [str(s) for s in sorted(Status, key=lambda s: s.rank)] == documented
    assert [s.rank for s in Status.worst_to_best()] == [0, 1, 2, 3, 4]


def test_summary_order_is_best_first_and_covers_every_status() -> None:
    assert [str(s) for s in Status.summary_order()] == [
        "achieved",
        "on-track",
        "at-risk",
        "off-track",
        "no-data",
    ]
    assert set(Status.summary_order()) == set(Status)


def test_attention_is_the_actions_order() -> None:
    # SPEC §4: actions lists off-track, at-risk, no-data, then the rest.
    assert Status.OFF_TRACK.attention < Status.AT_RISK.attention < Status.NO_DATA.attention
    assert Status.NO_DATA.attention < Status.ON_TRACK.attention == Status.ACHIEVED.attention


@pytest.mark.parametrize(
    ("overdue", "key"),
    [
        (None, float("inf")),
        (OverdueInfo(None, None, None), float("-inf")),
        (OverdueInfo(2, AS_OF, 40), -40.0),
        (OverdueInfo(1, AS_OF, 0), 0.0),
    ],
)
def test_most_overdue_first(overdue: OverdueInfo | None, key: float) -> None:
    assert OverdueInfo.most_overdue_first(overdue) == key


def test_worst_first_sorts_status_then_days() -> None:
    results = [
        result(Status.ON_TRACK, 40, kpi_id="on-40"),
        result(Status.NO_DATA, None, kpi_id="never"),
        result(Status.AT_RISK, 3, kpi_id="risk-3"),
        result(Status.OFF_TRACK, None, overdue=False, kpi_id="off"),
        result(Status.AT_RISK, 30, kpi_id="risk-30"),
        result(Status.ACHIEVED, overdue=False, kpi_id="done"),
        result(Status.OFF_TRACK, 5, kpi_id="off-5"),
    ]
    ordered = [r.kpi.id for r in sorted(results, key=KpiResult.worst_first)]
    assert ordered == ["off-5", "off", "risk-30", "risk-3", "never", "on-40", "done"]


def test_overdue_first_sorts_days_then_status_then_given_order() -> None:
    results = [
        result(Status.ON_TRACK, 10, kpi_id="on-10"),
        result(Status.OFF_TRACK, 10, kpi_id="off-10"),
        result(Status.ON_TRACK, 50, kpi_id="on-50"),
        result(Status.NO_DATA, None, kpi_id="never"),
        result(Status.ACHIEVED, 10, kpi_id="done-10"),
    ]
    ordered = [r.kpi.id for r in sorted(results, key=KpiResult.overdue_first)]
    assert ordered == ["never", "on-50", "off-10", "on-10", "done-10"]


def test_status_counts_one_pass_in_summary_order() -> None:
    results = [
        result(Status.ON_TRACK, 4),
        result(Status.OFF_TRACK, overdue=False),
        result(Status.OFF_TRACK, None),
    ]
    counts = StatusCounts.of(iter(results))  # any iterable, read once
    assert counts.total == 3
    assert [s for s, _ in counts.by_status] == list(Status.summary_order())
    assert counts.count(Status.OFF_TRACK) == 2
    assert counts.count(Status.ACHIEVED) == 0
    assert (counts.overdue, counts.needs_action) == (2, 2)
    assert list(counts.as_dict().items()) == [
        ("total", 3),
        ("achieved", 0),
        ("on-track", 1),
        ("at-risk", 0),
        ("off-track", 2),
        ("no-data", 0),
        ("overdue", 2),
        ("needs-action", 2),
    ]


def test_status_counts_of_nothing() -> None:
    counts = StatusCounts.of([])
    assert counts.total == 0
    assert set(counts.as_dict().values()) == {0}


# ---------------------------------------------------------------- Workspace.require_kpi


def _workspace(*ids: str) -> Workspace:
    return Workspace(
        kpis=tuple(
            Kpi(id=i, name=i, measure="a b c", target=1.0, frequency=Frequency.MONTHLY) for i in ids
        )
    )


def test_require_kpi_returns_the_kpi() -> None:
    ws = _workspace("revenue", "churn")
    assert ws.require_kpi("churn") is ws.kpis[1]


def test_require_kpi_suggests_the_closest_id() -> None:
    with pytest.raises(UsageError) as caught:
        _workspace("revenue", "churn").require_kpi("revenu")
    assert str(caught.value) == "no KPI 'revenu' (did you mean 'revenue'?)"


def test_require_kpi_without_a_close_id() -> None:
    with pytest.raises(UsageError) as caught:
        _workspace("revenue").require_kpi("zzz")
    assert str(caught.value) == "no KPI 'zzz'"


def test_require_kpi_names_the_option() -> None:
    with pytest.raises(UsageError) as caught:
        _workspace("revenue").require_kpi("revenux", option="--kpi")
    assert str(caught.value) == "--kpi: no KPI 'revenux' (did you mean 'revenue'?)"


def test_require_kpi_in_an_empty_workspace() -> None:
    with pytest.raises(UsageError, match=r"^no KPI 'x'$"):
        Workspace().require_kpi("x")


def test_behind_is_at_risk_or_off_track() -> None:
    assert {s for s in Status if s.behind} == {Status.AT_RISK, Status.OFF_TRACK}
