"""Effects computed from fabricated posterior draws against direct calculations."""

import numpy as np
import pytest
import xarray as xr

from staggered import encode_panel
from staggered.design import build_design
from staggered.effects import COLUMNS, effects_table, summarise
from staggered.models import load_spec


@pytest.fixture(scope="module")
def setup(small_sim):
    sim = small_sim
    panel = encode_panel(sim.panel, **sim.columns)
    design = build_design(panel)
    rng = np.random.default_rng(0)
    n_draws, n_eff = 200, design.effect_cells.size
    eta0 = np.log(panel.exposure[design.effect_cells]) - 2.3 + rng.normal(0, 0.01, (n_draws, n_eff))
    tau = rng.normal(-0.03, 0.02, (n_draws, n_eff))
    n_e = design.event_times.size
    post = xr.Dataset(
        {
            "eta0": (("chain", "draw", "effect_cell"), eta0[None]),
            "tau": (("chain", "draw", "effect_cell"), tau[None]),
            "theta": (("chain", "draw", "event_time"), rng.normal(-0.02, 0.01, (1, n_draws, n_e))),
            "sigma_unit": (("chain", "draw"), np.zeros((1, n_draws))),
        },
        coords={"chain": [0], "draw": np.arange(n_draws), "event_time": design.event_times},
    )
    table = effects_table(post, design, load_spec("negbin-rw"), level=0.8)
    return design, post, table, eta0, tau


def test_columns_and_scopes(setup):
    design, _, table, _, _ = setup
    assert list(table.columns) == COLUMNS
    assert set(table.scope) == {"pooled", "predictive", "group", "unit"}
    assert set(table.measure) == {"relative", "absolute", "per_1000", "cumulative"}
    assert (table.level == 0.8).all()
    assert (table.loc[table.scope.isin(["pooled", "predictive"]), "id"] == "").all()


def test_pooled_matches_direct_computation(setup):
    design, _, table, eta0, tau = setup
    e_cell = design.event_time[design.effect_cells]
    expo = design.panel.exposure[design.effect_cells]
    mu0, mu1 = np.exp(eta0), np.exp(eta0 + tau)
    cum = np.zeros(eta0.shape[0])
    for e in np.unique(e_cell):
        sel = e_cell == e
        rel = mu1[:, sel].sum(1) / mu0[:, sel].sum(1) - 1
        absolute = (mu1[:, sel] - mu0[:, sel]).sum(1)
        cum = cum + absolute
        rows = table[(table.scope == "pooled") & (table.event_time == e)].set_index("measure")
        np.testing.assert_allclose(rows.loc["relative", "mean"], rel.mean(), rtol=1e-10)
        np.testing.assert_allclose(rows.loc["relative", "sd"], rel.std(ddof=1), rtol=1e-8)
        np.testing.assert_allclose(
            rows.loc["relative", ["lower", "upper"]].astype(float),
            np.quantile(rel, [0.1, 0.9]),
            rtol=1e-10,
        )
        assert rows.loc["relative", "prob_negative"] == pytest.approx((rel < 0).mean())
        np.testing.assert_allclose(rows.loc["absolute", "mean"], absolute.mean(), rtol=1e-10)
        np.testing.assert_allclose(
            rows.loc["per_1000", "mean"], (1000 * absolute / expo[sel].sum()).mean(), rtol=1e-10
        )
        np.testing.assert_allclose(rows.loc["cumulative", "mean"], cum.mean(), rtol=1e-10)


