"""``effects.csv``: the effects table rounded for people.

Programs read full precision from ``posterior.nc`` or :meth:`staggered.Fit.effects`; the CSV
keeps what a reader needs and never uses scientific notation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CSV_RELATIVE_DECIMALS = 6  # relative effects: 0.0001 percentage points
CSV_SIGNIFICANT = 4  # absolute, per_1000, cumulative: 4 significant digits, whole numbers kept
CSV_PROB_DECIMALS = 4  # prob_negative


def _fixed(values: np.ndarray, decimals: np.ndarray) -> list[str]:
    """Fixed-point text (never scientific) without trailing zeros; NaN as empty."""
    out = []
    for v, d in zip(values, decimals, strict=True):
        if not np.isfinite(v):
            out.append("" if np.isnan(v) else str(v))
            continue
        text = f"{v:.{int(d)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        out.append("0" if text == "-0" else text)
    return out


def effects_for_csv(table: pd.DataFrame) -> pd.DataFrame:
    """The effects table with its numbers as rounded text, as ``effects.csv`` holds them.

    ``relative`` effects (``mean, sd, lower, upper``) keep 6 decimals (0.0001 percentage
    points); ``absolute``, ``per_1000`` and ``cumulative`` ones 4 significant digits, whole
    numbers in full (``-83725``, ``12.35``, ``0.004321``); ``prob_negative`` 4 decimals.
    Never scientific notation, no trailing zeros. Full precision: :meth:`Fit.effects`.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`staggered.effects.effects_table` / :meth:`Fit.effects`.

    Returns
    -------
    pandas.DataFrame
        Same rows and columns; the value columns as strings.
    """
    out = table.copy()
    relative = (table["measure"] == "relative").to_numpy()
    for col in ("mean", "sd", "lower", "upper"):
        v = table[col].to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.floor(np.log10(np.abs(v)))
        significant = np.clip(CSV_SIGNIFICANT - 1 - np.nan_to_num(magnitude, neginf=0.0), 0, 12)
        decimals = np.where(relative, CSV_RELATIVE_DECIMALS, significant)
        out[col] = _fixed(v, decimals)
    prob = table["prob_negative"].to_numpy(dtype=np.float64)
    out["prob_negative"] = _fixed(prob, np.full(prob.size, CSV_PROB_DECIMALS))
    out["level"] = _fixed(table["level"].to_numpy(dtype=np.float64), np.full(len(table), 4))
    return out
