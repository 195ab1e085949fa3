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
    anything else, including text with line breaks (no header injection).
    """
    out: list[str] = []
    for value in values:
        if any(c in value for c in "\r\n\0"):
            raise AddressError(f"{value!r}: a mail address cannot contain a line break")
        pairs = email.utils.getaddresses([value])
        if not pairs or all(not addr for _, addr in pairs):
            raise AddressError(f"{value!r} is not a mail address")
        for name, addr in pairs:
            local, at, domain = addr.rpartition("@")
            if not at or not local or not domain or any(c.isspace() for c in addr):
                shown = addr or value
                raise AddressError(f"{shown!r} is not a mail address (like team@example.com)")
            out.append(email.utils.formataddr((name, addr)) if name else addr)
    return out


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
