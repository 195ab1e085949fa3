"""The command line: parse options, call the core once, render, write, map errors to exit codes.

Commands live in `kpitrack/commands/`, one module per area, each a thin layer
over the core; this module holds the app, the options they share and the one
place where errors become messages and exit codes.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from kpitrack import __version__
from kpitrack.problems import ExitCode, InvalidWorkspaceError, KpitrackError, UsageError

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from kpitrack.model import Config, KpiResult, Workspace

app = typer.Typer(
    name="kpitrack",
    help="KPI tracker for the terminal: KPI definitions and measurements in YAML, kept in git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


# ---------------------------------------------------------------- shared options

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
        "--as-of", metavar="DATE", help="Evaluate as of this date (YYYY-MM-DD). Default: today."
    ),
]
OwnerOption = Annotated[
    list[str] | None,
    typer.Option("--owner", metavar="OWNER", help="Only KPIs with this owner. Repeatable."),
]
ObjectiveOption = Annotated[
    list[str] | None,
    typer.Option("--objective", metavar="ID", help="Only KPIs of this objective id. Repeatable."),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", metavar="TAG", help="Only KPIs with this tag. Repeatable."),
]
KpiOption = Annotated[
    list[str] | None, typer.Option("--kpi", metavar="KPI", help="Only this KPI id. Repeatable.")
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "-o", "--output", metavar="FILE", help="Write to this file (atomically) instead of stdout."
    ),
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


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"kpitrack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """KPI tracker for the terminal: KPI definitions and measurements in YAML, kept in git."""


# ---------------------------------------------------------------- errors and exit codes


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print `kpitrack: error: message` on stderr and exit."""
    from kpitrack.textsafe import visible

    print(f"kpitrack: error: {visible(message, line=True)}", file=sys.stderr)
    raise typer.Exit(int(code))


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn core errors into messages and exit codes, in one place."""
    try:
        yield
    except InvalidWorkspaceError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        fail(str(exc), ExitCode.USAGE)
    except KpitrackError as exc:
        fail(str(exc), exc.exit_code)


# ---------------------------------------------------------------- inputs


def parse_as_of(text: str | None, option: str = "--as-of") -> dt.date:
    """The --as-of date; today only here, never below the CLI."""
    if text is None:
        return dt.date.today()
    from kpitrack.periods import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def load_config_here() -> Config:
    from kpitrack.config import load_config

    return load_config(Path.cwd())


def load_for_evaluation(files: Sequence[Path] | None, as_of: dt.date) -> tuple[Workspace, Config]:
    """Read and check the workspace; refuse it (exit 2, check's messages) when it has errors."""
    from kpitrack.loading import load_valid_workspace, resolve_paths

    config = load_config_here()
    paths = resolve_paths(files or [], config, Path.cwd())
    return load_valid_workspace(paths, config=config, as_of=as_of), config


def split_values(values: Sequence[str] | None) -> list[str]:
    """Repeatable options that also accept comma-separated lists."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def filter_results(
    results: Sequence[KpiResult],
    workspace: Workspace,
    *,
    owners: Sequence[str] | None = None,
    objectives: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    kpis: Sequence[str] | None = None,
) -> list[KpiResult]:
    """Keep the KPIs matching every given filter (any value within one filter)."""
    from kpitrack.suggest import did_you_mean

    owner_set, objective_set = set(split_values(owners)), set(split_values(objectives))
    tag_set, kpi_set = set(split_values(tags)), set(split_values(kpis))
    known = {k.id for k in workspace.kpis}
    for kpi_id in sorted(kpi_set - known):
        raise UsageError(f"--kpi: no KPI '{kpi_id}'{did_you_mean(kpi_id, known)}")
    known_objectives = {o.id for o in workspace.objectives}
    for objective_id in sorted(objective_set - known_objectives):
        raise UsageError(
            f"--objective: no objective '{objective_id}'"
            f"{did_you_mean(objective_id, known_objectives)}"
        )
    return [
        r
        for r in results
        if (not owner_set or r.kpi.owner in owner_set)
        and (not objective_set or r.kpi.objective in objective_set)
        and (not tag_set or tag_set.intersection(r.kpi.tags))
        and (not kpi_set or r.kpi.id in kpi_set)
    ]


FAIL_ON_VALUES = (
    "no-data",
    "achieved",
    "on-track",
    "at-risk",
    "off-track",
    "overdue",
    "no-action-plan",
    "past-due",
    "review-due",
    "needs-action",
)


def parse_fail_on(values: Sequence[str] | None) -> set[str]:
    """--fail-on values: statuses, needs-action reasons, or `needs-action` for any reason."""
    from kpitrack.suggest import did_you_mean

    wanted = set(split_values(values))
    for value in sorted(wanted - set(FAIL_ON_VALUES)):
        raise UsageError(
            f"--fail-on: unknown status or reason '{value}'{did_you_mean(value, FAIL_ON_VALUES)}"
            f" (choose from {', '.join(FAIL_ON_VALUES)})"
        )
    return wanted


def fail_on_matches(results: Sequence[KpiResult], wanted: set[str]) -> list[KpiResult]:
    """The results that match any --fail-on value."""
    matched = []
    for r in results:
        labels = {str(r.status), *(str(reason) for reason in r.reasons)}
        if r.reasons:
            labels.add("needs-action")
        if labels & wanted:
            matched.append(r)
    return matched


# ---------------------------------------------------------------- output


def make_console(*, stderr: bool = False) -> Console:
    """A console for stdout: colour only on a terminal and never with NO_COLOR."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    color = "NO_COLOR" not in os.environ and stream.isatty()
    return Console(
        file=stream,
        color_system="auto" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
        force_terminal=None if color else False,
    )


def visible_renderable(renderable: RenderableType) -> RenderableType:
    """A renderable whose text (not its styling) has control characters escaped."""
    from rich.segment import Segment

    from kpitrack.textsafe import visible

    class Visible:
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            for segment in console.render(renderable, options):
                if segment.control:
                    yield segment
                else:
                    yield Segment(visible(segment.text), segment.style)

    return Visible()


def renderable_to_text(renderable: RenderableType, width: int = 100) -> str:
    """Plain text of a Rich renderable, for files: no colour, no escape codes."""
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, no_color=True, highlight=False, emoji=False
    )
    console.print(visible_renderable(renderable))
    return buffer.getvalue()


