"""Words, figure and Markdown of an assurance run (:func:`staggered.assurance.assurance`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from staggered.assurance_result import AssuranceResult

__all__ = ["assurance_text", "headline_rows", "markdown", "plot_assurance"]


def headline_rows(table: pd.DataFrame, event_time: int | None = None) -> pd.DataFrame:
    """Rows of the estimand that decides detection, by sites and follow-up.

    ``event_time=None``: the cumulative effect since adoption; else the pooled relative
    effect at that event time (follow-ups too short to observe it have no row).
    """
    if event_time is None:
        rows = table[table["measure"] == "cumulative"]
    else:
        rows = table[(table["measure"] == "relative") & (table["event_time"] == event_time)]
    return rows.sort_values(["sites", "follow_up"]).reset_index(drop=True)


def plot_assurance(result, *, ax=None, event_time: int | None = None, target: float = 0.8):
    """P(detect) against years of follow-up, one line per number of sites.

    Error bars are ±1.96 Monte Carlo standard errors; the false-finding rate (no effect) is
    the dashed line of the same colour, the target assurance a dotted line.

    Parameters
    ----------
    result : AssuranceResult
        An assurance run.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    event_time : int, optional
        Detection by the pooled effect at this event time (default: the cumulative effect).
    target : float
        Reference line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    rows = headline_rows(result.table, event_time)
    for i, (n, grp) in enumerate(rows.groupby("sites")):
        color = f"C{i % 10}"
        ax.errorbar(
            grp["follow_up"],
            grp["assurance"],
            yerr=_bars(grp["assurance"], grp["assurance_se"]),
            color=color,
            marker="o",
            capsize=3,
            label=f"{n} sites",
        )
        if grp["false_finding"].notna().any():
            ax.errorbar(
                grp["follow_up"],
                grp["false_finding"],
                yerr=_bars(grp["false_finding"], grp["false_finding_se"]),
                color=color,
                ls="--",
                marker=".",
                capsize=2,
                alpha=0.8,
                label=f"{n} sites, no effect (false findings)",
            )
    ax.axhline(target, color="0.5", lw=0.8, ls=":")
    ax.set_xticks(sorted(rows["follow_up"].unique()))
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("years of follow-up (from the first adoption)")
    what = "cumulative effect" if event_time is None else f"effect at event time {event_time}"
    ax.set_ylabel(f"P(declared a reduction), {what}")
    s = result.settings
    ax.set_title(
        f"{s['effect_text']}; P(reduction) >= {s['threshold']:g}, "
        f"{int(rows['simulations'].max()) if len(rows) else 0} simulations",
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return ax


def _bars(p: pd.Series, se: pd.Series) -> np.ndarray:
    """±1.96 standard errors, clipped to [0, 1]."""
    p, half = p.to_numpy(float), 1.96 * se.fillna(0).to_numpy(float)
    return np.vstack([np.minimum(half, p), np.minimum(half, 1 - p)])


def markdown(result) -> str:
    """``assurance.md``: the paragraph, the headline table, the per-event-time table, the plot."""
    s = result.settings
    head = headline_rows(result.table)
    cols = ["sites", "follow_up", "assurance", "assurance_se", "false_finding"]
    cols += ["false_finding_se", "width", "width_se"]
    rel = result.table[result.table["measure"] == "relative"]
    lines = [
        "# Assurance of the planned evaluation",
        "",
        assurance_text(result),
        "",
        "![assurance](assurance.png)",
        "",
        "## Cumulative effect since adoption",
        "",
        "Interval width in admissions (all sites, all years since adoption).",
        "",
        _md_table(head[cols]),
        "",
        "## Pooled relative effect by event time",
        "",
        f"Interval width of the {s['level']:.0%} interval, on the relative scale.",
        "",
        _md_table(rel[["sites", "follow_up", "event_time", "truth", *cols[2:]]]),
        "",
        f"Settings: model {s['model']}, {s['draws']} draws after {s['tune']} warm-up (one "
        f"chain per fit), seed {s['random_seed']}, {s['mode']} panels. Full table: "
        "`assurance.csv`; every fit: `fits.csv`.",
        "",
    ]
    return "\n".join(lines)


def _md_table(df: pd.DataFrame) -> str:
    def fmt(v):
        if isinstance(v, float):
            if v != v:
                return ""
            return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3f}"
        return str(v)

    header = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def assurance_text(
    result: AssuranceResult, *, event_time: int | None = None, target: float = 0.8
) -> str:
    """A paragraph in plain words.

    Parameters
    ----------
    result : AssuranceResult
        An assurance run.
    event_time : int, optional
        Judge detection by the pooled relative effect at this event time; default the
        cumulative effect since adoption (all post-adoption years together).
    target : float
        Assurance to aim for: the paragraph says which number of sites and which follow-up
        reach it.

    Returns
    -------
    str
    """
    s = result.settings
    rows = headline_rows(result.table, event_time)
    what = (
        "the cumulative effect since adoption"
        if event_time is None
        else f"the pooled effect {event_time} period(s) after adoption"
    )
    comparison = (
        f"{s['comparison_areas']} comparison areas"
        if s["mode"] == "simulate"
        else "the panel's other units as comparison areas"
    )
    n_sims = int(rows["simulations"].max()) if len(rows) else 0
    parts = [
        f"Planned evaluation: {s['effect_text']}; {comparison}; {s['history']} years of history. "
        f"The effect counts as detected when {what} is declared a reduction (posterior "
        f"probability of a reduction at least {s['threshold']:g}); {n_sims} simulated "
        f"evaluations per setting, Monte Carlo standard errors in brackets."
    ]
    for n, grp in rows.groupby("sites"):
        by = [
            f"{r.assurance:.2f} ({r.assurance_se:.2f}) by year {r.follow_up}"
            for r in grp.itertuples()
        ]
        parts.append(f"With {n} sites it is detected with probability {_join(by)}.")
    if s.get("null") and rows["false_finding"].notna().any():
        worst = rows.loc[rows["false_finding"].idxmax()]
        low = rows["false_finding"].min()
        rate = (
            f"{worst.false_finding:.2f}"
            if f"{low:.2f}" == f"{worst.false_finding:.2f}"
            else f"{low:.2f} to {worst.false_finding:.2f}"
        )
        parts.append(
            f"Without any effect the same design declares a reduction with probability {rate} "
            f"(false-finding rate; highest with {worst.sites} sites by year {worst.follow_up})."
        )
    parts.append(_sites_needed(rows, target))
    parts.append(sampler_text(result.fits))
    return " ".join(p for p in parts if p)


