"""Git features against `status` in the same run (docs/git.md, docs/PERFORMANCE.md).

    python benchmarks/git.py                          # 200 commits at 10k, 2,000 at 100k
    python benchmarks/git.py --sizes 200:1000 --runs 1  # a quick look

For each size a repository is generated with `git fast-import` (seconds, not minutes):
the first commit holds the workspace of benchmarks/generate.py (1,000 KPIs); every later
commit records five measurements into a file of recent values, every 10th changes a
target (made easier and harder in turn), every 50th adds a comment to a KPI file.
Commit dates run up to the evaluation date, about one a day, so `report`'s default
week holds a handful of commits.

Each pair runs alternately `--runs` times; the table gives the median ratio of CPU time
(user + system, git included; wall time too) to `status --format json` on the same
workspace, and both peak RSS values:

- `history` (whole history, JSON) / status: goal ≤ 5 at 2,000 commits and 100k
- `diff HEAD~50` / status: goal ≤ 2
- `report` in the repository / `report` on a copy outside any repository: goal ≤ 1.2

`run.py --only git` builds the same repositories (`build_repository`) and puts these
pairs into its one table.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import AS_OF, TEAMS, generate, kpi_ids  # noqa: E402

KPITRACK = [sys.executable, "-m", "kpitrack"]
KPIS = 1000
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": os.devnull,
}


def _data(text: str | bytes) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return b"data %d\n" % len(raw) + raw + b"\n"


def build_repository(root: Path, *, commits: int, measurements: int, kpis: int = KPIS) -> Path:
    """The repository at `root`; returns the workspace folder inside it."""
    if root.exists():
        shutil.rmtree(root)
    scratch = Path(tempfile.mkdtemp(prefix="kpitrack-git-"))
    try:
        ws = generate(scratch, kpis=kpis, measurements=measurements, journal=False)
        files = {
            p.relative_to(scratch).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(ws.rglob("*.yaml"))
        }
    finally:
        shutil.rmtree(scratch)
    root.mkdir(parents=True)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, env=env, check=True)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet"], cwd=root, env=env, stdin=subprocess.PIPE
    )
    assert proc.stdin is not None
    ids = kpi_ids(kpis)
    start = dt.datetime.combine(AS_OF, dt.time(12)) - dt.timedelta(days=commits - 1)
    recent: dict[str, list[str]] = {team: ["measurements:"] for team in TEAMS}
    for n in range(commits):
        when = int((start + dt.timedelta(days=n)).replace(tzinfo=dt.UTC).timestamp())
        changed: dict[str, str] = dict(files) if n == 0 else {}
        if n > 0:
            team = TEAMS[n % len(TEAMS)]
            for k in range(5):
                kpi = ids[(n * 5 + k) % kpis]
                day = AS_OF - dt.timedelta(days=(n * 7 + k) % 300)
                recent[team].append(f"  - {{kpi: {kpi}, date: {day.isoformat()}, value: {n % 97}}}")
            path = f"workspace/measurements/recent/{team}.yaml"
            changed[path] = "\n".join(recent[team]) + "\n"
            if n % 10 == 0:
                kpi_file = f"workspace/kpis/{TEAMS[(n // 10) % len(TEAMS)]}.yaml"
                text = files[kpi_file]
                old = text.split("    target: ", 1)[1].split("\n", 1)[0]
                new = str(int(old) - 5) if (n // 10) % 2 else str(int(old) + 5)
                files[kpi_file] = text.replace(f"    target: {old}\n", f"    target: {new}\n", 1)
                changed[kpi_file] = files[kpi_file]
            if n % 50 == 0:
                kpi_file = f"workspace/kpis/{TEAMS[(n // 50) % len(TEAMS)]}.yaml"
                files[kpi_file] = f"# reviewed {n}\n" + files[kpi_file]
                changed[kpi_file] = files[kpi_file]
        out = [b"commit refs/heads/main\n"]
        out.append(b"author Ann Lead <ann@example.com> %d +0000\n" % when)
        out.append(b"committer Ann Lead <ann@example.com> %d +0000\n" % when)
        out.append(_data(f"commit {n}"))
        for path, text in changed.items():
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(_data(text))
        proc.stdin.write(b"".join(out))
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, env=env, check=True)
    return root / "workspace"


def run_once(cmd: list[str], *, cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, with the git processes it waited for)
    and peak RSS (MiB) of one run. CPU time is the figure compared: this machine is
    shared, and wall time there measures the neighbours as much as kpitrack."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def compare(
    label: str, a: list[str], b: list[str], runs: int, *, cwd: Path, cwd_b: Path | None = None
) -> dict[str, float]:
    runs_a: list[tuple[float, float, float]] = []
    runs_b: list[tuple[float, float, float]] = []
    for i in range(runs):
        order = [(a, cwd, runs_a), (b, cwd_b or cwd, runs_b)]
        for cmd, where, found in order if i % 2 == 0 else reversed(order):
            found.append(run_once(cmd, cwd=where))
    cpu = statistics.median(x[1] / y[1] for x, y in zip(runs_a, runs_b, strict=True))
    wall = statistics.median(x[0] / y[0] for x, y in zip(runs_a, runs_b, strict=True))
    print(
        f"| {label} | {cpu:.2f} | {wall:.2f} "
        f"| {statistics.median(x[1] for x in runs_a):.2f} s "
        f"| {statistics.median(y[1] for y in runs_b):.2f} s "
        f"| {max(x[2] for x in runs_a):.0f} / {max(y[2] for y in runs_b):.0f} MiB |",
        flush=True,
    )
    return {"cpu": cpu, "wall": wall}


def bench(commits: int, measurements: int, runs: int, data: Path, kpis: int = KPIS) -> None:
    repo = data / f"git-{commits}-{measurements}"
    ws = build_repository(repo, commits=commits, measurements=measurements, kpis=kpis)
    outside = data / f"git-{commits}-{measurements}-copy"
    if outside.exists():
        shutil.rmtree(outside)
    shutil.copytree(ws, outside / "workspace")
    day = ["--as-of", AS_OF.isoformat()]
    status = [*KPITRACK, "status", "-f", "workspace", *day, "--format", "json"]
    history = [*KPITRACK, "history", "-f", "workspace", "--format", "json"]
    back = min(50, commits - 1)
    diff = [*KPITRACK, "diff", f"HEAD~{back}", "-f", "workspace", "--format", "json"]
    report = [*KPITRACK, "report", "-f", "workspace", *day, "--format", "json"]
    size = f"{commits:,} commits, {measurements:,} measurements"
    compare(f"history / status ({size})", history, status, runs, cwd=repo)
    compare(f"diff HEAD~{back} / status ({size})", diff, status, runs, cwd=repo)
    env_note = f"report in the repository / outside ({size})"
    compare(env_note, report, report, runs, cwd=repo, cwd_b=outside)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["200:10000", "2000:100000"],
        help="COMMITS:MEASUREMENTS pairs",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kpis", type=int, default=KPIS)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args(argv)
    print("| comparison | CPU ratio | wall ratio | CPU | baseline CPU | peak RSS |")
    print("|---|---|---|---|---|---|")
    for spec in args.sizes:
        commits, measurements = (int(x) for x in spec.split(":"))
        bench(commits, measurements, args.runs, args.data, args.kpis)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
