"""Normal-approximation power of a planned rollout: the analytic check of :func:`assurance`.

When counts are large and nothing is pooled, the posterior of a log-linear count model is close
to Gaussian, centred near the maximum-likelihood estimate with the inverse Fisher information as
covariance. For the two-way model with one free effect per adoption cohort and event time
(:data:`ANALYTIC_SPEC`, the count analogue of the ``normal-cohort`` spec),

    log mu_it = log exposure_it + alpha_i + gamma_t + tau_c(i)(e_it)

with negative-binomial noise of coefficient of variation ``cv`` (variance ``mu + cv^2 mu^2``),
the Fisher information of the coefficients is ``X' W X`` with ``X`` the cells' design matrix
(unit, period and cohort x event-time indicators) and ``W = diag(mu / (1 + cv^2 mu))``. An
estimand ``g(theta)`` (the pooled relative effect at one event time, or the cumulative effect
since adoption; :mod:`staggered.effects`) then has sampling sd ``sqrt(grad' (X'WX)^-1 grad)``
(delta method), and a fit declares a reduction (posterior probability at least ``threshold``)
with probability

    power = Phi(-truth / sd - z),   z = Phi^-1(threshold)

(1.645 for 0.95), which is ``1 - threshold`` without an effect. :func:`analytic_assurance`
averages this over the expected counts of the same simulated panels that
:func:`staggered.assurance` fits, so the two can be compared simulation for simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from staggered.assurance_panels import rollout_arrays
from staggered.assurance_plan import Baseline, Effect, Rollout
from staggered.models.spec import ModelSpec

__all__ = [
    "ANALYTIC_SPEC",
    "agreement",
    "analytic_assurance",
    "estimand_sd",
    "normal_power",
]

#: Negative-binomial counts, unit intercepts and free period effects (no unit trends), one
#: unshrunk effect per adoption cohort and event time: a model whose posterior is close to the
#: normal approximation on large counts.
ANALYTIC_SPEC = ModelSpec(
    name="negbin-cohort",
    likelihood="negbin",
    unit_trend=False,
    curve="cohort",
    group_level=False,
    unit_level=False,
    summary="Negative-binomial counts; unit and period effects; one free effect per cohort "
    "and event time (the analytic check of assurance).",
)


def normal_power(truth: np.ndarray | float, sd: np.ndarray | float, threshold: float = 0.95):
    """Probability that a Gaussian posterior declares a reduction.

    The posterior is ``Normal(estimate, sd)`` with ``estimate ~ Normal(truth, sd)`` over
    repeated samples; a reduction is declared when ``P(effect < 0) >= threshold``, i.e. when
    ``estimate <= -z sd``.

    Parameters
    ----------
    truth : float or array
        True value of the estimand (negative: a reduction).
    sd : float or array
        Sampling sd of the estimate (= posterior sd).
    threshold : float
        Posterior probability of a reduction needed to declare one.

    Returns
    -------
    float or numpy.ndarray
        ``Phi(-truth / sd - Phi^-1(threshold))``.
    """
    z = stats.norm.ppf(threshold)
    return stats.norm.cdf(-np.asarray(truth) / np.asarray(sd) - z)


def _design_matrix(adopt: np.ndarray, n_t: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Cells (units x periods, row-major) by coefficients: units, periods 1.., cohort x e.

    Returns the matrix, each cell's effect column (-1 for untreated cells) and the
    (cohort, event time) of each effect column.
    """
    n_u = adopt.size
    unit = np.repeat(np.arange(n_u), n_t)
    period = np.tile(np.arange(n_t), n_u)
    e = np.where(adopt[unit] >= 0, period - adopt[unit], -1)
    keys = sorted({(int(adopt[u]), int(k)) for u, k in zip(unit, e, strict=True) if k >= 0})
    col = {key: j for j, key in enumerate(keys)}
    pairs = zip(adopt[unit], e, strict=True)
    eff = np.array([col[(int(a), int(k))] if k >= 0 else -1 for a, k in pairs])
    x = np.zeros((unit.size, n_u + n_t - 1 + len(keys)))
    x[np.arange(unit.size), unit] = 1.0
    later = period > 0  # period 0 is the reference period
    x[np.flatnonzero(later), n_u + period[later] - 1] = 1.0
    treated = eff >= 0
    x[np.flatnonzero(treated), n_u + n_t - 1 + eff[treated]] = 1.0
    return x, eff, keys


