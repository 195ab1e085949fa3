"""One width policy for every table (issue #22 item 3), on real pseudo-terminals of 60,
70 and 80 columns and in pipes: ids and dates are never cut, words never broken, columns
left out in each table's documented order and named in a footnote."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import termios
from pathlib import Path

import pytest
from support import command

pytestmark = pytest.mark.process

SAMPLE = Path(__file__).parent.parent / "sample_kpis.yaml"
AS_OF = ("--as-of", "2026-11-30")
EXTRA = """\
kpis:
  - id: mobile-app-weekly-active-users
    name: Weekly active users of the mobile app
    measure: Distinct users who opened the app during the ISO week, from analytics
    target: 50000
    baseline: 20000
    unit: users
    frequency: weekly
    owner: Product team
    objective: grow-revenue
    start: 2026-01-05
    due: 2026-12-31
    action: Onboarding emails (re-engagement-sequence-v2) for every new signup
measurements:
  - {kpi: mobile-app-weekly-active-users, date: 2026-11-22, value: 31000}
"""
DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _git(folder: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ann Marie Long-Surname",
        "GIT_AUTHOR_EMAIL": "ann@example.org",
        "GIT_COMMITTER_NAME": "Ann Marie Long-Surname",
        "GIT_COMMITTER_EMAIL": "ann@example.org",
        "GIT_AUTHOR_DATE": "2026-11-20T10:00:00+00:00",
        "GIT_COMMITTER_DATE": "2026-11-20T10:00:00+00:00",
    }
    subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("widths")
    (folder / "kpis.yaml").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "more.yaml").write_text(EXTRA, encoding="utf-8")
    (folder / "kpitrack.toml").write_text('files = ["kpis.yaml", "more.yaml"]\n')
    if shutil.which("git"):
        _git(folder, "init", "-q")
        _git(folder, "add", ".")
        _git(folder, "commit", "-qm", "first")
        text = (folder / "more.yaml").read_text(encoding="utf-8")
        text = text.replace("target: 50000", "target: 45000")
        text = text.replace("due: 2026-12-31", "due: 2027-03-31")
        text = text.replace("from analytics", "from the product analytics warehouse")
        (folder / "more.yaml").write_text(text, encoding="utf-8")
        _git(folder, "commit", "-qam", "an easier target")
    return folder


def on_terminal(ws: Path, columns: int, *args: str) -> str:
    """What a user sees: kpitrack on a pseudo-terminal `columns` wide (stty size and
    $COLUMNS), without colour so the text can be compared."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 500, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "500", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    process = subprocess.Popen(
        command(*args), cwd=ws, stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not data:
            break
        out += data
    os.close(master)
    assert process.wait(timeout=30) in (0, 1)
    return out.decode("utf-8").replace("\r\n", "\n")


