"""``staggered compare-sites``: ranks, pairwise probabilities, detection, averted counts.

A fit of several outcomes gets one comparison per outcome (files ``compare_<scope>_<outcome>_*``)
and then the areas' effects on every outcome side by side (:mod:`staggered.cli_outcomes`).
"""

from __future__ import annotations

from staggered.cli import _print_warning

__all__ = ["run_compare_sites"]


def run_compare_sites(args) -> int:
    """``staggered compare-sites``: each outcome's comparison, then outcomes side by side."""
    from staggered.diagnostics_text import problems_text
    from staggered.io import load

    fit = load(args.results / "posterior.nc")
    warning = problems_text(fit.diagnostics)
    _print_warning(warning)
    for name in fit.outcomes:  # one comparison per outcome; files named after it if several
        tag = f"_{name}" if len(fit.outcomes) > 1 else ""
        if tag:
            print(f"\n=== Outcome: {name} ===")
        _compare_sites(fit.outcome_fit(name), args, tag)
    if len(fit.outcomes) > 1 and fit.spec.is_count:
        from staggered.cli_outcomes import print_sites_side_by_side

        print_sites_side_by_side(fit, args.results, args.scope, args.event_time)
    _print_warning(warning)
    return 0


def _compare_sites(fit, args, tag: str) -> None:
    """Ranks, pairwise probabilities, time to detection and averted counts of one outcome."""
    import pandas as pd

    from staggered import compare
    from staggered.tables import compare_sites_text

    window = None
    if args.window:
        try:
            first, last = (int(v) for v in args.window.split(","))
        except ValueError as err:
            raise ValueError(
                f"--window must be two integers like 3,5, got {args.window!r}"
            ) from err
        window = (first, last)
    draws = compare.site_effect_draws(
        fit, scope=args.scope, event_time=args.event_time, window=window
    )
    first, last = draws.attrs["window"]
    where = f"event time {first}" if first == last else f"event times {first}..{last}"
    n_all = fit.effects(scopes=(args.scope,)).query("event_time >= 0")["id"].nunique()
    noun = "areas" if args.scope == "unit" else "programmes"
    where += f" ({draws.shape[1]} of {n_all} {noun} observed there)"
    ranks = compare.ranks(draws, level=fit.config.get("level", 0.9))
    sites = args.sites.split(",") if args.sites else list(ranks["id"].head(8))
    matrix = compare.pairwise(draws, sites)
    effects = fit.effects(scopes=(args.scope,))
    ttd = compare.time_to_detectable(effects, threshold=args.threshold, scope=args.scope)
    averted = compare.averted(effects, scope=args.scope)
    pd.set_option("display.width", 120)
    prefix = args.results / f"compare_{args.scope}{tag}"
    print(
        compare_sites_text(
            ranks,
            matrix,
            ttd,
            averted,
            scope=args.scope,
            where=where,
            threshold=args.threshold,
            prefix=str(prefix),
        )
    )
    ranks.to_csv(f"{prefix}_ranks.csv", index=False)
    matrix.to_csv(f"{prefix}_pairwise.csv")
    ttd.to_csv(f"{prefix}_detectable.csv", index=False)
    averted.to_csv(f"{prefix}_averted.csv", index=False)
    print(f"\nWrote {prefix}_*.csv")
