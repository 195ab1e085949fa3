"""The command line: the Typer app, the one error boundary, and the registration of
every command.

Commands live in `kpitrack/commands/`, one module per area, each a plain function
whose signature is its command line (shared options in `commands/options.py`).
This module names them all (`CommandName`, in the order `kpitrack --help` lists
them, each with the function that runs it); a command's module is imported and its
signature read only when that command is looked up, so `kpitrack check` pays for
`check` alone. It is the one place where errors become messages and exit codes
(`ExitCode`). A new command: a function in `commands/`, a `CommandName` member and
its row in `COMMAND_FUNCTIONS`, a line in `SHORT_HELP` (and `EXAMPLES`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import CommandInfo

from kpitrack import __version__, _typer
from kpitrack._typer import Command, Context, HelpFormatter, NoSuchOption
from kpitrack.commands.output import ColorChoice, set_color_choice
from kpitrack.domain.problems import ExitCode, InvalidWorkspaceError, KpitrackError

# ---------------------------------------------------------------- the commands


class CommandName(StrEnum):
    """Every command, in the order `kpitrack --help` lists them."""

    CHECK = "check"
    RECORD = "record"
    CHECKIN = "checkin"
    AMEND = "amend"
    IMPORT = "import"
    INIT = "init"
    RENAME = "rename"
    COLLECT = "collect"
    STATUS = "status"
    OVERDUE = "overdue"
    ACTIONS = "actions"
    SHOW = "show"
    TREE = "tree"
    EXPORT = "export"
    HISTORY = "history"
    DIFF = "diff"
    REPORT = "report"
    SITE = "site"
    NOTIFY = "notify"
    REVIEW = "review"
    SCHEMA = "schema"
    HELP = "help"

    def function(self) -> Callable[..., None]:
        """The command's function (its module is imported now)."""
        import importlib

        module, name = COMMAND_FUNCTIONS[self]
        found: Callable[..., None] = getattr(
            importlib.import_module(f"kpitrack.commands.{module}"), name
        )
        return found


# Each command's module in kpitrack/commands/ and its function there (imported only when
# the command is built: `kpitrack check` does not import the other commands).
COMMAND_FUNCTIONS: dict[CommandName, tuple[str, str]] = {
    CommandName.CHECK: ("check", "check"),
    CommandName.RECORD: ("recording", "record"),
    CommandName.CHECKIN: ("checkin", "checkin"),
    CommandName.AMEND: ("checkin", "amend"),
    CommandName.IMPORT: ("recording", "import_csv"),
    CommandName.INIT: ("recording", "init"),
    CommandName.RENAME: ("recording", "rename"),
    CommandName.REVIEW: ("review", "review"),
    CommandName.COLLECT: ("collect", "collect"),
    CommandName.STATUS: ("evaluating", "status"),
    CommandName.OVERDUE: ("evaluating", "overdue"),
    CommandName.ACTIONS: ("evaluating", "actions"),
    CommandName.SHOW: ("evaluating", "show"),
    CommandName.TREE: ("tree", "tree"),
    CommandName.EXPORT: ("export", "export"),
    CommandName.HISTORY: ("git", "history_command"),
    CommandName.DIFF: ("git", "diff_command"),
    CommandName.REPORT: ("report", "report"),
    CommandName.SITE: ("site", "site"),
    CommandName.NOTIFY: ("notify", "notify"),
    CommandName.SCHEMA: ("schema", "schema"),
    CommandName.HELP: ("helping", "help_command"),
}


def _evaluate_annotations_once(fn: Callable[..., object]) -> None:
    """Typer reads a command's signature about four times while it builds the command
    line, evaluating the string annotations (`from __future__ import annotations`) each
    time. Evaluate them once, here, into the function (and the function `command`
    wraps)."""
    import typing

    hints = typing.get_type_hints(fn, include_extras=True)
    target: object = fn
    while target is not None:
        target.__annotations__ = hints
        target = getattr(target, "__wrapped__", None)


