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
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _plain_argument_names() -> None:
    """Usage lines and help name arguments as `KPI`, `VALUE`, `[FOLDER]`, not this Typer's
    `{KPI}` and `KPI <str>`. (Typer's argument display is not configurable; the change is
    guarded so another Typer version keeps its own display.)"""
    try:
        from typer.core import TyperArgument
    except ImportError:  # pragma: no cover - another Typer layout
        return
    if hasattr(TyperArgument, "_usage_display_name"):

        def usage_name(self: TyperArgument) -> str:
            name = str(self.metavar or str(self.name or "").upper())
            return name if self.required else f"[{name}]"

        TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    if hasattr(TyperArgument, "display_type_rich"):
        TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
    try:  # option errors say what was wrong, without pydantic's "Value error, " prefix
        import typer._coercion as coercion
    except ImportError:  # pragma: no cover - another Typer layout
        return
    original = getattr(coercion, "get_error_msg", None)
    if callable(original):

        def error_message(exc: object) -> str:
            return str(original(exc)).removeprefix("Value error, ")

        coercion.get_error_msg = error_message  # type: ignore[attr-defined]  # not re-exported


_plain_argument_names()


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


class ColorChoice(StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


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
        "--as-of",
        metavar="DATE",
        help="Evaluate as of this date: YYYY-MM-DD, a period's last day (2026-W47, 2026-11, "
        "2026-Q3, 2026), or today, yesterday, last-week, last-month. Default: today.",
    ),
]


def _workspace_words(kind: str, incomplete: str) -> list[str]:
    """Shell completion: KPI ids, objective ids, owners or tags of the workspace here
    (kpitrack.toml's files or kpis.yaml); nothing when it cannot be read."""
    try:
        from kpitrack.loading import load_workspace, resolve_paths

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
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "-o", "--output", metavar="FILE", help="Write to this file (atomically) instead of stdout."
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
FailOnOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-on",
        metavar="STATUS_OR_REASON",
        help="Exit 1 when any listed KPI has this status or needs-action reason "
        "(e.g. off-track, at-risk, overdue). Repeatable or comma-separated.",
    ),
]
AllOption = Annotated[
    bool,
    typer.Option("--all", help="Include archived KPIs (archived: true), which are hidden."),
]


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"kpitrack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
    color: Annotated[
        ColorChoice,
        typer.Option(
            "--color",
            case_sensitive=False,
            help="Colour: auto (a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), "
            "always (e.g. for `| less -R`) or never.",
        ),
    ] = ColorChoice.AUTO,
) -> None:
    """KPI tracker for the terminal: KPI definitions and measurements in YAML, kept in git."""
    global COLOR_CHOICE
    COLOR_CHOICE = color.value
    if ctx.invoked_subcommand is None:  # bare `kpitrack`: the help, and success
        typer.echo(ctx.get_help())
        raise typer.Exit()


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


AS_OF_WORDS = ("today", "yesterday", "last-week", "last-month")


def as_of_date(text: str, today: dt.date) -> dt.date:
    """An --as-of value: YYYY-MM-DD; a period (2026-W47, 2026-11, 2026-Q3, 2026), meaning
    its last day; or today, yesterday, last-week, last-month (the last day of the previous
    ISO week or calendar month). ValueError with a readable message otherwise."""
    from kpitrack.periods import parse_period

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
    from kpitrack.config import load_config

    return load_config(Path.cwd())


def load_for_evaluation(
    files: Sequence[Path] | None, as_of: dt.date, rev: str | None = None
) -> tuple[Workspace, Config]:
    """Read and check the workspace; refuse it (exit 2, check's messages) when it has errors.
    With `rev`, the files are read as they were at that git revision."""
    from kpitrack.loading import load_valid_workspace, resolve_paths

    config = load_config_here()
    if rev is not None:
        from kpitrack.revisions import load_valid_at

        return load_valid_at(rev, files or [], config, as_of), config
    paths = resolve_paths(files or [], config, Path.cwd())
    return load_valid_workspace(paths, config=config, as_of=as_of), config


