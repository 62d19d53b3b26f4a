"""The encoded panel: validated cells as flat, integer-indexed arrays (from ``encode_panel``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from staggered.covariates import bad_control_notes
from staggered.errors import _fmt, _plural
from staggered.periods import FREQ_DESCRIPTIONS

__all__ = ["Panel"]


@dataclass(frozen=True, eq=False)
class Panel:
    """A validated panel as flat arrays over cells (kept rows, sorted by unit then period).

    Attributes
    ----------
    unit_labels : numpy.ndarray
        ``(U,)`` object array of unit ids as given (whole-number float ids become ints), sorted.
    period_labels : list of str
        ``(T,)`` labels of the full regular period grid: ``"2019"``, ``"2019Q3"``, ``"2019-07"``,
        or for financial periods ``"2019/20"`` and ``"2019/20 Q1"``.
    freq : str
        ``"year"``, ``"quarter"``, ``"month"``, or ``"fy"`` (financial years, April to March) and
        ``"fq"`` (financial quarters, Q1 = April to June).
    unit_idx, period_idx : numpy.ndarray
        ``(N,)`` int64 indices of each cell into ``unit_labels`` / ``period_labels``.
    y : numpy.ndarray
        ``(N,)`` float64 outcome.
    exposure : numpy.ndarray
        ``(N,)`` float64 exposure (ones without an exposure column).
    adoption_idx : numpy.ndarray
        ``(U,)`` int64 index into the period grid of each unit's first treated period; -1 when
        the unit is never treated within the panel (including late adopters).
    group_idx : numpy.ndarray or None
        ``(U,)`` int64 index into ``group_labels``; None without a group column.
    group_labels : numpy.ndarray or None
        ``(G,)`` object array of group ids, sorted.
    row_index : numpy.ndarray
        ``(N,)`` index label of each cell's row in the input DataFrame.
    columns : dict
        Role (``unit, time, outcome, exposure, adoption, treated, group``) to column name.
    late_adopters : list
        Units adopting after the last panel period; kept as comparison units throughout.
    dropped_always_treated : list
        Units dropped because they were treated in every panel period
        (``drop_always_treated=True``).
    family : str
        ``"count"`` or ``"gaussian"``.
    notes : tuple of str
        How values were read or mapped where that was not one to one: adoption values coarser
        or finer than the panel period, labels such as ``2011-12`` read as financial years or
        months. Shown by :meth:`summary`.
    covariates : numpy.ndarray or None
        ``(N, k)`` float64 covariate values per cell, as given (standardised only in the model,
        over each fit's comparison cells); None without covariates.
    covariate_names : tuple
        The ``k`` covariate column names, in the order of the columns of :attr:`covariates`.
    covariate_shifts : tuple of float
        Shift of each covariate at adoption in treated units, in sd units (a difference in
        differences against not-yet- and never-treated units, see
        :func:`staggered.covariates.adoption_shifts`); NaN where it cannot be computed. Shifts
        beyond :data:`staggered.covariates.SHIFT_THRESHOLD` are flagged as possible bad
        controls by :meth:`summary`.
    modifiers : numpy.ndarray or None
        ``(U, m)`` float64 effect-modifier values per unit, as given (NaN where a never-treated
        unit has none); None without modifiers. They enter the effect only (see
        :mod:`staggered.modifiers`).
    modifier_names : tuple
        The ``m`` modifier column names, in the order of the columns of :attr:`modifiers`.
    outcomes : numpy.ndarray or None
        ``(N, K)`` float64 values of each outcome with several outcomes (fitted jointly, see
        :mod:`staggered.outcomes`); None with one. ``y`` is then the first outcome.
    exposures : numpy.ndarray or None
        ``(N, K)`` float64 exposure of each outcome (columns repeat where outcomes share one);
        ``exposure`` is the first outcome's.
    outcome_names : tuple
        The ``K`` outcome columns with several outcomes; ``()`` with one.
    exposure_names : tuple
        The exposure column of each outcome (None: no exposure); ``()`` with one outcome.
    """

    unit_labels: np.ndarray
    period_labels: list[str]
    freq: str
    unit_idx: np.ndarray
    period_idx: np.ndarray
    y: np.ndarray
    exposure: np.ndarray
    adoption_idx: np.ndarray
    group_idx: np.ndarray | None
    group_labels: np.ndarray | None
    row_index: np.ndarray
    columns: dict[str, str | None]
    late_adopters: list
    dropped_always_treated: list
    family: str
    notes: tuple[str, ...] = ()
    covariates: np.ndarray | None = None
    covariate_names: tuple = ()
    covariate_shifts: tuple[float, ...] = ()
    modifiers: np.ndarray | None = None
    modifier_names: tuple = ()
    outcomes: np.ndarray | None = None
    exposures: np.ndarray | None = None
    outcome_names: tuple = ()
    exposure_names: tuple = ()

    @property
    def n_units(self) -> int:
        """Number of units ``U``."""
        return len(self.unit_labels)

    @property
    def n_periods(self) -> int:
        """Number of periods ``T`` in the regular grid."""
        return len(self.period_labels)

    @property
    def n_cells(self) -> int:
        """Number of observed unit-period cells ``N``."""
        return len(self.y)

    @property
    def n_groups(self) -> int:
        """Number of groups (0 without a group column)."""
        return 0 if self.group_labels is None else len(self.group_labels)

    @property
    def n_outcomes(self) -> int:
        """Number of outcome columns ``K`` (1 for a single outcome)."""
        return max(len(self.outcome_names), 1)

    @property
    def n_covariates(self) -> int:
        """Number of covariates ``k`` (0 without covariates)."""
        return 0 if self.covariates is None else self.covariates.shape[1]

    @property
    def n_modifiers(self) -> int:
        """Number of effect modifiers ``m`` (0 without modifiers)."""
        return 0 if self.modifiers is None else self.modifiers.shape[1]

    @property
    def treated_units(self) -> np.ndarray:
        """``(U,)`` bool: the unit adopts within the panel."""
        return self.adoption_idx >= 0

    def subset(self, cells: np.ndarray) -> Panel:
        """The same panel (units, periods, labels) restricted to the cells in boolean mask."""
        cells = np.asarray(cells, dtype=bool)
        return dataclasses.replace(
            self,
            unit_idx=self.unit_idx[cells],
            period_idx=self.period_idx[cells],
            y=self.y[cells],
            exposure=self.exposure[cells],
            row_index=self.row_index[cells],
            covariates=None if self.covariates is None else self.covariates[cells],
            outcomes=None if self.outcomes is None else self.outcomes[cells],
            exposures=None if self.exposures is None else self.exposures[cells],
        )

    def summary(self) -> str:
        """Describe the panel in a few lines.

        Returns
        -------
        str
            Units (treated / never / late adopters), period range and frequency, cells,
            cohorts (the first treated period of each, with its number of units), how adoption
            values were mapped onto the periods (see :attr:`notes`), groups, covariates (with
            any flagged as possibly affected by the programme), effect modifiers and dropped
            units.
        """
        n_treated = int(self.treated_units.sum())
        n_late = len(self.late_adopters)
        n_never = self.n_units - n_treated - n_late
        full = self.n_units * self.n_periods
        balance = (
            "balanced" if self.n_cells == full else f"unbalanced: {full - self.n_cells} missing"
        )
        freq = self.freq
        if self.freq in FREQ_DESCRIPTIONS:
            freq += f": {FREQ_DESCRIPTIONS[self.freq]}"
        lines = [
            f"Units: {self.n_units} ({n_treated} treated, {n_never} never treated, "
            f"{n_late} late adopters); family {self.family}",
            f"Periods: {self.period_labels[0]} to {self.period_labels[-1]} "
            f"({self.n_periods} periods, freq {freq})",
            f"Cells: {self.n_cells} ({balance})",
        ]
        cohorts, counts = np.unique(self.adoption_idx[self.treated_units], return_counts=True)
        cohort_sizes = [
            f"{self.period_labels[c]} ({_plural(int(k), 'unit')})"
            for c, k in zip(cohorts, counts, strict=True)
        ]
        lines.append("Cohorts (first treated period): " + _fmt(cohort_sizes, limit=20))
        lines += [f"Note: {note}" for note in self.notes]
        if self.n_outcomes > 1:
            lines.append(
                f"Outcomes: {self.n_outcomes} ({_fmt([repr(c) for c in self.outcome_names])}; "
                "fitted jointly, site deviations correlated across outcomes)"
            )
        if self.group_labels is not None and self.group_idx is not None:
            lines.append(self._groups_line())
        if self.n_covariates:
            lines.append(
                f"Covariates: {self.n_covariates} ({_fmt([repr(c) for c in self.covariate_names])}"
                "; counterfactual only, standardised over comparison cells)"
            )
            lines += [
                f"Possible bad control: {note}"
                for note in bad_control_notes(self.covariate_names, self.covariate_shifts)
            ]
        if self.n_modifiers:
            lines.append(
                f"Effect modifiers: {self.n_modifiers} "
                f"({_fmt([repr(c) for c in self.modifier_names])}; effect only, standardised "
                "over treated units)"
            )
        if self.late_adopters:
            lines.append(
                f"Late adopters (adopt after {self.period_labels[-1]}; comparison units "
                f"throughout): {len(self.late_adopters)} ({_fmt(self.late_adopters)})"
            )
        if self.dropped_always_treated:
            lines.append(
                f"Dropped always-treated units: {len(self.dropped_always_treated)} "
                f"({_fmt(self.dropped_always_treated)})"
            )
        return "\n".join(lines)

    def _groups_line(self) -> str:
        """``Groups: G (P01: 5, ...)``; never-treated units without a group are not a group."""
        from staggered.validation import NO_GROUP

        sizes = np.bincount(self.group_idx, minlength=self.n_groups)
        named = [(g, k) for g, k in zip(self.group_labels, sizes, strict=True) if g != NO_GROUP]
        line = f"Groups: {len(named)} (" + _fmt([f"{g}: {k}" for g, k in named]) + ")"
        blank = int(sum(k for g, k in zip(self.group_labels, sizes, strict=True) if g == NO_GROUP))
        if blank:
            line += f"; {_plural(blank, 'never-treated unit')} without a group"
        return line

    def to_frame(self) -> pd.DataFrame:
        """Return the cells as a tidy DataFrame.

        Returns
        -------
        pandas.DataFrame
            Columns ``unit``, ``period`` (label), ``y``, ``exposure``, ``adoption`` (label of the
            unit's first treated period, ``""`` if not treated within the panel), ``group``
            (only with a group column), one column per covariate and one per modifier (named
            as the column, unless the name is taken), one row per cell.
        """
        labels = np.asarray(self.period_labels + [""], dtype=object)
        out = {
            "unit": self.unit_labels[self.unit_idx],
            "period": labels[self.period_idx],
            "y": self.y,
            "exposure": self.exposure,
            "adoption": labels[self.adoption_idx[self.unit_idx]],
        }
        if self.group_labels is not None and self.group_idx is not None:
            out["group"] = self.group_labels[self.group_idx[self.unit_idx]]
        for j, name in enumerate(self.covariate_names):
            out.setdefault(name, self.covariates[:, j])
        for j, name in enumerate(self.modifier_names):
            out.setdefault(name, self.modifiers[self.unit_idx, j])
        return pd.DataFrame(out)
