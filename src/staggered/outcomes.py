"""Several outcomes in one fit: their columns, checks, and each outcome's view of a joint fit.

A panel may carry several outcome columns (emergency admissions, A&E attendances, ...), fitted
jointly (:mod:`staggered.models.joint`). Each outcome has its own exposure column, or all share
one. The rules here, called by ``encode_panel``, raise a :class:`~staggered.errors.PanelError`
that names the offending column: an outcome named twice, an outcome that is also another role's
column (unit, time, exposure, adoption, group, covariate, modifier), a list of exposures whose
length is not the number of outcomes. Every outcome column then passes the same checks as a
single outcome (counts: non-negative whole numbers, never missing), with errors that name the
column and the rows.

The encoded :class:`~staggered.panel.Panel` keeps the first outcome in ``y`` and ``exposure``
(so that everything written for one outcome reads it unchanged) and all of them in
``outcomes`` / ``exposures`` (``(N, K)``). :func:`panel_for_outcome`, :func:`design_for_outcome`
and :func:`posterior_for_outcome` give one outcome's view of a joint fit, which the
single-outcome machinery (effects, figures, checks) reads as if it were a fit of that outcome
alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from staggered.errors import PanelError, Rows, _fmt

__all__ = [
    "SEPARATOR",
    "check_outcome_names",
    "design_for_outcome",
    "exposure_list",
    "outcome_list",
    "outcome_names",
    "outcome_view",
    "panel_for_outcome",
    "posterior_for_outcome",
]

SEPARATOR = "::"  # PyMC's sub-model prefix: "ae_attendances::theta"


def outcome_list(outcome: Hashable | Sequence[Hashable]) -> list:
    """The outcome argument as a list of column names (a single name or a list of names)."""
    if isinstance(outcome, (list, tuple)):
        names = list(outcome)
    else:
        names = [outcome]
    if not names:
        raise PanelError("No outcome column given: pass outcome='name' or a list of names.")
    return names


def exposure_list(exposure: Hashable | Sequence[Hashable] | None, n_outcomes: int) -> list:
    """One exposure column (or None) per outcome: a single name is shared by all outcomes."""
    if exposure is None or not isinstance(exposure, (list, tuple)):
        return [exposure] * n_outcomes
    names = list(exposure)
    if len(names) == 1:
        return names * n_outcomes
    if len(names) != n_outcomes:
        raise PanelError(
            f"{len(names)} exposure columns ({_fmt([repr(e) for e in names])}) for "
            f"{n_outcomes} outcomes: pass one exposure column shared by all outcomes, or one "
            "per outcome in the order of the outcomes (CLI: --exposure, repeated or a comma "
            "list)."
        )
    return names


def check_outcome_names(
    outcomes: Sequence[Hashable],
    exposures: Sequence[Hashable | None],
    columns: dict[str, Any],
    extra: Sequence[tuple[str, Hashable]] = (),
) -> None:
    """Outcomes are named once each and are not another role's column.

    Parameters
    ----------
    outcomes : sequence
        The outcome columns.
    exposures : sequence
        The exposure column of each outcome (None: no exposure).
    columns : dict
        Role to column name of the other single-column roles (``unit, time, adoption,
        treated, group``).
    extra : sequence of (role, name)
        Covariates and modifiers, as ``("covariate", name)`` pairs.
    """
    repeated = list(dict.fromkeys(c for i, c in enumerate(outcomes) if c in outcomes[:i]))
    if repeated:
        raise PanelError(
            f"Outcome{'s' if len(repeated) > 1 else ''} {_fmt([repr(c) for c in repeated])} "
            "named more than once (CLI: --outcome). Name each outcome column once."
        )
    roles = {name: role for role, name in columns.items() if name is not None and role != "outcome"}
    roles.update({name: "exposure" for name in exposures if name is not None})
    roles.update({name: role for role, name in extra})
    clash = [f"{c!r} (also the {roles[c]} column)" for c in outcomes if c in roles]
    if clash:
        raise PanelError(
            f"Outcome{'s' if len(clash) > 1 else ''} {_fmt(clash)}: a column cannot be both "
            "an outcome and another role. Pass each outcome column once, as an outcome only."
        )


def outcome_names(panel) -> tuple[str, ...]:
    """The outcome column names of a panel (one for a single-outcome panel)."""
    if panel.outcome_names:
        return tuple(str(n) for n in panel.outcome_names)
    return (str(panel.columns.get("outcome") or "y"),)


def panel_for_outcome(panel, name: str):
    """One outcome's panel: ``y`` and ``exposure`` that outcome's, a single-outcome panel.

    A single-outcome panel is returned as it is (``name`` must be its outcome).
    """
    names = outcome_names(panel)
    if str(name) not in names:
        raise ValueError(f"no outcome {name!r} in this fit; its outcomes are {list(names)}")
    if not panel.outcome_names or len(names) == 1:
        return panel
    k = names.index(str(name))
    columns = dict(panel.columns)
    columns["outcome"] = panel.outcome_names[k]
    columns["exposure"] = panel.exposure_names[k] if panel.exposure_names else None
    return dataclasses.replace(
        panel,
        y=panel.outcomes[:, k],
        exposure=panel.exposures[:, k],
        columns=columns,
        outcomes=None,
        exposures=None,
        outcome_names=(),
        exposure_names=(),
    )


def design_for_outcome(design, name: str):
    """One outcome's design: the same cells and event times, that outcome's panel."""
    panel = panel_for_outcome(design.panel, name)
    return design if panel is design.panel else dataclasses.replace(design, panel=panel)


def posterior_for_outcome(posterior: xr.Dataset, name: str) -> xr.Dataset:
    """One outcome's variables of a joint posterior, without their ``"name::"`` prefix."""
    prefix = f"{name}{SEPARATOR}"
    keep = [v for v in posterior.data_vars if str(v).startswith(prefix)]
    if not keep:
        return posterior
    return posterior[keep].rename({v: str(v)[len(prefix) :] for v in keep})


