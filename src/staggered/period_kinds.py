"""Read period values at their own resolution: the *kind* of each value and its first month.

Kinds are year, quarter, month, date, financial year (April to March) and financial quarter. A
label that reads both as a month and as a financial year (``2011-12``: December 2011 or April
2011 to March 2012) has a kind of its own, ``AMBIGUOUS``, until :func:`resolve_ambiguous` settles
it from context; nothing is guessed. :mod:`staggered.periods` places values on a grid.
"""

from __future__ import annotations

import datetime as _dt
import numbers
import re
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

NEVER = np.iinfo(np.int64).max  # sentinel ordinal: never treated
NAT = np.iinfo(np.int64).min  # sentinel ordinal: missing / invalid (pandas' NaT ordinal)

# Kinds of parsed period values.
INVALID, MISSING, YEAR, QUARTER, MONTH, DATE, FYEAR, FQUARTER, AMBIGUOUS = range(-1, 8)
KIND_NAMES = {
    YEAR: "years (e.g. 2019)",
    QUARTER: "quarters (e.g. 2019Q3)",
    MONTH: "months (e.g. 2019-07)",
    DATE: "dates (e.g. 2019-07-01)",
    FYEAR: "financial years (e.g. 2019/20)",
    FQUARTER: "financial quarters (e.g. 2019/20 Q1)",
    AMBIGUOUS: "labels that read as a month or a financial year (e.g. 2011-12)",
}
KIND_FREQ = {YEAR: "year", QUARTER: "quarter", MONTH: "month", FYEAR: "fy", FQUARTER: "fq"}
KIND_MONTHS = {YEAR: 12, FYEAR: 12, QUARTER: 3, FQUARTER: 3, MONTH: 1, DATE: 1, AMBIGUOUS: 1}
FINANCIAL_KINDS = frozenset({FYEAR, FQUARTER})

ACCEPTED = (
    "int years (2019), period strings ('2019', '2019Q3', '2019-07'), financial years "
    "('2019/20', '2019-20', '201920', 'FY2019/20', '2019/2020'), financial quarters "
    "('2019/20 Q1') or ISO dates ('2019-07-01')"
)
"""The accepted period forms, as error messages list them."""
FY_HINT = " Financial years need consecutive years: '2019/20', not '2019/21'."
"""Added to a message about unreadable values when some look like financial years."""
UK_DATE_HINT = (
    " Write dates as yyyy-mm-dd ('2016-04-01'): dd/mm/yyyy dates such as '01/04/2016' are "
    "refused, since day and month could be read either way."
)
"""Added to a message about unreadable values when some look like dd/mm/yyyy dates."""
_SLASH_DATE_RE = re.compile(r"^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}$")


def unreadable_hint(values: Any) -> str:
    """Hints for a message about unreadable period values (financial years, UK dates)."""
    values = [v.strip() for v in values if isinstance(v, str)]
    hint = FY_HINT if any(looks_financial(v) for v in values) else ""
    if any(_SLASH_DATE_RE.match(v) for v in values):
        hint += UK_DATE_HINT
    return hint


_YEAR_RE = re.compile(r"^(\d{1,4})(?:\.0*)?$")
_QUARTER_RE = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$")
_MONTH_RE = re.compile(r"^(\d{4})[-/Mm](\d{1,2})$")
_FY_RE = re.compile(
    r"^(?P<fy>FY\s*)?(?P<y1>\d{4})(?:\s*(?P<sep>[/-])\s*(?P<y2>\d{4}|\d{2})|(?P<y2c>\d{2}))"
    r"(?:\s*-?\s*Q(?P<q>[1-4]))?$",
    re.IGNORECASE,
)
_FY_SHAPE_RE = re.compile(r"^\d{4}\s*/\s*\d{2}$")
_NEVER_STRINGS = frozenset({"", "0", "never", "none", "nan", "na", "inf"})


def looks_financial(value: Any) -> bool:
    """Whether a value has the shape of a financial-year label (the years may not follow)."""
    return isinstance(value, str) and _FY_RE.match(value.strip()) is not None


class Parsed(NamedTuple):
    """Per-value parse result: first month ordinal, kind, and a day key for dates.

    For ``AMBIGUOUS`` values ``month`` holds the month reading; the financial-year reading
    starts in April of the same year.
    """

    month: np.ndarray  # int64 months since 1970-01 of the period's first month
    kind: np.ndarray  # int8, one of the kind constants
    day: np.ndarray  # int64 calendar-day key for dates (distinctness only), else NAT


def _months(year: Any, month: Any) -> Any:
    return (np.asarray(year, dtype=np.int64) - 1970) * 12 + (np.asarray(month, dtype=np.int64) - 1)


