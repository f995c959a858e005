"""`Data`: the training and validation arrays the trainer reads, for users with plain arrays.

`train_many` accepts any object with ``x_train``, ``y_train``, ``x_val``, ``y_val`` (and optional
``w_train``, ``w_val``) attributes; `hgcal.Dataset` is one, `Data` is the minimal one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from nets.errors import TrainError


@dataclasses.dataclass(frozen=True, eq=False)
class Data:
    """Training and validation split as float32 numpy arrays.

    Args:
        x_train: features, shape (n_train, n_features).
        y_train: targets, shape (n_train,): 0/1 labels for classification, reals for regression.
        x_val: features, shape (n_val, n_features).
        y_val: targets, shape (n_val,).
        w_train: optional per-event weights, shape (n_train,), >= 0.
        w_val: optional per-event weights, shape (n_val,), >= 0.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    w_train: np.ndarray | None = None
    w_val: np.ndarray | None = None

    def __post_init__(self):
        checked = _check_arrays(self)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def split(cls, x, y, w=None, val_fraction: float = 0.2, seed: int = 0) -> "Data":
        """Shuffles events with ``seed`` and keeps the last ``val_fraction`` for validation.

        Args:
            x: features, shape (n, n_features).
            y: targets, shape (n,).
            w: optional weights, shape (n,).
            val_fraction: fraction of events for validation, in (0, 1).
            seed: seed of the shuffle.
        """
        if not 0.0 < val_fraction < 1.0:
            raise TrainError(f"val_fraction={val_fraction} must lie in (0, 1), e.g. 0.2")
        x, y = np.asarray(x), np.asarray(y)
        n = len(x)
        order = np.random.default_rng(seed).permutation(n)
        n_val = max(1, int(round(n * val_fraction)))
        tr, va = order[:n - n_val], order[n - n_val:]
        w = None if w is None else np.asarray(w)
        return cls(x[tr], y[tr], x[va], y[va],
                   None if w is None else w[tr], None if w is None else w[va])


def _check_arrays(data: Any) -> dict[str, np.ndarray | None]:
    """Reads and validates the split arrays of any data object, as float32 numpy."""
    out: dict[str, np.ndarray | None] = {}
    for name in ("x_train", "y_train", "x_val", "y_val", "w_train", "w_val"):
        value = getattr(data, name, None)
        if value is None:
            if name.startswith("w_"):
                out[name] = None
                continue
            raise TrainError(f"data has no '{name}'; pass an object with x_train, y_train, "
                             "x_val, y_val arrays, e.g. nets.Data(...)")
        try:
            arr = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise TrainError(f"data.{name} is not numeric; convert it to a float array") from None
        out[name] = arr
    for part in ("train", "val"):
        x, y, w = out[f"x_{part}"], out[f"y_{part}"], out[f"w_{part}"]
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise TrainError(f"data.x_{part} has shape {x.shape}; it must be "
                             "(n_events, n_features) with both > 0")
        if y.ndim == 2 and y.shape[1] == 1:
            y = out[f"y_{part}"] = y[:, 0]
        if y.shape != (x.shape[0],):
            raise TrainError(f"data.y_{part} has shape {y.shape}; it must be ({x.shape[0]},), "
                             f"one target per row of x_{part}")
        if w is not None and w.shape != (x.shape[0],):
            raise TrainError(f"data.w_{part} has shape {w.shape}; it must be ({x.shape[0]},)")
        if w is not None and (np.any(w < 0) or not np.all(np.isfinite(w))):
            raise TrainError(f"data.w_{part} has negative or non-finite weights; "
                             "weights must be finite and >= 0")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise TrainError(f"data.x_{part} or data.y_{part} holds NaN or inf; "
                             "clean or impute those events first")
    if out["x_train"].shape[1] != out["x_val"].shape[1]:
        raise TrainError(f"data.x_val has {out['x_val'].shape[1]} features but x_train has "
                         f"{out['x_train'].shape[1]}; use the same feature columns")
    return out
