"""YAML text for appends, pure (no I/O): how an entry is written, where new lines go,
and the check that the new text holds exactly the old one plus the new entries.

- `yaml_scalar`, `yaml_number`, `yaml_value`, `entry_fields`: one measurement as YAML
  text that reads back as the same values (kpitrack's reader and PyYAML's YAML 1.1).
- `EntryStyle`: the style of the list's last entry (flow or block, `-` column, gap,
  key order), which new entries follow.
- `insert_measurements`: the file's new text with entries inserted after the last
  entry of the `measurements` list (every other byte kept), from a parse of the file.
- `insert_after_entry`: the same from the start line of the last entry alone (known
  from the workspace load), parsing only the lines from that entry on: the cost of
  an append is then proportional to what it adds, not to the file.
- `check_append`: the new text parses to the old document plus exactly the entries.
- `Edit` / `apply_edits`: replace spans of a text (review and rename edit in place).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kpitrack.domain.model import Measurement, Value
from kpitrack.domain.problems import WriteError
from kpitrack.reading.yamlnodes import BOM as BOM  # the one BOM; the writers import it from here
from kpitrack.reading.yamlnodes import (
    NOT_TEXT_WORDS,
    Map,
    Node,
    Scalar,
    Seq,
    YamlFatal,
    decode,
    parse,
    scalar_value,
)

MEASUREMENT_KEYS = ("kpi", "date", "value", "note", "by")


# ---------------------------------------------------------------- YAML text we write


# Safe plain scalars: start with a letter (or non-ASCII), hold no YAML indicator
# that could end or change the scalar in block or flow context.
_PLAIN = re.compile(r"[^\W\d_][^:#,\[\]{}\"'\\`|>!&*%@?]*")


def _printable(ch: str) -> bool:
    code = ord(ch)
    return (
        0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or 0x10000 <= code <= 0x10FFFF
    )


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _double_quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValueError("text is not valid Unicode (a lone surrogate)")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:  # pragma: no cover - every character above 0xFFFF is printable
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def yaml_scalar(text: str) -> str:
    """`text` as a YAML scalar that any YAML reader gives back as this very string.

    Plain when that is unambiguous (a word-like text: `on track`, `Ana`), double
    quoted otherwise (`no`, `null`, `12`, `2026-01-01`, `a: b`, `#1`, `- x`, ` pad`).
    Raises ValueError for text that cannot be written as UTF-8 (lone surrogates).
    """
    if (
        _PLAIN.fullmatch(text)
        and text == text.strip()
        and text not in NOT_TEXT_WORDS
        and all(_printable(ch) for ch in text)
    ):
        return text
    return _double_quoted(text)


def yaml_number(value: float) -> str:
    """A finite number as YAML text that reads back as the same number."""
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    return text


def yaml_value(value: Value) -> str:
    return yaml_scalar(value) if isinstance(value, str) else yaml_number(value)


def entry_fields(m: Measurement) -> list[tuple[str, str]]:
    """The (key, YAML text) pairs of one measurement, in canonical order."""
    fields = [("kpi", yaml_scalar(m.kpi)), ("date", m.date.isoformat())]
    fields.append(("value", yaml_value(m.value)))
    if m.note is not None:
        fields.append(("note", yaml_scalar(m.note)))
    if m.by is not None:
        fields.append(("by", yaml_scalar(m.by)))
    return fields


# ---------------------------------------------------------------- inserting text

_UNPARSED = object()


_LINE = re.compile(r"[^\r\n\x85\u2028\u2029]*(?:\r\n|\r|\n|\x85|\u2028|\u2029)?")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split where libyaml counts a new line."""
    lines = [m.group(0) for m in _LINE.finditer(text)]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def newline_of(text: str) -> str:
    """The file's line ending: that of its first line (LF for a file without one)."""
    m = re.search(r"\r\n|\n|\r", text)
    return m.group(0) if m else "\n"


