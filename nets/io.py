"""Saving and loading trained networks: parameters in ``.npz``, everything else in JSON.

No pickle anywhere: ``<stem>.npz`` holds one float32 array per ``"Dense_<i>.kernel"`` /
``"Dense_<i>.bias"`` key; ``<stem>.json`` holds the format tag, the topology, the number of inputs
and free-form training information (config, history, metrics).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from typing import Any, NamedTuple

import numpy as np

from nets.errors import TrainError
from nets.mlp import Params, layer_name
from nets.topology import Topology

FORMAT = "ntbo.nets.mlp"
VERSION = 1


class Saved(NamedTuple):
    """A network read back by `load`."""

    topology: Topology
    params: Params
    n_inputs: int
    info: dict[str, Any]


def _stem(path) -> str:
    path = os.fspath(path)
    for suffix in (".npz", ".json"):
        if path.endswith(suffix):
            return path[:-len(suffix)]
    return path


def _jsonable(value):
    """Turns numpy scalars/arrays and non-finite floats into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf": strict JSON has no such numbers
    return value


def save(path, topology: Topology, params: Params, n_inputs: int,
         info: dict[str, Any] | None = None) -> tuple[str, str]:
    """Writes ``<stem>.npz`` and ``<stem>.json``.

    Args:
        path: file stem; a trailing ``.npz`` or ``.json`` is dropped.
        topology: the network's topology.
        params: unpadded parameters (``{"Dense_<i>": {"kernel", "bias"}}``).
        n_inputs: number of input features.
        info: JSON-able extras (training config, history, metrics).

    Returns:
        The two paths written.
    """
    stem = _stem(path)
    _check_shapes(topology, params, n_inputs, stem + ".npz")
    arrays = {f"{name}.{field}": np.asarray(layer[field], np.float32)
              for name, layer in params.items() for field in ("kernel", "bias")}
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    np.savez(stem + ".npz", **arrays)
    meta = {"format": FORMAT, "version": VERSION, "topology": topology.to_dict(),
            "n_inputs": int(n_inputs), "info": _jsonable(info or {})}
    with open(stem + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    return stem + ".npz", stem + ".json"


def load(path) -> Saved:
    """Reads a network written by `save` (or `TrainResult.save`).

    Args:
        path: the stem, or either file's path.

    Raises:
        TrainError: missing, corrupt or mismatched files.
    """
    stem = _stem(path)
    try:
        with open(stem + ".json") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise TrainError(f"{stem}.json not found; pass the stem written by nets.save") from None
    except json.JSONDecodeError as err:
        raise TrainError(f"{stem}.json is not valid JSON ({err}); re-save the model") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise TrainError(f"{stem}.json is not a nets model file (format must be '{FORMAT}')")
    if meta.get("version", 0) > VERSION:
        raise TrainError(f"{stem}.json has format version {meta['version']}; this ntbo reads "
                         f"up to {VERSION}, upgrade ntbo")
    topology = Topology.from_dict(meta.get("topology"))
    n_inputs = meta.get("n_inputs")
    if not isinstance(n_inputs, int) or n_inputs < 1:
        raise TrainError(f"{stem}.json field 'n_inputs'={n_inputs!r} must be an integer >= 1")
    try:
        with np.load(stem + ".npz", allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], np.float32) for k in z.files}
    except FileNotFoundError:
        raise TrainError(f"{stem}.npz not found; it must sit next to {stem}.json") from None
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise TrainError(f"{stem}.npz is corrupt ({err}); re-save the model") from None
    params: Params = {}
    for key, value in arrays.items():
        name, _, field = key.partition(".")
        params.setdefault(name, {})[field] = value
    _check_shapes(topology, params, n_inputs, stem + ".npz")
    return Saved(topology, params, n_inputs, meta.get("info", {}))


def _check_shapes(topology: Topology, params: Params, n_inputs: int, where: str):
    fans = topology.fans(n_inputs)
    expected = {layer_name(i): {"kernel": (fans[i], fans[i + 1]), "bias": (fans[i + 1],)}
                for i in range(len(fans) - 1)}
    if set(params) != set(expected):
        raise TrainError(f"{where}: layers {sorted(params)} do not match topology "
                         f"{topology.hidden} (expected {sorted(expected)})")
    for name, shapes in expected.items():
        for field, shape in shapes.items():
            got = np.shape(params[name].get(field))
            if got != shape:
                raise TrainError(f"{where}: {name}.{field} has shape {got}, expected {shape} "
                                 f"for topology {topology.hidden} with {n_inputs} inputs")
