"""Counterfactual options: AR(1) deviations (regression-to-the-mean guard), latent factors."""

import warnings

import numpy as np
import pandas as pd
import pytest

import staggered as stg
from staggered.design import build_design
from staggered.fit import SamplingWarning, diagnose
from staggered.models import build_model
from staggered.models.spec import spec_from_dict


def _panel(rows):
    df = pd.DataFrame(rows, columns=["area", "period", "admissions", "population", "start"])
    return stg.encode_panel(
        df,
        unit="area",
        time="period",
        outcome="admissions",
        exposure="population",
        adoption="start",
    )


def _holey_panel():
    # area B misses 2012; A adopts in 2013, B and C never
    rows = []
    for area, start in (("A", "2013"), ("B", ""), ("C", "")):
        for year in range(2010, 2016):
            if area == "B" and year == 2012:
                continue
            rows.append((area, year, 100 + year - 2000 + ord(area), 10_000, start))
    return _panel(rows)


def test_ar_lag_points_to_the_previous_observed_cell_of_the_same_unit():
    design = build_design(_holey_panel())
    p = design.panel
    lag, gap = design.ar_lag
    for cell in range(p.n_cells):
        same = np.flatnonzero(
            (p.unit_idx == p.unit_idx[cell]) & (p.period_idx < p.period_idx[cell])
        )
        if same.size == 0:
            assert lag[cell] == -1 and gap[cell] == 0
        else:
            prev = same[np.argmax(p.period_idx[same])]
            assert lag[cell] == prev
            assert gap[cell] == p.period_idx[cell] - p.period_idx[prev]
    assert gap.max() == 2  # B: 2011 -> 2013


def _yearly_and_quarterly_panels():
    rows = []
    for area, start in (("A", "2014"), ("B", "2012"), ("C", ""), ("D", "2016")):
        for year in range(2010, 2017):
            rows.append((area, year, 100 + year - 2000, 10_000, start))
    yearly = _panel(rows)
    rows = []
    for area, start in (("A", "2013Q1"), ("B", "2010Q3"), ("C", "")):
        for year in range(2010, 2015):
            for q in range(1, 5):
                rows.append((area, f"{year}Q{q}", 100 + q, 10_000, start))
    return yearly, _panel(rows)


def test_selection_cells_are_the_year_before_adoption_of_anchored_units():
    yearly, quarterly = _yearly_and_quarterly_panels()
    from staggered.models.builder import selection_cells

    def cells(design):
        c = selection_cells(design)
        p = design.panel
        return sorted(
            (str(p.unit_labels[p.unit_idx[i]]), str(p.period_labels[p.period_idx[i]])) for i in c
        )

    assert cells(build_design(yearly)) == [("A", "2013"), ("B", "2011"), ("D", "2015")]
    # with anticipation the window moves back; B's one untreated cell is then its anchor
    assert cells(build_design(yearly, anticipation=1)) == [("A", "2012"), ("D", "2014")]
    # placebo cells carry their own effects and are not shifted
    assert cells(build_design(yearly, placebo=1)) == []
    assert cells(build_design(yearly, comparison="never-treated")) == []
    # a year of quarters; B (adopting 2010Q3) has only two untreated quarters
    assert cells(build_design(quarterly)) == [("A", f"2012Q{q}") for q in range(1, 5)]


@pytest.mark.parametrize("ar1", [False, True])
def test_selection_shock_enters_the_likelihood_of_the_selection_cells_only(ar1):
    """The shift changes the fit of the year before adoption but not the counterfactual of an
    effect cell: with ar1 the deviation carried over is the observed one, shift included."""
    yearly, _ = _yearly_and_quarterly_panels()
    design = build_design(yearly)
    spec = stg.load_spec("negbin-rw" if ar1 else "negbin-rw-iid").replace(selection_shock=True)
    model = build_model(design, spec)
    point = model.initial_point()
    free = model.free_RVs
    constrained = []  # each free variable's value on its own scale, at the initial point
    for rv in free:
        value = point[model.rvs_to_values[rv].name]
        transform = model.rvs_to_transforms.get(rv)
        constrained.append(value if transform is None else transform.backward(value).eval())
    eta0_fn = model.compile_fn(model["eta0"], inputs=free, point_fn=False, on_unused_input="ignore")
    logp_fn = model.compile_logp(vars=model.observed_RVs)
    shock = [rv.name for rv in free].index("selection_shock")

    def at(shift):  # the shift (every wave's, with selection_waves) set to shift
        shifts = np.full(np.shape(point["selection_shock"]), shift)
        values = list(constrained)
        values[shock] = shifts
        return eta0_fn(*values), logp_fn({**point, "selection_shock": shifts})

    (eta_a, logp_a), (eta_b, logp_b) = at(0.0), at(0.3)
    np.testing.assert_allclose(eta_a, eta_b)
    assert abs(logp_a - logp_b) > 1.0
    assert "selection_shock" not in build_model(design, stg.load_spec("negbin-rw-iid")).named_vars
    assert stg.load_spec("negbin-rw").selection_shock  # the default guards


