"""Command: help [COMMAND] — the same text as `kpitrack --help` or `kpitrack COMMAND --help`."""

from __future__ import annotations

from typing import Annotated

import typer


def help_command(
    ctx: typer.Context,
    command: Annotated[
        str | None,
        typer.Argument(metavar="[COMMAND]", help="The command to explain. Default: all of them."),
    ] = None,
) -> None:
    """Help on kpitrack, or on one command (as COMMAND --help)."""
    from typer.core import TyperGroup

    from kpitrack.domain.problems import UsageError
    from kpitrack.domain.suggest import did_you_mean

    root = ctx.find_root()
    if command is None:
        typer.echo(root.get_help())
        return
    group = root.command
    assert isinstance(group, TyperGroup)
    found = group.get_command(root, command)
    if found is None:
        names = group.list_commands(root)
        raise UsageError(f"no command '{command}'{did_you_mean(command, names)}")
    with typer.Context(found, info_name=command, parent=root) as sub:
        typer.echo(found.get_help(sub))
