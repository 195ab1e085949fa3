"""reading/revision.py: a file's next version derived from its last one (git history)
gives the same node tree, and the same definitions, as parsing the new text."""

from __future__ import annotations

import dataclasses
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpitrack.domain.model import Location
from kpitrack.reading.loading import EntryMemo, file_definitions, parse_file
from kpitrack.reading.revision import move_entries, revise, shift_locations
from kpitrack.reading.yamlnodes import Map, Node, Rows, Scalar, Seq

DISPLAY = "kpis/team.yaml"

# Words the edit may put in place of a value: numbers, dates, words YAML or kpitrack read
# specially, and words that are not plain words at all (those are never revised).
WORDS = [
    "5", "-3", "1.5", "1e5", "0", "007", "null", "Null", "true", "yes", "2026-01-01",
    "2026-02-30", "abc", "x-y", "kpi-2", "monthly", "weekly", "decrease", "-", "a:b",
    "'q'", '"d"', "[1]", "{a: 1}", "# c", "a #b", "&x", "*x", "!t", "|", ">", "",
    "5 # note", "very long words here",
]  # fmt: skip
COMMENTS = ["", "# note", "#", "  # indented", "# ünïcode", "\t# tab", "---", "%YAML 1.2"]


def kpi_entry(i: int, target: int, extra: int) -> list[str]:
    lines = [
        f"  - id: kpi-{i}",
        f"    name: KPI {i}",
        "    measure: A count",
        f"    target: {target}",
        "    frequency: monthly",
        "    objective: grow",
    ]
    if extra % 3 == 1:
        lines += ["    due: 2026-12-31", "    milestones:", "      - date: 2026-06-30"]
        lines += [f"        target: {target // 2}"]
    if extra % 3 == 2:
        lines += ["    action:", "      plan: Call customers", "      owner: Ana"]
        lines += ["      due: 2026-11-15", "      status: open"]
    if extra % 4 == 3:
        lines += ["    description: |", "      # not a comment", "      target: 5"]
    if extra % 5 == 4:
        lines += ["    source:", "      csv: data.csv", "      date_column: day"]
        lines += ["      value_column: n"]
    return lines


@st.composite
def kpi_files(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 5))
    lines = [draw(st.sampled_from(COMMENTS[:4])) for _ in range(draw(st.integers(0, 3)))]
    lines += ["objectives:", "  - id: grow", "    title: Grow", "kpis:"]
    for i in range(count):
        lines += kpi_entry(i, draw(st.integers(1, 500)), draw(st.integers(0, 59)))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n", "\n# end\n"]))


@st.composite
def edits(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    at = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["value", "value", "insert", "remove", "replace", "key", "both"]))
    if kind == "both":  # a value edited and comments added at the top
        lines[:0] = draw(st.lists(st.sampled_from(COMMENTS[:4]), min_size=1, max_size=2))
        kind = "value"
    if kind == "value":
        candidates = [i for i, line in enumerate(lines) if re.fullmatch(r" *\w+: \S+", line)]
        if candidates:
            i = draw(st.sampled_from(candidates))
            lines[i] = lines[i].split(": ", 1)[0] + ": " + draw(st.sampled_from(WORDS))
    elif kind == "insert":
        lines[at:at] = draw(st.lists(st.sampled_from(COMMENTS), min_size=1, max_size=3))
    elif kind == "remove":
        del lines[at : at + draw(st.integers(1, 2))]
    elif kind == "replace":
        lines[at] = draw(st.sampled_from([*COMMENTS, "  - id: new", "x: 1", "    target: 7"]))
    else:
        lines[at] = re.sub(r"^( *)\w+:", r"\1unknown:", lines[at])
    return "\n".join(lines)


def dump(node: Node | None) -> object:
    """Everything a node holds, its children included."""
    if node is None:
        return None
    where = (node.path, node.line, node.column, node.end_line, node.end_column)
    if type(node) is Scalar:
        return ("scalar", node.text, node.plain, where)
    if type(node) is Map:
        return ("map", node.flow, where, [(dump(k), dump(v)) for k, v in node.items])
    assert type(node) is Seq
    return ("seq", node.flow, where, [dump(v) for v in node.items])


