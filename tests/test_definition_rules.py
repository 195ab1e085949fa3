"""The loader's definition rules in rules.py, called directly on YAML nodes: each reports
its one code with the exact message and location, and stays quiet on good input."""

from __future__ import annotations

import datetime as dt

from kpitrack.domain.model import Kind, Location
from kpitrack.domain.problems import Problem, Severity
from kpitrack.reading import rules
from kpitrack.reading.yamlnodes import Map, Node, Scalar, parse

D = dt.date


def node(text: str) -> Node:
    """The value of the key `v` in a one-line YAML mapping, at line 1, column 4."""
    root, _ = parse(f"v: {text}\n", "f.yaml")
    assert type(root) is Map
    return root.items[0][1]


def entry() -> Map:
    root, _ = parse("id: k\n", "f.yaml")
    assert type(root) is Map
    return root


def one(out: list[Problem]) -> tuple[str, int, int, Severity, str]:
    assert len(out) == 1, out
    p = out[0]
    return p.code, p.line, p.column, p.severity, p.message


ERR, WARN = Severity.ERROR, Severity.WARNING


def test_top_level_not_mapping() -> None:
    out: list[Problem] = []
    rules.top_level_not_mapping(out, node("[a]"))
    assert one(out) == (
        "KT010",
        1,
        4,
        ERR,
        "the top level must be a mapping with objectives, kpis, measurements and/or events, "
        "got a list",
    )


def test_unknown_section_suggests() -> None:
    root, _ = parse("kpi: []\n", "f.yaml")
    assert type(root) is Map
    out: list[Problem] = []
    rules.unknown_section(out, root.items[0][0])
    assert one(out) == (
        "KT011",
        1,
        1,
        ERR,
        "unknown top-level key 'kpi' (did you mean 'kpis'?) "
        "(expected objectives, kpis, measurements, events)",
    )


def test_duplicate_objective_records_the_first_and_reports_the_second() -> None:
    out: list[Problem] = []
    seen: dict[str, Location] = {}
    first, second = Location("a.yaml", 3, 5), Location("b.yaml", 9, 5)
    rules.duplicate_objective(out, node("growth"), "growth", seen, first)
    assert out == [] and seen == {"growth": first}
    rules.duplicate_objective(out, node("growth"), "growth", seen, second)
    assert one(out) == ("KT021", 1, 4, ERR, "duplicate objective id 'growth' (first at a.yaml:3:5)")
    assert seen == {"growth": first}


def test_duplicate_kpi_records_the_first_and_reports_the_second() -> None:
    out: list[Problem] = []
    seen: dict[str, Location] = {}
    rules.duplicate_kpi(out, node("mrr"), "mrr", seen, Location("k.yaml", 2, 5))
    rules.duplicate_kpi(out, node("churn"), "churn", seen, Location("k.yaml", 8, 5))
    assert out == []
    rules.duplicate_kpi(out, node("mrr"), "mrr", seen, Location("k.yaml", 14, 5))
    assert one(out) == ("KT022", 1, 4, ERR, "duplicate KPI id 'mrr' (first at k.yaml:2:5)")


def test_unknown_objective() -> None:
    out: list[Problem] = []
    rules.unknown_objective(out, node("growht"), "KPI 'k'", "growht", {"growth": None})
    assert one(out) == (
        "KT023",
        1,
        4,
        ERR,
        "KPI 'k': unknown objective 'growht' (did you mean 'growth'?)",
    )
    out.clear()
    rules.unknown_objective(out, node("growth"), "KPI 'k'", "growth", ["growth"])
    assert out == []


def test_unknown_kpi_remembers_its_hint() -> None:
    out: list[Problem] = []
    hints: dict[str, str] = {}
    rules.unknown_kpi(
        out, node("revenu"), "measurement on 2026-01-31", "revenu", ["revenue"], hints
    )
    assert one(out) == (
        "KT024",
        1,
        4,
        ERR,
        "measurement on 2026-01-31: unknown KPI 'revenu' (did you mean 'revenue'?)",
    )
    assert hints == {"revenu": " (did you mean 'revenue'?)"}
    rules.unknown_kpi(out, node("revenu"), "m", "revenu", [], hints)  # the hint is reused
    assert out[1].message == "m: unknown KPI 'revenu' (did you mean 'revenue'?)"
    out.clear()
    rules.unknown_kpi(out, node("zzz"), "m", "zzz", ["revenue"])
    assert one(out)[4] == "m: unknown KPI 'zzz'"


