"""The steps of one simulated panel (:func:`staggered.simulate.simulate`), cell by cell.

Adoption (which areas, programmes and years), untreated expected counts (rates, trends,
period shocks, latent cycles, AR(1) shocks), the true effect of every cell, the long panel and
the truth table. Each step takes the generator and draws in a fixed order, so a seed gives the
same panel as ever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from staggered.simulate import Scenario


def _adoption(
    rng: np.random.Generator,
    n_units: int,
    n_groups: int,
    never_treated_share: float,
    adoption_years: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Treated areas, their programme (-1: none) and adoption year (0: never treated)."""
    n_treated = int(round(n_units * (1.0 - never_treated_share)))
    treated = np.zeros(n_units, dtype=bool)
    treated[rng.choice(n_units, n_treated, replace=False)] = True
    group = np.full(n_units, -1)
    group[treated] = rng.integers(0, n_groups, n_treated)
    # programmes adopt together, areas inside one programme at the programme's start
    group_year = rng.choice(np.asarray(adoption_years), n_groups)
    adopt_year = np.where(treated, group_year[np.maximum(group, 0)], 0)
    return treated, group, adopt_year


def _population(rng: np.random.Generator, n_units: int, t_years: np.ndarray) -> np.ndarray:
    """Populations (units, periods): 150,000 to 1.2 million, each growing about 0.5% a year."""
    population0 = np.exp(rng.uniform(np.log(150_000), np.log(1_200_000), n_units))
    pop_growth = rng.normal(0.005, 0.003, n_units)
    return np.round(population0[:, None] * np.exp(pop_growth[:, None] * t_years[None, :]))


