"""Regression tests for the hostile-world defects: one or more per numbered item of
docs/SECURITY.md, plus fault injection at every I/O step of a write."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import support

from kpitrack.domain.problems import WriteError
from kpitrack.writing import atomicfile as writing
from kpitrack.writing.atomicfile import TEMP_PREFIX, atomic_write_text
from kpitrack.writing.recording import append_measurements

KPIS = """\
objectives:
  - id: grow
    title: Grow the business
kpis:
  - id: mrr
    name: "Evil\\e]0;OWNED\\a\\e[2Jx \\u202eeman"
    measure: Sum of active subscriptions at month end
    unit: "usd\\x9b31m"
    target: 100
    frequency: monthly
    owner: "=HYPERLINK(\\"http://x\\")"
    objective: grow
    action: "+cmd|' /C calc'!A0 \\e[2J"
"""

MEASUREMENTS = """\
measurements:
  - kpi: mrr
    date: 2026-01-31
    value: -40
    note: "@SUM(1+1) \\e]8;;http://evil\\a"
    by: "-1+1"
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS)
    (tmp_path / "measurements.yaml").write_text(MEASUREMENTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    ran = support.invoke(*args, stdin=stdin)
    return ran.code, ran.stdout, ran.stderr


AS_OF = ("--as-of", "2026-02-10")
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


# ---------------------------------------------------------------- 1. -o targets


def test_output_into_a_fifo_writes_it_and_keeps_the_fifo(ws: Path) -> None:
    fifo = ws / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _out, err = run("status", *AS_OF, "--format", "json", "-o", str(fifo))
    reader.join(timeout=30)
    assert (code, err) == (0, "")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert b'"mrr"' in got[0]


def test_output_into_a_character_device_opens_it(tmp_path: Path) -> None:
    # /dev/null must stay the system's character device (cron runs kpitrack as root).
    before = os.stat("/dev/null")
    atomic_write_text(Path("/dev/null"), "report\n")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    assert temps(Path("/dev")) == []


def test_output_follows_records_rules_for_regular_files(ws: Path) -> None:
    ro = ws / "ro.txt"
    ro.write_text("keep")
    ro.chmod(0o444)
    code, _out, err = run("status", *AS_OF, "-o", str(ro))
    assert code == 2 and "read-only" in err and ro.read_text() == "keep"
    linked = ws / "linked.txt"
    linked.write_text("keep")
    os.link(linked, ws / "other-name.txt")
    code, _out, err = run("status", *AS_OF, "-o", str(linked))
    assert code == 2 and "hard links" in err and linked.read_text() == "keep"
    code, _out, err = run("status", *AS_OF, "-o", str(ws))
    assert code == 2 and "not a regular file" in err


def test_output_to_dev_stdout_into_a_pipe(ws: Path) -> None:
    proc = support.run_process("status", *AS_OF, "--format", "csv", "-o", "/dev/stdout")
    assert (proc.code, proc.stderr) == (0, "")
    assert proc.stdout.startswith("id,name,owner")


# ---------------------------------------------------------------- 2. read limits


def test_a_write_that_would_exceed_the_read_cap_is_refused(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ws / "measurements.yaml"
    before = sha(path)
    monkeypatch.setattr(writing, "MAX_FILE_BYTES", path.stat().st_size + 20)
    code, _out, err = run("record", "mrr", "5", "--date", "2026-02-28")
    assert code == 2
    assert "over the read limit" in err and "file unchanged" in err
    assert sha(path) == before and temps(ws) == []


def test_a_write_that_would_nest_too_deep_is_refused(tmp_path: Path) -> None:
    # A document at the nesting limit plus an entry nested deeper would not read back.
    path = tmp_path / "m.yaml"
    path.write_text("measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 1\n")
    from kpitrack.domain.model import Measurement

    deep = Measurement("mrr", __import__("datetime").date(2026, 2, 1), 1, None, None)
    from kpitrack.writing import yamlappend

    monkey_depth = yamlappend.parse

    def shallow(text: str, path: str, **kw: Any) -> Any:
        return monkey_depth(text, path, max_depth=1)

    original = path.read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(yamlappend, "parse", shallow)
        with pytest.raises(WriteError, match="file unchanged"):
            append_measurements(path, [deep])
    assert path.read_bytes() == original


# ---------------------------------------------------------------- 3. escape sequences


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("status", "--format", "markdown"),
        ("actions",),
        ("actions", "--format", "markdown"),
        ("show", "mrr"),
        ("show", "mrr", "--format", "markdown"),
        ("report",),
        ("report", "--format", "markdown"),
    ],
)
def test_text_outputs_escape_controls_and_bidi(ws: Path, args: tuple[str, ...]) -> None:
    code, out, _err = run(*args, *AS_OF)
    assert code == 0
    assert not any(ch in out for ch in RAW), repr(out)
    assert "\\x1b" in out or "\\\\x1b" in out


