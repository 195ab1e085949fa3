"""`kpitrack notify`'s own lines: what happened per target (kpitrack/notify/send.py).

Plain strings; a target's URL appears only masked (`https://hooks.slack.com/…`)."""

from __future__ import annotations

from kpitrack.domain.textsafe import visible
from kpitrack.notify.send import Delivery, Outcome


def _changes(n: int) -> str:
    return f"{n} changed KPI{'' if n == 1 else 's'}"


def delivery_line(d: Delivery) -> str:
    """One line about one target (for stdout, or stderr when it failed)."""
    name = visible(d.target.name, line=True)
    where = f"'{name}' ({d.target.kind}, {d.target.masked_url})"
    match d.outcome:
        case Outcome.SENT:
            tries = "" if d.tries <= 1 else f" after {d.tries} tries"
            return f"notify: sent {_changes(d.changes)} to {where}{tries}"
        case Outcome.NOTHING:
            return f"notify: nothing to send to {where}: none of its KPIs changed"
        case Outcome.DRY_RUN:
            return f"notify: --dry-run: would send {_changes(d.changes)} to {where}:"
        case Outcome.FAILED:
            return f"kpitrack: error: {visible(d.error or '', line=True)}"
