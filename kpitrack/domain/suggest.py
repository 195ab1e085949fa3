"""Did-you-mean suggestions for misspelt keys and ids."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `word`, if one is close enough to be a likely typo."""
    pool = list(candidates)
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    # A short word that begins exactly one candidate (`grow` for `grow-revenue`).
    starting = [c for c in pool if word and c.startswith(word)]
    return starting[0] if len(starting) == 1 else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean `x`?)' or ''."""
    match = closest(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""
