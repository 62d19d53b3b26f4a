"""Sample a model with NUTS (nutpie with a low-rank mass matrix by default) and wrap the result."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

# first: sets the XLA flags for parallel chains before anything loads JAX
from staggered.sampling import SAMPLERS, sample_model

# isort: split
import arviz as az
import numpy as np
import pandas as pd

from staggered.data import Panel, encode_panel
from staggered.design import Design, fit_designs
from staggered.diagnostics import (
    SamplingWarning,
    _warn_on_problems,
    diagnose,
    find_problems,
    problems_text,
)
from staggered.effects import effects_table, sort_effects
from staggered.guard import guard_lines
from staggered.models import ModelSpec, build_model, load_spec

__all__ = ["SAMPLERS", "Fit", "SamplingWarning", "diagnose", "fit", "fit_design"]


@dataclass
class Fit:
    """A fitted model: posterior draws plus everything needed to interpret them.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior draws with named dims (``unit``, ``period``, ``event_time``, ...).
    design : Design
        The encoded panel and its event-time design.
    spec : ModelSpec
        The model spec that was fitted.
    config : dict
        Column roles, sampler settings and seed (stored with the fit).
    diagnostics : dict
        Max R-hat, min bulk/tail ESS, divergences, tree depth, sampler, seconds.
    pretrend : Fit or None
        The separate pre-trend check fit (untreated cells only, placebo effects).
    source_panel : Panel or None
        The whole encoded panel (the estimation design may leave cells out).
    """

    idata: az.InferenceData
    design: Design
    spec: ModelSpec
    config: dict
    diagnostics: dict = field(default_factory=dict)
    pretrend: Fit | None = None
    # the encoded panel before any cells were left out of the estimation fit
    source_panel: Panel | None = None
    # effects tables already computed from these draws (fit writes a table, figures, report)
    _effects_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # --- repr (issue 12 part 6): one line, no arrays ------------------------------------------
    def __repr__(self) -> str:
        """Spec, panel size, cohorts, draws and convergence, e.g. ``<Fit negbin-rw: ...>``."""
        from staggered.diagnostics import find_problems

        p = self.panel
        d = self.diagnostics
        cohorts = len(set(p.adoption_idx[p.adoption_idx >= 0].tolist()))
        draws = f"{d.get('chains', '?')} chains x {d.get('draws', '?')} draws"
        problems = find_problems(d)
        status = "converged" if not problems else "NOT CONVERGED (" + "; ".join(problems) + ")"
        check = "" if self.pretrend is None else ", with pre-trend check fit"
        return (
            f"<Fit {self.spec.name}: {p.n_units} units, {p.n_periods} periods "
            f"({p.period_labels[0]} to {p.period_labels[-1]}), {cohorts} cohorts, "
            f"{draws}, {status}{check}>"
        )

    @property
    def panel(self) -> Panel:
        """The validated panel."""
        return self.design.panel

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The outcome columns fitted (one, or several fitted jointly)."""
        from staggered.outcomes import outcome_names

        return outcome_names(self.panel)

    def outcome_fit(self, outcome: str) -> Fit:
        """One outcome's view of a joint fit, read like a fit of that outcome alone.

        Its posterior holds that outcome's variables without their ``"outcome::"`` prefix and
        its panel that outcome's counts and exposure, so every single-outcome tool (figures,
        :meth:`pretrends`, :mod:`staggered.compare`) works on it. A single-outcome fit is its
        own view.

        Parameters
        ----------
        outcome : str
            One of :attr:`outcomes`.

        Returns
        -------
        Fit
        """
        from staggered.outcomes import outcome_view

        return outcome_view(self, outcome)

    def joint(self, *, level: float | None = None):
        """Joint estimands of a fit of several outcomes (see :func:`joint_table`).

        P(reduction in both), P(reduction in one but not the other), the difference between
        the outcomes' relative effects, and the correlation of site effects, pooled and per
        site.

        Returns
        -------
        pandas.DataFrame
        """
        from staggered.joint_effects import joint_table

        level = self.config.get("level", 0.9) if level is None else level
        key = ("joint", level)
        if key not in self._effects_cache:  # the report and figures ask for it several times
            self._effects_cache[key] = joint_table(self, level=level)
        return self._effects_cache[key].copy()

    def effects(self, *, level: float | None = None, scopes=None) -> pd.DataFrame:
        """Posterior effects table (DESIGN output contract), one block per outcome.

        Parameters
        ----------
        level : float, optional
            Interval mass; default the fit's ``level`` (0.9).
        scopes : tuple of str, optional
            Subset of ``("pooled", "predictive", "group", "unit")``.

        Returns
        -------
        pandas.DataFrame
        """
        kwargs = {} if scopes is None else {"scopes": tuple(scopes)}
        level = self.config.get("level", 0.9) if level is None else level
        seed = self.config.get("random_seed")
        key = (level, seed, kwargs.get("scopes"))
        if key not in self._effects_cache:
            table = effects_table(
                self.idata.posterior,
                self.design,
                self.spec,
                level=level,
                random_seed=seed,
                **kwargs,
            )
            if self.pretrend is not None:  # placebo rows come from the separate check
                placebo = self.pretrend.effects(level=level, scopes=scopes)
                table = sort_effects(pd.concat([placebo, table], ignore_index=True))
            self._effects_cache[key] = table
        return self._effects_cache[key].copy()

    def modifiers(self, *, level: float | None = None) -> pd.DataFrame:
        """Effect modifiers by event time: coefficients and the variance share they explain.

        Needs a fit made with ``modifiers=[...]``; see
        :func:`staggered.modifier_effects.modifiers_table` for the columns and measures.

        Returns
        -------
        pandas.DataFrame
        """
        from staggered.modifier_effects import modifiers_table

        level = self.config.get("level", 0.9) if level is None else level
        if len(self.outcomes) > 1:  # one block per outcome, named in a first column
            parts = [
                self.outcome_fit(name).modifiers(level=level).assign(outcome=name)
                for name in self.outcomes
            ]
            table = pd.concat(parts, ignore_index=True)
            return table[["outcome", *table.columns[:-1]]]
        return modifiers_table(self.idata.posterior, self.design, self.spec, level=level)

    def pretrends(self, *, rope: float = 0.02, level: float | None = None):
        """Pre-trend check: the pooled placebo effects of the separate check fit.

        Needs a fit made with ``placebo > 0`` (the default).

        Returns
        -------
        staggered.checks.PretrendCheck
        """
        from staggered.checks import pretrend_check

        self._one_outcome("pretrends")
        return pretrend_check(self, rope=rope, level=level)

    def sensitivity(self, *, level: float | None = None) -> pd.DataFrame:
        """Breakdown multiplier M of each pooled effect (see :func:`breakdown_sensitivity`).

        Returns
        -------
        pandas.DataFrame
        """
        from staggered.checks import breakdown_sensitivity

        self._one_outcome("sensitivity")
        return breakdown_sensitivity(self, level=level)

    def _one_outcome(self, method: str) -> None:
        """Refuse a one-outcome method on a joint fit, naming the per-outcome call."""
        if len(self.outcomes) > 1:
            raise ValueError(
                f"this fit has {len(self.outcomes)} outcomes ({', '.join(self.outcomes)}): "
                f"call fit.outcome_fit(name).{method}() for one of them"
            )

    def save(self, path: str | Path) -> Path:
        """Save to netCDF (reload with :func:`staggered.load`)."""
        from staggered.io import save

        return save(self, path)

    def summary(self) -> str:
        """A few lines: the panel, the model, the sampler and its diagnostics."""
        warning = problems_text(self.diagnostics)
        lines = [warning] if warning else []
        lines += [
            self.panel.summary(),
            f"model: {self.spec.name} ({self.spec.likelihood}); "
            f"anticipation={self.design.anticipation}, horizon={self.design.horizon}, "
            f"placebo={self.config.get('placebo', 0)} (pre-trend check, fitted apart), "
            f"comparison={self.design.comparison}",
            "estimation: " + _sampler_line(self.diagnostics),
        ]
        lines += guard_lines(self.idata.posterior, self.config.get("level", 0.9))
        if self.pretrend is not None:
            check_warning = problems_text(self.pretrend.diagnostics)
            if check_warning:
                lines.append("pre-trend check: " + check_warning)
            lines.append("pre-trend check fit: " + _sampler_line(self.pretrend.diagnostics))
        return "\n".join(lines)


def _sampler_line(d: dict) -> str:
    return (
        f"{d.get('sampler')} {d.get('chains')} chains x {d.get('draws')} draws "
        f"({d.get('tune')} tune) in {d.get('seconds', float('nan')):.1f} s; "
        f"max R-hat {d.get('max_rhat', float('nan')):.3f}, "
        f"min ESS bulk {d.get('min_ess_bulk', float('nan')):.0f} / "
        f"tail {d.get('min_ess_tail', float('nan')):.0f}, "
        f"divergences {d.get('divergences')}, "
        f"mean tree depth {d.get('mean_tree_depth', float('nan')):.1f}"
    )


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
    pm_model = build_model(design, spec, prior_loc=prior_loc, prior_scale=prior_scale)
    idata, seconds = sample_model(
        pm_model,
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        sampler=sampler,
        random_seed=random_seed,
        progressbar=progressbar,
    )
    diag = diagnose(idata)
    diag.update({"sampler": sampler, "tune": tune, "seconds": round(seconds, 2)})
    diag["problems"] = _warn_on_problems(diag) if warn else find_problems(diag)
    cfg = design.to_dict()
    cfg.update(
        {
            "model": spec.name,
            "draws": draws,
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
        NUTS settings.
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
