"""`record`, `import` and `init` on the command line: validated first, files untouched on error."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import support
from write_fixtures import KPIS, MEASUREMENTS

from kpitrack.domain.model import Config
from kpitrack.reading.loading import load_valid_workspace, resolve_paths
from kpitrack.writing.atomicfile import TEMP_PREFIX

ROOT = Path(__file__).resolve().parents[1]
FAR_FUTURE = dt.date(2100, 1, 1)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS)
    (tmp_path / "measurements.yaml").write_text(MEASUREMENTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    ran = support.invoke(*args, stdin=stdin)
    return ran.code, ran.stdout, ran.stderr


def measurements(
    folder: Path, *extra: str
) -> list[tuple[str, str, object, str | None, str | None]]:
    paths = resolve_paths([Path(p) for p in extra], Config(), folder)
    workspace = load_valid_workspace(paths, config=Config(), as_of=FAR_FUTURE)
    return [(m.kpi, m.date.isoformat(), m.value, m.note, m.by) for m in workspace.measurements]


# ---------------------------------------------------------------- record


def test_record_appends_and_prints_the_status(ws: Path) -> None:
    code, out, err = run(
        "record", "mrr", "55.5", "--date", "2026-02-28", "--note", "no", "--by", "Ana: #1"
    )
    assert (code, err) == (0, "")
    assert "recorded mrr = 55.5 on 2026-02-28 in measurements.yaml" in out
    assert "mrr: off-track" in out
    text = (ws / "measurements.yaml").read_text()
    assert text.startswith(MEASUREMENTS)
    assert text[len(MEASUREMENTS) :] == (
        '  - kpi: mrr\n    date: 2026-02-28\n    value: 55.5\n    note: "no"\n    by: "Ana: #1"\n'
    )
    assert measurements(ws)[-1] == ("mrr", "2026-02-28", 55.5, "no", "Ana: #1")


@pytest.mark.parametrize(
    ("period", "stored"),
    [("2026-W44", "2026-11-01"), ("2026-10", "2026-10-31"), ("2026-Q3", "2026-09-30")],
)
def test_record_stores_a_period_as_its_last_day(ws: Path, period: str, stored: str) -> None:
    assert run("record", "mrr", "50", "--date", period)[0] == 0
    assert measurements(ws)[-1][:2] == ("mrr", stored)


def test_record_labels_and_progress(ws: Path) -> None:
    assert run("record", "csat", "good", "--date", "2026-03-31")[0] == 0
    assert run("record", "launch", "100", "--date", "2026-03-31")[0] == 0
    assert measurements(ws)[-2:] == [
        ("csat", "2026-03-31", "good", None, None),
        ("launch", "2026-03-31", 100, None, None),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mrx", "5"], "no KPI 'mrx' (did you mean 'mrr'?)"),
        (["mrr", "lots"], "'lots' is not a number"),
        (["mrr", "nan"], "'nan' is not a number"),
        (["mrr", ".inf"], "is not a number"),
        (["mrr", "1e400"], "not a finite number"),
        (["mrr", "true"], "not a number"),
        (["csat", "great"], "not on the scale"),
        (["launch", "101"], "outside 0–100"),
        (["mrr", "5", "--date", "2026-02-30"], "--date: '2026-02-30' is not a real date"),
        (["mrr", "5", "--date", "soon"], "--date:"),
    ],
)
def test_record_refuses_bad_input_and_leaves_the_file(
    ws: Path, args: list[str], message: str
) -> None:
    before = sha(ws / "measurements.yaml")
    code, out, err = run("record", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out
    assert sha(ws / "measurements.yaml") == before


def test_record_refuses_a_flow_style_list(ws: Path) -> None:
    path = ws / "measurements.yaml"
    path.write_text("measurements: [{kpi: mrr, date: 2026-01-31, value: 1}]\n")
    before = sha(path)
    code, _, err = run("record", "mrr", "5", "--date", "2026-02-28")
    assert code == 2
    assert "flow style" in err
    assert sha(path) == before


def test_record_refuses_a_read_only_file(ws: Path) -> None:
    path = ws / "measurements.yaml"
    os.chmod(path, 0o444)
    before = sha(path)
    code, _, err = run("record", "mrr", "5", "--date", "2026-02-28")
    assert code == 2
    assert "read-only" in err
    assert sha(path) == before


def test_record_refuses_an_invalid_workspace(ws: Path) -> None:
    (ws / "kpis.yaml").write_text(KPIS.replace("frequency: monthly", "frequency: sometimes"))
    before = sha(ws / "measurements.yaml")
    code, _, err = run("record", "mrr", "5", "--date", "2026-02-28")
    assert code == 2
    assert "kpis.yaml:" in err
    assert sha(ws / "measurements.yaml") == before


def test_record_warns_about_a_second_value_in_one_period(ws: Path) -> None:
    code, _, err = run("record", "mrr", "41", "--date", "2026-01-15")
    assert code == 0
    assert "warning" in err


def test_record_target_file(ws: Path) -> None:
    # The file already holding the KPI's measurements...
    (ws / "more.yaml").write_text("measurements:\n- {kpi: csat, date: 2026-03-31, value: fair}\n")
    assert run("record", "csat", "good", "--date", "2026-06-30", "-f", ".")[0] == 0
    assert "value: good" in (ws / "more.yaml").read_text()
    assert "csat" not in (ws / "measurements.yaml").read_text()
    # ...else the file holding the `measurements:` list...
    assert run("record", "launch", "5", "--date", "2026-02-28", "-f", ".")[0] == 0
    assert "kpi: launch" in (ws / "measurements.yaml").read_text()
    # ...else the KPI's own file: never a file the workspace does not read...
    (ws / "measurements.yaml").unlink()
    assert run("record", "mrr", "5", "--date", "2026-02-28")[0] == 0
    assert not (ws / "measurements.yaml").exists()
    assert "measurements:\n  - kpi: mrr\n" in (ws / "kpis.yaml").read_text()
    # ...--to wins (a file the workspace reads), and kpitrack.toml's measurements_file
    # beats the rest.
    (ws / "x.yaml").write_text("")
    assert run("record", "mrr", "6", "--date", "2026-03-31", "--to", "x.yaml", "-f", ".")[0] == 0
    assert "value: 6" in (ws / "x.yaml").read_text()
    (ws / "kpitrack.toml").write_text('measurements_file = "m/2026.yaml"\n')
    (ws / "m").mkdir()
    assert run("record", "mrr", "7", "--date", "2026-04-30")[0] == 0
    assert "value: 7" in (ws / "m" / "2026.yaml").read_text()


SINGLE = """\
kpis:
  - id: enps
    name: eNPS
    measure: Employee NPS from the monthly pulse survey
    target: 30
    frequency: monthly
    owner: HR
