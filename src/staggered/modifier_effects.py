"""Posterior summaries of effect modifiers: which contexts made the programme work.

With modifiers ``x_i`` (standardised over the treated units, :mod:`staggered.modifiers`), a
treated unit's log effect is ``theta(e) + delta_group(e) + x_i . b(e) + delta_unit_i(e)``. Per
posterior draw and event time this module reports:

* the change in the relative effect (rate ratio - 1) for a site one sd (``relative_per_sd``) or
  one unit of the modifier (``relative_per_unit``) above the treated units' mean, the other
  modifiers at their means: ``exp(theta + b) - exp(theta)`` and ``exp(theta + b / sd) -
  exp(theta)``; and ``b(e)`` itself (``log_per_sd``, the log rate ratio per sd). For the Gaussian
  model, ``absolute_per_sd`` (``b``) and ``absolute_per_unit`` (``b / sd``) in outcome units;
* the share of the between-site variance of the effect that the modifiers explain
  (``variance_share``, modifier ``"(all)"``): over the treated units observed at ``e``,
  ``var_i(x_i . b(e)) / (var_i(x_i . b(e)) + var_i(site_deviation_i(e)))``, where the site
  deviation is the programme plus unit deviation left unexplained.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from staggered.design import Design
from staggered.effects import SUMMARY_COLUMNS, _draws, summarise
from staggered.models.spec import ModelSpec
from staggered.modifiers import standardised_modifiers

__all__ = [
    "ALL",
    "COLUMNS",
    "default_event_time",
    "modifier_curve_draws",
    "modifiers_for_csv",
    "modifiers_table",
    "new_site_term",
    "observed_units",
    "variance_share_draws",
]

ALL = "(all)"  # the modifier label of the variance-share rows
COLUMNS = [
    "modifier",
    "event_time",
    "measure",
    *SUMMARY_COLUMNS,
    "modifier_mean",
    "modifier_sd",
    "n_units",
]


def _effect_block(design: Design) -> np.ndarray:
    """``(E,)`` bool over ``design.event_times``: the effect times (not placebo times)."""
    return design.event_times >= design.first_effect_time


def observed_units(design: Design) -> np.ndarray:
    """``(n_treated, E)`` bool: the treated unit has an effect cell at each effect time."""
    n_pre = int((~_effect_block(design)).sum())
    seen = np.zeros((design.treated_units.size, design.event_times.size), dtype=bool)
    seen[design.cell_treated_unit, design.effect_index] = True
    return seen[:, n_pre:]


def default_event_time(design: Design) -> int:
    """Latest event time reached by at least half as many treated units as the best-covered one.

    The rule of the site figures and ``compare-sites`` (:func:`staggered.compare.
    default_event_time`).
    """
    from staggered.compare import default_event_time as rule

    et = design.event_times[design.effect_index]
    return rule(et, design.cell_treated_unit, design.first_effect_time)


def modifier_curve_draws(
    posterior: xr.Dataset, design: Design, spec: ModelSpec, modifier: str, values: np.ndarray
) -> np.ndarray:
    """Draws of the effect at each effect time for a site with given modifier values.

    The other modifiers sit at the treated units' means and the site deviation at zero.

    Parameters
    ----------
    posterior : xarray.Dataset
        A fit's posterior (needs ``theta`` and ``modifier_coef``).
    design : Design
        The fit's design.
    spec : ModelSpec
        The fit's spec (count models: relative effect; Gaussian: absolute).
    modifier : str
        The modifier that varies.
    values : numpy.ndarray
        ``(V,)`` its values, in the modifier's own units.

    Returns
    -------
    numpy.ndarray
        ``(sample, V, effect_time)`` relative effects (count models) or absolute ones.
    """
    names = [str(m) for m in design.panel.modifier_names]
    j = names.index(str(modifier))
    _, mean, sd = standardised_modifiers(design)
    theta = _draws(posterior, "theta")[:, _effect_block(design)]
    coef = _draws(posterior, "modifier_coef")[:, j, :]
    z = (np.asarray(values, dtype=np.float64) - mean[j]) / sd[j]
    log_effect = theta[:, None, :] + z[None, :, None] * coef[:, None, :]
    return np.expm1(log_effect) if spec.is_count else log_effect


def new_site_term(posterior: xr.Dataset, design: Design, rng: np.random.Generator) -> np.ndarray:
    """``(sample, effect_time)`` draws of ``x . b(e)`` for a new site like the treated ones.

    ``x`` is a treated unit's standardised modifiers, drawn at random for each posterior draw
    (the predictive scope's new site is drawn from the sites evaluated).
    """
    x, _, _ = standardised_modifiers(design)
    coef = _draws(posterior, "modifier_coef")  # (sample, modifier, effect_time)
    pick = rng.integers(x.shape[0], size=coef.shape[0])
    return np.einsum("sm,sme->se", x[pick], coef)


def variance_share_draws(posterior: xr.Dataset, design: Design) -> np.ndarray:
    """``(sample, effect_time)`` share of between-site variance explained (NaN: < 2 sites)."""
    x, _, _ = standardised_modifiers(design)
    coef = _draws(posterior, "modifier_coef")
    explained = np.einsum("im,sme->sie", x, coef)
    residual = _draws(posterior, "site_deviation")
    seen = observed_units(design)
    share = np.full((coef.shape[0], seen.shape[1]), np.nan)
    for e in np.flatnonzero(seen.sum(axis=0) >= 2):
        v_x = explained[:, seen[:, e], e].var(axis=1)
        v_r = residual[:, seen[:, e], e].var(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share[:, e] = v_x / (v_x + v_r)
    return share


def _rows(modifier, event_times, measure, draws, level, extra) -> pd.DataFrame:
    s = summarise(draws, level)
    return pd.DataFrame(
        {
            "modifier": modifier,
            "event_time": event_times,
            "measure": measure,
            **{k: s[k] for k in ("mean", "sd", "lower", "upper")},
            "level": level,
            "prob_negative": s["prob_negative"],
            **extra,
        }
    )


def modifiers_table(
    posterior: xr.Dataset, design: Design, spec: ModelSpec, *, level: float = 0.9
) -> pd.DataFrame:
    """The modifiers' posterior summaries by event time (see the module docstring).

    Parameters
    ----------
    posterior : xarray.Dataset
        A fit's posterior with ``theta``, ``modifier_coef`` and ``site_deviation``.
    design : Design
        The fit's design (its panel has modifiers).
    spec : ModelSpec
        The fit's spec.
    level : float, default 0.9
        Mass of the equal-tailed intervals.

    Returns
    -------
    pandas.DataFrame
        Columns ``modifier, event_time, measure, mean, sd, lower, upper, level, prob_negative,
        modifier_mean, modifier_sd, n_units``: one row per modifier, measure and effect time,
        then the ``variance_share`` rows (modifier ``"(all)"``, ``prob_negative`` empty).
        ``modifier_mean`` / ``modifier_sd`` are the treated units' mean and sd (one sd of the
        ``per_sd`` rows, in the modifier's units); ``n_units`` the treated units observed at
        the event time.
    """
    if not design.panel.n_modifiers:
        raise ValueError("this fit has no effect modifiers (fit with modifiers=[...])")
    if "modifier_coef" not in posterior:
        raise ValueError("the posterior has no 'modifier_coef' (no effect block was fitted)")
    _, mean, sd = standardised_modifiers(design)
    et = design.event_times[_effect_block(design)]
    n_units = observed_units(design).sum(axis=0)
    theta = _draws(posterior, "theta")[:, _effect_block(design)]
    coef = _draws(posterior, "modifier_coef")
    parts = []
    for j, name in enumerate(str(m) for m in design.panel.modifier_names):
        b = coef[:, j, :]
        extra = {"modifier_mean": mean[j], "modifier_sd": sd[j], "n_units": n_units}
        if spec.is_count:
            base = np.exp(theta)
            measures = {
                "relative_per_sd": np.exp(theta + b) - base,
                "relative_per_unit": np.exp(theta + b / sd[j]) - base,
                "log_per_sd": b,
            }
        else:
            measures = {"absolute_per_sd": b, "absolute_per_unit": b / sd[j]}
        parts += [_rows(name, et, m, d, level, extra) for m, d in measures.items()]
    share = variance_share_draws(posterior, design)
    ok = ~np.isnan(share).any(axis=0)
    rows = _rows(ALL, et[ok], "variance_share", share[:, ok], level, {"n_units": n_units[ok]})
    parts.append(rows.assign(prob_negative=np.nan, modifier_mean=np.nan, modifier_sd=np.nan))
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def modifiers_for_csv(table: pd.DataFrame) -> pd.DataFrame:
    """The modifiers table rounded for people, as ``modifiers.csv`` holds it.

    Effects, coefficients and shares keep 6 decimals, ``prob_negative`` 4; the modifier's mean
    and sd 4 significant digits. Full precision: :meth:`Fit.modifiers`.
    """
    out = table.copy()
    for col in ("mean", "sd", "lower", "upper"):
        out[col] = table[col].round(6)
    out["prob_negative"] = table["prob_negative"].round(4)
    for col in ("modifier_mean", "modifier_sd"):
        out[col] = table[col].map(lambda v: float(f"{v:.4g}") if np.isfinite(v) else np.nan)
    return out
