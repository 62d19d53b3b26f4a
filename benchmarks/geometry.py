"""Where is the posterior badly conditioned? Profile the default model's geometry on a panel.

Usage:
    python benchmarks/geometry.py [--panel demo|quarterly] [--draws 300] [--tune 300]
        [--model negbin-rw] [--out benchmarks/out/geometry.json]

Fits the estimation design (no pre-trend check) with 2 chains, takes the draws of every free
parameter on the sampler's unconstrained scale, and analyses the Hessian of the log posterior
at their mean, scaled by their sds (what an ideal diagonal mass matrix leaves): the ratio of
its extreme eigenvalues is the condition number the sampler still sees, and the parameters
that load on the extreme eigenvectors are the directions to reparameterise. Also prints the
parameters with the lowest bulk ESS, step size and mean tree depth.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import arviz as az  # noqa: E402
import numpy as np  # noqa: E402
import pymc as pm  # noqa: E402

import staggered as stg  # noqa: E402
from staggered.data import encode_panel  # noqa: E402
from staggered.design import fit_designs  # noqa: E402
from staggered.models import load_spec  # noqa: E402
from staggered.models.builder import build_model  # noqa: E402


def _panel(name: str):
    if name == "demo":
        sim = stg.datasets.demo_panel()
        return sim.panel, sim.columns
    sim = stg.simulate(
        "delayed", n_units=300, n_periods=52, freq="quarter", unit_trend_sd=0.003, random_seed=3
    )
    return sim.panel, sim.columns


def _hessian_spectrum(idata, model) -> dict:
    """Eigen-analysis of the log posterior's Hessian at the posterior mean, scaled by the sds.

    ``D H D`` with ``D`` the posterior sds: what NUTS faces after an ideal diagonal mass matrix;
    its condition number bounds the step size against the trajectory length needed.
    """
    import jax
    import jax.numpy as jnp
    import pytensor.tensor as pt
    from jax.flatten_util import ravel_pytree
    from pymc.sampling.jax import get_jaxified_logp

    post = idata.posterior
    names = [v.name for v in model.value_vars]
    mean, sd = [], []
    for rv in model.free_RVs:
        draws = post[rv.name].values
        transform = model.rvs_to_transforms.get(rv)
        if transform is not None:  # the sampler's unconstrained scale
            draws = transform.forward(pt.as_tensor(draws), *rv.owner.inputs).eval()
        mean.append(jnp.asarray(draws.mean(axis=(0, 1))))
        sd.append(jnp.asarray(draws.std(axis=(0, 1))))
    flat_mean, unravel = ravel_pytree(mean)
    flat_sd, _ = ravel_pytree(sd)
    logp = get_jaxified_logp(model)
    hess = jax.hessian(lambda x: -logp(unravel(x)))(flat_mean)
    scaled = np.asarray(hess) * np.outer(flat_sd, flat_sd)
    evals, evecs = np.linalg.eigh(scaled)
    labels = []
    for n, m in zip(names, mean, strict=True):
        size = int(np.prod(m.shape)) if m.shape else 1
        labels += [f"{n}[{j}]" if size > 1 else n for j in range(size)]
    return {
        "free_params": len(labels),
        "condition_number": float(evals[-1] / max(evals[0], 1e-12)),
        "eigenvalues_low": [round(float(e), 4) for e in evals[:5]],
        "eigenvalues_high": [round(float(e), 1) for e in evals[-5:]],
        "stiffest_direction": _loadings(evecs[:, -1], labels),
        "second_stiffest": _loadings(evecs[:, -2], labels),
        "flattest_direction": _loadings(evecs[:, 0], labels),
    }


def _loadings(vec: np.ndarray, names: list[str], k: int = 8) -> list[tuple[str, float]]:
    order = np.argsort(-np.abs(vec))[:k]
    return [(names[i], round(float(vec[i]), 3)) for i in order]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--panel", default="demo", choices=["demo", "quarterly"])
    ap.add_argument("--model", default="negbin-rw")
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--tune", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="analyse the saved draws again")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/geometry.json"))
    args = ap.parse_args()

    data, cols = _panel(args.panel)
    panel = encode_panel(data, **cols)
    design, _ = fit_designs(panel, placebo=0)
    spec = load_spec(args.model)
    model = build_model(design, spec)
    saved = args.out.with_suffix(".nc")
    if args.reuse and saved.exists():
        idata = az.from_netcdf(saved)
        print(json.dumps(_hessian_spectrum(idata, model), indent=1))
        return
    start = time.perf_counter()
    with model:
        idata = pm.sample(
            draws=args.draws,
            tune=args.tune,
            chains=2,
            nuts_sampler="numpyro",
            random_seed=args.seed,
            progressbar=False,
            target_accept=0.9,
            idata_kwargs={"log_likelihood": False, "include_transformed": True},
            nuts_sampler_kwargs={"chain_method": "parallel"},
        )
    seconds = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    idata.to_netcdf(saved)
    depth = float(idata.sample_stats["tree_depth"].mean())
    ess = az.ess(idata, method="bulk")
    worst = sorted(
        ((float(ess[v].min()), v) for v in ess.data_vars if ess[v].size), key=lambda t: t[0]
    )[:8]
    result = {
        "panel": args.panel,
        "model": args.model,
        "seconds": round(seconds, 1),
        "mean_tree_depth": round(depth, 2),
        "step_size": [float(s) for s in idata.sample_stats["step_size"].mean("draw").values],
        **_hessian_spectrum(idata, model),
        "lowest_bulk_ess": [(v, round(e, 1)) for e, v in worst],
    }
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
