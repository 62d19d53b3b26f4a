"""Simulation-based calibration of the joint model of two outcomes.

Each replicate draws every parameter of the joint model (:mod:`staggered.models.joint`) and
both outcomes from the model's own prior, on the panel structure of
:func:`staggered.simulate_outcomes.simulate_outcomes` (areas, years, adoption, population),
refits the joint model, and ranks the truth among the thinned posterior draws (Talts et al.
2018). Ranked quantities: the correlation of the areas' deviation steps (``unit_corr``), and per
outcome the step scales ``sigma_unit`` and ``sigma_theta``, the pooled relative effect at the
last event time and the log effect of the first treated area there. The verdicts are those of
:mod:`staggered.sbc` (rank ECDF inside a 99% simultaneous band).

The replicates run through :func:`staggered.sweeps.run_sweep` (serial, process pool or Dask,
with checkpoint and resume), the sampler compiled once per worker process
(:class:`staggered.compiled.CompiledNUTS`, both outcomes as one vector). The default spec's
AR(1) outcomes are drawn period by period, per outcome, as in :mod:`staggered.sbc_prior`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pymc as pm

from staggered.data import encode_panel
from staggered.design import Design, build_design
from staggered.effects import _draws, estimand_draws
from staggered.models import ModelSpec, load_spec
from staggered.models.joint import build_joint_model
from staggered.outcomes import SEPARATOR, design_for_outcome, posterior_for_outcome
from staggered.sbc_prior import COUNT_PRIOR_LOC, _ar1_outcomes
from staggered.sbc_result import SBCResult, collect, rank_row
from staggered.simulate_outcomes import OUTCOMES, simulate_outcomes

__all__ = ["joint_prior_outcomes", "joint_quantities", "joint_sbc_task", "run_joint_sbc"]


def joint_quantities(post, design, spec) -> dict[str, np.ndarray]:
    """Ranked quantities as ``(sample,)`` arrays from a joint posterior (or prior) dataset."""
    names = list(OUTCOMES)
    q = {"unit_corr": _draws(post, "unit_corr")[:, 0, 1]}
    for name in names:
        one = posterior_for_outcome(post, name)
        d = design_for_outcome(design, name)
        for scale in ("sigma_unit", "sigma_theta"):
            q[f"{name}:{scale}"] = _draws(one, scale)
        _, event_times, draws = estimand_draws(one, d, spec, scope="pooled")
        q[f"{name}:pooled[e={int(event_times[-1])}]"] = draws["relative"][:, -1]
        q[f"{name}:unit_effect[0,e={int(d.event_times[-1])}]"] = _draws(one, "unit_effect")[
            :, 0, -1
        ]
    return q


def _with_outcomes(design, ys: list[np.ndarray]):
    outcomes = np.column_stack(ys).astype(np.float64)
    panel = dataclasses.replace(design.panel, y=outcomes[:, 0], outcomes=outcomes)
    return dataclasses.replace(design, panel=panel)


def joint_prior_outcomes(prior, design, spec, random_seed: int) -> list[np.ndarray]:
    """Each outcome's simulated counts (draws x cells) for the joint prior draws ``prior``.

    As :func:`staggered.sbc_prior.prior_outcomes` per outcome: an ``ar1`` spec's outcomes are
    drawn period by period (PyMC's prior predictive would take the AR lags from the template's
    outcome), and each outcome's ``eta0`` in ``prior.prior`` is overwritten with the
    counterfactual at the drawn outcomes.
    """
    ys = []
    for j, name in enumerate(OUTCOMES):
        if not spec.ar1:
            ys.append(prior.prior_predictive[f"{name}{SEPARATOR}y"].values[0])
            continue
        params = posterior_for_outcome(prior.prior, name)
        d = design_for_outcome(design, name)
        y, eta0 = _ar1_outcomes(params, d, spec, random_seed + 7919 * (j + 1))
        prior.prior[f"{name}{SEPARATOR}eta0"].values[0] = eta0[:, design.effect_cells]
        ys.append(y)
    return ys


@dataclasses.dataclass(frozen=True)
class JointSBCContext:
    """What every replicate of one joint SBC run shares (sent with each sweep item)."""

    design: Design
    spec: ModelSpec
    draws: int
    tune: int
    n_thin: int
    token: str


def _compile(ctx: JointSBCContext, walk: str):
    from staggered.compiled import CompiledNUTS

    spec = ctx.spec.replace(pooled_walk=walk)
    model = build_joint_model(ctx.design, spec, prior_loc=COUNT_PRIOR_LOC)
    observed = [f"{name}{SEPARATOR}y" for name in OUTCOMES]
    return CompiledNUTS(model, draws=ctx.draws, tune=ctx.tune, target_accept=0.9, observed=observed)


def joint_sbc_task(item: dict) -> list[dict]:
    """Sweep task: fit one replicate's two outcomes and rank its truths.

    The sampler is compiled once per worker process (:func:`staggered.sweeps.worker_cache`)
    and takes both outcomes as one vector. Under ``pooled_walk="auto"`` each outcome's pooled
    walk is sampled non-centred first, and centred only if that fit diverged
    (:func:`staggered.compiled.sample_walks`): with the centred walk alone, 166 of 200
    replicates diverged and small true step scales were not reached (session 13).

    Returns
    -------
    list of dict
        One row per quantity: ``replicate, quantity, rank, n_draws, truth, divergences``.
    """
    from staggered.compiled import sample_walks, walk_order
    from staggered.sweeps import worker_cache

    ctx: JointSBCContext = item["context"]

    def compiled(walk: str):
        return worker_cache(("joint-sbc", ctx.token, walk), lambda: _compile(ctx, walk))

    ys = [np.asarray(y, dtype=np.float64) for y in item["outcomes"]]
    rng = np.random.default_rng(item["seed"])
    seed = int(rng.integers(2**31 - 1))
    post, stats, _ = sample_walks(
        compiled, walk_order(ctx.spec), np.concatenate(ys), random_seed=seed
    )
    keep = np.linspace(0, ctx.draws - 1, ctx.n_thin).round().astype(int)
    d = _with_outcomes(ctx.design, ys)
    truth = joint_quantities(item["truth"], d, ctx.spec)
    est = joint_quantities(post.isel(draw=keep), d, ctx.spec)
    rows = [
        rank_row(item["replicate"], name, values, float(truth[name][0]), rng, stats["divergences"])
        for name, values in est.items()
    ]
    return rows


def run_joint_sbc(
    *,
    replicates: int = 100,
    n_units: int = 16,
    n_periods: int = 8,
    draws: int = 200,
    tune: int = 300,
    n_thin: int = 100,
    random_seed: int = 0,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    checkpoint: str | Path | None = None,
    progressbar: bool = False,
    prob: float = 0.99,
) -> SBCResult:
    """Run SBC of the two-outcome joint model (``negbin-rw``).

    Parameters
    ----------
    replicates : int, default 100
        Prior draws, each simulated and refitted.
    n_units, n_periods : int
        Panel structure of :func:`~staggered.simulate_outcomes.simulate_outcomes`.
    draws, tune : int
        NUTS settings of each refit (one chain; the sampler is compiled once per worker
        process, :class:`staggered.compiled.CompiledNUTS`).
    n_thin : int, default 100
        Posterior draws kept (evenly spaced) for the ranks.
    random_seed : int, default 0
        Seed of the panel structure, the prior draws and the fits (replicate r's fit: seed
        ``[random_seed, r]``); the ranks do not depend on the backend or the worker count.
    backend, workers, scheduler, checkpoint :
        Where the replicates run and where finished ones are kept, as in
        :func:`staggered.sbc.run_sbc` (:func:`staggered.sweeps.run_sweep`).
    progressbar : bool
        Show a progress bar over replicates.
    prob : float
        Mass of the simultaneous ECDF bands used for the verdicts.

    Returns
    -------
    staggered.sbc.SBCResult
    """
    from staggered.sweeps import fingerprint, run_sweep

    if draws < n_thin:
        raise ValueError(f"draws ({draws}) must be >= n_thin ({n_thin})")
    spec = load_spec("negbin-rw")
    sim = simulate_outcomes(n_units=n_units, n_periods=n_periods, random_seed=random_seed)
    design = build_design(encode_panel(sim.panel, **sim.columns))
    model = build_joint_model(design, spec, prior_loc=COUNT_PRIOR_LOC)
    logging.getLogger("pymc").setLevel(logging.WARNING)
    prior = pm.sample_prior_predictive(draws=replicates, model=model, random_seed=random_seed)
    ys = joint_prior_outcomes(prior, design, spec, random_seed)
    settings = {
        "simulate_model": "negbin-rw (two outcomes, joint)",
        "fit_model": "negbin-rw (two outcomes, joint)",
        "replicates": replicates,
        "n_units": n_units,
        "n_periods": n_periods,
        "draws": draws,
        "tune": tune,
        "n_thin": n_thin,
        "random_seed": random_seed,
    }
    sweep_settings = {**settings, "spec": spec.to_dict()}
    token = fingerprint({k: v for k, v in sweep_settings.items() if k != "replicates"})
    ctx = JointSBCContext(
        design=design, spec=spec, draws=draws, tune=tune, n_thin=n_thin, token=token
    )
    items = [
        {
            "key": f"replicate-{r:05d}",
            "seed": [random_seed, r],
            "replicate": r,
            "outcomes": [y[r] for y in ys],
            "truth": prior.prior.isel(draw=[r]),
            "context": ctx,
        }
        for r in range(replicates)
    ]
    results = run_sweep(
        joint_sbc_task,
        items,
        backend=backend,
        workers=workers,
        scheduler=scheduler,
        checkpoint=checkpoint,
        settings=sweep_settings,
        progress=progressbar,
        desc="joint SBC replicates",
    )
    return collect(results, n_thin, prob, settings)
