"""Files, links and writers (issue #21's file and writer items, #22 items 8 and 9, the
`rename` and `export` rows of #23): symbolic links out of the repository, one permission
rule for every writer, `rename` atomic across files, one CSV writer, `record --to`, and
the low items (a chart on a short series, block scalars at the end of a file, U+202E in
`rename --dry-run`, a signal after `record`'s result, `report --to` addresses)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import command, invoke

KPIS = """\
objectives:
  - id: grow
    title: Grow
kpis:
  - id: a
    name: Alpha
    measure: Count of alphas at month end
    target: 100
    frequency: daily
    owner: Sales
    objective: grow
  - id: c
    name: Gamma
    measure: Count of gammas at month end
    target: 100
    frequency: daily
    owner: Sales
    objective: grow
"""

MEASUREMENTS = """\
measurements:
  - {kpi: a, date: 2026-01-01, value: 1}
  - {kpi: c, date: 2026-01-01, value: 1}
  - {kpi: a, date: 2026-01-02, value: 2}
"""


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / ".git").mkdir()  # a repository, as far as finding its root goes
    (folder / "kpis.yaml").write_text(KPIS)
    (folder / "measurements.yaml").write_text(MEASUREMENTS)
    monkeypatch.chdir(folder)
    return folder


# ---------------------------------------------------------------- rename vs record

WORKER = textwrap.dedent(
    """
    import contextlib, io, sys
    import typer.main
    from kpitrack.cli import main

    _build, _built = typer.main.get_command, {}
    typer.main.get_command = lambda app: _built.get(id(app)) or _built.setdefault(
        id(app), _build(app)
    )
    kind, count = sys.argv[1], int(sys.argv[2])
    failures = []

    def cli(*args):
        sys.argv = ["kpitrack", *args]
        err = io.StringIO()
        code = 0
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                main()
        except SystemExit as exc:
            code = exc.code or 0
        if code != 0:
            failures.append(f"{args}: {code}: {err.getvalue().strip()}")

    for i in range(count):
        if kind == "rename":
            cli("rename", "a", "b")
            cli("rename", "b", "a")
        else:
            cli("record", "c", str(i), "--date", f"2026-02-{i % 28 + 1:02d}",
                "--allow-duplicate")
    print("\\n".join(failures))
    sys.exit(1 if failures else 0)
    """
)


@pytest.mark.process
def test_rename_is_atomic_for_a_concurrent_record(ws: Path) -> None:
    """A record running while `rename` rewrites kpis.yaml and measurements.yaml never
    sees one file renamed and the other not (KT024 on today's main)."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, kind, str(count)],
            cwd=ws,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for kind, count in (("rename", 12), ("record", 30))
    ]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    text = (ws / "measurements.yaml").read_text()
    assert text.count("kpi: c,") == 31
    assert "kpi: b" not in text and "id: b\n" not in (ws / "kpis.yaml").read_text()


# ---------------------------------------------------------------- links out of the repository

SECRET = "https://x-access-token:ghp_SECRET@github.com"
SHADOW = "root:$6$saltsalt$hashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"


def _outside(ws: Path) -> Path:
    outside = ws.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "git-credentials").write_text(SECRET + "\n")
    (outside / "shadow").write_text(SHADOW)
    return outside


def test_check_refuses_links_out_of_the_repository_without_printing_them(ws: Path) -> None:
    _outside(ws)
    (ws / "kpis").mkdir()
    (ws / "kpis" / "a.yaml").symlink_to("../../outside/git-credentials")
    (ws / "kpis" / "b.yaml").symlink_to("../../outside/shadow")
    ran = invoke("check", "-f", "kpis.yaml", "-f", "kpis")
    assert ran.code == 1
    lines = ran.output.splitlines()
    a = [line for line in lines if line.startswith("kpis/a.yaml")]
    b = [line for line in lines if line.startswith("kpis/b.yaml")]
    assert len(a) == 1 and len(b) == 1
    assert (
        "kpis/a.yaml:1:1: error KT002 symbolic link kpis/a.yaml -> ../../outside/git-credentials"
        in a[0]
    )
    assert "outside the repository" in a[0]
    assert "ghp_" not in ran.output and "x-access-token" not in ran.output
    assert "root" not in ran.output.replace(str(ws), "") and "daemon" not in ran.output