@dataclass(frozen=True)
class EntryStyle:
    dash_column: int  # 0-based column of the `-`
    gap: int  # spaces between `-` and the entry
    flow: bool  # `- {kpi: x, ...}` one-line entries
    padded: bool  # `{ kpi: x }` rather than `{kpi: x}`
    key_order: tuple[str, ...] = MEASUREMENT_KEYS

    def render(self, m: Measurement, newline: str) -> str:
        values = dict(entry_fields(m))
        fields = [(k, values[k]) for k in key_order(self.key_order) if k in values]
        prefix = " " * self.dash_column + "-" + " " * self.gap
        if self.flow:
            inner = ", ".join(f"{k}: {v}" for k, v in fields)
            body = f"{{ {inner} }}" if self.padded else f"{{{inner}}}"
            return prefix + body + newline
        indent = " " * (self.dash_column + 1 + self.gap)
        lines = [f"{k}: {v}" for k, v in fields]
        return prefix + (newline + indent).join(lines) + newline


def key_order(seen: Sequence[str]) -> list[str]:
    """All measurement keys: those of a neighbouring entry in its order, each other
    key placed right after the canonical key before it (`date, kpi, value` →
    `date, kpi, value, note, by`)."""
    order = [k for k in seen if k in MEASUREMENT_KEYS]
    for i, k in enumerate(MEASUREMENT_KEYS):
        if k in order:
            continue
        before = [order.index(p) for p in MEASUREMENT_KEYS[:i] if p in order]
        order.insert(max(before) + 1 if before else 0, k)
    return order


def content_end(node: Node) -> tuple[int, int]:
    """(line, column) just after the last character that belongs to `node`.

    Block collections end where the next token starts (after comments and
    blank lines), so their end is taken from their last child instead.
    """
    if isinstance(node, Scalar) or node.flow:
        return node.end_line, node.end_column
    ends = [(node.line, node.column)]
    if isinstance(node, Seq):
        ends.extend(content_end(item) for item in node.items)
    else:
        for key, value in node.items:
            ends.append(content_end(key))
            ends.append(content_end(value))
    return max(ends)


_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")
_BLOCK_HEADER = re.compile(r"([|>])([1-9+-]*)")


def _last_scalar(node: Node) -> Scalar | None:
    """The scalar whose text ends the node (the last one in document order)."""
    if isinstance(node, Scalar):
        return node
    children: list[Node] = list(node.items) if isinstance(node, Seq) else []
    if isinstance(node, Map):
        children = [n for pair in node.items for n in pair]
    best: Scalar | None = None
    for child in children:
        found = _last_scalar(child)
        if found is not None and (
            best is None or (found.end_line, found.end_column) >= (best.end_line, best.end_column)
        ):
            best = found
    return best


def _end_line(head: str, root: Node, newline: str) -> str:
    """`head` (text without a final line break) with one added.

    A block scalar (`|`, `>`, `|+`) that ends the text without a line break
    reads without a trailing newline; the added line break would become part
    of its value. Its chomping is made `-` (strip), which reads the same text
    with or without the break: the one byte before the insertion point that
    must change for the value to stay as it was.
    """
    last = _last_scalar(root)
    lines = split_lines(head)
    ends_open = last is not None and not last.text.endswith(_BREAKS)
    # A block scalar whose value already ends in a line break (a comment or a blank
    # line follows it) is closed: the added break after that cannot change it.
    if last is not None and ends_open and not last.plain and 1 <= last.line <= len(lines):
        line = lines[last.line - 1]
        start = last.column - 1
        m = _BLOCK_HEADER.match(line, start)
        if m and "-" not in m[2]:
            offset = sum(len(x) for x in lines[: last.line - 1])
            header = m[1] + m[2].replace("+", "") + "-"
            head = head[: offset + start] + header + head[offset + m.end() :]
    return head + newline


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def refuse(path: str, why: str) -> WriteError:
    return WriteError(f"{path}: cannot safely append measurements: {why}; file unchanged")


