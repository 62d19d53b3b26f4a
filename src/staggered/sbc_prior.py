"""Prior simulation for simulation-based calibration: panels drawn from a spec's own prior.

The simulator is the fitted model itself (``pm.sample_prior_predictive`` on the same PyMC
model, with fixed prior centres so that the prior does not depend on the simulated data), so it
cannot drift from the model; specs whose AR term conditions on the previous observed outcome
are drawn period by period (:func:`prior_outcomes`).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from staggered.covariates import standardise, unit_means
from staggered.data import encode_panel
from staggered.design import Design, build_design
from staggered.effects import estimand_draws
from staggered.models import ModelSpec, build_model, load_spec
from staggered.models.builder import selection_cells, selection_waves
from staggered.models.terms import season_units, unit_season_basis
from staggered.simulate import simulate

# fixed prior centres, so that the prior does not depend on the simulated data
COUNT_PRIOR_LOC = float(np.log(105.0 / 1000.0))
NORMAL_PRIOR_LOC, NORMAL_PRIOR_SCALE = 0.0, 1.0
SCALES = (
    "sigma_theta",
    "sigma_group",
    "sigma_group_start",
    "sigma_unit",
    "sigma_unit_start",
    "sigma_beta",
    "sigma_season",
    "dispersion_cv",
    "sigma_y",
)


def template_design(
    *,
    n_units: int,
    n_groups: int,
    n_periods: int,
    freq: str,
    random_seed: int,
    n_covariates: int = 0,
) -> Design:
    """Panel structure (units, periods, adoption, programmes, population) for SBC replicates.

    With ``n_covariates``, time-varying covariates ``covariate_1, ...`` join the panel (each a
    unit level plus a unit drift plus noise, seeded by ``random_seed``), so that the fitted and
    simulating models have covariate coefficients (``covariate_coef``, ranked by SBC).
    """
    sim = simulate(
        "delayed",
        n_units=n_units,
        n_groups=n_groups,
        n_periods=n_periods,
        freq=freq,
        start_year=2013,
        adoption_years=(2015, 2016, 2017),
        random_seed=random_seed,
    )
    frame = sim.panel
    names = [f"covariate_{k + 1}" for k in range(n_covariates)]
    if names:
        rng = np.random.default_rng([random_seed, 7])
        unit = pd.factorize(frame[sim.columns["unit"]])[0]
        step = pd.factorize(frame[sim.columns["time"]], sort=True)[0]
        frame = frame.copy()
        for name in names:
            level, drift = rng.normal(size=(2, unit.max() + 1))
            noise = rng.normal(scale=0.3, size=len(frame))
            frame[name] = level[unit] + 0.1 * drift[unit] * step + noise
    panel = encode_panel(frame, **sim.columns, covariates=names or None)
    return build_design(panel)


def simulate_from_prior(
    model: str | ModelSpec = "negbin-rw",
    *,
    n_units: int = 30,
    n_groups: int = 4,
    n_periods: int = 10,
    freq: str = "year",
    random_seed: int = 0,
):
    """The ``prior`` scenario: parameters and outcomes drawn from a spec's own prior.

    Returns
    -------
    staggered.simulate.Simulation
        Panel in the user data contract, truth (pooled and unit relative effects, or absolute
        for the Gaussian spec) and the drawn parameters (scalars) in ``params``.
    """
    from staggered.simulate import Simulation

    spec = load_spec(model)
    design = template_design(
        n_units=n_units, n_groups=n_groups, n_periods=n_periods, freq=freq, random_seed=random_seed
    )
    sim_model = build_model(design, spec, **prior_settings(spec))
    logging.getLogger("pymc").setLevel(logging.WARNING)
    prior = pm.sample_prior_predictive(draws=1, model=sim_model, random_seed=random_seed)
    y = prior_outcomes(prior, design, spec, random_seed)[0]
    p = design.panel
    sim_design = with_outcome(design, y, "count" if spec.is_count else "gaussian")
    measure = "relative" if spec.is_count else "absolute"
    rows = []
    for scope in ("pooled", "unit"):
        ids, event_times, draws = estimand_draws(prior.prior, sim_design, spec, scope=scope)
        rows.append(
            pd.DataFrame(
                {
                    "scope": scope,
                    "id": ids,
                    "event_time": np.asarray(event_times, dtype=int),
                    "measure": measure,
                    "value": draws[measure][0],
                }
            )
        )
    frame = p.to_frame()
    panel = pd.DataFrame(
        {
            "area": frame["unit"],
            "programme": frame["group"],
            "period": frame["period"].astype(int) if freq == "year" else frame["period"],
            "admissions": y.astype(np.int64) if spec.is_count else y,
            "population": p.exposure.astype(np.int64),
            "start": frame["adoption"],
        }
    )
    params = {
        name: float(prior.prior[name].values.ravel()[0])
        for name in SCALES + ("mu_alpha", "sigma_alpha")
        if name in prior.prior
    }
    params.update({"scenario": "prior", "model": spec.name, "random_seed": random_seed})
    return Simulation(panel=panel, truth=pd.concat(rows, ignore_index=True), params=params)


def prior_outcomes(prior, design: Design, spec: ModelSpec, random_seed: int) -> np.ndarray:
    """Simulated outcomes (draws x cells) for prior draws ``prior`` (an InferenceData).

    PyMC's prior predictive draws for every spec except ``ar1`` ones, whose AR term conditions
    on the previous observed outcome: those are drawn period by period (:func:`_ar1_outcomes`),
    and ``prior.prior["eta0"]`` is overwritten in place with the counterfactual at the drawn
    outcomes (PyMC computed it with the template outcome in the lags).
    """
    if not spec.ar1:
        return prior.prior_predictive["y"].values[0]
    y, eta0 = _ar1_outcomes(prior.prior, design, spec, random_seed)
    # the prior's eta0 deterministic was computed with the template outcome in the lags
    prior.prior["eta0"].values[0] = eta0[:, design.effect_cells]
    return y


def _ar1_outcomes(
    params: xr.Dataset, design: Design, spec: ModelSpec, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw outcomes of an ``ar1`` spec period by period (mirrors the model builder).

    Returns the outcomes and the counterfactual linear predictor ``eta0`` (draws x cells).

    ``log mu_it = f_it + tau_it [+ psi] + rho^k d_i,prev`` with ``d = log(y + 0.5) - f - tau``
    (counts; ``psi`` the selection shock, on the year before adoption)
    or ``y - f - tau`` (Gaussian); a unit's first cell has its noise scale inflated by
    ``1 / sqrt(1 - rho^2)``. SBC of the AR specs checks this simulator and the model together.
    """
    p = design.panel

    def value(name: str) -> np.ndarray:
        return params[name].values[0]  # (draws, ...)

    fixed = value("alpha")[:, p.unit_idx] + value("gamma")[:, p.period_idx]
    if spec.unit_trend:
        fixed = fixed + value("beta")[:, p.unit_idx] * design.period_time[p.period_idx]
    if spec.unit_season:
        basis, names = unit_season_basis(design, spec.unit_season)
        coef = np.zeros((fixed.shape[0], len(names), p.n_units))  # draws x term x unit
        coef[:, :, season_units(design)] = value("sigma_season")[:, None, None] * value("season_z")
        fixed = fixed + np.einsum("rkc,ck->rc", coef[:, :, p.unit_idx], basis[p.period_idx])
    if spec.factors:
        loading = value("factor_loading_z") * value("sigma_factor")[:, None, :]
        factor = value("factor")[:, :, p.period_idx]
        fixed = fixed + np.einsum("rck,rkc->rc", loading[:, p.unit_idx], factor)
    if p.n_covariates:
        # the within-unit part of z . b (the unit means' part is in alpha's mean, as built)
        comp = ~design.effect_cell
        z = standardise(p.covariates, comp)
        zbar = unit_means(z, p.unit_idx, comp, p.n_units)
        fixed = fixed + value("covariate_coef") @ (z - zbar[p.unit_idx]).T
    if spec.is_count:
        fixed = fixed + np.log(p.exposure)
    tau = np.zeros_like(fixed)
    tau[:, design.effect_cells] = value("tau")
    rho = value("ar_rho")[:, None]
    # the selection shift sits in eta but not in the expected log rate, so it carries over
    shift = np.zeros_like(fixed)
    if "selection_shock" in params:
        cells = selection_cells(design)
        psi = value("selection_shock")
        if psi.ndim == 2:  # one shift per adoption wave
            psi = psi[:, selection_waves(design, cells)[1]]
        else:
            psi = psi[:, None]
        shift[:, cells] = psi
    lag, gap = design.ar_lag
    noise_mult = np.where(lag[None, :] < 0, 1.0 / np.sqrt(1.0 - rho**2), 1.0)
    rng = np.random.default_rng([seed, 1])
    y = np.zeros_like(fixed)
    eta0 = fixed.copy()
    deviation = np.zeros_like(fixed)
    for t in range(p.n_periods):
        cells = np.flatnonzero(p.period_idx == t)
        eta = fixed[:, cells] + tau[:, cells] + shift[:, cells]
        has = lag[cells] >= 0
        carried = rho ** gap[cells][has] * deviation[:, lag[cells][has]]
        eta[:, has] += carried
        eta0[:, cells[has]] += carried
        if spec.likelihood == "negbin":
            phi = 1.0 / (value("dispersion_cv")[:, None] * noise_mult[:, cells]) ** 2
            y_t = rng.poisson(rng.gamma(phi, np.exp(eta) / phi)).astype(float)
        elif spec.likelihood == "poisson":
            y_t = rng.poisson(np.exp(eta)).astype(float)
        else:
            y_t = eta + value("sigma_y")[:, None] * noise_mult[:, cells] * rng.normal(
                size=eta.shape
            )
        y[:, cells] = y_t
        observed = np.log(y_t + 0.5) if spec.is_count else y_t
        deviation[:, cells] = observed - fixed[:, cells] - tau[:, cells]
    return y, eta0


def with_outcome(design: Design, y: np.ndarray, family: str) -> Design:
    """``design`` with the outcome ``y`` (one simulated panel on the template's structure)."""
    panel = dataclasses.replace(design.panel, y=np.asarray(y, dtype=np.float64), family=family)
    return dataclasses.replace(design, panel=panel)


def prior_settings(spec: ModelSpec) -> dict:
    """Fixed prior centre and scale of SBC's models (not learnt from the simulated data)."""
    if spec.is_count:
        return {"prior_loc": COUNT_PRIOR_LOC, "prior_scale": None}
    return {"prior_loc": NORMAL_PRIOR_LOC, "prior_scale": NORMAL_PRIOR_SCALE}
