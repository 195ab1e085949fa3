"""Commands: check (docs/rules.md): every problem at once,
`path:line:column: severity CODE message`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kpitrack.commands.inputs import load_config_here, parse_as_of
from kpitrack.commands.options import AsOfOption, CheckFormatOption, FilesOption, RevOption
from kpitrack.domain.problems import ExitCode


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def check(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    fmt: CheckFormatOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on warnings too, not only on errors.")
    ] = False,
    rev: RevOption = None,
) -> None:
    """Check the KPI files: every problem at once, with file, line and column.

    Problems go to stdout, one per line; the summary goes to stderr.
    Exit 0 when clean, 1 when there are errors (or warnings with --strict).
    """
    from kpitrack.commands.inputs import source_context
    from kpitrack.render.formats import CheckFormat, choose_format
    from kpitrack.reports.checking import check_workspace

    output_format = choose_format(fmt, None, CheckFormat, default=CheckFormat.TEXT)

    day = parse_as_of(as_of)
    config = load_config_here()
    outcome = check_workspace(
        files or [], config, lambda: source_context(config), as_of=day, cwd=Path.cwd(), rev=rev
    )
    workspace, problems, file_count = outcome.workspace, outcome.problems, outcome.file_count
    errors, warnings = outcome.errors, outcome.warnings

    if output_format is CheckFormat.JSON:
        import json

        document = {
            "problems": [p.to_dict() for p in problems],
            "errors": errors,
            "warnings": warnings,
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("".join(p.format() + "\n" for p in problems))
        files_text = _plural(file_count, "file")
        if problems:
            summary = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {files_text}"
        else:
            summary = (
                f"ok: {files_text}, {_plural(len(workspace.kpis), 'KPI')}, "
                f"{_plural(len(workspace.measurements), 'measurement')}"
            )
        sys.stdout.flush()
        print(summary, file=sys.stderr)
    sys.stdout.flush()
    if errors or (strict and warnings):
        raise typer.Exit(int(ExitCode.PROBLEMS))
