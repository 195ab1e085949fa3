"""The shipped JSON Schema: valid files pass, structurally invalid files fail (like check)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import invoke

from kpitrack.reading.schema import MODELINE, schema_text

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")

ROOT = Path(__file__).resolve().parent.parent
VALID_FILES = [
    ROOT / "sample_kpis.yaml",
    *sorted((ROOT / "tests" / "data").rglob("*.yaml")),
]


def as_json(data: Any) -> Any:
    """YAML data as an editor's YAML language server sees it: dates are strings."""
    if isinstance(data, dict):
        return {str(k): as_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [as_json(v) for v in data]
    if isinstance(data, dt.date):
        return data.isoformat()
    return data


def validator() -> Any:
    schema = json.loads(schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_command_prints_the_shipped_schema() -> None:
    result = invoke("schema")
    assert result.code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert result.stdout == schema_text()


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_valid_files_pass(path: Path) -> None:
    result = invoke("check", "-f", str(path))
    assert result.code in (0, 1)  # warnings or references to other files are fine
    assert all(code not in result.stdout for code in ("KT010", "KT011", "KT012", "KT013", "KT015"))
    data = as_json(yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {})
    errors = [e.message for e in validator().iter_errors(data)]
    assert errors == []


KPI = {
    "id": "revenue",
    "name": "Revenue",
    "measure": "sum of invoiced amounts",
    "target": 100,
    "frequency": "monthly",
}


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"kpis": [{**KPI, "frequncy": "monthly"}]}, "KT015"),  # unknown key
        ({"kpis": [KPI], "extra": []}, "KT011"),  # unknown top-level key
        ({"kpis": [{**KPI, "target": "lots"}]}, "KT016"),  # wrong type: text for a number
        ({"kpis": [{**KPI, "target": True}]}, "KT016"),  # a boolean where a number belongs
        ({"kpis": [{**KPI, "frequency": "hourly"}]}, "KT025"),  # bad enum value
        ({"kpis": [{**KPI, "direction": "up"}]}, "KT025"),
        ({"kpis": [{k: v for k, v in KPI.items() if k != "measure"}]}, "KT013"),
        ({"kpis": {"id": "x"}}, "KT012"),  # a mapping where a list belongs
        ({"measurements": [{"kpi": "revenue", "date": "soon", "value": 1}]}, "KT019"),
        ({"kpis": [{**KPI, "grace_days": -1}]}, "KT035"),
        ({"kpis": [{**KPI, "id": "Bad Id"}]}, "KT020"),
        ({"kpis": [{**KPI, "archived": "yes"}]}, "KT067"),
        ({"kpis": [{**KPI, "action": {"owner": "Ana"}}]}, "KT065"),  # a plan is required
        ({"kpis": [{**KPI, "action": {"plan": "fix", "status": "later"}}]}, "KT066"),
        ({"kpis": [{**KPI, "source": {"sql": "SELECT 1", "database": "a", "csv": "x"}}]}, "KT050"),
        ({"kpis": [{**KPI, "source": {"command": "./count"}}]}, "KT054"),
        ({"kpis": [{**KPI, "weight": 0}]}, "KT039"),
        ({"kpis": [{**KPI, "drivers": "other"}]}, "KT012"),
        ({"objectives": [{"id": "a", "title": "A", "weight": -2}]}, "KT039"),
        ({"events": [{"title": "Launch"}]}, "KT013"),
        ({"events": [{"date": "2026-02-30x", "title": "Launch"}]}, "KT019"),
        ({"events": [{"date": "2026-02-03", "title": "Launch", "kpi": ["x"]}]}, "KT015"),
    ],
)
def test_structurally_invalid_files_fail_both(
    document: dict[str, Any], code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "kpis.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    result = invoke("check")
    assert result.code == 1 and code in result.stdout
    assert list(validator().iter_errors(document)) != []


def test_init_writes_the_modeline_and_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("init").code == 0
    for name in ("kpis.yaml", "measurements.yaml"):
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(MODELINE)
        data = as_json(yaml.safe_load((tmp_path / name).read_text(encoding="utf-8")))
        assert list(validator().iter_errors(data)) == []
    assert (tmp_path / "kpitrack.schema.json").read_text(encoding="utf-8") == schema_text()
    assert invoke("check").code == 0


def test_readme_shows_the_modeline() -> None:
    assert MODELINE.strip() in (ROOT / "docs" / "tools.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "extra",
    [
        {"archived": True},
        {"action": "add a second recruiter"},
        {"action": {"plan": "add a cache", "owner": "Ana", "due": "2026-12-01", "status": "done"}},
        {"source": {"sql": "SELECT count(*) FROM users", "database": "app", "timeout": 5}},
        {
            "source": {
                "csv": "d.csv",
                "date_column": "day",
                "value_column": "n",
                "filter": {"t": "a"},
            }
        },
        {"source": {"command": ["./count-deploys", "--team", "web"]}},
        {"weight": 2.5, "drivers": ["trials", "churn"]},
    ],
)
def test_optional_kpi_keys_pass(extra: dict[str, Any]) -> None:
    assert list(validator().iter_errors({"kpis": [{**KPI, **extra}]})) == []


def test_alignment_keys_and_events_pass() -> None:
    document = {
        "objectives": [
            {"id": "company", "title": "Grow"},
            {"id": "sales", "title": "Sell", "parent": "company", "weight": 2},
        ],
        "kpis": [{**KPI, "objective": "sales", "weight": 3, "drivers": []}],
        "events": [
            {"date": "2026-03-01", "title": "Launch", "kpis": ["revenue"], "note": "v2"},
            {"date": "2026-04-01", "title": "Outage"},
        ],
    }
    assert list(validator().iter_errors(document)) == []