def outcome_view(fit, name: str):
    """One outcome's view of a joint fit (:meth:`staggered.fit.Fit.outcome_fit`)."""
    import arviz as az

    panel_for_outcome(fit.panel, name)  # checks the name
    if len(fit.outcomes) == 1:
        return fit
    posterior = posterior_for_outcome(fit.idata.posterior, name)
    view = type(fit)(
        idata=az.InferenceData(posterior=posterior),
        design=design_for_outcome(fit.design, name),
        spec=fit.spec,
        config={**fit.config, "outcome": str(name)},
        diagnostics=fit.diagnostics,
    )
    if fit.source_panel is not None:
        view.source_panel = panel_for_outcome(fit.source_panel, name)
    if fit.pretrend is not None:
        view.pretrend = outcome_view(fit.pretrend, name)
    return view


def read_outcome_columns(
    df: pd.DataFrame,
    outcomes: Sequence[Hashable],
    exposures: Sequence[Hashable | None],
    family: str,
    rows: Rows,
) -> dict[str, np.ndarray]:
    """Read every outcome and exposure column with the single-outcome checks.

    Returns
    -------
    dict
        ``y`` and ``exposure`` (``(N,)``, the first outcome's), and with several outcomes
        ``outcomes`` and ``exposures`` (``(N, K)``).
    """
    from staggered.validation import read_exposure, read_outcome

    ys = [read_outcome(df[c], c, family, rows) for c in outcomes]
    read: dict[Hashable, np.ndarray] = {}
    for e in exposures:
        if e is not None and e not in read:
            read[e] = read_exposure(df[e], e, rows)
    ones = np.ones(len(df), dtype=np.float64)
    ex = [read[e] if e is not None else ones for e in exposures]
    cells = {"y": ys[0], "exposure": ex[0]}
    if len(outcomes) > 1:
        cells["outcomes"] = np.column_stack(ys)
        cells["exposures"] = np.column_stack(ex)
    return cells
