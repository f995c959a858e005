"""Cosine annealing with warm restarts (SGDR; Loshchilov & Hutter, ICLR 2017).

The run of ``epochs`` epochs is cut into ``restarts + 1`` cycles, each ``t_mult`` times longer
than the one before, on epoch boundaries. Within a cycle the learning-rate factor falls from 1 to
``alpha`` along half a cosine, step by step; at each restart it jumps back to 1.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from nets.errors import TrainError


class Schedule(NamedTuple):
    """A warm-restart schedule in optimizer steps.

    Attributes:
        starts: first step of each cycle; ``starts[1:]`` are the restart steps.
        lengths: number of steps of each cycle.
        alpha: the factor reached at the end of each cycle, as a fraction of the peak.
    """

    starts: tuple[int, ...]
    lengths: tuple[int, ...]
    alpha: float

    @property
    def restart_steps(self) -> tuple[int, ...]:
        """Steps at which the learning rate jumps back to its peak."""
        return self.starts[1:]

    def factor(self, step) -> jnp.ndarray:
        """Learning-rate multiplier at ``step`` (int or traced int array), float32 in [alpha, 1]."""
        step = jnp.asarray(step, jnp.int32)
        starts = jnp.asarray(self.starts, jnp.int32)
        lengths = jnp.asarray(self.lengths, jnp.float32)
        cycle = jnp.sum((step >= starts).astype(jnp.int32)) - 1
        t = (step - starts[cycle]).astype(jnp.float32) / lengths[cycle]
        cosine = jnp.float32(0.5) * (jnp.float32(1.0) + jnp.cos(jnp.float32(np.pi) * t))
        return jnp.float32(self.alpha) + jnp.float32(1.0 - self.alpha) * cosine


def cycle_epochs(epochs: int, restarts: int, t_mult: float = 1.0) -> tuple[int, ...]:
    """Splits ``epochs`` into ``restarts + 1`` whole-epoch cycles growing by ``t_mult``.

    Returns:
        Cycle lengths in epochs, each >= 1, summing to ``epochs``.
    """
    if restarts < 0 or restarts >= epochs:
        raise TrainError(f"restarts={restarts} must be between 0 and epochs - 1 = {epochs - 1}")
    if t_mult < 1.0:
        raise TrainError(f"t_mult={t_mult} must be >= 1 (each cycle at least as long as the last)")
    weights = np.asarray([t_mult ** i for i in range(restarts + 1)])
    bounds = np.round(np.cumsum(weights) / weights.sum() * epochs).astype(int)
    bounds = np.maximum(bounds, np.arange(1, restarts + 2))  # every cycle at least one epoch
    for i in range(restarts - 1, -1, -1):
        bounds[i] = min(bounds[i], bounds[i + 1] - 1)
    return tuple(int(n) for n in np.diff(np.concatenate([[0], bounds])))


def sgdr(epochs: int, steps_per_epoch: int, restarts: int = 0, t_mult: float = 1.0,
         alpha: float = 0.0) -> Schedule:
    """Builds the warm-restart schedule of a run.

    Args:
        epochs: length of the run in epochs.
        steps_per_epoch: optimizer steps per epoch.
        restarts: number of restarts (0: one cosine decay over the whole run).
        t_mult: ratio of each cycle's length to the previous one's.
        alpha: final factor of each cycle, in [0, 1).

    Returns:
        The schedule; restarts fall on epoch boundaries.
    """
    if not 0.0 <= alpha < 1.0:
        raise TrainError(f"alpha={alpha} must lie in [0, 1)")
    lengths = [n * steps_per_epoch for n in cycle_epochs(epochs, restarts, t_mult)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return Schedule(tuple(int(s) for s in starts), tuple(int(n) for n in lengths), float(alpha))
