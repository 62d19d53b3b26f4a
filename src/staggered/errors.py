"""The :class:`PanelError` and the helpers that word its messages.

Every data-contract message names what is wrong, which rows / units / columns (at most ten shown,
then "and N more"), and how to fix it. The helpers here keep that wording the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["PanelError"]

_MAX_SHOWN = 10


class PanelError(ValueError):
    """A panel violates the data contract.

    The message is one paragraph: what is wrong, which rows / units / columns (at most ten shown,
    then "and N more"), and how to fix it.
    """


def _fmt(items: Sequence[Any] | np.ndarray, limit: int = _MAX_SHOWN) -> str:
    """Join at most ``limit`` items, then say how many more there are."""
    items = list(items)
    shown = ", ".join(str(x) for x in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _label(x: Any) -> str:
    """Show a unit / group id: strings quoted, numbers bare."""
    return repr(x) if isinstance(x, str) else str(x)


class Rows:
    """Name rows of the input DataFrame by their index label, as in ``2 rows (index 4, 9)``.

    Parameters
    ----------
    index : numpy.ndarray
        ``(N,)`` index label of each row.
    """

    def __init__(self, index: np.ndarray) -> None:
        self.index = index

    def __call__(self, mask: np.ndarray, values: Any = None) -> str:
        """Describe the rows where ``mask`` holds, with their ``values`` if given."""
        pos = np.flatnonzero(mask)
        labels = self.index[pos]
        if values is None:
            shown = [_label(x) for x in labels]
        else:
            vals = np.asarray(values, dtype=object)[pos[:_MAX_SHOWN]]
            shown = [f"{_label(x)} ({v!r})" for x, v in zip(labels, vals, strict=False)]
            shown += [_label(x) for x in labels[_MAX_SHOWN:]]
        return f"{_plural(len(pos), 'row')} (index {_fmt(shown)})"
