"""Declarative model specs (TOML files shipped in ``models/`` and inside the wheel)."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

LIKELIHOODS = ("negbin", "poisson", "normal")
CURVES = ("rw", "cohort")
POOLED_WALKS = ("auto", "centred", "non-centred")

DEFAULT_PRIORS = {
    "intercept_sd": 2.0,
    "unit_sd": 1.0,
    "period_sd": 0.5,
    "trend_sd": 0.01,
    "common_trend_sd": 0.05,
    "effect_start_sd": 0.1,
    "effect_step_sd": 0.05,
    "group_step_sd": 0.02,
    "unit_step_sd": 0.02,
    "group_start_sd": 0.05,
    "unit_start_sd": 0.05,
    "dispersion_sd": 0.1,
    "noise_sd": 0.5,
    "factor_sd": 0.05,
    "cohort_effect_sd": 1.0,
    "covariate_sd": 0.1,
    "modifier_step_sd": 0.02,
    "selection_shock_sd": 0.1,
    "season_sd": 0.1,
}


@dataclass(frozen=True)
class ModelSpec:
    """A model specification.

    Attributes
    ----------
    name : str
        Spec name (``negbin-rw``).
    likelihood : {"negbin", "poisson", "normal"}
        Outcome distribution. Count likelihoods use a log link with a log-exposure offset.
    unit_trend : bool
        Add shrunk unit-specific linear trends to the counterfactual.
    cohort_trends : bool
        Centre the unit trends on adoption-cohort means (zero-sum over cohorts, never-treated
        units form one cohort), so that a trend shared by a cohort is not forced into the
        effect curve. Needs ``unit_trend``.
    ar1 : bool
        Regression-to-the-mean guard: each cell's counterfactual log rate carries ``rho**k``
        times the unit's deviation from its expected untreated log rate in its previous
        observed period (``k`` periods earlier; the effect is removed on effect cells), so a
        high pre-adoption year is expected to revert.
    selection_shock : bool
        Model the selection of sites after a high year: the year before adoption (the last
        ``periods per year`` cells before the first effect time) of every adopting unit carries
        a pooled shift ``selection_shock ~ Normal(0, selection_shock_sd)``, so that year does
        not raise the unit's intercept and trend. With ``ar1`` the shift is part of the
        unit's deviation and so reverts after adoption at the learnt AR rate.
    selection_waves : bool
        With ``selection_shock``: one shift per adoption wave (``selection_shock`` over the
        ``selection_wave`` dim, each ``Normal(0, selection_shock_sd)``) instead of one pooled
        shift, for programmes whose waves were picked differently (early waves after a high
        year, the last wave every site left).
    unit_season : int
        Unit-specific seasonality: the number of annual harmonics (``cos`` and ``sin`` of
        ``2 pi h t``, ``t`` in years, ``h = 1..unit_season``) each unit gets on top of the
        period effects' common seasonality, with coefficients that sum to zero over units and
        are shrunk by ``sigma_season ~ HalfNormal(season_sd)``; 0 for none. Quarterly and
        monthly panels only (at most 2 harmonics a quarter, 6 a month).
    factors : int
        Number of latent factors (interactive fixed effects ``lambda_i . f_t``) in the
        counterfactual, with shrinkage on each factor's loadings; 0 for none.
    curve : {"rw", "cohort"}
        ``rw``: the pooled event-time curve is a random walk with programme and unit
        deviations (partial pooling). ``cohort``: one free effect per adoption cohort and event
        time, ``Normal(0, cohort_effect_sd)``, no smoothing and no shrinkage across cohorts or
        event times (the Callaway-Sant'Anna estimand; group and unit levels are ignored).
    group_level, unit_level : bool
        Programme- and unit-level deviations from the pooled event-time curve.
    group_zero_sum : bool
        Programme steps sum to zero across programmes (since session 10; ``theta`` is then the
        programmes' mean curve). False: free steps, as in fits saved before (``load`` tells
        them apart by the layout of their ``delta_group_z``).
    pooled_walk : {"auto", "centred", "non-centred"}
        How the sampler sees the pooled random walk ``theta``: its levels (``centred``: right
        where the data pin each level more tightly than the curve moves) or its start and
        standardised steps (``non-centred``: right where a level's noise exceeds the curve's
        steps, e.g. a flat curve, where the centred walk is a funnel for ``sigma_theta``).
        Same model. ``auto`` (the default): centred, and if that fit diverges, or samples on
        to ``max_draws`` without mixing, :func:`staggered.fit_design` refits non-centred and
        keeps the better fit (fewer divergences per draw run; or, after a failure to mix, the
        non-centred one if it does not diverge and mixes better). Models built directly take
        ``auto`` as centred.
    priors : dict
        Prior scales (see the spec files for their meaning).
    summary : str
        One-line description.
    """

    name: str
    likelihood: str = "negbin"
    unit_trend: bool = True
    cohort_trends: bool = False
    ar1: bool = False
    selection_shock: bool = False
    selection_waves: bool = False
    unit_season: int = 0
    factors: int = 0
    curve: str = "rw"
    group_level: bool = True
    unit_level: bool = True
    group_zero_sum: bool = True
    pooled_walk: str = "auto"
    priors: dict = field(default_factory=lambda: dict(DEFAULT_PRIORS))
    summary: str = ""
    card: str = ""

    @property
    def is_count(self) -> bool:
        """Whether the likelihood is for counts (log link, exposure offset)."""
        return self.likelihood in ("negbin", "poisson")

    def to_dict(self) -> dict:
        """Return the spec as a TOML-shaped dict (inverse of :func:`spec_from_dict`)."""
        return {
            "name": self.name,
            "likelihood": self.likelihood,
            "summary": self.summary,
            "card": self.card,
            "counterfactual": {
                "unit_trend": self.unit_trend,
                "cohort_trends": self.cohort_trends,
                "ar1": self.ar1,
                "selection_shock": self.selection_shock,
                "selection_waves": self.selection_waves,
                "unit_season": self.unit_season,
                "factors": self.factors,
            },
            "effect": {
                "curve": self.curve,
                "group_level": self.group_level,
                "unit_level": self.unit_level,
                "pooled_walk": self.pooled_walk,
                "group_zero_sum": self.group_zero_sum,
            },
            "priors": dict(self.priors),
        }

    def for_pretrend_check(self) -> ModelSpec:
        """The spec of the separate pre-trend check fit (fitting and loading alike).

        Without the selection shock: a high year before adoption is what the check must see.
        """
        return self.replace(selection_shock=False)

    def replace(self, **changes) -> ModelSpec:
        """Return a copy with some fields (or prior scales, via ``priors={...}``) changed."""
        d = copy.deepcopy(self.__dict__)
        priors = changes.pop("priors", None)
        d.update(changes)
        if priors:
            d["priors"] = {**d["priors"], **priors}
        return ModelSpec(**d)


def _flag(table: dict, section: str, key: str, default: bool) -> bool:
    """A true/false switch of the spec; anything but a boolean is refused, not coerced."""
    value = table.get(key, default)
    if isinstance(value, bool):
        return value
    import numpy as np  # only here: `staggered specs` should not pay for numpy

    if isinstance(value, np.bool_):
        return bool(value)
    raise ValueError(f"{section}.{key} must be true or false, got {value!r}")


def _count(table: dict, key: str, most: int) -> int:
    """An integer setting 0..``most`` of ``[counterfactual]``; booleans and floats refused."""
    value = table.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise ValueError(f"counterfactual.{key} must be an integer 0..{most}, got {value!r}")
    return int(value)


def _refuse_unknown(table: dict, allowed, what: str) -> None:
    """Raise naming every key of ``table`` outside ``allowed`` (``what`` names the kind)."""
    bad = set(table) - set(allowed)
    if bad:
        raise ValueError(f"unknown {what} {sorted(bad)}; allowed: {sorted(allowed)}")


def spec_from_dict(d: dict) -> ModelSpec:
    """Build a :class:`ModelSpec` from a parsed TOML dictionary, checking every key."""
    # the keys a spec may hold are those it writes (``to_dict``): one list to keep
    layout = ModelSpec(name="").to_dict()
    _refuse_unknown(d, layout, "spec keys")
    likelihood = d.get("likelihood", "negbin")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    cf = d.get("counterfactual", {})
    _refuse_unknown(cf, layout["counterfactual"], "counterfactual key(s)")
    factors = _count(cf, "factors", 5)
    unit_season = _count(cf, "unit_season", 6)
    eff = d.get("effect", {})
    _refuse_unknown(eff, layout["effect"], "effect key(s)")
    curve = eff.get("curve", "rw")
    if curve not in CURVES:
        raise ValueError(f"effect.curve must be one of {CURVES}, got {curve!r}")
    pooled_walk = eff.get("pooled_walk", "auto")
    if pooled_walk not in POOLED_WALKS:
        raise ValueError(f"effect.pooled_walk must be one of {POOLED_WALKS}, got {pooled_walk!r}")
    priors = dict(DEFAULT_PRIORS)
    _refuse_unknown(d.get("priors", {}), DEFAULT_PRIORS, "prior(s)")
    priors.update({k: float(v) for k, v in d.get("priors", {}).items()})
    return ModelSpec(
        name=str(d.get("name", "custom")),
        likelihood=likelihood,
        unit_trend=_flag(cf, "counterfactual", "unit_trend", True),
        cohort_trends=_flag(cf, "counterfactual", "cohort_trends", False),
        ar1=_flag(cf, "counterfactual", "ar1", False),
        selection_shock=_flag(cf, "counterfactual", "selection_shock", False),
        selection_waves=_flag(cf, "counterfactual", "selection_waves", False),
        unit_season=unit_season,
        factors=factors,
        curve=curve,
        group_level=_flag(eff, "effect", "group_level", True),
        unit_level=_flag(eff, "effect", "unit_level", True),
        pooled_walk=pooled_walk,
        group_zero_sum=_flag(eff, "effect", "group_zero_sum", True),
        priors=priors,
        summary=str(d.get("summary", "")),
        card=str(d.get("card", "")),
    )


def _spec_dir() -> Path:
    """Folder of the shipped specs: inside the wheel, or ``models/`` in a source checkout."""
    packaged = resources.files("staggered") / "specs"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "models"


def available_specs() -> list[str]:
    """Names of the shipped model specs."""
    return sorted(p.stem for p in _spec_dir().glob("*.toml"))


def load_spec(model: str | Path | ModelSpec | dict) -> ModelSpec:
    """Load a model spec by shipped name (``"negbin-rw"``), path to a TOML file, or dict.

    Parameters
    ----------
    model : str, Path, ModelSpec or dict
        Spec name, path, an existing spec (returned as is) or a TOML-shaped dict.

    Returns
    -------
    ModelSpec
    """
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, dict):
        return spec_from_dict(model)
    path = Path(model)
    if path.suffix != ".toml" or not path.exists():
        shipped = _spec_dir() / f"{model}.toml"
        if not shipped.exists():
            raise ValueError(
                f"unknown model {str(model)!r}: not a shipped spec ({', '.join(available_specs())})"
                " nor a path to a .toml spec file"
            )
        path = shipped
    with path.open("rb") as fh:
        return spec_from_dict(tomllib.load(fh))
