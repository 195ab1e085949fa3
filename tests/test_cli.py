"""The CLI shell: version, help, the error boundary and its exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import invoke

from kpitrack import __version__, cli
from kpitrack.domain.problems import ExitCode

ROOT = Path(__file__).resolve().parents[1]


def test_exit_codes_are_the_documented_ones() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 130]
    readme = (ROOT / "README.md").read_text()
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"):
        assert code in readme


def test_version_and_help() -> None:
    result = invoke("--version")
    assert (result.code, result.stdout) == (0, f"kpitrack {__version__}\n")
    result = invoke("--help")
    assert result.code == 0
    for command in ("check", "status", "overdue", "actions", "show", "record", "import"):
        assert command in result.stdout
    assert "init" in result.stdout and "report" in result.stdout


def test_unknown_command_and_option_are_usage_errors() -> None:
    assert invoke("stauts").code == 2
    assert invoke("status", "--colour").code == 2


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("something broke")


def test_a_bug_is_reported_briefly_with_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "app", _boom)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert err == (
        "kpitrack: internal error: RuntimeError: something broke "
        "(set KPITRACK_DEBUG=1 for the traceback)\n"
    )


def test_debug_mode_re_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "app", _boom)
    monkeypatch.setenv("KPITRACK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="something broke"):
        cli.main()


def test_a_closed_pipe_is_not_an_error() -> None:
    # `kpitrack status | head -1`: the reader went away; exit quietly, no traceback.
    code = (
        "import kpitrack.cli as c\n"
        "def closed():\n"
        "    raise BrokenPipeError(32, 'Broken pipe')\n"
        "c.app = closed\n"
        "c.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
