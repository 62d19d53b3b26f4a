"""Fast tests of the coverage-study generator (benchmarks/coverage_dgp.py); no MCMC."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import staggered as stg

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "coverage_dgp.py"


def _load():
    spec = importlib.util.spec_from_file_location("coverage_dgp", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("coverage_dgp", module)
    spec.loader.exec_module(sys.modules["coverage_dgp"])
    return sys.modules["coverage_dgp"]


dgp = _load()
GRID = dgp.GRID
PERIOD_RE = {"year": r"^\d{4}$", "quarter": r"^\d{4}Q[1-4]$", "month": r"^\d{4}-(0[1-9]|1[0-2])$"}


@pytest.fixture(scope="module")
def generated():
    return {cfg.name: dgp.generate(cfg) for cfg in GRID}


def test_grid_spans_the_listed_dimensions(generated):
    assert len(GRID) >= 40
    assert len({c.name for c in GRID}) == len(GRID)
    assert len({c.seed for c in GRID}) == len(GRID)
    assert {c.freq for c in GRID} == {"year", "quarter", "month"}
    for freq in ("year", "quarter", "month"):
        assert sum(c.freq == freq for c in GRID) >= 10
    assert min(c.n_units for c in GRID) <= 30 and max(c.n_units for c in GRID) >= 300
    medians = [g.panel["admissions"].median() for g in generated.values()]
    assert min(medians) < 10 and max(medians) >= 5e4
    assert {c.noise for c in GRID} == {"poisson", "negbin", "poisson-lognormal"}
    assert max(c.overdispersion for c in GRID if c.noise != "poisson") >= 0.3
    assert any(c.pop_jump > 0 for c in GRID) and max(c.pop_growth_sd for c in GRID) >= 0.02
    assert any(c.ramp_years > 0 for c in GRID)
    assert {"quadratic", "smooth"} <= {c.trend for c in GRID}
    assert max(c.ar_rho for c in GRID if c.selection == "shock") >= 0.7
    assert {c.freq for c in GRID if c.selection == "shock"} == {"year", "quarter", "month"}
    assert all(c.season_amp > 0 for c in GRID if c.freq != "year")
    assert any(c.season_unit_sd > 0 for c in GRID)
    assert {"delayed", "jcurve", "temporary", "null"} <= {c.shape for c in GRID}
    assert sum(c.is_null for c in GRID) >= 6
    assert any(c.missing > 0 for c in GRID) and any(c.late_entry > 0 for c in GRID)
    assert any(c.adopt_label == "year" for c in GRID if c.freq != "year")
    assert set(dgp.QUICK) <= set(dgp.BY_NAME)


@pytest.mark.parametrize("name", ["y09-delayed-rtm", "q09-unbalanced", "m08-strong-pln"])
def test_panels_are_deterministic_per_seed(name):
    cfg = dgp.get(name)
    a, b = dgp.generate(cfg), dgp.generate(cfg)
    pd.testing.assert_frame_equal(a.panel, b.panel)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    other = dgp.generate(replace(cfg, seed=cfg.seed + 1000))
    assert not np.array_equal(other.latent["mu0"], a.latent["mu0"]) and not a.panel.equals(
        other.panel
    )


def _injected(cfg):
    """Truth recomputed from two noiseless panels (with and without the programme)."""
    with_effect = dgp.generate(cfg, noiseless=True).panel
    without = dgp.generate(replace(cfg, shape="null"), noiseless=True).panel
    pd.testing.assert_frame_equal(
        with_effect.drop(columns="admissions"), without.drop(columns="admissions")
    )
    # event time as the package defines it (Gaussian family: float outcomes are allowed)
    enc = stg.encode_panel(with_effect, **dgp.COLUMNS, family="gaussian")
    design = stg.build_design(enc, placebo=0)
    event_time = pd.Series(design.event_time, index=enc.row_index).reindex(with_effect.index)
    cells = with_effect.assign(
        mu1=with_effect["admissions"], mu0=without["admissions"], event_time=event_time.to_numpy()
    )
    cells = cells[(cells["start"] != "") & (cells["event_time"] >= 0)]
    unit = cells.assign(value=cells["mu1"] / cells["mu0"] - 1.0)
    sums = cells.groupby("event_time")[["mu1", "mu0"]].sum()
    pooled = (sums["mu1"] / sums["mu0"] - 1.0).rename("value").reset_index()
    return pooled, unit[["area", "event_time", "value"]].rename(columns={"area": "id"})


@pytest.mark.parametrize(
    "name",
    [
        "y04-300-jcurve-pln",
        "y12-ramp",
        "y15-unbalanced",
        "y16-size-heterogeneity",
        "q09-unbalanced",
        "q11-year-labels",
        "m07-ramp",
        "m09-unbalanced",
    ],
)
def test_truth_equals_the_injected_effect(name):
    cfg = dgp.get(name)
    g = dgp.generate(cfg)
    pooled, unit = _injected(cfg)
    t_pooled = g.truth[g.truth["scope"] == "pooled"].reset_index(drop=True)
    np.testing.assert_array_equal(t_pooled["event_time"], pooled["event_time"])
    np.testing.assert_allclose(t_pooled["value"], pooled["value"], rtol=1e-9, atol=1e-12)
    t_unit = g.truth[g.truth["scope"] == "unit"].merge(
        unit,
        on=["id", "event_time"],
        how="outer",
        suffixes=("", "_injected"),
        indicator=True,
    )
    assert (t_unit["_merge"] == "both").all()
    np.testing.assert_allclose(t_unit["value"], t_unit["value_injected"], rtol=1e-9, atol=1e-12)
    assert (np.abs(t_pooled["value"]) > 1e-3).any()


def test_homogeneous_effect_follows_the_declared_shape():
    cfg = replace(dgp.get("q01-delayed"), unit_sd=0.0, group_sd=0.0, shape="jcurve")
    g = dgp.generate(cfg)
    expected = cfg.size * dgp.SHAPES["jcurve"](g.truth["event_time"].to_numpy() / 4.0)
    np.testing.assert_allclose(g.truth["value"], expected, rtol=1e-9, atol=1e-12)


def test_null_panels_have_zero_truth(generated):
    for cfg in GRID:
        if cfg.is_null:
            g = generated[cfg.name]
            assert len(g.truth) > 0
            assert (g.truth["value"] == 0.0).all(), cfg.name
            assert (g.latent["tau"] == 0.0).all()
            assert (g.latent["mu1"] == g.latent["mu0"]).all()


def test_selection_panels_adopt_after_a_high_shock(generated):
    shock_cfgs = [c for c in GRID if c.selection == "shock"]
    assert len(shock_cfgs) >= 4
    for cfg in shock_cfgs:
        lat = generated[cfg.name].latent
        treated = lat["adoption"] >= 0
        ppy = cfg.periods_per_year
        # the selection statistic is the mean shock over the year before adoption
        recomputed = [
            lat["shock"][i, a - ppy : a].mean()
            for i, a in zip(np.flatnonzero(treated), lat["adoption"][treated], strict=True)
        ]
        np.testing.assert_allclose(lat["selection_stat"][treated], recomputed)
        stat = lat["selection_stat"][treated]
        assert stat.mean() > lat["selection_threshold"] > 0, cfg.name
        assert (stat > 0).mean() >= 0.7, cfg.name
        # with random adoption the year before adoption is not high on average
        rand = dgp.generate(replace(cfg, selection="random")).latent
        rstat = rand["selection_stat"][rand["adoption"] >= 0]
        assert stat.mean() > rstat.mean() + 0.5 * lat["selection_threshold"], cfg.name


def test_panels_pass_validation_and_design(generated):
    for cfg in GRID:
        g = generated[cfg.name]
        df = g.panel
        assert list(df.columns) == [
            "area",
            "period",
            "admissions",
            "population",
            "start",
            "programme",
        ]
        assert df["admissions"].dtype == np.int64 and (df["admissions"] >= 0).all()
        assert (df["population"] > 0).all()
        labels = df["period"].astype(str)
        assert labels.str.match(PERIOD_RE[cfg.freq]).all(), cfg.name
        starts = df.loc[df["start"] != "", "start"]
        start_re = PERIOD_RE["year" if cfg.adopt_label == "year" else cfg.freq]
        assert starts.str.match(start_re).all(), cfg.name
        assert (df.loc[df["start"] == "", "programme"] == "").all()
        assert (df.loc[df["start"] != "", "programme"] != "").all()
        panel = stg.encode_panel(df, **g.columns)
        assert panel.n_units == cfg.n_units and panel.n_periods == cfg.n_periods
        assert panel.n_cells == len(df)
        stg.build_design(panel, placebo=3)  # the fit's default design
        adopt = g.latent["adoption"]
        np.testing.assert_array_equal(panel.adoption_idx, adopt)
        e = g.truth["event_time"]
        assert (e >= 0).all()
        assert g.truth.loc[g.truth["scope"] == "pooled", "event_time"].is_unique
        if cfg.missing or cfg.late_entry:
            assert len(df) < cfg.n_units * cfg.n_periods
            if cfg.late_entry:
                first = df.groupby("area", sort=False)["period"].first().astype(str)
                assert (first != str(g.latent["periods"][0])).any()
        else:
            assert len(df) == cfg.n_units * cfg.n_periods


def test_truth_only_counts_observed_cells():
    g = dgp.generate(dgp.get("q09-unbalanced"))
    lat = g.latent
    cells = lat["observed"] & (lat["event_time"] >= 0)
    assert (g.truth["scope"] == "unit").sum() == cells.sum()
    assert not lat["observed"][lat["event_time"] >= 0].all()  # some treated cells missing


def test_a_panel_can_be_drawn_again_on_another_seed():
    cfg = dgp.get("q14-delayed-smooth-pop@1001")
    assert cfg.seed == 1001 and cfg.name == "q14-delayed-smooth-pop@1001"
    assert cfg.trend == dgp.get("q14-delayed-smooth-pop").trend
    a, b = dgp.generate(cfg).panel, dgp.generate(dgp.get("q14-delayed-smooth-pop")).panel
    assert not a["admissions"].equals(b["admissions"])
    with pytest.raises(KeyError, match="seed"):
        dgp.get("q14-delayed-smooth-pop@x")
    with pytest.raises(KeyError, match="unknown panel"):
        dgp.get("q99@1")


def test_imputation_oracle_is_exact_on_linear_trends_and_not_on_smooth_ones():
    """On expected counts with linear unit trends, least-squares imputation recovers the truth
    to rounding; on smooth unit paths it does not (the design's part of an error)."""
    spec = importlib.util.spec_from_file_location(
        "imputation_oracle", _PATH.parent / "imputation_oracle.py"
    )
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)
    linear = oracle.imputation_errors(dgp.get("y01-delayed"), observed=False)
    assert max(abs(v) for v in linear.values()) < 1e-8
    # without unit trends the same linear paths are not imputed exactly
    twfe = oracle.imputation_errors(dgp.get("y01-delayed"), observed=False, unit_trends=False)
    assert max(abs(v) for v in twfe.values()) > 3e-3
    smooth = oracle.imputation_errors(dgp.get("y11-jcurve-smooth"), observed=False)
    assert abs(oracle.late_error(smooth, 4)) > 0.02
    noisy = oracle.imputation_errors(dgp.get("y01-delayed"), observed=True)
    assert max(abs(v) for v in noisy.values()) > 1e-3
    # the noise's difference in differences: zero without noise on a null panel, the
    # programme's effect (a reduction) without noise on an effect panel, nonzero with noise
    null = dgp.get("m14-smooth-null")
    assert abs(oracle.window_difference(null, 1, 2, noiseless=True)[0]) < 1e-12
    # y01's delayed effect averages about -0.5% over the first four years (nothing for two)
    delayed = oracle.window_difference(dgp.get("y01-delayed"), 1, 4, noiseless=True)[0]
    assert -0.008 < delayed < -0.003
    mean, se = oracle.window_difference(null, 1, 2)
    assert abs(mean) > 1e-3 and se > 0


