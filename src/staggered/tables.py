"""Tables for people: numbers rounded and formatted one way on the console and in the report.

Programs read the CSV files (``compare_<scope>_*.csv``) and the posterior; these helpers only
shape what people read: relative effects and probabilities as percentages, admissions as
comma-grouped whole numbers (``-83,725``), ranks as whole numbers, and long site tables cut to
the first and last rows with a line that says what was left out and where the full table is.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["fmt_count", "fmt_number", "fmt_pct", "head_tail", "people_table"]


def fmt_pct(value: float, digits: int = 1) -> str:
    """A relative effect or a change as a signed percentage: ``-0.0289`` -> ``-2.9%``."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{100 * value:+.{digits}f}%"
    return f"{0:.{digits}f}%" if float(text[:-1]) == 0 else text  # never "-0.0%"


def fmt_prob(value: float) -> str:
    """A probability as a percentage without sign: ``0.425`` -> ``42%``, ``1.0`` -> ``100%``."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{100 * value:.0f}%"


def fmt_count(value: float) -> str:
    """Admissions (or another count) as a comma-grouped whole number (``-83725.0``: ``-83,725``)."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:,.0f}"
    return "0" if text == "-0" else text


def fmt_number(value: float, digits: int = 3) -> str:
    """Any other number, never in scientific notation.

    ``digits`` significant digits, or a comma-grouped whole number once the integer part has
    that many digits (``-5390.2``: ``-5,390``; ``0.01234``: ``0.0123``; ``3.84``: ``3.84``).
    """
    if value is None or not math.isfinite(value):
        return ""
    if abs(value) >= 10 ** (digits - 1) or value == 0:
        return fmt_count(value)
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}"


def people_table(
    df: pd.DataFrame,
    *,
    pct: tuple[str, ...] = (),
    prob: tuple[str, ...] = (),
    counts: tuple[str, ...] = (),
) -> pd.DataFrame:
    """A copy of ``df`` with its numbers as strings for people.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    pct : tuple of str
        Columns of relative effects, shown as signed percentages (``-2.9%``).
    prob : tuple of str
        Columns of probabilities, shown as percentages (``97%``).
    counts : tuple of str
        Columns of admissions, shown as comma-grouped whole numbers (``-83,725``).

    Returns
    -------
    pandas.DataFrame
        Other float columns are shown by :func:`fmt_number`; integer and text columns as
        they are.
    """
    shown = df.copy()
    for col in shown.columns:
        if col in pct:
            shown[col] = shown[col].map(fmt_pct)
        elif col in prob:
            shown[col] = shown[col].map(fmt_prob)
        elif col in counts:
            shown[col] = shown[col].map(fmt_count)
        elif pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(fmt_number)
    return shown


def head_tail(df: pd.DataFrame, n: int, *, what: str, where: str) -> tuple[pd.DataFrame, str]:
    """The first and last ``n`` rows of a long table, and a line that says what was left out.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, already sorted.
    n : int
        Rows to keep at each end; a table of at most ``2 n + 2`` rows is kept whole.
    what : str
        What a row is, plural (``"areas"``).
    where : str
        Where the full table is (``"compare_unit_ranks.csv"``).

    Returns
    -------
    shown : pandas.DataFrame
        The kept rows, with a ``...`` row between the two ends when rows were left out.
    note : str
        ``""`` when every row is shown, else e.g. ``"First and last 10 of 105 areas shown; the
        85 in between are in compare_unit_ranks.csv."``.
    """
    if len(df) <= 2 * n + 2:
        return df, ""
    gap = pd.DataFrame([["..."] * df.shape[1]], columns=df.columns)
    shown = pd.concat([df.head(n).astype(object), gap, df.tail(n).astype(object)])
    note = (
        f"First and last {n} of {len(df)} {what} shown; the {len(df) - 2 * n} in between are "
        f"in {where}."
    )
    return shown, note


def detectable_summary(ttd: pd.DataFrame, *, threshold: float, what: str) -> str:
    """Time to a detectable reduction, summarised: how many sites reach it, and when.

    Parameters
    ----------
    ttd : pandas.DataFrame
        Output of :func:`staggered.compare.time_to_detectable`.
    threshold : float
        The posterior probability of a reduction that counts as detectable.
    what : str
        What a row is, plural (``"areas"``).

    Returns
    -------
    str
        A sentence, then a table of the number of sites by first detectable event time.
    """
    reached = ttd[ttd["first_detectable"].notna()]
    lines = [
        f"{len(reached)} of {len(ttd)} {what} reach P(reduction) >= {threshold:g} at some event "
        f"time ({int(reached['sustained'].sum())} of them at every later one too); "
        f"{len(ttd) - len(reached)} never do."
    ]
    if len(reached):
        by = (
            reached.groupby("first_detectable")
            .agg(**{what: ("id", "size"), "sustained": ("sustained", "sum")})
            .reset_index()
            .rename(columns={"first_detectable": "first event time"})
            .astype(int)
        )
        lines.append(by.to_string(index=False))
    return "\n".join(lines)


def compare_sites_text(
    ranks: pd.DataFrame,
    matrix: pd.DataFrame,
    ttd: pd.DataFrame,
    averted: pd.DataFrame,
    *,
    scope: str,
    where: str,
    threshold: float,
    prefix: str,
    n: int = 10,
) -> str:
    """The console text of ``staggered compare-sites``: four tables that say what they show.

    Parameters
    ----------
    ranks, matrix, ttd, averted : pandas.DataFrame
        Outputs of :func:`staggered.compare.ranks`, ``pairwise``, ``time_to_detectable`` and
        ``averted``.
    scope : {"unit", "group"}
        Areas or programmes.
    where : str
        The event time(s) compared and how many sites are observed there.
    threshold : float
        The detectability threshold.
    prefix : str
        Path prefix of the CSV files with the full tables (``results/compare_unit``).
    n : int, default 10
        Rows shown at each end of a long table.

    Returns
    -------
    str
    """
    what = {"unit": "areas", "group": "programmes"}.get(scope, "sites")
    ranks = ranks.assign(rank_mean=ranks["rank_mean"].map(lambda v: f"{v:.1f}"))
    shown, note = head_tail(
        people_table(ranks, pct=("effect_mean",), prob=("prob_best",)),
        n,
        what=what,
        where=f"{prefix}_ranks.csv",
    )
    parts = [f"Ranks of {what} by relative effect at {where}; 1 = largest reduction:"]
    parts += [shown.to_string(index=False)] + ([note] if note else [])
    sites = "chosen with --sites" if len(matrix) != min(8, len(ranks)) else "the 8 best ranked"
    parts += ["", f"P(row site reduced admissions more than column site), {sites}:"]
    parts += [matrix.map(fmt_prob).to_string()]
    parts += ["", detectable_summary(ttd, threshold=threshold, what=what)]
    parts += [f"Each {what[:-1]}'s first event time: {prefix}_detectable.csv."]
    shown, note = head_tail(
        people_table(averted, counts=("mean", "lower", "upper"), prob=("prob_negative",)),
        n,
        what=what,
        where=f"{prefix}_averted.csv",
    )
    parts += ["", "Cumulative admissions since adoption (negative = averted), largest first:"]
    parts += [shown.to_string(index=False)] + ([note] if note else [])
    return "\n".join(parts)
