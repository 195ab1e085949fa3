"""The small public API: load a workspace and evaluate it from Python."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

import kpitrack

SAMPLE = Path(__file__).parent.parent / "sample_kpis.yaml"


def test_load_and_evaluate_the_sample() -> None:
    day = dt.date(2026, 11, 25)
    workspace = kpitrack.load_valid_workspace([SAMPLE], config=kpitrack.Config(), as_of=day)
    results = {r.kpi.id: r for r in kpitrack.evaluate(workspace, as_of=day)}
    # The statuses the README shows for the sample.
    assert {k: str(r.status) for k, r in results.items()} == {
        "mrr": "at-risk",
        "trial-conversion": "on-track",
        "sso-launch": "off-track",
        "csat": "at-risk",
        "first-response": "off-track",
        "churn": "on-track",
        "onboarding-revamp": "achieved",
        "uptime": "on-track",
        "deploys": "on-track",
        "eng-hiring": "off-track",
        "enps": "no-data",
        "beta-signups": "achieved",  # archived: evaluated, hidden from the views
        "paying-accounts": "on-track",  # and yet forecast to miss
    }
    assert [str(x) for x in results["paying-accounts"].reasons] == ["forecast-miss"]
    assert [(d, str(s)) for d, s in results["mrr"].drivers] == [
        ("trial-conversion", "on-track"),
        ("churn", "on-track"),
    ]
    assert [e.title for e in results["uptime"].events] == [
        "API outage (42 minutes, database failover)"
    ]
    assert [str(x) for x in results["first-response"].reasons] == [
        "off-track",
        "overdue",
        "no-action-plan",
    ]
    hiring = results["eng-hiring"].kpi
    assert hiring.action_plan is not None and hiring.action_plan.owner == "Priya"
    assert results["beta-signups"].kpi.archived


def test_evaluate_is_the_function_whatever_was_imported_first() -> None:
    code = (
        "import kpitrack.evaluation.evaluate, kpitrack.render.report_common; "
        "from kpitrack import evaluate; import kpitrack; "
        "print(callable(evaluate), callable(kpitrack.evaluate))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = kpitrack.nope  # type: ignore[attr-defined]


def test_help_does_not_import_the_core() -> None:
    code = (
        "import sys; from kpitrack.cli import app; "
        "print(sorted(m for m in sys.modules "
        "if m.startswith('kpitrack.') or m in ('yaml', 'rich.table')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout
    for heavy in (
        "kpitrack.reading.loading",
        "kpitrack.render.report_html",
        "yaml",
        "rich.table",
    ):
        assert f"'{heavy}'" not in loaded, loaded
