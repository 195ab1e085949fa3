"""Notification targets and delivery: `[[notify]]` tables → `Target`s, and one HTTP POST
per target with the standard library (docs/notify.md, "Delivery").

A target's URL is a secret (a Slack or Teams webhook URL is its own password): it is
never put in a message. Errors name the target by its `name`; anything an exception or a
server says passes through `_scrub`, which removes the URL and its parts, before it is
shown. Targets come only from the local configuration (`reading.localconfig`), never from
kpitrack.toml or KPI files.

Delivery rules: a 10 s timeout per request; `429` waits `Retry-After` seconds (at most
60), `5xx` and a connection that fails or closes before an answer are retried with
backoff (1 s, then 2 s), at most 3 tries in all; `4xx` and `3xx` (redirects are not
followed) are never retried, nor is a request that timed out (the server may have
taken it: a second post could repeat the message). TLS is verified with the default
context; proxies come from the environment (urllib's default handlers). Only
`https://` URLs, plus `http://` to this machine (localhost, 127.0.0.0/8, ::1).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from kpitrack.domain.problems import ExitCode, KpitrackError, UsageError
from kpitrack.domain.textsafe import visible
from kpitrack.notify.payloads import ChangeSet, TargetKind, payload
from kpitrack.reading.localconfig import MissingVariable, expand_env

DEFAULT_TIMEOUT = 10.0
MAX_TRIES = 3
MAX_RETRY_AFTER = 60.0
BACKOFF = 1.0  # seconds before the second try, doubled before the third
USER_AGENT = "kpitrack-notify"
TARGET_KEYS = {
    "name": "the target's name, used in messages (never the URL)",
    "kind": ", ".join(k.value for k in TargetKind),
    "url": 'the webhook URL, a secret: url = "${SLACK_WEBHOOK_URL}"',
    "owner": "only KPIs with this owner (a name or a list)",
    "objective": "only KPIs of this objective id (an id or a list)",
    "tag": "only KPIs with this tag (a tag or a list)",
}


class SendError(KpitrackError):
    """A target refused the message or could not be reached (exit 1 after the others)."""

    exit_code = ExitCode.PROBLEMS


@dataclass(frozen=True)
class Target:
    name: str
    kind: TargetKind
    url: str = field(repr=False)  # a secret: never shown
    owners: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


# ---------------------------------------------------------------- targets


def mask_url(url: str) -> str:
    """`https://hooks.slack.com/…`: the scheme and host only (no credentials, path or query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "…"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}/…"


def _loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a target's URL (the text never holds the URL), or None."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "url holds spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        return "url is not a valid URL"
    if not host:
        return "url has no host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _loopback(host):
        return None
    return "url must start with https:// (http:// only to this machine: localhost, 127.0.0.1, ::1)"


def _names(value: object) -> tuple[str, ...] | None:
    """A filter: one non-empty string or a list of them; None when it is neither."""
    if isinstance(value, str) and value.strip():
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(value)
    return None


def parse_targets(
    tables: Sequence[Mapping[str, object]], environ: Mapping[str, str], *, where: str
) -> tuple[Target, ...]:
    """The `[[notify]]` tables of the local config as targets, `${NAME}` in `url` expanded.

    UsageError (exit 2) for a table without a name, a duplicate name, an unknown key or
    kind, a URL that is missing, unset or not allowed; the message names the target,
    never its URL."""
    targets: list[Target] = []
    for number, table in enumerate(tables, 1):
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f'{where}: [[notify]] table {number} needs a name = "..."')
        label = f"{where}: [[notify]] '{name}'"
        if any(t.name == name for t in targets):
            raise UsageError(f"{label}: two targets have this name")
        unknown = sorted(set(table) - set(TARGET_KEYS))
        if unknown:
            from kpitrack.domain.suggest import did_you_mean

            raise UsageError(
                f"{label}: unknown key '{unknown[0]}'{did_you_mean(unknown[0], TARGET_KEYS)} "
                f"(known keys: {', '.join(TARGET_KEYS)})"
            )
        try:
            kind = TargetKind(str(table.get("kind")))
        except ValueError:
            raise UsageError(f"{label}: kind must be one of {TARGET_KEYS['kind']}") from None
        url = table.get("url")
        if not isinstance(url, str) or not url.strip():
            raise UsageError(f'{label}: needs url = "${{ENV_VAR}}" (the webhook URL)')
        try:
            url = expand_env(url, environ).strip()
        except MissingVariable as exc:
            raise UsageError(f"{label}: url: {exc}") from None
        problem = url_problem(url)
        if problem:
            raise UsageError(f"{label}: {problem}")
        filters: dict[str, tuple[str, ...]] = {}
        for key in ("owner", "objective", "tag"):
            if key in table:
                values = _names(table[key])
                if values is None:
                    raise UsageError(f"{label}: {key} must be a name or a list of names")
                filters[key] = values
        targets.append(
            Target(
                name=name,
                kind=kind,
                url=url,
                owners=filters.get("owner", ()),
                objectives=filters.get("objective", ()),
                tags=filters.get("tag", ()),
            )
        )
    return tuple(targets)


