"""Each unit's first treated period, from an adoption column or a 0/1 treatment indicator.

One function per rule, each raising a :class:`~staggered.errors.PanelError` that names the rows
or units and says how to fix them. Adoption values may be coarser or finer than the panel period
(or, for financial years on a calendar panel, offset from it); :func:`mapping_notes` says how they
were mapped, for :meth:`Panel.summary`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from staggered.errors import _MAX_SHOWN, PanelError, Rows, _fmt, _label, _plural
from staggered.grid import Grid, check_financial_shape, years_note
from staggered.period_kinds import (
    ACCEPTED,
    AMBIGUOUS,
    DATE,
    FINANCIAL_KINDS,
    INVALID,
    KIND_FREQ,
    KIND_MONTHS,
    KIND_NAMES,
    MONTH,
    NEVER,
    YEAR,
    Parsed,
    kinds_of,
    label_reading,
    parse_native,
    resolve_ambiguous,
    unreadable_hint,
    years_as_financial,
)
from staggered.periods import (
    FINANCIAL_FREQS,
    FREQ_DESCRIPTIONS,
    MONTHS_PER,
    freq_reading,
    incompatible,
    period_labels,
    to_ordinals,
)
from staggered.validation import varying, varying_message

_UNIT_WORD = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "fy": "financial year",
    "fq": "financial quarter",
}


def read_adoption(
    raw: pd.Series,
    column: Hashable,
    unit_code: np.ndarray,
    unit_labels: np.ndarray,
    grid: Grid,
    rows: Rows,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each unit's first treated grid ordinal (``NEVER`` if never treated) and mapping notes."""
    parsed = parse_native(raw, zero_is_missing=True)
    check_adoption_readable(parsed, raw, column, rows)
    if grid.freq in FINANCIAL_FREQS or kinds_of(parsed) & FINANCIAL_KINDS:
        check_financial_shape(parsed, raw, f"Adoption column {column!r}", rows)
    check_adoption_not_mixed(parsed, raw, column, rows)
    parsed, notes = settle_adoption_labels(parsed, raw, column, grid, rows)
    if grid.years_as_fy and YEAR in kinds_of(parsed):
        notes += (years_note(raw, parsed, "adoption", "the time column's years are"),)
        parsed = years_as_financial(parsed)
    check_adoption_fits_grid(parsed, raw, column, grid, rows)
    ords = np.where(parsed.kind > 0, to_ordinals(parsed, grid.freq), NEVER)
    check_adoption_constant(ords, column, unit_code, unit_labels, grid.freq)
    unit_ad = pd.Series(ords).groupby(unit_code).min().to_numpy()
    return unit_ad, notes + mapping_notes(parsed, raw, ords, grid.freq)


def check_adoption_readable(parsed: Parsed, raw: pd.Series, column: Hashable, rows: Rows) -> None:
    """Every adoption value is a period, or empty / 0 / "never"."""
    bad = parsed.kind == INVALID
    if bad.any():
        hint = unreadable_hint(raw[bad])
        raise PanelError(
            f"Adoption column {column!r} has values that are not periods in {rows(bad, raw)}. "
            f"Give the unit's first treated period as one of {ACCEPTED}; leave it empty (or 0) "
            f"for never-treated units.{hint}"
        )


def check_adoption_not_mixed(parsed: Parsed, raw: pd.Series, column: Hashable, rows: Rows) -> None:
    """Financial-year labels and month labels do not share a column (they are easy to misread)."""
    fin = np.isin(parsed.kind, list(FINANCIAL_KINDS))
    month = parsed.kind == MONTH
    if fin.any() and month.any():
        raise PanelError(
            f"Adoption column {column!r} mixes financial-year labels, in {rows(fin, raw)}, with "
            f"month labels, in {rows(month, raw)}; side by side they are easy to misread "
            "('2011-12' is December 2011 or financial year 2011/12). Write all adoption values "
            "as financial years ('2014/15', '2014/15 Q2') or all as dates ('2014-06-01')."
        )


def _month_name(month: int) -> str:
    return pd.Period(ordinal=int(month), freq="M").strftime("%B %Y")


