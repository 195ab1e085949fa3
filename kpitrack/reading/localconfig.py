"""The local configuration: everything that grants power or holds secrets.

The repository carries `kpitrack.toml` (shared settings), and anyone who can get
a commit merged controls it. What grants power (database connections, running
programs, notification targets, mail settings, folders outside the workspace)
is therefore read only from files the repository cannot carry
(docs/SECURITY.md, "The trust boundary"):

1. the user's file: `$KPITRACK_CONFIG` (a path), else
   `$XDG_CONFIG_HOME/kpitrack/config.toml` (`~/.config` when XDG_CONFIG_HOME is unset);
2. the workspace's `kpitrack.local.toml` next to kpitrack.toml, which `init`
   git-ignores and which is refused while git tracks it. Its keys override the
   user's file (`[databases]` entries one by one).

`${NAME}` is expanded from the environment only in values of these files, and
only when a value is used (`expand_env`), so an unused database whose variable
is unset is no error.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kpitrack.domain.problems import UsageError

LOCAL_CONFIG_NAME = "kpitrack.local.toml"
USER_CONFIG_ENV = "KPITRACK_CONFIG"
DEFAULT_COLLECT_TIMEOUT = 30.0
MAX_COLLECT_TIMEOUT = 3600.0
MAX_LOCAL_CONFIG_BYTES = 1024 * 1024

LOCAL_KEYS = {
    "databases": "collect: database name = connection URL, key=value DSN or SQLite path",
    "allow_commands": "collect: whether `command` sources may run (default false)",
    "collect_timeout": (
        f"collect: the most seconds a source may take (default {DEFAULT_COLLECT_TIMEOUT:g}); "
        "kpitrack.toml and KPI files may only lower it"
    ),
    "source_folders": "collect: folders outside the workspace that CSV sources may read",
    "notify": "[[notify]] notification targets",
    "mail": "[mail] mail settings (server, sender, credentials)",
}
# The keys kpitrack.toml refuses: they belong in a local file.
POWER_KEYS = ("databases", "allow_commands", "source_folders", "notify", "mail")

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariable(UsageError):
    """`${NAME}` in a local file names an environment variable that is not set."""


@dataclass(frozen=True)
class LocalConfig:
    """What the local files (never the repository) say; values as written (`${NAME}` kept)."""

    # [databases]: name → connection URL, key=value DSN or SQLite path.
    databases: tuple[tuple[str, str], ...] = ()
    allow_commands: bool = False
    # [[notify]] tables, raw, for the notify feature.
    notify: tuple[Mapping[str, object], ...] = ()
    # [mail], raw.
    mail: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    # The ceiling of every source's timeout.
    collect_timeout: float = DEFAULT_COLLECT_TIMEOUT
    # Absolute folders outside the workspace that CSV sources may read.
    source_folders: tuple[Path, ...] = ()
    # The files read, in order (for messages).
    files: tuple[Path, ...] = ()

    def database(self, name: str) -> str | None:
        return dict(self.databases).get(name)


def expand_env(text: str, environ: Mapping[str, str]) -> str:
    """`${NAME}` → `environ[NAME]`; MissingVariable when it is not set."""

    def one(m: re.Match[str]) -> str:
        value = environ.get(m.group(1))
        if value is None:
            raise MissingVariable(f"environment variable {m.group(1)} is not set")
        return value

    return _ENV.sub(one, text)


def user_config_path(environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The user's config file and whether it was named explicitly ($KPITRACK_CONFIG)."""
    named = environ.get(USER_CONFIG_ENV)
    if named:
        return Path(named).expanduser(), True
    base = environ.get("XDG_CONFIG_HOME")
    if base and Path(base).is_absolute():
        return Path(base) / "kpitrack" / "config.toml", False
    home = environ.get("HOME")
    if not home:
        return None, False
    return Path(home) / ".config" / "kpitrack" / "config.toml", False


def load_local_config(workspace_root: Path, environ: Mapping[str, str]) -> LocalConfig:
    """The local configuration for the workspace at `workspace_root` (docstring above).

    Raises UsageError for a file that cannot be read, invalid TOML, an unknown key,
    a wrong value, `$KPITRACK_CONFIG` naming a missing file, or a
    kpitrack.local.toml that git tracks.
    """
    merged: dict[str, Any] = {}
    read: list[Path] = []
    user, named = user_config_path(environ)
    if user is not None and (named or user.exists()):
        _merge(merged, _read(user), user)
        read.append(user)
    local = workspace_root / LOCAL_CONFIG_NAME
    if local.exists() or local.is_symlink():
        refuse_if_tracked(local)
        _merge(merged, _read(local), local)
        read.append(local)
    return _local_config(merged, tuple(read), workspace_root)


