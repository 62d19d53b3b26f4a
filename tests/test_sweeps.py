"""The sweep runner: item order, same results on every backend, checkpoint resume and refusal."""

import functools
import json

import numpy as np
import pandas as pd
import pytest

from staggered import sbc as sbc_module
from staggered.sweeps import (
    CheckpointError,
    clear_worker_cache,
    fingerprint,
    resolve_backend,
    run_sweep,
    worker_cache,
)

CALLS: list[str] = []


def draw_task(item: dict) -> dict:
    """Toy task: randomness from the item's seed only; numpy values in the result."""
    if item.get("fail"):
        raise RuntimeError(f"interrupted at {item['key']}")
    CALLS.append(item["key"])
    rng = np.random.default_rng(item["seed"])
    return {"key": item["key"], "x": rng.normal(size=3), "n": np.int64(item["n"])}


def items(keys="abcde", seed=7):
    return [{"key": k, "seed": [seed, i], "n": i} for i, k in enumerate(keys)]


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def test_results_in_item_order_and_json_normalised():
    out = run_sweep(draw_task, items(), progress=False)
    assert [r["key"] for r in out] == list("abcde")
    assert isinstance(out[0]["x"], list) and isinstance(out[2]["n"], int)
    again = run_sweep(draw_task, list(reversed(items())), progress=False)
    assert again == list(reversed(out))  # a result depends on its item only


def test_checkpoint_resume_computes_only_the_rest(tmp_path):
    path = tmp_path / "sweep.jsonl"
    settings = {"draws": 10}
    full = run_sweep(draw_task, items(), progress=False)
    CALLS.clear()
    # "interrupted": only the first two items ran
    part = run_sweep(draw_task, items("ab"), checkpoint=path, settings=settings, progress=False)
    assert CALLS == ["a", "b"] and part == full[:2]
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["settings"] == settings
    CALLS.clear()
    resumed = run_sweep(draw_task, items(), checkpoint=path, settings=settings, progress=False)
    assert sorted(CALLS) == ["c", "d", "e"]
    assert resumed == full
    CALLS.clear()
    assert run_sweep(draw_task, items(), checkpoint=path, settings=settings, progress=False) == full
    assert CALLS == []


def test_failed_run_keeps_finished_items(tmp_path):
    path = tmp_path / "sweep.jsonl"
    broken = [dict(i, fail=i["key"] == "c") for i in items()]
    with pytest.raises(RuntimeError, match="interrupted at c"):
        run_sweep(draw_task, broken, checkpoint=path, progress=False)
    with path.open("a") as fh:  # killed while writing a line: the partial line is dropped
        fh.write('{"key": "c", "se')
    CALLS.clear()
    resumed = run_sweep(draw_task, items(), checkpoint=path, progress=False)
    assert CALLS == ["c", "d", "e"]
    assert resumed == run_sweep(draw_task, items(), progress=False)


def test_mismatched_checkpoint_is_refused(tmp_path):
    path = tmp_path / "sweep.jsonl"
    run_sweep(draw_task, items("ab"), checkpoint=path, settings={"draws": 10}, progress=False)
    with pytest.raises(CheckpointError, match="draws: 10 there, 20 now"):
        run_sweep(draw_task, items(), checkpoint=path, settings={"draws": 20}, progress=False)
    with pytest.raises(CheckpointError, match="seed"):
        run_sweep(draw_task, items(seed=8), checkpoint=path, settings={"draws": 10}, progress=False)
    other = tmp_path / "ranks.csv"
    other.write_text("replicate,quantity,rank\n0,x,1")  # no final newline: left as it is
    with pytest.raises(CheckpointError, match="not a sweep checkpoint"):
        run_sweep(draw_task, items(), checkpoint=other, progress=False)
    assert other.read_text() == "replicate,quantity,rank\n0,x,1"
    with path.open("a") as fh:  # another sweep's file, cut off mid-line: refused, not trimmed
        fh.write('{"key": "c", "se')
    before = path.read_text()
    with pytest.raises(CheckpointError, match="draws: 10 there, 20 now"):
        run_sweep(draw_task, items(), checkpoint=path, settings={"draws": 20}, progress=False)
    assert path.read_text() == before
    assert CALLS == ["a", "b"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="unique"):
        run_sweep(draw_task, items("aa"), progress=False)
    with pytest.raises(ValueError, match="seed"):
        run_sweep(draw_task, [{"key": "a"}], progress=False)
    with pytest.raises(ValueError, match="backend"):
        run_sweep(draw_task, items(), backend="threads", progress=False)
    with pytest.raises(ValueError, match="needs backend='dask'"):
        run_sweep(draw_task, items(), scheduler="tcp://127.0.0.1:8786", progress=False)
    with pytest.raises(TypeError, match="JSON"):
        run_sweep(draw_task, items(), settings={"f": object()}, progress=False)
    assert resolve_backend(None, workers=1) == "serial"
    assert resolve_backend(None, workers=2) == "dask"
    assert resolve_backend(None) == "dask"  # all cores: a LocalCluster
    assert resolve_backend(None, scheduler="tcp://h:1") == "dask"
    assert fingerprint({"a": 1, "b": np.float64(2)}) == fingerprint({"b": 2.0, "a": 1})


