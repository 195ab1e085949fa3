"""`collect` with many SQLite-sourced KPIs, against `status --format json` on the same data.

    python benchmarks/collect.py --kpis 1000 --measurements 100000

Builds a workspace of `--kpis` weekly KPIs, each with an `sql:` source on one SQLite
file, and `--measurements` past values spread over them (none in the latest ended
week, so every KPI has one period due). Then times, each in a fresh process of the
installed entry point: `status --format json`, `collect --dry-run` and a real
`collect` (on a fresh copy each run). Prints the median seconds and the ratios to
`status`. Goal (#23 goal 3): collect within 3x status, linear in KPIs + measurements.

`--kpitrack` runs another kpitrack (e.g. `python -m kpitrack` from an older checkout
through PYTHONPATH) for a side-by-side figure; `--old-config` writes `[databases]`
into kpitrack.toml as versions before the local config expected.

`run.py --only collect` builds the same workspace (`generate`) and puts collect's pairs
into its one table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 25)  # a Wednesday: the latest ended week is 2026-W47


def generate(ws: Path, *, kpis: int, measurements: int, old_config: bool) -> None:
    ws.mkdir(parents=True, exist_ok=True)
    db = ws / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE events (kpi INTEGER, day TEXT)")
    conn.executemany(
        "INSERT INTO events VALUES (?, ?)", [(i % kpis, "2026-11-18") for i in range(kpis * 3)]
    )
    conn.execute("CREATE INDEX events_kpi ON events (kpi)")
    conn.commit()
    conn.close()
    databases = '[databases]\napp = "app.db"\n'
    (ws / "kpitrack.toml").write_text(
        'files = ["kpis.yaml", "measurements.yaml"]\n' + (databases if old_config else "")
    )
    if not old_config:
        (ws / "kpitrack.local.toml").write_text(databases)
    lines = ["kpis:"]
    for i in range(kpis):
        lines += [
            f"  - id: k{i:05d}",
            f"    name: KPI {i}",
            "    measure: events counted in the week, from the app database",
            "    target: 10",
            "    frequency: weekly",
            "    owner: ops",
            "    source:",
            f'      sql: "SELECT count(*) FROM events WHERE kpi = {i} '
            'AND day >= :period_start AND day < :period_end"',
            "      database: app",
        ]
    (ws / "kpis.yaml").write_text("\n".join(lines) + "\n")
    per_kpi = max(1, measurements // kpis)
    out = ["measurements:"]
    for i in range(kpis):
        for back in range(per_kpi):
            day = AS_OF - dt.timedelta(days=10 + 7 * back)  # weeks before 2026-W47
            out.append(f"  - {{kpi: k{i:05d}, date: {day.isoformat()}, value: {back % 20}}}")
    (ws / "measurements.yaml").write_text("\n".join(out) + "\n")


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--measurements", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kpitrack", default=None, help="the command to time (default: ours)")
    parser.add_argument("--old-config", action="store_true")
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "kpitrack"
    command = args.kpitrack.split() if args.kpitrack else [str(exe)]
    with tempfile.TemporaryDirectory(prefix="kpitrack-collect-bench-") as tmp:
        base = Path(tmp) / "base"
        generate(base, kpis=args.kpis, measurements=args.measurements, old_config=args.old_config)
        as_of = ["--as-of", AS_OF.isoformat()]
        figures: dict[str, list[float]] = {"status": [], "collect --dry-run": [], "collect": []}
        for run in range(args.runs):
            figures["status"].append(timed([*command, "status", "--format", "json", *as_of], base))
            figures["collect --dry-run"].append(
                timed([*command, "collect", "--dry-run", *as_of], base)
            )
            fresh = Path(tmp) / f"run{run}"
            shutil.copytree(base, fresh)
            figures["collect"].append(timed([*command, "collect", *as_of], fresh))
        status = statistics.median(figures["status"])
        print(f"{args.kpis} KPIs, {args.measurements} measurements, median of {args.runs}:")
        for name, times in figures.items():
            median = statistics.median(times)
            print(f"  {name:<18} {median:7.2f} s  {median / status:5.2f}x status")


if __name__ == "__main__":
    main()
