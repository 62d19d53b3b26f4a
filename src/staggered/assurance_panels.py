"""Panels for design-stage assurance: a planned rollout, simulated or injected into real data.

:func:`simulate_rollout` draws one panel of a plan (:class:`staggered.assurance_plan.Rollout`,
:class:`~staggered.assurance_plan.Effect`, :class:`~staggered.assurance_plan.Baseline`);
:func:`plasmode_panel` injects the effect into a real pre-programme panel instead.

Randomness is keyed, not sequential: every quantity is drawn from a generator seeded by
``(random_seed, simulation, what, unit)``. So the panel with the effect and the panel without
it (the null) share every draw, a panel truncated at three years of follow-up is the first
years of the panel with seven, and the first 40 sites of a 60-site plan are the sites of the
40-site plan (paired comparisons across effect, follow-up and site count).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from staggered.assurance_plan import Baseline, Effect, Rollout, cohort_sizes
from staggered.periods import PERIODS_PER_YEAR
from staggered.simulate import Simulation, _period_labels

__all__ = [
    "COLUMNS",
    "inject",
    "plasmode_panel",
    "plasmode_window",
    "rollout_arrays",
    "simulate_rollout",
    "truth_table",
]

# tags of the keyed random streams (see the module docstring)
_POPULATION, _UNIT, _PERIOD, _GAMMA, _UNIFORM, _PLASMODE_SITES, _PLASMODE_NOISE = range(1, 8)
SITE, COMPARISON = 0, 1
COLUMNS = {
    "unit": "area",
    "time": "period",
    "outcome": "admissions",
    "exposure": "population",
    "adoption": "start",
}


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def _units(n_sites: int, n_comparison: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Labels, kind (SITE / COMPARISON) and index within kind of every simulated area."""
    width = max(3, len(str(max(n_sites, n_comparison))))
    labels = [f"S{i + 1:0{width}d}" for i in range(n_sites)]
    labels += [f"C{i + 1:0{width}d}" for i in range(n_comparison)]
    kind = np.r_[np.full(n_sites, SITE), np.full(n_comparison, COMPARISON)]
    index = np.r_[np.arange(n_sites), np.arange(n_comparison)]
    return labels, kind, index


def rollout_arrays(
    plan: Rollout, effect: Effect, baseline: Baseline, seed: Sequence[int]
) -> dict[str, np.ndarray]:
    """Expected and observed counts of one simulated panel as (areas, periods) arrays.

    ``seed`` is ``(random_seed, simulation)``. Populations depend on ``random_seed`` only (the
    planned areas); everything else on the simulation too.

    Returns
    -------
    dict
        ``population, mu0, mu1, y, event_time`` (areas x periods), ``adopt`` (period index of
        adoption, -1 for comparison areas), ``labels`` (areas).
    """
    random_seed, sim = (int(s) for s in seed)
    ppy, n_t = plan.ppy, plan.n_periods
    labels, kind, index = _units(plan.sites, plan.comparison_areas)
    n_u = len(labels)
    t_years = (np.arange(n_t) - plan.first_adoption) / ppy  # years since the first adoption
    phi = 1.0 / baseline.dispersion_cv**2
    lo, hi = np.log(baseline.population)
    pop0, dev, trend, z = (np.empty(n_u) for _ in range(4))
    gamma, unif = np.empty((n_u, n_t)), np.empty((n_u, n_t))
    for u in range(n_u):
        pop0[u] = np.exp(_rng(random_seed, _POPULATION, kind[u], index[u]).uniform(lo, hi))
        rng = _rng(random_seed, sim, _UNIT, kind[u], index[u])
        dev[u], trend[u], z[u] = rng.normal(size=3) * [baseline.unit_sd, baseline.unit_trend_sd, 1]
        # own streams for the noise, so a longer panel extends a shorter one
        gamma[u] = _rng(random_seed, sim, _GAMMA, kind[u], index[u]).gamma(phi, 1.0 / phi, n_t)
        unif[u] = _rng(random_seed, sim, _UNIFORM, kind[u], index[u]).random(n_t)
    shocks = _rng(random_seed, sim, _PERIOD).normal(0.0, baseline.period_sd, n_t)
    population = np.round(pop0[:, None] * np.exp(0.005 * (t_years[None, :] + plan.history)))
    log_mu0 = (
        np.log(population)
        + np.log(baseline.rate_per_1000 / 1000.0 / ppy)
        + dev[:, None]
        + (baseline.growth + trend[:, None]) * t_years[None, :]
        + shocks[None, :]
    )
    adopt = np.r_[plan.adoption_periods(), np.full(plan.comparison_areas, -1)]
    event_time = np.where(adopt[:, None] >= 0, np.arange(n_t)[None, :] - adopt[:, None], -1)
    tau = np.where(event_time >= 0, effect.log_effects(event_time, z, ppy), 0.0)
    mu0 = np.exp(log_mu0)
    mu1 = mu0 * np.exp(tau)
    # negative binomial as gamma-Poisson, the Poisson by inverse CDF of a shared uniform: the
    # panels with and without the effect differ only where the expected counts differ
    y = _poisson_quantile(np.clip(unif, 1e-12, 1 - 1e-12), mu1 * gamma)
    return {
        "population": population,
        "mu0": mu0,
        "mu1": mu1,
        "y": y,
        "event_time": event_time,
        "adopt": adopt,
        "labels": np.asarray(labels, dtype=object),
    }


