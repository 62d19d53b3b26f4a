"""Sampling on until converged: checkpoints, even thinning, divergences over every draw run."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr

from staggered import sampling_nutpie as sn
from staggered.diagnostics import diagnose, mixing_ok


def _trace(chains: int, n: int, diverging_at: tuple[int, int] | None = None) -> az.InferenceData:
    """A fake trace whose draw values are their own indices (so thinning can be read back)."""
    draw = np.arange(n)
    values = np.broadcast_to(draw, (chains, n)).astype(float)
    div = np.zeros((chains, n), dtype=bool)
    if diverging_at is not None:
        div[diverging_at] = True
    coords = {"chain": np.arange(chains), "draw": draw}
    return az.InferenceData(
        posterior=xr.Dataset({"mu": (("chain", "draw"), values)}, coords=coords),
        sample_stats=xr.Dataset(
            {"diverging": (("chain", "draw"), div), "logp": (("chain", "draw"), values)},
            coords=coords,
        ),
    )


def test_checkpoints_every_half_draws_up_to_the_maximum():
    assert sn.checkpoints(1000, 3000) == [1000, 1500, 2000, 2500, 3000]
    assert sn.checkpoints(1000, 1000) == [1000]
    assert sn.checkpoints(100, 260) == [100, 150, 200, 250, 260]


@pytest.mark.parametrize("n_run", [1000, 1500, 2000, 3000, 2713])
def test_kept_draws_are_evenly_spaced_and_end_with_the_last(n_run):
    idx = sn.kept_indices(n_run, 1000)
    assert len(idx) == 1000 and len(set(idx)) == 1000
    assert idx[-1] == n_run - 1 and idx[0] >= 0
    gaps = np.diff(idx)
    assert gaps.min() >= int(n_run / 1000) and gaps.max() <= int(np.ceil(n_run / 1000))


def test_no_thinning_when_nothing_was_added():
    assert np.array_equal(sn.kept_indices(500, 500), np.arange(500))


def test_reportable_fits_extend_quick_looks_do_not():
    assert sn.default_max_draws(1000, 4) == 3000  # the default fit
    assert sn.default_max_draws(800, 2) == 2400  # 1,600 draws in all: the full ESS floor
    assert sn.default_max_draws(500, 2) == 500  # a quick look: floor is a quarter of draws
    assert sn.default_max_draws(60, 2) == 60


def test_thinning_keeps_draws_and_counts_divergences_among_all_draws_run():
    # a divergence in a draw the thinning leaves out, and one after the stopping point
    trace = _trace(4, 3000, diverging_at=(2, 2))
    trace.sample_stats["diverging"][1, 2900] = True
    kept = sn.thin(trace, 2000, 1000)
    assert kept.posterior.sizes == {"chain": 4, "draw": 1000}
    assert np.array_equal(kept.posterior["mu"].values[0], np.arange(1, 2000, 2))
    assert not kept.sample_stats["diverging"].values.any()
    diag = diagnose(kept)
    assert diag["draws_run"] == 2000 and diag["draws"] == 1000
    assert diag["divergences"] == 1  # chain 2 draw 2 ran (left out), chain 1 draw 2900 did not


def test_mixing_ok_judges_rhat_and_both_esses_only():
    base = {"chains": 4, "draws": 1000, "max_rhat": 1.005, "min_ess_bulk": 450.0}
    assert mixing_ok({**base, "min_ess_tail": 401.0, "divergences": 3})
    assert not mixing_ok({**base, "min_ess_tail": 399.0})
    assert not mixing_ok({**base, "min_ess_tail": 900.0, "max_rhat": 1.02})
    # a quick look's floor is a quarter of its draws
    assert mixing_ok({"chains": 2, "draws": 100, "max_rhat": 1.0, "min_ess_bulk": 51.0})


class _FakeRunning:
    """Stands in for nutpie's background sampler: its trace grows by ``step`` per inspect."""

    def __init__(
        self,
        chains: int,
        max_draws: int,
        step: int,
        stops_at: int | None = None,
        diverging_at: tuple[int, int] | None = None,
    ):
        self.full = _trace(chains, max_draws, diverging_at)
        self.max_draws, self.step, self.shown = max_draws, step, 0
        self.end = max_draws if stops_at is None else stops_at  # a sampler that fails early
        self.aborted = False

    @property
    def is_finished(self):
        return self.shown >= self.end

    def _view(self):
        view = self.full.copy()
        lp = view.sample_stats["logp"].values.copy()
        lp[:, self.shown :] = np.nan
        view.sample_stats["logp"].values = lp
        return view

    def inspect(self):
        self.shown = min(self.end, self.shown + self.step)
        return self._view()

    def abort(self):
        self.aborted = True
        return self._view()

    def wait(self):
        self.shown = self.end
        return self._view()


