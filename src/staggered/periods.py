"""Frequencies, the period grid, and :func:`parse_periods`.

Values are read at their own resolution by :mod:`staggered.period_kinds`; here they are placed on
a grid at one frequency: calendar years, quarters, months, or financial years (April to March)
and financial quarters. Grid ordinals match pandas' ``Period`` ordinals (``Y``, ``Q``, ``M``,
``Y-MAR``, ``Q-MAR``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from staggered.errors import _MAX_SHOWN, PanelError, _fmt, _plural
from staggered.period_kinds import (
    ACCEPTED,
    AMBIGUOUS,
    DATE,
    FYEAR,
    INVALID,
    KIND_FREQ,
    KIND_MONTHS,
    KIND_NAMES,
    NAT,
    QUARTER,
    YEAR,
    Parsed,
    kinds_of,
    label_reading,
    parse_native,
    resolve_ambiguous,
    unreadable_hint,
)

__all__ = ["FREQS", "PERIODS_PER_YEAR", "parse_periods"]

FREQS = ("year", "quarter", "month", "fy", "fq")
"""Supported panel frequencies: calendar years, quarters, months; financial years, quarters."""

PERIODS_PER_YEAR = {"year": 1, "quarter": 4, "month": 12, "fy": 1, "fq": 4}
"""Panel periods per year at each frequency."""

FINANCIAL_FREQS = frozenset({"fy", "fq"})
FREQ_DESCRIPTIONS = {
    "fy": "financial years, April to March",
    "fq": "financial quarters, Q1 = April to June",
}
MONTHS_PER = {"year": 12, "quarter": 3, "month": 1, "fy": 12, "fq": 3}
_PANDAS_FREQ = {"year": "Y", "quarter": "Q", "month": "M", "fy": "Y-MAR", "fq": "Q-MAR"}
# grid ordinal = (month - shift) // months per period + add, as pandas numbers its periods
_SHIFT_ADD = {"year": (0, 0), "quarter": (0, 0), "month": (0, 0), "fy": (3, 1), "fq": (3, 4)}
_FREQ_ALIASES = {
    **dict.fromkeys(("year", "y", "ye", "a", "annual", "yearly"), "year"),
    **dict.fromkeys(("quarter", "q", "qe", "quarterly"), "quarter"),
    **dict.fromkeys(("month", "m", "me", "monthly"), "month"),
    **dict.fromkeys(
        ("fy", "financial_year", "financial-year", "financial year", "y-mar", "ye-mar", "a-mar"),
        "fy",
    ),
    **dict.fromkeys(
        ("fq", "financial_quarter", "financial-quarter", "financial quarter", "q-mar", "qe-mar"),
        "fq",
    ),
}


def freq_name(freq: str) -> str:
    """Canonical frequency name (``year, quarter, month, fy, fq``) of a name or alias."""
    key = str(freq).strip().lower()
    if key not in _FREQ_ALIASES:
        raise ValueError(f"Unknown frequency {freq!r}; use one of {', '.join(FREQS)}.")
    return _FREQ_ALIASES[key]


# --------------------------------------------------------------------------------------------
# Frequency, grid ordinals and labels
# --------------------------------------------------------------------------------------------


def freq_reading(freq: str) -> str:
    """How ambiguous labels read on a panel of frequency ``freq`` given explicitly."""
    return "financial" if freq in FINANCIAL_FREQS else "month"


def infer_freq(parsed: Parsed) -> str:
    """Frequency of one-kind values; for dates from their spacing (April years: ``fy``)."""
    kind = next(iter(kinds_of(parsed)))
    if kind != DATE:
        return KIND_FREQ[kind]
    months = np.unique(parsed.month[parsed.kind > 0])
    step = int(np.gcd.reduce(np.diff(months))) if len(months) > 1 else 12
    if step % 12 == 0:
        return "fy" if np.all(months % 12 == 3) else "year"
    return "quarter" if step % 3 == 0 else "month"


def incompatible(kind: int, freq: str, *, coarser_ok: bool) -> str | None:
    """Why values of ``kind`` cannot be placed on a ``freq`` grid, or None if they can."""
    if kind in (YEAR, QUARTER) and freq in FINANCIAL_FREQS:
        return (
            "calendar years and quarters are ambiguous on a financial-year panel ('2015' could "
            "be 2014/15, which holds January 2015, or 2015/16; '2015Q1' could be January to "
            "March or a financial first quarter)"
        )
    if kind == FYEAR and freq == "year" and not coarser_ok:
        return "financial years (April to March) are not calendar years"
    if not coarser_ok and KIND_MONTHS[kind] > MONTHS_PER[freq]:
        return f"{KIND_NAMES[kind].split(' (')[0]} are coarser than the requested frequency"
    return None


def to_ordinals(parsed: Parsed, freq: str) -> np.ndarray:
    """Grid ordinals (as in ``pd.Period.ordinal``) at ``freq``; ``NAT`` where not parsed."""
    shift, add = _SHIFT_ADD[freq]
    out = (parsed.month - shift) // MONTHS_PER[freq] + add
    return np.where(parsed.kind > 0, out, NAT)


def period_labels(ordinals: Any, freq: str) -> list[str]:
    """Labels of grid ordinals: ``2019``, ``2019Q3``, ``2019-07``, ``2019/20``, ``2019/20 Q1``."""
    ordinals = np.asarray(ordinals, dtype=np.int64)
    if freq not in FINANCIAL_FREQS:
        pi = pd.PeriodIndex.from_ordinals(ordinals, freq=_PANDAS_FREQ[freq])
        return [str(p) for p in pi]
    shift, add = _SHIFT_ADD[freq]
    first = (ordinals - add) * MONTHS_PER[freq] + shift
    year, within = np.divmod(first - 3, 12)
    out = [f"{1970 + y}/{(1971 + y) % 100:02d}" for y in year.tolist()]
    if freq == "fq":
        out = [f"{lab} Q{w // 3 + 1}" for lab, w in zip(out, within.tolist(), strict=True)]
    return out


def parse_periods(values: Any, freq: str | None = None) -> tuple[pd.PeriodIndex, str]:
    """Parse period-like values into a :class:`pandas.PeriodIndex` at one frequency.

    Parameters
    ----------
    values : array-like
        Int (or whole float) years such as ``2019``; period strings ``"2019"``, ``"2019Q3"``
        (or ``"2019q3"``, ``"2019-Q3"``), ``"2019-07"``; financial years ``"2019/20"``,
        ``"2019-20"``, ``"201920"``, ``"FY2019/20"``, ``"2019/2020"`` and financial quarters
        ``"2019/20 Q1"``; ISO dates or datetimes; or :class:`pandas.Period` objects. Missing
        values become ``NaT``. A label such as ``"2011-12"`` (December 2011 or financial year
        2011/12) is read like the other values (months or financial years), else as ``freq``
        says, else as financial years when there are two or more distinct such labels (as
        months they would be 13 months apart); otherwise it is refused.
    freq : {"year", "quarter", "month", "fy", "fq"}, optional
        Target frequency (pandas aliases ``"Y"``, ``"Q"``, ``"M"``, ``"Y-MAR"``, ``"Q-MAR"`` are
        accepted too). Values coarser than ``freq`` map to the first period they contain
        (``2014`` at quarterly frequency is ``2014Q1``); finer values map to the period
        containing them. If omitted, it is inferred: from the format for years, quarters,
        months and financial years, and from the spacing of the distinct values for dates
        (yearly dates in April are financial years).

    Returns
    -------
    periods : pandas.PeriodIndex
        One period per value, with pandas frequency ``"Y"``, ``"Q"``, ``"M"``, or for financial
        periods ``"Y-MAR"`` / ``"Q-MAR"`` (pandas names a financial year by the year it ends:
        2019/20 is ``Period("2020", "Y-MAR")``).
    freq : str
        ``"year"``, ``"quarter"``, ``"month"``, ``"fy"`` or ``"fq"``.

    Raises
    ------
    PanelError
        If some values cannot be read as periods, are ambiguous, formats are mixed (without
        ``freq``), calendar years or quarters meet a financial ``freq``, or dates are closer
        than a month apart.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    parsed = parse_native(s)
    freq = freq_name(freq) if freq is not None else None

    def where(mask: np.ndarray) -> str:
        pos = np.flatnonzero(mask)
        shown = _fmt(repr(v) for v in s.iloc[pos[:_MAX_SHOWN]])
        return f"{_plural(len(pos), 'value')} (positions {_fmt(pos)}; values {shown})"

    bad = parsed.kind == INVALID
    if bad.any():
        hint = unreadable_hint(s[bad])
        raise PanelError(f"{where(bad)} could not be read as periods. Use {ACCEPTED}.{hint}")
    amb = parsed.kind == AMBIGUOUS
    if amb.any():
        reading = label_reading(kinds_of(parsed, ~amb)) or (freq and freq_reading(freq))
        if reading is None and len(np.unique(parsed.month[amb])) > 1:
            reading = "financial"
        if reading is None:
            raise PanelError(
                f"{where(amb)} read both as a month and as a financial year. Write financial "
                "years as 'FY2011/12' or '2011/2012', months as '2011-12-01', or pass freq."
            )
        parsed = resolve_ambiguous(parsed, reading == "financial")
    kinds = kinds_of(parsed)
    if freq is None and len(kinds) > 1:
        _refuse_mixed(parsed, where)
    if freq is None:
        check_one_kind(kinds, "The values")
        check_monthly_or_coarser(parsed, "The values")
        freq = infer_freq(parsed)
    for k in kinds:
        if (why := incompatible(k, freq, coarser_ok=True)) is not None:
            raise PanelError(f"{where(parsed.kind == k)} cannot be read at freq {freq}: {why}.")
    ords = to_ordinals(parsed, freq)
    return pd.PeriodIndex.from_ordinals(ords, freq=_PANDAS_FREQ[freq]), freq


