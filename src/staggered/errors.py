"""The :class:`PanelError` and the helpers that word its messages.

Every data-contract message names what is wrong, which rows / units / columns (at most ten shown,
then "and N more"), and how to fix it. The helpers here keep that wording the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["CSV_LINES", "PanelError"]

# key of DataFrame.attrs set by read_panel_csv: the index holds the CSV line of each row
CSV_LINES = "staggered_csv_lines"

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
    """Name rows of the input by their index label, as in ``2 rows (index 4, 9)``.

    Rows of a CSV read by :func:`staggered.data.read_panel_csv` are named by their line in the
    file instead (``2 rows (lines 6, 11)``): its index holds the line numbers.

    Parameters
    ----------
    index : numpy.ndarray
        ``(N,)`` index label (or CSV line number) of each row.
    lines : bool, default False
        Whether ``index`` holds CSV line numbers.
    """

    def __init__(self, index: np.ndarray, *, lines: bool = False) -> None:
        self.index = index
        self.lines = lines

    def __call__(self, mask: np.ndarray, values: Any = None) -> str:
        """Describe the rows where ``mask`` holds, with their ``values`` if given.

        When every value differs, each row is shown with its value (``index 4 ('x'), 9
        ('y')``); when values repeat, the rows are listed and then the distinct values with
        their counts, most frequent first (``index 0, 1, 2, 3; 2 distinct values: '01/04/2010'
        (2 rows), '01/04/2011' (2 rows)``, or ``index 0, 1; all '2011-12'``).
        """
        pos = np.flatnonzero(mask)
        labels = self.index[pos]
        word = ("line" if len(pos) == 1 else "lines") if self.lines else "index"
        head = _plural(len(pos), "row")
        if values is None:
            return f"{head} ({word} {_fmt([_label(x) for x in labels])})"
        shown = [repr(v) for v in np.asarray(values, dtype=object)[pos]]
        counts: dict[str, int] = {}
        for text in shown:
            counts[text] = counts.get(text, 0) + 1
        if len(counts) == len(shown):
            pairs = [f"{_label(x)} ({v})" for x, v in zip(labels, shown[:_MAX_SHOWN], strict=False)]
            pairs += [_label(x) for x in labels[_MAX_SHOWN:]]
            return f"{head} ({word} {_fmt(pairs)})"
        distinct = sorted(counts.items(), key=lambda kv: -kv[1])  # stable: first seen first
        if len(distinct) == 1:
            values_text = f"all {distinct[0][0]}"
        else:
            values_text = f"{len(distinct)} distinct values: " + _fmt(
                [f"{v} ({_plural(n, 'row')})" for v, n in distinct]
            )
        return f"{head} ({word} {_fmt([_label(x) for x in labels])}; {values_text})"
