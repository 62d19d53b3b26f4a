"""Fits with fabricated posterior draws and diagnostics: outputs without MCMC."""

from __future__ import annotations

import arviz as az
import numpy as np

from staggered import encode_panel
from staggered.design import fit_designs
from staggered.fit import Fit
from staggered.models import load_spec

CONVERGED = {
    "chains": 2,
    "draws": 100,
    "max_rhat": 1.004,
    "min_ess_bulk": 180.0,
    "min_ess_tail": 150.0,
    "divergences": 0,
    "mean_tree_depth": 4.1,
    "max_tree_depth": 6,
    "tree_depth_limit": 10,
    "share_at_max_depth": 0.0,
    "sampler": "numpyro",
    "tune": 100,
    "seconds": 1.0,
    "problems": [],
}
UNCONVERGED = {
    **CONVERGED,
    "max_rhat": 1.31,
    "min_ess_bulk": 12.1,
    "share_at_max_depth": 0.4,
    "max_tree_depth": 10,
    "problems": ["stale text from an older version"],
}


def _fake_idata(design, rng, *, effect: float = 1.0) -> az.InferenceData:
    """Draws of eta0, tau and theta for ``design`` (unit-specific effects times ``effect``)."""
    panel = design.panel
    shape = (2, 100)
    cells = design.effect_cells
    unit_shift = effect * np.linspace(-0.08, 0.02, panel.n_units)[panel.unit_idx[cells]]
    eta0 = np.log(panel.exposure[cells]) - 2.3 + rng.normal(0, 0.01, (*shape, cells.size))
    tau = unit_shift + rng.normal(0, 0.01 * effect + 0.002, (*shape, cells.size))
    theta = rng.normal(-0.03, 0.01, (*shape, design.event_times.size))
    return az.from_dict(
        posterior={"eta0": eta0, "tau": tau, "theta": theta},
        sample_stats={"tree_depth": np.full(shape, 4), "diverging": np.zeros(shape, bool)},
        dims={"eta0": ["effect_cell"], "tau": ["effect_cell"], "theta": ["event_time"]},
    )


def fake_fit(sim, diagnostics: dict, *, command: str | None = None) -> Fit:
    """A count fit of ``sim``'s panel with unit-specific effects, 2 chains x 100 draws, and a
    pre-trend check fit (placebo=2) with draws of the same kind."""
    panel = encode_panel(sim.panel, **sim.columns)
    design, check = fit_designs(panel, placebo=2)
    rng = np.random.default_rng(1)
    config = {"level": 0.9, "random_seed": 0, "model": "negbin-rw", **design.to_dict()}
    config["placebo"] = 2
    if command:
        config["command"] = command
    spec = load_spec("negbin-rw")
    fit = Fit(
        idata=_fake_idata(design, rng),
        design=design,
        spec=spec,
        config=config,
        diagnostics=dict(diagnostics),
        source_panel=panel,
    )
    fit.pretrend = Fit(
        idata=_fake_idata(check, rng, effect=0.0),  # placebo effects near zero
        design=check,
        spec=spec,
        config=config,
        diagnostics=dict(diagnostics),
    )
    return fit
