"""Reading: KPI files and data sources into the model, with every problem located."""

import os
from collections.abc import Mapping

# The row cache (reading/rowcache.py): its folder, set by the shell (None: no cache), and
# the size from which a file's checked columns are cached (a whole load's are cached when
# any file reaches it). Here, so that a command that reads only small files never imports
# the cache.
row_cache_folder: str | None = None
ROW_CACHE_MIN_CHARS = 8 * 1024


def default_row_cache_folder(environ: Mapping[str, str]) -> str | None:
    """`$XDG_CACHE_HOME/kpitrack` when that is an absolute path, else `~/.cache/kpitrack`
    (a relative one, against the XDG spec, could point into the workspace: ignored);
    None (no cache) when there is no home folder to put it in."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kpitrack") if os.path.isabs(base) else None