def test_a_folder_link_out_of_the_repository_is_refused_too(ws: Path) -> None:
    outside = _outside(ws)
    (outside / "k.yaml").write_text(KPIS.replace("id: a\n", "id: z\n"))
    (ws / "more").symlink_to(outside)
    ran = invoke("check", "-f", "kpis.yaml", "-f", "more/k.yaml")
    assert ran.code == 1
    assert "symbolic link more -> " in ran.output and "KT002" in ran.output


def test_a_link_into_the_git_folder_is_refused(ws: Path) -> None:
    (ws / ".git" / "config").write_text(
        '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n'
    )
    (ws / "conf.yaml").symlink_to(".git/config")
    ran = invoke("check", "-f", "kpis.yaml", "-f", "conf.yaml")
    assert ran.code == 1
    assert "symbolic link conf.yaml -> .git/config leads into the repository's .git" in ran.output
    assert "c2VjcmV0" not in ran.output and "AUTHORIZATION" not in ran.output


def test_links_inside_the_repository_are_read(ws: Path) -> None:
    (ws / "sub").mkdir()
    (ws / "sub" / "m.yaml").symlink_to("../measurements.yaml")
    ran = invoke("check", "-f", "kpis.yaml", "-f", "sub/m.yaml")
    assert ran.code == 0, ran.output


def test_outside_a_repository_the_workspace_folder_is_the_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "kpis.yaml").write_text(KPIS)
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (folder / "measurements.yaml").symlink_to("../secret.txt")
    monkeypatch.chdir(folder)
    ran = invoke("check")
    assert ran.code == 1
    assert "outside the workspace folder" in ran.output and "ghp_" not in ran.output
    (folder / "measurements.yaml").unlink()
    (folder / "real.yaml").write_text(MEASUREMENTS)
    (folder / "measurements.yaml").symlink_to("real.yaml")
    assert invoke("check").code == 0


@pytest.mark.parametrize(
    "args",
    [
        ("record", "a", "5", "--date", "2026-02-01"),
        ("record", "a", "5", "--date", "2026-02-01", "--to", "measurements.yaml"),
        ("import", "in.csv"),
        ("rename", "a", "b"),
        ("review", "a", "--date", "2026-02-01"),
    ],
)
def test_writers_never_write_through_a_link_out_of_the_repository(
    ws: Path, args: tuple[str, ...]
) -> None:
    outside = _outside(ws)
    (outside / "m.yaml").write_text(MEASUREMENTS)
    (ws / "measurements.yaml").unlink()
    (ws / "measurements.yaml").symlink_to("../outside/m.yaml")
    (ws / "in.csv").write_text("kpi,date,value\na,2026-02-01,5\n")
    ran = invoke(*args)
    assert ran.code == 2, ran.output
    assert "symbolic link measurements.yaml -> ../outside/m.yaml" in ran.output
    assert (outside / "m.yaml").read_text() == MEASUREMENTS
    assert sorted(p.name for p in outside.iterdir()) == ["git-credentials", "m.yaml", "shadow"]
    assert (ws / "kpis.yaml").read_text() == KPIS
    assert not list(ws.glob("*.lock"))


def test_the_core_writers_refuse_a_link_out_of_the_repository(ws: Path) -> None:
    from kpitrack.domain.problems import WriteError
    from kpitrack.writing.atomicfile import check_writable
    from kpitrack.writing.recording import append_measurements
    from kpitrack.writing.renaming import IdKind, rename_in_files

    outside = _outside(ws)
    (outside / "m.yaml").write_text(MEASUREMENTS)
    link = ws / "linked.yaml"
    link.symlink_to("../outside/m.yaml")
    with pytest.raises(WriteError, match="leads outside the repository"):
        check_writable(link)
    with pytest.raises(WriteError, match="leads outside the repository"):
        append_measurements(link, [])
    with pytest.raises(WriteError, match="leads outside the repository"):
        rename_in_files([("linked.yaml", link)], IdKind.KPI, "a", "b")
    assert (outside / "m.yaml").read_text() == MEASUREMENTS
    assert not (outside / "m.yaml.lock").exists()


