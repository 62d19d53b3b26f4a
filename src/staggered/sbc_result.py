"""Results of simulation-based calibration: ranks, uniformity verdicts and the ECDF plot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


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


RANK_COLUMNS = ["replicate", "quantity", "rank", "n_draws", "truth", "divergences"]


def rank_row(
    replicate: int,
    quantity: str,
    draws: np.ndarray,
    truth: float,
    rng: np.random.Generator,
    divergences: int,
) -> dict:
    """One rank row: thinned ``draws`` below ``truth``, ties (a scale at zero) broken at random."""
    below = np.sum(draws < truth) + rng.integers(0, np.sum(draws == truth) + 1)
    return {
        "replicate": int(replicate),
        "quantity": quantity,
        "rank": int(below),
        "n_draws": int(np.size(draws)),
        "truth": float(truth),
        "divergences": divergences,
    }


def collect(results: list, n_draws: int, prob: float, settings: dict) -> SBCResult:
    """The :class:`SBCResult` of a sweep's results (lists of :func:`rank_row` rows).

    Quantities keep the order in which they first appear.
    """
    ranks = pd.DataFrame([row for rows in results for row in rows], columns=RANK_COLUMNS)
    summary = pd.DataFrame(
        [
            {"quantity": q, **_uniformity(g["rank"].to_numpy(), n_draws, prob)}
            for q, g in ranks.groupby("quantity", sort=False)
        ]
    )
    return SBCResult(ranks=ranks, summary=summary, settings=settings)
