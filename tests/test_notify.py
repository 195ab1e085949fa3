"""`kpitrack notify`: the change set, each kind's payload (golden files), the targets of
the local config, and delivery against a real HTTP server started here.

The workspace, as of Monday 2026-11-30 with the default window (after 2026-11-23):

| KPI     | as of 2026-11-23 | as of 2026-11-30 | change                              |
|---------|------------------|------------------|-------------------------------------|
| signups | off-track (50)   | on-track (120)   | improvement                         |
| csat    | on-track (95)    | off-track (70)   | regression                          |
| nps     | no-data          | off-track (30)   | first report                        |
| leads   | on-track         | on-track         | newly overdue (week 47 missed)      |
| deploys | at-risk          | at-risk          | new reason: action-overdue (26 Nov) |
| uptime  | on-track         | on-track         | none                                |
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support import invoke

from kpitrack.domain.model import Config, Reason
from kpitrack.domain.problems import UsageError
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.notify.payloads import (
    ChangeSet,
    TargetKind,
    build_change_set,
    change_set_of,
    escape_markdown,
    payload,
)
from kpitrack.notify.send import (
    Outcome,
    SendError,
    Target,
    deliver,
    mask_url,
    parse_targets,
    post_json,
    retry_after,
    url_problem,
)
from kpitrack.reading.loading import load_valid_workspace
from kpitrack.reports.digest import build_report

AS_OF = dt.date(2026, 11, 30)
SINCE = dt.date(2026, 11, 23)
GOLDEN = Path(__file__).parent / "golden" / "notify"
SECRET = "T0KEN-s3cret-XYZ"

KPIS_FILE = Path(__file__).parent / "data" / "notify" / "kpis.yaml"
KPIS = KPIS_FILE.read_text(encoding="utf-8")


def change_set(site_url: str | None = "https://kpis.example.com") -> ChangeSet:
    config = Config(site_url=site_url)
    workspace = load_valid_workspace([KPIS_FILE], config=config, as_of=AS_OF)
    results = evaluate(workspace, as_of=AS_OF, config=config)
    cs, _report = change_set_of(workspace, results, as_of=AS_OF, since=SINCE, config=config)
    return cs


# ---------------------------------------------------------------- the change set


def test_the_change_set_holds_status_changes_overdue_and_new_reasons() -> None:
    cs = change_set()
    by_id = {c.result.kpi.id: c for c in cs.changes}
    assert list(by_id) == ["signups", "csat", "nps", "leads", "deploys"]
    assert [(t, [c.result.kpi.id for c in m]) for t, m in cs.sections()] == [
        ("Regressions", ["csat"]),
        ("Improvements", ["signups"]),
        ("First reports", ["nps"]),
        ("Newly overdue or needing action", ["leads", "deploys"]),
    ]
    assert by_id["leads"].newly_overdue and by_id["leads"].status_change is None
    assert by_id["deploys"].new_reasons == (Reason.ACTION_OVERDUE,)
    assert not by_id["signups"].newly_overdue and by_id["signups"].new_reasons == ()
    assert by_id["csat"].link == "https://kpis.example.com/kpi/csat.html"
    assert len(cs.results) == 6


def test_the_change_set_uses_the_reports_window_and_changes() -> None:
    """The same status changes as `kpitrack report` over the same window."""
    workspace = load_valid_workspace([KPIS_FILE], config=Config(), as_of=AS_OF)
    previous = evaluate(workspace, as_of=SINCE, config=Config())
    report = build_report(workspace, as_of=AS_OF, since=SINCE, config=Config())
    cs = build_change_set(report, previous)
    assert [c.status_change for c in cs.changes if c.status_change] == list(report.changes)
    assert all(c.link is None for c in cs.changes)


def test_a_reason_that_is_new_is_reported_whatever_it_is(tmp_path: Path) -> None:
    """Reasons are handled generically: here review-due, gained on 2026-11-26, comes
    through on a KPI whose status did not change; reasons that repeat a status or
    `overdue` are never listed as new."""
    kpis = tmp_path / "kpis.yaml"
    kpis.write_text(
        KPIS.replace(
            'unit: "%", owner: platform, objective: ops}',
            'unit: "%", owner: platform, objective: ops,\n'
            "     review: monthly, last_reviewed: 2026-10-25}",
        ),
        encoding="utf-8",
    )
    workspace = load_valid_workspace([kpis], config=Config(), as_of=AS_OF)
    results = evaluate(workspace, as_of=AS_OF, config=Config())
    cs, _ = change_set_of(workspace, results, as_of=AS_OF, since=SINCE, config=Config())
    uptime = next(c for c in cs.changes if c.result.kpi.id == "uptime")
    assert uptime.new_reasons == (Reason.REVIEW_DUE,) and uptime.status_change is None
    assert "new: review-due" in payload(TargetKind.MATTERMOST, cs)["text"]
    said_elsewhere = {Reason.OFF_TRACK, Reason.AT_RISK, Reason.NO_DATA, Reason.OVERDUE}
    assert not said_elsewhere.intersection(r for c in cs.changes for r in c.new_reasons)
    csat = next(c for c in cs.changes if c.result.kpi.id == "csat")
    assert Reason.OFF_TRACK in csat.result.reasons and csat.new_reasons == ()


def test_target_filters_narrow_the_change_set() -> None:
    cs = change_set()
    assert [c.result.kpi.id for c in cs.for_target(owners=["GROWTH"]).changes] == [
        "signups",
        "leads",
    ]
    assert [c.result.kpi.id for c in cs.for_target(objectives=["ops"]).changes] == ["deploys"]
    assert [c.result.kpi.id for c in cs.for_target(tags=["Web"], owners=["growth"]).changes] == [
        "signups",
        "leads",
    ]
    assert cs.for_target(owners=["nobody"]).changes == ()
    assert len(cs.for_target(objectives=["ops"]).results) == 2


# ---------------------------------------------------------------- payloads (golden)


@pytest.mark.parametrize("kind", list(TargetKind))
def test_payload_golden(kind: TargetKind) -> None:
    text = json.dumps(payload(kind, change_set()), ensure_ascii=False, indent=2) + "\n"
    golden = GOLDEN / f"{kind}.json"
    if os.environ.get("KPITRACK_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_teams_payload_is_a_message_with_an_adaptive_card() -> None:
    body = payload(TargetKind.TEAMS, change_set())
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"


def test_slack_payload_escapes_and_links() -> None:
    body = payload(TargetKind.SLACK, change_set())
    text = json.dumps(body)
    assert "<https://kpis.example.com/kpi/csat.html|Customer &lt;satisfaction&gt;" in text
    assert "<satisfaction>" not in text
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if b["type"] == "section")


def test_markdown_escaping() -> None:
    assert escape_markdown("a_b *c* [d](e) <f>") == "a\\_b \\*c\\* \\[d\\](e) \\<f\\>"
    assert escape_markdown("bell\x07") == "bell\\\\x07"


def test_a_long_change_set_is_cut_in_chat_but_not_in_the_webhook() -> None:
    import dataclasses

    cs = change_set()
    many = dataclasses.replace(cs, changes=cs.changes * 20)  # 100 changes
    slack = payload(TargetKind.SLACK, many)
    assert "… and 60 more" in json.dumps(slack, ensure_ascii=False)
    assert len(slack["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in slack["blocks"] if b["type"] == "section")
    assert len(payload(TargetKind.WEBHOOK, many)["changes"]) == 100


def test_webhook_payload_is_the_documented_object() -> None:
    body = payload(TargetKind.WEBHOOK, change_set())
    assert body["version"] == 1
    assert (body["as_of"], body["since"]) == ("2026-11-30", "2026-11-23")
    assert set(body) == {"version", "as_of", "since", "title", "summary", "changes"}
    leads = next(c for c in body["changes"] if c["id"] == "leads")
    assert leads["newly_overdue"] is True and leads["change"] is None
    assert leads["overdue"] == {"missed_periods": 1, "due_since": "2026-11-25", "days": 5}
    csat = next(c for c in body["changes"] if c["id"] == "csat")
    assert (csat["before"], csat["status"], csat["change"]) == (
        "on-track",
        "off-track",
        "regressed",
    )
    assert csat["latest"] == {"date": "2026-11-26", "value": 70}


# ---------------------------------------------------------------- targets


def test_targets_from_tables() -> None:
    (t,) = parse_targets(
        [{"name": "sales", "kind": "slack", "url": "${HOOK}", "owner": "growth", "tag": ["a"]}],
        {"HOOK": f"https://hooks.example.com/services/{SECRET}"},
        where="local.toml",
    )
    assert (t.name, t.kind, t.owners, t.tags) == ("sales", TargetKind.SLACK, ("growth",), ("a",))
    assert SECRET not in repr(t)
    assert t.masked_url == "https://hooks.example.com/…"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "slack", "url": "https://x.example/a"}, "table 1 needs a name"),
        ({"name": "a", "kind": "irc", "url": "https://x.example/a"}, "kind must be one of"),
        ({"name": "a", "kind": "slack"}, "needs url"),
        ({"name": "a", "kind": "slack", "url": "${NOPE}"}, "NOPE is not set"),
        ({"name": "a", "kind": "slack", "url": f"http://example.com/{SECRET}"}, "https://"),
        ({"name": "a", "kind": "slack", "url": f"ftp://example.com/{SECRET}"}, "https://"),
        ({"name": "a", "kind": "slack", "url": f"https://x/{SECRET} y"}, "spaces"),
        ({"name": "a", "kind": "slack", "url": "https://x.example/a", "chanel": "x"}, "chanel"),
        ({"name": "a", "kind": "slack", "url": "https://x.example/a", "owner": 3}, "owner must"),
    ],
)
def test_bad_targets_are_refused_without_their_url(table: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_targets([table], {}, where="local.toml")
    assert SECRET not in str(caught.value)


def test_two_targets_with_one_name_are_refused() -> None:
    one = {"name": "a", "kind": "slack", "url": "https://x.example/a"}
    with pytest.raises(UsageError, match="two targets have this name"):
        parse_targets([one, one], {}, where="local.toml")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.slack.com/services/x", True),
        ("http://127.0.0.1:8080/hook", True),
        ("http://localhost/hook", True),
        ("http://[::1]:9/hook", True),
        ("http://10.0.0.1/hook", False),
        ("http://hooks.slack.com/services/x", False),
        ("https:///nohost", False),
        ("https://x.example:99999/a", False),
    ],
)
def test_allowed_urls(url: str, ok: bool) -> None:
    assert (url_problem(url) is None) is ok


def test_mask_url_drops_credentials_path_and_query() -> None:
    assert mask_url(f"https://user:{SECRET}@h.example:8443/p/{SECRET}?k={SECRET}") == (
        "https://h.example:8443/…"
    )


def test_retry_after() -> None:
    assert retry_after("1") == 1.0
    assert retry_after("3600") == 60.0
    assert retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None
    assert retry_after(None) is None


# ---------------------------------------------------------------- a real HTTP server


@dataclass
class Hook:
    """A local webhook server: answers each POST with the next scripted answer for its
    path (`(status, headers, body)` or "close"), else 200; records every request."""

    port: int = 0
    script: dict[str, list[tuple[int, dict[str, str], str] | str]] = field(default_factory=dict)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def url(self, path: str = f"/hooks/{SECRET}") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self) -> list[object]:
        return [json.loads(body) for _path, _headers, body in self.received]


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Hook]:
    """A Hook server in a thread for the `with` block (HTTPS with `tls`)."""
    state = Hook()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                state.received.append((self.path, dict(self.headers), body))
                queue = state.script.get(self.path.split("?")[0], [])
                answer = queue.pop(0) if queue else (200, {}, "ok")
            if answer == "close":
                self.close_connection = True
                return
            assert not isinstance(answer, str)
            status, headers, text = answer
            data = text.replace("{path}", self.path).encode("utf-8")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a refused TLS handshake is expected in the TLS test

    server = Server(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    with serving() as state:
        yield state


def target(url: str, kind: TargetKind = TargetKind.WEBHOOK, name: str = "team") -> Target:
    return Target(name=name, kind=kind, url=url)


class Sleeps(list[float]):
    """The waits delivery asked for (recorded, not slept: no wall-clock in tests)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_success_posts_json(hook: Hook) -> None:
    assert post_json(target(hook.url()), b'{"a": 1}') == 1
    ((path, headers, body),) = hook.received
    assert path == f"/hooks/{SECRET}" and body == b'{"a": 1}'
    assert headers["Content-Type"] == "application/json; charset=utf-8"


