"""Simulation-based calibration (Talts et al. 2018; Modrák et al. 2023) of any model spec.

For each replicate: draw every parameter and a panel of outcomes from the simulating spec's
own prior (``pm.sample_prior_predictive`` on the very model that is fitted, so the simulator
cannot drift from the model), fit the fitting spec by NUTS (numpyro, one chain, compiled once
per worker process), and record the rank of the true value of each test quantity among
thinned posterior draws. If the fit is calibrated, ranks are
uniform. Test quantities: the pooled relative effect at each event time, the between-unit and
between-programme scales, the dispersion, a few unit effects, and the log-likelihood of the
simulated data (a derived quantity that catches errors raw parameters miss).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path

import numpy as np
import pymc as pm
import xarray as xr

from staggered.design import Design
from staggered.effects import estimand_draws
from staggered.models import ModelSpec, build_model, load_spec
from staggered.sbc_prior import (
    SCALES,
    prior_outcomes,
    prior_settings,
    simulate_from_prior,
    template_design,
    with_outcome,
)
from staggered.sbc_result import SBCResult, collect, ecdf_difference, rank_row

__all__ = ["SBCResult", "ecdf_difference", "run_sbc", "sbc_task", "simulate_from_prior"]

# counterfactual options' parameters, ranked when the spec has them (first factor's scale)
OPTION_PARAMETERS = ("ar_rho", "selection_shock", "sigma_factor", "covariate_coef")
# settings the compiled sampler depends on (its per-worker cache key)
SAMPLER_SETTINGS = (
    "n_units",
    "n_groups",
    "n_periods",
    "freq",
    "covariates",
    "random_seed",
    "fit_spec",
    "draws",
    "tune",
)


def _quantities(
    post: xr.Dataset, design: Design, spec: ModelSpec, n_units: int
) -> dict[str, np.ndarray]:
    """Test quantities as (sample,) arrays."""
    q: dict[str, np.ndarray] = {}
    _, event_times, meas = estimand_draws(post, design, spec, scope="pooled")
    key = "relative" if spec.is_count else "absolute"
    for j, e in enumerate(event_times):
        q[f"pooled[e={int(e)}]"] = meas[key][:, j]
    stacked = post.stack(sample=("chain", "draw"))
    for name in SCALES:
        if name in post:
            q[name] = stacked[name].values
    for name in OPTION_PARAMETERS:
        if name in post:
            values = stacked[name].values
            q[name] = values[0] if values.ndim > 1 else values
    ue = stacked["unit_effect"]
    last_e = ue.sizes["event_time"] - 1
    for k in range(min(n_units, ue.sizes["treated_unit"])):
        tu = str(ue["treated_unit"].values[k])
        q[f"unit_effect[{tu},e={int(ue['event_time'].values[last_e])}]"] = ue.isel(
            treated_unit=k, event_time=last_e
        ).values
    return q


@dataclasses.dataclass(frozen=True)
class SBCContext:
    """What every replicate of one SBC run shares (sent with each sweep item).

    ``token`` fingerprints what the compiled sampler depends on (panel template, fitting spec,
    draws, tune): the sampler is cached per worker process under it
    (:func:`staggered.sweeps.worker_cache`).
    """

    design: Design
    simulate_spec: ModelSpec
    fit_spec: ModelSpec
    draws: int
    tune: int
    n_thin: int
    n_unit_quantities: int
    batch: bool
    token: str


def _compile(ctx: SBCContext, walk: str):
    from staggered.compiled import CompiledNUTS

    spec = ctx.fit_spec.replace(pooled_walk=walk)
    fit_model = build_model(ctx.design, spec, **prior_settings(ctx.fit_spec))
    return CompiledNUTS(fit_model, draws=ctx.draws, tune=ctx.tune, target_accept=0.9)


def _fit_replicates(ctx: SBCContext, outcomes: np.ndarray, seeds: list[int]) -> list:
    """Fit each outcome vector: ``(posterior, stats, walk)`` per replicate.

    Under ``pooled_walk="auto"`` the pooled walk is sampled non-centred first and a replicate
    whose fit diverged is refitted centred, keeping the fit with fewer divergences
    (:func:`staggered.compiled.sample_walks`; prior draws with a near-zero step scale are the
    centred walk's funnel). Batched fits run the first form as one vectorised call.
    """
    from staggered.compiled import sample_walks, walk_order

    compiled = functools.partial(_sampler, ctx)
    walks = walk_order(ctx.fit_spec)
    if not ctx.batch:
        return [
            sample_walks(compiled, walks, y, random_seed=s)
            for y, s in zip(outcomes, seeds, strict=True)
        ]
    batch = compiled(walks[0]).sample_batch(outcomes, random_seeds=seeds)
    fitted = [(post, stats, walks[0]) for post, stats in batch]
    for k, (_, stats, _) in enumerate(fitted):
        if stats["divergences"] and len(walks) > 1:  # the first form is already sampled
            refit = sample_walks(compiled, walks[1:], outcomes[k], random_seed=seeds[k])
            if refit[1]["divergences"] < stats["divergences"]:
                fitted[k] = refit
            fitted[k][1]["walks_run"] = len(walks)
    return fitted


def _sampler(ctx: SBCContext, walk: str):
    """The compiled sampler of the fitting spec with pooled walk ``walk`` (once per worker)."""
    from staggered.sweeps import worker_cache

    return worker_cache(("sbc", ctx.token, walk), lambda: _compile(ctx, walk))


def sbc_task(item: dict) -> list[dict]:
    """Sweep task: fit one item's replicates and return their rank rows.

    ``item["outcomes"][k]`` and ``item["truths"].isel(draw=k)`` are the simulated outcome and
    true parameters of replicate ``item["replicates"][k]`` (drawn up front from the simulating
    spec's prior); ``item["seed"][k]`` seeds its fit and its rank ties. An item holds one
    replicate, or a chunk of them fitted in one vectorised NUTS call when
    ``item["context"].batch`` (lockstep: worth it on a GPU, not a CPU). The sampler is compiled
    once per worker process and reused by every later item of the same run.

    Returns
    -------
    list of dict
        One row per replicate and quantity: ``replicate, quantity, rank, n_draws, truth,
        divergences``.
    """
    from staggered.compiled import walk_order

    ctx: SBCContext = item["context"]
    family = "count" if ctx.fit_spec.is_count else "gaussian"
    same = ctx.simulate_spec == ctx.fit_spec
    outcomes = np.asarray(item["outcomes"])
    rngs = [np.random.default_rng(seed) for seed in item["seed"]]
    fit_seeds = [int(rng.integers(2**31 - 1)) for rng in rngs]
    fitted = _fit_replicates(ctx, outcomes, fit_seeds)
    keep = np.linspace(0, ctx.draws - 1, ctx.n_thin).round().astype(int)
    rows = []
    for k, r in enumerate(item["replicates"]):
        y = outcomes[k]
        post, fit_stats, walk = fitted[k]
        sim_design = with_outcome(ctx.design, y, family)
        truth = item["truths"].isel(draw=[k])
        est = _quantities(post.isel(draw=keep), sim_design, ctx.fit_spec, ctx.n_unit_quantities)
        true = _quantities(truth, sim_design, ctx.simulate_spec, ctx.n_unit_quantities)
        if same:
            # the draws are values of the walk fitted; the truth, of the simulating model's
            # (a spec's "auto" walk is built centred)
            values = [v[keep] for v in fit_stats["values"]]
            est["loglik"] = _sampler(ctx, walk).loglik(y, values)
            truth_sampler = _sampler(ctx, walk_order(ctx.simulate_spec, first="centred")[0])
            true["loglik"] = np.array([truth_sampler.loglik_at(y, truth)])
        for name, draws_q in est.items():
            if name not in true:
                continue
            t = float(np.asarray(true[name]).ravel()[0])
            rows.append(rank_row(r, name, draws_q, t, rngs[k], fit_stats["divergences"]))
    return rows


def run_sbc(
    model: str | ModelSpec = "negbin-rw",
    *,
    fit_model: str | ModelSpec | None = None,
    replicates: int = 100,
    n_units: int = 30,
    n_groups: int = 4,
    n_periods: int = 10,
    freq: str = "year",
    draws: int = 300,
    tune: int = 300,
    n_thin: int = 99,
    n_unit_quantities: int = 3,
    random_seed: int = 0,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    prob: float = 0.99,
    progressbar: bool = True,
    checkpoint: str | Path | None = None,
    chunk_size: int = 10,
    batch: bool | None = None,
    covariates: int = 0,
) -> SBCResult:
    """Run simulation-based calibration of a model spec.

    Parameters
    ----------
    model : str or ModelSpec
        Spec whose prior simulates the data (and which is fitted, unless ``fit_model``).
    fit_model : str or ModelSpec, optional
        A different spec to fit (a deliberately wrong pairing must fail SBC).
    replicates : int
        Number of prior draws / fits.
    n_units, n_groups, n_periods : int
        Panel size of each replicate.
    freq : {"year", "quarter", "month"}
        Panel frequency.
    draws, tune : int
        NUTS draws and warm-up per replicate (one chain; the sampler is compiled once per
        worker process, see :class:`staggered.compiled.CompiledNUTS`).
    n_thin : int
        Posterior draws kept per replicate for the ranks (ranks take values 0..n_thin).
    n_unit_quantities : int
        Number of unit effects among the test quantities.
    random_seed : int
        Seed of the whole run: the prior draws, and replicate r's fit (seed
        ``[random_seed, r]``). The ranks do not depend on the backend or the worker count.
    backend : {"serial", "processes", "dask"}, optional
        Where the replicates run (:func:`staggered.sweeps.run_sweep`). Default: ``"serial"``
        with ``workers=1``, else ``"dask"`` (a ``LocalCluster`` of ``workers`` processes, or
        the cluster at ``scheduler``).
    workers : int, optional
        Processes of the pool or of the Dask ``LocalCluster`` (default: CPU cores).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``) whose workers run the fits.
    prob : float
        Mass of the simultaneous ECDF bands used for the verdicts.
    progressbar : bool
        Show a progress bar over replicates.
    checkpoint : str or Path, optional
        JSONL file to which each replicate's ranks are appended as it finishes. An existing
        file resumes the run (its replicates are not refitted); one written with other
        settings raises :class:`staggered.sweeps.CheckpointError`.
    chunk_size : int
        Replicates per vectorised NUTS call when ``batch``.
    batch : bool, optional
        Fit chunks of replicates in one vectorised call. Default: on when JAX sees a GPU.
    covariates : int
        Time-varying covariates in the template panel (0: none): both models then carry
        covariate coefficients, and the first one is among the ranked quantities.

    Returns
    -------
    SBCResult
    """
    from staggered.sweeps import fingerprint, run_sweep

    sim_spec = load_spec(model)
    fit_spec = sim_spec if fit_model is None else load_spec(fit_model)
    if sim_spec.is_count != fit_spec.is_count:
        raise ValueError("simulating and fitting specs must both be count or both Gaussian")
    if draws < n_thin:
        raise ValueError(f"draws ({draws}) must be >= n_thin ({n_thin})")
    if batch is None:
        import jax

        batch = jax.default_backend() != "cpu"
    settings = {
        "simulate_model": sim_spec.name,
        "fit_model": fit_spec.name,
        "replicates": replicates,
        "n_units": n_units,
        "n_groups": n_groups,
        "n_periods": n_periods,
        "freq": freq,
        "covariates": covariates,
        "draws": draws,
        "tune": tune,
        "n_thin": n_thin,
        "random_seed": random_seed,
        "batch": batch,
    }
    # everything the ranks depend on (whole specs: a renamed prior must not resume a run)
    sweep_settings = {
        **settings,
        "simulate_spec": sim_spec.to_dict(),
        "fit_spec": fit_spec.to_dict(),
        "n_unit_quantities": n_unit_quantities,
        "chunk_size": chunk_size if batch else 1,
    }
    design = template_design(
        n_units=n_units,
        n_groups=n_groups,
        n_periods=n_periods,
        freq=freq,
        random_seed=random_seed,
        n_covariates=covariates,
    )
    logging.getLogger("pymc").setLevel(logging.WARNING)
    sim_model = build_model(design, sim_spec, **prior_settings(sim_spec))
    prior = pm.sample_prior_predictive(draws=replicates, model=sim_model, random_seed=random_seed)
    outcomes = prior_outcomes(prior, design, sim_spec, random_seed)
    truths = prior.prior
    ctx = SBCContext(
        design=design,
        simulate_spec=sim_spec,
        fit_spec=fit_spec,
        draws=draws,
        tune=tune,
        n_thin=n_thin,
        n_unit_quantities=n_unit_quantities,
        batch=batch,
        # what the compiled sampler depends on: workers reuse it across runs that share these
        token=fingerprint({k: sweep_settings[k] for k in SAMPLER_SETTINGS}),
    )
    items = _sweep_items(outcomes, truths, ctx, replicates, chunk_size if batch else 1, random_seed)
    results = run_sweep(
        sbc_task,
        items,
        backend=backend,
        workers=workers,
        scheduler=scheduler,
        checkpoint=checkpoint,
        settings=sweep_settings,
        progress=progressbar,
        desc="SBC replicates",
    )
    return collect(results, n_thin, prob, settings)


def _sweep_items(outcomes, truths, ctx, replicates: int, size: int, random_seed: int) -> list:
    """One sweep item per chunk of ``size`` replicates: their seeds, outcomes and truths."""
    items = []
    for first in range(0, replicates, size):
        chunk = list(range(first, min(first + size, replicates)))
        key = f"replicate-{first:05d}" if size == 1 else f"replicates-{first:05d}-{chunk[-1]:05d}"
        items.append(
            {
                "key": key,
                "seed": [[random_seed, r] for r in chunk],
                "replicates": chunk,
                "outcomes": outcomes[chunk],
                "truths": truths.isel(draw=chunk),
                "context": ctx,
            }
        )
    return items