# ---------------------------------------------------------------- one permission rule

READ_ONLY = "read-only"


def _no_locks(ws: Path) -> None:
    assert not list(ws.rglob("*.lock"))


@pytest.mark.parametrize(
    "args",
    [
        ("record", "a", "5", "--date", "2026-02-01"),
        ("rename", "a", "b"),
        ("review", "a", "--date", "2026-02-01"),
        ("import", "../in.csv"),
    ],
)
def test_every_writer_refuses_a_read_only_folder(ws: Path, args: tuple[str, ...]) -> None:
    """Root too (this suite runs as root in CI): the owner's write bit counts."""
    (ws.parent / "in.csv").write_text("kpi,date,value\na,2026-02-01,5\n")
    before = {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file()}
    ws.chmod(0o555)
    try:
        ran = invoke(*args)
    finally:
        ws.chmod(0o755)
    assert ran.code == 2, ran.output
    assert "folder" in ran.output and "read-only (permission denied); nothing written" in ran.output
    assert {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file()} == before
    _no_locks(ws)


@pytest.mark.parametrize(
    ("args", "file"),
    [
        (("record", "a", "5", "--date", "2026-02-01"), "measurements.yaml"),
        (("rename", "a", "b"), "kpis.yaml"),
        (("rename", "a", "b"), "measurements.yaml"),
        (("review", "a", "--date", "2026-02-01"), "kpis.yaml"),
    ],
)
def test_every_writer_refuses_a_read_only_file(ws: Path, args: tuple[str, ...], file: str) -> None:
    before = {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file()}
    (ws / file).chmod(0o444)
    ran = invoke(*args)
    assert ran.code == 2, ran.output
    assert f"{file}: file is read-only; file unchanged" in ran.output
    assert {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file()} == before
    _no_locks(ws)


def test_init_refuses_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        ran = invoke("init", str(folder))
    finally:
        folder.chmod(0o755)
    assert ran.code == 2, ran.output
    assert "read-only (permission denied); nothing written" in ran.output
    assert list(folder.iterdir()) == []


def test_a_folder_writable_by_others_but_not_its_owner_is_read_only(ws: Path) -> None:
    ws.chmod(0o575)  # the owner's bit is the rule, for root and everyone
    try:
        ran = invoke("record", "a", "5", "--date", "2026-02-01")
    finally:
        ws.chmod(0o755)
    assert ran.code == 2 and "read-only" in ran.output


# ---------------------------------------------------------------- record --to


def test_record_to_a_file_the_workspace_does_not_read_is_refused(ws: Path) -> None:
    ran = invoke("record", "a", "5", "--date", "2026-02-01", "--to", "new.yaml")
    assert ran.code == 2
    assert "--to new.yaml: not a file the workspace reads" in ran.stderr
    assert "kpis.yaml, measurements.yaml" in ran.stderr
    assert not (ws / "new.yaml").exists() and not (ws / "new.yaml.lock").exists()
    ran = invoke("record", "a", "5", "--date", "2026-02-01", "--to", "kpis.yaml")
    assert ran.code == 0, ran.output
    assert "kpi: a" in (ws / "kpis.yaml").read_text().split("measurements:")[1]


# ---------------------------------------------------------------- one CSV writer

FORMULAS = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "\tx", "\rx"]


