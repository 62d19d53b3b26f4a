"""Posterior geometry: parameterisations that NUTS can sample with a diagonal mass matrix.

Tools fixed before sampling, from the data's layout and rough precision (never from the
outcome's posterior):

* :func:`orthogonal_period_basis` -- period effects orthogonal to the intercept and to centred
  time, so that neither trades off against intercepts or the common trend;
* :func:`partially_centred` -- a hierarchical parameter ``x ~ Normal(parent, sigma)`` written
  as ``x = w parent + sigma**w x~`` with a weight ``w`` per element (Papaspiliopoulos, Roberts
  & Skold 2007). ``w = 0`` is the centred form (right when the data pin ``x``: admissions of
  10^4 a cell), ``w = 1`` the non-centred form (right when the prior dominates: single-digit
  counts). The weight is ``s^2 / (s^2 + sigma0^2)`` with ``s`` the data's standard error for
  the element (:func:`cell_precision`) and ``sigma0`` the prior median of ``sigma``, the
  Gaussian optimum.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

HALF_NORMAL_MEDIAN = 0.6745  # median of a HalfNormal(1)


def noise_cv(y: np.ndarray, exposure: np.ndarray, unit: np.ndarray, period: np.ndarray) -> float:
    """Rough extra-Poisson coefficient of variation of counts after unit and period effects.

    Residual variance of ``log((y + 0.5) / exposure)`` after two-way demeaning, less the
    Poisson part ``mean(1 / (y + 0.5))``; floored at 1%. Only sets parameterisation weights.
    """
    r = np.log((y + 0.5) / exposure)
    for _ in range(10):  # alternating projections onto unit and period means
        r = r - (np.bincount(unit, r) / np.maximum(np.bincount(unit), 1))[unit]
        r = r - (np.bincount(period, r) / np.maximum(np.bincount(period), 1))[period]
    dof = max(r.size - np.unique(unit).size - np.unique(period).size, 1)
    var = float(np.sum(r**2) / dof) - float(np.mean(1.0 / (y + 0.5)))
    return float(np.sqrt(max(var, 1e-4)))


def cell_precision(y, exposure, unit, period, *, likelihood: str) -> np.ndarray:
    """Approximate Fisher information of each cell about its linear predictor.

    Negative binomial: ``mu / (1 + cv^2 mu)`` with ``mu`` the observed count (at least 0.5);
    Poisson: ``mu``; normal: one over the residual variance.
    """
    y = np.asarray(y, dtype=float)
    if likelihood == "normal":
        r = y.copy()
        for _ in range(10):
            r = r - (np.bincount(unit, r) / np.maximum(np.bincount(unit), 1))[unit]
            r = r - (np.bincount(period, r) / np.maximum(np.bincount(period), 1))[period]
        return np.full(y.size, 1.0 / max(float(np.var(r)), 1e-12))
    mu = np.maximum(y, 0.5)
    if likelihood == "poisson":
        return mu
    cv = noise_cv(y, exposure, unit, period)
    return mu / (1.0 + cv**2 * mu)


def centring_weight(data_var: np.ndarray, prior_sd: float) -> np.ndarray:
    """Weight of the non-centred form: ``s^2 / (s^2 + sigma0^2)`` (1 where no data)."""
    data_var = np.asarray(data_var, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(np.isfinite(data_var), data_var / (data_var + prior_sd**2), 1.0)
    return np.clip(w, 0.0, 1.0)


def partially_centred(name: str, parent, sigma, weight: np.ndarray, dims) -> pt.TensorVariable:
    """``x ~ Normal(parent, sigma)`` with centring weight ``weight`` per element.

    Samples ``name`` = ``(x - w parent) / sigma**w ~ Normal((1 - w) parent / sigma**w,
    sigma**(1 - w))`` and returns ``x``.
    """
    w = np.asarray(weight, dtype=float)
    sw = sigma**w
    raw = pm.Normal(name, (1.0 - w) * parent / sw, sigma ** (1.0 - w), dims=dims)
    return w * parent + sw * raw


def orthogonal_period_basis(time: np.ndarray, with_trend: bool) -> np.ndarray:
    """Orthonormal basis (periods x k) of period effects orthogonal to 1 (and to ``time``).

    Period effects in this basis cannot trade off against the intercepts (or, with unit
    trends, against the common trend), the likelihood's flat directions.
    """
    cols = [np.ones_like(time)] + ([time] if with_trend else [])
    a = np.column_stack(cols)
    q, _ = np.linalg.qr(np.column_stack([a, np.eye(time.size)]))
    return q[:, a.shape[1] : time.size]
