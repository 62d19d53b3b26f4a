"""One function per data-contract rule on arguments, columns, units, outcome, exposure, group.

Covariates have their rules here too (numeric, present, finite, varying over untreated cells).

Each rule raises a :class:`~staggered.errors.PanelError` that names the rows, units or columns and
says how to fix them; ``encode_panel`` calls them in order. The time column's rules live in
:mod:`staggered.grid`, adoption and treatment rules in :mod:`staggered.adoption`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from staggered.errors import _MAX_SHOWN, PanelError, Rows, _fmt, _label, _plural

FAMILIES = ("count", "gaussian")
NO_GROUP = "(no group)"  # label of never-treated units whose group is blank

# --------------------------------------------------------------------------------------------
# Arguments and columns
# --------------------------------------------------------------------------------------------


def check_arguments(df: Any, family: str) -> None:
    """The panel is a DataFrame and the family is known."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, not {type(df).__name__}.")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, not {family!r}.")


def check_columns_exist(
    df: pd.DataFrame,
    columns: dict[str, Any],
    covariates: Sequence[Hashable] = (),
    modifiers: Sequence[Hashable] = (),
    extra: Sequence[tuple[str, Hashable]] = (),
) -> None:
    """Every column named for a role, and every covariate and modifier column, exists.

    ``extra`` lists more ``(role, name)`` pairs: the second and later outcomes and exposures.
    """
    named = [(role, name) for role, name in columns.items() if name is not None]
    named += [(role, name) for role, name in extra if name is not None]
    named += [("covariate", name) for name in covariates]
    named += [("modifier", name) for name in modifiers]
    unknown = [f"{role}={name!r}" for role, name in named if name not in df.columns]
    if unknown:
        raise PanelError(
            f"Unknown column{'s' if len(unknown) > 1 else ''}: {_fmt(unknown)}. Available "
            f"columns: {_fmt([repr(c) for c in df.columns], limit=30)}. Pass the names of "
            "existing columns."
        )


def check_one_treatment_column(adoption: Hashable | None, treated: Hashable | None) -> None:
    """Exactly one of ``adoption=`` and ``treated=`` is given."""
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


