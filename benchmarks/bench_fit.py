"""Time a fit of the bundled example (or a simulated panel of a chosen size).

Usage: python benchmarks/bench_fit.py [--units 150] [--freq year] [--draws 1000] [--tune 1000]
       [--chains 4] [--max-draws N] [--demo] [--placebo 3] [--out benchmarks/out/bench_fit.json]

Reports wall time (sampling only, JAX blocks before PyMC returns numpy draws), draws per
second, min bulk ESS per second, max R-hat and divergences.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from bench_panel import delayed_panel

import staggered as stg
from staggered.datasets import demo_panel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", action="store_true", help="use the bundled example panel")
    ap.add_argument("--units", type=int, default=150)
    ap.add_argument("--groups", type=int, default=20)
    ap.add_argument("--freq", default="year")
    ap.add_argument("--periods", type=int, default=None)
    ap.add_argument("--model", default="negbin-rw")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--max-draws",
        type=int,
        default=None,
        help="stop extending at this many draws per chain (default: staggered.fit's; "
        "set it to --draws for a fixed-length run)",
    )
    ap.add_argument(
        "--placebo", type=int, default=3, help="pre-trend check periods (0: estimation fit only)"
    )
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_fit.json"))
    args = ap.parse_args()

    if args.demo:
        sim = demo_panel()
    else:
        sim = delayed_panel(args.units, args.periods, args.freq, args.seed, n_groups=args.groups)
    start = time.perf_counter()
    fit = stg.fit(
        sim.panel,
        **sim.columns,
        model=args.model,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
        placebo=args.placebo,
        max_draws=args.max_draws,
        progressbar=False,
    )
    total = time.perf_counter() - start
    t0 = time.perf_counter()
    effects = fit.effects()
    effects_s = time.perf_counter() - t0
    d = fit.diagnostics
    record = {
        "panel": "demo" if args.demo else f"{args.units} units, {args.freq}",
        "cells": int(fit.panel.n_cells),
        "model": args.model,
        "chains": args.chains,
        "draws": args.draws,
        "tune": args.tune,
        "placebo": args.placebo,
        "max_draws": args.max_draws,
        "draws_run": d.get("draws_run"),
        "mean_tree_depth": d.get("mean_tree_depth"),
        "sampling_seconds": d["seconds"],
        "fit_seconds_total": round(total, 2),
        "effects_seconds": round(effects_s, 2),
        "effects_rows": len(effects),
        "max_rhat": d["max_rhat"],
        "min_ess_bulk": d["min_ess_bulk"],
        "min_ess_tail": d["min_ess_tail"],
        "min_ess_bulk_per_s": round(d["min_ess_bulk"] / d["seconds"], 2),
        "divergences": d["divergences"],
        "slowest": {k: v for k, v in d.items() if k.startswith("worst_")},
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