def estimand_sd(
    mu0: np.ndarray, mu1: np.ndarray, adopt: np.ndarray, *, dispersion_cv: float
) -> pd.DataFrame:
    """True value and normal-approximation sd of every pooled estimand of one panel.

    Parameters
    ----------
    mu0, mu1 : numpy.ndarray
        Expected counts without and with the effect, (units, periods); balanced panel.
    adopt : numpy.ndarray
        Period index of each unit's adoption, -1 for comparison units.
    dispersion_cv : float
        Extra-Poisson coefficient of variation of the noise (0: Poisson).

    Returns
    -------
    pandas.DataFrame
        One row per estimand as in the assurance table: ``measure`` (``relative`` at each
        event time, ``cumulative`` at the last), ``event_time``, ``truth`` and ``sd`` (the
        delta-method sd of the maximum-likelihood estimate under :data:`ANALYTIC_SPEC`).
    """
    adopt = np.asarray(adopt)
    n_t = mu0.shape[1]
    x, eff, keys = _design_matrix(adopt, n_t)
    m0, m1 = mu0.ravel(), mu1.ravel()
    weight = m1 / (1.0 + dispersion_cv**2 * m1)
    cov = np.linalg.inv(x.T @ (weight[:, None] * x))
    period = np.tile(np.arange(n_t), adopt.size)
    e = np.where(eff >= 0, period - adopt[np.repeat(np.arange(adopt.size), n_t)], -1)
    treated = eff >= 0
    rows = []
    # d/d eta_cell of sum mu1 is mu1 (counterfactual and effect coefficients alike), of sum mu0
    # it is mu0 on the counterfactual coefficients only
    x0 = x.copy()
    x0[:, adopt.size + n_t - 1 :] = 0.0
    for k in sorted({key[1] for key in keys}):
        at = treated & (e == k)
        s0, s1 = m0[at].sum(), m1[at].sum()
        grad = (m1[at] @ x[at] - (s1 / s0) * (m0[at] @ x0[at])) / s0
        rows.append(("relative", k, s1 / s0 - 1.0, float(np.sqrt(grad @ cov @ grad))))
    grad = m1[treated] @ x[treated] - m0[treated] @ x0[treated]
    cum = float((m1[treated] - m0[treated]).sum())
    rows.append(("cumulative", int(e[treated].max()), cum, float(np.sqrt(grad @ cov @ grad))))
    return pd.DataFrame(rows, columns=["measure", "event_time", "truth", "sd"])


def analytic_assurance(
    plan: Rollout,
    effect: Effect,
    *,
    baseline: Baseline | None = None,
    follow_up: int | None = None,
    threshold: float = 0.95,
    simulations: int = 100,
    random_seed: int = 0,
    sd_factor: float = 1.0,
) -> pd.DataFrame:
    """Normal-approximation assurance of a simulated plan, estimand by estimand.

    For each simulation ``s`` the expected counts of the panel that
    :func:`staggered.assurance` draws with seed ``(random_seed, s)`` give a truth and an sd
    (:func:`estimand_sd`) and hence a power (:func:`normal_power`); the result is their mean
    over simulations (no fitting).

    Parameters
    ----------
    plan : Rollout
        The planned rollout (``plan.sites`` sites).
    effect : Effect
        The hypothesised effect (``site_sd`` is allowed: each panel's own site effects).
    baseline : Baseline, optional
        Untreated admissions; its ``dispersion_cv`` is the noise of the formula.
    follow_up : int, optional
        Years of follow-up analysed (default ``plan.follow_up``).
    threshold : float
        Posterior probability of a reduction needed to declare one.
    simulations : int
        Panels averaged over.
    random_seed : int
        Seed of the panels (as in :func:`staggered.assurance`).
    sd_factor : float
        Multiply every sd by this (1: the formula; a deliberately wrong variance otherwise).

    Returns
    -------
    pandas.DataFrame
        ``measure, event_time, truth, sd, power``: means over simulations (``sd`` the
        root-mean-square).
    """
    baseline = baseline or Baseline()
    follow_up = plan.follow_up if follow_up is None else follow_up
    n_t = (plan.history + follow_up) * plan.ppy
    parts = []
    for s in range(simulations):
        arrays = rollout_arrays(plan, effect, baseline, (random_seed, s))
        table = estimand_sd(
            arrays["mu0"][:, :n_t],
            arrays["mu1"][:, :n_t],
            np.where(arrays["adopt"] < n_t, arrays["adopt"], -1),
            dispersion_cv=baseline.dispersion_cv,
        )
        table["sd"] *= sd_factor
        table["power"] = normal_power(table["truth"], table["sd"], threshold)
        parts.append(table.assign(simulation=s))
    both = pd.concat(parts, ignore_index=True)
    both["var"] = both["sd"] ** 2
    out = both.groupby(["measure", "event_time"], sort=False)[["truth", "var", "power"]].mean()
    out["sd"] = np.sqrt(out.pop("var"))
    return out.reset_index()[["measure", "event_time", "truth", "sd", "power"]]


def agreement(table: pd.DataFrame, analytic: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
    """Simulated assurance next to the normal approximation, estimand by estimand.

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`staggered.assurance.AssuranceResult.table` of one number of sites and
        follow-up.
    analytic : pandas.DataFrame
        :func:`analytic_assurance` of the same plan, effect, seed and simulations.
    level : float
        Interval mass of the run (its mean interval width gives the fits' posterior sd).

    Returns
    -------
    pandas.DataFrame
        ``measure, event_time, truth, simulated, mc_se, analytic, z, fit_sd, analytic_sd,
        simulations``:
        ``mc_se = sqrt(p (1 - p) / n)`` at the analytic power ``p``, ``z = (simulated -
        analytic) / mc_se``, and ``fit_sd`` the fits' mean interval width over ``2
        Phi^-1((1 + level) / 2)`` (a Gaussian posterior's sd).
    """
    both = table.merge(analytic, on=["measure", "event_time"], suffixes=("", "_analytic"))
    p, n = both["power"], both["simulations"]
    mc_se = np.sqrt(p * (1.0 - p) / n)
    return pd.DataFrame(
        {
            "measure": both["measure"],
            "event_time": both["event_time"],
            "truth": both["truth"],
            "simulated": both["assurance"],
            "mc_se": mc_se,
            "analytic": p,
            "z": (both["assurance"] - p) / mc_se,
            "fit_sd": both["width"] / (2.0 * stats.norm.ppf((1.0 + level) / 2.0)),
            "analytic_sd": both["sd"],
            "simulations": n,
        }
    )