def test_429_honours_retry_after(hook: Hook) -> None:
    hook.script[f"/hooks/{SECRET}"] = [(429, {"Retry-After": "1"}, "slow down")]
    sleeps = Sleeps()
    assert post_json(target(hook.url()), b"{}", sleep=sleeps) == 2
    assert sleeps == [1.0] and len(hook.received) == 2


def test_429_really_waits(hook: Hook) -> None:
    """Once with the real sleep: the retry happens after Retry-After."""
    hook.script[f"/hooks/{SECRET}"] = [(429, {"Retry-After": "1"}, "")]
    assert post_json(target(hook.url()), b"{}") == 2


def test_500_then_200_is_retried_with_backoff(hook: Hook) -> None:
    hook.script[f"/hooks/{SECRET}"] = [(500, {}, "oops"), (503, {}, "busy")]
    sleeps = Sleeps()
    assert post_json(target(hook.url()), b"{}", sleep=sleeps) == 3
    assert sleeps == [1.0, 2.0]


def test_5xx_gives_up_after_three_tries(hook: Hook) -> None:
    hook.script[f"/hooks/{SECRET}"] = [(500, {}, "oops")] * 5
    with pytest.raises(SendError, match=r"'team': HTTP 500 Internal Server Error: oops \(after 3"):
        post_json(target(hook.url()), b"{}", sleep=Sleeps())
    assert len(hook.received) == 3


