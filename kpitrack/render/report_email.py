"""The report as one complete mail message (RFC 5322), for `sendmail -t`.

`multipart/alternative`: a plain-text part (the report's plain-text table view, 78
columns, 7bit or quoted-printable) and the HTML page, both UTF-8. Headers: From, To, Subject
(`KPI report — 2026-11-30: 3 off track, 2 at risk`), Date, Message-ID, MIME-Version and
`Auto-Submitted: auto-generated` (RFC 3834: auto-responders do not answer it).

The bytes are exactly those of Python's `email` package (`EmailMessage.set_content`,
`add_alternative`, `as_string()` with `email.policy.default`), which builds them a
line at a time in pure Python: for the HTML page of a large workspace (megabytes, long
lines) that cost more than the page. So the headers still come from `email` (folding,
RFC 2047), while the bodies are encoded here with the same rules in a few passes over
the bytes (`_quoted_printable`) and the message is written as its parts in sequence
(`report_email_chunks`), never assembled as a whole. Anything outside the two
encodings reproduced here (an HTML part `email` would send as base64 or 8bit) goes
through `email` itself. tests/test_report_email.py compares both ways on arbitrary text.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email.policy
import email.utils
import random
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from email import quoprimime
from email.message import EmailMessage

from kpitrack.domain.model import Status
from kpitrack.reports.digest import Report


class AddressError(ValueError):
    """Text that is not a mail address (the CLI turns it into a usage error)."""


def subject(report: Report) -> str:
    s = report.summary
    return (
        f"KPI report — {report.as_of.isoformat()}: "
        f"{s.count(Status.OFF_TRACK)} off track, {s.count(Status.AT_RISK)} at risk"
    )


def parse_addresses(values: Sequence[str]) -> list[str]:
    """Mail addresses from option or config values; each may list several, comma-separated.

    `Ann <ann@example.com>` and `ann@example.com` are both fine. Raises AddressError for
    anything odd: a line break or separator of any Unicode kind (CR, LF, VT, FF, NEL,
    U+2028, U+2029, ...) or any other control or format character (no header
    injection), group syntax (`Team: a@x, b@y;`), a part that
    `email.utils.getaddresses` reads as anything but exactly one address
    (`a@x <b@y>`), an address with spaces, brackets or quotes, or without a local part
    and a domain.
    """
    out: list[str] = []
    for value in values:
        odd = next((c for c in value if unicodedata.category(c) in _ODD_CATEGORIES), None)
        if odd is not None:
            raise AddressError(
                f"{value!r}: a mail address cannot contain a line break or another control "
                f"character (found U+{ord(odd):04X})"
            )
        parts = _top_level_parts(value)
        if not parts:
            raise AddressError(f"{value!r} is not a mail address")
        for part in parts:
            pairs = email.utils.getaddresses([part])
            if len(pairs) != 1 or not pairs[0][1]:
                raise AddressError(f"{part!r} is not one mail address (like team@example.com)")
            name, addr = pairs[0]
            local, at, domain = addr.rpartition("@")
            if not at or not local or not domain or any(c in _NOT_IN_ADDRESS for c in addr):
                raise AddressError(f"{addr!r} is not a mail address (like team@example.com)")
            out.append(email.utils.formataddr((name, addr)) if name else addr)
    return out


# Cc: controls (CR, LF, VT, FF, NEL, tab, ...), Cf: format characters (bidi controls,
# zero-width), Zl/Zp: the line and paragraph separators U+2028/U+2029.
_ODD_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_NOT_IN_ADDRESS = frozenset(' <>()[]:;,"\\')


def _top_level_parts(value: str) -> list[str]:
    """The comma-separated parts of an address list (commas inside quotes or angle
    brackets do not count); AddressError for group syntax, unbalanced quotes or
    brackets, or an empty part."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    angle = 0
    for c in value:
        if quoted:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "<":
            angle += 1
        elif c == ">":
            angle -= 1
            if angle < 0:
                raise AddressError(f"{value!r}: unbalanced '>'")
        elif angle == 0 and c in ":;":
            raise AddressError(f"{value!r}: group syntax ({c!r}) is not accepted in an address")
        elif angle == 0 and c == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(c)
    if quoted or angle:
        raise AddressError(f"{value!r}: unbalanced quotes or angle brackets")
    parts.append("".join(current))
    stripped = [part.strip() for part in parts]
    if any(not part for part in stripped):
        raise AddressError(f"{value!r}: an empty address in the list")
    return stripped


def render_report_email(
    report: Report,
    *,
    text: str,
    html: str,
    to: Sequence[str],
    sender: str,
    now: dt.datetime,
) -> str:
    """The whole message as text with `\\n` line ends, as `sendmail -t` reads it."""
    return "".join(report_email_chunks(report, text=text, html=html, to=to, sender=sender, now=now))


