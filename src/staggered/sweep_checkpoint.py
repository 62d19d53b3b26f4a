"""The sweep checkpoint: a JSONL file that a stopped sweep resumes from.

Line 1 is a header (``staggered_sweep``: the format version, the task's name, its settings and
their :func:`fingerprint`); every later line is one finished item (``key``, ``seed``,
``finished``: Unix time, ``result``), appended and flushed as the item completes.
:func:`staggered.sweeps.run_sweep` writes and resumes these files, passing every result through
JSON (:func:`jsonable`) before it keeps or writes it, so a resumed sweep returns exactly what
an uninterrupted one would. :func:`read_checkpoint` reads one without changing it (the
coverage study's ``--combine``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "append_record",
    "checkpoint_header",
    "fingerprint",
    "jsonable",
    "open_checkpoint",
    "read_checkpoint",
]

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed (other settings, other items, not a checkpoint)."""


def fingerprint(settings: Any) -> str:
    """SHA-256 of the canonical JSON of ``settings`` (sorted keys; numpy values as Python)."""
    text = json.dumps(settings, sort_keys=True, default=_to_json, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def checkpoint_header(task_name: str, settings: dict) -> dict:
    """Line 1 of a checkpoint: format, task, JSON-normalised settings and their fingerprint."""
    header = {
        "staggered_sweep": CHECKPOINT_FORMAT,
        "task": task_name,
        "settings": jsonable(dict(settings)),
    }
    header["fingerprint"] = fingerprint({"task": header["task"], "settings": header["settings"]})
    return header


def append_record(path: Path, key: str, seed: Any, result: Any) -> None:
    """Append one finished item to the checkpoint and flush it to disk.

    ``result`` must already be JSON-ready (:func:`jsonable`); ``seed`` is converted here.
    """
    line = {"key": key, "seed": jsonable(seed), "finished": round(time.time(), 3), "result": result}
    with path.open("a") as fh:
        fh.write(json.dumps(line, allow_nan=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def open_checkpoint(path: Path, header: dict, seeds: dict[str, Any]) -> dict[str, Any]:
    """Results found in ``path`` for this sweep, by key; writes ``header`` to a new file.

    A partial last line (a run stopped mid-write) is dropped from the file, once the file is
    known to be this sweep's. Raises :class:`CheckpointError`, leaving the file as it is, if
    it is not a sweep checkpoint, has a complete line that is not JSON, belongs to another
    sweep (other task or settings) or holds another seed for one of ``seeds``' keys.
    """
    if not path.exists() or path.stat().st_size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(header, allow_nan=True) + "\n")
        return {}
    text, cut_off = _complete_records(path)
    found, records = _parse(path, text)
    if found.get("fingerprint") != header["fingerprint"]:
        raise CheckpointError(
            f"checkpoint {path} was written by another sweep ({_differences(found, header)}); "
            "rerun with its settings to resume it, or give a new checkpoint path"
        )
    results = {}
    for rec in records:
        key = rec["key"]
        if key in seeds and rec["seed"] != jsonable(seeds[key]):
            raise CheckpointError(
                f"checkpoint {path} holds item {key!r} with seed {rec['seed']}, but this sweep "
                f"gives it seed {jsonable(seeds[key])}; give a new checkpoint path"
            )
        results[key] = rec["result"]
    if cut_off:  # interrupted mid-line: drop the partial record
        path.write_text(text)
    return {k: v for k, v in results.items() if k in seeds}


def _complete_records(path: Path) -> tuple[str, bool]:
    """The checkpoint's text up to its last complete line, and whether a partial one followed."""
    text = path.read_text()
    if not text or text.endswith("\n"):
        return text, False
    return text[: text.rfind("\n") + 1], True


def read_checkpoint(path: str | Path) -> tuple[dict, list[dict]]:
    """A sweep checkpoint's header and its records (``key``, ``seed``, ``result``), read only.

    A last record cut off by a stopped run is left out (a resumed sweep drops it from the
    file). Raises :class:`CheckpointError` if the file is not a sweep checkpoint or a complete
    line is not JSON.
    """
    path = Path(path)
    return _parse(path, _complete_records(path)[0])


def _parse(path: Path, text: str) -> tuple[dict, list[dict]]:
    """Header and records of a checkpoint's complete lines (``path`` names it in errors)."""
    lines = [line for line in text.split("\n") if line]
    try:
        header = json.loads(lines[0]) if lines else {}
    except json.JSONDecodeError:
        header = {}
    if not isinstance(header, dict) or "staggered_sweep" not in header:
        raise CheckpointError(f"{path} is not a sweep checkpoint; move it or pick another path")
    records = []
    for n, line in enumerate(lines[1:], start=2):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{path} line {n} is not JSON: {err}") from err
    return header, records


def _differences(found: dict, header: dict) -> str:
    if found.get("task") != header["task"]:
        return f"task {found.get('task')!r}, not {header['task']!r}"
    old, new = found.get("settings", {}), header["settings"]
    diffs = [
        f"{k}: {old.get(k, '<unset>')!r} there, {new.get(k, '<unset>')!r} now"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]
    return "; ".join(diffs[:6]) or "settings fingerprint differs"


def _to_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (numpy to Python, tuples to lists)."""
    try:
        return json.loads(json.dumps(value, default=_to_json, allow_nan=True))
    except TypeError as err:
        raise TypeError(f"sweep results and settings must be JSON-serialisable: {err}") from err
