"""Processes, pipes and encodings, through the installed `kpitrack` entry point."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from support import AS_OF as SAMPLE_AS_OF
from support import Ran, command, invoke, run_process

KPIS = """\
kpis:
  - id: weekly-active-users
    name: Weekly active users of the product
    measure: Distinct users who logged in during the ISO week, from the auth log
    target: 1000
    baseline: 100
    unit: users
    frequency: weekly
    owner: Product team
    tags: [Growth]
measurements:
  - {kpi: weekly-active-users, date: 2026-11-01, value: 400}
"""

AS_OF = ["--as-of", "2026-11-10"]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS, encoding="utf-8")
    return tmp_path


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    base.update(extra)
    return base


def kt(
    ws: Path, *args: str, environ: dict[str, str] | None = None, encoding: str | None = None
) -> Ran:
    return run_process(*args, cwd=ws, env=environ or env(), encoding=encoding)


def test_bare_kpitrack_prints_help_and_exits_0(ws: Path) -> None:
    done = kt(ws)
    assert done.code == 0
    assert "Usage: kpitrack" in done.stdout and "status" in done.stdout


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_streams_that_cannot_encode_get_ascii_fallbacks(ws: Path, encoding: str) -> None:
    for args in (["status"], ["overdue"], ["actions"], ["show", "weekly-active-users"]):
        done = kt(ws, *args, *AS_OF, environ=env(PYTHONIOENCODING=encoding), encoding=encoding)
        assert done.code == 0, done.stderr
        assert "internal error" not in done.stderr
        assert "weekly-active-users" in done.stdout or "No overdue" in done.stdout


def test_full_stdout_is_an_io_error_exit_2(ws: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            command("status", *AS_OF),
            cwd=ws,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "kpitrack: error: cannot write the output: No space left on device"
    ]


def test_closed_stdout_is_an_io_error_exit_2(ws: Path) -> None:
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no sh")
    done = subprocess.run(
        [sh, "-c", shlex.join(command("status", "--as-of", "2026-11-10")) + " >&-"],
        cwd=ws,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "standard output is closed" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_color_counts_only_when_non_empty_and_color_options(ws: Path) -> None:
    esc = "\x1b["
    assert esc not in kt(ws, "status", *AS_OF).stdout  # a pipe: no colour
    assert esc in kt(ws, "--color", "always", "status", *AS_OF).stdout
    assert esc in kt(ws, "status", *AS_OF, environ=env(FORCE_COLOR="1")).stdout
    assert esc in kt(ws, "status", *AS_OF, environ=env(FORCE_COLOR="1", NO_COLOR="")).stdout
    assert esc not in kt(ws, "status", *AS_OF, environ=env(FORCE_COLOR="1", NO_COLOR="1")).stdout
    assert (
        esc not in kt(ws, "--color", "never", "status", *AS_OF, environ=env(FORCE_COLOR="1")).stdout
    )


def test_as_of_accepts_periods_and_words(ws: Path) -> None:
    def summary(*args: str) -> str:
        done = kt(ws, "status", "--format", "json", *args)
        assert done.code == 0, done.stderr
        return done.stdout

    assert '"as_of": "2026-11-08"' in summary("--as-of", "2026-W45")
    assert '"as_of": "2026-11-30"' in summary("--as-of", "2026-11")
    today = dt.date.today()
    assert f'"as_of": "{(today - dt.timedelta(days=1)).isoformat()}"' in summary(
        "--as-of", "yesterday"
    )
    last_sunday = today - dt.timedelta(days=today.isoweekday())
    assert f'"as_of": "{last_sunday.isoformat()}"' in summary("--as-of", "last-week")
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    assert f'"as_of": "{month_end.isoformat()}"' in summary("--as-of", "last-month")


def test_init_ignores_locks_and_its_example_is_not_overdue(tmp_path: Path) -> None:
    done = kt(tmp_path, "init")
    assert done.code == 0, done.stderr
    assert "*.lock" in (tmp_path / ".gitignore").read_text().splitlines()
    overdue = kt(tmp_path, "overdue", "--fail-on", "overdue")
    assert overdue.code == 0, overdue.stdout + overdue.stderr
    status = kt(tmp_path, "status", "--format", "json")
    assert '"overdue": 0' in status.stdout
    # an existing .gitignore gets the entry once, and keeps its lines
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / ".gitignore").write_text("build/")
    assert kt(tmp_path, "init", "x").code == 0
    assert (tmp_path / "x" / ".gitignore").read_text().splitlines()[0] == "build/"
    assert kt(tmp_path, "init", "x").code == 0
    assert (tmp_path / "x" / ".gitignore").read_text().count("*.lock") == 1


LONG = """\
kpis:
  - id: weekly-active-users-in-europe
    name: Weekly active users of the product in the EU
    measure: Distinct users who logged in during the ISO week, from the auth log
    target: 1000
    unit: users
    frequency: weekly
    owner: Product team Europe
  - id: trial-conversion
    name: Trial conversion
    measure: Percent of trials converted to paid in the month
    target: 20
    unit: "%"
    frequency: monthly
    owner: Sales
