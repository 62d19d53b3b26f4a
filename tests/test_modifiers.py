"""Effect modifiers: validation, the model term, tables, the CLI, save/load, recovery (slow)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from staggered.data import PanelError, encode_panel

COLUMNS = {
    "unit": "area",
    "time": "year",
    "outcome": "admissions",
    "exposure": "population",
    "adoption": "start",
}


def make_panel(n_units=12, n_periods=8, seed=0):
    """Yearly panel 2010-: a third of the units adopt 2013, a third 2015, a third never.

    Modifiers, one value per unit: ``imd`` (a score) and ``rural`` (0/1); ``prog`` is the
    programme of treated units (P1 for even, P2 for odd units; blank for never-treated ones).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        start = 2013 if i < n_units // 3 else 2015 if i < 2 * n_units // 3 else np.nan
        imd, rural = float(rng.normal(20, 5)), float(i % 2)
        for t in range(n_periods):
            rows.append(
                {
                    "area": f"u{i:02d}",
                    "year": 2010 + t,
                    "admissions": int(rng.poisson(500)),
                    "population": 1e4,
                    "start": start,
                    "imd": imd,
                    "rural": rural,
                    "prog": None if np.isnan(start) else f"P{1 + i % 2}",
                }
            )
    return pd.DataFrame(rows)


def encode(df, modifiers, **kw):
    return encode_panel(df, **COLUMNS, modifiers=modifiers, **kw)


# ------------------------------------------------------------------ validation


def test_panel_carries_one_value_per_unit():
    df = make_panel()
    p = encode(df, ["imd", "rural"])
    assert p.modifier_names == ("imd", "rural")
    assert p.modifiers.shape == (p.n_units, 2)
    first = df.groupby("area")[["imd", "rural"]].first()
    np.testing.assert_allclose(p.modifiers, first.loc[list(p.unit_labels)].to_numpy())
    assert "Effect modifiers: 2 ('imd', 'rural'" in p.summary()


def test_modifier_varying_within_a_unit_names_unit_and_rows():
    df = make_panel()
    df.loc[[3, 4], "imd"] = 99.0  # rows of unit u00
    with pytest.raises(PanelError, match=r"'imd' varies within 1 unit: 'u00' \(") as err:
        encode(df, ["imd"])
    assert "2 rows (index 3, 4; all 99.0)" in str(err.value)


def test_missing_modifier_names_rows_of_treated_units_only():
    df = make_panel()
    df.loc[[5, 9], "imd"] = np.nan  # units u00 and u01, treated
    with pytest.raises(PanelError, match=r"'imd' is missing in 2 rows \(index 5, 9\)"):
        encode(df, ["imd"])
    never = make_panel()
    never.loc[never["area"] == "u11", "imd"] = np.nan  # never treated: allowed
    p = encode(never, ["imd"])
    assert np.isnan(p.modifiers[-1, 0]) and not np.isnan(p.modifiers[:-1]).any()


def test_non_numeric_and_infinite_modifier_name_rows():
    df = make_panel()
    df["rural"] = df["rural"].astype(object)
    df.loc[[2], "rural"] = "yes"
    with pytest.raises(PanelError, match=r"'rural' has non-numeric values in 1 row \(index 2"):
        encode(df, ["rural"])
    df = make_panel()
    df.loc[[6], "imd"] = np.inf
    with pytest.raises(PanelError, match=r"'imd' has infinite values in 1 row \(index 6"):
        encode(df, ["imd"])


def test_modifier_names_roles_and_constant_refused():
    df = make_panel().assign(one=1.0)
    with pytest.raises(PanelError, match="Unknown column: modifier='nope'"):
        encode(df, ["nope"])
    with pytest.raises(PanelError, match="named more than once"):
        encode(df, ["imd", "imd"])
    with pytest.raises(PanelError, match=r"'population' \(the exposure column\) already has"):
        encode(df, ["population"])
    with pytest.raises(PanelError, match="'one' takes one value \\(1\\) in every unit treated"):
        encode(df, ["one"])
    # a column may be both a covariate and a modifier
    p = encode(df, ["imd"], covariates=["imd"])
    assert p.covariate_names == p.modifier_names == ("imd",)


# ------------------------------------------------------------------ the model