def test_check_lines_escape_quoted_file_text(ws: Path) -> None:
    (ws / "kpis.yaml").write_text(
        KPIS + '    "bad\\e]0;OWNED\\a\\e[2Jx": 1\n    "a\\vb\\fc\\x85d\\u2028e\\u2029f": 2\n'
    )
    code, out, _err = run("check", *AS_OF)
    assert code == 1
    assert not any(ch in out for ch in (*RAW, "\x0b", "\x0c", "\x85", "\u2028", "\u2029"))
    assert "unknown key 'bad\\x1b]0;OWNED\\x07\\x1b[2Jx'" in out
    assert "a\\x0bb\\x0cc\\x85d\\u2028e\\u2029f" in out
    assert len(out.splitlines()) == out.count("kpis.yaml:")


def test_visible_helper() -> None:
    from kpitrack.domain.textsafe import visible

    assert visible("a\x1b[2Jb\u202e\tc\nd") == "a\\x1b[2Jb\\u202e\tc\nd"
    assert visible("a\tb\nc\rd\x85", line=True) == "a\\tb\\nc\\rd\\x85"
    assert visible("plain — ünïcode ✓") == "plain — ünïcode ✓"


# ---------------------------------------------------------------- 4. the lock


def test_a_dangling_lock_symlink_creates_nothing(ws: Path) -> None:
    victim = ws / "elsewhere" / "nologin"
    victim.parent.mkdir()
    (ws / "measurements.yaml.lock").symlink_to(victim)
    before = sha(ws / "measurements.yaml")
    code, _out, err = run("record", "mrr", "5", "--date", "2026-02-28")
    assert code == 2 and "symbolic link" in err
    assert not victim.exists() and sha(ws / "measurements.yaml") == before


def test_a_lock_that_is_not_a_regular_file_is_refused(ws: Path) -> None:
    os.mkfifo(ws / "measurements.yaml.lock")
    code, _out, err = run("record", "mrr", "5", "--date", "2026-02-28")
    assert code == 2 and "not a regular file" in err


def test_a_waiting_writer_gets_the_lock_when_it_is_released(ws: Path) -> None:
    path = ws / "measurements.yaml"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT);"
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
            str(path) + ".lock",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    result: list[object] = []

    def write() -> None:
        # Not the main thread: the polling fallback; the main-thread path is the
        # concurrency test's.
        result.append(append_measurements(path, [_m(7)], timeout=120))

    waiter = threading.Thread(target=write)
    waiter.start()
    holder.stdin.close()
    holder.wait(timeout=60)
    waiter.join(timeout=120)
    assert result and "value: 7" in path.read_text()


def test_the_blocking_lock_gives_up_at_its_deadline(ws: Path) -> None:
    path = ws / "measurements.yaml"
    before = sha(path)
    with writing.file_lock(path), pytest.raises(WriteError, match="still writing"):
        # main thread: a blocking flock interrupted by the deadline timer
        fd = os.open(str(path) + ".lock", os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        append_measurements(path, [_m(7)], timeout=0.2)
    assert sha(path) == before
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler)


