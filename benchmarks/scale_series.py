"""Scale series: wall time, ESS per second and peak memory from 100 to 2,000 units x 120 months.

Usage:
    python benchmarks/scale_series.py [--units 100,250,500,1000,2000] [--months 120]
        [--draws 200] [--tune 200] [--chains 2] [--sampler nutpie|numpyro]
        [--max-seconds 3600] [--out benchmarks/out/scale_series.json]

Each size runs in its own subprocess (``benchmarks/bench_fit.py``-style fit of the default spec,
estimation only, ``placebo=0``), so the peak resident memory of one fit is measured
(``ru_maxrss`` of the children so far: list sizes in increasing order), and on a GPU the
device's peak memory (JAX's ``memory_stats``; none on CPU). On a GPU run it with
``--sampler numpyro`` (chains vectorised on the device; ``docs/performance.md``, "Running on
a GPU"). Prints a table and writes JSON. Sizes that exceed
``--max-seconds`` are stopped and reported as such; a size is skipped once a smaller one timed
out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, sys, time, warnings
import staggered as stg
units, months, draws, tune, chains = map(int, sys.argv[1:6])
sampler = sys.argv[6]
sys.path.insert(0, sys.argv[7])
from bench_panel import delayed_panel
sim = delayed_panel(units, months, "month")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", stg.SamplingWarning)
    start = time.perf_counter()
    fit = stg.fit(sim.panel, **sim.columns, placebo=0, draws=draws, tune=tune, chains=chains,
                  random_seed=1, progressbar=False, sampler=sampler)
    total = time.perf_counter() - start
d = fit.diagnostics
import jax
device = jax.devices()[0]
memory = device.memory_stats() or {}  # None on CPU
peak = memory.get("peak_bytes_in_use")
print(json.dumps({"cells": int(fit.panel.n_cells), "sampling_seconds": d["seconds"],
                  "fit_seconds": round(total, 1), "max_rhat": d["max_rhat"],
                  "min_ess_bulk": d["min_ess_bulk"], "mean_tree_depth": d.get("mean_tree_depth"),
                  "divergences": d["divergences"], "sampler": sampler,
                  "device": f"{device.platform} {device.device_kind}",
                  "device_peak_mib": None if peak is None else round(peak / 2**20, 1)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", default="100,250,500,1000,2000")
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--tune", type=int, default=200)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=3600)
    ap.add_argument(
        "--sampler",
        default="nutpie",
        choices=("nutpie", "numpyro", "blackjax", "pymc"),
        help="staggered.fit's sampler: nutpie (CPU) or numpyro (chains vectorised on a GPU)",
    )
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/scale_series.json"))
    args = ap.parse_args()
    rows = []
    for units in [int(u) for u in args.units.split(",")]:
        if rows and rows[-1].get("status") != "ok":
            rows.append({"units": units, "status": "skipped (a smaller size did not finish)"})
            continue
        cmd = [
            sys.executable,
            "-c",
            CHILD,
            str(units),
            str(args.months),
            str(args.draws),
            str(args.tune),
            str(args.chains),
            args.sampler,
            str(Path(__file__).resolve().parent),  # for bench_panel
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        try:
            out = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                check=True,
                timeout=args.max_seconds,
                env=os.environ.copy(),
            )
        except subprocess.TimeoutExpired:
            rows.append({"units": units, "status": f"timed out after {args.max_seconds:.0f} s"})
            continue
        except subprocess.CalledProcessError as err:
            rows.append({"units": units, "status": f"failed: {err.stderr[-500:]}"})
            continue
        wall = time.perf_counter() - start
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        record = json.loads(out.stdout.strip().splitlines()[-1])
        record.update(
            units=units,
            status="ok",
            wall_seconds=round(wall, 1),
            peak_rss_mib=round(max(peak_kib, before) / 1024, 1),
            ess_per_s=round(record["min_ess_bulk"] / record["sampling_seconds"], 3),
        )
        rows.append(record)
        print(json.dumps(record), flush=True)
    print(f"\n{'units':>6s} {'cells':>8s} {'wall s':>8s} {'ESS/s':>8s} {'peak MiB':>9s} status")
    for r in rows:
        print(
            f"{r['units']:6d} {r.get('cells', 0):8d} {r.get('wall_seconds', float('nan')):8.1f} "
            f"{r.get('ess_per_s', float('nan')):8.3f} {r.get('peak_rss_mib', float('nan')):9.1f} "
            f"{r['status']}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "months": args.months,
                "draws": args.draws,
                "tune": args.tune,
                "chains": args.chains,
                "sampler": args.sampler,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
