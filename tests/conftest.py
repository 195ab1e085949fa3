"""Shared test setup: tests never depend on the real date or the user's environment."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # No colour codes in captured output, and no debug re-raising unless a test asks.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("KPITRACK_DEBUG", raising=False)
