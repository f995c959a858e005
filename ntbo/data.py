"""The search's data: simulate once into the results folder (cached), load with `hgcal.load`,
standardise, and fold the standardisation into a trained network's first layer."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path

import numpy as np

import hgcal
import nets

from ntbo.config import DataConfig
from ntbo.errors import ConfigError


def data_spec(data: DataConfig, folder: str | Path) -> dict:
    """Plain, JSON-able description of the data the workers load (simulating it first when
    ``data.simulate`` is set and the cached ntuple is missing).

    Args:
        data: the data section.
        folder: the results folder; simulated ntuples and `hgcal.load` caches go to ``data/``.
    """
    cache = Path(folder) / "data"
    paths = list(data.paths)
    if data.simulate:
        cache.mkdir(parents=True, exist_ok=True)
        geometry = Path(data.geometry).stem
        path = cache / f"simulated-{data.simulate}-{geometry}-seed{data.seed}.root"
        if not path.is_file():
            events = [hgcal.simulate(data.simulate, particle, geometry=data.geometry, seed=(data.seed, k))
                      for k, particle in enumerate(("e-", "pi-"))]
            partial = path.with_suffix(".partial.root")
            hgcal.write_ntuple(partial, events)
            os.replace(partial, path)
        paths = [str(path)]
    features = list(data.features) if isinstance(data.features, tuple) else data.features
    return {"paths": paths, "features": features, "geometry": data.geometry, "seed": data.seed,
            "standardize": data.standardize, "cache_dir": str(cache / "cache")}


@dataclasses.dataclass(frozen=True, eq=False)
class Prepared:
    """Training data as the trainer sees it.

    Attributes:
        data: standardised train and validation splits (`nets.Data`).
        mean, std: (n_features,) the scaling applied (zeros and ones when not standardised).
        feature_names: the columns.
    """

    data: nets.Data
    mean: np.ndarray
    std: np.ndarray
    feature_names: tuple[str, ...]

    @property
    def n_inputs(self) -> int:
        return int(self.data.x_train.shape[1])


@functools.lru_cache(maxsize=2)
def _load(spec_json: str) -> Prepared:
    spec = json.loads(spec_json)
    features = spec["features"]
    dataset = hgcal.load(spec["paths"], features=tuple(features) if isinstance(features, list) else features,
                         geometry=spec["geometry"], seed=spec["seed"], cache_dir=spec["cache_dir"])
    n_features = dataset.x_train.shape[1]
    mean, std = np.zeros(n_features, np.float32), np.ones(n_features, np.float32)
    if spec["standardize"]:
        mean = dataset.x_train.mean(axis=0).astype(np.float32)
        std = dataset.x_train.std(axis=0).astype(np.float32)
        std = np.where(std > 0, std, 1.0).astype(np.float32)
    data = nets.Data((dataset.x_train - mean) / std, dataset.y_train, (dataset.x_val - mean) / std,
                     dataset.y_val, dataset.w_train, dataset.w_val)
    return Prepared(data, mean, std, tuple(dataset.feature_names))


def load(spec: dict) -> Prepared:
    """Loads (once per process) the data a `data_spec` describes.

    Raises:
        ConfigError: missing or unreadable files, unknown features (the hgcal message, prefixed
            with ``data:``).
    """
    try:
        return _load(json.dumps(spec, sort_keys=True))
    except hgcal.NtupleError as err:
        raise ConfigError(f"data: {err}") from None


def fold_scaling(params: dict, mean: np.ndarray, std: np.ndarray) -> dict:
    """Parameters that take raw inputs: ``(x - mean) / std`` folded into ``Dense_0``.

    ``W' = W / std[:, None]`` and ``b' = b - (mean / std) @ W``, so ``x @ W' + b'`` equals
    ``((x - mean) / std) @ W + b``.
    """
    first = params["Dense_0"]
    kernel = np.asarray(first["kernel"], np.float64)
    folded = {"kernel": (kernel / std[:, None]).astype(np.float32),
              "bias": (np.asarray(first["bias"], np.float64) - (mean / std) @ kernel).astype(np.float32)}
    return {**params, "Dense_0": folded}