def test_builder_adds_a_coefficient_curve_per_modifier_to_the_effect():
    from staggered.design import build_design
    from staggered.models import build_model, load_spec
    from staggered.modifiers import standardised_modifiers

    # with programmes: the site deviation is the programme's plus the unit's
    design = build_design(encode(make_panel(), ["imd", "rural"], group="prog"), placebo=0)
    # without the AR term, whose carried-over deviation subtracts the previous cell's effect
    model = build_model(design, load_spec("negbin-rw-iid"))
    assert "delta_group" in model.named_vars
    dims = model.named_vars_to_dims
    assert dims["modifier_coef"] == ("modifier", "effect_time")
    assert dims["modifier_coef_z"] == ("modifier", "effect_time")
    assert dims["sigma_modifier"] == ("modifier",)
    assert dims["site_deviation"] == ("treated_unit", "effect_time")
    assert list(model.coords["modifier"]) == ["imd", "rural"]
    assert list(model.coords["effect_time"]) == design.event_times.tolist()

    x, mean, sd = standardised_modifiers(design)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=0), 1)
    names = ["unit_effect", "theta", "site_deviation", "modifier_coef", "eta0"]
    outputs = model.replace_rvs_by_values([model[n] for n in names])
    evaluate = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")
    point = model.initial_point(random_seed=1)
    rng = np.random.default_rng(0)
    point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in point.items()}
    unit_effect, theta, deviation, coef, eta0 = evaluate(point)
    # unit effect = theta + x . b + unexplained deviation; the counterfactual does not move
    np.testing.assert_allclose(unit_effect, theta + x @ coef + deviation, atol=1e-10)
    # the programme deviations are part of the unexplained site deviation
    group_z = next(k for k in point if k.startswith("delta_group_z"))  # zero-sum: transformed
    shifted = evaluate(dict(point, **{group_z: point[group_z] + 1.0}))
    assert not np.allclose(shifted[2], deviation)
    np.testing.assert_allclose(shifted[0] - shifted[2], unit_effect - deviation, atol=1e-10)
    moved = dict(point, modifier_coef_z=point["modifier_coef_z"] + 1.0)
    assert np.allclose(evaluate(moved)[4], eta0)
    assert not np.allclose(evaluate(moved)[0], unit_effect)


def test_builder_without_modifiers_and_cohort_model():
    from staggered.design import build_design
    from staggered.models import build_model, load_spec

    model = build_model(build_design(encode(make_panel(), None)), load_spec("negbin-rw"))
    assert "modifier_coef" not in model.named_vars and "modifier" not in model.coords
    design = build_design(encode(make_panel(), ["imd"]))
    with pytest.raises(ValueError, match="curve='cohort'"):
        build_model(design, load_spec("normal-cohort"))


def test_table_measures_from_known_draws():
    import xarray as xr

    from staggered.design import build_design
    from staggered.models import load_spec
    from staggered.modifier_effects import modifiers_table, observed_units
    from staggered.modifiers import standardised_modifiers

    design = build_design(encode(make_panel(), ["imd", "rural"]), placebo=0)
    x, mean, sd = standardised_modifiers(design)
    n_e, n_i = design.event_times.size, design.treated_units.size
    rng = np.random.default_rng(0)
    theta = rng.normal(-0.05, 0.01, (1, 3, n_e))
    coef = rng.normal(0, 0.02, (1, 3, 2, n_e))
    deviation = rng.normal(0, 0.01, (1, 3, n_i, n_e))
    posterior = xr.Dataset(
        {
            "theta": (("chain", "draw", "event_time"), theta),
            "modifier_coef": (("chain", "draw", "modifier", "effect_time"), coef),
            "site_deviation": (("chain", "draw", "treated_unit", "effect_time"), deviation),
        }
    )
    table = modifiers_table(posterior, design, load_spec("negbin-rw"), level=0.5)
    rows = table[(table.modifier == "rural") & (table.measure == "relative_per_unit")]
    b = coef[0, :, 1, :]
    expected = np.exp(theta[0] + b / sd[1]) - np.exp(theta[0])
    np.testing.assert_allclose(rows["mean"], expected.mean(axis=0))
    rows = table[(table.modifier == "imd") & (table.measure == "log_per_sd")]
    np.testing.assert_allclose(rows["mean"], coef[0, :, 0, :].mean(axis=0))
    assert (rows["modifier_sd"] == sd[0]).all() and (rows["modifier_mean"] == mean[0]).all()
    share = table[table.measure == "variance_share"]
    seen = observed_units(design)
    e = n_e - 1  # the last event time: only the early cohort
    explained = x[seen[:, e]] @ coef[0, :, :, e].T  # (units, draws)
    v_x, v_r = explained.var(axis=0), deviation[0, :, seen[:, e], e].var(axis=0)
    assert share["n_units"].iloc[-1] == seen[:, e].sum() < n_i
    np.testing.assert_allclose(share["mean"].iloc[-1], (v_x / (v_x + v_r)).mean())


