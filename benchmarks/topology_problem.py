"""A topology-like integer benchmark: an MLP's validation loss as a function of its layer widths.

The problem the project exists for, shrunk until one evaluation takes about a second: train an
MLP with ``dim`` hidden layers of widths ``w1 .. wd`` (integers in [2, 64], searched on a log
scale) on a fixed small synthetic classification task with `nets.train_many`, and return its
validation binary cross-entropy (minimised). Everything is seeded, so the function is
deterministic: a topology always gets the same loss.

The task: ``N_FEATURES`` standard-normal features; the label is 1 where a smooth non-linear
score (products, a sine and a square of the features) plus Gaussian noise is positive, so a
perfect classifier still has a non-zero loss and small networks underfit.

Every evaluation is cached on disk in a JSON Lines file per problem (one line per topology,
``{"widths": [...], "val_loss": ..., "seconds": ...}``), appended as soon as the training ends
and re-read when a topology is missing, so reruns, other methods and other processes (appends of
one short line are atomic) reuse it. The file name carries a hash of the problem's
configuration: changing the data or the training options starts a new cache.

The global minimum is not known. Benchmarks measure regret against the best value in the cache
(`TopologyProblem.best_known`), which grows with every run of every method.

Interface (used by ``benchmarks.suite`` and ``benchmarks.high_dim``)::

    from benchmarks.topology_problem import TopologyProblem
    problem = TopologyProblem(dim=3)       # or 15; cache_dir="benchmarks/results/suite"
    problem.space                          # bo.Space: Integer("w1" .. "wd", 2, 64, log=True)
    problem({"w1": 8, "w2": 32, "w3": 4})  # -> float, validation loss (minimise)
    problem.evaluate_widths((8, 32, 4))    # the same from a tuple
    problem.best_known()                   # (widths, loss) of the best cached topology, or None
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = ["TopologyProblem", "make_data", "N_FEATURES", "MIN_WIDTH", "MAX_WIDTH"]

N_FEATURES = 8
N_TRAIN = 2000
N_VAL = 1000
MIN_WIDTH = 2
MAX_WIDTH = 64
#: Training options passed to `nets.train_many`. ``width_multiple=MAX_WIDTH`` pads every model
#: to width 64, so all topologies of one depth share one compiled program (compiled once per
#: process) and a model is trained exactly as it would be unpadded.
TRAINING = {"epochs": 10, "batch_size": 100, "lr": 3e-3, "seeds": (0,), "width_multiple": MAX_WIDTH,
            "max_waste": 1e9}
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent / "results" / "suite"


def make_data(seed: int = 0):
    """The fixed classification task as a `nets.Data` (float32).

    Args:
        seed: seeds the features, the noise and the split (the benchmark always uses 0).

    Returns:
        `nets.Data` with ``N_TRAIN`` training and ``N_VAL`` validation events of
        ``N_FEATURES`` features, labels 0/1 (about half each).
    """
    import nets

    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_VAL
    x = rng.standard_normal((n, N_FEATURES))
    score = (np.sin(2.0 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * (x[:, 3] ** 2 - 1.0)
             - 0.5 * x[:, 4] * x[:, 5] * x[:, 6] + 0.3 * x[:, 7])
    y = (score + 0.3 * rng.standard_normal(n) > 0).astype(np.float32)
    return nets.Data.split(x.astype(np.float32), y, val_fraction=N_VAL / n, seed=seed)


class TopologyProblem:
    """The validation loss of an MLP as a function of its ``dim`` hidden-layer widths.

    Args:
        dim: number of hidden layers (the issue uses 3 and 15).
        cache_dir: folder of the JSON Lines cache (default ``benchmarks/results/suite``).

    Attributes:
        name: ``"mlp_widths_<dim>d"``.
        dim: number of widths.
        space: the `bo.Space` of ``Integer("w<i>", MIN_WIDTH, MAX_WIDTH, log=True)``.
        optimum: None (unknown; see `best_known`).
        cache_path: the cache file.
    """

    optimum = None

    def __init__(self, dim: int, cache_dir: str | os.PathLike | None = None):
        import bo

        if isinstance(dim, bool) or int(dim) != dim or dim < 1:
            raise ValueError(f"TopologyProblem: dim={dim!r} must be a positive integer")
        self.dim = int(dim)
        self.name = f"mlp_widths_{self.dim}d"
        self.names = [f"w{i + 1}" for i in range(self.dim)]
        self.space = bo.Space([bo.Integer(n, MIN_WIDTH, MAX_WIDTH, log=True) for n in self.names])
        config = json.dumps({"dim": self.dim, "features": N_FEATURES, "train": N_TRAIN,
                             "val": N_VAL, "widths": [MIN_WIDTH, MAX_WIDTH],
                             "training": {k: list(v) if isinstance(v, tuple) else v
                                          for k, v in TRAINING.items()}}, sort_keys=True)
        digest = hashlib.sha256(config.encode()).hexdigest()[:8]
        folder = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
        self.cache_path = folder / f"topology_cache_{self.name}_{digest}.jsonl"
        self._cache: dict[tuple[int, ...], float] = {}
        self._read_offset = 0
        self._data = None

    def __repr__(self) -> str:
        return f"TopologyProblem(dim={self.dim})"

    def __call__(self, point: Mapping[str, int]) -> float:
        """The validation loss of the topology of a point ``{"w1": ..., "wd": ...}``."""
        missing = [k for k in self.names if k not in point]
        if missing:
            raise KeyError(f"{self.name}: point lacks parameters {missing}")
        return self.evaluate_widths([point[k] for k in self.names])

    def evaluate_widths(self, widths: Sequence[int]) -> float:
        """The validation loss of the MLP with these hidden widths (cached).

        Args:
            widths: ``dim`` integers in [MIN_WIDTH, MAX_WIDTH].

        Returns:
            The best-epoch validation binary cross-entropy. A training that diverged
            everywhere gets the loss of the constant prediction at the training label rate.
        """
        key = self._check(widths)
        if key not in self._cache:
            self._refresh()
        if key not in self._cache:
            value, seconds = self._train(key)
            self._append({"widths": list(key), "val_loss": value, "seconds": seconds})
            self._cache[key] = value
        return self._cache[key]

    def best_known(self) -> tuple[tuple[int, ...], float] | None:
        """The best topology in the cache (all runs so far) and its loss, or None if empty."""
        self._refresh()
        if not self._cache:
            return None
        widths = min(self._cache, key=self._cache.get)
        return widths, self._cache[widths]

    def cached(self) -> dict[tuple[int, ...], float]:
        """Every cached topology and its loss."""
        self._refresh()
        return dict(self._cache)

    def _check(self, widths) -> tuple[int, ...]:
        values = list(widths)
        if len(values) != self.dim:
            raise ValueError(f"{self.name}: expected {self.dim} widths, got {len(values)}: {values}")
        out = []
        for i, w in enumerate(values):
            if isinstance(w, bool) or int(w) != w or not MIN_WIDTH <= int(w) <= MAX_WIDTH:
                raise ValueError(f"{self.name}: w{i + 1}={w!r} must be an integer in "
                                 f"[{MIN_WIDTH}, {MAX_WIDTH}]")
            out.append(int(w))
        return tuple(out)

    def _train(self, widths: tuple[int, ...]) -> tuple[float, float]:
        import nets

        if self._data is None:
            self._data = make_data(0)
        options = dict(TRAINING)
        start = time.perf_counter()
        [result] = nets.train_many([nets.Topology(widths)], self._data, **options)
        seconds = time.perf_counter() - start
        value = float(result.val_loss)
        if result.failed or not math.isfinite(value):
            rate = float(np.clip(np.mean(self._data.y_train), 1e-6, 1 - 1e-6))
            y = np.asarray(self._data.y_val, np.float64)
            value = float(-np.mean(y * math.log(rate) + (1 - y) * math.log(1 - rate)))
        return value, seconds

    def _refresh(self) -> None:
        """Read lines appended to the cache file since the last read (by any process)."""
        if not self.cache_path.exists():
            return
        with open(self.cache_path, "rb") as f:
            f.seek(self._read_offset)
            chunk = f.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]  # a line being written is read next time
        self._read_offset += len(complete)
        for number, line in enumerate(complete.decode().splitlines()):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                self._cache[self._check(record["widths"])] = float(record["val_loss"])
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{self.cache_path}: unreadable cache line {line!r} ({err}); "
                                 "delete the line or the file to retrain") from None

    def _append(self, record: dict) -> None:
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record) + "\n").encode()
        # One write of a short line to a file opened for appending lands whole, even with
        # several processes appending at once.
        fd = os.open(self.cache_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
