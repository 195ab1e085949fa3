"""KT052: a URL with a password written into a KPI file.

The builder runs this check on every KPI, with or without a `source`, so it lives
apart from the source kinds: loading a KPI file never imports them (sqlite3, csv,
subprocess) unless a KPI has a `source` (docs/PERFORMANCE.md "What makes start-up fast").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kpitrack.domain import codes
from kpitrack.domain.problems import Problem
from kpitrack.reading import rules
from kpitrack.reading.yamlnodes import Node, Scalar, Seq

# scheme://user:password@host — a credential written into a KPI file.
_URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")


def _scalars(node: Node) -> Iterator[Scalar]:
    """Every scalar (keys too) under `node`: one pass, no list per node."""
    stack = [node]
    while stack:
        top = stack.pop()
        if isinstance(top, Scalar):
            yield top
        elif isinstance(top, Seq):
            stack.extend(top.items)
        else:
            for key, value in top.items:
                yield key
                stack.append(value)


def credential_problems(out: list[Problem], entry: Node, what: str) -> None:
    """KT052: a URL with a password anywhere in a KPI's definition."""
    for scalar in _scalars(entry):
        if "://" in scalar.text and _URL_WITH_PASSWORD.search(scalar.text):
            rules.error(
                out,
                scalar,
                codes.KT052,
                f"{what}: a URL with a password in a KPI file; credentials belong in the "
                "local config's [databases] (or ${ENV_VARIABLE} there), never in KPI files",
            )
