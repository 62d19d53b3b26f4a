"""Figures: event study, site trajectories, forest plot, observed vs counterfactual, ranks.

The site figures (trajectories, forest, ranks) live in :mod:`staggered.site_figures` and are
importable from here.

Each function accepts ``ax=`` where it draws one panel and returns the matplotlib Figure.
No ``plt.show()`` here. Figures of a fit whose sampler did not converge carry a red strip
across the top that says so (:func:`caveat_strip`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from staggered.diagnostics_text import caveat_text
from staggered.effects import _CellDraws, estimand_draws

__all__ = [
    "caveat_strip",
    "event_study",
    "forest",
    "modifier_plot",
    "observed_vs_counterfactual",
    "rank_plot",
    "shown_text",
    "simultaneous_band",
    "site_order",
    "site_trajectories",
    "write_figures",
]

# height of the caveat strip on figures of unconverged fits
_STRIP_INCHES = 0.32


def simultaneous_band(draws: np.ndarray, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Band that contains the whole curve with posterior probability ``level``.

    Max-|z| construction: standardise each draw of the curve by the pointwise mean and sd, take
    the ``level`` quantile c of the largest |z| along the curve, and return mean +- c sd.

    Parameters
    ----------
    draws : numpy.ndarray
        (sample, point) draws of a curve.
    level : float
        Joint coverage.

    Returns
    -------
    lower, upper : numpy.ndarray
    """
    mean = draws.mean(axis=0)
    sd = draws.std(axis=0, ddof=1)
    sd = np.where(sd > 0, sd, np.finfo(float).tiny)
    z = np.abs(draws - mean) / sd
    c = np.quantile(z.max(axis=1), level)
    return mean - c * sd, mean + c * sd


def _err(center, lower, upper) -> list:
    """Errorbar extents, clipped at zero: a skewed posterior's mean can lie outside its interval."""
    center, lower, upper = (np.asarray(v, dtype=float) for v in (center, lower, upper))
    return [np.clip(center - lower, 0, None), np.clip(upper - center, 0, None)]


def wrap_title(text: str, fig, fontsize: float = 9) -> str:
    """Wrap each line of a (sub)title to the width of ``fig``, so that none is cut off."""
    import textwrap

    width = max(30, int(0.9 * 72 * fig.get_figwidth() / (0.6 * fontsize)))
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def caveat_strip(fig, text: str) -> None:
    """Lay out ``fig`` leaving a band at the top, and draw ``text`` in white on red there.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (laid out here with ``tight_layout``).
    text : str
        The caveat; an empty string only lays the figure out.
    """
    from matplotlib.patches import Rectangle

    if not text:
        fig.tight_layout()
        return
    band = min(0.3, _STRIP_INCHES / fig.get_figheight())
    title = getattr(fig, "_suptitle", None)
    if title is not None:
        title.set_y(1 - band - 0.01)
    fig.tight_layout(rect=(0, 0, 1, 1 - band))
    fig.add_artist(
        Rectangle(
            (0, 1 - band),
            1,
            band,
            transform=fig.transFigure,
            facecolor="#c62828",
            edgecolor="none",
            zorder=10,
        )
    )
    size = min(9.0, 0.95 * 72 * fig.get_figwidth() / (0.6 * len(text)))
    fig.text(
        0.5,
        1 - band / 2,
        text,
        ha="center",
        va="center",
        color="white",
        fontsize=size,
        fontweight="bold",
        zorder=11,
    )


def _finish(fig, fit) -> None:
    """Lay out a figure of ``fit``, with the caveat strip if its sampler did not converge."""
    caveat_strip(fig, caveat_text(fit.diagnostics))


