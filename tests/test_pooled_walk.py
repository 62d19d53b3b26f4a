"""Effect walks: the pooled walk's two parameterisations are one model; site start scales."""

import importlib

import numpy as np
import pymc as pm
import pytest

import staggered as stg
from staggered.data import encode_panel
from staggered.design import fit_designs
from staggered.models import build_model, load_spec, spec_from_dict


def _design():
    sim = stg.simulate("delayed", n_units=12, n_groups=2, freq="quarter", random_seed=1)
    design, _ = fit_designs(encode_panel(sim.panel, **sim.columns), placebo=0)
    return design


def _theta_prior(pooled_walk: str) -> np.ndarray:
    model = build_model(_design(), load_spec("negbin-rw").replace(pooled_walk=pooled_walk))
    with model:
        prior = pm.sample_prior_predictive(draws=4000, var_names=["theta"], random_seed=3)
    return prior.prior["theta"].values.reshape(4000, -1)


def test_non_centred_pooled_walk_is_the_same_prior():
    """Same prior on theta either way: sds at every event time agree within sampling error.

    A walk without the start (sd 0.1) or with steps not scaled per year would differ by far
    more than the 8% allowed (the sd of an sd estimate from 4,000 draws is about 1.1%).
    """
    centred, non_centred = _theta_prior("centred"), _theta_prior("non-centred")
    assert centred.shape == non_centred.shape and centred.shape[1] > 8
    ratio = non_centred.std(axis=0) / centred.std(axis=0)
    assert np.all(np.abs(ratio - 1) < 0.08), ratio
    assert np.all(np.abs(non_centred.mean(axis=0)) < 0.01)


def test_pooled_walk_round_trips_and_is_checked():
    spec = load_spec("negbin-rw").replace(pooled_walk="non-centred")
    assert spec_from_dict(spec.to_dict()).pooled_walk == "non-centred"
    assert load_spec("negbin-rw").pooled_walk == "auto"
    bad = {**spec.to_dict(), "effect": {"pooled_walk": "sideways"}}
    with pytest.raises(ValueError, match="effect.pooled_walk must be one of"):
        spec_from_dict(bad)


def test_unit_deviation_prior_has_its_own_start_scale():
    """A unit's deviation: sd ``unit_start_sd`` at the first effect time, then per-year steps.

    sd of ``Normal(0, s)`` with ``s ~ HalfNormal(c)`` is ``c``; k quarterly steps add
    ``k * unit_step_sd^2 / 4``. Without the start scale the first deviation's sd would be
    0.01 (one quarterly step), five times less; with steps not scaled per year the last sd
    would be 1.7 times larger.
    """
    model = build_model(_design(), load_spec("negbin-rw").replace(group_level=False))
    with model:
        prior = pm.sample_prior_predictive(
            draws=4000, var_names=["unit_effect", "theta"], random_seed=5
        ).prior
    deviation = (prior["unit_effect"] - prior["theta"]).values[0]  # draw, unit, event time
    pri = load_spec("negbin-rw").priors
    k = deviation.shape[2] - 1
    expected_first = pri["unit_start_sd"]
    expected_last = np.sqrt(pri["unit_start_sd"] ** 2 + k * pri["unit_step_sd"] ** 2 / 4)
    assert deviation[:, :, 0].std() == pytest.approx(expected_first, rel=0.08)
    assert deviation[:, :, -1].std() == pytest.approx(expected_last, rel=0.08)


def test_deviation_scales_are_sampled_signed_with_a_half_normal_law():
    """``sigma_unit`` etc. are ``|s|`` with ``s ~ Normal(0, c)``: half-normal, as stated.

    The signed form is only a parameterisation (``models.curves.deviation_scale``); the prior
    of the scale must stay ``HalfNormal(c)``: mean ``c * sqrt(2 / pi)``, never negative.
    """
    model = build_model(_design(), load_spec("negbin-rw"))
    free = {v.name for v in model.free_RVs}
    assert {"sigma_unit_signed", "sigma_unit_start_signed"} <= free
    assert "sigma_unit" not in free and "sigma_unit" in model.named_vars
    pri = load_spec("negbin-rw").priors
    with model:
        prior = pm.sample_prior_predictive(
            draws=4000, var_names=["sigma_unit", "sigma_unit_start"], random_seed=6
        ).prior
    scales = {"sigma_unit": pri["unit_step_sd"], "sigma_unit_start": pri["unit_start_sd"]}
    for name, c in scales.items():
        draws = prior[name].values.ravel()
        assert draws.min() >= 0
        assert draws.mean() == pytest.approx(c * np.sqrt(2 / np.pi), rel=0.05)


