"""Integration tests on a tiny real NUTS fit (short chains: checks plumbing, not accuracy)."""

import json
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import staggered as stg
from staggered.effects import COLUMNS
from staggered.fit import SamplingWarning


def test_fit_returns_named_dims(tiny_fit):
    post = tiny_fit.idata.posterior
    assert post["alpha"].dims == ("chain", "draw", "unit")
    assert post["gamma"].dims == ("chain", "draw", "period")
    assert post["theta"].dims == ("chain", "draw", "event_time")
    assert post["unit_effect"].dims == ("chain", "draw", "treated_unit", "event_time")
    assert post["delta_group"].dims == ("chain", "draw", "group", "event_time")
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 60


def test_effects_table_contract(tiny_fit, small_sim):
    eff = tiny_fit.effects()
    assert list(eff.columns) == COLUMNS
    pooled = eff[(eff.scope == "pooled") & (eff.measure == "relative")]
    # placebo event times -3..-1 (default placebo=3), then 0.. the last observed event time
    assert pooled.event_time.tolist() == list(range(-3, pooled.event_time.max() + 1))
    cumulative = eff[(eff.scope == "pooled") & (eff.measure == "cumulative")]
    assert cumulative.event_time.min() == 0
    predictive = eff[eff.scope == "predictive"]
    assert predictive.event_time.min() == 0
    assert ((pooled.lower <= pooled["mean"]) & (pooled["mean"] <= pooled.upper)).all()
    units = set(eff.loc[eff.scope == "unit", "id"])
    treated = set(small_sim.panel.loc[small_sim.panel.start != "", "area"])
    assert units == treated


def test_diagnostics_recorded(tiny_fit):
    d = tiny_fit.diagnostics
    for key in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "sampler", "seconds"):
        assert key in d
    assert d["sampler"] == "nutpie"  # the default


def test_short_chains_warn(small_sim):
    sim = small_sim
    with pytest.warns(SamplingWarning, match="Sampling problem"):
        stg.fit(
            sim.panel, **sim.columns, draws=10, tune=10, chains=2, random_seed=1, progressbar=False
        )


@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_save_load_roundtrip(tiny_fit, tmp_path):
    path = tiny_fit.save(tmp_path / "fit.nc")
    stored = az.from_netcdf(path)
    # cell-level deterministics are recomputed on load, not stored (issue 10: file size)
    assert "eta0" not in stored.posterior and "tau" not in stored.posterior
    loaded = stg.load(path)
    # draws are stored packed to 1/1000 of each variable's smallest posterior sd: estimates
    # agree to a small share of their interval's width, placebo rows included
    got, want = loaded.effects(), tiny_fit.effects()
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    text = [c for c in want.columns if not pd.api.types.is_float_dtype(want[c])]
    pd.testing.assert_frame_equal(got[text], want[text])
    width = (want["upper"] - want["lower"]).abs().to_numpy()
    numbers = [c for c in want.columns if c not in text]
    for col in numbers:
        if col.startswith("prob"):  # shares of draws: a packed draw may cross a threshold
            np.testing.assert_allclose(got[col], want[col], atol=0.02, err_msg=col)
        else:
            assert (np.abs(got[col] - want[col]).to_numpy() <= 2e-3 * width + 1e-9).all(), col
    # the sampler's transformed copies ("sigma_unit_log__") are not stored
    assert not [v for v in stored.posterior.data_vars if str(v).endswith("__")]
    # a loaded fit saves as compactly again (its check group packed too, not copied as read)
    again = loaded.save(tmp_path / "again.nc")
    assert again.stat().st_size <= 1.05 * path.stat().st_size
    assert (loaded.effects()["event_time"] < 0).any()
    assert loaded.pretrends().verdict == tiny_fit.pretrends().verdict
    assert loaded.spec == tiny_fit.spec
    assert loaded.config["random_seed"] == 11
    np.testing.assert_array_equal(loaded.panel.y, tiny_fit.panel.y)
    assert list(loaded.panel.unit_labels) == list(tiny_fit.panel.unit_labels)


