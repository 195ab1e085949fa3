"""Generated git histories of a KPI workspace, for the history engine's equivalence test
and the git benchmarks: every kind of commit a team makes, in a seeded random order.

Each commit does one of: record measurements (the common case), lower or raise a
target, push a due date, rename a KPI (its measurements with it), add a KPI, drop one
(with its measurements), move the KPI file to another folder, add a comment line,
break the KPI file's YAML and fix it in the next commit, or touch a file outside the
workspace. KPI ids are never reused after a drop (the old engine did not compare a KPI
added back; see test_git_history.py for that case).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ann Lead",
    "GIT_AUTHOR_EMAIL": "ann@example.com",
    "GIT_COMMITTER_NAME": "Ann Lead",
    "GIT_COMMITTER_EMAIL": "ann@example.com",
    "HOME": os.devnull,
}


def git(repo: Path, *args: str, date: str | None = None, stdin: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date}T12:00:00+00:00"
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, input=stdin, capture_output=True, text=True, check=True
    )
    return proc.stdout


ACTIONS = ("record", "target", "due", "rename", "add", "drop", "move", "comment", "break")
ACTIONS += ("outside",)
WEIGHTS = (40, 10, 5, 4, 4, 3, 2, 4, 2, 3)


@dataclass
class _Kpi:
    id: str
    target: int
    due: dt.date
    direction: str = "increase"


@dataclass
class _State:
    kpis: list[_Kpi] = field(default_factory=list)
    values: list[tuple[str, dt.date, int]] = field(default_factory=list)
    folder: str = "kpis"
    comments: int = 0
    broken: bool = False
    counter: int = 0


def _kpi_text(state: _State) -> str:
    lines = ["# KPIs" + " (edited)" * state.comments, "objectives:", "  - id: grow"]
    lines += ["    title: Grow", "kpis:"]
    for k in state.kpis:
        lines += [
            f"  - id: {k.id}",
            f"    name: KPI {k.id}",
            "    measure: count of things per month",
            f"    target: {k.target}",
            f"    direction: {k.direction}",
            "    frequency: monthly",
            "    owner: growth",
            "    objective: grow",
            "    baseline: 0",
            "    start: 2025-01-01",
            f"    due: {k.due.isoformat()}",
        ]
    text = "\n".join(lines) + "\n"
    return text.replace("kpis:", "kpis: [", 1) if state.broken else text


def _measurement_text(state: _State, ids: set[str]) -> str:
    lines = ["measurements:"]
    lines += [
        f"  - {{kpi: {kpi}, date: {day.isoformat()}, value: {value}}}"
        for kpi, day, value in state.values
        if kpi in ids
    ]
    return "\n".join(lines) + "\n"


def build_history(root: Path, *, commits: int, seed: int, kpis: int = 4) -> Path:
    """A repository at `root` with `commits` commits; the workspace is `-f kpis -f
    measurements` at every commit (the KPI file moves between `kpis/` and `kpis/team/`)."""
    rng = random.Random(seed)
    git(root, "init", "-q", "-b", "main")
    state = _State()
    for _ in range(kpis):
        state.counter += 1
        state.kpis.append(_Kpi(f"k{state.counter}", 100, dt.date(2026, 12, 31)))
    day = dt.date(2025, 1, 1)
    kpi_file = root / state.folder / "team.yaml"

    def write_all() -> None:
        nonlocal kpi_file
        ids = {k.id for k in state.kpis}
        kpi_file.parent.mkdir(parents=True, exist_ok=True)
        kpi_file.write_text(_kpi_text(state), encoding="utf-8")
        (root / "measurements").mkdir(exist_ok=True)
        year = {d.year for _, d, _ in state.values} or {2025}
        for y in sorted(year):
            part = _State(values=[v for v in state.values if v[1].year == y])
            (root / "measurements" / f"{y}.yaml").write_text(
                _measurement_text(part, ids), encoding="utf-8"
            )

    write_all()
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start", date=day.isoformat())
    for n in range(commits):
        day += dt.timedelta(days=rng.randint(1, 9))
        if state.broken:
            state.broken = False
            action = "fix"
        else:
            action = rng.choices(ACTIONS, weights=WEIGHTS)[0]
        live = state.kpis
        if action == "record" and live:
            for k in rng.sample(live, min(len(live), rng.randint(1, 3))):
                state.values.append((k.id, day, rng.randint(0, 2 * k.target)))
        elif action == "target" and live:
            k = rng.choice(live)
            k.target = max(1, k.target + rng.choice([-30, -10, 10, 25]))
        elif action == "due" and live:
            k = rng.choice(live)
            k.due += dt.timedelta(days=rng.choice([-20, 45, 90]))
        elif action == "rename" and live:
            k = rng.choice(live)
            state.counter += 1
            new = f"k{state.counter}"
            state.values = [(new if kpi == k.id else kpi, d, v) for kpi, d, v in state.values]
            k.id = new
        elif action == "add":
            state.counter += 1
            state.kpis.append(_Kpi(f"k{state.counter}", rng.choice([50, 100, 200]), day))
            state.kpis[-1].due = dt.date(2027, 6, 30)
        elif action == "drop" and len(live) > 1:
            k = rng.choice(live)
            state.kpis.remove(k)
            state.values = [v for v in state.values if v[0] != k.id]
        elif action == "move":
            git(root, "rm", "-q", "--cached", str(kpi_file.relative_to(root)))
            kpi_file.unlink()
            state.folder = "kpis/team" if state.folder == "kpis" else "kpis"
            kpi_file = root / state.folder / "team.yaml"
        elif action == "comment":
            state.comments += 1
        elif action == "break":
            state.broken = True
        elif action == "outside":
            (root / "README.txt").write_text(f"note {n}\n", encoding="utf-8")
        write_all()
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"{action} {n}", "--allow-empty", date=day.isoformat())
    return root
