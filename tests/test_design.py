import numpy as np
import pandas as pd
import pytest

from staggered import PanelError, encode_panel
from staggered.design import build_design, fit_designs


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


def test_default_comparison_is_not_yet_treated_and_saved():
    design = build_design(_encode(_panel([2012, 2014, ""])), placebo=2)
    assert design.comparison == "not-yet-treated"
    assert design.to_dict() == {
        "anticipation": 0,
        "horizon": None,
        "placebo": 2,
        "comparison": "not-yet-treated",
    }


def test_never_treated_keeps_one_base_cell_per_treated_unit():
    # 8 periods 2010-2017; u0 adopts 2013 (e = -3..4), u1 2015 (e = -5..2), u2 never
    design = build_design(
        _encode(_panel([2013, 2015, ""], n_periods=8)), placebo=1, comparison="never-treated"
    )
    cells = design.effect_cell.reshape(3, 8)
    # base cell at e = -placebo - 1 = -2: 2011 for u0, 2013 for u1; every other cell is effect
    assert cells[0].tolist() == [True, False, True, True, True, True, True, True]
    assert cells[1].tolist() == [True, True, True, False, True, True, True, True]
    assert not cells[2].any()
    assert (~cells[:2]).sum(axis=1).tolist() == [1, 1]
    # event times reach back to the earliest pre-adoption cell (u1's e = -5)
    assert design.event_times.tolist() == list(range(-5, 5))
    assert design.placebo == 5 and design.first_effect_time == 0
    # effect_index points at each effect cell's own event time
    np.testing.assert_array_equal(
        design.event_times[design.effect_index], design.event_time[design.effect_cell]
    )
    # the requested placebo window, not the number of pre event times, rebuilds the design
    assert design.to_dict() == {
        "anticipation": 0,
        "horizon": None,
        "placebo": 1,
        "comparison": "never-treated",
    }
    rebuilt = build_design(design.panel, **design.to_dict())
    np.testing.assert_array_equal(rebuilt.effect_cell, design.effect_cell)


def test_never_treated_base_cell_falls_back_to_an_observed_cell():
    df = _panel([2013, 2015, ""], n_periods=8)
    df = df[~((df.unit == "u1") & (df.period == 2012))]  # u1 unobserved at its base (e = -3)
    design = build_design(_encode(df), placebo=2, comparison="never-treated")
    et, eff = design.event_time, design.effect_cell
    u = design.panel.unit_idx
    # u0 (e = -3..-1) has no cell before the window: its earliest pre cell is the base
    assert et[(u == 0) & ~eff].tolist() == [-3]
    # u1: the latest observed cell before the window, e = -4
    assert et[(u == 1) & ~eff].tolist() == [-4]
    assert design.event_times[0] == -5 and design.placebo == 5


def test_never_treated_with_anticipation_and_horizon():
    design = build_design(
        _encode(_panel([2013, 2015, ""], n_periods=8)),
        anticipation=1,
        horizon=2,
        comparison="never-treated",
    )
    # base at e = -anticipation - 1 = -2; placebo times -5..-2 before the anticipation window
    assert design.event_times.tolist() == list(range(-5, 3))
    assert design.placebo == 4 and design.first_effect_time == -1
    base = ~design.effect_cell & (design.event_time != design.NO_EVENT)
    assert design.event_time[base].tolist() == [-2, -2]


def test_never_treated_needs_never_treated_units():
    with pytest.raises(PanelError, match="every unit of the panel adopts.*2010"):
        build_design(_encode(_panel([2012, 2014], n_periods=6)), comparison="never-treated")
    # the never-treated unit is missing in 2011 and 2012, where u0 has its base and effect cells
    df = _panel([2012, ""], n_periods=6)
    df = df[~((df.unit == "u1") & df.period.isin([2011, 2012]))]
    with pytest.raises(
        PanelError, match=r"No never-treated unit is observed in period\(s\) 2011, 2012, where"
    ):
        build_design(_encode(df), comparison="never-treated")
    # not-yet-treated comparison needs no never-treated unit
    build_design(_encode(_panel([2012, 2015], n_periods=5)))


def test_invalid_comparison_is_an_error():
    with pytest.raises(ValueError, match="'not-yet-treated' or 'never-treated'.*'never'"):
        build_design(_encode(_panel([2012, ""])), comparison="never")


def test_comparison_survives_save_and_load(tmp_path):
    import arviz as az

    import staggered as stg
    from staggered.fit import Fit
    from staggered.models import load_spec

    panel = _encode(_panel([2013, 2015, ""], n_periods=8))
    design, check = fit_designs(panel, placebo=1, comparison="never-treated")
    idata = az.from_dict(posterior={"mu": np.zeros((1, 2))})
    spec = load_spec("negbin-rw")
    config = {**design.to_dict(), "placebo": 1}
    fit = Fit(idata=idata, design=design, spec=spec, config=config, source_panel=panel)
    fit.pretrend = Fit(idata=idata, design=check, spec=spec, config=config)
    loaded = stg.load(fit.save(tmp_path / "fit.nc"))
    assert loaded.design.comparison == "never-treated"
    # the estimation fit keeps one base cell per treated unit, no placebo cells
    np.testing.assert_array_equal(loaded.design.effect_cell, design.effect_cell)
    np.testing.assert_array_equal(loaded.design.event_times, design.event_times)
    assert loaded.design.event_times.min() == 0
    assert loaded.design.panel.n_cells < panel.n_cells
    # the check is rebuilt from the whole panel: placebo cells on untreated cells only
    np.testing.assert_array_equal(loaded.pretrend.design.effect_cell, check.effect_cell)
    assert loaded.pretrend.design.event_times.max() == -1
    # files written before the option existed have no key: not-yet-treated
    old = Fit(idata=idata, design=design, spec=spec, config={"placebo": 0}, source_panel=panel)
    assert stg.load(old.save(tmp_path / "old.nc")).design.comparison == "not-yet-treated"


def test_never_treated_needs_never_treated_units_in_base_periods_too():
    # u0's base cell (e = -4 with placebo=3) is 2010, where the never-treated unit is missing
    df = _panel([2014, ""])
    df = df[~((df.unit == "u1") & (df.period == 2010))]
    build_design(_encode(df), placebo=3)  # fine with not-yet-treated comparisons
    with pytest.raises(PanelError, match="2010"):
        build_design(_encode(df), placebo=3, comparison="never-treated")


def test_pretrend_check_that_cannot_be_built_is_announced():
    """Adoption one period after the panel starts: nothing to test, and the user is told."""
    rows = [
        {"unit": f"u{u}", "year": t, "y": 100 + u, "pop": 1000, "start": 2011 if u < 3 else None}
        for u in range(6)
        for t in range(2010, 2016)
    ]
    panel = encode_panel(
        pd.DataFrame(rows), unit="unit", time="year", outcome="y", exposure="pop", adoption="start"
    )
    with pytest.warns(UserWarning, match="No pre-trend check was fitted"):
        design, check = fit_designs(panel, placebo=3)
    assert check is None and design.effect_cell.any()