def _m(value: float) -> Any:
    import datetime as dt

    from kpitrack.domain.model import Measurement

    return Measurement("mrr", dt.date(2026, 2, 28), value, None, None)


# ---------------------------------------------------------------- 5. CSV formulas


def test_csv_outputs_neutralise_formulas_and_keep_numbers(ws: Path) -> None:
    code, out, _err = run("status", *AS_OF, "--format", "csv")
    assert code == 0
    assert "'=HYPERLINK" in out and ",=HYPERLINK" not in out
    assert ",-40," in out  # a number stays a number
    code, out, _err = run("actions", *AS_OF, "--format", "csv")
    assert "'+cmd|" in out
    code, out, _err = run("show", "mrr", *AS_OF, "--format", "csv")
    assert out.splitlines()[1].startswith("2026-01-31,-40,'@SUM(1+1)")
    assert out.rstrip().endswith(",'-1+1")


# ---------------------------------------------------------------- 6. CSV input caps


def test_import_refuses_devices_pipes_and_folders(ws: Path) -> None:
    before = sha(ws / "measurements.yaml")
    for source in ("/dev/zero", str(ws)):
        code, _out, err = run("import", source)
        assert code == 2 and "KT211" in err and "not a regular file" in err
    assert sha(ws / "measurements.yaml") == before


def test_import_caps_csv_size_and_rows(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kpitrack.reading import yamlnodes
    from kpitrack.writing import csvinput as recording

    rows = "".join(f"mrr,2026-0{1 + i % 9}-01,{i}\n" for i in range(5))
    (ws / "in.csv").write_text("kpi,date,value\n" + rows)
    before = sha(ws / "measurements.yaml")
    monkeypatch.setattr(yamlnodes, "MAX_FILE_BYTES", 30)
    code, _out, err = run("import", "in.csv")
    assert code == 2 and "KT210" in err
    code, _out, err = run("import", "-", stdin="kpi,date,value\n" + rows)
    assert code == 2 and "KT210" in err
    monkeypatch.setattr(yamlnodes, "MAX_FILE_BYTES", 32 * 1024 * 1024)
    monkeypatch.setattr(recording, "MAX_CSV_ROWS", 3)
    code, _out, err = run("import", "in.csv")
    assert code == 2 and "KT212" in err and "more than 3 rows" in err
    assert sha(ws / "measurements.yaml") == before


# ---------------------------------------------------------------- 7. many problems


def test_many_problems_are_capped_per_file(ws: Path) -> None:
    keys = "".join(f"    extra{i}: 1\n" for i in range(5000))
    (ws / "kpis.yaml").write_text(KPIS + keys)
    code, out, _err = run("check", *AS_OF)
    lines = out.splitlines()
    assert code == 1
    assert len(lines) == 1001
    assert "KT045 4,000 more problem(s) in this file not shown" in out


# ---------------------------------------------------------------- 9. interrupted after the write

# The interrupt tests run the writer in a child process of its own: a process-directed
# SIGINT goes to any thread that does not block it, so in a process with other threads
# (a pytest-xdist worker has execnet's) it would not wait for the writer's mask. The
# child has one thread and Python's own SIGINT handler, as `kpitrack` has.
_INTERRUPTED_WRITE = """\
import errno, os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, sys.argv[1])
import datetime as dt
from pathlib import Path
import support
from kpitrack.domain.model import Measurement
from kpitrack.writing import atomicfile
from kpitrack.writing.recording import append_measurements

real_replace = os.replace

def replace_then_interrupt(src, dst):
    real_replace(src, dst)
    os.kill(os.getpid(), signal.SIGINT)

def interrupted(src, dst):
    os.kill(os.getpid(), signal.SIGINT)
    raise OSError(errno.EIO, "Input/output error")

if sys.argv[2] == "after":
    atomicfile.os.replace = replace_then_interrupt
    ran = support.invoke("record", "mrr", "5", "--date", "2026-02-28")
    print(ran.code, "recorded mrr" in ran.stdout, ran.exception is None)
else:
    atomicfile.os.replace = interrupted
    try:
        entry = Measurement("mrr", dt.date(2026, 2, 28), 5.0, None, None)
        append_measurements(Path("measurements.yaml").absolute(), [entry])
    except KeyboardInterrupt:
        print("KeyboardInterrupt")
atomicfile.os.replace = real_replace
blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set())
print("blocked" if signal.SIGINT in blocked else "unblocked")
print("handler" if signal.getsignal(signal.SIGINT) is signal.default_int_handler else "changed")
"""


def interrupted_write(ws: Path, when: str) -> list[str]:
    """Run `_INTERRUPTED_WRITE` in `ws`; its printed lines."""
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_WRITE, str(Path(__file__).parent), when],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_sigint_after_the_rename_finishes_with_exit_0(ws: Path) -> None:
    assert interrupted_write(ws, "after") == ["0 True True", "unblocked", "handler"]
    assert (ws / "measurements.yaml").read_text().count("value: 5\n") == 1


