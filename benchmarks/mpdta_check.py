"""Compare normal-rw on R did's mpdta panel with did's published event study.

Usage: python benchmarks/mpdta_check.py [--model normal-cohort] [--comparison never-treated]

did (never-treated comparison, outcome regression) reports e = 0..3:
-0.0199 (0.0123), -0.0510 (0.0167), -0.1373 (0.0413), -0.1008 (0.0351).
Our pooled estimand for the Gaussian model is the equally weighted mean effect over treated
counties observed at e, which is what did's dynamic aggregation reports as well.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import staggered as stg

DID = {0: (-0.0199, 0.0123), 1: (-0.0510, 0.0167), 2: (-0.1373, 0.0413), 3: (-0.1008, 0.0351)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="normal-cohort")
    ap.add_argument("--comparison", default="never-treated")
    ap.add_argument("--placebo", type=int, default=0)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    args = ap.parse_args()
    df = stg.datasets.mpdta()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stg.SamplingWarning)
        fit = stg.fit(
            df,
            unit="countyreal",
            time="year",
            outcome="lemp",
            adoption="first.treat",
            model=args.model,
            comparison=args.comparison,
            placebo=args.placebo,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            random_seed=1,
            progressbar=False,
        )
    seconds = time.perf_counter() - start
    eff = fit.effects(scopes=("pooled",))
    pooled = eff[eff.measure == "absolute"].set_index("event_time")
    rows = []
    for e, row in pooled.iterrows():
        did = DID.get(int(e), (float("nan"), float("nan")))
        rows.append(
            {
                "event_time": e,
                "staggered_mean": row["mean"],
                "staggered_sd": row["sd"],
                "lower": row["lower"],
                "upper": row["upper"],
                "did_att": did[0],
                "did_se": did[1],
                "diff_in_se": (row["mean"] - did[0]) / did[1],
                "sd_ratio": row["sd"] / did[1],
            }
        )
    print(pd.DataFrame(rows).round(4).to_string(index=False))
    d = fit.diagnostics
    print(
        f"placebo={args.placebo}: {seconds:.0f} s, max R-hat {d['max_rhat']:.3f}, "
        f"min ESS {d['min_ess_bulk']:.0f}, divergences {d['divergences']}"
    )


if __name__ == "__main__":
    main()
