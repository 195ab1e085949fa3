"""`rename`: the pure text edit, and the command (locked, atomic, byte-preserving)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import Ran, run_process

from kpitrack.writing.renaming import IdKind, rename_id_in_text

KPIS = """\
# Our KPIs
objectives:
  - id: grow   # the one
    title: Grow
kpis:
  - id: wau    # weekly
    name: Weekly active users (wau)
    measure: Distinct users who logged in during the ISO week
    target: 1000
    frequency: weekly
    owner: Product
    objective: grow
  - id: wau2
    name: Other
    measure: Something else that is counted weekly from the log
    target: 5
    frequency: weekly
    owner: Product
    objective: "grow"
"""

MEASUREMENTS = """\
measurements:\r
  - {kpi: wau, date: 2026-11-01, value: 5}   # wau\r
  - kpi: "wau"\r
    date: 2026-11-08\r
    value: 6\r
  - kpi: wau2\r
    date: 2026-11-08\r
    value: 1\r
"""


def test_rename_kpi_changes_only_the_id_spans() -> None:
    new, changes = rename_id_in_text(KPIS, "k.yaml", IdKind.KPI, "wau", "weekly-active-users")
    assert new == KPIS.replace("  - id: wau    #", "  - id: weekly-active-users    #")
    assert [c.line for c in changes] == [6]
    new, changes = rename_id_in_text(MEASUREMENTS, "m.yaml", IdKind.KPI, "wau", "w")
    assert new == (MEASUREMENTS.replace("{kpi: wau,", "{kpi: w,").replace('kpi: "wau"', 'kpi: "w"'))
    assert [c.line for c in changes] == [2, 3]
    assert "\r\n" in new and "# wau" in new  # line ends and comments stay


def test_rename_objective_changes_definition_and_references() -> None:
    new, changes = rename_id_in_text(KPIS, "k.yaml", IdKind.OBJECTIVE, "grow", "growth")
    assert "id: growth   # the one" in new
    assert "objective: growth\n" in new and 'objective: "growth"' in new
    assert [c.line for c in changes] == [3, 12, 19]
    assert "id: wau " in new


def test_rename_of_absent_id_returns_the_text_unchanged() -> None:
    assert rename_id_in_text(KPIS, "k.yaml", IdKind.KPI, "nope", "x") == (KPIS, [])


@given(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True))
def test_rename_round_trips(new_id: str) -> None:
    if new_id in ("wau", "wau2"):
        return
    there, _ = rename_id_in_text(MEASUREMENTS, "m.yaml", IdKind.KPI, "wau", new_id)
    back, _ = rename_id_in_text(there, "m.yaml", IdKind.KPI, new_id, "wau")
    # an id that needs quotes (e.g. "0") leaves quotes behind; nothing else changes
    assert back.replace('"wau"', "wau") == MEASUREMENTS.replace('"wau"', "wau")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS)
    (tmp_path / "measurements.yaml").write_bytes(MEASUREMENTS.encode())
    return tmp_path


def kt(ws: Path, *args: str) -> Ran:
    return run_process(*args, cwd=ws)


def test_rename_command_everywhere(ws: Path) -> None:
    done = kt(ws, "rename", "wau", "weekly-active-users")
    assert done.code == 0, done.stderr
    assert "on 3 line(s) in 2 file(s)" in done.stdout
    kpis = (ws / "kpis.yaml").read_text()
    assert "id: weekly-active-users    # weekly" in kpis
    assert "Weekly active users (wau)" in kpis  # names are not ids
    data = (ws / "measurements.yaml").read_bytes()
    assert (
        data
        == MEASUREMENTS.replace("kpi: wau,", "kpi: weekly-active-users,")
        .replace('kpi: "wau"', 'kpi: "weekly-active-users"')
        .encode()
    )
    status = kt(ws, "show", "weekly-active-users", "--format", "json")
    assert status.code == 0, status.stderr


def test_rename_dry_run_shows_lines_and_writes_nothing(ws: Path) -> None:
    before = sha(ws / "kpis.yaml"), sha(ws / "measurements.yaml")
    done = kt(ws, "rename", "grow", "growth", "--dry-run")
    assert done.code == 0, done.stderr
    assert "kpis.yaml:3: -  - id: grow   # the one" in done.stdout
    assert "kpis.yaml:3: +  - id: growth   # the one" in done.stdout
    assert "nothing written" in done.stdout
    assert (sha(ws / "kpis.yaml"), sha(ws / "measurements.yaml")) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["wua", "x"], "no KPI or objective 'wua' (did you mean 'wau'?)"),
        (["wau", "wau2"], "there is already a kpi 'wau2'"),
        (["wau", "Bad Id"], "is not a valid id"),
        (["wau", "wau"], "already has that id"),
    ],
)
def test_rename_refusals_change_nothing(ws: Path, args: list[str], message: str) -> None:
    before = sha(ws / "kpis.yaml"), sha(ws / "measurements.yaml")
    done = kt(ws, "rename", *args)
    assert done.code == 2
    assert message in done.stderr
    assert (sha(ws / "kpis.yaml"), sha(ws / "measurements.yaml")) == before


LINKED = """\
objectives:
  - id: company
    title: Company
  - id: sales
    title: Sales
    parent: company   # serves the company
kpis:
  - id: mrr
    name: MRR
    measure: Sum of monthly recurring revenue
    target: 100
    frequency: monthly
    objective: sales
    drivers: [trials, churn]
  - id: churn
    name: Churn
    measure: Share of customers lost in the month
    target: 2
    frequency: monthly
    objective: sales
    drivers:
      - trials
events:
  - {date: 2026-03-01, title: Launch, kpis: [trials, mrr]}
  - date: 2026-04-01
    title: Outage
"""


def test_rename_kpi_rewrites_drivers_and_event_kpis() -> None:
    new, changes = rename_id_in_text(LINKED, "k.yaml", IdKind.KPI, "trials", "trial-starts")
    assert new == LINKED.replace("trials", "trial-starts")
    assert [c.line for c in changes] == [14, 22, 24]


def test_rename_objective_rewrites_parents() -> None:
    new, changes = rename_id_in_text(LINKED, "k.yaml", IdKind.OBJECTIVE, "company", "acme")
    assert new == LINKED.replace("id: company", "id: acme").replace(
        "parent: company", "parent: acme"
    )
    assert [c.line for c in changes] == [2, 6]
    assert "# serves the company" in new  # comments stay
