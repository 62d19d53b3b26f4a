"""SBC: a smoke run of the default spec, and a wrong pairing that SBC must flag."""

import numpy as np
import pytest

from staggered.models import load_spec
from staggered.sbc import ecdf_difference, run_sbc

SMALL = {
    "n_units": 24,
    "n_groups": 3,
    "n_periods": 8,
    "draws": 150,
    "tune": 150,
    "n_thin": 49,
    "workers": 2,
    "progressbar": False,
}


@pytest.fixture(scope="module")
def smoke():
    return run_sbc("negbin-rw", replicates=20, random_seed=1, **SMALL)


def test_sbc_smoke_default_spec_is_calibrated(smoke):
    assert smoke.ranks["replicate"].nunique() == 20
    quantities = set(smoke.summary["quantity"])
    assert {"sigma_unit", "sigma_group", "dispersion_cv", "loglik", "pooled[e=0]"} <= quantities
    # 99% simultaneous bands per quantity: allow one chance flag among ~17 quantities
    assert (~smoke.summary["in_band"]).sum() <= 1, smoke.verdicts()
    assert smoke.ranks["rank"].between(0, 49).all()


def test_sbc_flags_a_wrong_prior_pairing():
    truth_spec = load_spec("negbin-rw").replace(
        name="wide-sites", priors={"unit_step_sd": 0.2, "group_step_sd": 0.2}
    )
    fit_spec = load_spec("negbin-rw").replace(
        name="narrow-sites", priors={"unit_step_sd": 0.005, "group_step_sd": 0.005}
    )
    result = run_sbc(truth_spec, fit_model=fit_spec, replicates=12, random_seed=2, **SMALL)
    verdict = result.summary.set_index("quantity")
    assert not result.passed
    assert not verdict.loc["sigma_unit", "in_band"], result.verdicts()
    # the narrow prior holds the site scale below the truth: ranks pile up at the top
    assert result.ranks.query("quantity == 'sigma_unit'")["rank"].mean() > 40


def test_saved_outputs(smoke, tmp_path):
    smoke.save(tmp_path)
    for name in ("ranks.csv", "summary.csv", "verdicts.txt", "settings.json", "ecdf.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_ecdf_band_rejects_piled_ranks():
    rng = np.random.default_rng(0)
    uniform = rng.integers(0, 100, 200)
    piled = np.minimum(99, rng.integers(80, 110, 200))
    for ranks, ok in ((uniform, True), (piled, False)):
        _, diff, lo, hi = ecdf_difference(ranks, 99, 0.99)
        assert bool(((diff >= lo) & (diff <= hi)).all()) is ok


def test_batched_replicates_match_sequential_fits():
    """The vectorised path (used on a GPU) samples the same posteriors as one fit at a time.

    Floating-point differences between vectorised and single runs change the exact chains, so
    the ranks agree up to Monte Carlo noise, not exactly.
    """
    kwargs = {**SMALL, "draws": 100, "tune": 100, "n_thin": 19, "random_seed": 5}
    one = run_sbc("negbin-rw", replicates=4, batch=False, **kwargs).ranks
    many = run_sbc("negbin-rw", replicates=4, batch=True, **kwargs).ranks
    assert one[["replicate", "quantity"]].equals(many[["replicate", "quantity"]])
    np.testing.assert_allclose(one["truth"], many["truth"])
    assert np.corrcoef(one["rank"], many["rank"])[0, 1] > 0.7
    assert (one["rank"] - many["rank"]).abs().mean() < 4


def test_sbc_ranks_covariate_coefficients():
    """With covariates in the template panel, their coefficient is simulated, fitted, ranked."""
    small = {**SMALL, "n_units": 16, "draws": 100, "tune": 100, "workers": 1}
    result = run_sbc("negbin-rw", replicates=3, random_seed=4, covariates=2, **small)
    ranks = result.ranks.query("quantity == 'covariate_coef'")
    assert len(ranks) == 3 and ranks["rank"].between(0, 49).all()
    # the truths are the prior's draws: Normal(0, covariate_sd = 0.1), not all equal
    assert ranks["truth"].abs().max() < 0.5 and ranks["truth"].nunique() == 3
    assert result.settings["covariates"] == 2


@pytest.mark.parametrize("batch", [False, True])
def test_replicates_refit_centred_only_after_a_divergence(monkeypatch, batch):
    """Non-centred pooled walk first; a diverging replicate is refitted centred, and the fit
    with fewer divergences is kept (batched: the first form as one vectorised call)."""
    from types import SimpleNamespace

    import staggered.sbc as sbc

    divergences = {("non-centred", 0): 0, ("non-centred", 1): 4, ("centred", 1): 1}
    calls = []

    class Sampler:
        def __init__(self, walk):
            self.walk = walk

        def sample(self, y, random_seed):
            calls.append((self.walk, int(y[0])))
            return f"{self.walk}-{int(y[0])}", {"divergences": divergences[self.walk, int(y[0])]}

        def sample_batch(self, ys, random_seeds):
            calls.append((self.walk, "batch"))
            return [self.sample(y, s) for y, s in zip(ys, random_seeds, strict=True)]

    monkeypatch.setattr(sbc, "_sampler", lambda ctx, walk: Sampler(walk))
    ctx = SimpleNamespace(fit_spec=load_spec("negbin-rw"), batch=batch)
    fitted = sbc._fit_replicates(ctx, np.array([[0.0], [1.0]]), [5, 6])
    assert [(post, walk) for post, _, walk in fitted] == [
        ("non-centred-0", "non-centred"),
        ("centred-1", "centred"),
    ]
    assert [stats["divergences"] for _, stats, _ in fitted] == [0, 1]
    assert ("centred", 0) not in calls and ("centred", 1) in calls
