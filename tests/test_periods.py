"""Period parsing: calendar and financial periods, ambiguous labels, grid ordinals and labels."""

import numpy as np
import pandas as pd
import pytest

from staggered.data import FREQS, PERIODS_PER_YEAR, PanelError, parse_periods
from staggered.period_kinds import parse_native
from staggered.periods import freq_name, period_labels, to_ordinals

FY_2019 = pd.Period("2020", freq="Y-MAR")  # pandas names a financial year by its end: 2019/20


def starts(pi):
    return [str(p.start_time.date()) for p in pi]


# ------------------------------------------------------------------ financial years


@pytest.mark.parametrize(
    "label",
    [
        "2019/20",
        "2019-20",
        "201920",
        201920,
        201920.0,
        "FY2019/20",
        "fy 2019-20",
        "FY201920",
        "2019/2020",
        "2019-2020",
        " 2019 / 20 ",
    ],
)
def test_financial_year_forms(label):
    pi, freq = parse_periods([label])
    assert freq == "fy"
    assert pi[0] == FY_2019
    assert starts(pi) == ["2019-04-01"]


@pytest.mark.parametrize(
    ("label", "start"),
    [
        ("2019/20 Q1", "2019-04-01"),
        ("2019/20Q2", "2019-07-01"),
        ("2019-20 Q3", "2019-10-01"),
        ("FY2019/20 Q4", "2020-01-01"),
        ("201920Q1", "2019-04-01"),
        ("2019/20-q2", "2019-07-01"),
        ("2011-12 Q1", "2011-04-01"),  # a quarter suffix makes 2011-12 a financial year
    ],
)
def test_financial_quarter_forms(label, start):
    pi, freq = parse_periods([label])
    assert freq == "fq"
    assert starts(pi) == [start]
    assert pi.freqstr == "Q-MAR"


def test_2010_11_is_a_financial_year_not_november():
    # before: '2010/11' was November 2010 and '2011/12' December 2011; '2012/13' was unreadable
    pi, freq = parse_periods(["2010/11", "2011/12", "2012/13"])
    assert freq == "fy"
    assert starts(pi) == ["2010-04-01", "2011-04-01", "2012-04-01"]


def test_column_of_only_ambiguous_labels_reads_as_financial_years():
    # every label could be a month, but as months they would be 13 months apart
    labels = [f"{y}/{(y + 1) % 100:02d}" for y in range(2000, 2012)]
    pi, freq = parse_periods(labels)
    assert freq == "fy"
    assert starts(pi)[0] == "2000-04-01" and starts(pi)[-1] == "2011-04-01"


def test_single_ambiguous_label_is_refused_with_positions_and_forms():
    with pytest.raises(
        PanelError,
        match=r"1 value \(positions 1; values '2011-12'\) read both as a month and as a "
        r"financial year.*'FY2011/12' or '2011/2012'.*'2011-12-01'.*pass freq",
    ):
        parse_periods([None, "2011-12"])


def test_ambiguous_labels_follow_the_other_labels():
    pi, freq = parse_periods(["2011-11", "2011-12", "2012-01"])
    assert freq == "month" and [str(p) for p in pi] == ["2011-11", "2011-12", "2012-01"]
    pi, freq = parse_periods(["2011/12", "2012/13"])
    assert freq == "fy" and starts(pi) == ["2011-04-01", "2012-04-01"]


def test_ambiguous_labels_follow_an_explicit_freq():
    pi, _ = parse_periods(["2011-12"], freq="month")
    assert str(pi[0]) == "2011-12"
    pi, _ = parse_periods(["2011-12"], freq="fy")
    assert starts(pi) == ["2011-04-01"]
    pi, _ = parse_periods(["2011-12"], freq="fq")
    assert starts(pi) == ["2011-04-01"]


def test_slash_months_are_still_months():
    pi, freq = parse_periods(["2019/07", "2019/08", "2019M09"])
    assert freq == "month" and [str(p) for p in pi] == ["2019-07", "2019-08", "2019-09"]


@pytest.mark.parametrize("label", ["2019/21", "2019-2021", "FY2019/21", "201921", "2019/20 Q5"])
def test_second_year_must_follow_the_first(label):
    with pytest.raises(PanelError, match=r"could not be read as periods.*'2019/20'"):
        parse_periods([label])


def test_financial_years_and_months_in_one_column_are_refused():
    with pytest.raises(PanelError, match=r"mixes period formats.*months.*financial years"):
        parse_periods(["2019/20", "2019-07"])


