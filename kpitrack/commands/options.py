"""The options (and shell completion) that several commands share, declared once.

A command's signature is its command line: each parameter annotated with one of
these takes the option with the same flags, help and completion everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kpitrack.render.formats import (
    CheckFormat,
    CollectFormat,
    ExportFormat,
    OutputFormat,
    ReportFormat,
    format_names,
)

if TYPE_CHECKING:
    from kpitrack.domain.workspace import Workspace

# ---------------------------------------------------------------- completion


def _workspace_words(kind: str, incomplete: str) -> list[str]:
    """Shell completion: KPI ids, objective ids, owners or tags of the workspace here
    (kpitrack.toml's files or kpis.yaml); nothing when it cannot be read."""
    workspace = _workspace_here()
    if workspace is None:
        return []
    wanted = incomplete.casefold()
    return sorted({w for w in _words(workspace, kind) if w.casefold().startswith(wanted)})


def _workspace_here() -> Workspace | None:
    """The workspace here, as completion reads it; None when it cannot be read."""
    try:
        from kpitrack.commands.inputs import load_config_here
        from kpitrack.reading.loading import load_workspace, resolve_paths

        config = load_config_here()
        paths = resolve_paths([], config, Path.cwd())
        workspace, _problems = load_workspace(paths, config=config, as_of=dt.date.today())
    except Exception:  # completion must never fail loudly
        return None
    return workspace


def _words(workspace: Workspace, kind: str) -> list[str]:
    """The words of one kind: kpi, objective, owner, tag, or id (KPI and objective ids)."""
    words: dict[str, Callable[[], list[str]]] = {
        "kpi": lambda: [k.id for k in workspace.kpis],
        "objective": lambda: [o.id for o in workspace.objectives],
        "owner": lambda: [k.owner for k in workspace.kpis if k.owner],
        "tag": lambda: [t for k in workspace.kpis for t in k.tags],
        "id": lambda: [k.id for k in workspace.kpis] + [o.id for o in workspace.objectives],
    }
    return words[kind]()


def _matching(values: Iterable[str], incomplete: str) -> list[str]:
    """The values that start with `incomplete` (any case), in their order."""
    wanted = incomplete.casefold()
    return [v for v in values if v.casefold().startswith(wanted)]


def complete_fail_on(incomplete: str) -> list[str]:
    """--fail-on: statuses and reasons; after a comma, the next one of a list."""
    from kpitrack.evaluation.select import FAIL_ON_VALUES

    head, comma, last = incomplete.rpartition(",")
    done = {v.strip() for v in head.split(",")} if comma else set()
    return [f"{head}{comma}{v}" for v in _matching(FAIL_ON_VALUES, last.strip()) if v not in done]


def complete_date_word(incomplete: str) -> list[str]:
    """--as-of, --since and --date: the date words (a date or period is typed)."""
    from kpitrack.domain.periods import DATE_WORDS

    return _matching(DATE_WORDS, incomplete)


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
        autocompletion=complete_date_word,
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
        autocompletion=complete_fail_on,
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

CommitOption = Annotated[
    bool | None,
    typer.Option(
        "--commit/--no-commit",
        help="After a successful write, git commit exactly the files written (nothing "
        "else you staged). Default: kpitrack.toml's commit, else no commit.",
        show_default=False,
    ),
]

# ---------------------------------------------------------------- output

OutputOption = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        metavar="FILE",
        help="Write to this file (atomically) instead of stdout; its extension names the "
        "format; - is stdout.",
    ),
]


def _format_completion(subset: type[StrEnum]) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        return [n for n in format_names(subset) if n.startswith(incomplete.lower())]

    return complete


def _format_option(subset: type[StrEnum], help: str) -> Any:
    """A --format option taking `subset`'s values of the one format vocabulary
    (`render.formats.Format`; `table` still means `text`), parsed by
    `render.formats.choose_format` so that -o's extension can decide too."""
    return typer.Option(
        "--format",
        metavar="FORMAT",
        help=help,
        show_default=False,
        autocompletion=_format_completion(subset),
    )


FormatOption = Annotated[
    str | None,
    _format_option(
        OutputFormat,
        "text (a table; old name: table), json, csv or markdown. Default: the format -o's "
        "extension names (.txt, .json, .csv, .md), else text.",
    ),
]
ReportFormatOption = Annotated[
    str | None,
    _format_option(
        ReportFormat,
        "text (terminal; old name: table), markdown (wikis, chat), html (one self-contained "
        "page), json, or email (a whole mail for `sendmail -t`: plain text and HTML). "
        "Default: the format -o's extension names (.txt, .md, .html, .json, .eml), else text.",
    ),
]
CheckFormatOption = Annotated[
    str | None, _format_option(CheckFormat, "text: one line per problem; json: an object.")
]
CollectFormatOption = Annotated[
    str | None, _format_option(CollectFormat, "text, or json: what was collected.")
]
ExportFormatOption = Annotated[
    str | None,
    _format_option(
        ExportFormat,
        "csv (header row) or jsonl (one object a line). Default: the format -o's extension "
        "names (.csv, .jsonl), else csv.",
    ),
]
