"""Joint estimands of a fit of several outcomes (``joint.csv``, :meth:`Fit.joint`).

For each pair of outcomes ``(a, b)`` (in the order fitted) and each pooled or site (``unit``)
estimand at each event time, per posterior draw of the relative effects ``r_a, r_b``
(:mod:`staggered.effects`, each outcome from its own variables):

* ``prob_both_reduced``: P(r_a < 0 and r_b < 0), in ``mean``;
* ``prob_a_only``: P(r_a < 0 and r_b >= 0), a reduction in ``a`` but not in ``b``;
* ``prob_b_only``: P(r_b < 0 and r_a >= 0);
* ``difference``: r_a - r_b, with its interval (``prob_negative``: P(a falls more than b));

and, with three or more outcomes, ``prob_all_reduced`` (``outcome_a = "(all)"``). Site effects'
agreement between outcomes, scope ``unit`` with an empty id:

* ``site_correlation`` per event time: the correlation over the treated units observed there
  of their relative effects on ``a`` and on ``b``, per draw;
* ``step_correlation`` (event time empty): the model's correlation of the sites' deviation
  steps across outcomes (``unit_corr``), the parameter a simulation sets.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from staggered.effects import _draws, estimand_draws, summarise

__all__ = ["ALL", "COLUMNS", "joint_for_csv", "joint_table", "relative_draws"]

ALL = "(all)"
COLUMNS = [
    "outcome_a",
    "outcome_b",
    "scope",
    "id",
    "event_time",
    "measure",
    "mean",
    "sd",
    "lower",
    "upper",
    "level",
    "prob_negative",
]
_PROBABILITIES = ("prob_both_reduced", "prob_a_only", "prob_b_only")


def relative_draws(fit, outcome: str, scope: str) -> tuple[list, np.ndarray, np.ndarray]:
    """``(ids, event_times, draws)`` of one outcome's relative effects (draws: sample x key)."""
    view = fit.outcome_fit(outcome)
    ids, event_times, draws = estimand_draws(
        view.idata.posterior, view.design, view.spec, scope=scope
    )
    keep = event_times >= view.design.first_effect_time
    return list(np.asarray(ids, dtype=object)[keep]), event_times[keep], draws["relative"][:, keep]


def _rows(a, b, scope, ids, event_times, measure, draws, level, *, probability=False):
    """Summary rows; a probability's draws are indicators, summarised by their mean only."""
    s = summarise(draws, level)
    blank = np.full(draws.shape[1], np.nan)
    return pd.DataFrame(
        {
            "outcome_a": a,
            "outcome_b": b,
            "scope": scope,
            "id": np.asarray(ids, dtype=object),
            "event_time": pd.array(event_times, dtype="Int64"),
            "measure": measure,
            "mean": s["mean"],
            "sd": blank if probability else s["sd"],
            "lower": blank if probability else s["lower"],
            "upper": blank if probability else s["upper"],
            "level": level,
            "prob_negative": blank if probability else s["prob_negative"],
        }
    )


def _site_correlation(ra: np.ndarray, rb: np.ndarray, ids, event_times):
    """``(event_times, draws)``: per draw, the correlation over sites observed at each e."""
    times = [e for e in np.unique(event_times) if (event_times == e).sum() >= 3]
    out = np.full((ra.shape[0], len(times)), np.nan)
    for j, e in enumerate(times):
        cols = event_times == e
        x = np.log1p(ra[:, cols])
        y = np.log1p(rb[:, cols])
        x = x - x.mean(axis=1, keepdims=True)
        y = y - y.mean(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = (x * y).sum(axis=1) / np.sqrt((x**2).sum(axis=1) * (y**2).sum(axis=1))
    return np.asarray(times, dtype=np.int64), out


def _pair(fit, a: str, b: str, level: float) -> list[pd.DataFrame]:
    """Every row of one pair of outcomes."""
    parts = []
    for scope in ("pooled", "unit"):
        ids, et, ra = relative_draws(fit, a, scope)
        ids_b, et_b, rb = relative_draws(fit, b, scope)
        assert ids == ids_b and np.array_equal(et, et_b)  # one design: same sites and times
        down_a, down_b = ra < 0, rb < 0
        indicators = {
            "prob_both_reduced": down_a & down_b,
            "prob_a_only": down_a & ~down_b,
            "prob_b_only": down_b & ~down_a,
        }
        for measure, draws in indicators.items():
            parts.append(
                _rows(a, b, scope, ids, et, measure, draws.astype(float), level, probability=True)
            )
        parts.append(_rows(a, b, scope, ids, et, "difference", ra - rb, level))
        if scope == "unit":
            times, corr = _site_correlation(ra, rb, ids, et)
            ok = ~np.isnan(corr).any(axis=0)
            parts.append(
                _rows(
                    a, b, "unit", [""] * ok.sum(), times[ok], "site_correlation", corr[:, ok], level
                )
            )
    post = fit.idata.posterior
    if "unit_corr" in post:
        names = list(fit.outcomes)
        step = _draws(post, "unit_corr")[:, names.index(a), names.index(b)][:, None]
        parts.append(_rows(a, b, "unit", [""], [pd.NA], "step_correlation", step, level))
    return parts


def _all_reduced(fit, level: float) -> list[pd.DataFrame]:
    """P(a reduction in every outcome), pooled and per site (three or more outcomes)."""
    parts = []
    for scope in ("pooled", "unit"):
        draws = [relative_draws(fit, name, scope) for name in fit.outcomes]
        ids, et, _ = draws[0]
        every = np.all([d[2] < 0 for d in draws], axis=0).astype(float)
        parts.append(
            _rows(ALL, "", scope, ids, et, "prob_all_reduced", every, level, probability=True)
        )
    return parts


def joint_table(fit, *, level: float = 0.9) -> pd.DataFrame:
    """The joint estimands of a fit of several outcomes (see the module docstring).

    Parameters
    ----------
    fit : staggered.fit.Fit
        A fit of two or more outcomes (``outcome=[...]``).
    level : float, default 0.9
        Mass of the equal-tailed intervals.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome_a, outcome_b, scope, id, event_time, measure, mean, sd, lower,
        upper, level, prob_negative``; probabilities in ``mean`` (their sd, interval and
        ``prob_negative`` empty); ``event_time`` empty for ``step_correlation``.
    """
    if len(fit.outcomes) < 2:
        raise ValueError(
            f"joint estimands need a fit of two or more outcomes; this fit has one "
            f"({fit.outcomes[0]!r}): fit with outcome=[...] (CLI: --outcome, repeated)"
        )
    if not fit.spec.is_count:
        raise ValueError("joint estimands compare relative effects: they need a count model")
    parts = []
    for a, b in combinations(fit.outcomes, 2):
        parts += _pair(fit, a, b, level)
    if len(fit.outcomes) > 2:
        parts += _all_reduced(fit, level)
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def joint_for_csv(table: pd.DataFrame) -> pd.DataFrame:
    """The joint table rounded for people, as ``joint.csv`` holds it (6 and 4 decimals)."""
    out = table.copy()
    for col in ("mean", "sd", "lower", "upper"):
        out[col] = table[col].round(6)
    out["prob_negative"] = table["prob_negative"].round(4)
    return out
