"""The sweep task of design-stage assurance: draw one panel, fit it, keep its pooled effects.

:func:`assurance_task` is what :func:`staggered.sweeps.run_sweep` maps over the items built by
:func:`staggered.assurance.assurance`. Simulated panels are fitted by a NUTS sampler compiled
once per worker process, number of sites and follow-up; plasmode panels by
:func:`staggered.fit`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from staggered.assurance_panels import COLUMNS, plasmode_panel, simulate_rollout
from staggered.assurance_plan import Baseline, Effect, Rollout

__all__ = ["TEMPLATE_SIMULATION", "assurance_task", "encode_real_panel"]

# simulation index of the panel that fixes the compiled model's data-based settings
TEMPLATE_SIMULATION = 2**31 - 1


@dataclass(frozen=True)
class _Context:
    """What every fit of one assurance run shares (sent with each sweep item)."""

    mode: str  # "simulate" or "plasmode"
    plan: Rollout  # sites and follow-up replaced per item
    effect: Effect
    baseline: Baseline
    spec: Any  # ModelSpec
    draws: int
    tune: int
    target_accept: float
    level: float
    random_seed: int
    injection: str
    token: str
    panel: Any = None  # the encoded real panel (plasmode)


def _fit_seed(item: dict) -> int:
    """NUTS seed of an item: the same for the effect and the null fit of a panel."""
    key = [*item["seed"], item["sites"], item["follow_up"]]
    return int(np.random.SeedSequence(key).generate_state(1)[0] >> 1)


def _compile(ctx: _Context, plan: Rollout, follow_up: int, walk: str):
    """Design and compiled NUTS sampler of a simulated plan cut at ``follow_up`` years.

    Data-based settings of the model (the centre of the intercept prior) come from one extra
    null panel of the plan (:data:`TEMPLATE_SIMULATION`); ``walk`` is the pooled walk's form.
    """
    from staggered.compiled import CompiledNUTS
    from staggered.data import encode_panel
    from staggered.design import fit_designs
    from staggered.models import build_model

    template = simulate_rollout(
        plan,
        ctx.effect.null(),
        baseline=ctx.baseline,
        random_seed=ctx.random_seed,
        simulation=TEMPLATE_SIMULATION,
        follow_up=follow_up,
    )
    design, _ = fit_designs(encode_panel(template.panel, **COLUMNS), placebo=0)
    model = build_model(design, ctx.spec.replace(pooled_walk=walk))
    sampler = CompiledNUTS(model, draws=ctx.draws, tune=ctx.tune, target_accept=ctx.target_accept)
    return sampler, design


def _fit_simulated(ctx: _Context, item: dict, plan: Rollout, effect: Effect):
    from staggered.data import encode_panel
    from staggered.effects import effects_table

    sim = simulate_rollout(
        plan,
        effect,
        baseline=ctx.baseline,
        random_seed=ctx.random_seed,
        simulation=item["simulation"],
        follow_up=item["follow_up"],
    )
    panel = encode_panel(sim.panel, **COLUMNS)
    post, stats, design = _sample_walks(ctx, item, plan, panel)
    table = effects_table(post, design, ctx.spec, level=ctx.level, scopes=("pooled",))
    return table, sim.truth, stats["divergences"]


def _sample_walks(ctx: _Context, item: dict, plan: Rollout, panel):
    """Sample ``panel``, non-centred pooled walk first (:func:`staggered.compiled.walk_order`).

    Under ``pooled_walk="auto"`` assurance panels are small (few sites, short follow-up),
    where the pooled curve's step scale is weakly identified and the centred walk's funnel
    made nearly every fit diverge (session 13: 369 of 400 fits of 10 sites x 3 years, against
    59 of 400 non-centred first). Returns the posterior, sampler statistics and design of the
    fit kept.
    """
    from staggered.compiled import sample_walks, walk_order
    from staggered.sweeps import worker_cache

    n, follow_up = item["sites"], item["follow_up"]

    def compiled(walk: str):
        return worker_cache(
            ("assurance", ctx.token, n, follow_up, walk),
            lambda: _compile(ctx, plan, follow_up, walk),
        )

    walks = walk_order(ctx.spec)
    design = compiled(walks[0])[1]
    if not np.array_equal(panel.exposure, design.panel.exposure):  # pragma: no cover
        raise RuntimeError("simulated panel does not match the compiled design")
    post, stats, _ = sample_walks(
        lambda walk: compiled(walk)[0], walks, panel.y, random_seed=_fit_seed(item)
    )
    return post, stats, design


def _fit_plasmode(ctx: _Context, item: dict, plan: Rollout, effect: Effect):
    from staggered.diagnostics import SamplingWarning
    from staggered.fit import fit

    frame, truth = plasmode_panel(
        ctx.panel, plan, effect, item["seed"], follow_up=item["follow_up"], method=ctx.injection
    )
    quiet = logging.getLogger("pymc")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # PyMC's "only N samples" notice for short chains
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)  # divergences are recorded instead
            result = fit(
                frame,
                **COLUMNS,
                model=ctx.spec,
                placebo=0,
                draws=ctx.draws,
                tune=ctx.tune,
                chains=1,
                target_accept=ctx.target_accept,
                random_seed=_fit_seed(item),
                level=ctx.level,
                progressbar=False,
            )
    finally:
        quiet.setLevel(level)
    return result.effects(scopes=("pooled",)), truth, result.diagnostics.get("divergences", 0)


def assurance_task(item: dict) -> dict:
    """Sweep task: simulate (or inject) one panel, fit it, return its pooled effects.

    ``item`` holds ``seed = [random_seed, simulation]``, ``simulation``, ``sites``,
    ``follow_up``, ``null`` (fit the panel without the effect) and the run's ``context``.
    Simulated panels are fitted by a NUTS sampler compiled once per worker process, number of
    sites and follow-up (:func:`staggered.sweeps.worker_cache`); plasmode panels, whose sites
    differ between simulations, by :func:`staggered.fit` (one chain, ``placebo=0``).

    Returns
    -------
    dict
        ``rows``: one per estimand (``measure, event_time, mean, lower, upper,
        prob_negative, truth``): the pooled relative effect at each event time from 0 and the
        cumulative effect at the last one; ``divergences``.
    """
    ctx: _Context = item["context"]
    plan = dataclasses.replace(ctx.plan, sites=item["sites"])
    effect = ctx.effect.null() if item["null"] else ctx.effect
    run = _fit_simulated if ctx.mode == "simulate" else _fit_plasmode
    table, truth, divergences = run(ctx, item, plan, effect)
    pooled = table[(table["scope"] == "pooled") & (table["event_time"] >= 0)]
    last = int(pooled["event_time"].max())
    keep = (pooled["measure"] == "relative") | (
        (pooled["measure"] == "cumulative") & (pooled["event_time"] == last)
    )
    true = truth.set_index(["measure", "event_time"])["value"]
    rows = [
        {
            "measure": r.measure,
            "event_time": int(r.event_time),
            "mean": float(r.mean),
            "lower": float(r.lower),
            "upper": float(r.upper),
            "prob_negative": float(r.prob_negative),
            "truth": float(true.get((r.measure, int(r.event_time)), np.nan)),
        }
        for r in pooled[keep].itertuples()
    ]
    return {"rows": rows, "divergences": int(divergences)}


def encode_real_panel(
    data: pd.DataFrame, *, unit: str, time: str, outcome: str, exposure: str | None = None
):
    """Validate and encode a pre-programme panel (no adoption) for a plasmode run.

    The data contract's checks of :func:`staggered.encode_panel` apply (a stand-in adoption
    column is added for them and then removed: nobody is treated).

    Returns
    -------
    staggered.data.Panel
    """
    from staggered.data import encode_panel

    if time not in data.columns or unit not in data.columns:
        missing = [c for c in (unit, time) if c not in data.columns]
        raise ValueError(f"column(s) {missing} not in data (columns: {list(data.columns)})")
    last = data[time].max()
    first_unit = data[unit].iloc[0]
    stand_in = "__staggered_assurance_start__"
    frame = data.assign(**{stand_in: np.where(data[unit] == first_unit, last, None)})
    panel = encode_panel(
        frame, unit=unit, time=time, outcome=outcome, exposure=exposure, adoption=stand_in
    )
    return dataclasses.replace(
        panel,
        adoption_idx=np.full(panel.n_units, -1, dtype=np.int64),
        late_adopters=[],
        columns={**panel.columns, "adoption": None},
    )


def _panel_digest(panel) -> str:
    import hashlib

    h = hashlib.sha256()
    for arr in (panel.unit_idx, panel.period_idx, panel.y, panel.exposure):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(json.dumps([list(map(str, panel.unit_labels)), panel.period_labels]).encode())
    return h.hexdigest()
