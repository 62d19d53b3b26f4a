"""Size of ``posterior.nc`` for the bundled demo at full length, and the time to load it.

Usage:
    python benchmarks/file_size.py [--chains 4] [--draws 1000] [--out benchmarks/out/file_size.json]

ArviZ compresses the netCDF file (zlib), so the size depends on the values as well as the
shapes; MCMC draws hardly compress, and neither do the random draws used here. The script fits
the demo (estimation and pre-trend check) with very short chains, refills the posterior with
``--draws`` random draws per chain of the same shapes, saves the fit with
:meth:`staggered.Fit.save` and reports the file size, the largest stored variables and the
seconds ``staggered.load`` takes (it recomputes the cell-level quantities from the parameters).
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


def _full_length(idata: az.InferenceData, draws: int, seed: int) -> az.InferenceData:
    """The posterior at ``draws`` per chain, each variable refilled with random draws.

    ArviZ writes netCDF with zlib compression, so the file size depends on the values too:
    repeated draws would compress to nothing. Independent normal draws around each variable's
    mean, with its spread, compress about as little as real MCMC draws (checked against a real
    4 x 1000 demo fit: see docs/performance.md).
    """
    rng = np.random.default_rng(seed)
    post = idata.posterior
    out = {}
    for name, var in post.data_vars.items():
        shape = (post.sizes["chain"], draws, *var.shape[2:])
        mean = var.mean(("chain", "draw")).values
        sd = var.std(("chain", "draw")).values
        # elements the 5-draw source fit left almost constant (standard-normal steps of event
        # times a site never reaches, sd about 1 in a real fit) get the variable's median sd
        sd = np.maximum(sd, np.median(sd)) if sd.ndim else sd + 1e-3
        values = mean + sd * rng.standard_normal(shape)
        if name.startswith(("sigma", "dispersion")):
            values = np.abs(values)
        out[name] = xr.DataArray(values, dims=var.dims, coords={**var.coords, "draw": range(draws)})
    return az.InferenceData(posterior=xr.Dataset(out), sample_stats=idata.sample_stats)


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
        fit.idata = _full_length(fit.idata, args.draws, seed=1)
        fit.pretrend.idata = _full_length(fit.pretrend.idata, args.draws, seed=2)
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
