"""The report as one complete mail message (RFC 5322), for `sendmail -t`.

`multipart/alternative`: a plain-text part (the report's plain-text table view, 78
columns, 7bit or quoted-printable) and the HTML page, both UTF-8, built with Python's
`email` package. Headers: From, To, Subject
(`KPI report — 2026-11-30: 3 off track, 2 at risk`), Date, Message-ID, MIME-Version and
`Auto-Submitted: auto-generated` (RFC 3834: auto-responders do not answer it).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import unicodedata
from collections.abc import Sequence
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
    message = EmailMessage(policy=email.policy.default)
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
    message.set_content(text, charset="utf-8", cte=encoding)
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message.as_string()
