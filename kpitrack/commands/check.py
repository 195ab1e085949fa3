"""Commands: check (to be filled in)."""

from __future__ import annotations