def check_has_rows(df: pd.DataFrame) -> None:
    """The panel is not empty."""
    if len(df) == 0:
        raise PanelError("The panel has no rows; pass a DataFrame with one row per unit x period.")


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-d object array holding ``values`` as they are."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def factorize_sorted(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and sorted labels (Python scalars); mixed unorderable types are compared as str."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.all(v == np.round(v)):
            s = pd.Series(v.astype(np.int64))
    try:
        codes, uniques = pd.factorize(s, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(s.astype(str), sort=True)
    return codes.astype(np.int64), object_array(pd.Index(uniques).tolist())


def read_units(raw: pd.Series, column: Hashable, rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Unit codes and sorted unit labels; every row has a unit id."""
    miss = raw.isna().to_numpy()
    if miss.any():
        raise PanelError(
            f"Unit column {column!r} is missing in {rows(miss)}. Every row needs a unit id: fill "
            "in the ids or remove these rows."
        )
    return factorize_sorted(raw)


# --------------------------------------------------------------------------------------------
# Outcome and exposure
# --------------------------------------------------------------------------------------------


def read_outcome(raw: pd.Series, column: Hashable, family: str, rows: Rows) -> np.ndarray:
    """The outcome as float64: numeric, present and finite; counts for count models."""
    y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    nonnum = np.isnan(y) & raw.notna().to_numpy()
    if nonnum.any():
        raise PanelError(
            f"Outcome column {column!r} has non-numeric values in {rows(nonnum, raw)}. "
            "Convert them to numbers or remove these rows."
        )
    miss = np.isnan(y)
    if miss.any():
        raise PanelError(
            f"Outcome column {column!r} is missing in {rows(miss)}. Fill in the outcome or "
            "remove these rows (units may miss periods: unbalanced panels are allowed)."
        )
    inf = ~np.isfinite(y)
    if inf.any():
        raise PanelError(
            f"Outcome column {column!r} has infinite values in {rows(inf, y)}. Fix or remove "
            "these rows."
        )
    if family == "count":
        check_counts(y, column, rows)
    return y


def check_counts(y: np.ndarray, column: Hashable, rows: Rows) -> None:
    """Count outcomes are non-negative whole numbers."""
    neg = y < 0
    if neg.any():
        raise PanelError(
            f"Outcome column {column!r} has negative counts in {rows(neg, y)}. Count "
            "models need non-negative whole numbers: fix or remove these rows, or use "
            "family='gaussian' (CLI: --model normal-rw) for an outcome that is not a count."
        )
    frac = y != np.round(y)
    if frac.any():
        raise PanelError(
            f"Outcome column {column!r} has non-integer counts in {rows(frac, y)}. Count "
            "models need whole numbers: fix these rows, or use family='gaussian' (CLI: "
            "--model normal-rw) for an outcome that is not a count (e.g. a rate)."
        )


def read_exposure(raw: pd.Series, column: Hashable, rows: Rows) -> np.ndarray:
    """The exposure as float64: present, positive and finite."""
    ex = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    miss = np.isnan(ex)
    if miss.any():
        raise PanelError(
            f"Exposure column {column!r} is missing or non-numeric in {rows(miss, raw)}. "
            "Fill in a positive exposure (e.g. population) or remove these rows."
        )
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(ex) | (ex <= 0)
    if bad.any():
        raise PanelError(
            f"Exposure column {column!r} must be positive and finite (it enters as a log "
            f"offset) but is not in {rows(bad, ex)}. Fix or remove these rows."
        )
    return ex


# --------------------------------------------------------------------------------------------
# Values constant within a unit; group
# --------------------------------------------------------------------------------------------


def varying(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return the unit codes whose ``values`` (int64) are not constant."""
    g = pd.Series(values).groupby(codes)
    bad = g.min() != g.max()
    return bad.index[bad.to_numpy()].to_numpy()


def varying_message(
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


def read_group(
    raw: pd.Series, column: Hashable, unit_code: np.ndarray, unit_labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group codes, sorted labels and blank rows; one group per unit.

    Never-treated units need no programme: a blank group is labelled ``NO_GROUP`` (checked by
    :func:`check_group_given_for_treated` once adoption is known).
    """
    blank = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
    if blank.any():
        raw = raw.astype(object).where(~blank, NO_GROUP)
    group_code, group_labels = factorize_sorted(raw)
    units = varying(unit_code, group_code)
    if len(units):
        raise PanelError(
            varying_message(
                "Group",
                column,
                units,
                unit_code,
                unit_labels,
                group_labels[group_code].astype(str),
                "Each unit must belong to one group: fix the group column for these units.",
            )
        )
    return group_code, group_labels, blank


def check_group_given_for_treated(
    blank: np.ndarray, treated_rows: np.ndarray, column: Hashable, rows: Rows
) -> None:
    """Only never-treated units may leave the group blank."""
    bad = treated_rows & blank
    if bad.any():
        raise PanelError(
            f"Group column {column!r} is blank for units treated within the panel, in "
            f"{rows(bad)}. Every treated unit needs its programme; only "
            "never-treated units may leave the group blank."
        )


# --------------------------------------------------------------------------------------------
# Covariates
# --------------------------------------------------------------------------------------------


def check_extra_names(
    names: Sequence[Hashable], columns: dict[str, Any], *, kind: str, option: str, what: str
) -> None:
    """Extra columns (covariates, modifiers) are named once each and have no other role.

    ``kind`` is "Covariate" or "Modifier", ``option`` the CLI flag, ``what`` the sentence that
    says what such a column is and what to do instead.
    """
    repeated = list(dict.fromkeys(c for i, c in enumerate(names) if c in names[:i]))
    if repeated:
        raise PanelError(
            f"{kind}{'s' if len(repeated) > 1 else ''} {_fmt([repr(c) for c in repeated])} "
            f"named more than once (CLI: {option}). Name each {kind.lower()} column once."
        )
    roles = {name: role for role, name in columns.items() if name is not None}
    clash = [f"{c!r} (the {roles[c]} column)" for c in names if c in roles]
    if clash:
        raise PanelError(
            f"{kind}{'s' if len(clash) > 1 else ''} {_fmt(clash)} already "
            f"{'have roles' if len(clash) > 1 else 'has a role'}. {what}"
        )


def check_covariate_names(covariates: Sequence[Hashable], columns: dict[str, Any]) -> None:
    """Covariates are named once each and are not the unit, time, outcome, ... columns."""
    check_extra_names(
        covariates,
        columns,
        kind="Covariate",
        option="--covariate",
        what="A covariate is an extra numeric column that the counterfactual adjusts for: drop "
        "it from the covariates.",
    )


def read_covariate(raw: pd.Series, column: Hashable, rows: Rows) -> np.ndarray:
    """A covariate as float64: numeric, present and finite in every row."""
    x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    nonnum = np.isnan(x) & raw.notna().to_numpy()
    if nonnum.any():
        raise PanelError(
            f"Covariate column {column!r} has non-numeric values in {rows(nonnum, raw)}. "
            "Covariates must be numbers: convert these values (e.g. a category to 0/1 "
            "columns) or remove the rows."
        )
    miss = np.isnan(x)
    if miss.any():
        raise PanelError(
            f"Covariate column {column!r} is missing in {rows(miss)}. The counterfactual needs "
            "the covariate in every cell: fill it in (e.g. carry the last known value forward), "
            "remove these rows, or drop the covariate."
        )
    inf = ~np.isfinite(x)
    if inf.any():
        raise PanelError(
            f"Covariate column {column!r} has infinite values in {rows(inf, x)}. Fix or remove "
            "these rows."
        )
    return x


def check_covariate_varies(values: np.ndarray, untreated: np.ndarray, column: Hashable) -> None:
    """A covariate takes more than one value over untreated cells (it can be standardised)."""
    ref = values[untreated]
    if ref.size and ref.min() == ref.max():
        raise PanelError(
            f"Covariate column {column!r} takes one value ({ref[0]:g}) in every untreated cell "
            "(never-treated units, and treated units before adoption): it cannot be "
            "standardised, and its coefficient could only trade off against the intercepts. "
            "Drop the covariate."
        )
