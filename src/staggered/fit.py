"""Sample a model with NUTS (numpyro on JAX by default) and wrap the result."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm

from staggered.data import Panel, encode_panel
from staggered.design import Design, build_design
from staggered.diagnostics import SamplingWarning, _warn_on_problems, diagnose
from staggered.effects import effects_table
from staggered.models import ModelSpec, build_model, load_spec

SAMPLERS = ("numpyro", "blackjax", "nutpie", "pymc")
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
        Max R-hat, min bulk/tail ESS, divergences, sampler, seconds.
    """

    idata: az.InferenceData
    design: Design
    spec: ModelSpec
    config: dict
    diagnostics: dict = field(default_factory=dict)
    # effects tables already computed from these draws (fit writes a table, figures, report)
    _effects_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def panel(self) -> Panel:
        """The validated panel."""
        return self.design.panel

    def effects(self, *, level: float | None = None, scopes=None) -> pd.DataFrame:
        """Posterior effects table (DESIGN output contract).

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
            self._effects_cache[key] = effects_table(
                self.idata.posterior,
                self.design,
                self.spec,
                level=level,
                random_seed=seed,
                **kwargs,
            )
        return self._effects_cache[key].copy()

    def pretrends(self, *, rope: float = 0.02, level: float | None = None):
        """Pre-trend check from the pooled placebo effects (needs ``placebo > 0``).

        Returns
        -------
        staggered.checks.PretrendCheck
        """
        from staggered.checks import pretrend_check

        return pretrend_check(self, rope=rope, level=level)

    def sensitivity(self, *, level: float | None = None) -> pd.DataFrame:
        """Breakdown multiplier M of each pooled effect (see :func:`breakdown_sensitivity`).

        Returns
        -------
        pandas.DataFrame
        """
        from staggered.checks import breakdown_sensitivity

        return breakdown_sensitivity(self, level=level)

    def save(self, path: str | Path) -> Path:
        """Save to netCDF (reload with :func:`staggered.load`)."""
        from staggered.io import save

        return save(self, path)

    def summary(self) -> str:
        """A few lines: the panel, the model, the sampler and its diagnostics."""
        d = self.diagnostics
        lines = [
            self.panel.summary(),
            f"model: {self.spec.name} ({self.spec.likelihood}); "
            f"anticipation={self.design.anticipation}, horizon={self.design.horizon}, "
            f"placebo={self.design.to_dict()['placebo']}, comparison={self.design.comparison}",
            f"sampler: {d.get('sampler')} {d.get('chains')} chains x {d.get('draws')} draws "
            f"({d.get('tune')} tune) in {d.get('seconds', float('nan')):.1f} s; "
            f"max R-hat {d.get('max_rhat', float('nan')):.3f}, "
            f"min ESS bulk {d.get('min_ess_bulk', float('nan')):.0f} / "
            f"tail {d.get('min_ess_tail', float('nan')):.0f}, "
            f"divergences {d.get('divergences')}",
        ]
        return "\n".join(lines)


def sample_model(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    target_accept: float,
    sampler: str,
    random_seed: int,
    progressbar: bool,
) -> tuple[az.InferenceData, float]:
    """Run NUTS on a built model; return the InferenceData and wall-clock seconds."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    kwargs: dict = {}
    if sampler in ("numpyro", "blackjax"):
        kwargs["nuts_sampler_kwargs"] = {"chain_method": "parallel"}
    start = time.perf_counter()
    with model, warnings.catch_warnings():
        # PyMC's own convergence messages are replaced by ours (diagnose/_warn_on_problems)
        warnings.filterwarnings("ignore", message=".*The number of samples is too small.*")
        # harmless JAX notice from PyMC's post-processing on CPU
        warnings.filterwarnings("ignore", message="Some donated buffers were not usable")
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            target_accept=target_accept,
            nuts_sampler=sampler,
            random_seed=random_seed,
            progressbar=progressbar,
            compute_convergence_checks=False,
            idata_kwargs={"log_likelihood": False},
            **kwargs,
        )
    return idata, time.perf_counter() - start


def fit_design(
    design: Design,
    model: str | ModelSpec = "negbin-rw",
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    sampler: str = "numpyro",
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
    diag["problems"] = _warn_on_problems(diag) if warn else []
    cfg = dict(config or {})
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
            **design.to_dict(),
        }
    )
    return Fit(idata=idata, design=design, spec=spec, config=cfg, diagnostics=diag)


def fit(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    exposure: str | None = None,
    adoption: str | None = None,
    treated: str | None = None,
    group: str | None = None,
    model: str | ModelSpec = "negbin-rw",
    anticipation: int = 0,
    horizon: int | None = None,
    placebo: int = 3,
    comparison: str = "not-yet-treated",
    drop_always_treated: bool = False,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    sampler: str = "numpyro",
    random_seed: int | None = None,
    level: float = 0.9,
    progressbar: bool = True,
) -> Fit:
    """Fit a hierarchical staggered-rollout model to a long panel.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit x period (see the data contract in the docs).
    unit, time, outcome : str
        Column names of the unit id, the period and the outcome.
    exposure : str, optional
        Population (or other exposure) column; enters as a log offset.
    adoption : str, optional
        First treated period of each unit (empty = never treated).
    treated : str, optional
        0/1 treatment column instead of ``adoption`` (must switch on once and stay on).
    group : str, optional
        Programme column for a second pooling level.
    model : str or ModelSpec, default "negbin-rw"
        Shipped spec name, a path to a TOML spec, or a :class:`ModelSpec`.
    anticipation : int, default 0
        Periods before adoption that get their own effects instead of serving as comparison.
    horizon : int, optional
        Bin event times beyond ``horizon``.
    placebo : int, default 3
        Pre-adoption event times given placebo effects (reported with negative event times;
        see :meth:`Fit.pretrends`). Each unit's earliest period stays a comparison cell.
        0 switches the check off.
    comparison : {"not-yet-treated", "never-treated"}, default "not-yet-treated"
        Units whose cells inform the period effects of the counterfactual.
        ``"never-treated"`` keeps one base cell per treated unit (the last one before the
        placebo window) and gives its other pre-adoption cells placebo effects, so that only
        never-treated units inform the period effects. Treated units' own trends are then
        switched off (one base cell cannot identify them); see the checks docs.
    drop_always_treated : bool, default False
        Drop units treated from the first period (listed in the summary) instead of failing.
    draws, tune, chains : int
        NUTS settings.
    target_accept : float, default 0.9
        NUTS target acceptance rate.
    sampler : {"numpyro", "blackjax", "nutpie", "pymc"}
        NUTS implementation.
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
    )
    design = build_design(
        panel,
        anticipation=anticipation,
        horizon=horizon,
        placebo=placebo,
        comparison=comparison,
    )
    return fit_design(
        design,
        spec,
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        sampler=sampler,
        random_seed=random_seed,
        level=level,
        progressbar=progressbar,
    )
