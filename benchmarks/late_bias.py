"""Where does the pooled curve's late shortfall come from? Fit one grid panel under model variants.

On several of the coverage study's panels the pooled reduction is read short at the last
event times, which only the earliest cohorts reach (by 1.65 points on average over `q07`'s
later half, 2.3 at `y11`'s e = 7). One suspect is the unit trends: a treated unit's trend
applies to its effect cells too and its effect deviations are shrunk, so a growing effect can
be read partly as a steeper trend (the trade-off Wolfers (2006) described for unit trends with
dynamic effects), and a curving trend is extrapolated as a line. This script draws one grid
panel, optionally with its generator changed (``--set trend_sd=0``: no unit trends in the
truth), fits it under the default spec and variants of it (``--variant unit_trend=false``),
and prints the pooled error by event time of each. What it and the coverage study found:
``docs/validation.md``, "Session 16" (unit trends kept; on ``y11`` neither they nor the
step priors are the cause).

Example::

    python benchmarks/late_bias.py --panel y12-ramp --set trend_sd=0 \\
        --variant default --variant unit_trend=false --out benchmarks/out/late_bias.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

import staggered as stg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import coverage_study as study  # noqa: E402
from coverage_study import dgp  # noqa: E402


def _changes(pairs: list[str], current: dict, what: str) -> dict:
    """``key=value`` pairs, each value read as the type of ``current[key]`` (refused if not one)."""
    out = {}
    for pair in pairs:
        key, sep, text = (x.strip() for x in pair.partition("="))
        if not sep or not text:
            raise SystemExit(f"{what}: {pair!r} is not key=value")
        if key not in current:
            raise SystemExit(f"{what}: {key!r} is not one of {sorted(current)}")
        old = current[key]
        if isinstance(old, bool):
            if text.lower() not in ("true", "false"):
                raise SystemExit(f"{what}: {key} takes true or false, not {text!r}")
            out[key] = text.lower() == "true"
        elif isinstance(old, int | float | str):
            try:
                out[key] = type(old)(text)
            except ValueError:
                msg = f"{what}: {key} takes a {type(old).__name__}, not {text!r}"
                raise SystemExit(msg) from None
        else:
            raise SystemExit(f"{what}: {key} ({type(old).__name__}) cannot be set here")
    return out


def variant_spec(variant: str) -> stg.ModelSpec:
    """The default spec with ``key=value,...`` changes (a spec field or a prior scale)."""
    spec = stg.load_spec("negbin-rw")
    if variant == "default":
        return spec
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    settable = {k: v for k, v in fields.items() if k not in ("name", "priors")}
    changes = _changes(variant.split(","), {**settable, **spec.priors}, "--variant")
    priors = {k: changes.pop(k) for k in list(changes) if k in spec.priors}
    new = spec.replace(name=f"negbin-rw[{variant}]", priors=priors, **changes)
    return stg.load_spec(new.to_dict())  # the spec file's checks (names, choices)


def pooled_errors(gp, variant: str, args) -> dict:
    """Fit one variant; the pooled estimate, interval and truth at each event time."""
    start = time.perf_counter()
    fit = study.fit_panel(
        gp,
        model=variant_spec(variant),
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
    )
    eff = fit.effects(scopes=("pooled",))
    rows = study.pooled_rows(
        gp.truth, eff[(eff["measure"] == "relative") & (eff["event_time"] >= 0)]
    )
    if rows["mean"].isna().any():
        missing = rows.loc[rows["mean"].isna(), "event_time"].tolist()
        raise RuntimeError(f"{variant}: no pooled estimate at event times {missing}")
    err = (rows["mean"] - rows["value"]).to_numpy()
    inside = ((rows["lower"] <= rows["value"]) & (rows["value"] <= rows["upper"])).to_numpy()
    diag = fit.diagnostics
    return {
        "variant": variant,
        "seconds": round(time.perf_counter() - start, 1),
        "event_time": rows["event_time"].tolist(),
        "truth": rows["value"].tolist(),
        "error": err.tolist(),
        "coverage": float(inside.mean()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "max_rhat": diag["max_rhat"],
        "divergences": diag["divergences"],
        "scalars": study.scalar_summaries(fit.idata.posterior),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--panel", required=True)
    p.add_argument("--set", action="append", default=[], help="generator change, key=value")
    p.add_argument("--variant", action="append", default=[], help="'default' or key=value,...")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, help="fit seed (default: the panel's, as the study)")
    p.add_argument("--out")
    args = p.parse_args(argv)
    cfg = dgp.get(args.panel)
    changes = _changes(args.set, dataclasses.asdict(cfg), "--set")
    if changes:
        cfg = dataclasses.replace(cfg, **changes)
    if args.seed is None:
        args.seed = cfg.seed
    gp = dgp.generate(cfg)
    results = []
    for variant in args.variant or ["default"]:
        r = pooled_errors(gp, variant, args)
        results.append(r)
        e, err = np.array(r["event_time"]), np.array(r["error"])
        half = len(e) // 2
        print(
            f"{variant:28s} cov {r['coverage']:.2f} rmse {r['rmse']:.4f} "
            f"mean error early {100 * err[:half].mean():+.2f} late {100 * err[half:].mean():+.2f}"
            f" points; R-hat {r['max_rhat']:.3f}, {r['divergences']} divergences, "
            f"{r['seconds']:.0f} s",
            flush=True,
        )
        print("   by e: " + " ".join(f"{x:+.2f}" for x in 100 * err), flush=True)
        scalars = ", ".join(f"{k} {m:.4g} (sd {sd:.2g})" for k, (m, sd) in r["scalars"].items())
        print(f"   posterior: {scalars}", flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(
                {"panel": args.panel, "set": changes, "settings": vars(args), "results": results},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