@pytest.mark.parametrize("selection_shock", [False, True])
def test_ar1_counterfactual_carries_rho_to_the_k_times_the_previous_deviation(selection_shock):
    """eta0 on an effect cell = fixed part + rho^k (log(y_prev + 0.5) - fixed_prev - tau_prev)
    (the selection shock is not subtracted: it is part of the deviation that reverts)."""
    design = build_design(_holey_panel())
    spec = stg.load_spec("negbin-rw").replace(selection_shock=selection_shock)
    model = build_model(design, spec)
    point = model.initial_point()
    rng = np.random.default_rng(0)
    point = {k: v + rng.normal(0, 0.1, np.shape(v)) for k, v in point.items()}
    fn = model.compile_fn(
        [
            model["eta0"],
            model["tau"],
            model["alpha"],
            model["gamma"],
            model["beta"],
            model["ar_rho"],
        ],
        inputs=model.value_vars,
        on_unused_input="ignore",
        point_fn=False,
    )
    eta0, tau, alpha, gamma, beta, rho = fn(*[point[v.name] for v in model.value_vars])
    p = design.panel
    fixed = (
        alpha[p.unit_idx]
        + gamma[p.period_idx]
        + beta[p.unit_idx] * design.period_time[p.period_idx]
        + np.log(p.exposure)
    )
    tau_cells = np.zeros(p.n_cells)
    tau_cells[design.effect_cells] = tau
    lag, gap = design.ar_lag
    eff = design.effect_cells
    expected = fixed[eff] + rho ** gap[eff] * (
        np.log(p.y[lag[eff]] + 0.5) - fixed[lag[eff]] - tau_cells[lag[eff]]
    )
    np.testing.assert_allclose(eta0, expected, rtol=1e-10)
    assert 0 < rho < 1


def test_factor_spec_builds_and_sign_free_parameters_are_left_out_of_convergence_checks():
    design = build_design(_holey_panel())
    model = build_model(design, stg.load_spec("negbin-rw-factor"))
    names = {v.name for v in model.free_RVs}
    assert {"sigma_factor", "factor_loading_z", "factor"} <= names
    assert model.initial_point()["factor_zerosum__"].shape == (1, design.panel.n_periods - 1)
    # two chains in mirror-image sign modes of the factor must not count as disagreement
    import arviz as az

    draws = np.random.default_rng(1).normal(size=(1, 200, 3))
    post = {
        "factor": np.concatenate([draws, -draws]),
        "sigma_factor": np.abs(np.random.default_rng(2).normal(size=(2, 200))),
    }
    diag = diagnose(az.from_dict(posterior=post))
    assert diag["max_rhat"] < 1.05


def test_spec_rejects_bad_counterfactual_options():
    with pytest.raises(ValueError, match="factors"):
        spec_from_dict({"counterfactual": {"factors": -1}})
    with pytest.raises(ValueError, match="factors"):
        spec_from_dict({"counterfactual": {"factors": True}})
    with pytest.raises(ValueError, match="unknown counterfactual key"):
        spec_from_dict({"counterfactual": {"ar2": True}})
    spec = spec_from_dict({"counterfactual": {"ar1": True, "factors": 2}})
    assert spec.ar1 and spec.factors == 2
    assert spec_from_dict(spec.to_dict()) == spec


def test_spec_refuses_misspelt_effect_keys_and_non_boolean_switches():
    """A typo in [effect] or a quoted "false" must not load silently as the default."""
    with pytest.raises(
        ValueError, match=r"unknown effect key\(s\) \['pooled_wlak', 'unit_levle'\]"
    ):
        spec_from_dict({"effect": {"unit_levle": False, "pooled_wlak": "centred"}})
    with pytest.raises(ValueError, match="counterfactual.unit_trend must be true or false"):
        spec_from_dict({"counterfactual": {"unit_trend": "false"}})
    with pytest.raises(ValueError, match="effect.unit_level must be true or false, got 0"):
        spec_from_dict({"effect": {"unit_level": 0}})
    spec = spec_from_dict({"effect": {"unit_level": False, "group_zero_sum": np.False_}})
    assert spec.unit_level is False and spec.group_zero_sum is False


