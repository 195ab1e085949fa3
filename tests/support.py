"""Shared ways of running kpitrack in tests: in-process through Typer's runner, or
as the installed entry point in a real process.

The entry point is found next to `sys.executable` (the venv's `bin/kpitrack`), so
`venv/bin/python -m pytest` works without the venv on `PATH`; when it is not
installed there, `python -m kpitrack` runs the same code.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from kpitrack.cli import app

SAMPLE_DATE = dt.date(2026, 11, 25)
"""The day the tests read the shipped `sample_kpis.yaml` on (a Wednesday)."""
AS_OF = ("--as-of", SAMPLE_DATE.isoformat())
"""The same day as command-line arguments."""


@dataclass(frozen=True)
class Ran:
    """What one kpitrack run gave: exit code and the two streams apart."""

    code: int
    stdout: str
    stderr: str
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    """An in-process run's exception other than the exit (`SystemExit`), if any."""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(*args: str, stdin: str | None = None, env: Mapping[str, str] | None = None) -> Ran:
    """Run kpitrack in this process (fast; the same code path as the entry point)."""
    result = CliRunner().invoke(app, list(args), input=stdin, env=dict(env or {}))
    raised = result.exception
    if isinstance(raised, SystemExit):
        raised = None
    return Ran(result.exit_code, result.stdout, result.stderr, raised)


def entry_point() -> list[str]:
    """The command that starts the installed kpitrack, found beside this Python."""
    folder = Path(sys.executable).parent
    for name in ("kpitrack", "kpitrack.exe"):
        exe = folder / name
        if exe.is_file() and os.access(exe, os.X_OK):
            return [str(exe)]
    return [sys.executable, "-m", "kpitrack"]


def run_process(
    *args: str,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
    extra_env: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> Ran:
    """Run the installed entry point as a real process (`encoding` decodes its output)."""
    base = dict(os.environ if env is None else env)
    base.update(extra_env or {})
    done = subprocess.run(
        [*entry_point(), *args],
        cwd=cwd,
        env=base,
        input=stdin,
        capture_output=True,
        text=True,
        encoding=encoding,
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def command(*args: str) -> Sequence[str]:
    """argv for the installed entry point with `args` (for Popen and pty tests)."""
    return [*entry_point(), *args]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