def report_email_chunks(
    report: Report,
    *,
    text: str,
    html: str,
    to: Sequence[str],
    sender: str,
    now: dt.datetime,
) -> Iterator[str]:
    """`render_report_email` in pieces (the big HTML part in blocks of lines), to be
    written as they come; the same text as `EmailMessage.as_string()` would make."""
    policy = email.policy.default
    message = EmailMessage(policy=policy)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject(report)
    message["Date"] = email.utils.format_datetime(now)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = email.utils.make_msgid("kpitrack", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    # Readable as it travels: 7bit when the text is ASCII, else quoted-printable (never
    # base64), its lines as the caller wrapped them (78 characters: commands/report.py).
    encoding = "7bit" if text.isascii() else "quoted-printable"
    plain = encode_text(text, encoding)
    page = encode_text(html, None)
    if plain is None or page is None:  # an encoding not reproduced here: email's own way
        message.set_content(text, charset="utf-8", cte=encoding)
        message.add_alternative(html, subtype="html", charset="utf-8")
        yield message.as_string()
        return
    # The headers `set_content` and `add_alternative` give: the first part's
    # Content-* headers, then MIME-Version (EmailMessage adds it to the HTML part too).
    plain_cte, plain_body = plain
    page_cte, page_body = page
    heads = [
        _part_headers("plain", plain_cte, mime_version=False) + "\n",
        _part_headers("html", page_cte, mime_version=True) + "\n",
    ]
    # The boundary must not be a line of the parts. A quoted-printable body never has
    # "==" in it (each "=" starts an =XX or is a soft break ending a line) while every
    # boundary does, so only the headers and a 7bit body need a look, and the
    # quoted-printable one can be made while it is written.
    searched = list(heads)
    if plain_cte == "7bit":
        whole = list(plain_body)
        searched += whole
        plain_body = iter(whole)
    if page_cte == "7bit":
        whole = list(page_body)
        searched += whole
        page_body = iter(whole)
    message["MIME-Version"] = "1.0"
    message["Content-Type"] = "multipart/alternative"
    boundary = _make_boundary(searched)
    message.set_boundary(boundary)
    del searched
    yield _folded_headers(message) + "\n" + f"--{boundary}\n" + heads[0]
    yield from plain_body
    yield f"\n--{boundary}\n" + heads[1]
    yield from page_body
    yield f"\n--{boundary}--\n"


def _folded_headers(message: EmailMessage) -> str:
    """The header block as `email.generator` writes it (without the blank line)."""
    return "".join(message.policy.fold(name, value) for name, value in message.raw_items())


def _part_headers(subtype: str, cte: str, *, mime_version: bool) -> str:
    part = EmailMessage(policy=email.policy.default)
    part["Content-Type"] = f"text/{subtype}"
    part.set_param("charset", "utf-8", replace=True)
    part["Content-Transfer-Encoding"] = cte
    if mime_version:
        part["MIME-Version"] = "1.0"
    return _folded_headers(part)


_BOUNDARY_WIDTH = len(repr(sys.maxsize - 1))


def _make_boundary(texts: list[str]) -> str:
    """`email.generator.Generator._make_boundary` over the parts joined by line ends: a
    random boundary, with `.0`, `.1`, ... added while a line of the parts is
    `--boundary` or `--boundary--`. The parts are searched with the regular expression
    only when the boundary occurs in them at all."""
    token = random.randrange(sys.maxsize)
    boundary = "=" * 15 + f"{token:0{_BOUNDARY_WIDTH}d}" + "=="
    candidate = boundary
    counter = 0
    alltext: str | None = None
    while any("--" + candidate in piece for piece in texts):
        if alltext is None:
            alltext = "\n".join(texts)
        pattern = re.compile("^--" + re.escape(candidate) + "(--)?$", re.MULTILINE)
        if not pattern.search(alltext):
            break
        candidate = f"{boundary}.{counter}"
        counter += 1
    return candidate


_MAX_LINE = 78  # email.policy.default.max_line_length
_LONG_LINE = re.compile(rb"[^\n]{%d}" % (_MAX_LINE + 1))
_LONG_TEXT_LINE = re.compile(rf"[^\r\n]{{{_MAX_LINE + 1}}}")
_BLOCK = 1 << 16  # characters of the text encoded at a time


def _normal_body(string: str) -> bytes:
    """The UTF-8 bytes as `email` joins them: lines split at CR, LF and CRLF, each
    ended by LF."""
    data = string.encode("utf-8")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data if data.endswith(b"\n") else data + b"\n"


def encode_text(string: str, cte: str | None) -> tuple[str, Iterator[str]] | None:
    """The Content-Transfer-Encoding and body (in pieces, made as they are read) that
    `EmailMessage.set_content(string, charset="utf-8", cte=cte)` gives under
    `email.policy.default`, or None where `email` would choose base64 or 8bit (or
    `cte` is neither "7bit", "quoted-printable" nor None)."""
    if cte is None:
        # email: 7bit if every line is ASCII and at most 78 bytes long, else 8bit
        # under this policy if they are short enough; else quoted-printable unless its
        # first ten lines are longer as quoted-printable than as base64.
        if (
            _LONG_TEXT_LINE.search(string) is None
            and _LONG_LINE.search(_normal_body(string)) is None
        ):
            return (
                ("7bit", iter([_normal_body(string).decode("ascii")])) if string.isascii() else None
            )
        cut = -1
        for _ in range(11):  # eleven line ends make at least eleven lines
            cut = string.find("\n", cut + 1)
            if cut < 0:
                break
        head = _normal_body(string if cut < 0 else string[: cut + 1]).split(b"\n", 10)
        sniff = b"\n".join(head[:10] if len(head) == 11 else head[:-1]) + b"\n"
        if len(quoprimime.body_encode(sniff.decode("latin-1"), _MAX_LINE)) > len(
            binascii.b2a_base64(sniff)
        ):
            return None
        cte = "quoted-printable"
    if cte == "7bit":
        return ("7bit", iter([_normal_body(string).decode("ascii")])) if string.isascii() else None
    if cte == "quoted-printable":
        return cte, _quoted_printable_blocks(string)
    return None


def _quoted_printable_blocks(string: str) -> Iterator[str]:
    """The quoted-printable body of `string`, a block of whole lines at a time (a
    block ends after a LF, so a CRLF is never cut in two)."""
    start, end = 0, len(string)
    if not end:
        yield "\n"
    while start < end:
        stop = string.find("\n", start + _BLOCK)
        stop = end if stop < 0 else stop + 1
        yield "\n".join(_quoted_printable(_normal_body(string[start:stop])))
        start = stop


# quoprimime's safe body bytes (kept as they are): printable ASCII but "=", space, tab.
_QP_SAFE = bytes(range(33, 127)).replace(b"=", b"") + b" \t"
_QP_KEEP = _QP_SAFE + b"\n"


def _quoted_printable(data: bytes) -> list[str]:
    """`quoprimime.body_encode(data.decode("latin-1"), 78)` as lines to join with LF
    (a long line and its continuations as one), for `data` whose only line end is LF
    and which ends with one (what `_normal_body` makes).

    The same rules: each byte but the safe ones and LF becomes `=XX` (here one
    `bytes.replace` per byte value present, "=" first, instead of a Python lookup per
    character); then each line longer than 78 characters is cut by the standard
    library's own loop (pieces of 77 characters and a soft break "=", never inside an
    `=XX`), and a space or tab ending a line is quoted or followed by a soft break.
    Lines that need neither (most of a report) are taken as they are."""
    present = data.translate(None, _QP_KEEP)
    if present:
        if b"=" in present:
            data = data.replace(b"=", b"=3D")
        for byte in sorted(set(present) - {0x3D}):
            data = data.replace(bytes((byte,)), b"=%02X" % byte)
    out: list[str] = []
    append = out.append
    for line in data.decode("ascii").split("\n"):
        if len(line) <= _MAX_LINE and line[-1:] not in (" ", "\t"):
            append(line)
        else:
            pieces: list[str] = []
            _qp_wrap(line, pieces.append)
            append("\n".join(pieces))
    return out


def _qp_wrap(line: str, append: Callable[[str], object]) -> None:
    """quoprimime.body_encode's loop for one line, with maxlinelen 78 and LF line ends."""
    start = 0
    laststart = len(line) - 1 - _MAX_LINE
    while start <= laststart:
        stop = start + _MAX_LINE - 1
        # make sure an escape sequence is not broken up
        if line[stop - 2] == "=":
            append(line[start : stop - 1])
            start = stop - 2
        elif line[stop - 1] == "=":
            append(line[start:stop])
            start = stop - 1
        else:
            append(line[start:stop] + "=")
            start = stop
    if line and line[-1] in " \t":
        room = start - laststart
        quoted = f"={ord(line[-1]):02X}"
        if room >= 3:
            tail = quoted
        elif room == 2:
            tail = line[-1] + "=\n"
        else:
            tail = "=\n" + quoted
        append(line[start:-1] + tail)
    else:
        append(line[start:])
