"""Simulated staggered-rollout panels with known truth.

Every scenario returns a panel in the user data contract (``area, programme, period,
admissions, population, start``) and the truth in the effects layout
(``scope, id, event_time, measure, value``), with the pooled truth defined exactly as the
``pooled`` estimand in :mod:`staggered.effects`: over treated units observed at event time e,
``(sum mu1 - sum mu0) / sum mu0`` with ``mu0`` the expected count without the programme and
``mu1`` the expected count with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from staggered.simulate_cells import (
    _adoption,
    _confounder,
    _effects,
    _long_panel,
    _population,
    _truth,
    _untreated_log_mu,
)

PERIODS_PER_YEAR = {"year": 1, "quarter": 4, "month": 12}
_COLUMNS = {  # role -> column of a simulated panel
    "unit": "area",
    "time": "period",
    "outcome": "admissions",
    "exposure": "population",
    "adoption": "start",
    "group": "programme",
}


@dataclass(frozen=True)
class Simulation:
    """A simulated panel and its truth.

    Attributes
    ----------
    panel : pandas.DataFrame
        Long panel with columns ``area, programme, period, admissions, population, start``
        (scenario ``confounded``: also ``age75_share``).
    truth : pandas.DataFrame
        Columns ``scope, id, event_time, measure, value`` (scopes ``pooled`` and ``unit``,
        measure ``relative``).
    params : dict
        The scenario's settings and drawn parameters (for reference).
    columns : dict
        Role -> column name, ready to pass to :func:`staggered.fit` (``covariates``: the
        columns the counterfactual should adjust for, where the scenario has any).
    """

    panel: pd.DataFrame
    truth: pd.DataFrame
    params: dict = field(default_factory=dict)
    columns: dict = field(default_factory=lambda: dict(_COLUMNS))


# Effect shapes: relative effect (rate ratio - 1) as a function of years since adoption s >= 0.
def _delayed(s: np.ndarray) -> np.ndarray:
    """Nothing for two years, then a linear ramp to -5% by the fifth year (s = 4), then flat."""
    return -0.05 * np.clip((s - 1.0) / 3.0, 0.0, 1.0)


def _jcurve(s: np.ndarray) -> np.ndarray:
    """+3% in the first two years (unmet need found), falling to -5% by year six."""
    return np.where(s < 2.0, 0.03, 0.03 - 0.08 * np.clip((s - 1.0) / 4.0, 0.0, 1.0))


def _temporary(s: np.ndarray) -> np.ndarray:
    """A 4% reduction in years 1-3 after adoption only."""
    return np.where((s >= 1.0) & (s < 4.0), -0.04, 0.0)


def _step(s: np.ndarray) -> np.ndarray:
    """An immediate, lasting 4% reduction."""
    return np.full_like(s, -0.04, dtype=float)


def _null(s: np.ndarray) -> np.ndarray:
    return np.zeros_like(s, dtype=float)


@dataclass(frozen=True)
class Scenario:
    """Settings of one simulation scenario (site variation is multiplicative on log effect)."""

    shape: Callable[[np.ndarray], np.ndarray]
    group_sd: float = 0.25  # sd of programme multipliers on the log effect
    unit_sd: float = 0.35  # sd of area multipliers on the log effect
    ar_rho: float = 0.0  # AR(1) shocks on the log rate
    ar_sd: float = 0.0
    select_on_shock: bool = False  # adoption right after a high shock (regression to the mean)
    lead: int = 0  # the effect starts this many periods before the official adoption
    treated_trend: float = 0.0  # extra yearly log-rate trend of eventually treated areas
    factor_amp: float = 0.0  # amplitude of a latent 10-year cycle on the log rate
    factor_treated_shift: float = 0.0  # treated areas load this much more on the cycle
    confounder_coef: float = 0.0  # log-rate change per percentage point of ``age75_share``
    confounder_treated_shift: float = 0.0  # treated areas' extra loading on its acceleration
    description: str = ""


SCENARIOS: dict[str, Scenario] = {
    "delayed": Scenario(_delayed, description="no effect for two years, then a ramp to -5%"),
    "jcurve": Scenario(_jcurve, description="early rise (+3%) turning into a later reduction"),
    "temporary": Scenario(_temporary, description="a 4% reduction in years 1-3 only"),
    "clustered": Scenario(
        _delayed, group_sd=0.6, unit_sd=0.15, description="delayed, programme-level variation"
    ),
    "null-rtm": Scenario(
        _null,
        group_sd=0.0,
        unit_sd=0.0,
        ar_rho=0.6,
        ar_sd=0.04,
        select_on_shock=True,
        description="no effect; sites adopt after a high AR(1) shock (regression to the mean)",
    ),
    "diverging": Scenario(
        _delayed,
        treated_trend=0.008,
        description="delayed effect; treated areas' admissions were already rising 0.8%/year "
        "faster (non-parallel trends)",
    ),
    "factor": Scenario(
        _delayed,
        factor_amp=0.04,
        factor_treated_shift=1.0,
        description="delayed effect; a latent 10-year cycle (amplitude 4%) loads more on treated "
        "areas (interactive confounding that period effects and linear trends cannot absorb)",
    ),
    "confounded": Scenario(
        _delayed,
        confounder_coef=0.04,
        confounder_treated_shift=0.8,
        description="delayed effect; an observed time-varying confounder (age75_share, the "
        "share aged 75+) rises faster in areas that adopt and raises admissions 4% per point "
        "(fit with --covariate age75_share; without it the estimates are biased upwards)",
    ),
    "anticipation": Scenario(
        _step,
        lead=1,
        description="an immediate 4% reduction that starts one period before official adoption",
    ),
}


def _period_labels(start_year: int, n_periods: int, freq: str) -> list[str]:
    code = {"year": "Y", "quarter": "Q", "month": "M"}[freq]
    first = (
        pd.Period(f"{start_year}", freq=code)
        if freq == "year"
        else pd.Period(f"{start_year}-01", freq=code)
    )
    periods = pd.period_range(first, periods=n_periods, freq=code)
    if freq == "year":
        return [str(p.year) for p in periods]
    if freq == "quarter":
        return [f"{p.year}Q{p.quarter}" for p in periods]
    return [f"{p.year}-{p.month:02d}" for p in periods]


def simulate(
    scenario: str = "delayed",
    *,
    n_units: int = 150,
    n_groups: int = 20,
    n_periods: int | None = None,
    start_year: int = 2010,
    freq: str = "year",
    adoption_years: tuple[int, ...] = (2014, 2015, 2016, 2017),
    never_treated_share: float = 0.3,
    rate_per_1000: float = 105.0,
    growth: float = 0.025,
    unit_trend_sd: float = 0.0,
    dispersion_cv: float = 0.01,
    random_seed: int | None = 0,
    model: str = "negbin-rw",
    site_sd: float | None = None,
) -> Simulation:
    """Simulate a staggered-rollout panel of emergency admissions with a known effect.

    Parameters
    ----------
    scenario : str
        One of :data:`SCENARIOS` (``delayed``, ``jcurve``, ``temporary``, ``clustered``,
        ``null-rtm``, ``diverging``, ``factor``, ``confounded``, ``anticipation``), or
        ``prior``: every
        parameter drawn from the prior of spec ``model`` (see
        :func:`staggered.sbc_prior.simulate_from_prior`; only the panel-size arguments apply), or
        ``two-outcomes``: emergency admissions with a delayed effect and A&E attendances with
        none, sites' deviations correlated 0.8 across them (yearly; see
        :func:`staggered.simulate_outcomes.simulate_outcomes`, default 12 periods; only
        ``n_units``, ``n_periods``, ``start_year`` and ``random_seed`` apply).
    n_units, n_groups : int
        Number of areas and programmes. Treated areas are spread over the programmes;
        never-treated areas have an empty programme (as ``start``): they belong to none.
    n_periods : int, optional
        Number of periods; default 14 years' worth at the chosen frequency.
    start_year : int
        First calendar year of the panel.
    freq : {"year", "quarter", "month"}
        Panel frequency.
    adoption_years : tuple of int
        Adoption cohorts (start of the year); a treated area adopts in one of them.
    never_treated_share : float
        Share of areas never treated.
    rate_per_1000 : float
        Admissions per 1,000 population per year at the start.
    growth : float
        Common yearly growth of the admission rate.
    unit_trend_sd : float
        Standard deviation of area-specific yearly trends on the log rate.
    dispersion_cv : float
        Extra-Poisson coefficient of variation of the negative-binomial noise
        (``phi = 1 / cv**2``).
    random_seed : int, optional
        Seed of the NumPy generator.
    model : str, default "negbin-rw"
        Spec whose prior the ``prior`` scenario draws from.
    site_sd : float, optional
        Override the scenario's programme and area variation of the effect (both sds);
        ``0`` gives every site the same true effect curve.

    Returns
    -------
    Simulation
        The panel, the truth and the parameters.
    """
    if scenario in ("prior", "two-outcomes"):
        return _other_simulator(
            scenario,
            model=model,
            n_units=n_units,
            n_groups=n_groups,
            n_periods=n_periods,
            start_year=start_year,
            freq=freq,
            random_seed=random_seed,
        )
    if scenario not in SCENARIOS:
        raise ValueError(
            f"unknown scenario {scenario!r}; choose one of "
            f"{[*sorted(SCENARIOS), 'prior', 'two-outcomes']}"
        )
    if freq not in PERIODS_PER_YEAR:
        raise ValueError(f"freq must be one of {sorted(PERIODS_PER_YEAR)}, got {freq!r}")
    sc = SCENARIOS[scenario]
    if site_sd is not None:
        sc = dataclasses.replace(sc, group_sd=site_sd, unit_sd=site_sd)
    rng = np.random.default_rng(random_seed)
    ppy = PERIODS_PER_YEAR[freq]
    n_periods = 14 * ppy if n_periods is None else n_periods
    labels = _period_labels(start_year, n_periods, freq)
    years = start_year + np.arange(n_periods) / ppy  # calendar time in years

    treated, group, adopt_year = _adoption(
        rng, n_units, n_groups, never_treated_share, adoption_years
    )
    population = _population(rng, n_units, years - start_year)
    log_mu0, adopt_year = _untreated_log_mu(
        rng,
        sc,
        population,
        treated,
        adopt_year,
        years,
        ppy=ppy,
        start_year=start_year,
        adoption_years=adoption_years,
        rate_per_1000=rate_per_1000,
        growth=growth,
        unit_trend_sd=unit_trend_sd,
    )
    covariate = None
    if sc.confounder_coef:
        covariate = _confounder(rng, sc, treated, years - start_year)
        log_mu0 = log_mu0 + sc.confounder_coef * covariate
    event_time, is_treated_cell, tau = _effects(
        rng, sc, treated, group, adopt_year, years, ppy=ppy, n_groups=n_groups
    )
    mu0 = np.exp(log_mu0)
    mu1 = mu0 * np.exp(tau)

    phi = 1.0 / dispersion_cv**2
    # NB(mu, phi) as a gamma-Poisson mixture
    admissions = rng.poisson(rng.gamma(phi, mu1 / phi))

    area_ids = np.array([f"E{9000 + i:05d}" for i in range(n_units)])
    ui, ti = np.meshgrid(np.arange(n_units), np.arange(n_periods), indexing="ij")
    ui, ti = ui.ravel(), ti.ravel()
    panel = _long_panel(
        area_ids, ui, ti, treated, group, n_groups, adopt_year, labels, freq, admissions, population
    )
    truth = _truth(area_ids[ui], event_time, is_treated_cell, mu0, mu1, tau)
    params = {
        "scenario": scenario,
        "freq": freq,
        "n_units": n_units,
        "n_groups": n_groups,
        "n_periods": n_periods,
        "dispersion_cv": dispersion_cv,
        "unit_trend_sd": unit_trend_sd,
        "random_seed": random_seed,
    }
    if covariate is None:
        return Simulation(panel=panel, truth=truth, params=params)
    panel["age75_share"] = covariate.ravel().round(4)
    params["confounder_coef"] = sc.confounder_coef
    columns = {**_COLUMNS, "covariates": ["age75_share"]}
    return Simulation(panel=panel, truth=truth, params=params, columns=columns)


def _other_simulator(
    scenario: str,
    *,
    model: str,
    n_units: int,
    n_groups: int,
    n_periods: int | None,
    start_year: int,
    freq: str,
    random_seed: int | None,
) -> Simulation:
    """The ``prior`` and ``two-outcomes`` scenarios, simulated by their own modules."""
    if scenario == "prior":
        from staggered.sbc_prior import simulate_from_prior

        return simulate_from_prior(
            model,
            n_units=n_units,
            n_groups=n_groups,
            n_periods=10 if n_periods is None else n_periods,
            freq=freq,
            random_seed=0 if random_seed is None else random_seed,
        )
    if scenario == "two-outcomes":
        from staggered.simulate_outcomes import simulate_outcomes

        if freq != "year":
            raise ValueError("the two-outcomes scenario is yearly: use freq='year'")
        return simulate_outcomes(
            n_units=n_units,
            n_periods=12 if n_periods is None else n_periods,
            start_year=start_year,
            random_seed=random_seed,
        )
    raise ValueError(f"not a delegated scenario: {scenario!r}")
