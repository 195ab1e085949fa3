"""The options (and shell completion) that several commands share, declared once.

A command's signature is its command line: each parameter annotated with one of
these takes the option with the same flags, help and completion everywhere.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from kpitrack.render.formats import OutputFormat

# ---------------------------------------------------------------- completion


def _workspace_words(kind: str, incomplete: str) -> list[str]:
    """Shell completion: KPI ids, objective ids, owners or tags of the workspace here
    (kpitrack.toml's files or kpis.yaml); nothing when it cannot be read."""
    try:
        from kpitrack.commands.inputs import load_config_here
        from kpitrack.reading.loading import load_workspace, resolve_paths

        config = load_config_here()
        paths = resolve_paths([], config, Path.cwd())
        workspace, _problems = load_workspace(paths, config=config, as_of=dt.date.today())
    except Exception:  # completion must never fail loudly
        return []
    words: dict[str, list[str]] = {
        "kpi": [k.id for k in workspace.kpis],
        "objective": [o.id for o in workspace.objectives],
        "owner": [k.owner for k in workspace.kpis if k.owner],
        "tag": [t for k in workspace.kpis for t in k.tags],
        "id": [k.id for k in workspace.kpis] + [o.id for o in workspace.objectives],
    }
    wanted = incomplete.casefold()
    return sorted({w for w in words[kind] if w.casefold().startswith(wanted)})


def complete_kpi(incomplete: str) -> list[str]:
    return _workspace_words("kpi", incomplete)


def complete_objective(incomplete: str) -> list[str]:
    return _workspace_words("objective", incomplete)


def complete_owner(incomplete: str) -> list[str]:
    return _workspace_words("owner", incomplete)


def complete_tag(incomplete: str) -> list[str]:
    return _workspace_words("tag", incomplete)


def complete_id(incomplete: str) -> list[str]:
    return _workspace_words("id", incomplete)


# ---------------------------------------------------------------- inputs

FilesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "-f",
        "--file",
        metavar="PATH",
        readable=False,  # the loader reports an unreadable file as a located problem
        help="A KPI file or folder (all *.yaml/*.yml inside). Repeatable. "
        "Default: kpitrack.toml's files, else kpis.yaml (+ measurements.yaml).",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="Evaluate as of this date: YYYY-MM-DD, a period's last day (2026-W47, 2026-11, "
        "2026-Q3, 2026), or today, yesterday, last-week, last-month. Default: today.",
    ),
]
RevOption = Annotated[
    str | None,
    typer.Option(
        "--rev",
        metavar="REV",
        help="Read the files as they were at this git revision (no checkout).",
    ),
]

# ---------------------------------------------------------------- filters (evaluation.select)

OwnerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--owner",
        metavar="OWNER",
        help="Only KPIs with this owner (any case). Repeatable.",
        autocompletion=complete_owner,
    ),
]
ObjectiveOption = Annotated[
    list[str] | None,
    typer.Option(
        "--objective",
        metavar="ID",
        help="Only KPIs of this objective id. Repeatable.",
        autocompletion=complete_objective,
    ),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tag",
        metavar="TAG",
        help="Only KPIs with this tag (any case). Repeatable.",
        autocompletion=complete_tag,
    ),
]
KpiOption = Annotated[
    list[str] | None,
    typer.Option(
        "--kpi", metavar="KPI", help="Only this KPI id. Repeatable.", autocompletion=complete_kpi
    ),
]
AllOption = Annotated[
    bool,
    typer.Option("--all", help="Include archived KPIs (archived: true), which are hidden."),
]
FailOnOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-on",
        metavar="STATUS_OR_REASON",
        help="Exit 1 when any listed KPI has this status or needs-action reason "
        "(e.g. off-track, at-risk, overdue). Repeatable or comma-separated.",
    ),
]

# ---------------------------------------------------------------- writing

ToOption = Annotated[
    Path | None,
    typer.Option(
        "--to",
        metavar="FILE",
        help="The YAML file to append to, one the workspace reads. Default: kpitrack.toml's "
        "measurements_file, else the file that already holds the measurements, else "
        "measurements.yaml.",
    ),
]

# ---------------------------------------------------------------- output

OutputOption = Annotated[
    Path | None,
    typer.Option(
        "-o", "--output", metavar="FILE", help="Write to this file (atomically) instead of stdout."
    ),
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        help="table, json, csv or markdown. Default: from -o's extension (.json, .csv, .md), "
        "else table.",
        case_sensitive=False,
        show_default=False,
    ),
]
