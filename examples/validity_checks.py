"""Walk through the validity checks on the bundled example (docs/walkthrough.md).

python examples/validity_checks.py [--draws 500 --tune 500 --chains 2 --out checks_demo/]

1. Fit the default model with placebo pre-periods: pre-trend check, event-study plot,
   breakdown sensitivity.
2. Refit without the default's regression-to-the-mean guard (negbin-rw-iid), with a latent
   factor, and with never-treated comparison units only (estimation fits: their pre-trend
   checks are skipped).
3. Compare the fits: PSIS-LOO on the untreated cells, pooled effects side by side.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

import staggered as stg  # noqa: E402
from staggered.datasets import demo_panel  # noqa: E402
from staggered.model_comparison import plot_pooled_by_model  # noqa: E402
from staggered.plots import event_study  # noqa: E402

# the pre-trend check is a separate fit on untreated cells; only the default's is read below
VARIANTS = {
    "default": {},
    "iid": {"model": "negbin-rw-iid", "placebo": 0},
    "factor": {"model": "negbin-rw-factor", "placebo": 0},
    "never-treated": {"comparison": "never-treated", "placebo": 0},
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("checks_demo"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    sim = demo_panel()
    fits, seconds = {}, {}
    for name, options in VARIANTS.items():
        start = time.perf_counter()
        fits[name] = stg.fit(
            sim.panel,
            **sim.columns,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            random_seed=args.seed,
            progressbar=False,
            **options,
        )
        seconds[name] = time.perf_counter() - start
        print(f"{name}: fitted in {seconds[name]:.0f} s")

    default = fits["default"]
    print("\n1. Pre-trend check (placebo event times -3..-1):")
    print(default.pretrends())
    print("\n2. Breakdown sensitivity (how large a parallel-trends violation, relative to the")
    print("   largest pre-period deviation, would make each interval include zero):")
    print(default.sensitivity().round(4).to_string(index=False))
    fig = event_study(default)
    fig.savefig(args.out / "event_study.png", dpi=120, bbox_inches="tight")

    table, pooled = stg.compare_models(fits)
    print("\n3. PSIS-LOO on the cells untreated in every fit:")
    print(table.round(2).to_string())
    truth = sim.truth.query("scope == 'pooled'")[["event_time", "value"]]
    side = pooled.pivot(index="event_time", columns="model", values="mean").join(
        truth.set_index("event_time").rename(columns={"value": "truth"})
    )
    print("\n4. Pooled relative effect by model (posterior means) and the truth:")
    print(side.round(4).to_string())
    post = side[side.index >= 0]
    rmse = ((post.drop(columns="truth").sub(post.truth, axis=0)) ** 2).mean() ** 0.5
    print("\nRMSE against the truth at e >= 0:", rmse.round(4).to_dict())
    widths = (pooled.upper - pooled.lower)[pooled.event_time >= 0].groupby(pooled.model).mean()
    print("Mean width of the pooled 90% intervals at e >= 0:", widths.round(4).to_dict())
    print("Seconds per fit:", {k: round(v) for k, v in seconds.items()})
    for name, fit in fits.items():
        d = fit.diagnostics
        line = f"{name}: max R-hat {d['max_rhat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}"
        for var in ("ar_rho", "sigma_factor"):
            if var in fit.idata.posterior:
                draws = fit.idata.posterior[var].values.ravel()
                lo, hi = np.quantile(draws, [0.05, 0.95])
                line += f", {var} {draws.mean():.3f} ({lo:.3f} to {hi:.3f})"
        print(line)
    fig = plot_pooled_by_model(pooled)
    fig.savefig(args.out / "models.png", dpi=120, bbox_inches="tight")
    table.to_csv(args.out / "loo.csv")
    side.to_csv(args.out / "pooled_by_model.csv")
    print(f"\nWrote {args.out}/event_study.png, models.png, loo.csv, pooled_by_model.csv")


if __name__ == "__main__":
    main()