def test_packed_draws_stay_within_a_thousandth_of_their_posterior_sd(tmp_path):
    """CF packing (int16 + scale) only where the rounding step is under 1/1000 of the
    variable's smallest posterior sd; a variable with one near-constant element stays float."""
    import xarray as xr

    from staggered.io import _packed, _write_posterior

    rng = np.random.default_rng(0)
    wide = rng.normal(0.0, 1.0, (2, 300, 5)).astype(np.float32)
    narrow = rng.normal(0.0, 1.0, (2, 300, 3)).astype(np.float32)
    narrow[..., 0] = 0.5 + 1e-6 * narrow[..., 0]  # sd 1e-6 against a range of ~8
    post = xr.Dataset(
        {"wide": (("chain", "draw", "a"), wide), "narrow": (("chain", "draw", "b"), narrow)}
    )
    _, enc = _packed(post)
    assert enc["wide"]["dtype"] == "int16" and "dtype" not in enc["narrow"]
    path = tmp_path / "post.nc"
    xr.Dataset().to_netcdf(path, engine="h5netcdf")
    _write_posterior(post, path, "posterior")
    back = xr.open_dataset(path, group="posterior", engine="h5netcdf").load()
    err = np.abs(back["wide"].values - wide)
    assert err.max() <= 0.5 * enc["wide"]["scale_factor"] * 1.001
    assert err.max() <= 1e-3 * wide.reshape(-1, 5).std(axis=0).min()
    np.testing.assert_array_equal(back["narrow"].values, narrow)


