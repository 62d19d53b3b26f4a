"""Terms of the untreated counterfactual (the log rate without the programme).

Period effects, unit trends, unit-specific seasonality, latent factors and covariates: each
function adds its variables to the current PyMC model and returns its term of ``eta0``.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from staggered.covariates import standardise, unit_means
from staggered.design import Design
from staggered.models.curves import steps_per_year
from staggered.models.spec import ModelSpec


def unit_trends(design: Design, spec: ModelSpec, scale: float) -> pt.TensorVariable:
    """Unit trends (log-rate change per year) around a common trend, as the ``beta`` term.

    ``beta_i = trend_common [+ cohort mean] + sigma_beta * z_i``: non-centred, because on
    panels without real trend differences ``sigma_beta`` heads for zero, and a centred (or
    partially centred) trend then traps a chain in the funnel (seen on an outside null panel
    with AR(1) shocks: one chain's step size fell to 3e-4, R-hat 2.2). With
    ``comparison="never-treated"`` only never-treated units carry their own trend: a treated
    unit keeps one base cell, which cannot identify it, and follows the common trend.
    """
    p = design.panel
    pri = spec.priors
    model = pm.modelcontext(None)
    common = pm.Normal("trend_common", 0.0, pri["common_trend_sd"] * scale)
    parent = pt.ones(p.n_units) * common
    if spec.cohort_trends:
        # cohort means of the trends: adoption period, never/late adopters as one cohort
        cohort_labels, cohort_of_unit = np.unique(p.adoption_idx, return_inverse=True)
        if cohort_labels.size > 1:
            model.add_coord(
                "cohort", ["never" if c < 0 else p.period_labels[c] for c in cohort_labels]
            )
            mu_beta = pm.ZeroSumNormal("mu_beta", sigma=pri["trend_sd"] * scale, dims="cohort")
            parent = parent + mu_beta[cohort_of_unit]
    own = np.ones(p.n_units, dtype=bool)
    if design.comparison == "never-treated":
        own[design.treated_units] = False
    trend_units = np.flatnonzero(own)
    model.add_coord("trend_unit", [str(u) for u in p.unit_labels[trend_units]])
    sigma_beta = pm.HalfNormal("sigma_beta", pri["trend_sd"] * scale)
    z = pm.Normal("beta_z", 0.0, 1.0, dims="trend_unit")
    beta = pt.inc_subtensor(parent[trend_units], sigma_beta * z)
    return pm.Deterministic("beta", beta, dims="unit")


def orthogonal_period_basis(time: np.ndarray, with_trend: bool) -> np.ndarray:
    """Orthonormal basis (periods x k) of period effects orthogonal to 1 (and to ``time``).

    Period effects in this basis cannot trade off against the intercepts (or, with unit
    trends, against the common trend), flat directions of the likelihood.
    """
    cols = [np.ones_like(time)] + ([time] if with_trend else [])
    a = np.column_stack(cols)
    q, _ = np.linalg.qr(np.column_stack([a, np.eye(time.size)]))
    return q[:, a.shape[1] : time.size]


def period_effects(design: Design, spec: ModelSpec, scale: float) -> pt.TensorVariable:
    """Period effects ``gamma``, orthogonal to the intercept (and to time, with unit trends).

    Sampled in an orthonormal basis of the periods' space less the constant (and less centred
    time, which the common trend carries), so neither direction is flat in the likelihood.
    """
    time = design.period_time
    basis = orthogonal_period_basis(time, with_trend=spec.unit_trend)
    model = pm.modelcontext(None)
    model.add_coord("period_basis", np.arange(basis.shape[1]))
    raw = pm.Normal("gamma_basis", 0.0, spec.priors["period_sd"] * scale, dims="period_basis")
    return pm.Deterministic("gamma", pt.dot(basis, raw), dims="period")


def covariate_effects(
    design: Design, spec: ModelSpec, scale: float
) -> tuple[pt.TensorVariable | float, pt.TensorVariable | None]:
    """Covariate terms of the counterfactual, ``z_it . covariate_coef``, split by unit mean.

    Each covariate is standardised over the design's comparison cells (mean 0, sd 1 there), so
    ``covariate_coef ~ Normal(0, covariate_sd * scale)`` is the change in the log rate (normal
    model: the outcome, in outcome sds) per sd of the covariate. Fixed-scale shrinkage: with the
    one to five covariates of an evaluation, a learnt common scale would be set by its prior.

    ``z_it . b`` is split into the unit's mean over its comparison cells, ``zbar_i . b``, which
    goes into the mean of the unit intercepts, and the rest, ``(z_it - zbar_i) . b``, which goes
    into ``eta0``. It is the same model, but the data-rich intercepts no longer trade off against
    the coefficients: with all of ``z_it . b`` in ``eta0``, a constant covariate left ``alpha``
    and its coefficient with a bulk ESS of 14-23 in 2 x 300 draws; split, 200-290 and 490-770
    in 3 of 4 seeded runs (the fourth stalled throughout).

    Returns
    -------
    (unit_term, cell_term)
        ``(U,)`` and ``(N,)`` tensors; ``(0.0, None)`` without covariates.
    """
    p = design.panel
    if not p.n_covariates:
        return 0.0, None
    comp = ~design.effect_cell
    z = standardise(p.covariates, comp)
    zbar = unit_means(z, p.unit_idx, comp, p.n_units)
    pm.modelcontext(None).add_coord("covariate", [str(c) for c in p.covariate_names])
    coef = pm.Normal("covariate_coef", 0.0, spec.priors["covariate_sd"] * scale, dims="covariate")
    return pt.dot(zbar, coef), pt.dot(z - zbar[p.unit_idx], coef)


def unit_season_basis(design: Design, harmonics: int) -> tuple[np.ndarray, list[str]]:
    """Annual harmonics of calendar time, ``cos, sin (2 pi h t)`` with ``t`` in years.

    Returns the basis (periods x terms) and the terms' names (``cos1``, ``sin1``, ...). A sine
    that vanishes at every period (``h`` = half the periods a year: the second harmonic of
    quarters, the sixth of months) is left out. Raises for yearly panels, where every harmonic
    is constant.
    """
    per_year = steps_per_year(design)
    if per_year < 2:
        raise ValueError(
            "counterfactual.unit_season needs periods shorter than a year (quarters or months);"
            f" this panel's frequency is {design.panel.freq!r}"
        )
    if harmonics > per_year // 2:
        raise ValueError(
            f"counterfactual.unit_season = {harmonics}: a panel with {per_year} periods a year"
            f" has at most {per_year // 2} annual harmonics"
        )
    t = np.arange(design.panel.n_periods) / per_year
    cols, names = [], []
    for h in range(1, harmonics + 1):
        cols.append(np.cos(2.0 * np.pi * h * t))
        names.append(f"cos{h}")
        sine = np.sin(2.0 * np.pi * h * t)
        if np.abs(sine).max() > 1e-9:
            cols.append(sine)
            names.append(f"sin{h}")
    return np.column_stack(cols), names


def season_units(design: Design) -> np.ndarray:
    """Units with their own seasonal harmonics: those with a year or more of comparison cells.

    A unit seen untreated for less than a year (an early adopter; every treated unit with
    ``comparison="never-treated"``, which keeps one base cell) has its seasonal shape
    identified only by its effect cells, where it would trade off against its effect
    deviations: it follows the common seasonality of the period effects.
    """
    p = design.panel
    comparison = np.bincount(p.unit_idx[~design.effect_cell], minlength=p.n_units)
    own = np.flatnonzero(comparison >= steps_per_year(design))
    if own.size < 2:
        raise ValueError(
            "counterfactual.unit_season needs two or more units with a year of comparison"
            f" (untreated) cells; this panel has {own.size}"
        )
    return own


def unit_season_term(design: Design, spec: ModelSpec, scale: float, unit_idx) -> pt.TensorVariable:
    """Unit-specific seasonality ``s_i . h_t``: each unit's own annual harmonics.

    ``s_i = sigma_season * z_i`` for the units of :func:`season_units` (0 for the others),
    with ``z`` summing to zero over those units in each term: the common seasonality is in the
    period effects, so the units' mean seasonal shape would trade off against them. Without
    the term, a unit whose seasonal swing differs from the common one leaves that difference
    in its noise and, where units adopt in different months, partly in its effect cells.
    """
    p = design.panel
    basis, names = unit_season_basis(design, spec.unit_season)
    own = season_units(design)
    model = pm.modelcontext(None)
    model.add_coord("season_term", names)
    model.add_coord("season_unit", [str(u) for u in p.unit_labels[own]])
    sigma = pm.HalfNormal("sigma_season", spec.priors["season_sd"] * scale)
    z = pm.ZeroSumNormal("season_z", sigma=1.0, dims=("season_term", "season_unit"))
    coef = pt.set_subtensor(pt.zeros((p.n_units, len(names)))[own], (sigma * z).T)
    return (coef[unit_idx] * basis[p.period_idx]).sum(axis=-1)


def latent_factors(spec: ModelSpec, scale: float, unit_idx, period_idx) -> pt.TensorVariable:
    """Interactive fixed effects ``lambda_i . f_t`` (latent factors).

    Loadings are shrunk per factor; factors sum to zero over periods (their mean would trade
    off against the intercepts).
    """
    model = pm.modelcontext(None)
    model.add_coord("factor_index", np.arange(spec.factors))
    sigma_factor = pm.HalfNormal(
        "sigma_factor", spec.priors["factor_sd"] * scale, dims="factor_index"
    )
    loading_z = pm.Normal("factor_loading_z", 0.0, 1.0, dims=("unit", "factor_index"))
    factor = pm.ZeroSumNormal("factor", sigma=1.0, dims=("factor_index", "period"))
    loading = loading_z * sigma_factor
    return (loading[unit_idx] * factor.T[period_idx]).sum(axis=-1)
