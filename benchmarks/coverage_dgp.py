"""Panels that are *not* the model: an independent generator for the coverage study.

This is deliberately separate code from :mod:`staggered.simulate` (numpy only, its own
parameterisation) and it breaks the model's assumptions on purpose: curved unit trends,
AR(1) shocks with sites selected after a high year, unit-specific seasonality, sites whose
effect ramps in, Poisson-lognormal as well as negative-binomial noise, populations that
change (including one-off jumps), missing rows and units that enter late.

Each panel is a long DataFrame in the user schema (``area, period, admissions, population,
start, programme``) plus its truth: the pooled relative effect by event time, defined as the
package defines ``pooled`` (over treated units observed at e, ``sum mu1 / sum mu0 - 1`` with
expected counts with and without the programme, so expected-count weighted), and each treated
unit's relative effect ``exp(tau) - 1`` by event time.

``GRID`` lists the named configurations (a seed each, so every panel is deterministic) and
``QUICK`` a handful of small ones for a fast check. ``generate(config)`` draws one panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = {"year": 1, "quarter": 4, "month": 12}
NOISES = ("poisson", "negbin", "poisson-lognormal")
TRENDS = ("none", "linear", "quadratic", "smooth")
SELECTIONS = ("random", "shock")
COLUMNS = {
    "unit": "area",
    "time": "period",
    "outcome": "admissions",
    "exposure": "population",
    "adoption": "start",
    "group": "programme",
}
# emergency admissions per person per year: sets the population behind a target count
_RATE_PER_YEAR = 0.1
# streams of the seed sequence: changing one component (e.g. the effect) never moves another
_STREAMS = ("units", "time", "trend", "shock", "adoption", "effect", "noise", "rows")


# ---- effect shapes: relative effect at full size, as a function of years since adoption s ----
def _step(s: np.ndarray) -> np.ndarray:
    return np.ones_like(s)


def _delayed(s: np.ndarray) -> np.ndarray:
    """Nothing for two years, then linear to full size at five years."""
    return np.clip((s - 2.0) / 3.0, 0.0, 1.0)


def _jcurve(s: np.ndarray) -> np.ndarray:
    """Starts at -0.6 times the size (a rise for a reduction), smooth towards full size."""
    return 1.0 - 1.6 * np.exp(-s / 1.2)


def _temporary(s: np.ndarray) -> np.ndarray:
    """A hump that peaks at 1.5 years and is gone by about five."""
    a = s / 1.5
    return a**2 * np.exp(2.0 * (1.0 - a))


def _null(s: np.ndarray) -> np.ndarray:
    return np.zeros_like(s)


SHAPES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "step": _step,
    "delayed": _delayed,
    "jcurve": _jcurve,
    "temporary": _temporary,
    "null": _null,
}


@dataclass(frozen=True)
class PanelConfig:
    """One named panel of the grid (all sizes on the log scale unless said otherwise)."""

    name: str
    seed: int
    freq: str = "year"
    n_units: int = 150
    n_years: int = 14
    start_year: int = 2008
    count: float = 5000.0  # median expected count per cell in the first period
    noise: str = "negbin"
    overdispersion: float = 0.03  # negbin: cv of the gamma mixing; PLN: sd of the log noise
    pop_growth_sd: float = 0.005  # sd of the units' yearly population growth
    pop_jump: float = 0.0  # share of units whose population changes once (boundary change)
    trend: str = "linear"
    trend_sd: float = 0.004  # per year (quadratic/smooth: similar size over the panel)
    ar_rho: float = 0.0  # AR(1) coefficient per period
    ar_sd: float = 0.0  # stationary sd of the AR(1) shocks
    selection: str = "random"  # "shock": adopt right after a high year (mean shock)
    season_amp: float = 0.0  # common seasonal amplitude (quarterly/monthly)
    season_unit_sd: float = 0.0  # sd of unit multipliers of the seasonal amplitude
    shape: str = "delayed"
    size: float = -0.06  # relative effect at full size
    unit_sd: float = 0.3  # sd of unit multipliers of the log effect (lognormal)
    group_sd: float = 0.2  # sd of programme multipliers of the log effect
    size_corr: float = 0.0  # correlation of the unit multiplier's log with log population
    ramp_years: float = 0.0  # mean years a site takes to reach its full effect (0: at once)
    n_groups: int = 8
    never_share: float = 0.3
    adopt_window: tuple[float, float] = (0.3, 0.7)  # share of the panel span
    adopt_by: str = "group"  # "group": a programme's units adopt together; "unit"
    adopt_label: str = "period"  # "year": the adoption column holds only the year
    missing: float = 0.0  # share of rows dropped at random
    late_entry: float = 0.0  # share of units whose first row comes later
    note: str = ""

    @property
    def periods_per_year(self) -> int:
        """Periods per calendar year."""
        return PERIODS_PER_YEAR[self.freq]

    @property
    def n_periods(self) -> int:
        """Number of panel periods."""
        return self.n_years * self.periods_per_year

    @property
    def is_null(self) -> bool:
        """Whether the programme has no effect at all."""
        return self.shape == "null"

    @property
    def heterogeneous_or_delayed(self) -> bool:
        """Site heterogeneity, ramps or a non-step shape: where a flexible model should help."""
        if self.is_null:
            return False
        return (
            self.unit_sd > 0
            or self.group_sd > 0
            or self.ramp_years > 0
            or self.shape in ("delayed", "jcurve", "temporary")
        )

    def noise_label(self) -> str:
        """Short description of the noise (``pois``, ``nb 0.10``, ``pln 0.30``)."""
        if self.noise == "poisson":
            return "pois"
        return f"{'nb' if self.noise == 'negbin' else 'pln'} {self.overdispersion:.2f}"


@dataclass(frozen=True)
class GeneratedPanel:
    """A generated panel, its truth and the latent quantities behind them.

    Attributes
    ----------
    config : PanelConfig
    panel : pandas.DataFrame
        Columns ``area, period, admissions, population, start, programme``.
    truth : pandas.DataFrame
        Columns ``scope, id, event_time, measure, value``: scopes ``pooled`` (id empty) and
        ``unit``, measure ``relative``, event times >= 0 where observed.
    latent : dict
        Unit x period arrays ``mu0``, ``mu1``, ``tau``, ``event_time`` (-1 for never-treated
        units), ``observed``, ``shock``; per unit ``adoption`` (period index, -1 never),
        ``selection_stat`` (mean shock of the year before adoption), ``units``; and
        ``periods`` (labels), ``selection_threshold``.
    columns : dict
        Role -> column, ready for ``staggered.fit(panel, **columns)``.
    """

    config: PanelConfig
    panel: pd.DataFrame
    truth: pd.DataFrame
    latent: dict
    columns: dict = field(default_factory=lambda: dict(COLUMNS))


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
    n, T, ppy = cfg.n_units, cfg.n_periods, cfg.periods_per_year
    t = np.arange(T) / ppy  # years since the first period
    labels = _period_labels(cfg)

    # ---- units: size, level, population over time --------------------------------------
    r = rngs["units"]
    rate = _RATE_PER_YEAR / ppy
    log_pop0 = np.log(cfg.count / rate) + r.normal(0.0, 0.6, n)
    growth = r.normal(0.004, cfg.pop_growth_sd, n)
    log_pop = log_pop0[:, None] + growth[:, None] * t[None, :]
    jumps = r.random(n) < cfg.pop_jump
    jump_at = r.integers(1, T, n)
    jump_size = r.normal(0.0, 0.25, n)
    log_pop += np.where(
        jumps[:, None] & (np.arange(T)[None, :] >= jump_at[:, None]), jump_size[:, None], 0.0
    )
    population = np.maximum(np.round(np.exp(log_pop)), 1.0)
    alpha = r.normal(0.0, 0.2, n)
    season_mult = 1.0 + r.normal(0.0, cfg.season_unit_sd, n) if cfg.season_unit_sd else np.ones(n)

    # ---- common calendar effects, unit trends, AR(1) shocks -----------------------------
    r = rngs["time"]
    gamma = 0.015 * t + r.normal(0.0, 0.015, T)
    season = np.zeros(T)
    if ppy > 1 and cfg.season_amp > 0:
        phase = r.uniform(0.0, 2.0 * np.pi)
        season = cfg.season_amp * np.cos(2.0 * np.pi * (np.arange(T) % ppy) / ppy + phase)
    trend = _unit_trends(cfg, t, rngs["trend"])
    u = _ar1(cfg, rngs["shock"])
    log_mu0 = (
        np.log(population)
        + np.log(rate)
        + alpha[:, None]
        + gamma[None, :]
        + season_mult[:, None] * season[None, :]
        + trend
        + u
    )
    mu0 = np.exp(log_mu0)

    # ---- adoption and the effect --------------------------------------------------------
    adopt, group, sel_stat, threshold = _adoption(cfg, u, rngs["adoption"])
    ever = adopt >= 0
    event_time = np.where(ever[:, None], np.arange(T)[None, :] - adopt[:, None], -1)
    treated_cell = ever[:, None] & (event_time >= 0)
    r = rngs["effect"]
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
    tau = np.where(treated_cell, mult[:, None] * ramp * np.log1p(cfg.size * shape), 0.0)
    mu1 = mu0 * np.exp(tau)

    # ---- noise and observed rows --------------------------------------------------------
    r = rngs["noise"]
    if cfg.noise == "negbin":
        phi = 1.0 / cfg.overdispersion**2
        lam = r.gamma(phi, mu1 / phi)
    elif cfg.noise == "poisson-lognormal":
        sd = cfg.overdispersion
        lam = mu1 * np.exp(r.normal(-(sd**2) / 2.0, sd, mu1.shape))
    else:
        lam = mu1
    counts = r.poisson(lam)
    observed, _ = _observed(cfg, adopt, rngs["rows"])

    # ---- long panel ---------------------------------------------------------------------
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
            "admissions": mu1[ui, pi] if noiseless else counts[ui, pi].astype(np.int64),
            "population": population[ui, pi].astype(np.int64),
            "start": start[ui],
            "programme": np.where(ever, programmes[np.maximum(group, 0)], "")[ui],
        }
    )

    # ---- truth: over treated units observed at e ---------------------------------------
    cells = treated_cell & observed
    e = event_time[cells]
    m0, m1 = mu0[cells], mu1[cells]
    ets = np.unique(e)
    s0 = np.bincount(np.searchsorted(ets, e), weights=m0, minlength=ets.size)
    s1 = np.bincount(np.searchsorted(ets, e), weights=m1, minlength=ets.size)
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
        "units": units,
        "periods": labels,
    }
    return GeneratedPanel(config=cfg, panel=panel, truth=truth, latent=latent)


# ---- the grid ----------------------------------------------------------------------------
def _year(name: str, seed: int, **kw) -> PanelConfig:
    """Areas by year (local authorities, CCGs): thousands of admissions per cell."""
    return PanelConfig(name=name, seed=seed, freq="year", **kw)


def _quarter(name: str, seed: int, **kw) -> PanelConfig:
    """Areas or large practices by quarter, with seasonality."""
    base = {
        "n_units": 100,
        "n_years": 10,
        "count": 500.0,
        "overdispersion": 0.06,
        "season_amp": 0.08,
        "season_unit_sd": 0.3,
        "start_year": 2012,
    }
    return PanelConfig(name=name, seed=seed, freq="quarter", **{**base, **kw})


def _month(name: str, seed: int, **kw) -> PanelConfig:
    """GP practices by month: single-digit to tens of admissions per cell, seasonality."""
    base = {
        "n_units": 80,
        "n_years": 6,
        "count": 20.0,
        "overdispersion": 0.12,
        "season_amp": 0.12,
        "season_unit_sd": 0.3,
        "adopt_by": "unit",
        "size": -0.1,
        "start_year": 2016,
        "trend_sd": 0.01,
    }
    return PanelConfig(name=name, seed=seed, freq="month", **{**base, **kw})


GRID: list[PanelConfig] = [
    # --- yearly --------------------------------------------------------------------------
    _year("y01-delayed", 101),
    _year(
        "y02-areas-1e5",
        102,
        n_units=42,
        count=1e5,
        overdispersion=0.02,
        shape="step",
        size=-0.03,
        trend_sd=0.003,
        n_groups=6,
    ),
    _year("y03-small-poisson", 103, n_units=30, count=2000.0, noise="poisson", n_groups=4),
    _year(
        "y04-300-jcurve-pln",
        104,
        n_units=300,
        count=800.0,
        noise="poisson-lognormal",
        overdispersion=0.1,
        shape="jcurve",
        n_groups=20,
    ),
    _year("y05-temporary", 105, shape="temporary", overdispersion=0.05),
    _year("y06-null-quadratic", 106, shape="null", trend="quadratic", trend_sd=0.005),
    _year(
        "y07-null-rtm-0.7",
        107,
        shape="null",
        count=3000.0,
        ar_rho=0.7,
        ar_sd=0.05,
        selection="shock",
        unit_sd=0.0,
        group_sd=0.0,
    ),
    _year(
        "y08-null-rtm-0.4-pln",
        108,
        shape="null",
        ar_rho=0.4,
        ar_sd=0.04,
        selection="shock",
        noise="poisson-lognormal",
        overdispersion=0.05,
    ),
    _year("y09-delayed-rtm", 109, ar_rho=0.7, ar_sd=0.04, selection="shock"),
    _year("y10-delayed-quadratic", 110, trend="quadratic", trend_sd=0.006),
    _year("y11-jcurve-smooth", 111, shape="jcurve", trend="smooth", trend_sd=0.006),
    _year("y12-ramp", 112, shape="step", ramp_years=3.0),
    _year("y13-strong-nb", 113, count=400.0, overdispersion=0.3, size=-0.1),
    _year("y14-population-change", 114, pop_growth_sd=0.03, pop_jump=0.2),
    _year("y15-unbalanced", 115, missing=0.08, late_entry=0.15),
    _year(
        "y16-size-heterogeneity",
        116,
        shape="step",
        size=-0.05,
        unit_sd=0.6,
        group_sd=0.4,
        size_corr=-0.5,
    ),
    _year(
        "y17-null-smooth-pln",
        117,
        shape="null",
        trend="smooth",
        trend_sd=0.008,
        noise="poisson-lognormal",
        overdispersion=0.1,
    ),
    # --- quarterly -----------------------------------------------------------------------
    _quarter("q01-delayed", 201),
    _quarter("q02-jcurve-unit-season", 202, shape="jcurve", season_unit_sd=0.6),
    _quarter("q03-null", 203, shape="null"),
    _quarter(
        "q04-null-rtm-0.7",
        204,
        shape="null",
        ar_rho=0.7,
        ar_sd=0.06,
        selection="shock",
        unit_sd=0.0,
        group_sd=0.0,
    ),
    _quarter("q05-temporary", 205, shape="temporary", size=-0.08),
    _quarter("q06-ramp", 206, shape="step", ramp_years=2.0, adopt_by="unit"),
    _quarter(
        "q07-strong-pln", 207, count=150.0, noise="poisson-lognormal", overdispersion=0.3, size=-0.1
    ),
    _quarter("q08-areas-1e4", 208, n_units=60, count=1e4, overdispersion=0.02, size=-0.04),
    _quarter("q09-unbalanced", 209, missing=0.1, late_entry=0.2),
    _quarter("q10-delayed-quadratic", 210, trend="quadratic", trend_sd=0.006),
    _quarter("q11-year-labels", 211, adopt_label="year", adopt_by="unit"),
    _quarter(
        "q12-300-units", 212, n_units=300, count=60.0, overdispersion=0.1, n_groups=25, n_years=8
    ),
    _quarter("q13-ar-random", 213, ar_rho=0.5, ar_sd=0.05, shape="step", size=-0.05),
    _quarter(
        "q14-delayed-smooth-pop",
        214,
        trend="smooth",
        trend_sd=0.006,
        pop_growth_sd=0.02,
        pop_jump=0.15,
    ),
    # --- monthly -------------------------------------------------------------------------
    _month("m01-gp-delayed", 301, n_units=120, count=8.0, overdispersion=0.1, size=-0.15),
    _month("m02-gp-poisson-step", 302, count=4.0, noise="poisson", shape="step", size=-0.15),
    _month("m03-gp-null", 303, count=6.0, shape="null"),
    _month(
        "m04-gp-null-rtm",
        304,
        count=10.0,
        shape="null",
        ar_rho=0.7,
        ar_sd=0.1,
        selection="shock",
        adopt_label="year",
        unit_sd=0.0,
        group_sd=0.0,
    ),
    _month("m05-jcurve", 305, count=30.0, shape="jcurve"),
    _month("m06-temporary", 306, count=50.0, shape="temporary", size=-0.12),
    _month("m07-ramp", 307, count=25.0, shape="step", ramp_years=1.5),
    _month(
        "m08-strong-pln",
        308,
        count=15.0,
        noise="poisson-lognormal",
        overdispersion=0.35,
        size=-0.15,
    ),
    _month("m09-unbalanced", 309, count=12.0, missing=0.1, late_entry=0.2),
    _month("m10-gp-300", 310, n_units=300, count=5.0, n_years=5, size=-0.15, n_groups=20),
    _month(
        "m11-areas-monthly",
        311,
        n_units=40,
        count=2000.0,
        overdispersion=0.04,
        adopt_by="group",
        size=-0.05,
        n_groups=5,
        trend_sd=0.004,
    ),
    _month("m12-year-labels", 312, count=20.0, adopt_label="year"),
    _month("m13-unit-season", 313, count=40.0, season_unit_sd=0.8, shape="step", size=-0.08),
    _month("m14-smooth-null", 314, count=20.0, shape="null", trend="smooth", trend_sd=0.015),
]

BY_NAME: dict[str, PanelConfig] = {c.name: c for c in GRID}

QUICK: tuple[str, ...] = (
    "y03-small-poisson",
    "y07-null-rtm-0.7",
    "q09-unbalanced",
    "m02-gp-poisson-step",
    "m11-areas-monthly",
)


def get(name: str) -> PanelConfig:
    """The grid's config called ``name``; ``"name@SEED"`` is the same design on another seed.

    One fit per panel ranks models only roughly (a panel's noise can put every late event time
    on one side of the truth), so the study can repeat a design on other seeds.
    """
    base, _, seed = name.partition("@")
    try:
        cfg = BY_NAME[base]
    except KeyError:
        raise KeyError(f"unknown panel {base!r}; choose from {sorted(BY_NAME)}") from None
    if not seed:
        return cfg
    if not seed.isdigit():
        raise KeyError(f"panel {name!r}: the seed after '@' must be a non-negative integer")
    return replace(cfg, name=name, seed=int(seed))


def small(cfg: PanelConfig, n_units: int = 30, n_years: int | None = None) -> PanelConfig:
    """A smaller copy of ``cfg`` (same settings and seed) for smoke runs."""
    return replace(
        cfg, n_units=n_units, n_years=n_years or cfg.n_years, n_groups=min(cfg.n_groups, 4)
    )
