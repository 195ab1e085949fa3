"""What the write tests share: a small workspace (a quantitative, a qualitative and a
progress KPI under one objective, and a hand-kept measurements file with a comment), and
a way to start a Python writer process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_process(script: str, *args: str) -> subprocess.Popen[str]:
    """`python -c script args...` with this checkout importable, stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


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
