"""Validate a long unit x period panel and encode it as flat, integer-indexed arrays.

This is the only place where user data is checked (see the data contract in ``DESIGN.md``):
every violation raises a :class:`PanelError` that names the offending rows, units or columns and
says how to fix them. Downstream modules trust the :class:`Panel` they receive.

The work is split by seam: :mod:`staggered.period_kinds` reads period values (calendar and
financial) and :mod:`staggered.periods` places them on a grid; :mod:`staggered.grid` (time
column), :mod:`staggered.validation` (other columns) and :mod:`staggered.adoption` hold one
function per rule; :mod:`staggered.covariates` standardises covariates and checks them for a
shift at adoption; :mod:`staggered.outcomes` reads several outcome columns; :mod:`staggered.panel`
holds the encoded :class:`Panel`; :mod:`staggered.panel_csv` reads a panel CSV. Everything is
importable from here.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from staggered.adoption import always_treated, check_some_treated, read_adoption, read_treated
from staggered.covariates import (
    CovariateWarning,
    adoption_shifts,
    bad_control_notes,
    untreated_cells,
)
from staggered.errors import CSV_LINES, PanelError, Rows
from staggered.grid import Grid, check_no_gaps, check_unique_cells, read_time
from staggered.modifiers import check_modifier_names, read_modifier, unit_modifiers
from staggered.outcomes import (
    check_outcome_names,
    exposure_list,
    outcome_list,
    read_outcome_columns,
)
from staggered.panel import Panel
from staggered.panel_csv import read_panel_csv
from staggered.period_kinds import NEVER
from staggered.periods import FREQS, PERIODS_PER_YEAR, freq_name, parse_periods
from staggered.validation import (
    NO_GROUP,
    check_arguments,
    check_columns_exist,
    check_covariate_names,
    check_covariate_varies,
    check_group_given_for_treated,
    check_has_rows,
    check_one_treatment_column,
    object_array,
    read_covariate,
    read_group,
    read_units,
)

__all__ = [
    "FREQS",
    "CovariateWarning",
    "NO_GROUP",
    "PERIODS_PER_YEAR",
    "Panel",
    "PanelError",
    "encode_panel",
    "parse_periods",
    "read_panel_csv",
]


def encode_panel(
    df: pd.DataFrame,
    *,
    unit: Hashable,
    time: Hashable,
    outcome: Hashable | Sequence[Hashable],
    exposure: Hashable | Sequence[Hashable] | None = None,
    adoption: Hashable | None = None,
    treated: Hashable | None = None,
    group: Hashable | None = None,
    family: str = "count",
    drop_always_treated: bool = False,
    freq: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    modifiers: Sequence[Hashable] | None = None,
) -> Panel:
    """Validate a long panel (one row per unit x period) and encode it.

    Parameters
    ----------
    df : pandas.DataFrame
        The panel. It is never modified.
    unit : str
        Column of unit ids (str or int).
    time : str
        Column of periods in one format: int years, ISO dates / datetimes (frequency inferred
        from the spacing; yearly dates in April are financial years), period strings ``"2019"``,
        ``"2019Q3"``, ``"2019-07"``, financial years ``"2019/20"`` (also ``"2019-20"``,
        ``"201920"``, ``"FY2019/20"``, ``"2019/2020"``) or financial quarters ``"2019/20 Q1"``
        (April to June 2019). A label such as ``"2011-12"``, December 2011 or financial year
        2011/12, is read like the column's other labels, else as ``freq`` says, else as a
        financial year when the column has two or more such labels (as months they would be 13
        months apart); otherwise it is refused. The regular grid from the first to the last
        period must have rows in every period; units may miss some periods (unbalanced panels
        are allowed).
    outcome : str or list of str
        Column of outcomes: non-negative whole numbers for ``family="count"``, any finite
        number for ``family="gaussian"``. A list of columns (e.g. ``["emergency_admissions",
        "ae_attendances"]``) is fitted jointly (:mod:`staggered.outcomes`); each passes the
        same checks, and none may be named twice or also have another role.
    exposure : str or list of str, optional
        Column of positive, finite exposures (e.g. population); ones if omitted. With several
        outcomes one column shared by all, or a list with one per outcome.
    adoption : str, optional
        Column with each unit's first treated period, constant within a unit. Empty, NaN, 0
        (as R's ``did`` ``first.treat = 0``), ``"never"`` or ``inf`` mean never treated.
        Coarser values map to their first period (``2014`` on a quarterly panel is ``2014Q1``),
        finer ones to the period containing them (``2015-01-01`` on a financial-year panel is
        ``2014/15``); a financial year on a calendar panel maps to the period it starts in.
        Calendar years and quarters are refused on a financial panel (``2015`` could be 2014/15
        or 2015/16), and so are labels such as ``2011-12`` whose two readings fall in different
        periods (unless this column, ``freq`` or the time column settle the reading).
        Exactly one of ``adoption`` / ``treated``.
    treated : str, optional
        Column of 0/1 treatment indicators; treatment must be absorbing. A unit's first period
        with 1 is its adoption. Exactly one of ``adoption`` / ``treated``.
    group : str, optional
        Column of a higher-level group (programme, ICS), constant within a unit.
    family : {"count", "gaussian"}
        Outcome family, which decides the outcome checks.
    drop_always_treated : bool
        Drop units treated in every panel period (adoption at or before the first period)
        instead of raising; they are listed in :attr:`Panel.dropped_always_treated`.
    freq : {"year", "quarter", "month", "fy", "fq"}, optional
        The panel frequency; inferred from the time column if omitted. ``"fy"`` is financial
        years (April to March), ``"fq"`` financial quarters (Q1 = April to June). Time values
        finer than ``freq`` map to the period containing them; coarser ones, calendar quarters
        on a financial panel (years on a financial-quarter one), and financial years on a
        calendar-year panel are refused. With ``"fy"``, int years are read as the financial
        years starting in April of that year (``2015`` is 2015/16) in a time column of int
        years, and then in the adoption column too; :meth:`Panel.summary` says so in a note.
    covariates : list of str, optional
        Numeric columns the counterfactual adjusts for (time-varying or constant within a
        unit), e.g. ``["age75_share", "imd_score"]``; never missing, finite, and not constant
        over untreated cells. A covariate that shifts at adoption in treated units by more than
        :data:`staggered.covariates.SHIFT_THRESHOLD` sd (against not-yet- and never-treated
        units) is flagged as possibly affected by the programme: a
        :class:`~staggered.covariates.CovariateWarning` and a line in :meth:`Panel.summary`.
    modifiers : list of str, optional
        Numeric columns describing each unit (e.g. ``["baseline_rate", "imd_score"]``) that
        may predict how its effect differs from the pooled one (effect modifiers, see
        :mod:`staggered.modifiers`): one value per unit, the same in all its rows; given in
        every row of units treated within the panel (never-treated units may leave it empty);
        finite; not one value for all treated units. A column may be both a covariate and a
        modifier.

    Returns
    -------
    Panel
        The encoded panel; cells sorted by unit, then period.

    Raises
    ------
    PanelError
        On any violation of the data contract; the message names the rows, units or columns
        and says how to fix them.

    Warns
    -----
    CovariateWarning
        A covariate shifts at adoption in treated units (a possible bad control).
    """
    check_arguments(df, family)
    freq = freq_name(freq) if freq is not None else None
    roles: dict[str, Any] = {
        "unit": unit,
        "time": time,
        "outcome": outcome,
        "exposure": exposure,
        "adoption": adoption,
        "treated": treated,
        "group": group,
    }
    columns, outcomes, exposures, covariates, modifiers = _check_roles(
        df, roles, covariates, modifiers
    )
    lines = CSV_LINES in df.attrs  # read by read_panel_csv: the index holds CSV line numbers
    rows = Rows(df.index.to_numpy(), lines=lines)
    cells, unit_labels, group_labels, grid = _read_cells(
        df, columns, outcomes, exposures, covariates, modifiers, family, freq, rows
    )
    notes: tuple[str, ...] = grid.notes
    if adoption is not None:
        unit_ad, more = read_adoption(
            df[adoption], adoption, cells["unit"], unit_labels, grid, rows
        )
        notes += more
    else:
        unit_ad = read_treated(df[treated], treated, cells["unit"], unit_labels, grid, rows)

    cells, unit_labels, unit_ad, group_labels, dropped = _drop_always_treated(
        cells, unit_labels, unit_ad, group_labels, grid, time, drop_always_treated
    )
    role, column = ("adoption", adoption) if adoption is not None else ("treated", treated)
    check_some_treated(unit_ad, grid, len(dropped), column, role)
    within = (unit_ad != NEVER) & (unit_ad <= grid.end)
    if group is not None:
        treated_rows = within[cells["unit"]]
        check_group_given_for_treated(
            cells["blank"], treated_rows, group, Rows(cells["row"], lines=lines)
        )
    adoption_idx = np.where(within, unit_ad - grid.start, -1).astype(np.int64)
    if modifiers:
        cells["modifiers"] = unit_modifiers(
            cells["modifiers"],
            cells["unit"],
            unit_labels,
            within,
            modifiers,
            Rows(cells["row"], lines=lines),
        )
    shifts: tuple[float, ...] = ()
    if covariates:
        shifts = _covariate_shifts(cells, adoption_idx, len(grid.labels), covariates)
    return _assemble(
        cells,
        unit_labels=unit_labels,
        adoption_idx=adoption_idx,
        group_labels=group_labels,
        period_labels=grid.labels,
        freq=grid.freq,
        columns=dict(columns),
        late_adopters=unit_labels[(unit_ad != NEVER) & (unit_ad > grid.end)].tolist(),
        dropped_always_treated=dropped,
        family=family,
        notes=notes,
        covariate_names=tuple(covariates),
        covariate_shifts=shifts,
        modifier_names=tuple(modifiers),
        outcome_names=tuple(outcomes) if len(outcomes) > 1 else (),
        exposure_names=tuple(exposures) if len(outcomes) > 1 else (),
    )


def _check_roles(
    df: pd.DataFrame,
    columns: dict[str, Any],
    covariates: Sequence[Hashable] | None,
    modifiers: Sequence[Hashable] | None,
) -> tuple[dict[str, Any], list, list, list, list]:
    """Check the named columns exist and no column has two roles; the panel has rows.

    Returns the column roles (``outcome`` and ``exposure`` set to the first outcome's), the
    outcome, exposure, covariate and modifier columns as lists.
    """
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or ())
    modifiers = [modifiers] if isinstance(modifiers, str) else list(modifiers or ())
    outcomes = outcome_list(columns["outcome"])
    exposures = exposure_list(columns["exposure"], len(outcomes))
    columns["outcome"], columns["exposure"] = outcomes[0], exposures[0]
    more = [("outcome", c) for c in outcomes[1:]] + [("exposure", e) for e in exposures[1:]]
    check_columns_exist(df, columns, covariates, modifiers, extra=more)
    check_outcome_names(
        outcomes,
        exposures,
        columns,
        [("covariate", c) for c in covariates] + [("modifier", c) for c in modifiers],
    )
    check_covariate_names(covariates, columns)
    check_modifier_names(modifiers, columns)
    check_one_treatment_column(columns["adoption"], columns["treated"])
    check_has_rows(df)
    return columns, outcomes, exposures, covariates, modifiers


def _read_cells(
    df: pd.DataFrame,
    columns: dict[str, Any],
    outcomes: list,
    exposures: list,
    covariates: list,
    modifiers: list,
    family: str,
    freq: str | None,
    rows: Rows,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None, Grid]:
    """Read units, the period grid, outcomes, covariates, modifiers and groups of every row.

    Returns the cells (one array per field, in row order), the unit labels, the group labels
    (``None`` without a group column) and the period grid.
    """
    unit, time, group = columns["unit"], columns["time"], columns["group"]
    unit_code, unit_labels = read_units(df[unit], unit, rows)
    grid = read_time(df[time], time, rows, freq)
    check_unique_cells(unit_code, unit_labels, grid, time, rows)
    check_no_gaps(grid.code, grid, time)
    cells = {
        "unit": unit_code,
        "period": grid.code,
        **read_outcome_columns(df, outcomes, exposures, family, rows),
        "row": rows.index,
    }
    if covariates:
        cells["covariates"] = np.column_stack([read_covariate(df[c], c, rows) for c in covariates])
    if modifiers:
        cells["modifiers"] = np.column_stack([read_modifier(df[c], c, rows) for c in modifiers])
    group_labels = blank = None
    if group is not None:
        cells["group"], group_labels, blank = read_group(df[group], group, unit_code, unit_labels)
        cells["blank"] = blank
    return cells, unit_labels, group_labels, grid


def _drop_always_treated(
    cells: dict[str, np.ndarray],
    unit_labels: np.ndarray,
    unit_ad: np.ndarray,
    group_labels: np.ndarray | None,
    grid: Grid,
    time: Hashable,
    drop: bool,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray | None, list]:
    """Refuse units treated in every period, or (``drop``) remove them and list their labels."""
    always = always_treated(unit_ad, unit_labels, grid, drop)
    dropped = unit_labels[always].tolist()
    if always.any():
        cells, unit_labels, unit_ad, group_labels = _drop_units(
            always, cells, unit_labels, unit_ad, group_labels
        )
        check_no_gaps(cells["period"], grid, time, " once the always-treated units are dropped")
    return cells, unit_labels, unit_ad, group_labels, dropped


def _covariate_shifts(
    cells: dict[str, np.ndarray], adoption_idx: np.ndarray, n_periods: int, names: list
) -> tuple[float, ...]:
    """Check the covariates vary over untreated cells; warn of any that shift at adoption."""
    values = cells["covariates"]
    untreated = untreated_cells(cells["unit"], cells["period"], adoption_idx)
    for j, name in enumerate(names):
        check_covariate_varies(values[:, j], untreated, name)
    shifts = adoption_shifts(values, cells["unit"], cells["period"], adoption_idx, n_periods)
    for note in bad_control_notes(names, shifts):
        warnings.warn(f"Possible bad control: {note}", CovariateWarning, stacklevel=3)
    return tuple(float(x) for x in shifts)


def _drop_units(
    drop: np.ndarray,
    cells: dict[str, np.ndarray],
    unit_labels: np.ndarray,
    unit_ad: np.ndarray,
    group_labels: np.ndarray | None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray | None]:
    """Remove units (``drop``: ``(U,)`` bool) and their rows; renumber units and groups."""
    keep_rows = ~drop[cells["unit"]]
    kept = {name: values[keep_rows] for name, values in cells.items()}
    kept["unit"] = (np.cumsum(~drop) - 1)[kept["unit"]]
    if group_labels is not None:
        codes, labels = pd.factorize(group_labels[kept["group"]], sort=True)
        kept["group"] = codes.astype(np.int64)
        group_labels = object_array(pd.Index(labels).tolist())
    return kept, unit_labels[~drop], unit_ad[~drop], group_labels


def _assemble(
    cells: dict[str, np.ndarray],
    *,
    unit_labels: np.ndarray,
    adoption_idx: np.ndarray,
    group_labels: np.ndarray | None,
    **fields: Any,
) -> Panel:
    """Sort cells by unit then period and freeze the arrays into a :class:`Panel`."""
    order = np.lexsort((cells["period"], cells["unit"]))
    group_idx = None
    if group_labels is not None:
        group_idx = np.zeros(len(unit_labels), dtype=np.int64)
        group_idx[cells["unit"]] = cells["group"]
    arrays = {
        "unit_idx": cells["unit"][order].astype(np.int64),
        "period_idx": cells["period"][order].astype(np.int64),
        "y": cells["y"][order].astype(np.float64),
        "exposure": cells["exposure"][order].astype(np.float64),
        "row_index": cells["row"][order],
        "adoption_idx": adoption_idx,
        "unit_labels": unit_labels,
        "group_idx": group_idx,
        "group_labels": group_labels,
        "covariates": cells["covariates"][order] if "covariates" in cells else None,
        "modifiers": cells.get("modifiers"),  # per unit (U, m), set once units are final
        "outcomes": cells["outcomes"][order] if "outcomes" in cells else None,
        "exposures": cells["exposures"][order] if "exposures" in cells else None,
    }
    for arr in arrays.values():
        if arr is not None:
            arr.setflags(write=False)
    return Panel(**arrays, **fields)
