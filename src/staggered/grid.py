"""The panel's period grid: read the time column, then refuse duplicate cells and gaps.

One function per rule, each raising a :class:`~staggered.errors.PanelError` that names the rows
and says how to fix them. Labels such as ``2011-12`` (December 2011 or financial year 2011/12)
are settled here for the time column, never guessed.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

import numpy as np
import pandas as pd

from staggered.errors import _MAX_SHOWN, PanelError, Rows, _fmt, _label, _plural
from staggered.period_kinds import (
    ACCEPTED,
    AMBIGUOUS,
    FINANCIAL_KINDS,
    INVALID,
    KIND_FREQ,
    KIND_NAMES,
    MISSING,
    YEAR,
    Parsed,
    fy_shaped_months,
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
    check_monthly_or_coarser,
    check_one_kind,
    freq_reading,
    incompatible,
    infer_freq,
    period_labels,
    to_ordinals,
)


class Grid(NamedTuple):
    """The panel's regular period grid and where each row falls on it."""

    freq: str
    start: int  # grid ordinal of the first period
    end: int  # grid ordinal of the last period
    labels: list[str]  # (T,) period labels
    ordinal: np.ndarray  # (N,) grid ordinal of each row
    reading: str | None  # how the time column reads labels such as 2011-12 (None: no such form)
    explicit: bool  # freq was given, not inferred
    notes: tuple[str, ...]
    years_as_fy: bool = False  # int years read as financial years (freq="fy" given)

    @property
    def code(self) -> np.ndarray:
        """``(N,)`` index of each row's period into :attr:`labels`."""
        return self.ordinal - self.start


def check_time_readable(parsed: Parsed, raw: pd.Series, column: Hashable, rows: Rows) -> None:
    """Every row has a period, in a form that can be read."""
    miss = parsed.kind == MISSING
    if miss.any():
        raise PanelError(
            f"Time column {column!r} is missing in {rows(miss)}. Every row needs a period: fill "
            "in the periods or remove these rows."
        )
    bad = parsed.kind == INVALID
    if bad.any():
        hint = unreadable_hint(raw[bad])
        raise PanelError(
            f"Time column {column!r} has values that are not periods in {rows(bad, raw)}. "
            f"Use {ACCEPTED}.{hint}"
        )


def settle_time_labels(
    parsed: Parsed, raw: pd.Series, column: Hashable, rows: Rows, freq: str | None
) -> tuple[Parsed, tuple[str, ...]]:
    """Read labels such as ``2011-12`` as financial years or months, or refuse them.

    The column's other labels decide first, then an explicit ``freq``; a column of such labels
    only is read as financial years when it has two or more distinct ones (as months they would
    be 13 months apart, never a regular monthly grid).
    """
    amb = parsed.kind == AMBIGUOUS
    if not amb.any():
        return parsed, ()
    reading, why = label_reading(kinds_of(parsed, ~amb)), "like the column's other labels"
    if reading is None and freq is not None:
        reading, why = freq_reading(freq), f"as freq={freq!r} says"
    if reading is None and len(np.unique(parsed.month[amb])) > 1:
        reading, why = "financial", "as months they would be 13 months apart"
    if reading is None:
        raise PanelError(
            f"Time column {column!r} has labels that read both as a month and as a financial "
            f"year in {rows(amb, raw)}: '2011-12' is December 2011 or April 2011 to March 2012. "
            "Pass freq='fy' (financial years) or freq='month', or write the periods "
            "unambiguously: financial years as 'FY2011/12' or '2011/2012', months as "
            "'2011-12-01'."
        )
    notes: tuple[str, ...] = ()
    if reading == "financial":
        example = raw.iloc[int(np.flatnonzero(amb)[0])]
        notes = (f"period labels such as {example!r} read as financial years ({why})",)
    return resolve_ambiguous(parsed, reading == "financial"), notes


def check_time_fits_freq(
    parsed: Parsed, raw: pd.Series, column: Hashable, rows: Rows, freq: str
) -> None:
    """With an explicit ``freq``, every period value can be placed on that grid unambiguously."""
    for kind in sorted(kinds_of(parsed)):
        why = incompatible(kind, freq, coarser_ok=False)
        if why is not None:
            native = KIND_FREQ.get(kind)
            raise PanelError(
                f"Time column {column!r} holds {KIND_NAMES[kind]}, which cannot be read at "
                f"freq={freq!r} ({FREQ_DESCRIPTIONS.get(freq, freq)}): {why}; in "
                f"{rows(parsed.kind == kind, raw)}. "
                + (f"Pass freq={native!r} or omit freq, or " if native else "Omit freq, or ")
                + "convert the column to financial-year labels ('2019/20', '2019/20 Q1') or "
                "to the first day of each period ('2019-04-01')."
            )