def _cells(text: str) -> list[str]:
    import csv
    import io

    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _dangerous(cells: list[str]) -> list[str]:
    from kpitrack.domain.csvout import FORMULA_STARTS

    return [c for c in cells if c.startswith(FORMULA_STARTS) and not _number(c)]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_export_neutralises_formulas_and_keeps_numbers(ws: Path) -> None:
    notes = "".join(
        f"  - {{kpi: a, date: 2026-01-{i + 3:02d}, value: -{i + 1}, "
        f"note: {_yaml(f)}, by: {_yaml(f)}}}\n"
        for i, f in enumerate(FORMULAS)
    )
    (ws / "measurements.yaml").write_text(MEASUREMENTS + notes)
    (ws / "kpis.yaml").write_text(
        KPIS.replace(
            "owner: Sales\n    objective: grow\n  - id: c",
            "owner: '=1+1'\n    objective: grow\n  - id: c",
        )
    )
    ran = invoke("export", "--as-of", "2026-02-01")
    assert ran.code == 0, ran.output
    cells = _cells(ran.stdout)
    assert _dangerous(cells) == []
    assert "'=1+1" in cells and "'@SUM(A1)" in cells and "'-2+3" in cells
    assert "-1" in cells and "-6" in cells  # numbers stay numbers
    out = ws.parent / "out.csv"
    assert invoke("export", "--as-of", "2026-02-01", "-o", str(out)).code == 0
    assert out.read_bytes().decode() == ran.stdout


def _yaml(text: str) -> str:
    import json

    return json.dumps(text)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_history_and_diff_csv_neutralise_formulas(ws: Path) -> None:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "=evil()",
        "GIT_AUTHOR_EMAIL": "e@example.com",
        "GIT_COMMITTER_NAME": "x",
        "GIT_COMMITTER_EMAIL": "x@example.com",
    }
    (ws / ".git").rmdir()

    def git(*args: str, date: str) -> None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date}T12:00:00+00:00"
        subprocess.run(["git", *args], cwd=ws, env=env, check=True, capture_output=True)

    git("init", "-q", ".", date="2026-01-01")
    git("add", ".", date="2026-01-01")
    git("commit", "-qm", "one", date="2026-01-01")
    changed = (
        KPIS.replace("name: Alpha", "name: \"+cmd|' /C calc'!A0\"")
        .replace(
            "owner: Sales\n    objective: grow\n  - id: c",
            "owner: '@SUM(A1)'\n    objective: grow\n  - id: c",
        )
        .replace(
            "target: 100\n    frequency: daily\n    owner: Sales",
            "target: -5\n    frequency: daily\n    owner: Sales",
            1,
        )
    )
    (ws / "kpis.yaml").write_text(changed)
    git("commit", "-qam", "two", date="2026-01-02")
    history = invoke("history", "--format", "csv")
    assert history.code == 0, history.output
    cells = _cells(history.stdout)
    assert "'=evil()" in cells, history.stdout
    assert _dangerous(cells) == []
    diff = invoke("diff", "HEAD~1", "--format", "csv")
    assert diff.code == 0, diff.output
    cells = _cells(diff.stdout)
    assert "'+cmd|' /C calc'!A0" in cells and "'@SUM(A1)" in cells
    assert _dangerous(cells) == []


def test_export_streams_its_rows() -> None:
    """The CSV and JSONL writers yield output while the rows are still coming: the
    first chunk arrives long before the last row is made (a writer that built the whole
    output first would have used every row)."""
    from kpitrack.reports.export import to_csv, to_jsonl

    made = [0]

    def rows(count: int) -> Iterator[dict[str, object]]:
        for i in range(count):
            made[0] += 1
            yield {"kpi": "a", "note": f"=n{i}"}

    for write in (lambda r: to_csv(r, ["kpi", "note"]), to_jsonl):
        made[0] = 0
        first = next(iter(write(rows(10_000))))
        assert made[0] < 5_000
        assert first.startswith(("kpi,note\na,'=n0\n", '{"kpi": "a", "note": "=n0"}'))


# ---------------------------------------------------------------- rename: read once


