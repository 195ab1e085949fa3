"""16 writer processes x 100 `kpitrack record`s, mixed with importers and readers, on one
file: every entry lands (1,600/1,600, none gives up on the lock) and no reader ever sees
a torn or invalid file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kpitrack.domain.model import Config
from kpitrack.reading.loading import load_texts

pytestmark = [pytest.mark.slow, pytest.mark.process]

# CI (CI=true) runs the full 16 x 100; a local run keeps the 16 concurrent writers with
# 40 records each, the same races in less time.
WRITERS, RECORDS = 16, (100 if os.environ.get("CI") == "true" else 40)
IMPORTERS, IMPORT_ROWS = 2, 20
READERS = 2

KPIS = """\
objectives:
  - id: grow
    title: Grow
kpis:
  - id: mrr
    name: MRR
    measure: Sum of active subscriptions at month end
    target: 100
    frequency: daily
    owner: Sales
    objective: grow
"""

# Each worker is one process running many commands in a loop, all through the real
# command line: `kpitrack.cli:main` in the worker's process (argument parsing, the
# command, the error boundary and its exit code), and every 50th `record` as a process
# of the installed `kpitrack` entry point. (1,600 separate `kpitrack record` processes
# take ~0.28 s each, mostly interpreter and import start-up: ~450 CPU-seconds, about
# four minutes on the 2 cores CI has; this way the test takes under a minute.)
WORKER = textwrap.dedent(
    """
    import contextlib
    import datetime as dt
    import io
    import os
    import subprocess
    import sys

    import typer.main

    from kpitrack.cli import main

    # Typer builds the click command tree from the function signatures on every
    # call (~50 ms); a worker calling main() 100 times builds it once, as one
    # long-lived process would. Parsing, commands and exit codes are unchanged.
    _build, _built = typer.main.get_command, {}
    typer.main.get_command = lambda app: _built.get(id(app)) or _built.setdefault(
        id(app), _build(app)
    )

    sys.path.insert(0, os.environ["TESTS"])
    from support import command  # the entry point found beside sys.executable
    kind, who, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    failures = 0

    def cli(args, *, process):
        if process:
            done = subprocess.run(command(*args), capture_output=True, text=True)
            return done.returncode, done.stderr
        sys.argv = ["kpitrack", *args]
        err = io.StringIO()
        code = 0
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                main()
        except SystemExit as exc:
            code = exc.code or 0
        return code, err.getvalue()

    for i in range(count):
        if kind == "record":
            # one entry per day: no same-period warnings piling up
            day = dt.date(2020, 1, 1) + dt.timedelta(days=int(who[1:]) * count + i)
            args = ["record", "mrr", str(i), "--date", day.isoformat(), "--by", who]
        else:
            args = ["import", f"{who}.csv"]
        code, err = cli(args, process=kind == "record" and i % 50 == 0)
        if code != 0:
            print(f"failed ({code}): {err[-2000:]}", file=sys.stderr)
            failures += 1
    print(f"failures={failures}", flush=True)
    """
)

READER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    sys.path.insert(0, os.environ["TESTS"])
    from test_concurrency import check_text

    path, stop = Path(sys.argv[1]), Path(sys.argv[2])
    reads = 0
    while not stop.exists():
        check_text(path.read_bytes().decode("utf-8"))
        reads += 1
        time.sleep(0.2)  # leave the CPU to the writers
    print(f"reads={reads}", flush=True)
    """
)


def check_text(text: str) -> int:
    """The file parses, loads without errors; returns its number of measurements."""
    workspace, problems = load_texts(
        [("kpis.yaml", KPIS), ("measurements.yaml", text)],
        config=Config(),
        as_of=__import__("datetime").date(2026, 1, 2),
    )
    errors = [p.format() for p in problems if p.is_error]
    assert errors == [], errors
    return len(workspace.measurements)


def test_sixteen_writers_importers_and_readers(tmp_path: Path) -> None:
    entry_point = Path(sys.executable).parent / "kpitrack"
    assert entry_point.exists(), f"the installed entry point is missing: {entry_point}"
    (tmp_path / "kpis.yaml").write_text(KPIS)
    (tmp_path / "measurements.yaml").write_text("measurements:\n")
    for n in range(IMPORTERS):
        rows = "".join(
            f"mrr,2025-12-{1 + i:02d},{i},imported by i{n}\n" for i in range(IMPORT_ROWS)
        )
        (tmp_path / f"i{n}.csv").write_text("kpi,date,value,note\n" + rows)
    env = {**os.environ, "TESTS": str(Path(__file__).parent), "NO_COLOR": "1"}
    stop = tmp_path / "stop"

    def spawn(script: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    readers = [
        spawn(READER, str(tmp_path / "measurements.yaml"), str(stop)) for _ in range(READERS)
    ]
    workers = [spawn(WORKER, "record", f"w{n}", str(RECORDS)) for n in range(WRITERS)]
    workers += [spawn(WORKER, "import", f"i{n}", "3") for n in range(IMPORTERS)]
    try:
        for proc in workers:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
            assert out.rstrip().endswith("failures=0"), err[-2000:]
    finally:
        stop.touch()
        for proc in readers:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-2000:]
            assert out.startswith("reads="), err[-2000:]
    text = (tmp_path / "measurements.yaml").read_text()
    # each importer runs its CSV three times: its rows are added once
    assert check_text(text) == WRITERS * RECORDS + IMPORTERS * IMPORT_ROWS
    for n in range(WRITERS):
        assert text.count(f"by: w{n}\n") == RECORDS
    assert [p for p in os.listdir(tmp_path) if p.startswith(".kpitrack-tmp-")] == []