def test_programme_deviations_sum_to_zero_with_the_stated_spread():
    """Programme steps are ``ZeroSumNormal``: deviations sum to zero across programmes.

    Free steps leave ``theta`` plus the programmes' mean deviation as the only thing the data
    pin (a funnel with the programme scale). With G programmes, a programme's first deviation
    then has sd ``group_start_sd * sqrt(1 - 1/G)`` (free steps: ``group_start_sd``).
    """
    sim = stg.simulate("delayed", n_units=16, n_groups=4, freq="year", random_seed=2)
    design, _ = fit_designs(encode_panel(sim.panel, **sim.columns), placebo=0)
    model = build_model(design, load_spec("negbin-rw"))
    n_groups = len(model.coords["group"])
    assert n_groups >= 3
    with model:
        prior = pm.sample_prior_predictive(
            draws=4000, var_names=["delta_group"], random_seed=7
        ).prior
    delta = prior["delta_group"].values[0]  # draw, group, event time
    np.testing.assert_allclose(delta.sum(axis=1), 0.0, atol=1e-9)
    expected = load_spec("negbin-rw").priors["group_start_sd"] * np.sqrt(1 - 1 / n_groups)
    assert delta[:, :, 0].std() == pytest.approx(expected, rel=0.08)


def _fake_sampler(divergences: dict, runs: dict | None = None, stuck: dict | None = None):
    """A stand-in for ``sample_model``: divergences by the walk form of the model it is given.

    ``runs``: draws per chain run by form (recorded as a thinned fit records them);
    ``stuck``: by form, how far apart the two chains sit (in posterior sds; 0: they mix).
    """
    import arviz as az

    seen, stops = [], []

    def sample(model, stop_on_divergence=False, **_):
        form = "non-centred" if "theta_effect_steps_z" in model.named_vars else "centred"
        seen.append(form)
        stops.append(stop_on_divergence)
        rng = np.random.default_rng(len(seen))
        diverging = np.zeros((2, 50), dtype=bool)
        diverging.flat[: divergences[form]] = True
        shift = (stuck or {}).get(form, 0.0) * np.array([[0.0], [1.0]])
        idata = az.from_dict(
            posterior={"mu_alpha": rng.normal(size=(2, 50)) + shift},
            sample_stats={"diverging": diverging},
        )
        if runs:
            idata.sample_stats.attrs["draws_run"] = runs[form]
        return idata, 1.0

    sample.stops = stops
    return sample, seen


@pytest.mark.parametrize(
    ("divergences", "forms", "kept"),
    [
        ({"centred": 0, "non-centred": 0}, ["centred"], "centred"),  # no refit
        ({"centred": 7, "non-centred": 0}, ["centred", "non-centred"], "non-centred"),
        ({"centred": 3, "non-centred": 5}, ["centred", "non-centred"], "centred"),
    ],
)
def test_auto_walk_refits_non_centred_only_after_divergences(monkeypatch, divergences, forms, kept):
    fit_module = importlib.import_module("staggered.fit")  # the module, not stg.fit

    sample, seen = _fake_sampler(divergences)
    monkeypatch.setattr(fit_module, "sample_model", sample)
    result = fit_module.fit_design(_design(), "negbin-rw", random_seed=1, warn=False)
    assert seen == forms
    assert sample.stops[0] and not any(sample.stops[1:])  # only the centred fit stops early
    assert result.diagnostics["pooled_walk"] == kept
    assert result.spec.pooled_walk == kept  # a saved fit rebuilds the model it sampled
    refitted = result.diagnostics.get("walk_divergences")
    assert (refitted is not None) == (len(forms) == 2)
    if refitted:
        assert refitted == divergences
        from staggered.diagnostics_text import walk_refit_text

        text = walk_refit_text(result.diagnostics)  # in the summary and the report
        assert f"{kept} kept" in text and f"centred {divergences['centred']} in 50 draws" in text


def test_auto_walk_compares_divergences_per_draw_run(monkeypatch):
    """A centred fit stopped early at its first divergent checkpoint ran fewer draws.

    3 divergences in 50 draws per chain against 5 in 150: the non-centred walk diverges less
    often and is kept, although its count is higher.
    """
    fit_module = importlib.import_module("staggered.fit")
    runs = {"centred": 50, "non-centred": 150}
    sample, seen = _fake_sampler({"centred": 3, "non-centred": 5}, runs)
    monkeypatch.setattr(fit_module, "sample_model", sample)
    result = fit_module.fit_design(_design(), "negbin-rw", random_seed=1, warn=False)
    assert result.diagnostics["pooled_walk"] == "non-centred"
    assert result.diagnostics["walk_draws_run"] == runs
    from staggered.diagnostics_text import walk_refit_text

    text = walk_refit_text(result.diagnostics)
    assert "centred 3 in 50 draws per chain, non-centred 5 in 150)" in text


