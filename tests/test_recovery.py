"""Recovery of known effects from simulated panels (real chains)."""

import warnings

import numpy as np
import pytest

import staggered as stg
from staggered.fit import SamplingWarning


def _recover(sim, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        f = stg.fit(sim.panel, **sim.columns, progressbar=False, **kwargs)
    eff = f.effects()
    truth = sim.truth
    pooled = eff[(eff.scope == "pooled") & (eff.measure == "relative")].merge(
        truth[truth.scope == "pooled"], on="event_time"
    )
    units = eff[(eff.scope == "unit") & (eff.measure == "relative")].merge(
        truth[truth.scope == "unit"], on=["id", "event_time"]
    )
    coverage = ((units.lower <= units.value) & (units.value <= units.upper)).mean()
    return f, pooled, units, coverage


def test_recovers_delayed_effect_yearly_120_units():
    """DESIGN recovery criterion: pooled within 0.01 at e = 0..6, >= 80% unit coverage."""
    sim = stg.simulate("delayed", n_units=120, n_groups=15, unit_trend_sd=0.003, random_seed=21)
    f, pooled, units, coverage = _recover(
        sim, placebo=0, draws=400, tune=400, chains=2, random_seed=5
    )
    early = pooled[pooled.event_time <= 6]
    assert len(early) == 7
    err = (early["mean"] - early["value"]).abs()
    assert err.max() < 0.01, early[["event_time", "mean", "value"]]
    assert coverage >= 0.8, coverage
    assert len(units) > 300
    # the delayed shape is found: no reduction at e = 0, a clear one from e = 3
    assert early.set_index("event_time").loc[3, "prob_negative"] > 0.95
    assert f.diagnostics["divergences"] < 10


def _subannual_sim(freq: str, seed: int):
    n_periods = {"quarter": 40, "month": 84}[freq]
    return stg.simulate(
        "delayed",
        n_units=60,
        n_groups=8,
        freq=freq,
        n_periods=n_periods,
        unit_trend_sd=0.003,
        random_seed=seed,
    )


@pytest.mark.slow
def test_recovers_delayed_effect_quarterly():
    sim = _subannual_sim("quarter", 8)
    f, pooled, units, coverage = _recover(sim, draws=500, tune=500, chains=2, random_seed=3)
    inside = (pooled.lower <= pooled.value) & (pooled.value <= pooled.upper)
    assert inside.mean() >= 0.8
    assert np.sqrt(((pooled["mean"] - pooled["value"]) ** 2).mean()) < 0.01
    assert coverage >= 0.8


@pytest.mark.slow
def test_recovers_delayed_effect_monthly_over_three_panels():
    """Monthly panels (60 areas x 84 months): coverage judged over three seeded panels.

    One panel cannot judge it: its 24 pooled estimates move together (a random walk over event
    time), so one deviation of the first year's level misses a dozen months at once. Default
    spec (``pooled_walk="auto"``, programme steps summing to zero), 2 chains x 1000 + 1000,
    sampling on up to 3,000 (session 11): pooled coverage 0.67 / 0.79 / 1.00 (mean 0.82),
    RMSE 0.0041 / 0.0033 / 0.0018, unit coverage 0.91 / 0.96 / 0.99, max R-hat 1.007 /
    1.006 / 1.034; seed 9's centred walk diverged and its non-centred refit was kept (1
    divergence). Under session 19's rule seed 10's centred fit (R-hat 1.034 after 3,000
    draws, no divergence) is refitted non-centred; the refit (R-hat 1.006, 16 divergences) is
    dropped and the centred fit kept: rerun then, the same coverage and RMSE. A model
    whose early effects were biased by +0.5% on every panel, or whose
    intervals were half as wide, would miss the mean-coverage bound. (Until session 10 the
    test was xfail: the centred walk alone ended at R-hat 1.05 on seed 9, the non-centred
    alone at 1.05 on seed 10.)
    """
    pooled_cov, unit_cov = [], []
    for seed in (8, 9, 10):
        sim = _subannual_sim("month", seed)
        f, pooled, units, coverage = _recover(
            sim, draws=1000, tune=1000, chains=2, random_seed=3, placebo=0
        )
        inside = (pooled.lower <= pooled.value) & (pooled.value <= pooled.upper)
        pooled_cov.append(inside.mean())
        unit_cov.append(coverage)
        assert np.sqrt(((pooled["mean"] - pooled["value"]) ** 2).mean()) < 0.006, seed
        assert f.diagnostics["max_rhat"] < 1.05, (seed, f.diagnostics)
    assert np.mean(pooled_cov) >= 0.8, pooled_cov
    assert min(pooled_cov) >= 0.5, pooled_cov
    assert np.mean(unit_cov) >= 0.85, unit_cov


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["delayed", "jcurve", "temporary", "clustered"])
def test_recovers_scenario_shapes(scenario):
    """Every effect shape is recovered: pooled RMSE < 0.01 and >= 80% unit coverage."""
    sim = stg.simulate(scenario, n_units=100, n_groups=15, unit_trend_sd=0.003, random_seed=7)
    f, pooled, units, coverage = _recover(sim, draws=500, tune=500, chains=2, random_seed=7)
    post = pooled[pooled.event_time >= 0]
    assert np.sqrt(((post["mean"] - post["value"]) ** 2).mean()) < 0.01
    assert coverage >= 0.8