def test_cli_modifier_is_repeatable():
    from staggered.cli import _parser

    args = _parser().parse_args(
        ["fit", "p.csv", "--unit", "a", "--time", "t", "--outcome", "y", "--out", "o"]
        + ["--modifier", "baseline_rate", "--modifier", "imd_score"]
    )
    assert args.modifiers == ["baseline_rate", "imd_score"]


# ------------------------------------------------------------------ a tiny fit from the CLI


@pytest.fixture(scope="module")
def cli_fit(tmp_path_factory):
    """``staggered fit --modifier imd --modifier rural`` on the small panel (short chains)."""
    from staggered.cli import main

    out = tmp_path_factory.mktemp("modifiers")
    make_panel().to_csv(out / "panel.csv", index=False)
    argv = ["fit", str(out / "panel.csv"), "--unit", "area", "--time", "year"]
    argv += ["--outcome", "admissions", "--exposure", "population", "--adoption", "start"]
    argv += ["--modifier", "imd", "--modifier", "rural", "--placebo", "0", "--no-progress"]
    argv += ["--draws", "25", "--tune", "30", "--chains", "1", "--out", str(out / "results")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0
    return out / "results"


def test_cli_writes_modifiers_csv_and_figure(cli_fit):
    from staggered.modifier_effects import COLUMNS

    table = pd.read_csv(cli_fit / "modifiers.csv")
    assert list(table.columns) == COLUMNS
    assert set(table["modifier"]) == {"imd", "rural", "(all)"}
    measures = {"relative_per_sd", "relative_per_unit", "log_per_sd"}
    assert set(table.loc[table.modifier == "imd", "measure"]) == measures
    assert set(table.loc[table.modifier == "(all)", "measure"]) == {"variance_share"}
    assert table["event_time"].tolist()[:5] == [0, 1, 2, 3, 4]
    share = table[table.measure == "variance_share"]
    assert share[["lower", "mean", "upper"]].stack().between(0, 1).all()
    assert (table["lower"] <= table["upper"]).all()
    assert (cli_fit / "modifiers.png").stat().st_size > 10_000
    assert "Effect modifiers: 2 ('imd', 'rural'" in (cli_fit / "summary.txt").read_text()
    assert "Which contexts work: effect modifiers" in (cli_fit / "report.html").read_text()


def test_saved_fit_reloads_with_its_modifiers(cli_fit):
    import staggered as stg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stg.SamplingWarning)
        loaded = stg.load(cli_fit / "posterior.nc")
    p = loaded.panel
    assert p.modifier_names == ("imd", "rural")
    expected = make_panel().groupby("area")[["imd", "rural"]].first()
    np.testing.assert_allclose(p.modifiers, expected.loc[list(p.unit_labels)].to_numpy())
    assert loaded.config["modifiers"] == ["imd", "rural"]
    table = loaded.modifiers()
    written = pd.read_csv(cli_fit / "modifiers.csv")
    # the file packs draws to 1/1000 of their sd (docs/performance.md); the csv has 6 digits
    width = (written["upper"] - written["lower"]).abs()
    assert ((table["mean"] - written["mean"]).abs() <= 2e-3 * width + 2e-6).all()
    # the loaded model rebuilds with the same modifier term
    from staggered.models import build_model

    rebuilt = build_model(loaded.design, loaded.spec)
    assert list(rebuilt.coords["modifier"]) == ["imd", "rural"]


# ------------------------------------------------------------------ recovery (slow)

SLOPE_CAP = -0.05  # true modifier slope at late event times: log effect per sd of `baseline`


