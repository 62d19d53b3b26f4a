"""Command line: ``staggered fit | demo | simulate | specs`` (a thin layer over the API).

Heavy libraries (PyMC, JAX, ArviZ, matplotlib, pandas) are imported inside the command
handlers, so that ``staggered --help`` and ``staggered specs`` start in well under a second.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from staggered import _quiet_notices

if TYPE_CHECKING:
    import pandas as pd


class _Scenarios:
    """The ``simulate`` scenario names, read from ``staggered.simulate`` only when needed."""

    def _names(self) -> list[str]:
        from staggered.simulate import SCENARIOS

        return [*sorted(SCENARIOS), "prior"]

    def __iter__(self):
        return iter(self._names())

    def __contains__(self, name) -> bool:
        return name in self._names()


def _add_sampler_args(p: argparse.ArgumentParser, *, draws: int = 1000, chains: int = 4) -> None:
    p.add_argument("--model", default="negbin-rw", help="spec name or path (default negbin-rw)")
    p.add_argument("--draws", type=int, default=draws, help=f"draws per chain ({draws})")
    p.add_argument("--tune", type=int, default=draws, help=f"warm-up iterations ({draws})")
    p.add_argument("--chains", type=int, default=chains, help=f"chains ({chains})")
    p.add_argument("--target-accept", type=float, default=0.9, help="NUTS target (0.9)")
    p.add_argument(
        "--sampler",
        default="numpyro",
        choices=["numpyro", "blackjax", "nutpie", "pymc"],
        help="NUTS implementation (numpyro)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (1)")
    p.add_argument("--level", type=float, default=0.9, help="interval mass (0.9)")
    p.add_argument("--anticipation", type=int, default=0, help="periods of anticipation (0)")
    p.add_argument("--horizon", type=int, default=None, help="bin event times beyond this")
    p.add_argument(
        "--placebo",
        type=int,
        default=3,
        help="pre-trend check: pre-adoption periods given placebo effects in a separate fit "
        "on untreated cells (3; 0 = no check)",
    )
    p.add_argument(
        "--comparison",
        default="not-yet-treated",
        choices=["not-yet-treated", "never-treated"],
        help="units that inform the counterfactual's period effects (not-yet-treated)",
    )
    p.add_argument(
        "--rope", type=float, default=0.02, help="pre-trend equivalence half-width (0.02)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--out", required=True, type=Path, help="output folder")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="staggered",
        description="Bayesian causal inference for staggered programme rollout.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="fit a model to a panel CSV and write effects.csv etc.")
    f.add_argument("panel", type=Path, help="long panel CSV, one row per unit x period")
    f.add_argument("--unit", required=True, help="unit id column")
    f.add_argument("--time", required=True, help="period column")
    f.add_argument("--outcome", required=True, help="outcome column (counts for count models)")
    f.add_argument("--exposure", help="exposure column (population), log offset")
    f.add_argument("--adoption", help="first treated period column (empty = never)")
    f.add_argument("--treated", help="0/1 treated column, instead of --adoption")
    f.add_argument("--group", help="programme column (second pooling level)")
    f.add_argument(
        "--covariate",
        action="append",
        dest="covariates",
        metavar="NAME",
        help="numeric column the counterfactual adjusts for (repeatable)",
    )
    f.add_argument(
        "--drop-always-treated", action="store_true", help="drop units treated from the start"
    )
    _add_sampler_args(f)

    d = sub.add_parser("demo", help="fit the bundled example panel (simulated, truth kept)")
    _add_sampler_args(d)

    s = sub.add_parser("simulate", help="simulate a scenario panel with known truth")
    s.add_argument("scenario", choices=_Scenarios(), metavar="SCENARIO", help="one of %(choices)s")
    s.add_argument("--model", default="negbin-rw", help="spec whose prior 'prior' draws from")
    s.add_argument("--out", required=True, type=Path, help="panel CSV to write")
    s.add_argument("--truth", type=Path, help="truth CSV (default: <out stem>_truth.csv)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--units", type=int, default=150)
    s.add_argument("--groups", type=int, default=20)
    s.add_argument("--periods", type=int, default=None, help="default: 14 years' worth")
    s.add_argument("--freq", choices=["year", "quarter", "month"], default="year")

    c = sub.add_parser("sbc", help="simulation-based calibration of a model spec")
    c.add_argument("--model", default="negbin-rw", help="spec that simulates (and fits)")
    c.add_argument("--fit-model", default=None, help="fit a different spec (wrong pairing)")
    c.add_argument("--replicates", type=int, default=100)
    c.add_argument("--units", type=int, default=30)
    c.add_argument("--groups", type=int, default=4)
    c.add_argument("--periods", type=int, default=10)
    c.add_argument("--freq", choices=["year", "quarter", "month"], default="year")
    c.add_argument("--draws", type=int, default=300, help="draws per replicate fit (300)")
    c.add_argument("--tune", type=int, default=300, help="warm-up per replicate fit (300)")
    c.add_argument(
        "--backend",
        choices=["serial", "processes", "dask"],
        default=None,
        help="where replicates run (default: dask with --scheduler, serial with --workers 1, "
        "else processes)",
    )
    c.add_argument(
        "--workers",
        type=int,
        default=None,
        help="process pool or Dask LocalCluster size (default: all cores)",
    )
    c.add_argument(
        "--scheduler", default=None, help="run on an existing Dask cluster (tcp://HOST:PORT)"
    )
    c.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="JSONL of finished replicates; rerunning resumes it (default: OUT/checkpoint.jsonl, "
        "removed when the run completes)",
    )
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    c.add_argument("--out", required=True, type=Path, help="output folder")

    k = sub.add_parser("compare-sites", help="compare sites' posterior effects from a fit folder")
    k.add_argument("results", type=Path, help="folder written by `staggered fit` (posterior.nc)")
    k.add_argument("--scope", choices=["unit", "group"], default="unit", help="areas or programmes")
    k.add_argument(
        "--event-time",
        type=int,
        default=None,
        help="event time to compare at (default: the latest one that at least half as many "
        "sites reach as the best-covered one)",
    )
    k.add_argument("--window", default=None, help="inclusive event-time window, e.g. 3,5")
    k.add_argument("--sites", default=None, help="comma-separated site ids for pairwise table")
    k.add_argument("--threshold", type=float, default=0.9, help="detectable if P(<0) >= this")

    r = sub.add_parser("report", help="write report.html for a fit folder")
    r.add_argument("results", type=Path, help="folder written by `staggered fit` (posterior.nc)")

    m = sub.add_parser(
        "compare", help="compare fitted models (LOO on untreated cells, pooled effects)"
    )
    m.add_argument("fits", nargs="+", type=Path, help="posterior.nc files (or fit folders)")
    m.add_argument("--out", type=Path, default=None, help="folder for CSVs and models.png")

    sub.add_parser("specs", help="list the shipped model specs")
    _add_assurance_parser(sub)
    return parser


def _add_assurance_parser(sub) -> None:
    a = sub.add_parser(
        "assurance",
        help="probability that a planned evaluation detects a hypothesised effect",
        description="Simulate (or, with --data, inject into a real pre-programme panel) the "
        "planned rollout with and without the hypothesised effect, fit each panel at every "
        "follow-up length, and report P(declared a reduction) with Monte Carlo errors.",
    )
    a.add_argument("--data", type=Path, help="real pre-programme panel CSV (plasmode)")
    a.add_argument("--unit", help="unit id column of --data")
    a.add_argument("--time", help="period column of --data")
    a.add_argument("--outcome", help="count column of --data")
    a.add_argument("--exposure", help="population column of --data")
    a.add_argument("--sites", default="40", help="number(s) of adopting sites, e.g. 20,40,60")
    a.add_argument(
        "--comparison-areas", type=int, default=40, help="never-adopting areas (simulated: 40)"
    )
    a.add_argument(
        "--rollout",
        default="0.5,0.5",
        help="share of sites adopting in each rollout year (0.5,0.5) or YEAR:SHARE,... "
        "(2026:0.5,2027:0.5)",
    )
    a.add_argument("--history", type=int, default=5, help="years before the first adoption (5)")
    a.add_argument("--follow-up", default="3,5,7", help="years of follow-up to analyse (3,5,7)")
    a.add_argument("--freq", choices=["year", "quarter", "month"], default="year")
    a.add_argument(
        "--effect",
        default="ramp",
        help="ramp, step, delayed, jcurve, or relative effects by event time, written "
        "--effect=-0.01,-0.02,-0.03",
    )
    a.add_argument("--size", type=float, default=-0.03, help="full-size effect (-0.03)")
    a.add_argument("--ramp", type=float, default=4.0, help="years to full size (4)")
    a.add_argument("--delay", type=float, default=None, help="years before the ramp starts")
    a.add_argument("--site-sd", type=float, default=0.0, help="between-site sd of the effect")
    a.add_argument("--injection", choices=["thin", "scale"], default="thin", help="plasmode")
    a.add_argument("--threshold", type=float, default=0.95, help="P(reduction) to declare one")
    a.add_argument("--level", type=float, default=0.9, help="interval mass for widths (0.9)")
    a.add_argument("--target", type=float, default=0.8, help="assurance to aim for (0.8)")
    a.add_argument("--simulations", type=int, default=100, help="panels per site count (100)")
    a.add_argument("--no-null", action="store_true", help="skip the no-effect fits")
    a.add_argument("--model", default="negbin-rw", help="count model spec (negbin-rw)")
    a.add_argument("--draws", type=int, default=500, help="draws per fit (500, one chain)")
    a.add_argument("--tune", type=int, default=500, help="warm-up per fit (500)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument(
        "--backend", choices=["serial", "processes", "dask"], default=None, help="as for sbc"
    )
    a.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    a.add_argument("--scheduler", default=None, help="existing Dask cluster (tcp://HOST:PORT)")
    a.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="JSONL of finished fits; rerunning resumes it (default: OUT/checkpoint.jsonl, "
        "removed when the run completes)",
    )
    a.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    a.add_argument("--out", required=True, type=Path, help="output folder")


def write_outputs(fit, out: Path) -> pd.DataFrame:
    """Write effects.csv, posterior.nc, diagnostics.json, summary.txt, figures, report.html.

    An unconverged fit's ``summary.txt`` opens with the WARNING line, its ``diagnostics.json``
    has ``"converged": false`` and the problems, and its figures and report say so too.
    """
    from staggered.diagnostics import find_problems, problems_text

    out.mkdir(parents=True, exist_ok=True)
    effects = fit.effects()
    from staggered.effects import effects_for_csv

    # rounded for people (effects_for_csv); full precision: posterior.nc, Fit.effects()
    effects_for_csv(effects).to_csv(out / "effects.csv", index=False)
    fit.save(out / "posterior.nc")
    # strict JSON: NaN (e.g. R-hat of a single chain) becomes null
    diagnostics = {
        k: (None if isinstance(v, float) and v != v else v) for k, v in fit.diagnostics.items()
    }
    problems = find_problems(fit.diagnostics)
    diagnostics["problems"] = problems
    diagnostics["converged"] = not problems
    (out / "diagnostics.json").write_text(json.dumps(diagnostics, indent=2) + "\n")
    summary = fit.summary()
    warning = problems_text(fit.diagnostics)
    if warning and warning not in summary:
        summary = warning + "\n" + summary
    (out / "summary.txt").write_text(summary + "\n")
    from staggered.plots import write_figures
    from staggered.report import write_report

    write_figures(fit, out)
    write_report(fit, out)
    return effects


def _print_warning(text: str) -> None:
    """Print a WARNING paragraph to stdout, where the tables go (warnings also go to stderr)."""
    if text:
        print(f"\n{text}\n", flush=True)


def _print_headline(fit, effects: pd.DataFrame, out: Path, rope: float = 0.02) -> None:
    from staggered.diagnostics import problems_text

    warning = problems_text(fit.diagnostics)
    _print_warning(warning)
    print(fit.summary())
    pooled = effects[(effects["scope"] == "pooled")]
    measure = "relative" if fit.spec.is_count else "absolute"
    pooled = pooled[pooled["measure"] == measure]
    print(f"\nPooled {measure} effect by event time ({fit.config['level']:.0%} intervals):")
    print(
        pooled[["event_time", "mean", "lower", "upper", "prob_negative"]]
        .round(4)
        .to_string(index=False)
    )
    if fit.pretrend is not None:
        print()
        if warning:
            print("Not interpretable (the sampler did not converge):")
        print(fit.pretrends(rope=rope))
    print(
        f"\nWrote {out}/effects.csv, posterior.nc, diagnostics.json, summary.txt, "
        "figures and report.html"
    )
    _print_warning(warning)


def _command_line() -> str:
    import shlex

    return "staggered " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _fit_kwargs(args) -> dict:
    return {
        "model": args.model,
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "target_accept": args.target_accept,
        "sampler": args.sampler,
        "random_seed": args.seed,
        "level": args.level,
        "anticipation": args.anticipation,
        "horizon": args.horizon,
        "placebo": args.placebo,
        "comparison": args.comparison,
        "progressbar": not args.no_progress,
    }


def _run_fit(args) -> int:
    from staggered.data import read_panel_csv
    from staggered.fit import fit

    df = read_panel_csv(args.panel)  # errors name the file's lines
    result = fit(
        df,
        unit=args.unit,
        time=args.time,
        outcome=args.outcome,
        exposure=args.exposure,
        adoption=args.adoption,
        treated=args.treated,
        group=args.group,
        covariates=args.covariates,
        drop_always_treated=args.drop_always_treated,
        **_fit_kwargs(args),
    )
    result.config["command"] = _command_line()
    _print_headline(result, write_outputs(result, args.out), args.out, args.rope)
    return 0


def _run_demo(args) -> int:
    from staggered.datasets import demo_panel
    from staggered.fit import fit

    sim = demo_panel()
    args.out.mkdir(parents=True, exist_ok=True)
    sim.panel.to_csv(args.out / "panel.csv", index=False)
    sim.truth.to_csv(args.out / "truth.csv", index=False, float_format="%.6g")
    print(f"Bundled example: {args.out}/panel.csv (truth in {args.out}/truth.csv)")
    result = fit(sim.panel, **sim.columns, **_fit_kwargs(args))
    result.config["command"] = _command_line()
    effects = write_outputs(result, args.out)
    _print_headline(result, effects, args.out, args.rope)
    truth = sim.truth[sim.truth["scope"] == "pooled"].set_index("event_time")["value"]
    pooled = effects[
        (effects["scope"] == "pooled")
        & (effects["measure"] == "relative")
        & (effects["event_time"] >= 0)
    ]
    inside = (
        (pooled["lower"] <= pooled["event_time"].map(truth))
        & (pooled["event_time"].map(truth) <= pooled["upper"])
    ).sum()
    print(f"True pooled effect inside the interval at {inside} of {len(pooled)} event times.")
    return 0


def _run_simulate(args) -> int:
    from staggered.simulate import simulate

    sim = simulate(
        args.scenario,
        n_units=args.units,
        n_groups=args.groups,
        n_periods=args.periods,
        freq=args.freq,
        random_seed=args.seed,
        model=args.model,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sim.panel.to_csv(args.out, index=False)
    truth_path = args.truth or args.out.with_name(f"{args.out.stem}_truth.csv")
    sim.truth.to_csv(truth_path, index=False, float_format="%.6g")
    cols = sim.columns
    print(f"Wrote {args.out} ({len(sim.panel)} rows) and {truth_path}")
    print(
        f"Fit it with: staggered fit {args.out} --unit {cols['unit']} --time {cols['time']} "
        f"--outcome {cols['outcome']} --exposure {cols['exposure']} "
        f"--adoption {cols['adoption']} --group {cols['group']} --out results/"
    )
    return 0


def _run_sbc(args) -> int:
    import time

    from staggered.sbc import run_sbc

    checkpoint = args.checkpoint or args.out / "checkpoint.jsonl"
    start = time.perf_counter()
    result = run_sbc(
        args.model,
        fit_model=args.fit_model,
        replicates=args.replicates,
        n_units=args.units,
        n_groups=args.groups,
        n_periods=args.periods,
        freq=args.freq,
        draws=args.draws,
        tune=args.tune,
        backend=args.backend,
        workers=args.workers,
        scheduler=args.scheduler,
        random_seed=args.seed,
        progressbar=not args.no_progress,
        checkpoint=checkpoint,
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
        f"Wrote {args.out}/ranks.csv, summary.csv, verdicts.txt, ecdf.png"
    )
    return 0 if result.passed else 1


def _run_compare_sites(args) -> int:
    import pandas as pd

    from staggered import compare
    from staggered.diagnostics import problems_text
    from staggered.io import load
    from staggered.tables import compare_sites_text

    fit = load(args.results / "posterior.nc")
    warning = problems_text(fit.diagnostics)
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
    _print_warning(warning)
    prefix = args.results / f"compare_{args.scope}"
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
    ranks.to_csv(args.results / f"compare_{args.scope}_ranks.csv", index=False)
    matrix.to_csv(args.results / f"compare_{args.scope}_pairwise.csv")
    ttd.to_csv(args.results / f"compare_{args.scope}_detectable.csv", index=False)
    averted.to_csv(args.results / f"compare_{args.scope}_averted.csv", index=False)
    print(f"\nWrote {args.results}/compare_{args.scope}_*.csv")
    _print_warning(warning)
    return 0


def _run_report(args) -> int:
    from staggered.diagnostics import problems_text
    from staggered.io import load
    from staggered.report import write_report

    fit = load(args.results / "posterior.nc")
    path = write_report(fit, args.results)
    print(f"Wrote {path}")
    _print_warning(problems_text(fit.diagnostics))
    return 0


def _run_compare_models(args) -> int:
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


def _run_specs(args) -> int:
    from staggered.models import available_specs, load_spec

    names = available_specs()
    width = max(map(len, names))
    for name in names:
        print(f"{name:{width}s}  {load_spec(name).summary}")
    return 0


def _numbers(text: str, name: str, kind=float) -> list:
    try:
        return [kind(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from err


def _run_assurance(args) -> int:
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
        from staggered.data import read_panel_csv

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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``staggered`` command."""
    args = _parser().parse_args(argv)
    from staggered.diagnostics import advice_style

    run = {
        "fit": _run_fit,
        "demo": _run_demo,
        "simulate": _run_simulate,
        "sbc": _run_sbc,
        "compare-sites": _run_compare_sites,
        "report": _run_report,
        "compare": _run_compare_models,
        "specs": _run_specs,
        "assurance": _run_assurance,
    }
    try:
        # sampling warnings name the command's flags (--draws), not Python arguments
        with warnings.catch_warnings(), advice_style("cli"):
            warnings.simplefilter("default")
            _quiet_notices()  # simplefilter put every warning back, these two included
            return run[args.command](args)
    except (ValueError, FileNotFoundError) as err:
        from staggered.data import PanelError  # imported here: pandas is slow to import

        if isinstance(err, PanelError):  # rows named by their line in the CSV
            print(f"staggered: bad panel: {err}", file=sys.stderr)
        else:
            print(f"staggered: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
