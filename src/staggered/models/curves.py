"""Effect curves over event time: pooled, programme and unit levels.

``unit_effect[i, e] = theta(e) + delta_group(i)(e) [+ x_i . b(e)] + delta_unit_i(e)``. On effect
times (``e >= -anticipation``) every level is a random walk over event time:

* ``theta(e)`` starts at ``theta(e_0) ~ Normal(0, effect_start_sd)`` and moves in steps of sd
  ``sigma_theta``;
* a programme's curve deviates from ``theta`` by ``Normal(0, sigma_group_start)`` at the first
  effect time and then walks with steps of sd ``sigma_group``; a unit's curve deviates from its
  programme's (or from ``theta``) in the same way (``sigma_unit_start``, ``sigma_unit``);
* with effect modifiers (:mod:`staggered.modifiers`), ``x_i`` are the unit's modifiers
  standardised over the treated units and each coefficient curve ``b_j(e)`` walks from zero one
  step before the first effect time with steps of sd ``sigma_modifier_j ~
  HalfNormal(modifier_step_sd)``: a shrunk regression of the site deviations on the modifiers
  (deterministics ``modifier_coef``, modifier x effect_time, and ``site_deviation``, the
  programme plus unit deviations that the modifiers leave unexplained).

Step priors are stated per year of event time; a period's step has sd ``sigma / sqrt(periods
per year)``, so a monthly curve can move as much in a year as a yearly one (and its prior does
not grow twelve times faster).

Placebo times (only in the separate pre-trend check) get independent effects at each level:
nothing is assumed to carry over between them.

Geometry: ``theta`` is sampled in its levels (centred: pooled data pin them; its steps would be
strongly anti-correlated), or, with ``pooled_walk = "non-centred"`` (monthly panels), as its
start and standard-normal steps; the programme and unit deviations as standard-normal steps
(non-centred: few cells inform each) times signed scales (:func:`deviation_scale`). The
programmes' steps sum to zero across programmes at each event time (``ZeroSumNormal``), so
``theta`` is the programmes' mean curve: with free steps, the data pin only ``theta`` plus the
programmes' mean deviation, and with a handful of programmes that ridge (as wide as the
programme scale) made a funnel with the scale, where outside panels diverged.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from staggered.design import Design
from staggered.diagnostics import SIGNED_SUFFIX
from staggered.models.spec import ModelSpec
from staggered.modifiers import standardised_modifiers
from staggered.periods import PERIODS_PER_YEAR


def steps_per_year(design: Design) -> int:
    """Panel periods per year (step priors are stated per year of event time)."""
    return PERIODS_PER_YEAR.get(design.panel.freq, 1)


class _Block:
    """One block of event times at every level: the effect walk, or the placebo times."""

    def __init__(self, tag: str, dim: str, walk: bool):
        self.tag = tag  # "" for the effect walk, "_placebo" for placebo times
        self.dim = dim
        self.walk = walk

    def pooled(self, step_sd, start_sd: float, centred: bool = True) -> pt.TensorVariable:
        """``theta`` on this block: its levels (centred), or its start and standard steps."""
        n = len(pm.modelcontext(None).coords[self.dim])
        if not self.walk or n == 1:
            return pm.Normal(f"theta{self.tag or '_effect'}", 0.0, start_sd, dims=self.dim)
        if not centred:
            start = pm.Normal("theta_effect_start", 0.0, start_sd)
            steps = pm.Normal("theta_effect_steps_z", 0.0, 1.0, shape=n - 1)
            return pt.concatenate([start[None], start + pt.cumsum(step_sd * steps)])
        return pm.GaussianRandomWalk(
            f"theta{self.tag or '_effect'}",
            sigma=step_sd,
            init_dist=pm.Normal.dist(0.0, start_sd),
            steps=n - 1,
            dims=self.dim,
        )

    def deviations(
        self, level: str, step_sd, rows: str, start_sd=None, z=None, zero_sum: bool = False
    ) -> pt.TensorVariable:
        """Non-centred deviations of each row (programme or unit) from its parent curve.

        On the effect walk the first effect time's deviation has sd ``start_sd`` (a site's own
        level) and each later step ``step_sd`` (how its curve changes shape); placebo times
        are independent with sd ``step_sd``. ``z`` (rows x block times) replaces the
        standard-normal steps (a joint model's steps, correlated across outcomes).
        ``zero_sum``: the rows' steps sum to zero at each time (``ZeroSumNormal``).
        """
        if z is None and zero_sum:
            # zero-sum across rows: sampled as (time, row), summed to zero over the last axis
            z = pm.ZeroSumNormal(f"delta_{level}{self.tag}_z", sigma=1.0, dims=(self.dim, rows)).T
        elif z is None:
            z = pm.Normal(f"delta_{level}{self.tag}_z", 0.0, 1.0, dims=(rows, self.dim))
        if not self.walk:
            return step_sd * z
        return pt.cumsum(pt.concatenate([start_sd * z[:, :1], step_sd * z[:, 1:]], axis=1), axis=1)


def effect_curves(
    design: Design,
    spec: ModelSpec,
    scale: float,
    group_pos: np.ndarray | None,
    innovations: dict | None = None,
) -> pt.TensorVariable:
    """Log effect of each treated unit at each event time (treated_unit x event_time).

    Adds the deterministics ``theta`` (event_time), with programmes ``delta_group`` (group x
    event_time), and with modifiers ``modifier_coef`` and ``site_deviation``.
    ``innovations`` maps ``"group"`` / ``"unit"`` to standard-normal steps (rows x
    effect_time) to use instead of fresh ones on the effect walk (a joint model's steps,
    correlated across outcomes, :mod:`staggered.models.joint`).
    """
    innovations = innovations or {}
    if spec.curve == "cohort":
        if design.panel.n_modifiers:
            raise ValueError(
                f"model {spec.name!r} has one free effect per cohort (curve='cohort'), which "
                "has no site deviations for modifiers to explain; fit modifiers with a random-"
                "walk model such as 'negbin-rw'"
            )
        return _cohort_effects(design, spec, scale)
    pri = spec.priors
    model = pm.modelcontext(None)
    n_pre = design.placebo
    n_post = design.event_times.size - n_pre
    step = 1.0 / np.sqrt(steps_per_year(design))
    n_treated = design.treated_units.size
    blocks = []
    if n_pre:
        model.add_coord("placebo_time", design.event_times[:n_pre].tolist())
        blocks.append((_Block("_placebo", "placebo_time", walk=False), None))
    if n_post:
        model.add_coord("effect_time", design.event_times[n_pre:].tolist())
        sigma_theta = pm.HalfNormal("sigma_theta", pri["effect_step_sd"] * scale)
        blocks.append((_Block("", "effect_time", walk=True), sigma_theta * step))
    start_sd = pri["effect_start_sd"] * scale
    centred = spec.pooled_walk != "non-centred"  # "auto" builds centred (fit_design may refit)
    theta = pm.Deterministic(
        "theta",
        pt.concatenate([b.pooled(sd, start_sd, centred) for b, sd in blocks]),
        dims="event_time",
    )
    curves = pt.broadcast_to(theta[None, :], (n_treated, design.event_times.size))
    deviation = pt.zeros((n_treated, design.event_times.size))
    if group_pos is not None:
        delta_group = pm.Deterministic(
            "delta_group",
            _level_deviations(
                blocks, "group", "group", pri, scale, step, n_post, innovations, spec.group_zero_sum
            ),
            dims=("group", "event_time"),
        )
        deviation = deviation + delta_group[group_pos]
    if spec.unit_level:
        deviation = deviation + _level_deviations(
            blocks, "unit", "treated_unit", pri, scale, step, n_post, innovations
        )
    curves = curves + deviation
    if design.panel.n_modifiers and n_post:
        pm.Deterministic(
            "site_deviation", deviation[:, n_pre:], dims=("treated_unit", "effect_time")
        )
        explained = _modifier_term(design, spec, scale, step)
        curves = curves + pt.concatenate([pt.zeros((n_treated, n_pre)), explained], axis=1)
    return curves


def _level_deviations(
    blocks, level, rows, pri, scale, step, n_post, innovations, zero_sum_groups=True
) -> pt.TensorVariable:
    """Deviations of one level (``group`` or ``unit``) on every block of event times.

    Scales ``sigma_{level}`` (random-walk step, per year) and, with effect times,
    ``sigma_{level}_start`` (the deviation at the first effect time: a site whose effect is
    larger from the start needs no large first step, which would also loosen its later ones).
    ``innovations[level]``, if given, are the effect walk's standard-normal steps.
    """
    # a joint model's correlated steps keep positive scales: a scale's sign would flip its
    # outcome's steps and so the sign of their correlation with the other outcomes
    signed = innovations.get(level) is None
    # programme deviations sum to zero across programmes: with a handful of programmes, their
    # mean is otherwise traded against theta along a ridge whose width grows with the scale
    # (a funnel that diverged on outside panels); theta is then the programmes' mean curve
    zero_sum = level == "group" and signed and zero_sum_groups
    sigma = deviation_scale(f"sigma_{level}", pri[f"{level}_step_sd"] * scale, signed)
    start = (
        deviation_scale(f"sigma_{level}_start", pri[f"{level}_start_sd"] * scale, signed)
        if n_post
        else None
    )
    return pt.concatenate(
        [
            b.deviations(
                level,
                sigma * step,
                rows,
                start if b.walk else None,
                innovations.get(level) if b.walk else None,
                zero_sum,
            )
            for b, _ in blocks
        ],
        axis=1,
    )


def zero_sum_programme_steps(posterior) -> bool:
    """Whether a posterior's programme steps are zero-sum (stored time-first).

    ``delta_group_z`` of zero-sum steps has dims ``(..., effect_time, group)``; free steps
    (fits saved before session 10, whose specs do not say so) ``(..., group, effect_time)``.
    False without programme steps.
    """
    z = posterior.get("delta_group_z")
    return z is not None and z.dims[-1] == "group"


def deviation_scale(name: str, prior_sd: float, signed: bool) -> pt.TensorVariable:
    """A deviation scale ``name ~ HalfNormal(prior_sd)``, sampled signed where it can be.

    Signed: ``name_signed ~ Normal(0, prior_sd)`` multiplies the standard-normal steps, and the
    deterministic ``name = |name_signed|`` is the scale. The model is the same (``|s|`` is
    half-normal, and ``s * z`` has the law of ``|s| * z`` for symmetric ``z``), but a scale
    whose posterior reaches zero no longer has to be explored on the log scale, whose long
    tail towards zero mixed slowest of the whole fit; the sampler passes through zero instead.
    The sign of ``s`` and of its steps is not identified (:mod:`staggered.diagnostics` judges
    convergence on ``name`` and on the deviations). Returns the factor for the steps.
    """
    if not signed:
        return pm.HalfNormal(name, prior_sd)
    s = pm.Normal(f"{name}{SIGNED_SUFFIX}", 0.0, prior_sd)
    pm.Deterministic(name, pt.abs(s))
    return s


def _modifier_term(design: Design, spec: ModelSpec, scale: float, step: float):
    """``x_i . b(e)`` on the effect times (treated_unit x effect_time): the modifiers' part.

    ``b_j(e) = sigma_modifier_j * step * cumsum(z_j)``: non-centred random walks from zero, as
    the unit deviations, whose step prior ``modifier_step_sd`` (per year, per sd of the
    modifier) matches by default, so a modifier can explain about as much as the site spread.
    """
    model = pm.modelcontext(None)
    x, _, _ = standardised_modifiers(design)
    model.add_coord("modifier", [str(m) for m in design.panel.modifier_names])
    sigma = pm.HalfNormal(
        "sigma_modifier", spec.priors["modifier_step_sd"] * scale, dims="modifier"
    )
    z = pm.Normal("modifier_coef_z", 0.0, 1.0, dims=("modifier", "effect_time"))
    coef = pm.Deterministic(
        "modifier_coef",
        sigma[:, None] * step * pt.cumsum(z, axis=1),
        dims=("modifier", "effect_time"),
    )
    return pt.dot(x, coef)


def _cohort_effects(design: Design, spec: ModelSpec, scale: float) -> pt.TensorVariable:
    """One free effect per adoption cohort and event time (no pooling, no smoothing).

    ``theta`` is then the unweighted mean over the cohorts observed at each event time (a
    summary only: pooled estimands weight the cells as usual).
    """
    p = design.panel
    model = pm.modelcontext(None)
    cohorts, cohort_of_treated = np.unique(
        p.adoption_idx[design.treated_units], return_inverse=True
    )
    model.add_coord("cohort", [p.period_labels[c] for c in cohorts])
    sd = spec.priors["cohort_effect_sd"] * scale
    effect = pm.Normal("cohort_effect", 0.0, sd, dims=("cohort", "event_time"))
    seen = np.zeros((cohorts.size, design.event_times.size))
    seen[cohort_of_treated[design.cell_treated_unit], design.effect_index] = 1.0
    weights = seen / np.maximum(seen.sum(axis=0), 1.0)
    pm.Deterministic("theta", (effect * weights).sum(axis=0), dims="event_time")
    return effect[cohort_of_treated]
