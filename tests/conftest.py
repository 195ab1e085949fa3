"""Shared test setup: tests never depend on the real date or the user's environment."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import free_port

# ---------------------------------------------------------------- both cores (pytest-xdist)

# `python3 -m pytest` runs the tests in WORKERS pytest-xdist worker processes (when the
# machine has at least two cores), unless the command line says otherwise: `-n 4` or
# `-n auto` (more workers), `-n 0` or `-p no:xdist` (one process, for debugging),
# `--pdb`. The default is set here rather than in pyproject's addopts because `-n`
# there would make `-p no:xdist` a usage error. Tests go to whichever worker is free
# (`--dist load`). (`xdist_group` cannot keep tests together: with pytest 9.2 its
# `loadgroup` mode silently stops grouping, pytest-xdist issue #1386.)
WORKERS = 2


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the options
def pytest_cmdline_main(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("xdist") or _worker(config):
        return
    option = config.option
    chosen = option.numprocesses is not None or option.tx or option.dist != "no"
    if chosen or option.usepdb or option.collectonly:
        return
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if usable >= 2:
        option.numprocesses = WORKERS


def _worker(config: pytest.Config) -> bool:
    """This process is a pytest-xdist worker."""
    return hasattr(config, "workerinput")


# ---------------------------------------------------------------- background processes

# The heaviest tests run one long child process each (a second pytest with Typer's
# patches off, pre-commit building its hook environment, the benchmark runner). In
# one process (`-p no:xdist`, `-n 0`) each is started as soon as collection shows the
# test is selected, so on a two-core machine it runs beside the rest of the suite; the
# test then waits for it and checks it. Under pytest-xdist every worker collects every
# test but runs only some, so there the process is started by its test (`background`),
# in the worker that runs it, and these tests go first: the worker that takes them
# waits on their processes while the other worker runs the rest, so both cores stay
# busy either way.
# name of the test -> (its module, the function that starts its process)
BACKGROUND = {
    "test_the_cli_tests_pass_with_the_typer_patches_off": (
        "test_without_typer_patches",
        "start_patches_off_run",
    ),
    "test_hook_passes_a_good_file_and_fails_a_bad_one": ("test_precommit_hook", "start_good_run"),
    "test_runner_runs_every_comparison_at_a_tiny_size": ("test_benchmarks", "start_runner"),
}
_started: dict[str, Any] = {}


def _start(name: str) -> Any:
    if name not in _started:
        import importlib

        module, function = BACKGROUND[name]
        _started[name] = getattr(importlib.import_module(module), function)()
    return _started[name]


def pytest_collection_finish(session: pytest.Session) -> None:
    patches_off = os.environ.get("KPITRACK_NO_TYPER_PATCHES", "") not in ("", "0")
    if patches_off or _worker(session.config):
        return
    for item in session.items:
        if item.name in BACKGROUND:
            _start(item.name)


@pytest.fixture
def background(request: pytest.FixtureRequest) -> Any:
    """The test's own background process (see BACKGROUND), started now if need be."""
    return _start(request.node.name)