# ---------------------------------------------------------------- one POST


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following it would resend the message (and the path's
    secret) elsewhere, or turn the POST into a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    # build_opener keeps urllib's default handlers, ProxyHandler (http_proxy, https_proxy,
    # no_proxy from the environment) among them; TLS is verified with the default context.
    return urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ssl.create_default_context()), _NoRedirect()
    )


def _scrub(text: str, url: str) -> str:
    """`text` on one line, without the URL or any part of it that may be secret: the whole
    URL, its path and query, credentials, and every path segment and query value of six
    characters or more (as written and percent-decoded)."""
    from urllib.parse import parse_qsl, unquote

    parts = urlsplit(url)
    secrets = {url, url.rstrip("/"), parts.path, parts.query, parts.username, parts.password}
    secrets.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    pieces = [*parts.path.split("/"), *(v for _k, v in parse_qsl(parts.query))]
    secrets.update(p for p in pieces if len(p) >= 6)
    secrets.update(unquote(s) for s in list(secrets) if s)
    for secret in sorted((s for s in secrets if s and s != "/"), key=len, reverse=True):
        text = text.replace(secret, "…")
    return visible(" ".join(text.split()), line=True)


def retry_after(value: str | None) -> float | None:
    """A `Retry-After` header in seconds (at most MAX_RETRY_AFTER); None when absent or an
    HTTP date (reading one would need the clock; backoff is used instead)."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(int(value.strip())), MAX_RETRY_AFTER)


def _answer_text(exc: urllib.error.HTTPError, url: str) -> str:
    """`HTTP 404 Not Found: no_service` (the start of the body, scrubbed)."""
    try:
        phrase = http.HTTPStatus(exc.code).phrase
    except ValueError:
        phrase = ""
    try:
        body = exc.read(300).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        body = ""
    body = _scrub(body, url)[:200]
    return f"HTTP {exc.code} {phrase}".rstrip() + (f": {body}" if body else "")


def post_json(
    target: Target,
    body: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = BACKOFF,
    max_tries: int = MAX_TRIES,
) -> int:
    """POST `body` to the target; the number of tries it took. SendError naming the target
    (never the URL) when it is refused or cannot be delivered (module docstring's rules)."""
    opener = _opener()
    last = ""
    for attempt in range(1, max_tries + 1):
        request = urllib.request.Request(
            target.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
        )
        wait = backoff * 2 ** (attempt - 1)
        try:
            with opener.open(request, timeout=timeout) as response:
                response.read(64 * 1024)
            return attempt
        except urllib.error.HTTPError as exc:
            last = _answer_text(exc, target.url)
            if exc.code == 429:
                wait = retry_after(exc.headers.get("Retry-After")) or wait
            elif exc.code < 500:
                raise SendError(f"notify target '{target.name}': {last}") from None
        except TimeoutError:
            raise SendError(
                f"notify target '{target.name}': no answer within {timeout:g} s (not retried: "
                "the server may have taken the message)"
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                last = f"no connection within {timeout:g} s"
            elif isinstance(reason, ssl.SSLError):
                said = getattr(reason, "verify_message", None) or getattr(reason, "reason", None)
                text = _scrub(str(said or reason), target.url)
                raise SendError(f"notify target '{target.name}': TLS: {text}") from None
            else:
                last = "cannot connect: " + _scrub(
                    str(getattr(reason, "strerror", None) or reason), target.url
                )
        except (http.client.HTTPException, ConnectionError):
            last = "the connection closed without an answer"
        except OSError as exc:
            last = "network error: " + _scrub(str(exc.strerror or exc), target.url)
        if attempt < max_tries:
            sleep(wait)
    raise SendError(f"notify target '{target.name}': {last} (after {max_tries} tries)")


# ---------------------------------------------------------------- every target


class Outcome(StrEnum):
    SENT = "sent"
    NOTHING = "nothing to send"
    DRY_RUN = "dry run"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    """What happened for one target."""

    target: Target
    outcome: Outcome
    changes: int  # KPIs that changed among the target's
    tries: int = 0
    error: str | None = None  # FAILED: the message, naming the target, never the URL
    body: str | None = None  # the JSON sent (DRY_RUN: that would be sent, indented)


def deliver(
    targets: Sequence[Target],
    change_set: ChangeSet,
    *,
    always: bool = False,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = BACKOFF,
) -> list[Delivery]:
    """Post each target its share of `change_set` (its filters applied), in order; a
    target that fails does not stop the others. Nothing is posted to a target none of
    whose KPIs changed, unless `always`. `dry_run` builds every body and posts none."""
    out = []
    for target in targets:
        mine = change_set.for_target(
            owners=target.owners, objectives=target.objectives, tags=target.tags
        )
        count = len(mine.changes)
        if not count and not always:
            out.append(Delivery(target, Outcome.NOTHING, 0))
            continue
        # Indented for people (--dry-run), compact on the wire.
        body = json.dumps(
            payload(target.kind, mine), ensure_ascii=False, indent=2 if dry_run else None
        )
        if dry_run:
            out.append(Delivery(target, Outcome.DRY_RUN, count, body=body))
            continue
        try:
            tries = post_json(
                target, body.encode("utf-8"), timeout=timeout, sleep=sleep, backoff=backoff
            )
        except SendError as exc:
            out.append(Delivery(target, Outcome.FAILED, count, error=str(exc), body=body))
        else:
            out.append(Delivery(target, Outcome.SENT, count, tries=tries, body=body))
    return out