def test_gaussian_model_on_log_outcome(small_sim):
    df = small_sim.panel.assign(
        log_rate=np.log(small_sim.panel.admissions / small_sim.panel.population)
    )
    cols = {k: v for k, v in small_sim.columns.items() if k not in ("outcome", "exposure")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        f = stg.fit(
            df,
            **cols,
            outcome="log_rate",
            model="normal-rw",
            draws=40,
            tune=40,
            chains=1,
            random_seed=2,
            progressbar=False,
        )
    eff = f.effects()
    assert set(eff.measure) == {"absolute", "cumulative"}
    assert "sigma_y" in f.idata.posterior


def test_count_model_rejects_float_outcome(small_sim):
    df = small_sim.panel.assign(admissions=small_sim.panel.admissions + 0.5)
    with pytest.raises(stg.PanelError, match="admissions"):
        stg.fit(df, **small_sim.columns, draws=10, tune=10, chains=1)


def test_pretrends_summary(tiny_fit):
    check = tiny_fit.pretrends(rope=0.02)
    assert check.table.event_time.tolist() == [-3, -2, -1]
    assert 0.0 <= check.prob_all_in_rope <= 1.0
    assert check.prob_all_in_rope <= check.table.prob_in_rope.min() + 1e-12
    assert "Pre-trend check (3 placebo event times" in str(check)


def test_diagnostics_json_roundtrip(tiny_fit):
    assert json.loads(json.dumps(tiny_fit.diagnostics)) == tiny_fit.diagnostics


def test_sensitivity_breakdown_matches_definition(tiny_fit):
    table = tiny_fit.sensitivity()
    dev = abs(tiny_fit.pretrends().max_abs["mean"])  # the largest placebo may be negative
    assert (table.event_time >= 0).all()
    for row in table.itertuples():
        if row.lower <= 0 <= row.upper:
            assert row.breakdown_M == 0
        else:
            gap = -row.upper if row.upper < 0 else row.lower
            assert row.breakdown_M == pytest.approx(gap / dev)


@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_loo_on_untreated_cells_prefers_negbin_on_overdispersed_counts(tmp_path):
    """Overdispersed counts: PSIS-LOO on the untreated cells must rank negbin above poisson."""
    from staggered.cli import main

    sim = stg.simulate("delayed", n_units=24, n_groups=3, dispersion_cv=0.05, random_seed=9)
    fits = {
        name: stg.fit(
            sim.panel,
            **sim.columns,
            model=name,
            placebo=0,  # LOO compares the estimation fits
            draws=150,
            tune=150,
            chains=2,
            random_seed=1,
            progressbar=False,
        )
        for name in ("negbin-rw", "poisson-rw")
    }
    table, pooled = stg.compare_models(fits)
    assert table.index[0] == "negbin-rw"
    assert table.loc["poisson-rw", "elpd_diff"] > 4 * table.loc["poisson-rw", "dse"]
    untreated = (~fits["negbin-rw"].design.effect_cell).sum()
    assert table["n_cells"].iloc[0] == untreated
    assert set(pooled.model) == {"negbin-rw", "poisson-rw"}
    for name, f in fits.items():
        f.save(tmp_path / name / "posterior.nc")
    assert (
        main(
            [
                "compare",
                str(tmp_path / "negbin-rw"),
                str(tmp_path / "poisson-rw"),
                "--out",
                str(tmp_path / "cmp"),
            ]
        )
        == 0
    )
    assert (tmp_path / "cmp" / "models.png").stat().st_size > 10_000


def test_unit_intercepts_are_centred_to_pack_and_restored_on_load():
    """Elements far apart with narrow posteriors (unit intercepts) are stored centred on their
    means and come back within a thousandth of their sd."""
    import xarray as xr

    from staggered.io import _CENTRE, _packed, _packing, _uncentred

    rng = np.random.default_rng(1)
    levels = np.linspace(-9.0, -5.0, 6)
    alpha = (levels + rng.normal(0.0, 0.003, (2, 400, 6))).astype(np.float32)
    post = xr.Dataset({"alpha": (("chain", "draw", "unit"), alpha)})
    assert _packing(alpha) is None  # raw: a step of 6e-5 against sd 0.003
    stored, enc = _packed(post)
    assert f"alpha{_CENTRE}" in stored and enc["alpha"]["dtype"] == "int16"
    back = _uncentred(stored)
    assert list(back.data_vars) == ["alpha"]
    np.testing.assert_allclose(back["alpha"].values, alpha, atol=1e-6)


@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_loaded_quarterly_fit_rebuilds_its_check_without_the_selection_shock(tmp_path):
    """With quarters, three placebo quarters leave the fourth quarter before adoption outside
    the check's placebo window: the check is fitted without the selection shock, and a loaded
    fit must rebuild it the same way (its placebo rows recomputed, not dropped)."""
    sim = stg.simulate("delayed", n_units=16, n_groups=3, freq="quarter", random_seed=5)
    fitted = stg.fit(
        sim.panel, **sim.columns, draws=20, tune=20, chains=1, random_seed=2, progressbar=False
    )
    assert "selection_shock" in fitted.idata.posterior
    assert not fitted.pretrend.spec.selection_shock
    loaded = stg.load(fitted.save(tmp_path / "q.nc"))
    assert not loaded.pretrend.spec.selection_shock
    placebo = fitted.effects().query("event_time < 0")
    again = loaded.effects().query("event_time < 0")
    assert len(placebo) > 0 and len(again) == len(placebo)
    width = (placebo["upper"] - placebo["lower"]).abs().to_numpy()
    assert (np.abs(again["mean"].to_numpy() - placebo["mean"].to_numpy()) <= 2e-3 * width).all()


def test_fit_saved_before_signed_scales_loads_the_same_effects(tiny_fit):
    """A file from before the signed deviation scales (session 8) holds the positive scales
    and steps that go with them; loading fills ``*_signed`` from the scales and recomputes the
    same cell quantities as the fit (the model is the same)."""
    from staggered.io import _restore

    cells = ("eta0", "tau")  # recomputed on load

    post = tiny_fit.idata.posterior
    old = post.copy()
    for level in ("unit", "group"):
        z = f"delta_{level}_z"  # (chain, draw, rows, effect_time); zero-sum groups: time first
        first = old[z]["effect_time"] == old[z]["effect_time"][0]
        sign_start = np.sign(old[f"sigma_{level}_start_signed"])
        sign_step = np.sign(old[f"sigma_{level}_signed"])
        old[z] = (old[z] * xr.where(first, sign_start, sign_step)).transpose(*old[z].dims)
    signed = [v for v in old.data_vars if str(v).endswith("_signed")]
    assert len(signed) == 4
    old = old.drop_vars(signed + list(cells))
    restored = _restore(old, tiny_fit.design, tiny_fit.spec, tiny_fit.config)
    for name in cells:
        np.testing.assert_allclose(restored[name].values, post[name].values, rtol=1e-6, atol=1e-9)


def test_file_with_free_programme_steps_loads_as_free(tiny_fit):
    """Files saved before session 10 hold free (group-first) programme steps; their spec does
    not say so, so ``load`` reads the layout and rebuilds the model they were sampled with."""
    from staggered.io import _saved_layout
    from staggered.models import build_model

    post = tiny_fit.idata.posterior
    assert post["delta_group_z"].dims[-1] == "group"  # zero-sum: time first
    assert _saved_layout(tiny_fit.spec, post).group_zero_sum
    old = post.assign(delta_group_z=post["delta_group_z"].transpose("chain", "draw", "group", ...))
    spec = _saved_layout(tiny_fit.spec, old)
    assert not spec.group_zero_sum
    model = build_model(tiny_fit.design, spec)
    assert model.named_vars_to_dims["delta_group_z"] == ("group", "effect_time")
