"""Paired, alternating benchmarks of every kpitrack command against `status` and the
baselines, in one run, ending in one Markdown table (docs/PERFORMANCE.md, issue #23).

    python benchmarks/run.py --runs 3 --big           # everything, the issue's sizes (hours)
    python benchmarks/run.py --quick                  # every part at a tiny size (the tests)
    python benchmarks/run.py --only commands git --sizes 100000 --git 2000:100000 --runs 3
    python benchmarks/run.py --data /tmp/data --table /tmp/table.md --timeout 600 --runs 3

The parts (`--only` picks some; default all):

- `read`: status against `yaml.load(CSafeLoader)`, libyaml's event iteration and, when
  installed, `hledger bal --budget -M` on the same data; `record`: record vs status;
  `startup`: --help, --version, check of one KPI and status of the sample vs
  `python -c pass`; `growth`: status's time per measurement at `--growth`'s two sizes;
  `hostile`: check of a million unknown keys vs event iteration.
- `commands`: at each of `--sizes` (and 1,000,000 with `--big`), every command against
  `status --format json` on the same workspace: show, overdue, actions, check, tree,
  report, export, schema, init (into an empty folder), site (into an empty folder),
  checkin --dry-run (a real checkin asks on a terminal and refuses to run off one: its
  row says so, untimed), notify (to a real HTTP server on 127.0.0.1, started here in a
  process of its own, named in the kpitrack.local.toml of the folder notify runs in),
  and on a copy restored before each run (`Snapshot`): record, import (a row per
  KPI), rename, amend, review.
- `site`: benchmarks/site.py's pairs (site, first build and rebuild / report --format
  html; bound 3x) at `--size`.
- `collect`: benchmarks/collect.py's workspace of `--collect` SQLite-sourced KPIs and
  measurements; collect --dry-run and collect (on the restored copy) / status.
- `git`: benchmarks/git.py's repository for each `--git COMMITS:MEASUREMENTS` (200 at
  10k and 2,000 at 100k by default): history and diff HEAD~50 / status in it, report in
  it / report on a copy outside any repository.
- `shapes`: status on each hand-written shape / on record-style lines; `asof`: an as-of
  date before 90% of the data / one after all of it; `warm`: a second (cached) status /
  a cold one, and / DuckDB's latest value per KPI from the same data as CSV.

Each pair runs both commands in turn, alternating which goes first, `--runs` times.
Every kpitrack run reads its files afresh (KPITRACK_NO_CACHE=1) except the warm-start
pair, and runs outside any git repository except in the git part. Each run gives wall time, CPU
time (user + system of the process and the children it waited for, e.g. git; steadier
than wall time on a shared machine) and peak RSS (`os.wait4`). A process that runs past
`--timeout` seconds is killed with its process group; its pair stops and the row says
so (with the runs before it, or untimed).

The table: one row per comparison: the kpitrack command A runs (so a test can check
that every command of `kpitrack --help` has a row), the comparison, the goal from issue
#23 (goal 1: every command within 2x status's time and peak memory at 100k and 1M;
history 5x, diff 2x, report in a repository 1.2x, collect 3x, shapes 1.3x, as-of 1.2x,
warm start vs DuckDB 1x, start-up 5x; read and record from the earlier goals), the
median and min-max of the wall and the CPU ratios, the median times and peak RSS of A
and B, and a verdict on the CPU ratio's median (and the RSS ratio where goal 1 bounds
it). `--table FILE` rewrites the table to FILE after each pair, so a long run leaves its
rows behind even when stopped.

Workspaces are generated under `--data` (benchmarks/data/, git-ignored) when missing, in
child processes, so that the runner stays small: its peak RSS passes on to every
process it starts (ru_maxrss survives fork and exec). A folder counts as generated
when its `done` file exists (workspaces made elsewhere can be linked in that way).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import AS_OF, SHAPES, kpi_ids  # noqa: E402

# site.py, collect.py and git.py import this module as `run`: the same one, so one table.
sys.modules.setdefault("run", sys.modules[__name__])

PY = sys.executable
KPITRACK = [PY, "-m", "kpitrack"]

# The baselines, run as separate processes like kpitrack itself.
_FILES = (
    "import sys, pathlib\nfiles = sorted(p for p in pathlib.Path(sys.argv[1]).rglob('*.yaml'))\n"
)
LOAD = _FILES + (
    "import yaml\n"
    "for p in files:\n"
    "    yaml.load(p.read_text(encoding='utf-8'), Loader=yaml.CSafeLoader)\n"
)
EVENTS = _FILES + (
    "import yaml\n"
    "for p in files:\n"
    "    for _ in yaml.parse(p.read_text(encoding='utf-8'), Loader=yaml.CSafeLoader):\n"
    "        pass\n"
)


# Runs happen outside any git repository (report and history look for one) and, unless a
# pair says otherwise, without the row cache.
RUN_DIR = Path(tempfile.mkdtemp(prefix="kpitrack-bench-"))
COLD_ENV = {**os.environ, "KPITRACK_NO_CACHE": "1"}
TABLE: list[Row] = []  # the rows of the table printed at the end
TABLE_FILE: Path | None = None  # --table
TIMEOUT = 900.0  # seconds one process may take (--timeout); then it is killed, the row says so


class TimedOut(Exception):
    """A process ran past TIMEOUT and was killed."""


@dataclass
class Row:
    """One comparison of the final table."""

    command: str  # the kpitrack command A runs ("(start-up)" for --help/--version)
    title: str
    goal: float | None = None  # the bound on the ratio A / B
    memory_goal: float | None = None  # the bound on peak RSS A / B (goal 1: 2x status)
    ratios: list[float] = field(default_factory=list)  # wall time A / B, one per run
    cpu_ratios: list[float] = field(default_factory=list)  # CPU time (user + system) A / B
    times: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    rss: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    note: str = ""  # why it was not timed, or that a run timed out

    def verdict(self) -> str:
        if not self.cpu_ratios:
            return "not timed"
        over = []
        if self.goal is not None and statistics.median(self.cpu_ratios) > self.goal:
            over.append("time")
        if self.memory_goal is not None:
            mem = statistics.median(self.rss[0]) / statistics.median(self.rss[1])
            if mem > self.memory_goal:
                over.append(f"memory {mem:.1f}x")
        if self.note:
            over.append(self.note)
        return ("**over**: " + ", ".join(over)) if over else "ok"

    def markdown(self) -> str:
        goal = "—" if self.goal is None else f"≤ {self.goal:g}"
        if self.memory_goal is not None:
            goal += f" (RSS ≤ {self.memory_goal:g})"
        if not self.ratios:
            dashes = "| — " * 4
            return f"| {self.command} | {self.title} | {goal} {dashes}| not timed: {self.note} |"
        r, c = self.ratios, self.cpu_ratios
        return (
            f"| {self.command} | {self.title} | {goal} "
            f"| **{statistics.median(r):.2f}** ({min(r):.2f}–{max(r):.2f}) "
            f"| **{statistics.median(c):.2f}** ({min(c):.2f}–{max(c):.2f}) "
            f"| {statistics.median(self.times[0]):.2f} s "
            f"/ {statistics.median(self.times[1]):.2f} s "
            f"| {statistics.median(self.rss[0]):.0f} / {statistics.median(self.rss[1]):.0f} MiB "
            f"| {self.verdict()} |"
        )


HEADER = (
    "| command | comparison (A / B) | goal | ratio, wall (median, min–max) "
    "| ratio, CPU (median, min–max) | time A / B | peak RSS A / B | verdict (CPU) |\n"
    "|---|---|---|---|---|---|---|---|"
)


def command_of(cmd: Sequence[str]) -> str:
    """The kpitrack command a command line runs, or "-" when it is no kpitrack."""
    if list(cmd[: len(KPITRACK)]) != KPITRACK:
        return "-"
    rest = [a for a in cmd[len(KPITRACK) :] if not a.startswith("-")]
    return rest[0] if rest else "(start-up)"


def run_once(
    cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system of the child and the children it waited
    for, e.g. git) and peak RSS (MiB) of one run of `cmd`; its output is discarded.
    Raises TimedOut (after killing its process group) past TIMEOUT seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd or RUN_DIR,
        env=env or COLD_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so a timeout ends git too
    )
    killed: list[bool] = []

    def kill() -> None:
        killed.append(True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(TIMEOUT, kill)
    timer.start()
    try:
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if killed:
        raise TimedOut(f"killed after {TIMEOUT:g} s: {' '.join(cmd)}")
    if proc.returncode not in (0, 1):  # 1: KPIs with problems is a normal status
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0  # KiB on Linux


def summary(values: Sequence[float]) -> str:
    return f"{min(values):.3g} / {statistics.median(values):.3g} / {max(values):.3g}"


def pair(
    title: str,
    a: tuple[str, Sequence[str]],
    b: tuple[str, Sequence[str]],
    runs: int,
    *,
    per: tuple[float, float] = (1.0, 1.0),
    before_a: object = None,
    cwd: Path | None = None,
    cwd_b: Path | None = None,
    env_a: dict[str, str] | None = None,
    env_b: dict[str, str] | None = None,
    goal: float | None = None,
    memory_goal: float | None = None,
    command: str | None = None,
) -> list[float]:
    """Alternate a and b `runs` times; print and return the ratios a/b (time per `per`).
    A run past TIMEOUT ends the pair: the row keeps the runs before it, or (none) the
    timeout itself as a lower bound of A's time."""
    row = Row(command or command_of(a[1]), title, goal, memory_goal)
    TABLE.append(row)
    times: dict[str, list[float]] = {a[0]: [], b[0]: []}
    cpu: dict[str, list[float]] = {a[0]: [], b[0]: []}
    rss: dict[str, list[float]] = {a[0]: [], b[0]: []}
    envs = {a[0]: env_a, b[0]: env_b}
    cwds = {a[0]: cwd, b[0]: cwd_b or cwd}
    print(f"\n## {title}", flush=True)
    for i in range(runs):
        order = (a, b) if i % 2 == 0 else (b, a)
        got: dict[str, tuple[float, float, float]] = {}
        try:
            for name, cmd in order:
                if name == a[0] and callable(before_a):
                    before_a()
                got[name] = run_once(cmd, cwd=cwds[name], env=envs[name])
        except TimedOut as exc:
            print(f"  {exc}", flush=True)
            row.note = f"a run took over {TIMEOUT:g} s (killed)"
            break
        for name, (seconds, cpu_s, mib) in got.items():
            times[name].append(seconds)
            cpu[name].append(cpu_s)
            rss[name].append(mib)
        row.ratios.append((got[a[0]][0] / per[0]) / (got[b[0]][0] / per[1]))
        row.cpu_ratios.append((got[a[0]][1] / per[0]) / (max(got[b[0]][1], 1e-3) / per[1]))
    row.times = (times[a[0]], times[b[0]])
    row.rss = (rss[a[0]], rss[b[0]])
    write_table()
    if not row.ratios:
        print("  not timed: " + row.note, flush=True)
        return []
    for name in (a[0], b[0]):
        print(
            f"  {name:<44} s {summary(times[name]):<24} CPU s {summary(cpu[name]):<24} "
            f"peak MiB {summary(rss[name])}",
            flush=True,
        )
    print(f"  ratio {a[0]} / {b[0]}: min/median/max {summary(row.ratios)}", flush=True)
    print(f"  CPU ratio: min/median/max {summary(row.cpu_ratios)}", flush=True)
    return row.ratios