def test_sigint_before_the_rename_leaves_the_file(ws: Path) -> None:
    before = sha(ws / "measurements.yaml")
    assert interrupted_write(ws, "before") == ["KeyboardInterrupt", "unblocked", "handler"]
    assert sha(ws / "measurements.yaml") == before and temps(ws) == []


def test_record_skips_a_duplicate_unless_allowed(ws: Path) -> None:
    assert run("record", "mrr", "5", "--date", "2026-02-28")[0] == 0
    code, out, _err = run("record", "mrr", "5", "--date", "2026-02-28")
    assert code == 0 and "already recorded" in out
    assert (ws / "measurements.yaml").read_text().count("value: 5\n") == 1
    code, out, _err = run("record", "mrr", "5", "--date", "2026-02-28", "--allow-duplicate")
    assert code == 0 and "recorded mrr" in out
    assert (ws / "measurements.yaml").read_text().count("value: 5\n") == 2
    # another note makes another entry
    assert run("record", "mrr", "5", "--date", "2026-02-28", "--note", "again")[0] == 0
    assert (ws / "measurements.yaml").read_text().count("value: 5\n") == 3


# ---------------------------------------------------------------- 10. smaller ones


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("files = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deep"),
        ('measurements_file = "m\\u0000.yaml"\n', "NUL character"),
        ('files = ["k\\u0000.yaml"]\n', "NUL character"),
    ],
)
def test_hostile_kpitrack_toml_is_a_usage_error(ws: Path, toml: str, message: str) -> None:
    (ws / "kpitrack.toml").write_text(toml)
    for args in (("status",), ("record", "mrr", "5")):
        code, _out, err = run(*args)
        assert code == 2 and message in err


def test_read_only_folder_is_named_as_such(ws: Path) -> None:
    before = sha(ws / "measurements.yaml")
    ws.chmod(0o555)  # root too: the mode bits count, like for a 0444 file
    try:
        code, _out, err = run("record", "mrr", "5", "--date", "2026-02-28")
    finally:
        ws.chmod(0o755)
    assert code == 2
    assert "folder" in err and "read-only (permission denied)" in err
    assert "No such file" not in err
    assert sha(ws / "measurements.yaml") == before


@pytest.mark.parametrize("indicator", ["|", ">", "|+", ">2", "|2+", "|-"])
def test_append_after_a_block_scalar_without_final_newline(ws: Path, indicator: str) -> None:
    path = ws / "measurements.yaml"
    path.write_text(
        f"measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 1\n"
        f"    note: {indicator}\n      line one\n      line two"
    )
    assert run("check", *AS_OF)[0] == 0
    code, _out, err = run("record", "mrr", "5", "--date", "2026-02-28")
    assert (code, err) == (0, "")
    from kpitrack.reading.config import Config
    from kpitrack.reading.loading import load_valid_workspace, resolve_paths

    workspace = load_valid_workspace(
        resolve_paths([], Config(), ws),
        config=Config(),
        as_of=__import__("datetime").date(2027, 1, 1),
    )
    notes = [m.note for m in workspace.measurements]
    joined = "line one line two" if indicator.startswith(">") else "line one\nline two"
    assert notes == [joined, None]