def split_values(values: Sequence[str] | None) -> list[str]:
    """Repeatable options that also accept comma-separated lists."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _check_known(option: str, wanted: Sequence[str], known: Sequence[str]) -> None:
    """A usage error for a filter value (matched case-insensitively) that no KPI has."""
    from kpitrack.suggest import closest

    folded = {k.casefold(): k for k in known}
    for value in wanted:
        if value.casefold() not in folded:
            match = closest(value.casefold(), folded)
            hint = f" (did you mean '{folded[match]}'?)" if match else ""
            choices = ", ".join(sorted(set(known), key=str.casefold)) or "none"
            what = option.lstrip("-")
            raise UsageError(f"{option}: no KPI has {what} '{value}'{hint} (known: {choices})")


def drop_archived(results: Sequence[KpiResult], show_all: bool) -> list[KpiResult]:
    """Archived KPIs keep their history but leave the views, unless --all."""
    return list(results) if show_all else [r for r in results if not r.kpi.archived]


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

    owner_set = {o.casefold() for o in split_values(owners)}
    tag_set = {t.casefold() for t in split_values(tags)}
    objective_set, kpi_set = set(split_values(objectives)), set(split_values(kpis))
    _check_known("--owner", split_values(owners), [k.owner for k in workspace.kpis if k.owner])
    _check_known("--tag", split_values(tags), [t for k in workspace.kpis for t in k.tags])
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
        if (not owner_set or (r.kpi.owner or "").casefold() in owner_set)
        and (not objective_set or r.kpi.objective in objective_set)
        and (not tag_set or tag_set.intersection(t.casefold() for t in r.kpi.tags))
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
    "action-overdue",
    "action-done-still-off-track",
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


COLOR_CHOICE = "auto"  # --color: auto, always or never (set by the root callback)


def color_wanted(stream: object) -> bool:
    """Colour for `stream`: --color always/never first; then a non-empty NO_COLOR turns it
    off and a non-empty FORCE_COLOR on; else only on a terminal."""
    if COLOR_CHOICE != "auto":
        return COLOR_CHOICE == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def make_console(*, stderr: bool = False) -> Console:
    """A console for stdout: colour only on a terminal and never with NO_COLOR."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    color = color_wanted(stream)
    return Console(
        file=stream,
        color_system="auto" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
        force_terminal=color,
    )


