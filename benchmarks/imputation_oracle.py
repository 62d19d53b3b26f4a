"""Is a coverage-study miss the design or the panel's noise? A least-squares imputation check.

For a grid panel (``coverage_dgp``), the untreated counterfactual is imputed by least squares
on the log rate of untreated cells (unit intercepts, period effects, unit linear trends; the
Borusyak-Jaravel-Spiess imputation estimator), and the pooled relative effect by event time is
compared with the truth twice:

- on the **expected** untreated counts (no noise): what is left is the error of extrapolating
  unit paths that are not linear (smooth trends, AR shocks, selection) — the design's part;
- on the **observed** counts: the design's part plus the panel's noise.

A large error on observed counts with a small one on expected counts says that the panel's
noise, not a feature the model lacks, moved the estimate; repeating the panel on other seeds
(``name@SEED``) then shows how often that happens. Prints the mean error over early and late
event times; no MCMC, a few seconds a panel. ``--no-unit-trends`` repeats everything with a
counterfactual of unit and period effects alone (two-way fixed effects), so the two designs
can be compared on the same panels and seeds.

    python benchmarks/imputation_oracle.py q14-delayed-smooth-pop q01-delayed --seeds 30
    python benchmarks/imputation_oracle.py y11-jcurve-smooth --seeds 40 --no-unit-trends
    python benchmarks/imputation_oracle.py m14-smooth-null --window 1,2 --late-years 0
    python benchmarks/imputation_oracle.py m13-unit-season --unit-season --late-years 0 --seeds 10
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import coverage_dgp as dgp  # noqa: E402


def _wide(gen: dgp.GeneratedPanel, column: str) -> np.ndarray:
    """A panel column as a units x periods array, units in the generator's order."""
    table = gen.panel.pivot(index="area", columns="period", values=column)
    return table.loc[gen.latent["units"]].to_numpy(float)


def _design_matrix(
    ui: np.ndarray,
    pi: np.ndarray,
    t: np.ndarray,
    n: int,
    T: int,
    unit_trends: bool = True,
    harmonics: np.ndarray | None = None,
):
    """Unit dummies, period dummies (less the first), optionally unit trends and, with
    ``harmonics`` (periods x k), each unit's own coefficient on each harmonic."""
    rows = np.arange(ui.size)
    ones = np.ones(ui.size)
    units = sp.csr_matrix((ones, (rows, ui)), shape=(ui.size, n))
    periods = sp.csr_matrix((ones, (rows, pi)), shape=(ui.size, T))[:, 1:]
    blocks = [units, periods]
    if unit_trends:
        blocks.append(sp.csr_matrix((t[pi], (rows, ui)), shape=(ui.size, n)))
    for k in range(0 if harmonics is None else harmonics.shape[1]):
        blocks.append(sp.csr_matrix((harmonics[pi, k], (rows, ui)), shape=(ui.size, n)))
    return sp.hstack(blocks).tocsr()


def imputation_errors(
    cfg: dgp.PanelConfig, observed: bool, unit_trends: bool = True, unit_season: bool = False
) -> dict[int, float]:
    """Estimate minus truth of the pooled relative effect at each event time.

    ``unit_trends=False`` imputes from unit and period effects alone (two-way fixed effects);
    ``unit_season=True`` adds each unit's own annual harmonic (cos, sin), as the model's
    ``unit_season = 1``.
    """
    gen = dgp.generate(cfg)
    lat = gen.latent
    mu0, mu1, et = lat["mu0"], lat["mu1"], lat["event_time"]
    n, T = mu0.shape

    pop = _wide(gen, "population")
    y = _wide(gen, "admissions") if observed else mu1
    if np.isnan(y).any():
        raise ValueError(f"{cfg.name}: unbalanced panels are not supported here")
    treated = et >= 0
    t = np.arange(T) / cfg.periods_per_year
    t = t - t.mean()
    log_rate = np.log((y + 0.5) / pop) if observed else np.log(mu0 / pop)
    ui, pi = np.nonzero(~treated)
    years = np.arange(T) / cfg.periods_per_year
    harmonics = (
        np.column_stack([np.cos(2 * np.pi * years), np.sin(2 * np.pi * years)])
        if unit_season
        else None
    )
    design = _design_matrix(ui, pi, t, n, T, unit_trends, harmonics)
    coef = lsqr(design, log_rate[ui, pi], atol=1e-12, btol=1e-12, iter_lim=100000)[0]
    alpha, gamma = coef[:n], np.concatenate([[0.0], coef[n : n + T - 1]])
    rest = coef[n + T - 1 :]
    beta = rest[:n] if unit_trends else np.zeros(n)
    log_imputed = alpha[:, None] + gamma[None, :] + beta[:, None] * t[None, :]
    if harmonics is not None:
        own = rest[n:] if unit_trends else rest
        log_imputed = log_imputed + own.reshape(2, n).T @ harmonics.T
    imputed = np.exp(log_imputed) * pop
    errors = {}
    for e in np.unique(et[treated]):
        cells = treated & (et == e)
        truth = mu1[cells].sum() / mu0[cells].sum() - 1.0
        errors[int(e)] = y[cells].sum() / imputed[cells].sum() - 1.0 - truth
    return errors


