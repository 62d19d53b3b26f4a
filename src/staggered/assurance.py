"""Design-stage assurance: how likely a planned evaluation is to detect a hypothesised effect.

For each simulation, panels of the planned rollout are drawn (:mod:`staggered.assurance_panels`:
fully simulated, or the user's real pre-programme panel with the effect injected, "plasmode"),
once with the hypothesised effect and once without it (the null), cut at each follow-up
length, and fitted with the chosen model (no pre-trend check fit). A fit *detects* the effect
when the posterior probability of a reduction (``prob_negative``) is at least ``threshold``.
Over simulations this gives, for each number of sites, follow-up length and estimand (the
pooled relative effect at each event time and the cumulative effect since adoption):

- **assurance**: the share of simulations with the effect in which it is detected,
- **false-finding rate**: the share of null simulations in which a reduction is declared,
- the expected width of the ``level`` interval,

each with its Monte Carlo standard error. Fits run through :func:`staggered.sweeps.run_sweep`
(serial, process pool or Dask; checkpoint and resume); every fit's randomness comes from
``(random_seed, simulation)``, so results do not depend on the backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from staggered.assurance_panels import plasmode_window
from staggered.assurance_plan import Baseline, Effect, Rollout, rollout_shares
from staggered.assurance_report import assurance_text
from staggered.assurance_result import NO_EFFECT, AssuranceResult, summarise
from staggered.assurance_result import TABLE_COLUMNS as TABLE_COLUMNS
from staggered.assurance_sweep import _Context, _panel_digest, assurance_task, encode_real_panel

__all__ = [
    "AssuranceResult",
    "assurance",
    "assurance_task",
    "assurance_text",
    "encode_real_panel",
    "summarise",
]

FIT_COLUMNS = [
    "sites",
    "follow_up",
    "hypothesis",
    "simulation",
    "measure",
    "event_time",
    "mean",
    "lower",
    "upper",
    "prob_negative",
    "truth",
    "divergences",
]


def _as_list(value: int | Sequence[int], name: str) -> list[int]:
    values = [int(value)] if np.isscalar(value) else [int(v) for v in value]
    if not values or min(values) < 1:
        raise ValueError(f"{name} must be positive integers, got {value}")
    return sorted(set(values))


def _effect(effect, size, ramp, delay, site_sd) -> Effect:
    if isinstance(effect, Effect):
        return effect
    shape = effect if isinstance(effect, str) else tuple(effect)
    return Effect(shape=shape, size=size, ramp=ramp, delay=delay, site_sd=site_sd)


def assurance(
    data: pd.DataFrame | None = None,
    *,
    unit: str | None = None,
    time: str | None = None,
    outcome: str | None = None,
    exposure: str | None = None,
    sites: int | Sequence[int] = 40,
    comparison_areas: int = 40,
    rollout: Sequence[float] | Mapping[int, float] = (0.5, 0.5),
    history: int = 5,
    follow_up: int | Sequence[int] = (3, 5, 7),
    freq: str = "year",
    first_year: int = 2026,
    effect: str | Sequence[float] | Effect = "ramp",
    size: float = -0.03,
    ramp: float = 4.0,
    delay: float | None = None,
    site_sd: float = 0.0,
    baseline: Baseline | None = None,
    injection: str = "thin",
    threshold: float = 0.95,
    level: float = 0.9,
    simulations: int = 100,
    null: bool = True,
    model: str = "negbin-rw",
    draws: int = 500,
    tune: int = 500,
    target_accept: float = 0.9,
    random_seed: int = 0,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    checkpoint: str | Path | None = None,
    progressbar: bool = True,
) -> AssuranceResult:
    """Probability that a planned evaluation detects a hypothesised effect (assurance).

    Parameters
    ----------
    data : pandas.DataFrame, optional
        A real pre-programme panel (one row per unit x period, counts, nobody treated) for a
        plasmode run: each simulation draws the planned sites at random among its units and
        injects the effect into their counts from adoption on (binomial thinning for a
        reduction, added Poisson counts for a rise; ``injection``). The plan is shifted back
        so that the panel's last ``max(follow_up)`` years are the follow-up and the
        ``history`` years before them the history: the panel needs ``history +
        max(follow_up)`` years (a ``ValueError`` says what is missing); earlier years are left
        out. Every unit that is not a site is a comparison area. Without ``data``, panels are
        simulated (:func:`staggered.assurance_panels.simulate_rollout`).
    unit, time, outcome, exposure : str, optional
        Columns of ``data`` (as in :func:`staggered.fit`).
    sites : int or list of int
        Number(s) of adopting sites; one curve per number (``[20, 40, 60]``).
    comparison_areas : int
        Areas that never adopt (simulated panels).
    rollout : sequence of float or dict
        Share of sites adopting in each year of the rollout (``(0.5, 0.5)``), or
        ``{year: share}`` (``{2026: 0.5, 2027: 0.5}``; sets ``first_year``).
    history : int
        Years of data before the first adoption.
    follow_up : int or list of int
        Years of data from the first adoption on at which the evaluation is analysed
        (``[3, 5, 7]``). Each simulated panel is fitted cut at every length, so the curves over
        follow-up are paired.
    freq : {"year", "quarter", "month"}
        Period of simulated panels (a plasmode run uses the panel's).
    first_year : int
        Calendar year of the first adoption in simulated panels (labels only).
    effect : {"ramp", "step", "delayed", "jcurve"}, sequence of float, or Effect
        Shape of the hypothesised effect, or its trajectory (relative effect at event times
        0, 1, ...; the last value carried on); see :class:`staggered.assurance_plan.Effect`.
    size : float
        Full-size relative effect (-0.03: a 3% reduction).
    ramp : float
        Years from the start of the effect to full size.
    delay : float, optional
        Years of no effect before the ramp (``delayed``, ``jcurve``: default 2).
    site_sd : float
        Between-site sd of the full-size effect.
    baseline : Baseline, optional
        Rates, populations, trends and noise of simulated areas.
    injection : {"thin", "scale"}
        How a plasmode run changes counts (see :func:`staggered.assurance_panels.inject`).
    threshold : float
        A fit declares a reduction when the posterior probability of one is at least this.
    level : float
        Mass of the intervals whose width is reported.
    simulations : int
        Panels per number of sites (each fitted with and without the effect at every
        follow-up). Monte Carlo standard errors shrink as ``1 / sqrt(simulations)``: 100 give
        about ±0.04 on an assurance of 0.8.
    null : bool
        Also fit every panel without the effect (the false-finding rate).
    model : str
        Count model spec fitted to every panel (default ``negbin-rw``; no pre-trend check).
    draws, tune : int
        NUTS draws and warm-up of each fit (one chain).
    target_accept : float
        NUTS target acceptance.
    random_seed : int
        Seed of the run: panel ``s`` comes from ``(random_seed, s)``.
    backend, workers, scheduler, checkpoint :
        Where fits run and where finished fits are kept (:func:`staggered.sweeps.run_sweep`):
        ``"serial"``, ``"processes"`` or ``"dask"`` (default: ``"serial"`` with ``workers=1``,
        else ``"dask"``: a ``LocalCluster``, or the cluster at ``scheduler``). A checkpoint
        resumes an interrupted run and can be extended with more simulations or site counts.
    progressbar : bool
        Show a progress bar over fits.

    Returns
    -------
    AssuranceResult
        ``table`` (assurance, false-finding rate and interval width by sites, follow-up and
        estimand, with Monte Carlo errors), ``fits``, ``text()``, ``plot()``, ``save()``.

    Notes
    -----
    Simulated panels share one design per number of sites and follow-up (the planned areas,
    populations and adoption years are fixed; rates, trends, shocks, noise and site effects
    are drawn per simulation), so each design is compiled once per worker process and its
    fits cost their sampling time only. Plasmode fits are full :func:`staggered.fit` calls
    (the sites differ between simulations), several times slower for small panels.
    """
    from staggered.models import load_spec
    from staggered.sweeps import fingerprint, run_sweep

    spec = load_spec(model)
    _check_arguments(spec, threshold, level, simulations, draws, tune)
    site_counts = _as_list(sites, "sites")
    follow_ups = _as_list(follow_up, "follow_up")
    shares, year0 = rollout_shares(rollout)
    eff = _effect(effect, size, ramp, delay, site_sd)
    baseline = baseline or Baseline()
    panel = _real_panel(data, unit=unit, time=time, outcome=outcome, exposure=exposure)
    if panel is not None:
        freq = panel.freq
    plan = Rollout(
        sites=max(site_counts),
        comparison_areas=comparison_areas,
        shares=shares,
        history=history,
        follow_up=max(follow_ups),
        freq=freq,
        first_year=year0 if year0 is not None else first_year,
    )
    if panel is not None:
        plasmode_window(panel, plan)  # refuse a panel too short or too small up front
    mode = "simulate" if panel is None else "plasmode"
    settings = _run_settings(
        mode,
        plan,
        eff,
        baseline,
        spec,
        panel,
        follow_ups=follow_ups,
        injection=injection,
        threshold=threshold,
        level=level,
        draws=draws,
        tune=tune,
        target_accept=target_accept,
        random_seed=random_seed,
    )
    # a fit depends on these (not on the number of simulations or the other site counts)
    sweep_settings = {k: v for k, v in settings.items() if k not in ("threshold", "effect_text")}
    ctx = _Context(
        mode=mode,
        plan=plan,
        effect=eff,
        baseline=baseline,
        spec=spec,
        draws=draws,
        tune=tune,
        target_accept=target_accept,
        level=level,
        random_seed=random_seed,
        injection=injection,
        token=fingerprint(sweep_settings),
        panel=panel,
    )
    hypotheses = (False, True) if null else (False,)
    items = _sweep_items(ctx, site_counts, follow_ups, simulations, hypotheses, random_seed)
    results = run_sweep(
        assurance_task,
        items,
        backend=backend,
        workers=workers,
        scheduler=scheduler,
        checkpoint=checkpoint,
        settings=sweep_settings,
        progress=progressbar,
        desc="assurance fits",
    )
    fits = _fit_rows(items, results)
    settings.update({"sites": site_counts, "simulations": simulations, "null": null})
    return AssuranceResult(table=summarise(fits, threshold), fits=fits, settings=settings)


def _check_arguments(spec, threshold, level, simulations, draws, tune) -> None:
    """Refuse a non-count model and out-of-range thresholds, levels and run sizes."""
    if not spec.is_count:
        raise ValueError(f"assurance simulates counts: choose a count model, not {spec.name!r}")
    if not 0.5 <= threshold < 1.0 or not 0.0 < level < 1.0:
        raise ValueError(f"need 0.5 <= threshold < 1 and 0 < level < 1, got {threshold}, {level}")
    if simulations < 1 or draws < 1 or tune < 0:
        raise ValueError(f"need simulations, draws >= 1, tune >= 0: {simulations}, {draws}, {tune}")


def _real_panel(data, *, unit, time, outcome, exposure):
    """The encoded pre-programme panel of a plasmode run, or ``None`` without ``data``."""
    if data is None:
        return None
    missing = [n for n, v in {"unit": unit, "time": time, "outcome": outcome}.items() if not v]
    if missing:
        raise ValueError(f"a plasmode run needs the column names {missing} of data")
    return encode_real_panel(data, unit=unit, time=time, outcome=outcome, exposure=exposure)


def _run_settings(
    mode: str,
    plan: Rollout,
    eff: Effect,
    baseline: Baseline,
    spec,
    panel,
    *,
    follow_ups: list[int],
    injection: str,
    threshold: float,
    level: float,
    draws: int,
    tune: int,
    target_accept: float,
    random_seed: int,
) -> dict:
    """The run's settings as stored with the result (and, most of them, with the checkpoint)."""
    return {
        "mode": mode,
        "comparison_areas": plan.comparison_areas if panel is None else None,
        "units": None if panel is None else panel.n_units,
        "rollout": list(plan.shares),
        "history": plan.history,
        "follow_up": follow_ups,
        "freq": plan.freq,
        "first_year": plan.first_year,
        "effect": dataclasses.asdict(eff),
        "effect_text": eff.describe(),
        "baseline": dataclasses.asdict(baseline) if panel is None else None,
        "data": _panel_digest(panel) if panel is not None else None,
        "injection": injection if panel is not None else None,
        "threshold": threshold,
        "level": level,
        "model": spec.name,
        "model_spec": spec.to_dict(),
        "draws": draws,
        "tune": tune,
        "target_accept": target_accept,
        "random_seed": random_seed,
    }


def _sweep_items(ctx, site_counts, follow_ups, simulations, hypotheses, random_seed) -> list:
    """One sweep item per number of sites, follow-up, simulation and hypothesis."""
    return [
        {
            "key": f"sites{n}-followup{f}-sim{s:05d}-{'null' if h else 'effect'}",
            "seed": [random_seed, s],
            "simulation": s,
            "sites": n,
            "follow_up": f,
            "null": h,
            "context": ctx,
        }
        for n in site_counts
        for f in follow_ups
        for s in range(simulations)
        for h in hypotheses
    ]


def _fit_rows(items: list, results: list) -> pd.DataFrame:
    """Per-fit rows (:data:`FIT_COLUMNS`) from the sweep items and their results."""
    rows = [
        {
            "sites": item["sites"],
            "follow_up": item["follow_up"],
            "hypothesis": NO_EFFECT if item["null"] else "effect",
            "simulation": item["simulation"],
            **row,
            "divergences": res["divergences"],
        }
        for item, res in zip(items, results, strict=True)
        for row in res["rows"]
    ]
    return pd.DataFrame(rows, columns=FIT_COLUMNS)
