"""Problems a new user (an NHS analyst using only the README and docs) ran into."""

import importlib

import pandas as pd
import pytest

from staggered.cli import main

fit_module = importlib.import_module("staggered.fit")  # the package's fit() shadows the module


class _Stop(Exception):
    pass


def _year_panel():
    rows = []
    for i, u in enumerate(("a", "b", "c", "d")):
        for t in (2015, 2016, 2017, 2018):
            start = {"a": 2016, "b": 2017}.get(u)
            rows.append({"area": u, "fy": t, "y": 10 + i, "start": start})
    return pd.DataFrame(rows)


def test_fit_passes_freq_to_encode_panel(monkeypatch):
    seen = {}

    def stop(design, spec, **kw):
        seen["panel"] = design.panel
        raise _Stop

    monkeypatch.setattr(fit_module, "fit_design", stop)
    with pytest.raises(_Stop):
        fit_module.fit(
            _year_panel(), unit="area", time="fy", outcome="y", adoption="start", freq="fy"
        )
    assert seen["panel"].period_labels == ["2015/16", "2016/17", "2017/18", "2018/19"]
    assert "financial year starting in April" in seen["panel"].summary()


def test_cli_fit_has_freq(monkeypatch, tmp_path):
    seen = {}

    def stop(df, **kw):
        seen.update(kw)
        raise _Stop

    monkeypatch.setattr(fit_module, "fit", stop)
    _year_panel().to_csv(tmp_path / "p.csv", index=False)
    args = ["fit", str(tmp_path / "p.csv"), "--unit", "area", "--time", "fy", "--outcome", "y"]
    with pytest.raises(_Stop):
        main([*args, "--adoption", "start", "--out", str(tmp_path / "o"), "--freq", "fy"])
    assert seen["freq"] == "fy"


NOTE = "adoption dates mapped to the financial year that contains them (e.g. 2015-06-01 -> 2015/16)"


def test_saved_fit_keeps_the_panel_notes(small_sim, tmp_path):
    import dataclasses

    import staggered as stg
    from fakes import CONVERGED, fake_fit

    fit = fake_fit(small_sim, CONVERGED)
    fit.source_panel = dataclasses.replace(fit.source_panel, notes=(NOTE,))
    fit.save(tmp_path / "posterior.nc")
    assert f"Note: {NOTE}" in stg.load(tmp_path / "posterior.nc").panel.summary()
    assert main(["report", str(tmp_path)]) == 0
    assert f"Note: {NOTE}" in (tmp_path / "report.html").read_text().replace("&gt;", ">")


@pytest.fixture(scope="module")
def site_fit(small_sim):
    from fakes import CONVERGED, fake_fit

    return fake_fit(small_sim, CONVERGED)  # 13 of 21 treated areas reach event time 8


def _inside(fig, text) -> bool:
    box = text.get_window_extent(fig.canvas.get_renderer())
    return box.x0 >= 0 and box.x1 <= fig.bbox.width


def test_site_figure_subtitles_are_wrapped_inside_the_figure(site_fit):
    import matplotlib.pyplot as plt

    from staggered import plots

    for make in (plots.forest, plots.rank_plot, plots.site_trajectories):
        fig = make(site_fit)
        fig.canvas.draw()
        titles = [ax.title for ax in fig.axes] + [fig._suptitle] * (fig._suptitle is not None)
        assert all(_inside(fig, t) for t in titles if t.get_text()), make.__name__
        plt.close(fig)


def test_sites_figure_says_it_draws_the_areas_not_yet_at_the_event_time(site_fit):
    import matplotlib.pyplot as plt

    from staggered import plots

    fig = plots.site_trajectories(site_fit)
    drawn = sum(ax.get_visible() for ax in fig.axes)
    title = " ".join(fig._suptitle.get_text().split())
    plt.close(fig)
    assert drawn == 21
    assert "all 13 areas observed at event time 8 shown, in rank order" in title
    assert "then the 8 of 21 treated areas that have not reached it, by their effect" in title


def test_report_says_why_areas_are_left_out_and_names_the_folder(site_fit, tmp_path):
    from staggered.report import _site_sections

    note = _site_sections(site_fit, site_fit.effects(), n=10, results=tmp_path / "fy out")[0]
    assert "10 of 13 areas shown" in note
    assert "This page lists the 10 best ranked only; all 13 are in the full table" in note
    assert f"staggered compare-sites &#x27;{tmp_path}/fy out&#x27;" in note


def test_cli_shows_the_package_warnings_as_plain_lines(monkeypatch):
    import warnings

    from staggered import cli
    from staggered.diagnostics import SamplingWarning

    shown = {}

    def handler(args):
        fmt = warnings.formatwarning
        shown["own"] = fmt("Sampling problem: x", SamplingWarning, "/src/fit.py", 431, "code")
        shown["other"] = fmt("other", UserWarning, "/src/elsewhere.py", 7, "code")
        return 0

    monkeypatch.setattr(cli, "_run_specs", handler)
    before = warnings.formatwarning
    assert main(["specs"]) == 0
    assert shown["own"] == "WARNING: Sampling problem: x\n"
    assert "/src/elsewhere.py:7: UserWarning: other" in shown["other"]
    assert warnings.formatwarning is before  # only the CLI shows warnings this way


def test_demo_prints_the_warning_once_before_the_summary_and_caveats_its_check(
    monkeypatch, tmp_path, capsys
):
    from types import SimpleNamespace

    from fakes import UNCONVERGED, fake_fit
    from staggered.diagnostics_text import problems_text

    def fake(df, **kw):
        cols = ("unit", "time", "outcome", "exposure", "adoption", "group")
        return fake_fit(SimpleNamespace(panel=df, columns={c: kw[c] for c in cols}), UNCONVERGED)

    from staggered import cli

    monkeypatch.setattr(fit_module, "fit", fake)
    monkeypatch.setattr(cli, "write_outputs", lambda fit, out: fit.effects())  # no figures
    assert main(["demo", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    warning = problems_text(UNCONVERGED, style="cli")
    head = out[: out.index("Units:")]
    assert head.count(warning) == 1
    check = out.index("Not meaningful for an unconverged fit (see the WARNING below): true pooled")
    assert out.index("Wrote") < check < out.rindex(warning)
    assert "True pooled effect" not in out


def test_compare_explains_the_loo_warning_columns(small_sim, monkeypatch, tmp_path, capsys):
    from fakes import CONVERGED, fake_fit
    from staggered import io, model_comparison

    fits = {"a": fake_fit(small_sim, CONVERGED), "b": fake_fit(small_sim, CONVERGED)}
    monkeypatch.setattr(io, "load", lambda path: fits[path.stem])

    def compare_models(fits):
        table = pd.DataFrame(
            {"elpd_loo": [-10.0, -12.0], "warning": True, "n_cells": 40, "pareto_k_over_0.7": 0},
            index=list(fits),
        )
        pooled = pd.DataFrame(
            [(name, e, -0.02, -0.04, 0.0, 0.9) for name in fits for e in range(3)],
            columns=["model", "event_time", "mean", "lower", "upper", "prob_negative"],
        )
        return table, pooled

    monkeypatch.setattr(model_comparison, "compare_models", compare_models)
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]) == 0
    out = capsys.readouterr().out
    table_end = out.index("PSIS-LOO")
    line = next(x for x in out[table_end:].splitlines() if x.startswith("warning: "))
    assert "ArviZ's flag that the Pareto-k diagnostic is high for some cells" in line
    assert "pareto_k_over_0.7: how many cells exceed 0.7" in line
