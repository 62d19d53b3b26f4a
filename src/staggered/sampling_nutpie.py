"""nutpie sampling that runs on until the kept draws pass the convergence thresholds.

A fit of reportable size (``chains * draws >= 4 * ESS_MIN``, where the bulk- and tail-ESS floor
is the full 400) that fails the R-hat or ESS threshold after ``draws`` per chain goes on
sampling, up to ``max_draws`` per chain, and is checked again every ``draws / 2`` draws. It
keeps ``draws`` draws per chain, evenly spaced over every post-warm-up draw it ran, so files and
memory do not grow and every output's diagnostics describe the draws kept. Divergences are
counted over every draw run (a divergence in a draw left out still flags the fit).

Why: a scale learnt from many weakly informed deviations (the sites' start scale on the bundled
demo) mixes at about one effective draw in 25, so 1,000 draws per chain leave it short of
400 effective draws while the effects themselves are long converged (``docs/performance.md``).
Stopping at the first check that passes changes which draws are kept, not the model.

Cell-level deterministics (``eta0``, ``tau``) are not stored per draw while sampling (they were
most of the trace); they are recomputed from the kept draws, as :func:`staggered.load` does.
"""

from __future__ import annotations

import time
import warnings

import arviz as az
import numpy as np
import xarray as xr

from staggered.diagnostics import ESS_MIN, diagnose, diagnosed_names, is_cell_var, mixing_ok

#: Default ``max_draws`` of a reportable-size fit, in multiples of ``draws``.
EXTEND_FACTOR = 3

#: Sampling work (observed cells x chains x iterations) from which the log density is compiled
#: with numba: about 1.3x faster a leapfrog step than JAX at 15,600 cells, but 35-90 s to
#: compile against JAX's few seconds (``docs/performance.md``). 4 x 2,000 iterations on 5,000
#: cells reach it; the bundled demo (2,100 cells), tests and short sweeps stay on JAX.
NUMBA_MIN_WORK = 40_000_000


def compile_backend(n_cells: int, chains: int, iterations: int) -> str:
    """``"numba"`` for a run of at least :data:`NUMBA_MIN_WORK`, else ``"jax"``."""
    return "numba" if n_cells * chains * iterations >= NUMBA_MIN_WORK else "jax"


def _observed_cells(model) -> int:
    """Number of observed values of ``model`` (every outcome's cells)."""
    return int(sum(np.size(model.rvs_to_values[rv].eval()) for rv in model.observed_RVs))


def split_cell_vars(model) -> tuple[list[str], list[str]]:
    """Cell-level deterministics (recomputed after sampling) and the variables nutpie keeps."""
    cells = [v.name for v in model.deterministics if is_cell_var(v.name)]
    keep = [v.name for v in model.free_RVs + model.deterministics if v.name not in cells]
    return cells, keep


def _compile(model, var_names: list[str], backend: str):
    """The model compiled for nutpie with ``backend`` (``"numba"`` or ``"jax"``).

    A model that numba cannot compile falls back to JAX (every spec compiles with JAX). Returns
    the compiled model and the backend used.
    """
    import nutpie

    if backend == "numba":
        try:
            compiled = nutpie.compile_pymc_model(
                model, var_names=var_names, backend="numba", gradient_backend="pytensor"
            )
            return compiled, "numba"
        except Exception:  # an op numba lacks: JAX compiles every spec
            pass
    compiled = nutpie.compile_pymc_model(
        model, var_names=var_names, backend="jax", gradient_backend="jax"
    )
    return compiled, "jax"


def default_max_draws(draws: int, chains: int) -> int:
    """``EXTEND_FACTOR * draws`` for a fit of reportable size, else ``draws`` (no extension).

    A fit with fewer than ``4 * ESS_MIN`` draws in all is a quick look: its ESS floor is already
    a quarter of its draws, and running it three times as long is not what was asked.
    """
    return EXTEND_FACTOR * draws if chains * draws >= 4 * ESS_MIN else draws


