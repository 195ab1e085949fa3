"""Locked, atomic, byte-preserving appends (SPEC §5): real processes, real failures."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from write_fixtures import python_process

from kpitrack.domain.model import Config, Measurement
from kpitrack.domain.problems import WriteError
from kpitrack.reading.loading import load_texts
from kpitrack.reading.yamlnodes import Map, Scalar, parse, scalar_value
from kpitrack.writing import atomicfile as writing
from kpitrack.writing.atomicfile import TEMP_PREFIX, create_new_file, remove_orphaned_temp_files
from kpitrack.writing.recording import append_measurements
from kpitrack.writing.yamlappend import check_append, insert_measurements, yaml_scalar

AS_OF = dt.date(2026, 12, 31)

KPIS = """\
kpis:
  - id: mrr
    name: Monthly recurring revenue
    measure: Sum of active subscriptions at month end
    target: 100
    frequency: monthly
    owner: Sales
  - id: csat
    name: Customer satisfaction
    measure: Median answer of the quarterly customer survey
    kind: qualitative
    scale: [poor, fair, good, excellent]
    target: good
    frequency: quarterly
    owner: Support
"""

BLOCK = (
    "# Measurements, kept by hand.   \n"
    + """\
measurements:
  - kpi: mrr     # first!
    date: 2026-01-31
    value: 10
    note: 'single: quoted'

  - kpi: mrr
    date: 2026-02-28
    value: 12.5
    # checked by finance
  # - kpi: mrr   (commented-out entry stays after the new ones)

