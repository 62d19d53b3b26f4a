"""Design-stage assurance: planned panels, plasmode injection, refusals, tiny end-to-end runs."""

import functools
import json
import runpy
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from staggered.assurance import FIT_COLUMNS, TABLE_COLUMNS, assurance, assurance_text, summarise
from staggered.assurance_panels import inject, plasmode_panel, plasmode_window, simulate_rollout
from staggered.assurance_plan import Effect, Rollout, cohort_sizes, rollout_shares
from staggered.assurance_report import sampler_text
from staggered.assurance_sweep import encode_real_panel

ROOT = Path(__file__).resolve().parents[1]
PLAN = Rollout(sites=8, comparison_areas=5, shares=(0.5, 0.25, 0.25), history=3, follow_up=4)


# --- effect shapes and the plan ------------------------------------------------------------


def test_effect_shapes_at_period_midpoints():
    e = np.arange(7)
    np.testing.assert_allclose(
        Effect("ramp", size=-0.04, ramp=4).relative(e),
        [-0.005, -0.015, -0.025, -0.035, -0.04, -0.04, -0.04],
    )
    np.testing.assert_allclose(Effect("step", size=-0.04).relative(e), -0.04)
    delayed = Effect("delayed", size=-0.04, ramp=2).relative(e)  # nothing for 2 years
    np.testing.assert_allclose(delayed, [0, 0, -0.01, -0.03, -0.04, -0.04, -0.04])
    j = Effect("jcurve", size=-0.04, ramp=2).relative(e)
    assert j[0] == j[1] == pytest.approx(0.02) and j[-1] == pytest.approx(-0.04)
    traj = Effect((-0.01, -0.02)).relative(np.array([-1, 0, 1, 5]))
    np.testing.assert_allclose(traj, [0, -0.01, -0.02, -0.02])
    # quarterly: the same ramp in years
    q = Effect("ramp", size=-0.04, ramp=1).relative(np.arange(4), ppy=4)
    np.testing.assert_allclose(q, [-0.005, -0.015, -0.025, -0.035])
    assert Effect().describe() == "a -3% effect reached after 4 years"
    assert "starting after 2 years" in Effect("delayed").describe()
    with pytest.raises(ValueError, match="shape"):
        Effect("wiggle")
    with pytest.raises(ValueError, match="> -1"):
        Effect("step", size=-1.5)


def test_cohort_sizes_and_rollout_shares():
    assert cohort_sizes(5, (0.5, 0.5)).tolist() == [3, 2]
    assert cohort_sizes(40, (0.2, 0.3, 0.5)).tolist() == [8, 12, 20]
    assert cohort_sizes(7, (1, 1, 1)).sum() == 7
    assert rollout_shares({2027: 0.5, 2029: 0.5}) == ((0.5, 0.0, 0.5), 2027)
    assert rollout_shares([1, 1]) == ((1.0, 1.0), None)


# --- simulated panels ----------------------------------------------------------------------


def test_simulated_panel_has_the_plan_and_the_injected_effect():
    effect = Effect("ramp", size=-0.1, ramp=2)
    sim = simulate_rollout(PLAN, effect, random_seed=5, simulation=2)
    p = sim.panel
    assert p["area"].nunique() == 13 and p["period"].nunique() == 7
    assert sorted(p["period"].unique()) == list(range(2023, 2030))
    starts = p.groupby("area")["start"].first()
    assert starts[starts.index.str.startswith("S")].value_counts().to_dict() == {
        "2026": 4,
        "2027": 2,
        "2028": 2,
    }
    assert (starts[starts.index.str.startswith("C")] == "").all()
    # the truth without noise: expected counts carry exactly the effect curve
    start = pd.to_numeric(p["start"], errors="coerce")
    e = np.where(start.notna(), p["period"] - start.fillna(0), -1).astype(int)
    ratio = p["expected"] / p["expected_untreated"]
    np.testing.assert_allclose(ratio, 1 + effect.relative(e), rtol=1e-12)
    pooled = sim.truth[sim.truth["measure"] == "relative"]
    np.testing.assert_allclose(pooled["value"], effect.relative(pooled["event_time"].to_numpy()))
    cum = sim.truth[sim.truth["measure"] == "cumulative"]["value"].item()
    assert cum == pytest.approx((p["expected"] - p["expected_untreated"]).sum())
    # NB noise around the expected counts
    assert (p["admissions"] != p["expected"].round()).any()
    assert np.corrcoef(p["admissions"], p["expected"])[0, 1] > 0.99


