"""Pre-trend check from placebo effects (event times before adoption), fitted apart.

The check is its own fit on untreated cells only (:func:`staggered.design.fit_designs`): each
treated unit's last K pre-adoption periods get placebo effects, as in Borusyak, Jaravel &
Spiess's (2024) pre-trend test, so the check never changes the estimates. Nothing should
happen at placebo times: a pooled placebo effect away from zero means treated and comparison
units already diverged before adoption (non-parallel trends, or anticipation).

The verdict separates three cases:

* **equivalence shown** -- the posterior probability that every pooled placebo effect lies
  inside the region of practical equivalence (ROPE, default +-2% relative) is at least 0.9;
* **divergence detected** -- some pooled placebo effect's interval excludes zero at a
  simultaneous level (each interval at ``1 - (1 - level) / K``, Bonferroni over the K
  placebo times), and equivalence was not shown;
* **inconclusive** -- neither: too noisy to show equivalence, and no evidence of divergence.

The "largest placebo" reported is the placebo time with the largest absolute posterior mean,
with its own interval (the maximum of absolute values over draws is biased upwards).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from staggered.effects import estimand_draws, summarise


@dataclass(frozen=True)
class PretrendCheck:
    """Result of :func:`pretrend_check`.

    Attributes
    ----------
    table : pandas.DataFrame
        Per placebo event time: ``event_time, mean, lower, upper, prob_in_rope``.
    prob_all_in_rope : float
        Posterior probability that every pooled placebo effect lies inside ``(-rope, rope)``.
    max_abs : dict
        ``event_time``, ``mean``, ``lower``, ``upper`` of the placebo effect with the largest
        absolute posterior mean.
    verdict : {"equivalence", "divergence", "inconclusive"}
        See the module docstring.
    rope : float
        Half-width of the region of practical equivalence.
    measure : str
        ``relative`` (count models) or ``absolute`` (Gaussian).
    level : float
        Interval mass.
    """

    table: pd.DataFrame
    prob_all_in_rope: float
    max_abs: dict
    rope: float
    measure: str
    level: float
    verdict: str = "inconclusive"

    def __str__(self) -> str:
        pct = self.measure == "relative"
        fmt = (lambda v: f"{100 * v:+.1f}%") if pct else (lambda v: f"{v:+.4g}")
        rope = f"{100 * self.rope:.1f}%" if pct else f"{self.rope:.4g}"
        m = self.max_abs
        verdict = {
            "equivalence": f"equivalence shown: no pre-trend larger than +-{rope}",
            "divergence": "DIVERGENCE DETECTED: treated and comparison units diverged before "
            "adoption (a placebo interval excludes zero at the simultaneous level)",
            "inconclusive": f"inconclusive: too noisy to show equivalence within +-{rope}, "
            "no evidence of divergence",
        }[self.verdict]
        return (
            f"Pre-trend check ({len(self.table)} placebo event times, {self.measure}, fitted "
            f"apart from the estimates): P(all placebo effects within +-{rope}) = "
            f"{self.prob_all_in_rope:.2f}; largest placebo (e = {m['event_time']}) "
            f"{fmt(m['mean'])} ({self.level:.0%} interval {fmt(m['lower'])} to "
            f"{fmt(m['upper'])}): {verdict}."
        )


def pretrend_check(fit, *, rope: float = 0.02, level: float | None = None) -> PretrendCheck:
    """Summarise the pooled placebo effects of a fit made with ``placebo > 0``.

    Parameters
    ----------
    fit : Fit
        A fit whose design has placebo event times.
    rope : float, default 0.02
        Half-width of the region of practical equivalence (relative effect for count models,
        outcome units for the Gaussian model).
    level : float, optional
        Interval mass (default the fit's level).

    Returns
    -------
    PretrendCheck
    """
    check = getattr(fit, "pretrend", None)
    if check is None:
        raise ValueError(
            "the fit has no pre-trend check: refit with placebo=K (K >= 1), the default is 3"
        )
    if rope <= 0:
        raise ValueError(f"rope must be > 0, got {rope}")
    level = fit.config.get("level", 0.9) if level is None else level
    measure = "relative" if fit.spec.is_count else "absolute"
    design = check.design
    _, event_times, draws = estimand_draws(check.idata.posterior, design, check.spec)
    placebo = event_times < design.first_effect_time
    if not placebo.any():
        raise ValueError("no treated unit was observed at a placebo event time")
    d = draws[measure][:, placebo]
    s = summarise(d, level)
    in_rope = np.abs(d) < rope
    table = pd.DataFrame(
        {
            "event_time": event_times[placebo].astype(int),
            "mean": s["mean"],
            "lower": s["lower"],
            "upper": s["upper"],
            "prob_in_rope": in_rope.mean(axis=0),
        }
    )
    prob_all = float(in_rope.all(axis=1).mean())
    simultaneous = summarise(d, 1.0 - (1.0 - level) / d.shape[1])
    away = (simultaneous["lower"] > 0) | (simultaneous["upper"] < 0)
    verdict = "equivalence" if prob_all >= 0.9 else "divergence" if away.any() else "inconclusive"
    k = int(np.argmax(np.abs(s["mean"])))
    largest = {
        "event_time": int(table["event_time"].iloc[k]),
        "mean": float(s["mean"][k]),
        "lower": float(s["lower"][k]),
        "upper": float(s["upper"][k]),
    }
    return PretrendCheck(
        table=table,
        prob_all_in_rope=prob_all,
        max_abs=largest,
        rope=rope,
        measure=measure,
        level=level,
        verdict=verdict,
    )


def breakdown_sensitivity(fit, *, level: float | None = None) -> pd.DataFrame:
    """How large a parallel-trends violation would overturn each pooled effect.

    Relative-magnitude bound in the spirit of Rambachan & Roth (2023): suppose that after
    adoption the treated units' counterfactual may drift away from the comparison units by up
    to ``M`` times the largest pre-period deviation ``D`` (the posterior mean of the largest
    absolute pooled placebo effect). The effect at event time e is then only known up to
    ``+-M * D``, and its interval ``[lower - M D, upper + M D]`` includes zero once
    ``M >= breakdown_M`` (``D`` is the largest absolute posterior mean of the placebo
    effects). ``breakdown_M = 0`` where the interval already includes zero; a large
    value means the reduction survives violations many times larger than anything seen before
    adoption.

    Parameters
    ----------
    fit : Fit
        A fit with a pre-trend check (``placebo > 0``).
    level : float, optional
        Interval mass (default the fit's level).

    Returns
    -------
    pandas.DataFrame
        ``event_time, mean, lower, upper, max_pre_deviation, breakdown_M`` for the
        post-adoption event times.
    """
    check = pretrend_check(fit, level=level)
    level = check.level
    measure = check.measure
    _, event_times, draws = estimand_draws(fit.idata.posterior, fit.design, fit.spec)
    post = event_times >= fit.design.first_effect_time
    s = summarise(draws[measure][:, post], level)
    dev = abs(check.max_abs["mean"])
    lower, upper = s["lower"], s["upper"]
    distance = np.where(upper < 0, -upper, np.where(lower > 0, lower, 0.0))
    return pd.DataFrame(
        {
            "event_time": event_times[post].astype(int),
            "mean": s["mean"],
            "lower": lower,
            "upper": upper,
            "max_pre_deviation": dev,
            "breakdown_M": distance / dev if dev > 0 else np.inf,
        }
    )