def test_ar1_prior_simulator_has_the_drawn_persistence():
    """SBC draws AR(1) outcomes period by period: their deviations' lag-1 autocorrelation
    must track each replicate's drawn rho (a simulator without the AR term would give ~0)."""
    import pymc as pm

    from staggered.sbc_prior import prior_outcomes, prior_settings, template_design

    spec = stg.load_spec("negbin-rw").replace(priors={"dispersion_sd": 0.05})
    design = template_design(n_units=80, n_groups=3, n_periods=12, freq="year", random_seed=0)
    model = build_model(design, spec, **prior_settings(spec))
    prior = pm.sample_prior_predictive(draws=40, model=model, random_seed=5)
    y = prior_outcomes(prior, design, spec, 5)
    p = design.panel
    eta0_free = model.compile_fn(  # fixed part without the AR term, at each prior draw
        model["alpha"][p.unit_idx]
        + model["gamma"][p.period_idx]
        + model["beta"][p.unit_idx] * design.period_time[p.period_idx],
        inputs=[model["alpha"], model["gamma"], model["beta"]],
        point_fn=False,
    )
    never = ~np.isin(p.unit_idx, design.treated_units)
    lag, _ = design.ar_lag
    pairs = never & (lag >= 0)
    rho = prior.prior["ar_rho"].values[0]
    autocorr = []
    for r in range(40):
        fixed = eta0_free(*(prior.prior[v].values[0, r] for v in ("alpha", "gamma", "beta")))
        dev = np.log(y[r] + 0.5) - fixed - np.log(p.exposure)
        autocorr.append(np.corrcoef(dev[pairs], dev[lag[pairs]])[0, 1])
    assert np.corrcoef(rho, autocorr)[0, 1] > 0.8
    assert np.abs(np.asarray(autocorr) - rho).mean() < 0.1


