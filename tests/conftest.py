"""Shared test setup: tests never depend on the real date or the user's environment."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # No colour codes in captured output, and no debug re-raising unless a test asks.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("KPITRACK_DEBUG", raising=False)
    # Never the user's local kpitrack config (~/.config/kpitrack/config.toml).
    monkeypatch.delenv("KPITRACK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-user-config"))


# Hypothesis profiles: `ci` (selected when CI=true) runs the heavy property tests
# with more examples; the default profile keeps a local run quick. Tests read
# `HEAVY` to size themselves (see tests/test_write_state_machine.py).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
