"""Do units' seasonal swings differ? A check on the untreated cells, before any model.

The default counterfactual gives every unit the common seasonality of the period effects. If
units' own seasonal swings differ (a student practice, a coastal town), the difference stays
in the noise and, where units adopt in different months, partly in the effect at each event
time; ``[counterfactual] unit_season = 1`` gives each unit its own annual harmonic.

The check: on each unit's untreated cells, the log rate less the unit's mean, the period's
mean over units (the common seasonality) and the unit's own linear trend; then the power of
the annual harmonic (least-squares ``cos, sin (2 pi t)``, ``t`` in years) against the power at
neighbouring frequencies that no calendar sets (the unit's own noise there, serial
correlation included). Without unit-specific seasonality the two match; their ratio is tested
as F(2n, 2nK) for n units and K neighbouring frequencies: approximately, as neighbouring
frequencies closer than one cycle over the unit's span are not independent. The size it reports
(the root mean square of the units' own amplitudes beyond the noise) is rough where counts are
small: on grid panels of a dozen admissions a cell it read up to 2.6 times the design's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staggered.periods import PERIODS_PER_YEAR

#: Neighbouring frequencies (cycles a year) that stand in for the noise at the annual one.
REFERENCE_FREQUENCIES = (0.6, 0.7, 0.8, 1.25, 1.35, 1.45)
#: Flag when the test's p-value is below this and the swings differ by at least MIN_AMPLITUDE.
ALPHA = 0.001
#: Smallest root-mean-square difference of the units' annual amplitude (log rate) worth a note.
MIN_AMPLITUDE = 0.02


@dataclass(frozen=True)
class SeasonCheck:
    """Result of :func:`unit_season_check`.

    Attributes
    ----------
    units : int
        Units with two or more years of untreated cells (the ones checked).
    ratio : float
        Mean power of the annual harmonic over mean power at the reference frequencies.
    p_value : float
        Of the ratio under no unit-specific seasonality (F distribution).
    amplitude : float
        Root-mean-square of the units' own annual amplitude beyond the noise (log rate): how
        much units' seasonal swings differ from the common one.
    flagged : bool
        ``p_value < ALPHA`` and ``amplitude >= MIN_AMPLITUDE``.
    """

    units: int
    ratio: float
    p_value: float
    amplitude: float
    flagged: bool

    def note(self) -> str:
        """One line for the summary and the report."""
        if not self.flagged:
            return (
                f"seasonality: units' seasonal swings do not differ detectably from the common "
                f"one (ratio {self.ratio:.2f}, p = {self.p_value:.2g}, {self.units} units)"
            )
        p = f"p = {self.p_value:.1g}" if self.p_value >= 1e-16 else "p < 1e-16"
        return (
            "Note: seasonality differs between units: their annual swings differ from the "
            f"common one, roughly by {100 * self.amplitude:.1f}% (root mean square; power ratio "
            f"{self.ratio:.1f}, approximate {p}; {self.units} units' untreated cells). This "
            "model gives every unit the common seasonality; `[counterfactual] unit_season = 1` "
            "in a spec file gives each its own. On simulated panels that did not improve the "
            "pooled effect; fit both and compare them (`staggered compare`; docs/checks.md)."
        )


def _two_way_residuals(
    value: np.ndarray, unit: np.ndarray, period: np.ndarray, iterations: int = 50
) -> np.ndarray:
    """``value`` less unit and period means (alternating projections, unbalanced cells).

    Only the units and periods that have cells are indexed (the design refuses periods
    without untreated cells; the guard keeps the division safe all the same).
    """

    def means(index: np.ndarray, r: np.ndarray) -> np.ndarray:
        counts = np.bincount(index)
        sums = np.bincount(index, r)
        return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)[index]

    r = value - value.mean()
    for _ in range(iterations):
        r = r - means(unit, r)
        r = r - means(period, r)
    return r


def _power(t: np.ndarray, r: np.ndarray, frequency: float) -> float:
    """Squared amplitude of the least-squares harmonic at ``frequency`` (cycles a year)."""
    x = np.column_stack([np.cos(2 * np.pi * frequency * t), np.sin(2 * np.pi * frequency * t)])
    coef, *_ = np.linalg.lstsq(x, r, rcond=None)
    return float(coef @ coef)


def unit_season_check(design) -> SeasonCheck | None:
    """Test the untreated cells for unit-specific seasonality (see the module docstring).

    Returns None for yearly panels, Gaussian outcomes (the check works on log rates) and
    panels with fewer than three units seen untreated for two years or more.
    """
    from scipy import stats

    p = design.panel
    per_year = PERIODS_PER_YEAR.get(p.freq, 1)
    if per_year < 2 or p.family != "count":
        return None
    keep = ~design.effect_cell
    value = np.log((p.y[keep] + 0.5) / p.exposure[keep])
    unit, period = p.unit_idx[keep], p.period_idx[keep]
    r = _two_way_residuals(value, unit, period)
    t = period / per_year
    annual, reference = [], []
    for u in np.unique(unit):
        cells = unit == u
        if cells.sum() < 2 * per_year:
            continue
        tu = t[cells]
        trend = np.column_stack([np.ones(tu.size), tu - tu.mean()])
        ru = r[cells] - trend @ np.linalg.lstsq(trend, r[cells], rcond=None)[0]
        annual.append(_power(tu, ru, 1.0))
        reference.append([_power(tu, ru, f) for f in REFERENCE_FREQUENCIES])
    n = len(annual)
    if n < 3:
        return None
    noise = float(np.mean(reference))
    ratio = float(np.mean(annual)) / noise if noise > 0 else float("inf")
    k = len(REFERENCE_FREQUENCIES)
    p_value = float(stats.f.sf(ratio, 2 * n, 2 * n * k))
    amplitude = float(np.sqrt(max(np.mean(annual) - noise, 0.0)))
    return SeasonCheck(
        units=n,
        ratio=ratio,
        p_value=p_value,
        amplitude=amplitude,
        flagged=p_value < ALPHA and amplitude >= MIN_AMPLITUDE,
    )


def season_note(fit) -> str | None:
    """The check's warning for a fit whose counterfactual lacks unit seasonality, or None.

    None when the panel is yearly, the spec already has ``unit_season``, or the check does not
    flag the panel.
    """
    if fit.spec.unit_season or len(fit.outcomes) > 1:  # joint fits: each outcome's report
        return None
    check = unit_season_check(fit.design)
    return check.note() if check is not None and check.flagged else None
