"""Size of ``posterior.nc`` for the bundled demo at full length, and the time to load it.

Usage:
    python benchmarks/file_size.py [--chains 4] [--draws 1000] [--out benchmarks/out/file_size.json]

The file is uncompressed netCDF, so its size depends on the shapes only, not on the values:
the script fits the demo (estimation and pre-trend check) with very short chains, repeats the
draws to ``--draws`` per chain, saves the fit with :meth:`staggered.Fit.save` and reports the
file size, the largest stored variables and the seconds ``staggered.load`` takes (it recomputes
the cell-level quantities from the parameters).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr

import staggered as stg
from staggered.datasets import demo_panel
from staggered.fit import SamplingWarning


def _repeat_draws(idata: az.InferenceData, draws: int) -> az.InferenceData:
    post = idata.posterior
    reps = int(np.ceil(draws / post.sizes["draw"]))
    tiled = xr.concat([post] * reps, dim="draw").isel(draw=slice(0, draws))
    return az.InferenceData(posterior=tiled.assign_coords(draw=np.arange(draws)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/file_size.json"))
    args = ap.parse_args()
    sim = demo_panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        fit = stg.fit(
            sim.panel,
            **sim.columns,
            draws=5,
            tune=5,
            chains=args.chains,
            random_seed=1,
            progressbar=False,
        )
        fit.idata = _repeat_draws(fit.idata, args.draws)
        fit.pretrend.idata = _repeat_draws(fit.pretrend.idata, args.draws)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        path = fit.save(args.out.with_suffix(".nc"))
        start = time.perf_counter()
        loaded = stg.load(path)
        load_seconds = time.perf_counter() - start
    stored = az.from_netcdf(path)
    largest = sorted(
        ((v.nbytes / 1e6, name) for name, v in stored.posterior.data_vars.items()), reverse=True
    )[:6]
    in_memory = sum(v.nbytes for v in loaded.idata.posterior.data_vars.values()) / 1e6
    result = {
        "panel": "demo (150 x 14 yearly)",
        "chains": args.chains,
        "draws": args.draws,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "largest_stored_mb": [(name, round(mb, 1)) for mb, name in largest],
        "loaded_posterior_mb_in_memory": round(in_memory, 1),
        "load_seconds": round(load_seconds, 1),
    }
    print(json.dumps(result, indent=1))
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
