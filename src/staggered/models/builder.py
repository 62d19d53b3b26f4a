"""Build the PyMC model for a design and a spec (never samples).

log mu_it = log exposure_it + alpha_i + gamma_t [+ beta_i * t] [+ s_i . h_t] [+ lambda_i . f_t]
            [+ z_it . b]
            [+ rho^k * the unit's untreated deviation in its previous period] + D_it * tau_i(e_it)
tau_i(e)  = theta(e) + delta_group(i)(e) + delta_i(e)

The counterfactual's terms are built in :mod:`staggered.models.terms`, the effect curves in
:mod:`staggered.models.curves` (random walks over event time,
step priors per year; independent placebo effects in the separate pre-trend check fit). Unit
intercepts are centred (the counterfactual is data-rich); period effects are orthogonal to the
intercept and to the common trend, and unit trends are non-centred around that common trend,
so that no flat direction of the likelihood is left to the sampler.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from staggered.design import Design
from staggered.models.curves import effect_curves, steps_per_year
from staggered.models.spec import ModelSpec
from staggered.models.terms import (
    covariate_effects,
    latent_factors,
    period_effects,
    unit_season_term,
    unit_trends,
)


def outcome_scale(design: Design, spec: ModelSpec) -> tuple[float, float]:
    """Location and scale used to centre the priors.

    For count models: the crude log rate ``log(sum y / sum exposure)`` over comparison cells and
    a scale of 1 (priors are on the log-rate scale). For the normal model: the mean and sd of the
    outcome over comparison cells.
    """
    p = design.panel
    comp = ~design.effect_cell
    if spec.is_count:
        rate = max(p.y[comp].sum(), 0.5) / p.exposure[comp].sum()
        return float(np.log(rate)), 1.0
    y = p.y[comp]
    sd = float(y.std()) if y.size > 1 and y.std() > 0 else 1.0
    return float(y.mean()), sd


def _ar1_counterfactual(design: Design, spec: ModelSpec, eta0, tau, y_observed):
    """Add AR(1) deviations on the link scale (the regression-to-the-mean guard).

    AR(1) errors, conditioned on the observed past: the counterfactual of cell t carries
    ``rho^k`` times the unit's deviation in its previous cell (k periods earlier) from the
    expected value, ``observed - eta0 - tau`` (the effect is removed from effect cells, so it
    never enters the counterfactual). A high pre-adoption period is thus expected to revert,
    and persistent post-adoption shocks are not mistaken for effects. Returns the new ``eta0``
    and the noise-scale multiplier: a unit's first cell has the stationary variance, inflated by
    ``1 / sqrt(1 - rho^2)`` (Prais-Winsten).
    """
    p = design.panel
    lag_cell, gap = design.ar_lag
    has_lag = np.flatnonzero(lag_cell >= 0)
    source = lag_cell[has_lag]
    # symbolic in the observed outcome, so that the compiled sampler can swap in new outcomes
    observed = pt.log(y_observed + 0.5) if spec.is_count else y_observed
    rho = pm.Beta("ar_rho", 2.0, 2.0)  # persistence in (0, 1), away from the boundaries
    tau_cells = pt.set_subtensor(pt.zeros(p.n_cells)[design.effect_cells], tau)
    deviation = observed[source] - eta0[source] - tau_cells[source]
    eta0 = pt.inc_subtensor(eta0[has_lag], rho ** gap[has_lag].astype(float) * deviation)
    first = np.flatnonzero(lag_cell < 0)
    noise_mult = pt.set_subtensor(pt.ones(p.n_cells)[first], 1.0 / pt.sqrt(1.0 - rho**2))
    return eta0, noise_mult


def selection_cells(design: Design) -> np.ndarray:
    """Cells in the year before each adopting unit's first effect time (not effect cells).

    The window is one year of periods (4 quarters, 12 months) ending just before
    ``-anticipation``: the cells whose high values could have triggered adoption. Only units
    with an untreated cell before the window get one (the others' level rests on the window),
    and none with ``comparison="never-treated"``, whose treated units keep a single base cell.
    """
    if design.comparison == "never-treated":
        return np.array([], dtype=np.int64)
    p = design.panel
    per_year = steps_per_year(design)
    first = design.first_effect_time
    e = design.event_time
    untreated = ~design.effect_cell
    window = (e >= first - per_year) & (e < first) & untreated
    before = (e < first - per_year) & untreated & (e != design.NO_EVENT)
    anchored = np.zeros(p.n_units, dtype=bool)
    anchored[p.unit_idx[before]] = True
    return np.flatnonzero(window & anchored[p.unit_idx])


def selection_waves(design: Design, cells: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Adoption waves of the selection cells: their labels, and each cell's wave position."""
    p = design.panel
    waves, pos = np.unique(p.adoption_idx[p.unit_idx[cells]], return_inverse=True)
    return [str(p.period_labels[w]) for w in waves], pos


def _selection_shock(design: Design, spec: ModelSpec, scale: float):
    """Per-cell shift for the year before adoption (``selection_shock``), or None.

    One pooled shift, or with ``selection_waves`` one per adoption wave (dim
    ``selection_wave``): a programme whose early waves were picked after a high year and whose
    last wave took every site left has high and low windows, which one shift would average.
    """
    cells = selection_cells(design)
    if not spec.selection_shock or cells.size == 0:
        return None
    sd = spec.priors["selection_shock_sd"] * scale
    if not spec.selection_waves:
        psi = pm.Normal("selection_shock", 0.0, sd)
        return pt.set_subtensor(pt.zeros(design.panel.n_cells)[cells], psi)
    labels, pos = selection_waves(design, cells)
    pm.modelcontext(None).add_coord("selection_wave", labels)
    psi = pm.Normal("selection_shock", 0.0, sd, dims="selection_wave")
    return pt.set_subtensor(pt.zeros(design.panel.n_cells)[cells], psi[pos])


def model_coords(design: Design, spec: ModelSpec) -> dict:
    """The coords every model of ``design`` shares (outcomes of a joint model included)."""
    p = design.panel
    t_unit = design.treated_units
    coords = {
        "unit": [str(u) for u in p.unit_labels],
        "period": list(p.period_labels),
        "event_time": design.event_times.tolist(),
        "treated_unit": [str(u) for u in p.unit_labels[t_unit]],
        "effect_cell": np.arange(design.effect_cells.size),
        "cell": np.arange(p.n_cells),
    }
    if spec.group_level and p.group_idx is not None:
        coords["group"] = [str(g) for g in p.group_labels[np.unique(p.group_idx[t_unit])]]
    return coords


def build_model(
    design: Design,
    spec: ModelSpec,
    *,
    prior_loc: float | None = None,
    prior_scale: float | None = None,
) -> pm.Model:
    """Build the PyMC model.

    Parameters
    ----------
    design : Design
        Output of :func:`staggered.design.build_design`.
    spec : ModelSpec
        The model spec.
    prior_loc : float, optional
        Override the centre of the intercept prior (default: crude log rate or outcome mean
        over comparison cells). SBC fixes it so that the prior does not depend on the data.
    prior_scale : float, optional
        Override the outcome scale that multiplies the prior sds (normal model: sd of the
        outcome over comparison cells; count models: 1).

    Returns
    -------
    pymc.Model
        With named dims ``unit, period, event_time, treated_unit, group, effect_cell, cell``
        (and ``covariate`` with covariates).
        Deterministics ``eta0`` (counterfactual linear predictor) and ``tau`` (per effect
        cell) and ``unit_effect`` (treated unit x event time) feed :mod:`staggered.effects`.
        A panel with several outcomes gets the joint model of :mod:`staggered.models.joint`
        (each outcome's variables prefixed ``"outcome::"``).
    """
    if design.panel.n_outcomes > 1:
        from staggered.models.joint import build_joint_model

        return build_joint_model(design, spec, prior_loc=prior_loc, prior_scale=prior_scale)
    with pm.Model(coords=model_coords(design, spec)) as model:
        add_outcome_terms(design, spec, prior_loc=prior_loc, prior_scale=prior_scale)
    return model


def add_outcome_terms(
    design: Design,
    spec: ModelSpec,
    *,
    prior_loc: float | None = None,
    prior_scale: float | None = None,
    innovations: dict | None = None,
) -> None:
    """Add one outcome's counterfactual, effect curves and likelihood to the current model.

    The model (or a named sub-model of a joint model) must have :func:`model_coords`.
    ``innovations`` (see :func:`staggered.models.curves.effect_curves`) replaces the
    standard-normal steps of the programme and unit deviations (joint models: correlated
    across outcomes).
    """
    p = design.panel
    pri = spec.priors
    loc, scale = outcome_scale(design, spec)
    if prior_loc is not None:
        loc = float(prior_loc)
    if prior_scale is not None:
        scale = float(prior_scale)
    eff = design.effect_cells
    t_unit = design.treated_units
    group_pos = None
    if spec.group_level and p.group_idx is not None:
        treated_groups = np.unique(p.group_idx[t_unit])
        group_pos = np.searchsorted(treated_groups, p.group_idx[t_unit])
    unit_idx = pm.Data("unit_idx", p.unit_idx, dims="cell")
    period_idx = pm.Data("period_idx", p.period_idx, dims="cell")

    # --- untreated counterfactual -----------------------------------------------------
    mu_alpha = pm.Normal("mu_alpha", loc, pri["intercept_sd"] * scale)
    sigma_alpha = pm.HalfNormal("sigma_alpha", pri["unit_sd"] * scale)
    covariate_unit, covariate_cell = covariate_effects(design, spec, scale)
    alpha = pm.Normal("alpha", mu_alpha + covariate_unit, sigma_alpha, dims="unit")
    gamma = period_effects(design, spec, scale)
    eta0 = alpha[unit_idx] + gamma[period_idx]
    if spec.unit_trend:
        beta = unit_trends(design, spec, scale)
        eta0 = eta0 + beta[unit_idx] * design.period_time[p.period_idx]
    if spec.unit_season:
        eta0 = eta0 + unit_season_term(design, spec, scale, unit_idx)
    if spec.factors:
        eta0 = eta0 + latent_factors(spec, scale, unit_idx, period_idx)
    if covariate_cell is not None:
        eta0 = eta0 + covariate_cell
    if spec.is_count:
        eta0 = eta0 + np.log(p.exposure)

    # --- effects on treated cells ----------------------------------------------------
    unit_effect = pm.Deterministic(
        "unit_effect",
        effect_curves(design, spec, scale, group_pos, innovations=innovations),
        dims=("treated_unit", "event_time"),
    )
    tau = pm.Deterministic(
        "tau", unit_effect[design.cell_treated_unit, design.effect_index], dims="effect_cell"
    )
    noise_mult = 1.0
    y_observed = p.y
    if spec.ar1:
        y_observed = pm.Data("y_observed", p.y, dims="cell")
        eta0, noise_mult = _ar1_counterfactual(design, spec, eta0, tau, y_observed)
    shock = _selection_shock(design, spec, scale)
    if shock is not None:
        # added after the AR term, so with ar1 it stays in the unit's deviation from its
        # expected log rate and reverts after adoption at the AR rate
        eta0 = eta0 + shock
    pm.Deterministic("eta0", eta0[eff], dims="effect_cell")
    _likelihood(spec, pt.inc_subtensor(eta0[eff], tau), noise_mult, y_observed, scale)


def _likelihood(spec: ModelSpec, eta, noise_mult, y_observed, scale: float) -> None:
    """The observed outcome given its linear predictor ``eta`` (per cell)."""
    pri = spec.priors
    if spec.likelihood == "negbin":
        cv = pm.HalfNormal("dispersion_cv", pri["dispersion_sd"])
        pm.NegativeBinomial(
            "y",
            mu=pt.exp(eta),
            alpha=1.0 / (cv * noise_mult) ** 2,
            observed=y_observed,
            dims="cell",
        )
    elif spec.likelihood == "poisson":
        pm.Poisson("y", mu=pt.exp(eta), observed=y_observed, dims="cell")
    else:
        # zero-avoiding: a half-normal put mass on near-noiseless data, which NUTS could not
        # fit (SBC flagged sigma_y); Gamma(2) has mean noise_sd * scale
        sigma_y = pm.Gamma("sigma_y", alpha=2.0, beta=2.0 / (pri["noise_sd"] * scale))
        pm.Normal("y", mu=eta, sigma=sigma_y * noise_mult, observed=y_observed, dims="cell")
