"""`kpitrack review`: one line of the KPI's file changed, locked, atomic, verified."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import random
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import support
from write_fixtures import python_process

from kpitrack.domain.model import Config
from kpitrack.domain.problems import WriteError
from kpitrack.reading.loading import load_texts
from kpitrack.writing import atomicfile as writing
from kpitrack.writing.atomicfile import TEMP_PREFIX
from kpitrack.writing.reviewing import check_review_edit, set_kpi_key, write_review

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 11, 25)

KPIS = """\
# KPI definitions, kept by hand.
objectives:
  - id: grow
    title: Grow the business
kpis:
  - id: mrr
    name: Monthly recurring revenue   # the board's number
    measure: Sum of active subscriptions at month end
    target: 100
    frequency: monthly
    owner: Sales
    objective: grow
    review: quarterly
    last_reviewed: 2026-01-05  # an old note
    tags: [revenue]

  - id: csat
    name: Customer satisfaction
    measure: Median answer of the quarterly customer survey
    kind: qualitative
    scale: [poor, fair, good, excellent]
    target: good
    frequency: quarterly
    owner: Support
    objective: grow
    review: yearly
    milestones:
      - date: 2026-06-30
        target: fair
    # trailing comment of csat

  - {id: churn, name: Churn, measure: Customers lost over customers at start, target: 2,
     frequency: monthly, direction: decrease, owner: Sales, objective: grow}
