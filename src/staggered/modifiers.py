"""Effect modifiers: unit characteristics that predict how a site's effect differs.

A modifier (deprivation score, baseline admission rate, rurality, a 0/1 programme type) is a
numeric column with one value per unit. It enters the *effect*, never the counterfactual: each
treated unit's effect curve becomes ``theta(e) + delta_group(e) + x_i . b(e) + delta_unit_i(e)``
(:mod:`staggered.models.curves`), with ``x_i`` the unit's modifiers standardised over the treated
units (:func:`standardised_modifiers`).

The rules here (one function per rule, each raising a :class:`~staggered.errors.PanelError` that
names the rows or units) are called by ``encode_panel``; :func:`unit_values` turns the checked
per-row values into one row per unit. The posterior summaries are in
:mod:`staggered.modifier_effects`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from staggered.errors import PanelError, Rows
from staggered.validation import check_extra_names, varying_message

__all__ = [
    "check_modifier_constant",
    "check_modifier_given",
    "check_modifier_names",
    "check_modifier_varies",
    "read_modifier",
    "standardised_modifiers",
    "unit_modifiers",
    "unit_values",
]


# --------------------------------------------------------------------------------------------
# Effect modifiers: unit characteristics, one value per unit
# --------------------------------------------------------------------------------------------


def check_modifier_names(modifiers: Sequence[Hashable], columns: dict[str, Any]) -> None:
    """Modifiers are named once each and are not the unit, time, outcome, ... columns."""
    check_extra_names(
        modifiers,
        columns,
        kind="Modifier",
        option="--modifier",
        what="A modifier is an extra numeric column describing each unit (e.g. its deprivation "
        "score): drop it from the modifiers.",
    )


def read_modifier(raw: pd.Series, column: Hashable, rows: Rows) -> np.ndarray:
    """A modifier as float64 per row: numeric and finite where given (NaN where empty)."""
    x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    nonnum = np.isnan(x) & raw.notna().to_numpy()
    if nonnum.any():
        raise PanelError(
            f"Modifier column {column!r} has non-numeric values in {rows(nonnum, raw)}. "
            "Modifiers must be numbers: convert these values (e.g. a programme type to 0/1 "
            "columns) or drop the modifier."
        )
    inf = np.isinf(x)
    if inf.any():
        raise PanelError(
            f"Modifier column {column!r} has infinite values in {rows(inf, x)}. Fix these rows."
        )
    return x


def check_modifier_given(
    values: np.ndarray, treated_rows: np.ndarray, column: Hashable, rows: Rows
) -> None:
    """Every row of a unit treated within the panel has the modifier."""
    miss = np.isnan(values) & treated_rows
    if miss.any():
        raise PanelError(
            f"Modifier column {column!r} is missing in {rows(miss)}, rows of units treated "
            "within the panel. Each treated unit needs its value in every row (never-treated "
            "units may leave it empty): fill it in, or drop the modifier."
        )


def check_modifier_constant(
    values: np.ndarray,
    unit_code: np.ndarray,
    unit_labels: np.ndarray,
    column: Hashable,
    rows: Rows,
) -> None:
    """A modifier takes one value in all (non-empty) rows of each unit."""
    given = ~np.isnan(values)
    frame = pd.DataFrame({"u": unit_code[given], "v": values[given]})
    first = frame.groupby("u")["v"].first()
    spread = frame.groupby("u")["v"].agg(lambda v: v.max() - v.min())
    units = spread.index[spread.to_numpy() > 0].to_numpy()
    if not len(units):
        return
    reference = np.full(len(unit_labels), np.nan)
    reference[first.index.to_numpy()] = first.to_numpy()
    differ = given & np.isin(unit_code, units) & (values != reference[unit_code])
    message = varying_message(
        "Modifier",
        column,
        units,
        unit_code[given],
        unit_labels,
        np.array([f"{v:g}" for v in values[given]], dtype=object),
        "",
    )
    raise PanelError(
        f"{message.rstrip()} Rows that differ from the unit's first value: "
        f"{rows(differ, values)}. A modifier describes the unit (e.g. its deprivation score or "
        "baseline admission rate), one value in all its rows: use one value per unit, e.g. "
        "its value in the year before adoption, or make it a covariate if it changes over time."
    )


def check_modifier_varies(unit_values: np.ndarray, treated: np.ndarray, column: Hashable) -> None:
    """A modifier takes more than one value over the treated units (it can be standardised)."""
    ref = unit_values[treated]
    if ref.size and ref.min() == ref.max():
        raise PanelError(
            f"Modifier column {column!r} takes one value ({ref[0]:g}) in every unit treated "
            "within the panel: it cannot explain how their effects differ. Drop the modifier."
        )


def unit_values(values: np.ndarray, unit_idx: np.ndarray, n_units: int) -> np.ndarray:
    """``(U, k)`` each unit's modifier values from ``(N, k)`` per-row values (checked constant).

    NaN where a unit has no value (only never-treated units may lack one).
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full((n_units, values.shape[1]), np.nan)
    for j in range(values.shape[1]):
        given = ~np.isnan(values[:, j])
        out[unit_idx[given], j] = values[given, j]
    return out


def unit_modifiers(
    values: np.ndarray,
    unit_code: np.ndarray,
    unit_labels: np.ndarray,
    treated: np.ndarray,
    names: Sequence[Hashable],
    rows: Rows,
) -> np.ndarray:
    """Check the modifiers (given for treated units, constant within units, varying over them).

    Parameters
    ----------
    values : numpy.ndarray
        ``(N, m)`` per-row values from :func:`read_modifier`.
    unit_code : numpy.ndarray
        ``(N,)`` unit index of each row.
    unit_labels : numpy.ndarray
        ``(U,)`` unit ids.
    treated : numpy.ndarray
        ``(U,)`` bool, the unit adopts within the panel.
    names : sequence
        The ``m`` modifier columns.
    rows : Rows
        Names the rows in messages.

    Returns
    -------
    numpy.ndarray
        ``(U, m)`` one value per unit (NaN for a never-treated unit without one).
    """
    for j, name in enumerate(names):
        check_modifier_given(values[:, j], treated[unit_code], name, rows)
        check_modifier_constant(values[:, j], unit_code, unit_labels, name, rows)
    per_unit = unit_values(values, unit_code, len(unit_labels))
    for j, name in enumerate(names):
        check_modifier_varies(per_unit[:, j], treated, name)
    return per_unit


def standardised_modifiers(design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The treated units' modifiers, standardised over them.

    Parameters
    ----------
    design : staggered.design.Design
        A design whose panel has modifiers.

    Returns
    -------
    x : numpy.ndarray
        ``(n_treated, k)``: mean 0 and sd 1 over the design's treated units, in the order of
        ``design.treated_units`` (the ``treated_unit`` dim).
    mean, sd : numpy.ndarray
        ``(k,)`` the mean and sd used (sd 1 where a modifier is constant over these units:
        then it is only centred).
    """
    raw = design.panel.modifiers[design.treated_units]
    mean = raw.mean(axis=0)
    sd = raw.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (raw - mean) / sd, mean, sd
