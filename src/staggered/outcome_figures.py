"""Figures of a fit of several outcomes: each site's effect on one outcome against another.

:func:`outcome_scatter` draws every treated site observed at an event time (default: the event
time of the site figures, which at least half as many sites reach as the best-covered one) as
a point at its relative effects on two outcomes, with both intervals, and says how many sites it
shows of how many. :func:`write_outcome_figures` writes it (``outcomes.png``, one panel per pair
of outcomes) and each outcome's single-outcome figures (``<outcome>_event_study.png``, ...).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from staggered.plots import _finish, wrap_title

__all__ = ["outcome_scatter", "scatter_event_time", "write_outcome_figures"]


def scatter_event_time(fit) -> int:
    """The site figures' event time: the latest one at least half as many sites reach."""
    from staggered.modifier_effects import default_event_time

    return default_event_time(fit.design)


def outcome_scatter(
    fit, a: str | None = None, b: str | None = None, *, event_time: int | None = None, ax=None
):
    """Each site's relative effect on outcome ``a`` (x) against outcome ``b`` (y).

    Parameters
    ----------
    fit : staggered.fit.Fit
        A fit of two or more outcomes (count model).
    a, b : str, optional
        Outcomes (default: the first two fitted).
    event_time : int, optional
        Event time compared (default :func:`scatter_event_time`).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if len(fit.outcomes) < 2:
        raise ValueError("outcome_scatter needs a fit of two or more outcomes")
    a = fit.outcomes[0] if a is None else a
    b = fit.outcomes[1] if b is None else b
    e = scatter_event_time(fit) if event_time is None else int(event_time)
    eff = fit.effects(scopes=("unit",))
    rel = eff[(eff.measure == "relative") & (eff.event_time == e)]
    xa = rel[rel.outcome == a].set_index("id")
    yb = rel[rel.outcome == b].set_index("id").loc[xa.index]
    total = eff[eff.event_time >= fit.design.first_effect_time]["id"].nunique()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.2, 5.6))
    else:
        fig = ax.figure
    ax.errorbar(
        xa["mean"],
        yb["mean"],
        xerr=[xa["mean"] - xa["lower"], xa["upper"] - xa["mean"]],
        yerr=[yb["mean"] - yb["lower"], yb["upper"] - yb["mean"]],
        fmt="o",
        ms=4,
        color="#1565c0",
        ecolor="#90caf9",
        elinewidth=1,
    )
    for site, x, y in zip(xa.index, xa["mean"], yb["mean"], strict=True):
        ax.annotate(str(site), (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    from matplotlib.ticker import PercentFormatter

    for axis in (ax.xaxis, ax.yaxis):  # effects of a few percent: one decimal
        axis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set_xlabel(f"effect on {a} (relative)")
    ax.set_ylabel(f"effect on {b} (relative)")
    joint = fit.joint()
    corr = joint[
        (joint.measure == "site_correlation") & (joint.event_time == e) & (joint.outcome_a == a)
    ]
    corr_text = (
        f"; correlation over sites {corr['mean'].iloc[0]:+.2f} "
        f"({corr['lower'].iloc[0]:+.2f} to {corr['upper'].iloc[0]:+.2f})"
        if len(corr)
        else ""
    )
    level = fit.config.get("level", 0.9)
    ax.set_title(
        wrap_title(
            f"Site effects at event time {e}: all {len(xa)} areas observed there "
            f"(of {total} treated), {level:.0%} intervals{corr_text}",
            fig,
        ),
        fontsize=9,
    )
    _finish(fig, fit)
    return fig


def write_outcome_figures(fit, out: str | Path) -> list[Path]:
    """Write ``outcomes.png`` and each outcome's figures as ``<outcome>_<figure>.png``."""
    import matplotlib.pyplot as plt

    from staggered.plots import write_figures

    out = Path(out)
    paths = []
    for name in fit.outcomes:
        for path in write_figures(fit.outcome_fit(name), out):
            target = path.with_name(f"{name}_{path.name}")
            path.replace(target)
            paths.append(target)
    if fit.spec.is_count:
        pairs = list(combinations(fit.outcomes, 2))
        ncols = min(len(pairs), 3)
        nrows = int(np.ceil(len(pairs) / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 5.6 * nrows), squeeze=False)
        for ax, (a, b) in zip(axes.ravel(), pairs, strict=False):
            outcome_scatter(fit, a, b, ax=ax)
        for ax in axes.ravel()[len(pairs) :]:
            ax.set_visible(False)
        fig.savefig(out / "outcomes.png", dpi=110)
        plt.close(fig)
        paths.append(out / "outcomes.png")
    return paths
