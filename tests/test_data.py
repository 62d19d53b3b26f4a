import numpy as np
import pandas as pd
import pytest

from staggered.data import NO_GROUP, Panel, PanelError, encode_panel, parse_periods


def make_panel(
    units=("a", "b", "c", "d"),
    periods=(2015, 2016, 2017, 2018),
    adoption=None,
):
    """Balanced yearly panel; by default a adopts 2016, b 2017, c and d never."""
    if adoption is None:
        adoption = {"a": 2016, "b": 2017}
    rows = []
    for i, u in enumerate(units):
        for j, t in enumerate(periods):
            rows.append(
                {
                    "area": u,
                    "period": t,
                    "admissions": 10 * (i + 1) + j,
                    "population": 1000.0 + i,
                    "start": adoption.get(u, np.nan),
                    "ics": "north" if i % 2 == 0 else "south",
                }
            )
    return pd.DataFrame(rows)


def encode(df, **kw):
    args = {"unit": "area", "time": "period", "outcome": "admissions", "adoption": "start"}
    args.update(kw)
    return encode_panel(df, **args)


# ------------------------------------------------------------------ positive cases


def test_yearly_int_panel():
    df = make_panel()
    before = df.copy()
    p = encode(df, exposure="population", group="ics")
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert isinstance(p, Panel)
    assert p.freq == "year"
    assert p.period_labels == ["2015", "2016", "2017", "2018"]
    assert list(p.unit_labels) == ["a", "b", "c", "d"]
    assert p.n_units == 4 and p.n_periods == 4 and p.n_cells == 16 and p.n_groups == 2
    np.testing.assert_array_equal(p.adoption_idx, [1, 2, -1, -1])
    np.testing.assert_array_equal(p.treated_units, [True, True, False, False])
    np.testing.assert_array_equal(p.group_idx, [0, 1, 0, 1])
    assert list(p.group_labels) == ["north", "south"]
    assert p.unit_idx.dtype == np.int64 and p.period_idx.dtype == np.int64
    assert p.y.dtype == np.float64 and p.exposure.dtype == np.float64
    assert p.exposure[0] == 1000.0
    assert p.late_adopters == [] and p.dropped_always_treated == []
    assert p.columns["exposure"] == "population" and p.columns["treated"] is None
    assert p.family == "count"


def test_cells_sorted_and_row_index_kept():
    df = make_panel().sample(frac=1.0, random_state=1)
    df.index = [f"r{i}" for i in range(len(df))]
    p = encode(df)
    key = p.unit_idx * p.n_periods + p.period_idx
    assert np.all(np.diff(key) > 0)
    back = df.loc[p.row_index]
    np.testing.assert_array_equal(back["admissions"].to_numpy(dtype=float), p.y)
    np.testing.assert_array_equal(back["area"].to_numpy(), p.unit_labels[p.unit_idx])


def test_arrays_are_read_only():
    p = encode(make_panel())
    with pytest.raises(ValueError):
        p.y[0] = 1.0


def test_quarterly_string_panel_with_yearly_adoption():
    quarters = [f"{y}Q{q}" for y in (2013, 2014, 2015) for q in (1, 2, 3, 4)]
    df = make_panel(periods=quarters, adoption={"a": "2014", "b": "2014Q3"})
    p = encode(df)
    assert p.freq == "quarter"
    assert p.period_labels[0] == "2013Q1" and p.period_labels[-1] == "2015Q4"
    assert p.period_labels[p.adoption_idx[0]] == "2014Q1"
    assert p.adoption_idx[0] == 4
    assert p.period_labels[p.adoption_idx[1]] == "2014Q3"


def test_lowercase_quarters_and_int_yearly_adoption():
    quarters = [f"{y}q{q}" for y in (2013, 2014) for q in (1, 2, 3, 4)]
    df = make_panel(periods=quarters, adoption={"a": 2014.0, "b": 2013.0})
    df["start"] = df["start"].where(df["area"] != "b", 0.0)  # float 0 = never
    p = encode(df)
    np.testing.assert_array_equal(p.adoption_idx, [4, -1, -1, -1])


def test_monthly_panel():
    months = [f"2020-{m:02d}" for m in range(1, 13)]
    df = make_panel(periods=months, adoption={"a": "2020-05", "b": "2020-09-15"})
    p = encode(df)
    assert p.freq == "month"
    assert p.period_labels[:2] == ["2020-01", "2020-02"]
    assert p.period_labels[p.adoption_idx[0]] == "2020-05"
    assert p.period_labels[p.adoption_idx[1]] == "2020-09"