def _poisson_quantile(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    from scipy import stats

    return stats.poisson.ppf(u, mu).astype(np.int64)


def simulate_rollout(
    plan: Rollout | None = None,
    effect: Effect | None = None,
    *,
    baseline: Baseline | None = None,
    random_seed: int = 0,
    simulation: int = 0,
    follow_up: int | None = None,
) -> Simulation:
    """Simulate one panel of a planned rollout with a known effect.

    Parameters
    ----------
    plan : Rollout, optional
        The planned rollout (default: 40 sites, 40 comparison areas, half adopting in each of
        two years, 5 years of history, 7 of follow-up).
    effect : Effect, optional
        The hypothesised effect (default: -3% reached after 4 years).
    baseline : Baseline, optional
        Untreated admissions (rates, populations, trends, noise).
    random_seed : int
        Seed of the planned areas (their populations) and of every simulation.
    simulation : int
        Which simulation of that seed.
    follow_up : int, optional
        Truncate at this many years from the first adoption (default: ``plan.follow_up``); the
        result is the first periods of the full panel.

    Returns
    -------
    Simulation
        ``panel`` with columns ``area, period, admissions, population, start`` plus the
        expected counts ``expected`` (with the effect) and ``expected_untreated``; ``truth``
        with the pooled relative effect per event time and the cumulative effect (admissions
        since adoption, summed over sites; ``event_time`` the last one) in the effects layout.
    """
    plan = plan or Rollout()
    effect = effect or Effect()
    arrays = rollout_arrays(plan, effect, baseline or Baseline(), (random_seed, simulation))
    follow_up = plan.follow_up if follow_up is None else follow_up
    if not 1 <= follow_up <= plan.follow_up:
        raise ValueError(f"follow_up must be between 1 and {plan.follow_up}, got {follow_up}")
    n_t = (plan.history + follow_up) * plan.ppy
    labels = _period_labels(plan.first_year - plan.history, n_t, plan.freq)
    periods = [int(p) for p in labels] if plan.freq == "year" else labels
    adopt_year = plan.first_year + (arrays["adopt"] - plan.first_adoption) // plan.ppy
    start = np.where(arrays["adopt"] >= 0, adopt_year.astype(str), "")
    n_u = arrays["labels"].size
    ui, ti = (a.ravel() for a in np.meshgrid(np.arange(n_u), np.arange(n_t), indexing="ij"))
    cut = {k: arrays[k][:, :n_t] for k in ("population", "mu0", "mu1", "y", "event_time")}
    panel = pd.DataFrame(
        {
            "area": arrays["labels"][ui],
            "period": np.asarray(periods, dtype=object)[ti],
            "admissions": cut["y"].ravel(),
            "population": cut["population"].ravel().astype(np.int64),
            "start": start[ui],
            "expected": cut["mu1"].ravel(),
            "expected_untreated": cut["mu0"].ravel(),
        }
    )
    if plan.freq == "year":
        panel["period"] = panel["period"].astype(np.int64)
    truth = truth_table(cut["mu0"], cut["mu1"], cut["event_time"])
    params = {
        "plan": dataclasses.asdict(plan),
        "effect": dataclasses.asdict(effect),
        "baseline": dataclasses.asdict(baseline or Baseline()),
        "random_seed": random_seed,
        "simulation": simulation,
        "follow_up": follow_up,
    }
    return Simulation(panel=panel, truth=truth, params=params, columns=dict(COLUMNS))


def truth_table(mu0: np.ndarray, mu1: np.ndarray, event_time: np.ndarray) -> pd.DataFrame:
    """Pooled relative effect per event time and cumulative effect of expected counts.

    As the ``pooled`` estimand: over cells at event time e, ``sum mu1 / sum mu0 - 1``; the
    cumulative effect sums ``mu1 - mu0`` over every cell since adoption (its ``event_time`` is
    the last one).
    """
    treated = event_time >= 0
    e = event_time[treated]
    d0, d1 = mu0[treated], mu1[treated]
    ets = np.unique(e)
    s0 = np.bincount(np.searchsorted(ets, e), d0, minlength=ets.size)
    s1 = np.bincount(np.searchsorted(ets, e), d1, minlength=ets.size)
    rows = [("pooled", "", int(k), "relative", v) for k, v in zip(ets, s1 / s0 - 1, strict=True)]
    if ets.size:
        rows.append(("pooled", "", int(ets[-1]), "cumulative", float(np.sum(d1 - d0))))
    return pd.DataFrame(rows, columns=["scope", "id", "event_time", "measure", "value"])


# --- plasmode ----------------------------------------------------------------------------


def plasmode_window(panel, plan: Rollout) -> tuple[int, int]:
    """Periods of a real panel that a plasmode run uses: (first period, first adoption).

    The plan is shifted back in time so that the panel's last ``plan.follow_up`` years are the
    follow-up and the ``plan.history`` years before them the history; earlier periods are left
    out.

    Raises
    ------
    ValueError
        When the panel is too short for the plan, or has too few units for the sites plus at
        least one comparison area.
    """
    ppy = PERIODS_PER_YEAR[panel.freq]
    need = (plan.history + plan.follow_up) * ppy
    have = panel.n_periods
    if have < need:
        span = f"{panel.period_labels[0]} to {panel.period_labels[-1]}"
        raise ValueError(
            f"plasmode needs {need // ppy} years of pre-programme data ({plan.history} years of "
            f"history before the first planned adoption + {plan.follow_up} years of follow-up), "
            f"but the panel has {have / ppy:g} years ({span}, {have} {panel.freq} periods): "
            f"{math.ceil((need - have) / ppy)} year(s) missing. Supply a longer panel, or "
            "shorten history= or the longest follow_up="
        )
    if panel.n_units < plan.sites + 1:
        raise ValueError(
            f"plasmode needs more units than planned sites (at least one comparison area), but "
            f"the panel has {panel.n_units} units for {plan.sites} sites; plan fewer sites"
        )
    return have - need, have - plan.follow_up * ppy


def inject(
    y: np.ndarray, log_effect: np.ndarray, rng: np.random.Generator, method: str = "thin"
) -> np.ndarray:
    """Counts ``y`` multiplied by ``exp(log_effect)`` in expectation.

    ``"thin"``: a reduction keeps each admission with probability ``exp(log_effect)``
    (binomial thinning), a rise adds ``Poisson(y * (exp(log_effect) - 1))`` admissions; counts
    stay whole and gain the sampling noise such a change would have. ``"scale"``:
    ``round(y * exp(log_effect))``, no added noise.
    """
    y = np.asarray(y, dtype=np.int64)
    ratio = np.exp(np.asarray(log_effect, dtype=float))
    if method == "scale":
        return np.round(y * ratio).astype(np.int64)
    if method != "thin":
        raise ValueError(f"injection must be 'thin' or 'scale', got {method!r}")
    kept = rng.binomial(y, np.minimum(ratio, 1.0))
    added = rng.poisson(y * np.maximum(ratio - 1.0, 0.0))
    return kept + added


def plasmode_panel(
    panel,
    plan: Rollout,
    effect: Effect,
    seed: Sequence[int],
    *,
    follow_up: int | None = None,
    method: str = "thin",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A real pre-programme panel with the planned rollout and the effect injected.

    ``plan.sites`` units are drawn at random (the first ``n`` of one random order of the
    units, so a smaller plan's sites are among a larger one's) and adopt as the rollout
    says, in the window of :func:`plasmode_window`; every other unit is a comparison area. The
    sites' counts from adoption on are multiplied by the effect (:func:`inject`).

    Parameters
    ----------
    panel : staggered.data.Panel
        The encoded real panel (counts, no adoption).
    plan : Rollout
        The plan (``comparison_areas`` is not used).
    effect : Effect
        The hypothesised effect (``effect.null()`` for the null).
    seed : (int, int)
        ``(random_seed, simulation)``.
    follow_up : int, optional
        Keep this many years from the first adoption (default ``plan.follow_up``).
    method : {"thin", "scale"}
        How counts are changed (see :func:`inject`).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The panel (columns ``area, period, admissions, population, start``) and the truth
        (as :func:`truth_table`, with the observed counts standing for the expected ones).
    """
    random_seed, sim = (int(s) for s in seed)
    start, first = plasmode_window(panel, plan)
    ppy = PERIODS_PER_YEAR[panel.freq]
    follow_up = plan.follow_up if follow_up is None else follow_up
    end = first + follow_up * ppy
    order = _rng(random_seed, sim, _PLASMODE_SITES).permutation(panel.n_units)
    z = _rng(random_seed, sim, _PLASMODE_SITES, 1).standard_normal(panel.n_units)
    adopt = np.full(panel.n_units, -1)
    adopt[order[: plan.sites]] = first + ppy * np.repeat(
        np.arange(len(plan.shares)), cohort_sizes(plan.sites, plan.shares)
    )
    # effect and injection noise over the whole window, so that truncations are paired
    window = (panel.period_idx >= start) & (panel.period_idx < first + plan.follow_up * ppy)
    u, t = panel.unit_idx[window], panel.period_idx[window]
    y = panel.y[window].astype(np.int64)
    e = np.where(adopt[u] >= 0, t - adopt[u], -1)
    tau = np.where(e >= 0, effect.log_effects(e[:, None], z[u], ppy)[:, 0], 0.0)
    y_new = inject(y, tau, _rng(random_seed, sim, _PLASMODE_NOISE), method)
    keep = t < end
    labels = np.asarray(panel.period_labels, dtype=object)
    inside = (adopt >= 0) & (adopt < panel.n_periods)
    start_label = np.where(inside, labels[np.where(inside, adopt, 0)], "")
    frame = pd.DataFrame(
        {
            "area": panel.unit_labels[u[keep]],
            "period": labels[t[keep]],
            "admissions": y_new[keep],
            "population": panel.exposure[window][keep],
            "start": start_label[u[keep]],
        }
    )
    truth = truth_table(
        y[keep].astype(float), y[keep] * np.exp(tau[keep]), np.where(e[keep] >= 0, e[keep], -1)
    )
    return frame, truth
