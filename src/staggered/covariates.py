"""Covariates of the counterfactual: standardisation and the bad-control check.

Covariates (numeric columns, time-varying or constant within a unit) enter the untreated
counterfactual only, never the effect. Each is standardised over the comparison cells of a fit
(:func:`standardise`), so that its coefficient is the change in the log rate per sd.

A covariate that the programme itself changes is a *bad control*: adjusting for it removes the
part of the effect that works through it. :func:`adoption_shifts` measures, for each covariate,
how far it moves at adoption in treated units beyond its change in not-yet- and never-treated
units over the same periods; :func:`bad_control_notes` words the shifts above
:data:`SHIFT_THRESHOLD`, which ``encode_panel`` warns about (:class:`CovariateWarning`) and
``Panel.summary`` lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "SHIFT_THRESHOLD",
    "SHIFT_WINDOW",
    "CovariateWarning",
    "adoption_shifts",
    "bad_control_notes",
    "standardise",
    "unit_means",
    "untreated_cells",
]

SHIFT_WINDOW = 2  # periods before and after adoption compared by the bad-control check
SHIFT_THRESHOLD = 0.25  # |shift| in sd of the covariate over untreated cells that is flagged


class CovariateWarning(UserWarning):
    """A covariate shifts at adoption in treated units: it may be affected by the programme."""


def untreated_cells(
    unit_idx: np.ndarray, period_idx: np.ndarray, adoption_idx: np.ndarray
) -> np.ndarray:
    """``(N,)`` bool: never-treated units' cells and treated units' cells before adoption."""
    adopt = adoption_idx[unit_idx]
    return (adopt < 0) | (period_idx < adopt)


def standardise(values: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Centre and scale each covariate column by its mean and sd over ``cells``.

    Parameters
    ----------
    values : numpy.ndarray
        ``(N, k)`` covariate values.
    cells : numpy.ndarray
        ``(N,)`` bool, the cells that set the mean and sd (a fit's comparison cells).

    Returns
    -------
    numpy.ndarray
        ``(N, k)`` standardised values: mean 0 and sd 1 over ``cells``. A column constant over
        ``cells`` is only centred (``encode_panel`` refuses covariates constant over all
        untreated cells; a fit's comparison cells can be fewer).
    """
    values = np.asarray(values, dtype=np.float64)
    ref = values[np.asarray(cells, dtype=bool)]
    mean = ref.mean(axis=0)
    sd = ref.std(axis=0)
    return (values - mean) / np.where(sd > 0, sd, 1.0)


def unit_means(
    values: np.ndarray, unit_idx: np.ndarray, cells: np.ndarray, n_units: int
) -> np.ndarray:
    """``(U, k)`` mean of each unit's ``values`` over its ``cells`` (0 for a unit without any)."""
    cells = np.asarray(cells, dtype=bool)
    units = unit_idx[cells]
    sums = np.stack([np.bincount(units, col, n_units) for col in values[cells].T], axis=1)
    return sums / np.maximum(np.bincount(units, minlength=n_units), 1)[:, None]


def _window_means(
    dense: np.ndarray, units: np.ndarray, start: int, stop: int, n_periods: int
) -> np.ndarray:
    """``(len(units), k)`` mean of each unit's observed cells in periods ``start .. stop-1``."""
    block = dense[units, max(start, 0) : min(stop, n_periods)]
    seen = ~np.isnan(block)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen, block, 0.0).sum(axis=1) / seen.sum(axis=1)


def adoption_shifts(
    values: np.ndarray,
    unit_idx: np.ndarray,
    period_idx: np.ndarray,
    adoption_idx: np.ndarray,
    n_periods: int,
    *,
    window: int = SHIFT_WINDOW,
) -> np.ndarray:
    """Shift of each covariate at adoption in treated units, in sd units (a DiD on it).

    For a treated unit adopting in period ``a``: its mean over ``a .. a+window-1`` minus its
    mean over ``a-window .. a-1``, less the same change averaged over units untreated in all
    those periods (never-treated, late and later adopters). The shift is the mean of these
    differences over treated units with cells on both sides, divided by the covariate's sd over
    untreated cells. A covariate that trends alike in all units has a shift near zero; one that
    jumps when units adopt has a shift of the size of the jump. A trend that differs between
    treated and comparison units also shows, as ``window`` times its difference per period.

    Parameters
    ----------
    values : numpy.ndarray
        ``(N, k)`` covariate values per cell.
    unit_idx, period_idx : numpy.ndarray
        ``(N,)`` unit and period index of each cell.
    adoption_idx : numpy.ndarray
        ``(U,)`` adoption period of each unit, -1 if not treated within the panel.
    n_periods : int
        Number of periods ``T`` of the grid.
    window : int, default 2
        Periods on each side of adoption.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` shifts; NaN where no treated unit has cells on both sides of adoption and a
        comparison unit over the same periods.
    """
    values = np.asarray(values, dtype=np.float64)
    n_units, k = adoption_idx.size, values.shape[1]
    dense = np.full((n_units, n_periods, k), np.nan)
    dense[unit_idx, period_idx] = values
    untreated = untreated_cells(unit_idx, period_idx, adoption_idx)
    sd = values[untreated].std(axis=0) if untreated.any() else np.zeros(k)
    total, count = np.zeros(k), np.zeros(k)
    for a in np.unique(adoption_idx[adoption_idx >= 0]):
        cohort = np.flatnonzero(adoption_idx == a)
        comparison = np.flatnonzero((adoption_idx < 0) | (adoption_idx >= a + window))

        def change(units: np.ndarray, a: int = a) -> np.ndarray:
            post = _window_means(dense, units, a, a + window, n_periods)
            pre = _window_means(dense, units, a - window, a, n_periods)
            return post - pre

        comp = change(comparison)
        seen = ~np.isnan(comp)
        if not seen.any():
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            comp_mean = np.where(seen, comp, 0.0).sum(axis=0) / seen.sum(axis=0)
        did = change(cohort) - comp_mean
        ok = ~np.isnan(did)
        total += np.where(ok, did, 0.0).sum(axis=0)
        count += ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((count > 0) & (sd > 0), total / count / sd, np.nan)


def bad_control_notes(
    names: Sequence, shifts: Sequence[float], *, threshold: float = SHIFT_THRESHOLD
) -> list[str]:
    """One sentence per covariate whose ``|shift|`` exceeds ``threshold`` (sd units)."""
    notes = []
    for name, shift in zip(names, shifts, strict=True):
        if shift is not None and np.isfinite(shift) and abs(shift) > threshold:
            notes.append(
                f"covariate {name!r} shifts by {shift:+.2f} sd at adoption in treated units "
                f"(its mean {SHIFT_WINDOW} periods after vs {SHIFT_WINDOW} before, against "
                f"not-yet- and never-treated units; flagged above {threshold:g} sd). If the "
                "programme can change it, it is a bad control: adjusting for it removes part "
                "of the effect. Drop it, or use its value before adoption."
            )
    return notes