def checkpoints(draws: int, max_draws: int) -> list[int]:
    """Draws per chain at which convergence is checked: ``draws``, every ``draws/2``, the max."""
    step = max(1, draws // 2)
    return sorted({*range(draws, max_draws, step), max_draws})


def kept_indices(n_run: int, draws: int) -> np.ndarray:
    """``draws`` evenly spaced indices of ``n_run`` draws, ending with the last one."""
    return np.floor((np.arange(draws) + 1) * n_run / draws).astype(int) - 1


def thin(idata: az.InferenceData, n_run: int, draws: int) -> az.InferenceData:
    """The first ``n_run`` draws of every chain, thinned evenly to ``draws``.

    ``sample_stats.attrs`` record the draws run and the divergences among all of them.
    """
    idx = kept_indices(n_run, draws)
    groups = {}
    for name in ("posterior", "sample_stats"):
        ds = idata[name].isel(draw=slice(0, n_run))
        groups[name] = ds.isel(draw=idx).assign_coords(draw=np.arange(draws))
    stats = idata["sample_stats"].isel(draw=slice(0, n_run))
    groups["sample_stats"].attrs.update(
        {"draws_run": int(n_run), "divergences_run": int(stats["diverging"].sum())}
    )
    return az.InferenceData(**groups)


def sample_nutpie(
    model,
    *,
    draws: int,
    max_draws: int,
    tune: int,
    chains: int,
    target_accept: float,
    seed: int,
    progressbar: bool,
    settings: dict,
    stop_on_divergence: bool = False,
) -> az.InferenceData:
    """Sample ``model`` with nutpie; extend up to ``max_draws`` until R-hat and ESS pass.

    Parameters
    ----------
    model : pymc.Model
        The built model.
    draws, max_draws : int
        Draws per chain to keep, and the most to run.
    tune, chains, target_accept, seed, progressbar
        Sampler settings.
    settings : dict
        nutpie settings (:func:`staggered.sampling._nutpie_settings`); ``backend`` is
        ``"jax"``, ``"numba"`` or ``"auto"`` (:func:`compile_backend`).
    stop_on_divergence : bool, default False
        Stop at the first checkpoint whose draws include a divergence instead of sampling on
        (more draws cannot remove one); the fit then keeps the draws up to that checkpoint.
        Used by ``pooled_walk="auto"``, which refits a diverging centred walk anyway (and one
        that samples on to ``max_draws`` without mixing).

    Returns
    -------
    arviz.InferenceData
        ``posterior`` (cell deterministics recomputed), ``sample_stats``, ``constant_data`` and
        ``observed_data``; ``sample_stats.attrs["draws_run"]`` says how many draws per chain ran.
    """
    import nutpie

    settings = dict(settings)
    backend = settings.pop("backend", "auto")
    if backend == "auto":
        backend = compile_backend(_observed_cells(model), chains, tune + draws)
    cells, keep = split_cell_vars(model)
    common = dict(tune=tune, chains=chains, target_accept=target_accept, seed=seed)
    with warnings.catch_warnings():
        # numba's notice that the compiled log density cannot be cached on disk (it holds the
        # panel's arrays): harmless, and compiling again next time is what JAX does as well
        warnings.filterwarnings("ignore", message=".*Cannot cache compiled function")
        compiled, backend = _compile(model, keep, backend)
        if max_draws <= draws:
            trace = nutpie.sample(
                compiled, draws=draws, progress_bar=progressbar, **common, **settings
            )
            n_run = draws
        else:
            # every chain must advance together for a check to see all of them
            settings["cores"] = chains
            running = nutpie.sample(
                compiled,
                draws=max_draws,
                progress_bar=progressbar,
                blocking=False,
                **common,
                **settings,
            )
            trace, n_run = _run_until_mixed(running, draws, max_draws, stop_on_divergence)
    idata = thin(trace, n_run, draws)
    idata.sample_stats.attrs["nutpie_backend"] = backend
    if cells:
        idata.posterior = recompute_cells(idata.posterior, model, cells)
    return _with_data(idata, model)


def _run_until_mixed(
    running, draws: int, max_draws: int, stop_on_divergence: bool = False
) -> tuple[az.InferenceData, int]:
    """Wait for each checkpoint; stop at the first whose thinned draws pass R-hat and ESS.

    With ``stop_on_divergence``, also stop at the first checkpoint with a divergence so far.
    """
    started = time.perf_counter()
    for point in checkpoints(draws, max_draws)[:-1]:
        trace = _wait_for(running, point, started)
        if trace is None:  # the sampler finished first
            break
        diverged = stop_on_divergence and _diverged(trace, point)
        if diverged or _mixes(trace, point, draws):
            running.abort()
            return trace, point
    trace = running.wait()  # re-raises a chain's error
    n_run = _draws_done(trace)
    if n_run < draws:
        raise RuntimeError(f"nutpie stopped after {n_run} of {max_draws} draws per chain")
    return trace, n_run


def _diverged(trace: az.InferenceData, point: int) -> bool:
    """Whether any chain diverged in its first ``point`` draws after warm-up."""
    return bool(trace.sample_stats["diverging"].isel(draw=slice(0, point)).sum() > 0)


def _mixes(trace: az.InferenceData, point: int, draws: int) -> bool:
    """Whether the first ``point`` draws, thinned to ``draws``, pass R-hat and ESS."""
    judged = az.InferenceData(
        posterior=trace.posterior[diagnosed_names(trace.posterior)],  # only what is judged
        sample_stats=trace.sample_stats[["diverging"]],
    )
    return mixing_ok(diagnose(thin(judged, point, draws)))


def _wait_for(running, point: int, started: float) -> az.InferenceData | None:
    """The trace once every chain has ``point`` draws (None if sampling ended first).

    Sleeps for the time the slowest chain should need at its rate so far, so that the trace
    (which ``inspect`` copies whole) is read a few times per checkpoint, not continuously.
    """
    while True:
        with warnings.catch_warnings():
            # during warm-up the trace has no draws yet, which ArviZ warns about
            warnings.filterwarnings("ignore", message="More chains .* than draws")
            trace = running.inspect()
        done = _draws_done(trace)
        if done >= point:
            return trace
        if _finished(running):  # ended (or failed) before reaching the checkpoint
            return None
        elapsed = time.perf_counter() - started
        rate = done / elapsed if done else 0.0
        time.sleep(min(30.0, max(1.0, 0.8 * (point - done) / rate if rate else 2.0)))


def _finished(running) -> bool:
    try:
        return bool(running.is_finished)
    except TimeoutError:  # nutpie raises while the sampler thread is still busy
        return False


def _draws_done(trace: az.InferenceData) -> int:
    """Post-warm-up draws that every chain has finished (a chain behind is padded with NaN)."""
    post = trace.get("posterior")
    if post is None or post.sizes.get("draw", 0) == 0:
        return 0
    lp = trace.sample_stats["logp"].values
    return int(np.min(np.sum(~np.isnan(lp), axis=1)))


def recompute_cells(posterior: xr.Dataset, model, cells: list[str]) -> xr.Dataset:
    """``posterior`` with the deterministics ``cells`` recomputed from its free parameters.

    Used after sampling (the trace does not store them per draw) and by :func:`staggered.load`.
    """
    import pymc as pm

    free = [rv.name for rv in model.free_RVs]
    values = posterior[free].map(lambda v: v.astype(np.float64))  # a file stores float32
    recomputed = pm.compute_deterministics(values, var_names=cells, model=model, progressbar=False)
    # PyMC numbers the draws 0..n-1: keep the posterior's labels (thinned or selected draws)
    recomputed = recomputed.assign_coords({d: posterior[d].values for d in ("chain", "draw")})
    return posterior.assign({name: recomputed[name] for name in cells})


def _with_data(idata: az.InferenceData, model) -> az.InferenceData:
    """Add the model's observed and constant data, as ``pm.sample`` does for nutpie."""
    from pymc.backends.arviz import (
        coords_and_dims_for_inferencedata,
        find_constants,
        find_observations,
    )

    coords, dims = coords_and_dims_for_inferencedata(model)
    groups = {
        "constant_data": find_constants(model),
        "observed_data": find_observations(model),
    }
    idata.add_groups(
        {
            name: az.dict_to_dataset(values, coords=coords, dims=dims, default_dims=[])
            for name, values in groups.items()
        }
    )
    return idata