measurements:
  - {kpi: weekly-active-users-in-europe, date: 2026-10-01, value: 400}
  - {kpi: trial-conversion, date: 2026-09-30, value: 5}
"""


@pytest.mark.parametrize("columns", ["80", "60"])
@pytest.mark.parametrize("command", ["status", "overdue", "actions"])
def test_ids_are_never_cut_and_dropped_columns_are_named(
    tmp_path: Path, columns: str, command: str
) -> None:
    (tmp_path / "kpis.yaml").write_text(LONG, encoding="utf-8")
    done = kt(tmp_path, command, *AS_OF, environ=env(COLUMNS=columns))
    assert done.code == 0, done.stderr
    lines = done.stdout.splitlines()
    firsts = [line.split()[:1] for line in lines]
    assert ["weekly-active-users-in-europe"] in firsts  # whole, on one line
    assert ["trial-conversion"] in firsts
    assert all(len(line) <= int(columns) for line in lines)
    assert all(line == line.rstrip() for line in lines), "trailing spaces"
    if command != "overdue":
        assert "off-track" in done.stdout  # the status column always stays
    if columns == "60":
        assert "Not shown for width:" in done.stdout


@pytest.mark.parametrize(
    ("name", "starts"),
    [("w.json", "{"), ("w.csv", "id,"), ("w.md", "|"), ("w.txt", "KPI")],
)
def test_output_format_from_the_extension(ws: Path, name: str, starts: str) -> None:
    done = kt(ws, "status", *AS_OF, "-o", name)
    assert done.code == 0, done.stderr
    assert (ws / name).read_text(encoding="utf-8").lstrip().startswith(starts)


def test_report_format_from_the_extension(ws: Path) -> None:
    assert kt(ws, "report", *AS_OF, "-o", "weekly.html").code == 0
    assert (
        (ws / "weekly.html")
        .read_text(encoding="utf-8")
        .lstrip()
        .lower()
        .startswith("<!doctype html")
    )


def test_o_file_and_pipe_are_the_same_text(ws: Path) -> None:
    piped = kt(ws, "status", *AS_OF).stdout
    assert kt(ws, "status", *AS_OF, "-o", "s.txt").code == 0
    assert (ws / "s.txt").read_text(encoding="utf-8") == piped
    assert all(line == line.rstrip() for line in piped.splitlines())


def test_kpis_yml_is_found_like_kpis_yaml(tmp_path: Path) -> None:
    (tmp_path / "kpis.yml").write_text(KPIS, encoding="utf-8")
    done = kt(tmp_path, "status", *AS_OF)
    assert done.code == 0, done.stderr
    assert "weekly-active-users" in done.stdout


def test_folder_named_kpis_yaml_gets_its_own_message(tmp_path: Path) -> None:
    (tmp_path / "kpis.yaml").mkdir()
    done = kt(tmp_path, "status")
    assert done.code == 2
    assert "kpis.yaml in" in done.stderr and "is a folder, not a file" in done.stderr


def test_symlink_loops_get_their_own_message(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    done = kt(tmp_path, "status", "-f", "loop")
    assert done.code == 2
    assert "loop: symbolic link loop" in done.stderr
    (tmp_path / "kpis.yaml").symlink_to("kpis.yml")
    (tmp_path / "kpis.yml").symlink_to("kpis.yaml")
    done = kt(tmp_path, "status")
    assert done.code == 2 and "symbolic link loop" in done.stderr
    (tmp_path / "gone").symlink_to("nowhere")
    assert "symbolic link to nothing" in kt(tmp_path, "status", "-f", "gone").stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_folder_gets_its_own_message(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.yaml").write_text(KPIS, encoding="utf-8")
    (tmp_path / "d" / "sub").chmod(0)
    try:
        done = kt(tmp_path, "status", "-f", "d")
    finally:
        (tmp_path / "d" / "sub").chmod(0o755)
    assert done.code == 2
    assert "cannot read folder" in done.stderr and "Permission denied" in done.stderr


def test_unreadable_folder_message_for_any_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same message when the folder cannot be listed, even running as root
    (the listing is refused by a stand-in for os.scandir)."""
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.yaml").write_text(KPIS, encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    ran = invoke("status", "-f", str(tmp_path / "d"))
    assert ran.code == 2
    assert "cannot read folder" in ran.stderr and "Permission denied" in ran.stderr