def test_404_is_not_retried_and_the_url_is_not_shown(hook: Hook) -> None:
    hook.script[f"/hooks/{SECRET}"] = [(404, {}, "no_service for {path}")]
    sleeps = Sleeps()
    with pytest.raises(SendError) as caught:
        post_json(target(hook.url()), b"{}", sleep=sleeps)
    assert str(caught.value).startswith("notify target 'team': HTTP 404 Not Found: no_service")
    assert SECRET not in str(caught.value)
    assert sleeps == [] and len(hook.received) == 1


def test_a_token_echoed_alone_is_not_shown(hook: Hook) -> None:
    hook.script["/hooks/x"] = [(403, {}, f"invalid token {SECRET} for team")]
    with pytest.raises(SendError) as caught:
        post_json(target(hook.url("/hooks/x") + f"?token={SECRET}"), b"{}")
    assert str(caught.value) == "notify target 'team': HTTP 403 Forbidden: invalid token … for team"


@pytest.mark.parametrize(
    ("retry", "waits"),
    [("1", [1.0, 1.0]), ("3600", [60.0, 60.0]), ("Wed, 21 Oct 2026 07:28:00 GMT", [1.0, 2.0])],
)
def test_429_waits_capped_or_backs_off(hook: Hook, retry: str, waits: list[float]) -> None:
    hook.script[f"/hooks/{SECRET}"] = [(429, {"Retry-After": retry}, "")] * 3
    sleeps = Sleeps()
    with pytest.raises(SendError, match=r"HTTP 429 Too Many Requests \(after 3 tries\)"):
        post_json(target(hook.url()), b"{}", sleep=sleeps)
    assert sleeps == waits and len(hook.received) == 3


