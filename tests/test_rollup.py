"""The objective roll-up (SPEC §7), hand-computed.

Every KPI here has a standing target of 100 from a baseline of 0 (no `due`), so its
progress is value / 100 and its status on-track at 100 or more, at-risk from 90,
off-track below (a `due` in the past with the target met gives achieved).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import Frequency, Kpi, Measurement, Objective, Status
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.evaluation.rollup import (
    ROLLUP_ORDER,
    ObjectiveNode,
    Tree,
    build_tree,
    descendants,
    driver_words,
    prune,
    weakest,
)

AS_OF = dt.date(2026, 11, 25)
DAY = dt.date(2026, 11, 20)


def kpi(kpi_id: str, objective: str | None, **kw: Any) -> Kpi:
    fields: dict[str, Any] = {
        "id": kpi_id,
        "name": kpi_id.upper(),
        "measure": "count the things",
        "target": 100,
        "baseline": 0,
        "frequency": Frequency.MONTHLY,
        "objective": objective,
        "owner": "team",
    }
    fields.update(kw)
    return Kpi(**fields)


def tree(
    objectives: list[Objective], kpis: list[Kpi], values: dict[str, float]
) -> tuple[Tree, dict[str, ObjectiveNode]]:
    measurements = [Measurement(k, DAY, v, order=i) for i, (k, v) in enumerate(values.items())]
    ws = Workspace(objectives=tuple(objectives), kpis=tuple(kpis), measurements=measurements)
    built = build_tree(ws, evaluate(ws, as_of=AS_OF))
    return built, {n.objective.id: n for n in built.objectives()}


def test_weighted_mean_and_weakest_link() -> None:
    # a: 50 (progress 0.5, off-track), weight 3; b: 100 (1.0, on-track), weight 1.
    _, nodes = tree(
        [Objective("o", "O")],
        [kpi("a", "o", weight=3), kpi("b", "o")],
        {"a": 50, "b": 100},
    )
    o = nodes["o"]
    assert o.progress == pytest.approx((3 * 0.5 + 1 * 1.0) / 4)  # 0.625
    assert o.status is Status.OFF_TRACK
    assert (o.counts.total, o.counts.count(Status.OFF_TRACK), o.counts.count(Status.ON_TRACK)) == (
        2,
        1,
        1,
    )


def test_progress_is_clamped_and_no_data_counts_zero() -> None:
    # a: 150 → progress 1.5, counted 1; b: no measurement → counted 0.
    _, nodes = tree([Objective("o", "O")], [kpi("a", "o"), kpi("b", "o")], {"a": 150})
    assert nodes["o"].progress == pytest.approx(0.5)
    assert nodes["o"].status is Status.NO_DATA  # no-data is worse than on-track


def test_clamped_below_zero() -> None:
    # a: -50 → progress -0.5, counted 0; b: 100 → 1.
    _, nodes = tree([Objective("o", "O")], [kpi("a", "o"), kpi("b", "o")], {"a": -50, "b": 100})
    assert nodes["o"].progress == pytest.approx(0.5)


def test_archived_kpis_are_left_out() -> None:
    _, nodes = tree(
        [Objective("o", "O")],
        [kpi("a", "o"), kpi("old", "o", archived=True)],
        {"a": 100, "old": 0},
    )
    assert nodes["o"].progress == pytest.approx(1.0)
    assert nodes["o"].status is Status.ON_TRACK
    assert nodes["o"].counts.total == 1
    assert [k.result.kpi.id for k in nodes["o"].kpis] == ["a"]


def test_achieved_only_when_everything_below_is() -> None:
    due = dt.date(2026, 10, 31)
    objectives = [Objective("o", "O")]
    _, nodes = tree(objectives, [kpi("a", "o", due=due), kpi("b", "o", due=due)], {"a": 100})
    assert nodes["o"].status is Status.NO_DATA
    _, nodes = tree(
        objectives, [kpi("a", "o", due=due), kpi("b", "o", due=due)], {"a": 100, "b": 120}
    )
    assert nodes["o"].status is Status.ACHIEVED


def test_nested_three_levels() -> None:
    objectives = [
        Objective("company", "Company"),
        Objective("dept1", "Dept 1", parent="company", weight=2),
        Objective("team", "Team", parent="dept1"),
        Objective("dept2", "Dept 2", parent="company"),
        Objective("idle", "Nothing yet", parent="company", weight=5),
    ]
    kpis = [kpi("t1", "team"), kpi("d1", "dept1"), kpi("e1", "dept2")]
    built, nodes = tree(objectives, kpis, {"t1": 80, "d1": 100, "e1": 95})
    # team: 0.8 off-track; dept1: (1.0 + 0.8) / 2 = 0.9, off-track; dept2: 0.95 at-risk.
    assert nodes["team"].progress == pytest.approx(0.8)
    assert nodes["dept1"].progress == pytest.approx(0.9)
    assert nodes["dept1"].status is Status.OFF_TRACK
    assert nodes["dept2"].status is Status.AT_RISK
    # company: (2 × 0.9 + 1 × 0.95) / 3; the empty objective counts for nothing.
    assert nodes["company"].progress == pytest.approx((2 * 0.9 + 0.95) / 3)
    assert nodes["company"].status is Status.OFF_TRACK
    counts = nodes["company"].counts
    assert [counts.count(s) for s in ROLLUP_ORDER] == [1, 1, 0, 1, 0]
    assert nodes["idle"].progress is None and nodes["idle"].empty
    assert [(n.objective.id, n.depth) for n in built.objectives()] == [
        ("company", 0),
        ("dept1", 1),
        ("team", 2),
        ("dept2", 1),
        ("idle", 1),
    ]
    assert nodes["team"].path == ("company", "dept1", "team")


def test_kpis_without_objective_and_unknown_parents_and_cycles() -> None:
    objectives = [
        Objective("a", "A", parent="b"),
        Objective("b", "B", parent="a"),
        Objective("c", "C", parent="gone"),
    ]
    built, nodes = tree(objectives, [kpi("x", None), kpi("y", "c")], {"x": 1, "y": 100})
    assert [k.result.kpi.id for k in built.unassigned] == ["x"]
    assert [r.objective.id for r in built.roots] == ["a", "b", "c"]  # never loops
    assert nodes["c"].status is Status.ON_TRACK


def test_prune_keeps_the_path_to_the_root() -> None:
    objectives = [
        Objective("company", "Company"),
        Objective("dept1", "Dept 1", parent="company"),
        Objective("team", "Team", parent="dept1"),
        Objective("dept2", "Dept 2", parent="company"),
    ]
    kpis = [kpi("t1", "team"), kpi("d1", "dept1"), kpi("e1", "dept2")]
    built, _ = tree(objectives, kpis, {"t1": 80, "d1": 100, "e1": 95})
    pruned = prune(built, ["t1"])
    assert [n.objective.id for n in pruned.objectives()] == ["company", "dept1", "team"]
    kept = {n.objective.id: n for n in pruned.objectives()}
    assert kept["dept1"].kpis == ()
    assert kept["company"].status is Status.OFF_TRACK  # figures are not recomputed
    assert kept["company"].counts.total == 3
    empty = prune(built, [], ["dept2"])
    assert [n.objective.id for n in empty.objectives()] == ["company", "dept2"]
    ws = Workspace(objectives=tuple(objectives))
    assert descendants(ws, ["dept1"]) == {"dept1", "team"}


def test_drivers_are_named_with_their_statuses() -> None:
    kpis = [
        kpi("mrr", "o", drivers=("trials", "churn")),
        kpi("trials", "o"),
        kpi("churn", "o"),
    ]
    objectives = [Objective("o", "O")]
    measurements = [
        Measurement("mrr", DAY, 50),
        Measurement("trials", DAY, 100),
        Measurement("churn", DAY, 10),
    ]
    ws = Workspace(objectives=tuple(objectives), kpis=tuple(kpis), measurements=measurements)
    results = evaluate(ws, as_of=AS_OF)
    mrr = results[0]
    assert mrr.drivers == (("trials", Status.ON_TRACK), ("churn", Status.OFF_TRACK))
    assert driver_words(mrr) == "drivers: trials on-track, churn off-track"
    assert driver_words(results[1]) is None  # on track: nothing to explain
    node = build_tree(ws, results).roots[0].kpis[0]
    assert [d.result.kpi.id for d in node.drivers] == ["trials", "churn"]


def test_weakest() -> None:
    assert weakest([Status.ACHIEVED, Status.NO_DATA, Status.ON_TRACK]) is Status.NO_DATA
    assert weakest([Status.NO_DATA, Status.AT_RISK]) is Status.AT_RISK
    assert weakest([]) is None


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.floats(min_value=-50, max_value=200)), min_size=1, max_size=6
    ),
    parents=st.lists(st.integers(min_value=0, max_value=2), min_size=6, max_size=6),
)
def test_an_objective_is_never_better_than_its_worst_kpi(
    values: list[float | None], parents: list[int]
) -> None:
    objectives = [
        Objective("o0", "O0"),
        Objective("o1", "O1", parent="o0"),
        Objective("o2", "O2", parent="o1"),
    ]
    kpis = [kpi(f"k{i}", f"o{parents[i]}") for i in range(len(values))]
    present = {f"k{i}": v for i, v in enumerate(values) if v is not None}
    built, _ = tree(objectives, kpis, present)
    for node in built.objectives():
        below = [k.result.status for n in node.walk() for k in n.kpis]
        if below:
            worst = weakest(below)
            assert worst is not None
            assert ROLLUP_ORDER.index(node.status) <= ROLLUP_ORDER.index(worst)
            assert node.progress is not None and 0.0 <= node.progress <= 1.0
