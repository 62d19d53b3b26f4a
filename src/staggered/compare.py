"""Compare sites: pairwise probabilities, ranks, time to detectable effect, aggregations.

Everything is computed per posterior draw from the cell-level effects, so that statements such
as "site A reduced admissions more than site B" carry their posterior probability, not a
comparison of point estimates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from staggered.effects import _CellDraws, summarise

BY = ("unit", "group", "event_time", "cohort", "period")
WEIGHTS = ("expected", "exposure", "equal")


def _cells(fit) -> _CellDraws:
    if not fit.spec.is_count:
        raise ValueError("site comparisons on the relative scale need a count model")
    return _CellDraws(fit.idata.posterior, fit.design, fit.spec)


def _entity(fit, cells: _CellDraws, scope: str) -> tuple[np.ndarray, list[str]]:
    p = fit.panel
    if scope == "unit":
        return cells.unit, [str(u) for u in p.unit_labels]
    if scope == "group":
        if p.group_idx is None:
            raise ValueError("scope='group' needs a fit with a group column")
        return p.group_idx[cells.unit], [str(g) for g in p.group_labels]
    raise ValueError(f"scope must be 'unit' or 'group', got {scope!r}")


def site_effect_draws(
    fit,
    *,
    scope: str = "unit",
    event_time: int | None = None,
    window: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Draws of each site's relative effect at one event time or over a window.

    Over a window ``(first, last)`` (inclusive), the effect is the site's expected-count
    weighted relative effect over its cells in the window, ``sum mu1 / sum mu0 - 1``.

    Parameters
    ----------
    fit : Fit
        A fitted count model.
    scope : {"unit", "group"}
        Compare areas or programmes.
    event_time : int, optional
        One event time (default: the latest event time that at least half of the sites reach,
        see :func:`default_event_time`).
    window : tuple of int, optional
        Inclusive event-time window.

    Returns
    -------
    pandas.DataFrame
        One column per site observed in the window, one row per posterior draw;
        ``attrs["window"]`` holds the event-time window used.
    """
    cells = _cells(fit)
    entity, labels = _entity(fit, cells, scope)
    if event_time is not None and window is not None:
        raise ValueError("give event_time or window, not both")
    if event_time is not None:
        window = (event_time, event_time)
    if window is None:
        e = default_event_time(cells.event_time, entity, cells.first_effect_time)
        window = (e, e)
    inside = (cells.event_time >= window[0]) & (cells.event_time <= window[1])
    if not inside.any():
        raise ValueError(f"no treated cell at event times {window[0]}..{window[1]}")
    present, key = np.unique(entity[inside], return_inverse=True)
    s0, s1, _, _ = cells.aggregate_subset(inside, key, present.size)
    draws = pd.DataFrame(s1 / s0 - 1.0, columns=[labels[i] for i in present])
    draws.attrs["window"] = (int(window[0]), int(window[1]))
    return draws


def default_event_time(event_time: np.ndarray, entity: np.ndarray, first: int = 0) -> int:
    """Latest event time reached by at least half as many sites as the best-covered one.

    Only early adopters reach the last event times, so comparing sites there would silently
    leave most of them out.
    """
    post = event_time >= first
    pairs = np.unique(np.c_[event_time[post], entity[post]], axis=0)
    times, counts = np.unique(pairs[:, 0], return_counts=True)
    return int(times[counts >= 0.5 * counts.max()].max())


def prob_better(draws: pd.DataFrame, a: str, b: str) -> float:
    """Posterior probability that site ``a``'s reduction exceeds site ``b``'s.

    "Exceeds" means a lower (more negative) relative effect: P(effect_a < effect_b).
    """
    for site in (a, b):
        if site not in draws:
            raise ValueError(f"site {site!r} not observed here; sites: {list(draws.columns)}")
    return float((draws[a].to_numpy() < draws[b].to_numpy()).mean())


def pairwise(draws: pd.DataFrame, sites: Sequence[str] | None = None) -> pd.DataFrame:
    """Matrix of P(row site reduced admissions more than column site).

    Returns
    -------
    pandas.DataFrame
        Square, indexed and columned by site; the diagonal is NaN.
    """
    sites = list(draws.columns if sites is None else sites)
    missing = [site for site in sites if site not in draws]
    if missing:
        raise ValueError(
            f"site(s) {missing} not observed at this event time or window; observed: "
            f"{list(draws.columns)}"
        )
    if len(sites) < 2:
        raise ValueError(f"pairwise comparisons need at least two sites, got {sites}")
    values = draws[sites].to_numpy()
    prob = (values[:, :, None] < values[:, None, :]).mean(axis=0)
    np.fill_diagonal(prob, np.nan)
    return pd.DataFrame(prob, index=sites, columns=sites)


