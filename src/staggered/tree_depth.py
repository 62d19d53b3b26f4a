"""NUTS tree depth from any sampler's ``sample_stats``: mean, largest, share at the limit.

Re-exported by :mod:`staggered.diagnostics`, which judges the share against its threshold.
"""

from __future__ import annotations

import numpy as np

#: Maximum tree depth of every sampler ``fit`` offers (numpyro, blackjax, nutpie, pymc).
DEFAULT_MAX_TREE_DEPTH = 10

# sample_stats names: PyMC (pymc, numpyro and blackjax paths) writes ``tree_depth``; nutpie
# writes ``depth``. PyMC's NUTS flags saturation as ``reached_max_treedepth``, nutpie as
# ``maxdepth_reached``; numpyro and blackjax give no flag (PyMC's numpyro path derives
# tree_depth = floor(log2(n_steps)) + 1, which is 10 for the 512..1023 steps of depth 10).
_DEPTH_STATS = ("tree_depth", "depth")
_AT_MAX_STATS = ("reached_max_treedepth", "maxdepth_reached")


def tree_depth_stats(sample_stats, *, max_tree_depth: int = DEFAULT_MAX_TREE_DEPTH) -> dict:
    """Mean and largest NUTS tree depth, and the share of draws at the maximum depth.

    Parameters
    ----------
    sample_stats : xarray.Dataset or None
        The ``sample_stats`` group (``tree_depth`` or nutpie's ``depth``; the saturation flag
        ``reached_max_treedepth`` or ``maxdepth_reached`` where the sampler writes one).
    max_tree_depth : int, default 10
        The sampler's limit, used where there is no saturation flag.

    Returns
    -------
    dict
        ``mean_tree_depth``, ``max_tree_depth`` (the largest depth reached),
        ``tree_depth_limit`` and ``share_at_max_depth``; None where the sampler wrote no tree
        depth (or, without a flag, when depths beyond ``max_tree_depth`` show that the limit
        was another one).
    """
    out: dict = {
        "mean_tree_depth": None,
        "max_tree_depth": None,
        "tree_depth_limit": int(max_tree_depth),
        "share_at_max_depth": None,
    }
    if sample_stats is None:
        return out
    depth = next((sample_stats[n] for n in _DEPTH_STATS if n in sample_stats), None)
    flag = next((sample_stats[n] for n in _AT_MAX_STATS if n in sample_stats), None)
    if depth is not None:
        values = np.asarray(depth.values, dtype=float)
        out["mean_tree_depth"] = round(float(values.mean()), 3)
        out["max_tree_depth"] = int(values.max())
        if flag is None and out["max_tree_depth"] <= max_tree_depth:
            out["share_at_max_depth"] = float((values >= max_tree_depth).mean())
    if flag is not None:
        out["share_at_max_depth"] = float(np.asarray(flag.values, dtype=bool).mean())
    return out
