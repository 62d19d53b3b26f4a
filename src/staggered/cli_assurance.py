"""``staggered assurance``: the command's handler (options in :mod:`staggered.cli_parser`)."""

from __future__ import annotations

from staggered.cli import _command_line


def _numbers(text: str, name: str, kind=float) -> list:
    try:
        return [kind(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from err


def run_assurance(args) -> int:
    """Run ``staggered assurance`` with the parsed ``args``; print and write its results."""
    import time

    import pandas as pd

    from staggered.assurance import assurance
    from staggered.assurance_report import headline_rows

    if ":" in args.rollout:
        pairs = [p.split(":") for p in args.rollout.split(",") if p.strip()]
        rollout = {int(y): float(s) for y, s in pairs}
    else:
        rollout = _numbers(args.rollout, "--rollout")
    shape = args.effect
    if shape not in ("ramp", "step", "delayed", "jcurve"):
        shape = _numbers(args.effect, "--effect (a shape name or a trajectory)")
    data = None
    if args.data is not None:
        from staggered.panel_csv import read_panel_csv

        data = read_panel_csv(args.data)
    checkpoint = args.checkpoint or args.out / "checkpoint.jsonl"
    start = time.perf_counter()
    result = assurance(
        data,
        unit=args.unit,
        time=args.time,
        outcome=args.outcome,
        exposure=args.exposure,
        sites=_numbers(args.sites, "--sites", int),
        comparison_areas=args.comparison_areas,
        rollout=rollout,
        history=args.history,
        follow_up=_numbers(args.follow_up, "--follow-up", int),
        freq=args.freq,
        effect=shape,
        size=args.size,
        ramp=args.ramp,
        delay=args.delay,
        site_sd=args.site_sd,
        injection=args.injection,
        threshold=args.threshold,
        level=args.level,
        simulations=args.simulations,
        null=not args.no_null,
        model=args.model,
        draws=args.draws,
        tune=args.tune,
        random_seed=args.seed,
        backend=args.backend,
        workers=args.workers,
        scheduler=args.scheduler,
        checkpoint=checkpoint,
        progressbar=not args.no_progress,
    )
    minutes = (time.perf_counter() - start) / 60
    result.settings.update({"minutes": round(minutes, 2), "command": _command_line()})
    result.save(args.out)
    if args.checkpoint is None:  # complete: fits.csv has it all
        checkpoint.unlink(missing_ok=True)
    cols = ["sites", "follow_up", "assurance", "assurance_se", "false_finding", "width"]
    pd.set_option("display.width", 120)
    print(result.text(target=args.target))
    print("\nCumulative effect since adoption declared a reduction:")
    print(headline_rows(result.table)[cols].round(3).to_string(index=False))
    print(
        f"\n{len(result.fits.groupby(['sites', 'follow_up', 'hypothesis', 'simulation']))} fits "
        f"in {minutes:.1f} min. Wrote {args.out}/assurance.csv, fits.csv, assurance.png, "
        "assurance.md, settings.json"
    )
    return 0
