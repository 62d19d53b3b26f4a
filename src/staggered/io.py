"""Save and load fits: one netCDF file with the posterior, the encoded panel and the spec."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr

from staggered.data import Panel
from staggered.design import build_design
from staggered.diagnostics import warn_unconverged
from staggered.fit import Fit
from staggered.models import spec_from_dict

_PANEL_CELL = ("unit_idx", "period_idx", "y", "exposure")
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
    p = fit.panel
    cell = {f"panel_{k}": ("panel_cell", np.asarray(getattr(p, k))) for k in _PANEL_CELL}
    unit = {"panel_adoption_idx": ("panel_unit", p.adoption_idx)}
    if p.group_idx is not None:
        unit["panel_group_idx"] = ("panel_unit", p.group_idx)
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
    }
    idata = fit.idata.copy()
    const = idata.get("constant_data")
    merged = panel_ds if const is None else xr.merge([const, panel_ds])
    if const is None:
        idata.add_groups({"constant_data": merged})
    else:
        idata.constant_data = merged
    idata.attrs["staggered_panel"] = json.dumps(meta)
    idata.attrs["staggered_spec"] = json.dumps(fit.spec.to_dict())
    idata.attrs["staggered_config"] = json.dumps(fit.config)
    idata.attrs["staggered_diagnostics"] = json.dumps(fit.diagnostics)
    path.parent.mkdir(parents=True, exist_ok=True)
    idata.to_netcdf(str(path))
    return path


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
    )
    config = json.loads(attrs["staggered_config"])
    design = build_design(
        panel,
        anticipation=config.get("anticipation", 0),
        horizon=config.get("horizon"),
        placebo=config.get("placebo", 0),
        comparison=config.get("comparison", "not-yet-treated"),
    )
    spec = spec_from_dict(json.loads(attrs["staggered_spec"]))
    diagnostics = json.loads(attrs.get("staggered_diagnostics", "{}"))
    warn_unconverged(diagnostics, source=f"The fit in {path}", stacklevel=2)
    return Fit(idata=idata, design=design, spec=spec, config=config, diagnostics=diagnostics)
