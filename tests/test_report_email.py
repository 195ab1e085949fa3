"""`kpitrack report --format email`: one RFC 5322 message for `sendmail -t`.

Same workspace as test_report_cli.py (tests/data/report/kpis.yaml as of 2026-11-30):
nps is off track, csat is at risk (summary: 1 off track, 1 at risk).
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from email.parser import Parser
from email.policy import default
from pathlib import Path

import pytest
from support import Ran, invoke

from kpitrack.domain.problems import UsageError
from kpitrack.reading.config import load_config
from kpitrack.render.report_email import AddressError, parse_addresses

DATA = Path(__file__).parent / "data" / "report" / "kpis.yaml"
AS_OF = ["--as-of", "2026-11-30"]
TEAM = "team@example.com"


@pytest.fixture(autouse=True)
def _in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no kpitrack.toml unless a test writes one
    monkeypatch.setenv("EMAIL", "kpis@example.net")  # no fallback warning unless asked


def run(*args: str) -> Ran:
    return invoke("report", "-f", str(DATA), *AS_OF, *args)


def parse(text: str) -> EmailMessage:
    message = Parser(policy=default).parsestr(text)
    assert isinstance(message, EmailMessage)
    assert message.defects == []
    return message


def mail(*args: str) -> EmailMessage:
    result = run("--format", "email", *args)
    assert result.code == 0, result.output
    assert result.stderr == ""
    return parse(result.stdout)


def test_a_complete_multipart_alternative_message() -> None:
    message = mail("--mail-to", TEAM, "--from", "KPI bot <kpis@example.org>")
    assert message.get_content_type() == "multipart/alternative"
    assert message["MIME-Version"] == "1.0"
    assert message["To"] == TEAM
    assert message["From"] == "KPI bot <kpis@example.org>"
    assert message["Subject"] == "KPI report — 2026-11-30: 1 off track, 1 at risk"
    assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@example.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)


def test_parts_are_the_plain_text_and_html_reports() -> None:
    message = mail("--mail-to", TEAM)
    plain, html = (p.get_content() for p in message.iter_parts())
    assert html == run("--format", "html").stdout
    assert "KPI report — 2026-11-30" in plain
    assert "Summary" in plain and "Needs action" in plain
    assert max(len(line) for line in plain.splitlines()) <= 78


def test_subject_counts_follow_the_filters() -> None:
    message = mail("--mail-to", TEAM, "--kpi", "signups,churn")
    assert message["Subject"] == "KPI report — 2026-11-30: 0 off track, 0 at risk"


def test_several_recipients_repeated_or_comma_separated() -> None:
    message = mail("--mail-to", "Ann <ann@example.com>, bob@example.com", "--mail-to", TEAM)
    names = email.utils.getaddresses([message["To"]])
    assert [a for _, a in names] == ["ann@example.com", "bob@example.com", TEAM]


def test_to_and_from_default_from_kpitrack_toml(tmp_path: Path) -> None:
    (tmp_path / "kpitrack.toml").write_text(
        'mail_to = ["a@example.com", "b@example.com"]\nmail_from = "kpis@example.org"\n'
    )
    message = mail()
    assert message["To"] == "a@example.com, b@example.com"
    assert message["From"] == "kpis@example.org"
    overridden = mail("--mail-to", TEAM, "--from", "me@example.net")
    assert overridden["To"] == TEAM and overridden["From"] == "me@example.net"


def test_mail_to_may_be_one_string(tmp_path: Path) -> None:
    (tmp_path / "kpitrack.toml").write_text(f'mail_to = "{TEAM}"\n')
    message = mail()
    assert message["To"] == TEAM
    assert message["From"] == "kpis@example.net"  # $EMAIL


def test_quiet_prints_no_mail_when_nothing_needs_action() -> None:
    result = run("--format", "email", "--mail-to", TEAM, "--quiet", "--kpi", "signups,churn")
    assert result.code == 0 and result.stdout == "" and result.stderr == ""
    loud = run("--format", "email", "--mail-to", TEAM, "--quiet")
    assert loud.code == 0 and parse(loud.stdout)["Subject"].endswith("1 at risk")


def test_output_file_holds_the_message(tmp_path: Path) -> None:
    target = tmp_path / "report.eml"
    result = run("--format", "email", "--mail-to", TEAM, "-o", str(target))
    assert result.code == 0 and result.stdout == ""
    assert parse(target.read_text(encoding="utf-8"))["To"] == TEAM


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "needs a recipient"),
        (["--mail-to", "team"], "--mail-to: 'team' is not a mail address"),
        (["--mail-to", "a@b.c\nBcc: x@evil.example"], "cannot contain a line break"),
        (["--mail-to", TEAM, "--from", "me"], "--from: 'me' is not a mail address"),
        (["--mail-to", TEAM, "--from", "a@b.c, d@e.f"], "--from: give exactly one sender"),
    ],
)
def test_bad_addresses_are_usage_errors(args: list[str], message: str) -> None:
    result = run("--format", "email", *args)
    assert result.code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_to_and_from_need_the_email_format() -> None:
    result = run("--format", "html", "--mail-to", TEAM)
    assert result.code == 2 and "--mail-to and --from go with --format email" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mail_to = 3\n", "'mail_to' must be a mail address or a list of them"),
        ('mail_to = [""]\n', "'mail_to' must be a mail address or a list of them"),
        ("mail_from = ['a@b.c']\n", "'mail_from' must be a mail address"),
    ],
)
def test_bad_mail_config_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "kpitrack.toml").write_text(text)
    with pytest.raises(UsageError, match=message):
        load_config(tmp_path)


def test_bad_address_in_kpitrack_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "kpitrack.toml").write_text('mail_to = "team"\n')
    result = run("--format", "email")
    assert result.code == 2
    assert "kpitrack.toml: mail_to: 'team' is not a mail address" in result.stderr


def test_parse_addresses() -> None:
    assert parse_addresses(["Ann <ann@example.com>"]) == ["Ann <ann@example.com>"]
    assert parse_addresses(["x@y.z,  u@v.w"]) == ["x@y.z", "u@v.w"]
    for bad in ["", "@y.z", "x@", "x y@z.w", "a@b.c\r\nSubject: hi"]:
        with pytest.raises(AddressError):
            parse_addresses([bad])


def test_sender_falls_back_to_user_at_host_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EMAIL")
    result = run("--format", "email", "--mail-to", TEAM)
    assert result.code == 0
    sender = parse(result.stdout)["From"]
    assert sender.startswith("kpitrack <") and "@" in sender
    assert f"warning: the mail is from {sender}" in result.stderr
    assert "--from, mail_from in kpitrack.toml or $EMAIL" in result.stderr


def test_email_env_comes_after_the_option_and_the_config(tmp_path: Path) -> None:
    assert mail("--mail-to", TEAM)["From"] == "kpis@example.net"
    assert mail("--mail-to", TEAM, "--from", "me@example.net")["From"] == "me@example.net"
    (tmp_path / "kpitrack.toml").write_text('mail_from = "toml@example.org"\n')
    assert mail("--mail-to", TEAM)["From"] == "toml@example.org"


def test_bad_email_env_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL", "not an address")
    result = run("--format", "email", "--mail-to", TEAM)
    assert result.code == 2 and "$EMAIL:" in result.stderr


def test_text_part_is_quoted_printable_or_7bit_wrapped_at_78() -> None:
    result = run("--format", "email", "--mail-to", TEAM)
    raw = result.stdout
    plain_headers = raw.split('Content-Type: text/plain; charset="utf-8"\n', 1)[1]
    assert plain_headers.startswith("Content-Transfer-Encoding: quoted-printable\n")
    assert "base64" not in raw.split("text/html")[0]
    assert all(len(line) <= 78 for line in raw.splitlines() if not line.startswith("Message-ID"))


def test_ascii_text_part_is_7bit() -> None:
    import datetime as dt
    from types import SimpleNamespace

    from kpitrack.render.report_email import render_report_email

    report = SimpleNamespace(
        summary=SimpleNamespace(count=lambda status: 0), as_of=dt.date(2026, 11, 30)
    )
    raw = render_report_email(
        report,
        text="plain text\n",
        html="<p>x</p>",
        to=[TEAM],
        sender=TEAM,
        now=dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC),
    )
    plain = raw.split('Content-Type: text/plain; charset="utf-8"\n', 1)[1]
    assert plain.startswith("Content-Transfer-Encoding: 7bit\n\nplain text\n")
