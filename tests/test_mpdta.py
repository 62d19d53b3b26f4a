"""Agreement with R did's published event study on mpdta (a CI test, small and exact).

With the Gaussian spec, never-treated comparison and no shrinkage across cohort x event time
(``normal-cohort``), the posterior of the pooled effect at e = 0..3 must match did's
outcome-regression event study: means within one published standard error, posterior sds
within 0.6-1.6 times the published standard errors.
"""

import warnings

import pytest

import staggered as stg
from staggered.datasets import mpdta

# did README, never-treated comparison: event time -> (ATT, standard error)
DID = {0: (-0.0199, 0.0123), 1: (-0.0510, 0.0167), 2: (-0.1373, 0.0413), 3: (-0.1008, 0.0351)}


@pytest.fixture(scope="module")
def mpdta_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stg.SamplingWarning)
        return stg.fit(
            mpdta(),
            unit="countyreal",
            time="year",
            outcome="lemp",
            adoption="first.treat",
            model="normal-cohort",
            comparison="never-treated",
            placebo=0,
            draws=500,
            tune=500,
            chains=2,
            random_seed=1,
            progressbar=False,
        )


def test_mpdta_matches_did_event_study(mpdta_fit):
    eff = mpdta_fit.effects(scopes=("pooled",))
    pooled = eff[eff.measure == "absolute"].set_index("event_time")
    for e, (att, se) in DID.items():
        mean, sd = pooled.loc[e, "mean"], pooled.loc[e, "sd"]
        assert abs(mean - att) < se, f"e={e}: posterior mean {mean:.4f} vs did {att} (se {se})"
        assert 0.6 * se < sd < 1.6 * se, f"e={e}: posterior sd {sd:.4f} vs did se {se}"


def test_mpdta_fit_converged(mpdta_fit):
    d = mpdta_fit.diagnostics
    assert d["max_rhat"] < 1.02 and d["divergences"] == 0