# footer comment
"""
)


def m(value: float | str = 42, day: int = 1, **kw: str) -> Measurement:
    kpi = "csat" if isinstance(value, str) else "mrr"
    return Measurement(kpi, dt.date(2026, 3, day), value, kw.get("note"), kw.get("by"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def load(*texts: str) -> list[tuple[str, dt.date, object, str | None, str | None]]:
    """Measurements of a workspace made of KPIS plus `texts`; asserts it has no errors."""
    sources = [("kpis.yaml", KPIS)] + [(f"m{i}.yaml", t) for i, t in enumerate(texts)]
    workspace, problems = load_texts(sources, config=Config(), as_of=AS_OF)
    errors = [p.format() for p in problems if p.is_error]
    assert errors == []
    return [(x.kpi, x.date, x.value, x.note, x.by) for x in workspace.measurements]


def split_insert(old: bytes, new: bytes) -> tuple[bytes, bytes, bytes]:
    """(kept prefix, inserted, kept suffix): asserts `new` is `old` with lines inserted."""
    k = 0
    while k < len(old) and k < len(new) and old[k] == new[k]:
        k += 1
    # back up to the start of the line where the insertion happened
    k = old.rfind(b"\n", 0, k) + 1 if k < len(old) else k
    suffix = old[k:]
    assert new.startswith(old[:k])
    assert new.endswith(suffix)
    return old[:k], new[k : len(new) - len(suffix)], suffix


@pytest.fixture
def mfile(tmp_path: Path) -> Path:
    path = tmp_path / "measurements.yaml"
    path.write_text(BLOCK)
    return path


# ---------------------------------------------------------------- text insertion


def test_block_append_keeps_every_other_byte(mfile: Path) -> None:
    old = mfile.read_bytes()
    append_measurements(mfile, [m(42, note="no"), m(7, day=2, by="Ana: #1")])
    new = mfile.read_bytes()
    before, inserted, after = split_insert(old, new)
    assert before.endswith(b"    # checked by finance\n")
    assert after.startswith(b"  # - kpi: mrr")
    assert inserted == (
        b'  - kpi: mrr\n    date: 2026-03-01\n    value: 42\n    note: "no"\n'
        b'  - kpi: mrr\n    date: 2026-03-02\n    value: 7\n    by: "Ana: #1"\n'
    )
    assert load(new.decode())[-2:] == [
        ("mrr", dt.date(2026, 3, 1), 42, "no", None),
        ("mrr", dt.date(2026, 3, 2), 7, None, "Ana: #1"),
    ]


def test_flow_entries_get_flow_entries(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "kpis: []  # none here\nmeasurements:\n- {kpi: mrr, date: 2026-01-31, value: 1}\n"
    )
    append_measurements(path, [m(2)])
    assert path.read_text().endswith(
        "- {kpi: mrr, date: 2026-01-31, value: 1}\n- {kpi: mrr, date: 2026-03-01, value: 2}\n"
    )


def test_measurements_list_is_created_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "all.yaml"
    path.write_text(KPIS + "# the end")  # no newline, last line a comment
    old = path.read_bytes()
    append_measurements(path, [m("good")])
    new = path.read_bytes()
    assert new == old + b"\nmeasurements:\n  - kpi: csat\n    date: 2026-03-01\n    value: good\n"


def test_missing_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    result = append_measurements(path, [m(1)])
    assert result.created_file
    assert path.read_text() == "measurements:\n  - kpi: mrr\n    date: 2026-03-01\n    value: 1\n"


def test_empty_measurements_key_gets_its_first_entry(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("measurements:   # none yet\n# trailing comment\n")
    append_measurements(path, [m(1)])
    assert path.read_text() == (
        "measurements:   # none yet\n  - kpi: mrr\n    date: 2026-03-01\n    value: 1\n"
        "# trailing comment\n"
    )


def test_crlf_and_bom_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BLOCK.replace("\n", "\r\n").encode())
    append_measurements(path, [m(3)])
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# Measurements")
    assert data.count(b"\n") == data.count(b"\r\n")
    assert b"  - kpi: mrr\r\n    date: 2026-03-01\r\n    value: 3\r\n" in data
    assert len(load(data[3:].decode())) == 3


def test_no_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 1  # est.")
    append_measurements(path, [m(2)])
    assert path.read_text() == (
        "measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 1  # est.\n"
        "  - kpi: mrr\n    date: 2026-03-01\n    value: 2\n"
    )


def test_next_top_level_key_stays_after_the_list(tmp_path: Path) -> None:
    path = tmp_path / "all.yaml"
    text = "measurements:\n- kpi: mrr\n  date: 2026-01-31\n  value: 1\n\n" + KPIS
    path.write_text(text)
    append_measurements(path, [m(2)])
    new = path.read_text()
    assert new.startswith("measurements:\n- kpi: mrr\n  date: 2026-01-31\n  value: 1\n- kpi: mrr\n")
    assert new.endswith("\n\n" + KPIS)
    assert len(load(new.replace(KPIS, ""))) == 2


def test_symlink_stays_a_symlink(tmp_path: Path, mfile: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(mfile.name)
    append_measurements(link, [m(5)])
    assert link.is_symlink()
    assert "value: 5" in mfile.read_text()
    assert (tmp_path / "measurements.yaml.lock").exists()
    assert not (tmp_path / "link.yaml.lock").exists()


def test_mode_is_kept(mfile: Path) -> None:
    os.chmod(mfile, 0o640)
    append_measurements(mfile, [m(5)])
    assert mfile.stat().st_mode & 0o777 == 0o640


# ---------------------------------------------------------------- refusals leave the file untouched


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("measurements: [{kpi: mrr, date: 2026-01-31, value: 1}]\n", "flow style"),
        ("measurements: []\n", "flow style"),
        ("measurements: none\n", "not a list"),
        ("measurements:\n  kpi: mrr\n", "mapping"),
        ("{measurements: []}\n", "flow style"),
        ("measurements:\n  - kpi: [\n", "not valid YAML"),
        ("- 1\n- 2\n", "not a mapping"),
    ],
)
def test_unsafe_files_are_refused(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    before = sha(path)
    with pytest.raises(WriteError, match=words):
        append_measurements(path, [m(1)])
    assert sha(path) == before
    assert temp_files(tmp_path) == []


def test_read_only_file_is_refused(mfile: Path) -> None:
    os.chmod(mfile, 0o444)
    before = sha(mfile)
    with pytest.raises(WriteError, match="read-only"):
        append_measurements(mfile, [m(1)])
    assert sha(mfile) == before


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_disk_errors_leave_the_file_intact(
    mfile: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    before = sha(mfile)
    real_write = os.write

    def full_disk(*args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def half_write(fd: int, data: bytes) -> int:
        if len(data) > 10:  # part of the data lands, then the disk is full
            real_write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, "No space left on device")

    if failing == "write":
        monkeypatch.setattr(os, "write", half_write)
    else:
        monkeypatch.setattr(os, failing, full_disk)
    with pytest.raises(WriteError, match="No space left"):
        append_measurements(mfile, [m(1)])
    monkeypatch.undo()
    assert sha(mfile) == before
    assert temp_files(mfile.parent) == []


def test_failing_verifier_leaves_the_file_intact(mfile: Path) -> None:
    before = sha(mfile)

    def refuse(old: str | None, new: str) -> list[object]:
        raise WriteError("no")

    with pytest.raises(WriteError):
        append_measurements(mfile, [m(1)], verify=refuse)  # type: ignore[arg-type]
    assert sha(mfile) == before


def test_check_append_catches_a_wrong_text() -> None:
    old = "measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 1\n"
    good = insert_measurements(old, [m(2)], path="m.yaml")
    check_append(old, good, [m(2)], path="m.yaml")
    with pytest.raises(WriteError):  # an entry lost
        check_append(old, good.replace("value: 1", "value: 9"), [m(2)], path="m.yaml")
    with pytest.raises(WriteError):  # the new entry differs
        check_append(old, good, [m(3)], path="m.yaml")


# ---------------------------------------------------------------- temporary files and locks


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_orphaned_temp_files_are_removed_and_live_ones_kept(mfile: Path) -> None:
    host = writing._host_tag()
    orphan = mfile.parent / f"{TEMP_PREFIX}{host}-{_dead_pid()}-abcd1234.tmp"
    live = mfile.parent / f"{TEMP_PREFIX}{host}-{os.getpid()}-abcd1234.tmp"
    old_foreign = mfile.parent / f"{TEMP_PREFIX}0000beef-1-abcd1234.tmp"
    for path in (orphan, live, old_foreign):
        path.write_text("half a file")
    hour_ago = time.time() - 2 * writing.ORPHAN_AGE
    os.utime(old_foreign, (hour_ago, hour_ago))
    append_measurements(mfile, [m(1)])
    assert temp_files(mfile.parent) == [live.name]
    assert remove_orphaned_temp_files(mfile.parent, max_age=0) == [live]


def test_lock_timeout_is_a_clear_error(mfile: Path) -> None:
    with writing.file_lock(mfile), pytest.raises(WriteError, match="still writing"):
        append_measurements(mfile, [m(1)], timeout=0.1)


def test_create_new_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    assert create_new_file(path, b"one\n")
    assert not create_new_file(path, b"two\n")
    assert path.read_bytes() == b"one\n"
    assert temp_files(tmp_path) == []


# ---------------------------------------------------------------- the scalar emitter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on track", "on track"),
        ("no", '"no"'),
        ("Yes", '"Yes"'),
        ("null", '"null"'),
        ("12", '"12"'),
        ("2026-01-01", '"2026-01-01"'),
        ("a: b", '"a: b"'),
        ("#1", '"#1"'),
        ("x # y", '"x # y"'),
        ("- x", '"- x"'),
        (" pad", '" pad"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("two\nlines", '"two\\nlines"'),
    ],
)
def test_yaml_scalar(text: str, expected: str) -> None:
    assert yaml_scalar(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_yaml_scalar_round_trips_in_block_and_flow(text: str) -> None:
    emitted = yaml_scalar(text)
    for doc in (f"k: {emitted}\n", f"- {{k: {emitted}, z: 1}}\n"):
        root, problems = parse(doc, "t.yaml")
        assert problems == []
        node = root.get("k") if isinstance(root, Map) else root.items[0].get("k")  # type: ignore[union-attr]
        assert isinstance(node, Scalar)
        assert scalar_value(node) == text
        # YAML 1.1 readers (PyYAML's safe_load) get the same string back
        loaded = yaml.safe_load(doc)
        assert (loaded["k"] if isinstance(loaded, dict) else loaded[0]["k"]) == text


@settings(max_examples=100, deadline=None)
@given(
    note=st.one_of(st.none(), st.text(st.characters(blacklist_categories=["Cs"]), min_size=1)),
    value=st.one_of(
        st.integers(-(10**12), 10**12),
        st.floats(min_value=-1e15, max_value=1e15),
    ),
)
def test_loading_what_was_written_gives_back_the_measurement(
    note: str | None, value: float
) -> None:
    entry = Measurement("mrr", dt.date(2026, 3, 1), value, note)
    new = insert_measurements(BLOCK, [entry], path="m.yaml")
    check_append(BLOCK, new, [entry], path="m.yaml")
    last = load(new)[-1]
    assert last == ("mrr", dt.date(2026, 3, 1), value, note if note and note else None, None)


# ---------------------------------------------------------------- real processes

WRITER = textwrap.dedent(
    """
    import datetime as dt, sys
    from pathlib import Path
    from kpitrack.domain.model import Measurement
    from kpitrack.writing.recording import append_measurements
    path, who, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    i = 0
    while count < 0 or i < count:
        entry = Measurement("mrr", dt.date(2026, 1, 1) + dt.timedelta(days=i), i, None, who)
        append_measurements(path, [entry])
        i += 1
    """
)


def _writer(path: Path, who: str, count: int) -> subprocess.Popen[str]:
    return python_process(WRITER, str(path), who, str(count))


def test_concurrent_writers_all_land(mfile: Path) -> None:
    writers = [_writer(mfile, f"w{n}", 25) for n in range(4)]
    for proc in writers:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    rows = load(mfile.read_text())
    for n in range(4):
        mine = [r[2] for r in rows if r[4] == f"w{n}"]
        assert mine == list(range(25))  # each writer's entries, all present, in its order
    assert len(rows) == 2 + 100
    assert mfile.read_text().startswith(BLOCK.split("  # - kpi: mrr")[0])
    assert temp_files(mfile.parent) == []


def test_sigkill_never_tears_the_file(mfile: Path) -> None:
    # A big file makes each write take long enough for kills to land mid-write.
    filler = "".join(
        f"  - kpi: mrr\n    date: 2025-01-01\n    value: {i}\n    note: filler {i}\n"
        for i in range(1000)
    )
    mfile.write_text(BLOCK.replace("  # - kpi: mrr", filler + "  # - kpi: mrr"))
    original = mfile.read_bytes()
    prefix = original[: original.index(b"  # - kpi: mrr")]
    rng = random.Random(1234)
    seen_sizes = set()
    for round_ in range(20):
        size = mfile.stat().st_size
        proc = _writer(mfile, "killed", -1)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        if round_ % 4 == 0:
            # Every fourth run is killed only after it has written once, so the test
            # sees writes land however loaded the machine is; the others at random.
            deadline = time.monotonic() + 30
            while mfile.stat().st_size == size and time.monotonic() < deadline:
                time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
        data = mfile.read_bytes()
        assert data.startswith(prefix)  # never torn: the old bytes are all there
        rows = load(data.decode())
        killed = [r[2] for r in rows if r[4] == "killed"]
        # whole entries only, in the order they were appended by each run
        assert len(rows) == 1002 + len(killed)
        seen_sizes.add(len(data))
    # the next write removes what the killed writers left behind
    append_measurements(mfile, [m(1)])
    assert temp_files(mfile.parent) == []
    assert len(seen_sizes) > 1  # the writers did get to write between kills


# ---------------------------------------------------------------- amend and checkin


def _amend_or_checkin(
    which: str, folder: Path, mfile: Path, value: int = 11, timeout: float = 60
) -> object:
    """One write of `amend` (the January entry's value) or `checkin` (a value for the
    first period mrr owes), through their cores."""
    from kpitrack.writing.amending import amend
    from kpitrack.writing.checkin import answer, start_checkin, write_answers

    files = [folder / "kpis.yaml", mfile]
    if which == "amend":
        return amend(
            "mrr",
            str(value),
            date="2026-01",
            today=AS_OF,
            config=Config(),
            files=files,
            timeout=timeout,
        )
    session = start_checkin(today=AS_OF, config=Config(), files=files, kpis=["mrr"])
    [owes] = session.kpis
    owed = owes.owed[0]
    entered = [answer(owes, owed, value, owed.date, "n", None)]
    return write_answers(session, entered, timeout=timeout)


@pytest.mark.parametrize("which", ["amend", "checkin"])
@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_amend_and_checkin_disk_errors_leave_the_file_intact(
    mfile: Path, monkeypatch: pytest.MonkeyPatch, failing: str, which: str
) -> None:
    (mfile.parent / "kpis.yaml").write_text(KPIS)
    before = sha(mfile)

    def full_disk(*args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, full_disk)
    with pytest.raises(WriteError, match="No space left"):
        _amend_or_checkin(which, mfile.parent, mfile)
    monkeypatch.undo()
    assert sha(mfile) == before
    assert temp_files(mfile.parent) == []
    _amend_or_checkin(which, mfile.parent, mfile)  # and the next try lands
    assert sha(mfile) != before


@pytest.mark.parametrize("which", ["amend", "checkin"])
def test_amend_and_checkin_refuse_a_read_only_file_and_wait_for_the_lock(
    mfile: Path, which: str
) -> None:
    (mfile.parent / "kpis.yaml").write_text(KPIS)
    before = sha(mfile)
    os.chmod(mfile, 0o444)
    with pytest.raises(WriteError, match="read-only"):
        _amend_or_checkin(which, mfile.parent, mfile)
    os.chmod(mfile, 0o644)
    assert sha(mfile) == before
    with writing.file_lock(mfile), pytest.raises(WriteError, match="lock"):
        _amend_or_checkin(which, mfile.parent, mfile, timeout=0.2)
    assert sha(mfile) == before


AMENDER = textwrap.dedent(
    """\
    import datetime as dt, sys
    from pathlib import Path
    from kpitrack.domain.model import Config
    from kpitrack.writing.amending import amend
    folder = Path(sys.argv[1])
    print("ready", flush=True)
    i = int(sys.argv[2])
    while True:
        amend("mrr", str(1000 + i % 2), date="2026-01", today=dt.date(2026, 12, 31),
              config=Config(), files=[folder / "kpis.yaml", folder / "measurements.yaml"],
              note="x" * (i % 3))
        i += 1
    """
)


@pytest.mark.slow
def test_sigkill_never_tears_an_amended_file(mfile: Path) -> None:
    (mfile.parent / "kpis.yaml").write_text(KPIS)
    filler = "".join(
        f"  - kpi: mrr\n    date: 2025-01-01\n    value: {i}\n    note: filler {i}\n"
        for i in range(1000)
    )
    mfile.write_text(BLOCK.replace("  # - kpi: mrr", filler + "  # - kpi: mrr"))
    rng = random.Random(99)
    values = set()
    for n in range(6):
        before = mfile.read_bytes()
        proc = python_process(AMENDER, str(mfile.parent), str(n))
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == "ready"
        # Each run is killed after its first amend has landed (so the test sees amends
        # land however loaded the machine is): the first two at once, the rest at a
        # random moment after it, mid-write or between writes.
        deadline = time.monotonic() + 30
        while mfile.read_bytes() == before and time.monotonic() < deadline:
            time.sleep(0.002)
        if n >= 2:
            time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        rows = load(mfile.read_text())
        assert len(rows) == 1002  # whole entries, never torn
        values.add(rows[0][2])
    assert values <= {10, 1000, 1001} and len(values) > 1  # the amends did land between kills
    _amend_or_checkin("amend", mfile.parent, mfile)  # the next write removes the leftovers
    assert temp_files(mfile.parent) == []


AMEND_LOOP = textwrap.dedent(
    """\
    import datetime as dt, sys
    from pathlib import Path
    from kpitrack.domain.model import Config
    from kpitrack.writing.amending import amend
    folder, who = Path(sys.argv[1]), sys.argv[2]
    for i in range(int(sys.argv[3])):
        amend("mrr", str(i), date="2026-02", today=dt.date(2026, 12, 31), config=Config(),
              files=[folder / "kpis.yaml", folder / "measurements.yaml"], note=who)
    """
)


@pytest.mark.slow
def test_amends_and_appends_at_once_all_land(mfile: Path) -> None:
    """Amenders and appenders on one file: every append lands, and the amended entry
    ends as one amender's last value (an amend never loses another writer's entry)."""
    (mfile.parent / "kpis.yaml").write_text(KPIS)
    procs = [python_process(AMEND_LOOP, str(mfile.parent), f"a{n}", "15") for n in range(2)]
    procs += [_writer(mfile, f"w{n}", 15) for n in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    rows = load(mfile.read_text())
    for n in range(2):
        assert [r[2] for r in rows if r[4] == f"w{n}"] == list(range(15))
    february = [r for r in rows if r[1].month == 2]  # the writers write January 1-15
    assert len(february) == 1 and february[0][2] == 14 and february[0][3] in {"a0", "a1"}
    assert temp_files(mfile.parent) == []
