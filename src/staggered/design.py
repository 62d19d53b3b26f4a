"""Event-time design: which cells are treated, which inform the counterfactual.

Event time ``e`` is the number of panel periods since the unit's adoption (0 = first treated
period). Cells with ``e >= -anticipation`` of treated units carry an effect parameter; every
other cell (never-treated units, and treated units before adoption minus the anticipation
window) is a comparison cell that informs the untreated counterfactual only.

With ``comparison="never-treated"`` only never-treated units inform the period effects: every
pre-adoption cell of a treated unit except one base cell (its last cell before the placebo
window) carries a placebo effect, so the treated units' own past only fixes their levels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from staggered.data import PERIODS_PER_YEAR, Panel, PanelError
from staggered.errors import _fmt as _format_list

COMPARISONS = ("not-yet-treated", "never-treated")


@dataclass(frozen=True)
class Design:
    """The encoded panel plus its event-time structure.

    Attributes
    ----------
    panel : Panel
        The validated panel.
    event_time : numpy.ndarray
        (N,) int event time per cell; ``NO_EVENT`` for never-treated units.
    effect_cell : numpy.ndarray
        (N,) bool, the cell carries an effect parameter (treated or anticipation window).
    event_times : numpy.ndarray
        Coordinates of the effect curve (``-anticipation .. horizon``).
    effect_index : numpy.ndarray
        (n_effect_cells,) index into ``event_times`` for each effect cell, in cell order.
    treated_units : numpy.ndarray
        Indices of units with at least one effect cell (the ``treated_unit`` dimension).
    anticipation : int
        Number of periods before adoption given their own effects.
    placebo : int
        Number of pre-adoption event times (before any anticipation window) in
        ``event_times``, all given placebo effects. With ``comparison="not-yet-treated"`` this
        is the ``placebo`` setting (each unit's earliest observed cell stays a comparison
        cell); with ``"never-treated"`` it reaches back to the earliest pre-adoption cell of
        any treated unit.
    horizon : int or None
        Event times beyond ``horizon`` share the effect at ``horizon``.
    comparison : {"not-yet-treated", "never-treated"}
        Which units' cells inform the period effects of the counterfactual.
    placebo_window : int or None
        The ``placebo`` argument of :func:`build_design` (None: same as ``placebo``); with
        ``"never-treated"`` it places each treated unit's base cell.
    """

    panel: Panel
    event_time: np.ndarray
    effect_cell: np.ndarray
    event_times: np.ndarray
    effect_index: np.ndarray
    treated_units: np.ndarray
    anticipation: int = 0
    horizon: int | None = None
    placebo: int = 0
    comparison: str = "not-yet-treated"
    placebo_window: int | None = None

    NO_EVENT = np.iinfo(np.int64).min // 2

    @property
    def effect_cells(self) -> np.ndarray:
        """Indices of the cells that carry an effect parameter."""
        return np.flatnonzero(self.effect_cell)

    @property
    def first_effect_time(self) -> int:
        """First event time of the programme's effect (``-anticipation``); earlier = placebo."""
        return -self.anticipation

    @property
    def cell_treated_unit(self) -> np.ndarray:
        """For each effect cell, its position in :attr:`treated_units`."""
        pos = np.full(self.panel.n_units, -1)
        pos[self.treated_units] = np.arange(self.treated_units.size)
        return pos[self.panel.unit_idx[self.effect_cell]]

    @property
    def period_time(self) -> np.ndarray:
        """Centred calendar time of each period, in years (for unit trends)."""
        per_year = PERIODS_PER_YEAR.get(self.panel.freq, 1)
        t = np.arange(self.panel.n_periods) / per_year
        return t - t.mean()

    @property
    def ar_lag(self) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's previous observed cell of the same unit, and the gap in periods.

        Returns ``(lag_cell, gap)``; ``lag_cell`` is -1 (and ``gap`` 0) on a unit's first cell.
        """
        p = self.panel
        order = np.lexsort((p.period_idx, p.unit_idx))
        unit_sorted = p.unit_idx[order]
        lag_sorted = np.full(order.size, -1)
        same_unit = unit_sorted[1:] == unit_sorted[:-1]
        lag_sorted[1:] = np.where(same_unit, order[:-1], -1)
        lag_cell = np.full(order.size, -1)
        lag_cell[order] = lag_sorted
        gap = np.where(lag_cell >= 0, p.period_idx - p.period_idx[np.maximum(lag_cell, 0)], 0)
        return lag_cell, gap

    def to_dict(self) -> dict:
        """Plain settings needed to rebuild the design from the panel."""
        return {
            "anticipation": self.anticipation,
            "horizon": self.horizon,
            "placebo": self.placebo if self.placebo_window is None else self.placebo_window,
            "comparison": self.comparison,
        }


def _base_cells(panel: Panel, pre: np.ndarray, before: np.ndarray) -> np.ndarray:
    """One base cell per treated unit: its latest ``before`` cell, else its earliest ``pre``.

    ``pre`` marks pre-adoption cells outside any anticipation window, ``before`` those also
    before the placebo window. Units without a ``pre`` cell get no base cell.
    """
    latest = np.full(panel.n_units, -1)
    np.maximum.at(latest, panel.unit_idx[before], panel.period_idx[before])
    earliest = np.full(panel.n_units, panel.n_periods)
    np.minimum.at(earliest, panel.unit_idx[pre], panel.period_idx[pre])
    base_period = np.where(latest >= 0, latest, earliest)
    return pre & (panel.period_idx == base_period[panel.unit_idx])


def build_design(
    panel: Panel,
    *,
    anticipation: int = 0,
    horizon: int | None = None,
    placebo: int = 0,
    comparison: str = "not-yet-treated",
) -> Design:
    """Compute event times and check that every treated period has comparison cells.

    Parameters
    ----------
    panel : Panel
        Output of :func:`staggered.encode_panel`.
    anticipation : int, default 0
        The ``anticipation`` periods before adoption are not used as comparison cells and get
        their own effects (event times ``-anticipation .. -1``).
    horizon : int, optional
        Bin event times beyond ``horizon`` into ``horizon`` (one shared effect).
    placebo : int, default 0
        Give the ``placebo`` event times before ``-anticipation`` placebo effects (a
        pre-trend check). With ``"not-yet-treated"`` a unit's earliest observed cell always
        stays a comparison cell.
    comparison : {"not-yet-treated", "never-treated"}, default "not-yet-treated"
        Which cells inform the period effects of the counterfactual. ``"not-yet-treated"``:
        never-treated units and treated units before adoption (minus the anticipation and
        placebo windows). ``"never-treated"``: never-treated units only; each treated unit
        keeps one base cell (event time ``-anticipation - placebo - 1``, or its latest
        observed cell before that, or else its earliest pre-adoption cell) to fix its level,
        and its other pre-adoption cells get placebo effects, so ``event_times`` reaches back
        to the earliest of them.

    Returns
    -------
    Design

    Raises
    ------
    PanelError
        If some period with treated cells has no never- or not-yet-treated comparison cell
        (no never-treated unit with ``comparison="never-treated"``), or a treated unit has no
        untreated cell to learn its baseline from.
    ValueError
        If a setting is out of range or ``comparison`` is not one of the two choices.
    """
    _check_settings(comparison, anticipation, placebo, horizon)
    event_time = _event_time(panel)
    ever = event_time != Design.NO_EVENT
    first_eff = -anticipation
    effect_cell = _effect_cells(panel, event_time, first_eff, placebo, comparison)
    if comparison == "never-treated":
        _check_never_treated_periods(panel, ever)
    units_with_effect = _check_comparison_cells(panel, event_time, effect_cell, anticipation)

    e_eff = event_time[effect_cell]
    max_e = int(e_eff.max()) if e_eff.size else 0
    top = max_e if horizon is None else min(max_e, horizon)
    # never-treated: placebo cells may reach further back than the placebo window
    bottom = min(first_eff - placebo, int(e_eff.min()) if e_eff.size else first_eff)
    event_times = np.arange(bottom, top + 1)
    effect_index = np.minimum(e_eff, top) - bottom
    return Design(
        panel=panel,
        event_time=event_time,
        effect_cell=effect_cell,
        event_times=event_times,
        effect_index=effect_index.astype(np.int64),
        treated_units=units_with_effect,
        anticipation=anticipation,
        horizon=horizon,
        placebo=first_eff - bottom,
        comparison=comparison,
        placebo_window=placebo,
    )


def _check_settings(comparison: str, anticipation: int, placebo: int, horizon: int | None) -> None:
    """Refuse an unknown comparison and negative windows."""
    if comparison not in COMPARISONS:
        allowed = " or ".join(repr(c) for c in COMPARISONS)
        raise ValueError(f"comparison must be {allowed}, got {comparison!r}")
    if anticipation < 0:
        raise ValueError(f"anticipation must be >= 0, got {anticipation}")
    if placebo < 0:
        raise ValueError(f"placebo must be >= 0, got {placebo}")
    if horizon is not None and horizon < 0:
        raise ValueError(f"horizon must be >= 0, got {horizon}")


def _effect_cells(
    panel: Panel, event_time: np.ndarray, first_eff: int, placebo: int, comparison: str
) -> np.ndarray:
    """Cells with an effect (anticipation, treated or placebo); the others are comparisons."""
    ever = event_time != Design.NO_EVENT
    effect_cell = ever & (event_time >= first_eff)
    if comparison == "never-treated":
        pre = ever & (event_time < first_eff)
        base = _base_cells(panel, pre, pre & (event_time < first_eff - placebo))
        effect_cell = effect_cell | (pre & ~base)
    elif placebo:
        first_seen = np.full(panel.n_units, panel.n_periods)
        np.minimum.at(first_seen, panel.unit_idx, panel.period_idx)
        earliest = panel.period_idx == first_seen[panel.unit_idx]
        in_window = (event_time >= first_eff - placebo) & (event_time < first_eff)
        effect_cell = effect_cell | (ever & in_window & ~earliest)
    return effect_cell


def _check_never_treated_periods(panel: Panel, ever: np.ndarray) -> None:
    """With ``comparison="never-treated"``: a never-treated unit in every treated unit's period."""
    has_never = np.bincount(panel.period_idx[~ever], minlength=panel.n_periods) > 0
    # base cells too: a base cell's period effect must be learnt from never-treated units
    has_treated = np.bincount(panel.period_idx[ever], minlength=panel.n_periods) > 0
    bad = np.flatnonzero(has_treated & ~has_never)
    if bad.size:
        periods = _format_list([panel.period_labels[p] for p in bad])
        if ever.all():
            raise PanelError(
                "comparison='never-treated' needs never-treated units, but every unit of "
                f"the panel adopts within it (effect or placebo cells in period(s) "
                f"{periods}). Use comparison='not-yet-treated' or add never-treated units."
            )
        raise PanelError(
            f"No never-treated unit is observed in period(s) {periods}, where treated "
            "units have effect, placebo or base cells: with comparison='never-treated' only "
            "never-treated units inform the period effects. Use "
            "comparison='not-yet-treated', add never-treated units, or drop those periods "
            "from the panel."
        )