def _fy_start(month: Any) -> Any:
    """First month (April) of the financial year named by an ambiguous label's month reading."""
    return month - month % 12 + 3


def _period_kind(freq: Any) -> int:
    if isinstance(freq, pd.offsets.YearEnd):
        return FYEAR if freq.month == 3 else YEAR
    if isinstance(freq, pd.offsets.QuarterEnd):
        return FQUARTER if freq.startingMonth == 3 else QUARTER
    if isinstance(freq, pd.offsets.MonthEnd):
        return MONTH
    return DATE


def _numbers(v: np.ndarray, zero_is_missing: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers are years, or financial years written ``201920``; 0 / inf may mean "never"."""
    kind = np.full(v.shape, INVALID, dtype=np.int8)
    month = np.zeros(v.shape, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        missing = np.isnan(v)
        if zero_is_missing:
            missing |= (v == 0) | (v == np.inf)
        whole = np.isfinite(v) & (v == np.round(v))
        year = whole & (v >= 1) & (v <= 9999)
        six = whole & (v >= 100000) & (v <= 999999)
    kind[missing] = MISSING
    kind[year] = YEAR
    month[year] = _months(v[year].astype(np.int64), 1)
    y1, y2 = np.divmod(v[six].astype(np.int64), 100)
    fy = np.flatnonzero(six)[y2 == (y1 + 1) % 100]
    kind[fy] = FYEAR
    month[fy] = _months(y1[y2 == (y1 + 1) % 100], 4)
    return month, kind


def _financial(t: str) -> tuple[int, int] | None:
    """Kind and first month of a financial-year label; None if ``t`` is not one."""
    mt = _FY_RE.match(t)
    if mt is None:
        return None
    y1, y2 = int(mt["y1"]), mt["y2"] or mt["y2c"]
    if int(y2) != (y1 + 1 if len(y2) == 4 else (y1 + 1) % 100):
        return None  # a month such as 2019-07, or refused later such as 2019/21
    start = int(_months(y1, 4))
    if mt["q"]:
        return FQUARTER, start + 3 * (int(mt["q"]) - 1)
    if mt["sep"] and len(y2) == 2 and not mt["fy"] and 1 <= int(y2) <= 12:
        return AMBIGUOUS, int(_months(y1, int(y2)))
    return FYEAR, start


def _parse_label(t: str, zero_is_missing: bool) -> tuple[int, int] | None:
    """Kind and first month of a period string; None when only a date parser can tell."""
    if mt := _YEAR_RE.match(t):
        year = int(mt.group(1))
        if year == 0:
            return (MISSING if zero_is_missing else INVALID), 0
        return YEAR, int(_months(year, 1))
    if mt := _QUARTER_RE.match(t):
        return QUARTER, int(_months(int(mt.group(1)), 3 * int(mt.group(2)) - 2))
    if (fin := _financial(t)) is not None:
        return fin
    if mt := _MONTH_RE.match(t):
        mm = int(mt.group(2))
        return (MONTH, int(_months(int(mt.group(1)), mm))) if 1 <= mm <= 12 else (INVALID, 0)
    return None


def _parse_dates(date_str: list[str]) -> list[Any]:
    try:
        return list(
            pd.to_datetime(pd.Series(date_str, dtype=object), format="ISO8601", errors="coerce")
        )
    except (ValueError, TypeError):  # e.g. mixed time zones: parse one by one
        stamps = []
        for t in date_str:
            try:
                stamps.append(pd.Timestamp(t))
            except (ValueError, TypeError):
                stamps.append(pd.NaT)
        return stamps


def _parse_objects(objs: np.ndarray, zero_is_missing: bool) -> Parsed:
    """Parse an object array of distinct values (one Python step per distinct value)."""
    n = len(objs)
    month = np.zeros(n, dtype=np.int64)
    kind = np.full(n, INVALID, dtype=np.int8)
    day = np.full(n, NAT, dtype=np.int64)
    date_pos: list[int] = []
    date_str: list[str] = []

    def set_date(i: int, ts: pd.Timestamp) -> None:
        kind[i] = DATE
        month[i] = _months(ts.year, ts.month)
        day[i] = (ts.year * 12 + ts.month) * 31 + ts.day

    for i, x in enumerate(objs):
        if x is None or x is pd.NaT or x is pd.NA:
            kind[i] = MISSING
        elif isinstance(x, bool | np.bool_):
            continue
        elif isinstance(x, numbers.Real):
            m, k = _numbers(np.array([float(x)]), zero_is_missing)
            month[i], kind[i] = m[0], k[0]
        elif isinstance(x, pd.Period):
            kind[i] = _period_kind(x.freq)
            month[i] = x.asfreq("M", how="start").ordinal
            if kind[i] == DATE:
                set_date(i, x.start_time)
        elif isinstance(x, _dt.date | np.datetime64):
            ts = pd.Timestamp(x)
            if ts is pd.NaT:
                kind[i] = MISSING
            else:
                set_date(i, ts)
        elif isinstance(x, str):
            t = x.strip()
            if t == "" or (zero_is_missing and t.lower() in _NEVER_STRINGS):
                kind[i] = MISSING
            elif (got := _parse_label(t, zero_is_missing)) is not None:
                kind[i], month[i] = got
            else:
                date_pos.append(i)
                date_str.append(t)

    if date_pos:
        for i, ts in zip(date_pos, _parse_dates(date_str), strict=True):
            if ts is not pd.NaT and not pd.isna(ts):
                set_date(i, ts)
    return Parsed(month, kind, day)


def parse_native(values: Any, *, zero_is_missing: bool = False) -> Parsed:
    """Parse period-like values at their own (native) resolution, vectorised by dtype."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    s = s.reset_index(drop=True)
    n = len(s)
    month = np.zeros(n, dtype=np.int64)
    kind = np.full(n, MISSING, dtype=np.int8)
    day = np.full(n, NAT, dtype=np.int64)
    dtype = s.dtype
    valid = s.notna().to_numpy()
    if isinstance(dtype, pd.PeriodDtype):
        k = _period_kind(dtype.freq)
        if k == DATE:
            return _parse_objects(np.asarray(s, dtype=object), zero_is_missing)
        kind[valid] = k
        month[valid] = pd.PeriodIndex(s).asfreq("M", how="start").asi8[valid]
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        ok = s[valid]
        y = ok.dt.year.to_numpy(dtype=np.int64)
        m = ok.dt.month.to_numpy(dtype=np.int64)
        kind[valid] = DATE
        month[valid] = _months(y, m)
        day[valid] = (y * 12 + m) * 31 + ok.dt.day.to_numpy(dtype=np.int64)
    elif pd.api.types.is_bool_dtype(dtype):
        kind[valid] = INVALID
    elif pd.api.types.is_numeric_dtype(dtype):
        month, kind = _numbers(s.to_numpy(dtype=np.float64, na_value=np.nan), zero_is_missing)
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        parsed = _parse_objects(np.asarray(uniques, dtype=object), zero_is_missing)
        has = codes >= 0
        month[has] = parsed.month[codes[has]]
        kind[has] = parsed.kind[codes[has]]
        day[has] = parsed.day[codes[has]]
    return Parsed(month, kind, day)


def kinds_of(parsed: Parsed, mask: np.ndarray | None = None) -> set[int]:
    """The kinds of the parsed (non-missing, valid) values, optionally within ``mask``."""
    ok = parsed.kind > 0 if mask is None else (parsed.kind > 0) & mask
    return set(np.unique(parsed.kind[ok]).tolist())


def label_reading(kinds: set[int]) -> str | None:
    """How a column's unambiguous labels read ambiguous ones: "financial", "month" or None."""
    if kinds & FINANCIAL_KINDS:
        return "financial"
    if MONTH in kinds:
        return "month"
    return None


def resolve_ambiguous(parsed: Parsed, financial: bool | np.ndarray) -> Parsed:
    """Read ``AMBIGUOUS`` values as financial years where ``financial``, else as months."""
    amb = parsed.kind == AMBIGUOUS
    fin = amb & financial
    kind, month = parsed.kind.copy(), parsed.month.copy()
    kind[fin] = FYEAR
    month[fin] = _fy_start(month[fin])
    kind[amb & ~fin] = MONTH
    return Parsed(month, kind, parsed.day)


def fy_shaped_months(parsed: Parsed, raw: pd.Series) -> np.ndarray:
    """``(N,)`` bool: values read as months whose label has the financial-year shape.

    ``'2010/12'`` is December 2010 as a month but, in a column of financial years, a
    financial year whose years do not follow each other: callers refuse it there.
    """
    out = parsed.kind == MONTH
    if out.any():
        values = raw.to_numpy(dtype=object)[out]
        out[out] = [
            isinstance(v, str) and _FY_SHAPE_RE.match(v.strip()) is not None for v in values
        ]
    return out


def years_as_financial(parsed: Parsed) -> Parsed:
    """Read int years as the financial years starting in April of that year (2015: 2015/16)."""
    year = parsed.kind == YEAR
    kind, month = parsed.kind.copy(), parsed.month.copy()
    kind[year] = FYEAR
    month[year] += 3
    return Parsed(month, kind, parsed.day)