def fit_divergences(fits: pd.DataFrame) -> np.ndarray:
    """Divergent transitions of each fit (``fits`` has one row per fit and estimand)."""
    per_fit = fits.drop_duplicates(["sites", "follow_up", "hypothesis", "simulation"])
    return per_fit["divergences"].to_numpy()


def sampler_text(fits: pd.DataFrame) -> str:
    """The sampler's warnings over the run's fits, in words ("" when no fit diverged)."""
    if fits.empty or "divergences" not in fits:
        return ""
    div = fit_divergences(fits)
    bad = div > 0
    if not bad.any():
        return ""
    return (
        f"Sampler warning: {bad.sum()} of {div.size} fits ({bad.mean():.0%}) had divergent "
        f"transitions (median {np.median(div[bad]):g}, at most {div.max()} per fit). They are "
        "counted as they are, so these probabilities carry their error too: rerun with more "
        "warm-up (tune) or draws to see whether they move."
    )


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sites_needed(rows: pd.DataFrame, target: float) -> str:
    """Which follow-up and how many sites reach ``target`` (linear interpolation in sites)."""
    if rows.empty:
        return ""
    longest = rows["follow_up"].max()
    last = rows[rows["follow_up"] == longest].sort_values("sites")
    first_reach = []
    for n, grp in rows.groupby("sites"):
        hit = grp[grp["assurance"] >= target]
        first_reach.append(
            f"{n} sites by year {hit['follow_up'].min()}"
            if len(hit)
            else f"{n} sites not within {longest} years"
        )
    text = f"An assurance of {target:g} is reached with {_join(first_reach)}."
    n, p = last["sites"].to_numpy(), last["assurance"].to_numpy()
    if len(n) < 2:
        return text + " Give several site counts (sites=[20, 40, 60]) to see how many it takes."
    if p[0] >= target:
        return text + f" Even {n[0]} sites reach it by year {longest}."
    if p[-1] < target:
        return text + (
            f" None of the site counts tried reaches it by year {longest} ({n[-1]} sites: "
            f"{p[-1]:.2f}); more sites or a longer follow-up are needed."
        )
    k = int(np.argmax(p >= target))
    need = n[k - 1] + (target - p[k - 1]) * (n[k] - n[k - 1]) / max(p[k] - p[k - 1], 1e-12)
    return text + (
        f" By year {longest} it takes about {int(np.ceil(need))} sites (interpolated between "
        f"{n[k - 1]} sites, {p[k - 1]:.2f}, and {n[k]} sites, {p[k]:.2f})."
    )
