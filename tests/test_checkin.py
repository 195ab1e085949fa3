"""`kpitrack checkin`: what is owed (the core, with a pinned day) and the interactive
sitting through a real pseudo-terminal (the standard library's `pty`): bad input asked
again, skips, `?`, `q`, a qualitative KPI, Ctrl-C before and after the summary, "no",
a 60-column terminal, and the refusal off a terminal."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from support import command, run_process

from kpitrack.domain.model import Config, Frequency
from kpitrack.domain.periods import period_containing
from kpitrack.domain.problems import UsageError, WriteError
from kpitrack.writing.checkin import Due, start_checkin, write_answers

TODAY = dt.date(2026, 12, 9)  # a Wednesday in 2026-W50

KPIS = """\
objectives:
  - id: grow
    title: Grow
kpis:
  - id: wau
    name: Weekly active users
    measure: Distinct users who logged in during the ISO week
    target: 1000
    frequency: weekly
    unit: users
    owner: Product
    objective: grow
  - id: csat
    name: Customer satisfaction
    measure: Median answer of the quarterly customer survey
    kind: qualitative
    scale: [poor, fair, good, great]
    target: good
    frequency: quarterly
    owner: Support
    objective: grow
  - id: mrr
    name: Monthly recurring revenue
    measure: Sum of active subscriptions at month end
    target: 100
    frequency: monthly
    owner: Sales
    objective: grow