def test_worker_cache_builds_once_per_key():
    clear_worker_cache()
    built = []

    def build(key):
        built.append(key)
        return object()

    first = worker_cache("k1", functools.partial(build, "k1"))
    assert worker_cache("k1", functools.partial(build, "k1")) is first
    worker_cache("k2", functools.partial(build, "k2"))
    worker_cache("k3", functools.partial(build, "k3"))  # evicts k1 (CACHE_SIZE = 2)
    worker_cache("k1", functools.partial(build, "k1"))
    assert built == ["k1", "k2", "k3", "k1"]
    clear_worker_cache()


def test_process_pool_gives_the_serial_results():
    serial = run_sweep(draw_task, items(), progress=False)
    assert run_sweep(draw_task, items(), backend="processes", workers=2, progress=False) == serial


def test_local_cluster_starts_while_another_holds_the_dashboard_port():
    """A second sweep (or any server on 8787) must not stop a LocalCluster: with the port
    taken, Dask warns and pytest turns the warning into an error, as in one CI run."""
    import socket

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # something already holds it: the same test
    try:
        serial = run_sweep(draw_task, items("ab"), progress=False)
        assert run_sweep(draw_task, items("ab"), backend="dask", workers=1, progress=False) == (
            serial
        )
    finally:
        holder.close()


# SBC through the runner: a 2-worker LocalCluster gives the serial ranks, and a resumed run too
SBC = {
    "replicates": 3,
    "n_units": 10,
    "n_groups": 2,
    "n_periods": 6,
    "draws": 30,
    "tune": 30,
    "n_thin": 9,
    "random_seed": 4,
    "batch": False,
    "progressbar": False,
}


@pytest.fixture(scope="module")
def serial_sbc(tmp_path_factory):
    path = tmp_path_factory.mktemp("sbc") / "sbc.jsonl"
    result = sbc_module.run_sbc("negbin-rw", backend="serial", checkpoint=path, **SBC)
    return result, path


def test_dask_local_cluster_sbc_matches_serial(serial_sbc):
    serial, _ = serial_sbc
    clustered = sbc_module.run_sbc("negbin-rw", backend="dask", workers=2, **SBC)
    assert serial.ranks["replicate"].nunique() == 3
    pd.testing.assert_frame_equal(clustered.ranks, serial.ranks)


def test_sbc_resumes_from_its_checkpoint(serial_sbc, tmp_path, monkeypatch):
    serial, path = serial_sbc
    lines = path.read_text().splitlines()
    assert len(lines) == 4  # header + one line per replicate
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(lines[:2]) + "\n")  # interrupted after replicate 0
    fitted = []
    original = sbc_module.sbc_task

    @functools.wraps(original)
    def counting(item):
        fitted.extend(item["replicates"])
        return original(item)

    monkeypatch.setattr(sbc_module, "sbc_task", counting)
    resumed = sbc_module.run_sbc("negbin-rw", backend="serial", checkpoint=partial, **SBC)
    assert fitted == [1, 2]
    pd.testing.assert_frame_equal(resumed.ranks, serial.ranks)


def test_sbc_refuses_a_checkpoint_of_other_settings(serial_sbc):
    _, path = serial_sbc
    with pytest.raises(CheckpointError, match="draws: 30 there, 40 now"):
        sbc_module.run_sbc("negbin-rw", backend="serial", checkpoint=path, **{**SBC, "draws": 40})


def test_cli_sbc_passes_backend_scheduler_and_checkpoint(tmp_path, monkeypatch, capsys):
    from staggered.cli import main

    seen = {}

    class Result:
        settings: dict = {}
        passed = True

        def save(self, out):
            out.mkdir(parents=True, exist_ok=True)

        def verdicts(self):
            return ["ok"]

    def fake_run_sbc(model, **kwargs):
        seen.update(kwargs, model=model)
        return Result()

    monkeypatch.setattr(sbc_module, "run_sbc", fake_run_sbc)
    out = tmp_path / "sbc"
    args = ["sbc", "--replicates", "2", "--out", str(out)]
    assert main([*args, "--scheduler", "tcp://127.0.0.1:8786"]) == 0
    assert seen["scheduler"] == "tcp://127.0.0.1:8786" and seen["backend"] is None
    assert seen["checkpoint"] == out / "checkpoint.jsonl"
    ckpt = tmp_path / "keep.jsonl"
    ckpt.write_text("{}\n")
    assert main([*args, "--backend", "dask", "--workers", "2", "--checkpoint", str(ckpt)]) == 0
    assert (seen["backend"], seen["workers"], seen["checkpoint"]) == ("dask", 2, ckpt)
    assert ckpt.exists()  # an explicit checkpoint is kept
    assert "per minute" in capsys.readouterr().out
