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
This module holds the grid and re-exports the rest: the settings and shapes are in
``coverage_config.py``, the drawing in ``coverage_generate.py``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coverage_config import (  # noqa: E402, F401  (re-exported: the grid's public names)
    COLUMNS,
    NOISES,
    PERIODS_PER_YEAR,
    SELECTIONS,
    SHAPES,
    TRENDS,
    GeneratedPanel,
    PanelConfig,
)
from coverage_generate import generate  # noqa: E402, F401


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