"""


def workspace(folder: Path, measurements: str, kpis: str = KPIS) -> Path:
    (folder / "kpis.yaml").write_text(kpis, encoding="utf-8")
    (folder / "measurements.yaml").write_text(
        "# kept by hand\nmeasurements:\n" + measurements, encoding="utf-8"
    )
    (folder / "kpitrack.toml").write_text(
        'files = ["kpis.yaml", "measurements.yaml"]\nmeasurements_file = "measurements.yaml"\n',
        encoding="utf-8",
    )
    return folder


def entry(kpi: str, day: dt.date, value: object) -> str:
    return f"  - kpi: {kpi}\n    date: {day.isoformat()}\n    value: {value}\n"


def owed_labels(folder: Path, today: dt.date = TODAY, **filters: list[str]) -> dict[str, list]:
    session = start_checkin(
        today=today,
        config=Config(),
        files=[folder / "kpis.yaml", folder / "measurements.yaml"],
        **filters,  # type: ignore[arg-type]
    )
    return {
        k.result.kpi.id: [(o.period.label, str(o.due), o.date.isoformat()) for o in k.owed]
        for k in session.kpis
    }


# ---------------------------------------------------------------- what is owed (core)


def test_owed_periods_overdue_first_then_current(tmp_path: Path) -> None:
    # wau last reported in 2026-W47; csat reported this quarter; mrr never, no start.
    workspace(
        tmp_path,
        entry("wau", dt.date(2026, 11, 20), 640)
        + entry("csat", dt.date(2026, 10, 15), "fair")
        + entry("mrr", dt.date(2026, 11, 30), 90),
    )
    assert owed_labels(tmp_path) == {
        # W48 ended on 2026-12-06 + 3 grace days = due 2026-12-09: due, not yet overdue
        "wau": [
            ("2026-W48", "overdue", "2026-11-29"),
            ("2026-W49", "due", "2026-12-06"),
            ("2026-W50", "current", "2026-12-09"),
        ],
        "mrr": [("2026-12", "current", "2026-12-09")],
    }


def test_past_periods_come_before_current_only_kpis(tmp_path: Path) -> None:
    workspace(tmp_path, entry("mrr", dt.date(2026, 11, 30), 90) + entry("wau", TODAY, 1))
    session = start_checkin(today=TODAY, config=Config(), files=[tmp_path])
    # csat (never reported: current quarter only) and mrr (current month only) keep
    # workspace order; nothing is past here, so workspace order decides.
    assert [k.result.kpi.id for k in session.kpis] == ["csat", "mrr"]
    workspace(tmp_path, entry("mrr", dt.date(2026, 9, 30), 90) + entry("wau", TODAY, 1))
    session = start_checkin(today=TODAY, config=Config(), files=[tmp_path])
    assert [k.result.kpi.id for k in session.kpis] == ["mrr", "csat"]
    assert [o.due for o in session.kpis[0].owed] == [Due.OVERDUE, Due.OVERDUE, Due.CURRENT]


def test_a_long_gap_asks_for_the_last_twelve_periods(tmp_path: Path) -> None:
    workspace(tmp_path, entry("wau", dt.date(2025, 1, 6), 5))
    owed = owed_labels(tmp_path, kpis=["wau"])["wau"]
    assert len(owed) == 13 and owed[-1][1] == "current"
    assert owed[0][0] == period_containing(Frequency.WEEKLY, TODAY - dt.timedelta(weeks=12)).label


def test_achieved_kpi_owes_nothing_after_due_and_future_start_owes_nothing(
    tmp_path: Path,
) -> None:
    kpis = KPIS.replace("    unit: users\n", "    unit: users\n    due: 2026-11-15\n").replace(
        "    frequency: quarterly\n", "    frequency: quarterly\n    start: 2027-03-01\n"
    )
    workspace(
        tmp_path,
        entry("wau", dt.date(2026, 11, 1), 2000) + entry("mrr", TODAY, 100),
        kpis=kpis,
    )
    # wau: achieved (2000 >= 1000 with a due date); the week holding due (W46) still counts
    assert owed_labels(tmp_path) == {
        "wau": [("2026-W45", "overdue", "2026-11-08"), ("2026-W46", "overdue", "2026-11-15")]
    }


def test_a_value_dated_later_fills_its_period(tmp_path: Path) -> None:
    workspace(tmp_path, entry("mrr", dt.date(2026, 10, 31), 1) + entry("mrr", TODAY, 2))
    assert "mrr" not in owed_labels(tmp_path)


def test_filters_have_their_did_you_mean(tmp_path: Path) -> None:
    workspace(tmp_path, "")
    with pytest.raises(UsageError, match="did you mean 'Sales'"):
        owed_labels(tmp_path, owners=["sals"])
    with pytest.raises(UsageError, match="did you mean 'mrr'"):
        owed_labels(tmp_path, kpis=["mrrr"])
    assert list(owed_labels(tmp_path, tags=[], owners=["support"])) == ["csat"]


def test_all_answers_or_none_across_files(tmp_path: Path) -> None:
    """Two target files: a refused write in the second writes nothing in the first."""
    from kpitrack.writing.checkin import answer

    workspace(tmp_path, entry("wau", dt.date(2026, 12, 1), 5))
    flow = tmp_path / "other.yaml"
    flow.write_text("measurements: [{kpi: mrr, date: 2026-11-30, value: 1}]\n")
    files = [tmp_path / "kpis.yaml", tmp_path / "measurements.yaml", flow]
    session = start_checkin(today=TODAY, config=Config(), files=files)
    by_id = {k.result.kpi.id: k for k in session.kpis}
    assert by_id["mrr"].target == flow
    answers = [
        answer(by_id["wau"], by_id["wau"].owed[-1], 7, TODAY, None, None),
        answer(by_id["mrr"], by_id["mrr"].owed[-1], 9, TODAY, None, None),
    ]
    before = (tmp_path / "measurements.yaml").read_bytes(), flow.read_bytes()
    with pytest.raises(WriteError, match="flow style"):
        write_answers(session, answers)
    assert ((tmp_path / "measurements.yaml").read_bytes(), flow.read_bytes()) == before


# ---------------------------------------------------------------- the terminal


class Terminal:
    """The installed kpitrack on a pseudo-terminal that is its controlling terminal
    (so Ctrl-C is the terminal's: the byte 0x03 becomes SIGINT)."""

    def __init__(self, cwd: Path, *args: str, columns: int = 100) -> None:
        self.leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        # NOFLSH: the terminal does not throw away what is queued when Ctrl-C arrives, so
        # the test sees every line kpitrack wrote after the interrupt (on a busy machine
        # the flush can otherwise race the message and lose it; tty semantics, not ours).
        attrs = termios.tcgetattr(follower)
        attrs[3] |= termios.NOFLSH
        termios.tcsetattr(follower, termios.TCSANOW, attrs)
        env = {**os.environ, "TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "", "LINES": ""}
        env = {k: v for k, v in env.items() if v}
        self.proc = subprocess.Popen(
            command(*args),
            cwd=cwd,
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        # The parent keeps its copy of the follower open until the end: when the last
        # copy closes as the child exits, Linux may hang up the terminal before it has
        # passed on what the child wrote last (its "nothing written", say).
        self.follower = follower
        self.seen = ""
        self._unread = ""

    def expect(self, pattern: str, timeout: float = 20) -> str:
        """Read until `pattern` (a regex) shows; returns the text up to its end."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self._unread)
            if found:
                text, self._unread = (
                    self._unread[: found.end()],
                    self._unread[found.end() :],
                )
                return text
            ready, _, _ = select.select([self.leader], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"no {pattern!r} in:\n{self.seen}")
            try:
                chunk = os.read(self.leader, 4096).decode("utf-8", "replace")
            except OSError:
                chunk = ""
            if not chunk:
                raise AssertionError(f"ended before {pattern!r}:\n{self.seen}")
            chunk = chunk.replace("\r\n", "\n")
            self.seen += chunk
            self._unread += chunk

    def send(self, line: str) -> None:
        os.write(self.leader, line.encode() + b"\r")

    def ctrl_c(self) -> None:
        os.write(self.leader, b"\x03")

    def finish(self, timeout: float = 30) -> int:
        """Wait for the exit, read everything it wrote; the exit code."""
        code = self.proc.wait(timeout)
        while True:  # the follower is still open: no hang-up, read until it is quiet
            ready, _, _ = select.select([self.leader], [], [], 0.5)
            if not ready:
                break
            chunk = os.read(self.leader, 4096).decode("utf-8", "replace").replace("\r\n", "\n")
            if not chunk:
                break
            self.seen += chunk
            self._unread += chunk
        os.close(self.follower)
        os.close(self.leader)
        return code


VALUE = r"Enter skips, \? history, q ends: "
DATE = r"date \[[^\]]+\]: "
NOTE = r"note \(Enter for none\): "


def live(tmp_path: Path) -> Path:
    """A workspace owing, as of the real today: wau two past weeks and this week; csat
    (qualitative, never reported) this quarter; mrr nothing (reported this month)."""
    today = dt.date.today()
    return workspace(
        tmp_path,
        entry("wau", today - dt.timedelta(weeks=3), 640) + entry("mrr", today, 90),
    )


@pytest.mark.process
def test_a_whole_sitting(tmp_path: Path) -> None:
    folder = live(tmp_path)
    today = dt.date.today()
    weeks = [period_containing(Frequency.WEEKLY, today - dt.timedelta(weeks=n)) for n in (2, 1, 0)]
    t = Terminal(folder, "checkin", "--by", "Ana")
    card = t.expect(VALUE)
    for shown in (
        "[1/2] Weekly active users (wau)",
        "measure",
        "640 users on",
        "≥ 1,000 users",
        "1,000 users today",
        f"{weeks[0].label} (overdue)",
        "(current)",
    ):
        assert shown in card
    t.send("lots")  # not a number: record's message, asked again
    assert "error: 'lots' is not a number (KPI 'wau' needs a number)" in t.expect(VALUE)
    t.send("120")
    assert f"date [{weeks[0].label}]" in t.expect(DATE)
    t.send("2026-13-01")  # not a date: asked again
    assert "error: '2026-13-01' is not a real date" in t.expect(DATE)
    t.send("")  # the period's default
    t.expect(NOTE)
    t.send("after the outage")
    t.expect(VALUE)
    t.send("")  # skip the second week
    assert "skipped" in t.expect(VALUE)
    t.send("?")  # history: the stored value and the one just entered
    history = t.expect(VALUE)
    assert "640" in history and "after the outage" in history
    t.send("130")
    t.expect(DATE)
    t.send("")
    t.expect(NOTE)
    t.send("")
    card = t.expect(VALUE)
    assert "Customer satisfaction (csat)" in card
    assert "poor < fair < good < great" in card and "a scale label" in card
    t.send("superb")  # not on the scale
    assert "error: 'superb' is not on the scale of KPI 'csat'" in t.expect(VALUE)
    t.send("great")
    t.expect(DATE)
    t.send("")
    t.expect(NOTE)
    t.send("")
    summary = t.expect(r"\[y/N\] ")
    assert "To be written to measurements.yaml" in summary
    assert summary.count("wau") == 2 and "great" in summary
    t.send("y")
    assert t.finish() == 0
    out = t.seen
    assert "wrote 3 value(s) to measurements.yaml" in out
    assert "wau: off-track" in out and "csat: on-track" in out
    text = (folder / "measurements.yaml").read_text()
    assert text.startswith(
        "# kept by hand\nmeasurements:\n" + entry("wau", today - dt.timedelta(weeks=3), 640)
    )
    assert (
        f"  - kpi: wau\n    date: {weeks[0].end.isoformat()}\n    value: 120\n"
        "    note: after the outage\n    by: Ana\n"
    ) in text
    assert f"  - kpi: wau\n    date: {today.isoformat()}\n    value: 130\n    by: Ana\n" in text
    assert f"  - kpi: csat\n    date: {today.isoformat()}\n    value: great\n    by: Ana\n" in text
    assert weeks[1].end.isoformat() not in text  # skipped


@pytest.mark.process
@pytest.mark.parametrize("when", ["at a value", "at a note", "at the confirmation"])
def test_ctrl_c_writes_nothing_and_says_so(tmp_path: Path, when: str) -> None:
    folder = live(tmp_path)
    before = (folder / "measurements.yaml").read_bytes()
    t = Terminal(folder, "checkin")
    t.expect(VALUE)
    if when != "at a value":
        t.send("5")
        t.expect(DATE)
        t.send("")
        t.expect(NOTE)
        if when == "at the confirmation":
            t.send("")
            t.expect(VALUE)
            t.send("q")  # end early: straight to the summary
            assert "ended early" in t.expect(r"\[y/N\] ")
    t.ctrl_c()
    assert t.finish() == 130
    assert "interrupted: nothing written" in t.seen
    assert "Traceback" not in t.seen
    assert (folder / "measurements.yaml").read_bytes() == before


@pytest.mark.process
def test_no_at_the_confirmation_writes_nothing(tmp_path: Path) -> None:
    folder = live(tmp_path)
    before = (folder / "measurements.yaml").read_bytes()
    t = Terminal(folder, "checkin", "--kpi", "csat")
    t.expect(VALUE)
    t.send("good")
    t.expect(DATE)
    t.send("")
    t.expect(NOTE)
    t.send("")
    t.expect(r"\[y/N\] ")
    t.send("n")
    assert t.finish() == 0
    assert "nothing written" in t.seen
    assert (folder / "measurements.yaml").read_bytes() == before


@pytest.mark.process
def test_a_60_column_terminal_keeps_every_line_inside(tmp_path: Path) -> None:
    folder = live(tmp_path)
    t = Terminal(folder, "checkin", "--owner", "product", columns=60)
    card = t.expect(VALUE)
    t.send("1234567")
    t.expect(DATE)
    t.send("")
    t.expect(NOTE)
    t.send("a rather long note that will not fit on one narrow line of the table")
    t.expect(VALUE)
    t.send("q")
    summary = t.expect(r"\[y/N\] ")
    t.send("y")
    assert t.finish() == 0
    # the lines kpitrack draws (not the echoed answers or the prompts, which the
    # terminal wraps) fit in 60 columns
    drawn = [
        line for line in (card + summary).splitlines() if not re.search(VALUE + "|" + NOTE, line)
    ]
    assert drawn and max(len(line) for line in drawn) <= 60, "\n".join(drawn)
    assert "1,234,567 users" in summary, summary


@pytest.mark.process
def test_not_a_terminal_refuses_at_once(tmp_path: Path) -> None:
    folder = live(tmp_path)
    before = (folder / "measurements.yaml").read_bytes()
    ran = run_process("checkin", cwd=folder, stdin="5\n\n\ny\n", timeout=30)
    assert ran.code == 2
    assert ran.stderr.strip().count("\n") == 0
    assert "kpitrack import" in ran.stderr and "kpitrack record" in ran.stderr
    assert (folder / "measurements.yaml").read_bytes() == before


@pytest.mark.process
def test_dry_run_shows_the_questions_without_a_terminal(tmp_path: Path) -> None:
    folder = live(tmp_path)
    before = (folder / "measurements.yaml").read_bytes()
    ran = run_process("checkin", "--dry-run", cwd=folder, timeout=30)
    assert ran.code == 0, ran.stderr
    assert "would ask: value for" in ran.stdout
    assert "dry run: 4 question(s) for 2 KPI(s); nothing written" in ran.stdout
    assert (folder / "measurements.yaml").read_bytes() == before
    ran = run_process("checkin", "--owner", "sals", "--dry-run", cwd=folder, timeout=30)
    assert ran.code == 2 and "did you mean 'Sales'" in ran.stderr


@pytest.mark.process
def test_ctrl_c_right_after_yes_is_all_or_nothing(tmp_path: Path) -> None:
    """An interrupt as the write starts: either nothing was written (exit 130, said so)
    or every value was (the interrupt after the rename waits for the result: exit 0)."""
    folder = live(tmp_path)
    before = (folder / "measurements.yaml").read_bytes()
    t = Terminal(folder, "checkin", "--kpi", "wau")
    for value in ("1", "2", "3"):
        t.expect(VALUE)
        t.send(value)
        t.expect(DATE)
        t.send("")
        t.expect(NOTE)
        t.send("")
    t.expect(r"\[y/N\] ")
    t.send("y")
    t.ctrl_c()
    code = t.finish()
    after = (folder / "measurements.yaml").read_bytes()
    if code == 130:
        assert after == before and "nothing written" in t.seen
    else:
        assert code == 0 and "wrote 3 value(s)" in t.seen
        assert after.count(b"- kpi: wau") == 4


@pytest.mark.process
def test_checkin_commit_commits_the_values(tmp_path: Path) -> None:
    folder = live(tmp_path)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=folder, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Lead")
    git("config", "user.email", "lead@example.org")
    git("add", ".")
    git("commit", "-qm", "start")
    t = Terminal(folder, "checkin", "--kpi", "csat", "--kpi", "wau", "--commit", "--by", "Ana")
    for value in ("1", "", "3", "good"):
        t.expect(VALUE)
        t.send(value)
        if value:
            t.expect(DATE)
            t.send("")
            t.expect(NOTE)
            t.send("")
    t.expect(r"\[y/N\] ")
    t.send("y")
    assert t.finish() == 0, t.seen
    week = period_containing(Frequency.WEEKLY, dt.date.today() - dt.timedelta(weeks=2)).label
    quarter = period_containing(Frequency.QUARTERLY, dt.date.today()).label
    this_week = period_containing(Frequency.WEEKLY, dt.date.today()).label
    assert git("log", "-1", "--format=%an|%B") == (
        f"Ana|kpitrack: checkin 3 values\n\nwau 1 ({week})\nwau 3 ({this_week})\n"
        f"csat good ({quarter})\n\n"
    )
    assert "committed " in t.seen


@pytest.mark.process
def test_q_at_once_writes_nothing_and_nothing_due_says_so(tmp_path: Path) -> None:
    folder = live(tmp_path)
    before = (folder / "measurements.yaml").read_bytes()
    t = Terminal(folder, "checkin")
    t.expect(VALUE)
    t.send("q")
    assert t.finish() == 0
    assert "ended early" in t.seen and "no values entered; nothing written" in t.seen
    assert (folder / "measurements.yaml").read_bytes() == before
    ran = run_process("checkin", "--kpi", "mrr", "--dry-run", cwd=folder, timeout=30)
    assert ran.code == 0 and ran.stdout.startswith("nothing is due")