def in_a_pipe(ws: Path, columns: int, *args: str) -> str:
    env = {**os.environ, "COLUMNS": str(columns)}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(command(*args), cwd=ws, env=env, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


IDS = (
    "mobile-app-weekly-active-users",
    "first-response",
    "trial-conversion",
    "onboarding-revamp",
    "sso-launch",
    "eng-hiring",
)


def assert_fits(text: str, columns: int) -> None:
    too_long = [line for line in text.splitlines() if len(line) > columns]
    assert not too_long, "\n".join(too_long)


def assert_nothing_cut(text: str, ids: tuple[str, ...] = IDS) -> None:
    words = set(re.findall(r"[\w-]+", text))
    for kpi_id in ids:
        if kpi_id in text or any(kpi_id.startswith(w) and len(w) > 3 for w in words):
            assert kpi_id in words, f"{kpi_id} was cut"
    assert not re.search(r"\d{4}-\d\d?-?…|\d{4}-\d\d-\d\n\d", text), "a date was cut"
    for part in re.findall(r"\d{4}-\d\d-?\d?(?!\d)", text):
        assert DATE.fullmatch(part) or re.fullmatch(r"\d{4}-\d\d", part), part


@pytest.mark.parametrize("columns", [60, 70])
def test_report_on_narrow_terminals(ws: Path, columns: int) -> None:
    text = on_terminal(ws, columns, "report", *AS_OF)
    assert_fits(text, columns)
    assert_nothing_cut(text)
    summary = text.split("Summary\n", 1)[1].split("What changed", 1)[0]
    assert "Owner" in summary  # the owner column is never the one left out
    for owner in ("Customer", "Finance", "Platform", "Product", "Support"):
        assert re.search(rf"^{owner}\b", summary, re.M), owner
    assert "Len/a" not in text and "Pla\ntfo" not in text


def test_status_at_80_keeps_owner_and_leaves_out_expected(ws: Path) -> None:
    text = on_terminal(ws, 80, "status", *AS_OF)
    assert_fits(text, 80)
    assert_nothing_cut(text)
    header = text.splitlines()[0]
    assert "Owner" in header and "Expected" not in header
    note = text.split("Not shown for width:", 1)[1]
    assert "Expected" in note and "Owner" not in note
    assert "Product team" in text  # an owner wraps between words, never ends in "…"
    assert re.search(r"Customer +[\d.]+ .*\n.*Success", text), text


@pytest.mark.parametrize("columns", [60, 80])
def test_actions_keeps_the_plan_and_breaks_no_word(ws: Path, columns: int) -> None:
    text = on_terminal(ws, columns, "actions", *AS_OF)
    assert_fits(text, columns)
    assert_nothing_cut(text)
    assert "Action plan" in text.splitlines()[0]
    words = set(text.split())
    plan = "Onboarding emails (re-engagement-sequence-v2) for every new signup"
    assert set(plan.split()) <= words, set(plan.split()) - words


@pytest.mark.parametrize("where", ["terminal", "pipe"])
@pytest.mark.parametrize("view", ["history", "diff"])
def test_history_and_diff_at_80_cut_nothing(ws: Path, where: str, view: str) -> None:
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    args = (view,) if view == "history" else (view, "HEAD~1")
    text = on_terminal(ws, 80, *args) if where == "terminal" else in_a_pipe(ws, 80, *args)
    assert_fits(text, 80)
    assert_nothing_cut(text, ("mobile-app-weekly-active-users",))
    assert "mobile-app-weekly-active-users" in text and "…" not in text
    assert "50000" in text and "45000" in text
    assert "2026-12-31" in text and "2027-03-31" in text


def test_show_chart_fits_60_columns(ws: Path) -> None:
    text = on_terminal(ws, 60, "show", "mrr", "--no-pager", *AS_OF)
    assert_fits(text, 60)
    lines = text.splitlines()
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    assert lines[axis].rstrip().endswith("─")  # the axis is one line, not wrapped
    dates = next(i for i in range(axis + 1, len(lines)) if "2026-01-01" in lines[i])
    assert dates <= axis + 2  # right under the axis, or under the event marks
    assert "2026-12-31" in lines[dates] and "● measured" in lines[dates + 1]


def test_the_footnote_names_what_the_narrow_table_left_out(ws: Path) -> None:
    text = in_a_pipe(ws, 60, "overdue", *AS_OF)
    assert_fits(text, 60)
    assert "Not shown for width: Frequency, Owner" in " ".join(text.split())


@pytest.mark.parametrize(
    "args",
    [
        ("status", *AS_OF),
        ("report", *AS_OF),
        ("show", "mrr", *AS_OF),
    ],
)
def test_ascii_stand_ins_keep_every_column(ws: Path, args: tuple[str, ...]) -> None:
    """Issue #22 item 6: on a stream that cannot hold our glyphs (PYTHONIOENCODING=ascii)
    each one becomes one ASCII character, so every line keeps its width."""
    wide = in_a_pipe(ws, 80, *args)
    env = {**os.environ, "COLUMNS": "80", "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(command(*args), cwd=ws, env=env, capture_output=True)
    assert done.returncode in (0, 1)
    narrow = done.stdout.decode("ascii")  # raises if anything is not ASCII
    assert narrow.count("?") == wide.count("?")  # every glyph has its own stand-in
    assert [len(line) for line in narrow.splitlines()] == [len(line) for line in wide.splitlines()]


def test_ascii_stand_in_of_letters_and_wide_characters() -> None:
    from kpitrack.cli import ascii_stand_in

    assert [ascii_stand_in(c) for c in "é▌…≥●"] == ["e", "+", ".", ">", "o"]
    assert ascii_stand_in("界") == "??"  # two columns on a terminal, two characters here
