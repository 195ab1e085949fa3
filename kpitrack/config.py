"""kpitrack.toml: found in the current folder or the nearest parent, read with tomllib."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from kpitrack.model import MAX_GRACE_DAYS, Config
from kpitrack.problems import UsageError

CONFIG_NAME = "kpitrack.toml"

KNOWN_KEYS = {
    "files": "list of files or folders to read",
    "measurements_file": "file `record` and `import` write to",
    "grace_days": "days after a period ends before its report is overdue",
    "at_risk_tolerance": "fraction of |expected| a KPI may fall short and still be at risk",
    "focus_limit": "most KPIs per owner or objective before a warning",
}


def find_config(start: Path) -> Path | None:
    """The nearest kpitrack.toml in `start` or one of its parents."""
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path | None = None) -> Config:
    """Read the nearest kpitrack.toml; defaults when there is none."""
    path = find_config(start or Path.cwd())
    if path is None:
        return Config()
    return read_config(path)


def read_config(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid TOML: arrays or tables nested too deep") from None
    return _config_from(data, path)


def _config_from(data: dict[str, Any], path: Path) -> Config:
    unknown = sorted(set(data) - set(KNOWN_KEYS))
    if unknown:
        known = ", ".join(KNOWN_KEYS)
        raise UsageError(f"{path}: unknown key '{unknown[0]}' (known keys: {known})")
    files = data.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise UsageError(f"{path}: 'files' must be a list of paths")
    if any("\0" in f for f in files):
        raise UsageError(f"{path}: 'files' holds a path with a NUL character")
    measurements_file = data.get("measurements_file")
    if measurements_file is not None and (
        not isinstance(measurements_file, str) or not measurements_file
    ):
        raise UsageError(f"{path}: 'measurements_file' must be a path")
    if measurements_file is not None and "\0" in measurements_file:
        raise UsageError(f"{path}: 'measurements_file' holds a NUL character")
    grace_days = _int(data, "grace_days", 3, path, minimum=0, maximum=MAX_GRACE_DAYS)
    focus_limit = _int(data, "focus_limit", 7, path, minimum=1)
    tolerance = data.get("at_risk_tolerance", 0.10)
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not (0 <= tolerance <= 1)
    ):
        raise UsageError(f"{path}: 'at_risk_tolerance' must be a number from 0 to 1, like 0.1")
    return Config(
        files=tuple(files),
        measurements_file=measurements_file,
        grace_days=grace_days,
        at_risk_tolerance=float(tolerance),
        focus_limit=focus_limit,
        root=str(path.parent),
    )


def _int(
    data: dict[str, Any],
    key: str,
    default: int,
    path: Path,
    *,
    minimum: int,
    maximum: int = 1_000_000,
) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UsageError(f"{path}: '{key}' must be a whole number from {minimum} to {maximum}")
    return value


def config_document(
    *,
    files: list[str] | None = None,
    measurements_file: str | None = None,
    grace_days: int = 3,
    at_risk_tolerance: float = 0.10,
    focus_limit: int = 7,
) -> dict[str, Any]:
    """The data `kpitrack init` writes with tomli-w."""
    doc: dict[str, Any] = {}
    if files:
        doc["files"] = files
    if measurements_file:
        doc["measurements_file"] = measurements_file
    doc["grace_days"] = grace_days
    doc["at_risk_tolerance"] = at_risk_tolerance
    doc["focus_limit"] = focus_limit
    return doc
