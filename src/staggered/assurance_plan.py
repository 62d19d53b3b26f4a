"""A planned rollout and a hypothesised effect (inputs of design-stage assurance).

:class:`Rollout` describes the planned evaluation (sites, comparison areas, the share of sites
adopting in each year of the rollout, years of history before the first adoption, years of
follow-up after it), :class:`Effect` the hypothesised programme effect by time since adoption,
and :class:`Baseline` the untreated admissions of simulated areas
(:mod:`staggered.assurance_panels` draws panels from them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from staggered.periods import PERIODS_PER_YEAR

__all__ = ["SHAPES", "Baseline", "Effect", "Rollout", "cohort_sizes", "pct", "rollout_shares"]

SHAPES = ("ramp", "step", "delayed", "jcurve")
DEFAULT_DELAY = {"ramp": 0.0, "step": 0.0, "delayed": 2.0, "jcurve": 2.0}


@dataclass(frozen=True)
class Rollout:
    """A planned rollout.

    Attributes
    ----------
    sites : int
        Areas that adopt the programme.
    comparison_areas : int
        Areas that never adopt (simulated panels; a plasmode run uses the panel's other units).
    shares : tuple of float
        Share of the sites adopting in each successive year of the rollout, from its first year
        (normalised to 1; ``(0.5, 0.5)``: half in year one, half in year two). Adoption is at the
        start of a year.
    history : int
        Years of data before the first adoption.
    follow_up : int
        Years of data from the first adoption on (the panel ends ``follow_up`` years after the
        first sites adopt; later cohorts have fewer years).
    freq : {"year", "quarter", "month"}
        Panel frequency (a plasmode run takes the panel's own).
    first_year : int
        Calendar year of the first adoption (labels of simulated panels).
    """

    sites: int = 40
    comparison_areas: int = 40
    shares: tuple[float, ...] = (0.5, 0.5)
    history: int = 5
    follow_up: int = 7
    freq: str = "year"
    first_year: int = 2026

    def __post_init__(self):
        shares = np.asarray(self.shares, dtype=float)
        if shares.size == 0 or (shares < 0).any() or shares.sum() <= 0:
            raise ValueError(f"rollout shares must be >= 0 with a positive sum, got {self.shares}")
        if self.sites < 1 or self.comparison_areas < 0:
            raise ValueError(
                f"need sites >= 1 and comparison_areas >= 0, got {self.sites} and "
                f"{self.comparison_areas}"
            )
        if self.history < 1 or self.follow_up < 1:
            raise ValueError(
                f"need history >= 1 and follow_up >= 1 years, got {self.history} and "
                f"{self.follow_up}"
            )
        if self.freq not in PERIODS_PER_YEAR:
            raise ValueError(f"freq must be one of {sorted(PERIODS_PER_YEAR)}, got {self.freq!r}")

    @property
    def ppy(self) -> int:
        """Periods per year."""
        return PERIODS_PER_YEAR[self.freq]

    @property
    def n_periods(self) -> int:
        """Periods in the panel (history plus follow-up)."""
        return (self.history + self.follow_up) * self.ppy

    @property
    def first_adoption(self) -> int:
        """Period index of the first adoption."""
        return self.history * self.ppy

    def adoption_periods(self, n_sites: int | None = None) -> np.ndarray:
        """Period index of each site's adoption (sites in order, earliest cohort first)."""
        sizes = cohort_sizes(self.sites if n_sites is None else n_sites, self.shares)
        return self.first_adoption + self.ppy * np.repeat(np.arange(sizes.size), sizes)


def cohort_sizes(n_sites: int, shares: Sequence[float]) -> np.ndarray:
    """Sites adopting in each rollout year: ``shares`` of ``n_sites``, largest remainder."""
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    exact = n_sites * shares
    sizes = np.floor(exact).astype(int)
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[: n_sites - sizes.sum()]] += 1
    return sizes


def rollout_shares(rollout: Sequence[float] | Mapping[int, float]) -> tuple[tuple, int | None]:
    """Shares per rollout year and the first adoption year (from a ``{year: share}`` mapping).

    Returns
    -------
    (tuple of float, int or None)
    """
    if isinstance(rollout, Mapping):
        years = sorted(int(y) for y in rollout)
        shares = tuple(float(rollout.get(y, rollout.get(str(y), 0.0))) for y in years)
        full = [0.0] * (years[-1] - years[0] + 1)
        for y, s in zip(years, shares, strict=True):
            full[y - years[0]] = s
        return tuple(full), years[0]
    return tuple(float(s) for s in rollout), None


@dataclass(frozen=True)
class Effect:
    """A hypothesised programme effect: relative change of the rate by time since adoption.

    Attributes
    ----------
    shape : str or tuple of float
        ``"ramp"``: linear from 0 at adoption to ``size`` after ``ramp`` years. ``"step"``:
        ``size`` from adoption on. ``"delayed"``: nothing for ``delay`` years (default 2), then
        the ramp. ``"jcurve"``: a rise of half the size (``-size / 2``) for ``delay`` years
        (default 2), then linear to ``size`` over ``ramp`` years. A tuple is a trajectory: the
        relative effect at event times 0, 1, 2, ... (panel periods since adoption), the last
        value carried on.
    size : float
        Full-size relative effect (rate ratio - 1): ``-0.03`` is a 3% reduction.
    ramp : float
        Years from the start of the ramp to full size (0: a step).
    delay : float, optional
        Years before the ramp starts (default by shape: 0, or 2 for delayed and jcurve).
    site_sd : float
        Between-site spread: standard deviation of the sites' full-size effects around ``size``
        (same scale: ``0.02`` spreads a -3% effect over about -7% to +1%). Each site's log
        effect is the curve's times ``1 + z * site_sd / max|effect|``, z standard normal, so the
        shape is the same in every site.

    Notes
    -----
    A period's effect is the curve at its midpoint: a yearly ramp to -3% over 4 years gives
    -0.375%, -1.125%, -1.875%, -2.625% and then -3% in years 0 to 4 after adoption.
    """

    shape: str | tuple[float, ...] = "ramp"
    size: float = -0.03
    ramp: float = 4.0
    delay: float | None = None
    site_sd: float = 0.0

    def __post_init__(self):
        if isinstance(self.shape, str):
            if self.shape not in SHAPES:
                raise ValueError(
                    f"effect shape must be one of {SHAPES} or a trajectory of relative effects "
                    f"by event time, got {self.shape!r}"
                )
        else:
            object.__setattr__(self, "shape", tuple(float(v) for v in self.shape))
            if not self.shape:
                raise ValueError("an effect trajectory needs at least one value")
        if self.ramp < 0 or (self.delay is not None and self.delay < 0) or self.site_sd < 0:
            raise ValueError(
                f"need ramp, delay and site_sd >= 0, got {self.ramp}, {self.delay}, {self.site_sd}"
            )
        values = self.shape if isinstance(self.shape, tuple) else (self.size, -self.size / 2)
        if min(values) <= -1:
            raise ValueError(
                f"relative effects must be > -1 (a rate cannot fall by 100%): {values}"
            )

    @property
    def start(self) -> float:
        """Years before the ramp starts."""
        if self.delay is not None:
            return float(self.delay)
        return DEFAULT_DELAY[self.shape] if isinstance(self.shape, str) else 0.0

    @property
    def ramp_years(self) -> float:
        """Years from the start of the effect to full size (0 for a step)."""
        return 0.0 if self.shape == "step" else float(self.ramp)

    @property
    def is_null(self) -> bool:
        """No effect anywhere."""
        if isinstance(self.shape, tuple):
            return not any(self.shape)
        return self.size == 0

    def null(self) -> Effect:
        """The same settings without an effect."""
        return dataclasses.replace(self, shape="step", size=0.0, delay=None, site_sd=0.0)

    @property
    def peak(self) -> float:
        """Largest absolute relative effect of the curve (scales ``site_sd``)."""
        if isinstance(self.shape, tuple):
            return float(np.max(np.abs(self.shape)))
        return abs(self.size)

    def relative(self, event_time: np.ndarray, ppy: int = 1) -> np.ndarray:
        """Relative effect at each event time (panel periods since adoption; 0 before)."""
        e = np.asarray(event_time)
        if isinstance(self.shape, tuple):
            traj = np.asarray(self.shape)
            out = traj[np.clip(e, 0, traj.size - 1)]
            return np.where(e >= 0, out, 0.0)
        s = (e + 0.5) / ppy  # years since adoption at the period's midpoint
        if self.ramp_years > 0:
            ramp = np.clip((s - self.start) / self.ramp_years, 0.0, 1.0)
        else:
            ramp = (s >= self.start).astype(float)
        if self.shape == "jcurve":
            out = -self.size / 2 + (self.size * 1.5) * ramp
        else:
            out = self.size * ramp
        return np.where(e >= 0, out, 0.0)

    def log_effects(self, event_time: np.ndarray, z: np.ndarray, ppy: int = 1) -> np.ndarray:
        """Log rate ratio of each (site, period): ``log1p(relative) * (1 + z * site_sd / peak)``.

        ``event_time`` is (sites, periods), ``z`` (sites,) standard normal draws.
        """
        base = np.log1p(self.relative(event_time, ppy))
        if self.site_sd == 0 or self.peak == 0:
            return base
        return base * (1.0 + np.asarray(z)[:, None] * self.site_sd / self.peak)

    def describe(self) -> str:
        """The effect in words ("a -3% effect reached after 4 years")."""
        if isinstance(self.shape, tuple):
            vals = ", ".join(pct(v) for v in self.shape)
            return f"the effect trajectory {vals} (by event time)"
        size = pct(self.size)
        years = _years(self.start + self.ramp_years)
        if self.ramp_years == 0:
            text = (
                f"a {size} effect from adoption"
                if self.start == 0
                else (f"a {size} effect starting after {_years(self.start)}")
            )
        elif self.shape == "ramp" and self.start == 0:
            text = f"a {size} effect reached after {years}"
        elif self.shape == "jcurve":
            text = (
                f"a J-curve ({pct(-self.size / 2)} for {_years(self.start)}, then {size} "
                f"reached after {years})"
            )
        else:
            text = f"a {size} effect starting after {_years(self.start)} and reached after {years}"
        if self.site_sd > 0:
            text += f" (between-site sd {pct(self.site_sd, sign=False)})"
        return text


def pct(x: float, sign: bool = True) -> str:
    """A relative effect as a percentage without trailing zeros (``-0.03`` -> ``"-3%"``)."""
    text = f"{100 * x:{'+' if sign else ''}.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _years(x: float) -> str:
    return f"{x:g} year" + ("" if x == 1 else "s")


@dataclass(frozen=True)
class Baseline:
    """Untreated admissions of simulated areas.

    Attributes
    ----------
    rate_per_1000 : float
        Admissions per 1,000 population per year.
    population : tuple of float
        Range of area populations (log-uniform), fixed per area across simulations.
    unit_sd : float
        Between-area sd of the log admission rate.
    growth : float
        Common yearly growth of the rate.
    period_sd : float
        Common period shocks (sd on the log rate).
    unit_trend_sd : float
        Between-area sd of yearly log-rate trends (±0.4%/year is typical of our panels).
    dispersion_cv : float
        Extra-Poisson coefficient of variation of the negative-binomial noise.
    """

    rate_per_1000: float = 105.0
    population: tuple[float, float] = (150_000.0, 1_200_000.0)
    unit_sd: float = 0.15
    growth: float = 0.02
    period_sd: float = 0.01
    unit_trend_sd: float = 0.004
    dispersion_cv: float = 0.01