measurements:
  - {kpi: mrr, date: 2026-10-31, value: 90}
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """(lines only in old, lines only in new), keeping order; asserts the rest is equal."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[-1 - j] == b[-1 - j]:
        j += 1
    return a[i : len(a) - j], b[i : len(b) - j]


@pytest.fixture
def kfile(tmp_path: Path) -> Path:
    path = tmp_path / "kpis.yaml"
    path.write_text(KPIS)
    return path


# ---------------------------------------------------------------- the edit itself


def test_existing_value_is_replaced_in_place_note_and_all() -> None:
    new = set_kpi_key(KPIS, "mrr", "last_reviewed", "2026-11-25", path="k.yaml")
    assert changed_lines(KPIS, new) == (
        ["    last_reviewed: 2026-01-05  # an old note\n"],
        ["    last_reviewed: 2026-11-25\n"],
    )


def test_missing_key_is_inserted_after_the_kpis_last_key() -> None:
    new = set_kpi_key(KPIS, "csat", "last_reviewed", "2026-11-25  # ok", path="k.yaml")
    removed, added = changed_lines(KPIS, new)
    assert removed == []
    assert added == ["    last_reviewed: 2026-11-25  # ok\n"]
    # after the nested milestones, before the KPI's trailing comment
    assert "        target: fair\n    last_reviewed: 2026-11-25  # ok\n    # trailing" in new
    workspace, problems = load_texts([("k.yaml", new)], config=Config(), as_of=DAY)
    assert [p for p in problems if p.is_error] == []
    csat = workspace.kpi("csat")
    assert csat is not None and csat.last_reviewed == DAY


def test_crlf_bom_free_and_no_trailing_newline() -> None:
    crlf = KPIS.replace("\n", "\r\n")
    new = set_kpi_key(crlf, "mrr", "last_reviewed", "2026-11-25", path="k.yaml")
    assert "\r\n    last_reviewed: 2026-11-25\r\n" in new
    assert new.count("\n") == new.count("\r\n")
    short = "kpis:\n  - id: a\n    name: A"
    assert set_kpi_key(short, "a", "last_reviewed", "2026-11-25", path="k.yaml") == (
        "kpis:\n  - id: a\n    name: A\n    last_reviewed: 2026-11-25\n"
    )


@pytest.mark.parametrize(
    ("text", "kpi", "words"),
    [
        (KPIS, "churn", "flow style"),
        ("kpis: [{id: a, name: A}]\n", "a", "flow style"),
        ("{kpis: []}\n", "a", "flow style"),
        (KPIS, "nope", "not defined in this file"),
        ("kpis:\n  - id: a\n    last_reviewed: |\n      2026-01-01\n", "a", "one line"),
        ("kpis:\n  - id: a\n  - [\n", "a", "not valid YAML"),
    ],
)
def test_unsafe_edits_are_refused(text: str, kpi: str, words: str) -> None:
    with pytest.raises(WriteError, match=words):
        set_kpi_key(text, kpi, "last_reviewed", "2026-11-25", path="k.yaml")


def test_check_review_edit_catches_a_wrong_text() -> None:
    good = set_kpi_key(KPIS, "csat", "last_reviewed", "2026-11-25", path="k.yaml")
    check_review_edit(KPIS, good, "csat", DAY, path="k.yaml")
    with pytest.raises(WriteError, match="more than the review date"):
        check_review_edit(KPIS, good.replace("target: 100", "target: 90"), "csat", DAY, path="k")
    with pytest.raises(WriteError, match="more than the review date"):
        check_review_edit(KPIS, good, "csat", DAY + dt.timedelta(days=1), path="k.yaml")
    with pytest.raises(WriteError, match="more than the review date"):  # the wrong KPI
        check_review_edit(KPIS, good, "mrr", DAY, path="k.yaml")


# ---------------------------------------------------------------- the write


def test_write_keeps_bom_mode_and_symlink(tmp_path: Path, kfile: Path) -> None:
    kfile.write_bytes(b"\xef\xbb\xbf" + KPIS.encode())
    os.chmod(kfile, 0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to(kfile.name)
    write_review(link, "mrr", DAY)
    assert link.is_symlink()
    data = kfile.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# KPI definitions")
    assert b"    last_reviewed: 2026-11-25\n" in data
    assert kfile.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "kpis.yaml.lock").exists()
    assert temp_files(tmp_path) == []


def test_read_only_and_refused_files_are_untouched(kfile: Path) -> None:
    before = sha(kfile)
    with pytest.raises(WriteError, match="flow style"):
        write_review(kfile, "churn", DAY)
    os.chmod(kfile, 0o444)
    with pytest.raises(WriteError, match="read-only"):
        write_review(kfile, "mrr", DAY)
    assert sha(kfile) == before
    assert temp_files(kfile.parent) == []


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_disk_errors_leave_the_file_intact(
    kfile: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    before = sha(kfile)

    def full_disk(*args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, full_disk)
    with pytest.raises(WriteError, match="No space left"):
        write_review(kfile, "mrr", DAY)
    monkeypatch.undo()
    assert sha(kfile) == before
    assert temp_files(kfile.parent) == []


def test_orphans_removed_and_lock_timeout(kfile: Path) -> None:
    orphan = kfile.parent / f"{TEMP_PREFIX}0000beef-1-abcd1234.tmp"
    orphan.write_text("half a file")
    old = time.time() - 2 * writing.ORPHAN_AGE
    os.utime(orphan, (old, old))
    write_review(kfile, "mrr", DAY)
    assert temp_files(kfile.parent) == []
    with writing.file_lock(kfile), pytest.raises(WriteError, match="still writing"):
        write_review(kfile, "csat", DAY, timeout=0.1)


# ---------------------------------------------------------------- real processes

REVIEWER = textwrap.dedent(
    """
    import datetime as dt, sys
    from pathlib import Path
    from kpitrack.domain.model import Measurement
    from kpitrack.writing.reviewing import write_review
    from kpitrack.writing.recording import append_measurements
    path, kpi, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    i = 0
    while count < 0 or i < count:
        day = dt.date(2026, 1, 1) + dt.timedelta(days=i % 300)
        if kpi == "record":
            append_measurements(path, [Measurement("mrr", day, i, None, "w")])
        else:
            write_review(path, kpi, day)
        i += 1
    """
)


def _process(path: Path, kpi: str, count: int) -> subprocess.Popen[str]:
    return python_process(REVIEWER, str(path), kpi, str(count))


def _load(text: str) -> tuple[dict[str, dt.date | None], int]:
    workspace, problems = load_texts([("k.yaml", text)], config=Config(), as_of=DAY)
    assert [p.format() for p in problems if p.is_error] == []
    return {k.id: k.last_reviewed for k in workspace.kpis}, len(workspace.measurements)


def test_concurrent_reviews_and_records_all_land(kfile: Path) -> None:
    procs = [_process(kfile, "mrr", 20), _process(kfile, "csat", 20), _process(kfile, "record", 20)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    reviewed, count = _load(kfile.read_text())
    last = dt.date(2026, 1, 1) + dt.timedelta(days=19)
    assert reviewed["mrr"] == last and reviewed["csat"] == last
    assert count == 1 + 20  # every record landed beside the reviews
    assert kfile.read_text().count("last_reviewed:") == 2
    assert temp_files(kfile.parent) == []


def test_sigkill_never_tears_the_file(kfile: Path) -> None:
    filler = "".join(f"  - {{kpi: mrr, date: 2025-01-01, value: {i}}}\n" for i in range(3000))
    kfile.write_text(KPIS + filler)
    rng = random.Random(4321)
    for _ in range(12):
        proc = _process(kfile, "csat", -1)
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        text = kfile.read_text()
        assert text.startswith(KPIS.split("    milestones:")[0])
        _reviewed, count = _load(text)
        assert count == 3001  # whole file, never torn
        assert text.count("last_reviewed:") in (1, 2)
    write_review(kfile, "mrr", DAY)
    assert temp_files(kfile.parent) == []


# ---------------------------------------------------------------- the command


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    ran = support.invoke(*args)
    return ran.code, ran.stdout, ran.stderr


def test_review_clears_review_due(ws: Path) -> None:
    code, out, _ = run("actions", "--as-of", "2026-11-25", "--kpi", "mrr", "--format", "csv")
    assert "review-due" in out
    code, out, err = run("review", "mrr", "--date", "2026-11-25", "--note", "still right")
    assert code == 0, err
    assert "reviewed mrr on 2026-11-25 in kpis.yaml" in out
    assert "    last_reviewed: 2026-11-25  # still right\n" in (ws / "kpis.yaml").read_text()
    code, out, _ = run("actions", "--as-of", "2026-11-25", "--kpi", "mrr", "--format", "csv")
    assert "review-due" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no KPI 'nope'"),
        (["mrr", "--date", "2026-02-30"], "--date"),
        (["mrr", "--date", "2999-01-01"], "after today"),
        (["mrr", "--note", "two\nlines"], "one line"),
        (["churn"], "flow style"),
    ],
)
def test_review_refusals_leave_the_file(ws: Path, args: list[str], message: str) -> None:
    before = sha(ws / "kpis.yaml")
    code, out, err = run("review", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err
    assert sha(ws / "kpis.yaml") == before


def test_review_refuses_an_invalid_workspace(ws: Path) -> None:
    path = ws / "kpis.yaml"
    path.write_text(KPIS.replace("target: 100", "target: lots"))
    before = sha(path)
    code, _, err = run("review", "mrr")
    assert code == 2
    assert "KT016" in err
    assert sha(path) == before


def test_concurrent_cli_reviews_and_records_all_land(ws: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = [
        ["review", "mrr", "--date", "2026-11-20", "--note", "by cron"],
        ["review", "csat", "--date", "2026-11-21"],
        ["record", "mrr", "95", "--date", "2026-11-22", "--to", "kpis.yaml"],
        ["record", "mrr", "96", "--date", "2026-11-23", "--to", "kpis.yaml"],
    ]
    procs = [
        subprocess.Popen(
            support.command(*args),
            cwd=ws,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    text = (ws / "kpis.yaml").read_text()
    reviewed, count = _load(text)
    assert reviewed["mrr"] == dt.date(2026, 11, 20) and reviewed["csat"] == dt.date(2026, 11, 21)
    assert "    last_reviewed: 2026-11-20  # by cron\n" in text
    assert count == 3
    assert temp_files(ws) == []
