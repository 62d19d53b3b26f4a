"""Default spec vs a hand-written NumPyro model vs PyMC's default NUTS, on one panel, one run.

Usage:
    python benchmarks/samplers.py [--units 300] [--freq quarter] [--periods 52]
        [--draws 1000] [--tune 1000] [--chains 4] [--baseline-draws 300] [--skip pymc]

All three fit the same panel (``staggered.simulate("delayed", ...)``, unit trends sd 0.3%/yr):

* ``staggered``: ``staggered.fit`` with the default spec, estimation fit only (``placebo=0``:
  the pre-trend check is a separate, smaller fit);
* ``numpyro-hand``: the same model written directly in NumPyro the way a careful user would
  (centred intercepts, free period effects, non-centred trends and deviation walks, centred
  pooled steps, the old per-period step priors), NUTS with a diagonal mass matrix;
* ``pymc-nuts``: the default spec's PyMC model sampled with PyMC's own NUTS.

The baselines are slow, so they run ``--baseline-draws`` draws and warm-up iterations per
chain (ESS per second is comparable across lengths; wall time is not). Seconds are the wall
time of each whole call, compilation included (``staggered`` also reports its sampling time).
Reports wall time, bulk ESS of the pooled effect curve (min and median over event times), ESS
per second, mean tree depth and divergences; prints a table and writes JSON (``--out``).
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import arviz as az  # noqa: E402
import numpy as np  # noqa: E402
from bench_panel import delayed_panel  # noqa: E402

import staggered as stg  # noqa: E402


def _summary(name: str, theta: np.ndarray, seconds: float, depth, divergences: int, **extra):
    """theta: (chain, draw, event_time) draws of the pooled log effect."""
    ess = np.asarray(az.ess(az.convert_to_dataset(theta[..., None]), method="bulk")["x"])
    ess = ess.reshape(-1)
    return {
        "sampler": name,
        "seconds": round(seconds, 1),
        "chains": int(theta.shape[0]),
        "draws": int(theta.shape[1]),
        "min_ess_pooled": round(float(ess.min()), 1),
        "median_ess_pooled": round(float(np.median(ess)), 1),
        "min_ess_per_s": round(float(ess.min()) / seconds, 3),
        "mean_tree_depth": round(float(np.mean(depth)), 2),
        "divergences": int(divergences),
        **extra,
    }


def _depth(stats) -> np.ndarray:
    """Tree depths: nutpie writes ``depth``, PyMC's other paths ``tree_depth``."""
    return next(stats[n] for n in ("depth", "tree_depth") if n in stats).values


def run_staggered(sim, args) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stg.SamplingWarning)
        start = time.perf_counter()
        fit = stg.fit(
            sim.panel,
            **sim.columns,
            placebo=0,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            random_seed=args.seed,
            progressbar=False,
        )
        seconds = time.perf_counter() - start
    d = fit.diagnostics
    post = fit.idata.posterior
    return _summary(
        "staggered",
        post["theta"].values,
        seconds,  # wall time of the whole call, as for the baselines (compilation included)
        _depth(fit.idata.sample_stats),
        d["divergences"],
        sampling_seconds=round(d["seconds"], 1),
        draws_run=d.get("draws_run", args.draws),
        max_rhat=round(d["max_rhat"], 4),
        min_ess_all=round(d["min_ess_bulk"], 1),
    )


