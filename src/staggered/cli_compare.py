"""``staggered compare``: the command's handler (options in :mod:`staggered.cli_parser`)."""

from __future__ import annotations

from staggered.cli import _print_warning

LOO_COLUMNS = (
    "warning: ArviZ's flag that the Pareto-k diagnostic is high for some cells (above 0.7, or "
    "below it with few draws: 1 - 1/log10(draws)), so LOO is less reliable there; "
    "pareto_k_over_0.7: how many cells exceed 0.7 (see docs/compare.md)."
)
"""The line printed under the LOO table that explains its ``warning`` columns."""


def run_compare_models(args) -> int:
    """Run ``staggered compare`` with the parsed ``args``: LOO table, pooled effects, files."""
    import pandas as pd

    from staggered.diagnostics import advice, find_problems, is_converged
    from staggered.io import load
    from staggered.model_comparison import compare_models, plot_pooled_by_model

    fits = {}
    for path in args.fits:
        path = path / "posterior.nc" if path.is_dir() else path
        name = path.parent.name if path.name == "posterior.nc" else path.stem
        if name in fits:
            name = str(path)
        fits[name] = load(path)
    table, pooled = compare_models(fits)
    pd.set_option("display.width", 140)
    bad = [name for name, fit in fits.items() if not is_converged(fit.diagnostics)]
    warning = "\n".join(
        f"WARNING: model {name!r} did not converge: "
        + "; ".join(find_problems(fits[name].diagnostics))
        + f". Do not rank it or interpret its effects: {advice()}."
        for name in bad
    )
    _print_warning(warning)
    n = int(table["n_cells"].iloc[0])
    print(f"PSIS-LOO on the {n} cells untreated in every fit (higher elpd_loo = better):")
    print(table.drop(columns=["n_cells"]).round(2).to_string())
    print(LOO_COLUMNS)
    if (table["pareto_k_over_0.7"] > 0).any():
        print("Some cells have Pareto k > 0.7: their LOO estimates are unreliable.")
    from staggered.tables import fmt_number, fmt_pct

    relative = all(fit.spec.is_count for fit in fits.values())
    wide = pooled.pivot(index="event_time", columns="model", values="mean")
    print("\nPooled effect (posterior mean) by model:")
    print(wide.map(fmt_pct if relative else fmt_number).to_string())
    if args.out is not None:
        import matplotlib.pyplot as plt

        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "compare_models.csv")
        pooled.to_csv(args.out / "pooled_by_model.csv", index=False)
        caveat = f"DID NOT CONVERGE: {', '.join(bad)}: do not interpret" if bad else ""
        fig = plot_pooled_by_model(pooled, caveat=caveat, relative=relative)
        fig.savefig(args.out / "models.png", dpi=110)
        plt.close(fig)
        print(f"\nWrote {args.out}/compare_models.csv, pooled_by_model.csv, models.png")
    _print_warning(warning)
    return 0
