"""The result of an assurance run (:class:`AssuranceResult`) and its summary table.

:func:`summarise` turns per-fit rows into assurance, false-finding rate and interval width by
number of sites, follow-up and estimand, with Monte Carlo standard errors;
:class:`AssuranceResult` holds that table, the fits and the settings, and writes, plots and
describes them. :func:`staggered.assurance.assurance` builds it; both are importable from
:mod:`staggered.assurance`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from staggered.assurance_report import assurance_text

__all__ = ["TABLE_COLUMNS", "AssuranceResult", "summarise"]

#: ``hypothesis`` of the fits without an effect (``"null"`` would read back as missing)
NO_EFFECT = "no-effect"

TABLE_COLUMNS = [
    "sites",
    "follow_up",
    "measure",
    "event_time",
    "truth",
    "estimate",
    "assurance",
    "assurance_se",
    "false_finding",
    "false_finding_se",
    "width",
    "width_se",
    "simulations",
]


@dataclass
class AssuranceResult:
    """Assurance of a planned evaluation.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per number of sites, years of follow-up and estimand (``measure`` relative at
        each ``event_time``, or cumulative at the last): ``truth`` (mean true value),
        ``estimate`` (mean posterior mean), ``assurance`` (P(declared a reduction) with the
        effect), ``false_finding`` (the same without an effect), ``width`` (mean interval
        width), each with its Monte Carlo standard error (``_se``), and ``simulations``.
    fits : pandas.DataFrame
        One row per fit and estimand (``hypothesis`` ``"effect"`` or ``"no-effect"``;
        not ``"null"``, which ``pandas.read_csv`` would read as missing).
    settings : dict
        The run's settings.
    """

    table: pd.DataFrame
    fits: pd.DataFrame
    settings: dict

    def text(self, *, event_time: int | None = None, target: float = 0.8) -> str:
        """The result in plain words (see :func:`assurance_text`)."""
        return assurance_text(self, event_time=event_time, target=target)

    def plot(self, *, ax=None, event_time: int | None = None, target: float = 0.8):
        """P(detect) against years of follow-up, one line per number of sites.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from staggered.assurance_report import plot_assurance

        return plot_assurance(self, ax=ax, event_time=event_time, target=target)

    def save(self, out: str | Path) -> Path:
        """Write ``assurance.csv``, ``fits.csv``, ``assurance.png``, ``assurance.md``, settings."""
        import matplotlib.pyplot as plt

        from staggered.assurance_report import markdown

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(out / "assurance.csv", index=False, float_format="%.6g")
        self.fits.to_csv(out / "fits.csv", index=False, float_format="%.6g")
        ax = self.plot()
        ax.figure.savefig(out / "assurance.png", dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
        (out / "assurance.md").write_text(markdown(self))
        (out / "settings.json").write_text(json.dumps(self.settings, indent=2) + "\n")
        return out


def summarise(fits: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Assurance table from per-fit rows (see :attr:`AssuranceResult.table`).

    A fit declares a reduction when ``prob_negative >= threshold``. Monte Carlo standard
    errors: ``sqrt(p (1 - p) / n)`` for shares, ``sd / sqrt(n)`` for widths.
    """
    fits = fits.assign(
        detected=(fits["prob_negative"] >= threshold).astype(float),
        width=fits["upper"] - fits["lower"],
    )
    keys = ["sites", "follow_up", "measure", "event_time"]
    rows = []
    for key, grp in fits.groupby(keys, sort=True):
        eff = grp[grp["hypothesis"] == "effect"]
        nul = grp[grp["hypothesis"] == NO_EFFECT]
        n = len(eff)
        p, q = _share(eff["detected"]), _share(nul["detected"])
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "truth": eff["truth"].mean(),
                "estimate": eff["mean"].mean(),
                "assurance": p[0],
                "assurance_se": p[1],
                "false_finding": q[0],
                "false_finding_se": q[1],
                "width": eff["width"].mean(),
                "width_se": eff["width"].std(ddof=1) / np.sqrt(n) if n > 1 else np.nan,
                "simulations": n,
            }
        )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    order = {"relative": 0, "cumulative": 1}
    table = table.sort_values(
        ["sites", "follow_up", "measure", "event_time"],
        key=lambda c: c.map(order) if c.name == "measure" else c,
    )
    return table.reset_index(drop=True)


def _share(x: pd.Series) -> tuple[float, float]:
    n = len(x)
    if n == 0:
        return np.nan, np.nan
    p = float(x.mean())
    return p, float(np.sqrt(p * (1 - p) / n))
