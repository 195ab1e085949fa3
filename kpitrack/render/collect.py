"""`collect`'s output: the JSON document, and the text lines for stdout and stderr.

Every text line passes through `textsafe.visible(line=True)`: a CSV cell, a path or
a command's stderr can never put a raw escape sequence or a line of its own on a
terminal or into a cron mail.
"""

from __future__ import annotations

import json

from kpitrack.domain.textsafe import visible
from kpitrack.evaluation.evaluate import format_value
from kpitrack.render.json import value_json
from kpitrack.writing.collecting import CollectOutcome


def collect_json(outcome: CollectOutcome, target: str | None) -> str:
    document = {
        "as_of": outcome.as_of.isoformat(),
        "dry_run": outcome.dry_run,
        "test": outcome.test,
        "file": target,
        "collected": [
            {
                "kpi": r.kpi.id,
                "period": r.period.label,
                "date": r.period.end.isoformat(),
                "value": value_json(r.value),
                "source": r.source_name,
                "written": r.written,
            }
            for r in outcome.collected
        ],
        "failed": [
            {
                "kpi": r.kpi.id,
                "period": r.period.label,
                "source": r.source_name,
                "error": r.error,
            }
            for r in outcome.failed
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def collect_text(outcome: CollectOutcome, target: str | None) -> list[str]:
    """The stdout lines: nothing for a run that added nothing and failed nothing...
    nor for one that failed (its failures go to stderr): quiet unless values were
    added, or when testing or in a dry run."""
    lines: list[str] = []
    good = outcome.collected
    where = f" to {target}" if target is not None else ""
    if outcome.test or outcome.dry_run or outcome.added:
        for r in good:
            assert r.value is not None
            value = format_value(r.kpi, r.value, unit=True)
            lines.append(f"{r.kpi.id} {r.period.label}: {value} ({r.source_name})")
    if outcome.test:
        lines.append(
            f"test: {len(good)} value(s), {len(outcome.failed)} failure(s); nothing written"
        )
    elif outcome.dry_run:
        lines.append(f"dry run: would add {len(good)} measurement(s){where}; nothing written")
    elif outcome.added:
        lines.append(
            f"added {outcome.added} measurement(s){where}; {len(outcome.failed)} failure(s)"
        )
    return [visible(line, line=True) for line in lines]


def collect_errors(outcome: CollectOutcome) -> list[str]:
    """The stderr lines: the write's warnings, then one line per failure."""
    lines = [p.format() for p in outcome.warnings]
    for r in outcome.failed:
        line = f"kpitrack: collect: KPI '{r.kpi.id}' {r.period.label} ({r.source_name}): {r.error}"
        lines.append(visible(line, line=True))
    return lines
