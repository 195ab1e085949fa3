"""The write core called directly (no CliRunner): every outcome of record, import,
init, rename and review, the CSV reader, verify(), and the cost of an append."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from write_fixtures import KPIS, MEASUREMENTS

from kpitrack.domain.model import Config, Measurement
from kpitrack.domain.problems import InvalidWorkspaceError, UsageError, WriteError
from kpitrack.reading import yamlnodes
from kpitrack.reading.loading import load_texts
from kpitrack.writing import csvinput, recording, yamlappend
from kpitrack.writing.csvinput import InvalidCsvError, open_csv, read_rows
from kpitrack.writing.recording import (
    ImportOutcome,
    RecordOutcome,
    import_measurements,
    load_for_writing,
    measurement_target,
    record,
    verify,
)

TODAY = dt.date(2026, 11, 29)
CONFIG = Config()


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS)
    (tmp_path / "measurements.yaml").write_text(MEASUREMENTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def entries(folder: Path) -> list[tuple[str, str, object, str | None, str | None]]:
    loaded = load_for_writing(None, TODAY, config=CONFIG, cwd=folder)
    return [
        (m.kpi, m.date.isoformat(), m.value, m.note, m.by) for m in loaded.workspace.measurements
    ]


def rec(value: str = "41", kpi: str = "mrr", **kw: Any) -> RecordOutcome:
    kw.setdefault("date", "2026-02-28")
    return record(kpi, value, today=TODAY, config=CONFIG, **kw)


# ---------------------------------------------------------------- record


def test_record_appends_and_evaluates(ws: Path) -> None:
    outcome = rec("41", note="second", by="ana")
    assert outcome.written and outcome.target == ws / "measurements.yaml"
    assert outcome.measurement == Measurement("mrr", dt.date(2026, 2, 28), 41, "second", "ana")
    assert outcome.result.kpi.id == "mrr" and outcome.as_of == TODAY
    assert outcome.warnings == () and outcome.note is None
    assert entries(ws)[-1] == ("mrr", "2026-02-28", 41.0, "second", "ana")
    text = (ws / "measurements.yaml").read_text()
    assert text.startswith(MEASUREMENTS)  # every old byte kept
    assert text[len(MEASUREMENTS) :] == (
        "  - kpi: mrr\n    date: 2026-02-28\n    value: 41\n    note: second\n    by: ana\n"
    )


def test_record_refuses_a_duplicate_unless_allowed(ws: Path) -> None:
    rec("41", by="ana")
    before = (ws / "measurements.yaml").read_bytes()
    again = rec("41", by="ana")
    assert not again.written
    assert (ws / "measurements.yaml").read_bytes() == before
    forced = rec("41", by="ana", allow_duplicate=True)
    assert forced.written
    assert [e for e in entries(ws) if e[1] == "2026-02-28"] == [
        ("mrr", "2026-02-28", 41.0, None, "ana")
    ] * 2
    # a second value in one period is allowed and warned about
    assert any(p.code == "KT105" for p in forced.warnings)


@pytest.mark.parametrize(
    ("kpi", "value", "message"),
    [
        ("mrr", "lots", "is not a number"),
        ("mrr", "nan", "is not a number"),
        ("mrr", ".inf", "is not a number"),
        ("mrr", "1e400", "not a finite number"),
        ("mrr", "true", "is not a number"),
        ("csat", "great", "is not on the scale of KPI 'csat'"),
        ("launch", "120", "outside 0–100"),
    ],
)
def test_record_refuses_an_invalid_value(ws: Path, kpi: str, value: str, message: str) -> None:
    before = (ws / "measurements.yaml").read_bytes()
    with pytest.raises(UsageError, match=message):
        rec(value, kpi=kpi)
    assert (ws / "measurements.yaml").read_bytes() == before


def test_record_refuses_an_unknown_kpi_and_a_bad_date(ws: Path) -> None:
    with pytest.raises(UsageError, match=r"no KPI 'mr'.*did you mean 'mrr'"):
        rec(kpi="mr")
    with pytest.raises(UsageError, match="--date"):
        rec(date="2026-13-01")


def test_record_refuses_an_invalid_workspace(ws: Path) -> None:
    (ws / "kpis.yaml").write_text(KPIS.replace("target: 100", "target: lots"))
    with pytest.raises(InvalidWorkspaceError) as info:
        rec()
    assert any(p.code == "KT016" for p in info.value.problems)


def test_record_values_of_every_kind(ws: Path) -> None:
    assert rec("good", kpi="csat").measurement.value == "good"
    assert rec("55.5", kpi="launch").measurement.value == 55.5
    assert rec("-12").measurement.value == -12


def test_record_into_a_file_another_writer_changed_after_the_load(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file changed between the command's load and the lock: it is loaded again,
    so the other writer's entry is kept and a duplicate of it is still refused."""
    real = recording.read_existing

    def sneaky(target: Path, display: Path) -> Any:
        path = ws / "measurements.yaml"
        if "other" not in path.read_text():
            with path.open("a") as fh:
                fh.write("  - kpi: mrr\n    date: 2026-02-28\n    value: 41\n    by: other\n")
        return real(target, display)

    monkeypatch.setattr(recording, "read_existing", sneaky)
    assert not rec("41", by="other").written  # the other writer's entry, now a duplicate
    assert rec("42", by="me").written
    assert [e[4] for e in entries(ws)] == [None, "other", "me"]


