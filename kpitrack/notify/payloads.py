"""What `kpitrack notify` says, and how each chat tool wants it said.

`build_change_set` turns the digest (`reports.digest.build_report`: the same window
and the same status changes as `kpitrack report`) and the results as of the window's
start into a `ChangeSet`: per KPI, its status change (old → new), whether it became
overdue, and the needs-action reasons it gained (every reason that is not a status or
`overdue`, so `action-overdue`, `forecast-miss` and any later reason come through
without a change here). `ChangeSet.for_target` narrows it to one target's filters.

`payload(kind, change_set)` builds the JSON body each kind of target takes
(docs/notify.md): Slack Block Kit, a Teams message with an Adaptive Card, Mattermost
markdown, Google Chat text, or kpitrack's own documented `webhook` object. Text from
KPI files passes through `textsafe.visible` and each format's escaping.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never
from urllib.parse import quote

from kpitrack.domain.model import Config, KpiResult, Reason, Status, StatusCounts
from kpitrack.domain.textsafe import visible
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import format_value, summary_sentence
from kpitrack.reports.digest import ChangeKind, Report, StatusChange
from kpitrack.reports.jsonvalues import date_json, value_json

WEBHOOK_VERSION = 1
# The most KPIs one chat message lists; the rest are counted ("… and 3 more").
MAX_KPIS = 40
# Chat tools cap text blocks (Slack: 3,000 characters per section); names are cut here.
MAX_NAME = 150
SLACK_SECTION_LIMIT = 3000
# Text messages: Google Chat takes 4,096 characters, Mattermost 16,383 (kept under both).
GOOGLECHAT_TEXT_LIMIT = 4000
MATTERMOST_TEXT_LIMIT = 16000
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


class TargetKind(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    MATTERMOST = "mattermost"
    GOOGLECHAT = "googlechat"
    WEBHOOK = "webhook"


# Reasons that repeat a status (the status change says it) or `overdue` (said apart).
_SAID_ELSEWHERE = frozenset(
    {Reason.OFF_TRACK, Reason.AT_RISK, Reason.NO_DATA, Reason.OVERDUE}
    | {r for r in Reason if r.value in {s.value for s in Status}}
)

SECTION_TITLES: dict[ChangeKind | None, str] = {
    ChangeKind.REGRESSED: "Regressions",
    ChangeKind.IMPROVED: "Improvements",
    ChangeKind.FIRST_REPORT: "First reports",
    None: "Newly overdue or needing action",
}
SECTION_ORDER: tuple[ChangeKind | None, ...] = (
    ChangeKind.REGRESSED,
    ChangeKind.IMPROVED,
    ChangeKind.FIRST_REPORT,
    None,
)


@dataclass(frozen=True)
class KpiChange:
    """One KPI that changed in the window."""

    result: KpiResult  # as of the as-of date
    status_change: StatusChange | None  # None: same status as at the window's start
    newly_overdue: bool  # overdue now, not overdue at the window's start
    new_reasons: tuple[Reason, ...]  # needs-action reasons gained (not statuses, not overdue)
    link: str | None  # <site_url>/kpi/<id>.html when site_url is configured

    @property
    def kind(self) -> ChangeKind | None:
        return self.status_change.kind if self.status_change else None


@dataclass(frozen=True)
class ChangeSet:
    as_of: dt.date
    since: dt.date
    results: tuple[KpiResult, ...]  # every KPI covered, workspace order
    changes: tuple[KpiChange, ...]  # the KPIs that changed, workspace order

    @property
    def summary(self) -> StatusCounts:
        return StatusCounts.of(self.results)

    def sections(self) -> list[tuple[str, list[KpiChange]]]:
        """Non-empty groups in SECTION_ORDER: regressions, improvements, first reports, rest."""
        out = []
        for kind in SECTION_ORDER:
            members = [c for c in self.changes if c.kind is kind]
            if members:
                out.append((SECTION_TITLES[kind], members))
        return out

    def for_target(
        self,
        *,
        owners: Sequence[str] = (),
        objectives: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> ChangeSet:
        """The KPIs matching every given filter (any value within one); owners and tags in
        any case, objective ids exactly, as the command line's --owner/--objective/--tag."""
        owner_set = {o.casefold() for o in owners}
        tag_set = {t.casefold() for t in tags}
        objective_set = set(objectives)

        def wanted(r: KpiResult) -> bool:
            return (
                (not owner_set or (r.kpi.owner or "").casefold() in owner_set)
                and (not objective_set or r.kpi.objective in objective_set)
                and (not tag_set or bool(tag_set.intersection(t.casefold() for t in r.kpi.tags)))
            )

        return ChangeSet(
            as_of=self.as_of,
            since=self.since,
            results=tuple(r for r in self.results if wanted(r)),
            changes=tuple(c for c in self.changes if wanted(c.result)),
        )


