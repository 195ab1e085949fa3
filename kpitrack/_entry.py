"""The console-script entry point: Ctrl-C while Python is still importing the CLI (Typer
and Rich take a moment) exits 130 without a traceback, like Ctrl-C later on."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from kpitrack.cli import main as run
    except KeyboardInterrupt:
        from kpitrack.domain.problems import ExitCode

        sys.stderr.write("kpitrack: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    run(process=True)
