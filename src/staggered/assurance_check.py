"""Two checks of :func:`staggered.assurance.assurance`: against a formula, and under the null.

:func:`run_analytic_check` fits simulated panels with :data:`ANALYTIC_SPEC` and sets the
share of fits that declare a reduction beside the normal-approximation power of
:mod:`staggered.assurance_analytic` (importable from here); :func:`run_null_check` measures
the false-finding rate of the default count model without an effect. :data:`ANALYTIC_CHECK`
and :data:`NULL_CHECK` are the settings that ``benchmarks/assurance_check.py`` and the slow
tests use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from staggered.assurance_analytic import (
    ANALYTIC_SPEC,
    agreement,
    analytic_assurance,
    estimand_sd,
    normal_power,
)
from staggered.assurance_analytic import _design_matrix as _design_matrix
from staggered.assurance_plan import Baseline, Effect, Rollout
from staggered.assurance_report import fit_divergences

__all__ = [
    "ANALYTIC_CHECK",
    "ANALYTIC_SPEC",
    "NULL_CHECK",
    "agreement",
    "analytic_assurance",
    "estimand_sd",
    "normal_power",
    "run_analytic_check",
    "run_null_check",
]

#: The analytic check (``benchmarks/assurance_check.py``, slow test): a small design with
#: large counts, no unit trends, a step effect sized for an assurance in the middle.
ANALYTIC_CHECK = {
    "plan": Rollout(sites=6, comparison_areas=6, shares=(0.5, 0.5), history=3, follow_up=2),
    "effect": Effect("step", size=-0.012),
    "baseline": Baseline(unit_trend_sd=0.0),
    "simulations": 200,
    "draws": 300,
    "random_seed": 0,
}
#: The null check: the default count model on a realistic simulated design (default baseline:
#: area trends, period shocks, negative-binomial noise), no effect.
NULL_CHECK = {
    "plan": Rollout(sites=10, comparison_areas=10, shares=(0.5, 0.5), history=5, follow_up=3),
    "model": "negbin-rw",
    "baseline": Baseline(),
    "simulations": 100,
    "draws": 500,
    "random_seed": 0,
}


def _plan_settings(plan) -> dict:
    """The planned rollout as :func:`staggered.assurance.assurance` keywords."""
    return {
        "sites": plan.sites,
        "comparison_areas": plan.comparison_areas,
        "rollout": plan.shares,
        "history": plan.history,
        "follow_up": plan.follow_up,
    }


def run_analytic_check(
    plan: Rollout,
    effect: Effect,
    *,
    baseline: Baseline,
    simulations: int,
    draws: int,
    random_seed: int = 0,
    threshold: float = 0.95,
    wrong: float = 1.5,
):
    """Fit simulated panels with :data:`ANALYTIC_SPEC` and compare with the formula.

    Runs :func:`staggered.assurance` (serial, effect only, ``draws`` warm-up and draws) and
    :func:`analytic_assurance` on the same panels, and the formula with every sd multiplied
    by ``wrong`` and by ``1 / wrong`` (what a wrong variance would predict).

    Returns
    -------
    (AssuranceResult, pandas.DataFrame)
        The run and :func:`agreement` with two more columns, ``wrong_high`` and
        ``wrong_low``: the powers with the sd times ``wrong`` and ``1 / wrong``.
    """
    from staggered.assurance import assurance

    result = assurance(
        model=ANALYTIC_SPEC,
        baseline=baseline,
        **_plan_settings(plan),
        effect=effect,
        simulations=simulations,
        null=False,
        threshold=threshold,
        draws=draws,
        tune=draws,
        random_seed=random_seed,
        backend="serial",
        progressbar=False,
    )

    def formula(factor: float) -> pd.DataFrame:
        return analytic_assurance(
            plan,
            effect,
            baseline=baseline,
            threshold=threshold,
            simulations=simulations,
            random_seed=random_seed,
            sd_factor=factor,
        )

    table = agreement(result.table, formula(1.0), level=result.settings["level"])
    table["wrong_high"] = formula(wrong)["power"].to_numpy()
    table["wrong_low"] = formula(1.0 / wrong)["power"].to_numpy()
    return result, table


def run_null_check(
    plan: Rollout,
    *,
    model: str,
    baseline: Baseline,
    simulations: int,
    draws: int,
    random_seed: int = 0,
    threshold: float = 0.95,
):
    """False-finding rate of ``P(reduction) >= threshold`` on simulated panels without effect.

    Runs :func:`staggered.assurance` with a null effect (serial, ``draws`` warm-up and draws).

    Returns
    -------
    (AssuranceResult, pandas.DataFrame)
        The run and one row per estimand: ``measure, event_time, false_finding, mc_se``
        (``sqrt(p (1 - p) / n)``), ``bound`` (``1 - threshold``), ``se_at_bound`` (the
        Monte Carlo error of a rate equal to the bound), ``simulations``,
        ``divergent_fits`` (share of fits with any divergence).
    """
    from staggered.assurance import assurance

    result = assurance(
        model=model,
        baseline=baseline,
        **_plan_settings(plan),
        effect=Effect().null(),
        simulations=simulations,
        null=False,  # the "effect" panels are null panels: one fit per panel
        threshold=threshold,
        draws=draws,
        tune=draws,
        random_seed=random_seed,
        backend="serial",
        progressbar=False,
    )
    t = result.table
    divergent = float((fit_divergences(result.fits) > 0).mean())
    table = pd.DataFrame(
        {
            "measure": t["measure"],
            "event_time": t["event_time"],
            "false_finding": t["assurance"],
            "mc_se": t["assurance_se"],
            "bound": 1.0 - threshold,
            "se_at_bound": np.sqrt(threshold * (1.0 - threshold) / t["simulations"]),
            "simulations": t["simulations"],
            "divergent_fits": divergent,
        }
    )
    return result, table
