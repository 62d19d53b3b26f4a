"""Fit the bundled example from a script and compare the pooled effect with the truth.

python examples/fit_from_script.py [--draws 1000 --tune 1000 --chains 4 --out demo_script/]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import staggered as stg
from staggered.datasets import demo_panel


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("demo_script"))
    args = ap.parse_args(argv)

    sim = demo_panel()  # a simulated panel whose true effects are known
    fit = stg.fit(
        sim.panel,
        unit="area",
        time="period",
        outcome="admissions",
        exposure="population",
        adoption="start",
        group="programme",
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
    )
    print(fit.summary())

    effects = fit.effects()
    pooled = effects.query("scope == 'pooled' and measure == 'relative'")
    truth = sim.truth.query("scope == 'pooled'")[["event_time", "value"]]
    table = pooled.merge(truth, on="event_time")[
        ["event_time", "mean", "lower", "upper", "prob_negative", "value"]
    ].rename(columns={"value": "truth"})
    print("\nPooled relative effect (rate ratio - 1) by years since adoption:")
    print(table.round(4).to_string(index=False))

    averted = effects.query("scope == 'group' and measure == 'cumulative'")
    last = averted.sort_values("event_time").groupby("id").tail(1)
    print("\nCumulative admissions averted by programme (negative = fewer admissions):")
    print(last[["id", "event_time", "mean", "lower", "upper"]].round(0).to_string(index=False))

    args.out.mkdir(parents=True, exist_ok=True)
    effects.to_csv(args.out / "effects.csv", index=False)
    fit.save(args.out / "posterior.nc")
    print(f"\nWrote {args.out}/effects.csv and posterior.nc")


if __name__ == "__main__":
    main()