def test_a_redirect_is_not_followed(hook: Hook) -> None:
    hook.script[f"/hooks/{SECRET}"] = [(302, {"Location": hook.url("/elsewhere")}, "")]
    with pytest.raises(SendError, match="HTTP 302"):
        post_json(target(hook.url()), b"{}", sleep=Sleeps())
    assert len(hook.received) == 1


def test_a_closed_connection_is_retried(hook: Hook) -> None:
    hook.script[f"/hooks/{SECRET}"] = ["close"]
    sleeps = Sleeps()
    assert post_json(target(hook.url()), b"{}", sleep=sleeps) == 2
    assert sleeps == [1.0]


def test_a_connection_closed_every_time_fails(hook: Hook) -> None:
    hook.script[f"/hooks/{SECRET}"] = ["close"] * 3
    with pytest.raises(SendError, match=r"closed without an answer \(after 3 tries\)"):
        post_json(target(hook.url()), b"{}", sleep=Sleeps())


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections (the backlog) and never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hooks/{SECRET}"
        sleeps = Sleeps()
        with pytest.raises(SendError, match=r"'team': no answer within 0.2 s") as caught:
            post_json(target(url), b"{}", timeout=0.2, sleep=sleeps)
    assert SECRET not in str(caught.value) and sleeps == []


