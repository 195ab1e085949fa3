"""Shell completion (issue #22 item 14): owners with spaces arrive as one argument in a
real bash; KPI arguments of history and review, --fail-on values and --as-of words
complete through the completion protocol."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import command, invoke

KPIS = """\
kpis:
  - id: weekly-active-users
    name: Weekly active users
    measure: Distinct users who logged in during the ISO week, from the auth log
    target: 1000
    frequency: weekly
    owner: Product team
  - id: mrr
    name: Monthly recurring revenue
    measure: Sum of active subscriptions at month end, from billing
    target: 200
    frequency: monthly
    owner: Finance
measurements:
  - {kpi: weekly-active-users, date: 2026-11-01, value: 400}
"""


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def complete(ws: Path, line: str) -> list[str]:
    """What kpitrack offers for the last word of `line`, through bash's protocol (the
    environment variables Typer's bash script sets), in this process."""
    words = line.split(" ")
    env = {
        "_KPITRACK_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    return invoke(env=env).stdout.splitlines()


def test_kpi_arguments_of_history_and_review(ws: Path) -> None:
    assert complete(ws, "kpitrack history we") == ["weekly-active-users"]
    assert complete(ws, "kpitrack review m") == ["mrr"]
    assert complete(ws, "kpitrack amend m") == ["mrr"]


def test_fail_on_values_and_lists(ws: Path) -> None:
    assert complete(ws, "kpitrack status --fail-on off") == ["off-track"]
    offered = complete(ws, "kpitrack status --fail-on off-track,at")
    assert offered == ["off-track,at-risk"]
    assert "needs-action" in complete(ws, "kpitrack report --fail-on ")


def test_as_of_words(ws: Path) -> None:
    assert complete(ws, "kpitrack status --as-of last") == ["last-week", "last-month"]
    assert complete(ws, "kpitrack show mrr --as-of y") == ["yesterday"]


@pytest.mark.typer_patches
def test_owner_with_a_space_is_quoted_for_bash(ws: Path) -> None:
    assert complete(ws, "kpitrack status --owner Pro") == ["'Product team'"]
    assert complete(ws, "kpitrack status --owner Fin") == ["Finance"]


class Pty:
    """An interactive bash on a pseudo-terminal."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile", "-i"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = ""

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def until(self, marker: str, timeout: float = 20) -> str:
        end = time.monotonic() + timeout
        while marker not in self.seen and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break
        assert marker in self.seen, self.seen
        before, _, self.seen = self.seen.partition(marker)
        return before

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self.master)


@pytest.mark.process
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_owner_completion_in_a_real_bash_is_one_argument(ws: Path) -> None:
    folder = str(Path(command()[0]).parent) if len(command()) == 1 else ""
    path = os.pathsep.join(
        p for p in (folder, str(Path(sys.executable).parent), "/usr/bin", "/bin") if p
    )
    env = {"PATH": path, "HOME": str(ws), "TERM": "dumb", "PS1": "$ ", "INPUTRC": "/dev/null"}
    env["NO_COLOR"] = "1"
    bash = Pty(ws, env)
    try:
        bash.send('eval "$(_KPITRACK_COMPLETE=source_bash kpitrack)"; echo RE""ADY\n')
        bash.until("READY\r\n")
        bash.send("kpitrack status --as-of 2026-11-10 --owner Pro\t")
        bash.until("'Product team' ")
        bash.send('\necho "EX""IT=$?"\n')  # the marker is not in the echoed command
        shown = bash.until("EXIT=")
        code = bash.until("\r\n")
    finally:
        bash.close()
    assert "extra argument" not in shown
    assert "weekly-active-users" in shown and "mrr" not in shown.replace("Product team", "")
    assert code.strip() == "0"


def test_since_and_record_date_words(ws: Path) -> None:
    assert complete(ws, "kpitrack report --since last-m") == ["last-month"]
    assert complete(ws, "kpitrack record mrr 5 --date yes") == ["yesterday"]
