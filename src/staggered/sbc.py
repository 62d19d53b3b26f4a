"""Simulation-based calibration (Talts et al. 2018; Modrák et al. 2023) of any model spec.

For each replicate: draw every parameter and a panel of outcomes from the simulating spec's
own prior (``pm.sample_prior_predictive`` on the very model that is fitted, so the simulator
cannot drift from the model), fit the fitting spec by NUTS (numpyro, one chain, compiled once
per worker process), and record the rank of the true value of each test quantity among
thinned posterior draws. If the fit is calibrated, ranks are
uniform. Test quantities: the pooled relative effect at each event time, the between-unit and
between-programme scales, the dispersion, a few unit effects, and the log-likelihood of the
simulated data (a derived quantity that catches errors raw parameters miss).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy import stats

from staggered.data import encode_panel
from staggered.design import Design, build_design
from staggered.effects import estimand_draws
from staggered.models import ModelSpec, build_model, load_spec
from staggered.simulate import simulate

# fixed prior centres, so that the prior does not depend on the simulated data
COUNT_PRIOR_LOC = float(np.log(105.0 / 1000.0))
NORMAL_PRIOR_LOC, NORMAL_PRIOR_SCALE = 0.0, 1.0
SCALES = ("sigma_theta", "sigma_group", "sigma_unit", "sigma_beta", "dispersion_cv", "sigma_y")
# counterfactual options' parameters, ranked when the spec has them (first factor's scale)
OPTION_PARAMETERS = ("ar_rho", "sigma_factor")
# settings the compiled sampler depends on (its per-worker cache key)
SAMPLER_SETTINGS = (
    "n_units",
    "n_groups",
    "n_periods",
    "freq",
    "random_seed",
    "fit_spec",
    "draws",
    "tune",
)


@dataclasses.dataclass
class SBCResult:
    """Ranks and verdicts of an SBC run.

    Attributes
    ----------
    ranks : pandas.DataFrame
        One row per replicate and quantity: ``replicate, quantity, rank, n_draws, truth``.
        ``rank`` counts thinned posterior draws below the truth (0..n_draws).
    summary : pandas.DataFrame
        One row per quantity: ``quantity, replicates, chi2_p, max_ecdf_diff, in_band, verdict``.
    settings : dict
        The run's settings.
    """

    ranks: pd.DataFrame
    summary: pd.DataFrame
    settings: dict

    @property
    def passed(self) -> bool:
        """True when every quantity's rank ECDF stays inside its simultaneous band."""
        return bool(self.summary["in_band"].all())

    def verdicts(self) -> list[str]:
        """One line per quantity."""
        return [
            f"{r.quantity}: {r.verdict} (ECDF inside 99% band: {r.in_band}, "
            f"chi-square p = {r.chi2_p:.3f}, n = {r.replicates})"
            for r in self.summary.itertuples()
        ]

    def plot(self, *, ax=None, prob: float = 0.99):
        """ECDF-difference plot of the ranks with simultaneous ``prob`` bands.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        quantities = list(self.summary["quantity"])
        if ax is None:
            ncol = min(4, len(quantities))
            nrow = int(np.ceil(len(quantities) / ncol))
            fig, axes = plt.subplots(
                nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False, sharey=True
            )
            axes = axes.ravel()
        else:
            axes = np.atleast_1d(ax).ravel()
            fig = axes[0].figure
        for a, q in zip(axes, quantities, strict=False):
            sub = self.ranks[self.ranks["quantity"] == q]
            grid, diff, lo, hi = ecdf_difference(
                sub["rank"].to_numpy(), int(sub["n_draws"].iloc[0]), prob
            )
            a.fill_between(grid, lo, hi, color="0.85", step="post")
            inside = bool(((diff >= lo) & (diff <= hi)).all())
            a.step(grid, diff, where="post", color="C0" if inside else "C3")
            a.axhline(0, color="0.4", lw=0.6)
            a.set_title(q, fontsize=8)
            a.tick_params(labelsize=7)
        for a in axes[len(quantities) :]:
            a.set_visible(False)
        fig.suptitle(
            f"SBC rank ECDF - uniform, {prob:.0%} simultaneous bands "
            f"({self.settings.get('simulate_model')} -> {self.settings.get('fit_model')}, "
            f"{self.ranks['replicate'].nunique()} replicates)",
            fontsize=9,
        )
        fig.tight_layout()
        return fig

    def save(self, out: str | Path) -> Path:
        """Write ranks.csv, summary.csv, verdicts.txt, settings.json and ecdf.png."""
        import json

        import matplotlib.pyplot as plt

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        self.ranks.to_csv(out / "ranks.csv", index=False, float_format="%.6g")
        self.summary.to_csv(out / "summary.csv", index=False, float_format="%.4g")
        (out / "verdicts.txt").write_text("\n".join(self.verdicts()) + "\n")
        (out / "settings.json").write_text(json.dumps(self.settings, indent=2) + "\n")
        fig = self.plot()
        fig.savefig(out / "ecdf.png", dpi=110)
        plt.close(fig)
        return out


def ecdf_difference(ranks: np.ndarray, n_draws: int, prob: float = 0.99):
    """ECDF of ranks minus the uniform CDF, with simultaneous ``prob`` bands.

    Ranks take values 0..n_draws; at the grid z_k = k / (n_draws + 1) the ECDF of ranks below
    k is Binomial(n, z_k) / n under uniformity. Bands: arviz's optimised simultaneous bands
    (Säilynoja, Bürkner & Vehtari 2022).
    """
    from arviz.stats.ecdf_utils import ecdf_confidence_band

    n = ranks.size
    n_bins = n_draws + 1
    step = max(1, n_bins // 50)
    k = np.arange(step, n_bins, step)
    z = k / n_bins
    ecdf = (ranks[None, :] < k[:, None]).mean(axis=1)
    lo, hi = ecdf_confidence_band(n, z, z, prob=prob, method="optimized")
    return z, ecdf - z, lo - z, hi - z


def _uniformity(ranks: np.ndarray, n_draws: int, prob: float) -> dict:
    n = ranks.size
    n_bins = max(2, min(20, n // 5, n_draws + 1))
    # bins of the rank range 0..n_draws with (nearly) equal expected counts
    edges = np.linspace(0, n_draws + 1, n_bins + 1)
    counts = np.histogram(ranks + 0.5, bins=edges)[0]
    expected = n * np.diff(edges) / (n_draws + 1)
    chi2_p = float(stats.chisquare(counts, expected).pvalue)
    _, diff, lo, hi = ecdf_difference(ranks, n_draws, prob)
    in_band = bool(((diff >= lo - 1e-12) & (diff <= hi + 1e-12)).all())
    return {
        "replicates": n,
        "chi2_p": chi2_p,
        "max_ecdf_diff": float(np.abs(diff).max()),
        "in_band": in_band,
        "verdict": "calibrated" if in_band else "MISCALIBRATED",
    }


def template_design(
    *, n_units: int, n_groups: int, n_periods: int, freq: str, random_seed: int
) -> Design:
    """Panel structure (units, periods, adoption, programmes, population) for SBC replicates."""
    sim = simulate(
        "delayed",
        n_units=n_units,
        n_groups=n_groups,
        n_periods=n_periods,
        freq=freq,
        start_year=2013,
        adoption_years=(2015, 2016, 2017),
        random_seed=random_seed,
    )
    panel = encode_panel(sim.panel, **sim.columns)
    return build_design(panel)


def simulate_from_prior(
    model: str | ModelSpec = "negbin-rw",
    *,
    n_units: int = 30,
    n_groups: int = 4,
    n_periods: int = 10,
    freq: str = "year",
    random_seed: int = 0,
):
    """The ``prior`` scenario: parameters and outcomes drawn from a spec's own prior.

    Returns
    -------
    staggered.simulate.Simulation
        Panel in the user data contract, truth (pooled and unit relative effects, or absolute
        for the Gaussian spec) and the drawn parameters (scalars) in ``params``.
    """
    from staggered.simulate import Simulation

    spec = load_spec(model)
    design = template_design(
        n_units=n_units, n_groups=n_groups, n_periods=n_periods, freq=freq, random_seed=random_seed
    )
    sim_model = build_model(design, spec, **_prior_settings(spec))
    logging.getLogger("pymc").setLevel(logging.WARNING)
    prior = pm.sample_prior_predictive(draws=1, model=sim_model, random_seed=random_seed)
    y = prior_outcomes(prior, design, spec, random_seed)[0]
    p = design.panel
    sim_design = _with_outcome(design, y, "count" if spec.is_count else "gaussian")
    measure = "relative" if spec.is_count else "absolute"
    rows = []
    for scope in ("pooled", "unit"):
        ids, event_times, draws = estimand_draws(prior.prior, sim_design, spec, scope=scope)
        rows.append(
            pd.DataFrame(
                {
                    "scope": scope,
                    "id": ids,
                    "event_time": np.asarray(event_times, dtype=int),
                    "measure": measure,
                    "value": draws[measure][0],
                }
            )
        )
    frame = p.to_frame()
    panel = pd.DataFrame(
        {
            "area": frame["unit"],
            "programme": frame["group"],
            "period": frame["period"].astype(int) if freq == "year" else frame["period"],
            "admissions": y.astype(np.int64) if spec.is_count else y,
            "population": p.exposure.astype(np.int64),
            "start": frame["adoption"],
        }
    )
    params = {
        name: float(prior.prior[name].values.ravel()[0])
        for name in SCALES + ("mu_alpha", "sigma_alpha")
        if name in prior.prior
    }
    params.update({"scenario": "prior", "model": spec.name, "random_seed": random_seed})
    return Simulation(panel=panel, truth=pd.concat(rows, ignore_index=True), params=params)


def prior_outcomes(prior, design: Design, spec: ModelSpec, random_seed: int) -> np.ndarray:
    """Simulated outcomes (draws x cells) for prior draws ``prior`` (an InferenceData).

    PyMC's prior predictive draws for every spec except ``ar1`` ones, whose AR term conditions
    on the previous observed outcome: those are drawn period by period (:func:`_ar1_outcomes`),
    and ``prior.prior["eta0"]`` is overwritten in place with the counterfactual at the drawn
    outcomes (PyMC computed it with the template outcome in the lags).
    """
    if not spec.ar1:
        return prior.prior_predictive["y"].values[0]
    y, eta0 = _ar1_outcomes(prior.prior, design, spec, random_seed)
    # the prior's eta0 deterministic was computed with the template outcome in the lags
    prior.prior["eta0"].values[0] = eta0[:, design.effect_cells]
    return y


def _ar1_outcomes(
    params: xr.Dataset, design: Design, spec: ModelSpec, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw outcomes of an ``ar1`` spec period by period (mirrors the model builder).

    Returns the outcomes and the counterfactual linear predictor ``eta0`` (draws x cells).

    ``log mu_it = f_it + tau_it + rho^k d_i,prev`` with ``d = log(y + 0.5) - f - tau`` (counts)
    or ``y - f - tau`` (Gaussian); a unit's first cell has its noise scale inflated by
    ``1 / sqrt(1 - rho^2)``. SBC of the AR specs checks this simulator and the model together.
    """
    p = design.panel

    def value(name: str) -> np.ndarray:
        return params[name].values[0]  # (draws, ...)

    fixed = value("alpha")[:, p.unit_idx] + value("gamma")[:, p.period_idx]
    if spec.unit_trend:
        fixed = fixed + value("beta")[:, p.unit_idx] * design.period_time[p.period_idx]
    if spec.factors:
        loading = value("factor_loading_z") * value("sigma_factor")[:, None, :]
        factor = value("factor")[:, :, p.period_idx]
        fixed = fixed + np.einsum("rck,rkc->rc", loading[:, p.unit_idx], factor)
    if spec.is_count:
        fixed = fixed + np.log(p.exposure)
    tau = np.zeros_like(fixed)
    tau[:, design.effect_cells] = value("tau")
    rho = value("ar_rho")[:, None]
    lag, gap = design.ar_lag
    noise_mult = np.where(lag[None, :] < 0, 1.0 / np.sqrt(1.0 - rho**2), 1.0)
    rng = np.random.default_rng([seed, 1])
    y = np.zeros_like(fixed)
    eta0 = fixed.copy()
    deviation = np.zeros_like(fixed)
    for t in range(p.n_periods):
        cells = np.flatnonzero(p.period_idx == t)
        eta = fixed[:, cells] + tau[:, cells]
        has = lag[cells] >= 0
        carried = rho ** gap[cells][has] * deviation[:, lag[cells][has]]
        eta[:, has] += carried
        eta0[:, cells[has]] += carried
        if spec.likelihood == "negbin":
            phi = 1.0 / (value("dispersion_cv")[:, None] * noise_mult[:, cells]) ** 2
            y_t = rng.poisson(rng.gamma(phi, np.exp(eta) / phi)).astype(float)
        elif spec.likelihood == "poisson":
            y_t = rng.poisson(np.exp(eta)).astype(float)
        else:
            y_t = eta + value("sigma_y")[:, None] * noise_mult[:, cells] * rng.normal(
                size=eta.shape
            )
        y[:, cells] = y_t
        observed = np.log(y_t + 0.5) if spec.is_count else y_t
        deviation[:, cells] = observed - fixed[:, cells] - tau[:, cells]
    return y, eta0


