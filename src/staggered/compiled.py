"""NUTS on a model compiled once, with the outcome as an argument (fast repeated fits).

SBC refits the same model structure to hundreds of simulated outcome vectors. Through
``pm.sample`` every fit re-derives gradients and recompiles the sampler (about 60% of a small
fit's time). Here the PyMC log density is turned into a JAX function of (parameters, y) once,
and numpyro's NUTS kernels run inside one ``jax.jit`` with ``y`` as an argument, so every new
``y`` reuses the compiled sampler (``MCMC.run`` recompiles on every call).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from jax.flatten_util import ravel_pytree
from numpyro.infer.hmc import hmc
from pymc.sampling.jax import get_jaxified_graph
from pymc.util import get_default_varnames
from pytensor.graph.replace import clone_replace


def _outcome_input(model: pm.Model, observed: Sequence[str]):
    """One input vector for the observed variables ``observed``, concatenated in that order.

    Returns the input and the replacements of each observed variable's data by its slice of
    the input (and of ``<prefix>y_observed``, the outcome that also enters the model as the
    AR(1) lags, where the model has it).
    """
    datas = [model.rvs_to_values[model[name]] for name in observed]
    if len(datas) == 1:
        y_input = datas[0].type()
        pieces = [y_input]
    else:
        y_input = pt.vector("y", dtype=datas[0].dtype)
        sizes = np.cumsum([0] + [np.asarray(d.eval()).size for d in datas])
        pieces = [y_input[a:b] for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    swap = {}
    for name, data, piece in zip(observed, datas, pieces, strict=True):
        swap[data] = piece
        lags = name[: -len("y")] + "y_observed"
        if lags in model.named_vars:
            swap[model[lags]] = pt.cast(piece, model[lags].dtype)
    return y_input, swap


def walk_order(spec, first: str = "non-centred") -> tuple[str, ...]:
    """Pooled-walk forms to sample, in order, for small simulated panels (sweeps).

    Under ``pooled_walk="auto"`` both forms, ``first`` first; a spec that names its walk (or
    has no pooled walk) is sampled in that form only. Sweeps fit small panels, where the
    centred walk's funnel makes most fits diverge (``docs/assurance.md``, session 13), so they
    start non-centred; :func:`staggered.fit` starts centred.
    """
    if spec.pooled_walk != "auto" or spec.curve != "rw":
        return (spec.pooled_walk,)
    return (first, "centred" if first == "non-centred" else "non-centred")


def sample_walks(compile_walk: Callable[[str], CompiledNUTS], walks, y, *, random_seed: int):
    """Sample ``y`` with each pooled-walk form of ``walks`` in turn until one does not diverge.

    ``compile_walk(walk)`` returns the compiled sampler of that form (cached by the caller).
    Returns ``(posterior, stats, walk)`` of the fit with the fewest divergences (a tie keeps
    the earlier form); ``stats["walks_run"]`` counts the forms sampled.
    """
    kept = None
    for run, walk in enumerate(walks, start=1):
        post, stats = compile_walk(walk).sample(y, random_seed=random_seed)
        if kept is None or stats["divergences"] < kept[1]["divergences"]:
            kept = (post, stats, walk)
        kept[1]["walks_run"] = run
        if not kept[1]["divergences"]:
            break
    return kept


class CompiledNUTS:
    """A PyMC model with observed ``y`` compiled once for NUTS on new outcome vectors.

    Parameters
    ----------
    model : pymc.Model
        Model whose observed variable is named ``y``.
    draws, tune : int
        NUTS draws and warm-up iterations (one chain).
    target_accept : float
        NUTS target acceptance probability.
    observed : sequence of str, default ``("y",)``
        Names of the observed variables (``("a::y", "b::y")`` for a joint model of two
        outcomes); the outcome vector passed to :meth:`sample` is theirs concatenated in this
        order.
    """

    def __init__(
        self,
        model: pm.Model,
        *,
        draws: int,
        tune: int,
        target_accept: float = 0.9,
        observed: Sequence[str] = ("y",),
    ):
        self.model = model
        y_rvs = [model[name] for name in observed]
        value_vars = list(model.value_vars)
        self.names = [v.name for v in value_vars]
        point = model.initial_point()
        self.shapes = [np.shape(point[n]) for n in self.names]
        self.y_input, swap = _outcome_input(model, observed)
        logp = clone_replace(model.logp(), swap)
        loglik = clone_replace(model.logp(vars=y_rvs, sum=True), swap)
        logp_fn = get_jaxified_graph(inputs=[*value_vars, self.y_input], outputs=[logp])
        loglik_fn = get_jaxified_graph(inputs=[*value_vars, self.y_input], outputs=[loglik])
        outputs = get_default_varnames(model.unobserved_value_vars, include_transformed=False)
        self.out_names = [v.name for v in outputs]
        # deterministics (eta0 with its AR(1) lags) depend on y too
        post_fn = get_jaxified_graph(
            inputs=[*value_vars, self.y_input], outputs=clone_replace(outputs, swap)
        )
        self._post = jax.jit(
            jax.vmap(lambda y, *v: post_fn(*v, y), in_axes=(None,) + (0,) * len(value_vars))
        )
        self._loglik = jax.jit(
            jax.vmap(lambda y, *v: loglik_fn(*v, y)[0], in_axes=(None,) + (0,) * len(value_vars))
        )
        # constrained -> unconstrained values, to evaluate the log-likelihood at a true point
        free = list(model.free_RVs)
        placeholders = [rv.type() for rv in free]
        forward = []
        for rv, ph in zip(free, placeholders, strict=True):
            transform = model.rvs_to_transforms.get(rv)
            forward.append(ph if transform is None else transform.forward(ph, *rv.owner.inputs))
        self._forward_names = [rv.name for rv in free]
        self._forward = get_jaxified_graph(inputs=placeholders, outputs=forward)

        names = self.names

        # NUTS runs on one flat vector: per leapfrog step, one array op instead of one per
        # parameter (the tree bookkeeping, not the gradient, dominates on small panels)
        self._init = {n: np.asarray(point[n]) for n in names}
        _, unravel = ravel_pytree({n: jnp.asarray(v) for n, v in self._init.items()})

        def potential_gen(y):
            def potential(flat):
                params = unravel(flat)
                return -logp_fn(*[params[n] for n in names], y)[0]

            return potential

        init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

        def run(key, init_params, y):
            state = init_kernel(
                ravel_pytree(init_params)[0],
                num_warmup=tune,
                target_accept_prob=target_accept,
                model_args=(y,),
                rng_key=key,
            )

            def step(state, _):
                state = sample_kernel(state, model_args=(y,))
                return state, (state.z, state.diverging, state.num_steps)

            _, (z, diverging, num_steps) = jax.lax.scan(step, state, None, length=tune + draws)
            keep = slice(tune, tune + draws)
            return jax.vmap(unravel)(z[keep]), diverging[keep], num_steps[keep]

        self._run = jax.jit(run)  # y is an argument: one compile for every outcome vector
        self._run_batch = jax.jit(jax.vmap(run))  # many outcome vectors at once (GPU)

    def sample(self, y: np.ndarray, *, random_seed: int) -> tuple[xr.Dataset, dict]:
        """Run NUTS on outcome ``y``; return the posterior (chain, draw, ...) and raw draws."""
        rng = np.random.default_rng(random_seed)
        init = {  # PyMC-style jitter of the initial point
            n: jnp.asarray(v + rng.uniform(-1, 1, np.shape(v))) for n, v in self._init.items()
        }
        z, diverging, num_steps = self._run(jax.random.PRNGKey(random_seed), init, jnp.asarray(y))
        values = [z[n] for n in self.names]
        outs = self._post(jnp.asarray(y), *values)
        post = self._dataset(dict(zip(self.out_names, outs, strict=True)))
        stats = {
            "divergences": int(np.asarray(diverging).sum()),
            "mean_steps": float(np.asarray(num_steps).mean()),
        }
        return post, {"values": values, **stats}

    def sample_batch(self, ys: np.ndarray, *, random_seeds: list[int]) -> list:
        """Run NUTS on several outcome vectors in one vectorised call (worth it on a GPU).

        Returns
        -------
        list of (posterior, stats), one per row of ``ys``, as from :meth:`sample`.
        """
        inits, keys = [], []
        for seed in random_seeds:
            rng = np.random.default_rng(seed)
            inits.append({n: v + rng.uniform(-1, 1, np.shape(v)) for n, v in self._init.items()})
            keys.append(jax.random.PRNGKey(seed))
        init = {n: jnp.asarray(np.stack([i[n] for i in inits])) for n in self.names}
        z, diverging, num_steps = self._run_batch(jnp.stack(keys), init, jnp.asarray(ys))
        out = []
        for b in range(len(random_seeds)):
            values = [z[n][b] for n in self.names]
            outs = self._post(jnp.asarray(ys[b]), *values)
            post = self._dataset(dict(zip(self.out_names, outs, strict=True)))
            stats = {
                "divergences": int(np.asarray(diverging[b]).sum()),
                "mean_steps": float(np.asarray(num_steps[b]).mean()),
            }
            out.append((post, {"values": values, **stats}))
        return out

    def loglik(self, y: np.ndarray, values: list) -> np.ndarray:
        """Total log-likelihood of ``y`` at each draw of unconstrained ``values``."""
        return np.asarray(self._loglik(jnp.asarray(y), *values))

    def loglik_at(self, y: np.ndarray, truth: xr.Dataset) -> float:
        """Total log-likelihood of ``y`` at a true (constrained) parameter point."""
        constrained = [truth[n].values.reshape(truth[n].shape[2:]) for n in self._forward_names]
        unconstrained = dict(zip(self._forward_names, self._forward(*constrained), strict=True))
        by_value = {}
        for rv in self.model.free_RVs:
            by_value[self.model.rvs_to_values[rv].name] = unconstrained[rv.name]
        values = [jnp.asarray(by_value[n])[None] for n in self.names]
        return float(self.loglik(y, values)[0])

    def _dataset(self, arrays: dict) -> xr.Dataset:
        dims = self.model.named_vars_to_dims
        coords = {k: np.asarray(v) for k, v in self.model.coords.items()}
        data = {}
        for name, arr in arrays.items():
            arr = np.asarray(arr)[None]  # chain dim
            var_dims = (
                "chain",
                "draw",
                *dims.get(name, [f"{name}_dim_{i}" for i in range(arr.ndim - 2)]),
            )
            data[name] = (var_dims, arr)
        ds = xr.Dataset(data)
        used = {d for v in ds.data_vars.values() for d in v.dims}
        return ds.assign_coords({k: v for k, v in coords.items() if k in used})