def modifier_panel(seed=0, n_treated=40, n_never=20, n_periods=12):
    """Yearly panel 2008-2019 in which a site's baseline rate drives the size of its effect.

    Half the treated units adopt in 2012, half in 2014; ``baseline`` (admissions per 1,000,
    one value per unit, mean 50, sd 10) moves the log effect by ``slope(e) = max(-0.008 (e +
    1), -0.05)`` per sd: sites with higher baselines gain more. The pooled effect is
    ``max(-0.01 (e + 1), -0.05)``; unexplained site deviations are random walks with steps of
    sd 0.01 per year. Counts are about 10,000 per cell (negative binomial, cv 0.02).

    Returns
    -------
    (DataFrame, dict)
        The panel, and the true slope per sd of the treated units' ``baseline`` (ddof 0, as
        the model standardises) by event time.
    """
    rng = np.random.default_rng(seed)
    n_units = n_treated + n_never
    baseline = rng.normal(50.0, 10.0, n_units)
    alpha = np.log(0.05) + 0.1 * rng.normal(size=n_units)
    gamma = np.cumsum(rng.normal(0.0, 0.02, n_periods))
    start = np.where(np.arange(n_units) < n_treated // 2, 2012, 2014).astype(float)
    start[n_treated:] = np.nan
    event_times = np.arange(n_periods)
    slope = np.maximum(-0.008 * (event_times + 1), SLOPE_CAP)  # per sd of 10
    theta = np.maximum(-0.01 * (event_times + 1), -0.05)
    rows = []
    for i in range(n_units):
        deviation = 0.01 * np.cumsum(rng.normal(size=n_periods))
        for t in range(n_periods):
            year = 2008 + t
            e = int(year - start[i]) if year >= start[i] else -1
            tau = theta[e] + slope[e] * (baseline[i] - 50.0) / 10.0 + deviation[e] if e >= 0 else 0
            mu = 2e5 * np.exp(alpha[i] + gamma[t] + tau)
            rows.append(
                {
                    "area": f"a{i:02d}",
                    "year": year,
                    "admissions": int(rng.poisson(rng.gamma(2500.0, mu / 2500.0))),
                    "population": 2e5,
                    "start": start[i],
                    "baseline": round(float(baseline[i]), 2),
                }
            )
    sd_treated = baseline[:n_treated].std() / 10.0
    return pd.DataFrame(rows), dict(enumerate(slope * sd_treated))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_modifier_slope_recovered_and_site_spread_explained():
    """The slope of the effect on a site's baseline rate is recovered; a wrong model misses.

    Measured once (seed 0 panel, 2 chains x 500 draws, seed 5; R-hat <= 1.02, no
    divergences, bulk ESS >= 290), ``log_per_sd`` at the late event times 4-7 against the
    truth -0.0315, -0.0378, -0.0394, -0.0394:

    - with ``baseline``: means -0.0313, -0.0382, -0.0321, -0.0315 (errors +0.0002, -0.0004,
      +0.0073, +0.0079), truth inside every 90% interval; variance share 0.63-0.75;
      ``sigma_unit`` 0.0090 (90% 0.0067-0.0116; true unexplained step sd 0.01);
    - with ``baseline`` permuted across areas: means -0.0032 to -0.0014 (errors +0.028 to
      +0.038), variance share <= 0.03; ``sigma_unit`` 0.0150;
    - without modifiers (no slope, i.e. an error of 0.031-0.039): ``sigma_unit`` 0.0150
      (90% 0.0126-0.0176).

    The bound |error| < 0.015 holds with the modifier and fails for both wrong models.
    """
    from staggered import fit

    df, truth = modifier_panel()
    areas = df.groupby("area")["baseline"].first()
    shuffled = pd.Series(np.random.default_rng(1).permutation(areas.to_numpy()), areas.index)
    df["baseline_permuted"] = df["area"].map(shuffled)
    settings = dict(placebo=0, draws=500, tune=500, chains=2, random_seed=5, progressbar=False)
    late = [4, 5, 6, 7]
    slopes, shares, sigma_unit = {}, {}, {}
    for name, modifiers in (
        ("with", ["baseline"]),
        ("permuted", ["baseline_permuted"]),
        ("without", None),
    ):
        result = fit(df, **COLUMNS, modifiers=modifiers, **settings)
        sigma_unit[name] = float(result.idata.posterior["sigma_unit"].mean())
        if modifiers:
            table = result.modifiers().set_index("event_time")
            slopes[name] = table[table.measure == "log_per_sd"].loc[late]
            shares[name] = table[table.measure == "variance_share"].loc[late, "mean"]
    expected = pd.Series(truth).loc[late]
    right, wrong = slopes["with"], slopes["permuted"]
    assert ((right["lower"] <= expected) & (expected <= right["upper"])).all(), right
    assert ((right["mean"] - expected).abs() < 0.015).all(), right["mean"] - expected
    assert ((wrong["mean"] - expected).abs() > 0.015).all(), wrong["mean"] - expected
    assert (expected.abs() > 0.015).all()  # a model without the slope misses too
    assert (shares["with"] > 0.4).all() and (shares["permuted"] < 0.15).all(), shares
    assert sigma_unit["with"] < 0.75 * sigma_unit["without"], sigma_unit