def test_quarterly_plan_adopts_at_the_start_of_a_year():
    from staggered.assurance_panels import COLUMNS
    from staggered.data import encode_panel

    plan = Rollout(sites=4, comparison_areas=3, history=2, follow_up=2, freq="quarter")
    sim = simulate_rollout(plan, Effect("ramp", size=-0.1, ramp=1))
    panel = encode_panel(sim.panel, **COLUMNS)
    assert panel.n_periods == 16 and panel.period_labels[8] == "2026Q1"
    assert sorted(panel.adoption_idx.tolist()) == [-1, -1, -1, 8, 8, 12, 12]
    pooled = sim.truth[sim.truth["measure"] == "relative"]["value"].to_numpy()
    np.testing.assert_allclose(pooled[:5], [-0.0125, -0.0375, -0.0625, -0.0875, -0.1])


def test_null_truncated_and_smaller_panels_are_paired():
    effect = Effect("step", size=-0.05)
    full = simulate_rollout(PLAN, effect, random_seed=1).panel
    null = simulate_rollout(PLAN, effect.null(), random_seed=1).panel
    untreated = full["expected"] == full["expected_untreated"]
    assert untreated.sum() < len(full)
    pd.testing.assert_series_equal(full["admissions"][untreated], null["admissions"][untreated])
    assert (full["admissions"][~untreated] <= null["admissions"][~untreated]).all()
    short = simulate_rollout(PLAN, effect, random_seed=1, follow_up=2).panel
    assert short["period"].max() == 2027
    merged = short.merge(full, on=["area", "period"], suffixes=("", "_full"))
    assert (merged["admissions"] == merged["admissions_full"]).all()
    # the 4-site plan's sites are the first four sites of the 8-site plan (same draws)
    small = simulate_rollout(Rollout(sites=4, comparison_areas=5, history=3, follow_up=4), effect)
    big = simulate_rollout(Rollout(sites=8, comparison_areas=5, history=3, follow_up=4), effect)
    a = small.panel.set_index(["area", "period"])["expected_untreated"]
    b = big.panel.set_index(["area", "period"])["expected_untreated"]
    pd.testing.assert_series_equal(a, b.loc[a.index])


def test_site_spread_scales_each_sites_curve():
    effect = Effect("ramp", size=-0.1, ramp=2, site_sd=0.05)
    p = simulate_rollout(PLAN, effect, random_seed=3).panel
    start = pd.to_numeric(p["start"], errors="coerce")
    e = (p["period"] - start).to_numpy()
    treated = e >= 0
    logr = np.log(p["expected"] / p["expected_untreated"])[treated]
    mult = logr / np.log1p(Effect("ramp", size=-0.1, ramp=2).relative(e[treated].astype(int)))
    per_site = mult.groupby(p["area"][treated]).agg(["min", "max"])
    np.testing.assert_allclose(per_site["min"], per_site["max"], rtol=1e-9)
    assert per_site["min"].std() > 0.1  # sites differ


# --- plasmode ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_panel():
    """A 'real' pre-programme panel: 12 areas, 2015-2024, nobody treated."""
    sim = simulate_rollout(
        Rollout(sites=1, comparison_areas=11, history=4, follow_up=6, first_year=2019),
        Effect("step", size=0.0),
        random_seed=11,
    )
    return sim.panel.drop(columns=["start", "expected", "expected_untreated"])


def test_plasmode_changes_only_sites_after_adoption(real_panel):
    panel = encode_real_panel(
        real_panel, unit="area", time="period", outcome="admissions", exposure="population"
    )
    assert (panel.adoption_idx == -1).all() and panel.n_periods == 10
    plan = Rollout(sites=5, shares=(0.6, 0.4), history=3, follow_up=4)
    assert plasmode_window(panel, plan) == (3, 6)  # 2018-2020 history, 2021-2024 follow-up
    effect = Effect("step", size=-0.2)
    frame, truth = plasmode_panel(panel, plan, effect, (7, 0), method="scale")
    assert sorted(frame["period"].unique()) == [str(y) for y in range(2018, 2025)]
    assert frame.groupby("area")["start"].first().value_counts().to_dict() == {
        "": 7,
        "2021": 3,
        "2022": 2,
    }
    orig = real_panel.assign(period=real_panel["period"].astype(str))
    merged = frame.merge(orig, on=["area", "period"], suffixes=("", "_real"))
    start = pd.to_numeric(merged["start"], errors="coerce")
    post = (merged["period"].astype(int) >= start).to_numpy()
    assert (merged["admissions"][~post] == merged["admissions_real"][~post]).all()
    ratio = merged["admissions"][post] / merged["admissions_real"][post]
    np.testing.assert_allclose(ratio, 0.8, atol=1e-3)  # rounding only
    np.testing.assert_allclose(truth.query("measure == 'relative'")["value"], -0.2)
    # binomial thinning: the same cells change, by the factor in expectation
    thin, _ = plasmode_panel(panel, plan, effect, (7, 0), method="thin")
    m = thin.merge(orig, on=["area", "period"], suffixes=("", "_real"))
    assert (m["admissions"][~post] == m["admissions_real"][~post]).all()
    assert m["admissions"][post].sum() / m["admissions_real"][post].sum() == pytest.approx(
        0.8, abs=0.002
    )
    # a shorter follow-up is the first years of the longer one; other seeds, other sites
    short, _ = plasmode_panel(panel, plan, effect, (7, 0), follow_up=2, method="thin")
    assert short["period"].max() == "2022"
    both = short.merge(thin, on=["area", "period"], suffixes=("", "_long"))
    assert len(both) == len(short) and (both["admissions"] == both["admissions_long"]).all()
    other, _ = plasmode_panel(panel, plan, effect, (7, 1), method="thin")
    assert set(other.query("start != ''")["area"]) != set(thin.query("start != ''")["area"])