def deep(value: object) -> object:
    """A model object as nested tuples of every field, locations included."""
    if isinstance(value, tuple | list):
        return tuple(deep(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, *((f.name, deep(getattr(value, f.name))) for f in fields))
    return value


def tree(text: str) -> Node | None:
    parsed = parse_file(DISPLAY, text)
    assert isinstance(parsed, tuple) and len(parsed) == 2 and not parsed[1], parsed
    return parsed[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_revised_tree_and_its_definitions_are_those_of_a_parse(data: st.DataObject) -> None:
    old_text = data.draw(kpi_files())
    new_text = data.draw(edits(old_text))
    old_root = tree(old_text)
    assert old_root is not None
    memo: EntryMemo = {}
    file_definitions(DISPLAY, old_text, (old_root, Rows()), memo)
    found = revise(old_text, old_root, new_text)
    if found is None:
        return
    root, delta = found
    parsed = parse_file(DISPLAY, new_text)
    assert isinstance(parsed, tuple) and len(parsed) == 2 and not parsed[1]
    assert dump(root) == dump(parsed[0])
    if delta:
        move_entries(memo, DISPLAY, old_text, old_root, delta)
    revised = file_definitions(DISPLAY, new_text, (root, Rows()), memo)
    assert deep(revised) == deep(file_definitions(DISPLAY, new_text))


def test_the_two_edits_are_revised_and_others_are_not() -> None:
    text = "# KPIs\nkpis:\n" + "\n".join(kpi_entry(1, 10, 1) + kpi_entry(2, 20, 2)) + "\n"
    root = tree(text)
    assert root is not None
    one_value = revise(text, root, text.replace("target: 20", "target: 25"))
    assert one_value is not None and one_value[1] == 0
    comment = revise(text, root, "# reviewed\n# again\n" + text)
    assert comment is not None and comment[1] == 2
    assert comment[0].line == root.line + 2
    both = revise(text, root, "# reviewed\n" + text.replace("target: 20", "target: 25"))
    assert both is not None and both[1] == 1
    assert dump(both[0]) == dump(tree("# reviewed\n" + text.replace("target: 20", "target: 25")))
    for other in (
        text.replace("target: 20", "target: '25'"),  # quoted: not a plain word
        text.replace("target: 20", "target: 20 # note"),
        text.replace("name: KPI 2", "name: KPI two"),  # words with spaces
        text.replace("  - id: kpi-2", "  - id: kpi-3"),  # the line of a list item
        text.replace("target: 10", "target: 11").replace("target: 20", "target: 21"),
        text.replace("kpis:\n", "kpis:\n# inside\n"),  # a comment below the first node
        "# reviewed\n" + text.replace("target: 20", "target: '25'"),
        text.replace("\n", "\r\n"),
    ):
        assert revise(text, root, other) is None, other


def test_a_value_on_the_last_line_without_a_line_end_reads_as_a_parse() -> None:
    """libyaml ends the last line itself: the mappings end on the line after it."""
    text = "kpis:\n" + "\n".join(kpi_entry(1, 10, 0))
    root = tree(text)
    assert root is not None
    new = text.replace("objective: grow", "objective: more")
    found = revise(text, root, new)
    assert found is not None
    assert dump(found[0]) == dump(tree(new))


def test_shift_locations_moves_every_location_and_keeps_the_rest() -> None:
    text = "kpis:\n" + "\n".join(kpi_entry(1, 10, 1) + kpi_entry(2, 20, 2)) + "\n"
    defs = file_definitions(DISPLAY, text)
    moved = shift_locations(defs.kpis, 3)
    again = file_definitions(DISPLAY, "\n\n\n" + text)
    assert deep(moved) == deep(again.kpis)
    assert shift_locations(defs.kpis, 0) is defs.kpis
    assert shift_locations(Location("a", 1, 2), -1) == Location("a", 0, 2)
    assert shift_locations("text", 5) == "text"
