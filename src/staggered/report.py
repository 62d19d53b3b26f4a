"""One self-contained HTML report of a fit (figures embedded).

A fit whose sampler did not converge gets a red banner above everything else, a red
diagnostics box, a pre-trend verdict that says it cannot be interpreted, and red caveat strips
on its figures.
"""

from __future__ import annotations

import base64
import html
import io
import shlex
from importlib import metadata
from pathlib import Path

import pandas as pd

from staggered import compare, plots
from staggered.diagnostics import find_problems
from staggered.diagnostics_text import kept_draws_text, problems_text, walk_refit_text
from staggered.season_check import season_note
from staggered.tables import people_table

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:2em auto;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ddd;
padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
.note{color:#555;font-size:.9em}.warn{background:#fff3cd;padding:.6em;border-left:4px solid #e0a800}
.ok{background:#e8f5e9;padding:.6em;border-left:4px solid #43a047}
.bad{background:#fdecea;padding:.6em;border-left:4px solid #c62828}
.banner{background:#c62828;color:#fff;padding:.8em 1em;font-weight:600;margin:0 0 1em}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.85em}
"""

PACKAGES = ("staggered", "pymc", "pytensor", "numpyro", "jax", "arviz", "numpy", "pandas")


def _versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _img(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _table(
    df: pd.DataFrame,
    pct: tuple[str, ...] = (),
    *,
    prob: tuple[str, ...] = ("prob_negative", "prob_best", "prob_in_rope"),
    counts: tuple[str, ...] = (),
) -> str:
    """An HTML table with numbers formatted one way (:func:`staggered.tables.people_table`)."""
    shown = people_table(df, pct=pct, prob=prob, counts=counts)
    return shown.to_html(index=False, escape=True, border=0)


def _tree_depth_text(d: dict) -> str:
    if d.get("mean_tree_depth") is None:
        return ""
    text = f" NUTS tree depth: mean {d['mean_tree_depth']:.1f}, largest {d.get('max_tree_depth')}"
    share = d.get("share_at_max_depth")
    if share is not None:
        text += f"; {100 * share:.0f}% of draws at the maximum depth {d.get('tree_depth_limit')}"
    return text + "."


def _site_sections(
    fit, effects: pd.DataFrame, n: int = 15, results: str | Path | None = None
) -> list[str]:
    """Site comparisons: the first ``n`` areas ranked (saying how many of how many, and why).

    ``results`` is the folder of ``posterior.nc``, named in the ``compare-sites`` command.
    With a group column, cumulative admissions by programme follow.
    """
    draws = compare.site_effect_draws(fit)
    ranks = compare.ranks(draws, level=fit.config.get("level", 0.9))
    e = draws.attrs["window"][0]
    total = effects[(effects.scope == "unit") & (effects.event_time >= 0)]["id"].nunique()
    shown = plots.shown_text(min(n, len(ranks)), len(ranks), total, "unit", f"event time {e}")
    folder = shlex.quote(str(results)) if results is not None else "RESULTS"
    command = f"<code>{html.escape(f'staggered compare-sites {folder}')}</code>"
    if results is None:
        command += " (RESULTS: the folder of this fit's posterior.nc)"
    why = (
        f" This page lists the {n} best ranked only; all {len(ranks)} are in the full table: "
        if len(ranks) > n
        else " The full table: "
    )
    ranks = ranks.head(n).assign(rank_mean=lambda r: r["rank_mean"].map(lambda v: f"{v:.1f}"))
    parts = [
        f"<p class='note'>Areas ranked by their effect at event time {e}, the latest one "
        f"that at least half as many areas reach as the best-covered one; {shown}. 1 = largest "
        f"reduction. Wide rank intervals mean sites cannot be told apart.{why}{command}.</p>",
        _table(ranks, pct=("effect_mean",)),
    ]
    if fit.panel.group_idx is not None:
        averted = compare.averted(effects, scope="group")
        parts.append("<h3>Cumulative admissions since adoption, by programme</h3>")
        parts.append("<p class='note'>Negative = admissions averted.</p>")
        parts.append(_table(averted, counts=("mean", "lower", "upper")))
    return parts


def _modifier_section(fit) -> list[str]:
    """Effect modifiers at the site figures' event time: per-sd changes, variance share, plot."""
    from staggered.modifier_effects import default_event_time

    e = default_event_time(fit.design)
    table = fit.modifiers()
    per_sd = "relative_per_sd" if fit.spec.is_count else "absolute_per_sd"
    rows = table[(table.event_time == e) & table.measure.isin([per_sd, "variance_share"])]
    cols = ["modifier", "measure", "mean", "lower", "upper", "prob_negative", "modifier_sd"]
    return [
        "<h2>Which contexts work: effect modifiers</h2>",
        f"<p class='note'>At event time {e} ({int(rows['n_units'].iloc[0])} treated areas "
        f"observed): {per_sd} = change in the effect for an area one sd (modifier_sd) above "
        "the treated areas' mean, the other modifiers at their means; variance_share = share "
        "of the between-area variance of the effect that the modifiers explain. Associations "
        "across areas, not randomised. Every event time: modifiers.csv.</p>",
        _table(rows[cols], pct=("mean", "lower", "upper") if fit.spec.is_count else ()),
        _img(plots.modifier_plot(fit, event_time=e)),
    ]


def build_report(fit, *, command: str | None = None, results: str | Path | None = None) -> str:
    """Return the HTML text of the report for a fit.

    Sections: data summary, diagnostics, pre-trend check, pooled and predictive effects,
    site comparisons, effect modifiers (with modifiers), figures, and the command and package
    versions that produced it. An unconverged fit's report opens with a red banner that says
    so. ``results`` (the folder of the fit's ``posterior.nc``) completes the commands the
    report suggests.
    """
    if len(fit.outcomes) > 1:  # outcomes side by side, then each outcome's report
        from staggered.outcome_report import build_joint_report

        return build_joint_report(fit, command=command, results=results)
    count = fit.spec.is_count
    measure = "relative" if count else "absolute"
    effects = fit.effects()
    problems = find_problems(fit.diagnostics)
    parts = _head(fit, problems)
    parts.append("<h2>Data</h2><pre>" + html.escape(fit.panel.summary()) + "</pre>")
    season = season_note(fit)
    if season:
        parts.append(f"<p class='warn'>{html.escape(season)}</p>")
    parts += _diagnostics_section(fit.diagnostics, problems)
    if fit.pretrend is not None:
        parts += _pretrend_section(fit, problems)
    parts += _pooled_sections(fit, effects, measure)
    if count:
        parts += _comparison_section(fit, effects, results)
    if fit.panel.n_modifiers and "modifier_coef" in fit.idata.posterior:
        parts += _modifier_section(fit)
    parts += _reproduce_section(fit, command)
    parts.append("</body></html>")
    return "\n".join(parts)


def _head(fit, problems: list[str]) -> list[str]:
    """The HTML head, the banner of an unconverged fit, the title and the model."""
    d = fit.diagnostics
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>staggered report: {html.escape(fit.spec.name)}</title>"
        f"<style>{_CSS}</style></head><body>"
    ]
    if problems:
        # advice in the form the fit was made: flags for `staggered fit`, arguments otherwise
        style = "cli" if fit.config.get("command") else "python"
        parts.append(
            f"<div class='banner' role='alert'>{html.escape(problems_text(d, style=style))}</div>"
        )
    parts.append("<h1>Programme effect on admissions: staggered-rollout analysis</h1>")
    parts.append(
        f"<p class='note'>Model <b>{html.escape(fit.spec.name)}</b>: "
        f"{html.escape(fit.spec.summary)}</p>"
    )
    return parts


def _diagnostics_section(d: dict, problems: list[str]) -> list[str]:
    """Whether the sampler converged, and its settings, time, R-hat, ESS and divergences."""
    box = "bad" if problems else "ok"
    text = (
        (
            "The sampler did not converge: " + "; ".join(problems) + ". Do not interpret the "
            "results on this page."
        )
        if problems
        else "No sampling problems detected."
    )
    return [
        "<h2>Sampling diagnostics</h2>",
        f"<p class='{box}'>{html.escape(text)}</p><p>{d.get('chains')} chains x "
        f"{d.get('draws')} draws{kept_draws_text(d)} ({d.get('tune')} warm-up) with "
        f"{html.escape(str(d.get('sampler')))} in {d.get('seconds', 0):.0f} s. "
        f"Max R-hat {d.get('max_rhat', float('nan')):.3f}; "
        f"min ESS bulk {d.get('min_ess_bulk', float('nan')):.0f}, tail "
        f"{d.get('min_ess_tail', float('nan')):.0f}; {d.get('divergences')} divergences"
        f"{html.escape(walk_refit_text(d))}."
        f"{_tree_depth_text(d)}</p>",
    ]


def _pretrend_section(fit, problems: list[str]) -> list[str]:
    """The pre-trend check's verdict (not interpretable when unconverged) and its table."""
    check = fit.pretrends()
    verdict = html.escape(str(check))
    if problems:
        box = "bad"
        verdict = (
            "<b>Not interpretable: the sampler did not converge (see the top of this "
            "page).</b> " + verdict
        )
    else:
        box = {"equivalence": "ok", "divergence": "bad"}.get(check.verdict, "warn")
    return [
        "<h2>Pre-trend check</h2>",
        f"<p class='{box}'>{verdict}</p>",
        _table(check.table, pct=("mean", "lower", "upper") if fit.spec.is_count else ()),
    ]


def _pooled_sections(fit, effects, measure: str) -> list[str]:
    """The pooled effect by event time (table and event-study figure) and the predictive one."""
    pct = ("mean", "lower", "upper") if fit.spec.is_count else ()
    pooled = effects[
        (effects.scope == "pooled")
        & (effects.measure == measure)
        & (effects.event_time >= fit.design.first_effect_time)
    ]
    cols = ["event_time", "mean", "lower", "upper", "prob_negative"]
    parts = ["<h2>Pooled effect by time since adoption</h2>"]
    parts.append(
        "<p class='note'>Change in the admission rate of all treated sites observed at each "
        f"event time, weighted by expected admissions; {fit.config.get('level', 0.9):.0%} "
        "intervals; prob_negative = posterior probability of a reduction.</p>"
    )
    parts.append(_table(pooled[cols], pct=pct))
    parts.append(_img(plots.event_study(fit)))
    pred = effects[(effects.scope == "predictive") & (effects.measure == measure)]
    parts.append("<h2>What a new site should expect (predictive)</h2>")
    parts.append("<p class='note'>Includes the spread between programmes and areas.</p>")
    parts.append(_table(pred[cols], pct=pct))
    return parts


def _comparison_section(fit, effects, results: str | Path | None) -> list[str]:
    """Site comparisons of a count fit: tables, time to a detectable effect and figures."""
    parts = ["<h2>Site comparisons</h2>"]
    parts += _site_sections(fit, effects, results=results)
    ttd = compare.time_to_detectable(effects, scope="unit")
    n_det = int(ttd.first_detectable.notna().sum())
    parts.append(
        f"<p>{n_det} of {len(ttd)} areas reach a 90% probability of a reduction at "
        "some event time.</p>"
    )
    parts.append(_img(plots.site_trajectories(fit)))
    parts.append(_img(plots.forest(fit)))
    parts.append(_img(plots.rank_plot(fit)))
    return parts


def _reproduce_section(fit, command: str | None) -> list[str]:
    """The command that made the fit, its seed and the package versions."""
    cmd = command or fit.config.get("command") or "(fitted from Python)"
    return [
        "<h2>Reproduce</h2>",
        f"<pre>{html.escape(cmd)}</pre>",
        "<p class='note'>Seed "
        + html.escape(str(fit.config.get("random_seed")))
        + ". Versions: "
        + html.escape(", ".join(f"{k} {v}" for k, v in _versions().items()))
        + "</p>",
    ]


def write_report(fit, out: str | Path, *, command: str | None = None) -> Path:
    """Write ``report.html`` for a fit into folder ``out`` (or to a ``.html`` path)."""
    out = Path(out)
    path = out if out.suffix == ".html" else out / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(fit, command=command, results=path.parent), encoding="utf-8")
    return path