def _child_offset(root: Map) -> int:
    """How far the file indents list entries under a top-level key (default 2)."""
    for key, value in root.items:
        if isinstance(value, Seq) and not value.flow and value.line > key.line:
            return max(0, value.column - key.column)
    return 2


def _style_of(seq: Seq, text_lines: list[str]) -> EntryStyle:
    dash = seq.column - 1
    last = seq.items[-1]
    line = text_lines[last.line - 1] if last.line - 1 < len(text_lines) else ""
    gap = last.column - 1 - dash - 1
    if not (
        1 <= gap <= 8
        and line[dash : dash + 1] == "-"
        and not line[dash + 1 : dash + 1 + gap].strip()
    ):
        gap = 1
    if isinstance(last, Map) and last.flow:
        after = line[last.column : last.column + 1]
        keys = tuple(k.text for k, _ in last.items if k.text in MEASUREMENT_KEYS)
        return EntryStyle(dash, gap, True, after == " ", keys or MEASUREMENT_KEYS)
    if isinstance(last, Map):
        keys = tuple(k.text for k, _ in last.items if k.text in MEASUREMENT_KEYS)
        return EntryStyle(dash, gap, False, False, keys or MEASUREMENT_KEYS)
    return EntryStyle(dash, 1, False, False)


def parse_root(
    text: str, path: str, refused: Callable[[str, str], WriteError] = refuse
) -> Node | None:
    """The file's root node; `refused(path, why)` is raised for a file that is not valid
    YAML or has errors (the edits never touch such a file)."""
    try:
        root, problems = parse(text, path)
    except YamlFatal as exc:
        raise refused(path, f"it is not valid YAML ({exc.problem.format()})") from None
    if problems:
        raise refused(path, f"it has errors ({problems[0].format()})")
    return root


def insert_measurements(
    text: str | None,
    entries: Sequence[Measurement],
    *,
    path: str,
    old_root: Node | object | None = _UNPARSED,
) -> str:
    """The file's new text: `text` with `entries` inserted after the measurements list.

    Pure: no I/O. `text` is the decoded file without its BOM (None: no file);
    `old_root` its parse, when the caller has it already.
    Raises WriteError when the file cannot be appended to safely.
    """
    if not text:
        style = EntryStyle(2, 1, False, False)
        return "measurements:\n" + "".join(style.render(m, "\n") for m in entries)
    newline = newline_of(text)
    lines = split_lines(text)
    root = parse_root(text, path) if old_root is _UNPARSED else old_root
    if root is None:  # only comments and blank lines
        style = EntryStyle(2, 1, False, False)
        head = text if text.endswith(("\n", "\r")) else text + newline
        return head + "measurements:" + newline + "".join(style.render(m, newline) for m in entries)
    if not isinstance(root, Map):
        raise refuse(path, "the file is not a mapping of objectives, kpis and measurements")
    if root.flow:
        raise refuse(path, "the file is written in flow style ({...})")
    key = next((k for k, _ in root.items if k.text == "measurements"), None)
    value = root.get("measurements")
    if key is None or value is None:
        # No list yet: add one at the end of the file, at the top-level indentation.
        indent = " " * (root.column - 1)
        style = EntryStyle(root.column - 1 + _child_offset(root), 1, False, False)
        head = text if text.endswith(_BREAKS) else _end_line(text, root, newline)
        body = "".join(style.render(m, newline) for m in entries)
        return head + indent + "measurements:" + newline + body
    if isinstance(value, Scalar):
        if not (value.plain and value.text == ""):
            raise refuse(
                path,
                f"'measurements' (line {key.line}) is {value.text!r}, not a list; "
                "leave it empty or write a block list (`- kpi: ...`)",
            )
        # `measurements:` with nothing under it: entries go right after its line.
        style = EntryStyle(key.column - 1 + _child_offset(root), 1, False, False)
        after = key.line  # 1-based line number == index of the next line
    elif isinstance(value, Map):
        raise refuse(path, f"'measurements' (line {key.line}) is a mapping, not a list")
    elif value.flow:
        raise refuse(
            path,
            f"'measurements' (line {key.line}) is written in flow style ([...]); "
            "rewrite it as a block list, one `- kpi: ...` entry per item",
        )
    else:
        style = _style_of(value, lines)
        end_line, end_column = content_end(value.items[-1])
        after = end_line if end_column > 1 else end_line - 1
        # Comments indented deeper than the `-` belong to the last entry.
        while (
            after < len(lines)
            and _is_comment(lines[after])
            and _indent(lines[after]) > style.dash_column
        ):
            after += 1
    if after > len(lines):
        raise refuse(path, "could not find the end of the measurements list")
    head_lines, tail_lines = lines[:after], lines[after:]
    head = "".join(head_lines)
    if head and not head.endswith(_BREAKS):
        head = _end_line(head, root, newline)
    body = "".join(style.render(m, newline) for m in entries)
    return head + body + "".join(tail_lines)


