"""The joint model of several outcomes: own counterfactuals and curves, correlated sites.

Each outcome ``k`` gets the single-outcome model of :mod:`staggered.models.builder` (its own
intercepts, period effects, trends, dispersion, pooled curve ``theta_k`` and step scales) in a
PyMC sub-model named after its column, so its variables are ``"k::theta"``, ``"k::eta0"``, ...
The site deviations are what ties the outcomes together: the standard-normal step of unit
``i`` at event time ``e`` across outcomes is ``L z_ie`` with ``z_ie ~ Normal(0, I_K)`` and
``L`` the Cholesky factor of a correlation matrix ``R ~ LKJ(eta=2)``; so are a programme's
steps, with their own correlation. A site whose admissions fall more than the pooled curve then
tends to have its A&E attendances fall more too when ``R`` says the outcomes move together,
and each outcome's site estimates borrow strength from the other's.

``L`` is built from canonical partial correlations with Beta priors (:func:`lkj_cholesky`),
an exact LKJ without nuisance parameters: the scale of each outcome's steps is its own
``sigma_unit``. (``pm.LKJCholeskyCov`` with nuisance standard deviations mixed badly where the
data say little about a correlation: R-hat 1.24 on an unidentified programme correlation.)
Deterministics
``unit_corr`` / ``group_corr`` (outcome x outcome2) hold ``R``; placebo effects of the
pre-trend check fit are independent across outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from staggered.design import Design
from staggered.models.builder import add_outcome_terms, model_coords
from staggered.models.spec import ModelSpec
from staggered.outcomes import design_for_outcome, outcome_names

__all__ = ["CORRELATION_ETA", "build_joint_model", "lkj_cholesky"]

CORRELATION_ETA = 2.0  # LKJ shape: mild shrinkage of the correlations towards zero


def _per_outcome(value, n: int, name: str) -> list:
    """A scalar or one value per outcome, as a list of ``n`` values."""
    if value is None or np.ndim(value) == 0:
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name} needs one value or {n} (one per outcome), got {len(values)}")
    return values


def lkj_cholesky(name: str, n: int, eta: float = CORRELATION_ETA) -> pt.TensorVariable:
    """Cholesky factor of an ``LKJ(eta)`` correlation matrix, from canonical partial correlations.

    The partial correlation of variables ``i > j`` given variables ``0 .. j-1`` is
    ``2 * Beta(a_j, a_j) - 1`` with ``a_j = eta + (n - 2 - j) / 2``, independently; the
    correlation matrix they make is LKJ(eta) distributed (Lewandowski, Kurowicka & Joe 2009,
    the construction of Stan's ``lkj_corr_cholesky``). For two outcomes: one correlation,
    ``(rho + 1) / 2 ~ Beta(eta, eta)``. Adds the deterministic ``name`` (outcome x outcome2).
    """
    cpc = [
        2.0
        * pm.Beta(f"{name}_cpc{j}", eta + (n - 2 - j) / 2, eta + (n - 2 - j) / 2, shape=n - 1 - j)
        - 1.0
        for j in range(n - 1)
    ]
    rows = [pt.concatenate([pt.ones(1), pt.zeros(n - 1)])]
    for i in range(1, n):
        entries, used = [], 0.0
        for j in range(i):
            entry = cpc[j][i - 1 - j] * pt.sqrt(1.0 - used)
            entries.append(entry)
            used = used + entry**2
        entries.append(pt.sqrt(1.0 - used))
        rows.append(pt.concatenate([pt.stack(entries), pt.zeros(n - 1 - i)]))
    chol = pt.stack(rows)
    pm.Deterministic(name, chol @ chol.T, dims=("outcome", "outcome2"))
    return chol


def _correlated_steps(level: str, rows: str, n_outcomes: int) -> pt.TensorVariable:
    """``(outcome, rows, effect_time)`` standard-normal steps, correlated across outcomes."""
    chol = lkj_cholesky(f"{level}_corr", n_outcomes)
    z = pm.Normal(f"delta_{level}_joint_z", 0.0, 1.0, dims=("outcome", rows, "effect_time"))
    return pt.tensordot(chol, z, axes=1)


def build_joint_model(
    design: Design,
    spec: ModelSpec,
    *,
    prior_loc: float | Sequence[float] | None = None,
    prior_scale: float | Sequence[float] | None = None,
) -> pm.Model:
    """Build the joint model of a panel with several outcomes (see the module docstring).

    Parameters
    ----------
    design : Design
        A design whose panel has several outcomes.
    spec : ModelSpec
        The model spec, shared by the outcomes.
    prior_loc, prior_scale : float or sequence of float, optional
        As in :func:`~staggered.models.builder.build_model`, one for all outcomes or one per
        outcome.

    Returns
    -------
    pymc.Model
        Dims of the single-outcome model plus ``outcome`` and ``outcome2``; each outcome's
        variables prefixed ``"<outcome>::"``; ``unit_corr`` (and ``group_corr`` with
        programmes) the correlation of the site deviations' steps across outcomes.
    """
    names = outcome_names(design.panel)
    k = len(names)
    locs = _per_outcome(prior_loc, k, "prior_loc")
    scales = _per_outcome(prior_scale, k, "prior_scale")
    coords = model_coords(design, spec)
    coords["outcome"] = list(names)
    coords["outcome2"] = list(names)
    walk = spec.curve != "cohort" and (design.event_times >= design.first_effect_time).any()
    with pm.Model(coords=coords) as model:
        steps: dict[str, pt.TensorVariable] = {}
        if walk:
            model.add_coord("effect_time", design.event_times[design.placebo :].tolist())
            if "group" in coords:
                steps["group"] = _correlated_steps("group", "group", k)
            if spec.unit_level:
                steps["unit"] = _correlated_steps("unit", "treated_unit", k)
        for j, name in enumerate(names):
            with pm.Model(name=name):
                add_outcome_terms(
                    design_for_outcome(design, name),
                    spec,
                    prior_loc=locs[j],
                    prior_scale=scales[j],
                    innovations={level: z[j] for level, z in steps.items()},
                )
    return model
