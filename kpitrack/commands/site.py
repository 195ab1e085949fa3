"""`kpitrack site`: the workspace as a static website (see docs/site.md)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kpitrack.commands.inputs import load_config_here, parse_as_of
from kpitrack.commands.options import (
    AllOption,
    AsOfOption,
    FilesOption,
    KpiOption,
    ObjectiveOption,
    OwnerOption,
    TagOption,
)
from kpitrack.domain.problems import UsageError

if TYPE_CHECKING:
    from kpitrack.domain.model import Config, KpiResult
    from kpitrack.domain.workspace import Workspace
    from kpitrack.writing.sitefolder import SiteWriteOutcome

SiteFolderOption = Annotated[
    Path,
    typer.Option(
        "-o",
        "--output",
        metavar="FOLDER",
        help="The folder to write the site into (created if missing). Only files an "
        "earlier `kpitrack site` wrote there are replaced or removed.",
        show_default=False,
    ),
]


def build_time(environ: dict[str, str] | os._Environ[str]) -> str:
    """The build-time line's time: SOURCE_DATE_EPOCH (reproducible builds) when set,
    else now; in UTC to the minute."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip():
        try:
            when = dt.datetime.fromtimestamp(int(epoch.strip()), tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise UsageError(
                f"SOURCE_DATE_EPOCH: {epoch!r} is not a number of seconds since 1970"
            ) from None
    else:
        when = dt.datetime.now(tz=dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def site(
    output: SiteFolderOption,
    files: FilesOption = None,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    kpi: KpiOption = None,
    show_all: AllOption = False,
) -> None:
    """Write the KPI workspace as a static website: an overview, one page per KPI,
    objective and owner, and check's warnings. No server, no JavaScript, no external
    requests: publish the folder on any static host."""
    from kpitrack.domain.problems import InvalidWorkspaceError
    from kpitrack.reading.loading import load_workspace
    from kpitrack.render.site_html import page_writers
    from kpitrack.reports.site import build_site, git_sources
    from kpitrack.writing.sitefolder import check_output_folder, write_site_folder

    day = parse_as_of(as_of)
    built_at = build_time(os.environ)
    config = load_config_here()
    paths, own_files = _workspace_files(files or [], config)
    check_output_folder(output, own_files)  # before the work: a wrong -o fails at once

    workspace, problems = load_workspace(paths, config=config, as_of=day)
    if any(p.is_error for p in problems):
        raise InvalidWorkspaceError(problems)
    results = _selected(
        workspace,
        day,
        config,
        owners=owner,
        objectives=objective,
        tags=tag,
        kpis=kpi,
        show_all=show_all,
    )
    provenance, history = git_sources(files or [], config)
    model = build_site(
        workspace,
        results,
        as_of=day,
        config=config,
        problems=problems,
        history=history,
        provenance=provenance,
        built_at=built_at,
    )
    pages = page_writers(model)
    outcome = write_site_folder(output, pages, workspace_files=own_files)
    typer.echo(_wrote_line(output, len(pages), outcome))


def _workspace_files(files: list[Path], config: Config) -> tuple[list[Path], list[Path]]:
    """The paths to read, and the workspace's own files (absolute, kpitrack.toml too):
    the site folder must hold none of them."""
    from kpitrack.reading.loading import resolve_paths

    cwd = Path.cwd()
    paths = resolve_paths(files, config, cwd)
    own_files = [p if p.is_absolute() else cwd / p for p in paths]
    toml = Path(config.root) / "kpitrack.toml" if config.root else None
    if toml is not None and toml.is_file():
        own_files.append(toml)
    return paths, own_files


def _selected(
    workspace: Workspace,
    day: dt.date,
    config: Config,
    *,
    owners: list[str] | None,
    objectives: list[str] | None,
    tags: list[str] | None,
    kpis: list[str] | None,
    show_all: bool,
) -> list[KpiResult]:
    """The evaluated KPIs the site shows: --owner, --objective, --tag, --kpi, and the
    archived ones only with --all."""
    from kpitrack.evaluation.evaluate import evaluate
    from kpitrack.evaluation.select import drop_archived, filter_results

    return drop_archived(
        filter_results(
            evaluate(workspace, as_of=day, config=config),
            workspace,
            owners=owners,
            objectives=objectives,
            tags=tags,
            kpis=kpis,
        ),
        show_all,
    )


def _wrote_line(output: Path, count: int, outcome: SiteWriteOutcome) -> str:
    """`kpitrack: wrote the site to FOLDER: N pages (… written, … unchanged, … removed);
    open FOLDER/index.html`."""
    from kpitrack.domain.textsafe import visible

    removed = f", {len(outcome.removed)} removed" if outcome.removed else ""
    plural = "" if count == 1 else "s"
    return visible(
        f"kpitrack: wrote the site to {output}: {count} page{plural} "
        f"({len(outcome.written)} written, {len(outcome.unchanged)} unchanged{removed}); "
        f"open {output / 'index.html'}",
        line=True,
    )