# ---------------------------------------------------------------- checking what we wrote


def node_shape(node: Node | None) -> object:
    """A node's data without positions: what must not change."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        return (node.text, node.plain)
    if isinstance(node, Seq):
        return ("seq", tuple(node_shape(item) for item in node.items))
    return ("map", tuple((node_shape(k), node_shape(v)) for k, v in node.items))


def _entry_values(node: Node) -> dict[str, object] | None:
    if not isinstance(node, Map):
        return None
    out: dict[str, object] = {}
    for k, v in node.items:
        if not isinstance(v, Scalar):
            return None
        out[k.text] = scalar_value(v)
    return out


def _expected_values(m: Measurement) -> dict[str, object]:
    out: dict[str, object] = {"kpi": m.kpi, "date": m.date.isoformat(), "value": m.value}
    if m.note is not None:
        out["note"] = m.note
    if m.by is not None:
        out["by"] = m.by
    return out


def check_append(
    old: str | None,
    new: str,
    entries: Sequence[Measurement],
    *,
    path: str,
    old_root: Node | object | None = _UNPARSED,
) -> list[tuple[int, int]]:
    """The new text must hold the old document unchanged plus exactly `entries`;
    returns the (line, column) of each added entry in the new text.

    `old_root` is the old text's parse when the caller has it already.
    """
    try:
        new_root, problems = parse(new, path)
    except YamlFatal as exc:
        raise refuse(path, f"the new text would not parse ({exc.problem.format()})") from None
    if problems or not isinstance(new_root, Map):
        raise refuse(path, "the new text would not be a valid mapping")
    if old_root is _UNPARSED:
        old_root = parse_root(old, path) if old else None
    new_seq = new_root.get("measurements")
    if not isinstance(new_seq, Seq):
        raise refuse(path, "the new text would not hold a measurements list")
    old_items: list[Node] = []
    old_keys: list[object] = []
    if isinstance(old_root, Map):
        old_value = old_root.get("measurements")
        if isinstance(old_value, Seq):
            old_items = list(old_value.items)
        old_keys = [
            (node_shape(k), node_shape(v)) for k, v in old_root.items if k.text != "measurements"
        ]
    new_keys = [
        (node_shape(k), node_shape(v)) for k, v in new_root.items if k.text != "measurements"
    ]
    kept, added = new_seq.items[: len(old_items)], new_seq.items[len(old_items) :]
    if (
        old_keys != new_keys
        or [node_shape(n) for n in kept] != [node_shape(n) for n in old_items]
        or [_entry_values(n) for n in added] != [_expected_values(m) for m in entries]
    ):
        raise refuse(path, "the new text would not hold exactly the old data plus the new entries")
    return [(n.line, n.column) for n in added]


def decode_existing(data: bytes | None, display: str) -> tuple[str | None, bool]:
    if data is None:
        return None, False
    try:
        return decode(data, display), data.startswith(BOM)
    except YamlFatal as exc:
        raise refuse(display, exc.problem.message) from None


# ---------------------------------------------------------------- appending from the last entry

_MEASUREMENTS_KEY = re.compile(r"^measurements[ \t]*:", re.MULTILINE)
# Between the `measurements:` line and the last entry: only indented lines, comments,
# blank lines and `-` items at column 0 (a compact list); anything else at column 0
# (another key, `...`, a plain scalar's continuation) leaves the decision to a full parse.
_TOP_LEVEL = re.compile(r"^(?:[^\s#-]|-[^ \t\r\n])", re.MULTILINE)
_DASH_PREFIX = re.compile(r" *- +")
# Line breaks other than LF and CRLF (libyaml also counts a lone CR, NEL, LS, PS).
_EXOTIC_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


def line_offsets(text: str) -> list[int]:
    """The offset where each line starts (index 0 is line 1), lines as libyaml counts them."""
    starts = [0]
    total = 0
    for line in split_lines(text):
        total += len(line)
        starts.append(total)
    return starts


def _line_start(text: str, line: int) -> int | None:
    """Offset of the start of 1-based `line`; counted from the end, where an append looks."""
    if _EXOTIC_BREAKS.search(text):
        starts = line_offsets(text)
        return starts[line - 1] if 0 < line <= len(starts) else None
    total = text.count("\n") + 1
    if not 0 < line <= total:
        return None
    offset = len(text)
    for _ in range(total - line + 1):
        offset = text.rfind("\n", 0, offset)
        if offset < 0:
            return None
    return offset + 1


def entry_start(text: str, entry_line: int, entry_column: int) -> int | None:
    """Where the line of the file's last measurement starts (it starts at `entry_line`,
    `entry_column`, as the workspace load found it), when the lines from there on can
    be parsed on their own: the parser is in the same state at that line under a lone
    `measurements:` key when the file's `measurements:` key is at column 0, nothing else
    stands at column 0 between it and the entry, and the entry's line starts with its
    `-`. None otherwise (the whole text must be parsed)."""
    if entry_line < 1 or entry_column < 2:
        return None
    start = _line_start(text, entry_line)
    if start is None:
        return None
    keys = list(_MEASUREMENTS_KEY.finditer(text))
    if len(keys) != 1 or keys[0].start() >= start:
        return None
    after_key = text.find("\n", keys[0].end())
    if after_key < 0 or after_key >= start or _TOP_LEVEL.search(text, after_key + 1, start):
        return None
    if not _DASH_PREFIX.fullmatch(text, start, start + entry_column - 1):
        return None
    return start


def insert_after_entry(
    text: str, entries: Sequence[Measurement], *, path: str, entry_line: int, entry_column: int
) -> str | None:
    """`insert_measurements` for a file whose last measurement starts at `entry_line`,
    `entry_column` (from the workspace load), without parsing the lines before it.

    The lines from that entry to the end of the file are parsed as a document of their
    own under a `measurements:` key (see `entry_start`) and the entries inserted there;
    the text before the entry is kept byte for byte. Returns None when that shortcut
    does not apply (the caller uses `insert_measurements` on the whole text). Raises
    WriteError when the file cannot be appended to safely.
    """
    start = entry_start(text, entry_line, entry_column)
    if start is None or not entries:
        return None
    prefix = "measurements:" + newline_of(text)
    snippet = prefix + text[start:]
    new_snippet = insert_measurements(snippet, entries, path=path)
    if not new_snippet.startswith(prefix):  # pragma: no cover - insertion keeps the head
        raise refuse(path, "the new text would change the lines before the new entries")
    return text[:start] + new_snippet[len(prefix) :]


# ---------------------------------------------------------------- editing spans in place


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with `text` (start == end: insert)."""

    start: int
    end: int
    text: str


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """`text` with non-overlapping `edits` applied; every other character kept. Pure."""
    out: list[str] = []
    at = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < at or edit.end < edit.start or edit.end > len(text):
            raise ValueError("overlapping or out-of-range edits")
        out.append(text[at : edit.start])
        out.append(edit.text)
        at = edit.end
    out.append(text[at:])
    return "".join(out)


