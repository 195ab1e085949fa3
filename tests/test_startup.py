"""Start-up: `check` and `status` on a small workspace import only what they use
(docs/PERFORMANCE.md "What makes start-up fast").

Each run is a fresh Python process through the console script's entry function, which
writes the modules it imported when it exits; no test here measures time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import AS_OF

SAMPLE = Path(__file__).resolve().parent.parent / "sample_kpis.yaml"

# What only a data source needs (`collect`, or `check` of a KPI with a `source`).
SOURCE_MODULES = {
    "kpitrack.reading.sources.base",
    "kpitrack.reading.sources.sql",
    "kpitrack.reading.sources.csv",
    "kpitrack.reading.sources.command",
    "kpitrack.reading.localconfig",
    "sqlite3",
    "csv",
    "tomllib",
}


def imported(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, set[str], str]:
    """Run `kpitrack ARGS` in a new process: its exit code, every module it imported,
    and its output (stdout, then stderr)."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('\\nMODULES=' + ' '.join(sorted(sys.modules))))\n"
        f"sys.argv = ['kpitrack', *{list(args)!r}]\n"
        "from kpitrack._entry import main\n"
        "main()\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "KPITRACK_NO_TYPER_PATCHES"}
    environ |= {"KPITRACK_NO_CACHE": "1", "NO_COLOR": "1", "COLUMNS": "100"}
    if env and "FORCE_COLOR" in env:
        del environ["NO_COLOR"]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=environ | (env or {}),
    )
    stderr, _, modules = done.stderr.rpartition("\nMODULES=")
    return done.returncode, set(modules.split()), done.stdout + stderr


@pytest.mark.process
@pytest.mark.parametrize(
    ("args", "also_absent"),
    [
        # decimal: the sources' number parsing (Rich's table imports it too)
        (("check", "-f", str(SAMPLE), *AS_OF), {"json", "rich", "decimal"}),
        (("check", "-f", str(SAMPLE), *AS_OF, "--format", "json"), {"rich", "decimal"}),
        # the status table off a terminal: plain text made without Rich (render/plaintext)
        (("status", "-f", str(SAMPLE), *AS_OF), {"rich", "decimal"}),
        (("status", "-f", str(SAMPLE), *AS_OF, "--format", "json"), {"rich", "decimal"}),
        (("overdue", "-f", str(SAMPLE), *AS_OF), {"rich", "decimal"}),
        (("actions", "-f", str(SAMPLE), *AS_OF), {"rich", "decimal"}),
    ],
    ids=["check", "check-json", "status", "status-json", "overdue", "actions"],
)
def test_the_sample_loads_no_source_kind(args: tuple[str, ...], also_absent: set[str]) -> None:
    code, modules, output = imported(*args)
    assert code in (0, 1), output
    assert "kpitrack.reading.loading" in modules  # the run really read the workspace
    assert modules & (SOURCE_MODULES | also_absent) == set()


@pytest.mark.process
@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--color", "always"), {}),
        ((), {"FORCE_COLOR": "1"}),
        ((), {"COLUMNS": "10"}),  # narrower than the table: Rich narrows its columns
    ],
    ids=["color-always", "force-color", "too-narrow"],
)
def test_a_coloured_or_unusual_status_is_drawn_by_rich(
    args: tuple[str, ...], env: dict[str, str]
) -> None:
    code, modules, output = imported(*args, "status", "-f", str(SAMPLE), *AS_OF, env=env)
    assert code in (0, 1), output
    assert "rich.table" in modules


@pytest.mark.process
def test_status_on_a_terminal_is_drawn_by_rich() -> None:
    pty = pytest.importorskip("pty")
    code = (
        "import atexit, os, sys\n"
        "atexit.register(lambda: os.write(2, ('MODULES=' + ' '.join(sys.modules)).encode()))\n"
        f"sys.argv = ['kpitrack', 'status', '-f', {str(SAMPLE)!r}, *{list(AS_OF)!r}]\n"
        "from kpitrack._entry import main\n"
        "main()\n"
    )
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**environ, "KPITRACK_NO_CACHE": "1", "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        shown += data
    _, stderr = proc.communicate(timeout=60)
    os.close(leader)
    assert b"first-response" in shown
    assert b"\x1b[" in shown  # colour: Rich drew it
    assert "rich.table" in stderr.decode().rpartition("MODULES=")[2].split()


KPI = "kpis:\n  - id: deploys\n    name: Deploys\n    measure: count\n    target: 10\n"


