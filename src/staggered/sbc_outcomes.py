"""Simulation-based calibration of the joint model of two outcomes.

Each replicate draws every parameter of the joint model (:mod:`staggered.models.joint`) and
both outcomes from the model's own prior, on the panel structure of
:func:`staggered.simulate_outcomes.simulate_outcomes` (areas, years, adoption, population),
refits the joint model, and ranks the truth among the thinned posterior draws (Talts et al.
2018). Ranked quantities: the correlation of the areas' deviation steps (``unit_corr``), and per
outcome the step scales ``sigma_unit`` and ``sigma_theta``, the pooled relative effect at the
last event time and the log effect of the first treated area there. The verdicts are those of
:mod:`staggered.sbc` (rank ECDF inside a 99% simultaneous band).

Serial and compiled afresh for every replicate (nutpie): minutes per replicate on a laptop,
so a calibration run (100+ replicates) belongs on a bigger machine.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pymc as pm

from staggered.data import encode_panel
from staggered.design import build_design
from staggered.effects import _draws, estimand_draws
from staggered.fit import fit_design
from staggered.models import load_spec
from staggered.models.joint import build_joint_model
from staggered.outcomes import design_for_outcome, posterior_for_outcome
from staggered.sbc_prior import COUNT_PRIOR_LOC
from staggered.sbc_result import SBCResult, _uniformity
from staggered.simulate_outcomes import OUTCOMES, simulate_outcomes

__all__ = ["joint_quantities", "run_joint_sbc"]


def joint_quantities(post, design, spec) -> dict[str, np.ndarray]:
    """Ranked quantities as ``(sample,)`` arrays from a joint posterior (or prior) dataset."""
    names = list(OUTCOMES)
    q = {"unit_corr": _draws(post, "unit_corr")[:, 0, 1]}
    for name in names:
        one = posterior_for_outcome(post, name)
        d = design_for_outcome(design, name)
        for scale in ("sigma_unit", "sigma_theta"):
            q[f"{name}:{scale}"] = _draws(one, scale)
        _, event_times, draws = estimand_draws(one, d, spec, scope="pooled")
        q[f"{name}:pooled[e={int(event_times[-1])}]"] = draws["relative"][:, -1]
        q[f"{name}:unit_effect[0,e={int(d.event_times[-1])}]"] = _draws(one, "unit_effect")[
            :, 0, -1
        ]
    return q


def _with_outcomes(design, ys: list[np.ndarray]):
    outcomes = np.column_stack(ys).astype(np.float64)
    panel = dataclasses.replace(design.panel, y=outcomes[:, 0], outcomes=outcomes)
    return dataclasses.replace(design, panel=panel)


def run_joint_sbc(
    *,
    replicates: int = 100,
    n_units: int = 16,
    n_periods: int = 8,
    draws: int = 200,
    tune: int = 300,
    n_thin: int = 100,
    random_seed: int = 0,
) -> SBCResult:
    """Run SBC of the two-outcome joint model (``negbin-rw``).

    Parameters
    ----------
    replicates : int, default 100
        Prior draws, each simulated and refitted.
    n_units, n_periods : int
        Panel structure of :func:`~staggered.simulate_outcomes.simulate_outcomes`.
    draws, tune : int
        NUTS settings of each refit (one chain).
    n_thin : int, default 100
        Posterior draws kept (evenly spaced) for the ranks.
    random_seed : int, default 0
        Seed of the panel structure, the prior draws and the fits.

    Returns
    -------
    staggered.sbc.SBCResult
    """
    spec = load_spec("negbin-rw")
    sim = simulate_outcomes(n_units=n_units, n_periods=n_periods, random_seed=random_seed)
    design = build_design(encode_panel(sim.panel, **sim.columns))
    model = build_joint_model(design, spec, prior_loc=COUNT_PRIOR_LOC)
    logging.getLogger("pymc").setLevel(logging.WARNING)
    prior = pm.sample_prior_predictive(draws=replicates, model=model, random_seed=random_seed)
    keep = np.linspace(0, draws - 1, min(n_thin, draws)).round().astype(int)
    rng = np.random.default_rng([random_seed, 1])
    rows = []
    for r in range(replicates):
        ys = [prior.prior_predictive[f"{name}::y"].values[0, r] for name in OUTCOMES]
        d = _with_outcomes(design, ys)
        truth = joint_quantities(prior.prior.isel(draw=[r]), d, spec)
        fitted = fit_design(
            d,
            spec,
            draws=draws,
            tune=tune,
            chains=1,
            random_seed=int(rng.integers(2**31 - 1)),
            prior_loc=COUNT_PRIOR_LOC,
            progressbar=False,
            warn=False,
        )
        est = joint_quantities(fitted.idata.posterior.isel(draw=keep), d, spec)
        for name, values in est.items():
            t = float(truth[name][0])
            below = np.sum(values < t) + rng.integers(0, np.sum(values == t) + 1)
            rows.append(
                {
                    "replicate": r,
                    "quantity": name,
                    "rank": int(below),
                    "n_draws": keep.size,
                    "truth": t,
                    "divergences": fitted.diagnostics.get("divergences"),
                }
            )
    ranks = pd.DataFrame(rows)
    summary = pd.DataFrame(
        [
            {"quantity": q, **_uniformity(g["rank"].to_numpy(), keep.size, 0.99)}
            for q, g in ranks.groupby("quantity", sort=False)
        ]
    )
    settings = {
        "simulate_model": "negbin-rw (two outcomes, joint)",
        "fit_model": "negbin-rw (two outcomes, joint)",
        "replicates": replicates,
        "n_units": n_units,
        "n_periods": n_periods,
        "draws": draws,
        "tune": tune,
        "random_seed": random_seed,
    }
    return SBCResult(ranks=ranks, summary=summary, settings=settings)
