"""A mutation fuzzer over the sample and test workspaces, run as processes through the
installed entry point: whatever the file holds, no traceback, no exit 3, and
`check` exits 0 exactly when `status` evaluates (exit 0).

Most cases run in a few worker processes, each started from the installed
`kpitrack` entry point's module and feeding many seeded cases through the real
`kpitrack.cli:main`; a smaller number run the installed `kpitrack` command as
separate processes. CI (CI=true) runs 2,000 seeded cases; a local run fewer.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from support import SAMPLE_DATE, entry_point, run_process

pytestmark = [pytest.mark.slow, pytest.mark.process]

ROOT = Path(__file__).resolve().parents[1]
HEAVY = os.environ.get("CI") == "true"
CASES = 2000 if HEAVY else 200
WORKERS = 2
SEPARATE = 24 if HEAVY else 6
AS_OF = SAMPLE_DATE.isoformat()

SEEDS = [
    ROOT / "sample_kpis.yaml",
    ROOT / "tests/data/report/kpis.yaml",
    ROOT / "tests/data/check/valid.yaml",
    ROOT / "tests/data/fuzz/sources.yaml",  # sql, csv and command sources
]

HOSTILE = [
    "\x1b]0;OWNED\x07\x1b[2J",
    "\u202e",
    "\t",
    "\x00",
    "&a [1]",
    "*a",
    "!!python/object:os.system",
    "<<: {x: 1}",
    "[" * 80,
    "{" * 80,
    "9" * 400,
    "1e999",
    "-.inf",
    ".nan",
    "2026-02-30",
    "0x1F",
    "'",
    '"',
    "|",
    ">-",
    "---",
    "...",
    "? x",
    "- - -",
    "=HYPERLINK(1)",
    "\ufeff",
    "\r",
    "\x85",
    "\u2028",
    "é" * 50,
    "kpis:",
    "measurements: 5",
    "{sql: 'SELECT 1 AS x$$; COMMIT; DELETE FROM t; SELECT 1 AS y$$', database: app}",
    "{csv: /proc/self/environ, date_column: a, value_column: b}",
    "{csv: ../../etc/passwd, date_column: a, value_column: b}",
    "{command: [sh, -c, 'echo 1']}",
    "postgresql://u:pw@h/db",
    "host=db password=x",
    "\uff11\uff12",
]


def mutate(text: str, rng: random.Random) -> str:
    """One to three random edits: byte-level and line-level, with hostile snippets."""
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        if not lines:
            lines = ["\n"]
        op = rng.randrange(8)
        i = rng.randrange(len(lines))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            line = lines[i]
            k = rng.randrange(len(line) + 1)
            lines[i] = line[:k] + rng.choice(HOSTILE) + line[k:]
        elif op == 4:
            line = lines[i]
            k = rng.randrange(len(line) + 1)
            lines[i] = line[:k] + line[k + rng.randint(1, 5) :]
        elif op == 5:
            line = lines[i]
            if ":" in line:
                key, _sep, _rest = line.partition(":")
                lines[i] = f"{key}: {rng.choice(HOSTILE)}\n"
        elif op == 6:
            lines = lines[: rng.randrange(len(lines) + 1)]
        else:
            line = lines[i]
            lines[i] = " " * rng.randint(0, 6) + line.lstrip(" ")
    return "".join(lines)


def make_cases(first: int, count: int, folder: Path) -> list[Path]:
    sources = [p.read_text(encoding="utf-8") for p in SEEDS]
    out = []
    for seed in range(first, first + count):
        rng = random.Random(seed)
        path = folder / f"case{seed}.yaml"
        path.write_text(mutate(rng.choice(sources), rng), encoding="utf-8", errors="surrogatepass")
        out.append(path)
    return out


WORKER = textwrap.dedent(
    """
    import io, json, sys
    from importlib.metadata import entry_points

    main = entry_points(group="console_scripts", name="kpitrack")[0].load()

    def run(args):
        out, err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = out, err
        sys.argv = ["kpitrack", *args]
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # anything escaping main is a failure
            code = -1
            err.write(f"escaped: {type(exc).__name__}: {exc}")
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        return code, err.getvalue(), out.getvalue()

    with open(sys.argv[1], encoding="utf-8") as cases, open(sys.argv[2], "w") as results:
        for line in cases:
            path, as_of = line.split()
            check = run(["check", "-f", path, "--as-of", as_of])
            status = run(["status", "-f", path, "--as-of", as_of])
            results.write(
                json.dumps(
                    {"path": path, "check": check[:2], "status": status[:2], "out": check[2]}
                )
                + "\\n"
            )
    """
)


# Source problems that need the disk or the local config: `check` reports them,
# `status` does not look (docs/rules.md), so only they may part the two.
SOURCE_ONLY = {"KT053", "KT055"}


def assert_case(path: str, check: tuple[int, str], status: tuple[int, str], check_out: str) -> None:
    for name, (code, err) in (("check", check), ("status", status)):
        assert "Traceback" not in err and "internal error" not in err, (name, path, err)
        assert code not in (3, -1), (name, path, code, err)
        assert code in (0, 1, 2), (name, path, code, err)
    if check[0] != 0 and status[0] == 0:
        codes = set(re.findall(r" error (KT\d+) ", check_out))
        assert codes and codes <= SOURCE_ONLY, (path, check, status, codes)
    else:
        assert (check[0] == 0) == (status[0] == 0), (path, check, status)


def test_mutated_workspaces_in_worker_processes(tmp_path: Path) -> None:
    assert entry_points(group="console_scripts", name="kpitrack"), "kpitrack is not installed"
    cases = make_cases(0, CASES, tmp_path)
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KPITRACK_DEBUG", None)
    procs = []
    for n in range(WORKERS):
        # cases in, results out through files: no pipe can fill up and stall a worker
        (tmp_path / f"cases{n}.txt").write_text(
            "".join(f"{p} {AS_OF}\n" for p in cases[n::WORKERS]), encoding="utf-8"
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, f"cases{n}.txt", f"results{n}.jsonl"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tmp_path,
                env=env,
            )
        )
    results = []
    for n, proc in enumerate(procs):
        _out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
        lines = (tmp_path / f"results{n}.jsonl").read_text(encoding="utf-8").splitlines()
        results += [json.loads(line) for line in lines]
    assert len(results) == CASES
    for r in results:
        assert_case(r["path"], tuple(r["check"]), tuple(r["status"]), r["out"])  # type: ignore[arg-type]
    # the fuzzer reaches both sides of the equivalence
    assert any(r["check"][0] == 0 for r in results)
    assert any(r["check"][0] != 0 for r in results)


def test_mutated_workspaces_as_separate_kpitrack_processes(tmp_path: Path) -> None:
    # The test command installs the package: a missing entry point is a broken install.
    assert entry_point()[0] != sys.executable, (
        "the kpitrack command is not installed beside this Python"
    )
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KPITRACK_DEBUG", None)
    for path in make_cases(100_000, SEPARATE, tmp_path):
        got = []
        for command in ("check", "status"):
            proc = run_process(
                command, "-f", str(path), "--as-of", AS_OF, env=env, cwd=tmp_path, timeout=120
            )
            got.append((proc.code, proc.stderr, proc.stdout))
        assert_case(str(path), got[0][:2], got[1][:2], got[0][2])