def test_nothing_listening_is_retried_then_fails() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(SendError, match=r"cannot connect.*after 3 tries") as caught:
        post_json(target(f"http://127.0.0.1:{port}/hooks/{SECRET}"), b"{}", sleep=Sleeps())
    assert SECRET not in str(caught.value)


def test_proxies_come_from_the_environment(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    with serving() as proxy:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        assert post_json(target(hook.url()), b"{}") == 1
    assert hook.received == []
    ((path, _headers, _body),) = proxy.received
    assert path == hook.url()  # a proxy is asked for the absolute URL


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a certificate: {exc}")
    return cert, key


def test_tls_is_verified(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with serving(tls) as server:
        url = f"https://127.0.0.1:{server.port}/hooks/{SECRET}"
        with pytest.raises(SendError, match=r"'team': TLS: .*certificate") as caught:
            post_json(target(url), b"{}", sleep=Sleeps())
        assert SECRET not in str(caught.value) and server.received == []
        # The same server, once its certificate is trusted: delivered.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert post_json(target(url), b"{}") == 1
    assert len(server.received) == 1


def test_google_chat_text_stays_under_its_limit() -> None:
    import dataclasses

    cs = change_set()
    many = dataclasses.replace(cs, changes=cs.changes * 8)  # 40 lines
    text = payload(TargetKind.GOOGLECHAT, many)["text"]
    assert len(text) <= 4000 and "more (kpitrack report lists them all)" in text
    assert text.endswith("4 need action.")
    assert len(payload(TargetKind.MATTERMOST, many)["text"]) > 4000


def test_a_failing_target_does_not_stop_the_others(hook: Hook) -> None:
    hook.script["/bad"] = [(404, {}, "gone")]
    targets = [target(hook.url("/bad"), name="bad"), target(hook.url("/good"), name="good")]
    out = deliver(targets, change_set(), sleep=Sleeps())
    assert [d.outcome for d in out] == [Outcome.FAILED, Outcome.SENT]
    assert [path for path, _h, _b in hook.received] == ["/bad", "/good"]


def test_nothing_is_posted_when_nothing_changed_unless_always(hook: Hook) -> None:
    quiet = Target(name="q", kind=TargetKind.SLACK, url=hook.url("/q"), owners=("nobody",))
    assert [d.outcome for d in deliver([quiet], change_set())] == [Outcome.NOTHING]
    assert hook.received == []
    assert [d.outcome for d in deliver([quiet], change_set(), always=True)] == [Outcome.SENT]
    (body,) = hook.bodies()
    assert isinstance(body, dict) and "no KPI changed" in body["text"]


# ---------------------------------------------------------------- the command


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpis.yaml").write_text(KPIS, encoding="utf-8")
    (tmp_path / "kpitrack.toml").write_text(
        'site_url = "https://kpis.example.com/"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def local_targets(folder: Path, *tables: str) -> None:
    (folder / "kpitrack.local.toml").write_text("\n".join(tables), encoding="utf-8")


def table(name: str, kind: str, url: str = "${HOOK_URL}", extra: str = "") -> str:
    return f'[[notify]]\nname = "{name}"\nkind = "{kind}"\nurl = "{url}"\n{extra}\n'


def run(*args: str, url: str = "") -> tuple[int, str, str]:
    ran = invoke("notify", "--as-of", "2026-11-30", *args, env={"HOOK_URL": url})
    return ran.code, ran.stdout, ran.stderr


def test_notify_sends_to_each_target(workspace: Path, hook: Hook) -> None:
    local_targets(
        workspace,
        table("growth", "slack", extra='owner = "growth"'),
        table("platform", "mattermost", extra='objective = "ops"'),
    )
    code, out, err = run(url=hook.url())
    assert code == 0, err
    assert out.splitlines() == [
        f"notify: sent 2 changed KPIs to 'growth' (slack, http://127.0.0.1:{hook.port}/…)",
        f"notify: sent 1 changed KPI to 'platform' (mattermost, http://127.0.0.1:{hook.port}/…)",
    ]
    slack, mattermost = hook.bodies()
    assert isinstance(slack, dict) and isinstance(mattermost, dict)
    assert "Weekly sign-ups" in json.dumps(slack) and "Deploys" not in json.dumps(slack)
    assert "https://kpis.example.com/kpi/signups.html" in json.dumps(slack)
    assert "Deploys per week" in mattermost["text"] and "action-overdue" in mattermost["text"]


def test_notify_nothing_changed_posts_nothing(workspace: Path, hook: Hook) -> None:
    local_targets(workspace, table("t", "slack"))
    code, out, err = run("--since", "2026-11-30", url=hook.url())
    assert (code, err) == (0, "")
    assert "nothing to send to 't'" in out and hook.received == []
    code, out, _err = run("--since", "2026-11-30", "--always", "-q", url=hook.url())
    assert (code, out) == (0, "") and len(hook.received) == 1


def test_notify_dry_run_prints_payloads_and_sends_nothing(workspace: Path, hook: Hook) -> None:
    local_targets(
        workspace,
        table("t", "teams"),
        table("none", "slack", extra='owner = "nobody"'),
        table("w", "webhook"),
    )
    code, out, err = run("--dry-run", url=hook.url())
    assert code == 0, err
    assert hook.received == []
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(out)
    second, _ = decoder.raw_decode(out[end:].lstrip())
    assert first["type"] == "message" and second["version"] == 1
    assert f"would send 5 changed KPIs to 't' (teams, http://127.0.0.1:{hook.port}/…)" in err
    assert "nothing to send to 'none'" in err  # stdout holds only the payloads
    assert SECRET not in out + err


def test_notify_failing_target_exits_1_after_trying_the_others(workspace: Path, hook: Hook) -> None:
    hook.script[f"/hooks/{SECRET}"] = [(404, {}, "no_service {path}")]
    local_targets(
        workspace,
        table("first", "slack"),
        table("second", "googlechat", url=hook.url("/second")),
    )
    code, out, err = run(url=hook.url())
    assert code == 1
    assert "kpitrack: error: notify target 'first': HTTP 404 Not Found: no_service" in err
    assert "sent 5 changed KPIs to 'second'" in out
    assert SECRET not in out + err


def test_notify_fail_on(workspace: Path, hook: Hook) -> None:
    local_targets(workspace, table("t", "webhook"))
    code, _out, err = run("--fail-on", "action-overdue", url=hook.url())
    assert code == 1 and "--fail-on matched 1 KPI(s): deploys" in err
    assert len(hook.received) == 1


@pytest.mark.parametrize(
    ("local", "message"),
    [
        ("", "no notify targets"),
        (table("t", "slack", url="${UNSET_VARIABLE}"), "'t': url: environment variable"),
        (table("t", "slack", url=f"http://hooks.example.com/{SECRET}"), "'t': url must start"),
        ('[[notify]]\nname = "t"\nkind = "sms"\nurl = "https://x.example"\n', "kind must be"),
    ],
)
def test_notify_configuration_errors_exit_2(workspace: Path, local: str, message: str) -> None:
    local_targets(workspace, local)
    code, out, err = run(url=f"https://hooks.example.com/{SECRET}")
    assert code == 2 and message in err and out == ""
    assert SECRET not in err and "Traceback" not in err


def test_notify_in_kpitrack_toml_is_refused(workspace: Path, hook: Hook) -> None:
    (workspace / "kpitrack.toml").write_text(
        table("evil", "webhook", url=hook.url()), encoding="utf-8"
    )
    local_targets(workspace, table("t", "webhook", url=hook.url("/mine")))
    code, _out, err = run()
    assert code == 2 and "'notify' is not read from kpitrack.toml" in err
    assert hook.received == []


@pytest.mark.parametrize(
    "addition",
    [
        # a top-level key of its own
        "notify:\n  - {name: t, kind: webhook, url: '{url}'}\n",
        # inside a KPI
        "  - {id: x, name: X, measure: a b c, target: 1, frequency: weekly, "
        "notify: {name: t, url: '{url}'}}\n",
    ],
)
def test_a_kpi_file_cannot_add_or_change_a_target(
    workspace: Path, hook: Hook, addition: str
) -> None:
    text = KPIS.replace(
        "measurements:\n", addition.replace("{url}", hook.url("/evil")) + "measurements:\n"
    )
    if addition.startswith("notify"):
        text = KPIS + addition.replace("{url}", hook.url("/evil"))
    (workspace / "kpis.yaml").write_text(text, encoding="utf-8")
    local_targets(workspace, table("t", "webhook", url=hook.url("/mine")))
    code, _out, err = run()
    assert code == 2 and "notify" in err
    assert hook.received == []


def test_site_url_must_be_a_web_address(workspace: Path) -> None:
    (workspace / "kpitrack.toml").write_text('site_url = "javascript:alert(1)"\n', encoding="utf-8")
    local_targets(workspace, table("t", "webhook", url="https://x.example/h"))
    code, _out, err = run()
    assert code == 2 and "'site_url' must be an http:// or https:// address" in err


def test_the_url_never_appears_in_any_output(workspace: Path, hook: Hook) -> None:
    """Success, dry run, nothing to send, a refusal that echoes the path, a closed
    connection: the token appears nowhere."""
    url = hook.url() + f"?token={SECRET}"
    local_targets(workspace, table("t", "slack"))
    outputs = [run(url=url), run("--dry-run", url=url), run("--since", "2026-11-30", url=url)]
    hook.script[f"/hooks/{SECRET}"] = [(400, {}, "bad request for {path}")]
    outputs.append(run(url=url))
    assert outputs[-1][0] == 1
    for _code, out, err in outputs:
        assert SECRET not in out and SECRET not in err
        assert "/hooks/" not in out + err


@pytest.mark.process
def test_the_installed_command_posts(workspace: Path, hook: Hook) -> None:
    from support import run_process

    local_targets(workspace, table("t", "googlechat"))
    ran = run_process(
        "notify", "--as-of", "2026-11-30", cwd=workspace, extra_env={"HOOK_URL": hook.url()}
    )
    assert ran.code == 0, ran.stderr
    assert ran.stdout.startswith("notify: sent 5 changed KPIs to 't' (googlechat, http://")
    (body,) = hook.bodies()
    assert isinstance(body, dict) and body["text"].startswith("kpitrack: 5 KPIs changed")
    assert SECRET not in ran.stdout + ran.stderr