@pytest.mark.parametrize(
    ("stuck", "divergences", "kept"),
    [
        ({"centred": 3.0, "non-centred": 0.0}, {"centred": 0, "non-centred": 0}, "non-centred"),
        # the non-centred fit mixes but diverges: the centred one is kept
        ({"centred": 3.0, "non-centred": 0.0}, {"centred": 0, "non-centred": 2}, "centred"),
        # neither mixes: the lower worst R-hat is kept
        ({"centred": 3.0, "non-centred": 1.5}, {"centred": 0, "non-centred": 0}, "non-centred"),
        ({"centred": 1.5, "non-centred": 3.0}, {"centred": 0, "non-centred": 0}, "centred"),
    ],
)
def test_auto_walk_refits_non_centred_when_the_centred_walk_did_not_mix(
    monkeypatch, stuck, divergences, kept
):
    """No divergence, but R-hat fails (chains apart, as ``sigma_theta`` on ``m12``): refit."""
    fit_module = importlib.import_module("staggered.fit")
    sample, seen = _fake_sampler(divergences, stuck=stuck)
    monkeypatch.setattr(fit_module, "sample_model", sample)
    result = fit_module.fit_design(_design(), "negbin-rw", random_seed=1, warn=False)
    assert seen == ["centred", "non-centred"]
    d = result.diagnostics
    assert d["pooled_walk"] == kept and result.spec.pooled_walk == kept
    assert d["walk_refit"] == "mixing"
    assert d["walk_max_rhat"]["centred"] > 1.01
    assert d["max_rhat"] == pytest.approx(d["walk_max_rhat"][kept])  # the kept fit's own
    from staggered.diagnostics_text import walk_refit_text

    text = walk_refit_text(d)
    assert "did not mix" in text and f"{kept} kept" in text
    assert f"R-hat: centred {d['walk_max_rhat']['centred']:.3f}" in text
    assert f"min bulk ESS: centred {d['walk_min_ess_bulk']['centred']:.0f}" in text


def test_quick_look_fit_is_not_refitted_for_mixing(monkeypatch):
    """Without sampling on (max_draws == draws) more draws come before another walk."""
    fit_module = importlib.import_module("staggered.fit")
    sample, seen = _fake_sampler({"centred": 0, "non-centred": 0}, stuck={"centred": 3.0})
    monkeypatch.setattr(fit_module, "sample_model", sample)
    result = fit_module.fit_design(
        _design(), "negbin-rw", draws=50, max_draws=50, random_seed=1, warn=False
    )
    assert seen == ["centred"] and "walk_refit" not in result.diagnostics
    assert result.diagnostics["max_rhat"] > 1.01  # flagged as unconverged, not hidden


@pytest.mark.parametrize(
    ("refit", "centred", "better"),
    [
        ((1.02, 300.0), (1.03, 250.0), True),
        ((1.02, 200.0), (1.03, 250.0), False),  # lower R-hat, but worse ESS
        ((1.03, 300.0), (1.03, 250.0), True),  # ESS alone
        ((1.03, 250.0), (1.03, 250.0), False),  # a tie keeps the centred fit
        ((float("nan"), 300.0), (float("nan"), 250.0), False),  # one chain: no R-hat
    ],
)
def test_a_refit_that_mixes_neither_must_be_better_on_rhat_and_ess(refit, centred, better):
    from staggered.fit import _mixes_better

    def diag(pair):
        return {"max_rhat": pair[0], "min_ess_bulk": pair[1]}

    assert _mixes_better(diag(refit), diag(centred)) is better


def test_walk_refit_text_survives_a_missing_rhat():
    from staggered.diagnostics_text import walk_refit_text

    text = walk_refit_text(
        {
            "pooled_walk": "centred",
            "walk_refit": "mixing",
            "walk_divergences": {"centred": 0, "non-centred": 0},
            "walk_max_rhat": {"centred": float("nan"), "non-centred": None},
            "walk_min_ess_bulk": {"centred": 120.0, "non-centred": 90.0},
        }
    )
    assert "worst R-hat: centred n/a, non-centred n/a" in text
    assert "min bulk ESS: centred 120, non-centred 90" in text


def test_fixed_walk_is_never_refitted(monkeypatch):
    fit_module = importlib.import_module("staggered.fit")  # the module, not stg.fit

    sample, seen = _fake_sampler({"centred": 9, "non-centred": 0})
    monkeypatch.setattr(fit_module, "sample_model", sample)
    spec = load_spec("negbin-rw").replace(pooled_walk="centred")
    result = fit_module.fit_design(_design(), spec, random_seed=1, warn=False)
    assert seen == ["centred"] and result.diagnostics["pooled_walk"] == "centred"
    assert sample.stops == [False]  # a fixed walk samples on as any fit