# ---------------------------------------------------------------- the target file


def test_target_file_choice(ws: Path) -> None:
    (ws / "other.yaml").write_text(
        "measurements:\n  - {kpi: csat, date: 2026-03-31, value: fair}\n"
    )
    loaded = load_for_writing([ws], TODAY, config=CONFIG)
    mrr, csat, launch = (loaded.workspace.kpi(k) for k in ("mrr", "csat", "launch"))
    assert mrr is not None and csat is not None and launch is not None
    assert measurement_target(loaded, [mrr], ws / "other.yaml") == ws / "other.yaml"  # --to
    with pytest.raises(UsageError, match=r"not a file the workspace reads.*other\.yaml"):
        measurement_target(loaded, [mrr], Path("x.yaml"))  # --to a file nobody reads
    assert measurement_target(loaded, [mrr], None).name == "measurements.yaml"  # latest value
    assert measurement_target(loaded, [csat], None).name == "other.yaml"
    # no value yet: the first file holding a measurements list
    assert measurement_target(loaded, [launch], None).name == "measurements.yaml"
    configured = Config(measurements_file="m2.yaml", root=str(ws))
    loaded2 = load_for_writing([ws], TODAY, config=configured)
    assert measurement_target(loaded2, [mrr], None) == ws / "m2.yaml"


def test_target_is_the_kpi_file_in_a_single_file_workspace(ws: Path) -> None:
    outcome = rec(files=[Path("kpis.yaml")])
    assert outcome.target.name == "kpis.yaml"
    assert "measurements:" in (ws / "kpis.yaml").read_text()


def test_target_outside_the_workspace_is_refused(ws: Path) -> None:
    with pytest.raises(UsageError, match=r"--to elsewhere.yaml: not a file the workspace reads"):
        rec(to=Path("elsewhere.yaml"))
    assert not (ws / "elsewhere.yaml").exists()
    assert not (ws / "elsewhere.yaml.lock").exists()


# ---------------------------------------------------------------- import


CSV = "kpi,date,value,note\nmrr,2026-02-28,41,\nmrr,2026-03-31,42,x\ncsat,2026-Q1,good,\n"


def imp(text: str, **kw: Any) -> ImportOutcome:
    (Path.cwd() / "in.csv").write_text(text)
    return import_measurements("in.csv", today=TODAY, config=CONFIG, **kw)


def test_import_outcomes(ws: Path) -> None:
    dry = imp(CSV, dry_run=True)
    assert dry.dry_run and len(dry.added) == 3 and dry.skipped == 0
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS
    done = imp(CSV)
    assert (done.rows, len(done.added), done.skipped) == (3, 3, 0)
    assert done.source == "in.csv" and done.target == ws / "measurements.yaml"
    again = imp(CSV + "mrr,2026-04-30,43,\nmrr,2026-04-30,43,\n")
    assert (again.rows, len(again.added), again.skipped) == (5, 1, 4)  # repeated row once
    assert len(entries(ws)) == 1 + 3 + 1


def test_import_from_stdin(ws: Path) -> None:
    stdin = io.BytesIO(b"\xef\xbb\xbfkpi;date;value\nmrr;2026-02-28;41\n")
    outcome = import_measurements("-", today=TODAY, config=CONFIG, stdin=stdin)
    assert outcome.source == "<stdin>" and len(outcome.added) == 1


