"""nutpie's JAX and numba backends on one model: compile time and cost per leapfrog step.

Usage:
    python benchmarks/nutpie_backends.py [--units 300] [--periods 52] [--freq quarter]
        [--backends jax,numba] [--tune 200] [--draws 100] [--chains 2]
        [--out benchmarks/out/nutpie_backends.json]

Builds the default spec's estimation model for one simulated panel (``simulate("delayed")``),
then for each backend compiles it with nutpie (timed) and samples a short fixed run with the
default settings otherwise (low-rank mass matrix, chains on every core). The figure to compare
is milliseconds of sampling per leapfrog step (summed over chains and warm-up and kept draws),
which does not depend on how well a short warm-up adapted. The JAX backend compiles in seconds
and calls back into Python for every gradient; numba compiles for 35-90 s and does
not (``docs/performance.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench_panel import delayed_panel

from staggered.data import encode_panel
from staggered.design import fit_designs
from staggered.models import load_spec
from staggered.models.builder import build_model
from staggered.sampling import _nutpie_settings, _quiet_rewrite_failures
from staggered.sampling_nutpie import _compile, split_cell_vars


def run_backend(model, backend: str, *, tune: int, draws: int, chains: int) -> dict:
    """Compile ``model`` as ``staggered.fit`` does with one backend, and time a short run.

    Every leapfrog step is counted (warm-up included: its early trees are the deepest).
    """
    import nutpie

    settings = _nutpie_settings(chains)
    settings.pop("backend", None)
    settings["save_warmup"] = True  # for the warm-up's step counts
    _, keep = split_cell_vars(model)
    start = time.perf_counter()
    with _quiet_rewrite_failures():
        compiled, used = _compile(model, keep, backend)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    trace = nutpie.sample(
        compiled, draws=draws, tune=tune, chains=chains, seed=1, progress_bar=False, **settings
    )
    sample_s = time.perf_counter() - start
    stats = trace.sample_stats
    steps = int(stats["n_steps"].sum()) + int(trace.warmup_sample_stats["n_steps"].sum())
    parallel = min(chains, os.cpu_count() or 1)
    return {
        "backend": backend,
        "backend_used": used,  # numba falls back to JAX when it cannot compile
        "compile_seconds": round(compile_s, 1),
        "sampling_seconds": round(sample_s, 1),
        "mean_tree_depth_kept": float(stats["depth"].mean()),
        "leapfrog_steps": steps,
        "ms_per_step_per_chain": round(1000 * sample_s * parallel / steps, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=300)
    ap.add_argument("--periods", type=int, default=52)
    ap.add_argument("--freq", default="quarter")
    ap.add_argument("--backends", default="jax,numba")
    ap.add_argument("--tune", type=int, default=200)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/nutpie_backends.json"))
    args = ap.parse_args()
    sim = delayed_panel(args.units, args.periods, args.freq)
    panel = encode_panel(sim.panel, **sim.columns)
    design, _ = fit_designs(panel, placebo=0)
    model = build_model(design, load_spec("negbin-rw"))
    rows = []
    for backend in args.backends.split(","):
        row = run_backend(model, backend, tune=args.tune, draws=args.draws, chains=args.chains)
        row["cells"] = int(panel.n_cells)
        rows.append(row)
        print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
