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

``R`` is sampled as the correlation of an :func:`pymc.LKJCholeskyCov` whose standard
deviations are a nuisance (``HalfNormal(1)``, not in the likelihood: the scale of each
outcome's steps is its own ``sigma_unit``): ``L = chol / sd``. Deterministics
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

__all__ = ["CORRELATION_ETA", "build_joint_model"]

CORRELATION_ETA = 2.0  # LKJ shape: mild shrinkage of the correlations towards zero


def _per_outcome(value, n: int, name: str) -> list:
    """A scalar or one value per outcome, as a list of ``n`` values."""
    if value is None or np.ndim(value) == 0:
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name} needs one value or {n} (one per outcome), got {len(values)}")
    return values


def _correlated_steps(level: str, rows: str, n_outcomes: int) -> pt.TensorVariable:
    """``(outcome, rows, effect_time)`` standard-normal steps, correlated across outcomes."""
    chol, corr, sds = pm.LKJCholeskyCov(
        f"{level}_corr_cov",
        n=n_outcomes,
        eta=CORRELATION_ETA,
        sd_dist=pm.HalfNormal.dist(1.0),
        compute_corr=True,
        store_in_trace=False,
    )
    pm.Deterministic(f"{level}_corr", corr, dims=("outcome", "outcome2"))
    z = pm.Normal(f"delta_{level}_joint_z", 0.0, 1.0, dims=("outcome", rows, "effect_time"))
    # the covariance's Cholesky factor, rows scaled to unit sd: the correlation's factor
    return pt.tensordot(chol / sds[:, None], z, axes=1)


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
