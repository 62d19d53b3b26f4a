"""Save and load fits: one netCDF file with the posterior, the encoded panel and the spec."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr

from staggered.data import Panel
from staggered.design import fit_designs
from staggered.diagnostics import SIGNED_SUFFIX, is_cell_var, warn_unconverged
from staggered.fit_result import Fit
from staggered.models import spec_from_dict

_PANEL_CELL = ("unit_idx", "period_idx", "y", "exposure")
FORMAT = 3  # 2: estimation and pre-trend check fitted apart; 3: cell quantities recomputed
OLDEST_READABLE = 2  # format 1 fits carried placebo cells in the estimation fit
# deterministics nothing reads from a loaded fit
_NOT_SAVED = ("unit_effect", "delta_group", "gamma", "beta")


def _compact(posterior: xr.Dataset, design, spec, config: dict) -> xr.Dataset:
    """Posterior to store: float32 (ample for log rates), without cell-level deterministics.

    ``eta0`` and ``tau`` are left out when the free parameters they are computed from are all
    there (a real fit); :func:`_restore` recomputes them on load.
    """
    # the cell-level deterministics (eta0, tau: 90% of the file) are recomputed on load
    recomputed = bool(_free_names(posterior, _model(design, spec, config)))
    # a joint fit's variables are prefixed with their outcome ("ae_attendances::eta0")
    # and without the sampler's transformed copies ("sigma_unit_log__"): the draws are there
    # on their own scale
    keep = posterior.drop_vars(
        [
            v
            for v in posterior.data_vars
            if _base(v) in _NOT_SAVED or (recomputed and is_cell_var(v)) or str(v).endswith("__")
        ]
    )
    return keep.map(lambda v: v.astype(np.float32) if v.dtype == np.float64 else v)


# draws are stored as 16-bit integers where the step that needs is under this share of the
# variable's smallest posterior sd (its Monte Carlo error is ~1/sqrt(ESS) of the sd, 30x more)
_PACK_ERROR = 1e-3


# suffix of the stored per-element posterior means of a centred variable ("alpha__centre")
_CENTRE = "__centre"


def _packing(values: np.ndarray) -> dict | None:
    """CF int16 packing of ``values`` (chain, draw, ...), or None where it would be too coarse.

    The step (``scale_factor``) is the range / 65,000; it must be at most ``_PACK_ERROR`` of
    the smallest posterior sd of any element. The rounding error of a packed draw is at most
    half a step, so a loaded fit's summaries differ from the fitted one's by less than 0.0005
    posterior sds.
    """
    if not np.issubdtype(values.dtype, np.floating) or values.ndim < 2 or not values.size:
        return None
    if not np.isfinite(values).all():
        return None
    lo, hi = float(values.min()), float(values.max())
    min_sd = float(np.min(values.reshape(-1, *values.shape[2:]).std(axis=0)))
    step = (hi - lo) / 65000.0
    if not (hi > lo and min_sd > 0 and step <= _PACK_ERROR * min_sd):
        return None
    return {
        "dtype": "int16",
        "scale_factor": step,
        "add_offset": (hi + lo) / 2.0,
        "_FillValue": np.int16(-32768),
    }


def _packed(posterior: xr.Dataset) -> tuple[xr.Dataset, dict]:
    """The posterior as stored, and its netCDF encoding (zlib, int16 packing where cheap).

    Variables whose elements differ far more than their draws (unit intercepts) do not pack as
    they are; they are stored as draws minus each element's posterior mean, with the means
    alongside (``name__centre``), which do. :func:`_uncentred` undoes it on load.
    """
    out = posterior.copy()
    encoding = {}
    for name, var in posterior.data_vars.items():
        packing = _packing(var.values)
        if packing is None and var.ndim >= 3:
            centre = var.mean(("chain", "draw")).astype(var.dtype)
            packing = _packing((var - centre).values)
            if packing is not None:
                out[name] = var - centre
                out[f"{name}{_CENTRE}"] = centre
                encoding[f"{name}{_CENTRE}"] = {"zlib": True}
        encoding[name] = {"zlib": True, **(packing or {})}
    return out, encoding


def _uncentred(posterior: xr.Dataset) -> xr.Dataset:
    """Add back the posterior means that :func:`_packed` took out."""
    centres = [v for v in posterior.data_vars if str(v).endswith(_CENTRE)]
    if not centres:
        return posterior
    out = posterior.copy()
    for c in centres:
        name = str(c)[: -len(_CENTRE)]
        out[name] = posterior[name] + posterior[c]
    return out.drop_vars(centres)


def _write_posterior(posterior: xr.Dataset, path: Path, group: str) -> None:
    """Append one posterior group to the file, compressed and packed (:func:`_packed`)."""
    stored, encoding = _packed(posterior)
    stored.to_netcdf(str(path), mode="a", group=group, engine="h5netcdf", encoding=encoding)


def _base(name) -> str:
    """A variable's name without a joint fit's ``"outcome::"`` prefix."""
    return str(name).rsplit("::", 1)[-1]


def _with_signed_scales(posterior: xr.Dataset, model) -> xr.Dataset:
    """Fill the signed deviation scales of a file saved before they existed (session 8).

    Such a fit sampled the positive scale ``sigma_unit`` itself, with steps to match; the
    model is the same with ``sigma_unit_signed = sigma_unit`` (``models.curves.deviation_scale``).
    """
    filled = {
        rv.name: posterior[rv.name.removesuffix(SIGNED_SUFFIX)]
        for rv in model.free_RVs
        if rv.name.endswith(SIGNED_SUFFIX)
        and rv.name not in posterior
        and rv.name.removesuffix(SIGNED_SUFFIX) in posterior
    }
    return posterior.assign(filled) if filled else posterior


def _free_names(posterior: xr.Dataset, model) -> list[str]:
    """The model's free parameters, if the posterior has them all (a real fit), else []."""
    free = [rv.name for rv in model.free_RVs]
    return free if all(name in posterior for name in free) else []