def test_separator_variants_of_financial_years_may_share_a_column():
    pi, freq = parse_periods(["2019/20", "2020-21", "FY2021/22", 202223])
    assert freq == "fy"
    assert starts(pi) == ["2019-04-01", "2020-04-01", "2021-04-01", "2022-04-01"]


def test_calendar_years_and_quarters_are_refused_at_a_financial_freq():
    with pytest.raises(PanelError, match=r"positions 0; values 2019.*freq fy.*ambiguous"):
        parse_periods([2019], freq="fy")
    with pytest.raises(PanelError, match=r"'2019Q1'.*freq fq.*ambiguous"):
        parse_periods(["2019Q1"], freq="fq")


def test_finer_values_map_into_financial_periods():
    pi, freq = parse_periods(["2014-06-01", "2015-01-01", "2015-04-01", "2015-03"], freq="fy")
    assert freq == "fy"
    assert [p.start_time.year for p in pi] == [2014, 2014, 2015, 2014]
    pi, _ = parse_periods(["2014-06-01", "2015-01-31"], freq="fq")
    assert starts(pi) == ["2014-04-01", "2015-01-01"]


def test_financial_years_on_a_calendar_grid_map_to_the_period_they_start_in():
    pi, _ = parse_periods(["2014/15", "2014/15 Q4"], freq="year")
    assert [str(p) for p in pi] == ["2014", "2015"]
    pi, _ = parse_periods(["2014/15"], freq="quarter")
    assert str(pi[0]) == "2014Q2"


def test_yearly_april_dates_are_financial_years():
    pi, freq = parse_periods(pd.to_datetime(["2012-04-01", "2013-04-01", "2014-04-01"]))
    assert freq == "fy" and starts(pi)[0] == "2012-04-01"
    pi, freq = parse_periods(["2012-07-01", "2013-07-01"])
    assert freq == "year"  # other months stay calendar years
    pi, freq = parse_periods(["2012-04-01", "2012-07-01", "2012-10-01"])
    assert freq == "quarter"  # quarterly dates keep calendar labels (pass freq="fq")


def test_pandas_financial_periods():
    s = pd.Series(pd.period_range("2019", periods=3, freq="Y-MAR"))
    pi, freq = parse_periods(s)
    assert freq == "fy" and starts(pi)[0] == "2018-04-01"
    s = pd.Series(pd.period_range("2020Q1", periods=2, freq="Q-MAR"))
    pi, freq = parse_periods(s)
    assert freq == "fq" and starts(pi) == ["2019-04-01", "2019-07-01"]


# ------------------------------------------------------------------ grid, labels, freq names


def test_ordinals_match_pandas():
    months = pd.period_range("1960-01", "2035-12", freq="M")
    parsed = parse_native(pd.Series(months))
    for freq, code in [("fy", "Y-MAR"), ("fq", "Q-MAR"), ("year", "Y"), ("quarter", "Q")]:
        np.testing.assert_array_equal(to_ordinals(parsed, freq), months.asfreq(code).asi8)


def test_financial_labels_and_round_trip():
    fy = pd.period_range("1998", "2003", freq="Y-MAR")
    labels = period_labels(fy.asi8, "fy")
    assert labels == ["1997/98", "1998/99", "1999/00", "2000/01", "2001/02", "2002/03"]
    pi, freq = parse_periods(labels)
    assert freq == "fy" and pi.equals(fy)
    fq = pd.period_range("2020Q1", periods=5, freq="Q-MAR")
    labels = period_labels(fq.asi8, "fq")
    assert labels == ["2019/20 Q1", "2019/20 Q2", "2019/20 Q3", "2019/20 Q4", "2020/21 Q1"]
    pi, freq = parse_periods(labels)
    assert freq == "fq" and pi.equals(fq)


def test_freq_names_and_periods_per_year():
    assert FREQS == ("year", "quarter", "month", "fy", "fq")
    assert PERIODS_PER_YEAR == {"year": 1, "quarter": 4, "month": 12, "fy": 1, "fq": 4}
    for alias, name in [
        ("FY", "fy"),
        ("financial_year", "fy"),
        ("Y-MAR", "fy"),
        ("fq", "fq"),
        ("Financial quarter", "fq"),
        ("Q-MAR", "fq"),
        ("Y", "year"),
        ("quarterly", "quarter"),
    ]:
        assert freq_name(alias) == name
    with pytest.raises(ValueError, match="Unknown frequency 'fortnight'.*fy, fq"):
        freq_name("fortnight")


def test_mixed_formats_name_the_minority_positions_and_values():
    with pytest.raises(
        PanelError,
        match=r"mixes period formats: most values are financial years, but there are years in "
        r"1 value \(positions 1; values '2013'\)",
    ):
        parse_periods(["2012/13", "2013", "2014/15"])