def emit(content: str | RenderableType, output: Path | None) -> None:
    """Print to stdout, or write to `output` atomically."""
    if output is not None:
        from kpitrack.writing import atomic_write_text

        text = content if isinstance(content, str) else renderable_to_text(content)
        atomic_write_text(output, text)
        return
    if isinstance(content, str):
        sys.stdout.write(content)
        sys.stdout.flush()
    else:
        make_console().print(visible_renderable(content))


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command body so core errors become messages and exit codes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            with handle_errors():
                fn(*args, **kwargs)
        finally:
            if "kpitrack.writing" in sys.modules:
                # A write was committed: an interrupt after its rename is dropped
                # here, once the result is printed (exit 0, not 130).
                sys.modules["kpitrack.writing"].release_interrupts()

    return wrapper


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        print("kpitrack: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # stdout closed early (`kpitrack status | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # a bug: say so briefly, without a traceback
        if os.environ.get("KPITRACK_DEBUG"):
            raise
        print(
            f"kpitrack: internal error: {type(exc).__name__}: {exc} "
            "(set KPITRACK_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        sys.exit(3)


# Register the commands (each module adds its commands to `app`).
from kpitrack.commands import check as _check  # noqa: E402, F401
from kpitrack.commands import evaluating as _evaluating  # noqa: E402, F401
from kpitrack.commands import recording as _recording  # noqa: E402, F401
from kpitrack.commands import report as _report  # noqa: E402, F401