# ---------------------------------------------------------------- fault injection


STEPS = ["lock open", "lock flock", "temp open", "write", "fsync", "rename", "dir fsync"]
ERRORS = [errno.ENOSPC, errno.EIO, errno.EACCES, errno.EINTR]


def _inject(
    monkeypatch: pytest.MonkeyPatch, step: str, err: int, folder: Path
) -> Callable[[], int]:
    """Make the first I/O call of `step` raise OSError(err); returns the call count."""
    calls = {"n": 0}

    def failing(real: Callable[..., Any], match: Callable[..., bool]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            if match(*args) and calls["n"] == 0:
                calls["n"] += 1
                raise OSError(err, os.strerror(err))
            return real(*args, **kw)

        return wrapper

    real_fsync = os.fsync
    dir_fds: set[int] = set()

    def is_dir_fd(fd: int) -> bool:
        return stat.S_ISDIR(os.fstat(fd).st_mode)

    if step == "lock open":
        monkeypatch.setattr(
            writing.os, "open", failing(os.open, lambda p, *a: str(p).endswith(".lock"))
        )
    elif step == "lock flock":
        monkeypatch.setattr(writing.fcntl, "flock", failing(fcntl.flock, lambda *a: True))
    elif step == "temp open":
        monkeypatch.setattr(
            writing.os, "open", failing(os.open, lambda p, *a: TEMP_PREFIX in str(p))
        )
    elif step == "write":
        monkeypatch.setattr(writing.os, "write", failing(os.write, lambda *a: True))
    elif step == "fsync":
        monkeypatch.setattr(writing.os, "fsync", failing(real_fsync, lambda fd: not is_dir_fd(fd)))
    elif step == "rename":
        monkeypatch.setattr(writing.os, "replace", failing(os.replace, lambda *a: True))
    elif step == "dir fsync":
        monkeypatch.setattr(writing.os, "fsync", failing(real_fsync, lambda fd: is_dir_fd(fd)))
    del dir_fds
    return lambda: calls["n"]


@pytest.mark.parametrize("err", ERRORS, ids=[errno.errorcode[e] for e in ERRORS])
@pytest.mark.parametrize("step", STEPS)
def test_fault_at_every_io_step_of_a_write(
    ws: Path, monkeypatch: pytest.MonkeyPatch, step: str, err: int
) -> None:
    path = ws / "measurements.yaml"
    original = path.read_bytes()
    injected = _inject(monkeypatch, step, err, ws)
    if step == "dir fsync":
        # After the rename the entry is written; a folder that cannot be fsynced
        # (some file systems) must not turn that into a failure.
        code, _out, _err = run("record", "mrr", "5", "--date", "2026-02-28")
        monkeypatch.undo()
        assert injected() == 1 and code == 0
        assert path.read_bytes().startswith(original) and temps(ws) == []
        return
    code, out, stderr = run("record", "mrr", "5", "--date", "2026-02-28")
    monkeypatch.undo()
    assert injected() == 1
    assert code == 2, (out, stderr)
    assert path.read_bytes() == original
    assert temps(ws) == []
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kpitrack: error: "), stderr
    assert os.strerror(err) in lines[0]


def test_fault_injection_while_writing_an_output_file(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = ws / "status.txt"
    out.write_text("old report\n")
    for step in ("temp open", "write", "fsync", "rename"):
        for err in ERRORS:
            _inject(monkeypatch, step, err, ws)
            code, _o, stderr = run("status", *AS_OF, "-o", str(out))
            monkeypatch.undo()
            assert code == 2 and out.read_text() == "old report\n", (step, err)
            assert temps(ws) == [] and len(stderr.splitlines()) == 1
