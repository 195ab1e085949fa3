"""`kpitrack check`: output lines, summary, JSON, exit codes, hostile inputs, file discovery."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support import Ran, invoke, run_process

DATA = Path(__file__).parent / "data" / "check"

KPI = """\
kpis:
  - id: revenue
    name: Revenue
    measure: Sum of invoices issued
    target: 100
    frequency: monthly
    owner: sales
    objective: growth
objectives:
  - id: growth
    title: Grow
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def check(*args: str) -> Ran:
    return invoke("check", "--as-of", "2026-11-25", *args)


def write(name: str, text: str | bytes) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- output and exit codes


def test_clean_workspace_exit_0_summary_on_stderr() -> None:
    shutil.copy(DATA / "valid.yaml", "kpis.yaml")
    shutil.copy(DATA / "measurements.yaml", "measurements.yaml")
    result = check()
    assert result.code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "ok: 2 files, 4 KPIs, 7 measurements\n"


def test_problems_one_line_each_then_summary() -> None:
    write("kpis.yaml", KPI.replace("target: 100", "target: lots").replace("    owner: sales\n", ""))
    result = check()
    assert result.code == 1
    assert result.stdout == (
        "kpis.yaml:5:13: error KT016 KPI 'revenue': target must be a number, got 'lots'\n"
    )
    assert result.stderr == "1 error, 0 warnings in 1 file\n"


def test_warnings_alone_exit_0_unless_strict() -> None:
    write("kpis.yaml", KPI.replace("    owner: sales\n", ""))
    result = check()
    assert result.code == 0
    assert result.stdout == "kpis.yaml:2:5: warning KT101 KPI 'revenue' has no owner\n"
    assert result.stderr == "0 errors, 1 warning in 1 file\n"
    assert check("--strict").code == 1


def test_json_format() -> None:
    bad = "measurements:\n  - {kpi: revenue, date: 2026-01-31, value: no}\n"
    write("kpis.yaml", KPI.replace("    owner: sales\n", "") + bad)
    result = check("--format", "json")
    assert result.code == 1
    doc = json.loads(result.stdout)
    assert doc["errors"] == 1 and doc["warnings"] == 1
    assert doc["problems"][0] == {
        "path": "kpis.yaml",
        "line": 2,
        "column": 5,
        "severity": "warning",
        "code": "KT101",
        "message": "KPI 'revenue' has no owner",
    }
    assert doc["problems"][1]["code"] == "KT016"
    assert (doc["problems"][1]["line"], doc["problems"][1]["column"]) == (12, 45)


def test_json_clean() -> None:
    write("kpis.yaml", KPI)
    result = check("--format", "json")
    assert result.code == 0
    assert json.loads(result.stdout) == {"problems": [], "errors": 0, "warnings": 0}


def test_as_of_controls_future_warning() -> None:
    write("kpis.yaml", KPI + "measurements:\n  - {kpi: revenue, date: 2026-12-01, value: 5}\n")
    assert "KT106" in check().stdout
    result = invoke("check", "--as-of", "2026-12-01")
    assert result.code == 0 and result.stdout == ""


def test_bad_as_of_is_a_usage_error() -> None:
    write("kpis.yaml", KPI)
    result = invoke("check", "--as-of", "2026-02-30")
    assert result.code == 2
    assert "--as-of: '2026-02-30' is not a real date" in result.stderr


def test_bad_format_is_a_usage_error() -> None:
    write("kpis.yaml", KPI)
    assert check("--format", "xml").code == 2


# ---------------------------------------------------------------- discovery


def test_missing_file_exit_2() -> None:
    result = check("-f", "nope.yaml")
    assert result.code == 2
    assert result.stderr == "kpitrack: error: no such file or folder: nope.yaml\n"


def test_no_default_files_exit_2() -> None:
    result = check()
    assert result.code == 2
    assert "kpitrack init" in result.stderr


def test_folder_recursive_sorted_and_files_counted() -> None:
    write("ws/kpis/b.yaml", "kpis: 5\n")
    write("ws/kpis/a.yml", "objectives: 5\n")
    write("ws/measurements/2026.yaml", "measurements: 5\n")
    write("ws/readme.md", "not yaml")
    result = check("-f", "ws")
    assert result.code == 1
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        str(Path("ws/kpis/a.yml")),
        str(Path("ws/kpis/b.yaml")),
        str(Path("ws/measurements/2026.yaml")),
    ]
    assert result.stderr == "3 errors, 0 warnings in 3 files\n"


