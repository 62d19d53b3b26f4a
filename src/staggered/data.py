"""Validate a long unit x period panel and encode it as flat, integer-indexed arrays.

This is the only place where user data is checked (see the data contract in ``DESIGN.md``):
every violation raises a :class:`PanelError` that names the offending rows, units or columns and
says how to fix them. Downstream modules trust the :class:`Panel` they receive.
"""

from __future__ import annotations

import datetime as _dt
import numbers
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["FREQS", "Panel", "PanelError", "encode_panel", "parse_periods"]

FREQS = ("year", "quarter", "month")
"""Supported panel frequencies, coarsest first."""

_MONTHS_PER = {"year": 12, "quarter": 3, "month": 1}
_PANDAS_FREQ = {"year": "Y", "quarter": "Q", "month": "M"}
_FREQ_ALIASES = {
    "year": "year",
    "y": "year",
    "ye": "year",
    "a": "year",
    "annual": "year",
    "yearly": "year",
    "quarter": "quarter",
    "q": "quarter",
    "qe": "quarter",
    "quarterly": "quarter",
    "month": "month",
    "m": "month",
    "me": "month",
    "monthly": "month",
}
_FAMILIES = ("count", "gaussian")
NO_GROUP = "(no group)"  # label of never-treated units whose group is blank
_MAX_SHOWN = 10
_NEVER = np.iinfo(np.int64).max  # sentinel ordinal: never treated
_NAT = np.iinfo(np.int64).min  # sentinel ordinal: missing / invalid (pandas' NaT ordinal)

# Kinds of parsed period values.
_INVALID, _MISSING, _YEAR, _QUARTER, _MONTH, _DATE = -1, 0, 1, 2, 3, 4
_KIND_NAMES = {
    _YEAR: "years (e.g. 2019)",
    _QUARTER: "quarters (e.g. 2019Q3)",
    _MONTH: "months (e.g. 2019-07)",
    _DATE: "dates (e.g. 2019-07-01)",
}
_KIND_FREQ = {_YEAR: "year", _QUARTER: "quarter", _MONTH: "month"}

_YEAR_RE = re.compile(r"^(\d{1,4})(?:\.0*)?$")
_QUARTER_RE = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$")
_MONTH_RE = re.compile(r"^(\d{4})[-/Mm](\d{1,2})$")
_NEVER_STRINGS = frozenset({"", "0", "never", "none", "nan", "na", "inf"})


