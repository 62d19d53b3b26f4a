"""Effect modifiers: validation, the model term, tables, the CLI, save/load, recovery (slow)."""

import numpy as np
import pandas as pd
import pytest

from staggered.data import PanelError, encode_panel

COLUMNS = {
    "unit": "area",
    "time": "year",
    "outcome": "admissions",
    "exposure": "population",
    "adoption": "start",
}


def make_panel(n_units=12, n_periods=8, seed=0):
    """Yearly panel 2010-: a third of the units adopt 2013, a third 2015, a third never.

    Modifiers, one value per unit: ``imd`` (a score) and ``rural`` (0/1).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        start = 2013 if i < n_units // 3 else 2015 if i < 2 * n_units // 3 else np.nan
        imd, rural = float(rng.normal(20, 5)), float(i % 2)
        for t in range(n_periods):
            rows.append(
                {
                    "area": f"u{i:02d}",
                    "year": 2010 + t,
                    "admissions": int(rng.poisson(500)),
                    "population": 1e4,
                    "start": start,
                    "imd": imd,
                    "rural": rural,
                }
            )
    return pd.DataFrame(rows)


def encode(df, modifiers, **kw):
    return encode_panel(df, **COLUMNS, modifiers=modifiers, **kw)


# ------------------------------------------------------------------ validation


def test_panel_carries_one_value_per_unit():
    df = make_panel()
    p = encode(df, ["imd", "rural"])
    assert p.modifier_names == ("imd", "rural")
    assert p.modifiers.shape == (p.n_units, 2)
    first = df.groupby("area")[["imd", "rural"]].first()
    np.testing.assert_allclose(p.modifiers, first.loc[list(p.unit_labels)].to_numpy())
    assert "Effect modifiers: 2 ('imd', 'rural'" in p.summary()


def test_modifier_varying_within_a_unit_names_unit_and_rows():
    df = make_panel()
    df.loc[[3, 4], "imd"] = 99.0  # rows of unit u00
    with pytest.raises(PanelError, match=r"'imd' varies within 1 unit: 'u00' \(") as err:
        encode(df, ["imd"])
    assert "2 rows (index 3, 4; all 99.0)" in str(err.value)


def test_missing_modifier_names_rows_of_treated_units_only():
    df = make_panel()
    df.loc[[5, 9], "imd"] = np.nan  # units u00 and u01, treated
    with pytest.raises(PanelError, match=r"'imd' is missing in 2 rows \(index 5, 9\)"):
        encode(df, ["imd"])
    never = make_panel()
    never.loc[never["area"] == "u11", "imd"] = np.nan  # never treated: allowed
    p = encode(never, ["imd"])
    assert np.isnan(p.modifiers[-1, 0]) and not np.isnan(p.modifiers[:-1]).any()


def test_non_numeric_and_infinite_modifier_name_rows():
    df = make_panel()
    df["rural"] = df["rural"].astype(object)
    df.loc[[2], "rural"] = "yes"
    with pytest.raises(PanelError, match=r"'rural' has non-numeric values in 1 row \(index 2"):
        encode(df, ["rural"])
    df = make_panel()
    df.loc[[6], "imd"] = np.inf
    with pytest.raises(PanelError, match=r"'imd' has infinite values in 1 row \(index 6"):
        encode(df, ["imd"])


def test_modifier_names_roles_and_constant_refused():
    df = make_panel().assign(one=1.0)
    with pytest.raises(PanelError, match="Unknown column: modifier='nope'"):
        encode(df, ["nope"])
    with pytest.raises(PanelError, match="named more than once"):
        encode(df, ["imd", "imd"])
    with pytest.raises(PanelError, match=r"'population' \(the exposure column\) already has"):
        encode(df, ["population"])
    with pytest.raises(PanelError, match="'one' takes one value \\(1\\) in every unit treated"):
        encode(df, ["one"])
    # a column may be both a covariate and a modifier
    p = encode(df, ["imd"], covariates=["imd"])
    assert p.covariate_names == p.modifier_names == ("imd",)
