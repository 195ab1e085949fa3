"""The console-script entry point: Ctrl-C while Python is still importing the CLI (Typer
and Rich take a moment) exits 130 without a traceback, like Ctrl-C later on.

While the CLI's modules load, the cyclic garbage collector pauses: importing allocates
thousands of objects and frees almost none, so it would scan them again and again for
nothing (about 5% of `kpitrack check` on a small workspace). What was loaded is then
frozen (`gc.freeze`: modules, classes and functions live as long as the process), so
no later collection scans it either, and collection runs as usual for the command."""

from __future__ import annotations

import gc
import sys


def main() -> None:
    collecting = gc.isenabled()
    gc.disable()
    try:
        from kpitrack.cli import main as run
    except KeyboardInterrupt:
        from kpitrack.domain.problems import ExitCode

        sys.stderr.write("kpitrack: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    run(process=True)
