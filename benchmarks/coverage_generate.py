"""Draw one coverage-study panel from its :class:`~coverage_config.PanelConfig`.

numpy only, its own parameterisation (not :mod:`staggered.simulate`). Each component draws
from its own stream of the panel's seed sequence, so changing one (e.g. the effect) never
moves another. ``generate`` runs the steps in order: units, calendar effects and unit paths,
adoption and the effect, noise and missing rows, the long panel, the truth.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coverage_config import (  # noqa: E402
    _RATE_PER_YEAR,
    _STREAMS,
    NOISES,
    PERIODS_PER_YEAR,
    SELECTIONS,
    SHAPES,
    TRENDS,
    GeneratedPanel,
    PanelConfig,
)


def _period_labels(cfg: PanelConfig) -> list:
    ppy = cfg.periods_per_year
    years = cfg.start_year + np.arange(cfg.n_periods) // ppy
    sub = np.arange(cfg.n_periods) % ppy + 1
    if cfg.freq == "year":
        return [int(y) for y in years]
    if cfg.freq == "quarter":
        return [f"{y}Q{q}" for y, q in zip(years, sub, strict=True)]
    return [f"{y}-{m:02d}" for y, m in zip(years, sub, strict=True)]


def _adoption_label(cfg: PanelConfig, labels: list, p: int) -> str:
    if cfg.adopt_label == "year":
        return str(cfg.start_year + p // cfg.periods_per_year)
    return str(labels[p])


def _check(cfg: PanelConfig) -> None:
    problems = []
    if cfg.freq not in PERIODS_PER_YEAR:
        problems.append(f"freq {cfg.freq!r}")
    if cfg.noise not in NOISES:
        problems.append(f"noise {cfg.noise!r}")
    if cfg.trend not in TRENDS:
        problems.append(f"trend {cfg.trend!r}")
    if cfg.selection not in SELECTIONS:
        problems.append(f"selection {cfg.selection!r}")
    if cfg.shape not in SHAPES:
        problems.append(f"shape {cfg.shape!r}")
    if cfg.selection == "shock" and cfg.ar_sd <= 0:
        problems.append("selection on shocks needs ar_sd > 0")
    if cfg.adopt_by not in ("group", "unit") or cfg.adopt_label not in ("period", "year"):
        problems.append(f"adopt_by {cfg.adopt_by!r} / adopt_label {cfg.adopt_label!r}")
    if not 0.0 < cfg.never_share < 1.0:
        problems.append("never_share must be in (0, 1)")
    if problems:
        raise ValueError(f"panel config {cfg.name!r}: " + "; ".join(problems))


def _unit_trends(cfg: PanelConfig, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(units, periods) trend deviations on the log rate, centred in time."""
    n = cfg.n_units
    tc = t - t.mean()
    if cfg.trend == "none" or cfg.trend_sd == 0:
        return np.zeros((n, t.size))
    slope = rng.normal(0.0, cfg.trend_sd, n)
    if cfg.trend == "linear":
        return slope[:, None] * tc[None, :]
    if cfg.trend == "quadratic":
        curve = rng.normal(0.0, 2.0 * cfg.trend_sd / cfg.n_years, n)
        q = tc**2 - (tc**2).mean()
        return slope[:, None] * tc[None, :] + curve[:, None] * q[None, :]
    # smooth: a Gaussian-process path (squared-exponential, length scale 4 years) per unit
    amp = cfg.trend_sd * cfg.n_years / 2.0
    k = amp**2 * np.exp(-0.5 * ((t[:, None] - t[None, :]) / 4.0) ** 2)
    chol = np.linalg.cholesky(k + 1e-9 * amp**2 * np.eye(t.size))
    path = rng.standard_normal((n, t.size)) @ chol.T
    return path - path.mean(axis=1, keepdims=True)


def _ar1(cfg: PanelConfig, rng: np.random.Generator) -> np.ndarray:
    n, T = cfg.n_units, cfg.n_periods
    u = np.zeros((n, T))
    if cfg.ar_sd <= 0:
        return u
    innov = cfg.ar_sd * np.sqrt(1.0 - cfg.ar_rho**2)
    u[:, 0] = rng.normal(0.0, cfg.ar_sd, n)
    for p in range(1, T):
        u[:, p] = cfg.ar_rho * u[:, p - 1] + rng.normal(0.0, innov, n)
    return u


