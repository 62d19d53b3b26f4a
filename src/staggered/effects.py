"""Posterior estimands as tidy tables (the DESIGN output contract).

For a set of effect cells C (all treated units observed at event time e, one programme's, or
one unit's), per posterior draw::

    relative   = sum_C mu1 / sum_C mu0 - 1          (rate ratio - 1)
    absolute   = sum_C (mu1 - mu0) / periods        (admissions per period, summed over units;
                                                     periods > 1 only in a binned horizon)
    per_1000   = 1000 * sum_C (mu1 - mu0) / sum_C exposure
    cumulative = absolute summed over event times up to e

with mu0 the expected count without the programme and mu1 = mu0 * exp(tau). The ``pooled``
scope is therefore weighted by expected counts. ``predictive`` is the effect in a new site
drawn from the hierarchy (new programme and unit deviations), scaled to the average treated
site at e for ``absolute`` and to the treated units' rate for ``per_1000``.

Every row names its outcome (``outcome`` column); a fit of several outcomes
(:mod:`staggered.outcomes`) is summarised outcome by outcome, each from its own variables.

For the Gaussian model the effect is additive: only ``absolute`` (the mean of mu1 - mu0 over
C) and ``cumulative`` are reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from staggered.design import Design
from staggered.models.spec import ModelSpec
from staggered.outcomes import design_for_outcome, outcome_names, posterior_for_outcome

#: What every row of a posterior summary table reports about one quantity.
SUMMARY_COLUMNS = ["mean", "sd", "lower", "upper", "level", "prob_negative"]
COLUMNS = ["outcome", "scope", "id", "event_time", "measure", *SUMMARY_COLUMNS]
SCOPES = ("pooled", "predictive", "group", "unit")
MEASURES = ("relative", "absolute", "per_1000", "cumulative")


def _draws(posterior: xr.Dataset, name: str) -> np.ndarray:
    """(sample, ...) array of a posterior variable, chains and draws stacked."""
    da = posterior[name]
    # saved fits store float32 draws: sums of expected counts need float64
    return da.stack(sample=("chain", "draw")).transpose("sample", ...).values.astype(np.float64)


def summarise(draws: np.ndarray, level: float) -> dict[str, np.ndarray]:
    """Mean, sd, equal-tailed interval and P(< 0) over axis 0 of ``draws``."""
    alpha = (1.0 - level) / 2.0
    lower, upper = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
    return {
        "mean": draws.mean(axis=0),
        "sd": draws.std(axis=0, ddof=1) if draws.shape[0] > 1 else np.zeros(draws.shape[1:]),
        "lower": lower,
        "upper": upper,
        "prob_negative": (draws < 0).mean(axis=0),
    }


def _table(scope: str, ids, event_times, measure: str, draws: np.ndarray, level: float):
    s = summarise(draws, level)
    return pd.DataFrame(
        {
            "scope": scope,
            "id": np.asarray(ids, dtype=object),
            "event_time": np.asarray(event_times, dtype=np.int64),
            "measure": measure,
            **{k: s[k] for k in ("mean", "sd", "lower", "upper")},
            "level": level,
            "prob_negative": s["prob_negative"],
        }
    )


def _cumulate(absolute: np.ndarray, entity: np.ndarray) -> np.ndarray:
    """Cumulative sum along keys that share an entity (keys sorted by entity, event time)."""
    out = np.cumsum(absolute, axis=1)
    new_entity = np.r_[True, entity[1:] != entity[:-1]]
    segment = np.cumsum(new_entity) - 1
    starts = np.flatnonzero(new_entity)
    # running total just before each entity's first key (0 for the first entity)
    before = np.concatenate([np.zeros((out.shape[0], 1)), out[:, starts[1:] - 1]], axis=1)
    return out - before[:, segment]


class _CellDraws:
    """Per-draw expected counts with and without the effect on every effect cell."""

    def __init__(self, posterior: xr.Dataset, design: Design, spec: ModelSpec):
        eta0 = _draws(posterior, "eta0")
        tau = _draws(posterior, "tau")
        self.count = spec.is_count
        if self.count:
            self.mu0 = np.exp(eta0)
            self.mu1 = self.mu0 * np.exp(tau)
        else:
            self.mu0 = eta0
            self.mu1 = eta0 + tau
        eff = design.effect_cells
        self.exposure = design.panel.exposure[eff]
        self.event_time = design.event_times[design.effect_index]
        self.unit = design.panel.unit_idx[eff]
        self.first_effect_time = design.first_effect_time

    def aggregate_subset(self, mask: np.ndarray, key: np.ndarray, n_keys: int):
        """:meth:`aggregate` over the cells in ``mask`` only (``key`` given for those cells)."""
        full = np.full(mask.size, n_keys)
        full[mask] = key
        s0, s1, expo, n = self.aggregate(full, n_keys + 1)
        return s0[:, :n_keys], s1[:, :n_keys], expo[:n_keys], n[:n_keys]

    def aggregate(self, key: np.ndarray, n_keys: int):
        """Sums over cells sharing a key: (S0, S1, exposure, n_cells) per draw and key."""
        m = sp.csr_matrix((np.ones(key.size), (np.arange(key.size), key)), shape=(key.size, n_keys))
        s0 = np.asarray(self.mu0 @ m)
        s1 = np.asarray(self.mu1 @ m)
        expo = np.asarray(self.exposure @ m).ravel()
        n = np.asarray(np.ones(key.size) @ m).ravel()
        return s0, s1, expo, n

    def measures(
        self, key: np.ndarray, entity_of_key: np.ndarray, event_of_key: np.ndarray, n_keys: int
    ) -> dict:
        """Draws of every measure for each key (keys sorted by entity, then event time).

        ``cumulative`` adds up from the first effect event time; placebo keys add nothing.
        """
        s0, s1, expo, n = self.aggregate(key, n_keys)
        since = event_of_key >= self.first_effect_time
        if not self.count:
            absolute = (s1 - s0) / n
            return {
                "absolute": absolute,
                "cumulative": _cumulate(absolute * since, entity_of_key),
            }
        # per period: a binned event time (horizon) holds several periods of the same unit
        n_units = np.bincount(np.unique(np.c_[key, self.unit], axis=0)[:, 0], minlength=n_keys)
        absolute = (s1 - s0) / (n / n_units)
        return {
            "relative": s1 / s0 - 1.0,
            "absolute": absolute,
            "per_1000": 1000.0 * absolute / expo,
            "cumulative": _cumulate(absolute * since, entity_of_key),
        }


def _grouped_draws(cells: _CellDraws, entity: np.ndarray, labels):
    """Draws of every measure for entity x event time (entity = 0 for pooled)."""
    et = cells.event_time
    pairs, key = np.unique(np.c_[entity, et], axis=0, return_inverse=True)
    meas = cells.measures(key.ravel(), pairs[:, 0], pairs[:, 1], len(pairs))
    ids = [labels[i] for i in pairs[:, 0]] if labels is not None else [""] * len(pairs)
    return ids, pairs[:, 1], meas


def _grouped(cells: _CellDraws, entity: np.ndarray, labels, scope: str, level: float):
    """Tables for entity x event time (entity = 0 for pooled)."""
    ids, event_times, meas = _grouped_draws(cells, entity, labels)
    tables = []
    for m, d in meas.items():
        keep = event_times >= cells.first_effect_time if m == "cumulative" else slice(None)
        ids_m = np.asarray(ids, dtype=object)[keep]
        tables.append(_table(scope, ids_m, event_times[keep], m, d[:, keep], level))
    return tables


def estimand_draws(
    posterior: xr.Dataset, design: Design, spec: ModelSpec, *, scope: str = "pooled"
) -> tuple[list, np.ndarray, dict[str, np.ndarray]]:
    """Posterior draws (not summaries) of the ``pooled``, ``group`` or ``unit`` estimands.

    Returns
    -------
    ids : list
        Entity id per column (``""`` for pooled).
    event_times : numpy.ndarray
        Event time per column.
    draws : dict
        Measure -> (sample, column) array.
    """
    cells = _CellDraws(posterior, design, spec)
    p = design.panel
    if scope == "pooled":
        return _grouped_draws(cells, np.zeros(cells.unit.size, dtype=int), None)
    if scope == "group" and p.group_idx is not None:
        return _grouped_draws(cells, p.group_idx[cells.unit], [str(g) for g in p.group_labels])
    if scope == "unit":
        return _grouped_draws(cells, cells.unit, [str(u) for u in p.unit_labels])
    raise ValueError(f"scope must be pooled, group (with groups) or unit; got {scope!r}")


def predictive_tau(posterior: xr.Dataset, design: Design, rng: np.random.Generator) -> np.ndarray:
    """Draws of the log effect in a new site at the non-placebo event times.

    theta plus a new programme deviation and a new unit deviation, each drawn at the first
    effect time with the posterior start scale and walking on with the posterior step scale
    (per period: the per-year scale over sqrt(periods per year)); with effect modifiers,
    plus ``x . b(e)`` for the modifiers of a treated unit drawn at random.
    """
    from staggered.models.curves import steps_per_year

    post = design.event_times >= design.first_effect_time
    theta = _draws(posterior, "theta")[:, post]
    tau = theta.copy()
    step = 1.0 / np.sqrt(steps_per_year(design))  # step priors are per year of event time
    for level in ("group", "unit"):
        if f"sigma_{level}" in posterior:
            sd = np.repeat(_draws(posterior, f"sigma_{level}")[:, None] * step, theta.shape[1], 1)
            # fits saved before the start scale have none: their first step is a step
            if f"sigma_{level}_start" in posterior:
                sd[:, 0] = _draws(posterior, f"sigma_{level}_start")
            if level == "group":
                sd = sd * _new_programme_factor(posterior)
            tau += np.cumsum(sd * rng.standard_normal(theta.shape), axis=1)
    if "modifier_coef" in posterior:
        from staggered.modifier_effects import new_site_term

        tau += new_site_term(posterior, design, rng)
    return tau


def _new_programme_factor(posterior: xr.Dataset) -> float:
    """Standard deviation of a new programme's deviation from ``theta``, per programme scale.

    With zero-sum programme steps (:mod:`staggered.models.curves`; their ``delta_group_z`` has
    ``group`` last) ``theta`` is the mean of the G fitted programmes' curves, whose own centre
    the data never see: a new programme deviates from it by sd ``sigma * sqrt(1 + 1/G)``.
    Free steps (fits saved before session 10, joint models): ``theta`` is that centre, so 1.
    """
    from staggered.models.curves import zero_sum_programme_steps

    if not zero_sum_programme_steps(posterior):
        return 1.0
    return float(np.sqrt(1.0 + 1.0 / posterior.sizes["group"]))


def _predictive(cells: _CellDraws, posterior, design, level, rng) -> list[pd.DataFrame]:
    et_all = design.event_times[design.event_times >= design.first_effect_time]
    tau_new = predictive_tau(posterior, design, rng)
    post = cells.event_time >= design.first_effect_time
    key = np.searchsorted(et_all, cells.event_time[post])
    s0, _, expo, n = cells.aggregate_subset(post, key, et_all.size)
    seen = n > 0
    tau_new, s0, expo, n, et = tau_new[:, seen], s0[:, seen], expo[seen], n[seen], et_all[seen]
    entity = np.zeros(et.size, dtype=int)
    if not cells.count:
        meas = {"absolute": tau_new, "cumulative": _cumulate(tau_new, entity)}
    else:
        relative = np.expm1(tau_new)
        absolute = relative * s0 / n  # the average treated site at e
        meas = {
            "relative": relative,
            "absolute": absolute,
            "per_1000": 1000.0 * relative * s0 / expo,
            "cumulative": _cumulate(absolute, entity),
        }
    return [_table("predictive", [""] * et.size, et, m, d, level) for m, d in meas.items()]


def effects_table(
    posterior: xr.Dataset,
    design: Design,
    spec: ModelSpec,
    *,
    level: float = 0.9,
    random_seed: int | None = 0,
    scopes: tuple[str, ...] = SCOPES,
) -> pd.DataFrame:
    """Compute the effects table from posterior draws.

    Parameters
    ----------
    posterior : xarray.Dataset
        The ``posterior`` group of a fit (needs ``eta0``, ``tau``, ``theta``).
    design : Design
        The fit's design.
    spec : ModelSpec
        The fit's spec.
    level : float, default 0.9
        Mass of the equal-tailed intervals.
    random_seed : int, optional
        Seed for the new-site draws of the ``predictive`` scope.
    scopes : tuple of str
        Which scopes to compute.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome,scope,id,event_time,measure,mean,sd,lower,upper,level,
        prob_negative``: ``outcome`` names the outcome column (several with a joint fit of
        several outcomes, each summarised from its own variables).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s) {sorted(unknown)}; choose from {SCOPES}")
    names = outcome_names(design.panel)
    parts = [
        _outcome_effects(
            posterior_for_outcome(posterior, name) if len(names) > 1 else posterior,
            design_for_outcome(design, name),
            spec,
            level=level,
            random_seed=random_seed,
            scopes=scopes,
        ).assign(outcome=name)
        for name in names
    ]
    return sort_effects(pd.concat(parts, ignore_index=True))