def _saved_layout(spec, posterior: xr.Dataset):
    """``spec`` as the file was sampled: free programme steps in files saved before session 10.

    Their saved specs do not say so; the layout of their steps does.
    """
    from staggered.models.curves import zero_sum_programme_steps

    if "delta_group_z" in posterior and not zero_sum_programme_steps(posterior):
        return spec.replace(group_zero_sum=False)
    return spec


def _model(design, spec, config: dict):
    """The fit's PyMC model, rebuilt (never sampled)."""
    from staggered.models.builder import build_model

    return build_model(
        design, spec, prior_loc=config.get("prior_loc"), prior_scale=config.get("prior_scale")
    )


def _restore(posterior: xr.Dataset, design, spec, config: dict) -> xr.Dataset:
    """Recompute the cell-level deterministics left out of the file, from the same model."""
    from staggered.sampling_nutpie import recompute_cells

    model = _model(design, spec, config)
    wanted = [v.name for v in model.deterministics if is_cell_var(v.name)]
    missing = [name for name in wanted if name not in posterior]
    if not missing:  # format 2 stored them
        return posterior
    posterior = _with_signed_scales(posterior, model)
    free = _free_names(posterior, model)
    if not free:  # nothing to recompute them from
        return posterior
    return recompute_cells(posterior, model, missing)


_PANEL_UNIT = ("adoption_idx", "group_idx")


def _json_labels(values) -> list:
    """Labels as JSON-safe Python scalars (ints stay ints, everything else str)."""
    out = []
    for v in values:
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out.append(int(v))
        else:
            out.append(str(v))
    return out