def test_finer_adoption_on_yearly_panel_maps_to_containing_year():
    df = make_panel(adoption={"a": "2016Q3", "b": "2017-11"})
    p = encode(df)
    np.testing.assert_array_equal(p.adoption_idx, [1, 2, -1, -1])


@pytest.mark.parametrize(
    ("dates", "freq", "first"),
    [
        (["2019-01-01", "2019-04-01", "2019-07-01", "2019-10-01"], "quarter", "2019Q1"),
        (["2019-07-01", "2020-07-01", "2021-07-01", "2022-07-01"], "year", "2019"),
        (["2019-01-15", "2019-02-15", "2019-03-15", "2019-04-15"], "month", "2019-01"),
    ],
)
def test_date_column_infers_frequency(dates, freq, first):
    df = make_panel(periods=pd.to_datetime(dates), adoption={"a": dates[2]})
    p = encode(df)
    assert p.freq == freq
    assert p.period_labels[0] == first
    assert p.adoption_idx[0] == 2
    # date strings behave like datetimes
    p2 = encode(make_panel(periods=dates, adoption={"a": dates[2]}))
    assert p2.period_labels == p.period_labels
    np.testing.assert_array_equal(p2.adoption_idx, p.adoption_idx)


def test_unbalanced_panel_accepted():
    df = make_panel()
    df = df.drop(index=[1, 6]).reset_index(drop=True)
    p = encode(df)
    assert p.n_cells == 14 and p.n_periods == 4
    assert "unbalanced" in p.summary()


def test_late_adopter_is_comparison_unit():
    df = make_panel(adoption={"a": 2016, "b": 2025})
    p = encode(df)
    assert p.late_adopters == ["b"]
    np.testing.assert_array_equal(p.adoption_idx, [1, -1, -1, -1])
    assert "1 late adopters" in p.summary()
    assert "Late adopters (adopt after" in p.summary() and "(b)" in p.summary()


def test_drop_always_treated():
    df = make_panel(adoption={"a": 2016, "b": 2015, "c": 2010}, units=("a", "b", "c", "d"))
    p = encode(df, drop_always_treated=True, group="ics")
    assert p.dropped_always_treated == ["b", "c"]
    assert list(p.unit_labels) == ["a", "d"]
    assert p.n_cells == 8
    np.testing.assert_array_equal(p.adoption_idx, [1, -1])
    assert set(p.to_frame()["unit"]) == {"a", "d"}
    assert "Dropped always-treated units: 2" in p.summary()


def test_treated_indicator_matches_adoption_column():
    df = make_panel()
    df["on"] = (df["period"] >= df["start"]).astype(int)  # NaN start -> 0
    a = encode(df)
    t = encode(df, adoption=None, treated="on")
    np.testing.assert_array_equal(a.adoption_idx, t.adoption_idx)
    np.testing.assert_array_equal(a.y, t.y)
    assert t.columns["treated"] == "on"


def test_adoption_never_markers():
    df = make_panel(units=("a", "b", "c", "d", "e"), adoption={"a": 2016})
    df["start"] = df["start"].astype(object)
    df.loc[df["area"] == "b", "start"] = 0
    df.loc[df["area"] == "c", "start"] = ""
    df.loc[df["area"] == "d", "start"] = None
    p = encode(df)
    np.testing.assert_array_equal(p.adoption_idx, [1, -1, -1, -1, -1])
    assert p.late_adopters == []


def test_int_unit_ids_and_float_whole_ids():
    df = make_panel()
    df["area"] = df["area"].map({"a": 3, "b": 1, "c": 2, "d": 4}).astype(float)
    p = encode(df)
    assert list(p.unit_labels) == [1, 2, 3, 4]
    assert all(isinstance(u, int) for u in p.unit_labels)


def test_gaussian_family_accepts_floats():
    df = make_panel()
    df["admissions"] = df["admissions"] - 12.5
    p = encode(df, family="gaussian")
    assert p.family == "gaussian" and p.y.min() < 0


def test_to_frame_and_summary():
    p = encode(make_panel(), group="ics")
    f = p.to_frame()
    assert list(f.columns) == ["unit", "period", "y", "exposure", "adoption", "group"]
    assert f.loc[f["unit"] == "a", "adoption"].unique().tolist() == ["2016"]
    assert f.loc[f["unit"] == "c", "adoption"].unique().tolist() == [""]
    s = p.summary()
    assert "4 (2 treated, 2 never treated, 0 late adopters)" in s
    assert "2015 to 2018" in s and "freq year" in s
    assert "Cohorts (first treated period): 2016 (1 unit), 2017 (1 unit)" in s
    assert "Groups: 2" in s