def numpyro_hand_model(data):
    """The default model as a careful user would write it in NumPyro."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    n_units, n_periods, n_treated, n_groups, n_e = data["sizes"]
    mu_alpha = numpyro.sample("mu_alpha", dist.Normal(data["loc"], 2.0))
    sigma_alpha = numpyro.sample("sigma_alpha", dist.HalfNormal(1.0))
    alpha = numpyro.sample("alpha", dist.Normal(mu_alpha, sigma_alpha).expand([n_units]))
    gamma = numpyro.sample("gamma", dist.Normal(0.0, 0.5).expand([n_periods]))
    sigma_beta = numpyro.sample("sigma_beta", dist.HalfNormal(0.01))
    beta = sigma_beta * numpyro.sample("beta_z", dist.Normal(0.0, 1.0).expand([n_units]))
    sigma_theta = numpyro.sample("sigma_theta", dist.HalfNormal(0.05))
    first = numpyro.sample("theta_first", dist.Normal(0.0, 0.1))
    steps = numpyro.sample("theta_steps", dist.Normal(0.0, sigma_theta).expand([n_e - 1]))
    theta = numpyro.deterministic("theta", jnp.cumsum(jnp.concatenate([first[None], steps])))
    sigma_group = numpyro.sample("sigma_group", dist.HalfNormal(0.02))
    dg = sigma_group * jnp.cumsum(
        numpyro.sample("dg_z", dist.Normal(0.0, 1.0).expand([n_groups, n_e])), axis=1
    )
    sigma_unit = numpyro.sample("sigma_unit", dist.HalfNormal(0.02))
    du = sigma_unit * jnp.cumsum(
        numpyro.sample("du_z", dist.Normal(0.0, 1.0).expand([n_treated, n_e])), axis=1
    )
    curve = theta[None, :] + dg[data["group_of_treated"]] + du
    eta = (
        data["log_exposure"]
        + alpha[data["unit"]]
        + gamma[data["period"]]
        + beta[data["unit"]] * data["time"]
    )
    eta = eta.at[data["effect_cells"]].add(curve[data["cell_treated"], data["cell_event"]])
    cv = numpyro.sample("dispersion_cv", dist.HalfNormal(0.1))
    numpyro.sample("y", dist.NegativeBinomial2(jnp.exp(eta), 1.0 / cv**2), obs=data["y"])


def run_numpyro_hand(sim, args) -> dict:
    import jax
    from numpyro.infer import MCMC, NUTS

    from staggered.data import encode_panel
    from staggered.design import build_design

    jax.config.update("jax_enable_x64", True)
    panel = encode_panel(sim.panel, **sim.columns, family="count")
    design = build_design(panel)
    tu = design.treated_units
    groups = panel.group_idx[tu]
    _, group_of_treated = np.unique(groups, return_inverse=True)
    comp = ~design.effect_cell
    data = {
        "sizes": (
            panel.n_units,
            panel.n_periods,
            tu.size,
            int(group_of_treated.max()) + 1,
            design.event_times.size,
        ),
        "loc": float(np.log(panel.y[comp].sum() / panel.exposure[comp].sum())),
        "unit": panel.unit_idx,
        "period": panel.period_idx,
        "time": design.period_time[panel.period_idx],
        "log_exposure": np.log(panel.exposure),
        "y": panel.y,
        "effect_cells": design.effect_cells,
        "cell_treated": design.cell_treated_unit,
        "cell_event": design.effect_index,
        "group_of_treated": group_of_treated,
    }
    mcmc = MCMC(
        NUTS(numpyro_hand_model, target_accept_prob=0.9),
        num_warmup=args.baseline_draws,
        num_samples=args.baseline_draws,
        num_chains=args.chains,
        chain_method="parallel" if jax.local_device_count() >= args.chains else "sequential",
        progress_bar=False,
    )
    start = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(args.seed), data, extra_fields=("num_steps", "diverging"))
    jax.block_until_ready(mcmc.get_samples())
    seconds = time.perf_counter() - start
    theta = np.asarray(mcmc.get_samples(group_by_chain=True)["theta"])
    extra = mcmc.get_extra_fields(group_by_chain=True)
    depth = np.log2(np.asarray(extra["num_steps"]) + 1)
    return _summary("numpyro-hand", theta, seconds, depth, int(np.sum(extra["diverging"])))


def run_pymc(sim, args) -> dict:
    import pymc as pm

    from staggered.data import encode_panel
    from staggered.design import build_design
    from staggered.models import build_model, load_spec

    panel = encode_panel(sim.panel, **sim.columns, family="count")
    model = build_model(build_design(panel), load_spec("negbin-rw"))
    start = time.perf_counter()
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = pm.sample(
            draws=args.baseline_draws,
            tune=args.baseline_draws,
            chains=args.chains,
            cores=min(args.chains, os.cpu_count() or 1),
            target_accept=0.9,
            random_seed=args.seed,
            progressbar=False,
            compute_convergence_checks=False,
        )
    seconds = time.perf_counter() - start
    ss = idata.sample_stats
    return _summary(
        "pymc-nuts",
        idata.posterior["theta"].values,
        seconds,
        ss["tree_depth"].values,
        int(ss["diverging"].sum()),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=300)
    ap.add_argument("--freq", default="quarter")
    ap.add_argument("--periods", type=int, default=52)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--baseline-draws", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", action="append", default=[], help="numpyro-hand or pymc")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/samplers.json"))
    args = ap.parse_args()

    sim = delayed_panel(args.units, args.periods, args.freq, args.seed)
    rows = [run_staggered(sim, args)]
    print(rows[-1], flush=True)
    runners = {"numpyro-hand": run_numpyro_hand, "pymc": run_pymc}
    for name, runner in runners.items():
        if name not in args.skip:
            rows.append(runner(sim, args))
            print(rows[-1], flush=True)
    base = rows[0]["min_ess_per_s"]
    for r in rows:
        r["staggered_ess_per_s_ratio"] = (
            round(base / r["min_ess_per_s"], 2) if r["min_ess_per_s"] > 0 else float("inf")
        )
    print(
        f"\n{'sampler':14s} {'chains x draws':>14s} {'seconds':>8s} {'min ESS':>8s} "
        f"{'ESS/s':>8s} {'depth':>6s} {'div':>5s} {'ratio':>6s}"
    )
    for r in rows:
        print(
            f"{r['sampler']:14s} {r['chains']:>6d} x {r['draws']:<6d} {r['seconds']:8.1f} "
            f"{r['min_ess_pooled']:8.1f} {r['min_ess_per_s']:8.3f} {r['mean_tree_depth']:6.2f} "
            f"{r['divergences']:5d} {r['staggered_ess_per_s_ratio']:6.2f}"
        )
    record = {
        "panel": f"{args.units} units x {args.periods} {args.freq}",
        "cells": int(sim.panel.shape[0]),
        "rows": rows,
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