def kpi_link(site_url: str | None, kpi_id: str) -> str | None:
    """`<site_url>/kpi/<id>.html`, or None without a site_url."""
    if not site_url:
        return None
    return f"{site_url.rstrip('/')}/kpi/{quote(kpi_id, safe='')}.html"


def build_change_set(
    report: Report | _Digest, previous: Iterable[KpiResult], *, site_url: str | None = None
) -> ChangeSet:
    """The changes of `report`'s window: `previous` are the results as of `report.since`
    (the same ones `build_report` compared with)."""
    before = {r.kpi.id: r for r in previous}
    status_changes = {c.result.kpi.id: c for c in report.changes}
    changes = []
    for r in report.results:
        old = before.get(r.kpi.id)
        newly_overdue = r.overdue is not None and (old is None or old.overdue is None)
        had = set(old.reasons) if old is not None else set()
        gained = tuple(x for x in r.reasons if x not in had and x not in _SAID_ELSEWHERE)
        change = status_changes.get(r.kpi.id)
        if change is not None or newly_overdue or gained:
            changes.append(
                KpiChange(r, change, newly_overdue, gained, kpi_link(site_url, r.kpi.id))
            )
    return ChangeSet(report.as_of, report.since, report.results, tuple(changes))


# ---------------------------------------------------------------- words


def title(cs: ChangeSet) -> str:
    n = len(cs.changes)
    window = f"after {cs.since.isoformat()} up to and including {cs.as_of.isoformat()}"
    if n == 0:
        return f"kpitrack: no KPI changed {window}"
    return f"kpitrack: {n} KPI{'' if n == 1 else 's'} changed {window}"


def _name(text: str) -> str:
    text = visible(" ".join(text.split()), line=True)
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…"


def _latest(r: KpiResult, escape: Callable[[str], str]) -> str:
    if r.latest is None:
        return "no value yet"
    value = escape(format_value(r.kpi, r.latest.value, unit=True))
    return f"latest {value} ({r.latest.date.isoformat()})"


def _overdue(r: KpiResult) -> str:
    o = r.overdue
    if o is None:
        return ""
    if o.never_reported:
        return "never reported"
    periods = "period" if o.missed_periods == 1 else "periods"
    days = "day" if o.days == 1 else "days"
    return f"{o.missed_periods} {periods} missed, due since {o.due_since} ({o.days} {days})"


def facts(c: KpiChange, escape: Callable[[str], str] = visible) -> list[str]:
    """What changed, in words: `at-risk → off-track`, `latest 92% (2026-11-20)`, ...
    (`escape` is applied to the one part from KPI files, the value with its unit)."""
    r = c.result
    out = [
        f"{c.status_change.before} → {c.status_change.after}" if c.status_change else str(r.status),
        _latest(r, escape),
    ]
    if c.newly_overdue:
        out.append(f"newly overdue: {_overdue(r)}")
    if c.new_reasons:
        out.append("new: " + ", ".join(str(x) for x in c.new_reasons))
    return out


def _listed(cs: ChangeSet) -> tuple[list[tuple[str, list[KpiChange]]], int]:
    """The sections cut to MAX_KPIS KPIs, and how many were left out."""
    room, out = MAX_KPIS, []
    for heading, members in cs.sections():
        if room <= 0:
            break
        out.append((heading, members[:room]))
        room -= len(members[:room])
    return out, max(0, len(cs.changes) - MAX_KPIS)


def _more(left_out: int) -> str:
    return f"… and {left_out} more (kpitrack report lists them all)"


