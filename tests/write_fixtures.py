"""The small workspace the write tests share: a quantitative, a qualitative and a progress
KPI under one objective, and a hand-kept measurements file with a comment."""

from __future__ import annotations

KPIS = """\
objectives:
  - id: grow
    title: Grow the business
kpis:
  - id: mrr
    name: Monthly recurring revenue
    measure: Sum of active subscriptions at month end
    target: 100
    frequency: monthly
    owner: Sales
    objective: grow
  - id: csat
    name: Customer satisfaction
    measure: Median answer of the quarterly customer survey
    kind: qualitative
    scale: [poor, fair, good, excellent]
    target: good
    frequency: quarterly
    owner: Support
    objective: grow
  - id: launch
    name: Launch readiness
    measure: Percent of the launch checklist items done
    kind: progress
    frequency: weekly
    owner: Product
    objective: grow
"""

MEASUREMENTS = """\
# kept by hand
measurements:
  - kpi: mrr
    date: 2026-01-31
    value: 40   # first
"""