def test_parse_periods():
    pi, freq = parse_periods(["2019q3", "2019Q4", None])
    assert freq == "quarter"
    assert [str(p) for p in pi[:2]] == ["2019Q3", "2019Q4"] and pd.isna(pi[2])
    pi, freq = parse_periods([2014, 2015], freq="Q")
    assert freq == "quarter" and [str(p) for p in pi] == ["2014Q1", "2015Q1"]
    pi, freq = parse_periods(["2019-07", "2019-08"])
    assert freq == "month" and str(pi[0]) == "2019-07"
    pi, freq = parse_periods(pd.Series(pd.period_range("2019Q1", periods=3, freq="Q")), "year")
    assert [str(p) for p in pi] == ["2019", "2019", "2019"]
    with pytest.raises(PanelError, match=r"positions 1.*'soon'"):
        parse_periods(["2019", "soon"])


def test_mpdta():
    from staggered.datasets import mpdta

    df = mpdta()
    p = encode_panel(
        df,
        unit="countyreal",
        time="year",
        outcome="lemp",
        adoption="first.treat",
        family="gaussian",
    )
    assert p.n_units == 500 and p.n_periods == 5 and p.n_cells == 2500
    assert int((p.adoption_idx == -1).sum()) == 309
    assert p.period_labels == ["2003", "2004", "2005", "2006", "2007"]


# ------------------------------------------------------------------ errors: columns / arguments


def test_unknown_columns():
    with pytest.raises(
        PanelError,
        match=r"Unknown columns: outcome='visits', group='ccg'.*"
        r"Available columns: 'area'",
    ):
        encode(make_panel(), outcome="visits", group="ccg")


def test_neither_adoption_nor_treated():
    with pytest.raises(PanelError, match="Neither adoption= nor treated="):
        encode(make_panel(), adoption=None)


def test_both_adoption_and_treated():
    df = make_panel()
    df["on"] = 0
    with pytest.raises(PanelError, match="Both adoption= and treated="):
        encode(df, treated="on")


def test_bad_family():
    with pytest.raises(ValueError, match="family must be one of"):
        encode(make_panel(), family="poisson")


# ------------------------------------------------------------------ errors: units / periods


def test_missing_unit_ids():
    df = make_panel()
    df.loc[5, "area"] = None
    with pytest.raises(PanelError, match=r"Unit column 'area' is missing in 1 row \(index 5\)"):
        encode(df)


def test_unparseable_periods():
    df = make_panel()
    df["period"] = df["period"].astype(str)
    df.loc[[2, 7], "period"] = ["20x6", "next year"]
    with pytest.raises(
        PanelError,
        match=r"not periods in 2 rows \(index 2 \('20x6'\), "
        r"7 \('next year'\)\)",
    ):
        encode(df)


def test_missing_periods_rows():
    df = make_panel()
    df["period"] = df["period"].astype(float)
    df.loc[3, "period"] = np.nan
    with pytest.raises(PanelError, match=r"Time column 'period' is missing in 1 row \(index 3\)"):
        encode(df)


def test_mixed_period_formats():
    df = make_panel()
    df["period"] = df["period"].astype(str)
    df.loc[0, "period"] = "2015Q1"
    with pytest.raises(PanelError, match="mixes period formats"):
        encode(df)


def test_sub_monthly_dates_rejected():
    dates = pd.to_datetime(["2020-01-01", "2020-01-08", "2020-01-15", "2020-01-22"])
    with pytest.raises(PanelError, match="less than a month apart"):
        encode(make_panel(periods=dates, adoption={"a": "2020-01-15"}))


def test_gap_in_period_grid():
    df = make_panel(periods=(2015, 2016, 2018, 2019, 2021))
    with pytest.raises(PanelError, match=r"no rows at all for 2 periods: 2017, 2020"):
        encode(df)


def test_duplicate_unit_period():
    df = make_panel()
    df = pd.concat([df, df.iloc[[5]]], ignore_index=True)
    with pytest.raises(
        PanelError, match=r"1 unit-period pair appear.*unit 'b', period 2016 \(index 5, 16\)"
    ):
        encode(df)


# ------------------------------------------------------------------ errors: outcome / exposure


def test_missing_outcome():
    df = make_panel()
    df["admissions"] = df["admissions"].astype(float)
    df.loc[[4, 9], "admissions"] = np.nan
    with pytest.raises(
        PanelError,
        match=r"Outcome column 'admissions' is missing in 2 rows "
        r"\(index 4, 9\)",
    ):
        encode(df)


