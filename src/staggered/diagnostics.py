"""Convergence diagnostics of a fit and the warnings they raise.

:func:`diagnose` computes the numbers (R-hat, ESS, divergences, tree depth) from an
InferenceData. :func:`find_problems` turns a diagnostics dict into messages that print each
threshold as it is compared; :func:`is_converged` is the verdict. The words every output made
from a fit (console, ``summary.txt``, ``report.html``, figures, comparisons) uses to say that a
fit did not converge are in :mod:`staggered.diagnostics_text`.

Advice names Python arguments (``draws=``) by default and command-line flags (``--draws``)
inside :func:`advice_style` ``("cli")``, which the command line sets.

This module imports no heavy library at import time (ArviZ is imported by :func:`diagnose`).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from staggered.tree_depth import DEFAULT_MAX_TREE_DEPTH, tree_depth_stats

if TYPE_CHECKING:
    import arviz as az

# cell-level deterministics: large and redundant for convergence checks
_CELL_VARS = ("eta0", "tau")
# latent factors and loadings are identified only up to sign (and rotation), and so are the
# signed deviation scales with their standard-normal steps (models.curves.deviation_scale);
# convergence is judged on the scales' absolute values, the deviations, the counterfactual and
# the effects they feed
_SIGN_FREE_VARS = (
    "factor",
    "factor_loading_z",
    "delta_unit_z",
    "delta_group_z",
    "delta_unit_placebo_z",
    "delta_group_placebo_z",
)
#: Suffix of a deviation scale's signed free variable (``sigma_unit_signed``; the scale itself
#: is its absolute value, :func:`staggered.models.curves.deviation_scale`).
SIGNED_SUFFIX = "_signed"

#: Largest acceptable R-hat.
RHAT_MAX = 1.01
#: Bulk and tail ESS required: this many, or a quarter of all draws if fewer draws were taken.
ESS_MIN = 400
#: Largest acceptable share of draws whose trajectory hit the sampler's maximum tree depth.
MAX_DEPTH_SHARE = 0.10

_ADVICE = {
    "python": (
        "refit with more draws= (or max_draws=) and tune=, a higher target_accept= (e.g. 0.95) "
        "or a simpler model"
    ),
    "cli": (
        "rerun with more --draws (or --max-draws) and --tune, a higher --target-accept "
        "(e.g. 0.95) or a simpler --model"
    ),
}
_style = "python"


class SamplingWarning(UserWarning):
    """Raised (as a warning) when convergence diagnostics flag a problem."""


@contextlib.contextmanager
def advice_style(style: str) -> Iterator[None]:
    """Word the advice in warnings for ``"python"`` (``draws=``) or ``"cli"`` (``--draws``).

    Parameters
    ----------
    style : {"python", "cli"}
        How to name the sampler settings inside the ``with`` block.
    """
    global _style
    if style not in _ADVICE:
        raise ValueError(f"style must be one of {tuple(_ADVICE)}, got {style!r}")
    previous, _style = _style, style
    try:
        yield
    finally:
        _style = previous


def advice(style: str | None = None) -> str:
    """What to do about a sampling problem, naming arguments (``python``) or flags (``cli``)."""
    return _ADVICE[_style if style is None else style]


def diagnose(idata: az.InferenceData, *, max_tree_depth: int = DEFAULT_MAX_TREE_DEPTH) -> dict:
    """Convergence diagnostics over all parameters except cell-level deterministics.

    Parameters
    ----------
    idata : arviz.InferenceData
        Posterior draws, with ``sample_stats`` where the sampler wrote them.
    max_tree_depth : int, default 10
        The sampler's maximum tree depth (used where the sampler does not flag saturation).

    Returns
    -------
    dict
        ``chains, draws, max_rhat`` (NaN with one chain), ``min_ess_bulk, min_ess_tail,
        divergences`` and the tree depth (:func:`tree_depth_stats`).
    """
    import arviz as az

    post = idata.posterior
    names = diagnosed_names(post)
    n_chains = post.sizes["chain"]
    out: dict = {"chains": int(n_chains), "draws": int(post.sizes["draw"])}
    with warnings.catch_warnings():
        # constant entries (e.g. trends fixed at zero) have undefined R-hat/ESS: nan, skipped
        warnings.simplefilter("ignore", RuntimeWarning)
        if n_chains > 1:
            rhat = az.rhat(post, var_names=names)
            out["max_rhat"], out["worst_rhat_var"] = _extreme(rhat, names, np.nanmax)
        else:
            out["max_rhat"] = float("nan")
        ess_b = az.ess(post, var_names=names, method="bulk")
        ess_t = az.ess(post, var_names=names, method="tail")
    out["min_ess_bulk"], out["worst_ess_bulk_var"] = _extreme(ess_b, names, np.nanmin)
    out["min_ess_tail"], out["worst_ess_tail_var"] = _extreme(ess_t, names, np.nanmin)
    stats = idata.get("sample_stats")
    out["divergences"] = divergence_count(stats)
    if stats is not None and "draws_run" in stats.attrs:
        out["draws_run"] = draws_run(stats)
    if stats is not None and "nutpie_backend" in stats.attrs:
        out["nutpie_backend"] = str(stats.attrs["nutpie_backend"])
    out.update(tree_depth_stats(stats, max_tree_depth=max_tree_depth))
    return out


def divergence_count(sample_stats) -> int:
    """Divergent transitions after warm-up, over every draw run.

    A fit run on past ``draws`` and thinned (:mod:`staggered.sampling_nutpie`) records the
    count over all its draws in ``attrs["divergences_run"]``; otherwise the kept ``diverging``
    flags are counted (0 without any).
    """
    if sample_stats is None:
        return 0
    if "divergences_run" in sample_stats.attrs:
        return int(sample_stats.attrs["divergences_run"])
    div = sample_stats.get("diverging")
    return int(div.sum()) if div is not None else 0


def draws_run(sample_stats) -> int:
    """Draws per chain run after warm-up: ``attrs["draws_run"]`` if thinned, else those kept."""
    if sample_stats is None:
        return 0
    if "draws_run" in sample_stats.attrs:
        return int(sample_stats.attrs["draws_run"])
    return int(sample_stats.sizes.get("draw", 0))


def diagnosed_names(posterior) -> list[str]:
    """The posterior variables :func:`diagnose` judges.

    Not the cell-level deterministics, the sampler's transformed copies (``sigma_log__`` mixes
    exactly as ``sigma``) or the sign-free variables (judged through what they make).
    """
    return [
        v
        for v in posterior.data_vars
        if not is_cell_var(v)
        and v not in _SIGN_FREE_VARS
        and not str(v).endswith(("__", SIGNED_SUFFIX))
    ]


def is_cell_var(name) -> bool:
    """True for a cell-level deterministic (``eta0``, ``tau``; ``"y::tau"`` in a joint fit)."""
    return str(name).rsplit("::", 1)[-1] in _CELL_VARS


def mixing_ok(diagnostics: dict) -> bool:
    """True when R-hat and bulk and tail ESS pass (divergences and tree depth not judged).

    What more draws can fix: :mod:`staggered.sampling_nutpie` samples on until it holds.
    """
    rhat = _number(diagnostics.get("max_rhat"))
    if rhat is not None and rhat > RHAT_MAX:
        return False
    floor = ess_required(diagnostics)
    return all(
        (ess := _number(diagnostics.get(f"min_ess_{kind}"))) is None or ess >= floor
        for kind in ("bulk", "tail")
    )


def _extreme(stat, names: list[str], pick) -> tuple[float, str]:
    """The most extreme value of a per-variable statistic and the variable it belongs to."""
    values = [float(pick(stat[v].values)) for v in names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        best = float(pick(values))
    worst = next((n for n, v in zip(names, values, strict=True) if v == best), "")
    return best, worst


def _number(value) -> float | None:
    """A finite float, or None for a missing / null / NaN entry."""
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _compared(value: float, limit: float, op: str, digits: int) -> tuple[str, str]:
    """``value`` and ``limit`` with the same precision, enough for ``op`` to read true."""
    for d in range(digits, 7):
        a, b = f"{value:.{d}f}", f"{limit:.{d}f}"
        if (float(a) > float(b)) if op == ">" else (float(a) < float(b)):
            return a, b
    return f"{value:.{d}g}", f"{limit:.{d}g}"


def ess_required(diagnostics: dict) -> float:
    """ESS below which a fit is flagged: 400, or a quarter of all draws if fewer were taken."""
    chains, draws = diagnostics.get("chains"), diagnostics.get("draws")
    if not chains or not draws:
        return float(ESS_MIN)
    return float(min(ESS_MIN, chains * draws / 4))


def find_problems(diagnostics: dict) -> list[str]:
    """Sampling problems of a fit, each with the threshold it failed.

    Thresholds print with the value's precision, raised until the comparison reads true
    (``min bulk ESS 12.46 < 12.50 required``, never ``12.5 < 12.5``).

    Parameters
    ----------
    diagnostics : dict
        ``Fit.diagnostics`` (fresh or loaded) or the content of ``diagnostics.json``.

    Returns
    -------
    list of str
        Empty when nothing is flagged. A dict without diagnostics numbers falls back to its
        stored ``problems``.
    """
    d = diagnostics
    keys = ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "share_at_max_depth")
    if not any(k in d for k in keys):
        return list(d.get("problems") or [])
    problems = []
    rhat = _number(d.get("max_rhat"))
    if rhat is not None and rhat > RHAT_MAX:
        a, b = _compared(rhat, RHAT_MAX, ">", 3)
        worst = _worst(d, "rhat")
        problems.append(
            f"max R-hat {a} > {b} allowed (chains disagree{f'; worst: {worst}' if worst else ''})"
        )
    floor = ess_required(d)
    for kind in ("bulk", "tail"):
        ess = _number(d.get(f"min_ess_{kind}"))
        if ess is not None and ess < floor:
            a, b = _compared(ess, floor, "<", 1)
            worst = _worst(d, f"ess_{kind}")
            problems.append(
                f"min {kind} ESS {a} < {b} required" + (f" (worst: {worst})" if worst else "")
            )
    div = _number(d.get("divergences"))
    if div is not None and div > 0:
        n = int(div)
        problems.append(f"{n} divergent transition{'s' if n != 1 else ''} after warm-up")
    share = _number(d.get("share_at_max_depth"))
    if share is not None and share > MAX_DEPTH_SHARE:
        a, b = _compared(100 * share, 100 * MAX_DEPTH_SHARE, ">", 0)
        limit = d.get("tree_depth_limit", DEFAULT_MAX_TREE_DEPTH)
        problems.append(
            f"{a}% of draws hit the maximum tree depth {limit}, at most {b}% allowed "
            "(trajectories cut short: the posterior may be unexplored)"
        )
    return problems


def _worst(d: dict, stat: str) -> str:
    """The variable with the worst ``stat`` (``rhat``, ``ess_bulk``...), or ``""``."""
    return d.get(f"worst_{stat}_var") or ""


def is_converged(diagnostics: dict) -> bool:
    """True when :func:`find_problems` flags nothing (also for a fit without diagnostics)."""
    return not find_problems(diagnostics)


def warn_unconverged(diagnostics: dict, *, source: str = "this fit", stacklevel: int = 2) -> str:
    """Issue a :class:`SamplingWarning` when a (saved) fit did not converge.

    Parameters
    ----------
    diagnostics : dict
        The fit's diagnostics.
    source : str
        What the warning names (e.g. the path the fit was loaded from).
    stacklevel : int
        Frames up from this function's caller that the warning points at (2: the code
        that called the function that called this one, e.g. the caller of ``load``).

    Returns
    -------
    str
        The warning text, ``""`` when nothing was flagged.
    """
    problems = find_problems(diagnostics)
    if not problems:
        return ""
    text = (
        f"{source} did not converge: " + "; ".join(problems) + ". Do not interpret its effects "
        f"or site comparisons: {advice()}."
    )
    warnings.warn(text, SamplingWarning, stacklevel=stacklevel + 1)
    return text


def _warn_on_problems(diag: dict, *, style: str | None = None, stacklevel: int = 3) -> list[str]:
    """Issue one :class:`SamplingWarning` per problem of a fresh fit; return the problems.

    Parameters
    ----------
    diag : dict
        Output of :func:`diagnose` (plus sampler settings).
    style : {"python", "cli"}, optional
        Name arguments or flags in the advice (default: the current :func:`advice_style`).
    stacklevel : int, default 3
        Passed to :func:`warnings.warn` (3: the caller of ``fit_design``).

    Returns
    -------
    list of str
    """
    problems = find_problems(diag)
    for msg in problems:
        warnings.warn(
            f"Sampling problem: {msg}. Before trusting the effects, {advice(style)}.",
            SamplingWarning,
            stacklevel=stacklevel,
        )
    return problems
