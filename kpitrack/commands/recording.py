"""Commands that write data: record, import, init (SPEC §4, §5; docs/writing.md).

Each command validates everything first, then makes one locked, atomic,
byte-preserving write through `kpitrack.writing`; on any error the files are
unchanged and the exit code is 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import sys
import typing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kpitrack.cli import (
    FilesOption,
    app,
    command,
    complete_id,
    complete_kpi,
    load_config_here,
    parse_as_of,
)
from kpitrack.model import Kind, Kpi, Measurement, Value, in_range
from kpitrack.problems import InvalidWorkspaceError, Problem, Severity, UsageError, WriteError

if TYPE_CHECKING:
    from kpitrack.loading import ParseMemo
    from kpitrack.model import Config, Workspace
    from kpitrack.writing import Plan, WorkspaceLoads

DEFAULT_MEASUREMENTS_FILE = "measurements.yaml"
NEGATIVE_NUMBER = re.compile(r"-[0-9_.,]*[0-9][0-9_.,]*([eE][-+]?[0-9]+)?", re.ASCII)

ToOption = Annotated[
    Path | None,
    typer.Option(
        "--to",
        metavar="FILE",
        help="The YAML file to append to. Default: kpitrack.toml's measurements_file, "
        "else the file that already holds the measurements, else measurements.yaml.",
    ),
]


# ---------------------------------------------------------------- validation


def parse_value(kpi: Kpi, text: str) -> Value:
    """A value typed on the command line or in a CSV cell, checked against the KPI."""
    from kpitrack.suggest import did_you_mean
    from kpitrack.yamlnodes import Scalar, scalar_value

    raw = text.strip()
    if kpi.kind is Kind.QUALITATIVE:
        if raw in kpi.scale:
            return raw
        scale = ", ".join(kpi.scale)
        raise ValueError(
            f"'{text}' is not on the scale of KPI '{kpi.id}'"
            f"{did_you_mean(raw, kpi.scale)} (choose from {scale})"
        )
    from kpitrack.model import NOWHERE

    number = scalar_value(Scalar(raw, True, NOWHERE))
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ValueError(f"'{text}' is not a number (KPI '{kpi.id}' needs a number)")
    if not in_range(number):
        raise ValueError(f"'{text}' is not a finite number of at most 1e15 in size")
    if kpi.kind is Kind.PROGRESS and not 0 <= number <= 100:
        raise ValueError(f"'{text}' is outside 0–100 (KPI '{kpi.id}' is percent done)")
    return number


def parse_measurement_date(text: str, today: dt.date) -> dt.date:
    """A date, or a period (2026-W44, 2026-10, 2026-Q3, 2026) stored as its last day;
    the current period (the one holding `today`) is stored as today, so the value counts
    at once instead of from the period's end in the future."""
    from kpitrack.periods import parse_period

    period = parse_period(text)
    if period.start != period.end and today in period:
        return today
    return period.end


def _free_text(text: str | None, what: str) -> str | None:
    if text is None or not text.strip():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid UTF-8 text") from None
    return text


# ---------------------------------------------------------------- the workspace and its files


@dataclass(frozen=True)
class Loaded:
    workspace: Workspace
    config: Config
    paths: list[Path]  # the workspace files, in reading order
    sources: list[tuple[str, Path]]  # (display path, path)
    texts: list[tuple[str, str]]  # (display path, text) the workspace was loaded from
    problems: list[Problem]  # its warnings
    as_of: dt.date
    memo: ParseMemo  # its files' parses, for the loads that check a write

    def loads(self, target: Path) -> WorkspaceLoads:
        """Loads of this workspace with `target`'s text replaced, starting from this one."""
        from kpitrack.writing import WorkspaceLoads

        return WorkspaceLoads(
            self.sources,
            target,
            config=self.config,
            as_of=self.as_of,
            known=(self.texts, (self.workspace, self.problems)),
            memo=self.memo,
        )


