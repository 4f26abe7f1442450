"""The alignment groups, large to small: a name list with no heavy imports, for the code that
only labels results (the sweep's coordinator, tables); ``alignment`` fits them."""

from __future__ import annotations

__all__ = ["GROUPS"]

GROUPS = ("perm", "rigid", "linear", "ica")
