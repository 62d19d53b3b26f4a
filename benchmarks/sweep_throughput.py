"""SBC replicates per minute on each sweep backend (serial, process pool, Dask LocalCluster).

Usage: python benchmarks/sweep_throughput.py [--replicates 24] [--units 20] [--periods 8]
       [--draws 200] [--tune 200] [--workers 2] [--backends serial,processes,dask]
       [--out benchmarks/out/sweep_throughput.json]

Each backend runs the same SBC (same seed, so the same replicates) from a fresh checkpoint.
``overall`` is replicates per minute of the whole call (start-up, one compile per worker,
prior draws and summaries included); ``steady`` is the rate between the ``workers``-th and
the last finished replicate (checkpoint timestamps), i.e. once every worker has compiled.
Also checks that every backend gave the serial ranks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from staggered.sbc import run_sbc


def _finish_times(path: Path) -> list[float]:
    lines = path.read_text().splitlines()[1:]
    return sorted(json.loads(line)["finished"] for line in lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="negbin-rw")
    ap.add_argument("--replicates", type=int, default=24)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--groups", type=int, default=3)
    ap.add_argument("--periods", type=int, default=8)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--tune", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backends", default="serial,processes,dask")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/sweep_throughput.json"))
    args = ap.parse_args()

    settings = {
        "replicates": args.replicates,
        "n_units": args.units,
        "n_groups": args.groups,
        "n_periods": args.periods,
        "draws": args.draws,
        "tune": args.tune,
        "n_thin": min(99, args.draws),
        "random_seed": args.seed,
        "batch": False,
        "progressbar": False,
    }
    rows, ranks = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            workers = 1 if backend == "serial" else args.workers
            checkpoint = Path(tmp) / f"{backend}.jsonl"
            load = os.getloadavg()[0]
            start = time.time()
            result = run_sbc(
                args.model, backend=backend, workers=workers, checkpoint=checkpoint, **settings
            )
            seconds = time.time() - start
            finished = _finish_times(checkpoint)
            steady = (len(finished) - workers) / (finished[-1] - finished[workers - 1]) * 60
            ranks[backend] = result.ranks
            rows.append(
                {
                    "backend": backend,
                    "workers": workers,
                    "replicates": args.replicates,
                    "seconds": round(seconds, 1),
                    "overall_per_min": round(args.replicates / seconds * 60, 1),
                    "steady_per_min": round(steady, 1),
                    "first_result_s": round(finished[0] - start, 1),
                    "load_before": round(load, 2),
                }
            )
            print(rows[-1], flush=True)
    same = {b: bool(r.equals(ranks[args.backends.split(",")[0]])) for b, r in ranks.items()}
    print(
        f"\n{args.model}: {args.replicates} replicates of a {args.units} x {args.periods} panel, "
        f"{args.draws} draws after {args.tune} warm-up, {os.cpu_count()} cores"
    )
    print(
        f"{'backend':10s} {'workers':>7s} {'seconds':>8s} {'overall/min':>12s} "
        f"{'steady/min':>11s} {'first (s)':>10s} {'same ranks':>11s}"
    )
    for r in rows:
        print(
            f"{r['backend']:10s} {r['workers']:7d} {r['seconds']:8.1f} "
            f"{r['overall_per_min']:12.1f} {r['steady_per_min']:11.1f} "
            f"{r['first_result_s']:10.1f} {str(same[r['backend']]):>11s}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": args.model,
        "settings": {k: v for k, v in settings.items() if k != "progressbar"},
        "cores": os.cpu_count(),
        "machine": platform.platform(),
        "rows": rows,
        "same_ranks_as_first": same,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {args.out}")


if __name__ == "__main__":
    main()
