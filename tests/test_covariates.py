"""Covariates: validation, standardisation, the model term, the bad-control flag, save/load."""

import warnings

import numpy as np
import pandas as pd
import pytest

from staggered.covariates import (
    SHIFT_THRESHOLD,
    CovariateWarning,
    adoption_shifts,
    standardise,
    unit_means,
)
from staggered.data import PanelError, encode_panel

COLUMNS = {
    "unit": "area",
    "time": "year",
    "outcome": "admissions",
    "exposure": "population",
    "adoption": "start",
}


def make_panel(n_units=20, n_periods=10, seed=0):
    """Yearly panel 2010-: a quarter of the units adopt 2014, a quarter 2016, half never.

    Covariates: ``smooth`` (unit level + the same trend everywhere), ``jump`` (unit level + 1
    from adoption on in treated units) and ``const`` (unit level only).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        start = 2014 if i < n_units // 4 else 2016 if i < n_units // 2 else np.nan
        level = rng.normal()
        for t in range(n_periods):
            year = 2010 + t
            treated = year >= start
            rows.append(
                {
                    "area": f"u{i:02d}",
                    "year": year,
                    "admissions": int(rng.poisson(500)),
                    "population": 1e4,
                    "start": start,
                    "smooth": level + 0.1 * t + 0.02 * rng.normal(),
                    "jump": level + 1.0 * treated + 0.02 * rng.normal(),
                    "const": level,
                }
            )
    return pd.DataFrame(rows)


def encode(df, covariates, **kw):
    return encode_panel(df, **COLUMNS, covariates=covariates, **kw)


# ------------------------------------------------------------------ validation


def test_non_numeric_covariate_names_rows():
    df = make_panel()
    df["smooth"] = df["smooth"].astype(object)
    df.loc[[3, 17], "smooth"] = "n/a"
    with pytest.raises(PanelError, match=r"'smooth' has non-numeric values in 2 rows \(index 3"):
        encode(df, ["smooth"])
    with pytest.raises(PanelError, match=r"index 3, 17; all 'n/a'\)"):
        encode(df, ["smooth"])


def test_missing_covariate_names_rows():
    df = make_panel()
    df.loc[[5, 40], "smooth"] = np.nan
    with pytest.raises(PanelError, match=r"'smooth' is missing in 2 rows \(index 5, 40\)"):
        encode(df, ["smooth"])


def test_infinite_covariate_names_rows():
    df = make_panel()
    df.loc[8, "smooth"] = np.inf
    with pytest.raises(PanelError, match=r"'smooth' has infinite values in 1 row \(index 8"):
        encode(df, ["smooth"])


def test_unknown_repeated_and_role_covariates():
    df = make_panel()
    with pytest.raises(PanelError, match="covariate='nope'"):
        encode(df, ["smooth", "nope"])
    with pytest.raises(PanelError, match="'smooth' named more than once"):
        encode(df, ["smooth", "smooth"])
    with pytest.raises(PanelError, match="'population' \\(the exposure column\\)"):
        encode(df, ["population"])


def test_covariate_constant_over_untreated_cells_refused():
    df = make_panel().assign(flat=3.0)
    df.loc[df["year"] >= df["start"], "flat"] = 4.0  # varies only in treated cells
    with pytest.raises(PanelError, match="'flat' takes one value \\(3\\) in every untreated"):
        encode(df, ["flat"])


# ------------------------------------------------------------------ encoding


def test_panel_carries_covariates_in_cell_order():
    df = make_panel().sample(frac=1.0, random_state=1)  # shuffled rows
    p = encode(df, ["smooth", "const"])
    assert p.covariate_names == ("smooth", "const")
    assert p.n_covariates == 2
    np.testing.assert_array_equal(p.covariates[:, 0], df.loc[p.row_index, "smooth"].to_numpy())
    np.testing.assert_array_equal(p.covariates[:, 1], df.loc[p.row_index, "const"].to_numpy())
    assert not p.covariates.flags.writeable
    assert "Covariates: 2 ('smooth', 'const'" in p.summary()
    assert list(p.to_frame().columns[-2:]) == ["smooth", "const"]
    cells = p.period_idx > 2
    sub = p.subset(cells)
    np.testing.assert_array_equal(sub.covariates, p.covariates[cells])
    assert encode(df, None).covariates is None


def test_standardise_over_cells():
    rng = np.random.default_rng(2)
    values = np.column_stack([rng.normal(5.0, 3.0, 50), rng.normal(-1.0, 0.1, 50)])
    cells = np.arange(50) < 30
    z = standardise(values, cells)
    np.testing.assert_allclose(z[cells].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[cells].std(axis=0), 1.0)
    np.testing.assert_allclose(z, (values - values[cells].mean(0)) / values[cells].std(0))
    flat = standardise(np.column_stack([np.r_[np.ones(30), np.arange(20.0)]]), cells)
    np.testing.assert_allclose(flat[:30], 0.0)  # constant over cells: centred only


def test_unit_means():
    values = np.array([[1.0], [3.0], [10.0], [5.0]])
    unit = np.array([0, 0, 0, 1])
    cells = np.array([True, True, False, True])
    np.testing.assert_allclose(unit_means(values, unit, cells, 3), [[2.0], [5.0], [0.0]])


# ------------------------------------------------------------------ bad-control flag


def test_bad_control_flag_fires_on_jump_not_on_smooth_trend():
    df = make_panel()
    with pytest.warns(CovariateWarning, match="'jump' shifts by \\+") as record:
        p = encode(df, ["smooth", "jump"])
    assert len(record) == 1  # smooth is not flagged
    smooth, jump = p.covariate_shifts
    assert abs(smooth) < 0.05
    assert jump > 2 * SHIFT_THRESHOLD
    summary = p.summary()
    assert "Possible bad control: covariate 'jump'" in summary
    assert "covariate 'smooth' shifts" not in summary


def test_no_warning_without_a_shift():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = encode(make_panel(), ["smooth", "const"])
    assert "Possible bad control" not in p.summary()
    assert np.allclose(p.covariate_shifts, 0.0, atol=0.05)


def test_adoption_shift_is_a_did_in_sd_units():
    # unit 0 adopts in period 2 and jumps by 2; unit 1 never treated, rises by 1 at period 2
    x = np.array([0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 1.0, 1.0])[:, None]
    unit = np.repeat([0, 1], 4)
    period = np.tile(np.arange(4), 2)
    adoption = np.array([2, -1])
    untreated_sd = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0]).std()
    shift = adoption_shifts(x, unit, period, adoption, 4)
    np.testing.assert_allclose(shift, [(2.0 - 1.0) / untreated_sd])
    # no comparison unit over the same periods: cannot be computed
    assert np.isnan(adoption_shifts(x[:4], unit[:4], period[:4], adoption[:1], 4)).all()


# ------------------------------------------------------------------ model term


def test_builder_adds_one_coefficient_per_covariate_to_eta0_only():
    from staggered.design import build_design
    from staggered.models import build_model, load_spec

    p = encode(make_panel(), ["smooth", "const"])
    design = build_design(p)
    # without the AR term (its carried-over deviation holds the previous cell's z . b too)
    spec = load_spec("negbin-rw-iid")
    model = build_model(design, spec)
    coef = model["covariate_coef"]
    assert model.named_vars_to_dims["covariate_coef"] == ("covariate",)
    assert list(model.coords["covariate"]) == ["smooth", "const"]
    assert coef in model.free_RVs

    comp = ~design.effect_cell
    z = standardise(p.covariates, comp)
    zbar = unit_means(z, p.unit_idx, comp, p.n_units)
    outputs = model.replace_rvs_by_values([model["eta0"], model["tau"]])
    evaluate = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")
    point = model.initial_point(random_seed=1)
    b = np.array([0.3, -0.2])
    moved = dict(point, covariate_coef=b)
    # the generative model: alpha_i ~ Normal(mu_alpha + zbar_i . b, sigma_alpha), so moving
    # the coefficients with alpha at the same standardised position moves eta0 by z . b
    moved["alpha"] = point["alpha"] + zbar @ b
    eta0_0, tau_0 = evaluate(point)
    eta0_1, tau_1 = evaluate(moved)
    np.testing.assert_allclose(eta0_1 - eta0_0, (z @ b)[design.effect_cells], atol=1e-10)
    np.testing.assert_allclose(tau_1, tau_0)  # never in the effect
    # the priors' log density changes by the coefficients' prior only (alpha moved with its mean)
    prior_logp = model.compile_fn(model.varlogp, inputs=model.value_vars)
    assert np.isclose(
        prior_logp(moved) - prior_logp(point),
        -0.5 * (b**2).sum() / spec.priors["covariate_sd"] ** 2,
    )


def test_builder_without_covariates_has_no_coefficient():
    from staggered.design import build_design
    from staggered.models import build_model, load_spec

    model = build_model(build_design(encode(make_panel(), None)), load_spec("negbin-rw"))
    assert "covariate_coef" not in model.named_vars
    assert "covariate" not in model.coords


def test_cli_covariate_is_repeatable():
    from staggered.cli import _parser

    args = _parser().parse_args(
        ["fit", "p.csv", "--unit", "a", "--time", "t", "--outcome", "y", "--out", "o"]
        + ["--covariate", "age75_share", "--covariate", "imd_score"]
    )
    assert args.covariates == ["age75_share", "imd_score"]


# ------------------------------------------------------------------ tiny fit, save / load


@pytest.fixture(scope="module")
def covariate_fit():
    from staggered import fit
    from staggered.fit import SamplingWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return fit(
            make_panel(),
            **COLUMNS,
            covariates=["smooth", "const"],
            placebo=0,
            draws=100,
            tune=100,
            chains=2,
            random_seed=3,
            progressbar=False,
        )


@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_fit_records_and_save_load_keeps_covariates(covariate_fit, tmp_path):
    import staggered as stg

    assert covariate_fit.config["covariates"] == ["smooth", "const"]
    coef = covariate_fit.idata.posterior["covariate_coef"]
    assert coef.dims == ("chain", "draw", "covariate")
    assert list(coef["covariate"].values) == ["smooth", "const"]

    loaded = stg.load(covariate_fit.save(tmp_path / "fit.nc"))
    p, q = covariate_fit.source_panel, loaded.source_panel
    assert q.covariate_names == p.covariate_names
    np.testing.assert_array_equal(q.covariates, p.covariates)
    np.testing.assert_allclose(q.covariate_shifts, p.covariate_shifts)
    assert loaded.config["covariates"] == ["smooth", "const"]
    assert "Covariates: 2" in loaded.summary()
    # the model rebuilds from the loaded fit, with its coefficients
    from staggered.models import build_model

    rebuilt = build_model(loaded.design, loaded.spec)
    assert list(rebuilt.coords["covariate"]) == ["smooth", "const"]


# ------------------------------------------------------------------ recovery (slow)


def confounded_panel(seed=0, n_units=20, n_periods=12, effect=-0.1, coef=0.15):
    """Half the units adopt in period 5; ``x`` is U-shaped in time in treated units only.

    ``x`` bottoms out just before adoption, so it hardly moves at adoption (no bad-control flag)
    but rises through the treated periods and raises their admissions: a confounder that a
    model without ``x`` reads as a growing harm of the programme.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        treated_unit = i < n_units // 2
        load = rng.normal(1.0 if treated_unit else 0.0, 0.2)
        alpha = np.log(0.05) + 0.1 * rng.normal()
        for t in range(n_periods):
            x = load * ((t - 4.5) / 3.0) ** 2 + 0.05 * rng.normal()
            treated = treated_unit and t >= 5
            eta = np.log(2e4) + alpha + 0.02 * t + coef * x + effect * treated
            rows.append(
                {
                    "area": i,
                    "year": 2010 + t,
                    "admissions": int(rng.poisson(rng.gamma(2500.0, np.exp(eta) / 2500.0))),
                    "population": 2e4,
                    "start": 2015 if treated_unit else np.nan,
                    "x": x,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_covariate_removes_confounding_bias():
    from staggered import fit

    df = confounded_panel()
    truth = np.exp(-0.1) - 1.0
    settings = dict(placebo=0, draws=500, tune=500, chains=2, random_seed=5, progressbar=False)
    errors = {}
    for name, covariates in (("without", None), ("with", ["x"])):
        result = fit(df, **COLUMNS, covariates=covariates, **settings)
        pooled = result.effects(scopes=("pooled",))
        pooled = pooled[pooled["measure"] == "relative"].set_index("event_time")
        errors[name] = pooled["mean"] - truth
    # without x, the late event times carry the confounder's rise (several points of bias)
    assert errors["without"].loc[4:].min() > 0.1
    # with x, every event time is within 3 points of the truth
    assert errors["with"].abs().max() < 0.03, errors["with"]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_confounded_scenario_is_biased_without_its_covariate():
    """The scenario users draw (``staggered simulate confounded``): the same verdict."""
    from staggered import fit, simulate

    sim = simulate("confounded", n_units=40, n_groups=6, n_periods=12, random_seed=3)
    truth = sim.truth[sim.truth["scope"] == "pooled"].set_index("event_time")["value"]
    columns = {role: name for role, name in sim.columns.items() if role != "covariates"}
    settings = dict(placebo=0, draws=500, tune=500, chains=2, random_seed=5, progressbar=False)
    errors = {}
    for name, covariates in (("without", None), ("with", sim.columns["covariates"])):
        result = fit(sim.panel, **columns, covariates=covariates, **settings)
        pooled = result.effects(scopes=("pooled",))
        pooled = pooled[pooled["measure"] == "relative"].set_index("event_time")
        errors[name] = (pooled["mean"] - truth).dropna()
    # without age75_share, the estimate of a -5% effect drifts to about -1% by e = 4..7
    assert errors["without"].loc[4:].min() > 0.025, errors["without"]
    # with it, every event time is within 1.5 points of the truth (measured: 0.9 at most)
    assert errors["with"].abs().max() < 0.015, errors["with"]