def test_inject_multiplies_counts_in_expectation():
    rng = np.random.default_rng(0)
    y = np.full(20_000, 200)
    assert inject(y, np.full(y.size, np.log(0.9)), rng).mean() == pytest.approx(180, rel=2e-3)
    assert inject(y, np.full(y.size, np.log(1.1)), rng).mean() == pytest.approx(220, rel=2e-3)
    assert (inject(y, np.zeros(y.size), rng) == y).all()
    assert inject(np.array([10]), np.array([np.log(0.75)]), rng, "scale").tolist() == [8]
    with pytest.raises(ValueError, match="thin"):
        inject(y, np.zeros(y.size), rng, "add")


def test_too_short_or_small_panels_are_refused(real_panel):
    cols = dict(unit="area", time="period", outcome="admissions", exposure="population")
    with pytest.raises(ValueError, match=r"needs 12 years .*5 years of history.*7 years of follow"):
        assurance(real_panel, **cols, history=5, follow_up=[3, 7], sites=4, progressbar=False)
    with pytest.raises(ValueError, match=r"has 10 years \(2015 to 2024.*2 year\(s\) missing"):
        assurance(real_panel, **cols, history=5, follow_up=7, sites=4, progressbar=False)
    with pytest.raises(ValueError, match="12 units for 12 sites"):
        assurance(real_panel, **cols, history=3, follow_up=3, sites=[4, 12], progressbar=False)
    with pytest.raises(ValueError, match="column names"):
        assurance(real_panel, unit="area", time="period", progressbar=False)
    with pytest.raises(ValueError, match="count model"):
        assurance(model="normal-rw", progressbar=False)


# --- summaries -----------------------------------------------------------------------------


def test_summarise_counts_detections_with_mc_errors():
    rows = []
    divergent = {("effect", 1): 3, ("effect", 3): 12}
    for h, probs in (("effect", [0.99, 0.97, 0.5, 0.96]), ("no-effect", [0.1, 0.96, 0.2, 0.3])):
        for s, p in enumerate(probs):
            rows.append(
                dict(
                    sites=10,
                    follow_up=3,
                    hypothesis=h,
                    simulation=s,
                    measure="cumulative",
                    event_time=2,
                    mean=-1.0,
                    lower=-2.0 - s,
                    upper=0.0,
                    prob_negative=p,
                    truth=-1.0 if h == "effect" else 0.0,
                    divergences=divergent.get((h, s), 0),
                )
            )
    fits = pd.DataFrame(rows, columns=FIT_COLUMNS)
    table = summarise(fits, threshold=0.95)
    r = table.iloc[0]
    assert (r.assurance, r.false_finding, r.simulations) == (0.75, 0.25, 4)
    assert r.assurance_se == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    assert r.width == pytest.approx(3.5) and r.width_se == pytest.approx(
        np.std([2, 3, 4, 5], ddof=1) / 2
    )
    # the paragraph carries the sampler's warnings as plainly as the console
    warning = sampler_text(fits)
    assert "2 of 8 fits (25%) had divergent transitions (median 7.5, at most 12" in warning
    assert sampler_text(fits.assign(divergences=0)) == ""


# --- end to end (tiny chains) --------------------------------------------------------------