def _untreated_log_mu(
    rng: np.random.Generator,
    sc: Scenario,
    population: np.ndarray,
    treated: np.ndarray,
    adopt_year: np.ndarray,
    years: np.ndarray,
    *,
    ppy: int,
    start_year: int,
    adoption_years: tuple[int, ...],
    rate_per_1000: float,
    growth: float,
    unit_trend_sd: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Untreated log expected counts (units, periods) and the adoption years.

    The adoption years change only in a scenario that selects sites on their shocks.
    """
    n_units, n_periods = population.shape
    log_rate0 = np.log(rate_per_1000 / 1000.0 / ppy) + rng.normal(0.0, 0.15, n_units)
    period_shock = rng.normal(0.0, 0.01, n_periods)
    trend = rng.normal(0.0, unit_trend_sd, n_units) if unit_trend_sd > 0 else np.zeros(n_units)
    trend = trend + np.where(treated, sc.treated_trend, 0.0)
    t_years = years - start_year
    log_mu0 = (
        np.log(population)
        + log_rate0[:, None]
        + growth * t_years[None, :]
        + period_shock[None, :]
        + trend[:, None] * (t_years[None, :] - t_years.mean())
    )
    if sc.factor_amp > 0:
        # loadings vary within both groups (so the cycle is learnt from comparison areas) and
        # are higher for treated areas; their mean is absorbed by period effects
        cycle = sc.factor_amp * np.sin(2.0 * np.pi * t_years / 10.0)
        loading = rng.normal(0.0, 0.7, n_units) + np.where(treated, sc.factor_treated_shift, 0.0)
        log_mu0 = log_mu0 + loading[:, None] * cycle[None, :]
    if sc.ar_sd > 0:
        rho = sc.ar_rho ** (1.0 / ppy)
        innov_sd = sc.ar_sd * np.sqrt(1 - rho**2)
        u = np.zeros((n_units, n_periods))
        u[:, 0] = rng.normal(0.0, sc.ar_sd, n_units)
        for t in range(1, n_periods):
            u[:, t] = rho * u[:, t - 1] + rng.normal(0.0, innov_sd, n_units)
        log_mu0 = log_mu0 + u
        if sc.select_on_shock:
            # a treated area adopts at the first cohort date that follows a high period (shock
            # above half a stationary sd), else at the last cohort date: the choice depends on past
            # shocks only, as when sites are picked because last year's admissions were high
            cohort_years = np.asarray(adoption_years)
            idx_prev = np.searchsorted(years, cohort_years - 1.0 / ppy)
            high = u[:, idx_prev] > 0.5 * sc.ar_sd  # (units, cohorts)
            first_high = np.where(high.any(axis=1), np.argmax(high, axis=1), high.shape[1] - 1)
            adopt_year = np.where(treated, cohort_years[first_high], 0)
    return log_mu0, adopt_year


def _confounder(
    rng: np.random.Generator, sc: Scenario, treated: np.ndarray, t_years: np.ndarray
) -> np.ndarray:
    """An observed time-varying confounder, the share of the population aged 75+ (in %).

    Every area ages 0.1 points a year from its own level; on top, ageing accelerates
    (a quadratic in calendar time, 2 points by the end for a loading of 1), and areas that
    adopt load ``confounder_treated_shift`` more on the acceleration than comparison areas.
    The curve is smooth, so it does not shift at adoption (not a bad control), and the
    loadings vary within both groups, so comparison areas identify its coefficient. Unit
    trends absorb the linear part of the acceleration, not its curvature.
    """
    n_units = treated.size
    level = rng.normal(9.0, 1.5, n_units)
    loading = rng.normal(0.3, 0.4, n_units) + np.where(treated, sc.confounder_treated_shift, 0.0)
    acceleration = 2.0 * (t_years / t_years.max()) ** 2
    noise = rng.normal(0.0, 0.03, (n_units, t_years.size))
    return level[:, None] + 0.1 * t_years[None, :] + loading[:, None] * acceleration + noise


def _effects(
    rng: np.random.Generator,
    sc: Scenario,
    treated: np.ndarray,
    group: np.ndarray,
    adopt_year: np.ndarray,
    years: np.ndarray,
    *,
    ppy: int,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event time, treated cells (from the lead on) and the true log effect of every cell."""
    group_mult = 1.0 + rng.normal(0.0, sc.group_sd, n_groups)
    unit_mult = 1.0 + rng.normal(0.0, sc.unit_sd, treated.size)
    mult = np.where(treated, group_mult[np.maximum(group, 0)] * unit_mult, 0.0)
    event_time = np.where(
        treated[:, None], np.round((years[None, :] - adopt_year[:, None]) * ppy), -1
    ).astype(int)
    is_treated_cell = treated[:, None] & (event_time >= -sc.lead)
    s = np.maximum(event_time + sc.lead, 0) / ppy
    tau = np.where(is_treated_cell, mult[:, None] * np.log1p(sc.shape(s)), 0.0)
    return event_time, is_treated_cell, tau


def _long_panel(
    area_ids: np.ndarray,
    ui: np.ndarray,
    ti: np.ndarray,
    treated: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    adopt_year: np.ndarray,
    labels: list[str],
    freq: str,
    admissions: np.ndarray,
    population: np.ndarray,
) -> pd.DataFrame:
    """The long panel, one row per area x period (``ui``, ``ti``: each row's indices)."""
    prog_ids = np.array([f"P{g + 1:02d}" for g in range(n_groups)])
    programme = np.where(treated, prog_ids[np.maximum(group, 0)], "")  # never treated: none
    start = np.where(treated, adopt_year.astype(str), "")
    period_col = np.asarray(labels, dtype=object)[ti]
    if freq == "year":
        period_col = np.asarray([int(p) for p in labels])[ti]
    return pd.DataFrame(
        {
            "area": area_ids[ui],
            "programme": programme[ui],
            "period": period_col,
            "admissions": admissions.ravel().astype(np.int64),
            "population": population.ravel().astype(np.int64),
            "start": start[ui],
        }
    )


def _truth(
    cell_area: np.ndarray,
    event_time: np.ndarray,
    is_treated_cell: np.ndarray,
    mu0: np.ndarray,
    mu1: np.ndarray,
    tau: np.ndarray,
) -> pd.DataFrame:
    """True pooled (expected-count weighted) and unit relative effects by event time."""
    rows = []
    cell_e = event_time.ravel()
    cell_t = is_treated_cell.ravel()
    m0, m1 = mu0.ravel(), mu1.ravel()
    for e in np.unique(cell_e[cell_t]):
        sel = cell_t & (cell_e == e)
        rows.append(("pooled", "", int(e), "relative", m1[sel].sum() / m0[sel].sum() - 1.0))
    unit_truth = pd.DataFrame(
        {
            "scope": "unit",
            "id": cell_area[cell_t],
            "event_time": cell_e[cell_t],
            "measure": "relative",
            "value": np.expm1(tau.ravel()[cell_t]),
        }
    )
    return pd.concat(
        [pd.DataFrame(rows, columns=list(unit_truth.columns)), unit_truth], ignore_index=True
    )
