"""Scenarios: panels in the user data contract, truth consistent with the estimand."""

import numpy as np
import pandas as pd
import pytest

import staggered as stg
from staggered.simulate import SCENARIOS


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("freq", ["year", "quarter", "month"])
def test_scenarios_encode_as_user_panels(scenario, freq):
    n_periods = {"year": 12, "quarter": 40, "month": 96}[freq]
    sim = stg.simulate(
        scenario, n_units=40, n_groups=5, freq=freq, n_periods=n_periods, random_seed=1
    )
    panel = stg.encode_panel(sim.panel, **sim.columns)
    assert panel.freq == freq
    assert panel.n_units == 40
    pooled = sim.truth[sim.truth.scope == "pooled"]
    assert pooled.event_time.min() == -SCENARIOS[scenario].lead
    assert set(sim.truth.measure) == {"relative"}


def test_shapes_of_effects():
    def pooled(s):
        sim = stg.simulate(s, n_units=200, random_seed=2)
        return sim.truth[sim.truth.scope == "pooled"].set_index("event_time")["value"]

    delayed = pooled("delayed")
    assert abs(delayed.loc[0]) < 1e-12 and abs(delayed.loc[1]) < 1e-12
    assert delayed.loc[5] < -0.03
    j = pooled("jcurve")
    assert j.loc[0] > 0.01 and j.loc[6] < -0.02
    t = pooled("temporary")
    assert t.loc[2] < -0.02 and abs(t.loc[5]) < 1e-12
    assert np.allclose(pooled("null-rtm"), 0.0)
    a = pooled("anticipation")
    assert a.index.min() == -1 and abs(a.loc[-1] - a.loc[3]) < 0.01 and a.loc[-1] < -0.02


def test_clustered_variation_is_mostly_between_programmes():
    sim = stg.simulate("clustered", n_units=300, n_groups=20, random_seed=3)
    unit = sim.truth[(sim.truth.scope == "unit") & (sim.truth.event_time == 6)]
    prog = sim.panel.drop_duplicates("area").set_index("area")["programme"]
    unit = unit.assign(programme=unit["id"].map(prog))
    between = unit.groupby("programme")["value"].mean().var()
    within = unit.groupby("programme")["value"].var().mean()
    assert between > within


def test_null_rtm_adopts_after_high_shocks():
    sim = stg.simulate("null-rtm", n_units=300, random_seed=4)
    df = sim.panel.assign(rate=sim.panel.admissions / sim.panel.population)
    df["dev"] = np.log(df.rate) - np.log(df.groupby("period")["rate"].transform("mean"))
    df["dev"] -= df.groupby("area")["dev"].transform("mean")
    treated = df[df.start != ""]
    year_before = treated[treated.period == treated.start.astype(int) - 1]
    # selected sites sit above their own average in the year before adoption
    assert year_before["dev"].mean() > 0.01


def test_pooled_truth_matches_estimand_definition():
    sim = stg.simulate("delayed", n_units=60, random_seed=5)
    unit = sim.truth[sim.truth.scope == "unit"]
    pooled = sim.truth[sim.truth.scope == "pooled"].set_index("event_time")["value"]
    # pooled relative lies within the range of unit relatives at each event time
    for e, group in unit.groupby("event_time"):
        assert group.value.min() - 1e-12 <= pooled.loc[e] <= group.value.max() + 1e-12


def test_prior_scenario_draws_from_spec_prior():
    sim = stg.simulate("prior", model="negbin-rw", n_units=20, n_groups=3, random_seed=6)
    panel = stg.encode_panel(sim.panel, **sim.columns)
    assert panel.n_units == 20
    assert {"sigma_unit", "dispersion_cv"} <= set(sim.params)
    assert isinstance(sim.truth, pd.DataFrame) and set(sim.truth.scope) == {"pooled", "unit"}


def test_unknown_scenario():
    with pytest.raises(ValueError, match="unknown scenario"):
        stg.simulate("nope")


def test_confounded_scenario_ages_adopting_areas_faster():
    sim = stg.simulate("confounded", n_units=200, n_periods=14, random_seed=6)
    assert sim.columns["covariates"] == ["age75_share"]
    df = sim.panel.assign(t=sim.panel.period - sim.panel.period.min())
    # curvature of each area's covariate beyond its own line: the last year's residual
    quad = df.groupby("area").apply(
        lambda g: np.polyfit(g.t, g.age75_share, 2)[0], include_groups=False
    )
    adopts = df.drop_duplicates("area").set_index("area")["start"] != ""
    gap = quad[adopts].mean() - quad[~adopts].mean()
    # 2 points of acceleration over 13 years, loading 0.8 higher: 0.8 * 2 / 13**2
    assert gap == pytest.approx(0.8 * 2.0 / 13**2, rel=0.25)
    assert quad[~adopts].std() > 0.5 * gap  # comparison areas vary: the coefficient is learnt
    # the confounder raises admissions and never touches the truth (the effect is delayed)
    assert sim.params["confounder_coef"] == pytest.approx(0.04)
    delayed = stg.simulate("delayed", n_units=200, n_periods=14, random_seed=6)
    assert set(sim.truth.scope) == set(delayed.truth.scope)
    pooled = sim.truth[sim.truth.scope == "pooled"].set_index("event_time")["value"]
    assert abs(pooled.loc[0]) < 1e-12 and pooled.loc[5] < -0.03
    # smooth in time, so the encoder's bad-control check stays quiet (warnings are errors here)
    stg.encode_panel(sim.panel, **sim.columns)