# ---------------------------------------------------------------- escaping

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def escape_markdown(text: str) -> str:
    """Markdown (Mattermost, Teams): a backslash before every character that formats."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", visible(text, line=True))


def escape_slack(text: str) -> str:
    """Slack mrkdwn and Google Chat text: &, < and > as entities (they open links)."""
    text = visible(text, line=True)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _line(
    c: KpiChange,
    escape: Callable[[str], str],
    link: Callable[[str, str], str],
    code: Callable[[str], str],
) -> str:
    name = escape(_name(c.result.kpi.name))
    if c.link:
        name = link(name, c.link)
    return f"{name} ({code(c.result.kpi.id)}): " + " · ".join(facts(c, escape))


def _md_link(text: str, url: str) -> str:
    return f"[{text}]({url})"


def _slack_link(text: str, url: str) -> str:
    return f"<{url}|{text.replace('|', '¦')}>"


def _backticks(kpi_id: str) -> str:
    return f"`{kpi_id}`"


# ---------------------------------------------------------------- payloads


def slack_payload(cs: ChangeSet) -> dict[str, Any]:
    """Block Kit: a header, one mrkdwn section per group (split under Slack's 3,000
    characters), the summary as context; `text` is the notification's fallback."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(cs)[:150]}}
    ]
    sections, left_out = _listed(cs)
    for heading, members in sections:
        chunk = f"*{heading}*"
        for c in members:
            line = "• " + _line(c, escape_slack, _slack_link, _backticks)
            if len(chunk) + 1 + len(line) > SLACK_SECTION_LIMIT:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
                chunk = line
            else:
                chunk += "\n" + line
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    context = summary_sentence(cs.summary)
    if left_out:
        context = f"{_more(left_out)}. {context}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": title(cs), "blocks": blocks}


def teams_payload(cs: ChangeSet) -> dict[str, Any]:
    """A Teams message carrying one Adaptive Card (1.4): title, a heading and one
    TextBlock per KPI for each group, the summary in subtle text."""

    def text(value: str, **style: Any) -> dict[str, Any]:
        return {"type": "TextBlock", "text": value, "wrap": True, **style}

    body = [text(title(cs), weight="Bolder", size="Medium")]
    sections, left_out = _listed(cs)
    for heading, members in sections:
        body.append(text(heading, weight="Bolder", spacing="Medium"))
        body += [
            text(_line(c, escape_markdown, _md_link, _backticks), spacing="Small") for c in members
        ]
    if left_out:
        body.append(text(_more(left_out), spacing="Medium"))
    body.append(text(summary_sentence(cs.summary), isSubtle=True, spacing="Medium"))
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


def _text_message(
    cs: ChangeSet,
    *,
    bold: Callable[[str], str],
    escape: Callable[[str], str],
    link: Callable[[str, str], str],
    heading_of_title: str,
    limit: int,
) -> str:
    """The message as text, cut to `limit` characters by leaving out KPI lines from the
    end (counted in "… and N more")."""
    sections, left_out = _listed(cs)
    lines = [
        (heading, ["- " + _line(c, escape, link, _backticks) for c in members])
        for heading, members in sections
    ]
    while True:
        text = _join_text(cs, lines, left_out, bold=bold, heading_of_title=heading_of_title)
        if len(text) <= limit or not lines:
            return text
        members = lines[-1][1]
        members.pop()
        left_out += 1
        if not members:
            lines.pop()


def _join_text(
    cs: ChangeSet,
    sections: list[tuple[str, list[str]]],
    left_out: int,
    *,
    bold: Callable[[str], str],
    heading_of_title: str,
) -> str:
    out = [f"{heading_of_title}{title(cs)}"]
    for heading, lines in sections:
        out += ["", bold(heading), *lines]
    if left_out:
        out += ["", _more(left_out)]
    out += ["", summary_sentence(cs.summary)]
    return "\n".join(out)


def mattermost_payload(cs: ChangeSet) -> dict[str, Any]:
    """`{"text": markdown}`: a heading, a bold line and a list per group."""
    return {
        "text": _text_message(
            cs,
            bold=lambda s: f"**{s}**",
            escape=escape_markdown,
            link=_md_link,
            heading_of_title="#### ",
            limit=MATTERMOST_TEXT_LIMIT,
        )
    }


