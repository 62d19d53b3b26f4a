"""The check for unit-specific seasonality on untreated cells, and where its warning shows."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from staggered import encode_panel
from staggered.design import build_design
from staggered.season_check import unit_season_check

COLUMNS = {
    "unit": "practice",
    "time": "month",
    "outcome": "admissions",
    "exposure": "patients",
    "adoption": "start",
}


def _monthly(unit_season_sd: float, seed: int, n_units: int = 40, years: int = 5, rho=0.6):
    """Practices by month: a common winter peak (amplitude 0.1 on the log rate), each
    practice's amplitude times ``1 + Normal(0, unit_season_sd)``, AR(1) deviations (``rho``,
    sd 0.05), linear trends, Poisson counts of about 300 a cell; half adopt in year 3 or 4."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("2015-01", periods=12 * years, freq="M")
    t = np.arange(months.size) / 12.0
    common = 0.1 * np.cos(2 * np.pi * t)
    mult = 1.0 + rng.normal(0.0, unit_season_sd, n_units)
    rows = []
    for i in range(n_units):
        ar = np.zeros(months.size)
        for k in range(1, months.size):
            ar[k] = rho * ar[k - 1] + rng.normal(0.0, 0.05 * np.sqrt(1 - rho**2))
        log_rate = np.log(0.03) + rng.normal(0, 0.2) + rng.normal(0, 0.02) * t + mult[i] * common
        counts = rng.poisson(10_000 * np.exp(log_rate + ar))
        start = str(months[12 * int(rng.choice([2, 3]))]) if i % 2 else ""
        for k, m in enumerate(months):
            rows.append((f"P{i:02d}", str(m), counts[k], 10_000, start))
    truth = float(np.sqrt(np.mean(((mult - mult.mean()) * 0.1) ** 2)))
    return pd.DataFrame(rows, columns=list(COLUMNS.values())), truth


def _design(frame):
    return build_design(encode_panel(frame, **COLUMNS))


def test_common_seasonality_with_serial_correlation_is_not_flagged():
    """Five panels whose units share one seasonal shape (AR(1) noise, rho 0.6): no flag, and
    the power ratio stays near 1 (the reference frequencies carry the AR spectrum too)."""
    for seed in range(5):
        frame, _ = _monthly(0.0, seed)
        check = unit_season_check(_design(frame))
        assert not check.flagged
        assert 0.6 < check.ratio < 1.6
        assert check.units == 40


def test_units_own_seasonal_swings_are_flagged_and_sized():
    """Amplitudes differing by sd 0.8 of the common one: flagged, with the root-mean-square
    difference of amplitudes read within 30% of the truth (about 8 points of the log rate)."""
    frame, truth = _monthly(0.8, seed=7)
    check = unit_season_check(_design(frame))
    assert check.flagged and check.p_value < 1e-6
    assert check.amplitude == pytest.approx(truth, rel=0.3)
    assert "seasonality differs between units" in check.note()
    assert "unit_season = 1" in check.note()


def test_yearly_panels_are_not_checked():
    rows = [(f"P{i}", str(y), 100 + i, 1000, "") for i in range(4) for y in range(2010, 2016)]
    frame = pd.DataFrame(rows, columns=list(COLUMNS.values()))
    frame.loc[frame["practice"] == "P0", "start"] = "2013"
    assert unit_season_check(_design(frame)) is None


def test_summary_and_report_warn_only_where_the_model_lacks_unit_seasonality():
    from fakes import CONVERGED, fake_fit
    from staggered.report import build_report

    frame, _ = _monthly(0.8, seed=7, n_units=20)
    fit = fake_fit(SimpleNamespace(panel=frame, columns=COLUMNS), CONVERGED)
    assert "seasonality differs between units" in fit.summary()
    assert "seasonality differs between units" in build_report(fit)
    fit.spec = fit.spec.replace(unit_season=1)
    assert "seasonality differs" not in fit.summary()
    plain, _ = _monthly(0.0, seed=7, n_units=20)
    assert (
        "seasonality differs"
        not in fake_fit(SimpleNamespace(panel=plain, columns=COLUMNS), CONVERGED).summary()
    )