class PanelError(ValueError):
    """A panel violates the data contract.

    The message is one paragraph: what is wrong, which rows / units / columns (at most ten shown,
    then "and N more"), and how to fix it.
    """


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _fmt(items: Sequence[Any] | np.ndarray, limit: int = _MAX_SHOWN) -> str:
    """Join at most ``limit`` items, then say how many more there are."""
    items = list(items)
    shown = ", ".join(str(x) for x in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _label(x: Any) -> str:
    """Show a unit / group id: strings quoted, numbers bare."""
    return repr(x) if isinstance(x, str) else str(x)


def _freq_name(freq: str) -> str:
    key = str(freq).strip().lower()
    if key not in _FREQ_ALIASES:
        raise ValueError(f"Unknown frequency {freq!r}; use one of {', '.join(FREQS)}.")
    return _FREQ_ALIASES[key]


# --------------------------------------------------------------------------------------------
# Period parsing
# --------------------------------------------------------------------------------------------


class _Parsed(NamedTuple):
    """Per-value parse result: start month ordinal, kind, and a day key for dates."""

    month: np.ndarray  # int64 months since 1970-01 of the period's first month
    kind: np.ndarray  # int8, one of the _KIND constants
    day: np.ndarray  # int64 calendar-day key for dates (distinctness only), else _NAT


def _months(year: Any, month: Any) -> Any:
    return (np.asarray(year, dtype=np.int64) - 1970) * 12 + (np.asarray(month, dtype=np.int64) - 1)


def _period_kind(freq: Any) -> int:
    if isinstance(freq, pd.offsets.YearEnd):
        return _YEAR
    if isinstance(freq, pd.offsets.QuarterEnd):
        return _QUARTER
    if isinstance(freq, pd.offsets.MonthEnd):
        return _MONTH
    return _DATE


def _numbers_as_years(v: np.ndarray, zero_is_missing: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers are years; 0 / inf mean "never" when ``zero_is_missing``."""
    kind = np.full(v.shape, _INVALID, dtype=np.int8)
    month = np.zeros(v.shape, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        missing = np.isnan(v)
        if zero_is_missing:
            missing |= (v == 0) | (v == np.inf)
        ok = np.isfinite(v) & (v == np.round(v)) & (v >= 1) & (v <= 9999)
    kind[missing] = _MISSING
    kind[ok] = _YEAR
    month[ok] = _months(v[ok].astype(np.int64), 1)
    return month, kind


def _parse_objects(objs: np.ndarray, zero_is_missing: bool) -> _Parsed:
    """Parse an object array of distinct values (one Python step per distinct value)."""
    n = len(objs)
    month = np.zeros(n, dtype=np.int64)
    kind = np.full(n, _INVALID, dtype=np.int8)
    day = np.full(n, _NAT, dtype=np.int64)
    date_pos: list[int] = []
    date_str: list[str] = []

    def set_date(i: int, ts: pd.Timestamp) -> None:
        kind[i] = _DATE
        month[i] = _months(ts.year, ts.month)
        day[i] = (ts.year * 12 + ts.month) * 31 + ts.day

    for i, x in enumerate(objs):
        if x is None or x is pd.NaT or x is pd.NA:
            kind[i] = _MISSING
        elif isinstance(x, bool | np.bool_):
            continue
        elif isinstance(x, numbers.Real):
            m, k = _numbers_as_years(np.array([float(x)]), zero_is_missing)
            month[i], kind[i] = m[0], k[0]
        elif isinstance(x, pd.Period):
            kind[i] = _period_kind(x.freq)
            month[i] = x.asfreq("M", how="start").ordinal
            if kind[i] == _DATE:
                set_date(i, x.start_time)
        elif isinstance(x, _dt.date | np.datetime64):
            ts = pd.Timestamp(x)
            if ts is pd.NaT:
                kind[i] = _MISSING
            else:
                set_date(i, ts)
        elif isinstance(x, str):
            t = x.strip()
            if t == "" or (zero_is_missing and t.lower() in _NEVER_STRINGS):
                kind[i] = _MISSING
            elif mt := _YEAR_RE.match(t):
                year = int(mt.group(1))
                if year == 0:
                    kind[i] = _MISSING if zero_is_missing else _INVALID
                else:
                    kind[i], month[i] = _YEAR, _months(year, 1)
            elif mt := _QUARTER_RE.match(t):
                kind[i] = _QUARTER
                month[i] = _months(int(mt.group(1)), 3 * int(mt.group(2)) - 2)
            elif mt := _MONTH_RE.match(t):
                mm = int(mt.group(2))
                if 1 <= mm <= 12:
                    kind[i], month[i] = _MONTH, _months(int(mt.group(1)), mm)
            else:
                date_pos.append(i)
                date_str.append(t)

    if date_pos:
        try:
            stamps = list(
                pd.to_datetime(pd.Series(date_str, dtype=object), format="ISO8601", errors="coerce")
            )
        except (ValueError, TypeError):  # e.g. mixed time zones: parse one by one
            stamps = []
            for t in date_str:
                try:
                    stamps.append(pd.Timestamp(t))
                except (ValueError, TypeError):
                    stamps.append(pd.NaT)
        for i, ts in zip(date_pos, stamps, strict=True):
            if ts is not pd.NaT and not pd.isna(ts):
                set_date(i, ts)
    return _Parsed(month, kind, day)


def _parse_native(values: Any, *, zero_is_missing: bool = False) -> _Parsed:
    """Parse period-like values at their own (native) resolution, vectorised by dtype."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    s = s.reset_index(drop=True)
    n = len(s)
    month = np.zeros(n, dtype=np.int64)
    kind = np.full(n, _MISSING, dtype=np.int8)
    day = np.full(n, _NAT, dtype=np.int64)
    dtype = s.dtype
    valid = s.notna().to_numpy()
    if isinstance(dtype, pd.PeriodDtype):
        pi = pd.PeriodIndex(s)
        k = _period_kind(dtype.freq)
        kind[valid] = k
        month[valid] = pi.asfreq("M", how="start").asi8[valid]
        if k == _DATE:
            return _parse_objects(np.asarray(s, dtype=object), zero_is_missing)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        ok = s[valid]
        y = ok.dt.year.to_numpy(dtype=np.int64)
        m = ok.dt.month.to_numpy(dtype=np.int64)
        d = ok.dt.day.to_numpy(dtype=np.int64)
        kind[valid] = _DATE
        month[valid] = _months(y, m)
        day[valid] = (y * 12 + m) * 31 + d
    elif pd.api.types.is_bool_dtype(dtype):
        kind[valid] = _INVALID
    elif pd.api.types.is_numeric_dtype(dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        month, kind = _numbers_as_years(v, zero_is_missing)
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        parsed = _parse_objects(np.asarray(uniques, dtype=object), zero_is_missing)
        has = codes >= 0
        month[has] = parsed.month[codes[has]]
        kind[has] = parsed.kind[codes[has]]
        day[has] = parsed.day[codes[has]]
    return _Parsed(month, kind, day)


def _infer_freq(parsed: _Parsed, where: str) -> str:
    """Infer the panel frequency from the kinds of values and, for dates, their spacing."""
    ok = parsed.kind > 0
    kinds = sorted(set(np.unique(parsed.kind[ok]).tolist()))
    if not kinds:
        raise PanelError(f"{where} has no usable period values.")
    if len(kinds) > 1:
        raise PanelError(
            f"{where} mixes period formats: {', '.join(_KIND_NAMES[k] for k in kinds)}. Use one "
            "format for all rows (int years, period strings like '2019Q3' or '2019-07', or "
            "dates)."
        )
    if kinds[0] != _DATE:
        return _KIND_FREQ[kinds[0]]
    months = np.unique(parsed.month[ok])
    days = np.unique(parsed.day[ok])
    if len(days) > len(months):
        raise PanelError(
            f"{where} holds dates less than a month apart ({len(days)} distinct dates in "
            f"{len(months)} months); only yearly, quarterly and monthly panels are supported. "
            "Aggregate the panel to months (or coarser) first."
        )
    step = int(np.gcd.reduce(np.diff(months))) if len(months) > 1 else 12
    if step % 12 == 0:
        return "year"
    if step % 3 == 0:
        return "quarter"
    return "month"


def _to_ordinals(parsed: _Parsed, freq: str) -> np.ndarray:
    """Period ordinals (as in ``pd.Period.ordinal``) at ``freq``; ``_NAT`` where not parsed."""
    out = parsed.month // _MONTHS_PER[freq]
    return np.where(parsed.kind > 0, out, _NAT)


def _period_labels(ordinals: np.ndarray, freq: str) -> list[str]:
    pi = pd.PeriodIndex.from_ordinals(np.asarray(ordinals, dtype=np.int64), freq=_PANDAS_FREQ[freq])
    return [str(p) for p in pi]


def parse_periods(values: Any, freq: str | None = None) -> tuple[pd.PeriodIndex, str]:
    """Parse period-like values into a :class:`pandas.PeriodIndex` at one frequency.

    Parameters
    ----------
    values : array-like
        Int (or whole float) years such as ``2019``; period strings ``"2019"``, ``"2019Q3"``
        (or ``"2019q3"``, ``"2019-Q3"``), ``"2019-07"``; ISO dates or datetimes; or
        :class:`pandas.Period` objects. Missing values become ``NaT``.
    freq : {"year", "quarter", "month"}, optional
        Target frequency (pandas aliases ``"Y"``, ``"Q"``, ``"M"`` are accepted too). Values
        coarser than ``freq`` map to the first period they contain (``2014`` at quarterly
        frequency is ``2014Q1``); finer values map to the period containing them. If omitted,
        it is inferred: from the format for years, quarters and months, and from the spacing
        of the distinct values for dates.

    Returns
    -------
    periods : pandas.PeriodIndex
        One period per value, with pandas frequency ``"Y"``, ``"Q"`` or ``"M"``.
    freq : str
        ``"year"``, ``"quarter"`` or ``"month"``.

    Raises
    ------
    PanelError
        If some values cannot be read as periods, formats are mixed (without ``freq``), or dates
        are closer than a month apart.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    parsed = _parse_native(s)
    bad = np.flatnonzero(parsed.kind == _INVALID)
    if len(bad):
        raise PanelError(
            f"{_plural(len(bad), 'value')} could not be read as periods (positions "
            f"{_fmt(bad)}; values {_fmt(repr(v) for v in s.iloc[bad[:_MAX_SHOWN]])}). Use int "
            "years (2019), period strings ('2019', '2019Q3', '2019-07') or ISO dates "
            "('2019-07-01')."
        )
    freq = _freq_name(freq) if freq is not None else _infer_freq(parsed, "The values")
    ords = _to_ordinals(parsed, freq)
    return pd.PeriodIndex.from_ordinals(ords, freq=_PANDAS_FREQ[freq]), freq


# --------------------------------------------------------------------------------------------
# The encoded panel
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Panel:
    """A validated panel as flat arrays over cells (kept rows, sorted by unit then period).

    Attributes
    ----------
    unit_labels : numpy.ndarray
        ``(U,)`` object array of unit ids as given (whole-number float ids become ints), sorted.
    period_labels : list of str
        ``(T,)`` labels of the full regular period grid (``"2019"``, ``"2019Q3"``, ``"2019-07"``).
    freq : str
        ``"year"``, ``"quarter"`` or ``"month"``.
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
    def treated_units(self) -> np.ndarray:
        """``(U,)`` bool: the unit adopts within the panel."""
        return self.adoption_idx >= 0

    def summary(self) -> str:
        """Describe the panel in a few lines.

        Returns
        -------
        str
            Units (treated / never / late adopters), period range and frequency, cells,
            cohorts, groups and dropped units.
        """
        n_treated = int(self.treated_units.sum())
        n_late = len(self.late_adopters)
        n_never = self.n_units - n_treated - n_late
        full = self.n_units * self.n_periods
        balance = (
            "balanced" if self.n_cells == full else f"unbalanced: {full - self.n_cells} missing"
        )
        lines = [
            f"Units: {self.n_units} ({n_treated} treated, {n_never} never treated, "
            f"{n_late} late adopters); family {self.family}",
            f"Periods: {self.period_labels[0]} to {self.period_labels[-1]} "
            f"({self.n_periods} periods, freq {self.freq})",
            f"Cells: {self.n_cells} ({balance})",
        ]
        cohorts, counts = np.unique(self.adoption_idx[self.treated_units], return_counts=True)
        cohort_sizes = [
            f"{self.period_labels[c]}: {k}" for c, k in zip(cohorts, counts, strict=True)
        ]
        lines.append("Cohorts (first treated period: units): " + _fmt(cohort_sizes, limit=20))
        if self.group_labels is not None and self.group_idx is not None:
            sizes = np.bincount(self.group_idx, minlength=self.n_groups)
            lines.append(
                f"Groups: {self.n_groups} ("
                + _fmt([f"{g}: {k}" for g, k in zip(self.group_labels, sizes, strict=True)])
                + ")"
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

    def to_frame(self) -> pd.DataFrame:
        """Return the cells as a tidy DataFrame.

        Returns
        -------
        pandas.DataFrame
            Columns ``unit``, ``period`` (label), ``y``, ``exposure``, ``adoption`` (label of the
            unit's first treated period, ``""`` if not treated within the panel) and ``group``
            (only with a group column), one row per cell.
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
        return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _object_array(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _factorize_sorted(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and sorted labels (Python scalars); mixed unorderable types are compared as str."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.all(v == np.round(v)):
            s = pd.Series(v.astype(np.int64))
    try:
        codes, uniques = pd.factorize(s, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(s.astype(str), sort=True)
    return codes.astype(np.int64), _object_array(pd.Index(uniques).tolist())


def _varying(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return the unit codes whose ``values`` (int64) are not constant."""
    g = pd.Series(values).groupby(codes)
    bad = g.min() != g.max()
    return bad.index[bad.to_numpy()].to_numpy()


def encode_panel(
    df: pd.DataFrame,
    *,
    unit: Hashable,
    time: Hashable,
    outcome: Hashable,
    exposure: Hashable | None = None,
    adoption: Hashable | None = None,
    treated: Hashable | None = None,
    group: Hashable | None = None,
    family: str = "count",
    drop_always_treated: bool = False,
) -> Panel:
    """Validate a long panel (one row per unit x period) and encode it.

    Parameters
    ----------
    df : pandas.DataFrame
        The panel. It is never modified.
    unit : str
        Column of unit ids (str or int).
    time : str
        Column of periods: int years, ISO dates / datetimes (frequency inferred from the
        spacing), or period strings ``"2019"``, ``"2019Q3"``, ``"2019-07"``. The regular grid
        from the first to the last period must have rows in every period; units may miss some
        periods (unbalanced panels are allowed).
    outcome : str
        Column of outcomes: non-negative whole numbers for ``family="count"``, any finite
        number for ``family="gaussian"``.
    exposure : str, optional
        Column of positive, finite exposures (e.g. population); ones if omitted.
    adoption : str, optional
        Column with each unit's first treated period, constant within a unit. Empty, NaN, 0
        (as R's ``did`` ``first.treat = 0``), ``"never"`` or ``inf`` mean never treated.
        Coarser values map to their first period (``2014`` on a quarterly panel is ``2014Q1``),
        finer ones to the period containing them. Exactly one of ``adoption`` / ``treated``.
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

    Returns
    -------
    Panel
        The encoded panel; cells sorted by unit, then period.

    Raises
    ------
    PanelError
        On any violation of the data contract; the message names the rows, units or columns
        and says how to fix them.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, not {type(df).__name__}.")
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {', '.join(_FAMILIES)}, not {family!r}.")
    columns: dict[str, Any] = {
        "unit": unit,
        "time": time,
        "outcome": outcome,
        "exposure": exposure,
        "adoption": adoption,
        "treated": treated,
        "group": group,
    }
    unknown = [
        f"{role}={name!r}"
        for role, name in columns.items()
        if name is not None and name not in df.columns
    ]
    if unknown:
        raise PanelError(
            f"Unknown column{'s' if len(unknown) > 1 else ''}: {_fmt(unknown)}. Available "
            f"columns: {_fmt([repr(c) for c in df.columns], limit=30)}. Pass the names of "
            "existing columns."
        )
    if (adoption is None) == (treated is None):
        raise PanelError(
            (
                "Both adoption= and treated= (CLI: --adoption, --treated) were given"
                if adoption is not None
                else "Neither adoption= nor treated= (CLI: --adoption, --treated) was given"
            )
            + ": pass exactly one, either a column with each unit's first treated period "
            "(adoption=, empty for never treated) or a 0/1 treatment indicator (treated=)."
        )
    if len(df) == 0:
        raise PanelError("The panel has no rows; pass a DataFrame with one row per unit x period.")

    row_index = df.index.to_numpy()

    def rows(mask: np.ndarray, values: Any = None) -> str:
        pos = np.flatnonzero(mask)
        labels = row_index[pos]
        if values is None:
            shown = [_label(x) for x in labels]
        else:
            vals = np.asarray(values, dtype=object)[pos[:_MAX_SHOWN]]
            shown = [f"{_label(x)} ({v!r})" for x, v in zip(labels, vals, strict=False)]
            shown += [_label(x) for x in labels[_MAX_SHOWN:]]
        return f"{_plural(len(pos), 'row')} (index {_fmt(shown)})"

    # ---- units ----------------------------------------------------------------------------
    unit_s = df[unit]
    miss = unit_s.isna().to_numpy()
    if miss.any():
        raise PanelError(
            f"Unit column {unit!r} is missing in {rows(miss)}. Every row needs a unit id: fill "
            "in the ids or remove these rows."
        )
    unit_code, unit_labels = _factorize_sorted(unit_s)

    # ---- periods --------------------------------------------------------------------------
    time_s = df[time]
    parsed = _parse_native(time_s)
    miss = parsed.kind == _MISSING
    if miss.any():
        raise PanelError(
            f"Time column {time!r} is missing in {rows(miss)}. Every row needs a period: fill "
            "in the periods or remove these rows."
        )
    bad = parsed.kind == _INVALID
    if bad.any():
        raise PanelError(
            f"Time column {time!r} has values that are not periods in {rows(bad, time_s)}. "
            "Use int years (2019), period strings ('2019', '2019Q3', '2019-07') or ISO dates "
            "('2019-07-01')."
        )
    freq = _infer_freq(parsed, f"Time column {time!r}")
    per_ord = _to_ordinals(parsed, freq)
    start, end = int(per_ord.min()), int(per_ord.max())
    n_per = end - start + 1
    period_labels = _period_labels(np.arange(start, end + 1), freq)
    period_code = per_ord - start

    key = unit_code * n_per + period_code
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if dup.any():
        pairs = pd.DataFrame({"u": unit_code[dup], "p": period_code[dup], "r": row_index[dup]})
        shown = [
            f"{_label(unit_labels[u])}/{period_labels[p]} (index {', '.join(map(_label, g['r']))})"
            for (u, p), g in pairs.groupby(["u", "p"], sort=True)
        ]
        raise PanelError(
            f"{_plural(len(shown), 'unit-period pair')} "
            f"{'appears' if len(shown) == 1 else 'appear'} in more than one row: "
            f"{_fmt(shown)}. Keep one row per unit and period (aggregate or remove duplicates; "
            f"check that column {time!r} has the intended frequency, detected: {freq})."
        )

    def check_gaps(codes: np.ndarray, context: str = "") -> None:
        present = np.zeros(n_per, dtype=bool)
        present[codes] = True
        if not present.all():
            missing = [period_labels[i] for i in np.flatnonzero(~present)]
            raise PanelError(
                f"The period grid {period_labels[0]} to {period_labels[-1]} (freq {freq}) has "
                f"no rows at all for {_plural(len(missing), 'period')}: {_fmt(missing)}"
                f"{context}. Periods must be regularly spaced: add rows for these periods, or "
                f"check that column {time!r} has the intended frequency."
            )

    check_gaps(period_code)

    # ---- outcome --------------------------------------------------------------------------
    out_raw = df[outcome]
    out_num = pd.to_numeric(out_raw, errors="coerce")
    y = out_num.to_numpy(dtype=np.float64, na_value=np.nan)
    nonnum = np.isnan(y) & out_raw.notna().to_numpy()
    if nonnum.any():
        raise PanelError(
            f"Outcome column {outcome!r} has non-numeric values in {rows(nonnum, out_raw)}. "
            "Convert them to numbers or remove these rows."
        )
    miss = np.isnan(y)
    if miss.any():
        raise PanelError(
            f"Outcome column {outcome!r} is missing in {rows(miss)}. Fill in the outcome or "
            "remove these rows (units may miss periods: unbalanced panels are allowed)."
        )
    inf = ~np.isfinite(y)
    if inf.any():
        raise PanelError(
            f"Outcome column {outcome!r} has infinite values in {rows(inf, y)}. Fix or remove "
            "these rows."
        )
    if family == "count":
        neg = y < 0
        if neg.any():
            raise PanelError(
                f"Outcome column {outcome!r} has negative counts in {rows(neg, y)}. Count "
                "models need non-negative whole numbers: fix or remove these rows, or use "
                "family='gaussian' (CLI: --model normal-rw) for an outcome that is not a count."
            )
        frac = y != np.round(y)
        if frac.any():
            raise PanelError(
                f"Outcome column {outcome!r} has non-integer counts in {rows(frac, y)}. Count "
                "models need whole numbers: fix these rows, or use family='gaussian' (CLI: "
                "--model normal-rw) for an outcome that is not a count (e.g. a rate)."
            )

    # ---- exposure -------------------------------------------------------------------------
    if exposure is not None:
        ex_raw = df[exposure]
        ex = pd.to_numeric(ex_raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        miss = np.isnan(ex)
        if miss.any():
            raise PanelError(
                f"Exposure column {exposure!r} is missing or non-numeric in {rows(miss, ex_raw)}. "
                "Fill in a positive exposure (e.g. population) or remove these rows."
            )
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(ex) | (ex <= 0)
        if bad.any():
            raise PanelError(
                f"Exposure column {exposure!r} must be positive and finite (it enters as a log "
                f"offset) but is not in {rows(bad, ex)}. Fix or remove these rows."
            )
    else:
        ex = np.ones(len(df), dtype=np.float64)

    # ---- group ----------------------------------------------------------------------------
    group_code = group_labels = None
    if group is not None:
        group_s = df[group]
        # never-treated units need no programme: a blank group is labelled NO_GROUP (checked
        # below, once adoption is known, that only untreated units have it)
        group_miss = (group_s.isna() | (group_s.astype(str).str.strip() == "")).to_numpy()
        if group_miss.any():
            group_s = group_s.astype(object).where(~group_miss, NO_GROUP)
        group_code, group_labels = _factorize_sorted(group_s)
        varying = _varying(unit_code, group_code)
        if len(varying):
            raise PanelError(
                _varying_message(
                    "Group",
                    group,
                    varying,
                    unit_code,
                    unit_labels,
                    group_labels[group_code].astype(str),
                    "Each unit must belong to one group: fix the group column for these units.",
                )
            )

    # ---- adoption -------------------------------------------------------------------------
    if adoption is not None:
        ad_raw = df[adoption]
        ad_parsed = _parse_native(ad_raw, zero_is_missing=True)
        bad = ad_parsed.kind == _INVALID
        if bad.any():
            raise PanelError(
                f"Adoption column {adoption!r} has values that are not periods in "
                f"{rows(bad, ad_raw)}. Give the unit's first treated period as an int year, a "
                "period string ('2019', '2019Q3', '2019-07') or an ISO date; leave it empty "
                "(or 0) for never-treated units."
            )
        ad_ord = _to_ordinals(ad_parsed, freq)
        ad_ord = np.where(ad_parsed.kind > 0, ad_ord, _NEVER)
        varying = _varying(unit_code, ad_ord)
        if len(varying):
            shown = np.full(len(df), "never", dtype=object)
            has = ad_ord != _NEVER
            if has.any():
                lab_ord, lab_inv = np.unique(ad_ord[has], return_inverse=True)
                shown[has] = np.asarray(_period_labels(lab_ord, freq), dtype=object)[lab_inv]
            raise PanelError(
                _varying_message(
                    "Adoption",
                    adoption,
                    varying,
                    unit_code,
                    unit_labels,
                    shown,
                    "The adoption column holds each unit's first treated period and must be the "
                    "same on all its rows: fix it for these units (or use treated= with a 0/1 "
                    "column).",
                )
            )
        unit_ad = pd.Series(ad_ord).groupby(unit_code).min().to_numpy()
    else:
        tr_raw = df[treated]
        tr = pd.to_numeric(tr_raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isin(tr, (0.0, 1.0))
        if bad.any():
            raise PanelError(
                f"Treated column {treated!r} must be 0 or 1 but is not in {rows(bad, tr_raw)}. "
                "Fix these rows (1 from the unit's first treated period on, 0 before)."
            )
        first_on = np.where(tr == 1, per_ord, _NEVER)
        unit_ad = pd.Series(first_on).groupby(unit_code).min().to_numpy()
        reversal = (tr == 0) & (per_ord > unit_ad[unit_code])
        if reversal.any():
            rev_per = pd.Series(per_ord[reversal]).groupby(unit_code[reversal]).min()
            shown = [
                f"{_label(unit_labels[u])} (treated from {period_labels[unit_ad[u] - start]}, "
                f"0 again in {period_labels[p - start]})"
                for u, p in rev_per.items()
            ]
            raise PanelError(
                f"Treatment reversal in column {treated!r} for {_plural(len(shown), 'unit')}: "
                f"{_fmt(shown)}. Treatment must be absorbing (once 1, always 1): fix the "
                "indicator for these units, or model the switch-off as a separate programme."
            )

    # ---- always treated / late adopters ---------------------------------------------------
    never = unit_ad == _NEVER
    always = ~never & (unit_ad <= start)
    dropped: list = []
    if always.any():
        bad_units = np.flatnonzero(always)
        shown = [
            f"{_label(unit_labels[u])} (adopts {_period_labels([unit_ad[u]], freq)[0]})"
            for u in bad_units[:_MAX_SHOWN]
        ] + [_label(unit_labels[u]) for u in bad_units[_MAX_SHOWN:]]
        if not drop_always_treated:
            raise PanelError(
                f"{_plural(len(bad_units), 'unit')} {'is' if len(bad_units) == 1 else 'are'} "
                f"treated in every panel period (adoption at or before the first period "
                f"{period_labels[0]}), so there is no untreated period to learn from: "
                f"{_fmt(shown)}. Drop them with drop_always_treated=True (CLI: "
                "--drop-always-treated), or add earlier periods to the panel."
            )
        dropped = unit_labels[bad_units].tolist()
        keep_rows = ~always[unit_code]
        new_code = np.cumsum(~always) - 1
        unit_code = new_code[unit_code[keep_rows]]
        unit_labels = unit_labels[~always]
        unit_ad = unit_ad[~always]
        never = never[~always]
        period_code = period_code[keep_rows]
        y, ex, row_index = y[keep_rows], ex[keep_rows], row_index[keep_rows]
        if group_code is not None and group_labels is not None:
            group_code, kept = pd.factorize(group_labels[group_code[keep_rows]], sort=True)
            group_labels = _object_array(pd.Index(kept).tolist())
        check_gaps(period_code, " once the always-treated units are dropped")

    late = ~never & (unit_ad > end)
    within = ~never & ~late
    if not within.any():
        raise PanelError(
            f"No unit is treated within the panel ({period_labels[0]} to {period_labels[-1]}): "
            f"{int(never.sum())} never treated, {int(late.sum())} adopting after the last "
            f"period{', ' + str(len(dropped)) + ' dropped as always treated' if dropped else ''}"
            f". Check the {'adoption' if adoption is not None else 'treated'} column "
            f"{adoption if adoption is not None else treated!r} and that the panel covers the "
            "adoption periods."
        )
    adoption_idx = np.where(within, unit_ad - start, -1).astype(np.int64)
    if group is not None and group_miss.any():
        miss_kept = group_miss[keep_rows] if dropped else group_miss
        treated_rows = within[unit_code] & miss_kept
        if treated_rows.any():
            raise PanelError(
                f"Group column {group!r} is blank for units treated within the panel, in "
                f"{rows(treated_rows)}. Every treated unit needs its programme; only "
                "never-treated units may leave the group blank."
            )

    # ---- assemble -------------------------------------------------------------------------
    order = np.lexsort((period_code, unit_code))
    group_idx = None
    if group_code is not None:
        unit_group = np.zeros(len(unit_labels), dtype=np.int64)
        unit_group[unit_code] = group_code
        group_idx = unit_group
    arrays = {
        "unit_idx": unit_code[order].astype(np.int64),
        "period_idx": period_code[order].astype(np.int64),
        "y": y[order].astype(np.float64),
        "exposure": ex[order].astype(np.float64),
        "row_index": row_index[order],
        "adoption_idx": adoption_idx,
        "unit_labels": unit_labels,
        "group_idx": group_idx,
        "group_labels": group_labels,
    }
    for arr in arrays.values():
        if arr is not None:
            arr.setflags(write=False)
    return Panel(
        period_labels=period_labels,
        freq=freq,
        columns=dict(columns),
        late_adopters=unit_labels[late].tolist(),
        dropped_always_treated=dropped,
        family=family,
        **arrays,
    )


def _varying_message(
    what: str,
    column: Hashable,
    units: np.ndarray,
    unit_code: np.ndarray,
    unit_labels: np.ndarray,
    shown_values: np.ndarray,
    fix: str,
) -> str:
    """Message for a column that should be constant within units but is not."""
    first = units[:_MAX_SHOWN]
    sel = np.isin(unit_code, first)
    distinct = (
        pd.DataFrame({"u": unit_code[sel], "v": np.asarray(shown_values, dtype=object)[sel]})
        .groupby("u", sort=True)["v"]
        .unique()
    )
    shown = [
        f"{_label(unit_labels[u])} ({', '.join(sorted(map(str, distinct[u])))})" for u in first
    ]
    shown += [_label(unit_labels[u]) for u in units[_MAX_SHOWN:]]
    return (
        f"{what} column {column!r} varies within {_plural(len(units), 'unit')}: "
        f"{_fmt(shown)}. {fix}"
    )