TINY = dict(
    sites=6,
    comparison_areas=6,
    history=3,
    follow_up=[2, 3],
    simulations=2,
    draws=40,
    tune=40,
    random_seed=3,
    progressbar=False,
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("assurance") / "fits.jsonl"
    return assurance(backend="serial", checkpoint=path, **TINY), path


def test_tiny_run_table_and_text(tiny_run, tmp_path):
    result, path = tiny_run
    t = result.table
    assert list(t.columns) == TABLE_COLUMNS
    # follow-up 2: event times 0, 1 + cumulative; follow-up 3: 0, 1, 2 + cumulative
    assert t.groupby("follow_up").size().to_dict() == {2: 3, 3: 4}
    assert (t["simulations"] == 2).all()
    assert t[["assurance_se", "false_finding_se", "width_se"]].notna().all().all()
    assert t["width"].gt(0).all() and t["assurance"].between(0, 1).all()
    rel = t[t["measure"] == "relative"]
    np.testing.assert_allclose(rel["truth"], Effect().relative(rel["event_time"].to_numpy()))
    assert len(result.fits) == 2 * 2 * 7 and set(result.fits["hypothesis"]) == {
        "effect",
        "no-effect",
    }
    text = assurance_text(result)
    assert text.startswith("Planned evaluation: a -3% effect reached after 4 years")
    assert "With 6 sites it is detected with probability" in text and "by year 3" in text
    assert "false-finding rate" in text
    out = result.save(tmp_path / "out")
    for name in ("assurance.csv", "fits.csv", "assurance.png", "assurance.md", "settings.json"):
        assert (out / name).exists()
    assert "Assurance of the planned evaluation" in (out / "assurance.md").read_text()
    # fits.csv reads back as written ("null" would come back as missing)
    back = pd.read_csv(out / "fits.csv")
    assert set(back["hypothesis"]) == {"effect", "no-effect"}
    diverged = (result.fits["divergences"] > 0).any()
    assert ("Sampler warning" in text) == diverged
    assert ("Sampler warning" in (out / "assurance.md").read_text()) == diverged
    assert len(path.read_text().splitlines()) == 1 + 8  # header + one line per fit


def test_same_seed_same_results_serial_and_processes(tiny_run):
    serial, _ = tiny_run
    # one follow-up (one compiled design per worker): the same fits as in the serial run
    pooled = assurance(backend="processes", workers=2, **{**TINY, "follow_up": [3]})
    pd.testing.assert_frame_equal(
        pooled.fits, serial.fits[serial.fits["follow_up"] == 3].reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        pooled.table, serial.table[serial.table["follow_up"] == 3].reset_index(drop=True)
    )


def test_resume_fits_only_the_rest(tiny_run, tmp_path, monkeypatch):
    serial, path = tiny_run
    lines = path.read_text().splitlines()
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(lines[:6]) + "\n")  # interrupted after five fits
    module = sys.modules["staggered.assurance"]
    original = module.assurance_task
    fitted = []

    @functools.wraps(original)
    def counting(item):
        fitted.append(item["key"])
        return original(item)

    monkeypatch.setattr(module, "assurance_task", counting)
    resumed = assurance(backend="serial", checkpoint=partial, **TINY)
    assert len(fitted) == 3
    pd.testing.assert_frame_equal(resumed.table, serial.table)
    # more simulations extend the same checkpoint; other settings are refused
    from staggered.sweeps import CheckpointError

    with pytest.raises(CheckpointError, match="draws"):
        assurance(backend="serial", checkpoint=partial, **{**TINY, "draws": 50})