def test_unit_and_group_scopes(setup):
    design, _, table, eta0, tau = setup
    p = design.panel
    unit = p.unit_idx[design.effect_cells]
    e_cell = design.event_time[design.effect_cells]
    u0 = unit[0]
    sel = unit == u0
    rows = table[(table.scope == "unit") & (table.id == str(p.unit_labels[u0]))]
    rel = rows[rows.measure == "relative"].sort_values("event_time")
    np.testing.assert_allclose(rel["mean"], np.expm1(tau[:, sel]).mean(0), rtol=1e-10)
    cum = rows[rows.measure == "cumulative"].sort_values("event_time")
    direct = np.cumsum(np.exp(eta0[:, sel]) * np.expm1(tau[:, sel]), axis=1).mean(0)
    np.testing.assert_allclose(cum["mean"], direct, rtol=1e-10)
    g = p.group_idx[u0]
    gsel = (p.group_idx[unit] == g) & (e_cell == 2)
    mu0, mu1 = np.exp(eta0[:, gsel]), np.exp(eta0[:, gsel] + tau[:, gsel])
    row = table[
        (table.scope == "group")
        & (table.id == str(p.group_labels[g]))
        & (table.event_time == 2)
        & (table.measure == "relative")
    ]
    np.testing.assert_allclose(row["mean"], (mu1.sum(1) / mu0.sum(1) - 1).mean(), rtol=1e-10)


def test_predictive_without_site_spread_is_the_pooled_curve(setup):
    _, post, table, _, _ = setup
    pred = table[(table.scope == "predictive") & (table.measure == "relative")]
    theta = post["theta"].values[0]
    np.testing.assert_allclose(pred["mean"], np.expm1(theta).mean(0), rtol=1e-10)


def test_predictive_adds_between_site_spread(setup):
    design, post, _, _, _ = setup
    wide = post.assign(sigma_unit=post["sigma_unit"] + 0.05)
    table = effects_table(wide, design, load_spec("negbin-rw"), scopes=("predictive",))
    rel = table[table.measure == "relative"].sort_values("event_time")
    # sd of a random walk with step 0.05 after e+1 steps, plus theta's own spread
    expected = np.sqrt(0.05**2 * (rel.event_time + 1) + 0.01**2)
    np.testing.assert_allclose(rel["sd"], expected, rtol=0.2)


def test_summarise_prob_negative():
    draws = np.r_[-np.ones(30), np.ones(70)][:, None]
    s = summarise(draws, 0.9)
    assert s["prob_negative"][0] == pytest.approx(0.3)


def test_binned_horizon_reports_absolute_per_period(small_sim):
    from staggered import encode_panel as enc

    panel = enc(small_sim.panel, **small_sim.columns)
    open_design, binned = build_design(panel), build_design(panel, horizon=2)
    n_eff = open_design.effect_cells.size
    post = xr.Dataset(
        {
            "eta0": (("chain", "draw", "effect_cell"), np.zeros((1, 2, n_eff))),
            "tau": (("chain", "draw", "effect_cell"), np.full((1, 2, n_eff), np.log(0.9))),
        }
    )
    table = effects_table(post, binned, load_spec("negbin-rw"), scopes=("pooled", "unit"))
    absolute = table[table.measure == "absolute"]
    # mu0 = 1 in every cell: per period, each unit loses 0.1 whatever the bin holds
    unit_rows = absolute[absolute.scope == "unit"]
    np.testing.assert_allclose(unit_rows["mean"], -0.1)
    pooled = absolute[absolute.scope == "pooled"].set_index("event_time")["mean"]
    units_at_2plus = len(
        {
            u
            for u, e in zip(
                panel.unit_idx[binned.effect_cells],
                binned.event_time[binned.effect_cells],
                strict=True,
            )
            if e >= 2
        }
    )
    np.testing.assert_allclose(pooled.loc[2], -0.1 * units_at_2plus)


def test_new_programme_spread_allows_for_zero_sum_programme_steps():
    """A new programme deviates from the mean of G zero-sum programmes by sd sigma*sqrt(1+1/G)."""

    from staggered.effects import _new_programme_factor

    z = np.zeros((1, 5, 3, 4))
    zero_sum = xr.Dataset({"delta_group_z": (("chain", "draw", "effect_time", "group"), z)})
    free = xr.Dataset(
        {"delta_group_z": (("chain", "draw", "group", "effect_time"), z.swapaxes(2, 3))}
    )
    assert _new_programme_factor(zero_sum) == pytest.approx(np.sqrt(1.25))
    assert _new_programme_factor(free) == 1.0  # saved before session 10, or a joint model
    assert _new_programme_factor(xr.Dataset()) == 1.0  # no programmes