def test_negative_count():
    df = make_panel()
    df.loc[6, "admissions"] = -3
    with pytest.raises(PanelError, match=r"negative counts in 1 row \(index 6 \(-3\.0\)\)"):
        encode(df)


def test_non_integer_count():
    df = make_panel()
    df["admissions"] = df["admissions"].astype(float)
    df.loc[2, "admissions"] = 12.5
    with pytest.raises(PanelError, match=r"non-integer counts in 1 row \(index 2 \(12\.5\)\)"):
        encode(df)


def test_whole_float_counts_are_fine():
    df = make_panel()
    df["admissions"] = df["admissions"].astype(float)
    assert encode(df).y[0] == 10.0


def test_non_numeric_outcome():
    df = make_panel()
    df["admissions"] = df["admissions"].astype(object)
    df.loc[1, "admissions"] = "lots"
    with pytest.raises(PanelError, match=r"non-numeric values in 1 row \(index 1 \('lots'\)\)"):
        encode(df)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_gaussian_rejects_non_finite(bad):
    df = make_panel()
    df["admissions"] = df["admissions"].astype(float)
    df.loc[8, "admissions"] = bad
    with pytest.raises(PanelError, match=r"Outcome column 'admissions' .*index 8"):
        encode(df, family="gaussian")


def test_missing_exposure():
    df = make_panel()
    df.loc[11, "population"] = np.nan
    with pytest.raises(PanelError, match=r"Exposure column 'population' is missing.*index 11"):
        encode(df, exposure="population")


@pytest.mark.parametrize("bad", [0.0, -5.0, np.inf])
def test_non_positive_or_infinite_exposure(bad):
    df = make_panel()
    df.loc[12, "population"] = bad
    with pytest.raises(PanelError, match=r"positive and finite.*1 row \(index 12"):
        encode(df, exposure="population")


def test_many_rows_are_truncated():
    df = make_panel(units=tuple("abcdefgh"))
    df["admissions"] = -1
    with pytest.raises(PanelError, match=r"32 rows \(index 0, .*9 and 22 more; all -1\.0\)"):
        encode(df)


# ------------------------------------------------------------------ errors: group


def test_missing_group():
    df = make_panel()
    df.loc[13, "ics"] = None
    # a blank group in some rows of a unit reads as a group that varies within the unit
    with pytest.raises(
        PanelError, match=r"'ics' varies within 1 unit: 'd' \(\(no group\), south\)"
    ):
        encode(df, group="ics")


def test_group_varying_within_unit():
    df = make_panel()
    df.loc[2, "ics"] = "east"
    with pytest.raises(
        PanelError,
        match=r"Group column 'ics' varies within 1 unit: 'a' "
        r"\(east, north\)",
    ):
        encode(df, group="ics")


# ------------------------------------------------------------------ errors: adoption / treated


def test_adoption_varying_within_unit():
    df = make_panel()
    df.loc[1, "start"] = 2017
    df.loc[5, "start"] = np.nan
    with pytest.raises(
        PanelError,
        match=r"varies within 2 units: 'a' \(2016, 2017\), "
        r"'b' \(2017, never\)",
    ):
        encode(df)


def test_adoption_equivalent_labels_are_constant():
    quarters = [f"{y}Q{q}" for y in (2013, 2014) for q in (1, 2, 3, 4)]
    df = make_panel(periods=quarters, adoption={"a": "2014"})
    df.loc[1, "start"] = "2014Q1"
    assert encode(df).period_labels[encode(df).adoption_idx[0]] == "2014Q1"


def test_unparseable_adoption():
    df = make_panel()
    df["start"] = df["start"].astype(object)
    df.loc[0, "start"] = "sometime"
    with pytest.raises(
        PanelError,
        match=r"Adoption column 'start' has values that are not "
        r"periods in 1 row \(index 0 \('sometime'\)\)",
    ):
        encode(df)


def test_always_treated_error_suggests_drop():
    df = make_panel(adoption={"a": 2016, "b": 2015})
    with pytest.raises(
        PanelError,
        match=r"1 unit is treated in every panel period.*'b' "
        r"\(adopts 2015\).*drop_always_treated=True.*--drop-always-treated",
    ):
        encode(df)


def test_no_unit_treated():
    df = make_panel(adoption={"a": 2030})
    with pytest.raises(
        PanelError,
        match=r"No unit is treated within the panel \(2015 to 2018\)"
        r": 3 never treated, 1 adopting after the last period",
    ):
        encode(df)


def test_treatment_reversal():
    df = make_panel()
    df["on"] = (df["period"] >= df["start"]).astype(int)
    df.loc[(df["area"] == "a") & (df["period"] == 2018), "on"] = 0
    with pytest.raises(
        PanelError,
        match=r"Treatment reversal in column 'on' for 1 unit: 'a' "
        r"\(treated from 2016, 0 again in 2018\)",
    ):
        encode(df, adoption=None, treated="on")


