"""Coverage study on panels that are not the model (issue 11, part 3).

Usage:
    python benchmarks/coverage_study.py                       # the whole grid (45 panels)
    python benchmarks/coverage_study.py --subset quick        # a handful of panels
    python benchmarks/coverage_study.py --panels y01-delayed,m03-gp-null
        [--draws N --tune N --chains N --model SPEC]          # default: staggered.fit's
        [--backend serial|processes|dask --workers N --scheduler ADDR]
        [--checkpoint benchmarks/out/coverage.jsonl] [--out benchmarks/out/coverage.json]
        [--cs-control not-yet-treated|never-treated] [--max-units N]   # N: smoke runs only
    python benchmarks/coverage_study.py --combine RUN.jsonl [RUN.json ...]  # no fitting

Each panel comes from ``benchmarks/coverage_dgp.py`` (an independent generator, not
``staggered.simulate``) and is fitted through ``staggered.fit`` with the package defaults.
Per panel: the share of pooled event-time truths (e >= 0) inside the 90% interval of the
``pooled`` ``relative`` rows, the same for every (unit, event time), the pooled RMSE of the
posterior mean, max R-hat / min ESS / divergences, P(reduction) = prob_negative and
P(rise) = 1 - prob_negative per pooled event time (null panels are flagged when either
exceeds 0.95 anywhere), and Callaway & Sant'Anna's pooled RMSE on the same panel: outcome
regression on log((admissions + 0.5) / population) with the ``differences`` package
(``pip install -e ".[bench]"``), group-time ATTs aggregated to event time, converted from log
points to the relative scale with exp(x) - 1. Both RMSEs are taken over the event times that
both report.

``--combine`` fits nothing: it reads the results of earlier runs (checkpoints or ``--out``
files), keeps the last result per panel (files in the order given, later lines last), and
prints the same table and summary over them, so that runs of a few panels each, made one after
another, can be judged as one study. Only runs of the same settings should be combined; each
file's settings are printed.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import coverage_dgp as dgp  # noqa: E402
from coverage_report import FLAG, LEVEL, read_results, report, summary  # noqa: E402

import staggered as stg  # noqa: E402

_FIT_DEFAULTS = {
    k: v.default
    for k, v in inspect.signature(stg.fit).parameters.items()
    if k in ("draws", "tune", "chains", "model")
}


# ---- Callaway & Sant'Anna -------------------------------------------------------------------
def cs_relative(panel: pd.DataFrame, columns: dict, control: str = "not-yet-treated"):
    """Callaway & Sant'Anna event-time effects on the relative scale, or None without it.

    Outcome regression on the log rate ``log((y + 0.5) / exposure)`` (the 0.5 keeps zero counts
    finite), comparison ``control``, group-time ATTs aggregated to event time (cohort-size
    weights) by the ``differences`` package, then ``exp(att) - 1``. Unbalanced panels are
    treated as repeated cross-sections (the package's default).

    Returns
    -------
    pandas.Series or None
        Relative effect by event time (all event times ``differences`` reports).
    """
    try:
        from differences import ATTgt
    except ImportError:
        return None
    p = stg.encode_panel(panel, **columns)
    adopt = p.adoption_idx[p.unit_idx]
    df = pd.DataFrame(
        {
            "unit": p.unit_idx,
            "t": p.period_idx,
            "lrate": np.log((p.y + 0.5) / p.exposure),
            "cohort": np.where(adopt >= 0, adopt, np.nan),
        }
    ).set_index(["unit", "t"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        att = ATTgt(data=df, cohort_column="cohort")
        att.fit(
            formula="lrate",
            est_method="reg",
            control_group=control.replace("-", "_"),
            progress_bar=False,
        )
        ev = att.aggregate("event")
    est = ev.iloc[:, 0].astype(float)
    est.index = est.index.astype(int)
    return np.expm1(est)


# ---- one panel ------------------------------------------------------------------------------
def _coverage(d: pd.DataFrame) -> tuple[float, int]:
    inside = (d["lower"] <= d["value"]) & (d["value"] <= d["upper"])
    return (float(inside.mean()) if len(d) else float("nan")), int(len(d))


#: Scalar parameters whose posterior each result records (where the fit has them).
SCALARS = (
    "ar_rho",
    "selection_shock",
    "sigma_beta",
    "trend_common",
    "dispersion_cv",
    "sigma_theta",
    "sigma_season",
    "sigma_unit",
    "sigma_unit_start",
)


def scalar_summaries(posterior) -> dict:
    """Posterior mean and sd of each of :data:`SCALARS` the fit has.

    Only scalars: a ``selection_shock`` with one shift per adoption wave is left out.
    """
    return {
        name: [float(posterior[name].mean()), float(posterior[name].std())]
        for name in SCALARS
        if name in posterior and posterior[name].ndim == 2
    }


def unit_coverage_by_event_time(units: pd.DataFrame) -> list[list]:
    """Per event time: ``[e, truths covered, truths, mean interval width]`` of the unit rows.

    Shows where unit coverage departs from 90%: for example event times at which every unit's
    truth is the same (before a delayed effect starts), which a model of additive unit
    deviations covers more often than 90%.
    """
    inside = (units["lower"] <= units["value"]) & (units["value"] <= units["upper"])
    table = pd.DataFrame(
        {"e": units["event_time"], "inside": inside, "width": units["upper"] - units["lower"]}
    ).groupby("e")
    return [
        [int(e), int(g["inside"].sum()), int(len(g)), round(float(g["width"].mean()), 5)]
        for e, g in table
    ]


def _rmse(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.sqrt(np.mean((a - b) ** 2))) if a.size else float("nan")


def fit_panel(gp, *, model, draws: int, tune: int, chains: int, seed: int, placebo: int = 0):
    """Fit one generated panel as the study does (sampler warnings are scored, not shown)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stg.SamplingWarning)
        return stg.fit(
            gp.panel,
            **gp.columns,
            model=model,
            draws=draws,
            tune=tune,
            chains=chains,
            placebo=placebo,
            random_seed=seed,
            level=LEVEL,
            progressbar=False,
        )


