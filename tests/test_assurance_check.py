"""Assurance checked against the normal approximation, and its false-finding rate."""

import numpy as np
import pytest

from staggered.assurance_check import (
    ANALYTIC_CHECK,
    NULL_CHECK,
    _design_matrix,
    analytic_assurance,
    estimand_sd,
    normal_power,
    run_analytic_check,
    run_null_check,
)
from staggered.assurance_panels import rollout_arrays
from staggered.assurance_plan import Baseline, Effect, Rollout

# no unit trends: the analytic model (unit and period effects, free cohort effects) is right
BASE = Baseline(unit_trend_sd=0.0)


def test_normal_power_formula():
    assert normal_power(0.0, 1.0, 0.95) == pytest.approx(0.05)
    assert normal_power(-1.645, 1.0, 0.95) == pytest.approx(0.5, abs=1e-3)
    assert normal_power(-2.0, 1.0, 0.9) == pytest.approx(0.7638, abs=1e-3)  # Phi(2 - 1.2816)
    plan = Rollout(sites=4, comparison_areas=4, history=2, follow_up=2)
    null = analytic_assurance(plan, Effect().null(), baseline=BASE, simulations=3)
    np.testing.assert_allclose(null["power"], 0.05)
    np.testing.assert_allclose(null["truth"], 0.0)


def _wls_estimates(arrays: dict, n_t: int, cv: float) -> np.ndarray:
    """Relative (per event time) and cumulative effects from weighted least squares on log y."""
    mu1 = arrays["mu1"][:, :n_t].ravel()
    adopt = np.where(arrays["adopt"] < n_t, arrays["adopt"], -1)
    x, eff, keys = _design_matrix(adopt, n_t)
    w = 1.0 / (1.0 / mu1 + cv**2)
    offset = np.log(arrays["population"][:, :n_t].ravel())
    z = np.log(arrays["y"][:, :n_t].ravel()) - offset
    coef = np.linalg.solve(x.T @ (w[:, None] * x), x.T @ (w * z))
    n_cf = x.shape[1] - len(keys)
    eta0 = offset + x[:, :n_cf] @ coef[:n_cf]
    treated = eff >= 0
    m0 = np.exp(eta0[treated])
    m1 = m0 * np.exp(coef[n_cf + eff[treated]])
    e = np.array([keys[j][1] for j in eff[treated]])
    rel = [m1[e == k].sum() / m0[e == k].sum() - 1 for k in np.unique(e)]
    return np.r_[rel, (m1 - m0).sum()]


def test_formula_sd_is_the_spread_of_the_estimate_over_panels():
    # the formula's sd against the sd of a direct estimator (GLS of log counts) over 400
    # simulated panels: sd of an sd estimate from 400 draws is ~3.5%
    plan = Rollout(sites=4, comparison_areas=4, history=2, follow_up=2)
    effect = Effect("step", size=-0.02)
    sims = 400
    est, sds = [], []
    for s in range(sims):
        arrays = rollout_arrays(plan, effect, BASE, (0, s))
        est.append(_wls_estimates(arrays, plan.n_periods, BASE.dispersion_cv))
        sds.append(
            estimand_sd(
                arrays["mu0"], arrays["mu1"], arrays["adopt"], dispersion_cv=BASE.dispersion_cv
            )["sd"]
        )
    empirical = np.std(est, axis=0, ddof=1)
    formula = np.sqrt(np.mean(np.square(sds), axis=0))
    np.testing.assert_allclose(empirical, formula, rtol=0.1)
    assert not np.allclose(empirical, 1.5 * formula, rtol=0.1)
    # and the estimator is centred on the truth (within 3 Monte Carlo errors)
    truth = estimand_sd(
        arrays["mu0"], arrays["mu1"], arrays["adopt"], dispersion_cv=BASE.dispersion_cv
    )["truth"]
    assert (np.abs(np.mean(est, axis=0)[:-1] - truth[:-1]) < 3 * empirical[:-1] / 20).all()


def _check(table, *, tolerance_se: float = 3.0, both_ways: bool = True, sd_rtol: float = 0.1):
    """Headline (cumulative) assurance within ``tolerance_se`` Monte Carlo errors of the
    formula, and outside them for an sd 1.5 times too large (and too small: ``both_ways``);
    the fits' posterior sds within ``sd_rtol`` of the formula's, and not of 1.5 times it."""
    head = table[table["measure"] == "cumulative"].iloc[0]
    assert 0.3 <= head.analytic <= 0.8, table.to_string()  # the middle, where a wrong sd shows
    assert abs(head.z) <= tolerance_se, table.to_string()
    assert abs(head.simulated - head.wrong_high) > tolerance_se * head.mc_se, table.to_string()
    if both_ways:
        assert abs(head.simulated - head.wrong_low) > tolerance_se * head.mc_se, table.to_string()
    np.testing.assert_allclose(table["fit_sd"], table["analytic_sd"], rtol=sd_rtol)
    assert not np.allclose(table["fit_sd"], 1.5 * table["analytic_sd"], rtol=sd_rtol)
    assert not np.allclose(table["fit_sd"], table["analytic_sd"] / 1.5, rtol=sd_rtol)


def test_assurance_agrees_with_the_normal_approximation_small():
    # 40 panels of 8 areas x 4 years: Monte Carlo se ~0.07, so only the sd check (and an sd
    # 1.5 times too large) is sharp here; the slow test below has the full tolerance
    _, table = run_analytic_check(
        Rollout(sites=4, comparison_areas=4, history=2, follow_up=2),
        Effect("step", size=-0.018),
        baseline=BASE,
        simulations=40,
        draws=100,
    )
    assert (table["simulations"] == 40).all()
    _check(table, both_ways=False)


@pytest.mark.slow
def test_assurance_agrees_with_the_normal_approximation():
    # benchmarks/assurance_check.py runs the same check (same panels, same numbers)
    _, table = run_analytic_check(**ANALYTIC_CHECK)
    head = table[table["measure"] == "cumulative"].iloc[0]
    assert head.mc_se < 0.05
    _check(table)
    assert (table["z"].abs() <= 3).all(), table.to_string()  # every event time as well


@pytest.mark.slow
def test_null_false_finding_rate_is_at_most_what_the_threshold_implies():
    # the default count model on a realistic design (NULL_CHECK), no effect: each estimand is
    # declared a reduction in at most 5% of panels, within 3 Monte Carlo errors of a 5% rate
    result, table = run_null_check(**NULL_CHECK)
    assert (result.fits["truth"] == 0).all()
    assert (table["false_finding"] <= table["bound"] + 3 * table["se_at_bound"]).all(), (
        table.to_string()
    )
