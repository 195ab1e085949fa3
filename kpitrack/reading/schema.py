"""The JSON Schema (draft 2020-12) of the KPI file format, shipped as package data."""

from __future__ import annotations

from importlib import resources

SCHEMA_FILE = "kpitrack.schema.json"
MODELINE = f"# yaml-language-server: $schema={SCHEMA_FILE}\n"


def schema_text() -> str:
    """The schema as shipped inside the package."""
    return resources.files("kpitrack").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
