"""`kpitrack site` against `kpitrack report --format html` on the same workspace
(docs/PERFORMANCE.md; the issue's bound: the site within 3x the report).

    python benchmarks/site.py                         # 1,000 KPIs, 100,000 measurements
    python benchmarks/site.py --size 1000 --kpis 10 --runs 1   # a quick look

The workspace comes from benchmarks/generate.py (under benchmarks/data/, git-ignored).
Both commands run as separate processes in a folder outside any git repository,
alternating which goes first (run.py's `pair`), `--runs` times: once into an empty
folder each run (a first build: every page written; the previous build is set aside,
not deleted, see run.SetAside), once over the folder of the previous run (a rebuild:
unchanged pages left alone).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import AS_OF  # noqa: E402
from run import KPITRACK, SetAside, pair, workspace  # noqa: E402


def compare(ws: Path, size: int, kpis: int, runs: int, goal: float | None = None) -> float:
    """Both pairs (first build, rebuild) on `ws`; the worst ratio."""
    as_of = ["--as-of", AS_OF.isoformat()]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "public"
        report = [*KPITRACK, "report", "-f", str(ws), *as_of, "--format", "html"]
        report += ["-o", str(Path(tmp) / "report.html")]
        site = [*KPITRACK, "site", "-f", str(ws), *as_of, "-o", str(out)]

        fresh = SetAside(out)  # each first build into an empty folder (run.SetAside)
        first = pair(
            f"site (first build) vs report --format html, {kpis:,} KPIs, {size:,} measurements",
            ("kpitrack site (empty folder)", site),
            ("kpitrack report --format html", report),
            runs,
            before_a=fresh,
            cwd=Path(tmp),
            goal=goal,
        )
        fresh.clear()
        again = pair(
            f"site (rebuild) vs report --format html, {kpis:,} KPIs, {size:,} measurements",
            ("kpitrack site (rebuild)", site),
            ("kpitrack report --format html", report),
            runs,
            cwd=Path(tmp),
            goal=goal,
        )
    return max([*first, *again, 0.0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="measurements")
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args(argv)
    ws = workspace(args.data, args.size, args.kpis)
    print(f"# kpitrack site vs report --format html: {args.runs} alternating runs per pair")
    worst = compare(ws, args.size, args.kpis, args.runs)
    print(f"\nworst ratio {worst:.2f} (bound: 3.0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