@pytest.mark.parametrize("model", ["negbin-rw-iid", "negbin-rw-factor"])
def test_options_fit_and_report_effects(small_sim, model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        f = stg.fit(
            small_sim.panel,
            **small_sim.columns,
            model=model,
            placebo=0,  # plumbing of the spec's estimation fit only (the check is tested apart)
            draws=40,
            tune=40,
            chains=1,
            random_seed=2,
            progressbar=False,
        )
    eff = f.effects()
    pooled = eff[(eff.scope == "pooled") & (eff.measure == "relative")]
    assert pooled["mean"].notna().all() and len(pooled) > 0


@pytest.mark.parametrize(
    "selection_shock, selection_waves, covariates, unit_season",
    [
        (False, False, 0, 0),
        (True, False, 0, 0),
        (True, True, 0, 0),
        (True, False, 2, 0),
        (True, False, 0, 2),
    ],
)
def test_ar1_simulator_counterfactual_matches_the_model_at_the_simulated_outcome(
    selection_shock, selection_waves, covariates, unit_season
):
    """The SBC truth (eta0 from the period-by-period simulator) equals the model's own eta0
    evaluated at the same parameters with the simulated outcome in its lags, and the compiled
    sampler's posterior deterministics use the outcome it is given. With covariates: until
    session 13 the simulator left out their within-unit term, and SBC of the default spec with
    covariates flagged ``covariate_coef`` and the log-likelihood."""
    import pymc as pm

    from staggered.compiled import CompiledNUTS
    from staggered.sbc_prior import prior_outcomes, prior_settings, template_design

    spec = stg.load_spec("negbin-rw").replace(
        selection_shock=selection_shock, selection_waves=selection_waves, unit_season=unit_season
    )
    design = template_design(
        n_units=12,
        n_groups=2,
        n_periods=20 if unit_season else 7,
        freq="quarter" if unit_season else "year",
        random_seed=1,
        n_covariates=covariates,
    )
    model = build_model(design, spec, **prior_settings(spec))
    prior = pm.sample_prior_predictive(draws=3, model=model, random_seed=2)
    y = prior_outcomes(prior, design, spec, 2)
    free = list(model.free_RVs)
    eta0_fn = model.compile_fn(model["eta0"], inputs=free, point_fn=False, on_unused_input="ignore")
    for r in range(3):
        with model:
            pm.set_data({"y_observed": y[r]})
        at_draw = [prior.prior[rv.name].values[0, r] for rv in free]
        np.testing.assert_allclose(prior.prior["eta0"].values[0, r], eta0_fn(*at_draw), rtol=1e-8)
    # the compiled sampler's eta0 uses the outcome it was given (here y[1]), not the template's
    post, _ = CompiledNUTS(model, draws=5, tune=5).sample(y[1], random_seed=9)
    with model:
        pm.set_data({"y_observed": y[1]})
    last = [post[rv.name].values[0, -1] for rv in free]
    np.testing.assert_allclose(post["eta0"].values[0, -1], eta0_fn(*last), rtol=1e-8)


def test_guard_lines_report_the_selection_shift_and_the_ar_rate():
    import xarray as xr

    from staggered.guard import guard_lines

    rng = np.random.default_rng(3)

    def post(shift_mean, prefix=""):
        draws = {
            f"{prefix}selection_shock": rng.normal(shift_mean, 0.005, (2, 500)),
            f"{prefix}ar_rho": rng.normal(0.6, 0.02, (2, 500)),
        }
        return xr.Dataset({k: (("chain", "draw"), v) for k, v in draws.items()})

    (high,) = guard_lines(post(np.log(1.04)))
    assert "+4.0%" in high and "P(higher) = 1.00" in high
    assert "persist at 0.60" in high and "selected after an unusual year" in high
    (none,) = guard_lines(post(0.0))
    assert "unusual year" not in none
    (joint,) = guard_lines(post(0.0, prefix="ae::"))
    assert joint.startswith("regression-to-the-mean guard (ae):")
    assert guard_lines(xr.Dataset({"alpha": (("chain", "draw"), np.zeros((2, 5)))})) == []


def test_guard_lines_report_each_adoption_waves_shift():
    """A shift per wave (the default): each wave's shift, and which waves look selected."""
    import xarray as xr

    from staggered.guard import guard_lines

    rng = np.random.default_rng(4)
    shifts = np.log([1.05, 1.03, 1.0])
    draws = rng.normal(shifts, 0.005, (2, 500, 3))
    post = xr.Dataset(
        {
            "selection_shock": (("chain", "draw", "selection_wave"), draws),
            "ar_rho": (("chain", "draw"), rng.normal(0.6, 0.02, (2, 500))),
        },
        coords={"selection_wave": ["2014", "2015", "2017"]},
    )
    (line,) = guard_lines(post)
    assert "(by adoption wave) 2014 +5.0%" in line and "2015 +3.0%" in line and "2017 " in line
    assert "unusual year in wave 2014, 2015:" in line and "persist at 0.60" in line
    many = xr.Dataset(
        {
            "selection_shock": (
                ("chain", "draw", "selection_wave"),
                rng.normal(0, 0.005, (2, 50, 8)),
            )
        },
        coords={"selection_wave": [str(y) for y in range(2010, 2018)]},
    )
    (short,) = guard_lines(many)
    assert "over 8 adoption waves" in short and "unusual year" not in short


def test_selection_waves_give_each_wave_its_own_shift():
    """``selection_waves``: one shift per adoption wave, on that wave's selection cells only."""
    from staggered.models.builder import selection_cells, selection_waves
    from staggered.sbc_prior import template_design

    design = template_design(n_units=12, n_groups=2, n_periods=7, freq="year", random_seed=1)
    default = stg.load_spec("negbin-rw")
    assert not default.selection_waves  # opt-in (docs/validation.md, session 8)
    spec = default.replace(selection_waves=True)
    model = build_model(design, spec)
    p = design.panel
    cells = selection_cells(design)
    labels, pos = selection_waves(design, cells)
    cell_wave = [str(p.period_labels[a]) for a in p.adoption_idx[p.unit_idx[cells]]]
    assert [labels[k] for k in pos] == cell_wave  # each window cell gets its own wave's shift
    assert list(model.coords["selection_wave"]) == sorted(set(cell_wave)) and len(labels) > 1
    assert model["selection_shock"].eval().shape == (len(labels),)
    pooled = build_model(design, spec.replace(selection_waves=False))
    assert "selection_wave" not in pooled.coords and pooled["selection_shock"].ndim == 0


def _quarterly_design():
    _, quarterly = _yearly_and_quarterly_panels()
    return build_design(quarterly)


def test_unit_season_gives_each_unit_its_own_annual_harmonics_summing_to_zero():
    """eta0 = the model without the term + s_i . (cos, sin)(2 pi t) per cell, where the
    coefficients sum to zero in each term over the units seen untreated for a year or more
    (A: 12 quarters, C: never treated); B (2 quarters before adopting) follows the common
    seasonality of the period effects."""
    design = _quarterly_design()
    spec = stg.load_spec("negbin-rw-iid").replace(unit_season=1)
    model = build_model(design, spec)
    assert list(model.coords["season_term"]) == ["cos1", "sin1"]
    assert list(model.coords["season_unit"]) == ["A", "C"]
    point = model.initial_point()
    rng = np.random.default_rng(3)
    point = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in point.items()}
    names = ["eta0", "tau", "alpha", "gamma", "beta", "sigma_season", "season_z"]
    fn = model.compile_fn(
        [model[n] for n in names],
        inputs=model.value_vars,
        on_unused_input="ignore",
        point_fn=False,
    )
    eta0, tau, alpha, gamma, beta, sigma, z = fn(*[point[v.name] for v in model.value_vars])
    np.testing.assert_allclose(z.sum(axis=1), 0.0, atol=1e-12)
    p = design.panel
    coef = np.zeros((p.n_units, 2))
    coef[[list(p.unit_labels).index("A"), list(p.unit_labels).index("C")]] = sigma * z.T
    t = np.arange(p.n_periods) / 4.0  # quarters, in years
    harmonics = np.column_stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t)])
    season = (coef[p.unit_idx] * harmonics[p.period_idx]).sum(axis=1)
    fixed = (
        alpha[p.unit_idx]
        + gamma[p.period_idx]
        + beta[p.unit_idx] * design.period_time[p.period_idx]
        + np.log(p.exposure)
    )
    eff = design.effect_cells
    np.testing.assert_allclose(eta0, fixed[eff] + season[eff], rtol=1e-10)
    assert np.abs(season).max() > 1e-3  # the term is there, not zero
    assert "season_z" not in build_model(design, stg.load_spec("negbin-rw-iid")).named_vars


