"""The command line as a user runs it."""

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


@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
def test_fit_same_seed_gives_identical_effects(panel_csv, tmp_path):
    for run in ("a", "b"):
        assert (
            main(["fit", str(panel_csv), *COLS, *TINY, "--seed", "7", "--out", str(tmp_path / run)])
            == 0
        )
    a = (tmp_path / "a" / "effects.csv").read_bytes()
    assert a == (tmp_path / "b" / "effects.csv").read_bytes()
    eff = pd.read_csv(tmp_path / "a" / "effects.csv", keep_default_na=False)
    assert list(eff.columns) == COLUMNS
    for name in ("posterior.nc", "diagnostics.json", "summary.txt"):
        assert (tmp_path / "a" / name).exists()
    # compare sites from the saved fit
    assert main(["compare-sites", str(tmp_path / "a"), "--window", "0,2"]) == 0
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
    assert "5" in proc.stderr  # the offending row


def test_unknown_column_is_reported(panel_csv, tmp_path, capsys):
    args = ["fit", str(panel_csv), *COLS, "--out", str(tmp_path)]
    args[args.index("admissions")] = "admits"
    assert main(args) == 2
    assert "admits" in capsys.readouterr().err


def test_specs_lists_shipped_models(capsys):
    assert main(["specs"]) == 0
    out = capsys.readouterr().out
    for name in ("negbin-rw", "negbin-rw-ar1", "negbin-rw-factor", "poisson-rw", "normal-rw"):
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