def ranks(draws: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
    """Posterior ranks of sites (1 = largest reduction) with intervals.

    Returns
    -------
    pandas.DataFrame
        ``id, rank_mean, rank_lower, rank_upper, prob_best, effect_mean``, sorted by mean rank.
        The interval bounds are ranks that occur in the draws (whole numbers: the
        ``inverted_cdf`` quantiles), never fractions such as ``1.45 to 6.55``.
    """
    values = draws.to_numpy()
    order = np.argsort(np.argsort(values, axis=1, kind="stable"), axis=1) + 1
    alpha = (1 - level) / 2
    lower, upper = np.quantile(order, [alpha, 1 - alpha], axis=0, method="inverted_cdf")
    table = pd.DataFrame(
        {
            "id": list(draws.columns),
            "rank_mean": order.mean(axis=0),
            "rank_lower": lower.astype(np.int64),
            "rank_upper": upper.astype(np.int64),
            "prob_best": (order == 1).mean(axis=0),
            "effect_mean": values.mean(axis=0),
        }
    )
    return table.sort_values("rank_mean", kind="stable").reset_index(drop=True)


def time_to_detectable(
    effects: pd.DataFrame, *, threshold: float = 0.9, scope: str = "unit"
) -> pd.DataFrame:
    """First event time at which each site's ``prob_negative`` reaches ``threshold``.

    Parameters
    ----------
    effects : pandas.DataFrame
        An effects table (``Fit.effects()`` or ``effects.csv``).
    threshold : float, default 0.9
        Posterior probability of a reduction that counts as detectable.
    scope : {"unit", "group", "pooled", "predictive"}
        Which rows to use.

    Returns
    -------
    pandas.DataFrame
        ``id, first_detectable`` (NaN where never reached), ``last_event_time`` observed, and
        ``sustained`` (True when every later event time also reaches the threshold).
    """
    rows = effects[
        (effects["scope"] == scope)
        & (effects["measure"] == "relative")
        & (effects["event_time"] >= 0)
    ]
    out = []
    for site, g in rows.groupby("id", sort=True):
        g = g.sort_values("event_time")
        hit = g["prob_negative"].to_numpy() >= threshold
        first = g["event_time"].to_numpy()[hit.argmax()] if hit.any() else np.nan
        sustained = bool(hit.any() and hit[hit.argmax() :].all())
        out.append((site, first, int(g["event_time"].max()), sustained))
    return pd.DataFrame(out, columns=["id", "first_detectable", "last_event_time", "sustained"])


def aggregate(
    fit,
    *,
    by: str = "event_time",
    weights: str = "expected",
    level: float | None = None,
    include_placebo: bool = False,
) -> pd.DataFrame:
    """Relative effect aggregated by event time, adoption cohort, calendar period or site.

    Per draw, a weighted mean of the cells' relative effects ``exp(tau) - 1``:
    ``expected`` weights by expected admissions without the programme (equal to
    ``sum mu1 / sum mu0 - 1``, the ``pooled`` estimand), ``exposure`` by population and
    ``equal`` gives every treated cell the same weight.

    Parameters
    ----------
    fit : Fit
        A fitted count model.
    by : {"event_time", "cohort", "period", "unit", "group"}
        Aggregation key.
    weights : {"expected", "exposure", "equal"}
        Cell weights.
    level : float, optional
        Interval mass (default the fit's level).
    include_placebo : bool, default False
        Include placebo (pre-adoption) cells.

    Returns
    -------
    pandas.DataFrame
        ``by, id, weights, mean, sd, lower, upper, prob_negative, cells``.
    """
    if by not in BY:
        raise ValueError(f"by must be one of {BY}, got {by!r}")
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    level = fit.config.get("level", 0.9) if level is None else level
    cells = _cells(fit)
    p = fit.panel
    keep = np.ones(cells.unit.size, dtype=bool)
    if not include_placebo:
        keep = cells.event_time >= cells.first_effect_time
    period = p.period_idx[fit.design.effect_cells]
    if by == "event_time":
        key_values = cells.event_time.astype(str)
    elif by == "cohort":
        key_values = np.asarray(p.period_labels, dtype=object)[p.adoption_idx[cells.unit]]
    elif by == "period":
        key_values = np.asarray(p.period_labels, dtype=object)[period]
    else:
        entity, labels = _entity(fit, cells, by)
        key_values = np.asarray(labels, dtype=object)[entity]
    ids, key = np.unique(key_values[keep], return_inverse=True)
    if by == "event_time":
        order = np.argsort(ids.astype(int))
        ids, key = ids[order], np.argsort(order)[key]
    relative = cells.mu1[:, keep] / cells.mu0[:, keep] - 1.0
    if weights == "expected":
        w = cells.mu0[:, keep]
    elif weights == "exposure":
        w = np.broadcast_to(cells.exposure[keep], relative.shape)
    else:
        w = np.ones_like(relative)
    onehot = np.zeros((key.size, ids.size))
    onehot[np.arange(key.size), key] = 1.0
    draws = ((relative * w) @ onehot) / (w @ onehot)
    s = summarise(draws, level)
    return pd.DataFrame(
        {
            "by": by,
            "id": ids.astype(str),
            "weights": weights,
            **{k: s[k] for k in ("mean", "sd", "lower", "upper", "prob_negative")},
            "cells": onehot.sum(axis=0).astype(int),
        }
    )


def averted(effects: pd.DataFrame, *, scope: str = "unit") -> pd.DataFrame:
    """Cumulative admissions averted per site since adoption (last observed event time).

    Returns
    -------
    pandas.DataFrame
        ``id, event_time, mean, lower, upper, prob_negative`` of the ``cumulative`` measure;
        negative values are admissions averted.
    """
    rows = effects[(effects["scope"] == scope) & (effects["measure"] == "cumulative")]
    last = rows.sort_values("event_time").groupby("id", sort=True).tail(1)
    cols = ["id", "event_time", "mean", "lower", "upper", "prob_negative"]
    return last[cols].sort_values("mean").reset_index(drop=True)
