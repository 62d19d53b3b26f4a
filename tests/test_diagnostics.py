"""Convergence diagnostics on fabricated draws: tree depth, thresholds as printed, advice."""

import json
import re
import warnings

import arviz as az
import numpy as np
import pytest

from staggered.diagnostics import (
    SamplingWarning,
    _warn_on_problems,
    advice_style,
    diagnose,
    find_problems,
    is_converged,
)
from staggered.diagnostics_text import problems_text

RNG = np.random.default_rng(0)
POSTERIOR = {"mu": RNG.normal(size=(2, 200)), "sigma": np.abs(RNG.normal(size=(2, 200)))}


def _idata(**stats):
    return az.from_dict(posterior=POSTERIOR, sample_stats=stats)


def test_tree_depth_from_numpyro_and_blackjax_stats():
    # PyMC's numpyro / blackjax paths write tree_depth, without a saturation flag
    depth = np.full((2, 200), 6)
    depth[:, :80] = 10  # 40% at the default maximum of 10
    diag = diagnose(_idata(tree_depth=depth, diverging=np.zeros((2, 200), bool)))
    assert diag["max_tree_depth"] == 10 and diag["tree_depth_limit"] == 10
    assert diag["mean_tree_depth"] == pytest.approx(7.6)
    assert diag["share_at_max_depth"] == pytest.approx(0.4)
    assert any(
        "40% of draws hit the maximum tree depth 10, at most 10% allowed" in p
        for p in find_problems(diag)
    )
    assert not is_converged(diag)


def test_tree_depth_uses_the_samplers_flag():
    depth = np.full((2, 200), 10)
    flag = np.zeros((2, 200), bool)
    flag[:, :10] = True  # depth 10 reached by U-turn in most draws, saturated in 5%
    for names in (("depth", "maxdepth_reached"), ("tree_depth", "reached_max_treedepth")):
        diag = diagnose(_idata(**{names[0]: depth, names[1]: flag}))
        assert diag["share_at_max_depth"] == pytest.approx(0.05), names
        assert not any("tree depth" in p for p in find_problems(diag))


def test_no_tree_depth_stats_gives_nulls_and_a_json_roundtrip():
    diag = diagnose(az.from_dict(posterior=POSTERIOR))
    for key in ("mean_tree_depth", "max_tree_depth", "share_at_max_depth"):
        assert diag[key] is None
    assert diag["divergences"] == 0
    assert json.loads(json.dumps(diag)) == diag


def _comparisons_read_true(problems):
    for text in problems:
        m = re.search(r"([\d.]+)%? ([<>]) ([\d.]+)%?", text)
        if m:
            a, op, b = float(m[1]), m[2], float(m[3])
            assert (a > b) if op == ">" else (a < b), text


@pytest.mark.parametrize(
    ("ess", "expected"),
    [(12.1, "min bulk ESS 12.1 < 12.5 required"), (12.46, "min bulk ESS 12.46 < 12.50 required")],
)
def test_thresholds_print_as_compared(ess, expected):
    # 2 chains x 25 draws: the ESS floor is a quarter of 50 draws, 12.5
    diag = {"chains": 2, "draws": 25, "max_rhat": 1.0, "min_ess_bulk": ess, "min_ess_tail": 30}
    assert find_problems(diag) == [expected]


def test_rhat_just_over_the_limit_does_not_read_equal():
    diag = {"chains": 4, "draws": 1000, "max_rhat": 1.0104, "min_ess_bulk": 900.0}
    problems = find_problems(diag)
    assert problems == ["max R-hat 1.0104 > 1.0100 allowed (chains disagree)"]
    diag.update(max_rhat=1.2, min_ess_bulk=399.96, min_ess_tail=12.0, share_at_max_depth=0.1004)
    problems = find_problems(diag)
    assert len(problems) == 4
    _comparisons_read_true(problems)
    assert "min bulk ESS 399.96 < 400.00 required" in problems
    # the slowest variable is named where the fit recorded it
    diag.update(worst_rhat_var="sigma_unit", worst_ess_bulk_var="sigma_unit_start")
    problems = find_problems(diag)
    assert "max R-hat 1.200 > 1.010 allowed (chains disagree; worst: sigma_unit)" in problems
    assert "min bulk ESS 399.96 < 400.00 required (worst: sigma_unit_start)" in problems