def _previous_year_mean(u: np.ndarray, ppy: int) -> np.ndarray:
    """Mean of u over the ``ppy`` periods before each period (nan for the first ones)."""
    n, T = u.shape
    out = np.full((n, T), np.nan)
    c = np.concatenate([np.zeros((n, 1)), np.cumsum(u, axis=1)], axis=1)
    out[:, ppy:] = (c[:, ppy:T] - c[:, : T - ppy]) / ppy
    return out


def _adoption(
    cfg: PanelConfig, u: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Adoption period per unit (-1 never), programme per unit (-1 none), selection stats."""
    n, T, ppy = cfg.n_units, cfg.n_periods, cfg.periods_per_year
    lo = max(int(np.ceil(cfg.adopt_window[0] * T)), ppy + 3, 4)
    hi = min(int(np.floor(cfg.adopt_window[1] * T)), T - 1)
    cand = np.arange(lo, hi + 1)
    if cfg.adopt_label == "year":
        cand = cand[cand % ppy == 0]
    if cand.size == 0:
        raise ValueError(f"panel config {cfg.name!r}: no candidate adoption periods")
    n_treated = n - max(int(round(cfg.never_share * n)), 2)
    treated = np.zeros(n, dtype=bool)
    treated[rng.choice(n, n_treated, replace=False)] = True
    group = np.where(treated, rng.integers(0, cfg.n_groups, n), -1)
    stat = _previous_year_mean(u, ppy)
    finite = stat[np.isfinite(stat)]
    threshold = 0.5 * float(finite.std()) if cfg.ar_sd > 0 else 0.0
    adopt = np.full(n, -1)
    if cfg.selection == "shock":
        # each treated area becomes eligible at a random candidate in the first half of the
        # window and adopts at the first candidate from then on that follows a high year
        # (mean shock over the previous year above half its sd); if none comes, after its
        # highest year among those candidates
        eligible = rng.integers(0, max(cand.size // 2, 1), n)
        for i in np.flatnonzero(treated):
            later = cand[eligible[i] :]
            high = later[stat[i, later] > threshold]
            adopt[i] = high[0] if high.size else later[np.argmax(stat[i, later])]
    elif cfg.adopt_by == "group":
        group_start = rng.choice(cand, cfg.n_groups)
        adopt[treated] = group_start[group[treated]]
    else:
        adopt[treated] = rng.choice(cand, n_treated)
    sel = np.where(adopt >= 0, stat[np.arange(n), np.maximum(adopt, 0)], np.nan)
    return adopt, group, sel, threshold


def _observed(
    cfg: PanelConfig, adopt: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Mask of observed cells (late entry, then rows missing at random) and entry periods."""
    n, T, ppy = cfg.n_units, cfg.n_periods, cfg.periods_per_year
    obs = np.ones((n, T), dtype=bool)
    entry = np.zeros(n, dtype=int)
    late = rng.random(n) < cfg.late_entry
    draw = rng.integers(1, max(T // 2, 2), n)
    min_pre = max(ppy, 4) + 1  # rows before adoption kept for a late entrant
    cap = np.where(adopt >= 0, adopt - min_pre, T - 2)
    entry[late] = np.clip(np.minimum(draw[late], cap[late]), 0, None)
    obs &= np.arange(T)[None, :] >= entry[:, None]
    if cfg.missing > 0:
        drop = rng.random((n, T)) < cfg.missing
        drop[np.arange(n), entry] = False  # each unit keeps its first row
        obs &= ~drop
    # every period keeps at least one never-treated row (a comparison for every period)
    never = np.flatnonzero(adopt < 0)
    for p in np.flatnonzero(~obs[never].any(axis=0)):
        obs[never[0], p] = True
    return obs, entry


def _units(cfg: PanelConfig, t: np.ndarray, r: np.random.Generator) -> dict[str, np.ndarray]:
    """Units' size (population over time, with growth and one-off jumps) and level."""
    n, T = cfg.n_units, cfg.n_periods
    log_pop0 = np.log(cfg.count / (_RATE_PER_YEAR / cfg.periods_per_year)) + r.normal(0.0, 0.6, n)
    growth = r.normal(0.004, cfg.pop_growth_sd, n)
    log_pop = log_pop0[:, None] + growth[:, None] * t[None, :]
    jumps = r.random(n) < cfg.pop_jump
    jump_at = r.integers(1, T, n)
    jump_size = r.normal(0.0, 0.25, n)
    log_pop += np.where(
        jumps[:, None] & (np.arange(T)[None, :] >= jump_at[:, None]), jump_size[:, None], 0.0
    )
    alpha = r.normal(0.0, 0.2, n)
    season_mult = 1.0 + r.normal(0.0, cfg.season_unit_sd, n) if cfg.season_unit_sd else np.ones(n)
    return {
        "log_pop0": log_pop0,
        "population": np.maximum(np.round(np.exp(log_pop)), 1.0),
        "alpha": alpha,
        "season_mult": season_mult,
    }


def _untreated_log_mean(
    cfg: PanelConfig, t: np.ndarray, units: dict, rngs: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Log expected counts without the programme, and the AR(1) shocks inside them."""
    r = rngs["time"]
    ppy = cfg.periods_per_year
    gamma = 0.015 * t + r.normal(0.0, 0.015, t.size)
    season = np.zeros(t.size)
    if ppy > 1 and cfg.season_amp > 0:
        phase = r.uniform(0.0, 2.0 * np.pi)
        season = cfg.season_amp * np.cos(2.0 * np.pi * (np.arange(t.size) % ppy) / ppy + phase)
    trend = _unit_trends(cfg, t, rngs["trend"])
    u = _ar1(cfg, rngs["shock"])
    log_mu0 = (
        np.log(units["population"])
        + np.log(_RATE_PER_YEAR / ppy)
        + units["alpha"][:, None]
        + gamma[None, :]
        + units["season_mult"][:, None] * season[None, :]
        + trend
        + u
    )
    return log_mu0, u


def _event_times(adopt: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Periods since adoption (-1 for never-treated units) and the mask of treated cells."""
    ever = adopt >= 0
    event_time = np.where(ever[:, None], np.arange(T)[None, :] - adopt[:, None], -1)
    return event_time, ever[:, None] & (event_time >= 0)


def _log_effect(
    cfg: PanelConfig,
    adopt: np.ndarray,
    group: np.ndarray,
    log_pop0: np.ndarray,
    r: np.random.Generator,
) -> np.ndarray:
    """Each cell's log effect: the shape at full size, times unit and programme multipliers,
    ramped in over a unit's own number of years."""
    n, ppy = cfg.n_units, cfg.periods_per_year
    ever = adopt >= 0
    event_time, treated_cell = _event_times(adopt, cfg.n_periods)
    zs = (log_pop0 - log_pop0.mean()) / log_pop0.std()
    z = cfg.size_corr * zs + np.sqrt(1.0 - cfg.size_corr**2) * r.standard_normal(n)
    unit_mult = np.exp(cfg.unit_sd * z - cfg.unit_sd**2 / 2.0)
    group_mult = np.exp(r.normal(-(cfg.group_sd**2) / 2.0, cfg.group_sd, cfg.n_groups))
    mult = unit_mult * np.where(ever, group_mult[np.maximum(group, 0)], 0.0)
    ramp_len = cfg.ramp_years * np.exp(r.normal(-0.08, 0.4, n))  # years to full effect
    s = np.maximum(event_time, 0) / ppy
    if cfg.ramp_years > 0:
        ramp = np.clip((s + 1.0 / ppy) / ramp_len[:, None], 0.0, 1.0)
    else:
        ramp = np.ones_like(s)
    shape = SHAPES[cfg.shape](s)
    return np.where(treated_cell, mult[:, None] * ramp * np.log1p(cfg.size * shape), 0.0)


def mixed_rate(cfg: PanelConfig, mu1: np.ndarray, r: np.random.Generator) -> np.ndarray:
    """The Poisson rate of each cell: ``mu1`` times the panel's mixing noise (mean 1)."""
    if cfg.noise == "negbin":
        phi = 1.0 / cfg.overdispersion**2
        return r.gamma(phi, mu1 / phi)
    if cfg.noise == "poisson-lognormal":
        sd = cfg.overdispersion
        return mu1 * np.exp(r.normal(-(sd**2) / 2.0, sd, mu1.shape))
    return mu1


def _noisy_counts(cfg: PanelConfig, mu1: np.ndarray, r: np.random.Generator) -> np.ndarray:
    """Counts around the expected ``mu1``: Poisson, negative-binomial or Poisson-lognormal."""
    return r.poisson(mixed_rate(cfg, mu1, r))


def _long_panel(
    cfg: PanelConfig,
    labels: list,
    adopt: np.ndarray,
    group: np.ndarray,
    observed: np.ndarray,
    population: np.ndarray,
    admissions: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The observed rows in the user schema, and the units' names."""
    n = cfg.n_units
    ever = adopt >= 0
    prefix = "P" if cfg.count < 100 else "E"
    units = np.array([f"{prefix}{cfg.seed % 100:02d}{i:04d}" for i in range(n)])
    programmes = np.array([f"V{g + 1:02d}" for g in range(cfg.n_groups)])
    start = np.array([_adoption_label(cfg, labels, a) if a >= 0 else "" for a in adopt])
    ui, pi = np.nonzero(observed)  # row-major: sorted by unit, then period
    panel = pd.DataFrame(
        {
            "area": units[ui],
            "period": np.asarray(labels, dtype=object)[pi]
            if cfg.freq != "year"
            else np.asarray(labels, dtype=np.int64)[pi],
            "admissions": admissions[ui, pi],
            "population": population[ui, pi].astype(np.int64),
            "start": start[ui],
            "programme": np.where(ever, programmes[np.maximum(group, 0)], "")[ui],
        }
    )
    return panel, units


def _truth(
    cells: np.ndarray,
    event_time: np.ndarray,
    mu0: np.ndarray,
    mu1: np.ndarray,
    tau: np.ndarray,
    units: np.ndarray,
) -> pd.DataFrame:
    """Pooled (expected-count weighted, over treated units observed at e) and unit truths."""
    e = event_time[cells]
    ets = np.unique(e)
    s0 = np.bincount(np.searchsorted(ets, e), weights=mu0[cells], minlength=ets.size)
    s1 = np.bincount(np.searchsorted(ets, e), weights=mu1[cells], minlength=ets.size)
    pooled = pd.DataFrame(
        {
            "scope": "pooled",
            "id": "",
            "event_time": ets,
            "measure": "relative",
            "value": s1 / s0 - 1.0,
        }
    )
    cu, cp = np.nonzero(cells)
    unit = pd.DataFrame(
        {
            "scope": "unit",
            "id": units[cu],
            "event_time": event_time[cu, cp],
            "measure": "relative",
            "value": np.expm1(tau[cu, cp]),
        }
    )
    truth = pd.concat([pooled, unit], ignore_index=True)
    truth["event_time"] = truth["event_time"].astype(np.int64)
    return truth


def generate(cfg: PanelConfig, *, noiseless: bool = False) -> GeneratedPanel:
    """Draw one panel of the grid.

    Parameters
    ----------
    cfg : PanelConfig
        The panel's settings and seed.
    noiseless : bool, default False
        Put the expected counts (floats, so not a valid count panel) in ``admissions``
        instead of noisy counts: for checking that the truth is the effect injected.

    Returns
    -------
    GeneratedPanel
    """
    _check(cfg)
    seeds = np.random.SeedSequence(cfg.seed).spawn(len(_STREAMS))
    rngs = {name: np.random.default_rng(s) for name, s in zip(_STREAMS, seeds, strict=True)}
    T = cfg.n_periods
    t = np.arange(T) / cfg.periods_per_year  # years since the first period
    labels = _period_labels(cfg)

    units = _units(cfg, t, rngs["units"])
    log_mu0, u = _untreated_log_mean(cfg, t, units, rngs)
    mu0 = np.exp(log_mu0)

    adopt, group, sel_stat, threshold = _adoption(cfg, u, rngs["adoption"])
    event_time, treated_cell = _event_times(adopt, T)
    tau = _log_effect(cfg, adopt, group, units["log_pop0"], rngs["effect"])
    mu1 = mu0 * np.exp(tau)

    counts = _noisy_counts(cfg, mu1, rngs["noise"])
    observed, _ = _observed(cfg, adopt, rngs["rows"])
    admissions = mu1 if noiseless else counts.astype(np.int64)
    panel, names = _long_panel(cfg, labels, adopt, group, observed, units["population"], admissions)
    truth = _truth(treated_cell & observed, event_time, mu0, mu1, tau, names)
    latent = {
        "mu0": mu0,
        "mu1": mu1,
        "tau": tau,
        "event_time": event_time,
        "observed": observed,
        "shock": u,
        "adoption": adopt,
        "selection_stat": sel_stat,
        "selection_threshold": threshold,
        "units": names,
        "periods": labels,
    }
    return GeneratedPanel(config=cfg, panel=panel, truth=truth, latent=latent)
