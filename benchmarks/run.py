"""Paired, alternating benchmarks of kpitrack against its baselines (docs/PERFORMANCE.md).

    python benchmarks/run.py                      # the issue's sizes: 100k, growth 10k vs 1M
    python benchmarks/run.py --size 1000 --growth 1000 10000 --runs 3   # a quick look
    python benchmarks/run.py --only commands shapes asof warm --big     # with 1M as well

Every kpitrack run reads its files afresh (KPITRACK_NO_CACHE=1) except the warm-start
pair, which fills a cache folder of its own first. `commands` times every command against
`status --format json` on the same workspace in the same run, at each of `--sizes`
(and 1,000,000 with `--big`); `shapes` status on each hand-written shape against the
record style; `asof` status with an as-of date before most of the data against one
after all of it; `warm` a second (cached) status against DuckDB computing each KPI's
latest value from the same data as CSV, and against a cold status. At the end, one
Markdown table of every ratio (median, min-max) and both sides' peak memory.

Each comparison runs both commands of a pair in turn, alternating which goes first,
`--runs` times (at least 5 for the published table), and prints min/median/max of
the time ratio and each side's peak RSS (from `os.wait4`'s rusage of that child).
Workspaces are generated under benchmarks/data/ (git-ignored) when missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import AS_OF, SHAPES, kpi_ids  # noqa: E402

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
TABLE: list[str] = []  # the Markdown rows printed at the end


def run_once(
    cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run of `cmd`; its output is discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd or RUN_DIR,
        env=env or COLD_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: KPIs with problems is a normal status
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024.0  # KiB on Linux


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
    env_a: dict[str, str] | None = None,
    env_b: dict[str, str] | None = None,
) -> list[float]:
    """Alternate a and b `runs` times; print and return the ratios a/b (time per `per`)."""
    ratios: list[float] = []
    times: dict[str, list[float]] = {a[0]: [], b[0]: []}
    rss: dict[str, list[float]] = {a[0]: [], b[0]: []}
    envs = {a[0]: env_a, b[0]: env_b}
    for i in range(runs):
        order = (a, b) if i % 2 == 0 else (b, a)
        got: dict[str, float] = {}
        for name, cmd in order:
            if name == a[0] and callable(before_a):
                before_a()
            seconds, mib = run_once(cmd, cwd=cwd, env=envs[name])
            got[name] = seconds
            times[name].append(seconds)
            rss[name].append(mib)
        ratios.append((got[a[0]] / per[0]) / (got[b[0]] / per[1]))
    print(f"\n## {title}")
    for name in (a[0], b[0]):
        print(f"  {name:<44} s {summary(times[name]):<24} peak MiB {summary(rss[name])}")
    print(f"  ratio {a[0]} / {b[0]}: min/median/max {summary(ratios)}")
    TABLE.append(
        f"| {title} | **{statistics.median(ratios):.2f}** ({min(ratios):.2f}–{max(ratios):.2f}) "
        f"| {statistics.median(times[a[0]]):.2f} s / {statistics.median(times[b[0]]):.2f} s "
        f"| {statistics.median(rss[a[0]]):.0f} / {statistics.median(rss[b[0]]):.0f} MiB |"
    )
    return ratios


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


def main(argv: list[str] | None = None) -> int:
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
        "--only",
        nargs="*",
        default=None,
        help="read, record, startup, growth, hostile, commands, shapes, asof, warm (default: all)",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[10_000, 100_000], help="commands' sizes"
    )
    parser.add_argument("--big", action="store_true", help="commands and warm at 1,000,000 too")
    args = parser.parse_args(argv)
    parts = set(
        args.only
        or ("read", "record", "startup", "growth", "hostile", "commands", "shapes", "asof", "warm")
    )
    runs = args.runs
    print(
        f"# kpitrack benchmarks: {runs} alternating runs per pair; python {sys.version.split()[0]}"
    )
    print(f"# {os.cpu_count()} CPUs; {os.uname().sysname} {os.uname().release}")
    ws = workspace(args.data, args.size, args.kpis)

    if "read" in parts:
        status = ("kpitrack status --format json", status_cmd(ws))
        pair(
            f"read {args.size:,}: status vs yaml.load(CSafeLoader)",
            status,
            ("yaml.load(CSafeLoader)", [PY, "-c", LOAD, str(ws)]),
            runs,
        )
        pair(
            f"read {args.size:,}: status vs libyaml event iteration",
            status,
            ("yaml.parse events (floor)", [PY, "-c", EVENTS, str(ws)]),
            runs,
        )
        hledger = shutil.which("hledger")
        if hledger is None:
            print("\n## read: status vs hledger bal --budget -M\n  skipped: hledger not installed")
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
                pair(f"start-up: {name}", (name, cmd), bare, runs)

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

    if "shapes" in parts:
        status = ("status, record style", status_cmd(ws))
        for shape in SHAPES[1:]:
            hand = workspace(args.data, args.size, args.kpis, shape)
            pair(
                f"shape {shape} ({args.size:,}): status / status on record-style lines",
                (f"status, {shape}", status_cmd(hand)),
                status,
                runs,
            )

    if "asof" in parts:
        early = first_days(args.kpis, args.size)
        pair(
            f"as-of {early} ({args.size:,}, most data after it) / as-of after all data",
            ("status --as-of early", [*status_cmd(ws)[:-4], "--as-of", early, *FORMAT_JSON]),
            ("status --as-of late", status_cmd(ws)),
            runs,
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
        print("\n## Table (ratio median, min–max; median times and peak memory of A / B)\n")
        print("| comparison (A / B) | ratio | time A / B | peak RSS A / B |")
        print("|---|---|---|---|")
        print("\n".join(TABLE))
    return 0


FORMAT_JSON = ("--format", "json")


def every_command(ws: Path, size: int, kpis: int, runs: int) -> None:
    """Each command on the same workspace against `status --format json`."""
    status = ("status --format json", status_cmd(ws))
    on = ["-f", str(ws), "--as-of", AS_OF.isoformat()]
    kpi = kpi_ids(kpis)[0]
    csv_out = RUN_DIR / "export.csv"
    for name, cmd in (
        ("show", [*KPITRACK, "show", kpi, *on, *FORMAT_JSON]),
        ("overdue", [*KPITRACK, "overdue", *on, *FORMAT_JSON]),
        ("actions", [*KPITRACK, "actions", *on, *FORMAT_JSON]),
        ("check", [*KPITRACK, "check", *on]),
        ("report", [*KPITRACK, "report", *on, *FORMAT_JSON]),
        ("export csv", [*KPITRACK, "export", *on, "--format", "csv", "-o", str(csv_out)]),
    ):
        pair(f"{name} {size:,} / status --format json", (name, cmd), status, runs)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "workspace"
        shutil.copytree(ws, copy)
        target = sorted((copy / "measurements").rglob("*.yaml"))[-1]
        original = target.read_bytes()

        def restore() -> None:
            target.write_bytes(original)

        rows = Path(tmp) / "new.csv"
        rows.write_text(
            "kpi,date,value\n" + "".join(f"{k},{AS_OF.isoformat()},42\n" for k in kpi_ids(kpis)),
            encoding="utf-8",
        )
        on_copy = ["-f", str(copy)]
        for name, cmd in (
            ("record", [*KPITRACK, "record", kpi, "42", "--date", AS_OF.isoformat(),
                        "--to", str(target), *on_copy]),
            (f"import {kpis:,} rows", [*KPITRACK, "import", str(rows), "--to", str(target),
                                       *on_copy]),
        ):  # fmt: skip
            pair(
                f"{name} into {size:,} / status --format json",
                (name, cmd),
                ("status --format json", status_cmd(copy)),
                runs,
                before_a=restore,
            )


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
    try:
        import duckdb  # noqa: F401  (a test dependency)
    except ImportError:
        print(f"\n## warm start {size:,} vs DuckDB\n  skipped: duckdb not installed")
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