def _with_outcome(design: Design, y: np.ndarray, family: str) -> Design:
    panel = dataclasses.replace(design.panel, y=np.asarray(y, dtype=np.float64), family=family)
    return dataclasses.replace(design, panel=panel)


def _prior_settings(spec: ModelSpec) -> dict:
    if spec.is_count:
        return {"prior_loc": COUNT_PRIOR_LOC, "prior_scale": None}
    return {"prior_loc": NORMAL_PRIOR_LOC, "prior_scale": NORMAL_PRIOR_SCALE}


def _quantities(
    post: xr.Dataset, design: Design, spec: ModelSpec, n_units: int
) -> dict[str, np.ndarray]:
    """Test quantities as (sample,) arrays."""
    q: dict[str, np.ndarray] = {}
    _, event_times, meas = estimand_draws(post, design, spec, scope="pooled")
    key = "relative" if spec.is_count else "absolute"
    for j, e in enumerate(event_times):
        q[f"pooled[e={int(e)}]"] = meas[key][:, j]
    stacked = post.stack(sample=("chain", "draw"))
    for name in SCALES:
        if name in post:
            q[name] = stacked[name].values
    for name in OPTION_PARAMETERS:
        if name in post:
            values = stacked[name].values
            q[name] = values[0] if values.ndim > 1 else values
    ue = stacked["unit_effect"]
    last_e = ue.sizes["event_time"] - 1
    for k in range(min(n_units, ue.sizes["treated_unit"])):
        tu = str(ue["treated_unit"].values[k])
        q[f"unit_effect[{tu},e={int(ue['event_time'].values[last_e])}]"] = ue.isel(
            treated_unit=k, event_time=last_e
        ).values
    return q