"""


def test_record_and_import_write_where_status_reads(tmp_path: Path) -> None:
    """A single-file workspace: record and import both write into that file (one rule),
    and the next `status` with the same -f sees the value; no stray measurements.yaml."""
    (tmp_path / "sample_kpis.yaml").write_text(SINGLE)
    (tmp_path / "a.csv").write_text("kpi,date,value\nenps,2026-10-31,7\n")
    env = {**os.environ, "NO_COLOR": "1"}
    record = support.run_process(
        "record", "enps", "5", "-f", "sample_kpis.yaml", cwd=tmp_path, env=env
    )
    assert record.code == 0, record.stderr
    assert "in sample_kpis.yaml" in record.stdout
    assert not (tmp_path / "measurements.yaml").exists()
    imported = support.run_process(
        "import", "a.csv", "-f", "sample_kpis.yaml", cwd=tmp_path, env=env
    )
    assert imported.code == 0, imported.stderr
    status = support.run_process(
        "status", "-f", "sample_kpis.yaml", "--format", "json", cwd=tmp_path, env=env
    )
    assert '"status": "no-data"' not in status.stdout
    text = (tmp_path / "sample_kpis.yaml").read_text()
    assert "value: 5" in text and "value: 7" in text


@pytest.mark.parametrize("value", ["-12", "-0.5", "-1e3"])
def test_record_negative_values(ws: Path, value: str) -> None:
    code, _out, err = run("record", "mrr", value, "--date", "2026-02-28")
    assert code == 0, err
    stored = {"-12": "-12", "-0.5": "-0.5", "-1e3": "-1000"}[value]
    assert f"value: {stored}" in (ws / "measurements.yaml").read_text()
    assert run("record", "mrr", "-x")[0] == 2  # a dash word that is no number is no value


def test_record_negative_value_through_the_entry_point(ws: Path) -> None:
    done = support.run_process("record", "mrr", "-12", "--date", "2026-02-28", "--by", "ann")
    assert done.code == 0, done.stderr
    assert "value: -12" in (ws / "measurements.yaml").read_text()


def test_record_current_period_counts_at_once(ws: Path) -> None:
    """A value dated to the current period is stored as today and shown in the status."""
    today = dt.date.today()
    year, week, _ = today.isocalendar()
    code, out, err = run("record", "launch", "40", "--date", f"{year}-W{week:02d}")
    assert code == 0, err
    assert f"on {today.isoformat()}" in out
    assert "latest 40%" in out or "40" in out.splitlines()[1]
    # a past period keeps its last day
    code, out, _ = run("record", "launch", "30", "--date", "2026-W01")
    assert "on 2026-01-04" in out


def test_record_future_date_status_counts_it(ws: Path) -> None:
    future = dt.date.today() + dt.timedelta(days=40)
    code, out, err = run("record", "mrr", "99", "--date", future.isoformat())
    assert code == 0, err
    assert f"(as of {future.isoformat()})" in out
    assert "99" in out.splitlines()[1]


def test_record_by_defaults_to_git_user_or_user(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "ann")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(ws.parent))
    assert run("record", "mrr", "1", "--date", "2026-02-28")[0] == 0
    assert "by: ann" in (ws / "measurements.yaml").read_text()
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    subprocess.run(["git", "config", "user.name", "Bea Git"], cwd=ws, check=True)
    assert run("record", "mrr", "2", "--date", "2026-03-31")[0] == 0
    assert "by: Bea Git" in (ws / "measurements.yaml").read_text()


def test_record_refuses_non_ascii_dates(ws: Path) -> None:
    before = sha(ws / "measurements.yaml")
    for text in ("٢٠٢٦-١١-٠١", "２０２６-１１-０１"):
        code, _, err = run("record", "mrr", "1", "--date", text)
        assert code == 2 and "not a date" in err
    assert sha(ws / "measurements.yaml") == before


def test_concurrent_cli_records_all_land(ws: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            support.command("record", "mrr", str(n), "--date", "2026-02-28"),
            cwd=ws,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    values = sorted(float(str(v)) for k, d, v, _, _ in measurements(ws) if d == "2026-02-28")
    assert values == list(range(6))
    assert not [p for p in ws.iterdir() if p.name.startswith(TEMP_PREFIX)]


# ---------------------------------------------------------------- import


CSV = """\
kpi,date,value,note,by
mrr,2026-02-28,50,"a note, with comma",Ana
csat,2026-03-31,good,,
launch,2026-W10,40,,
"""


def test_import_adds_every_row(ws: Path) -> None:
    (ws / "in.csv").write_text(CSV)
    code, out, err = run("import", "in.csv")
    assert (code, err) == (0, "")
    assert "added 3 measurement(s) to measurements.yaml, skipped 0 duplicate(s)" in out
    assert (ws / "measurements.yaml").read_text().startswith(MEASUREMENTS)
    assert measurements(ws)[1:] == [
        ("mrr", "2026-02-28", 50, "a note, with comma", "Ana"),
        ("csat", "2026-03-31", "good", None, None),
        ("launch", "2026-03-08", 40, None, None),
    ]


def test_import_skips_exact_duplicates(ws: Path) -> None:
    (ws / "in.csv").write_text(CSV + "mrr,2026-01-31,40,,\nmrr,2026-01-31,40,other note,\n")
    code, out, _ = run("import", "in.csv")
    assert code == 0
    assert "added 4 measurement(s)" in out and "skipped 1 duplicate(s)" in out
    code, out, _ = run("import", "in.csv")
    assert "added 0 measurement(s)" in out and "skipped 5 duplicate(s)" in out
    assert len(measurements(ws)) == 5


def test_import_is_all_or_nothing_with_line_and_column(ws: Path) -> None:
    bad = (
        CSV
        + 'mrr,2026-02-30,5,,\ncsat,2026-03-31,great,,\nmrx,2026-01-01,1,,\n"multi\nline",x,1,,\n'
    )
    (ws / "in.csv").write_text(bad)
    before = sha(ws / "measurements.yaml")
    code, _, err = run("import", "in.csv")
    assert code == 2
    assert "in.csv:5:2: error KT202 date: '2026-02-30' is not a real date" in err
    assert "in.csv:6:3: error KT202 value: 'great' is not on the scale" in err
    assert "in.csv:7:1: error KT202 kpi: no KPI 'mrx' (did you mean 'mrr'?)" in err
    assert "in.csv:8:1:" in err  # a row that starts on line 8 and spans two lines
    assert "nothing imported" in err
    assert sha(ws / "measurements.yaml") == before


def test_import_header_errors(ws: Path) -> None:
    (ws / "in.csv").write_text("kpi,day,value\nmrr,2026-02-28,1\n")
    code, _, err = run("import", "in.csv")
    assert code == 2
    assert "in.csv:1:2: error KT201 unknown column 'day'" in err
    assert "missing column 'date'" in err


def test_import_dry_run_writes_nothing(ws: Path) -> None:
    (ws / "in.csv").write_text(CSV)
    before = sha(ws / "measurements.yaml")
    code, out, _ = run("import", "in.csv", "--dry-run")
    assert code == 0
    assert "would add 3" in out
    assert sha(ws / "measurements.yaml") == before


def test_import_from_stdin_to_a_new_file(ws: Path) -> None:
    code, _, err = run("import", "-", "--to", "imported.yaml", stdin=CSV)
    assert code == 2
    assert "not a file the workspace reads" in err and "measurements.yaml" in err
    assert not (ws / "imported.yaml").exists()
    (ws / "imported.yaml").write_text("")
    files = ("-f", "kpis.yaml", "-f", "measurements.yaml", "-f", "imported.yaml")
    code, out, _ = run("import", "-", "--to", "imported.yaml", *files, stdin=CSV)
    assert code == 0, out
    assert len(measurements(ws, "kpis.yaml", "imported.yaml")) == 3


def test_import_refuses_a_flow_style_target(ws: Path) -> None:
    (ws / "measurements.yaml").write_text("measurements: []\n")
    (ws / "in.csv").write_text(CSV)
    code, _, err = run("import", "in.csv")
    assert code == 2
    assert "flow style" in err
    assert (ws / "measurements.yaml").read_text() == "measurements: []\n"


# ---------------------------------------------------------------- init


def test_init_writes_a_valid_starter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "team"
    code, out, _ = run("init", str(folder))
    assert code == 0
    for name in ("kpis.yaml", "measurements.yaml", "kpitrack.toml"):
        assert f"created {folder / name}" in out
    from kpitrack.reading.config import read_config

    config = read_config(folder / "kpitrack.toml")
    assert config.measurements_file == "measurements.yaml"
    paths = resolve_paths([], config, folder)
    workspace = load_valid_workspace(paths, config=config, as_of=dt.date(2026, 1, 1))
    assert len(workspace.kpis) == 1
    assert "#" in (folder / "kpis.yaml").read_text()
    # the starter measurements file takes its first entry
    monkeypatch.chdir(folder)
    assert run("record", workspace.kpis[0].id, "640", "--date", "2026-01-11")[0] == 0
    assert len(measurements(folder, "kpis.yaml", "measurements.yaml")) == 1


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "kpis.yaml").write_text("mine\n")
    code, out, _ = run("init", str(tmp_path))
    assert code == 0
    assert f"left {tmp_path / 'kpis.yaml'} alone" in out
    assert f"created {tmp_path / 'measurements.yaml'}" in out
    assert (tmp_path / "kpis.yaml").read_text() == "mine\n"
    code, out, _ = run("init", str(tmp_path))
    assert code == 0
    assert "created" not in out


@pytest.mark.parametrize(
    "row",
    ['mrr,2026-02-28,41,"unterminated\n', 'mrr,2026-02-28,41,"b"x,\n'],
)
def test_import_refuses_malformed_csv_quoting(ws: Path, row: str) -> None:
    (ws / "in.csv").write_text("kpi,date,value,note,by\n" + row)
    before = sha(ws / "measurements.yaml")
    code, _, err = run("import", "in.csv")
    assert code == 2
    assert "in.csv:2:" in err and "KT202" in err
    assert sha(ws / "measurements.yaml") == before


def test_record_to_a_folder_is_refused_without_leaving_a_lock(ws: Path) -> None:
    (ws / "folder.yaml").mkdir()
    code, _, err = run("record", "mrr", "5", "--to", "folder.yaml")
    assert code == 2
    assert "not a file the workspace reads" in err
    assert not (ws / "folder.yaml.lock").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("1e16", "at most 1e15 in size"), ("nan", "is not a number")],
)
def test_record_refuses_values_out_of_range(ws: Path, value: str, message: str) -> None:
    before = sha(ws / "measurements.yaml")
    code, _, err = run("record", "mrr", value)
    assert code == 2
    assert message in err
    assert sha(ws / "measurements.yaml") == before


def test_a_write_loads_the_workspace_once(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's own load is the before-check, import's duplicate check and the
    base of the after-check when the file did not change meanwhile: one full load."""
    import kpitrack.reading.loading as loading

    calls: list[int] = []
    real = loading._load  # every load of a workspace goes through it

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(loading, "_load", counting)
    assert run("record", "mrr", "41", "--date", "2026-02-28")[0] == 0
    assert len(calls) == 1
    calls.clear()
    (ws / "in.csv").write_text(CSV)
    assert run("import", "in.csv")[0] == 0
    assert len(calls) == 1
    assert len(measurements(ws)) == 1 + 1 + 3


