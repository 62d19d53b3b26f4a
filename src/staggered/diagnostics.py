"""Convergence diagnostics of a fit and the warnings they raise."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np

# cell-level deterministics: large and redundant for convergence checks
_CELL_VARS = ("eta0", "tau")
# latent factors and loadings are identified only up to sign (and rotation); convergence is
# judged on their scales and on the counterfactual and effects they feed
_SIGN_FREE_VARS = ("factor", "factor_loading_z")


class SamplingWarning(UserWarning):
    """Raised (as a warning) when convergence diagnostics flag a problem."""


def diagnose(idata: az.InferenceData) -> dict:
    """Convergence diagnostics over all parameters except cell-level deterministics."""
    post = idata.posterior
    names = [v for v in post.data_vars if v not in _CELL_VARS + _SIGN_FREE_VARS]
    n_chains = post.sizes["chain"]
    out: dict = {"chains": int(n_chains), "draws": int(post.sizes["draw"])}
    with warnings.catch_warnings():
        # constant entries (e.g. trends fixed at zero) have undefined R-hat/ESS: nan, skipped
        warnings.simplefilter("ignore", RuntimeWarning)
        if n_chains > 1:
            rhat = az.rhat(post, var_names=names)
            out["max_rhat"] = float(np.nanmax([float(rhat[v].max()) for v in names]))
        else:
            out["max_rhat"] = float("nan")
        ess_b = az.ess(post, var_names=names, method="bulk")
        ess_t = az.ess(post, var_names=names, method="tail")
    out["min_ess_bulk"] = float(np.nanmin([float(ess_b[v].min()) for v in names]))
    out["min_ess_tail"] = float(np.nanmin([float(ess_t[v].min()) for v in names]))
    stats = idata.get("sample_stats")
    div = stats.get("diverging") if stats is not None else None
    out["divergences"] = int(div.sum()) if div is not None else 0
    return out


def _warn_on_problems(diag: dict) -> list[str]:
    problems = []
    if diag["max_rhat"] > 1.01:
        problems.append(f"max R-hat {diag['max_rhat']:.3f} > 1.01 (chains disagree)")
    n_total = diag["chains"] * diag["draws"]
    ess_floor = min(400, n_total / 4)
    if diag["min_ess_bulk"] < ess_floor or diag["min_ess_tail"] < ess_floor:
        problems.append(
            f"min ESS bulk {diag['min_ess_bulk']:.1f} / tail {diag['min_ess_tail']:.1f} "
            f"< {ess_floor:.0f}"
        )
    if diag["divergences"] > 0:
        problems.append(f"{diag['divergences']} divergent transitions")
    for msg in problems:
        warnings.warn(
            f"Sampling problem: {msg}. Run longer chains (--draws/--tune), raise "
            "target_accept, or simplify the model before trusting the effects.",
            SamplingWarning,
            stacklevel=3,
        )
    return problems
