"""kpitrack.toml: found in the current folder or the nearest parent, read with tomllib."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kpitrack.domain.model import MAX_GRACE_DAYS, Config
from kpitrack.domain.problems import UsageError

CONFIG_NAME = "kpitrack.toml"

# Every default is the one `Config()` holds (model.py); nothing here spells its own.
DEFAULTS = Config()

KNOWN_KEYS = {
    "files": "list of files or folders to read",
    "measurements_file": "file `record` and `import` write to",
    "grace_days": "days after a period ends before its report is overdue",
    "at_risk_tolerance": "fraction of |expected| a KPI may fall short and still be at risk",
    "focus_limit": "most KPIs per owner or objective before a warning",
    "stuck_periods": "periods off track or at risk without an action plan before a warning",
    "flat_periods": "periods with an unchanged value before a warning",
    "collect_timeout": (
        "collect: seconds a source may take; only lowers the local config's collect_timeout"
    ),
    "mail_to": "recipients of `report --format email` (an address or a list)",
    "mail_from": "sender of `report --format email`",
    "commit": "whether writes (record, checkin, amend, import, review) commit what they wrote",
    "site_url": "where the published pages live: `notify` links to <site_url>/kpi/<id>.html",
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
    import tomllib  # only when there is a kpitrack.toml (start-up)

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid TOML: arrays or tables nested too deep") from None
    return _config_from(data, path, text=path.read_text(encoding="utf-8-sig"))


def key_line(text: str, key: str) -> int | None:
    """The line (1-based) where a top-level `key = ...` of a TOML text is set, if found."""
    import re

    pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("["):
            return None  # past the top-level keys
        if pattern.match(line):
            return number
    return None


def _config_from(data: dict[str, Any], path: Path, *, text: str = "") -> Config:
    from kpitrack.reading.localconfig import LOCAL_CONFIG_NAME, POWER_KEYS

    power = [key for key in POWER_KEYS if key in data]
    if power:
        line = key_line(text, power[0])
        where = f"{path}:{line}" if line else str(path)
        raise UsageError(
            f"{where}: '{power[0]}' is not read from kpitrack.toml: the repository carries this "
            f"file, and '{power[0]}' grants power or holds secrets. Move it to "
            f"{LOCAL_CONFIG_NAME} next to it (git-ignored) or to ~/.config/kpitrack/config.toml "
            "(or the file $KPITRACK_CONFIG names); see docs/SECURITY.md"
        )
    unknown = sorted(set(data) - set(KNOWN_KEYS), key=lambda k: key_line(text, k) or 0)
    if unknown:
        from kpitrack.domain.suggest import did_you_mean

        known = ", ".join(KNOWN_KEYS)
        line = key_line(text, unknown[0])
        where = f"{path}:{line}" if line else str(path)
        raise UsageError(
            f"{where}: unknown key '{unknown[0]}'{did_you_mean(unknown[0], KNOWN_KEYS)} "
            f"(known keys: {known})"
        )
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
    d = DEFAULTS
    grace_days = _int(data, "grace_days", d.grace_days, path, minimum=0, maximum=MAX_GRACE_DAYS)
    focus_limit = _int(data, "focus_limit", d.focus_limit, path, minimum=1)
    stuck_periods = _int(data, "stuck_periods", d.stuck_periods, path, minimum=1, maximum=1000)
    flat_periods = _int(data, "flat_periods", d.flat_periods, path, minimum=2, maximum=1000)
    tolerance = data.get("at_risk_tolerance", DEFAULTS.at_risk_tolerance)
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not (0 <= tolerance <= 1)
    ):
        raise UsageError(f"{path}: 'at_risk_tolerance' must be a number from 0 to 1, like 0.1")
    collect_timeout = data.get("collect_timeout")
    if collect_timeout is not None and (
        isinstance(collect_timeout, bool)
        or not isinstance(collect_timeout, int | float)
        or not 0 < collect_timeout <= 3600
    ):
        raise UsageError(f"{path}: 'collect_timeout' must be a number of seconds from 0 to 3600")
    mail_to, mail_from = _mail(data, path)
    commit = data.get("commit", DEFAULTS.commit)
    if not isinstance(commit, bool):
        raise UsageError(f"{path}: 'commit' must be true or false")
    site_url = _site_url(data, path)
    return Config(
        files=tuple(files),
        measurements_file=measurements_file,
        grace_days=grace_days,
        at_risk_tolerance=float(tolerance),
        focus_limit=focus_limit,
        stuck_periods=stuck_periods,
        flat_periods=flat_periods,
        collect_timeout=None if collect_timeout is None else float(collect_timeout),
        root=str(path.parent),
        mail_to=mail_to,
        mail_from=mail_from,
        commit=commit,
        site_url=site_url,
    )


def _site_url(data: dict[str, Any], path: Path) -> str | None:
    """`site_url`: an http(s) URL without a query or fragment; kept without its trailing /."""
    from urllib.parse import urlsplit

    value = data.get("site_url")
    if value is None:
        return None
    text = value if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        text = ""
        parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or any(ch.isspace() or ord(ch) < 32 for ch in text)
    ):
        raise UsageError(
            f"{path}: 'site_url' must be an http:// or https:// address without ? or #, "
            "like https://kpis.example.com"
        )
    return text.rstrip("/")


def _mail(data: dict[str, Any], path: Path) -> tuple[tuple[str, ...], str | None]:
    """`mail_to` (an address or a list) and `mail_from`; checked as addresses when used."""
    mail_to = data.get("mail_to", [])
    if isinstance(mail_to, str):
        mail_to = [mail_to]
    if not isinstance(mail_to, list) or not all(isinstance(a, str) and a for a in mail_to):
        raise UsageError(f"{path}: 'mail_to' must be a mail address or a list of them")
    mail_from = data.get("mail_from")
    if mail_from is not None and (not isinstance(mail_from, str) or not mail_from):
        raise UsageError(f"{path}: 'mail_from' must be a mail address")
    return tuple(mail_to), mail_from


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
    grace_days: int = DEFAULTS.grace_days,
    at_risk_tolerance: float = DEFAULTS.at_risk_tolerance,
    focus_limit: int = DEFAULTS.focus_limit,
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