def test_no_scale() -> None:
    out: list[Problem] = []
    rules.no_scale(out, node("~"), "KPI 'k'")
    assert one(out) == (
        "KT030",
        1,
        4,
        ERR,
        "KPI 'k' is qualitative but has no scale (a list of labels, worst first)",
    )


def test_ignored_scale_is_a_warning() -> None:
    out: list[Problem] = []
    rules.ignored_scale(out, node("[a, b]"), "KPI 'k'")
    assert one(out) == (
        "KT109",
        1,
        4,
        WARN,
        "KPI 'k': scale is ignored because the KPI is not qualitative (add kind: qualitative)",
    )


def test_kpi_scale_by_kind() -> None:
    out: list[Problem] = []
    assert rules.kpi_scale(out, entry(), node("[poor, good]"), Kind.QUALITATIVE, "K") == (
        "poor",
        "good",
    )
    assert rules.kpi_scale(out, entry(), None, Kind.QUANTITATIVE, "K") == ()
    assert rules.kpi_scale(out, entry(), node("~"), None, "K") == ()
    assert out == []
    # missing: KT030 at the entry; empty: at the empty value
    assert rules.kpi_scale(out, entry(), None, Kind.QUALITATIVE, "K") is None
    assert one(out)[:3] == ("KT030", 1, 1)
    out.clear()
    assert rules.kpi_scale(out, entry(), node(""), Kind.QUALITATIVE, "K") is None
    assert one(out)[0] == "KT030"
    out.clear()
    assert rules.kpi_scale(out, entry(), node("[a, b]"), Kind.PROGRESS, "K") == ()
    assert one(out)[:4] == ("KT109", 1, 4, WARN)
    out.clear()
    assert rules.kpi_scale(out, entry(), node("[a]"), Kind.QUALITATIVE, "K") is None
    assert one(out)[:3] == ("KT037", 1, 4)


def test_start_after_due() -> None:
    out: list[Problem] = []
    rules.start_after_due(out, node("2026-12-01"), "KPI 'k'", D(2026, 12, 1), D(2026, 6, 30))
    assert one(out) == ("KT038", 1, 4, ERR, "KPI 'k': start 2026-12-01 is after due 2026-06-30")
    out.clear()
    rules.start_after_due(out, node("x"), "K", D(2026, 6, 30), D(2026, 6, 30))
    rules.start_after_due(out, node("x"), "K", D(2026, 12, 1), None)
    rules.start_after_due(out, node("x"), "K", None, D(2026, 6, 30))
    assert out == []


def test_milestone_out_of_order() -> None:
    out: list[Problem] = []
    rules.milestone_out_of_order(out, node("x"), "KPI 'k'", D(2026, 4, 1), D(2026, 4, 1))
    assert one(out) == (
        "KT033",
        1,
        4,
        ERR,
        "KPI 'k': milestone 2026-04-01 is not after the one before it (2026-04-01); "
        "list milestones in date order",
    )
    out.clear()
    rules.milestone_out_of_order(out, node("x"), "K", D(2026, 4, 2), D(2026, 4, 1))
    rules.milestone_out_of_order(out, node("x"), "K", D(2026, 4, 1), None)
    assert out == []


def test_milestone_after_due() -> None:
    out: list[Problem] = []
    rules.milestone_after_due(out, node("x"), "KPI 'k'", D(2026, 7, 1), D(2026, 6, 30))
    assert one(out) == ("KT034", 1, 4, ERR, "KPI 'k': milestone 2026-07-01 is after due 2026-06-30")
    out.clear()
    rules.milestone_after_due(out, node("x"), "K", D(2026, 6, 30), D(2026, 6, 30))
    rules.milestone_after_due(out, node("x"), "K", D(2030, 1, 1), None)
    assert out == []


def test_the_new_rule_codes_are_in_rules() -> None:
    for code in ("KT010", "KT011", "KT021", "KT022", "KT023", "KT024", "KT030", "KT033"):
        assert rules.RULES[code].severity is ERR
    assert rules.RULES["KT034"].severity is ERR and rules.RULES["KT038"].severity is ERR
    assert rules.RULES["KT109"].severity is WARN


def test_scalar_helper_is_a_scalar() -> None:
    assert type(node("x")) is Scalar