def refuse_if_tracked(path: Path) -> None:
    """UsageError when git tracks `path`: a file the repository carries grants no power."""
    if _tracked_by_git(path):
        raise UsageError(
            f"{path}: git tracks this file, so anyone who can change the repository controls "
            f"it; it is not read. Untrack it: git rm --cached {LOCAL_CONFIG_NAME} "
            f"(and add {LOCAL_CONFIG_NAME} to .gitignore); see docs/SECURITY.md"
        )


def _tracked_by_git(path: Path) -> bool:
    """Whether `git ls-files --error-unmatch` knows `path` (False without git or a repository).

    The git layer sits above this one (docs/ARCHITECTURE.md), so this is the one git
    call below it, made the same safe way as `kpitrack.git.gitrepo.run_git`: an
    argument list, `--` before the path, no GIT_DIR/GIT_WORK_TREE from outside.
    """
    exe = shutil.which("git")
    if exe is None:
        return False
    env = dict(os.environ)
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    try:
        proc = subprocess.run(
            [exe, "ls-files", "--error-unmatch", "--", path.name],
            cwd=path.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _read(path: Path) -> dict[str, Any]:
    try:
        if not path.is_file():
            what = "does not exist" if not path.exists() else "is not a regular file"
            raise UsageError(f"{path}: the local kpitrack config {what}")
        with open(path, "rb") as fh:
            data = fh.read(MAX_LOCAL_CONFIG_BYTES + 1)
        if len(data) > MAX_LOCAL_CONFIG_BYTES:
            raise UsageError(f"{path}: over {MAX_LOCAL_CONFIG_BYTES:,} bytes")
        return tomllib.loads(data.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid TOML: arrays or tables nested too deep") from None


def _merge(into: dict[str, Any], data: dict[str, Any], path: Path) -> None:
    unknown = sorted(set(data) - set(LOCAL_KEYS))
    if unknown:
        from kpitrack.domain.suggest import did_you_mean

        raise UsageError(
            f"{path}: unknown key '{unknown[0]}'"
            f"{did_you_mean(unknown[0], LOCAL_KEYS)} (known keys: {', '.join(LOCAL_KEYS)})"
        )
    for key, value in data.items():
        if key == "databases" and isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = {**into[key], **value}
        else:
            into[key] = value


def _local_config(data: dict[str, Any], read: tuple[Path, ...], root: Path) -> LocalConfig:
    where = " or ".join(str(p) for p in read) or "the local kpitrack config"
    databases = data.get("databases", {})
    if not isinstance(databases, dict) or not all(
        isinstance(name, str) and isinstance(url, str) and url.strip() and "\0" not in url
        for name, url in databases.items()
    ):
        raise UsageError(
            f"{where}: [databases] must map names to connection URLs or SQLite paths, "
            'like app = "${APP_DB_URL}"'
        )
    allow_commands = data.get("allow_commands", False)
    if not isinstance(allow_commands, bool):
        raise UsageError(f"{where}: 'allow_commands' must be true or false")
    timeout = data.get("collect_timeout", DEFAULT_COLLECT_TIMEOUT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not 0 < timeout <= MAX_COLLECT_TIMEOUT
    ):
        raise UsageError(
            f"{where}: 'collect_timeout' must be a number of seconds above 0 and at most "
            f"{MAX_COLLECT_TIMEOUT:g}"
        )
    folders = data.get("source_folders", [])
    if not isinstance(folders, list) or not all(
        isinstance(f, str) and f and "\0" not in f for f in folders
    ):
        raise UsageError(f"{where}: 'source_folders' must be a list of folder paths")
    notify = data.get("notify", [])
    if not isinstance(notify, list) or not all(isinstance(t, dict) for t in notify):
        raise UsageError(f"{where}: 'notify' must be [[notify]] tables")
    mail = data.get("mail", {})
    if not isinstance(mail, dict):
        raise UsageError(f"{where}: 'mail' must be a [mail] table")
    return LocalConfig(
        databases=tuple(databases.items()),
        allow_commands=allow_commands,
        notify=tuple(MappingProxyType(t) for t in notify),
        mail=MappingProxyType(mail),
        collect_timeout=float(timeout),
        source_folders=tuple(Path(os.path.normpath(root / Path(f).expanduser())) for f in folders),
        files=read,
    )