def test_config_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write("kpitrack.toml", 'files = ["defs", "data/m.yaml"]\nfocus_limit = 1\n')
    write("defs/k.yaml", KPI)
    write("defs/k2.yaml", KPI.replace("revenue", "cost").split("objectives:")[0])
    write("data/m.yaml", "measurements:\n  - {kpi: cost, date: 2026-01-31, value: 5}\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # the config is found in a parent folder
    result = check()
    assert result.code == 0
    defs = tmp_path / "defs"  # outside the current folder: shown in full
    assert result.stdout.splitlines() == [
        f"{defs / 'k.yaml'}:10:5: warning KT104 objective 'growth' has 2 KPIs, "
        "more than the focus limit of 1",
        f"{defs / 'k2.yaml'}:2:5: warning KT103 owner 'sales' has 2 KPIs, "
        "more than the focus limit of 1",
    ]
    assert result.stderr == "0 errors, 2 warnings in 3 files\n"


def test_config_with_missing_file_exit_2() -> None:
    write("kpitrack.toml", 'files = ["gone.yaml"]\n')
    result = check()
    assert result.code == 2
    assert "no such file or folder: gone.yaml" in result.stderr


# ---------------------------------------------------------------- hostile inputs


HOSTILE: list[tuple[str, bytes, str, int, int]] = [
    ("syntax", b"kpis:\n  - id: x\n   name: [\n", "KT001", 3, 4),
    ("unclosed", b"kpis: [a, b\n", "KT001", 2, 1),
    ("duplicate-key", KPI.replace("    owner", "    name: X\n    owner").encode(), "KT005", 7, 5),
    ("not-a-date", (KPI + "    due: 2026-02-30\n").encode(), "KT019", 12, 10),
    ("no-as-number", KPI.replace("target: 100", "target: no").encode(), "KT016", 5, 13),
    ("yes-as-number", KPI.replace("target: 100", "target: yes").encode(), "KT016", 5, 13),
    ("nan", KPI.replace("target: 100", "target: .nan").encode(), "KT017", 5, 13),
    ("infinity", KPI.replace("target: 100", "target: -.inf").encode(), "KT017", 5, 13),
    ("1e400", KPI.replace("target: 100", "target: 1e400").encode(), "KT017", 5, 13),
    ("4301-digits", KPI.replace("100", "7" * 4301).encode(), "KT017", 5, 13),
    ("int-tag", KPI.replace("target: 100", "target: !!int 1.5").encode(), "KT003", 5, 13),
    ("bool-tag", KPI.replace("target: 100", "target: !!bool maybe").encode(), "KT003", 5, 13),
    ("timestamp-tag", b"measurements:\n  - date: !!timestamp x\n", "KT003", 2, 11),
    ("binary", b"kpis:\n  - id: x\x00\xff\n", "KT002", 2, 1),
    ("invalid-utf8", b"kpis:\n  - id: x\n    name: caf\xe9\n", "KT002", 3, 14),
    # Newer libyaml builds stop flow nesting themselves at 1000 levels, so the
    # column depends on the PyYAML build: only the line is pinned (column None).
    ("deep-nesting", b"kpis: " + b"[" * 20000 + b"]" * 20000 + b"\n", "KT002", 1, None),
    (
        "deep-block-nesting",
        "".join("  " * i + "a:\n" for i in range(2000)).encode(),
        "KT002",
        65,
        129,
    ),
    (
        "billion-laughs",
        b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        b"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        b"d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
        "KT003",
        1,
        4,
    ),
    ("merge-key", b"kpis:\n  - <<: {id: x}\n", "KT003", 2, 5),
    ("two-documents", KPI.encode() + b"---\nkpis: []\n", "KT004", 12, 1),
    ("top-level-list", b"- id: x\n", "KT010", 1, 1),
]


@pytest.mark.parametrize(
    ("name", "data", "code", "line", "column"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_input_gives_a_located_error(
    name: str, data: bytes, code: str, line: int, column: int | None
) -> None:
    write("kpis.yaml", data)
    result = check()
    assert result.code == 1, result.output
    first = result.stdout.splitlines()[0]
    where = f"kpis.yaml:{line}:{column}:" if column else f"kpis.yaml:{line}:"
    assert first.startswith(where), result.stdout
    assert f": error {code} " in first, result.stdout
    assert "Traceback" not in result.output


def test_unsafe_tag_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    write("kpis.yaml", f'kpis: !!python/object/apply:os.system ["touch {marker}"]\n')
    result = check()
    assert result.code == 1
    assert result.stdout.startswith("kpis.yaml:1:7: error KT003 explicit tags are not allowed")
    assert not marker.exists()


def test_bom_and_crlf_accepted_with_line_numbers() -> None:
    text = KPI.replace("target: 100", "target: lots").replace("\n", "\r\n")
    write("kpis.yaml", b"\xef\xbb\xbf" + text.encode())
    result = check()
    assert result.stdout.startswith("kpis.yaml:5:13: error KT016 ")
    write("kpis.yaml", b"\xef\xbb\xbf" + KPI.replace("\n", "\r\n").encode())
    assert check().code == 0


def test_50_mb_file_refused_with_the_limit() -> None:
    with open("kpis.yaml", "wb") as f:
        f.write(b"kpis: []\n# ")
        f.write(b"x" * (50 * 1024 * 1024))
    result = check()
    assert result.code == 1
    assert result.stdout.startswith("kpis.yaml:1:1: error KT002 file is 52,428,811 bytes, ")
    assert "over the limit of 33,554,432 bytes" in result.stdout


def test_every_file_checked_even_when_one_is_broken() -> None:
    write("a.yaml", b"kpis: [\n")
    write("b.yaml", KPI.replace("target: 100", "target: x"))
    result = check("-f", "a.yaml", "-f", "b.yaml")
    assert [line.split(" ")[2] for line in result.stdout.splitlines()] == ["KT001", "KT016"]


# ---------------------------------------------------------------- the installed command


def test_installed_command() -> None:
    write("kpis.yaml", KPI.replace("target: 100", "target: no"))
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KPITRACK_DEBUG", None)
    proc = run_process("check", "--as-of", "2026-11-25", env=env)
    assert proc.code == 1
    assert proc.stdout == (
        "kpis.yaml:5:13: error KT016 KPI 'revenue': target must be a number, got 'no' "
        "(YAML 1.1 tools read it as a boolean)\n"
    )
    assert proc.stderr == "1 error, 0 warnings in 1 file\n"


# ---------------------------------------------------------------- review fixes: odd files and input


def test_a_fifo_in_a_folder_is_skipped_and_a_named_fifo_is_refused() -> None:
    write("ws/kpis.yaml", KPI)
    os.mkfifo("ws/pipe.yaml")
    result = check("-f", "ws")  # would block forever if the FIFO were opened
    assert result.code == 0, result.output
    result = check("-f", "ws/pipe.yaml")
    assert result.code == 1
    assert result.stdout.startswith("ws/pipe.yaml:1:1: error KT002 not a regular file")


def test_a_line_break_in_a_value_cannot_forge_a_problem_line() -> None:
    write(
        "kpis.yaml",
        KPI + 'measurements:\n  - kpi: "zz\\nevil.yaml:9:9: error KT999 injected"\n'
        "    date: nope\n    value: 1\n",
    )
    result = check()
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("kpis.yaml:") for line in lines), lines
    assert "\\nevil.yaml:9:9" in result.stdout


def test_a_control_character_is_located() -> None:
    write("kpis.yaml", KPI.replace("name: Revenue", "name: Rev\x01enue"))
    result = check()
    assert result.code == 1
    assert result.stdout.splitlines() == [
        "kpis.yaml:3:14: error KT001 YAML syntax error: control character #x0001 is not allowed"
    ]


def test_bad_bytes_are_located_in_characters_and_with_cr_line_ends() -> None:
    write("a.yaml", "kpis:\n  - name: caféé".encode() + b"\xff\n")
    write("b.yaml", b"kpis:\r  - id: x\r  - id: y\xff\r")
    result = check("-f", "a.yaml", "-f", "b.yaml")
    assert result.stdout.splitlines() == [
        "a.yaml:2:16: error KT002 not UTF-8 text: byte 0xff cannot be decoded",
        "b.yaml:3:10: error KT002 not UTF-8 text: byte 0xff cannot be decoded",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "frequency: monthly",
            "frequency: monthly\n    due: 9999-12-31",
            "kpis.yaml:7:10: error KT019 KPI 'revenue': due '9999-12-31' is outside the "
            "supported years 1900–9000",
        ),
        (
            "frequency: monthly",
            "frequency: monthly\n    grace_days: 3000000",
            "kpis.yaml:7:17: error KT035 KPI 'revenue': grace_days must be a whole number of "
            "days from 0 to 3660, got '3000000'",
        ),
        (
            "target: 100",
            "target: 1e308",
            "kpis.yaml:5:13: error KT017 KPI 'revenue': target must be a finite number, "
            "'1e308' is out of range (at most 1e15 in size)",
        ),
    ],
)
def test_values_that_would_overflow_evaluation_are_refused(
    old: str, new: str, expected: str
) -> None:
    write("kpis.yaml", KPI.replace(old, new))
    result = check()
    assert result.code == 1
    assert expected in result.stdout.splitlines(), result.stdout
    status = invoke("status", "--as-of", "2026-11-25")
    assert status.code == 2  # refused with check's messages, not an internal error


@pytest.mark.parametrize("day", ["0001-01-02", "9999-12-31"])
def test_as_of_outside_the_supported_years_is_a_usage_error(day: str) -> None:
    write("kpis.yaml", KPI)
    for command in ("check", "status", "report"):
        result = invoke(command, "--as-of", day)
        assert result.code == 2, (command, result.output)
        assert "outside the supported years 1900–9000" in result.stderr


def test_milestone_order_and_due_are_checked_even_with_a_bad_target() -> None:
    write(
        "kpis.yaml",
        KPI.replace(
            "frequency: monthly",
            "frequency: monthly\n    due: 2026-12-31\n    milestones:\n"
            '      - date: 2027-06-30\n        target: "5"\n',
        ),
    )
    codes = [line.split()[2] for line in check().stdout.splitlines()]
    assert codes == ["KT034", "KT016"]