def _null_rtm_fits():
    sim = stg.simulate(
        "null-rtm", n_units=100, n_groups=12, random_seed=11, start_year=2007, n_periods=17
    )
    settings = dict(draws=500, tune=500, chains=2, random_seed=1, placebo=0)
    _, naive, _, _ = _recover(sim, model="negbin-rw-iid", **settings)
    _, guarded, _, _ = _recover(sim, **settings)
    return sim, settings, naive, guarded


def _largest_p(pooled) -> float:
    return float(np.maximum(pooled.prob_negative, 1 - pooled.prob_negative).max())


@pytest.mark.slow
def test_null_rtm_guard_shrinks_the_spurious_effect():
    """Regression to the mean: sites adopt after a high year (no true effect).

    Without the guard (``negbin-rw-iid``) the high, persistent pre-adoption shocks make the
    model report a rise at adoption (+1.4%, P(rise) 1.00); the default's AR(1) deviations and
    selection shift bring every estimate within 0.01 of zero (largest +0.9%). The pre-trend
    check (fitted apart, without the shift) flags the selection.
    """
    sim, settings, naive, guarded = _null_rtm_fits()
    assert _largest_p(naive) > 0.95
    naive_error = (naive["mean"] - naive["value"]).abs().max()
    guarded_error = (guarded["mean"] - guarded["value"]).abs().max()
    assert guarded_error < 0.01 and guarded_error < 0.8 * naive_error
    # the pre-trend check (placebo periods) sees the selection on a high year
    f, _, _, _ = _recover(sim, **{**settings, "placebo": 3})
    check = f.pretrends()
    assert check.prob_all_in_rope < 0.9  # not "no sign of pre-trends"
    assert check.max_abs["lower"] > 0  # the largest placebo effect excludes zero


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="a residual rise on this panel (+0.9% at e = 1, P(rise) 0.95-0.97 in sessions 7 "
    "and 8): the last adoption wave is every site never high at an earlier wave date, so its "
    "untreated years before the one-year window sit 0.7-1.5% low and pull its level down; the "
    "window cannot see them (issue 11, part 2; docs/validation.md)",
)
def test_null_rtm_guard_reads_no_effect():
    """The same panel: no pooled event time should be distinguishable from zero."""
    _, _, _, guarded = _null_rtm_fits()
    assert _largest_p(guarded) < 0.95