def test_imputation_oracle_with_unit_harmonics_is_exact_on_unit_seasonality():
    """m13's seasonal amplitudes differ by unit: without each unit's own harmonic the expected
    counts are imputed with an error at single event times; with it, to rounding."""
    spec = importlib.util.spec_from_file_location(
        "imputation_oracle", _PATH.parent / "imputation_oracle.py"
    )
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)
    cfg = dgp.small(dgp.get("m13-unit-season"), n_units=30)
    common = oracle.imputation_errors(cfg, observed=False)
    assert max(abs(v) for v in common.values()) > 0.01
    own = oracle.imputation_errors(cfg, observed=False, unit_season=True)
    assert max(abs(v) for v in own.values()) < 1e-6


def _known():
    spec = importlib.util.spec_from_file_location(
        "known_counterfactual", _PATH.parent / "known_counterfactual.py"
    )
    known = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(known)
    return known


def test_known_counterfactual_estimators_err_by_noise_and_weighting_only():
    """Handed the expected untreated counts, the count-weighted estimator is exact without
    noise; the equal-weighted one errs by weighting sites equally (none when every site has
    the same effect, 0.7 points where effects are larger in smaller sites); with noise, the
    count-weighted error has the spread the generator's noise implies."""
    known = _known()
    sized = dgp.get("y16-size-heterogeneity")
    exact = known.known_counterfactual_errors(dgp.generate(sized, noiseless=True))
    assert exact["count_weighted"].abs().max() < 1e-12
    # noise-free, the log-noise correction (-cv^2/2 = -0.00045 here) is the only other error
    weighting = exact["equal_weighted"] + known.log_noise_bias(sized)
    assert weighting.abs().max() > 0.005
    same = replace(sized, unit_sd=0.0, group_sd=0.0, size_corr=0.0)
    homogeneous = known.known_counterfactual_errors(dgp.generate(same, noiseless=True))
    assert (homogeneous["equal_weighted"] + known.log_noise_bias(same)).abs().max() < 5e-4
    # the variance the smoother uses: var(y) = mu + cv^2 mu^2 per cell (negative binomial), so
    # the count-weighted error's z-scores over 9 event times have rms near 1 (a variance
    # without the cv^2 term would put it near 3)
    gen = dgp.generate(dgp.get("y14-population-change"))
    errors = known.known_counterfactual_errors(gen)
    z = errors["count_weighted"] / np.sqrt(errors["variance"])
    assert 0.4 < float(np.sqrt(np.mean(z**2))) < 1.7


