"""Sample a model with NUTS (nutpie with a low-rank mass matrix by default) and wrap the result.

:func:`fit` validates and encodes a panel, builds its designs and samples them;
:func:`fit_design` samples one built design. The result class :class:`Fit` lives in
:mod:`staggered.fit_result` and is importable from here.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

# first: sets the XLA flags for parallel chains before anything loads JAX
from staggered.sampling import SAMPLERS, sample_model
from staggered.sampling_nutpie import default_max_draws

# isort: split
import numpy as np
import pandas as pd

from staggered.data import encode_panel
from staggered.design import Design, fit_designs
from staggered.diagnostics import (
    SamplingWarning,
    _warn_on_problems,
    diagnose,
    divergence_count,
    draws_run,
    find_problems,
    mixing_ok,
)
from staggered.fit_result import Fit
from staggered.models import ModelSpec, build_model, load_spec

if TYPE_CHECKING:
    import arviz as az

__all__ = ["SAMPLERS", "Fit", "SamplingWarning", "diagnose", "fit", "fit_design"]


def fit_design(
    design: Design,
    model: str | ModelSpec = "negbin-rw",
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    sampler: str = "nutpie",
    random_seed: int | None = None,
    level: float = 0.9,
    progressbar: bool = True,
    prior_loc: float | None = None,
    prior_scale: float | None = None,
    config: dict | None = None,
    warn: bool = True,
    max_draws: int | None = None,
) -> Fit:
    """Fit a model to an already built design (used by :func:`fit` and by SBC).

    See :func:`fit` for the parameters.
    """
    spec = load_spec(model)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if draws < 1 or tune < 0 or chains < 1:
        raise ValueError(
            f"need draws >= 1, tune >= 0 and chains >= 1; got draws={draws}, tune={tune}, "
            f"chains={chains}"
        )
    if spec.is_count and design.panel.family != "count":
        raise ValueError(f"model {spec.name!r} needs count outcomes; use 'normal-rw'")
    if random_seed is None:
        random_seed = int(np.random.default_rng().integers(2**31 - 1))
    if max_draws is None:
        max_draws = default_max_draws(draws, chains) if sampler == "nutpie" else draws
    sampling = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "target_accept": target_accept,
        "sampler": sampler,
        "random_seed": random_seed,
        "progressbar": progressbar,
        "max_draws": max_draws,
    }
    priors = {"prior_loc": prior_loc, "prior_scale": prior_scale}
    idata, seconds, walk, spec, diag = _sample_with_walk_fallback(design, spec, priors, sampling)
    diag = dict(diag) if diag is not None else diagnose(idata)
    diag.update({"sampler": sampler, "tune": tune, "seconds": round(seconds, 2), **walk})
    diag["problems"] = _warn_on_problems(diag) if warn else find_problems(diag)
    cfg = design.to_dict()
    cfg.update(
        {
            "model": spec.name,
            "draws": draws,
            "max_draws": max_draws,
            "tune": tune,
            "chains": chains,
            "target_accept": target_accept,
            "sampler": sampler,
            "random_seed": random_seed,
            "level": level,
            "prior_loc": prior_loc,
            "prior_scale": prior_scale,
            **(config or {}),
        }
    )
    return Fit(idata=idata, design=design, spec=spec, config=cfg, diagnostics=diag)


def _sample_with_walk_fallback(
    design: Design, spec: ModelSpec, priors: dict, sampling: dict
) -> tuple[az.InferenceData, float, dict, ModelSpec, dict | None]:
    """Sample ``spec``; under ``pooled_walk="auto"`` refit non-centred after a poor centred fit.

    Poor: it diverged, or it sampled on to ``max_draws`` (more than ``draws``) and still did
    not mix (R-hat or ESS failing). The two walks are one model
    (:mod:`staggered.models.curves`); which one NUTS can explore depends on the panel: centred
    diverges, or mixes too slowly for R-hat and ESS to pass, where ``sigma_theta`` heads to zero
    (a flat pooled curve, noisy levels); non-centred diverges where the data pin levels that
    move (``docs/validation.md``, sessions 10 and 19). The centred fit stops sampling on at its
    first checkpoint with a divergence (it will be refitted; more draws cannot remove a
    divergence). After divergences, the fit with fewer divergences per draw run is kept (a tie
    keeps the centred one). After a centred fit that did not mix, the non-centred one is kept
    if it has no divergence and either mixes or, neither mixing, is no worse on R-hat and on
    bulk ESS and better on one. A fit without sampling on (``max_draws == draws``: a short
    quick-look fit) is not refitted for mixing: more draws come first.

    Returns the posterior, the sampling seconds of both fits, the diagnostics entries
    ``pooled_walk`` (the form kept) and, after a refit, ``walk_refit`` (``"divergences"`` or
    ``"mixing"``: why), ``walk_divergences``, ``walk_draws_run`` (divergences and draws run
    per chain of each form) and, after a mixing refit, ``walk_max_rhat`` and
    ``walk_min_ess_bulk`` (each form's worst), the spec with the form kept (so a saved fit
    rebuilds the model it sampled), and the kept fit's
    :func:`~staggered.diagnostics.diagnose` where it was computed here (else None).
    """
    auto = spec.pooled_walk == "auto"
    first_spec = spec.replace(pooled_walk="centred") if auto else spec
    # a centred fit that diverges is refitted anyway: no need to sample it on
    idata, seconds = sample_model(
        build_model(design, first_spec, **priors), **sampling, stop_on_divergence=auto
    )
    kept = {"pooled_walk": first_spec.pooled_walk}
    n_walk = design.event_times.size - design.placebo
    if not auto or spec.curve != "rw" or n_walk < 2:
        return idata, seconds, kept, first_spec, None
    first = divergence_count(idata.get("sample_stats"))
    if not first and sampling["max_draws"] <= sampling["draws"]:
        return idata, seconds, kept, first_spec, None
    first_diag = None if first else diagnose(idata)
    if not first and mixing_ok(first_diag):
        return idata, seconds, kept, first_spec, first_diag
    other = spec.replace(pooled_walk="non-centred")
    refit, more = sample_model(build_model(design, other, **priors), **sampling)
    second = divergence_count(refit.get("sample_stats"))
    runs = {
        "centred": draws_run(idata.get("sample_stats")),
        "non-centred": draws_run(refit.get("sample_stats")),
    }
    counts = {
        "walk_refit": "divergences" if first else "mixing",
        "walk_divergences": {"centred": first, "non-centred": second},
        "walk_draws_run": runs,
    }
    second_diag = None
    if first:
        # the centred fit may have stopped early: compare divergences per draw run
        better = second * runs["centred"] < first * runs["non-centred"]
    else:
        second_diag = diagnose(refit)
        pair = {"centred": first_diag, "non-centred": second_diag}
        counts["walk_max_rhat"] = {k: d["max_rhat"] for k, d in pair.items()}
        counts["walk_min_ess_bulk"] = {k: d["min_ess_bulk"] for k, d in pair.items()}
        better = not second and (mixing_ok(second_diag) or _mixes_better(second_diag, first_diag))
    if better:
        return refit, seconds + more, {"pooled_walk": "non-centred", **counts}, other, second_diag
    return idata, seconds + more, {**kept, **counts}, first_spec, first_diag


def _mixes_better(a: dict, b: dict) -> bool:
    """Whether fit ``a`` mixed better than ``b``: no worse on both, better on one.

    Compared: worst R-hat and min bulk ESS; a NaN (R-hat of one chain) compares as no better.
    """
    rhat = (a["max_rhat"], b["max_rhat"])
    ess = (a["min_ess_bulk"], b["min_ess_bulk"])
    if any(v is None or not np.isfinite(v) for v in (*rhat, *ess)):
        return False
    return rhat[0] <= rhat[1] and ess[0] >= ess[1] and (rhat[0] < rhat[1] or ess[0] > ess[1])


def fit(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str | list[str],
    exposure: str | list[str] | None = None,
    adoption: str | None = None,
    treated: str | None = None,
    group: str | None = None,
    covariates: list[str] | None = None,
    modifiers: list[str] | None = None,
    model: str | ModelSpec = "negbin-rw",
    anticipation: int = 0,
    horizon: int | None = None,
    placebo: int = 3,
    comparison: str = "not-yet-treated",
    drop_always_treated: bool = False,
    freq: str | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    sampler: str = "nutpie",
    random_seed: int | None = None,
    level: float = 0.9,
    progressbar: bool = True,
    max_draws: int | None = None,
) -> Fit:
    """Fit a hierarchical staggered-rollout model to a long panel.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit x period (see the data contract in the docs).
    unit, time : str
        Column names of the unit id and the period.
    outcome : str or list of str
        The outcome column, or several (``["emergency_admissions", "ae_attendances"]``) fitted
        jointly: each keeps its own counterfactual and pooled curve, and the site (and
        programme) deviations are correlated across outcomes (:mod:`staggered.models.joint`).
        :meth:`Fit.effects` then has rows for every outcome, :meth:`Fit.joint` the joint
        estimands and :meth:`Fit.outcome_fit` each outcome's view.
    exposure : str or list of str, optional
        Population (or other exposure) column; enters as a log offset. With several outcomes
        one shared column or one per outcome.
    adoption : str, optional
        First treated period of each unit (empty = never treated).
    treated : str, optional
        0/1 treatment column instead of ``adoption`` (must switch on once and stay on).
    group : str, optional
        Programme column for a second pooling level.
    covariates : list of str, optional
        Numeric columns (time-varying or constant within a unit, e.g. ``["age75_share",
        "imd_score"]``) that the counterfactual adjusts for, each standardised over the
        comparison cells with a coefficient ``covariate_coef ~ Normal(0, covariate_sd)``
        (log-rate change per sd; prior ``covariate_sd``, default 0.1). They never enter the
        effect. One that shifts at adoption in treated units raises a ``CovariateWarning``
        (a possible bad control, see the data docs).
    modifiers : list of str, optional
        Effect modifiers: numeric columns with one value per unit (e.g. ``["baseline_rate",
        "imd_score"]``) that predict how sites' effects differ. Standardised over the treated
        units, they enter the effect curve as ``x_i . b(e)``, with a shrunk coefficient curve
        ``b(e)`` per modifier (prior ``modifier_step_sd``); see :meth:`Fit.modifiers`. Needs
        a random-walk model (not ``curve="cohort"``).
    model : str or ModelSpec, default "negbin-rw"
        Shipped spec name, a path to a TOML spec, or a :class:`ModelSpec`.
    anticipation : int, default 0
        Periods before adoption that get their own effects instead of serving as comparison.
    horizon : int, optional
        Bin event times beyond ``horizon``.
    placebo : int, default 3
        Pre-trend check: a separate fit on untreated cells only in which each treated
        unit's last ``placebo`` pre-adoption periods get placebo effects (reported with
        negative event times in :meth:`Fit.effects`; see :meth:`Fit.pretrends`). The estimation
        fit never has placebo cells: every untreated cell informs the counterfactual. 0 skips
        the check.
    comparison : {"not-yet-treated", "never-treated"}, default "not-yet-treated"
        Units whose cells inform the period effects of the counterfactual.
        ``"never-treated"`` keeps one base cell per treated unit (its last period before
        adoption and any anticipation window) and leaves its other pre-adoption periods out
        of the estimation fit, so that only never-treated units inform the period effects.
        Treated units then follow the common trend (one base cell cannot identify their own).
    drop_always_treated : bool, default False
        Drop units treated from the first period (listed in the summary) instead of failing.
    freq : {"year", "quarter", "month", "fy", "fq"}, optional
        Panel frequency, passed to :func:`~staggered.data.encode_panel`; inferred from the time
        column if omitted. ``"fy"`` also reads int years as the financial years starting in
        April of that year (``2015`` is 2015/16).
    draws, tune, chains : int
        NUTS settings: ``draws`` is the number of draws kept per chain.
    max_draws : int, optional
        Sample on, up to this many draws per chain, until R-hat and bulk and tail ESS pass the
        thresholds (checked every ``draws / 2``), then keep ``draws`` per chain evenly spaced
        over all draws run; divergences are counted over every draw run. Default: three
        times ``draws`` for a fit of reportable size (``chains * draws >= 1600``, the default
        4 x 1000 included) with nutpie, else ``draws`` (no extension). ``max_draws=draws``
        switches it off; other samplers cannot extend.
    target_accept : float, default 0.9
        NUTS target acceptance rate.
    sampler : {"nutpie", "numpyro", "blackjax", "pymc"}
        NUTS implementation. ``"nutpie"`` (default) adapts a low-rank mass matrix, which
        follows the posterior's few strongly correlated directions and needs far fewer
        leapfrog steps per draw on these models (``docs/performance.md``); ``"numpyro"`` runs
        chains vectorised on one accelerator (use it on a GPU).
    random_seed : int, optional
        Seed; the same seed gives identical draws and effects.
    level : float, default 0.9
        Interval mass for :meth:`Fit.effects`.
    progressbar : bool, default True
        Show the sampler's progress bar.

    Returns
    -------
    Fit
    """
    spec = load_spec(model)
    panel = encode_panel(
        data,
        unit=unit,
        time=time,
        outcome=outcome,
        exposure=exposure,
        adoption=adoption,
        treated=treated,
        group=group,
        family="count" if spec.is_count else "gaussian",
        drop_always_treated=drop_always_treated,
        freq=freq,
        covariates=covariates,
        modifiers=modifiers,
    )
    design, check_design = fit_designs(
        panel,
        anticipation=anticipation,
        horizon=horizon,
        placebo=placebo,
        comparison=comparison,
    )
    settings = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        sampler=sampler,
        random_seed=random_seed,
        level=level,
        progressbar=progressbar,
        max_draws=max_draws,
        config={
            "placebo": placebo,
            "covariates": [str(c) for c in panel.covariate_names],
            "modifiers": [str(c) for c in panel.modifier_names],
            "outcomes": [str(c) for c in panel.outcome_names],
        },
    )
    result = fit_design(design, spec, **settings)
    result.source_panel = panel
    if check_design is not None:
        settings["random_seed"] = result.config["random_seed"]
        check_spec = spec.for_pretrend_check()
        result.pretrend = fit_design(check_design, check_spec, warn=False, **settings)
        for problem in result.pretrend.diagnostics["problems"]:
            warnings.warn(
                f"Sampling problem in the pre-trend check fit: {problem}.",
                SamplingWarning,
                stacklevel=2,
            )
    return result
