"""notify's change set, computed without the whole digest, against the digest's
(`build_change_set(build_report(...))`, the path before): the same change set and the
same payload for every kind of target, on notify's sample and on generated workspaces,
for any window and any selection of KPIs."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import Config
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.notify.payloads import (
    TargetKind,
    build_change_set,
    change_set_of,
    payload,
)
from kpitrack.reading.loading import load_valid_workspace, resolve_paths
from kpitrack.reports.digest import build_report

HERE = Path(__file__).resolve().parent
KPIS_FILE = HERE / "data" / "notify" / "kpis.yaml"
AS_OF = dt.date(2026, 11, 25)


def _generated(tmp: Path) -> Workspace:
    sys.path.insert(0, str(HERE.parent / "benchmarks"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(HERE.parent / "benchmarks"))
    ws = generate(tmp, kpis=24, measurements=400, journal=False)
    paths = resolve_paths([ws], Config(), tmp)
    return load_valid_workspace(paths, config=Config(), as_of=AS_OF)


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> list[Workspace]:
    sample = load_valid_workspace([KPIS_FILE], config=Config(), as_of=AS_OF)
    return [sample, _generated(tmp_path_factory.mktemp("gen"))]


def check_same(workspace: Workspace, as_of: dt.date, since: dt.date, keep: list[bool]) -> None:
    config = Config(site_url="https://k.example")
    results = evaluate(workspace, as_of=as_of, config=config)
    selected = [r for r, k in zip(results, keep * len(results), strict=False) if k]
    cs, window = change_set_of(workspace, selected, as_of=as_of, since=since, config=config)
    previous = evaluate(workspace, as_of=since, config=config)
    report = build_report(
        workspace, as_of=as_of, since=since, config=config, results=selected, previous=previous
    )
    old = build_change_set(report, previous, site_url=config.site_url)
    assert cs == old
    assert window.results == report.results
    for kind in TargetKind:
        assert payload(kind, cs) == payload(kind, old)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.integers(0, 1),
    end=st.integers(-60, 10),
    days=st.integers(0, 120),
    keep=st.lists(st.booleans(), min_size=1, max_size=5),
)
def test_notify_change_set_is_the_digests(
    workspaces: list[Workspace], which: int, end: int, days: int, keep: list[bool]
) -> None:
    as_of = AS_OF + dt.timedelta(days=end)
    check_same(workspaces[which], as_of, as_of - dt.timedelta(days=days), keep)


def test_a_window_that_ends_before_it_starts_is_refused(workspaces: list[Workspace]) -> None:
    with pytest.raises(ValueError, match="is after as_of"):
        change_set_of(
            workspaces[0], [], as_of=AS_OF, since=AS_OF + dt.timedelta(days=1), config=Config()
        )
