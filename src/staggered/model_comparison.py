"""Compare fitted models: PSIS-LOO on the untreated cells, and their pooled effects side by side.

The counterfactual model is what differs between specs, and it is tested where the outcome is
untreated: comparison cells (never-treated units and treated units before adoption, outside
any anticipation or placebo window). LOO on treated cells would mostly score the flexible
effect terms instead.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import arviz as az


def comparison_cells(fit) -> np.ndarray:
    """Indices of the cells that inform only the counterfactual in this fit."""
    return np.flatnonzero(~fit.design.effect_cell)


def untreated_log_likelihood(fit, cells: np.ndarray | None = None) -> az.InferenceData:
    """Pointwise log-likelihood of the observed outcome on untreated cells, per draw.

    Parameters
    ----------
    fit : Fit
        A fit (fresh or loaded).
    cells : numpy.ndarray, optional
        Cell indices to keep (default: the fit's comparison cells).

    Returns
    -------
    arviz.InferenceData
        With ``posterior`` (free parameters) and ``log_likelihood`` (variable ``y``, dims
        chain, draw, cell) groups.
    """
    import arviz as az
    import pymc as pm

    from staggered.models import build_model

    model = build_model(
        fit.design,
        fit.spec,
        prior_loc=fit.config.get("prior_loc"),
        prior_scale=fit.config.get("prior_scale"),
    )
    free = [rv.name for rv in model.free_RVs]
    idata = az.InferenceData(posterior=fit.idata.posterior[free])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ll = pm.compute_log_likelihood(
            idata, model=model, extend_inferencedata=False, progressbar=False
        )
    keep = comparison_cells(fit) if cells is None else cells
    # the posterior is needed for the relative efficiency of the draws (reff)
    return az.InferenceData(posterior=idata.posterior, log_likelihood=ll.isel(cell=keep))


def compare_models(fits: dict, *, level: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PSIS-LOO on the cells that are untreated in every fit, and pooled effects side by side.

    Parameters
    ----------
    fits : dict
        Name -> Fit, all fitted to the same panel.
    level : float, optional
        Interval mass for the pooled effects (default: the first fit's level).

    Returns
    -------
    loo_table : pandas.DataFrame
        ArviZ's comparison table (``elpd_loo, p_loo, elpd_diff, weight, se, dse``, ...) plus
        ``n_cells`` and ``pareto_k_over_0.7`` (cells whose LOO estimate is unreliable).
    pooled : pandas.DataFrame
        ``model, event_time, mean, lower, upper, prob_negative`` of the pooled effect.
    """
    import arviz as az

    if len(fits) < 2:
        raise ValueError("compare at least two fits")
    names = list(fits)
    # compare on the whole panel: an estimation fit may leave cells out (never-treated
    # comparison keeps one base cell per treated unit)
    source = {n: f.source_panel if f.source_panel is not None else f.panel for n, f in fits.items()}
    first = source[names[0]]
    for name in names[1:]:
        other = source[name]
        if other.n_cells != first.n_cells or not np.array_equal(other.y, first.y):
            raise ValueError(f"fit {name!r} was fitted to a different panel than {names[0]!r}")
    cell_keys = pd.Index(first.unit_idx * first.n_periods + first.period_idx)
    untreated = np.ones(first.n_cells, dtype=bool)
    positions = {}
    for name, fit in fits.items():
        p = fit.panel
        positions[name] = cell_keys.get_indexer(p.unit_idx * first.n_periods + p.period_idx)
        untreated_here = np.zeros(first.n_cells, dtype=bool)
        untreated_here[positions[name][~fit.design.effect_cell]] = True
        untreated &= untreated_here
    cells = np.flatnonzero(untreated)
    loos, bad_k = {}, {}
    for name, fit in fits.items():
        ll = untreated_log_likelihood(fit, pd.Index(positions[name]).get_indexer(cells))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pareto-k warnings are reported in the table
            loo = az.loo(ll, pointwise=True)
        loos[name] = loo
        bad_k[name] = int((np.asarray(loo.pareto_k) > 0.7).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare(loos, ic="loo")
    table["n_cells"] = cells.size
    table["pareto_k_over_0.7"] = pd.Series(bad_k)
    rows = []
    for name, fit in fits.items():
        eff = fit.effects(level=level, scopes=("pooled",))
        measure = "relative" if fit.spec.is_count else "absolute"
        eff = eff[eff.measure == measure]
        rows.append(
            eff.assign(model=name)[
                ["model", "event_time", "mean", "lower", "upper", "prob_negative"]
            ]
        )
    return table, pd.concat(rows, ignore_index=True)


def plot_pooled_by_model(pooled: pd.DataFrame, *, ax=None, caveat: str = "", relative: bool = True):
    """Pooled effect curves of several models with their intervals, on one axis.

    Parameters
    ----------
    pooled : pandas.DataFrame
        The second table of :func:`compare_models`.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of a new figure.
    caveat : str, optional
        Drawn in white on a red strip across the top (e.g. which models did not converge).
    relative : bool, default True
        The effects are relative (count models): the axis shows percentages, as the other
        figures do. False for the absolute effects of Gaussian models.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4))
    models = list(dict.fromkeys(pooled["model"]))
    width = 0.8 / max(len(models), 1)
    for k, name in enumerate(models):
        d = pooled[pooled.model == name]
        x = d.event_time + (k - (len(models) - 1) / 2) * width
        ax.errorbar(
            x,
            d["mean"],
            yerr=[np.clip(d["mean"] - d.lower, 0, None), np.clip(d.upper - d["mean"], 0, None)],
            fmt="o-",
            ms=3,
            lw=1,
            capsize=2,
            label=name,
        )
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xlabel("periods since adoption (event time)")
    if relative:
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("change in admission rate" if relative else "pooled effect")
    ax.set_title("Pooled effect by model: does the conclusion depend on the model?")
    ax.legend(fontsize=8)
    from staggered.plots import caveat_strip

    caveat_strip(fig, caveat)
    return fig