def read_time(raw: pd.Series, column: Hashable, rows: Rows, freq: str | None) -> Grid:
    """Read the time column and lay out the regular period grid from its first to last period."""
    parsed = parse_native(raw)
    check_time_readable(parsed, raw, column, rows)
    parsed, notes = settle_time_labels(parsed, raw, column, rows, freq)
    where = f"Time column {column!r}"
    if kinds_of(parsed) & FINANCIAL_KINDS or freq in FINANCIAL_FREQS:
        check_financial_shape(parsed, raw, where, rows)
    check_time_one_kind(parsed, raw, column, rows)
    check_monthly_or_coarser(parsed, where)
    years_as_fy = freq == "fy" and kinds_of(parsed) == {YEAR}
    if years_as_fy:
        notes += (years_note(raw, parsed, "time-column", "freq='fy' (CLI: --freq fy) says"),)
        parsed = years_as_financial(parsed)
    if freq is None:
        freq, explicit = infer_freq(parsed), False
    else:
        check_time_fits_freq(parsed, raw, column, rows, freq)
        explicit = True
    ordinal = to_ordinals(parsed, freq)
    start, end = int(ordinal.min()), int(ordinal.max())
    labels = period_labels(np.arange(start, end + 1), freq)
    reading = label_reading(kinds_of(parsed))
    return Grid(freq, start, end, labels, ordinal, reading, explicit, notes, years_as_fy)


def years_note(raw: pd.Series, parsed: Parsed, what: str, why: str) -> str:
    """Say that int years were read as the financial years starting in April of that year."""
    i = int(np.flatnonzero(parsed.kind == YEAR)[0])
    year = int(float(raw.iloc[i]))
    return (
        f"{what} years read as the financial year starting in April of that year (e.g. "
        f"{year} -> {year}/{(year + 1) % 100:02d}), as {why}"
    )


def check_financial_shape(parsed: Parsed, raw: pd.Series, where: str, rows: Rows) -> None:
    """In a financial context, refuse ``YYYY/YY`` labels whose years do not follow (2010/12)."""
    bad = fy_shaped_months(parsed, raw)
    if bad.any():
        example = str(raw.iloc[int(np.flatnonzero(bad)[0])]).strip()
        raise PanelError(
            f"{where} has labels shaped like financial years whose two years are not "
            f"consecutive, in {rows(bad, raw)}. A financial year runs from April of one year "
            f"to March of the next ('{example[:4]}/{(int(example[:4]) + 1) % 100:02d}'); "
            f"'{example}' is not read as a month either (alongside financial years it is "
            f"more likely a typo). Correct these values to one of {ACCEPTED}."
        )


def check_time_one_kind(parsed: Parsed, raw: pd.Series, column: Hashable, rows: Rows) -> None:
    """All time values share one format; name the rows of the less common format(s)."""
    kinds = sorted(kinds_of(parsed))
    if len(kinds) <= 1:
        check_one_kind(set(kinds), f"Time column {column!r}")
        return
    counts = {k: int(np.count_nonzero(parsed.kind == k)) for k in kinds}
    main = max(kinds, key=lambda k: counts[k])
    example = raw.iloc[int(np.flatnonzero(parsed.kind == main)[0])]
    others = [f"{_kind_word(k)} in {rows(parsed.kind == k, raw)}" for k in kinds if k != main]
    raise PanelError(
        f"Time column {column!r} mixes period formats: {_plural(counts[main], 'row')} hold "
        f"{_kind_word(main)} (such as {example!r}), but there are {'; '.join(others)}. Use "
        "one format for all rows (int years, period strings like '2019Q3' or '2019-07', "
        "financial years like '2019/20', or dates): correct these rows."
    )


def _kind_word(kind: int) -> str:
    return KIND_NAMES[kind].split(" (")[0]


def check_unique_cells(
    unit_code: np.ndarray, unit_labels: np.ndarray, grid: Grid, column: Hashable, rows: Rows
) -> None:
    """At most one row per unit and period."""
    code = grid.code
    dup = pd.Series(unit_code * len(grid.labels) + code).duplicated(keep=False).to_numpy()
    if dup.any():
        pairs = pd.DataFrame({"u": unit_code[dup], "p": code[dup], "r": rows.index[dup]})
        word = "lines" if rows.lines else "index"
        shown = [
            f"unit {_label(unit_labels[u])}, period {grid.labels[p]} "
            f"({word} {', '.join(map(_label, g['r']))})"
            for (u, p), g in pairs.groupby(["u", "p"], sort=True)
        ]
        listed = "; ".join(shown[:_MAX_SHOWN])
        if len(shown) > _MAX_SHOWN:
            listed += f" and {len(shown) - _MAX_SHOWN} more"
        raise PanelError(
            f"{_plural(len(shown), 'unit-period pair')} "
            f"{'appears' if len(shown) == 1 else 'appear'} in more than one row: "
            f"{listed}. Keep one row per unit and period (aggregate or remove duplicates; "
            f"check that column {column!r} has the intended frequency, detected: {grid.freq})."
        )


def check_no_gaps(codes: np.ndarray, grid: Grid, column: Hashable, context: str = "") -> None:
    """Every period of the grid has at least one row."""
    present = np.zeros(len(grid.labels), dtype=bool)
    present[codes] = True
    if not present.all():
        missing = [grid.labels[i] for i in np.flatnonzero(~present)]
        raise PanelError(
            f"The period grid {grid.labels[0]} to {grid.labels[-1]} (freq {grid.freq}) has "
            f"no rows at all for {_plural(len(missing), 'period')}: {_fmt(missing)}"
            f"{context}. Periods must be regularly spaced: add rows for these periods, or "
            f"check that column {column!r} has the intended frequency."
        )
