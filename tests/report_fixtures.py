"""A small hand-built workspace for the report tests (as of Monday 2026-11-30, since 2026-11-23).

Standing targets (no `due`) keep the statuses easy to check by hand:
on-track when the latest value meets the target, at-risk when at most 10% short,
off-track otherwise; qualitative KPIs are at-risk exactly one step short.

| KPI     | as of 2026-11-23 | as of 2026-11-30 | why                                   |
|---------|------------------|------------------|---------------------------------------|
| csat    | on-track (good)  | at-risk (fair)   | regression                            |
| signups | off-track (50)   | on-track (120)   | improvement                           |
| nps     | no-data          | off-track (30)   | first report                          |
| churn   | on-track (4.5)   | on-track (4.5)   | 2026-11-23 is not after since; no change |
| docs    | no-data          | no-data          | no measurements at all                |
| pipe    | at-risk (92)     | at-risk (95)     | new measurement, same status          |
| leads   | on-track (25)    | on-track (25)    | overdue: 2 weeks missed, 12 days      |
"""

from __future__ import annotations

import datetime as dt

from kpitrack.domain.model import (
    Config,
    Direction,
    Frequency,
    Kind,
    Kpi,
    Measurement,
    Objective,
    Value,
)
from kpitrack.domain.workspace import Workspace

AS_OF = dt.date(2026, 11, 30)
SINCE = dt.date(2026, 11, 23)
CONFIG = Config()

D = dt.date


def build_workspace() -> Workspace:
    objectives = (
        Objective("growth", "Grow the business | 2026", owner="ceo"),
        Objective("happy", "Happy customers <3"),
        Objective("unused", "An objective no KPI measures"),
    )
    kpis = (
        Kpi(
            "csat",
            "Customer satisfaction",
            "Quarterly survey, median answer",
            "good",
            Frequency.WEEKLY,
            kind=Kind.QUALITATIVE,
            scale=("poor", "fair", "good", "excellent"),
            owner="support",
            objective="happy",
            action="Call every detractor within 48h",
        ),
        Kpi(
            "signups",
            "Weekly sign-ups",
            "New accounts created in the week",
            100.0,
            Frequency.WEEKLY,
            unit="accounts",
            owner="growth",
            objective="growth",
        ),
        Kpi(
            "nps",
            "Net promoter score",
            "NPS from the in-app survey",
            50.0,
            Frequency.WEEKLY,
            owner="growth",
            objective="happy",
        ),
        Kpi(
            "churn",
            "Monthly churn | rate",
            "Cancelled over active accounts",
            5.0,
            Frequency.MONTHLY,
            direction=Direction.DECREASE,
            unit="%",
            owner="support",
        ),
        Kpi(
            "docs",
            "Docs rewrite",
            "Pages rewritten over pages planned",
            100.0,
            Frequency.MONTHLY,
            kind=Kind.PROGRESS,
            objective="happy",
            start=D(2026, 11, 1),
        ),
        Kpi(
            "pipe",
            "Sales pipeline",
            "Open opportunities in the CRM",
            100.0,
            Frequency.WEEKLY,
            unit="k USD",
            owner="sales",
            objective="growth",
            action="Two more demos a week",
        ),
        Kpi(
            "leads",
            "Qualified leads",
            "Leads marked qualified in the CRM",
            20.0,
            Frequency.WEEKLY,
            owner="sales",
            objective="growth",
            tags=("funnel",),
        ),
    )
    rows: list[tuple[str, dt.date, Value, str | None]] = [
        ("csat", D(2026, 11, 16), "good", None),
        ("csat", D(2026, 11, 24), "fair", "survey | week 48"),
        ("signups", D(2026, 11, 9), 40.0, None),
        ("signups", D(2026, 11, 16), 50.0, None),
        ("signups", D(2026, 11, 27), 120.0, "launch week"),
        ("nps", D(2026, 11, 28), 30.0, None),
        ("churn", D(2026, 10, 31), 4.0, None),
        ("churn", D(2026, 11, 23), 4.5, "exactly on since: not new"),
        ("churn", D(2026, 12, 1), 9.0, "after as-of: ignored"),
        ("pipe", D(2026, 11, 16), 92.0, None),
        ("pipe", D(2026, 11, 30), 95.0, "on as-of: new"),
        ("leads", D(2026, 11, 2), 25.0, None),
    ]
    measurements = tuple(
        Measurement(kpi, day, value, note=note, order=i)
        for i, (kpi, day, value, note) in enumerate(rows)
    )
    return Workspace(objectives=objectives, kpis=kpis, measurements=measurements)