def test_saved_diagnostics_with_nulls_and_without_numbers():
    # diagnostics.json writes NaN as null; one chain has no R-hat
    loaded = {"chains": 1, "draws": 100, "max_rhat": None, "min_ess_bulk": 80.0, "divergences": 0}
    assert is_converged(loaded) and problems_text(loaded) == ""
    assert is_converged({})  # a fit without diagnostics has nothing to flag
    assert find_problems({"problems": ["old message"]}) == ["old message"]
    assert not is_converged({"divergences": 3})


def test_advice_names_arguments_in_python_and_flags_on_the_command_line():
    diag = {"chains": 2, "draws": 100, "max_rhat": 1.2, "min_ess_bulk": 100.0}
    with pytest.warns(SamplingWarning, match="Sampling problem: max R-hat") as record:
        assert _warn_on_problems(diag) == ["max R-hat 1.200 > 1.010 allowed (chains disagree)"]
    text = str(record[0].message)
    assert "draws=" in text and "target_accept=" in text and "--draws" not in text
    with advice_style("cli"), pytest.warns(SamplingWarning) as record:
        _warn_on_problems(diag)
    text = str(record[0].message)
    assert "--draws" in text and "--target-accept" in text and "draws=" not in text
    assert "--draws" in problems_text(diag, style="cli")
    assert "draws=" in problems_text(diag)  # the switch is restored after the block
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _warn_on_problems({**diag, "max_rhat": 1.001}) == []


def test_problems_text_is_one_plain_line():
    diag = {"chains": 2, "draws": 100, "max_rhat": 1.31, "min_ess_bulk": 12.1, "divergences": 2}
    text = problems_text(diag)
    assert text.startswith("WARNING: the sampler did not converge: max R-hat 1.310 > 1.010")
    assert "min bulk ESS 12.1 < 50.0 required" in text and "2 divergent transitions" in text
    assert "Do not interpret" in text and "\n" not in text


def test_diagnose_names_the_slowest_variable():
    """A stuck chain on one variable: the diagnostics name it, with its R-hat and ESS."""
    stuck = np.concatenate([RNG.normal(0, 0.1, (1, 200)), RNG.normal(3, 0.1, (1, 200))])
    diag = diagnose(az.from_dict(posterior={**POSTERIOR, "stuck": stuck}))
    assert diag["worst_rhat_var"] == "stuck" and diag["max_rhat"] > 1.5
    assert diag["worst_ess_bulk_var"] == "stuck" and diag["min_ess_bulk"] < 20
    assert any(p.endswith("(worst: stuck)") for p in find_problems(diag))


def test_signed_scales_and_their_steps_are_judged_by_what_they_identify():
    """A signed deviation scale (and its steps) that sits on opposite signs in two chains is
    the same posterior: no R-hat problem from them, but the scale's absolute value is checked."""
    s = np.concatenate([RNG.normal(0.5, 0.05, (1, 200)), RNG.normal(-0.5, 0.05, (1, 200))])
    z = np.sign(s)[..., None] * RNG.normal(1.0, 0.1, (2, 200, 3))
    flipped = {"sigma_unit_signed": s, "delta_unit_z": z, "sigma_unit": np.abs(s)}
    diag = diagnose(az.from_dict(posterior={**POSTERIOR, **flipped}))
    assert diag["max_rhat"] < 1.05 and diag["worst_rhat_var"] != "sigma_unit_signed"
    stuck = dict(flipped, sigma_unit=np.abs(s) + np.array([[0.0], [1.0]]))
    assert diagnose(az.from_dict(posterior={**POSTERIOR, **stuck}))["worst_rhat_var"] == (
        "sigma_unit"
    )