@pytest.mark.parametrize(("passes_from", "expected"), [(1000, 1000), (2000, 2000), (None, 3000)])
def test_sampling_stops_at_the_first_checkpoint_whose_kept_draws_mix(
    monkeypatch, passes_from, expected
):
    seen = []

    def fake_mixing_ok(diag):
        seen.append(diag["draws_run"])
        return passes_from is not None and diag["draws_run"] >= passes_from

    monkeypatch.setattr(sn, "mixing_ok", fake_mixing_ok)
    monkeypatch.setattr(sn.time, "sleep", lambda s: None)
    running = _FakeRunning(chains=2, max_draws=3000, step=700)
    trace, n_run = sn._run_until_mixed(running, 1000, 3000)
    assert n_run == expected
    assert running.aborted == (expected < 3000)
    # every checkpoint up to the stopping point was judged, in order, none after it
    assert seen == [p for p in sn.checkpoints(1000, 3000)[:-1] if p <= expected]


@pytest.mark.parametrize(("diverging_at", "expected"), [(1200, 1500), (400, 1000), (None, 3000)])
def test_stop_on_divergence_stops_at_the_first_checkpoint_past_a_divergence(
    monkeypatch, diverging_at, expected
):
    """``pooled_walk="auto"`` refits a diverging centred walk: it need not sample on."""
    monkeypatch.setattr(sn, "mixing_ok", lambda diag: False)  # never mixes
    monkeypatch.setattr(sn.time, "sleep", lambda s: None)
    where = None if diverging_at is None else (1, diverging_at)
    running = _FakeRunning(chains=2, max_draws=3000, step=700, diverging_at=where)
    trace, n_run = sn._run_until_mixed(running, 1000, 3000, stop_on_divergence=True)
    assert n_run == expected
    assert sn.thin(trace, n_run, 1000).sample_stats.attrs["divergences_run"] == (
        0 if diverging_at is None else 1
    )
    # without the flag a divergence does not stop sampling on
    running = _FakeRunning(chains=2, max_draws=3000, step=700, diverging_at=where)
    assert sn._run_until_mixed(running, 1000, 3000)[1] == 3000


def test_a_sampler_that_stops_early_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(sn, "mixing_ok", lambda diag: False)
    monkeypatch.setattr(sn.time, "sleep", lambda s: None)
    # ended past `draws` but before the maximum: what ran is kept
    running = _FakeRunning(chains=2, max_draws=3000, step=700, stops_at=1200)
    assert sn._run_until_mixed(running, 1000, 3000)[1] == 1200
    # ended short of `draws`: an error
    running = _FakeRunning(chains=2, max_draws=3000, step=300, stops_at=600)
    with pytest.raises(RuntimeError, match="stopped after 600 of 3000"):
        sn._run_until_mixed(running, 1000, 3000)


