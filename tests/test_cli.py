"""The command line as a user runs it."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from staggered.cli import main
from staggered.effects import COLUMNS

TINY = ["--draws", "30", "--tune", "30", "--chains", "2", "--no-progress"]
COLS = [
    "--unit",
    "area",
    "--time",
    "period",
    "--outcome",
    "admissions",
    "--exposure",
    "population",
    "--adoption",
    "start",
    "--group",
    "programme",
]


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "p.csv"
    assert (
        main(
            [
                "simulate",
                "delayed",
                "--out",
                str(out),
                "--units",
                "24",
                "--groups",
                "3",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    return out


def test_simulate_writes_panel_and_truth(panel_csv):
    df = pd.read_csv(panel_csv)
    assert list(df.columns) == ["area", "programme", "period", "admissions", "population", "start"]
    truth = pd.read_csv(panel_csv.with_name("p_truth.csv"))
    assert set(truth.scope) == {"pooled", "unit"}


def test_simulate_confounded_prints_a_fit_command_with_its_covariate(tmp_path, capsys):
    out = tmp_path / "conf.csv"
    assert main(["simulate", "confounded", "--out", str(out), "--units", "20"]) == 0
    assert "age75_share" in pd.read_csv(out).columns
    printed = capsys.readouterr().out
    command = next(line for line in printed.splitlines() if line.startswith("Fit it with"))
    assert command.endswith("--covariate age75_share --out results/")
    assert "--covariates" not in command and "without --covariate" in printed


@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_fit_same_seed_gives_identical_effects(panel_csv, tmp_path, capsys):
    for run in ("a", "b"):
        args = ["fit", str(panel_csv), *COLS, *TINY, "--seed", "7", "--placebo", "0"]
        assert main([*args, "--out", str(tmp_path / run)]) == 0
    # 2 x 30 draws do not converge: the console (stdout, with the tables) and the files say so
    out = capsys.readouterr().out
    assert out.lstrip().startswith("WARNING: the sampler did not converge")
    assert "--draws" in out and "draws=" not in out
    summary = (tmp_path / "a" / "summary.txt").read_text()
    assert summary.startswith("WARNING: the sampler did not converge")
    diagnostics = json.loads((tmp_path / "a" / "diagnostics.json").read_text())
    assert diagnostics["converged"] is False and diagnostics["problems"]
    for key in ("mean_tree_depth", "max_tree_depth", "tree_depth_limit", "share_at_max_depth"):
        assert diagnostics[key] is not None
    a = (tmp_path / "a" / "effects.csv").read_bytes()
    assert a == (tmp_path / "b" / "effects.csv").read_bytes()
    eff = pd.read_csv(tmp_path / "a" / "effects.csv", keep_default_na=False)
    assert list(eff.columns) == COLUMNS
    for name in ("posterior.nc", "diagnostics.json", "summary.txt"):
        assert (tmp_path / "a" / name).exists()
    # compare sites from the saved fit
    assert main(["compare-sites", str(tmp_path / "a"), "--window", "0,2"]) == 0
    out = capsys.readouterr().out
    assert out.index("WARNING: the sampler did not converge") < out.index("Ranks of")
    ranks = pd.read_csv(tmp_path / "a" / "compare_unit_ranks.csv")
    assert ranks.rank_mean.is_monotonic_increasing
    assert main(["compare-sites", str(tmp_path / "a"), "--scope", "group"]) == 0


def test_bad_file_exits_with_message_not_traceback(panel_csv, tmp_path):
    df = pd.read_csv(panel_csv)
    df.loc[5, "admissions"] = -3
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "staggered.cli", "fit", str(bad), *COLS, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "negative" in proc.stderr and "admissions" in proc.stderr
    assert "(line 7 (-3.0))" in proc.stderr  # the offending row, by its line in the CSV


def test_unknown_column_is_reported(panel_csv, tmp_path, capsys):
    args = ["fit", str(panel_csv), *COLS, "--out", str(tmp_path)]
    args[args.index("admissions")] = "admits"
    assert main(args) == 2
    assert "admits" in capsys.readouterr().err


def test_specs_lists_shipped_models(capsys):
    assert main(["specs"]) == 0
    out = capsys.readouterr().out
    for name in ("negbin-rw", "negbin-rw-iid", "negbin-rw-factor", "poisson-rw", "normal-rw"):
        assert f"{name}  " in out


def test_comparison_option_parses_and_reaches_the_fit():
    from staggered.cli import _fit_kwargs, _parser

    base = ["fit", "p.csv", "--unit", "u", "--time", "t", "--outcome", "y", "--out", "o"]
    args = _parser().parse_args(base)
    assert _fit_kwargs(args)["comparison"] == "not-yet-treated"
    args = _parser().parse_args([*base, "--comparison", "never-treated"])
    assert _fit_kwargs(args)["comparison"] == "never-treated"
    with pytest.raises(SystemExit):
        _parser().parse_args([*base, "--comparison", "never"])


def test_never_treated_comparison_without_never_treated_units_is_reported(
    panel_csv, tmp_path, capsys
):
    df = pd.read_csv(panel_csv)
    treated_only = tmp_path / "treated.csv"
    df[df["start"].notna()].to_csv(treated_only, index=False)
    args = ["fit", str(treated_only), *COLS, "--comparison", "never-treated"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad panel" in err and "every unit of the panel adopts" in err


def _red(png) -> bool:
    """The top-centre pixel of a figure is the caveat strip's red."""
    import matplotlib.pyplot as plt

    img = plt.imread(png)
    r, g, b = img[3, img.shape[1] // 2, :3]
    return r > 0.7 and g < 0.3 and b < 0.3


def test_outputs_of_an_unconverged_fit_say_so(small_sim, tmp_path):
    from fakes import UNCONVERGED, fake_fit
    from staggered.cli import write_outputs
    from staggered.diagnostics import SamplingWarning

    fit = fake_fit(small_sim, UNCONVERGED, command="staggered fit p.csv")
    write_outputs(fit, tmp_path)
    lines = (tmp_path / "summary.txt").read_text().splitlines()
    assert lines[0].startswith("WARNING: the sampler did not converge: max R-hat 1.310 > 1.010")
    diagnostics = json.loads((tmp_path / "diagnostics.json").read_text())
    assert diagnostics["converged"] is False
    assert diagnostics["share_at_max_depth"] == 0.4 and diagnostics["tree_depth_limit"] == 10
    assert "stale text from an older version" not in diagnostics["problems"]
    assert len(diagnostics["problems"]) == 3
    for name in ("event_study.png", "sites.png", "forest.png", "ranks.png"):
        assert _red(tmp_path / name), name
    assert "class='banner'" in (tmp_path / "report.html").read_text()
    # the saved fit warns whenever it is loaded, naming Python arguments from Python
    import staggered as stg

    with pytest.warns(SamplingWarning, match="posterior.nc did not converge.*draws="):
        stg.load(tmp_path / "posterior.nc")


def test_outputs_of_a_converged_fit_have_no_warning(small_sim, tmp_path, capsys):
    from fakes import CONVERGED, fake_fit
    from staggered.cli import write_outputs

    write_outputs(fake_fit(small_sim, CONVERGED), tmp_path)
    assert not (tmp_path / "summary.txt").read_text().startswith("WARNING")
    assert json.loads((tmp_path / "diagnostics.json").read_text())["converged"] is True
    assert not _red(tmp_path / "event_study.png")
    assert main(["compare-sites", str(tmp_path)]) == 0  # no SamplingWarning (an error here)
    assert "WARNING" not in capsys.readouterr().out


@pytest.fixture
def unconverged_folder(small_sim, tmp_path):
    from fakes import UNCONVERGED, fake_fit

    fake_fit(small_sim, UNCONVERGED).save(tmp_path / "posterior.nc")
    return tmp_path


def test_compare_sites_of_an_unconverged_fit_warns_where_the_tables_go(unconverged_folder, capsys):
    from staggered.diagnostics import SamplingWarning

    with pytest.warns(SamplingWarning, match="did not converge.*--draws"):
        assert main(["compare-sites", str(unconverged_folder)]) == 0
    out = capsys.readouterr().out
    first = out.index("WARNING: the sampler did not converge")
    assert first < out.index("Ranks of") < out.index("prob_best")
    assert "WARNING: the sampler did not converge" in out[out.index("Wrote") :]
    assert "--target-accept" in out


def test_report_command_of_an_unconverged_fit_warns(unconverged_folder, capsys):
    from staggered.diagnostics import SamplingWarning

    with pytest.warns(SamplingWarning, match="did not converge"):
        assert main(["report", str(unconverged_folder)]) == 0
    assert "WARNING: the sampler did not converge" in capsys.readouterr().out
    html = (unconverged_folder / "report.html").read_text()
    assert html.split("<body>", 1)[1].lstrip().startswith("<div class='banner'")


def test_compare_command_names_unconverged_models(small_sim, tmp_path, capsys, monkeypatch):
    import pandas as pd

    from fakes import CONVERGED, UNCONVERGED, fake_fit
    from staggered import model_comparison
    from staggered.diagnostics import SamplingWarning

    fake_fit(small_sim, CONVERGED).save(tmp_path / "good" / "posterior.nc")
    fake_fit(small_sim, UNCONVERGED).save(tmp_path / "bad" / "posterior.nc")

    def compare_models(fits):
        table = pd.DataFrame(
            {"elpd_loo": [-10.0, -12.0], "n_cells": 40, "pareto_k_over_0.7": 0},
            index=list(fits),
        )
        pooled = pd.DataFrame(
            [(name, e, -0.02, -0.04, 0.0, 0.9) for name in fits for e in range(3)],
            columns=["model", "event_time", "mean", "lower", "upper", "prob_negative"],
        )
        return table, pooled

    monkeypatch.setattr(model_comparison, "compare_models", compare_models)
    args = ["compare", str(tmp_path / "good"), str(tmp_path / "bad"), "--out", str(tmp_path)]
    with pytest.warns(SamplingWarning, match="bad.posterior.nc did not converge"):
        assert main(args) == 0
    out = capsys.readouterr().out
    assert out.index("WARNING: model 'bad' did not converge") < out.index("PSIS-LOO")
    assert "'good'" not in out.split("PSIS-LOO")[0]
    assert _red(tmp_path / "models.png")
