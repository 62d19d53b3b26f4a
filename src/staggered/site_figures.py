"""Figures of site effects: small multiples, forest plot, ranks and effect modifiers.

Every figure names the event time its sites are ranked or compared at and how many sites it
shows of how many (:func:`shown_text`); the small multiples follow the order of the rankings
(:func:`site_order`). Re-exported by :mod:`staggered.plots`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from staggered import compare
from staggered.plots import _err, _finish, _pct, wrap_title

__all__ = [
    "forest",
    "modifier_plot",
    "rank_plot",
    "shown_text",
    "site_order",
    "site_trajectories",
]

_NOUNS = {"unit": "areas", "group": "programmes"}


def shown_text(
    shown: int, observed: int, total: int, scope: str, where: str, *, basis: str = "best ranked"
) -> str:
    """Say how many sites a figure or table shows, of how many, and at which event time.

    Parameters
    ----------
    shown : int
        Sites drawn.
    observed : int
        Sites observed at ``where`` (the ones that can be ranked there).
    total : int
        Sites with any effect (treated within the panel).
    scope : {"unit", "group"}
        Areas or programmes.
    where : str
        The event time(s), e.g. ``"event time 6"``.
    basis : str, default "best ranked"
        Which sites were kept when not all are shown.

    Returns
    -------
    str
        E.g. ``"30 of 77 areas shown (the 30 best ranked at event time 6; 28 of 105 treated
        areas have not reached it)"``.
    """
    noun = _NOUNS.get(scope, "sites")
    text = (
        f"{shown} of {observed} {noun} shown (the {basis} at {where})"
        if shown < observed
        else f"all {observed} {noun} observed at {where} shown"
    )
    if observed < total:
        text += f"; {total - observed} of {total} treated {noun} have not reached it"
    return text


def site_order(fit, *, scope: str = "unit", event_time: int | None = None) -> tuple[list, dict]:
    """Sites in the order of the rankings (:func:`rank_plot`, ``compare-sites``, the report).

    Sites observed at the ranking event time (default :func:`compare.default_event_time`)
    come first, by posterior mean rank (1 = largest reduction); sites that have not reached it
    follow, by their effect at their last observed event time.

    Returns
    -------
    order : list of str
        Site ids.
    info : dict
        ``event_time`` (the ranking event time), ``observed`` (sites ranked there) and
        ``total`` (all sites).
    """
    draws = compare.site_effect_draws(fit, scope=scope, event_time=event_time)
    ranked = [str(i) for i in compare.ranks(draws, level=fit.config.get("level", 0.9))["id"]]
    eff = fit.effects(scopes=(scope,))
    rel = eff[(eff.measure == "relative") & (eff.event_time >= fit.design.first_effect_time)]
    last = rel.sort_values("event_time").groupby("id").tail(1).sort_values("mean")
    rest = [str(i) for i in last["id"] if str(i) not in set(ranked)]
    info = {"event_time": draws.attrs["window"][0], "observed": len(ranked)}
    info["total"] = len(ranked) + len(rest)
    return ranked + rest, info


def _trajectories_note(n_drawn: int, info: dict, scope: str) -> str:
    """Which sites the small multiples draw: those ranked at the event time, then the rest."""
    noun = _NOUNS.get(scope, "sites")
    observed, total, where = info["observed"], info["total"], f"event time {info['event_time']}"
    ranked = min(n_drawn, observed)
    text = shown_text(ranked, observed, observed, scope, where) + ", in rank order"
    later, drawn_later = total - observed, n_drawn - ranked
    if drawn_later == later and later:
        text += (
            f"; then the {later} of {total} treated {noun} that have not reached it, by their "
            "effect at their last observed event time"
        )
    elif drawn_later:
        text += (
            f"; then {drawn_later} of the {later} treated {noun} that have not reached it, by "
            "their effect at their last observed event time"
        )
    elif later:
        text += f"; {later} of {total} treated {noun} have not reached it (not drawn)"
    return text


def site_trajectories(
    fit,
    *,
    scope: str = "unit",
    event_time: int | None = None,
    max_sites: int = 30,
    ncols: int = 6,
):
    """Small multiples: each site's relative effect over event time against the pooled curve.

    Sites are drawn in the order of the rankings at ``event_time`` (default: the latest one
    that at least half as many sites reach as the best-covered one, as in :func:`rank_plot`
    and ``compare-sites``), marked by a dotted line; sites that have not reached it follow, by
    their effect at their last observed event time. At most ``max_sites`` are drawn, and the
    title says how many of each.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    level = fit.config.get("level", 0.9)
    eff = fit.effects(scopes=("pooled", scope))
    rel = eff[(eff.measure == "relative") & (eff.event_time >= fit.design.first_effect_time)]
    pooled = rel[rel.scope == "pooled"]
    sites = rel[rel.scope == scope].assign(id=lambda d: d["id"].astype(str))
    ranked, info = site_order(fit, scope=scope, event_time=event_time)
    order = ranked[:max_sites]
    e = info["event_time"]
    nrows = int(np.ceil(len(order) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(2.1 * ncols, 1.7 * nrows + 0.8),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for ax, site in zip(axes.ravel(), order, strict=False):
        s = sites[sites.id == site]
        ax.axhline(0, color="0.6", lw=0.6)
        ax.axvline(e, color="0.6", ls=":", lw=0.8)
        ax.plot(pooled.event_time, pooled["mean"], color="0.5", lw=1)
        ax.fill_between(s.event_time, s.lower, s.upper, color="C0", alpha=0.3)
        ax.plot(s.event_time, s["mean"], color="C0", lw=1.2)
        ax.set_title(str(site), fontsize=8)
        ax.tick_params(labelsize=7)
        _pct(ax)
    for ax in axes.ravel()[len(order) :]:
        ax.set_visible(False)
    note = _trajectories_note(len(order), info, scope)
    title = (
        f"{_NOUNS.get(scope, 'Sites').capitalize()}: change in admission rate by time since "
        f"adoption (blue, {level:.0%} interval) vs pooled (grey)\n{note}; dotted line: "
        f"event time {e}"
    )
    fig.suptitle(wrap_title(title, fig), fontsize=9)
    _finish(fig, fit)
    return fig


def forest(
    fit, *, event_time: int | None = None, scope: str = "unit", max_sites: int = 80, ax=None
):
    """Forest plot of site effects at one event time (default: :func:`compare.default_event_time`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    eff = fit.effects(scopes=(scope, "pooled", "predictive"))
    rel = eff[eff.measure == "relative"]
    sites = rel[rel.scope == scope]
    if event_time is None:
        post = sites[sites.event_time >= fit.design.first_effect_time]
        event_time = compare.default_event_time(
            post.event_time.to_numpy(), pd.factorize(post.id)[0], fit.design.first_effect_time
        )
    at = sites[sites.event_time == event_time].sort_values("mean")
    s = at.head(max_sites)
    fig, ax = (
        (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 1.2 + 0.22 * (len(s) + 2)))
    )
    y = np.arange(len(s))[::-1] + 2
    ax.errorbar(
        s["mean"],
        y,
        xerr=_err(s["mean"], s.lower, s.upper),
        fmt="o",
        color="C0",
        ms=3,
        capsize=0,
        lw=1,
    )
    for name, row_y, color in (("pooled", 1, "k"), ("predictive", 0, "C2")):
        r = rel[(rel.scope == name) & (rel.event_time == event_time)]
        if len(r):
            ax.errorbar(
                r["mean"],
                [row_y],
                xerr=_err(r["mean"], r.lower, r.upper),
                fmt="D",
                color=color,
                ms=4,
                capsize=0,
            )
    ax.set_yticks(list(y) + [1, 0])
    ax.set_yticklabels(list(s["id"]) + ["pooled", "new site (predictive)"], fontsize=7)
    ax.axvline(0, color="0.4", lw=0.8)
    _pct(ax, "x")
    ax.set_xlabel(f"change in admission rate at event time {event_time}")
    n_total = sites[sites.event_time >= fit.design.first_effect_time]["id"].nunique()
    where = f"event time {event_time}"
    note = shown_text(len(s), len(at), n_total, scope, where, basis="largest reductions")
    title = f"Site effects {event_time} periods after adoption\n{note}"
    ax.set_title(wrap_title(title, fig), fontsize=9)
    _finish(fig, fit)
    return fig


def rank_plot(
    fit,
    *,
    scope: str = "unit",
    event_time: int | None = None,
    window: tuple[int, int] | None = None,
    max_sites: int = 40,
    ax=None,
):
    """Posterior ranks of sites (1 = largest reduction) with intervals.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    draws = compare.site_effect_draws(fit, scope=scope, event_time=event_time, window=window)
    ranked = compare.ranks(draws, level=fit.config.get("level", 0.9))
    r = ranked.head(max_sites)
    first, last = draws.attrs["window"]
    where = f"event time {first}" if first == last else f"event times {first} to {last}"
    eff = fit.effects(scopes=(scope,))
    n_total = eff[eff.event_time >= fit.design.first_effect_time]["id"].nunique()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 1.0 + 0.22 * len(r)))
    y = np.arange(len(r))[::-1]
    ax.errorbar(
        r.rank_mean,
        y,
        xerr=_err(r.rank_mean, r.rank_lower, r.rank_upper),
        fmt="o",
        ms=3,
        lw=1,
        color="C0",
    )
    ax.set_yticks(y)
    ax.set_yticklabels(r["id"], fontsize=7)
    ax.set_xlabel(f"posterior rank at {where} (1 = largest reduction)")
    title = f"Site ranks at {where}: overlapping ranks cannot be told apart\n" + shown_text(
        len(r), len(ranked), n_total, scope, where
    )
    ax.set_title(wrap_title(title, fig), fontsize=9)
    _finish(fig, fit)
    return fig


