"""Settings of a coverage-study panel and what a generated panel holds.

:class:`PanelConfig` is one named design of the grid (``coverage_dgp.GRID``);
:class:`GeneratedPanel` is what ``coverage_generate.generate`` draws from it; ``SHAPES`` are
the effect curves at full size by years since adoption.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
