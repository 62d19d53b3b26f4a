"""What every output made from a fit says about its convergence, in words.

The console, ``summary.txt``, ``report.html``, figures and comparisons take their WARNING
line (:func:`problems_text`), figure caveat (:func:`caveat_text`) and the notes on thinned
draws and the pooled walk's refit from here, so that every output says the same thing. The
numbers and thresholds behind them are :mod:`staggered.diagnostics`.
"""

from __future__ import annotations

from staggered.diagnostics import _number, advice, find_problems, is_converged


def kept_draws_text(diagnostics: dict) -> str:
    """``" (kept evenly from 2500 per chain run)"`` for a fit sampled on past its draws."""
    run, kept = diagnostics.get("draws_run"), diagnostics.get("draws")
    if not run or run == kept:
        return ""
    return f" (kept evenly from {run} per chain run)"


def walk_refit_text(diagnostics: dict) -> str:
    """What :func:`staggered.fit_design`'s pooled-walk refit did, for the summary and report.

    For example ``"; pooled walk refitted, non-centred kept (same model; divergences: centred
    12 in 1000 draws per chain, non-centred 0 in 1500)"``, or after a centred fit that did not
    mix ``"; pooled walk refitted, the centred one did not mix: non-centred kept (same model;
    worst R-hat: centred 1.022, non-centred 1.006; min bulk ESS: centred 260, non-centred 610;
    divergences: ...)"``. Empty unless the pooled
    walk was refitted (``pooled_walk="auto"``); fits saved before ``walk_draws_run`` was
    recorded give the counts alone.
    """
    counts = diagnostics.get("walk_divergences")
    if not counts:
        return ""
    kept = diagnostics.get("pooled_walk", "centred")
    runs = diagnostics.get("walk_draws_run") or {}

    def divergences(form: str, unit: str = "") -> str:
        run = f" in {runs[form]}{unit}" if form in runs else ""
        return f"{counts.get(form)}{run}"

    why, mixing = "", ""
    if diagnostics.get("walk_refit") == "mixing":
        why = " the centred one did not mix:"
        for key, label, spec in (
            ("walk_max_rhat", "worst R-hat", ".3f"),
            ("walk_min_ess_bulk", "min bulk ESS", ".0f"),
        ):
            pair = diagnostics.get(key) or {}
            if pair:
                c, n = (_number_text(pair.get(f), spec) for f in ("centred", "non-centred"))
                mixing += f"{label}: centred {c}, non-centred {n}; "
    return (
        f"; pooled walk refitted,{why} {kept} kept (same model; {mixing}divergences: centred "
        f"{divergences('centred', ' draws per chain')}, non-centred {divergences('non-centred')})"
    )


def _number_text(value, spec: str) -> str:
    """``value`` formatted, or ``"n/a"`` for a missing or NaN one (R-hat of one chain)."""
    number = _number(value)
    return "n/a" if number is None else format(number, spec)


def problems_text(diagnostics: dict, *, style: str | None = None) -> str:
    """One plain WARNING line for outputs of an unconverged fit; ``""`` when it converged.

    Parameters
    ----------
    diagnostics : dict
        ``Fit.diagnostics`` or the content of ``diagnostics.json``.
    style : {"python", "cli"}, optional
        Name arguments or flags in the advice (default: the current :func:`advice_style`).

    Returns
    -------
    str
    """
    problems = find_problems(diagnostics)
    if not problems:
        return ""
    return (
        "WARNING: the sampler did not converge: " + "; ".join(problems) + ". Do not interpret "
        f"these effects, the pre-trend check or the site comparisons: {advice(style)}."
    )


def caveat_text(diagnostics: dict) -> str:
    """Short caveat drawn on figures of an unconverged fit; ``""`` when it converged."""
    if is_converged(diagnostics):
        return ""
    return "SAMPLER DID NOT CONVERGE: do not interpret this figure (see diagnostics.json)"
