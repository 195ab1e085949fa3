"""What commands read before they call the core: the --as-of date (today is decided
here and nowhere below the shell), kpitrack.toml, the workspace, the selected KPIs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kpitrack.domain.problems import UsageError

if TYPE_CHECKING:
    from kpitrack.domain.model import Config, KpiResult
    from kpitrack.domain.workspace import Workspace
    from kpitrack.reading.sources import SourceContext

AS_OF_WORDS = ("today", "yesterday", "last-week", "last-month")


def as_of_date(text: str, today: dt.date) -> dt.date:
    """An --as-of value: YYYY-MM-DD; a period (2026-W47, 2026-11, 2026-Q3, 2026), meaning
    its last day; or today, yesterday, last-week, last-month (the last day of the previous
    ISO week or calendar month). ValueError with a readable message otherwise."""
    from kpitrack.domain.periods import parse_period

    word = text.strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - dt.timedelta(days=1)
    if word == "last-week":
        return today - dt.timedelta(days=today.isoweekday())
    if word == "last-month":
        return today.replace(day=1) - dt.timedelta(days=1)
    try:
        return parse_period(text).end
    except ValueError as exc:
        raise ValueError(f"{exc}, or one of {', '.join(AS_OF_WORDS)}") from None


def parse_as_of(text: str | None, option: str = "--as-of") -> dt.date:
    """The --as-of date; today only here, never below the CLI."""
    today = dt.date.today()
    if text is None:
        return today
    try:
        return as_of_date(text, today)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def load_config_here() -> Config:
    from kpitrack.reading.config import load_config

    return load_config(Path.cwd())


def load_for_evaluation(
    files: Sequence[Path] | None, as_of: dt.date, rev: str | None = None
) -> tuple[Workspace, Config]:
    """Read and check the workspace; refuse it (exit 2, check's messages) when it has errors.
    With `rev`, the files are read as they were at that git revision."""
    from kpitrack.reading.loading import load_valid_workspace, resolve_paths

    config = load_config_here()
    if rev is not None:
        from kpitrack.git.revisions import load_valid_at

        return load_valid_at(rev, files or [], config, as_of), config
    paths = resolve_paths(files or [], config, Path.cwd())
    return load_valid_workspace(paths, config=config, as_of=as_of), config


def evaluate_selected(
    files: Sequence[Path] | None,
    as_of: dt.date,
    rev: str | None,
    *,
    owners: Sequence[str] | None,
    objectives: Sequence[str] | None,
    tags: Sequence[str] | None,
    kpis: Sequence[str] | None,
    show_all: bool,
) -> tuple[list[KpiResult], Workspace, Config]:
    """Load the valid workspace, evaluate every KPI as of `as_of`, keep those the filters
    select (archived ones only with `show_all`); in the workspace's order."""
    from kpitrack.evaluation.evaluate import evaluate
    from kpitrack.evaluation.select import drop_archived, filter_results

    workspace, config = load_for_evaluation(files, as_of, rev)
    results = filter_results(
        evaluate(workspace, as_of=as_of, config=config),
        workspace,
        owners=owners,
        objectives=objectives,
        tags=tags,
        kpis=kpis,
    )
    return drop_archived(results, show_all), workspace, config


def format_from_extension(output: Path | None, given: str | None) -> str | None:
    """The --format implied by -o's extension (.json, .csv, .md/.markdown, .html) when
    --format is not given; else `given`."""
    from kpitrack.render.formats import FORMAT_BY_EXTENSION

    if given is not None or output is None:
        return given
    return FORMAT_BY_EXTENSION.get(output.suffix.lower())


def source_context(config: Config, *, allow_commands: bool = False) -> SourceContext:
    """The local config (and --allow-commands) for the workspace of `config`."""
    import dataclasses
    import os

    from kpitrack.reading.localconfig import load_local_config
    from kpitrack.reading.sources import SourceContext

    root = Path(config.root) if config.root else Path.cwd()
    local = load_local_config(root, os.environ)
    if allow_commands:
        local = dataclasses.replace(local, allow_commands=True)
    return SourceContext(local=local, root=root, environ=os.environ, config=config)