def load_for_writing(files: Sequence[Path] | None, as_of: dt.date) -> Loaded:
    """The workspace a write is checked against; refused (check's messages) when invalid."""
    from kpitrack.loading import load_texts, read_files, resolve_paths

    config = load_config_here()
    paths = resolve_paths(files or [], config, Path.cwd())
    read = read_files(paths)
    memo: ParseMemo = {}
    workspace, problems = load_texts(read, config=config, as_of=as_of, memo=memo)
    if any(p.is_error for p in problems):
        raise InvalidWorkspaceError(problems)
    # Without errors every file was read, so each entry holds its text.
    texts = [(shown, text) for shown, text in read if isinstance(text, str)]
    sources = list(zip(workspace.files, paths, strict=True))
    return Loaded(workspace, config, paths, sources, texts, problems, as_of, memo)


def _path_of(loaded: Loaded, display: str) -> Path:
    for shown, path in loaded.sources:
        if shown == display:
            return path
    return Path(display)


def _kpi_folder(loaded: Loaded, kpi: Kpi | None) -> Path:
    """Where a new measurements.yaml goes: beside the file that defines the KPI."""
    if kpi is None and loaded.workspace.kpis:
        kpi = loaded.workspace.kpis[0]
    if kpi is not None and kpi.loc.path:
        return _path_of(loaded, kpi.loc.path).parent
    return Path(".")


def _configured_file(loaded: Loaded) -> Path | None:
    name = loaded.config.measurements_file
    if not name:
        return None
    path = Path(name)
    if not path.is_absolute() and loaded.config.root:
        path = Path(loaded.config.root) / path
    return path


def _holds_measurements_list(text: str) -> bool:
    """Whether a workspace file's text has a top-level `measurements:` key."""
    import re

    return re.search(r"^measurements[ \t]*:", text, re.MULTILINE) is not None


def measurement_target(loaded: Loaded, kpis: Sequence[Kpi], to: Path | None) -> Path:
    """The one rule `record` and `import` share for where new measurements go, always a
    file the workspace reads: --to; else kpitrack.toml's measurements_file; else the file
    that already holds the (first) KPI's latest measurement; else the file holding the
    `measurements:` list; else the (first) KPI's own file."""
    if to is not None:
        return to
    configured = _configured_file(loaded)
    if configured is not None:
        return configured
    for kpi in kpis:
        mine = [m for m in loaded.workspace.measurements if m.kpi == kpi.id]
        if mine:
            latest = max(mine, key=lambda m: (m.date, m.order))
            return _path_of(loaded, latest.loc.path)
    for display, text in loaded.texts:
        if _holds_measurements_list(text):
            return _path_of(loaded, display)
    owner = kpis[0] if kpis else (loaded.workspace.kpis[0] if loaded.workspace.kpis else None)
    if owner is not None and owner.loc.path:
        return _path_of(loaded, owner.loc.path)
    if loaded.paths:
        return loaded.paths[0]
    return _kpi_folder(loaded, None) / DEFAULT_MEASUREMENTS_FILE


