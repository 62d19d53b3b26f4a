"""Effect walks: the pooled walk's two parameterisations are one model; site start scales."""

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
    assert load_spec("negbin-rw").pooled_walk == "centred"
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
