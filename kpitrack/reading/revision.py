"""The next version of a file from its last one, without parsing it again (git history).

`history` reads every version of a KPI file that a commit changed, and most commits
change little: a target or a due date (one value on one line), or a comment added at
the top. `revise` derives the new version's node tree from the last version's when the
edit is of these two kinds (one, the other or both), and gives None for anything else
(the caller then parses the file as usual):

- **comments above the content**: the blank and full-line comment lines (of printable
  ASCII) at the start of the file changed. Every node moves by the number of lines
  added or removed (`shift_tree`), and so do the locations in the model objects built
  from it (`shift_locations`, `move_entries`).
- **one value**: from the first other line on, the two versions have as many lines
  and one of them differs: on both sides `KEY: WORD` at the same indentation with the
  same key, where WORD is a plain word of letters, digits and `_ . -` (a number, a
  date, a word) and, in the last version, the value node of that key, alone on its
  line. The new tree shares every node with the last one except the edited value and
  the mappings and lists that lead to it.

What makes the derived tree the same as a parse of the new text (tests/test_revision.py
checks it against the reader on generated edits): a plain word on its own line is one
scalar in YAML's block style, whatever its letters, so swapping it for another changes
that scalar's text and end column only; no node other than the edited one and its
enclosing ones ends on its line (checked), so no other position moves; a comment or
blank line before the first node produces no event at all. Only trees of files that
parsed without a problem are revised; what the builder then makes of the new word
(a number, a date, an error) is the builder's business, as after a parse.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, TypeVar, cast

from kpitrack.domain.model import Location
from kpitrack.reading.yamlnodes import Map, Node, Scalar, Seq

if TYPE_CHECKING:
    from kpitrack.reading.loading import EntryMemo

# `KEY: WORD` on one line: the key a plain identifier, the value a plain word that
# cannot start anything but a plain scalar (no indicator first, no `: ` or ` #` inside).
_KEY_VALUE = re.compile(r"( *)([A-Za-z_][A-Za-z0-9_]*): (-?[A-Za-z0-9][A-Za-z0-9_.-]*)")
# A line that produces no YAML event: blank, or a full-line comment of printable ASCII.
_QUIET = re.compile(r" *(#[ -~]*)?")

T = TypeVar("T")


def revise(old_text: str, old_root: Node, new_text: str) -> tuple[Node, int] | None:
    """The node tree of `new_text`, from `old_root` (the tree of `old_text`, which
    parsed without a problem), and the number of lines the content moved down (negative:
    up); None when the edit is not one `revise` knows.

    Each text is its leading quiet lines (blank or comments: no YAML event) and the rest;
    the rests must have as many lines and differ in at most one, a value edit."""
    if not isinstance(old_root, Map) or "\r" in old_text or "\r" in new_text:
        return None
    old_lines = old_text.split("\n")
    new_lines = new_text.split("\n")
    top_old, top_new = _quiet_top(old_lines), _quiet_top(new_lines)
    if len(old_lines) - top_old != len(new_lines) - top_new or top_old >= old_root.line:
        return None
    root: Map = old_root
    if old_lines[top_old:] != new_lines[top_new:]:
        differ = [
            i
            for i, (a, b) in enumerate(zip(old_lines[top_old:], new_lines[top_new:], strict=True))
            if a != b
        ]
        if len(differ) != 1:
            return None
        at = top_old + differ[0]
        edited = _edit_value(old_root, at + 1, old_lines[at], new_lines[top_new + differ[0]])
        if edited is None:
            return None
        root = edited
    delta = top_new - top_old
    return (shift_tree(root, delta) if delta else root), delta


def _quiet_top(lines: list[str]) -> int:
    """How many lines at the start are blank or comments."""
    count = 0
    for line in lines:
        if not _QUIET.fullmatch(line):
            break
        count += 1
    return count


def _edit_value(root: Map, line: int, old: str, new: str) -> Map | None:
    """`root` with the value on `line` (1-based) changed from the one in `old` to the one
    in `new`, or None when these lines are not that edit."""
    a, b = _KEY_VALUE.fullmatch(old), _KEY_VALUE.fullmatch(new)
    if a is None or b is None or a[1] != b[1] or a[2] != b[2]:
        return None
    column = len(a[1]) + len(a[2]) + 3  # 1-based column of the value
    path: list[Map | Seq] = []
    node: Node = root
    while not isinstance(node, Scalar):
        if node.end_line == line:  # an enclosing node ends on the line: its end moves
            return None
        path.append(node)
        child = _child_on(node, line)
        if child is None:
            return None
        node = child
    value = node
    if (
        not value.plain
        or value.text != a[3]
        or value.line != line
        or value.end_line != line
        or value.column != column
        or value.end_column != column + len(a[3])
        or len(path) < 2
    ):
        return None
    parent = path[-1]
    if type(parent) is not Map or not any(v is value and k.text == a[2] for k, v in parent.items):
        return None
    replaced: Node = _scalar_like(value, b[3])
    for container in reversed(path):
        replaced = _with_child(container, node, replaced)
        node = container
    assert type(replaced) is Map
    return replaced


def _child_on(node: Map | Seq, line: int) -> Node | None:
    """The child of `node` whose lines hold `line` (for a mapping, its value: a key is
    never the edited node)."""
    children: list[Node] = [v for _, v in node.items] if isinstance(node, Map) else list(node.items)
    for child in reversed(children):  # the last: a block node ends where the next starts
        if child.line <= line <= child.end_line:
            return child
    return None


def _scalar_like(node: Scalar, text: str) -> Scalar:
    out = Scalar.__new__(Scalar)
    out.text, out.plain, out.path = text, node.plain, node.path
    out.line, out.column = node.line, node.column
    out.end_line, out.end_column = node.end_line, node.column + len(text)
    return out


def _with_child(container: Map | Seq, old: Node, new: Node) -> Map | Seq:
    """A copy of `container` with the child `old` (by identity) replaced by `new`."""
    out: Map | Seq
    if isinstance(container, Map):
        out = Map.__new__(Map)
        out.items = [(k, new if v is old else v) for k, v in container.items]
    else:
        out = Seq.__new__(Seq)
        out.items = [new if v is old else v for v in container.items]
    out.flow, out.path = container.flow, container.path
    out.line, out.column = container.line, container.column
    out.end_line, out.end_column = container.end_line, container.end_column
    return out


def shift_tree(node: Node, delta: int) -> Node:
    """A copy of the tree with every line moved by `delta`."""
    out: Node
    if isinstance(node, Scalar):
        out = Scalar.__new__(Scalar)
        out.text, out.plain = node.text, node.plain
    elif isinstance(node, Map):
        out = Map.__new__(Map)
        out.flow = node.flow
        out.items = [(_shift_key(k, delta), shift_tree(v, delta)) for k, v in node.items]
    else:
        out = Seq.__new__(Seq)
        out.flow = node.flow
        out.items = [shift_tree(v, delta) for v in node.items]
    out.path, out.column, out.end_column = node.path, node.column, node.end_column
    out.line, out.end_line = node.line + delta, node.end_line + delta
    return out


def _shift_key(key: Scalar, delta: int) -> Scalar:
    out = Scalar.__new__(Scalar)
    out.text, out.plain, out.path = key.text, key.plain, key.path
    out.line, out.column = key.line + delta, key.column
    out.end_line, out.end_column = key.end_line + delta, key.end_column
    return out


def shift_locations(value: T, delta: int) -> T:
    """`value` (a model record, a tuple of them, anything else) with the line of every
    `Location` in it moved by `delta`: the objects a shifted tree builds."""
    if delta == 0:
        return value
    return cast("T", _shifted(value, delta))


# Per class met in `_shifted`: the names of its fields when it is a record, else None.
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _shifted(value: object, delta: int) -> object:
    cls = type(value)
    if cls is Location:
        assert isinstance(value, Location)
        return Location(value.path, value.line + delta, value.column)
    if cls is tuple:
        assert isinstance(value, tuple)
        if not value:
            return value
        items = tuple(_shifted(v, delta) for v in value)
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    names = _FIELDS.get(cls, ())
    if names == ():  # not met yet
        names = _FIELDS[cls] = (
            tuple(f.name for f in dataclasses.fields(cls))
            if dataclasses.is_dataclass(cls)
            else None
        )
    if names is None:
        return value
    changes = {}
    for name in names:
        old = getattr(value, name)
        new = _shifted(old, delta)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(cast("Any", value), **changes) if changes else value


def move_entries(memo: EntryMemo, display: str, text: str, root: Node, delta: int) -> None:
    """Add to `memo` (`loading.file_definitions`' KPI entries built before) the KPI
    entries of the file `display` (its `text` and tree `root`) as they are once moved
    `delta` lines: the same entry text, its objects' locations moved."""
    # The memo's own key: the entry's whole lines, as `file_definitions` cuts them.
    from kpitrack.reading.loading import LINE_END, entry_text

    if type(root) is not Map:
        return
    starts = [0, *(m.end() for m in LINE_END.finditer(text))]
    for key, value in root.items:
        if key.text != "kpis" or type(value) is not Seq:
            continue
        for entry in value.items:
            if type(entry) is not Map:
                continue
            body = entry_text(entry, text, starts)
            known = memo.get((display, entry.line, entry.column, body))
            moved = (display, entry.line + delta, entry.column, body)
            if known is not None and moved not in memo:
                memo[moved] = (known[0], shift_locations(known[1], delta))
