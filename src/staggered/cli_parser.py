"""The command line's argument parser: every subcommand, option and default.

Kept apart from :mod:`staggered.cli` (the handlers) so that ``--help`` needs nothing else;
``docs/cli.md`` quotes these defaults and ``tests/test_docs_sync.py`` keeps them in step.
"""

from __future__ import annotations

import argparse
from pathlib import Path


class _Scenarios:
    """The ``simulate`` scenario names, read from ``staggered.simulate`` only when needed."""

    def _names(self) -> list[str]:
        from staggered.simulate import SCENARIOS

        return [*sorted(SCENARIOS), "prior", "two-outcomes"]

    def __iter__(self):
        return iter(self._names())

    def __contains__(self, name) -> bool:
        return name in self._names()


def _add_sampler_args(p: argparse.ArgumentParser, *, draws: int = 1000, chains: int = 4) -> None:
    p.add_argument("--model", default="negbin-rw", help="spec name or path (default negbin-rw)")
    p.add_argument("--draws", type=int, default=draws, help=f"draws per chain ({draws})")
    p.add_argument("--tune", type=int, default=draws, help=f"warm-up iterations ({draws})")
    p.add_argument(
        "--max-draws",
        type=int,
        default=None,
        help="sample on up to this many draws per chain until R-hat and ESS pass, keeping "
        "--draws evenly spaced (default 3 x --draws for chains x draws >= 1600 with nutpie; "
        "--max-draws equal to --draws switches it off)",
    )
    p.add_argument("--chains", type=int, default=chains, help=f"chains ({chains})")
    p.add_argument("--target-accept", type=float, default=0.9, help="NUTS target (0.9)")
    p.add_argument(
        "--sampler",
        default="nutpie",
        choices=["nutpie", "numpyro", "blackjax", "pymc"],
        help="NUTS implementation (nutpie: low-rank mass matrix; numpyro on a GPU)",
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

    _add_fit_parser(sub)

    d = sub.add_parser("demo", help="fit the bundled example panel (simulated, truth kept)")
    _add_sampler_args(d)

    _add_simulate_parser(sub)
    _add_sbc_parser(sub)
    _add_compare_sites_parser(sub)

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


def _add_fit_parser(sub) -> None:
    """The ``fit`` subcommand: a panel CSV, its column roles and the sampler options."""
    f = sub.add_parser("fit", help="fit a model to a panel CSV and write effects.csv etc.")
    f.add_argument("panel", type=Path, help="long panel CSV, one row per unit x period")
    f.add_argument("--unit", required=True, help="unit id column")
    f.add_argument(
        "--time",
        required=True,
        help="period column: int years, 2019Q3, 2019-07, financial years 2019/20, or dates",
    )
    f.add_argument(
        "--outcome",
        required=True,
        action="append",
        help="outcome column (counts for count models); repeat it or give a comma list to fit "
        "several outcomes jointly (writes joint.csv and outcomes.png)",
    )
    f.add_argument(
        "--exposure",
        action="append",
        help="exposure column (population), log offset; with several outcomes one shared "
        "column or one per outcome (repeated or a comma list)",
    )
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
        "--modifier",
        action="append",
        dest="modifiers",
        metavar="NAME",
        help="effect modifier: numeric column, one value per unit, that may explain how "
        "sites' effects differ (repeatable; writes modifiers.csv and modifiers.png)",
    )
    f.add_argument(
        "--drop-always-treated", action="store_true", help="drop units treated from the start"
    )
    f.add_argument(
        "--freq",
        choices=("year", "quarter", "month", "fy", "fq"),
        default=None,
        help="panel frequency (default: inferred from --time); fy = financial years, April to "
        "March (also reads int years 2015 as 2015/16), fq = financial quarters",
    )
    _add_sampler_args(f)


def _add_simulate_parser(sub) -> None:
    """The ``simulate`` subcommand: a scenario panel with known truth."""
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


def _add_sbc_parser(sub) -> None:
    """The ``sbc`` subcommand: simulation-based calibration of a spec."""
    c = sub.add_parser("sbc", help="simulation-based calibration of a model spec")
    c.add_argument("--model", default="negbin-rw", help="spec that simulates (and fits)")
    c.add_argument("--fit-model", default=None, help="fit a different spec (wrong pairing)")
    c.add_argument("--replicates", type=int, default=100)
    c.add_argument("--units", type=int, default=30)
    c.add_argument("--groups", type=int, default=4)
    c.add_argument("--periods", type=int, default=10)
    c.add_argument("--freq", choices=["year", "quarter", "month"], default="year")
    c.add_argument(
        "--covariates",
        type=int,
        default=0,
        help="time-varying covariates in the simulated panels (their coefficients are ranked)",
    )
    c.add_argument(
        "--outcomes",
        type=int,
        choices=[1, 2],
        default=1,
        help="2: SBC of the joint model of two outcomes (negbin-rw, yearly; their site-step "
        "correlation is ranked; --groups unused)",
    )
    c.add_argument("--draws", type=int, default=300, help="draws per replicate fit (300)")
    c.add_argument("--tune", type=int, default=300, help="warm-up per replicate fit (300)")
    c.add_argument(
        "--backend",
        choices=["serial", "processes", "dask"],
        default=None,
        help="where replicates run (default: serial with --workers 1, else dask: a local "
        "cluster of --workers processes, or the cluster at --scheduler)",
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


def _add_compare_sites_parser(sub) -> None:
    """The ``compare-sites`` subcommand: sites' effects from a fit folder."""
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