@dataclasses.dataclass(frozen=True)
class SBCContext:
    """What every replicate of one SBC run shares (sent with each sweep item).

    ``token`` fingerprints what the compiled sampler depends on (panel template, fitting spec,
    draws, tune): the sampler is cached per worker process under it
    (:func:`staggered.sweeps.worker_cache`).
    """

    design: Design
    simulate_spec: ModelSpec
    fit_spec: ModelSpec
    draws: int
    tune: int
    n_thin: int
    n_unit_quantities: int
    batch: bool
    token: str


def _compile(ctx: SBCContext):
    from staggered.compiled import CompiledNUTS

    fit_model = build_model(ctx.design, ctx.fit_spec, **_prior_settings(ctx.fit_spec))
    return CompiledNUTS(fit_model, draws=ctx.draws, tune=ctx.tune, target_accept=0.9)


def sbc_task(item: dict) -> list[dict]:
    """Sweep task: fit one item's replicates and return their rank rows.

    ``item["outcomes"][k]`` and ``item["truths"].isel(draw=k)`` are the simulated outcome and
    true parameters of replicate ``item["replicates"][k]`` (drawn up front from the simulating
    spec's prior); ``item["seed"][k]`` seeds its fit and its rank ties. An item holds one
    replicate, or a chunk of them fitted in one vectorised NUTS call when
    ``item["context"].batch`` (lockstep: worth it on a GPU, not a CPU). The sampler is compiled
    once per worker process and reused by every later item of the same run.

    Returns
    -------
    list of dict
        One row per replicate and quantity: ``replicate, quantity, rank, n_draws, truth,
        divergences``.
    """
    from staggered.sweeps import worker_cache

    ctx: SBCContext = item["context"]
    sampler = worker_cache(("sbc", ctx.token), lambda: _compile(ctx))
    family = "count" if ctx.fit_spec.is_count else "gaussian"
    same = ctx.simulate_spec == ctx.fit_spec
    outcomes = np.asarray(item["outcomes"])
    rngs = [np.random.default_rng(seed) for seed in item["seed"]]
    fit_seeds = [int(rng.integers(2**31 - 1)) for rng in rngs]
    if ctx.batch:
        fitted = sampler.sample_batch(outcomes, random_seeds=fit_seeds)
    else:
        fitted = [
            sampler.sample(y, random_seed=s) for y, s in zip(outcomes, fit_seeds, strict=True)
        ]
    keep = np.linspace(0, ctx.draws - 1, ctx.n_thin).round().astype(int)
    rows = []
    for k, r in enumerate(item["replicates"]):
        y = outcomes[k]
        post, fit_stats = fitted[k]
        sim_design = _with_outcome(ctx.design, y, family)
        truth = item["truths"].isel(draw=[k])
        est = _quantities(post.isel(draw=keep), sim_design, ctx.fit_spec, ctx.n_unit_quantities)
        true = _quantities(truth, sim_design, ctx.simulate_spec, ctx.n_unit_quantities)
        if same:
            est["loglik"] = sampler.loglik(y, [v[keep] for v in fit_stats["values"]])
            true["loglik"] = np.array([sampler.loglik_at(y, truth)])
        for name, draws_q in est.items():
            if name not in true:
                continue
            t = float(np.asarray(true[name]).ravel()[0])
            # ties (e.g. a scale at exactly zero) are broken at random
            below = np.sum(draws_q < t) + rngs[k].integers(0, np.sum(draws_q == t) + 1)
            rows.append(
                {
                    "replicate": int(r),
                    "quantity": name,
                    "rank": int(below),
                    "n_draws": ctx.n_thin,
                    "truth": t,
                    "divergences": fit_stats["divergences"],
                }
            )
    return rows


def run_sbc(
    model: str | ModelSpec = "negbin-rw",
    *,
    fit_model: str | ModelSpec | None = None,
    replicates: int = 100,
    n_units: int = 30,
    n_groups: int = 4,
    n_periods: int = 10,
    freq: str = "year",
    draws: int = 300,
    tune: int = 300,
    n_thin: int = 99,
    n_unit_quantities: int = 3,
    random_seed: int = 0,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    prob: float = 0.99,
    progressbar: bool = True,
    checkpoint: str | Path | None = None,
    chunk_size: int = 10,
    batch: bool | None = None,
) -> SBCResult:
    """Run simulation-based calibration of a model spec.

    Parameters
    ----------
    model : str or ModelSpec
        Spec whose prior simulates the data (and which is fitted, unless ``fit_model``).
    fit_model : str or ModelSpec, optional
        A different spec to fit (a deliberately wrong pairing must fail SBC).
    replicates : int
        Number of prior draws / fits.
    n_units, n_groups, n_periods : int
        Panel size of each replicate.
    freq : {"year", "quarter", "month"}
        Panel frequency.
    draws, tune : int
        NUTS draws and warm-up per replicate (one chain; the sampler is compiled once per
        worker process, see :class:`staggered.compiled.CompiledNUTS`).
    n_thin : int
        Posterior draws kept per replicate for the ranks (ranks take values 0..n_thin).
    n_unit_quantities : int
        Number of unit effects among the test quantities.
    random_seed : int
        Seed of the whole run: the prior draws, and replicate r's fit (seed
        ``[random_seed, r]``). The ranks do not depend on the backend or the worker count.
    backend : {"serial", "processes", "dask"}, optional
        Where the replicates run (:func:`staggered.sweeps.run_sweep`). Default: ``"dask"``
        with ``scheduler``, ``"serial"`` with ``workers=1``, else ``"processes"``.
    workers : int, optional
        Processes of the pool or of the Dask ``LocalCluster`` (default: CPU cores).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``) whose workers run the fits.
    prob : float
        Mass of the simultaneous ECDF bands used for the verdicts.
    progressbar : bool
        Show a progress bar over replicates.
    checkpoint : str or Path, optional
        JSONL file to which each replicate's ranks are appended as it finishes. An existing
        file resumes the run (its replicates are not refitted); one written with other
        settings raises :class:`staggered.sweeps.CheckpointError`.
    chunk_size : int
        Replicates per vectorised NUTS call when ``batch``.
    batch : bool, optional
        Fit chunks of replicates in one vectorised call. Default: on when JAX sees a GPU.

    Returns
    -------
    SBCResult
    """
    from staggered.sweeps import fingerprint, resolve_backend, run_sweep

    sim_spec = load_spec(model)
    fit_spec = sim_spec if fit_model is None else load_spec(fit_model)
    if sim_spec.is_count != fit_spec.is_count:
        raise ValueError("simulating and fitting specs must both be count or both Gaussian")
    if draws < n_thin:
        raise ValueError(f"draws ({draws}) must be >= n_thin ({n_thin})")
    if batch is None:
        import jax

        batch = jax.default_backend() != "cpu"
    settings = {
        "simulate_model": sim_spec.name,
        "fit_model": fit_spec.name,
        "replicates": replicates,
        "n_units": n_units,
        "n_groups": n_groups,
        "n_periods": n_periods,
        "freq": freq,
        "draws": draws,
        "tune": tune,
        "n_thin": n_thin,
        "random_seed": random_seed,
        "batch": batch,
    }
    # everything the ranks depend on (whole specs: a renamed prior must not resume a run)
    sweep_settings = {
        **settings,
        "simulate_spec": sim_spec.to_dict(),
        "fit_spec": fit_spec.to_dict(),
        "n_unit_quantities": n_unit_quantities,
        "chunk_size": chunk_size if batch else 1,
    }
    design = template_design(
        n_units=n_units, n_groups=n_groups, n_periods=n_periods, freq=freq, random_seed=random_seed
    )
    logging.getLogger("pymc").setLevel(logging.WARNING)
    sim_model = build_model(design, sim_spec, **_prior_settings(sim_spec))
    prior = pm.sample_prior_predictive(draws=replicates, model=sim_model, random_seed=random_seed)
    outcomes = prior_outcomes(prior, design, sim_spec, random_seed)
    truths = prior.prior
    ctx = SBCContext(
        design=design,
        simulate_spec=sim_spec,
        fit_spec=fit_spec,
        draws=draws,
        tune=tune,
        n_thin=n_thin,
        n_unit_quantities=n_unit_quantities,
        batch=batch,
        # what the compiled sampler depends on: workers reuse it across runs that share these
        token=fingerprint({k: sweep_settings[k] for k in SAMPLER_SETTINGS}),
    )
    size = chunk_size if batch else 1
    items = []
    for first in range(0, replicates, size):
        chunk = list(range(first, min(first + size, replicates)))
        key = f"replicate-{first:05d}" if size == 1 else f"replicates-{first:05d}-{chunk[-1]:05d}"
        items.append(
            {
                "key": key,
                "seed": [[random_seed, r] for r in chunk],
                "replicates": chunk,
                "outcomes": outcomes[chunk],
                "truths": truths.isel(draw=chunk),
                "context": ctx,
            }
        )
    results = run_sweep(
        sbc_task,
        items,
        backend=resolve_backend(backend, workers=workers, scheduler=scheduler),
        workers=workers,
        scheduler=scheduler,
        checkpoint=checkpoint,
        settings=sweep_settings,
        progress=progressbar,
        desc="SBC replicates",
    )
    ranks = pd.DataFrame(
        [row for rows in results for row in rows],
        columns=["replicate", "quantity", "rank", "n_draws", "truth", "divergences"],
    )
    order = list(dict.fromkeys(ranks["quantity"]))
    summary = pd.DataFrame(
        [
            {
                "quantity": q,
                **_uniformity(ranks.loc[ranks.quantity == q, "rank"].to_numpy(), n_thin, prob),
            }
            for q in order
        ]
    )
    return SBCResult(ranks=ranks, summary=summary, settings=settings)