def test_max_draws_below_draws_or_with_another_sampler_is_refused():
    import pymc as pm

    from staggered.sampling import sample_model

    with pm.Model() as model:
        pm.Normal("x")
    settings = dict(tune=5, chains=1, target_accept=0.9, random_seed=1, progressbar=False)
    with pytest.raises(ValueError, match="max_draws .20. must be at least draws .50."):
        sample_model(model, draws=50, max_draws=20, sampler="nutpie", **settings)
    with pytest.raises(ValueError, match="needs sampler='nutpie', not 'numpyro'"):
        sample_model(model, draws=50, max_draws=100, sampler="numpyro", **settings)


def test_a_real_extended_fit_keeps_draws_and_recomputes_cell_quantities(monkeypatch):
    """nutpie end to end on a tiny panel, forced to run to ``max_draws`` (never judged mixed)."""
    monkeypatch.setattr(sn, "mixing_ok", lambda diag: False)
    result = _tiny_fit(draws=40, max_draws=100, tune=100)
    d = result.diagnostics
    assert d["draws"] == 40 and result.idata.posterior.sizes["draw"] == 40
    assert d["draws_run"] == 100 and result.config["max_draws"] == 100
    assert d["nutpie_backend"] == "jax"  # a tiny run compiles in seconds
    # cell quantities were not stored while sampling; they are recomputed from the kept draws
    tau = result.idata.posterior["tau"]
    assert tau.sizes["draw"] == 40 and np.isfinite(tau.values).all()
    assert {"observed_data", "constant_data"} <= set(result.idata.groups())


def test_large_runs_compile_with_numba_small_ones_with_jax():
    assert sn.compile_backend(2_100, 4, 2_000) == "jax"  # the bundled demo at the defaults
    assert sn.compile_backend(5_000, 4, 2_000) == "numba"
    assert sn.compile_backend(15_600, 4, 2_000) == "numba"  # 300 areas x 52 quarters
    assert sn.compile_backend(15_600, 2, 60) == "jax"  # a quick look compiles in seconds


def _tiny_fit(**kwargs):
    import warnings

    from staggered import fit
    from staggered.fit import SamplingWarning
    from staggered.simulate import simulate

    sim = simulate("delayed", n_units=12, n_groups=2, n_periods=8, random_seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return fit(
            sim.panel,
            **sim.columns,
            placebo=0,
            chains=2,
            random_seed=3,
            progressbar=False,
            **kwargs,
        )


def test_a_model_numba_cannot_compile_is_compiled_with_jax(monkeypatch):
    import nutpie

    compile_pymc_model = nutpie.compile_pymc_model
    tried = []

    def no_numba(model, **kwargs):
        tried.append(kwargs["backend"])
        if kwargs["backend"] == "numba":
            raise NotImplementedError("no numba implementation of this op")
        return compile_pymc_model(model, **kwargs)

    monkeypatch.setattr(nutpie, "compile_pymc_model", no_numba)
    monkeypatch.setattr(sn, "NUMBA_MIN_WORK", 0)  # every run counts as large
    result = _tiny_fit(draws=30, tune=60)
    assert tried == ["numba", "jax"]
    assert result.diagnostics["nutpie_backend"] == "jax"
    assert np.isfinite(result.idata.posterior["tau"].values).all()


@pytest.mark.slow
def test_numba_and_jax_backends_sample_the_same_posterior(monkeypatch):
    """A minute of numba compilation: the same model, so the same posterior up to MC error."""
    jax_fit = _tiny_fit(draws=300, tune=300)
    monkeypatch.setattr(sn, "NUMBA_MIN_WORK", 0)
    numba_fit = _tiny_fit(draws=300, tune=300)
    assert jax_fit.diagnostics["nutpie_backend"] == "jax"
    assert numba_fit.diagnostics["nutpie_backend"] == "numba"
    means = {}
    for name, result in (("jax", jax_fit), ("numba", numba_fit)):
        pooled = result.effects(scopes=("pooled",))
        means[name] = pooled[pooled["measure"] == "relative"].set_index("event_time")["mean"]
    # pooled effects of 12 areas have posterior sds of about 1 point; 600 draws each
    assert (means["jax"] - means["numba"]).abs().max() < 0.01, means
