"""One runner for sweeps of independent fits (SBC, coverage study, design-stage assurance).

A sweep is a list of *items*, each a dict with a unique ``"key"`` and its own ``"seed"``, and a
*task*: a top-level (picklable) function of one item that returns JSON-serialisable data.
:func:`run_sweep` maps the task over the items in this process (``"serial"``), on a local
process pool (``"processes"``) or on a Dask cluster (``"dask"``: a ``LocalCluster`` it starts,
or an existing scheduler), appends each finished item to a JSONL checkpoint, and resumes from
it (the file format: :mod:`staggered.sweep_checkpoint`). Randomness comes from the items only,
so the same items give the same results on every backend.

Tasks that need an expensive object shared by many items (SBC compiles one NUTS sampler and
refits it to every replicate) build it through :func:`worker_cache`: the object is built once
per worker process, on first use, and reused by every later item that asks for the same key.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from staggered.sweep_checkpoint import (
    CheckpointError,
    append_record,
    checkpoint_header,
    fingerprint,
    jsonable,
    open_checkpoint,
    read_checkpoint,
)

__all__ = [
    "BACKENDS",
    "CACHE_SIZE",
    "CheckpointError",
    "clear_worker_cache",
    "fingerprint",
    "read_checkpoint",
    "resolve_backend",
    "run_sweep",
    "worker_cache",
]

BACKENDS = ("serial", "processes", "dask")
# set in every worker process the runner starts (one thread of BLAS/OpenMP per worker)
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# seconds a LocalCluster worker process is given to exit before it is killed
NANNY_CLOSE_TIMEOUT = 30
# objects kept per worker process by worker_cache (least recently used dropped first)
CACHE_SIZE = 2

T = TypeVar("T")
_cache: OrderedDict[Hashable, Any] = OrderedDict()
_cache_lock = threading.Lock()


def worker_cache(key: Hashable, build: Callable[[], T]) -> T:
    """Return the object cached under ``key`` in this process, building it on first use.

    Module-level state lives as long as the worker process, so a task that calls
    ``worker_cache(("sbc", token), compile_sampler)`` compiles once per worker (once in total
    on the serial backend) and every later item reuses it. Key the cache by everything the
    object depends on (e.g. :func:`fingerprint` of the sweep settings), never by the item.
    Keeps the :data:`CACHE_SIZE` most recently used objects; thread-safe (a worker with
    several threads builds each key once).

    Parameters
    ----------
    key : hashable
        What the object depends on.
    build : callable
        Builds the object (called without arguments, at most once per key while cached).

    Returns
    -------
    object
        The cached object.
    """
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        value = build()
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return value


def clear_worker_cache() -> None:
    """Drop every object cached by :func:`worker_cache` in this process."""
    with _cache_lock:
        _cache.clear()


def resolve_backend(
    backend: str | None, *, workers: int | None = None, scheduler: str | None = None
) -> str:
    """Backend to use when none is named.

    ``"serial"`` for one worker, else ``"dask"``: a ``LocalCluster`` (the same code path as an
    existing cluster at ``scheduler``, with a dashboard and logs a user can attach to).
    ``"processes"`` (a plain process pool) only when asked for.
    """
    if backend is not None:
        return backend
    if scheduler is not None:
        return "dask"
    return "serial" if workers == 1 else "dask"


def run_sweep(
    task: Callable[[dict], Any],
    items: Iterable[Mapping],
    *,
    backend: str | None = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    checkpoint: str | Path | None = None,
    settings: Mapping | None = None,
    progress: bool = True,
    desc: str = "sweep",
) -> list:
    """Run ``task`` on every item; return the results in item order.

    Parameters
    ----------
    task : callable
        A top-level function (picklable by reference) of one item. It returns
        JSON-serialisable data: dicts, lists, strings, numbers, booleans, None (numpy scalars
        and arrays become Python numbers and lists). Every result goes through JSON, checkpoint
        or not, so fresh and resumed results are identical. Heavy objects shared by items
        belong in :func:`worker_cache`.
    items : iterable of dict
        One dict per unit of work, each with a unique ``"key"`` (str or int) and its
        ``"seed"`` (JSON-serialisable: an int or a list such as ``[run_seed, i]``); the task
        must draw its randomness from the item, never from worker state.
    backend : {"serial", "processes", "dask"} or None
        ``"serial"``: in this process. ``"processes"``: a pool of ``workers`` spawned
        processes. ``"dask"``: a ``dask.distributed.LocalCluster`` of ``workers`` processes
        with one thread each, started and closed here, or the cluster at ``scheduler``.
        None: chosen from ``workers`` and ``scheduler`` (:func:`resolve_backend`).
    workers : int, optional
        Worker processes of the pool or the ``LocalCluster`` (default: CPU cores). Not used
        with ``scheduler`` (the cluster has its own workers).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``); needs ``backend="dask"``.
        Its workers must have ``staggered`` (and the task's module) installed.
    checkpoint : str or Path, optional
        JSONL file. Line 1 holds the task name, the settings and their fingerprint; each
        finished item is appended (``key``, ``seed``, ``finished``: Unix time, ``result``) as
        it completes. If the file exists, items found in it are not recomputed (resume); a
        checkpoint of another task or other settings, or holding another seed for a key,
        raises :class:`CheckpointError`. One run at a time per checkpoint.
    settings : mapping, optional
        JSON-serialisable settings that determine the results (not the backend or worker
        count); fingerprinted into the checkpoint.
    progress : bool
        Show a progress bar over items.
    desc : str
        Progress bar label.

    Returns
    -------
    list
        ``result`` of each item, in the order of ``items``.

    Raises
    ------
    CheckpointError
        When ``checkpoint`` belongs to another sweep.
    """
    items = [dict(item) for item in items]
    backend = resolve_backend(backend, workers=workers, scheduler=scheduler)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if scheduler is not None and backend != "dask":
        raise ValueError(f"scheduler= needs backend='dask' (got backend={backend!r})")
    if scheduler is not None and workers is not None:
        raise ValueError("give workers= or scheduler=, not both (a cluster has its own workers)")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    keys = _check_items(items)
    by_key = dict(zip(keys, items, strict=True))
    header = checkpoint_header(_task_name(task), dict(settings or {}))
    results: dict[str, Any] = {}
    path = None if checkpoint is None else Path(checkpoint)
    if path is not None:
        results = open_checkpoint(path, header, {k: item["seed"] for k, item in by_key.items()})
    todo = [by_key[k] for k in keys if k not in results]

    from tqdm.auto import tqdm

    bar = tqdm(total=len(keys), initial=len(keys) - len(todo), desc=desc, disable=not progress)

    def record(item: dict, result: Any) -> None:
        key = _key(item)
        result = jsonable(result)
        results[key] = result
        if path is not None:
            append_record(path, key, item["seed"], result)
        bar.update()

    try:
        if todo:
            run = {"serial": _run_serial, "processes": _run_processes, "dask": _run_dask}
            run[backend](task, todo, record, workers=workers, scheduler=scheduler)
    finally:
        bar.close()
    return [results[k] for k in keys]


def _run_serial(task, todo, record, **_) -> None:
    for item in todo:
        record(item, task(item))


def _set_env(env: dict) -> None:
    os.environ.update(env)


def _run_processes(task, todo, record, *, workers, **_) -> None:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    n = min(workers or os.cpu_count() or 1, len(todo))
    pool = ProcessPoolExecutor(
        n, mp_context=get_context("spawn"), initializer=_set_env, initargs=(WORKER_ENV,)
    )
    try:
        futures = {pool.submit(task, item): item for item in todo}
        for fut in as_completed(futures):
            record(futures[fut], fut.result())  # raises the task's error
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(task, todo, record, *, workers, scheduler) -> None:
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=min(workers or os.cpu_count() or 1, len(todo)),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # a free port for the scheduler's HTTP server: with None it still tries 8787 and,
            # if another cluster holds it, warns (an error under warnings-as-errors)
            dashboard_address=":0",
            silence_logs=logging.WARNING,
            env=dict(WORKER_ENV),
        )
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            run_id = uuid.uuid4().hex[:8]
            dask_keys = [f"{getattr(task, '__name__', 'task')}-{_key(i)}-{run_id}" for i in todo]
            futures = client.map(task, todo, key=dask_keys, pure=False)
            by_key = dict(zip(dask_keys, todo, strict=True))
            try:
                for fut in as_completed(futures):
                    record(by_key[fut.key], fut.result())  # raises the task's error
            finally:
                client.cancel(futures)
    finally:
        if cluster is not None:
            # a worker that compiled JAX code can take longer to exit than the nanny's default
            # 4 s on a busy machine (then it is killed with a warning): give it time
            cluster.sync(_close_workers, cluster, NANNY_CLOSE_TIMEOUT)
            cluster.close()


async def _close_workers(cluster, timeout: float) -> None:
    import asyncio

    await asyncio.gather(*(w.close(timeout=timeout) for w in list(cluster.workers.values())))


def _check_items(items: list[dict]) -> list[str]:
    keys = []
    for i, item in enumerate(items):
        if "key" not in item or "seed" not in item:
            raise ValueError(f"item {i} needs a 'key' and a 'seed' (has {sorted(item)})")
        keys.append(_key(item))
    seen: set[str] = set()
    dupes = sorted({k for k in keys if k in seen or seen.add(k)})
    if dupes:
        raise ValueError(f"item keys must be unique; repeated: {dupes[:5]}")
    return keys


def _key(item: Mapping) -> str:
    key = item["key"]
    if not isinstance(key, str | int | np.integer):
        raise ValueError(f"item keys must be str or int, got {type(key).__name__}")
    return str(key)


def _task_name(task: Callable) -> str:
    return f"{getattr(task, '__module__', '?')}:{getattr(task, '__qualname__', repr(task))}"
