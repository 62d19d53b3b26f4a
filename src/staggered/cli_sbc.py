"""``staggered sbc``: the command's handler (options in :mod:`staggered.cli_parser`)."""

from __future__ import annotations

# options of the one-outcome run that the joint model's SBC does not take
_NOT_JOINT = {
    "--model": ("model", "negbin-rw"),
    "--fit-model": ("fit_model", None),
    "--covariates": ("covariates", 0),
    "--freq": ("freq", "year"),
}


def _joint_options(args) -> None:
    """Refuse one-outcome options with ``--outcomes 2`` (the joint run would ignore them)."""
    given = [flag for flag, (name, default) in _NOT_JOINT.items() if getattr(args, name) != default]
    if given:
        raise ValueError(
            f"--outcomes 2 runs SBC of the two-outcome joint negbin-rw model on a yearly panel; "
            f"it does not take {', '.join(given)}"
        )


def run_sbc_command(args) -> int:
    """Run ``staggered sbc`` with the parsed ``args``; print and write its results."""
    import time

    from staggered.sbc import run_sbc
    from staggered.sbc_outcomes import run_joint_sbc

    checkpoint = args.checkpoint or args.out / "checkpoint.jsonl"
    common = {
        "replicates": args.replicates,
        "n_units": args.units,
        "n_periods": args.periods,
        "draws": args.draws,
        "tune": args.tune,
        "backend": args.backend,
        "workers": args.workers,
        "scheduler": args.scheduler,
        "random_seed": args.seed,
        "progressbar": not args.no_progress,
        "checkpoint": checkpoint,
    }
    start = time.perf_counter()
    if args.outcomes == 2:
        _joint_options(args)
        result = run_joint_sbc(n_thin=min(100, args.draws), **common)
    else:
        result = run_sbc(
            args.model,
            fit_model=args.fit_model,
            n_groups=args.groups,
            freq=args.freq,
            covariates=args.covariates,
            **common,
        )
    minutes = (time.perf_counter() - start) / 60
    result.settings["minutes"] = round(minutes, 2)
    result.save(args.out)
    if args.checkpoint is None:  # complete: ranks.csv has it all
        checkpoint.unlink(missing_ok=True)
    print("\n".join(result.verdicts()))
    print(
        f"\n{args.replicates} replicates in {minutes:.1f} min "
        f"({args.replicates / minutes:.1f} per minute). Overall: "
        f"{'calibrated' if result.passed else 'MISCALIBRATED'}. "
        f"Wrote {args.out}/ranks.csv, summary.csv, verdicts.txt, settings.json, ecdf.png"
    )
    return 0 if result.passed else 1