def settle_adoption_labels(
    parsed: Parsed, raw: pd.Series, column: Hashable, grid: Grid, rows: Rows
) -> tuple[Parsed, tuple[str, ...]]:
    """Read labels such as ``2011-12`` as financial years or months, or refuse them.

    The column's other labels decide first, then an explicit ``freq``, then the time column's
    labels. Otherwise such a label is accepted only where both readings fall in the same panel
    period.
    """
    amb = parsed.kind == AMBIGUOUS
    if not amb.any():
        return parsed, ()
    reading, why = label_reading(kinds_of(parsed, ~amb)), "like the column's other labels"
    if reading is None and grid.explicit:
        reading, why = freq_reading(grid.freq), f"as freq={grid.freq!r} says"
    if reading is None and grid.reading is not None:
        reading, why = grid.reading, "like the time column"
    if reading is not None:
        example = raw.iloc[int(np.flatnonzero(amb)[0])]
        words = "financial years" if reading == "financial" else "months"
        note = f"adoption labels such as {example!r} read as {words} ({why})"
        return resolve_ambiguous(parsed, reading == "financial"), (note,)
    as_fy = to_ordinals(resolve_ambiguous(parsed, True), grid.freq)
    as_month = to_ordinals(resolve_ambiguous(parsed, False), grid.freq)
    differ = amb & (as_fy != as_month)
    if differ.any():
        pos = np.flatnonzero(differ)
        _, first = np.unique(parsed.month[pos], return_index=True)
        shown = [
            f"{raw.iloc[i]!r} (as {_month_name(parsed.month[i])}: "
            f"{period_labels([as_month[i]], grid.freq)[0]}; as a financial year: "
            f"{period_labels([as_fy[i]], grid.freq)[0]})"
            for i in pos[np.sort(first)][:_MAX_SHOWN]
        ]
        raise PanelError(
            f"Adoption column {column!r} has labels that read both as a month and as a "
            f"financial year, in different periods of this panel (freq {grid.freq}), in "
            f"{rows(differ)}: {_fmt(shown)}. Write financial years as 'FY2011/12' or "
            "'2011/2012' and months as dates ('2011-12-01')."
        )
    example = raw.iloc[int(np.flatnonzero(amb)[0])]
    note = (
        f"adoption labels such as {example!r} read as a month or as a financial year fall in "
        "the same panel period either way"
    )
    return resolve_ambiguous(parsed, True), (note,)


def check_adoption_fits_grid(
    parsed: Parsed, raw: pd.Series, column: Hashable, grid: Grid, rows: Rows
) -> None:
    """Adoption values can be placed on the panel's grid without a guess."""
    for kind in sorted(kinds_of(parsed)):
        why = incompatible(kind, grid.freq, coarser_ok=True)
        if why is not None:
            raise PanelError(
                f"Adoption column {column!r} holds {KIND_NAMES[kind]} in "
                f"{rows(parsed.kind == kind, raw)}, but the panel has freq {grid.freq} "
                f"({FREQ_DESCRIPTIONS.get(grid.freq, grid.freq)}): {why}. Give the first "
                "treated financial year ('2015/16' or 'FY2015/16'), financial quarter "
                "('2015/16 Q2') or date ('2015-04-01')."
            )


def check_adoption_constant(
    ords: np.ndarray,
    column: Hashable,
    unit_code: np.ndarray,
    unit_labels: np.ndarray,
    freq: str,
) -> None:
    """A unit's adoption period is the same on all its rows (after mapping onto the grid)."""
    units = varying(unit_code, ords)
    if not len(units):
        return
    shown = np.full(len(ords), "never", dtype=object)
    has = ords != NEVER
    if has.any():
        lab_ord, lab_inv = np.unique(ords[has], return_inverse=True)
        shown[has] = np.asarray(period_labels(lab_ord, freq), dtype=object)[lab_inv]
    raise PanelError(
        varying_message(
            "Adoption",
            column,
            units,
            unit_code,
            unit_labels,
            shown,
            "The adoption column holds each unit's first treated period and must be the "
            "same on all its rows: fix it for these units (or use treated= with a 0/1 "
            "column).",
        )
    )


