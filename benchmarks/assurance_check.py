"""Assurance checked: simulated vs normal-approximation power, and the null false-finding rate.

Usage: python benchmarks/assurance_check.py [--analytic-sims 200] [--null-sims 100]
       [--default-fits 0] [--out benchmarks/out/assurance_check.json]

1. **Analytic case** (:data:`staggered.assurance_check.ANALYTIC_CHECK`): panels with large
   counts and no area trends, fitted with the unpooled cohort model
   (:data:`~staggered.assurance_check.ANALYTIC_SPEC`); the share of fits declaring a reduction
   against the normal-approximation power of the same panels
   (:func:`~staggered.assurance_check.analytic_assurance`), with Monte Carlo errors, and what
   an sd 1.5 times too large or too small would have predicted.
2. **Null** (:data:`~staggered.assurance_check.NULL_CHECK`): the default count model on a
   realistic simulated design without an effect; the share of fits declaring a reduction.
3. **Timing**: each run's first call (compilation + one fit) is timed apart from the run, so
   the per-fit time is sampling only; ``--default-fits N`` also times N fits of the default
   plan (40 + 40 areas, 5 + 7 years). A 200-panel run (effect and null fits) is
   extrapolated from the measured per-fit times, labelled as such.

All fits are serial (one process); times are wall-clock on whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import pandas as pd

from staggered.assurance import assurance
from staggered.assurance_check import (
    ANALYTIC_CHECK,
    NULL_CHECK,
    run_analytic_check,
    run_null_check,
)
from staggered.assurance_plan import Baseline, Rollout


def _timed(fn, **kwargs):
    start = time.perf_counter()
    out = fn(**kwargs)
    return out, time.perf_counter() - start


def _timing(first: float, seconds: float, fits: int) -> dict:
    return {
        "first_call_seconds": round(first, 1),
        "seconds": round(seconds, 1),
        "fits": fits,
        "per_fit_seconds": round(seconds / fits, 2),
    }


def _extrapolate(timing: dict, panels: int = 200, follow_ups: int = 1) -> dict:
    fits = 2 * panels * follow_ups  # with the effect and without
    hours = (timing["first_call_seconds"] * follow_ups + fits * timing["per_fit_seconds"]) / 3600
    return {
        "extrapolated": True,
        "panels": panels,
        "fits": fits,
        "hours_one_process": round(hours, 2),
        "hours_two_processes": round(hours / 2, 2),
        "basis": "measured per-fit time x fits + one first call per follow-up"
        + (
            " (the longest follow-up's times for every follow-up: an upper bound)"
            if follow_ups > 1
            else ""
        ),
    }


def _plan_dict(plan: Rollout) -> dict:
    return dataclasses.asdict(plan)


def _write(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=float) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--analytic-sims", type=int, default=ANALYTIC_CHECK["simulations"])
    ap.add_argument("--null-sims", type=int, default=NULL_CHECK["simulations"])
    ap.add_argument("--default-fits", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/assurance_check.json"))
    args = ap.parse_args()
    pd.set_option("display.width", 140)
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    if hasattr(os, "getloadavg"):
        report["machine"]["load_before"] = [round(x, 2) for x in os.getloadavg()]
    total = time.perf_counter()

    # 1. analytic case ----------------------------------------------------------------------
    a = {**ANALYTIC_CHECK, "simulations": args.analytic_sims}
    _, first = _timed(run_analytic_check, **{**a, "simulations": 1})
    (result, table), seconds = _timed(run_analytic_check, **a)
    timing = _timing(first, seconds, len(result.fits.drop_duplicates("simulation")))
    print(f"\nAnalytic case: {result.settings['effect_text']}, {a['simulations']} panels")
    print(table.round(4).to_string(index=False))
    print(timing)
    report["analytic"] = {
        "plan": _plan_dict(a["plan"]),
        "effect": dataclasses.asdict(a["effect"]),
        "baseline": dataclasses.asdict(a["baseline"]),
        "model": "negbin-cohort (staggered.assurance_check.ANALYTIC_SPEC)",
        "simulations": a["simulations"],
        "draws": a["draws"],
        "tune": a["draws"],
        "divergent_fits": int((result.fits.drop_duplicates("simulation")["divergences"] > 0).sum()),
        "table": table.to_dict(orient="records"),
        "timing": timing,
    }
    _write(args.out, report)

    # 2. null false-finding rate ------------------------------------------------------------
    n = {**NULL_CHECK, "simulations": args.null_sims}
    _, first = _timed(run_null_check, **{**n, "simulations": 1})
    (result, table), seconds = _timed(run_null_check, **n)
    timing = _timing(first, seconds, n["simulations"])
    print(f"\nNull: model {n['model']}, {n['simulations']} panels, no effect")
    print(table.round(4).to_string(index=False))
    print(timing)
    report["null"] = {
        "plan": _plan_dict(n["plan"]),
        "baseline": dataclasses.asdict(n["baseline"]),
        "model": n["model"],
        "simulations": n["simulations"],
        "draws": n["draws"],
        "tune": n["draws"],
        "table": table.to_dict(orient="records"),
        "timing": timing,
        "extrapolation_200_panels": _extrapolate(timing),
    }
    _write(args.out, report)

    # 3. per-fit time of the default plan (optional) ----------------------------------------
    if args.default_fits:
        kw = dict(follow_up=7, effect="ramp", null=False, backend="serial", progressbar=False)
        _, first = _timed(assurance, simulations=1, **kw)
        _, seconds = _timed(assurance, simulations=args.default_fits, **kw)
        timing = _timing(first, seconds, args.default_fits)
        print(f"\nDefault plan ({Rollout()}), follow-up 7: {timing}")
        report["default_plan"] = {
            "plan": _plan_dict(Rollout()),
            "baseline": dataclasses.asdict(Baseline()),
            "model": "negbin-rw",
            "draws": 500,
            "tune": 500,
            "timing": timing,
            "extrapolation_200_panels_3_follow_ups": _extrapolate(timing, follow_ups=3),
        }

    report["total_seconds"] = round(time.perf_counter() - total, 1)
    if hasattr(os, "getloadavg"):
        report["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nTotal {report['total_seconds']:.0f} s")
    for key in ("null", "default_plan"):
        if key in report:
            ex = report[key].get("extrapolation_200_panels") or report[key].get(
                "extrapolation_200_panels_3_follow_ups"
            )
            print(
                f"EXTRAPOLATED 200-panel run ({key} design, {ex['fits']} fits): "
                f"{ex['hours_one_process']} h in one process, "
                f"{ex['hours_two_processes']} h on two"
            )
    _write(args.out, report)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
