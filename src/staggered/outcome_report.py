"""Outcomes side by side: the table of ``compare-sites`` and the report of a joint fit.

:func:`sites_side_by_side` puts each site's relative effect on every outcome in one row (mean,
interval, probability of a reduction) with the joint probabilities of :meth:`Fit.joint`;
:func:`build_joint_report` writes the report of a fit of several outcomes: that table, the
pooled joint estimands, the site scatter (:func:`staggered.outcome_figures.outcome_scatter`),
then each outcome's single-outcome report.
"""

from __future__ import annotations

import html
from itertools import combinations

import pandas as pd

__all__ = ["build_joint_report", "pooled_side_by_side", "sites_side_by_side"]


def _wide(fit, scope: str, event_time: int | None) -> pd.DataFrame:
    eff = fit.effects(scopes=(scope,))
    rel = eff[(eff.measure == "relative") & (eff.event_time >= fit.design.first_effect_time)]
    if event_time is not None:
        rel = rel[rel.event_time == event_time]
    cols = []
    for name in fit.outcomes:
        one = rel[rel.outcome == name].set_index(["id", "event_time"])
        cols.append(one[["mean", "lower", "upper", "prob_negative"]].add_prefix(f"{name}:"))
    return pd.concat(cols, axis=1)


def _with_joint(fit, wide: pd.DataFrame, scope: str) -> pd.DataFrame:
    joint = fit.joint()
    for a, b in combinations(fit.outcomes, 2):
        part = joint[(joint.scope == scope) & (joint.outcome_a == a) & (joint.outcome_b == b)]
        for measure in ("prob_both_reduced", "prob_a_only", "prob_b_only"):
            rows = part[part.measure == measure]
            values = rows.set_index(["id", rows["event_time"].astype(int)])["mean"]
            label = {"prob_both_reduced": f"P(both {a}, {b} fall)"}.get(
                measure, f"P(only {a if measure == 'prob_a_only' else b} falls)"
            )
            wide[label] = values.reindex(wide.index).to_numpy()
    return wide.reset_index()


def sites_side_by_side(fit, *, event_time: int | None = None) -> pd.DataFrame:
    """One row per site (and event time): its relative effect on every outcome, side by side.

    Parameters
    ----------
    fit : staggered.fit.Fit
        A fit of two or more outcomes.
    event_time : int, optional
        One event time (default: all).

    Returns
    -------
    pandas.DataFrame
        ``id, event_time``, then ``<outcome>:mean, :lower, :upper, :prob_negative`` per
        outcome, then the joint probabilities of each pair of outcomes.
    """
    return _with_joint(fit, _wide(fit, "unit", event_time), "unit")


def pooled_side_by_side(fit) -> pd.DataFrame:
    """The pooled relative effect of every outcome by event time, side by side."""
    return _with_joint(fit, _wide(fit, "pooled", None), "pooled").drop(columns="id")


def _body(page: str) -> str:
    """The body of a one-outcome report page."""
    return page.split("<body>", 1)[1].rsplit("</body>", 1)[0]


def build_joint_report(fit, *, command: str | None = None, results=None) -> str:
    """The HTML report of a fit of several outcomes (see the module docstring)."""
    from staggered.outcome_figures import outcome_scatter, scatter_event_time
    from staggered.report import _CSS, _img, _table, build_report

    names = ", ".join(fit.outcomes)
    e = scatter_event_time(fit)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>staggered report: {html.escape(names)}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Programme effect on {len(fit.outcomes)} outcomes: {html.escape(names)}</h1>",
        "<p class='note'>Fitted jointly: each outcome has its own counterfactual and pooled "
        "curve; the sites' deviations from the pooled curves are correlated across "
        "outcomes. Relative effects; prob columns are posterior probabilities.</p>",
        "<h2>Pooled effects side by side</h2>",
        _table(pooled_side_by_side(fit).round(4)),
        f"<h2>Sites side by side at event time {e}</h2>",
        _table(sites_side_by_side(fit, event_time=e).round(4)),
        _img(outcome_scatter(fit)),
    ]
    joint = fit.joint()
    corr = joint[joint.measure.isin(["step_correlation", "site_correlation"])]
    parts += [
        "<h2>Do the same sites do well on every outcome?</h2>",
        "<p class='note'>step_correlation: the model's correlation of the sites' yearly "
        "deviations across outcomes; site_correlation: the correlation over the sites "
        "observed at each event time of their effects.</p>",
        _table(corr.drop(columns=["scope", "id", "level"]).round(4)),
    ]
    for name in fit.outcomes:
        page = build_report(fit.outcome_fit(name), command=command, results=results)
        parts.append(f"<h1>Outcome: {html.escape(name)}</h1>")
        parts.append(_body(page))
    parts.append("</body></html>")
    return "\n".join(parts)
