"""Shared fixtures: small simulated panels and fits built once per session."""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_sim():
    from staggered.simulate import simulate

    return simulate("delayed", n_units=30, n_groups=4, random_seed=3)


@pytest.fixture(scope="session")
def tiny_fit(small_sim):
    """A real but short NUTS fit (convergence not expected), shared by integration tests."""
    import warnings

    from staggered import fit
    from staggered.fit import SamplingWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return fit(
            small_sim.panel,
            **small_sim.columns,
            draws=60,
            tune=60,
            chains=2,
            random_seed=11,
            progressbar=False,
        )
