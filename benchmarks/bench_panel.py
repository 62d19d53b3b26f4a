"""The panel the speed benchmarks time: ``simulate("delayed")`` with unit trends (sd 0.3%/yr).

Shared by ``bench_fit.py``, ``samplers.py``, ``nutpie_backends.py`` and ``scale_series.py``
so that their figures describe the same kind of panel.
"""

from __future__ import annotations

import staggered as stg


def delayed_panel(units: int, periods: int | None, freq: str, seed: int = 1, **kwargs):
    """A simulated delayed-effect panel of ``units`` areas (``kwargs`` go to ``simulate``)."""
    return stg.simulate(
        "delayed",
        n_units=units,
        n_periods=periods,
        freq=freq,
        unit_trend_sd=0.003,
        random_seed=seed,
        **kwargs,
    )