def window_difference(
    cfg: dgp.PanelConfig, pre_years: float = 1.0, post_years: float = 2.0, noiseless: bool = False
) -> tuple[float, float]:
    """How much the panel's noise looks like an effect, with no model at all.

    For each treated unit: the log ratio of its mean count in the ``post_years`` from adoption
    to the ``pre_years`` before it, less the same ratio of the never-treated units' total over
    the same periods (a difference in differences), on the observed counts minus the same on
    the expected untreated counts. Returns its mean over treated units and that mean's
    standard error: on a null panel, what the noise alone makes of the programme.
    ``noiseless=True`` scores the expected counts with the programme instead (for tests).
    """
    gen = dgp.generate(cfg, noiseless=noiseless)
    lat = gen.latent
    if not lat["observed"].all():
        raise ValueError(f"{cfg.name}: unbalanced panels are not supported here")
    ppy = cfg.periods_per_year
    pre, post = int(round(pre_years * ppy)), int(round(post_years * ppy))
    y = _wide(gen, "admissions")
    mu0, adopt = lat["mu0"], lat["adoption"]
    never = adopt < 0

    def did(counts: np.ndarray, i: int) -> float:
        a = adopt[i]
        before, after = slice(max(a - pre, 0), a), slice(a, min(a + post, counts.shape[1]))
        unit = counts[i, after].mean() / counts[i, before].mean()
        comparison = counts[never][:, after].mean() / counts[never][:, before].mean()
        return float(np.log(unit / comparison))

    diffs = np.array([did(y, i) - did(mu0, i) for i in np.flatnonzero(adopt >= 0)])
    return float(diffs.mean()), float(diffs.std(ddof=1) / np.sqrt(diffs.size))


def late_error(errors: dict[int, float], from_event_time: int) -> float:
    """Mean error over event times from ``from_event_time`` on."""
    return float(np.mean([v for e, v in errors.items() if e >= from_event_time]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("panels", nargs="+", help="grid panel names (name@SEED allowed)")
    ap.add_argument("--seeds", type=int, default=0, help="also repeat each on N other seeds")
    ap.add_argument("--late-years", type=float, default=4.0, help="'late' starts here (years)")
    ap.add_argument(
        "--no-unit-trends",
        action="store_true",
        help="run both designs: with unit trends and without (two-way fixed effects)",
    )
    ap.add_argument(
        "--unit-season",
        action="store_true",
        help="also run each design with each unit's own annual harmonic (unit_season = 1)",
    )
    ap.add_argument(
        "--window",
        metavar="PRE,POST",
        help="also print the noise's difference in differences (years before, after adoption)",
    )
    args = ap.parse_args(argv)
    designs = [
        (trends, season)
        for trends in ([True, False] if args.no_unit_trends else [True])
        for season in ([False, True] if args.unit_season else [False])
    ]
    for name in args.panels:
        cfg = dgp.get(name)
        late = int(round(args.late_years * cfg.periods_per_year))
        if args.window:
            pre, post = (float(x) for x in args.window.split(","))
            mean, se = window_difference(cfg, pre, post)
            print(
                f"{cfg.name}: the noise's difference in differences, {post:g} years after "
                f"adoption against {pre:g} before: {100 * mean:+.2f} points (se {100 * se:.2f})"
            )
        for trends, season in designs:
            label = ("unit trends" if trends else "no unit trends") + (
                ", unit seasonality" if season else ""
            )

            def err(
                c: dgp.PanelConfig,
                observed: bool,
                trends: bool = trends,
                season: bool = season,
                late: int = late,
            ) -> float:
                return late_error(imputation_errors(c, observed, trends, season), late)

            this = {observed: err(cfg, observed) for observed in (False, True)}
            print(
                f"{cfg.name} ({label}): mean error of the pooled relative effect from e = {late} "
                f"on: expected counts {this[False]:+.4f}, observed counts {this[True]:+.4f}"
            )
            if not args.seeds:
                continue
            others = [replace(cfg, seed=1000 + s) for s in range(args.seeds)]
            for observed, what in ((False, "expected"), (True, "observed")):
                errs = np.array([err(c, observed) for c in others])
                print(
                    f"  on {args.seeds} other seeds ({what} counts): mean {errs.mean():+.4f}, "
                    f"sd {errs.std(ddof=1):.4f}; this panel's error is "
                    f"{(this[observed] - errs.mean()) / errs.std(ddof=1):+.1f} sd from their mean"
                )


if __name__ == "__main__":
    main()
