"""Text from KPI files, made safe to show: the one place control characters are escaped.

KPI files come from pull requests, and what kpitrack prints goes to terminals,
pipes, logs and Markdown. A name, note or unknown key may hold ESC, BEL, CSI or
OSC sequences (which retitle or clear a terminal, or hide text) or bidi
overrides (which reorder what a reviewer reads). Every text output passes user
text through `visible`, which shows such characters as escapes (`\\x1b`,
`\\u202e`) instead of emitting them. See docs/SECURITY.md.
"""

from __future__ import annotations

import re

# C0 controls except tab and line feed, DEL, C1 controls, and the bidi
# embeddings, overrides and isolates (plus the marks that can flip a run).
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
# On one line (problem lines, error messages) every line break is escaped too,
# including those only some readers count (VT, FF, NEL, LS, PS), so file
# content can never forge a line of its own.
_UNSAFE_LINE = re.compile(f"[{_CONTROLS}\t\n\r\u2028\u2029]")

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, *, line: bool = False) -> str:
    """`text` with control characters and bidi overrides shown as escapes.

    Tab and line feed are kept (they lay text out) unless `line` asks for
    exactly one line, where every line break and tab is escaped as well.
    """
    return (_UNSAFE_LINE if line else _UNSAFE).sub(_escape, text)
