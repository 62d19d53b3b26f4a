"""The coverage study's report: one row per panel, the summary against the targets, and
earlier runs read back for ``coverage_study.py --combine``."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import NormalDist

import coverage_dgp as dgp
import numpy as np
import pandas as pd

from staggered.sweep_checkpoint import read_checkpoint

LEVEL = 0.9
FLAG = 0.95  # a null panel "finds" an effect when P(reduction) or P(rise) exceeds this


def _fmt(x, spec: str) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def error_to_sd(result: dict) -> float:
    """Root mean square over pooled event times of (posterior mean - truth) / posterior sd.

    The sd is read from the interval's width as if normal. Near 1: the intervals are as wide
    as the errors need; well below 1: wider than needed (coverage near 1 whatever the level);
    above 1: too narrow, or the estimate is biased.
    """
    pooled = result.get("pooled") or []
    if not pooled:
        return float("nan")
    half = NormalDist().inv_cdf(0.5 + LEVEL / 2)
    z = [2 * half * (p["mean"] - p["truth"]) / (p["upper"] - p["lower"]) for p in pooled]
    return float(np.sqrt(np.mean(np.square(z))))


def table(results: list[dict]) -> pd.DataFrame:
    """One printable row per panel."""
    rows = []
    for r in results:
        flag = "-"
        if r.get("error"):
            flag = "ERROR"
        elif r["null"]:
            flag = "FALSE+" if r.get("false_finding") else "ok"
        rows.append(
            {
                "panel": r["panel"],
                "freq": r["freq"],
                "units": r["units"],
                "cells": r["cells"],
                "counts/cell": _fmt(r["counts_median"], ".0f"),
                "noise": r["noise"],
                "pooled cov": _fmt(r.get("pooled_cov"), ".2f"),
                "unit cov": _fmt(r.get("unit_cov"), ".2f"),
                "pooled RMSE": _fmt(r.get("pooled_rmse"), ".4f"),
                "CS RMSE": _fmt(r.get("cs_rmse"), ".4f"),
                "ratio": _fmt(r.get("ratio"), ".2f"),
                "error/sd": _fmt(error_to_sd(r), ".2f"),
                "null flag": flag,
                "R-hat": _fmt(r.get("max_rhat"), ".3f"),
                "min ESS": _fmt(r.get("min_ess_bulk"), ".0f"),
                "seconds": _fmt(r.get("seconds"), ".0f"),
            }
        )
    return pd.DataFrame(rows)


def summary(results: list[dict]) -> dict:
    """Overall and by-frequency coverage, RMSE ratios and null-panel findings."""
    ok = [r for r in results if not r.get("error")]

    def cov(rs, kind):
        n = sum(r[f"{kind}_n"] for r in rs)
        hit = sum(r[f"{kind}_cov"] * r[f"{kind}_n"] for r in rs if r[f"{kind}_n"])
        return {"coverage": hit / n if n else float("nan"), "truths": n, "panels": len(rs)}

    out = {
        "level": LEVEL,
        "panels": len(results),
        "errors": [r["panel"] for r in results if r.get("error")],
        "pooled": {"all": cov(ok, "pooled")},
        "unit": {"all": cov(ok, "unit")},
    }
    for freq in dgp.PERIODS_PER_YEAR:
        rs = [r for r in ok if r["freq"] == freq]
        out["pooled"][freq] = cov(rs, "pooled")
        out["unit"][freq] = cov(rs, "unit")
    ratios = np.array(
        [r["ratio"] for r in ok if r["heterogeneous_or_delayed"] and np.isfinite(r["ratio"])]
    )
    out["rmse_ratio_heterogeneous_or_delayed"] = {
        "panels": int(ratios.size),
        "median": float(np.median(ratios)) if ratios.size else float("nan"),
        "geometric_mean": float(np.exp(np.log(ratios).mean())) if ratios.size else float("nan"),
        "staggered_better": int((ratios < 1).sum()),
    }
    z = np.array([error_to_sd(r) for r in ok])
    z = z[np.isfinite(z)]
    out["pooled_error_to_sd"] = {
        "panels": int(z.size),
        "median": float(np.median(z)) if z.size else float("nan"),
        "above_1": int((z > 1).sum()),
    }
    nulls = [r for r in ok if r["null"]]
    selected = [r for r in nulls if _selected_after_high_year(r["panel"])]
    out["null_panels"] = {
        "panels": len(nulls),
        "false_findings": [r["panel"] for r in nulls if r["false_finding"]],
        "with_selection": len(selected),
        "with_selection_false_findings": [r["panel"] for r in selected if r["false_finding"]],
    }
    return out


def _selected_after_high_year(panel: str) -> bool:
    """Whether the panel's sites adopt right after a high year (the selection nulls)."""
    return dgp.get(panel).selection == "shock"


def read_results(paths: list[Path]) -> tuple[list[dict], list[dict]]:
    """Results of earlier runs, the last one per panel, and each file's settings.

    Reads sweep checkpoints (JSONL, through
    :func:`staggered.sweep_checkpoint.read_checkpoint`, which leaves out a last line cut off
    by a stopped run) and ``--out`` files (JSON with
    ``settings`` and ``results``). A failed panel does not replace an earlier result of the
    same panel that succeeded.
    """
    latest: dict[str, dict] = {}
    settings = []
    for path in map(Path, paths):
        if path.suffix == ".jsonl":
            found, records = read_checkpoint(path)
            header, results = found.get("settings", {}), [r["result"] for r in records]
        else:
            payload = json.loads(path.read_text())
            header, results = payload.get("settings", {}), payload["results"]
        settings.append({"file": str(path), **header})
        for r in results:
            if r.get("error") and r["panel"] in latest:
                continue
            latest.pop(r["panel"], None)  # re-insert: order of the latest run
            latest[r["panel"]] = r
    return list(latest.values()), settings


def _print_summary(s: dict) -> None:
    def line(kind):
        parts = [
            f"{k} {v['coverage']:.3f} ({v['truths']} truths, {v['panels']} panels)"
            for k, v in s[kind].items()
            if v["panels"]
        ]
        return f"{kind} {s['level']:.0%} coverage: " + "; ".join(parts)

    print(line("pooled"))
    print(line("unit"))
    rr = s["rmse_ratio_heterogeneous_or_delayed"]
    print(
        f"pooled RMSE ratio staggered / CS on {rr['panels']} heterogeneous or delayed panels: "
        f"median {_fmt(rr['median'], '.2f')}, geometric mean {_fmt(rr['geometric_mean'], '.2f')}"
        f", staggered lower on {rr['staggered_better']}"
    )
    ez = s["pooled_error_to_sd"]
    print(
        f"pooled error / posterior sd (rms over event times) on {ez['panels']} panels: median "
        f"{_fmt(ez['median'], '.2f')}, above 1 on {ez['above_1']} (near 1: intervals as wide as "
        "the errors need; below: wider)"
    )
    nl = s["null_panels"]
    found = ", ".join(nl["false_findings"]) or "none"
    print(f"null panels with P(reduction) or P(rise) > {FLAG}: {found} (of {nl['panels']})")
    found = ", ".join(nl["with_selection_false_findings"]) or "none"
    print(f"  of them selected after a high year: {found} (of {nl['with_selection']})")
    if s["errors"]:
        print(f"failed panels: {', '.join(s['errors'])}")


def report(results: list[dict], s: dict) -> None:
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table(results).to_string(index=False))
    print()
    _print_summary(s)
