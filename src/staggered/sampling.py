"""Run NUTS on a built PyMC model: which sampler, with which settings, on which devices.

nutpie (default) adapts a low-rank mass matrix; numpyro and blackjax run on JAX, chains in
parallel on CPU host devices or vectorised on one accelerator; ``"pymc"`` is PyMC's own NUTS.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from contextlib import contextmanager


def _configure_host_devices(n: int = 4) -> None:
    """Let JAX run chains in parallel on CPU cores (one XLA host device per chain).

    Only possible before JAX starts; afterwards :func:`_chain_method` falls back.
    """
    if "jax" in sys.modules:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        n = max(n, os.cpu_count() or 1)
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()


_configure_host_devices()

import arviz as az  # noqa: E402
import pymc as pm  # noqa: E402

SAMPLERS = ("nutpie", "numpyro", "blackjax", "pymc")


def _chain_method(chains: int) -> str:
    """Parallel chains on CPU host devices, vectorised on one accelerator, else sequential."""
    import jax

    if jax.default_backend() != "cpu":
        return "vectorized"
    return "parallel" if jax.local_device_count() >= chains else "sequential"


def sample_model(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    target_accept: float,
    sampler: str,
    random_seed: int,
    progressbar: bool,
    max_draws: int | None = None,
    stop_on_divergence: bool = False,
) -> tuple[az.InferenceData, float]:
    """Run NUTS on a built model; return the InferenceData and wall-clock seconds.

    ``max_draws`` (nutpie only; default ``draws``): sample on, up to this many draws per chain,
    until R-hat and ESS pass, keeping ``draws`` evenly spaced (:mod:`staggered.sampling_nutpie`).
    ``stop_on_divergence`` (nutpie only): stop sampling on at the first checkpoint that has a
    divergence.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    max_draws = draws if max_draws is None else max_draws
    if max_draws < draws:
        raise ValueError(f"max_draws ({max_draws}) must be at least draws ({draws})")
    if max_draws > draws and sampler != "nutpie":
        raise ValueError(
            f"max_draws > draws (sampling on until converged) needs sampler='nutpie', "
            f"not {sampler!r}; pass max_draws=draws"
        )
    kwargs: dict = {"idata_kwargs": {"log_likelihood": False}}
    if sampler in ("numpyro", "blackjax"):
        kwargs["nuts_sampler_kwargs"] = {"chain_method": _chain_method(chains)}
    start = time.perf_counter()
    with model, warnings.catch_warnings(), _quiet_rewrite_failures():
        # PyMC's own convergence messages are replaced by ours (diagnose/_warn_on_problems)
        warnings.filterwarnings("ignore", message=".*The number of samples is too small.*")
        # harmless JAX notice from PyMC's post-processing on CPU
        warnings.filterwarnings("ignore", message="Some donated buffers were not usable")
        if sampler == "nutpie":
            from pymc.util import _get_seeds_per_chain

            from staggered.sampling_nutpie import sample_nutpie

            idata = sample_nutpie(
                model,
                draws=draws,
                max_draws=max_draws,
                tune=tune,
                chains=chains,
                target_accept=target_accept,
                # the seed pm.sample would give nutpie: the same draws as before this path
                seed=_get_seeds_per_chain(random_seed, 1)[0],
                progressbar=progressbar,
                settings=_nutpie_settings(chains),
                stop_on_divergence=stop_on_divergence,
            )
            return idata, time.perf_counter() - start
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            target_accept=target_accept,
            nuts_sampler=sampler,
            random_seed=random_seed,
            progressbar=progressbar,
            compute_convergence_checks=False,
            **kwargs,
        )
    return idata, time.perf_counter() - start


@contextmanager
def _quiet_rewrite_failures():
    """Hide PyTensor's logged "Rewrite failure" tracebacks while a sampler compiles.

    Compiling the default model for nutpie logs dozens of them (an int8 slice-index overflow in
    one graph rewrite, ``local_subtensor_merge``, under NumPy 2): the rewrite is skipped and
    the compiled function is still correct, but the tracebacks read like a failed fit.
    """
    log = logging.getLogger("pytensor.graph.rewriting.basic")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _nutpie_settings(chains: int) -> dict:
    """nutpie: low-rank mass matrix, JAX log density, chains in threads on every core.

    The low-rank modified mass matrix learns the few correlated directions of the posterior
    (the common trend against the late pooled effects, the step scales against their steps)
    that a diagonal mass matrix cannot: on the bundled demo it cut the tree depth from 8 to 5
    (``docs/performance.md``). The JAX backend compiles in seconds; numba takes 35-90 s
    per model but evaluates the log density faster, so large runs use it
    (``backend="auto"``, :func:`staggered.sampling_nutpie.compile_backend`). Warm-up draws are
    not kept.
    """
    return {
        "backend": "auto",
        "low_rank_modified_mass_matrix": True,
        "save_warmup": False,
        "cores": max(1, min(chains, os.cpu_count() or 1)),
    }
