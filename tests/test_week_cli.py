"""The second week of real use (issue #22): --color after the command, `kpitrack help`,
help text, words, flags with one meaning, archived KPIs named explicitly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import invoke

from kpitrack.cli import color_first

KPIS = """\
objectives:
  - {id: growth, title: Grow the product}
kpis:
  - id: weekly-active-users
    name: Weekly active users
    measure: Distinct users who logged in during the ISO week, from the auth log
    target: 1000
    baseline: 100
    unit: user
    unit_plural: users
    frequency: weekly
    owner: Product team
    objective: growth
  - id: incidents
    name: Incidents
    measure: Count of incidents opened in the month, from the pager
    target: 2
    direction: decrease
    unit: incidents
    frequency: monthly
    owner: Ops
    objective: growth
  - id: beta-signups
    name: Beta signups
    measure: Sign-ups to the beta programme, from the form
    target: 50
    frequency: weekly
    owner: Product team
    objective: growth
    archived: true
measurements:
  - {kpi: weekly-active-users, date: 2026-11-01, value: 1}
  - {kpi: incidents, date: 2026-10-31, value: 1}
  - {kpi: beta-signups, date: 2026-11-01, value: 20}
"""
AS_OF = ("--as-of", "2026-11-10")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------- item 5: --color, help


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["status", "--color", "never"], ["--color", "never", "status"]),
        (
            ["--color", "always", "status", "--color=never"],
            ["--color", "always", "--color=never", "status"],
        ),
        (["record", "x", "1", "--", "--color"], ["record", "x", "1", "--", "--color"]),
        (["--version"], ["--version"]),
        (["show", "mrr", "--note", "--color never"], ["show", "mrr", "--note", "--color never"]),
    ],
)
def test_color_after_the_command_moves_to_the_root(args: list[str], expected: list[str]) -> None:
    assert color_first(args) == expected


def test_color_after_the_subcommand_works_like_before_it(ws: Path) -> None:
    always = invoke("status", *AS_OF, "--color", "always", env={"NO_COLOR": "1"})
    assert always.code == 0, always.stderr
    assert "\x1b[" in always.stdout
    never = invoke("status", "--color", "never", *AS_OF, env={"FORCE_COLOR": "1"})
    assert never.code == 0 and "\x1b[" not in never.stdout
    # the later one wins
    last = invoke("--color", "always", "status", "--color", "never", *AS_OF)
    assert last.code == 0 and "\x1b[" not in last.stdout
    bad = invoke("status", "--color", "sometimes")
    assert bad.code == 2 and "'sometimes' is not one of" in bad.stderr


def test_help_command(ws: Path) -> None:
    top = invoke("help")
    assert top.code == 0 and "Usage: kpitrack" in top.stdout and "status" in top.stdout
    one = invoke("help", "report")
    assert one.code == 0 and one.stdout == invoke("report", "--help").stdout
    wrong = invoke("help", "reprot")
    assert wrong.code == 2 and "did you mean 'report'" in wrong.stderr


# ---------------------------------------------------------------- item 15: help text


def test_help_shows_percent_and_optional_arguments_plainly(ws: Path) -> None:
    status = invoke("status", "--help").stdout
    assert "USD and %" in status and "%%" not in status
    history = invoke("history", "--help").stdout
    assert "[KPI]" in history and "[[KPI]]" not in history
    diff = invoke("diff", "--help").stdout
    assert "[REV2]" in diff and "[[REV2]]" not in diff


def test_units_are_plural_only_as_declared(ws: Path) -> None:
    from kpitrack.domain.model import Frequency, Kpi
    from kpitrack.evaluation.evaluate import format_value

    person = Kpi(
        id="hires",
        name="Hires",
        measure="m",
        target=3,
        frequency=Frequency.MONTHLY,
        unit="person",
        unit_plural="people",
    )
    assert format_value(person, 1, unit=True) == "1 person"
    assert format_value(person, 3, unit=True) == "3 people"
    assert format_value(person, 0, unit=True) == "0 people"
    written = Kpi(
        id="inc",
        name="Incidents",
        measure="m",
        target=2,
        frequency=Frequency.MONTHLY,
        unit="incident",
    )
    assert format_value(written, 2, unit=True) == "2 incident"  # never a guessed plural
    shown = invoke("show", "weekly-active-users", *AS_OF)
    assert shown.code == 0, shown.output
    assert "1 user" in shown.stdout and "1 users" not in shown.stdout
    assert "1,000 users" in shown.stdout
    checked = invoke("check", *AS_OF)
    assert "unit_plural" not in checked.output  # a known key


def test_objective_typo_gets_a_did_you_mean_and_the_known_ids(ws: Path) -> None:
    ran = invoke("status", "--objective", "grow", *AS_OF)
    assert ran.code == 2
    assert "did you mean 'growth'" in ran.stderr and "known: growth" in ran.stderr


def test_show_says_a_kpi_is_archived(ws: Path) -> None:
    table = invoke("show", "beta-signups", *AS_OF)
    assert table.code == 0 and "archived" in table.stdout
    assert "archived" not in invoke("show", "incidents", *AS_OF).stdout
    assert "Archived" in invoke("show", "beta-signups", "--format", "markdown", *AS_OF).stdout
    assert '"archived": true' in invoke("show", "beta-signups", "--format", "json", *AS_OF).stdout


# ---------------------------------------------------------------- item 16: one meaning per flag


def test_show_history_all_and_the_deprecated_all(ws: Path, tmp_path: Path) -> None:
    rows = "".join(
        f"  - {{kpi: incidents, date: 2025-{m:02d}-28, value: {m}}}\n" for m in range(1, 13)
    )
    (tmp_path / "more.yaml").write_text("measurements:\n" + rows, encoding="utf-8")
    files = ("-f", "kpis.yaml", "-f", "more.yaml")
    recent = invoke("show", "incidents", *files, *AS_OF)
    assert "History (last 12 of 13; --history all" in recent.stdout
    full = invoke("show", "incidents", *files, "--history", "all", *AS_OF)
    assert full.code == 0 and "History\n" in full.stdout and full.stderr == ""
    old = invoke("show", "incidents", *files, "--all", *AS_OF)
    assert old.code == 0 and old.stdout == full.stdout
    assert "warning: show --all is deprecated; use show --history all" in old.stderr
    assert invoke("show", "incidents", "--history", "some").code == 2
    assert "--all" not in invoke("show", "--help").stdout


def test_report_mail_to_and_the_deprecated_to(ws: Path) -> None:
    new = invoke("report", "--format", "email", "--mail-to", "a@example.org", *AS_OF)
    assert new.code == 0 and "To: a@example.org" in new.stdout
    old = invoke("report", "--format", "email", "--to", "a@example.org", *AS_OF)
    assert old.code == 0 and "To: a@example.org" in old.stdout
    assert "warning: report --to is deprecated; use report --mail-to" in old.stderr
    assert "--mail-to" in invoke("report", "--help").stdout


# ---------------------------------------------------------------- item 17: archived, named


def test_status_kpi_shows_an_archived_kpi_named_explicitly(ws: Path) -> None:
    named = invoke("status", "--kpi", "beta-signups", "--format", "json", *AS_OF)
    assert named.code == 0
    assert [k["id"] for k in json.loads(named.stdout)["kpis"]] == ["beta-signups"]
    listed = invoke("status", "--format", "json", *AS_OF)
    assert "beta-signups" not in listed.stdout  # filters other than --kpi leave it out
    owner = invoke("status", "--owner", "Product team", "--format", "json", *AS_OF)
    assert "beta-signups" not in owner.stdout


# ---------------------------------------------------------------- item 15: init and config


def test_init_folder_names_the_file_and_its_workspace_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    made = invoke("init", "okrs")
    assert made.code == 0
    assert "next: edit okrs/kpis.yaml" in made.stdout
    monkeypatch.chdir(tmp_path / "okrs")
    checked = invoke("check", "--strict")
    assert checked.code == 0, checked.output
    assert "warning" not in checked.output  # no KT111 (or any) warning on a fresh workspace
    here = invoke("init")
    assert "next:" not in here.stdout  # nothing created, nothing to edit


def test_unknown_config_key_has_its_line_and_a_did_you_mean(ws: Path) -> None:
    (ws / "kpitrack.toml").write_text(
        '# settings\nfiles = ["kpis.yaml"]\n\nmail_frm = "kpis@example.org"\n', encoding="utf-8"
    )
    ran = invoke("status", *AS_OF)
    assert ran.code == 2
    assert "kpitrack.toml:4: unknown key 'mail_frm' (did you mean 'mail_from'?)" in ran.stderr
