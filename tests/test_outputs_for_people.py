"""Figures and tables that say what they show (issue 12, part 4), on fits without MCMC."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from staggered import compare, plots  # noqa: E402
from staggered.cli import main, write_outputs  # noqa: E402
from staggered.tables import fmt_count, fmt_number, fmt_pct, head_tail  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
SCIENTIFIC = re.compile(r"\d[eE][+-]\d")


@pytest.fixture(scope="module")
def wide_fit():
    """A converged fake fit of 60 areas (42 treated): more than the figures and tables show."""
    from fakes import CONVERGED, fake_fit
    from staggered.simulate import simulate

    sim = simulate("delayed", n_units=60, n_groups=4, random_seed=3)
    return fake_fit(sim, CONVERGED, command="staggered fit p.csv")


@pytest.fixture(scope="module")
def results(wide_fit, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    write_outputs(wide_fit, out)
    return out


def _ranking(fit):
    draws = compare.site_effect_draws(fit)
    return draws.attrs["window"][0], compare.ranks(draws), draws.shape[1]


def test_sites_figure_says_how_many_and_follows_the_rankings(wide_fit):
    e, ranks, observed = _ranking(wide_fit)
    fig = plots.site_trajectories(wide_fit, max_sites=12)
    title = fig._suptitle.get_text()
    plt.close(fig)
    assert f"12 of {observed} areas shown (the best ranked at event time {e})" in title
    drawn = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert drawn == list(ranks["id"].head(12))


def test_ranks_figure_names_its_event_time_and_how_many(wide_fit):
    e, ranks, observed = _ranking(wide_fit)
    fig = plots.rank_plot(wide_fit, max_sites=15)
    title = fig.axes[0].get_title()
    plt.close(fig)
    assert f"Site ranks at event time {e}" in title
    assert f"15 of {observed} areas shown" in title
    assert f"at event time {e}" in fig.axes[0].get_xlabel()


def test_forest_says_how_many_it_shows(wide_fit):
    e, _, observed = _ranking(wide_fit)
    fig = plots.forest(wide_fit, max_sites=10)
    title = fig.axes[0].get_title()
    plt.close(fig)
    assert f"10 of {observed} areas shown (the largest reductions at event time {e})" in title


def test_models_figure_in_percentages():
    from matplotlib.ticker import PercentFormatter

    from staggered.model_comparison import plot_pooled_by_model

    pooled = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b"],
            "event_time": [0, 1, 0, 1],
            "mean": [-0.02, -0.03, -0.025, -0.035],
            "lower": [-0.03, -0.04, -0.035, -0.045],
            "upper": [-0.01, -0.02, -0.015, -0.025],
        }
    )
    fig = plot_pooled_by_model(pooled)
    assert isinstance(fig.axes[0].yaxis.get_major_formatter(), PercentFormatter)
    plt.close(fig)
    fig = plot_pooled_by_model(pooled, relative=False)  # Gaussian models: absolute effects
    assert not isinstance(fig.axes[0].yaxis.get_major_formatter(), PercentFormatter)
    plt.close(fig)


def test_report_embeds_every_figure_and_formats_numbers_one_way(results):
    text = (results / "report.html").read_text()
    assert text.count("<img") == 4  # event study, sites, forest, ranks (as the docs say)
    tables = re.sub(r'src="data:image/png;base64,[^"]*"', "", text)
    assert not SCIENTIFIC.search(tables)
    assert re.search(r"15 of \d+ areas shown", tables)


def test_numbers_for_people():
    assert fmt_number(-5390.2) == "-5,390" and fmt_number(0.01234) == "0.0123"
    assert fmt_count(-83725.0) == "-83,725" and fmt_count(-0.2) == "0"
    assert fmt_pct(-0.0289) == "-2.9%" and fmt_pct(-0.00001) == "0.0%"
    shown, note = head_tail(pd.DataFrame({"id": range(30)}), 5, what="areas", where="x.csv")
    assert len(shown) == 11 and note == (
        "First and last 5 of 30 areas shown; the 20 in between are in x.csv."
    )


def test_rank_bounds_are_whole_ranks(wide_fit):
    _, ranks, _ = _ranking(wide_fit)
    assert ranks["rank_lower"].dtype.kind == "i" and ranks["rank_upper"].dtype.kind == "i"


def test_compare_sites_console_says_what_it_leaves_out(results, capsys):
    assert main(["compare-sites", str(results)]) == 0
    out = capsys.readouterr().out
    ranks = pd.read_csv(results / "compare_unit_ranks.csv")
    averted = pd.read_csv(results / "compare_unit_averted.csv")
    assert len(ranks) > 22 and len(averted) > 22  # the CSVs hold every site
    for table, name in ((ranks, "ranks"), (averted, "averted")):
        assert (
            f"First and last 10 of {len(table)} areas shown; the {len(table) - 20} in between "
            f"are in {results}/compare_unit_{name}.csv."
        ) in out
    assert "reach P(reduction) >= 0.9 at some event time" in out
    ranks_text = out[out.index("Ranks of") : out.index("P(row site")]
    assert not re.search(r"\d\.\d+\s+\d+\.\d5\b", ranks_text)  # no fractional rank bounds
    averted_text = out[out.index("Cumulative admissions") :]
    assert re.search(r"-\d{1,3},\d{3}\b", averted_text) and ".0 " not in averted_text
    assert len(out.splitlines()) < 100


def test_effects_csv_is_rounded_for_people_and_reads_back(wide_fit, results):
    text = (results / "effects.csv").read_text()
    assert not SCIENTIFIC.search(text)
    back = pd.read_csv(results / "effects.csv", keep_default_na=False)
    full = wide_fit.effects()
    assert list(back.columns) == list(full.columns) and len(back) == len(full)
    rel = (full["measure"] == "relative").to_numpy()
    for col in ("mean", "lower", "upper"):
        got, want = back[col].to_numpy(float), full[col].to_numpy(float)
        np.testing.assert_allclose(got[rel], want[rel], atol=5.1e-7)
        np.testing.assert_allclose(got[~rel], want[~rel], rtol=5.1e-4, atol=1e-12)
    np.testing.assert_allclose(back["prob_negative"], full["prob_negative"], atol=5.1e-5)
