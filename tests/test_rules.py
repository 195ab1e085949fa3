"""Every rule code of docs/rules.md: a failing case (exact code, line, column) and a passing one."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kpitrack.domain.model import Config
from kpitrack.domain.problems import Problem
from kpitrack.reading.loading import load_texts
from kpitrack.reading.rules import CSV_RULES, RULES

AS_OF = dt.date(2026, 11, 25)
DOCS = Path(__file__).parent.parent / "docs" / "rules.md"  # the Rule codes table

# Lines 1-10; a case's tail starts at line 11 (inside the KPI `revenue`, or a new section).
BASE = """\
objectives:
  - id: growth
    title: Grow revenue
kpis:
  - id: revenue
    name: Revenue
    measure: Sum of invoices issued
    frequency: monthly
    owner: sales
    objective: growth
"""
TARGET = "    target: 100\n"  # line 11 when first in the tail
# A second, complete KPI (6 lines); append more keys after it.
K2 = """\
  - id: k2
    name: K2
    measure: Count of signed contracts
    target: 1
    frequency: weekly
"""
K2_FULL = K2 + "    owner: sales\n    objective: growth\n"
M = "measurements:\n"
# An objective under `growth` (lines 1-4 of its own file) and a second one (lines 5-7).
SUB = "objectives:\n  - id: sub\n    title: Sub\n    parent: growth\n"
SUB2 = "  - id: sub-2\n    title: Sub 2\n    parent: growth\n"
DRIVEN = "    drivers: [k2]\n"  # revenue is driven by k2 (line 12)
M = "measurements:\n"
# A quantitative KPI of the same objective in another file: keeps KT112 quiet in passing
# cases whose only KPI in kpis.yaml is qualitative or progress.
QUANT = [("more.yaml", "kpis:\n" + K2_FULL)]


def monthly(*values: str, first: int = 5) -> str:
    """Measurements of `revenue` at the end of consecutive months of 2026 from `first`."""
    ends = {5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 20}
    return "".join(
        f"  - {{kpi: revenue, date: 2026-{m:02d}-{ends[m]}, value: {v}}}\n"
        for m, v in zip(range(first, first + len(values)), values, strict=True)
    )


SQL = "    source:\n      sql: SELECT 1\n      database: app\n"  # a source, lines 12-14


@dataclass
class Case:
    code: str
    bad: str
    at: tuple[int, int]  # line, column of the problem in the bad text
    good: str
    full: bool = False  # the texts are whole files, not tails of BASE
    extra: list[tuple[str, str]] = field(default_factory=list)  # more (path, text) sources
    good_extra: list[tuple[str, str]] | None = None  # for the passing case; default: extra
    config: Config = field(default_factory=Config)
    good_config: Config | None = None
    path: str = "kpis.yaml"  # where the problem is expected


CASES: list[Case] = [
    Case("KT001", "kpis: [\n", (2, 1), "kpis: []\n", full=True),
    Case("KT001", "kpis:\n  - id: x\n   name: y\n", (3, 4), "kpis: []\n", full=True),
    Case("KT002", "kpis: " + "[" * 70 + "]" * 70 + "\n", (1, 70), "kpis: []\n", full=True),
    Case("KT003", "    target: !!int 100\n", (11, 13), TARGET),
    Case("KT003", "    target: &t 100\n", (11, 13), TARGET),
    Case("KT003", "kpis: !!python/object/apply:os.system [ls]\n", (1, 7), "kpis: []\n", full=True),
    Case("KT004", "kpis: []\n---\nkpis: []\n", (2, 1), "kpis: []\n", full=True),
    Case("KT004", "kpis:\n  - ? [a]\n    : b\n", (2, 7), "kpis: []\n", full=True),
    Case("KT005", TARGET + "    target: 200\n", (12, 5), TARGET),
    Case("KT010", "- kpis\n", (1, 1), "kpis: []\n", full=True),
    Case("KT010", "just text\n", (1, 1), "", full=True),
    Case("KT011", TARGET + "kpi: []\n", (12, 1), TARGET),
    Case(
        "KT012", TARGET + "measurements: {kpi: revenue}\n", (12, 15), TARGET + "measurements: []\n"
    ),
    Case("KT012", TARGET + "measurements:\n  - revenue\n", (13, 5), TARGET),
    Case(
        "KT012",
        TARGET + "    milestones: {date: 2026-01-31, target: 5}\n",
        (12, 17),
        TARGET + "    milestones: [{date: 2026-01-31, target: 5}]\n",
    ),
    Case("KT013", "", (5, 5), TARGET),
    Case("KT013", TARGET + M + "  - {kpi: revenue, value: 5}\n", (13, 5), TARGET),
    Case(
        "KT014", TARGET + M + '  - {kpi: revenue, date: 2026-01-31, value: ""}\n', (13, 45), TARGET
    ),
    Case("KT014", TARGET.replace("100", "~"), (11, 13), TARGET),
    Case("KT015", TARGET + "    frequncy: monthly\n", (12, 5), TARGET),
    Case(
        "KT015",
        TARGET + M + "  - {kpi: revenue, date: 2026-01-31, value: 1, vlaue: 2}\n",
        (13, 48),
        TARGET,
    ),
    Case("KT016", "    target: lots\n", (11, 13), TARGET),
    Case("KT016", "    target: no\n", (11, 13), TARGET),
    Case("KT016", "    target: e5\n", (11, 13), TARGET),  # once a float() crash
    Case("KT016", "    target: -.e5\n", (11, 13), TARGET),
    Case("KT016", "    target: 0755\n", (11, 13), TARGET),
    Case("KT016", "    target: yes\n", (11, 13), TARGET),
    Case("KT016", "    target: true\n", (11, 13), TARGET),
    Case("KT016", '    target: "100"\n', (11, 13), TARGET),
    Case("KT016", "    target: [100]\n", (11, 13), TARGET),
    Case(
        "KT016", TARGET + M + "  - {kpi: revenue, date: 2026-01-31, value: off}\n", (13, 45), TARGET
    ),
    Case("KT017", "    target: .nan\n", (11, 13), TARGET),
    Case("KT017", "    target: .inf\n", (11, 13), TARGET),
    Case("KT017", "    target: -.Inf\n", (11, 13), TARGET),
    Case("KT017", "    target: 1e400\n", (11, 13), TARGET),
    Case("KT017", "    target: " + "9" * 4301 + "\n", (11, 13), TARGET),
    Case("KT018", TARGET + "    unit: [USD]\n", (12, 11), TARGET + "    unit: 42\n"),
    Case(
        "KT019",
        TARGET + "events:\n  - {date: 2026-02-30, title: Launch}\n",
        (13, 12),
        TARGET + "events:\n  - {date: 2026-02-28, title: Launch}\n",
    ),
    Case(
        "KT013",
        TARGET + "events:\n  - {title: Launch}\n",
        (13, 5),
        TARGET + "events:\n  - {title: Launch, date: 2026-03-01, note: all KPIs}\n",
    ),
    Case("KT019", TARGET + "    due: 2026-02-30\n", (12, 10), TARGET + "    due: 2026-12-28\n"),
    Case("KT019", TARGET + "    due: 31/12/2026\n", (12, 10), TARGET + '    due: "2026-12-31"\n'),
    Case(
        "KT019",
        TARGET + M + "  - {kpi: revenue, date: 2026-13-01, value: 5}\n",
        (13, 26),
        TARGET + M + "  - {kpi: revenue, date: 2026-10-01, value: 5}\n",
    ),
    Case(
        "KT020",
        TARGET + K2_FULL.replace("id: k2", "id: K 2"),
        (12, 9),
        TARGET + K2_FULL.replace("id: k2", "id: k_2-b"),
    ),
    Case(
        "KT021",
        TARGET,
        (2, 9),
        TARGET,
        extra=[("more.yaml", "objectives:\n  - id: growth\n    title: Again\n")],
        good_extra=[("more.yaml", "objectives:\n  - id: growth-2\n    title: Again\n")],
        path="more.yaml",
    ),
    Case(
        "KT022",
        TARGET + K2_FULL.replace("id: k2", "id: revenue"),
        (12, 9),
        TARGET + K2_FULL,
    ),
    Case(
        "KT023",
        TARGET + K2 + "    owner: sales\n    objective: grwoth\n",
        (18, 16),
        TARGET + K2_FULL,
    ),
    Case(
        "KT024",
        TARGET + M + "  - {kpi: revnue, date: 2026-01-31, value: 5}\n",
        (13, 11),
        TARGET + M + "  - {kpi: revenue, date: 2026-01-31, value: 5}\n",
    ),
    Case(
        "KT023",
        TARGET,
        (4, 13),
        TARGET,
        extra=[("more.yaml", SUB.replace("growth", "growht"))],
        good_extra=[("more.yaml", SUB)],
        path="more.yaml",
    ),
    Case("KT024", TARGET + "    drivers: [k3]\n", (12, 15), TARGET + DRIVEN + K2_FULL),
    Case(
        "KT024",
        TARGET + "events:\n  - {date: 2026-03-01, title: Launch, kpis: [revnue]}\n",
        (13, 46),
        TARGET + "events:\n  - {date: 2026-03-01, title: Launch, kpis: [revenue]}\n",
    ),
    Case("KT025", TARGET + "    direction: up\n", (12, 16), TARGET + "    direction: decrease\n"),
    Case("KT025", TARGET + "    kind: quantitive\n", (12, 11), TARGET + "    kind: quantitative\n"),
    Case(
        "KT025",
        TARGET + "    indicator: lag\n",
        (12, 16),
        TARGET + "    indicator: lagging\n" + K2_FULL + "    indicator: leading\n",
    ),
    Case("KT025", TARGET + "    review: sometimes\n", (12, 13), TARGET + "    review: yearly\n"),
    Case(
        "KT030",
        "    target: good\n    kind: qualitative\n",
        (5, 5),
        "    target: good\n    kind: qualitative\n    scale: [poor, good]\n",
        good_extra=QUANT,
    ),
    Case(
        "KT031",
        "    target: great\n    kind: qualitative\n    scale: [poor, good]\n",
        (11, 13),
        "    target: good\n    kind: qualitative\n    scale: [poor, good]\n",
        good_extra=QUANT,
    ),
    Case(
        "KT031",
        "    target: good\n    kind: qualitative\n    scale: [poor, good]\n"
        + M
        + "  - {kpi: revenue, date: 2026-01-31, value: godo}\n",
        (15, 45),
        "    target: good\n    kind: qualitative\n    scale: [poor, good]\n"
        + M
        + "  - {kpi: revenue, date: 2026-01-31, value: good}\n",
        good_extra=QUANT,
    ),
    Case(
        "KT032",
        "    kind: progress\n" + M + "  - {kpi: revenue, date: 2026-01-31, value: 140}\n",
        (13, 45),
        "    kind: progress\n" + M + "  - {kpi: revenue, date: 2026-01-31, value: 100}\n",
        good_extra=QUANT,
    ),
    Case(
        "KT032",
        "    kind: progress\n    target: -1\n",
        (12, 13),
        "    kind: progress\n    target: 0\n",
        good_extra=QUANT,
    ),
    Case(
        "KT033",
        TARGET
        + "    milestones:\n      - {date: 2026-06-30, target: 50}\n"
        + "      - {date: 2026-03-31, target: 60}\n",
        (14, 16),
        TARGET
        + "    milestones:\n      - {date: 2026-03-31, target: 50}\n"
        + "      - {date: 2026-06-30, target: 60}\n",
    ),
    Case(
        "KT034",
        TARGET + "    due: 2026-12-31\n    milestones: [{date: 2027-01-31, target: 60}]\n",
        (13, 25),
        TARGET + "    due: 2026-12-31\n    milestones: [{date: 2026-12-31, target: 60}]\n",
    ),
    Case("KT035", TARGET + "    grace_days: -1\n", (12, 17), TARGET + "    grace_days: 0\n"),
    Case("KT035", TARGET + "    grace_days: 1.5\n", (12, 17), TARGET + "    grace_days: 10\n"),
    Case("KT036", TARGET + "    tags: finance\n", (12, 11), TARGET + "    tags: [finance]\n"),
    Case("KT036", TARGET + "    tags: [[a]]\n", (12, 12), TARGET + "    tags: [a, b]\n"),
    Case(
        "KT037",
        "    target: good\n    kind: qualitative\n    scale: [good]\n",
        (13, 12),
        "    target: good\n    kind: qualitative\n    scale: [bad, good]\n",
        good_extra=QUANT,
    ),
    Case(
        "KT037",
        "    target: good\n    kind: qualitative\n    scale: [good, bad, good]\n",
        (13, 24),
        "    target: good\n    kind: qualitative\n    scale: [bad, good]\n",
        good_extra=QUANT,
    ),
    Case(
        "KT038",
        TARGET + "    start: 2027-01-01\n    due: 2026-12-31\n",
        (12, 12),
        TARGET + "    start: 2026-01-01\n    due: 2026-12-31\n",
    ),
    Case("KT039", TARGET + "    weight: 0\n", (12, 13), TARGET + "    weight: 2.5\n"),
    Case(
        "KT039",
        TARGET,
        (5, 13),
        TARGET,
        extra=[("more.yaml", SUB + "    weight: -1\n")],
        good_extra=[("more.yaml", SUB + "    weight: 1\n")],
        path="more.yaml",
    ),
    Case(
        "KT040",
        TARGET,
        (4, 13),
        TARGET,
        extra=[("more.yaml", SUB.replace("growth", "sub-2") + SUB2.replace("growth", "sub"))],
        good_extra=[("more.yaml", SUB + SUB2.replace("growth", "sub"))],
        path="more.yaml",
    ),
    Case(
        "KT040",
        TARGET,
        (7, 13),
        TARGET,
        extra=[("more.yaml", SUB.replace("growth", "sub-2") + SUB2.replace("growth", "sub"))],
        good_extra=[("more.yaml", SUB + SUB2.replace("growth", "sub"))],
        path="more.yaml",
    ),
    Case("KT041", TARGET + "    drivers: [revenue]\n", (12, 15), TARGET + DRIVEN + K2_FULL),
    Case(
        "KT042",
        TARGET + DRIVEN + K2_FULL + "    drivers: [revenue]\n",
        (12, 15),
        TARGET + DRIVEN + K2_FULL,
    ),
    Case(
        "KT042",
        TARGET + DRIVEN + K2_FULL + "    drivers: [revenue]\n",
        (20, 15),
        TARGET + DRIVEN + K2_FULL,
    ),
    Case(  # 1,001 unknown keys: the first 1,000 are shown, the rest counted at the first left out
        "KT045",
        TARGET + "".join(f"    extra{i}: 1\n" for i in range(1001)),
        (1012, 5),
        TARGET,
    ),
    # ------------------------------------------------------------ warnings
    Case("KT101", TARGET + K2 + "    objective: growth\n", (12, 5), TARGET + K2_FULL),
    Case("KT102", TARGET + K2 + "    owner: sales\n", (12, 5), TARGET + K2_FULL),
    Case(
        "KT103",
        TARGET + K2_FULL,
        (12, 5),
        TARGET + K2_FULL,
        config=Config(focus_limit=1),
        good_config=Config(focus_limit=2),
    ),
    Case(
        "KT104",
        TARGET + K2_FULL,
        (2, 5),
        TARGET + K2_FULL,
        config=Config(focus_limit=1),
        good_config=Config(focus_limit=2),
    ),
    Case(
        "KT105",
        TARGET
        + M
        + "  - {kpi: revenue, date: 2026-01-31, value: 5}\n"
        + "  - {kpi: revenue, date: 2026-01-05, value: 6}\n",
        (14, 5),
        TARGET
        + M
        + "  - {kpi: revenue, date: 2026-01-31, value: 5}\n"
        + "  - {kpi: revenue, date: 2026-02-05, value: 6}\n",
    ),
    Case(
        "KT106",
        TARGET + M + "  - {kpi: revenue, date: 2026-11-26, value: 5}\n",
        (13, 5),
        TARGET + M + "  - {kpi: revenue, date: 2026-11-25, value: 5}\n",
    ),
    Case(
        "KT107",
        TARGET + K2_FULL.replace("Count of signed contracts", "contracts"),
        (12, 5),
        TARGET + K2_FULL,
    ),
    Case(
        "KT108",
        TARGET
        + "    baseline: 10\n    due: 2026-12-31\n    milestones:\n"
        + "      - {date: 2026-03-31, target: 50}\n      - {date: 2026-06-30, target: 40}\n",
        (16, 9),
        TARGET
        + "    baseline: 10\n    due: 2026-12-31\n    milestones:\n"
        + "      - {date: 2026-03-31, target: 40}\n      - {date: 2026-06-30, target: 50}\n",
    ),
    Case(
        "KT108",
        TARGET + "    direction: decrease\n    milestones: [{date: 2026-03-31, target: 90}]\n",
        (13, 18),
        TARGET + "    direction: decrease\n    milestones: [{date: 2026-03-31, target: 110}]\n",
    ),
    Case(
        "KT109",
        TARGET + "    scale: [low, high]\n",
        (12, 12),
        TARGET,
    ),
    Case(
        "KT065",
        TARGET + "    action: [call, mail]\n",
        (12, 13),
        TARGET + "    action: {plan: Call customers, owner: ana, due: 2026-12-01, status: open}\n",
    ),
    Case(
        "KT065",
        TARGET + "    action:\n      owner: ana\n",
        (13, 7),
        TARGET + "    action:\n      plan: Call customers\n      owner: ana\n",
    ),
    Case(
        "KT066",
        TARGET + "    action: {plan: Call customers, status: closed}\n",
        (12, 44),
        TARGET + "    action: {plan: Call customers, status: done}\n",
    ),
    Case("KT067", TARGET + "    archived: yes\n", (12, 15), TARGET + "    archived: false\n"),
    Case(
        "KT110",
        TARGET + "    indicator: lagging\n",
        (2, 5),
        TARGET + "    indicator: lagging\n" + K2_FULL + "    indicator: leading\n",
    ),
    Case(
        "KT111",
        TARGET + "    indicator: leading\n" + K2_FULL,
        (2, 5),
        TARGET + "    indicator: leading\n" + K2_FULL + "    indicator: lagging\n",
    ),
    Case(
        "KT112",
        "    target: good\n    kind: qualitative\n    scale: [poor, good]\n",
        (2, 5),
        "    target: good\n    kind: qualitative\n    scale: [poor, good]\n",
        good_extra=QUANT,
    ),
    Case(
        "KT112",
        "    kind: progress\n",
        (2, 5),
        "    kind: progress\n" + K2_FULL,
    ),
    # Off track (50 against a standing 100) in the last 3 reported months, no action plan.
    Case(
        "KT113",
        TARGET + M + monthly("50", "50", "55", first=9),
        (5, 5),
        TARGET
        + "    action: Call every customer whose usage dropped\n"
        + M
        + monthly("50", "50", "55", first=9),
    ),
    # On track in the first of the last 3 months: not stuck yet.
    Case(
        "KT113",
        TARGET + M + monthly("100", "50", "55", first=9),
        (5, 5),
        TARGET + M + monthly("100", "50", "55", first=9),
        config=Config(stuck_periods=2),
        good_config=Config(),
    ),
    Case(
        "KT114",
        TARGET + M + monthly("100", "100", "100", "100", "100", "100"),
        (5, 5),
        TARGET + M + monthly("100", "100", "100", "100", "100", "101"),
    ),
    Case(
        "KT114",
        TARGET + M + monthly("100", "100", "100", first=9),
        (5, 5),
        TARGET + M + monthly("100", "100", "100", first=9),
        config=Config(flat_periods=3),
        good_config=Config(flat_periods=4),
    ),
    Case("KT115", TARGET + "    due: 2026-10-31\n", (5, 5), TARGET + "    due: 2026-12-31\n"),
    Case(
        "KT115",
        TARGET + "    due: 2026-10-31\n",
        (5, 5),
        TARGET + "    due: 2026-10-31\n    archived: true\n",
    ),
    Case(
        "KT116",
        TARGET + DRIVEN + K2_FULL + "    archived: true\n",
        (5, 5),
        TARGET + DRIVEN + K2_FULL,
    ),
    Case("KT050", TARGET + "    source: {csv: a.csv, sql: SELECT 1}\n", (12, 13), TARGET + SQL),
    Case(
        "KT051",
        TARGET + "    source: {sql: DELETE FROM t, database: app}\n",
        (12, 19),
        TARGET + SQL,
    ),
    Case(
        "KT052",
        TARGET + '    source:\n      sql: SELECT 1\n      database: "postgresql://u:pw@h/db"\n',
        (14, 17),
        TARGET + SQL,
    ),
    Case(
        "KT052",
        TARGET + "    description: dashboard at https://bob:hunter2@bi.example.com/d/1\n",
        (12, 18),
        TARGET + "    description: dashboard at https://bi.example.com/d/1\n",
    ),
    Case("KT054", TARGET + "    source:\n      command: ./count --week\n", (13, 16), TARGET),
    Case(
        "KT056",
        "    kind: qualitative\n    scale: [bad, good]\n    target: good\n" + SQL,
        (15, 7),
        "    kind: qualitative\n    scale: [bad, good]\n    target: good\n"
        + SQL
        + "      scale_map: {1: good}\n",
        good_extra=QUANT,
    ),
    Case("KT057", TARGET + SQL + "      timeout: 0\n", (15, 16), TARGET + SQL),
]
# Checked only by `check` and `collect` with kpitrack.toml and the disk (tests/test_collect.py).
CONFIG_CODES = {"KT053", "KT055", "KT120", "KT121"}


def _problems(case: Case, text: str, config: Config, *, good: bool = False) -> list[Problem]:
    body = text if case.full else BASE + text
    extra = case.good_extra if good and case.good_extra is not None else case.extra
    _, problems = load_texts([("kpis.yaml", body), *extra], config=config, as_of=AS_OF)
    return problems


def _ids(cases: list[Case]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cases:
        seen[c.code] = seen.get(c.code, 0) + 1
        out.append(f"{c.code}-{seen[c.code]}")
    return out


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_rule_fails_at_exact_location(case: Case) -> None:
    problems = _problems(case, case.bad, case.config)
    found = [(p.path, p.line, p.column) for p in problems if p.code == case.code]
    assert (case.path, *case.at) in found, [p.format() for p in problems]
    assert all(p.severity == RULES[case.code].severity for p in problems if p.code == case.code)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_rule_passes_on_fixed_input(case: Case) -> None:
    problems = _problems(case, case.good, case.good_config or case.config, good=True)
    assert [p.format() for p in problems] == []


def test_every_rule_code_has_a_case() -> None:
    assert {c.code for c in CASES} | CONFIG_CODES == set(RULES)


def test_docs_list_every_rule_code_with_its_severity() -> None:
    rows = re.findall(r"^\| (KT\d{3}) \| (error|warning) \|", DOCS.read_text(), re.MULTILINE)
    every = {**RULES, **CSV_RULES}
    assert dict(rows) == {code: str(rule.severity) for code, rule in every.items()}
    assert len(rows) == len(every)


def test_every_code_the_tool_prints_is_in_the_docs_table() -> None:
    """No code in the source that the rule table (docs/rules.md) does not explain."""
    source = Path(__file__).parent.parent / "kpitrack"
    printed = {
        code
        for path in source.rglob("*.py")
        for code in re.findall(r"[\"'](KT\d{3})[\"']", path.read_text(encoding="utf-8"))
    }
    rows = set(re.findall(r"^\| (KT\d{3}) \|", DOCS.read_text(), re.MULTILINE))
    assert printed <= rows, sorted(printed - rows)


# ---------------------------------------------------------------- messages


def _messages(text: str, config: Config | None = None) -> list[str]:
    _, problems = load_texts([("k.yaml", text)], config=config or Config(), as_of=AS_OF)
    return [p.format() for p in problems]


def test_messages_name_the_object_and_suggest() -> None:
    text = (
        BASE
        + TARGET
        + M
        + (
            "  - {kpi: revenue, date: 2026-02-30, value: 5}\n"
            "  - {kpi: revenue, date: 2026-03-31, value: no}\n"
            "  - {kpi: revnue, date: 2026-04-30, value: 5}\n"
        )
    )
    assert _messages(text) == [
        "k.yaml:13:26: error KT019 measurement of KPI 'revenue': date '2026-02-30' "
        "is not a real date",
        "k.yaml:14:45: error KT016 measurement of KPI 'revenue' on 2026-03-31: value must be "
        "a number, got 'no' (YAML 1.1 tools read it as a boolean)",
        "k.yaml:15:11: error KT024 measurement on 2026-04-30: unknown KPI 'revnue' "
        "(did you mean 'revenue'?)",
    ]


def test_boolean_message_names_the_boolean() -> None:
    assert _messages(BASE + "    target: true\n") == [
        "k.yaml:11:13: error KT016 KPI 'revenue': target must be a number, got the boolean true"
    ]


def test_nan_message() -> None:
    assert _messages(BASE + "    target: .nan\n") == [
        "k.yaml:11:13: error KT017 KPI 'revenue': target must be a finite number, got '.nan'"
    ]


def test_bad_frequency_suggests() -> None:
    text = BASE.replace("frequency: monthly", "frequency: montly") + TARGET
    assert _messages(text) == [
        "k.yaml:8:16: error KT025 KPI 'revenue': frequency must be one of daily, weekly, "
        "monthly, quarterly, yearly, got 'montly' (did you mean 'monthly'?)"
    ]


def test_same_period_names_the_one_that_counts() -> None:
    text = (
        BASE
        + TARGET
        + M
        + (
            "  - {kpi: revenue, date: 2026-01-20, value: 1}\n"
            "  - {kpi: revenue, date: 2026-01-31, value: 2}\n"
            "  - {kpi: revenue, date: 2026-01-31, value: 3}\n"
        )
    )
    messages = _messages(text)
    assert len(messages) == 2
    assert messages[0].startswith("k.yaml:13:5: warning KT105 measurement of KPI 'revenue' on ")
    assert "on 2026-01-31 at k.yaml:15:5, which counts instead" in messages[0]
    assert messages[1].startswith("k.yaml:14:5: warning KT105")
    assert "at k.yaml:15:5" in messages[1]


def test_future_measurements_do_not_compete_for_a_period() -> None:
    text = (
        BASE
        + TARGET
        + M
        + (
            "  - {kpi: revenue, date: 2026-11-20, value: 1}\n"
            "  - {kpi: revenue, date: 2026-11-30, value: 2}\n"
        )
    )
    assert [m.split(" ")[2] for m in _messages(text)] == ["KT106"]


def test_one_error_does_not_cascade() -> None:
    # The KPI is broken; its measurements are not reported as unknown or mistyped.
    text = BASE + "    target: lots\n" + M + "  - {kpi: revenue, date: 2026-01-31, value: x}\n"
    assert [m.split(" ")[2] for m in _messages(text)] == ["KT016"]


def test_unreadable_file_suppresses_unknown_references() -> None:
    _, problems = load_texts(
        [("a.yaml", "kpis: [\n"), ("b.yaml", M + "  - {kpi: x, date: 2026-01-31, value: 1}\n")],
        config=Config(),
        as_of=AS_OF,
    )
    assert [p.code for p in problems] == ["KT001"]


def test_all_problems_at_once_sorted() -> None:
    text = BASE + "    target: lots\n    due: 2026-02-30\n    tags: x\n    bogus: 1\n"
    _, problems = load_texts([("k.yaml", text)], config=Config(), as_of=AS_OF)
    assert [(p.line, p.code) for p in problems] == [
        (11, "KT016"),
        (12, "KT019"),
        (13, "KT036"),
        (14, "KT015"),
    ]