def _show(x: Any) -> str:
    """An adoption value as the user would write it."""
    if isinstance(x, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(x)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else str(ts)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def mapping_notes(parsed: Parsed, raw: pd.Series, ords: np.ndarray, freq: str) -> tuple[str, ...]:
    """Say how adoption values that are not panel periods were mapped, with examples."""
    notes = []
    unit = _UNIT_WORD[freq]
    for kind in sorted(kinds_of(parsed)):
        native = KIND_FREQ.get(kind)
        if native == freq:
            continue
        if kind != DATE and KIND_MONTHS[kind] > MONTHS_PER[freq]:
            how = f"mapped to their first {unit}"
        elif kind == DATE or KIND_MONTHS[kind] < MONTHS_PER[freq]:
            how = f"mapped to the {unit} that contains them"
        else:
            how = f"mapped to the {unit} in which they start"
        pos = np.flatnonzero(parsed.kind == kind)
        key = parsed.day[pos] if kind == DATE else parsed.month[pos]
        _, first = np.unique(key, return_index=True)
        examples = [
            f"{_show(raw.iloc[i])} -> {period_labels([ords[i]], freq)[0]}"
            for i in pos[np.sort(first)][:3]
        ]
        name = KIND_NAMES[kind].split(" (")[0]
        notes.append(f"adoption {name} {how} (e.g. {', '.join(examples)})")
    return tuple(notes)


# --------------------------------------------------------------------------------------------
# Treatment indicator
# --------------------------------------------------------------------------------------------


def read_treated(
    raw: pd.Series,
    column: Hashable,
    unit_code: np.ndarray,
    unit_labels: np.ndarray,
    grid: Grid,
    rows: Rows,
) -> np.ndarray:
    """Each unit's first treated grid ordinal from a 0/1 indicator (``NEVER`` if all 0)."""
    tr = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isin(tr, (0.0, 1.0))
    if bad.any():
        raise PanelError(
            f"Treated column {column!r} must be 0 or 1 but is not in {rows(bad, raw)}. "
            "Fix these rows (1 from the unit's first treated period on, 0 before)."
        )
    first_on = np.where(tr == 1, grid.ordinal, NEVER)
    unit_ad = pd.Series(first_on).groupby(unit_code).min().to_numpy()
    check_absorbing(tr, unit_ad, column, unit_code, unit_labels, grid)
    return unit_ad


def check_absorbing(
    tr: np.ndarray,
    unit_ad: np.ndarray,
    column: Hashable,
    unit_code: np.ndarray,
    unit_labels: np.ndarray,
    grid: Grid,
) -> None:
    """Once treated, always treated: no 0 after a unit's first 1."""
    reversal = (tr == 0) & (grid.ordinal > unit_ad[unit_code])
    if not reversal.any():
        return
    rev_per = pd.Series(grid.ordinal[reversal]).groupby(unit_code[reversal]).min()
    shown = [
        f"{_label(unit_labels[u])} (treated from {grid.labels[unit_ad[u] - grid.start]}, "
        f"0 again in {grid.labels[p - grid.start]})"
        for u, p in rev_per.items()
    ]
    raise PanelError(
        f"Treatment reversal in column {column!r} for {_plural(len(shown), 'unit')}: "
        f"{_fmt(shown)}. Treatment must be absorbing (once 1, always 1): fix the "
        "indicator for these units, or model the switch-off as a separate programme."
    )


# --------------------------------------------------------------------------------------------
# Always treated, none treated
# --------------------------------------------------------------------------------------------


def always_treated(
    unit_ad: np.ndarray, unit_labels: np.ndarray, grid: Grid, drop: bool
) -> np.ndarray:
    """``(U,)`` bool: units treated in every panel period; an error unless ``drop``."""
    always = (unit_ad != NEVER) & (unit_ad <= grid.start)
    if always.any() and not drop:
        units = np.flatnonzero(always)
        shown = [
            f"{_label(unit_labels[u])} (adopts {period_labels([unit_ad[u]], grid.freq)[0]})"
            for u in units[:_MAX_SHOWN]
        ] + [_label(unit_labels[u]) for u in units[_MAX_SHOWN:]]
        raise PanelError(
            f"{_plural(len(units), 'unit')} {'is' if len(units) == 1 else 'are'} "
            f"treated in every panel period (adoption at or before the first period "
            f"{grid.labels[0]}), so there is no untreated period to learn from: "
            f"{_fmt(shown)}. Drop them with drop_always_treated=True (CLI: "
            "--drop-always-treated), or add earlier periods to the panel."
        )
    return always


def check_some_treated(
    unit_ad: np.ndarray, grid: Grid, n_dropped: int, column: Hashable, role: str
) -> None:
    """At least one unit adopts within the panel."""
    never = unit_ad == NEVER
    late = ~never & (unit_ad > grid.end)
    if (~never & ~late).any():
        return
    raise PanelError(
        f"No unit is treated within the panel ({grid.labels[0]} to {grid.labels[-1]}): "
        f"{int(never.sum())} never treated, {int(late.sum())} adopting after the last "
        f"period{', ' + str(n_dropped) + ' dropped as always treated' if n_dropped else ''}"
        f". Check the {role} column {column!r} and that the panel covers the adoption periods."
    )