def _pct(ax, axis: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def event_study(fit, *, level: float | None = None, ax=None):
    """Pooled relative effect by event time: pointwise and simultaneous bands, placebo times.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    level = fit.config.get("level", 0.9) if level is None else level
    measure = "relative" if fit.spec.is_count else "absolute"
    _, et, draws = estimand_draws(fit.idata.posterior, fit.design, fit.spec)
    d = draws[measure]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(d, [alpha, 1 - alpha], axis=0)
    post = et >= fit.design.first_effect_time
    slo, shi = simultaneous_band(d[:, post], level)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4))
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axvline(fit.design.first_effect_time - 0.5, color="0.6", ls=":", lw=1)
    ax.fill_between(
        et[post], slo, shi, color="C0", alpha=0.15, label=f"{level:.0%} simultaneous band"
    )
    ax.fill_between(
        et[post], lo[post], hi[post], color="C0", alpha=0.3, label=f"{level:.0%} pointwise interval"
    )
    ax.plot(et[post], d[:, post].mean(axis=0), "o-", color="C0", label="pooled effect")
    if fit.pretrend is not None:  # placebo effects from the separate pre-trend check fit
        check = fit.pretrend
        _, pet, pdraws = estimand_draws(check.idata.posterior, check.design, check.spec)
        pd_ = pdraws[measure]
        plo, phi = np.quantile(pd_, [alpha, 1 - alpha], axis=0)
        ax.errorbar(
            pet,
            pd_.mean(axis=0),
            yerr=_err(pd_.mean(axis=0), plo, phi),
            fmt="s",
            color="C1",
            capsize=3,
            label="placebo (pre-trend check, fitted apart)",
        )
    ax.set_xlabel("periods since adoption (event time)")
    ax.set_ylabel("change in admission rate" if measure == "relative" else "effect")
    if measure == "relative":
        _pct(ax)
    ax.set_title("Pooled effect of the programme by time since adoption")
    ax.legend(fontsize=8, loc="lower left")
    _finish(fig, fit)
    return fig


def observed_vs_counterfactual(fit, site, *, level: float | None = None, ax=None):
    """Observed admissions of one site over calendar time, with the counterfactual band.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    level = fit.config.get("level", 0.9) if level is None else level
    p = fit.panel
    labels = [str(u) for u in p.unit_labels]
    if str(site) not in labels:
        raise ValueError(f"unknown site {site!r}")
    u = labels.index(str(site))
    cells = _CellDraws(fit.idata.posterior, fit.design, fit.spec)
    mine = cells.unit == u
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.8))
    rows = p.unit_idx == u
    x_all = p.period_idx[rows]
    ax.plot(x_all, p.y[rows], "o-", color="k", ms=3, lw=1, label="observed")
    if mine.any():
        x = p.period_idx[fit.design.effect_cells][mine]
        alpha = (1 - level) / 2
        for draws, color, name in (
            (cells.mu0[:, mine], "C1", "without programme"),
            (cells.mu1[:, mine], "C0", "with programme (fitted)"),
        ):
            lo, hi = np.quantile(draws, [alpha, 1 - alpha], axis=0)
            ax.fill_between(x, lo, hi, color=color, alpha=0.25)
            ax.plot(x, draws.mean(axis=0), color=color, lw=1.5, label=name)
    adopt = p.adoption_idx[u]
    if adopt >= 0:
        ax.axvline(adopt - 0.5, color="0.5", ls=":", lw=1, label="adoption")
    ticks = np.unique(np.linspace(0, p.n_periods - 1, min(p.n_periods, 8)).round().astype(int))
    ax.set_xticks(ticks)
    ax.set_xticklabels([p.period_labels[t] for t in ticks], fontsize=8)
    ax.set_ylabel("admissions per period")
    ax.set_title(f"{site}: observed vs expected admissions ({level:.0%} intervals)")
    ax.legend(fontsize=8)
    _finish(fig, fit)
    return fig


# the site figures use the helpers above
from staggered.site_figures import (  # noqa: E402
    forest,
    modifier_plot,
    rank_plot,
    shown_text,
    site_order,
    site_trajectories,
)


def write_figures(fit, out) -> list:
    """Write the main figures of a fit as PNGs into ``out``; return their paths.

    ``event_study.png`` always; ``sites.png``, ``forest.png`` and ``ranks.png`` for count
    models; ``modifiers.png`` with effect modifiers. A fit of several outcomes writes each
    outcome's figures as ``<outcome>_<figure>.png`` and ``outcomes.png``
    (:mod:`staggered.outcome_figures`).
    """
    import matplotlib.pyplot as plt

    if len(fit.outcomes) > 1:  # each outcome's figures, and sites' effects on two outcomes
        from staggered.outcome_figures import write_outcome_figures

        return write_outcome_figures(fit, out)
    out = Path(out)
    paths = []
    figures = {"event_study.png": lambda: event_study(fit)}
    if fit.spec.is_count:
        figures["sites.png"] = lambda: site_trajectories(fit)
        figures["forest.png"] = lambda: forest(fit)
        figures["ranks.png"] = lambda: rank_plot(fit)
    if fit.panel.n_modifiers and "modifier_coef" in fit.idata.posterior:
        figures["modifiers.png"] = lambda: modifier_plot(fit)
    for name, make in figures.items():
        fig = make()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        paths.append(out / name)
    return paths
