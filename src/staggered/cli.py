"""Command line: ``staggered COMMAND`` for every command, a thin layer over the API.

Heavy libraries (PyMC, JAX, ArviZ, matplotlib, pandas) are imported inside the command
handlers, so that ``staggered --help`` and ``staggered specs`` start in well under a second.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from staggered import _quiet_notices
from staggered.cli_parser import _parser

if TYPE_CHECKING:
    import pandas as pd


def write_outputs(fit, out: Path) -> pd.DataFrame:
    """Write effects.csv, posterior.nc, diagnostics.json, summary.txt, figures, report.html.

    With effect modifiers also ``modifiers.csv`` (:meth:`Fit.modifiers`) and ``modifiers.png``;
    with several outcomes ``joint.csv`` (:meth:`Fit.joint`) and ``outcomes.png``.

    An unconverged fit's ``summary.txt`` opens with the WARNING line, its ``diagnostics.json``
    has ``"converged": false`` and the problems, and its figures and report say so too.
    """
    from staggered.diagnostics import find_problems
    from staggered.diagnostics_text import problems_text

    out.mkdir(parents=True, exist_ok=True)
    effects = fit.effects()
    from staggered.effects_csv import effects_for_csv

    # rounded for people (effects_for_csv); full precision: posterior.nc, Fit.effects()
    effects_for_csv(effects).to_csv(out / "effects.csv", index=False)
    from staggered.cli_outcomes import write_joint_outputs

    write_joint_outputs(fit, out)
    if fit.panel.n_modifiers:
        from staggered.modifier_effects import modifiers_for_csv

        modifiers_for_csv(fit.modifiers()).to_csv(out / "modifiers.csv", index=False)
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


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """``warnings.formatwarning`` for the CLI: the package's warnings as "WARNING: ..." lines.

    Without the source path and code line; other warnings as Python formats them.
    (Replacing ``formatwarning`` rather than ``showwarning`` leaves warnings that a caller
    records, as ``pytest.warns`` does, recorded.)
    """
    if category.__module__.startswith("staggered"):
        return f"WARNING: {message}\n"
    return _PYTHON_FORMATWARNING(message, category, filename, lineno, line)


_PYTHON_FORMATWARNING = warnings.formatwarning


def _print_headline(
    fit, effects: pd.DataFrame, out: Path, rope: float = 0.02, extra: str = ""
) -> None:
    """Print the warning once, the summary, the pooled table and the pre-trend check.

    ``extra`` is printed after them, before the closing warning.
    """
    from staggered.diagnostics_text import problems_text

    warning = problems_text(fit.diagnostics)
    _print_warning(warning)
    summary = fit.summary()
    if warning and summary.startswith(warning):  # just printed: once is enough on the console
        summary = summary[len(warning) :].lstrip("\n")
    print(summary)
    pooled = effects[(effects["scope"] == "pooled")]
    measure = "relative" if fit.spec.is_count else "absolute"
    pooled = pooled[pooled["measure"] == measure]
    if len(fit.outcomes) > 1 and fit.spec.is_count:
        from staggered.cli_outcomes import joint_headline

        print(joint_headline(fit, rope))
    else:
        print(f"\nPooled {measure} effect by event time ({fit.config['level']:.0%} intervals):")
        print(
            pooled[["event_time", "mean", "lower", "upper", "prob_negative"]]
            .round(4)
            .to_string(index=False)
        )
    if fit.pretrend is not None and len(fit.outcomes) == 1:
        print()
        if warning:
            print("Not interpretable (the sampler did not converge):")
        print(fit.pretrends(rope=rope))
    if fit.panel.n_modifiers:
        print(_modifiers_headline(fit))
    written = "effects.csv, modifiers.csv" if fit.panel.n_modifiers else "effects.csv"
    written += ", joint.csv" if len(fit.outcomes) > 1 and fit.spec.is_count else ""
    print(
        f"\nWrote {out}/{written}, posterior.nc, diagnostics.json, summary.txt, "
        "figures and report.html"
    )
    if extra:
        print(extra)
    _print_warning(warning)


def _modifiers_headline(fit) -> str:
    """The modifiers at the default event time of the site figures (half the sites reach it)."""
    from staggered.modifier_effects import default_event_time

    table = fit.modifiers()
    e = default_event_time(fit.design)
    at = table[table["event_time"] == e]
    measure = "relative_per_sd" if fit.spec.is_count else "absolute_per_sd"
    rows = at[at["measure"].isin([measure, "variance_share"])]
    return (
        f"\nEffect modifiers at event time {e} ({int(rows['n_units'].iloc[0])} treated units "
        f"observed; per_sd: change in the effect for a site one sd above the mean; "
        f"variance_share: share of the between-site variance explained):\n"
        + rows[["modifier", "measure", "mean", "lower", "upper", "modifier_sd"]]
        .round(4)
        .to_string(index=False)
    )


def _command_line() -> str:
    import shlex

    return "staggered " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _fit_kwargs(args) -> dict:
    return {
        "model": args.model,
        "draws": args.draws,
        "max_draws": args.max_draws,
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
    from staggered.cli_outcomes import column_list
    from staggered.fit import fit
    from staggered.panel_csv import read_panel_csv

    df = read_panel_csv(args.panel)  # errors name the file's lines
    result = fit(
        df,
        unit=args.unit,
        time=args.time,
        outcome=column_list(args.outcome, df.columns),
        exposure=column_list(args.exposure, df.columns),
        adoption=args.adoption,
        treated=args.treated,
        group=args.group,
        covariates=args.covariates,
        modifiers=args.modifiers,
        drop_always_treated=args.drop_always_treated,
        freq=args.freq,
        **_fit_kwargs(args),
    )
    result.config["command"] = _command_line()
    _print_headline(result, write_outputs(result, args.out), args.out, args.rope)
    return 0


def _run_demo(args) -> int:
    from staggered.datasets import demo_panel
    from staggered.diagnostics import find_problems
    from staggered.fit import fit

    sim = demo_panel()
    args.out.mkdir(parents=True, exist_ok=True)
    sim.panel.to_csv(args.out / "panel.csv", index=False)
    sim.truth.to_csv(args.out / "truth.csv", index=False, float_format="%.6g")
    print(f"Bundled example: {args.out}/panel.csv (truth in {args.out}/truth.csv)")
    result = fit(sim.panel, **sim.columns, **_fit_kwargs(args))
    result.config["command"] = _command_line()
    effects = write_outputs(result, args.out)
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
    check = f"true pooled effect inside the interval at {inside} of {len(pooled)} event times."
    if find_problems(result.diagnostics):
        check = f"Not meaningful for an unconverged fit (see the WARNING below): {check}"
    else:
        check = check[0].upper() + check[1:]
    _print_headline(result, effects, args.out, args.rope, extra="\n" + check)
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
    flags = " ".join(
        f"--{role} {','.join(name) if isinstance(name, list) else name}"
        for role, name in cols.items()
        if role != "covariates"
    )
    flags += "".join(f" --covariate {name}" for name in cols.get("covariates", []))
    print(f"Fit it with: staggered fit {args.out} {flags} --out results/")
    if cols.get("covariates"):
        print(
            "The panel has a time-varying confounder; fit without --covariate to see the bias "
            "it leaves."
        )
    return 0


def _run_sbc(args) -> int:
    from staggered.cli_sbc import run_sbc_command

    return run_sbc_command(args)


def _run_compare_sites(args) -> int:
    from staggered.cli_sites import run_compare_sites

    return run_compare_sites(args)


def _run_report(args) -> int:
    from staggered.diagnostics_text import problems_text
    from staggered.io import load
    from staggered.report import write_report

    fit = load(args.results / "posterior.nc")
    path = write_report(fit, args.results)
    print(f"Wrote {path}")
    _print_warning(problems_text(fit.diagnostics))
    return 0


def _run_compare_models(args) -> int:
    from staggered.cli_compare import run_compare_models

    return run_compare_models(args)


def _run_specs(args) -> int:
    from staggered.models import available_specs, load_spec

    names = available_specs()
    width = max(map(len, names))
    for name in names:
        print(f"{name:{width}s}  {load_spec(name).summary}")
    return 0


def _run_assurance(args) -> int:
    from staggered.cli_assurance import run_assurance

    return run_assurance(args)


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
            warnings.formatwarning = _format_warning  # catch_warnings does not restore it
            try:
                return run[args.command](args)
            finally:
                warnings.formatwarning = _PYTHON_FORMATWARNING
    except (ValueError, FileNotFoundError) as err:
        from staggered.data import PanelError  # imported here: pandas is slow to import

        if isinstance(err, PanelError):  # rows named by their line in the CSV
            print(f"staggered: bad panel: {err}", file=sys.stderr)
        else:
            print(f"staggered: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
