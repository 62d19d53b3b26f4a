"""Pre-trend check from placebo effects (event times before adoption).

Placebo event times -K..-1 get effect parameters like treated periods, but nothing should
happen there: a pooled placebo effect away from zero means treated and comparison units
already diverged before adoption (non-parallel trends, or anticipation). The summary is the
Bayesian counterpart of fect's equivalence test and did's pre-test: the posterior probability
that every pooled placebo effect lies inside a region of practical equivalence (ROPE, default
+-2% relative), and the largest absolute placebo effect with its interval.
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
        ``mean``, ``lower``, ``upper`` of the largest absolute placebo effect.
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

    def __str__(self) -> str:
        pct = self.measure == "relative"
        fmt = (lambda v: f"{100 * v:+.1f}%") if pct else (lambda v: f"{v:+.4g}")
        rope = f"{100 * self.rope:.1f}%" if pct else f"{self.rope:.4g}"
        m = self.max_abs
        verdict = (
            "no sign of pre-trends"
            if self.prob_all_in_rope >= 0.9
            else "pre-trends cannot be ruled out"
            if self.prob_all_in_rope >= 0.5
            else "PRE-TRENDS LIKELY: treated and comparison units diverged before adoption"
        )
        return (
            f"Pre-trend check ({len(self.table)} placebo event times, {self.measure}): "
            f"P(all placebo effects within +-{rope}) = {self.prob_all_in_rope:.2f}; largest "
            f"|placebo| {fmt(m['mean']).lstrip('+')} ({self.level:.0%} interval "
            f"{fmt(m['lower']).lstrip('+')} to {fmt(m['upper']).lstrip('+')}): {verdict}."
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
    design = fit.design
    if design.placebo == 0:
        raise ValueError("the fit has no placebo event times: refit with placebo=K (K >= 1)")
    if rope <= 0:
        raise ValueError(f"rope must be > 0, got {rope}")
    level = fit.config.get("level", 0.9) if level is None else level
    measure = "relative" if fit.spec.is_count else "absolute"
    _, event_times, draws = estimand_draws(fit.idata.posterior, design, fit.spec)
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
    largest = np.abs(d).max(axis=1)
    lo, hi = np.quantile(largest, [(1 - level) / 2, (1 + level) / 2])
    return PretrendCheck(
        table=table,
        prob_all_in_rope=float(in_rope.all(axis=1).mean()),
        max_abs={"mean": float(largest.mean()), "lower": float(lo), "upper": float(hi)},
        rope=rope,
        measure=measure,
        level=level,
    )


def breakdown_sensitivity(fit, *, level: float | None = None) -> pd.DataFrame:
    """How large a parallel-trends violation would overturn each pooled effect.

    Relative-magnitude bound in the spirit of Rambachan & Roth (2023): suppose that after
    adoption the treated units' counterfactual may drift away from the comparison units by up
    to ``M`` times the largest pre-period deviation ``D`` (the posterior mean of the largest
    absolute pooled placebo effect). The effect at event time e is then only known up to
    ``+-M * D``, and its interval ``[lower - M D, upper + M D]`` includes zero once
    ``M >= breakdown_M``. ``breakdown_M = 0`` where the interval already includes zero; a large
    value means the reduction survives violations many times larger than anything seen before
    adoption.

    Parameters
    ----------
    fit : Fit
        A fit with placebo event times (``placebo > 0``).
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
    dev = check.max_abs["mean"]
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