class SetAside:
    """A `before_a` for a command that writes a folder from empty (`site`): the previous
    run's folder is renamed aside, not deleted, and every folder set aside goes when the
    pair is over (`clear`). Deleting the previous build just before a run
    charges that run for the kernel's reclaim of a thousand just-freed inodes: on ext4,
    `ext4_create` skips inodes freed in the last seconds (`recently_deleted`, about a
    sixth of `site`'s samples under `perf record` at 100k), a cost of the benchmark's
    cleanup, not of the command. docs/PERFORMANCE.md has both protocols' figures."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.aside = folder.with_name(folder.name + ".aside")
        self.count = 0

    def __call__(self) -> None:
        if self.folder.exists():
            self.aside.mkdir(exist_ok=True)
            self.count += 1
            self.folder.rename(self.aside / str(self.count))

    def clear(self) -> None:
        """Delete the folders set aside (the last build stays where it is)."""
        shutil.rmtree(self.aside, ignore_errors=True)


def write_table() -> None:
    """The table so far into --table's file (a long run's rows survive its end)."""
    if TABLE_FILE is not None:
        rows = "\n".join(row.markdown() for row in TABLE)
        TABLE_FILE.write_text(f"{HEADER}\n{rows}\n", encoding="utf-8")


def not_timed(command: str, title: str, why: str) -> None:
    """A row for a command that cannot be timed here, saying why."""
    TABLE.append(Row(command, title, note=why))
    write_table()
    print(f"\n## {title}\n  not timed: {why}", flush=True)


def workspace(data: Path, measurements: int, kpis: int, shape: str = "record") -> Path:
    out = data / (f"{kpis}k-{measurements}" + ("" if shape == "record" else f"-{shape}"))
    ws = out / "workspace"
    if not (out / "done").exists():
        if out.exists():
            shutil.rmtree(out)
        # In a child process: a runner grown by a big generation would pass its peak
        # RSS on to every command it starts (ru_maxrss survives fork and exec).
        subprocess.run(
            [PY, str(HERE / "generate.py"), "--kpis", str(kpis),
             "--measurements", str(measurements), "--out", str(out), "--shape", shape],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        (out / "done").write_text("ok\n")
    return ws


def status_cmd(ws: Path) -> list[str]:
    return [*KPITRACK, "status", "-f", str(ws), "--as-of", AS_OF.isoformat(), "--format", "json"]


PARTS = (
    "read", "record", "startup", "growth", "hostile", "commands", "shapes", "asof", "warm",
    "site", "collect", "git",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    global TIMEOUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="measurements (read/record)")
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--growth", type=int, nargs=2, default=(10_000, 1_000_000))
    parser.add_argument(
        "--hostile", type=int, default=1_000_000, help="unknown keys in one mapping (check)"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument(
        "--only", nargs="*", default=None, help=f"{', '.join(PARTS)} (default: all)"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[10_000, 100_000], help="commands' sizes"
    )
    parser.add_argument("--big", action="store_true", help="commands and warm at 1,000,000 too")
    parser.add_argument(
        "--git",
        nargs="*",
        default=["200:10000", "2000:100000"],
        help="COMMITS:MEASUREMENTS of the git histories (git part)",
    )
    parser.add_argument(
        "--collect",
        type=int,
        nargs=2,
        default=(1000, 100_000),
        metavar=("KPIS", "MEASUREMENTS"),
        help="the SQLite-sourced workspace of the collect part",
    )
    parser.add_argument(
        "--timeout", type=float, default=TIMEOUT, help="seconds one process may take"
    )
    parser.add_argument(
        "--table", type=Path, default=None, help="rewrite the table to this file after each pair"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="every part at a tiny size, one run each (the test suite's smoke run)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.kpis, args.growth, args.hostile = 60, 6, (30, 60), 50
        args.runs, args.sizes, args.big = 1, [60], False
        args.git, args.collect = ["4:60"], (6, 60)
    TIMEOUT = args.timeout
    global TABLE_FILE
    TABLE_FILE = args.table
    parts = set(args.only or PARTS)
    runs = args.runs
    started = time.perf_counter()
    print(
        f"# kpitrack benchmarks: {runs} alternating runs per pair; python {sys.version.split()[0]}"
    )
    print(f"# {os.cpu_count()} CPUs; {os.uname().sysname} {os.uname().release}")
    print(f"# load average at the start: {load()}", flush=True)
    ws = workspace(args.data, args.size, args.kpis)

    if "read" in parts:
        status = ("kpitrack status --format json", status_cmd(ws))
        pair(
            f"read {args.size:,}: status vs yaml.load(CSafeLoader)",
            status,
            ("yaml.load(CSafeLoader)", [PY, "-c", LOAD, str(ws)]),
            runs,
            goal=0.2,
        )
        pair(
            f"read {args.size:,}: status vs libyaml event iteration",
            status,
            ("yaml.parse events (floor)", [PY, "-c", EVENTS, str(ws)]),
            runs,
            goal=1.5,
        )
        hledger = shutil.which("hledger")
        if hledger is None:
            not_timed("status", "read: status vs hledger bal --budget -M", "hledger not installed")
        else:
            journal = ws.parent / "journal.ledger"
            pair(
                f"read {args.size:,}: status vs hledger bal --budget -M",
                status,
                (
                    "hledger bal --budget -M",
                    [hledger, "-f", str(journal), "bal", "--budget", "-M", "-e", AS_OF.isoformat()],
                ),
                runs,
                goal=0.15,
            )

    if "record" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "workspace"
            shutil.copytree(ws, copy)
            target = sorted((copy / "measurements").rglob("*.yaml"))[-1]
            original = target.read_bytes()

            def restore() -> None:
                target.write_bytes(original)

            kpi = kpi_ids(args.kpis)[0]
            record = [
                *KPITRACK,
                "record",
                kpi,
                "42",
                "--date",
                AS_OF.isoformat(),
                "--to",
                str(target),
                "-f",
                str(copy),
            ]
            pair(
                f"record into {args.size:,} vs status on the same workspace",
                ("kpitrack record", record),
                ("kpitrack status --format json", status_cmd(copy)),
                runs,
                before_a=restore,
                goal=1.2,
            )

    if "startup" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            one = Path(tmp) / "kpis.yaml"
            one.write_text(
                "kpis:\n  - id: one\n    name: One\n    measure: count\n"
                "    target: 1\n    frequency: monthly\n",
                encoding="utf-8",
            )
            sample = Path(__file__).resolve().parent.parent / "sample_kpis.yaml"
            bare = ("python -c pass", [PY, "-c", "pass"])
            for name, cmd in (
                ("kpitrack --help", [*KPITRACK, "--help"]),
                ("kpitrack --version", [*KPITRACK, "--version"]),
                ("kpitrack check (one KPI)", [*KPITRACK, "check", "-f", str(one)]),
                (
                    "kpitrack status (sample)",
                    [*KPITRACK, "status", "-f", str(sample), "--as-of", AS_OF.isoformat()],
                ),
            ):
                goal = 5.0 if "(" in name else None  # goal 7: check and status
                pair(f"start-up: {name}", (name, cmd), bare, runs, goal=goal)

    if "growth" in parts:
        small, large = args.growth
        ws_small = workspace(args.data, small, args.kpis)
        ws_large = workspace(args.data, large, args.kpis)
        pair(
            f"growth: time per measurement, {large:,} vs {small:,}",
            (f"status {large:,}", status_cmd(ws_large)),
            (f"status {small:,}", status_cmd(ws_small)),
            runs,
            per=(large, small),
        )

    sizes = [*args.sizes, *([1_000_000] if args.big else [])]
    if "commands" in parts:
        for size in sizes:
            every_command(workspace(args.data, size, args.kpis), size, args.kpis, runs)

    if "site" in parts:
        site_against_report(args.data, args.size, args.kpis, runs)

    if "collect" in parts:
        collect_against_status(args.data, *args.collect, runs)

    if "git" in parts:
        for spec in args.git:
            commits, measurements = (int(x) for x in spec.split(":"))
            git_against_status(args.data, commits, measurements, args.kpis, runs)

    if "shapes" in parts:
        status = ("status, record style", status_cmd(ws))
        for shape in SHAPES[1:]:
            hand = workspace(args.data, args.size, args.kpis, shape)
            pair(
                f"shape {shape} ({args.size:,}): status / status on record-style lines",
                (f"status, {shape}", status_cmd(hand)),
                status,
                runs,
                goal=1.3,
            )

    if "asof" in parts:
        early = first_days(args.kpis, args.size)
        pair(
            f"as-of {early} ({args.size:,}, most data after it) / as-of after all data",
            ("status --as-of early", [*status_cmd(ws)[:-4], "--as-of", early, *FORMAT_JSON]),
            ("status --as-of late", status_cmd(ws)),
            runs,
            goal=1.2,
            memory_goal=1.2,
        )

    if "warm" in parts:
        for size in sorted({args.size, *([1_000_000] if args.big else [])}):
            warm_start(workspace(args.data, size, args.kpis), size, runs)

    if "hostile" in parts:
        folder = hostile_workspace(args.data, args.hostile)
        pair(
            f"hostile: check of {args.hostile:,} unknown keys in one mapping vs event iteration",
            ("kpitrack check", [*KPITRACK, "check", "-f", str(folder)]),
            ("yaml.parse events", [PY, "-c", EVENTS, str(folder)]),
            runs,
        )
    if TABLE:
        minutes = (time.perf_counter() - started) / 60
        print(
            f"\n## Table ({runs} alternating runs a pair; {minutes:.0f} minutes; load average "
            f"at the end: {load()}; verdict on the CPU ratio's median)\n"
        )
        print(HEADER)
        print("\n".join(row.markdown() for row in TABLE))
    return 0


FORMAT_JSON = ("--format", "json")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


class Snapshot:
    """A copy of a workspace for the commands that write, and `restore()`, which puts
    back every file they changed (and removes what they added) before the next run, so
    each run starts from the same bytes. The pristine copy stays on disk: bytes held in
    the runner would inflate the peak RSS of every process it starts."""

    def __init__(self, ws: Path, where: Path) -> None:
        self.pristine = where / "pristine"
        self.copy = where / "workspace"
        shutil.copytree(ws, self.pristine)
        shutil.copytree(self.pristine, self.copy)
        self.stamps = self._stamps(self.copy)

    @staticmethod
    def _stamps(root: Path) -> dict[Path, tuple[int, int]]:
        return {
            p.relative_to(root): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")
            if p.is_file()
        }

    def restore(self) -> None:
        now = self._stamps(self.copy)
        for rel in now.keys() - self.stamps.keys():
            (self.copy / rel).unlink()
        for rel, stamp in self.stamps.items():
            if now.get(rel) != stamp:
                (self.copy / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.pristine / rel, self.copy / rel)
        self.stamps = self._stamps(self.copy)


# A chat webhook that takes every post (for notify), in a process of its own: http.server
# would add 7 MiB to this runner, and so to the peak RSS of every process it starts.
WEBHOOK = """
import http.server, sys

