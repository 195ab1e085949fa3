"""Command: schema — the JSON Schema of the file format, for editors and other tools."""

from __future__ import annotations

from kpitrack.commands.options import OutputOption
from kpitrack.commands.output import emit


def schema(output: OutputOption = None) -> None:
    """Print the JSON Schema (draft 2020-12) of the KPI file format, for editors.

    Save it next to your KPI files and start each file with
    `# yaml-language-server: $schema=kpitrack.schema.json`.
    """
    from kpitrack.reading.schema import schema_text

    emit(schema_text(), output)