def test_cli_writes_table_plot_and_text(tiny_run, tmp_path, capsys):
    from staggered.cli import main

    _, path = tiny_run
    ckpt = tmp_path / "ckpt.jsonl"
    shutil.copy(path, ckpt)  # all fits done: the CLI only summarises
    out = tmp_path / "cli"
    args = ["assurance", "--sites", "6", "--comparison-areas", "6", "--history", "3"]
    args += ["--follow-up", "2,3", "--simulations", "2", "--draws", "40", "--tune", "40"]
    args += ["--seed", "3", "--workers", "1", "--checkpoint", str(ckpt), "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "With 6 sites it is detected with probability" in printed
    table = pd.read_csv(out / "assurance.csv")
    assert list(table.columns) == TABLE_COLUMNS and (out / "assurance.png").exists()
    assert json.loads((out / "settings.json").read_text())["simulations"] == 2
    assert main(["assurance", "--effect=-0.01,x", "--out", str(out)]) == 2
    assert "--effect" in capsys.readouterr().err


def test_example_runs(tiny_run, tmp_path, monkeypatch, capsys):
    _, path = tiny_run
    ckpt = tmp_path / "ckpt.jsonl"
    shutil.copy(path, ckpt)
    args = ["--sites", "6", "--comparison-areas", "6", "--history", "3", "--follow-up", "2,3"]
    args += ["--simulations", "2", "--draws", "40", "--tune", "40", "--seed", "3"]
    args += ["--workers", "1", "--checkpoint", str(ckpt), "--out", str(tmp_path)]
    script = str(ROOT / "examples" / "assurance.py")
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(script, run_name="__main__")
    assert "Wrote" in capsys.readouterr().out


def test_lazy_export():
    import staggered as stg

    assert stg.assurance is assurance and stg.assurance_text is assurance_text


@pytest.mark.slow
def test_large_effect_is_detected_and_null_rarely_flagged():
    result = assurance(
        sites=12,
        comparison_areas=8,
        history=3,
        follow_up=2,
        effect="step",
        size=-0.2,
        simulations=20,
        draws=100,
        tune=100,
        random_seed=1,
        backend="serial",
        progressbar=False,
    )
    head = result.table[result.table["measure"] == "cumulative"].iloc[0]
    assert head.assurance >= 0.95
    # a calibrated decision rule flags about 5% of null panels: more than 4 of 20 has p < 0.003
    assert head.false_finding <= 0.2
    assert (result.fits.query("hypothesis == 'no-effect'")["truth"] == 0).all()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_plasmode_end_to_end(real_panel):
    result = assurance(
        real_panel,
        unit="area",
        time="period",
        outcome="admissions",
        exposure="population",
        sites=5,
        history=3,
        follow_up=[2],
        effect="step",
        size=-0.2,
        simulations=1,
        draws=60,
        tune=60,
        backend="serial",
        progressbar=False,
    )
    head = result.table[result.table["measure"] == "cumulative"].iloc[0]
    assert head.truth < 0 and head.assurance == 1.0
    assert "the panel's other units as comparison areas" in result.text()


# --- the pooled walk's form on small panels ------------------------------------------------


@pytest.mark.parametrize(
    ("divergences", "tried", "kept"),
    [
        ({"non-centred": 0, "centred": 5}, ["non-centred"], "non-centred"),
        ({"non-centred": 3, "centred": 1}, ["non-centred", "centred"], "centred"),
        ({"non-centred": 2, "centred": 2}, ["non-centred", "centred"], "non-centred"),
    ],
)
def test_auto_walk_refits_centred_only_after_a_divergence(monkeypatch, divergences, tried, kept):
    from types import SimpleNamespace

    import staggered.assurance_sweep as sweep
    from staggered.models import load_spec
    from staggered.sweeps import clear_worker_cache

    panel = SimpleNamespace(exposure=np.ones(4), y=np.zeros(4))
    calls = []

    class Sampler:
        def __init__(self, walk):
            self.walk = walk

        def sample(self, y, random_seed):
            calls.append(self.walk)
            return self.walk, {"divergences": divergences[self.walk]}

    def compile_(ctx, plan, follow_up, walk):
        return Sampler(walk), SimpleNamespace(panel=panel, walk=walk)

    monkeypatch.setattr(sweep, "_compile", compile_)
    clear_worker_cache()
    ctx = SimpleNamespace(spec=load_spec("negbin-rw"), token="test-walks")
    item = {"sites": 3, "follow_up": 2, "seed": [0, 1]}
    try:
        post, stats, design = sweep._sample_walks(ctx, item, PLAN, panel)
    finally:
        clear_worker_cache()
    assert calls == tried
    assert post == kept and stats["divergences"] == divergences[kept]
    assert stats["walks_run"] == len(tried) and design.panel is panel
    # a spec that names its walk is sampled in that form only
    from staggered.compiled import walk_order

    assert walk_order(load_spec("negbin-rw").replace(pooled_walk="centred")) == ("centred",)
    assert walk_order(load_spec("negbin-rw"), first="centred") == ("centred", "non-centred")


@pytest.mark.slow
def test_small_design_fits_rarely_diverge():
    # 10 sites and 10 comparison areas, 5 + 3 years: with the centred pooled walk 23 of 24
    # fits diverged (session 13); the non-centred walk first (and the centred as a refit)
    # leaves at most a few
    result = assurance(
        sites=10,
        comparison_areas=10,
        history=5,
        follow_up=3,
        simulations=6,
        random_seed=12,
        backend="serial",
        progressbar=False,
    )
    from staggered.assurance_report import fit_divergences

    assert (fit_divergences(result.fits) > 0).mean() <= 0.35
