"""Assurance of a planned evaluation (issue 15's question), from a script.

    python examples/assurance.py                         # 40 sites, -3% reached after 4 years
    python examples/assurance.py --sites 20,40,60 --simulations 200 --workers 8
    python examples/assurance.py --scheduler tcp://HOST:8786 --checkpoint fits.jsonl

With 40 sites adopting over two years (half each year), 40 comparison areas and 5 years of
history, how likely is an evaluation to declare a reduction after 3, 5 and 7 years of
follow-up if the programme's effect is -3% reached after four years? And how many more sites
would it take? Writes assurance.csv, fits.csv, assurance.png and assurance.md to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from staggered.assurance import assurance


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=_ints, default=[40])
    ap.add_argument("--comparison-areas", type=int, default=40)
    ap.add_argument("--history", type=int, default=5)
    ap.add_argument("--follow-up", type=_ints, default=[3, 5, 7])
    ap.add_argument("--size", type=float, default=-0.03)
    ap.add_argument("--ramp", type=float, default=4.0, help="years to full size")
    ap.add_argument("--simulations", type=int, default=50)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--backend", choices=["serial", "processes", "dask"], default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of a Dask scheduler")
    ap.add_argument("--checkpoint", type=Path, default=None, help="JSONL to resume from")
    ap.add_argument("--out", type=Path, default=Path("assurance_demo"))
    args = ap.parse_args(argv)

    result = assurance(
        sites=args.sites,
        comparison_areas=args.comparison_areas,
        rollout=(0.5, 0.5),  # half the sites adopt in each of two years
        history=args.history,
        follow_up=args.follow_up,
        effect="ramp",
        size=args.size,
        ramp=args.ramp,
        simulations=args.simulations,
        draws=args.draws,
        tune=args.tune,
        random_seed=args.seed,
        backend=args.backend,
        workers=args.workers,
        scheduler=args.scheduler,
        checkpoint=args.checkpoint,
    )
    print(result.text())
    result.save(args.out)
    print(f"\nWrote {args.out}/assurance.csv, fits.csv, assurance.png, assurance.md")


if __name__ == "__main__":
    main()
