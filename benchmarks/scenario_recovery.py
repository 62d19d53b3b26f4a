"""Recovery on every simulation scenario: pooled RMSE, unit coverage, max prob_negative.

Usage: python benchmarks/scenario_recovery.py [--units 100] [--draws 500] [--tune 500]
       [--chains 2] [--model negbin-rw] [--placebo 3] [--scenarios delayed null-rtm ...]
       [--start-year 2010] [--periods 14] [--out benchmarks/out/recovery.csv]

For each non-prior scenario: simulate a panel (seeded), fit the default spec, and compare the
pooled relative effect with the truth (RMSE over event times, share of event times whose 90%
interval covers the truth), the unit-level 90% interval coverage, and the largest posterior
probability of a reduction among pooled event times (for `null-rtm` this should stay below
0.95; it is the regression-to-the-mean trap).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import staggered as stg
from staggered.simulate import SCENARIOS


def recovery_row(scenario: str, args) -> dict:
    sim = stg.simulate(
        scenario,
        n_units=args.units,
        n_groups=args.groups,
        unit_trend_sd=args.trend_sd,
        random_seed=args.seed,
        start_year=args.start_year,
        n_periods=args.periods,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stg.SamplingWarning)
        fit = stg.fit(
            sim.panel,
            **sim.columns,
            model=args.model,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            random_seed=args.seed,
            placebo=args.placebo,
            progressbar=False,
        )
    seconds = time.perf_counter() - start
    eff = fit.effects(scopes=("pooled", "unit"))
    rel = eff[eff.measure == "relative"]
    truth = sim.truth
    pooled = rel[rel.scope == "pooled"].merge(truth[truth.scope == "pooled"], on="event_time")
    units = rel[rel.scope == "unit"].merge(truth[truth.scope == "unit"], on=["id", "event_time"])
    cover = lambda d: ((d.lower <= d.value) & (d.value <= d.upper)).mean()  # noqa: E731
    return {
        "scenario": scenario,
        "model": args.model,
        "placebo": args.placebo,
        "pooled_rmse": float(np.sqrt(((pooled["mean"] - pooled["value"]) ** 2).mean())),
        "pooled_coverage_90": float(cover(pooled)),
        "unit_coverage_90": float(cover(units)),
        "max_prob_negative": float(pooled["prob_negative"].max()),
        "max_prob_either": float(
            np.maximum(pooled.prob_negative, 1 - pooled.prob_negative)[pooled.event_time >= 0].max()
        ),
        "max_rhat": fit.diagnostics["max_rhat"],
        "divergences": fit.diagnostics["divergences"],
        "seconds": round(seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--groups", type=int, default=15)
    ap.add_argument("--trend-sd", type=float, default=0.003)
    ap.add_argument("--model", default="negbin-rw")
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--placebo", type=int, default=3)
    ap.add_argument("--start-year", type=int, default=2010)
    ap.add_argument("--periods", type=int, default=None)
    ap.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/recovery.csv"))
    args = ap.parse_args()
    rows = [recovery_row(s, args) for s in args.scenarios]
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, float_format="%.4g")
    print(table.to_markdown(index=False, floatfmt=".4g") if _has_tabulate() else table)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