def test_treated_values_not_binary():
    df = make_panel()
    df["on"] = 0.0
    df.loc[[3, 14], "on"] = [2.0, np.nan]
    with pytest.raises(
        PanelError,
        match=r"must be 0 or 1 but is not in 2 rows \(index 3 \(2\.0\)"
        r", 14 \(nan\)\)",
    ):
        encode(df, adoption=None, treated="on")


def test_blank_group_allowed_for_never_treated_only():
    df = pd.DataFrame(
        {
            "unit": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "period": [2010, 2011, 2012] * 3,
            "y": [5] * 9,
            "start": ["2011"] * 3 + [""] * 3 + ["2012"] * 3,
            "prog": ["P1"] * 3 + [None] * 3 + ["P1"] * 3,
        }
    )
    panel = encode_panel(
        df, unit="unit", time="period", outcome="y", adoption="start", group="prog"
    )
    assert panel.group_labels[panel.group_idx[1]] == NO_GROUP
    df.loc[6:8, "prog"] = ""
    with pytest.raises(PanelError, match=r"blank for units treated.*index 6, 7, 8"):
        encode_panel(df, unit="unit", time="period", outcome="y", adoption="start", group="prog")


# ------------------------------------------------------------------ financial years and quarters


def fy(year):
    return f"{year}/{(year + 1) % 100:02d}"


def test_financial_year_labels_panel_and_round_trip():
    df = make_panel(periods=[fy(y) for y in range(2015, 2020)], adoption={"a": "2016/17"})
    df.loc[df["area"] == "b", "start"] = "FY2018-19"  # another form of the same kind
    p = encode(df, exposure="population")
    assert p.freq == "fy"
    assert p.period_labels == ["2015/16", "2016/17", "2017/18", "2018/19", "2019/20"]
    np.testing.assert_array_equal(p.adoption_idx, [1, 3, -1, -1])
    frame = p.to_frame()
    assert frame["period"].iloc[0] == "2015/16"  # output tables keep the 2019/20 form
    assert frame.loc[frame["unit"] == "b", "adoption"].iloc[0] == "2018/19"
    again = encode_panel(frame, unit="unit", time="period", outcome="y", adoption="adoption")
    assert again.period_labels == p.period_labels
    np.testing.assert_array_equal(again.adoption_idx, p.adoption_idx)
    np.testing.assert_array_equal(again.period_idx, p.period_idx)


def test_2000_01_to_2011_12_is_twelve_financial_years_not_monthly_gaps():
    # before: read as months (2000-01, 2001-02, ...) and refused for 132 missing periods
    df = make_panel(periods=[fy(y) for y in range(2000, 2012)], adoption={"a": "2005/06"})
    p = encode(df)
    assert p.freq == "fy" and p.n_periods == 12
    assert p.period_labels[0] == "2000/01" and p.period_labels[-1] == "2011/12"
    assert p.period_labels[p.adoption_idx[0]] == "2005/06"
    s = p.summary()
    assert "period labels such as '2000/01' read as financial years" in s
    assert "adoption labels such as '2005/06' read as financial years (like the time column)" in s


def test_financial_year_adoption_on_a_monthly_panel():
    months = [f"{y}-{m:02d}" for y in (2010, 2011) for m in range(1, 13)]
    # a financial-year label maps to its first month, April
    df = make_panel(periods=months, adoption={"a": "2010/11 Q1", "b": "FY2011/12"})
    p = encode(df)
    assert [p.period_labels[i] for i in p.adoption_idx[:2]] == ["2010-04", "2011-04"]
    # '2010/11' alone reads like the time column's month labels, and the summary says so
    p = encode(make_panel(periods=months, adoption={"a": "2010/11"}))
    assert p.period_labels[p.adoption_idx[0]] == "2010-11"
    assert "adoption labels such as '2010/11' read as months (like the time column)" in p.summary()