def shown(path: Path) -> str:
    """A path for messages: relative to the current folder when it is inside it."""
    full = Path(os.path.abspath(path))
    try:
        return str(full.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _same_file(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _not_read_note(files: Sequence[Path] | None, config: Config, target: Path) -> str | None:
    """A hint when the target is not among the files kpitrack reads (with the same -f)."""
    from kpitrack.loading import resolve_paths

    try:
        paths = resolve_paths(files or [], config, Path.cwd())
    except UsageError:
        return None
    if any(_same_file(target, p) for p in paths):
        return None
    return (
        f"note: {target} is not among the files kpitrack reads; "
        "add it to kpitrack.toml's files or pass it with -f"
    )


def _existing_keys(
    loads: WorkspaceLoads, text: str | None
) -> Counter[tuple[str, str, str, str | None, str | None]]:
    """The measurements in the workspace with the target's current text."""
    from kpitrack.writing import measurement_key

    workspace, _problems = loads.with_target(text)
    return Counter(measurement_key(m) for m in workspace.measurements)


def _unless_recorded(loads: WorkspaceLoads, measurement: Measurement) -> Plan:
    """A plan that appends `measurement` unless the workspace holds it already."""
    from kpitrack.writing import measurement_key

    def plan(current: str | None) -> list[Measurement]:
        if _existing_keys(loads, current)[measurement_key(measurement)]:
            return []
        return [measurement]

    return plan


def _print_warnings(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem.format(), file=sys.stderr)


# ---------------------------------------------------------------- record


def default_recorder() -> str | None:
    """Who records, when --by is not given: `git config user.name` inside a git
    repository, else $USER (or $USERNAME); None when neither is known."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is not None:
        try:
            inside = subprocess.run(
                [git, "rev-parse", "--is-inside-work-tree"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            if inside.returncode == 0 and inside.stdout.strip() == "true":
                name = subprocess.run(
                    [git, "config", "user.name"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                    check=False,
                ).stdout.strip()
                if name:
                    return name
        except (OSError, subprocess.SubprocessError):
            pass
    return os.environ.get("USER") or os.environ.get("USERNAME") or None


# A negative VALUE (-12, -0.5, -1e3) is not an option: record lets unknown dash words
# through as arguments and refuses any that is not a number itself.
@app.command("record", context_settings={"ignore_unknown_options": True})
@command
def record(
    kpi_id: Annotated[
        str, typer.Argument(metavar="KPI", help="The KPI id.", autocompletion=complete_kpi)
    ],
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="A number, or a scale label (qualitative).")
    ],
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="DATE",
            help="The date the value describes: YYYY-MM-DD, or a period (2026-W44, 2026-10, "
            "2026-Q3, 2026) stored as its last day, or as today when it is the current "
            "period. For last week's value use its ISO week, e.g. --date 2026-W47. "
            "Default: today.",
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", metavar="TEXT", help="Free text.")] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="NAME",
            help="Who recorded it. Default: `git config user.name` inside a git "
            "repository, else $USER.",
        ),
    ] = None,
    to: ToOption = None,
    files: FilesOption = None,
    allow_duplicate: Annotated[
        bool,
        typer.Option(
            "--allow-duplicate",
            help="Append even when the workspace already holds this exact entry "
            "(same KPI, date, value, note and by). Default: skip it, so a retried "
            "record never writes it twice.",
        ),
    ] = False,
) -> None:
    """Append one measurement, validated first; prints the KPI's new status."""
    from kpitrack.evaluate import evaluate_kpi, status_sentence
    from kpitrack.writing import append_measurements, workspace_verifier

    today = parse_as_of(None)
    if kpi_id.startswith("-"):
        raise UsageError(f"no such option: {kpi_id}")
    if value.startswith("-") and not NEGATIVE_NUMBER.fullmatch(value):
        raise UsageError(f"no such option: {value}")
    if by is None:
        by = default_recorder()
    loaded = load_for_writing(files, today)
    kpi = loaded.workspace.require_kpi(kpi_id)
    try:
        day = parse_measurement_date(date, today) if date is not None else today
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None
    try:
        parsed = parse_value(kpi, value)
        measurement = Measurement(
            kpi.id, day, parsed, _free_text(note, "--note"), _free_text(by, "--by")
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    target = measurement_target(loaded, [kpi], to)
    loads = loaded.loads(target)
    verify = workspace_verifier(loads, lambda: [measurement])
    plan = (
        [measurement] if allow_duplicate else _unless_recorded(loads, measurement)
    )  # decided under the lock, against the file as it is then
    result = append_measurements(target, plan, verify=verify)
    _print_warnings(result.warnings)
    from kpitrack.textsafe import visible

    if not result.added:
        print(
            f"already recorded: {kpi.id} = {visible(value.strip(), line=True)} "
            f"on {day.isoformat()} "
            f"(same note and by) in the workspace; nothing written "
            "(--allow-duplicate records it again)"
        )
        return
    hint = _not_read_note(files, loaded.config, target)
    if hint:
        print(hint, file=sys.stderr)
    from kpitrack.evaluate import format_value

    text = format_value(kpi, parsed, unit=True)
    print(visible(f"recorded {kpi.id} = {text} on {day.isoformat()} in {shown(target)}", line=True))
    order = max((m.order for m in loaded.workspace.measurements), default=0) + 1
    appended = Measurement(kpi.id, day, parsed, measurement.note, measurement.by, order=order)
    history = [m for m in loaded.workspace.measurements if m.kpi == kpi.id] + [appended]
    # A value dated in the future is shown as of its date, never ignored.
    as_of = max(today, day)
    status = evaluate_kpi(kpi, history, as_of=as_of, config=loaded.config)
    when = "" if as_of == today else f" (as of {as_of.isoformat()})"
    print(visible(f"{kpi.id}: {status.status}{when} — {status_sentence(status)}", line=True))


# ---------------------------------------------------------------- import


CSV_COLUMNS = Measurement.FIELDS
REQUIRED_COLUMNS = ("kpi", "date", "value")


def _csv_problem(path: str, line: int, column: int, code: str, message: str) -> Problem:
    return Problem(path, line, column, Severity.ERROR, code, message)


def csv_delimiter(text: str) -> str:
    """The delimiter of a CSV text, from its header line: `,`, `;` (spreadsheets in many
    locales) or a tab, whichever it holds most (`,` on a tie)."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def read_csv_measurements(
    text: str, path: str, workspace: Workspace, today: dt.date | None = None
) -> tuple[list[Measurement], list[Problem]]:
    """Rows → measurements, every problem at once (line 1 is the header; column = field)."""
    from kpitrack.suggest import did_you_mean

    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as exc:
        return [], [_csv_problem(path, 1, 1, "KT201", f"unreadable CSV: {exc}")]
    names = [h.strip().lower() for h in header]
    if not any(names):
        return [], [
            _csv_problem(path, 1, 1, "KT201", "no header row: expected kpi,date,value[,note[,by]]")
        ]
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name not in CSV_COLUMNS:
            problems.append(
                _csv_problem(
                    path,
                    1,
                    index + 1,
                    "KT201",
                    f"unknown column '{header[index]}'{did_you_mean(name, CSV_COLUMNS)} "
                    "(expected kpi,date,value[,note[,by]])",
                )
            )
        elif name in columns:
            problems.append(_csv_problem(path, 1, index + 1, "KT201", f"duplicate column '{name}'"))
        else:
            columns[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            problems.append(_csv_problem(path, 1, 1, "KT201", f"missing column '{name}'"))
    if problems:
        return [], problems
    known = [k.id for k in workspace.kpis]
    out: list[Measurement] = []
    line = reader.line_num + 1  # where the next row starts
    rows_read = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_csv_problem(path, line, 1, "KT202", f"unreadable CSV row: {exc}"))
            break
        start, line = line, reader.line_num + 1
        rows_read += 1
        if rows_read > MAX_CSV_ROWS:
            problems.append(
                _csv_problem(
                    path, start, 1, "KT212", f"more than {MAX_CSV_ROWS:,} rows; split the CSV"
                )
            )
            break
        if len(problems) >= MAX_CSV_PROBLEMS:
            problems.append(
                _csv_problem(
                    path, start, 1, "KT213", f"more than {MAX_CSV_PROBLEMS:,} problems; stopped"
                )
            )
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.append(
                _csv_problem(
                    path,
                    start,
                    len(header) + 1,
                    "KT202",
                    f"{len(row)} fields, but the header has {len(header)}",
                )
            )
            continue

        def cell(name: str, row: list[str] = row) -> str:
            index = columns.get(name)
            return row[index] if index is not None and index < len(row) else ""

        row_problems = len(problems)
        kpi_text = cell("kpi").strip()
        kpi = workspace.kpi(kpi_text)
        if not kpi_text:
            problems.append(_csv_problem(path, start, columns["kpi"] + 1, "KT202", "kpi: empty"))
        elif kpi is None:
            problems.append(
                _csv_problem(
                    path,
                    start,
                    columns["kpi"] + 1,
                    "KT202",
                    f"kpi: no KPI '{kpi_text}'{did_you_mean(kpi_text, known)}",
                )
            )
        day: dt.date | None = None
        try:
            day = parse_measurement_date(cell("date"), today or dt.date.today())
        except ValueError as exc:
            problems.append(_csv_problem(path, start, columns["date"] + 1, "KT202", f"date: {exc}"))
        value: Value | None = None
        if kpi is not None:
            try:
                value = parse_value(kpi, cell("value"))
            except ValueError as exc:
                problems.append(
                    _csv_problem(path, start, columns["value"] + 1, "KT202", f"value: {exc}")
                )
        note: str | None = None
        by: str | None = None
        try:
            note = _free_text(cell("note"), "note")
            by = _free_text(cell("by"), "by")
        except ValueError as exc:
            problems.append(_csv_problem(path, start, 1, "KT202", str(exc)))
        if len(problems) > row_problems or kpi is None or day is None or value is None:
            continue
        out.append(Measurement(kpi.id, day, value, note, by))
    return out, problems


# CSV input is capped like YAML input: a file over the size cap or with more rows
# than this is refused before any row is used (`import /dev/zero` must not eat memory).
MAX_CSV_ROWS = 1_000_000
MAX_CSV_PROBLEMS = 1_000


def _read_capped(fh: typing.BinaryIO, name: str) -> bytes:
    from kpitrack.yamlnodes import MAX_FILE_BYTES

    data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(
            f"{name}: KT210 the CSV is over the limit of {MAX_FILE_BYTES:,} bytes; "
            "split it; nothing imported"
        )
    return data


def _read_csv_source(source: str) -> tuple[str, str]:
    """(display name, text) of FILE.csv, or of stdin for `-`; at most MAX_FILE_BYTES."""
    import stat

    if source == "-":
        name = "<stdin>"
        data = _read_capped(sys.stdin.buffer, name)
    else:
        name = source
        try:
            fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            raise UsageError(f"no such file: {source}") from None
        except OSError as exc:
            raise UsageError(f"{source}: cannot read: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UsageError(
                f"{source}: KT211 not a regular file (a device, pipe or folder); "
                "use `-` to read standard input; nothing imported"
            )
        with os.fdopen(fd, "rb") as fh:
            try:
                data = _read_capped(fh, name)
            except OSError as exc:
                raise UsageError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        return name, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{name}:{line}: not UTF-8 text; {encoding_hint(data, name)}") from None


def encoding_hint(data: bytes, name: str) -> str:
    """How to convert a CSV that is not UTF-8, naming its likely encoding."""
    shown_name = "FILE.csv" if name == "<stdin>" else name
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        source = "utf-16"
        label = "UTF-16 (as Excel's 'Unicode text' saves)"
    elif any(0x80 <= b <= 0x9F for b in data):
        source, label = "cp1252", "Windows-1252 (as Excel on Windows saves)"
    else:
        source, label = "latin1", "Latin-1 (ISO-8859-1)"
    return (
        f"it looks like {label}; convert it with "
        f"`iconv -f {source} -t utf-8 {shown_name} > utf8.csv` and import utf8.csv"
    )


def _drop_duplicates(
    rows: Sequence[Measurement],
    existing: Counter[tuple[str, str, str, str | None, str | None]],
) -> list[Measurement]:
    """Rows not already present (rows repeated in the CSV are added once)."""
    from kpitrack.writing import measurement_key

    seen = Counter(existing)
    fresh: list[Measurement] = []
    for m in rows:
        key = measurement_key(m)
        if seen[key]:
            continue
        seen[key] += 1
        fresh.append(m)
    return fresh


@app.command("import")
@command
def import_csv(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE.csv",
            help="CSV with a header row kpi,date,value[,note[,by]]; - for stdin.",
        ),
    ],
    to: ToOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    files: FilesOption = None,
) -> None:
    """Append many measurements from CSV: all or nothing; exact duplicates are skipped."""
    from kpitrack.problems import sort_problems
    from kpitrack.writing import append_measurements, preview_append, workspace_verifier

    today = parse_as_of(None)
    name, text = _read_csv_source(source)
    loaded = load_for_writing(files, today)
    rows, problems = read_csv_measurements(text, name, loaded.workspace, today)
    if problems:
        problems = sort_problems(problems)
        for problem in problems:
            print(problem.format(), file=sys.stderr)
        raise UsageError(f"{name}: {len(problems)} error(s); nothing imported")
    kpis = [k for k in (loaded.workspace.kpi(m.kpi) for m in rows) if k is not None]
    target = measurement_target(loaded, kpis, to)
    chosen: list[Measurement] = []
    loads = loaded.loads(target)

    def plan(current: str | None) -> list[Measurement]:
        chosen[:] = _drop_duplicates(rows, _existing_keys(loads, current))
        return chosen

    verify = workspace_verifier(loads, lambda: chosen)
    if dry_run:
        warnings = preview_append(target, plan, verify=verify)
        skipped = len(rows) - len(chosen)
        print(
            f"dry run: would add {len(chosen)} measurement(s) to {shown(target)}, "
            f"skip {skipped} duplicate(s); nothing written"
        )
        _print_warnings(warnings)
        return
    result = append_measurements(target, plan, verify=verify)
    _print_warnings(result.warnings)
    hint = _not_read_note(files, loaded.config, target) if result.added else None
    if hint:
        print(hint, file=sys.stderr)
    skipped = len(rows) - len(result.added)
    print(
        f"added {len(result.added)} measurement(s) to {shown(target)}, "
        f"skipped {skipped} duplicate(s)"
    )


# ---------------------------------------------------------------- init


STARTER_KPIS = """\
# kpitrack KPI definitions. Run `kpitrack check` after editing this file.
#
# A KPI needs a crystal-clear measure (how the number is obtained), a target
# (and a direction: increase or decrease), and a reporting frequency (daily,
# weekly, monthly, quarterly or yearly). Link it to an objective and give it an
# owner. Keep a handful of KPIs per owner or objective.

objectives:
  - id: grow-usage
    title: Grow active usage of the product
    owner: Product team

kpis:
  - id: weekly-active-users
    name: Weekly active users
    measure: Distinct users who logged in during the ISO week, from the auth log
    target: 1000
    direction: increase       # or decrease, when lower is better
    frequency: weekly
    unit: users
    owner: Product team
    objective: grow-usage
    indicator: leading
    start: {today}         # reporting starts here: nothing is overdue before it
    # baseline: 600           # the value progress is counted from
    # due: 2026-12-31         # reach the target by then (milestones: [{date, target}])
    # action: what is being done while the KPI is off track
"""

STARTER_MEASUREMENTS = """\
# kpitrack measurements: one entry per reported value, appended by
#   kpitrack record weekly-active-users 640 --note "first count"
# or by `kpitrack import values.csv`. Entries look like this:
#   - kpi: weekly-active-users
#     date: 2026-01-11        # the date the value describes
#     value: 640
#     note: optional free text
#     by: optional, who recorded it
measurements:
"""

CONFIG_HEADER = """\
# kpitrack settings (read from this folder or any folder below it).
# files: the KPI files or folders to read; measurements_file: where `record`
# and `import` append; grace_days: days after a period ends before its report
# is overdue; at_risk_tolerance: how far short of the expected value (a fraction
# of it) still counts as at-risk; focus_limit: most KPIs per owner or objective.

"""


GITIGNORE_ENTRY = "*.lock"
GITIGNORE = """\
# kpitrack's lock sidecars (<file>.lock), taken while record and import write
*.lock
"""


def starter_files(today: dt.date | None = None) -> dict[str, bytes]:
    """Name → bytes of the files `init` writes (the example KPI starts `today`)."""
    import tomli_w

    from kpitrack.config import CONFIG_NAME, config_document

    document = config_document(
        files=["kpis.yaml", DEFAULT_MEASUREMENTS_FILE], measurements_file=DEFAULT_MEASUREMENTS_FILE
    )
    from kpitrack.schema import MODELINE, SCHEMA_FILE, schema_text

    return {
        "kpis.yaml": (
            MODELINE + STARTER_KPIS.replace("{today}", (today or dt.date.today()).isoformat())
        ).encode(),
        DEFAULT_MEASUREMENTS_FILE: (MODELINE + STARTER_MEASUREMENTS).encode(),
        CONFIG_NAME: (CONFIG_HEADER + tomli_w.dumps(document)).encode(),
        # The editors' schema that the modeline above names (yaml-language-server).
        SCHEMA_FILE: schema_text().encode(),
        ".gitignore": GITIGNORE.encode(),
    }


def init_folder(folder: Path) -> tuple[list[Path], list[Path]]:
    """Write the starter files into `folder`, never replacing one; (created, left alone)."""
    from kpitrack.writing import create_new_file

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{folder}: cannot create folder: {exc.strerror}") from None
    if not folder.is_dir():
        raise WriteError(f"{folder}: not a folder")
    created: list[Path] = []
    kept: list[Path] = []
    for name, data in starter_files().items():
        path = folder / name
        if create_new_file(path, data) or (name == ".gitignore" and _ignore_locks(path)):
            created.append(path)
        else:
            kept.append(path)
    return created, kept


def _ignore_locks(gitignore: Path) -> bool:
    """Add `*.lock` to an existing .gitignore that lacks it; whether it was added."""
    from kpitrack.writing import atomic_write_bytes

    try:
        data = gitignore.read_bytes()
    except OSError:
        return False
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    if GITIGNORE_ENTRY in lines:
        return False
    if data and not data.endswith(b"\n"):
        data += b"\n"
    atomic_write_bytes(gitignore, data + GITIGNORE.encode())
    return True


@app.command("init")
@command
def init(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Where to start (default: here).")
    ] = Path("."),
) -> None:
    """Write a starter kpis.yaml, measurements.yaml and kpitrack.toml; never overwrites."""
    created, kept = init_folder(folder)
    for path in created:
        print(f"created {path}")
    for path in kept:
        print(f"left {path} alone: it already exists")
    if created:
        print("next: edit kpis.yaml, then `kpitrack check` and `kpitrack status`")


# ---------------------------------------------------------------- rename


@app.command("rename")
@command
def rename(
    old_id: Annotated[
        str,
        typer.Argument(
            metavar="OLD", help="The KPI or objective id now.", autocompletion=complete_id
        ),
    ],
    new_id: Annotated[str, typer.Argument(metavar="NEW", help="The id it gets.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the lines it would change; write nothing.")
    ] = False,
    files: FilesOption = None,
) -> None:
    """Rename a KPI or objective id everywhere: definition, references, measurements.

    Locked and atomic like record; every other byte of the files stays as it is.

    Example: kpitrack rename wau weekly-active-users --dry-run
    """
    from kpitrack.loading import load_texts
    from kpitrack.renaming import IdKind, plan_rename, rename_in_files
    from kpitrack.rules import SLUG
    from kpitrack.suggest import did_you_mean

    today = parse_as_of(None)
    loaded = load_for_writing(files, today)
    workspace = loaded.workspace
    if workspace.kpi(old_id) is not None:
        kind, known = IdKind.KPI, [k.id for k in workspace.kpis]
    elif workspace.objective(old_id) is not None:
        kind, known = IdKind.OBJECTIVE, [o.id for o in workspace.objectives]
    else:
        ids = [k.id for k in workspace.kpis] + [o.id for o in workspace.objectives]
        raise UsageError(f"no KPI or objective '{old_id}'{did_you_mean(old_id, ids)}")
    if not SLUG.fullmatch(new_id):
        raise UsageError(
            f"'{new_id}' is not a valid id (lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit)"
        )
    if new_id == old_id:
        raise UsageError(f"'{old_id}' already has that id")
    if new_id in known:
        raise UsageError(f"there is already a {kind.value} '{new_id}'; nothing renamed")
    errors_before = sum(p.is_error for p in loaded.problems)

    def check(texts: list[tuple[str, str | None]]) -> None:
        old_texts = dict(loaded.texts)
        full = [(d, t if t is not None else old_texts[d]) for d, t in texts]
        _ws, problems = load_texts(full, config=loaded.config, as_of=today, memo=loaded.memo)
        if sum(p.is_error for p in problems) > errors_before:
            raise InvalidWorkspaceError([p for p in problems if p.is_error])

    what = "KPI" if kind is IdKind.KPI else "objective"
    if dry_run:
        plan = plan_rename(loaded.sources, kind, old_id, new_id)
        check(
            [
                (d, next((n for p, _o, n, _c in plan if p == path), None))
                for d, path in loaded.sources
            ]
        )
        lines = 0
        for path, _old, _new, changes in plan:
            for change in changes:
                print(f"{shown(path)}:{change.line}: -{change.old}")
                print(f"{shown(path)}:{change.line}: +{change.new}")
                lines += 1
        print(
            f"dry run: would rename {what} '{old_id}' to '{new_id}' on {lines} line(s) "
            f"in {len(plan)} file(s); nothing written"
        )
        return
    done = rename_in_files(loaded.sources, kind, old_id, new_id, check=check)
    lines = sum(len(f.changes) for f in done)
    for f in done:
        print(f"{shown(f.path)}: {len(f.changes)} line(s)")
    print(f"renamed {what} '{old_id}' to '{new_id}' on {lines} line(s) in {len(done)} file(s)")
