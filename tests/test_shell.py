"""The shell's parts without a command line around them: selection (kpitrack.evaluation.select), the
renderer dispatch of every format and view, the one emit, the exit codes, and option
values converted without pydantic exactly as Typer converts them."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from rich.table import Table
from support import invoke

from kpitrack.cli import app
from kpitrack.domain.model import Config, KpiResult, Reason, Status
from kpitrack.domain.problems import ExitCode, UsageError
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.evaluation.select import (
    FAIL_ON_VALUES,
    FailOn,
    drop_archived,
    fail_on_matches,
    filter_results,
    parse_fail_on,
    split_values,
)
from kpitrack.git.changes import Change, DiffRow
from kpitrack.reading.loading import load_valid_workspace
from kpitrack.render.formats import OutputFormat, ReportFormat
from kpitrack.reports.digest import build_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_kpis.yaml"
AS_OF = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def sample() -> tuple[Any, list[KpiResult]]:
    workspace = load_valid_workspace([SAMPLE], config=Config(), as_of=AS_OF)
    return workspace, evaluate(workspace, as_of=AS_OF, config=Config())


# ---------------------------------------------------------------- select: --fail-on


def test_fail_on_values_come_from_the_enums() -> None:
    statuses = [str(s) for s in Status]
    reasons = [str(r) for r in Reason if str(r) not in statuses]
    assert list(FAIL_ON_VALUES) == [*statuses, *reasons, "needs-action"]
    assert len(set(FAIL_ON_VALUES)) == len(FAIL_ON_VALUES)


@pytest.mark.parametrize("value", [*(str(s) for s in Status), *(str(r) for r in Reason)])
def test_every_status_and_reason_is_accepted(value: str) -> None:
    fail_on = parse_fail_on([value])
    assert fail_on
    assert value in {str(s) for s in fail_on.statuses} | {str(r) for r in fail_on.reasons}


def test_fail_on_splits_commas_and_repeats() -> None:
    fail_on = parse_fail_on(["off-track, overdue", "needs-action"])
    assert fail_on.statuses == {Status.OFF_TRACK}
    assert fail_on.reasons == {Reason.OFF_TRACK, Reason.OVERDUE}
    assert fail_on.any_reason
    assert not parse_fail_on(None) and not parse_fail_on([" , "])


def test_unknown_fail_on_value_names_the_closest_and_all_choices() -> None:
    with pytest.raises(UsageError) as info:
        parse_fail_on(["overdu"])
    message = str(info.value)
    assert message.startswith("--fail-on: unknown status or reason 'overdu'")
    assert "(did you mean 'overdue'?)" in message
    assert "(choose from " + ", ".join(FAIL_ON_VALUES) + ")" in message


def test_fail_on_matches_status_reason_or_any_reason(sample: Any) -> None:
    _workspace, results = sample
    off = [r for r in results if r.status is Status.OFF_TRACK]
    overdue = [r for r in results if Reason.OVERDUE in r.reasons]
    needing = [r for r in results if r.reasons]
    assert off and overdue and needing and len(needing) < len(results)
    assert fail_on_matches(results, parse_fail_on(["off-track"])) == [
        r for r in results if r.status is Status.OFF_TRACK or Reason.OFF_TRACK in r.reasons
    ]
    assert fail_on_matches(results, parse_fail_on(["overdue"])) == overdue
    assert fail_on_matches(results, parse_fail_on(["needs-action"])) == needing
    assert fail_on_matches(results, FailOn()) == []


# ---------------------------------------------------------------- select: filters


def test_filters_match_owner_and_tag_in_any_case(sample: Any) -> None:
    workspace, results = sample
    owner = next(r.kpi.owner for r in results if r.kpi.owner)
    kept = filter_results(results, workspace, owners=[owner.upper()])
    assert kept and all(r.kpi.owner == owner for r in kept)
    kpi_id = results[0].kpi.id
    assert [r.kpi.id for r in filter_results(results, workspace, kpis=[kpi_id])] == [kpi_id]
    assert filter_results(results, workspace) == list(results)


@pytest.mark.parametrize(
    ("option", "value", "start"),
    [
        ("owners", "Nobody", "--owner: no KPI has owner 'Nobody'"),
        ("tags", "no-such-tag", "--tag: no KPI has tag 'no-such-tag'"),
        ("kpis", "no-such-kpi", "--kpi: no KPI 'no-such-kpi'"),
        ("objectives", "no-such-objective", "--objective: no objective 'no-such-objective'"),
    ],
)
def test_unknown_filter_value_is_a_usage_error(
    sample: Any, option: str, value: str, start: str
) -> None:
    workspace, results = sample
    with pytest.raises(UsageError, match="^" + start):
        filter_results(results, workspace, **{option: [value]})


def test_unknown_kpi_filter_suggests_the_closest(sample: Any) -> None:
    workspace, results = sample
    kpi_id = results[0].kpi.id
    with pytest.raises(UsageError, match=f"did you mean '{kpi_id}'"):
        filter_results(results, workspace, kpis=[kpi_id[:-1]])


def test_drop_archived_and_split_values(sample: Any) -> None:
    _workspace, results = sample
    assert drop_archived(results, True) == list(results)
    assert drop_archived(results, False) == [r for r in results if not r.kpi.archived]
    assert split_values(["a,b", " c ", ",", "d"]) == ["a", "b", "c", "d"]


def test_select_and_the_text_renderers_import_no_shell() -> None:
    modules = (
        "evaluation.select render.formats render.json render.csv render.markdown render.history"
    )
    modules += " render.report_json render.report_markdown render.report_html"
    code = (
        "import sys\n"
        f"for m in {modules.split()!r}: __import__('kpitrack.' + m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click') "
        "or m.startswith(('kpitrack.cli', 'kpitrack.commands'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- renderer dispatch

CHANGES = [Change("abc1234", "2026-11-01", "Ana", "mrr", "target", "100", "120", True)]
DIFF = [DiffRow("redefined", "kpi", "mrr", "target", "100", "120"), DiffRow("added", "kpi", "x")]
VIEWS = ("status", "overdue", "actions", "show", "history", "diff")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    buffer = io.StringIO()
    Console(file=buffer, width=120, color_system=None).print(content)
    return buffer.getvalue()


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_every_format_renders_every_view(fmt: OutputFormat, view: str, sample: Any) -> None:
    _workspace, results = sample
    renderer = fmt.renderer()
    if view == "show":
        shown = next(r for r in results if r.history)
        content = renderer.show(shown, all_history=True)
        expected = shown.history[-1].date.isoformat()  # the newest value, in every format
    elif view == "history":
        content, expected = renderer.history(CHANGES), "abc1234"
    elif view == "diff":
        content, expected = renderer.diff(DIFF), "redefined"
    else:
        listed = [r for r in results if r.overdue is not None and r.needs_action]
        content = getattr(renderer, view)(listed, as_of=AS_OF)
        expected = listed[0].kpi.id
    assert isinstance(content, str) is (fmt is not OutputFormat.TABLE)
    assert expected in _text(content)


def test_the_table_format_is_rich_and_the_others_are_text() -> None:
    table = OutputFormat.TABLE.renderer()
    assert not isinstance(table.history(CHANGES), str)
    assert hasattr(table.history(CHANGES), "__rich_console__")
    assert OutputFormat.JSON.renderer().diff(DIFF).startswith('{\n  "changes"')
    assert OutputFormat.CSV.renderer().diff(DIFF).startswith("change,kind,id,field,old,new\n")


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_every_report_format_has_a_renderer_except_the_mail(fmt: ReportFormat) -> None:
    workspace = load_valid_workspace([SAMPLE], config=Config(), as_of=AS_OF)
    since = AS_OF - dt.timedelta(days=7)
    digest = build_report(workspace, as_of=AS_OF, since=since, config=Config())
    renderer = fmt.renderer()
    if fmt is ReportFormat.EMAIL:
        assert renderer is None  # a whole message around the table and HTML formats
        return
    assert renderer is not None
    text = _text(renderer.report(digest))
    assert "2026-11-30" in text and "mrr" in text


# ---------------------------------------------------------------- one emit


def _invoke(*args: str, env: dict[str, str] | None = None) -> str:
    result = invoke(*args, env=env)
    assert result.code in (0, 1), result.output
    return result.stdout


@pytest.mark.parametrize("command", ["status", "overdue", "actions", "show", "report"])
def test_piped_output_and_an_output_file_are_the_same_text(tmp_path: Path, command: str) -> None:
    args = [command, *(["first-response"] if command == "show" else [])]
    args += ["-f", str(SAMPLE), "--as-of", AS_OF.isoformat()]
    for columns in ("80", "120"):
        env = {"COLUMNS": columns, "NO_COLOR": "", "FORCE_COLOR": ""}
        piped = _invoke(*args, env=env)
        target = tmp_path / f"{command}-{columns}.txt"
        assert _invoke(*args, "-o", str(target), env=env) == ""
        written = target.read_text(encoding="utf-8")
        assert written == piped
        assert piped.strip()
        assert all(line == line.rstrip() for line in piped.splitlines())
        width = 100 if command == "report" else int(columns)  # report: a fixed width
        assert max(len(line) for line in piped.splitlines()) <= width


def test_a_colour_terminal_gets_no_trailing_spaces_either() -> None:
    from kpitrack.commands.output import visible_renderable

    table = Table("name", "status")
    table.add_row("a", "off-track")
    table.add_row("a much longer name", "ok")
    buffer = io.StringIO()
    Console(file=buffer, width=60, force_terminal=True, color_system="truecolor").print(
        visible_renderable(table)
    )
    lines = buffer.getvalue().splitlines()
    assert any("\x1b[" in line for line in lines)  # styled: a real terminal's output
    assert lines and all(not line.endswith(" ") for line in lines)


# ---------------------------------------------------------------- exit codes


def test_exit_code_enum_is_complete() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "PROBLEMS": 1,
        "USAGE": 2,
        "INTERNAL": 3,
        "INTERRUPTED": 130,
    }


def test_ctrl_c_exits_with_the_interrupted_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import kpitrack.cli as cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "app", interrupted)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == ExitCode.INTERRUPTED == 130
    assert capsys.readouterr().err == "kpitrack: interrupted\n"


def test_ctrl_c_while_a_command_runs_is_said_and_exits_130(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Typer turns an interrupt inside a command into a silent exit 130; the error
    boundary says it first. Here the interrupt lands while `status` loads its files."""
    import kpitrack.reading.loading as loading
    from tests.support import invoke

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(loading, "load_valid_workspace", interrupted)
    ran = invoke("status", "-f", str(SAMPLE), "--as-of", "2026-11-25")
    assert ran.code == ExitCode.INTERRUPTED == 130
    assert ran.stderr == "kpitrack: interrupted\n"
    assert ran.stdout == ""