def _check_comparison_cells(
    panel: Panel,
    event_time: np.ndarray,
    effect_cell: np.ndarray,
    anticipation: int,
) -> np.ndarray:
    """Comparison cells in every period with effect cells, and in every treated unit.

    Returns the units with effect cells.
    """
    comp_cell = ~effect_cell
    has_eff = np.bincount(panel.period_idx[effect_cell], minlength=panel.n_periods) > 0
    # every period with effect cells needs at least one comparison cell in the same period
    has_comp = np.bincount(panel.period_idx[comp_cell], minlength=panel.n_periods) > 0
    bad = np.flatnonzero(has_eff & ~has_comp)
    if bad.size:
        periods = [panel.period_labels[p] for p in bad]
        ev = sorted({int(e) for e in event_time[effect_cell & np.isin(panel.period_idx, bad)]})
        raise PanelError(
            f"No never- or not-yet-treated comparison cells in period(s) "
            f"{_format_list(periods)} (event times {_format_list(ev)}): every observed unit is "
            "already treated there, so the untreated counterfactual cannot be learnt. Add "
            "comparison units, or drop those periods from the panel (e.g. keep periods before "
            f"{periods[0]})."
        )
    # each treated unit needs an untreated cell to anchor its intercept
    units_with_effect = np.unique(panel.unit_idx[effect_cell])
    units_with_comp = np.unique(panel.unit_idx[comp_cell])
    no_base = np.setdiff1d(units_with_effect, units_with_comp)
    if no_base.size:
        raise PanelError(
            f"Unit(s) {_format_list(list(panel.unit_labels[no_base]))} have no observed period "
            f"before adoption (minus an anticipation window of {anticipation}), so their "
            "untreated level cannot be learnt. Add their pre-adoption rows or drop these units."
        )
    return units_with_effect