def modifier_plot(fit, *, event_time: int | None = None, ncols: int = 3):
    """Site effects at one event time against each effect modifier, with the fitted line.

    One panel per modifier: each treated area observed at ``event_time`` (default: the latest
    one that at least half as many areas reach as the best-covered one, as in
    :func:`forest`) at its modifier value, with its effect and interval; the line and band are
    the fitted effect for a site with that value and the other modifiers at the treated areas'
    means (no site deviation). Needs a fit with modifiers.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from staggered.modifier_effects import default_event_time, modifier_curve_draws

    p, design = fit.panel, fit.design
    if not p.n_modifiers:
        raise ValueError("this fit has no effect modifiers (fit with modifiers=[...])")
    level = fit.config.get("level", 0.9)
    e = default_event_time(design) if event_time is None else int(event_time)
    effect_times = design.event_times[design.event_times >= design.first_effect_time]
    if e not in effect_times:
        raise ValueError(f"event_time {e} is not an effect time of this fit ({effect_times})")
    measure = "relative" if fit.spec.is_count else "absolute"
    eff = fit.effects(scopes=("unit",))
    rel = eff[(eff.measure == measure) & (eff.event_time >= design.first_effect_time)]
    n_total = rel["id"].nunique()
    at = rel[rel.event_time == e].set_index("id")
    labels = [str(u) for u in p.unit_labels]
    values = {str(u): p.modifiers[i] for i, u in enumerate(labels)}
    k = p.n_modifiers
    ncols = min(ncols, k)
    nrows = int(np.ceil(k / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows + 0.9), sharey=True, squeeze=False
    )
    alpha = (1 - level) / 2
    for j, (ax, name) in enumerate(zip(axes.ravel(), p.modifier_names, strict=False)):
        x = np.array([values[i][j] for i in at.index])
        ax.errorbar(
            x,
            at["mean"],
            yerr=_err(at["mean"], at.lower, at.upper),
            fmt="o",
            ms=3,
            lw=0.8,
            color="C0",
            alpha=0.8,
        )
        grid = np.linspace(x.min(), x.max(), 50)
        curve = modifier_curve_draws(fit.idata.posterior, design, fit.spec, name, grid)
        col = curve[:, :, int(np.searchsorted(effect_times, e))]
        lo, hi = np.quantile(col, [alpha, 1 - alpha], axis=0)
        ax.fill_between(grid, lo, hi, color="C1", alpha=0.25, lw=0)
        ax.plot(grid, col.mean(axis=0), color="C1", lw=1.5)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_xlabel(str(name), fontsize=8)
        ax.tick_params(labelsize=7)
        if fit.spec.is_count:
            _pct(ax)
    for ax in axes.ravel()[k:]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(f"change in admission rate at event time {e}", fontsize=8)
    note = shown_text(len(at), len(at), n_total, "unit", f"event time {e}")
    title = (
        f"Site effects at event time {e} against effect modifiers (blue, {level:.0%} "
        f"intervals); fitted effect for a site with that value and the other modifiers at "
        f"their means (orange, {level:.0%} band)\n{note}"
    )
    fig.suptitle(wrap_title(title, fig), fontsize=9)
    _finish(fig, fit)
    return fig
