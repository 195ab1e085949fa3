"""One registry of problem codes (kpitrack/domain/codes.py, `rules.RULES`) and one check
per value rule, shared by the reporting rules and the fast paths."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpitrack.domain import codes
from kpitrack.domain.model import Location
from kpitrack.domain.problems import Problem, Severity
from kpitrack.reading import rules
from kpitrack.reading.yamlnodes import Scalar

PACKAGE = Path(__file__).resolve().parent.parent / "kpitrack"
CODE = re.compile(r"KT\d{3}")


def test_no_code_is_written_out_of_the_registry() -> None:
    """Every code the package emits is a registry constant: a string literal "KT..." in
    any other module would be a second definition (and escape the severity below)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "domain" / "codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and CODE.fullmatch(text):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {text}")
    assert found == []


def test_the_registry_is_one_table_of_unique_codes() -> None:
    constants = {
        name: value for name, value in vars(codes).items() if isinstance(value, codes.Rule)
    }
    assert all(name == rule.code for name, rule in constants.items())
    assert set(codes.RULES).isdisjoint(codes.CSV_RULES)
    assert set(constants) == set(codes.RULES) | set(codes.CSV_RULES)
    assert rules.RULES is codes.RULES and rules.CSV_RULES is codes.CSV_RULES
    assert all(rule.summary and isinstance(rule.severity, Severity) for rule in constants.values())


def test_a_rule_is_its_code_wherever_a_code_goes() -> None:
    rule = codes.KT016
    assert rule == "KT016" and hash(rule) == hash("KT016") and f"{rule}" == "KT016"
    assert json.dumps({"code": rule}) == '{"code": "KT016"}'
    assert type(rule.code) is str and rule.severity is Severity.ERROR
    made = rules.problem(Location("f.yaml", 2, 3), rule, "m")
    assert made == Problem("f.yaml", 2, 3, Severity.ERROR, "KT016", "m")
    assert made.format() == "f.yaml:2:3: error KT016 m"
    warning = rules.problem(Location("f.yaml", 1, 1), codes.KT101, "w")
    assert warning.severity is Severity.WARNING  # the registry decides the severity


_TEXTS = st.one_of(
    st.sampled_from(
        ["5", "-3.5", "0", "100", "100.5", "-0", "1e15", "1e16", "1e400", ".nan", "~", "",
         "null", "yes", "true", "0x10", "1_000", "good", "bad", "ok", "'5'"]
    ),
    st.text(max_size=6),
)  # fmt: skip


@given(text=_TEXTS, plain=st.booleans())
def test_the_fast_paths_and_the_reporting_rules_accept_the_same_values(
    text: str, plain: bool
) -> None:
    node = Scalar(text, plain, Location("f.yaml", 1, 1))
    out: list[Problem] = []
    number = rules.number(out, node, "value")
    assert rules.finite_number(text, plain) == number
    assert (number is None) == bool(out)
    out = []
    percent = rules.percent(out, node, "value")
    expected = number if number is not None and rules.is_percent(number) else None
    assert percent == expected and (percent is None) == bool(out)
    labels = ("bad", "ok", "~", "good", "")
    out = []
    label = rules.label(out, node, "value", labels)
    assert (label is not None) == rules.on_scale(text, plain, labels) == (not out)


@pytest.mark.parametrize(("value", "ok"), [(0.0, True), (100.0, True), (-0.1, False), (101, False)])
def test_one_percent_check(value: float, ok: bool) -> None:
    assert rules.is_percent(value) is ok
