"""`init`'s starter files, written without ever replacing a file (docs/writing.md)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from kpitrack.domain.problems import WriteError
from kpitrack.writing.atomicfile import (
    atomic_write_bytes,
    check_folder,
    check_writable,
    create_new_file,
)
from kpitrack.writing.recording import DEFAULT_MEASUREMENTS_FILE

STARTER_KPIS = """\
# kpitrack KPI definitions. Run `kpitrack check` after editing this file.
#
# A KPI needs a crystal-clear measure (how the number is obtained), a target
# (and a direction: increase or decrease), and a reporting frequency (daily,
# weekly, monthly, quarterly or yearly). Link it to an objective and give it an
# owner. Keep a handful of KPIs per owner or objective.

objectives:
  - id: grow-usage
    title: Grow active usage of the product
    owner: Product team

kpis:
  - id: weekly-active-users
    name: Weekly active users
    measure: Distinct users who logged in during the ISO week, from the auth log
    target: 1000
    direction: increase       # or decrease, when lower is better
    frequency: weekly
    unit: user
    unit_plural: users        # the unit for values other than 1
    owner: Product team
    objective: grow-usage
    # indicator: leading      # or lagging; an objective wants a lagging KPI too
    start: {today}         # reporting starts here: nothing is overdue before it
    # baseline: 600           # the value progress is counted from
    # due: 2026-12-31         # reach the target by then (milestones: [{date, target}])
    # action: what is being done while the KPI is off track
"""

STARTER_MEASUREMENTS = """\
# kpitrack measurements: one entry per reported value, appended by
#   kpitrack record weekly-active-users 640 --note "first count"
# or by `kpitrack import values.csv`. Entries look like this:
#   - kpi: weekly-active-users
#     date: 2026-01-11        # the date the value describes
#     value: 640
#     note: optional free text
#     by: optional, who recorded it
measurements:
"""

CONFIG_HEADER = """\
# kpitrack settings (read from this folder or any folder below it).
# files: the KPI files or folders to read; measurements_file: where `record`
# and `import` append; grace_days: days after a period ends before its report
# is overdue; at_risk_tolerance: how far short of the expected value (a fraction
# of it) still counts as at-risk; focus_limit: most KPIs per owner or objective.

"""


GITIGNORE_ENTRIES = ("*.lock", "kpitrack.local.toml")
GITIGNORE = """\
# kpitrack's lock sidecars (<file>.lock), taken while record and import write
*.lock
# The local config: database URLs, allow_commands, notification targets (docs/SECURITY.md).
# kpitrack refuses it while git tracks it.
kpitrack.local.toml
"""


def starter_files(*, today: dt.date) -> dict[str, bytes]:
    """Name → bytes of the files `init` writes (the example KPI starts `today`)."""
    import tomli_w

    from kpitrack.reading.config import CONFIG_NAME, config_document

    document = config_document(
        files=["kpis.yaml", DEFAULT_MEASUREMENTS_FILE], measurements_file=DEFAULT_MEASUREMENTS_FILE
    )
    from kpitrack.reading.schema import MODELINE, SCHEMA_FILE, schema_text

    return {
        "kpis.yaml": (MODELINE + STARTER_KPIS.replace("{today}", today.isoformat())).encode(),
        DEFAULT_MEASUREMENTS_FILE: (MODELINE + STARTER_MEASUREMENTS).encode(),
        CONFIG_NAME: (CONFIG_HEADER + tomli_w.dumps(document)).encode(),
        # The editors' schema that the modeline above names (yaml-language-server).
        SCHEMA_FILE: schema_text().encode(),
        ".gitignore": GITIGNORE.encode(),
    }


def init_folder(folder: Path, *, today: dt.date) -> tuple[list[Path], list[Path]]:
    """Write the starter files into `folder`, never replacing one; (created, left alone).
    The example KPI starts `today` (the shell's date: nothing below it reads the clock)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{folder}: cannot create folder: {exc.strerror}") from None
    if not folder.is_dir():
        raise WriteError(f"{folder}: not a folder")
    created: list[Path] = []
    kept: list[Path] = []
    for name, data in starter_files(today=today).items():
        path = folder / name
        if not os.path.lexists(path):
            check_folder(folder, path)  # the writers' permission rule (mode bits, also root)
        if create_new_file(path, data) or (name == ".gitignore" and _ignore_locks(path)):
            created.append(path)
        else:
            kept.append(path)
    return created, kept


def _ignore_locks(gitignore: Path) -> bool:
    """Add `*.lock` and `kpitrack.local.toml` to an existing .gitignore that lacks them;
    whether one was added."""
    try:
        data = gitignore.read_bytes()
    except OSError:
        return False
    lines = {line.strip() for line in data.decode("utf-8", "replace").splitlines()}
    missing = [entry for entry in GITIGNORE_ENTRIES if entry not in lines]
    if not missing:
        return False
    if data and not data.endswith(b"\n"):
        data += b"\n"
    added = [line for line in GITIGNORE.splitlines() if line.strip() not in lines]
    check_writable(gitignore)
    atomic_write_bytes(gitignore, data + ("\n".join(added) + "\n").encode())
    return True