def test_april_dates_are_financial_years_and_adoption_in_one_year_is_one_cohort():
    dates = pd.to_datetime([f"{y}-04-01" for y in range(2012, 2018)])
    df = make_panel(
        units=("a", "b", "c", "d", "e"),
        periods=dates,
        adoption={"a": "2014-06-01", "b": "2015-01-01", "c": "2016-04-01"},
    )
    p = encode(df)
    assert p.freq == "fy"
    assert p.period_labels == ["2012/13", "2013/14", "2014/15", "2015/16", "2016/17", "2017/18"]
    # before: calendar years, with a (2014) and b (2015) in two cohorts
    np.testing.assert_array_equal(p.adoption_idx, [2, 2, 4, -1, -1])
    s = p.summary()
    assert "Cohorts (first treated period): 2014/15 (2 units), 2016/17 (1 unit)" in s
    assert "freq fy: financial years, April to March" in s
    assert (
        "Note: adoption dates mapped to the financial year that contains them "
        "(e.g. 2014-06-01 -> 2014/15, 2015-01-01 -> 2014/15, 2016-04-01 -> 2016/17)"
    ) in s
    # the calendar-year reading is still there when asked for
    old = encode(df, freq="year")
    assert old.freq == "year" and old.period_labels[0] == "2012"
    np.testing.assert_array_equal(old.adoption_idx, [2, 3, 4, -1, -1])


def test_calendar_year_adoption_on_a_financial_panel_is_refused():
    dates = [f"{y}-04-01" for y in range(2012, 2018)]
    df = make_panel(periods=dates, adoption={"a": 2015})
    with pytest.raises(
        PanelError,
        match=r"Adoption column 'start' holds years \(e\.g\. 2019\) in 6 rows \(index 0, "
        r".*; all 2015"
        r".*freq fy.*'2015' could be 2014/15.*or 2015/16.*'2015/16' or 'FY2015/16'.*"
        r"'2015-04-01'",
    ):
        encode(df)
    df = make_panel(periods=[fy(y) for y in range(2012, 2018)], adoption={"a": "2015Q1"})
    with pytest.raises(PanelError, match=r"holds quarters.*index 0, .*; all '2015Q1'\)"):
        encode(df)


def test_ambiguous_time_labels_refused_unless_settled():
    df = make_panel(periods=["2011-12"], adoption={"a": "2030/31"})
    with pytest.raises(
        PanelError,
        match=r"Time column 'period' has labels that read both as a month and as a financial "
        r"year in 4 rows \(index 0, 1, 2, 3; all '2011-12'\).*freq='fy'.*freq='month'"
        r".*'FY2011/12'",
    ):
        encode(df)


def test_explicit_freq_settles_ambiguous_time_labels():
    df = make_panel(periods=["2010-11", "2011-12", "2012/13"], adoption={"a": "2011/12"})
    assert encode(df).period_labels == ["2010/11", "2011/12", "2012/13"]
    df = make_panel(periods=["2010-11", "2011-12"], adoption={"a": "2011-12"})
    p = encode(df, freq="fy")
    assert p.period_labels == ["2010/11", "2011/12"] and p.adoption_idx[0] == 1
    assert "read as financial years (as freq='fy' says)" in p.summary()
    with pytest.raises(PanelError, match=r"2010-11 to 2011-12 \(freq month\) has no rows"):
        encode(df, freq="month")


def test_month_labels_with_a_fy_looking_month_stay_monthly():
    months = [f"2011-{m:02d}" for m in range(1, 13)]
    df = make_panel(periods=months, adoption={"a": "2011-12", "b": "2011-11"})
    p = encode(df)
    assert p.freq == "month" and p.period_labels[-1] == "2011-12"
    np.testing.assert_array_equal(p.adoption_idx, [11, 10, -1, -1])
    assert "financial" not in p.summary()


def test_ambiguous_adoption_refused_where_readings_differ():
    quarters = [f"{y}Q{q}" for y in (2011, 2012) for q in (1, 2, 3, 4)]
    df = make_panel(periods=quarters, adoption={"a": "2011-12"})
    with pytest.raises(
        PanelError,
        match=r"Adoption column 'start' has labels that read both as a month and as a financial "
        r"year.*freq quarter.*8 rows \(index 0, 1, 2, 3, 4, 5, 6, 7\): '2011-12' \(as "
        r"December 2011: "
        r"2011Q4; as a financial year: 2011Q2\).*'FY2011/12'.*'2011-12-01'",
    ):
        encode(df)
    # where both readings fall in the same period there is nothing to refuse
    p = encode(make_panel(periods=(2010, 2011, 2012, 2013), adoption={"a": "2011/12"}))
    assert p.period_labels[p.adoption_idx[0]] == "2011"
    assert "fall in the same panel period either way" in p.summary()


def test_adoption_mixing_financial_years_and_months_refused():
    df = make_panel(periods=[fy(y) for y in range(2012, 2018)], adoption={"a": "2014/15"})
    df.loc[df["area"] == "b", "start"] = "2015-07"
    with pytest.raises(
        PanelError,
        match=r"mixes financial-year labels, in 6 rows \(index 0, .*; all '2014/15'\).*with month "
        r"labels, in 6 rows \(index 6, .*; all '2015-07'\)",
    ):
        encode(df)