class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@contextlib.contextmanager
def webhook_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (notify allows http:// only to this machine)."""
    proc = subprocess.Popen([PY, "-c", WEBHOOK], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}/hook"
    finally:
        proc.kill()
        proc.wait()


def in_child(code: str) -> None:
    """Run `code` (with benchmarks/ importable) in a child process: generating a big
    workspace here would grow this runner, and its peak RSS would pass on to every
    process it starts (ru_maxrss survives fork and exec)."""
    prelude = f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
    subprocess.run([PY, "-c", prelude + code], check=True, stdout=subprocess.DEVNULL)


def every_command(ws: Path, size: int, kpis: int, runs: int) -> None:
    """Each command on the same workspace against `status --format json` (goal 1: within
    2x its time and peak memory at 100k and 1M)."""
    goal = 2.0 if size >= 100_000 else None
    status = ("status --format json", status_cmd(ws))
    on = ["-f", str(ws), "--as-of", AS_OF.isoformat()]
    kpi = kpi_ids(kpis)[0]  # daily, with a value on AS_OF
    csv_out = RUN_DIR / "export.csv"
    with tempfile.TemporaryDirectory() as tmp:
        site_out = Path(tmp) / "site"
        set_aside = SetAside(site_out)
        for name, cmd, before in (
            ("show", [*KPITRACK, "show", kpi, *on, *FORMAT_JSON], None),
            ("overdue", [*KPITRACK, "overdue", *on, *FORMAT_JSON], None),
            ("actions", [*KPITRACK, "actions", *on, *FORMAT_JSON], None),
            ("check", [*KPITRACK, "check", *on], None),
            ("tree", [*KPITRACK, "tree", *on, *FORMAT_JSON], None),
            ("report", [*KPITRACK, "report", *on, *FORMAT_JSON], None),
            ("report --format email", [*KPITRACK, "report", *on, "--format", "email",
                                       "--mail-to", "team@example.com",
                                       "--from", "kpitrack <kpis@example.com>"], None),
            ("export csv", [*KPITRACK, "export", *on, "--format", "csv", "-o", str(csv_out)],
             None),
            ("schema", [*KPITRACK, "schema", "-o", str(Path(tmp) / "schema.json")], None),
            ("init (an empty folder)", [*KPITRACK, "init", str(Path(tmp) / "new")],
             lambda: shutil.rmtree(Path(tmp) / "new", ignore_errors=True)),
            ("site (an empty folder)", [*KPITRACK, "site", *on, "-o", str(site_out)],
             set_aside),
            ("checkin --dry-run", [*KPITRACK, "checkin", "--dry-run", "-f", str(ws)], None),
        ):  # fmt: skip
            pair(
                f"{name} {size:,} / status --format json",
                (name, cmd),
                status,
                runs,
                before_a=before,
                goal=goal,
                memory_goal=goal,
            )
            if before is set_aside:
                set_aside.clear()
        # The same first build with the previous one deleted just before it, as the
        # runner did until round 4: shown for comparison, not held to the goal (SetAside).
        pair(
            f"site (the last build just deleted) {size:,} / status --format json",
            ("site (the last build just deleted)", [*KPITRACK, "site", *on, "-o", str(site_out)]),
            status,
            runs,
            before_a=lambda: shutil.rmtree(site_out, ignore_errors=True),
            memory_goal=goal,
        )
        not_timed(
            "checkin",
            f"checkin (answering) {size:,} / status --format json",
            "checkin asks on a terminal and refuses to run off one; its --dry-run "
            "(every question it would ask, nothing written) is timed above",
        )
        with webhook_server() as url:
            cfg = Path(tmp) / "notify"
            cfg.mkdir()
            (cfg / "kpitrack.local.toml").write_text(
                f'[[notify]]\nname = "bench"\nkind = "webhook"\nurl = "{url}"\n',
                encoding="utf-8",
            )
            # The local config only: no user file ($KPITRACK_CONFIG, XDG_CONFIG_HOME).
            env = {**COLD_ENV, "XDG_CONFIG_HOME": str(cfg / "xdg")}
            env.pop("KPITRACK_CONFIG", None)
            pair(
                f"notify (to a local webhook) {size:,} / status --format json",
                ("notify", [*KPITRACK, "notify", *on, "--always"]),
                status,
                runs,
                cwd=cfg,
                env_a=env,
                goal=goal,
                memory_goal=goal,
            )

    with tempfile.TemporaryDirectory() as tmp:
        snap = Snapshot(ws, Path(tmp))
        copy = snap.copy
        target = sorted((copy / "measurements").rglob("*.yaml"))[-1]
        rows = Path(tmp) / "new.csv"
        rows.write_text(
            "kpi,date,value\n" + "".join(f"{k},{AS_OF.isoformat()},42\n" for k in kpi_ids(kpis)),
            encoding="utf-8",
        )
        on_copy = ["-f", str(copy)]
        day = AS_OF.isoformat()
        for name, cmd in (
            ("record", [*KPITRACK, "record", kpi, "42", "--date", day, "--to", str(target),
                        *on_copy]),
            (f"import {kpis:,} rows", [*KPITRACK, "import", str(rows), "--to", str(target),
                                       *on_copy]),
            ("rename", [*KPITRACK, "rename", kpi, "renamed-kpi", *on_copy]),
            ("amend", [*KPITRACK, "amend", kpi, "43", "--date", day, *on_copy]),
            ("review", [*KPITRACK, "review", kpi, "--date", day, *on_copy]),
        ):  # fmt: skip
            pair(
                f"{name} into {size:,} / status --format json",
                (name, cmd),
                ("status --format json", status_cmd(copy)),
                runs,
                before_a=snap.restore,
                goal=goal,
                memory_goal=goal,
            )
            snap.restore()


def site_against_report(data: Path, size: int, kpis: int, runs: int) -> None:
    """benchmarks/site.py's pairs: the site (first build, rebuild) / report --format html
    (the bound: 3x)."""
    site = _load("site.py", "bench_site")
    site.compare(workspace(data, size, kpis), size, kpis, runs, goal=3.0)


def collect_against_status(data: Path, kpis: int, measurements: int, runs: int) -> None:
    """benchmarks/collect.py's workspace of SQLite-sourced KPIs: collect --dry-run and
    collect (on a fresh copy each run) / status on it (goal 3: within 3x)."""
    collect = _load("collect.py", "bench_collect")
    base = data / f"collect-{kpis}-{measurements}"
    if not (base / "done").exists():
        shutil.rmtree(base, ignore_errors=True)
        in_child(
            "from pathlib import Path\nfrom collect import generate\n"
            f"generate(Path({str(base / 'ws')!r}), kpis={kpis}, measurements={measurements}, "
            "old_config=False)"
        )
        (base / "done").write_text("ok\n")
    as_of = ["--as-of", collect.AS_OF.isoformat()]
    with tempfile.TemporaryDirectory() as tmp:
        snap = Snapshot(base / "ws", Path(tmp))
        status = ("status --format json", [*KPITRACK, "status", *FORMAT_JSON, *as_of])
        size = f"{kpis:,} SQLite-sourced KPIs, {measurements:,} measurements"
        for name, cmd in (
            ("collect --dry-run", [*KPITRACK, "collect", "--dry-run", *as_of]),
            ("collect", [*KPITRACK, "collect", *as_of]),
        ):
            pair(
                f"{name} ({size}) / status --format json",
                (name, cmd),
                status,
                runs,
                cwd=snap.copy,
                before_a=snap.restore,
                goal=3.0,
            )
            snap.restore()


def git_against_status(data: Path, commits: int, measurements: int, kpis: int, runs: int) -> None:
    """benchmarks/git.py's repository: history and diff / status in it (goal 2: history
    within 5x, diff within 2x), report in it / report on a copy outside any repository
    (within 1.2x)."""
    repo = data / f"git-{commits}-{measurements}-{kpis}k"
    if not (data / f"git-{commits}-{measurements}-{kpis}k.done").exists():
        in_child(
            "from pathlib import Path\nfrom git import build_repository\n"
            f"build_repository(Path({str(repo)!r}), commits={commits}, "
            f"measurements={measurements}, kpis={kpis})"
        )
        outside = Path(f"{repo}-copy")
        shutil.rmtree(outside, ignore_errors=True)
        shutil.copytree(repo / "workspace", outside / "workspace")
        (data / f"git-{commits}-{measurements}-{kpis}k.done").write_text("ok\n")
    outside = Path(f"{repo}-copy")
    day = ["--as-of", AS_OF.isoformat()]
    on = ["-f", "workspace"]
    status = ("status --format json", [*KPITRACK, "status", *on, *day, *FORMAT_JSON])
    back = min(50, commits - 1)
    size = f"{commits:,} commits, {measurements:,} measurements"
    pair(
        f"history ({size}) / status --format json",
        ("history", [*KPITRACK, "history", *on, *FORMAT_JSON]),
        status,
        runs,
        cwd=repo,
        goal=5.0,
    )
    pair(
        f"diff HEAD~{back} ({size}) / status --format json",
        ("diff", [*KPITRACK, "diff", f"HEAD~{back}", *on, *FORMAT_JSON]),
        status,
        runs,
        cwd=repo,
        goal=2.0,
    )
    report = [*KPITRACK, "report", *on, *day, *FORMAT_JSON]
    pair(
        f"report in a repository ({size}) / report outside one",
        ("report in the repository", report),
        ("report outside", report),
        runs,
        cwd=repo,
        cwd_b=outside,
        goal=1.2,
    )


def _load(file: str, name: str) -> Any:
    """A module of benchmarks/ by its path (site.py would otherwise be the standard
    library's `site`); it shares this runner's table (run.py imports as `run`)."""
    spec = importlib.util.spec_from_file_location(name, HERE / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def first_days(kpis: int, size: int) -> str:
    """A date with about nine tenths of the generated measurements after it."""
    per_kpi = max(size // max(kpis, 1), 1)
    # A third of the KPIs report daily, weekly, monthly: per_kpi entries back from AS_OF.
    # 21 x per_kpi days back: all daily and weekly entries, 70% of the monthly ones after.
    back = dt.timedelta(days=per_kpi * 21)
    return (AS_OF - back).isoformat()


def warm_start(ws: Path, size: int, runs: int) -> None:
    """A second status (rows from the cache) against DuckDB's latest value per KPI from
    the same measurements as CSV, and against the same status without the cache."""
    cache = RUN_DIR / f"cache-{size}"
    warm_env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    warm_env.pop("KPITRACK_NO_CACHE", None)
    run_once(status_cmd(ws), env=warm_env)  # fills the cache
    status = ("status, warm", status_cmd(ws))
    pair(
        f"warm start {size:,}: second status / status without the cache",
        status,
        ("status --no-cache", status_cmd(ws)),
        runs,
        env_a=warm_env,
    )
    csv_path = ws.parent / "measurements.csv"
    if not csv_path.exists():
        subprocess.run(
            [*KPITRACK, "export", "-f", str(ws), "--as-of", AS_OF.isoformat(),
             "--format", "csv", "-o", str(csv_path)],
            check=True, env=COLD_ENV, cwd=RUN_DIR,
        )  # fmt: skip
    if importlib.util.find_spec("duckdb") is None:  # a test dependency; not imported here
        not_timed("status", f"warm start {size:,} vs DuckDB", "duckdb not installed")
        return
    query = (
        "import sys, duckdb\n"
        'duckdb.sql("select kpi, arg_max(value, date) from read_csv_auto(\'" + sys.argv[1]'
        ' + "\') group by kpi").fetchall()\n'
    )
    pair(
        f"warm start {size:,}: second status / DuckDB latest value per KPI from CSV",
        status,
        ("duckdb", [PY, "-c", query, str(csv_path)]),
        runs,
        env_a=warm_env,
        goal=1.0,
    )


def hostile_workspace(data: Path, keys: int) -> Path:
    """A folder with one KPI file whose KPI has `keys` unknown keys (issue: many problems)."""
    folder = data / f"hostile-{keys}"
    path = folder / "kpis.yaml"
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            f.write(
                "kpis:\n  - id: a\n    name: A\n    measure: a count of things\n"
                "    target: 1\n    frequency: monthly\n"
            )
            for i in range(keys):
                f.write(f"    extra{i}: 1\n")
        (folder / "done").write_text("ok\n")
    return folder


if __name__ == "__main__":
    raise SystemExit(main())
