"""Small formatting helpers for user-facing messages."""

from __future__ import annotations

from collections.abc import Sequence


def format_list(items: Sequence, limit: int = 10) -> str:
    """Join items for an error message, showing at most ``limit`` then ``and N more``."""
    items = [str(i) for i in items]
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown
