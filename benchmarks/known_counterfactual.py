"""How low can the RMSE ratio to Callaway & Sant'Anna go? Estimators that know the counterfactual.

The coverage study's accuracy target asks for a pooled RMSE at most half of Callaway &
Sant'Anna's. Part of every estimator's error is the treated cells' own noise, which no
counterfactual removes. This script scores two estimators that are handed each treated
cell's **expected untreated count** ``mu0`` by the generator (no counterfactual error at all):

- ``known, count-weighted``: ``sum y / sum mu0 - 1`` over the treated cells observed at event
  time e, the estimand's own form; its error is the treated cells' noise alone;
- ``known, equal-weighted``: ``exp(mean log((y + 0.5) / mu0) - b) - 1``, the units weighted
  equally as Callaway & Sant'Anna's regression on log rates weights them (less noise when
  populations differ, at the cost of a different weighting of the sites' effects); ``b`` is
  the noise's own mean on the log scale (about ``-cv^2 / 2``), which Callaway & Sant'Anna's
  differences cancel and which is known here (the Poisson draw's share, large only at a few
  events a cell, is left in),

- ``known, smoothed``: the count-weighted estimates smoothed over event time as the model's
  pooled curve is, a Gaussian random walk (start sd 0.1, the model's ``effect_start_sd``; step
  sd chosen by marginal likelihood) observed with the noise's own variance per event time,

and divides their RMSE (over the event times Callaway & Sant'Anna report, as in the study) by
Callaway & Sant'Anna's on the same panel. These are realised errors on one panel, not bounds:
where the first two ratios are above 0.5, an estimator that reads each event time on its own
typically misses the target even with a perfect counterfactual; the third is about what the
model's smoothing adds with one. ``--imputation`` adds estimators
that must learn the counterfactual, as the model does: least-squares imputation from untreated
cells (``imputation_oracle.py``; balanced panels only) with unit trends and without (two-way
fixed effects), each raw and smoothed the same way. No MCMC; a second or two a panel (needs
the ``bench`` extra).

    python benchmarks/known_counterfactual.py y14-population-change y10-delayed-quadratic
    python benchmarks/known_counterfactual.py --heterogeneous --freq year --seeds 10 \
        --json benchmarks/out/known_counterfactual.json
    python benchmarks/known_counterfactual.py --heterogeneous --freq year --imputation
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import digamma

sys.path.insert(0, str(Path(__file__).resolve().parent))
import coverage_dgp as dgp  # noqa: E402
from coverage_study import cs_relative  # noqa: E402
from imputation_oracle import _wide, imputation_errors  # noqa: E402

STEP_GRID = np.geomspace(1e-4, 0.1, 40)  # random-walk step sds tried by the smoother
START_SD = 0.1  # sd of the curve's first value (the model's effect_start_sd)


def noise_variance(cfg: dgp.PanelConfig, mu: np.ndarray) -> np.ndarray:
    """Variance of each count around its expected value ``mu`` under the panel's noise."""
    if cfg.noise == "negbin":
        return mu + cfg.overdispersion**2 * mu**2
    if cfg.noise == "poisson-lognormal":
        # lam = mu exp(N(-sd^2/2, sd)): E lam = mu, var lam = mu^2 (exp(sd^2) - 1)
        return mu + np.expm1(cfg.overdispersion**2) * mu**2
    if cfg.noise == "poisson":
        return mu
    raise ValueError(f"{cfg.name}: unknown noise {cfg.noise!r}")


def log_noise_bias(cfg: dgp.PanelConfig) -> float:
    """E log(lam / mu) of the generator's mixing noise (the Poisson draw's part left out).

    Negative binomial: lam ~ Gamma(phi, mu / phi), E log lam = log mu + digamma(phi) - log phi
    (about -cv^2 / 2); Poisson-lognormal: -sd^2 / 2; Poisson: 0.
    """
    if cfg.noise == "negbin":
        phi = 1.0 / cfg.overdispersion**2
        return float(digamma(phi) - np.log(phi))
    if cfg.noise == "poisson-lognormal":
        return -(cfg.overdispersion**2) / 2.0
    return 0.0


def random_walk_prior(n: int, step_sd: float) -> np.ndarray:
    """Prior covariance of a Gaussian random walk over ``n`` event times.

    ``theta_0 ~ Normal(0, START_SD)`` and ``theta_e = theta_(e-1) + Normal(0, step_sd)``, so
    ``cov(theta_i, theta_j) = START_SD^2 + step_sd^2 min(i, j)``.
    """
    steps = np.tril(np.ones((n, n)), -1)[:, :-1]  # row e: the steps taken up to e
    a = np.column_stack([np.full(n, START_SD), step_sd * steps])
    return a @ a.T


def random_walk_smooth(estimate: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Posterior mean of a Gaussian random walk observed with independent noise.

    The walk starts at ``Normal(0, START_SD)``; its step sd is the value of ``STEP_GRID`` with
    the highest marginal likelihood. The event times are taken as consecutive.
    """
    best, smoothed = -np.inf, estimate
    for sd in STEP_GRID:
        prior = random_walk_prior(estimate.size, sd)
        total = prior + np.diag(variance)
        _, logdet = np.linalg.slogdet(total)
        solved = np.linalg.solve(total, estimate)
        loglik = -0.5 * (logdet + estimate @ solved)
        if loglik > best:
            best, smoothed = loglik, prior @ solved
    return smoothed


def _pooled_cells(gen: dgp.GeneratedPanel):
    """Event time, mu0, mu1 and observed count of the treated cells that the truth counts."""
    lat = gen.latent
    cells = (lat["event_time"] >= 0) & lat["observed"]
    y = _wide(gen, "admissions")
    return lat["event_time"][cells], lat["mu0"][cells], lat["mu1"][cells], y[cells]


def pooled_truth(gen: dgp.GeneratedPanel) -> pd.Series:
    """The generator's pooled truth by event time (``sum mu1 / sum mu0 - 1``)."""
    return gen.truth[gen.truth["scope"] == "pooled"].set_index("event_time")["value"]


def known_counterfactual_errors(gen: dgp.GeneratedPanel) -> pd.DataFrame:
    """Estimate minus truth of the pooled relative effect by event time, each estimator.

    Returns
    -------
    pandas.DataFrame
        Indexed by event time, columns ``count_weighted``, ``equal_weighted`` and
        ``smoothed``; and ``truth`` and ``variance`` (the count-weighted estimate's noise
        variance) for the smoother of other estimators.
    """
    e, mu0, mu1, y = _pooled_cells(gen)
    total0 = pd.Series(mu0).groupby(e).sum()
    truth = pooled_truth(gen).reindex(total0.index)
    count_weighted = pd.Series(y).groupby(e).sum() / total0 - 1
    # less the mixing noise's mean on the log scale (-cv^2 / 2), known here as mu0 is
    log_ratio = pd.Series(np.log((y + 0.5) / mu0)).groupby(e).mean() - log_noise_bias(gen.config)
    # the count-weighted estimate's variance at e: the cells' noise around mu1, over total0^2
    variance = pd.Series(noise_variance(gen.config, mu1)).groupby(e).sum() / total0**2
    smoothed = random_walk_smooth(count_weighted.to_numpy(), variance.to_numpy())
    return pd.DataFrame(
        {
            "count_weighted": count_weighted - truth,
            "equal_weighted": np.expm1(log_ratio) - truth,
            "smoothed": smoothed - truth,
            "truth": truth,
            "variance": variance,
        }
    )


def imputed_errors(cfg: dgp.PanelConfig, truth: pd.Series, variance: pd.Series) -> pd.DataFrame:
    """Errors of least-squares imputation, with and without unit trends, raw and smoothed
    (with the treated cells' noise ``variance``, which leaves out the imputation's own)."""
    out = {}
    for trends, label in ((True, "imputed_trends"), (False, "imputed_twfe")):
        err = pd.Series(imputation_errors(cfg, observed=True, unit_trends=trends))
        err = err.reindex(truth.index)
        out[label] = err
        # smooth the estimates, not the errors: the walk follows the truth's shape
        smoothed = random_walk_smooth((truth + err).to_numpy(), variance.to_numpy())
        out[f"{label}_smoothed"] = smoothed - truth
    return pd.DataFrame(out)


def score(cfg: dgp.PanelConfig, imputation: bool = False) -> dict:
    """RMSE of the reference estimators and of Callaway & Sant'Anna, one panel."""
    gen = dgp.generate(cfg)
    errors = known_counterfactual_errors(gen)
    if imputation:
        if gen.latent["observed"].all():
            errors = errors.join(imputed_errors(cfg, errors["truth"], errors["variance"]))
        else:
            print(f"  {cfg.name}: unbalanced, no imputation estimators", flush=True)
    truth = errors.pop("truth")
    errors = errors.drop(columns="variance")
    cs = cs_relative(gen.panel, gen.columns)
    if cs is None:
        raise SystemExit("Callaway & Sant'Anna needs the bench extra: pip install -e '.[bench]'")
    times = [e for e in errors.index if e in cs.index]
    cs_rmse = float(np.sqrt(np.mean((cs[times] - truth[times]) ** 2)))
    out = {"panel": cfg.name, "freq": cfg.freq, "event_times": len(times), "cs_rmse": cs_rmse}
    for col in errors:
        rmse = float(np.sqrt(np.mean(errors.loc[times, col] ** 2)))
        out[f"{col}_rmse"], out[f"{col}_ratio"] = rmse, rmse / cs_rmse
    return out


def _designs(args) -> list[str]:
    names = list(args.panels)
    if args.heterogeneous:
        names += [c.name for c in dgp.GRID if c.heterogeneous_or_delayed and not c.is_null]
    if args.freq:
        names = [n for n in names if dgp.get(n).freq == args.freq]
    if not names:
        raise SystemExit("no panels: name some, or pass --heterogeneous")
    return list(dict.fromkeys(names))


def _median(scores: list[dict], key: str) -> str:
    values = [s[f"{key}_ratio"] for s in scores if f"{key}_ratio" in s]
    return f"{np.median(values):.2f}" if values else "-"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("panels", nargs="*", help="grid panel names (name@SEED allowed)")
    ap.add_argument(
        "--heterogeneous",
        action="store_true",
        help="add every grid design with site heterogeneity or a delayed effect (the target's)",
    )
    ap.add_argument("--freq", choices=("year", "quarter", "month"), help="keep one frequency")
    ap.add_argument("--seeds", type=int, default=0, help="also score each on N other seeds")
    ap.add_argument(
        "--imputation", action="store_true", help="add least-squares imputation estimators"
    )
    ap.add_argument("--json", type=Path, help="write every panel's scores here")
    args = ap.parse_args(argv)
    rows = []
    keys = ["count_weighted", "equal_weighted", "smoothed"]
    if args.imputation:
        keys += [
            "imputed_trends",
            "imputed_trends_smoothed",
            "imputed_twfe",
            "imputed_twfe_smoothed",
        ]
    print(f"{'panel':<28} {'seeds':>5}  ratio to CS: {', '.join(keys)}")
    for name in _designs(args):
        cfg = dgp.get(name)
        cfgs = [cfg] + [
            replace(cfg, name=f"{name.partition('@')[0]}@{1000 + s}", seed=1000 + s)
            for s in range(args.seeds)
        ]
        scores = [score(c, args.imputation) for c in cfgs]
        rows += scores
        own = ", ".join(_median([scores[0]], k) for k in keys)
        med = ", ".join(_median(scores, k) for k in keys)
        print(f"{cfg.name:<28} {len(scores):>5}  own seed {own}; median {med}", flush=True)
    for key in keys:
        own = [r[f"{key}_ratio"] for r in rows if "@" not in r["panel"] and f"{key}_ratio" in r]
        every = [r[f"{key}_ratio"] for r in rows if f"{key}_ratio" in r]
        print(
            f"{key}: median ratio {np.median(own):.2f} over the designs' own seeds, "
            f"{np.median(every):.2f} over all {len(every)} panels; at most 0.5 on "
            f"{sum(v <= 0.5 for v in every)} of {len(every)}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
