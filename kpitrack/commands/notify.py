"""`kpitrack notify`: the week's changes in the team's chat (see docs/notify.md)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from kpitrack.commands.inputs import evaluate_selected, load_config_here, parse_as_of
from kpitrack.commands.options import (
    AllOption,
    AsOfOption,
    FailOnOption,
    FilesOption,
    KpiOption,
    ObjectiveOption,
    OwnerOption,
    TagOption,
)
from kpitrack.domain.problems import ExitCode, UsageError

if TYPE_CHECKING:
    from kpitrack.domain.model import Config
    from kpitrack.notify.send import Delivery, Target


SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="DATE",
        help="Changes after this date (YYYY-MM-DD). Default: a week before --as-of.",
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Print each target's payload (JSON) instead of sending it."),
]
OnlyChangesOption = Annotated[
    bool,
    typer.Option(
        "--only-changes/--always",
        help="Post only to targets whose KPIs changed (default), or --always post the summary.",
    ),
]
QuietOption = Annotated[bool, typer.Option("-q", "--quiet", help="Print only failures (for cron).")]


def notify_targets(config: Config) -> tuple[Target, ...]:
    """The `[[notify]]` targets of the local config (never kpitrack.toml or KPI files)."""
    import os
    from pathlib import Path

    from kpitrack.notify.send import parse_targets
    from kpitrack.reading.localconfig import LOCAL_CONFIG_NAME, load_local_config

    root = Path(config.root) if config.root else Path.cwd()
    local = load_local_config(root, os.environ)
    where = " or ".join(str(p) for p in local.files) or "the local kpitrack config"
    targets = parse_targets(local.notify, os.environ, where=where)
    if not targets:
        raise UsageError(
            f"no notify targets: add a [[notify]] table to {LOCAL_CONFIG_NAME} (git-ignored) "
            "or ~/.config/kpitrack/config.toml; see docs/notify.md"
        )
    return targets


def print_deliveries(deliveries: list[Delivery], *, quiet: bool, dry_run: bool) -> bool:
    """Each target's line (failures on stderr; with --dry-run every line goes to stderr
    and stdout holds only the payloads); whether any target failed."""
    from kpitrack.notify.send import Outcome
    from kpitrack.render.notify import delivery_line

    failed = False
    for d in deliveries:
        if d.outcome is Outcome.FAILED:
            failed = True
            print(delivery_line(d), file=sys.stderr)
        elif d.outcome is Outcome.DRY_RUN:
            print(delivery_line(d), file=sys.stderr)
            sys.stdout.write(f"{d.body}\n")
        elif not quiet:
            print(delivery_line(d), file=sys.stderr if dry_run else sys.stdout)
    sys.stdout.flush()
    return failed


def notify(
    files: FilesOption = None,
    as_of: AsOfOption = None,
    since: SinceOption = None,
    owner: OwnerOption = None,
    objective: ObjectiveOption = None,
    tag: TagOption = None,
    kpi: KpiOption = None,
    dry_run: DryRunOption = False,
    only_changes: OnlyChangesOption = True,
    quiet: QuietOption = False,
    fail_on: FailOnOption = None,
    show_all: AllOption = False,
) -> None:
    """Post what changed since --since (status changes, newly overdue KPIs, new reasons)
    to the chat targets of the local config ([[notify]] in kpitrack.local.toml)."""
    from kpitrack.evaluation.select import fail_on_matches, parse_fail_on
    from kpitrack.notify.payloads import change_set_of
    from kpitrack.notify.send import deliver
    from kpitrack.reports.digest import default_since

    day = parse_as_of(as_of)
    start = parse_as_of(since, "--since") if since is not None else default_since(day)
    if start > day:
        raise UsageError(f"--since {start.isoformat()} is after --as-of {day.isoformat()}")
    wanted = parse_fail_on(fail_on)
    targets = notify_targets(load_config_here())
    results, workspace, config = evaluate_selected(
        files, day, None, owners=owner, objectives=objective, tags=tag, kpis=kpi, show_all=show_all
    )
    change_set, digest = change_set_of(workspace, results, as_of=day, since=start, config=config)
    deliveries = deliver(targets, change_set, always=not only_changes, dry_run=dry_run)
    failed = print_deliveries(deliveries, quiet=quiet, dry_run=dry_run)
    matched = fail_on_matches(digest.results, wanted)
    if matched:
        ids = ", ".join(r.kpi.id for r in matched)
        print(f"kpitrack: --fail-on matched {len(matched)} KPI(s): {ids}", file=sys.stderr)
    if failed or matched:
        raise typer.Exit(int(ExitCode.PROBLEMS))
