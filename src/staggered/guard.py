"""What the regression-to-the-mean guard of the default model read (one line per outcome).

The default counterfactual carries AR(1) deviations (``ar_rho``) and a pooled shift of the year
before adoption (``selection_shock``, one per adoption wave with ``selection_waves``;
:mod:`staggered.models.builder`). Their posteriors
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
        One line per outcome with a ``selection_shock``; empty without one. A shift per
        adoption wave (``selection_waves``) is reported wave by wave.
    """
    lines = []
    for name in posterior.data_vars:
        prefix, _, base = str(name).rpartition("::")
        if base != "selection_shock":
            continue
        outcome = f" ({prefix})" if prefix else ""
        shift, unusual = _shift_text(posterior[name], level)
        line = f"regression-to-the-mean guard{outcome}: the year before adoption sat {shift}"
        rho_name = f"{prefix}::ar_rho" if prefix else "ar_rho"
        if rho_name in posterior:
            r_mean, r_lo, r_hi = _interval(posterior[rho_name].values.ravel(), level)
            line += (
                f"; deviations persist at {r_mean:.2f} a period ({r_lo:.2f}-{r_hi:.2f}), "
                "so the model expects that year to revert after adoption"
            )
        if unusual is not None:
            line += (
                f" (sites look selected after an unusual year{unusual}: see the pre-trend check)"
            )
        lines.append(line + ".")
    return lines


#: waves listed one by one up to this many; beyond, their range
_MAX_WAVES_LISTED = 6


def _shift_text(shock: xr.DataArray, level: float) -> tuple[str, str | None]:
    """The shift(s) in words, and where an interval excludes zero (None: nowhere).

    The second item is ``""`` for a pooled shift whose interval excludes zero, and ``" in
    wave 2014, 2015"`` for the waves whose intervals do.
    """
    pct = np.expm1(shock.values)  # (chain, draw[, wave])
    if pct.ndim == 2:
        mean, lo, hi = _interval(pct.ravel(), level)
        p_high = float((pct > 0).mean())
        text = (
            f"{100 * mean:+.1f}% ({level:.0%} interval {100 * lo:+.1f}% to {100 * hi:+.1f}%) "
            f"against the sites' expected level, P(higher) = {p_high:.2f}"
        )
        return text, "" if lo > 0 or hi < 0 else None
    waves = [str(w) for w in shock[shock.dims[-1]].values]
    draws = pct.reshape(-1, len(waves))
    stats = [_interval(draws[:, k], level) for k in range(len(waves))]
    flagged = [w for w, (_, lo, hi) in zip(waves, stats, strict=True) if lo > 0 or hi < 0]
    if len(waves) <= _MAX_WAVES_LISTED:
        parts = [
            f"{w} {100 * m:+.1f}% ({100 * lo:+.1f}% to {100 * hi:+.1f}%)"
            for w, (m, lo, hi) in zip(waves, stats, strict=True)
        ]
        text = f"(by adoption wave) {', '.join(parts)} ({level:.0%} intervals)"
    else:
        means = [m for m, _, _ in stats]
        text = (
            f"between {100 * min(means):+.1f}% and {100 * max(means):+.1f}% over "
            f"{len(waves)} adoption waves ({len(flagged)} with a {level:.0%} interval "
            "excluding zero)"
        )
    text += " against the sites' expected level"
    return text, f" in wave {', '.join(flagged)}" if flagged else None