def pytest_unconfigure(config: pytest.Config) -> None:
    for job in _started.values():  # a run cut short (-x, Ctrl-C) leaves no process behind
        if hasattr(job, "close"):
            job.close()
            continue
        proc = job[0] if isinstance(job, tuple) else job
        if isinstance(proc, subprocess.Popen) and proc.poll() is None:
            proc.kill()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the real PostgreSQL server is marked `postgres` (so `-m "not
    postgres"` leaves them out). Under pytest-xdist, the BACKGROUND tests go first. With
    Typer's patches switched off (KPITRACK_NO_TYPER_PATCHES, see kpitrack/_typer.py), the
    tests of the patches themselves skip; every other test must pass as it is."""
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
    if _worker(config):  # the BACKGROUND tests first (every worker orders alike)
        items.sort(key=lambda item: item.name not in BACKGROUND)
    if os.environ.get("KPITRACK_NO_TYPER_PATCHES", "") in ("", "0"):
        return
    skip = pytest.mark.skip(reason="tests a Typer patch, and KPITRACK_NO_TYPER_PATCHES is set")
    for item in items:
        if "typer_patches" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("cache-home"))


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory, _cache_home: str
) -> None:
    # No colour codes in captured output, and no debug re-raising unless a test asks.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("KPITRACK_DEBUG", raising=False)
    # The row cache (docs/PERFORMANCE.md) in a folder of the test run, never the user's.
    monkeypatch.setenv("XDG_CACHE_HOME", _cache_home)
    monkeypatch.delenv("KPITRACK_NO_CACHE", raising=False)
    # Never the user's local kpitrack config (~/.config/kpitrack/config.toml).
    monkeypatch.delenv("KPITRACK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-user-config"))


# Hypothesis profiles: `ci` (selected when CI=true) runs the heavy property tests
# with more examples; the default profile keeps a local run quick. Tests read
# `HEAVY` to size themselves (see tests/test_write_state_machine.py).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


# ---------------------------------------------------------------- a real PostgreSQL server
# Shared by the collect tests (tests/test_collect.py, tests/test_sources_security.py).
# Started once per session as an unprivileged user when run as root (initdb refuses root).
# Under pytest-xdist each worker that runs one of those tests starts its own server: its
# data and socket folder are its own (mkdtemp), and a port another worker's server took
# meanwhile (free_port only finds a port free) makes it try the next free port.


def _working(program: str) -> bool:
    try:
        done = subprocess.run([program, "--version"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"PostgreSQL" in done.stdout


def _pg_bin() -> Path | None:
    """A folder with working initdb and pg_ctl: Debian's, then PATH's."""
    candidates = [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for name in ("initdb",):
        found = shutil.which(name)
        if found:
            candidates.append(Path(found).parent)
    for folder in candidates:
        if _working(str(folder / "initdb")) and _working(str(folder / "pg_ctl")):
            return folder
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    pytest.importorskip("sqlalchemy", reason="the sql extra (sqlalchemy) is not installed")
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    folder = _pg_bin()
    if folder is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); install postgresql")
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="kpitrack-pg-"))
    if os.geteuid() == 0:  # initdb refuses root: run the server as an unprivileged user
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if runuser is None:
            pytest.skip("running as root without runuser to start PostgreSQL unprivileged")
        try:
            shutil.chown(base, "postgres")
        except LookupError:
            shutil.rmtree(base, ignore_errors=True)
            pytest.skip("running as root, and no 'postgres' user to run PostgreSQL as")
        prefix = [runuser, "-u", "postgres", "--"]
    data, log = base / "data", base / "log"
    try:
        subprocess.run(
            [*prefix, str(folder / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        for attempt in range(3):
            port, logged = free_port(), log.stat().st_size if log.exists() else 0
            options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
            start = [*prefix, str(folder / "pg_ctl"), "-D", str(data), "-o", options]
            done = subprocess.run(
                [*start, "-l", str(log), "-w", "start"], capture_output=True, timeout=120
            )
            if done.returncode == 0:
                break
            said = log.read_bytes()[logged:] if log.exists() else b""
            taken = b"already in use" in said  # by another worker's server
            if not taken or attempt == 2:
                raise subprocess.CalledProcessError(done.returncode, start, done.stdout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {exc}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres", autocommit=True) as c:
            c.execute("CREATE TABLE users (id int, created_at date)")
            c.execute(
                "INSERT INTO users SELECT i, date '2026-11-16' + (i % 7) "
                "FROM generate_series(1, 12) i"
            )
            # A function that writes: it passes the statement check, so only the
            # read-only session stands between it and the data.
            c.execute(
                "CREATE FUNCTION wipe() RETURNS int LANGUAGE sql AS 'DELETE FROM users RETURNING 1'"
            )
        yield url
    finally:
        subprocess.run(
            [*prefix, str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)