def test_rename_parses_each_file_once_and_never_builds_nodes_for_measurements(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#23: rename read its files twice and built a node per scalar of the measurement
    files (552 MiB at 100k). Now each file is parsed once (by the load), the id is found
    by a scan of the text at the rows' positions, and the edited record-style lines are
    checked line by line instead of parsing the file again."""
    from kpitrack.reading import loading, yamlnodes
    from kpitrack.writing import renaming

    rows = "".join(
        f"  - {{kpi: {'a' if i % 2 else 'c'}, date: 2025-{i % 12 + 1:02d}-01, value: {i}}}\n"
        for i in range(2000)
    )
    (ws / "measurements.yaml").write_text(MEASUREMENTS + rows)
    parsed: list[str] = []
    real_parse_file, real_parse = loading.parse_file, yamlnodes.parse

    def counting(display: str, text: str, *rest: Any) -> object:
        parsed.append(display)
        return real_parse_file(display, text, *rest)

    def no_nodes(text: str, path: str, **kw: object) -> object:
        assert "measurements" not in path, "a node tree of the measurements file was built"
        return real_parse(text, path)

    monkeypatch.setattr(loading, "parse_file", counting)
    monkeypatch.setattr(renaming, "parse_file", counting)
    monkeypatch.setattr(renaming, "parse", no_nodes)
    monkeypatch.setattr(loading, "parse", no_nodes)
    ran = invoke("rename", "a", "alpha")
    assert ran.code == 0, ran.output
    assert sorted(parsed) == ["kpis.yaml", "kpis.yaml", "measurements.yaml"]
    text = (ws / "measurements.yaml").read_text()
    assert text.count("kpi: alpha,") == 1002 and "kpi: a," not in text
    assert text == (MEASUREMENTS + rows).replace("kpi: a,", "kpi: alpha,")


def test_rename_of_block_and_quoted_entries_takes_the_careful_way(ws: Path) -> None:
    (ws / "measurements.yaml").write_text(
        "measurements:\n"
        "  - kpi: a\n    date: 2026-01-01\n    value: 1\n"
        "  - {kpi: 'a', date: 2026-01-02, value: 2}\n"
        '  - {date: 2026-01-03, kpi: "a", value: 3}\n'
        '  - {kpi: c, date: 2026-01-03, value: 3, note: "kpi: a"}\n'
    )
    ran = invoke("rename", "a", "alpha")
    assert ran.code == 0, ran.output
    assert (ws / "measurements.yaml").read_text() == (
        "measurements:\n"
        "  - kpi: alpha\n    date: 2026-01-01\n    value: 1\n"
        "  - {kpi: 'alpha', date: 2026-01-02, value: 2}\n"
        '  - {date: 2026-01-03, kpi: "alpha", value: 3}\n'
        '  - {kpi: c, date: 2026-01-03, value: 3, note: "kpi: a"}\n'
    )


# ---------------------------------------------------------------- low items of #21

SIGNAL_AFTER_RESULT = textwrap.dedent(
    """
    import os, signal, sys
    from kpitrack import _entry
    from kpitrack.writing import atomicfile

    real = atomicfile.release_interrupts
    which = signal.SIGTERM if sys.argv[1] == "TERM" else signal.SIGINT

    def release(**kw):
        done = real(**kw)
        os.kill(os.getpid(), which)  # the result is printed, the process not yet gone
        sys.stdout.flush()
        return done

    atomicfile.release_interrupts = release
    sys.argv = ["kpitrack", "record", "a", "7", "--date", "2026-02-01"]
    _entry.main()  # the console script's entry point
    """
)


@pytest.mark.process
@pytest.mark.parametrize("which", ["INT", "TERM"])
def test_a_signal_after_record_printed_its_result_exits_0(ws: Path, which: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SIGNAL_AFTER_RESULT, which],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "recorded a = 7" in done.stdout
    assert (ws / "measurements.yaml").read_text().count("value: 7}") == 1


def test_in_process_callers_keep_their_interrupt_handlers(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the kpitrack process itself ignores interrupts after a committed write; a
    caller running commands in its own process (tests, workers) keeps its handlers (and
    the processes it starts do not inherit an ignored SIGINT)."""
    import signal

    from kpitrack import cli

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(sys, "argv", ["kpitrack", "record", "a", "7", "--date", "2026-02-01"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code in (0, None)
    assert "value: 7}" in (ws / "measurements.yaml").read_text()
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_show_charts_a_milestone_between_two_samples(ws: Path) -> None:
    (ws / "kpis.yaml").write_text(
        "kpis:\n  - id: k0\n    name: K zero\n    measure: Count of things at month end\n"
        "    target: 5\n    frequency: monthly\n    owner: Sales\n"
        "    milestones:\n      - {date: 2026-12-31, target: 100}\n"
    )
    (ws / "measurements.yaml").write_text(
        "measurements:\n  - {kpi: k0, date: 2026-06-13, value: 0}\n"
        "  - {kpi: k0, date: 2027-06-30, value: 1}\n"
    )
    assert invoke("check", "--as-of", "2027-07-01").code == 0
    ran = invoke("show", "k0", "--as-of", "2027-07-01")
    assert ran.code == 0, ran.output
    assert "◆" in ran.stdout and "100 ┤" in ran.stdout


@pytest.mark.parametrize("command", ["record", "import"])
def test_append_after_a_block_scalar_and_a_comment_without_final_newline(
    ws: Path, command: str
) -> None:
    old = (
        "measurements:\n  - kpi: a\n    date: 2026-01-05\n    value: 1\n"
        "    note: |\n      one\n    # c"
    )
    (ws / "measurements.yaml").write_text(old)
    assert invoke("check", "--as-of", "2026-03-01").code == 0
    (ws / "in.csv").write_text("kpi,date,value\na,2026-02-01,5\n")
    args = (
        ("record", "a", "5", "--date", "2026-02-01")
        if command == "record"
        else ("import", "in.csv")
    )
    ran = invoke(*args)
    assert ran.code == 0, ran.output
    new = (ws / "measurements.yaml").read_text()
    assert new.startswith(old + "\n")  # every old byte kept, `|` not turned into `|-`
    from kpitrack.reading.yamlnodes import parse

    root, _ = parse(new, "m.yaml")
    assert "one\n" in [s.text for s in _scalars(root)]


def _scalars(node: object) -> list[Any]:
    from kpitrack.reading.yamlnodes import Map, Scalar, Seq

    if isinstance(node, Scalar):
        return [node]
    if isinstance(node, Seq):
        return [s for item in node.items for s in _scalars(item)]
    if isinstance(node, Map):
        return [s for k, v in node.items for s in (*_scalars(k), *_scalars(v))]
    return []


def test_rename_dry_run_escapes_bidi_overrides(ws: Path) -> None:
    (ws / "measurements.yaml").write_text(
        MEASUREMENTS + '  - {kpi: a, date: 2026-01-03, value: 3, note: "\u202eevil"}\n'
    )
    assert "\u202e" in (ws / "measurements.yaml").read_text()  # the raw character
    ran = invoke("rename", "a", "alpha", "--dry-run")
    assert ran.code == 0, ran.output
    assert "\u202e" not in ran.stdout
    assert "\\u202e" in ran.stdout


@pytest.mark.parametrize(
    "to",
    [
        "Ann\u2028Bcc: x@evil.example <a@example.com>",
        "Ann\u2029x@evil.example",
        "Ann\x85Bcc: x@evil.example",
        "a@example.com\x0bBcc: x@evil.example",
        "a@example.com\x0c",
        "Ann\u200e <a@example.com>",
        "Team: a@example.com, x@evil.example;",
        "a@example.com <x@evil.example>",
        "a@example.com,,b@example.com",
        '"Ann <a@example.com>',
    ],
)
def test_report_refuses_odd_addresses(ws: Path, to: str) -> None:
    ran = invoke("report", "--format", "email", "--mail-to", to, "--from", "me@example.com")
    assert ran.code == 2, ran.output
    assert ran.stdout == "" and "kpitrack: error: --mail-to:" in ran.stderr
    assert "\u2028" not in ran.stderr and "\x85" not in ran.stderr


def test_report_still_takes_plain_and_named_addresses(ws: Path) -> None:
    to = 'Ann <a@example.com>, b@example.com, "Ops, team" <o@example.com>'
    ran = invoke("report", "--format", "email", "--mail-to", to, "--from", "me@example.com")
    assert ran.code == 0, ran.output
    header = next(line for line in ran.stdout.splitlines() if line.startswith("To:"))
    assert header == 'To: Ann <a@example.com>, b@example.com, "Ops, team" <o@example.com>'


def test_export_fast_paths_equal_the_row_by_row_writers(ws: Path) -> None:
    import datetime as dt

    from kpitrack.domain.model import Config
    from kpitrack.reading.loading import load_workspace
    from kpitrack.reports.export import (
        MEASUREMENT_COLUMNS,
        measurement_csv,
        measurement_jsonl,
        measurement_rows,
        to_csv,
        to_jsonl,
    )

    notes = "".join(
        f"  - {{kpi: {'a' if i % 2 else 'c'}, date: 2026-01-{i + 3:02d}, value: {i - 3}, "
        f"note: {_yaml(f)}, by: {_yaml(f)}}}\n"
        for i, f in enumerate([*FORMULAS, 'a "quoted", text', "plain"])
    )
    (ws / "measurements.yaml").write_text(MEASUREMENTS + notes)
    workspace, _ = load_workspace(
        [ws / "kpis.yaml", ws / "measurements.yaml"], config=Config(), as_of=dt.date(2026, 3, 1)
    )
    for ids in ({"a", "c"}, {"c"}):
        fast = "".join(measurement_csv(workspace, ids, batch=3))
        assert fast == "".join(to_csv(measurement_rows(workspace, ids), MEASUREMENT_COLUMNS))
        fast = "".join(measurement_jsonl(workspace, ids, batch=3))
        assert fast == "".join(to_jsonl(measurement_rows(workspace, ids)))


def _as_nobody() -> bool:
    """Whether this (root) process can run this Python as user nobody."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import kpitrack"],
            preexec_fn=lambda: os.setuid(65534),
            capture_output=True,
            timeout=30,
        )
    except OSError:
        return False
    return done.returncode == 0


@pytest.mark.process
@pytest.mark.skipif(not _as_nobody(), reason="needs root and a Python that user nobody can run")
def test_the_permission_rule_holds_for_a_non_root_user(tmp_path: Path) -> None:
    """The same refusals for an ordinary user (the other tests run as whoever runs the
    suite: root in CI's container)."""
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "kpis.yaml").write_text(KPIS)
    (folder / "measurements.yaml").write_text(MEASUREMENTS)
    for path in (tmp_path, folder, folder / "kpis.yaml", folder / "measurements.yaml"):
        os.chown(path, 65534, 65534)
    tmp_path.chmod(0o755)
    folder.chmod(0o555)
    for args in (("record", "a", "5", "--date", "2026-02-01"), ("rename", "a", "b")):
        done = subprocess.run(
            command(*args),
            cwd=folder,
            preexec_fn=lambda: os.setuid(65534),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert "read-only (permission denied); nothing written" in done.stderr
    folder.chmod(0o755)
    assert not list(folder.glob("*.lock"))


def test_rename_plans_again_when_another_writer_came_first(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record that lands between rename's load and its locks is renamed too."""
    from kpitrack.writing import atomicfile, renaming

    real = atomicfile.check_writable
    appended: list[str] = []

    def record_meanwhile(path: Path, display: Path | str | None = None) -> Path:
        if not appended:
            appended.append("yes")
            with (ws / "measurements.yaml").open("a") as f:
                f.write("  - {kpi: a, date: 2026-01-09, value: 9}\n")
        return real(path, display)

    monkeypatch.setattr(renaming, "check_writable", record_meanwhile)
    ran = invoke("rename", "a", "alpha")
    assert ran.code == 0, ran.output
    text = (ws / "measurements.yaml").read_text()
    assert "kpi: a," not in text and text.count("kpi: alpha,") == 3
    assert "date: 2026-01-09, value: 9" in text
