"""Event-time design: which cells are treated, which inform the counterfactual.

Event time ``e`` is the number of panel periods since the unit's adoption (0 = first treated
period). Cells with ``e >= -anticipation`` of treated units carry an effect parameter; every
other cell (never-treated units, and treated units before adoption minus the anticipation
window) is a comparison cell that informs the untreated counterfactual only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staggered.data import Panel, PanelError
from staggered.data import _fmt as _format_list


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
        Number of pre-adoption event times (before any anticipation window) given placebo
        effects, for the pre-trend check; each unit's earliest observed cell stays a
        comparison cell.
    horizon : int or None
        Event times beyond ``horizon`` share the effect at ``horizon``.
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
        per_year = {"year": 1, "quarter": 4, "month": 12}.get(self.panel.freq, 1)
        t = np.arange(self.panel.n_periods) / per_year
        return t - t.mean()

    def to_dict(self) -> dict:
        """Plain settings needed to rebuild the design from the panel."""
        return {
            "anticipation": self.anticipation,
            "horizon": self.horizon,
            "placebo": self.placebo,
        }


def build_design(
    panel: Panel, *, anticipation: int = 0, horizon: int | None = None, placebo: int = 0
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
        pre-trend check). A unit's earliest observed cell always stays a comparison cell.

    Returns
    -------
    Design

    Raises
    ------
    PanelError
        If some period with treated cells has no never- or not-yet-treated comparison cell,
        or a treated unit has no untreated cell to learn its baseline from.
    """
    if anticipation < 0:
        raise ValueError(f"anticipation must be >= 0, got {anticipation}")
    if placebo < 0:
        raise ValueError(f"placebo must be >= 0, got {placebo}")
    if horizon is not None and horizon < 0:
        raise ValueError(f"horizon must be >= 0, got {horizon}")
    adopt = panel.adoption_idx[panel.unit_idx]
    ever = adopt >= 0
    event_time = np.where(ever, panel.period_idx - adopt, Design.NO_EVENT).astype(np.int64)
    first_eff = -anticipation
    effect_cell = ever & (event_time >= first_eff)
    if placebo:
        first_seen = np.full(panel.n_units, panel.n_periods)
        np.minimum.at(first_seen, panel.unit_idx, panel.period_idx)
        earliest = panel.period_idx == first_seen[panel.unit_idx]
        in_window = (event_time >= first_eff - placebo) & (event_time < first_eff)
        effect_cell = effect_cell | (ever & in_window & ~earliest)
    comparison = ~effect_cell

    # every period with effect cells needs at least one comparison cell in the same period
    has_comp = np.bincount(panel.period_idx[comparison], minlength=panel.n_periods) > 0
    has_eff = np.bincount(panel.period_idx[effect_cell], minlength=panel.n_periods) > 0
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
    units_with_comp = np.unique(panel.unit_idx[comparison])
    no_base = np.setdiff1d(units_with_effect, units_with_comp)
    if no_base.size:
        raise PanelError(
            f"Unit(s) {_format_list(list(panel.unit_labels[no_base]))} have no observed period "
            f"before adoption (minus an anticipation window of {anticipation}), so their "
            "untreated level cannot be learnt. Add their pre-adoption rows or drop these units."
        )

    e_eff = event_time[effect_cell]
    max_e = int(e_eff.max()) if e_eff.size else 0
    top = max_e if horizon is None else min(max_e, horizon)
    bottom = first_eff - placebo
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
        placebo=placebo,
    )