@pytest.mark.slow
def test_anticipation_window_recovers_an_early_start():
    """The effect starts one period before the official date.

    Without an anticipation window the early period is a placebo time: its "placebo effect"
    is the real effect and the pre-trend check flags it. With anticipation=1 the early effect
    is estimated as an effect, and the pre-trend check is clean.
    """
    sim = stg.simulate("anticipation", n_units=80, n_groups=10, unit_trend_sd=0.003, random_seed=13)
    f0, pooled0, _, _ = _recover(sim, draws=400, tune=400, chains=2, random_seed=2)
    assert f0.pretrends().prob_all_in_rope < 0.5
    f1, pooled1, _, coverage = _recover(
        sim, draws=400, tune=400, chains=2, random_seed=2, anticipation=1
    )
    assert (pooled1["mean"] - pooled1["value"]).abs().max() < 0.01
    assert pooled1.event_time.min() == -1
    assert f1.pretrends().prob_all_in_rope > 0.9


@pytest.mark.slow
def test_cohort_trends_remove_bias_from_diverging_trends():
    """Treated areas' admissions were already rising faster: non-parallel trends.

    Unit trends shrunk to a common zero mean let the treated areas' shared trend leak into the
    effect curve; centring the trends on cohort means (``cohort_trends``) removes the bias.
    """
    sim = stg.simulate("diverging", n_units=100, n_groups=12, random_seed=14)
    base = stg.load_spec("negbin-rw")
    _, biased, _, _ = _recover(
        sim, draws=400, tune=400, chains=2, random_seed=4, placebo=0, model=base
    )
    post = biased[biased.event_time >= 0]
    assert np.sqrt(((post["mean"] - post["value"]) ** 2).mean()) > 0.02
    spec = base.replace(name="cohort-trends", cohort_trends=True)
    _, fixed, _, _ = _recover(
        sim, draws=400, tune=400, chains=2, random_seed=4, placebo=0, model=spec
    )
    post = fixed[fixed.event_time >= 0]
    assert np.sqrt(((post["mean"] - post["value"]) ** 2).mean()) < 0.01


@pytest.mark.slow
def test_latent_factor_removes_interactive_confounding():
    """A latent cycle loads more on treated areas: period effects cannot absorb it.

    The plain model puts the cycle into the effect curve; one latent factor (``factors = 1``),
    learnt from comparison cells, removes the bias.
    """
    sim = stg.simulate("factor", n_units=100, n_groups=12, random_seed=14)
    settings = dict(draws=400, tune=400, chains=2, random_seed=4, placebo=0)
    base = stg.load_spec("negbin-rw")
    _, biased, _, _ = _recover(sim, model=base, **settings)
    post = biased[biased.event_time >= 0]
    assert np.sqrt(((post["mean"] - post["value"]) ** 2).mean()) > 0.015
    _, fixed, _, _ = _recover(sim, model="negbin-rw-factor", **settings)
    post = fixed[fixed.event_time >= 0]
    assert np.sqrt(((post["mean"] - post["value"]) ** 2).mean()) < 0.006


@pytest.mark.slow
def test_never_treated_comparison_recovers_the_effect():
    """Only never-treated units inform the period effects; each treated unit keeps one base cell.

    Both comparison sets estimate the same effect on a panel where both are valid; the
    never-treated fit's placebo effects reach back over the whole pre-adoption period.
    """
    sim = stg.simulate("delayed", n_units=100, n_groups=12, unit_trend_sd=0.003, random_seed=9)
    settings = dict(draws=400, tune=400, chains=2, random_seed=3)
    _, nyt, _, _ = _recover(sim, **settings)
    f, nt, _, _ = _recover(sim, comparison="never-treated", **settings)
    assert f.design.comparison == "never-treated"
    both = nyt.merge(nt, on="event_time", suffixes=("_nyt", "_nt"))
    both = both[both.event_time.between(0, 6)]
    assert (both.mean_nt - both.mean_nyt).abs().max() < 0.005
    assert (both.mean_nt - both.value_nt).abs().max() < 0.02
    eff = f.effects()
    placebo = eff[(eff.scope == "pooled") & (eff.event_time < 0)].event_time.unique()
    assert placebo.min() == -7 and -4 not in placebo  # e = -4 is the base year