def googlechat_payload(cs: ChangeSet) -> dict[str, Any]:
    """`{"text": ...}` in Google Chat's text format: *bold*, <url|text> links."""
    return {
        "text": _text_message(
            cs,
            bold=lambda s: f"*{s}*",
            escape=escape_slack,
            link=_slack_link,
            heading_of_title="",
            limit=GOOGLECHAT_TEXT_LIMIT,
        )
    }


def _change_json(c: KpiChange) -> dict[str, Any]:
    r = c.result
    return {
        "id": r.kpi.id,
        "name": r.kpi.name,
        "owner": r.kpi.owner,
        "objective": r.kpi.objective,
        "unit": r.kpi.unit,
        "change": str(c.kind) if c.kind else None,
        "before": str(c.status_change.before) if c.status_change else None,
        "status": str(r.status),
        "latest": (
            {"date": date_json(r.latest.date), "value": value_json(r.latest.value)}
            if r.latest
            else None
        ),
        "newly_overdue": c.newly_overdue,
        "overdue": (
            {
                "missed_periods": r.overdue.missed_periods,
                "due_since": date_json(r.overdue.due_since),
                "days": r.overdue.days,
            }
            if r.overdue
            else None
        ),
        "new_reasons": [str(x) for x in c.new_reasons],
        "reasons": [str(x) for x in r.reasons],
        "url": c.link,
    }


def webhook_payload(cs: ChangeSet) -> dict[str, Any]:
    """kpitrack's own object (docs/notify.md, "The webhook payload"): every change, uncut."""
    summary = cs.summary
    return {
        "version": WEBHOOK_VERSION,
        "as_of": cs.as_of.isoformat(),
        "since": cs.since.isoformat(),
        "title": title(cs),
        "summary": {
            "total": summary.total,
            "by_status": {str(s): n for s, n in summary.by_status},
            "overdue": summary.overdue,
            "needs_action": summary.needs_action,
        },
        "changes": [_change_json(c) for c in cs.changes],
    }


def payload(kind: TargetKind, cs: ChangeSet) -> dict[str, Any]:
    """The JSON body a target of `kind` is sent."""
    match kind:
        case TargetKind.SLACK:
            return slack_payload(cs)
        case TargetKind.TEAMS:
            return teams_payload(cs)
        case TargetKind.MATTERMOST:
            return mattermost_payload(cs)
        case TargetKind.GOOGLECHAT:
            return googlechat_payload(cs)
        case TargetKind.WEBHOOK:
            return webhook_payload(cs)
        case _:
            assert_never(kind)


@dataclass(frozen=True)
class Window:
    """The KPIs `change_set_of` reported on (workspace order), as the digest lists them."""

    results: tuple[KpiResult, ...]


def change_set_of(
    workspace: Workspace,
    results: Sequence[KpiResult],
    *,
    as_of: dt.date,
    since: dt.date,
    config: Config,
) -> tuple[ChangeSet, Window]:
    """The change set of the selected `results` over the window after `since` up to and
    including `as_of`: the same KPIs, order and status changes as `build_report` (whose
    other sections, such as every new measurement of the window, notify never needed:
    they cost a `Measurement` per entry of the workspace). test_notify_window.py checks
    it against `build_change_set(build_report(...))`."""
    from kpitrack.evaluation.evaluate import evaluate

    if since > as_of:
        raise ValueError(f"since ({since}) is after as_of ({as_of})")
    previous = evaluate(workspace, as_of=since, config=config)
    # As build_report: workspace order, KPIs unknown to it last; a status change where
    # the status as of `since` is another one.
    order = {kpi.id: index for index, kpi in enumerate(workspace.kpis)}
    current = tuple(sorted(results, key=lambda r: order.get(r.kpi.id, len(order))))
    before = {r.kpi.id: r.status for r in previous}
    changes = tuple(
        StatusChange(r, before[r.kpi.id], r.status)
        for r in current
        if r.kpi.id in before and before[r.kpi.id] is not r.status
    )
    window = _Digest(as_of, since, current, changes)
    return build_change_set(window, previous, site_url=config.site_url), Window(current)


@dataclass(frozen=True)
class _Digest:
    """What `build_change_set` reads of a Report."""

    as_of: dt.date
    since: dt.date
    results: tuple[KpiResult, ...]
    changes: tuple[StatusChange, ...]
