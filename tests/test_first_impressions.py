"""Small things a user sees first (issue 12, part 6): notices, repr, CSV errors, simulate."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from staggered import encode_panel
from staggered.cli import main
from staggered.data import PanelError, read_panel_csv

sys.path.insert(0, str(Path(__file__).parent))

COLS = {"unit": "area", "time": "period", "outcome": "admissions", "adoption": "start"}
ARVIZ = (
    "\nArviZ is undergoing a major refactor to improve flexibility and extensibility while "
    "maintaining a user-friendly interface."
)
BLAS = "PyTensor could not link to a BLAS installation. Operations that might benefit ..."


def _panel(n_units: int = 6, years=range(2010, 2020)) -> pd.DataFrame:
    rows = [
        {
            "area": f"A{u}",
            "period": y,
            "admissions": 100 + u,
            "start": 2015 if u < n_units // 2 else None,
        }
        for u in range(n_units)
        for y in years
    ]
    return pd.DataFrame(rows)


# --- third-party notices ----------------------------------------------------------------------


def test_cli_commands_do_not_print_library_notices(monkeypatch, capsys):
    import staggered.cli as cli

    def noisy(args):
        warnings.warn(ARVIZ, FutureWarning, stacklevel=1)
        warnings.warn(BLAS, UserWarning, stacklevel=1)
        warnings.warn("a warning of our own", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli, "_run_specs", noisy)
    with warnings.catch_warnings(record=True) as caught:
        assert main(["specs"]) == 0
    messages = [str(w.message) for w in caught]
    assert messages == ["a warning of our own"]  # only the notices are filtered


def test_importing_staggered_filters_the_notices_narrowly():
    import staggered

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        staggered._quiet_notices()
        warnings.warn(ARVIZ, FutureWarning, stacklevel=1)
        warnings.warn(BLAS, UserWarning, stacklevel=1)
        warnings.warn("ArviZ: something else", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["ArviZ: something else"]


# --- repr ---------------------------------------------------------------------------------------


def test_fit_repr_is_short_and_says_what_the_fit_is(small_sim):
    from fakes import CONVERGED, UNCONVERGED, fake_fit

    good = repr(fake_fit(small_sim, CONVERGED))
    assert len(good) < 300 and "array(" not in good
    assert good.startswith("<Fit negbin-rw: 30 units, 14 periods (2010 to 2023), 3 cohorts")
    assert "2 chains x 100 draws, converged" in good
    bad = repr(fake_fit(small_sim, UNCONVERGED))
    assert "NOT CONVERGED (max R-hat 1.310 > 1.010" in bad


# --- CSV errors name lines ----------------------------------------------------------------------


def test_csv_errors_name_file_lines(tmp_path, capsys):
    df = _panel()
    df.loc[5, "admissions"] = -3  # row index 5 is line 7 (header on line 1)
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    with pytest.raises(PanelError, match=r"negative counts in 1 row \(line 7 \(-3\.0\)\)"):
        encode_panel(read_panel_csv(path), **COLS)
    args = ["fit", str(path), "--unit", "area", "--time", "period", "--outcome", "admissions"]
    assert main([*args, "--adoption", "start", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "(line 7 (-3.0))" in err and "index" not in err and "add" not in err


def test_csv_line_numbers_skip_blank_lines(tmp_path):
    df = _panel()
    text = df.to_csv(index=False).splitlines()
    text.insert(3, "")  # a blank line 4: rows after it sit one line lower
    df.loc[5, "admissions"] = -3
    text[7] = df.iloc[[5]].to_csv(index=False, header=False).strip()
    path = tmp_path / "p.csv"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(PanelError, match=r"1 row \(line 8 \(-3\.0\)\)"):
        encode_panel(read_panel_csv(path), **COLS)


def test_repeated_bad_values_are_listed_once_with_counts():
    df = _panel()
    df["period"] = [f"01/04/{y}" for y in df["period"]]  # UK dates
    df = df.sort_values(["period", "area"], kind="stable").reset_index(drop=True)
    with pytest.raises(PanelError) as info:
        encode_panel(df, **COLS)
    msg = str(info.value)
    assert "60 rows (index 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 50 more; 10 distinct values: " in msg
    assert "'01/04/2010' (6 rows), '01/04/2011' (6 rows)" in msg
    assert msg.count("'01/04/2010'") == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", r"empty\.csv is empty: staggered reads a long panel as comma-separated text"),
        (b"\n\n", r"empty\.csv is empty"),
        (b"area,period,admissions\n", r"header line \('area', 'period', 'admissions'\) but no"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), r"an Excel \.xlsx workbook, not a CSV"),
        (bytes(range(256)) * 4, r"empty\.csv is a binary file, not a CSV file"),
        (b'a,b\n1,"2\n', r"could not be read as CSV .*same number of commas"),
    ],
)
def test_unreadable_csv_names_the_file_and_what_is_expected(tmp_path, content, expected):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(PanelError, match=expected):
        read_panel_csv(path)


def test_cli_reports_unreadable_csv_without_traceback(tmp_path, capsys):
    path = tmp_path / "panel.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    args = ["fit", str(path), "--unit", "a", "--time", "t", "--outcome", "y", "--adoption", "s"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("staggered: bad panel: ") and str(path) in err and "CSV" in err


def test_windows_1252_csv_is_read(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes("area,period\nCôte,2019\n".encode("cp1252"))
    assert read_panel_csv(path)["area"].tolist() == ["Côte"]


# --- simulate ------------------------------------------------------------------------------------


def test_simulated_never_treated_areas_have_no_programme(tmp_path):
    from staggered import simulate

    sim = simulate("delayed", n_units=30, n_groups=4, random_seed=3)
    never = sim.panel["start"] == ""
    assert never.any() and (sim.panel.loc[never, "programme"] == "").all()
    assert "none" not in set(sim.panel["programme"])
    path = tmp_path / "sim.csv"
    sim.panel.to_csv(path, index=False)
    back = encode_panel(read_panel_csv(path), **sim.columns)
    summary = back.summary()
    assert "Groups: 4 (P01: 7, P02: 6, P03: 4, P04: 4); 9 never-treated units without a group" in (
        summary
    )
    assert np.array_equal(back.y, encode_panel(sim.panel, **sim.columns).y)
