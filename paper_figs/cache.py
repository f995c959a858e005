"""Train-once cache of a topology's metric, shared by the grid and every search at one scale.

Every search in parts 1, 2 and 4 proposes widths from the same grid, so each topology is trained
once per training seed and its metric kept in a JSON file keyed by the data's fingerprint and the
training options. A search then looks its values up; a topology not yet in the file is trained
(all missing ones in one `nets.train_many` call) and added.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np

import nets


def fingerprint(data) -> str:
    """SHA-256 (first 16 hex digits) of the training and validation arrays of `data`."""
    digest = hashlib.sha256()
    for name in ("x_train", "y_train", "x_val", "y_val"):
        array = np.ascontiguousarray(np.asarray(getattr(data, name), np.float32))
        digest.update(name.encode() + str(array.shape).encode() + array.tobytes())
    return digest.hexdigest()[:16]


def widths_key(widths: Sequence[int]) -> str:
    return "-".join(str(int(w)) for w in widths)


class MetricCache:
    """Background efficiency (at 95 % signal efficiency, validation split) per topology and seed.

    Args:
        folder: where the JSON file lives (created if needed).
        data: the `nets.Data` every topology is trained on.
        training: the options of `nets.train_many` (epochs, batch_size, lr, ...).

    The file name holds a hash of the data fingerprint and the options, so a change of either
    starts a new file instead of mixing results.
    """

    def __init__(self, folder: str | Path, data, training: dict):
        self.data = data
        self.training = dict(training)
        self.key = {"data": fingerprint(data), "training": self.training}
        digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:12]
        self.path = Path(folder) / f"metrics-{digest}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.entries: dict[str, dict] = {}
        if self.path.exists():
            try:
                stored = json.loads(self.path.read_text())
            except json.JSONDecodeError as err:
                raise ValueError(f"{self.path}: not valid JSON ({err}); delete the file to retrain") from None
            if stored.get("key") != self.key:
                raise ValueError(f"{self.path}: holds results of other data or training options; "
                                 "delete it to retrain")
            self.entries = stored["entries"]
        self.trained = 0
        self.train_seconds = 0.0

    def values(self, topologies: Sequence[Sequence[int]], seeds: Sequence[int]) -> np.ndarray:
        """The metric of each topology for each seed, training what is missing.

        Args:
            topologies: n tuples of hidden widths.
            seeds: k training seeds.

        Returns:
            (n, k) float array; NaN where the training failed.
        """
        self._train_missing(topologies, seeds)
        return np.array([[_as_float(self.entries[widths_key(t)]["seeds"][str(s)]["metric"]) for s in seeds]
                         for t in topologies], dtype=float).reshape(len(topologies), len(seeds))

    def wall_times(self, topologies: Sequence[Sequence[int]], seeds: Sequence[int]) -> np.ndarray:
        """(n, k) each training's share of its compiled call's wall time, in seconds."""
        self._train_missing(topologies, seeds)
        return np.array([[self.entries[widths_key(t)]["seeds"][str(s)]["wall_time_s"] for s in seeds]
                         for t in topologies], dtype=float).reshape(len(topologies), len(seeds))

    def _train_missing(self, topologies, seeds) -> None:
        groups: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
        for t in dict.fromkeys(tuple(int(w) for w in t) for t in topologies):
            have = self.entries.get(widths_key(t), {}).get("seeds", {})
            missing = tuple(s for s in seeds if str(s) not in have)
            if missing:
                groups.setdefault(missing, []).append(t)
        for missing, group in groups.items():
            start = time.perf_counter()
            results = nets.train_many([nets.Topology(t) for t in group], self.data, seeds=missing,
                                      **self.training)
            self.train_seconds += time.perf_counter() - start
            self.trained += len(results)
            for i, t in enumerate(group):
                entry = self.entries.setdefault(widths_key(t), {"widths": list(t), "seeds": {}})
                for j, s in enumerate(missing):
                    r = results[i * len(missing) + j]
                    value = None if r.failed else _json_float(r.val_background_efficiency)
                    entry["seeds"][str(s)] = {"metric": value, "val_auc": _json_float(r.val_auc),
                                              "best_epoch": int(r.best_epoch),
                                              "wall_time_s": float(r.wall_time_s)}
            self._save()

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key": self.key, "entries": self.entries}))
        os.replace(tmp, self.path)


def _json_float(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _as_float(x) -> float:
    return math.nan if x is None else float(x)