def test_bad_financial_year_names_rows_and_forms():
    df = make_panel(periods=["2017/18", "2018/19", "2019/20", "2020/21"])
    df["start"] = df["start"].astype(object)
    df.loc[df["period"] == "2019/20", "period"] = "2019/21"
    with pytest.raises(
        PanelError,
        match=r"not periods in 4 rows \(index 2, 6, 10, 14; all '2019/21'\).*financial years "
        r"\('2019/20', '2019-20', '201920', 'FY2019/20'.*consecutive years",
    ):
        encode(df)
    df = make_panel(periods=["2017/18", "2018/19"], adoption={"a": "2018/2020"})
    with pytest.raises(PanelError, match=r"Adoption column 'start'.*'2018/2020'.*consecutive"):
        encode(df)


def test_financial_quarter_panel():
    quarters = [f"{fy(y)} Q{q}" for y in (2018, 2019) for q in (1, 2, 3, 4)]
    df = make_panel(periods=quarters, adoption={"a": "2019/20", "b": "2018-11-05"})
    p = encode(df)
    assert p.freq == "fq"
    assert p.period_labels[:2] == ["2018/19 Q1", "2018/19 Q2"]
    assert [p.period_labels[i] for i in p.adoption_idx[:2]] == ["2019/20 Q1", "2018/19 Q3"]
    s = p.summary()
    assert "adoption financial years mapped to their first financial quarter" in s
    assert "(e.g. 2018-11-05 -> 2018/19 Q3)" in s
    # the same panel from quarterly dates, with freq given
    dates = pd.period_range("2018-04", periods=8, freq="Q-MAR").start_time
    p2 = encode(make_panel(periods=dates, adoption={"a": "2019-04-01"}), freq="fq")
    assert p2.period_labels == p.period_labels and p2.adoption_idx[0] == 4
    assert encode(make_panel(periods=dates, adoption={"a": "2019-04-01"})).freq == "quarter"


def test_financial_year_adoption_on_calendar_panels():
    p = encode(make_panel(adoption={"a": "2016/17", "b": "FY2017-18"}))
    np.testing.assert_array_equal(p.adoption_idx, [1, 2, -1, -1])
    assert "adoption financial years mapped to the year in which they start" in p.summary()
    quarters = [f"{y}Q{q}" for y in (2013, 2014) for q in (1, 2, 3, 4)]
    p = encode(make_panel(periods=quarters, adoption={"a": "2013/14", "b": "2013/14 Q4"}))
    assert [p.period_labels[i] for i in p.adoption_idx[:2]] == ["2013Q2", "2014Q1"]


def test_explicit_freq_refuses_what_it_cannot_place():
    with pytest.raises(
        PanelError,
        match=r"Time column 'period' holds years \(e\.g\. 2019\), which cannot be read at "
        r"freq='fq'.*ambiguous.*16 rows \(index 0, .*4 distinct values: 2015 \(4 rows\).*'2019/20'",
    ):
        encode(make_panel(), freq="fq")
    with pytest.raises(PanelError, match=r"holds years.*freq='quarter'.*coarser"):
        encode(make_panel(), freq="quarter")
    with pytest.raises(PanelError, match=r"holds financial years.*freq='year'.*not calendar"):
        encode(make_panel(periods=[fy(y) for y in range(2015, 2019)]), freq="year")
    with pytest.raises(ValueError, match="Unknown frequency"):
        encode(make_panel(), freq="weekly")


def test_compact_and_period_financial_years_in_the_time_column():
    df = make_panel(periods=[201516, 201617, 201718, 201819], adoption={"a": 201617})
    p = encode(df)
    assert p.freq == "fy" and p.period_labels[0] == "2015/16" and p.adoption_idx[0] == 1
    periods = pd.period_range("2016", periods=4, freq="Y-MAR")
    p = encode(make_panel(periods=periods, adoption={"a": "2016/17"}))
    assert p.period_labels[0] == "2015/16" and p.adoption_idx[0] == 1


def test_panel_without_notes_field_still_builds():
    p = encode(make_panel())
    fields = {k: getattr(p, k) for k in p.__dataclass_fields__ if k != "notes"}
    assert Panel(**fields).notes == ()


def test_summary_notes_coarser_adoption():
    quarters = [f"{y}Q{q}" for y in (2013, 2014, 2015) for q in (1, 2, 3, 4)]
    p = encode(make_panel(periods=quarters, adoption={"a": "2014", "b": "2014Q3"}))
    assert "Note: adoption years mapped to their first quarter (e.g. 2014 -> 2014Q1)" in p.summary()
    assert "Note:" not in encode(make_panel()).summary()


