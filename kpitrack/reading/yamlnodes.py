"""A strict YAML reader built on libyaml's event stream.

`yaml.parse` hands us one event per node, each with its line and column, so
every value keeps its location. Reading events (instead of `yaml.load`) lets
us refuse what a KPI file never needs and an attacker loves: anchors and
aliases (alias bombs), explicit tags (`!!python/object`), merge keys, several
documents, absurd nesting. Scalars stay text here; `scalar_value` types them
strictly (YAML 1.2 core-ish: `no`, `0755`, `1:30` and `.nan` stay text).
"""

from __future__ import annotations

import functools
import gc
import math
import re
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, overload

import yaml

from kpitrack.domain.codes import KT001, KT002, KT003, KT004, KT005, Rule
from kpitrack.domain.model import Location
from kpitrack.domain.problems import Problem, Severity

try:  # the libyaml-backed parser, about ten times faster than the pure-Python one
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 64
MAX_FILE_BYTES = 32 * 1024 * 1024


class _Node:
    """Common part of the three node kinds: where the node starts and ends."""

    __slots__ = ("column", "end_column", "end_line", "line", "path")

    path: str
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int

    @property
    def loc(self) -> Location:
        return Location(self.path, self.line, self.column)

    @property
    def end(self) -> Location:
        return Location(self.path, self.end_line, self.end_column)


class Scalar(_Node):
    __slots__ = ("plain", "text")

    def __init__(self, text: str, plain: bool, loc: Location, end: Location | None = None) -> None:
        self.text = text
        self.plain = plain  # unquoted, so subject to typing
        self.path, self.line, self.column = loc.path, loc.line, loc.column
        end = end or loc
        self.end_line, self.end_column = end.line, end.column

    def __repr__(self) -> str:
        return f"Scalar({self.text!r}, line={self.line})"


class Seq(_Node):
    __slots__ = ("flow", "items")

    items: list[Node]
    flow: bool

    def __repr__(self) -> str:
        return f"Seq({len(self.items)} items, line={self.line})"


class Map(_Node):
    __slots__ = ("flow", "items")

    items: list[tuple[Scalar, Node]]
    flow: bool

    def get(self, key: str) -> Node | None:
        for k, v in self.items:
            if k.text == key:
                return v
        return None

    def __repr__(self) -> str:
        return f"Map({[k.text for k, _ in self.items]}, line={self.line})"


Node = Scalar | Seq | Map