# ---------------------------------------------------------------- amending one entry


def _entry_at(root: Node | None, line: int, column: int, path: str) -> Map:
    """The `measurements` entry that starts at `line`, `column`."""
    seq = root.get("measurements") if isinstance(root, Map) else None
    if isinstance(seq, Seq):
        for item in seq.items:
            if isinstance(item, Map) and (item.line, item.column) == (line, column):
                return item
    raise refuse_amend(path, f"no measurement starts at line {line}")


def refuse_amend(path: str, why: str) -> WriteError:
    return WriteError(f"{path}: cannot safely amend the measurement: {why}; file unchanged")


def amend_entry(
    text: str,
    *,
    entry_line: int,
    entry_column: int,
    value: Value,
    note: str | None,
    path: str,
) -> tuple[str, int, int]:
    """`text` with the value (and, when `note` is given, the note) of the measurement
    starting at `entry_line`, `entry_column` replaced in place. Pure.

    Only the scalar's characters change (a comment after it stays); a note the entry
    lacks is added as a key after its last one, in the entry's style (a line in a
    block entry, `, note: ...` in a flow one). Returns the new text and the first and
    last line of the entry in it. Raises WriteError when that cannot be done safely
    (a value written over several lines, a block scalar note)."""
    root = parse_root(text, path, refuse_amend)
    entry = _entry_at(root, entry_line, entry_column, path)
    starts = line_offsets(text)

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    def one_line(key: str) -> Scalar | None:
        node = entry.get(key)
        if node is None:
            return None
        if (
            isinstance(node, Scalar)
            and not node.plain
            and text[offset(node.line, node.column)] in "|>"
        ):
            raise refuse_amend(path, f"its {key} (line {node.line}) is a block scalar")
        if (
            not isinstance(node, Scalar)
            or node.line != node.end_line
            or node.end_column <= node.column
        ):
            raise refuse_amend(path, f"its {key} (line {node.line}) is not written on one line")
        return node

    edits: list[Edit] = []
    old_value = one_line("value")
    if old_value is None:
        raise refuse_amend(path, "the entry has no value")
    start = offset(old_value.line, old_value.column)
    edits.append(Edit(start, offset(old_value.end_line, old_value.end_column), yaml_value(value)))
    if note is not None:
        rendered = yaml_scalar(note)
        old_note = one_line("note")
        if old_note is not None:
            begin = offset(old_note.line, old_note.column)
            edits.append(Edit(begin, offset(old_note.end_line, old_note.end_column), rendered))
        elif entry.flow:
            last = entry.items[-1][1]
            end_line, end_column = content_end(last)
            at = offset(end_line, end_column)
            edits.append(Edit(at, at, f", note: {rendered}"))
        else:
            first_key = entry.items[0][0]
            end_line, end_column = content_end(entry)
            lines = split_lines(text)
            after = end_line if end_column > 1 else end_line - 1
            if not 0 < after <= len(lines):
                raise refuse_amend(path, "could not find the end of the entry")
            newline = newline_of(text)
            added = " " * (first_key.column - 1) + f"note: {rendered}"
            if lines[after - 1].endswith(_BREAKS):
                edits.append(Edit(starts[after], starts[after], added + newline))
            else:  # the entry ends the file, without a final line break
                edits.append(Edit(starts[after], starts[after], newline + added))
    new = apply_edits(text, edits)
    last_line = content_end(entry)[0] + (
        1 if note is not None and entry.get("note") is None and not entry.flow else 0
    )
    return new, entry.line, last_line