# ------------------------------------------------------------------ new-user trial: FY messages


def _fy_panel():
    return make_panel(periods=[fy(y) for y in range(2012, 2016)], adoption={"a": "2013/14"})


def test_mixed_formats_name_the_minority_values_and_rows():
    df = _fy_panel()
    df.loc[[1, 9], "period"] = "2013"
    with pytest.raises(
        PanelError,
        match=r"mixes period formats: 14 rows hold financial years \(such as '2012/13'\), but "
        r"there are years in 2 rows \(index 1, 9; all '2013'\)",
    ):
        encode(df)
    df = _fy_panel()
    df.loc[5, "period"] = "2013-07"  # a stray month in a financial-year column
    with pytest.raises(PanelError, match=r"months in 1 row \(index 5 \('2013-07'\)\)"):
        encode(df)


def test_mixed_formats_name_csv_lines(tmp_path):
    from staggered.data import read_panel_csv

    df = _fy_panel()
    df.loc[[1, 9], "period"] = "2013"
    df.to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(PanelError, match=r"years in 2 rows \(lines 3, 11; all '2013'\)"):
        encode(read_panel_csv(tmp_path / "p.csv"))


def test_financial_shape_with_non_consecutive_years_is_not_a_month():
    df = _fy_panel()
    df.loc[df["period"] == "2012/13", "period"] = "2010/12"  # was read as December 2010
    with pytest.raises(
        PanelError,
        match=r"Time column 'period' has labels shaped like financial years whose two years are "
        r"not consecutive, in 4 rows \(index 0, 4, 8, 12; all '2010/12'\).*'2010/11'.*"
        r"'2019/20', '2019-20'",
    ):
        encode(df)
    # a column of slash months is still read as months
    months = [f"2019/{m:02d}" for m in range(1, 13)]
    assert encode(make_panel(periods=months, adoption={"a": "2019/05"})).freq == "month"


def test_financial_shape_adoption_typo_is_refused_on_a_financial_panel():
    df = _fy_panel()
    df.loc[df["area"] == "a", "start"] = "2013/12"  # was accepted as December 2013
    with pytest.raises(
        PanelError,
        match=r"Adoption column 'start' has labels shaped like financial years.*not consecutive, "
        r"in 4 rows \(index 0, 1, 2, 3; all '2013/12'\).*'2013/14'.*'FY2019/20'",
    ):
        encode(df)
    # genuine months and dates are still valid adoption values there
    df.loc[df["area"] == "a", "start"] = "2013-12"
    df.loc[df["area"] == "b", "start"] = "2014-01-15"
    with pytest.raises(PanelError, match="mixes financial-year labels"):
        encode(df.assign(start=df["start"].where(df["area"] != "b", "2014/15")))
    p = encode(df)
    assert [p.period_labels[i] for i in p.adoption_idx[:2]] == ["2013/14", "2013/14"]


def test_duplicate_pair_names_csv_lines_and_a_readable_pair(tmp_path):
    from staggered.data import read_panel_csv

    df = _fy_panel()
    pd.concat([df, df.iloc[[5]]], ignore_index=True).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(
        PanelError, match=r"1 unit-period pair appears.*: unit 'b', period 2013/14 \(lines 7, 18\)"
    ):
        encode(read_panel_csv(tmp_path / "d.csv"))


def test_int_years_with_freq_fy_are_financial_year_starts():
    df = make_panel(periods=(2015, 2016, 2017, 2018), adoption={"a": 2016, "b": "2017-06-01"})
    p = encode(df, freq="fy")
    assert p.freq == "fy"
    assert p.period_labels == ["2015/16", "2016/17", "2017/18", "2018/19"]
    np.testing.assert_array_equal(p.adoption_idx, [1, 2, -1, -1])
    s = p.summary()
    assert "time-column years read as the financial year starting in April" in s
    assert "(e.g. 2015 -> 2015/16), as freq='fy'" in s
    assert "adoption years read as the financial year starting in April" in s
    # without freq they stay calendar years
    assert encode(df).freq == "year"


def test_uk_dates_are_refused_with_a_hint():
    df = _fy_panel()
    df.loc[df["area"] == "a", "start"] = "01/04/2013"
    with pytest.raises(
        PanelError,
        match=r"not periods in 4 rows \(index 0, 1, 2, 3; all '01/04/2013'\).*yyyy-mm-dd "
        r"\('2016-04-01'\): dd/mm/yyyy dates",
    ):
        encode(df)