class YamlFatal(Exception):
    """A problem that stops reading the file."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.format())
        self.problem = problem


def _loc(path: str, mark: Any) -> Location:
    if mark is None:
        return Location(path, 1, 1)
    return Location(path, mark.line + 1, mark.column + 1)


def _fatal(loc: Location, code: Rule, message: str) -> YamlFatal:
    return YamlFatal(Problem.at(loc, code.severity, code, message))


def decode(data: bytes, path: str, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Bytes of a KPI file to text: UTF-8 with or without BOM; raises YamlFatal."""
    if len(data) > max_bytes:
        raise _fatal(
            Location(path, 1, 1),
            KT002,
            f"file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes",
        )
    if data.startswith(BOM):
        data = data[len(BOM) :]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise _fatal(Location(path, line, 1), KT002, "binary file: NUL byte, not UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The bytes before the bad one are valid: count lines and columns in characters.
        raise _fatal(
            _position(data[: exc.start].decode("utf-8"), path),
            KT002,
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded",
        ) from None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _position(before: str, path: str) -> Location:
    """The location just after `before` (the text preceding a problem)."""
    lines = _LINE_BREAK.split(before)
    return Location(path, len(lines), len(lines[-1]) + 1)


def parse(text: str, path: str, *, max_depth: int = MAX_DEPTH) -> tuple[Node | None, list[Problem]]:
    """Parse one YAML document into nodes with locations.

    Returns the root node (None for an empty file) and the non-fatal problems
    (duplicate keys). Raises YamlFatal for syntax errors and refused constructs.
    """
    problems: list[Problem] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the tree is acyclic; collections during the build only cost time
    try:
        events = yaml.parse(text, Loader=_Loader)
        return _build(events, path, max_depth, problems), problems
    except YamlFatal:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "maximum nesting depth" in str(exc.problem):
            # libyaml 0.2.5+ caps nesting itself (at 1000), sometimes before our own cap is hit.
            raise _fatal(
                _loc(path, mark), KT002, f"nesting deeper than {max_depth} levels"
            ) from None
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{exc.context}: {what}" if exc.problem else exc.context
        raise _fatal(_loc(path, mark), KT001, f"YAML syntax error: {what}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        character = exc.character
        what = f"#x{character:04x}" if isinstance(character, int) else repr(character)
        raise _fatal(
            _position(text[: exc.position], path),
            KT001,
            f"YAML syntax error: control character {what} is not allowed",
        ) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise _fatal(Location(path, 1, 1), KT001, f"YAML syntax error: {message}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # pragma: no cover - defensive
        raise _fatal(Location(path, 1, 1), KT001, f"unreadable YAML: {exc}") from None
    finally:
        if gc_was_enabled:
            gc.enable()


# A measurement read straight from the event stream, without nodes:
# (line, column, kpi, date, value, value is plain, note, by); note and by are None
# when absent or empty. See parse_rows.
Row = tuple[int, int, str, str, str, bool, "str | None", "str | None"]


class Rows(Sequence[Row]):
    """A file's rows as columns: about 45 bytes a row instead of a tuple and its own
    line, column and value objects (~200 bytes), since every file's rows are held
    until the KPIs they name are known. Indexing and iterating give `Row` tuples."""

    __slots__ = ("bys", "columns", "dates", "kpis", "lines", "notes", "plains", "values")

    def __init__(self) -> None:
        self.lines = array("i")
        self.columns = array("i")
        self.kpis: list[str] = []
        self.dates: list[str] = []
        self.values: list[str] = []
        self.plains = bytearray()
        self.notes: list[str | None] = []
        self.bys: list[str | None] = []

    def __len__(self) -> int:
        return len(self.lines)

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...
    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return (
            self.lines[index],
            self.columns[index],
            self.kpis[index],
            self.dates[index],
            self.values[index],
            bool(self.plains[index]),
            self.notes[index],
            self.bys[index],
        )

    def __iter__(self) -> Iterator[Row]:
        return zip(  # plain comes as 0 or 1
            self.lines,
            self.columns,
            self.kpis,
            self.dates,
            self.values,
            self.plains,
            self.notes,
            self.bys,
            strict=True,
        )


class _Fallback(Exception):
    """The fast reader met something only the full node tree can report on."""


def parse_rows(
    text: str, path: str, texts: dict[str, str] | None = None
) -> tuple[Node | None, Rows] | None:
    """Like `parse`, but the entries of the top-level `measurements` list come back as
    compact rows instead of nodes (the list's node is left empty).

    Only for the ordinary case: every entry a mapping of scalars with known keys, no
    duplicate keys, nothing refused, no syntax error. Anything else returns None and the
    caller uses `parse`, which reports it with its exact location. `texts` shares one
    string per distinct KPI id, date, note and author (pass the same dict for every file).
    """
    rows = Rows()
    if texts is None:
        texts = {}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        problems: list[Problem] = []
        root = _build(yaml.parse(text, Loader=_Loader), path, MAX_DEPTH, problems, rows, texts)
    except (_Fallback, YamlFatal, yaml.YAMLError, ValueError, RecursionError, MemoryError):
        return None
    finally:
        if gc_was_enabled:
            gc.enable()
    if problems:
        return None
    return root, rows


# The file shapes `scan_rows` reads without libyaml: a measurements list of flow entries
# (`record`'s style) or block entries (hand-written), each value a plain word or words,
# or a quoted scalar on one line. Any other line, and the file goes on to libyaml.
# Printable non-ASCII text (YAML's printable set, without the line breaks NEL, LS, PS
# and the BOM) is allowed inside plain and quoted scalars and comments alike. The
# classes below refuse ASCII characters only, so any non-ASCII one matches them: a text
# holding a non-ASCII character YAML does not print (_NOT_TEXT) is declined before.
# (A class spelling out the allowed non-ASCII ranges takes the regular expression
# compiler a tenth of a second or more: start-up time.)
# In UTF-8: a C1 control (NEL among them), LS or PS, the BOM, U+FFFE or U+FFFF (a lone
# surrogate cannot be encoded at all). Searched in the encoded text: a class of
# characters with surrogate ranges makes the search ten times slower.
_NOT_TEXT = rb"\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]"
# Inside a flow-context plain scalar these characters mean nothing special (none of
# `,?[]{}`, `: `, ` #`, and the indicators only count as a first character).
_FIRST = r"[^\x00-/:-@\[-^`{-\x7f]"  # letters, digits, _, non-ASCII
_INNER = r"[^\x00-#&*,:<>?\[-^`{-\x7f]"  # and .@/+=$%;()'-
_WORD = rf"{_FIRST}{_INNER}*+(?: {_INNER}++)*+"
# A block-context plain scalar may also hold the flow indicators after its first character.
_BLOCK_INNER = r"[^\x00-#&*:<>?\\^`|~\x7f]"  # and ,[]{}
_BLOCK_WORD = rf"{_FIRST}{_BLOCK_INNER}*+(?: {_BLOCK_INNER}++)*+"
# Any quoted scalar on one line (unquoted by _unquote): double quoted, escapes allowed;
# single quoted, '' for a quote.
_DQ_TEXT = r'[^\x00-\x1f"\\\x7f]*+'
_SQ_TEXT = r"[^\x00-\x1f'\x7f]*+"
_ANY_QUOTED = rf""""{_DQ_TEXT}(?:\\[!-~]{_DQ_TEXT})*+"|'{_SQ_TEXT}(?:''{_SQ_TEXT})*+'"""
_FLOW_SCALAR = rf"{_WORD}|{_ANY_QUOTED}"
_BLOCK_SCALAR = rf"{_BLOCK_WORD}|{_ANY_QUOTED}"
_COMMENT_TEXT = r"[^\x00-\x08\n-\x1f\x7f]*"
_END = rf"(?: *| +#{_COMMENT_TEXT})\r?\n"  # the rest of an entry's line
_LINE_PATTERN = (
    # 1-8: the record style, which takes the quickest path below
    rf"(?:( *)- \{{kpi: ({_WORD}), date: ({_WORD}), value: (-?{_WORD})"
    rf"(?:, note: (?:({_WORD})|({_ANY_QUOTED})))?(?:, by: (?:({_WORD})|({_ANY_QUOTED})))?\}}{_END})"
    # 9: the key line
    rf"|(measurements: *(?: #{_COMMENT_TEXT})?)\r?\n"
    # a blank or comment line
    rf"| *(?:#{_COMMENT_TEXT})?\r?\n"
    # 10-15: a flow entry with quoted scalars anywhere
    rf"|(?:( *)- \{{kpi: ({_FLOW_SCALAR}), date: ({_FLOW_SCALAR}), value: (-?{_FLOW_SCALAR})"
    rf"(?:, note: ({_FLOW_SCALAR}))?(?:, by: ({_FLOW_SCALAR}))?\}}{_END})"
    # 16-21: a block entry, one key a line in this order, aligned under the first
    rf"|(?:( *)- kpi: ({_BLOCK_SCALAR}){_END}"
    rf"\16  date: ({_BLOCK_SCALAR}){_END}"
    rf"\16  value: (-?{_BLOCK_SCALAR}){_END}"
    rf"(?:\16  note: ({_BLOCK_SCALAR}){_END})?"
    rf"(?:\16  by: ({_BLOCK_SCALAR}){_END})?)"
)


# The same block entries at one indent (the first entry's, written in for `{indent}`), and
# blank and comment lines, for a file of block entries only (_scan_block): five groups
# instead of twenty-one, and each match starts a line.
_BLOCK_LINES = (
    rf"(?<![^\n])(?:{{indent}}- kpi: ({_BLOCK_SCALAR}){_END}"
    rf"{{indent}}  date: ({_BLOCK_SCALAR}){_END}"
    rf"{{indent}}  value: (-?{_BLOCK_SCALAR}){_END}"
    rf"(?:{{indent}}  note: ({_BLOCK_SCALAR}){_END})?"
    rf"(?:{{indent}}  by: ({_BLOCK_SCALAR}){_END})?"
    rf"| *(?:#{_COMMENT_TEXT})?\r?\n)"
)
# Blank and comment lines, the key line (group 1 ends after it), more of them, and the
# start of a block entry (group 2: its indent): the files _scan_block is tried on.
_BLOCK_HEAD = (
    rf"((?: *(?:#{_COMMENT_TEXT})?\r?\n)*+measurements: *(?: #{_COMMENT_TEXT})?\r?\n)"
    rf"(?: *(?:#{_COMMENT_TEXT})?\r?\n)*+( *)- kpi: "
)


@functools.lru_cache(maxsize=16)
def _block_lines(indent: str) -> re.Pattern[str]:
    return re.compile(_BLOCK_LINES.replace("{indent}", indent))  # only spaces


@functools.cache
def _block_head() -> re.Pattern[str]:
    return re.compile(_BLOCK_HEAD)


@functools.cache
def _line() -> re.Pattern[str]:
    return re.compile(_LINE_PATTERN)  # compiled when the first file is scanned (start-up)


def record_line() -> re.Pattern[str]:
    """One line of the scanner's shape, for the writers that check an edit line by line."""
    return _line()


@functools.cache
def _not_text() -> re.Pattern[bytes]:
    return re.compile(_NOT_TEXT)  # compiled when a non-ASCII file first needs it


_ESCAPE = re.compile(
    r'\\(?:([0abtnvfre "/\\N_LP\t])|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))'
)
_ESCAPED = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
    "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip


class _Decline(Exception):
    """A scalar the line scanner leaves to libyaml (an escape it does not know)."""


def _unescape(match: re.Match[str]) -> str:
    short, *codes = match.groups()
    if short is not None:
        return _ESCAPED[short]
    code = int(next(c for c in codes if c is not None), 16)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise _Decline  # libyaml refuses it: its error is reported by the full reader
    return chr(code)


def _unquote(token: str) -> str:
    """A quoted scalar token's text, as libyaml reads it; _Decline for an escape it refuses."""
    if token[0] == "'":
        return token[1:-1].replace("''", "'")
    body = token[1:-1]
    return _strict_unescape(body) if "\\" in body else body


def _strict_unescape(body: str) -> str:
    """Every backslash of a double-quoted scalar starts a known escape, else _Decline."""
    out: list[str] = []
    position = 0
    while True:
        backslash = body.find("\\", position)
        if backslash < 0:
            out.append(body[position:])
            return "".join(out)
        match = _ESCAPE.match(body, backslash)
        if match is None:
            raise _Decline
        out.append(body[position:backslash])
        out.append(_unescape(match))
        position = match.end()


def scan_rows(
    text: str, path: str, texts: dict[str, str] | None = None
) -> tuple[Node | None, Rows] | None:
    """`parse_rows` for the common file shapes, read line by line with one regular
    expression instead of libyaml's events: a file that holds only a `measurements:`
    list of entries, each either on one line, `- {kpi: ..., date: ..., value: ...[, note:
    ...][, by: ...]}`, or in block style, one `key: value` a line in that order aligned
    under `- kpi:`; each value a plain word or words (printable, non-ASCII too) or a
    quoted scalar on one line (double quoted with escapes, or single quoted); blank and
    comment lines between and trailing comments; every line ending in a line feed (LF or
    CRLF). YAML reads such a file one way only, so the rows are those `parse_rows` gives
    (tests/test_fast_path.py compares them); the root node holds the `measurements` key
    and an empty list, located where libyaml locates them. Anything else returns None and
    the caller uses `parse_rows` or `parse`. A file whose first entry is a block entry is
    tried by _scan_block (block entries only, one findall), any other file, or one that
    _scan_block leaves, by _scan_lines (every shape)."""
    if not text.endswith("\n") or not starts_with_measurements_key(text):
        return None
    if not text.isascii() and not _printable(text):
        return None
    if texts is None:
        texts = {}
    return _scan_block(text, path, texts) or _scan_lines(text, path, texts)


def starts_with_measurements_key(text: str) -> bool:
    """Whether the first line that is not blank nor a comment starts with `measurements:`,
    as both scans (and so the row cache) require: a KPI file is declined here, before
    either pattern is compiled (for a small workspace, the first scan would otherwise
    compile them at start-up)."""
    position = 0
    while (end := text.find("\n", position)) >= 0:
        line = text[position:end].lstrip(" ")
        if line and line != "\r" and not line.startswith("#"):
            return line.startswith("measurements:")
        position = end + 1
    return False


def _printable(text: str) -> bool:
    """Whether a non-ASCII text holds only characters YAML prints (see _NOT_TEXT)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return False  # a lone surrogate
    # Most non-ASCII text (accented letters, CJK) has none of the lead bytes: a byte search
    # is many times quicker than the pattern's.
    if b"\xc2" not in data and b"\xe2\x80" not in data and b"\xef" not in data:
        return True
    return _not_text().search(data) is None


def _scan_lines(text: str, path: str, texts: dict[str, str]) -> tuple[Node | None, Rows] | None:
    """scan_rows for any mix of the shapes, a match of _line() a line or block entry."""
    shared = texts.setdefault
    values: dict[str, str] = {}
    share_value = values.setdefault
    rows = Rows()
    lines, columns, kpis, dates = rows.lines, rows.columns, rows.kpis, rows.dates
    value_list, plains, notes, bys = rows.values, rows.plains, rows.notes, rows.bys
    nulls = NULL_WORDS
    quotes = "'\""
    unquoted: dict[str, str] = {}  # quoted token → its text

    def unquote(token: str) -> str:
        text = unquoted[token] = _unquote(token)
        return text

    key_line = 0
    indent: str | None = None
    first_entry = 0
    position = 0
    line = 0
    for match in _line().finditer(text):
        if match.start() != position:
            return None  # a line the pattern does not know
        position = match.end()
        line += 1
        (
            entry_indent, kpi, date, value, note, quoted_note, by, quoted_by, key,
            flow_indent, flow_kpi, flow_date, flow_value, flow_note, flow_by,
            block_indent, block_kpi, block_date, block_value, block_note, block_by,
        ) = match.groups()  # fmt: skip
        if kpi is None:
            if flow_kpi is not None:
                entry_indent, kpi, date, value = flow_indent, flow_kpi, flow_date, flow_value
                note, by = flow_note, flow_by
                more = 0
            elif block_kpi is not None:
                entry_indent, kpi, date, value = block_indent, block_kpi, block_date, block_value
                note, by = block_note, block_by
                more = 2 + (note is not None) + (by is not None)
            else:
                if key is not None:
                    if key_line:
                        return None  # a second measurements key: the full reader reports it
                    key_line = line
                continue
            if not key_line:
                return None
            # Quoted scalars to their text (each distinct one unquoted once).
            plain = True
            try:
                if kpi[0] in quotes:
                    kpi = unquoted.get(kpi) or unquote(kpi)
                if date[0] in quotes:
                    date = unquoted.get(date) or unquote(date)
                if value[0] in quotes:
                    value = unquoted.get(value) or unquote(value)
                    plain = False
                if note is not None:
                    if note[0] in quotes:
                        note = unquoted.get(note) or unquote(note) or None
                    elif note in nulls:
                        note = None
                if by is not None:
                    if by[0] in quotes:
                        by = unquoted.get(by) or unquote(by) or None
                    elif by in nulls:
                        by = None
            except _Decline:
                return None
            if indent != entry_indent:
                if indent is not None:
                    return None
                indent, first_entry = entry_indent, line
            lines.append(line)
            columns.append(len(entry_indent) + 3)
            kpis.append(shared(kpi, kpi))
            dates.append(shared(date, date))
            value_list.append(share_value(value, value))
            plains.append(plain)
            notes.append(None if note is None else shared(note, note))
            bys.append(None if by is None else shared(by, by))
            line += more
            continue
        if not key_line:
            return None
        if indent != entry_indent:
            if indent is not None:
                return None
            indent, first_entry = entry_indent, line
        lines.append(line)
        columns.append(len(entry_indent) + 3)
        kpis.append(shared(kpi, kpi))
        dates.append(shared(date, date))
        value_list.append(share_value(value, value))
        plains.append(1)
        if note is None:  # quoted or absent
            if quoted_note is not None:
                try:  # an empty "" is no note, as rules.is_empty says
                    note = unquoted.get(quoted_note) or unquote(quoted_note) or None
                except _Decline:
                    return None
        elif note in nulls:
            note = None
        notes.append(None if note is None else shared(note, note))
        if by is None:
            if quoted_by is not None:
                try:
                    by = unquoted.get(quoted_by) or unquote(quoted_by) or None
                except _Decline:
                    return None
        elif by in nulls:
            by = None
        bys.append(None if by is None else shared(by, by))
    if position != len(text) or indent is None:
        return None
    return _scanned_root(path, key_line, first_entry, len(indent), line), rows


def _scanned_root(path: str, key_line: int, first_entry: int, indent: int, lines: int) -> Map:
    """The root node of a scanned file, located where libyaml locates it: the
    `measurements` key and an empty list (its entries are the rows)."""
    key = Scalar.__new__(Scalar)
    key.text, key.plain, key.path = "measurements", True, path
    key.line = key.end_line = key_line
    key.column, key.end_column = 1, len("measurements") + 1
    seq = Seq.__new__(Seq)
    seq.items, seq.flow, seq.path = [], False, path
    seq.line, seq.column = first_entry, indent + 1
    seq.end_line, seq.end_column = lines + 1, 1
    root = Map.__new__(Map)
    root.items, root.flow, root.path = [(key, seq)], False, path
    root.line, root.column = key_line, 1
    root.end_line, root.end_column = lines + 1, 1
    return root


def _scan_block(text: str, path: str, texts: dict[str, str]) -> tuple[Node | None, Rows] | None:
    """scan_rows for a file of block entries only, all at the first entry's indent: one
    `findall` of _block_lines() and a loop over plain tuples, about half the work of
    _scan_lines' match objects. Each match starts a line (the pattern's look-behind) and
    takes whole lines, as many as counted, so the lines counted are the file's lines
    exactly when no line is left out. None when the file does not start so or they are
    not, or for anything else _scan_lines would decline: the caller then asks
    _scan_lines, which decides."""
    head = _block_head().match(text)
    if head is None:
        return None
    start, indent = head.end(1), head.group(2)
    found = _block_lines(indent).findall(text, start)
    key_line = text.count("\n", 0, start)
    first_entry = text.count("\n", 0, head.start(2)) + 1
    shared = texts.setdefault
    values: dict[str, str] = {}
    share_value = values.setdefault
    rows = Rows()
    lines, kpis, dates = rows.lines, rows.kpis, rows.dates
    value_list, plains, notes, bys = rows.values, rows.plains, rows.notes, rows.bys
    nulls = NULL_WORDS
    quotes = "'\""
    unquoted: dict[str, str] = {}  # quoted token → its text

    def unquote(token: str) -> str:
        text = unquoted[token] = _unquote(token)
        return text

    line = key_line
    try:
        # findall gives "" for a group that took no part: kpi, note and by are never "".
        for kpi, date, value, note, by in found:
            line += 1
            if not kpi:
                continue  # a blank or comment line
            lines.append(line)
            line += 2
            if kpi[0] in quotes:
                kpi = unquoted.get(kpi) or unquote(kpi)
            if date[0] in quotes:
                date = unquoted.get(date) or unquote(date)
            if value[0] in quotes:
                value = unquoted.get(value) or unquote(value)
                plains.append(0)
            else:
                plains.append(1)
            kpis.append(shared(kpi, kpi))
            dates.append(shared(date, date))
            value_list.append(share_value(value, value))
            if note:
                line += 1
                if note[0] in quotes:
                    note = unquoted.get(note) or unquote(note)
                    notes.append(shared(note, note) if note else None)
                elif note in nulls:
                    notes.append(None)
                else:
                    notes.append(shared(note, note))
            else:
                notes.append(None)
            if by:
                line += 1
                if by[0] in quotes:
                    by = unquoted.get(by) or unquote(by)
                    bys.append(shared(by, by) if by else None)
                elif by in nulls:
                    bys.append(None)
                else:
                    bys.append(shared(by, by))
            else:
                bys.append(None)
    except _Decline:
        return None
    if line != text.count("\n"):
        return None  # a line the pattern does not know
    rows.columns = array("i", [len(indent) + 3]) * len(lines)
    return _scanned_root(path, key_line, first_entry, len(indent), line), rows


def _row(
    events: Iterator[Any],
    start: Any,
    texts: dict[str, str],
    rows: Rows,
    values: dict[str, str],
) -> None:
    """Append one flat measurement mapping, its MappingStartEvent already read."""
    ScalarEvent, following = yaml.ScalarEvent, events.__next__
    kpi = date = value = note = by = None
    while True:
        key = following()
        if type(key) is not ScalarEvent:
            if type(key) is yaml.MappingEndEvent:
                break
            raise _Fallback
        item = following()
        if (
            type(item) is not ScalarEvent
            or key.anchor is not None
            or key.tag is not None
            or item.anchor is not None
            or item.tag is not None
        ):
            raise _Fallback
        name = key.value
        if name == "kpi" and kpi is None:
            kpi = item
        elif name == "date" and date is None:
            date = item
        elif name == "value" and value is None:
            value = item
        elif name == "note" and note is None:
            note = item
        elif name == "by" and by is None:
            by = item
        else:  # an unknown or a repeated key
            raise _Fallback
    if kpi is None or date is None or value is None:
        raise _Fallback
    shared = texts.setdefault
    rows.lines.append(start.line + 1)
    rows.columns.append(start.column + 1)
    rows.kpis.append(shared(kpi.value, kpi.value))
    rows.dates.append(shared(date.value, date.value))
    rows.values.append(values.setdefault(value.value, value.value))
    rows.plains.append(not value.style)
    rows.notes.append(None if note is None or _empty(note) else shared(note.value, note.value))
    rows.bys.append(None if by is None or _empty(by) else shared(by.value, by.value))


def _empty(event: Any) -> bool:
    """rules.is_empty for a scalar event."""
    text: str = event.value
    return text == "" or (not event.style and text in NULL_WORDS)


def _refuse_properties(event: Any, loc: Location) -> None:
    if event.anchor is not None:
        raise _fatal(loc, KT003, f"anchors and aliases are not allowed (&{event.anchor})")
    tag = getattr(event, "tag", None)
    if tag is not None and tag != "!":
        raise _fatal(loc, KT003, f"explicit tags are not allowed ({tag})")


def _build(
    events: Iterator[Any],
    path: str,
    max_depth: int,
    problems: list[Problem],
    rows: Rows | None = None,
    texts: dict[str, str] | None = None,
) -> Node | None:
    ScalarEvent, MappingStart, SequenceStart = (
        yaml.ScalarEvent,
        yaml.MappingStartEvent,
        yaml.SequenceStartEvent,
    )
    MappingEnd, SequenceEnd = yaml.MappingEndEvent, yaml.SequenceEndEvent
    # Open containers; for mappings, the key waiting for its value and the keys seen.
    stack: list[Map | Seq] = []
    pending: list[Scalar | None] = []
    seen_keys: list[dict[str, int]] = []
    root: Node | None = None
    rows_seq: Map | Seq | None = None  # the measurements list whose entries become rows
    values: dict[str, str] = {}  # one string per distinct value text in this file
    documents = 0
    for event in events:
        cls = type(event)
        node: Node
        if cls is ScalarEvent:
            if event.anchor is not None or (event.tag is not None and event.tag != "!"):
                _refuse_properties(event, _loc(path, event.start_mark))
            start, end = event.start_mark, event.end_mark
            node = Scalar.__new__(Scalar)
            node.text = event.value
            node.plain = not event.style
            node.path = path
            node.line, node.column = start.line + 1, start.column + 1
            node.end_line, node.end_column = end.line + 1, end.column + 1
        elif cls is MappingStart or cls is SequenceStart:
            start = event.start_mark
            if event.anchor is not None or event.tag is not None:
                _refuse_properties(event, _loc(path, start))
            if rows is not None and stack and stack[-1] is rows_seq:
                if cls is not MappingStart:
                    raise _Fallback
                _row(events, start, texts, rows, values)  # type: ignore[arg-type]
                continue
            if len(stack) >= max_depth:
                raise _fatal(_loc(path, start), KT002, f"nesting deeper than {max_depth} levels")
            container: Map | Seq = Map.__new__(Map) if cls is MappingStart else Seq.__new__(Seq)
            container.items = []
            container.flow = bool(event.flow_style)
            container.path = path
            container.line, container.column = start.line + 1, start.column + 1
            if (
                rows is not None
                and cls is SequenceStart
                and len(stack) == 1
                and pending[0] is not None
                and pending[0].text == "measurements"
            ):
                if rows_seq is not None:
                    raise _Fallback  # a second measurements list: the full reader reports it
                rows_seq = container
            stack.append(container)
            pending.append(None)
            seen_keys.append({})
            continue
        elif cls is MappingEnd or cls is SequenceEnd:
            node = stack.pop()
            pending.pop()
            seen_keys.pop()
            end = event.end_mark
            node.end_line, node.end_column = end.line + 1, end.column + 1
        elif cls is yaml.AliasEvent:
            raise _fatal(
                _loc(path, event.start_mark),
                KT003,
                f"anchors and aliases are not allowed (*{event.anchor})",
            )
        elif cls is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _fatal(
                    _loc(path, event.start_mark),
                    KT004,
                    "a file holds one YAML document; found a second",
                )
            continue
        else:
            continue
        if not stack:
            root = node
            continue
        top = stack[-1]
        if type(top) is Seq:
            top.items.append(node)
            continue
        key = pending[-1]
        if key is not None:
            top.items.append((key, node))  # type: ignore[arg-type]
            pending[-1] = None
            continue
        if type(node) is not Scalar:
            raise _fatal(node.loc, KT004, "mapping keys must be plain text")
        if node.plain and node.text == "<<":
            raise _fatal(node.loc, KT003, "merge keys (<<) are not allowed")
        seen = seen_keys[-1]
        first = seen.get(node.text)
        if first is not None:
            problems.append(
                Problem.at(
                    node.loc,
                    Severity.ERROR,
                    KT005,
                    f"duplicate key '{node.text}' (first at line {first})",
                )
            )
        else:
            seen[node.text] = node.line
        pending[-1] = node
    return root


_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
# A digit before the exponent is required: `e5` and `.e5` are text, not a float() crash.
_FLOAT = re.compile(r"[-+]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")

# ---------------------------------------------------------------- the YAML lexicon
# Defined here once for the reader, the rules and the writer.

BOM = b"\xef\xbb\xbf"  # allowed at the start of a file; kept when a file is rewritten
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})  # plain: null
TRUE_WORDS = frozenset({"true", "True", "TRUE"})
FALSE_WORDS = frozenset({"false", "False", "FALSE"})
# YAML 1.1 words that other tools read as booleans: kept as text, named in messages.
YAML11_BOOLEANS = frozenset(
    w for s in ("yes", "no", "on", "off", "y", "n") for w in (s, s.title(), s.upper())
)
# Plain words some YAML reader (1.1 or 1.2) takes for null or a boolean: text that is
# one of them must be written quoted.
NOT_TEXT_WORDS = NULL_WORDS | TRUE_WORDS | FALSE_WORDS | YAML11_BOOLEANS


def scalar_value(node: Scalar) -> bool | int | float | str | None:
    """Type a scalar strictly: null, true/false, plain decimal numbers; all else is text.

    Non-finite results (`1e400`) come back as float('inf') so a rule can name them.
    """
    return typed_value(node.text, node.plain)


def typed_value(text: str, plain: bool) -> bool | int | float | str | None:
    """scalar_value of a scalar's text and whether it is plain (unquoted)."""
    if not plain:
        return text
    if text in NULL_WORDS:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    if _INT.fullmatch(text):
        if len(text) > 20:  # beyond any real measurement; avoids int-parsing limits
            return math.copysign(math.inf, -1.0 if text.startswith("-") else 1.0)
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text