def _refuse_mixed(parsed: Parsed, where: Any) -> None:
    """Refuse values of several kinds, naming those of the less common kinds (``where``)."""
    counts = {k: int(np.count_nonzero(parsed.kind == k)) for k in sorted(kinds_of(parsed))}
    main = max(counts, key=lambda k: counts[k])
    others = "; ".join(
        f"{KIND_NAMES[k].split(' (')[0]} in {where(parsed.kind == k)}" for k in counts if k != main
    )
    raise PanelError(
        f"The list mixes period formats: most values are {KIND_NAMES[main].split(' (')[0]}, "
        f"but there are {others}. Use one format for all values."
    )


def check_one_kind(kinds: set[int], where: str) -> None:
    """Refuse values of several kinds (formats) in one column."""
    if not kinds:
        raise PanelError(f"{where} has no usable period values.")
    if len(kinds) > 1:
        raise PanelError(
            f"{where} mixes period formats: {', '.join(KIND_NAMES[k] for k in sorted(kinds))}. "
            "Use one format for all rows (int years, period strings like '2019Q3' or "
            "'2019-07', financial years like '2019/20', or dates)."
        )


def check_monthly_or_coarser(parsed: Parsed, where: str) -> None:
    """Refuse dates less than a month apart."""
    ok = parsed.kind == DATE
    months, days = np.unique(parsed.month[ok]), np.unique(parsed.day[ok])
    if len(days) > len(months):
        raise PanelError(
            f"{where} holds dates less than a month apart ({len(days)} distinct dates in "
            f"{len(months)} months); only yearly, quarterly and monthly panels are supported. "
            "Aggregate the panel to months (or coarser) first."
        )