def _event_time(panel: Panel) -> np.ndarray:
    """Periods since adoption per cell; ``Design.NO_EVENT`` for never-treated units."""
    adopt = panel.adoption_idx[panel.unit_idx]
    return np.where(adopt >= 0, panel.period_idx - adopt, Design.NO_EVENT).astype(np.int64)


def estimation_cells(panel: Panel, *, anticipation: int, comparison: str) -> np.ndarray:
    """Cells the estimation fit uses.

    All of them; with ``"never-treated"`` comparison only never-treated units, treated units'
    effect cells and one base cell each (their last pre-adoption cell before any anticipation
    window), so that treated units' other past periods do not inform the period effects.
    """
    e = _event_time(panel)
    ever = e != Design.NO_EVENT
    if comparison != "never-treated":
        return np.ones(panel.n_cells, dtype=bool)
    pre = ever & (e < -anticipation)
    base = _base_cells(panel, pre, pre)
    return ~ever | (e >= -anticipation) | base


def fit_designs(
    panel: Panel,
    *,
    anticipation: int = 0,
    horizon: int | None = None,
    placebo: int = 3,
    comparison: str = "not-yet-treated",
) -> tuple[Design, Design | None]:
    """Designs of the estimation fit and of the separate pre-trend check.

    The estimation fit uses every untreated cell for the counterfactual (no placebo cells). The
    pre-trend check (``placebo`` > 0) is fitted on untreated cells only: each treated unit's
    last ``placebo`` pre-adoption cells (before any anticipation window; with
    ``"never-treated"`` all but its base cell) get pseudo-effects, as in Borusyak, Jaravel &
    Spiess's test, so the check never touches the estimates.

    Returns
    -------
    (Design, Design or None)
        The estimation design and the check's design (None when ``placebo`` is 0, or, with a
        warning, when no treated unit has a pre-adoption cell to check).
    """
    keep = estimation_cells(panel, anticipation=anticipation, comparison=comparison)
    design = build_design(
        panel.subset(keep) if not keep.all() else panel,
        anticipation=anticipation,
        horizon=horizon,
        placebo=0,
        comparison=comparison,
    )
    if placebo == 0:
        return design, None
    e = _event_time(panel)
    untreated = (e == Design.NO_EVENT) | (e < -anticipation)
    try:
        check = build_design(
            panel.subset(untreated),
            anticipation=anticipation,
            placebo=placebo,
            comparison=comparison,
        )
    except PanelError as err:  # e.g. no treated unit observed before its placebo window
        _no_check(str(err))
        return design, None
    if not check.effect_cell.any():
        _no_check("no treated unit has an untreated pre-adoption period to test")
        return design, None
    return design, check


def _no_check(reason: str) -> None:
    """Say that the pre-trend check was asked for but cannot be run (never silently)."""
    warnings.warn(
        f"No pre-trend check was fitted: {reason}. The effects rest on parallel trends that "
        "this panel cannot test.",
        UserWarning,
        stacklevel=3,
    )
