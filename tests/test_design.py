import numpy as np
import pandas as pd
import pytest

from staggered import PanelError, encode_panel
from staggered.design import build_design


def _panel(adopt, n_periods=6, units=None):
    units = units or [f"u{i}" for i in range(len(adopt))]
    rows = [
        {"unit": u, "period": 2010 + t, "y": 10 + t, "start": a}
        for u, a in zip(units, adopt, strict=True)
        for t in range(n_periods)
    ]
    return pd.DataFrame(rows)


def _encode(df):
    return encode_panel(df, unit="unit", time="period", outcome="y", adoption="start")


def test_event_time_and_effect_cells():
    design = build_design(_encode(_panel([2012, 2014, ""])))
    et = design.event_time.reshape(3, 6)
    assert et[0].tolist() == [-2, -1, 0, 1, 2, 3]
    assert et[1].tolist() == [-4, -3, -2, -1, 0, 1]
    assert (et[2] == design.NO_EVENT).all()
    assert design.effect_cell.reshape(3, 6).sum(axis=1).tolist() == [4, 2, 0]
    assert design.event_times.tolist() == [0, 1, 2, 3]
    assert design.treated_units.tolist() == [0, 1]


def test_anticipation_adds_pre_period_effects():
    design = build_design(_encode(_panel([2012, 2014, ""])), anticipation=1)
    assert design.event_times.tolist() == [-1, 0, 1, 2, 3]
    # unit 0: 2011 (e=-1) is no longer a comparison cell
    assert design.effect_cell.reshape(3, 6)[0].tolist() == [False, True, True, True, True, True]


def test_horizon_bins_late_event_times():
    design = build_design(_encode(_panel([2011, ""])), horizon=2)
    assert design.event_times.tolist() == [0, 1, 2]
    # e = 0..4 -> 0, 1, 2, 2, 2
    assert design.effect_index.tolist() == [0, 1, 2, 2, 2]


def test_no_comparison_cells_names_periods():
    # every unit treated by 2014: 2014 and 2015 have no comparison cell
    df = _panel([2012, 2014])
    with pytest.raises(PanelError, match=r"2014, 2015.*event times 0, 1, 2, 3"):
        build_design(_encode(df))


def test_not_yet_treated_cells_are_comparison():
    # no never-treated unit, but the late cohort serves as comparison until it adopts
    df = _panel([2012, 2015], n_periods=5)
    design = build_design(_encode(df))
    assert design.effect_cell.sum() == 3


def test_unit_without_untreated_cell_is_an_error():
    df = _panel([2012, ""], n_periods=6)
    df = df[~((df.unit == "u0") & (df.period < 2012))]  # unit u0 observed only once treated
    with pytest.raises(PanelError, match="u0.*no observed period before adoption"):
        build_design(_encode(df))


def test_period_time_is_centred_in_years():
    design = build_design(_encode(_panel([2012, ""])))
    np.testing.assert_allclose(design.period_time, np.arange(6) - 2.5)


def test_placebo_cells_keep_each_units_earliest_cell_as_comparison():
    design = build_design(_encode(_panel([2012, 2014, ""])), placebo=3)
    assert design.event_times.tolist() == [-3, -2, -1, 0, 1, 2, 3]
    cells = design.effect_cell.reshape(3, 6)
    # unit 0 adopts 2012: 2010 (e=-2) is its earliest cell, stays comparison; 2011 is placebo
    assert cells[0].tolist() == [False, True, True, True, True, True]
    # unit 1 adopts 2014: e=-3..-1 = 2011-2013 placebo, 2010 comparison
    assert cells[1].tolist() == [False, True, True, True, True, True]
    assert not cells[2].any()
    assert design.first_effect_time == 0
    assert design.placebo == 3