def test_unit_season_is_refused_where_the_panel_cannot_carry_it():
    yearly, quarterly = _yearly_and_quarterly_panels()
    spec = stg.load_spec("negbin-rw").replace(unit_season=1)
    with pytest.raises(ValueError, match="shorter than a year.*'year'"):
        build_model(build_design(yearly), spec)
    with pytest.raises(ValueError, match="4 periods a year has at most 2"):
        build_model(_quarterly_design(), spec.replace(unit_season=3))
    # the second quarterly harmonic has no sine (it is zero at every quarter)
    model = build_model(_quarterly_design(), spec.replace(unit_season=2))
    assert list(model.coords["season_term"]) == ["cos1", "sin1", "cos2"]
    # never-treated comparison: treated units keep one base cell, only C has its own terms
    with pytest.raises(ValueError, match="two or more units with a year of comparison"):
        build_model(build_design(quarterly, comparison="never-treated"), spec)
    for bad in (-1, 7, True, 1.0):
        with pytest.raises(ValueError, match="unit_season must be an integer 0..6"):
            spec_from_dict({"counterfactual": {"unit_season": bad}})
    assert spec_from_dict({"counterfactual": {"unit_season": 2}}).unit_season == 2
    assert spec_from_dict(spec.replace(unit_season=4).to_dict()).unit_season == 4


def test_monthly_and_financial_quarter_panels_take_every_harmonic():
    from staggered.models.terms import unit_season_basis

    rows = [
        (area, f"{year}-{month:02d}", 50 + month, 10_000, start)
        for area, start in (("A", "2014-01"), ("B", ""), ("C", ""))
        for year in (2012, 2013, 2014)
        for month in range(1, 13)
    ]
    basis, names = unit_season_basis(build_design(_panel(rows)), 6)
    assert names[-3:] == ["cos5", "sin5", "cos6"] and basis.shape == (36, 11)
    # the columns are orthogonal over whole years (a full-rank harmonic basis)
    np.testing.assert_allclose(basis.T @ basis, np.diag([18.0] * 10 + [36.0]), atol=1e-9)
    rows = [
        (area, f"{year}/{(year + 1) % 100:02d} Q{q}", 50 + q, 10_000, start)
        for area, start in (("A", "2014/15 Q1"), ("B", ""), ("C", ""))
        for year in (2012, 2013, 2014)
        for q in range(1, 5)
    ]
    design = build_design(_panel(rows))
    assert design.panel.freq == "fq"
    model = build_model(design, stg.load_spec("negbin-rw").replace(unit_season=2))
    assert list(model.coords["season_term"]) == ["cos1", "sin1", "cos2"]
