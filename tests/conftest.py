"""Shared test setup: tests never depend on the real date or the user's environment."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With Typer's patches switched off (KPITRACK_NO_TYPER_PATCHES, see kpitrack/_typer.py),
    the tests of the patches themselves skip; every other test must pass as it is."""
    if os.environ.get("KPITRACK_NO_TYPER_PATCHES", "") in ("", "0"):
        return
    skip = pytest.mark.skip(reason="tests a Typer patch, and KPITRACK_NO_TYPER_PATCHES is set")
    for item in items:
        if "typer_patches" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("cache-home"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, _cache_home: str) -> None:
    # No colour codes in captured output, and no debug re-raising unless a test asks.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("KPITRACK_DEBUG", raising=False)
    # The row cache (docs/PERFORMANCE.md) in a folder of the test run, never the user's.
    monkeypatch.setenv("XDG_CACHE_HOME", _cache_home)
    monkeypatch.delenv("KPITRACK_NO_CACHE", raising=False)


# Hypothesis profiles: `ci` (selected when CI=true) runs the heavy property tests
# with more examples; the default profile keeps a local run quick. Tests read
# `HEAVY` to size themselves (see tests/test_write_state_machine.py).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