@pytest.mark.process
def test_a_kpi_with_a_source_loads_the_kinds_and_is_checked(tmp_path: Path) -> None:
    (tmp_path / "kpis.yaml").write_text(
        KPI + "    frequency: monthly\n"
        "    source:\n      csv: missing.csv\n      date_column: day\n      value_column: n\n",
        encoding="utf-8",
    )
    code, modules, output = imported("check", "-f", "kpis.yaml", *AS_OF, cwd=tmp_path)
    assert code == 0, output
    # The source's own check (it needs the disk) ran: the kinds were loaded for it.
    assert "kpis.yaml:8:12: warning KT120 KPI 'deploys': source: CSV file missing.csv" in output
    assert {"kpitrack.reading.sources.csv", "kpitrack.reading.localconfig"} <= modules


@pytest.mark.process
def test_a_password_in_a_kpi_without_a_source_is_found_without_the_kinds(
    tmp_path: Path,
) -> None:
    (tmp_path / "kpis.yaml").write_text(
        KPI + "    frequency: monthly\n    description: see postgres://ana:s3cret@db/kpis\n",
        encoding="utf-8",
    )
    code, modules, output = imported("check", "-f", "kpis.yaml", *AS_OF, cwd=tmp_path)
    assert code == 1, output
    assert "kpis.yaml:7:18: error KT052 KPI 'deploys': a URL with a password" in output
    assert modules & SOURCE_MODULES == set()


def test_the_kinds_keep_their_order_whichever_is_imported_first() -> None:
    code = (
        "import kpitrack.reading.sources.command, kpitrack.reading.sources.csv\n"
        "from kpitrack.reading.sources import KINDS\n"
        "print(' '.join(KINDS))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["sql", "csv", "command"]


@pytest.mark.process
@pytest.mark.parametrize("how", ["entry point", "python -m"])
def test_the_collector_pauses_while_the_cli_loads_and_runs_for_the_command(how: str) -> None:
    """Start-up objects are frozen (no collection scans them again); the command itself
    runs with the collector on, as it was."""
    start = (
        "from kpitrack._entry import main\nmain()\n"
        if how == "entry point"
        else "import runpy\nrunpy.run_module('kpitrack', run_name='__main__')\n"
    )
    code = (
        "import atexit, gc, sys\n"
        "seen = []\n"
        "gc.callbacks.append(lambda phase, info: seen.append(phase))\n"
        "atexit.register(lambda: sys.stderr.write("
        "'\\nGC=%s %s %s' % (gc.isenabled(), gc.get_freeze_count(), len(seen))))\n"
        f"sys.argv = ['kpitrack', 'status', '-f', {str(SAMPLE)!r}, *{list(AS_OF)!r}]\n" + start
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    enabled, frozen, phases = done.stderr.rpartition("\nGC=")[2].split()
    assert enabled == "True"
    assert int(frozen) > 10_000  # typer, the CLI and the model: frozen once loaded
    assert int(phases) > 0  # and the collector still ran during the command


def test_a_kpi_file_is_declined_before_the_scanner_compiles_its_patterns() -> None:
    """The sample (over the scanner's size floor) holds KPIs first: both scans need
    `measurements:` as the first line that is not blank nor a comment, so neither
    pattern is compiled for it."""
    code = (
        "from pathlib import Path\n"
        "from kpitrack.reading import yamlnodes\n"
        f"text = Path({str(SAMPLE)!r}).read_text(encoding='utf-8')\n"
        "assert len(text) > 2048\n"
        "assert yamlnodes.scan_rows(text, 'sample_kpis.yaml') is None\n"
        "compiled = yamlnodes._line, yamlnodes._block_head\n"
        "print(*(pattern.cache_info().currsize for pattern in compiled))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "0"]


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("measurements:\n  - {kpi: a, date: 2026-01-01, value: 1}\n", True),
        ("# header\n\n   # indented comment\r\nmeasurements: # trailing\n", True),
        ("kpis:\n  - id: a\nmeasurements:\n", False),
        ("\n\n", False),
        ("", False),
        ("measurement:\n", False),
        ("- {kpi: a}\nmeasurements:\n", False),
    ],
)
def test_the_measurements_key_precheck(text: str, starts: bool) -> None:
    from kpitrack.reading import yamlnodes

    assert yamlnodes.starts_with_measurements_key(text) is starts
    if not starts:
        assert yamlnodes.scan_rows(text, "m.yaml") is None


@pytest.mark.process
def test_status_on_the_sample_leaves_the_cache_folder_alone(tmp_path: Path) -> None:
    """No file of the sample can be cached (it is not a file of measurements alone), so
    the cache is not opened: no secret made, nothing hashed."""
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if k != "KPITRACK_NO_CACHE"}
    done = subprocess.run(
        [sys.executable, "-m", "kpitrack", "status", "-f", str(SAMPLE), *AS_OF],
        capture_output=True,
        text=True,
        env={**env, "XDG_CACHE_HOME": str(cache)},
    )
    assert done.returncode in (0, 1), done.stderr
    assert "first-response" in done.stdout  # it did read the sample
    assert not cache.exists()