def save(fit: Fit, path: str | Path) -> Path:
    """Write a fit to netCDF.

    Parameters
    ----------
    fit : Fit
        The fit to save.
    path : str or Path
        Output file (``.nc``).

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    p = fit.source_panel if fit.source_panel is not None else fit.panel
    cell = {f"panel_{k}": ("panel_cell", np.asarray(getattr(p, k))) for k in _PANEL_CELL}
    unit = {"panel_adoption_idx": ("panel_unit", p.adoption_idx)}
    if p.group_idx is not None:
        unit["panel_group_idx"] = ("panel_unit", p.group_idx)
    if p.covariates is not None:
        cell["panel_covariates"] = (("panel_cell", "panel_covariate"), p.covariates)
    if p.modifiers is not None:
        unit["panel_modifiers"] = (("panel_unit", "panel_modifier"), p.modifiers)
    if p.outcomes is not None:  # several outcomes, fitted jointly
        cell["panel_outcomes"] = (("panel_cell", "panel_outcome"), p.outcomes)
        cell["panel_exposures"] = (("panel_cell", "panel_outcome"), p.exposures)
    panel_ds = xr.Dataset({**cell, **unit})
    meta = {
        "unit_labels": _json_labels(p.unit_labels),
        "period_labels": list(p.period_labels),
        "freq": p.freq,
        "group_labels": None if p.group_labels is None else _json_labels(p.group_labels),
        "row_index": _json_labels(p.row_index),
        "columns": p.columns,
        "late_adopters": _json_labels(p.late_adopters),
        "dropped_always_treated": _json_labels(p.dropped_always_treated),
        "family": p.family,
        "covariate_names": _json_labels(p.covariate_names),
        "covariate_shifts": [None if np.isnan(x) else x for x in p.covariate_shifts],
        "modifier_names": _json_labels(p.modifier_names),
        "outcome_names": _json_labels(p.outcome_names),
        "exposure_names": [None if e is None else str(e) for e in p.exposure_names],
        "notes": list(p.notes),  # how periods and adoption values were read (Panel.summary)
    }
    idata = fit.idata.copy()
    idata.posterior = _compact(idata.posterior, fit.design, fit.spec, fit.config)
    const = idata.get("constant_data")
    if const is not None:  # a loaded fit's constant data already holds the panel: replace it
        const = const.drop_vars([v for v in const.data_vars if str(v).startswith("panel_")])
    merged = (
        panel_ds
        if const is None
        else xr.merge([const, panel_ds], compat="no_conflicts", join="outer")
    )
    if const is None:
        idata.add_groups({"constant_data": merged})
    else:
        idata.constant_data = merged
    idata.attrs["staggered_panel"] = json.dumps(meta)
    idata.attrs["staggered_spec"] = json.dumps(fit.spec.to_dict())
    idata.attrs["staggered_config"] = json.dumps(fit.config)
    idata.attrs["staggered_diagnostics"] = json.dumps(fit.diagnostics)
    idata.attrs["staggered_format"] = FORMAT
    if fit.pretrend is not None:
        idata.attrs["staggered_pretrend_diagnostics"] = json.dumps(fit.pretrend.diagnostics)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a loaded fit carries its check as a group: written below, packed, like the posterior
    groups = [g for g in idata.groups() if g not in ("posterior", "pretrend_posterior")]
    idata.to_netcdf(str(path), groups=groups)
    _write_posterior(idata.posterior, path, "posterior")
    if fit.pretrend is not None:
        pre = fit.pretrend
        check = _compact(pre.idata.posterior, pre.design, pre.spec, pre.config)
        _write_posterior(check, path, "pretrend_posterior")
    return path


def _outcome_arrays(const: xr.Dataset, meta: dict) -> dict:
    """A joint fit's outcomes and exposures (``(N, K)``) and their names; {} for one outcome."""
    if "panel_outcomes" not in const:
        return {}
    return {
        "outcomes": const["panel_outcomes"].values.astype(np.float64),
        "exposures": const["panel_exposures"].values.astype(np.float64),
        "outcome_names": tuple(meta["outcome_names"]),
        "exposure_names": tuple(meta["exposure_names"]),
    }


