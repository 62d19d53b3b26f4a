"""What the regression-to-the-mean guard of the default model read (one line per outcome).

The default counterfactual carries AR(1) deviations (``ar_rho``) and a pooled shift of the
year before adoption (``selection_shock``, :mod:`staggered.models.builder`). Their posteriors
say whether sites were picked after a high (or low) year and how fast such a year reverts;
the summary prints them so that a reader sees the threat and the correction together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import xarray as xr


def _interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(values, [tail, 1.0 - tail])
    return float(values.mean()), float(lo), float(hi)


def guard_lines(posterior: xr.Dataset, level: float = 0.9) -> list[str]:
    """Plain-language lines on the selection shift and the AR rate, if the model has them.

    Parameters
    ----------
    posterior : xarray.Dataset
        The estimation fit's posterior (a joint fit's variables carry ``"outcome::"``).
    level : float, default 0.9
        Interval mass.

    Returns
    -------
    list of str
        One line per outcome with a ``selection_shock``; empty without one.
    """
    lines = []
    for name in posterior.data_vars:
        prefix, _, base = str(name).rpartition("::")
        if base != "selection_shock":
            continue
        shift = np.expm1(posterior[name].values.ravel())
        mean, lo, hi = _interval(shift, level)
        outcome = f" ({prefix})" if prefix else ""
        p_high = float((shift > 0).mean())
        line = (
            f"regression-to-the-mean guard{outcome}: the year before adoption sat "
            f"{100 * mean:+.1f}% ({level:.0%} interval {100 * lo:+.1f}% to {100 * hi:+.1f}%) "
            f"against the sites' expected level, P(higher) = {p_high:.2f}"
        )
        rho_name = f"{prefix}::ar_rho" if prefix else "ar_rho"
        if rho_name in posterior:
            r_mean, r_lo, r_hi = _interval(posterior[rho_name].values.ravel(), level)
            line += (
                f"; deviations persist at {r_mean:.2f} a period ({r_lo:.2f}-{r_hi:.2f}), "
                "so the model expects that year to revert after adoption"
            )
        if lo > 0 or hi < 0:
            line += " (sites look selected after an unusual year: see the pre-trend check)"
        lines.append(line + ".")
    return lines
