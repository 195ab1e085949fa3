"""The mail's own encoder and writer (render/report_email.py) against Python's `email`
package, which built the message before: the same bytes for any text.

`reference_message` is the former `render_report_email`, kept here as the oracle. The
Message-ID and the boundary are random (`random`, `time`): each comparison seeds
`random` and fixes `time.time` before both.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import random
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpitrack.render import report_email
from kpitrack.render.report_email import encode_text, render_report_email

NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
REPORT: Any = SimpleNamespace(
    summary=SimpleNamespace(count=lambda status: 0), as_of=dt.date(2026, 11, 30)
)


def reference_message(
    report: Any, *, text: str, html: str, to: Sequence[str], sender: str, now: dt.datetime
) -> str:
    """render_report_email as it was: everything through `email`."""
    message = EmailMessage(policy=email.policy.default)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = report_email.subject(report)
    message["Date"] = email.utils.format_datetime(now)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = email.utils.make_msgid("kpitrack", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    encoding = "7bit" if text.isascii() else "quoted-printable"
    message.set_content(text, charset="utf-8", cte=encoding)
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message.as_string()


@contextmanager
def fixed_chance(seed: int) -> Iterator[None]:
    random.seed(seed)
    with mock.patch("time.time", return_value=1796555520.0):
        yield


def both(text: str, html: str, seed: int = 7) -> tuple[str, str]:
    args: dict[str, Any] = {"text": text, "html": html, "to": ["a@example.com"], "now": NOW}
    with fixed_chance(seed):
        old = reference_message(REPORT, sender="Bot <bot@example.org>", **args)
    with fixed_chance(seed):
        new = render_report_email(REPORT, sender="Bot <bot@example.org>", **args)
    return old, new


# Text that exercises every rule: non-ASCII, long lines, trailing spaces and tabs, lone
# CR and CRLF, "=" signs, dots at a line start, "From " lines, control characters.
PIECES = st.sampled_from(
    [" ", "\t", "=", ".", "\n", "\r", "\r\n", "From ", "é", "—", "€", "日本", "\x0b", "\x0c",
     "\x1c", "\x85", "\u2028", "\x00", "\x7f", "a", "<td>", "=3D", "--", " \n", "\t\n"]
)  # fmt: skip
LINES = st.lists(
    st.one_of(
        PIECES,
        st.text(max_size=90),
        st.text(alphabet="ab= \t", min_size=70, max_size=170),  # cuts near "=" and ends
        st.integers(min_value=60, max_value=240).map(lambda n: "x" * n),
    ),
    max_size=30,
).map("".join)


def email_package(string: str, cte: str | None) -> tuple[str, str]:
    part = EmailMessage(policy=email.policy.default)
    part.set_content(string, charset="utf-8", cte=cte)
    return str(part["Content-Transfer-Encoding"]), str(part.get_payload())


@settings(max_examples=400)
@given(LINES, st.sampled_from([None, "7bit", "quoted-printable"]))
@example("", "quoted-printable")
@example("", None)
@example("x" * 77 + " \n" + "x" * 78 + "\t\n" + "x" * 76 + " ", "quoted-printable")
@example("é" * 50, None)  # short lines, not ASCII: 8bit, left to email
@example("日本語のテキスト" * 30 + "\n", None)  # base64, left to email
def test_encoder_gives_the_email_packages_body(string: str, cte: str | None) -> None:
    if cte == "7bit" and not string.isascii():
        cte = "quoted-printable"  # email refuses 7bit for such text; so does the caller
    expected_cte, expected = email_package(string, cte)
    encoded = encode_text(string, cte)
    if encoded is None:
        assert expected_cte in {"base64", "8bit"}
        return
    got_cte, body = encoded
    payload = "".join(body)
    assert (got_cte, payload) == (expected_cte, expected)
    if got_cte == "quoted-printable":  # why the boundary need not be searched for
        assert "==" not in payload


@settings(max_examples=100)
@given(LINES, st.integers(min_value=1, max_value=9))
def test_quoted_printable_in_blocks_is_the_whole(string: str, block: int) -> None:
    with mock.patch.object(report_email, "_BLOCK", block):
        encoded = encode_text(string, "quoted-printable")
    assert encoded is not None
    assert "".join(encoded[1]) == email_package(string, "quoted-printable")[1]


@settings(max_examples=150)
@given(LINES, LINES, st.integers(min_value=0, max_value=2**32))
@example("plain text\n", "<p>x</p>\n", 1)
@example("From me\n.\n", "é" * 50, 2)  # an 8bit HTML part: email's own way
@example("x", "日本語のテキスト" * 30 + "\n", 3)  # base64
def test_message_is_byte_for_byte_the_email_packages(text: str, html: str, seed: int) -> None:
    old, new = both(text, html, seed)
    assert new == old


def test_a_boundary_that_is_a_line_of_a_7bit_part_gets_a_suffix() -> None:
    token = 42
    boundary = "=" * 15 + f"{token:019d}" + "=="
    text = f"--{boundary}\n--{boundary}.0--\nplain\n"
    html = f"<p>\n--{boundary}.1\n</p>\n"
    with mock.patch("random.randrange", return_value=token):
        old, new = both(text, html)
    assert new == old
    assert f'boundary="{boundary}.2"' in new.replace("\n ", " ")


def test_the_boundary_is_searched_for_only_when_it_occurs() -> None:
    with mock.patch("random.randrange", return_value=sys.maxsize - 1):
        old, new = both("a\n" * 20, "<p>" + "é" * 200 + "</p>\n")
    assert new == old


def test_the_cli_writes_the_mail_in_pieces(tmp_path: Any, monkeypatch: Any) -> None:
    """stdout and -o FILE carry the same message (only the Date header may differ)."""
    from pathlib import Path

    from support import invoke

    data = Path(__file__).parent / "data" / "report" / "kpis.yaml"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMAIL", "kpis@example.net")
    args = ("report", "-f", str(data), "--as-of", "2026-11-30", "--format", "email")
    fixed = mock.patch("random.getrandbits", return_value=5)
    with fixed_chance(3), fixed, mock.patch("random.randrange", return_value=42):
        shown = invoke(*args, "--mail-to", "a@example.com")
        written = invoke(*args, "--mail-to", "a@example.com", "-o", str(tmp_path / "m.eml"))
    assert shown.code == written.code == 0

    def undated(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("Date: ")]

    assert undated((tmp_path / "m.eml").read_text(encoding="utf-8")) == undated(shown.stdout)