def test_the_shell_writes_no_literal_exit_codes() -> None:
    import re

    shell = [ROOT / "kpitrack" / "cli.py", ROOT / "kpitrack" / "_entry.py"]
    shell += sorted((ROOT / "kpitrack" / "commands").glob("*.py"))
    literal = re.compile(r"(sys\.exit|os\._exit|typer\.Exit)\(\s*\d")
    for path in shell:
        if path.name in ("recording.py", "review.py"):
            continue  # the write commands' own modules
        assert not literal.search(path.read_text(encoding="utf-8")), path


# ---------------------------------------------------------------- option values


def _all_parameters() -> list[tuple[str, Any]]:
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    out = [("kpitrack", p) for p in command.params if hasattr(p, "type_descriptor")]
    for name, sub in sorted(command.commands.items()):
        out += [(name, p) for p in sub.params if hasattr(p, "type_descriptor")]
    return out


def _outcome(runtime: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except typer.BadParameter as exc:
        return "error", exc.format_message()


@pytest.mark.typer_patches
def test_option_values_convert_exactly_as_typer_does(tmp_path: Path) -> None:
    from typer._click import Context
    from typer._coercion import build_runtime_param

    from kpitrack._typer import plain_runtime_param

    (tmp_path / "file.yaml").write_text("kpis: []\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    samples: list[Any] = [
        "x",
        "",
        "-",
        "TABLE",
        "Json",
        "table",
        "nope\x1b[31m",
        "café",
        "a\udcffb",
        str(tmp_path / "file.yaml"),
        str(tmp_path / "folder"),
        str(tmp_path / "missing" / "x"),
    ]
    checked = 0
    fast = 0
    for name, param in _all_parameters():
        descriptor = param.type_descriptor
        typer_way = build_runtime_param(descriptor)
        plain = plain_runtime_param(descriptor)
        if plain is None:
            continue
        fast += 1
        ctx = Context(typer.main.get_command(app), info_name=name)
        # Click hands over text (a tuple of texts for a repeatable option); a flag, a bool.
        values: list[Any] = [[v] for v in samples] + [samples[:3]] if param.multiple else samples
        if descriptor.annotation is bool:
            values = [True, False]
        for value in values:
            assert _outcome(plain, value, param, ctx) == _outcome(typer_way, value, param, ctx), (
                name,
                param.name,
                value,
            )
            checked += 1
    assert fast >= 20 and checked > 300


@pytest.mark.typer_patches
def test_short_commands_do_not_import_pydantic(tmp_path: Path) -> None:
    one = tmp_path / "kpis.yaml"
    one.write_text(
        "kpis:\n  - {id: one, name: One, measure: count, target: 1, frequency: monthly}\n",
        encoding="utf-8",
    )
    for args in (["check", "-f", str(one)], ["status", "-f", str(SAMPLE), "--sort", "GAP"]):
        code = (
            "import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write("
            "'PYDANTIC=%s\\n' % ('pydantic' in sys.modules)))\n"
            f"sys.argv = ['kpitrack', *{args!r}]\n"
            "from kpitrack.cli import main\n"
            "main()\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        assert done.returncode in (0, 1), done.stderr
        assert "PYDANTIC=False" in done.stderr, done.stderr


# ---------------------------------------------------------------- command registration


def test_help_lists_every_command_in_order() -> None:
    from kpitrack.cli import SHORT_HELP, CommandName

    out = invoke("--help", env={"COLUMNS": "100"}).stdout
    listed = [line.split()[0] for line in out.split("Commands:\n", 1)[1].splitlines() if line]
    assert listed == [str(n) for n in CommandName]
    for name in CommandName:
        assert f"  {name}" in out and SHORT_HELP[name] in out


@pytest.mark.parametrize("name", ["check", "record", "review", "status", "history", "schema"])
def test_each_command_is_registered_with_its_help(name: str) -> None:
    result = invoke(name, "--help", env={"COLUMNS": "100"})
    assert result.code == 0, result.output
    assert f"Usage: kpitrack {name} " in result.stdout
    assert "Examples:" in result.stdout


def test_a_command_imports_only_its_own_module(tmp_path: Path) -> None:
    one = tmp_path / "kpis.yaml"
    one.write_text(
        "kpis:\n  - {id: one, name: One, measure: count, target: 1, frequency: monthly}\n",
        encoding="utf-8",
    )
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('MODULES=%s\\n' % sorted("
        "m for m in sys.modules if m.startswith('kpitrack.commands.'))))\n"
        f"sys.argv = ['kpitrack', 'check', '-f', {str(one)!r}]\n"
        "from kpitrack.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.split("MODULES=", 1)[1]
    assert "'kpitrack.commands.check'" in loaded
    for other in ("evaluating", "report", "collect", "recording", "export", "git", "review"):
        assert f"'kpitrack.commands.{other}'" not in loaded


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_the_command_list_is_typers_own_layout(columns: int) -> None:
    from typer._click import Context, HelpFormatter
    from typer.core import TyperGroup

    group = typer.main.get_command(app)
    ctx = Context(group, info_name="kpitrack")
    ours, typers = HelpFormatter(width=columns), HelpFormatter(width=columns)
    group.format_commands(ctx, ours)  # from SHORT_HELP: builds nothing
    TyperGroup.format_commands(group, ctx, typers)  # Typer's: builds every command
    assert ours.getvalue() == typers.getvalue()
    assert "collect" in ours.getvalue()