def load(path: str | Path) -> Fit:
    """Load a fit saved with :meth:`Fit.save` (or ``staggered fit``'s ``posterior.nc``).

    A fit whose sampler did not converge loads with a
    :class:`~staggered.diagnostics.SamplingWarning` that names its problems.

    Parameters
    ----------
    path : str or Path
        A netCDF file written by :func:`save`.

    Returns
    -------
    Fit
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved fit at {path}")
    idata = az.from_netcdf(str(path))
    for group in ("posterior", "pretrend_posterior"):
        if group in idata.groups():
            setattr(idata, group, _uncentred(idata[group]))
    attrs = idata.attrs
    if "staggered_panel" not in attrs:
        raise ValueError(f"{path} is not a staggered fit (no 'staggered_panel' metadata)")
    meta = json.loads(attrs["staggered_panel"])
    const = idata.constant_data
    group_labels = meta["group_labels"]
    panel = Panel(
        unit_labels=np.asarray(meta["unit_labels"], dtype=object),
        period_labels=meta["period_labels"],
        freq=meta["freq"],
        unit_idx=const["panel_unit_idx"].values.astype(np.int64),
        period_idx=const["panel_period_idx"].values.astype(np.int64),
        y=const["panel_y"].values.astype(np.float64),
        exposure=const["panel_exposure"].values.astype(np.float64),
        adoption_idx=const["panel_adoption_idx"].values.astype(np.int64),
        group_idx=(
            const["panel_group_idx"].values.astype(np.int64) if "panel_group_idx" in const else None
        ),
        group_labels=None if group_labels is None else np.asarray(group_labels, dtype=object),
        row_index=np.asarray(meta["row_index"], dtype=object),
        columns=meta["columns"],
        late_adopters=meta["late_adopters"],
        dropped_always_treated=meta["dropped_always_treated"],
        family=meta["family"],
        covariates=(
            const["panel_covariates"].values.astype(np.float64)
            if "panel_covariates" in const
            else None
        ),
        covariate_names=tuple(meta.get("covariate_names", ())),
        covariate_shifts=tuple(
            np.nan if x is None else float(x) for x in meta.get("covariate_shifts", ())
        ),
        notes=tuple(meta.get("notes", ())),
        modifiers=(
            const["panel_modifiers"].values.astype(np.float64)
            if "panel_modifiers" in const
            else None
        ),
        modifier_names=tuple(meta.get("modifier_names", ())),
        **_outcome_arrays(const, meta),
    )
    if int(attrs.get("staggered_format", 1)) < OLDEST_READABLE:
        raise ValueError(
            f"{path} was saved by an older staggered, whose estimation fit carried placebo "
            "cells; refit it with this version (the pre-trend check is now fitted apart)"
        )
    config = json.loads(attrs["staggered_config"])
    design, check_design = fit_designs(
        panel,
        anticipation=config.get("anticipation", 0),
        horizon=config.get("horizon"),
        placebo=config.get("placebo", 0),
        comparison=config.get("comparison", "not-yet-treated"),
    )
    spec = _saved_layout(spec_from_dict(json.loads(attrs["staggered_spec"])), idata.posterior)
    diagnostics = json.loads(attrs.get("staggered_diagnostics", "{}"))
    warn_unconverged(diagnostics, source=f"The fit in {path}", stacklevel=2)
    idata.posterior = _restore(idata.posterior, design, spec, config)
    fit = Fit(idata=idata, design=design, spec=spec, config=config, diagnostics=diagnostics)
    fit.source_panel = panel
    if "pretrend_posterior" in idata.groups() and check_design is not None:
        check_diag = json.loads(attrs.get("staggered_pretrend_diagnostics", "{}"))
        warn_unconverged(check_diag, source=f"The pre-trend check in {path}", stacklevel=2)
        check_spec = spec.for_pretrend_check()
        check_post = _restore(idata["pretrend_posterior"], check_design, check_spec, config)
        check = az.InferenceData(posterior=check_post)
        fit.pretrend = Fit(
            idata=check, design=check_design, spec=check_spec, config=config, diagnostics=check_diag
        )
    return fit
