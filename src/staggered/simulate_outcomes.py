"""Simulated panels with two correlated outcomes (emergency admissions and A&E attendances).

The scenario of issue 14: the programme cuts emergency admissions with a delay (nothing for
two years, then a ramp to -5% by the fifth year) and leaves A&E attendances alone on average,
while sites differ, and a site that does better than the pooled curve on one outcome tends to
do better on the other. Each outcome has its own counterfactual (intercepts, period effects,
unit trends, negative-binomial noise); the sites' deviations from the pooled curves are random
walks over event time whose yearly steps are correlated across the outcomes with correlation
``rho`` (the model's ``unit_corr``, :mod:`staggered.models.joint`).

The truth is given in the effects layout plus an ``outcome`` column: pooled and unit relative
effects (pooled weighted by expected counts, as the ``pooled`` estimand), and the correlation
``rho`` (scope ``unit``, measure ``step_correlation``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from staggered.simulate import Simulation, _delayed

__all__ = ["OUTCOMES", "simulate_outcomes"]

OUTCOMES = ("emergency_admissions", "ae_attendances")
_BASE_RATE = {"emergency_admissions": 0.09, "ae_attendances": 0.3}  # per person-year


def _adoption(rng: np.random.Generator, n_units: int, n_periods: int, start_year: int):
    """Adoption years (NaN: never treated): two thirds adopt in the middle of the panel."""
    n_treated = int(round(2 * n_units / 3))
    first, last = max(2, n_periods // 3), max(3, n_periods - 3)
    years = np.full(n_units, np.nan)
    years[:n_treated] = start_year + rng.integers(first, last + 1, size=n_treated)
    return years


def _site_walks(
    rng: np.random.Generator, n_units: int, n_steps: int, sd: np.ndarray, rho: float
) -> np.ndarray:
    """``(2, units, steps)`` log deviations: random walks with steps correlated ``rho``."""
    cov = np.array([[1.0, rho], [rho, 1.0]])
    steps = rng.multivariate_normal(np.zeros(2), cov, size=(n_units, n_steps))  # (U, S, 2)
    return sd[:, None, None] * np.cumsum(np.moveaxis(steps, -1, 0), axis=2)


def simulate_outcomes(
    *,
    n_units: int = 30,
    n_periods: int = 12,
    rho: float = 0.8,
    site_sd: tuple[float, float] = (0.03, 0.03),
    dispersion_cv: float = 0.015,
    start_year: int = 2008,
    random_seed: int | None = None,
) -> Simulation:
    """Simulate a yearly panel with two correlated outcomes and known truth.

    Parameters
    ----------
    n_units, n_periods : int
        Areas and years; two thirds of the areas adopt, the rest are never treated.
    rho : float, default 0.8
        Correlation across outcomes of the sites' yearly deviation steps.
    site_sd : tuple of float
        Sd of a site's yearly deviation step on the log effect, per outcome.
    dispersion_cv : float, default 0.015
        Coefficient of variation of the negative-binomial noise (both outcomes).
    start_year : int, default 2008
        First year of the panel.
    random_seed : int, optional
        Seed.

    Returns
    -------
    Simulation
        ``panel`` with columns ``area, period, emergency_admissions, ae_attendances,
        population, start``; ``truth`` with ``outcome, scope, id, event_time, measure,
        value``; ``columns`` ready for :func:`staggered.fit` (``outcome`` a list of both).
    """
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must be in (-1, 1), got {rho}")
    rng = np.random.default_rng(random_seed)
    units = np.array([f"A{i:02d}" for i in range(n_units)], dtype=object)
    years = start_year + np.arange(n_periods)
    adopt = _adoption(rng, n_units, n_periods, start_year)
    pop = rng.uniform(80_000, 300_000, size=n_units).round()
    walks = _site_walks(rng, n_units, n_periods, np.asarray(site_sd, dtype=float), rho)
    uu, tt = np.meshgrid(np.arange(n_units), np.arange(n_periods), indexing="ij")
    e = np.where(np.isnan(adopt)[uu], -1, years[tt] - np.nan_to_num(adopt)[uu]).astype(int)
    treated = e >= 0
    frame = {"area": units[uu.ravel()], "period": years[tt].ravel()}
    truth_rows = []
    for k, name in enumerate(OUTCOMES):
        alpha = np.log(_BASE_RATE[name]) + rng.normal(0.0, 0.15, size=n_units)
        gamma = np.cumsum(rng.normal(0.0, 0.02, size=n_periods))
        trend = rng.normal(0.0, 0.003, size=n_units)
        mu0 = pop[uu] * np.exp(alpha[uu] + gamma[tt] + trend[uu] * (tt - n_periods / 2))
        pooled = np.log1p(_delayed(e.astype(float))) if k == 0 else np.zeros(e.shape)
        tau = np.where(treated, pooled + walks[k][uu, np.maximum(e, 0)], 0.0)
        mu1 = mu0 * np.exp(tau)
        shape = 1.0 / dispersion_cv**2
        frame[name] = rng.poisson(rng.gamma(shape, mu1 / shape)).ravel()
        for et in np.unique(e[treated]):
            cells = treated & (e == et)
            truth_rows.append((name, "pooled", "", et, mu1[cells].sum() / mu0[cells].sum() - 1))
        for i, t in zip(*np.nonzero(treated), strict=True):
            truth_rows.append((name, "unit", units[i], e[i, t], np.expm1(tau[i, t])))
    frame["population"] = pop[uu.ravel()]
    frame["start"] = np.where(np.isnan(adopt), np.nan, adopt)[uu.ravel()]
    truth = pd.DataFrame(truth_rows, columns=["outcome", "scope", "id", "event_time", "value"])
    truth.insert(4, "measure", "relative")
    truth.loc[len(truth)] = ["", "unit", "", -1, "step_correlation", rho]
    return Simulation(
        panel=pd.DataFrame(frame),
        truth=truth,
        params={"rho": rho, "site_sd": tuple(site_sd), "dispersion_cv": dispersion_cv},
        columns={
            "unit": "area",
            "time": "period",
            "outcome": list(OUTCOMES),
            "exposure": "population",
            "adoption": "start",
        },
    )