def test_import_csv_problems_are_raised_not_printed(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = "kpi,date,value\nmrr,2026-02-28,ten\nmr,2026-02-30,1\n"
    with pytest.raises(InvalidCsvError) as info:
        imp(bad)
    assert str(info.value) == "in.csv: 3 error(s); nothing imported"
    assert [(p.line, p.column, p.code) for p in info.value.problems] == [
        (2, 3, "KT202"),
        (3, 1, "KT202"),
        (3, 2, "KT202"),
    ]
    assert capsys.readouterr() == ("", "")
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS
    with pytest.raises(InvalidCsvError) as header:
        imp("kpi,dat,value\n")
    assert [p.code for p in header.value.problems] == ["KT201", "KT201"]


def test_import_input_caps(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="KT211"):
        import_measurements(str(ws), today=TODAY, config=CONFIG)
    with pytest.raises(UsageError, match="no such file"):
        import_measurements("missing.csv", today=TODAY, config=CONFIG)
    monkeypatch.setattr(yamlnodes, "MAX_FILE_BYTES", 40)
    with pytest.raises(UsageError, match="KT210"):
        imp(CSV)
    monkeypatch.setattr(yamlnodes, "MAX_FILE_BYTES", 32 * 1024 * 1024)
    monkeypatch.setattr(csvinput, "MAX_CSV_ROWS", 2)
    with pytest.raises(InvalidCsvError) as info:
        imp(CSV)
    assert info.value.problems[-1].code == "KT212"
    assert (ws / "measurements.yaml").read_text() == MEASUREMENTS


def test_csv_rows_are_streamed(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader pulls lines one at a time: with the row cap reached it stops, even on
    an endless input."""
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        yield "kpi,date,value\n"
        while True:
            pulled += 1
            yield "mrr,2026-02-28,1\n"

    monkeypatch.setattr(csvinput, "MAX_CSV_ROWS", 50)
    workspace = load_for_writing(None, TODAY, config=CONFIG).workspace
    rows, problems = read_rows(endless(), "in.csv", workspace, TODAY)
    assert [p.code for p in problems] == ["KT212"] and len(rows) == 50
    assert pulled == 51


def test_csv_reader_reads_a_capped_stream(ws: Path) -> None:
    (ws / "a.csv").write_bytes(b"kpi,date,value\r\nmrr,2026-02-28,1\r\n")
    source = open_csv("a.csv", io.BytesIO())
    try:
        assert list(source.lines()) == ["kpi,date,value\r\n", "mrr,2026-02-28,1\r\n"]
    finally:
        source.close()
    (ws / "b.csv").write_bytes("kpi,date,value\nmrr,2026-02-28,caf\xe9\n".encode("latin-1"))
    with pytest.raises(UsageError, match=r"b.csv:2: not UTF-8 text.*iconv -f latin1"):
        list(open_csv("b.csv", io.BytesIO()).lines())


# ---------------------------------------------------------------- verify() and the append's cost


NEW = (Measurement("mrr", dt.date(2026, 2, 28), 41, None, "ana"),)
STYLES = {
    "block": MEASUREMENTS,
    "flow": "measurements:\n  - {kpi: mrr, date: 2026-01-31, value: 40}\n  # trailing\n",
    "padded flow, CRLF": "measurements:\r\n- { kpi: mrr, date: 2026-01-31, value: 40 }\r\n",
    "list then a key": "measurements:\n  - kpi: mrr\n    date: 2026-01-31\n    value: 40\n"
    "objectives:\n  - id: other\n    title: Kept\n",
    "block scalar, no final newline": "measurements:\n  - kpi: mrr\n    date: 2026-01-31\n"
    "    value: 40\n    note: |\n      line one",
    "comments and blanks": "# head\nmeasurements:\n\n  # section\n  - kpi: mrr\n"
    "    date: 2026-01-31\n    value: 40\n    # belongs to it\n\n# tail\n",
}


def _last(text: str) -> tuple[int, int]:
    workspace, problems = load_texts(
        [("kpis.yaml", KPIS), ("m.yaml", text)], config=CONFIG, as_of=TODAY
    )
    assert not [p for p in problems if p.is_error], problems
    last = [m for m in workspace.measurements if m.loc.path == "m.yaml"][-1]
    return last.loc.line, last.loc.column


@pytest.mark.parametrize("text", STYLES.values(), ids=STYLES.keys())
def test_the_append_from_the_last_entry_equals_the_full_one(text: str) -> None:
    line, column = _last(text)
    fast = yamlappend.insert_after_entry(
        text, NEW, path="m.yaml", entry_line=line, entry_column=column
    )
    full = yamlappend.insert_measurements(text, NEW, path="m.yaml")
    assert fast == full
    positions = verify(text, full, NEW, path="m.yaml", last_entry=(line, column))
    assert positions == verify(text, full, NEW, path="m.yaml")  # same lines either way
    assert positions[0][0] > line


def test_verify_catches_a_corrupted_write() -> None:
    text = STYLES["list then a key"]
    last = _last(text)
    good = yamlappend.insert_measurements(text, NEW, path="m.yaml")
    verify(text, good, NEW, path="m.yaml", last_entry=last)
    corrupted = {
        "a byte before the entry": good.replace("measurements:", "measurementz:", 1),
        "the old entry": good.replace("value: 40", "value: 4", 1),
        "the new value": good.replace("value: 41", "value: 14"),
        "the key after the list": good.replace("Kept", "Lost"),
        "an extra entry": good.replace(
            "objectives", "  - {kpi: mrr, date: 2026-03-31, value: 1}\nobjectives"
        ),
        "a lost entry": text,
        "broken YAML": good.replace("by: ana", "by: [ana"),
    }
    for what, new in corrupted.items():
        for where in (last, None):
            with pytest.raises(WriteError, match="file unchanged"):
                verify(text, new, NEW, path="m.yaml", last_entry=where)
                pytest.fail(f"{what} was not caught ({where})")


def test_record_parses_only_the_lines_it_appends_after(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One full parse of each file (the load); the append itself parses only the lines
    from the last entry on, however long the file is."""
    many = "".join(
        f"  - {{kpi: mrr, date: {2000 + i // 12}-{i % 12 + 1:02}-01, value: {i}}}\n"
        for i in range(2000)
    )
    (ws / "measurements.yaml").write_text("measurements:\n" + many)
    size = len("measurements:\n" + many)
    parsed: list[int] = []
    real = yamlappend.parse

    def counting(text: str, path: str, **kw: Any) -> Any:
        parsed.append(len(text))
        return real(text, path, **kw)

    monkeypatch.setattr(yamlappend, "parse", counting)
    assert rec("41", date="2026-11-01").written
    assert parsed and max(parsed) < 200 < size


# ---------------------------------------------------------------- init, rename, review


def test_init_folder_creates_and_never_replaces(tmp_path: Path) -> None:
    from kpitrack.writing.starter import init_folder

    created, kept = init_folder(tmp_path / "new", today=dt.date(2026, 11, 30))
    assert {p.name for p in created} >= {"kpis.yaml", "measurements.yaml", "kpitrack.toml"}
    assert kept == []
    (tmp_path / "new" / "kpis.yaml").write_text("mine\n")
    created, kept = init_folder(tmp_path / "new", today=dt.date(2026, 11, 30))
    assert created == [] and (tmp_path / "new" / "kpis.yaml") in kept
    assert (tmp_path / "new" / "kpis.yaml").read_text() == "mine\n"


def test_rename_core(ws: Path) -> None:
    from kpitrack.writing.renaming import IdKind, rename

    dry = rename("mrr", "income", today=TODAY, config=CONFIG, dry_run=True)
    assert dry.kind is IdKind.KPI and dry.lines == 2 and dry.dry_run
    assert "income" not in (ws / "kpis.yaml").read_text()
    done = rename("mrr", "income", today=TODAY, config=CONFIG)
    assert done.lines == 2 and len(done.files) == 2
    assert entries(ws)[0][0] == "income"
    with pytest.raises(UsageError, match="no KPI or objective 'mrr'"):
        rename("mrr", "x", today=TODAY, config=CONFIG)
    with pytest.raises(UsageError, match="already a kpi 'csat'"):
        rename("income", "csat", today=TODAY, config=CONFIG)


def test_review_core(ws: Path) -> None:
    from kpitrack.writing.reviewing import review

    outcome = review("csat", day=TODAY, today=TODAY, config=CONFIG, note="with the team")
    assert outcome.kpi.id == "csat" and outcome.target.name == "kpis.yaml"
    assert "    last_reviewed: 2026-11-29  # with the team\n" in (ws / "kpis.yaml").read_text()
    with pytest.raises(UsageError, match="after today"):
        review("csat", day=TODAY + dt.timedelta(days=1), today=TODAY, config=CONFIG)
    with pytest.raises(UsageError, match="no KPI"):
        review("np", day=TODAY, today=TODAY, config=CONFIG)


def test_span_edits() -> None:
    from kpitrack.writing.yamlappend import Edit, apply_edits

    assert apply_edits("abcdef", [Edit(4, 5, "E"), Edit(0, 1, "A"), Edit(3, 3, "+")]) == "Abc+dEf"
    with pytest.raises(ValueError, match="overlapping"):
        apply_edits("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])


def test_a_file_broken_by_another_writer_meanwhile_is_refused(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = recording.read_existing
    broken = MEASUREMENTS + "  - kpi: nope\n    date: 2026-02-28\n    value: 1\n"

    def sneaky(target: Path, display: Path) -> Any:
        (ws / "measurements.yaml").write_text(broken)
        return real(target, display)

    monkeypatch.setattr(recording, "read_existing", sneaky)
    with pytest.raises(WriteError, match="another writer meanwhile and now has errors"):
        rec()
    assert (ws / "measurements.yaml").read_text() == broken