@pytest.mark.parametrize("name", ["y13-strong-nb", "q07-strong-pln", "y03-small-poisson"])
def test_known_counterfactual_noise_matches_the_generator(name):
    """Variance (against the generator's draw) and log-scale mean of the mixing noise, per
    noise kind: over many draws around one mu (negative binomial cv 0.3, Poisson-lognormal sd
    0.3, Poisson)."""
    known = _known()
    cfg = dgp.get(name)
    mu = np.full(400_000, 50.0)
    generate = sys.modules["coverage_generate"]
    lam = generate.mixed_rate(cfg, mu, np.random.default_rng(0))
    y = generate._noisy_counts(cfg, mu, np.random.default_rng(1))  # the generator's own draw
    assert known.noise_variance(cfg, mu)[0] == pytest.approx(y.var(), rel=0.02)
    assert known.log_noise_bias(cfg) == pytest.approx(np.log(lam / mu).mean(), abs=2e-3)
    if cfg.noise != "poisson":
        assert known.noise_variance(cfg, mu)[0] > 1.5 * mu[0]  # more than Poisson's


def test_known_counterfactual_smoother_is_a_random_walk_that_removes_noise():
    """The prior is cov(theta_i, theta_j) = START_SD^2 + sd^2 min(i, j); the smoother returns
    a noise-free curve unchanged and, on a flat curve with known noise, halves the error."""
    known = _known()
    i, j = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    np.testing.assert_allclose(
        known.random_walk_prior(6, 0.02), known.START_SD**2 + 0.02**2 * np.minimum(i, j)
    )
    curve = np.array([0.0, -0.002, -0.01, -0.025, -0.04, -0.05, -0.052])
    exact = known.random_walk_smooth(curve, np.full(curve.size, 1e-14))
    np.testing.assert_allclose(exact, curve, atol=1e-6)
    rng = np.random.default_rng(3)
    flat = np.full(9, -0.03)
    errors = [rng.normal(0.0, 0.005, flat.size) for _ in range(20)]
    raw = np.sqrt(np.mean(np.square(errors)))
    smoothed = np.sqrt(
        np.mean(
            [
                np.square(known.random_walk_smooth(flat + e, np.full(flat.size, 0.005**2)) - flat)
                for e in errors
            ]
        )
    )
    assert smoothed < 0.5 * raw