@pytest.mark.parametrize(
    "csv_text",
    [
        "KPI,Date,Value\nmrr,2026-02-28,50\n",
        " Kpi ; DATE ; value \nmrr;2026-02-28;50\n",
        "kpi\tdate\tvalue\nmrr\t2026-02-28\t50\n",
    ],
    ids=["capitals", "semicolons", "tabs"],
)
def test_import_headers_and_delimiters(ws: Path, csv_text: str) -> None:
    (ws / "v.csv").write_text(csv_text)
    code, out, err = run("import", "v.csv")
    assert code == 0, err
    assert "added 1 measurement(s)" in out
    assert "value: 50" in (ws / "measurements.yaml").read_text()


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        ("kpi,date,value,note\nmrr,2026-02-28,5,caf\xe9\n".encode("latin-1"), "iconv -f latin1"),
        ("kpi,date,value,note\nmrr,2026-02-28,5,\u20ac\n".encode("cp1252"), "iconv -f cp1252"),
        ("kpi,date,value\nmrr,2026-02-28,5\n".encode("utf-16"), "iconv -f utf-16"),
    ],
)
def test_import_names_the_likely_encoding(ws: Path, data: bytes, hint: str) -> None:
    (ws / "v.csv").write_bytes(data)
    before = sha(ws / "measurements.yaml")
    code, _, err = run("import", "v.csv")
    assert code == 2
    assert "not UTF-8 text" in err and hint in err and "-t utf-8" in err
    assert sha(ws / "measurements.yaml") == before


def test_import_refuses_non_ascii_dates(ws: Path) -> None:
    (ws / "v.csv").write_text("kpi,date,value\nmrr,٢٠٢٦-٠٢-٢٨,5\n", encoding="utf-8")
    code, _, err = run("import", "v.csv")
    assert code == 2 and "KT202" in err and "not a date" in err


def test_import_dry_run_cites_the_lines_the_entries_would_get(ws: Path) -> None:
    """Warnings in a dry run name the lines the real import then gives the entries."""
    (ws / "v.csv").write_text("kpi,date,value\nmrr,2026-01-20,41\n")  # KT105: same month
    code, _, dry = run("import", "v.csv", "--dry-run")
    assert code == 0
    lines_before = len((ws / "measurements.yaml").read_text().splitlines())
    code, _, real = run("import", "v.csv")
    assert code == 0
    dry_at = [line.split(" ")[0] for line in dry.splitlines() if "KT105" in line]
    real_at = [line.split(" ")[0] for line in real.splitlines() if "KT105" in line]
    assert dry_at and dry_at == real_at
    cited = int(dry_at[0].split(":")[1])
    assert cited <= len((ws / "measurements.yaml").read_text().splitlines())
    assert lines_before < len((ws / "measurements.yaml").read_text().splitlines())
