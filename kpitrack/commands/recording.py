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
import sys
import typing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kpitrack.cli import FilesOption, app, command, load_config_here, parse_as_of
from kpitrack.model import Kind, Kpi, Measurement, Value, in_range
from kpitrack.problems import InvalidWorkspaceError, Problem, Severity, UsageError, WriteError

if TYPE_CHECKING:
    from kpitrack.model import Config, Workspace
    from kpitrack.writing import Plan, WorkspaceLoads

DEFAULT_MEASUREMENTS_FILE = "measurements.yaml"

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


def parse_measurement_date(text: str) -> dt.date:
    """A date or a period (2026-W44, 2026-10, 2026-Q3, 2026): the period's last day."""
    from kpitrack.periods import parse_period

    return parse_period(text).end


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

    def loads(self, target: Path) -> WorkspaceLoads:
        """Loads of this workspace with `target`'s text replaced, starting from this one."""
        from kpitrack.writing import WorkspaceLoads

        return WorkspaceLoads(
            self.sources,
            target,
            config=self.config,
            as_of=self.as_of,
            known=(self.texts, (self.workspace, self.problems)),
        )


def load_for_writing(files: Sequence[Path] | None, as_of: dt.date) -> Loaded:
    """The workspace a write is checked against; refused (check's messages) when invalid."""
    from kpitrack.loading import load_texts, read_files, resolve_paths

    config = load_config_here()
    paths = resolve_paths(files or [], config, Path.cwd())
    read = read_files(paths)
    workspace, problems = load_texts(read, config=config, as_of=as_of)
    if any(p.is_error for p in problems):
        raise InvalidWorkspaceError(problems)
    # Without errors every file was read, so each entry holds its text.
    texts = [(shown, text) for shown, text in read if isinstance(text, str)]
    sources = list(zip(workspace.files, paths, strict=True))
    return Loaded(workspace, config, paths, sources, texts, problems, as_of)


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


def target_for_record(loaded: Loaded, kpi: Kpi, to: Path | None) -> Path:
    """--to; kpitrack.toml's measurements_file; the file holding the KPI's latest entry;
    else measurements.yaml beside the KPI's file."""
    if to is not None:
        return to
    configured = _configured_file(loaded)
    if configured is not None:
        return configured
    mine = [m for m in loaded.workspace.measurements if m.kpi == kpi.id]
    if mine:
        latest = max(mine, key=lambda m: (m.date, m.order))
        return _path_of(loaded, latest.loc.path)
    return _kpi_folder(loaded, kpi) / DEFAULT_MEASUREMENTS_FILE


def target_for_import(loaded: Loaded, to: Path | None) -> Path:
    """--to; measurements_file; the workspace's only file holding measurements; else
    measurements.yaml beside the first KPI's file."""
    if to is not None:
        return to
    configured = _configured_file(loaded)
    if configured is not None:
        return configured
    holding = sorted({m.loc.path for m in loaded.workspace.measurements})
    if len(holding) == 1:
        return _path_of(loaded, holding[0])
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


@app.command("record")
@command
def record(
    kpi_id: Annotated[str, typer.Argument(metavar="KPI", help="The KPI id.")],
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="A number, or a scale label (qualitative).")
    ],
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="DATE",
            help="The date the value describes: YYYY-MM-DD, or a period (2026-W44, 2026-10, "
            "2026-Q3, 2026) stored as its last day. Default: today.",
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free text.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who recorded it.")] = None,
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
    from kpitrack.suggest import did_you_mean
    from kpitrack.writing import append_measurements, workspace_verifier

    today = parse_as_of(None)
    loaded = load_for_writing(files, today)
    kpi = loaded.workspace.kpi(kpi_id)
    if kpi is None:
        known = [k.id for k in loaded.workspace.kpis]
        raise UsageError(f"no KPI '{kpi_id}'{did_you_mean(kpi_id, known)}")
    try:
        day = parse_measurement_date(date) if date is not None else today
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None
    try:
        parsed = parse_value(kpi, value)
        measurement = Measurement(
            kpi.id, day, parsed, _free_text(note, "--note"), _free_text(by, "--by")
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    target = target_for_record(loaded, kpi, to)
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
    status = evaluate_kpi(kpi, history, as_of=today, config=loaded.config)
    print(visible(f"{kpi.id}: {status.status} — {status_sentence(status)}", line=True))


# ---------------------------------------------------------------- import


CSV_COLUMNS = ("kpi", "date", "value", "note", "by")
REQUIRED_COLUMNS = ("kpi", "date", "value")


def _csv_problem(path: str, line: int, column: int, code: str, message: str) -> Problem:
    return Problem(path, line, column, Severity.ERROR, code, message)


def read_csv_measurements(
    text: str, path: str, workspace: Workspace
) -> tuple[list[Measurement], list[Problem]]:
    """Rows → measurements, every problem at once (line 1 is the header; column = field)."""
    from kpitrack.suggest import did_you_mean

    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
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
            day = parse_measurement_date(cell("date"))
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
        raise UsageError(f"{name}:{line}: not UTF-8 text") from None


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
    rows, problems = read_csv_measurements(text, name, loaded.workspace)
    if problems:
        problems = sort_problems(problems)
        for problem in problems:
            print(problem.format(), file=sys.stderr)
        raise UsageError(f"{name}: {len(problems)} error(s); nothing imported")
    target = target_for_import(loaded, to)
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
    # baseline: 600           # the value progress is counted from
    # start: 2026-01-05       # the date the baseline holds
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


def starter_files() -> dict[str, bytes]:
    """Name → bytes of the files `init` writes."""
    import tomli_w

    from kpitrack.config import CONFIG_NAME, config_document

    document = config_document(
        files=["kpis.yaml", DEFAULT_MEASUREMENTS_FILE], measurements_file=DEFAULT_MEASUREMENTS_FILE
    )
    return {
        "kpis.yaml": STARTER_KPIS.encode(),
        DEFAULT_MEASUREMENTS_FILE: STARTER_MEASUREMENTS.encode(),
        CONFIG_NAME: (CONFIG_HEADER + tomli_w.dumps(document)).encode(),
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
        (created if create_new_file(path, data) else kept).append(path)
    return created, kept


@app.command("init")
@command
def init(
    folder: Annotated[
        Path, typer.Argument(metavar="[FOLDER]", help="Where to start (default: here).")
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