def test_ctrl_c_while_importing_exits_130_without_traceback(tmp_path: Path) -> None:
    """Ctrl-C landing while the entry point still imports Typer and Rich."""
    import sys

    script = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from kpitrack._entry import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 130
    assert done.stderr == "kpitrack: interrupted\n"


def test_ctrl_c_while_running_exits_130(ws: Path) -> None:
    import signal
    import sys

    script = (
        "import os, signal, sys\n"
        "import kpitrack.commands.evaluating as ev\n"
        "real = ev._evaluate\n"
        "def slow(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real(*a, **k)\n"
        "ev._evaluate = slow\n"
        "sys.argv = ['kpitrack', 'status']\n"
        "from kpitrack._entry import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ws, capture_output=True, text=True, check=False
    )
    assert signal.SIGINT  # the signal is real, not a raised exception
    assert done.returncode == 130
    assert "Traceback" not in done.stderr


def _on_a_terminal(ws: Path, *args: str, **extra: str) -> str:
    """Run kpitrack with a pseudo-terminal as stdin and stdout; what it printed there."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        command(*args),
        cwd=ws,
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env(LINES="10", COLUMNS="80", TERM="xterm", **extra),
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_show_pages_long_output_through_pager(ws: Path) -> None:
    shown = _on_a_terminal(ws, "show", "weekly-active-users", *AS_OF, PAGER="cat > paged.txt")
    paged = (ws / "paged.txt").read_text(encoding="utf-8")
    assert "weekly-active-users" in paged
    assert "weekly-active-users" not in shown
    (ws / "paged.txt").unlink()
    shown = _on_a_terminal(
        ws, "show", "weekly-active-users", *AS_OF, "--no-pager", PAGER="cat > paged.txt"
    )
    assert not (ws / "paged.txt").exists()
    assert "weekly-active-users" in shown


def _complete(ws: Path, words: str) -> list[str]:
    parts = words.split(" ")
    done = kt(
        ws,
        environ=env(
            _KPITRACK_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(len(parts) - 1)
        ),
    )
    return done.stdout.split()


def test_shell_completion_of_ids_owners_and_tags(tmp_path: Path) -> None:
    (tmp_path / "kpis.yaml").write_text(LONG, encoding="utf-8")
    assert _complete(tmp_path, "kpitrack show tr") == ["trial-conversion"]
    assert _complete(tmp_path, "kpitrack record we") == ["weekly-active-users-in-europe"]
    assert _complete(tmp_path, "kpitrack rename tri") == ["trial-conversion"]
    assert _complete(tmp_path, "kpitrack status --kpi w") == ["weekly-active-users-in-europe"]
    assert _complete(tmp_path, "kpitrack status --owner Sa") == ["Sales"]
    assert "--install-completion" in kt(tmp_path, "--help").stdout


@pytest.mark.typer_patches
@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("record", "Usage: kpitrack record [OPTIONS] KPI VALUE"),
        ("import", "Usage: kpitrack import [OPTIONS] FILE.csv"),
        ("init", "Usage: kpitrack init [OPTIONS] [FOLDER]"),
        ("show", "Usage: kpitrack show [OPTIONS] KPI"),
        ("rename", "Usage: kpitrack rename [OPTIONS] OLD NEW"),
    ],
)
def test_help_names_arguments_plainly(ws: Path, command: str, usage: str) -> None:
    out = kt(ws, command, "--help").stdout
    assert usage in out
    assert "{" not in out.splitlines()[0] and "<str>" not in out and "[[" not in out
    assert "Examples:\n    kpitrack " + command in out


@pytest.mark.typer_patches
def test_top_level_help_is_not_cut_and_errors_have_no_value_error(ws: Path) -> None:
    out = kt(ws, "--help", environ=env(COLUMNS="80")).stdout
    commands = out.split("Commands:")[1]
    assert "..." not in commands and "rename" in commands
    err = kt(ws, "status", "--sort", "foo").stderr
    assert "Value error" not in err and "'foo' is not one of" in err


ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_kpis.yaml"
SHOW_AS_OF = [*SAMPLE_AS_OF, "--no-pager"]


def test_show_marks_milestones_and_every_scale_label(tmp_path: Path) -> None:
    mrr = kt(tmp_path, "show", "mrr", "-f", str(SAMPLE), *SHOW_AS_OF).stdout
    assert "◆" in mrr.split("Status:")[0] and "◆ milestone" in mrr
    csat = kt(tmp_path, "show", "csat", "-f", str(SAMPLE), *SHOW_AS_OF).stdout
    labels = [line.split("┤")[0].strip() for line in csat.splitlines() if "┤" in line]
    assert {"poor", "fair", "good", "excellent"} <= set(labels)


def test_show_all_lists_the_whole_history(tmp_path: Path) -> None:
    short = kt(tmp_path, "show", "deploys", "-f", str(SAMPLE), *SHOW_AS_OF).stdout
    assert "History (last 12 of" in short and "--history all" in short
    args = ("show", "deploys", "-f", str(SAMPLE), *SHOW_AS_OF, "--history", "all")
    full = kt(tmp_path, *args).stdout
    assert "History\n" in full
    assert full.count("\n20") > short.count("\n20")


def test_show_progress_kpi_without_unit_is_percent(tmp_path: Path) -> None:
    (tmp_path / "kpis.yaml").write_text(
        "kpis:\n"
        "  - {id: launch, name: Launch, measure: Percent of checklist items done at week end,\n"
        "     kind: progress, frequency: weekly, owner: P}\n"
        "measurements:\n  - {kpi: launch, date: 2026-11-20, value: 40}\n",
        encoding="utf-8",
    )
    out = kt(tmp_path, "show", "launch", "--as-of", "2026-11-22", "--no-pager").stdout
    assert "40%" in out


def test_show_json_carries_the_definition(tmp_path: Path) -> None:
    import json

    done = kt(tmp_path, "show", "mrr", "-f", str(SAMPLE), "--as-of", "2026-11-25", "-o", "m.json")
    assert done.code == 0, done.stderr
    doc = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    definition = doc["definition"]
    assert definition["measure"] and definition["milestones"]
    assert {"description", "scale", "unit"} <= set(definition)
    assert doc["history"]