def output_width() -> int:
    """The width of output that is not a terminal (pipes, cron mail, -o files): $COLUMNS
    when set, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    return columns if columns > 0 else 80


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


def renderable_to_text(renderable: RenderableType, width: int | None = None) -> str:
    """Plain text of a Rich renderable, for files and pipes: no colour, no escape codes,
    no trailing spaces; the width of a pipe unless given."""
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width or output_width(),
        color_system=None,
        no_color=True,
        highlight=False,
        emoji=False,
    )
    console.print(visible_renderable(renderable))
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def format_from_extension(output: Path | None, given: str | None) -> str | None:
    """The --format implied by -o's extension (.json, .csv, .md/.markdown, .html) when
    --format is not given; else `given`."""
    if given is not None or output is None:
        return given
    return {
        ".json": "json",
        ".csv": "csv",
        ".md": "markdown",
        ".markdown": "markdown",
        ".html": "html",
        ".htm": "html",
    }.get(output.suffix.lower())


def emit(content: str | RenderableType, output: Path | None) -> None:
    """Print to stdout, or write to `output` atomically."""
    if output is not None:
        from kpitrack.atomicfile import atomic_write_text

        text = content if isinstance(content, str) else renderable_to_text(content)
        atomic_write_text(output, text)
        return
    if isinstance(content, str):
        sys.stdout.write(content)
        sys.stdout.flush()
    elif sys.stdout.isatty() or color_wanted(sys.stdout):
        make_console().print(visible_renderable(content))
    else:  # a pipe: the same text as an -o file
        sys.stdout.write(renderable_to_text(content))
        sys.stdout.flush()


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command body so core errors become messages and exit codes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            with handle_errors():
                fn(*args, **kwargs)
        finally:
            if "kpitrack.atomicfile" in sys.modules:
                # A write was committed: an interrupt after its rename is dropped
                # here, once the result is printed (exit 0, not 130).
                sys.modules["kpitrack.atomicfile"].release_interrupts()

    return wrapper


ASCII_FALLBACKS = {
    "…": "...",
    "█": "#",
    "░": ".",
    "▏": "|",
    "—": "-",
    "–": "-",
    "−": "-",
    "→": "->",
    "←": "<-",
    "↑": "^",
    "↓": "v",
    "▲": "^",
    "▼": "v",
    "◆": "*",
    "●": "*",
    "·": ".",
    "×": "x",
    "≥": ">=",
    "≤": "<=",
    "✓": "ok",
    "✗": "x",
    "─": "-",
    "━": "-",
    "│": "|",
    "┃": "|",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
}


def _ascii_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a readable ASCII stand-in for characters the stream cannot hold."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(ASCII_FALLBACKS.get(ch, "?") for ch in bad), exc.end


def use_ascii_fallbacks() -> None:
    """Give stdout and stderr ASCII fallbacks when their encoding cannot hold our symbols
    (PYTHONIOENCODING=ascii or latin-1, an old Windows console)."""
    import codecs

    codecs.register_error("kpitrack-ascii", _ascii_fallback)
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "…█—─│".encode(encoding)
        except UnicodeEncodeError:
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="kpitrack-ascii")
        except LookupError:
            pass


def _output_failed(exc: OSError) -> NoReturn:
    """stdout cannot take the output (closed, disk full): one line, exit 2."""
    import errno

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
    print(f"kpitrack: error: cannot write the output: {reason}", file=sys.stderr)
    os._exit(int(ExitCode.USAGE))


def _stdout_usable() -> bool:
    """False when stdout is closed (`>&-`); a stream without a descriptor is usable."""
    if sys.stdout is None:
        return False
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return True
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def main() -> None:
    """Console-script entry point."""
    import errno

    if not _stdout_usable():
        print("kpitrack: error: standard output is closed", file=sys.stderr)
        sys.exit(int(ExitCode.USAGE))
    use_ascii_fallbacks()
    try:
        try:
            app()
        finally:
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("kpitrack: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # stdout closed early (`kpitrack status | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EIO, errno.EBADF, errno.EDQUOT, errno.EFBIG):
            _output_failed(exc)
        _internal_error(exc)
    except Exception as exc:  # a bug: say so briefly, without a traceback
        _internal_error(exc)


def _internal_error(exc: Exception) -> NoReturn:
    if os.environ.get("KPITRACK_DEBUG"):
        raise exc
    print(
        f"kpitrack: internal error: {type(exc).__name__}: {exc} "
        "(set KPITRACK_DEBUG=1 for the traceback)",
        file=sys.stderr,
    )
    sys.exit(3)


# Register the commands (each module adds its commands to `app`).
from kpitrack.commands import check as _check  # noqa: E402, F401
from kpitrack.commands import collect as _collect  # noqa: E402, F401
from kpitrack.commands import evaluating as _evaluating  # noqa: E402, F401
from kpitrack.commands import export as _export  # noqa: E402, F401
from kpitrack.commands import git as _git  # noqa: E402, F401
from kpitrack.commands import recording as _recording  # noqa: E402, F401
from kpitrack.commands import report as _report  # noqa: E402, F401
from kpitrack.commands import review as _review  # noqa: E402, F401
from kpitrack.commands import schema as _schema  # noqa: E402, F401

# One-line summaries for `kpitrack --help`, short enough never to be cut with "...".
SHORT_HELP = {
    "check": "Check the KPI files; every problem, located.",
    "status": "Where each KPI stands, worst first.",
    "overdue": "KPIs whose reports are overdue.",
    "actions": "KPIs that need action, with their plans.",
    "show": "One KPI in depth: history, chart, why.",
    "record": "Record one value for a KPI.",
    "import": "Import values from a CSV file.",
    "init": "Start a workspace: starter files.",
    "report": "The weekly digest (for cron or a wiki).",
    "rename": "Rename a KPI or objective id everywhere.",
    "collect": "Collect values from each KPI's source.",
    "review": "Record that a KPI was reviewed.",
    "history": "Definition changes in git; moved goalposts.",
    "diff": "KPIs changed between two git revisions.",
    "schema": "The JSON Schema of the KPI files.",
    "export": "Tidy rows for DuckDB or a BI tool.",
}
EXAMPLES = {
    "check": ["kpitrack check", "kpitrack check -f kpis/ --format json"],
    "status": ["kpitrack status --owner sales", "kpitrack status --fail-on off-track -o s.md"],
    "overdue": ["kpitrack overdue", "kpitrack overdue --fail-on overdue  # cron"],
    "actions": ["kpitrack actions --sort gap", "kpitrack actions --format markdown"],
    "show": ["kpitrack show mrr", "kpitrack show mrr --as-of last-month --format json"],
    "record": [
        "kpitrack record mrr 125000 --note 'after the price change'",
        "kpitrack record enps -12 --date 2026-W47   # last week's value",
    ],
    "import": ["kpitrack import values.csv --dry-run", "kpitrack import - < export.csv"],
    "init": ["kpitrack init", "kpitrack init okrs/"],
    "report": ["kpitrack report -o weekly.html", "kpitrack report --quiet  # cron mail"],
    "rename": [
        "kpitrack rename wau weekly-active-users --dry-run",
        "kpitrack rename grow growth",
    ],
    "collect": ["kpitrack collect --dry-run", "kpitrack collect --kpi deploys"],
    "review": ["kpitrack review mrr", "kpitrack review mrr --note 'pricing review'"],
    "history": ["kpitrack history mrr", "kpitrack history --format csv -o history.csv"],
    "diff": ["kpitrack diff HEAD~1", "kpitrack diff v1.0 v2.0 --format json"],
    "schema": ["kpitrack schema > kpitrack.schema.json"],
    "export": ["kpitrack export -o kpis.csv", "kpitrack export --evaluations --format jsonl"],
}
for _info in app.registered_commands:
    _name = _info.name or (_info.callback.__name__ if _info.callback else "")
    if _name in SHORT_HELP:
        _info.short_help = SHORT_HELP[_name]
    if _name in EXAMPLES:  # \b keeps Click from rewrapping the lines
        _info.epilog = "\b\nExamples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[_name])