def pooled_rows(truth: pd.DataFrame, rel: pd.DataFrame) -> pd.DataFrame:
    """The panel's pooled truths (``value``) beside the fit's relative estimates (NaN if none)."""
    return truth[truth["scope"] == "pooled"].merge(
        rel[rel["scope"] == "pooled"].drop(columns=["id", "scope", "measure"]),
        on="event_time",
        how="left",
    )


def run_item(item: dict) -> dict:
    """Generate, fit and score one panel (the sweep task; JSON-serialisable result)."""
    cfg = dgp.get(item["panel"])
    if item.get("max_units"):
        cfg = dgp.small(cfg, n_units=min(item["max_units"], cfg.n_units))
    gp = dgp.generate(cfg)
    out = {
        "panel": cfg.name,
        "freq": cfg.freq,
        "units": cfg.n_units,
        "cells": len(gp.panel),
        "treated_units": int((gp.latent["adoption"] >= 0).sum()),
        "counts_median": float(gp.panel["admissions"].median()),
        "noise": cfg.noise_label(),
        "shape": cfg.shape,
        "null": cfg.is_null,
        "heterogeneous_or_delayed": cfg.heterogeneous_or_delayed,
        "error": None,
    }
    try:
        start = time.perf_counter()
        fit = fit_panel(
            gp,
            model=item["model"],
            draws=item["draws"],
            tune=item["tune"],
            chains=item["chains"],
            seed=item["seed"],
            placebo=item.get("placebo", 0),
        )
        out["seconds"] = round(time.perf_counter() - start, 1)
        eff = fit.effects(scopes=("pooled", "unit"))
    except Exception as err:  # one failed panel must not stop the sweep
        out["error"] = f"{type(err).__name__}: {err}"
        return out
    rel = eff[(eff["measure"] == "relative") & (eff["event_time"] >= 0)]
    truth = gp.truth
    pooled = pooled_rows(truth, rel)
    units = truth[truth["scope"] == "unit"].merge(
        rel[rel["scope"] == "unit"].drop(columns=["scope", "measure"]),
        on=["id", "event_time"],
        how="left",
    )
    out["pooled_missing"] = int(pooled["mean"].isna().sum())
    out["unit_missing"] = int(units["mean"].isna().sum())
    pooled, units = pooled.dropna(subset=["mean"]), units.dropna(subset=["mean"])
    out["pooled_cov"], out["pooled_n"] = _coverage(pooled)
    out["unit_cov"], out["unit_n"] = _coverage(units)
    out["unit_by_event_time"] = unit_coverage_by_event_time(units)
    out["pooled_rmse_all"] = _rmse(pooled["mean"], pooled["value"])
    p_red = pooled["prob_negative"].to_numpy()
    out["max_p_reduction"] = float(p_red.max())
    out["max_p_rise"] = float((1.0 - p_red).max())
    out["false_finding"] = (
        bool(max(out["max_p_reduction"], out["max_p_rise"]) > FLAG) if cfg.is_null else None
    )
    diag = fit.diagnostics
    out.update(
        max_rhat=diag["max_rhat"],
        worst_rhat_var=diag.get("worst_rhat_var"),
        worst_ess_bulk_var=diag.get("worst_ess_bulk_var"),
        min_ess_bulk=diag["min_ess_bulk"],
        min_ess_tail=diag["min_ess_tail"],
        divergences=diag["divergences"],
        draws_run=diag.get("draws_run", diag["draws"]),
        pooled_walk=diag.get("pooled_walk"),
        walk_divergences=diag.get("walk_divergences"),
        walk_draws_run=diag.get("walk_draws_run"),
        walk_refit=diag.get("walk_refit"),
        walk_max_rhat=diag.get("walk_max_rhat"),
        walk_min_ess_bulk=diag.get("walk_min_ess_bulk"),
        sampling_seconds=diag.get("seconds"),
        scalars=scalar_summaries(fit.idata.posterior),
    )

    start = time.perf_counter()
    try:
        cs = cs_relative(gp.panel, gp.columns, item["cs_control"])
    except Exception as err:
        cs, out["cs_error"] = None, f"{type(err).__name__}: {err}"
    out["cs_seconds"] = round(time.perf_counter() - start, 1)
    pooled = pooled.assign(cs=pooled["event_time"].map(cs) if cs is not None else np.nan)
    both = pooled.dropna(subset=["cs"])
    out["rmse_event_times"] = int(len(both))
    out["pooled_rmse"] = _rmse(both["mean"], both["value"]) if len(both) else out["pooled_rmse_all"]
    out["cs_rmse"] = _rmse(both["cs"], both["value"])
    out["ratio"] = out["pooled_rmse"] / out["cs_rmse"] if out["cs_rmse"] > 0 else float("nan")
    out["pooled"] = [
        {
            "event_time": int(r.event_time),
            "truth": float(r.value),
            "mean": float(r.mean),
            "lower": float(r.lower),
            "upper": float(r.upper),
            "prob_negative": float(r.prob_negative),
            "cs": None if pd.isna(r.cs) else float(r.cs),
        }
        for r in pooled.itertuples()
    ]
    return out


