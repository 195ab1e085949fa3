"""Generate a kpitrack workspace of any size, and the equivalent hledger journal.

    python benchmarks/generate.py --kpis 1000 --measurements 100000 --out benchmarks/data/100k

The workspace is split over files as real users split it: one file of objectives,
one KPI file per team (kpis/<team>.yaml) and one measurement file per team and
year (measurements/<year>/<team>.yaml), entries in the flow style `record` writes.
Every KPI gets the same share of the measurements, on consecutive period ends
ending at the evaluation date (AS_OF), so `status` has real work to do for each.

The journal (`journal.ledger`) holds one transaction per measurement
(`kpi:<id>` against `measured`) and one monthly periodic transaction per KPI with
its target, so `hledger bal --budget -M` does the analogous job: read every entry,
group it by account and month, compare with a target.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

AS_OF = dt.date(2026, 11, 25)
TEAMS = ("finance", "growth", "product", "engineering", "support", "sales", "people", "ops")
FREQUENCIES = ("daily", "weekly", "monthly")
_STEP = {"daily": 1, "weekly": 7, "monthly": 30}


def kpi_ids(kpis: int) -> list[str]:
    return [f"kpi-{i:05d}" for i in range(kpis)]


# How measurement entries are written: `record`'s flow lines, or the shapes people write
# by hand (docs/PERFORMANCE.md compares each with `record`).
SHAPES = ("record", "block", "comments", "crlf", "unicode", "quoted", "hand")


def entry(shape: str, kpi: str, day: str, value: int, k: int) -> str:
    """One measurement entry in the given shape, without its final line feed."""
    if shape == "record":
        return f"  - {{kpi: {kpi}, date: {day}, value: {value}, by: loader}}"
    if shape == "block":
        return f"  - kpi: {kpi}\n    date: {day}\n    value: {value}\n    by: loader"
    if shape == "comments":
        comment = "  # checked against the warehouse\n" if k % 10 == 0 else ""
        return f"{comment}  - {{kpi: {kpi}, date: {day}, value: {value}, by: loader}}  # ok"
    if shape == "crlf":
        return f"  - {{kpi: {kpi}, date: {day}, value: {value}, by: loader}}"
    if shape == "unicode":
        return f"  - {{kpi: {kpi}, date: {day}, value: {value}, note: Zoë's café ✓, by: Jürgen}}"
    if shape == "quoted":
        return (
            f'  - {{kpi: {kpi}, date: {day}, value: {value}, note: "late, \\"adjusted\\": Q3", '
            "by: 'loader'}"
        )
    if shape == "hand":
        comment = "  # Prüfung: ok\n" if k % 10 == 0 else ""
        return (
            f"{comment}  - kpi: {kpi}  # {k}\n    date: '{day}'\n    value: {value}\n"
            f'    note: "Zoë: \\"ok\\""\n    by: Jürgen'
        )
    raise ValueError(f"unknown shape {shape!r}")


def generate(
    out: Path, *, kpis: int, measurements: int, journal: bool = True, shape: str = "record"
) -> Path:
    """Write the workspace under `out` (the folder to pass to `-f`) and return it."""
    ws = out / "workspace"
    (ws / "kpis").mkdir(parents=True, exist_ok=True)
    ids = kpi_ids(kpis)
    team_of = {kpi: TEAMS[i % len(TEAMS)] for i, kpi in enumerate(ids)}
    freq_of = {kpi: FREQUENCIES[i % len(FREQUENCIES)] for i, kpi in enumerate(ids)}
    target_of = {kpi: 100 + (i % 50) * 10 for i, kpi in enumerate(ids)}

    lines = ["objectives:"]
    for team in TEAMS:
        lines += [f"  - id: {team}-goal", f"    title: What the {team} team is here for"]
    (ws / "objectives.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    for team in TEAMS:
        lines = [f"# KPIs owned by {team}", "kpis:"]
        for kpi in ids:
            if team_of[kpi] != team:
                continue
            lines += [
                f"  - id: {kpi}",
                f"    name: Generated KPI {kpi}",
                "    measure: A count taken from the warehouse",
                f"    target: {target_of[kpi]}",
                f"    frequency: {freq_of[kpi]}",
                f"    owner: {team.title()}",
                f"    objective: {team}-goal",
            ]
        (ws / "kpis" / f"{team}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    # Measurement k of KPI i: the k-th period end counting back from AS_OF.
    files: dict[tuple[int, str], list[str]] = {}
    entries: list[tuple[dt.date, str, int]] = []
    per_kpi, extra = divmod(measurements, kpis) if kpis else (0, 0)
    for i, kpi in enumerate(ids):
        count = per_kpi + (1 if i < extra else 0)
        step = _STEP[freq_of[kpi]]
        for k in range(count):
            day = AS_OF - dt.timedelta(days=step * (count - 1 - k))
            value = target_of[kpi] - 40 + (i * 7 + k * 13) % 80
            files.setdefault((day.year, team_of[kpi]), []).append(
                entry(shape, kpi, day.isoformat(), value, k)
            )
            if journal:
                entries.append((day, kpi, value))
    for (year, team), body in sorted(files.items()):
        folder = ws / "measurements" / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        text = "measurements:\n" + "\n".join(body) + "\n"
        if shape in ("crlf", "hand"):
            text = text.replace("\n", "\r\n")
        (folder / f"{team}.yaml").write_bytes(text.encode("utf-8"))

    if journal:
        entries.sort()
        with (out / "journal.ledger").open("w", encoding="utf-8") as f:
            f.write("; generated by benchmarks/generate.py: one transaction per measurement\n")
            for kpi in ids:
                f.write(f"~ monthly\n    kpi:{kpi}  {target_of[kpi]}\n    measured\n\n")
            for day, kpi, value in entries:
                f.write(f"{day.isoformat()} {kpi}\n    kpi:{kpi}  {value}\n    measured\n\n")
    return ws


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--measurements", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-journal", action="store_true", help="skip the hledger journal")
    parser.add_argument("--shape", choices=SHAPES, default="record", help="measurement entries")
    args = parser.parse_args(argv)
    ws = generate(
        args.out,
        kpis=args.kpis,
        measurements=args.measurements,
        journal=not args.no_journal,
        shape=args.shape,
    )
    print(ws)


if __name__ == "__main__":
    main()