def command_info(name: CommandName) -> CommandInfo:
    """The command's registration: its function behind the error boundary, its one-line
    summary and its examples."""
    info = CommandInfo(name=name.value, callback=command(name.function()))
    if name in (CommandName.RECORD, CommandName.AMEND):
        # A negative VALUE (-12, -0.5) is an argument, not an unknown option; any other
        # unknown option still gets Click's "No such option ... (Possible options: ...)".
        info.context_settings = {"ignore_unknown_options": True}
        info.cls = NegativeValueCommand
    assert info.callback is not None
    _evaluate_annotations_once(info.callback)
    info.short_help = SHORT_HELP[name]
    if name in EXAMPLES:  # \b keeps Click from rewrapping the lines
        info.epilog = "\b\nExamples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[name])
    info.epilog = (info.epilog or "") + "\n\n--color auto|always|never works after the command too."
    return info


class NegativeValueCommand(TyperCommand):
    """A command whose VALUE may be negative (`record enps -12`): with Click's
    ignore_unknown_options a word like -12 reaches the arguments, and so would a
    mistyped option; this parser lets through only numbers and refuses any other
    unknown option as Click does, with its did-you-mean (`--notes` → `--note`)."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        from difflib import get_close_matches

        takes_value = self._takes_value(ctx)
        name = _unknown_option(args, takes_value)
        if name is not None:
            longs = [n for n in takes_value if n.startswith("--")]
            raise NoSuchOption(name, possibilities=get_close_matches(name, longs), ctx=ctx)
        return super().parse_args(ctx, args)

    def _takes_value(self, ctx: Context) -> dict[str, bool]:
        """Every option name of the command → whether it takes a value (not a flag)."""
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, TyperOption):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        return takes_value


def _unknown_option(args: list[str], takes_value: Mapping[str, bool]) -> str | None:
    """The first option word in `args` (before `--`) that is not one of the command's
    options and not a negative number; None when there is none."""
    from kpitrack.writing.recording import NEGATIVE_NUMBER

    skip = False
    for token in args:
        if skip:
            skip = False
            continue
        if token == "--":
            break
        if not token.startswith("-") or token == "-" or NEGATIVE_NUMBER.fullmatch(token):
            continue
        name = token.split("=", 1)[0] if token.startswith("--") else token[:2]
        if name not in takes_value:
            return name
        skip = takes_value[name] and name == token
    return None


class _Commands(MutableMapping[str, Command]):
    """The group's commands by name, each built (its module imported, its signature read)
    when it is first looked up."""

    def __init__(self, built: Mapping[str, Command]) -> None:
        # kpitrack's own commands are built here, through `command_info`; anything else
        # added to `app` (by a plugin or a test) is kept as Typer built it.
        known = {n.value for n in CommandName}
        self._built = {name: c for name, c in built.items() if name not in known}

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            try:
                which = CommandName(name)
            except ValueError:
                raise KeyError(name) from None
            self._built[name] = typer.main.get_command_from_info(
                command_info(which),
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
        return self._built[name]

    def _names(self) -> list[str]:
        names = [n.value for n in CommandName]
        return names + [n for n in self._built if n not in names]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]


class CommandGroup(TyperGroup):
    """kpitrack's group: `kpitrack check` builds `check` alone, without importing and
    reading the fifteen other commands (Click's lazy-loading pattern); shell completion
    builds them all."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, color_first(args))

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The command list of `kpitrack --help`, laid out as TyperGroup lays it out, from
        `SHORT_HELP` instead of from every built command (none is hidden or deprecated, and
        a short help is shown whole), so `--help` imports no command module."""
        from gettext import gettext

        with formatter.section(gettext("Commands")):
            formatter.write_dl([(name.value, SHORT_HELP[name].strip()) for name in CommandName])


app = typer.Typer(
    name="kpitrack",
    help="KPI tracker for the terminal: KPI definitions and measurements in YAML, kept in git.",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=CommandGroup,
)


_typer.apply()


COLOR_HELP = (
    "Colour: auto (a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), "
    "always (e.g. for `| less -R`) or never. Before or after the command."
)


def color_first(args: list[str]) -> list[str]:
    """The arguments with every `--color X` / `--color=X` given after the command moved
    just before it, where the root option takes it: `kpitrack status --color never` works
    as `git log --color` does, and the last one given wins. Nothing after `--` moves."""
    i = 0
    while i < len(args) and args[i].startswith("-"):  # the root's options
        i += 2 if args[i] == "--color" else 1
    if i >= len(args):
        return args
    head, command_name, tail = args[:i], args[i], args[i + 1 :]
    moved: list[str] = []
    rest: list[str] = []
    j = 0
    while j < len(tail):
        arg = tail[j]
        if arg == "--":
            rest += tail[j:]
            break
        if arg == "--color" and j + 1 < len(tail):
            moved += tail[j : j + 2]
            j += 2
        elif arg.startswith("--color="):
            moved.append(arg)
            j += 1
        else:
            rest.append(arg)
            j += 1
    return [*head, *moved, command_name, *rest]


def use_row_cache(wanted: bool) -> None:
    """The warm-start cache of large measurement files' rows (docs/PERFORMANCE.md), unless
    --no-cache or KPITRACK_NO_CACHE (any value but empty or 0) turns it off."""
    import os

    from kpitrack import reading

    if not wanted or os.environ.get("KPITRACK_NO_CACHE", "") not in ("", "0"):
        reading.row_cache_folder = None
    else:
        reading.row_cache_folder = reading.default_row_cache_folder(os.environ)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"kpitrack {__version__}")
        raise typer.Exit(int(ExitCode.OK))


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
            help=COLOR_HELP,
        ),
    ] = ColorChoice.AUTO,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Read every file afresh: no rows from (or to) the cache in "
            "$XDG_CACHE_HOME/kpitrack (also KPITRACK_NO_CACHE=1).",
        ),
    ] = False,
) -> None:
    """KPI tracker for the terminal: KPI definitions and measurements in YAML, kept in git."""
    set_color_choice(color)
    use_row_cache(not no_cache)
    if ctx.invoked_subcommand is None:  # bare `kpitrack`: the help, and success
        typer.echo(ctx.get_help())
        raise typer.Exit(int(ExitCode.OK))


# ---------------------------------------------------------------- errors and exit codes


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print `kpitrack: error: message` on stderr and exit."""
    from kpitrack.domain.textsafe import visible

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
    except KeyboardInterrupt:
        # Ctrl-C while a command runs (Typer would turn it into a silent exit 130).
        print("kpitrack: interrupted", file=sys.stderr)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command body so core errors become messages and exit codes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            with handle_errors():
                fn(*args, **kwargs)
        finally:
            if "kpitrack.writing.atomicfile" in sys.modules:
                # A write was committed: an interrupt after its rename is dropped
                # here, once the result is printed (exit 0, not 130); in the kpitrack
                # process, interrupts stay ignored until it exits.
                sys.modules["kpitrack.writing.atomicfile"].release_interrupts(
                    until_exit=_PROCESS[0]
                )

    return wrapper


# ---------------------------------------------------------------- main

ASCII_FALLBACKS = {
    # One ASCII character for each glyph kpitrack prints, so a table keeps its columns on
    # a stream that cannot hold them (PYTHONIOENCODING=ascii): docs/terminal.md "ASCII".
    "…": ".",
    "█": "#",
    "▉": "+",
    "▊": "+",
    "▋": "+",
    "▌": "+",
    "▍": "+",
    "▎": "+",
    "▏": "+",
    "▇": "#",
    "▆": "=",
    "▅": "=",
    "▄": "-",
    "▃": "-",
    "▂": "_",
    "▁": "_",
    "░": ".",
    "·": ".",
    "—": "-",
    "–": "-",
    "−": "-",
    "→": ">",
    "←": "<",
    "↑": "^",
    "↓": "v",
    "▲": "^",
    "▼": "v",
    "◆": "*",
    "●": "o",
    "×": "x",
    "≥": ">",
    "≤": "<",
    "✓": "+",
    "✗": "x",
    "─": "-",
    "━": "-",
    "│": "|",
    "┃": "|",
    "┤": "|",
    "├": "|",
    "└": "+",
    "┘": "+",
    "┌": "+",
    "┐": "+",
    "┼": "+",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "§": "S",
    "┆": ":",
    "▾": "v",
    "•": "*",
    "↳": ">",
}


def ascii_stand_in(ch: str) -> str:
    """The same-width ASCII stand-in of one character: ours from ASCII_FALLBACKS, a
    letter without its accent (é → e), else ? (?? for a double-width character)."""
    import unicodedata

    if ch in ASCII_FALLBACKS:
        return ASCII_FALLBACKS[ch]
    if unicodedata.combining(ch):
        return ""  # an accent on the letter before it takes no column
    base = unicodedata.normalize("NFKD", ch)[:1]
    if base.isascii() and base.isprintable() and base:
        return base
    return "??" if unicodedata.east_asian_width(ch) in ("W", "F") else "?"


def _ascii_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a readable ASCII stand-in for characters the stream cannot hold."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(ascii_stand_in(ch) for ch in bad), exc.end


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


# Whether this run is the kpitrack process itself, which exits after its one command
# (see main's `process`).
_PROCESS = [False]


def main(*, process: bool = False) -> None:
    """Console-script entry point. `process`: this is the `kpitrack` process itself
    (`_entry`, `python -m kpitrack`), which exits right after the command: once a write
    is committed, SIGINT and SIGTERM stay ignored until then. Callers that run commands
    in their own process (tests, workers) leave it False and keep their handlers."""
    import errno

    _PROCESS[0] = process

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
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        # stdout closed early (`kpitrack status | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(int(ExitCode.OK))
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
    sys.exit(int(ExitCode.INTERNAL))


# One-line summaries for `kpitrack --help`, short enough never to be cut with "...".
SHORT_HELP = {
    "check": "Check the KPI files; every problem, located.",
    "status": "Where each KPI stands, worst first.",
    "overdue": "KPIs whose reports are overdue.",
    "actions": "KPIs that need action, with their plans.",
    "show": "One KPI in depth: history, chart, why.",
    "tree": "Objectives, their KPIs and drivers, rolled up.",
    "record": "Record one value for a KPI.",
    "checkin": "Enter every value due, KPI by KPI.",
    "amend": "Correct the value recorded for a period.",
    "import": "Import values from a CSV file.",
    "init": "Start a workspace: starter files.",
    "report": "The weekly digest (for cron or a wiki).",
    "site": "The KPIs as a static website (a folder).",
    "notify": "Post the week's changes to team chats.",
    "rename": "Rename a KPI or objective id everywhere.",
    "collect": "Collect values from each KPI's source.",
    "review": "Record that a KPI was reviewed.",
    "history": "Definition changes in git; moved goalposts.",
    "diff": "KPIs changed between two git revisions.",
    "schema": "The JSON Schema of the KPI files.",
    "export": "Tidy rows for DuckDB or a BI tool.",
    "help": "Help on kpitrack or one command.",
}
EXAMPLES = {
    "check": ["kpitrack check", "kpitrack check -f kpis/ --format json"],
    "status": ["kpitrack status --owner sales", "kpitrack status --fail-on off-track -o s.md"],
    "overdue": ["kpitrack overdue", "kpitrack overdue --fail-on overdue  # cron"],
    "actions": ["kpitrack actions --sort gap", "kpitrack actions --format markdown"],
    "show": ["kpitrack show mrr", "kpitrack show mrr --as-of last-month --format json"],
    "tree": ["kpitrack tree", "kpitrack tree --owner sales --format markdown"],
    "record": [
        "kpitrack record mrr 125000 --note 'after the price change'",
        "kpitrack record enps -12 --date last-week   # last week's value",
    ],
    "checkin": ["kpitrack checkin", "kpitrack checkin --owner sales --commit"],
    "amend": [
        "kpitrack amend mrr --date 2026-10 181000 --dry-run",
        "kpitrack amend csat --date 2026-Q3 good --note 'survey re-counted'",
    ],
    "import": ["kpitrack import values.csv --dry-run", "kpitrack import - < export.csv"],
    "init": ["kpitrack init", "kpitrack init okrs/"],
    "report": ["kpitrack report -o weekly.html", "kpitrack report --quiet  # cron mail"],
    "site": ["kpitrack site -o public/", "kpitrack site -o public/ --owner Finance"],
    "notify": [
        "kpitrack notify --dry-run",
        "kpitrack collect && kpitrack notify --quiet  # cron",
    ],
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
    "help": ["kpitrack help", "kpitrack help report"],
}