# ---- the sweep ------------------------------------------------------------------------------
def _items(args) -> list[dict]:
    if args.panels:
        names = [n.strip() for n in args.panels.split(",") if n.strip()]
    elif args.subset == "quick":
        names = list(dgp.QUICK)
    else:
        names = [c.name for c in dgp.GRID]
    for n in names:
        dgp.get(n)  # fail early on a typo
    common = {k: v for k, v in _settings(args).items() if k != "level"}
    return [{"key": n, "panel": n, "seed": dgp.get(n).seed, **common} for n in names]


def _settings(args) -> dict:
    return {
        "model": args.model,
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "cs_control": args.cs_control,
        "max_units": args.max_units,
        "placebo": args.placebo,
        "level": LEVEL,
    }


def _run(items: list[dict], args) -> list[dict]:
    """Run :func:`run_item` over the items: ``staggered.sweeps`` if present, else a loop."""
    try:
        from staggered.sweeps import run_sweep
    except ImportError:
        run_sweep = None
    if run_sweep is not None:
        # worker processes import this module by name: put benchmarks/ on their path
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p
        )
        import coverage_study  # the task by module name, not __main__

        kwargs = {
            "backend": args.backend,
            "workers": args.workers,
            "scheduler": args.scheduler,
            "checkpoint": args.checkpoint,
        }
        params = inspect.signature(run_sweep).parameters
        if "settings" in params:
            kwargs["settings"] = _settings(args)
        if "desc" in params:
            kwargs["desc"] = "coverage"
        return run_sweep(coverage_study.run_item, items, **kwargs)
    if args.backend != "serial":
        print(f"staggered.sweeps not available: running serially, not {args.backend!r}")
    return [run_item(item) for item in items]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--panels", help="comma-separated panel names (see coverage_dgp.GRID)")
    ap.add_argument("--subset", choices=["quick", "all"], default="all")
    ap.add_argument("--model", default=_FIT_DEFAULTS["model"])
    ap.add_argument("--draws", type=int, default=_FIT_DEFAULTS["draws"])
    ap.add_argument("--tune", type=int, default=_FIT_DEFAULTS["tune"])
    ap.add_argument("--chains", type=int, default=_FIT_DEFAULTS["chains"])
    ap.add_argument("--backend", choices=["serial", "processes", "dask"], default="serial")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--scheduler", default=None, help="Dask scheduler address (--backend dask)")
    ap.add_argument("--checkpoint", type=Path, default=None, help="JSONL checkpoint (resume)")
    ap.add_argument(
        "--cs-control", choices=["not-yet-treated", "never-treated"], default="not-yet-treated"
    )
    ap.add_argument(
        "--max-units",
        type=int,
        default=None,
        help="shrink every panel to at most N units (smoke runs only)",
    )
    ap.add_argument(
        "--placebo",
        type=int,
        default=0,
        help="pre-trend check periods (0, the default here: the study scores the estimates, "
        "and the check is a separate fit that does not change them)",
    )
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/coverage.json"))
    ap.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="RUN",
        help="fit nothing: summarise these earlier runs (checkpoints or --out files)",
    )
    args = ap.parse_args(argv)
    if args.combine:
        results, settings = read_results(args.combine)
        for line in settings:
            print(json.dumps(line))
        report(results, summary(results))
        return

    items = _items(args)
    start = time.perf_counter()
    results = _run(items, args)
    s = summary(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "settings": {**_settings(args), "panels": [i["panel"] for i in items]},
        "seconds": round(time.perf_counter() - start, 1),
        "summary": s,
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=1, allow_nan=True))
    report(results, s)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