def _outcome_effects(
    posterior: xr.Dataset,
    design: Design,
    spec: ModelSpec,
    *,
    level: float,
    random_seed: int | None,
    scopes: tuple[str, ...],
) -> pd.DataFrame:
    """The effects table of one outcome (no ``outcome`` column)."""
    cells = _CellDraws(posterior, design, spec)
    p = design.panel
    parts: list[pd.DataFrame] = []
    if "pooled" in scopes:
        parts += _grouped(cells, np.zeros(cells.unit.size, dtype=int), None, "pooled", level)
    if "predictive" in scopes and (design.event_times >= design.first_effect_time).any():
        rng = np.random.default_rng(random_seed)
        parts += _predictive(cells, posterior, design, level, rng)
    if "group" in scopes and p.group_idx is not None:
        labels = [str(g) for g in p.group_labels]
        parts += _grouped(cells, p.group_idx[cells.unit], labels, "group", level)
    if "unit" in scopes:
        labels = [str(u) for u in p.unit_labels]
        parts += _grouped(cells, cells.unit, labels, "unit", level)
    return pd.concat(parts, ignore_index=True)


def sort_effects(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in the contract's order: outcome (as first seen), scope, id, measure, event time."""
    order = {s: i for i, s in enumerate(SCOPES)}
    morder = {m: i for i, m in enumerate(MEASURES)}
    table = table.assign(
        _o=pd.factorize(table["outcome"])[0],
        _s=table["scope"].map(order),
        _m=table["measure"].map(morder),
    )
    table = table.sort_values(["_o", "_s", "id", "_m", "event_time"], kind="stable")
    return table.drop(columns=["_o", "_s", "_m"]).reset_index(drop=True)[COLUMNS]
